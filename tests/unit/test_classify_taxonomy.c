/* test_classify_taxonomy.c - taxonomy loading and validation */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_engine.h"
#include "classify_taxonomy.h"

static void data_path(char *buf, size_t len, const char *name)
{
    const char *dir = getenv("NP_TEST_DATA");

    snprintf(buf, len, "%s/taxonomy/%s", dir ? dir : "tests/data", name);
}

/* Loads text; expects NP_EINVAL with err.field == field and reason in err.msg. */
static void check_invalid(const char *text, const char *field, const char *reason)
{
    struct classify_taxonomy *tx = NULL;
    struct np_err err;

    np_err_clear(&err);
    int rc = classify_taxonomy_parse(text, strlen(text), &tx, &err);
    if (rc != NP_EINVAL || strcmp(err.field, field) != 0 || strstr(err.msg, reason) == NULL) {
        print_error("taxonomy %s\n rc %d field \"%s\" msg \"%s\"\n want field \"%s\" reason "
                    "\"%s\"\n",
                    text, rc, err.field, err.msg, field, reason);
        fail();
    }
    assert_null(tx);
}

#define TAG(body)  "{\"version\": \"v\", \"entities\": [], \"tags\": [" body "]}"
#define ENTS(body) "{\"version\": \"v\", \"entities\": [" body "], \"tags\": []}"
#define OPEC       "{\"name\": \"OPEC\", \"kind\": \"organisation\", \"aliases\": [\"opec\"]}"

static void test_taxonomy_structure_errors(void **state)
{
    (void)state;
    check_invalid("[]", "$", "must be an object");
    check_invalid("{\"entities\": [], \"tags\": []}", "$.version", "is required");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], \"extra\": 1}", "$.extra",
                  "unknown key");
    check_invalid("{\"version\": \"v\", \"entities\": []}", "$.tags", "is required");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"scoring\": {\"short_floor\": 1.5}}",
                  "$.scoring.short_floor", "must be between 0 and 1");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"scoring\": {\"lead_tokens\": 0}}",
                  "$.scoring.lead_tokens", "must be >= 1");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], \"model\": []}", "$.model",
                  "must be an object");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"model\": {\"veto\": -0.1}}",
                  "$.model.veto", "must be >= 0");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"model\": {\"add\": 0.1, \"sure\": -1}}",
                  "$.model.sure", "must be >= 0");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"model\": {\"add_slack\": -0.3}}",
                  "$.model.add_slack", "must be >= 0");
    check_invalid("{\"version\": \"v\", \"entities\": [], \"tags\": [], "
                  "\"model\": {\"file\": \"\"}}",
                  "$.model.file", "non-empty");
    check_invalid("{\"version\": \"v\", \"entities\": {}, \"tags\": []}", "$.entities",
                  "must be an array");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"], \"min_scor\": 1}"), "$.tags[0].min_scor",
                  "unknown key");
    check_invalid(TAG("{\"any\": [\"a\"]}"), "$.tags[0].name", "is required");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"]}, {\"name\": \"A\", \"any\": [\"b\"]}"),
                  "$.tags[1].name", "duplicate tag name");
    check_invalid(ENTS(OPEC "," OPEC), "$.entities[1].name", "duplicate entity name");
}

static void test_taxonomy_number_errors(void **state)
{
    (void)state;
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\", {\"phrase\": \"b\", \"weight\": 0}]}"),
                  "$.tags[0].any[1].weight", "must be a positive number");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [{\"phrase\": \"b\", \"weight\": -1}]}"),
                  "$.tags[0].any[0].weight", "must be a positive number");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [{\"phrase\": \"b\", \"weight\": \"2\"}]}"),
                  "$.tags[0].any[0].weight", "must be a number");
    check_invalid(TAG("{\"name\": \"A\", \"min_score\": -0.5, \"any\": [\"a\"]}"),
                  "$.tags[0].min_score", ">= 0");
    check_invalid(TAG("{\"name\": \"A\", \"max_count\": 0, \"any\": [\"a\"]}"),
                  "$.tags[0].max_count", "positive");
    check_invalid(TAG("{\"name\": \"A\", \"title_weight\": -1, \"any\": [\"a\"]}"),
                  "$.tags[0].title_weight", ">= 0");
    check_invalid(TAG("{\"name\": \"A\", \"all\": [{\"any\": [\"a\"]}]}"), "$.tags[0]",
                  "can never be given");
}

