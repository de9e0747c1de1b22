/* fuzz_feed.c - libFuzzer target: the push tool's RSS/Atom reader (push_feed_open/next)
 *
 * Every article a feed gives is sent to ingest as is, so each is also run through
 * np_article_parse (fuzz_ingest.h). Checks that a refused feed sets no output, that the
 * number of items read matches push_feed_count(), and that every item is a JSON object.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_ingest.h"
#include "push_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_err err = { 0 };
    struct push_feed *f = NULL;
    json_t *obj = NULL;
    size_t n = 0;
    long line = 0;
    int rc = 0;

    (void)push_feed_sniff((const char *)data, size);
    if (push_feed_open((const char *)data, size, &f, &err) != 0) {
        if (f != NULL || err.msg[0] == '\0') {
            fprintf(stderr, "fuzz_feed: output set or no reason on failure\n");
            abort();
        }
        return 0;
    }
    while ((rc = push_feed_next(f, &obj, &line)) == 1) {
        if (!json_is_object(obj) || line < 0) {
            fprintf(stderr, "fuzz_feed: item %zu is not an object\n", n);
            abort();
        }
        fuzz_as_ingest(obj);
        json_decref(obj);
        obj = NULL;
        n++;
    }
    if (rc == 0 && n != push_feed_count(f)) {
        fprintf(stderr, "fuzz_feed: read %zu items of %zu\n", n, push_feed_count(f));
        abort();
    }
    push_feed_destroy(&f);
    return 0;
}
