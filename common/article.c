/* article.c - parses, validates and normalises the article a client sends
 *
 * The contract is docs/ARCHITECTURE.md, "Wire format".
 *
 * ingest calls np_article_parse() on every client message and writes np_article_to_json();
 * normalisation is idempotent: np_article_parse() of that canonical JSON gives a again
 * (test_article checks it on every test article and on Reuters).
 *
 * Order of checks, so the reason given is the most useful one: the message's size, a raw NUL
 * byte, its UTF-8 (checked on the raw bytes so the reason can say what is wrong and where),
 * then JSON (np_json, yajl underneath, with NP_JSON_ALLOW_NUL so that a "\u0000" escape is
 * reported against its field rather than as a parse error), then the fields in the order
 * given, then what must be present.
 *
 * Choices the contract leaves open:
 * - Size limits apply to a field's value as sent (before normalisation, which only shrinks
 *   it); a list's item limit counts the items as sent, empty ones included.
 * - title and the short fields (source, lang, region, authors, source_tags) are not HTML:
 *   only their white space is normalised. body, summary, background and insights are stripped
 *   of HTML (np_text_strip_html) and keep their paragraph breaks. url and published_at are
 *   trimmed first. id is kept byte for byte; it may not be blank or hold control characters
 *   (C0, DEL, C1).
 * - A string left empty by normalisation counts as absent, except title (rejected). An article
 *   with neither body nor summary is headline-only: accepted, with body "" (the only way body
 *   is ever empty; np_article_headline_only() tells it), so that its title is stored and
 *   tagged. Parsing the canonical JSON of one gives a headline-only article again.
 * - A null item in authors or source_tags is a wrong type, not an absent item.
 * - A duplicate key is NP_EINVAL naming the key; a NUL in a key or a raw NUL byte is NP_EPARSE
 *   naming "message"; nesting is limited to NP_JSON_DEPTH_MAX arrays/objects inside one
 *   extra field (NP_ETOOBIG naming it), and the whole message to NP_JSON_NEST_MAX (64).
 * - extra keeps unknown fields in their original order, as Jansson values (a->extra) copied
 *   from the parsed document. np_article_to_json() shares them with a->extra (reference counts,
 *   no copy): treat the extra values of the canonical object as read-only.
 * - Speed: this runs on every client message, so the JSON is parsed with np_json (yajl into a
 *   reused arena, ~10x Jansson's speed; see np/json.h), plus one pass over each string. Error
 *   positions are byte offsets.
 */
#include "np/article.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "np/hash.h"
#include "np/json.h"
#include "np/text.h"
#include "np/time.h"
#include "np/url.h"
#include "np/utf8.h"

#define NP_X_(name, kind, max, store, scan)                                                        \
    { #name,         NP_KIND_##kind,                                                               \
      (size_t)(max), NP_STORE_##store,                                                             \
      scan,          offsetof(struct np_article, name) },

const struct np_field_info np_article_fields[NP_FIELD_COUNT] = { NP_ARTICLE_FIELDS(NP_X_) };

#undef NP_X_

static const char *type_name(const struct np_json *v)
{
    switch (v->type) {
        case NP_JSON_OBJECT:
            return "object";
        case NP_JSON_ARRAY:
            return "array";
        case NP_JSON_STRING:
            return "string";
        case NP_JSON_INTEGER:
        case NP_JSON_REAL:
            return "number";
        case NP_JSON_TRUE:
        case NP_JSON_FALSE:
            return "boolean";
        case NP_JSON_NULL:
            return "null";
    }
    return "unknown";
}

/* Returns a new NUL-terminated copy of s[0..n), or NULL. */
static char *copy_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);

    if (c != NULL && n > 0) {
        memcpy(c, s, n);
    }
    if (c != NULL) {
        c[n] = '\0';
    }
    return c;
}

/*
 * Checks that v is a string of at most max bytes, free of NUL; stores it in *s and its length
 * in *n. item >= 0 names a list item. (np_json has checked its UTF-8.)
 */
static int get_string(const struct np_json *v, const char *name, long item, size_t max,
                      const char **s, size_t *n, struct np_err *err)
{
    char what[32] = "";

    if (item >= 0) {
        snprintf(what, sizeof(what), "item %ld ", item);
    }
    if (v->type != NP_JSON_STRING) {
        return np_err_set(err, NP_EINVAL, name, "%smust be a string, got %s", what, type_name(v));
    }
    *s = v->s;
    *n = v->len;
    if (memchr(*s, '\0', *n) != NULL) {
        return np_err_set(err, NP_EPARSE, name, "%scontains a NUL character", what);
    }
    if (*n > max) {
        return np_err_set(err, NP_ETOOBIG, name, "%sis %zu bytes, over the limit of %zu", what, *n,
                          max);
    }
    return 0;
}

