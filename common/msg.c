/* msg.c - the envelope between workers and the acks from store to ingest
 *
 * Decoding checks types strictly: a garbled envelope from a buggy or hostile peer must become
 * a rejection with a reason, never a crash or a row with a wrong seq. The article frame beside
 * the envelope is never touched here.
 */
#include "np/msg.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "np/article.h"
#include "np/time.h"

int64_t np_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Borrowed string member `key` of obj: stored in *out; *out is left as it is when the member
 * is absent (an error when required) or not a string. */
static int get_string(const struct np_json *obj, const char *key, bool required, const char **out,
                      struct np_err *err)
{
    const struct np_json *v = np_json_get(obj, key);

    if (np_json_is_none(v)) {
        return required ? np_err_set(err, NP_EINVAL, key, "missing from envelope") : 0;
    }
    if (v->type != NP_JSON_STRING) {
        return np_err_set(err, NP_EINVAL, key, "must be a string");
    }
    *out = v->s;
    return 0;
}

/* Optional array member `key` of obj into *out. */
static int get_array(const struct np_json *obj, const char *key, const struct np_json **out,
                     struct np_err *err)
{
    const struct np_json *v = np_json_get(obj, key);

    *out = NULL;
    if (np_json_is_none(v)) {
        return 0;
    }
    if (v->type != NP_JSON_ARRAY) {
        return np_err_set(err, NP_EINVAL, key, "must be an array");
    }
    *out = v;
    return 0;
}

/* A string member of the envelope: its key, whether it must be there, where it goes. */
struct member {
    const char *key;
    bool required;
    size_t offset; /* of a const char * in struct np_envelope */
};

#define MEMBER(key, required, field)                                                               \
    {                                                                                              \
        key, required, offsetof(struct np_envelope, field)                                         \
    }

static const struct member origin_members[] = {
    MEMBER("id", true, origin_id),
    MEMBER("ack", true, origin_ack),
    { NULL, false, 0 },
};

static const struct member common_members[] = {
    MEMBER("received_at", true, received_at),
    MEMBER("region", false, region),
    MEMBER("classifier", false, classifier),
    MEMBER("classified_at", false, classified_at),
    { NULL, false, 0 },
};

static const struct member article_members[] = {
    MEMBER("id", true, id),
    { NULL, false, 0 },
};

static const struct member rejected_members[] = {
    MEMBER("stage", true, stage),
    MEMBER("channel", false, channel),
    MEMBER("reason", true, reason),
    MEMBER("field", false, field),
    { NULL, false, 0 },
};

