/* time.h - the dates clients send, and the clock the workers measure intervals with */
#ifndef NP_TIME_H
#define NP_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "np/err.h"

/* "Not given": a time that was not sent (np_article.published_at). */
#define NP_TIME_NONE INT64_MIN

/*
 * Parses a date into microseconds since the epoch, UTC: ISO 8601 / RFC 3339 (date, date-time,
 * optional fraction and offset; no offset means UTC), RFC 2822 ("Tue, 02 Sep 2025 14:52:00
 * -0400", zone names UT, GMT, UTC, EST, EDT, CST, CDT, MST, MDT, PST, PDT), and
 * "MM/DD/YYYY, HH:MM:SS ZZZ" with the same zone names (the sample's layout). Returns 0 or
 * NP_EINVAL (err names `field`).
 */
int np_time_parse(const char *s, const char *field, int64_t *out, struct np_err *err);

/* Writes t (microseconds, UTC) as "YYYY-MM-DDTHH:MM:SSZ", adding ".ffffff" when t has a
 * fraction. buf needs 32 bytes. */
void np_time_format(int64_t t, char *buf, size_t len);

/* Milliseconds of CLOCK_MONOTONIC: for timeouts and intervals, never for dates. */
int64_t np_time_now_ms(void);

#endif /* NP_TIME_H */
