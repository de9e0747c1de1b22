/* classify_engine.c - the rules classifier: taxonomy in, tags/entities/region out
 *
 * Load: classify_taxonomy.c parses and validates the file; every phrase of every tag (any,
 * all-group any, none) and every entity alias becomes a pattern - a sequence of token symbols -
 * in one Aho-Corasick automaton (classify_match.c). Identical phrases share a pattern; each
 * pattern keeps a list of uses (which tag or entity, which rule, which weight).
 *
 * Run, per article:
 * 1. The fields title, summary, body, background and insights (the scan order of the field
 *    table, np/article.h) are tokenised in that order
 *    (classify_text.c) and run through the automaton, one field at a time (a phrase never spans
 *    two fields). A token's symbol is found in the vocabulary hash; tokens in no phrase get
 *    symbol 0 and only break matches. When the taxonomy has wildcard phrases ("export*"), the
 *    prefixes a token starts with (precomputed for vocabulary words, a trie walk for the
 *    others) are fed as extra symbols that end patterns without moving the automaton.
 * 2. Each match of pattern p counts into p's per-article counters: n_title (occurrences in the
 *    title), n_text (elsewhere), and the field and byte offset of the first occurrence. A
 *    case-sensitive pattern first compares the surface form of the matched tokens: the original
 *    bytes without absorbed dots, so case-sensitive "US" matches "US" and "U.S." but not "us"
 *    or "Us". Matches overlap: in "crude oil", "crude" and "crude oil" both count
 *    (entity aliases: see below).
 * 3. Only patterns that matched are visited, and through them only the tags and entities they
 *    concern, so the cost of an article does not grow with the number of rules (except for
 *    tags with min_score 0, which are evaluated on every article).
 *
 * Semantics of a tag (the settings in the taxonomy's "scoring", classify_taxonomy.c):
 *   per `any` phrase: effective = min(n_text + title_weight * min(n_title, 1)
 *                                     + lead_bonus * min(n_lead, 1), max_count),
 *                     contribution = weight * effective;  score = sum of contributions.
 *   The lead is the first lead_tokens tokens of the first non-empty field after the title.
 *   The tag is given when score >= min_score x length_factor, where length_factor =
 *   max(short_floor, sqrt(text tokens / reference_tokens)) below reference_tokens tokens of
 *   text outside the title, else 1 (so a headline-only article is scored against
 *   short_floor x min_score, from its title); every `all` group is satisfied (an `any` group:
 *   one of its phrases occurs in any field; an `entity` group: that entity is mentioned; an
 *   `about` group: it is mentioned and the story is about it (salience below); an
 *   `entity_kind` group: some entity of that kind is mentioned) and no `none` phrase occurs in
 *   any field; at least min_phrases distinct `any` phrases matched, unless one of them occurs
 *   in the title or min_score is 0; and its score is at least relative_min x the score of
 *   the strongest tag given to the article. Evidence: each matched `any` phrase as written,
 *   the first field it occurs in, its total count (title occurrences uncapped) and the byte
 *   offset of its first occurrence in that field of the original text; at most 10 per tag,
 *   highest contribution first.
 * Entities: mentions = occurrences of its aliases in all fields, where an alias match inside a
 * longer alias match of an entity of the same kind does not count ("Port of Spain" is Trinidad
 * and Tobago, not Spain; "New Delhi" is one mention of India, not two with "Delhi") and alias
 * matches that overlap an already counted one starting at the same or a later token count once
 * (see mention()); reported when mentions >= 1. Each gets a salience in [0, 1] = 0.35 [in the
 * title] + 0.25 [in the lead] + 0.15 [a mention opens the lead: a dateline] + 0.5 x mentions /
 * mentions of the most mentioned entity of its kind (at least min(2, text tokens /
 * share_tokens): see salience()), and `about` when salience >= about_min. When no country is
 * mentioned, a country's hints (phrases such as a corporate form or a currency,
 * classify_taxonomy.c) name the country the story is about: the one with the most hint matches
 * is reported with mentions 0, salience 0 and about true. Region: the regions of the countries
 * the story is about; one region gives that region, several give "Global", none gives null.
 * Tags are ordered by score descending, entities by mentions descending, ties in taxonomy order
 * (a hinted country last).
 *
 * With a learned model (classify_model.c, classify_engine_set_model()), which reads the same
 * tokens, the taxonomy's "model" policy combines the two: a rule tag the model knows and scores
 * more than model.veto below its threshold is dropped before the ranking above, when the
 * model's best margin for the article reaches model.sure (a model that cannot read an article
 * has no say on it); a taxonomy tag the rules did not give is added from a margin of
 * model.add, and only when it does not rest on one feature: without its strongest feature's
 * contribution the margin stays above -model.add_slack (a dividend of Louisville Gas and
 * Electric, where the word "gas" carries Natural Gas, is not a gas story); the model's tags the
 * taxonomy lacks keep the model's thresholds. This design (and what it was measured against)
 * is README's "Rules and model together".
 */
#include "classify_engine.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_match.h"
#include "classify_model.h"
#include "classify_taxonomy.h"
#include "classify_text.h"
#include "np/buf.h"

#define EVIDENCE_MAX      (10)
#define WILDCARDS_MAX     (16) /* wildcard prefixes one token can extend */
#define TAXONOMY_FILE_MAX ((size_t)64 * 1024 * 1024)

enum use_kind {
    USE_ALIAS,
    USE_ANY,
    USE_GROUP,
    USE_NONE,
    USE_HINT
};

/* One use of a pattern by a rule. */
struct use {
    double weight;  /* USE_ANY */
    uint32_t owner; /* entity (USE_ALIAS, USE_HINT) or tag index */
    uint32_t item;  /* USE_ANY: index in the tag's any list */
    uint8_t kind;   /* enum use_kind */
    uint8_t group;  /* USE_GROUP: index in the tag's all list */
};

struct pattern {
    uint32_t n_words;
    bool prefix;
    const char *surface; /* borrowed from the taxonomy; NULL when case-insensitive */
    uint32_t use_off;
    uint32_t use_n;
    bool has_alias; /* some use is an entity alias */
};

/* Per-article counters; valid when stamp equals the engine's generation. */
struct pstat {
    uint32_t stamp;
    uint32_t n_text;
    uint32_t n_title;
    uint32_t n_lead; /* occurrences in the lead (also counted in n_text) */
    uint32_t first_off;
    uint32_t first_field;
};

struct tstat {
    uint32_t stamp;
    bool veto;
    bool in_title;   /* one of its matched `any` phrases occurs in the title */
    uint32_t n_any;  /* distinct `any` phrases matched */
    uint64_t groups; /* bit g: any-group g matched */
    double score;
};

struct estat {
    uint32_t stamp;
    uint32_t mentions;
    uint64_t last; /* field << 32 | start token of the last counted mention */
    bool in_title;
    bool in_lead;
    bool dateline; /* a mention opens the lead: "WASHINGTON, Sept 20 -" */
    bool about;
    double salience;
};

/* Hint counts of a country (see classify_taxonomy.c); valid when stamp is the generation. */
struct hstat {
    uint32_t stamp;
    uint32_t count;
};

struct rank {
    double key;
    uint32_t idx;
};

/* A match of an entity alias in the field being scanned, held until the field is read. */
struct alias_match {
    uint32_t pat;
    uint32_t start; /* first and last token */
    uint32_t end;
    bool lead;
};

/* A JSON string literal, quotes included. */
struct jstr {
    char *s;
    size_t n;
};

struct classify_engine {
    struct classify_taxonomy *tx; /* owned */
    char *classifier;             /* owned: "rules/<version>" */
    struct classify_intern *vocab;
    struct classify_prefixes *prefixes;
    struct classify_ac *ac;
    uint32_t n_syms;
    uint32_t *wc_off; /* per symbol: its wildcard prefixes in wc_items */
    uint32_t *wc_n;
    uint32_t *wc_items;
    struct pattern *patterns;
    size_t n_patterns;
    struct use *uses;
    uint32_t *always; /* tags with min_score 0 */
    size_t n_always;

