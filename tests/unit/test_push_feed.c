/* test_push_feed.c - RSS and Atom feeds read as articles (tests/data/feeds, examples/) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "push_feed.h"
#include "test_util.h"
#include "np/article.h"

/* A feed read whole: its articles in order. */
struct parsed {
    struct push_feed *feed;
    json_t *items; /* array of the article objects */
    long lines[16];
};

static char *load(const char *dir_env, const char *name, size_t *len)
{
    char path[1024];
    const char *dir = getenv(dir_env);
    char *buf = NULL;

    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf = t_slurp(path, len);
    if (buf == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
    }
    assert_non_null(buf);
    return buf;
}

/* Opens buf as a feed (must succeed) and reads every item into p. */
static void read_all(const char *buf, size_t len, struct parsed *p)
{
    struct np_err e = { 0 };
    json_t *o = NULL;
    long line = 0;
    int rc = push_feed_open(buf, len, &p->feed, &e);

    if (rc != 0) {
        fprintf(stderr, "push_feed_open: %s\n", e.msg);
    }
    assert_int_equal(rc, 0);
    p->items = json_array();
    while ((rc = push_feed_next(p->feed, &o, &line)) == 1) {
        if (json_array_size(p->items) < sizeof(p->lines) / sizeof(p->lines[0])) {
            p->lines[json_array_size(p->items)] = line;
        }
        assert_int_equal(json_array_append_new(p->items, o), 0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(json_array_size(p->items), push_feed_count(p->feed));
}

static void read_file(const char *dir_env, const char *name, struct parsed *p)
{
    size_t len = 0;
    char *buf = load(dir_env, name, &len);

    read_all(buf, len, p);
    free(buf); /* the feed keeps no pointer into the input */
}

static void parsed_cleanup(struct parsed *p)
{
    push_feed_destroy(&p->feed);
    assert_null(p->feed);
    json_decref(p->items);
}

static const char *field(const struct parsed *p, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(p->items, i), key));
}

static const char *list_item(const struct parsed *p, size_t i, const char *key, size_t k)
{
    return json_string_value(json_array_get(json_object_get(json_array_get(p->items, i), key), k));
}

/* Every article ingest would take: np_article_parse of the object sent. */
static void assert_ingest_accepts(const struct parsed *p, size_t i)
{
    char *s = json_dumps(json_array_get(p->items, i), JSON_COMPACT);
    struct np_article *a = NULL;
    struct np_err e = { 0 };
    int rc = np_article_parse(s, strlen(s), &a, &e);

    if (rc != 0) {
        fprintf(stderr, "item %zu refused: %s\n%s\n", i, e.msg, s);
    }
    assert_int_equal(rc, 0);
    np_article_destroy(&a);
    free(s);
}

/* Opens buf as a feed, which must fail with code; returns the message (static). */
static const char *refused(const char *buf, size_t len, int code)
{
    static struct np_err e;
    struct push_feed *f = NULL;

    memset(&e, 0, sizeof(e));
    assert_int_equal(push_feed_open(buf, len, &f, &e), code);
    assert_null(f);
    return e.msg;
}

static const char *refused_file(const char *name, int code)
{
    size_t len = 0;
    char *buf = load("NP_TEST_DATA", name, &len);
    const char *msg = refused(buf, len, code);

    free(buf);
    printf("%s: %s\n", name, msg);
    return msg;
}

