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

/* A list of owned strings. */
struct np_strlist {
    char **items; /* owned, each owned */
    size_t len;
};

/* One validated, normalised article. All strings are owned, UTF-8, NUL-free. */
struct np_article {
    char *id;             /* client id, else derived (np_article_derive_id) */
    char *title;          /* whitespace-normalised, non-empty */
    char *body;           /* plain text (HTML stripped), "" when headline-only, or NULL */
    char *summary;        /* or NULL */
    char *background;     /* or NULL */
    char *insights;       /* or NULL */
    char *url;            /* normalised absolute http(s) URL or NULL */
    char *source;         /* or NULL */
    char *lang;           /* or NULL */
    char *region;         /* or NULL */
    int64_t published_at; /* microseconds since the epoch, UTC, or NP_TIME_NONE (np/time.h) */
    struct np_strlist authors;
    struct np_strlist source_tags;
    json_t *extra; /* owned object: fields this model does not know, kept as given; never NULL */
};

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

/* Frees an article and sets *ap to NULL. Accepts NULL and *ap == NULL. */
/* True when a has a title and neither body nor summary (its body is then ""). */
bool np_article_headline_only(const struct np_article *a);

void np_article_destroy(struct np_article **ap);

/*
 * Derives the id from the normalised url when given, else from source + title + published_at:
 * a lower-case hex BLAKE2b-128 digest of the input, prefixed "u-" (url) or "t-" (title), so the
 * same article pushed twice gets the same id. Writes a NUL-terminated id of at most 35 bytes
 * into buf (len >= 36).
 */
void np_article_derive_id(const struct np_article *a, char *buf, size_t len);

#endif /* NP_ARTICLE_H */
