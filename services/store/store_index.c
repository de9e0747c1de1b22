/* store_index.c - the search indexer: makes stored articles searchable behind the writer
 *
 * One statement per batch, in its own transaction: delete up to `batch` ids from search_queue
 * (FOR UPDATE SKIP LOCKED, so several stores share the queue without blocking each other) and
 * insert their documents into article_search. A crash between the two is impossible (one
 * statement); a crash after commit loses nothing. The tsvector is computed by PostgreSQL
 * (newspipe_document()), so search uses exactly the 'english' configuration users query with.
 *
 * Deferring to the writer: while store's writer is saturated (it was handed a batch at least
 * half full within the last second), indexing would take CPU from the write path on a small
 * machine, so the indexer waits, for at most MAX_DEFER_MS at a stretch. Errors are logged and
 * retried with backoff; the indexer never stops the worker.
 */
#include "store_index.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#include "np/db.h"
#include "np/err.h"
#include "np/log.h"
#include "np/time.h"

#define MAX_DEFER_MS 10000
#define RETRY_MAX_MS 5000
#define SLICE_MS     100 /* longest sleep between looks at the stop flag */

static const char SQL_INDEX[] =
    "WITH q AS ("
    " DELETE FROM search_queue WHERE article_id IN ("
    "  SELECT article_id FROM search_queue LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING article_id"
    ") INSERT INTO article_search (article_id, document)"
    " SELECT a.id, newspipe_document(a.title, a.summary, a.body, a.extra)"
    " FROM q JOIN articles a ON a.id = q.article_id"
    " ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document, indexed_at = now()";

struct store_index {
    const char *conninfo;
    long batch;
    long idle_ms;
    const _Atomic int64_t *busy_until_ms;
    struct np_counter *indexed;
    PGconn *conn;
    pthread_t thread;
    atomic_bool stop;
};

/* Sleeps ms, in slices, returning early when asked to stop. */
static void nap(struct store_index *x, long ms)
{
    while (ms > 0 && !atomic_load(&x->stop)) {
        long slice = ms < SLICE_MS ? ms : SLICE_MS;
        struct timespec ts = { 0, slice * 1000000L };

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/* Indexes one batch. Returns the number of articles indexed, or -1 on error. */
static long index_batch(struct store_index *x)
{
    char limit[24];
    const char *params[1] = { limit };
    PGresult *res = NULL;
    long n = -1;

    if (x->conn == NULL || PQstatus(x->conn) != CONNECTION_OK) {
        struct np_err err = { 0 };

        PQfinish(x->conn);
        x->conn = NULL;
        if (np_db_connect(x->conninfo, &x->conn, &err) != 0) {
            np_log_warn("search indexer could not connect: %s", err.msg);
            return -1;
        }
    }
    snprintf(limit, sizeof(limit), "%ld", x->batch);
    res = PQexecParams(x->conn, SQL_INDEX, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        n = strtol(PQcmdTuples(res), NULL, 10);
    } else {
        np_log_warn("search indexer could not index a batch: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return n;
}

static void *run(void *arg)
{
    struct store_index *x = arg;
    int64_t deferring_since = 0;
    long backoff = 0;

    while (!atomic_load(&x->stop)) {
        int64_t now = np_time_now_ms();
        long n = 0;

        if (atomic_load(x->busy_until_ms) > now &&
            (deferring_since == 0 || now - deferring_since < MAX_DEFER_MS)) {
            deferring_since = deferring_since == 0 ? now : deferring_since;
            nap(x, SLICE_MS);
            continue;
        }
        deferring_since = 0;
        n = index_batch(x);
        if (n < 0) {
            backoff =
                backoff == 0 ? 100 : (backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2);
            nap(x, backoff);
            continue;
        }
        backoff = 0;
        np_counter_add(x->indexed, (uint64_t)n);
        if (n < x->batch) {
            nap(x, x->idle_ms);
        }
    }
    return NULL;
}

struct store_index *store_index_start(const char *conninfo, long batch, long idle_ms,
                                      const _Atomic int64_t *busy_until_ms,
                                      struct np_counter *indexed)
{
    struct store_index *x = calloc(1, sizeof(*x));

    if (x == NULL) {
        return NULL;
    }
    x->conninfo = conninfo;
    x->batch = batch;
    x->idle_ms = idle_ms;
    x->busy_until_ms = busy_until_ms;
    x->indexed = indexed;
    atomic_init(&x->stop, false);
    if (pthread_create(&x->thread, NULL, run, x) != 0) {
        free(x);
        return NULL;
    }
    return x;
}

void store_index_stop(struct store_index **ip)
{
    struct store_index *x = ip != NULL ? *ip : NULL;

    if (x == NULL) {
        return;
    }
    atomic_store(&x->stop, true);
    pthread_join(x->thread, NULL);
    PQfinish(x->conn);
    free(x);
    *ip = NULL;
}
