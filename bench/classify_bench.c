/* classify_bench.c - throughput of the rules classifier on a file of articles
 *
 * classify-bench [--taxonomy FILE] [--model FILE] [--rounds N] [--synthetic-x10 | --x10-only]
 *                [ARTICLES.jsonl]
 *
 * Loads the taxonomy (default config/taxonomy.json, else the synthetic 45-tag, 250-entity
 * tests/data/taxonomy/synthetic-45.json), parses every article of the JSON-lines file (default
 * the shared Reuters training set) with np_article_parse() - not timed - then times
 * classify_engine_write() (the result written as JSON text, as the worker does) over all of
 * them for N rounds and prints one
 * line: taxonomy=... tags=... phrases=... articles/s=... MB/s=... (best_cpu_us/article: the
 * thread's CPU time of the fastest round, which waits for a CPU on a busy machine do not
 * inflate). With --synthetic-x10 it also
 * builds taxonomies ten times larger (ten renamed copies of every tag and entity, with
 * perturbed phrases; see perturb_text()) and prints a line for each: "x10-rare", whose extra
 * phrases seldom match, shows that the cost of an article does not grow with the number of
 * rules; "x10-matching", whose copies match often, shows the cost of a larger result (more
 * tags, evidence and entities per article). MB/s counts the bytes of the classified fields.
 * The learned model (newspipe-train) the worker would load is scored beside the rules: the one
 * the taxonomy names, or --model FILE, as the worker's NP_CLASSIFY_MODEL (--model none: the rules
 * alone); the line then also gives the model's size and the peak RSS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "classify_engine.h"
#include "classify_model.h"
#include "np/article.h"

#define COPIES (10)

static struct classify_model *model; /* --model, or NULL */

struct corpus {
    struct np_article **items;
    size_t len;
    size_t cap;
    size_t bytes; /* of the classified fields */
};

static size_t field_bytes(const struct np_article *a)
{
    const char *f[] = { a->title, a->summary, a->body, a->background, a->insights };
    size_t n = 0;

    for (size_t i = 0; i < 5; i++) {
        n += f[i] ? strlen(f[i]) : 0;
    }
    return n;
}

