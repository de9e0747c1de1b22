/* store_db.c - schema migrations and the batch writer
 *
 * Write path (docs/ARCHITECTURE.md, "store's write path"): per batch, one transaction; COPY
 * straight into the tables (write_articles_direct()), and when PostgreSQL refuses that (a
 * conflict, a bad row), COPY (text format) into temporary staging tables, then one
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING per target table. Articles, tags and entities
 * go in one statement whose CTEs insert tags and entities only for the article ids that
 * statement inserted, so a redelivered article neither doubles nor changes the rows of the
 * first delivery (first write wins).
 *
 * Refused data: every (sub-)batch runs inside a SAVEPOINT. When PostgreSQL refuses it for its
 * data (np_db_error_kind() == NP_EDB), the savepoint is rolled back and the range split in
 * halves, recursively, until each refused message is alone; the good halves stay in the same
 * transaction, so the batch still commits once. With k bad rows among n this costs about
 * 2k log2(n) extra sub-batches, nothing when all rows are good. A refused message becomes a
 * rejected_messages row (stage "store", SQLSTATE, message, raw payload) written in the same
 * transaction; if even that row is refused it is logged and dropped (and acked: a message that
 * can never be stored must not be redelivered for ever).
 *
 * Transient errors abandon the whole transaction: the caller reconnects and retries the same
 * batch; ON CONFLICT makes that idempotent.
 *
 * Migrations: one transaction, serialised by pg_advisory_xact_lock (per database), so two
 * stores starting at once apply each file once. The table schema_migrations is created before
 * the lock's holder reads it. A writer role without DDL rights can start once the owner has
 * applied everything (it then only reads schema_migrations).
 */
#include "store_db.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "np/article.h"
#include "np/db.h"
#include "np/err.h"
#include "np/hash.h"
#include "np/log.h"
#include "np/time.h"

static const char SQL_CREATE_MIGRATIONS[] =
    "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

