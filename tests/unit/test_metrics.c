/* test_metrics.c - the metrics registry and its Prometheus text rendering */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "np/err.h"
#include "np/metrics.h"

#define MAX_NAMES 1024

static const double bounds3[] = { 0.1, 1, 10 };

/* A parsed label set: up to 16 name/value pairs, values unescaped. */
struct labelset {
    size_t n;
    char names[16][64];
    char values[16][512];
};

/* Unescapes the label value after its opening quote into out; returns what follows the quote. */
static const char *parse_value(const char *s, char *out, size_t size)
{
    size_t len = 0;

    while (*s != '"') {
        char c = *s;

        assert_true(c != '\0' && c != '\n');
        if (c == '\\') {
            s++;
            assert_true(*s == '\\' || *s == '"' || *s == 'n');
            c = *s;
            if (c == 'n') {
                c = '\n';
            }
        }
        assert_true(len + 1 < size);
        out[len++] = c;
        s++;
    }
    out[len] = '\0';
    return s + 1;
}

/*
 * Parses `{name="value",...}` at *p (after the metric name) into ls, unescaping values, and
 * moves *p past the closing brace. Fails the test on any syntax error.
 */
static void parse_labels(const char **p, struct labelset *ls)
{
    const char *s = *p;

    ls->n = 0;
    if (*s != '{') {
        return;
    }
    s++;
    while (*s != '}') {
        size_t nlen = 0;

        assert_true(ls->n < 16);
        while (*s != '=') {
            assert_true((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
                        (nlen > 0 && *s >= '0' && *s <= '9'));
            assert_true(nlen < 63);
            ls->names[ls->n][nlen++] = *s++;
        }
        ls->names[ls->n][nlen] = '\0';
        s++;
        assert_int_equal(*s, '"');
        s = parse_value(s + 1, ls->values[ls->n], sizeof(ls->values[0]));
        ls->n++;
        if (*s == ',') {
            s++;
        } else {
            assert_int_equal(*s, '}');
        }
    }
    *p = s + 1;
}

static bool name_in(char (*names)[160], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Checks a whole exposition: each family has one # HELP then one # TYPE line, families are
 * never split, sample names belong to the current family (with _bucket/_sum/_count for
 * histograms), labels parse, values are numbers. Returns the number of sample lines.
 */
static size_t check_exposition(const char *text)
{
    static char families[MAX_NAMES][160];
    size_t nfamilies = 0;
    size_t samples = 0;
    char family[160] = "";
    char type[16] = "";
    const char *line = text;

    assert_true(text[0] == '\0' || text[strlen(text) - 1] == '\n');
    while (*line != '\0') {
        const char *eol = strchr(line, '\n');
        char name[160];
        size_t n = 0;

        assert_non_null(eol);
        if (strncmp(line, "# HELP ", 7) == 0) {
            const char *p = line + 7;

            while (*p != ' ' && *p != '\n') {
                name[n++] = *p++;
            }
            name[n] = '\0';
            assert_false(name_in(families, nfamilies, name));
            assert_true(nfamilies < MAX_NAMES);
            snprintf(families[nfamilies++], sizeof(families[0]), "%s", name);
            snprintf(family, sizeof(family), "%s", name);
            type[0] = '\0';
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            const char *p = line + 7;

            assert_true(strncmp(p, family, strlen(family)) == 0);
            p += strlen(family);
            assert_int_equal(*p, ' ');
            p++;
            assert_true(eol - p < (long)sizeof(type));
            memcpy(type, p, (size_t)(eol - p));
            type[eol - p] = '\0';
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
        } else {
            const char *p = line;
            struct labelset ls;
            char *end = NULL;
            size_t flen = strlen(family);

            assert_true(type[0] != '\0');
            while (*p != '{' && *p != ' ') {
                name[n++] = *p++;
            }
            name[n] = '\0';
            if (strcmp(type, "histogram") == 0) {
                assert_true(strncmp(name, family, flen) == 0);
                assert_true(strcmp(name + flen, "_bucket") == 0 ||
                            strcmp(name + flen, "_sum") == 0 || strcmp(name + flen, "_count") == 0);
            } else {
                assert_string_equal(name, family);
            }
            parse_labels(&p, &ls);
            assert_int_equal(*p, ' ');
            p++;
            (void)strtod(p, &end);
            assert_true(end == eol);
            samples++;
        }
        line = eol + 1;
    }
    return samples;
}

/* Returns the value of the sample line "<key> <value>" in text; fails if absent or repeated. */
static double sample_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *line = text;
    double v = NAN;
    int found = 0;

    while (*line != '\0') {
        const char *eol = strchr(line, '\n');

        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            v = strtod(line + klen + 1, NULL);
            found++;
        }
        line = eol + 1;
    }
    if (found != 1) {
        fail_msg("sample \"%s\" found %d times in:\n%s", key, found, text);
    }
    return v;
}

