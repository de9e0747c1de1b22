/* test_article_json.c - np_article_write_json writes exactly what Jansson would */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np/article.h"
#include "test_util.h"

/* Parses buf; when it is a valid article, checks that the direct writer's bytes equal
 * json_dumpb(np_article_to_json(a), JSON_COMPACT). Returns 1 when compared, 0 when invalid. */
static int compare(const char *buf, size_t len, const char *what)
{
    struct np_article *a = NULL;
    json_t *tree = NULL;
    char *direct = NULL;
    char *jansson = NULL;
    size_t dlen = 0;

    if (np_article_parse(buf, len, &a, NULL) != 0) {
        return 0;
    }
    tree = np_article_to_json(a);
    assert_non_null(tree);
    jansson = json_dumps(tree, JSON_COMPACT);
    assert_int_equal(np_article_write_json(a, &direct, &dlen), 0);
    if (dlen != strlen(jansson) || memcmp(direct, jansson, dlen) != 0) {
        fprintf(stderr, "%s:\n direct:  %.*s\n jansson: %s\n", what, (int)dlen, direct, jansson);
    }
    assert_int_equal(dlen, strlen(jansson));
    assert_memory_equal(direct, jansson, dlen);
    free(direct);
    free(jansson);
    json_decref(tree);
    np_article_destroy(&a);
    return 1;
}

static void test_valid_cases_match(void **state)
{
    char dir[1024];
    DIR *d = NULL;
    struct dirent *e = NULL;
    int compared = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/articles/valid", getenv("NP_TEST_DATA"));
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[1400];
        size_t len = 0;
        char *buf = NULL;

        if (strstr(e->d_name, ".json") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        buf = t_slurp(path, &len);
        assert_non_null(buf);
        compared += compare(buf, len, e->d_name);
        free(buf);
    }
    closedir(d);
    assert_true(compared >= 10);
}

static void test_escapes_match(void **state)
{
    static const char *const cases[] = {
        "{\"title\":\"quote \\\" backslash \\\\ slash / tab\\t cr\\r bell\\u0007 del\\u007f\","
        "\"body\":\"\\u00e9\\u4e2d\\ud83d\\ude00 line\\nbreak\",\"authors\":[\"a\\\"b\"],"
        "\"topics\":[1,2.5,true,null,{\"x\":\"\\u0001\"}],\"n\":-3}",
        "{\"title\":\"t\",\"summary\":\"only a "
        "summary\",\"published_at\":\"2025-09-02T14:52:00.5-04:00\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(compare(cases[i], strlen(cases[i]), cases[i]), 1);
    }
}

static void test_reuters_matches(void **state)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    int compared = 0;
    const char *path = t_shared("reuters-train.jsonl");

    (void)state;
    if (path == NULL) {
        skip();
    }
    f = fopen(path, "r");
    if (f == NULL) {
        skip();
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        compared += compare(line, (size_t)n, "reuters");
    }
    free(line);
    fclose(f);
    assert_true(compared > 8000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_cases_match),
        cmocka_unit_test(test_escapes_match),
        cmocka_unit_test(test_reuters_matches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
