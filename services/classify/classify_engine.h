/* classify_engine.h - the rules classifier: taxonomy in, tags/entities/region out
 *
 * The engine is built once from a taxonomy file and then only read; classify_engine_run() is
 * what the worker calls per article. See classify_engine.c for the design.
 */
#ifndef CLASSIFY_ENGINE_H
#define CLASSIFY_ENGINE_H

#include <stddef.h>

#include "np/article.h"
#include "np/err.h"
#include "np/json.h"

struct classify_engine;

/* What a loaded taxonomy holds, for `newspipe-classify --check`. */
struct classify_engine_stats {
    size_t tags;
    size_t entities;
    size_t phrases; /* distinct phrases compiled into the matcher */
    size_t states;  /* matcher states */
};

/*
 * Loads and validates a taxonomy file and compiles its matcher. Returns a new engine
 * (classify_engine_destroy()) or NULL; on NULL err names the JSON path of the offending element
 * in err->field (e.g. "$.tags[3].any[2].weight") and why in err->msg.
 */
struct classify_engine *classify_engine_load(const char *path, struct np_err *err);

/* The same from a JSON document held in memory (tests, fuzzing). */
struct classify_engine *classify_engine_load_json(const char *text, size_t len, struct np_err *err);

/*
 * Classifies one article, reading the text of v's fields that the field table gives a scan
 * number (np/article.h), in that order, and appends the result to out as the members of a JSON
 * object, without the braces (what classify adds to the envelope):
 *   "tags":[{"name":..,"score":..,"classifier":"rules" (or "rules+model", "model": see
 *            classify_engine_set_model()),
 *            "evidence":[{"phrase":..,"field":..,"count":..,"offset":..}]}],
 *   "entities":[{"name":..,"kind":..,"mentions":..}],
 *   "region":"Europe" | "Global" | null,
 *   "classifier":"rules/<taxonomy version>"
 * Returns 0, or NP_ENOMEM (out->failed). Not thread-safe on one engine (it keeps scratch
 * buffers); use one engine per thread.
 */
int classify_engine_write(struct classify_engine *e, const struct np_article_view *v,
                          struct np_buf *out);

struct classify_model;

/*
 * Combines a learned model (classify_model.h) with the rules in every result, as the
 * taxonomy's "model" policy says: tags only the model gives, with a margin of at least
 * model.add above their threshold (and of at least -model.add_slack without their strongest
 * feature), follow the rules' tags with "classifier":"model"; a tag both
 * give is written once, as the rules' tag, with "classifier":"rules+model"; a rule tag the model
 * knows and scores more than model.veto below its threshold is dropped, when some tag of the
 * model reaches model.sure. m is borrowed (NULL: rules only) and must outlive its use; like
 * the engine, it is scratch for one thread.
 */
void classify_engine_set_model(struct classify_engine *e, struct classify_model *m);

/*
 * The model file to load beside this taxonomy: configured (--model, NP_CLASSIFY_MODEL) when
 * set; none when it is "none"; else the one the taxonomy names ("model": {"file"}), resolved
 * against the taxonomy file's folder by classify_engine_load(). NULL: rules only. Loading it is
 * the caller's job.
 */
const char *classify_engine_model_path(const struct classify_engine *e, const char *configured);

/* The tags the last run gave, best first: how many, and the name of the i-th (NULL past the
 * end). Valid until the next run. */
size_t classify_engine_ntags(const struct classify_engine *e);
const char *classify_engine_tag(const struct classify_engine *e, size_t i);

/*
 * The same result as the text of one JSON object (the members of classify_engine_write() in
 * braces), in a new NUL-terminated buffer: *out (free()), *len bytes. For tools and tests, which
 * print it or parse it as they need. Returns 0 or NP_ENOMEM.
 */
int classify_engine_run(struct classify_engine *e, const struct np_article_view *v, char **out,
                        size_t *len);

/* Fills *st with counts of the loaded taxonomy. */
void classify_engine_stats(const struct classify_engine *e, struct classify_engine_stats *st);

/* Frees the engine and sets *ep to NULL. Accepts NULL. */
void classify_engine_destroy(struct classify_engine **ep);

/*
 * Writes v as the tags' scores are written (as Jansson writes a real: %.17g, ".0" added when that
 * reads as an integer) into num, at least 48 bytes, NUL-terminated; returns the length.
 */
size_t classify_engine_format_real(char *num, double v);

#endif /* CLASSIFY_ENGINE_H */
