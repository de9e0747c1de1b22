/* classify_match.c - the multi-pattern matcher of the rules classifier
 *
 * Design: every taxonomy phrase is a sequence of token symbols; all phrases of all tags and
 * entities go into one Aho-Corasick automaton, so an article costs one automaton step per
 * token whatever the number of rules. Symbols are small integers from the token vocabulary
 * (classify_intern); article tokens that occur in no phrase all map to symbol 0, which no
 * pattern contains. A wildcard phrase "crude export*" ends in a symbol of its own for the
 * prefix "export"; the engine feeds that symbol beside the token's exact symbol (see
 * classify_engine.c), which works because a wildcard is only allowed on the last word.
 *
 * Transitions are not a dense state x symbol table (thousands of symbols times thousands of
 * states): the root has a dense array, since most steps start there, and the other edges sit
 * in one open-addressing hash keyed by (state, symbol). Output lists are flattened at compile
 * time (each state lists its own patterns and those of its failure chain), so reporting a
 * match never walks failure links.
 *
 * Wildcard prefixes are a byte trie (a dense root, a hash for the other edges). Tried for the
 * words outside the vocabulary, which each walk it, and not kept (callgrind, instructions per
 * Reuters article of classify_prefixes_find(), 5.6k): a 4,096-bit filter of every prefix's first
 * 2 and 3 bytes (7.6k: most words share them with some prefix) and the second level as arrays
 * for a-z (6.0k).
 */
#include "classify_match.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "classify_text.h"
#include "np/err.h"

/* ---- a uint64 -> uint32 hash map; value 0 means empty ---- */

struct u64slot {
    uint64_t key;
    uint32_t val;
};

/* Key and value side by side: one cache line per probe. */
struct u64map {
    struct u64slot *slots;
    size_t cap; /* power of two */
    size_t len;
};

static inline size_t u64map_slot(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static inline uint32_t u64map_get(const struct u64map *m, uint64_t key)
{
    if (m->cap == 0) {
        return 0;
    }
    for (size_t i = u64map_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const struct u64slot *sl = &m->slots[i];
        if (sl->val == 0 || sl->key == key) {
            return sl->val;
        }
    }
}

static int u64map_grow(struct u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct u64slot *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].val == 0) {
            continue;
        }
        size_t j = u64map_slot(m->slots[i].key, cap);
        while (slots[j].val != 0) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* Sets key to val (> 0); the key must be absent. */
static int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
    if ((m->len + 1) * 2 > m->cap && u64map_grow(m) != 0) {
        return NP_ENOMEM;
    }
    size_t i = u64map_slot(key, m->cap);
    while (m->slots[i].val != 0) {
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->len++;
    return 0;
}

static void u64map_free(struct u64map *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* Grows *arr (elements of size esz) to hold need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t esz)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        c *= 2;
    }
    void *p = realloc(*arr, c * esz);
    if (p == NULL) {
        return NP_ENOMEM;
    }
    *arr = p;
    *cap = c;
    return 0;
}

/* ---- string interning ---- */

/*
 * A slot is 8 bytes (32 bits of the hash and the id), so the table of a large vocabulary stays
 * in cache; the string of id k is chars[off[k] .. off[k] + len[k]). The hash is
 * classify_text_hash(), the one the tokenizer stores in each token: the engine looks a token up
 * without hashing it again (classify_intern_find_hashed()).
 */
struct intern_slot {
    uint32_t tag; /* high 32 bits of the hash */
    uint32_t id;  /* 0: empty */
};

struct classify_intern {
    struct intern_slot *slots;
    size_t cap; /* power of two */
    size_t len;
    uint32_t *off; /* per id */
    uint32_t *lens;
    size_t ids_cap;
    char *chars;
    size_t chars_len;
    size_t chars_cap;
    size_t max_len;
};

struct classify_intern *classify_intern_new(void)
{
    struct classify_intern *in = calloc(1, sizeof(*in));

