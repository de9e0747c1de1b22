/* test_pipeline.c - the pipeline end to end: three real binaries, a real PostgreSQL
 *
 * Starts newspipe-store, newspipe-classify and newspipe-ingest on ipc:// endpoints in a
 * temporary folder, against a database of its own in the test cluster (pg fixture). Pushes the
 * reference article, 1,000 Reuters articles and duplicates through the ROUTER socket, and 20
 * malformed messages through the PULL socket, then polls PostgreSQL until everything has landed
 * or a deadline passes, and checks rows, duplicates, rejected_messages with their reasons, and
 * the reference article's tags. Finally stops the workers with SIGTERM and expects exit 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "push_text.h"

#define REUTERS_N  1000
#define DEADLINE_S 90

struct fixture {
    struct h_pipeline p;
    void *ctx;
    void *router;
    void *pull;
};

/* The 20 malformed messages and the field each rejection must name. */
static const struct {
    const char *payload;
    const char *field;
} malformed[] = {
    { "{\"title\": 5, \"body\": \"x\"}", "title" },
    { "{\"body\": \"no title\"}", "title" },
    { "{\"title\": \"   \", \"body\": \"blank title\"}", "title" },
    { "{\"title\": \"t\", \"body\": \"b\", \"region\": 3}", "region" },
    { "{\"title\": \"t\", \"body\": 12}", "body" },
    { "{\"title\": \"t\", \"body\": \"b\", \"url\": \"ftp://x.org/a\"}", "url" },
    { "{\"title\": \"t\", \"body\": \"b\", \"url\": 7}", "url" },
    { "{\"title\": \"t\", \"body\": \"b\", \"published_at\": \"yesterday\"}", "published_at" },
    { "{\"title\": \"t\", \"body\": \"b\", \"published_at\": \"2025-13-01\"}", "published_at" },
    { "{\"title\": \"t\", \"body\": \"b\", \"source_tags\": \"not a list\"}", "source_tags" },
    { "{\"title\": \"t\", \"body\": \"b\", \"source_tags\": [1, 2]}", "source_tags" },
    { "{\"title\": \"t\", \"body\": \"b\", \"authors\": {}}", "authors" },
    { "{\"title\": \"t\", \"body\": \"b\", \"id\": 99}", "id" },
    { "{\"title\": \"t\", \"body\": \"b\", \"source\": [\"x\"]}", "source" },
    { "{\"title\": \"t\", \"body\": \"b\", \"lang\": false}", "lang" },
    { "not json at all", "message" },
    { "[\"an\", \"array\"]", "message" },
    { "{\"title\": \"t\", \"body\": \"b\"", "message" },
    { "{\"title\": \"\xC3\x28\", \"body\": \"invalid UTF-8\"}", "message" },
    { "{\"title\": \"nul \\u0000 inside\", \"body\": \"b\"}", "title" },
};

#define N_MALFORMED (sizeof(malformed) / sizeof(malformed[0]))

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char ep[128];
    int linger = 0;

    if (f == NULL || getenv("NP_TAXONOMY") == NULL || h_pipeline_init(&f->p, "e2e") != 0) {
        return -1;
    }
    f->p.extra_env[H_INGEST][0] = "NP_INGEST_REDELIVER_MS=3000";
    f->p.extra_env[H_INGEST][1] = "NP_INGEST_SHUTDOWN_MS=3000";
    h_start_all(&f->p);
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_DEALER);
    f->pull = zmq_socket(f->ctx, ZMQ_PUSH);
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(f->pull, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "ipc://%s/router", f->p.dir);
    zmq_connect(f->router, ep);
    snprintf(ep, sizeof(ep), "ipc://%s/pull", f->p.dir);
    zmq_connect(f->pull, ep);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zmq_close(f->router);
    zmq_close(f->pull);
    zmq_ctx_term(f->ctx);
    h_pipeline_cleanup(&f->p);
    free(f);
    return 0;
}

/* Sends one article on the ROUTER socket and waits for its reply; returns the status and
 * stores the reply's id in id (when given). */
