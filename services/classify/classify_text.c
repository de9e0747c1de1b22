/* classify_text.c - text normalisation and tokenising for the rules classifier
 *
 * Rules (docs/ARCHITECTURE.md, "classify"; the same for article fields and taxonomy phrases):
 * - A token is a maximal run of letters, digits and combining marks (Unicode categories L*, N*,
 *   M*). Everything else separates tokens: white space, punctuation, every kind of dash
 *   (hyphen-minus, U+2010..U+2015, ...), apostrophes, symbols. So "China-Russia" gives "china"
 *   "russia" and "de-dollarization" gives "de" "dollarization".
 * - Each token is normalised to NFKC + case folding (utf8proc COMPOSE|COMPAT|CASEFOLD|STABLE).
 *   Tokens of pure ASCII (nearly all of English news) take a fast path that only lower-cases;
 *   a token holding any non-ASCII byte is mapped as a whole through utf8proc_decompose() and
 *   utf8proc_normalize_utf32() into a reused code-point buffer, so "e" + U+0301 and U+00E9
 *   give the same token. Code points the mapping turns into non-word characters (NFKC of
 *   U+00BD is "1/2" with a fraction slash) are dropped from the token, not split on.
 * - A dot between single ASCII letters is absorbed: "U.S." gives the one token "us", "U.K."
 *   "uk", "J.P. Morgan" "jp" "morgan". The trailing dot of such an abbreviation belongs to the
 *   token. A dot anywhere else separates ("3.5" gives "3" "5", "No. 1" gives "no" "1").
 * - A possessive "'s" or U+2019 "s" at the end of a word is dropped: "Russia's" gives "russia".
 *   Any other apostrophe separates ("O'Brien" gives "o" "brien").
 * - Han ideographs and kana are written without spaces, so each one is a token by itself; a
 *   phrase "中国" then matches the two-token sequence. Other scripts are tokenised on the
 *   rules above (Thai and similar unspaced scripts give one token per run: a known limit).
 * - Each token keeps its byte offset and length in the original text, for evidence offsets
 *   and for case-sensitive comparison of the surface form (classify_token_surface_eq()).
 * - Each token also keeps the 64-bit hash of its normalised form (classify_text_hash()),
 *   computed in finish() while its bytes are still in L1, the last 1-8 bytes as one masked
 *   8-byte load (the norm buffer keeps 8 bytes of slack for it). The rules' vocabulary lookup
 *   and the learned model's feature keys both use it, so a token is hashed once (callgrind on
 *   2,000 Reuters articles, instructions per article: vocabulary lookup 12.1k -> 6.4k, the
 *   model's counting 16.3k -> 12.6k, finish() 4.8k -> 9.7k; 133.3k -> 128.2k in all).
 */
#include "classify_text.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "np/err.h"

#define MAP_OPTS (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STABLE)

/* ASCII letters and digits to their lower-case form; 0 for every other byte. */
static const unsigned char ascii_fold[128] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   48,  49,  50,  51,  52,  53,  54,  55,  56,
    57,  0,   0,   0,   0,   0,   0,   0,   97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0,   0,   0,   0,
    0,   0,   97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 117, 118, 119, 120, 121, 122, 0,   0,   0,   0,   0,
};

/* The token being built. */
struct cursor {
    bool open;
    bool nonascii; /* holds a non-ASCII byte: map through utf8proc at its end */
    size_t start;  /* byte offset of its first byte */
    size_t seg;    /* characters since its start or its last absorbed dot */
    size_t dots;   /* absorbed dots */
};

/* The 8 bytes at p as a little-endian number. */
/*
 * classify_text_hash(). With slack (n > 0, and 8 bytes readable from the start of the last
 * word: the tokenizer's norm buffer), the last word is one masked load instead of a byte loop;
 * the value is the same.
 */
