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
 * transaction; if even that row is refused for its own values (SQLSTATE class 22 or 23) it is
 * logged and dropped (and acked: a message that can never be stored must not be redelivered
 * for ever). Refused for anything else (a read-only standby, revoked rights, a lock timeout),
 * it is the database's state, not the message: the batch is abandoned as for a transient error.
 * A later copy of a refused article in the same batch is not acknowledged (pick() skipped it
 * as a duplicate of a copy that did not land): ingest sends it again, and it is written then.
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

#include <pthread.h>

#include <libpq-fe.h>

#include "np/article.h"
#include "np/buf.h"
#include "np/db.h"
#include "np/err.h"
#include "np/hash.h"
#include "np/log.h"
#include "np/time.h"
#include "np/utf8.h"

static const char SQL_CREATE_MIGRATIONS[] =
    "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

/* The staging table of rejected_messages (its columns are store's own, not a row's). */
static const char SQL_STAGING_REJECTED[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_rejected (received_at timestamptz, "
    "stage text, channel text, reason text, field text, sqlstate text, origin text, "
    "seq bigint, raw bytea, envelope bytea) ON COMMIT DELETE ROWS";

/* The tables a message's rows go to, in COPY order. */
enum stage_table {
    STAGE_ARTICLES,
    STAGE_TAGS,
    STAGE_ENTITIES,
    STAGE_REJECTED,
};

#define ROW_TABLES (3) /* STAGE_ARTICLES .. STAGE_ENTITIES */

static const struct store_table *const row_tables[ROW_TABLES] = {
    &store_articles,
    &store_article_tags,
    &store_article_entities,
};

/*
 * The statements that name the rows' columns, built once from the tables (store_msg.h) so
 * that a column added there needs no edit here: the staging tables, their COPYs, the direct
 * COPYs into the real tables, and the INSERT ... SELECT from staging.
 */
static struct {
    struct np_buf staging;
    struct np_buf insert_articles;
    struct np_buf copy_stage[ROW_TABLES];
    struct np_buf copy_direct[ROW_TABLES];
    bool failed;
} stmts;

static pthread_once_t stmts_once = PTHREAD_ONCE_INIT;

static const char *pg_type(enum store_type t)
{
    switch (t) {
        case STORE_TEXT:
            return "text";
        case STORE_TIME:
            return "timestamptz";
        case STORE_TEXTS:
            return "text[]";
        case STORE_JSON:
            return "jsonb";
        case STORE_INT:
            return "bigint";
        case STORE_BOOL:
            return "boolean";
        case STORE_REAL:
            return "real";
    }
    return "text";
}

/* Appends t's column names, comma-separated, each after prefix; with defaults, an empty-default
 * column reads coalesce(name, '{}'). */
static void column_list(struct np_buf *b, const struct store_table *t, const char *prefix,
                        bool defaults)
{
    for (size_t i = 0; i < t->ncols; i++) {
        bool coalesce = defaults && t->cols[i].empty_default;

        np_buf_puts(b, i > 0 ? ", " : "");
        np_buf_puts(b, coalesce ? "coalesce(" : "");
        np_buf_puts(b, prefix);
        np_buf_puts(b, t->cols[i].name);
        np_buf_puts(b, coalesce ? ", '{}')" : "");
    }
}

/* Appends "INSERT INTO <t> (<columns>) SELECT <s.columns> FROM np_stage_<t> s". */
static void insert_select(struct np_buf *b, const struct store_table *t)
{
    np_buf_puts(b, " INSERT INTO ");
    np_buf_puts(b, t->name);
    np_buf_puts(b, " (");
    column_list(b, t, "", false);
    np_buf_puts(b, ") SELECT ");
    column_list(b, t, "s.", true);
    np_buf_puts(b, " FROM np_stage_");
    np_buf_puts(b, t->name);
    np_buf_puts(b, " s");
}

static void build_sql(void)
{
    struct np_buf *ins = &stmts.insert_articles;

    for (size_t k = 0; k < ROW_TABLES; k++) {
        const struct store_table *t = row_tables[k];

        np_buf_puts(&stmts.staging, "CREATE TEMPORARY TABLE IF NOT EXISTS np_stage_");
        np_buf_puts(&stmts.staging, t->name);
        np_buf_puts(&stmts.staging, " (");
        for (size_t i = 0; i < t->ncols; i++) {
            np_buf_puts(&stmts.staging, i > 0 ? ", " : "");
            np_buf_puts(&stmts.staging, t->cols[i].name);
            np_buf_puts(&stmts.staging, " ");
            np_buf_puts(&stmts.staging, pg_type(t->cols[i].type));
        }
        np_buf_puts(&stmts.staging, ") ON COMMIT DELETE ROWS;");
        np_buf_puts(&stmts.copy_stage[k], "COPY np_stage_");
        np_buf_puts(&stmts.copy_stage[k], t->name);
        np_buf_puts(&stmts.copy_stage[k], " FROM STDIN");
        np_buf_puts(&stmts.copy_direct[k], "COPY ");
        np_buf_puts(&stmts.copy_direct[k], t->name);
        np_buf_puts(&stmts.copy_direct[k], " (");
        column_list(&stmts.copy_direct[k], t, "", false);
        np_buf_puts(&stmts.copy_direct[k], ") FROM STDIN");
        stmts.failed = stmts.failed || stmts.copy_stage[k].failed || stmts.copy_direct[k].failed;
    }
    np_buf_puts(&stmts.staging, SQL_STAGING_REJECTED);
    /* Tags and entities are inserted only for the article ids this statement inserted. */
    np_buf_puts(ins, "WITH ins AS (");
    insert_select(ins, &store_articles);
    np_buf_puts(ins, " ON CONFLICT (id) DO NOTHING RETURNING id), t AS (");
    insert_select(ins, &store_article_tags);
    np_buf_puts(ins, " JOIN ins ON ins.id = s.article_id"
                     " ON CONFLICT (article_id, tag) DO NOTHING RETURNING 1), e AS (");
    insert_select(ins, &store_article_entities);
    np_buf_puts(ins, " JOIN ins ON ins.id = s.article_id"
                     " ON CONFLICT (article_id, entity) DO NOTHING RETURNING 1), q AS (");
    /* The indexer (store_index.c) makes new articles searchable behind the writer. */
    np_buf_puts(ins, " INSERT INTO search_queue (article_id) SELECT id FROM ins"
                     " ON CONFLICT DO NOTHING), d AS (");
    /* Already stored under another seq: a duplicate push, not a redelivery (003). The
     * statement's snapshot does not see rows ins adds, so only older rows join. */
    np_buf_puts(ins, " INSERT INTO article_duplicates (article_id, ingest_seq, received_at)"
                     " SELECT s.id, s.ingest_seq, s.received_at FROM np_stage_articles s"
                     " JOIN articles a ON a.id = s.id"
                     " WHERE s.ingest_seq IS NOT NULL"
                     " AND a.ingest_seq IS DISTINCT FROM s.ingest_seq"
                     " ON CONFLICT DO NOTHING)"
                     " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM t),"
                     " (SELECT count(*) FROM e)");
    stmts.failed = stmts.failed || stmts.staging.failed || ins->failed;
}

/* The statements, built on first use; false when they could not be built (out of memory). */
static bool sql_ready(void)
{
    pthread_once(&stmts_once, build_sql);
    return !stmts.failed;
}

static const char SQL_INSERT_REJECTED[] =
    "INSERT INTO rejected_messages (received_at, stage, channel, reason, field, sqlstate,"
    " origin, seq, raw, envelope)"
    " SELECT received_at, stage, channel, reason, field, sqlstate, origin, seq, raw, envelope"
    " FROM np_stage_rejected"
    " ON CONFLICT (origin, seq) DO NOTHING";

static const char SQL_CLEAR_STAGING[] = "TRUNCATE np_stage_articles, np_stage_article_tags,"
                                        " np_stage_article_entities, np_stage_rejected";

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
    if (!sql_ready()) {
        return NP_ENOMEM;
    }
    return exec_cmd(conn, stmts.staging.p, "create the staging tables");
}

/* ---- the batch writer ---- */

/* How a range is written: as the messages themselves, or as the rejections of refused ones. */
enum write_mode {
    MODE_MESSAGES,
    MODE_ISOLATED,
};

/* State of one store_db_write_batch() call. */
struct writer {
    PGconn *conn;
    struct store_msg *const *msgs;     /* borrowed */
    struct np_buf (*rows)[ROW_TABLES]; /* per message: its COPY lines for each row table */
    struct store_stats *st;
    struct np_buf line;       /* scratch for rejection lines */
    struct np_buf scratch;    /* scratch for array literals */
    bool dirty;               /* staging holds rows of a released savepoint */
    char err_state[6];        /* last refusal: SQLSTATE */
    char err_msg[REASON_MAX]; /* and message */
};

/* ---- COPY text format ---- */

/* Appends s[0..len) escaped for COPY text format (backslash, tab, newline, CR). */
static void copy_escaped(struct np_buf *b, const char *s, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;

        switch (s[i]) {
            case '\\':
                esc = "\\\\";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            default:
                continue;
        }
        np_buf_put(b, s + start, i - start);
        np_buf_puts(b, esc);
        start = i + 1;
    }
    np_buf_put(b, s + start, len - start);
}