static int load_corpus(const char *path, struct corpus *c)
{
    FILE *in = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    size_t bad = 0;
    ssize_t n = 0;

    if (in == NULL) {
        fprintf(stderr, "classify-bench: cannot open \"%s\"\n", path);
        return -1;
    }
    for (;;) {
        struct np_article *a = NULL;
        n = getline(&line, &cap, in);
        if (n < 0) {
            break;
        }
        if (np_article_parse(line, (size_t)n, &a, NULL) != 0) {
            bad++;
            continue;
        }
        if (c->len == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            struct np_article **p = realloc(c->items, c->cap * sizeof(struct np_article *));
            if (p == NULL) {
                np_article_destroy(&a);
                break;
            }
            c->items = p;
        }
        c->bytes += field_bytes(a);
        c->items[c->len++] = a;
    }
    free(line);
    fclose(in);
    fprintf(stderr, "classify-bench: %zu articles from %s (%zu lines refused by the parser)\n",
            c->len, path, bad);
    return c->len > 0 ? 0 : -1;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: on a shared machine, what a round cost without the waits for a CPU. */
static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(const char *label, const char *text, size_t len, const struct corpus *c,
                 int rounds)
{
    struct classify_engine_stats st;
    struct np_err err;
    double t0 = now();
    struct classify_engine *e = classify_engine_load_json(text, len, &err);
    double load_ms = (now() - t0) * 1000;

    if (e == NULL) {
        fprintf(stderr, "classify-bench: taxonomy %s invalid: %s\n", label, err.msg);
        return -1;
    }
    classify_engine_stats(e, &st);
    classify_engine_set_model(e, model);
    size_t given = 0;
    double best = 1e30;
    double best_cpu = 1e30;
    double total = 0;
    struct np_buf out = { 0 };
    for (int r = 0; r <= rounds; r++) { /* round 0 warms up */
        double start = now();
        double start_cpu = cpu_now();
        for (size_t i = 0; i < c->len; i++) {
            struct np_article_view v;

            np_article_view_of(c->items[i], &v);
            np_buf_reset(&out);
            if (classify_engine_write(e, &v, &out) != 0) {
                fprintf(stderr, "classify-bench: out of memory\n");
                free(out.p);
                classify_engine_destroy(&e);
                return -1;
            }
            if (r == 0) {
                given += classify_engine_ntags(e);
                given += model != NULL ? classify_model_ngiven(model) : 0;
            }
        }
        double dt = now() - start;
        double dt_cpu = cpu_now() - start_cpu;
        if (r > 0) {
            total += dt;
            best = dt < best ? dt : best;
            best_cpu = dt_cpu < best_cpu ? dt_cpu : best_cpu;
        }
    }
    free(out.p);
    double per = total / rounds;
    printf("taxonomy=%s tags=%zu entities=%zu phrases=%zu states=%zu load_ms=%.1f articles=%zu "
           "rounds=%d tags/article=%.2f articles/s=%.0f best_articles/s=%.0f MB/s=%.1f "
           "us/article=%.2f best_cpu_us/article=%.2f\n",
           label, st.tags, st.entities, st.phrases, st.states, load_ms, c->len, rounds,
           (double)given / (double)c->len, (double)c->len / per, (double)c->len / best,
           (double)c->bytes / per / 1e6, per / (double)c->len * 1e6,
           best_cpu / (double)c->len * 1e6);
    if (model != NULL) {
        struct classify_model_stats ms;
        struct rusage ru;

        classify_model_stats(model, &ms);
        getrusage(RUSAGE_SELF, &ru);
        printf("model tags=%zu features=%zu weighted=%zu weights=%zu buckets=%zu file_bytes=%zu "
               "memory_bytes=%zu max_rss_mb=%.1f\n",
               ms.tags, ms.features, ms.weighted, ms.weights, ms.buckets, ms.file_bytes,
               ms.memory_bytes, (double)ru.ru_maxrss / 1024);
    }
    fflush(stdout);
    classify_engine_destroy(&e);
    return 0;
}

/* ---- the ten-times taxonomy ---- */

static const char *const fillers[] = { "said", "the", "and", "of", "to", "in", "for", "on" };

/*
 * Copy k of a phrase text. k = 0: the phrase itself. Mode "rare": the last word gets a letter
 * appended ("crude oil" -> "crude oilq"), and odd copies also a common word in front ("the
 * crude oilq"): the vocabulary, the automaton and the partial matches grow tenfold but the
 * copies seldom match, so the output stays about the size of the original's. Mode "matching":
 * odd copies get a common word in front, even copies a changed ending (plural, -ing, -ed, -er,
 * a shorter wildcard, when a letter ends up before the '*'): they match often, so more tags are
 * given and the output grows.
 */
static json_t *perturb_text(const char *text, int k, bool matching)
{
    size_t n = strlen(text);
    bool star = n > 0 && text[n - 1] == '*';
    int base = (int)(star ? n - 1 : n);
    const char *st = star ? "*" : "";
    char buf[1024];

    if (k == 0) {
        return json_string(text);
    }
    if (!matching) {
        snprintf(buf, sizeof(buf), "%s%s%.*s%c%s", k % 2 ? fillers[(k / 2) % 8] : "",
                 k % 2 ? " " : "", base, text, "-qxzjvkwyf"[k], st);
        return json_string(buf);
    }
    if (k % 2 == 1) {
        snprintf(buf, sizeof(buf), "%s %s", fillers[(k / 2) % 8], text);
    } else if (k == 4 && !star && base >= 5 && isalpha((unsigned char)text[base - 2])) {
        snprintf(buf, sizeof(buf), "%.*s*", base - 1, text);
    } else {
        static const char *const suffix[] = { "", "", "s", "", "ing", "", "ed", "", "er" };
        snprintf(buf, sizeof(buf), "%.*s%s%s", base, text, suffix[k], st);
    }
    return json_string(buf);
}

static json_t *perturb_phrase(json_t *ph, int k, bool matching)
{
    if (json_is_string(ph)) {
        return perturb_text(json_string_value(ph), k, matching);
    }
    json_t *o = json_deep_copy(ph);
    json_object_set_new(
        o, "phrase", perturb_text(json_string_value(json_object_get(ph, "phrase")), k, matching));
    return o;
}

static json_t *perturb_list(json_t *arr, int k, bool matching)
{
    json_t *out = json_array();

    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_array_append_new(out, perturb_phrase(json_array_get(arr, i), k, matching));
    }
    return out;
}

static json_t *renamed(json_t *name, int k)
{
    char buf[512];

    if (k == 0) {
        return json_incref(name);
    }
    snprintf(buf, sizeof(buf), "%s #%d", json_string_value(name), k);
    return json_string(buf);
}

