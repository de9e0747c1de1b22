/* classify_model.h - a learned tagger beside the rules: model file loader and scorer
 *
 * newspipe-train (tools/train) writes the model file; classify loads it next to the taxonomy
 * and combines its tags with the rules' as the taxonomy says (classify_engine.c); for that it
 * keeps every tag's margin of the last article. Features are word unigrams and bigrams of the
 * same normalised tokens the rules see (classify_text.c); classify_model_features() is the one
 * definition of them, used by both the trainer and the scorer. See classify_model.c for the
 * file format and the checks made when loading.
 */
#ifndef CLASSIFY_MODEL_H
#define CLASSIFY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify_text.h"
#include "np/err.h"
#include "np/buf.h"
#include "np/json.h"

#define CLASSIFY_MODEL_MAGIC   "NPMODEL"
#define CLASSIFY_MODEL_VERSION (3)
#define CLASSIFY_MODEL_HEADER  (64) /* bytes before the first section */
#define CLASSIFY_MODEL_SUM_AT  (32) /* where the header keeps the checksum (8 bytes) */
#define CLASSIFY_MODEL_TAG_REC (16) /* bias f32, threshold f32, name offset u32, length u32 */
#define CLASSIFY_MODEL_FEAT_REC                                                                    \
    (24) /* key u64, idf f32, weights u32, phrase offset u32, len u32                              \
          */
#define CLASSIFY_MODEL_W_REC           (8) /* tag u32, weight f32 */
#define CLASSIFY_MODEL_MAX_TAGS        (4096)
#define CLASSIFY_MODEL_MAX_FEATS       ((uint32_t)1 << 24) /* vocabulary features (fewer than this) */
#define CLASSIFY_MODEL_BUCKET_BITS_MIN (4) /* the vocabulary is looked up in 2^bits buckets */
#define CLASSIFY_MODEL_BUCKET_BITS_MAX (24)
#define CLASSIFY_MODEL_FP_BITS         (23) /* and, within a bucket, by this many more key bits */
#define CLASSIFY_MODEL_EVIDENCE        (5)  /* features listed as evidence per tag */

/* Header flags. TITLE: the vocabulary also has title features, each unigram and bigram of the
 * title field once more under its own key (classify_model_title_key()). STOPWORDS: English
 * function words (the list in classify_model.c) are not features and, like numbers, break
 * bigrams. STEMS: each unigram also counts as its stem, its first CLASSIFY_MODEL_STEM_CHARS
 * characters, under a key of its own (mixed from the stem's hash): "acquire", "acquired" and
 * "acquisition" share the stem "acqu"; a word that short is its own stem. */
#define CLASSIFY_MODEL_FLAG_TITLE     (1u)
#define CLASSIFY_MODEL_FLAG_STOPWORDS (2u)
#define CLASSIFY_MODEL_FLAG_STEMS     (4u)
#define CLASSIFY_MODEL_FLAGS                                                                       \
    (CLASSIFY_MODEL_FLAG_TITLE | CLASSIFY_MODEL_FLAG_STOPWORDS | CLASSIFY_MODEL_FLAG_STEMS)
#define CLASSIFY_MODEL_STEM_CHARS (4)

/*
 * What trainer and scorer share about the vocabulary lookup: a key's bucket (its top `bits`
 * bits) and its prefix (its top bits + CLASSIFY_MODEL_FP_BITS bits). A key is the vocabulary
 * feature with the same prefix; no two features of a model share one.
 */
static inline uint32_t classify_model_bucket(uint64_t key, unsigned bits)
{
    return (uint32_t)(key >> (64 - bits));
}

static inline uint64_t classify_model_prefix(uint64_t key, unsigned bits)
{
    return key >> (64 - bits - CLASSIFY_MODEL_FP_BITS);
}

/* The count part of a feature's value, 1 + ln tf (tf >= 1). */
float classify_model_log_tf(uint32_t tf);

/* The idf a feature counts with in the norm: its idf rounded to a multiple of step, at most
 * 255 steps. */
float classify_model_norm_idf(float idf, float step);

struct classify_model;

/*
 * Called once per feature occurrence of a text: key (never 0), and the tokens it is made of:
 * t->tok[i] for a unigram (n == 1), t->tok[i] and t->tok[i + 1] for a bigram (n == 2), and for a
 * stem (n == 0) the first classify_model_stem_len() bytes of t->tok[i].
 */
typedef void (*classify_model_feature_fn)(void *ctx, uint64_t key, const struct classify_tokens *t,
                                          size_t i, size_t n);

/*
 * Tokenises text[0..len) into t (reused scratch) and calls fn for each unigram and bigram
 * feature, in text order; with CLASSIFY_MODEL_FLAG_STEMS in flags, each unigram's stem right
 * after it. Tokens that start with a digit are left out and break bigrams; with
 * CLASSIFY_MODEL_FLAG_STOPWORDS so are function words. CLASSIFY_MODEL_FLAG_TITLE is ignored
 * (title twins are the caller's). Returns 0 or NP_ENOMEM.
 */
