/* test_dedupe.c - the bounded set of recent ids */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "ingest_dedupe.h"

static void test_remembers_and_forgets_oldest(void **state)
{
    struct ingest_dedupe *d = ingest_dedupe_new(100);
    char id[32];

    (void)state;
    assert_non_null(d);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_false(ingest_dedupe_seen(d, id));
        ingest_dedupe_add(d, id);
        assert_true(ingest_dedupe_seen(d, id));
    }
    /* The last 100 are remembered, everything before is forgotten. */
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        if (i >= 900) {
            assert_true(ingest_dedupe_seen(d, id));
        } else {
            assert_false(ingest_dedupe_seen(d, id));
        }
    }
    ingest_dedupe_destroy(&d);
    assert_null(d);
}

static void test_zero_capacity_remembers_nothing(void **state)
{
    struct ingest_dedupe *d = ingest_dedupe_new(0);

    (void)state;
    ingest_dedupe_add(d, "a");
    assert_false(ingest_dedupe_seen(d, "a"));
    ingest_dedupe_destroy(&d);
    ingest_dedupe_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remembers_and_forgets_oldest),
        cmocka_unit_test(test_zero_capacity_remembers_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
