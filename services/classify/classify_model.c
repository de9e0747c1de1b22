/* classify_model.c - a learned tagger beside the rules: model file loader and scorer
 *
 * Features: the normalised tokens of classify_text.c (NFKC, case folded); every token that does
 * not start with a digit is a unigram, every two such tokens in a row a bigram (numbers break
 * bigrams, and a bigram never spans two fields). A feature is known by a 64-bit key: FNV-1a of
 * the normalised token, mixed; a bigram's key mixes its two tokens' keys. Value of a feature in
 * an article: (1 + ln tf) x idf, the vector L2-normalised over all of the model's vocabulary
 * (what the trainer did). Per tag: margin = bias + sum of value x weight; the tag is given when
 * margin >= the tag's threshold (chosen by cross-validation when training); its score is
 * margin - threshold, its evidence the features with the largest value x weight.
 *
 * File format (little-endian; newspipe-train writes it):
 *   header, 48 bytes: "NPMODEL\0", u32 version (1), u32 tags, u32 features, u32 weights,
 *     u32 phrase bytes, u32 flags (0), u64 checksum (FNV-1a 64 of everything after the header),
 *     u64 reserved (0)
 *   tags: per tag f32 bias, f32 threshold, u32 name offset, u32 name length (in phrases)
 *   features, sorted by key, distinct: u64 key, f32 idf, u32 number of weights, u32 phrase
 *     offset, u32 phrase length; feature f's weights follow those of feature f - 1
 *   weights: u32 tag (ascending within a feature), f32 weight
 *   phrases: the tag names and feature phrases, UTF-8, back to back
 * The loader checks the magic, the version, that the sections add up to the file's size
 * exactly, the checksum, every offset, count and tag index, the order of keys and tags, that
 * floats are finite and that tag names are non-empty UTF-8 without control characters. It then
 * builds an open-addressing table key -> feature for the lookups; the weights stay a flat
 * array of (tag, float) pairs: only non-zero weights are stored.
 *
 * Rejected: a dense features x tags matrix (175k x 90 doubles is 126 MB and memory-bound), and
 * hashing features into a fixed number of buckets without keeping phrases (no evidence).
 */
#include "classify_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#define MODEL_FILE_MAX ((size_t)1024 * 1024 * 1024)
#define FEATS_MAX      ((uint32_t)1 << 26)

struct mtag {
    float bias;
    float threshold;
    uint32_t name_off;
    uint32_t name_len;
    char *name;  /* owned, NUL-terminated */
    char *jname; /* owned: the name as a quoted JSON string */
    size_t jname_len;
};

struct mfeat {
    float idf;
    uint32_t w_off;
    uint32_t w_n;
    uint32_t str_off;
    uint32_t str_len;
};

/* Feature keys are looked up in batches of this many: the first pass prefetches each key's
 * slot of the (several MB) table, the second reads them, so the cache misses overlap instead of
 * stalling one after the other. Measured on Reuters with a 115-tag model: see README. */
#define MODEL_PENDING (64)

struct mweight {
    uint32_t tag;
    float w;
};

struct slot {
    uint64_t key; /* 0: empty */
    uint32_t feat;
};

/* A feature of the current article. */
struct hit {
    uint32_t feat;
    uint32_t tf;
    uint32_t slot; /* where in hidx it is indexed */
    float v;
};

struct given {
    uint32_t tag;
    bool claimed;
    double margin;
};

struct classify_model {
    uint32_t n_tags;
    uint32_t n_feats;
    uint32_t n_weights;
    uint32_t str_len;
    size_t file_bytes;
    struct mtag *tags;   /* owned */
    struct mfeat *feats; /* owned */
    struct mweight *w;   /* owned */
    char *strings;       /* owned */
    struct slot *table;  /* owned, mask + 1 slots */
    size_t mask;

