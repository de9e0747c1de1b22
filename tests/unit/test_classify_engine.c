/* test_classify_engine.c - scoring rules, evidence, entities and region of the rules engine */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "classify_engine.h"
#include "classify_tool.h"

struct fixture {
    struct classify_engine *e;
    json_t *out; /* last result */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *dir = getenv("NP_TEST_DATA");
    char path[512];
    struct np_err err;

    if (f == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/taxonomy/basic.json", dir ? dir : "tests/data");
    f->e = classify_engine_load(path, &err);
    if (f->e == NULL) {
        print_error("%s: %s\n", err.field, err.msg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    json_decref(f->out);
    classify_engine_destroy(&f->e);
    free(f);
    return 0;
}

/* Runs the engine on v and parses its text: the tests read the result as JSON. */
static json_t *run_view(struct classify_engine *e, const struct np_article_view *v)
{
    char *text = NULL;
    size_t len = 0;
    json_t *out = NULL;

    assert_int_equal(classify_engine_run(e, v, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    out = json_loadb(text, len, 0, NULL);
    assert_non_null(out);
    free(text);
    return out;
}

/* Runs the engine on an article with these fields (NULL: absent). */
static json_t *run_text(struct classify_engine *e, const char *title, const char *body,
                        const char *summary)
{
    struct np_article_view a = { { NULL } };

    a.text[NP_FIELD_title] = title;
    a.text[NP_FIELD_body] = body;
    a.text[NP_FIELD_summary] = summary;
    return run_view(e, &a);
}

/* Classifies an article with these fields (NULL: absent) and keeps the result in f->out. */
static json_t *run(struct fixture *f, const char *title, const char *body, const char *summary)
{
    json_decref(f->out);
    f->out = run_text(f->e, title, body, summary);
    assert_string_equal(json_string_value(json_object_get(f->out, "classifier")), "rules/test-1");
    return f->out;
}

static json_t *find(json_t *arr, const char *name)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *it = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0) {
            return it;
        }
    }
    return NULL;
}

/* The score of tag name, or -1 when not given. */
static double score(struct fixture *f, const char *title, const char *body, const char *name)
{
    json_t *t = find(json_object_get(run(f, title, body, NULL), "tags"), name);

    return t ? json_real_value(json_object_get(t, "score")) : -1;
}

static void test_engine_any_weights(void **state)
{
    struct fixture *f = *state;

    /* crude 1x1 + "crude oil" 2x1 */
    assert_true(score(f, "Markets", "crude oil prices", "Oil") == 3.0);
    /* barrel* 1x2 + oil group */
    assert_true(score(f, "Markets", "oil at 20 dlrs a barrel, 2 barrels", "Oil") == 2.0);
}

static void test_engine_min_score(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "Markets", "crude", "Oil") == -1); /* 1 < 2 */
    assert_true(score(f, "Markets", "crude and crude", "Oil") == 2.0);
}

static void test_engine_title_boost(void **state)
{
    struct fixture *f = *state;

    /* title counts title_weight (2) once, however often it occurs there */
    assert_true(score(f, "Crude crude rises", "nothing", "Oil") == 2.0);
    assert_true(score(f, "Crude rises", "crude", "Oil") == 3.0);
    /* title_weight 0: the title adds nothing */
    assert_true(score(f, "widget", "nothing", "Capped") == -1);
}

static void test_engine_max_count_cap(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "crude crude crude crude crude", "Oil") == 3.0);
    assert_true(score(f, "x", "widget widget widget", "Capped") == 3.0); /* 2 * min(3, 1.5) */
    json_t *ev = json_object_get(find(json_object_get(f->out, "tags"), "Capped"), "evidence");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "count")), 3);
}

static void test_engine_all_any_group(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "20 barrels, 30 barrels", "Oil") == -1); /* no oil/crude */
    assert_true(score(f, "x", "20 barrels, 30 barrels of oil", "Oil") == 2.0);
    /* the group may match in the title */
    assert_true(score(f, "Oil", "20 barrels, 30 barrels", "Oil") == 2.0);
}