static const char SQL_STAGING[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_articles (id text, url text, title text, "
    "body text, summary text, source text, lang text, region text, published_at timestamptz, "
    "received_at timestamptz, tags text[], source_tags text[], content_hash text, "
    "classifier text, extra jsonb, ingest_seq bigint) ON COMMIT DELETE ROWS;"
    "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_tags (article_id text, tag text, score real, "
    "evidence jsonb, classifier text) ON COMMIT DELETE ROWS;"
    "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_entities (article_id text, entity text, "
    "kind text, mentions integer) ON COMMIT DELETE ROWS;"
    "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_rejected (received_at timestamptz, "
    "stage text, channel text, reason text, field text, sqlstate text, origin text, "
    "seq bigint, raw bytea, envelope bytea) ON COMMIT DELETE ROWS";

static const char SQL_INSERT_ARTICLES[] =
    "WITH ins AS ("
    " INSERT INTO articles (id, url, title, body, summary, source, lang, region, published_at,"
    "  received_at, tags, source_tags, content_hash, classifier, extra, ingest_seq)"
    " SELECT id, url, title, body, summary, source, lang, region, published_at, received_at,"
    "  coalesce(tags, '{}'), coalesce(source_tags, '{}'), content_hash, classifier,"
    "  coalesce(extra, '{}'), ingest_seq"
    " FROM np_stage_articles"
    " ON CONFLICT (id) DO NOTHING"
    " RETURNING id"
    "), t AS ("
    " INSERT INTO article_tags (article_id, tag, score, evidence, classifier)"
    " SELECT s.article_id, s.tag, s.score, s.evidence, s.classifier"
    " FROM np_stage_tags s JOIN ins ON ins.id = s.article_id"
    " ON CONFLICT (article_id, tag) DO NOTHING"
    " RETURNING 1"
    "), e AS ("
    " INSERT INTO article_entities (article_id, entity, kind, mentions)"
    " SELECT s.article_id, s.entity, s.kind, s.mentions"
    " FROM np_stage_entities s JOIN ins ON ins.id = s.article_id"
    " ON CONFLICT (article_id, entity) DO NOTHING"
    " RETURNING 1"
    "), q AS ("
    /* The indexer (store_index.c) makes new articles searchable behind the writer. */
    " INSERT INTO search_queue (article_id) SELECT id FROM ins ON CONFLICT DO NOTHING"
    "), d AS ("
    /* Already stored under another seq: a duplicate push, not a redelivery (003). The
     * statement's snapshot does not see rows ins adds, so only older rows join. */
    " INSERT INTO article_duplicates (article_id, ingest_seq, received_at)"
    " SELECT s.id, s.ingest_seq, s.received_at FROM np_stage_articles s"
    " JOIN articles a ON a.id = s.id"
    " WHERE s.ingest_seq IS NOT NULL AND a.ingest_seq IS DISTINCT FROM s.ingest_seq"
    " ON CONFLICT DO NOTHING"
    ") SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM t), (SELECT count(*) FROM e)";

static const char SQL_INSERT_REJECTED[] =
    "INSERT INTO rejected_messages (received_at, stage, channel, reason, field, sqlstate,"
    " origin, seq, raw, envelope)"
    " SELECT received_at, stage, channel, reason, field, sqlstate, origin, seq, raw, envelope"
    " FROM np_stage_rejected"
    " ON CONFLICT (origin, seq) DO NOTHING";

static const char SQL_CLEAR_STAGING[] =
    "TRUNCATE np_stage_articles, np_stage_tags, np_stage_entities, np_stage_rejected";

/* Most characters of a database message kept for a rejection's reason. */
#define REASON_MAX 1000

/* ---- small helpers ---- */

/* Runs a command; returns 0 or np_db_error_kind(). On failure logs at `level` with `what`. */
static int exec_cmd(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    int rc = np_db_error_kind(res, conn);

    if (rc != 0) {
        np_log_warn("could not %s: %s", what,
                    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    }
    PQclear(res);
    return rc;
}

static void rollback_quietly(PGconn *conn)
{
    PGresult *res = NULL;

    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE) {
        return;
    }
    res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

/* ---- migrations ---- */

static bool version_applied(const PGresult *res, int version)
{
    for (int i = 0; i < PQntuples(res); i++) {
        char *end = NULL;
        long v = strtol(PQgetvalue(res, i, 0), &end, 10);

        if (*end == '\0' && v == version) {
            return true;
        }
    }
    return false;
}

static int apply_one(PGconn *conn, const struct store_migration *m, struct np_err *err)
{
    char version[16];
    const char *params[2] = { version, m->name };
    PGresult *res = PQexec(conn, m->sql);
    int rc = np_db_error_kind(res, conn);

    if (rc != 0) {
        np_err_set(err, rc, "", "migration \"%s\" failed: %s", m->name,
                   res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        goto out;
    }
    PQclear(res);
    snprintf(version, sizeof(version), "%d", m->version);
    res = PQexecParams(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                       NULL, params, NULL, NULL, 0);
    rc = np_db_error_kind(res, conn);
    if (rc != 0) {
        np_err_set(err, rc, "", "could not record migration \"%s\": %s", m->name,
                   res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        goto out;
    }
    np_log_info("applied migration \"%s\" version=%d", m->name, m->version);
out:
    PQclear(res);
    return rc;
}

/* Runs sql expecting rows or a command; on failure sets err with `what`. Returns res or NULL. */
static PGresult *query(PGconn *conn, const char *sql, const char *what, int *rc, struct np_err *err)
{
    PGresult *res = PQexec(conn, sql);

    *rc = np_db_error_kind(res, conn);
    if (*rc != 0) {
        np_err_set(err, *rc, "", "could not %s: %s", what,
                   res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

int store_db_migrate(PGconn *conn, int *version, struct np_err *err)
{
    char key[32];
    const char *params[1] = { key };
    PGresult *res = NULL;
    PGresult *applied = NULL;
    int max = 0;
    int rc = 0;

    snprintf(key, sizeof(key), "%lld", STORE_MIGRATION_LOCK);
    res = query(conn, "BEGIN", "start the migration transaction", &rc, err);
    if (res == NULL) {
        goto out;
    }
    PQclear(res);
    res = PQexecParams(conn, "SELECT pg_advisory_xact_lock($1::bigint)", 1, NULL, params, NULL,
                       NULL, 0);
    rc = np_db_error_kind(res, conn);
    if (rc != 0) {
        np_err_set(err, rc, "", "could not take the migration lock: %s",
                   res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        goto out;
    }
    PQclear(res);
    res = query(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL",
                "look for schema_migrations", &rc, err);
    if (res == NULL) {
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        res = query(conn, SQL_CREATE_MIGRATIONS, "create schema_migrations", &rc, err);
        if (res == NULL) {
            goto out;
        }
    }
    applied =
        query(conn, "SELECT version FROM schema_migrations", "read schema_migrations", &rc, err);
    if (applied == NULL) {
        goto out;
    }
    for (int i = 0; i < PQntuples(applied); i++) {
        long v = strtol(PQgetvalue(applied, i, 0), NULL, 10);

        max = v > max ? (int)v : max;
    }
    for (size_t i = 0; i < store_migrations_count; i++) {
        const struct store_migration *m = &store_migrations[i];

        if (version_applied(applied, m->version)) {
            continue;
        }
        rc = apply_one(conn, m, err);
        if (rc != 0) {
            goto out;
        }
        max = m->version > max ? m->version : max;
    }
    PQclear(res);
    res = query(conn, "COMMIT", "commit the migrations", &rc, err);
    if (res == NULL) {
        goto out;
    }
    if (version != NULL) {
        *version = max;
    }
out:
    PQclear(res);
    PQclear(applied);
    if (rc != 0) {
        rollback_quietly(conn);
    }
    return rc;
}

int store_db_prepare(PGconn *conn)
{
    return exec_cmd(conn, SQL_STAGING, "create the staging tables");
}

/* ---- the batch writer ---- */

/* Which COPY a message contributes a line to. */
enum stage_table {
    STAGE_ARTICLES,
    STAGE_TAGS,
    STAGE_ENTITIES,
    STAGE_REJECTED,
};

/* How a range is written: as the messages themselves, or as the rejections of refused ones. */
enum write_mode {
    MODE_MESSAGES,
    MODE_ISOLATED,
};

/* State of one store_db_write_batch() call. */
struct writer {
    PGconn *conn;
    struct store_msg *const *msgs; /* borrowed */
    struct store_db_stats *st;
    struct store_buf line;    /* scratch for rejection lines */
    bool dirty;               /* staging holds rows of a released savepoint */
    char err_state[6];        /* last refusal: SQLSTATE */
    char err_msg[REASON_MAX]; /* and message */
};

/* Keeps a failed result's SQLSTATE and message (primary, plus context: it names the column). */
static void keep_error(struct writer *w, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *context = res != NULL ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;

    snprintf(w->err_state, sizeof(w->err_state), "%s", state != NULL ? state : "");
    if (primary == NULL) {
        primary = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(w->conn);
    }
    if (context != NULL) {
        snprintf(w->err_msg, sizeof(w->err_msg), "%s (%s)", primary, context);
    } else {
        snprintf(w->err_msg, sizeof(w->err_msg), "%s", primary);
    }
}

/* Builds m's rejected_messages line into w->line. */
static int rejection_line(struct writer *w, const struct store_msg *m, enum write_mode mode)
{
    struct store_buf *b = &w->line;
    char seq[32];
    bool isolated = mode == MODE_ISOLATED;
    const char *fields[8];
    int rc = 0;

    b->len = 0;
    /* A seq PostgreSQL's bigint cannot hold is left out rather than refused again. */
    snprintf(seq, sizeof(seq), "%" PRIu64, m->seq);
    fields[0] = isolated ? NULL : m->received_at;
    fields[1] = isolated ? "store" : m->stage;
    fields[2] = isolated ? "pipeline" : m->channel;
    fields[3] =
        isolated ? (m->db_error != NULL ? m->db_error : "refused by the database") : m->reason;
    fields[4] = isolated ? "" : m->field;
    fields[5] = isolated ? m->db_sqlstate : m->sqlstate;
    fields[6] = m->origin_id;
    fields[7] = m->has_seq && m->seq <= INT64_MAX ? seq : NULL;
    for (size_t i = 0; i < 8 && rc == 0; i++) {
        rc = store_buf_add_field(b, fields[i]);
        rc = rc != 0 ? rc : store_buf_add(b, "\t", 1);
    }
    rc = rc != 0 ? rc : store_buf_add_bytea(b, m->raw, m->raw_len);
    rc = rc != 0 ? rc : store_buf_add(b, "\t", 1);
    rc = rc != 0 ? rc
                 : store_buf_add_bytea(b, isolated ? NULL : m->envelope,
                                       isolated ? 0 : m->envelope_len);
    rc = rc != 0 ? rc : store_buf_add(b, "\n", 1);
    return rc;
}

/* The bytes message m adds to a COPY of table t, or NULL/0 for none. */
static int line_for(struct writer *w, const struct store_msg *m, enum stage_table t,
                    enum write_mode mode, const char **p, size_t *len)
{
    const struct store_buf *b = NULL;
    int rc = 0;

    *p = NULL;
    *len = 0;
    if (t == STAGE_REJECTED) {
        if (mode == MODE_MESSAGES && m->kind != STORE_MSG_REJECTED) {
            return 0;
        }
        rc = rejection_line(w, m, mode);
        b = &w->line;
    } else if (mode == MODE_MESSAGES && m->kind == STORE_MSG_ARTICLE) {
        b = t == STAGE_ARTICLES ? &m->article_row
                                : (t == STAGE_TAGS ? &m->tag_rows : &m->entity_rows);
    }
    if (rc == 0 && b != NULL && b->len > 0) {
        *p = b->p;
        *len = b->len;
    }
    return rc;
}

/* True when some message of the range adds a line to t. */
static bool range_has(struct writer *w, const size_t *idx, size_t n, enum stage_table t,
                      enum write_mode mode)
{
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = w->msgs[idx[i]];

        if (t == STAGE_REJECTED) {
            if (mode == MODE_ISOLATED || m->kind == STORE_MSG_REJECTED) {
                return true;
            }
        } else if (mode == MODE_MESSAGES && m->kind == STORE_MSG_ARTICLE) {
            const struct store_buf *b = t == STAGE_ARTICLES
                                            ? &m->article_row
                                            : (t == STAGE_TAGS ? &m->tag_rows : &m->entity_rows);
            if (b->len > 0) {
                return true;
            }
        }
    }
    return false;
}

/* Starts COPY sql. Returns 0, or the error's kind (the error is kept for the log). */
static int copy_begin(struct writer *w, const char *sql)
{
    PGresult *res = PQexec(w->conn, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = np_db_error_kind(res, w->conn);
        rc = rc == 0 ? NP_EDB : rc;
        keep_error(w, res);
    }
    PQclear(res);
    return rc;
}

/* Ends a COPY begun by copy_begin() (aborting it when rc is an error) and collects its result.
 * Returns rc when it is an error, else the COPY's own error kind, else 0. */
static int copy_end(struct writer *w, int rc)
{
    PGresult *res = NULL;

    if (PQputCopyEnd(w->conn, rc == NP_ENOMEM ? "out of memory" : NULL) != 1 && rc == 0) {
        rc = NP_ETRANSIENT;
    }
    while ((res = PQgetResult(w->conn)) != NULL) {
        int kind = np_db_error_kind(res, w->conn);

        if (kind != 0 && rc == 0) {
            rc = kind;
            keep_error(w, res);
        }
        PQclear(res);
    }
    return rc;
}

/* COPYs the range's lines for table t (staging or, with the direct path, the real one). */
static int copy_with(struct writer *w, const size_t *idx, size_t n, enum stage_table t,
                     enum write_mode mode, const char *sql)
{
    int rc = copy_begin(w, sql);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *p = NULL;
        size_t len = 0;

        rc = line_for(w, w->msgs[idx[i]], t, mode, &p, &len);
        if (rc == 0 && len > 0 && PQputCopyData(w->conn, p, (int)len) != 1) {
            rc = NP_ETRANSIENT;
        }
    }
    return copy_end(w, rc);
}

/* COPYs the range's lines for staging table t. */
static int copy_table(struct writer *w, const size_t *idx, size_t n, enum stage_table t,
                      enum write_mode mode)
{
    static const char *const sql[] = {
        "COPY np_stage_articles FROM STDIN",
        "COPY np_stage_tags FROM STDIN",
        "COPY np_stage_entities FROM STDIN",
        "COPY np_stage_rejected FROM STDIN",
    };

    return copy_with(w, idx, n, t, mode, sql[t]);
}

/* COPYs the ids of the range's articles into search_queue. */
static int copy_queue_ids(struct writer *w, const size_t *idx, size_t n)
{
    int rc = copy_begin(w, "COPY search_queue (article_id) FROM STDIN");

    if (rc != 0) {
        return rc;
    }
    w->line.len = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct store_msg *m = w->msgs[idx[i]];

        if (m->kind == STORE_MSG_ARTICLE) {
            rc = store_buf_add_field(&w->line, m->id);
            rc = rc != 0 ? rc : store_buf_add(&w->line, "\n", 1);
        }
    }
    if (rc == 0 && w->line.len > 0 && PQputCopyData(w->conn, w->line.p, (int)w->line.len) != 1) {
        rc = NP_ETRANSIENT;
    }
    return copy_end(w, rc);
}

/*
 * The fast path for a batch's articles: COPY their rows straight into articles, article_tags,
 * article_entities and search_queue, under a savepoint. This is what nearly every batch is
 * (new articles), and it costs PostgreSQL about half of staging + INSERT ... SELECT. When any
 * row is refused, a unique violation from a redelivered or duplicate article above all, the
 * savepoint is rolled back and the caller takes the staging path, which handles conflicts,
 * records duplicates and isolates refused rows. Returns 0 (articles written), NP_EDB (take the
 * staging path) or NP_ETRANSIENT.
 */
static int write_articles_direct(struct writer *w, const size_t *idx, size_t n)
{
    static const char *const sql[] = {
        "COPY articles (id, url, title, body, summary, source, lang, region, published_at,"
        " received_at, tags, source_tags, content_hash, classifier, extra, ingest_seq)"
        " FROM STDIN",
        "COPY article_tags (article_id, tag, score, evidence, classifier) FROM STDIN",
        "COPY article_entities (article_id, entity, kind, mentions) FROM STDIN",
    };
    size_t articles = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        articles += w->msgs[idx[i]]->kind == STORE_MSG_ARTICLE;
    }
    if (articles == 0) {
        return 0;
    }
    if (exec_cmd(w->conn, "SAVEPOINT np_direct", "set a savepoint") != 0) {
        return NP_ETRANSIENT;
    }
    for (size_t t = STAGE_ARTICLES; t <= STAGE_ENTITIES && rc == 0; t++) {
        if (range_has(w, idx, n, (enum stage_table)t, MODE_MESSAGES)) {
            rc = copy_with(w, idx, n, (enum stage_table)t, MODE_MESSAGES, sql[t]);
        }
    }
    rc = rc != 0 ? rc : copy_queue_ids(w, idx, n);
    if (rc == 0) {
        if (exec_cmd(w->conn, "RELEASE SAVEPOINT np_direct", "release a savepoint") != 0) {
            return NP_ETRANSIENT;
        }
        for (size_t i = 0; i < n; i++) {
            if (w->msgs[idx[i]]->kind == STORE_MSG_ARTICLE) {
                w->msgs[idx[i]]->outcome = STORE_WRITTEN;
            }
        }
        w->st->articles += articles;
        return 0;
    }
    if (rc == NP_EDB) {
        np_log_debug("direct COPY refused, using the staging path sqlstate=%s", w->err_state);
        if (exec_cmd(w->conn, "ROLLBACK TO SAVEPOINT np_direct", "roll back to a savepoint") != 0) {
            return NP_ETRANSIENT;
        }
    }
    return rc;
}

/* Runs one of the INSERT ... SELECT statements; counts what it inserted. */
static int insert_from_staging(struct writer *w, const char *sql, bool articles)
{
    PGresult *res = PQexec(w->conn, sql);
    int rc = np_db_error_kind(res, w->conn);

    if (rc != 0) {
        keep_error(w, res);
    } else if (articles) {
        w->st->articles += strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    } else {
        w->st->rejected += strtoul(PQcmdTuples(res), NULL, 10);
    }
    PQclear(res);
    return rc;
}

/* One attempt at a range, inside a savepoint. */
static int attempt(struct writer *w, const size_t *idx, size_t n, enum write_mode mode)
{
    static const enum stage_table tables[] = { STAGE_ARTICLES, STAGE_TAGS, STAGE_ENTITIES,
                                               STAGE_REJECTED };

    int rc = 0;

    w->st->attempts++;
    if (w->dirty) {
        rc = exec_cmd(w->conn, SQL_CLEAR_STAGING, "clear the staging tables");
        if (rc != 0) {
            return rc == NP_EDB ? NP_ETRANSIENT : rc; /* not the data's fault */
        }
        w->dirty = false;
    }
    rc = exec_cmd(w->conn, "SAVEPOINT np_range", "set a savepoint");
    if (rc != 0) {
        return NP_ETRANSIENT;
    }
    for (size_t t = 0; t < 4 && rc == 0; t++) {
        if (range_has(w, idx, n, tables[t], mode)) {
            rc = copy_table(w, idx, n, tables[t], mode);
        }
    }
    if (rc == 0 && range_has(w, idx, n, STAGE_ARTICLES, mode)) {
        rc = insert_from_staging(w, SQL_INSERT_ARTICLES, true);
    }
    if (rc == 0 && range_has(w, idx, n, STAGE_REJECTED, mode)) {
        rc = insert_from_staging(w, SQL_INSERT_REJECTED, false);
    }
    if (rc == 0) {
        rc = exec_cmd(w->conn, "RELEASE SAVEPOINT np_range", "release a savepoint");
        rc = rc != 0 ? NP_ETRANSIENT : 0;
        w->dirty = true;
        return rc;
    }
    if (rc == NP_EDB &&
        exec_cmd(w->conn, "ROLLBACK TO SAVEPOINT np_range", "roll back to a savepoint") != 0) {
        return NP_ETRANSIENT;
    }
    /* The savepoint stays on the stack; releasing it is not needed before the next one. */
    return rc;
}

static void mark(struct writer *w, const size_t *idx, size_t n, enum store_outcome o)
{
    for (size_t i = 0; i < n; i++) {
        w->msgs[idx[i]]->outcome = o;
    }
}

/* Writes a range; splits it on refusal. Returns 0, NP_ETRANSIENT or NP_ENOMEM. */
static int write_range(struct writer *w, const size_t *idx, size_t n, enum write_mode mode)
{
    int rc = 0;

    if (n == 0) {
        return 0;
    }
    rc = attempt(w, idx, n, mode);
    if (rc == 0) {
        mark(w, idx, n, mode == MODE_MESSAGES ? STORE_WRITTEN : STORE_ISOLATED);
        return 0;
    }
    if (rc != NP_EDB) {
        return rc;
    }
    if (n > 1) {
        rc = write_range(w, idx, n / 2, mode);
        return rc != 0 ? rc : write_range(w, idx + n / 2, n - n / 2, mode);
    }
    struct store_msg *m = w->msgs[idx[0]];
    if (mode == MODE_ISOLATED) {
        m->outcome = STORE_DROPPED;
        w->st->dropped++;
        np_log_error("cannot store a refused message, dropping it article_id=%s seq=%" PRIu64
                     " origin=%s sqlstate=%s error=\"%s\"",
                     m->id != NULL ? m->id : "", m->seq, m->origin_id != NULL ? m->origin_id : "",
                     w->err_state, w->err_msg);
        return 0;
    }
    m->outcome = STORE_ISOLATED;
    snprintf(m->db_sqlstate, sizeof(m->db_sqlstate), "%s", w->err_state);
    free(m->db_error);
    m->db_error = strdup(w->err_msg);
    if (m->db_error == NULL) {
        return NP_ENOMEM;
    }
    w->st->isolated++;
    np_log_warn("database refused a message, moving it to rejected_messages article_id=%s "
                "seq=%" PRIu64 " sqlstate=%s error=\"%.200s\"",
                m->id != NULL ? m->id : "", m->seq, w->err_state, w->err_msg);
    return 0;
}

/* Appends s to a PostgreSQL array literal being built in *buf (quoted, \ and " escaped). */
static int array_add(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + 2 * strlen(s) + 5; /* separator, quotes, '}' and NUL */

    if (need > *cap) {
        size_t c = *cap ? *cap : 256;
        char *b = NULL;

        while (c < need) {
            c *= 2;
        }
        b = realloc(*buf, c);
        if (b == NULL) {
            return NP_ENOMEM;
        }
        *buf = b;
        *cap = c;
    }
    (*buf)[*len] = *len == 0 ? '{' : ',';
    (*len)++;
    (*buf)[(*len)++] = '"';
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            (*buf)[(*len)++] = '\\';
        }
        (*buf)[(*len)++] = *p;
    }
    (*buf)[(*len)++] = '"';
    (*buf)[*len] = '\0';
    return 0;
}

/*
 * Records the in-batch duplicates (article messages pick() left out) that came with their own
 * seq, i.e. a second push rather than a redelivery, in article_duplicates: one statement for
 * the batch. Bookkeeping only: a data error here is logged and skipped, never fails the batch.
 */
static int record_batch_duplicates(struct writer *w, size_t n)
{
    static const char sql[] =
        "INSERT INTO article_duplicates (article_id, ingest_seq, received_at)"
        " SELECT u.id, u.seq, u.at"
        " FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, seq, at)"
        " JOIN articles a ON a.id = u.id"
        " WHERE a.ingest_seq IS DISTINCT FROM u.seq"
        " ON CONFLICT DO NOTHING";
    char *arr[3] = { NULL, NULL, NULL };
    size_t len[3] = { 0, 0, 0 };
    size_t cap[3] = { 0, 0, 0 };
    PGresult *res = NULL;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct store_msg *m = w->msgs[i];
        char seq[24];
        char at[40];

        if (m->outcome != STORE_DUPLICATE || !m->has_seq || m->received_us == NP_TIME_NONE) {
            continue;
        }
        snprintf(seq, sizeof(seq), "%" PRIu64, m->seq);
        np_time_format(m->received_us, at, sizeof(at));
        rc = array_add(&arr[0], &len[0], &cap[0], m->id);
        rc = rc != 0 ? rc : array_add(&arr[1], &len[1], &cap[1], seq);
        rc = rc != 0 ? rc : array_add(&arr[2], &len[2], &cap[2], at);
    }
    if (rc != 0 || arr[0] == NULL) {
        goto out;
    }
    for (int k = 0; k < 3; k++) {
        arr[k][len[k]] = '}';
        arr[k][len[k] + 1] = '\0';
    }
    rc = exec_cmd(w->conn, "SAVEPOINT np_dups", "set a savepoint");
    if (rc != 0) {
        rc = NP_ETRANSIENT;
        goto out;
    }
    res = PQexecParams(w->conn, sql, 3, NULL, (const char *const *)arr, NULL, NULL, 0);
    rc = np_db_error_kind(res, w->conn);
    if (rc == NP_EDB) {
        np_log_warn("could not record in-batch duplicates: %s", PQresultErrorMessage(res));
        rc = exec_cmd(w->conn, "ROLLBACK TO SAVEPOINT np_dups", "roll back to a savepoint");
        rc = rc != 0 ? NP_ETRANSIENT : 0;
    }
out:
    PQclear(res);
    for (int k = 0; k < 3; k++) {
        free(arr[k]);
    }
    return rc;
}

/* Picks the messages to write: all but article ids seen earlier in the batch. */
static int pick(struct writer *w, size_t n, size_t *idx, size_t *count)
{
    size_t cap = 16;
    size_t *slots = NULL; /* open addressing over article ids: index + 1, 0 = empty */
    size_t k = 0;

    while (cap < 2 * n) {
        cap *= 2;
    }
    slots = calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_msg *m = w->msgs[i];
        bool dup = false;

        m->outcome = STORE_PENDING;
        if (m->kind == STORE_MSG_ARTICLE && m->id != NULL) {
            size_t h = (size_t)np_hash64(m->id, strlen(m->id)) & (cap - 1);

            while (slots[h] != 0 && !dup) {
                dup = strcmp(w->msgs[slots[h] - 1]->id, m->id) == 0;
                h = (h + 1) & (cap - 1);
            }
            if (!dup) {
                slots[h] = i + 1;
            }
        }
        if (dup) {
            m->outcome = STORE_DUPLICATE;
            w->st->duplicates++;
        } else {
            idx[k++] = i;
        }
    }
    free(slots);
    *count = k;
    return 0;
}

/* Article messages whose rows are in the transaction (inserted now or stored before). */
static size_t count_written(struct store_msg *const *msgs, const size_t *idx, size_t n)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = msgs[idx[i]];

        c += m->kind == STORE_MSG_ARTICLE && m->outcome == STORE_WRITTEN ? 1 : 0;
    }
    return c;
}

