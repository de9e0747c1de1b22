/* classify_text.h - text normalisation and tokenising for the rules classifier
 *
 * Both article fields and taxonomy phrases go through classify_tokenize(), so a phrase matches
 * exactly the texts that normalise to its token sequence. See classify_text.c for the rules.
 */
#ifndef CLASSIFY_TEXT_H
#define CLASSIFY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "np/buf.h"

/* One token: where it sits in the original text and its normalised form. */
struct classify_token {
    uint32_t off;      /* byte offset of the token in the original text */
    uint32_t len;      /* byte length in the original text (absorbed dots included) */
    uint32_t norm_off; /* offset of the normalised form in classify_tokens.norm */
    uint32_t norm_len; /* its length in bytes, never 0 */
    uint64_t hash;     /* classify_text_hash() of the normalised form */
};

/*
 * A 64-bit hash of s[0..n), never 0: the bytes taken 8 at a time (little-endian, the last 1-8
 * zero-padded), mixed. The tokenizer stores it in each token as it writes the normalised form,
 * so a token is hashed once: the rules' vocabulary (classify_intern) and the learned model's
 * feature keys (classify_model.c) both use it. The model file's keys depend on it: changing it
 * means a new model file version.
 */
uint64_t classify_text_hash(const char *s, size_t n);

/*
 * The tokens of one text plus the buffers behind them. Caller-allocated
 * (classify_tokens_init() / classify_tokens_cleanup()); the buffers are reused between calls
 * and only grow, so tokenising allocates nothing once they are large enough.
 */
struct classify_tokens {
    struct classify_token *tok; /* owned, len used of cap */
    size_t len;
    size_t cap;
    struct np_buf norm; /* owned: the normalised forms back to back, then 8 readable bytes */
    int32_t *cp;        /* owned scratch: code points for utf8proc */
    size_t cp_cap;
};

void classify_tokens_init(struct classify_tokens *t);

/* Frees the buffers. Accepts a zeroed or already cleaned-up struct. */
void classify_tokens_cleanup(struct classify_tokens *t);

/*
 * Replaces the tokens in t with those of s[0..len) (UTF-8; invalid bytes separate tokens).
 * Returns 0 or NP_ENOMEM (t then holds no tokens).
 */
int classify_tokenize(struct classify_tokens *t, const char *s, size_t len);

/* The 8 bytes at p as a little-endian integer (p[0] the low byte) on any host: what the hash and
 * the vocabulary's 8-byte compares read a word with. */
static inline uint64_t classify_load_le64(const char *p)
{
    uint64_t v = 0;

    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The normalised form of token i (not NUL-terminated; length t->tok[i].norm_len). */
static inline const char *classify_token_norm(const struct classify_tokens *t, size_t i)
{
    return t->norm.p + t->tok[i].norm_off;
}

/*
 * Compares the surface form of a token - its original bytes without absorbed dots, not case
 * folded, not NFKC-mapped ("U.S." -> "US") - with word[0..wlen). With prefix, word need only be
 * a prefix of the surface form. orig is the text the token was cut from.
 */
bool classify_token_surface_eq(const char *orig, const struct classify_token *tk, const char *word,
                               size_t wlen, bool prefix);

/*
 * Writes the surface form of the token into buf (cap bytes, NUL-terminated, truncated if
 * needed). Returns its length before truncation.
 */
size_t classify_token_surface(const char *orig, const struct classify_token *tk, char *buf,
                              size_t cap);

#endif /* CLASSIFY_TEXT_H */
