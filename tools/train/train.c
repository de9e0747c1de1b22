/* train.c - newspipe-train: learn a tagger (one linear model per tag) from labelled articles
 *
 * Input: JSON lines, one article per line: "title", "body", "summary", "background",
 * "insights" (strings, each optional) and the tags, an array of strings under o->labels. A line
 * that is not such an object, or whose fields hold no text at all, is reported with its number
 * and the reason, and skipped: an article with no text has no features to learn from, and ingest
 * refuses it (54 lines of reuters-train.jsonl lost their text on the way to JSON; counted, they
 * were 42 top-10 tags no tagger can find).
 *
 * Features are those classify_model_features() defines (unigrams and bigrams of the rules'
 * normalised tokens, numbers and, unless --keep-stop-words, function words left out; unless
 * --no-stems, each word's first four characters, a crude stem; the header flags say which), and
 * (unless --no-title-features) those of the title once more as title twins
 * (classify_model_title_key(), phrase "title: ..."), so a headline word weighs apart from the same
 * word in the body; kept when they occur in at least min_df articles; value (1 + ln tf) x idf with
 * idf = ln((N + 1) / (df + 1)) + 1, divided by the article's norm, sqrt(sum of ((1 + ln tf) x
 * idf)^2) with each idf rounded to one of 255 steps (classify_model_norm_idf()). An article's key
 * is the vocabulary feature with the same key prefix (classify_model_prefix()), as in classify; of
 * two features with one prefix (about one in 10^5 models) the first is kept. The vocabulary and idf
 * come from all articles (no labels involved), also in cross-validation.
 *
 * Per tag, one L2-regularised linear SVM with hinge loss (L1-loss; --loss squared-hinge for the
 * L2-loss SVM) and a bias term, solved by dual coordinate descent (Hsieh et al., ICML 2008) with
 * shrinking. This is our own solver rather than Debian's liblinear: liblinear draws its
 * coordinate order from the C library's rand(), shared state that makes results depend on
 * thread timing; here every (tag, fold) problem has its own generator seeded from --seed, so a
 * run is the same on 1 or N threads.
 *
 * Thresholds: k-fold cross-validation gives every article an out-of-fold margin per tag. The
 * tag's threshold is the margin cut that maximises F1 over those out-of-fold margins. The
 * figures printed are honest about that choice: fold j is scored with a threshold chosen on
 * the other folds' out-of-fold margins only, never on its own labels.
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>

#include <jansson.h>

#include "classify_model.h"
#include "classify_text.h"
#include "np/buf.h"
#include "np/err.h"

#define N_FIELDS  (5)
#define MAX_ITER  (1000)
#define SOLVE_EPS (0.1)
#define FBR       (0.3) /* below this cross-validated F1, a tag keeps threshold 0 */

/* The text fields of a line, in the order their features are read; the title first. */
static const char *const fields[N_FIELDS] = { "title", "summary", "body", "background",
                                              "insights" };

/* ---- growable arrays ---- */