    if (in == NULL) {
        return NULL;
    }
    in->cap = 64;
    in->slots = calloc(in->cap, sizeof(*in->slots));
    if (in->slots == NULL) {
        free(in);
        return NULL;
    }
    return in;
}

void classify_intern_destroy(struct classify_intern **ip)
{
    if (ip == NULL || *ip == NULL) {
        return;
    }
    free((*ip)->slots);
    free((*ip)->off);
    free((*ip)->lens);
    free((*ip)->chars);
    free(*ip);
    *ip = NULL;
}

/* a[0..n) == b[0..n), n > 0, 8 bytes at a time: both have 7 readable bytes after their end. */
static inline bool same_words(const char *a, const char *b, size_t n)
{
    while (n > 8) {
        if (classify_load_le64(a) != classify_load_le64(b)) {
            return false;
        }
        a += 8;
        b += 8;
        n -= 8;
    }
    return ((classify_load_le64(a) ^ classify_load_le64(b)) & (~0ULL >> (64 - 8 * n))) == 0;
}

/* Entry id is s[0..len). With slack (len > 0 and s readable 7 bytes past its end, as the stored
 * strings are) the bytes are compared 8 at a time. */
static inline bool intern_same(const struct classify_intern *in, uint32_t id, const char *s,
                               size_t len, bool slack)
{
    const char *mine = in->chars + in->off[id];

    return in->lens[id] == len && (slack ? same_words(mine, s, len) : memcmp(mine, s, len) == 0);
}

/* The slot holding s, or the empty slot where it would go (slack: see intern_same()). */
static inline struct intern_slot *intern_probe(const struct classify_intern *in, uint64_t h,
                                               const char *s, size_t len, bool slack)
{
    uint32_t tag = (uint32_t)(h >> 32);

    for (size_t i = (size_t)h & (in->cap - 1);; i = (i + 1) & (in->cap - 1)) {
        struct intern_slot *sl = &in->slots[i];
        if (sl->id == 0 || (sl->tag == tag && intern_same(in, sl->id, s, len, slack))) {
            return sl;
        }
    }
}

static int intern_rehash(struct classify_intern *in)
{
    size_t cap = in->cap * 2;
    struct intern_slot *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return NP_ENOMEM;
    }
    for (size_t i = 0; i < in->cap; i++) {
        uint32_t id = in->slots[i].id;
        if (id == 0) {
            continue;
        }
        size_t j = (size_t)classify_text_hash(in->chars + in->off[id], in->lens[id]) & (cap - 1);
        while (slots[j].id != 0) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = in->slots[i];
    }
    free(in->slots);
    in->slots = slots;
    in->cap = cap;
    return 0;
}

int classify_intern_add(struct classify_intern *in, const char *s, size_t len, uint32_t new_id,
                        uint32_t *id, bool *added)
{
    uint64_t h = classify_text_hash(s, len);
    struct intern_slot *sl = intern_probe(in, h, s, len, false);

    *added = false;
    if (sl->id != 0) {
        *id = sl->id;
        return 0;
    }
    if ((in->len + 1) * 2 > in->cap) {
        if (intern_rehash(in) != 0) {
            return NP_ENOMEM;
        }
        sl = intern_probe(in, h, s, len, false);
    }
    /* 8 bytes of slack: classify_intern_find_hashed() compares 8 bytes at a time. */
    if (grow((void **)&in->chars, &in->chars_cap, in->chars_len + len + 8, 1) != 0) {
        return NP_ENOMEM;
    }
    if (new_id >= in->ids_cap) {
        size_t cap = in->ids_cap;
        if (grow((void **)&in->off, &cap, (size_t)new_id + 1, sizeof(*in->off)) != 0) {
            return NP_ENOMEM;
        }
        cap = in->ids_cap;
        if (grow((void **)&in->lens, &cap, (size_t)new_id + 1, sizeof(*in->lens)) != 0) {
            return NP_ENOMEM;
        }
        in->ids_cap = cap;
    }
    if (len > 0) {
        memcpy(in->chars + in->chars_len, s, len);
    }
    in->off[new_id] = (uint32_t)in->chars_len;
    in->lens[new_id] = (uint32_t)len;
    sl->tag = (uint32_t)(h >> 32);
    sl->id = new_id;
    in->chars_len += len;
    in->len++;
    if (len > in->max_len) {
        in->max_len = len;
    }
    *id = new_id;
    *added = true;
    return 0;
}

