/* classify_model.c - a learned tagger beside the rules: model file loader and scorer
 *
 * Features: the normalised tokens of classify_text.c (NFKC, case folded); every token that does
 * not start with a digit is a unigram, every two such tokens in a row a bigram (numbers break
 * bigrams, and a bigram never spans two fields). A feature is known by a 64-bit key: a unigram's
 * is its token's hash (classify_text_hash(): the normalised bytes taken 8 at a time,
 * little-endian, mixed), which the tokenizer computes once per token for the rules and the model
 * alike; version 1 hashed byte by byte, FNV-1a. A bigram's key mixes its two tokens' keys. A model
 * with title features (header flag) also counts each unigram and bigram of the title under a second
 * key, its title twin (classify_model_title_key()): a word in a headline then weighs apart from the
 * same word in the body. A model with stems (header flag) also counts each unigram as its first
 * four characters under a key of its own (stem_key()), a crude stem that lets
 * "acquired" in an article count for what "acquisition" taught, with no stemmer's per-word cost
 * (Snowball's English stems instead measured lower: docs/MEASUREMENTS.md). The model's vocabulary
 * is looked up by key prefix (classify_model_prefix(): the top bucket bits + 23 bits of the key),
 * which the trainer uses too: an article's key is the vocabulary feature with the same prefix, or
 * no feature.
 *
 * Value of a feature in an article: (1 + ln tf) x idf / norm, with norm = sqrt(sum over the
 * article's vocabulary features of ((1 + ln tf) x norm idf)^2); the norm idf is the idf rounded
 * to a multiple of the file's idf step (classify_model_norm_idf(), one byte per feature in
 * memory). Per tag: margin = bias + sum of value x weight; the tag is given when margin >= the
 * tag's threshold (chosen by cross-validation when training); its score is margin - threshold,
 * its evidence the features with the largest value x weight.
 *
 * File format (little-endian; newspipe-train writes it):
 *   header, 64 bytes: "NPMODEL\0", u32 version (3), u32 tags, u32 features, u32 weights,
 *     u32 phrase bytes, u32 flags (bit 0: title features, bit 1: stop words left out, bit 2:
 *     stems, the rest 0), u64 checksum (FNV-1a 64 of every byte of the file but these 8),
 *     u64 reserved (0), u32 bucket bits (4..24), f32 idf step, u64 reserved (0)
 *   tags: per tag f32 bias, f32 threshold, u32 name offset, u32 name length (in phrases)
 *   features (the whole vocabulary: the norm needs each one's idf), sorted by key, prefixes
 *     distinct: u64 key, f32 idf, u32 number of weights (0 or more), u32 phrase offset, u32
 *     phrase length (0 for a feature without weights); feature f's weights follow those of
 *     feature f - 1
 *   weights: u32 tag (ascending within a feature), f32 weight
 *   phrases: the tag names and the phrases of features with weights, UTF-8, back to back
 * Version 1 files (no bucket bits, the norm over exact idf) and version 2 files (the same
 * layout, but a checksum that left the first 48 bytes out, flags included) are refused with a
 * request to retrain. The loader checks the magic, the version, that the sections add up to
 * the file's size exactly, the checksum, every offset, count and tag index, the order of
 * prefixes and tags, that floats are finite and that tag names are non-empty UTF-8 without
 * control characters.
 *
 * In memory, laid out for the cache (a Reuters article has ~250 feature occurrences, ~170
 * distinct, each a lookup, or ~120 and ~90 with the function words left out; the Reuters model
 * has 130k features, title twins included, 42k of them with weights, or 70k and 33k): per
 * bucket the index of its first feature and of its first feature with weights (2^15 buckets of
 * 8 bytes for Reuters, ~4 features each); per feature one u32: 23 prefix bits, a has-weights bit
 * and the norm idf code; per feature with weights its exact idf, first weight and largest |weight|
 * (12 bytes), its phrase apart; each weight 8 bytes (u16 tag, the float32 of the file). 2.0 MB of
 * it is read when scoring Reuters articles, against 11.7 MB for version 1's open-addressing table
 * of 64-bit keys and 24-byte records. An article's keys are counted first in a small local table (a
 * repeated word costs no lookup): 16-byte slots (key, article stamp, record index; a slot with an
 * older stamp is empty, so nothing is cleared between articles) in front of the distinct keys'
 * records in order of first occurrence, which the lookups and the end of the article then read
 * front to back rather than slot by slot (2k fewer instructions and ~140 fewer L1 misses per
 * article than 24-byte records in the slots, cleared slot by slot). New keys are looked up in
 * batches: a pass prefetches each key's bucket, the next reads it and prefetches its features,
 * the last matches; so the cache misses overlap. Evidence is found only for the tags written, and
 * only among the features whose value x largest |weight| can still make the top five.
 *
 * Rejected (measured with cachegrind on 2,000 Reuters articles): weights as an int16 scaled per
 * tag (4 bytes: 68k instructions and 97 misses of a 2 MB last level per article, against 63k
 * and 115 with float32); tags and weights in two arrays (more misses); evidence for every given tag
 * from a second pass over the article's weights while scoring (~7k instructions per article,
 * against ~5k for finding the written tags' weights, JSON included); 2^16 buckets of two features
 * for Reuters (61.3k instructions, but 153 last-level misses); the distinct keys' table as 8-byte
 * slots beside the records (67.4k instructions, more L1 misses); matching a batch's keys one
 * batch after their features were prefetched (no faster: CPU time per article the same to 1%);
 * matching a bucket's features four at a time with SSE2 (0.8k more instructions per article: a
 * bucket holds ~4 features, and the vector setup costs more than the scalar loop's ~3 steps).
 */
