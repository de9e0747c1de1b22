/* push_feed.c - RSS 2.0, RSS 1.0 (RDF) and Atom 1.0 feeds read as articles
 *
 * newspipe-push hands a file whose first character is '<' to this module. It parses the
 * whole feed with libxml2 into a tree, then turns one item (RSS) or entry (Atom) at a time
 * into the JSON object ingest takes; ingest validates it like any other article.
 *
 * Choices:
 * - A whole-document parse, not a streaming reader: a feed is small next to the memory of
 *   the machine (PUSH_FEED_MAX bounds it), and a feed that is not well-formed is refused as a
 *   whole before anything is sent. A feed broken at one place may be misread before it (a
 *   wrong encoding, a cut-off download), and items are identified by their guid or link, so
 *   pushing the repaired feed again is safe: what was sent before counts as duplicates.
 * - Hostile XML: no XML_PARSE_NOENT (entities are not substituted), no DTD loading or
 *   validation, XML_PARSE_NONET, and no XML_PARSE_HUGE (libxml2's limits on depth and on the
 *   size of one text node stay). On top of that the SAX entityDecl callback stops the parser
 *   at the first <!ENTITY> declaration, general or parameter: a feed has no use for them, and
 *   they are how external-entity (XXE) and billion-laughs attacks work. A DOCTYPE without
 *   declarations (old RSS 0.91 feeds have one) is accepted and never fetched.
 * - Namespaces are matched by URI, never by prefix.
 * - Field mapping: see push_feed_next() and README ("Feeds"). Dates are normalised here with
 *   np_time_parse(); one it cannot read is not sent as published_at (ingest would refuse the
 *   whole item for it) but kept as "feed_date", which ingest stores in articles.extra.
 *   section (the publisher's section): the item's first category in a named scheme (RSS
 *   <category domain="...">, Atom <category scheme="...">), which stays a source tag too,
 *   else the channel's first category (RSS <category>, RSS 1.0 dc:subject, Atom feed
 *   <category>): a feed per section names it there.
 *   An RSS guid becomes the id when it is a permalink or a URI; any other guid is only unique
 *   within its channel, so it is prefixed with the channel's link (or title).
 */
#include "push_feed.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "np/article.h"
#include "np/text.h"
#include "np/time.h"
#include "np/utf8.h"

#define NS_ATOM    "http://www.w3.org/2005/Atom"
#define NS_RDF     "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_RSS1    "http://purl.org/rss/1.0/"
#define NS_RSS090  "http://my.netscape.com/rdf/simple/0.9/"
#define NS_DC      "http://purl.org/dc/elements/1.1/"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_XML     "http://www.w3.org/XML/1998/namespace"

enum feed_kind {
    KIND_RSS2, /* <rss>: 0.91, 0.92, 2.0 */
    KIND_RDF,  /* <rdf:RDF>: RSS 1.0 and 0.90 */
    KIND_ATOM, /* <feed> in the Atom 1.0 namespace */
};

struct push_feed {
    xmlDocPtr doc;
    enum feed_kind kind;
    const char *format;  /* static */
    const char *item_ns; /* namespace of the item elements (NULL: none), static */
    char *title;         /* owned, never NULL */
    char *link;      /* owned or NULL: the site's address; scopes guids, resolves relative links */
    char *lang;      /* owned or NULL */
    char *category;  /* owned or NULL: the channel's first category, the items' default section */
    xmlNodePtr feed; /* the channel or feed element (borrowed from doc) */
    xmlNodePtr *items; /* owned array, nodes borrowed from doc */
    size_t n;
    size_t next;
};

/* What the parser callbacks found, reached through ctxt->_private. */
struct parse_state {
    bool entity;
    char entity_name[64];
    bool have_error;
    int line;
    int column;
    char msg[160];
    char generic[96]; /* what libxml2 said without a context (an encoding error) */
};

