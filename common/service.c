/* service.c - what every worker's main() does first: settings, logging, signals */
#include "np/service.h"

#include <stdio.h>
#include <string.h>

#include "np/err.h"
#include "np/log.h"

static volatile sig_atomic_t *stop_flag;
static volatile sig_atomic_t *reload_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        if (reload_flag != NULL) {
            *reload_flag = 1;
        }
    } else if (stop_flag != NULL) {
        *stop_flag = 1;
    }
}

int np_service_start(const struct np_service *svc, int argc, char **argv)
{
    enum np_log_level level = NP_LOG_INFO;
    struct sigaction sa;
    int rc = np_config_load(svc->settings, svc->nsettings, svc->env, svc->usage, svc->cfg, argc,
                            argv, NULL);

    if (rc != NP_CONFIG_RUN) {
        np_config_cleanup(svc->settings, svc->nsettings, svc->cfg);
        return rc == NP_CONFIG_EXIT ? 0 : 2;
    }
    if (np_log_level_parse(*svc->log_level, &level) != 0) {
        fprintf(stderr, "invalid value \"%s\" for log_level: expected error, warn, info or debug\n",
                *svc->log_level);
        np_config_cleanup(svc->settings, svc->nsettings, svc->cfg);
        return 2;
    }
    np_log_init(svc->name, level);
    np_config_log(svc->settings, svc->nsettings, svc->cfg);

    stop_flag = svc->stop;
    reload_flag = svc->reload;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (svc->reload != NULL) {
        sigaction(SIGHUP, &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return NP_SERVICE_RUN;
}

int np_service_exit(const struct np_service *svc, int rc)
{
    np_config_cleanup(svc->settings, svc->nsettings, svc->cfg);
    if (rc == 0) {
        return 0;
    }
    np_log_error("stopping on error: %s", np_strerror(rc));
    return rc == NP_EINVAL ? 2 : 1;
}
