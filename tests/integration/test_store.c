/* test_store.c - store's migrations and batch writer against a real PostgreSQL
 *
 * Each test gets a fresh database (np_test_store_<pid>_<n>) in the pg fixture's cluster,
 * created in setup and dropped in teardown. Messages are built as the wire frames (envelope
 * JSON, article JSON) and go through store_msg_decode(), so decoding is covered too; no
 * sockets are involved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "np/db.h"
#include "np/err.h"
#include "np/hash.h"
#include "np/log.h"
#include "harness.h"
#include "store_db.h"
#include "store_msg.h"

#define MAX_MSGS 64

struct fixture {
    PGconn *admin;
    PGconn *conn;
    char dbname[64];
    char conninfo[128];
    struct store_msg *msgs[MAX_MSGS];
    size_t n;
    struct store_msg_scratch scratch;
};

static int db_counter;

static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    }
    PQclear(res);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct np_err err;
    char name[64];

    assert_non_null(f);
    snprintf(name, sizeof(name), "test_store_%d", ++db_counter);
    assert_int_equal(h_db_create(name, f->dbname, sizeof(f->dbname)), 0);
    snprintf(f->conninfo, sizeof(f->conninfo), "dbname=%s", f->dbname);
    if (np_db_connect(NULL, &f->admin, &err) != 0) {
        fail_msg("%s", err.msg);
    }
    if (np_db_connect(f->conninfo, &f->conn, &err) != 0) {
        fail_msg("%s", err.msg);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < f->n; i++) {
        store_msg_destroy(&f->msgs[i]);
    }
    store_msg_scratch_free(&f->scratch);
    PQfinish(f->conn);
    PQfinish(f->admin);
    h_db_drop(f->dbname);
    free(f);
    return 0;
}

/* Setup plus migrations and staging tables: ready to write. */
static int setup_migrated(void **state)
{
    struct fixture *f = NULL;
    struct np_err err;
    int version = 0;

    setup(state);
    f = *state;
    if (store_db_migrate(f->conn, &version, &err) != 0) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(store_db_prepare(f->conn), 0);
    return 0;
}

/* Runs a query that returns one value; returns it as a new string (free()) or NULL for NULL. */
static char *query1(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    char *out = NULL;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fail_msg("%s: %s (%d rows)", sql, PQresultErrorMessage(res), PQntuples(res));
    }
    if (!PQgetisnull(res, 0, 0)) {
        out = strdup(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return out;
}

static void assert_query(PGconn *conn, const char *sql, const char *expected)
{
    char *v = query1(conn, sql);

    if (expected == NULL) {
        if (v != NULL) {
            fail_msg("%s: expected NULL, got \"%s\"", sql, v);
        }
    } else {
        if (v == NULL || strcmp(v, expected) != 0) {
            fail_msg("%s: expected \"%s\", got \"%s\"", sql, expected, v != NULL ? v : "NULL");
        }
    }
    free(v);
}

static json_t *envelope(uint64_t seq, const char *id)
{
    json_t *env = json_pack("{s:i, s:s, s:I, s:s, s:{s:s, s:s}, s:s}", "v", 1, "kind", "article",
                            "seq", (json_int_t)seq, "id", id, "origin", "id", "test-ingest", "ack",
                            "inproc://acks", "received_at", "2026-11-28T15:00:00.123456Z");

    assert_non_null(env);
    return env;
}

static json_t *article(const char *id, const char *title)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "title", title, "body",
                          "Body text of the article.", "source", "Test Wire");

    assert_non_null(a);
    return a;
}

/* Decodes frames into the fixture's next message slot. */
static struct store_msg *add_frames(struct fixture *f, const void *env, size_t env_len,
                                    const void *payload, size_t payload_len, size_t nframes)
{
    struct store_msg *m = NULL;

    assert_true(f->n < MAX_MSGS);
    assert_int_equal(store_msg_decode(env, env_len, payload, payload_len, nframes, &f->scratch, &m),
                     0);
    f->msgs[f->n++] = m;
    return m;
}

/* Serialises env and payload (both stolen) and decodes them as a two-frame message. */
static struct store_msg *add_msg(struct fixture *f, json_t *env, json_t *payload)
{
    char *e = json_dumps(env, JSON_COMPACT);
    char *p = json_dumps(payload, JSON_COMPACT);
    struct store_msg *m = NULL;

