/* test_buf.c - the growable byte buffer (buf.c): appends, growth, reset, the sticky failure */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "np/buf.h"

static void test_appends_grow_and_stay_terminated(void **state)
{
    struct np_buf b = { 0 };

    (void)state;
    np_buf_lit(&b, "tags: ");
    np_buf_puts(&b, "Oil");
    np_buf_putc(&b, ',');
    np_buf_printf(&b, " %d of %s", 3, "44");
    assert_false(b.failed);
    assert_string_equal(b.p, "tags: Oil, 3 of 44");
    assert_int_equal(b.len, strlen(b.p));
    for (int i = 0; i < 10000; i++) {
        np_buf_put(&b, "0123456789", 10);
    }
    assert_false(b.failed);
    assert_int_equal(b.len, 18 + 100000);
    assert_int_equal(b.p[b.len], '\0');
    assert_true(b.cap > b.len);
    np_buf_cleanup(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
}

static void test_reset_keeps_memory(void **state)
{
    struct np_buf b = { 0 };
    char *p = NULL;

    (void)state;
    np_buf_puts(&b, "first message");
    p = b.p;
    np_buf_reset(&b);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    np_buf_puts(&b, "second");
    assert_string_equal(b.p, "second");
    np_buf_cleanup(&b);
}

static void test_failure_is_sticky(void **state)
{
    struct np_buf b = { 0 };

    (void)state;
    np_buf_puts(&b, "kept");
    assert_false(np_buf_reserve(&b, (size_t)-1 / 2)); /* no allocator gives that */
    assert_true(b.failed);
    np_buf_puts(&b, " ignored");
    np_buf_printf(&b, "%s", "ignored too");
    assert_string_equal(b.p, "kept");
    np_buf_reset(&b);
    assert_false(b.failed);
    np_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_grow_and_stay_terminated),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_failure_is_sticky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
