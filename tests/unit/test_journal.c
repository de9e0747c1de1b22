/* test_journal.c - ingest's journal: append, sync, recovery, torn tails, segment deletion,
 * durable acknowledgements */
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
#include <sys/wait.h>
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
        size_t len = strlen(e->d_name);

        n += strncmp(e->d_name, "seg-", 4) == 0 && len > 4 &&
             strcmp(e->d_name + len - 4, ".log") == 0;
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

/* Flips a payload byte of the record at pos in the first segment's .log (the .ack file beside
 * it, when there is one, sorts first). */
static void corrupt_record(const char *dir, const struct ingest_jpos *pos)
{
    char name[300];
    char path[1024];
    FILE *f = NULL;

    first_segment(dir, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%.*s.log", dir, (int)(strlen(name) - 4), name);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(pos->offset + pos->len - 3), SEEK_SET), 0);
    assert_int_equal(fputc('X', f), 'X');
    fclose(f);
}

static void test_corrupt_record_is_not_replayed(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[3];
    struct replayed r = { 0 };

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 3, pos);
    ingest_journal_close(&j);
    corrupt_record(dir, &pos[1]);

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 1);
    ingest_journal_close(&j);
}

/* A cut record whose seq was acknowledged: its seq is not given again, or the next article with
 * it would be taken for acknowledged and never replayed. */
static void test_cut_acked_seqs_are_not_reused(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[5];
    struct replayed r = { 0 };

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 5, pos);
    assert_int_equal(ingest_journal_sync(j), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ingest_journal_done(j, (uint64_t)i + 1, &pos[i]), 0);
    }
    ingest_journal_close(&j);
    corrupt_record(dir, &pos[2]); /* records 3-5 are cut at the next open */

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(ingest_journal_next_seq(j), 6);
    append_n(j, 2, pos); /* seqs 6 and 7, never acknowledged */
    ingest_journal_close(&j);
    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seqs[0], 6);
    assert_int_equal(r.seqs[1], 7);
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
        assert_int_equal(ingest_journal_done(j, (uint64_t)i + 1, &pos[i]), 0);
    }
    /* Only the segment being written stays, so seqs continue after a restart. */
    assert_int_equal(count_segments(dir), 1);
    assert_true(ingest_journal_disk_bytes(j) <= 200);
    ingest_journal_close(&j);
    /* Its acks were synced on close: nothing is replayed. */
    assert_int_equal(ingest_journal_open(dir, 200, collect, &r, &j, NULL), 0);
    assert_int_equal(ingest_journal_next_seq(j), 41);
    assert_int_equal(r.n, 0);
    ingest_journal_close(&j);
}

/* Path of the .ack file beside the first segment. */
static void first_acks(const char *dir, char *path, size_t len)
{
    char name[300];

    first_segment(dir, name, sizeof(name));
    snprintf(path, len, "%s/%.*s.ack", dir, (int)(strlen(name) - 4), name);
}

static void test_acks_survive_reopen_out_of_order(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[10];
    struct replayed r = { 0 };
    static const int order[] = { 9, 2, 5, 1, 7 }; /* acked, as several store workers might */

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 10, pos);
    assert_int_equal(ingest_journal_sync(j), 0);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        assert_int_equal(ingest_journal_done(j, (uint64_t)order[i], &pos[order[i] - 1]), 0);
    }
    assert_int_equal(ingest_journal_acks_pending(j), 5);
    assert_int_equal(ingest_journal_sync_acks(j), 0);
    assert_int_equal(ingest_journal_acks_pending(j), 0);
    ingest_journal_close(&j);

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(ingest_journal_recovered_acked(j), 5);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.seqs[0], 3);
    assert_int_equal(r.seqs[1], 4);
    assert_int_equal(r.seqs[2], 6);
    assert_int_equal(r.seqs[3], 8);
    assert_int_equal(r.seqs[4], 10);
    /* The rest acked after the restart: nothing left to replay, seqs go on. */
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(ingest_journal_done(j, r.seqs[i], &r.pos[i]), 0);
    }
    ingest_journal_close(&j);
    memset(&r, 0, sizeof(r));
    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(ingest_journal_next_seq(j), 11);
    ingest_journal_close(&j);
}

