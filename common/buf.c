/* buf.c - the growable byte buffer with a sticky failure flag */
#include "np/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST_CAP (256)

bool np_buf_reserve(struct np_buf *b, size_t more)
{
    size_t cap = b->cap != 0 ? b->cap : BUF_FIRST_CAP;
    char *p = NULL;

    if (b->failed) {
        return false;
    }
    if (more < b->cap && b->len + 1 <= b->cap - more) {
        return true;
    }
    if (more > (size_t)-1 / 4 - b->len) {
        b->failed = true; /* no size_t can hold it */
        return false;
    }
    while (cap < b->len + more + 1) {
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void np_buf_reset(struct np_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->p != NULL) {
        b->p[0] = '\0';
    }
}

void np_buf_cleanup(struct np_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void np_buf_put(struct np_buf *b, const char *s, size_t n)
{
    if (np_buf_reserve(b, n)) {
        if (n > 0) {
            memcpy(b->p + b->len, s, n);
        }
        b->len += n;
        b->p[b->len] = '\0';
    }
}

void np_buf_puts(struct np_buf *b, const char *s)
{
    np_buf_put(b, s, strlen(s));
}

void np_buf_putc(struct np_buf *b, char c)
{
    np_buf_put(b, &c, 1);
}

void np_buf_printf(struct np_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!np_buf_reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
