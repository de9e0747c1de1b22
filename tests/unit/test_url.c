/* test_url.c - np_url_normalise() (url.c) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "np/url.h"

/* Normalises in, checks the result, and checks that normalising it again changes nothing. */
static void check(const char *in, const char *want)
{
    struct np_err err = { 0 };
    char *out = NULL;
    char *again = NULL;
    int rc = np_url_normalise(in, "url", &out, &err);

    if (rc != 0) {
        print_error("\"%s\": %s\n", in, err.msg);
    }
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
    assert_int_equal(np_url_normalise(out, "url", &again, &err), 0);
    assert_string_equal(again, out);
    free(out);
    free(again);
}

static void check_bad(const char *in, const char *why)
{
    struct np_err err = { 0 };
    char *out = (char *)"untouched";

    if (np_url_normalise(in, "link", &out, &err) == 0) {
        print_error("\"%s\" was accepted as \"%s\"\n", in, out);
        fail();
    }
    assert_int_equal(err.code, NP_EINVAL);
    assert_string_equal(err.field, "link");
    if (strstr(err.msg, why) == NULL) {
        print_error("\"%s\": message \"%s\" does not say \"%s\"\n", in, err.msg, why);
        fail();
    }
    assert_string_equal(out, "untouched");
}

static void test_case_and_empty_path(void **state)
{
    (void)state;
    check("HTTP://Example.COM", "http://example.com/");
    check("hTTps://WWW.Example.com/Path/To?Q=V", "https://www.example.com/Path/To?Q=V");
    check("http://example.com?x=1", "http://example.com/?x=1");
    check("http://example.com/", "http://example.com/");
    check("https://example.com/a/b/", "https://example.com/a/b/");
}

static void test_ports(void **state)
{
    (void)state;
    check("http://example.com:80/a", "http://example.com/a");
    check("https://example.com:443/a", "https://example.com/a");
    check("https://example.com:80/a", "https://example.com:80/a");
    check("http://example.com:443/a", "http://example.com:443/a");
    check("http://example.com:8080", "http://example.com:8080/");
    check("http://example.com:/a", "http://example.com/a");
    check("http://example.com:0080/a", "http://example.com/a");
    check("http://[::1]:8080/x", "http://[::1]:8080/x");
    check("http://[2001:DB8::1]:80", "http://[2001:db8::1]/");
}

static void test_fragment_and_tracking(void **state)
{
    (void)state;
    check("http://a.com/x#frag", "http://a.com/x");
    check("http://a.com#frag", "http://a.com/");
    check("http://a.com/x?utm_source=tw&id=5&fbclid=abc&b=2#top", "http://a.com/x?id=5&b=2");
    check("http://a.com/x?utm_source=x&utm_medium=y", "http://a.com/x");
    check("http://a.com/x?UTM_Campaign=x&keep=1", "http://a.com/x?keep=1");
    check("http://a.com/?gclid=1&dclid=2&msclkid=3&yclid=4&mc_cid=5&mc_eid=6&igshid=7&_ga=8"
          "&ref_src=9&fbclid=10",
          "http://a.com/");
    check("http://a.com/?utm=1&xutm_source=2&gclidx=3",
          "http://a.com/?utm=1&xutm_source=2&gclidx=3");
    check("http://a.com/?a=1&&b=2&", "http://a.com/?a=1&b=2");
    check("http://a.com/?", "http://a.com/");
    check("http://a.com/?flag&utm_x", "http://a.com/?flag");
    check("http://a.com/p?q=a#b?c", "http://a.com/p?q=a");
}

static void test_userinfo_kept_with_host(void **state)
{
    (void)state;
    check("http://User:Pw@Example.com/x", "http://User:Pw@example.com/x");
}

static void test_invalid(void **state)
{
    (void)state;
    check_bad("", "absolute http or https");
    check_bad("ftp://example.com/", "absolute http or https");
    check_bad("example.com/page", "absolute http or https");
    check_bad("/relative/path", "absolute http or https");
    check_bad("//example.com/", "absolute http or https");
    check_bad("mailto:x@example.com", "absolute http or https");
    check_bad("javascript:alert(1)", "absolute http or https");
    check_bad("http:/example.com", "absolute http or https");
    check_bad("http://", "no host");
    check_bad("http:///path", "no host");
    check_bad("http://user@", "no host");
    check_bad("http://user:pw@/x", "no host");
    check_bad("http://:80/", "no host");
    check_bad("http://exa mple.com/", "white space");
    check_bad("http://example.com/a b", "white space");
    check_bad("http://example.com/\x01", "control");
    check_bad("http://example.com/\x7f", "control");
    check_bad("http://example.com:99999/", "port");
    check_bad("http://example.com:0/", "port");
    check_bad("http://example.com:abc/", "port");
    check_bad("http://exa<mple.com/", "invalid character");
    check_bad("http://[::1/", "IPv6");
    check_bad("http://[::1]x/", "IPv6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_and_empty_path),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_fragment_and_tracking),
        cmocka_unit_test(test_userinfo_kept_with_host),
        cmocka_unit_test(test_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
