/* test_article.c - the article model: parse, validate, normalise, derive the id (article.c)
 *
 * Walks tests/data/articles: each valid/<case>.json must parse and survive the canonical round
 * trip; each invalid/<case>.json must fail with the code and field its <case>.err names
 * ("NP_EINVAL title"). Then direct tests of ids, limits and normalisation, and robustness runs
 * over the shared data (Reuters corpus, naughty strings, JSONTestSuite) when it is present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>

#include <jansson.h>

#include "np/article.h"
#include "np/hash.h"
#include "test_util.h"

/* --- helpers ---------------------------------------------------------------------------- */

/* Reads a whole file into a new buffer (free()); NULL when it cannot be read. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        size_t got;

        if (n == cap) {
            char *bigger = realloc(buf, cap == 0 ? 65536 : cap * 2);

            if (bigger == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
            cap = cap == 0 ? 65536 : cap * 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static const char *data_dir(void)
{
    const char *d = getenv("NP_TEST_DATA");

    return d != NULL ? d : "tests/data";
}

static void str_equal(const char *field, const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        if (a != b) {
            print_error("%s: \"%s\" vs \"%s\"\n", field, a ? a : "(null)", b ? b : "(null)");
        }
        assert_true(a == b);
        return;
    }
    if (strcmp(a, b) != 0) {
        print_error("%s: \"%s\" vs \"%s\"\n", field, a, b);
    }
    assert_string_equal(a, b);
}

static void list_equal(const struct np_strlist *a, const struct np_strlist *b)
{
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        assert_string_equal(a->items[i], b->items[i]);
    }
}

static void assert_articles_equal(const struct np_article *a, const struct np_article *b)
{
    str_equal("id", a->id, b->id);
    str_equal("title", a->title, b->title);
    str_equal("body", a->body, b->body);
    str_equal("summary", a->summary, b->summary);
    str_equal("background", a->background, b->background);
    str_equal("insights", a->insights, b->insights);
    str_equal("url", a->url, b->url);
    str_equal("source", a->source, b->source);
    str_equal("lang", a->lang, b->lang);
    str_equal("region", a->region, b->region);
    assert_int_equal(a->published_at, b->published_at);
    list_equal(&a->authors, &b->authors);
    list_equal(&a->source_tags, &b->source_tags);
    assert_true(json_equal(a->extra, b->extra));
}

/* Checks that the canonical JSON gives the same article back, as the bytes ingest sends on
 * (np_article_parse). */
static void check_round_trip(const struct np_article *a)
{
    struct np_err err = { 0 };
    struct np_article *c = NULL;
    json_t *canon = np_article_to_json(a);
    char *text = NULL;

    assert_non_null(canon);
    text = json_dumps(canon, JSON_COMPACT);
    assert_non_null(text);
    assert_int_equal(np_article_parse(text, strlen(text), &c, &err), 0);
    assert_articles_equal(a, c);
    free(text);
    json_decref(canon);
    np_article_destroy(&c);
}

/* Parses a file of tests/data/articles; returns the code. */
static int parse_file(const char *path, struct np_article **out, struct np_err *err)
{
    size_t len = 0;
    char *buf = read_file(path, &len);
    int rc;

    if (buf == NULL) {
        print_error("cannot read %s\n", path);
        fail();
    }
    rc = np_article_parse(buf, len, out, err);
    free(buf);
    return rc;
}

static struct np_article *parse_case(const char *name)
{
    char path[1024];
    struct np_err err = { 0 };
    struct np_article *a = NULL;

    snprintf(path, sizeof(path), "%s/articles/valid/%s.json", data_dir(), name);
    if (parse_file(path, &a, &err) != 0) {
        print_error("%s: %s\n", path, err.msg);
        fail();
    }
    return a;
}

static struct np_article *parse_str(const char *json, int want_rc, const char *want_field)
{
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    int rc = np_article_parse(json, strlen(json), &a, &err);

    if (rc != want_rc || (want_field != NULL && strcmp(err.field, want_field) != 0)) {
        print_error("%.200s: got %d (%s), want %d %s\n", json, rc, err.msg, want_rc,
                    want_field ? want_field : "");
        fail();
    }
    return a;
}

