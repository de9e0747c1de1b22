/* store_db.h - the PostgreSQL sink: schema migrations and the batch writer
 *
 * Everything here works on a plain PGconn and decoded messages, so tests drive it without
 * sockets. Not thread-safe per connection; distinct connections may be used from distinct
 * threads.
 */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "np/err.h"
#include "store_msg.h"
#include "store_sink.h"

/* One migration file, embedded at build time (store_sql.c, generated from sql/). */
struct store_migration {
    int version;      /* the file name's number */
    const char *name; /* file name without .sql */
    const char *sql;  /* its text */
};

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

/* Key of the advisory lock that serialises migrations (per database). */
#define STORE_MIGRATION_LOCK (4245162371LL)

/*
 * Applies the migrations the database lacks, in version order, in one transaction holding
 * pg_advisory_xact_lock(STORE_MIGRATION_LOCK), recording each in schema_migrations. Safe when
 * several stores start at once: the others wait for the lock, then find nothing to do.
 * Writes the schema version now in place (the highest applied) to *version when not NULL.
 * Returns 0, NP_ETRANSIENT (retry) or NP_EDB (a migration failed: err names it).
 */
int store_db_migrate(PGconn *conn, int *version, struct np_err *err);

/*
 * Creates this session's staging tables (temporary, ON COMMIT DELETE ROWS). Call after every
 * (re)connect, before store_db_write_batch(). Returns 0, NP_ETRANSIENT or NP_EDB.
 */
int store_db_prepare(PGconn *conn);

/*
 * Writes msgs[0..n) (borrowed) in one transaction: COPY into the staging tables, then one
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING per table, COMMIT. Article ids repeated inside
 * the batch are written once (the first); tags and entities are written only for articles this
 * batch inserted. When PostgreSQL refuses data (NP_EDB), the batch is split in halves, within
 * the transaction (savepoints), until each refused message stands alone; those go to
 * rejected_messages with stage "store", their SQLSTATE and message, and the rest lands.
 * Sets each message's outcome (and db_sqlstate/db_error when isolated); fills *stats when not
 * NULL. Returns 0 when the transaction committed (every message may be acked), NP_ETRANSIENT
 * when nothing was committed and the caller should reconnect if needed and retry the same
 * batch, NP_ENOMEM. The connection is left idle (no open transaction) in every case.
 */
int store_db_write_batch(PGconn *conn, struct store_msg *const *msgs, size_t n,
                         struct store_stats *stats);

/*
 * Makes *sink the PostgreSQL sink (store_sink.h) for conninfo (borrowed; NULL: libpq's PG*
 * variables). Its open connects, applies the migrations (store_db_migrate) and creates the
 * session's staging tables (store_db_prepare); its write is store_db_write_batch(), after
 * reconnecting when the connection broke. Returns 0 or NP_ENOMEM; sink->close_fn() frees it.
 */
int store_db_sink(const char *conninfo, struct store_sink *sink);

#endif /* STORE_DB_H */