/* Appends a COPY field: s escaped, or \N for NULL. */
static void copy_field(struct np_buf *b, const char *s)
{
    if (s == NULL) {
        np_buf_puts(b, "\\N");
        return;
    }
    copy_escaped(b, s, strlen(s));
}

/* Appends a PostgreSQL array literal {"a","b"} of items (each quoted, \ and " escaped). The one
 * array escaper: COPY escapes the literal again, query parameters take it as is. */
static void array_literal(struct np_buf *b, const char *const *items, size_t n)
{
    np_buf_puts(b, "{");
    for (size_t i = 0; i < n; i++) {
        const char *s = items[i];
        size_t start = 0;
        size_t k = 0;

        np_buf_puts(b, i == 0 ? "\"" : ",\"");
        for (k = 0; s[k] != '\0'; k++) {
            if (s[k] == '"' || s[k] == '\\') {
                np_buf_put(b, s + start, k - start);
                np_buf_puts(b, "\\");
                start = k;
            }
        }
        np_buf_put(b, s + start, k - start);
        np_buf_puts(b, "\"");
    }
    np_buf_puts(b, "}");
}

/* Appends len bytes as a COPY-escaped bytea field in hex form ("\\x0a1b..."), or \N. */
static void copy_bytea(struct np_buf *b, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    char chunk[256];
    size_t n = 0;

    if (data == NULL) {
        np_buf_puts(b, "\\N");
        return;
    }
    /* bytea's hex input "\x..."; its backslash is doubled for COPY. */
    np_buf_puts(b, "\\\\x");
    for (size_t i = 0; i < len; i++) {
        chunk[n++] = hex[p[i] >> 4];
        chunk[n++] = hex[p[i] & 0x0f];
        if (n == sizeof(chunk)) {
            np_buf_put(b, chunk, n);
            n = 0;
        }
    }
    np_buf_put(b, chunk, n);
}