static size_t count_prefix(const char *text, const char *prefix)
{
    size_t count = 0;
    size_t plen = strlen(prefix);

    for (const char *line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (strncmp(line, prefix, plen) == 0) {
            count++;
        }
    }
    return count;
}

/* Renders m, checks the result's syntax and returns it (free() it). Not inlined: inlined, GCC 12
 * at -O3 takes the address of its local `text`, passed out, for what the caller's pointers into
 * the text point at, and warns that they dangle (-Wdangling-pointer, a false positive). */
static __attribute__((noinline)) char *render(struct np_metrics *m)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(np_metrics_render(m, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    check_exposition(text);
    return text;
}

static int setup(void **state)
{
    struct np_metrics *m = np_metrics_new("ingest");

    if (m == NULL) {
        return -1;
    }
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    struct np_metrics *m = *state;

    np_metrics_destroy(&m);
    assert_null(m);
    return 0;
}

static void test_counter_renders_help_type_value(void **state)
{
    struct np_metrics *m = *state;
    struct np_counter *c = np_metrics_counter(m, "received_total", "Messages received.", NULL);
    char *text;

    assert_non_null(c);
    np_counter_add(c, 41);
    np_counter_inc(c);
    assert_int_equal(np_counter_value(c), 42);
    text = render(m);
    assert_non_null(strstr(text, "# HELP newspipe_received_total Messages received.\n"
                                 "# TYPE newspipe_received_total counter\n"
                                 "newspipe_received_total 42\n"));
    assert_true(sample_value(text, "newspipe_received_total") == 42);
    free(text);
}

static void test_default_metrics_present(void **state)
{
    struct np_metrics *m = *state;
    char *text = render(m);

    assert_true(sample_value(text, "newspipe_info{service=\"ingest\"}") == 1);
    assert_true(sample_value(text, "newspipe_process_start_time_seconds") > 1.6e9);
    assert_true(sample_value(text, "newspipe_metrics_overflow_total") == 0);
    assert_non_null(strstr(text, "# TYPE newspipe_info gauge\n"));
    free(text);
}

static void test_same_name_and_labels_returns_same_series(void **state)
{
    struct np_metrics *m = *state;
    struct np_counter *a = np_metrics_counter(m, "rejected_total", "Rejected.", "reason=\"title\"");
    struct np_counter *b =
        np_metrics_counter(m, "rejected_total", "other help", "reason=\"title\"");
    struct np_counter *c = np_metrics_counter(m, "rejected_total", NULL, "reason=\"body\"");
    struct np_counter *d = np_metrics_counter(m, "rejected_total", NULL, NULL);
    struct np_counter *e = np_metrics_counter(m, "rejected_total", NULL, "");
    char *text;

    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_non_null(c);
    assert_ptr_not_equal(a, c);
    assert_non_null(d);
    assert_ptr_equal(d, e);
    np_counter_add(a, 2);
    np_counter_add(b, 3);
    np_counter_add(c, 1);
    text = render(m);
    assert_true(sample_value(text, "newspipe_rejected_total{reason=\"title\"}") == 5);
    assert_true(sample_value(text, "newspipe_rejected_total{reason=\"body\"}") == 1);
    assert_true(sample_value(text, "newspipe_rejected_total") == 0);
    assert_int_equal(count_prefix(text, "# HELP newspipe_rejected_total Rejected.\n"), 1);
    assert_int_equal(count_prefix(text, "# TYPE newspipe_rejected_total"), 1);
    free(text);
}

static void test_families_stay_grouped(void **state)
{
    struct np_metrics *m = *state;
    char name[32];
    char *text;
    const char *x1;
    const char *x2;
    const char *y;

    np_counter_inc(np_metrics_counter(m, "x_total", "X.", "k=\"1\""));
    np_gauge_set(np_metrics_gauge(m, "y", "Y.", NULL), 5);
    np_counter_inc(np_metrics_counter(m, "x_total", "X.", "k=\"2\""));
    for (int i = 0; i < 40; i++) { /* enough families to grow the family array */
        snprintf(name, sizeof(name), "family_%d_total", i);
        assert_non_null(np_metrics_counter(m, name, "Many.", NULL));
    }
    text = render(m);
    x1 = strstr(text, "newspipe_x_total{k=\"1\"} 1\n");
    x2 = strstr(text, "newspipe_x_total{k=\"2\"} 1\n");
    y = strstr(text, "newspipe_y 5\n");
    assert_non_null(x1);
    assert_non_null(x2);
    assert_non_null(y);
    assert_true(x1 < x2 && x2 < y);
    assert_ptr_equal(x2, x1 + strlen("newspipe_x_total{k=\"1\"} 1\n"));
    assert_int_equal(count_prefix(text, "# TYPE newspipe_family_"), 40);
    free(text);
}

static void test_type_conflict_returns_null(void **state)
{
    struct np_metrics *m = *state;

    assert_non_null(np_metrics_counter(m, "things_total", "Things.", NULL));
    assert_null(np_metrics_gauge(m, "things_total", "Things.", NULL));
    assert_null(np_metrics_histogram(m, "things_total", "Things.", NULL, bounds3, 3));
    assert_null(np_metrics_counter(m, "info", "clashes with the built-in gauge", NULL));
}

static void test_malformed_names_and_labels_return_null(void **state)
{
    struct np_metrics *m = *state;
    char long_name[NP_METRICS_NAME_MAX + 1];
    static const char *const bad_names[] = { "", "1abc", "a-b", "a b", "é", "a\n" };
    static const char *const bad_labels[] = {
        "reason=title",   "reason=\"a",      "reason=\"a\\q\"", " reason=\"a\"",
        "reason=\"a\" ",  "a=\"1\",a=\"2\"", "__x=\"1\"",       "=\"1\"",
        "1a=\"1\"",       "a=\"1\",",        "a=\"x\ny\"",      "a=\"\xff\"",
        "a=\"\xc0\xaf\"", "a=\"1\"b=\"2\"",  "a=\"1\"}",        "a-b=\"1\"",
    };

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        assert_null(np_metrics_counter(m, bad_names[i], "Bad.", NULL));
    }
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_null(np_metrics_counter(m, long_name, "Too long.", NULL));
    assert_null(np_metrics_counter(m, NULL, "No name.", NULL));
    assert_null(np_metrics_counter(NULL, "ok_total", "No registry.", NULL));
    for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
        assert_null(np_metrics_counter(m, "ok_total", "Bad labels.", bad_labels[i]));
    }
    assert_null(np_metrics_histogram(m, "lat_seconds", "le is reserved.", "le=\"1\"", bounds3, 3));
    assert_non_null(np_metrics_counter(m, "ok_total", "Fine.", "a=\"1\",b_2=\"x\\\\y\\\"z\\n\""));
    assert_non_null(np_metrics_counter(m, "colon:ok_total", "Fine.", "a=\"caf\xc3\xa9\""));

    /* Updates through NULL are no-ops. */
    np_counter_add(NULL, 1);
    np_counter_inc(NULL);
    np_gauge_set(NULL, 1);
    np_gauge_add(NULL, 1);
    np_histogram_observe(NULL, 1);
    assert_int_equal(np_counter_value(NULL), 0);
    assert_true(np_gauge_value(NULL) == 0);
    assert_int_equal(np_histogram_count(NULL), 0);
    np_metrics_destroy(NULL);
    assert_null(np_metrics_new(NULL));
}

