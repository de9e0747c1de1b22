/* test_config.c - settings from the environment and flags */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "np/config.h"
#include "np/err.h"

struct cfg {
    char *bind;
    long batch;
    bool fast;
    char *secret;
};

static const struct np_setting table[] = {
    { "bind", NP_SET_STRING, "tcp://*:1", "where", offsetof(struct cfg, bind), 0, 0, false, NULL },
    { "batch_size", NP_SET_INT, "10", "how many", offsetof(struct cfg, batch), 1, 100, false,
      NULL },
    { "fast", NP_SET_BOOL, "false", "hurry", offsetof(struct cfg, fast), 0, 0, false, NULL },
    { "secret", NP_SET_STRING, NULL, "key", offsetof(struct cfg, secret), 0, 0, true,
      "NP_TEST_SECRET_VAR" },
};

#define N (sizeof(table) / sizeof(table[0]))

static int teardown(void **state)
{
    (void)state;
    unsetenv("NP_TEST_BIND");
    unsetenv("NP_TEST_BATCH_SIZE");
    unsetenv("NP_TEST_SECRET_VAR");
    return 0;
}

static void test_defaults(void **state)
{
    struct cfg c = { 0 };
    char *argv[] = { "prog", NULL };

    (void)state;
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 1, argv, NULL), NP_CONFIG_RUN);
    assert_string_equal(c.bind, "tcp://*:1");
    assert_int_equal(c.batch, 10);
    assert_false(c.fast);
    assert_null(c.secret);
    np_config_cleanup(table, N, &c);
}

static void test_env_then_flags(void **state)
{
    struct cfg c = { 0 };
    char *argv[] = { "prog", "--batch-size=20", "--fast", "--bind", "ipc://x", NULL };

    (void)state;
    setenv("NP_TEST_BIND", "tcp://env:2", 1);
    setenv("NP_TEST_BATCH_SIZE", "30", 1);
    setenv("NP_TEST_SECRET_VAR", "hunter2", 1);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 5, argv, NULL), NP_CONFIG_RUN);
    assert_string_equal(c.bind, "ipc://x");
    assert_int_equal(c.batch, 20);
    assert_true(c.fast);
    assert_string_equal(c.secret, "hunter2");
    np_config_cleanup(table, N, &c);
}

static void test_bad_values_fail(void **state)
{
    char *bad_int[] = { "prog", "--batch-size", "1000", NULL };
    char *not_int[] = { "prog", "--batch-size=ten", NULL };
    char *unknown[] = { "prog", "--nope=1", NULL };
    char *bad_bool[] = { "prog", "--fast=maybe", NULL };
    char *missing[] = { "prog", "--bind", NULL };
    char *positional[] = { "prog", "file", NULL };
    struct cfg c = { 0 };

    (void)state;
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 3, bad_int, NULL), NP_EINVAL);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 2, not_int, NULL), NP_EINVAL);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 2, unknown, NULL), NP_EINVAL);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 2, bad_bool, NULL), NP_EINVAL);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 2, missing, NULL), NP_EINVAL);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 2, positional, NULL), NP_EINVAL);
    setenv("NP_TEST_BATCH_SIZE", "0", 1);
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 1, bad_int, NULL), NP_EINVAL);
    np_config_cleanup(table, N, &c);
}

static void test_positional_arguments(void **state)
{
    struct cfg c = { 0 };
    char *argv[] = { "prog", "a.json", "--fast", "-", NULL };
    int npos = 0;

    (void)state;
    assert_int_equal(np_config_load(table, N, "TEST", "prog", &c, 4, argv, &npos), NP_CONFIG_RUN);
    assert_int_equal(npos, 2);
    assert_string_equal(argv[1], "a.json");
    assert_string_equal(argv[2], "-");
    assert_true(c.fast);
    np_config_cleanup(table, N, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_env_then_flags, teardown),
        cmocka_unit_test_teardown(test_bad_values_fail, teardown),
        cmocka_unit_test_teardown(test_positional_arguments, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
