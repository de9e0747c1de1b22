/* test_text.c - UTF-8 validity, white-space normalisation and HTML stripping (text.c, utf8.c) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "np/text.h"
#include "np/utf8.h"

/* Normalises a copy of s like the article model does for body text: strip, then white space. */
static char *body_text(const char *s)
{
    char *t = np_text_strip_html(s);

    assert_non_null(t);
    np_text_normalise_space(t, true);
    return t;
}

static void check_strip(const char *in, const char *want)
{
    char *out = np_text_strip_html(in);

    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void check_space(const char *in, bool paragraphs, const char *want)
{
    char *s = strdup(in);

    assert_non_null(s);
    np_text_normalise_space(s, paragraphs);
    assert_string_equal(s, want);
    free(s);
}

static bool valid(const char *s)
{
    return np_utf8_valid(s, strlen(s));
}

static void test_utf8_valid_sequences(void **state)
{
    (void)state;
    assert_true(np_utf8_valid("", 0));
    assert_true(valid("plain ASCII text that is longer than eight bytes"));
    assert_true(valid("caf\xc3\xa9 \xe2\x80\x99 \xe4\xb8\xad \xf0\x9f\x98\x80"));
    assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
    assert_true(valid("\xee\x80\x80"));     /* U+E000, just above */
    assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    assert_true(valid("\xc2\x80"));         /* U+0080, smallest 2-byte */
    assert_true(valid("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    assert_true(valid("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
    assert_true(valid("\xef\xbb\xbf{}"));   /* a BOM is a character like any other */
}

static void test_utf8_invalid_sequences(void **state)
{
    (void)state;
    assert_false(valid("\xc0\xaf"));         /* overlong '/' */
    assert_false(valid("\xc1\xbf"));         /* overlong */
    assert_false(valid("\xe0\x80\xaf"));     /* overlong 3-byte */
    assert_false(valid("\xe0\x9f\xbf"));     /* overlong 3-byte, the largest */
    assert_false(valid("\xf0\x80\x80\xaf")); /* overlong 4-byte */
    assert_false(valid("\xf0\x8f\xbf\xbf")); /* overlong 4-byte, the largest */
    assert_false(valid("\xed\xa0\x80"));     /* U+D800 */
    assert_false(valid("\xed\xbf\xbf"));     /* U+DFFF */
    assert_false(valid("\xf4\x90\x80\x80")); /* U+110000 */
    assert_false(valid("\xf5\x80\x80\x80")); /* lead byte beyond U+10FFFF */
    assert_false(valid("\xff"));
    assert_false(valid("\xfe"));
    assert_false(valid("\x80"));         /* lone continuation */
    assert_false(valid("abc\xe2\x82"));  /* truncated at the end */
    assert_false(valid("\xe2\x82z"));    /* truncated in the middle */
    assert_false(valid("\xf0\x9f\x98")); /* truncated 4-byte */
    assert_false(valid("\xc3"));
    assert_false(valid("0123456789abcdef\xc3")); /* after the ASCII fast path */
    assert_false(np_utf8_valid("abc\0def", 7));  /* NUL inside */
    assert_false(np_utf8_valid("0123456789\0abcdef", 17));
    assert_false(np_utf8_valid("\0", 1));
    /* Only the given length counts. */
    assert_true(np_utf8_valid("ab\xe2\x82\xac", 2));
    assert_false(np_utf8_valid("ab\xe2\x82\xac", 4));
}

static void test_space_collapses_runs(void **state)
{
    (void)state;
    check_space("  a \t b  ", false, "a b");
    check_space("", false, "");
    check_space(" \t\n\r ", false, "");
    check_space("a\xc2\xa0\xe2\x80\x83"
                "b\xe3\x80\x80",
                false, "a b");
    check_space("\xe2\x80\xaf"
                "a\xe1\x9a\x80"
                "b\xe2\x81\x9f",
                false, "a b");
    check_space("a\n\nb", false, "a b");
    check_space("caf\xc3\xa9 \xc3\xa0", false, "caf\xc3\xa9 \xc3\xa0"); /* 0xC3 is not space */
    check_space("\xe2\x80\x8b", false, "\xe2\x80\x8b"); /* U+200B is not white space */
}

static void test_space_keeps_paragraphs(void **state)
{
    (void)state;
    check_space("a\n\nb", true, "a\n\nb");
    check_space("a\nb", true, "a b");
    check_space("a \n \t\n  b", true, "a\n\nb");
    check_space("a\n\n\n\nb", true, "a\n\nb");
    check_space("a\r\n\r\nb", true, "a\n\nb");
    check_space("a\r\nb", true, "a b");
    check_space("a\r\rb", true, "a\n\nb");
    check_space("a\xe2\x80\xa9"
                "b",
                true, "a\n\nb"); /* U+2029 PARAGRAPH SEPARATOR */
    check_space("a\xe2\x80\xa8"
                "b",
                true, "a b"); /* U+2028 LINE SEPARATOR */
    check_space("\n\na\n\n", true, "a");
}

/* The obvious implementation, byte by byte, to check the fast one against. */
static size_t ref_space_len(const char *p, int *breaks)
{
    static const struct {
        const char *s;
        int breaks;
    } spaces[] = {
        { " ", 0 },
        { "\t", 0 },
        { "\n", 1 },
        { "\v", 1 },
        { "\f", 1 },
        { "\r\n", 1 },
        { "\r", 1 },
        { "\xc2\x85", 1 },
        { "\xc2\xa0", 0 },
        { "\xe1\x9a\x80", 0 },
        { "\xe2\x80\xa8", 1 },
        { "\xe2\x80\xa9", 2 },
        { "\xe2\x80\xaf", 0 },
        { "\xe2\x81\x9f", 0 },
        { "\xe3\x80\x80", 0 },
    };

    for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
        size_t n = strlen(spaces[i].s);

        if (strncmp(p, spaces[i].s, n) == 0) {
            *breaks += spaces[i].breaks;
            return n;
        }
    }
    if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] >= 0x80 &&
        (unsigned char)p[2] <= 0x8A) {
        return 3;
    }
    return 0;
}

