/* msg.h - the envelope between workers and the acks from store to ingest
 *
 * Between workers a message is two ZeroMQ frames (docs/ARCHITECTURE.md, "Wire format"):
 *   1. the envelope, a small JSON object;
 *   2. the payload: for kind "article" the canonical article JSON written once by ingest and
 *      passed on byte for byte; for kind "rejected" the raw bytes the client sent.
 *
 * Envelope fields:
 *   v            1
 *   kind         "article" | "rejected"
 *   seq          ingest's journal sequence number (unsigned integer)
 *   origin       {"id": ingest instance id, "ack": endpoint store pushes acks to}
 *   received_at  ISO 8601 UTC with microseconds, when ingest accepted the message
 *   id           article id (kind "article")
 *   duplicate    true when ingest took an article with this id before (kind "article")
 *   stage, channel, reason, field   (kind "rejected": where and why it was refused;
 *                                    channel is "pull" or "router")
 *   classified_at, tags, entities, region, classifier   (added by classify)
 *
 * tags:     [{"name": "Oil", "score": 3.5, "classifier": "rules",
 *             "evidence": [{"phrase": "crude oil", "field": "body", "count": 3, "offset": 120}]}]
 * entities: [{"name": "China", "kind": "country", "mentions": 7}]
 *
 * An ack is one frame: a JSON array of the seqs store committed, e.g. [12,13,17].
 *
 * Every worker decodes and encodes an envelope per message, so both avoid Jansson: decoding
 * parses into a reusable np_json document (np/json.h) and borrows its strings; encoding writes
 * the text directly. Unknown envelope members are ignored, and not passed on by classify.
 */
#ifndef NP_MSG_H
#define NP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/err.h"
#include "np/json.h"

#define NP_MSG_VERSION  1
#define NP_ENVELOPE_MAX (256 * 1024) /* an envelope with tags and evidence */
#define NP_ACK_MAX_SEQS (100000)

enum np_msg_kind {
    NP_MSG_ARTICLE = 1,
    NP_MSG_REJECTED = 2,
};

/*
 * An envelope, decoded or about to be encoded. Strings are borrowed: from the np_json_doc given
 * to np_msg_decode(), or from the caller (and received_buf) for np_msg_new_*(). Optional fields
 * are NULL when absent.
 */
struct np_envelope {
    enum np_msg_kind kind;
    uint64_t seq;
    bool duplicate;          /* ingest took an article with this id before ("duplicate": true) */
    const char *id;          /* kind article */
    const char *origin_id;   /* always */
    const char *origin_ack;  /* always */
    const char *received_at; /* always */
    const char *stage;       /* kind rejected */
    const char *channel;     /* kind rejected */
    const char *reason;      /* kind rejected */
    const char *field;       /* kind rejected, may be "" */
    /* added by classify */
    const char *region;
    const char *classifier;
    const char *classified_at;
    const struct np_json *tags;     /* array, as sent (decoded envelopes only) */
    const struct np_json *entities; /* array, as sent (decoded envelopes only) */
    char received_buf[40];          /* np_msg_new_*(): received_at's text */
};

/* Who sent a message and where its acks go. Borrowed strings. */
struct np_origin {
    const char *id;
    const char *ack;
};

/*
 * Decodes frame 1 into *env, parsing into doc (np/json.h; env's strings live there until doc
 * is parsed again or freed). Returns 0; or NP_EPARSE, NP_EINVAL or NP_ETOOBIG with err naming
 * the bad field (env is then zeroed).
 */
int np_msg_decode(const void *buf, size_t len, struct np_json_doc *doc, struct np_envelope *env,
                  struct np_err *err);

/* Zeroes env. (An envelope owns nothing: kept so callers need not know that.) */
void np_msg_cleanup(struct np_envelope *env);

/*
 * Fills *env for an accepted article. received_at is microseconds since the epoch. id and
 * origin are borrowed. Returns 0.
 */
int np_msg_new_article(struct np_envelope *env, uint64_t seq, const char *id,
                       const struct np_origin *origin, int64_t received_at);

/*
 * Fills *env for input refused at `stage` ("ingest", "classify", "store") that came in on
 * `channel` ("pull", "router", or "pipeline" for a garbled message between workers). why gives
 * reason and field; it, origin, stage and channel are borrowed. Returns 0.
 */
int np_msg_new_rejected(struct np_envelope *env, uint64_t seq, const struct np_origin *origin,
                        int64_t received_at, const char *stage, const char *channel,
                        const struct np_err *why);

/*
 * Writes env as compact JSON into a new buffer (*out, free()) of *len bytes (no NUL counted):
 * every field set, then `members` when not NULL, the text of more members to add as is
 * ("\"tags\":[...],\"entities\":[...]", no leading comma; classify's result). Returns 0 or
 * NP_ENOMEM.
 */
int np_msg_encode(const struct np_envelope *env, const char *members, char **out, size_t *len);

/* Encodes seqs as a JSON array into a new buffer (*out, free()). Returns 0 or NP_ENOMEM. */
int np_msg_ack_encode(const uint64_t *seqs, size_t n, char **out, size_t *len);

/*
 * Decodes an ack frame into a new array (*seqs, free()) of *n seqs. Returns 0, or NP_EPARSE
 * when buf is not a JSON array of at most NP_ACK_MAX_SEQS unsigned integers.
 */
int np_msg_ack_decode(const void *buf, size_t len, uint64_t **seqs, size_t *n, struct np_err *err);

/* Current time in microseconds since the epoch (CLOCK_REALTIME). */
int64_t np_now_us(void);

#endif /* NP_MSG_H */
