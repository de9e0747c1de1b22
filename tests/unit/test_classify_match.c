/* test_classify_match.c - the token matcher: interning, wildcard prefixes, Aho-Corasick */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_engine.h"
#include "classify_match.h"

static void test_match_intern_finds_added_strings(void **state)
{
    struct classify_intern *in = classify_intern_new();
    uint32_t id = 0;
    bool added = false;
    char buf[32];

    (void)state;
    assert_non_null(in);
    for (uint32_t i = 1; i <= 1000; i++) {
        int n = snprintf(buf, sizeof(buf), "word%u", i);
        assert_int_equal(classify_intern_add(in, buf, (size_t)n, i, &id, &added), 0);
        assert_true(added);
        assert_int_equal(id, i);
    }
    assert_int_equal(classify_intern_add(in, "word7", 5, 5000, &id, &added), 0);
    assert_false(added);
    assert_int_equal(id, 7);
    assert_int_equal(classify_intern_find(in, "word999", 7), 999);
    assert_int_equal(classify_intern_find(in, "word1001", 8), 0);
    assert_int_equal(classify_intern_find(in, "wor", 3), 0);
    assert_int_equal(classify_intern_count(in), 1000);
    classify_intern_destroy(&in);
    assert_null(in);
}

static void test_match_prefixes_shortest_first(void **state)
{
    struct classify_prefixes *ps = classify_prefixes_new();
    uint32_t ids[8];
    uint32_t id = 0;

    (void)state;
    assert_non_null(ps);
    assert_int_equal(classify_prefixes_add(ps, "export", 6, 10, &id), 0);
    assert_int_equal(id, 10);
    assert_int_equal(classify_prefixes_add(ps, "exp", 3, 11, &id), 0);
    assert_int_equal(classify_prefixes_add(ps, "export", 6, 12, &id), 0);
    assert_int_equal(id, 10); /* already there */
    assert_int_equal(classify_prefixes_count(ps), 2);
    assert_int_equal(classify_prefixes_find(ps, "exports", 7, ids, 8), 2);
    assert_int_equal(ids[0], 11);
    assert_int_equal(ids[1], 10);
    assert_int_equal(classify_prefixes_find(ps, "export", 6, ids, 8), 2);
    assert_int_equal(classify_prefixes_find(ps, "expo", 4, ids, 8), 1);
    assert_int_equal(classify_prefixes_find(ps, "ex", 2, ids, 8), 0);
    assert_int_equal(classify_prefixes_find(ps, "import", 6, ids, 8), 0);
    classify_prefixes_destroy(&ps);
}

/* Runs text through ac and writes "pattern@end" for every match into got. */
static void run_ac(const struct classify_ac *ac, const uint32_t *text, size_t n, char *got,
                   size_t cap)
{
    uint32_t s = 0;
    size_t len = 0;

    got[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        s = classify_ac_step(ac, s, text[i]);
        const uint32_t *out = classify_ac_out(ac, s, &m);
        for (size_t k = 0; k < m; k++) {
            len += (size_t)snprintf(got + len, cap - len, "%s%u@%zu", len ? " " : "", out[k], i);
        }
    }
}

static void test_match_ac_overlapping_and_nested(void **state)
{
    struct classify_ac *ac = classify_ac_new();
    const uint32_t p0[] = { 1, 2, 3 }; /* a b c */
    const uint32_t p1[] = { 2, 3 };    /* b c: inside p0 */
    const uint32_t p2[] = { 2 };       /* b */
    const uint32_t p3[] = { 3, 4 };    /* c d: overlaps p0 */
    const uint32_t p4[] = { 1, 2, 4 }; /* a b d: shares a prefix with p0 */
    const uint32_t text[] = { 1, 2, 3, 4, 0, 1, 2, 4, 2 };
    char got[256];

    (void)state;
    assert_non_null(ac);
    assert_int_equal(classify_ac_add(ac, p0, 3, 0), 0);
    assert_int_equal(classify_ac_add(ac, p1, 2, 1), 0);
    assert_int_equal(classify_ac_add(ac, p2, 1, 2), 0);
    assert_int_equal(classify_ac_add(ac, p3, 2, 3), 0);
    assert_int_equal(classify_ac_add(ac, p4, 3, 4), 0);
    assert_int_equal(classify_ac_compile(ac, 4), 0);
    run_ac(ac, text, sizeof(text) / sizeof(text[0]), got, sizeof(got));
    assert_string_equal(got, "2@1 0@2 1@2 3@3 2@6 4@7 2@8");
    assert_int_equal(classify_ac_states(ac), 9); /* root a ab abc abd b bc c cd */
    classify_ac_destroy(&ac);
    assert_null(ac);
}

