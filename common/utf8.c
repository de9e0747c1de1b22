/* utf8.c - the one UTF-8 decoder: validate, measure, explain, encode, repair */
#include "np/utf8.h"

#include <string.h>

static const char truncated[] = "a truncated multi-byte sequence";

size_t np_utf8_seq_len(const char *p, const char *end, const char **why)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    unsigned c = u[0];
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    size_t n = 0;
    const char *reason = NULL;

    if (c < 0x80) {
        return 1;
    }
    if (c <= 0xBF) {
        reason = "a continuation byte without a lead byte";
    } else if (c <= 0xC1) {
        reason = "an overlong encoding";
    } else if (c <= 0xDF) {
        n = 2;
    } else if (c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        reason = c <= 0xF7 ? "a code point above U+10FFFF" : "a byte that never occurs in UTF-8";
    }
    for (size_t i = 1; reason == NULL && i < n; i++) {
        if (i >= avail || (u[i] & 0xC0) != 0x80) {
            reason = truncated;
        }
    }
    if (reason == NULL && (u[1] < lo || u[1] > hi)) {
        reason = c == 0xED   ? "a UTF-16 surrogate"
                 : c == 0xF4 ? "a code point above U+10FFFF"
                             : "an overlong encoding";
    }
    if (reason != NULL) {
        if (why != NULL) {
            *why = reason;
        }
        return 0;
    }
    return n;
}

bool np_utf8_valid(const char *buf, size_t len)
{
    const char *p = buf;
    const char *end = buf + len;

    while (p < end) {
        /* ASCII fast path: eight bytes at a time while no byte has its high bit set. */
        while (end - p >= 8) {
            uint64_t w;

            memcpy(&w, p, sizeof(w));
            if ((w & 0x8080808080808080ULL) != 0) {
                break;
            }
            if (((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0) {
                return false; /* a NUL byte */
            }
            p += 8;
        }
        if (p >= end) {
            break;
        }
        if (*p == '\0') {
            return false;
        }
        size_t n = np_utf8_seq_len(p, end, NULL);
        if (n == 0) {
            return false;
        }
        p += n;
    }
    return true;
}

size_t np_utf8_invalid_at(const char *buf, size_t len, const char **why)
{
    size_t i = 0;

    while (i < len) {
        size_t n = np_utf8_seq_len(buf + i, buf + len, why);

        if (n == 0) {
            return i;
        }
        i += n;
    }
    *why = "no error";
    return len;
}

size_t np_utf8_put(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;

    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

void np_utf8_repair(char *s)
{
    char *p = s;
    char *end = s + strlen(s);

    while (p < end) {
        const char *why = NULL;
        size_t n = np_utf8_seq_len(p, end, &why);

        if (n > 0) {
            p += n;
            continue;
        }
        if (why == truncated) {
            size_t k = 1;

            while (p + k < end && ((unsigned char)p[k] & 0xC0) == 0x80) {
                k++;
            }
            if (p + k == end) {
                *p = '\0'; /* cut by the end of the string: drop the rest */
                return;
            }
        }
        *p++ = '?';
    }
}