/* section: an item's category in a named scheme, else the channel's (feed's) first category. */
static void test_section_from_categories(void **state)
{
    static const char rss[] =
        "<rss version=\"2.0\"><channel><title>Wire</title><category>China / Economy</category>"
        "<item><title>One</title><description>a</description><category>Trade</category></item>"
        "<item><title>Two</title><description>b</description><category>Trade</category>"
        "<category domain=\"https://wire.example/sections\"> World /  Asia </category></item>"
        "</channel></rss>";
    static const char atom[] =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Wire</title>"
        "<entry><title>Three</title><summary>c</summary><category term=\"oil\"/>"
        "<category scheme=\"https://wire.example/s\" term=\"energy\" label=\"Energy\"/></entry>"
        "<entry><title>Four</title><summary>d</summary><category term=\"oil\"/></entry></feed>";
    struct parsed p = { 0 };

    (void)state;
    read_all(rss, strlen(rss), &p);
    assert_string_equal(field(&p, 0, "section"), "China / Economy");
    assert_string_equal(field(&p, 1, "section"), "World / Asia");
    assert_string_equal(list_item(&p, 1, "source_tags", 1), "World / Asia"); /* still a tag */
    assert_ingest_accepts(&p, 1);
    parsed_cleanup(&p);
    memset(&p, 0, sizeof(p));
    read_all(atom, strlen(atom), &p);
    assert_string_equal(field(&p, 0, "section"), "Energy");
    assert_null(field(&p, 1, "section")); /* no scheme, and the feed names no category */
    parsed_cleanup(&p);
}

static void test_sniff(void **state)
{
    (void)state;
    assert_true(push_feed_sniff("<rss/>", 6));
    assert_true(push_feed_sniff("\xEF\xBB\xBF  \n<?xml version=\"1.0\"?>", 26));
    assert_false(push_feed_sniff("{\"title\": \"x\"}", 14));
    assert_false(push_feed_sniff("A headline\nSource: x", 20));
    assert_false(push_feed_sniff("   ", 3));
    assert_false(push_feed_sniff("", 0));
}

static void test_rss2_example(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_EXAMPLES", "rss.xml", &p);
    assert_string_equal(push_feed_format(p.feed), "RSS 2.0");
    assert_string_equal(push_feed_title(p.feed), "Harbour Town Courier");
    assert_int_equal(json_array_size(p.items), 4);
    assert_string_equal(field(&p, 0, "title"), "Port authority opens a second container terminal");
    assert_string_equal(field(&p, 0, "url"),
                        "https://courier.example.org/news/2026/11/second-terminal");
    assert_string_equal(field(&p, 0, "id"),
                        "https://courier.example.org/news/2026/11/second-terminal");
    assert_string_equal(field(&p, 0, "published_at"), "2026-11-23T08:30:00Z");
    assert_string_equal(field(&p, 0, "source"), "Harbour Town Courier");
    assert_string_equal(field(&p, 0, "lang"), "en");
    assert_string_equal(list_item(&p, 0, "authors", 0), "Mira Okafor");
    assert_string_equal(list_item(&p, 0, "source_tags", 1), "Trade");
    /* CDATA holding HTML: tags gone, text kept. */
    assert_non_null(strstr(field(&p, 0, "body"), "expected to cut waiting times for freight"));
    assert_null(strchr(field(&p, 0, "body"), '<'));
    /* content:encoded is the body, the description becomes the summary. */
    assert_true(strncmp(field(&p, 1, "body"), "Councillors voted 31 to 4 on Tuesday", 36) == 0);
    assert_non_null(strstr(field(&p, 1, "body"), "\n\nThe old town"));
    assert_non_null(strstr(field(&p, 1, "summary"), "old town & the harbour district"));
    /* A guid that is not a permalink is scoped by the channel's link; the time goes to UTC. */
    assert_string_equal(field(&p, 1, "id"), "https://courier.example.org/#courier-2026-11-0412");
    assert_string_equal(field(&p, 1, "published_at"), "2026-11-24T16:05:00Z");
    assert_string_equal(list_item(&p, 1, "authors", 0), "Jonas Lindqvist");
    /* No guid: no id (ingest hashes the URL). */
    assert_null(field(&p, 2, "id"));
    /* Headline only. */
    assert_null(field(&p, 3, "body"));
    assert_string_equal(field(&p, 3, "title"),
                        "FLASH: Ferry services suspended as storm reaches the coast");
    assert_true(p.lines[0] > 1 && p.lines[1] > p.lines[0]);
    for (size_t i = 0; i < json_array_size(p.items); i++) {
        assert_ingest_accepts(&p, i);
    }
    parsed_cleanup(&p);
}