static void test_engine_all_entity_group(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "output rose", "OPEC Output") == -1);
    assert_true(score(f, "x", "OPEC output rose", "OPEC Output") == 1.0);
}

static void test_engine_all_entity_kind_group(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "sovereign debt", "Sovereign") == -1);
    assert_true(score(f, "x", "OPEC sovereign debt", "Sovereign") == -1); /* not a country */
    assert_true(score(f, "x", "Japanese sovereign debt", "Sovereign") == 1.0);
}

static void test_engine_min_score_zero_tag(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "nothing", "Always") == -1);
    assert_true(score(f, "x", "Tokyo", "Always") == 0.0);
}

static void test_engine_none_veto(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "crude oil and olive oil", "Oil") == -1);
    assert_true(score(f, "Palm oil", "crude oil", "Oil") == -1);
    assert_true(score(f, "x", "crude oil and olive", "Oil") == 3.0);
}

static void test_engine_wildcards_and_normalisation(void **state)
{
    struct fixture *f = *state;

    assert_true(score(f, "x", "exports rose, imported goods", "Trade") == 2.0);
    assert_true(score(f, "x", "Exporters fear TARIFFS", "Trade") == 3.0);
    assert_true(score(f, "x",
                      "a push for de\xE2\x80\x91"
                      "dollarization",
                      "De-dollarization") == 1.0);
    assert_true(score(f, "x", "trade in local-currencies", "De-dollarization") == 1.0);
}

static void test_engine_evidence(void **state)
{
    struct fixture *f = *state;
    const char *body = "Prices of crude rose. The crude oil market, 3 barrels.";
    json_t *tag = find(json_object_get(run(f, "Crude oil up", body, NULL), "tags"), "Oil");

    assert_non_null(tag);
    /* crude: text 2 + title 2 = 4 -> 3; crude oil: (1 + 2) -> 3, x2 = 6; barrel*: 1 */
    assert_true(json_real_value(json_object_get(tag, "score")) == 10.0);
    assert_string_equal(json_string_value(json_object_get(tag, "classifier")), "rules");
    json_t *ev = json_object_get(tag, "evidence");
    assert_int_equal(json_array_size(ev), 3);
    json_t *e0 = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "phrase")), "crude oil");
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "title");
    assert_int_equal(json_integer_value(json_object_get(e0, "count")), 2);
    assert_int_equal(json_integer_value(json_object_get(e0, "offset")), 0);
    json_t *e1 = json_array_get(ev, 1);
    assert_string_equal(json_string_value(json_object_get(e1, "phrase")), "crude");
    assert_int_equal(json_integer_value(json_object_get(e1, "count")), 3);
    json_t *e2 = json_array_get(ev, 2);
    assert_string_equal(json_string_value(json_object_get(e2, "phrase")), "barrel*");
    assert_string_equal(json_string_value(json_object_get(e2, "field")), "body");
    assert_int_equal(json_integer_value(json_object_get(e2, "offset")),
                     strstr(body, "barrels") - body);
}

static void test_engine_evidence_offset_non_ascii(void **state)
{
    struct fixture *f = *state;
    /* Offsets are bytes of the original text, before normalisation. */
    const char *summary = "\xC3\x89tude: \xEF\xBD\x83\xEF\xBD\x92\xEF\xBD\x95\xEF\xBD\x84"
                          "\xEF\xBD\x85 oil"; /* Étude: ｃｒｕｄｅ oil */
    run(f, "x", "none", summary);
    json_t *tag = find(json_object_get(f->out, "tags"), "Oil");
    assert_non_null(tag);
    json_t *e0 = json_array_get(json_object_get(tag, "evidence"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "phrase")), "crude oil");
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "summary");
    assert_int_equal(json_integer_value(json_object_get(e0, "offset")), 8);
}

