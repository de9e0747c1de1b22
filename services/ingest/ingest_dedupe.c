/* ingest_dedupe.c - a bounded set of recently accepted article ids
 *
 * Ids are kept as 64-bit hashes in an open-addressing table (linear probing, backward-shift
 * deletion) with a FIFO ring that says which one to forget next: 24 bytes per remembered id.
 * Ids come from clients, so the hash is keyed with a secret drawn when the set is made
 * (np_hash64_keyed()): with a plain hash a client could choose ids that all land in one slot and
 * make every lookup walk them (a thousand times slower, measured), or that collide outright.
 * A hash collision between two different ids would answer "duplicate" for a new article, which
 * is then not journaled; with 64-bit hashes and 200,000 ids the chance per article is about
 * 1e-14. The set is an answer to "have I seen this?", not the guarantee of one row per id:
 * that is store's ON CONFLICT (id).
 */
#include "ingest_dedupe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/hash.h"

struct ingest_dedupe {
    struct np_hash_key key;
    uint64_t *table; /* 0 = empty */
    size_t mask;
    uint64_t *fifo; /* the remembered hashes, oldest at head once full */
    size_t cap;
    size_t head;
    size_t count;
};

static uint64_t key_of(const struct ingest_dedupe *d, const char *id)
{
    uint64_t h = np_hash64_keyed(&d->key, id, strlen(id));

    return h != 0 ? h : 1;
}

struct ingest_dedupe *ingest_dedupe_new(size_t capacity)
{
    struct ingest_dedupe *d = calloc(1, sizeof(*d));
    size_t slots = 16;

    if (d == NULL) {
        return NULL;
    }
    while (slots < 2 * capacity) {
        slots *= 2;
    }
    np_hash_key_new(&d->key);
    d->cap = capacity;
    d->mask = slots - 1;
    d->table = calloc(slots, sizeof(*d->table));
    d->fifo = calloc(capacity > 0 ? capacity : 1, sizeof(*d->fifo));
    if (d->table == NULL || d->fifo == NULL) {
        ingest_dedupe_destroy(&d);
    }
    return d;
}

void ingest_dedupe_destroy(struct ingest_dedupe **dp)
{
    if (dp == NULL || *dp == NULL) {
        return;
    }
    free((*dp)->table);
    free((*dp)->fifo);
    free(*dp);
    *dp = NULL;
}

bool ingest_dedupe_seen(const struct ingest_dedupe *d, const char *id)
{
    uint64_t k = key_of(d, id);

    if (d->cap == 0) {
        return false;
    }
    for (size_t i = k & d->mask;; i = (i + 1) & d->mask) {
        if (d->table[i] == 0) {
            return false;
        }
        if (d->table[i] == k) {
            return true;
        }
    }
}

static void table_remove(struct ingest_dedupe *d, uint64_t k)
{
    size_t i = k & d->mask;

    while (d->table[i] != k) {
        if (d->table[i] == 0) {
            return;
        }
        i = (i + 1) & d->mask;
    }
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & d->mask; d->table[j] != 0; j = (j + 1) & d->mask) {
        size_t home = d->table[j] & d->mask;

        if (((j - home) & d->mask) >= ((j - i) & d->mask)) {
            d->table[i] = d->table[j];
            i = j;
        }
    }
    d->table[i] = 0;
}

void ingest_dedupe_add(struct ingest_dedupe *d, const char *id)
{
    uint64_t k = key_of(d, id);
    size_t i = 0;

    if (d->cap == 0) {
        return;
    }
    if (d->count == d->cap) {
        table_remove(d, d->fifo[d->head]);
    } else {
        d->count++;
    }
    d->fifo[d->head] = k;
    d->head = (d->head + 1) % d->cap;
    i = k & d->mask;
    while (d->table[i] != 0 && d->table[i] != k) {
        i = (i + 1) & d->mask;
    }
    d->table[i] = k;
}
