/* harness.c - what the integration tests share: workers as real processes, a database each
 *
 * Nothing a test starts may outlive it, even when it fails: a failed cmocka assertion jumps out
 * of the test function past its own cleanup, and workers left behind keep a core busy, hold
 * their ports and sockets, and poison the tests after it. So the harness keeps its own record,
 * by value (the test's structs may be gone with its stack frame), of every child it started and
 * every pipeline folder and database it made, and h_teardown() (a cmocka teardown), and an
 * atexit() handler, end what is left. A child also gets PR_SET_PDEATHSIG (SIGKILL): when the
 * test process dies without running any handler (SIGKILL on a timeout, a sanitizer's _exit),
 * the kernel ends its workers. That needs fork() and exec() instead of posix_spawn(); the child
 * calls only async-signal-safe functions between the two.
 */
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

extern char **environ;

static const char *const worker_names[H_WORKERS] = { "store", "classify", "ingest" };

#define CHILDREN_MAX  64
#define PIPELINES_MAX 16

/* A pipeline's folder and database, copied when it is made: enough to remove them. */
struct made {
    char dir[64];
    char db[64];
    PGconn *conn; /* the pipeline's, closed by whoever removes the record */
};

static pid_t children[CHILDREN_MAX]; /* started and not reaped */
static struct made pipelines[PIPELINES_MAX];
static pid_t owner; /* the test process: a forked child must not end its parent's workers */

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

static struct made *find_made(const char *dir)
{
    for (size_t i = 0; dir[0] != '\0' && i < PIPELINES_MAX; i++) {
        if (strcmp(pipelines[i].dir, dir) == 0) {
            return &pipelines[i];
        }
    }
    return NULL;
}

/* Records (or updates) what removing p takes: its folder, database and connection. */
static void remember_pipeline(const struct h_pipeline *p)
{
    struct made *m = find_made(p->dir);

    for (size_t i = 0; m == NULL && p->dir[0] != '\0' && i < PIPELINES_MAX; i++) {
        if (pipelines[i].dir[0] == '\0') {
            m = &pipelines[i];
        }
    }
    if (m == NULL) {
        fprintf(stderr, "harness: more than %d pipelines at once, %s not recorded\n", PIPELINES_MAX,
                p->dir);
        return;
    }
    snprintf(m->dir, sizeof(m->dir), "%s", p->dir);
    snprintf(m->db, sizeof(m->db), "%s", p->db);
    m->conn = p->conn;
}

/* Closes the connection, drops the database, removes the folder (kept with NP_TEST_KEEP). */
static void remove_made(struct made *m)
{
    char cmd[128];

    PQfinish(m->conn);
    m->conn = NULL;
    if (m->db[0] != '\0') {
        h_db_drop(m->db);
    }
    if (m->dir[0] != '\0' && getenv("NP_TEST_KEEP") == NULL) {
        int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m->dir);

        if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", m->dir);
        }
    }
}

void h_forget(pid_t pid)
{
    for (size_t i = 0; pid > 0 && i < CHILDREN_MAX; i++) {
        if (children[i] == pid) {
            children[i] = 0;
        }
    }
}

/* SIGKILLs and reaps every child still recorded; returns how many there were. */
static size_t kill_children(void)
{
    size_t n = 0;

    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
            n++;
        }
    }
    return n;
}

/* Ends what tests left behind; with `why`, says so on stderr with the tail of each log. */
static void end_leftovers(const char *why)
{
    size_t nchildren = 0;
    size_t npipelines = 0;

    if (owner != getpid()) {
        return; /* a forked child (test_journal's crash tests): not its workers */
    }
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        nchildren += children[i] > 0;
    }
    for (size_t i = 0; i < PIPELINES_MAX; i++) {
        npipelines += pipelines[i].dir[0] != '\0';
    }
    if (nchildren + npipelines == 0) {
        return;
    }
    if (why != NULL) {
        fprintf(stderr, "harness: %s: %zu process(es) still running, %zu pipeline(s) not removed\n",
                why, nchildren, npipelines);
        for (size_t i = 0; i < PIPELINES_MAX; i++) {
            if (pipelines[i].dir[0] != '\0') {
                struct h_pipeline p = { 0 };

                memcpy(p.dir, pipelines[i].dir, sizeof(p.dir)); /* both char[64] */
                h_dump_logs(&p);
            }
        }
    }
    kill_children();
    for (size_t i = 0; i < PIPELINES_MAX; i++) {
        if (pipelines[i].dir[0] != '\0') {
            remove_made(&pipelines[i]);
            memset(&pipelines[i], 0, sizeof(pipelines[i]));
        }
    }
}