/* Reads every member of the list (ending with a NULL key) from obj into env. */
static int get_strings(const struct np_json *obj, const struct member *list,
                       struct np_envelope *env, struct np_err *err)
{
    for (const struct member *m = list; m->key != NULL; m++) {
        const char **out = (const char **)(void *)((char *)env + m->offset);
        int rc = get_string(obj, m->key, m->required, out, err);

        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The members every envelope has, whatever its kind; kind is returned for the caller. */
static int decode_common(const struct np_json *root, const struct np_json *origin,
                         struct np_envelope *env, const char **kind, struct np_err *err)
{
    int rc = get_strings(origin, origin_members, env, err);

    if (rc != 0) {
        return rc;
    }
    rc = get_strings(root, common_members, env, err);
    if (rc != 0) {
        return rc;
    }
    rc = get_string(root, "kind", true, kind, err);
    if (rc != 0) {
        return rc;
    }
    rc = get_array(root, "tags", &env->tags, err);
    if (rc != 0) {
        return rc;
    }
    return get_array(root, "entities", &env->entities, err);
}

static int decode_fields(const struct np_json *root, struct np_envelope *env, struct np_err *err)
{
    const struct np_json *v = np_json_get(root, "v");
    const struct np_json *seq = np_json_get(root, "seq");
    const struct np_json *origin = np_json_get(root, "origin");
    const struct np_json *dup = np_json_get(root, "duplicate");
    const char *kind = "";
    int rc = 0;

    if (v == NULL || v->type != NP_JSON_INTEGER || v->i != NP_MSG_VERSION) {
        return np_err_set(err, NP_EINVAL, "v", "must be %d", NP_MSG_VERSION);
    }
    if (seq == NULL || seq->type != NP_JSON_INTEGER || seq->i < 0) {
        return np_err_set(err, NP_EINVAL, "seq", "must be a non-negative integer");
    }
    env->seq = (uint64_t)seq->i;
    if (origin == NULL || origin->type != NP_JSON_OBJECT) {
        return np_err_set(err, NP_EINVAL, "origin", "must be an object");
    }
    if (dup != NULL && dup->type != NP_JSON_TRUE && dup->type != NP_JSON_FALSE) {
        return np_err_set(err, NP_EINVAL, "duplicate", "must be true or false");
    }
    env->duplicate = dup != NULL && dup->type == NP_JSON_TRUE;
    rc = decode_common(root, origin, env, &kind, err);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(kind, "article") == 0) {
        env->kind = NP_MSG_ARTICLE;
        return get_strings(root, article_members, env, err);
    }
    if (strcmp(kind, "rejected") == 0) {
        env->kind = NP_MSG_REJECTED;
        return get_strings(root, rejected_members, env, err);
    }
    return np_err_set(err, NP_EINVAL, "kind", "must be \"article\" or \"rejected\"");
}

int np_msg_decode(const void *buf, size_t len, struct np_json_doc *doc, struct np_envelope *env,
                  struct np_err *err)
{
    int rc = 0;

