/* ingest_journal.h - ingest's write-ahead journal of accepted messages */
#ifndef INGEST_JOURNAL_H
#define INGEST_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/err.h"

struct ingest_journal;

/* Where a record lives: its segment (named by the segment's first seq) and byte range. */
struct ingest_jpos {
    uint64_t segment;
    uint64_t offset;
    uint32_t len; /* whole record, header included */
};

/* Called for each record found when the journal is opened (recovery) that was not
 * acknowledged. Return 0 to go on. */
typedef int (*ingest_replay_fn)(void *ctx, uint64_t seq, const struct ingest_jpos *pos);

/*
 * Opens (creating when needed) the journal in dir: reads or creates the instance id, scans the
 * segments in order, verifies every record's checksum and cuts a torn or corrupt tail (logged),
 * and calls replay for every intact record not acknowledged before, oldest first. segment_bytes is
 * the size at which a new segment starts. Returns 0 and a new journal in *out
 * (ingest_journal_close()), or NP_EIO / NP_ENOMEM with err saying what failed.
 */
int ingest_journal_open(const char *dir, size_t segment_bytes, ingest_replay_fn replay, void *ctx,
                        struct ingest_journal **out, struct np_err *err);

/* Closes the journal (syncing what is buffered) and sets *jp to NULL. Accepts NULL. */
void ingest_journal_close(struct ingest_journal **jp);

/* This journal's instance id (random, kept in dir/instance): borrowed, valid until close. */
const char *ingest_journal_instance(const struct ingest_journal *j);

/* The seq the next appended record must carry (last recovered seq + 1, or 1). */
uint64_t ingest_journal_next_seq(const struct ingest_journal *j);

/*
 * Appends a record of two parts (envelope and payload) to the write buffer; it is durable only
 * after ingest_journal_sync(). seq must be ingest_journal_next_seq(). Stores the record's place
 * in *pos. Returns 0, NP_ETOOBIG (record over 16 MiB) or NP_EIO.
 */
int ingest_journal_append(struct ingest_journal *j, uint64_t seq, const void *env, size_t env_len,
                          const void *payload, size_t payload_len, struct ingest_jpos *pos);

/* Writes the buffer out and fdatasync()s the segment. Returns 0 or NP_EIO. */
int ingest_journal_sync(struct ingest_journal *j);

/* Bytes appended but not yet synced. */
size_t ingest_journal_pending(const struct ingest_journal *j);

/*
 * Reads back the record at pos (for redelivery) into a new buffer *buf (free()): the envelope
 * is (*buf)[0..*env_len), the payload follows for *payload_len bytes. Verifies the checksum.
 * Returns 0, NP_EIO or NP_EPARSE (corrupt).
 */
int ingest_journal_read(struct ingest_journal *j, const struct ingest_jpos *pos, char **buf,
                        size_t *env_len, size_t *payload_len);

/*
 * Marks record seq at pos done (acknowledged), in any order. A segment whose records are all
 * done, and that is not the one being written, is deleted. The ack is durable only after
 * ingest_journal_sync_acks(). Returns 0, NP_ENOMEM or NP_EIO (unknown segment).
 */
int ingest_journal_done(struct ingest_journal *j, uint64_t seq, const struct ingest_jpos *pos);

/* Writes the acks collected since the last call and fdatasync()s them. Returns 0 or NP_EIO. */
int ingest_journal_sync_acks(struct ingest_journal *j);

/* Acks collected and not yet synced. */
size_t ingest_journal_acks_pending(const struct ingest_journal *j);

/* Records that ingest_journal_open() found acknowledged (and did not replay). */
uint64_t ingest_journal_recovered_acked(const struct ingest_journal *j);

/* Bytes of segment and acknowledgement files currently on disk. */
uint64_t ingest_journal_disk_bytes(const struct ingest_journal *j);

#endif /* INGEST_JOURNAL_H */