uint32_t classify_intern_find(const struct classify_intern *in, const char *s, size_t len)
{
    if (len > in->max_len) {
        return 0;
    }
    return intern_probe(in, classify_text_hash(s, len), s, len, false)->id;
}

uint32_t classify_intern_find_hashed(const struct classify_intern *in, const char *s, size_t len,
                                     uint64_t hash)
{
    assert(len > 0);
    if (len > in->max_len) {
        return 0;
    }
    return intern_probe(in, hash, s, len, true)->id;
}

size_t classify_intern_count(const struct classify_intern *in)
{
    return in->len;
}

size_t classify_intern_max_len(const struct classify_intern *in)
{
    return in->max_len;
}

/* ---- wildcard prefixes: a byte trie ---- */

struct classify_prefixes {
    uint32_t root[256];  /* child of the root per byte, 0 none */
    struct u64map edges; /* (node << 8 | byte) -> child, for nodes > 0 */
    uint32_t *term;      /* per node: prefix id ending there, 0 none; node 0 is the root */
    size_t nodes;
    size_t term_cap;
    size_t count;
};

struct classify_prefixes *classify_prefixes_new(void)
{
    struct classify_prefixes *ps = calloc(1, sizeof(*ps));

    if (ps == NULL) {
        return NULL;
    }
    ps->nodes = 1;
    if (grow((void **)&ps->term, &ps->term_cap, 1, sizeof(*ps->term)) != 0) {
        free(ps);
        return NULL;
    }
    ps->term[0] = 0;
    return ps;
}

void classify_prefixes_destroy(struct classify_prefixes **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    u64map_free(&(*pp)->edges);
    free((*pp)->term);
    free(*pp);
    *pp = NULL;
}

static inline uint32_t trie_child(const struct classify_prefixes *ps, uint32_t node,
                                  unsigned char b)
{
    if (node == 0) {
        return ps->root[b];
    }
    return u64map_get(&ps->edges, ((uint64_t)node << 8) | b);
}

int classify_prefixes_add(struct classify_prefixes *ps, const char *s, size_t len, uint32_t new_id,
                          uint32_t *id)
{
    uint32_t node = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        uint32_t next = trie_child(ps, node, b);
        if (next == 0) {
            if (grow((void **)&ps->term, &ps->term_cap, ps->nodes + 1, sizeof(*ps->term)) != 0) {
                return NP_ENOMEM;
            }
            next = (uint32_t)ps->nodes++;
            ps->term[next] = 0;
            if (node == 0) {
                ps->root[b] = next;
            } else if (u64map_put(&ps->edges, ((uint64_t)node << 8) | b, next) != 0) {
                return NP_ENOMEM;
            }
        }
        node = next;
    }
    if (ps->term[node] == 0) {
        ps->term[node] = new_id;
        ps->count++;
    }
    *id = ps->term[node];
    return 0;
}

size_t classify_prefixes_find(const struct classify_prefixes *ps, const char *s, size_t len,
                              uint32_t *ids, size_t max)
{
    uint32_t node = 0;
    size_t n = 0;

    for (size_t i = 0; i < len && n < max; i++) {
        node = trie_child(ps, node, (unsigned char)s[i]);
        if (node == 0) {
            break;
        }
        if (ps->term[node] != 0) {
            ids[n++] = ps->term[node];
        }
    }
    return n;
}

size_t classify_prefixes_count(const struct classify_prefixes *ps)
{
    return ps->count;
}

/* ---- Aho-Corasick over symbols ---- */

