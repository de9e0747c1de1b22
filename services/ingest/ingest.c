/* ingest.c - the ingest worker: validate, journal, forward, redeliver
 *
 * Clients push articles to a PULL socket (fire and forget) or a ROUTER socket (one JSON reply
 * per message). Each message is parsed and normalised once (np_article_parse), given its seq,
 * appended to the journal, and, once the journal is synced, answered and forwarded to classify
 * as two frames: the envelope and the canonical article JSON. Input that is refused is
 * journaled and forwarded too, as a "rejected" envelope with the raw bytes, so it lands in
 * rejected_messages: nothing pushed disappears silently. A ROUTER client also gets the reason.
 *
 * The unacknowledged window is a ring indexed by seq. store acks the seqs it committed; a slot
 * not acked within redeliver_ms is read back from the journal and sent again, with the timeout
 * doubling up to redeliver_max_ms. When the window (newest seq - oldest unacked seq) reaches
 * max_inflight, ingest stops polling its client sockets: ZeroMQ's high-water marks then push
 * back on clients, and memory stays bounded whatever classify, store or PostgreSQL do.
 *
 * Acknowledgements are durable (ingest_journal.c): acks are collected and written with one
 * fdatasync every ack_sync_ms, and on a clean stop. After a restart the journal replays only
 * records never acknowledged (plus, after a crash, at most the acks of the last ack_sync_ms).
 * Those go into a backlog sorted by seq, and enter the ring as it has room: at most max_inflight
 * at a time, and only seqs within the ring's span of the oldest one still unacknowledged. So a
 * journal with more outstanding records than the window (a long database outage can leave one)
 * is sent again in windows; intake from clients waits until the backlog has entered the ring.
 * The backlog costs 40 bytes of memory per outstanding record (a million: 40 MB), the records
 * themselves stay on disk until sent.
 * At start, the number replayed and the age of the oldest are logged and exported
 * (replayed_total, replay_oldest_age_seconds); `outstanding` counts the ring and the backlog.
 *
 * Group commit: the journal is synced when sync_records messages or 8 MiB are pending or the
 * oldest pending message has waited sync_ms, whichever comes first. Replies "accepted" and
 * forwarding wait for that sync; "rejected" and "duplicate" replies go out at once.
 *
 * Message size: client sockets set ZMQ_MAXMSGSIZE to twice NP_ARTICLE_MAX, not NP_ARTICLE_MAX
 * as the original design said (docs/ARCHITECTURE.md, "Departures from the original design").
 * libzmq answers an oversized message by dropping the connection, which tells the client
 * nothing; between the two limits ingest reads the message and rejects it with a reason.
 * Beyond twice the limit the connection is dropped, which still bounds memory.
 *
 * "duplicate" replies come from a bounded set of recently accepted ids (dedupe_ids). A
 * duplicate is still journaled and forwarded, marked "duplicate": true, and store records it in
 * article_duplicates (classify tags it all the same: it may overtake its original): every article
 * pushed ends as a row, a recorded duplicate of one, or a rejection. An id that has left the set,
 * or that arrives after a restart, is answered "accepted" again; store's ON CONFLICT keeps one row
 * and records the duplicate all the same.
 */
#include "ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "ingest_dedupe.h"
#include "ingest_journal.h"
#include "ingest_zap.h"
#include "np/curve.h"
#include "np/article.h"
#include "np/http.h"
#include "np/json.h"
#include "np/log.h"
#include "np/metrics.h"
#include "np/msg.h"
#include "np/time.h"
#include "np/zsock.h"

#define PENDING_BYTES_MAX (8U * 1024 * 1024)
#define BURST_MAX         256 /* client messages read per loop turn */
#define SCAN_EVERY_MS     50  /* how often the window is scanned for redelivery */
#define REPLY_HWM_FACTOR  10  /* ROUTER replies queued per client: this many times hwm */
#define ADDR_FRAMES_MAX   (NP_FRAMES_MAX - 1)

#define OPT(field) offsetof(struct ingest_config, field)

static const struct np_setting settings[] = {
    { "pull", NP_SET_STRING, "tcp://*:5555", "PULL endpoints for fire-and-forget clients",
      OPT(pull), 0, 0, false, NULL },
    { "router", NP_SET_STRING, "tcp://*:5556", "ROUTER endpoints for clients that want replies",
      OPT(router), 0, 0, false, NULL },
    { "forward", NP_SET_STRING, "tcp://*:5557", "PUSH endpoints classify workers connect to",
      OPT(forward), 0, 0, false, NULL },
    { "ack", NP_SET_STRING, "tcp://*:5558", "PULL endpoints store sends acks to", OPT(ack), 0, 0,
      false, NULL },
    { "ack_advertise", NP_SET_STRING, NULL,
      "ack endpoint as store dials it (default: the ack endpoint, * -> 127.0.0.1)",
      OPT(ack_advertise), 0, 0, false, NULL },
    { "journal_dir", NP_SET_STRING, "./newspipe-journal", "journal folder (keep it on a volume)",
      OPT(journal_dir), 0, 0, false, NULL },
    { "max_inflight", NP_SET_INT, "20000", "unacknowledged articles before intake pauses",
      OPT(max_inflight), 16, 10000000, false, NULL },
    { "sync_records", NP_SET_INT, "512", "journal sync after this many messages", OPT(sync_records),
      1, 1000000, false, NULL },
    { "sync_ms", NP_SET_INT, "5", "journal sync after this many milliseconds", OPT(sync_ms), 0,
      10000, false, NULL },
    { "redeliver_ms", NP_SET_INT, "10000", "resend an unacknowledged article after (ms)",
      OPT(redeliver_ms), 100, 3600000, false, NULL },
    { "redeliver_max_ms", NP_SET_INT, "120000", "cap of the doubling redelivery timeout (ms)",
      OPT(redeliver_max_ms), 100, 86400000, false, NULL },
    { "ack_sync_ms", NP_SET_INT, "100",
      "acknowledgements are made durable this often (ms): at most this much is re-sent after a "
      "crash",
      OPT(ack_sync_ms), 0, 60000, false, NULL },
    { "segment_mb", NP_SET_INT, "64", "journal segment size (MiB)", OPT(segment_mb), 1, 4096, false,
      NULL },
    { "shutdown_ms", NP_SET_INT, "5000", "on SIGTERM, wait this long for outstanding acks",
      OPT(shutdown_ms), 0, 600000, false, NULL },
    { "dedupe_ids", NP_SET_INT, "200000", "recent ids remembered to answer \"duplicate\"",
      OPT(dedupe_ids), 0, 10000000, false, NULL },
    { "hwm", NP_SET_INT, "1000", "ZeroMQ high-water mark of every socket", OPT(hwm), 1, 1000000,
      false, NULL },
    { "metrics_port", NP_SET_INT, "9101", "HTTP port for /metrics, /healthz, /readyz (0: off)",
      OPT(metrics_port), 0, 65535, false, NULL },
    { "metrics_bind", NP_SET_STRING, "0.0.0.0", "address the HTTP endpoint listens on",
      OPT(metrics_bind), 0, 0, false, NULL },
    { "curve_secret_file", NP_SET_STRING, NULL,
      "server key pair file (newspipe-keygen): turns on CURVE for the client sockets",
      OPT(curve_secret_file), 0, 0, false, NULL },
    { "curve_clients", NP_SET_STRING, NULL,
      "allowed client public keys: a .pub file or a folder of .pub files", OPT(curve_clients), 0, 0,
      false, NULL },
    { "log_level", NP_SET_STRING, "info", "error, warn, info or debug", OPT(log_level), 0, 0, false,
      NULL },
};

