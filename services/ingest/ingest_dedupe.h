/* ingest_dedupe.h - a bounded set of recently accepted article ids */
#ifndef INGEST_DEDUPE_H
#define INGEST_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>

struct ingest_dedupe;

/*
 * Returns a new set remembering the last `capacity` ids added (0: remembers nothing), or NULL
 * on allocation failure. Free with ingest_dedupe_destroy().
 */
struct ingest_dedupe *ingest_dedupe_new(size_t capacity);

/* Frees the set and sets *dp to NULL. Accepts NULL. */
void ingest_dedupe_destroy(struct ingest_dedupe **dp);

/* True when id is among the remembered ids. */
bool ingest_dedupe_seen(const struct ingest_dedupe *d, const char *id);

/* Remembers id, forgetting the oldest id when full. id must not be remembered already. */
void ingest_dedupe_add(struct ingest_dedupe *d, const char *id);

#endif /* INGEST_DEDUPE_H */