/* Appends one COPY line of table t's row (ncols values). A list is never NULL: absent is {}. */
static void copy_row(struct np_buf *b, const struct store_table *t, const struct store_value *row,
                     struct np_buf *scratch)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].type == STORE_TEXTS) {
            np_buf_reset(scratch);
            array_literal(scratch, row[i].items, row[i].n);
            if (scratch->failed) {
                b->failed = true;
                return;
            }
            copy_escaped(b, scratch->p, scratch->len);
        } else {
            copy_field(b, row[i].s);
        }
        np_buf_puts(b, i + 1 < t->ncols ? "\t" : "\n");
    }
}

/* Encodes every article message's rows as COPY lines (w->rows). Returns 0 or NP_ENOMEM. */
static int encode_rows(struct writer *w, size_t n)
{
    w->rows = calloc(n + 1, sizeof(*w->rows));
    if (w->rows == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = w->msgs[i];
        struct np_buf *lines = w->rows[i];

        if (m->kind != STORE_MSG_ARTICLE) {
            continue;
        }
        copy_row(&lines[STAGE_ARTICLES], &store_articles, m->article, &w->scratch);
        for (size_t k = 0; k < m->ntags; k++) {
            copy_row(&lines[STAGE_TAGS], &store_article_tags,
                     &m->tags[k * store_article_tags.ncols], &w->scratch);
        }
        for (size_t k = 0; k < m->nentities; k++) {
            copy_row(&lines[STAGE_ENTITIES], &store_article_entities,
                     &m->entities[k * store_article_entities.ncols], &w->scratch);
        }
        for (size_t t = 0; t < ROW_TABLES; t++) {
            if (lines[t].failed) {
                return NP_ENOMEM;
            }
        }
    }
    return 0;
}

