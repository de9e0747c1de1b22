/* store_msg.c - decode a pipeline message once, straight into COPY lines
 *
 * Choices:
 * - The envelope and the article JSON are each parsed once (np_json, into the reading thread's
 *   reusable scratch documents) and turned into the COPY text lines at once; nothing of the
 *   parse outlives the call, so a buffered message costs its raw payload (kept for
 *   rejected_messages) plus its escaped lines.
 * - Columns come from the canonical article (id, url, title, body, summary, source, lang,
 *   published_at, source_tags); region, classifier, tags and entities come from the envelope
 *   (classify adds them; they may be missing, classification may land later). region falls
 *   back to the article's own. Every other article key (background, insights, authors, unknown
 *   client keys) goes into extra as JSON.
 * - content_hash is np_hash_hex() over title, body and summary joined by U+001F (unit
 *   separator), so moving text between fields changes the hash.
 * - Nothing a peer sends can crash store: an unreadable envelope, a wrong frame count or an
 *   article that is not the canonical JSON becomes a rejection with stage "store" and channel
 *   "pipeline", raw = the payload frame and envelope = the envelope frame. With a readable
 *   envelope it keeps seq and origin and is acked like any other message once stored.
 * - Malformed tags or entities entries (not objects, no name) are skipped: they are optional
 *   enrichment, and dropping the whole article for them would lose more than it protects.
 */
#include "store_msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "np/article.h"
#include "np/err.h"
#include "np/hash.h"
#include "np/json.h"
#include "np/log.h"
#include "np/msg.h"
#include "np/time.h"

/* Article keys that have their own column; the rest goes to extra. */
static const char *const column_keys[] = { "id",           "title",      "body", "summary",
                                           "url",          "source",     "lang", "region",
                                           "published_at", "source_tags" };

