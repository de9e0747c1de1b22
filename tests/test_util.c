/* test_util.c - small helpers the test programs share */
#include "test_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

char *t_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        n = ftell(f);
    }
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
    }
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL) {
            *len = (size_t)n;
        }
    }
    return buf;
}

const char *t_shared(const char *name)
{
    static char paths[4][4096];
    static unsigned next;
    const char *dir = getenv("NP_SHARED_DATA");
    const char *ci = getenv("CI");
    char *path = paths[next++ % 4];

    if (dir == NULL || dir[0] == '\0') {
        dir = "../shared/data";
    }
    snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
    if (access(path, R_OK) == 0) {
        return path;
    }
    if (ci != NULL && strcmp(ci, "true") == 0) {
        fail_msg("%s is missing and CI=true: the shared corpora must be present on CI (check "
                 "out ../shared beside the project, or set -DNP_SHARED_DATA)",
                 path);
    }
    fprintf(stderr,
            "skipped: %s is missing (the shared corpora sit in ../shared/data beside the "
            "checkout, or -DNP_SHARED_DATA=DIR); what needs it is not checked\n",
            path);
    return NULL;
}
