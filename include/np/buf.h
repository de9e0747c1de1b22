/* buf.h - the growable byte buffer: every buffer in newspipe that grows is one of these
 *
 * Appends never fail loudly: the first allocation that fails sets `failed`, and from then on
 * every append is ignored, so a writer makes all its appends and checks once at the end
 * (`if (b.failed) return NP_ENOMEM;`) instead of after each call. The content is always
 * NUL-terminated once anything was appended (p[len] == '\0'), so text can be used as a C string.
 * Binary writers may np_buf_reserve() room, fill p + len themselves and add to len (the journal
 * does); the terminating NUL is then theirs to care about.
 */
#ifndef NP_BUF_H
#define NP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Zero-initialise (`struct np_buf b = { 0 };`) to get an empty buffer. Owns p (free with
 * np_buf_cleanup(), or take it and free() it yourself). */
struct np_buf {
    char *p;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: the content is incomplete */
};

/* Makes room for `more` bytes plus the NUL after them. Returns false (and sets failed) when
 * the memory cannot be had, or when an earlier allocation failed. */
bool np_buf_reserve(struct np_buf *b, size_t more);

/* Empties b, keeping its memory (and clearing failed). */
void np_buf_reset(struct np_buf *b);

/* Frees b's memory and leaves it empty and reusable. Accepts a zeroed buffer. */
void np_buf_cleanup(struct np_buf *b);

/* Appends n bytes of s. */
void np_buf_put(struct np_buf *b, const char *s, size_t n);

/* Appends the NUL-terminated s. */
void np_buf_puts(struct np_buf *b, const char *s);

/* Appends one byte. */
void np_buf_putc(struct np_buf *b, char c);

/* Appends a string literal (its length known at compile time). */
#define np_buf_lit(b, lit) np_buf_put((b), "" lit, sizeof(lit) - 1)

/* Copies a string literal to p, inside room a writer reserved itself (np_buf_reserve(), then
 * p = b->p + b->len), and yields the position just after it. */
#define np_lit_at(p, lit) ((char *)memcpy((p), "" lit, sizeof(lit) - 1) + sizeof(lit) - 1)

/* Appends printf-style formatted text. */
void np_buf_printf(struct np_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* NP_BUF_H */