static void ref_normalise(const char *in, bool paragraphs, char *out)
{
    size_t w = 0;

    while (*in != '\0') {
        int breaks = 0;
        size_t n = 0;
        bool space = false;

        while ((n = ref_space_len(in, &breaks)) > 0) {
            in += n;
            space = true;
        }
        if (*in == '\0') {
            break;
        }
        if (space && w > 0) {
            if (paragraphs && breaks >= 2) {
                out[w++] = '\n';
                out[w++] = '\n';
            } else {
                out[w++] = ' ';
            }
        }
        out[w++] = *in++;
    }
    out[w] = '\0';
}

static void test_space_matches_reference(void **state)
{
    static const char *const pieces[] = {
        "a",
        "word",
        "longerwordsgoonandon",
        " ",
        " ",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\xc2\xa0",
        "\xc2\x85",
        "\xe2\x80\xa9",
        "\xe2\x80\xa8",
        "\xe2\x80\x83",
        "\xe3\x80\x80",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xe2\x80\x8b",
        "x y z w v u t s",
        "12345678",
        "\x7f",
        "\x01",
    };
    unsigned seed = 777;

    (void)state;
    for (int round = 0; round < 50000; round++) {
        char in[512] = "";
        char want[512];
        char got[512];
        size_t len = 0;
        int count;

        seed = seed * 1103515245U + 12345U;
        count = (int)((seed >> 16) % 24);
        for (int i = 0; i < count; i++) {
            const char *p;

            seed = seed * 1103515245U + 12345U;
            p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(in + len, p, strlen(p) + 1);
            len += strlen(p);
        }
        for (int paragraphs = 0; paragraphs < 2; paragraphs++) {
            ref_normalise(in, paragraphs, want);
            memcpy(got, in, len + 1);
            np_text_normalise_space(got, paragraphs);
            if (strcmp(got, want) != 0) {
                print_error("in=\"%s\" got=\"%s\" want=\"%s\"\n", in, got, want);
            }
            assert_string_equal(got, want);
        }
    }
}

static void test_strip_plain_text_unchanged(void **state)
{
    (void)state;
    check_strip("a < b & c", "a < b & c");
    check_strip("AT&T said 3<4 and x>y", "AT&T said 3<4 and x>y");
    check_strip("no markup at all", "no markup at all");
    check_strip("", "");
    check_strip("&foo; &amp &#; &#x; &#12a;", "&foo; &amp &#; &#x; &#12a;");
    /* Reuters company codes are not HTML. */
    check_strip("McDonalds Corp <MCD> and <Sedio N.V.> of Lugano",
                "McDonalds Corp <MCD> and <Sedio N.V.> of Lugano");
    check_strip("<CINRAM LTD> 4TH QTR", "<CINRAM LTD> 4TH QTR");
    check_strip("if a<b then", "if a<b then"); /* no '>' closes it */
}

static void test_strip_tags(void **state)
{
    (void)state;
    check_strip("<p>Hello <b>world</b></p>", "\nHello world\n");
    check_strip("a<br>b<br/>c<BR />d", "a\nb\nc\nd");
    check_strip("<div class=\"x\">a</div><div>b</div>", "\na\n\nb\n");
    check_strip("<ul><li>one</li><li>two</li></ul>", "\n\none\n\ntwo\n\n");
    check_strip("<h1>T</h1><h6>U</h6>", "\nT\n\nU\n");
    check_strip("<a href=\"x>y\" title='a > b'>link</a>", "link");
    check_strip("<A HREF=x>Link</A>", "Link");
    check_strip("x<!-- a comment <p> -->y", "xy");
    check_strip("<!DOCTYPE html><html><body>t</body></html>", "\n\nt\n\n");
    check_strip("<?xml version=\"1.0\"?>t", "t");
    check_strip("a<script>var x = '<p>'; if (a < b) {}</script>b", "ab");
    check_strip("a<style type=\"text/css\">p { color: red }</STYLE>b", "ab");
    check_strip("a<script>never closed", "a");
    check_strip("<span>a</span><em>b</em>", "ab");
}