static void free_rows(struct writer *w, size_t n)
{
    for (size_t i = 0; w->rows != NULL && i < n; i++) {
        for (size_t t = 0; t < ROW_TABLES; t++) {
            np_buf_cleanup(&w->rows[i][t]);
        }
    }
    free(w->rows);
    w->rows = NULL;
}

/* ---- the batch writer ---- */

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
    /* A message longer than err_msg is cut, maybe inside a character: the reason column is
     * text, and PostgreSQL would refuse the rejection row for the half character. */
    np_utf8_repair(w->err_msg);
}

/* Builds m's rejected_messages line into w->line. */
static int rejection_line(struct writer *w, const struct store_msg *m, enum write_mode mode)
{
    struct np_buf *b = &w->line;
    char seq[32];
    bool isolated = mode == MODE_ISOLATED;
    const char *fields[8];

    np_buf_reset(b);
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
    for (size_t i = 0; i < 8; i++) {
        copy_field(b, fields[i]);
        np_buf_puts(b, "\t");
    }
    copy_bytea(b, m->raw, m->raw_len);
    np_buf_puts(b, "\t");
    copy_bytea(b, isolated ? NULL : m->envelope, isolated ? 0 : m->envelope_len);
    np_buf_puts(b, "\n");
    return b->failed ? NP_ENOMEM : 0;
}

/* The bytes message i adds to a COPY of table t, or NULL/0 for none. */
static int line_for(struct writer *w, size_t i, enum stage_table t, enum write_mode mode,
                    const char **p, size_t *len)
{
    const struct store_msg *m = w->msgs[i];
    const struct np_buf *b = NULL;
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
        b = &w->rows[i][t];
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
        } else if (mode == MODE_MESSAGES && m->kind == STORE_MSG_ARTICLE &&
                   w->rows[idx[i]][t].len > 0) {
            return true;
        }
    }
    return false;
}

/* Starts COPY sql. Returns 0, or the error's kind (the error is kept for the log). */
static int copy_begin(struct writer *w, const char *stmt)
{
    PGresult *res = PQexec(w->conn, stmt);
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
                     enum write_mode mode, const char *stmt)
{
    int rc = copy_begin(w, stmt);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *p = NULL;
        size_t len = 0;

        rc = line_for(w, idx[i], t, mode, &p, &len);
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
    const char *stmt =
        t == STAGE_REJECTED ? "COPY np_stage_rejected FROM STDIN" : stmts.copy_stage[t].p;

    return copy_with(w, idx, n, t, mode, stmt);
}

