/* http.h - the worker's HTTP endpoint: /metrics, /healthz, /readyz */
#ifndef NP_HTTP_H
#define NP_HTTP_H

#include <stdbool.h>

#include "np/err.h"
#include "np/metrics.h"

/*
 * Each worker serves, on its own port, from one internal libmicrohttpd thread:
 *   GET /metrics  200, np_metrics_render() output, Content-Type text/plain; version=0.0.4
 *   GET /healthz  200 "ok" while the process is alive
 *   GET /readyz   200 "ready" after np_http_set_ready(h, true, ...), else 503 "not ready: <reason>"
 * HEAD is answered like GET without the body; other methods get 405 (with Allow: GET, HEAD),
 * other paths 404. Bodies end with a newline.
 */

/* port value: do not serve at all (np_http_start() returns an inert handle). */
#define NP_HTTP_PORT_DISABLED (0)
/* port value: bind an ephemeral port chosen by the kernel; np_http_port() tells which. */
#define NP_HTTP_PORT_ANY (-1)

/* Longest readiness reason kept, including the NUL; longer reasons are cut. */
#define NP_HTTP_REASON_MAX (200)

struct np_http;

/*
 * Starts serving on bind_addr (a numeric IPv4 or IPv6 address; NULL means "0.0.0.0") and port
 * (1-65535, NP_HTTP_PORT_ANY, or NP_HTTP_PORT_DISABLED). m is borrowed and must outlive the
 * server (call np_http_stop() before np_metrics_destroy()); NULL serves an empty /metrics.
 * The server starts not ready, reason "starting".
 * Returns a new handle (free with np_http_stop()), or NULL with err filled: NP_EINVAL for a bad
 * address or port, NP_EIO if the socket cannot be bound (port in use, ...) or the thread not
 * started, NP_ENOMEM. With NP_HTTP_PORT_DISABLED it returns an inert handle that serves nothing
 * and whose np_http_port() is 0, so callers treat "disabled" and "running" alike and NULL
 * always means failure.
 */
struct np_http *np_http_start(const char *bind_addr, int port, struct np_metrics *m,
                              struct np_err *err);

/*
 * Sets what /readyz answers. reason (copied, cut to NP_HTTP_REASON_MAX - 1 bytes; NULL means
 * "") explains a not-ready state, e.g. "database unreachable"; it is ignored when ready.
 * Thread-safe (takes a short mutex); callable from the worker loop at any time. Accepts NULL h.
 */
void np_http_set_ready(struct np_http *h, bool ready, const char *reason);

/* Returns the port actually bound (useful with NP_HTTP_PORT_ANY), 0 when disabled or h is NULL. */
int np_http_port(const struct np_http *h);

/*
 * Stops the server: waits for its thread, closes the socket, frees the handle and sets *hp to
 * NULL. A scrape in progress completes first. Accepts NULL and a pointer to NULL.
 */
void np_http_stop(struct np_http **hp);

#endif /* NP_HTTP_H */
