/* test_store_socket.c - store_run() end to end: PUSH messages in, rows and acks out
 *
 * store_run() runs in a thread against a fresh database (np_test_store_sock_<pid>_<n>), bound
 * on ipc:// in a temporary folder. The test plays classify (PUSH to store) and ingest (a PULL
 * bound at the envelope's ack endpoint), then stops the worker through its stop flag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <zmq.h>

#include "harness.h"
#include "np/db.h"
#include "np/err.h"
#include "np/log.h"
#include "np/msg.h"
#include "np/zsock.h"
#include "store.h"

struct fixture {
    PGconn *admin;
    PGconn *conn;
    char dbname[64];
    char conninfo[128];
    char dir[64];
    char store_ep[128];
    char ack_ep[128];
    void *ctx;
    void *push;
    void *acks;
    struct store_config cfg;
    volatile sig_atomic_t stop;
    pthread_t thread;
    bool running;
    int rc;
};

static int db_counter;

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *run_store(void *p)
{
    struct fixture *f = p;

    f->rc = store_run(&f->cfg, &f->stop);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct np_err err;
    char name[64];

    assert_non_null(f);
    snprintf(name, sizeof(name), "test_store_sock_%d", ++db_counter);
    assert_int_equal(h_db_create(name, f->dbname, sizeof(f->dbname)), 0);
    snprintf(f->conninfo, sizeof(f->conninfo), "dbname=%s", f->dbname);
    if (np_db_connect(NULL, &f->admin, &err) != 0) {
        fail_msg("%s", err.msg);
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/np-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->store_ep, sizeof(f->store_ep), "ipc://%s/store", f->dir);
    snprintf(f->ack_ep, sizeof(f->ack_ep), "ipc://%s/acks", f->dir);
    f->cfg.bind = f->store_ep;
    f->cfg.batch_size = 4;
    f->cfg.batch_ms = 50;
    f->cfg.db = f->conninfo;
    f->cfg.ack_hwm = 1000;
    f->cfg.max_retry_ms = 500;
    f->cfg.stop_ms = 2000;
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->acks = np_zsock_open(f->ctx, ZMQ_PULL, f->ack_ep, true, NULL, &err);
    assert_non_null(f->acks);
    f->push = np_zsock_open(f->ctx, ZMQ_PUSH, f->store_ep, false, NULL, &err);
    assert_non_null(f->push);
    *state = f;
    return 0;
}

static void start_store(struct fixture *f)
{
    assert_int_equal(pthread_create(&f->thread, NULL, run_store, f), 0);
    f->running = true;
}

static int stop_store(struct fixture *f)
{
    if (f->running) {
        f->stop = 1;
        pthread_join(f->thread, NULL);
        f->running = false;
    }
    return f->rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[160];

    stop_store(f);
    np_zsock_close(&f->push);
    np_zsock_close(&f->acks);
    zmq_ctx_term(f->ctx);
    PQfinish(f->conn);
    PQfinish(f->admin);
    h_db_drop(f->dbname);
    snprintf(path, sizeof(path), "%s/store", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/acks", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void send2(struct fixture *f, const char *env, const char *payload)
{
    const void *data[2] = { env, payload };
    size_t len[2] = { strlen(env), strlen(payload) };

    assert_int_equal(np_zsock_send(f->push, data, len, 2, 0), 0);
}

static void send_article(struct fixture *f, uint64_t seq, const char *id, const char *title)
{
    json_t *env = json_pack("{s:i, s:s, s:I, s:s, s:{s:s, s:s}, s:s, s:[{s:s, s:f}]}", "v", 1,
                            "kind", "article", "seq", (json_int_t)seq, "id", id, "origin", "id",
                            "ingest-a", "ack", f->ack_ep, "received_at", "2026-11-28T15:00:00Z",
                            "tags", "name", "Oil", "score", 2.0);
    json_t *art = json_pack("{s:s, s:s, s:s}", "id", id, "title", title, "body", "Text.");
    char *e = json_dumps(env, JSON_COMPACT);
    char *a = json_dumps(art, JSON_COMPACT);

    send2(f, e, a);
    free(e);
    free(a);
    json_decref(env);
    json_decref(art);
}

/* Marks the seqs of one ack frame in seen[] (parallel to want[]); returns how many were new. */
static size_t mark_acked(struct fixture *f, const uint64_t *want, bool *seen, size_t n)
{
    struct np_frames fr;
    struct np_err err;
    uint64_t *seqs = NULL;
    size_t k = 0;
    size_t fresh = 0;

    assert_int_equal(np_zsock_recv(f->acks, &fr, 0), 0);
    assert_int_equal(fr.total, 1);
    assert_int_equal(
        np_msg_ack_decode(np_frame_data(&fr, 0), np_frame_size(&fr, 0), &seqs, &k, &err), 0);
    np_frames_close(&fr);
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < n; j++) {
            if (want[j] == seqs[i] && !seen[j]) {
                seen[j] = true;
                fresh++;
            }
        }
    }
    free(seqs);
    return fresh;
}

