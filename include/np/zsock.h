/* zsock.h - ZeroMQ sockets the way every worker uses them
 *
 * Thin helpers over libzmq: open a socket with the options newspipe always sets (linger,
 * high-water marks, maximum message size), and send or receive a multipart message as a
 * whole. Every function checks libzmq's result and maps errno: EAGAIN -> NP_ETRANSIENT,
 * ETERM -> NP_ESHUTDOWN, EINTR -> NP_ETRANSIENT (the caller re-checks its stop flag).
 */
#ifndef NP_ZSOCK_H
#define NP_ZSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "np/err.h"

/* Most frames a worker reads from one message; more means a malformed message. */
#define NP_FRAMES_MAX 4

/* Options for np_zsock_open(). Zero fields take the defaults shown. */
struct np_zsock_opts {
    int sndhwm;         /* 1000 */
    int rcvhwm;         /* 1000 */
    int linger_ms;      /* 1000 */
    int64_t maxmsgsize; /* -1 (no limit); client-facing sockets set NP_ARTICLE_MAX */
    int sndtimeo_ms;    /* -1 (block) */
    /* CURVE, Z85 keys (borrowed). A server sets curve_secret (its own) and gets ZAP domain
     * "newspipe"; a client sets all three. None set: no encryption. */
    const char *curve_secret;
    const char *curve_public;     /* client: its own public key */
    const char *curve_server_key; /* client: the server's public key */
};

/*
 * Creates a socket of `type` on ctx and binds it (bind true) or connects it to each endpoint of
 * the comma-separated list `endpoints`. Returns the socket (np_zsock_close() it) or NULL with
 * err saying which endpoint failed and why.
 */
void *np_zsock_open(void *ctx, int type, const char *endpoints, bool bind,
                    const struct np_zsock_opts *opts, struct np_err *err);

/* Closes a socket and sets *sockp to NULL. Accepts NULL. */
void np_zsock_close(void **sockp);

/*
 * Writes the endpoint a socket actually bound last (resolving "tcp://127.0.0.1:*") into buf.
 * Returns 0 or NP_EIO.
 */
int np_zsock_last_endpoint(void *sock, char *buf, size_t len);

/* A received multipart message: up to NP_FRAMES_MAX frames, each a zmq_msg_t. */
struct np_frames {
    zmq_msg_t frame[NP_FRAMES_MAX];
    size_t n;     /* frames kept */
    size_t total; /* frames the message had (may exceed n: then it is malformed) */
};

/*
 * Receives one whole multipart message. Frames past NP_FRAMES_MAX are read and dropped but
 * counted in f->total, so the caller can reject the message. flags: 0 or ZMQ_DONTWAIT.
 * Returns 0 (then np_frames_close() f), NP_ETRANSIENT (nothing to read, or interrupted),
 * NP_ESHUTDOWN or NP_EIO.
 */
int np_zsock_recv(void *sock, struct np_frames *f, int flags);

/* Releases the frames of f. Accepts an f whose n is 0. */
void np_frames_close(struct np_frames *f);

/* Pointer and size of frame i of f (i < f->n). */
const void *np_frame_data(struct np_frames *f, size_t i);
size_t np_frame_size(struct np_frames *f, size_t i);

/*
 * Sends n frames (data[i], len[i]) as one message; copies the bytes. flags: 0 or ZMQ_DONTWAIT.
 * All or nothing: ZeroMQ delivers a multipart message atomically. Returns 0, NP_ETRANSIENT
 * (EAGAIN/EINTR on the first frame), NP_ESHUTDOWN or NP_EIO.
 */
int np_zsock_send(void *sock, const void *const *data, const size_t *len, size_t n, int flags);

#endif /* NP_ZSOCK_H */