    assert_non_null(e);
    assert_non_null(p);
    m = add_frames(f, e, strlen(e), p, strlen(p), 2);
    free(e);
    free(p);
    json_decref(env);
    json_decref(payload);
    return m;
}

static int write_all(struct fixture *f, struct store_stats *st)
{
    return store_db_write_batch(f->conn, f->msgs, f->n, st);
}

static void clear_msgs(struct fixture *f)
{
    for (size_t i = 0; i < f->n; i++) {
        store_msg_destroy(&f->msgs[i]);
    }
    f->n = 0;
}

/* ---- migrations ---- */

static void test_migrate_applies_once(void **state)
{
    struct fixture *f = *state;
    struct np_err err;
    int version = -1;
    char count[16];

    snprintf(count, sizeof(count), "%zu", store_migrations_count);
    assert_int_equal(store_db_migrate(f->conn, &version, &err), 0);
    assert_int_equal(version, store_migrations[store_migrations_count - 1].version);
    assert_query(f->conn, "SELECT count(*) FROM schema_migrations", count);
    version = -1;
    assert_int_equal(store_db_migrate(f->conn, &version, &err), 0);
    assert_int_equal(version, store_migrations[store_migrations_count - 1].version);
    assert_query(f->conn, "SELECT count(*) FROM schema_migrations", count);
    assert_query(f->conn, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'newspipe_%'", "2");
    assert_query(f->conn, "SELECT has_table_privilege('newspipe_reader', 'tag_daily', 'SELECT')",
                 "t");
    assert_query(f->conn, "SELECT has_table_privilege('newspipe_reader', 'articles', 'INSERT')",
                 "f");
    assert_query(f->conn, "SELECT has_table_privilege('newspipe_writer', 'articles', 'INSERT')",
                 "t");
    assert_query(f->conn, "SELECT has_table_privilege('newspipe_writer', 'articles', 'DELETE')",
                 "f");
}

struct migrate_arg {
    const char *conninfo;
    int rc;
    int version;
};

static void *migrate_thread(void *p)
{
    struct migrate_arg *a = p;
    struct np_err err;
    PGconn *conn = NULL;

    a->rc = np_db_connect(a->conninfo, &conn, &err);
    if (a->rc == 0) {
        a->rc = store_db_migrate(conn, &a->version, &err);
        if (a->rc != 0) {
            fprintf(stderr, "migrate: %s\n", err.msg);
        }
    }
    PQfinish(conn);
    return NULL;
}

static void test_migrate_concurrently(void **state)
{
    struct fixture *f = *state;
    struct migrate_arg args[4];
    pthread_t th[4];
    char count[16];

    for (size_t i = 0; i < 4; i++) {
        args[i].conninfo = f->conninfo;
        args[i].rc = -100;
        args[i].version = 0;
        assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &args[i]), 0);
    }
    for (size_t i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
        assert_int_equal(args[i].version, store_migrations[store_migrations_count - 1].version);
    }
    snprintf(count, sizeof(count), "%zu", store_migrations_count);
    assert_query(f->conn, "SELECT count(*) FROM schema_migrations", count);
}

/* ---- batch writer ---- */

