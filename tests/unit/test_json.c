/* test_json.c - np_json (yajl into an arena) against Jansson, the parser it stands in for
 *
 * The contract of np/json.h is "accepts what json_loadb(JSON_REJECT_DUPLICATES) accepts, and
 * the values are the same". Checked on hand-written cases (each rule of the header), on every
 * JSONTestSuite file in ../shared/data/badinput/jsontestsuite, and on 2,000 Reuters articles:
 * for each input both parsers must agree on accept or refuse, and an accepted document written
 * back by np_json_write() must be json_equal() to Jansson's. The arena is reused across all of
 * them, as the workers reuse it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "np/json.h"
#include "test_util.h"

static struct np_json_doc doc;

/* Parses s both ways; fails the test when they disagree. Returns whether it was accepted. */
static bool agree(const char *label, const char *s, size_t len)
{
    struct np_err err = { 0 };
    json_error_t jerr;
    json_t *want = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    int rc = np_json_parse(&doc, s, len, "doc", 0, &err);

    if (rc != 0 && want != NULL &&
        (memchr(s, '\0', len) != NULL || strstr(err.msg, "nest too deep") != NULL)) {
        /* The two intended differences: Jansson stops reading at a raw NUL byte ("123\0" is
         * 123), np_json refuses it, as JSONTestSuite's n_multidigit_number_then_00 says a
         * parser should; and Jansson allows 2048 levels of nesting, np_json 64. */
        json_decref(want);
        want = NULL;
    }
    if ((rc == 0) != (want != NULL)) {
        fail_msg("%s: np_json %s (%s), Jansson %s (%s)", label, rc == 0 ? "accepts" : "refuses",
                 err.msg, want != NULL ? "accepts" : "refuses", want != NULL ? "" : jerr.text);
    }
    if (rc == 0) {
        struct np_buf out = { 0 };
        json_t *back = NULL;

        np_json_write(&out, doc.root);
        assert_false(out.failed);
        back = json_loadb(out.p, out.len, JSON_DECODE_ANY, &jerr);
        if (back == NULL || !json_equal(back, want)) {
            fail_msg("%s: written back as %.200s", label, out.p);
        }
        json_decref(back);
        free(out.p);
    } else {
        assert_int_equal(rc, NP_EPARSE);
        assert_null(doc.root);
        assert_string_equal(err.field, "doc");
    }
    json_decref(want);
    return rc == 0;
}

static bool agree_str(const char *s)
{
    return agree(s, s, strlen(s));
}

static void test_rules(void **state)
{
    (void)state;
    /* accepted */
    assert_true(agree_str("{\"a\":[1,-2.5e3,true,false,null,\"x\\ty\"],\"b\":{}}"));
    assert_true(agree_str("\"\\ud83d\\ude00 \\u00e9\""));
    assert_true(agree_str("9223372036854775807"));
    assert_true(agree_str("-9223372036854775808"));
    assert_true(agree_str("1e-999")); /* underflows to 0, as Jansson reads it */
    assert_true(agree_str(" [] "));
    /* refused, as Jansson refuses them */
    assert_false(agree_str(""));
    assert_false(agree_str("{\"a\":1,\"a\":2}"));
    assert_false(agree_str("[\"a\\u0000b\"]"));
    assert_false(agree_str("{\"a\\u0000\":1}"));
    assert_false(agree_str("[\"\xed\xa0\x80\"]"));   /* a surrogate in UTF-8 */
    assert_false(agree_str("[\"\xc0\xaf\"]"));       /* overlong */
    assert_false(agree_str("[\"\\udc00\"]"));        /* unpaired low surrogate escape */
    assert_false(agree_str("[\"\\ud800\"]"));        /* unpaired high surrogate escape */
    assert_false(agree_str("[\"\\uD800\\u0041\"]")); /* high, then not a low one */
    assert_true(agree_str("[\"\\\\ud800\"]"));       /* an escaped backslash, then text */
    assert_false(agree_str("9223372036854775808"));  /* over int64_t */
    assert_false(agree_str("1e999"));
    assert_false(agree_str("[1] x"));
    assert_false(agree_str("null\"")); /* an unfinished token after the value */
    assert_false(agree_str("[1] tru"));
    assert_false(agree_str("1 2"));
    assert_true(agree_str("12 \n"));
    assert_false(agree_str("[1,]"));
    assert_false(agree_str("{\"a\" 1}"));
    assert_false(agree_str("[01]"));
}

static void test_duplicates_in_big_object(void **state)
{
    char buf[4096];
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}");
    assert_true(agree("100 keys", buf, n));
    assert_int_equal(doc.root->n, 100);
    assert_int_equal(np_json_get(doc.root, "k99")->i, 99);
    /* the same object with k50 again at the end */
    snprintf(buf + n - 1, sizeof(buf) - n + 1, ",\"k50\":1}");
    assert_false(agree("100 keys, one twice", buf, n + 8));
}