const struct np_setting *ingest_settings(size_t *n)
{
    *n = sizeof(settings) / sizeof(settings[0]);
    return settings;
}

enum slot_state {
    SLOT_FREE = 0,
    SLOT_UNSENT, /* journaled, not yet handed to ZeroMQ */
    SLOT_SENT,   /* handed over; waiting for the ack until due_ms */
};

/* One unacknowledged message. */
struct slot {
    uint64_t seq;
    struct ingest_jpos pos;
    int64_t due_ms;
    uint32_t attempts;
    uint8_t state;
};

/* A record replayed from the journal, waiting for room in the ring. */
struct backlog_item {
    uint64_t seq;
    struct ingest_jpos pos;
    bool acked; /* an ack from before the restart arrived while it waited */
};

/* A message journaled but not yet synced: sent and answered after the sync. */
struct pending {
    uint64_t seq;
    char *env; /* owned */
    size_t env_len;
    char *payload; /* owned */
    size_t payload_len;
    char *reply; /* owned reply JSON for a ROUTER client, or NULL */
    size_t reply_len;
    zmq_msg_t addr[ADDR_FRAMES_MAX]; /* the client's address frames, with the delimiter */
    size_t naddr;
};

struct ingest {
    const struct ingest_config *cfg;
    void *ctx;
    void *pull;
    void *router;
    void *forward;
    void *ack;
    struct np_origin origin;
    char ack_endpoint[256];
    struct ingest_journal *journal;
    struct ingest_dedupe *dedupe;
    struct np_curve_allow *allow; /* CURVE clients admitted, or NULL (no CURVE) */
    struct ingest_zap *zap;
    char curve_secret[NP_CURVE_KEY_LEN + 1];

    struct slot *ring; /* owned; capacity is a power of two >= the window */
    uint64_t mask;
    uint64_t oldest; /* lowest seq that may still be unacknowledged in the ring */
    uint64_t next_seq;
    size_t inflight; /* live slots in the ring */

    struct backlog_item *backlog; /* owned, sorted by seq: replayed, not yet in the ring */
    size_t nbacklog;
    size_t backlog_cap;
    size_t backlog_head;   /* backlog[backlog_head..nbacklog) still waits */
    size_t backlog_live;   /* of those, not acknowledged */
    int64_t acks_since_ms; /* when the oldest unsynced ack arrived */

    struct pending *pend; /* owned, sync_records entries */
    size_t npend;
    size_t pend_bytes;
    int64_t pend_since_ms;
    int64_t next_scan_ms;

    struct np_metrics *metrics;
    struct np_http *http;
    struct np_counter *received[2]; /* pull, router */
    struct np_counter *accepted;
    struct np_counter *duplicate;
    struct np_counter *headline_only;
    struct np_counter *acked;
    struct np_counter *redelivered;
    struct np_counter *syncs;
    struct np_counter *replies_dropped;
    struct np_counter *replayed;
    struct np_gauge *replay_age;
    struct np_gauge *outstanding_g;
    struct np_gauge *acks_unsynced;
    struct np_gauge *inflight_g;
    struct np_gauge *journal_bytes;
    struct np_histogram *sync_seconds;
};

static struct np_counter *rejected_counter(struct ingest *in, const char *field);

static struct slot *slot_of(struct ingest *in, uint64_t seq)
{
    return &in->ring[seq & in->mask];
}

static uint64_t window(const struct ingest *in)
{
    return in->next_seq - in->oldest;
}

/* Messages journaled and not acknowledged: in the ring or still in the replay backlog. */
static size_t outstanding(const struct ingest *in)
{
    return in->inflight + in->backlog_live;
}

/*
 * Publishes the window's gauges. Called as soon as the counts change, not once per loop turn:
 * replies go out in the middle of a turn, and a gauge set at its end would lag behind by what the
 * turn journaled (up to sync_records messages, for as long as the rest of the turn takes: an ack
 * fdatasync, a redelivery scan), so a scrape right after a client read "accepted" could miss it.
 *
 * Together the two gauges bound what a crash can make ingest send again: outstanding (journaled,
 * not acknowledged) plus acks_unsynced (acknowledged, not yet durable). An ack moves a record
 * from the first to the second, so acks_unsynced is raised before outstanding is lowered (release
 * stores, np_gauge_set): a reader of outstanding, then acks_unsynced, counts it at least once.
 */