    /*
     * Output strings, each already a quoted, escaped JSON string, made once at load: writing
     * a result is then mostly memcpy.
     */
    struct jstr *j_tag; /* per tag: its name */
    struct jstr *j_any; /* per tag any phrase, flat: its text; tag t starts at j_any_off[t] */
    size_t *j_any_off;
    struct jstr *j_entity; /* per entity: its name */
    struct jstr *j_region; /* per entity: its region (s NULL when none) */
    struct jstr j_kind[CLASSIFY_KIND_COUNT];
    struct jstr j_field[NP_FIELD_SCANNED];
    struct jstr j_global;
    struct jstr j_classifier;
    size_t n_given;               /* tags given by the last run, ranked in touched_t[0..n_given) */
    struct classify_model *model; /* borrowed, or NULL: the learned tagger (classify_model.c) */
    int32_t *model_tag;           /* per tag, the model's index of it (-1: the model lacks it) */
    char *model_file;             /* the taxonomy's model, resolved against its folder, or NULL */

    /* Scratch, reused between articles. */
    struct classify_tokens toks;
    uint32_t gen;
    struct pstat *ps;
    uint32_t *touched_p;
    size_t n_touched_p;
    struct tstat *ts;
    uint32_t *touched_t;
    size_t n_touched_t;
    struct estat *es;
    uint32_t *touched_e;
    size_t n_touched_e;
    struct hstat *hs;
    struct alias_match *am; /* the field's alias matches, in the order they ended */
    size_t n_am;
    size_t am_cap;
    bool oom;                 /* this article's scratch could not grow */
    uint32_t alias_words_max; /* the longest alias, in tokens */
    int64_t hint_best;        /* country with the most hint matches in this article, or -1 */
    uint32_t lead_field;      /* the first text field after the title (NP_FIELD_SCANNED: none) */
    size_t text_tokens;       /* tokens outside the title */
    double length_factor;     /* min_score multiplier for this article's length */
    struct rank *rank;        /* max(tags, entities, longest any list) */
};

/* The field classify reads f-th (f from 0): the field table's scan order (np/article.h). */
static enum np_field scanned_field(uint32_t f)
{
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        if (np_article_fields[i].scan == (int)f + 1) {
            return (enum np_field)i;
        }
    }
    return NP_FIELD_COUNT; /* unreachable: scan numbers 1..NP_FIELD_SCANNED are all used */
}

/* ---- compiling ---- */

/* A phrase of the taxonomy with the use it stands for. */
struct ref {
    struct classify_phrase *ph;
    struct use use;
};

struct builder {
    struct ref *refs;
    size_t n_refs;
    size_t cap_refs;
    struct classify_intern *keys; /* pattern key -> pattern index + 1 */
    char **words;                 /* symbol -> vocabulary word (NULL for prefix symbols) */
    size_t words_cap;
    size_t patterns_cap;
};

static int add_ref(struct builder *b, struct classify_phrase *ph, struct use u)
{
    if (b->n_refs == b->cap_refs) {
        size_t cap = b->cap_refs ? b->cap_refs * 2 : 256;
        struct ref *r = realloc(b->refs, cap * sizeof(*r));
        if (r == NULL) {
            return NP_ENOMEM;
        }
        b->refs = r;
        b->cap_refs = cap;
    }
    b->refs[b->n_refs].ph = ph;
    b->refs[b->n_refs].use = u;
    b->n_refs++;
    return 0;
}

static int add_refs(struct builder *b, struct classify_phrase_list *l, struct use u)
{
    for (size_t i = 0; i < l->len; i++) {
        u.item = (uint32_t)i;
        u.weight = l->items[i].weight;
        if (add_ref(b, &l->items[i], u) != 0) {
            return NP_ENOMEM;
        }
    }
    return 0;
}

static int collect_refs(struct classify_engine *e, struct builder *b)
{
    struct classify_taxonomy *tx = e->tx;

    for (size_t i = 0; i < tx->n_entities; i++) {
        struct use u = { .kind = USE_ALIAS, .owner = (uint32_t)i };
        struct use uh = { .kind = USE_HINT, .owner = (uint32_t)i };
        if (add_refs(b, &tx->entities[i].aliases, u) != 0 ||
            add_refs(b, &tx->entities[i].hints, uh) != 0) {
            return NP_ENOMEM;
        }
    }
    for (size_t i = 0; i < tx->n_tags; i++) {
        struct classify_tag *t = &tx->tags[i];
        struct use u = { .kind = USE_ANY, .owner = (uint32_t)i };
        if (add_refs(b, &t->any, u) != 0) {
            return NP_ENOMEM;
        }
        for (size_t g = 0; g < t->n_all; g++) {
            struct use ug = { .kind = USE_GROUP, .owner = (uint32_t)i, .group = (uint8_t)g };
            if (t->all[g].type == CLASSIFY_GROUP_ANY && add_refs(b, &t->all[g].any, ug) != 0) {
                return NP_ENOMEM;
            }
        }
        struct use un = { .kind = USE_NONE, .owner = (uint32_t)i };
        if (add_refs(b, &t->none, un) != 0) {
            return NP_ENOMEM;
        }
    }
    return 0;
}

/* Records word w of symbol sym, for the wildcard lists of vocabulary words. */
static int note_word(struct builder *b, uint32_t sym, const char *w, size_t n)
{
    if (sym >= b->words_cap) {
        size_t cap = b->words_cap ? b->words_cap * 2 : 1024;
        while (cap <= sym) {
            cap *= 2;
        }
        char **p = realloc(b->words, cap * sizeof(*p));
        if (p == NULL) {
            return NP_ENOMEM;
        }
        memset(p + b->words_cap, 0, (cap - b->words_cap) * sizeof(*p));
        b->words = p;
        b->words_cap = cap;
    }
    if (w != NULL) {
        b->words[sym] = malloc(n + 1);
        if (b->words[sym] == NULL) {
            return NP_ENOMEM;
        }
        memcpy(b->words[sym], w, n);
        b->words[sym][n] = '\0';
    }
    return 0;
}

/* Turns the normalised phrase into symbols, interning new words and prefixes. */
static int phrase_symbols(struct classify_engine *e, struct builder *b,
                          const struct classify_phrase *ph, uint32_t *syms)
{
    const char *w = ph->norm;

    for (size_t k = 0; k < ph->n_words; k++) {
        const char *end = strchr(w, ' ');
        size_t n = end ? (size_t)(end - w) : strlen(w);
        uint32_t id = 0;
        bool added = false;
        int rc = 0;

        if (ph->prefix && k + 1 == ph->n_words) {
            size_t before = classify_prefixes_count(e->prefixes);
            rc = classify_prefixes_add(e->prefixes, w, n, e->n_syms + 1, &id);
            added = classify_prefixes_count(e->prefixes) != before;
            if (rc == 0 && added) {
                rc = note_word(b, id, NULL, 0);
            }
        } else {
            rc = classify_intern_add(e->vocab, w, n, e->n_syms + 1, &id, &added);
            if (rc == 0 && added) {
                rc = note_word(b, id, w, n);
            }
        }
        if (rc != 0) {
            return NP_ENOMEM;
        }
        if (added) {
            e->n_syms++;
        }
        syms[k] = id;
        w += n + 1;
    }
    return 0;
}

