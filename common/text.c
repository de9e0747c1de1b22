/* text.c - white-space normalisation and HTML stripping
 *
 * ingest runs these on every text field of every article (np_article_parse), so each is one
 * pass over its input with no quadratic corner: runs of ordinary bytes are copied with
 * strcspn()/memcpy(), a tag's closing '>' is searched once and remembered, and a failed
 * search is never repeated.
 *
 * HTML is stripped only where the text is HTML. A '<' starts markup when it is followed by
 * '!' (comment, doctype), '?' (processing instruction), or by an optional '/' and the name of
 * an HTML element (a, b, p, div, ...) that ends in white space, '/' or '>'; the tag must also
 * be closed by a '>'. Anything else stays text, so "a < b & c" and the Reuters company codes
 * "<MCD>" or "<Sedio N.V.>" survive (rejected: "any '<' + letter is a tag", which deletes
 * those codes). Character references are decoded when they are one of the HTML 4 named
 * entities (plus &apos;) or a numeric reference, with a ';'; numeric references to NUL,
 * surrogates or beyond U+10FFFF become U+FFFD and &#128;..&#159; are read as windows-1252,
 * as browsers do.
 *
 * Known limit: a one-letter company code that is also an element name ("<A>", "<B>", "<I>",
 * "<S>", "<U>", "<Q>", "<P>") is read as a tag.
 *
 * The result is a fixed point: stripping it again, before or after np_text_normalise_space(),
 * changes nothing, so an article's canonical JSON parses back to the same article. For that, a
 * '<' or '&' in the decoded text that a second pass would read as markup (a decoded
 * "&lt;b&gt;", or "&amp;amp;") is written back as "&lt;" or "&amp;" (escape_markup(), which
 * errs on the side of escaping); every other character is plain text. The price is that such
 * rare text keeps one reference. test_text checks the fixed point on random markup.
 */
#include "np/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "np/utf8.h"

/* --- white space ------------------------------------------------------------------------ */

/*
 * When p starts a Unicode White_Space character, returns its length in bytes and adds the
 * line breaks it stands for to *breaks (U+2029 PARAGRAPH SEPARATOR counts two); else 0.
 */
static size_t space_at(const unsigned char *p, int *breaks)
{
    switch (p[0]) {
        case ' ':
        case '\t':
            return 1;
        case '\n':
        case '\v':
        case '\f':
            (*breaks)++;
            return 1;
        case '\r':
            if (p[1] != '\n') {
                (*breaks)++;
            }
            return 1;
        case 0xC2:
            if (p[1] == 0x85) {
                (*breaks)++;
                return 2;
            }
            return p[1] == 0xA0 ? 2 : 0;
        case 0xE1:
            return p[1] == 0x9A && p[2] == 0x80 ? 3 : 0; /* U+1680 */
        case 0xE2:
            if (p[1] == 0x80) {
                if (p[2] >= 0x80 && p[2] <= 0x8A) {
                    return 3; /* U+2000..U+200A */
                }
                if (p[2] == 0xA8 || p[2] == 0xA9) {
                    *breaks += p[2] == 0xA8 ? 1 : 2; /* U+2028, U+2029 */
                    return 3;
                }
                return p[2] == 0xAF ? 3 : 0; /* U+202F */
            }
            return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0; /* U+205F */
        case 0xE3:
            return p[1] == 0x80 && p[2] == 0x80 ? 3 : 0; /* U+3000 */
        default:
            return 0;
    }
}

/* Bytes where a run of ordinary text stops: the NUL and every byte that may start white
 * space. */
static const unsigned char space_stop[256] = {
    [0] = 1,   ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
    [' '] = 1, [0xC2] = 1, [0xE1] = 1, [0xE2] = 1, [0xE3] = 1,
};

/*
 * Skips eight bytes at a time while they are printable ASCII with at most single spaces, none
 * of them last (the byte after a space decides whether it stays): the common case of running
 * text, without a branch per word. r follows a byte that is not white space.
 */
