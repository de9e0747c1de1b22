/* msg.c - the envelope between workers and the acks from store to ingest
 *
 * The envelope is small JSON (well under a kilobyte before classify adds tags), so it is
 * parsed with Jansson like everything else; the article frame beside it is never touched here.
 * Decoding checks types strictly: a garbled envelope from a buggy or hostile peer must become
 * a rejection with a reason, never a crash or a row with a wrong seq.
 */
#include "np/msg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "np/article.h"

int64_t np_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Borrowed string member `key` of obj: stored in *out; NULL when absent and !required. */
static int get_string(json_t *obj, const char *key, bool required, const char **out,
                      struct np_err *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            return np_err_set(err, NP_EINVAL, key, "missing from envelope");
        }
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        return np_err_set(err, NP_EINVAL, key, "must be a string");
    }
    *out = json_string_value(v);
    return 0;
}

static int decode_fields(struct np_envelope *env, struct np_err *err)
{
    json_t *root = env->root;
    json_t *v = json_object_get(root, "v");
    json_t *seq = json_object_get(root, "seq");
    json_t *origin = json_object_get(root, "origin");
    const char *kind = NULL;
    int rc = 0;

    if (!json_is_integer(v) || json_integer_value(v) != NP_MSG_VERSION) {
        return np_err_set(err, NP_EINVAL, "v", "must be %d", NP_MSG_VERSION);
    }
    if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
        return np_err_set(err, NP_EINVAL, "seq", "must be a non-negative integer");
    }
    env->seq = (uint64_t)json_integer_value(seq);
    if (!json_is_object(origin)) {
        return np_err_set(err, NP_EINVAL, "origin", "must be an object");
    }
    rc = get_string(origin, "id", true, &env->origin_id, err);
    if (rc == 0) {
        rc = get_string(origin, "ack", true, &env->origin_ack, err);
    }
    if (rc == 0) {
        rc = get_string(root, "received_at", true, &env->received_at, err);
    }
    if (rc == 0) {
        rc = get_string(root, "kind", true, &kind, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (strcmp(kind, "article") == 0) {
        env->kind = NP_MSG_ARTICLE;
        return get_string(root, "id", true, &env->id, err);
    }
    if (strcmp(kind, "rejected") == 0) {
        env->kind = NP_MSG_REJECTED;
        rc = get_string(root, "stage", true, &env->stage, err);
        if (rc == 0) {
            rc = get_string(root, "channel", false, &env->channel, err);
        }
        if (rc == 0) {
            rc = get_string(root, "reason", true, &env->reason, err);
        }
        if (rc == 0) {
            rc = get_string(root, "field", false, &env->field, err);
        }
        return rc;
    }
    return np_err_set(err, NP_EINVAL, "kind", "must be \"article\" or \"rejected\"");
}

int np_msg_decode(const void *buf, size_t len, struct np_envelope *env, struct np_err *err)
{
    json_error_t jerr;
    int rc = 0;

    memset(env, 0, sizeof(*env));
    if (len > NP_ENVELOPE_MAX) {
        return np_err_set(err, NP_ETOOBIG, "envelope", "larger than %d bytes", NP_ENVELOPE_MAX);
    }
    if (!np_utf8_valid(buf, len)) {
        return np_err_set(err, NP_EPARSE, "envelope", "not valid UTF-8");
    }
    env->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (env->root == NULL) {
        return np_err_set(err, NP_EPARSE, "envelope", "invalid JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(env->root)) {
        rc = np_err_set(err, NP_EPARSE, "envelope", "must be a JSON object");
    } else {
        rc = decode_fields(env, err);
    }
    if (rc != 0) {
        np_msg_cleanup(env);
    }
    return rc;
}

void np_msg_cleanup(struct np_envelope *env)
{
    json_decref(env->root);
    memset(env, 0, sizeof(*env));
}

/* Sets the members every envelope has. Returns 0 or NP_ENOMEM. */
static int new_common(struct np_envelope *env, const char *kind, uint64_t seq,
                      const struct np_origin *origin, int64_t received_at)
{
    char when[40];
    json_t *root = NULL;

    np_date_format(received_at, when, sizeof(when));
    root = json_pack("{s:i, s:s, s:I, s:{s:s, s:s}, s:s}", "v", NP_MSG_VERSION, "kind", kind, "seq",
                     (json_int_t)seq, "origin", "id", origin->id, "ack", origin->ack, "received_at",
                     when);
    if (root == NULL) {
        return NP_ENOMEM;
    }
    memset(env, 0, sizeof(*env));
    env->root = root;
    env->seq = seq;
    env->origin_id = json_string_value(json_object_get(json_object_get(root, "origin"), "id"));
    env->origin_ack = json_string_value(json_object_get(json_object_get(root, "origin"), "ack"));
    env->received_at = json_string_value(json_object_get(root, "received_at"));
    return 0;
}

int np_msg_new_article(struct np_envelope *env, uint64_t seq, const char *id,
                       const struct np_origin *origin, int64_t received_at)
{
    if (new_common(env, "article", seq, origin, received_at) != 0) {
        return NP_ENOMEM;
    }
    env->kind = NP_MSG_ARTICLE;
    if (json_object_set_new(env->root, "id", json_string(id)) != 0) {
        np_msg_cleanup(env);
        return NP_ENOMEM;
    }
    env->id = json_string_value(json_object_get(env->root, "id"));
    return 0;
}

int np_msg_new_rejected(struct np_envelope *env, uint64_t seq, const struct np_origin *origin,
                        int64_t received_at, const char *stage, const char *channel,
                        const struct np_err *why)
{
    json_t *root = NULL;
    int rc = 0;

    if (new_common(env, "rejected", seq, origin, received_at) != 0) {
        return NP_ENOMEM;
    }
    env->kind = NP_MSG_REJECTED;
    root = env->root;
    /* json_stringn() refuses invalid UTF-8; reasons are built from valid text, but a field name
     * cut at the buffer size could split a character, so fall back to a generic string. */
    rc |= json_object_set_new(root, "stage", json_string(stage));
    rc |= json_object_set_new(root, "channel", json_string(channel));
    rc |= json_object_set_new(root, "reason",
                              json_string(why->msg[0] != '\0' ? why->msg : "rejected"));
    rc |= json_object_set_new(root, "field", json_string(why->field));
    if (rc != 0) {
        /* json_string() returned NULL for invalid UTF-8 or on allocation failure. */
        json_object_set_new(root, "reason", json_string("rejected (reason not printable)"));
        json_object_set_new(root, "field", json_string(""));
    }
    env->stage = json_string_value(json_object_get(root, "stage"));
    env->channel = json_string_value(json_object_get(root, "channel"));
    env->reason = json_string_value(json_object_get(root, "reason"));
    env->field = json_string_value(json_object_get(root, "field"));
    if (env->stage == NULL || env->reason == NULL) {
        np_msg_cleanup(env);
        return NP_ENOMEM;
    }
    return 0;
}

int np_msg_encode(const struct np_envelope *env, char **out, size_t *len)
{
    size_t n = json_dumpb(env->root, NULL, 0, JSON_COMPACT);
    char *buf = NULL;

    if (n == 0) {
        return NP_ENOMEM;
    }
    buf = malloc(n);
    if (buf == NULL) {
        return NP_ENOMEM;
    }
    if (json_dumpb(env->root, buf, n, JSON_COMPACT) != n) {
        free(buf);
        return NP_ENOMEM;
    }
    *out = buf;
    *len = n;
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
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    uint64_t *out = NULL;
    size_t count = 0;
    int rc = NP_EPARSE;

    if (root == NULL) {
        np_err_set(err, NP_EPARSE, "ack", "invalid JSON: %s", jerr.text);
        goto out;
    }
    if (!json_is_array(root) || json_array_size(root) > NP_ACK_MAX_SEQS) {
        np_err_set(err, NP_EPARSE, "ack", "must be an array of at most %d seqs", NP_ACK_MAX_SEQS);
        goto out;
    }
    count = json_array_size(root);
    out = malloc((count > 0 ? count : 1) * sizeof(*out));
    if (out == NULL) {
        rc = NP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(root, i);

        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            np_err_set(err, NP_EPARSE, "ack", "element %zu is not a non-negative integer", i);
            goto out;
        }
        out[i] = (uint64_t)json_integer_value(v);
    }
    *seqs = out;
    *n = count;
    out = NULL;
    rc = 0;
out:
    free(out);
    json_decref(root);
    return rc;
}