/* Finds or creates the pattern of phrase ph; stores its index in ph->pattern. */
static int intern_pattern(struct classify_engine *e, struct builder *b, struct classify_phrase *ph)
{
    size_t nlen = strlen(ph->norm);
    size_t slen = ph->surface ? strlen(ph->surface) : 0;
    char *key = malloc(nlen + slen + 4);
    uint32_t syms[CLASSIFY_PHRASE_WORDS_MAX];
    uint32_t id = 0;
    bool added = false;
    int rc = NP_ENOMEM;

    if (key == NULL) {
        return NP_ENOMEM;
    }
    key[0] = ph->prefix ? '*' : '=';
    memcpy(key + 1, ph->norm, nlen);
    key[nlen + 1] = '\x01';
    if (slen > 0) {
        memcpy(key + nlen + 2, ph->surface, slen);
    }
    if (classify_intern_add(b->keys, key, nlen + slen + 2, (uint32_t)e->n_patterns + 1, &id,
                            &added) != 0) {
        goto out;
    }
    ph->pattern = id - 1;
    if (!added) {
        rc = 0;
        goto out;
    }
    if (e->n_patterns == b->patterns_cap) {
        size_t cap = b->patterns_cap ? b->patterns_cap * 2 : 256;
        struct pattern *p = realloc(e->patterns, cap * sizeof(*p));
        if (p == NULL) {
            goto out;
        }
        e->patterns = p;
        b->patterns_cap = cap;
    }
    struct pattern *pat = &e->patterns[e->n_patterns++];
    memset(pat, 0, sizeof(*pat));
    pat->n_words = (uint32_t)ph->n_words;
    pat->prefix = ph->prefix;
    pat->surface = ph->surface;
    if (phrase_symbols(e, b, ph, syms) != 0 ||
        classify_ac_add(e->ac, syms, ph->n_words, ph->pattern) != 0) {
        goto out;
    }
    rc = 0;
out:
    free(key);
    return rc;
}

/* Groups the uses by pattern: uses[patterns[p].use_off ..] belong to p. */
static int sort_uses(struct classify_engine *e, const struct builder *b)
{
    e->uses = malloc((b->n_refs + 1) * sizeof(*e->uses));
    if (e->uses == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < b->n_refs; i++) {
        e->patterns[b->refs[i].ph->pattern].use_n++;
    }
    uint32_t off = 0;
    for (size_t p = 0; p < e->n_patterns; p++) {
        e->patterns[p].use_off = off;
        off += e->patterns[p].use_n;
        e->patterns[p].use_n = 0;
    }
    for (size_t i = 0; i < b->n_refs; i++) {
        struct pattern *pat = &e->patterns[b->refs[i].ph->pattern];
        e->uses[pat->use_off + pat->use_n++] = b->refs[i].use;
        if (b->refs[i].use.kind == USE_ALIAS) {
            pat->has_alias = true;
            if (pat->n_words > e->alias_words_max) {
                e->alias_words_max = pat->n_words;
            }
        }
    }
    return 0;
}

/* For every vocabulary word, the wildcard prefixes it extends. */
static int wildcard_lists(struct classify_engine *e, const struct builder *b)
{
    size_t n = (size_t)e->n_syms + 1;
    size_t total = 0;
    size_t cap = 256;
    uint32_t ids[WILDCARDS_MAX];

    e->wc_off = calloc(n, sizeof(*e->wc_off));
    e->wc_n = calloc(n, sizeof(*e->wc_n));
    e->wc_items = malloc(cap * sizeof(*e->wc_items));
    if (e->wc_off == NULL || e->wc_n == NULL || e->wc_items == NULL) {
        return NP_ENOMEM;
    }
    for (size_t s = 1; s < n && s < b->words_cap; s++) {
        if (b->words[s] == NULL) {
            continue;
        }
        size_t k = classify_prefixes_find(e->prefixes, b->words[s], strlen(b->words[s]), ids,
                                          WILDCARDS_MAX);
        if (total + k > cap) {
            cap = (total + k) * 2;
            uint32_t *p = realloc(e->wc_items, cap * sizeof(*p));
            if (p == NULL) {
                return NP_ENOMEM;
            }
            e->wc_items = p;
        }
        e->wc_off[s] = (uint32_t)total;
        e->wc_n[s] = (uint32_t)k;
        memcpy(e->wc_items + total, ids, k * sizeof(*ids));
        total += k;
    }
    return 0;
}

static int alloc_scratch(struct classify_engine *e)
{
    const struct classify_taxonomy *tx = e->tx;
    size_t nr = tx->n_tags > tx->n_entities ? tx->n_tags : tx->n_entities;

    for (size_t i = 0; i < tx->n_tags; i++) {
        if (tx->tags[i].any.len > nr) {
            nr = tx->tags[i].any.len;
        }
        if (tx->tags[i].min_score <= 0) {
            e->always[e->n_always++] = (uint32_t)i;
        }
    }
    e->ps = calloc(e->n_patterns + 1, sizeof(*e->ps));
    e->touched_p = malloc((e->n_patterns + 1) * sizeof(*e->touched_p));
    e->ts = calloc(tx->n_tags + 1, sizeof(*e->ts));
    e->touched_t = malloc((tx->n_tags + 1) * sizeof(*e->touched_t));
    e->es = calloc(tx->n_entities + 1, sizeof(*e->es));
    e->hs = calloc(tx->n_entities + 1, sizeof(*e->hs));
    e->touched_e = malloc((tx->n_entities + 1) * sizeof(*e->touched_e));
    e->rank = malloc((nr + 1) * sizeof(*e->rank));
    if (e->ps == NULL || e->touched_p == NULL || e->ts == NULL || e->touched_t == NULL ||
        e->es == NULL || e->hs == NULL || e->touched_e == NULL || e->rank == NULL) {
        return NP_ENOMEM;
    }
    return 0;
}

static int compile(struct classify_engine *e)
{
    struct builder b = { 0 };
    int rc = NP_ENOMEM;

    e->vocab = classify_intern_new();
    e->prefixes = classify_prefixes_new();
    e->ac = classify_ac_new();
    b.keys = classify_intern_new();
    e->always = malloc((e->tx->n_tags + 1) * sizeof(*e->always));
    if (e->vocab == NULL || e->prefixes == NULL || e->ac == NULL || b.keys == NULL ||
        e->always == NULL || collect_refs(e, &b) != 0) {
        goto out;
    }
    for (size_t i = 0; i < b.n_refs; i++) {
        if (intern_pattern(e, &b, b.refs[i].ph) != 0) {
            goto out;
        }
    }
    if (sort_uses(e, &b) != 0 || classify_ac_compile(e->ac, e->n_syms) != 0 ||
        wildcard_lists(e, &b) != 0 || alloc_scratch(e) != 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < b.words_cap; i++) {
        free(b.words[i]);
    }
    free(b.words);
    free(b.refs);
    classify_intern_destroy(&b.keys);
    return rc;
}

static void make_jstr(struct jstr *j, const char *s, bool *ok)
{
    struct np_buf o = { 0 };

    np_json_out_string(&o, s, strlen(s));
    j->s = o.p;
    j->n = o.len;
    *ok = *ok && !o.failed;
}

