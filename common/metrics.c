/* metrics.c - counters, gauges and histograms, rendered as Prometheus text */

/*
 * Design. A registry holds families (one per metric name), each a linked list of series (one per
 * label set). Series are allocated once and never move or get freed before
 * np_metrics_destroy(), so the worker keeps plain pointers to them and updates them with
 * relaxed C11 atomics, without any lock. The registry mutex guards only the family array and
 * the series lists: registering and rendering take it, updates never do. Rendering reads each
 * atomic once; the values of one scrape are therefore not a consistent snapshot across metrics
 * (nor between a histogram's buckets and its sum), which Prometheus tolerates. The one order
 * kept: gauges are stored with release and loaded with acquire, so a reader that sees a value of
 * one gauge also sees the gauges set before it (ingest's publish_window relies on it; on x86 it
 * costs nothing over relaxed). A histogram's _count is computed from its buckets while
 * rendering, so _count always equals the +Inf bucket.
 *
 * Gauges and histogram sums are doubles stored as their bit pattern in an _Atomic uint64_t and
 * updated with a compare-exchange loop: C11 has no atomic add for floating point, and an
 * _Atomic double may need libatomic on some targets.
 *
 * Rejected: per-thread shards (one writer per metric makes them pointless), a hash table for
 * label sets (at most NP_METRICS_MAX_SERIES per name, looked up only when registering; workers
 * keep the returned pointer), and label sets given as name/value arrays (the text form is what
 * Prometheus prints, so tests and call sites read the same; np_metrics_label() escapes
 * untrusted values).
 */
#include "np/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "np/buf.h"
#include "np/err.h"
#include "np/utf8.h"

/* At most this many labels in one label set (duplicate names are checked against them). */
#define MAX_LABELS 16

#define OVERFLOW_LABELS "other=\"true\""

const double np_metrics_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

const size_t np_metrics_latency_bounds_len =
    sizeof(np_metrics_latency_bounds) / sizeof(np_metrics_latency_bounds[0]);

const double np_metrics_batch_bounds[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };

const size_t np_metrics_batch_bounds_len =
    sizeof(np_metrics_batch_bounds) / sizeof(np_metrics_batch_bounds[0]);

enum family_kind {
    KIND_COUNTER,
    KIND_GAUGE,
    KIND_HISTOGRAM,
};

static const char *const kind_names[] = { "counter", "gauge", "histogram" };

/* The part every series shares; the first member of each typed series. */
struct series {
    struct series *next; /* owned by the family's list */
    char *labels;        /* owned; "" when the series has no labels */
};

struct np_counter {
    struct series s;
    _Atomic uint64_t value;
};

struct np_gauge {
    struct series s;
    _Atomic uint64_t bits; /* a double's bit pattern */
};

struct np_histogram {
    struct series s;
    const double *bounds; /* borrowed from the family, lives as long as the registry */
    size_t n;
    _Atomic uint64_t sum_bits;  /* a double's bit pattern */
    _Atomic uint64_t buckets[]; /* n + 1 counts, not cumulative; the last is +Inf */
};

struct family {
    char *name; /* owned, with the prefix */
    char *help; /* owned */
    enum family_kind kind;
    double *bounds; /* owned, histograms only */
    size_t nbounds;
    struct series *head; /* owned list, in registration order */
    struct series *tail;
    size_t nseries; /* not counting the overflow series */
};

struct np_metrics {
    pthread_mutex_t lock;     /* guards families and every series list, never values */
    struct family **families; /* owned array of owned families */
    size_t nfamilies;
    size_t cap;
    struct np_counter *overflow; /* newspipe_metrics_overflow_total, borrowed from the registry */
};

static uint64_t double_bits(double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bits_double(uint64_t u)
{
    double v;

    memcpy(&v, &u, sizeof(v));
    return v;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n + 1);
    }
    return p;
}

