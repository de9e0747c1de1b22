/* ingest_journal.c - ingest's write-ahead journal of accepted messages
 *
 * Every message ingest accepts (articles, and rejected input that must still reach
 * rejected_messages) is appended here and fdatasync()ed before the client hears "accepted" and
 * before it is forwarded, so a crash at any point loses nothing that was acknowledged.
 *
 * Layout: dir/instance holds this journal's random instance id; dir/seg-<first seq>.log are
 * append-only segments. A record is
 *
 *     u32 magic "NPJ1" | u32 body length | u32 CRC-32 of body | body
 *     body = u64 seq | u32 envelope length | envelope | payload
 *
 * integers little-endian. On open, every segment is read through and each record's magic,
 * length, checksum and seq order are checked; the first bad record ends the segment: the tail
 * from there is cut (ftruncate) and logged, never replayed as garbage. A torn write can only be
 * the last thing in the last segment, but the same rule also contains a corrupt block elsewhere.
 *
 * Acknowledgements are durable. Beside each segment, dir/seg-<first seq>.ack lists the seqs of
 * that segment store has acknowledged, as append-only records
 *
 *     u32 magic "NPA1" | u32 count | u32 CRC-32 of the seqs | count x u64 seq
 *
 * ingest_journal_done() collects acks in memory; ingest_journal_sync_acks() (ingest calls it
 * every ack_sync_ms, and on a clean stop) writes one record per segment that got acks and
 * fdatasync()s it. Acks may come in any order, from any number of store workers. On open, a
 * segment's record is replayed only when its seq is not in its .ack file, so after a restart
 * ingest sends again only what was never acknowledged, plus at most the acks of the last
 * ack_sync_ms before a crash (a clean stop syncs them: nothing is sent again). A torn or corrupt
 * tail of an .ack file is cut like a segment's; the acks it held are sent again, never lost.
 *
 * Disk: a segment whose records are all acknowledged is deleted while running (its .log first,
 * then its .ack: a crash in between leaves an .ack without a .log, removed at the next open, and
 * never a .log without its acks), so the journal holds the segments with outstanding records
 * plus the one being written. The segment being written is never deleted, so the last seq
 * survives even when everything was acknowledged: seqs never go backwards for one instance id,
 * which rejected_messages relies on. An .ack file holds 8 bytes per acknowledged record (a
 * record is at least ~30 bytes, a few KiB for an article), so it stays a small fraction of its
 * segment.
 *
 * Rejected: one file per record (too many inodes and fsyncs), an embedded database (a
 * dependency for an append-only log), ack records inline in the segments (an ack lands in a
 * later segment than its record, which could then be deleted first and resurrect what it
 * acknowledged), a checkpoint of the lowest unacknowledged seq (with several classify workers
 * acks arrive out of order: one slow record would hold back, and re-send, everything after it).
 */
#include "ingest_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "np/buf.h"
#include "np/log.h"

#define REC_MAGIC    0x314A504EU /* "NPJ1" read as little-endian */
#define REC_HEAD     12          /* magic, body length, crc */
#define BODY_HEAD    12          /* seq, envelope length */
#define REC_BODY_MAX (16U * 1024 * 1024)
#define INSTANCE_LEN 16
#define PATH_LEN     4096

#define ACK_MAGIC 0x3141504EU /* "NPA1" read as little-endian */
#define ACK_HEAD  12          /* magic, count, crc */

struct segment {
    uint64_t first; /* seq of the first record: names the file */
    int fd;
    uint64_t size;    /* bytes on disk (synced or written) */
    uint64_t records; /* records in the file */
    uint64_t done;    /* records acknowledged */
    int ack_fd;       /* the .ack file, -1 until it exists */
    uint64_t ack_size;
    uint64_t *acks; /* owned: acks not yet written to the .ack file */
    size_t nacks;
    size_t acks_cap;
};

