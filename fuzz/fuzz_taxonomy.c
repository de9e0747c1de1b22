/* fuzz_taxonomy.c - libFuzzer target: the taxonomy loader (classify_engine_load_json)
 *
 * A taxonomy that loads is compiled and run once on a small fixed article, so the matcher built
 * from arbitrary phrases, weights and rules is exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_engine.h"
#include "np/article.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char article_json[] =
    "{\"title\": \"Crude oil exports from Russia to China rise; OPEC output steady\","
    " \"body\": \"Beijing and Moscow traded more crude oil in local currencies. The U.S. and"
    " Japan watched tariffs, sovereign debt and de-dollarization. Xi Jinping met OPEC."
    " Barrels, widgets, Tokyo, American exporters.\","
    " \"summary\": \"PRC trade with the Kremlin\", \"source_tags\": [\"Energy\", \"Trade\"]}";

static struct np_article *fixed_article(void)
{
    static struct np_article *a = NULL;
    struct np_err err = { 0 };

    if (a == NULL && np_article_parse(article_json, strlen(article_json), &a, &err) != 0) {
        fprintf(stderr, "fuzz_taxonomy: fixed article refused: %s\n", err.msg);
        abort();
    }
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_err err = { 0 };
    struct classify_engine *e = classify_engine_load_json((const char *)data, size, &err);
    struct np_article_view v;
    char *text = NULL;
    size_t len = 0;

    if (e == NULL) {
        return 0;
    }
    np_article_view_of(fixed_article(), &v);
    if (classify_engine_run(e, &v, &text, &len) == 0) {
        free(text);
    }
    classify_engine_destroy(&e);
    return 0;
}