static void publish_window(struct ingest *in)
{
    np_gauge_set(in->acks_unsynced, (double)ingest_journal_acks_pending(in->journal));
    np_gauge_set(in->outstanding_g, (double)outstanding(in));
    np_gauge_set(in->inflight_g, (double)in->inflight);
}

/* Replay callback: a record never acknowledged goes to the backlog (called in seq order). */
static int replay_one(void *ctx, uint64_t seq, const struct ingest_jpos *pos)
{
    struct ingest *in = ctx;

    if (in->nbacklog == in->backlog_cap) {
        size_t cap = in->backlog_cap ? 2 * in->backlog_cap : 1024;
        struct backlog_item *b = realloc(in->backlog, cap * sizeof(*b));

        if (b == NULL) {
            return NP_ENOMEM;
        }
        in->backlog = b;
        in->backlog_cap = cap;
    }
    in->backlog[in->nbacklog++] = (struct backlog_item){ .seq = seq, .pos = *pos };
    in->backlog_live++;
    return 0;
}

/* The lowest seq the ring may hold next: the backlog's first, else the next new one. */
static uint64_t ring_floor(const struct ingest *in)
{
    return in->backlog_head < in->nbacklog ? in->backlog[in->backlog_head].seq : in->next_seq;
}

/* Moves replayed records into the ring while it has room (max_inflight, and its span). */
static void admit_backlog(struct ingest *in)
{
    while (in->backlog_head < in->nbacklog) {
        struct backlog_item *b = &in->backlog[in->backlog_head];
        struct slot *s = NULL;

        if (b->acked) {
            in->backlog_head++;
            continue;
        }
        if (in->inflight == 0) {
            in->oldest = b->seq;
        }
        if (b->seq - in->oldest > in->mask || in->inflight >= (size_t)in->cfg->max_inflight) {
            break;
        }
        s = slot_of(in, b->seq);
        *s = (struct slot){ .seq = b->seq, .pos = b->pos, .due_ms = 0, .state = SLOT_UNSENT };
        in->inflight++;
        in->backlog_live--;
        in->backlog_head++;
    }
    if (in->backlog_head == in->nbacklog && in->nbacklog > 0) {
        free(in->backlog);
        in->backlog = NULL;
        in->nbacklog = in->backlog_head = in->backlog_cap = 0;
    }
}

static int cmp_backlog(const void *key, const void *item)
{
    uint64_t seq = *(const uint64_t *)key;
    uint64_t other = ((const struct backlog_item *)item)->seq;

    return (seq > other) - (seq < other);
}

/* An ack for a replayed record still in the backlog (sent before the restart). */
static struct backlog_item *backlog_find(struct ingest *in, uint64_t seq)
{
    if (in->backlog_head >= in->nbacklog) {
        return NULL;
    }
    return bsearch(&seq, in->backlog + in->backlog_head, in->nbacklog - in->backlog_head,
                   sizeof(*in->backlog), cmp_backlog);
}

/* Reads the envelope of the oldest replayed record: how long ago it was received (s), or -1. */
static double oldest_replayed_age(struct ingest *in)
{
    struct np_json_doc doc = { 0 };
    struct np_envelope env = { 0 };
    struct np_err err = { 0 };
    char *buf = NULL;
    size_t env_len = 0;
    size_t payload_len = 0;
    int64_t at = 0;
    double age = -1;

    if (in->nbacklog == 0 ||
        ingest_journal_read(in->journal, &in->backlog[0].pos, &buf, &env_len, &payload_len) != 0) {
        return -1;
    }
    if (np_msg_decode(buf, env_len, &doc, &env, &err) == 0 &&
        np_time_parse(env.received_at, "received_at", &at, &err) == 0) {
        age = (double)(np_now_us() - at) / 1e6;
    }
    np_json_doc_free(&doc);
    free(buf);
    return age;
}

static int alloc_ring(struct ingest *in, uint64_t need)
{
    uint64_t cap = 1024;

    while (cap < need) {
        cap *= 2;
    }
    in->ring = calloc(cap, sizeof(*in->ring));
    if (in->ring == NULL) {
        return NP_ENOMEM;
    }
    in->mask = cap - 1;
    return 0;
}

/* The ack endpoint store must dial: explicit, or the bound one with * made loopback. */
static void derive_advertise(struct ingest *in)
{
    char bound[256] = "";
    const char *star = NULL;

    if (in->cfg->ack_advertise != NULL && in->cfg->ack_advertise[0] != '\0') {
        snprintf(in->ack_endpoint, sizeof(in->ack_endpoint), "%s", in->cfg->ack_advertise);
        return;
    }
    if (np_zsock_last_endpoint(in->ack, bound, sizeof(bound)) != 0) {
        snprintf(bound, sizeof(bound), "%s", in->cfg->ack);
    }
    star = strstr(bound, "://0.0.0.0:");
    if (star != NULL) {
        snprintf(in->ack_endpoint, sizeof(in->ack_endpoint), "%.*s://127.0.0.1:%s",
                 (int)(star - bound), bound, star + strlen("://0.0.0.0:"));
        return;
    }
    star = strstr(bound, "://*:");
    if (star != NULL) {
        snprintf(in->ack_endpoint, sizeof(in->ack_endpoint), "%.*s://127.0.0.1:%s",
                 (int)(star - bound), bound, star + strlen("://*:"));
        return;
    }
    snprintf(in->ack_endpoint, sizeof(in->ack_endpoint), "%s", bound);
}

