/* db.h - connecting to PostgreSQL and sorting its errors into "retry" and "refused"
 *
 * Only store talks to PostgreSQL; these helpers live in np_common because they are part of the
 * error contract (NP_ETRANSIENT vs NP_EDB) and the tests use them too. This header includes
 * <libpq-fe.h> because its declarations need PGconn and PGresult.
 */
#ifndef NP_DB_H
#define NP_DB_H

#include <libpq-fe.h>

#include "np/err.h"

/*
 * Opens a connection. conninfo NULL or "" means libpq's own PG* environment variables (PGHOST,
 * PGPORT, PGUSER, PGDATABASE, PGPASSWORD, ...); otherwise a URI ("postgresql://...", as in
 * DATABASE_URL) or "key=value ..." string, whose fields override the environment. The session
 * always uses client_encoding UTF8 and application_name "newspipe" unless the string names one;
 * connect_timeout defaults to 10 s.
 * On success stores the new connection in *out (PQfinish() it) and returns 0. Returns NP_EINVAL
 * when conninfo cannot be parsed, NP_ETRANSIENT when the server cannot be reached or refuses
 * the session (the caller retries with backoff), NP_ENOMEM. err then says why; it never holds
 * the connection string or a password. *out is untouched on failure.
 */
int np_db_connect(const char *conninfo, PGconn **out, struct np_err *err);

/*
 * Sorts a failed command: returns NP_ETRANSIENT when retrying later may succeed (SQLSTATE class
 * 08 connection exception, 40 transaction rollback (serialization failure, deadlock), 53
 * insufficient resources, 57 operator intervention (admin shutdown, query cancelled), 58 system
 * error; or no SQLSTATE at all because the connection broke; or res or conn NULL or conn not
 * in CONNECTION_OK), and NP_EDB for everything else (22 data exception, 23 integrity
 * violation, 42 syntax or access, ...): the same statement with the same data fails again.
 * Returns 0 when res is a successful result. Both arguments are borrowed; res may be NULL.
 */
int np_db_error_kind(const PGresult *res, const PGconn *conn);

#endif /* NP_DB_H */
