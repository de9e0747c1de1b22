/* service.h - what every worker's main() does first: settings, logging, signals */
#ifndef NP_SERVICE_H
#define NP_SERVICE_H

#include <signal.h>
#include <stddef.h>

#include "np/config.h"

/* What a worker needs to start: its settings table and where the parsed values go. */
struct np_service {
    const char *name;                  /* for log lines: "ingest" */
    const char *env;                   /* variable prefix: "INGEST" -> NP_INGEST_... */
    const char *usage;                 /* first line of --help */
    const struct np_setting *settings; /* the table (borrowed, static) */
    size_t nsettings;
    void *cfg;                     /* the config struct the table fills */
    char *const *log_level;        /* the config's log_level field, read after loading */
    volatile sig_atomic_t *stop;   /* set on SIGTERM and SIGINT */
    volatile sig_atomic_t *reload; /* set on SIGHUP, or NULL to leave SIGHUP alone */
};

/*
 * Loads the settings (np_config_load()), checks the log level, starts logging, logs the
 * effective settings (secrets masked), installs the signal handlers and ignores SIGPIPE.
 * Returns NP_SERVICE_RUN when the worker should run; otherwise the exit status for main() (0
 * after --help, 2 for a bad setting), with the settings already freed. One service per
 * process: the signal handlers write the flags of the last call.
 */
int np_service_start(const struct np_service *svc, int argc, char **argv);

/* What np_service_start() returns when the worker should run: never an exit status. */
#define NP_SERVICE_RUN (-1)

/* Exit status for what <name>_run() returned: 0, 2 for a setting that proved unusable
 * (NP_EINVAL), 1 for anything else (logged). Frees the settings. */
int np_service_exit(const struct np_service *svc, int rc);

#endif /* NP_SERVICE_H */