/* Copies s[0..n) with its white space normalised into *out; NULL when nothing is left. */
static int normalised_copy(const char *s, size_t n, bool paragraphs, char **out, const char *name,
                           struct np_err *err)
{
    char *c = copy_n(s, n);

    if (c == NULL) {
        return np_err_set(err, NP_ENOMEM, name, "out of memory");
    }
    np_text_normalise_space(c, paragraphs);
    if (c[0] == '\0') {
        free(c);
        c = NULL;
    }
    *out = c;
    return 0;
}

static int read_text(const char *s, const char *name, char **out, struct np_err *err)
{
    char *c = np_text_strip_html(s);

    if (c == NULL) {
        return np_err_set(err, NP_ENOMEM, name, "out of memory");
    }
    np_text_normalise_space(c, true);
    if (c[0] == '\0') {
        free(c);
        c = NULL;
    }
    *out = c;
    return 0;
}

static int read_id(const char *s, size_t n, char **out, struct np_err *err)
{
    const unsigned char *u = (const unsigned char *)s;
    bool blank = true;

    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7F || (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)) {
            return np_err_set(err, NP_EINVAL, "id", "must not contain control characters");
        }
        if (u[i] != ' ') {
            blank = false;
        }
    }
    if (blank) {
        return np_err_set(err, NP_EINVAL, "id", "must not be empty or blank");
    }
    *out = copy_n(s, n);
    return *out == NULL ? np_err_set(err, NP_ENOMEM, "id", "out of memory") : 0;
}

static int read_url(const char *s, size_t n, char **out, struct np_err *err)
{
    char *trimmed = NULL;
    int rc = normalised_copy(s, n, false, &trimmed, "url", err);

    if (rc != 0 || trimmed == NULL) {
        return rc;
    }
    rc = np_url_normalise(trimmed, "url", out, err);
    free(trimmed);
    return rc;
}

static int read_date(const char *s, size_t n, const char *name, int64_t *out, struct np_err *err)
{
    size_t i = 0;

    while (i < n && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) {
        i++;
    }
    if (i == n) {
        return 0; /* blank: absent */
    }
    return np_time_parse(s, name, out, err);
}

static int read_list(const struct np_json *v, const struct np_field_info *f,
                     struct np_strlist *list, struct np_err *err)
{
    size_t count;
    size_t i = 0;

    if (v->type != NP_JSON_ARRAY) {
        return np_err_set(err, NP_EINVAL, f->name, "must be an array of strings, got %s",
                          type_name(v));
    }
    count = v->n;
    if (count > NP_LIST_MAX) {
        return np_err_set(err, NP_ETOOBIG, f->name, "has %zu items, over the limit of %d", count,
                          NP_LIST_MAX);
    }
    if (count == 0) {
        return 0;
    }
    list->items = calloc(count, sizeof(list->items[0]));
    if (list->items == NULL) {
        return np_err_set(err, NP_ENOMEM, f->name, "out of memory");
    }
    for (const struct np_json *it = v->child; it != NULL; it = it->next, i++) {
        const char *s = NULL;
        size_t n = 0;
        char *item = NULL;
        int rc = get_string(it, f->name, (long)i, f->max, &s, &n, err);

        if (rc == 0) {
            rc = normalised_copy(s, n, false, &item, f->name, err);
        }
        if (rc != 0) {
            return rc;
        }
        if (item != NULL) {
            list->items[list->len++] = item;
        }
    }
    return 0;
}

/* Reads the value v of the known field f into a. */
static int read_field(struct np_article *a, const struct np_field_info *f, const struct np_json *v,
                      struct np_err *err)
{
    char **str = (char **)(void *)((char *)a + f->offset);
    const char *s = NULL;
    size_t n = 0;
    int rc;

