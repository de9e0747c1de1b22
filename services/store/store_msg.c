/* store_msg.c - decode a pipeline message once, into rows of typed values
 *
 * Choices:
 * - The envelope and the article JSON are each parsed once (np_json, into the reading thread's
 *   reusable scratch documents) and turned into rows at once; nothing of the parse outlives
 *   the call. The rows' values are copied into one arena per message, sized from the frames so
 *   that a message usually costs one allocation besides its raw payload (kept for rejections).
 * - The rows know no sink: values are typed text (store_type), and a sink turns them into its
 *   own format (the PostgreSQL sink into COPY lines, store_db.c).
 * - Columns come from the canonical article (its fields with a column of their own, from the
 *   field table); region, classifier, tags and entities come from the envelope (classify adds
 *   them; they may be missing, classification may land later). region falls back to the
 *   article's own. Every other article key (fields kept in extra, unknown client keys) goes
 *   into extra as JSON.
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
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "np/article.h"
#include "np/buf.h"
#include "np/err.h"
#include "np/hash.h"
#include "np/json.h"
#include "np/log.h"
#include "np/time.h"
#include "np/msg.h"

/* How a field of each kind of the field table (np/article.h) is typed in a row. */
#define STORE_TYPE_ID    STORE_TEXT
#define STORE_TYPE_TITLE STORE_TEXT
#define STORE_TYPE_TEXT  STORE_TEXT
#define STORE_TYPE_SHORT STORE_TEXT
#define STORE_TYPE_URL   STORE_TEXT
#define STORE_TYPE_DATE  STORE_TIME
#define STORE_TYPE_LIST  STORE_TEXTS

/* The article's fields that have a column of their own (store COLUMN in the field table) come
 * first in the row, in the table's order; a list column is never NULL (absent is empty). */
#define ENUM_COLUMN(name, kind) COL_##name,
#define ENUM_EXTRA(name, kind)
#define FIELD_ENUM(name, kind, max, store, scan) ENUM_##store(name, kind)
#define INIT_COLUMN(name, kind)                  { #name, STORE_TYPE_##kind, NP_KIND_##kind == NP_KIND_LIST },
#define INIT_EXTRA(name, kind)
#define FIELD_INIT(name, kind, max, store, scan) INIT_##store(name, kind)

/* Columns store and classify add after the article's own: X(name, type, empty). */
#define ADDED_COLUMNS(X)                                                                           \
    X(received_at, STORE_TIME, false)                                                              \
    X(tags, STORE_TEXTS, true)                                                                     \
    X(content_hash, STORE_TEXT, false)                                                             \
    X(classifier, STORE_TEXT, false)                                                               \
    X(extra, STORE_JSON, true)                                                                     \
    X(ingest_seq, STORE_INT, false)

/* Positions in the articles row. */
enum article_col {
    NP_ARTICLE_FIELDS(FIELD_ENUM)
    /* the columns above come from the article's keys, the ones below are added */
    COL_FIELDS_END,
    COL_ADDED_BEFORE = COL_FIELDS_END - 1,
#define X(name, type, empty) COL_##name,
    ADDED_COLUMNS(X)
#undef X
    COL_COUNT
};

static const struct store_column article_columns[COL_COUNT] = { NP_ARTICLE_FIELDS(FIELD_INIT)
#define X(name, type, empty) { #name, type, empty },
                                                                    ADDED_COLUMNS(X)
#undef X
};

/* Number of leading columns read from the article's own keys. */
static const size_t article_field_columns = COL_FIELDS_END;

const struct store_table store_articles = { "articles", article_columns, COL_COUNT };

enum tag_col {
    TAG_ARTICLE_ID,
    TAG_TAG,
    TAG_SCORE,
    TAG_EVIDENCE,
    TAG_CLASSIFIER,
    TAG_COUNT
};

static const struct store_column tag_columns[TAG_COUNT] = {
    [TAG_ARTICLE_ID] = { "article_id", STORE_TEXT, false },
    [TAG_TAG] = { "tag", STORE_TEXT, false },
    [TAG_SCORE] = { "score", STORE_REAL, false },
    [TAG_EVIDENCE] = { "evidence", STORE_JSON, false },
    [TAG_CLASSIFIER] = { "classifier", STORE_TEXT, false },
};

const struct store_table store_article_tags = { "article_tags", tag_columns, TAG_COUNT };

