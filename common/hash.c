/* hash.c - content hashes (BLAKE2b from libsodium) as hex strings, and table hashes */
#include "np/hash.h"

#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

void np_hash_hex(const void *data, size_t len, char *out)
{
    unsigned char digest[NP_HASH_HEX_LEN / 2];

    crypto_generichash(digest, sizeof(digest), data, len, NULL, 0);
    sodium_bin2hex(out, NP_HASH_HEX_LEN + 1, digest, sizeof(digest));
}

void np_hash_key_new(struct np_hash_key *k)
{
    /* sodium_init() picks the random source; it is idempotent and thread-safe. */
    if (sodium_init() < 0) {
        abort(); /* libsodium could not initialise: no random numbers to be had */
    }
    randombytes_buf(k->k, sizeof(k->k));
}

unsigned long long np_hash64_keyed(const struct np_hash_key *k, const void *data, size_t len)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h = 0;

    crypto_shorthash(out, data, len, k->k);
    for (size_t i = 0; i < sizeof(out); i++) {
        h |= (uint64_t)out[i] << (8 * i);
    }
    return (unsigned long long)h;
}

unsigned long long np_hash64(const void *data, size_t len)
{
    /* FNV-1a: short keys (ids), in-memory only. */
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return (unsigned long long)h;
}
