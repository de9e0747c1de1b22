/* classify_taxonomy.c - the taxonomy file of the rules classifier: loading and validation
 *
 * The format (config/taxonomy.json):
 *   {"version": "2026.11-1",
 *    "entities": [{"name", "kind", "region"?, "aliases": [phrase, ...], "hints"?: [phrase, ...]}],
 *    "tags": [{"name", "min_score"?, "title_weight"?, "max_count"?,
 *              "any"?: [phrase, ...], "all"?: [group, ...], "none"?: [phrase, ...]}],
 *    "scoring"?: {"lead_tokens"?, "lead_bonus"?, "reference_tokens"?, "short_floor"?,
 *                 "about_min"?, "share_tokens"?, "relative_min"?, "min_phrases"?},
 *    "model"?: {"file"?, "veto"?, "add"?, "sure"?, "add_slack"?}}
 * `scoring` holds the length and salience settings of classify_engine.c (defaults there, in
 * classify_scoring_defaults()); lead_tokens and reference_tokens must be >= 1, short_floor,
 * about_min and relative_min in [0, 1], lead_bonus and share_tokens >= 0, min_phrases >= 1. `model`
 * says how a learned model's tags combine with the rules' (classify_engine.c) and names the model
 * file the taxonomy comes with, relative to the taxonomy's folder; veto, add, sure and add_slack
 * must be >= 0 (sure defaults to add; without add_slack an addition's features are not checked).
 * A phrase is a string (weight 1, case-insensitive) or {"phrase", "weight"?,
 * "case_sensitive"?}; its last word may end in '*' (prefix wildcard). A group is exactly one
 * of {"any": [phrase, ...]}, {"entity": name} (mentioned), {"about": name} (mentioned and the
 * story is about it: classify_engine.c), {"entity_kind": kind}. kind is country,
 * organisation (or organization), person or company; countries need a region. `hints` (countries
 * only) are phrases that point at the country without naming it (a corporate form, a currency):
 * they are not mentions, and count only for a story that names no country (classify_engine.c).
 *
 * Validation is strict so a typo never silently disables a rule: unknown keys, wrong types,
 * duplicate tag or entity names, empty phrases and phrases without any word, a '*' anywhere
 * but at the end, weights <= 0, min_score < 0, title_weight < 0, max_count <= 0, unknown
 * entities in groups, bad kinds, countries without a region, and tags that can never be given
 * (no `any` phrase but min_score > 0) are refused. The first problem found is reported with
 * the JSON path of the element ("$.tags[3].any[2].weight") and the reason.
 */
#include "classify_taxonomy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "classify_match.h"
#include "classify_text.h"

#define PATH_MAX_LEN   128
#define PHRASE_MAX_LEN 512

/* Reports an invalid element: sets c->err (path, printf-style reason), yields NP_EINVAL. */
#define FAIL(c, path, ...) np_err_set((c)->err, NP_EINVAL, (path), __VA_ARGS__)

/* Returns the code of expr from the calling function when it is not 0. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int try_rc_ = (expr);                                                                      \
        if (try_rc_ != 0) {                                                                        \
            return try_rc_;                                                                        \
        }                                                                                          \
    } while (0)

struct ctx {
    struct classify_tokens toks;
    struct np_err *err;
    struct classify_intern *entity_names; /* name -> index + 1 */
    struct classify_taxonomy *tx;
};

static const char *const kind_names[CLASSIFY_KIND_COUNT] = { "country", "organisation", "person",
                                                             "company" };

const char *classify_kind_name(enum classify_kind kind)
{
    return kind < CLASSIFY_KIND_COUNT ? kind_names[kind] : "unknown";
}

static int kind_from(const char *s, enum classify_kind *out)
{
    if (s == NULL) {
        return NP_EINVAL;
    }
    if (strcmp(s, "organization") == 0) {
        *out = CLASSIFY_KIND_ORGANISATION;
        return 0;
    }
    for (int k = 0; k < CLASSIFY_KIND_COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum classify_kind)k;
            return 0;
        }
    }
    return NP_EINVAL;
}

