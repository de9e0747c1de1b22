/* main.c - newspipe-ingest: settings, signals, exit code */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "np/err.h"
#include "np/log.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    struct ingest_config cfg = { 0 };
    struct sigaction sa;
    enum np_log_level level = NP_LOG_INFO;
    size_t n = 0;
    const struct np_setting *table = ingest_settings(&n);
    int rc =
        np_config_load(table, n, "INGEST", "newspipe-ingest [options]", &cfg, argc, argv, NULL);

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
    np_log_init("ingest", level);
    np_config_log(table, n, &cfg);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = ingest_run(&cfg, &stop_requested);
    np_config_cleanup(table, n, &cfg);
    if (rc != 0) {
        np_log_error("stopping on error: %s", np_strerror(rc));
        return rc == NP_EINVAL ? 2 : 1;
    }
    return 0;
}