#define GROW(arr, len, cap, ok)                                                                    \
    do {                                                                                           \
        if ((len) == (cap)) {                                                                      \
            size_t c_ = (cap) ? (cap)*2 : 64;                                                      \
            void *p_ = realloc((arr), c_ * sizeof(*(arr)));                                        \
            if (p_ == NULL) {                                                                      \
                (ok) = false;                                                                      \
            } else {                                                                               \
                (arr) = p_;                                                                        \
                (cap) = c_;                                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* A vocabulary entry while reading: key, document frequency, phrase. */
struct vent {
    uint64_t key;
    uint32_t df;
    uint32_t last_doc; /* doc index + 1 of the last article counted in df */
    uint32_t str_off;
    uint32_t str_len;
    uint32_t id; /* feature id once chosen, UINT32_MAX when dropped */
};

struct tagent {
    char *name; /* owned */
    uint32_t positives;
    uint32_t rank; /* tags sorted by size, largest first */
};

struct data {
    /* Articles: per doc its raw keys first, then its feature vector. */
    size_t n_docs;
    size_t docs_cap;
    size_t *key_off; /* n_docs + 1 */
    uint64_t *keys;  /* raw feature keys, all docs back to back */
    size_t n_keys;
    size_t keys_cap;
    uint32_t *lab_off; /* n_docs + 1 */
    uint32_t *labs;    /* tag ids */
    size_t n_labs;
    size_t labs_cap;

    /* Vocabulary: open addressing on key. */
    struct vent *voc;
    size_t voc_mask;
    size_t voc_len;
    struct np_buf str; /* the phrases of the vocabulary, back to back */

    struct tagent *tags;
    size_t n_tags;
    size_t tags_cap;

    /* Chosen features, sorted by key. */
    struct vent *feat; /* owned copies of the chosen voc entries */
    uint32_t n_feats;
    float *idf;

    /* The model file's vocabulary lookup (classify_model_prefix()) and norm idf step. */
    unsigned bits;
    float idf_step;

    /* Feature vectors (CSR). */
    size_t *x_off; /* n_docs + 1 */
    uint32_t *x_idx;
    float *x_val;
    double *xx; /* per doc: x.x */

    struct classify_tokens toks;
    bool twin; /* the feature being added is a title twin */
    bool oom;
};

/* ---- reading ---- */

static int voc_grow(struct data *d)
{
    size_t cap = d->voc_mask ? (d->voc_mask + 1) * 2 : 1 << 16;
    struct vent *v = calloc(cap, sizeof(*v));

    if (v == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; d->voc != NULL && i <= d->voc_mask; i++) {
        if (d->voc[i].key != 0) {
            size_t s = d->voc[i].key & (cap - 1);
            while (v[s].key != 0) {
                s = (s + 1) & (cap - 1);
            }
            v[s] = d->voc[i];
        }
    }
    free(d->voc);
    d->voc = v;
    d->voc_mask = cap - 1;
    return 0;
}

static struct vent *voc_find(const struct data *d, uint64_t key)
{
    size_t s = key & d->voc_mask;

    while (d->voc[s].key != 0 && d->voc[s].key != key) {
        s = (s + 1) & d->voc_mask;
    }
    return &d->voc[s];
}

static void add_str(struct data *d, const char *s, size_t n)
{
    np_buf_put(&d->str, s, n);
    d->oom = d->oom || d->str.failed;
}

static void on_feature(void *ctx, uint64_t key, const struct classify_tokens *t, size_t i, size_t n)
{
    struct data *d = ctx;
    struct vent *v = NULL;
    bool ok = true;

    if (d->oom) {
        return;
    }
    GROW(d->keys, d->n_keys, d->keys_cap, ok);
    if (!ok || ((d->voc_len + 1) * 2 > d->voc_mask + 1 && voc_grow(d) != 0)) {
        d->oom = true;
        return;
    }
    d->keys[d->n_keys++] = key;
    v = voc_find(d, key);
    if (v->key == 0) {
        v->key = key;
        v->str_off = (uint32_t)d->str.len;
        if (d->twin) {
            add_str(d, "title: ", 7);
        }
        if (n == 0) { /* a stem, written "acqu*" */
            const char *w = classify_token_norm(t, i);

            add_str(d, w, classify_model_stem_len(w, t->tok[i].norm_len));
            add_str(d, "*", 1);
        } else {
            add_str(d, classify_token_norm(t, i), t->tok[i].norm_len);
        }
        if (n == 2) {
            add_str(d, " ", 1);
            add_str(d, classify_token_norm(t, i + 1), t->tok[i + 1].norm_len);
        }
        v->str_len = (uint32_t)(d->str.len - v->str_off);
        d->voc_len++;
    }
    if (v->last_doc != d->n_docs + 1) {
        v->last_doc = (uint32_t)d->n_docs + 1;
        v->df++;
    }
}

/* A feature of the title: itself and its title twin (phrase "title: ..."). */
static void on_title_feature(void *ctx, uint64_t key, const struct classify_tokens *t, size_t i,
                             size_t n)
{
    struct data *d = ctx;

    on_feature(ctx, key, t, i, n);
    d->twin = true;
    on_feature(ctx, classify_model_title_key(key), t, i, n);
    d->twin = false;
}

static uint32_t tag_id(struct data *d, const char *name)
{
    bool ok = true;

    for (size_t i = 0; i < d->n_tags; i++) {
        if (strcmp(d->tags[i].name, name) == 0) {
            return (uint32_t)i;
        }
    }
    GROW(d->tags, d->n_tags, d->tags_cap, ok);
    if (!ok || (d->tags[d->n_tags].name = strdup(name)) == NULL) {
        d->oom = true;
        return UINT32_MAX;
    }
    d->tags[d->n_tags].positives = 0;
    return (uint32_t)d->n_tags++;
}

/* The model file's header flags, which also say how its features are read. */
static unsigned model_flags(const struct train_opts *o)
{
    return (o->title_features ? CLASSIFY_MODEL_FLAG_TITLE : 0) |
           (o->stopwords ? CLASSIFY_MODEL_FLAG_STOPWORDS : 0) |
           (o->stems ? CLASSIFY_MODEL_FLAG_STEMS : 0);
}

/* True when s is empty or only ASCII white space. */
static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n\f\v")] == '\0';
}

/* Checks one parsed line; returns NULL when it is usable, else why not (static text). */
static const char *check_line(const json_t *root, const char *labels, char *why, size_t cap)
{
    const json_t *tags = json_object_get(root, labels);
    size_t i = 0;
    const json_t *t = NULL;
    bool text = false;

    if (!json_is_object(root)) {
        return "not a JSON object";
    }
    for (size_t f = 0; f < N_FIELDS; f++) {
        const json_t *v = json_object_get(root, fields[f]);
        if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
            snprintf(why, cap, "%s: must be a string", fields[f]);
            return why;
        }
        text = text || (json_is_string(v) && !blank(json_string_value(v)));
    }
    if (!text) {
        return "no text: title, summary, body, background and insights are empty or absent";
    }
    if (tags == NULL) {
        snprintf(why, cap, "%s: missing (an array of tags, [] for none)", labels);
        return why;
    }
    if (!json_is_array(tags)) {
        snprintf(why, cap, "%s: must be an array of strings", labels);
        return why;
    }
    json_array_foreach(tags, i, t)
    {
        if (!json_is_string(t) || json_string_length(t) == 0) {
            snprintf(why, cap, "%s[%zu]: must be a non-empty string", labels, i);
            return why;
        }
        for (const char *c = json_string_value(t); *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7F) {
                snprintf(why, cap, "%s[%zu]: a tag name has no control characters", labels, i);
                return why;
            }
        }
        if (json_string_length(t) != strlen(json_string_value(t))) {
            snprintf(why, cap, "%s[%zu]: a tag name has no NUL character", labels, i);
            return why;
        }
    }
    return NULL;
}

/* Adds one valid article: its feature keys and its tags. */
static int add_doc(struct data *d, const json_t *root, const char *labels, unsigned flags)
{
    const json_t *tags = json_object_get(root, labels);
    const json_t *t = NULL;
    size_t i = 0;
    bool ok = true;

    if (d->n_docs + 1 >= d->docs_cap) {
        size_t c = d->docs_cap ? d->docs_cap * 2 : 1024;
        size_t *ko = realloc(d->key_off, c * sizeof(*ko));
        uint32_t *lo = ko != NULL ? realloc(d->lab_off, c * sizeof(*lo)) : NULL;

        if (ko != NULL) {
            d->key_off = ko;
        }
        if (lo == NULL) {
            return NP_ENOMEM;
        }
        d->lab_off = lo;
        d->docs_cap = c;
    }
    d->key_off[d->n_docs] = d->n_keys;
    d->lab_off[d->n_docs] = (uint32_t)d->n_labs;
    for (size_t f = 0; f < N_FIELDS; f++) {
        const json_t *v = json_object_get(root, fields[f]);

        if (json_is_string(v) &&
            classify_model_features(
                &d->toks, json_string_value(v), json_string_length(v), flags,
                f == 0 && (flags & CLASSIFY_MODEL_FLAG_TITLE) != 0 ? on_title_feature : on_feature,
                d) != 0) {
            return NP_ENOMEM;
        }
    }
    json_array_foreach(tags, i, t)
    {
        uint32_t id = tag_id(d, json_string_value(t));
        bool dup = false;

        if (id == UINT32_MAX) {
            return NP_ENOMEM;
        }
        for (size_t k = d->lab_off[d->n_docs]; k < d->n_labs; k++) {
            dup = dup || d->labs[k] == id;
        }
        if (dup) {
            continue;
        }
        GROW(d->labs, d->n_labs, d->labs_cap, ok);
        if (!ok) {
            return NP_ENOMEM;
        }
        d->labs[d->n_labs++] = id;
        d->tags[id].positives++;
    }
    d->n_docs++;
    d->key_off[d->n_docs] = d->n_keys;
    d->lab_off[d->n_docs] = (uint32_t)d->n_labs;
    return d->oom ? NP_ENOMEM : 0;
}