/* COPYs the ids of the range's articles into search_queue. */
static int copy_queue_ids(struct writer *w, const size_t *idx, size_t n)
{
    int rc = copy_begin(w, "COPY search_queue (article_id) FROM STDIN");

    if (rc != 0) {
        return rc;
    }
    np_buf_reset(&w->line);
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = w->msgs[idx[i]];

        if (m->kind == STORE_MSG_ARTICLE) {
            copy_field(&w->line, m->id);
            np_buf_puts(&w->line, "\n");
        }
    }
    if (w->line.failed) {
        rc = NP_ENOMEM;
    } else if (w->line.len > 0 && PQputCopyData(w->conn, w->line.p, (int)w->line.len) != 1) {
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
            rc = copy_with(w, idx, n, (enum stage_table)t, MODE_MESSAGES, stmts.copy_direct[t].p);
        }
    }
    if (rc == 0) {
        rc = copy_queue_ids(w, idx, n);
    }
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
static int insert_from_staging(struct writer *w, const char *stmt, bool articles)
{
    PGresult *res = PQexec(w->conn, stmt);
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
        rc = insert_from_staging(w, stmts.insert_articles.p, true);
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

/* True when sqlstate says the row's own values were refused: class 22 (data exception) or 23
 * (integrity constraint violation). */
static bool refused_for_data(const char *sqlstate)
{
    return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0;
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
        if (!refused_for_data(w->err_state)) {
            /* Not the rejection's content: a read-only server (a standby after a failover),
             * rights revoked, a lock timeout. The message that led here was probably refused for
             * the same reason, so nothing is dropped: the batch is retried, and nothing is
             * acknowledged. */
            np_log_error("cannot store a refused message, not for its data: retrying the batch "
                         "article_id=%s seq=%" PRIu64 " sqlstate=%s error=\"%.200s\"",
                         m->id != NULL ? m->id : "", m->seq, w->err_state, w->err_msg);
            return NP_ETRANSIENT;
        }
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

/*
 * Records the in-batch duplicates (article messages pick() left out) that came with their own
 * seq, i.e. a second push rather than a redelivery, in article_duplicates: one statement for
 * the batch. Bookkeeping only: a data error here is logged and skipped, never fails the batch.
 */
static int record_batch_duplicates(struct writer *w, size_t n)
{
    static const char stmt[] =
        "INSERT INTO article_duplicates (article_id, ingest_seq, received_at)"
        " SELECT u.id, u.seq, u.at"
        " FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, seq, at)"
        " JOIN articles a ON a.id = u.id"
        " WHERE a.ingest_seq IS DISTINCT FROM u.seq"
        " ON CONFLICT DO NOTHING";

    enum {
        SEQ_LEN = 24,
        AT_LEN = 40
    };

    const char **items = calloc(3 * n + 1, sizeof(*items));
    char *text = malloc(n * (SEQ_LEN + AT_LEN) + 1);
    struct np_buf arr[3] = { { 0 }, { 0 }, { 0 } };
    const char *params[3];
    PGresult *res = NULL;
    size_t k = 0;
    int rc = NP_ENOMEM;

    if (items == NULL || text == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = w->msgs[i];
        char *seq = text + k * (SEQ_LEN + AT_LEN);
        char *at = seq + SEQ_LEN;

        if (m->outcome != STORE_DUPLICATE || !m->has_seq || m->received_us == NP_TIME_NONE) {
            continue;
        }
        snprintf(seq, SEQ_LEN, "%" PRIu64, m->seq);
        np_time_format(m->received_us, at, AT_LEN);
        items[k] = m->id;
        items[n + k] = seq;
        items[2 * n + k] = at;
        k++;
    }
    rc = 0;
    if (k == 0) {
        goto out;
    }
    for (int a = 0; a < 3; a++) {
        array_literal(&arr[a], items + (size_t)a * n, k);
        params[a] = arr[a].p;
        rc = arr[a].failed ? NP_ENOMEM : rc;
    }
    if (rc != 0) {
        goto out;
    }
    if (exec_cmd(w->conn, "SAVEPOINT np_dups", "set a savepoint") != 0) {
        rc = NP_ETRANSIENT;
        goto out;
    }
    res = PQexecParams(w->conn, stmt, 3, NULL, params, NULL, NULL, 0);
    rc = np_db_error_kind(res, w->conn);
    if (rc == NP_EDB) {
        np_log_warn("could not record in-batch duplicates: %s", PQresultErrorMessage(res));
        rc = exec_cmd(w->conn, "ROLLBACK TO SAVEPOINT np_dups", "roll back to a savepoint");
        rc = rc != 0 ? NP_ETRANSIENT : 0;
    }
out:
    PQclear(res);
    for (int a = 0; a < 3; a++) {
        np_buf_cleanup(&arr[a]);
    }
    free(items);
    free(text);
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

/*
 * A later copy of an article whose first copy in the batch was refused (isolated or dropped)
 * goes back to pending: it is not acknowledged, so ingest sends it again and it is written in a
 * later batch, where no refused copy stands in its way. Duplicates are rare, so each looks back
 * for its first copy.
 */
static void unpick_orphans(struct writer *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct store_msg *m = w->msgs[i];

        if (m->outcome != STORE_DUPLICATE) {
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const struct store_msg *first = w->msgs[j];

            if (first->outcome != STORE_DUPLICATE && first->kind == STORE_MSG_ARTICLE &&
                first->id != NULL && strcmp(first->id, m->id) == 0) {
                if (first->outcome == STORE_ISOLATED || first->outcome == STORE_DROPPED) {
                    m->outcome = STORE_PENDING;
                    w->st->duplicates--;
                    np_log_info("a copy of a refused article is left for redelivery "
                                "article_id=%s seq=%" PRIu64,
                                m->id, m->seq);
                }
                break;
            }
        }
    }
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
                         struct store_stats *stats)
{
    struct store_stats local;
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
    if (!sql_ready() || idx == NULL || bad == NULL || pick(&w, n, idx, &count) != 0 ||
        encode_rows(&w, n) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        free(msgs[i]->db_error);
        msgs[i]->db_error = NULL;
        msgs[i]->db_sqlstate[0] = '\0';
    }
    if (exec_cmd(conn, "BEGIN", "start a batch transaction") != 0) {
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
    if (rc == 0) {
        rc = write_range(&w, bad, nbad, MODE_ISOLATED);
    }
    if (rc == 0) {
        unpick_orphans(&w, n);
        rc = record_batch_duplicates(&w, n);
    }
    if (rc == 0 && exec_cmd(conn, "COMMIT", "commit a batch") != 0) {
        rc = NP_ETRANSIENT;
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
    free_rows(&w, n);
    np_buf_cleanup(&w.line);
    np_buf_cleanup(&w.scratch);
    free(idx);
    free(bad);
    return rc;
}

/* ---- the sink ---- */

/* The PostgreSQL sink's state. */
struct pg_sink {
    char *conninfo; /* owned, or NULL for the PG* variables */
    PGconn *conn;
    bool broken; /* the last write failed transiently: repair before the next */
};

static int pg_open(void *ctx, int *schema, struct np_err *err)
{
    struct pg_sink *p = ctx;
    int rc = 0;

    if (p->conn == NULL) {
        rc = np_db_connect(p->conninfo, &p->conn, err);
        if (rc != 0) {
            return rc;
        }
        np_log_info("connected to database");
    } else if (PQstatus(p->conn) != CONNECTION_OK) {
        PQreset(p->conn);
    }
    rc = store_db_migrate(p->conn, schema, err);
    if (rc == 0 && store_db_prepare(p->conn) != 0) {
        rc = np_err_set(err, NP_EDB, "", "could not create the staging tables");
    }
    return rc;
}

/* Brings a broken connection back (PQreset) and recreates the session's staging tables. */
static void pg_repair(struct pg_sink *p)
{
    if (PQstatus(p->conn) != CONNECTION_OK) {
        np_log_warn("reconnecting to database");
        PQreset(p->conn);
        if (PQstatus(p->conn) != CONNECTION_OK) {
            np_log_warn("could not reconnect to database: %s", PQerrorMessage(p->conn));
            return;
        }
        np_log_info("reconnected to database");
    }
    if (store_db_prepare(p->conn) != 0) {
        np_log_warn("could not prepare the database session");
        return;
    }
    p->broken = false;
}

static int pg_write(void *ctx, struct store_msg *const *msgs, size_t n, struct store_stats *stats)
{
    struct pg_sink *p = ctx;
    int rc = 0;

    if (p->broken) {
        pg_repair(p);
        if (p->broken) {
            return NP_ETRANSIENT; /* without its staging tables a batch could not isolate rows */
        }
    }
    rc = store_db_write_batch(p->conn, msgs, n, stats);
    p->broken = rc == NP_ETRANSIENT;
    return rc;
}

static void pg_close(void *ctx)
{
    struct pg_sink *p = ctx;

    if (p == NULL) {
        return;
    }
    PQfinish(p->conn);
    free(p->conninfo);
    free(p);
}

int store_db_sink(const char *conninfo, struct store_sink *sink)
{
    struct pg_sink *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        return NP_ENOMEM;
    }
    if (conninfo != NULL) {
        p->conninfo = strdup(conninfo);
        if (p->conninfo == NULL) {
            free(p);
            return NP_ENOMEM;
        }
    }
    sink->ctx = p;
    sink->open_fn = pg_open;
    sink->write_fn = pg_write;
    sink->close_fn = pg_close;
    return 0;
}
