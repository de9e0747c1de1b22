/* push_text.c - the plain-text article layout (as scraped from a news site)
 *
 * The reader is line based and forgiving: scraped text varies. It looks for the first
 * non-blank line (title), a "Section: ..." line (the publisher's section, e.g. "China /
 * Economy") and the region between it and a "Source: ...Published: ..." line, the publisher's
 * tags up to the title's repetition, and section headings it knows. It never fails on odd input:
 * whatever it cannot place ends up in body, and ingest validates the result like any other article.
 */
#include "push_text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "np/buf.h"
#include "np/err.h"

enum section {
    SEC_BODY,
    SEC_SUMMARY,
    SEC_BACKGROUND,
    SEC_INSIGHTS,
    SEC_COUNT,
};

static const char *const section_keys[SEC_COUNT] = { "body", "summary", "background", "insights" };

/* Headings the layout uses, and where their text goes. */
static const struct {
    const char *heading;
    enum section sec;
} headings[] = {
    { "News Summary", SEC_SUMMARY },  { "Summary", SEC_SUMMARY },
    { "Background", SEC_BACKGROUND }, { "In-Depth AI Insights", SEC_INSIGHTS },
    { "AI Insights", SEC_INSIGHTS },  { "Insights", SEC_INSIGHTS },
    { "Article", SEC_BODY },          { "Body", SEC_BODY },
    { "Full Text", SEC_BODY },
};

/* Appends p[0..n) to t, after sep when t is not empty. */
static int text_add(struct np_buf *t, const char *p, size_t n, const char *sep)
{
    if (t->len > 0) {
        np_buf_puts(t, sep);
    }
    np_buf_put(t, p, n);
    return t->failed ? NP_ENOMEM : 0;
}

/* Trims ASCII white space (and a UTF-8 BOM) from both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
    if (*n >= 3 && memcmp(*p, "\xEF\xBB\xBF", 3) == 0) {
        *p += 3;
        *n -= 3;
    }
    while (*n > 0 && strchr(" \t\r\f\v", (*p)[0]) != NULL) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && strchr(" \t\r\f\v", (*p)[*n - 1]) != NULL) {
        (*n)--;
    }
}

static bool line_is(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

static int heading_of(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof(headings) / sizeof(headings[0]); i++) {
        if (line_is(p, n, headings[i].heading)) {
            return (int)headings[i].sec;
        }
    }
    return -1;
}

static int set_stringn(json_t *obj, const char *key, const char *p, size_t n)
{
    json_t *v = NULL;

    trim(&p, &n);
    if (n == 0) {
        return 0;
    }
    v = json_stringn(p, n);
    if (v == NULL) {
        return 0; /* not valid UTF-8: leave the field out, ingest says what is missing */
    }
    return json_object_set_new(obj, key, v) == 0 ? 0 : NP_ENOMEM;
}

/* "Source: South China Morning PostPublished: 09/02/2025, 14:52:00 EDT" */
static int parse_source_line(json_t *obj, const char *p, size_t n)
{
    const char *pub = NULL;
    size_t skip = strlen("Source:");
    int rc = 0;

    for (size_t i = skip; i + 10 <= n; i++) {
        if (memcmp(p + i, "Published:", 10) == 0) {
            pub = p + i;
            break;
        }
    }
    if (pub == NULL) {
        return set_stringn(obj, "source", p + skip, n - skip);
    }
    rc = set_stringn(obj, "source", p + skip, (size_t)(pub - p) - skip);
    if (rc == 0) {
        rc = set_stringn(obj, "published_at", pub + 10, n - (size_t)(pub - p) - 10);
    }
    return rc;
}

struct reader {
    json_t *obj;
    json_t *tags;
    struct np_buf sec[SEC_COUNT];
    const char *title;
    size_t title_len;

    enum {
        ST_TITLE,
        ST_HEAD,
        ST_TAGS,
        ST_TEXT
    } state;
    enum section cur;
    bool blank_before;
};

static int take_line(struct reader *r, const char *p, size_t n)
{
    int h = heading_of(p, n);

    if (n == 0) {
        r->blank_before = true;
        return 0;
    }
    switch (r->state) {
        case ST_TITLE:
            r->title = p;
            r->title_len = n;
            r->state = ST_HEAD;
            return set_stringn(r->obj, "title", p, n);
        case ST_HEAD:
            if (n >= 7 && memcmp(p, "Source:", 7) == 0) {
                r->state = ST_TAGS;
                return parse_source_line(r->obj, p, n);
            }
            if (n >= 8 && memcmp(p, "Section:", 8) == 0) {
                return set_stringn(r->obj, "section", p + 8, n - 8);
            }
            if (h < 0 && json_object_get(r->obj, "region") == NULL) {
                return set_stringn(r->obj, "region", p, n);
            }
            break;
        case ST_TAGS:
            if (line_is(p, n, "") || (n == r->title_len && memcmp(p, r->title, n) == 0)) {
                r->state = ST_TEXT;
                return 0;
            }
            if (h < 0) {
                json_t *tag = json_stringn(p, n);

                return tag == NULL || json_array_append_new(r->tags, tag) == 0 ? 0 : NP_ENOMEM;
            }
            break;
        case ST_TEXT:
            break;
    }
    r->state = ST_TEXT;
    if (h >= 0) {
        r->cur = (enum section)h;
        r->blank_before = false;
        return 0;
    }
    if (n == r->title_len && memcmp(p, r->title, n) == 0) {
        return 0; /* the title repeated above the text */
    }
    {
        int rc = text_add(&r->sec[r->cur], p, n, r->blank_before ? "\n\n" : "\n");

        r->blank_before = false;
        return rc;
    }
}

int push_text_parse(const char *buf, size_t len, json_t **out, struct np_err *err)
{
    struct reader r = { 0 };
    size_t pos = 0;
    int rc = NP_ENOMEM;

    r.obj = json_object();
    r.tags = json_array();
    if (r.obj == NULL || r.tags == NULL) {
        goto out;
    }
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

        pos += n + (nl != NULL ? 1 : 0);
        trim(&line, &n);
        rc = take_line(&r, line, n);
        if (rc != 0) {
            goto out;
        }
    }
    for (int i = 0; i < SEC_COUNT; i++) {
        rc = r.sec[i].len > 0 ? set_stringn(r.obj, section_keys[i], r.sec[i].p, r.sec[i].len) : 0;
        if (rc != 0) {
            goto out;
        }
    }
    if (json_array_size(r.tags) > 0 && json_object_set(r.obj, "source_tags", r.tags) != 0) {
        rc = NP_ENOMEM;
        goto out;
    }
    if (json_object_get(r.obj, "title") == NULL) {
        rc = np_err_set(err, NP_EPARSE, "title", "no title line found");
        goto out;
    }
    *out = r.obj;
    r.obj = NULL;
    rc = 0;
out:
    for (int i = 0; i < SEC_COUNT; i++) {
        np_buf_cleanup(&r.sec[i]);
    }
    json_decref(r.tags);
    json_decref(r.obj);
    return rc;
}