static void test_strip_entities(void **state)
{
    (void)state;
    check_strip("&quot;q&quot; &#39;s&#39; &apos;", "\"q\" 's' '");
    check_strip("Fish &amp; Chips", "Fish & Chips");
    check_strip("caf&eacute; &Eacute; &hellip; &mdash; &euro;",
                "caf\xc3\xa9 \xc3\x89 \xe2\x80\xa6 \xe2\x80\x94 \xe2\x82\xac");
    check_strip("&#65;&#x42;&#X43;&#x1F600;", "ABC\xf0\x9f\x98\x80");
    check_strip("a&nbsp;b", "a\xc2\xa0"
                            "b");
    check_strip("&#0;|&#xD800;|&#1114112;", "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd");
    check_strip("&#146;&#150;", "\xe2\x80\x99\xe2\x80\x93"); /* windows-1252, as browsers */
    check_strip("&AMP;", "&AMP;");                           /* names are case-sensitive */
    check_strip("2 &lt; 3", "2 < 3");
}

static void test_strip_escapes_what_would_read_as_markup(void **state)
{
    (void)state;
    /* Decoded text that looks like markup keeps a reference, so stripping twice is a no-op. */
    check_strip("&lt;b&gt;bold&lt;/b&gt;", "&lt;b>bold&lt;/b>");
    check_strip("&amp;amp;", "&amp;amp;");
    check_strip("&amp;lt;", "&amp;lt;");
    check_strip("x <b", "x <b"); /* an unclosed tag stays text */
    check_strip("x<!-- open", "x<!-- open");
    check_strip("<b &gt;", "&lt;b >");   /* would close once decoded */
    check_strip("&lt;MCD&gt;", "<MCD>"); /* not an element: plain */
    check_strip("&lt; &amp; &gt;", "< & >");
}

/* Stripping and normalising is a fixed point on anything, including nasty inputs. */
static void check_fixed_point(const char *in)
{
    char *once = body_text(in);
    char *twice = body_text(once);

    if (strcmp(once, twice) != 0) {
        print_error("not a fixed point: in=\"%s\" once=\"%s\" twice=\"%s\"\n", in, once, twice);
    }
    assert_string_equal(once, twice);
    free(once);
    free(twice);
}

static void test_strip_is_idempotent(void **state)
{
    static const char *const cases[] = {
        "&lt;b&gt;",
        "<b &gt;",
        "&lt;&#98;r>",
        "<&#98;r>",
        "&&#97;mp;",
        "&a&#109;p;",
        "<b&#32;x>",
        "--&gt;",
        "<!-- x --&gt; y",
        "<b\xc2\xa0x>",
        "<b\vx> y",
        "&lt;p\xc2\xa0x>",
        "a <p\n>b",
        "<<b>b>",
        "&&amp;lt;",
        "&#x26;lt;",
        "&#60;script>x&#60;/script>",
        "<script>x",
        "<p>a</p>\n\n<p>b</p>",
        "&lt;!-- c --&gt;",
    };
    const char alphabet[] = "<>&#;abpltxmr/!-\"' \n";
    unsigned seed = 12345;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_fixed_point(cases[i]);
    }
    /* A cheap property test: random strings over markup-heavy characters. */
    for (int round = 0; round < 50000; round++) {
        char buf[40];
        size_t n;

        seed = seed * 1103515245U + 12345U;
        n = (seed >> 16) % (sizeof(buf) - 1);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245U + 12345U;
            buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        buf[n] = '\0';
        check_fixed_point(buf);
    }
}

static void test_strip_large_inputs_are_linear(void **state)
{
    /* Inputs that would make a naive stripper rescan the rest of the text at every '<'. */
    static const char *const units[] = { "<b ", "<!--", "<a x='", "&amp", "<script>" };
    size_t len = (size_t)512 * 1024;
    char *buf = malloc(len + 1);

    (void)state;
    assert_non_null(buf);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t ul = strlen(units[u]);
        char *out = NULL;

        for (size_t i = 0; i < len; i++) {
            buf[i] = units[u][i % ul];
        }
        buf[len] = '\0';
        out = np_text_strip_html(buf);
        assert_non_null(out);
        free(out);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_sequences),
        cmocka_unit_test(test_utf8_invalid_sequences),
        cmocka_unit_test(test_space_collapses_runs),
        cmocka_unit_test(test_space_keeps_paragraphs),
        cmocka_unit_test(test_space_matches_reference),
        cmocka_unit_test(test_strip_plain_text_unchanged),
        cmocka_unit_test(test_strip_tags),
        cmocka_unit_test(test_strip_entities),
        cmocka_unit_test(test_strip_escapes_what_would_read_as_markup),
        cmocka_unit_test(test_strip_is_idempotent),
        cmocka_unit_test(test_strip_large_inputs_are_linear),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
