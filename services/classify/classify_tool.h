/* classify_tool.h - the offline commands of newspipe-classify: --check and --classify */
#ifndef CLASSIFY_TOOL_H
#define CLASSIFY_TOOL_H

#include <stdio.h>

/*
 * `newspipe-classify --check FILE`: loads and validates the taxonomy at taxonomy_path. Prints
 * "taxonomy ok: version=... tags=N entities=N phrases=N states=N" to out and returns 0, or
 * prints "taxonomy invalid: <path>: <reason>" to out and returns 1.
 */
int classify_tool_check(const char *taxonomy_path, FILE *out);

/*
 * `newspipe-classify --classify FILE`: loads the taxonomy, reads articles from
 * jsonl_path_or_dash ("-" is stdin), one JSON object per line with the fields the ingest
 * socket takes, parses each with np_article_parse() and writes one JSON line per article to
 * out: {"id", "tags": [{"name", "score", "classifier", "evidence"}], "entities", "region",
 * "classifier"}. A line that fails to parse is reported on errout with its line number and
 * skipped; blank lines are ignored. Returns 0, or 1 if the taxonomy or the input could not be
 * read or any line failed.
 */
int classify_tool_classify(const char *taxonomy_path, const char *jsonl_path_or_dash, FILE *out,
                           FILE *errout);

/*
 * The same with a learned model beside the taxonomy (model_path NULL or "": rules only); a
 * model that fails its checks is reported on errout ("model invalid: ...") and returns 1.
 */
int classify_tool_classify_model(const char *taxonomy_path, const char *model_path,
                                 const char *jsonl_path_or_dash, FILE *out, FILE *errout);

#endif /* CLASSIFY_TOOL_H */