static void test_taxonomy_phrase_errors(void **state)
{
    (void)state;
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"\"]}"), "$.tags[0].any[0]",
                  "must not be empty");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\", \" -- \"]}"), "$.tags[0].any[1]",
                  "does not contain any word");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"], \"none\": [{\"phrase\": \"' / '\"}]}"),
                  "$.tags[0].none[0]", "does not contain any word");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"ex*port\"]}"), "$.tags[0].any[0]",
                  "only allowed at the end");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"oil *\"]}"), "$.tags[0].any[0]",
                  "directly follow a word");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"*\"]}"), "$.tags[0].any[0]",
                  "does not contain any word");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [{\"phrase\": \"a\", \"casesensitive\": true}]}"),
                  "$.tags[0].any[0].casesensitive", "unknown key");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [{\"phrase\": \"a\", \"case_sensitive\": 1}]}"),
                  "$.tags[0].any[0].case_sensitive", "true or false");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [3]}"), "$.tags[0].any[0]",
                  "must be a string or an object");
    check_invalid(TAG("{\"name\": \"A\", \"any\": \"a\"}"), "$.tags[0].any", "must be an array");
}

static void test_taxonomy_group_and_entity_errors(void **state)
{
    (void)state;
    check_invalid("{\"version\": \"v\", \"entities\": [" OPEC "], \"tags\": [{\"name\": \"A\", "
                  "\"any\": [\"a\"], \"all\": [{\"entity\": \"OPEC\"}, {\"entity\": \"Opec\"}]}]}",
                  "$.tags[0].all[1].entity", "unknown entity \"Opec\"");
    check_invalid(
        TAG("{\"name\": \"A\", \"any\": [\"a\"], \"all\": [{\"entity_kind\": \"city\"}]}"),
        "$.tags[0].all[0].entity_kind", "must be one of");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"], \"all\": [{\"any\": []}]}"),
                  "$.tags[0].all[0].any", "must not be empty");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"], \"all\": [{\"any\": [\"x\"], "
                      "\"entity_kind\": \"country\"}]}"),
                  "$.tags[0].all[0]", "exactly one");
    check_invalid(TAG("{\"name\": \"A\", \"any\": [\"a\"], \"all\": [{\"phrase\": \"x\"}]}"),
                  "$.tags[0].all[0].phrase", "unknown key");
    check_invalid(ENTS("{\"name\": \"X\", \"kind\": \"city\", \"aliases\": [\"x\"]}"),
                  "$.entities[0].kind", "must be one of");
    check_invalid(ENTS("{\"name\": \"France\", \"kind\": \"country\", \"aliases\": [\"france\"]}"),
                  "$.entities[0].region", "is required for a country");
    check_invalid(ENTS("{\"name\": \"X\", \"kind\": \"person\", \"aliases\": []}"),
                  "$.entities[0].aliases", "must not be empty");
    check_invalid(
        ENTS("{\"name\": \"X\", \"kind\": \"person\", \"region\": 3, \"aliases\": [\"x\"]}"),
        "$.entities[0].region", "non-empty string");
}

static void test_taxonomy_not_json(void **state)
{
    struct classify_taxonomy *tx = NULL;
    struct np_err err;

    (void)state;
    assert_int_equal(classify_taxonomy_parse("{\"version\": ", 12, &tx, &err), NP_EPARSE);
    assert_string_equal(err.field, "$");
    assert_int_equal(
        classify_taxonomy_parse("{\"version\": \"a\", \"version\": \"b\"}", 32, &tx, &err),
        NP_EPARSE);
    assert_null(tx);
}

