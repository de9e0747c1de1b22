/* test_util.h - small helpers the test programs share */
#ifndef NP_TEST_UTIL_H
#define NP_TEST_UTIL_H

#include <stddef.h>

/* Reads a whole file into a new NUL-terminated buffer (free()); its size goes to *len when
 * len is not NULL. Returns NULL when the file cannot be read. */
char *t_slurp(const char *path, size_t *len);

#endif /* NP_TEST_UTIL_H */