/* Writes parent, sep, tail and end into dst (PATH_MAX_LEN bytes), truncating. */
static void path_cat(char *dst, const char *parent, const char *sep, const char *tail,
                     const char *end)
{
    const char *parts[4] = { parent, sep, tail, end };
    size_t n = 0;

    for (size_t k = 0; k < 4; k++) {
        size_t m = strlen(parts[k]);
        if (m > PATH_MAX_LEN - 1 - n) {
            m = PATH_MAX_LEN - 1 - n;
        }
        memcpy(dst + n, parts[k], m);
        n += m;
    }
    dst[n] = '\0';
}

/* Writes parent[i] into dst (PATH_MAX_LEN bytes). */
static void path_index(char *dst, const char *parent, size_t i)
{
    char num[24];

    snprintf(num, sizeof(num), "%zu", i);
    path_cat(dst, parent, "[", num, "]");
}

static char *dup_str(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

/* Refuses keys of obj not in allowed (NULL-terminated). */
static int check_keys(struct ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key = NULL;
    json_t *v = NULL;

    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
            ok = strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            char p[PATH_MAX_LEN];
            path_cat(p, path, ".", key, "");
            return FAIL(c, p, "unknown key");
        }
    }
    return 0;
}

/* Reads an optional number member into *out (left as is when absent). */
static int get_number(struct ctx *c, json_t *obj, const char *key, const char *path, double *out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }
    if (!json_is_number(v)) {
        char p[PATH_MAX_LEN];
        path_cat(p, path, ".", key, "");
        return FAIL(c, p, "must be a number");
    }
    *out = json_number_value(v);
    return 0;
}

/* Reads a required non-empty string member; *out is borrowed from obj. */
static int get_string(struct ctx *c, json_t *obj, const char *key, const char *path,
                      const char **out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN];

    path_cat(p, path, ".", key, "");
    if (v == NULL) {
        return FAIL(c, p, "is required");
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return FAIL(c, p, "must be a non-empty string");
    }
    *out = json_string_value(v);
    return 0;
}

/* Joins the normalised (or surface) forms of the tokens of text with single spaces. */
static char *join_tokens(const struct classify_tokens *t, const char *text, bool surface)
{
    size_t cap = 0;
    size_t n = 0;

    for (size_t i = 0; i < t->len; i++) {
        cap += (surface ? t->tok[i].len : t->tok[i].norm_len) + 1;
    }
    char *s = malloc(cap + 1);
    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < t->len; i++) {
        if (i > 0) {
            s[n++] = ' ';
        }
        if (surface) {
            n += classify_token_surface(text, &t->tok[i], s + n, cap + 1 - n);
        } else {
            memcpy(s + n, classify_token_norm(t, i), t->tok[i].norm_len);
            n += t->tok[i].norm_len;
        }
    }
    s[n] = '\0';
    return s;
}

/* Normalises ph->text into ph->norm / ph->surface / ph->prefix / ph->n_words. */
static int normalise_phrase(struct ctx *c, struct classify_phrase *ph, const char *path)
{
    size_t len = strlen(ph->text);

    if (len > PHRASE_MAX_LEN) {
        return FAIL(c, path, "is longer than %d bytes", PHRASE_MAX_LEN);
    }
    if (ph->text[len - 1] == '*') {
        ph->prefix = true;
        len--;
    }
    if (memchr(ph->text, '*', len) != NULL) {
        return FAIL(c, path, "'*' is only allowed at the end of the last word");
    }
    if (classify_tokenize(&c->toks, ph->text, len) != 0) {
        return NP_ENOMEM;
    }
    if (c->toks.len == 0) {
        return FAIL(c, path, "does not contain any word (letters or digits)");
    }
    if (c->toks.len > CLASSIFY_PHRASE_WORDS_MAX) {
        return FAIL(c, path, "has more than %d words", CLASSIFY_PHRASE_WORDS_MAX);
    }
    const struct classify_token *last = &c->toks.tok[c->toks.len - 1];
    if (ph->prefix && last->off + last->len != len) {
        return FAIL(c, path, "'*' must directly follow a word");
    }
    ph->n_words = c->toks.len;
    ph->norm = join_tokens(&c->toks, ph->text, false);
    if (ph->norm == NULL) {
        return NP_ENOMEM;
    }
    if (ph->case_sensitive) {
        ph->surface = join_tokens(&c->toks, ph->text, true);
        if (ph->surface == NULL) {
            return NP_ENOMEM;
        }
    }
    return 0;
}

