/* store_msg.h - one message as store keeps it between the socket and its sink
 *
 * A message is decoded once, when it arrives: the envelope and the article JSON are parsed and
 * turned into rows of typed values (the article's row, its tags' and its entities' rows), then
 * the JSON is released. The rows know nothing of where they go: a sink (store_sink.h) writes
 * them. What stays besides is the raw payload (kept so a row the sink refuses can become a
 * rejection byte for byte) and what the ack needs (origin, seq).
 */
#ifndef STORE_MSG_H
#define STORE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/json.h"

/* What the sink did with a message. */
enum store_outcome {
    STORE_PENDING = 0, /* not written (yet, or left for redelivery): never acknowledged */
    STORE_WRITTEN,     /* its rows are in the batch's transaction (inserted or already there) */
    STORE_DUPLICATE,   /* same article id as an earlier message of the batch: skipped */
    STORE_ISOLATED,    /* the sink refused its rows: stored as a rejection instead */
    STORE_DROPPED,     /* even its rejection could not be stored: logged and dropped */
};

/* Kinds of message store writes. */
enum store_msg_kind {
    STORE_MSG_ARTICLE = 1,  /* an article: rows for articles, article_tags, article_entities */
    STORE_MSG_REJECTED = 2, /* a rejection: one rejected_messages row */
};

/* How a column's value is to be read; every value is carried as UTF-8 text. */
enum store_type {
    STORE_TEXT,  /* text */
    STORE_TIME,  /* a UTC time, "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" */
    STORE_TEXTS, /* a list of texts (items, n) */
    STORE_JSON,  /* a JSON document */
    STORE_INT,   /* a decimal integer (64-bit) */
    STORE_REAL,  /* a decimal number */
    STORE_BOOL,  /* "t" or "f" */
};

/* One column of a table store writes. */
struct store_column {
    const char *name;
    enum store_type type;
    bool empty_default; /* an absent value means empty ('{}', "{}"), not unknown */
};

/* A table store writes: its name and columns, in the order of a row's values. */
struct store_table {
    const char *name;
    const struct store_column *cols;
    size_t ncols;
};

/* The tables an article message has rows for. The article row's columns are derived from the
 * article's field table (np/article.h) plus what store and classify add. */
extern const struct store_table store_articles;
extern const struct store_table store_article_tags;
extern const struct store_table store_article_entities;

/* One value of a row. */
struct store_value {
    const char *s;            /* scalar types: the text, or NULL when absent */
    const char *const *items; /* STORE_TEXTS: n items (NULL when absent) */
    size_t n;
};

struct store_arena_block; /* store_msg.c */

/*
 * One decoded message. Every pointer is owned and freed by store_msg_destroy(); the rows'
 * values live in the message's arena. Text is NUL-terminated UTF-8 without NUL bytes inside.
 */
struct store_msg {
    enum store_msg_kind kind;
    bool has_seq;     /* false when the envelope was unreadable: nothing to ack */
    uint64_t seq;     /* ingest's journal sequence number */
    char *origin_id;  /* ingest instance, or NULL */
    char *origin_ack; /* its ack endpoint, or NULL */
    const char *id;   /* kind article: the article id (in the arena), else NULL */
    /* kind article: rows of store_articles (one), store_article_tags and
     * store_article_entities, each row ncols values of its table */
    const struct store_value *article;
    const struct store_value *tags;
    size_t ntags;
    const struct store_value *entities;
    size_t nentities;
    struct store_arena_block *arena;
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
    /* Set by the sink's write. */
    enum store_outcome outcome;
    char db_sqlstate[6]; /* STORE_ISOLATED: the SQLSTATE (or the sink's code) of the refusal */
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

/* The value of column `name` of table t in row (ncols values of t); NULL when t has no such
 * column. Borrowed from the row. */
const struct store_value *store_row_get(const struct store_table *t, const struct store_value *row,
                                        const char *name);

/* Frees a message and sets *mp to NULL. Accepts NULL. */
void store_msg_destroy(struct store_msg **mp);

#endif /* STORE_MSG_H */
