/* test_store_msg.c - store's decoder: every column of every row, without a database
 *
 * Messages are the wire frames (envelope JSON, canonical article JSON) as classify sends them;
 * store_msg_decode() turns them into rows, and each test reads the rows column by column
 * through the tables of store_msg.h. test_article_row_pins_every_column fails when a column is
 * added to the articles row without a value pinned here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np/hash.h"
#include "store_msg.h"

static const char ENVELOPE[] =
    "{\"v\":1,\"kind\":\"article\",\"seq\":42,\"id\":\"a-1\","
    "\"origin\":{\"id\":\"ingest-1\",\"ack\":\"inproc://acks\"},"
    "\"received_at\":\"2026-11-28T15:00:00.123456Z\",\"region\":\"East Asia\","
    "\"classifier\":\"rules/7\",\"classified_at\":\"2026-11-28T15:00:01Z\","
    "\"tags\":[{\"name\":\"Oil\",\"score\":3.5,\"classifier\":\"rules\","
    "\"evidence\":[{\"phrase\":\"crude oil\",\"field\":\"body\",\"count\":3,\"offset\":12}]},"
    "{\"name\":\"Trade\",\"score\":1},{\"score\":2},\"Energy\"],"
    "\"entities\":[{\"name\":\"China\",\"kind\":\"country\",\"mentions\":7,"
    "\"salience\":0.85,\"about\":true},"
    "{\"kind\":\"country\"},{\"name\":\"Gazprom\"}]}";

static const char ARTICLE[] =
    "{\"id\":\"a-1\",\"title\":\"China and Russia \\\"trade\\\"\",\"body\":\"Tab\\there.\","
    "\"summary\":\"In short.\",\"background\":\"Some background.\",\"insights\":\"Insight.\","
    "\"url\":\"https://example.com/a/1\",\"source\":\"Test Wire\",\"lang\":\"en\","
    "\"region\":\"Asia\",\"section\":\"China / Economy\","
    "\"published_at\":\"2025-09-02T18:52:00Z\",\"authors\":[\"A. Writer\"],"
    "\"source_tags\":[\"China-Russia Trade\",\"a\\\"b\"],\"x_custom\":{\"n\":7}}";

struct fixture {
    struct store_msg_scratch scratch;
    struct store_msg *m;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_msg_destroy(&f->m);
    store_msg_scratch_free(&f->scratch);
    free(f);
    return 0;
}

static struct store_msg *decode(struct fixture *f, const char *env, const char *art)
{
    store_msg_destroy(&f->m);
    assert_int_equal(store_msg_decode(env, strlen(env), art, art != NULL ? strlen(art) : 0,
                                      art != NULL ? 2 : 1, &f->scratch, &f->m),
                     0);
    assert_non_null(f->m);
    return f->m;
}

/* Asserts column `name` of row holds text `want` (NULL: absent). */
static void assert_col(const struct store_table *t, const struct store_value *row, const char *name,
                       const char *want)
{
    const struct store_value *v = store_row_get(t, row, name);

    if (v == NULL) {
        fail_msg("%s has no column \"%s\"", t->name, name);
    }
    if (want == NULL) {
        if (v->s != NULL) {
            fail_msg("%s.%s: expected absent, got \"%s\"", t->name, name, v->s);
        }
        return;
    }
    if (v->s == NULL || strcmp(v->s, want) != 0) {
        fail_msg("%s.%s: expected \"%s\", got \"%s\"", t->name, name, want,
                 v->s != NULL ? v->s : "(absent)");
    }
}

/* Asserts list column `name` holds the n items of want. */
static void assert_list(const struct store_table *t, const struct store_value *row,
                        const char *name, const char *const *want, size_t n)
{
    const struct store_value *v = store_row_get(t, row, name);

    assert_non_null(v);
    if (v->n != n) {
        fail_msg("%s.%s: expected %zu items, got %zu", t->name, name, n, v->n);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v->items[i], want[i]);
    }
}