static void test_atom_example(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_EXAMPLES", "atom.xml", &p);
    assert_string_equal(push_feed_format(p.feed), "Atom 1.0");
    assert_string_equal(push_feed_title(p.feed), "Northern Science Wire");
    assert_int_equal(json_array_size(p.items), 3);
    assert_string_equal(field(&p, 0, "id"), "tag:science-wire.example.net,2026:arctic-ice-year");
    assert_string_equal(field(&p, 0, "url"),
                        "https://science-wire.example.net/2026/11/arctic-ice-year");
    /* published wins over updated. */
    assert_string_equal(field(&p, 0, "published_at"), "2026-11-26T13:20:00Z");
    assert_non_null(strstr(field(&p, 0, "body"), "drifting pack ice.\n\nIts crew"));
    assert_string_equal(field(&p, 0, "summary"),
                        "A year drifting with the sea ice gives the best record yet of how it "
                        "thins.");
    assert_string_equal(list_item(&p, 0, "source_tags", 0), "Climate");
    assert_string_equal(list_item(&p, 0, "authors", 0), "Ingrid Halvorsen");
    assert_string_equal(field(&p, 0, "lang"), "en");
    /* type="html" title, relative link, xhtml content, the feed's author, a term. */
    assert_string_equal(field(&p, 1, "title"), "Vaccine maker doubles output of its malaria shot");
    assert_string_equal(field(&p, 1, "url"),
                        "https://science-wire.example.net/2026/11/malaria-output");
    assert_true(strncmp(field(&p, 1, "body"), "The company said a new plant", 28) == 0);
    assert_string_equal(field(&p, 1, "published_at"), "2026-11-25T09:00:00Z");
    assert_string_equal(list_item(&p, 1, "authors", 0), "Science Wire desk");
    assert_string_equal(list_item(&p, 1, "source_tags", 0), "health");
    assert_null(field(&p, 2, "body"));
    for (size_t i = 0; i < json_array_size(p.items); i++) {
        assert_ingest_accepts(&p, i);
    }
    parsed_cleanup(&p);
}

static void test_cdata_and_html_entities(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_TEST_DATA", "feeds/cdata_entities.xml", &p);
    assert_string_equal(push_feed_title(p.feed), "Markup & Co");
    assert_string_equal(field(&p, 0, "title"), "Prices rise 5% at AT&T \xE2\x80\x94 \"finally\"");
    /* HTML entities inside CDATA are decoded by the HTML step; scripts are dropped. */
    assert_string_equal(field(&p, 0, "body"), "Caf\xC3\xA9 owners & bakers say costs rose 8%.\n\n"
                                              "Second paragraph \xE2\x80\x93 with a dash.");
    /* Escaped HTML: XML decoding, then the HTML step. */
    assert_string_equal(field(&p, 1, "body"), "Rates < 3% held & steady.");
    /* A guid-less item with a link: no id. */
    assert_null(field(&p, 0, "id"));
    parsed_cleanup(&p);
}

static void test_rss1_namespaces_by_uri(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_TEST_DATA", "feeds/rss1_namespaces.xml", &p);
    assert_string_equal(push_feed_format(p.feed), "RSS 1.0");
    assert_string_equal(push_feed_title(p.feed), "RDF Daily");
    assert_int_equal(json_array_size(p.items), 2);
    assert_string_equal(field(&p, 0, "title"), "Wind farm opens off the northern coast");
    assert_string_equal(field(&p, 0, "id"), "https://rdf.example.org/1");
    assert_string_equal(field(&p, 0, "body"), "Eighty turbines began feeding the grid on Monday.");
    assert_string_equal(field(&p, 0, "summary"), "Eighty turbines now feed the grid.");
    assert_string_equal(field(&p, 0, "published_at"), "2026-11-20T06:00:00Z");
    assert_string_equal(list_item(&p, 0, "authors", 0), "Anna Berg");
    assert_string_equal(list_item(&p, 0, "source_tags", 0), "Energy");
    assert_string_equal(field(&p, 0, "lang"), "de");
    /* An element of another namespace with a known local name is ignored. */
    assert_string_equal(field(&p, 1, "title"), "Second");
    assert_null(field(&p, 1, "body"));
    parsed_cleanup(&p);
}

