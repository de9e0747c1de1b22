/* classify_taxonomy.h - the taxonomy file of the rules classifier: loading and validation
 *
 * classify_taxonomy_parse() turns the JSON document into plain data and refuses a bad one with
 * the JSON path of the offending element; classify_engine.c compiles the result.
 */
#ifndef CLASSIFY_TAXONOMY_H
#define CLASSIFY_TAXONOMY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "np/err.h"

/* Most words in one phrase, and most `all` groups in one tag. */
#define CLASSIFY_PHRASE_WORDS_MAX (16)
#define CLASSIFY_GROUPS_MAX       (64)

enum classify_kind {
    CLASSIFY_KIND_COUNTRY,
    CLASSIFY_KIND_ORGANISATION,
    CLASSIFY_KIND_PERSON,
    CLASSIFY_KIND_COMPANY,
    CLASSIFY_KIND_COUNT
};

/* The name of a kind as written in output ("organisation"). Static string. */
const char *classify_kind_name(enum classify_kind kind);

/* One phrase (or alias) as written and as normalised. All strings owned. */
struct classify_phrase {
    char *text;    /* as written in the taxonomy */
    char *norm;    /* normalised words joined by single spaces, without the trailing '*' */
    char *surface; /* case_sensitive only: surface words (classify_token_surface) joined by
                      single spaces; else NULL */
    size_t n_words;
    double weight; /* default 1 */
    bool case_sensitive;
    bool prefix;      /* the last word ended in '*' */
    uint32_t pattern; /* filled in by the engine: its matcher pattern */
};

struct classify_phrase_list {
    struct classify_phrase *items; /* owned */
    size_t len;
};

enum classify_group_type {
    CLASSIFY_GROUP_ANY,
    CLASSIFY_GROUP_ENTITY,
    CLASSIFY_GROUP_ABOUT,
    CLASSIFY_GROUP_KIND
};

/* One `all` group. */
struct classify_group {
    enum classify_group_type type;
    struct classify_phrase_list any; /* CLASSIFY_GROUP_ANY */
    size_t entity;                   /* CLASSIFY_GROUP_ENTITY, _ABOUT: index in entities */
    enum classify_kind kind;         /* CLASSIFY_GROUP_KIND */
};

struct classify_entity {
    char *name;   /* owned */
    char *region; /* owned or NULL; always set for countries */
    enum classify_kind kind;
    struct classify_phrase_list aliases;
    struct classify_phrase_list hints; /* countries only; may be empty */
};

struct classify_tag {
    char *name; /* owned */
    double min_score;
    double title_weight;
    double max_count;
    struct classify_phrase_list any;
    struct classify_group *all; /* owned, n_all of them */
    size_t n_all;
    struct classify_phrase_list none;
};

/* Length and salience settings ("scoring" in the file; see classify_engine.c). */
struct classify_scoring {
    double lead_tokens;      /* the lead: this many first tokens of the first text field */
    double lead_bonus;       /* extra count of a phrase that occurs in the lead */
    double reference_tokens; /* text at least this long is scored against the full min_score */
    double short_floor;      /* shorter text: min_score x max(short_floor, sqrt(len / ref)) */
    double about_min;        /* a country with salience >= this is one the story is about */
    double share_tokens; /* the full share of mentions takes one per this many tokens (0: off) */
    double relative_min; /* a tag scoring under this x the article's top tag is dropped */
    double min_phrases;  /* distinct `any` phrases a tag needs when none is in the title */
};

void classify_scoring_defaults(struct classify_scoring *sc);

/* How the learned model (classify_model.c) and the rules combine ("model" in the file; see
 * classify_engine.c). */
struct classify_model_policy {
    char *file;  /* owned, or NULL: the model the taxonomy comes with, relative to its folder */
    double veto; /* a rule tag the model knows is dropped below -veto of margin (INFINITY: never) */
    double add;  /* a tag the rules do not give is added from this margin up (>= 0) */
    double sure; /* and a veto needs the model's best margin for the article this high (>= 0) */
    double add_slack; /* and keeps a margin of -add_slack without its strongest feature
                       * (INFINITY: unchecked) */
};

struct classify_taxonomy {
    char *version; /* owned */
    struct classify_scoring scoring;
    struct classify_model_policy model;
    struct classify_entity *entities;
    size_t n_entities;
    struct classify_tag *tags;
    size_t n_tags;
};

/*
 * Parses and validates a taxonomy document text[0..len). On success stores a new taxonomy in
 * *out (classify_taxonomy_destroy()) and returns 0. Otherwise returns NP_EPARSE (not JSON),
 * NP_EINVAL (invalid; err->field holds the JSON path such as "$.tags[3].any[2].weight" and
 * err->msg the reason) or NP_ENOMEM.
 */
int classify_taxonomy_parse(const char *text, size_t len, struct classify_taxonomy **out,
                            struct np_err *err);

/* Frees a taxonomy and sets *tp to NULL. Accepts NULL. */
void classify_taxonomy_destroy(struct classify_taxonomy **tp);

#endif /* CLASSIFY_TAXONOMY_H */
