/* test_classify_model.c - the model file (newspipe-train) and its loader/scorer */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <jansson.h>

#include "classify_engine.h"
#include "classify_model.h"
#include "np/buf.h"
#include "train.h"

struct fixture {
    char dir[64];
    char input[128];
    char model[128];
    unsigned char *img; /* the model file's bytes */
    size_t len;
};

static const char *const oil[] = { "Crude oil prices rise as OPEC cuts output",
                                   "OPEC ministers meet on crude oil quotas",
                                   "Oil refinery output and crude oil stocks fall",
                                   "Brent crude oil futures climb after OPEC talks" };
static const char *const grain[] = { "Wheat harvest lifts grain exports",
                                     "Corn and wheat prices fall on big harvest",
                                     "Grain traders expect record wheat crop",
                                     "Farmers sell corn as grain silos fill" };
static const char *const other[] = { "Central bank leaves interest rates unchanged",
                                     "Company reports higher quarterly earnings",
                                     "Shipping rates ease at the port",
                                     "Car maker opens a new plant" };

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long n = 0;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    p = malloc((size_t)n + 1);
    if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Writes the labelled articles (each text three times, with varied bodies) and an extra line. */
static void write_input(const char *path, const char *extra)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 4; i++) {
            fprintf(f, "{\"title\": \"%s\", \"body\": \"Report %d. %s\", \"tags\": [\"crude\"]}\n",
                    oil[i], r, oil[(i + r) % 4]);
            fprintf(f, "{\"title\": \"%s\", \"body\": \"Report %d. %s\", \"tags\": [\"grain\"]}\n",
                    grain[i], r, grain[(i + r) % 4]);
            fprintf(f, "{\"title\": \"%s\", \"body\": \"Report %d. %s\", \"tags\": []}\n", other[i],
                    r, other[(i + r) % 4]);
        }
    }
    if (extra != NULL) {
        fputs(extra, f);
    }
    fclose(f);
}

/* Options for training on one small input: every word a feature, `folds` folds. */
static void small_opts(struct train_opts *o, const char **inputs, const char *output,
                       unsigned folds)
{
    train_opts_init(o);
    o->inputs = inputs;
    o->n_inputs = 1;
    o->output = output;
    o->folds = folds;
    o->min_df = 1;
}

static int train_file(const char *input, const char *model, unsigned threads, FILE *errout)
{
    struct train_opts o;
    const char *inputs[1] = { input };
    FILE *out = fopen("/dev/null", "w");
    int rc = 0;

    small_opts(&o, inputs, model, 3);
    o.threads = threads;
    rc = train_run(&o, out, errout);
    fclose(out);
    return rc;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/np-model-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        return -1;
    }
    snprintf(fx->input, sizeof(fx->input), "%s/in.jsonl", fx->dir);
    snprintf(fx->model, sizeof(fx->model), "%s/model.bin", fx->dir);
    write_input(fx->input, NULL);
    if (train_file(fx->input, fx->model, 2, stderr) != 0) {
        return -1;
    }
    fx->img = slurp(fx->model, &fx->len);
    *state = fx;
    return fx->img != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char path[160];

    snprintf(path, sizeof(path), "%s/in.jsonl", fx->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/model.bin", fx->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/model2.bin", fx->dir);
    unlink(path);
    rmdir(fx->dir);
    free(fx->img);
    free(fx);
    return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Fixes the checksum after a deliberate change, so the deeper checks are reached. */
static void reseal(unsigned char *img, size_t len)
{
    classify_model_seal(img, len);
}

/* Loads a changed copy of the image; asserts it is refused and names `field` (NULL: any). */
static void assert_refused(const unsigned char *img, size_t len, const char *field)
{
    struct np_err err;
    struct classify_model *m = NULL;

    np_err_clear(&err);
    m = classify_model_load_mem(img, len, &err);
    assert_null(m);
    if (field != NULL) {
        assert_string_equal(err.field, field);
    }
    assert_true(err.msg[0] != '\0');
}

static void test_model_loads_and_counts(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    struct classify_model_stats st;
    struct classify_model *m = NULL;

    np_err_clear(&err);
    m = classify_model_load(fx->model, &err);
    assert_non_null(m);
    classify_model_stats(m, &st);
    assert_int_equal(st.tags, 2);
    assert_true(st.features > 20);
    assert_true(st.weighted > 0 && st.weighted <= st.features);
    assert_true(st.weights >= st.weighted && st.weights <= st.weighted * 2);
    assert_true(st.buckets >= 16 && st.buckets * 4 >= st.features);
    assert_int_equal(st.file_bytes, fx->len);
    classify_model_destroy(&m);
    assert_null(m);
    classify_model_destroy(&m);
}