static const char *const phrase_keys[] = { "phrase", "weight", "case_sensitive", NULL };

static int parse_phrase(struct ctx *c, json_t *v, const char *path, struct classify_phrase *ph)
{
    char p[PATH_MAX_LEN];
    const char *text = NULL;

    ph->weight = 1.0;
    if (json_is_string(v)) {
        text = json_string_value(v);
        if (json_string_length(v) == 0) {
            return FAIL(c, path, "must not be empty");
        }
    } else if (json_is_object(v)) {
        TRY(check_keys(c, v, path, phrase_keys));
        TRY(get_string(c, v, "phrase", path, &text));
        TRY(get_number(c, v, "weight", path, &ph->weight));
        if (!(ph->weight > 0)) {
            path_cat(p, path, ".", "weight", "");
            return FAIL(c, p, "must be a positive number");
        }
        json_t *cs = json_object_get(v, "case_sensitive");
        if (cs != NULL && !json_is_boolean(cs)) {
            path_cat(p, path, ".", "case_sensitive", "");
            return FAIL(c, p, "must be true or false");
        }
        ph->case_sensitive = cs != NULL && json_is_true(cs);
    } else {
        return FAIL(c, path,
                    "must be a string or an object {\"phrase\", \"weight\", "
                    "\"case_sensitive\"}");
    }
    ph->text = dup_str(text);
    if (ph->text == NULL) {
        return NP_ENOMEM;
    }
    if (ph->case_sensitive) {
        path_cat(p, path, ".", "phrase", "");
        return normalise_phrase(c, ph, p);
    }
    return normalise_phrase(c, ph, path);
}

/* Parses an optional array of phrases obj[key]; with required it must exist and be non-empty. */
static int parse_phrases(struct ctx *c, json_t *obj, const char *key, const char *path,
                         bool required, struct classify_phrase_list *list)
{
    json_t *arr = json_object_get(obj, key);
    char p[PATH_MAX_LEN];

    path_cat(p, path, ".", key, "");
    if (arr == NULL) {
        return required ? FAIL(c, p, "is required") : 0;
    }
    if (!json_is_array(arr)) {
        return FAIL(c, p, "must be an array of phrases");
    }
    if (required && json_array_size(arr) == 0) {
        return FAIL(c, p, "must not be empty");
    }
    list->items = calloc(json_array_size(arr) + 1, sizeof(*list->items));
    if (list->items == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ip[PATH_MAX_LEN];
        path_index(ip, p, i);
        list->len = i + 1; /* so the item is freed whatever happens */
        TRY(parse_phrase(c, json_array_get(arr, i), ip, &list->items[i]));
    }
    return 0;
}

static const char *const entity_keys[] = { "name", "kind", "region", "aliases", "hints", NULL };