static void test_missing_fields(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_TEST_DATA", "feeds/missing_fields.xml", &p);
    assert_string_equal(push_feed_title(p.feed), "");
    assert_int_equal(json_array_size(p.items), 4);
    /* Only a title: pushed as such. */
    assert_string_equal(field(&p, 0, "title"), "Headline only");
    assert_int_equal(json_object_size(json_array_get(p.items, 0)), 1);
    assert_ingest_accepts(&p, 0);
    /* No title: sent anyway, ingest refuses it with a reason naming "title". */
    assert_null(field(&p, 1, "title"));
    assert_string_equal(field(&p, 1, "body"), "No title here, just a description.");
    /* A date nobody can read is kept aside rather than losing the item; a guid that is not a
     * URI, in a channel with neither link nor title, gives no id. */
    assert_null(field(&p, 2, "published_at"));
    assert_string_equal(field(&p, 2, "feed_date"), "sometime last week");
    assert_null(field(&p, 2, "id"));
    assert_ingest_accepts(&p, 2);
    /* An empty item is an empty object. */
    assert_int_equal(json_object_size(json_array_get(p.items, 3)), 0);
    parsed_cleanup(&p);
}

static void test_empty_channel(void **state)
{
    struct parsed p = { 0 };
    json_t *o = NULL;
    long line = 0;

    (void)state;
    read_file("NP_TEST_DATA", "feeds/empty_channel.xml", &p);
    assert_string_equal(push_feed_title(p.feed), "Nothing today");
    assert_int_equal(push_feed_count(p.feed), 0);
    assert_int_equal(push_feed_next(p.feed, &o, &line), 0);
    assert_null(o);
    parsed_cleanup(&p);
}

static void test_old_doctype_and_latin1(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_TEST_DATA", "feeds/doctype_rss091.xml", &p);
    assert_string_equal(push_feed_format(p.feed), "RSS 0.91");
    assert_string_equal(field(&p, 0, "title"), "Latin-1 caf\xC3\xA9");
    assert_string_equal(field(&p, 0, "lang"), "en-us");
    parsed_cleanup(&p);
}

static void test_atom_after_bom(void **state)
{
    struct parsed p = { 0 };

    (void)state;
    read_file("NP_TEST_DATA", "feeds/atom_bom.xml", &p);
    assert_string_equal(field(&p, 0, "title"), "After a BOM");
    assert_string_equal(field(&p, 0, "id"), "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    parsed_cleanup(&p);
}

static void test_ten_thousand_items(void **state)
{
    const size_t n = 10000;
    size_t cap = n * 300 + 200;
    char *buf = malloc(cap);
    size_t len = 0;
    struct parsed p = { 0 };
    clock_t t0 = clock();

    (void)state;
    assert_non_null(buf);
    len += (size_t)snprintf(buf + len, cap - len,
                            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
                            "<title>Busy wire</title><link>https://busy.example.com/</link>\n");
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "<item><title>Item %zu</title><guid isPermaLink=\"false\">%zu"
                                "</guid><description>&lt;p&gt;Body %zu&lt;/p&gt;</description>"
                                "<pubDate>Mon, 23 Nov 2026 08:30:00 +0000</pubDate></item>\n",
                                i, i, i);
        assert_true(len < cap);
    }
    len += (size_t)snprintf(buf + len, cap - len, "</channel></rss>\n");
    read_all(buf, len, &p);
    free(buf);
    assert_int_equal(json_array_size(p.items), n);
    assert_string_equal(field(&p, 9999, "title"), "Item 9999");
    assert_string_equal(field(&p, 9999, "id"), "https://busy.example.com/#9999");
    assert_string_equal(field(&p, 9999, "body"), "Body 9999");
    assert_int_equal(push_feed_position(p.feed), n);
    printf("10,000 items read in %.2f s of CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    parsed_cleanup(&p);
}