static int code_of(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } codes[] = { { "NP_EPARSE", NP_EPARSE },
                  { "NP_EINVAL", NP_EINVAL },
                  { "NP_ETOOBIG", NP_ETOOBIG },
                  { "NP_ENOMEM", NP_ENOMEM } };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(name, codes[i].name) == 0) {
            return codes[i].code;
        }
    }
    return 1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s);
    size_t lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* --- the data cases --------------------------------------------------------------------- */

static void test_valid_cases_parse_and_round_trip(void **state)
{
    char dir[1024];
    DIR *d = NULL;
    struct dirent *e = NULL;
    int count = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/articles/valid", data_dir());
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[2048];
        struct np_err err = { 0 };
        struct np_article *a = NULL;

        if (!ends_with(e->d_name, ".json")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (parse_file(path, &a, &err) != 0) {
            print_error("%s: %s\n", e->d_name, err.msg);
            fail();
        }
        check_round_trip(a);
        np_article_destroy(&a);
        count++;
    }
    closedir(d);
    assert_true(count >= 10);
}

static void test_invalid_cases_fail_with_their_reason(void **state)
{
    char dir[1024];
    DIR *d = NULL;
    struct dirent *e = NULL;
    int count = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/articles/invalid", data_dir());
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[2048];
        char want_code[32] = "";
        char want_field[NP_ERR_FIELD_MAX] = "";
        struct np_err err = { 0 };
        struct np_article *a = (struct np_article *)&err; /* must stay untouched */
        size_t len = 0;
        char *spec = NULL;
        int rc;

        if (!ends_with(e->d_name, ".json")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%.*s.err", dir, (int)(strlen(e->d_name) - 5), e->d_name);
        spec = read_file(path, &len);
        assert_non_null(spec);
        spec[len > 0 ? len - 1 : 0] = '\0';
        assert_int_equal(sscanf(spec, "%31s %63s", want_code, want_field), 2);
        free(spec);
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = parse_file(path, &a, &err);
        if (rc != code_of(want_code) || strcmp(err.field, want_field) != 0) {
            print_error("%s: got %d field \"%s\" (%s), want %s %s\n", e->d_name, rc, err.field,
                        err.msg, want_code, want_field);
            fail();
        }
        assert_true(a == (struct np_article *)&err);
        assert_int_equal(err.code, rc);
        /* The message names the field and says why. */
        assert_true(strncmp(err.msg, want_field, strlen(want_field)) == 0);
        assert_true(strlen(err.msg) > strlen(want_field) + 4);
        count++;
    }
    closedir(d);
    assert_true(count >= 60);
}

/* --- normalisation ---------------------------------------------------------------------- */

static void test_reference_article(void **state)
{
    struct np_article *a = parse_case("scmp_reference");
    int64_t want = 0;

    (void)state;
    assert_string_equal(a->title, "Despite dip in China\xe2\x80\x99s exports to Russia, new deals "
                                  "show \xe2\x80\x98room to grow\xe2\x80\x99 amid US pressure");
    assert_int_equal(np_time_parse("2025-09-02T18:52:00Z", "t", &want, NULL), 0);
    assert_int_equal(a->published_at, want);
    assert_string_equal(a->source, "South China Morning Post");
    assert_string_equal(a->region, "Global");
    assert_int_equal(a->source_tags.len, 5);
    assert_string_equal(a->source_tags.items[1], "De-dollarization");
    assert_null(a->body);
    assert_non_null(strstr(a->summary, "room to grow"));
    assert_non_null(strstr(a->insights, "Eastern economic sphere"));
    assert_int_equal(strncmp(a->id, "t-", 2), 0);
    assert_int_equal(strlen(a->id), 2 + NP_HASH_HEX_LEN);
    np_article_destroy(&a);
}

static void test_html_body_is_stripped(void **state)
{
    struct np_article *a = parse_case("html_body");

    (void)state;
    assert_string_equal(a->title, "HTML body test");
    assert_string_equal(a->body, "Headline\n\nFirst & bold paragraph with caf\xc3\xa9 "
                                 "\xe2\x80\x94 \xe2\x98\xba.\n\nSecond line.\n\none\n\ntwo");
    assert_string_equal(a->url, "https://www.example.com/news/story?id=7");
    np_article_destroy(&a);
}

