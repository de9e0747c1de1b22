/* main.c - newspipe-store: settings, signals, exit code around store_run() */
#include <signal.h>
#include <stddef.h>

#include "np/config.h"
#include "np/service.h"
#include "store.h"

static volatile sig_atomic_t stop_flag;

static const struct np_setting settings[] = {
    { "bind", NP_SET_STRING, "tcp://*:5559",
      "endpoint(s) to bind the PULL socket classify pushes to", offsetof(struct store_config, bind),
      0, 0, false, NULL },
    { "batch_size", NP_SET_INT, "1000", "most messages written in one transaction",
      offsetof(struct store_config, batch_size), 1, 100000, false, NULL },
    { "batch_ms", NP_SET_INT, "50",
      "a batch is written at the latest this many ms after its first message",
      offsetof(struct store_config, batch_ms), 1, 60000, false, NULL },
    { "log_level", NP_SET_STRING, "info", "error, warn, info or debug",
      offsetof(struct store_config, log_level), 0, 0, false, NULL },
    { "db", NP_SET_STRING, NULL,
      "PostgreSQL connection string (key=value or URI); unset: DATABASE_URL, then PG* variables",
      offsetof(struct store_config, db), 0, 0, true, "NP_DB_CONNINFO" },
    { "database_url", NP_SET_STRING, NULL, "PostgreSQL URI, used when NP_DB_CONNINFO is unset",
      offsetof(struct store_config, database_url), 0, 0, true, "DATABASE_URL" },
    { "ack_hwm", NP_SET_INT, "1000",
      "send high-water mark of each ack socket (acks queued per ingest)",
      offsetof(struct store_config, ack_hwm), 1, 1000000, false, NULL },
    { "max_retry_ms", NP_SET_INT, "5000", "cap of the backoff between database retries",
      offsetof(struct store_config, max_retry_ms), 100, 600000, false, NULL },
    { "stop_ms", NP_SET_INT, "10000", "on SIGTERM, how long to keep retrying the last batch",
      offsetof(struct store_config, stop_ms), 0, 600000, false, NULL },
    { "migrate_only", NP_SET_BOOL, "false", "apply database migrations and exit",
      offsetof(struct store_config, migrate_only), 0, 0, false, NULL },
    { "search_index", NP_SET_BOOL, "true",
      "make stored articles searchable (article_search), behind the writer",
      offsetof(struct store_config, search_index), 0, 0, false, NULL },
    { "index_batch", NP_SET_INT, "2000", "articles the search indexer handles per transaction",
      offsetof(struct store_config, index_batch), 1, 100000, false, NULL },
    { "metrics_port", NP_SET_INT, "9103", "HTTP port for /metrics, /healthz, /readyz (0: off)",
      offsetof(struct store_config, metrics_port), 0, 65535, false, NULL },
    { "metrics_bind", NP_SET_STRING, "0.0.0.0", "address the HTTP endpoint listens on",
      offsetof(struct store_config, metrics_bind), 0, 0, false, NULL },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

int main(int argc, char **argv)
{
    struct store_config cfg = { 0 };
    struct np_service svc = { .name = "store",
                              .env = "store",
                              .usage = "newspipe-store [options]",
                              .settings = settings,
                              .nsettings = NSETTINGS,
                              .cfg = &cfg,
                              .log_level = &cfg.log_level,
                              .stop = &stop_flag };
    int rc = np_service_start(&svc, argc, argv);

    if (rc != NP_SERVICE_RUN) {
        return rc;
    }
    return np_service_exit(&svc, store_run(&cfg, &stop_flag));
}
