/* main.c - newspipe-classify: the worker, and the taxonomy tools --check and --classify */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "classify_tool.h"
#include "np/err.h"
#include "np/log.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    } else {
        stop_requested = 1;
    }
}

static const char usage[] =
    "newspipe-classify [options]                 run the worker\n"
    "       newspipe-classify --check FILE              validate a taxonomy, print counts\n"
    "       newspipe-classify [--taxonomy T] --classify FILE|-\n"
    "                                                   classify JSON lines, print JSON lines";

/* The tool modes take their argument as the first positional argument after the flag. */
static int run_tool(const struct classify_config *cfg, int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--check") == 0) {
        return classify_tool_check(argv[2], stdout);
    }
    return classify_tool_classify(cfg->taxonomy, argv[argc - 1], stdout, stderr);
}

int main(int argc, char **argv)
{
    struct classify_config cfg = { 0 };
    struct sigaction sa;
    enum np_log_level level = NP_LOG_INFO;
    size_t n = 0;
    const struct np_setting *table = classify_settings(&n);
    int nargs = argc;
    int rc = 0;

    /* --check FILE and --classify FILE are modes, not settings: take them out first. */
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--check") == 0 || strcmp(argv[i], "--classify") == 0) {
            char *mode = argv[i];
            char *file = argv[i + 1];

            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
            nargs = argc - 2;
            rc = np_config_load(table, n, "CLASSIFY", usage, &cfg, nargs, argv, NULL);
            if (rc == NP_CONFIG_RUN) {
                char *tool_argv[3] = { argv[0], mode, file };

                np_log_init("classify", NP_LOG_WARN);
                rc = run_tool(&cfg, 3, tool_argv);
            } else {
                rc = rc == NP_CONFIG_EXIT ? 0 : 2;
            }
            np_config_cleanup(table, n, &cfg);
            return rc;
        }
    }
    rc = np_config_load(table, n, "CLASSIFY", usage, &cfg, argc, argv, NULL);
    if (rc != NP_CONFIG_RUN) {
        np_config_cleanup(table, n, &cfg);
        return rc == NP_CONFIG_EXIT ? 0 : 2;
    }
    if (np_log_level_parse(cfg.log_level, &level) != 0) {
        fprintf(stderr, "invalid value \"%s\" for log_level: expected error, warn, info or debug\n",
                cfg.log_level);
        np_config_cleanup(table, n, &cfg);
        return 2;
    }
    np_log_init("classify", level);
    np_config_log(table, n, &cfg);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = classify_run(&cfg, &stop_requested, &reload_requested);
    np_config_cleanup(table, n, &cfg);
    if (rc != 0) {
        np_log_error("stopping on error: %s", np_strerror(rc));
        return rc == NP_EINVAL ? 2 : 1;
    }
    return 0;
}