static void test_plain_text_and_company_codes_unchanged(void **state)
{
    struct np_article *a = parse_case("reuters_tickers");

    (void)state;
    assert_string_equal(a->title, "CHAMPION PRODUCTS <CH> APPROVES STOCK SPLIT");
    assert_non_null(strstr(a->body, "to <Sedio N.V.> of Lugano"));
    assert_non_null(strstr(a->body, "<MCD> and a < b & c stayed"));
    assert_string_equal(a->id, "reuters-17");
    np_article_destroy(&a);
}

static void test_all_fields(void **state)
{
    struct np_article *a = parse_case("all_fields");
    int64_t want = 0;

    (void)state;
    assert_string_equal(a->id, "client-42/a:b");
    assert_string_equal(a->body, "Body text.\n\nSecond paragraph.");
    assert_string_equal(a->lang, "en");
    assert_string_equal(a->section, "China / Economy"); /* white space normalised */
    assert_int_equal(np_time_parse("2025-09-02T18:52:00Z", "t", &want, NULL), 0);
    assert_int_equal(a->published_at, want);
    assert_int_equal(a->authors.len, 2); /* the empty one is dropped */
    assert_string_equal(a->authors.items[1], "John Smith");
    assert_int_equal(json_object_size(a->extra), 0);
    np_article_destroy(&a);
}

static void test_nulls_and_empty_strings_are_absent(void **state)
{
    struct np_article *a = parse_case("nulls");

    (void)state;
    assert_null(a->summary);
    assert_null(a->url);
    assert_null(a->source);
    assert_int_equal(a->published_at, NP_TIME_NONE);
    assert_int_equal(a->authors.len, 0);
    assert_int_equal(json_object_size(a->extra), 0);
    np_article_destroy(&a);
    a = parse_case("empty_optional_strings");
    assert_null(a->summary);
    assert_null(a->source);
    assert_null(a->lang);
    assert_null(a->region);
    assert_null(a->url);
    assert_int_equal(a->published_at, NP_TIME_NONE);
    assert_int_equal(a->source_tags.len, 0);
    np_article_destroy(&a);
}

static void test_canonical_json_order(void **state)
{
    static const char *const want[] = {
        "id",      "title",       "body", "summary", "background", "insights",
        "url",     "source",      "lang", "region",  "section",    "published_at",
        "authors", "source_tags", "zeta", "alpha",   "mid",
    };
    const char *json =
        "{\"zeta\":1,\"source_tags\":[\"T\"],\"authors\":[\"A\"],\"alpha\":[2],"
        "\"published_at\":\"2025-09-02 18:52:00.5\",\"region\":\"r\",\"section\":\"c\","
        "\"lang\":\"l\","
        "\"source\":\"s\",\"url\":\"http://a.b/\",\"insights\":\"i\","
        "\"background\":\"g\",\"summary\":\"u\",\"body\":\"b\",\"mid\":null,"
        "\"title\":\"t\",\"id\":\"x\"}";
    struct np_article *a = parse_str(json, 0, NULL);
    json_t *o = np_article_to_json(a);
    const char *key = NULL;
    json_t *v = NULL;
    size_t i = 0;

    (void)state;
    assert_non_null(o);
    json_object_foreach(o, key, v)
    {
        assert_true(i < sizeof(want) / sizeof(want[0]));
        assert_string_equal(key, want[i]);
        i++;
    }
    assert_int_equal(i, sizeof(want) / sizeof(want[0]));
    assert_string_equal(json_string_value(json_object_get(o, "published_at")),
                        "2025-09-02T18:52:00.500000Z");
    assert_true(json_is_null(json_object_get(o, "mid"))); /* extra nulls are kept as given */
    json_decref(o);
    np_article_destroy(&a);
}

static void test_extra_fields_kept_in_order(void **state)
{
    struct np_article *a = parse_case("extra_fields");
    const char *key = NULL;
    json_t *v = NULL;
    const char *order[] = { "topics", "places", "meta", "flag", "nothing", "\xc3\xbcnicode key" };
    size_t i = 0;

    (void)state;
    json_object_foreach(a->extra, key, v)
    {
        assert_string_equal(key, order[i]);
        i++;
    }
    assert_int_equal(i, 6);
    assert_int_equal(
        json_real_value(json_object_get(json_object_get(a->extra, "meta"), "n")) == 1.5, 1);
    np_article_destroy(&a);
}