static json_t *copy_tag(json_t *tag, int k, bool matching)
{
    json_t *t = json_deep_copy(tag);
    json_t *all = json_object_get(t, "all");

    json_object_set_new(t, "name", renamed(json_object_get(tag, "name"), k));
    if (json_object_get(tag, "any") != NULL) {
        json_object_set_new(t, "any", perturb_list(json_object_get(tag, "any"), k, matching));
    }
    if (json_object_get(tag, "none") != NULL) {
        json_object_set_new(t, "none", perturb_list(json_object_get(tag, "none"), k, matching));
    }
    for (size_t g = 0; g < json_array_size(all); g++) {
        json_t *grp = json_array_get(all, g);
        if (json_object_get(grp, "any") != NULL) {
            json_object_set_new(grp, "any", perturb_list(json_object_get(grp, "any"), k, matching));
        }
        if (json_object_get(grp, "entity") != NULL) {
            json_object_set_new(grp, "entity", renamed(json_object_get(grp, "entity"), k));
        }
    }
    return t;
}

static char *build_x10(const char *text, size_t len, bool matching)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *ents = json_array();
    json_t *tags = json_array();
    char *out = NULL;

    if (root == NULL) {
        return NULL;
    }
    for (int k = 0; k < COPIES; k++) {
        json_t *src = json_object_get(root, "entities");
        for (size_t i = 0; i < json_array_size(src); i++) {
            json_t *e = json_deep_copy(json_array_get(src, i));
            json_object_set_new(e, "name", renamed(json_object_get(e, "name"), k));
            json_object_set_new(e, "aliases",
                                perturb_list(json_object_get(e, "aliases"), k, matching));
            json_array_append_new(ents, e);
        }
        src = json_object_get(root, "tags");
        for (size_t i = 0; i < json_array_size(src); i++) {
            json_array_append_new(tags, copy_tag(json_array_get(src, i), k, matching));
        }
    }
    json_object_set_new(root, "entities", ents);
    json_object_set_new(root, "tags", tags);
    out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: classify-bench [--taxonomy FILE] [--model FILE] [--rounds N] "
                    "[--synthetic-x10 | --x10-only] "
                    "[ARTICLES.jsonl]\n");
}

/* The model the worker would load with this taxonomy and --model (classify_engine_model_path():
 * none, the file given, or the one the taxonomy names). Returns 0, or -1 when it cannot load. */
static int load_model(const char *tax_path, const char *model_arg)
{
    struct np_err err;
    struct classify_engine *e = classify_engine_load(tax_path, &err);
    const char *path = e != NULL ? classify_engine_model_path(e, model_arg) : NULL;

    if (path != NULL) {
        model = classify_model_load(path, &err);
        if (model == NULL) {
            fprintf(stderr, "classify-bench: model invalid: %s: %s\n", path, err.msg);
        }
    }
    classify_engine_destroy(&e);
    return path != NULL && model == NULL ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *tax_path = NULL;
    const char *articles = NP_SHARED_DATA_DIR "/reuters-train.jsonl";
    const char *label = "custom";
    const char *model_arg = NULL;
    bool x10 = false;
    bool x10_only = false;
    long rounds = 5;
    struct corpus c = { 0 };
    size_t len = 0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--taxonomy") == 0 && i + 1 < argc) {
            tax_path = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model_arg = argv[++i];
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--synthetic-x10") == 0) {
            x10 = true;
        } else if (strcmp(argv[i], "--x10-only") == 0) {
            x10 = true;
            x10_only = true;
        } else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            articles = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (rounds < 1 || rounds > 1000) {
        usage();
        return 2;
    }
    if (tax_path == NULL) {
        tax_path = NP_SOURCE_DIR "/config/taxonomy.json";
        label = "default";
        if (access(tax_path, R_OK) != 0) {
            tax_path = NP_SOURCE_DIR "/tests/data/taxonomy/synthetic-45.json";
            label = "synthetic-45";
        }
    }
    if (load_model(tax_path, model_arg) != 0) {
        return 2;
    }
    char *text = read_all(tax_path, &len);
    char *big = NULL;
    if (text == NULL) {
        fprintf(stderr, "classify-bench: cannot read \"%s\"\n", tax_path);
        goto out;
    }
    if (load_corpus(articles, &c) != 0) {
        goto out;
    }
    if (!x10_only && bench(label, text, len, &c, (int)rounds) != 0) {
        goto out;
    }
    for (int m = 0; x10 && m < (x10_only ? 1 : 2); m++) {
        char blabel[64];
        free(big);
        big = build_x10(text, len, m == 1);
        snprintf(blabel, sizeof(blabel), "%s-x10-%s", label, m == 1 ? "matching" : "rare");
        if (big == NULL || bench(blabel, big, strlen(big), &c, (int)rounds) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    free(text);
    free(big);
    for (size_t i = 0; i < c.len; i++) {
        np_article_destroy(&c.items[i]);
    }
    free(c.items);
    classify_model_destroy(&model);
    return rc;
}
