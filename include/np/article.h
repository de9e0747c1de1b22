/* article.h - the article a client sends: parse, validate, normalise, derive the id
 *
 * The wire contract (docs/ARCHITECTURE.md, "Wire format"). ingest parses each client message
 * with np_article_parse() and writes the canonical form with np_article_to_json(); classify and
 * store read that canonical JSON (which is itself a valid client article).
 */
#ifndef NP_ARTICLE_H
#define NP_ARTICLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "np/err.h"
#include "np/time.h"

/* Size limits, in bytes of UTF-8. A client message is at most NP_ARTICLE_MAX. */
#define NP_ARTICLE_MAX    (1024 * 1024)
#define NP_TITLE_MAX      (2 * 1024)
#define NP_TEXT_MAX       (1000 * 1024) /* body, summary, background, insights */
#define NP_URL_MAX        (4 * 1024)
#define NP_SHORT_MAX      (512) /* source, lang, region, id, each author, each tag */
#define NP_LIST_MAX       (100) /* authors, source_tags */
#define NP_JSON_DEPTH_MAX (32)  /* nesting allowed in extra fields */
#define NP_ID_MAX         (NP_SHORT_MAX)

/*
 * The field table: every field of the article model, once. Everything that lists fields is
 * derived from it: the members of struct np_article, np_article_fields[] (how
 * np_article_parse() reads each one), the canonical writers, the keys that do not go to extra,
 * struct np_article_view and the text classify reads, and store's columns. Adding a field is
 * one line here (plus, when it has a column, a migration adding that column).
 *
 * X(name, kind, max, store, scan):
 *   name   the JSON key and the struct member
 *   kind   ID     client id, kept byte for byte (no control characters, not blank)
 *          TITLE  required, white space normalised
 *          TEXT   HTML stripped to plain text, paragraph breaks kept
 *          SHORT  white space normalised
 *          URL    normalised absolute http(s) URL (np_url_normalise)
 *          DATE   a date (np_time_parse), held as int64_t microseconds or NP_TIME_NONE
 *          LIST   an array of SHORT strings, held as struct np_strlist (at most NP_LIST_MAX)
 *   max    its limit in bytes as sent (of each item for LIST)
 *   store  COLUMN: store writes it to the column of articles of the same name;
 *          EXTRA: store keeps it in articles.extra
 *   scan   1, 2, ...: classify reads it as text, in that order (the order its evidence and
 *          scores were defined with); 0: classify does not read it
 */
#define NP_ARTICLE_FIELDS(X)                                                                       \
    X(id, ID, NP_ID_MAX, COLUMN, 0)                                                                \
    X(title, TITLE, NP_TITLE_MAX, COLUMN, 1)                                                       \
    X(body, TEXT, NP_TEXT_MAX, COLUMN, 3)                                                          \
    X(summary, TEXT, NP_TEXT_MAX, COLUMN, 2)                                                       \
    X(background, TEXT, NP_TEXT_MAX, EXTRA, 4)                                                     \
    X(insights, TEXT, NP_TEXT_MAX, EXTRA, 5)                                                       \
    X(url, URL, NP_URL_MAX, COLUMN, 0)                                                             \
    X(source, SHORT, NP_SHORT_MAX, COLUMN, 0)                                                      \
    X(lang, SHORT, NP_SHORT_MAX, COLUMN, 0)                                                        \
    X(region, SHORT, NP_SHORT_MAX, COLUMN, 0)                                                      \
    X(section, SHORT, NP_SHORT_MAX, COLUMN, 0)                                                     \
    X(published_at, DATE, NP_SHORT_MAX, COLUMN, 0)                                                 \
    X(authors, LIST, NP_SHORT_MAX, EXTRA, 0)                                                       \
    X(source_tags, LIST, NP_SHORT_MAX, COLUMN, 0)

/* How a field is read (the kind column of NP_ARTICLE_FIELDS). */
enum np_field_kind {
    NP_KIND_ID,
    NP_KIND_TITLE,
    NP_KIND_TEXT,
    NP_KIND_SHORT,
    NP_KIND_URL,
    NP_KIND_DATE,
    NP_KIND_LIST,
};

/* Where store keeps a field (the store column of NP_ARTICLE_FIELDS). */
enum np_field_store {
    NP_STORE_COLUMN,
    NP_STORE_EXTRA,
};

/* The fields by position: NP_FIELD_<name> (lower case: the name as written in the table). */
enum np_field {
#define NP_X_(name, kind, max, store, scan) NP_FIELD_##name,
    NP_ARTICLE_FIELDS(NP_X_)
#undef NP_X_
    NP_FIELD_COUNT
};

