/* config.h - settings from environment variables and flags, driven by one table per service */
#ifndef NP_CONFIG_H
#define NP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum np_setting_type {
    NP_SET_STRING, /* char *: owned by the config struct, freed by np_config_cleanup() */
    NP_SET_INT,    /* long, within [min, max] */
    NP_SET_BOOL,   /* bool: true/false, yes/no, on/off, 1/0 */
};

/*
 * One setting. The flag is "--<name>" (with '_' written '-'), the environment variable
 * "NP_<SERVICE>_<NAME>" in upper case, unless env names another variable explicitly.
 */
struct np_setting {
    const char *name;          /* "bind_pull" -> --bind-pull, NP_INGEST_BIND_PULL */
    enum np_setting_type type; /* how the value is parsed */
    const char *def;           /* default as text; NULL means unset (strings only) */
    const char *help;          /* one line for --help and README */
    size_t offset;             /* offsetof() into the service's config struct */
    long min, max;             /* NP_SET_INT bounds */
    bool secret;               /* mask the value when settings are logged */
    const char *env;           /* explicit variable name, or NULL for NP_<SERVICE>_<NAME> */
};

/* What np_config_load() asks of its caller. */
#define NP_CONFIG_RUN  (0) /* settings valid: run */
#define NP_CONFIG_EXIT (1) /* --help or --version printed: exit 0 */

/*
 * Fills cfg from the table: defaults, then environment variables, then flags (argv). Flags take
 * "--name value" or "--name=value"; a boolean flag alone means true ("--name=false" to unset); argv
 * entries that are not flags are left as positional arguments: their count goes to *npos and they
 * are moved to argv[1..npos] (npos may be NULL, then positional arguments are an error). On a bad
 * value or unknown flag prints a message naming the setting on stderr and returns NP_EINVAL (the
 * caller exits with status 2).
 * `--help` prints usage built from the table and returns NP_CONFIG_EXIT.
 */
int np_config_load(const struct np_setting *table, size_t n, const char *service, const char *usage,
                   void *cfg, int argc, char **argv, int *npos);

/* Logs every effective setting at info level, secrets masked. */
void np_config_log(const struct np_setting *table, size_t n, const void *cfg);

/* Frees the strings np_config_load() stored in cfg. */
void np_config_cleanup(const struct np_setting *table, size_t n, void *cfg);

/* Prints the table as Markdown rows (name, variable, default, help), for README. */
void np_config_print_markdown(const struct np_setting *table, size_t n, const char *service);

#endif /* NP_CONFIG_H */
