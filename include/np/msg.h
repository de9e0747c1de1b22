/* msg.h - the envelope between workers and the acks from store to ingest
 *
 * Between workers a message is two ZeroMQ frames (DESIGN.md section 2):
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
 *   stage, channel, reason, field   (kind "rejected": where and why it was refused;
 *                                    channel is "pull" or "router")
 *   classified_at, tags, entities, region, classifier   (added by classify)
 *
 * tags:     [{"name": "Oil", "score": 3.5, "classifier": "rules",
 *             "evidence": [{"phrase": "crude oil", "field": "body", "count": 3, "offset": 120}]}]
 * entities: [{"name": "China", "kind": "country", "mentions": 7}]
 *
 * An ack is one frame: a JSON array of the seqs store committed, e.g. [12,13,17].
 */
#ifndef NP_MSG_H
#define NP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "np/err.h"

#define NP_MSG_VERSION  1
#define NP_ENVELOPE_MAX (256 * 1024) /* an envelope with tags and evidence */
#define NP_ACK_MAX_SEQS (100000)

enum np_msg_kind {
    NP_MSG_ARTICLE = 1,
    NP_MSG_REJECTED = 2,
};

/*
 * A decoded envelope. root is owned; every const char * is borrowed from root and valid until
 * np_msg_cleanup(). Optional fields are NULL when absent.
 */
struct np_envelope {
    json_t *root;
    enum np_msg_kind kind;
    uint64_t seq;
    const char *id;          /* kind article */
    const char *origin_id;   /* always */
    const char *origin_ack;  /* always */
    const char *received_at; /* always */
    const char *stage;       /* kind rejected */
    const char *channel;     /* kind rejected */
    const char *reason;      /* kind rejected */
    const char *field;       /* kind rejected, may be "" */
};

/* Who sent a message and where its acks go. Borrowed strings. */
struct np_origin {
    const char *id;
    const char *ack;
};

/*
 * Decodes frame 1. On success fills *env (release with np_msg_cleanup()) and returns 0;
 * returns NP_EPARSE or NP_EINVAL with err naming the bad field otherwise (env is then empty and
 * needs no cleanup).
 */
int np_msg_decode(const void *buf, size_t len, struct np_envelope *env, struct np_err *err);

/* Releases what np_msg_decode() or np_msg_new_*() put in env. Accepts an empty env. */
void np_msg_cleanup(struct np_envelope *env);

/*
 * Builds a new envelope for an accepted article into *env (np_msg_cleanup() it).
 * received_at is microseconds since the epoch. Returns 0 or NP_ENOMEM.
 */
int np_msg_new_article(struct np_envelope *env, uint64_t seq, const char *id,
                       const struct np_origin *origin, int64_t received_at);

/*
 * Builds a new envelope for input refused at `stage` ("ingest", "classify", "store") that came
 * in on `channel` ("pull", "router", or "pipeline" for a garbled message between workers).
 * why gives reason and field. Returns 0 or NP_ENOMEM.
 */
int np_msg_new_rejected(struct np_envelope *env, uint64_t seq, const struct np_origin *origin,
                        int64_t received_at, const char *stage, const char *channel,
                        const struct np_err *why);

/*
 * Serialises env->root compactly into a new buffer (*out, free()) of *len bytes (no NUL
 * counted). Returns 0 or NP_ENOMEM.
 */
int np_msg_encode(const struct np_envelope *env, char **out, size_t *len);

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
