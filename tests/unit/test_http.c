/* test_http.c - /metrics, /healthz and /readyz over a real socket */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "np/err.h"
#include "np/http.h"
#include "np/metrics.h"

/* One parsed response: status code, raw header block (lower-cased), body. */
struct reply {
    int status;
    char headers[4096];
    char body[65536];
    size_t body_len;
};

struct fixture {
    struct np_metrics *m;
    struct np_counter *received;
    struct np_http *h;
};

/* Connects a TCP socket to addr:port with a 5 s receive timeout; returns it or -1. */
static int connect_to(int family, const char *addr, int port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t sslen = sizeof(*v4);
    struct timeval tv = { 5, 0 };
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &v6->sin6_addr);
        sslen = sizeof(*v6);
    } else {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &v4->sin_addr);
    }
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all of request; returns 0 or -1. */
static int send_all(int fd, const char *request)
{
    size_t len = strlen(request);
    size_t sent = 0;

    while (sent < len) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);

        if (n < 0 && errno != EINTR) {
            return -1;
        }
        sent += n > 0 ? (size_t)n : 0;
    }
    return 0;
}

/* Reads until the peer closes; returns the length read (NUL-terminated in buf) or -1. */
static ssize_t recv_all(int fd, char *buf, size_t size)
{
    size_t got = 0;

    for (;;) {
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);

        if (n == 0) {
            break;
        }
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        got += n > 0 ? (size_t)n : 0;
        if (got == size - 1) {
            return -1;
        }
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/*
 * Sends request (a complete HTTP/1.0 request) to addr:port and reads the response until the
 * server closes the connection. Returns 0, or -1 on a socket error or malformed response.
 */
static int http_raw(int family, const char *addr, int port, const char *request, struct reply *r)
{
    static char buf[sizeof(r->headers) + sizeof(r->body)];
    const char *split;
    ssize_t got;
    size_t hlen;
    int fd;

    memset(r, 0, sizeof(*r));
    fd = connect_to(family, addr, port);
    if (fd < 0) {
        return -1;
    }
    got = send_all(fd, request) == 0 ? recv_all(fd, buf, sizeof(buf)) : -1;
    close(fd);
    if (got < 0) {
        return -1;
    }
    split = strstr(buf, "\r\n\r\n");
    if (split == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        return -1;
    }
    hlen = (size_t)(split - buf);
    if (hlen >= sizeof(r->headers)) {
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        char c = buf[i];

        if (c >= 'A' && c <= 'Z') {
            c = "abcdefghijklmnopqrstuvwxyz"[c - 'A'];
        }
        r->headers[i] = c;
    }
    r->headers[hlen] = '\0';
    r->body_len = (size_t)got - hlen - 4;
    memcpy(r->body, split + 4, r->body_len + 1);
    return 0;
}

static void http_get(const struct fixture *f, const char *method, const char *path, struct reply *r)
{
    char request[256];

    snprintf(request, sizeof(request), "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
    assert_int_equal(http_raw(AF_INET, "127.0.0.1", np_http_port(f->h), request, r), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct np_err err;

    if (f == NULL) {
        return -1;
    }
    f->m = np_metrics_new("ingest");
    f->received = np_metrics_counter(f->m, "received_total", "Messages received.", NULL);
    np_counter_add(f->received, 7);
    f->h = np_http_start("127.0.0.1", NP_HTTP_PORT_ANY, f->m, &err);
    if (f->h == NULL) {
        fprintf(stderr, "np_http_start: %s\n", err.msg);
        np_metrics_destroy(&f->m);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    np_http_stop(&f->h);
    assert_null(f->h);
    np_metrics_destroy(&f->m);
    free(f);
    return 0;
}

static void test_port_is_learned(void **state)
{
    struct fixture *f = *state;

    assert_true(np_http_port(f->h) > 0 && np_http_port(f->h) <= 65535);
}

static void test_healthz_ok(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    http_get(f, "GET", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_non_null(strstr(r.headers, "content-type: text/plain"));
}

static void test_readyz_follows_set_ready(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    http_get(f, "GET", "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready: starting\n");
    np_http_set_ready(f->h, false, "database unreachable");
    http_get(f, "GET", "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready: database unreachable\n");
    np_http_set_ready(f->h, true, NULL);
    http_get(f, "GET", "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ready\n");
    np_http_set_ready(f->h, false, NULL);
    http_get(f, "GET", "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready: \n");
    np_http_set_ready(NULL, true, "ignored");
}

static void test_metrics_served(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    http_get(f, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "content-type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE newspipe_received_total counter\n"
                                   "newspipe_received_total 7\n"));
    assert_non_null(strstr(r.body, "newspipe_info{service=\"ingest\"} 1\n"));
    np_counter_inc(f->received);
    http_get(f, "GET", "/metrics?x=1", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "newspipe_received_total 8\n"));
}

static void test_head_has_no_body(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    http_get(f, "HEAD", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_get(f, "HEAD", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
}

static void test_other_methods_405(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    static const char post[] = "POST /metrics HTTP/1.0\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 5\r\n\r\nhello";

    assert_int_equal(http_raw(AF_INET, "127.0.0.1", np_http_port(f->h), post, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "allow: get, head"));
    http_get(f, "PUT", "/healthz", &r);
    assert_int_equal(r.status, 405);
    http_get(f, "DELETE", "/readyz", &r);
    assert_int_equal(r.status, 405);
}

static void test_unknown_path_404(void **state)
{
    struct fixture *f = *state;
    struct reply r;

    http_get(f, "GET", "/nope", &r);
    assert_int_equal(r.status, 404);
    http_get(f, "GET", "/metrics/", &r);
    assert_int_equal(r.status, 404);
    http_get(f, "GET", "/", &r);
    assert_int_equal(r.status, 404);
}

static void test_port_in_use_fails(void **state)
{
    struct fixture *f = *state;
    struct np_err err;
    struct np_http *h2 = np_http_start("127.0.0.1", np_http_port(f->h), f->m, &err);

    assert_null(h2);
    assert_int_equal(err.code, NP_EIO);
}

static void test_bad_arguments_fail(void **state)
{
    struct np_err err;

    (void)state;
    assert_null(np_http_start("localhost", NP_HTTP_PORT_ANY, NULL, &err));
    assert_int_equal(err.code, NP_EINVAL);
    assert_null(np_http_start("127.0.0.1", 70000, NULL, &err));
    assert_int_equal(err.code, NP_EINVAL);
    assert_null(np_http_start("127.0.0.1", -2, NULL, &err));
    assert_int_equal(err.code, NP_EINVAL);
    assert_null(np_http_start("127.0.0.1", -2, NULL, NULL));
    np_http_stop(NULL);
}

static void test_disabled_is_inert(void **state)
{
    struct np_err err;
    struct np_http *h = np_http_start(NULL, NP_HTTP_PORT_DISABLED, NULL, &err);

    (void)state;
    assert_non_null(h);
    assert_int_equal(err.code, 0);
    assert_int_equal(np_http_port(h), 0);
    np_http_set_ready(h, true, "x");
    np_http_stop(&h);
    assert_null(h);
    assert_int_equal(np_http_port(NULL), 0);
}

static void test_null_metrics_serves_empty(void **state)
{
    struct np_err err;
    struct np_http *h = np_http_start("127.0.0.1", NP_HTTP_PORT_ANY, NULL, &err);
    struct fixture f = { NULL, NULL, h };
    struct reply r;

    (void)state;
    assert_non_null(h);
    http_get(&f, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    np_http_stop(&h);
}

static void test_ipv6_loopback(void **state)
{
    struct np_err err;
    struct np_http *h = np_http_start("::1", NP_HTTP_PORT_ANY, NULL, &err);
    struct reply r;

    (void)state;
    if (h == NULL) {
        skip(); /* no IPv6 in this sandbox */
    }
    assert_int_equal(
        http_raw(AF_INET6, "::1", np_http_port(h), "GET /healthz HTTP/1.0\r\n\r\n", &r), 0);
    assert_int_equal(r.status, 200);
    np_http_stop(&h);
}

/* The worker loop's side of test_scrape_while_updating. */
struct writer {
    struct np_metrics *m;
    atomic_bool stop;
    uint64_t done;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct np_counter *c = np_metrics_counter(w->m, "busy_total", "Busy.", NULL);
    struct np_histogram *h =
        np_metrics_histogram(w->m, "busy_seconds", "Busy.", NULL, np_metrics_latency_bounds,
                             np_metrics_latency_bounds_len);
    char labels[64];
    char value[32];

    while (!atomic_load(&w->stop)) {
        np_counter_inc(c);
        np_histogram_observe(h, 0.001 * (double)(w->done % 100));
        if (w->done % 1000 == 0) {
            snprintf(value, sizeof(value), "r%llu", (unsigned long long)(w->done / 1000 % 300));
            np_metrics_label(labels, sizeof(labels), "reason", value);
            np_counter_inc(np_metrics_counter(w->m, "dyn_total", "Dynamic.", labels));
        }
        w->done++;
    }
    return NULL;
}

static void test_scrape_while_updating(void **state)
{
    struct fixture *f = *state;
    struct writer w = { 0 };
    pthread_t tid;
    struct reply r;

    w.m = f->m;
    atomic_init(&w.stop, false);
    assert_int_equal(pthread_create(&tid, NULL, writer_main, &w), 0);
    for (int i = 0; i < 100; i++) {
        http_get(f, "GET", "/metrics", &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "newspipe_received_total 7\n"));
    }
    atomic_store(&w.stop, true);
    assert_int_equal(pthread_join(tid, NULL), 0);
    http_get(f, "GET", "/metrics", &r);
    assert_non_null(strstr(r.body, "newspipe_busy_seconds_bucket{le=\"+Inf\"}"));
    print_message("100 scrapes while the writer made %llu updates\n", (unsigned long long)w.done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_port_is_learned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_follows_set_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_methods_405, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use_fails, setup, teardown),
        cmocka_unit_test(test_bad_arguments_fail),
        cmocka_unit_test(test_disabled_is_inert),
        cmocka_unit_test(test_null_metrics_serves_empty),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test_setup_teardown(test_scrape_while_updating, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