static char *request(struct fixture *f, const char *payload, size_t len, char *id, size_t idlen)
{
    char buf[4096];
    json_t *r = NULL;
    char *status = NULL;
    int n = 0;
    zmq_pollitem_t item = { f->router, 0, ZMQ_POLLIN, 0 };

    assert_true(zmq_send(f->router, "", 0, ZMQ_SNDMORE) == 0);
    assert_true(zmq_send(f->router, payload, len, 0) == (int)len);
    assert_int_equal(zmq_poll(&item, 1, 30000), 1);
    assert_int_equal(zmq_recv(f->router, buf, sizeof(buf), 0), 0); /* the delimiter */
    n = zmq_recv(f->router, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    r = json_loads(buf, 0, NULL);
    assert_non_null(r);
    status = strdup(json_string_value(json_object_get(r, "status")));
    if (id != NULL) {
        const char *v = json_string_value(json_object_get(r, "id"));

        snprintf(id, idlen, "%s", v != NULL ? v : "");
    }
    json_decref(r);
    return status;
}

static char *sample_json(void)
{
    FILE *fp = NULL;
    char *buf = NULL;
    long n = 0;
    json_t *obj = NULL;
    char *out = NULL;

    const char *path = t_shared("samples/scmp-china-russia-trade.txt");

    if (path == NULL) {
        skip();
    }
    fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    assert_int_equal(push_text_parse(buf, (size_t)n, &obj, NULL), 0);
    out = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    free(buf);
    return out;
}

static void check_sample_row(PGconn *c, const char *id)
{
    const char *params[1] = { id };
    PGresult *r =
        PQexecParams(c,
                     "SELECT source, published_at = '2025-09-02 18:52:00+00', source_tags, "
                     "title LIKE 'Despite dip in China%', region, array_length(source_tags, 1) "
                     "FROM articles WHERE id = $1",
                     1, NULL, params, NULL, NULL, 0);

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "South China Morning Post");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    assert_string_equal(PQgetvalue(r, 0, 2), "{\"China-Russia Trade\",De-dollarization,"
                                             "\"Geopolitical Risk\",\"Energy Cooperation\","
                                             "\"Tech Collaboration\"}");
    assert_string_equal(PQgetvalue(r, 0, 3), "t");
    assert_string_equal(PQgetvalue(r, 0, 5), "5");
    PQclear(r);
}

/* Full-text search (filled by store's indexer, behind the writer) finds the sample. */
static void check_search(PGconn *c, const char *id, double deadline)
{
    const char *params[1] = { id };
    PGresult *r = NULL;
    long indexed = -1;

    while (h_now() < deadline && indexed != 1) {
        r = PQexecParams(c, "SELECT count(*) FROM article_search WHERE article_id = $1", 1, NULL,
                         params, NULL, NULL, 0);
        indexed = PQresultStatus(r) == PGRES_TUPLES_OK ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
        PQclear(r);
        h_pause_ms(200);
    }
    assert_int_equal(indexed, 1);
    r = PQexec(c, "SELECT a.id FROM article_search s JOIN articles a ON a.id = s.article_id, "
                  "websearch_to_tsquery('english', 'yuan settlement') q "
                  "WHERE s.document @@ q ORDER BY ts_rank(s.document, q) DESC");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) >= 1);
    assert_string_equal(PQgetvalue(r, 0, 0), id);
    PQclear(r);
}

/* The classifier must find the publisher's five tags itself, with evidence. */
static void check_sample_tags(PGconn *c, const char *id)
{
    static const char *const want[] = { "China-Russia Trade", "De-dollarization",
                                        "Geopolitical Risk", "Energy Cooperation",
                                        "Tech Collaboration" };
    const char *params[1] = { id };
    PGresult *r = PQexecParams(c,
                               "SELECT t.tag, jsonb_array_length(t.evidence) > 0, "
                               "t.tag = ANY(a.tags) FROM article_tags t JOIN articles a "
                               "ON a.id = t.article_id WHERE t.article_id = $1",
                               1, NULL, params, NULL, NULL, 0);

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        bool found = false;

        for (int i = 0; i < PQntuples(r); i++) {
            if (strcmp(PQgetvalue(r, i, 0), want[k]) == 0) {
                found =
                    strcmp(PQgetvalue(r, i, 1), "t") == 0 && strcmp(PQgetvalue(r, i, 2), "t") == 0;
            }
        }
        if (!found) {
            fprintf(stderr, "sample lacks tag \"%s\" (with evidence)\n", want[k]);
        }
        assert_true(found);
    }
    PQclear(r);
}