#include "classify_model.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "np/utf8.h"

#define MODEL_FILE_MAX ((size_t)1024 * 1024 * 1024)

struct mtag {
    float wmax; /* the largest |weight| of the tag (evidence bound) */
    uint32_t name_off;
    uint32_t name_len;
    char *name;  /* owned, NUL-terminated */
    char *jname; /* owned: the name as a quoted JSON string */
    size_t jname_len;
};

/* A bucket: its first feature, and its first feature with weights. */
struct mbucket {
    uint32_t first;
    uint32_t first_w;
};

/* A feature: prefix bits below the bucket's, has-weights bit, norm idf code. */
#define E_FP(e)    ((e) >> 9)
#define E_WEIGHTED (0x100u)
#define E_CODE(e)  ((e)&0xFFu)
#define E_FP_MASK  (((uint32_t)1 << CLASSIFY_MODEL_FP_BITS) - 1)

/* A feature with weights, what scoring reads: its weights are w[w_off .. next one's w_off). */
struct mfeat {
    float idf;
    uint32_t w_off;
    float wmax; /* its largest |weight| (a bound for evidence) */
};

struct mphrase {
    uint32_t off;
    uint32_t len; /* with PHRASE_PLAIN when it needs no JSON escape */
};

#define PHRASE_PLAIN (0x80000000u)
#define PHRASE_LEN   (0x7FFFFFFFu)

/* Feature keys are looked up in batches of this many (see the top of the file). */
#define MODEL_PENDING (64)

struct mweight {
    uint16_t tag;
    uint16_t pad;
    float w;
};

/* A slot of the local table: a key of the current article and its record in keys[]. */
struct lslot {
    uint64_t key;
    uint32_t gen; /* in use when it is the model's gen (the current article) */
    uint32_t idx;
};

/* A distinct feature of the current article, in the order the article gives them. */
struct lkey {
    uint64_t key;
    uint32_t tf;
    uint32_t code; /* norm idf code + 1; 0: not a feature of the model (or not looked up yet) */
    uint32_t wf;   /* feature with weights + 1, 0 when it has none */
};

/* A feature with weights in the current article. */
struct hit {
    uint32_t feat;
    float v;        /* (1 + ln tf) x idf, then x 1/norm */
    float bound;    /* v x the feature's largest |weight|, once scored */
    uint32_t w_off; /* its weights, w[w_off .. w_end) */
    uint32_t w_end;
};

struct given {
    uint32_t tag;
    bool claimed;
    double margin;
};

#define LOG_TF_LUT (64)

struct classify_model {
    uint32_t n_tags;
    uint32_t n_ents;  /* the vocabulary */
    uint32_t n_feats; /* with weights */
    uint32_t n_weights;
    uint32_t str_len;
    unsigned bits;
    float idf_step;
    bool title; /* title features (CLASSIFY_MODEL_FLAG_TITLE) */
    bool stop;  /* stop words left out (CLASSIFY_MODEL_FLAG_STOPWORDS) */
    bool stems; /* each word also as its stem (CLASSIFY_MODEL_FLAG_STEMS) */
    size_t file_bytes;
    struct mtag *tags;       /* owned */
    struct mbucket *buckets; /* owned, 2^bits + 1 */
    uint32_t *ents;          /* owned, n_ents */
    struct mfeat *feats;     /* owned, n_feats + 1 */
    struct mphrase *phrase;  /* owned, n_feats */
    struct mweight *w;       /* owned */
    char *strings;           /* owned */
    float code_idf[256];
    float log_tf[LOG_TF_LUT];