    if (v->type == NP_JSON_NULL && f->kind != NP_KIND_TITLE) {
        return 0;
    }
    if (f->kind == NP_KIND_LIST) {
        return read_list(v, f, (struct np_strlist *)(void *)str, err);
    }
    rc = get_string(v, f->name, -1, f->max, &s, &n, err);
    if (rc != 0) {
        return rc;
    }
    switch (f->kind) {
        case NP_KIND_TITLE:
            rc = normalised_copy(s, n, false, str, f->name, err);
            if (rc == 0 && *str == NULL) {
                rc = np_err_set(err, NP_EINVAL, f->name, "must not be empty");
            }
            return rc;
        case NP_KIND_TEXT:
            return read_text(s, f->name, str, err);
        case NP_KIND_SHORT:
            return normalised_copy(s, n, false, str, f->name, err);
        case NP_KIND_URL:
            return read_url(s, n, str, err);
        case NP_KIND_DATE:
            return read_date(s, n, f->name, (int64_t *)(void *)str, err);
        case NP_KIND_ID:
            return read_id(s, n, str, err);
        case NP_KIND_LIST:
            break;
    }
    return 0;
}

/* Checks an extra field's value: no NUL in its strings and keys, at most NP_JSON_DEPTH_MAX
 * levels of arrays and objects. */
static int check_extra(const struct np_json *v, const char *name, int depth, struct np_err *err)
{
    if (v->type == NP_JSON_STRING) {
        if (memchr(v->s, '\0', v->len) != NULL) {
            return np_err_set(err, NP_EPARSE, name, "contains a NUL character");
        }
        return 0;
    }
    if (v->type != NP_JSON_ARRAY && v->type != NP_JSON_OBJECT) {
        return 0;
    }
    if (depth >= NP_JSON_DEPTH_MAX) {
        return np_err_set(err, NP_ETOOBIG, name, "nests arrays and objects deeper than %d levels",
                          NP_JSON_DEPTH_MAX);
    }
    for (const struct np_json *item = v->child; item != NULL; item = item->next) {
        int rc = 0;

        if (item->key != NULL && memchr(item->key, '\0', item->key_len) != NULL) {
            return np_err_set(err, NP_EPARSE, "message", "contains a NUL character in a key");
        }
        rc = check_extra(item, name, depth + 1, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Sets member c of object o to v (stolen). The key is NUL-terminated and holds no NUL itself
 * (check_extra() ran first), so jansson before 2.14 (Ubuntu 22.04 has 2.13), which has no setter
 * taking a length, stores the same key. */
static int object_set(json_t *o, const struct np_json *c, json_t *v)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_setn_new_nocheck(o, c->key, c->key_len, v);
#else
    return json_object_set_new_nocheck(o, c->key, v);
#endif
}

/* A Jansson copy of v (extra fields are kept as Jansson values); NULL when out of memory. */
static json_t *to_jansson(const struct np_json *v)
{
    json_t *out = NULL;

    switch (v->type) {
        case NP_JSON_NULL:
            return json_null();
        case NP_JSON_FALSE:
            return json_false();
        case NP_JSON_TRUE:
            return json_true();
        case NP_JSON_INTEGER:
            return json_integer((json_int_t)v->i);
        case NP_JSON_REAL:
            return json_real(v->d);
        case NP_JSON_STRING:
            return json_stringn_nocheck(v->s, v->len);
        case NP_JSON_ARRAY:
            out = json_array();
            for (const struct np_json *c = v->child; c != NULL && out != NULL; c = c->next) {
                if (json_array_append_new(out, to_jansson(c)) != 0) {
                    json_decref(out);
                    out = NULL;
                }
            }
            return out;
        case NP_JSON_OBJECT:
            out = json_object();
            for (const struct np_json *c = v->child; c != NULL && out != NULL; c = c->next) {
                if (object_set(out, c, to_jansson(c)) != 0) {
                    json_decref(out);
                    out = NULL;
                }
            }
            return out;
    }
    return NULL;
}

static int add_extra(struct np_article *a, const struct np_json *v, struct np_err *err)
{
    const char *key = v->key;
    int rc;

    /* A key "" cannot be named as a field: the reason names the message instead. */
    rc = check_extra(v, key[0] != '\0' ? key : "message", 0, err);
    if (rc != 0) {
        return rc;
    }
    rc = json_object_set_new_nocheck(a->extra, key, to_jansson(v));
    return rc != 0 ? np_err_set(err, NP_ENOMEM, key, "out of memory") : 0;
}

const struct np_field_info *np_article_field(const char *key)
{
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        if (key[0] == np_article_fields[i].name[0] && strcmp(key, np_article_fields[i].name) == 0) {
            return &np_article_fields[i];
        }
    }
    return NULL;
}

void np_article_view_of(const struct np_article *a, struct np_article_view *v)
{
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        const struct np_field_info *f = &np_article_fields[i];

        v->text[i] = NULL;
        if (f->kind != NP_KIND_DATE && f->kind != NP_KIND_LIST) {
            v->text[i] = *(char *const *)(const void *)((const char *)a + f->offset);
        }
    }
}