static void test_engine_entities_and_order(void **state)
{
    struct fixture *f = *state;
    json_t *out = run(f, "Russia", "China and Beijing, the PRC; Xi Jinping met Xi.", NULL);
    json_t *ents = json_object_get(out, "entities");

    /* China: china, beijing, prc (once, with PRC), xi jinping = 4; Xi Jinping: 2; Russia: 1 */
    assert_int_equal(json_array_size(ents), 3);
    json_t *e0 = json_array_get(ents, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "name")), "China");
    assert_string_equal(json_string_value(json_object_get(e0, "kind")), "country");
    assert_int_equal(json_integer_value(json_object_get(e0, "mentions")), 4);
    json_t *e1 = json_array_get(ents, 1);
    assert_string_equal(json_string_value(json_object_get(e1, "name")), "Xi Jinping");
    assert_string_equal(json_string_value(json_object_get(e1, "kind")), "person");
    assert_int_equal(json_integer_value(json_object_get(e1, "mentions")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ents, 2), "name")),
                        "Russia");
    run(f, "x", "OPEC", NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(f->out, "entities"), 0), "kind")),
                        "organisation");
}

static const char *region(struct fixture *f, const char *body)
{
    json_t *r = json_object_get(run(f, "x", body, NULL), "region");

    assert_non_null(r);
    return json_is_null(r) ? NULL : json_string_value(r);
}

static void test_engine_region(void **state)
{
    struct fixture *f = *state;

    assert_null(region(f, "nothing here"));
    assert_null(region(f, "OPEC met")); /* not a country */
    assert_string_equal(region(f, "Japan and China"), "Asia");
    assert_string_equal(region(f, "Russia's exports to China"), "Global");
    assert_string_equal(region(f, "the U.S. said"), "North America");
}

static void test_engine_tag_order_and_empty_fields(void **state)
{
    struct fixture *f = *state;
    json_t *out = run(f, "x", "trade; crude oil; Japanese sovereign", NULL);
    json_t *tags = json_object_get(out, "tags");

    /* Oil 3, Trade 1, Sovereign 1, Always 0 */
    assert_int_equal(json_array_size(tags), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "name")), "Oil");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 1), "name")),
                        "Trade");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 2), "name")),
                        "Sovereign");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 3), "name")),
                        "Always");
    json_t *o2 = run_text(f->e, "", NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(o2, "tags")), 0);
    assert_true(json_is_null(json_object_get(o2, "region")));
    json_decref(o2);
}

static void test_engine_fields_do_not_join(void **state)
{
    struct fixture *f = *state;

    /* "crude" ends the summary, "oil" starts the body: no "crude oil" */
    json_t *out = run_text(f->e, "x", "oil", "crude");
    assert_null(find(json_object_get(out, "tags"), "Oil"));
    json_decref(out);
}

/* Reads the whole of f (rewound) into buf. */
static void slurp(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;

    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

static void test_tool_check(void **state)
{
    const char *dir = getenv("NP_TEST_DATA");
    char path[512];
    char buf[1024];
    FILE *out = tmpfile();

    (void)state;
    assert_non_null(out);
    snprintf(path, sizeof(path), "%s/taxonomy/basic.json", dir ? dir : "tests/data");
    assert_int_equal(classify_tool_check(path, out), 0);
    slurp(out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "taxonomy ok"));
    assert_non_null(strstr(buf, "tags=7 entities=6"));
    fclose(out);

    out = tmpfile();
    snprintf(path, sizeof(path), "%s/taxonomy/invalid-weight.json", dir ? dir : "tests/data");
    assert_int_equal(classify_tool_check(path, out), 1);
    slurp(out, buf, sizeof(buf));
    assert_non_null(strstr(buf, "taxonomy invalid: $.tags[3].any[2].weight: must be a positive"));
    fclose(out);
}