static unsigned char *skip_plain_words(unsigned char *r, const unsigned char *end)
{
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;

    while (end - r >= 8) {
        uint64_t x;
        uint64_t y;
        uint64_t sp;

        memcpy(&x, r, sizeof(x));
        /* Any byte below 0x20 (controls, NUL) or from 0x80 (may start U+00A0 etc.): stop. */
        if (((x - ones * 0x20) & ~x & highs) != 0 || (x & highs) != 0) {
            break;
        }
        /* 0x80 in each byte that is a space. */
        y = x ^ (ones * 0x20);
        sp = ~(((y & ~highs) + ~highs) | y | ~highs);
        if ((sp & (sp >> 8)) != 0 || (sp >> 56) != 0) {
            break;
        }
        r += 8;
    }
    return r;
}

void np_text_normalise_space(char *s, bool keep_paragraphs)
{
    unsigned char *r = (unsigned char *)s;
    unsigned char *w = r;
    const unsigned char *end = r + strlen(s);
    bool pending = false;
    int breaks = 0;

    for (;;) {
        unsigned char *run = r;
        size_t n;

        /* A run of ordinary bytes and single spaces between them, moved in one go (not at all
         * while nothing has shrunk). */
        for (;;) {
            if (!space_stop[*r]) {
                r++;
                r = skip_plain_words(r, end);
            } else if (*r == ' ' && r != run && !space_stop[r[1]]) {
                r += 2;
            } else {
                break;
            }
        }
        if (r == run && *r != '\0') {
            n = space_at(r, &breaks);
            if (n > 0) {
                pending = true;
                r += n;
                continue;
            }
            r++; /* a lead byte of a character that is not white space */
        }
        if (r == run) {
            break; /* the end */
        }
        if (pending && w != (unsigned char *)s) {
            if (keep_paragraphs && breaks >= 2) {
                *w++ = '\n';
            }
            *w++ = keep_paragraphs && breaks >= 2 ? '\n' : ' ';
        }
        pending = false;
        breaks = 0;
        if (w != run) {
            memmove(w, run, (size_t)(r - run));
        }
        w += r - run;
    }
    *w = '\0';
}

/* --- HTML ------------------------------------------------------------------------------- */

enum tag_kind {
    TAG_INLINE, /* removed without a trace */
    TAG_BLOCK,  /* becomes a line break */
    TAG_RAW,    /* removed with everything up to its end tag */
};

struct element {
    const char *name;
    enum tag_kind kind;
};

