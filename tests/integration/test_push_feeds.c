/* test_push_feeds.c - feeds through the real pipeline: newspipe-push's reader, the three
 * workers, PostgreSQL
 *
 * Pushes examples/rss.xml, examples/atom.xml and test feeds with push_run() (the code of
 * newspipe-push) to real workers, then checks the rows, the rejections, the summary lines and
 * that pushing a feed again gives duplicates, not new rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "harness.h"
#include "push.h"

#define DEADLINE_S 60

struct fixture {
    struct h_pipeline p;
    char endpoint[128];
    struct push_config cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || getenv("NP_TAXONOMY") == NULL || h_pipeline_init(&f->p, "feeds") != 0) {
        free(f);
        return -1;
    }
    h_start_all(&f->p);
    snprintf(f->endpoint, sizeof(f->endpoint), "ipc://%s/router", f->p.dir);
    f->cfg.endpoint = f->endpoint;
    f->cfg.pull_endpoint = f->endpoint;
    f->cfg.window = 8;
    f->cfg.timeout_ms = 60000;
    /* No resends: a resent item that ingest refuses would be on record twice, and the counts
     * below are exact. */
    f->cfg.resend_ms = 60000;
    f->cfg.quiet = false;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL) {
        return 0;
    }
    h_pipeline_cleanup(&f->p);
    free(f);
    return 0;
}

static char *path_in(const char *env, const char *name)
{
    const char *dir = getenv(env);
    size_t n = 0;
    char *p = NULL;

    assert_non_null(dir);
    n = strlen(dir) + strlen(name) + 2;
    p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Runs push_run on files; returns its exit code and what it printed (free()). */
static int push(struct fixture *f, char **files, size_t n, char **printed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    FILE *err = tmpfile();
    int rc = 0;

    assert_non_null(out);
    assert_non_null(err);
    rc = push_run(&f->cfg, files, n, out, err);
    fclose(out);
    fclose(err);
    printf("%s", buf);
    *printed = buf;
    return rc;
}

static char *query_text(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *s = NULL;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "query failed: %s: %s\n", sql, PQresultErrorMessage(r));
    }
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

static void assert_query(PGconn *c, const char *sql, const char *want)
{
    char *got = query_text(c, sql);

    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s\n  got  %s\n  want %s\n", sql, got, want);
    }
    assert_string_equal(got, want);
    free(got);
}

static void test_feeds_end_to_end(void **state)
{
    struct fixture *f = *state;
    char *files[5] = { path_in("NP_EXAMPLES", "rss.xml"), path_in("NP_EXAMPLES", "atom.xml"),
                       path_in("NP_TEST_DATA", "feeds/missing_fields.xml"),
                       path_in("NP_TEST_DATA", "feeds/malformed.xml"),
                       path_in("NP_TEST_DATA", "feeds/billion_laughs.xml") };
    char *printed = NULL;
    double deadline = h_now() + DEADLINE_S;
    PGconn *c = f->p.conn;

    /* 4 + 3 items from the examples, 4 from missing_fields (2 without a title are refused);
     * the malformed and the hostile feed send nothing. */
    assert_int_equal(push(f, files, 5, &printed), 1);
    assert_non_null(strstr(printed, "pushed 11: 9 accepted, 0 duplicate, 2 rejected, "
                                    "0 unanswered"));
    assert_non_null(strstr(printed, "rss.xml (RSS 2.0): 4 items: 4 accepted, 0 duplicate, "
                                    "0 rejected, 0 unanswered\n"));
    assert_non_null(strstr(printed, "atom.xml (Atom 1.0): 3 items: 3 accepted"));
    assert_non_null(strstr(printed, "missing_fields.xml (RSS 2.0): 4 items: 2 accepted, 0 "
                                    "duplicate, 2 rejected"));
    assert_non_null(strstr(printed, "missing_fields.xml:7: rejected: title"));
    assert_non_null(strstr(printed, "malformed.xml: cannot read as a feed: line 10, column "));
    assert_non_null(strstr(printed, "billion_laughs.xml: cannot read as a feed: line 3"));
    free(printed);

    assert_int_equal(h_wait_for(c, "SELECT count(*) FROM articles", 9, deadline), 9);
    assert_int_equal(h_wait_for(c,
                                "SELECT count(*) FROM rejected_messages WHERE field = 'title' "
                                "AND channel = 'router'",
                                2, deadline),
                     2);
    assert_query(c,
                 "SELECT count(*) FILTER (WHERE source = 'Harbour Town Courier') || ' ' || "
                 "count(*) FILTER (WHERE source = 'Northern Science Wire') FROM articles",
                 "4 3");
    assert_query(c,
                 "SELECT url || ' ' || published_at AT TIME ZONE 'UTC' || ' ' || "
                 "array_to_string(source_tags, ',') || ' ' || lang || ' ' || "
                 "(extra->'authors'->>0) FROM articles "
                 "WHERE id = 'https://courier.example.org/#courier-2026-11-0412'",
                 "https://courier.example.org/news/2026/11/flood-barriers 2026-11-24 16:05:00 "
                 "Climate,Local government en Jonas Lindqvist");
    assert_query(c,
                 "SELECT position('The old town' in body) > 0 AND summary LIKE '%& the harbour%' "
                 "FROM articles WHERE url LIKE '%flood-barriers'",
                 "t");
    /* Headline-only items: stored with an empty body, still tagged from the title. */
    assert_query(c, "SELECT count(*) FROM articles WHERE body = ''", "4");
    assert_query(c,
                 "SELECT id || ' ' || title FROM articles "
                 "WHERE url = 'https://science-wire.example.net/2026/11/malaria-output'",
                 "tag:science-wire.example.net,2026:malaria-output Vaccine maker doubles output "
                 "of its malaria shot");
    /* An unreadable date is kept aside, not lost. */
    assert_query(c,
                 "SELECT (published_at IS NULL) || ' ' || (extra->>'feed_date') FROM articles "
                 "WHERE title = 'Bad date'",
                 "true sometime last week");

    /* The same feed again: duplicates, no new rows. */
    assert_int_equal(push(f, files, 1, &printed), 0);
    assert_non_null(strstr(printed, "pushed 4: 0 accepted, 4 duplicate"));
    free(printed);
    assert_int_equal(h_wait_for(c, "SELECT count(*) FROM article_duplicates", 4, deadline), 4);
    assert_int_equal(h_query_long(c, "SELECT count(*) FROM articles"), 9);
    for (size_t i = 0; i < 5; i++) {
        free(files[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feeds_end_to_end, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