static void test_messages_name_the_problem(void **state)
{
    struct np_err err = { 0 };
    struct np_article *a = NULL;

    (void)state;
    parse_str("{\"title\": 42, \"body\": \"b\"}", NP_EINVAL, "title");
    np_article_parse("{\"title\": 42}", 13, &a, &err);
    assert_string_equal(err.msg, "title: must be a string, got number");
    np_article_parse("{\"title\": \"t\",", 14, &a, &err);
    assert_int_equal(err.code, NP_EPARSE);
    assert_non_null(strstr(err.msg, "byte 14"));
    np_article_parse("{\"title\":\"t\",\f\"body\":\"b\"}", 25, &a, &err);
    assert_string_equal(err.msg, "message: is not valid JSON at byte 13: a control character");
    np_article_parse("{\"title\": \"\xed\xa0\x80\"}", 15, &a, &err);
    assert_non_null(strstr(err.msg, "surrogate"));
    np_article_parse("{\"title\": \"\xc0\xaf\"}", 14, &a, &err);
    assert_non_null(strstr(err.msg, "overlong"));
    np_article_parse("{\"title\": \"\xe2\x82\"}", 14, &a, &err);
    assert_non_null(strstr(err.msg, "truncated"));
    np_article_parse("{\"title\": \"\xf4\x90\x80\x80\"}", 16, &a, &err);
    assert_non_null(strstr(err.msg, "U+10FFFF"));
    np_article_parse("{\"title\": \"a\\u0000\"}", 20, &a, &err);
    assert_string_equal(err.msg, "title: contains a NUL character");
    parse_str("{\"title\":\"t\",\"body\":\"b\",\"authors\":[\"a\",7]}", NP_EINVAL, "authors");
    np_article_parse("{\"title\":\"t\",\"body\":\"b\",\"authors\":[\"a\",7]}", 42, &a, &err);
    assert_string_equal(err.msg, "authors: item 1 must be a string, got number");
    assert_null(a);
    /* err may be NULL. */
    assert_int_equal(np_article_parse("[]", 2, &a, NULL), NP_EPARSE);
}

/* --- ids -------------------------------------------------------------------------------- */

static void test_derive_id_stable_and_by_kind(void **state)
{
    struct np_article *a = parse_str("{\"title\":\"Same\",\"body\":\"b\",\"source\":\"S\","
                                     "\"published_at\":\"2025-09-02T14:52:00-04:00\"}",
                                     0, NULL);
    struct np_article *b = parse_str("{\"published_at\":\"Tue, 02 Sep 2025 18:52:00 GMT\","
                                     "\"source\":\"  S \",\"title\":\" Same\\n\","
                                     "\"body\":\"other body\"}",
                                     0, NULL);
    struct np_article *c = parse_str("{\"title\":\"Other\",\"body\":\"b\",\"source\":\"S\","
                                     "\"published_at\":\"2025-09-02T18:52:00Z\"}",
                                     0, NULL);
    struct np_article *u1 = parse_str("{\"title\":\"x\",\"body\":\"b\","
                                      "\"url\":\"HTTP://Example.com/a?utm_source=1#f\"}",
                                      0, NULL);
    struct np_article *u2 = parse_str("{\"title\":\"y\",\"body\":\"c\","
                                      "\"url\":\"http://example.com:80/a\"}",
                                      0, NULL);
    char buf[36];
    char hex[NP_HASH_HEX_LEN + 1];
    const char *cat = "S\x1fSame\x1f"
                      "2025-09-02T18:52:00Z";

    (void)state;
    /* Same source, title and time: same id, whatever the body or the spelling of the date. */
    assert_string_equal(a->id, b->id);
    assert_string_not_equal(a->id, c->id);
    np_hash_hex(cat, strlen(cat), hex);
    snprintf(buf, sizeof(buf), "t-%s", hex);
    assert_string_equal(a->id, buf);
    /* The URL wins over the title, after normalisation. */
    assert_string_equal(u1->id, u2->id);
    np_hash_hex("http://example.com/a", 20, hex);
    snprintf(buf, sizeof(buf), "u-%s", hex);
    assert_string_equal(u1->id, buf);
    /* derive_id itself, and a small buffer stays terminated. */
    np_article_derive_id(a, buf, sizeof(buf));
    assert_string_equal(buf, a->id);
    assert_int_equal(strlen(buf), 34);
    np_article_derive_id(a, buf, 5);
    assert_int_equal(strlen(buf), 4);
    assert_int_equal(strncmp(buf, a->id, 4), 0);
    np_article_destroy(&a);
    np_article_destroy(&b);
    np_article_destroy(&c);
    np_article_destroy(&u1);
    np_article_destroy(&u2);
}

