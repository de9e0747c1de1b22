/* classify_tool.c - the offline commands of newspipe-classify: --check and --classify
 *
 * Both run the same engine as the worker, so `--classify` on a file of articles shows exactly
 * which tags, evidence, entities and region the service would store.
 */
#include "classify_tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/types.h>

#include <jansson.h>

#include "classify_engine.h"
#include "np/article.h"
#include "np/err.h"

int classify_tool_check(const char *taxonomy_path, FILE *out)
{
    struct classify_engine_stats st;
    struct np_err err;

    np_err_clear(&err);
    struct classify_engine *e = classify_engine_load(taxonomy_path, &err);
    if (e == NULL) {
        /* err.msg already starts with "<field>: " when there is a field. */
        fprintf(out, "taxonomy invalid: %s\n", err.msg);
        return 1;
    }
    classify_engine_stats(e, &st);
    fprintf(out, "taxonomy ok: file=%s tags=%zu entities=%zu phrases=%zu states=%zu\n",
            taxonomy_path, st.tags, st.entities, st.phrases, st.states);
    classify_engine_destroy(&e);
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* Classifies one input line and prints its result. Returns 0 or 1 (reported on errout). */
static int classify_line(struct classify_engine *e, const char *line, size_t n, size_t lineno,
                         FILE *out, FILE *errout)
{
    struct np_article *a = NULL;
    struct np_err err;
    json_t *res = NULL;
    json_t *obj = NULL;
    int rc = 1;

    np_err_clear(&err);
    int prc = np_article_parse(line, n, &a, &err);
    if (prc != 0) {
        fprintf(errout, "line %zu: %s: %s\n", lineno, np_strerror(prc),
                err.msg[0] ? err.msg : "invalid article");
        goto out;
    }
    if (classify_engine_run(e, a, &res) != 0) {
        fprintf(errout, "line %zu: out of memory\n", lineno);
        goto out;
    }
    obj =
        json_pack("{s:s, s:O, s:O, s:O, s:O}", "id", a->id, "tags", json_object_get(res, "tags"),
                  "entities", json_object_get(res, "entities"), "region",
                  json_object_get(res, "region"), "classifier", json_object_get(res, "classifier"));
    if (obj == NULL || json_dumpf(obj, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF) {
        fprintf(errout, "line %zu: could not write the result\n", lineno);
        goto out;
    }
    rc = 0;
out:
    json_decref(obj);
    json_decref(res);
    np_article_destroy(&a);
    return rc;
}

int classify_tool_classify(const char *taxonomy_path, const char *jsonl_path_or_dash, FILE *out,
                           FILE *errout)
{
    bool use_stdin = strcmp(jsonl_path_or_dash, "-") == 0;
    struct classify_engine *e = NULL;
    struct np_err err;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 0;
    int rc = 1;

    np_err_clear(&err);
    e = classify_engine_load(taxonomy_path, &err);
    if (e == NULL) {
        fprintf(errout, "taxonomy invalid: %s\n", err.msg);
        goto out;
    }
    in = use_stdin ? stdin : fopen(jsonl_path_or_dash, "r");
    if (in == NULL) {
        fprintf(errout, "cannot open \"%s\": %s\n", jsonl_path_or_dash, strerror(errno));
        goto out;
    }
    rc = 0;
    for (;;) {
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            break;
        }
        lineno++;
        if (blank(line, (size_t)n)) {
            continue;
        }
        if (classify_line(e, line, (size_t)n, lineno, out, errout) != 0) {
            rc = 1;
        }
    }
    if (ferror(in)) {
        fprintf(errout, "could not read \"%s\"\n", jsonl_path_or_dash);
        rc = 1;
    }
    fflush(out);
out:
    free(line);
    if (in != NULL && !use_stdin) {
        fclose(in);
    }
    classify_engine_destroy(&e);
    return rc;
}