static void test_article_row_pins_every_column(void **state)
{
    struct fixture *f = *state;
    const struct store_msg *m = decode(f, ENVELOPE, ARTICLE);
    const struct store_table *t = &store_articles;
    static const char *const source_tags[] = { "China-Russia Trade", "a\"b" };
    static const char *const tags[] = { "Oil", "Trade", "Energy" };
    static const char *const pinned[] = {
        "id",   "title",        "body",       "summary",      "url",         "source",
        "lang", "region",       "section",    "published_at", "source_tags", "received_at",
        "tags", "content_hash", "classifier", "extra",        "ingest_seq",
    };
    const char *hashed = "China and Russia \"trade\"\x1f"
                         "Tab\there.\x1f"
                         "In short.";
    char hash[NP_HASH_HEX_LEN + 1];

    assert_int_equal(m->kind, STORE_MSG_ARTICLE);
    assert_true(m->has_seq);
    assert_int_equal(m->seq, 42);
    assert_string_equal(m->origin_id, "ingest-1");
    assert_string_equal(m->origin_ack, "inproc://acks");
    assert_string_equal(m->id, "a-1");
    assert_int_equal(m->raw_len, strlen(ARTICLE));
    assert_memory_equal(m->raw, ARTICLE, m->raw_len);
    assert_null(m->envelope);
    /* Every column of the row is pinned below; a new one must be added here. */
    for (size_t i = 0; i < t->ncols; i++) {
        bool found = false;

        for (size_t k = 0; k < sizeof(pinned) / sizeof(pinned[0]); k++) {
            found = found || strcmp(t->cols[i].name, pinned[k]) == 0;
        }
        if (!found) {
            fail_msg("column \"%s\" of articles is not pinned by this test", t->cols[i].name);
        }
    }
    assert_int_equal(t->ncols, sizeof(pinned) / sizeof(pinned[0]));
    assert_col(t, m->article, "id", "a-1");
    assert_col(t, m->article, "title", "China and Russia \"trade\"");
    assert_col(t, m->article, "body", "Tab\there.");
    assert_col(t, m->article, "summary", "In short.");
    assert_col(t, m->article, "url", "https://example.com/a/1");
    assert_col(t, m->article, "source", "Test Wire");
    assert_col(t, m->article, "lang", "en");
    assert_col(t, m->article, "region", "East Asia"); /* classify's, over the article's */
    assert_col(t, m->article, "section", "China / Economy");
    assert_col(t, m->article, "published_at", "2025-09-02T18:52:00Z");
    assert_list(t, m->article, "source_tags", source_tags, 2);
    assert_col(t, m->article, "received_at", "2026-11-28T15:00:00.123456Z");
    assert_list(t, m->article, "tags", tags, 3);
    np_hash_hex(hashed, strlen(hashed), hash);
    assert_col(t, m->article, "content_hash", hash);
    assert_col(t, m->article, "classifier", "rules/7");
    assert_col(t, m->article, "extra",
               "{\"background\":\"Some background.\",\"insights\":\"Insight.\","
               "\"authors\":[\"A. Writer\"],\"x_custom\":{\"n\":7}}");
    assert_col(t, m->article, "ingest_seq", "42");
}

static void test_tag_and_entity_rows(void **state)
{
    struct fixture *f = *state;
    const struct store_msg *m = decode(f, ENVELOPE, ARTICLE);
    const struct store_table *t = &store_article_tags;
    const struct store_table *e = &store_article_entities;

    /* {"score":2} has no name: skipped; "Energy" is a bare name. */
    assert_int_equal(m->ntags, 3);
    assert_int_equal(t->ncols, 5);
    assert_col(t, &m->tags[0], "article_id", "a-1");
    assert_col(t, &m->tags[0], "tag", "Oil");
    assert_col(t, &m->tags[0], "score", "3.5");
    assert_col(t, &m->tags[0], "evidence",
               "[{\"phrase\":\"crude oil\",\"field\":\"body\",\"count\":3,\"offset\":12}]");
    assert_col(t, &m->tags[0], "classifier", "rules");
    assert_col(t, &m->tags[t->ncols], "tag", "Trade");
    assert_col(t, &m->tags[t->ncols], "score", "1");
    assert_col(t, &m->tags[t->ncols], "evidence", NULL);
    assert_col(t, &m->tags[t->ncols], "classifier", "rules/7"); /* the envelope's */
    assert_col(t, &m->tags[2 * t->ncols], "tag", "Energy");
    assert_col(t, &m->tags[2 * t->ncols], "score", NULL);
    /* {"kind":"country"} has no name: skipped. */
    assert_int_equal(m->nentities, 2);
    assert_int_equal(e->ncols, 6);
    assert_col(e, &m->entities[0], "article_id", "a-1");
    assert_col(e, &m->entities[0], "entity", "China");
    assert_col(e, &m->entities[0], "kind", "country");
    assert_col(e, &m->entities[0], "mentions", "7");
    assert_col(e, &m->entities[0], "salience", "0.85");
    assert_col(e, &m->entities[0], "about", "t");
    assert_col(e, &m->entities[e->ncols], "entity", "Gazprom");
    assert_col(e, &m->entities[e->ncols], "kind", NULL);
    assert_col(e, &m->entities[e->ncols], "mentions", NULL);
    assert_col(e, &m->entities[e->ncols], "salience", NULL);
    assert_col(e, &m->entities[e->ncols], "about", NULL);
}