struct ingest_journal {
    char dir[PATH_LEN];
    char instance[INSTANCE_LEN + 1];
    size_t segment_bytes;
    uint64_t next_seq;
    struct segment *segs; /* owned, oldest first; the last one is being written */
    size_t nsegs;
    size_t cap;
    struct np_buf buf;        /* owned write buffer: whole records appended but not yet written */
    size_t acks_pending;      /* acks collected and not yet synced, over all segments */
    uint64_t recovered_acked; /* records found acknowledged when opened */
};

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t checksum(const void *p, size_t len)
{
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, len);
}

static void seg_path(const struct ingest_journal *j, uint64_t first, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg-%020" PRIu64 ".log", j->dir, first);
}

static void ack_path(const struct ingest_journal *j, uint64_t first, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg-%020" PRIu64 ".ack", j->dir, first);
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = 0;

    if (fd < 0) {
        return NP_EIO;
    }
    if (fsync(fd) != 0) {
        rc = NP_EIO;
    }
    close(fd);
    return rc;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return NP_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    size_t put = 0;

    while (put < len) {
        ssize_t w = write(fd, (const char *)buf + put, len - put);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return NP_EIO;
        }
        put += (size_t)w;
    }
    return 0;
}

static int load_instance(struct ingest_journal *j, struct np_err *err)
{
    char path[PATH_LEN + 16];
    unsigned char rnd[INSTANCE_LEN / 2];
    FILE *f = NULL;
    int fd = -1;

    snprintf(path, sizeof(path), "%s/instance", j->dir);
    f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(j->instance, 1, INSTANCE_LEN, f);

        fclose(f);
        j->instance[n] = '\0';
        if (n == INSTANCE_LEN && strspn(j->instance, "0123456789abcdef") == INSTANCE_LEN) {
            return 0;
        }
        np_log_warn("journal instance file is damaged: starting a new instance path=\"%s\"", path);
    }
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read_full(fd, rnd, sizeof(rnd), 0) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return np_err_set(err, NP_EIO, "journal", "cannot read /dev/urandom");
    }
    close(fd);
    for (size_t i = 0; i < sizeof(rnd); i++) {
        snprintf(j->instance + 2 * i, 3, "%02x", rnd[i]);
    }
    f = fopen(path, "w");
    if (f == NULL || fputs(j->instance, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return np_err_set(err, NP_EIO, "journal", "cannot write \"%s\": %s", path, strerror(errno));
    }
    fclose(f);
    return sync_dir(j->dir);
}