/* A title and nothing to read: accepted with an empty body (issue 10); blank HTML or null
 * count as no body; a summary or a body makes it an ordinary article; the title is still
 * required. */
static void test_headline_only(void **state)
{
    static const char *const names[] = { "headline_only", "headline_only_body_null",
                                         "headline_only_blank_html" };
    struct np_article *a = NULL;
    json_t *j = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        a = parse_case(names[i]);
        assert_string_equal(a->body, "");
        assert_null(a->summary);
        assert_true(np_article_headline_only(a));
        np_article_destroy(&a);
    }
    a = parse_case("headline_only");
    assert_string_equal(a->title, "Crude oil stocks fall as refinery demand picks up");
    j = np_article_to_json(a);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "body")), "");
    json_decref(j);
    np_article_destroy(&a);

    a = parse_str("{\"title\":\"Flash\",\"summary\":\"s\"}", 0, NULL);
    assert_null(a->body);
    assert_false(np_article_headline_only(a));
    np_article_destroy(&a);
    a = parse_str("{\"title\":\"Flash\",\"body\":\"b\"}", 0, NULL);
    assert_false(np_article_headline_only(a));
    np_article_destroy(&a);
    (void)parse_str("{\"body\":\"b\"}", NP_EINVAL, "title");
    (void)parse_str("{\"title\":\" \\n \"}", NP_EINVAL, "title");
    (void)parse_str("{\"title\":\"Flash\",\"body\":7}", NP_EINVAL, "body");
}

static void test_derive_id_without_source_or_date(void **state)
{
    struct np_article *a = parse_str("{\"title\":\"Only a title\",\"summary\":\"s\"}", 0, NULL);
    char hex[NP_HASH_HEX_LEN + 1];
    char want[40];

    (void)state;
    np_hash_hex("\x1fOnly a title\x1f", 14, hex);
    snprintf(want, sizeof(want), "t-%s", hex);
    assert_string_equal(a->id, want);
    np_article_destroy(&a);
}

static void test_client_id_kept(void **state)
{
    struct np_article *a = parse_str("{\"id\":\" Mixed Case id \",\"title\":\"t\",\"body\":\"b\","
                                     "\"url\":\"http://a.b/\"}",
                                     0, NULL);

    (void)state;
    assert_string_equal(a->id, " Mixed Case id ");
    np_article_destroy(&a);
}

/* --- limits ----------------------------------------------------------------------------- */

/* Builds {"title":"t",<key>:"<n times c>"} (plus "body" unless key is body) and parses it. */
static void check_string_limit(const char *key, size_t n, int want_rc)
{
    size_t cap = n + 256;
    char *buf = malloc(cap);
    int len;
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    int rc;

    assert_non_null(buf);
    len = snprintf(buf, cap, "{\"title\":\"t\",%s\"%s\":\"",
                   strcmp(key, "body") ? "\"body\":\"b\"," : "", key);
    memset(buf + len, 'x', n);
    memcpy(buf + len + (int)n, "\"}", 3);
    if (strcmp(key, "title") == 0) {
        /* Drop the first title: make it an extra key. */
        buf[2] = 'T';
    }
    rc = np_article_parse(buf, strlen(buf), &a, &err);
    if (rc != want_rc) {
        print_error("%s with %zu bytes: %d %s\n", key, n, rc, err.msg);
    }
    assert_int_equal(rc, want_rc);
    if (rc != 0) {
        assert_string_equal(err.field, key);
    }
    np_article_destroy(&a);
    free(buf);
}

