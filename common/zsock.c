/* zsock.c - ZeroMQ sockets the way every worker uses them */
#include "np/zsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int map_errno(int e)
{
    switch (e) {
        case EAGAIN:
        case EINTR:
            return NP_ETRANSIENT;
        case ETERM:
            return NP_ESHUTDOWN;
        default:
            return NP_EIO;
    }
}

static int set_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

/* Connects or binds sock to each endpoint of a comma-separated list. */
static int attach_all(void *sock, const char *endpoints, bool bind, struct np_err *err)
{
    char *list = strdup(endpoints);
    char *save = NULL;
    int rc = 0;

    if (list == NULL) {
        return np_err_set(err, NP_ENOMEM, "endpoint", "out of memory");
    }
    for (char *ep = strtok_r(list, ",", &save); ep != NULL; ep = strtok_r(NULL, ",", &save)) {
        int r = bind ? zmq_bind(sock, ep) : zmq_connect(sock, ep);

        if (r != 0) {
            rc = np_err_set(err, NP_EIO, "endpoint", "could not %s \"%s\": %s",
                            bind ? "bind" : "connect", ep, zmq_strerror(zmq_errno()));
            break;
        }
    }
    free(list);
    return rc;
}

/* Sets the CURVE options of opts, if any. Must run before bind/connect. */
static int set_curve(void *sock, const struct np_zsock_opts *opts, struct np_err *err)
{
    static const char domain[] = "newspipe";
    int on = 1;
    int rc = 0;

    if (opts == NULL || opts->curve_secret == NULL) {
        return 0;
    }
    if (opts->curve_server_key == NULL) {
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof(on));
        rc |= zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
    } else {
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, opts->curve_server_key, 40);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, opts->curve_public, 40);
    }
    rc |= zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, opts->curve_secret, 40);
    if (rc != 0) {
        return np_err_set(err, NP_EINVAL, "curve", "could not set CURVE keys: %s",
                          zmq_strerror(zmq_errno()));
    }
    return 0;
}

void *np_zsock_open(void *ctx, int type, const char *endpoints, bool bind,
                    const struct np_zsock_opts *opts, struct np_err *err)
{
    struct np_zsock_opts o = {
        .sndhwm = 1000, .rcvhwm = 1000, .linger_ms = 1000, .maxmsgsize = -1, .sndtimeo_ms = -1
    };
    void *sock = NULL;

    if (opts != NULL) {
        o.sndhwm = opts->sndhwm != 0 ? opts->sndhwm : o.sndhwm;
        o.rcvhwm = opts->rcvhwm != 0 ? opts->rcvhwm : o.rcvhwm;
        o.linger_ms = opts->linger_ms != 0 ? opts->linger_ms : o.linger_ms;
        o.maxmsgsize = opts->maxmsgsize != 0 ? opts->maxmsgsize : o.maxmsgsize;
        o.sndtimeo_ms = opts->sndtimeo_ms != 0 ? opts->sndtimeo_ms : o.sndtimeo_ms;
    }
    sock = zmq_socket(ctx, type);
    if (sock == NULL) {
        np_err_set(err, NP_EIO, "socket", "could not create socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    if (set_int(sock, ZMQ_LINGER, o.linger_ms) != 0 || set_int(sock, ZMQ_SNDHWM, o.sndhwm) != 0 ||
        set_int(sock, ZMQ_RCVHWM, o.rcvhwm) != 0 ||
        set_int(sock, ZMQ_SNDTIMEO, o.sndtimeo_ms) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &o.maxmsgsize, sizeof(o.maxmsgsize)) != 0) {
        np_err_set(err, NP_EIO, "socket", "could not set socket options: %s",
                   zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    if (set_curve(sock, opts, err) != 0 || attach_all(sock, endpoints, bind, err) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

void np_zsock_close(void **sockp)
{
    if (sockp == NULL || *sockp == NULL) {
        return;
    }
    zmq_close(*sockp);
    *sockp = NULL;
}

int np_zsock_last_endpoint(void *sock, char *buf, size_t len)
{
    size_t n = len;

    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, buf, &n) != 0) {
        return NP_EIO;
    }
    return 0;
}

int np_zsock_recv(void *sock, struct np_frames *f, int flags)
{
    int more = 0;
    size_t more_len = sizeof(more);
    zmq_msg_t extra;

    f->n = 0;
    f->total = 0;
    do {
        zmq_msg_t *m = f->n < NP_FRAMES_MAX ? &f->frame[f->n] : &extra;

        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, f->total == 0 ? flags : 0) < 0) {
            int e = zmq_errno();

            zmq_msg_close(m);
            np_frames_close(f);
            return map_errno(e);
        }
        f->total++;
        if (m == &extra) {
            zmq_msg_close(m);
        } else {
            f->n++;
        }
        if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len) != 0) {
            more = 0;
        }
    } while (more);
    return 0;
}

void np_frames_close(struct np_frames *f)
{
    for (size_t i = 0; i < f->n; i++) {
        zmq_msg_close(&f->frame[i]);
    }
    f->n = 0;
}

const void *np_frame_data(struct np_frames *f, size_t i)
{
    return zmq_msg_data(&f->frame[i]);
}

size_t np_frame_size(struct np_frames *f, size_t i)
{
    return zmq_msg_size(&f->frame[i]);
}

int np_zsock_send(void *sock, const void *const *data, const size_t *len, size_t n, int flags)
{
    for (size_t i = 0; i < n; i++) {
        int fl = (i + 1 < n ? ZMQ_SNDMORE : 0) | (i == 0 ? flags : 0);

        if (zmq_send(sock, data[i], len[i], fl) < 0) {
            /* Only the first frame can fail with EAGAIN: once it is queued, ZeroMQ accepts the
             * rest of the message. */
            return map_errno(zmq_errno());
        }
    }
    return 0;
}
