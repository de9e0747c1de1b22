/* fuzz_classify.c - libFuzzer target: the classifier on arbitrary articles
 *
 * The input is a client message; once np_article_parse accepts it, classify_engine_run tags it
 * with the shipped taxonomy (config/taxonomy.json, loaded once). This is what a classify worker
 * does with every article, so it is the matcher's exposure to hostile text (tokenising,
 * case folding, offsets).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "classify_engine.h"
#include "np/article.h"

#ifndef NP_FUZZ_TAXONOMY
#error "NP_FUZZ_TAXONOMY must name the taxonomy file"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct classify_engine *engine = NULL;
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    struct np_article_view v;
    char *text = NULL;
    size_t len = 0;

    if (engine == NULL) {
        const char *path = getenv("NP_FUZZ_TAXONOMY");

        engine = classify_engine_load(path != NULL ? path : NP_FUZZ_TAXONOMY, &err);
        if (engine == NULL) {
            fprintf(stderr, "fuzz_classify: cannot load the taxonomy: %s\n", err.msg);
            abort();
        }
    }
    if (np_article_parse(data, size, &a, &err) != 0) {
        return 0;
    }
    np_article_view_of(a, &v);
    if (classify_engine_run(engine, &v, &text, &len) == 0) {
        /* The text the worker puts in the envelope must be one JSON object. */
        json_t *out = json_loadb(text, len, 0, NULL);

        if (!json_is_object(out)) {
            fprintf(stderr, "fuzz_classify: result is not a JSON object\n");
            abort();
        }
        json_decref(out);
        free(text);
    }
    np_article_destroy(&a);
    return 0;
}
