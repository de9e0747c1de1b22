/* test_classify_text.c - normalisation and tokenising of the rules classifier */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "classify_text.h"

/* Tokenises s and compares the normalised tokens, joined by single spaces, with want. */
static void check_tokens(const char *s, const char *want)
{
    struct classify_tokens t;
    char got[512];
    size_t n = 0;

    classify_tokens_init(&t);
    assert_int_equal(classify_tokenize(&t, s, strlen(s)), 0);
    for (size_t i = 0; i < t.len; i++) {
        assert_true(n + t.tok[i].norm_len + 2 < sizeof(got));
        if (i > 0) {
            got[n++] = ' ';
        }
        memcpy(got + n, classify_token_norm(&t, i), t.tok[i].norm_len);
        n += t.tok[i].norm_len;
    }
    got[n] = '\0';
    assert_string_equal(got, want);
    classify_tokens_cleanup(&t);
}

static void test_text_ascii_lowercase_and_punctuation(void **state)
{
    (void)state;
    check_tokens("Hello, World! (Reuters) 2025", "hello world reuters 2025");
    check_tokens("", "");
    check_tokens(" ,;:!? ", "");
    check_tokens("3.5 pct; No. 1", "3 5 pct no 1");
}

static void test_text_nfkc_fullwidth_and_ligatures(void **state)
{
    (void)state;
    check_tokens("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 \xEF\xBD\x84\xEF\xBD\x85\xEF\xBD\x86",
                 "abc def");                        /* ＡＢＣ ｄｅｆ */
    check_tokens("\xEF\xAC\x81nance", "finance");   /* ﬁnance */
    check_tokens("\xE2\x91\xA0 x\xC2\xB2", "1 x2"); /* ① x² */
}

static void test_text_casefold_non_ascii(void **state)
{
    (void)state;
    check_tokens("\xC3\x89"
                 "COLE Stra\xC3\x9F"
                 "e",
                 "\xC3\xA9"
                 "cole strasse"); /* ÉCOLE Straße */
    check_tokens("\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91",
                 "\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1");
    /* e + combining acute composes to the same token as precomposed é */
    check_tokens("cafe\xCC\x81", "caf\xC3\xA9");
    check_tokens("caf\xC3\xA9", "caf\xC3\xA9");
}

static void test_text_dashes_split(void **state)
{
    (void)state;
    check_tokens("China-Russia", "china russia");
    check_tokens("de-dollarization", "de dollarization");
    check_tokens("a\xE2\x80\x94"
                 "b\xE2\x80\x93"
                 "c\xE2\x80\x90"
                 "d\xE2\x80\x95"
                 "e",
                 "a b c d e");
    check_tokens("oil/gas_price", "oil gas price");
}

static void test_text_abbreviations(void **state)
{
    (void)state;
    check_tokens("the U.S. and the U.K.", "the us and the uk");
    check_tokens("U.S.-China talks", "us china talks");
    check_tokens("u.s.", "us");
    check_tokens("J.P. Morgan", "jp morgan");
    check_tokens("George W. Bush", "george w bush");
    check_tokens("end.A new", "end a new");
}

static void test_text_possessives(void **state)
{
    (void)state;
    check_tokens("Russia's exports", "russia exports");
    check_tokens("China\xE2\x80\x99s exports", "china exports");
    check_tokens("O'Brien's", "o brien");
    check_tokens("countries' 's", "countries s");
    check_tokens("it'sx", "it sx");
}

static void test_text_unspaced_scripts(void **state)
{
    (void)state;
    check_tokens("\xE4\xB8\xAD\xE5\x9B\xBD\xE7\xBB\x8F", "\xE4\xB8\xAD \xE5\x9B\xBD \xE7\xBB\x8F");
}

static void test_text_offsets_into_original(void **state)
{
    struct classify_tokens t;
    const char *s = "  Hello U.S. \xC3\xA9"
                    "conomie, Russia's";

    (void)state;
    classify_tokens_init(&t);
    assert_int_equal(classify_tokenize(&t, s, strlen(s)), 0);
    assert_int_equal(t.len, 4);
    assert_int_equal(t.tok[0].off, 2);
    assert_int_equal(t.tok[0].len, 5);
    assert_int_equal(t.tok[1].off, 8);
    assert_int_equal(t.tok[1].len, 4);
    assert_int_equal(t.tok[2].off, 13);
    assert_int_equal(t.tok[2].len, 9);
    assert_int_equal(t.tok[3].off, 24);
    assert_int_equal(t.tok[3].len, 6);
    assert_true(classify_token_surface_eq(s, &t.tok[1], "US", 2, false));
    assert_false(classify_token_surface_eq(s, &t.tok[1], "us", 2, false));
    assert_true(classify_token_surface_eq(s, &t.tok[3], "Rus", 3, true));
    assert_false(classify_token_surface_eq(s, &t.tok[3], "Rus", 3, false));
    char buf[16];
    assert_int_equal(classify_token_surface(s, &t.tok[1], buf, sizeof(buf)), 2);
    assert_string_equal(buf, "US");
    classify_tokens_cleanup(&t);
}

