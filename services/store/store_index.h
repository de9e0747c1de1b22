/* store_index.h - the search indexer: makes stored articles searchable behind the writer */
#ifndef STORE_INDEX_H
#define STORE_INDEX_H

#include <stdatomic.h>
#include <stdint.h>

#include "np/metrics.h"

struct store_index;

/*
 * Starts a thread with its own database connection that moves up to `batch` articles at a time
 * from search_queue into article_search (see sql/002_search.sql). It waits idle_ms when the
 * queue is empty, and defers while *busy_until_ms (np_time_now_ms() milliseconds, written by the
 * store when it hands the writer a batch at least half full) lies in the future, but never longer
 * than 10 s at a stretch, so search lags under sustained load without ever stopping. conninfo (may
 * be NULL: libpq's environment) and the other pointers are borrowed and must outlive the indexer.
 * Returns the indexer (store_index_stop()) or NULL.
 */
struct store_index *store_index_start(const char *conninfo, long batch, long idle_ms,
                                      const _Atomic int64_t *busy_until_ms,
                                      struct np_counter *indexed);

/* Stops the thread (after its current batch), closes its connection, frees it, sets *ip to
 * NULL. Accepts NULL. */
void store_index_stop(struct store_index **ip);

#endif /* STORE_INDEX_H */
