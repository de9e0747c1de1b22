/* time.c - the dates clients send: ISO 8601 / RFC 3339, RFC 2822 and the sample's layout
 *
 * Accepted (leading and trailing white space ignored, names case-insensitive):
 *   ISO 8601 / RFC 3339  2025-09-02, 2025-09-02T18:52, 2025-09-02T18:52:00.123456Z,
 *                        2025-09-02 18:52:00+04:00 (also +0400, +04, Z, or " UTC" etc.)
 *   RFC 2822             [Tue, ]02 Sep 2025 14:52[:00] -0400 (or a zone name; full month and
 *                        weekday names and two-digit years, as RFC 2822's obsolete syntax, too)
 *   the sample's layout  09/02/2025, 14:52:00 EDT (MM/DD/YYYY, the comma optional)
 * Zone names: UT, GMT, UTC, Z, EST, EDT, CST, CDT, MST, MDT, PST, PDT. No zone means UTC.
 * Fractions keep microseconds (further digits are dropped). Second 60 (a leap second) is
 * accepted and counts as the first second of the next minute. A weekday is checked for being
 * a weekday name, not for matching the date: feeds get it wrong more often than the date.
 *
 * UTC is computed with days-from-civil arithmetic (Howard Hinnant's algorithm), never with
 * timegm() or the TZ environment, so the result depends on nothing but the string.
 */
#include "np/time.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define US_PER_SEC (1000000LL)

/* A broken-down date being parsed. */
struct civil {
    int year, month, day, hour, minute, second;
    int64_t micros;
    int offset; /* seconds east of UTC */
};

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

static const char *const weekday_names[7] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
};

struct zone {
    const char *name;
    int hours;
};