/* HTML element names, sorted (strcmp order) for bsearch(). */
static const struct element elements[] = {
    { "a", TAG_INLINE },         { "abbr", TAG_INLINE },     { "acronym", TAG_INLINE },
    { "address", TAG_BLOCK },    { "area", TAG_INLINE },     { "article", TAG_BLOCK },
    { "aside", TAG_BLOCK },      { "audio", TAG_INLINE },    { "b", TAG_INLINE },
    { "base", TAG_INLINE },      { "bdi", TAG_INLINE },      { "bdo", TAG_INLINE },
    { "big", TAG_INLINE },       { "blink", TAG_INLINE },    { "blockquote", TAG_BLOCK },
    { "body", TAG_BLOCK },       { "br", TAG_BLOCK },        { "button", TAG_INLINE },
    { "canvas", TAG_INLINE },    { "caption", TAG_BLOCK },   { "center", TAG_BLOCK },
    { "cite", TAG_INLINE },      { "code", TAG_INLINE },     { "col", TAG_INLINE },
    { "colgroup", TAG_INLINE },  { "data", TAG_INLINE },     { "datalist", TAG_INLINE },
    { "dd", TAG_BLOCK },         { "del", TAG_INLINE },      { "details", TAG_BLOCK },
    { "dfn", TAG_INLINE },       { "dialog", TAG_BLOCK },    { "dir", TAG_BLOCK },
    { "div", TAG_BLOCK },        { "dl", TAG_BLOCK },        { "dt", TAG_BLOCK },
    { "em", TAG_INLINE },        { "embed", TAG_INLINE },    { "fieldset", TAG_BLOCK },
    { "figcaption", TAG_BLOCK }, { "figure", TAG_BLOCK },    { "font", TAG_INLINE },
    { "footer", TAG_BLOCK },     { "form", TAG_BLOCK },      { "frame", TAG_INLINE },
    { "frameset", TAG_INLINE },  { "h1", TAG_BLOCK },        { "h2", TAG_BLOCK },
    { "h3", TAG_BLOCK },         { "h4", TAG_BLOCK },        { "h5", TAG_BLOCK },
    { "h6", TAG_BLOCK },         { "head", TAG_BLOCK },      { "header", TAG_BLOCK },
    { "hgroup", TAG_BLOCK },     { "hr", TAG_BLOCK },        { "html", TAG_BLOCK },
    { "i", TAG_INLINE },         { "iframe", TAG_INLINE },   { "img", TAG_INLINE },
    { "input", TAG_INLINE },     { "ins", TAG_INLINE },      { "kbd", TAG_INLINE },
    { "label", TAG_INLINE },     { "legend", TAG_BLOCK },    { "li", TAG_BLOCK },
    { "link", TAG_INLINE },      { "main", TAG_BLOCK },      { "map", TAG_INLINE },
    { "mark", TAG_INLINE },      { "marquee", TAG_INLINE },  { "menu", TAG_BLOCK },
    { "meta", TAG_INLINE },      { "meter", TAG_INLINE },    { "nav", TAG_BLOCK },
    { "nobr", TAG_INLINE },      { "noframes", TAG_INLINE }, { "noscript", TAG_INLINE },
    { "object", TAG_INLINE },    { "ol", TAG_BLOCK },        { "optgroup", TAG_INLINE },
    { "option", TAG_BLOCK },     { "output", TAG_INLINE },   { "p", TAG_BLOCK },
    { "param", TAG_INLINE },     { "picture", TAG_INLINE },  { "pre", TAG_BLOCK },
    { "progress", TAG_INLINE },  { "q", TAG_INLINE },        { "rp", TAG_INLINE },
    { "rt", TAG_INLINE },        { "ruby", TAG_INLINE },     { "s", TAG_INLINE },
    { "samp", TAG_INLINE },      { "script", TAG_RAW },      { "section", TAG_BLOCK },
    { "select", TAG_INLINE },    { "small", TAG_INLINE },    { "source", TAG_INLINE },
    { "span", TAG_INLINE },      { "strike", TAG_INLINE },   { "strong", TAG_INLINE },
    { "style", TAG_RAW },        { "sub", TAG_INLINE },      { "summary", TAG_BLOCK },
    { "sup", TAG_INLINE },       { "svg", TAG_INLINE },      { "table", TAG_BLOCK },
    { "tbody", TAG_BLOCK },      { "td", TAG_BLOCK },        { "template", TAG_INLINE },
    { "textarea", TAG_INLINE },  { "tfoot", TAG_BLOCK },     { "th", TAG_BLOCK },
    { "thead", TAG_BLOCK },      { "time", TAG_INLINE },     { "title", TAG_BLOCK },
    { "tr", TAG_BLOCK },         { "track", TAG_INLINE },    { "tt", TAG_INLINE },
    { "u", TAG_INLINE },         { "ul", TAG_BLOCK },        { "var", TAG_INLINE },
    { "video", TAG_INLINE },     { "wbr", TAG_INLINE },
};

#define ELEMENT_NAME_MAX (10)

struct entity {
    const char *name;
    uint32_t cp;
};