    /* Scratch for one article. */
    struct classify_tokens toks;
    struct lslot *local; /* lmask + 1 slots; a slot of another gen is empty */
    size_t lmask;
    uint32_t gen;      /* the current article's, never 0 */
    struct lkey *keys; /* n_keys used of (lmask + 1) / 2 */
    size_t n_keys;
    size_t n_looked;  /* keys[0 .. n_looked) looked up, the rest pending */
    struct hit *hits; /* n_hits used; as many as keys */
    size_t n_hits;
    bool oom;      /* the local table could not grow: no tags for this article */
    float v_max;   /* the largest bound among the hits */
    bool scored;   /* margin[] and best hold the last article's margins */
    float best;    /* the largest margin of the last article */
    float *margin; /* per tag: sums before scaling, then margin - threshold once scored */
    float *cut;    /* per tag, threshold - bias: given when the weights' sum reaches it (apart from
                    * the tags' records: the one scan per article reads 8 lines, not 86) */
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

uint64_t classify_model_checksum(const unsigned char *img, size_t len)
{
    uint64_t h = fnv1a(img, CLASSIFY_MODEL_SUM_AT, 0xcbf29ce484222325ULL);

    return fnv1a(img + CLASSIFY_MODEL_SUM_AT + 8, len - CLASSIFY_MODEL_SUM_AT - 8, h);
}

void classify_model_seal(unsigned char *img, size_t len)
{
    uint64_t sum = classify_model_checksum(img, len);

    for (int i = 0; i < 8; i++) {
        img[CLASSIFY_MODEL_SUM_AT + i] = (unsigned char)(sum >> (8 * i));
    }
}

float classify_model_log_tf(uint32_t tf)
{
    return 1.0f + logf((float)tf);
}

static unsigned idf_code(float idf, float step)
{
    float c = idf / step;

    return c >= 255.0f ? 255u : c > 0 ? (unsigned)lrintf(c) : 0u;
}

float classify_model_norm_idf(float idf, float step)
{
    return (float)idf_code(idf, step) * step;
}

static uint64_t nonzero(uint64_t k)
{
    return k != 0 ? k : 1;
}

static inline uint64_t bigram_key(uint64_t prev, uint64_t k)
{
    return nonzero(mix64(prev * 0x9E3779B97F4A7C15ULL + k + 0x632BE59BD9B4E019ULL));
}

uint64_t classify_model_title_key(uint64_t key)
{
    return nonzero(mix64(key ^ 0x5bd1e9955bd1e995ULL));
}

/* The key of a stem (CLASSIFY_MODEL_FLAG_STEMS), from the hash of its bytes: apart from the
 * word's own key when the word is its own stem. */
static inline uint64_t stem_key(uint64_t stem_hash)
{
    return nonzero(mix64(stem_hash ^ 0x2545F4914F6CDD1DULL));
}

size_t classify_model_stem_len(const char *s, size_t n)
{
    size_t len = 0;

    for (int c = 0; c < CLASSIFY_MODEL_STEM_CHARS && len < n; c++) {
        len++;
        while (len < n && ((unsigned char)s[len] & 0xC0) == 0x80) {
            len++; /* a continuation byte: the same character */
        }
    }
    return len;
}

static inline bool is_number(const char *s)
{
    return s[0] >= '0' && s[0] <= '9';
}

/*
 * The function words a model with CLASSIFY_MODEL_FLAG_STOPWORDS leaves out: articles,
 * conjunctions, prepositions, pronouns, auxiliaries, a few determiners and adverbs, and the
 * reporting verbs of news copy ("said" is in nearly every wire story). Normalised forms, as the
 * tokenizer writes them. Not "us": "U.S." is written so. The list is part of the feature
 * definition: a model trained with one list must be scored with it, so changing it takes a new
 * header flag. Measured on Reuters (README, "Train your own tagger"): with it the cross-validated
 * figures rise and an article has about half as many distinct features to look up.
 */
static const char *const stopwords[] = {
    "a",      "an",      "the",    "and",     "or",     "but",    "nor",     "if",    "then",
    "than",   "so",      "as",     "at",      "by",     "for",    "from",    "in",    "into",
    "of",     "on",      "onto",   "to",      "with",   "within", "without", "about", "after",
    "before", "between", "during", "through", "under",  "until",  "upon",    "via",   "be",
    "been",   "being",   "am",     "is",      "are",    "was",    "were",    "do",    "does",
    "did",    "have",    "has",    "had",     "having", "will",   "would",   "shall", "should",
    "can",    "could",   "may",    "might",   "must",   "it",     "its",     "he",    "him",
    "his",    "she",     "her",    "hers",    "they",   "them",   "their",   "we",    "our",
    "you",    "your",    "i",      "me",      "my",     "this",   "that",    "these", "those",
    "there",  "here",    "which",  "who",     "whom",   "whose",  "what",    "when",  "where",
    "while",  "why",     "how",    "all",     "any",    "both",   "each",    "other", "some",
    "such",   "no",      "not",    "only",    "own",    "same",   "too",     "very",  "also",
    "just",   "said",    "says",   "say",
};

/* Their token hashes in an open-addressing table (4 KB: stays in L1 while a text is walked). */
#define STOP_SLOTS (512u)
static uint64_t stop_slot[STOP_SLOTS];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void stop_init(void)
{
    for (size_t i = 0; i < sizeof(stopwords) / sizeof(stopwords[0]); i++) {
        uint64_t h = classify_text_hash(stopwords[i], strlen(stopwords[i]));
        uint32_t s = (uint32_t)h & (STOP_SLOTS - 1);

        while (stop_slot[s] != 0 && stop_slot[s] != h) {
            s = (s + 1) & (STOP_SLOTS - 1);
        }
        stop_slot[s] = h;
    }
}

/* A token hash is a stop word's (stop_init() has run); a hash is never 0, an empty slot is. */
static inline bool is_stopword(uint64_t h)
{
    for (uint32_t s = (uint32_t)h & (STOP_SLOTS - 1); stop_slot[s] != 0;
         s = (s + 1) & (STOP_SLOTS - 1)) {
        if (stop_slot[s] == h) {
            return true;
        }
    }
    return false;
}

bool classify_model_stopword(const char *s, size_t n)
{
    pthread_once(&stop_once, stop_init);
    return is_stopword(classify_text_hash(s, n));
}

/*
 * The one walk over a text's features: fn is called for each unigram, then, when stems is set,
 * for its stem, then, from the second word of two in a row, for their bigram; numbers and, when
 * stop is set, stop words are left out and break pairs (stop_init() has run). static inline, so
 * that classify_model_add()'s fn is inlined into it; the trainer's goes through a pointer
 * (classify_model_features()).
 */
static inline void walk_features(const struct classify_tokens *t, bool stop, bool stems,
                                 classify_model_feature_fn fn, void *ctx)
{
    uint64_t prev = 0;
    bool have_prev = false;

    for (size_t i = 0; i < t->len; i++) {
        const char *w = classify_token_norm(t, i);
        uint64_t k = t->tok[i].hash;

        if (is_number(w) || (stop && is_stopword(k))) {
            have_prev = false;
            continue;
        }
        fn(ctx, k, t, i, 1);
        if (stems) {
            size_t n = t->tok[i].norm_len;
            size_t len = classify_model_stem_len(w, n);

            /* A word no longer than a stem is its own: its hash is at hand. */
            fn(ctx, stem_key(len == n ? k : classify_text_hash(w, len)), t, i, 0);
        }
        if (have_prev) {
            fn(ctx, bigram_key(prev, k), t, i - 1, 2);
        }
        prev = k;
        have_prev = true;
    }
}

int classify_model_features(struct classify_tokens *t, const char *text, size_t len, unsigned flags,
                            classify_model_feature_fn fn, void *ctx)
{
    if (classify_tokenize(t, text, len) != 0) {
        return NP_ENOMEM;
    }
    pthread_once(&stop_once, stop_init);
    walk_features(t, (flags & CLASSIFY_MODEL_FLAG_STOPWORDS) != 0,
                  (flags & CLASSIFY_MODEL_FLAG_STEMS) != 0, fn, ctx);
    return 0;
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
    if (n == 0 || !np_utf8_valid((const char *)s, n)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7F) {
            return false;
        }
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
    uint32_t bits;
    float idf_step;
};

static int check_header(const unsigned char *p, size_t len, struct header *h, struct np_err *err)
{
    uint64_t want = 0;

    if (len < 12) {
        return np_err_set(err, NP_EPARSE, "header", "file is %zu bytes, shorter than a header",
                          len);
    }
    if (memcmp(p, CLASSIFY_MODEL_MAGIC, 8) != 0) {
        return np_err_set(err, NP_EPARSE, "magic", "not a newspipe model file");
    }
    h->version = get_u32(p + 8);
    if (h->version != CLASSIFY_MODEL_VERSION) {
        return np_err_set(err, NP_EPARSE, "version",
                          "version %u, this build reads version %d: train the model again with "
                          "this build's newspipe-train",
                          h->version, CLASSIFY_MODEL_VERSION);
    }
    if (len < CLASSIFY_MODEL_HEADER) {
        return np_err_set(err, NP_EPARSE, "header", "file is %zu bytes, shorter than a header",
                          len);
    }
    h->n_tags = get_u32(p + 12);
    h->n_feats = get_u32(p + 16);
    h->n_weights = get_u32(p + 20);
    h->str_len = get_u32(p + 24);
    h->flags = get_u32(p + 28);
    h->checksum = get_u64(p + CLASSIFY_MODEL_SUM_AT);
    h->bits = get_u32(p + 48);
    h->idf_step = get_f32(p + 52);
    if (h->n_tags == 0 || h->n_tags > CLASSIFY_MODEL_MAX_TAGS ||
        h->n_feats >= CLASSIFY_MODEL_MAX_FEATS || (h->flags & ~CLASSIFY_MODEL_FLAGS) != 0 ||
        get_u64(p + 40) != 0) {
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
    if (classify_model_checksum(p, len) != h->checksum) {
        return np_err_set(err, NP_EPARSE, "checksum", "checksum mismatch (corrupt file)");
    }
    if (h->bits < CLASSIFY_MODEL_BUCKET_BITS_MIN || h->bits > CLASSIFY_MODEL_BUCKET_BITS_MAX ||
        !isfinite(h->idf_step) || !(h->idf_step > 0) || get_u64(p + 56) != 0) {
        return np_err_set(err, NP_EPARSE, "header", "bucket bits %u or idf step out of bounds",
                          h->bits);
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
        float bias = get_f32(r);
        float threshold = get_f32(r + 4);

        t->name_off = get_u32(r + 8);
        t->name_len = get_u32(r + 12);
        if (!isfinite(bias) || !isfinite(threshold)) {
            return np_err_set(err, NP_EPARSE, "tags", "tag %u: bias or threshold not finite", i);
        }
        m->cut[i] = threshold - bias;
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

/* Weights: tag and float checked; each tag's largest |weight|. */
static int read_weights(struct classify_model *m, const unsigned char *p, struct np_err *err)
{
    for (uint32_t i = 0; i < m->n_weights; i++) {
        uint32_t tag = get_u32(p + (size_t)i * CLASSIFY_MODEL_W_REC);
        float w = get_f32(p + (size_t)i * CLASSIFY_MODEL_W_REC + 4);

        if (tag >= m->n_tags || !isfinite(w)) {
            return np_err_set(err, NP_EPARSE, "weights", "weight %u has a bad tag or value", i);
        }
        m->w[i].tag = (uint16_t)tag;
        m->w[i].w = w;
        m->tags[tag].wmax = fabsf(w) > m->tags[tag].wmax ? fabsf(w) : m->tags[tag].wmax;
    }
    return 0;
}

/* Counts the features with weights (the records that need memory), before reading them. */
static uint32_t count_weighted(const unsigned char *p, uint32_t n)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < n; i++) {
        k += get_u32(p + (size_t)i * CLASSIFY_MODEL_FEAT_REC + 12) != 0;
    }
    return k;
}

/* The vocabulary, checked, into buckets, features and the records of those with weights. */
static int read_feats(struct classify_model *m, const unsigned char *p, struct np_err *err)
{
    uint64_t prev = 0;
    uint64_t w_off = 0;
    uint32_t nb = (uint32_t)1 << m->bits;
    uint32_t b = 0;
    uint32_t k = 0;

    for (uint32_t i = 0; i < m->n_ents; i++) {
        const unsigned char *r = p + (size_t)i * CLASSIFY_MODEL_FEAT_REC;
        uint64_t key = get_u64(r);
        uint64_t prefix = classify_model_prefix(key, m->bits);
        uint32_t bucket = classify_model_bucket(key, m->bits);
        float idf = get_f32(r + 8);
        uint32_t w_n = get_u32(r + 12);
        uint32_t str_off = get_u32(r + 16);
        uint32_t str_len = get_u32(r + 20);

        if (key == 0 || (i > 0 && prefix <= prev)) {
            return np_err_set(err, NP_EPARSE, "features",
                              "feature %u: key zero or prefix out of order", i);
        }
        if (!isfinite(idf) || idf < 0 || (uint64_t)str_off + str_len > m->str_len ||
            w_off + w_n > m->n_weights || (w_n != 0 && k >= m->n_feats)) {
            return np_err_set(err, NP_EPARSE, "features",
                              "feature %u: value or offset out of bounds", i);
        }
        for (uint32_t j = 1; j < w_n; j++) {
            if (m->w[w_off + j].tag <= m->w[w_off + j - 1].tag) {
                return np_err_set(err, NP_EPARSE, "weights",
                                  "feature %u: weight %u's tag out of order", i, j);
            }
        }
        for (; b <= bucket; b++) { /* buckets up to this one start here */
            m->buckets[b].first = i;
            m->buckets[b].first_w = k;
        }
        m->ents[i] = ((uint32_t)prefix & E_FP_MASK) << 9 | (w_n != 0 ? E_WEIGHTED : 0) |
                     idf_code(idf, m->idf_step);
        if (w_n != 0) {
            m->feats[k].idf = idf;
            m->feats[k].w_off = (uint32_t)w_off;
            m->feats[k].wmax = 0;
            for (uint32_t j = 0; j < w_n; j++) {
                float a = fabsf(m->w[w_off + j].w);
                m->feats[k].wmax = a > m->feats[k].wmax ? a : m->feats[k].wmax;
            }
            m->phrase[k].off = str_off;
            m->phrase[k].len =
                str_len | (np_json_plain(m->strings + str_off, str_len) ? PHRASE_PLAIN : 0);
            k++;
        }
        w_off += w_n;
        prev = prefix;
    }
    if (w_off != m->n_weights) {
        return np_err_set(err, NP_EPARSE, "weights", "%llu weights listed, %u stored",
                          (unsigned long long)w_off, m->n_weights);
    }
    for (; b <= nb; b++) {
        m->buckets[b].first = m->n_ents;
        m->buckets[b].first_w = k;
    }
    m->feats[k].w_off = m->n_weights;
    for (unsigned c = 0; c < 256; c++) {
        m->code_idf[c] = (float)c * m->idf_step;
    }
    for (uint32_t tf = 1; tf < LOG_TF_LUT; tf++) {
        m->log_tf[tf] = classify_model_log_tf(tf);
    }
    return 0;
}

/* The local table of an article's distinct features, with `slots` slots (what it held kept). */
static int grow_local(struct classify_model *m, size_t slots)
{
    struct lslot *l = calloc(slots, sizeof(*l));
    struct lkey *k = realloc(m->keys, slots / 2 * sizeof(*k));
    struct hit *h = NULL;

    if (k != NULL) {
        m->keys = k;
    }
    h = realloc(m->hits, slots / 2 * sizeof(*h));
    if (h != NULL) {
        m->hits = h;
    }
    if (l == NULL || k == NULL || h == NULL) {
        free(l);
        return NP_ENOMEM;
    }
    if (m->gen == 0) {
        m->gen = 1;
    }
    free(m->local);
    m->local = l;
    m->lmask = slots - 1;
    for (size_t i = 0; i < m->n_keys; i++) {
        size_t s = (size_t)m->keys[i].key & m->lmask;

        while (l[s].gen == m->gen) {
            s = (s + 1) & m->lmask;
        }
        l[s].key = m->keys[i].key;
        l[s].gen = m->gen;
        l[s].idx = (uint32_t)i;
    }
    return 0;
}

static int alloc_model(struct classify_model *m)
{
    m->tags = calloc(m->n_tags, sizeof(*m->tags));
    m->buckets = calloc(((size_t)1 << m->bits) + 1, sizeof(*m->buckets));
    m->ents = calloc((size_t)m->n_ents + 1, sizeof(*m->ents));
    m->feats = calloc((size_t)m->n_feats + 1, sizeof(*m->feats));
    m->phrase = calloc((size_t)m->n_feats + 1, sizeof(*m->phrase));
    m->w = calloc((size_t)m->n_weights + 1, sizeof(*m->w));
    m->strings = malloc((size_t)m->str_len + 1);
    m->margin = calloc(m->n_tags, sizeof(*m->margin));
    m->cut = calloc(m->n_tags, sizeof(*m->cut));
    m->given = calloc(m->n_tags, sizeof(*m->given));
    if (m->tags == NULL || m->buckets == NULL || m->ents == NULL || m->feats == NULL ||
        m->phrase == NULL || m->w == NULL || m->strings == NULL || m->margin == NULL ||
        m->cut == NULL || m->given == NULL || grow_local(m, 1024) != 0) {
        return NP_ENOMEM;
    }
    return 0;
}

struct classify_model *classify_model_load_mem(const void *buf, size_t len, struct np_err *err)
{
    const unsigned char *p = buf;
    struct classify_model *m = NULL;
    struct header h = { 0 };
    int rc = check_header(p, len, &h, err);
    size_t tags_at = CLASSIFY_MODEL_HEADER;
    size_t feats_at = tags_at + (size_t)h.n_tags * CLASSIFY_MODEL_TAG_REC;
    size_t w_at = feats_at + (size_t)h.n_feats * CLASSIFY_MODEL_FEAT_REC;
    size_t s_at = w_at + (size_t)h.n_weights * CLASSIFY_MODEL_W_REC;

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
    m->n_ents = h.n_feats;
    m->n_feats = count_weighted(p + feats_at, h.n_feats);
    m->n_weights = h.n_weights;
    m->str_len = h.str_len;
    m->bits = h.bits;
    m->idf_step = h.idf_step;
    m->title = (h.flags & CLASSIFY_MODEL_FLAG_TITLE) != 0;
    m->stop = (h.flags & CLASSIFY_MODEL_FLAG_STOPWORDS) != 0;
    m->stems = (h.flags & CLASSIFY_MODEL_FLAG_STEMS) != 0;
    pthread_once(&stop_once, stop_init);
    m->file_bytes = len;
    if (alloc_model(m) != 0) {
        np_err_set(err, NP_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    memcpy(m->strings, p + s_at, h.str_len);
    m->strings[h.str_len] = '\0';
    if (read_tags(m, p + tags_at, err) != 0 || read_weights(m, p + w_at, err) != 0 ||
        read_feats(m, p + feats_at, err) != 0) {
        goto fail;
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
    st->features = m->n_ents;
    st->weighted = m->n_feats;
    st->weights = m->n_weights;
    st->buckets = (size_t)1 << m->bits;
    st->file_bytes = m->file_bytes;
    st->memory_bytes =
        m->n_tags * (sizeof(*m->tags) + sizeof(*m->cut)) + (st->buckets + 1) * sizeof(*m->buckets) +
        ((size_t)m->n_ents + 1) * sizeof(*m->ents) +
        ((size_t)m->n_feats + 1) * (sizeof(*m->feats) + sizeof(*m->phrase)) +
        m->n_weights * sizeof(*m->w) + m->str_len + (m->lmask + 1) * sizeof(*m->local) +
        (m->lmask + 1) / 2 * (sizeof(*m->keys) + sizeof(*m->hits));
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
    free(m->buckets);
    free(m->ents);
    free(m->feats);
    free(m->phrase);
    free(m->w);
    free(m->strings);
    free(m->margin);
    free(m->cut);
    free(m->given);
    free(m->local);
    free(m->keys);
    free(m->hits);
    classify_tokens_cleanup(&m->toks);
    free(m);
    *mp = NULL;
}

/* ---- scoring ---- */

static float log_tf(const struct classify_model *m, uint32_t tf)
{
    return tf < LOG_TF_LUT ? m->log_tf[tf] : classify_model_log_tf(tf);
}

/* The feature with this key's prefix in bucket range [i, end) (sorted by prefix), or
 * UINT32_MAX; *wf: the bucket's first feature with weights, plus those passed on the way. */
static inline uint32_t match(const struct classify_model *m, uint32_t fp, uint32_t i, uint32_t end,
                             uint32_t *wf)
{
    for (; i < end; i++) {
        uint32_t e = m->ents[i];

        if (E_FP(e) >= fp) {
            return E_FP(e) == fp ? i : UINT32_MAX;
        }
        *wf += (e & E_WEIGHTED) != 0;
    }
    return UINT32_MAX;
}

/* Looks the pending keys up: buckets read (their features prefetched), then matched. */
static void flush_pending(struct classify_model *m)
{
    struct mbucket range[MODEL_PENDING];
    uint32_t end[MODEL_PENDING];
    struct lkey *pend = m->keys + m->n_looked;
    size_t n = m->n_keys - m->n_looked;
    unsigned bits = m->bits;

    for (size_t i = 0; i < n; i++) {
        uint32_t b = classify_model_bucket(pend[i].key, bits);

        range[i] = m->buckets[b];
        end[i] = m->buckets[b + 1].first;
        __builtin_prefetch(&m->ents[range[i].first]);
    }
    for (size_t i = 0; i < n; i++) {
        struct lkey *l = &pend[i];
        uint32_t fp = (uint32_t)classify_model_prefix(l->key, bits) & E_FP_MASK;
        uint32_t wf = range[i].first_w;
        uint32_t ent = match(m, fp, range[i].first, end[i], &wf);

        if (ent == UINT32_MAX) {
            continue;
        }
        l->code = E_CODE(m->ents[ent]) + 1;
        if ((m->ents[ent] & E_WEIGHTED) != 0) {
            l->wf = wf + 1;
            __builtin_prefetch(&m->feats[wf]); /* read when the article ends */
        }
    }
    m->n_looked = m->n_keys;
}

/* Counts a key: a repeat in the local table; a new one there, and queued for the lookup. */
static inline void add_key(struct classify_model *m, uint64_t key)
{
    size_t s = (size_t)key & m->lmask;
    struct lkey *k = NULL;

    for (; m->local[s].gen == m->gen; s = (s + 1) & m->lmask) {
        if (m->local[s].key == key) {
            m->keys[m->local[s].idx].tf++;
            return;
        }
    }
    if ((m->n_keys + 1) * 2 > m->lmask + 1) {
        if (m->oom || grow_local(m, (m->lmask + 1) * 2) != 0) {
            m->oom = true;
            return;
        }
        s = (size_t)key & m->lmask;
        while (m->local[s].gen == m->gen) {
            s = (s + 1) & m->lmask;
        }
    }
    if (m->n_keys - m->n_looked == MODEL_PENDING) {
        flush_pending(m);
    }
    m->local[s].key = key;
    m->local[s].gen = m->gen;
    m->local[s].idx = (uint32_t)m->n_keys;
    k = &m->keys[m->n_keys++];
    k->key = key;
    k->tf = 1;
    k->code = 0;
    k->wf = 0;
    __builtin_prefetch(&m->buckets[classify_model_bucket(key, m->bits)]);
}

/* Margins from the collected hits, then the tags given. */
static void score_hits(struct classify_model *m, float scale)
{
    float *restrict margin = m->margin;
    const struct mweight *restrict w = m->w;

    m->v_max = 0;
    for (uint32_t t = 0; t < m->n_tags; t++) {
        margin[t] = 0;
    }
    for (size_t i = 0; i < m->n_hits; i++) {
        struct hit *h = &m->hits[i];
        float v = h->v;

        h->v = v * scale;
        h->bound *= scale;
        m->v_max = h->bound > m->v_max ? h->bound : m->v_max;
        const struct mweight *k = w + h->w_off;
        const struct mweight *e = w + h->w_end;

        for (; k + 1 < e; k += 2) { /* two at a time: half the loop's own instructions */
            margin[k[0].tag] += v * k[0].w;
            margin[k[1].tag] += v * k[1].w;
        }
        if (k < e) {
            margin[k->tag] += v * k->w;
        }
    }
    m->best = -INFINITY;
    for (uint32_t t = 0; t < m->n_tags; t++) {
        float sum = margin[t] * scale;

        margin[t] = sum - m->cut[t];
        m->best = margin[t] > m->best ? margin[t] : m->best;
        if (sum >= m->cut[t]) {
            struct given *g = &m->given[m->n_given++];

            g->tag = t;
            g->claimed = false;
            g->margin = (double)sum - m->cut[t];
        }
    }
    m->scored = true;
}

int classify_model_begin(struct classify_model *m, size_t text_bytes)
{
    (void)text_bytes;
    m->gen++;
    if (m->gen == 0) { /* wrapped after 2^32 articles: empty every slot once */
        memset(m->local, 0, (m->lmask + 1) * sizeof(*m->local));
        m->gen = 1;
    }
    m->n_keys = 0;
    m->n_looked = 0;
    m->n_hits = 0;
    m->n_given = 0;
    m->scored = false;
    m->oom = false;
    return 0;
}

/* walk_features() callbacks: a key, and a key with its title twin. */
static inline void add_feature(void *ctx, uint64_t key, const struct classify_tokens *t, size_t i,
                               size_t n)
{
    (void)t;
    (void)i;
    (void)n;
    add_key(ctx, key);
}

static inline void add_title_feature(void *ctx, uint64_t key, const struct classify_tokens *t,
                                     size_t i, size_t n)
{
    (void)t;
    (void)i;
    (void)n;
    add_key(ctx, key);
    add_key(ctx, classify_model_title_key(key));
}

/* The features classify_model_features() walks, counted; in the title of a model with title
 * features, each key's title twin too. */
void classify_model_add(struct classify_model *m, const struct classify_tokens *t, bool title)
{
    if (title && m->title) {
        walk_features(t, m->stop, m->stems, add_title_feature, m);
    } else {
        walk_features(t, m->stop, m->stems, add_feature, m);
    }
}

void classify_model_end(struct classify_model *m)
{
    double norm = 0;

    flush_pending(m);
    if (m->oom) { /* some keys could not be counted: no tags rather than wrong ones */
        return;
    }
    for (size_t i = 0; i < m->n_keys; i++) {
        const struct lkey *l = &m->keys[i];
        float lt = 0;
        float nv = 0;

        if (l->code == 0) {
            continue;
        }
        lt = log_tf(m, l->tf);
        nv = lt * m->code_idf[l->code - 1];
        norm += (double)nv * nv;
        if (l->wf != 0) {
            struct hit *h = &m->hits[m->n_hits++];

            h->feat = l->wf - 1;
            h->v = lt * m->feats[h->feat].idf;
            h->bound = h->v * m->feats[h->feat].wmax;
            h->w_off = m->feats[h->feat].w_off;
            h->w_end = m->feats[h->feat + 1].w_off;
            __builtin_prefetch(m->w + h->w_off); /* read by score_hits() */
        }
    }
    score_hits(m, norm > 0 ? (float)(1.0 / sqrt(norm)) : 0.0f);
}

int classify_model_score(struct classify_model *m, const char *const *fields, size_t n)
{
    classify_model_begin(m, 0);
    for (size_t f = 0; f < n; f++) {
        if (fields[f] != NULL && classify_tokenize(&m->toks, fields[f], strlen(fields[f])) != 0) {
            return NP_ENOMEM;
        }
        if (fields[f] != NULL) {
            classify_model_add(m, &m->toks, f == 0);
        }
    }
    classify_model_end(m);
    return m->oom ? NP_ENOMEM : 0;
}

/* The last scored article's entry for tag in given[], NULL when it was not given. */
static struct given *find_given(const struct classify_model *m, int32_t tag)
{
    for (size_t i = 0; tag >= 0 && i < m->n_given; i++) {
        if (m->given[i].tag == (uint32_t)tag) {
            return &m->given[i];
        }
    }
    return NULL;
}

bool classify_model_claim(struct classify_model *m, int32_t tag)
{
    struct given *g = find_given(m, tag);

    if (g != NULL) {
        g->claimed = true;
    }
    return g != NULL;
}

bool classify_model_claimed(const struct classify_model *m, int32_t tag)
{
    const struct given *g = find_given(m, tag);

    return g != NULL && g->claimed;
}

int32_t classify_model_tag_index(const struct classify_model *m, const char *name)
{
    size_t n = strlen(name);

    for (uint32_t t = 0; t < m->n_tags; t++) {
        if (m->tags[t].name_len == n && memcmp(m->tags[t].name, name, n) == 0) {
            return (int32_t)t;
        }
    }
    return -1;
}

bool classify_model_margin(const struct classify_model *m, int32_t tag, double *margin)
{
    if (!m->scored || tag < 0 || (uint32_t)tag >= m->n_tags) {
        return false;
    }
    *margin = m->margin[tag];
    return true;
}

double classify_model_best(const struct classify_model *m)
{
    return m->scored ? m->best : -INFINITY;
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

/* FLOAT_MAX bytes at most: "-" and 15 digits, ".", 4 decimals. */
#define FLOAT_MAX (21)

/* v with 4 decimals at dst, digits by hand (snprintf was a tenth of the model's cost per
 * article). Returns the length. */
static size_t fmt_float(char *dst, double v)
{
    char num[32];
    size_t i = sizeof(num);
    uint64_t units = 0;
    bool neg = v < 0;

    if (!(v > -1e15 && v < 1e15)) {
        dst[0] = '0';
        return 1;
    }
    units = (uint64_t)((neg ? -v : v) * 10000 + 0.5);
    for (int d = 0; d < 4; d++) { /* the decimals, then the whole part, right to left */
        num[--i] = (char)('0' + units % 10);
        units /= 10;
    }
    num[--i] = '.';
    do {
        num[--i] = (char)('0' + units % 10);
        units /= 10;
    } while (units > 0);
    if (neg) {
        num[--i] = '-';
    }
    memcpy(dst, num + i, sizeof(num) - i);
    return sizeof(num) - i;
}

static void put_float(struct np_buf *o, double v)
{
    char num[FLOAT_MAX];

    np_buf_put(o, num, fmt_float(num, v));
}

/* One evidence item, {"phrase":..,"weight":..} after a comma when comma: with a plain phrase
 * (nearly all) in one reservation, without the escaping loop. */
static void put_item(struct np_buf *o, const char *s, uint32_t len, double weight, bool comma)
{
    size_t n = len & PHRASE_LEN;
    char *p = NULL;

    if ((len & PHRASE_PLAIN) == 0 || !np_buf_reserve(o, n + 64)) {
        np_buf_put(o, ",", comma ? 1 : 0);
        np_buf_lit(o, "{\"phrase\":");
        np_json_out_string(o, s, n);
        np_buf_lit(o, ",\"weight\":");
        put_float(o, weight);
        np_buf_lit(o, "}");
        return;
    }
    p = o->p + o->len;
    *p = ',';
    p += comma ? 1 : 0;
    p = np_lit_at(p, "{\"phrase\":\"");
    memcpy(p, s, n);
    p = np_lit_at(p + n, "\",\"weight\":");
    p += fmt_float(p, weight);
    *p++ = '}';
    o->len = (size_t)(p - o->p);
}

/* Tag t's weight among hit i's, 0 when it has none (weights are sorted by tag). */
static inline float weight_of(const struct classify_model *m, const struct hit *h, uint32_t t)
{
    const struct mweight *w = m->w + h->w_off;
    uint32_t n = h->w_end - h->w_off;

    if (n == 0) {
        return 0;
    }
    while (n > 1) { /* the last weight with a tag <= t, without a branch to mispredict */
        uint32_t half = n / 2;

        w = w[half].tag <= t ? w + half : w;
        n -= half;
    }
    return w->tag == t ? w->w : 0;
}

/* Hit h's contribution to tag t's score: its value x its weight for t. */
static inline double contribution(const struct classify_model *m, const struct hit *h, uint32_t t)
{
    return (double)h->v * weight_of(m, h, t);
}

/* An upper bound of h's contribution to a tag whose largest |weight| is wmax: its value x the
 * smaller of its feature's largest |weight| and wmax. */
static inline float tag_bound(const struct hit *h, float wmax)
{
    return h->bound < h->v * wmax ? h->bound : h->v * wmax;
}

/* Adds contribution c of hit i to the best n (at most CLASSIFY_MODEL_EVIDENCE), largest first. */
static void keep_best(size_t *top, double *val, size_t *n, size_t i, double c)
{
    size_t k = 0;

    if (c <= 0 || (*n == CLASSIFY_MODEL_EVIDENCE && c <= val[*n - 1])) {
        return;
    }
    k = *n < CLASSIFY_MODEL_EVIDENCE ? (*n)++ : *n - 1;
    while (k > 0 && val[k - 1] < c) {
        top[k] = top[k - 1];
        val[k] = val[k - 1];
        k--;
    }
    top[k] = i;
    val[k] = c;
}

/* A hit's tag_bound() says whether its weight for the tag can beat the best found: most hits
 * need no search. */
double classify_model_strongest(const struct classify_model *m, int32_t tag)
{
    double best = 0;

    if (!m->scored || tag < 0 || (uint32_t)tag >= m->n_tags) {
        return 0;
    }
    float wmax = m->tags[tag].wmax;

    for (size_t i = 0; i < m->n_hits; i++) {
        const struct hit *h = &m->hits[i];

        if ((double)tag_bound(h, wmax) > best) {
            double c = contribution(m, h, (uint32_t)tag);
            best = c > best ? c : best;
        }
    }
    return best;
}

/*
 * The features with the largest value x weight for tag t, only for the tags written. First the
 * hits whose bound (value x the feature's largest |weight|) is at least a quarter of the largest
 * bound, then the others whose bound (or value x the tag's largest |weight|) could still beat
 * the fifth best: most of an article's hits are words of small value or small weights, whose
 * weight for t need not be looked for.
 */
static void write_evidence(const struct classify_model *m, struct np_buf *o, uint32_t t)
{
    size_t top[CLASSIFY_MODEL_EVIDENCE];
    double val[CLASSIFY_MODEL_EVIDENCE];
    size_t n = 0;
    float strong = m->v_max / 4;
    float wmax = m->tags[t].wmax;

    for (size_t i = 0; i < m->n_hits; i++) {
        if (m->hits[i].bound >= strong) {
            keep_best(top, val, &n, i, contribution(m, &m->hits[i], t));
        }
    }
    for (size_t i = 0; i < m->n_hits; i++) {
        const struct hit *h = &m->hits[i];

        if (h->bound < strong && (n < CLASSIFY_MODEL_EVIDENCE ||
                                  (double)tag_bound(h, wmax) > val[CLASSIFY_MODEL_EVIDENCE - 1])) {
            keep_best(top, val, &n, i, contribution(m, h, t));
        }
    }
    np_buf_lit(o, "[");
    for (size_t k = 0; k < n; k++) {
        const struct mphrase *ph = &m->phrase[m->hits[top[k]].feat];

        put_item(o, m->strings + ph->off, ph->len, val[k], k > 0);
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