/* Reads one input; returns 0, or NP_EIO / NP_ENOMEM. *bad counts the lines skipped. */
static int read_input(struct data *d, const char *path, const struct train_opts *o, size_t *bad,
                      FILE *errout)
{
    const char *labels = o->labels;
    bool use_stdin = strcmp(path, "-") == 0;
    FILE *in = use_stdin ? stdin : fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 0;
    int rc = 0;

    if (in == NULL) {
        fprintf(errout, "cannot open \"%s\": %s\n", path, strerror(errno));
        return NP_EIO;
    }
    for (;;) {
        ssize_t n = getline(&line, &cap, in);
        json_error_t jerr;
        json_t *root = NULL;
        const char *why = NULL;
        char whybuf[256];

        if (n < 0) {
            break;
        }
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)n) {
            continue;
        }
        root = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
            snprintf(whybuf, sizeof(whybuf), "not JSON: %.200s", jerr.text);
            why = whybuf;
        } else {
            why = check_line(root, labels, whybuf, sizeof(whybuf));
        }
        if (why != NULL) {
            fprintf(errout, "%s:%zu: skipped: %s\n", path, lineno, why);
            (*bad)++;
        } else {
            rc = add_doc(d, root, labels, model_flags(o));
        }
        json_decref(root);
        if (rc != 0) {
            fprintf(errout, "%s:%zu: out of memory\n", path, lineno);
            break;
        }
    }
    /* getline() also stops short of the end when a line does not fit in memory (ENOMEM),
     * without setting the stream's error flag: the rest of the file must not vanish quietly. */
    if (rc == 0 && (ferror(in) || !feof(in))) {
        fprintf(errout, "could not read \"%s\" after line %zu: %s\n", path, lineno,
                strerror(errno));
        rc = NP_EIO;
    }
    free(line);
    if (!use_stdin) {
        fclose(in);
    }
    return rc;
}

/* ---- feature vectors ---- */

static int cmp_vent_key(const void *a, const void *b)
{
    const struct vent *x = a;
    const struct vent *y = b;

    return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * Bucket bits (about four features a bucket) and the norm's idf step (the largest idf in 255
 * steps), then features that share a prefix with the one before them dropped.
 */
static void lookup_params(struct data *d)
{
    float max = 0;
    size_t n = 0;

    d->bits = CLASSIFY_MODEL_BUCKET_BITS_MIN;
    while (d->bits < CLASSIFY_MODEL_BUCKET_BITS_MAX && ((size_t)4 << d->bits) < d->n_feats) {
        d->bits++;
    }
    for (uint32_t i = 0; i < d->n_feats; i++) {
        max = d->idf[i] > max ? d->idf[i] : max;
    }
    d->idf_step = max > 0 ? max / 255.0f : 1.0f;
    for (uint32_t i = 0; i < d->n_feats; i++) {
        if (n > 0 && classify_model_prefix(d->feat[i].key, d->bits) ==
                         classify_model_prefix(d->feat[n - 1].key, d->bits)) {
            continue;
        }
        d->feat[n] = d->feat[i];
        d->idf[n++] = d->idf[i];
    }
    d->n_feats = (uint32_t)n;
}