static void test_field_limits(void **state)
{
    (void)state;
    check_string_limit("title", (size_t)NP_TITLE_MAX, 0);
    check_string_limit("title", (size_t)NP_TITLE_MAX + 1, NP_ETOOBIG);
    check_string_limit("body", (size_t)NP_TEXT_MAX, 0);
    check_string_limit("body", (size_t)NP_TEXT_MAX + 1, NP_ETOOBIG);
    check_string_limit("insights", (size_t)NP_TEXT_MAX + 1, NP_ETOOBIG);
    check_string_limit("source", NP_SHORT_MAX, 0);
    check_string_limit("source", NP_SHORT_MAX + 1, NP_ETOOBIG);
    check_string_limit("section", NP_SHORT_MAX, 0);
    check_string_limit("section", NP_SHORT_MAX + 1, NP_ETOOBIG);
    check_string_limit("id", NP_ID_MAX, 0);
    check_string_limit("id", NP_ID_MAX + 1, NP_ETOOBIG);
}

static void test_message_limit(void **state)
{
    size_t len = (size_t)NP_ARTICLE_MAX + 1;
    char *buf = malloc(len);
    struct np_err err = { 0 };
    struct np_article *a = NULL;

    (void)state;
    assert_non_null(buf);
    memset(buf, ' ', len); /* valid JSON once a short object is at the start */
    buf[snprintf(buf, len, "%s", "{\"title\":\"t\",\"body\":\"b\"}")] = ' ';
    assert_int_equal(np_article_parse(buf, len, &a, &err), NP_ETOOBIG);
    assert_string_equal(err.field, "message");
    assert_int_equal(np_article_parse(buf, len - 1, &a, &err), 0);
    np_article_destroy(&a);
    free(buf);
}

static void test_list_and_depth_limits(void **state)
{
    char buf[4096];
    int n = 0;
    struct np_article *a = NULL;

    (void)state;
    n = snprintf(buf, sizeof(buf), "{\"title\":\"t\",\"body\":\"b\",\"authors\":[");
    for (int i = 0; i < NP_LIST_MAX; i++) {
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\"a%d\"", i ? "," : "", i);
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "]}");
    a = parse_str(buf, 0, NULL);
    assert_int_equal(a->authors.len, NP_LIST_MAX);
    np_article_destroy(&a);
    snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"x\"]}");
    parse_str(buf, NP_ETOOBIG, "authors");

    a = parse_case("extra_depth_32");
    np_article_destroy(&a);
    n = snprintf(buf, sizeof(buf), "{\"title\":\"t\",\"body\":\"b\",\"d\":");
    for (int i = 0; i < NP_JSON_DEPTH_MAX + 1; i++) {
        buf[n++] = i % 2 ? '[' : '{';
        if (i % 2 == 0) {
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"k\":");
        }
    }
    buf[n++] = '1';
    for (int i = NP_JSON_DEPTH_MAX; i >= 0; i--) {
        buf[n++] = i % 2 ? ']' : '}';
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "}");
    parse_str(buf, NP_ETOOBIG, "d");
}

/* --- shared data ------------------------------------------------------------------------ */

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every Reuters article parses or is rejected for an empty title or body, and round-trips.
 * Prints the parse rate (informational; nothing asserts on time). */
static void test_reuters_corpus(void **state)
{
    const char *path = t_shared("reuters-train.jsonl");
    size_t len = 0;
    char *buf = NULL;
    size_t ok = 0;
    size_t rejected = 0;
    size_t bytes = 0;
    double t0;
    double t1;

    (void)state;
    if (path == NULL) {
        skip();
        return;
    }
    buf = read_file(path, &len);
    if (buf == NULL) {
        skip();
        return;
    }
    t0 = now_sec();
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t n = nl != NULL ? (size_t)(nl - line) : (size_t)(buf + len - line);
        struct np_err err = { 0 };
        struct np_article *a = NULL;
        int rc = np_article_parse(line, n, &a, &err);

        if (rc == 0) {
            ok++;
            np_article_destroy(&a);
        } else {
            if (rc != NP_EINVAL ||
                (strcmp(err.field, "title") != 0 && strcmp(err.field, "body") != 0)) {
                print_error("unexpected rejection: %s\n", err.msg);
                fail();
            }
            rejected++;
        }
        bytes += n;
        line += n + 1;
    }
    t1 = now_sec();
    print_message("reuters-train: %zu accepted, %zu rejected, %.0f articles/s, %.1f MB/s\n", ok,
                  rejected, (double)(ok + rejected) / (t1 - t0), (double)bytes / (t1 - t0) / 1e6);
    assert_true(ok > 8000);
    /* Round trip of every accepted article. */
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t n = nl != NULL ? (size_t)(nl - line) : (size_t)(buf + len - line);
        struct np_article *a = NULL;

        if (np_article_parse(line, n, &a, NULL) == 0) {
            check_round_trip(a);
            np_article_destroy(&a);
        }
        line += n + 1;
    }
    free(buf);
}