static void test_model_tags_article_with_evidence(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    struct np_buf o = { 0 };
    const char *a[2] = { "OPEC agrees to cut crude oil output",
                         "Oil ministers said crude oil stocks were high." };
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    double score = -1;

    assert_non_null(m);
    assert_int_equal(classify_model_score(m, a, 2), 0);
    assert_int_equal(classify_model_ngiven(m), 1);
    assert_string_equal(classify_model_given(m, 0, &score), "crude");
    assert_true(score >= 0);
    assert_null(classify_model_given(m, 1, NULL));
    assert_int_equal(classify_model_write(m, &o, false), 1);
    assert_non_null(strstr(o.p, "{\"name\":\"crude\",\"score\":"));
    assert_non_null(strstr(o.p, "\"classifier\":\"model\",\"evidence\":[{\"phrase\":"));
    assert_non_null(strstr(o.p, "\"phrase\":\"crude oil\""));
    /* Claimed by the rules: not written again. */
    assert_true(classify_model_claim(m, classify_model_tag_index(m, "crude")));
    assert_false(classify_model_claim(m, classify_model_tag_index(m, "grain")));
    assert_false(classify_model_claim(m, -1));
    np_buf_reset(&o);
    assert_int_equal(classify_model_write(m, &o, true), 0);
    assert_int_equal(o.len, 0);

    a[0] = "Quiet day";
    a[1] = NULL;
    assert_int_equal(classify_model_score(m, a, 2), 0);
    assert_int_equal(classify_model_ngiven(m), 0);
    free(o.p);
    classify_model_destroy(&m);
}

/* Every tag's margin is there, given or not, and the best of them. */
static void test_model_margins(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    const char *a[2] = { "OPEC agrees to cut crude oil output", NULL };
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    int32_t crude = classify_model_tag_index(m, "crude");
    int32_t grain_tag = classify_model_tag_index(m, "grain");
    double score = -1;
    double margin = -1;

    assert_true(crude >= 0 && grain_tag >= 0 && crude != grain_tag);
    assert_int_equal(classify_model_tag_index(m, "crud"), -1);
    assert_false(classify_model_margin(m, crude, &margin)); /* nothing scored yet */
    assert_true(classify_model_best(m) < -1e30);
    assert_int_equal(classify_model_score(m, a, 2), 0);
    assert_string_equal(classify_model_given(m, 0, &score), "crude");
    assert_true(classify_model_margin(m, crude, &margin));
    assert_true(margin >= 0 && margin - score < 1e-6 && score - margin < 1e-6);
    assert_true(classify_model_best(m) >= margin); /* the best margin of the article */
    assert_true(classify_model_margin(m, grain_tag, &margin));
    assert_true(margin < 0);
    assert_false(classify_model_margin(m, -1, &margin));
    classify_model_destroy(&m);
}

/* The strongest feature's contribution to a tag is the first item of its evidence. */
static void test_model_strongest_feature(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    const char *a[2] = { "OPEC agrees to cut crude oil output", NULL };
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    int32_t crude = classify_model_tag_index(m, "crude");
    struct np_buf o = { 0 };
    json_t *r = NULL;
    double first = 0;

    assert_true(classify_model_strongest(m, crude) == 0); /* nothing scored yet */
    assert_int_equal(classify_model_score(m, a, 2), 0);
    assert_int_equal(classify_model_write(m, &o, false), 1);
    r = json_loadb(o.p, o.len, 0, NULL);
    assert_non_null(r);
    first = json_number_value(
        json_object_get(json_array_get(json_object_get(r, "evidence"), 0), "weight"));
    assert_true(first > 0);
    assert_true(fabs(classify_model_strongest(m, crude) - first) < 1e-4);
    assert_true(classify_model_strongest(m, -1) == 0);
    json_decref(r);
    free(o.p);
    classify_model_destroy(&m);
}

/* The tags of an article as "name/classifier" words, in the engine's order. */
static void engine_tags(struct classify_engine *e, const char *title, const char *body, char *out,
                        size_t cap)
{
    struct np_article_view v = { { NULL } };
    char *text = NULL;
    size_t len = 0;
    json_t *r = NULL;
    json_t *t = NULL;
    size_t i = 0;

    v.text[NP_FIELD_title] = title;
    v.text[NP_FIELD_body] = body;
    assert_int_equal(classify_engine_run(e, &v, &text, &len), 0);
    r = json_loadb(text, len, 0, NULL);
    assert_non_null(r);
    out[0] = '\0';
    json_array_foreach(json_object_get(r, "tags"), i, t)
    {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s/%s", n > 0 ? " " : "",
                 json_string_value(json_object_get(t, "name")),
                 json_string_value(json_object_get(t, "classifier")));
    }
    json_decref(r);
    free(text);
}

/* An engine for taxonomy json with model m set on it. */
static struct classify_engine *policy_engine_json(const char *json, struct classify_model *m)
{
    struct np_err err;
    struct classify_engine *e = NULL;

    np_err_clear(&err);
    e = classify_engine_load_json(json, strlen(json), &err);
    assert_non_null(e);
    classify_engine_set_model(e, m);
    return e;
}

