/* test_dedupe.c - the bounded set of recent ids */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ingest_dedupe.h"
#include "np/hash.h"

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

/* The set's hash is keyed: the same id hashes alike under one key and differently under
 * another, so a client cannot precompute ids that pile up in one slot. */
static void test_hash_is_keyed(void **state)
{
    struct np_hash_key a;
    struct np_hash_key b;
    const char *id = "reuters-1234";
    unsigned long long ha = 0;

    (void)state;
    np_hash_key_new(&a);
    np_hash_key_new(&b);
    assert_memory_not_equal(a.k, b.k, sizeof(a.k));
    ha = np_hash64_keyed(&a, id, strlen(id));
    assert_true(ha == np_hash64_keyed(&a, id, strlen(id)));
    assert_true(ha != np_hash64_keyed(&b, id, strlen(id)));
    assert_true(ha != np_hash64_keyed(&a, id, strlen(id) - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remembers_and_forgets_oldest),
        cmocka_unit_test(test_zero_capacity_remembers_nothing),
        cmocka_unit_test(test_hash_is_keyed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
