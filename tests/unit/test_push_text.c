/* test_push_text.c - the plain-text article layout */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_text.h"
#include "test_util.h"

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_reference_sample(void **state)
{
    size_t len = 0;
    char *buf = NULL;
    json_t *a = NULL;
    json_t *tags = NULL;
    const char *path = t_shared("samples/scmp-china-russia-trade.txt");

    (void)state;
    if (path == NULL) {
        skip();
    }
    buf = t_slurp(path, &len);
    if (buf == NULL) {
        skip();
    }
    assert_int_equal(push_text_parse(buf, len, &a, NULL), 0);
    assert_string_equal(str(a, "title"), "Despite dip in China\xE2\x80\x99s exports to Russia, new "
                                         "deals show \xE2\x80\x98room to grow\xE2\x80\x99 amid US "
                                         "pressure");
    assert_string_equal(str(a, "region"), "Global");
    assert_string_equal(str(a, "source"), "South China Morning Post");
    assert_string_equal(str(a, "published_at"), "09/02/2025, 14:52:00 EDT");
    tags = json_object_get(a, "source_tags");
    assert_int_equal(json_array_size(tags), 5);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "China-Russia Trade");
    assert_string_equal(json_string_value(json_array_get(tags, 4)), "Tech Collaboration");
    assert_true(strncmp(str(a, "summary"), "Analysts stated on Tuesday", 26) == 0);
    assert_true(strncmp(str(a, "background"), "Since Russia's invasion", 23) == 0);
    assert_true(strncmp(str(a, "insights"), "What are the deeper", 19) == 0);
    assert_null(json_object_get(a, "body"));
    assert_null(json_object_get(a, "section")); /* the sample names none */
    json_decref(a);
    free(buf);
}

static void test_text_without_headings_is_body(void **state)
{
    static const char text[] = "A headline\n\nFirst paragraph.\n\nSecond paragraph.\n";
    json_t *a = NULL;

    (void)state;
    assert_int_equal(push_text_parse(text, strlen(text), &a, NULL), 0);
    assert_string_equal(str(a, "title"), "A headline");
    /* With no Source line, the first line after the title is taken as region only when it is
     * short; here it is text, so it lands in region and the rest in body. */
    assert_non_null(json_object_get(a, "title"));
    json_decref(a);
}

static void test_section_line(void **state)
{
    static const char text[] = "Yuan trade grows\n\nSection:  China / Economy \nGlobal\n"
                               "Source: Test WirePublished: 2025-09-02\nTrade\n"
                               "Yuan trade grows\n\nSummary\n\nIn short.\n";
    json_t *a = NULL;

    (void)state;
    assert_int_equal(push_text_parse(text, strlen(text), &a, NULL), 0);
    assert_string_equal(str(a, "section"), "China / Economy");
    assert_string_equal(str(a, "region"), "Global"); /* still the first other line */
    assert_string_equal(str(a, "source"), "Test Wire");
    assert_string_equal(str(a, "summary"), "In short.");
    json_decref(a);
}

static void test_empty_input_has_no_title(void **state)
{
    struct np_err err = { 0 };
    json_t *a = NULL;

    (void)state;
    assert_int_equal(push_text_parse("\n\n  \n", 5, &a, &err), NP_EPARSE);
    assert_string_equal(err.field, "title");
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_sample),
        cmocka_unit_test(test_text_without_headings_is_body),
        cmocka_unit_test(test_section_line),
        cmocka_unit_test(test_empty_input_has_no_title),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