static int add_segment(struct ingest_journal *j, uint64_t first, int fd, uint64_t size)
{
    if (j->nsegs == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 8;
        struct segment *s = realloc(j->segs, cap * sizeof(*s));

        if (s == NULL) {
            return NP_ENOMEM;
        }
        j->segs = s;
        j->cap = cap;
    }
    j->segs[j->nsegs++] = (struct segment){ .first = first, .fd = fd, .size = size, .ack_fd = -1 };
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Lists the seg-*.<ext> files of dir into a new sorted array of first seqs. */
static int list_segments(const char *dir, const char *ext, uint64_t **out, size_t *n,
                         struct np_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    uint64_t *firsts = NULL;
    size_t len = 0;
    size_t cap = 0;

    if (d == NULL) {
        return np_err_set(err, NP_EIO, "journal", "cannot open \"%s\": %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        unsigned long long first = 0;
        char tail[8] = "";

        if (sscanf(e->d_name, "seg-%20llu.%4s", &first, tail) != 2 || strcmp(tail, ext) != 0) {
            continue;
        }
        if (len == cap) {
            uint64_t *f = realloc(firsts, (cap ? 2 * cap : 16) * sizeof(*f));

            if (f == NULL) {
                free(firsts);
                closedir(d);
                return np_err_set(err, NP_ENOMEM, "journal", "out of memory");
            }
            firsts = f;
            cap = cap ? 2 * cap : 16;
        }
        firsts[len++] = first;
    }
    closedir(d);
    if (len > 0) {
        qsort(firsts, len, sizeof(*firsts), cmp_u64);
    }
    *out = firsts;
    *n = len;
    return 0;
}

/*
 * Reads segment s's .ack file, when there is one, into a new sorted array *out of *n seqs
 * (free()), cutting a torn or corrupt tail, and keeps it open in s->ack_fd for appending.
 */
static int load_acks(struct ingest_journal *j, struct segment *s, uint64_t **out, size_t *n)
{
    char path[PATH_LEN + 64];
    unsigned char *buf = NULL;
    uint64_t *seqs = NULL;
    size_t len = 0;
    size_t off = 0;
    struct stat st;
    size_t size = 0;
    int fd = -1;
    int rc = 0;

    *out = NULL;
    *n = 0;
    ack_path(j, s->first, path, sizeof(path));
    fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 0 : NP_EIO;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NP_EIO;
    }
    size = st.st_size > 0 ? (size_t)st.st_size : 0;
    buf = malloc(size + 1);
    seqs = malloc((size / 8 + 1) * sizeof(*seqs));
    if (buf == NULL || seqs == NULL) {
        rc = NP_ENOMEM;
        goto out;
    }
    if (size > 0 && read_full(fd, buf, size, 0) != 0) {
        rc = NP_EIO;
        goto out;
    }
    while (size - off >= ACK_HEAD) {
        uint32_t count = get32(buf + off + 4);

        if (get32(buf + off) != ACK_MAGIC || count == 0 ||
            (uint64_t)count * 8 > size - off - ACK_HEAD ||
            checksum(buf + off + ACK_HEAD, (size_t)count * 8) != get32(buf + off + 8)) {
            break;
        }
        for (uint32_t i = 0; i < count; i++) {
            seqs[len++] = get64(buf + off + ACK_HEAD + 8 * (size_t)i);
        }
        off += ACK_HEAD + (size_t)count * 8;
    }
    if (off < size) {
        np_log_warn("journal: torn or corrupt acknowledgements, cutting the tail (those records "
                    "will be sent again) segment=%" PRIu64 " offset=%" PRIu64 " bytes_cut=%" PRIu64,
                    s->first, (uint64_t)off, (uint64_t)(size - off));
        if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0) {
            rc = NP_EIO;
            goto out;
        }
    }
    if (len > 0) {
        qsort(seqs, len, sizeof(*seqs), cmp_u64);
    }
    s->ack_fd = fd;
    s->ack_size = off;
    fd = -1;
    *out = seqs;
    *n = len;
    seqs = NULL;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    free(seqs);
    return rc;
}

/*
 * Reads one segment through, replaying intact records that are not acknowledged and cutting the
 * tail at the first bad one. Updates j->next_seq.
 */