int classify_model_features(struct classify_tokens *t, const char *text, size_t len, unsigned flags,
                            classify_model_feature_fn fn, void *ctx);

/* True when the normalised token s[0..n) is one of the function words that a model with
 * CLASSIFY_MODEL_FLAG_STOPWORDS leaves out. */
bool classify_model_stopword(const char *s, size_t n);

/* The key of a feature's title twin: the same unigram or bigram seen in the title. */
uint64_t classify_model_title_key(uint64_t key);

/* The length in bytes of the stem of the normalised token s[0..n): its first
 * CLASSIFY_MODEL_STEM_CHARS UTF-8 characters, or all of it. */
size_t classify_model_stem_len(const char *s, size_t n);

/* The checksum of a file image of len >= CLASSIFY_MODEL_HEADER bytes: 64-bit FNV-1a of every
 * byte but the checksum field's own (version 2 left the first 48 out, so a corrupt flag word
 * went unseen). */
uint64_t classify_model_checksum(const unsigned char *img, size_t len);

/* Writes the checksum of a file image of len >= CLASSIFY_MODEL_HEADER bytes into its header. */
void classify_model_seal(unsigned char *img, size_t len);

/* What a loaded model holds. */
struct classify_model_stats {
    size_t tags;
    size_t features; /* the vocabulary */
    size_t weighted; /* features with at least one weight */
    size_t weights;  /* non-zero (feature, tag) weights */
    size_t buckets;
    size_t file_bytes;
    size_t memory_bytes; /* what the loaded model takes, lookup table included */
};

/*
 * Loads a model file, checking magic, version, sizes, checksum and every offset and count.
 * Returns a new model (classify_model_destroy()) or NULL with the reason in err. The model
 * keeps scratch buffers: not thread-safe, one per thread.
 */
struct classify_model *classify_model_load(const char *path, struct np_err *err);

/* The same from a file image in memory (tests, fuzzing); buf is not kept. */
struct classify_model *classify_model_load_mem(const void *buf, size_t len, struct np_err *err);

void classify_model_stats(const struct classify_model *m, struct classify_model_stats *st);

/*
 * Scores an article given as the texts of its fields (n of them, NULL for an absent field; the
 * trainer reads title, summary, body, background and insights: fields[0] is the title) and
 * remembers the tags it gives, until the next call. Returns 0 or NP_ENOMEM.
 */
int classify_model_score(struct classify_model *m, const char *const *fields, size_t n);

/*
 * The same in steps, for a caller that tokenises the fields itself (the rules engine): begin
 * with the total bytes of the fields, add each field's tokens (title: the field is the title,
 * whose features a model with title features also counts as such), end. begin returns 0 or
 * NP_ENOMEM (then neither add nor end may be called).
 */
int classify_model_begin(struct classify_model *m, size_t text_bytes);
void classify_model_add(struct classify_model *m, const struct classify_tokens *t, bool title);
void classify_model_end(struct classify_model *m);

/*
 * True when the last scored article was given tag (an index of classify_model_tag_index(); -1
 * is never given); the tag is then marked as claimed (by the rules) and classify_model_write()
 * leaves it out.
 */
bool classify_model_claim(struct classify_model *m, int32_t tag);

/* True when the last scored article was given tag and it has been claimed. */
bool classify_model_claimed(const struct classify_model *m, int32_t tag);

/*
 * The largest contribution (value x weight) that a single feature of the last scored article
 * makes to tag's score: what its margin rests on most. 0 when no feature adds to it, or tag is
 * -1 or no article was scored.
 */
double classify_model_strongest(const struct classify_model *m, int32_t tag);

/*
 * Appends the unclaimed tags of the last scored article to a JSON array being written, as
 * {"name":..,"score":..,"classifier":"model","evidence":[{"phrase":..,"weight":..}]}, a comma
 * before each one when more_before (elements already in the array) or after the first.
 * Returns how many it wrote.
 */
size_t classify_model_write(struct classify_model *m, struct np_buf *o, bool more_before);

/* The index of tag name in the model, or -1 when the model has no such tag. */
int32_t classify_model_tag_index(const struct classify_model *m, const char *name);

/*
 * The last scored article's margin above the threshold of tag (an index of
 * classify_model_tag_index(); negative: below it). False when tag is -1 or no article was
 * scored (its keys could not all be counted), and then *margin is untouched.
 */
bool classify_model_margin(const struct classify_model *m, int32_t tag, double *margin);

/* The largest margin above threshold of the last scored article over all the model's tags
 * (-INFINITY when none was scored): how sure the model is of its best reading. */
double classify_model_best(const struct classify_model *m);

/* Tags the last scored article was given (claimed ones included): count, then name and score. */
size_t classify_model_ngiven(const struct classify_model *m);
const char *classify_model_given(const struct classify_model *m, size_t i, double *score);

/* Frees the model and sets *mp to NULL. Accepts NULL. */
void classify_model_destroy(struct classify_model **mp);

#endif /* CLASSIFY_MODEL_H */
