/* fuzz_json.c - libFuzzer target: np_json (yajl into an arena) against Jansson
 *
 * np/json.h promises to accept what json_loadb(JSON_REJECT_DUPLICATES) accepts, except two
 * stricter cases (nesting over NP_JSON_NEST_MAX, a raw NUL byte after the value), and to give
 * the same values. Both parsers read each input; they must agree on accept or refuse, and an
 * accepted document written back by np_json_write() must parse with Jansson to a json_equal()
 * value. With NP_JSON_ALLOW_NUL the same text must also be accepted (U+0000 aside). The arena is
 * reused across inputs, as the workers reuse it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "np/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_json: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct np_json_doc doc;
    struct np_err err = { 0 };
    json_error_t jerr;
    json_t *want =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    int rc = np_json_parse(&doc, data, size, "doc", 0, &err);

    if (rc != 0 && want != NULL) {
        check(doc.fault == NP_JSON_DEEP || memchr(data, '\0', size) != NULL,
              "np_json refuses only what it documents refusing beyond Jansson");
    } else if (rc == 0) {
        struct np_buf out = { 0 };
        json_t *back = NULL;

        check(want != NULL, "np_json accepts nothing Jansson refuses");
        np_json_write(&out, doc.root);
        check(!out.failed, "write back");
        back = json_loadb(out.p, out.len, JSON_DECODE_ANY, &jerr);
        check(back != NULL && json_equal(back, want), "same values as Jansson");
        json_decref(back);
        free(out.p);
        check(np_json_parse(&doc, data, size, "doc", NP_JSON_ALLOW_NUL, &err) == 0,
              "ALLOW_NUL accepts it too");
    } else {
        check(doc.root == NULL && doc.fault != NP_JSON_OK && doc.fault_why != NULL,
              "a refusal says why");
    }
    json_decref(want);
    return 0;
}