static void test_tool_classify_lines(void **state)
{
    const char *dir = getenv("NP_TEST_DATA");
    char tax[512];
    char in_path[] = "/tmp/test_classify_tool_XXXXXX";
    char buf[8192];
    int fd = mkstemp(in_path);
    FILE *in = fdopen(fd, "w");
    FILE *out = tmpfile();
    FILE *errout = tmpfile();

    (void)state;
    assert_non_null(in);
    fputs("{\"id\": \"a1\", \"title\": \"Crude oil rises\", \"body\": \"OPEC output\"}\n"
          "{not json\n"
          "\n"
          "{\"id\": \"a2\", \"title\": \"Japan\", \"body\": \"sovereign bonds\"}\n",
          in);
    fclose(in);
    snprintf(tax, sizeof(tax), "%s/taxonomy/basic.json", dir ? dir : "tests/data");
    assert_int_equal(classify_tool_classify(tax, in_path, out, errout), 1);
    slurp(errout, buf, sizeof(buf));
    assert_non_null(strstr(buf, "line 2:"));
    assert_null(strstr(buf, "line 1:"));
    assert_null(strstr(buf, "line 4:"));
    slurp(out, buf, sizeof(buf));
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t jerr;
    json_t *l1 = json_loads(buf, 0, &jerr);
    json_t *l2 = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &jerr);
    assert_non_null(l1);
    assert_non_null(l2);
    assert_string_equal(json_string_value(json_object_get(l1, "id")), "a1");
    assert_non_null(find(json_object_get(l1, "tags"), "Oil"));
    assert_non_null(find(json_object_get(l1, "tags"), "OPEC Output"));
    assert_true(json_is_null(json_object_get(l1, "region")));
    assert_string_equal(json_string_value(json_object_get(l2, "id")), "a2");
    assert_string_equal(json_string_value(json_object_get(l2, "region")), "Asia");
    json_decref(l1);
    json_decref(l2);
    fclose(out);
    fclose(errout);
    unlink(in_path);
}

/* ---- scoring: length, lead, salience, about, hints (a taxonomy of its own) ---- */

/* An engine of the taxonomy text json, which must load. */
static struct classify_engine *load_inline(const char *json)
{
    struct np_err err;
    struct classify_engine *e = classify_engine_load_json(json, strlen(json), &err);

    if (e == NULL) {
        fail_msg("%s: %s", err.field, err.msg);
    }
    return e;
}

static const char scoring_taxonomy[] =
    "{\"version\": \"s-1\","
    " \"scoring\": {\"lead_tokens\": 5, \"lead_bonus\": 1, \"reference_tokens\": 20,"
    "  \"short_floor\": 0.5, \"about_min\": 0.45, \"relative_min\": 0.3},"
    " \"entities\": ["
    "  {\"name\": \"United States\", \"kind\": \"country\", \"region\": \"North America\","
    "   \"aliases\": [\"united states\"], \"hints\": [\"inc\", \"dlrs\"]},"
    "  {\"name\": \"Japan\", \"kind\": \"country\", \"region\": \"Asia\", \"aliases\": "
    "[\"japan\"]},"
    "  {\"name\": \"China\", \"kind\": \"country\", \"region\": \"Asia\", \"aliases\": "
    "[\"china\"]}],"
    " \"tags\": [{\"name\": \"Rates\", \"min_score\": 4, \"title_weight\": 2,"
    "  \"any\": [{\"phrase\": \"rate cut\", \"weight\": 2}]},"
    " {\"name\": \"Minor\", \"min_score\": 1, \"any\": [\"minor\"]}]}";

/* Twenty-odd tokens that match nothing. */
#define FILLER "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "

static json_t *run_scoring(const char *title, const char *body)
{
    struct classify_engine *e = load_inline(scoring_taxonomy);
    json_t *out = run_text(e, title, body, NULL);

    classify_engine_destroy(&e);
    return out;
}

static bool has_rates(const char *title, const char *body)
{
    json_t *out = run_scoring(title, body);
    bool given = find(json_object_get(out, "tags"), "Rates") != NULL;

    json_decref(out);
    return given;
}