static void test_taxonomy_invalid_fixtures(void **state)
{
    static const struct {
        const char *file;
        const char *field;
        const char *reason;
    } cases[] = {
        { "invalid-weight.json", "$.tags[3].any[2].weight", "must be a positive number" },
        { "invalid-unknown-entity.json", "$.tags[0].all[1].entity", "unknown entity" },
        { "invalid-country-region.json", "$.entities[1].region", "required for a country" },
        { "invalid-unknown-key.json", "$.tags[0].min_scor", "unknown key" },
        { "invalid-empty-phrase.json", "$.tags[0].any[1]", "does not contain any word" },
    };

    char path[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct np_err err;
        data_path(path, sizeof(path), cases[i].file);
        struct classify_engine *e = classify_engine_load(path, &err);
        assert_null(e);
        assert_int_equal(err.code, NP_EINVAL);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.msg, cases[i].reason));
    }
}

static void test_taxonomy_valid_fixture(void **state)
{
    struct classify_taxonomy *tx = NULL;
    struct classify_engine_stats st;
    struct np_err err;
    char path[512];

    (void)state;
    data_path(path, sizeof(path), "basic.json");
    struct classify_engine *e = classify_engine_load(path, &err);
    if (e == NULL) {
        print_error("%s: %s\n", err.field, err.msg);
    }
    assert_non_null(e);
    classify_engine_stats(e, &st);
    assert_int_equal(st.tags, 7);
    assert_int_equal(st.entities, 6);
    assert_true(st.phrases > 20);
    assert_true(st.states > st.phrases);
    classify_engine_destroy(&e);
    assert_null(e);

    /* Defaults, kinds, normalised forms. */
    const char *text = "{\"version\": \"v\", \"entities\": [{\"name\": \"U\", \"kind\": "
                       "\"organization\", \"aliases\": [\"U.S.-made\", {\"phrase\": \"US*\", "
                       "\"case_sensitive\": true}]}], \"tags\": [{\"name\": \"A\", \"any\": "
                       "[\"Russia's export*\"]}]}";
    assert_int_equal(classify_taxonomy_parse(text, strlen(text), &tx, &err), 0);
    assert_int_equal(tx->entities[0].kind, CLASSIFY_KIND_ORGANISATION);
    assert_null(tx->entities[0].region);
    assert_string_equal(tx->entities[0].aliases.items[0].norm, "us made");
    assert_int_equal(tx->entities[0].aliases.items[0].n_words, 2);
    assert_true(tx->entities[0].aliases.items[1].prefix);
    assert_string_equal(tx->entities[0].aliases.items[1].surface, "US");
    assert_string_equal(tx->tags[0].any.items[0].norm, "russia export");
    assert_true(tx->tags[0].any.items[0].prefix);
    assert_true(tx->tags[0].min_score == 1.0);
    assert_true(tx->tags[0].title_weight == 2.0);
    assert_true(tx->tags[0].max_count == 3.0);
    classify_taxonomy_destroy(&tx);
    assert_null(tx);
}

static void test_taxonomy_missing_file(void **state)
{
    struct np_err err;

    (void)state;
    assert_null(classify_engine_load("/nonexistent/taxonomy.json", &err));
    assert_int_equal(err.code, NP_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taxonomy_structure_errors),
        cmocka_unit_test(test_taxonomy_number_errors),
        cmocka_unit_test(test_taxonomy_phrase_errors),
        cmocka_unit_test(test_taxonomy_group_and_entity_errors),
        cmocka_unit_test(test_taxonomy_not_json),
        cmocka_unit_test(test_taxonomy_invalid_fixtures),
        cmocka_unit_test(test_taxonomy_valid_fixture),
        cmocka_unit_test(test_taxonomy_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
