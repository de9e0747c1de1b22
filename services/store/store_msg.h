/* store_msg.h - one message as store keeps it between the socket and the database
 *
 * A message is decoded once, when it arrives: the envelope and the article JSON are parsed and
 * turned straight into COPY text lines for the staging tables, then the JSON is released. What
 * stays is the lines, the raw payload (kept so a row PostgreSQL refuses can go to
 * rejected_messages byte for byte) and what the ack needs (origin, seq).
 */
#ifndef STORE_MSG_H
#define STORE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/json.h"

/* What store_db_write_batch() did with a message. */
enum store_outcome {
    STORE_PENDING = 0, /* not written yet */
    STORE_WRITTEN,     /* its rows are in the batch's transaction (inserted or already there) */
    STORE_DUPLICATE,   /* same article id as an earlier message of the batch: skipped */
    STORE_ISOLATED,    /* PostgreSQL refused its rows: stored in rejected_messages instead */
    STORE_DROPPED,     /* even its rejection could not be stored: logged and dropped */
};

/* Kinds of message store writes. */
enum store_msg_kind {
    STORE_MSG_ARTICLE = 1,  /* an article: rows for articles, article_tags, article_entities */
    STORE_MSG_REJECTED = 2, /* a rejection: one rejected_messages row */
};

/* A growable byte buffer; owns p. */
struct store_buf {
    char *p;
    size_t len;
    size_t cap;
};

/*
 * One decoded message. Every pointer is owned and freed by store_msg_destroy(). Text fields are
 * NUL-terminated UTF-8 without NUL bytes inside.
 */
struct store_msg {
    enum store_msg_kind kind;
    bool has_seq;                 /* false when the envelope was unreadable: nothing to ack */
    uint64_t seq;                 /* ingest's journal sequence number */
    char *origin_id;              /* ingest instance, or NULL */
    char *origin_ack;             /* its ack endpoint, or NULL */
    char *id;                     /* article id (kind article), else NULL */
    struct store_buf article_row; /* kind article: one COPY line for np_stage_articles */
    struct store_buf tag_rows;    /* kind article: zero or more lines for np_stage_tags */
    struct store_buf entity_rows; /* kind article: zero or more lines for np_stage_entities */
    /* kind rejected: the rejected_messages columns (NULL when unknown) */
    char *received_at;
    int64_t received_us; /* when ingest accepted it (microseconds), or NP_TIME_NONE */
    char *stage;
    char *channel;
    char *reason;
    char *field;
    char *sqlstate;
    unsigned char *raw; /* payload bytes (both kinds) */
    size_t raw_len;
    unsigned char *envelope; /* envelope bytes, kept only for rejections made by store */
    size_t envelope_len;
    /* Set by store_db_write_batch(). */
    enum store_outcome outcome;
    char db_sqlstate[6]; /* STORE_ISOLATED: the SQLSTATE PostgreSQL gave */
    char *db_error;      /* STORE_ISOLATED: its message (owned) */
};

/* Parse space store_msg_decode() reuses from message to message: one per reading thread. */
struct store_msg_scratch {
    struct np_json_doc envelope;
    struct np_json_doc article;
};

/* Releases a scratch's memory; it stays usable. */
void store_msg_scratch_free(struct store_msg_scratch *s);

/*
 * Decodes a message of nframes frames whose first two are env (the envelope) and payload
 * (payload NULL when nframes < 2). Never fails for bad input: a message that cannot be read
 * becomes a kind rejected message with stage "store", channel "pipeline" and the reason (with
 * seq and origin when the envelope was readable, so it can still be acked). Stores a new
 * message in *out (store_msg_destroy() it) and returns 0, or returns NP_ENOMEM.
 */
int store_msg_decode(const void *env, size_t env_len, const void *payload, size_t payload_len,
                     size_t nframes, struct store_msg_scratch *scratch, struct store_msg **out);

/* Frees a message and sets *mp to NULL. Accepts NULL. */
void store_msg_destroy(struct store_msg **mp);

/* Buffer helpers; each returns 0 or NP_ENOMEM. */
int store_buf_add(struct store_buf *b, const void *data, size_t len);

/* Appends s escaped for COPY text format (backslash, tab, newline, CR); NULL writes \N. */
int store_buf_add_field(struct store_buf *b, const char *s);

/* Appends len bytes as a COPY-escaped bytea field in hex form ("\\x0a1b..."). */
int store_buf_add_bytea(struct store_buf *b, const void *data, size_t len);

void store_buf_free(struct store_buf *b);

#endif /* STORE_MSG_H */
