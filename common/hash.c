/* hash.c - content hashes (BLAKE2b from libsodium) as hex strings */
#include "np/hash.h"

#include <stdint.h>

#include <sodium.h>

void np_hash_hex(const void *data, size_t len, char *out)
{
    unsigned char digest[NP_HASH_HEX_LEN / 2];

    crypto_generichash(digest, sizeof(digest), data, len, NULL, 0);
    sodium_bin2hex(out, NP_HASH_HEX_LEN + 1, digest, sizeof(digest));
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