static int recover_segment(struct ingest_journal *j, struct segment *s, ingest_replay_fn replay,
                           void *ctx)
{
    uint64_t *acked = NULL;
    size_t nacked = 0;
    size_t a = 0;
    unsigned char head[REC_HEAD + BODY_HEAD];
    struct np_buf rec = { 0 }; /* the record being read: grows to the largest one */
    char *body = NULL;
    uint64_t off = 0;
    const char *why = NULL;
    int rc = load_acks(j, s, &acked, &nacked);

    if (rc != 0) {
        goto out;
    }
    while (off < s->size) {
        uint32_t body_len = 0;
        uint64_t seq = 0;

        if (s->size - off < sizeof(head) || read_full(s->fd, head, sizeof(head), off) != 0) {
            why = "torn record header";
            break;
        }
        body_len = get32(head + 4);
        if (get32(head) != REC_MAGIC || body_len < BODY_HEAD || body_len > REC_BODY_MAX ||
            s->size - off - REC_HEAD < body_len) {
            why = get32(head) != REC_MAGIC ? "bad record magic" : "torn or oversized record";
            break;
        }
        if (!np_buf_reserve(&rec, body_len)) {
            rc = NP_ENOMEM;
            goto out;
        }
        body = rec.p;
        if (read_full(s->fd, body, body_len, off + REC_HEAD) != 0 ||
            checksum(body, body_len) != get32(head + 8)) {
            why = "checksum mismatch";
            break;
        }
        seq = get64((const unsigned char *)body);
        if (seq < j->next_seq || get32((const unsigned char *)body + 8) > body_len - BODY_HEAD) {
            why = "sequence or length out of order";
            break;
        }
        j->next_seq = seq + 1;
        s->records++;
        while (a < nacked && acked[a] < seq) {
            a++;
        }
        if (a < nacked && acked[a] == seq) {
            s->done++;
            j->recovered_acked++;
        } else if (replay != NULL) {
            struct ingest_jpos pos = { s->first, off, REC_HEAD + body_len };

            rc = replay(ctx, seq, &pos);
            if (rc != 0) {
                goto out;
            }
        }
        off += REC_HEAD + body_len;
    }
    if (why != NULL) {
        np_log_warn("journal: %s, cutting segment tail segment=%" PRIu64 " offset=%" PRIu64
                    " bytes_cut=%" PRIu64,
                    why, s->first, off, s->size - off);
        if (ftruncate(s->fd, (off_t)off) != 0 || fdatasync(s->fd) != 0) {
            rc = NP_EIO;
            goto out;
        }
        s->size = off;
    }
    /* Seqs never go back, even past a cut: the .ack file may name seqs of records cut just now,
     * and a new article given one of them would be taken for acknowledged (skipped at the next
     * replay, its slot freed by a late ack of the old one). */
    if (nacked > 0 && acked[nacked - 1] >= j->next_seq) {
        j->next_seq = acked[nacked - 1] + 1;
    }
out:
    free(acked);
    np_buf_cleanup(&rec);
    return rc;
}

/* Creates a new, empty segment whose first record will carry j->next_seq. */
static int start_segment(struct ingest_journal *j)
{
    char path[PATH_LEN + 64];
    int fd = -1;

    seg_path(j, j->next_seq, path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        np_log_error("could not create journal segment: %s path=\"%s\"", strerror(errno), path);
        return NP_EIO;
    }
    if (ftruncate(fd, 0) != 0 || add_segment(j, j->next_seq, fd, 0) != 0) {
        close(fd);
        return NP_EIO;
    }
    return sync_dir(j->dir);
}

/* Deletes segment i: its records first, then its acknowledgements (see the top). */
static void drop_segment(struct ingest_journal *j, size_t i)
{
    char path[PATH_LEN + 64];
    struct segment *s = &j->segs[i];

    seg_path(j, s->first, path, sizeof(path));
    close(s->fd);
    if (unlink(path) != 0) {
        np_log_warn("could not delete journal segment: %s path=\"%s\"", strerror(errno), path);
    }
    if (s->ack_fd >= 0) {
        close(s->ack_fd);
        ack_path(j, s->first, path, sizeof(path));
        if (unlink(path) != 0) {
            np_log_warn("could not delete journal acks: %s path=\"%s\"", strerror(errno), path);
        }
    }
    j->acks_pending -= s->nacks;
    free(s->acks);
    memmove(&j->segs[i], &j->segs[i + 1], (j->nsegs - i - 1) * sizeof(*j->segs));
    j->nsegs--;
}

/* Removes .ack files whose segment is gone (a crash between the two unlinks). */
static int remove_stray_acks(struct ingest_journal *j, const uint64_t *firsts, size_t n,
                             struct np_err *err)
{
    uint64_t *acks = NULL;
    size_t nacks = 0;
    int rc = list_segments(j->dir, "ack", &acks, &nacks, err);

    for (size_t i = 0; rc == 0 && i < nacks; i++) {
        char path[PATH_LEN + 64];

        if (n > 0 && bsearch(&acks[i], firsts, n, sizeof(*firsts), cmp_u64) != NULL) {
            continue;
        }
        ack_path(j, acks[i], path, sizeof(path));
        np_log_info("journal: removing acknowledgements of a deleted segment path=\"%s\"", path);
        if (unlink(path) != 0) {
            rc = np_err_set(err, NP_EIO, "journal", "cannot delete \"%s\": %s", path,
                            strerror(errno));
        }
    }
    free(acks);
    return rc;
}