static void test_scoring_length_and_lead(void **state)
{
    (void)state;
    /* headline only: 2 x title_weight 2 = 4 >= 4 x short_floor 0.5 */
    assert_true(has_rates("Rate cut", NULL));
    /* long body, once outside the lead: 2 < 4 */
    assert_false(has_rates("x", FILLER FILLER "a rate cut"));
    /* the same once in the lead: (1 + lead_bonus 1) x 2 = 4 >= 4 */
    assert_true(has_rates("x", "a rate cut " FILLER FILLER));
    /* 8 tokens, once outside the lead: 2 < 4 x sqrt(8 / 20) = 2.53; twice: 4 >= 2.53 */
    assert_false(has_rates("x", "one two three four five six rate cut"));
    assert_true(has_rates("x", "one two three four rate cut rate cut"));
}

static void test_scoring_relative_min(void **state)
{
    json_t *out = NULL;

    (void)state;
    /* alone, Minor (1 >= 1) is given */
    out = run_scoring("x", FILLER FILLER "a minor point");
    assert_non_null(find(json_object_get(out, "tags"), "Minor"));
    json_decref(out);
    /* beside Rates at 6, Minor's 1 is under 0.3 x 6: an aside, not given */
    out = run_scoring("x", FILLER FILLER "rate cut, rate cut, rate cut and a minor point");
    assert_non_null(find(json_object_get(out, "tags"), "Rates"));
    assert_null(find(json_object_get(out, "tags"), "Minor"));
    json_decref(out);
}

static const char phrases_taxonomy[] =
    "{\"version\": \"p-1\", \"scoring\": {\"min_phrases\": 2}, \"entities\": [],"
    " \"tags\": [{\"name\": \"Gas\", \"min_score\": 2, \"any\": [\"gas\", \"pipeline\"]}]}";

static bool has_gas(const char *title, const char *body)
{
    struct classify_engine *e = load_inline(phrases_taxonomy);
    json_t *out = run_text(e, title, body, NULL);
    bool given = find(json_object_get(out, "tags"), "Gas") != NULL;

    json_decref(out);
    classify_engine_destroy(&e);
    return given;
}

static void test_scoring_min_phrases(void **state)
{
    (void)state;
    /* one phrase three times (3 >= 2) is one piece of evidence: not given */
    assert_false(has_gas("x", FILLER "gas gas gas"));
    /* two distinct phrases: given */
    assert_true(has_gas("x", FILLER "gas through a pipeline"));
    /* one phrase, but in the title: given */
    assert_true(has_gas("Gas", FILLER "gas"));
}

static const char about_taxonomy[] =
    "{\"version\": \"a-1\", \"entities\": ["
    "  {\"name\": \"Japan\", \"kind\": \"country\", \"region\": \"Asia\", \"aliases\": "
    "[\"japan\"]},"
    "  {\"name\": \"China\", \"kind\": \"country\", \"region\": \"Asia\", \"aliases\": "
    "[\"china\"]}],"
    " \"tags\": [{\"name\": \"JC\", \"min_score\": 1, \"any\": [\"trade\"],"
    "  \"all\": [{\"about\": \"Japan\"}, {\"about\": \"China\"}]},"
    " {\"name\": \"JCm\", \"min_score\": 1, \"any\": [\"trade\"],"
    "  \"all\": [{\"entity\": \"Japan\"}, {\"entity\": \"China\"}]}]}";

static void test_group_about(void **state)
{
    struct classify_engine *e = load_inline(about_taxonomy);
    json_t *out = NULL;

    (void)state;
    /* both countries in the title: the story is about both */
    out = run_text(e, "Japan and China trade", FILLER "trade", NULL);
    assert_non_null(find(json_object_get(out, "tags"), "JC"));
    assert_non_null(find(json_object_get(out, "tags"), "JCm"));
    json_decref(out);
    /* China named once in passing deep in the text: mentioned, not about */
    out = run_text(e, "Japan trade", "Japan trade " FILLER "Japan Japan as in China", NULL);
    assert_null(find(json_object_get(out, "tags"), "JC"));
    assert_non_null(find(json_object_get(out, "tags"), "JCm"));
    json_decref(out);
    classify_engine_destroy(&e);
}

