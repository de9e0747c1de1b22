/* ingest_zap.h - the ZAP handler that admits only listed CURVE client keys */
#ifndef INGEST_ZAP_H
#define INGEST_ZAP_H

#include "np/curve.h"

struct ingest_zap;

/*
 * Starts a thread answering ZAP requests (RFC 27) on inproc://zeromq.zap.01 of ctx: a CURVE
 * client whose public key is in allow is admitted (200), any other request refused (400).
 * Must start before any CURVE server socket of ctx binds. allow is borrowed and must outlive
 * the handler. Returns the handler (ingest_zap_stop()) or NULL.
 */
struct ingest_zap *ingest_zap_start(void *ctx, const struct np_curve_allow *allow);

/* Stops the thread, closes its socket, frees it, sets *zp to NULL. Accepts NULL. Call before
 * zmq_ctx_term(). */
void ingest_zap_stop(struct ingest_zap **zp);

#endif /* INGEST_ZAP_H */
