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

#include "classify_engine.h"
#include "classify_model.h"
#include "np/article.h"
#include "np/buf.h"
#include "np/err.h"
#include "np/json.h"

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

/* Classifies one input line and prints its result: {"id":..., then the engine's members}, the
 * engine's text as it is written, never parsed back. Returns 0 or 1 (reported on errout). */
static int classify_line(struct classify_engine *e, const char *line, size_t n, size_t lineno,
                         FILE *out, FILE *errout)
{
    struct np_article *a = NULL;
    struct np_article_view v;
    struct np_err err;
    struct np_buf res = { 0 };
    int rc = 1;

    np_err_clear(&err);
    int prc = np_article_parse(line, n, &a, &err);
    if (prc != 0) {
        fprintf(errout, "line %zu: %s: %s\n", lineno, np_strerror(prc),
                err.msg[0] ? err.msg : "invalid article");
        goto out;
    }
    np_article_view_of(a, &v);
    np_buf_lit(&res, "{\"id\":");
    np_json_out_string(&res, a->id, strlen(a->id));
    np_buf_lit(&res, ",");
    if (classify_engine_write(e, &v, &res) != 0 || res.failed) {
        fprintf(errout, "line %zu: out of memory\n", lineno);
        goto out;
    }
    np_buf_lit(&res, "}\n");
    if (res.failed || fwrite(res.p, 1, res.len, out) != res.len) {
        fprintf(errout, "line %zu: could not write the result\n", lineno);
        goto out;
    }
    rc = 0;
out:
    np_buf_cleanup(&res);
    np_article_destroy(&a);
    return rc;
}

int classify_tool_classify(const char *taxonomy_path, const char *jsonl_path_or_dash, FILE *out,
                           FILE *errout)
{
    return classify_tool_classify_model(taxonomy_path, NULL, jsonl_path_or_dash, out, errout);
}

int classify_tool_classify_model(const char *taxonomy_path, const char *model_path,
                                 const char *jsonl_path_or_dash, FILE *out, FILE *errout)
{
    bool use_stdin = strcmp(jsonl_path_or_dash, "-") == 0;
    struct classify_engine *e = NULL;
    struct classify_model *m = NULL;
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
    model_path = classify_engine_model_path(e, model_path);
    if (model_path != NULL) {
        m = classify_model_load(model_path, &err);
        if (m == NULL) {
            fprintf(errout, "model invalid: %s: %s\n", model_path, err.msg);
            goto out;
        }
        classify_engine_set_model(e, m);
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
    classify_model_destroy(&m);
    return rc;
}
