/* article_json.c - the canonical article JSON, written straight from struct np_article
 *
 * ingest writes every accepted article once in this form; classify and store read it. Building
 * a Jansson tree for it (np_article_to_json) copies every string and Jansson's writer escapes
 * one character at a time, which was a third of ingest's CPU. This writer produces the same
 * document (same keys, same order, same values; tests/unit/test_article_json.c compares them
 * on every test article and on all of Reuters) with one pass over each string: runs of bytes
 * that need no escape are copied with memcpy (np_json_out_string, the escaper np/json.h shares
 * with the envelope and classify's result). Extra fields, small and rare, still go through
 * json_dump_callback. Strings are valid UTF-8 without NUL (np_article_parse guarantees it), so
 * only '"', '\' and control characters need escapes; non-ASCII is written as is, as Jansson
 * does.
 */
#include "np/article.h"

#include <stdlib.h>
#include <string.h>

#include "np/json.h"
#include "np/time.h"

/* Writes s, a C string, as a JSON string. */
static void put_string(struct np_buf *o, const char *s)
{
    np_json_out_string(o, s, strlen(s));
}

/* Writes ,"key":"value" (or {"key":... for the first member) when value is set. */
static void member(struct np_buf *o, const char *key, const char *value)
{
    if (value == NULL) {
        return;
    }
    np_buf_put(o, o->len > 1 ? "," : "", o->len > 1 ? 1 : 0);
    put_string(o, key);
    np_buf_put(o, ":", 1);
    put_string(o, value);
}

static void list_member(struct np_buf *o, const char *key, const struct np_strlist *l)
{
    if (l->len == 0) {
        return;
    }
    np_buf_put(o, o->len > 1 ? "," : "", o->len > 1 ? 1 : 0);
    put_string(o, key);
    np_buf_put(o, ":[", 2);
    for (size_t i = 0; i < l->len; i++) {
        np_buf_put(o, i > 0 ? "," : "", i > 0 ? 1 : 0);
        put_string(o, l->items[i]);
    }
    np_buf_put(o, "]", 1);
}

/* json_dump_callback() target: appends to the np_buf in data. */
static int dump_to_out(const char *buffer, size_t size, void *data)
{
    struct np_buf *o = data;

    np_buf_put(o, buffer, size);
    return o->failed ? -1 : 0;
}

static void extra_members(struct np_buf *o, const json_t *extra)
{
    const char *key = NULL;
    json_t *v = NULL;

    json_object_foreach((json_t *)extra, key, v)
    {
        /* Known fields are written from the struct; an extra field of the same name is
         * skipped (the field wins), as np_article_to_json does. */
        if (np_article_field(key) != NULL) {
            continue;
        }
        np_buf_put(o, ",", 1);
        put_string(o, key);
        np_buf_put(o, ":", 1);
        if (json_dump_callback(v, dump_to_out, o, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
            o->failed = true;
            return;
        }
    }
}

int np_article_write_json(const struct np_article *a, char **out, size_t *len)
{
    struct np_buf o = { 0 };
    char date[32];

    np_buf_put(&o, "{", 1);
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        const struct np_field_info *f = &np_article_fields[i];
        const void *m = (const char *)a + f->offset;

        if (f->kind == NP_KIND_LIST) {
            list_member(&o, f->name, m);
        } else if (f->kind == NP_KIND_DATE) {
            if (*(const int64_t *)m != NP_TIME_NONE) {
                np_time_format(*(const int64_t *)m, date, sizeof(date));
                member(&o, f->name, date);
            }
        } else {
            member(&o, f->name, *(char *const *)m);
        }
    }
    if (a->extra != NULL) {
        extra_members(&o, a->extra);
    }
    np_buf_put(&o, "}", 1);
    if (o.failed) {
        free(o.p);
        return NP_ENOMEM;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}
