/* main.c - newspipe-classify: the worker, and the taxonomy tools --check and --classify */
#include <signal.h>
#include <string.h>

#include "classify.h"
#include "classify_tool.h"
#include "np/log.h"
#include "np/service.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static const char usage[] =
    "newspipe-classify [options]                 run the worker\n"
    "       newspipe-classify --check FILE              validate a taxonomy, print counts\n"
    "       newspipe-classify [--taxonomy T] [--model M] --classify FILE|-\n"
    "                                                   classify JSON lines, print JSON lines";

/* The tool modes take their argument as the first positional argument after the flag. */
static int run_tool(const struct classify_config *cfg, int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--check") == 0) {
        return classify_tool_check(argv[2], stdout);
    }
    return classify_tool_classify_model(cfg->taxonomy, cfg->model, argv[argc - 1], stdout, stderr);
}

int main(int argc, char **argv)
{
    struct classify_config cfg = { 0 };
    struct np_service svc = { .name = "classify",
                              .env = "CLASSIFY",
                              .usage = usage,
                              .cfg = &cfg,
                              .log_level = &cfg.log_level,
                              .stop = &stop_requested,
                              .reload = &reload_requested };
    int rc = 0;

    svc.settings = classify_settings(&svc.nsettings);
    /* --check FILE and --classify FILE are modes, not settings: take them out first. */
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--check") == 0 || strcmp(argv[i], "--classify") == 0) {
            char *mode = argv[i];
            char *file = argv[i + 1];

            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
            rc = np_config_load(svc.settings, svc.nsettings, svc.env, usage, &cfg, argc - 2, argv,
                                NULL);
            if (rc == NP_CONFIG_RUN) {
                char *tool_argv[3] = { argv[0], mode, file };

                np_log_init("classify", NP_LOG_WARN);
                rc = run_tool(&cfg, 3, tool_argv);
            } else {
                rc = rc == NP_CONFIG_EXIT ? 0 : 2;
            }
            np_config_cleanup(svc.settings, svc.nsettings, &cfg);
            return rc;
        }
    }
    rc = np_service_start(&svc, argc, argv);
    if (rc != NP_SERVICE_RUN) {
        return rc;
    }
    return np_service_exit(&svc, classify_run(&cfg, &stop_requested, &reload_requested));
}