/* The HTML 4 named character references plus &apos;, sorted (strcmp order). */
static const struct entity entities[] = {
    { "AElig", 0xC6 },     { "Aacute", 0xC1 },   { "Acirc", 0xC2 },     { "Agrave", 0xC0 },
    { "Alpha", 0x391 },    { "Aring", 0xC5 },    { "Atilde", 0xC3 },    { "Auml", 0xC4 },
    { "Beta", 0x392 },     { "Ccedil", 0xC7 },   { "Chi", 0x3A7 },      { "Dagger", 0x2021 },
    { "Delta", 0x394 },    { "ETH", 0xD0 },      { "Eacute", 0xC9 },    { "Ecirc", 0xCA },
    { "Egrave", 0xC8 },    { "Epsilon", 0x395 }, { "Eta", 0x397 },      { "Euml", 0xCB },
    { "Gamma", 0x393 },    { "Iacute", 0xCD },   { "Icirc", 0xCE },     { "Igrave", 0xCC },
    { "Iota", 0x399 },     { "Iuml", 0xCF },     { "Kappa", 0x39A },    { "Lambda", 0x39B },
    { "Mu", 0x39C },       { "Ntilde", 0xD1 },   { "Nu", 0x39D },       { "OElig", 0x152 },
    { "Oacute", 0xD3 },    { "Ocirc", 0xD4 },    { "Ograve", 0xD2 },    { "Omega", 0x3A9 },
    { "Omicron", 0x39F },  { "Oslash", 0xD8 },   { "Otilde", 0xD5 },    { "Ouml", 0xD6 },
    { "Phi", 0x3A6 },      { "Pi", 0x3A0 },      { "Prime", 0x2033 },   { "Psi", 0x3A8 },
    { "Rho", 0x3A1 },      { "Scaron", 0x160 },  { "Sigma", 0x3A3 },    { "THORN", 0xDE },
    { "Tau", 0x3A4 },      { "Theta", 0x398 },   { "Uacute", 0xDA },    { "Ucirc", 0xDB },
    { "Ugrave", 0xD9 },    { "Upsilon", 0x3A5 }, { "Uuml", 0xDC },      { "Xi", 0x39E },
    { "Yacute", 0xDD },    { "Yuml", 0x178 },    { "Zeta", 0x396 },     { "aacute", 0xE1 },
    { "acirc", 0xE2 },     { "acute", 0xB4 },    { "aelig", 0xE6 },     { "agrave", 0xE0 },
    { "alefsym", 0x2135 }, { "alpha", 0x3B1 },   { "amp", 0x26 },       { "and", 0x2227 },
    { "ang", 0x2220 },     { "apos", 0x27 },     { "aring", 0xE5 },     { "asymp", 0x2248 },
    { "atilde", 0xE3 },    { "auml", 0xE4 },     { "bdquo", 0x201E },   { "beta", 0x3B2 },
    { "brvbar", 0xA6 },    { "bull", 0x2022 },   { "cap", 0x2229 },     { "ccedil", 0xE7 },
    { "cedil", 0xB8 },     { "cent", 0xA2 },     { "chi", 0x3C7 },      { "circ", 0x2C6 },
    { "clubs", 0x2663 },   { "cong", 0x2245 },   { "copy", 0xA9 },      { "crarr", 0x21B5 },
    { "cup", 0x222A },     { "curren", 0xA4 },   { "dArr", 0x21D3 },    { "dagger", 0x2020 },
    { "darr", 0x2193 },    { "deg", 0xB0 },      { "delta", 0x3B4 },    { "diams", 0x2666 },
    { "divide", 0xF7 },    { "eacute", 0xE9 },   { "ecirc", 0xEA },     { "egrave", 0xE8 },
    { "empty", 0x2205 },   { "emsp", 0x2003 },   { "ensp", 0x2002 },    { "epsilon", 0x3B5 },
    { "equiv", 0x2261 },   { "eta", 0x3B7 },     { "eth", 0xF0 },       { "euml", 0xEB },
    { "euro", 0x20AC },    { "exist", 0x2203 },  { "fnof", 0x192 },     { "forall", 0x2200 },
    { "frac12", 0xBD },    { "frac14", 0xBC },   { "frac34", 0xBE },    { "frasl", 0x2044 },
    { "gamma", 0x3B3 },    { "ge", 0x2265 },     { "gt", 0x3E },        { "hArr", 0x21D4 },
    { "harr", 0x2194 },    { "hearts", 0x2665 }, { "hellip", 0x2026 },  { "iacute", 0xED },
    { "icirc", 0xEE },     { "iexcl", 0xA1 },    { "igrave", 0xEC },    { "image", 0x2111 },
    { "infin", 0x221E },   { "int", 0x222B },    { "iota", 0x3B9 },     { "iquest", 0xBF },
    { "isin", 0x2208 },    { "iuml", 0xEF },     { "kappa", 0x3BA },    { "lArr", 0x21D0 },
    { "lambda", 0x3BB },   { "lang", 0x2329 },   { "laquo", 0xAB },     { "larr", 0x2190 },
    { "lceil", 0x2308 },   { "ldquo", 0x201C },  { "le", 0x2264 },      { "lfloor", 0x230A },
    { "lowast", 0x2217 },  { "loz", 0x25CA },    { "lrm", 0x200E },     { "lsaquo", 0x2039 },
    { "lsquo", 0x2018 },   { "lt", 0x3C },       { "macr", 0xAF },      { "mdash", 0x2014 },
    { "micro", 0xB5 },     { "middot", 0xB7 },   { "minus", 0x2212 },   { "mu", 0x3BC },
    { "nabla", 0x2207 },   { "nbsp", 0xA0 },     { "ndash", 0x2013 },   { "ne", 0x2260 },
    { "ni", 0x220B },      { "not", 0xAC },      { "notin", 0x2209 },   { "nsub", 0x2284 },
    { "ntilde", 0xF1 },    { "nu", 0x3BD },      { "oacute", 0xF3 },    { "ocirc", 0xF4 },
    { "oelig", 0x153 },    { "ograve", 0xF2 },   { "oline", 0x203E },   { "omega", 0x3C9 },
    { "omicron", 0x3BF },  { "oplus", 0x2295 },  { "or", 0x2228 },      { "ordf", 0xAA },
    { "ordm", 0xBA },      { "oslash", 0xF8 },   { "otilde", 0xF5 },    { "otimes", 0x2297 },
    { "ouml", 0xF6 },      { "para", 0xB6 },     { "part", 0x2202 },    { "permil", 0x2030 },
    { "perp", 0x22A5 },    { "phi", 0x3C6 },     { "pi", 0x3C0 },       { "piv", 0x3D6 },
    { "plusmn", 0xB1 },    { "pound", 0xA3 },    { "prime", 0x2032 },   { "prod", 0x220F },
    { "prop", 0x221D },    { "psi", 0x3C8 },     { "quot", 0x22 },      { "rArr", 0x21D2 },
    { "radic", 0x221A },   { "rang", 0x232A },   { "raquo", 0xBB },     { "rarr", 0x2192 },
    { "rceil", 0x2309 },   { "rdquo", 0x201D },  { "real", 0x211C },    { "reg", 0xAE },
    { "rfloor", 0x230B },  { "rho", 0x3C1 },     { "rlm", 0x200F },     { "rsaquo", 0x203A },
    { "rsquo", 0x2019 },   { "sbquo", 0x201A },  { "scaron", 0x161 },   { "sdot", 0x22C5 },
    { "sect", 0xA7 },      { "shy", 0xAD },      { "sigma", 0x3C3 },    { "sigmaf", 0x3C2 },
    { "sim", 0x223C },     { "spades", 0x2660 }, { "sub", 0x2282 },     { "sube", 0x2286 },
    { "sum", 0x2211 },     { "sup", 0x2283 },    { "sup1", 0xB9 },      { "sup2", 0xB2 },
    { "sup3", 0xB3 },      { "supe", 0x2287 },   { "szlig", 0xDF },     { "tau", 0x3C4 },
    { "there4", 0x2234 },  { "theta", 0x3B8 },   { "thetasym", 0x3D1 }, { "thinsp", 0x2009 },
    { "thorn", 0xFE },     { "tilde", 0x2DC },   { "times", 0xD7 },     { "trade", 0x2122 },
    { "uArr", 0x21D1 },    { "uacute", 0xFA },   { "uarr", 0x2191 },    { "ucirc", 0xFB },
    { "ugrave", 0xF9 },    { "uml", 0xA8 },      { "upsih", 0x3D2 },    { "upsilon", 0x3C5 },
    { "uuml", 0xFC },      { "weierp", 0x2118 }, { "xi", 0x3BE },       { "yacute", 0xFD },
    { "yen", 0xA5 },       { "yuml", 0xFF },     { "zeta", 0x3B6 },     { "zwj", 0x200D },
    { "zwnj", 0x200C },
};

