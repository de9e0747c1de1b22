/* test_time.c - np_time_parse() and np_time_format() (time.c) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "np/time.h"

/* Parses s and checks it formats as want. */
static void check(const char *s, const char *want)
{
    struct np_err err = { 0 };
    int64_t t = 0;
    char buf[32];
    int rc = np_time_parse(s, "published_at", &t, &err);

    if (rc != 0) {
        print_error("\"%s\": %s\n", s, err.msg);
    }
    assert_int_equal(rc, 0);
    np_time_format(t, buf, sizeof(buf));
    if (strcmp(buf, want) != 0) {
        print_error("\"%s\" gave %s, want %s\n", s, buf, want);
    }
    assert_string_equal(buf, want);
}

static void check_bad(const char *s)
{
    struct np_err err = { 0 };
    int64_t t = 42;

    if (np_time_parse(s, "published_at", &t, &err) == 0) {
        print_error("\"%s\" was accepted\n", s);
        fail();
    }
    assert_int_equal(err.code, NP_EINVAL);
    assert_string_equal(err.field, "published_at");
    assert_non_null(strstr(err.msg, "published_at: "));
    assert_int_equal(t, 42); /* untouched */
}

static void test_iso8601(void **state)
{
    (void)state;
    check("2025-09-02", "2025-09-02T00:00:00Z");
    check("2025-09-02T18:52:00Z", "2025-09-02T18:52:00Z");
    check("2025-09-02t18:52:00z", "2025-09-02T18:52:00Z");
    check("2025-09-02T14:52:00-04:00", "2025-09-02T18:52:00Z");
    check("2025-09-02T22:52:00+0400", "2025-09-02T18:52:00Z");
    check("2025-09-02T22:52:00+04", "2025-09-02T18:52:00Z");
    check("2025-09-02T23:22:00+04:30", "2025-09-02T18:52:00Z");
    check("2025-09-02 18:52:00", "2025-09-02T18:52:00Z");
    check("2025-09-02T18:52", "2025-09-02T18:52:00Z");
    check("2025-09-02T18:52Z", "2025-09-02T18:52:00Z");
    check("2025-09-02 18:52:00 UTC", "2025-09-02T18:52:00Z");
    check("2025-09-02T18:52:00.5Z", "2025-09-02T18:52:00.500000Z");
    check("2025-09-02T18:52:00,25Z", "2025-09-02T18:52:00.250000Z");
    check("2025-09-02T18:52:00.123456789+00:00", "2025-09-02T18:52:00.123456Z");
    check("  2025-09-02T18:52:00Z \n", "2025-09-02T18:52:00Z");
    check("2025-09-02T01:00:00+02:00", "2025-09-01T23:00:00Z"); /* crosses midnight */
    check("2025-12-31T23:00:00-02:00", "2026-01-01T01:00:00Z"); /* crosses the year */
    check("1987-02-26T15:01:01Z", "1987-02-26T15:01:01Z");      /* Reuters */
}