static int choose_features(struct data *d, const struct train_opts *o)
{
    size_t n = 0;

    d->feat = malloc((d->voc_len + 1) * sizeof(*d->feat));
    if (d->feat == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i <= d->voc_mask; i++) {
        struct vent *v = &d->voc[i];
        if (v->key != 0) {
            v->id = UINT32_MAX;
            if (v->df >= o->min_df) {
                d->feat[n++] = *v;
            }
        }
    }
    qsort(d->feat, n, sizeof(*d->feat), cmp_vent_key);
    d->n_feats = (uint32_t)n;
    d->idf = malloc((n + 1) * sizeof(*d->idf));
    if (d->idf == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        d->idf[i] = o->weighting == TRAIN_LOG_TF
                        ? 1.0f
                        : (float)(log((double)(d->n_docs + 1) / (d->feat[i].df + 1)) + 1.0);
    }
    lookup_params(d);
    for (uint32_t i = 0; i < d->n_feats; i++) {
        d->feat[i].id = i;
        voc_find(d, d->feat[i].key)->id = i;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The feature with key's prefix (classify_model_prefix()), or UINT32_MAX. */
static uint32_t feature_of(const struct data *d, uint64_t key)
{
    uint32_t id = voc_find(d, key)->id;
    uint64_t want = classify_model_prefix(key, d->bits);
    size_t lo = 0;
    size_t hi = d->n_feats;

    if (id != UINT32_MAX) {
        return id;
    }
    /* Not a feature itself: another key may still share a feature's prefix. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (classify_model_prefix(d->feat[mid].key, d->bits) < want) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < d->n_feats && classify_model_prefix(d->feat[lo].key, d->bits) == want ? (uint32_t)lo
                                                                                      : UINT32_MAX;
}

/* Turns every article's keys into its normalised (feature id, value) vector. */
static int vectorize(struct data *d)
{
    size_t nnz = 0;
    uint32_t *ids = malloc((d->n_keys + 1) * sizeof(*ids));

    d->x_off = malloc((d->n_docs + 1) * sizeof(*d->x_off));
    d->x_idx = malloc((d->n_keys + 1) * sizeof(*d->x_idx));
    d->x_val = malloc((d->n_keys + 1) * sizeof(*d->x_val));
    d->xx = malloc((d->n_docs + 1) * sizeof(*d->xx));
    if (ids == NULL || d->x_off == NULL || d->x_idx == NULL || d->x_val == NULL || d->xx == NULL) {
        free(ids);
        return NP_ENOMEM;
    }
    for (size_t doc = 0; doc < d->n_docs; doc++) {
        size_t m = 0;
        size_t start = nnz;
        double norm = 0;

        for (size_t k = d->key_off[doc]; k < d->key_off[doc + 1]; k++) {
            uint32_t id = feature_of(d, d->keys[k]);
            if (id != UINT32_MAX) {
                ids[m++] = id;
            }
        }
        qsort(ids, m, sizeof(*ids), cmp_u32);
        d->x_off[doc] = nnz;
        for (size_t i = 0; i < m;) {
            size_t j = i;
            float lt = 0;
            float nv = 0;

            while (j < m && ids[j] == ids[i]) {
                j++;
            }
            lt = classify_model_log_tf((uint32_t)(j - i));
            nv = lt * classify_model_norm_idf(d->idf[ids[i]], d->idf_step);
            norm += (double)nv * nv;
            d->x_idx[nnz] = ids[i];
            d->x_val[nnz++] = lt * d->idf[ids[i]];
            i = j;
        }
        norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
        d->xx[doc] = 0;
        for (size_t i = start; i < nnz; i++) {
            d->x_val[i] = d->x_val[i] * (float)norm;
            d->xx[doc] += (double)d->x_val[i] * d->x_val[i];
        }
    }
    d->x_off[d->n_docs] = nnz;
    free(ids);
    return 0;
}

/* ---- solver ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Per-thread scratch for one binary problem. */
struct solver {
    double *w; /* n_feats + 1: the last is the bias */
    double *alpha;
    uint32_t *active;
    signed char *y;
};

static double dot(const struct data *d, const double *w, size_t doc)
{
    double s = w[d->n_feats]; /* bias feature 1 */

    for (size_t k = d->x_off[doc]; k < d->x_off[doc + 1]; k++) {
        s += w[d->x_idx[k]] * d->x_val[k];
    }
    return s;
}

static void axpy(const struct data *d, double *w, size_t doc, double a)
{
    w[d->n_feats] += a;
    for (size_t k = d->x_off[doc]; k < d->x_off[doc + 1]; k++) {
        w[d->x_idx[k]] += a * d->x_val[k];
    }
}

/*
 * Dual coordinate descent (Hsieh et al. 2008) for min 1/2 |w|^2 + C sum loss(y w.x) over the
 * articles docs[0..n) (labels in s->y, indexed by article), loss max(0, 1 - m) (hinge: each
 * dual variable in [0, C]) or its square (no upper bound, C's part moved to the diagonal).
 * Leaves w in s->w.
 */
static void solve(const struct data *d, struct solver *s, const uint32_t *docs, size_t n, double c,
                  enum train_loss loss, uint64_t seed)
{
    double diag = loss == TRAIN_HINGE ? 0 : 0.5 / c;
    double upper = loss == TRAIN_HINGE ? c : HUGE_VAL;
    double pg_max_old = HUGE_VAL;
    double pg_min_old = -HUGE_VAL;
    size_t active = n;
    uint64_t rng = seed | 1;

    memset(s->w, 0, (d->n_feats + 1) * sizeof(*s->w));
    for (size_t i = 0; i < n; i++) {
        s->alpha[i] = 0;
        s->active[i] = (uint32_t)i;
    }
    for (int iter = 0; iter < MAX_ITER; iter++) {
        double pg_max = -HUGE_VAL;
        double pg_min = HUGE_VAL;

        for (size_t i = 0; i + 1 < active; i++) {
            size_t j = i + (size_t)(rng_next(&rng) % (active - i));
            uint32_t t = s->active[i];
            s->active[i] = s->active[j];
            s->active[j] = t;
        }
        for (size_t k = 0; k < active; k++) {
            uint32_t i = s->active[k];
            size_t doc = docs[i];
            double yi = s->y[doc];
            double g = yi * dot(d, s->w, doc) - 1 + diag * s->alpha[i];
            double pg = g;
            double qii = 1.0 + diag + d->xx[doc]; /* 1.0: the bias feature */
            bool shrink = false;

            /* At a bound with the gradient pushing outwards: projected gradient 0, and when it
             * pushes harder than the last sweep's extremes, out of the active set for now. */
            if (s->alpha[i] == 0) {
                shrink = g > pg_max_old;
                pg = g < 0 ? g : 0;
            } else if (s->alpha[i] >= upper) {
                shrink = g < pg_min_old;
                pg = g > 0 ? g : 0;
            }
            if (shrink) {
                active--;
                s->active[k] = s->active[active];
                s->active[active] = i;
                k--;
                continue;
            }
            pg_max = pg > pg_max ? pg : pg_max;
            pg_min = pg < pg_min ? pg : pg_min;
            if (fabs(pg) > 1e-12) {
                double old = s->alpha[i];

                s->alpha[i] = fmin(fmax(old - g / qii, 0.0), upper);
                axpy(d, s->w, doc, (s->alpha[i] - old) * yi);
            }
        }
        if (pg_max - pg_min <= SOLVE_EPS) {
            if (active == n) {
                break;
            }
            active = n;
            pg_max_old = HUGE_VAL;
            pg_min_old = -HUGE_VAL;
            continue;
        }
        pg_max_old = pg_max > 0 ? pg_max : HUGE_VAL;
        pg_min_old = pg_min < 0 ? pg_min : -HUGE_VAL;
    }
}

/* ---- training every tag, in threads ---- */

struct tag_model {
    double bias;
    uint32_t *feat; /* owned: features with a stored weight, ascending */
    float *w;       /* owned */
    size_t n;
};

struct work {
    const struct data *d;
    const struct train_opts *o;
    unsigned folds;
    uint32_t *fold_of;    /* per doc */
    uint32_t **train_set; /* per fold: docs outside it; [folds]: all docs */
    size_t *train_n;
    uint32_t *order; /* tags, largest first */
    size_t n_jobs;   /* tags to train */
    float *oof;      /* n_tags x n_docs out-of-fold margins */
    struct tag_model *models;
    pthread_mutex_t lock;
    size_t next;
    bool failed;
};

static int keep_weights(const struct work *wk, const double *w, struct tag_model *m)
{
    const struct data *d = wk->d;
    size_t n = 0;

    for (uint32_t f = 0; f < d->n_feats; f++) {
        n += fabs(w[f]) >= wk->o->prune && w[f] != 0;
    }
    m->bias = w[d->n_feats];
    m->feat = malloc((n + 1) * sizeof(*m->feat));
    m->w = malloc((n + 1) * sizeof(*m->w));
    if (m->feat == NULL || m->w == NULL) {
        return NP_ENOMEM;
    }
    for (uint32_t f = 0; f < d->n_feats; f++) {
        if (fabs(w[f]) >= wk->o->prune && w[f] != 0) {
            m->feat[m->n] = f;
            m->w[m->n++] = (float)w[f];
        }
    }
    return 0;
}

static int train_tag(struct work *wk, struct solver *s, uint32_t t)
{
    const struct data *d = wk->d;
    uint64_t base =
        (uint64_t)wk->o->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)t * 0x632BE59BD9B4E019ULL;

    for (size_t doc = 0; doc < d->n_docs; doc++) {
        s->y[doc] = -1;
        for (uint32_t k = d->lab_off[doc]; k < d->lab_off[doc + 1]; k++) {
            if (d->labs[k] == t) {
                s->y[doc] = 1;
            }
        }
    }
    for (unsigned k = 0; k < wk->folds; k++) {
        solve(d, s, wk->train_set[k], wk->train_n[k], wk->o->c, wk->o->loss, base + k + 1);
        /* Pruned as the model file will be, so thresholds and figures are those of what ships. */
        for (uint32_t f = 0; f < d->n_feats; f++) {
            s->w[f] = fabs(s->w[f]) >= wk->o->prune ? s->w[f] : 0;
        }
        for (size_t doc = 0; doc < d->n_docs; doc++) {
            if (wk->fold_of[doc] == k) {
                wk->oof[(size_t)t * d->n_docs + doc] = (float)dot(d, s->w, doc);
            }
        }
    }
    solve(d, s, wk->train_set[wk->folds], wk->train_n[wk->folds], wk->o->c, wk->o->loss, base);
    return keep_weights(wk, s->w, &wk->models[t]);
}

static void *worker(void *arg)
{
    struct work *wk = arg;
    const struct data *d = wk->d;
    struct solver s = { 0 };

    s.w = malloc((d->n_feats + 1) * sizeof(*s.w));
    s.alpha = malloc((d->n_docs + 1) * sizeof(*s.alpha));
    s.active = malloc((d->n_docs + 1) * sizeof(*s.active));
    s.y = malloc(d->n_docs + 1);
    if (s.w == NULL || s.alpha == NULL || s.active == NULL || s.y == NULL) {
        pthread_mutex_lock(&wk->lock);
        wk->failed = true;
        pthread_mutex_unlock(&wk->lock);
        goto out;
    }
    for (;;) {
        size_t j = 0;

        pthread_mutex_lock(&wk->lock);
        j = wk->failed ? wk->n_jobs : wk->next++;
        pthread_mutex_unlock(&wk->lock);
        if (j >= wk->n_jobs) {
            break;
        }
        if (train_tag(wk, &s, wk->order[j]) != 0) {
            pthread_mutex_lock(&wk->lock);
            wk->failed = true;
            pthread_mutex_unlock(&wk->lock);
        }
    }
out:
    free(s.w);
    free(s.alpha);
    free(s.active);
    free(s.y);
    return NULL;
}

static int run_workers(struct work *wk, unsigned threads)
{
    pthread_t tid[64];
    unsigned started = 0;

    if (threads > 64) {
        threads = 64;
    }
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&tid[i], NULL, worker, wk) != 0) {
            break;
        }
        started++;
    }
    if (started == 0) {
        worker(wk);
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
    }
    return wk->failed ? NP_ENOMEM : 0;
}