static bool is_name_start(char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool is_name_char(char c, bool colon)
{
    return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Length of the label name at s (0 if s does not start with one). */
static size_t label_name_len(const char *s)
{
    size_t i = 0;

    if (!is_name_start(s[0], false)) {
        return 0;
    }
    while (is_name_char(s[i], false)) {
        i++;
    }
    return i;
}

static bool valid_metric_name(const char *name)
{
    if (name == NULL || !is_name_start(name[0], true)) {
        return false;
    }
    for (size_t i = 1; name[i] != '\0'; i++) {
        if (!is_name_char(name[i], true)) {
            return false;
        }
    }
    return strlen(NP_METRICS_PREFIX) + strlen(name) < NP_METRICS_NAME_MAX;
}

/* Length of the well-formed UTF-8 sequence at s, or 0; s is NUL-terminated. */
static size_t utf8_seq_len(const char *s)
{
    return np_utf8_seq_len(s, s + strnlen(s, 4), NULL);
}

/*
 * Checks one quoted label value starting after its opening quote; returns the length up to and
 * including the closing quote, or 0 if the value is malformed.
 */
static size_t label_value_len(const char *s)
{
    size_t i = 0;

    while (s[i] != '"') {
        size_t n;

        if (s[i] == '\0' || s[i] == '\n') {
            return 0;
        }
        if (s[i] == '\\') {
            if (s[i + 1] != '\\' && s[i + 1] != '"' && s[i + 1] != 'n') {
                return 0;
            }
            i += 2;
            continue;
        }
        n = utf8_seq_len(s + i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return i + 1;
}

/*
 * Checks a label set in text form: name="value" pairs separated by commas, no spaces, no
 * duplicate or reserved names ("__" prefix, "le" when for_histogram). "" is the empty set.
 */
static bool valid_labels(const char *labels, bool for_histogram)
{
    const char *names[MAX_LABELS];
    size_t lens[MAX_LABELS];
    size_t count = 0;
    const char *p = labels;

    if (*p == '\0') {
        return true;
    }
    for (;;) {
        size_t n = label_name_len(p);
        size_t v;

        if (n == 0 || count == MAX_LABELS || (n >= 2 && p[0] == '_' && p[1] == '_') ||
            (for_histogram && n == 2 && memcmp(p, "le", 2) == 0)) {
            return false;
        }
        for (size_t i = 0; i < count; i++) {
            if (lens[i] == n && memcmp(names[i], p, n) == 0) {
                return false;
            }
        }
        names[count] = p;
        lens[count] = n;
        count++;
        if (p[n] != '=' || p[n + 1] != '"') {
            return false;
        }
        p += n + 2;
        v = label_value_len(p);
        if (v == 0) {
            return false;
        }
        p += v;
        if (*p == '\0') {
            return true;
        }
        if (*p != ',') {
            return false;
        }
        p++;
    }
}

int np_metrics_label(char *buf, size_t size, const char *name, const char *value)
{
    size_t n;
    size_t pos;
    int rc = 0;

    if (buf == NULL || name == NULL || value == NULL) {
        return NP_EINVAL;
    }
    n = label_name_len(name);
    if (n == 0 || name[n] != '\0' || size < n + 4) {
        return NP_EINVAL;
    }
    memcpy(buf, name, n);
    buf[n] = '=';
    buf[n + 1] = '"';
    pos = n + 2;
    for (size_t i = 0; value[i] != '\0';) {
        const char *piece = value + i;
        size_t plen = utf8_seq_len(value + i);
        size_t step = plen;

        if (value[i] == '\\') {
            piece = "\\\\";
        } else if (value[i] == '"') {
            piece = "\\\"";
        } else if (value[i] == '\n') {
            piece = "\\n";
        } else if (plen == 0) {
            piece = "?"; /* a byte that is not UTF-8 */
            step = 1;
        }
        if (piece != value + i) {
            plen = strlen(piece);
        }
        if (pos + plen + 2 > size) { /* room for the closing quote and the NUL */
            rc = NP_ETOOBIG;
            break;
        }
        memcpy(buf + pos, piece, plen);
        pos += plen;
        i += step;
    }
    buf[pos] = '"';
    buf[pos + 1] = '\0';
    return rc;
}

static void family_free(struct family *f)
{
    struct series *s;

    if (f == NULL) {
        return;
    }
    s = f->head;
    while (s != NULL) {
        struct series *next = s->next;

        free(s->labels);
        free(s);
        s = next;
    }
    free(f->name);
    free(f->help);
    free(f->bounds);
    free(f);
}

void np_metrics_destroy(struct np_metrics **mp)
{
    struct np_metrics *m;

    if (mp == NULL || *mp == NULL) {
        return;
    }
    m = *mp;
    for (size_t i = 0; i < m->nfamilies; i++) {
        family_free(m->families[i]);
    }
    free(m->families);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *mp = NULL;
}

struct np_metrics *np_metrics_new(const char *service)
{
    struct np_metrics *m = NULL;
    struct np_gauge *info = NULL;
    struct np_gauge *start = NULL;
    char labels[NP_METRICS_LABELS_MAX];
    struct timespec now;

    if (service == NULL || np_metrics_label(labels, sizeof(labels), "service", service) != 0) {
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    info = np_metrics_gauge(m, "info", "Which newspipe service this is; always 1.", labels);
    start = np_metrics_gauge(m, "process_start_time_seconds",
                             "Start time of the process since the Unix epoch, in seconds.", NULL);
    m->overflow = np_metrics_counter(m, "metrics_overflow_total",
                                     "Registrations folded into the other=\"true\" series because "
                                     "a metric reached its label set limit.",
                                     NULL);
    if (info == NULL || start == NULL || m->overflow == NULL) {
        np_metrics_destroy(&m);
        return NULL;
    }
    np_gauge_set(info, 1);
    clock_gettime(CLOCK_REALTIME, &now);
    np_gauge_set(start, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
    return m;
}

/* Finds the family named name (with prefix), or NULL. Caller holds the lock. */
static struct family *find_family(struct np_metrics *m, const char *full)
{
    for (size_t i = 0; i < m->nfamilies; i++) {
        if (strcmp(m->families[i]->name, full) == 0) {
            return m->families[i];
        }
    }
    return NULL;
}

/* Adds a new family to the registry. Caller holds the lock. */
static struct family *add_family(struct np_metrics *m, const char *full, const char *help,
                                 enum family_kind kind, const double *bounds, size_t n)
{
    struct family *f = NULL;

    if (m->nfamilies == NP_METRICS_MAX_FAMILIES) {
        return NULL;
    }
    if (m->nfamilies == m->cap) {
        size_t cap = m->cap == 0 ? 16 : m->cap * 2;
        struct family **grown = realloc(m->families, cap * sizeof(struct family *));

        if (grown == NULL) {
            return NULL;
        }
        m->families = grown;
        m->cap = cap;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->kind = kind;
    f->name = dup_string(full);
    f->help = dup_string(help != NULL ? help : "");
    if (kind == KIND_HISTOGRAM) {
        f->bounds = malloc(n * sizeof(*f->bounds));
        f->nbounds = n;
        if (f->bounds != NULL) {
            memcpy(f->bounds, bounds, n * sizeof(*f->bounds));
        }
    }
    if (f->name == NULL || f->help == NULL || (kind == KIND_HISTOGRAM && f->bounds == NULL)) {
        family_free(f);
        return NULL;
    }
    m->families[m->nfamilies++] = f;
    return f;
}

static struct series *find_series(const struct family *f, const char *labels)
{
    for (struct series *s = f->head; s != NULL; s = s->next) {
        if (strcmp(s->labels, labels) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Allocates a series of the family's kind, zeroed, and appends it. Caller holds the lock. */
static struct series *add_series(struct family *f, const char *labels)
{
    struct series *s = NULL;
    size_t size = sizeof(struct np_counter);

    if (f->kind == KIND_GAUGE) {
        size = sizeof(struct np_gauge);
    } else if (f->kind == KIND_HISTOGRAM) {
        size = sizeof(struct np_histogram) + (f->nbounds + 1) * sizeof(_Atomic uint64_t);
    }
    s = calloc(1, size);
    if (s == NULL) {
        return NULL;
    }
    s->labels = dup_string(labels);
    if (s->labels == NULL) {
        free(s);
        return NULL;
    }
    /* calloc's zero bytes are a valid 0 for the atomics on every platform we target (and 0.0). */
    if (f->kind == KIND_HISTOGRAM) {
        struct np_histogram *h = (struct np_histogram *)s;

        h->bounds = f->bounds;
        h->n = f->nbounds;
        atomic_init(&h->sum_bits, double_bits(0.0));
        for (size_t i = 0; i <= h->n; i++) {
            atomic_init(&h->buckets[i], 0);
        }
    }
    if (f->tail == NULL) {
        f->head = s;
    } else {
        f->tail->next = s;
    }
    f->tail = s;
    return s;
}

static bool valid_bounds(const double *bounds, size_t n)
{
    if (bounds == NULL || n == 0 || n > NP_METRICS_MAX_BUCKETS) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            return false;
        }
    }
    return true;
}

/* Finds or creates the series, folding it into the overflow series past the limits. */
static struct series *lookup_locked(struct np_metrics *m, struct family *f, const char *labels)
{
    struct series *s = find_series(f, labels);

    if (s != NULL) {
        return s;
    }
    if (f->nseries < NP_METRICS_MAX_SERIES && strlen(labels) <= NP_METRICS_LABELS_MAX) {
        s = add_series(f, labels);
        if (s != NULL) {
            f->nseries++;
        }
        return s;
    }
    np_counter_inc(m->overflow);
    s = find_series(f, OVERFLOW_LABELS);
    if (s == NULL) {
        s = add_series(f, OVERFLOW_LABELS); /* one beyond the limit, never more */
    }
    return s;
}

static struct series *metrics_register(struct np_metrics *m, enum family_kind kind,
                                       const char *name, const char *help, const char *labels,
                                       const double *bounds, size_t n)
{
    char full[NP_METRICS_NAME_MAX];
    struct family *f = NULL;
    struct series *s = NULL;

    if (labels == NULL) {
        labels = "";
    }
    if (m == NULL || !valid_metric_name(name) || !valid_labels(labels, kind == KIND_HISTOGRAM) ||
        (kind == KIND_HISTOGRAM && !valid_bounds(bounds, n))) {
        return NULL;
    }
    snprintf(full, sizeof(full), "%s%s", NP_METRICS_PREFIX, name);
    pthread_mutex_lock(&m->lock);
    f = find_family(m, full);
    if (f == NULL) {
        f = add_family(m, full, help, kind, bounds, n);
    } else if (f->kind != kind ||
               (kind == KIND_HISTOGRAM &&
                (f->nbounds != n || memcmp(f->bounds, bounds, n * sizeof(*bounds)) != 0))) {
        f = NULL;
    }
    if (f != NULL) {
        s = lookup_locked(m, f, labels);
    }
    pthread_mutex_unlock(&m->lock);
    return s;
}

struct np_counter *np_metrics_counter(struct np_metrics *m, const char *name, const char *help,
                                      const char *labels)
{
    return (struct np_counter *)metrics_register(m, KIND_COUNTER, name, help, labels, NULL, 0);
}

struct np_gauge *np_metrics_gauge(struct np_metrics *m, const char *name, const char *help,
                                  const char *labels)
{
    return (struct np_gauge *)metrics_register(m, KIND_GAUGE, name, help, labels, NULL, 0);
}

struct np_histogram *np_metrics_histogram(struct np_metrics *m, const char *name, const char *help,
                                          const char *labels, const double *bounds, size_t n)
{
    return (struct np_histogram *)metrics_register(m, KIND_HISTOGRAM, name, help, labels, bounds,
                                                   n);
}

void np_counter_add(struct np_counter *c, uint64_t n)
{
    if (c != NULL) {
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
    }
}

void np_counter_inc(struct np_counter *c)
{
    np_counter_add(c, 1);
}

uint64_t np_counter_value(const struct np_counter *c)
{
    if (c == NULL) {
        return 0;
    }
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}

void np_gauge_set(struct np_gauge *g, double v)
{
    if (g != NULL) {
        atomic_store_explicit(&g->bits, double_bits(v), memory_order_release);
    }
}

/* Adds delta to the double stored in *bits. */
static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(bits, &old, double_bits(bits_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
        /* old now holds the current value; try again */
    }
}

void np_gauge_add(struct np_gauge *g, double delta)
{
    if (g != NULL) {
        atomic_add_double(&g->bits, delta);
    }
}

double np_gauge_value(const struct np_gauge *g)
{
    if (g == NULL) {
        return 0;
    }
    return bits_double(atomic_load_explicit(&g->bits, memory_order_acquire));
}

void np_histogram_observe(struct np_histogram *h, double v)
{
    size_t lo = 0;
    size_t hi;

    if (h == NULL || isnan(v)) {
        return;
    }
    /* The first bound >= v; h->n (the +Inf bucket) when there is none. */
    hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (h->bounds[mid] >= v) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

uint64_t np_histogram_count(const struct np_histogram *h)
{
    uint64_t total = 0;

    if (h == NULL) {
        return 0;
    }
    for (size_t i = 0; i <= h->n; i++) {
        total += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    }
    return total;
}

/*
 * Formats v as Prometheus reads it: "+Inf", "-Inf", "NaN", else the shortest of %.15g, %.16g
 * and %.17g that reads back as v exactly (so 0.1 prints as "0.1", not "0.10000000000000001").
 */
static void format_double(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

/* Writes "# HELP name text" with backslash and newline escaped, then "# TYPE name kind". */
static void render_header(struct np_buf *b, const struct family *f)
{
    np_buf_puts(b, "# HELP ");
    np_buf_puts(b, f->name);
    if (f->help[0] != '\0') {
        np_buf_puts(b, " ");
    }
    for (const char *p = f->help; *p != '\0'; p++) {
        if (*p == '\\') {
            np_buf_puts(b, "\\\\");
        } else if (*p == '\n') {
            np_buf_puts(b, "\\n");
        } else {
            np_buf_put(b, p, 1);
        }
    }
    np_buf_puts(b, "\n# TYPE ");
    np_buf_puts(b, f->name);
    np_buf_puts(b, " ");
    np_buf_puts(b, kind_names[f->kind]);
    np_buf_puts(b, "\n");
}

/* Writes one sample line: name[suffix]{labels[,extra]} value. */
static void render_sample(struct np_buf *b, const char *name, const char *suffix,
                          const char *labels, const char *extra, const char *value)
{
    bool has_labels = labels[0] != '\0';
    bool has_extra = extra != NULL && extra[0] != '\0';

    np_buf_puts(b, name);
    np_buf_puts(b, suffix);
    if (has_labels || has_extra) {
        np_buf_puts(b, "{");
        np_buf_puts(b, labels);
        if (has_labels && has_extra) {
            np_buf_puts(b, ",");
        }
        if (has_extra) {
            np_buf_puts(b, extra);
        }
        np_buf_puts(b, "}");
    }
    np_buf_puts(b, " ");
    np_buf_puts(b, value);
    np_buf_puts(b, "\n");
}

static void render_histogram(struct np_buf *b, const struct family *f, const struct np_histogram *h)
{
    char num[64];
    char le[80];
    char bound[40];
    uint64_t cumulative = 0;

    for (size_t i = 0; i <= h->n; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->n) {
            format_double(bound, sizeof(bound), h->bounds[i]);
        } else {
            snprintf(bound, sizeof(bound), "+Inf");
        }
        snprintf(le, sizeof(le), "le=\"%s\"", bound);
        snprintf(num, sizeof(num), "%" PRIu64, cumulative);
        render_sample(b, f->name, "_bucket", h->s.labels, le, num);
    }
    format_double(num, sizeof(num),
                  bits_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
    render_sample(b, f->name, "_sum", h->s.labels, NULL, num);
    snprintf(num, sizeof(num), "%" PRIu64, cumulative);
    render_sample(b, f->name, "_count", h->s.labels, NULL, num);
}

static void render_family(struct np_buf *b, const struct family *f)
{
    char num[64];

    render_header(b, f);
    for (const struct series *s = f->head; s != NULL; s = s->next) {
        switch (f->kind) {
            case KIND_COUNTER:
                snprintf(num, sizeof(num), "%" PRIu64,
                         np_counter_value((const struct np_counter *)s));
                render_sample(b, f->name, "", s->labels, NULL, num);
                break;
            case KIND_GAUGE:
                format_double(num, sizeof(num), np_gauge_value((const struct np_gauge *)s));
                render_sample(b, f->name, "", s->labels, NULL, num);
                break;
            case KIND_HISTOGRAM:
                render_histogram(b, f, (const struct np_histogram *)s);
                break;
        }
    }
}

int np_metrics_render(struct np_metrics *m, char **out, size_t *len)
{
    struct np_buf b = { NULL, 0, 0, false };

    if (m == NULL || out == NULL || len == NULL) {
        return NP_EINVAL;
    }
    np_buf_reserve(&b, 0);
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfamilies; i++) {
        render_family(&b, m->families[i]);
    }
    pthread_mutex_unlock(&m->lock);
    if (b.failed) {
        free(b.p);
        return NP_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