    memset(env, 0, sizeof(*env));
    if (len > NP_ENVELOPE_MAX) {
        return np_err_set(err, NP_ETOOBIG, "envelope", "larger than %d bytes", NP_ENVELOPE_MAX);
    }
    rc = np_json_parse(doc, buf, len, "envelope", 0, err);
    if (rc == 0 && doc->root->type != NP_JSON_OBJECT) {
        rc = np_err_set(err, NP_EPARSE, "envelope", "must be a JSON object");
    }
    if (rc == 0) {
        rc = decode_fields(doc->root, env, err);
    }
    if (rc != 0) {
        np_msg_cleanup(env);
    }
    return rc;
}

void np_msg_cleanup(struct np_envelope *env)
{
    memset(env, 0, sizeof(*env));
}

/* Sets the members every envelope has. */
static void new_common(struct np_envelope *env, enum np_msg_kind kind, uint64_t seq,
                       const struct np_origin *origin, int64_t received_at)
{
    memset(env, 0, sizeof(*env));
    env->kind = kind;
    env->seq = seq;
    env->origin_id = origin->id;
    env->origin_ack = origin->ack;
    np_time_format(received_at, env->received_buf, sizeof(env->received_buf));
    env->received_at = env->received_buf;
}

int np_msg_new_article(struct np_envelope *env, uint64_t seq, const char *id,
                       const struct np_origin *origin, int64_t received_at)
{
    new_common(env, NP_MSG_ARTICLE, seq, origin, received_at);
    env->id = id;
    return 0;
}

int np_msg_new_rejected(struct np_envelope *env, uint64_t seq, const struct np_origin *origin,
                        int64_t received_at, const char *stage, const char *channel,
                        const struct np_err *why)
{
    new_common(env, NP_MSG_REJECTED, seq, origin, received_at);
    env->stage = stage;
    env->channel = channel;
    /* np_err_set() keeps msg and field valid UTF-8, so both can go into JSON as they are. */
    env->reason = why->msg[0] != '\0' ? why->msg : "rejected";
    env->field = why->field;
    return 0;
}

/* Writes ,"key":"value" when value is set. */
static void put_member(struct np_buf *o, const char *key, const char *value)
{
    if (value == NULL) {
        return;
    }
    np_buf_lit(o, ",");
    np_json_out_string(o, key, strlen(key));
    np_buf_lit(o, ":");
    np_json_out_string(o, value, strlen(value));
}

static void put_value(struct np_buf *o, const char *key, const struct np_json *v)
{
    if (v == NULL) {
        return;
    }
    np_buf_lit(o, ",");
    np_json_out_string(o, key, strlen(key));
    np_buf_lit(o, ":");
    np_json_write(o, v);
}

int np_msg_encode(const struct np_envelope *env, const char *members, char **out, size_t *len)
{
    struct np_buf o = { 0 };
    char head[64];
    int n =
        snprintf(head, sizeof(head), "{\"v\":%d,\"kind\":\"%s\",\"seq\":%" PRIu64, NP_MSG_VERSION,
                 env->kind == NP_MSG_ARTICLE ? "article" : "rejected", env->seq);

    np_buf_put(&o, head, (size_t)n);
    np_buf_lit(&o, ",\"origin\":{\"id\":");
    np_json_out_string(&o, env->origin_id, strlen(env->origin_id));
    np_buf_lit(&o, ",\"ack\":");
    np_json_out_string(&o, env->origin_ack, strlen(env->origin_ack));
    np_buf_lit(&o, "}");
    put_member(&o, "received_at", env->received_at);
    put_member(&o, "id", env->id);
    if (env->duplicate) {
        np_buf_lit(&o, ",\"duplicate\":true");
    }
    put_member(&o, "stage", env->stage);
    put_member(&o, "channel", env->channel);
    put_member(&o, "reason", env->reason);
    put_member(&o, "field", env->field);
    /* classify's members in the order classify writes them, so a re-encode is identical */
    put_member(&o, "classified_at", env->classified_at);
    put_value(&o, "tags", env->tags);
    put_value(&o, "entities", env->entities);
    put_member(&o, "region", env->region);
    put_member(&o, "classifier", env->classifier);
    if (members != NULL && members[0] != '\0') {
        np_buf_lit(&o, ",");
        np_buf_put(&o, members, strlen(members));
    }
    np_buf_lit(&o, "}");
    if (o.failed) {
        free(o.p);
        return NP_ENOMEM;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}

int np_msg_ack_encode(const uint64_t *seqs, size_t n, char **out, size_t *len)
{
    /* 20 digits and a comma per seq, brackets. */
    size_t cap = n * 21 + 3;
    char *buf = malloc(cap);
    size_t pos = 0;

    if (buf == NULL) {
        return NP_ENOMEM;
    }
    buf[pos++] = '[';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + pos, cap - pos, "%s%" PRIu64, i > 0 ? "," : "", seqs[i]);

        if (w < 0 || (size_t)w >= cap - pos) {
            free(buf);
            return NP_ENOMEM;
        }
        pos += (size_t)w;
    }
    buf[pos++] = ']';
    *out = buf;
    *len = pos;
    return 0;
}

int np_msg_ack_decode(const void *buf, size_t len, uint64_t **seqs, size_t *n, struct np_err *err)
{
    struct np_json_doc doc = { 0 };
    uint64_t *out = NULL;
    size_t count = 0;
    int rc = np_json_parse(&doc, buf, len, "ack", 0, err);

    if (rc != 0) {
        goto out;
    }
    rc = NP_EPARSE;
    if (doc.root->type != NP_JSON_ARRAY || doc.root->n > NP_ACK_MAX_SEQS) {
        np_err_set(err, NP_EPARSE, "ack", "must be an array of at most %d seqs", NP_ACK_MAX_SEQS);
        goto out;
    }
    out = malloc((doc.root->n > 0 ? doc.root->n : 1) * sizeof(*out));
    if (out == NULL) {
        rc = NP_ENOMEM;
        goto out;
    }
    for (const struct np_json *v = doc.root->child; v != NULL; v = v->next, count++) {
        if (v->type != NP_JSON_INTEGER || v->i < 0) {
            np_err_set(err, NP_EPARSE, "ack", "element %zu is not a non-negative integer", count);
            goto out;
        }
        out[count] = (uint64_t)v->i;
    }
    *seqs = out;
    *n = count;
    out = NULL;
    rc = 0;
out:
    free(out);
    np_json_doc_free(&doc);
    return rc;
}
