/* config.c - settings from environment variables and flags, driven by one table per service
 *
 * Precedence is default < environment < flag. Every value is checked at start-up; a bad value
 * names the setting and makes the service exit with status 2. Settings are never re-read while
 * running.
 */
#include "np/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "np/err.h"
#include "np/log.h"

#define NAME_MAX_LEN 128

static void env_name(const struct np_setting *s, const char *service, char *buf, size_t len)
{
    size_t n = 0;
    int w = 0;

    if (s->env != NULL) {
        snprintf(buf, len, "%s", s->env);
        return;
    }
    w = snprintf(buf, len, "NP_%s_%s", service, s->name);
    if (w < 0) {
        buf[0] = '\0';
        return;
    }
    for (n = 0; buf[n] != '\0'; n++) {
        buf[n] = (char)toupper((unsigned char)buf[n]);
    }
}

static void flag_name(const struct np_setting *s, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", s->name);
    for (size_t i = 2; buf[i] != '\0'; i++) {
        if (buf[i] == '_') {
            buf[i] = '-';
        }
    }
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return NP_EINVAL;
}

/* Stores text value v into the setting's slot of cfg. Prints why on failure. */
static int set_value(const struct np_setting *s, const char *origin, const char *v, void *cfg)
{
    char *slot = (char *)cfg + s->offset;
    char *end = NULL;
    long l = 0;
    bool b = false;
    char *copy = NULL;

    switch (s->type) {
        case NP_SET_STRING:
            copy = strdup(v);
            if (copy == NULL) {
                fprintf(stderr, "cannot store %s: out of memory\n", origin);
                return NP_ENOMEM;
            }
            free(*(char **)(void *)slot);
            *(char **)(void *)slot = copy;
            return 0;
        case NP_SET_INT:
            errno = 0;
            l = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || l < s->min || l > s->max) {
                fprintf(stderr,
                        "invalid value \"%s\" for %s: expected an integer from %ld to %ld\n", v,
                        origin, s->min, s->max);
                return NP_EINVAL;
            }
            *(long *)(void *)slot = l;
            return 0;
        case NP_SET_BOOL:
            if (parse_bool(v, &b) != 0) {
                fprintf(stderr, "invalid value \"%s\" for %s: expected true or false\n", v, origin);
                return NP_EINVAL;
            }
            *(bool *)(void *)slot = b;
            return 0;
    }
    return NP_EINVAL;
}

static void print_help(const struct np_setting *table, size_t n, const char *service,
                       const char *usage)
{
    char env[NAME_MAX_LEN];
    char flag[NAME_MAX_LEN];

    printf("usage: %s\n\nsettings (flag, environment variable, default):\n", usage);
    for (size_t i = 0; i < n; i++) {
        const struct np_setting *s = &table[i];

        flag_name(s, flag, sizeof(flag));
        env_name(s, service, env, sizeof(env));
        printf("  %-26s %s\n  %-26s   %s (default: %s)\n", flag, s->help, "", env,
               s->def != NULL ? s->def : "unset");
    }
    printf("  %-26s %s\n", "--help", "print this help and exit");
}

static const struct np_setting *find_flag(const struct np_setting *table, size_t n, const char *arg,
                                          size_t len)
{
    char flag[NAME_MAX_LEN];

    for (size_t i = 0; i < n; i++) {
        flag_name(&table[i], flag, sizeof(flag));
        if (strlen(flag) == len && strncmp(flag, arg, len) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

static int load_env(const struct np_setting *table, size_t n, const char *service, void *cfg)
{
    char env[NAME_MAX_LEN];
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        const char *v = NULL;

        if (table[i].def != NULL) {
            rc = set_value(&table[i], table[i].name, table[i].def, cfg);
            if (rc != 0) {
                return rc;
            }
        }
        env_name(&table[i], service, env, sizeof(env));
        v = getenv(env);
        if (v != NULL) {
            rc = set_value(&table[i], env, v, cfg);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int np_config_load(const struct np_setting *table, size_t n, const char *service, const char *usage,
                   void *cfg, int argc, char **argv, int *npos)
{
    int pos = 0;
    int rc = load_env(table, n, service, cfg);

    if (rc != 0) {
        return rc;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = NULL;
        const char *value = NULL;
        const struct np_setting *s = NULL;
        size_t len = 0;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(table, n, service, usage);
            return NP_CONFIG_EXIT;
        }
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (npos == NULL) {
                fprintf(stderr, "unexpected argument \"%s\" (see --help)\n", arg);
                return NP_EINVAL;
            }
            argv[++pos] = argv[i];
            continue;
        }
        eq = strchr(arg, '=');
        len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        s = find_flag(table, n, arg, len);
        if (s == NULL) {
            fprintf(stderr, "unknown option \"%.*s\" (see --help)\n", (int)len, arg);
            return NP_EINVAL;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (s->type == NP_SET_BOOL) {
            value = "true"; /* a bare boolean flag never takes the next argument */
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "option \"%s\" needs a value\n", arg);
            return NP_EINVAL;
        }
        rc = set_value(s, s->name, value, cfg);
        if (rc != 0) {
            return rc;
        }
    }
    if (npos != NULL) {
        *npos = pos;
    }
    return NP_CONFIG_RUN;
}

void np_config_log(const struct np_setting *table, size_t n, const void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        const struct np_setting *s = &table[i];
        const char *slot = (const char *)cfg + s->offset;

        switch (s->type) {
            case NP_SET_STRING: {
                const char *v = *(char *const *)(const void *)slot;

                np_log_info("setting %s=%s", s->name,
                            v == NULL ? "(unset)" : (s->secret ? "********" : v));
                break;
            }
            case NP_SET_INT:
                np_log_info("setting %s=%ld", s->name, *(const long *)(const void *)slot);
                break;
            case NP_SET_BOOL:
                np_log_info("setting %s=%s", s->name,
                            *(const bool *)(const void *)slot ? "true" : "false");
                break;
        }
    }
}

void np_config_cleanup(const struct np_setting *table, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].type == NP_SET_STRING) {
            char **slot = (char **)(void *)((char *)cfg + table[i].offset);

            free(*slot);
            *slot = NULL;
        }
    }
}

void np_config_print_markdown(const struct np_setting *table, size_t n, const char *service)
{
    char env[NAME_MAX_LEN];
    char flag[NAME_MAX_LEN];

    for (size_t i = 0; i < n; i++) {
        flag_name(&table[i], flag, sizeof(flag));
        env_name(&table[i], service, env, sizeof(env));
        printf("| `%s` | `%s` | `%s` | %s |\n", flag, env, table[i].def != NULL ? table[i].def : "",
               table[i].help);
    }
}