static void test_label_escaping_round_trips(void **state)
{
    struct np_metrics *m = *state;
    const char *raw = "say \"hi\"\\path\nnext";
    char labels[128];
    char *text;
    const char *line;
    struct labelset ls;

    assert_int_equal(np_metrics_label(labels, sizeof(labels), "reason", raw), 0);
    assert_string_equal(labels, "reason=\"say \\\"hi\\\"\\\\path\\nnext\"");
    np_counter_add(np_metrics_counter(m, "rejected_total", "Rejected.", labels), 3);
    text = render(m);
    line = strstr(text, "newspipe_rejected_total{");
    assert_non_null(line);
    line += strlen("newspipe_rejected_total");
    parse_labels(&line, &ls);
    assert_int_equal(ls.n, 1);
    assert_string_equal(ls.names[0], "reason");
    assert_string_equal(ls.values[0], raw);
    assert_string_equal(line, " 3\n");
    free(text);
}

static void test_label_helper_cuts_safely(void **state)
{
    struct np_metrics *m = *state;
    char small[16];
    char buf[64];

    (void)m;
    /* `r="` + 10 bytes + `"` + NUL = 15 of 16: the escape \" (2 bytes) does not fit whole. */
    assert_int_equal(np_metrics_label(small, sizeof(small), "r", "abcdefghij\"k"), NP_ETOOBIG);
    assert_string_equal(small, "r=\"abcdefghij\"");
    assert_non_null(np_metrics_counter(m, "cut_total", "Cut.", small));
    /* A two-byte UTF-8 character is never split. */
    assert_int_equal(np_metrics_label(small, sizeof(small), "r", "abcdefghij\xc3\xa9"), NP_ETOOBIG);
    assert_string_equal(small, "r=\"abcdefghij\"");
    /* Bytes that are not UTF-8 become '?'. */
    assert_int_equal(np_metrics_label(buf, sizeof(buf), "r",
                                      "a\xff"
                                      "b\xc3"),
                     0);
    assert_string_equal(buf, "r=\"a?b?\"");
    assert_non_null(np_metrics_counter(m, "cut_total", "Cut.", buf));
    assert_int_equal(np_metrics_label(buf, sizeof(buf), "1r", "x"), NP_EINVAL);
    assert_int_equal(np_metrics_label(buf, sizeof(buf), "r=", "x"), NP_EINVAL);
    assert_int_equal(np_metrics_label(buf, 4, "r", "x"), NP_EINVAL);
    assert_int_equal(np_metrics_label(buf, 5, "r", "x"), NP_ETOOBIG);
    assert_string_equal(buf, "r=\"\"");
}

