/* metrics.h - counters, gauges and histograms, rendered as Prometheus text */
#ifndef NP_METRICS_H
#define NP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Threading model: each metric has one writer (the worker loop) and the registry has one reader
 * (the HTTP thread, through np_metrics_render()). Updates (np_counter_add(), np_gauge_set(),
 * np_histogram_observe(), ...) are lock-free C11 atomics with relaxed ordering (gauges: release
 * and acquire) and never allocate. Registering (np_metrics_counter(), ...) takes the registry mutex
 * and may allocate; it is allowed at any time, also while the HTTP thread renders. Several threads
 * may update the same metric too: counters, gauges and histograms use atomic read-modify-write.
 *
 * Names: the caller passes the name without prefix ("received_total"); the registry prefixes
 * "newspipe_" ("newspipe_received_total"). Counter names should end in "_total"; times are in
 * seconds ("_seconds"), sizes in bytes. The name after the prefix matches [a-zA-Z_:][a-zA-Z0-9_:]*.
 *
 * Labels: a label set is given as Prometheus text, `reason="title"` or
 * `reason="title",field="body"`, or NULL/"" for none; label names match [a-zA-Z_][a-zA-Z0-9_]*,
 * values are escaped (\\, \" and \n are the only escapes). A malformed label set is refused
 * (the register call returns NULL). Build label sets from untrusted values (an error field, a
 * source name) with np_metrics_label(), which escapes the value.
 *
 * Bounds: a metric name holds at most NP_METRICS_MAX_SERIES distinct label sets and a label set
 * is at most NP_METRICS_LABELS_MAX bytes. A registration beyond either limit returns the name's
 * overflow series, labelled `other="true"`, so totals stay right and memory stays bounded;
 * each such registration also increments newspipe_metrics_overflow_total. The registry holds
 * at most NP_METRICS_MAX_FAMILIES names; beyond that registering returns NULL.
 */

#define NP_METRICS_PREFIX       "newspipe_"
#define NP_METRICS_MAX_SERIES   (256)
#define NP_METRICS_MAX_FAMILIES (512)
#define NP_METRICS_LABELS_MAX   (256)
#define NP_METRICS_NAME_MAX     (128)
#define NP_METRICS_MAX_BUCKETS  (64)

struct np_metrics;
struct np_counter;
struct np_gauge;
struct np_histogram;

/* Default histogram bounds: request/processing latency in seconds, 0.0005 s to 10 s. */
extern const double np_metrics_latency_bounds[];
extern const size_t np_metrics_latency_bounds_len;

/* Default histogram bounds: batch sizes (rows, messages), 1 to 5000. */
extern const double np_metrics_batch_bounds[];
extern const size_t np_metrics_batch_bounds_len;

/*
 * Creates an empty registry for one service ("ingest", "classify", "store"; copied). It already
 * holds newspipe_info{service="<service>"} 1 (a gauge), newspipe_process_start_time_seconds
 * and newspipe_metrics_overflow_total. Returns NULL when out of memory, or when service is NULL
 * or too long for a label. Free with np_metrics_destroy().
 */
struct np_metrics *np_metrics_new(const char *service);

/*
 * Frees the registry and every metric in it, then sets *mp to NULL. All counter, gauge and
 * histogram pointers obtained from it become invalid. Stop the HTTP server (np_http_stop())
 * first. Accepts NULL and a pointer to NULL.
 */
void np_metrics_destroy(struct np_metrics **mp);

/*
 * Returns the counter `newspipe_<name>{<labels>}`, creating it at 0 the first time; the same
 * name and label text returns the same counter. help (copied) is used only by the first
 * registration of the name. Returns NULL if m or name is NULL, the name or labels are
 * malformed, the name is already registered as another type, the registry is full, or memory
 * ran out. The counter is borrowed: it lives until np_metrics_destroy(). Thread-safe.
 */
struct np_counter *np_metrics_counter(struct np_metrics *m, const char *name, const char *help,
                                      const char *labels);

/* Adds n to the counter. Accepts NULL (does nothing). Lock-free, never allocates. */
void np_counter_add(struct np_counter *c, uint64_t n);

/* Adds 1 to the counter. Accepts NULL. */
void np_counter_inc(struct np_counter *c);

/* Returns the counter's current value, 0 for NULL. */
uint64_t np_counter_value(const struct np_counter *c);

/* Like np_metrics_counter(), for a gauge (a value that goes up and down, initially 0). */
struct np_gauge *np_metrics_gauge(struct np_metrics *m, const char *name, const char *help,
                                  const char *labels);

/* Sets the gauge to v (a release store: a reader that sees v, np_gauge_value() or a scrape, also
 * sees the gauges set before it). Accepts NULL. Lock-free, never allocates. */
void np_gauge_set(struct np_gauge *g, double v);

/* Adds delta (may be negative) to the gauge: np_gauge_add(inflight, 1) ... (inflight, -1). */
void np_gauge_add(struct np_gauge *g, double delta);

/* Returns the gauge's current value, 0 for NULL. */
double np_gauge_value(const struct np_gauge *g);

/*
 * Like np_metrics_counter(), for a histogram with the n upper bounds in bounds (copied; finite,
 * strictly increasing, 1 <= n <= NP_METRICS_MAX_BUCKETS; the +Inf bucket is implicit). Every
 * label set of one name shares the bounds of its first registration: a later registration with
 * other bounds returns NULL. labels must not use the name "le".
 */
struct np_histogram *np_metrics_histogram(struct np_metrics *m, const char *name, const char *help,
                                          const char *labels, const double *bounds, size_t n);

/*
 * Records one observation: the first bucket whose bound is >= v and the sum grow. NaN is
 * ignored. Accepts NULL. Lock-free, never allocates.
 */
void np_histogram_observe(struct np_histogram *h, double v);

/* Returns the number of observations so far, 0 for NULL. */
uint64_t np_histogram_count(const struct np_histogram *h);

/*
 * Writes the label set `name="value"` into buf (size bytes), escaping backslash, double quote
 * and newline in value. Returns 0, NP_EINVAL if name is not a valid label name or buf cannot
 * hold even `name=""`, or NP_ETOOBIG if value was cut to fit (buf is still a valid label set,
 * never ending inside an escape or a UTF-8 sequence).
 */
int np_metrics_label(char *buf, size_t size, const char *name, const char *value);

/*
 * Renders every metric in the Prometheus text exposition format 0.0.4: families in
 * registration order, each with one # HELP and one # TYPE line followed by its series;
 * histograms as cumulative _bucket{le="..."} lines ending with le="+Inf", then _sum and _count.
 * On success stores a new NUL-terminated buffer in *out (free with free()) and its length
 * (without the NUL) in *len, and returns 0; returns NP_ENOMEM or NP_EINVAL otherwise, leaving
 * *out and *len untouched. Thread-safe; holds the registry mutex while it runs, never blocks
 * updates.
 */
int np_metrics_render(struct np_metrics *m, char **out, size_t *len);

#endif /* NP_METRICS_H */