struct ac_node {
    uint32_t fail;
    uint32_t first_child; /* build-time child list, for the breadth-first pass */
    uint32_t next_sibling;
    uint32_t own;     /* build time: head of own outputs in ac->own_items, UINT32_MAX none */
    uint32_t out_off; /* compiled outputs: out[out_off .. out_off + out_n) */
    uint32_t out_n;
};

struct own_item {
    uint32_t pattern;
    uint32_t next;
};

struct classify_ac {
    struct ac_node *nodes;
    size_t n_nodes;
    size_t nodes_cap;
    struct u64map edges; /* (state << 32 | sym) -> child, state > 0 */
    uint32_t *root;      /* compiled: child of the root per symbol */
    uint32_t root_len;   /* symbols covered by root[] */
    struct u64map root_build;
    struct own_item *own_items;
    size_t own_len;
    size_t own_cap;
    uint32_t *out;
    size_t out_len;
    size_t out_cap;
};

struct classify_ac *classify_ac_new(void)
{
    struct classify_ac *ac = calloc(1, sizeof(*ac));

    if (ac == NULL) {
        return NULL;
    }
    if (grow((void **)&ac->nodes, &ac->nodes_cap, 1, sizeof(*ac->nodes)) != 0) {
        free(ac);
        return NULL;
    }
    memset(&ac->nodes[0], 0, sizeof(ac->nodes[0]));
    ac->nodes[0].own = UINT32_MAX;
    ac->n_nodes = 1;
    return ac;
}

void classify_ac_destroy(struct classify_ac **acp)
{
    if (acp == NULL || *acp == NULL) {
        return;
    }
    struct classify_ac *ac = *acp;
    free(ac->nodes);
    u64map_free(&ac->edges);
    u64map_free(&ac->root_build);
    free(ac->root);
    free(ac->own_items);
    free(ac->out);
    free(ac);
    *acp = NULL;
}

static uint32_t ac_child(const struct classify_ac *ac, uint32_t state, uint32_t sym)
{
    if (state == 0) {
        return u64map_get(&ac->root_build, sym);
    }
    return u64map_get(&ac->edges, ((uint64_t)state << 32) | sym);
}

int classify_ac_add(struct classify_ac *ac, const uint32_t *syms, size_t n, uint32_t pattern)
{
    uint32_t s = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t t = ac_child(ac, s, syms[i]);
        if (t == 0) {
            if (grow((void **)&ac->nodes, &ac->nodes_cap, ac->n_nodes + 1, sizeof(*ac->nodes)) !=
                0) {
                return NP_ENOMEM;
            }
            t = (uint32_t)ac->n_nodes;
            struct ac_node *nd = &ac->nodes[t];
            memset(nd, 0, sizeof(*nd));
            nd->own = UINT32_MAX;
            nd->next_sibling = ac->nodes[s].first_child;
            ac->nodes[s].first_child = t;
            int rc = s == 0 ? u64map_put(&ac->root_build, syms[i], t)
                            : u64map_put(&ac->edges, ((uint64_t)s << 32) | syms[i], t);
            if (rc != 0) {
                return NP_ENOMEM;
            }
            ac->n_nodes++;
        }
        s = t;
    }
    if (grow((void **)&ac->own_items, &ac->own_cap, ac->own_len + 1, sizeof(*ac->own_items)) != 0) {
        return NP_ENOMEM;
    }
    ac->own_items[ac->own_len].pattern = pattern;
    ac->own_items[ac->own_len].next = ac->nodes[s].own;
    ac->nodes[s].own = (uint32_t)ac->own_len++;
    return 0;
}

/* The failure state of the child of parent reached by sym. */
static uint32_t ac_fail_of(const struct classify_ac *ac, uint32_t parent, uint32_t sym)
{
    if (parent == 0) {
        return 0;
    }
    for (uint32_t f = ac->nodes[parent].fail;; f = ac->nodes[f].fail) {
        uint32_t t = ac_child(ac, f, sym);
        if (t != 0) {
            return t;
        }
        if (f == 0) {
            return 0;
        }
    }
}