/* Number of fields classify reads (scan > 0). Each field adds a term "+ (scan > 0)", so the
 * replacement list cannot be parenthesised as a whole. */
enum {
    NP_FIELD_SCANNED = 0
#define NP_X_(name, kind, max, store, scan) +((scan) > 0) /* NOLINT(bugprone-macro-parentheses) */
        NP_ARTICLE_FIELDS(NP_X_)
#undef NP_X_
};

/* A list of owned strings. */
struct np_strlist {
    char **items; /* owned, each owned */
    size_t len;
};

#define NP_ARTICLE_MEMBER_ID(name)    char *name;
#define NP_ARTICLE_MEMBER_TITLE(name) char *name;
#define NP_ARTICLE_MEMBER_TEXT(name)  char *name;
#define NP_ARTICLE_MEMBER_SHORT(name) char *name;
#define NP_ARTICLE_MEMBER_URL(name)   char *name;
#define NP_ARTICLE_MEMBER_DATE(name)  int64_t name;
#define NP_ARTICLE_MEMBER_LIST(name)  struct np_strlist name;

/*
 * One validated, normalised article: a member per field of the table (char * or NULL when
 * absent; DATE int64_t or NP_TIME_NONE; LIST struct np_strlist), then extra. All strings are
 * owned, UTF-8, NUL-free. id is always set (the client's, else np_article_derive_id()), title
 * is non-empty, body is "" when the article is headline-only.
 */
struct np_article {
#define NP_X_(name, kind, max, store, scan) NP_ARTICLE_MEMBER_##kind(name)
    NP_ARTICLE_FIELDS(NP_X_)
#undef NP_X_
    json_t *extra; /* owned object: fields this model does not know, kept as given; never NULL */
};

/* One row of the field table, as data. */
struct np_field_info {
    const char *name;
    enum np_field_kind kind;
    size_t max;
    enum np_field_store store;
    int scan;
    size_t offset; /* of the member in struct np_article */
};

/* The field table, indexed by enum np_field. */
extern const struct np_field_info np_article_fields[NP_FIELD_COUNT];

/* The field named key (its JSON key), or NULL when the model has no such field. */
const struct np_field_info *np_article_field(const char *key);

/*
 * A read-only view of an article's string fields: text[f] for enum np_field f, NULL when
 * absent (and for DATE and LIST fields). The pointers are borrowed from whatever holds the text
 * (a struct np_article, a parsed canonical document) and valid while it lives.
 */
struct np_article_view {
    const char *text[NP_FIELD_COUNT];
};

/* Fills *v with views of a's string fields (borrowed from a). */
void np_article_view_of(const struct np_article *a, struct np_article_view *v);

/*
 * Parses one client message (at most NP_ARTICLE_MAX bytes, need not be NUL-terminated) into a
 * new article, validating and normalising every field. On success stores it in *out (free with
 * np_article_destroy()) and returns 0. Otherwise returns NP_EPARSE (not JSON, not an object,
 * invalid UTF-8, NUL byte), NP_EINVAL (a field missing, of the wrong type, or invalid),
 * NP_ETOOBIG (message or field over its limit) or NP_ENOMEM; err, when not NULL, then names the
 * field and the reason. *out is untouched on failure.
 */
int np_article_parse(const void *buf, size_t len, struct np_article **out, struct np_err *err);

/*
 * Returns a new JSON object (json_decref() it) holding the canonical form: every present field,
 * normalised, with "id" set and "published_at" as "YYYY-MM-DDTHH:MM:SSZ", plus the extra fields.
 * NULL on allocation failure.
 */
json_t *np_article_to_json(const struct np_article *a);

/*
 * Writes the same canonical JSON document as np_article_to_json() straight into a new buffer
 * (*out, free(); *len bytes, not NUL-terminated), without building a Jansson tree: what ingest
 * forwards. a must come from np_article_parse() (valid UTF-8, no NUL, title and id set).
 * Returns 0 or NP_ENOMEM.
 */
int np_article_write_json(const struct np_article *a, char **out, size_t *len);

/* True when a has a title and neither body nor summary (its body is then ""). */
bool np_article_headline_only(const struct np_article *a);

/* Frees an article and sets *ap to NULL. Accepts NULL and *ap == NULL. */
void np_article_destroy(struct np_article **ap);

/*
 * Derives the id from the normalised url when given, else from source + title + published_at:
 * a lower-case hex BLAKE2b-128 digest of the input, prefixed "u-" (url) or "t-" (title), so the
 * same article pushed twice gets the same id. Writes a NUL-terminated id of at most 35 bytes
 * into buf (len >= 36).
 */
void np_article_derive_id(const struct np_article *a, char *buf, size_t len);

#endif /* NP_ARTICLE_H */
