/* test_cookbook.c - README's query cookbook, run as the read-only role against real data
 *
 * Seeds a database through the real pipeline (the reference article, 400 Reuters articles, a
 * duplicate push, a malformed message), then takes every ```sql block of README.md's "Query
 * cookbook" section and runs it as newspipe_reader: each must succeed and return rows, so the
 * README never shows a query that does not work. Also: the reader role cannot write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>
#include <jansson.h>

#include "harness.h"
#include "push_text.h"
#include "test_util.h"

#define SEED_REUTERS 400
#define QUERIES_MAX  32

/* Sends one article through the ROUTER socket and waits for its reply. */
static void push(void *dealer, const char *json)
{
    char buf[512];
    zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };

    zmq_send(dealer, "", 0, ZMQ_SNDMORE);
    zmq_send(dealer, json, strlen(json), 0);
    assert_int_equal(zmq_poll(&item, 1, 30000), 1);
    zmq_recv(dealer, buf, sizeof(buf), 0);
    zmq_recv(dealer, buf, sizeof(buf), 0);
}

static void seed(struct h_pipeline *p)
{
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    void *pusher = zmq_socket(ctx, ZMQ_PUSH);
    char ep[128];
    int linger = 1000;
    size_t len = 0;
    const char *sample_path = t_shared("samples/scmp-china-russia-trade.txt");
    const char *reuters_path = t_shared("reuters-train.jsonl");
    char *text = NULL;
    json_t *obj = NULL;
    char *sample = NULL;
    FILE *f = NULL;
    char *line = NULL;
    char *first = NULL;
    size_t cap = 0;

    if (sample_path == NULL || reuters_path == NULL) {
        zmq_close(dealer);
        zmq_close(pusher);
        zmq_ctx_term(ctx);
        skip();
    }
    text = t_slurp(sample_path, &len);
    f = fopen(reuters_path, "r");
    assert_non_null(text);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(pusher, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "ipc://%s/router", p->dir);
    zmq_connect(dealer, ep);
    snprintf(ep, sizeof(ep), "ipc://%s/pull", p->dir);
    zmq_connect(pusher, ep);
    assert_int_equal(push_text_parse(text, len, &obj, NULL), 0);
    sample = json_dumps(obj, JSON_COMPACT);
    push(dealer, sample);
    assert_non_null(f);
    for (int i = 0; i < SEED_REUTERS && getline(&line, &cap, f) > 0; i++) {
        line[strcspn(line, "\n")] = '\0';
        if (first == NULL) {
            first = strdup(line);
        }
        push(dealer, line);
    }
    push(dealer, first); /* a duplicate, in a later batch */
    zmq_send(pusher, "{\"title\": 5}", 12, 0);
    fclose(f);
    free(line);
    free(first);
    free(sample);
    free(text);
    json_decref(obj);
    zmq_close(dealer);
    zmq_close(pusher);
    zmq_ctx_term(ctx);
}

/* Collects the ```sql blocks of README's "### Query cookbook" section (new strings). */
static size_t cookbook_queries(char **out, size_t max)
{
    char *readme = t_slurp(getenv("NP_README"), NULL);
    char *p = readme != NULL ? strstr(readme, "### Query cookbook") : NULL;
    char *end = NULL;
    size_t n = 0;

    assert_non_null(p);
    end = strstr(p, "\n## ");
    if (end != NULL) {
        *end = '\0';
    }
    while (n < max && (p = strstr(p, "```sql\n")) != NULL) {
        char *stop = strstr(p + 7, "```");

        assert_non_null(stop);
        out[n++] = strndup(p + 7, (size_t)(stop - p - 7));
        p = stop + 3;
    }
    free(readme);
    return n;
}

static int setup(void **state)
{
    struct h_pipeline *p = calloc(1, sizeof(*p));

    if (p == NULL || h_pipeline_init(p, "cookbook") != 0) {
        return -1;
    }
    h_start_all(p);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    h_pipeline_cleanup(*state);
    free(*state);
    return 0;
}

static void test_cookbook_queries_run_as_reader(void **state)
{
    struct h_pipeline *pp = *state;
    struct h_pipeline p = *pp;
    char *queries[QUERIES_MAX];
    size_t n = 0;
    double deadline = 0;
    PGresult *r = NULL;

    seed(&p);
    deadline = h_now() + 90;
    /* Everything stored, duplicate and rejection recorded, the sample searchable. */
    assert_int_equal(h_wait_for(p.conn, "SELECT (count(*) >= 300)::int FROM articles", 1, deadline),
                     1);
    assert_int_equal(h_wait_for(p.conn, "SELECT count(*) FROM article_duplicates", 1, deadline), 1);
    assert_int_equal(h_wait_for(p.conn,
                                "SELECT (count(*) >= 1)::int FROM rejected_messages "
                                "WHERE channel = 'pull' AND field = 'title'",
                                1, deadline),
                     1);
    assert_int_equal(h_wait_for(p.conn, "SELECT count(*) FROM search_queue", 0, deadline), 0);

    n = cookbook_queries(queries, QUERIES_MAX);
    assert_true(n >= 8);
    r = PQexec(p.conn, "SET ROLE newspipe_reader");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (size_t i = 0; i < n; i++) {
        r = PQexec(p.conn, queries[i]);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
            fprintf(stderr, "cookbook query %zu failed or returned nothing: %s\n%s\n", i,
                    PQresultErrorMessage(r), queries[i]);
        }
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_true(PQntuples(r) > 0);
        printf("cookbook query %zu: %d rows\n", i + 1, PQntuples(r));
        PQclear(r);
        free(queries[i]);
    }

    /* The reader cannot write. */
    r = PQexec(p.conn, "INSERT INTO articles (id, title, received_at, content_hash) "
                       "VALUES ('x', 'x', now(), 'x')");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    r = PQexec(p.conn, "DELETE FROM rejected_messages");
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    PQclear(PQexec(p.conn, "RESET ROLE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cookbook_queries_run_as_reader, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
