/* classify.h - the classify worker: tag articles between ingest and store */
#ifndef CLASSIFY_H
#define CLASSIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "np/config.h"

/* Settings; see the table in classify.c (classify_settings()). */
struct classify_config {
    char *input;    /* ingest's PUSH endpoints (PULL, connected) */
    char *output;   /* store's PULL endpoints (PUSH, connected) */
    char *taxonomy; /* taxonomy file, reloaded on SIGHUP */
    char *model;    /* learned model file (newspipe-train) or NULL, reloaded on SIGHUP */
    long hwm;
    long metrics_port;
    char *metrics_bind;
    char *log_level;
};

/* The settings table (borrowed, static). *n receives its length. */
const struct np_setting *classify_settings(size_t *n);

/*
 * Runs the worker until *stop becomes non-zero, then forwards what it holds and returns 0.
 * When *reload is non-zero the taxonomy is loaded again (and *reload cleared); a file that
 * fails validation is logged and the previous taxonomy stays. Returns NP_EINVAL when the
 * taxonomy (or the model, when one is set) cannot be loaded at start, NP_EIO when the sockets
 * cannot be set up.
 */
int classify_run(const struct classify_config *cfg, volatile sig_atomic_t *stop,
                 volatile sig_atomic_t *reload);

#endif /* CLASSIFY_H */
