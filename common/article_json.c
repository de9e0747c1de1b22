/* article_json.c - the canonical article JSON, written straight from struct np_article
 *
 * ingest writes every accepted article once in this form; classify and store read it. Building
 * a Jansson tree for it (np_article_to_json) copies every string and Jansson's writer escapes
 * one character at a time, which was a third of ingest's CPU. This writer produces the same
 * document (same keys, same order, same values; tests/unit/test_article_json.c compares them
 * on every test article and on all of Reuters) with one pass over each string: runs of bytes
 * that need no escape are copied with memcpy. Extra fields, small and rare, still go through
 * json_dumpb. Strings are valid UTF-8 without NUL (np_article_parse guarantees it), so only '"',
 * '\' and control characters need escapes; non-ASCII is written as is, as Jansson does.
 */
#include "np/article.h"

#include <stdlib.h>
#include <string.h>

/* A growing output buffer. */
struct out {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
};

static void reserve(struct out *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 4096;
    char *p = NULL;

    if (o->failed || o->len + more <= o->cap) {
        return;
    }
    while (cap < o->len + more) {
        cap *= 2;
    }
    p = realloc(o->p, cap);
    if (p == NULL) {
        o->failed = true;
        return;
    }
    o->p = p;
    o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
    reserve(o, n);
    if (!o->failed) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

/* Writes s as a JSON string. */
static void put_string(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;

    put(o, "\"", 1);
    for (; *p != '\0'; p++) {
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t n = 2;

        if (*p >= 0x20 && *p != '"' && *p != '\\') {
            continue;
        }
        put(o, (const char *)run, (size_t)(p - run));
        switch (*p) {
            case '"':
                esc[1] = '"';
                break;
            case '\\':
                esc[1] = '\\';
                break;
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 0xF];
                n = 6;
                break;
        }
        put(o, esc, n);
        run = p + 1;
    }
    put(o, (const char *)run, (size_t)(p - run));
    put(o, "\"", 1);
}

/* Writes ,"key":"value" (or {"key":... for the first member) when value is set. */
static void member(struct out *o, const char *key, const char *value)
{
    if (value == NULL) {
        return;
    }
    put(o, o->len > 1 ? "," : "", o->len > 1 ? 1 : 0);
    put_string(o, key);
    put(o, ":", 1);
    put_string(o, value);
}

static void list_member(struct out *o, const char *key, const struct np_strlist *l)
{
    if (l->len == 0) {
        return;
    }
    put(o, ",", 1);
    put_string(o, key);
    put(o, ":[", 2);
    for (size_t i = 0; i < l->len; i++) {
        put(o, i > 0 ? "," : "", i > 0 ? 1 : 0);
        put_string(o, l->items[i]);
    }
    put(o, "]", 1);
}

/* Known fields are written from the struct; an extra field of the same name is skipped (the
 * field wins), as np_article_to_json does. */
static bool known(const char *key)
{
    static const char *const names[] = { "id",         "title",    "body",         "summary",
                                         "background", "insights", "url",          "source",
                                         "lang",       "region",   "published_at", "authors",
                                         "source_tags" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(key, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void extra_members(struct out *o, const json_t *extra)
{
    const char *key = NULL;
    json_t *v = NULL;

    json_object_foreach((json_t *)extra, key, v)
    {
        size_t n = 0;

        if (known(key)) {
            continue;
        }
        put(o, ",", 1);
        put_string(o, key);
        put(o, ":", 1);
        n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        reserve(o, n);
        if (n == 0 || o->failed ||
            json_dumpb(v, o->p + o->len, n, JSON_COMPACT | JSON_ENCODE_ANY) != n) {
            o->failed = true;
            return;
        }
        o->len += n;
    }
}

int np_article_write_json(const struct np_article *a, char **out, size_t *len)
{
    struct out o = { 0 };
    char date[32];

    put(&o, "{", 1);
    member(&o, "id", a->id);
    member(&o, "title", a->title);
    member(&o, "body", a->body);
    member(&o, "summary", a->summary);
    member(&o, "background", a->background);
    member(&o, "insights", a->insights);
    member(&o, "url", a->url);
    member(&o, "source", a->source);
    member(&o, "lang", a->lang);
    member(&o, "region", a->region);
    if (a->published_at != NP_TIME_NONE) {
        np_date_format(a->published_at, date, sizeof(date));
        member(&o, "published_at", date);
    }
    list_member(&o, "authors", &a->authors);
    list_member(&o, "source_tags", &a->source_tags);
    if (a->extra != NULL) {
        extra_members(&o, a->extra);
    }
    put(&o, "}", 1);
    if (o.failed) {
        free(o.p);
        return NP_ENOMEM;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}