static int open_sockets(struct ingest *in)
{
    const struct ingest_config *cfg = in->cfg;
    struct np_zsock_opts client = { .sndhwm = (int)cfg->hwm,
                                    .rcvhwm = (int)cfg->hwm,
                                    .maxmsgsize = 2 * (int64_t)NP_ARTICLE_MAX };
    struct np_zsock_opts inner = { .sndhwm = (int)cfg->hwm, .rcvhwm = (int)cfg->hwm };
    struct np_zsock_opts router;
    struct np_err err = { 0 };

    if (in->allow != NULL) {
        client.curve_secret = in->curve_secret;
    }
    /*
     * Replies queue per client until it reads them. A client with `hwm` requests in flight can
     * still find the queue "full": the ROUTER learns what the client has read only every hwm/2
     * messages, and a full queue drops the reply (newspipe-push then reports it unanswered,
     * with its article stored). REPLY_HWM_FACTOR * hwm leaves that headroom; a reply is ~60
     * bytes, so a client that never reads costs at most ~REPLY_HWM_FACTOR * hwm * 100 bytes.
     */
    router = client;
    router.sndhwm =
        (int)(cfg->hwm * REPLY_HWM_FACTOR > INT32_MAX ? INT32_MAX : cfg->hwm * REPLY_HWM_FACTOR);

    in->pull = np_zsock_open(in->ctx, ZMQ_PULL, cfg->pull, true, &client, &err);
    if (in->pull != NULL) {
        in->router = np_zsock_open(in->ctx, ZMQ_ROUTER, cfg->router, true, &router, &err);
    }
    if (in->router != NULL) {
        in->forward = np_zsock_open(in->ctx, ZMQ_PUSH, cfg->forward, true, &inner, &err);
    }
    if (in->forward != NULL) {
        in->ack = np_zsock_open(in->ctx, ZMQ_PULL, cfg->ack, true, &inner, &err);
    }
    if (in->ack == NULL) {
        np_log_error("cannot open sockets: %s", err.msg);
        return NP_EIO;
    }
    derive_advertise(in);
    return 0;
}

static void pending_release(struct pending *p)
{
    free(p->env);
    free(p->payload);
    free(p->reply);
    for (size_t i = 0; i < p->naddr; i++) {
        zmq_msg_close(&p->addr[i]);
    }
    memset(p, 0, sizeof(*p));
}

/* Sends a reply to a ROUTER client: its address frames, then body. Drops it (counted in
 * replies_dropped_total) when the client is gone or has REPLY_HWM_FACTOR * hwm replies unread:
 * the reply is advisory, the message itself is safe in the journal. */
static void send_reply(struct ingest *in, zmq_msg_t *addr, size_t naddr, const char *body,
                       size_t len)
{
    for (size_t i = 0; i < naddr; i++) {
        zmq_msg_t copy;

        zmq_msg_init(&copy);
        zmq_msg_copy(&copy, &addr[i]);
        if (zmq_msg_send(&copy, in->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&copy);
            np_counter_inc(in->replies_dropped);
            np_log_debug("could not reply to client: %s", zmq_strerror(zmq_errno()));
            return;
        }
    }
    if (zmq_send(in->router, body, len, ZMQ_DONTWAIT) < 0) {
        np_counter_inc(in->replies_dropped);
        np_log_debug("could not reply to client: %s", zmq_strerror(zmq_errno()));
    }
}

/* A small JSON reply: {"status":..,"id":..} or {"status":"rejected","error":..,"field":..}.
 * Written directly (np_err keeps reasons valid UTF-8), once per client message. */
static char *make_reply(const char *status, const char *id, const struct np_err *why, size_t *len)
{
    struct np_buf o = { 0 };

    np_buf_lit(&o, "{\"status\":");
    np_json_out_string(&o, status, strlen(status));
    if (why != NULL) {
        np_buf_lit(&o, ",\"error\":");
        np_json_out_string(&o, why->msg, strlen(why->msg));
        np_buf_lit(&o, ",\"field\":");
        np_json_out_string(&o, why->field, strlen(why->field));
    } else {
        np_buf_lit(&o, ",\"id\":");
        np_json_out_string(&o, id, strlen(id));
    }
    np_buf_lit(&o, "}");
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}

/* Sends journaled message seq to classify; updates its slot. Returns 0 or NP_ETRANSIENT. */
static int forward(struct ingest *in, uint64_t seq, const char *env, size_t env_len,
                   const char *payload, size_t payload_len)
{
    struct slot *s = slot_of(in, seq);
    const void *data[2] = { env, payload };
    size_t len[2] = { env_len, payload_len };
    int64_t timeout = in->cfg->redeliver_ms;
    int rc = np_zsock_send(in->forward, data, len, 2, ZMQ_DONTWAIT);

    if (rc != 0) {
        s->state = SLOT_UNSENT;
        s->due_ms = np_time_now_ms() + SCAN_EVERY_MS;
        return NP_ETRANSIENT;
    }
    for (uint32_t i = 0; i < s->attempts && timeout < in->cfg->redeliver_max_ms; i++) {
        timeout *= 2;
    }
    if (timeout > in->cfg->redeliver_max_ms) {
        timeout = in->cfg->redeliver_max_ms;
    }
    s->attempts++;
    s->state = SLOT_SENT;
    s->due_ms = np_time_now_ms() + timeout;
    return 0;
}

/* Makes pending messages durable, then forwards them and answers their clients. */
static int flush_pending(struct ingest *in)
{
    bool blocked = false;

    double t0 = 0;

    if (in->npend == 0) {
        return 0;
    }
    t0 = (double)np_now_us();
    if (ingest_journal_sync(in->journal) != 0) {
        return NP_EIO;
    }
    np_counter_inc(in->syncs);
    np_histogram_observe(in->sync_seconds, ((double)np_now_us() - t0) / 1e6);
    for (size_t i = 0; i < in->npend; i++) {
        struct pending *p = &in->pend[i];

        /* Once classify pushes back, leave the rest to the redelivery scan: order among
         * unsent messages does not matter, and the scan reads them back from the journal. */
        if (!blocked) {
            blocked = forward(in, p->seq, p->env, p->env_len, p->payload, p->payload_len) != 0;
        } else {
            slot_of(in, p->seq)->state = SLOT_UNSENT;
            slot_of(in, p->seq)->due_ms = 0;
        }
        if (p->reply != NULL) {
            send_reply(in, p->addr, p->naddr, p->reply, p->reply_len);
        }
        pending_release(p);
    }
    in->npend = 0;
    in->pend_bytes = 0;
    return 0;
}

