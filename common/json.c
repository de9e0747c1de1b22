/* json.c - yajl events into an arena-backed read-only document (see np/json.h)
 *
 * The arena is a list of chunks. The first chunk (ARENA_FIRST bytes) stays between parses, so
 * messages up to a few kilobytes reuse it with no allocation; anything bigger gets chunks of
 * its own, freed when the next parse starts. Memory is bounded by the input: a value costs one
 * struct np_json plus its decoded text, and the frames are bounded by the sockets' limits.
 */
#include "np/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "np/utf8.h"

#define ARENA_FIRST (32 * 1024)
#define ALIGN       (sizeof(void *))

struct np_json_chunk {
    struct np_json_chunk *next;
    size_t size; /* bytes of data[] */
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
};

/* Parse state shared by the callbacks. */
struct build {
    struct np_json_doc *doc;
    struct np_json *root;
    struct np_json *open; /* innermost array or object being filled */
    const char *key;      /* pending key of the next member */
    size_t key_len;
    int depth;
    const char *what;
    unsigned flags;
    const char *why; /* set by a callback that stops the parse */
    enum np_json_fault fault;
    const char *fault_key; /* NP_JSON_DUPLICATE: the key */
    yajl_handle h;
    size_t len;     /* of the input */
    bool finishing; /* in yajl_complete_parse() */
    size_t end;     /* where the root value ends */
};

/*
 * The root value is complete: remember where it ended. yajl leaves an unfinished token after a
 * complete value undiagnosed ("null\"", "[1] tru"), so np_json_parse() checks that only white
 * space follows. Inside a callback, yajl's byte count is just past the current token; during
 * yajl_complete_parse() (a number at the very end) the value ends with the input.
 */
static void root_done(struct build *b)
{
    b->end = b->finishing ? b->len : yajl_get_bytes_consumed(b->h);
}

static void *arena_alloc(struct np_json_doc *doc, size_t n)
{
    struct np_json_chunk *c = doc->chunks;
    void *p = NULL;

    n = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (c != NULL && c->next != NULL) {
        c = c->next; /* the newest chunk: new ones go right after the first */
    }
    if (c == NULL || c->size - c->used < n) {
        struct np_json_chunk *fresh = NULL;
        size_t size = c == NULL ? ARENA_FIRST : c->size * 2;

        while (size < n) {
            size *= 2;
        }
        fresh = malloc(sizeof(*fresh) + size);
        if (fresh == NULL) {
            return NULL;
        }
        fresh->size = size;
        fresh->used = 0;
        if (doc->chunks == NULL) {
            fresh->next = NULL;
            doc->chunks = fresh;
        } else {
            fresh->next = doc->chunks->next;
            doc->chunks->next = fresh;
        }
        c = fresh;
    }
    p = c->data + c->used;
    c->used += n;
    return p;
}

/* Forgets every value; keeps the first chunk. */
static void arena_reset(struct np_json_doc *doc)
{
    struct np_json_chunk *c = doc->chunks;

    if (c == NULL) {
        return;
    }
    while (c->next != NULL) {
        struct np_json_chunk *n = c->next;

        c->next = n->next;
        free(n);
    }
    c->used = 0;
}

void np_json_doc_free(struct np_json_doc *doc)
{
    arena_reset(doc);
    free(doc->chunks);
    doc->chunks = NULL;
    doc->root = NULL;
}

