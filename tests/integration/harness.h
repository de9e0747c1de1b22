/* harness.h - what the integration tests share: workers as real processes, a database each */
#ifndef NP_TEST_HARNESS_H
#define NP_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

enum h_worker {
    H_STORE = 0,
    H_CLASSIFY = 1,
    H_INGEST = 2,
    H_WORKERS = 3,
};

/* A pipeline under test: a temporary folder with the ipc endpoints, journal and logs, a
 * database of its own, and the three workers. */
struct h_pipeline {
    char dir[64];
    char db[64];
    char conninfo[128];
    pid_t pid[H_WORKERS];
    char *extra_env[H_WORKERS][8]; /* borrowed strings, NULL-terminated, added to each worker */
    PGconn *conn;
};

/* A loopback TCP port nobody listens on right now (for a worker's metrics port). */
int h_free_port(void);

/* A new ZeroMQ socket of `type` (ZMQ_PUSH, ZMQ_DEALER, ...) in ctx, linger 1 s, connected to
 * ingest's endpoint `name` ("pull" or "router") of p; NULL when it cannot be made. */
void *h_ingest_socket(struct h_pipeline *p, void *ctx, int type, const char *name);

/* Seconds on the monotonic clock. */
double h_now(void);

/* Sleeps ms milliseconds. */
void h_pause_ms(long ms);

/* Connects to database dbname with libpq's environment (PGHOST, ...). NULL on failure. */
PGconn *h_connect(const char *dbname);

/* Runs sql returning one number; -1 when it fails or returns NULL. */
long h_query_long(PGconn *c, const char *sql);

/* Polls sql until it returns want or deadline (h_now() value) passes; returns the last value. */
long h_wait_for(PGconn *c, const char *sql, long want, double deadline);

/*
 * Creates a fresh, empty database "np_<name>_<pid>" ('-' made '_'), dropping a leftover of the
 * same name, and writes its name into db (len bytes). Returns 0 or -1.
 */
int h_db_create(const char *name, char *db, size_t len);

/* Drops database db (WITH FORCE: ends its sessions); errors are ignored. */
void h_db_drop(const char *db);

/*
 * Makes the folder and a fresh database named after `name` and the pid, connects p->conn.
 * Returns 0 or -1.
 */
int h_pipeline_init(struct h_pipeline *p, const char *name);

/* Starts (or restarts) one worker, stderr appended to <dir>/<worker>.log. A pipeline with only
 * p->dir set (no database: h_pipeline_init not called) can run ingest alone. */
void h_start(struct h_pipeline *p, enum h_worker w);

/* Starts the three workers. */
void h_start_all(struct h_pipeline *p);

/* Sends sig to a worker and, for SIGKILL, reaps it. */
void h_kill(struct h_pipeline *p, enum h_worker w, int sig);

/* True while the worker is running (not exited). */
bool h_alive(struct h_pipeline *p, enum h_worker w);

/* SIGTERMs a worker and waits up to timeout_s; returns its wait status, -1 on timeout. */
int h_stop(struct h_pipeline *p, enum h_worker w, double timeout_s);

/* Peak resident memory (VmHWM) of a worker in KiB, 0 if unknown. */
long h_peak_rss_kb(struct h_pipeline *p, enum h_worker w);

/* Prints the last lines of each worker's log on stderr (for failures). */
void h_dump_logs(struct h_pipeline *p);

/* Kills what still runs, drops the database, removes the folder. */
void h_pipeline_cleanup(struct h_pipeline *p);

/*
 * Starts path with argv and env (execve), stdout and stderr appended to the files out and err
 * (NULL: /dev/null). The child is recorded until it is reaped through the harness (h_kill(),
 * h_stop(), h_alive()) or h_forget(), and gets SIGKILL when the test process dies. Call it from
 * the main thread (the signal follows the thread that forked). Returns the pid, or -1.
 */
pid_t h_spawn(const char *path, char *const argv[], char *const env[], const char *out,
              const char *err);

/* Drops pid from the harness's record: the caller reaped it with its own waitpid(). */
void h_forget(pid_t pid);

/*
 * A cmocka teardown (cmocka_unit_test_teardown(test, h_teardown)): SIGKILLs every child still
 * recorded and removes every pipeline not cleaned up (h_pipeline_init() or h_start() record
 * them, h_pipeline_cleanup() forgets them), after printing the tail of their logs. A test that
 * passes leaves nothing, so this does nothing; one that fails leaves nothing running for the
 * next. The same runs at exit. Not for a pipeline shared by a group of tests (the group's own
 * teardown removes that one). Returns 0.
 */
int h_teardown(void **state);

/* Files of the shared data folder: t_shared() of test_util.h (NULL when absent: skip()). */
#include "test_util.h"

#endif /* NP_TEST_HARNESS_H */