static inline uint64_t text_hash(const char *s, size_t n, bool slack)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    uint64_t v = 0;

    while (n > 8) {
        h = (h ^ classify_load_le64(s)) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    if (slack) {
        v = classify_load_le64(s) & (~0ULL >> (64 - 8 * n));
    } else {
        for (size_t k = 0; k < n; k++) {
            v |= (uint64_t)(unsigned char)s[k] << (8 * k);
        }
    }
    h ^= v;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h != 0 ? h : 1;
}

uint64_t classify_text_hash(const char *s, size_t n)
{
    return text_hash(s, n, false);
}

void classify_tokens_init(struct classify_tokens *t)
{
    memset(t, 0, sizeof(*t));
}

void classify_tokens_cleanup(struct classify_tokens *t)
{
    if (t == NULL) {
        return;
    }
    free(t->tok);
    np_buf_cleanup(&t->norm);
    free(t->cp);
    memset(t, 0, sizeof(*t));
}

static int reserve_tok(struct classify_tokens *t, size_t need)
{
    if (need <= t->cap) {
        return 0;
    }
    size_t cap = t->cap ? t->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    struct classify_token *p = realloc(t->tok, cap * sizeof(*p));
    if (p == NULL) {
        return NP_ENOMEM;
    }
    t->tok = p;
    t->cap = cap;
    return 0;
}

static int reserve_cp(struct classify_tokens *t, size_t need)
{
    if (need <= t->cp_cap) {
        return 0;
    }
    size_t cap = t->cp_cap ? t->cp_cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    int32_t *p = realloc(t->cp, cap * sizeof(*p));
    if (p == NULL) {
        return NP_ENOMEM;
    }
    t->cp = p;
    t->cp_cap = cap;
    return 0;
}

static bool ascii_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static bool ascii_alnum(unsigned char c)
{
    return ascii_alpha(c) || (unsigned char)(c - '0') < 10;
}

static bool word_category(int32_t cp)
{
    utf8proc_category_t cat = utf8proc_category(cp);

    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;
}

/* Han ideographs, kana: scripts written without spaces; one token per character. */
static bool unspaced_script(int32_t cp)
{
    return (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0x20000 && cp <= 0x2FA1F);
}

/* True when p[i..len) starts with a word character. */
static bool word_at(const unsigned char *p, size_t len, size_t i)
{
    if (i >= len) {
        return false;
    }
    if (p[i] < 0x80) {
        return ascii_alnum(p[i]);
    }
    int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
    return n > 0 && word_category(cp);
}

/* True when p[i] is an 's' that ends a word (the "s" of a possessive "'s"). */
static bool possessive_at(const unsigned char *p, size_t len, size_t i)
{
    return i < len && (p[i] == 's' || p[i] == 'S') && !word_at(p, len, i + 1);
}

/*
 * Replaces the provisional normalised form of the token that starts at norm_off with the NFKC
 * case fold of src[0..n). Leaves it empty when the bytes do not map to any word character.
 */
static __attribute__((noinline)) int map_token(struct classify_tokens *t, const unsigned char *src,
                                               size_t n, size_t norm_off, size_t rest)
{
    utf8proc_ssize_t m = 0;

    t->norm.len = norm_off;
    for (;;) {
        m = utf8proc_decompose(src, (utf8proc_ssize_t)n, t->cp, (utf8proc_ssize_t)t->cp_cap,
                               MAP_OPTS);
        if (m < 0) {
            return 0; /* invalid UTF-8 cannot reach here; treat as no word */
        }
        if ((size_t)m <= t->cp_cap) {
            break;
        }
        if (reserve_cp(t, (size_t)m) != 0) {
            return NP_ENOMEM;
        }
    }
    m = utf8proc_normalize_utf32(t->cp, m, MAP_OPTS);
    if (m < 0) {
        return 0;
    }
    /* Leave room for the rest of the text's ASCII fast path as well, and the hash's slack. */
    if (!np_buf_reserve(&t->norm, (size_t)m * 4 + rest + 8)) {
        return NP_ENOMEM;
    }
    for (utf8proc_ssize_t k = 0; k < m; k++) {
        if (word_category(t->cp[k])) {
            t->norm.len +=
                (size_t)utf8proc_encode_char(t->cp[k], (utf8proc_uint8_t *)t->norm.p + t->norm.len);
        }
    }
    return 0;
}

