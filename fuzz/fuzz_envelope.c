/* fuzz_envelope.c - libFuzzer target: the envelope and ack decoders (np_msg_decode,
 * np_msg_ack_decode)
 *
 * A decoded envelope must re-encode (np_msg_encode) into one that decodes to the same kind, seq
 * and id: store and classify pass envelopes on, so a lossy round trip would corrupt the pipeline.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_envelope: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_err err = { 0 };
    struct np_envelope env;
    struct np_envelope again;
    static struct np_json_doc doc;
    static struct np_json_doc doc2;
    uint64_t *seqs = NULL;
    size_t n = 0;
    char *buf = NULL;
    size_t len = 0;

    if (np_msg_ack_decode(data, size, &seqs, &n, &err) == 0) {
        check(n <= NP_ACK_MAX_SEQS, "ack size bounded");
        check(np_msg_ack_encode(seqs, n, &buf, &len) == 0, "ack re-encodes");
        free(buf);
        free(seqs);
    }
    if (np_msg_decode(data, size, &doc, &env, &err) != 0) {
        check(env.origin_id == NULL, "empty envelope on failure");
        check(err.field[0] != '\0', "a refusal names a field");
        return 0;
    }
    check(env.origin_id != NULL && env.origin_ack != NULL && env.received_at != NULL,
          "always-present fields");
    check(env.kind == NP_MSG_ARTICLE ? env.id != NULL : env.stage != NULL && env.reason != NULL,
          "kind-specific fields");
    check(np_msg_encode(&env, NULL, &buf, &len) == 0, "re-encodes");
    check(np_msg_decode(buf, len, &doc2, &again, &err) == 0, "re-encoded envelope decodes");
    check(again.kind == env.kind && again.seq == env.seq, "kind and seq round-trip");
    check(env.kind != NP_MSG_ARTICLE || strcmp(again.id, env.id) == 0, "id round-trips");
    np_msg_cleanup(&again);
    free(buf);
    np_msg_cleanup(&env);
    return 0;
}