/* An engine for a two-tag taxonomy ("plant" gives grain, "crude" gives crude) with this "model"
 * member (NULL: none), and model m set on it. */
static struct classify_engine *policy_engine(const char *model_policy, struct classify_model *m)
{
    char json[512];

    snprintf(json, sizeof(json),
             "{\"version\": \"t\", \"entities\": [], \"tags\": ["
             "{\"name\": \"grain\", \"any\": [\"plant\"]},"
             "{\"name\": \"crude\", \"any\": [\"crude\"]}]%s%s}",
             model_policy != NULL ? ", \"model\": " : "", model_policy != NULL ? model_policy : "");
    return policy_engine_json(json, m);
}

/* The taxonomy's "model" policy: a model without one only adds tags; with veto it drops the
 * rule tags it scores far below their threshold, when it is sure of some tag itself; add is
 * the margin a model-only tag needs, and that sureness unless sure says another. */
static void test_engine_model_policy(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    struct classify_engine *e = NULL;
    const char *car = "Car maker opens a new plant";
    const char *opec = "OPEC agrees to cut crude oil output";
    char tags[256];

    assert_non_null(m);
    e = policy_engine(NULL, m);
    engine_tags(e, car, car, tags, sizeof(tags));
    assert_string_equal(tags, "grain/rules"); /* the model disagrees, but has no say */
    engine_tags(e, opec, "Output falls.", tags, sizeof(tags));
    assert_string_equal(tags, "crude/rules+model");
    engine_tags(e, "Wheat harvest lifts grain exports", "Corn and wheat.", tags, sizeof(tags));
    assert_string_equal(tags, "grain/model");
    classify_engine_destroy(&e);

    e = policy_engine("{\"veto\": 0}", m);
    engine_tags(e, "OPEC agrees to cut crude oil output at the plant", "Output falls.", tags,
                sizeof(tags));
    assert_string_equal(tags, "crude/rules+model"); /* grain vetoed, crude confirmed */
    engine_tags(e, car, car, tags, sizeof(tags));
    assert_string_equal(tags, "grain/rules"); /* the model is sure of nothing here: no veto */
    classify_engine_destroy(&e);

    e = policy_engine("{\"veto\": 0, \"add\": 100}", m);
    engine_tags(e, "Wheat harvest lifts grain exports", "Corn and wheat.", tags, sizeof(tags));
    assert_string_equal(tags, ""); /* not sure enough to add */
    engine_tags(e, "OPEC agrees to cut crude oil output at the plant", "Output falls.", tags,
                sizeof(tags));
    assert_string_equal(tags, "grain/rules crude/rules+model"); /* nor to veto */
    classify_engine_destroy(&e);

    e = policy_engine("{\"veto\": 0, \"add\": 100, \"sure\": 0}", m);
    engine_tags(e, "OPEC agrees to cut crude oil output at the plant", "Output falls.", tags,
                sizeof(tags));
    assert_string_equal(tags, "crude/rules+model"); /* sure enough to veto, not to add */
    engine_tags(e, "Wheat harvest lifts grain exports", "Corn and wheat.", tags, sizeof(tags));
    assert_string_equal(tags, "");
    classify_engine_destroy(&e);

    /* grain outside the taxonomy: the model is its only judge, and add does not apply. */
    e = policy_engine_json("{\"version\": \"t\", \"entities\": [], \"tags\": "
                           "[{\"name\": \"crude\", \"any\": [\"crude\"]}], "
                           "\"model\": {\"add\": 100}}",
                           m);
    engine_tags(e, "Wheat harvest lifts grain exports", "Corn and wheat.", tags, sizeof(tags));
    assert_string_equal(tags, "grain/model");
    classify_engine_destroy(&e);

    e = policy_engine("{\"veto\": 1000}", m); /* a veto that never bites */
    engine_tags(e, car, car, tags, sizeof(tags));
    assert_string_equal(tags, "grain/rules");
    classify_engine_destroy(&e);
    classify_model_destroy(&m);
}

/* add_slack: without its strongest feature, an addition of the model keeps a margin of
 * -add_slack. Here the one word "wheat" carries grain: its contribution is more than the margin. */