#define ENTITY_NAME_MAX (8)

/* What browsers make of &#128; to &#159;: the windows-1252 characters. */
static const uint16_t cp1252[32] = {
    0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178,
};

static int cmp_element(const void *key, const void *elem)
{
    return strcmp(key, ((const struct element *)elem)->name);
}

static int cmp_entity(const void *key, const void *elem)
{
    return strcmp(key, ((const struct entity *)elem)->name);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* True for the characters that may end a tag name. */
static bool is_name_end(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>' ||
           c == '\0';
}

/*
 * When p starts the name of a known element (a run of at most ELEMENT_NAME_MAX letters and
 * digits) followed by white space, '/', '>' or the end, returns its kind and stores the
 * name's length in *len; else returns -1. With loose, any character that is not a letter or
 * digit may end the name: the escaping side must catch everything a later pass might read as
 * a tag after white space has been normalised (U+00A0 becomes ' ', for one).
 */
static int element_at(const char *p, size_t *len, bool loose)
{
    char name[ELEMENT_NAME_MAX + 1];
    const struct element *e = NULL;
    size_t n = 0;

    if (!is_alpha(p[0])) {
        return -1;
    }
    while (is_alnum(p[n])) {
        if (n == ELEMENT_NAME_MAX) {
            return -1;
        }
        name[n] = (char)(p[n] >= 'A' && p[n] <= 'Z' ? p[n] + ('a' - 'A') : p[n]);
        n++;
    }
    if (!loose && !is_name_end(p[n])) {
        return -1;
    }
    name[n] = '\0';
    e = bsearch(name, elements, sizeof(elements) / sizeof(elements[0]), sizeof(elements[0]),
                cmp_element);
    if (e == NULL) {
        return -1;
    }
    *len = n;
    return (int)e->kind;
}

/* Maps a numeric reference's value to the character browsers show for it. */
static uint32_t numeric_ref_char(uint32_t v)
{
    if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
        return 0xFFFD;
    }
    if (v >= 0x80 && v <= 0x9F) {
        return cp1252[v - 0x80];
    }
    return v;
}

