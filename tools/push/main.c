/* main.c - newspipe-push: settings and exit code */
#include <stdio.h>

#include "push.h"
#include "np/err.h"
#include "np/log.h"

int main(int argc, char **argv)
{
    struct push_config cfg = { 0 };
    size_t n = 0;
    const struct np_setting *table = push_settings(&n);
    int npos = 0;
    int rc = np_config_load(table, n, "PUSH",
                            "newspipe-push [options] FILE... (JSON objects, arrays or lines, "
                            "the plain-text layout, RSS 2.0, RSS 1.0 or Atom 1.0 feeds; - for "
                            "standard input)",
                            &cfg, argc, argv, &npos);

    if (rc != NP_CONFIG_RUN) {
        np_config_cleanup(table, n, &cfg);
        return rc == NP_CONFIG_EXIT ? 0 : 2;
    }
    if (npos == 0) {
        fprintf(stderr, "newspipe-push: no input given (a file, or - for standard input)\n");
        np_config_cleanup(table, n, &cfg);
        return 2;
    }
    np_log_init("push", NP_LOG_WARN);
    rc = push_run(&cfg, argv + 1, (size_t)npos, stdout, stderr);
    np_config_cleanup(table, n, &cfg);
    return rc;
}