static int parse_entity(struct ctx *c, json_t *v, const char *path, size_t idx)
{
    struct classify_entity *e = &c->tx->entities[idx];
    const char *name = NULL;
    const char *kind = NULL;
    char p[PATH_MAX_LEN];
    uint32_t id = 0;
    bool added = false;

    if (!json_is_object(v)) {
        return FAIL(c, path, "must be an object");
    }
    TRY(check_keys(c, v, path, entity_keys));
    TRY(get_string(c, v, "name", path, &name));
    TRY(get_string(c, v, "kind", path, &kind));
    e->name = dup_str(name);
    if (e->name == NULL) {
        return NP_ENOMEM;
    }
    if (kind_from(kind, &e->kind) != 0) {
        path_cat(p, path, ".", "kind", "");
        return FAIL(c, p, "must be one of country, organisation, person, company");
    }
    json_t *region = json_object_get(v, "region");
    path_cat(p, path, ".", "region", "");
    if (region != NULL && (!json_is_string(region) || json_string_length(region) == 0)) {
        return FAIL(c, p, "must be a non-empty string");
    }
    if (region == NULL && e->kind == CLASSIFY_KIND_COUNTRY) {
        return FAIL(c, p, "is required for a country");
    }
    if (region != NULL) {
        e->region = dup_str(json_string_value(region));
        if (e->region == NULL) {
            return NP_ENOMEM;
        }
    }
    TRY(parse_phrases(c, v, "aliases", path, true, &e->aliases));
    TRY(parse_phrases(c, v, "hints", path, false, &e->hints));
    if (e->hints.len > 0 && e->kind != CLASSIFY_KIND_COUNTRY) {
        path_cat(p, path, ".", "hints", "");
        return FAIL(c, p, "only a country may have hints");
    }
    if (classify_intern_add(c->entity_names, name, strlen(name), (uint32_t)idx + 1, &id, &added) !=
        0) {
        return NP_ENOMEM;
    }
    if (!added) {
        path_cat(p, path, ".", "name", "");
        return FAIL(c, p, "duplicate entity name \"%s\" (also $.entities[%u])", name,
                    (unsigned)(id - 1));
    }
    return 0;
}

static const char *const group_keys[] = { "any", "entity", "about", "entity_kind", NULL };

static int parse_group(struct ctx *c, json_t *v, const char *path, struct classify_group *g)
{
    char p[PATH_MAX_LEN];
    const char *s = NULL;

    if (!json_is_object(v)) {
        return FAIL(c, path,
                    "must be an object {\"any\"}, {\"entity\"}, {\"about\"} or {\"entity_kind\"}");
    }
    TRY(check_keys(c, v, path, group_keys));
    if (json_object_size(v) != 1) {
        return FAIL(c, path,
                    "must have exactly one of \"any\", \"entity\", \"about\", \"entity_kind\"");
    }
    if (json_object_get(v, "any") != NULL) {
        g->type = CLASSIFY_GROUP_ANY;
        return parse_phrases(c, v, "any", path, true, &g->any);
    }
    if (json_object_get(v, "entity") != NULL || json_object_get(v, "about") != NULL) {
        const char *key = json_object_get(v, "entity") != NULL ? "entity" : "about";
        g->type = key[0] == 'e' ? CLASSIFY_GROUP_ENTITY : CLASSIFY_GROUP_ABOUT;
        TRY(get_string(c, v, key, path, &s));
        uint32_t id = s ? classify_intern_find(c->entity_names, s, strlen(s)) : 0;
        if (id == 0) {
            path_cat(p, path, ".", key, "");
            return FAIL(c, p, "unknown entity \"%s\"", s);
        }
        g->entity = id - 1;
        return 0;
    }
    g->type = CLASSIFY_GROUP_KIND;
    TRY(get_string(c, v, "entity_kind", path, &s));
    if (kind_from(s, &g->kind) != 0) {
        path_cat(p, path, ".", "entity_kind", "");
        return FAIL(c, p, "must be one of country, organisation, person, company");
    }
    return 0;
}