static void test_engine_model_add_slack(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    struct classify_engine *e = NULL;
    const char *wheat[2] = { "Report", "Wheat." };
    int32_t g = classify_model_tag_index(m, "grain");
    double margin = 0;
    double lean = 0;
    char policy[96];
    char tags[256];

    assert_int_equal(classify_model_score(m, wheat, 2), 0);
    assert_true(classify_model_margin(m, g, &margin));
    lean = classify_model_strongest(m, g) - margin;
    assert_true(margin > 0.02 && lean > 0.02);
    snprintf(policy, sizeof(policy), "{\"add\": 0.01, \"add_slack\": %.4f}", lean + 0.01);
    e = policy_engine(policy, m);
    engine_tags(e, wheat[0], wheat[1], tags, sizeof(tags));
    assert_string_equal(tags, "grain/model");
    classify_engine_destroy(&e);
    snprintf(policy, sizeof(policy), "{\"add\": 0.01, \"add_slack\": %.4f}", lean - 0.01);
    e = policy_engine(policy, m);
    engine_tags(e, wheat[0], wheat[1], tags, sizeof(tags));
    assert_string_equal(tags, ""); /* held back: one word is not enough */
    engine_tags(e, "Wheat harvest lifts grain exports", "Corn and wheat.", tags, sizeof(tags));
    assert_string_equal(tags, "grain/model"); /* many words are */
    classify_engine_destroy(&e);
    classify_model_destroy(&m);
}

/* The taxonomy names its model relative to its own folder; "none" and a configured path win. */
static void test_engine_model_path(void **state)
{
    struct fixture *fx = *state;
    char path[160];
    struct np_err err;
    struct classify_engine *e = NULL;
    FILE *f = NULL;

    snprintf(path, sizeof(path), "%s/tax.json", fx->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"version\": \"t\", \"entities\": [], \"tags\": [], "
          "\"model\": {\"file\": \"model.bin\", \"veto\": 0.2}}",
          f);
    fclose(f);
    np_err_clear(&err);
    e = classify_engine_load(path, &err);
    assert_non_null(e);
    assert_string_equal(classify_engine_model_path(e, NULL), fx->model);
    assert_string_equal(classify_engine_model_path(e, ""), fx->model);
    assert_null(classify_engine_model_path(e, "none"));
    assert_string_equal(classify_engine_model_path(e, "/x/y.model"), "/x/y.model");
    classify_engine_destroy(&e);
    unlink(path);

    const char *bad = "{\"version\": \"t\", \"entities\": [], \"tags\": [], "
                      "\"model\": {\"add\": -1}}";
    e = classify_engine_load_json(bad, strlen(bad), &err);
    assert_null(e);
    assert_string_equal(err.field, "$.model.add");
}

/* Score of tag "crude" for text given as the title (fields[0]) or as the body (fields[2]). */
static double crude_score(struct classify_model *m, const char *text, bool as_title)
{
    const char *a[3] = { as_title ? text : NULL, NULL, as_title ? NULL : text };
    double score = -1;

    assert_int_equal(classify_model_score(m, a, 3), 0);
    assert_int_equal(classify_model_ngiven(m), 1);
    assert_string_equal(classify_model_given(m, 0, &score), "crude");
    return score;
}

/* Title words count once more as title features (header flag): in the title, not in the body. */
static void test_model_title_features(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    const char *text = "OPEC agrees to cut crude oil output";
    unsigned char *img = malloc(fx->len);
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    double title = 0;
    double body = 0;

    assert_non_null(m);
    assert_non_null(img);
    assert_int_equal(get_u32(fx->img + 28), CLASSIFY_MODEL_FLAG_TITLE |
                                                CLASSIFY_MODEL_FLAG_STOPWORDS |
                                                CLASSIFY_MODEL_FLAG_STEMS);
    /* The trainer learnt oil words in titles as title features too: a title scores higher. */
    title = crude_score(m, text, true);
    body = crude_score(m, text, false);
    assert_true(title > body + 0.01);
    classify_model_destroy(&m);
    /* Without the flag the title is read as any field. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + 28, CLASSIFY_MODEL_FLAG_STOPWORDS | CLASSIFY_MODEL_FLAG_STEMS);
    reseal(img, fx->len);
    m = classify_model_load_mem(img, fx->len, &err);
    assert_non_null(m);
    assert_true(crude_score(m, text, true) == crude_score(m, text, false));
    classify_model_destroy(&m);
    /* A flag this build does not know. */
    put_u32(img + 28, CLASSIFY_MODEL_FLAGS + 1);
    assert_refused(img, fx->len, "header");
    free(img);
}

/* An article with thousands of distinct words (the local table grows several times) scores as
 * the same article without them (no word of the model among them), before and after other
 * articles: the table's slots of an earlier article count as empty. */
static void test_model_many_distinct_words(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    const char *text = "OPEC agrees to cut crude oil output";
    size_t cap = strlen(text) + 3000 * 5 + 1;
    char *big = malloc(cap);
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    size_t n = strlen(text);
    double small = 0;

    assert_non_null(m);
    assert_non_null(big);
    memcpy(big, text, n);
    for (int i = 0; i < 3000; i++) { /* "zqaa" .. : no feature of the model */
        big[n++] = ' ';
        big[n++] = 'z';
        big[n++] = 'q';
        big[n++] = (char)('a' + i / 26 % 26);
        big[n++] = (char)('a' + i % 26);
        if (i >= 676) {
            big[n - 3] = (char)('a' + i / 676);
        }
    }
    big[n] = '\0';
    small = crude_score(m, text, false);
    assert_true(crude_score(m, big, false) == small);
    assert_true(crude_score(m, text, false) == small);
    assert_true(crude_score(m, big, false) == small);
    classify_model_destroy(&m);
    free(big);
}