static int build(const struct np_json *obj, struct np_article **out, struct np_err *err)
{
    struct np_article *a = NULL;
    int rc = NP_ENOMEM;

    if (obj->type != NP_JSON_OBJECT) {
        return np_err_set(err, NP_EPARSE, "message", "must be a JSON object, got %s",
                          type_name(obj));
    }
    a = calloc(1, sizeof(*a));
    if (a != NULL) {
        a->extra = json_object();
    }
    if (a == NULL || a->extra == NULL) {
        rc = np_err_set(err, NP_ENOMEM, "message", "out of memory");
        goto fail;
    }
    a->published_at = NP_TIME_NONE;
    for (const struct np_json *v = obj->child; v != NULL; v = v->next) {
        const struct np_field_info *f = NULL;

        if (memchr(v->key, '\0', v->key_len) != NULL) {
            rc = np_err_set(err, NP_EPARSE, "message", "contains a NUL character in a key");
            goto fail;
        }
        f = np_article_field(v->key);
        rc = f != NULL ? read_field(a, f, v, err) : add_extra(a, v, err);
        if (rc != 0) {
            goto fail;
        }
    }
    if (a->title == NULL) {
        rc = np_err_set(err, NP_EINVAL, "title", "is required");
        goto fail;
    }
    if (a->body == NULL && a->summary == NULL) {
        /* Headline-only (a wire flash, a feed item without a description): kept, with an
         * empty body, so that the title alone is stored and tagged. */
        a->body = copy_n("", 0);
        if (a->body == NULL) {
            rc = np_err_set(err, NP_ENOMEM, "body", "out of memory");
            goto fail;
        }
    }
    if (a->id == NULL) {
        char id[40];

        np_article_derive_id(a, id, sizeof(id));
        a->id = copy_n(id, strlen(id));
        if (a->id == NULL) {
            rc = np_err_set(err, NP_ENOMEM, "id", "out of memory");
            goto fail;
        }
    }
    *out = a;
    return 0;
fail:
    np_article_destroy(&a);
    return rc;
}

/* Words a failed np_json_parse() of a client message as np_article_parse() reports it. */
static int json_error(const struct np_json_doc *doc, struct np_err *err)
{
    char key[NP_ERR_FIELD_MAX];

    switch (doc->fault) {
        case NP_JSON_NOMEM:
            return np_err_set(err, NP_ENOMEM, "message", "out of memory");
        case NP_JSON_DEEP:
            return np_err_set(err, NP_ETOOBIG, "message",
                              "nests arrays and objects deeper than %d levels (byte %zu)",
                              NP_JSON_NEST_MAX, doc->fault_at);
        case NP_JSON_DUPLICATE:
            if (doc->fault_key[0] != '\0' && strlen(doc->fault_key) < sizeof(key)) {
                snprintf(key, sizeof(key), "%s", doc->fault_key);
                return np_err_set(err, NP_EINVAL, key, "is given twice (byte %zu)", doc->fault_at);
            }
            return np_err_set(err, NP_EINVAL, "message", "has a duplicate key (byte %zu)",
                              doc->fault_at);
        default:
            return np_err_set(err, NP_EPARSE, "message", "is not valid JSON at byte %zu: %s",
                              doc->fault_at, doc->fault_why);
    }
}

int np_article_parse(const void *buf, size_t len, struct np_article **out, struct np_err *err)
{
    struct np_json_doc doc = { 0 };
    const char *nul = NULL;
    int rc;

    if (buf == NULL) {
        buf = ""; /* an empty message: "not valid JSON" */
        len = 0;
    }
    if (len > (size_t)NP_ARTICLE_MAX) {
        return np_err_set(err, NP_ETOOBIG, "message", "is %zu bytes, over the limit of %d", len,
                          NP_ARTICLE_MAX);
    }
    nul = memchr(buf, '\0', len);
    if (nul != NULL) {
        return np_err_set(err, NP_EPARSE, "message", "contains a NUL character (byte %zu)",
                          (size_t)(nul - (const char *)buf));
    }
    if (!np_utf8_valid(buf, len)) {
        const char *why = NULL;
        size_t at = np_utf8_invalid_at(buf, len, &why);

        return np_err_set(err, NP_EPARSE, "message", "is not valid UTF-8: %s (byte %zu)", why, at);
    }
    rc = np_json_parse(&doc, buf, len, "message", NP_JSON_ALLOW_NUL, NULL);
    rc = rc != 0 ? json_error(&doc, err) : build(doc.root, out, err);
    np_json_doc_free(&doc);
    return rc;
}