static int parse_groups(struct ctx *c, json_t *v, const char *path, struct classify_tag *t)
{
    json_t *arr = json_object_get(v, "all");
    char p[PATH_MAX_LEN];

    if (arr == NULL) {
        return 0;
    }
    path_cat(p, path, ".", "all", "");
    if (!json_is_array(arr)) {
        return FAIL(c, p, "must be an array of groups");
    }
    if (json_array_size(arr) > CLASSIFY_GROUPS_MAX) {
        return FAIL(c, p, "has more than %d groups", CLASSIFY_GROUPS_MAX);
    }
    t->all = calloc(json_array_size(arr) + 1, sizeof(*t->all));
    if (t->all == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ip[PATH_MAX_LEN];
        path_index(ip, p, i);
        t->n_all = i + 1;
        TRY(parse_group(c, json_array_get(arr, i), ip, &t->all[i]));
    }
    return 0;
}

static const char *const tag_keys[] = { "name", "min_score", "title_weight", "max_count",
                                        "any",  "all",       "none",         NULL };

static int check_tag_numbers(struct ctx *c, const struct classify_tag *t, const char *path)
{
    char p[PATH_MAX_LEN];

    if (!(t->min_score >= 0)) {
        path_cat(p, path, ".", "min_score", "");
        return FAIL(c, p, "must be a number >= 0");
    }
    if (!(t->title_weight >= 0)) {
        path_cat(p, path, ".", "title_weight", "");
        return FAIL(c, p, "must be a number >= 0");
    }
    if (!(t->max_count > 0)) {
        path_cat(p, path, ".", "max_count", "");
        return FAIL(c, p, "must be a positive number");
    }
    return 0;
}

static int parse_tag(struct ctx *c, json_t *v, const char *path, size_t idx,
                     struct classify_intern *names)
{
    struct classify_tag *t = &c->tx->tags[idx];
    const char *name = NULL;
    char p[PATH_MAX_LEN];
    uint32_t id = 0;
    bool added = false;

    if (!json_is_object(v)) {
        return FAIL(c, path, "must be an object");
    }
    t->min_score = 1.0;
    t->title_weight = 2.0;
    t->max_count = 3.0;
    TRY(check_keys(c, v, path, tag_keys));
    TRY(get_string(c, v, "name", path, &name));
    t->name = dup_str(name);
    if (t->name == NULL) {
        return NP_ENOMEM;
    }
    if (classify_intern_add(names, name, strlen(name), (uint32_t)idx + 1, &id, &added) != 0) {
        return NP_ENOMEM;
    }
    if (!added) {
        path_cat(p, path, ".", "name", "");
        return FAIL(c, p, "duplicate tag name \"%s\" (also $.tags[%u])", name, (unsigned)(id - 1));
    }
    TRY(get_number(c, v, "min_score", path, &t->min_score));
    TRY(get_number(c, v, "title_weight", path, &t->title_weight));
    TRY(get_number(c, v, "max_count", path, &t->max_count));
    TRY(check_tag_numbers(c, t, path));
    TRY(parse_phrases(c, v, "any", path, false, &t->any));
    TRY(parse_groups(c, v, path, t));
    TRY(parse_phrases(c, v, "none", path, false, &t->none));
    if (t->any.len == 0 && t->min_score > 0) {
        return FAIL(c, path, "can never be given: no \"any\" phrase but min_score > 0");
    }
    return 0;
}