static json_t *entity(json_t *out, const char *name)
{
    return find(json_object_get(out, "entities"), name);
}

static const char nested_taxonomy[] =
    "{\"version\": \"n-1\", \"entities\": ["
    "  {\"name\": \"Spain\", \"kind\": \"country\", \"region\": \"Europe\", \"aliases\": "
    "[\"spain\", \"spanish\"]},"
    "  {\"name\": \"Trinidad and Tobago\", \"kind\": \"country\", \"region\": \"Americas\","
    "   \"aliases\": [\"trinidad\", \"port of spain\"]},"
    "  {\"name\": \"United Kingdom\", \"kind\": \"country\", \"region\": \"Europe\", \"aliases\": "
    "[\"britain\", \"great britain\", \"british\"]},"
    "  {\"name\": \"Canada\", \"kind\": \"country\", \"region\": \"Americas\", \"aliases\": "
    "[\"canada\", \"british columbia\"]},"
    "  {\"name\": \"Bank of Spain\", \"kind\": \"organisation\", \"aliases\": "
    "[\"bank of spain\"]}],"
    " \"tags\": []}";

/* The mentions of entity name in the result, 0 when it is not reported. */
static json_int_t mentions(json_t *out, const char *name)
{
    json_t *en = entity(out, name);

    return en != NULL ? json_integer_value(json_object_get(en, "mentions")) : 0;
}

static void test_entity_inside_longer_alias(void **state)
{
    struct classify_engine *e = load_inline(nested_taxonomy);
    json_t *out = NULL;

    (void)state;
    /* the longer alias of another country wins, whether the shorter one ends it or opens it */
    out = run_text(e, "Port of Spain floods",
                   "Rain hit British Columbia and Port of Spain; Spain was dry.", NULL);
    assert_int_equal(mentions(out, "Trinidad and Tobago"), 2);
    assert_int_equal(mentions(out, "Canada"), 1);
    assert_int_equal(mentions(out, "Spain"), 1); /* only the last sentence */
    assert_int_equal(mentions(out, "United Kingdom"), 0);
    json_decref(out);
    /* another kind does not: the Bank of Spain is a mention of the bank and of Spain */
    out = run_text(e, "x", "The Bank of Spain said British banks", NULL);
    assert_int_equal(mentions(out, "Bank of Spain"), 1);
    assert_int_equal(mentions(out, "Spain"), 1);
    assert_int_equal(mentions(out, "United Kingdom"), 1);
    json_decref(out);
    /* the same entity's alias inside its longer one is one mention, not two */
    out = run_text(e, "x", "Great Britain and Spain", NULL);
    assert_int_equal(mentions(out, "United Kingdom"), 1);
    json_decref(out);
    /* a field ends the longer alias: "British" closing the title is the United Kingdom */
    out = run_text(e, "Rain on the British", "Columbia river", NULL);
    assert_int_equal(mentions(out, "United Kingdom"), 1);
    assert_int_equal(mentions(out, "Canada"), 0);
    json_decref(out);
    classify_engine_destroy(&e);
}