    /* Scratch for one article. */
    struct classify_tokens toks;
    struct hit *hits; /* n_hits used of hits_cap */
    size_t n_hits;
    size_t hits_cap;
    uint32_t *hidx;   /* local table feature -> hit + 1, hidx_cap slots (power of two) */
    size_t hidx_init; /* hidx[0..hidx_init) are initialised (all zero between articles) */
    size_t hidx_cap;
    size_t hmask;                    /* the part of hidx this article uses, minus one */
    uint64_t pending[MODEL_PENDING]; /* feature keys whose table slots are being prefetched */
    size_t n_pending;
    double *margin; /* per tag */
    struct given *given;
    size_t n_given;
};

/* ---- features ---- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t fnv1a(const unsigned char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t classify_model_checksum(const unsigned char *p, size_t n)
{
    return fnv1a(p, n, 0xcbf29ce484222325ULL);
}

static uint64_t nonzero(uint64_t k)
{
    return k != 0 ? k : 1;
}

int classify_model_features(struct classify_tokens *t, const char *text, size_t len,
                            classify_model_feature_fn fn, void *ctx)
{
    if (classify_tokenize(t, text, len) != 0) {
        return NP_ENOMEM;
    }
    classify_model_token_features(t, fn, ctx);
    return 0;
}

void classify_model_token_features(const struct classify_tokens *t, classify_model_feature_fn fn,
                                   void *ctx)
{
    uint64_t prev = 0;
    bool have_prev = false;

    for (size_t i = 0; i < t->len; i++) {
        const char *s = classify_token_norm(t, i);
        size_t n = t->tok[i].norm_len;
        uint64_t k = 0;

        if (s[0] >= '0' && s[0] <= '9') {
            have_prev = false;
            continue;
        }
        k = nonzero(mix64(classify_model_checksum((const unsigned char *)s, n)));
        fn(ctx, k, t, i, 1);
        if (have_prev) {
            fn(ctx, nonzero(mix64(prev * 0x9E3779B97F4A7C15ULL + k + 0x632BE59BD9B4E019ULL)), t,
               i - 1, 2);
        }
        prev = k;
        have_prev = true;
    }
}

/* ---- loading ---- */

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static float get_f32(const unsigned char *p)
{
    uint32_t u = get_u32(p);
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Valid UTF-8 (no overlong forms, no surrogates) without control characters, non-empty. */
static bool name_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    if (n == 0) {
        return false;
    }
    while (i < n) {
        unsigned c = s[i];
        size_t k = c >= 0xC2 && c < 0xE0   ? 1
                   : c >= 0xE0 && c < 0xF0 ? 2
                   : c >= 0xF0 && c < 0xF5 ? 3
                                           : 0;

        if (c < 0x20 || c == 0x7F) {
            return false;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (k == 0 || k >= n - i) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) {
                return false;
            }
        }
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

struct header {
    uint32_t version;
    uint32_t n_tags;
    uint32_t n_feats;
    uint32_t n_weights;
    uint32_t str_len;
    uint32_t flags;
    uint64_t checksum;
};

static int check_header(const unsigned char *p, size_t len, struct header *h, struct np_err *err)
{
    uint64_t want = 0;

    if (len < CLASSIFY_MODEL_HEADER) {
        return np_err_set(err, NP_EPARSE, "header", "file is %zu bytes, shorter than a header",
                          len);
    }
    if (memcmp(p, CLASSIFY_MODEL_MAGIC, 8) != 0) {
        return np_err_set(err, NP_EPARSE, "magic", "not a newspipe model file");
    }
    h->version = get_u32(p + 8);
    h->n_tags = get_u32(p + 12);
    h->n_feats = get_u32(p + 16);
    h->n_weights = get_u32(p + 20);
    h->str_len = get_u32(p + 24);
    h->flags = get_u32(p + 28);
    h->checksum = get_u64(p + 32);
    if (h->version != CLASSIFY_MODEL_VERSION) {
        return np_err_set(err, NP_EPARSE, "version", "version %u, this build reads %d", h->version,
                          CLASSIFY_MODEL_VERSION);
    }
    if (h->n_tags == 0 || h->n_tags > CLASSIFY_MODEL_MAX_TAGS || h->n_feats > FEATS_MAX ||
        h->flags != 0 || get_u64(p + 40) != 0) {
        return np_err_set(err, NP_EPARSE, "header", "counts out of bounds (tags %u, features %u)",
                          h->n_tags, h->n_feats);
    }
    want = (uint64_t)CLASSIFY_MODEL_HEADER + (uint64_t)h->n_tags * CLASSIFY_MODEL_TAG_REC +
           (uint64_t)h->n_feats * CLASSIFY_MODEL_FEAT_REC +
           (uint64_t)h->n_weights * CLASSIFY_MODEL_W_REC + h->str_len;
    if (want != len) {
        return np_err_set(err, NP_EPARSE, "size",
                          "file is %zu bytes, its header says %llu (truncated or corrupt)", len,
                          (unsigned long long)want);
    }
    if (classify_model_checksum(p + CLASSIFY_MODEL_HEADER, len - CLASSIFY_MODEL_HEADER) !=
        h->checksum) {
        return np_err_set(err, NP_EPARSE, "checksum", "checksum mismatch (corrupt file)");
    }
    return 0;
}

static void make_jname(struct mtag *t, const char *s, bool *ok)
{
    struct np_buf o = { 0 };

    np_json_out_string(&o, s, t->name_len);
    if (o.failed) {
        free(o.p);
        *ok = false;
        return;
    }
    t->jname = o.p;
    t->jname_len = o.len;
    t->name = malloc((size_t)t->name_len + 1);
    if (t->name == NULL) {
        *ok = false;
        return;
    }
    memcpy(t->name, s, t->name_len);
    t->name[t->name_len] = '\0';
}

static int read_tags(struct classify_model *m, const unsigned char *p, struct np_err *err)
{
    bool ok = true;

    for (uint32_t i = 0; i < m->n_tags; i++) {
        const unsigned char *r = p + (size_t)i * CLASSIFY_MODEL_TAG_REC;
        struct mtag *t = &m->tags[i];

        t->bias = get_f32(r);
        t->threshold = get_f32(r + 4);
        t->name_off = get_u32(r + 8);
        t->name_len = get_u32(r + 12);
        if (!isfinite(t->bias) || !isfinite(t->threshold)) {
            return np_err_set(err, NP_EPARSE, "tags", "tag %u: bias or threshold not finite", i);
        }
        if ((uint64_t)t->name_off + t->name_len > m->str_len ||
            !name_ok((const unsigned char *)m->strings + t->name_off, t->name_len)) {
            return np_err_set(err, NP_EPARSE, "tags", "tag %u: name out of bounds or invalid", i);
        }
        make_jname(t, m->strings + t->name_off, &ok);
        if (!ok) {
            return np_err_set(err, NP_ENOMEM, NULL, "out of memory");
        }
    }
    return 0;
}

static int read_feats(struct classify_model *m, const unsigned char *p, struct np_err *err)
{
    uint64_t prev = 0;
    uint64_t w_off = 0;

    for (uint32_t i = 0; i < m->n_feats; i++) {
        const unsigned char *r = p + (size_t)i * CLASSIFY_MODEL_FEAT_REC;
        struct mfeat *f = &m->feats[i];
        uint64_t key = get_u64(r);
        size_t s = 0;

        f->idf = get_f32(r + 8);
        f->w_n = get_u32(r + 12);
        f->str_off = get_u32(r + 16);
        f->str_len = get_u32(r + 20);
        f->w_off = (uint32_t)w_off;
        if (key == 0 || (i > 0 && key <= prev)) {
            return np_err_set(err, NP_EPARSE, "features", "feature %u: key zero or out of order",
                              i);
        }
        if (!isfinite(f->idf) || f->idf < 0 || (uint64_t)f->str_off + f->str_len > m->str_len ||
            w_off + f->w_n > m->n_weights) {
            return np_err_set(err, NP_EPARSE, "features",
                              "feature %u: value or offset out of bounds", i);
        }
        for (uint32_t k = 0; k < f->w_n; k++) {
            const struct mweight *w = &m->w[w_off + k];

            if (w->tag >= m->n_tags || !isfinite(w->w) || (k > 0 && w->tag <= w[-1].tag)) {
                return np_err_set(err, NP_EPARSE, "weights",
                                  "feature %u: weight %u has a bad tag or value", i, k);
            }
        }
        w_off += f->w_n;
        prev = key;
        s = (size_t)(key & m->mask);
        while (m->table[s].key != 0) {
            s = (s + 1) & m->mask;
        }
        m->table[s].key = key;
        m->table[s].feat = i;
    }
    if (w_off != m->n_weights) {
        return np_err_set(err, NP_EPARSE, "weights", "%llu weights listed, %u stored",
                          (unsigned long long)w_off, m->n_weights);
    }
    return 0;
}

static int alloc_model(struct classify_model *m)
{
    size_t slots = 16;

    while (slots < (size_t)m->n_feats * 2) {
        slots *= 2;
    }
    m->mask = slots - 1;
    m->tags = calloc(m->n_tags, sizeof(*m->tags));
    m->feats = calloc(m->n_feats + 1, sizeof(*m->feats));
    m->w = calloc((size_t)m->n_weights + 1, sizeof(*m->w));
    m->strings = malloc((size_t)m->str_len + 1);
    m->table = calloc(slots, sizeof(*m->table));
    m->margin = calloc(m->n_tags, sizeof(*m->margin));
    m->given = calloc(m->n_tags, sizeof(*m->given));
    if (m->tags == NULL || m->feats == NULL || m->w == NULL || m->strings == NULL ||
        m->table == NULL || m->margin == NULL || m->given == NULL) {
        return NP_ENOMEM;
    }
    return 0;
}

struct classify_model *classify_model_load_mem(const void *buf, size_t len, struct np_err *err)
{
    const unsigned char *p = buf;
    struct classify_model *m = NULL;
    struct header h = { 0 };
    size_t off = CLASSIFY_MODEL_HEADER;
    int rc = check_header(p, len, &h, err);

    if (rc != 0) {
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        np_err_set(err, NP_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    classify_tokens_init(&m->toks);
    m->n_tags = h.n_tags;
    m->n_feats = h.n_feats;
    m->n_weights = h.n_weights;
    m->str_len = h.str_len;
    m->file_bytes = len;
    if (alloc_model(m) != 0) {
        np_err_set(err, NP_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    {
        size_t tags_at = off;
        size_t feats_at = tags_at + (size_t)h.n_tags * CLASSIFY_MODEL_TAG_REC;
        size_t w_at = feats_at + (size_t)h.n_feats * CLASSIFY_MODEL_FEAT_REC;
        size_t s_at = w_at + (size_t)h.n_weights * CLASSIFY_MODEL_W_REC;

        memcpy(m->strings, p + s_at, h.str_len);
        m->strings[h.str_len] = '\0';
        for (uint32_t i = 0; i < h.n_weights; i++) {
            m->w[i].tag = get_u32(p + w_at + (size_t)i * CLASSIFY_MODEL_W_REC);
            m->w[i].w = get_f32(p + w_at + (size_t)i * CLASSIFY_MODEL_W_REC + 4);
        }
        if (read_tags(m, p + tags_at, err) != 0 || read_feats(m, p + feats_at, err) != 0) {
            goto fail;
        }
    }
    return m;
fail:
    classify_model_destroy(&m);
    return NULL;
}

struct classify_model *classify_model_load(const char *path, struct np_err *err)
{
    struct classify_model *m = NULL;
    unsigned char *buf = NULL;
    struct stat st;
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        np_err_set(err, NP_EINVAL, "model", "cannot open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (size_t)st.st_size > MODEL_FILE_MAX) {
        np_err_set(err, NP_EINVAL, "model", "\"%s\" is not a regular file of at most 1 GiB", path);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        np_err_set(err, NP_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        np_err_set(err, NP_EIO, "model", "could not read \"%s\"", path);
        goto out;
    }
    m = classify_model_load_mem(buf, (size_t)st.st_size, err);
out:
    free(buf);
    fclose(f);
    return m;
}

void classify_model_stats(const struct classify_model *m, struct classify_model_stats *st)
{
    st->tags = m->n_tags;
    st->features = m->n_feats;
    st->weights = m->n_weights;
    st->file_bytes = m->file_bytes;
    st->memory_bytes = m->n_tags * sizeof(*m->tags) + m->n_feats * sizeof(*m->feats) +
                       m->n_weights * sizeof(*m->w) + m->str_len +
                       (m->mask + 1) * sizeof(*m->table);
}

void classify_model_destroy(struct classify_model **mp)
{
    struct classify_model *m = mp != NULL ? *mp : NULL;

    if (m == NULL) {
        return;
    }
    if (m->tags != NULL) {
        for (uint32_t i = 0; i < m->n_tags; i++) {
            free(m->tags[i].jname);
            free(m->tags[i].name);
        }
    }
    free(m->tags);
    free(m->feats);
    free(m->w);
    free(m->strings);
    free(m->table);
    free(m->margin);
    free(m->given);
    free(m->hits);
    free(m->hidx);
    classify_tokens_cleanup(&m->toks);
    free(m);
    *mp = NULL;
}

/* ---- scoring ---- */

static uint32_t lookup(const struct classify_model *m, uint64_t key)
{
    size_t s = (size_t)(key & m->mask);

    while (m->table[s].key != 0) {
        if (m->table[s].key == key) {
            return m->table[s].feat;
        }
        s = (s + 1) & m->mask;
    }
    return UINT32_MAX;
}

/* Makes room for n hits and sizes the local index (twice that, a power of two); clears it. */
static int reserve_hits(struct classify_model *m, size_t n)
{
    size_t slots = 64;

    while (slots < n * 2) {
        slots *= 2;
    }
    if (n > m->hits_cap) {
        struct hit *h = realloc(m->hits, n * sizeof(*h));

        if (h == NULL) {
            return NP_ENOMEM;
        }
        m->hits = h;
        m->hits_cap = n;
    }
    if (slots > m->hidx_cap) {
        uint32_t *x = realloc(m->hidx, slots * sizeof(*x));

        if (x == NULL) {
            return NP_ENOMEM;
        }
        m->hidx = x;
        m->hidx_cap = slots;
    }
    /* The index is left all zero after every article (clear_index()): only slots never used
     * before need clearing, not the whole index per article. */
    if (slots > m->hidx_init) {
        memset(m->hidx + m->hidx_init, 0, (slots - m->hidx_init) * sizeof(*m->hidx));
        m->hidx_init = slots;
    }
    m->hmask = slots - 1;
    return 0;
}

/* Counts the feature with this key in the article's hits, when the model knows it. */
static void count_feature(struct classify_model *m, uint64_t key)
{
    uint32_t f = lookup(m, key);
    size_t mask = m->hmask;
    size_t s = 0;

    if (f == UINT32_MAX) {
        return;
    }
    s = (f * 2654435761u) & mask;
    while (m->hidx[s] != 0) {
        struct hit *h = &m->hits[m->hidx[s] - 1];
        if (h->feat == f) {
            h->tf++;
            return;
        }
        s = (s + 1) & mask;
    }
    __builtin_prefetch(&m->feats[f]); /* read when the article ends */
    m->hits[m->n_hits].feat = f;
    m->hits[m->n_hits].tf = 1;
    m->hits[m->n_hits].slot = (uint32_t)s;
    m->hidx[s] = (uint32_t)++m->n_hits;
}

/* Counts the keys waiting in pending. */
static void flush_pending(struct classify_model *m)
{
    for (size_t i = 0; i < m->n_pending; i++) {
        count_feature(m, m->pending[i]);
    }
    m->n_pending = 0;
}

static void on_feature(void *ctx, uint64_t key, const struct classify_tokens *t, size_t i, size_t n)
{
    struct classify_model *m = ctx;

    (void)t;
    (void)i;
    (void)n;
    if (m->n_pending == MODEL_PENDING) {
        flush_pending(m);
    }
    __builtin_prefetch(&m->table[key & m->mask]);
    m->pending[m->n_pending++] = key;
}

/* Zeroes the slots of the local index this article used. */
static void clear_index(struct classify_model *m)
{
    for (size_t i = 0; i < m->n_hits; i++) {
        m->hidx[m->hits[i].slot] = 0;
    }
}

/* Margins from the collected hits (values not yet normalised), then the tags given. */
static void score_hits(struct classify_model *m, double norm)
{
    for (uint32_t t = 0; t < m->n_tags; t++) {
        m->margin[t] = m->tags[t].bias;
    }
    for (size_t i = 0; i < m->n_hits; i++) {
        struct hit *h = &m->hits[i];
        const struct mfeat *f = &m->feats[h->feat];
        const struct mweight *w = m->w + f->w_off;
        float v = (float)(h->v * norm);

        h->v = v;
        for (uint32_t k = 0; k < f->w_n; k++) {
            m->margin[w[k].tag] += v * w[k].w;
        }
    }
    for (uint32_t t = 0; t < m->n_tags; t++) {
        if (m->margin[t] >= m->tags[t].threshold) {
            struct given *g = &m->given[m->n_given++];

            g->tag = t;
            g->claimed = false;
            g->margin = m->margin[t] - m->tags[t].threshold;
        }
    }
}

int classify_model_begin(struct classify_model *m, size_t text_bytes)
{
    size_t total = text_bytes + 2;

    m->n_hits = 0;
    m->n_given = 0;
    m->n_pending = 0;
    /* Distinct features: at most two per byte (a token takes one), at most the vocabulary. */
    return reserve_hits(m, 2 * total < m->n_feats ? 2 * total : (size_t)m->n_feats + 1);
}

void classify_model_add(struct classify_model *m, const struct classify_tokens *t)
{
    classify_model_token_features(t, on_feature, m);
}

void classify_model_end(struct classify_model *m)
{
    double norm = 0;

    flush_pending(m);
    for (size_t i = 0; i < m->n_hits; i++) {
        struct hit *h = &m->hits[i];
        const struct mfeat *f = &m->feats[h->feat];
        float v = (1.0f + logf((float)h->tf)) * f->idf;

        __builtin_prefetch(m->w + f->w_off); /* the weights score_hits() reads next */
        h->v = v;
        norm += (double)v * v;
    }
    clear_index(m);
    norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
    score_hits(m, norm);
}

int classify_model_score(struct classify_model *m, const char *const *fields, size_t n)
{
    size_t total = 0;

    for (size_t f = 0; f < n; f++) {
        total += fields[f] != NULL ? strlen(fields[f]) : 0;
    }
    if (classify_model_begin(m, total) != 0) {
        return NP_ENOMEM;
    }
    for (size_t f = 0; f < n; f++) {
        if (fields[f] != NULL && classify_tokenize(&m->toks, fields[f], strlen(fields[f])) != 0) {
            clear_index(m);
            m->n_hits = 0;
            return NP_ENOMEM;
        }
        if (fields[f] != NULL) {
            classify_model_add(m, &m->toks);
        }
    }
    classify_model_end(m);
    return 0;
}

bool classify_model_claim(struct classify_model *m, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < m->n_given; i++) {
        const struct mtag *t = &m->tags[m->given[i].tag];

        if (t->name_len == n && memcmp(t->name, name, n) == 0) {
            m->given[i].claimed = true;
            return true;
        }
    }
    return false;
}

size_t classify_model_ngiven(const struct classify_model *m)
{
    return m->n_given;
}

const char *classify_model_given(const struct classify_model *m, size_t i, double *score)
{
    const struct mtag *t = NULL;

    if (i >= m->n_given) {
        return NULL;
    }
    t = &m->tags[m->given[i].tag];
    if (score != NULL) {
        *score = m->given[i].margin;
    }
    return t->name;
}

/* v with 4 decimals, without printf (it was a tenth of the model's cost per article). */
static void put_float(struct np_buf *o, double v)
{
    char num[48];
    size_t n = 0;
    uint64_t whole = 0;
    uint32_t frac = 0;

    if (!(v > -1e15 && v < 1e15)) {
        np_buf_lit(o, "0");
        return;
    }
    if (v < 0) {
        num[n++] = '-';
        v = -v;
    }
    whole = (uint64_t)(v * 10000 + 0.5);
    frac = (uint32_t)(whole % 10000);
    whole /= 10000;
    n += (size_t)snprintf(num + n, sizeof(num) - n, "%llu", (unsigned long long)whole);
    num[n++] = '.';
    for (int d = 1000; d > 0; d /= 10) {
        num[n++] = (char)('0' + (frac / (uint32_t)d) % 10);
    }
    np_buf_put(o, num, n);
}

/* The weight of feature f for tag t, 0 when it has none (weights are sorted by tag). */
static float weight_of(const struct classify_model *m, uint32_t f, uint32_t t)
{
    const struct mweight *w = m->w + m->feats[f].w_off;

    for (uint32_t k = 0; k < m->feats[f].w_n && w[k].tag <= t; k++) {
        if (w[k].tag == t) {
            return w[k].w;
        }
    }
    return 0;
}

static void write_evidence(struct classify_model *m, struct np_buf *o, uint32_t t)
{
    size_t top[CLASSIFY_MODEL_EVIDENCE];
    double val[CLASSIFY_MODEL_EVIDENCE];
    size_t n = 0;

    for (size_t i = 0; i < m->n_hits; i++) {
        double c = (double)m->hits[i].v * weight_of(m, m->hits[i].feat, t);
        size_t k = 0;

        if (c <= 0 || (n == CLASSIFY_MODEL_EVIDENCE && c <= val[n - 1])) {
            continue;
        }
        k = n < CLASSIFY_MODEL_EVIDENCE ? n++ : n - 1;
        while (k > 0 && val[k - 1] < c) {
            top[k] = top[k - 1];
            val[k] = val[k - 1];
            k--;
        }
        top[k] = i;
        val[k] = c;
    }
    np_buf_lit(o, "[");
    for (size_t k = 0; k < n; k++) {
        const struct mfeat *f = &m->feats[m->hits[top[k]].feat];

        np_buf_put(o, ",", k > 0 ? 1 : 0);
        np_buf_lit(o, "{\"phrase\":");
        np_json_out_string(o, m->strings + f->str_off, f->str_len);
        np_buf_lit(o, ",\"weight\":");
        put_float(o, val[k]);
        np_buf_lit(o, "}");
    }
    np_buf_lit(o, "]");
}

size_t classify_model_write(struct classify_model *m, struct np_buf *o, bool more_before)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_given; i++) {
        const struct given *g = &m->given[i];
        const struct mtag *t = &m->tags[g->tag];

        if (g->claimed) {
            continue;
        }
        np_buf_put(o, ",", more_before || n > 0 ? 1 : 0);
        np_buf_lit(o, "{\"name\":");
        np_buf_put(o, t->jname, t->jname_len);
        np_buf_lit(o, ",\"score\":");
        put_float(o, g->margin);
        np_buf_lit(o, ",\"classifier\":\"model\",\"evidence\":");
        write_evidence(m, o, g->tag);
        np_buf_lit(o, "}");
        n++;
    }
    return n;
}
