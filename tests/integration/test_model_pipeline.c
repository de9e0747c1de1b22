/* test_model_pipeline.c - a learned model's tags land in article_tags; SIGHUP keeps a good model
 *
 * newspipe-train learns a small model (tags "crude" and "grain", which the default taxonomy
 * does not have) from generated articles; the pipeline runs with NP_CLASSIFY_MODEL pointing at
 * it. A pushed oil article must land with an article_tags row (tag "crude", classifier
 * 'model', a score, evidence with phrase and weight) beside the rules' rows. Then the model
 * file is truncated and SIGHUP sent: classify refuses it, keeps the old model and goes on
 * tagging.
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
    char model[128];
    char env[160];
    void *ctx;
    void *push;
};

static const char *const texts[][2] = {
    { "crude", "Crude oil prices rise as OPEC cuts output" },
    { "crude", "OPEC ministers meet on crude oil quotas" },
    { "crude", "Refinery output and crude oil stocks fall" },
    { "grain", "Wheat harvest lifts grain exports" },
    { "grain", "Corn and wheat prices fall on big harvest" },
    { "grain", "Grain traders expect a record wheat crop" },
    { "", "Central bank leaves interest rates unchanged" },
    { "", "Company reports higher quarterly earnings" },
    { "", "Car maker opens a new plant" },
};

/* Writes the training articles and runs newspipe-train on them. */
static int train(struct fixture *f)
{
    char input[128];
    char cmd[1024];
    FILE *fp = NULL;
    size_t n = sizeof(texts) / sizeof(texts[0]);

    snprintf(input, sizeof(input), "%s/train.jsonl", f->p.dir);
    fp = fopen(input, "w");
    if (fp == NULL) {
        return -1;
    }
    for (size_t r = 0; r < 4; r++) {
        for (size_t i = 0; i < n; i++) {
            fprintf(fp, "{\"title\": \"%s\", \"body\": \"Update %zu: %s\", \"tags\": [%s%s%s]}\n",
                    texts[i][1], r, texts[(i + r) % n][0][0] ? texts[i][1] : "market news",
                    texts[i][0][0] ? "\"" : "", texts[i][0], texts[i][0][0] ? "\"" : "");
        }
    }
    fclose(fp);
    snprintf(cmd, sizeof(cmd),
             "'%s/newspipe-train' --folds 3 --min-df 1 -o '%s' '%s' >'%s/train.log'",
             getenv("NP_BIN_DIR"), f->model, input, f->p.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || h_pipeline_init(&f->p, "model") != 0) {
        return -1;
    }
    snprintf(f->model, sizeof(f->model), "%s/model.bin", f->p.dir);
    if (train(f) != 0) {
        return -1;
    }
    snprintf(f->env, sizeof(f->env), "NP_CLASSIFY_MODEL=%s", f->model);
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

/* Pushes an oil article and waits until it is stored. */
static void push_oil(struct fixture *f, const char *id)
{
    char json[512];
    char sql[256];

    snprintf(json, sizeof(json),
             "{\"id\": \"%s\", \"title\": \"OPEC agrees to cut crude oil output\", \"body\": "
             "\"Oil ministers said crude oil stocks were high and prices would rise.\"}",
             id);
    assert_int_equal(zmq_send(f->push, json, strlen(json), 0), (int)strlen(json));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM articles WHERE id = '%s'", id);
    assert_int_equal(h_wait_for(f->p.conn, sql, 1, h_now() + 30), 1);
}

/* The model's row for the article: 1 when it has tag crude, classifier model, a score >= 0
 * and evidence whose first element has a phrase and a positive weight. */
static long model_row(struct fixture *f, const char *id)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM article_tags WHERE article_id = '%s' AND tag = 'crude' "
             "AND classifier = 'model' AND score >= 0 AND evidence -> 0 ->> 'phrase' <> '' "
             "AND (evidence -> 0 ->> 'weight')::float8 > 0",
             id);
    return h_query_long(f->p.conn, sql);
}

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

static void test_model_tags_land_and_bad_reload_is_refused(void **state)
{
    struct fixture *f = *state;
    FILE *fp = NULL;

    assert_true(log_says(f, "model loaded"));
    push_oil(f, "m1");
    if (model_row(f, "m1") != 1) {
        h_dump_logs(&f->p);
    }
    assert_int_equal(model_row(f, "m1"), 1);
    /* The rules' own tags stay beside it. */
    assert_true(h_query_long(f->p.conn, "SELECT count(*) FROM article_tags WHERE article_id = "
                                        "'m1' AND classifier = 'rules'") >= 1);
    /* articles.tags lists both. */
    assert_int_equal(h_query_long(f->p.conn, "SELECT count(*) FROM articles WHERE id = 'm1' AND "
                                             "tags @> ARRAY['crude']"),
                     1);

    /* A truncated model file: refused with a reason, the old model stays. */
    fp = fopen(f->model, "w");
    assert_non_null(fp);
    fputs("NPMODEL", fp);
    fclose(fp);
    h_kill(&f->p, H_CLASSIFY, SIGHUP);
    assert_true(log_says(f, "could not reload model, keeping the previous one"));
    assert_true(h_alive(&f->p, H_CLASSIFY));
    push_oil(f, "m2");
    assert_int_equal(model_row(f, "m2"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_tags_land_and_bad_reload_is_refused, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