static void test_unclassified_article_keeps_its_own_region(void **state)
{
    struct fixture *f = *state;
    const char *env = "{\"v\":1,\"kind\":\"article\",\"seq\":3,\"id\":\"b-1\","
                      "\"origin\":{\"id\":\"i\",\"ack\":\"inproc://a\"},"
                      "\"received_at\":\"2026-11-28T15:00:00Z\"}";
    const char *art = "{\"title\":\"T\",\"body\":\"B\",\"region\":\"Asia\"}";
    const struct store_msg *m = decode(f, env, art);
    const struct store_table *t = &store_articles;

    assert_int_equal(m->kind, STORE_MSG_ARTICLE);
    assert_col(t, m->article, "id", "b-1"); /* the envelope's id */
    assert_col(t, m->article, "region", "Asia");
    assert_col(t, m->article, "summary", NULL);
    assert_col(t, m->article, "section", NULL);
    assert_col(t, m->article, "classifier", NULL);
    assert_col(t, m->article, "extra", "{}");
    assert_list(t, m->article, "tags", NULL, 0);
    assert_list(t, m->article, "source_tags", NULL, 0);
    assert_int_equal(m->ntags, 0);
    assert_int_equal(m->nentities, 0);
}

static void test_bad_article_becomes_a_rejection_naming_the_field(void **state)
{
    struct fixture *f = *state;

    static const struct {
        const char *article;
        const char *field;
    } cases[] = {
        { "{\"title\":5,\"body\":\"b\"}", "title" },
        { "{\"body\":\"b\"}", "title" },
        { "{\"title\":\"t\",\"url\":[1]}", "url" },
        { "{\"title\":\"t\",\"section\":[1]}", "section" },
        { "{\"title\":\"t\",\"source_tags\":\"x\"}", "source_tags" },
        { "{\"title\":\"t\",\"source_tags\":[1]}", "source_tags" },
        { "[1]", "" },
        { "{not json", "" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct store_msg *m = decode(f, ENVELOPE, cases[i].article);

        assert_int_equal(m->kind, STORE_MSG_REJECTED);
        assert_true(m->has_seq);
        assert_int_equal(m->seq, 42);
        assert_string_equal(m->stage, "store");
        assert_string_equal(m->channel, "pipeline");
        assert_string_equal(m->field, cases[i].field);
        assert_non_null(strstr(m->reason, "article"));
        assert_null(m->article);
        assert_non_null(m->envelope);
        assert_memory_equal(m->raw, cases[i].article, m->raw_len);
    }
}

static void test_rejection_keeps_ingest_columns(void **state)
{
    struct fixture *f = *state;
    const char *env = "{\"v\":1,\"kind\":\"rejected\",\"seq\":9,"
                      "\"origin\":{\"id\":\"i\",\"ack\":\"inproc://a\"},"
                      "\"received_at\":\"2026-11-28T15:00:00Z\",\"stage\":\"ingest\","
                      "\"channel\":\"pull\",\"reason\":\"title: is required\",\"field\":\"title\"}";
    const struct store_msg *m = decode(f, env, "{\"body\":1}");

    assert_int_equal(m->kind, STORE_MSG_REJECTED);
    assert_int_equal(m->seq, 9);
    assert_string_equal(m->received_at, "2026-11-28T15:00:00Z");
    assert_string_equal(m->stage, "ingest");
    assert_string_equal(m->channel, "pull");
    assert_string_equal(m->reason, "title: is required");
    assert_string_equal(m->field, "title");
    assert_null(m->sqlstate);
    assert_null(m->envelope);
    assert_int_equal(m->raw_len, 10);
}

static void test_unreadable_envelope_has_no_seq(void **state)
{
    struct fixture *f = *state;
    const struct store_msg *m = decode(f, "{\"v\":1,\"seq\":", ARTICLE);

    assert_int_equal(m->kind, STORE_MSG_REJECTED);
    assert_false(m->has_seq);
    assert_null(m->origin_ack);
    assert_non_null(strstr(m->reason, "envelope"));
    assert_non_null(m->envelope);
    m = decode(f, ENVELOPE, NULL);
    assert_int_equal(m->kind, STORE_MSG_REJECTED);
    assert_true(m->has_seq);
    assert_string_equal(m->reason, "message has 1 frames, expected 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_article_row_pins_every_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tag_and_entity_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclassified_article_keeps_its_own_region, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_article_becomes_a_rejection_naming_the_field,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejection_keeps_ingest_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_envelope_has_no_seq, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