static char *arena_text(struct np_json_doc *doc, const unsigned char *s, size_t n)
{
    char *p = arena_alloc(doc, n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int stop(struct build *b, enum np_json_fault fault, const char *why)
{
    b->fault = fault;
    b->why = why;
    return 0;
}

static int no_memory(struct build *b)
{
    return stop(b, NP_JSON_NOMEM, "out of memory");
}

/* A new value of type t, linked under the open container (or as the root). */
static struct np_json *add(struct build *b, enum np_json_type t)
{
    struct np_json *v = arena_alloc(b->doc, sizeof(*v));
    struct np_json *up = b->open;

    if (v == NULL) {
        no_memory(b);
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->type = t;
    v->up = up;
    if (up == NULL) {
        b->root = v;
        if (t != NP_JSON_ARRAY && t != NP_JSON_OBJECT) {
            root_done(b);
        }
        return v;
    }
    if (up->type == NP_JSON_OBJECT) {
        v->key = b->key;
        v->key_len = b->key_len;
        b->key = NULL;
    }
    if (up->last != NULL) {
        up->last->next = v;
    } else {
        up->child = v;
    }
    up->last = v;
    up->n++;
    return v;
}

/* Decoded text must be strict UTF-8 without NUL (unless NP_JSON_ALLOW_NUL): the same rule
 * as Jansson's default. */
static const char *text_problem(const struct build *b, const unsigned char *s, size_t n)
{
    const unsigned char *nul = memchr(s, '\0', n);

    if (nul != NULL && !(b->flags & NP_JSON_ALLOW_NUL)) {
        return "a string holds U+0000";
    }
    while (nul != NULL) { /* np_utf8_valid() refuses NUL: check the text around each */
        if (!np_utf8_valid((const char *)s, (size_t)(nul - s))) {
            return "a string is not valid UTF-8";
        }
        n -= (size_t)(nul - s) + 1;
        s = nul + 1;
        nul = memchr(s, '\0', n);
    }
    if (!np_utf8_valid((const char *)s, n)) {
        return "a string is not valid UTF-8";
    }
    return NULL;
}

static int on_null(void *ctx)
{
    struct build *b = ctx;

    return add(b, NP_JSON_NULL) != NULL;
}

static int on_boolean(void *ctx, int value)
{
    struct build *b = ctx;

    return add(b, value ? NP_JSON_TRUE : NP_JSON_FALSE) != NULL;
}

static int on_number(void *ctx, const char *s, size_t n)
{
    struct build *b = ctx;
    bool real = memchr(s, '.', n) != NULL || memchr(s, 'e', n) != NULL || memchr(s, 'E', n) != NULL;
    struct np_json *v = add(b, real ? NP_JSON_REAL : NP_JSON_INTEGER);
    char *end = NULL;

    if (v == NULL || (v->s = arena_text(b->doc, (const unsigned char *)s, n)) == NULL) {
        return no_memory(b);
    }
    v->len = n;
    errno = 0;
    if (real) {
        v->d = strtod(v->s, &end);
        if (errno == ERANGE && (v->d > 1.0 || v->d < -1.0)) {
            return stop(b, NP_JSON_RANGE, "a real number is out of range");
        }
    } else {
        long long i = strtoll(v->s, &end, 10);

        if (errno == ERANGE) {
            return stop(b, NP_JSON_RANGE, "an integer is out of range");
        }
        v->i = (int64_t)i;
        v->d = (double)i;
    }
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct build *b = ctx;
    const char *why = text_problem(b, s, n);
    struct np_json *v = why == NULL ? add(b, NP_JSON_STRING) : NULL;

    if (why != NULL) {
        return stop(b, NP_JSON_TEXT, why);
    }
    if (v == NULL || (v->s = arena_text(b->doc, s, n)) == NULL) {
        return no_memory(b);
    }
    v->len = n;
    return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
    struct build *b = ctx;
    const char *why = text_problem(b, s, n);

    if (why != NULL) {
        return stop(b, NP_JSON_TEXT, why);
    }
    b->key = arena_text(b->doc, s, n);
    b->key_len = n;
    return b->key != NULL ? 1 : no_memory(b);
}

static int open_container(struct build *b, enum np_json_type t)
{
    struct np_json *v = NULL;

    if (++b->depth > NP_JSON_NEST_MAX) {
        return stop(b, NP_JSON_DEEP, "arrays and objects nest too deep");
    }
    v = add(b, t);
    if (v == NULL) {
        return 0;
    }
    b->open = v;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, NP_JSON_OBJECT);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, NP_JSON_ARRAY);
}

static int cmp_keys(const void *a, const void *b)
{
    const struct np_json *x = *(const struct np_json *const *)a;
    const struct np_json *y = *(const struct np_json *const *)b;
    int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);

    return c != 0 ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* A key two members of obj share (NULL when none): pairwise for small objects, sorted
 * otherwise. */
static const char *duplicate_key(struct build *b, const struct np_json *obj)
{
    const struct np_json **keys = NULL;
    size_t i = 0;

    if (obj->n <= 16) {
        for (const struct np_json *x = obj->child; x != NULL; x = x->next) {
            for (const struct np_json *y = x->next; y != NULL; y = y->next) {
                if (x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0) {
                    return y->key;
                }
            }
        }
        return NULL;
    }
    /* An array of pointers: sizeof(*keys) is a pointer's size, as meant. */
    keys = arena_alloc(b->doc, obj->n * sizeof(*keys)); /* NOLINT(bugprone-sizeof-expression) */
    if (keys == NULL) {
        return NULL; /* caught as out of memory by the next allocation, if any */
    }
    for (const struct np_json *x = obj->child; x != NULL; x = x->next) {
        keys[i++] = x;
    }
    qsort(keys, obj->n, sizeof(*keys), cmp_keys); /* NOLINT(bugprone-sizeof-expression) */
    for (i = 1; i < obj->n; i++) {
        if (keys[i - 1]->key_len == keys[i]->key_len &&
            memcmp(keys[i - 1]->key, keys[i]->key, keys[i]->key_len) == 0) {
            return keys[i]->key;
        }
    }
    return NULL;
}

static int close_container(struct build *b)
{
    struct np_json *v = b->open;
    const char *dup = v->type == NP_JSON_OBJECT ? duplicate_key(b, v) : NULL;

    if (dup != NULL) {
        b->fault_key = dup;
        return stop(b, NP_JSON_DUPLICATE, "an object has a duplicate key");
    }
    b->open = v->up;
    b->depth--;
    if (v->up == NULL) {
        root_done(b);
    }
    return 1;
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* Records a failed parse in doc (fault, where, why: copied into the arena) and err. */
static int fail(struct np_json_doc *doc, enum np_json_fault fault, size_t at, const char *why,
                const char *what, struct np_err *err)
{
    size_t n = strcspn(why, "\n"); /* yajl's messages go on with a second line */
    char *copy = arena_alloc(doc, n + 1);
    int rc = fault == NP_JSON_NOMEM ? NP_ENOMEM : NP_EPARSE;

    doc->fault = fault;
    doc->fault_at = at;
    doc->fault_why = "out of memory";
    if (copy != NULL) {
        memcpy(copy, why, n);
        copy[n] = '\0';
        doc->fault_why = copy;
    }
    np_err_set(err, rc, what, "invalid JSON at byte %zu: %s", at, doc->fault_why);
    return rc;
}

/* Fills err and doc's fault from the callback's reason or from yajl's own message. at: where
 * yajl stopped. */
static int parse_error(yajl_handle h, const struct build *b, const unsigned char *buf, size_t len,
                       size_t at, struct np_err *err)
{
    unsigned char *msg = NULL;
    int rc = 0;

    if (b->why != NULL) {
        b->doc->fault_key = b->fault_key;
        return fail(b->doc, b->fault, at, b->why, b->what, err);
    }
    msg = yajl_get_error(h, 0, buf, len);
    rc = fail(b->doc, NP_JSON_SYNTAX, at, msg != NULL ? (const char *)msg : "unreadable", b->what,
              err);
    yajl_free_error(h, msg);
    return rc;
}

static int hex4(const unsigned char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (c | 0x20) - 'a' + 10;
        } else {
            return -1;
        }
    }
    return v;
}