enum entity_col {
    ENT_ARTICLE_ID,
    ENT_ENTITY,
    ENT_KIND,
    ENT_MENTIONS,
    ENT_SALIENCE, /* 005: classify's salience and about mark, NULL when not sent */
    ENT_ABOUT,
    ENT_COUNT
};

static const struct store_column entity_columns[ENT_COUNT] = {
    [ENT_ARTICLE_ID] = { "article_id", STORE_TEXT, false },
    [ENT_ENTITY] = { "entity", STORE_TEXT, false },
    [ENT_KIND] = { "kind", STORE_TEXT, false },
    [ENT_MENTIONS] = { "mentions", STORE_INT, false },
    [ENT_SALIENCE] = { "salience", STORE_REAL, false },
    [ENT_ABOUT] = { "about", STORE_BOOL, false },
};

const struct store_table store_article_entities = { "article_entities", entity_columns, ENT_COUNT };

/* ---- the arena a message's values live in ---- */

/* Blocks are never moved, so pointers into them stay valid until the message is destroyed. */
struct store_arena_block {
    struct store_arena_block *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

/* Returns n bytes (aligned for any type) from m's arena, or NULL when out of memory. hint is
 * the size of a new block when the current one is full (at least n). */
static void *arena_alloc(struct store_msg *m, size_t n, size_t hint)
{
    struct store_arena_block *b = m->arena;
    size_t need = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    void *p = NULL;

    if (b == NULL || b->cap - b->used < need) {
        size_t cap = hint > need ? hint : need;

        cap = cap < 1024 ? 1024 : cap;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->next = m->arena;
        b->used = 0;
        b->cap = cap;
        m->arena = b;
    }
    p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

/* A copy of s[0..n) in m's arena, NUL-terminated; NULL when out of memory. */
static const char *arena_strn(struct store_msg *m, const char *s, size_t n)
{
    char *c = arena_alloc(m, n + 1, 0);

    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static const char *arena_str(struct store_msg *m, const char *s)
{
    return arena_strn(m, s, strlen(s));
}

/* A row of ncols absent values in m's arena; NULL when out of memory. */
static struct store_value *arena_row(struct store_msg *m, size_t rows, size_t ncols)
{
    struct store_value *v = arena_alloc(m, rows * ncols * sizeof(*v) + 1, 0);

    if (v != NULL) {
        memset(v, 0, rows * ncols * sizeof(*v));
    }
    return v;
}

static void arena_free(struct store_msg *m)
{
    while (m->arena != NULL) {
        struct store_arena_block *next = m->arena->next;

        free(m->arena);
        m->arena = next;
    }
}

const struct store_value *store_row_get(const struct store_table *t, const struct store_value *row,
                                        const char *name)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0) {
            return &row[i];
        }
    }
    return NULL;
}

/* ---- decoding ---- */

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

    arena_free(m);
    m->id = NULL;
    m->article = NULL;
    m->tags = NULL;
    m->ntags = 0;
    m->entities = NULL;
    m->nentities = 0;
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

/* Copies JSON value v, written compactly, into m's arena as *out (NULL when v is absent). */
static int json_value(struct store_msg *m, struct np_buf *o, const struct np_json *v,
                      const char **out)
{
    *out = NULL;
    if (np_json_is_none(v)) {
        return 0;
    }
    np_buf_reset(o);
    np_json_write(o, v);
    if (!o->failed) {
        *out = arena_strn(m, o->p, o->len);
    }
    return *out == NULL ? NP_ENOMEM : 0;
}

/* Writes the article_tags rows and collects the tag names into the articles row's tags. */
static int tag_rows(struct store_msg *m, const struct np_json *tags, const char *classifier,
                    struct store_value *row, struct np_buf *o)
{
    const char **names = arena_alloc(m, (tags->n + 1) * sizeof(*names), 0);
    struct store_value *rows = arena_row(m, tags->n, TAG_COUNT);
    char num[64];
    size_t k = 0;