static void test_scoring_salience_about_region(void **state)
{
    (void)state;
    /* Japan: title + 2 of 3 mentions; China: most mentioned; the United States in passing */
    json_t *out = run_scoring("Japan and the yen",
                              FILLER "Japan China China China " FILLER "as in the United States");
    json_t *jp = entity(out, "Japan");
    json_t *cn = entity(out, "China");
    json_t *us = entity(out, "United States");

    assert_non_null(jp);
    assert_non_null(cn);
    assert_non_null(us);
    assert_true(json_is_true(json_object_get(jp, "about")));
    assert_true(json_is_true(json_object_get(cn, "about")));
    assert_true(json_is_false(json_object_get(us, "about")));
    assert_true(json_real_value(json_object_get(cn, "salience")) == 0.5);
    assert_true(json_real_value(json_object_get(jp, "salience")) > 0.6);
    /* the region comes from the countries the story is about: not Global */
    assert_string_equal(json_string_value(json_object_get(out, "region")), "Asia");
    json_decref(out);
    /* a dateline (lead + dateline + 1/3 of the share) outweighs 3 mentions late in the text */
    out = run_scoring("x", "China - " FILLER "Japan Japan Japan");
    assert_true(json_real_value(json_object_get(entity(out, "China"), "salience")) >
                json_real_value(json_object_get(entity(out, "Japan"), "salience")));
    assert_true(json_is_true(json_object_get(entity(out, "China"), "about")));
    json_decref(out);
}

static const char share_taxonomy[] =
    "{\"version\": \"sh-1\", \"scoring\": {\"lead_tokens\": 5, \"share_tokens\": 10},"
    " \"entities\": [{\"name\": \"Japan\", \"kind\": \"country\", \"region\": \"Asia\","
    "  \"aliases\": [\"japan\"]}],"
    " \"tags\": []}";

/* Whether the story is about Japan, by share_taxonomy. */
static bool about_japan(const char *body)
{
    struct classify_engine *e = load_inline(share_taxonomy);
    json_t *out = run_text(e, "x", body, NULL);
    bool about = false;

    assert_non_null(entity(out, "Japan"));
    about = json_is_true(json_object_get(entity(out, "Japan"), "about"));
    json_decref(out);
    classify_engine_destroy(&e);
    return about;
}

static void test_scoring_share_tokens(void **state)
{
    (void)state;
    /* the only country, named once after the lead: about in a short text (7 tokens) */
    assert_true(about_japan("one two three four five six Japan"));
    /* not in a longer one (15 tokens: two thirds of a share) */
    assert_false(about_japan(FILLER "Japan"));
    /* two mentions are the full share however long the text (30 tokens) */
    assert_true(about_japan(FILLER "Japan " FILLER "Japan"));
}

static void test_scoring_hints(void **state)
{
    (void)state;
    /* no country named: the hints name one, mentions 0 */
    json_t *out = run_scoring("Acme Inc profit", "Acme Inc earned 5 mln dlrs");
    json_t *us = entity(out, "United States");

    assert_non_null(us);
    assert_int_equal(json_integer_value(json_object_get(us, "mentions")), 0);
    assert_true(json_is_true(json_object_get(us, "about")));
    assert_string_equal(json_string_value(json_object_get(out, "region")), "North America");
    json_decref(out);
    /* a country named: hints do not count */
    out = run_scoring("Acme Inc profit", "Acme Inc of Japan earned 5 mln dlrs");
    assert_null(entity(out, "United States"));
    assert_string_equal(json_string_value(json_object_get(out, "region")), "Asia");
    json_decref(out);
}

static void test_scoring_validation(void **state)
{
    static const char *const bad[][2] = {
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"short_floor\": 2}}",
          "$.scoring.short_floor" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"lead_tokens\": 0}}",
          "$.scoring.lead_tokens" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"relative_min\": "
          "-1}}",
          "$.scoring.relative_min" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"min_phrases\": "
          "0}}",
          "$.scoring.min_phrases" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"share_tokens\": "
          "-1}}",
          "$.scoring.share_tokens" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [], \"scoring\": {\"about\": 1}}",
          "$.scoring.about" },
        { "{\"version\": \"v\", \"entities\": [], \"tags\": [{\"name\": \"A\", \"any\": [\"a\"],"
          " \"all\": [{\"about\": \"Nowhere\"}]}]}",
          "$.tags[0].all[0].about" },
        { "{\"version\": \"v\", \"entities\": [{\"name\": \"X\", \"kind\": \"company\","
          " \"aliases\": [\"x\"], \"hints\": [\"inc\"]}], \"tags\": []}",
          "$.entities[0].hints" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct np_err err;
        np_err_clear(&err);
        assert_null(classify_engine_load_json(bad[i][0], strlen(bad[i][0]), &err));
        assert_string_equal(err.field, bad[i][1]);
    }
}