static int set_string(json_t *o, const char *key, const char *s)
{
    return s == NULL ? 0 : json_object_set_new_nocheck(o, key, json_string_nocheck(s));
}

static int set_list(json_t *o, const char *key, const struct np_strlist *l)
{
    json_t *arr = NULL;

    if (l->len == 0) {
        return 0;
    }
    arr = json_array();
    if (arr == NULL) {
        return -1;
    }
    for (size_t i = 0; i < l->len; i++) {
        if (json_array_append_new(arr, json_string_nocheck(l->items[i])) != 0) {
            json_decref(arr);
            return -1;
        }
    }
    return json_object_set_new_nocheck(o, key, arr);
}

json_t *np_article_to_json(const struct np_article *a)
{
    json_t *o = json_object();
    const char *key = NULL;
    json_t *v = NULL;
    char date[32];
    int rc = 0;

    if (o == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        const struct np_field_info *f = &np_article_fields[i];
        const void *member = (const char *)a + f->offset;

        if (f->kind == NP_KIND_LIST) {
            rc |= set_list(o, f->name, member);
        } else if (f->kind == NP_KIND_DATE) {
            if (*(const int64_t *)member != NP_TIME_NONE) {
                np_time_format(*(const int64_t *)member, date, sizeof(date));
                rc |= set_string(o, f->name, date);
            }
        } else {
            rc |= set_string(o, f->name, *(char *const *)member);
        }
    }
    json_object_foreach(a->extra, key, v)
    {
        /* A hand-built article could hold a known name in extra: the field wins. */
        if (np_article_field(key) == NULL) {
            rc |= json_object_set_nocheck(o, key, v);
        }
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void free_list(struct np_strlist *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

bool np_article_headline_only(const struct np_article *a)
{
    return a->summary == NULL && a->body != NULL && a->body[0] == '\0';
}

void np_article_destroy(struct np_article **ap)
{
    struct np_article *a = NULL;

    if (ap == NULL || *ap == NULL) {
        return;
    }
    a = *ap;
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        const struct np_field_info *f = &np_article_fields[i];
        void *member = (char *)a + f->offset;

        if (f->kind == NP_KIND_LIST) {
            free_list(member);
        } else if (f->kind != NP_KIND_DATE) {
            free(*(char **)member);
        }
    }
    json_decref(a->extra);
    free(a);
    *ap = NULL;
}

void np_article_derive_id(const struct np_article *a, char *buf, size_t len)
{
    char hex[NP_HASH_HEX_LEN + 1];
    char stack[NP_SHORT_MAX + NP_TITLE_MAX + 64];
    char date[32] = "";
    const char *source = a->source != NULL ? a->source : "";
    const char *title = a->title != NULL ? a->title : "";
    size_t ls;
    size_t lt;
    size_t ld;
    char *cat = stack;

    if (len == 0) {
        return;
    }
    if (a->url != NULL) {
        np_hash_hex(a->url, strlen(a->url), hex);
        snprintf(buf, len, "u-%s", hex);
        return;
    }
    if (a->published_at != NP_TIME_NONE) {
        np_time_format(a->published_at, date, sizeof(date));
    }
    ls = strlen(source);
    lt = strlen(title);
    ld = strlen(date);
    if (ls + lt + ld + 2 > sizeof(stack)) {
        cat = malloc(ls + lt + ld + 2); /* only for hand-built articles over the limits */
        if (cat == NULL) {
            buf[0] = '\0';
            return;
        }
    }
    memcpy(cat, source, ls);
    cat[ls] = '\x1f';
    memcpy(cat + ls + 1, title, lt);
    cat[ls + 1 + lt] = '\x1f';
    memcpy(cat + ls + lt + 2, date, ld);
    np_hash_hex(cat, ls + lt + ld + 2, hex);
    if (cat != stack) {
        free(cat);
    }
    snprintf(buf, len, "t-%s", hex);
}