static void test_nesting_limit(void **state)
{
    char deep[2 * NP_JSON_NEST_MAX + 3];
    struct np_err err = { 0 };
    size_t n = NP_JSON_NEST_MAX;

    (void)state;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_int_equal(np_json_parse(&doc, deep, 2 * n, "doc", 0, &err), 0);
    memset(deep, '[', n + 1);
    memset(deep + n + 1, ']', n + 1);
    assert_int_equal(np_json_parse(&doc, deep, 2 * n + 2, "doc", 0, &err), NP_EPARSE);
    assert_non_null(strstr(err.msg, "nest"));
}

static void test_accessors(void **state)
{
    struct np_err err = { 0 };
    const char *s = "{\"id\":\"x1\",\"n\":null,\"t\":[\"a\",\"b\"],\"r\":0.5}";
    const struct np_json *t = NULL;

    (void)state;
    assert_int_equal(np_json_parse(&doc, s, strlen(s), "doc", 0, &err), 0);
    assert_string_equal(np_json_string(np_json_get(doc.root, "id")), "x1");
    assert_null(np_json_string(np_json_get(doc.root, "n")));
    assert_true(np_json_is_none(np_json_get(doc.root, "n")));
    assert_true(np_json_is_none(np_json_get(doc.root, "missing")));
    assert_null(np_json_get(np_json_get(doc.root, "id"), "id")); /* not an object */
    t = np_json_get(doc.root, "t");
    assert_int_equal(t->type, NP_JSON_ARRAY);
    assert_int_equal(t->n, 2);
    assert_string_equal(t->child->next->s, "b");
    assert_true(np_json_get(doc.root, "r")->d == 0.5);
    /* the error names what was parsed and where */
    assert_int_equal(np_json_parse(&doc, "{\"a\":tru}", 9, "envelope", 0, &err), NP_EPARSE);
    assert_string_equal(err.field, "envelope");
    assert_non_null(strstr(err.msg, "envelope: invalid JSON at byte"));
}

static void test_big_document(void **state)
{
    /* more than the arena's first chunk: extra chunks, freed by the next parse */
    size_t n = 200000;
    char *big = malloc(n + 3);
    struct np_err err = { 0 };

    (void)state;
    assert_non_null(big);
    big[0] = '[';
    for (size_t i = 0; i < n / 2; i++) {
        big[1 + 2 * i] = '0';
        big[2 + 2 * i] = ',';
    }
    big[n] = ']'; /* replaces the last ',' */
    assert_int_equal(np_json_parse(&doc, big, n + 1, "doc", 0, &err), 0);
    assert_int_equal(doc.root->n, n / 2);
    assert_int_equal(np_json_parse(&doc, "[1]", 3, "doc", 0, &err), 0);
    assert_int_equal(doc.root->child->i, 1);
    free(big);
}

static void test_jsontestsuite(void **state)
{
    char dir[4096];
    DIR *d = NULL;
    struct dirent *e = NULL;
    int files = 0;

    (void)state;
    const char *suite = t_shared("badinput/jsontestsuite");

    if (suite == NULL) {
        skip();
    }
    snprintf(dir, sizeof(dir), "%s", suite);
    d = opendir(dir);
    if (d == NULL) {
        skip();
    }
    while ((e = readdir(d)) != NULL) {
        char path[8192];
        size_t len = 0;
        char *text = NULL;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        text = t_slurp(path, &len);
        assert_non_null(text);
        agree(e->d_name, text, len);
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files > 300);
}

static void test_reuters(void **state)
{
    char path[4096];
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    int lines = 0;

    (void)state;
    const char *reuters = t_shared("reuters-train.jsonl");

    if (reuters == NULL) {
        skip();
    }
    snprintf(path, sizeof(path), "%s", reuters);
    f = fopen(path, "r");
    if (f == NULL) {
        skip();
    }
    while (lines < 2000 && (n = getline(&line, &cap, f)) > 0) {
        char label[32];

        snprintf(label, sizeof(label), "reuters line %d", ++lines);
        assert_true(agree(label, line, (size_t)n));
    }
    free(line);
    fclose(f);
    assert_int_equal(lines, 2000);
}

static int teardown(void **state)
{
    (void)state;
    np_json_doc_free(&doc);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),         cmocka_unit_test(test_duplicates_in_big_object),
        cmocka_unit_test(test_nesting_limit), cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_big_document),  cmocka_unit_test(test_jsontestsuite),
        cmocka_unit_test(test_reuters),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
