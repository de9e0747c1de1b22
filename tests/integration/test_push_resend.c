/* test_push_resend.c - newspipe-push finishes a file when ingest is killed and restarted
 *
 * Starts the three workers on ipc:// endpoints, runs the real newspipe-push on a JSON-lines file
 * of 3,000 articles (rate-limited, so the kill lands mid-file), SIGKILLs ingest while it runs and
 * restarts it a second later. push must resend what was not answered and finish: exit 0, nothing
 * unanswered, and every line a row (issue 10: before, the rest of the file was never sent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define LINES 3000

extern char **environ;

static int setup(void **state)
{
    struct h_pipeline *p = calloc(1, sizeof(*p));

    if (p == NULL || getenv("NP_TAXONOMY") == NULL || h_pipeline_init(p, "resend") != 0) {
        free(p);
        return -1;
    }
    p->extra_env[H_INGEST][0] = "NP_INGEST_REDELIVER_MS=2000";
    p->extra_env[H_INGEST][1] = "NP_INGEST_SHUTDOWN_MS=2000";
    h_start_all(p);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    h_pipeline_cleanup(*state);
    free(*state);
    return h_teardown(state); /* newspipe-push, when the test failed before it was reaped */
}

/* Waits up to timeout_s for pid; returns its wait status, or -1 (then kills it). */
static int wait_pid(pid_t pid, double timeout_s)
{
    double until = h_now() + timeout_s;
    int status = 0;

    while (h_now() < until) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            h_forget(pid);
            return status;
        }
        h_pause_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    h_forget(pid);
    return -1;
}

static void test_push_survives_ingest_restart(void **state)
{
    struct h_pipeline *p = *state;
    char input[256];
    char log[256];
    char bin[512];
    char endpoint[160];
    char *argv[] = { bin,    "--endpoint",   endpoint, "--rate",  "1500", "--resend-ms",
                     "1000", "--timeout-ms", "60000",  "--quiet", input,  NULL };
    FILE *f = NULL;
    char *out = NULL;
    pid_t pid = 0;
    int status = 0;
    char want[64];

    snprintf(input, sizeof(input), "%s/articles.jsonl", p->dir);
    snprintf(log, sizeof(log), "%s/push.log", p->dir);
    snprintf(bin, sizeof(bin), "%s/newspipe-push", getenv("NP_BIN_DIR"));
    snprintf(endpoint, sizeof(endpoint), "ipc://%s/router", p->dir);
    f = fopen(input, "w");
    assert_non_null(f);
    for (int i = 0; i < LINES; i++) {
        fprintf(f,
                "{\"id\": \"resend-%d\", \"title\": \"Crude oil report %d\", \"body\": \"Brent "
                "crude rose in line %d.\"}\n",
                i, i, i);
    }
    assert_int_equal(fclose(f), 0);

    pid = h_spawn(bin, argv, environ, log, log); /* recorded: h_teardown() ends it if need be */
    assert_true(pid > 0);

    /* Mid-file (about a third of it sent): ingest dies, and is back a second later. */
    h_pause_ms(700);
    h_kill(p, H_INGEST, SIGKILL);
    h_pause_ms(1000);
    h_start(p, H_INGEST);

    status = wait_pid(pid, 120);
    out = t_slurp(log, NULL);
    fprintf(stderr, "newspipe-push said:\n%s", out != NULL ? out : "(nothing)\n");
    if (status != 0) {
        h_dump_logs(p);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(want, sizeof(want), "pushed %d: ", LINES);
    assert_non_null(out);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, " 0 rejected, 0 unanswered"));
    free(out);
    assert_int_equal(h_wait_for(p->conn, "SELECT count(*) FROM articles", LINES, h_now() + 60),
                     LINES);
    assert_int_equal(h_query_long(p->conn, "SELECT count(DISTINCT id) FROM articles "
                                           "WHERE id LIKE 'resend-%'"),
                     LINES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_survives_ingest_restart, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
