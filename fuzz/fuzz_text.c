/* fuzz_text.c - libFuzzer target: the push tool's plain-text article reader (push_text_parse)
 *
 * What push_text_parse makes is sent to ingest as is, so the result is also run through
 * np_article_parse (as ingest would) for coverage of the pair.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_ingest.h"
#include "push_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_err err = { 0 };
    json_t *obj = NULL;

    if (push_text_parse((const char *)data, size, &obj, &err) != 0) {
        if (obj != NULL) {
            fprintf(stderr, "fuzz_text: output set on failure\n");
            abort();
        }
        return 0;
    }
    if (!json_is_object(obj)) {
        fprintf(stderr, "fuzz_text: result is not an object\n");
        abort();
    }
    fuzz_as_ingest(obj);
    json_decref(obj);
    return 0;
}
