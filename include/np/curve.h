/* curve.h - CURVE keys in files: read them, write them, never print them */
#ifndef NP_CURVE_H
#define NP_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#include "np/err.h"

/* A Z85-encoded CURVE key is 40 characters; with the NUL, 41. */
#define NP_CURVE_KEY_LEN 40

/*
 * A key pair file holds two lines, "public=<z85>" and "secret=<z85>" (newspipe-keygen writes
 * it with mode 0600); a public key file holds one Z85 key on its first line. Comments (#) and
 * blank lines are ignored.
 */

/*
 * Reads a key pair file into pub and sec (each NP_CURVE_KEY_LEN + 1 bytes). Refuses a file
 * that others can read (mode & 077) unless it is not a regular file we own. Returns 0, or
 * NP_EINVAL / NP_EIO with err naming the file and what is wrong (never the key).
 */
int np_curve_load_keypair(const char *path, char *pub, char *sec, struct np_err *err);

/* Reads a public key (a .pub file, or the public= line of a key pair file) into pub. */
int np_curve_load_public(const char *path, char *pub, struct np_err *err);

/*
 * Makes a new key pair and writes <base>.key (mode 0600) and <base>.pub. Returns 0 or NP_EIO;
 * refuses to overwrite existing files (NP_EINVAL).
 */
int np_curve_write_keypair(const char *base, struct np_err *err);

/* Overwrites a secret in memory (the compiler may not optimise it away). */
void np_curve_wipe(char *secret, size_t len);

/* A set of allowed client public keys. */
struct np_curve_allow;

/*
 * Loads allowed client keys from a public key file, or from every *.pub file of a folder.
 * Returns a new set (np_curve_allow_destroy()) or NULL with err saying why. An empty set is an
 * error: CURVE with nobody allowed is a misconfiguration.
 */
struct np_curve_allow *np_curve_allow_load(const char *path, struct np_err *err);

/* True when the 32-byte binary key is in the set. */
bool np_curve_allow_has(const struct np_curve_allow *a, const unsigned char key[32]);

/* Number of keys in the set. */
size_t np_curve_allow_count(const struct np_curve_allow *a);

/* Frees the set and sets *ap to NULL. Accepts NULL. */
void np_curve_allow_destroy(struct np_curve_allow **ap);

#endif /* NP_CURVE_H */