/* ---- thresholds and figures ---- */

struct pair {
    float score;
    signed char y;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a;
    const struct pair *y = b;

    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return y->y - x->y; /* negatives first among ties: no cut between equal scores anyway */
}

/* The margin cut with the best F1 over pairs[0..n) (0 when that F1 is below FBR). */
static float best_threshold(struct pair *pairs, size_t n)
{
    size_t pos = 0;
    size_t tp = 0;
    size_t best_j = 0;
    double best = 0;

    qsort(pairs, n, sizeof(*pairs), cmp_pair);
    for (size_t i = 0; i < n; i++) {
        pos += pairs[i].y > 0;
    }
    for (size_t j = 1; j <= n; j++) {
        double f1 = 0;

        tp += pairs[j - 1].y > 0;
        f1 = 2.0 * (double)tp / (double)(j + pos);
        /* Cut only between different scores. */
        if (f1 > best && (j == n || pairs[j].score < pairs[j - 1].score)) {
            best = f1;
            best_j = j;
        }
    }
    /*
     * A cut that finds positives only at a poor F1 (a tag with a handful of articles) would
     * mostly add false positives on new text: keep the SVM's own cut, 0, instead.
     */
    if (best_j == 0 || best < FBR) {
        return 0.0f;
    }
    if (best_j == n) {
        return pairs[n - 1].score - 1e-4f;
    }
    return (pairs[best_j - 1].score + pairs[best_j].score) / 2;
}

static bool has_tag(const struct data *d, size_t doc, uint32_t t)
{
    for (uint32_t k = d->lab_off[doc]; k < d->lab_off[doc + 1]; k++) {
        if (d->labs[k] == t) {
            return true;
        }
    }
    return false;
}

struct counts {
    size_t tp;
    size_t fp;
    size_t fn;
};

/*
 * For tag t: the final threshold (from every article's out-of-fold margin) in *thr, and the
 * cross-validated counts, fold k judged with the threshold chosen on the other folds.
 */
static void tag_figures(const struct work *wk, uint32_t t, struct pair *pairs, float *thr,
                        struct counts *c)
{
    const struct data *d = wk->d;
    const float *oof = wk->oof + (size_t)t * d->n_docs;

