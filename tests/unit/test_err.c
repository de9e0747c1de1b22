/* test_err.c - error details are always valid UTF-8 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "np/err.h"
#include "np/utf8.h"

static void test_cut_character_is_dropped(void **state)
{
    struct np_err err;

    (void)state;
    /* Jansson's "near '...'" can end inside a character: here after the first byte of U+1F600. */
    np_err_set(&err, NP_EPARSE, "message", "is not valid JSON: near '\"\\%s'", "\xF0");
    assert_true(np_utf8_valid(err.msg, strlen(err.msg)));
    assert_string_equal(err.msg, "message: is not valid JSON: near '\"\\?'");
    /* Cut by the end of the text: dropped. */
    np_err_set(&err, NP_EPARSE, "title", "ends in %s", "ab\xF0\x9F\x98");
    assert_string_equal(err.msg, "title: ends in ab");
}

static void test_bad_bytes_become_question_marks(void **state)
{
    struct np_err err;

    (void)state;
    np_err_set(&err, NP_EINVAL, "ti\xFFtle", "bad %s here", "\xC0\xAF|\xED\xA0\x80|\xE2\x82\xAC");
    assert_true(np_utf8_valid(err.msg, strlen(err.msg)));
    assert_true(np_utf8_valid(err.field, strlen(err.field)));
    assert_string_equal(err.field, "ti?tle");
    assert_non_null(strstr(err.msg, "\xE2\x82\xAC")); /* a valid euro sign stays */
}

static void test_long_message_cut_on_a_character(void **state)
{
    struct np_err err;
    char big[NP_ERR_MSG_MAX * 2];

    (void)state;
    for (size_t i = 0; i + 3 < sizeof(big); i += 3) {
        memcpy(big + i, "\xE2\x82\xAC", 3);
        big[i + 3] = '\0';
    }
    np_err_set(&err, NP_EINVAL, "x", "%s", big);
    assert_true(np_utf8_valid(err.msg, strlen(err.msg)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_character_is_dropped),
        cmocka_unit_test(test_bad_bytes_become_question_marks),
        cmocka_unit_test(test_long_message_cut_on_a_character),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
