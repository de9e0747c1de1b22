/* ingest.h - the ingest worker: validate, journal, forward, redeliver */
#ifndef INGEST_H
#define INGEST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "np/config.h"

/* Settings; see the table in ingest.c (ingest_settings()) for defaults and meaning. */
struct ingest_config {
    char *pull;          /* endpoints for fire-and-forget clients (PULL, bound) */
    char *router;        /* endpoints for clients that want a reply (ROUTER, bound) */
    char *forward;       /* endpoints classify connects to (PUSH, bound) */
    char *ack;           /* endpoints store sends acks to (PULL, bound) */
    char *ack_advertise; /* the ack endpoint as store must dial it; derived when unset */
    char *journal_dir;
    long max_inflight;
    long sync_records;
    long sync_ms;
    long redeliver_ms;
    long redeliver_max_ms;
    long ack_sync_ms; /* acks are made durable this often */
    long segment_mb;
    long shutdown_ms;
    long dedupe_ids;
    long hwm;
    long metrics_port;
    char *metrics_bind;
    char *curve_secret_file; /* server key pair file: CURVE on the client sockets when set */
    char *curve_clients;     /* allowed client public keys: a .pub file or a folder of them */
    char *log_level;
};

/* The settings table (borrowed, static). *n receives its length. */
const struct np_setting *ingest_settings(size_t *n);

/*
 * Runs the worker until *stop becomes non-zero (set it from a signal handler), then stops
 * reading clients, makes everything journaled, waits up to shutdown_ms for outstanding acks,
 * and returns 0. Returns NP_EIO when a socket cannot be bound or the journal cannot be opened
 * or written (the process should exit non-zero: the journal is the guarantee).
 */
int ingest_run(const struct ingest_config *cfg, volatile sig_atomic_t *stop);

#endif /* INGEST_H */
