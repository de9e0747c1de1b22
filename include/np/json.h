/* json.h - a read-only JSON document for the per-message path of classify and store
 *
 * Every message crosses two JSON frames in classify and store (the envelope and the article).
 * Jansson, which the rest of newspipe uses, parses at about 80 MB/s (12.5 us for a 1 KB
 * Reuters article) and allocates every value separately: that parse alone was a third of
 * classify's and store's CPU. This document is built by yajl's event parser (~870 MB/s on the
 * same text) into one arena that is reused from message to message, so a typical message costs
 * no allocation at all.
 *
 * The same input is accepted as by Jansson's json_loadb(buf, len, JSON_REJECT_DUPLICATES):
 * one JSON value, no trailing garbage, strict UTF-8 (checked on each decoded string, so an
 * overlong form or a surrogate is refused), no U+0000 inside a string, no duplicate key in an
 * object, integers within int64_t and reals within double. Two differences, both stricter: at
 * most NP_JSON_NEST_MAX levels of nesting (Jansson: 2048), and a raw NUL byte after the value is
 * trailing garbage (Jansson stops reading there).
 * (yajl itself would decode an unpaired high surrogate escape to '?': a scan for those runs
 * first, so that one is refused as Jansson refuses it.) tests/unit/test_json.c holds both
 * parsers to this on JSONTestSuite and on Reuters.
 *
 * Usage:
 *     struct np_json_doc doc = { 0 };
 *     if (np_json_parse(&doc, buf, len, "envelope", 0, &err) == 0) {
 *         const char *id = np_json_string(np_json_get(doc.root, "id"));
 *     }
 *     ... np_json_parse(&doc, ...) again: the previous values are gone ...
 *     np_json_doc_free(&doc);
 */
#ifndef NP_JSON_H
#define NP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/buf.h"
#include "np/err.h"

/* Arrays and objects inside one another; the canonical article needs NP_JSON_DEPTH_MAX + 1. */
#define NP_JSON_NEST_MAX 64

enum np_json_type {
    NP_JSON_NULL,
    NP_JSON_FALSE,
    NP_JSON_TRUE,
    NP_JSON_INTEGER,
    NP_JSON_REAL,
    NP_JSON_STRING,
    NP_JSON_ARRAY,
    NP_JSON_OBJECT,
};

/* One value. Every pointer points into the document's arena. */
struct np_json {
    enum np_json_type type;
    const char *key;       /* a member of an object: its key (NUL-terminated), else NULL */
    size_t key_len;        /* bytes of key */
    const char *s;         /* STRING: the decoded text; INTEGER, REAL: the number as written.
                            * NUL-terminated. NULL for other types */
    size_t len;            /* bytes of s */
    int64_t i;             /* INTEGER */
    double d;              /* INTEGER (converted) and REAL */
    size_t n;              /* ARRAY, OBJECT: number of children */
    struct np_json *child; /* ARRAY, OBJECT: first child, in document order */
    struct np_json *next;  /* next sibling */
    struct np_json *up;    /* the array or object holding this value, NULL for the root */
    struct np_json *last;  /* ARRAY, OBJECT: last child (for appending while parsing) */
};

struct np_json_chunk;

/* Why a parse failed, for callers that word their own errors (np_article_parse). */
enum np_json_fault {
    NP_JSON_OK,
    NP_JSON_SYNTAX,    /* not JSON */
    NP_JSON_TEXT,      /* a string or key: invalid UTF-8, or U+0000 (without ALLOW_NUL) */
    NP_JSON_DUPLICATE, /* an object repeats a key: fault_key */
    NP_JSON_DEEP,      /* over NP_JSON_NEST_MAX levels */
    NP_JSON_RANGE,     /* a number out of int64_t or double range */
    NP_JSON_NOMEM,
};

/* A parsed document: root, and the arena holding every value. Zero-initialise before use. */
struct np_json_doc {
    const struct np_json *root; /* NULL until a parse succeeds */
    enum np_json_fault fault;   /* after a failed parse: why ... */
    const char *fault_why;      /* ... in words ("parse error: premature EOF") ... */
    const char *fault_key;      /* ... the repeated key (NP_JSON_DUPLICATE) ... */
    size_t fault_at;            /* ... and about where (byte offset) */
    struct np_json_chunk *chunks;
};

/* np_json_parse() flags. */
#define NP_JSON_ALLOW_NUL 1u /* strings and keys may hold U+0000 (their lengths tell) */

/*
 * Parses buf[0..len) (need not be NUL-terminated) into doc, replacing what doc held. flags: 0
 * or NP_JSON_ALLOW_NUL. Returns 0; or NP_EPARSE with err naming `what` ("envelope: invalid JSON
 * at byte 12: ...") and doc->root NULL, doc->fault saying why; or NP_ENOMEM.
 */
int np_json_parse(struct np_json_doc *doc, const void *buf, size_t len, const char *what,
                  unsigned flags, struct np_err *err);

/* Releases doc's arena; doc is empty and reusable afterwards. */
void np_json_doc_free(struct np_json_doc *doc);

/* The member `key` of obj; NULL when obj is NULL, not an object, or has no such member. */
const struct np_json *np_json_get(const struct np_json *obj, const char *key);

/* v's text when v is a string, else NULL. */
const char *np_json_string(const struct np_json *v);

/* True for an absent value (NULL) or JSON null. */
bool np_json_is_none(const struct np_json *v);

/* Appends s[0..n) as a JSON string, escaped as Jansson escapes ('"', '\\', controls). */
void np_json_out_string(struct np_buf *o, const char *s, size_t n);

/* True when np_json_out_string() would copy s[0..n) as it is, between the quotes. */
bool np_json_plain(const char *s, size_t n);

/* Appends v as compact JSON (no spaces), members in document order, numbers as written. */
void np_json_write(struct np_buf *o, const struct np_json *v);

#endif /* NP_JSON_H */
