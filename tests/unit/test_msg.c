/* test_msg.c - the envelope codec and acks */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "np/msg.h"

static const struct np_origin origin = { "abc123", "ipc:///tmp/ack" };
static struct np_json_doc doc;

static void test_article_round_trip(void **state)
{
    struct np_envelope env = { 0 };
    struct np_envelope back = { 0 };
    struct np_err err = { 0 };
    char *buf = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(np_msg_new_article(&env, 42, "u-0011", &origin, 1756839120000000LL), 0);
    assert_int_equal(np_msg_encode(&env, NULL, &buf, &len), 0);
    assert_int_equal(np_msg_decode(buf, len, &doc, &back, &err), 0);
    assert_int_equal(back.kind, NP_MSG_ARTICLE);
    assert_int_equal(back.seq, 42);
    assert_string_equal(back.id, "u-0011");
    assert_string_equal(back.origin_id, "abc123");
    assert_string_equal(back.origin_ack, "ipc:///tmp/ack");
    assert_string_equal(back.received_at, "2025-09-02T18:52:00Z");
    free(buf);
    np_msg_cleanup(&env);
    np_msg_cleanup(&back);
}

static void test_rejected_round_trip(void **state)
{
    struct np_envelope env = { 0 };
    struct np_envelope back = { 0 };
    struct np_err why = { 0 };
    struct np_err err = { 0 };
    char *buf = NULL;
    size_t len = 0;

    (void)state;
    np_err_set(&why, NP_EINVAL, "title", "must be a string, got %s", "number");
    assert_int_equal(np_msg_new_rejected(&env, 7, &origin, 1, "ingest", "pull", &why), 0);
    assert_int_equal(np_msg_encode(&env, NULL, &buf, &len), 0);
    assert_int_equal(np_msg_decode(buf, len, &doc, &back, &err), 0);
    assert_int_equal(back.kind, NP_MSG_REJECTED);
    assert_string_equal(back.reason, "title: must be a string, got number");
    assert_string_equal(back.field, "title");
    assert_string_equal(back.stage, "ingest");
    assert_string_equal(back.channel, "pull");
    free(buf);
    np_msg_cleanup(&env);
    np_msg_cleanup(&back);
}

/* What classify adds (members text) and ingest's duplicate flag survive decode and re-encode. */
static void test_classified_round_trip(void **state)
{
    struct np_envelope env = { 0 };
    struct np_envelope back = { 0 };
    struct np_err err = { 0 };
    char *buf = NULL;
    char *again = NULL;
    size_t len = 0;
    size_t len2 = 0;

    (void)state;
    np_msg_new_article(&env, 9, "a-1", &origin, 1756839120000000LL);
    env.duplicate = true;
    env.classified_at = "2025-09-02T18:52:01Z";
    assert_int_equal(np_msg_encode(&env,
                                   "\"tags\":[{\"name\":\"Oil\",\"score\":2.5}],"
                                   "\"entities\":[{\"name\":\"China\",\"mentions\":3}],"
                                   "\"region\":\"Asia\",\"classifier\":\"rules\"",
                                   &buf, &len),
                     0);
    assert_int_equal(np_msg_decode(buf, len, &doc, &back, &err), 0);
    assert_true(back.duplicate);
    assert_string_equal(back.region, "Asia");
    assert_string_equal(back.classifier, "rules");
    assert_string_equal(back.classified_at, "2025-09-02T18:52:01Z");
    assert_int_equal(back.tags->n, 1);
    assert_string_equal(np_json_string(np_json_get(back.tags->child, "name")), "Oil");
    assert_int_equal(np_json_get(back.entities->child, "mentions")->i, 3);
    /* a decoded envelope re-encodes to the same text */
    assert_int_equal(np_msg_encode(&back, NULL, &again, &len2), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
    free(again);
    free(buf);
}

/* Every malformed envelope fails with the field it concerns, and never crashes. */
static void test_decode_rejects_garbage(void **state)
{
    static const struct {
        const char *json;
        const char *field;
    } cases[] = {
        { "", "envelope" },
        { "[]", "envelope" },
        { "{\"v\":1", "envelope" },
        { "\xff\xfe", "envelope" },
        { "{\"v\":2}", "v" },
        { "{\"v\":1,\"seq\":-1}", "seq" },
        { "{\"v\":1,\"seq\":\"1\"}", "seq" },
        { "{\"v\":1,\"seq\":1}", "origin" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":5,\"ack\":\"x\"}}", "id" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"}}", "received_at" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"},\"received_at\":\"t\","
          "\"kind\":\"what\"}",
          "kind" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"},\"received_at\":\"t\","
          "\"kind\":\"article\"}",
          "id" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"},\"received_at\":\"t\","
          "\"kind\":\"rejected\",\"stage\":\"ingest\"}",
          "reason" },
        { "{\"v\":1,\"v\":1}", "envelope" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"},\"received_at\":\"t\","
          "\"kind\":\"article\",\"id\":\"x\",\"tags\":{}}",
          "tags" },
        { "{\"v\":1,\"seq\":1,\"origin\":{\"id\":\"a\",\"ack\":\"x\"},\"received_at\":\"t\","
          "\"kind\":\"article\",\"id\":\"x\",\"duplicate\":1}",
          "duplicate" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct np_envelope env;
        struct np_err err = { 0 };

        assert_int_not_equal(np_msg_decode(cases[i].json, strlen(cases[i].json), &doc, &env, &err),
                             0);
        assert_string_equal(err.field, cases[i].field);
        assert_null(env.origin_id);
    }
}

static void test_ack_round_trip(void **state)
{
    const uint64_t seqs[] = { 1, 2, 18446744073709551615ULL >> 1, 7 };
    uint64_t *back = NULL;
    size_t n = 0;
    char *buf = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(np_msg_ack_encode(seqs, 4, &buf, &len), 0);
    assert_int_equal(np_msg_ack_decode(buf, len, &back, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(back, seqs, sizeof(seqs));
    free(back);
    free(buf);
    assert_int_equal(np_msg_ack_encode(seqs, 0, &buf, &len), 0);
    assert_int_equal(len, 2);
    free(buf);
}

static void test_ack_rejects_garbage(void **state)
{
    static const char *const bad[] = { "", "{}", "[1,\"2\"]", "[-1]", "[1.5]", "[[1]]" };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t *seqs = NULL;
        size_t n = 0;
        struct np_err err = { 0 };

        assert_int_equal(np_msg_ack_decode(bad[i], strlen(bad[i]), &seqs, &n, &err), NP_EPARSE);
        assert_null(seqs);
    }
}

static int teardown(void **state)
{
    (void)state;
    np_json_doc_free(&doc);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_article_round_trip),     cmocka_unit_test(test_rejected_round_trip),
        cmocka_unit_test(test_decode_rejects_garbage), cmocka_unit_test(test_ack_round_trip),
        cmocka_unit_test(test_ack_rejects_garbage),    cmocka_unit_test(test_classified_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