/* Journals one message (takes env, payload and reply; addr frames are moved). */
static int journal_message(struct ingest *in, char *env, size_t env_len, char *payload,
                           size_t payload_len, char *reply, size_t reply_len, zmq_msg_t *addr,
                           size_t naddr, uint64_t seq)
{
    struct pending *p = &in->pend[in->npend];
    struct slot *s = slot_of(in, seq);
    int rc = ingest_journal_append(in->journal, seq, env, env_len, payload, payload_len, &s->pos);

    if (rc != 0) {
        np_log_error("could not journal message: %s seq=%" PRIu64, np_strerror(rc), seq);
        free(env);
        free(payload);
        free(reply);
        for (size_t i = 0; i < naddr; i++) {
            zmq_msg_close(&addr[i]);
        }
        return rc;
    }
    s->seq = seq;
    s->state = SLOT_UNSENT;
    s->attempts = 0;
    s->due_ms = INT64_MAX; /* not scanned until flushed */
    in->next_seq = seq + 1;
    in->inflight++;
    publish_window(in); /* counted before any reply can tell a client it was journaled */
    *p = (struct pending){ .seq = seq,
                           .env = env,
                           .env_len = env_len,
                           .payload = payload,
                           .payload_len = payload_len,
                           .reply = reply,
                           .reply_len = reply_len,
                           .naddr = naddr };
    for (size_t i = 0; i < naddr; i++) {
        zmq_msg_init(&p->addr[i]);
        zmq_msg_move(&p->addr[i], &addr[i]);
        zmq_msg_close(&addr[i]);
    }
    if (in->npend == 0) {
        in->pend_since_ms = np_time_now_ms();
    }
    in->npend++;
    in->pend_bytes += env_len + payload_len;
    return 0;
}

/* Builds the envelope and journals a rejected message; answers a ROUTER client at once (once it
 * is journaled: counted in `outstanding` before its client hears of it). */
static int reject(struct ingest *in, const char *channel, const void *raw, size_t raw_len,
                  const struct np_err *why, zmq_msg_t *addr, size_t naddr)
{
    struct np_envelope env = { 0 };
    char *env_buf = NULL;
    size_t env_len = 0;
    char *copy = NULL;
    uint64_t seq = in->next_seq;
    int rc = NP_ENOMEM;

    np_counter_inc(rejected_counter(in, why->field));
    np_log_info("rejected message: %s channel=%s seq=%" PRIu64, why->msg, channel, seq);
    if (np_msg_new_rejected(&env, seq, &in->origin, np_now_us(), "ingest", channel, why) == 0 &&
        np_msg_encode(&env, NULL, &env_buf, &env_len) == 0) {
        copy = malloc(raw_len > 0 ? raw_len : 1);
    }
    np_msg_cleanup(&env);
    if (copy != NULL) {
        if (raw_len > 0) {
            memcpy(copy, raw, raw_len);
        }
        rc = journal_message(in, env_buf, env_len, copy, raw_len, NULL, 0, NULL, 0, seq);
        env_buf = NULL;
    }
    free(env_buf);
    if (addr != NULL) {
        size_t len = 0;
        char *reply = make_reply("rejected", NULL, why, &len);

        if (reply != NULL) {
            send_reply(in, addr, naddr, reply, len);
        }
        free(reply);
        for (size_t i = 0; i < naddr; i++) {
            zmq_msg_close(&addr[i]);
        }
    }
    return rc;
}

/* Parses, deduplicates and journals one client payload. addr is NULL for PULL clients. */
static int accept_payload(struct ingest *in, const char *channel, const void *data, size_t len,
                          zmq_msg_t *addr, size_t naddr)
{
    struct np_err why = { 0 };
    struct np_article *a = NULL;
    struct np_envelope env = { 0 };
    char *payload = NULL;
    size_t payload_len = 0;
    char *env_buf = NULL;
    size_t env_len = 0;
    char *reply = NULL;
    size_t reply_len = 0;
    uint64_t seq = in->next_seq;
    bool duplicate = false;
    int rc = 0;

    if (len > NP_ARTICLE_MAX) {
        np_err_set(&why, NP_ETOOBIG, "message", "larger than %d bytes", NP_ARTICLE_MAX);
        return reject(in, channel, data, len, &why, addr, naddr);
    }
    rc = np_article_parse(data, len, &a, &why);
    if (rc == NP_ENOMEM) {
        np_err_set(&why, NP_ENOMEM, "message", "out of memory while parsing");
    }
    if (rc != 0) {
        return reject(in, channel, data, len, &why, addr, naddr);
    }
    duplicate = ingest_dedupe_seen(in->dedupe, a->id);
    rc = NP_ENOMEM;
    if (np_article_write_json(a, &payload, &payload_len) != 0 ||
        np_msg_new_article(&env, seq, a->id, &in->origin, np_now_us()) != 0) {
        goto out;
    }
    env.duplicate = duplicate;
    if (np_msg_encode(&env, NULL, &env_buf, &env_len) != 0) {
        goto out;
    }
    if (addr != NULL) {
        reply = make_reply(duplicate ? "duplicate" : "accepted", a->id, NULL, &reply_len);
        if (reply == NULL) {
            goto out;
        }
    }
    if (duplicate) {
        np_counter_inc(in->duplicate);
        np_log_debug("duplicate article article_id=%s seq=%" PRIu64, a->id, seq);
    } else {
        ingest_dedupe_add(in->dedupe, a->id);
        np_counter_inc(in->accepted);
        if (np_article_headline_only(a)) {
            np_counter_inc(in->headline_only);
        }
    }
    rc = journal_message(in, env_buf, env_len, payload, payload_len, reply, reply_len, addr, naddr,
                         seq);
    env_buf = NULL;
    payload = NULL;
    reply = NULL;
    addr = NULL;
out:
    if (rc == NP_ENOMEM) {
        np_log_error("out of memory while accepting an article");
    }
    for (size_t i = 0; addr != NULL && i < naddr; i++) {
        zmq_msg_close(&addr[i]);
    }
    free(reply);
    free(env_buf);
    free(payload);
    np_msg_cleanup(&env);
    np_article_destroy(&a);
    return rc;
}