/* The fields of one item as they are collected. */
struct fields {
    char *title;
    char *url;
    char *content;     /* full text: content:encoded, Atom content */
    char *description; /* description, Atom summary */
    char *date;        /* raw: pubDate, dc:date, Atom published */
    char *updated;     /* raw: Atom updated (used when there is no published) */
    char *id;
    char *section; /* RSS <category domain=...>, Atom <category scheme=...>: the first one */
    json_t *authors;
    json_t *tags;
    bool nomem;
};

bool push_feed_sniff(const char *buf, size_t len)
{
    size_t i = 0;

    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        i = 3;
    }
    while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0') {
        i++;
    }
    return i < len && buf[i] == '<';
}

/* Records the first error (not warning) with its position, silencing libxml2's own output. */
static void on_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    struct parse_state *st = ctxt != NULL ? ctxt->_private : NULL;
    size_t n = 0;

    if (st == NULL || e == NULL || e->level < XML_ERR_ERROR || st->have_error) {
        return;
    }
    st->have_error = true;
    st->line = e->line;
    st->column = e->int2;
    snprintf(st->msg, sizeof(st->msg), "%s", e->message != NULL ? e->message : "parse error");
    n = strlen(st->msg);
    while (n > 0 && (st->msg[n - 1] == '\n' || st->msg[n - 1] == ' ')) {
        st->msg[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        if (st->msg[i] == '\n') {
            st->msg[i] = ' ';
        }
    }
}

/* libxml2 reports a few errors (encoding conversion, I/O) without a parser context, through
 * its generic handler, which would print them on stderr: the start of the first is kept for the
 * error message instead. */
__attribute__((format(printf, 2, 3))) static void on_generic(void *ctx, const char *fmt, ...)
{
    struct parse_state *st = ctx;
    size_t n = strlen(st->generic);
    va_list ap;

    if (n + 1 >= sizeof(st->generic) || strchr(st->generic, '\n') != NULL) {
        return; /* full, or the first message is complete */
    }
    va_start(ap, fmt);
    vsnprintf(st->generic + n, sizeof(st->generic) - n, fmt, ap);
    va_end(ap);
}

/* Any entity declaration stops the parse: see the module comment. */
static void on_entity_decl(void *data, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    xmlParserCtxtPtr ctxt = data;
    struct parse_state *st = ctxt->_private;

    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    if (!st->entity) {
        st->entity = true;
        st->line = xmlSAX2GetLineNumber(ctxt);
        st->column = xmlSAX2GetColumnNumber(ctxt);
        snprintf(st->entity_name, sizeof(st->entity_name), "%s",
                 name != NULL ? (const char *)name : "");
    }
    xmlStopParser(ctxt);
}

static bool ns_is(xmlNodePtr n, const char *ns)
{
    if (ns == NULL) {
        return n->ns == NULL || n->ns->href == NULL;
    }
    return n->ns != NULL && n->ns->href != NULL && xmlStrEqual(n->ns->href, BAD_CAST ns);
}

/* True when n is the element ns:name (ns NULL: no namespace). */
static bool is_el(xmlNodePtr n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name) &&
           ns_is(n, ns);
}

static xmlNodePtr child_el(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
        if (is_el(c, ns, name)) {
            return c;
        }
    }
    return NULL;
}

/* Copies s with ASCII white space trimmed from both ends; NULL when nothing is left or s is
 * NULL. */
static char *trimmed(const char *s)
{
    size_t n = 0;
    char *c = NULL;

    if (s == NULL) {
        return NULL;
    }
    s += strspn(s, " \t\r\n");
    n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL) {
        n--;
    }
    if (n == 0) {
        return NULL;
    }
    c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* The text content of an element, trimmed, as a new string (free()), or NULL. */
static char *text_of(xmlNodePtr n, bool *nomem)
{
    xmlChar *t = xmlNodeGetContent(n);
    char *s = NULL;

    if (t == NULL) {
        return NULL;
    }
    s = trimmed((const char *)t);
    if (s == NULL && t[strspn((const char *)t, " \t\r\n")] != '\0') {
        *nomem = true;
    }
    xmlFree(t);
    return s;
}

