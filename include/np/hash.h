/* hash.h - content hashes (BLAKE2b from libsodium) as hex strings */
#ifndef NP_HASH_H
#define NP_HASH_H

#include <stddef.h>

/* Hex length of np_hash_hex()'s output, without the NUL. */
#define NP_HASH_HEX_LEN 32

/*
 * Writes the 128-bit BLAKE2b digest of data[0..len) as 32 lower-case hex digits and a NUL into
 * out (which needs NP_HASH_HEX_LEN + 1 bytes). Thread-safe.
 */
void np_hash_hex(const void *data, size_t len, char *out);

/* A fast 64-bit hash (not cryptographic) for in-memory tables whose keys a client does not
 * choose. */
unsigned long long np_hash64(const void *data, size_t len);

/* A secret key for np_hash64_keyed(). */
struct np_hash_key {
    unsigned char k[16];
};

/* Fills k with a new random key. */
void np_hash_key_new(struct np_hash_key *k);

/*
 * A 64-bit keyed hash (SipHash-2-4, libsodium's crypto_shorthash) for in-memory tables whose keys
 * come from clients: without the key, nobody can choose keys that pile up in one slot (or
 * collide outright) to slow the table down or make two keys one. Thread-safe.
 */
unsigned long long np_hash64_keyed(const struct np_hash_key *k, const void *data, size_t len);

#endif /* NP_HASH_H */
