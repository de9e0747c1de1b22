/* test_journal.c - ingest's journal: append, sync, recovery, torn tails, segment deletion */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest_journal.h"
#include "np/err.h"

struct replayed {
    uint64_t seqs[64];
    struct ingest_jpos pos[64];
    size_t n;
};

static int collect(void *ctx, uint64_t seq, const struct ingest_jpos *pos)
{
    struct replayed *r = ctx;

    if (r->n < 64) {
        r->seqs[r->n] = seq;
        r->pos[r->n] = *pos;
    }
    r->n++;
    return 0;
}

static int setup(void **state)
{
    char *dir = strdup("/tmp/np-test-journal-XXXXXX");

    if (dir == NULL || mkdtemp(dir) == NULL) {
        return -1;
    }
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
    free(*state);
    return system(cmd) == 0 ? 0 : -1;
}

static void append_n(struct ingest_journal *j, int n, struct ingest_jpos *pos)
{
    for (int i = 0; i < n; i++) {
        char env[32];
        char payload[64];
        uint64_t seq = ingest_journal_next_seq(j);

        snprintf(env, sizeof(env), "{\"seq\":%llu}", (unsigned long long)seq);
        snprintf(payload, sizeof(payload), "payload number %llu", (unsigned long long)seq);
        assert_int_equal(
            ingest_journal_append(j, seq, env, strlen(env), payload, strlen(payload), &pos[i]), 0);
    }
}

/* Path of the only (or first) segment file in dir. */
static void first_segment(const char *dir, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;

    assert_non_null(d);
    buf[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "seg-", 4) == 0 && (buf[0] == '\0' || strcmp(e->d_name, buf) < 0)) {
            snprintf(buf, len, "%s", e->d_name);
        }
    }
    closedir(d);
}

static size_t count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    size_t n = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, "seg-", 4) == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void test_append_reopen_replays(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[3];
    struct replayed r = { 0 };
    char instance[32];
    char *buf = NULL;
    size_t env_len = 0;
    size_t payload_len = 0;

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    snprintf(instance, sizeof(instance), "%s", ingest_journal_instance(j));
    assert_int_equal(strlen(instance), 16);
    assert_int_equal(ingest_journal_next_seq(j), 1);
    append_n(j, 3, pos);
    assert_true(ingest_journal_pending(j) > 0);
    assert_int_equal(ingest_journal_sync(j), 0);
    assert_int_equal(ingest_journal_pending(j), 0);
    ingest_journal_close(&j);
    assert_null(j);

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_string_equal(ingest_journal_instance(j), instance);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.seqs[0], 1);
    assert_int_equal(r.seqs[2], 3);
    assert_int_equal(ingest_journal_next_seq(j), 4);
    assert_int_equal(ingest_journal_read(j, &r.pos[1], &buf, &env_len, &payload_len), 0);
    assert_int_equal(env_len, strlen("{\"seq\":2}"));
    assert_memory_equal(buf, "{\"seq\":2}", env_len);
    assert_memory_equal(buf + env_len, "payload number 2", payload_len);
    free(buf);
    ingest_journal_close(&j);
}

static void test_torn_tail_is_cut(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[3];
    struct replayed r = { 0 };
    char name[300];
    char path[1024];
    struct stat st;

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 3, pos);
    ingest_journal_close(&j);
    first_segment(dir, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 5), 0); /* a write torn by a crash */

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(ingest_journal_next_seq(j), 3);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, pos[2].offset);
    /* New records go after the cut and survive the next recovery. */
    append_n(j, 1, pos);
    ingest_journal_close(&j);
    memset(&r, 0, sizeof(r));
    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.seqs[2], 3);
    ingest_journal_close(&j);
}

static void test_corrupt_record_is_not_replayed(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[3];
    struct replayed r = { 0 };
    char name[300];
    char path[1024];
    FILE *f = NULL;

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 3, pos);
    ingest_journal_close(&j);
    first_segment(dir, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(pos[1].offset + pos[1].len - 3), SEEK_SET), 0);
    assert_int_equal(fputc('X', f), 'X'); /* flip a payload byte of record 2 */
    fclose(f);

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 1);
    ingest_journal_close(&j);
}

static void test_done_segments_are_deleted(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[40];
    struct replayed r = { 0 };

    /* Tiny segments: a few records each. */
    assert_int_equal(ingest_journal_open(dir, 200, NULL, NULL, &j, NULL), 0);
    append_n(j, 40, pos);
    assert_int_equal(ingest_journal_sync(j), 0);
    assert_true(count_segments(dir) > 5);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ingest_journal_done(j, &pos[i]), 0);
    }
    /* Only the segment being written stays, so seqs continue after a restart. */
    assert_int_equal(count_segments(dir), 1);
    assert_true(ingest_journal_disk_bytes(j) <= 200);
    ingest_journal_close(&j);
    assert_int_equal(ingest_journal_open(dir, 200, collect, &r, &j, NULL), 0);
    assert_int_equal(ingest_journal_next_seq(j), 41);
    assert_true(r.n <= 3);
    ingest_journal_close(&j);
}

static void test_append_checks_seq(void **state)
{
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos;

    assert_int_equal(ingest_journal_open(*state, 1 << 20, NULL, NULL, &j, NULL), 0);
    assert_int_equal(ingest_journal_append(j, 5, "e", 1, "p", 1, &pos), NP_EINVAL);
    ingest_journal_close(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_reopen_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_is_not_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_segments_are_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_checks_seq, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