struct keys {
    uint64_t key[8];
    size_t n;
};

static void collect_key(void *ctx, uint64_t key, const struct classify_tokens *t, size_t i,
                        size_t n)
{
    struct keys *k = ctx;

    (void)t;
    (void)i;
    (void)n;
    if (k->n < 8) {
        k->key[k->n] = key;
    }
    k->n++;
}

/* Feature keys are pinned: a model file of this version trained by an earlier build must keep
 * matching (the unigram key is the token's hash, computed by the tokenizer). */
static void test_model_feature_keys_pinned(void **state)
{
    struct classify_tokens t;
    struct keys k = { { 0 }, 0 };
    const char *text = "Crude oil, 5 internationalisation";

    (void)state;
    classify_tokens_init(&t);
    assert_int_equal(classify_model_features(&t, text, strlen(text), 0, collect_key, &k), 0);
    assert_int_equal(k.n, 4); /* crude, oil, "crude oil", internationalisation (5 breaks pairs) */
    assert_true(k.key[0] == t.tok[0].hash);
    assert_true(k.key[1] == 0xe41030777686435dULL);
    assert_true(k.key[2] == 0x5d628f28f8eb5552ULL);
    assert_true(k.key[3] == 0xd0e781a6f7966c0aULL);
    classify_tokens_cleanup(&t);
}

/* With the stop-word flag, function words are not features and break pairs as numbers do;
 * "U.S." (normalised "us") is not one of them. Without it they are features like any word. */
static void test_model_stopwords(void **state)
{
    struct classify_tokens t;
    struct keys k = { { 0 }, 0 };
    struct keys all = { { 0 }, 0 };
    const char *text = "The price of U.S. crude oil, traders said";

    (void)state;
    classify_tokens_init(&t);
    assert_true(classify_model_stopword("the", 3));
    assert_true(classify_model_stopword("said", 4));
    assert_false(classify_model_stopword("us", 2));
    assert_false(classify_model_stopword("oil", 3));
    assert_false(classify_model_stopword("thee", 4));
    assert_int_equal(
        classify_model_features(&t, text, strlen(text),
                                CLASSIFY_MODEL_FLAG_STOPWORDS | CLASSIFY_MODEL_FLAG_TITLE,
                                collect_key, &k),
        0);
    /* price | us, crude, "us crude", oil, "crude oil", traders, "oil traders" */
    assert_int_equal(k.n, 8);
    assert_true(k.key[0] == t.tok[1].hash); /* price */
    assert_true(k.key[1] == t.tok[3].hash); /* us: "of" broke the pair */
    assert_true(k.key[2] == t.tok[4].hash); /* crude */
    assert_true(k.key[4] == t.tok[5].hash); /* oil */
    assert_true(k.key[6] == t.tok[6].hash); /* traders; "said" left out */
    assert_int_equal(classify_model_features(&t, text, strlen(text), 0, collect_key, &all), 0);
    assert_int_equal(all.n, 15); /* 8 words, 7 pairs */
    classify_tokens_cleanup(&t);
}

/* With the stems flag each word is followed by its stem, the first four characters (UTF-8
 * characters, not bytes); words with one stem share its key, and a short word's stem is a key
 * apart from the word's own. */
static void test_model_stems(void **state)
{
    struct classify_tokens t;
    struct keys k = { { 0 }, 0 };
    struct keys plain = { { 0 }, 0 };
    const char *text = "Acquired acquisition oil";

    (void)state;
    classify_tokens_init(&t);
    assert_int_equal(
        classify_model_features(&t, text, strlen(text), CLASSIFY_MODEL_FLAG_STEMS, collect_key, &k),
        0);
    /* acquired, acqu*, acquisition, acqu*, "acquired acquisition", oil, oil*, "acquisition oil" */
    assert_int_equal(k.n, 8);
    assert_true(k.key[0] == t.tok[0].hash);
    assert_true(k.key[1] == k.key[3]);
    assert_true(k.key[1] != k.key[0] && k.key[1] != k.key[2]);
    assert_true(k.key[5] == t.tok[2].hash);
    assert_true(k.key[6] != k.key[5]);
    assert_int_equal(classify_model_features(&t, text, strlen(text), 0, collect_key, &plain), 0);
    assert_int_equal(plain.n, 5);
    assert_int_equal(classify_model_stem_len("müller", strlen("müller")), 5); /* "müll" */
    assert_int_equal(classify_model_stem_len("oil", 3), 3);
    assert_int_equal(classify_model_stem_len("", 0), 0);
    classify_tokens_cleanup(&t);
}

/* A model with stems scores words it never saw by what their stems learnt ("crudes" by
 * "crude"), and names the stem in its evidence; read without the flag it does not. */
