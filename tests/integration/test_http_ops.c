/* test_http_ops.c - /metrics, /healthz and /readyz of the real workers
 *
 * Starts the three workers with their HTTP endpoints on free loopback ports, pushes articles,
 * scrapes and parses /metrics of each (Prometheus text: every sample line is
 * `name{labels} value`), and checks the counters against what was pushed; one article is
 * headline-only (counted, stored with an empty body, tagged from its title). Then stops
 * PostgreSQL: store's /readyz must turn 503 while /healthz stays 200, and turn back to 200
 * once the database is back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "harness.h"

#define PUSHED 50

/* GET path from 127.0.0.1:port; returns the status code, the body in a new string. */
static int http_get(int port, const char *path, char **body)
{
    struct sockaddr_in a = { 0 };
    char req[256];
    char *buf = calloc(1, 1 << 20);
    size_t got = 0;
    ssize_t n = 0;
    int status = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        free(buf);
        return -1;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    while ((n = read(fd, buf + got, (1 << 20) - 1 - got)) > 0) {
        got += (size_t)n;
    }
    close(fd);
    sscanf(buf, "HTTP/1.%*d %d", &status);
    if (body != NULL) {
        char *start = strstr(buf, "\r\n\r\n");

        *body = strdup(start != NULL ? start + 4 : "");
    }
    free(buf);
    return status;
}

/* Parses a Prometheus text body; returns the value of the sample `series` (name with labels,
 * as rendered), or -1. Fails the test on a line that is not a comment or a sample. */
static double metric(const char *text, const char *series)
{
    char *copy = strdup(text);
    char *save = NULL;
    double v = -1;

    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *sp = strrchr(line, ' ');

        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        assert_non_null(sp);
        *sp = '\0';
        if (strcmp(line, series) == 0) {
            v = strtod(sp + 1, NULL);
        }
    }
    free(copy);
    return v;
}

static int wait_status(int port, const char *path, int want, double seconds)
{
    double end = h_now() + seconds;
    int s = -1;

    while (h_now() < end) {
        s = http_get(port, path, NULL);
        if (s == want) {
            break;
        }
        h_pause_ms(100);
    }
    return s;
}

static void pg_ctl(const char *what)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "'%s' %s '%s' '%s' >&2", getenv("NP_PG_HARNESS"), what,
             getenv("NP_PG_DIR"), getenv("PGPORT"));
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct h_pipeline *p = calloc(1, sizeof(*p));

    if (p == NULL || h_pipeline_init(p, "httpops") != 0) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    h_pipeline_cleanup(*state);
    free(*state);
    return 0;
}

static void test_metrics_and_readiness(void **state)
{
    struct h_pipeline *p = *state;
    int port[H_WORKERS];
    char env[H_WORKERS][64];
    static const char *const vars[H_WORKERS] = { "NP_STORE_METRICS_PORT",
                                                 "NP_CLASSIFY_METRICS_PORT",
                                                 "NP_INGEST_METRICS_PORT" };
    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    char ep[128];
    char *body = NULL;
    int linger = 1000;

    for (int w = 0; w < H_WORKERS; w++) {
        port[w] = h_free_port();
        snprintf(env[w], sizeof(env[w]), "%s=%d", vars[w], port[w]);
        p->extra_env[w][0] = env[w];
        p->extra_env[w][1] = w == H_STORE ? "NP_STORE_MAX_RETRY_MS=500" : NULL;
    }
    h_start_all(p);
    for (int w = 0; w < H_WORKERS; w++) {
        assert_int_equal(wait_status(port[w], "/readyz", 200, 30), 200);
        assert_int_equal(http_get(port[w], "/healthz", NULL), 200);
    }
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "ipc://%s/pull", p->dir);
    zmq_connect(push, ep);
    for (int i = 0; i < PUSHED; i++) {
        char a[128];

        if (i == 0) { /* headline-only: a title, no body, no summary */
            snprintf(a, sizeof(a),
                     "{\"id\": \"m-0\", \"title\": \"Crude oil prices fall as "
                     "OPEC output rises\"}");
        } else {
            snprintf(a, sizeof(a),
                     "{\"id\": \"m-%d\", \"title\": \"Crude oil %d\", \"body\": \"x\"}", i, i);
        }
        zmq_send(push, a, strlen(a), 0);
    }
    zmq_send(push, "{\"title\": 1}", 12, 0);
    assert_int_equal(h_wait_for(p->conn, "SELECT count(*) FROM articles", PUSHED, h_now() + 30),
                     PUSHED);
    h_pause_ms(300); /* the ack reaches ingest */

    assert_int_equal(http_get(port[H_INGEST], "/metrics", &body), 200);
    assert_true(metric(body, "newspipe_articles_accepted_total") == PUSHED);
    assert_true(metric(body, "newspipe_messages_rejected_total{field=\"title\"}") == 1);
    assert_true(metric(body, "newspipe_messages_received_total{channel=\"pull\"}") == PUSHED + 1);
    assert_true(metric(body, "newspipe_acks_total") == PUSHED + 1);
    assert_true(metric(body, "newspipe_inflight") == 0);
    assert_true(metric(body, "newspipe_headline_only_total") == 1);
    free(body);
    assert_int_equal(http_get(port[H_CLASSIFY], "/metrics", &body), 200);
    assert_true(metric(body, "newspipe_articles_tagged_total") == PUSHED);
    free(body);
    assert_int_equal(http_get(port[H_STORE], "/metrics", &body), 200);
    assert_true(metric(body, "newspipe_rows_committed_total{table=\"articles\"}") == PUSHED);
    assert_true(metric(body, "newspipe_rows_committed_total{table=\"rejected_messages\"}") == 1);
    assert_true(metric(body, "newspipe_e2e_latency_seconds_count") == PUSHED);
    free(body);
    /* The headline-only article is a row with an empty body, tagged from its title. */
    assert_int_equal(h_query_long(p->conn, "SELECT count(*) FROM articles WHERE id = 'm-0' "
                                           "AND body = '' AND summary IS NULL"),
                     1);
    assert_true(h_query_long(p->conn, "SELECT count(*) FROM article_tags t JOIN articles a "
                                      "ON a.id = t.article_id WHERE a.id = 'm-0' "
                                      "AND t.tag = ANY(a.tags) "
                                      "AND t.evidence::text LIKE '%\"title\"%'") >= 1);

    if (getenv("NP_TEST_PGHOST") == NULL) {
        /* The database goes away: store is alive but not ready until it is back. */
        pg_ctl("pause");
        zmq_send(push, "{\"id\": \"m-late\", \"title\": \"late\", \"body\": \"x\"}", 46, 0);
        assert_int_equal(wait_status(port[H_STORE], "/readyz", 503, 30), 503);
        assert_int_equal(http_get(port[H_STORE], "/healthz", NULL), 200);
        pg_ctl("resume");
        assert_int_equal(wait_status(port[H_STORE], "/readyz", 200, 30), 200);
        assert_int_equal(
            h_wait_for(p->conn, "SELECT count(*) FROM articles", PUSHED + 1, h_now() + 30),
            PUSHED + 1);
    }
    zmq_close(push);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_and_readiness, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