static void test_batch_lands_with_all_columns(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    json_t *env = envelope(42, "a-1");
    json_t *art = article("a-1", "China and Russia \"trade\"");
    char hash[NP_HASH_HEX_LEN + 1];
    char sql[256];
    const char *hashed = "China and Russia \"trade\"\x1f"
                         "Body text of the article.\x1f"
                         "In short.";

    json_object_set_new(art, "summary", json_string("In short."));
    json_object_set_new(art, "background", json_string("Some background."));
    json_object_set_new(art, "insights", json_string("Some insights."));
    json_object_set_new(art, "url", json_string("https://example.com/a/1"));
    json_object_set_new(art, "lang", json_string("en"));
    json_object_set_new(art, "region", json_string("Asia"));
    json_object_set_new(art, "section", json_string("China / Economy"));
    json_object_set_new(art, "published_at", json_string("2025-09-02T18:52:00Z"));
    json_object_set_new(art, "authors", json_pack("[s, s]", "A. Writer", "B. Writer"));
    json_object_set_new(art, "source_tags", json_pack("[s, s]", "China-Russia Trade", "Energy"));
    json_object_set_new(art, "x_custom", json_pack("{s:i}", "n", 7));
    json_object_set_new(env, "region", json_string("East Asia"));
    json_object_set_new(env, "classifier", json_string("rules-1"));
    add_msg(f, env, art);
    for (int i = 2; i <= 5; i++) {
        char id[16];

        snprintf(id, sizeof(id), "a-%d", i);
        add_msg(f, envelope(40 + (uint64_t)i, id), article(id, "Another title"));
    }
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, 5);
    assert_int_equal(st.isolated, 0);
    assert_int_equal(f->msgs[0]->outcome, STORE_WRITTEN);
    assert_query(f->conn, "SELECT count(*) FROM articles", "5");
    assert_query(f->conn, "SELECT title FROM articles WHERE id = 'a-1'",
                 "China and Russia \"trade\"");
    assert_query(f->conn, "SELECT body FROM articles WHERE id = 'a-1'",
                 "Body text of the article.");
    assert_query(f->conn, "SELECT summary FROM articles WHERE id = 'a-1'", "In short.");
    assert_query(f->conn, "SELECT url FROM articles WHERE id = 'a-1'", "https://example.com/a/1");
    assert_query(f->conn, "SELECT source FROM articles WHERE id = 'a-1'", "Test Wire");
    assert_query(f->conn, "SELECT lang FROM articles WHERE id = 'a-1'", "en");
    assert_query(f->conn, "SELECT region FROM articles WHERE id = 'a-1'", "East Asia");
    assert_query(f->conn, "SELECT section FROM articles WHERE id = 'a-1'", "China / Economy");
    assert_query(f->conn, "SELECT section FROM articles WHERE id = 'a-2'", NULL);
    assert_query(f->conn, "SELECT classifier FROM articles WHERE id = 'a-1'", "rules-1");
    assert_query(f->conn, "SELECT ingest_seq FROM articles WHERE id = 'a-1'", "42");
    assert_query(f->conn,
                 "SELECT published_at = '2025-09-02T18:52:00Z' FROM articles WHERE id = 'a-1'",
                 "t");
    assert_query(f->conn,
                 "SELECT received_at = '2026-11-28T15:00:00.123456Z' FROM articles "
                 "WHERE id = 'a-1'",
                 "t");
    assert_query(f->conn, "SELECT stored_at > now() - interval '1 hour' FROM articles LIMIT 1",
                 "t");
    assert_query(f->conn, "SELECT source_tags FROM articles WHERE id = 'a-1'",
                 "{\"China-Russia Trade\",Energy}");
    assert_query(f->conn, "SELECT tags FROM articles WHERE id = 'a-1'", "{}");
    assert_query(f->conn, "SELECT extra FROM articles WHERE id = 'a-1'",
                 "{\"authors\": [\"A. Writer\", \"B. Writer\"], \"insights\": \"Some insights.\", "
                 "\"x_custom\": {\"n\": 7}, \"background\": \"Some background.\"}");
    np_hash_hex(hashed, strlen(hashed), hash);
    snprintf(sql, sizeof(sql), "SELECT content_hash = '%s' FROM articles WHERE id = 'a-1'", hash);
    assert_query(f->conn, sql, "t");
    assert_query(f->conn, "SELECT extra FROM articles WHERE id = 'a-2'", "{}");
    assert_query(f->conn, "SELECT count(*) FROM article_overview", "5");
}

static void test_same_article_twice_is_one_row(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;

    add_msg(f, envelope(1, "dup"), article("dup", "First"));
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, 1);
    clear_msgs(f);
    add_msg(f, envelope(2, "dup"), article("dup", "Second"));
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, 0);
    assert_int_equal(st.existing, 1);
    assert_int_equal(f->msgs[0]->outcome, STORE_WRITTEN);
    assert_query(f->conn, "SELECT count(*) FROM articles", "1");
    assert_query(f->conn, "SELECT title FROM articles", "First");
}

static void test_duplicate_ids_in_one_batch_are_one_row(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;

    add_msg(f, envelope(1, "x"), article("x", "Kept"));
    add_msg(f, envelope(2, "y"), article("y", "Other"));
    add_msg(f, envelope(3, "x"), article("x", "Dropped"));
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, 2);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(f->msgs[2]->outcome, STORE_DUPLICATE);
    assert_query(f->conn, "SELECT count(*) FROM articles", "2");
    assert_query(f->conn, "SELECT title FROM articles WHERE id = 'x'", "Kept");
}