/* What put_real() must write: %.17g, with ".0" when that reads as an integer. */
static void check_real(double v)
{
    char want[64];
    char got[64];
    int n = snprintf(want, sizeof(want), "%.17g", v);

    if (strpbrk(want, ".eE") == NULL) {
        memcpy(want + n, ".0", 3);
    }
    classify_engine_format_real(got, v);
    if (strcmp(got, want) != 0) {
        fail_msg("%.17g: got \"%s\", want \"%s\"", v, got, want);
    }
}

/* Scores are written without snprintf in the usual range: the same text as snprintf, for random
 * doubles of every magnitude, values of few binary digits (ties at the 17th digit, integers),
 * the edges of the range and values that round up to a new power of ten. */
static void test_format_real_as_printf(void **state)
{
    uint64_t x = 88172645463325252ULL;
    const double edges[] = { 0.0,
                             -0.0,
                             1e-4,
                             9.9999999999999995e-5,
                             1e17,
                             1e16,
                             1e17 - 8,
                             99999999999999999.0,
                             0.1,
                             0.5,
                             1.0,
                             2.0,
                             10.0,
                             9.99999999999999999,
                             0.99999999999999999,
                             1234567890123456.75,
                             1234567890123456.25,
                             123.456,
                             -0.25,
                             -3.0,
                             1e300,
                             -1e-300,
                             4.9406564584124654e-324 };

    (void)state;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        check_real(edges[i]);
    }
    for (int i = 0; i < 300000; i++) {
        uint64_t bits = 0;
        double v = 0;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* exponents around 1e-6 .. 1e19, any mantissa */
        bits = (x & ((1ULL << 52) - 1)) | (uint64_t)(1003 + (x >> 52) % 62) << 52;
        memcpy(&v, &bits, sizeof(v));
        check_real(i % 2 ? v : -v);
        check_real((double)(x % 100000000000000000ULL) / (double)(1ULL << (x >> 58)));
        check_real((double)(x % 1000000) / 1000.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_any_weights),
        cmocka_unit_test(test_engine_min_score),
        cmocka_unit_test(test_engine_title_boost),
        cmocka_unit_test(test_engine_max_count_cap),
        cmocka_unit_test(test_engine_all_any_group),
        cmocka_unit_test(test_engine_all_entity_group),
        cmocka_unit_test(test_engine_all_entity_kind_group),
        cmocka_unit_test(test_engine_min_score_zero_tag),
        cmocka_unit_test(test_engine_none_veto),
        cmocka_unit_test(test_engine_wildcards_and_normalisation),
        cmocka_unit_test(test_engine_evidence),
        cmocka_unit_test(test_engine_evidence_offset_non_ascii),
        cmocka_unit_test(test_engine_entities_and_order),
        cmocka_unit_test(test_engine_region),
        cmocka_unit_test(test_engine_tag_order_and_empty_fields),
        cmocka_unit_test(test_engine_fields_do_not_join),
    };
    const struct CMUnitTest tool_tests[] = {
        cmocka_unit_test(test_tool_check),
        cmocka_unit_test(test_tool_classify_lines),
        cmocka_unit_test(test_scoring_length_and_lead),
        cmocka_unit_test(test_scoring_salience_about_region),
        cmocka_unit_test(test_scoring_hints),
        cmocka_unit_test(test_scoring_share_tokens),
        cmocka_unit_test(test_entity_inside_longer_alias),
        cmocka_unit_test(test_scoring_relative_min),
        cmocka_unit_test(test_scoring_min_phrases),
        cmocka_unit_test(test_group_about),
        cmocka_unit_test(test_scoring_validation),
        cmocka_unit_test(test_format_real_as_printf),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed + cmocka_run_group_tests(tool_tests, NULL, NULL);
}
