/* err.h - error codes and the error detail every parser fills in */
#ifndef NP_ERR_H
#define NP_ERR_H

#include <stddef.h>

/*
 * Every function that can fail returns 0 or one of these. The code says what to do next:
 * NP_ETRANSIENT means retry with backoff; NP_EPARSE and NP_EINVAL mean reject the input and
 * never retry it; NP_ESHUTDOWN means stop.
 */
#define NP_OK         (0)
#define NP_ENOMEM     (-1)
#define NP_EINVAL     (-2)
#define NP_EPARSE     (-3)
#define NP_EDB        (-4)
#define NP_ETRANSIENT (-5)
#define NP_ESHUTDOWN  (-6)
#define NP_EIO        (-7)
#define NP_ETOOBIG    (-8)

/* Longest field name and message kept in a struct np_err, including the NUL. */
#define NP_ERR_FIELD_MAX 64
#define NP_ERR_MSG_MAX   256

/*
 * Why an input was refused: the field it concerns ("" when it concerns the whole message) and a
 * message that names it, e.g. field "title", msg "title: must be a string". Caller-allocated;
 * needs no cleanup.
 */
struct np_err {
    int code;
    char field[NP_ERR_FIELD_MAX];
    char msg[NP_ERR_MSG_MAX];
};

/* Returns a static, human-readable name for an NP_E* code ("invalid input", ...). */
const char *np_strerror(int code);

/*
 * Fills err (when not NULL) with code, field and a printf-style message prefixed by
 * "<field>: " when field is not empty. Both are valid UTF-8 afterwards (a character cut by the
 * buffer's end is dropped, a malformed byte becomes '?'), so they can be sent as JSON. Returns
 * code, so callers can write `return np_err_set(err, NP_EINVAL, "title", "must not be empty");`.
 */
int np_err_set(struct np_err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets err to "no error". Accepts NULL. */
void np_err_clear(struct np_err *err);

#endif /* NP_ERR_H */