static void test_text_invalid_utf8_separates(void **state)
{
    (void)state;
    check_tokens("ab\xFF"
                 "cd \xC3",
                 "ab cd");
}

/* Each token carries classify_text_hash() of its normalised form, computed as it is written
 * (one masked 8-byte load for the last word): the same value as hashing the bytes apart, for
 * lengths around the 8-byte words and for tokens mapped through utf8proc. The values are pinned:
 * the learned model's files (version 2 on) keep feature keys made from them. */
static void test_text_token_hash(void **state)
{
    const char *s = "Oil, ABCDEFGH; Internationalisation CAF\xC3\x89 a ab abcdefg abcdefghi "
                    "abcdefghijklmnop abcdefghijklmnopq \xEF\xAC\x81nance U.S.";
    const char *norm[] = {
        "oil",     "abcdefgh",  "internationalisation", "caf\xC3\xA9",       "a",       "ab",
        "abcdefg", "abcdefghi", "abcdefghijklmnop",     "abcdefghijklmnopq", "finance", "us"
    };
    struct classify_tokens t;

    (void)state;
    classify_tokens_init(&t);
    assert_int_equal(classify_tokenize(&t, s, strlen(s)), 0);
    assert_int_equal(t.len, 12);
    for (size_t i = 0; i < t.len; i++) {
        assert_int_equal(t.tok[i].norm_len, strlen(norm[i]));
        assert_memory_equal(classify_token_norm(&t, i), norm[i], strlen(norm[i]));
        assert_true(t.tok[i].hash == classify_text_hash(norm[i], strlen(norm[i])));
        assert_true(t.tok[i].hash != 0);
    }
    assert_true(t.tok[0].hash == 0xe41030777686435dULL);
    assert_true(t.tok[1].hash == 0x0cde3d5780c92708ULL);
    assert_true(t.tok[2].hash == 0xd0e781a6f7966c0aULL);
    assert_true(t.tok[3].hash == 0x387775fbf49ce908ULL);
    /* The same text again, into the reused buffers, gives the same hashes. */
    assert_int_equal(classify_tokenize(&t, s, strlen(s)), 0);
    assert_true(t.tok[2].hash == 0xd0e781a6f7966c0aULL);
    classify_tokens_cleanup(&t);
}

/* ASCII text without dots or apostrophes: the tokens are the maximal runs of letters and
 * digits, lower-cased, wherever a run starts or ends relative to the tokenizer's 8-byte steps
 * (every byte that borders a letter or digit range is in the alphabet). */
static void test_text_ascii_runs_match_reference(void **state)
{
    static const char alphabet[] = "aAzZ09mM /:@[`{ \t-_\x7f,";
    char text[300];
    char want[600];
    uint32_t seed = 12345;

    (void)state;
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(round % 290);
        size_t n = 0;
        bool in_word = false;

        for (size_t i = 0; i < len; i++) {
            char ch = 0;

            seed = seed * 1103515245u + 12345u;
            ch = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
            text[i] = ch;
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
                if (!in_word && n > 0) {
                    want[n++] = ' ';
                }
                want[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
                in_word = true;
            } else {
                in_word = false;
            }
        }
        text[len] = '\0';
        want[n] = '\0';
        check_tokens(text, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_ascii_lowercase_and_punctuation),
        cmocka_unit_test(test_text_nfkc_fullwidth_and_ligatures),
        cmocka_unit_test(test_text_casefold_non_ascii),
        cmocka_unit_test(test_text_dashes_split),
        cmocka_unit_test(test_text_abbreviations),
        cmocka_unit_test(test_text_possessives),
        cmocka_unit_test(test_text_unspaced_scripts),
        cmocka_unit_test(test_text_offsets_into_original),
        cmocka_unit_test(test_text_invalid_utf8_separates),
        cmocka_unit_test(test_text_token_hash),
        cmocka_unit_test(test_text_ascii_runs_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
