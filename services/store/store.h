/* store.h - the store worker: PULL messages, write them in batches, ack what committed */
#ifndef STORE_H
#define STORE_H

#include <signal.h>
#include <stdbool.h>

/* Most distinct ack endpoints (ingest instances) store keeps a socket open to. */
#define STORE_ACK_PEERS_MAX 64

/* Effective settings (main.c's table fills it; strings owned by np_config_cleanup()). */
struct store_config {
    char *bind;         /* PULL endpoint(s) to bind (default: port 5559, all interfaces) */
    long batch_size;    /* messages per batch at most */
    long batch_ms;      /* a batch closes this long after its first message */
    char *log_level;    /* error|warn|info|debug */
    char *db;           /* NP_DB_CONNINFO, or NULL */
    char *database_url; /* DATABASE_URL, used when db is unset; both unset: PG* variables */
    long ack_hwm;       /* send high-water mark of each ack socket */
    long max_retry_ms;  /* cap of the database retry backoff */
    long stop_ms;       /* on SIGTERM, how long to keep retrying the last batch */
    bool migrate_only;  /* apply migrations and exit */
    bool search_index;  /* run the search indexer (sql/002_search.sql) */
    long index_batch;   /* articles the indexer moves per transaction */
    long metrics_port;  /* HTTP port for /metrics, /healthz, /readyz; 0: off */
    char *metrics_bind; /* address it listens on */
};

/*
 * Runs the worker until *stop becomes non-zero (set from a signal handler or another thread):
 * connects to PostgreSQL (retrying while it is not up), applies migrations, binds cfg->bind,
 * logs "ready bind=... schema=N" at info, then batches, writes and acks. On stop it reads no
 * more, flushes the current batch (retrying transient errors for at most cfg->stop_ms), sends
 * its acks and returns. cfg and stop are borrowed for the duration of the call.
 * Returns 0 after a clean stop, NP_EINVAL for a setting that proves unusable (bad connection
 * string, endpoint that cannot be bound), NP_EDB when migrations fail, NP_ETRANSIENT when
 * stopped with a batch it could not commit (ingest redelivers it), NP_ENOMEM or NP_EIO.
 */
int store_run(const struct store_config *cfg, const volatile sig_atomic_t *stop);

#endif /* STORE_H */