/* Splits a ROUTER message: the address frames (identity, and any envelope up to and including
 * the empty delimiter) are the first *naddr; returns the payload's frame index, or -1 when the
 * message has no payload (the reply still goes to the whole address). */
static long router_split(struct np_frames *f, size_t *naddr)
{
    for (size_t i = 1; i < f->n; i++) {
        if (np_frame_size(f, i) == 0) {
            *naddr = i + 1;
            return i + 1 < f->n ? (long)(i + 1) : -1;
        }
    }
    *naddr = 1;
    return f->n >= 2 ? 1 : -1;
}

static int handle_client(struct ingest *in, void *sock, bool router)
{
    const char *channel = router ? "router" : "pull";
    struct np_frames f;
    struct np_err why = { 0 };
    zmq_msg_t addr[ADDR_FRAMES_MAX];
    size_t naddr = 0;
    long body = 0;
    int rc = np_zsock_recv(sock, &f, ZMQ_DONTWAIT);

    if (rc != 0) {
        return rc;
    }
    np_counter_inc(in->received[router ? 1 : 0]);
    body = router ? router_split(&f, &naddr) : 0;
    if (router) {
        /* Keep the address frames to answer, whatever the message looks like. */
        naddr = naddr < ADDR_FRAMES_MAX ? naddr : ADDR_FRAMES_MAX;
        for (size_t i = 0; i < naddr; i++) {
            zmq_msg_init(&addr[i]);
            zmq_msg_copy(&addr[i], &f.frame[i]);
        }
    }
    if (f.total > NP_FRAMES_MAX || body < 0 || (size_t)body + 1 != f.total) {
        np_err_set(&why, NP_EINVAL, "message", "must be exactly one frame of JSON, got %zu",
                   f.total - (router ? naddr : 0));
        rc = reject(in, channel,
                    body >= 0 && (size_t)body < f.n ? np_frame_data(&f, (size_t)body) : "",
                    body >= 0 && (size_t)body < f.n ? np_frame_size(&f, (size_t)body) : 0, &why,
                    router ? addr : NULL, naddr);
    } else {
        rc = accept_payload(in, channel, np_frame_data(&f, (size_t)body),
                            np_frame_size(&f, (size_t)body), router ? addr : NULL, naddr);
    }
    np_frames_close(&f);
    return rc;
}

static void handle_acks(struct ingest *in)
{
    struct np_frames f;
    struct np_err err = { 0 };

    while (np_zsock_recv(in->ack, &f, ZMQ_DONTWAIT) == 0) {
        uint64_t *seqs = NULL;
        size_t n = 0;

        if (f.n != 1 ||
            np_msg_ack_decode(np_frame_data(&f, 0), np_frame_size(&f, 0), &seqs, &n, &err) != 0) {
            np_log_warn("ignoring malformed ack: %s", f.n != 1 ? "not one frame" : err.msg);
            np_frames_close(&f);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            struct slot *s = slot_of(in, seqs[i]);
            struct backlog_item *b = NULL;
            const struct ingest_jpos *pos = NULL;

            if (s->state != SLOT_FREE && s->seq == seqs[i]) {
                pos = &s->pos;
            } else if ((b = backlog_find(in, seqs[i])) != NULL && !b->acked) {
                pos = &b->pos; /* sent before a restart, acked while waiting to be sent again */
            } else {
                continue; /* a second ack of a redelivered copy */
            }
            if (in->acks_since_ms == 0) {
                in->acks_since_ms = np_time_now_ms();
            }
            if (ingest_journal_done(in->journal, seqs[i], pos) != 0) {
                np_log_warn("journal could not record an ack seq=%" PRIu64, seqs[i]);
            }
            if (b != NULL) {
                b->acked = true;
                in->backlog_live--;
            } else {
                s->state = SLOT_FREE;
                in->inflight--;
            }
            np_counter_inc(in->acked);
        }
        free(seqs);
        np_frames_close(&f);
    }
    /* Every live seq lies in [oldest, oldest + ring size): a busy slot there is seq's own. */
    if (in->inflight == 0) {
        in->oldest = ring_floor(in);
    }
    while (in->oldest < ring_floor(in) && slot_of(in, in->oldest)->state == SLOT_FREE) {
        in->oldest++;
    }
    admit_backlog(in);
    publish_window(in);
}

/* Makes the acks collected so far durable once the oldest has waited ack_sync_ms. */
static int sync_acks(struct ingest *in, bool now)
{
    if (ingest_journal_acks_pending(in->journal) == 0) {
        in->acks_since_ms = 0;
        return 0;
    }
    if (!now && np_time_now_ms() - in->acks_since_ms < in->cfg->ack_sync_ms) {
        return 0;
    }
    in->acks_since_ms = 0;
    if (ingest_journal_sync_acks(in->journal) != 0) {
        return NP_EIO;
    }
    publish_window(in); /* lowered only once durable */
    return 0;
}

/* Sends again what is due: never sent (classify pushed back) or not acked in time. */
static int redeliver(struct ingest *in)
{
    int64_t now = np_time_now_ms();

    if (now < in->next_scan_ms) {
        return 0;
    }
    in->next_scan_ms = now + SCAN_EVERY_MS;
    for (uint64_t seq = in->oldest; seq < in->next_seq && seq - in->oldest <= in->mask; seq++) {
        struct slot *s = slot_of(in, seq);
        char *buf = NULL;
        size_t env_len = 0;
        size_t payload_len = 0;
        int rc = 0;

        if (s->state == SLOT_FREE || s->due_ms > now) {
            continue;
        }
        rc = ingest_journal_read(in->journal, &s->pos, &buf, &env_len, &payload_len);
        if (rc != 0) {
            np_log_error("cannot read back a journaled record: %s seq=%" PRIu64, np_strerror(rc),
                         seq);
            return NP_EIO;
        }
        if (s->state == SLOT_SENT) {
            np_counter_inc(in->redelivered);
            np_log_debug("redelivering seq=%" PRIu64 " attempt=%u", seq, s->attempts + 1);
        }
        rc = forward(in, seq, buf, env_len, buf + env_len, payload_len);
        free(buf);
        if (rc != 0) {
            break; /* classify pushes back: try again on the next scan */
        }
    }
    return 0;
}