static void end_leftovers_at_exit(void)
{
    end_leftovers("at exit, a test did not clean up (it failed?)");
}

int h_teardown(void **state)
{
    (void)state;
    end_leftovers("after the test, which did not clean up (it failed?)");
    return 0;
}

pid_t h_spawn(const char *path, char *const argv[], char *const env[], const char *out,
              const char *err)
{
    static const char fail[] = "harness: cannot execute ";
    size_t slot = 0;
    pid_t pid = 0;

    while (slot < CHILDREN_MAX && children[slot] != 0) {
        slot++;
    }
    if (slot == CHILDREN_MAX) {
        fprintf(stderr, "harness: more than %d children, %s not started\n", CHILDREN_MAX, path);
        return -1;
    }
    if (owner == 0) {
        owner = getpid();
        atexit(end_leftovers_at_exit);
    }
    pid = fork();
    if (pid == 0) {
        /* The child: async-signal-safe calls only, until execve(). */
        int fd_out = -1;
        int fd_err = -1;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != owner) {
            _exit(127); /* the test process is already gone */
        }
        fd_out = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        fd_err = open(err != NULL ? err : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd_out < 0 || fd_err < 0 || dup2(fd_out, STDOUT_FILENO) < 0 ||
            dup2(fd_err, STDERR_FILENO) < 0) {
            _exit(127);
        }
        close(fd_out);
        close(fd_err);
        execve(path, argv, env);
        if (write(STDERR_FILENO, fail, sizeof(fail) - 1) > 0 &&
            write(STDERR_FILENO, path, strlen(path)) > 0) {
            (void)!write(STDERR_FILENO, "\n", 1);
        }
        _exit(127);
    }
    if (pid < 0) {
        fprintf(stderr, "cannot start %s: %s\n", path, strerror(errno));
        return -1;
    }
    children[slot] = pid;
    return pid;
}

int h_pipeline_init(struct h_pipeline *p, const char *name)
{
    int rc = -1;

    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/np-%s-XXXXXX", name);
    if (mkdtemp(p->dir) == NULL) {
        p->dir[0] = '\0';
        return -1;
    }
    if (getenv("NP_BIN_DIR") != NULL && h_db_create(name, p->db, sizeof(p->db)) == 0) {
        snprintf(p->conninfo, sizeof(p->conninfo), "dbname=%s", p->db);
        p->conn = h_connect(p->db);
        rc = p->conn != NULL ? 0 : -1;
    }
    remember_pipeline(p);
    return rc;
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
    remember_pipeline(p);
    /* stdout to /dev/null: a worker must not hold the test's output pipe open (ctest would
     * wait for it until the test times out). */
    p->pid[w] = h_spawn(path, argv, env, NULL, log);
    if (p->pid[w] < 0) {
        p->pid[w] = 0;
    }
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
        h_forget(p->pid[w]);
        p->pid[w] = 0;
    }
}

bool h_alive(struct h_pipeline *p, enum h_worker w)
{
    if (p->pid[w] <= 0) {
        return false;
    }
    if (waitpid(p->pid[w], NULL, WNOHANG) == 0) {
        return true;
    }
    h_forget(p->pid[w]); /* reaped (or not ours): pid[w] stays, h_kill() on it is harmless */
    return false;
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
            h_forget(p->pid[w]);
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
    struct made m = { .conn = p->conn };
    struct made *rec = find_made(p->dir);

    for (int w = 0; w < H_WORKERS; w++) {
        h_kill(p, (enum h_worker)w, SIGKILL);
    }
    if (rec != NULL) {
        memset(rec, 0, sizeof(*rec));
    }
    snprintf(m.dir, sizeof(m.dir), "%s", p->dir);
    snprintf(m.db, sizeof(m.db), "%s", p->db);
    remove_made(&m);
    p->conn = NULL;
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
