/* push_feed.h - RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 feeds read as articles */
#ifndef PUSH_FEED_H
#define PUSH_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "np/err.h"

/* Largest feed read (bytes of the file as given). */
#define PUSH_FEED_MAX (64 * 1024 * 1024)

/* A parsed feed and the position of the next item in it (opaque). */
struct push_feed;

/*
 * True when buf looks like XML: its first character after an optional UTF-8 byte order mark
 * and white space is '<'. No JSON document or plain-text article starts that way, so such an
 * input is read as a feed (push_feed_open() then says when it is not one).
 */
bool push_feed_sniff(const char *buf, size_t len);

/*
 * Parses a whole feed, recognised by its root element (not by a file name): <rss> (RSS 0.9x
 * and 2.0), <rdf:RDF> holding RSS 1.0 or 0.90 items, or an Atom 1.0 <feed>. The parser loads
 * nothing from the network or the disk, expands no entity and refuses any entity declaration
 * (the way of external-entity and billion-laughs attacks), and inputs over PUSH_FEED_MAX.
 *
 * On success stores a new feed in *out (push_feed_destroy()) and returns 0. Returns NP_ETOOBIG
 * (too large), NP_EPARSE (not well-formed XML, invalid UTF-8, an entity declaration, or not a
 * feed: err's message says which and, for XML errors, names the line and column), or
 * NP_ENOMEM. *out is untouched on failure. Not thread-safe with other libxml2 users: while it
 * parses, libxml2's generic error handler is silenced (and set back to the default after).
 */
int push_feed_open(const char *buf, size_t len, struct push_feed **out, struct np_err *err);

/* The feed's format ("RSS 2.0", "RSS 1.0", "RSS 0.90", "RSS 0.91", "Atom 1.0"), static. */
const char *push_feed_format(const struct push_feed *f);

/* The channel or feed title ("" when it has none); borrowed, valid until the feed is
 * destroyed. */
const char *push_feed_title(const struct push_feed *f);

/* Number of items or entries in the feed. */
size_t push_feed_count(const struct push_feed *f);

/* Index of the next item push_feed_next() gives (0 .. push_feed_count()). */
size_t push_feed_position(const struct push_feed *f);

/*
 * Converts the next item or entry into a new JSON object (json_decref()) with the fields
 * ingest takes: title, url, body (and summary when the item has both full content and a
 * description), published_at, authors, source_tags, id, source, lang. Fields the item lacks
 * are left out; an item with only a title gives {"title": ..., "source": ...}. *line receives
 * the item's line in the input (for messages). Returns 1 with *out set, 0 when there are no
 * more items, or NP_ENOMEM.
 */
int push_feed_next(struct push_feed *f, json_t **out, long *line);

/* Frees the feed and sets *fp to NULL. Accepts NULL and a pointer to NULL. */
void push_feed_destroy(struct push_feed **fp);

#endif /* PUSH_FEED_H */