static void begin(struct classify_tokens *t, struct cursor *c, size_t i)
{
    c->open = true;
    c->nonascii = false;
    c->start = i;
    c->seg = 0;
    c->dots = 0;
    t->tok[t->len].off = (uint32_t)i;
    t->tok[t->len].norm_off = (uint32_t)t->norm.len;
}

/* Closes the open token at byte end (exclusive). */
static inline int finish(struct classify_tokens *t, struct cursor *c, const unsigned char *p,
                         size_t end, size_t len)
{
    struct classify_token *tk = &t->tok[t->len];

    c->open = false;
    if (c->nonascii) {
        if (map_token(t, p + c->start, end - c->start, tk->norm_off, len - end) != 0) {
            return NP_ENOMEM;
        }
    }
    tk->len = (uint32_t)(end - c->start);
    tk->norm_len = (uint32_t)(t->norm.len - tk->norm_off);
    if (tk->norm_len > 0) {
        tk->hash = text_hash(t->norm.p + tk->norm_off, tk->norm_len, true);
        t->len++;
    }
    return 0;
}

/* Handles an ASCII byte that is not a letter or digit. Returns how many bytes it consumed. */
static size_t ascii_sep(struct classify_tokens *t, struct cursor *c, const unsigned char *p,
                        size_t len, size_t i, int *rc)
{
    *rc = 0;
    if (!c->open) {
        return 1;
    }
    if (p[i] == '.' && !c->nonascii && c->seg == 1 && ascii_alpha(p[i - 1])) {
        if (i + 1 < len && ascii_alpha(p[i + 1]) && !word_at(p, len, i + 2)) {
            c->dots++;
            c->seg = 0;
            return 1;
        }
        if (c->dots > 0) {
            *rc = finish(t, c, p, i + 1, len);
            return 1;
        }
    }
    if (p[i] == '\'' && possessive_at(p, len, i + 1)) {
        *rc = finish(t, c, p, i, len);
        return 2;
    }
    *rc = finish(t, c, p, i, len);
    return 1;
}

#define REP8(b) ((uint64_t)(b)*0x0101010101010101ULL)

/*
 * How many of the 8 bytes of w (little-endian: p[0] is the low byte) from the first one on are
 * ASCII letters or digits, all 8 bytes tested at once: a byte b < 0x80 is >= lo when
 * b + (0x80 - lo) has its high bit set, and <= hi when b + (0x7F - hi) has not (no carry
 * crosses a byte). A letter is b | 0x20 in 'a'..'z'.
 */
static inline size_t alnum_prefix(uint64_t w)
{
    uint64_t low = w & REP8(0x7F);
    uint64_t x = low | REP8(0x20);
    uint64_t letter = (x + REP8(0x80 - 'a')) & ~(x + REP8(0x7F - 'z'));
    uint64_t digit = (low + REP8(0x80 - '0')) & ~(low + REP8(0x7F - '9'));
    uint64_t other = ~((letter | digit) & ~w) & REP8(0x80);

    return other == 0 ? 8 : (size_t)__builtin_ctzll(other) / 8;
}

/*
 * The hot loop: a run of ASCII letters and digits from p[i]. Returns the index after it. While 8
 * input bytes can be read, 8 at a time: the lower-case form of a letter or digit is b | 0x20, and
 * the 8-byte store stays inside the norm buffer (it keeps the rest of the text's length plus 8
 * bytes free: see classify_tokenize() and map_token()); bytes past the run are overwritten later
 * or lie past the end of the norm.
 */
