/* test_util.h - small helpers the test programs share */
#ifndef NP_TEST_UTIL_H
#define NP_TEST_UTIL_H

#include <stddef.h>

/* Reads a whole file into a new NUL-terminated buffer (free()); its size goes to *len when
 * len is not NULL. Returns NULL when the file cannot be read. */
char *t_slurp(const char *path, size_t *len);

/* The path of `name` under the shared data folder (NP_SHARED_DATA, else ../shared/data), or
 * NULL when it cannot be read: the caller then skips what needs it; a line on stderr says why.
 * With CI=true a missing file fails the running cmocka test instead (call it inside one). The
 * path is valid until the fourth next call. */
const char *t_shared(const char *name);

#endif /* NP_TEST_UTIL_H */