/* Appends node t's own outputs and then those of its failure state (already compiled). */
static int ac_flatten(struct classify_ac *ac, uint32_t t)
{
    struct ac_node *nd = &ac->nodes[t];
    const struct ac_node *fl = &ac->nodes[nd->fail];
    size_t need = ac->out_len + fl->out_n;

    for (uint32_t k = nd->own; k != UINT32_MAX; k = ac->own_items[k].next) {
        need++;
    }
    if (grow((void **)&ac->out, &ac->out_cap, need, sizeof(*ac->out)) != 0) {
        return NP_ENOMEM;
    }
    nd = &ac->nodes[t];
    fl = &ac->nodes[nd->fail];
    nd->out_off = (uint32_t)ac->out_len;
    for (uint32_t k = nd->own; k != UINT32_MAX; k = ac->own_items[k].next) {
        ac->out[ac->out_len++] = ac->own_items[k].pattern;
    }
    if (t != 0) {
        for (uint32_t k = 0; k < fl->out_n; k++) {
            ac->out[ac->out_len++] = ac->out[fl->out_off + k];
        }
    }
    nd->out_n = (uint32_t)(ac->out_len - nd->out_off);
    return 0;
}

int classify_ac_compile(struct classify_ac *ac, uint32_t n_syms)
{
    uint32_t *queue = malloc(ac->n_nodes * sizeof(*queue));
    uint32_t *syms = malloc(ac->n_nodes * sizeof(*syms)); /* symbol into each node */
    size_t head = 0;
    size_t tail = 0;
    int rc = NP_ENOMEM;

    ac->root = calloc((size_t)n_syms + 1, sizeof(*ac->root));
    if (queue == NULL || syms == NULL || ac->root == NULL) {
        goto out;
    }
    ac->root_len = n_syms + 1;
    for (size_t i = 0; i < ac->root_build.cap; i++) {
        const struct u64slot *sl = &ac->root_build.slots[i];
        if (sl->val != 0 && sl->key <= n_syms) {
            ac->root[sl->key] = sl->val;
            syms[sl->val] = (uint32_t)sl->key;
        }
    }
    ac->nodes[0].fail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t u = queue[head++];
        for (uint32_t v = ac->nodes[u].first_child; v != 0; v = ac->nodes[v].next_sibling) {
            queue[tail++] = v;
        }
    }
    /* Symbols of non-root edges come from the edge map. */
    for (size_t i = 0; i < ac->edges.cap; i++) {
        if (ac->edges.slots[i].val != 0) {
            syms[ac->edges.slots[i].val] = (uint32_t)(ac->edges.slots[i].key & 0xffffffffu);
        }
    }
    /* Breadth-first order: parents and failure targets come before the nodes that use them. */
    for (size_t k = 0; k < tail; k++) {
        uint32_t u = queue[k];
        for (uint32_t v = ac->nodes[u].first_child; v != 0; v = ac->nodes[v].next_sibling) {
            ac->nodes[v].fail = ac_fail_of(ac, u, syms[v]);
        }
        if (ac_flatten(ac, u) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    free(queue);
    free(syms);
    return rc;
}

uint32_t classify_ac_step(const struct classify_ac *ac, uint32_t state, uint32_t sym)
{
    if (sym == 0) {
        return 0;
    }
    while (state != 0) {
        uint32_t t = u64map_get(&ac->edges, ((uint64_t)state << 32) | sym);
        if (t != 0) {
            return t;
        }
        state = ac->nodes[state].fail;
    }
    return sym < ac->root_len ? ac->root[sym] : 0;
}

const uint32_t *classify_ac_out(const struct classify_ac *ac, uint32_t state, size_t *n)
{
    *n = ac->nodes[state].out_n;
    return ac->out + ac->nodes[state].out_off;
}

size_t classify_ac_states(const struct classify_ac *ac)
{
    return ac->n_nodes;
}