static const struct zone zones[] = {
    { "UT", 0 },   { "UTC", 0 },  { "GMT", 0 },  { "Z", 0 },    { "EST", -5 }, { "EDT", -4 },
    { "CST", -6 }, { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char lower(char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* Reads min..max digits at *p into *v and advances *p. */
static bool read_int(const char **p, int min, int max, int *v)
{
    int n = 0;
    int value = 0;

    while (n < max && is_digit((*p)[n])) {
        value = value * 10 + ((*p)[n] - '0');
        n++;
    }
    if (n < min || is_digit((*p)[n])) {
        return false;
    }
    *p += n;
    *v = value;
    return true;
}

static bool read_char(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    (*p)++;
    return true;
}

static void skip_spaces(const char **p)
{
    while (is_space(**p)) {
        (*p)++;
    }
}

/* Reads a word of letters at *p (at most cap - 1, lower-cased) into buf; returns its length. */
static size_t read_word(const char **p, char *buf, size_t cap)
{
    size_t n = 0;

    while (((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z'))) {
        if (n + 1 >= cap) {
            return 0;
        }
        buf[n++] = lower(**p);
        (*p)++;
    }
    buf[n] = '\0';
    return n;
}

/* True when word (lower case) is one of names, whole or as its first three letters. */
static int find_name(const char *word, const char *const *names, int count)
{
    size_t len = strlen(word);

    for (int i = 0; i < count; i++) {
        if ((len == 3 && strncmp(word, names[i], 3) == 0) || strcmp(word, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* Reads "HH:MM[:SS[.ffffff]]" into c. */
static bool read_time(const char **p, struct civil *c)
{
    if (!read_int(p, 2, 2, &c->hour) || !read_char(p, ':') || !read_int(p, 2, 2, &c->minute)) {
        return false;
    }
    if (!read_char(p, ':')) {
        return true;
    }
    if (!read_int(p, 2, 2, &c->second)) {
        return false;
    }
    if (**p == '.' || **p == ',') {
        int64_t scale = US_PER_SEC / 10;

        (*p)++;
        if (!is_digit(**p)) {
            return false;
        }
        for (; is_digit(**p); (*p)++) {
            c->micros += (**p - '0') * scale;
            scale /= 10;
        }
    }
    return true;
}

/* Reads a zone: "Z", a name, "+HH", "+HHMM" or "+HH:MM" into c->offset; nothing is UTC. */
static bool read_zone(const char **p, struct civil *c)
{
    char word[8];
    int sign = 0;
    int hh = 0;
    int mm = 0;

    if (**p == '+' || **p == '-') {
        sign = **p == '+' ? 1 : -1;
        (*p)++;
        /* Exactly two digits: "+0400" goes on with the minutes. */
        if (!is_digit((*p)[0]) || !is_digit((*p)[1])) {
            return false;
        }
        hh = ((*p)[0] - '0') * 10 + ((*p)[1] - '0');
        *p += 2;
        if (**p == ':') {
            (*p)++;
            if (!read_int(p, 2, 2, &mm)) {
                return false;
            }
        } else if (is_digit(**p) && !read_int(p, 2, 2, &mm)) {
            return false;
        }
        if (hh > 23 || mm > 59) {
            return false;
        }
        c->offset = sign * (hh * 3600 + mm * 60);
        return true;
    }
    if (read_word(p, word, sizeof(word)) == 0) {
        return **p == '\0';
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        size_t j = 0;

        while (zones[i].name[j] != '\0' && lower(zones[i].name[j]) == word[j]) {
            j++;
        }
        if (zones[i].name[j] == '\0' && word[j] == '\0') {
            c->offset = zones[i].hours * 3600;
            return true;
        }
    }
    return false;
}

/* Reads an optional zone after a time, with or without a space before it, up to the end. */
static bool read_zone_to_end(const char **p, struct civil *c)
{
    skip_spaces(p);
    return read_zone(p, c) && **p == '\0';
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.f]][zone]] */
static bool parse_iso(const char *p, struct civil *c)
{
    if (!read_int(&p, 4, 4, &c->year) || !read_char(&p, '-') || !read_int(&p, 2, 2, &c->month) ||
        !read_char(&p, '-') || !read_int(&p, 2, 2, &c->day)) {
        return false;
    }
    if (*p == '\0') {
        return true;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') {
        return false;
    }
    p++;
    return read_time(&p, c) && read_zone_to_end(&p, c);
}

/* [Wday[,]] D[D] Mon YYYY HH:MM[:SS] [zone] */
static bool parse_rfc2822(const char *p, struct civil *c)
{
    char word[16];

    if (!is_digit(*p)) {
        if (read_word(&p, word, sizeof(word)) == 0 || find_name(word, weekday_names, 7) < 0) {
            return false;
        }
        read_char(&p, ',');
        skip_spaces(&p);
    }
    if (!read_int(&p, 1, 2, &c->day) || !is_space(*p)) {
        return false;
    }
    skip_spaces(&p);
    if (read_word(&p, word, sizeof(word)) == 0) {
        return false;
    }
    c->month = find_name(word, month_names, 12) + 1;
    if (c->month == 0 || !is_space(*p)) {
        return false;
    }
    skip_spaces(&p);
    if (read_int(&p, 4, 4, &c->year)) {
        /* four digits */
    } else if (read_int(&p, 2, 2, &c->year)) {
        c->year += c->year < 50 ? 2000 : 1900;
    } else {
        return false;
    }
    if (*p == '\0') {
        return true;
    }
    if (!is_space(*p)) {
        return false;
    }
    skip_spaces(&p);
    return read_time(&p, c) && read_zone_to_end(&p, c);
}

/* MM/DD/YYYY[,] HH:MM[:SS] [zone] */
static bool parse_us(const char *p, struct civil *c)
{
    if (!read_int(&p, 1, 2, &c->month) || !read_char(&p, '/') || !read_int(&p, 1, 2, &c->day) ||
        !read_char(&p, '/') || !read_int(&p, 4, 4, &c->year)) {
        return false;
    }
    if (*p == '\0') {
        return true;
    }
    read_char(&p, ',');
    if (!is_space(*p)) {
        return false;
    }
    skip_spaces(&p);
    return read_time(&p, c) && read_zone_to_end(&p, c);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era;
    int64_t doe;
    int64_t yoe;
    int64_t doy;
    int64_t mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int np_time_parse(const char *s, const char *field, int64_t *out, struct np_err *err)
{
    struct civil c = { 0 };
    char buf[80];
    size_t len;
    bool ok;
    int64_t secs;

    while (is_space(*s)) {
        s++;
    }
    len = strlen(s);
    while (len > 0 && is_space(s[len - 1])) {
        len--;
    }
    if (len == 0) {
        return np_err_set(err, NP_EINVAL, field, "must be a date, got an empty string");
    }
    if (len >= sizeof(buf)) {
        return np_err_set(err, NP_EINVAL, field, "is not a date: too long (%zu bytes)", len);
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (is_digit(buf[0]) && is_digit(buf[1]) && is_digit(buf[2]) && is_digit(buf[3]) &&
        buf[4] == '-') {
        ok = parse_iso(buf, &c);
    } else if (strchr(buf, '/') != NULL) {
        ok = parse_us(buf, &c);
    } else {
        ok = parse_rfc2822(buf, &c);
    }
    if (!ok) {
        return np_err_set(err, NP_EINVAL, field,
                          "cannot read \"%s\" as a date (ISO 8601, RFC 2822 or "
                          "\"MM/DD/YYYY, HH:MM:SS ZONE\")",
                          buf);
    }
    if (c.year < 1 || c.year > 9999 || c.month < 1 || c.month > 12 || c.day < 1 ||
        c.day > days_in_month(c.year, c.month) || c.hour > 23 || c.minute > 59 || c.second > 60) {
        return np_err_set(err, NP_EINVAL, field, "\"%s\" is not a valid date or time", buf);
    }
    secs = days_from_civil(c.year, c.month, c.day) * 86400 + (int64_t)c.hour * 3600 +
           (int64_t)c.minute * 60 + c.second - c.offset;
    *out = secs * US_PER_SEC + c.micros;
    return 0;
}

void np_time_format(int64_t t, char *buf, size_t len)
{
    int64_t secs = t / US_PER_SEC;
    int64_t micros = t % US_PER_SEC;
    int64_t days;
    int64_t rem;
    int64_t y = 0;
    int m = 0;
    int d = 0;

    if (micros < 0) {
        micros += US_PER_SEC;
        secs--;
    }
    days = secs / 86400;
    rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (micros != 0) {
        snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)micros);
    } else {
        snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60));
    }
}

int64_t np_time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
