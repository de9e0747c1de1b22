/* log.c - one line per event on stderr */
#include "np/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "np/err.h"

static const char *log_service = "newspipe";
static enum np_log_level log_level = NP_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void np_log_init(const char *service, enum np_log_level level)
{
    log_service = service;
    log_level = level;
}

int np_log_level_parse(const char *s, enum np_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum np_log_level)i;
            return 0;
        }
    }
    return NP_EINVAL;
}

bool np_log_enabled(enum np_log_level level)
{
    return level <= log_level;
}

void np_log_write(enum np_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n = 0;
    int w = 0;
    va_list ap;

    if (!np_log_enabled(level)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s[%ld] ", ts.tv_nsec / 1000000L,
                 level_names[level], log_service, (long)getpid());
    if (w > 0) {
        n += (size_t)w;
    }
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (w > 0) {
        n += (size_t)w;
    }
    if (n >= sizeof(line) - 1) {
        n = sizeof(line) - 2; /* truncated: keep the newline */
    }
    /* Control characters would split the line or garble a terminal. */
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)line[i] < 0x20) {
            line[i] = ' ';
        }
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