/* Reads the digits of a numeric reference after "&#"; returns the length of the whole
 * reference (from '&') or 0 when it is not one. */
static size_t numeric_ref_at(const char *s, uint32_t *cp)
{
    const char *p = s + 2;
    bool hex = false;
    uint32_t v = 0;
    int digits = 0;

    if (*p == 'x' || *p == 'X') {
        hex = true;
        p++;
    }
    for (;; p++) {
        int d = hex ? hex_value(*p) : (*p >= '0' && *p <= '9' ? *p - '0' : -1);

        if (d < 0) {
            break;
        }
        if (++digits > 8) {
            return 0;
        }
        v = v * (hex ? 16U : 10U) + (uint32_t)d;
    }
    if (digits == 0 || *p != ';') {
        return 0;
    }
    *cp = numeric_ref_char(v);
    return (size_t)(p + 1 - s);
}

/* When s (at a '&') starts a character reference, returns its length and stores the
 * character in *cp; else returns 0. */
static size_t ref_at(const char *s, uint32_t *cp)
{
    char name[ENTITY_NAME_MAX + 1];
    const struct entity *e = NULL;
    size_t n = 0;

    if (s[1] == '#') {
        return numeric_ref_at(s, cp);
    }
    while (is_alnum(s[1 + n])) {
        if (n == ENTITY_NAME_MAX) {
            return 0;
        }
        name[n] = s[1 + n];
        n++;
    }
    if (n == 0 || s[1 + n] != ';') {
        return 0;
    }
    name[n] = '\0';
    e = bsearch(name, entities, sizeof(entities) / sizeof(entities[0]), sizeof(entities[0]),
                cmp_entity);
    if (e == NULL) {
        return 0;
    }
    *cp = e->cp;
    return n + 2;
}

