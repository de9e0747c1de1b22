/* db.c - connecting to PostgreSQL and sorting its errors into "retry" and "refused"
 *
 * The connection string is parsed by libpq itself (PQconnectdbParams with expand_dbname), so a
 * URI, a key=value string and the PG* environment all work the way psql users expect. Errors are
 * sorted by SQLSTATE class, the way PostgreSQL documents them (Appendix A): classes that describe
 * the server or the session (connection, resources, shutdown, serialization) are transient; the
 * rest describe the statement or its data and would fail again.
 */
#include "np/db.h"

#include <stdbool.h>
#include <string.h>

#include <libpq-fe.h>

#include "np/err.h"
#include "np/log.h"

/*
 * Server notices ("relation already exists, skipping", warnings) go to our log, one line each,
 * instead of libpq's default of printing them raw on stderr.
 */
static void log_notice(void *arg, const PGresult *res)
{
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    (void)arg;
    if (severity != NULL && strcmp(severity, "WARNING") == 0) {
        np_log_warn("database warning: %s", msg != NULL ? msg : "");
    } else {
        np_log_debug("database notice: %s", msg != NULL ? msg : "");
    }
}

/* Copies libpq's message without its trailing newline. */
static void copy_message(struct np_err *err, int code, const char *what, const char *msg)
{
    size_t len = msg != NULL ? strlen(msg) : 0;

    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }
    np_err_set(err, code, "", "%s: %.*s", what, (int)len, msg != NULL ? msg : "");
}

int np_db_connect(const char *conninfo, PGconn **out, struct np_err *err)
{
    /*
     * Entries before "dbname" may be overridden by the expanded conninfo, entries after it
     * override it: the encoding is ours to choose, the timeout and name are defaults.
     */
    const char *const keys[] = { "connect_timeout", "fallback_application_name", "dbname",
                                 "client_encoding", NULL };
    const char *values[] = { "10", "newspipe", NULL, "UTF8", NULL };
    PQconninfoOption *opts = NULL;
    char *perr = NULL;
    PGconn *conn = NULL;
    int rc = NP_ETRANSIENT;

    if (conninfo != NULL && conninfo[0] != '\0') {
        opts = PQconninfoParse(conninfo, &perr);
        if (opts == NULL) {
            /* libpq's message quotes the string, password included: say only that it failed. */
            if (perr == NULL) {
                return np_err_set(err, NP_ENOMEM, "", "out of memory");
            }
            PQfreemem(perr);
            return np_err_set(err, NP_EINVAL, "",
                              "invalid database connection string (expected key=value pairs or "
                              "a postgresql:// URI)");
        }
        PQconninfoFree(opts);
        values[2] = conninfo;
    }
    conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL) {
        return np_err_set(err, NP_ENOMEM, "", "out of memory");
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        copy_message(err, NP_ETRANSIENT, "could not connect to database", PQerrorMessage(conn));
        goto out;
    }
    PQsetNoticeReceiver(conn, log_notice, NULL);
    *out = conn;
    conn = NULL;
    rc = 0;
out:
    PQfinish(conn);
    return rc;
}

static bool class_is_transient(const char *sqlstate)
{
    static const char *const classes[] = { "08", "40", "53", "57", "58" };

    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        if (strncmp(sqlstate, classes[i], 2) == 0) {
            return true;
        }
    }
    return false;
}

int np_db_error_kind(const PGresult *res, const PGconn *conn)
{
    const char *sqlstate = NULL;

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK || res == NULL) {
        return NP_ETRANSIENT;
    }
    switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
        case PGRES_SINGLE_TUPLE:
        case PGRES_EMPTY_QUERY:
            return 0;
        default:
            break;
    }
    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (sqlstate == NULL || strlen(sqlstate) != 5) {
        /* Errors libpq makes up itself (lost connection, out of memory) carry no SQLSTATE. */
        return NP_ETRANSIENT;
    }
    return class_is_transient(sqlstate) ? NP_ETRANSIENT : NP_EDB;
}
