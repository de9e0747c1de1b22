/* fuzz_model.c - libFuzzer target: the model file loader (classify_model_load_mem)
 *
 * Any bytes go to the loader, which must refuse what is not a well-formed model without reading
 * out of bounds. The checksum would stop almost every mutation at the first check, so the input
 * is taken as a model with its checksum field recomputed first (when it is long enough for a
 * header): the bounds checks behind it are what gets fuzzed. A model that loads is run once on
 * a small fixed article and its tags written, so the scorer and the evidence are exercised too.
 * Seeds: fuzz/corpus/model/small.model, a 6 KB model trained on our own sentences;
 * small-stopwords.model, the same sentences trained with function words left out (header flag);
 * small-stems.model, the unit tests' sentences trained with stems too (header flag).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify_model.h"
#include "np/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_err err = { 0 };
    const char *a[2] = { "Crude oil output rises as OPEC meets",
                         "Wheat and corn prices fell; the central bank left interest rates "
                         "unchanged. 1987." };
    struct np_buf out = { 0 };
    struct classify_model *m = NULL;
    unsigned char *img = malloc(size + 1);

    if (img == NULL) {
        return 0;
    }
    memcpy(img, data, size);
    if (size >= CLASSIFY_MODEL_HEADER) {
        classify_model_seal(img, size);
    }
    m = classify_model_load_mem(img, size, &err);
    free(img);
    if (m == NULL) {
        return 0;
    }
    if (classify_model_score(m, a, 2) == 0) {
        classify_model_claim(m, classify_model_tag_index(m, "crude"));
        classify_model_write(m, &out, false);
    }
    free(out.p);
    classify_model_destroy(&m);
    return 0;
}