static void test_help_is_escaped(void **state)
{
    struct np_metrics *m = *state;
    char *text;

    assert_non_null(np_metrics_counter(m, "odd_total", "Back\\slash and\nnewline \"kept\".", NULL));
    assert_non_null(np_metrics_counter(m, "nohelp_total", NULL, NULL));
    text = render(m);
    assert_non_null(
        strstr(text, "# HELP newspipe_odd_total Back\\\\slash and\\nnewline \"kept\".\n"));
    assert_non_null(strstr(text, "# HELP newspipe_nohelp_total\n# TYPE newspipe_nohelp_total"));
    free(text);
}

static void test_gauge_values_render(void **state)
{
    struct np_metrics *m = *state;
    struct np_gauge *g = np_metrics_gauge(m, "inflight", "In flight.", NULL);
    struct np_gauge *tenth = np_metrics_gauge(m, "ratio", "Ratio.", "k=\"tenth\"");
    struct np_gauge *inf = np_metrics_gauge(m, "ratio", "Ratio.", "k=\"inf\"");
    struct np_gauge *ninf = np_metrics_gauge(m, "ratio", "Ratio.", "k=\"ninf\"");
    struct np_gauge *nan = np_metrics_gauge(m, "ratio", "Ratio.", "k=\"nan\"");
    struct np_gauge *big = np_metrics_gauge(m, "ratio", "Ratio.", "k=\"big\"");
    char *text;

    np_gauge_set(g, 3);
    np_gauge_add(g, -1.5);
    assert_true(np_gauge_value(g) == 1.5);
    np_gauge_add(g, -2);
    np_gauge_set(tenth, 0.1);
    np_gauge_set(inf, INFINITY);
    np_gauge_set(ninf, -INFINITY);
    np_gauge_set(nan, NAN);
    np_gauge_set(big, 9007199254740993.0); /* rounds to 2^53 */
    text = render(m);
    assert_non_null(strstr(text, "# TYPE newspipe_inflight gauge\nnewspipe_inflight -0.5\n"));
    assert_non_null(strstr(text, "newspipe_ratio{k=\"tenth\"} 0.1\n"));
    assert_non_null(strstr(text, "newspipe_ratio{k=\"inf\"} +Inf\n"));
    assert_non_null(strstr(text, "newspipe_ratio{k=\"ninf\"} -Inf\n"));
    assert_non_null(strstr(text, "newspipe_ratio{k=\"nan\"} NaN\n"));
    assert_true(sample_value(text, "newspipe_ratio{k=\"big\"}") == 9007199254740992.0);
    free(text);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    struct np_metrics *m = *state;
    struct np_histogram *h =
        np_metrics_histogram(m, "latency_seconds", "Latency.", NULL, bounds3, 3);
    struct np_histogram *hl =
        np_metrics_histogram(m, "latency_seconds", "Latency.", "op=\"x\"", bounds3, 3);
    char *text;

    assert_non_null(h);
    assert_non_null(hl);
    np_histogram_observe(h, 0.05);
    np_histogram_observe(h, 0.1); /* le is inclusive */
    np_histogram_observe(h, 5);
    np_histogram_observe(h, 100);
    np_histogram_observe(h, NAN); /* ignored */
    np_histogram_observe(hl, -1);
    assert_int_equal(np_histogram_count(h), 4);
    text = render(m);
    assert_non_null(strstr(text, "# TYPE newspipe_latency_seconds histogram\n"
                                 "newspipe_latency_seconds_bucket{le=\"0.1\"} 2\n"
                                 "newspipe_latency_seconds_bucket{le=\"1\"} 2\n"
                                 "newspipe_latency_seconds_bucket{le=\"10\"} 3\n"
                                 "newspipe_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                                 "newspipe_latency_seconds_sum 105.15\n"
                                 "newspipe_latency_seconds_count 4\n"));
    assert_true(sample_value(text, "newspipe_latency_seconds_bucket{op=\"x\",le=\"0.1\"}") == 1);
    assert_true(sample_value(text, "newspipe_latency_seconds_bucket{op=\"x\",le=\"+Inf\"}") == 1);
    assert_true(sample_value(text, "newspipe_latency_seconds_sum{op=\"x\"}") == -1);
    assert_true(sample_value(text, "newspipe_latency_seconds_count{op=\"x\"}") == 1);
    free(text);
}