static void test_model_stems_score_unseen_words(void **state)
{
    struct fixture *fx = *state;
    struct np_err err;
    struct np_buf o = { 0 };
    const char *a[3] = { NULL, NULL, "Crudes and refineries: outputs" };
    unsigned char *img = malloc(fx->len);
    struct classify_model *m = classify_model_load_mem(fx->img, fx->len, &err);
    int32_t crude = classify_model_tag_index(m, "crude");
    double with = 0;
    double without = 0;

    assert_non_null(m);
    assert_non_null(img);
    assert_int_equal(classify_model_score(m, a, 3), 0);
    assert_true(classify_model_margin(m, crude, &with));
    assert_int_equal(classify_model_ngiven(m), 1);
    assert_int_equal(classify_model_write(m, &o, false), 1);
    assert_non_null(strstr(o.p, "\"phrase\":\"crud*\""));
    classify_model_destroy(&m);
    memcpy(img, fx->img, fx->len);
    put_u32(img + 28, CLASSIFY_MODEL_FLAG_TITLE | CLASSIFY_MODEL_FLAG_STOPWORDS);
    reseal(img, fx->len);
    m = classify_model_load_mem(img, fx->len, &err);
    assert_non_null(m);
    assert_int_equal(classify_model_score(m, a, 3), 0);
    assert_true(classify_model_margin(m, crude, &without));
    assert_int_equal(classify_model_ngiven(m), 0);
    assert_true(with > without + 0.5);
    classify_model_destroy(&m);
    free(o.p);
    free(img);
}

static void test_model_truncated_refused(void **state)
{
    struct fixture *fx = *state;
    size_t cuts[] = { 0, 7, CLASSIFY_MODEL_HEADER - 1 };

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_refused(fx->img, cuts[i], "header");
    }
    for (size_t n = CLASSIFY_MODEL_HEADER; n < fx->len; n += 1 + n / 3) {
        assert_refused(fx->img, n, "size");
    }
    assert_refused(fx->img, fx->len - 1, "size");
}

static void test_model_corrupt_refused(void **state)
{
    struct fixture *fx = *state;
    unsigned char *img = malloc(fx->len + 1);

    assert_non_null(img);
    /* Any flipped byte after the header: the checksum. */
    for (size_t i = CLASSIFY_MODEL_HEADER; i < fx->len; i += 1 + i / 5) {
        memcpy(img, fx->img, fx->len);
        img[i] ^= 0x41;
        assert_refused(img, fx->len, "checksum");
    }
    memcpy(img, fx->img, fx->len);
    img[0] = 'X';
    assert_refused(img, fx->len, "magic");
    memcpy(img, fx->img, fx->len);
    put_u32(img + 8, 99);
    assert_refused(img, fx->len, "version");
    /* Files of the formats before (1: before the bucket lookup; 2: a checksum that left the
     * header's first 48 bytes out): refused, asking for a retrain. */
    for (uint32_t version = 1; version <= 2; version++) {
        struct np_err err;
        char want[64];

        memcpy(img, fx->img, fx->len);
        put_u32(img + 8, version);
        np_err_clear(&err);
        assert_null(classify_model_load_mem(img, fx->len, &err));
        assert_string_equal(err.field, "version");
        snprintf(want, sizeof(want), "version %u, this build reads version 3", version);
        assert_non_null(strstr(err.msg, want));
        assert_non_null(strstr(err.msg, "train the model again"));
    }
    /* Every header byte but the magic, the version and the checksum's own is under the
     * checksum: the flags (28-31) too, which change how an article is read. */
    for (size_t i = 12; i < CLASSIFY_MODEL_HEADER; i++) {
        if (i >= CLASSIFY_MODEL_SUM_AT && i < CLASSIFY_MODEL_SUM_AT + 8) {
            continue;
        }
        memcpy(img, fx->img, fx->len);
        img[i] ^= i == 28 ? 0x02 : 0x10; /* byte 28: a known flag, so only the checksum sees it */
        assert_refused(img, fx->len, i == 28 || i >= 48 ? "checksum" : NULL);
    }
    memcpy(img, fx->img, fx->len);
    put_u32(img + 12, 0);
    assert_refused(img, fx->len, "header");
    /* A longer file than the header says. */
    memcpy(img, fx->img, fx->len);
    img[fx->len] = 0;
    assert_refused(img, fx->len + 1, "size");
    free(img);
}