/* True when the '<' at p could be read as markup: '<!', '<?', or '<' + optional '/' + a known
 * element name. Looser than the stripper on purpose (see element_at()). */
static bool lt_may_be_markup(const char *p)
{
    size_t n = 0;

    if (p[1] == '!' || p[1] == '?') {
        return true;
    }
    return element_at(p[1] == '/' ? p + 2 : p + 1, &n, true) >= 0;
}

/* True when the '<' or '&' at p must be escaped; last_gt is the text's last '>' (markup
 * needs one after its '<'). */
static bool needs_escape(const char *p, const char *last_gt)
{
    uint32_t cp = 0;

    if (*p == '<') {
        return last_gt != NULL && last_gt > p && lt_may_be_markup(p);
    }
    return ref_at(p, &cp) > 0;
}

/*
 * Writes back as "&lt;" / "&amp;" each '<' and '&' of t that a second stripping would read
 * as markup. Takes ownership of t; returns t itself, a new string, or NULL (t freed) when
 * out of memory.
 */
static char *escape_markup(char *t)
{
    size_t extra = 0;
    size_t len = 0;
    char *out = NULL;
    char *w = NULL;
    const char *r = t;
    const char *last_gt = strrchr(t, '>');

    for (const char *p = strpbrk(t, "<&"); p != NULL; p = strpbrk(p + 1, "<&")) {
        if (needs_escape(p, last_gt)) {
            extra += *p == '<' ? 3 : 4;
        }
    }
    if (extra == 0) {
        return t;
    }
    len = strlen(t);
    out = malloc(len + extra + 1);
    if (out == NULL) {
        free(t);
        return NULL;
    }
    w = out;
    for (;;) {
        size_t n = strcspn(r, "<&");

        memcpy(w, r, n);
        w += n;
        r += n;
        if (*r == '\0') {
            break;
        }
        if (needs_escape(r, last_gt)) {
            const char *rep = *r == '<' ? "&lt;" : "&amp;";
            size_t rn = *r == '<' ? 4 : 5;

            memcpy(w, rep, rn);
            w += rn;
        } else {
            *w++ = *r;
        }
        r++;
    }
    *w = '\0';
    free(t);
    return out;
}

/* The state of one np_text_strip_html() pass. */
struct strip {
    char *out;           /* output buffer, as long as the input */
    size_t w;            /* bytes written */
    const char *gt;      /* the '>' the last plain search found, or NULL */
    bool no_gt;          /* a plain search reached the end: no '>' after it */
    bool quotes_ok;      /* quotes in tags still pair up; else a tag ends at its first '>' */
    bool no_comment_end; /* there is no "-->" after the last comment opener */
    bool marked;         /* the output holds '<' or '&': run escape_markup() */
};

/* Returns the first '>' from p that is not inside a quoted attribute value, or NULL. */
static const char *quoted_tag_end(const char *p)
{
    char quote = 0;

    for (const char *c = p; *c != '\0'; c++) {
        if (quote != 0) {
            if (*c == quote) {
                quote = 0;
            }
        } else if (*c == '"' || *c == '\'') {
            quote = *c;
        } else if (*c == '>') {
            return c;
        }
    }
    return NULL;
}