static int open_segments(struct ingest_journal *j, ingest_replay_fn replay, void *ctx,
                         struct np_err *err)
{
    uint64_t *firsts = NULL;
    size_t n = 0;
    int rc = list_segments(j->dir, "log", &firsts, &n, err);

    if (rc == 0) {
        rc = remove_stray_acks(j, firsts, n, err);
    }

    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[PATH_LEN + 64];
        struct stat st;
        int fd = -1;

        seg_path(j, firsts[i], path, sizeof(path));
        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            rc =
                np_err_set(err, NP_EIO, "journal", "cannot open \"%s\": %s", path, strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            break;
        }
        if (j->next_seq < firsts[i]) {
            j->next_seq = firsts[i];
        }
        rc = add_segment(j, firsts[i], fd, (uint64_t)st.st_size);
        if (rc != 0) {
            close(fd);
            break;
        }
        rc = recover_segment(j, &j->segs[j->nsegs - 1], replay, ctx);
        if (rc != 0) {
            np_err_set(err, rc, "journal", "cannot recover \"%s\"", path);
        }
    }
    free(firsts);
    /* Segments other than the last with nothing outstanding hold nothing to keep. */
    for (size_t i = 0; rc == 0 && j->nsegs > 1 && i + 1 < j->nsegs;) {
        if (j->segs[i].done >= j->segs[i].records) {
            drop_segment(j, i);
        } else {
            i++;
        }
    }
    return rc;
}

int ingest_journal_open(const char *dir, size_t segment_bytes, ingest_replay_fn replay, void *ctx,
                        struct ingest_journal **out, struct np_err *err)
{
    struct ingest_journal *j = calloc(1, sizeof(*j));
    int rc = 0;

    if (j == NULL) {
        return np_err_set(err, NP_ENOMEM, "journal", "out of memory");
    }
    if (strlen(dir) >= sizeof(j->dir)) {
        free(j);
        return np_err_set(err, NP_EINVAL, "journal", "path too long");
    }
    snprintf(j->dir, sizeof(j->dir), "%s", dir);
    j->segment_bytes = segment_bytes;
    j->next_seq = 1;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = np_err_set(err, NP_EIO, "journal", "cannot create \"%s\": %s", dir, strerror(errno));
        goto out;
    }
    rc = load_instance(j, err);
    if (rc == 0) {
        rc = open_segments(j, replay, ctx, err);
    }
    if (rc == 0 && j->nsegs == 0) {
        rc = start_segment(j);
        if (rc != 0) {
            np_err_set(err, rc, "journal", "cannot create a segment in \"%s\"", dir);
        }
    }
out:
    if (rc != 0) {
        ingest_journal_close(&j);
        return rc;
    }
    *out = j;
    return 0;
}

void ingest_journal_close(struct ingest_journal **jp)
{
    struct ingest_journal *j = jp != NULL ? *jp : NULL;

    if (j == NULL) {
        return;
    }
    if (j->buf.len > 0 && ingest_journal_sync(j) != 0) {
        np_log_error("could not sync the journal on close: %s", strerror(errno));
    }
    if (j->acks_pending > 0 && ingest_journal_sync_acks(j) != 0) {
        np_log_error("could not sync the acknowledgements on close: %s", strerror(errno));
    }
    for (size_t i = 0; i < j->nsegs; i++) {
        close(j->segs[i].fd);
        if (j->segs[i].ack_fd >= 0) {
            close(j->segs[i].ack_fd);
        }
        free(j->segs[i].acks);
    }
    free(j->segs);
    np_buf_cleanup(&j->buf);
    free(j);
    *jp = NULL;
}

const char *ingest_journal_instance(const struct ingest_journal *j)
{
    return j->instance;
}

uint64_t ingest_journal_next_seq(const struct ingest_journal *j)
{
    return j->next_seq;
}

size_t ingest_journal_pending(const struct ingest_journal *j)
{
    return j->buf.len;
}