/*
 * Offset of the first "\uD800".."\uDBFF" escape not followed by a low surrogate escape, or
 * len when there is none. yajl would decode it to '?'; Jansson refuses it, and so does this.
 * A backslash only ever starts an escape (outside strings it is a syntax error anyway), so
 * hopping from backslash to backslash, skipping the escaped character, sees every escape.
 */
static size_t unpaired_high_surrogate(const unsigned char *buf, size_t len)
{
    const unsigned char *p = buf;
    const unsigned char *end = buf + len;

    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 2) {
        int hi = -1;

        if (p[1] == 'u' && end - p >= 6) {
            hi = hex4(p + 2);
        }
        if (hi >= 0xD800 && hi <= 0xDBFF) {
            int lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;

            if (lo < 0xDC00 || lo > 0xDFFF) {
                return (size_t)(p - buf);
            }
            p += 12;
            continue;
        }
        p += 2;
    }
    return len;
}

int np_json_parse(struct np_json_doc *doc, const void *buf, size_t len, const char *what,
                  unsigned flags, struct np_err *err)
{
    struct build b = { .doc = doc, .what = what, .flags = flags };
    const unsigned char *p = buf != NULL ? buf : (const unsigned char *)"";
    yajl_handle h = NULL;
    yajl_status st;
    size_t at = 0;
    int rc = 0;

    arena_reset(doc);
    doc->root = NULL;
    doc->fault = NP_JSON_OK;
    doc->fault_key = NULL;
    doc->fault_why = NULL;
    doc->fault_at = 0;
    if (buf != NULL) {
        const unsigned char *ws = memchr(p, '\f', len);

        at = unpaired_high_surrogate(p, len);
        if (at < len) {
            return fail(doc, NP_JSON_TEXT, at, "an unpaired surrogate escape", what, err);
        }
        /* yajl skips form feeds and vertical tabs as white space; JSON does not (and a raw
         * control character inside a string is an error too), so any is an error. */
        if (ws == NULL) {
            ws = memchr(p, '\v', len);
        }
        if (ws != NULL) {
            return fail(doc, NP_JSON_SYNTAX, (size_t)(ws - p), "a control character", what, err);
        }
    }
    h = yajl_alloc(&callbacks, NULL, &b);
    if (h == NULL) {
        return fail(doc, NP_JSON_NOMEM, 0, "out of memory", what, err);
    }
    /* Strings are checked by text_problem() after decoding, more strictly than yajl does. */
    yajl_config(h, yajl_dont_validate_strings, 1);
    len = buf != NULL ? len : 0;
    b.h = h;
    b.len = len;
    st = yajl_parse(h, p, len);
    at = yajl_get_bytes_consumed(h);
    if (st == yajl_status_ok) {
        b.finishing = true;
        st = yajl_complete_parse(h); /* fails at the end of the text, if at all */
        at = len;
    }
    if (st == yajl_status_ok && b.root == NULL) {
        stop(&b, NP_JSON_SYNTAX, "no value");
    }
    if (st == yajl_status_ok && b.root != NULL) {
        at = b.end;
        while (at < len && (p[at] == ' ' || p[at] == '\t' || p[at] == '\n' || p[at] == '\r')) {
            at++;
        }
        if (at < len) {
            rc = fail(doc, NP_JSON_SYNTAX, at, "parse error: trailing garbage", what, err);
            yajl_free(h);
            return rc;
        }
    }
    if (st != yajl_status_ok || b.root == NULL) {
        rc = parse_error(h, &b, p, len, at, err);
    } else {
        doc->root = b.root;
    }
    yajl_free(h);
    return rc;
}