/*
 * Returns the '>' that closes a tag whose inside starts at p, or NULL. Quoted attribute values
 * may hold '>'; after the first unbalanced quote, quotes are ignored for the rest of the text,
 * so no position is scanned twice for nothing.
 */
static const char *find_tag_end(struct strip *st, const char *p)
{
    if (st->quotes_ok) {
        const char *end = quoted_tag_end(p);

        if (end != NULL) {
            return end;
        }
        st->quotes_ok = false;
    }
    if (st->gt != NULL && st->gt >= p) {
        return st->gt;
    }
    if (st->no_gt) {
        return NULL;
    }
    st->gt = strchr(p, '>');
    st->no_gt = st->gt == NULL;
    return st->gt;
}

/* Returns where the text goes on after the raw-text element (script, style) named name[0..n),
 * whose content starts at p: after its end tag, or the end of the text when there is none. */
static const char *skip_raw_text(struct strip *st, const char *p, const char *name, size_t n)
{
    for (const char *q = strchr(p, '<'); q != NULL; q = strchr(q + 1, '<')) {
        size_t i = 0;

        if (q[1] != '/') {
            continue;
        }
        while (i < n && (q[2 + i] | 0x20) == (name[i] | 0x20)) {
            i++;
        }
        if (i == n && is_name_end(q[2 + n])) {
            const char *end = find_tag_end(st, q + 2 + n);

            return end != NULL ? end + 1 : q + strlen(q);
        }
    }
    return p + strlen(p);
}

static const char *emit_literal(struct strip *st, const char *p)
{
    st->out[st->w++] = *p;
    st->marked = true;
    return p + 1;
}

/* Handles the '<' at p: skips the markup it starts, or copies it as text. Returns where to go
 * on. */
static const char *strip_lt(struct strip *st, const char *p)
{
    const char *q = p + 1;
    const char *end = NULL;
    size_t n = 0;
    bool closing = false;
    int kind;

    if (q[0] == '!' && q[1] == '-' && q[2] == '-') {
        end = st->no_comment_end ? NULL : strstr(q + 3, "-->");
        if (end == NULL) {
            st->no_comment_end = true;
            return emit_literal(st, p);
        }
        return end + 3;
    }
    if (q[0] == '!' || q[0] == '?') {
        end = find_tag_end(st, q + 1);
        return end != NULL ? end + 1 : emit_literal(st, p);
    }
    if (q[0] == '/') {
        closing = true;
        q++;
    }
    kind = element_at(q, &n, false);
    if (kind < 0) {
        return emit_literal(st, p);
    }
    end = find_tag_end(st, q + n);
    if (end == NULL) {
        return emit_literal(st, p);
    }
    if (kind == TAG_BLOCK) {
        st->out[st->w++] = '\n';
    } else if (kind == TAG_RAW && !closing) {
        return skip_raw_text(st, end + 1, q, n);
    }
    return end + 1;
}

/* Handles the '&' at p: decodes the reference it starts, or copies it as text. */
static const char *strip_amp(struct strip *st, const char *p)
{
    uint32_t cp = 0;
    size_t n = ref_at(p, &cp);

    if (n == 0) {
        return emit_literal(st, p);
    }
    if (cp == '<' || cp == '&') {
        st->marked = true;
    }
    st->w += np_utf8_put(st->out + st->w, cp);
    return p + n;
}

char *np_text_strip_html(const char *s)
{
    size_t len = strlen(s);
    struct strip st = { .quotes_ok = true };
    const char *p = s;

    st.out = malloc(len + 1);
    if (st.out == NULL) {
        return NULL;
    }
    for (;;) {
        size_t n = strcspn(p, "<&");

        memcpy(st.out + st.w, p, n);
        st.w += n;
        p += n;
        if (*p == '\0') {
            break;
        }
        p = *p == '<' ? strip_lt(&st, p) : strip_amp(&st, p);
    }
    st.out[st.w] = '\0';
    return st.marked ? escape_markup(st.out) : st.out;
}