static size_t ascii_run(struct classify_tokens *t, struct cursor *c, const unsigned char *p,
                        size_t len, size_t i)
{
    size_t j = i;
    size_t k = t->norm.len;

    if (!c->open) {
        begin(t, c, i);
    }
    while (j + 8 <= len) {
        uint64_t w = 0;
        size_t n = 0;

        memcpy(&w, p + j, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        n = alnum_prefix(w);
        w |= REP8(0x20);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        memcpy(t->norm.p + k, &w, 8);
        j += n;
        k += n;
        if (n < 8) {
            goto done;
        }
    }
    while (j < len && p[j] < 0x80 && ascii_fold[p[j]] != 0) {
        t->norm.p[k++] = (char)ascii_fold[p[j]];
        j++;
    }
done:
    c->seg += j - i;
    t->norm.len = k;
    return j;
}

/* Handles the non-ASCII character at p[i]. Returns how many bytes it consumed. */
static size_t nonascii_char(struct classify_tokens *t, struct cursor *c, const unsigned char *p,
                            size_t len, size_t i, int *rc)
{
    int32_t cp = -1;
    utf8proc_ssize_t got = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
    size_t n = got > 0 ? (size_t)got : 1;

    *rc = 0;
    if (got <= 0) {
        cp = -1; /* an invalid byte separates */
    }
    if (cp == 0x2019 && c->open && possessive_at(p, len, i + n)) {
        *rc = finish(t, c, p, i, len);
        return n + 1;
    }
    if (cp < 0 || !word_category(cp)) {
        if (c->open) {
            *rc = finish(t, c, p, i, len);
        }
        return n;
    }
    if (unspaced_script(cp)) {
        if (c->open) {
            *rc = finish(t, c, p, i, len);
            if (*rc != 0) {
                return n;
            }
        }
        begin(t, c, i);
        c->nonascii = true;
        *rc = finish(t, c, p, i + n, len);
        return n;
    }
    if (!c->open) {
        begin(t, c, i);
    }
    c->nonascii = true;
    c->seg += 2; /* never a single-letter segment: no dot absorbing */
    return n;
}

int classify_tokenize(struct classify_tokens *t, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    struct cursor c = { 0 };
    size_t i = 0;
    int rc = 0;

    t->len = 0;
    np_buf_reset(&t->norm);
    /* At most one token per two bytes, plus one; ASCII never grows when normalised. 8 more
     * bytes: text_hash() reads the last word of a token as one 8-byte load. */
    if (reserve_tok(t, len / 2 + 2) != 0 || !np_buf_reserve(&t->norm, len + 8)) {
        return NP_ENOMEM;
    }
    while (i < len) {
        unsigned char b = p[i];

        if (b < 0x80 && ascii_fold[b] != 0) {
            i = ascii_run(t, &c, p, len, i);
            continue;
        }
        if (b < 0x80) {
            i += ascii_sep(t, &c, p, len, i, &rc);
        } else {
            i += nonascii_char(t, &c, p, len, i, &rc);
        }
        if (rc != 0) {
            goto fail;
        }
    }
    if (c.open && finish(t, &c, p, len, len) != 0) {
        goto fail;
    }
    return 0;
fail:
    t->len = 0;
    np_buf_reset(&t->norm);
    return NP_ENOMEM;
}

bool classify_token_surface_eq(const char *orig, const struct classify_token *tk, const char *word,
                               size_t wlen, bool prefix)
{
    size_t k = 0;

    for (size_t i = 0; i < tk->len; i++) {
        char ch = orig[tk->off + i];
        if (ch == '.') {
            continue;
        }
        if (k == wlen) {
            return prefix;
        }
        if (ch != word[k]) {
            return false;
        }
        k++;
    }
    return k == wlen;
}

size_t classify_token_surface(const char *orig, const struct classify_token *tk, char *buf,
                              size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < tk->len; i++) {
        char ch = orig[tk->off + i];
        if (ch == '.') {
            continue;
        }
        if (k + 1 < cap) {
            buf[k] = ch;
        }
        k++;
    }
    if (cap > 0) {
        buf[k < cap ? k : cap - 1] = '\0';
    }
    return k;
}