    memset(c, 0, sizeof(*c));
    for (size_t doc = 0; doc < d->n_docs; doc++) {
        pairs[doc].score = oof[doc];
        pairs[doc].y = has_tag(d, doc, t) ? 1 : -1;
    }
    *thr = best_threshold(pairs, d->n_docs);
    for (unsigned k = 0; k < wk->folds; k++) {
        size_t n = 0;
        float tk = 0;

        for (size_t doc = 0; doc < d->n_docs; doc++) {
            if (wk->fold_of[doc] != k) {
                pairs[n].score = oof[doc];
                pairs[n++].y = has_tag(d, doc, t) ? 1 : -1;
            }
        }
        tk = best_threshold(pairs, n);
        for (size_t doc = 0; doc < d->n_docs; doc++) {
            if (wk->fold_of[doc] == k) {
                bool want = has_tag(d, doc, t);
                bool got = oof[doc] >= tk;
                c->tp += want && got;
                c->fp += !want && got;
                c->fn += want && !got;
            }
        }
    }
}

static double f1_of(const struct counts *c)
{
    size_t den = 2 * c->tp + c->fp + c->fn;

    return den > 0 ? 2.0 * (double)c->tp / (double)den : 0.0;
}

/* True when tag name is in the comma-separated list (NULL: every tag). */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    if (list == NULL) {
        return true;
    }
    for (const char *p = list; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

        if (len == n && memcmp(p, name, n) == 0) {
            return true;
        }
        p += len + (e != NULL);
    }
    return false;
}

/* Prints the per-tag table and the micro/macro figures over the scored tags. */
static void report(const struct work *wk, const struct counts *cnt, const float *thr, FILE *out)
{
    const struct data *d = wk->d;
    const struct train_opts *o = wk->o;
    struct counts micro = { 0 };
    struct counts top = { 0 };
    double macro = 0;
    size_t n_scored = 0;
    size_t n_top = 0;

    if (o->per_tag) {
        fprintf(out, "%-24s %8s %9s %7s %7s %9s\n", "tag", "articles", "precision", "recall", "F1",
                "threshold");
    }
    for (size_t j = 0; j < wk->n_jobs; j++) {
        uint32_t t = wk->order[j];
        const struct counts *c = &cnt[t];

        if (!in_list(o->score_tags, d->tags[t].name)) {
            continue;
        }
        n_scored++;
        micro.tp += c->tp;
        micro.fp += c->fp;
        micro.fn += c->fn;
        macro += f1_of(c);
        if (n_top < o->top) {
            n_top++;
            top.tp += c->tp;
            top.fp += c->fp;
            top.fn += c->fn;
        }
        if (o->per_tag) {
            fprintf(
                out, "%-24s %8u %9.3f %7.3f %7.3f %9.3f\n", d->tags[t].name, d->tags[t].positives,
                c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : 0.0,
                c->tp + c->fn ? (double)c->tp / (double)(c->tp + c->fn) : 0.0, f1_of(c), thr[t]);
        }
    }
    if (o->score_tags != NULL) {
        for (const char *p = o->score_tags; *p != '\0';) {
            const char *e = strchr(p, ',');
            size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
            bool found = false;

            for (size_t j = 0; j < wk->n_jobs && !found; j++) {
                const char *name = d->tags[wk->order[j]].name;
                found = strlen(name) == len && memcmp(name, p, len) == 0;
            }
            if (!found && len > 0) {
                fprintf(out, "%.*s: no model (too few articles in the training data), F1 0\n",
                        (int)len, p);
                n_scored++;
            }
            p += len + (e != NULL);
        }
    }
    fprintf(out,
            "%u-fold cross-validation over %zu tags: micro-F1 %.4f (precision %.4f, recall "
            "%.4f), macro-F1 %.4f; top %zu tags micro-F1 %.4f\n",
            wk->folds, n_scored, f1_of(&micro),
            micro.tp + micro.fp ? (double)micro.tp / (double)(micro.tp + micro.fp) : 0.0,
            micro.tp + micro.fn ? (double)micro.tp / (double)(micro.tp + micro.fn) : 0.0,
            n_scored ? macro / (double)n_scored : 0.0, n_top, f1_of(&top));
    fprintf(out, "cv_micro_f1=%.4f cv_macro_f1=%.4f cv_top%zu_micro_f1=%.4f\n", f1_of(&micro),
            n_scored ? macro / (double)n_scored : 0.0, n_top, f1_of(&top));
}

/* ---- the model file ---- */

struct obuf {
    unsigned char *p;
    size_t len;
    size_t cap;
};

static void put_bytes(struct obuf *b, const void *s, size_t n)
{
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_u32(struct obuf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };

    put_bytes(b, x, 4);
}

