/* utf8.h - the one UTF-8 decoder: validate, measure, explain, encode, repair
 *
 * Every byte that enters newspipe from outside is checked here before it is trusted as text:
 * client messages (np_article_parse, np_json), metric labels, error reasons. Well-formed means
 * Unicode's table 3-7: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF, no
 * sequence cut short.
 */
#ifndef NP_UTF8_H
#define NP_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Returns the length (1 to 4) of the well-formed sequence that starts at p, reading no byte
 * at or past end (p < end), or 0 when the bytes there are not one. When it returns 0 and why is
 * not NULL, *why says what is wrong in a few words ("an overlong encoding", "a UTF-16
 * surrogate", "a truncated multi-byte sequence", ...). A NUL byte is a well-formed sequence of
 * one byte; a NUL is never a continuation byte, so a NUL-terminated string may pass
 * end = p + strnlen(p, 4).
 */
size_t np_utf8_seq_len(const char *p, const char *end, const char **why);

/* True when buf[0..len) is well-formed UTF-8 and has no NUL byte. ASCII runs are checked eight
 * bytes at a time: this is on every article's path. */
bool np_utf8_valid(const char *buf, size_t len);

/* Returns the offset of the first byte of buf[0..len) that is not well-formed UTF-8 (len when
 * there is none) and sets *why as np_utf8_seq_len() does; *why is "no error" at len. The slow,
 * explaining twin of np_utf8_valid() for error messages; NUL bytes are not reported here. */
size_t np_utf8_invalid_at(const char *buf, size_t len, const char **why);

/* Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 into out, which has room
 * for 4 bytes, and returns the number of bytes written (1 to 4). */
size_t np_utf8_put(char *out, uint32_t cp);

/* Makes the NUL-terminated s well-formed in place: each byte that does not start or continue a
 * well-formed sequence becomes '?', and a sequence cut by the end of the string is dropped. For
 * text that quotes input (error reasons) and must still travel as JSON. */
void np_utf8_repair(char *s);

#endif /* NP_UTF8_H */
