/* url.h - normalises the article URLs clients send, so the same page gets the same id */
#ifndef NP_URL_H
#define NP_URL_H

#include "np/err.h"

/*
 * Normalises an absolute http(s) URL: scheme and host in lower case, default port removed,
 * fragment removed, tracking parameters (utm_*, fbclid, gclid, ...) removed, empty path "/".
 * Returns a new string (free()) in *out and 0, or NP_EINVAL with err naming `field`.
 */
int np_url_normalise(const char *url, const char *field, char **out, struct np_err *err);

#endif /* NP_URL_H */