    if (names == NULL || rows == NULL) {
        return NP_ENOMEM;
    }
    for (const struct np_json *t = tags->child; t != NULL; t = t->next) {
        const char *name = np_json_string(np_json_get(t, "name"));
        const struct np_json *score = np_json_get(t, "score");
        const char *tc = np_json_string(np_json_get(t, "classifier"));
        struct store_value *r = &rows[k * TAG_COUNT];

        if (t->type == NP_JSON_STRING) {
            name = t->s;
        }
        if (name == NULL || name[0] == '\0') {
            np_log_warn("skipped a tag without a name article_id=%s", m->id);
            continue;
        }
        if (score != NULL && (score->type == NP_JSON_INTEGER || score->type == NP_JSON_REAL)) {
            snprintf(num, sizeof(num), "%.9g", score->d);
            r[TAG_SCORE].s = arena_str(m, num);
            if (r[TAG_SCORE].s == NULL) {
                return NP_ENOMEM;
            }
        }
        r[TAG_ARTICLE_ID].s = m->id;
        r[TAG_TAG].s = arena_str(m, name);
        r[TAG_CLASSIFIER].s = tc != NULL ? arena_str(m, tc) : classifier;
        if (r[TAG_TAG].s == NULL || (tc != NULL && r[TAG_CLASSIFIER].s == NULL) ||
            json_value(m, o, np_json_get(t, "evidence"), &r[TAG_EVIDENCE].s) != 0) {
            return NP_ENOMEM;
        }
        names[k++] = r[TAG_TAG].s;
    }
    m->tags = rows;
    m->ntags = k;
    row[COL_tags].items = names;
    row[COL_tags].n = k;
    return 0;
}

static int entity_rows(struct store_msg *m, const struct np_json *entities)
{
    struct store_value *rows = arena_row(m, entities->n, ENT_COUNT);
    char num[32];
    size_t k = 0;

    if (rows == NULL) {
        return NP_ENOMEM;
    }
    for (const struct np_json *e = entities->child; e != NULL; e = e->next) {
        const char *name = np_json_string(np_json_get(e, "name"));
        const char *kind = np_json_string(np_json_get(e, "kind"));
        const struct np_json *mentions = np_json_get(e, "mentions");
        const struct np_json *salience = np_json_get(e, "salience");
        const struct np_json *about = np_json_get(e, "about");
        struct store_value *r = &rows[k * ENT_COUNT];

        if (name == NULL || name[0] == '\0') {
            np_log_warn("skipped an entity without a name article_id=%s", m->id);
            continue;
        }
        if (mentions != NULL && mentions->type == NP_JSON_INTEGER) {
            snprintf(num, sizeof(num), "%" PRId64, mentions->i);
            r[ENT_MENTIONS].s = arena_str(m, num);
            if (r[ENT_MENTIONS].s == NULL) {
                return NP_ENOMEM;
            }
        }
        if (salience != NULL &&
            (salience->type == NP_JSON_INTEGER || salience->type == NP_JSON_REAL)) {
            snprintf(num, sizeof(num), "%.9g", salience->d);
            r[ENT_SALIENCE].s = arena_str(m, num);
            if (r[ENT_SALIENCE].s == NULL) {
                return NP_ENOMEM;
            }
        }
        if (about != NULL && (about->type == NP_JSON_TRUE || about->type == NP_JSON_FALSE)) {
            r[ENT_ABOUT].s = about->type == NP_JSON_TRUE ? "t" : "f";
        }
        r[ENT_ARTICLE_ID].s = m->id;
        r[ENT_ENTITY].s = arena_str(m, name);
        r[ENT_KIND].s = kind != NULL ? arena_str(m, kind) : NULL;
        if (r[ENT_ENTITY].s == NULL || (kind != NULL && r[ENT_KIND].s == NULL)) {
            return NP_ENOMEM;
        }
        k++;
    }
    m->entities = rows;
    m->nentities = k;
    return 0;
}

/* True when key names one of the article's own columns. */
static bool has_column(const char *key)
{
    for (size_t i = 0; i < article_field_columns; i++) {
        if (strcmp(key, article_columns[i].name) == 0) {
            return true;
        }
    }
    return false;
}

/* The article's keys without a column of their own, as one JSON object, into row's extra. */
static int extra_json(struct store_msg *m, const struct np_json *art, struct store_value *row,
                      struct np_buf *o)
{
    bool first = true;

    np_buf_reset(o);
    np_buf_lit(o, "{");
    for (const struct np_json *v = art->child; v != NULL; v = v->next) {
        if (has_column(v->key)) {
            continue;
        }
        np_buf_put(o, first ? "" : ",", first ? 0 : 1);
        np_json_out_string(o, v->key, v->key_len);
        np_buf_lit(o, ":");
        np_json_write(o, v);
        first = false;
    }
    np_buf_lit(o, "}");
    row[COL_extra].s = o->failed ? NULL : arena_strn(m, o->p, o->len);
    return row[COL_extra].s == NULL ? NP_ENOMEM : 0;
}

