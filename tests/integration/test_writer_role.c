/* test_writer_role.c - store runs as a login role in newspipe_writer, as docker compose does
 *
 * The schema's owner applies the migrations (newspipe-store --migrate-only); store then
 * connects as a login member of newspipe_writer, which can only read and write newspipe's
 * tables. Articles, a duplicate, a rejection and the search index must all land with those
 * rights alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <zmq.h>

#include "harness.h"

#define ARTICLES 200

struct fixture {
    struct h_pipeline p;
    char role[64];
    char env[256];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char cmd[1024];
    char sql[256];
    PGresult *r = NULL;
    struct sockaddr_in addr = { 0 };
    socklen_t alen = sizeof(addr);
    int busy = -1;
    int rc = 0;

    if (f == NULL || h_pipeline_init(&f->p, "writer") != 0) {
        return -1;
    }
    /* The owner migrates, while something (a running store, in real life) holds the metrics
     * port: --migrate-only serves no endpoint, so it must not care. */
    busy = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (busy < 0 || bind(busy, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(busy, 1) != 0 || getsockname(busy, (struct sockaddr *)&addr, &alen) != 0) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "NP_DB_CONNINFO='%s' NP_STORE_METRICS_BIND=127.0.0.1 NP_STORE_METRICS_PORT=%d "
             "'%s/newspipe-store' --migrate-only 2>>'%s/migrate.log'",
             f->p.conninfo, ntohs(addr.sin_port), getenv("NP_BIN_DIR"), f->p.dir);
    rc = system(cmd);
    close(busy);
    if (rc != 0) {
        fprintf(stderr, "newspipe-store --migrate-only failed (see %s/migrate.log)\n", f->p.dir);
        return -1;
    }
    snprintf(f->role, sizeof(f->role), "np_writer_%ld", (long)getpid());
    snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN IN ROLE newspipe_writer", f->role);
    r = PQexec(f->p.conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQclear(r);
        return -1;
    }
    PQclear(r);
    snprintf(f->env, sizeof(f->env), "NP_DB_CONNINFO=%s user=%s", f->p.conninfo, f->role);
    f->p.extra_env[H_STORE][0] = f->env;
    h_start_all(&f->p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char sql[128];
    PGconn *admin = NULL;

    h_pipeline_cleanup(&f->p);
    admin = h_connect("postgres");
    if (admin != NULL) {
        snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", f->role);
        PQclear(PQexec(admin, sql));
        PQfinish(admin);
    }
    free(f);
    return 0;
}

static void test_store_needs_only_the_writer_role(void **state)
{
    struct fixture *f = *state;
    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    char ep[128];
    char json[256];
    int linger = 1000;
    double deadline = 0;

    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "ipc://%s/pull", f->p.dir);
    zmq_connect(push, ep);
    for (int i = 0; i < ARTICLES; i++) {
        snprintf(json, sizeof(json),
                 "{\"id\": \"w-%d\", \"title\": \"Crude oil %d\", \"body\": \"OPEC output.\"}", i,
                 i);
        zmq_send(push, json, strlen(json), 0);
    }
    h_pause_ms(300); /* a later batch */
    snprintf(json, sizeof(json),
             "{\"id\": \"w-0\", \"title\": \"Crude oil 0\", \"body\": \"OPEC output.\"}");
    zmq_send(push, json, strlen(json), 0);
    zmq_send(push, "{\"title\": 1}", 12, 0);
    deadline = h_now() + 60;
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM articles", ARTICLES, deadline),
                     ARTICLES);
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM article_duplicates", 1, deadline),
                     1);
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM rejected_messages", 1, deadline),
                     1);
    assert_int_equal(
        h_wait_for(f->p.conn, "SELECT count(*) FROM article_search", ARTICLES, deadline), ARTICLES);
    assert_true(h_query_long(f->p.conn, "SELECT count(*) FROM article_tags") > 0);
    assert_int_equal(h_stop(&f->p, H_INGEST, 15), 0);
    assert_int_equal(h_stop(&f->p, H_CLASSIFY, 15), 0);
    assert_int_equal(h_stop(&f->p, H_STORE, 15), 0);
    zmq_close(push);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_needs_only_the_writer_role, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