int store_buf_add(struct store_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        char *p = NULL;

        while (cap < b->len + len + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            return NP_ENOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    if (len > 0) {
        memcpy(b->p + b->len, data, len);
    }
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

static int buf_add_str(struct store_buf *b, const char *s)
{
    return store_buf_add(b, s, strlen(s));
}

/* Appends s[0..len) escaped for COPY text format. */
static int buf_add_escaped(struct store_buf *b, const char *s, size_t len)
{
    size_t start = 0;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        const char *esc = NULL;

        switch (s[i]) {
            case '\\':
                esc = "\\\\";
                break;
            case '\t':
                esc = "\\t";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            default:
                continue;
        }
        rc = store_buf_add(b, s + start, i - start);
        if (rc == 0) {
            rc = buf_add_str(b, esc);
        }
        start = i + 1;
    }
    if (rc == 0) {
        rc = store_buf_add(b, s + start, len - start);
    }
    return rc;
}

int store_buf_add_field(struct store_buf *b, const char *s)
{
    if (s == NULL) {
        return buf_add_str(b, "\\N");
    }
    return buf_add_escaped(b, s, strlen(s));
}

int store_buf_add_bytea(struct store_buf *b, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    char chunk[256];
    size_t n = 0;
    int rc = 0;

    if (data == NULL) {
        return buf_add_str(b, "\\N");
    }
    /* bytea's hex input "\x..."; its backslash is doubled for COPY. */
    rc = buf_add_str(b, "\\\\x");
    for (size_t i = 0; i < len && rc == 0; i++) {
        chunk[n++] = hex[p[i] >> 4];
        chunk[n++] = hex[p[i] & 0x0f];
        if (n == sizeof(chunk)) {
            rc = store_buf_add(b, chunk, n);
            n = 0;
        }
    }
    if (rc == 0 && n > 0) {
        rc = store_buf_add(b, chunk, n);
    }
    return rc;
}

void store_buf_free(struct store_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Appends a separator (tab, or newline when last) after a field. */
static int buf_end_field(struct store_buf *b, bool last)
{
    return store_buf_add(b, last ? "\n" : "\t", 1);
}

/* Appends a text[] literal {"a","b"} (COPY-escaped) of the strings in items. */
static int buf_add_text_array(struct store_buf *b, const char *const *items, size_t n)
{
    struct store_buf lit = { 0 };
    int rc = buf_add_str(&lit, "{");

    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *s = items[i];

        rc = buf_add_str(&lit, i == 0 ? "\"" : ",\"");
        for (; *s != '\0' && rc == 0; s++) {
            if (*s == '"' || *s == '\\') {
                rc = store_buf_add(&lit, "\\", 1);
            }
            if (rc == 0) {
                rc = store_buf_add(&lit, s, 1);
            }
        }
        if (rc == 0) {
            rc = buf_add_str(&lit, "\"");
        }
    }
    if (rc == 0) {
        rc = buf_add_str(&lit, "}");
    }
    if (rc == 0) {
        rc = buf_add_escaped(b, lit.p, lit.len);
    }
    store_buf_free(&lit);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Reads optional string key of obj into *out (borrowed; NULL when absent or null). */
static int get_str(const struct np_json *obj, const char *key, const char **out, struct np_err *err)
{
    const struct np_json *v = np_json_get(obj, key);

    *out = NULL;
    if (np_json_is_none(v)) {
        return 0;
    }
    if (v->type != NP_JSON_STRING) {
        return np_err_set(err, NP_EINVAL, key, "must be a string");
    }
    *out = v->s;
    return 0;
}

static void now_iso(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        buf[0] = '\0';
    }
}

/* Turns m into a store-made rejection: reason, field; keeps seq/origin/raw already set. */
static int make_rejection(struct store_msg *m, const char *reason, const char *field,
                          const char *received_at)
{
    char now[40];

    store_buf_free(&m->article_row);
    store_buf_free(&m->tag_rows);
    store_buf_free(&m->entity_rows);
    free(m->id);
    m->id = NULL;
    m->kind = STORE_MSG_REJECTED;
    if (received_at == NULL) {
        now_iso(now, sizeof(now));
        received_at = now;
    }
    m->received_at = strdup(received_at);
    m->stage = strdup("store");
    m->channel = strdup("pipeline");
    m->reason = strdup(reason);
    m->field = strdup(field != NULL ? field : "");
    if (m->received_at == NULL || m->stage == NULL || m->channel == NULL || m->reason == NULL ||
        m->field == NULL) {
        return NP_ENOMEM;
    }
    return 0;
}

/* The evidence value of a tag as new JSON text (free()), or NULL when absent. */
static int evidence_text(const struct np_json *ev, char **out)
{
    struct np_buf o = { 0 };

    *out = NULL;
    if (np_json_is_none(ev)) {
        return 0;
    }
    np_json_write(&o, ev);
    if (o.failed) {
        free(o.p);
        return NP_ENOMEM;
    }
    *out = o.p;
    return 0;
}

/* Collects tag names into names[] (borrowed) and writes the article_tags lines. */
static int tag_rows(struct store_msg *m, const struct np_json *tags, const char *classifier,
                    const char **names, size_t *nnames)
{
    char num[64];
    int rc = 0;

    *nnames = 0;
    for (const struct np_json *t = tags->child; t != NULL; t = t->next) {
        const char *name = np_json_string(np_json_get(t, "name"));
        const struct np_json *score = np_json_get(t, "score");
        const char *tc = np_json_string(np_json_get(t, "classifier"));
        bool has_score =
            score != NULL && (score->type == NP_JSON_INTEGER || score->type == NP_JSON_REAL);
        char *ev = NULL;

        if (t->type == NP_JSON_STRING) {
            name = t->s;
        }
        if (name == NULL || name[0] == '\0') {
            np_log_warn("skipped a tag without a name article_id=%s", m->id);
            continue;
        }
        names[(*nnames)++] = name;
        if (evidence_text(np_json_get(t, "evidence"), &ev) != 0) {
            return NP_ENOMEM;
        }
        if (has_score) {
            snprintf(num, sizeof(num), "%.9g", score->d);
        }
        rc = store_buf_add_field(&m->tag_rows, m->id);
        rc = rc != 0 ? rc : buf_end_field(&m->tag_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->tag_rows, name);
        rc = rc != 0 ? rc : buf_end_field(&m->tag_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->tag_rows, has_score ? num : NULL);
        rc = rc != 0 ? rc : buf_end_field(&m->tag_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->tag_rows, ev);
        rc = rc != 0 ? rc : buf_end_field(&m->tag_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->tag_rows, tc != NULL ? tc : classifier);
        rc = rc != 0 ? rc : buf_end_field(&m->tag_rows, true);
        free(ev);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int entity_rows(struct store_msg *m, const struct np_json *entities)
{
    char num[32];
    int rc = 0;

    for (const struct np_json *e = entities->child; e != NULL; e = e->next) {
        const char *name = np_json_string(np_json_get(e, "name"));
        const struct np_json *mentions = np_json_get(e, "mentions");
        bool has_mentions = mentions != NULL && mentions->type == NP_JSON_INTEGER;

        if (name == NULL || name[0] == '\0') {
            np_log_warn("skipped an entity without a name article_id=%s", m->id);
            continue;
        }
        if (has_mentions) {
            snprintf(num, sizeof(num), "%" PRId64, mentions->i);
        }
        rc = store_buf_add_field(&m->entity_rows, m->id);
        rc = rc != 0 ? rc : buf_end_field(&m->entity_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->entity_rows, name);
        rc = rc != 0 ? rc : buf_end_field(&m->entity_rows, false);
        rc = rc != 0 ? rc
                     : store_buf_add_field(&m->entity_rows, np_json_string(np_json_get(e, "kind")));
        rc = rc != 0 ? rc : buf_end_field(&m->entity_rows, false);
        rc = rc != 0 ? rc : store_buf_add_field(&m->entity_rows, has_mentions ? num : NULL);
        rc = rc != 0 ? rc : buf_end_field(&m->entity_rows, true);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Appends the article's keys without a column of their own to extra, as one JSON object. */
static void extra_json(struct np_buf *extra, const struct np_json *art)
{
    bool first = true;

    np_buf_lit(extra, "{");
    for (const struct np_json *v = art->child; v != NULL; v = v->next) {
        bool column = false;

        for (size_t i = 0; i < sizeof(column_keys) / sizeof(column_keys[0]); i++) {
            if (strcmp(v->key, column_keys[i]) == 0) {
                column = true;
                break;
            }
        }
        if (column) {
            continue;
        }
        np_buf_put(extra, first ? "" : ",", first ? 0 : 1);
        np_json_out_string(extra, v->key, v->key_len);
        np_buf_lit(extra, ":");
        np_json_write(extra, v);
        first = false;
    }
    np_buf_lit(extra, "}");
}

static int content_hash(const char *title, const char *body, const char *summary, char *out)
{
    struct store_buf b = { 0 };
    int rc = buf_add_str(&b, title);

    rc = rc != 0 ? rc : store_buf_add(&b, "\x1f", 1);
    rc = rc != 0 ? rc : buf_add_str(&b, body != NULL ? body : "");
    rc = rc != 0 ? rc : store_buf_add(&b, "\x1f", 1);
    rc = rc != 0 ? rc : buf_add_str(&b, summary != NULL ? summary : "");
    if (rc == 0) {
        np_hash_hex(b.p, b.len, out);
    }
    store_buf_free(&b);
    return rc;
}

/* Column values of one article, borrowed from the article JSON and the envelope. */
struct article_cols {
    const char *v[10]; /* column_keys order, minus source_tags (index 9 unused) */
    const char *region;
    const char *classifier;
};

/* Reads the article's column values; NP_EINVAL with err naming the field on a bad one. */
static int read_cols(const struct np_json *art, const struct np_envelope *e, struct article_cols *c,
                     struct np_err *err)
{
    const struct np_json *st = np_json_get(art, "source_tags");
    size_t i = 0;

    for (i = 0; i < 9; i++) {
        if (get_str(art, column_keys[i], &c->v[i], err) != 0) {
            return NP_EINVAL;
        }
    }
    if (c->v[0] == NULL) {
        c->v[0] = e->id;
    }
    if (c->v[0] == NULL || c->v[0][0] == '\0') {
        return np_err_set(err, NP_EINVAL, "id", "missing");
    }
    if (c->v[1] == NULL || c->v[1][0] == '\0') {
        return np_err_set(err, NP_EINVAL, "title", "missing");
    }
    if (!np_json_is_none(st) && st->type != NP_JSON_ARRAY) {
        return np_err_set(err, NP_EINVAL, "source_tags", "must be an array of strings");
    }
    for (const struct np_json *v = st != NULL ? st->child : NULL; v != NULL; v = v->next) {
        if (v->type != NP_JSON_STRING) {
            return np_err_set(err, NP_EINVAL, "source_tags", "must be an array of strings");
        }
    }
    c->region = e->region != NULL ? e->region : c->v[7];
    c->classifier = e->classifier;
    return 0;
}

/* Builds the article's COPY lines. NP_EINVAL (err set) for an article that is not canonical. */
static int article_rows(struct store_msg *m, const struct np_envelope *e, const struct np_json *art,
                        struct np_err *err)
{
    struct article_cols c = { 0 };
    const struct np_json *st = np_json_get(art, "source_tags");
    const char **tag_names = NULL;
    const char **st_names = NULL;
    size_t ntags = 0;
    size_t nst = 0;
    char hash[NP_HASH_HEX_LEN + 1];
    char seq[32];
    struct np_buf extra = { 0 };
    struct store_buf *b = &m->article_row;
    int rc = read_cols(art, e, &c, err);

    if (rc != 0) {
        return rc;
    }
    m->id = strdup(c.v[0]);
    tag_names = calloc((e->tags != NULL ? e->tags->n : 0) + 1, sizeof(*tag_names));
    st_names = calloc((st != NULL ? st->n : 0) + 1, sizeof(*st_names));
    extra_json(&extra, art);
    if (m->id == NULL || tag_names == NULL || st_names == NULL || extra.failed) {
        rc = NP_ENOMEM;
        goto out;
    }
    for (const struct np_json *v = st != NULL ? st->child : NULL; v != NULL; v = v->next) {
        st_names[nst++] = v->s;
    }
    rc = e->tags != NULL ? tag_rows(m, e->tags, c.classifier, tag_names, &ntags) : 0;
    rc = rc != 0 ? rc : (e->entities != NULL ? entity_rows(m, e->entities) : 0);
    rc = rc != 0 ? rc : content_hash(c.v[1], c.v[2], c.v[3], hash);
    snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
    /* id, url, title, body, summary, source, lang, region, published_at, received_at */
    static const int order[] = { 0, 4, 1, 2, 3, 5, 6 };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && rc == 0; i++) {
        rc = store_buf_add_field(b, c.v[order[i]]);
        rc = rc != 0 ? rc : buf_end_field(b, false);
    }
    rc = rc != 0 ? rc : store_buf_add_field(b, c.region);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, c.v[8]);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, e->received_at);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    /* tags, source_tags, content_hash, classifier, extra, ingest_seq */
    rc = rc != 0 ? rc : buf_add_text_array(b, tag_names, ntags);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : buf_add_text_array(b, st_names, nst);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, hash);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, c.classifier);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, extra.p);
    rc = rc != 0 ? rc : buf_end_field(b, false);
    rc = rc != 0 ? rc : store_buf_add_field(b, seq);
    rc = rc != 0 ? rc : buf_end_field(b, true);
