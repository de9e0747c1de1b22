/* test_reload.c - classify reloads its taxonomy on SIGHUP and keeps the old one when the new
 * file is bad
 *
 * The pipeline runs with a small test taxonomy (tests/data/taxonomy/basic.json) copied into the
 * test folder. An article is tagged by it; the file is replaced by invalid JSON and SIGHUP sent:
 * classify logs the refusal and keeps tagging with the old rules; then the file becomes the
 * default taxonomy and SIGHUP is sent again: new articles carry its tags ("Tech Collaboration",
 * which basic.json does not have).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "harness.h"

struct fixture {
    struct h_pipeline p;
    char taxonomy[128];
    char env[160];
    void *ctx;
    void *push;
};

static void copy_file(const char *from, const char *to)
{
    char cmd[2200];

    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char src[1024];

    if (f == NULL || h_pipeline_init(&f->p, "reload") != 0) {
        return -1;
    }
    snprintf(f->taxonomy, sizeof(f->taxonomy), "%s/taxonomy.json", f->p.dir);
    snprintf(src, sizeof(src), "%s/taxonomy/basic.json", getenv("NP_TEST_DATA"));
    copy_file(src, f->taxonomy);
    snprintf(f->env, sizeof(f->env), "NP_CLASSIFY_TAXONOMY=%s", f->taxonomy);
    f->p.extra_env[H_CLASSIFY][0] = f->env;
    h_start_all(&f->p);
    f->ctx = zmq_ctx_new();
    f->push = h_ingest_socket(&f->p, f->ctx, ZMQ_PUSH, "pull");
    if (f->push == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zmq_close(f->push);
    zmq_ctx_term(f->ctx);
    h_pipeline_cleanup(&f->p);
    free(f);
    return 0;
}

/* Pushes an article and waits until it is stored; returns its tags as text ("{...}"). */
static char *push_and_get_tags(struct fixture *f, const char *id)
{
    char json[512];
    char sql[256];
    PGresult *r = NULL;
    char *tags = NULL;

    snprintf(json, sizeof(json),
             "{\"id\": \"%s\", \"title\": \"Crude oil prices rise\", \"summary\": \"China and "
             "Russia signed technology cooperation agreements; OPEC output and crude oil "
             "prices rose.\"}",
             id);
    assert_int_equal(zmq_send(f->push, json, strlen(json), 0), (int)strlen(json));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM articles WHERE id = '%s'", id);
    assert_int_equal(h_wait_for(f->p.conn, sql, 1, h_now() + 30), 1);
    snprintf(sql, sizeof(sql), "SELECT tags::text FROM articles WHERE id = '%s'", id);
    r = PQexec(f->p.conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    tags = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return tags;
}

/* True when the classify log gains a line containing text within 10 s. */
static bool log_says(struct fixture *f, const char *text)
{
    char cmd[512];
    double end = h_now() + 10;

    snprintf(cmd, sizeof(cmd), "grep -q '%s' '%s/classify.log'", text, f->p.dir);
    while (h_now() < end) {
        if (system(cmd) == 0) {
            return true;
        }
        h_pause_ms(100);
    }
    return false;
}

static void test_reload_keeps_old_taxonomy_on_error(void **state)
{
    struct fixture *f = *state;
    char src[1024];
    char *tags = NULL;
    FILE *fp = NULL;

    tags = push_and_get_tags(f, "before");
    assert_non_null(strstr(tags, "Oil"));
    assert_null(strstr(tags, "Tech Collaboration"));
    free(tags);

    /* A broken file: refused, the old taxonomy stays. */
    fp = fopen(f->taxonomy, "w");
    assert_non_null(fp);
    fputs("{\"version\": \"x\", \"tags\": [{\"name\": 5}]", fp);
    fclose(fp);
    h_kill(&f->p, H_CLASSIFY, SIGHUP);
    assert_true(log_says(f, "could not reload taxonomy, keeping the previous one"));
    assert_true(h_alive(&f->p, H_CLASSIFY));
    tags = push_and_get_tags(f, "during");
    assert_non_null(strstr(tags, "Oil"));
    free(tags);

    /* A good file: taken. */
    snprintf(src, sizeof(src), "%s", getenv("NP_TAXONOMY"));
    copy_file(src, f->taxonomy);
    h_kill(&f->p, H_CLASSIFY, SIGHUP);
    assert_true(log_says(f, "taxonomy reloaded"));
    tags = push_and_get_tags(f, "after");
    assert_non_null(strstr(tags, "Tech Collaboration"));
    free(tags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_keeps_old_taxonomy_on_error, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