static void test_rfc2822(void **state)
{
    (void)state;
    check("Tue, 02 Sep 2025 14:52:00 -0400", "2025-09-02T18:52:00Z");
    check("02 Sep 2025 14:52:00 -0400", "2025-09-02T18:52:00Z");
    check("Tue, 2 Sep 2025 18:52:00 GMT", "2025-09-02T18:52:00Z");
    check("Tue 2 Sep 2025 18:52 +0000", "2025-09-02T18:52:00Z");
    check("tue, 02 sep 2025 18:52:00 ut", "2025-09-02T18:52:00Z");
    check("Tuesday, 02 September 2025 18:52:00 Z", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 18:52:00 UTC", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 14:52:00 EDT", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 13:52:00 EST", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 13:52:00 CDT", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 12:52:00 CST", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 12:52:00 MDT", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 11:52:00 MST", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 11:52:00 PDT", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 10:52:00 PST", "2025-09-02T18:52:00Z");
    check("Tue, 02 Sep 2025 18:52:00", "2025-09-02T18:52:00Z");
    check("Thu, 26 Feb 87 15:01:01 GMT", "1987-02-26T15:01:01Z"); /* obsolete 2-digit year */
    check("02 Sep 2025", "2025-09-02T00:00:00Z");
}

static void test_sample_layout(void **state)
{
    (void)state;
    check("09/02/2025, 14:52:00 EDT", "2025-09-02T18:52:00Z");
    check("9/2/2025, 14:52:00 EDT", "2025-09-02T18:52:00Z");
    check("09/02/2025 14:52:00 EDT", "2025-09-02T18:52:00Z");
    check("09/02/2025, 14:52:00 -0400", "2025-09-02T18:52:00Z");
    check("09/02/2025, 14:52:00", "2025-09-02T14:52:00Z");
    check("12/31/2025, 23:00:00 PST", "2026-01-01T07:00:00Z");
    check("09/02/2025", "2025-09-02T00:00:00Z");
}

static void test_leap_years(void **state)
{
    (void)state;
    check("2024-02-29", "2024-02-29T00:00:00Z");
    check("2000-02-29T12:00:00Z", "2000-02-29T12:00:00Z");
    check("2024-03-01T00:00:00+01:00", "2024-02-29T23:00:00Z");
    check("29 Feb 2024 00:00:00 GMT", "2024-02-29T00:00:00Z");
    check_bad("2023-02-29");
    check_bad("1900-02-29");
    check_bad("2100-02-29");
    check_bad("02/29/2023, 10:00:00 EST");
    check_bad("29 Feb 2023 00:00:00 GMT");
}

static void test_leap_second_is_next_minute(void **state)
{
    (void)state;
    check("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z");
}

static void test_bad_dates(void **state)
{
    (void)state;
    check_bad("");
    check_bad("   ");
    check_bad("yesterday");
    check_bad("2025");
    check_bad("2025-09");
    check_bad("2025-9-2");
    check_bad("2025-13-01");
    check_bad("2025-00-10");
    check_bad("2025-09-00");
    check_bad("2025-04-31");
    check_bad("2025-09-02T24:00:00Z");
    check_bad("2025-09-02T23:60:00Z");
    check_bad("2025-09-02T23:59:61Z");
    check_bad("2025-09-02T18:52:00+25:00");
    check_bad("2025-09-02T18:52:00+04:60");
    check_bad("2025-09-02T18:52:00 XYZ");
    check_bad("2025-09-02T18:52:00Zjunk");
    check_bad("2025-09-02T18:52:00.Z");
    check_bad("2025-09-02X18:52:00");
    check_bad("0000-01-01");
    check_bad("Tue, 02 Foo 2025 18:52:00 GMT");
    check_bad("Xyz, 02 Sep 2025 18:52:00 GMT");
    check_bad("Tue, 32 Aug 2025 18:52:00 GMT");
    check_bad("Tue, 02 Sep 2025 18:52:00 GMTX");
    check_bad("09/02/2025, 14:52:00 XYZ");
    check_bad("13/02/2025, 14:52:00 EDT");
    check_bad("09/31/2025, 14:52:00 EDT");
    check_bad("09/02/25, 14:52:00 EDT");
    check_bad("1987-02-26T15:01:01Z and more text that is far too long to be any date at all!!");
}

static void test_format(void **state)
{
    char buf[32];

    (void)state;
    np_time_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    np_time_format(-1000000, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    np_time_format(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    np_time_format(951868800LL * 1000000, buf, sizeof(buf));
    assert_string_equal(buf, "2000-03-01T00:00:00Z");
    np_time_format(253402300799LL * 1000000 + 1, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31T23:59:59.000001Z");
    np_time_format(1756839120LL * 1000000, buf, 11); /* truncated, still terminated */
    assert_string_equal(buf, "2025-09-02");
}

static void test_epoch_values(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(np_time_parse("1970-01-01T00:00:00Z", "d", &t, NULL), 0);
    assert_int_equal(t, 0);
    assert_int_equal(np_time_parse("09/02/2025, 14:52:00 EDT", "d", &t, NULL), 0);
    assert_int_equal(t, 1756839120LL * 1000000);
    assert_int_equal(np_time_parse("0001-01-01", "d", &t, NULL), 0);
    assert_int_equal(t, -62135596800LL * 1000000);
    assert_int_equal(np_time_parse("1969-12-31T23:59:59.5Z", "d", &t, NULL), 0);
    assert_int_equal(t, -500000);
}

/* format then parse gives the same instant, over the whole range of years. */
static void test_format_parse_round_trip(void **state)
{
    uint64_t x = 88172645463325252ULL;
    const int64_t lo = -62135596800LL * 1000000;   /* 0001-01-01 */
    const int64_t span = 315537897600LL * 1000000; /* to 9999-12-31 */

    (void)state;
    for (int i = 0; i < 100000; i++) {
        char buf[32];
        int64_t t;
        int64_t back = 0;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t = lo + (int64_t)(x % (uint64_t)span);
        if (i % 2 == 0) {
            t -= t % 1000000; /* whole seconds half of the time */
        }
        np_time_format(t, buf, sizeof(buf));
        assert_int_equal(np_time_parse(buf, "d", &back, NULL), 0);
        assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_rfc2822),
        cmocka_unit_test(test_sample_layout),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_leap_second_is_next_minute),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_epoch_values),
        cmocka_unit_test(test_format_parse_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