out:
    free(tag_names);
    free(st_names);
    free(extra.p);
    return rc;
}

static int decode_rejected(struct store_msg *m, const struct np_envelope *e)
{
    m->kind = STORE_MSG_REJECTED;
    m->received_at = dup_or_null(e->received_at);
    m->stage = strdup(e->stage != NULL ? e->stage : "ingest");
    m->channel = dup_or_null(e->channel);
    m->reason = strdup(e->reason != NULL ? e->reason : "(no reason given)");
    m->field = dup_or_null(e->field);
    if ((e->received_at != NULL && m->received_at == NULL) || m->stage == NULL ||
        (e->channel != NULL && m->channel == NULL) || m->reason == NULL ||
        (e->field != NULL && m->field == NULL)) {
        return NP_ENOMEM;
    }
    return 0;
}

static int decode_article(struct store_msg *m, const struct np_envelope *e, const void *payload,
                          size_t payload_len, struct np_json_doc *doc)
{
    struct np_err err;
    char reason[NP_ERR_MSG_MAX + 64];
    int rc = 0;

    np_err_clear(&err);
    m->kind = STORE_MSG_ARTICLE;
    rc = np_json_parse(doc, payload, payload_len, "article", 0, &err);
    if (rc == 0 && doc->root->type != NP_JSON_OBJECT) {
        rc = np_err_set(&err, NP_EPARSE, "article", "must be a JSON object");
    }
    if (rc == 0) {
        rc = article_rows(m, e, doc->root, &err);
    }
    if (rc == NP_EPARSE) {
        /* err.msg names "article" already */
        rc = make_rejection(m, err.msg, "", e->received_at);
    } else if (rc == NP_EINVAL) {
        snprintf(reason, sizeof(reason), "article: %s", err.msg);
        rc = make_rejection(m, reason, err.field, e->received_at);
    }
    return rc;
}

