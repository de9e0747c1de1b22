/* http.c - the worker's HTTP endpoint: /metrics, /healthz, /readyz */

/*
 * Design. libmicrohttpd runs its own single thread (MHD_USE_INTERNAL_POLLING_THREAD, with epoll
 * or poll through MHD_USE_AUTO so descriptor numbers above FD_SETSIZE work). The worker loop
 * never waits on it: /metrics reads the registry (lock-free values, a mutex only for the list of
 * metrics), and readiness is a flag plus a short reason under a mutex that np_http_set_ready()
 * holds for one copy. Requests are answered from the first call of the access handler, so a
 * request body (POST, PUT) is never read: it gets 405 and MHD closes the connection.
 *
 * Limits: at most HTTP_MAX_CONNECTIONS connections, idle ones closed after HTTP_TIMEOUT_S
 * seconds, so a stuck scraper costs one descriptor and no worker time. No TLS and no
 * authentication: bind to a private address when the port must not be public.
 */
#include "np/http.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "np/log.h"

#define HTTP_MAX_CONNECTIONS 16
#define HTTP_TIMEOUT_S       10
#define CONTENT_TYPE_TEXT    "text/plain; charset=utf-8"
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct np_http {
    struct MHD_Daemon *daemon;  /* owned; NULL when disabled */
    struct np_metrics *metrics; /* borrowed */
    int port;
    pthread_mutex_t lock; /* guards ready and reason */
    bool ready;
    char reason[NP_HTTP_REASON_MAX];
};

/* Passes libmicrohttpd's own messages (bind failures, ...) to our log, without the newline. */
__attribute__((format(printf, 2, 0))) static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = '\0';
    }
    np_log_warn("http: %s", line);
}

/* Queues a response whose body is copied from text. */
static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *text, const char *allow)
{
    struct MHD_Response *resp = NULL;
    enum MHD_Result rc;

    resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_TEXT) != MHD_YES ||
        (allow != NULL && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result reply_metrics(struct np_http *h, struct MHD_Connection *conn)
{
    struct MHD_Response *resp = NULL;
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result rc;
    int err;

    if (h->metrics == NULL) {
        body = calloc(1, 1);
        if (body == NULL) {
            return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
        }
    } else {
        err = np_metrics_render(h->metrics, &body, &len);
        if (err != 0) {
            np_log_error("could not render metrics: %s", np_strerror(err));
            return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "could not render metrics\n",
                              NULL);
        }
    }
    /* MHD_RESPMEM_MUST_FREE: the response owns body from here on and releases it with free(). */
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_METRICS) !=
        MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result reply_ready(struct np_http *h, struct MHD_Connection *conn)
{
    char body[NP_HTTP_REASON_MAX + 16];
    bool ready;

    pthread_mutex_lock(&h->lock);
    ready = h->ready;
    snprintf(body, sizeof(body), "not ready: %s\n", h->reason);
    pthread_mutex_unlock(&h->lock);
    if (ready) {
        return reply_text(conn, MHD_HTTP_OK, "ready\n", NULL);
    }
    return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body, NULL);
}

/* libmicrohttpd's access handler: answers every request on its first call. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    struct np_http *h = cls;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
    }
    if (strcmp(url, "/metrics") == 0) {
        return reply_metrics(h, conn);
    }
    if (strcmp(url, "/healthz") == 0) {
        return reply_text(conn, MHD_HTTP_OK, "ok\n", NULL);
    }
    if (strcmp(url, "/readyz") == 0) {
        return reply_ready(h, conn);
    }
    return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
}

/* Fills *ss with bind_addr:port; returns its length, or 0 if bind_addr is not numeric IPv4/6. */
static socklen_t make_addr(const char *bind_addr, int port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return sizeof(*v4);
    }
    if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return sizeof(*v6);
    }
    return 0;
}

/* Starts the daemon on an address already checked; returns 0 or NP_EIO. */
static int start_daemon(struct np_http *h, const char *bind_addr, struct sockaddr_storage *ss,
                        struct np_err *err)
{
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info = NULL;
    uint16_t port = 0;

    if (ss->ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        port = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
    } else {
        port = ntohs(((struct sockaddr_in *)ss)->sin_port);
    }
    /* The logger goes first so that MHD reports option errors through it too. */
    h->daemon = MHD_start_daemon(flags, port, NULL, NULL, handle_request, h,
                                 MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)ss, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned int)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned int)HTTP_TIMEOUT_S, MHD_OPTION_END);
    if (h->daemon == NULL) {
        return np_err_set(err, NP_EIO, "http", "could not listen on %s port %u", bind_addr,
                          (unsigned int)port);
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
        return np_err_set(err, NP_EIO, "http", "could not learn the port bound on %s", bind_addr);
    }
    h->port = info->port;
    return 0;
}

struct np_http *np_http_start(const char *bind_addr, int port, struct np_metrics *m,
                              struct np_err *err)
{
    struct np_http *h = NULL;
    struct sockaddr_storage ss;

    np_err_clear(err);
    if (bind_addr == NULL) {
        bind_addr = "0.0.0.0";
    }
    if (port < NP_HTTP_PORT_ANY || port > 65535) {
        np_err_set(err, NP_EINVAL, "http", "port %d is not between 1 and 65535", port);
        return NULL;
    }
    if (port != NP_HTTP_PORT_DISABLED &&
        make_addr(bind_addr, port == NP_HTTP_PORT_ANY ? 0 : port, &ss) == 0) {
        np_err_set(err, NP_EINVAL, "http", "\"%s\" is not a numeric IPv4 or IPv6 address",
                   bind_addr);
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        np_err_set(err, NP_ENOMEM, "http", "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        np_err_set(err, NP_ENOMEM, "http", "could not create a mutex");
        return NULL;
    }
    h->metrics = m;
    snprintf(h->reason, sizeof(h->reason), "starting");
    if (port == NP_HTTP_PORT_DISABLED) {
        return h;
    }
    if (start_daemon(h, bind_addr, &ss, err) != 0) {
        np_http_stop(&h);
        return NULL;
    }
    np_log_info("serving /metrics, /healthz and /readyz on %s port %d", bind_addr, h->port);
    return h;
}

void np_http_set_ready(struct np_http *h, bool ready, const char *reason)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    h->ready = ready;
    snprintf(h->reason, sizeof(h->reason), "%s", reason != NULL ? reason : "");
    pthread_mutex_unlock(&h->lock);
}

int np_http_port(const struct np_http *h)
{
    return h == NULL ? 0 : h->port;
}

void np_http_stop(struct np_http **hp)
{
    struct np_http *h;

    if (hp == NULL || *hp == NULL) {
        return;
    }
    h = *hp;
    if (h->daemon != NULL) {
        MHD_stop_daemon(h->daemon);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
    *hp = NULL;
}