static void test_tags_and_entities_land_from_envelope(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    json_t *env = envelope(7, "t-1");
    json_t *tags = json_pack(
        "[{s:s, s:f, s:s, s:[{s:s, s:s, s:i, s:i}]}, {s:s, s:f, s:s}, {s:s, s:f}]", "name", "Oil",
        "score", 3.5, "classifier", "rules", "evidence", "phrase", "crude oil", "field", "body",
        "count", 3, "offset", 120, "name", "Energy Cooperation", "score", 1.25, "classifier",
        "learned", "name", "Oil", "score", 9.0);
    json_t *entities =
        json_pack("[{s:s, s:s, s:i, s:f, s:b}, {s:s, s:s, s:i}, {s:s, s:s, s:i, s:f, s:b}]", "name",
                  "China", "kind", "country", "mentions", 7, "salience", 0.85, "about", 1, "name",
                  "Russia", "kind", "country", "mentions", 5, "name", "Japan", "kind", "country",
                  "mentions", 1, "salience", 0.1, "about", 0);

    json_object_set_new(env, "tags", tags);
    json_object_set_new(env, "entities", entities);
    json_object_set_new(env, "classifier", json_string("rules-2"));
    add_msg(f, env, article("t-1", "Tagged"));
    assert_int_equal(write_all(f, &st), 0);
    assert_query(f->conn, "SELECT tags FROM articles WHERE id = 't-1'",
                 "{Oil,\"Energy Cooperation\",Oil}");
    assert_query(f->conn, "SELECT count(*) FROM article_tags WHERE article_id = 't-1'", "2");
    assert_query(f->conn, "SELECT score FROM article_tags WHERE tag = 'Oil'", "3.5");
    assert_query(f->conn, "SELECT classifier FROM article_tags WHERE tag = 'Oil'", "rules");
    assert_query(f->conn, "SELECT classifier FROM article_tags WHERE tag = 'Energy Cooperation'",
                 "learned");
    assert_query(f->conn, "SELECT evidence->0->>'phrase' FROM article_tags WHERE tag = 'Oil'",
                 "crude oil");
    assert_query(f->conn, "SELECT mentions FROM article_entities WHERE entity = 'China'", "7");
    assert_query(f->conn, "SELECT kind FROM article_entities WHERE entity = 'Russia'", "country");
    /* salience and about (005) as classify sent them; absent ones stay NULL */
    assert_query(f->conn, "SELECT salience FROM article_entities WHERE entity = 'China'", "0.85");
    assert_query(f->conn, "SELECT about FROM article_entities WHERE entity = 'China'", "t");
    assert_query(f->conn, "SELECT about FROM article_entities WHERE entity = 'Japan'", "f");
    assert_query(f->conn,
                 "SELECT coalesce(salience::text, 'null') || coalesce(about::text, 'null') "
                 "FROM article_entities WHERE entity = 'Russia'",
                 "nullnull");
    assert_query(f->conn, "SELECT entities FROM article_overview WHERE id = 't-1'",
                 "{China,Russia,Japan}");
    assert_query(f->conn, "SELECT sum(articles) FROM tag_daily WHERE tag = 'Oil'", "2");
    assert_query(f->conn,
                 "SELECT articles FROM tag_pairs WHERE tag_a = 'Energy Cooperation' AND "
                 "tag_b = 'Oil'",
                 "2");
}

static void test_text_is_escaped_for_copy(void **state)
{
    struct fixture *f = *state;
    const char *title = "tab\there, newline\nthere, cr\r, back\\slash \\N \\. \"q\" {a,b} é 中";
    json_t *art = article("esc", title);
    PGresult *res = NULL;

    json_object_set_new(art, "source_tags", json_pack("[s, s, s]", "a\"b", "c\\d,{e}", "NULL"));
    add_msg(f, envelope(1, "esc"), art);
    assert_int_equal(write_all(f, NULL), 0);
    res = PQexec(f->conn, "SELECT title, source_tags[1], source_tags[2], source_tags[3] "
                          "FROM articles WHERE id = 'esc'");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), title);
    assert_string_equal(PQgetvalue(res, 0, 1), "a\"b");
    assert_string_equal(PQgetvalue(res, 0, 2), "c\\d,{e}");
    assert_string_equal(PQgetvalue(res, 0, 3), "NULL");
    assert_false(PQgetisnull(res, 0, 3));
    PQclear(res);
}