static void put_u64(struct obuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(struct obuf *b, float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    put_u32(b, u);
}

/* Lays out the file in memory (see classify_model.c for the format). */
static int build_file(const struct work *wk, const float *thr, struct obuf *b, size_t *n_weights,
                      uint32_t *n_stored)
{
    const struct data *d = wk->d;
    size_t n_w = 0;
    size_t names = 0;
    uint32_t n_f = 0;
    uint32_t *per_feat = calloc((size_t)d->n_feats + 1, sizeof(*per_feat));
    size_t *cursor = NULL;
    uint32_t *wt = NULL;
    float *wv = NULL;
    uint32_t str_off = 0;

    for (size_t j = 0; j < wk->n_jobs; j++) {
        const struct tag_model *m = &wk->models[wk->order[j]];
        n_w += m->n;
        names += strlen(d->tags[wk->order[j]].name);
        for (size_t k = 0; per_feat != NULL && k < m->n; k++) {
            per_feat[m->feat[k]]++;
        }
    }
    cursor = malloc(((size_t)d->n_feats + 1) * sizeof(*cursor));
    wt = malloc((n_w + 1) * sizeof(*wt));
    wv = malloc((n_w + 1) * sizeof(*wv));
    b->cap = CLASSIFY_MODEL_HEADER + wk->n_jobs * CLASSIFY_MODEL_TAG_REC +
             (size_t)d->n_feats * CLASSIFY_MODEL_FEAT_REC + n_w * CLASSIFY_MODEL_W_REC + names;
    for (uint32_t f = 0; per_feat != NULL && f < d->n_feats; f++) {
        if (per_feat[f] > 0) {
            b->cap += d->feat[f].str_len;
            n_f++;
        }
    }
    b->p = malloc(b->cap);
    if (per_feat == NULL || cursor == NULL || wt == NULL || wv == NULL || b->p == NULL) {
        free(per_feat);
        free(cursor);
        free(wt);
        free(wv);
        return NP_ENOMEM;
    }
    /* Weights grouped by feature, tags ascending within a feature (tag ids = job order). */
    for (size_t f = 0, at = 0; f < d->n_feats; f++) {
        cursor[f] = at;
        at += per_feat[f];
    }
    for (size_t j = 0; j < wk->n_jobs; j++) {
        const struct tag_model *m = &wk->models[wk->order[j]];
        for (size_t k = 0; k < m->n; k++) {
            size_t at = cursor[m->feat[k]]++;
            wt[at] = (uint32_t)j;
            wv[at] = m->w[k];
        }
    }
    memcpy(b->p, CLASSIFY_MODEL_MAGIC, 8);
    b->len = 8;
    put_u32(b, CLASSIFY_MODEL_VERSION);
    put_u32(b, (uint32_t)wk->n_jobs);
    put_u32(b, d->n_feats);
    put_u32(b, (uint32_t)n_w);
    put_u32(b, 0); /* phrase bytes: filled in at the end */
    put_u32(b, model_flags(wk->o));
    put_u64(b, 0); /* checksum: at the end */
    put_u64(b, 0);
    put_u32(b, d->bits);
    put_f32(b, d->idf_step);
    put_u64(b, 0);
    for (size_t j = 0; j < wk->n_jobs; j++) {
        uint32_t t = wk->order[j];
        uint32_t len = (uint32_t)strlen(d->tags[t].name);

        put_f32(b, (float)wk->models[t].bias);
        put_f32(b, thr[t]);
        put_u32(b, str_off);
        put_u32(b, len);
        str_off += len;
    }
    for (uint32_t f = 0; f < d->n_feats; f++) {
        uint32_t len = per_feat[f] > 0 ? d->feat[f].str_len : 0; /* phrases: for evidence */

        put_u64(b, d->feat[f].key);
        put_f32(b, d->idf[f]);
        put_u32(b, per_feat[f]);
        put_u32(b, len > 0 ? str_off : 0);
        put_u32(b, len);
        str_off += len;
    }
    for (size_t i = 0; i < n_w; i++) {
        put_u32(b, wt[i]);
        put_f32(b, wv[i]);
    }
    for (size_t j = 0; j < wk->n_jobs; j++) {
        const char *name = d->tags[wk->order[j]].name;
        put_bytes(b, name, strlen(name));
    }
    for (uint32_t f = 0; f < d->n_feats; f++) {
        if (per_feat[f] > 0) {
            put_bytes(b, d->str.p + d->feat[f].str_off, d->feat[f].str_len);
        }
    }
    /* The phrase bytes and the checksum, now that everything is laid out. */
    {
        struct obuf h = { b->p + 24, 0, 4 };

        put_u32(&h, str_off);
        classify_model_seal(b->p, b->len);
    }
    free(per_feat);
    free(cursor);
    free(wt);
    free(wv);
    *n_weights = n_w;
    *n_stored = n_f;
    return 0;
}

/* Writes the file next to its destination, then renames it: a reload never sees half a file. */
static int write_model(const char *path, const struct obuf *b, FILE *errout)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    FILE *f = NULL;
    int rc = NP_EIO;

    if (tmp == NULL) {
        return NP_ENOMEM;
    }
    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(errout, "cannot write \"%s\": %s\n", tmp, strerror(errno));
        goto out;
    }
    if (fwrite(b->p, 1, b->len, f) != b->len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(errout, "could not write \"%s\": %s\n", tmp, strerror(errno));
        fclose(f);
        remove(tmp);
        goto out;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(errout, "could not write \"%s\": %s\n", path, strerror(errno));
        remove(tmp);
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    return rc;
}

/* Loads the built file as classify will: a model past one of the loader's limits (tags,
 * features, size) is refused here, not written for classify to refuse later. */
static int check_file(const struct obuf *b, FILE *errout)
{
    struct np_err err;
    struct classify_model *m = NULL;

    np_err_clear(&err);
    m = classify_model_load_mem(b->p, b->len, &err);
    if (m == NULL) {
        fprintf(errout, "the model would not load in classify, not written: %s\n", err.msg);
        return NP_EINVAL;
    }
    classify_model_destroy(&m);
    return 0;
}

/* ---- the whole run ---- */

void train_opts_init(struct train_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->labels = "tags";
    o->folds = 5;
    o->threads = 2;
    o->seed = 1;
    o->min_df = 2;
    o->min_positives = 1;
    o->top = 10;
    o->c = 2.0;
    o->prune = 0.15;
    o->weighting = TRAIN_LOG_TFIDF;
    o->loss = TRAIN_HINGE;
    o->title_features = true;
    o->stopwords = true;
    o->stems = true;
    o->per_tag = true;
}

static void data_free(struct data *d)
{
    free(d->key_off);
    free(d->keys);
    free(d->lab_off);
    free(d->labs);
    free(d->voc);
    np_buf_cleanup(&d->str);
    for (size_t i = 0; i < d->n_tags; i++) {
        free(d->tags[i].name);
    }
    free(d->tags);
    free(d->feat);
    free(d->idf);
    free(d->x_off);
    free(d->x_idx);
    free(d->x_val);
    free(d->xx);
    classify_tokens_cleanup(&d->toks);
}

