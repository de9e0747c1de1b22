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
    json_t *out = NULL;

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
    if (classify_engine_run(engine, a, &out) == 0) {
        if (!json_is_object(out)) {
            fprintf(stderr, "fuzz_classify: result is not an object\n");
            abort();
        }
        json_decref(out);
    }
    np_article_destroy(&a);
    return 0;
}