static void check_rejections(PGconn *c, long router_rejected)
{
    PGresult *r = PQexec(c, "SELECT field, reason, raw FROM rejected_messages "
                            "WHERE channel = 'pull' AND stage = 'ingest' ORDER BY seq");

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), (int)N_MALFORMED);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *field = PQgetvalue(r, i, 0);
        const char *reason = PQgetvalue(r, i, 1);

        if (strcmp(field, malformed[i].field) != 0) {
            fprintf(stderr, "message %d: field \"%s\" (%s), expected \"%s\"\n", i, field, reason,
                    malformed[i].field);
        }
        assert_string_equal(field, malformed[i].field);
        assert_non_null(strstr(reason, field));
    }
    PQclear(r);
    assert_int_equal(h_query_long(c, "SELECT count(*) FROM rejected_messages WHERE "
                                     "channel = 'router'"),
                     router_rejected);
}

static void test_pipeline_end_to_end(void **state)
{
    struct fixture *f = *state;
    char sample_id[128];
    char id[128];
    char *sample = sample_json();
    char *status = NULL;
    char *line = NULL;
    size_t cap = 0;
    FILE *fp = NULL;
    long accepted = 0;
    long rejected = 0;
    long duplicate = 0;
    double deadline = h_now() + DEADLINE_S;
    char sql[256];

    /* The reference article, then again: one row, the second is a duplicate. */
    status = request(f, sample, strlen(sample), sample_id, sizeof(sample_id));
    assert_string_equal(status, "accepted");
    free(status);
    status = request(f, sample, strlen(sample), id, sizeof(id));
    assert_string_equal(status, "duplicate");
    assert_string_equal(id, sample_id);
    free(status);

    /* 1,000 Reuters articles; wire briefs without a title are rejected, headline-only ones
     * accepted. */
    fp = fopen(t_shared("reuters-train.jsonl"), "r");
    assert_non_null(fp);
    for (int i = 0; i < REUTERS_N && getline(&line, &cap, fp) > 0; i++) {
        status = request(f, line, strlen(line) - 1, NULL, 0);
        accepted += strcmp(status, "accepted") == 0;
        rejected += strcmp(status, "rejected") == 0;
        duplicate += strcmp(status, "duplicate") == 0;
        free(status);
    }
    /* The first Reuters article again. */
    rewind(fp);
    assert_true(getline(&line, &cap, fp) > 0);
    status = request(f, line, strlen(line) - 1, NULL, 0);
    assert_string_equal(status, "duplicate");
    free(status);
    fclose(fp);
    free(line);
    free(sample);
    printf("reuters: %ld accepted, %ld rejected, %ld duplicate\n", accepted, rejected, duplicate);
    assert_int_equal(accepted + rejected + duplicate, REUTERS_N);
    assert_true(accepted > 900);

    for (size_t i = 0; i < N_MALFORMED; i++) {
        size_t len = strlen(malformed[i].payload);

        assert_int_equal(zmq_send(f->pull, malformed[i].payload, len, 0), (int)len);
    }

    /* Everything lands: articles (sample + distinct Reuters), and every rejection. */
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM articles", accepted + 1, deadline),
                     accepted + 1);
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM rejected_messages",
                                rejected + (long)N_MALFORMED, deadline),
                     rejected + (long)N_MALFORMED);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT id) FROM articles WHERE id LIKE 'reuters-%%'");
    assert_int_equal(h_query_long(f->p.conn, sql), accepted);
    check_sample_row(f->p.conn, sample_id);
    check_search(f->p.conn, sample_id, deadline);
    check_sample_tags(f->p.conn, sample_id);
    check_rejections(f->p.conn, rejected);
    /* The second push of the sample (likely in the same batch as the first) is on record. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM article_duplicates WHERE article_id = '%s'",
             sample_id);
    assert_int_equal(h_wait_for(f->p.conn, sql, 1, deadline), 1);
    /* The second push of reuters-1 (in a later batch than the first) is on record. */
    assert_int_equal(h_wait_for(f->p.conn,
                                "SELECT count(*) FROM article_duplicates "
                                "WHERE article_id = 'reuters-1'",
                                1, deadline),
                     1);

    /* SIGTERM: every worker finishes and exits 0. */
    assert_int_equal(h_stop(&f->p, H_INGEST, 15), 0);
    assert_int_equal(h_stop(&f->p, H_CLASSIFY, 15), 0);
    assert_int_equal(h_stop(&f->p, H_STORE, 15), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline_end_to_end, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