static int content_hash(struct store_msg *m, struct store_value *row)
{
    static const enum article_col parts[] = { COL_title, COL_body, COL_summary };
    struct np_buf b = { 0 };
    char hash[NP_HASH_HEX_LEN + 1];

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        np_buf_put(&b, "\x1f", i > 0 ? 1 : 0);
        np_buf_puts(&b, row[parts[i]].s != NULL ? row[parts[i]].s : "");
    }
    if (!b.failed) {
        np_hash_hex(b.p, b.len, hash);
        row[COL_content_hash].s = arena_str(m, hash);
    }
    np_buf_cleanup(&b);
    return row[COL_content_hash].s == NULL ? NP_ENOMEM : 0;
}

/* Reads the article's own column (a string, or for STORE_TEXTS an array of strings) into v. */
static int field_value(struct store_msg *m, const struct np_json *art, const struct store_column *c,
                       struct store_value *v, struct np_err *err)
{
    const struct np_json *j = np_json_get(art, c->name);
    const char **items = NULL;

    if (c->type != STORE_TEXTS) {
        const char *s = NULL;

        if (get_str(art, c->name, &s, err) != 0) {
            return NP_EINVAL;
        }
        v->s = s != NULL ? arena_str(m, s) : NULL;
        return s != NULL && v->s == NULL ? NP_ENOMEM : 0;
    }
    if (np_json_is_none(j)) {
        return 0;
    }
    if (j->type != NP_JSON_ARRAY) {
        return np_err_set(err, NP_EINVAL, c->name, "must be an array of strings");
    }
    items = arena_alloc(m, (j->n + 1) * sizeof(*items), 0);
    if (items == NULL) {
        return NP_ENOMEM;
    }
    for (const struct np_json *it = j->child; it != NULL; it = it->next) {
        if (it->type != NP_JSON_STRING) {
            return np_err_set(err, NP_EINVAL, c->name, "must be an array of strings");
        }
        items[v->n] = arena_strn(m, it->s, it->len);
        if (items[v->n++] == NULL) {
            return NP_ENOMEM;
        }
    }
    v->items = items;
    return 0;
}

/* Builds the message's rows. NP_EINVAL (err set) for an article that is not canonical. */
static int article_rows(struct store_msg *m, const struct np_envelope *e, const struct np_json *art,
                        size_t hint, struct np_err *err)
{
    struct np_buf o = { 0 };
    struct store_value *row = NULL;
    char seq[32];
    int rc = 0;

    /* One block for the whole message, as a rule: values are never larger than the frames. */
    if (arena_alloc(m, 1, hint) == NULL || (row = arena_row(m, 1, COL_COUNT)) == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < article_field_columns && rc == 0; i++) {
        rc = field_value(m, art, &article_columns[i], &row[i], err);
    }
    if (rc != 0) {
        return rc;
    }
    if (row[COL_id].s == NULL && e->id != NULL) {
        row[COL_id].s = arena_str(m, e->id);
        if (row[COL_id].s == NULL) {
            return NP_ENOMEM;
        }
    }
    if (row[COL_id].s == NULL || row[COL_id].s[0] == '\0') {
        return np_err_set(err, NP_EINVAL, "id", "missing");
    }
    if (row[COL_title].s == NULL || row[COL_title].s[0] == '\0') {
        return np_err_set(err, NP_EINVAL, "title", "missing");
    }
    m->id = row[COL_id].s;
    snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
    row[COL_region].s = e->region != NULL ? arena_str(m, e->region) : row[COL_region].s;
    row[COL_received_at].s = e->received_at != NULL ? arena_str(m, e->received_at) : NULL;
    row[COL_classifier].s = e->classifier != NULL ? arena_str(m, e->classifier) : NULL;
    row[COL_ingest_seq].s = arena_str(m, seq);
    if ((e->region != NULL && row[COL_region].s == NULL) ||
        (e->received_at != NULL && row[COL_received_at].s == NULL) ||
        (e->classifier != NULL && row[COL_classifier].s == NULL) || row[COL_ingest_seq].s == NULL) {
        rc = NP_ENOMEM;
    }
    if (rc == 0 && e->tags != NULL) {
        rc = tag_rows(m, e->tags, row[COL_classifier].s, row, &o);
    }
    if (rc == 0 && e->entities != NULL) {
        rc = entity_rows(m, e->entities);
    }
    if (rc == 0) {
        rc = content_hash(m, row);
    }
    if (rc == 0) {
        rc = extra_json(m, art, row, &o);
    }
    free(o.p);
    m->article = row;
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
        rc = article_rows(m, e, doc->root, payload_len + 1024, &err);
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
    arena_free(m);
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