/* Collects acks until every seq in want[0..n) was acked or the deadline passes. */
static void wait_acks(struct fixture *f, const uint64_t *want, size_t n, int timeout_ms)
{
    bool *seen = calloc(n, sizeof(*seen));
    size_t nseen = 0;
    int64_t deadline = mono_ms() + timeout_ms;

    assert_non_null(seen);
    while (nseen < n && mono_ms() < deadline) {
        zmq_pollitem_t item = { f->acks, 0, ZMQ_POLLIN, 0 };

        if (zmq_poll(&item, 1, 100) > 0) {
            nseen += mark_acked(f, want, seen, n);
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (!seen[j]) {
            fail_msg("seq %" PRIu64 " was not acked", want[j]);
        }
    }
    free(seen);
}

static char *query1(struct fixture *f, const char *sql)
{
    struct np_err err;
    PGresult *res = NULL;
    char *out = NULL;

    if (f->conn == NULL && np_db_connect(f->conninfo, &f->conn, &err) != 0) {
        fail_msg("%s", err.msg);
    }
    res = PQexec(f->conn, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static void assert_query(struct fixture *f, const char *sql, const char *expected)
{
    char *v = query1(f, sql);

    if (strcmp(v, expected) != 0) {
        fail_msg("%s: expected \"%s\", got \"%s\"", sql, expected, v);
    }
    free(v);
}

static void test_messages_land_and_are_acked(void **state)
{
    struct fixture *f = *state;
    const uint64_t want[] = { 1, 2, 3, 4, 5, 6, 7 };
    const char *rej = NULL;
    char *env = NULL;
    json_t *renv = json_pack("{s:i, s:s, s:I, s:{s:s, s:s}, s:s, s:s, s:s, s:s}", "v", 1, "kind",
                             "rejected", "seq", (json_int_t)7, "origin", "id", "ingest-a", "ack",
                             f->ack_ep, "received_at", "2026-11-28T15:00:00Z", "stage", "ingest",
                             "channel", "pull", "reason", "not JSON");

    start_store(f);
    for (uint64_t i = 1; i <= 5; i++) {
        char id[16];

        snprintf(id, sizeof(id), "s-%" PRIu64, i);
        send_article(f, i, id, "Socket article");
    }
    send_article(f, 6, "s-1", "Redelivered");
    env = json_dumps(renv, JSON_COMPACT);
    rej = "garbage\tbytes";
    send2(f, env, rej);
    send2(f, "{broken", "{}");
    wait_acks(f, want, 7, 15000);
    assert_query(f, "SELECT count(*) FROM articles", "5");
    assert_query(f, "SELECT count(*) FROM article_tags WHERE tag = 'Oil'", "5");
    assert_query(f, "SELECT title FROM articles WHERE id = 's-1'", "Socket article");
    assert_query(f, "SELECT convert_from(raw, 'UTF8') FROM rejected_messages WHERE seq = 7",
                 "garbage\tbytes");
    assert_query(f, "SELECT count(*) FROM rejected_messages WHERE seq IS NULL", "1");
    assert_int_equal(stop_store(f), 0);
    free(env);
    json_decref(renv);
}

static void test_stop_flushes_the_open_batch(void **state)
{
    struct fixture *f = *state;
    const uint64_t want[] = { 10, 11 };

    f->cfg.batch_size = 1000;
    f->cfg.batch_ms = 60000; /* only the stop can close this batch */
    start_store(f);
    send_article(f, 10, "late-1", "One");
    send_article(f, 11, "late-2", "Two");
    /* Wait until the worker is up and has read them: the schema exists and nothing is stored. */
    for (int64_t deadline = mono_ms() + 10000; mono_ms() < deadline;) {
        struct timespec ts = { 0, 50 * 1000000L };
        /* The migrations commit as one transaction: once articles is visible they are done
         * (under load they can take longer than the grace below). */
        char *v = query1(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND application_name = 'newspipe' "
                            "AND to_regclass('public.articles') IS NOT NULL");

        if (strcmp(v, "2") == 0) { /* the worker and us */
            free(v);
            break;
        }
        free(v);
        nanosleep(&ts, NULL);
    }
    {
        struct timespec ts = { 0, 300 * 1000000L };

        nanosleep(&ts, NULL);
    }
    assert_int_equal(stop_store(f), 0);
    wait_acks(f, want, 2, 5000);
    assert_query(f, "SELECT count(*) FROM articles", "2");
}

static void test_lost_connection_is_retried(void **state)
{
    struct fixture *f = *state;
    const uint64_t first[] = { 20 };
    const uint64_t second[] = { 21, 22 };
    PGresult *res = NULL;

    start_store(f);
    send_article(f, 20, "c-1", "Before");
    wait_acks(f, first, 1, 10000);
    /* Cut the worker's session, as a server restart or a failover would. */
    res = PQexec(f->admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname LIKE 'np_test_store_sock_%' AND pid <> "
                           "pg_backend_pid() AND application_name = 'newspipe'");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    if (f->conn != NULL) {
        PQfinish(f->conn);
        f->conn = NULL;
    }
    send_article(f, 21, "c-2", "After");
    send_article(f, 22, "c-3", "After");
    wait_acks(f, second, 2, 15000);
    assert_query(f, "SELECT count(*) FROM articles", "3");
    assert_int_equal(stop_store(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_messages_land_and_are_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_flushes_the_open_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_is_retried, setup, teardown),
    };

    np_log_init("test_store_socket", NP_LOG_INFO);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