/* Parses root[key], an array, calling fn on each element. */
static int parse_array(struct ctx *c, json_t *root, const char *key, size_t esz, void **items,
                       size_t *n, struct classify_intern *names)
{
    json_t *arr = json_object_get(root, key);
    char p[PATH_MAX_LEN];
    int rc = 0;

    path_cat(p, "$", ".", key, "");
    if (arr == NULL) {
        return FAIL(c, p, "is required");
    }
    if (!json_is_array(arr)) {
        return FAIL(c, p, "must be an array");
    }
    *items = calloc(json_array_size(arr) + 1, esz);
    if (*items == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char ip[PATH_MAX_LEN];
        path_index(ip, p, i);
        *n = i + 1;
        rc = names == NULL ? parse_entity(c, json_array_get(arr, i), ip, i)
                           : parse_tag(c, json_array_get(arr, i), ip, i, names);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

void classify_scoring_defaults(struct classify_scoring *sc)
{
    /* Without "scoring", tags are scored as before it existed: no lead bonus, no length scaling. */
    sc->lead_tokens = 40;
    sc->lead_bonus = 0.0;
    sc->reference_tokens = 80;
    sc->short_floor = 1.0;
    sc->about_min = 0.45;
    sc->share_tokens = 0.0;
    sc->relative_min = 0.0;
    sc->min_phrases = 1.0;
}

/* Reads an optional number member into *out (left as is when absent) and refuses it outside
 * [lo, hi] (hi INFINITY: no upper bound). */
static int get_ranged(struct ctx *c, json_t *obj, const char *key, const char *path, double lo,
                      double hi, double *out)
{
    char p[PATH_MAX_LEN];

    TRY(get_number(c, obj, key, path, out));
    if (*out >= lo && *out <= hi) {
        return 0;
    }
    path_cat(p, path, ".", key, "");
    if (hi == INFINITY) {
        return FAIL(c, p, "must be >= %g", lo);
    }
    return FAIL(c, p, "must be between %g and %g", lo, hi);
}

/* The optional settings object root.key (*out NULL when absent), with only the allowed keys. */
static int get_settings(struct ctx *c, json_t *root, const char *key, const char *path,
                        const char *const *allowed, json_t **out)
{
    *out = json_object_get(root, key);
    if (*out == NULL) {
        return 0;
    }
    if (!json_is_object(*out)) {
        return FAIL(c, path, "must be an object");
    }
    return check_keys(c, *out, path, allowed);
}

static const char *const scoring_keys[] = { "lead_tokens",  "lead_bonus",  "reference_tokens",
                                            "short_floor",  "about_min",   "share_tokens",
                                            "relative_min", "min_phrases", NULL };

static int parse_scoring(struct ctx *c, json_t *root, struct classify_scoring *sc)
{
    const char *path = "$.scoring";
    json_t *v = NULL;

    classify_scoring_defaults(sc);
    TRY(get_settings(c, root, "scoring", path, scoring_keys, &v));
    if (v == NULL) {
        return 0;
    }
    TRY(get_ranged(c, v, "lead_tokens", path, 1, INFINITY, &sc->lead_tokens));
    TRY(get_ranged(c, v, "lead_bonus", path, 0, INFINITY, &sc->lead_bonus));
    TRY(get_ranged(c, v, "reference_tokens", path, 1, INFINITY, &sc->reference_tokens));
    TRY(get_ranged(c, v, "short_floor", path, 0, 1, &sc->short_floor));
    TRY(get_ranged(c, v, "about_min", path, 0, 1, &sc->about_min));
    TRY(get_ranged(c, v, "share_tokens", path, 0, INFINITY, &sc->share_tokens));
    TRY(get_ranged(c, v, "relative_min", path, 0, 1, &sc->relative_min));
    return get_ranged(c, v, "min_phrases", path, 1, INFINITY, &sc->min_phrases);
}

static const char *const model_keys[] = { "file", "veto", "add", "sure", "add_slack", NULL };

static int parse_model(struct ctx *c, json_t *root, struct classify_model_policy *mp)
{
    const char *path = "$.model";
    const char *file = NULL;
    json_t *v = NULL;

    /* Without "model", a model's tags are added to the rules' and never remove one. */
    mp->veto = INFINITY;
    mp->add = 0.0;
    mp->sure = 0.0;
    mp->add_slack = INFINITY;
    TRY(get_settings(c, root, "model", path, model_keys, &v));
    if (v == NULL) {
        return 0;
    }
    TRY(get_ranged(c, v, "veto", path, 0, INFINITY, &mp->veto));
    TRY(get_ranged(c, v, "add", path, 0, INFINITY, &mp->add));
    mp->sure = mp->add;
    TRY(get_ranged(c, v, "sure", path, 0, INFINITY, &mp->sure));
    TRY(get_ranged(c, v, "add_slack", path, 0, INFINITY, &mp->add_slack));
    if (json_object_get(v, "file") != NULL) {
        TRY(get_string(c, v, "file", path, &file));
        mp->file = dup_str(file);
        if (mp->file == NULL) {
            return NP_ENOMEM;
        }
    }
    return 0;
}

static const char *const root_keys[] = { "version", "entities", "tags", "scoring", "model", NULL };

static int parse_root(struct ctx *c, json_t *root, struct classify_intern *tag_names)
{
    const char *version = NULL;

    TRY(check_keys(c, root, "$", root_keys));
    TRY(get_string(c, root, "version", "$", &version));
    c->tx->version = dup_str(version);
    if (c->tx->version == NULL) {
        return NP_ENOMEM;
    }
    TRY(parse_scoring(c, root, &c->tx->scoring));
    TRY(parse_model(c, root, &c->tx->model));
    /* Entities first: tags refer to them by name. */
    TRY(parse_array(c, root, "entities", sizeof(struct classify_entity), (void **)&c->tx->entities,
                    &c->tx->n_entities, NULL));
    return parse_array(c, root, "tags", sizeof(struct classify_tag), (void **)&c->tx->tags,
                       &c->tx->n_tags, tag_names);
}

int classify_taxonomy_parse(const char *text, size_t len, struct classify_taxonomy **out,
                            struct np_err *err)
{
    struct ctx c = { .err = err };
    struct classify_intern *tag_names = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    int rc = NP_ENOMEM;

    classify_tokens_init(&c.toks);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = np_err_set(err, NP_EPARSE, "$", "line %d column %d: %s", jerr.line, jerr.column,
                        jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = FAIL(&c, "$", "must be an object");
        goto out;
    }
    c.tx = calloc(1, sizeof(*c.tx));
    c.entity_names = classify_intern_new();
    tag_names = classify_intern_new();
    if (c.tx == NULL || c.entity_names == NULL || tag_names == NULL) {
        goto out;
    }
    rc = parse_root(&c, root, tag_names);
    if (rc != 0) {
        goto out;
    }
    *out = c.tx;
    c.tx = NULL;
    rc = 0;
out:
    if (rc == NP_ENOMEM) {
        np_err_set(err, NP_ENOMEM, "", "out of memory");
    }
    classify_taxonomy_destroy(&c.tx);
    classify_intern_destroy(&c.entity_names);
    classify_intern_destroy(&tag_names);
    classify_tokens_cleanup(&c.toks);
    json_decref(root);
    return rc;
}

static void free_phrases(struct classify_phrase_list *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].text);
        free(l->items[i].norm);
        free(l->items[i].surface);
    }
    free(l->items);
}

void classify_taxonomy_destroy(struct classify_taxonomy **tp)
{
    if (tp == NULL || *tp == NULL) {
        return;
    }
    struct classify_taxonomy *tx = *tp;
    free(tx->model.file);
    for (size_t i = 0; i < tx->n_entities; i++) {
        free(tx->entities[i].name);
        free(tx->entities[i].region);
        free_phrases(&tx->entities[i].aliases);
        free_phrases(&tx->entities[i].hints);
    }
    free(tx->entities);
    for (size_t i = 0; i < tx->n_tags; i++) {
        struct classify_tag *t = &tx->tags[i];
        free(t->name);
        free_phrases(&t->any);
        for (size_t g = 0; g < t->n_all; g++) {
            free_phrases(&t->all[g].any);
        }
        free(t->all);
        free_phrases(&t->none);
    }
    free(tx->tags);
    free(tx->version);
    free(tx);
    *tp = NULL;
}
