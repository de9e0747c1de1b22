/* ingest_zap.c - the ZAP handler that admits only listed CURVE client keys
 *
 * libzmq asks a ZAP handler (RFC 27, ZeroMQ Authentication Protocol) about every CURVE
 * handshake on a socket with a ZAP domain. This one runs in its own thread so that it answers
 * even while ingest's loop has paused intake: a client's handshake never waits on flow control.
 * A refused client never completes the handshake, so none of its messages reach ingest, let
 * alone the journal. Refusals are logged with the peer address, never with the key.
 */
#include "ingest_zap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "np/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7 /* version, request id, domain, address, identity, mechanism, key */

struct ingest_zap {
    void *sock;
    const struct np_curve_allow *allow;
    pthread_t thread;
    atomic_bool stop;
};

static void reply(void *sock, zmq_msg_t *request_id, const char *code, const char *text)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_send(request_id, sock, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(sock, "", 0, 0);           /* metadata */
}

/* Reads one request (all its frames) and answers it. */
static void handle(struct ingest_zap *z)
{
    zmq_msg_t f[ZAP_FRAMES];
    size_t n = 0;
    int more = 1;
    bool ok = false;

    while (more) {
        zmq_msg_t extra;
        size_t len = sizeof(more);
        zmq_msg_t *m = n < ZAP_FRAMES ? &f[n] : &extra;

        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, 0) < 0) {
            zmq_msg_close(m);
            break;
        }
        if (zmq_getsockopt(z->sock, ZMQ_RCVMORE, &more, &len) != 0) {
            more = 0;
        }
        if (m == &extra) {
            zmq_msg_close(m);
        } else {
            n++;
        }
    }
    if (n >= 2) {
        ok = n == ZAP_FRAMES && zmq_msg_size(&f[5]) == 5 &&
             memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 && zmq_msg_size(&f[6]) == 32 &&
             np_curve_allow_has(z->allow, zmq_msg_data(&f[6]));
        if (!ok) {
            np_log_warn("refused a client: its CURVE key is not listed address=%.*s",
                        n > 3 ? (int)zmq_msg_size(&f[3]) : 0,
                        n > 3 ? (const char *)zmq_msg_data(&f[3]) : "");
        }
        reply(z->sock, &f[1], ok ? "200" : "400", ok ? "OK" : "client key not allowed");
    }
    for (size_t i = 0; i < n; i++) {
        zmq_msg_close(&f[i]);
    }
}

static void *run(void *arg)
{
    struct ingest_zap *z = arg;

    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = { z->sock, 0, ZMQ_POLLIN, 0 };

        if (zmq_poll(&item, 1, 200) > 0) {
            handle(z);
        }
    }
    return NULL;
}

struct ingest_zap *ingest_zap_start(void *ctx, const struct np_curve_allow *allow)
{
    struct ingest_zap *z = calloc(1, sizeof(*z));
    int linger = 0;

    if (z == NULL) {
        return NULL;
    }
    z->allow = allow;
    atomic_init(&z->stop, false);
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (z->sock == NULL || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        np_log_error("cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, run, z) != 0) {
        np_log_error("cannot start the ZAP handler thread");
        goto fail;
    }
    return z;
fail:
    if (z->sock != NULL) {
        zmq_close(z->sock);
    }
    free(z);
    return NULL;
}

void ingest_zap_stop(struct ingest_zap **zp)
{
    struct ingest_zap *z = zp != NULL ? *zp : NULL;

    if (z == NULL) {
        return;
    }
    atomic_store(&z->stop, true);
    pthread_join(z->thread, NULL);
    zmq_close(z->sock);
    free(z);
    *zp = NULL;
}