/* A crash (the process ends without closing): acks not yet synced are lost, synced ones kept. */
static void test_unsynced_acks_are_replayed_after_a_crash(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[6];
    struct replayed r = { 0 };
    pid_t pid = 0;
    int status = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL) == 0;

        append_n(j, 6, pos);
        ok = ok && ingest_journal_sync(j) == 0;
        ok = ok && ingest_journal_done(j, 1, &pos[0]) == 0 &&
             ingest_journal_done(j, 4, &pos[3]) == 0;
        ok = ok && ingest_journal_sync_acks(j) == 0;
        ok = ok && ingest_journal_done(j, 2, &pos[1]) == 0; /* never synced */
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.seqs[0], 2);
    assert_int_equal(r.seqs[1], 3);
    assert_int_equal(r.seqs[2], 5);
    assert_int_equal(r.seqs[3], 6);
    ingest_journal_close(&j);
}

static void test_torn_acks_are_cut(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[4];
    struct replayed r = { 0 };
    char path[1024];
    struct stat st;
    FILE *f = NULL;

    assert_int_equal(ingest_journal_open(dir, 1 << 20, NULL, NULL, &j, NULL), 0);
    append_n(j, 4, pos);
    assert_int_equal(ingest_journal_sync(j), 0);
    assert_int_equal(ingest_journal_done(j, 1, &pos[0]), 0);
    assert_int_equal(ingest_journal_sync_acks(j), 0);
    assert_int_equal(ingest_journal_done(j, 2, &pos[1]), 0);
    assert_int_equal(ingest_journal_done(j, 3, &pos[2]), 0);
    assert_int_equal(ingest_journal_sync_acks(j), 0);
    ingest_journal_close(&j);
    first_acks(dir, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 12 + 8 + 12 + 16);
    assert_int_equal(truncate(path, st.st_size - 3), 0); /* the second record torn */
    f = fopen(path, "ab");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);

    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 3); /* 2 and 3 are sent again, never lost */
    assert_int_equal(r.seqs[0], 2);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 12 + 8);
    /* New acks go after the cut. */
    assert_int_equal(ingest_journal_done(j, 2, &r.pos[0]), 0);
    ingest_journal_close(&j);
    memset(&r, 0, sizeof(r));
    assert_int_equal(ingest_journal_open(dir, 1 << 20, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seqs[0], 3);
    ingest_journal_close(&j);
}

/* Out-of-order acks across many small segments: each segment goes once all of its records are
 * acked, so disk holds the segments with outstanding records plus the one being written. */
static void test_disk_follows_outstanding(void **state)
{
    const char *dir = *state;
    struct ingest_journal *j = NULL;
    struct ingest_jpos pos[60];
    struct replayed r = { 0 };
    char stray[1024];
    FILE *f = NULL;

    assert_int_equal(ingest_journal_open(dir, 200, NULL, NULL, &j, NULL), 0);
    append_n(j, 60, pos);
    assert_int_equal(ingest_journal_sync(j), 0);
    assert_true(count_segments(dir) > 10);
    /* Ack everything but seq 7, newest first. */
    for (int i = 59; i >= 0; i--) {
        if (i != 6) {
            assert_int_equal(ingest_journal_done(j, (uint64_t)i + 1, &pos[i]), 0);
        }
        if (i % 7 == 0) {
            assert_int_equal(ingest_journal_sync_acks(j), 0);
        }
    }
    assert_int_equal(count_segments(dir), 2); /* seq 7's segment and the one being written */
    assert_true(ingest_journal_disk_bytes(j) <= 2 * 200 + 2 * (12 + 8 * 4));
    ingest_journal_close(&j);
    /* An .ack left by a crash between the two unlinks of a deleted segment goes away. */
    snprintf(stray, sizeof(stray), "%s/seg-%020d.ack", dir, 3);
    f = fopen(stray, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(ingest_journal_open(dir, 200, collect, &r, &j, NULL), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 7);
    assert_int_equal(access(stray, F_OK), -1);
    assert_int_equal(ingest_journal_done(j, 7, &r.pos[0]), 0);
    assert_int_equal(count_segments(dir), 1);
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
        cmocka_unit_test_setup_teardown(test_cut_acked_seqs_are_not_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_segments_are_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_checks_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acks_survive_reopen_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_acks_are_replayed_after_a_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_acks_are_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_follows_outstanding, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
