/* url.c - normalises the article URLs clients send, so the same page gets the same id
 *
 * Chosen: a small single-pass normaliser for absolute http(s) URLs only (what a news article
 * links to). Scheme and host are lower-cased, a default port (:80, :443) and an empty port
 * are dropped, the fragment is dropped, tracking parameters are removed from the query (the
 * rest keep their order and spelling; empty ones such as "a=1&&b=2" collapse), a query left
 * empty loses its '?', and an empty path becomes "/". Userinfo ("user@") is kept when a host
 * follows it. Rejected: percent-decoding, dot-segment removal and IDN conversion, which would
 * need a full URL parser and can change what the server sees. Any white space, control
 * character or DEL makes the URL invalid (clients must percent-encode).
 */
#include "np/url.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Query parameters that only track the reader: matched on the name, ignoring case. */
static const char *const tracking_params[] = {
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "_ga", "ref_src",
};

static char lower(char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static bool prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t i = 0;

    for (; prefix[i] != '\0'; i++) {
        if (i >= len || lower(s[i]) != prefix[i]) {
            return false;
        }
    }
    return true;
}

/* True when the parameter p[0..len) ("name" or "name=value") is a tracking parameter. */
static bool is_tracking(const char *p, size_t len)
{
    size_t name_len = 0;

    while (name_len < len && p[name_len] != '=') {
        name_len++;
    }
    if (prefix_ci(p, name_len, "utm_")) {
        return true;
    }
    for (size_t i = 0; i < sizeof(tracking_params) / sizeof(tracking_params[0]); i++) {
        if (strlen(tracking_params[i]) == name_len && prefix_ci(p, name_len, tracking_params[i])) {
            return true;
        }
    }
    return false;
}

/* True for the characters a host name may not hold (RFC 3986 forbids them; browsers too). */
static bool bad_host_char(char c)
{
    return strchr("<>\"{}|\\^` ", c) != NULL;
}

/* Appends the query q[0..len) (without '?') to w without tracking parameters; returns the new
 * end. Writes the '?' only when a parameter is kept. */
static char *append_query(char *w, const char *q, size_t len)
{
    const char *end = q + len;
    bool first = true;

    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = amp != NULL ? (size_t)(amp - q) : (size_t)(end - q);

        if (n > 0 && !is_tracking(q, n)) {
            *w++ = first ? '?' : '&';
            memcpy(w, q, n);
            w += n;
            first = false;
        }
        q += n + (amp != NULL ? 1 : 0);
    }
    return w;
}

/* Checks the authority host[0..len) (without userinfo); stores where the port starts (its ':')
 * in *port, or NULL. Returns NULL when fine or a reason. */
static const char *check_host(const char *host, size_t len, const char **port)
{
    const char *p = host;
    const char *end = host + len;

    *port = NULL;
    if (len > 0 && host[0] == '[') {
        p = memchr(host, ']', len);
        if (p == NULL) {
            return "has an unterminated IPv6 address";
        }
        p++;
        if (p < end && *p != ':') {
            return "has characters after its IPv6 address";
        }
    } else {
        for (; p < end && *p != ':'; p++) {
            if (bad_host_char(*p) || *p == '[' || *p == ']') {
                return "has an invalid character in its host";
            }
        }
    }
    if (p == host) {
        return "has no host";
    }
    if (p < end) {
        *port = p;
        for (const char *d = p + 1; d < end; d++) {
            if (*d < '0' || *d > '9') {
                return "has a port that is not a number";
            }
        }
    }
    return NULL;
}

/* Writes the port at port (its ':') up to end, without a default or empty port. Returns the
 * new end of w, or NULL when the port is out of range. */
static char *append_port(char *w, const char *port, const char *end, bool https)
{
    long value = 0;
    const char *d = port + 1;

    if (d == end) {
        return w;
    }
    while (d < end && *d == '0' && d + 1 < end) {
        d++;
    }
    if (end - d > 5) {
        return NULL;
    }
    for (const char *c = d; c < end; c++) {
        value = value * 10 + (*c - '0');
    }
    if (value < 1 || value > 65535) {
        return NULL;
    }
    if (value == (https ? 443 : 80)) {
        return w;
    }
    *w++ = ':';
    memcpy(w, d, (size_t)(end - d));
    return w + (end - d);
}

int np_url_normalise(const char *url, const char *field, char **out, struct np_err *err)
{
    size_t len = strlen(url);
    bool https = false;
    const char *p = url;
    const char *auth = NULL;
    const char *auth_end = NULL;
    const char *host = NULL;
    const char *port = NULL;
    const char *path = NULL;
    const char *query = NULL;
    const char *frag = NULL;
    const char *why = NULL;
    char *res = NULL;
    char *w = NULL;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (c <= 0x20 || c == 0x7F) {
            return np_err_set(err, NP_EINVAL, field,
                              "must not contain white space or control characters (byte %zu)", i);
        }
    }
    if (prefix_ci(url, len, "http://")) {
        p = url + 7;
    } else if (prefix_ci(url, len, "https://")) {
        p = url + 8;
        https = true;
    } else {
        return np_err_set(err, NP_EINVAL, field,
                          "must be an absolute http or https URL (\"http://host/...\")");
    }
    auth = p;
    auth_end = p + strcspn(p, "/?#");
    host = auth;
    for (const char *c = auth; c < auth_end; c++) {
        if (*c == '@') {
            host = c + 1; /* the last '@' ends the userinfo */
        }
    }
    why = check_host(host, (size_t)(auth_end - host), &port);
    if (why != NULL) {
        return np_err_set(err, NP_EINVAL, field, "%s", why);
    }
    frag = auth_end + strcspn(auth_end, "#");
    path = auth_end;
    query = path + strcspn(path, "?#");
    res = malloc(len + 2); /* an added "/" at most */
    if (res == NULL) {
        return np_err_set(err, NP_ENOMEM, field, "out of memory");
    }
    memcpy(res, https ? "https://" : "http://", https ? 8 : 7);
    w = res + (https ? 8 : 7);
    memcpy(w, auth, (size_t)(host - auth));
    w += host - auth;
    for (const char *c = host; c < (port != NULL ? port : auth_end); c++) {
        *w++ = lower(*c);
    }
    if (port != NULL) {
        w = append_port(w, port, auth_end, https);
        if (w == NULL) {
            free(res);
            return np_err_set(err, NP_EINVAL, field, "has a port out of range (1 to 65535)");
        }
    }
    if (query == path) {
        *w++ = '/';
    } else {
        memcpy(w, path, (size_t)(query - path));
        w += query - path;
    }
    if (query < frag) {
        w = append_query(w, query + 1, (size_t)(frag - query - 1));
    }
    *w = '\0';
    *out = res;
    return 0;
}