int ingest_journal_sync(struct ingest_journal *j)
{
    struct segment *s = &j->segs[j->nsegs - 1];

    if (j->buf.len > 0) {
        if (write_full(s->fd, j->buf.p, j->buf.len) != 0) {
            np_log_error("could not write the journal: %s segment=%" PRIu64, strerror(errno),
                         s->first);
            return NP_EIO;
        }
        s->size += j->buf.len;
        np_buf_reset(&j->buf);
    }
    if (fdatasync(s->fd) != 0) {
        np_log_error("could not sync the journal: %s segment=%" PRIu64, strerror(errno), s->first);
        return NP_EIO;
    }
    return 0;
}

int ingest_journal_append(struct ingest_journal *j, uint64_t seq, const void *env, size_t env_len,
                          const void *payload, size_t payload_len, struct ingest_jpos *pos)
{
    size_t body_len = BODY_HEAD + env_len + payload_len;
    struct segment *s = &j->segs[j->nsegs - 1];
    unsigned char *p = NULL;
    int rc = 0;

    if (seq != j->next_seq) {
        return NP_EINVAL;
    }
    if (body_len > REC_BODY_MAX) {
        return NP_ETOOBIG;
    }
    if (s->records > 0 && s->size + j->buf.len + REC_HEAD + body_len > j->segment_bytes) {
        /* Make the old segment durable before records start landing in the new one. */
        rc = ingest_journal_sync(j);
        if (rc == 0) {
            rc = start_segment(j);
        }
        if (rc != 0) {
            return rc;
        }
        /* The old segment may already be fully acknowledged: nothing will call done() on it. */
        if (j->segs[j->nsegs - 2].done >= j->segs[j->nsegs - 2].records) {
            drop_segment(j, j->nsegs - 2);
        }
        s = &j->segs[j->nsegs - 1];
    }
    if (!np_buf_reserve(&j->buf, REC_HEAD + body_len)) {
        j->buf.failed = false; /* nothing of this record was written: the buffer stays whole */
        return NP_ENOMEM;
    }
    p = (unsigned char *)j->buf.p + j->buf.len;
    put32(p, REC_MAGIC);
    put32(p + 4, (uint32_t)body_len);
    put64(p + REC_HEAD, seq);
    put32(p + REC_HEAD + 8, (uint32_t)env_len);
    memcpy(p + REC_HEAD + BODY_HEAD, env, env_len);
    if (payload_len > 0) {
        memcpy(p + REC_HEAD + BODY_HEAD + env_len, payload, payload_len);
    }
    put32(p + 8, checksum(p + REC_HEAD, body_len));
    pos->segment = s->first;
    pos->offset = s->size + j->buf.len;
    pos->len = (uint32_t)(REC_HEAD + body_len);
    j->buf.len += REC_HEAD + body_len;
    s->records++;
    j->next_seq = seq + 1;
    return 0;
}

static struct segment *find_segment(struct ingest_journal *j, uint64_t first, size_t *idx)
{
    for (size_t i = 0; i < j->nsegs; i++) {
        if (j->segs[i].first == first) {
            *idx = i;
            return &j->segs[i];
        }
    }
    return NULL;
}

int ingest_journal_read(struct ingest_journal *j, const struct ingest_jpos *pos, char **buf,
                        size_t *env_len, size_t *payload_len)
{
    size_t idx = 0;
    struct segment *s = find_segment(j, pos->segment, &idx);
    unsigned char *rec = NULL;
    uint32_t body_len = 0;
    uint32_t elen = 0;

    if (s == NULL || pos->len < REC_HEAD + BODY_HEAD) {
        return NP_EIO;
    }
    if (pos->offset + pos->len > s->size && ingest_journal_sync(j) != 0) {
        return NP_EIO; /* still in the write buffer: write it out first */
    }
    rec = malloc(pos->len);
    if (rec == NULL) {
        return NP_ENOMEM;
    }
    if (read_full(s->fd, rec, pos->len, pos->offset) != 0) {
        free(rec);
        return NP_EIO;
    }
    body_len = get32(rec + 4);
    elen = get32(rec + REC_HEAD + 8);
    if (get32(rec) != REC_MAGIC || body_len != pos->len - REC_HEAD ||
        checksum(rec + REC_HEAD, body_len) != get32(rec + 8) || elen > body_len - BODY_HEAD) {
        free(rec);
        return NP_EPARSE;
    }
    /* Hand back the body without the headers: move it to the front of the buffer. */
    memmove(rec, rec + REC_HEAD + BODY_HEAD, body_len - BODY_HEAD);
    *buf = (char *)rec;
    *env_len = elen;
    *payload_len = body_len - BODY_HEAD - elen;
    return 0;
}