static void test_histogram_bad_bounds_return_null(void **state)
{
    struct np_metrics *m = *state;
    static const double unsorted[] = { 1, 0.5 };
    static const double repeated[] = { 1, 1 };
    static const double infinite[] = { 1, INFINITY };
    static const double other[] = { 0.1, 1, 20 };
    double many[NP_METRICS_MAX_BUCKETS + 1];

    for (size_t i = 0; i < NP_METRICS_MAX_BUCKETS + 1; i++) {
        many[i] = (double)i;
    }
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, unsorted, 2));
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, repeated, 2));
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, infinite, 2));
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, NULL, 3));
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, bounds3, 0));
    assert_null(np_metrics_histogram(m, "h", "H.", NULL, many, NP_METRICS_MAX_BUCKETS + 1));
    assert_non_null(np_metrics_histogram(m, "h", "H.", NULL, many, NP_METRICS_MAX_BUCKETS));
    assert_non_null(np_metrics_histogram(m, "h2", "H.", NULL, bounds3, 3));
    assert_null(np_metrics_histogram(m, "h2", "H.", "a=\"1\"", other, 3));
    assert_null(np_metrics_histogram(m, "h2", "H.", "a=\"1\"", bounds3, 2));
    assert_non_null(np_metrics_histogram(m, "lat", "H.", NULL, np_metrics_latency_bounds,
                                         np_metrics_latency_bounds_len));
    assert_non_null(np_metrics_histogram(m, "batch", "H.", NULL, np_metrics_batch_bounds,
                                         np_metrics_batch_bounds_len));
}

static void test_label_cap_folds_into_other(void **state)
{
    struct np_metrics *m = *state;
    char labels[64];
    char value[32];
    char *text;
    size_t extra = 44;

    for (size_t i = 0; i < NP_METRICS_MAX_SERIES + extra; i++) {
        snprintf(value, sizeof(value), "reason %zu", i);
        assert_int_equal(np_metrics_label(labels, sizeof(labels), "reason", value), 0);
        np_counter_inc(np_metrics_counter(m, "rejected_total", "Rejected.", labels));
    }
    /* Known label sets still map to their own series. */
    np_counter_inc(np_metrics_counter(m, "rejected_total", "Rejected.", "reason=\"reason 0\""));
    text = render(m);
    assert_int_equal(count_prefix(text, "newspipe_rejected_total{"), NP_METRICS_MAX_SERIES + 1);
    assert_true(sample_value(text, "newspipe_rejected_total{reason=\"reason 0\"}") == 2);
    assert_true(sample_value(text, "newspipe_rejected_total{reason=\"reason 255\"}") == 1);
    assert_true(sample_value(text, "newspipe_rejected_total{other=\"true\"}") == (double)extra);
    assert_true(sample_value(text, "newspipe_metrics_overflow_total") == (double)extra);
    free(text);
}