static void test_match_ac_unknown_symbol_resets(void **state)
{
    struct classify_ac *ac = classify_ac_new();
    const uint32_t p0[] = { 1, 2 };
    const uint32_t text[] = { 1, 0, 2, 1, 2 };
    char got[64];

    (void)state;
    assert_int_equal(classify_ac_add(ac, p0, 2, 7), 0);
    assert_int_equal(classify_ac_compile(ac, 2), 0);
    run_ac(ac, text, 5, got, sizeof(got));
    assert_string_equal(got, "7@4");
    classify_ac_destroy(&ac);
}

/* Engine-level matching: words, wildcards, case-sensitive aliases. */
static const char taxonomy[] =
    "{\"version\": \"m\", \"entities\": ["
    " {\"name\": \"United States\", \"kind\": \"country\", \"region\": \"North America\","
    "  \"aliases\": [\"united states\", \"america\", \"american*\","
    "               {\"phrase\": \"US\", \"case_sensitive\": true}]},"
    " {\"name\": \"Apple\", \"kind\": \"company\","
    "  \"aliases\": [{\"phrase\": \"Apple Inc\", \"case_sensitive\": true}]}],"
    " \"tags\": [{\"name\": \"Trade\", \"any\": [\"export*\", \"crude export*\", \"trade war\","
    "   \"trade\"]}]}";

/* Runs the engine on v and parses its text: the tests read the result as JSON. */
static json_t *run_view(struct classify_engine *e, const struct np_article_view *v)
{
    char *text = NULL;
    size_t len = 0;
    json_t *out = NULL;

    assert_int_equal(classify_engine_run(e, v, &text, &len), 0);
    out = json_loadb(text, len, 0, NULL);
    assert_non_null(out);
    free(text);
    return out;
}

static int mentions(const char *body, const char *entity)
{
    struct np_err err;
    struct classify_engine *e = classify_engine_load_json(taxonomy, strlen(taxonomy), &err);
    struct np_article_view a = { { NULL } };
    json_t *out = NULL;
    int n = 0;

    assert_non_null(e);
    a.text[NP_FIELD_title] = "x";
    a.text[NP_FIELD_body] = body;
    out = run_view(e, &a);
    json_t *ents = json_object_get(out, "entities");
    for (size_t i = 0; i < json_array_size(ents); i++) {
        json_t *it = json_array_get(ents, i);
        if (strcmp(json_string_value(json_object_get(it, "name")), entity) == 0) {
            n = (int)json_integer_value(json_object_get(it, "mentions"));
        }
    }
    json_decref(out);
    classify_engine_destroy(&e);
    return n;
}

static double trade_score(const char *body, json_t **evidence)
{
    struct np_err err;
    struct classify_engine *e = classify_engine_load_json(taxonomy, strlen(taxonomy), &err);
    struct np_article_view a = { { NULL } };
    json_t *out = NULL;
    double score = 0;

    assert_non_null(e);
    a.text[NP_FIELD_title] = "x";
    a.text[NP_FIELD_body] = body;
    out = run_view(e, &a);
    json_t *tag = json_array_get(json_object_get(out, "tags"), 0);
    if (tag != NULL) {
        score = json_real_value(json_object_get(tag, "score"));
        if (evidence != NULL) {
            *evidence = json_incref(json_object_get(tag, "evidence"));
        }
    }
    json_decref(out);
    classify_engine_destroy(&e);
    return score;
}

static void test_match_case_sensitive_alias(void **state)
{
    (void)state;
    assert_int_equal(mentions("US officials told us", "United States"), 1);
    assert_int_equal(mentions("the U.S. said", "United States"), 1);
    assert_int_equal(mentions("let us go, Us", "United States"), 0);
    assert_int_equal(mentions("Apple Inc rose; apple inc fell", "Apple"), 1);
    assert_int_equal(mentions("American and Americans, americanism", "United States"), 3);
    assert_int_equal(mentions("Amerika", "United States"), 0);
}

static void test_match_wildcards_and_nested_phrases(void **state)
{
    json_t *ev = NULL;

    (void)state;
    /* export* x2 (exports, exported) + crude export* x1 */
    assert_true(trade_score("crude exports were exported", &ev) == 3.0);
    assert_int_equal(json_array_size(ev), 2);
    json_decref(ev);
    /* "trade war" and "trade" both count on "trade war" */
    assert_true(trade_score("a trade war", NULL) == 2.0);
    assert_true(trade_score("exp expo", NULL) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_intern_finds_added_strings),
        cmocka_unit_test(test_match_prefixes_shortest_first),
        cmocka_unit_test(test_match_ac_overlapping_and_nested),
        cmocka_unit_test(test_match_ac_unknown_symbol_resets),
        cmocka_unit_test(test_match_case_sensitive_alias),
        cmocka_unit_test(test_match_wildcards_and_nested_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
