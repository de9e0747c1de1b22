/* test_access.c - CURVE on the client sockets, and settings that make a worker exit 2
 *
 * Runs newspipe-ingest alone (no database needed) with CURVE on: a client whose key is listed
 * gets "accepted"; an unlisted client and a plain client get nothing, and nothing they sent
 * reaches the journal. Also: each worker refuses an unknown flag or a bad value with status 2
 * and a message naming the setting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>

#include <zmq.h>

#include "harness.h"
#include "np/curve.h"

/* Sends an article titled `title` from a DEALER with the given client key (NULL: plain) and
 * returns the reply within wait_ms, or NULL. */
static char *ask(struct h_pipeline *p, void *ctx, const char *client_base, const char *title,
                 long wait_ms)
{
    char path[256];
    char server[NP_CURVE_KEY_LEN + 1];
    char pub[NP_CURVE_KEY_LEN + 1];
    char sec[NP_CURVE_KEY_LEN + 1];
    char ep[128];
    char body[256];
    char buf[512];
    int linger = 0;
    int n = 0;
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    zmq_pollitem_t item = { s, 0, ZMQ_POLLIN, 0 };
    char *reply = NULL;

    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (client_base != NULL) {
        snprintf(path, sizeof(path), "%s/server.pub", p->dir);
        assert_int_equal(np_curve_load_public(path, server, NULL), 0);
        snprintf(path, sizeof(path), "%s/%s.key", p->dir, client_base);
        assert_int_equal(np_curve_load_keypair(path, pub, sec, NULL), 0);
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    snprintf(ep, sizeof(ep), "ipc://%s/router", p->dir);
    zmq_connect(s, ep);
    snprintf(body, sizeof(body), "{\"title\": \"%s\", \"body\": \"text\"}", title);
    zmq_send(s, "", 0, ZMQ_SNDMORE);
    zmq_send(s, body, strlen(body), 0);
    if (zmq_poll(&item, 1, wait_ms) == 1) {
        zmq_recv(s, buf, sizeof(buf), 0);
        n = zmq_recv(s, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        reply = strdup(buf);
    }
    zmq_close(s);
    return reply;
}

/* True when any journal segment contains text. */
static bool journal_has(struct h_pipeline *p, const char *text)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "grep -qs '%s' %s/journal/seg-*.log", text, p->dir);
    return system(cmd) == 0;
}

static void run_keygen(const char *dir, const char *name)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/newspipe-keygen' %s >/dev/null", dir,
             getenv("NP_BIN_DIR"), name);
    assert_int_equal(system(cmd), 0);
}

static void test_curve_admits_only_listed_clients(void **state)
{
    struct h_pipeline p;
    char cmd[512];
    char env[2][512];
    void *ctx = zmq_ctx_new();
    char *reply = NULL;

    (void)state;
    memset(&p, 0, sizeof(p));
    snprintf(p.dir, sizeof(p.dir), "/tmp/np-curve-XXXXXX");
    assert_non_null(mkdtemp(p.dir));
    run_keygen(p.dir, "server");
    run_keygen(p.dir, "alice");
    run_keygen(p.dir, "mallory");
    snprintf(cmd, sizeof(cmd), "mkdir '%s/clients' && cp '%s/alice.pub' '%s/clients/'", p.dir,
             p.dir, p.dir);
    assert_int_equal(system(cmd), 0);
    snprintf(env[0], sizeof(env[0]), "NP_INGEST_CURVE_SECRET_FILE=%s/server.key", p.dir);
    snprintf(env[1], sizeof(env[1]), "NP_INGEST_CURVE_CLIENTS=%s/clients", p.dir);
    p.extra_env[H_INGEST][0] = env[0];
    p.extra_env[H_INGEST][1] = env[1];
    h_start(&p, H_INGEST);

    reply = ask(&p, ctx, "alice", "from alice", 10000);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "\"accepted\""));
    free(reply);
    assert_null(ask(&p, ctx, "mallory", "from mallory", 1500));
    assert_null(ask(&p, ctx, NULL, "from a plain client", 1500));
    assert_true(h_alive(&p, H_INGEST));
    assert_int_equal(h_stop(&p, H_INGEST, 10), 0); /* syncs the journal */
    assert_true(journal_has(&p, "from alice"));
    assert_false(journal_has(&p, "from mallory"));
    assert_false(journal_has(&p, "from a plain client"));
    zmq_ctx_term(ctx);
    h_pipeline_cleanup(&p);
}

/* Runs a binary with args and returns its exit status; its stderr goes to err_out. */
static int run_status(const char *cmdline, char *err_out, size_t len)
{
    char cmd[1200];
    FILE *f = NULL;
    int status = 0;
    size_t n = 0;

    snprintf(cmd, sizeof(cmd), "cd /tmp && %s 2>&1 >/dev/null", cmdline);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(err_out, 1, len - 1, f);
    err_out[n] = '\0';
    status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_bad_settings_exit_2(void **state)
{
    static const struct {
        const char *args;
        const char *names;
    } cases[] = {
        { "newspipe-ingest --no-such-flag", "--no-such-flag" },
        { "newspipe-ingest --max-inflight=0", "max_inflight" },
        { "newspipe-ingest --log-level=loud", "log_level" },
        { "newspipe-ingest --curve-secret-file=/nonexistent --curve-clients=/nonexistent "
          "--journal-dir=/tmp/np-access-journal --metrics-port=0 --pull=ipc:///tmp/np-a1 "
          "--router=ipc:///tmp/np-a2 --forward=ipc:///tmp/np-a3 --ack=ipc:///tmp/np-a4",
          "/nonexistent" },
        { "newspipe-classify --hwm=-5", "hwm" },
        { "newspipe-classify --taxonomy=/nonexistent.json --metrics-port=0", "/nonexistent.json" },
        { "newspipe-store --batch-size=0", "batch_size" },
        { "newspipe-store --bogus", "--bogus" },
        { "newspipe-push --window=x -", "window" },
    };

    char line[1024];
    char out[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "'%s'/%s", getenv("NP_BIN_DIR"), cases[i].args);
        assert_int_equal(run_status(line, out, sizeof(out)), 2);
        if (strstr(out, cases[i].names) == NULL) {
            fprintf(stderr, "%s: message does not name %s: %s\n", cases[i].args, cases[i].names,
                    out);
        }
        assert_non_null(strstr(out, cases[i].names));
    }
    assert_int_equal(system("rm -rf /tmp/np-access-journal"), 0);
}

static void test_help_lists_every_setting(void **state)
{
    static const char *const bins[] = { "newspipe-ingest", "newspipe-classify", "newspipe-store",
                                        "newspipe-push" };
    char cmd[512];

    (void)state;
    for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
        snprintf(cmd, sizeof(cmd), "'%s/%s' --help | grep -q 'NP_'", getenv("NP_BIN_DIR"), bins[i]);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_curve_admits_only_listed_clients, h_teardown),
        cmocka_unit_test(test_bad_settings_exit_2),
        cmocka_unit_test(test_help_lists_every_setting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
