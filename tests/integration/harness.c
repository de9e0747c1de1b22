/* harness.c - what the integration tests share: workers as real processes, a database each */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

extern char **environ;

static const char *const worker_names[H_WORKERS] = { "store", "classify", "ingest" };

double h_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void h_pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

PGconn *h_connect(const char *dbname)
{
    const char *keys[] = { "dbname", NULL };
    const char *vals[] = { dbname, NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s", dbname, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

long h_query_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    if (PQstatus(c) != CONNECTION_OK) {
        PQreset(c); /* the server was restarted under us (fault tests) */
    }
    return v;
}

long h_wait_for(PGconn *c, const char *sql, long want, double deadline)
{
    long v = -1;

    while (h_now() < deadline) {
        v = h_query_long(c, sql);
        if (v == want) {
            break;
        }
        h_pause_ms(200);
    }
    return v;
}

int h_db_create(const char *name, char *db, size_t len)
{
    PGconn *admin = h_connect("postgres");
    PGresult *r = NULL;
    char sql[200];
    int rc = -1;

    snprintf(db, len, "np_%s_%ld", name, (long)getpid());
    for (char *c = db; *c != '\0'; c++) {
        *c = *c == '-' ? '_' : *c; /* a plain identifier: no quoting needed in SQL */
    }
    if (admin == NULL) {
        return -1;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(admin, sql));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    r = PQexec(admin, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = 0;
    } else {
        fprintf(stderr, "cannot create database %s: %s", db, PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(admin);
    return rc;
}

void h_db_drop(const char *db)
{
    PGconn *admin = h_connect("postgres");
    char sql[200];

    if (admin == NULL) {
        return;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(admin, sql));
    PQfinish(admin);
}

int h_pipeline_init(struct h_pipeline *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/np-%s-XXXXXX", name);
    if (mkdtemp(p->dir) == NULL || getenv("NP_BIN_DIR") == NULL ||
        h_db_create(name, p->db, sizeof(p->db)) != 0) {
        return -1;
    }
    snprintf(p->conninfo, sizeof(p->conninfo), "dbname=%s", p->db);
    p->conn = h_connect(p->db);
    return p->conn != NULL ? 0 : -1;
}

/* The settings each worker gets: endpoints in the folder, the database, no metrics port. */
static void base_env(struct h_pipeline *p, enum h_worker w, char buf[][512], char **env)
{
    size_t n = 0;

    switch (w) {
        case H_STORE:
            snprintf(buf[n++], 512, "NP_STORE_BIND=ipc://%s/store", p->dir);
            snprintf(buf[n++], 512, "NP_DB_CONNINFO=%s", p->conninfo);
            snprintf(buf[n++], 512, "NP_STORE_METRICS_PORT=0");
            break;
        case H_CLASSIFY:
            snprintf(buf[n++], 512, "NP_CLASSIFY_INPUT=ipc://%s/forward", p->dir);
            snprintf(buf[n++], 512, "NP_CLASSIFY_OUTPUT=ipc://%s/store", p->dir);
            snprintf(buf[n++], 512, "NP_CLASSIFY_TAXONOMY=%s", getenv("NP_TAXONOMY"));
            snprintf(buf[n++], 512, "NP_CLASSIFY_METRICS_PORT=0");
            break;
        case H_INGEST:
            snprintf(buf[n++], 512, "NP_INGEST_PULL=ipc://%s/pull", p->dir);
            snprintf(buf[n++], 512, "NP_INGEST_ROUTER=ipc://%s/router", p->dir);
            snprintf(buf[n++], 512, "NP_INGEST_FORWARD=ipc://%s/forward", p->dir);
            snprintf(buf[n++], 512, "NP_INGEST_ACK=ipc://%s/ack", p->dir);
            snprintf(buf[n++], 512, "NP_INGEST_JOURNAL_DIR=%s/journal", p->dir);
            snprintf(buf[n++], 512, "NP_INGEST_METRICS_PORT=0");
            break;
        case H_WORKERS:
            break;
    }
    for (size_t i = 0; i < n; i++) {
        env[i] = buf[i];
    }
    env[n] = NULL;
}

void h_start(struct h_pipeline *p, enum h_worker w)
{
    char path[1024];
    char log[160];
    char buf[8][512];
    char *base[9];
    char *argv[] = { path, NULL };
    char **env = NULL;
    size_t n = 0;
    size_t k = 0;
    size_t x = 0;
    posix_spawn_file_actions_t fa;

    snprintf(path, sizeof(path), "%s/newspipe-%s", getenv("NP_BIN_DIR"), worker_names[w]);
    snprintf(log, sizeof(log), "%s/%s.log", p->dir, worker_names[w]);
    base_env(p, w, buf, base);
    while (environ[n] != NULL) {
        n++;
    }
    while (base[k] != NULL) {
        k++;
    }
    while (p->extra_env[w][x] != NULL) {
        x++;
    }
    env = calloc(n + k + x + 1, sizeof(*env));
    if (env == NULL) {
        abort();
    }
    /* Earlier entries win in getenv(): test-specific settings first. */
    memcpy(env, p->extra_env[w], x * sizeof(*env));
    memcpy(env + x, base, k * sizeof(*env));
    memcpy(env + x + k, environ, n * sizeof(*env));
    posix_spawn_file_actions_init(&fa);
    /* stdout to /dev/null: a worker left behind by a failed test must not hold the test's
     * output pipe open (ctest would wait for it until the test times out). */
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (posix_spawn(&p->pid[w], path, &fa, NULL, argv, env) != 0) {
        fprintf(stderr, "cannot start %s: %s\n", path, strerror(errno));
        p->pid[w] = 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    free(env);
}

void h_start_all(struct h_pipeline *p)
{
    h_start(p, H_STORE);
    h_start(p, H_CLASSIFY);
    h_start(p, H_INGEST);
}

void h_kill(struct h_pipeline *p, enum h_worker w, int sig)
{
    if (p->pid[w] <= 0) {
        return;
    }
    kill(p->pid[w], sig);
    if (sig == SIGKILL) {
        waitpid(p->pid[w], NULL, 0);
        p->pid[w] = 0;
    }
}

bool h_alive(struct h_pipeline *p, enum h_worker w)
{
    return p->pid[w] > 0 && waitpid(p->pid[w], NULL, WNOHANG) == 0;
}

int h_stop(struct h_pipeline *p, enum h_worker w, double timeout_s)
{
    double end = h_now() + timeout_s;
    int status = 0;

    if (p->pid[w] <= 0) {
        return -1;
    }
    kill(p->pid[w], SIGTERM);
    while (h_now() < end) {
        if (waitpid(p->pid[w], &status, WNOHANG) == p->pid[w]) {
            p->pid[w] = 0;
            return status;
        }
        h_pause_ms(20);
    }
    h_kill(p, w, SIGKILL);
    return -1;
}

long h_peak_rss_kb(struct h_pipeline *p, enum h_worker w)
{
    char path[64];
    char line[256];
    long kb = 0;
    FILE *f = NULL;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)p->pid[w]);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb;
}

void h_dump_logs(struct h_pipeline *p)
{
    char cmd[256];

    for (int w = 0; w < H_WORKERS; w++) {
        snprintf(cmd, sizeof(cmd), "echo '--- %s log'; tail -n 15 '%s/%s.log' >&2", worker_names[w],
                 p->dir, worker_names[w]);
        if (system(cmd) != 0) {
            fprintf(stderr, "(no log for %s)\n", worker_names[w]);
        }
    }
}

void h_pipeline_cleanup(struct h_pipeline *p)
{
    char cmd[128];

    for (int w = 0; w < H_WORKERS; w++) {
        h_kill(p, (enum h_worker)w, SIGKILL);
    }
    PQfinish(p->conn);
    p->conn = NULL;
    if (p->db[0] != '\0') {
        h_db_drop(p->db);
    }
    if (p->dir[0] != '\0' && getenv("NP_TEST_KEEP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", p->dir);
        }
    }
}

int h_free_port(void)
{
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

void *h_ingest_socket(struct h_pipeline *p, void *ctx, int type, const char *name)
{
    void *s = zmq_socket(ctx, type);
    char ep[128];
    int linger = 1000;

    snprintf(ep, sizeof(ep), "ipc://%s/%s", p->dir, name);
    if (s == NULL || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_connect(s, ep) != 0) {
        if (s != NULL) {
            zmq_close(s);
        }
        return NULL;
    }
    return s;
}