static json_t *rejected_envelope(uint64_t seq)
{
    json_t *env =
        json_pack("{s:i, s:s, s:I, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s}", "v", 1, "kind",
                  "rejected", "seq", (json_int_t)seq, "origin", "id", "test-ingest", "ack",
                  "inproc://acks", "received_at", "2026-11-28T15:00:01Z", "stage", "ingest",
                  "channel", "pull", "reason", "title: missing", "field", "title");

    assert_non_null(env);
    return env;
}

/* Fetches raw of the only rejected_messages row matching where, in binary. */
static void assert_raw(PGconn *conn, const char *sql, const void *raw, size_t len)
{
    PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_int_equal((size_t)PQgetlength(res, 0, 0), len);
    assert_memory_equal(PQgetvalue(res, 0, 0), raw, len);
    PQclear(res);
}

static void test_rejected_lands_byte_for_byte(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    static const unsigned char raw[] = { '{',  '"',  't', '\t', '\n', '\r', '\\', 0x00,
                                         0xff, 0xfe, 'N', '\\', '.',  '\n', 0x01, '}' };
    json_t *env = rejected_envelope(99);
    char *e = json_dumps(env, JSON_COMPACT);

    add_frames(f, e, strlen(e), raw, sizeof(raw), 2);
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.rejected, 1);
    assert_query(f->conn,
                 "SELECT stage || '|' || channel || '|' || reason || '|' || field || "
                 "'|' || origin || '|' || seq FROM rejected_messages",
                 "ingest|pull|title: missing|title|test-ingest|99");
    assert_query(f->conn, "SELECT received_at = '2026-11-28T15:00:01Z' FROM rejected_messages",
                 "t");
    assert_raw(f->conn, "SELECT raw FROM rejected_messages", raw, sizeof(raw));
    /* Redelivered: still one row. */
    clear_msgs(f);
    add_frames(f, e, strlen(e), raw, sizeof(raw), 2);
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.rejected, 0);
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages", "1");
    free(e);
    json_decref(env);
}

static void test_garbled_messages_become_rejections(void **state)
{
    struct fixture *f = *state;
    const char *bad_env = "{\"v\":1,\"seq\":";
    const char *payload = "{\"title\":\"kept anyway\"}";
    char *e = NULL;
    json_t *env = envelope(5, "g-1");

    add_frames(f, bad_env, strlen(bad_env), payload, strlen(payload), 2);
    e = json_dumps(env, JSON_COMPACT);
    add_frames(f, e, strlen(e), "{not json", 9, 2);
    add_frames(f, e, strlen(e), payload, strlen(payload), 3);
    add_frames(f, e, strlen(e), NULL, 0, 1);
    assert_int_equal(f->msgs[0]->kind, STORE_MSG_REJECTED);
    assert_false(f->msgs[0]->has_seq);
    assert_true(f->msgs[1]->has_seq);
    assert_int_equal(write_all(f, NULL), 0);
    /* Same origin and seq 5 three times: one row (a redelivered rejection is not a second). */
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages WHERE stage = 'store'", "2");
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages WHERE seq IS NULL", "1");
    assert_query(f->conn,
                 "SELECT reason LIKE 'envelope:%' FROM rejected_messages WHERE seq IS NULL", "t");
    assert_query(f->conn,
                 "SELECT convert_from(raw, 'UTF8') FROM rejected_messages WHERE seq IS NULL",
                 payload);
    assert_query(f->conn,
                 "SELECT convert_from(envelope, 'UTF8') FROM rejected_messages "
                 "WHERE seq IS NULL",
                 bad_env);
    assert_query(f->conn, "SELECT reason LIKE 'article:%' FROM rejected_messages WHERE seq = 5",
                 "t");
    assert_query(f->conn, "SELECT count(*) FROM articles", "0");
    free(e);
    json_decref(env);
}

/* A trigger that refuses the title "poison" (SQLSTATE 23514), as a CHECK written by a DBA would. */
static void refuse_poison(PGconn *conn)
{
    exec_ok(conn, "CREATE FUNCTION refuse_title() RETURNS trigger LANGUAGE plpgsql AS $$"
                  " BEGIN IF NEW.title = 'poison' THEN"
                  " RAISE EXCEPTION 'poison title' USING ERRCODE = '23514'; END IF;"
                  " RETURN NEW; END $$");
    exec_ok(conn, "CREATE TRIGGER refuse_title BEFORE INSERT ON articles FOR EACH ROW "
                  "EXECUTE FUNCTION refuse_title()");
}

