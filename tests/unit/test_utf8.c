/* test_utf8.c - the one UTF-8 decoder (utf8.c): lengths, reasons, validity, encoding, repair */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "np/utf8.h"

/* Returns np_utf8_seq_len() of the whole string s and its reason. */
static size_t seq(const char *s, const char **why)
{
    *why = NULL;
    return np_utf8_seq_len(s, s + strlen(s), why);
}

static void test_seq_len_well_formed(void **state)
{
    const char *why = NULL;

    (void)state;
    assert_int_equal(seq("a", &why), 1);
    assert_int_equal(seq("\xC3\xA9", &why), 2);         /* é */
    assert_int_equal(seq("\xE2\x82\xAC", &why), 3);     /* € */
    assert_int_equal(seq("\xF0\x9F\x93\xB0", &why), 4); /* newspaper emoji */
    assert_int_equal(seq("\xF4\x8F\xBF\xBF", &why), 4); /* U+10FFFF */
    assert_null(why);
}

static void test_seq_len_reasons(void **state)
{
    const char *why = NULL;

    (void)state;
    assert_int_equal(seq("\x80", &why), 0);
    assert_string_equal(why, "a continuation byte without a lead byte");
    assert_int_equal(seq("\xC0\xAF", &why), 0);
    assert_string_equal(why, "an overlong encoding");
    assert_int_equal(seq("\xE0\x80\xAF", &why), 0);
    assert_string_equal(why, "an overlong encoding");
    assert_int_equal(seq("\xED\xA0\x80", &why), 0);
    assert_string_equal(why, "a UTF-16 surrogate");
    assert_int_equal(seq("\xF4\x90\x80\x80", &why), 0);
    assert_string_equal(why, "a code point above U+10FFFF");
    assert_int_equal(seq("\xF5\x80\x80\x80", &why), 0);
    assert_string_equal(why, "a code point above U+10FFFF");
    assert_int_equal(seq("\xFF", &why), 0);
    assert_string_equal(why, "a byte that never occurs in UTF-8");
    assert_int_equal(seq("\xE2\x82", &why), 0);
    assert_string_equal(why, "a truncated multi-byte sequence");
    assert_int_equal(seq("\xE2(\xAC", &why), 0);
    assert_string_equal(why, "a truncated multi-byte sequence");
}

static void test_valid_and_invalid_at(void **state)
{
    static const char nul[] = "abcdefghij\0klm";
    const char *s = "plain ASCII text, long enough for the fast path: caf\xC3\xA9 \xE2\x82\xAC";
    const char *bad = "0123456789abcdef\xED\xA0\x80xyz";
    const char *why = NULL;

    (void)state;
    assert_true(np_utf8_valid(s, strlen(s)));
    assert_true(np_utf8_valid("", 0));
    assert_false(np_utf8_valid(nul, sizeof(nul) - 1));
    assert_false(np_utf8_valid(bad, strlen(bad)));
    assert_int_equal(np_utf8_invalid_at(bad, strlen(bad), &why), 16);
    assert_string_equal(why, "a UTF-16 surrogate");
    assert_int_equal(np_utf8_invalid_at(s, strlen(s), &why), strlen(s));
    assert_string_equal(why, "no error");
}

static void test_put_round_trips(void **state)
{
    static const uint32_t cps[] = { 0x24, 0xA2, 0x939, 0x20AC, 0xD55C, 0x10348, 0x10FFFF };
    char buf[5];

    (void)state;
    for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        size_t n = np_utf8_put(buf, cps[i]);
        const char *why = NULL;

        assert_int_equal(np_utf8_seq_len(buf, buf + n, &why), n);
    }
}

static void test_repair(void **state)
{
    char stray[] = "a\x80"
                   "b\xC0\xAF"
                   "c";
    char cut[] = "ok \xE2\x82";
    char kept[] = "caf\xC3\xA9";

    (void)state;
    np_utf8_repair(stray);
    assert_string_equal(stray, "a?b??c");
    np_utf8_repair(cut);
    assert_string_equal(cut, "ok ");
    np_utf8_repair(kept);
    assert_string_equal(kept, "caf\xC3\xA9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_len_well_formed),
        cmocka_unit_test(test_seq_len_reasons),
        cmocka_unit_test(test_valid_and_invalid_at),
        cmocka_unit_test(test_put_round_trips),
        cmocka_unit_test(test_repair),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
