/* store_sink.h - where store writes decoded messages: open, write a batch, close
 *
 * store.c reads and decodes messages (store_msg.c), batches them, hands each batch to a sink
 * and acks what the sink committed; it knows nothing of the sink's storage. A sink gets rows
 * of typed values (store_msg.h) and rejections, and says per batch: written (0), try the same
 * batch again later (NP_ETRANSIENT), or give up (another error); and per message whether it was
 * written, skipped as a duplicate inside the batch, or refused (STORE_ISOLATED: the message is
 * then stored as a rejection, or STORE_DROPPED when even that failed). PostgreSQL
 * (store_db.c, store_db_sink()) is the one implementation.
 */
#ifndef STORE_SINK_H
#define STORE_SINK_H

#include <stddef.h>

#include "np/err.h"
#include "store_msg.h"

/* What one write did. */
struct store_stats {
    size_t articles;   /* article rows inserted (new ids) */
    size_t existing;   /* article messages whose id was already stored (redelivery) */
    size_t duplicates; /* article messages dropped as duplicates inside the batch */
    size_t rejected;   /* rejection rows inserted (ingest's and store's) */
    size_t isolated;   /* messages the sink refused, stored as rejections instead */
    size_t dropped;    /* messages whose rejection could not be stored either */
    size_t attempts;   /* sub-batches tried (1 when nothing was refused) */
};

/*
 * A sink: a context and three operations. Not thread-safe: one thread uses a sink at a time
 * (store's writer thread once it runs).
 *
 * open_fn: makes the sink ready (connects, brings its schema up to date). Called again after
 *   a failure. Writes the schema version in place to *schema. Returns 0, NP_ETRANSIENT (the
 *   storage is not reachable yet: retry with backoff) or another error (err says why: give up).
 * write_fn: writes msgs[0..n) (borrowed) at once, all or nothing, setting each message's
 *   outcome; fills *stats. Returns 0 (committed: every message whose outcome is not
 *   STORE_PENDING may be acked; a pending one is left for redelivery), NP_ETRANSIENT
 *   (nothing committed: retry the same batch; the sink repairs its connection itself) or
 *   another error (give up).
 * close_fn: releases everything, ctx included. Accepts a sink never opened.
 */
struct store_sink {
    void *ctx;
    int (*open_fn)(void *ctx, int *schema, struct np_err *err);
    int (*write_fn)(void *ctx, struct store_msg *const *msgs, size_t n, struct store_stats *stats);
    void (*close_fn)(void *ctx);
};

#endif /* STORE_SINK_H */
