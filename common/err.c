/* err.c - error codes and error details */
#include "np/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "np/utf8.h"

const char *np_strerror(int code)
{
    switch (code) {
        case NP_OK:
            return "success";
        case NP_ENOMEM:
            return "out of memory";
        case NP_EINVAL:
            return "invalid input";
        case NP_EPARSE:
            return "malformed input";
        case NP_EDB:
            return "database error";
        case NP_ETRANSIENT:
            return "temporary failure";
        case NP_ESHUTDOWN:
            return "shutting down";
        case NP_EIO:
            return "input/output error";
        case NP_ETOOBIG:
            return "too large";
        default:
            return "unknown error";
    }
}

int np_err_set(struct np_err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    if (field == NULL) {
        field = "";
    }
    snprintf(err->field, sizeof(err->field), "%s", field);
    if (field[0] != '\0') {
        n = snprintf(err->msg, sizeof(err->msg), "%s: ", field);
        if (n < 0 || (size_t)n >= sizeof(err->msg)) {
            n = 0;
        }
    }
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    /* Reasons quote input (a key, Jansson's "near '...'") that may be cut in the middle of a
     * character or be invalid; a reason must still travel in JSON and land in a text column. */
    np_utf8_repair(err->field);
    np_utf8_repair(err->msg);
    return code;
}

void np_err_clear(struct np_err *err)
{
    if (err == NULL) {
        return;
    }
    memset(err, 0, sizeof(*err));
}