/* Writes the fixture's messages, which must all land as n new articles. */
static void assert_all_land(struct fixture *f, size_t n)
{
    struct store_stats st;
    char count[32];

    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, n);
    assert_int_equal(st.dropped, 0);
    snprintf(count, sizeof(count), "%zu", n);
    assert_query(f->conn, "SELECT count(*) FROM articles", count);
}

static void test_bad_rows_are_isolated(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    const char *bad_date = NULL;

    refuse_poison(f->conn);
    for (int i = 0; i < 20; i++) {
        char id[16];
        json_t *art = NULL;

        snprintf(id, sizeof(id), "r-%02d", i);
        art = article(id, i == 13 ? "poison" : "Fine");
        if (i == 4) {
            json_object_set_new(art, "published_at", json_string("300000-01-01T00:00:00Z"));
        }
        add_msg(f, envelope(100 + (uint64_t)i, id), art);
    }
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(st.articles, 18);
    assert_int_equal(st.isolated, 2);
    assert_int_equal(f->msgs[4]->outcome, STORE_ISOLATED);
    assert_int_equal(f->msgs[13]->outcome, STORE_ISOLATED);
    assert_int_equal(f->msgs[5]->outcome, STORE_WRITTEN);
    assert_query(f->conn, "SELECT count(*) FROM articles", "18");
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages WHERE stage = 'store'", "2");
    assert_query(f->conn, "SELECT sqlstate FROM rejected_messages WHERE seq = 113", "23514");
    bad_date = query1(f->conn, "SELECT sqlstate FROM rejected_messages WHERE seq = 104");
    assert_non_null(bad_date);
    assert_memory_equal(bad_date, "22", 2);
    free((void *)bad_date);
    assert_query(f->conn,
                 "SELECT reason LIKE 'poison title%' FROM rejected_messages WHERE seq = 113", "t");
    assert_raw(f->conn, "SELECT raw FROM rejected_messages WHERE seq = 113", f->msgs[13]->raw,
               f->msgs[13]->raw_len);
    assert_query(f->conn, "SELECT origin FROM rejected_messages WHERE seq = 104", "test-ingest");
}

/* A refusal that is not about the data (here a read-only session, as on a standby after a
 * failover) must not turn messages into drops: the batch is retried and nothing is acked. */
static void test_read_only_database_drops_nothing(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;

    add_msg(f, envelope(300, "ro-1"), article("ro-1", "First"));
    add_msg(f, envelope(301, "ro-2"), article("ro-2", "Second"));
    exec_ok(f->conn, "SET default_transaction_read_only = on");
    assert_int_equal(write_all(f, &st), NP_ETRANSIENT);
    for (size_t i = 0; i < f->n; i++) {
        assert_int_not_equal(f->msgs[i]->outcome, STORE_DROPPED);
    }
    exec_ok(f->conn, "SET default_transaction_read_only = off");
    assert_all_land(f, 2);
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages", "0");
}

/* A refusal whose message is longer than store keeps is cut at a character, not inside one:
 * the rejection row (text) must still be accepted. */
static void test_long_refusal_is_cut_at_a_character(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    char title[1300];
    size_t k = 0;

    exec_ok(f->conn, "CREATE FUNCTION refuse_long() RETURNS trigger LANGUAGE plpgsql AS $$"
                     " BEGIN IF length(NEW.title) > 500 THEN"
                     " RAISE EXCEPTION 'bad title %', NEW.title; END IF;"
                     " RETURN NEW; END $$");
    exec_ok(f->conn, "CREATE TRIGGER refuse_long BEFORE INSERT ON articles FOR EACH ROW "
                     "EXECUTE FUNCTION refuse_long()");
    /* "bad title " is 10 bytes and store keeps 999: the cut falls inside a character. */
    while (k + 2 < sizeof(title)) {
        title[k++] = '\xc3';
        title[k++] = '\xa9'; /* é */
    }
    title[k] = '\0';
    add_msg(f, envelope(400, "long-1"), article("long-1", title));
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(f->msgs[0]->outcome, STORE_ISOLATED);
    assert_int_equal(st.dropped, 0);
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages WHERE seq = 400", "1");
    assert_query(f->conn,
                 "SELECT reason LIKE 'bad title \xc3\xa9%' FROM rejected_messages WHERE seq = 400",
                 "t");
}