static unsigned char *dup_bytes(const void *p, size_t len)
{
    unsigned char *out = malloc(len + 1);

    if (out != NULL && len > 0) {
        memcpy(out, p, len);
    }
    return out;
}

void store_msg_scratch_free(struct store_msg_scratch *s)
{
    np_json_doc_free(&s->envelope);
    np_json_doc_free(&s->article);
}

int store_msg_decode(const void *env, size_t env_len, const void *payload, size_t payload_len,
                     size_t nframes, struct store_msg_scratch *scratch, struct store_msg **out)
{
    struct store_msg *m = calloc(1, sizeof(*m));
    struct np_envelope e;
    struct np_err err;
    char reason[NP_ERR_MSG_MAX + 64];
    bool decoded = false;
    int rc = NP_ENOMEM;

    memset(&e, 0, sizeof(e));
    np_err_clear(&err);
    if (m == NULL) {
        return NP_ENOMEM;
    }
    m->received_us = NP_TIME_NONE;
    if (payload != NULL) {
        m->raw = dup_bytes(payload, payload_len);
        m->raw_len = payload_len;
        if (m->raw == NULL) {
            goto out;
        }
    }
    if (env != NULL && np_msg_decode(env, env_len, &scratch->envelope, &e, &err) == 0) {
        decoded = true;
        /* An empty origin is classify's way of saying "garbled on the way, sender unknown":
         * keep the row, but there is no seq to ack and nobody to ack it to. */
        m->has_seq = e.origin_id[0] != '\0';
        m->seq = e.seq;
        if (np_time_parse(e.received_at, "received_at", &m->received_us, NULL) != 0) {
            m->received_us = NP_TIME_NONE;
        }
        m->origin_id = m->has_seq ? dup_or_null(e.origin_id) : NULL;
        m->origin_ack = m->has_seq ? dup_or_null(e.origin_ack) : NULL;
        if (m->has_seq && (m->origin_id == NULL || m->origin_ack == NULL)) {
            goto out;
        }
    }
    if (!decoded || nframes != 2) {
        m->envelope = env != NULL ? dup_bytes(env, env_len) : NULL;
        m->envelope_len = env_len;
        if (env != NULL && m->envelope == NULL) {
            goto out;
        }
        if (!decoded) {
            /* err.msg already starts with its field, which may be "envelope" itself. */
            snprintf(reason, sizeof(reason), "%s%s",
                     strncmp(err.msg, "envelope", 8) == 0 ? "" : "envelope: ",
                     env == NULL ? "missing" : (err.msg[0] != '\0' ? err.msg : "unreadable"));
        } else {
            snprintf(reason, sizeof(reason), "message has %zu frames, expected 2", nframes);
        }
        rc = make_rejection(m, reason, decoded ? "" : err.field, decoded ? e.received_at : NULL);
    } else if (e.kind == NP_MSG_REJECTED) {
        rc = decode_rejected(m, &e);
    } else {
        rc = decode_article(m, &e, payload, payload_len, &scratch->article);
    }
    if (rc == 0 && m->kind == STORE_MSG_REJECTED && m->envelope == NULL && decoded &&
        strcmp(m->stage, "store") == 0) {
        /* A rejection store made itself: keep the envelope for whoever investigates. */
        m->envelope = dup_bytes(env, env_len);
        m->envelope_len = env_len;
        rc = m->envelope == NULL ? NP_ENOMEM : 0;
    }
out:
    np_msg_cleanup(&e);
    if (rc != 0) {
        store_msg_destroy(&m);
        return rc;
    }
    *out = m;
    return 0;
}

void store_msg_destroy(struct store_msg **mp)
{
    struct store_msg *m = NULL;

    if (mp == NULL || *mp == NULL) {
        return;
    }
    m = *mp;
    free(m->origin_id);
    free(m->origin_ack);
    free(m->id);
    store_buf_free(&m->article_row);
    store_buf_free(&m->tag_rows);
    store_buf_free(&m->entity_rows);
    free(m->received_at);
    free(m->stage);
    free(m->channel);
    free(m->reason);
    free(m->field);
    free(m->sqlstate);
    free(m->raw);
    free(m->envelope);
    free(m->db_error);
    free(m);
    *mp = NULL;
}