int ingest_journal_done(struct ingest_journal *j, uint64_t seq, const struct ingest_jpos *pos)
{
    size_t idx = 0;
    struct segment *s = find_segment(j, pos->segment, &idx);

    if (s == NULL) {
        return NP_EIO;
    }
    s->done++;
    if (s->done >= s->records && idx + 1 < j->nsegs) {
        drop_segment(j, idx); /* nothing left to remember about it */
        return 0;
    }
    if (s->nacks == s->acks_cap) {
        size_t cap = s->acks_cap ? 2 * s->acks_cap : 1024;
        uint64_t *a = realloc(s->acks, cap * sizeof(*a));

        if (a == NULL) {
            s->done--;
            return NP_ENOMEM;
        }
        s->acks = a;
        s->acks_cap = cap;
    }
    s->acks[s->nacks++] = seq;
    j->acks_pending++;
    return 0;
}

/* Writes segment s's collected acks as one record; sets *created when the file is new. */
static int write_acks(struct ingest_journal *j, struct segment *s, bool *created)
{
    size_t len = ACK_HEAD + s->nacks * 8;
    unsigned char *rec = malloc(len);
    int rc = 0;

    if (rec == NULL) {
        return NP_ENOMEM;
    }
    if (s->ack_fd < 0) {
        char path[PATH_LEN + 64];

        ack_path(j, s->first, path, sizeof(path));
        s->ack_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (s->ack_fd < 0) {
            np_log_error("could not create journal acks: %s path=\"%s\"", strerror(errno), path);
            free(rec);
            return NP_EIO;
        }
        *created = true;
    }
    put32(rec, ACK_MAGIC);
    put32(rec + 4, (uint32_t)s->nacks);
    for (size_t i = 0; i < s->nacks; i++) {
        put64(rec + ACK_HEAD + 8 * i, s->acks[i]);
    }
    put32(rec + 8, checksum(rec + ACK_HEAD, s->nacks * 8));
    if (write_full(s->ack_fd, rec, len) != 0 || fdatasync(s->ack_fd) != 0) {
        np_log_error("could not write journal acks: %s segment=%" PRIu64, strerror(errno),
                     s->first);
        rc = NP_EIO;
    } else {
        s->ack_size += len;
        j->acks_pending -= s->nacks;
        s->nacks = 0;
    }
    free(rec);
    return rc;
}

int ingest_journal_sync_acks(struct ingest_journal *j)
{
    bool created = false;

    for (size_t i = 0; i < j->nsegs; i++) {
        if (j->segs[i].nacks > 0) {
            int rc = write_acks(j, &j->segs[i], &created);

            if (rc != 0) {
                return rc;
            }
        }
    }
    return created ? sync_dir(j->dir) : 0;
}

size_t ingest_journal_acks_pending(const struct ingest_journal *j)
{
    return j->acks_pending;
}

uint64_t ingest_journal_recovered_acked(const struct ingest_journal *j)
{
    return j->recovered_acked;
}

uint64_t ingest_journal_disk_bytes(const struct ingest_journal *j)
{
    uint64_t total = 0;

    for (size_t i = 0; i < j->nsegs; i++) {
        total += j->segs[i].size + j->segs[i].ack_size;
    }
    return total;
}