/* Two copies of one article in a batch, the first refused: the second is not acknowledged as
 * its duplicate (nothing of it would be stored), and lands when ingest sends it again. */
static void test_copy_of_a_refused_article_waits_for_redelivery(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;

    refuse_poison(f->conn);
    add_msg(f, envelope(500, "twice"), article("twice", "poison"));
    add_msg(f, envelope(501, "twice"), article("twice", "Fine"));
    add_msg(f, envelope(502, "other"), article("other", "Fine"));
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(f->msgs[0]->outcome, STORE_ISOLATED);
    assert_int_equal(f->msgs[1]->outcome, STORE_PENDING);
    assert_int_equal(f->msgs[2]->outcome, STORE_WRITTEN);
    assert_int_equal(st.duplicates, 0);
    assert_query(f->conn, "SELECT count(*) FROM articles WHERE id = 'twice'", "0");

    /* The redelivery of seq 501 alone. */
    store_msg_destroy(&f->msgs[0]);
    store_msg_destroy(&f->msgs[2]);
    f->msgs[0] = f->msgs[1];
    f->msgs[1] = NULL;
    f->n = 1;
    assert_int_equal(write_all(f, &st), 0);
    assert_int_equal(f->msgs[0]->outcome, STORE_WRITTEN);
    assert_query(f->conn, "SELECT ingest_seq FROM articles WHERE id = 'twice'", "501");
    assert_query(f->conn, "SELECT count(*) FROM rejected_messages WHERE seq = 500", "1");
}

static void test_lost_connection_is_transient(void **state)
{
    struct fixture *f = *state;
    struct store_stats st;
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(f->conn));
    exec_ok(f->admin, sql);
    add_msg(f, envelope(1, "after"), article("after", "After the cut"));
    assert_int_equal(write_all(f, &st), NP_ETRANSIENT);
    assert_int_equal(np_db_error_kind(NULL, f->conn), NP_ETRANSIENT);
    PQreset(f->conn);
    assert_int_equal(PQstatus(f->conn), CONNECTION_OK);
    assert_int_equal(store_db_prepare(f->conn), 0);
    assert_all_land(f, 1);
}

static void test_error_kinds(void **state)
{
    struct fixture *f = *state;

    static const struct {
        const char *sql;
        int kind;
    } cases[] = {
        { "SELECT 1", 0 },
        { "SELECT 1/0", NP_EDB },                  /* 22012 */
        { "SELECT 'x'::int", NP_EDB },             /* 22P02 */
        { "SELECT * FROM no_such_table", NP_EDB }, /* 42P01 */
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '53100'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57P01'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '08006'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '58030'; END $$", NP_ETRANSIENT },
        { "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23505'; END $$", NP_EDB },
    };

    PGconn *bad = NULL;
    struct np_err err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        PGresult *res = PQexec(f->conn, cases[i].sql);

        if (np_db_error_kind(res, f->conn) != cases[i].kind) {
            fail_msg("%s: expected %d, got %d", cases[i].sql, cases[i].kind,
                     np_db_error_kind(res, f->conn));
        }
        PQclear(res);
    }
    assert_int_equal(np_db_error_kind(NULL, NULL), NP_ETRANSIENT);
    assert_int_equal(np_db_connect("host=/nonexistent/dir port=1", &bad, &err), NP_ETRANSIENT);
    assert_null(bad);
    assert_int_equal(np_db_connect("nonsense without equals", &bad, &err), NP_EINVAL);
    assert_int_equal(np_db_connect("postgresql://u:secret@[bad", &bad, &err), NP_EINVAL);
    assert_null(strstr(err.msg, "secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_applies_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_concurrently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_lands_with_all_columns, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_article_twice_is_one_row, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_ids_in_one_batch_are_one_row, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tags_and_entities_land_from_envelope, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_text_is_escaped_for_copy, setup_migrated, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_lands_byte_for_byte, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbled_messages_become_rejections, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_are_isolated, setup_migrated, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_database_drops_nothing, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_refusal_is_cut_at_a_character, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_copy_of_a_refused_article_waits_for_redelivery,
                                        setup_migrated, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_is_transient, setup_migrated,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_kinds, setup_migrated, teardown),
    };

    np_log_init("test_store", NP_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