/* Parses {"title"|"body": s, the other: "x", "source": s}: accepted and round-tripping, or
 * refused with a reason. */
static void check_naughty(json_t *s, bool as_body)
{
    json_t *o = json_object();
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    char *text = NULL;
    int rc;

    json_object_set(o, as_body ? "body" : "title", s);
    json_object_set_new(o, as_body ? "title" : "body", json_string("x"));
    json_object_set(o, "source", s);
    text = json_dumps(o, 0);
    assert_non_null(text);
    rc = np_article_parse(text, strlen(text), &a, &err);
    if (rc == 0) {
        check_round_trip(a);
    } else {
        if (rc != NP_EINVAL && rc != NP_EPARSE && rc != NP_ETOOBIG) {
            print_error("%s: %d %s\n", json_string_value(s), rc, err.msg);
        }
        assert_true(err.msg[0] != '\0');
        assert_true(rc == NP_EINVAL || rc == NP_EPARSE || rc == NP_ETOOBIG);
    }
    np_article_destroy(&a);
    free(text);
    json_decref(o);
}

/* Each naughty string as title and as body. */
static void test_naughty_strings(void **state)
{
    const char *path = t_shared("badinput/blns.json");
    json_t *list = NULL;
    size_t i = 0;
    json_t *s = NULL;

    (void)state;
    if (path == NULL) {
        skip();
        return;
    }
    list = json_load_file(path, 0, NULL);
    if (list == NULL) {
        skip();
        return;
    }
    json_array_foreach(list, i, s)
    {
        check_naughty(s, false);
        check_naughty(s, true);
    }
    json_decref(list);
}

/* JSONTestSuite: n_* never parse as an article; nothing crashes. */
static void test_json_test_suite(void **state)
{
    const char *dir = t_shared("badinput/jsontestsuite");
    DIR *d = NULL;
    struct dirent *e = NULL;
    int seen = 0;

    (void)state;
    if (dir == NULL) {
        skip();
        return;
    }
    d = opendir(dir);
    if (d == NULL) {
        skip();
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char path[2048];
        struct np_err err = { 0 };
        struct np_article *a = NULL;
        int rc;

        if (!ends_with(e->d_name, ".json")) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = parse_file(path, &a, &err);
        if (e->d_name[0] == 'n' && rc == 0) {
            print_error("%s was accepted\n", e->d_name);
            fail();
        }
        if (rc != 0) {
            assert_true(err.msg[0] != '\0');
        }
        np_article_destroy(&a);
        seen++;
    }
    closedir(d);
    assert_true(seen > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_cases_parse_and_round_trip),
        cmocka_unit_test(test_invalid_cases_fail_with_their_reason),
        cmocka_unit_test(test_reference_article),
        cmocka_unit_test(test_html_body_is_stripped),
        cmocka_unit_test(test_plain_text_and_company_codes_unchanged),
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_nulls_and_empty_strings_are_absent),
        cmocka_unit_test(test_headline_only),
        cmocka_unit_test(test_canonical_json_order),
        cmocka_unit_test(test_extra_fields_kept_in_order),
        cmocka_unit_test(test_messages_name_the_problem),
        cmocka_unit_test(test_derive_id_stable_and_by_kind),
        cmocka_unit_test(test_derive_id_without_source_or_date),
        cmocka_unit_test(test_client_id_kept),
        cmocka_unit_test(test_field_limits),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_list_and_depth_limits),
        cmocka_unit_test(test_reuters_corpus),
        cmocka_unit_test(test_naughty_strings),
        cmocka_unit_test(test_json_test_suite),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