static void work_free(struct work *wk, size_t n_tags)
{
    free(wk->fold_of);
    for (unsigned k = 0; wk->train_set != NULL && k <= wk->folds; k++) {
        free(wk->train_set[k]);
    }
    free(wk->train_set);
    free(wk->train_n);
    free(wk->order);
    free(wk->oof);
    for (size_t t = 0; wk->models != NULL && t < n_tags; t++) {
        free(wk->models[t].feat);
        free(wk->models[t].w);
    }
    free(wk->models);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct data *cmp_data; /* qsort has no context argument: set just before */

static int cmp_tag_size(const void *a, const void *b)
{
    const struct tagent *x = &cmp_data->tags[*(const uint32_t *)a];
    const struct tagent *y = &cmp_data->tags[*(const uint32_t *)b];

    if (x->positives != y->positives) {
        return x->positives > y->positives ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Folds (a seeded shuffle dealt round-robin), the training sets, the job order. */
static int plan(struct work *wk)
{
    const struct data *d = wk->d;
    uint64_t rng = (uint64_t)wk->o->seed * 0x2545F4914F6CDD1DULL + 1;
    uint32_t *perm = malloc((d->n_docs + 1) * sizeof(*perm));

    wk->fold_of = calloc(d->n_docs + 1, sizeof(*wk->fold_of));
    wk->train_set = calloc(wk->folds + 1, sizeof(*wk->train_set));
    wk->train_n = calloc(wk->folds + 1, sizeof(*wk->train_n));
    wk->order = malloc((d->n_tags + 1) * sizeof(*wk->order));
    wk->oof = d->n_tags <= (SIZE_MAX - 1) / sizeof(*wk->oof) / (d->n_docs + 1)
                  ? calloc(d->n_tags * d->n_docs + 1, sizeof(*wk->oof))
                  : NULL;
    wk->models = calloc(d->n_tags + 1, sizeof(*wk->models));
    if (perm == NULL || wk->fold_of == NULL || wk->train_set == NULL || wk->train_n == NULL ||
        wk->order == NULL || wk->oof == NULL || wk->models == NULL) {
        free(perm);
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < d->n_docs; i++) {
        perm[i] = (uint32_t)i;
    }
    for (size_t i = d->n_docs; i > 1; i--) {
        size_t j = (size_t)(rng_next(&rng) % i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < d->n_docs; i++) {
        wk->fold_of[perm[i]] = wk->folds > 0 ? (uint32_t)(i % wk->folds) : UINT32_MAX;
    }
    free(perm);
    for (unsigned k = 0; k <= wk->folds; k++) {
        wk->train_set[k] = malloc((d->n_docs + 1) * sizeof(**wk->train_set));
        if (wk->train_set[k] == NULL) {
            return NP_ENOMEM;
        }
        for (size_t doc = 0; doc < d->n_docs; doc++) {
            if (k == wk->folds || wk->fold_of[doc] != k) {
                wk->train_set[k][wk->train_n[k]++] = (uint32_t)doc;
            }
        }
    }
    for (size_t t = 0; t < d->n_tags; t++) {
        if (d->tags[t].positives >= wk->o->min_positives) {
            wk->order[wk->n_jobs++] = (uint32_t)t;
        }
    }
    cmp_data = d;
    qsort(wk->order, wk->n_jobs, sizeof(*wk->order), cmp_tag_size);
    return 0;
}

/* Thresholds and figures; with no folds the SVM's own cut, 0. */
static int finish(struct work *wk, FILE *out, float *thr)
{
    const struct data *d = wk->d;
    struct pair *pairs = malloc((d->n_docs + 1) * sizeof(*pairs));
    struct counts *cnt = calloc(d->n_tags + 1, sizeof(*cnt));

    if (pairs == NULL || cnt == NULL) {
        free(pairs);
        free(cnt);
        return NP_ENOMEM;
    }
    for (size_t j = 0; j < wk->n_jobs; j++) {
        uint32_t t = wk->order[j];
        if (wk->folds > 0) {
            tag_figures(wk, t, pairs, &thr[t], &cnt[t]);
        }
    }
    if (wk->folds > 0) {
        report(wk, cnt, thr, out);
    }
    free(pairs);
    free(cnt);
    return 0;
}

int train_run(const struct train_opts *o, FILE *out, FILE *errout)
{
    struct data d = { 0 };
    struct work wk = { .d = &d, .o = o, .folds = o->folds > 1 ? o->folds : 0 };
    struct obuf file = { 0 };
    float *thr = NULL;
    size_t bad = 0;
    double t0 = now_s();
    double t_read = 0;
    double t_train = 0;
    int rc = 2;

    classify_tokens_init(&d.toks);
    pthread_mutex_init(&wk.lock, NULL);
    if (voc_grow(&d) != 0) {
        goto out;
    }
    for (size_t i = 0; i < o->n_inputs; i++) {
        if (read_input(&d, o->inputs[i], o, &bad, errout) != 0) {
            goto out;
        }
    }
    if (d.n_docs == 0 || d.n_tags == 0) {
        fprintf(errout, "no labelled articles to learn from (labels in \"%s\")\n", o->labels);
        goto out;
    }
    if (choose_features(&d, o) != 0 || vectorize(&d) != 0 || plan(&wk) != 0) {
        fprintf(errout, "out of memory\n");
        goto out;
    }
    if (wk.n_jobs == 0) {
        fprintf(errout, "no tag has %u articles or more (--min-positives): nothing to learn\n",
                o->min_positives);
        goto out;
    }
    t_read = now_s() - t0;
    fprintf(out,
            "read %zu articles (%zu lines skipped), %zu tags, %zu of them with a model (at "
            "least %u articles); %u features (unigrams%s and bigrams%s in at least %u articles, "
            "of %zu seen)\n",
            d.n_docs, bad, d.n_tags, wk.n_jobs, o->min_positives, d.n_feats,
            o->stems ? ", stems" : "", o->title_features ? ", the title's also apart," : "",
            o->min_df, d.voc_len);
    thr = calloc(d.n_tags + 1, sizeof(*thr));
    if (thr == NULL || run_workers(&wk, o->threads ? o->threads : 1) != 0 ||
        finish(&wk, out, thr) != 0) {
        fprintf(errout, "out of memory\n");
        goto out;
    }
    t_train = now_s() - t0 - t_read;
    if (o->output != NULL) {
        size_t n_w = 0;
        uint32_t n_f = 0;

        if (build_file(&wk, thr, &file, &n_w, &n_f) != 0) {
            fprintf(errout, "out of memory\n");
            goto out;
        }
        if (check_file(&file, errout) != 0 || write_model(o->output, &file, errout) != 0) {
            goto out;
        }
        fprintf(out,
                "model: %s, %zu tags, %u features (%u with weights), %zu weights, %zu bytes "
                "(%.1f MB)\n",
                o->output, wk.n_jobs, d.n_feats, n_f, n_w, file.len, (double)file.len / 1e6);
    }
    fprintf(out, "time: %.1f s reading, %.1f s training (%u folds + final, %u threads)\n", t_read,
            t_train, wk.folds, o->threads);
    rc = bad > 0 ? 1 : 0;
out:
    free(file.p);
    free(thr);
    work_free(&wk, d.n_tags);
    data_free(&d);
    pthread_mutex_destroy(&wk.lock);
    return rc;
}
