/* main.c - newspipe-ingest: settings, signals, exit code */
#include <signal.h>

#include "ingest.h"
#include "np/service.h"

static volatile sig_atomic_t stop_requested;

int main(int argc, char **argv)
{
    struct ingest_config cfg = { 0 };
    struct np_service svc = { .name = "ingest",
                              .env = "INGEST",
                              .usage = "newspipe-ingest [options]",
                              .cfg = &cfg,
                              .log_level = &cfg.log_level,
                              .stop = &stop_requested };
    int rc = 0;

    svc.settings = ingest_settings(&svc.nsettings);
    rc = np_service_start(&svc, argc, argv);
    if (rc != NP_SERVICE_RUN) {
        return rc;
    }
    return np_service_exit(&svc, ingest_run(&cfg, &stop_requested));
}