static int make_strings(struct classify_engine *e)
{
    const struct classify_taxonomy *tx = e->tx;
    size_t n_any = 0;
    bool ok = true;

    e->j_tag = calloc(tx->n_tags + 1, sizeof(*e->j_tag));
    e->j_any_off = calloc(tx->n_tags + 1, sizeof(*e->j_any_off));
    e->j_entity = calloc(tx->n_entities + 1, sizeof(*e->j_entity));
    e->j_region = calloc(tx->n_entities + 1, sizeof(*e->j_region));
    for (size_t t = 0; t < tx->n_tags && e->j_any_off != NULL; t++) {
        e->j_any_off[t] = n_any;
        n_any += tx->tags[t].any.len;
    }
    e->j_any = calloc(n_any + 1, sizeof(*e->j_any));
    if (e->j_tag == NULL || e->j_any_off == NULL || e->j_entity == NULL || e->j_region == NULL ||
        e->j_any == NULL) {
        return NP_ENOMEM;
    }
    for (size_t t = 0; t < tx->n_tags; t++) {
        make_jstr(&e->j_tag[t], tx->tags[t].name, &ok);
        for (size_t i = 0; i < tx->tags[t].any.len; i++) {
            make_jstr(&e->j_any[e->j_any_off[t] + i], tx->tags[t].any.items[i].text, &ok);
        }
    }
    for (size_t i = 0; i < tx->n_entities; i++) {
        make_jstr(&e->j_entity[i], tx->entities[i].name, &ok);
        if (tx->entities[i].region != NULL) {
            make_jstr(&e->j_region[i], tx->entities[i].region, &ok);
        }
    }
    for (int k = 0; k < CLASSIFY_KIND_COUNT; k++) {
        make_jstr(&e->j_kind[k], classify_kind_name((enum classify_kind)k), &ok);
    }
    for (int f = 0; f < NP_FIELD_SCANNED; f++) {
        make_jstr(&e->j_field[f], np_article_fields[scanned_field((uint32_t)f)].name, &ok);
    }
    make_jstr(&e->j_global, "Global", &ok);
    make_jstr(&e->j_classifier, e->classifier, &ok);
    return ok ? 0 : NP_ENOMEM;
}

static void free_strings(struct classify_engine *e)
{
    for (size_t t = 0; e->j_tag != NULL && t < e->tx->n_tags; t++) {
        free(e->j_tag[t].s);
        for (size_t i = 0; e->j_any != NULL && i < e->tx->tags[t].any.len; i++) {
            free(e->j_any[e->j_any_off[t] + i].s);
        }
    }
    for (size_t i = 0; e->j_entity != NULL && i < e->tx->n_entities; i++) {
        free(e->j_entity[i].s);
        free(e->j_region[i].s);
    }
    free(e->j_tag);
    free(e->j_any);
    free(e->j_any_off);
    free(e->j_entity);
    free(e->j_region);
    for (int k = 0; k < CLASSIFY_KIND_COUNT; k++) {
        free(e->j_kind[k].s);
    }
    for (int f = 0; f < NP_FIELD_SCANNED; f++) {
        free(e->j_field[f].s);
    }
    free(e->j_global.s);
    free(e->j_classifier.s);
}

struct classify_engine *classify_engine_load_json(const char *text, size_t len, struct np_err *err)
{
    struct classify_engine *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        np_err_set(err, NP_ENOMEM, "", "out of memory");
        return NULL;
    }
    classify_tokens_init(&e->toks);
    if (classify_taxonomy_parse(text, len, &e->tx, err) != 0) {
        classify_engine_destroy(&e);
        return NULL;
    }
    size_t vlen = strlen(e->tx->version);
    e->classifier = malloc(vlen + 7);
    if (e->classifier != NULL) {
        memcpy(e->classifier, "rules/", 6);
        memcpy(e->classifier + 6, e->tx->version, vlen + 1);
    }
    e->model_tag = calloc(e->tx->n_tags + 1, sizeof(*e->model_tag));
    if (e->classifier == NULL || e->model_tag == NULL || compile(e) != 0 || make_strings(e) != 0) {
        np_err_set(err, NP_ENOMEM, "", "out of memory");
        classify_engine_destroy(&e);
        return NULL;
    }
    return e;
}