const struct np_json *np_json_get(const struct np_json *obj, const char *key)
{
    size_t n = strlen(key);

    if (obj == NULL || obj->type != NP_JSON_OBJECT) {
        return NULL;
    }
    for (const struct np_json *v = obj->child; v != NULL; v = v->next) {
        /* lengths first: with NP_JSON_ALLOW_NUL a key may hold U+0000 */
        if (v->key_len == n && memcmp(v->key, key, n) == 0) {
            return v;
        }
    }
    return NULL;
}

const char *np_json_string(const struct np_json *v)
{
    return v != NULL && v->type == NP_JSON_STRING ? v->s : NULL;
}

bool np_json_is_none(const struct np_json *v)
{
    return v == NULL || v->type == NP_JSON_NULL;
}

/* A byte that a JSON string holds as it is: no control character, quote or backslash. */
static inline bool plain_byte(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

bool np_json_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!plain_byte((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

void np_json_out_string(struct np_buf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    const unsigned char *run = p;

    np_buf_lit(o, "\"");
    for (; p < end; p++) {
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t k = 2;

        if (plain_byte(*p)) {
            continue;
        }
        np_buf_put(o, (const char *)run, (size_t)(p - run));
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
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 0xF];
                k = 6;
                break;
        }
        np_buf_put(o, esc, k);
        run = p + 1;
    }
    np_buf_put(o, (const char *)run, (size_t)(p - run));
    np_buf_lit(o, "\"");
}

void np_json_write(struct np_buf *o, const struct np_json *v)
{
    switch (v->type) {
        case NP_JSON_NULL:
            np_buf_lit(o, "null");
            break;
        case NP_JSON_FALSE:
            np_buf_lit(o, "false");
            break;
        case NP_JSON_TRUE:
            np_buf_lit(o, "true");
            break;
        case NP_JSON_INTEGER:
        case NP_JSON_REAL:
            np_buf_put(o, v->s, v->len);
            break;
        case NP_JSON_STRING:
            np_json_out_string(o, v->s, v->len);
            break;
        case NP_JSON_ARRAY:
        case NP_JSON_OBJECT: {
            bool obj = v->type == NP_JSON_OBJECT;

            np_buf_put(o, obj ? "{" : "[", 1);
            for (const struct np_json *c = v->child; c != NULL; c = c->next) {
                if (c != v->child) {
                    np_buf_lit(o, ",");
                }
                if (obj) {
                    np_json_out_string(o, c->key, c->key_len);
                    np_buf_lit(o, ":");
                }
                np_json_write(o, c);
            }
            np_buf_put(o, obj ? "}" : "]", 1);
            break;
        }
    }
}