int store_db_write_batch(PGconn *conn, struct store_msg *const *msgs, size_t n,
                         struct store_db_stats *stats)
{
    struct store_db_stats local;
    struct writer w;
    size_t *idx = NULL;
    size_t *bad = NULL;
    size_t count = 0;
    size_t nbad = 0;
    int rc = NP_ENOMEM;

    memset(&local, 0, sizeof(local));
    memset(&w, 0, sizeof(w));
    w.conn = conn;
    w.msgs = msgs;
    w.st = &local;
    idx = malloc((n + 1) * sizeof(*idx));
    bad = malloc((n + 1) * sizeof(*bad));
    if (idx == NULL || bad == NULL || pick(&w, n, idx, &count) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        free(msgs[i]->db_error);
        msgs[i]->db_error = NULL;
        msgs[i]->db_sqlstate[0] = '\0';
    }
    rc = exec_cmd(conn, "BEGIN", "start a batch transaction");
    if (rc != 0) {
        rc = NP_ETRANSIENT;
        goto out;
    }
    rc = write_articles_direct(&w, idx, count);
    if (rc == 0) {
        /* Articles are in; what is left (rejections) takes the staging path. */
        size_t k = 0;

        for (size_t i = 0; i < count; i++) {
            if (msgs[idx[i]]->kind != STORE_MSG_ARTICLE) {
                bad[k++] = idx[i];
            }
        }
        rc = write_range(&w, bad, k, MODE_MESSAGES);
    } else if (rc == NP_EDB) {
        rc = write_range(&w, idx, count, MODE_MESSAGES);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (msgs[idx[i]]->outcome == STORE_ISOLATED) {
            bad[nbad++] = idx[i];
        }
    }
    rc = rc != 0 ? rc : write_range(&w, bad, nbad, MODE_ISOLATED);
    rc = rc != 0 ? rc : record_batch_duplicates(&w, n);
    if (rc == 0) {
        rc = exec_cmd(conn, "COMMIT", "commit a batch");
        rc = rc != 0 ? NP_ETRANSIENT : 0;
    }
    if (rc == 0) {
        local.existing = count_written(msgs, idx, count) - local.articles;
        if (stats != NULL) {
            *stats = local;
        }
    }
out:
    if (rc != 0) {
        rollback_quietly(conn);
    }
    store_buf_free(&w.line);
    free(idx);
    free(bad);
    return rc;
}