static bool pending_due(const struct ingest *in)
{
    return in->npend > 0 &&
           ((long)in->npend >= in->cfg->sync_records || in->pend_bytes >= PENDING_BYTES_MAX ||
            np_time_now_ms() - in->pend_since_ms >= in->cfg->sync_ms);
}

static long poll_timeout(const struct ingest *in)
{
    int64_t now = np_time_now_ms();
    int64_t t = in->next_scan_ms - now;

    if (in->npend > 0) {
        int64_t sync_at = in->pend_since_ms + in->cfg->sync_ms - now;

        t = sync_at < t ? sync_at : t;
    }
    if (in->acks_since_ms != 0) {
        int64_t ack_at = in->acks_since_ms + in->cfg->ack_sync_ms - now;

        t = ack_at < t ? ack_at : t;
    }
    return t < 0 ? 0 : (long)t;
}

/* One turn of the loop: poll, read a burst from clients, acks, sync, redeliver. */
static int turn(struct ingest *in, bool intake)
{
    zmq_pollitem_t items[3] = { { in->ack, 0, ZMQ_POLLIN, 0 },
                                { in->pull, 0, ZMQ_POLLIN, 0 },
                                { in->router, 0, ZMQ_POLLIN, 0 } };
    /* Replayed records go first: new seqs enter the ring once the backlog is in it. */
    bool room = in->backlog_head == in->nbacklog && window(in) + BURST_MAX <= in->mask + 1 &&
                window(in) < (uint64_t)in->cfg->max_inflight;
    int n = zmq_poll(items, intake && room ? 3 : 1, poll_timeout(in));
    int rc = 0;

    if (n < 0) {
        return zmq_errno() == EINTR ? 0 : NP_EIO;
    }
    if (items[0].revents & ZMQ_POLLIN) {
        handle_acks(in);
    }
    for (int k = 1; intake && room && k < 3; k++) {
        if (!(items[k].revents & ZMQ_POLLIN)) {
            continue;
        }
        for (int i = 0; i < BURST_MAX && (long)in->npend < in->cfg->sync_records &&
                        in->pend_bytes < PENDING_BYTES_MAX;
             i++) {
            if (window(in) >= (uint64_t)in->cfg->max_inflight) {
                break;
            }
            rc = handle_client(in, items[k].socket, k == 2);
            if (rc == NP_ETRANSIENT) {
                rc = 0;
                break;
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (pending_due(in) || !intake) {
        rc = flush_pending(in);
    }
    if (rc == 0) {
        rc = sync_acks(in, false);
    }
    if (rc == 0) {
        rc = redeliver(in);
    }
    np_gauge_set(in->journal_bytes, (double)ingest_journal_disk_bytes(in->journal));
    return rc;
}

/* The counter of rejections naming `field` (label values are bounded by the registry). */
static struct np_counter *rejected_counter(struct ingest *in, const char *field)
{
    char labels[NP_METRICS_LABELS_MAX];

    np_metrics_label(labels, sizeof(labels), "field", field[0] != '\0' ? field : "message");
    return np_metrics_counter(in->metrics, "messages_rejected_total",
                              "Messages refused, by the field the reason names", labels);
}

static int open_metrics(struct ingest *in)
{
    struct np_metrics *m = np_metrics_new("ingest");
    struct np_err err = { 0 };

    if (m == NULL) {
        return NP_ENOMEM;
    }
    in->metrics = m;
    in->received[0] = np_metrics_counter(m, "messages_received_total",
                                         "Client messages read, by socket", "channel=\"pull\"");
    in->received[1] = np_metrics_counter(m, "messages_received_total",
                                         "Client messages read, by socket", "channel=\"router\"");
    in->accepted =
        np_metrics_counter(m, "articles_accepted_total", "Articles validated and journaled", NULL);
    in->duplicate = np_metrics_counter(m, "articles_duplicate_total",
                                       "Articles answered as duplicates of a recent id", NULL);
    in->headline_only = np_metrics_counter(
        m, "headline_only_total", "Accepted articles with a title and no body or summary", NULL);
    in->acked = np_metrics_counter(m, "acks_total", "Messages acknowledged by store", NULL);
    in->redelivered = np_metrics_counter(m, "redelivered_total",
                                         "Messages sent again after the ack timeout", NULL);
    in->syncs = np_metrics_counter(m, "journal_syncs_total", "Journal group commits", NULL);
    in->replies_dropped = np_metrics_counter(
        m, "replies_dropped_total", "ROUTER replies dropped: client gone or not reading", NULL);
    in->inflight_g =
        np_metrics_gauge(m, "inflight", "Messages in the send window, not yet acked", NULL);
    in->outstanding_g = np_metrics_gauge(
        m, "outstanding", "Messages journaled and not yet acked (window and replay backlog)", NULL);
    in->acks_unsynced = np_metrics_gauge(
        m, "acks_unsynced", "Acks received and not yet durable (see ack_sync_ms)", NULL);
    in->replayed = np_metrics_counter(
        m, "replayed_total", "Journaled messages sent again at start: never acknowledged", NULL);
    in->replay_age =
        np_metrics_gauge(m, "replay_oldest_age_seconds",
                         "Age at start of the oldest message replayed from the journal", NULL);
    in->journal_bytes = np_metrics_gauge(
        m, "journal_bytes", "Bytes of journal segments and their ack files on disk", NULL);
    in->sync_seconds = np_metrics_histogram(
        m, "journal_sync_seconds", "Time to write and fdatasync a group of records", NULL,
        np_metrics_latency_bounds, np_metrics_latency_bounds_len);
    in->http = np_http_start(in->cfg->metrics_bind, (int)in->cfg->metrics_port, m, &err);
    if (in->http == NULL) {
        np_log_error("cannot serve metrics: %s port=%ld", err.msg, in->cfg->metrics_port);
        return NP_EIO;
    }
    return 0;
}

/* Loads the keys and starts the ZAP handler when CURVE is configured. */
static int start_curve(struct ingest *in)
{
    char pub[NP_CURVE_KEY_LEN + 1];
    struct np_err err = { 0 };

    if (in->cfg->curve_secret_file == NULL || in->cfg->curve_secret_file[0] == '\0') {
        return 0;
    }
    if (in->cfg->curve_clients == NULL) {
        np_log_error("cannot enable CURVE: curve_clients (the allowed client keys) is not set");
        return NP_EINVAL;
    }
    if (np_curve_load_keypair(in->cfg->curve_secret_file, pub, in->curve_secret, &err) != 0) {
        np_log_error("cannot enable CURVE: %s", err.msg);
        return NP_EINVAL;
    }
    in->allow = np_curve_allow_load(in->cfg->curve_clients, &err);
    if (in->allow == NULL) {
        np_log_error("cannot enable CURVE: %s", err.msg);
        return NP_EINVAL;
    }
    in->zap = ingest_zap_start(in->ctx, in->allow);
    if (in->zap == NULL) {
        return NP_EIO;
    }
    np_log_info("CURVE on for the client sockets clients=%zu", np_curve_allow_count(in->allow));
    return 0;
}

static int ingest_open(struct ingest *in, const struct ingest_config *cfg)
{
    struct np_err err = { 0 };
    double age = 0;
    int rc = 0;

    in->cfg = cfg;
    rc = open_metrics(in);
    if (rc != 0) {
        return rc;
    }
    in->pend = calloc((size_t)cfg->sync_records, sizeof(*in->pend));
    in->dedupe = ingest_dedupe_new((size_t)cfg->dedupe_ids);
    /* Until the journal is read, the ring must hold any window a previous run could leave. */
    if (in->pend == NULL || in->dedupe == NULL || alloc_ring(in, 4 * (uint64_t)cfg->max_inflight)) {
        return NP_ENOMEM;
    }
    rc = ingest_journal_open(cfg->journal_dir, (size_t)cfg->segment_mb * 1024 * 1024, replay_one,
                             in, &in->journal, &err);
    if (rc != 0) {
        np_log_error("cannot open the journal: %s dir=\"%s\"", err.msg, cfg->journal_dir);
        return rc;
    }
    in->next_seq = ingest_journal_next_seq(in->journal);
    in->oldest = ring_floor(in);
    age = oldest_replayed_age(in);
    np_counter_add(in->replayed, in->nbacklog);
    np_gauge_set(in->replay_age, age > 0 ? age : 0);
    admit_backlog(in);
    publish_window(in);
    in->origin.id = ingest_journal_instance(in->journal);
    in->ctx = zmq_ctx_new();
    if (in->ctx == NULL) {
        return NP_EIO;
    }
    rc = start_curve(in);
    if (rc == 0) {
        rc = open_sockets(in);
    }
    if (rc != 0) {
        return rc;
    }
    in->origin.ack = in->ack_endpoint;
    np_log_info("journal open instance=%s next_seq=%" PRIu64 " outstanding=%zu"
                " replayed=%" PRIu64 " oldest_replayed_age_s=%.1f acked_on_disk=%" PRIu64
                " disk_bytes=%" PRIu64,
                in->origin.id, in->next_seq, outstanding(in), np_counter_value(in->replayed),
                age > 0 ? age : 0, ingest_journal_recovered_acked(in->journal),
                ingest_journal_disk_bytes(in->journal));
    return 0;
}

static void ingest_close(struct ingest *in)
{
    for (size_t i = 0; i < in->npend; i++) {
        pending_release(&in->pend[i]);
    }
    np_zsock_close(&in->pull);
    np_zsock_close(&in->router);
    np_zsock_close(&in->forward);
    np_zsock_close(&in->ack);
    ingest_zap_stop(&in->zap);
    if (in->ctx != NULL) {
        zmq_ctx_term(in->ctx);
    }
    np_curve_allow_destroy(&in->allow);
    np_curve_wipe(in->curve_secret, sizeof(in->curve_secret));
    ingest_journal_close(&in->journal);
    ingest_dedupe_destroy(&in->dedupe);
    np_http_stop(&in->http);
    np_metrics_destroy(&in->metrics);
    free(in->pend);
    free(in->ring);
    free(in->backlog);
}

int ingest_run(const struct ingest_config *cfg, volatile sig_atomic_t *stop)
{
    struct ingest in = { 0 };
    int64_t deadline = 0;
    int rc = ingest_open(&in, cfg);

    if (rc != 0) {
        goto out;
    }
    np_http_set_ready(in.http, true, NULL);
    np_log_info("ready pull=%s router=%s forward=%s ack=%s ack_advertise=%s metrics_port=%d",
                cfg->pull, cfg->router, cfg->forward, cfg->ack, in.ack_endpoint,
                np_http_port(in.http));
    while (rc == 0 && !*stop) {
        rc = turn(&in, true);
    }
    /* Stop intake; make everything durable; give store a moment to ack what is in flight. */
    np_http_set_ready(in.http, false, "shutting down");
    deadline = np_time_now_ms() + cfg->shutdown_ms;
    while (rc == 0 && outstanding(&in) > 0 && np_time_now_ms() < deadline) {
        rc = turn(&in, false);
    }
    if (rc == 0) {
        rc = flush_pending(&in);
    }
    if (rc == 0) {
        rc = sync_acks(&in, true);
    }
    np_log_info("stopped received=%" PRIu64 " accepted=%" PRIu64 " duplicate=%" PRIu64
                " acked=%" PRIu64 " redelivered=%" PRIu64 " outstanding=%zu",
                np_counter_value(in.received[0]) + np_counter_value(in.received[1]),
                np_counter_value(in.accepted), np_counter_value(in.duplicate),
                np_counter_value(in.acked), np_counter_value(in.redelivered), outstanding(&in));
out:
    ingest_close(&in);
    return rc;
}
