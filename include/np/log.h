/* log.h - one line per event on stderr */
#ifndef NP_LOG_H
#define NP_LOG_H

#include <stdbool.h>

enum np_log_level {
    NP_LOG_ERROR = 0,
    NP_LOG_WARN = 1,
    NP_LOG_INFO = 2,
    NP_LOG_DEBUG = 3,
};

/*
 * Names the service in every line ("ingest", ...) and sets the level. Call once at start,
 * before any thread exists. service is borrowed and must outlive the process (a literal).
 */
void np_log_init(const char *service, enum np_log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or NP_EINVAL for anything else. */
int np_log_level_parse(const char *s, enum np_log_level *out);

/* True when a line at this level would be written; lets callers skip expensive formatting. */
bool np_log_enabled(enum np_log_level level);

/*
 * Writes one line: "2026-11-28T15:14:00.123Z info ingest[42] message key=value". The message
 * should follow docs/STYLE.md, "Logging and configuration": lower case, no final period;
 * context goes last as key=value pairs.
 * Thread-safe (one write(2) per line).
 */
void np_log_write(enum np_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define np_log_error(...) np_log_write(NP_LOG_ERROR, __VA_ARGS__)
#define np_log_warn(...)  np_log_write(NP_LOG_WARN, __VA_ARGS__)
#define np_log_info(...)  np_log_write(NP_LOG_INFO, __VA_ARGS__)
#define np_log_debug(...)                                                                          \
    do {                                                                                           \
        if (np_log_enabled(NP_LOG_DEBUG)) {                                                        \
            np_log_write(NP_LOG_DEBUG, __VA_ARGS__);                                               \
        }                                                                                          \
    } while (0)

#endif /* NP_LOG_H */