/* HTML to plain text (np_text_strip_html); takes s. */
static char *html_to_text(char *s, bool *nomem)
{
    char *t = NULL;

    if (s == NULL) {
        return NULL;
    }
    t = np_text_strip_html(s);
    free(s);
    if (t == NULL) {
        *nomem = true;
        return NULL;
    }
    np_text_normalise_space(t, true);
    if (t[0] == '\0') {
        free(t);
        return NULL;
    }
    return t;
}

/* The markup inside an element (Atom type="xhtml"), serialised, as a new string. */
static char *inner_markup(xmlDocPtr doc, xmlNodePtr n, bool *nomem)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *s = NULL;

    if (buf == NULL) {
        *nomem = true;
        return NULL;
    }
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        xmlNodeDump(buf, doc, c, 0, 0);
    }
    s = trimmed((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

/* An Atom text construct (title, summary, content, rights) as plain text, or NULL. */
static char *atom_text(xmlDocPtr doc, xmlNodePtr n, bool *nomem)
{
    xmlChar *type = xmlGetProp(n, BAD_CAST "type");
    char *s = NULL;

    if (type == NULL || xmlStrEqual(type, BAD_CAST "text")) {
        s = text_of(n, nomem);
        if (s != NULL) {
            np_text_normalise_space(s, true);
        }
    } else if (xmlStrEqual(type, BAD_CAST "html") || xmlStrEqual(type, BAD_CAST "text/html")) {
        s = html_to_text(text_of(n, nomem), nomem);
    } else if (xmlStrEqual(type, BAD_CAST "xhtml") ||
               xmlStrEqual(type, BAD_CAST "application/xhtml+xml")) {
        s = html_to_text(inner_markup(doc, n, nomem), nomem);
    } else if (xmlStrncmp(type, BAD_CAST "text/", 5) == 0) {
        s = text_of(n, nomem);
    }
    /* Any other media type (base64 data, images) is not text: no body from it. */
    xmlFree(type);
    return s;
}

/* Sets *slot to v when it is still empty; otherwise frees v. */
static void keep_first(char **slot, char *v)
{
    if (*slot == NULL) {
        *slot = v;
    } else {
        free(v);
    }
}

/* s with its white space normalised, in place, as ingest does for a short field (NULL stays). */
static char *one_line(char *s)
{
    if (s != NULL) {
        np_text_normalise_space(s, false);
    }
    return s;
}

/* Appends v to a list of strings unless it is already there; takes v. */
static void list_add(struct fields *f, json_t *list, char *v)
{
    size_t i = 0;
    json_t *it = NULL;

    if (v == NULL) {
        return;
    }
    np_text_normalise_space(v, false);
    json_array_foreach(list, i, it)
    {
        if (strcmp(json_string_value(it), v) == 0) {
            free(v);
            return;
        }
    }
    if (v[0] != '\0' && json_array_size(list) < NP_LIST_MAX && np_utf8_valid(v, strlen(v)) &&
        json_array_append_new(list, json_string(v)) != 0) {
        f->nomem = true;
    }
    free(v);
}

/* RSS 2.0 <author> is "email (Name)" or an address alone: keeps the name when there is one. */
static char *rss_author(char *s)
{
    char *open = s != NULL ? strchr(s, '(') : NULL;
    char *close = open != NULL ? strrchr(open, ')') : NULL;
    char *name = NULL;

    if (close == NULL) {
        return s;
    }
    *close = '\0';
    name = trimmed(open + 1);
    if (name == NULL) {
        *close = ')';
        return s;
    }
    free(s);
    return name;
}

/* True when s starts with a URI scheme ("http:", "urn:", "tag:"). */
static bool is_uri(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

    return n > 1 && s[n] == ':' && strchr("0123456789+.-", s[0]) == NULL;
}

/* An RSS guid as an id: see the module comment. Takes guid. */
static char *guid_id(const struct push_feed *feed, char *guid, bool permalink, bool *nomem)
{
    const char *scope = feed->link != NULL ? feed->link : feed->title;
    size_t n = 0;
    char *id = NULL;

    if (guid == NULL || permalink || is_uri(guid)) {
        return guid;
    }
    if (scope[0] == '\0') {
        free(guid);
        return NULL;
    }
    n = strlen(scope) + strlen(guid) + 2;
    id = malloc(n);
    if (id == NULL) {
        *nomem = true;
    } else {
        snprintf(id, n, "%s#%s", scope, guid);
    }
    free(guid);
    return id;
}

/* One child of an RSS 2.0 item (elements without a namespace). */
static void rss2_field(struct fields *f, xmlNodePtr c, char **guid, bool *permalink)
{
    if (is_el(c, NULL, "title")) {
        keep_first(&f->title, html_to_text(text_of(c, &f->nomem), &f->nomem));
    } else if (is_el(c, NULL, "link")) {
        keep_first(&f->url, text_of(c, &f->nomem));
    } else if (is_el(c, NULL, "description")) {
        keep_first(&f->description, html_to_text(text_of(c, &f->nomem), &f->nomem));
    } else if (is_el(c, NULL, "pubDate")) {
        keep_first(&f->date, text_of(c, &f->nomem));
    } else if (is_el(c, NULL, "category")) {
        if (f->section == NULL && xmlHasProp(c, BAD_CAST "domain")) {
            /* A category in a named scheme is the publisher's section; it stays a tag too. */
            f->section = one_line(text_of(c, &f->nomem));
        }
        list_add(f, f->tags, text_of(c, &f->nomem));
    } else if (is_el(c, NULL, "author")) {
        list_add(f, f->authors, rss_author(text_of(c, &f->nomem)));
    } else if (is_el(c, NULL, "guid") && *guid == NULL) {
        xmlChar *p = xmlGetProp(c, BAD_CAST "isPermaLink");

        *guid = text_of(c, &f->nomem);
        *permalink = p == NULL || xmlStrcasecmp(p, BAD_CAST "true") == 0;
        xmlFree(p);
    }
}

/* Children every RSS flavour shares: Dublin Core and content:encoded. */
static void common_field(struct fields *f, xmlNodePtr c)
{
    if (is_el(c, NS_CONTENT, "encoded")) {
        keep_first(&f->content, html_to_text(text_of(c, &f->nomem), &f->nomem));
    } else if (is_el(c, NS_DC, "date")) {
        keep_first(&f->updated, text_of(c, &f->nomem));
    } else if (is_el(c, NS_DC, "creator")) {
        list_add(f, f->authors, text_of(c, &f->nomem));
    } else if (is_el(c, NS_DC, "subject")) {
        list_add(f, f->tags, text_of(c, &f->nomem));
    } else if (is_el(c, NS_DC, "title")) {
        keep_first(&f->title, html_to_text(text_of(c, &f->nomem), &f->nomem));
    } else if (is_el(c, NS_DC, "description")) {
        keep_first(&f->description, html_to_text(text_of(c, &f->nomem), &f->nomem));
    }
}

static void read_rss2(struct push_feed *feed, xmlNodePtr item, struct fields *f)
{
    char *guid = NULL;
    bool permalink = false;

    for (xmlNodePtr c = item->children; c != NULL; c = c->next) {
        rss2_field(f, c, &guid, &permalink);
        common_field(f, c);
    }
    if (guid != NULL && permalink && f->url == NULL) {
        f->url = strdup(guid);
        f->nomem |= f->url == NULL;
    }
    f->id = guid_id(feed, guid, permalink, &f->nomem);
}

static void read_rdf(struct push_feed *feed, xmlNodePtr item, struct fields *f)
{
    xmlChar *about = xmlGetNsProp(item, BAD_CAST "about", BAD_CAST NS_RDF);

    for (xmlNodePtr c = item->children; c != NULL; c = c->next) {
        if (is_el(c, feed->item_ns, "title")) {
            keep_first(&f->title, html_to_text(text_of(c, &f->nomem), &f->nomem));
        } else if (is_el(c, feed->item_ns, "link")) {
            keep_first(&f->url, text_of(c, &f->nomem));
        } else if (is_el(c, feed->item_ns, "description")) {
            keep_first(&f->description, html_to_text(text_of(c, &f->nomem), &f->nomem));
        }
        common_field(f, c);
    }
    /* rdf:about names the item with a URI, usually its link. */
    f->id = trimmed((const char *)about);
    xmlFree(about);
}

/* An Atom link's href, resolved against xml:base, when it is the entry's page. */
static char *atom_link(xmlDocPtr doc, xmlNodePtr c, bool *nomem)
{
    xmlChar *rel = xmlGetProp(c, BAD_CAST "rel");
    xmlChar *href = NULL;
    xmlChar *base = NULL;
    xmlChar *abs = NULL;
    char *s = NULL;

    if (rel != NULL && !xmlStrEqual(rel, BAD_CAST "alternate")) {
        xmlFree(rel);
        return NULL;
    }
    href = xmlGetProp(c, BAD_CAST "href");
    base = href != NULL ? xmlNodeGetBase(doc, c) : NULL;
    abs = href != NULL ? xmlBuildURI(href, base) : NULL;
    s = trimmed((const char *)(abs != NULL ? abs : href));
    if (s == NULL && href != NULL && href[strspn((const char *)href, " \t\r\n")] != '\0') {
        *nomem = true;
    }
    xmlFree(rel);
    xmlFree(href);
    xmlFree(base);
    xmlFree(abs);
    return s;
}

/* The names of an Atom person list (author) under parent, added to f->authors. */
static void atom_authors(struct fields *f, xmlNodePtr parent)
{
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
        xmlNodePtr name = is_el(c, NS_ATOM, "author") ? child_el(c, NS_ATOM, "name") : NULL;

        if (name != NULL) {
            list_add(f, f->authors, text_of(name, &f->nomem));
        }
    }
}

/* An Atom category's label, else its term; NULL when it has neither. */
static char *atom_category_name(xmlNodePtr c, bool *nomem)
{
    xmlChar *label = xmlGetProp(c, BAD_CAST "label");
    xmlChar *term = label == NULL ? xmlGetProp(c, BAD_CAST "term") : NULL;
    const char *name = (const char *)(label != NULL ? label : term);
    char *s = trimmed(name);

    if (s == NULL && name != NULL && name[strspn(name, " \t\r\n")] != '\0') {
        *nomem = true;
    }
    xmlFree(label);
    xmlFree(term);
    return s;
}

static void atom_category(struct fields *f, xmlNodePtr c)
{
    if (f->section == NULL && xmlHasProp(c, BAD_CAST "scheme")) {
        f->section = one_line(atom_category_name(c, &f->nomem));
    }
    list_add(f, f->tags, atom_category_name(c, &f->nomem));
}

static void read_atom(struct push_feed *feed, xmlNodePtr entry, struct fields *f)
{
    for (xmlNodePtr c = entry->children; c != NULL; c = c->next) {
        if (is_el(c, NS_ATOM, "title")) {
            keep_first(&f->title, atom_text(feed->doc, c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "link")) {
            keep_first(&f->url, atom_link(feed->doc, c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "content") && !xmlHasProp(c, BAD_CAST "src")) {
            keep_first(&f->content, atom_text(feed->doc, c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "summary")) {
            keep_first(&f->description, atom_text(feed->doc, c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "published")) {
            keep_first(&f->date, text_of(c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "updated")) {
            keep_first(&f->updated, text_of(c, &f->nomem));
        } else if (is_el(c, NS_ATOM, "category")) {
            atom_category(f, c);
        } else if (is_el(c, NS_ATOM, "id")) {
            keep_first(&f->id, text_of(c, &f->nomem));
        }
    }
    atom_authors(f, entry);
    if (json_array_size(f->authors) == 0) {
        /* An entry without an author has its feed's (RFC 4287, 4.2.1). */
        atom_authors(f, feed->feed);
    }
}

static void set_str(json_t *o, const char *key, const char *v, bool *nomem)
{
    if (v != NULL && v[0] != '\0' && np_utf8_valid(v, strlen(v)) &&
        json_object_set_new(o, key, json_string(v)) != 0) {
        *nomem = true;
    }
}

/* Builds the article object from the collected fields. */
static json_t *to_json(const struct push_feed *feed, struct fields *f)
{
    json_t *o = json_object();
    const char *date = f->date != NULL ? f->date : f->updated;
    int64_t t = 0;

    if (o == NULL) {
        return NULL;
    }
    set_str(o, "title", f->title, &f->nomem);
    if (f->url != NULL && !is_uri(f->url) && feed->link != NULL) {
        /* A relative link (Atom allows them; xml:base was applied already): the site's. */
        xmlChar *abs = xmlBuildURI(BAD_CAST f->url, BAD_CAST feed->link);

        if (abs != NULL) {
            free(f->url);
            f->url = strdup((const char *)abs);
            f->nomem |= f->url == NULL;
            xmlFree(abs);
        }
    }
    set_str(o, "url", f->url, &f->nomem);
    if (f->content != NULL) {
        set_str(o, "body", f->content, &f->nomem);
        if (f->description != NULL && strcmp(f->description, f->content) != 0) {
            set_str(o, "summary", f->description, &f->nomem);
        }
    } else {
        set_str(o, "body", f->description, &f->nomem);
    }
    if (date != NULL && np_time_parse(date, "published_at", &t, NULL) == 0) {
        char buf[32];

        np_time_format(t, buf, sizeof(buf));
        set_str(o, "published_at", buf, &f->nomem);
    } else {
        set_str(o, "feed_date", date, &f->nomem);
    }
    if (f->id != NULL && strlen(f->id) <= NP_ID_MAX) {
        set_str(o, "id", f->id, &f->nomem);
    }
    set_str(o, "source", feed->title, &f->nomem);
    set_str(o, "lang", feed->lang, &f->nomem);
    set_str(o, "section", f->section != NULL ? f->section : feed->category, &f->nomem);
    if (json_array_size(f->authors) > 0 && json_object_set(o, "authors", f->authors) != 0) {
        f->nomem = true;
    }
    if (json_array_size(f->tags) > 0 && json_object_set(o, "source_tags", f->tags) != 0) {
        f->nomem = true;
    }
    if (f->nomem) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void fields_cleanup(struct fields *f)
{
    free(f->title);
    free(f->url);
    free(f->content);
    free(f->description);
    free(f->date);
    free(f->updated);
    free(f->id);
    free(f->section);
    json_decref(f->authors);
    json_decref(f->tags);
}

int push_feed_next(struct push_feed *f, json_t **out, long *line)
{
    struct fields fl = { 0 };
    xmlNodePtr item = NULL;
    json_t *o = NULL;

    if (f->next >= f->n) {
        return 0;
    }
    item = f->items[f->next++];
    fl.authors = json_array();
    fl.tags = json_array();
    if (fl.authors == NULL || fl.tags == NULL) {
        fields_cleanup(&fl);
        return NP_ENOMEM;
    }
    switch (f->kind) {
        case KIND_RSS2:
            read_rss2(f, item, &fl);
            break;
        case KIND_RDF:
            read_rdf(f, item, &fl);
            break;
        case KIND_ATOM:
            read_atom(f, item, &fl);
            break;
    }
    o = to_json(f, &fl);
    fields_cleanup(&fl);
    if (o == NULL) {
        return NP_ENOMEM;
    }
    *line = xmlGetLineNo(item);
    *out = o;
    return 1;
}

/* Collects the item elements (ns:name) among parent's children. */
static int collect_items(struct push_feed *f, xmlNodePtr parent, const char *ns, const char *name)
{
    size_t cap = 0;

    for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
        if (!is_el(c, ns, name)) {
            continue;
        }
        if (f->n == cap) {
            size_t ncap = cap == 0 ? 64 : cap * 2;
            xmlNodePtr *p = realloc(f->items, ncap * sizeof(xmlNodePtr));

            if (p == NULL) {
                return NP_ENOMEM;
            }
            f->items = p;
            cap = ncap;
        }
        f->items[f->n++] = c;
    }
    return 0;
}

/* A string property of the feed (title, language), copied; "" when absent. */
static char *feed_text(xmlNodePtr parent, const char *ns, const char *name, bool html)
{
    xmlNodePtr n = parent != NULL ? child_el(parent, ns, name) : NULL;
    bool nomem = false;
    char *s = n != NULL ? text_of(n, &nomem) : NULL;

    return html ? html_to_text(s, &nomem) : s;
}

/* Works out which feed the root element is; fills kind, format, feed, items, title, link. */
static int recognise(struct push_feed *f, struct np_err *err)
{
    xmlNodePtr root = xmlDocGetRootElement(f->doc);
    xmlChar *version = NULL;
    int rc = 0;

    if (root == NULL) {
        return np_err_set(err, NP_EPARSE, "", "the document has no root element");
    }
    if (is_el(root, NULL, "rss")) {
        version = xmlGetProp(root, BAD_CAST "version");
        f->kind = KIND_RSS2;
        f->format = version != NULL && xmlStrncmp(version, BAD_CAST "0.9", 3) == 0
                        ? (xmlStrEqual(version, BAD_CAST "0.91") ? "RSS 0.91" : "RSS 0.92")
                        : "RSS 2.0";
        xmlFree(version);
        f->feed = child_el(root, NULL, "channel");
        if (f->feed == NULL) {
            return np_err_set(err, NP_EPARSE, "", "line %ld: <rss> has no <channel>",
                              xmlGetLineNo(root));
        }
        rc = collect_items(f, f->feed, NULL, "item");
        f->lang = feed_text(f->feed, NULL, "language", false);
        f->link = feed_text(f->feed, NULL, "link", false);
        f->title = feed_text(f->feed, NULL, "title", true);
        f->category = one_line(feed_text(f->feed, NULL, "category", false));
    } else if (is_el(root, NS_RDF, "RDF")) {
        f->kind = KIND_RDF;
        bool rss1 = child_el(root, NS_RSS1, "channel") != NULL;

        f->item_ns = rss1 ? NS_RSS1 : NS_RSS090;
        f->format = rss1 ? "RSS 1.0" : "RSS 0.90";
        f->feed = child_el(root, f->item_ns, "channel");
        if (f->feed == NULL) {
            return np_err_set(err, NP_EPARSE, "",
                              "line %ld: <rdf:RDF> holds no RSS 1.0 or 0.90 <channel>",
                              xmlGetLineNo(root));
        }
        rc = collect_items(f, root, f->item_ns, "item");
        f->lang = feed_text(f->feed, NS_DC, "language", false);
        f->link = feed_text(f->feed, f->item_ns, "link", false);
        f->title = feed_text(f->feed, f->item_ns, "title", true);
        f->category = one_line(feed_text(f->feed, NS_DC, "subject", false));
    } else if (is_el(root, NS_ATOM, "feed")) {
        xmlNodePtr t = child_el(root, NS_ATOM, "title");
        bool nomem = false;

        f->kind = KIND_ATOM;
        f->format = "Atom 1.0";
        f->feed = root;
        rc = collect_items(f, root, NS_ATOM, "entry");
        f->title = t != NULL ? atom_text(f->doc, t, &nomem) : NULL;
        f->lang = (char *)xmlNodeGetLang(root);
        if (f->lang != NULL) {
            char *l = trimmed(f->lang);

            xmlFree(f->lang);
            f->lang = l;
        }
        for (xmlNodePtr c = root->children; c != NULL && f->link == NULL; c = c->next) {
            f->link = is_el(c, NS_ATOM, "link") ? atom_link(f->doc, c, &nomem) : NULL;
        }
        for (xmlNodePtr c = root->children; c != NULL && f->category == NULL; c = c->next) {
            f->category =
                is_el(c, NS_ATOM, "category") ? one_line(atom_category_name(c, &nomem)) : NULL;
        }
    } else {
        return np_err_set(
            err, NP_EPARSE, "", "line %ld: not an RSS or Atom feed: the root element is <%s>%s%s",
            xmlGetLineNo(root), (const char *)root->name,
            root->ns != NULL && root->ns->href != NULL ? " in namespace " : "",
            root->ns != NULL && root->ns->href != NULL ? (const char *)root->ns->href : "");
    }
    if (rc == 0 && f->title == NULL) {
        f->title = strdup("");
    }
    return rc != 0 || f->title == NULL ? np_err_set(err, NP_ENOMEM, "", "out of memory") : 0;
}

/* Parses buf with the protections of the module comment into *out. Returns 0, NP_EPARSE or
 * NP_ENOMEM (err says why). */
static int parse(const char *buf, size_t len, xmlDocPtr *out, struct np_err *err)
{
    struct parse_state st = { 0 };
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlDocPtr doc = NULL;
    int rc = 0;

    if (ctxt == NULL) {
        return np_err_set(err, NP_ENOMEM, "", "out of memory");
    }
    ctxt->_private = &st;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->serror = on_error;
    ctxt->sax->initialized = XML_SAX2_MAGIC;
    xmlSetGenericErrorFunc(&st, on_generic);
    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlSetGenericErrorFunc(NULL, NULL); /* NULL: libxml2's default again */
    if (st.entity) {
        rc = np_err_set(err, NP_EPARSE, "",
                        "line %d, column %d: the feed declares an entity (<!ENTITY %s ...>); "
                        "entity declarations are refused (external-entity and billion-laughs "
                        "attacks use them)",
                        st.line, st.column, st.entity_name);
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc == NULL || !ctxt->wellFormed) {
        st.generic[strcspn(st.generic, "\n")] = '\0';
        if (st.have_error) {
            rc = np_err_set(err, NP_EPARSE, "", "line %d, column %d: %s%s%s%s", st.line, st.column,
                            st.msg, st.generic[0] != '\0' ? " (" : "", st.generic,
                            st.generic[0] != '\0' ? ")" : "");
        } else {
            rc = np_err_set(err, NP_EPARSE, "", "not well-formed XML");
        }
        xmlFreeDoc(doc);
        doc = NULL;
    }
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    *out = doc;
    return doc != NULL ? 0 : rc;
}

int push_feed_open(const char *buf, size_t len, struct push_feed **out, struct np_err *err)
{
    struct push_feed *f = NULL;
    int rc = 0;

    if (len > PUSH_FEED_MAX) {
        return np_err_set(err, NP_ETOOBIG, "", "the feed is %zu bytes, over the limit of %d MiB",
                          len, PUSH_FEED_MAX / (1024 * 1024));
    }
    xmlInitParser();
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return np_err_set(err, NP_ENOMEM, "", "out of memory");
    }
    rc = parse(buf, len, &f->doc, err);
    if (rc == 0) {
        rc = recognise(f, err);
    }
    if (rc != 0) {
        push_feed_destroy(&f);
        return rc;
    }
    *out = f;
    return 0;
}

const char *push_feed_format(const struct push_feed *f)
{
    return f->format;
}

const char *push_feed_title(const struct push_feed *f)
{
    return f->title;
}

size_t push_feed_count(const struct push_feed *f)
{
    return f->n;
}

size_t push_feed_position(const struct push_feed *f)
{
    return f->next;
}

void push_feed_destroy(struct push_feed **fp)
{
    struct push_feed *f = fp != NULL ? *fp : NULL;

    if (f == NULL) {
        return;
    }
    xmlFreeDoc(f->doc);
    free(f->items);
    free(f->title);
    free(f->link);
    free(f->lang);
    free(f->category);
    free(f);
    *fp = NULL;
}