static void test_long_labels_fold_into_other(void **state)
{
    struct np_metrics *m = *state;
    char labels[NP_METRICS_LABELS_MAX + 64];
    char value[NP_METRICS_LABELS_MAX + 32];
    char *text;

    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(np_metrics_label(labels, sizeof(labels), "reason", value), 0);
    assert_true(strlen(labels) > NP_METRICS_LABELS_MAX);
    np_counter_inc(np_metrics_counter(m, "rejected_total", "Rejected.", labels));
    text = render(m);
    assert_true(sample_value(text, "newspipe_rejected_total{other=\"true\"}") == 1);
    free(text);
}

static void test_family_limit_returns_null(void **state)
{
    struct np_metrics *m = *state;
    char name[32];
    size_t made = 0;

    for (int i = 0; i < NP_METRICS_MAX_FAMILIES + 10; i++) {
        snprintf(name, sizeof(name), "f%d_total", i);
        if (np_metrics_counter(m, name, "F.", NULL) != NULL) {
            made++;
        }
    }
    assert_int_equal(made, NP_METRICS_MAX_FAMILIES - 3); /* the three built-in families */
    assert_non_null(np_metrics_counter(m, "f0_total", "F.", NULL));
    free(render(m));
}

/* The writer of test_render_while_updating: the worker loop's side. */
struct writer {
    struct np_metrics *m;
    struct np_counter *c;
    struct np_histogram *h;
    struct np_gauge *g;
    uint64_t iterations;
    atomic_bool done;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char labels[64];
    char value[32];

    for (uint64_t i = 1; i <= w->iterations; i++) {
        np_counter_inc(w->c);
        np_histogram_observe(w->h, (double)(i % 20));
        np_gauge_set(w->g, (double)i);
        if (i % 500 == 0) { /* registers while the reader renders, past the cap too */
            /* No cmocka assertions off the main thread: they cannot unwind it. */
            snprintf(value, sizeof(value), "r%" PRIu64, i);
            np_metrics_label(labels, sizeof(labels), "reason", value);
            np_counter_inc(np_metrics_counter(w->m, "dyn_total", "Dynamic.", labels));
        }
    }
    atomic_store(&w->done, true);
    return NULL;
}

static void test_render_while_updating(void **state)
{
    struct np_metrics *m = *state;
    struct writer w = { 0 };
    pthread_t tid;
    double last = 0;
    int renders = 0;
    char *text;

    w.m = m;
    w.iterations = 300000;
    w.c = np_metrics_counter(m, "work_total", "Work.", NULL);
    w.h = np_metrics_histogram(m, "work_seconds", "Work.", NULL, bounds3, 3);
    w.g = np_metrics_gauge(m, "work_last", "Work.", NULL);
    atomic_init(&w.done, false);
    assert_int_equal(pthread_create(&tid, NULL, writer_main, &w), 0);
    while (!atomic_load(&w.done) || renders == 0) {
        double v;

        text = render(m);
        v = sample_value(text, "newspipe_work_total");
        assert_true(v >= last); /* a counter never goes back */
        last = v;
        free(text);
        renders++;
    }
    assert_int_equal(pthread_join(tid, NULL), 0);
    text = render(m);
    assert_true(sample_value(text, "newspipe_work_total") == (double)w.iterations);
    assert_true(sample_value(text, "newspipe_work_seconds_count") == (double)w.iterations);
    assert_true(sample_value(text, "newspipe_work_last") == (double)w.iterations);
    assert_true(sample_value(text, "newspipe_dyn_total{other=\"true\"}") ==
                (double)w.iterations / 500.0 - NP_METRICS_MAX_SERIES);
    free(text);
    print_message("rendered %d times while updating\n", renders);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counter_renders_help_type_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_metrics_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_name_and_labels_returns_same_series, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_families_stay_grouped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_conflict_returns_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_names_and_labels_return_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_label_escaping_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_helper_cuts_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_is_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge_values_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_buckets_are_cumulative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_bad_bounds_return_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_cap_folds_into_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_labels_fold_into_other, setup, teardown),
        cmocka_unit_test_setup_teardown(test_family_limit_returns_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_while_updating, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
