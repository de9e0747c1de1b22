/* classify_match.h - the multi-pattern matcher of the rules classifier
 *
 * Three pieces, all built once at taxonomy load time and then only read:
 * - classify_intern: a string -> id table (the token vocabulary, phrase keys);
 * - classify_prefixes: the wildcard prefixes ("export*"), finding every prefix of a token;
 * - classify_ac: an Aho-Corasick automaton over integer symbols (token ids).
 * Symbol 0 is "unknown": no pattern contains it, so it always leads back to the root.
 */
#ifndef CLASSIFY_MATCH_H
#define CLASSIFY_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct classify_intern;

/* Returns a new empty table (classify_intern_destroy()) or NULL. */
struct classify_intern *classify_intern_new(void);

void classify_intern_destroy(struct classify_intern **ip);

/*
 * Looks s[0..len) up; when absent adds it with id new_id (> 0). Stores the id in *id and sets
 * *added. Returns 0 or NP_ENOMEM.
 */
int classify_intern_add(struct classify_intern *in, const char *s, size_t len, uint32_t new_id,
                        uint32_t *id, bool *added);

/* The id of s[0..len), or 0 when absent. */
uint32_t classify_intern_find(const struct classify_intern *in, const char *s, size_t len);

/* The same for a string whose classify_text_hash() is known (a token's hash), len > 0. s must
 * have 7 readable bytes after s[len - 1] (a token's normalised form in classify_tokens.norm has).
 */
uint32_t classify_intern_find_hashed(const struct classify_intern *in, const char *s, size_t len,
                                     uint64_t hash);

/* Number of strings held. */
size_t classify_intern_count(const struct classify_intern *in);

/* The longest string held, in bytes. */
size_t classify_intern_max_len(const struct classify_intern *in);

struct classify_prefixes;

/* Returns a new empty prefix set (classify_prefixes_destroy()) or NULL. */
struct classify_prefixes *classify_prefixes_new(void);

void classify_prefixes_destroy(struct classify_prefixes **pp);

/*
 * Adds the prefix s[0..len) (len > 0) with id new_id unless present. Stores its id in *id.
 * Returns 0 or NP_ENOMEM.
 */
int classify_prefixes_add(struct classify_prefixes *ps, const char *s, size_t len, uint32_t new_id,
                          uint32_t *id);

/*
 * Stores in ids[0..max) the ids of the prefixes s[0..len) starts with, shortest first, and
 * returns how many were stored. Costs at most one lookup per byte of the longest prefix.
 */
size_t classify_prefixes_find(const struct classify_prefixes *ps, const char *s, size_t len,
                              uint32_t *ids, size_t max);

/* Number of prefixes held. */
size_t classify_prefixes_count(const struct classify_prefixes *ps);

struct classify_ac;

/* Returns a new automaton with only the root (classify_ac_destroy()) or NULL. */
struct classify_ac *classify_ac_new(void);

void classify_ac_destroy(struct classify_ac **acp);

/*
 * Adds pattern syms[0..n) (n > 0, every symbol > 0) reporting `pattern`. Only before
 * classify_ac_compile(). Returns 0 or NP_ENOMEM.
 */
int classify_ac_add(struct classify_ac *ac, const uint32_t *syms, size_t n, uint32_t pattern);

/* Computes failure links and output lists; n_syms bounds the symbols used. 0 or NP_ENOMEM. */
int classify_ac_compile(struct classify_ac *ac, uint32_t n_syms);

/* The state after reading sym in state. State 0 is the root. */
uint32_t classify_ac_step(const struct classify_ac *ac, uint32_t state, uint32_t sym);

/*
 * The patterns that end in state (its own and those of its suffixes), as a borrowed array of
 * *n pattern ids valid as long as the automaton.
 */
const uint32_t *classify_ac_out(const struct classify_ac *ac, uint32_t state, size_t *n);

/* Number of states, root included. */
size_t classify_ac_states(const struct classify_ac *ac);

#endif /* CLASSIFY_MATCH_H */