/* Reads a whole file into a new buffer (free()). */
static int read_file(const char *path, char **out, size_t *len, struct np_err *err)
{
    FILE *f = fopen(path, "rb");
    struct np_buf b = { 0 };
    int rc = NP_EIO;

    if (f == NULL) {
        return np_err_set(err, NP_EIO, "", "cannot open taxonomy \"%s\": %s", path,
                          strerror(errno));
    }
    for (;;) {
        size_t got = 0;

        if (!np_buf_reserve(&b, 65536)) {
            rc = np_err_set(err, NP_ENOMEM, "", "out of memory");
            goto out;
        }
        got = fread(b.p + b.len, 1, 65536, f);
        b.len += got;
        if (got == 0) {
            break;
        }
        if (b.len > TAXONOMY_FILE_MAX) {
            rc = np_err_set(err, NP_ETOOBIG, "", "taxonomy \"%s\" is larger than %ld bytes", path,
                            (long)TAXONOMY_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = np_err_set(err, NP_EIO, "", "cannot read taxonomy \"%s\"", path);
        goto out;
    }
    *out = b.p;
    *len = b.len;
    b.p = NULL;
    rc = 0;
out:
    np_buf_cleanup(&b);
    fclose(f);
    return rc;
}

struct classify_engine *classify_engine_load(const char *path, struct np_err *err)
{
    char *text = NULL;
    size_t len = 0;

    if (read_file(path, &text, &len, err) != 0) {
        return NULL;
    }
    struct classify_engine *e = classify_engine_load_json(text, len, err);
    free(text);
    if (e != NULL && e->tx->model.file != NULL) {
        /* The taxonomy's model file is named relative to the taxonomy's folder. */
        const char *file = e->tx->model.file;
        const char *slash = strrchr(path, '/');
        size_t dir = file[0] == '/' || slash == NULL ? 0 : (size_t)(slash - path) + 1;

        e->model_file = malloc(dir + strlen(file) + 1);
        if (e->model_file == NULL) {
            np_err_set(err, NP_ENOMEM, "", "out of memory");
            classify_engine_destroy(&e);
            return NULL;
        }
        memcpy(e->model_file, path, dir);
        memcpy(e->model_file + dir, file, strlen(file) + 1);
    }
    return e;
}

const char *classify_engine_model_path(const struct classify_engine *e, const char *configured)
{
    if (configured != NULL && strcmp(configured, "none") == 0) {
        return NULL;
    }
    return configured != NULL && configured[0] != '\0' ? configured : e->model_file;
}

void classify_engine_stats(const struct classify_engine *e, struct classify_engine_stats *st)
{
    st->tags = e->tx->n_tags;
    st->entities = e->tx->n_entities;
    st->phrases = e->n_patterns;
    st->states = classify_ac_states(e->ac);
}

void classify_engine_destroy(struct classify_engine **ep)
{
    if (ep == NULL || *ep == NULL) {
        return;
    }
    struct classify_engine *e = *ep;
    if (e->tx != NULL) {
        free_strings(e);
    }
    classify_taxonomy_destroy(&e->tx);
    free(e->classifier);
    free(e->model_tag);
    free(e->model_file);
    classify_intern_destroy(&e->vocab);
    classify_prefixes_destroy(&e->prefixes);
    classify_ac_destroy(&e->ac);
    free(e->wc_off);
    free(e->wc_n);
    free(e->wc_items);
    free(e->patterns);
    free(e->uses);
    free(e->always);
    classify_tokens_cleanup(&e->toks);
    free(e->ps);
    free(e->touched_p);
    free(e->ts);
    free(e->touched_t);
    free(e->es);
    free(e->hs);
    free(e->touched_e);
    free(e->am);
    free(e->rank);
    free(e);
    *ep = NULL;
}

/* ---- matching ---- */

/* True when the tokens from start on have the surface words of a case-sensitive pattern. */
static bool surface_ok(const struct classify_engine *e, const char *text, size_t start,
                       const struct pattern *pat)
{
    const char *w = pat->surface;

    for (uint32_t k = 0; k < pat->n_words; k++) {
        const char *end = strchr(w, ' ');
        size_t n = end ? (size_t)(end - w) : strlen(w);
        bool prefix = pat->prefix && k + 1 == pat->n_words;
        if (!classify_token_surface_eq(text, &e->toks.tok[start + k], w, n, prefix)) {
            return false;
        }
        w += n + 1;
    }
    return true;
}

/*
 * True when a longer alias of an entity of kind `kind` spans the held match am[j]. Of another
 * entity: "Port of Spain" (Trinidad and Tobago) is not a mention of Spain, nor "South Sudan"
 * of Sudan. Of the same one: "New Delhi" is one mention of India, not two with "Delhi". Its
 * containers end at or after its last token and within alias_words_max tokens of its first,
 * and the held matches are in the order they ended, so only its neighbours are read. Across
 * kinds both count: "Bank of Japan" is a mention of the bank and of Japan.
 */
static bool spanned(const struct classify_engine *e, size_t j, enum classify_kind kind)
{
    const struct alias_match *m = &e->am[j];
    size_t k = j;

    while (k > 0 && e->am[k - 1].end == m->end) {
        k--;
    }
    for (; k < e->n_am && e->am[k].end < m->start + e->alias_words_max; k++) {
        const struct alias_match *l = &e->am[k];
        if (l->start > m->start || l->end - l->start <= m->end - m->start) {
            continue;
        }
        const struct pattern *pat = &e->patterns[l->pat];
        for (uint32_t u = 0; u < pat->use_n; u++) {
            const struct use *use = &e->uses[pat->use_off + u];
            if (use->kind == USE_ALIAS && e->tx->entities[use->owner].kind == kind) {
                return true;
            }
        }
    }
    return false;
}

/*
 * Counts the held match am[j] as a mention of the entities its pattern is an alias of, unless
 * a longer alias of an entity of that kind spans it (spanned()), or it starts at or before the
 * last mention counted for that entity: matches come in order of their last token, so such a
 * match overlaps a counted one ("U.S." matching both "u.s." and case-sensitive "US") and
 * counts once.
 */
static void mention(struct classify_engine *e, size_t j, uint32_t field)
{
    const struct alias_match *m = &e->am[j];
    const struct pattern *pat = &e->patterns[m->pat];
    uint64_t key = ((uint64_t)field << 32) | (uint64_t)m->start;

    for (uint32_t k = 0; k < pat->use_n; k++) {
        const struct use *u = &e->uses[pat->use_off + k];
        if (u->kind != USE_ALIAS || spanned(e, j, e->tx->entities[u->owner].kind)) {
            continue;
        }
        struct estat *es = &e->es[u->owner];
        if (es->stamp != e->gen) {
            es->stamp = e->gen;
            es->mentions = 0;
            es->last = key;
            es->in_title = false;
            es->in_lead = false;
            es->dateline = false;
            e->touched_e[e->n_touched_e++] = u->owner;
        } else if (key <= es->last) {
            continue;
        }
        es->mentions++;
        es->last = key;
        es->in_title = es->in_title || field == 0;
        es->in_lead = es->in_lead || m->lead;
        es->dateline = es->dateline || (m->lead && m->start == 0);
    }
}

/* Holds an alias match until its field is read (see mention()). */
static void hold_alias(struct classify_engine *e, uint32_t p, size_t start, size_t end, bool lead)
{
    if (e->n_am == e->am_cap) {
        size_t cap = e->am_cap ? e->am_cap * 2 : 64;
        struct alias_match *am = realloc(e->am, cap * sizeof(*am));
        if (am == NULL) {
            e->oom = true;
            return;
        }
        e->am = am;
        e->am_cap = cap;
    }
    e->am[e->n_am++] = (struct alias_match){
        .pat = p, .start = (uint32_t)start, .end = (uint32_t)end, .lead = lead
    };
}

static void report(struct classify_engine *e, const uint32_t *pats, size_t n, size_t i,
                   uint32_t field, const char *text)
{
    for (size_t k = 0; k < n; k++) {
        uint32_t p = pats[k];
        const struct pattern *pat = &e->patterns[p];
        size_t start = i + 1 - pat->n_words;
        if (pat->surface != NULL && !surface_ok(e, text, start, pat)) {
            continue;
        }
        struct pstat *ps = &e->ps[p];
        bool lead = field == e->lead_field && (double)start < e->tx->scoring.lead_tokens;
        if (ps->stamp != e->gen) {
            ps->stamp = e->gen;
            ps->n_text = 0;
            ps->n_title = 0;
            ps->n_lead = 0;
            ps->first_field = field;
            ps->first_off = e->toks.tok[start].off;
            e->touched_p[e->n_touched_p++] = p;
        }
        if (field == 0) {
            ps->n_title++;
        } else {
            ps->n_text++;
            ps->n_lead += lead;
        }
        if (pat->has_alias) {
            hold_alias(e, p, start, i, lead);
        }
    }
}

/* Reports the patterns that end in token i with one of the wildcard prefixes wc[0..nwc). */
static void scan_wildcards(struct classify_engine *e, uint32_t state, const uint32_t *wc,
                           size_t nwc, size_t i, uint32_t field, const char *text)
{
    size_t n = 0;

    for (size_t k = 0; k < nwc; k++) {
        uint32_t s2 = classify_ac_step(e->ac, state, wc[k]);
        if (s2 != 0) {
            const uint32_t *pats = classify_ac_out(e->ac, s2, &n);
            report(e, pats, n, i, field, text);
        }
    }
}

static void scan_field(struct classify_engine *e, uint32_t field, const char *text)
{
    const struct classify_tokens *t = &e->toks;
    bool wildcards = classify_prefixes_count(e->prefixes) > 0;
    uint32_t wcbuf[WILDCARDS_MAX];
    uint32_t state = 0;
    size_t n = 0;

    for (size_t i = 0; i < t->len; i++) {
        const char *w = classify_token_norm(t, i);
        size_t wlen = t->tok[i].norm_len;
        uint32_t sym = classify_intern_find_hashed(e->vocab, w, wlen, t->tok[i].hash);

        if (wildcards) {
            const uint32_t *wc = wcbuf;
            size_t nwc = 0;
            if (sym != 0) {
                wc = e->wc_items + e->wc_off[sym];
                nwc = e->wc_n[sym];
            } else {
                nwc = classify_prefixes_find(e->prefixes, w, wlen, wcbuf, WILDCARDS_MAX);
            }
            scan_wildcards(e, state, wc, nwc, i, field, text);
        }
        state = sym != 0 ? classify_ac_step(e->ac, state, sym) : 0; /* no call for most words */
        if (state != 0) {
            const uint32_t *pats = classify_ac_out(e->ac, state, &n);
            report(e, pats, n, i, field, text);
        }
    }
    for (size_t j = 0; j < e->n_am; j++) {
        mention(e, j, field);
    }
    e->n_am = 0;
}

/* ---- scoring ---- */

static double contribution(const struct classify_engine *e, const struct classify_tag *t,
                           double weight, const struct pstat *ps)
{
    double eff = (double)ps->n_text + t->title_weight * (ps->n_title > 0 ? 1.0 : 0.0) +
                 e->tx->scoring.lead_bonus * (ps->n_lead > 0 ? 1.0 : 0.0);

    if (eff > t->max_count) {
        eff = t->max_count;
    }
    return weight * eff;
}

static struct tstat *touch_tag(struct classify_engine *e, uint32_t t)
{
    struct tstat *ts = &e->ts[t];

    if (ts->stamp != e->gen) {
        ts->stamp = e->gen;
        ts->veto = false;
        ts->in_title = false;
        ts->n_any = 0;
        ts->groups = 0;
        ts->score = 0;
        e->touched_t[e->n_touched_t++] = t;
    }
    return ts;
}

static void apply_use(struct classify_engine *e, const struct use *u, const struct pstat *ps)
{
    if (u->kind == USE_ALIAS) {
        return; /* counted as they matched, by mention() */
    }
    if (u->kind == USE_HINT) {
        struct hstat *hs = &e->hs[u->owner];
        if (hs->stamp != e->gen) {
            hs->stamp = e->gen;
            hs->count = 0;
        }
        hs->count += ps->n_text + ps->n_title;
        if (e->hint_best < 0 || hs->count > e->hs[e->hint_best].count ||
            (hs->count == e->hs[e->hint_best].count && u->owner < e->hint_best)) {
            e->hint_best = u->owner;
        }
        return;
    }
    struct tstat *ts = touch_tag(e, u->owner);
    if (u->kind == USE_ANY) {
        ts->score += contribution(e, &e->tx->tags[u->owner], u->weight, ps);
        ts->n_any++;
        ts->in_title |= ps->n_title > 0;
    } else if (u->kind == USE_GROUP) {
        ts->groups |= (uint64_t)1 << u->group;
    } else {
        ts->veto = true;
    }
}

static bool tag_given(const struct classify_engine *e, uint32_t ti, unsigned kinds)
{
    const struct classify_tag *t = &e->tx->tags[ti];
    const struct tstat *ts = &e->ts[ti];

    if (ts->veto || !(ts->score >= t->min_score * e->length_factor)) {
        return false;
    }
    /* One phrase repeated is one piece of evidence: outside the title, a tag needs min_phrases
     * distinct phrases (a passing "central bank" three times is not a central-bank story).
     * A tag with min_score 0 is given on its groups alone. */
    if (t->min_score > 0 && !ts->in_title && (double)ts->n_any < e->tx->scoring.min_phrases) {
        return false;
    }
    for (size_t g = 0; g < t->n_all; g++) {
        const struct classify_group *gr = &t->all[g];
        bool ok = false;
        if (gr->type == CLASSIFY_GROUP_ANY) {
            ok = (ts->groups >> g) & 1;
        } else if (gr->type == CLASSIFY_GROUP_ENTITY) {
            ok = e->es[gr->entity].stamp == e->gen;
        } else if (gr->type == CLASSIFY_GROUP_ABOUT) {
            ok = e->es[gr->entity].stamp == e->gen && e->es[gr->entity].about;
        } else {
            ok = (kinds >> gr->kind) & 1;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int rank_cmp(const void *a, const void *b)
{
    const struct rank *x = a;
    const struct rank *y = b;

    if (x->key != y->key) {
        return x->key > y->key ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* ---- output ---- */

static void put_jstr(struct np_buf *o, const struct jstr *j)
{
    np_buf_put(o, j->s, j->n);
}

/* v in decimal at dst (20 bytes at most), written by hand: snprintf was a tenth of the rules'
 * output cost per article. Returns the length. */
static size_t fmt_uint(char *dst, uint64_t v)
{
    char num[24];
    size_t i = sizeof(num);

    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(dst, num + i, sizeof(num) - i);
    return sizeof(num) - i;
}

static void put_uint(struct np_buf *o, uint64_t v)
{
    char num[24];

    np_buf_put(o, num, fmt_uint(num, v));
}

/* One evidence item, {"phrase":..,"field":..,"count":..,"offset":..} after a comma when comma,
 * in one reservation (six np_buf_put() calls before). */
static void put_evidence(struct np_buf *o, const struct jstr *phrase, const struct jstr *field,
                         uint64_t count, uint64_t offset, bool comma)
{
    char *p = NULL;

    if (!np_buf_reserve(o, phrase->n + field->n + 100)) {
        return;
    }
    p = o->p + o->len;
    *p = ',';
    p += comma ? 1 : 0;
    p = np_lit_at(p, "{\"phrase\":");
    memcpy(p, phrase->s, phrase->n);
    p = np_lit_at(p + phrase->n, ",\"field\":");
    memcpy(p, field->s, field->n);
    p = np_lit_at(p + field->n, ",\"count\":");
    p += fmt_uint(p, count);
    p = np_lit_at(p, ",\"offset\":");
    p += fmt_uint(p, offset);
    *p++ = '}';
    o->len = (size_t)(p - o->p);
}

__extension__ typedef unsigned __int128 u128; /* GCC and clang; ISO C has no 128-bit type */

/*
 * The 17 significant digits of v > 0 (normal, 1e-4 <= v < 1e17) as printf's %.17g rounds them
 * (to nearest, ties to even, from v's exact value): stores them as an integer in [10^16, 10^17)
 * in *digits and the decimal exponent of the first one in *exp. v = m x 2^e2 exactly, and
 * m x 10^k (k <= 21) fits in 128 bits, so the division by 2^-e2 is exact shifting. Returns
 * false outside that range (the caller then asks snprintf).
 */
static bool digits17(double v, uint64_t *digits, int *exp)
{
    static const uint64_t p10[20] = { 1ULL,
                                      10ULL,
                                      100ULL,
                                      1000ULL,
                                      10000ULL,
                                      100000ULL,
                                      1000000ULL,
                                      10000000ULL,
                                      100000000ULL,
                                      1000000000ULL,
                                      10000000000ULL,
                                      100000000000ULL,
                                      1000000000000ULL,
                                      10000000000000ULL,
                                      100000000000000ULL,
                                      1000000000000000ULL,
                                      10000000000000000ULL,
                                      100000000000000000ULL,
                                      1000000000000000000ULL,
                                      10000000000000000000ULL };
    uint64_t bits = 0;
    uint64_t m = 0;
    int e2 = 0;
    int e10 = 0;

    if (!(v >= 1e-4 && v < 1e17)) {
        return false;
    }
    memcpy(&bits, &v, sizeof(bits));
    m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    e2 = (int)((bits >> 52) & 0x7FF) - 1075;
    e10 = (int)floor(log10(v));
    for (int tries = 0; tries < 3; tries++) {
        int k = 16 - e10; /* digits = round(v x 10^k) */
        u128 num = 0;
        u128 q = 0;

        if (k < 0 || k > 21 || e2 > 0 || e2 < -127) {
            return false;
        }
        num = (u128)m * (k > 19 ? (u128)p10[19] * p10[k - 19] : (u128)p10[k]);
        q = num >> -e2;
        if (e2 < 0) {
            u128 rest = num & (((u128)1 << -e2) - 1);
            u128 half = (u128)1 << (-e2 - 1);

            q += rest > half || (rest == half && (q & 1) != 0);
        }
        if (q >= p10[17]) {
            e10++;
        } else if (q < p10[16]) {
            e10--;
        } else {
            *digits = (uint64_t)q;
            *exp = e10;
            return true;
        }
    }
    return false;
}

/*
 * v as %.17g writes it, into num (at least 40 bytes); returns the length. The fixed notation of
 * scores (1e-4 <= v < 1e17) is written by hand from digits17(): snprintf("%.17g") cost ~2,000
 * instructions a call, 3% of an article's.
 */
static size_t fmt_g17(char *num, double v)
{
    uint64_t digits = 0;
    int x = 0;
    char d[17];
    size_t n = 0;
    int last = 16;

    if (!digits17(v < 0 ? -v : v, &digits, &x) || x >= 17) {
        return (size_t)snprintf(num, 40, "%.17g", v);
    }
    for (int i = 16; i >= 0; i--) {
        d[i] = (char)('0' + digits % 10);
        digits /= 10;
    }
    while (last > x && last > 0 && d[last] == '0') { /* trailing zeros of the fraction */
        last--;
    }
    if (v < 0) {
        num[n++] = '-';
    }
    if (x < 0) {
        num[n++] = '0';
        num[n++] = '.';
        for (int i = -1; i > x; i--) {
            num[n++] = '0';
        }
        memcpy(num + n, d, (size_t)last + 1);
        return n + (size_t)last + 1;
    }
    memcpy(num + n, d, (size_t)x + 1);
    n += (size_t)x + 1;
    if (last > x) {
        num[n++] = '.';
        memcpy(num + n, d + x + 1, (size_t)(last - x));
        n += (size_t)(last - x);
    }
    return n;
}

size_t classify_engine_format_real(char *num, double v)
{
    size_t n = fmt_g17(num, v);

    if (memchr(num, '.', n) == NULL && memchr(num, 'e', n) == NULL && memchr(num, 'E', n) == NULL) {
        memcpy(num + n, ".0", 2);
        n += 2;
    }
    num[n] = '\0';
    return n;
}

/* A real as Jansson writes one: %.17g, with ".0" added when that reads as an integer. */
static void put_real(struct np_buf *o, double v)
{
    char num[48];

    np_buf_put(o, num, classify_engine_format_real(num, v));
}

/* A number in [0, 1] to three decimals ("0.625", "1.0", "0.0"): salience is written for every
 * entity, and snprintf("%.17g") would cost more than the rest of the entity's output. */
static void put_unit(struct np_buf *o, double v)
{
    long k = lround(v * 1000.0);
    char num[8] = { '0', '.', '0', '0', '0' };
    size_t n = 5;

    if (k >= 1000) {
        np_buf_lit(o, "1.0");
        return;
    }
    if (k < 0) {
        k = 0;
    }
    num[2] = (char)('0' + k / 100);
    num[3] = (char)('0' + (k / 10) % 10);
    num[4] = (char)('0' + k % 10);
    while (n > 3 && num[n - 1] == '0') {
        n--;
    }
    np_buf_put(o, num, n);
}

static void write_evidence(struct np_buf *o, struct classify_engine *e, uint32_t ti)
{
    const struct classify_tag *t = &e->tx->tags[ti];
    size_t n = 0;

    for (size_t i = 0; i < t->any.len; i++) {
        const struct pstat *ps = &e->ps[t->any.items[i].pattern];
        if (ps->stamp == e->gen) {
            e->rank[n].key = contribution(e, t, t->any.items[i].weight, ps);
            e->rank[n].idx = (uint32_t)i;
            n++;
        }
    }
    qsort(e->rank, n, sizeof(*e->rank), rank_cmp);
    np_buf_lit(o, "[");
    for (size_t k = 0; k < n && k < EVIDENCE_MAX; k++) {
        const struct pstat *ps = &e->ps[t->any.items[e->rank[k].idx].pattern];

        put_evidence(o, &e->j_any[e->j_any_off[ti] + e->rank[k].idx], &e->j_field[ps->first_field],
                     (uint64_t)ps->n_text + ps->n_title, ps->first_off, k > 0);
    }
    np_buf_lit(o, "]");
}

/* The model vetoes a rule tag it knows and scores more than the taxonomy's model.veto below
 * its threshold (it was trained on this tag and finds the article far from it), but only when
 * it reads the article with confidence: some tag of its own reaches model.sure. An article
 * unlike what it learnt from, where none does (a long analysis of many strands), keeps the
 * rules' tags. */
static bool model_vetoes(const struct classify_engine *e, uint32_t t)
{
    double margin = 0;

    return e->model != NULL && classify_model_margin(e->model, e->model_tag[t], &margin) &&
           margin < -e->tx->model.veto && classify_model_best(e->model) >= e->tx->model.sure;
}

/* A tag of the taxonomy that the rules did not give is added from the model only with a margin
 * of model.add, and when that margin does not rest on one feature: one word is one piece of
 * evidence, for the model as for the rules' min_phrases. The model's tags outside the taxonomy,
 * where it is the only judge, keep its own thresholds. The held-back ones are claimed, so the
 * model does not write them. */
static void hold_back_weak(struct classify_engine *e)
{
    const struct classify_model_policy *p = &e->tx->model;

    for (size_t t = 0; (p->add > 0 || p->add_slack < INFINITY) && t < e->tx->n_tags; t++) {
        int32_t mt = e->model_tag[t];
        double margin = 0;

        if (!classify_model_margin(e->model, mt, &margin) || margin < 0 ||
            classify_model_claimed(e->model, mt)) {
            continue;
        }
        if (margin < p->add || margin - classify_model_strongest(e->model, mt) < -p->add_slack) {
            classify_model_claim(e->model, mt);
        }
    }
}

static void write_tags(struct np_buf *o, struct classify_engine *e, unsigned kinds)
{
    size_t n = 0;

    for (size_t i = 0; i < e->n_always; i++) {
        touch_tag(e, e->always[i]);
    }
    for (size_t i = 0; i < e->n_touched_t; i++) {
        uint32_t t = e->touched_t[i];
        if (tag_given(e, t, kinds) && !model_vetoes(e, t)) {
            e->rank[n].key = e->ts[t].score;
            e->rank[n].idx = t;
            n++;
        }
    }
    qsort(e->rank, n, sizeof(*e->rank), rank_cmp);
    /* A tag far weaker than the article's strongest is an aside: below relative_min x the top
     * score it is not given (the ranking is by score, so the cut keeps a prefix). */
    while (n > 1 && e->rank[n - 1].key < e->tx->scoring.relative_min * e->rank[0].key) {
        n--;
    }
    /* write_evidence() reuses rank[], so take the order out first (touched_t is done). */
    for (size_t k = 0; k < n; k++) {
        e->touched_t[k] = e->rank[k].idx;
    }
    e->n_given = n;
    np_buf_lit(o, "\"tags\":[");
    for (size_t k = 0; k < n; k++) {
        uint32_t t = e->touched_t[k];

        np_buf_put(o, ",", k > 0 ? 1 : 0);
        np_buf_lit(o, "{\"name\":");
        put_jstr(o, &e->j_tag[t]);
        np_buf_lit(o, ",\"score\":");
        put_real(o, e->ts[t].score);
        /* A tag the model gives too lands once: the rules' row, classifier "rules+model". */
        if (e->model != NULL && classify_model_claim(e->model, e->model_tag[t])) {
            np_buf_lit(o, ",\"classifier\":\"rules+model\",\"evidence\":");
        } else {
            np_buf_lit(o, ",\"classifier\":\"rules\",\"evidence\":");
        }
        write_evidence(o, e, t);
        np_buf_lit(o, "}");
    }
    if (e->model != NULL) {
        hold_back_weak(e);
        classify_model_write(e->model, o, n > 0);
    }
    np_buf_lit(o, "]");
}

/* Weights of the salience of an entity (see the module comment). */
#define SAL_TITLE           (0.35)
#define SAL_LEAD            (0.25)
#define SAL_DATELINE        (0.15)
#define SAL_SHARE           (0.5)
#define SAL_SHARE_MAX_FLOOR (2.0)

/*
 * Salience of every mentioned entity, and whether the story is about it: salience >= the
 * taxonomy's about_min (scoring.about_min). share is the entity's mentions over those of the
 * most mentioned entity of its kind, or over text tokens / scoring.share_tokens when that is
 * more, up to SAL_SHARE_MAX_FLOOR mentions: so with about_min <= SAL_SHARE the most mentioned
 * country is one the story is about, unless it is named once, outside the title and lead, in a
 * text of more than about share_tokens tokens (a story on bitcoin's price that names the United
 * States once, in passing, is not a story about the United States). Without the ceiling a long
 * story would need ever more mentions of its main country; two measured better than none
 * (docs/MEASUREMENTS.md).
 */
static void salience(struct classify_engine *e)
{
    uint32_t top[CLASSIFY_KIND_COUNT] = { 0 };
    double least = 1.0; /* the share's least denominator, in mentions */

    if (e->tx->scoring.share_tokens > 0) {
        least = (double)e->text_tokens / e->tx->scoring.share_tokens;
        least = least < 1.0 ? 1.0 : least > SAL_SHARE_MAX_FLOOR ? SAL_SHARE_MAX_FLOOR : least;
    }

    for (size_t i = 0; i < e->n_touched_e; i++) {
        uint32_t en = e->touched_e[i];
        enum classify_kind k = e->tx->entities[en].kind;
        if (e->es[en].mentions > top[k]) {
            top[k] = e->es[en].mentions;
        }
    }
    for (size_t i = 0; i < e->n_touched_e; i++) {
        uint32_t en = e->touched_e[i];
        struct estat *es = &e->es[en];
        double most = (double)top[e->tx->entities[en].kind];
        double share = (double)es->mentions / (most > least ? most : least);
        double s = SAL_TITLE * es->in_title + SAL_LEAD * es->in_lead + SAL_DATELINE * es->dateline +
                   SAL_SHARE * share;
        es->salience = s > 1.0 ? 1.0 : s;
        es->about = es->salience >= e->tx->scoring.about_min;
    }
}

/* The country hinted at when no country is mentioned; -1 when none. */
static int64_t hinted_country(const struct classify_engine *e, unsigned kinds)
{
    if ((kinds >> CLASSIFY_KIND_COUNTRY) & 1) {
        return -1;
    }
    return e->hint_best;
}

static void write_entities(struct np_buf *o, struct classify_engine *e, int64_t hinted)
{
    size_t n = e->n_touched_e;

    for (size_t i = 0; i < n; i++) {
        uint32_t en = e->touched_e[i];
        e->rank[i].key = (double)e->es[en].mentions;
        e->rank[i].idx = en;
    }
    qsort(e->rank, n, sizeof(*e->rank), rank_cmp);
    np_buf_lit(o, "\"entities\":[");
    for (size_t i = 0; i < n; i++) {
        uint32_t en = e->rank[i].idx;

        np_buf_put(o, ",", i > 0 ? 1 : 0);
        np_buf_lit(o, "{\"name\":");
        put_jstr(o, &e->j_entity[en]);
        np_buf_lit(o, ",\"kind\":");
        put_jstr(o, &e->j_kind[e->tx->entities[en].kind]);
        np_buf_lit(o, ",\"mentions\":");
        put_uint(o, e->es[en].mentions);
        np_buf_lit(o, ",\"salience\":");
        put_unit(o, e->es[en].salience);
        if (e->es[en].about) {
            np_buf_lit(o, ",\"about\":true}");
        } else {
            np_buf_lit(o, ",\"about\":false}");
        }
    }
    if (hinted >= 0) {
        np_buf_put(o, ",", n > 0 ? 1 : 0);
        np_buf_lit(o, "{\"name\":");
        put_jstr(o, &e->j_entity[hinted]);
        np_buf_lit(o, ",\"kind\":");
        put_jstr(o, &e->j_kind[CLASSIFY_KIND_COUNTRY]);
        np_buf_lit(o, ",\"mentions\":0,\"salience\":0.0,\"about\":true}");
    }
    np_buf_lit(o, "]");
}

/* The kinds of the mentioned entities, a bit per kind. */
static unsigned kinds_of(const struct classify_engine *e)
{
    unsigned kinds = 0;

    for (size_t i = 0; i < e->n_touched_e; i++) {
        kinds |= 1u << e->tx->entities[e->touched_e[i]].kind;
    }
    return kinds;
}

/* The region of the article from the countries it is about; NULL when none. */
static const struct jstr *region_of(const struct classify_engine *e, int64_t hinted)
{
    const struct jstr *region = NULL;
    const char *name = NULL;

    if (hinted >= 0) {
        return &e->j_region[hinted];
    }
    for (size_t i = 0; i < e->n_touched_e; i++) {
        uint32_t en = e->touched_e[i];
        const struct classify_entity *ent = &e->tx->entities[en];
        if (ent->kind != CLASSIFY_KIND_COUNTRY || !e->es[en].about) {
            continue;
        }
        if (name == NULL) {
            name = ent->region;
            region = &e->j_region[en];
        } else if (strcmp(name, ent->region) != 0) {
            region = &e->j_global;
        }
    }
    return region;
}

static void next_generation(struct classify_engine *e)
{
    e->gen++;
    if (e->gen == 0) {
        /* Wrapped after 2^32 articles: forget every stamp once. */
        memset(e->ps, 0, e->n_patterns * sizeof(*e->ps));
        memset(e->ts, 0, e->tx->n_tags * sizeof(*e->ts));
        memset(e->es, 0, e->tx->n_entities * sizeof(*e->es));
        memset(e->hs, 0, e->tx->n_entities * sizeof(*e->hs));
        e->gen = 1;
    }
    e->n_touched_p = 0;
    e->n_touched_t = 0;
    e->n_touched_e = 0;
    e->oom = false;
    e->hint_best = -1;
    e->lead_field = NP_FIELD_SCANNED;
    e->text_tokens = 0;
}

int classify_engine_write(struct classify_engine *e, const struct np_article_view *v,
                          struct np_buf *out)
{
    const char *fields[NP_FIELD_SCANNED];
    size_t text_bytes = 0;
    const struct classify_scoring *sc = &e->tx->scoring;
    const struct jstr *region = NULL;
    unsigned kinds = 0;

    next_generation(e);
    for (uint32_t f = 0; f < NP_FIELD_SCANNED; f++) {
        fields[f] = v->text[scanned_field(f)];
        text_bytes += fields[f] != NULL ? strlen(fields[f]) : 0;
    }
    /* The learned model reads the same tokens (classify_engine_set_model()). */
    if (e->model != NULL && classify_model_begin(e->model, text_bytes) != 0) {
        return NP_ENOMEM;
    }
    for (uint32_t f = 0; f < NP_FIELD_SCANNED && !e->oom; f++) {
        if (fields[f] == NULL) {
            continue;
        }
        if (classify_tokenize(&e->toks, fields[f], strlen(fields[f])) != 0) {
            e->oom = true;
            break;
        }
        if (e->model != NULL) {
            classify_model_add(e->model, &e->toks, scanned_field(f) == NP_FIELD_title);
        }
        if (f > 0 && e->lead_field == NP_FIELD_SCANNED && e->toks.len > 0) {
            e->lead_field = f;
        }
        if (f > 0) {
            e->text_tokens += e->toks.len;
        }
        scan_field(e, f, fields[f]);
    }
    if (e->oom) {
        if (e->model != NULL) {
            classify_model_end(e->model);
        }
        return NP_ENOMEM;
    }
    e->length_factor = 1.0;
    if ((double)e->text_tokens < sc->reference_tokens) {
        e->length_factor = sqrt((double)e->text_tokens / sc->reference_tokens);
        if (e->length_factor < sc->short_floor) {
            e->length_factor = sc->short_floor;
        }
    }
    for (size_t i = 0; i < e->n_touched_p; i++) {
        const struct pattern *pat = &e->patterns[e->touched_p[i]];
        const struct pstat *ps = &e->ps[e->touched_p[i]];
        for (uint32_t k = 0; k < pat->use_n; k++) {
            apply_use(e, &e->uses[pat->use_off + k], ps);
        }
    }
    if (e->model != NULL) {
        classify_model_end(e->model);
    }
    salience(e);
    kinds = kinds_of(e);
    int64_t hinted = hinted_country(e, kinds);
    region = region_of(e, hinted);
    write_tags(out, e, kinds);
    np_buf_lit(out, ",");
    write_entities(out, e, hinted);
    np_buf_lit(out, ",\"region\":");
    if (region != NULL) {
        put_jstr(out, region);
    } else {
        np_buf_lit(out, "null");
    }
    np_buf_lit(out, ",\"classifier\":");
    put_jstr(out, &e->j_classifier);
    return out->failed ? NP_ENOMEM : 0;
}

void classify_engine_set_model(struct classify_engine *e, struct classify_model *m)
{
    e->model = m;
    for (size_t t = 0; m != NULL && t < e->tx->n_tags; t++) {
        e->model_tag[t] = classify_model_tag_index(m, e->tx->tags[t].name);
    }
}

size_t classify_engine_ntags(const struct classify_engine *e)
{
    return e->n_given;
}

const char *classify_engine_tag(const struct classify_engine *e, size_t i)
{
    return i < e->n_given ? e->tx->tags[e->touched_t[i]].name : NULL;
}

int classify_engine_run(struct classify_engine *e, const struct np_article_view *v, char **out,
                        size_t *len)
{
    struct np_buf o = { 0 };
    int rc = 0;

    np_buf_lit(&o, "{");
    rc = classify_engine_write(e, v, &o);
    np_buf_lit(&o, "}");
    if (rc != 0 || o.failed) {
        np_buf_cleanup(&o);
        return NP_ENOMEM;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}