static void test_invalid_utf8_names_line_and_column(void **state)
{
    const char *msg = refused_file("feeds/invalid_utf8.xml", NP_EPARSE);

    (void)state;
    assert_non_null(strstr(msg, "line 5, column "));
    assert_non_null(strstr(msg, "UTF-8"));
}

static void test_malformed_names_line_and_column(void **state)
{
    const char *msg = refused_file("feeds/malformed.xml", NP_EPARSE);

    (void)state;
    assert_non_null(strstr(msg, "line 10, column "));
    assert_non_null(strstr(msg, "mismatch"));
}

static void test_truncated_feed_is_refused(void **state)
{
    static const char feed[] = "<rss version=\"2.0\"><channel><title>Cut</title>\n"
                               "<item><title>Complete</title></item>\n"
                               "<item><title>Cut off in the mid";
    const char *msg = refused(feed, sizeof(feed) - 1, NP_EPARSE);

    (void)state;
    assert_true(strncmp(msg, "line 3, column ", 15) == 0);
}

static void test_xxe_is_refused(void **state)
{
    const char *msg = refused_file("feeds/xxe.xml", NP_EPARSE);

    (void)state;
    assert_non_null(strstr(msg, "line 3, column "));
    assert_non_null(strstr(msg, "<!ENTITY secret"));
    assert_null(strstr(msg, "root:")); /* nothing of /etc/passwd */
    msg = refused_file("feeds/xxe_parameter.xml", NP_EPARSE);
    assert_non_null(strstr(msg, "<!ENTITY remote"));
}

static void test_billion_laughs_is_refused(void **state)
{
    clock_t t0 = clock();
    const char *msg = refused_file("feeds/billion_laughs.xml", NP_EPARSE);

    (void)state;
    assert_non_null(strstr(msg, "entity declarations are refused"));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
}

static void test_not_a_feed(void **state)
{
    const char *msg = refused_file("feeds/not_a_feed.xml", NP_EPARSE);

    (void)state;
    assert_non_null(strstr(msg, "not an RSS or Atom feed: the root element is <html>"));
    msg = refused("<rss version=\"2.0\"/>", 20, NP_EPARSE);
    assert_non_null(strstr(msg, "no <channel>"));
    msg = refused("<", 1, NP_EPARSE);
    assert_non_null(strstr(msg, "line 1, column "));
}

static void test_size_limit(void **state)
{
    /* calloc: the pages are never touched, the size is refused before reading. */
    char *big = calloc(1, (size_t)PUSH_FEED_MAX + 1);
    const char *msg = NULL;

    (void)state;
    assert_non_null(big);
    msg = refused(big, (size_t)PUSH_FEED_MAX + 1, NP_ETOOBIG);
    assert_non_null(strstr(msg, "over the limit of 64 MiB"));
    free(big);
}

static void test_destroy_accepts_null(void **state)
{
    struct push_feed *f = NULL;

    (void)state;
    push_feed_destroy(NULL);
    push_feed_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_section_from_categories),
        cmocka_unit_test(test_rss2_example),
        cmocka_unit_test(test_atom_example),
        cmocka_unit_test(test_cdata_and_html_entities),
        cmocka_unit_test(test_rss1_namespaces_by_uri),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_empty_channel),
        cmocka_unit_test(test_old_doctype_and_latin1),
        cmocka_unit_test(test_atom_after_bom),
        cmocka_unit_test(test_ten_thousand_items),
        cmocka_unit_test(test_invalid_utf8_names_line_and_column),
        cmocka_unit_test(test_malformed_names_line_and_column),
        cmocka_unit_test(test_truncated_feed_is_refused),
        cmocka_unit_test(test_xxe_is_refused),
        cmocka_unit_test(test_billion_laughs_is_refused),
        cmocka_unit_test(test_not_a_feed),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_destroy_accepts_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
