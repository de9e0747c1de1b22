/* err.c - error codes and error details */
#include "np/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Makes s valid UTF-8 in place: a byte that does not start or continue a well-formed sequence
 * becomes '?', and a sequence cut by the end of the string is dropped. Reasons quote input
 * (Jansson's "near '...'", a key), which may be cut in the middle of a character or be invalid;
 * a reason must still travel in JSON and land in a text column.
 */
static void make_utf8(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p != '\0') {
        size_t n = 0;
        unsigned int c = *p;

        if (c < 0x80) {
            p++;
            continue;
        }
        n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                n = p[i] == '\0' ? (size_t)-1 : 0; /* cut by the end, or malformed */
                break;
            }
        }
        if (n == (size_t)-1) {
            *p = '\0';
            return;
        }
        if (n == 0 || (n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && p[1] < 0xA0) ||
            (n == 3 && c == 0xED && p[1] >= 0xA0) || (n == 4 && c == 0xF0 && p[1] < 0x90) ||
            (n == 4 && (c > 0xF4 || (c == 0xF4 && p[1] >= 0x90)))) {
            *p++ = '?'; /* overlong, surrogate, beyond U+10FFFF, or a stray byte */
            continue;
        }
        p += n;
    }
}

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
    make_utf8(err->field);
    make_utf8(err->msg);
    return code;
}

void np_err_clear(struct np_err *err)
{
    if (err == NULL) {
        return;
    }
    memset(err, 0, sizeof(*err));
}