/* Changes that keep the checksum right must still be caught by the bounds checks. */
static void test_model_bad_bounds_refused(void **state)
{
    struct fixture *fx = *state;
    unsigned char *img = malloc(fx->len);
    uint32_t n_tags = get_u32(fx->img + 12);
    uint32_t n_feats = get_u32(fx->img + 16);
    uint32_t n_weights = get_u32(fx->img + 20);
    size_t tags_at = CLASSIFY_MODEL_HEADER;
    size_t feats_at = tags_at + n_tags * CLASSIFY_MODEL_TAG_REC;
    size_t w_at = feats_at + (size_t)n_feats * CLASSIFY_MODEL_FEAT_REC;

    assert_non_null(img);
    assert_true(n_weights > 0);
    /* A weight naming a tag that does not exist. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + w_at, n_tags);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "weights");
    /* A tag name past the end of the phrases. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + tags_at + 8, 0xFFFFFFF0u);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "tags");
    /* A tag name with a control character. */
    memcpy(img, fx->img, fx->len);
    img[w_at + (size_t)n_weights * CLASSIFY_MODEL_W_REC] = 0x01;
    reseal(img, fx->len);
    assert_refused(img, fx->len, "tags");
    /* A tag name that is not UTF-8: a lead byte without its continuation, an overlong form. */
    memcpy(img, fx->img, fx->len);
    img[w_at + (size_t)n_weights * CLASSIFY_MODEL_W_REC] = (unsigned char)0xC3;
    reseal(img, fx->len);
    assert_refused(img, fx->len, "tags");
    memcpy(img, fx->img, fx->len);
    img[w_at + (size_t)n_weights * CLASSIFY_MODEL_W_REC] = (unsigned char)0xC0;
    img[w_at + (size_t)n_weights * CLASSIFY_MODEL_W_REC + 1] = (unsigned char)0x80;
    reseal(img, fx->len);
    assert_refused(img, fx->len, "tags");
    /* A feature claiming more weights than there are. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + feats_at + 12, n_weights + 1);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "features");
    /* Keys out of order (the second feature's key copied onto the first). */
    memcpy(img, fx->img, fx->len);
    memcpy(img + feats_at, img + feats_at + CLASSIFY_MODEL_FEAT_REC, 8);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "features");
    /* Bucket bits out of bounds, an idf step that is not a positive number. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + 48, CLASSIFY_MODEL_BUCKET_BITS_MIN - 1);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "header");
    memcpy(img, fx->img, fx->len);
    put_u32(img + 48, CLASSIFY_MODEL_BUCKET_BITS_MAX + 1);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "header");
    memcpy(img, fx->img, fx->len);
    put_u32(img + 52, 0x7FC00000u);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "header");
    memcpy(img, fx->img, fx->len);
    put_u32(img + 52, 0);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "header");
    /* Two features with the same prefix (the second key's last byte changed to the first's:
     * keys ascend, prefixes then tie). */
    {
        uint64_t k0 = 0;
        uint64_t k1 = 0;

        memcpy(&k0, fx->img + feats_at, 8);
        memcpy(&k1, fx->img + feats_at + CLASSIFY_MODEL_FEAT_REC, 8);
        memcpy(img, fx->img, fx->len);
        k1 = (k0 & ~(uint64_t)0xFF) | 0xFF;
        if (k1 > k0) {
            memcpy(img + feats_at + CLASSIFY_MODEL_FEAT_REC, &k1, 8);
            reseal(img, fx->len);
            assert_refused(img, fx->len, "features");
        }
    }
    /* Weights of one feature with their tags out of order. */
    for (uint32_t f = 0, w_off = 0; f < n_feats; f++) {
        uint32_t w_n = get_u32(fx->img + feats_at + (size_t)f * CLASSIFY_MODEL_FEAT_REC + 12);

        if (w_n >= 2) {
            memcpy(img, fx->img, fx->len);
            memcpy(img + w_at + (size_t)w_off * CLASSIFY_MODEL_W_REC,
                   fx->img + w_at + (size_t)(w_off + 1) * CLASSIFY_MODEL_W_REC, 4);
            memcpy(img + w_at + (size_t)(w_off + 1) * CLASSIFY_MODEL_W_REC,
                   fx->img + w_at + (size_t)w_off * CLASSIFY_MODEL_W_REC, 4);
            reseal(img, fx->len);
            assert_refused(img, fx->len, "weights");
            break;
        }
        w_off += w_n;
    }
    /* A threshold that is not a number. */
    memcpy(img, fx->img, fx->len);
    put_u32(img + tags_at + 4, 0x7FC00000u);
    reseal(img, fx->len);
    assert_refused(img, fx->len, "tags");
    free(img);
}

static void test_model_missing_file_refused(void **state)
{
    struct np_err err;

    (void)state;
    np_err_clear(&err);
    assert_null(classify_model_load("/nonexistent/model.bin", &err));
    assert_string_equal(err.field, "model");
    assert_non_null(strstr(err.msg, "cannot open"));
}

/* Same input and seed: the same bytes, on one thread or two. */
static void test_train_deterministic(void **state)
{
    struct fixture *fx = *state;
    char path[160];
    unsigned char *img = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/model2.bin", fx->dir);
    assert_int_equal(train_file(fx->input, path, 1, stderr), 0);
    img = slurp(path, &len);
    assert_non_null(img);
    assert_int_equal(len, fx->len);
    assert_memory_equal(img, fx->img, len);
    free(img);
}

