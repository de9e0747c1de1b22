/* fuzz_ingest.h - what ingest does with an article the push tool made, for the push fuzzers
 *
 * The push tool's readers (plain text, feeds) hand ingest each article as compact JSON; running
 * that JSON through np_article_parse() covers the pair as the pipeline runs it.
 */
#ifndef NP_FUZZ_INGEST_H
#define NP_FUZZ_INGEST_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "np/article.h"
#include "np/err.h"

static inline void fuzz_as_ingest(const json_t *obj)
{
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    char *text = json_dumps(obj, JSON_COMPACT);

    if (text == NULL) {
        return;
    }
    if (np_article_parse(text, strlen(text), &a, &err) == 0) {
        np_article_destroy(&a);
    }
    free(text);
}

#endif