static void test_train_reports_bad_lines(void **state)
{
    struct fixture *fx = *state;
    char input[160];
    char path[160];
    char *text = NULL;
    size_t len = 0;
    FILE *errout = tmpfile();

    assert_non_null(errout);
    snprintf(input, sizeof(input), "%s/in.jsonl", fx->dir);
    snprintf(path, sizeof(path), "%s/model2.bin", fx->dir);
    write_input(
        input, "{\"title\": 5, \"tags\": []}\nnot json\n{\"title\": \"x\"}\n"
               "{\"title\": \"x\", \"tags\": [\"a\", 3]}\n"
               "{\"title\": \"x\", \"tags\": [\"oil\\tgas\"]}\n"
               "{\"title\": \" \", \"body\": \"\\n\", \"summary\": null, \"tags\": [\"crude\"]}\n");
    assert_int_equal(train_file(input, path, 2, errout), 1);
    len = (size_t)ftell(errout);
    rewind(errout);
    text = calloc(1, len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, len, errout), len);
    assert_non_null(strstr(text, "in.jsonl:37: skipped: title: must be a string"));
    assert_non_null(strstr(text, "in.jsonl:38: skipped: not JSON"));
    assert_non_null(strstr(text, "in.jsonl:39: skipped: tags: missing"));
    assert_non_null(strstr(text, "in.jsonl:40: skipped: tags[1]: must be a non-empty string"));
    assert_non_null(
        strstr(text, "in.jsonl:41: skipped: tags[0]: a tag name has no control characters"));
    assert_non_null(strstr(text, "in.jsonl:42: skipped: no text: title, summary, body"));
    free(text);
    fclose(errout);
    /* The model from the good lines is written all the same. */
    assert_int_equal(access(path, R_OK), 0);
    write_input(input, NULL);
}

/* Runs the trainer, which must fail (2) saying `why` and write no model. */
static void assert_train_fails(const struct train_opts *o, const char *why)
{
    FILE *out = fopen("/dev/null", "w");
    FILE *errout = tmpfile();
    char text[512] = { 0 };

    assert_non_null(out);
    assert_non_null(errout);
    assert_int_equal(train_run(o, out, errout), 2);
    rewind(errout);
    assert_true(fread(text, 1, sizeof(text) - 1, errout) > 0);
    if (strstr(text, why) == NULL) {
        fail_msg("expected \"%s\" in: %s", why, text);
    }
    assert_int_not_equal(access(o->output, F_OK), 0);
    fclose(out);
    fclose(errout);
}

/* A model classify would refuse (here more tags than the loader takes) is not written, and
 * the trainer says why and fails; so does a run where no tag has enough articles. */
static void test_train_writes_only_what_classify_loads(void **state)
{
    struct fixture *fx = *state;
    struct train_opts o;
    char input[160];
    char path[160];
    const char *inputs[1] = { input };
    FILE *f = NULL;

    snprintf(input, sizeof(input), "%s/many-tags.jsonl", fx->dir);
    snprintf(path, sizeof(path), "%s/many-tags.bin", fx->dir);
    f = fopen(input, "w");
    assert_non_null(f);
    for (int i = 0; i <= CLASSIFY_MODEL_MAX_TAGS; i++) {
        fprintf(f, "{\"title\": \"word%d common\", \"tags\": [\"t%d\"]}\n", i, i);
    }
    fclose(f);
    small_opts(&o, inputs, path, 0);
    assert_train_fails(&o, "the model would not load in classify, not written");
    inputs[0] = fx->input;
    o.min_positives = 1000;
    assert_train_fails(&o, "no tag has 1000 articles or more");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_loads_and_counts),
        cmocka_unit_test(test_model_tags_article_with_evidence),
        cmocka_unit_test(test_model_title_features),
        cmocka_unit_test(test_model_margins),
        cmocka_unit_test(test_model_strongest_feature),
        cmocka_unit_test(test_engine_model_policy),
        cmocka_unit_test(test_engine_model_add_slack),
        cmocka_unit_test(test_engine_model_path),
        cmocka_unit_test(test_model_stopwords),
        cmocka_unit_test(test_model_stems),
        cmocka_unit_test(test_model_stems_score_unseen_words),
        cmocka_unit_test(test_model_feature_keys_pinned),
        cmocka_unit_test(test_model_many_distinct_words),
        cmocka_unit_test(test_model_truncated_refused),
        cmocka_unit_test(test_model_corrupt_refused),
        cmocka_unit_test(test_model_bad_bounds_refused),
        cmocka_unit_test(test_model_missing_file_refused),
        cmocka_unit_test(test_train_deterministic),
        cmocka_unit_test(test_train_reports_bad_lines),
        cmocka_unit_test(test_train_writes_only_what_classify_loads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
