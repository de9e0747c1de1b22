/* store.c - the store worker: PULL messages, write them in batches, ack what committed
 *
 * Two threads. The reader polls the PULL socket, decodes each message once
 * (store_msg_decode) into a filling batch of up to batch_size messages, and closes it when it
 * is full or batch_ms after its first message. The writer hands a closed batch to the sink
 * (store_sink.h; PostgreSQL, store_db.c: one transaction) and only after it committed acks its
 * seqs to the ingest instance named in each envelope. The two overlap: decoding batch N+1 (CPU in
 * store) runs while PostgreSQL works on batch N; with one thread each waited for the other. A batch
 * that is due while the writer is busy keeps filling up to batch_size, then the reader waits.
 *
 * Choices:
 * - While a batch cannot be written (database down, serialization failure) the writer keeps it
 *   and retries with capped exponential backoff and full jitter; the reader fills one more
 *   batch and then reads nothing: the PULL socket's high-water mark pushes back on classify,
 *   and ingest's in-flight limit on clients. Memory is bounded by two batches of batch_size
 *   messages of at most ~1 MiB each.
 * - Acks: one PUSH socket per distinct ack endpoint, connected on first use, at most
 *   STORE_ACK_PEERS_MAX (the least recently used is closed). A send that would block is
 *   dropped with a warning: ingest redelivers unacked records, and ON CONFLICT makes the second
 *   write a no-op. Messages whose envelope was unreadable have no seq and are not acked.
 * - Stop: the flag is checked between polls (at most 100 ms apart); the current batch is
 *   flushed, retrying for at most stop_ms, then acked. If it cannot be committed in that time
 *   store exits anyway (status 1): nothing was acked, so ingest sends it again.
 * - The ack endpoint comes from the envelope, i.e. from inside the pipeline; store connects
 *   wherever it says. The pipeline sockets are trusted (docs/ARCHITECTURE.md, "Security").
 */
#include "store.h"

#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>

#include <zmq.h>

#include "np/article.h"
#include "np/err.h"
#include "np/http.h"
#include "np/log.h"
#include "np/metrics.h"
#include "np/msg.h"
#include "np/time.h"
#include "np/zsock.h"
#include "store_db.h"
#include "store_index.h"
#include "store_msg.h"
#include "store_sink.h"

/* Largest frame accepted from classify: a canonical article may exceed the client limit a bit
 * (escaping, the id), and the envelope carries tags and evidence. */
#define STORE_MAXMSGSIZE (INT64_C(2359296)) /* 2 MiB + 256 KiB */
_Static_assert(STORE_MAXMSGSIZE >= 2 * (int64_t)(NP_ARTICLE_MAX) + (int64_t)(NP_ENVELOPE_MAX),
               "pipeline frames must fit an article and its envelope");

/* How often the loop looks at the stop flag while idle. */
#define STORE_POLL_MS 100

/* How often a due batch looks for the writer to be free. */
#define STORE_HANDOFF_POLL_MS 2

/* First retry delay; doubles up to max_retry_ms. */
#define STORE_RETRY_BASE_MS 100

/* An open ack socket. */
struct ack_peer {
    char *endpoint; /* owned */
    void *sock;
    uint64_t used; /* tick of last use, for LRU */
};

struct store {
    const struct store_config *cfg; /* borrowed */
    const volatile sig_atomic_t *stop;
    const char *conninfo; /* borrowed from cfg; NULL = PG* variables */
    void *ctx;
    void *pull;
    struct store_sink sink;   /* where batches go (PostgreSQL) */
    struct store_msg **batch; /* batch_size slots, each owned while set */
    size_t n;
    int64_t batch_started_ms;
    int64_t stop_deadline_ms; /* 0 until stop is seen */
    struct ack_peer peers[STORE_ACK_PEERS_MAX];
    size_t npeers;
    uint64_t tick;
    unsigned int seed;
    int retries; /* consecutive failures, for the backoff (writer) */
    /* Reader/writer handoff: the reader decodes into fill while the writer commits batch. */
    struct store_msg **fill; /* batch_size slots, each owned while set */
    size_t nfill;
    struct store_msg_scratch scratch; /* the reader's parse space */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool handed;   /* batch holds messages the writer must commit */
    bool quit;     /* the reader is done: the writer exits once batch is written */
    int writer_rc; /* the writer's error; it stops on one */
    struct np_metrics *metrics;
    struct np_http *http;
    struct np_counter *batches;
    struct np_counter *articles;
    struct np_counter *existing;
    struct np_counter *duplicates;
    struct np_counter *rejected;
    struct np_counter *isolated;
    struct np_counter *db_transient;
    struct np_histogram *batch_rows;
    struct np_histogram *latency;
    struct np_counter *indexed;
    struct store_index *indexer;
    _Atomic int64_t busy_until_ms; /* the writer is saturated until then (indexer defers) */
};

/* Registers the metrics and starts the HTTP endpoint (not ready until migrated and bound). */
static int open_metrics(struct store *s)
{
    struct np_metrics *m = np_metrics_new("store");
    struct np_err err = { 0 };

    if (m == NULL) {
        return NP_ENOMEM;
    }
    s->metrics = m;
    s->batches = np_metrics_counter(m, "batches_total", "Batches committed", NULL);
    s->articles = np_metrics_counter(m, "rows_committed_total", "Rows committed, by table",
                                     "table=\"articles\"");
    s->rejected = np_metrics_counter(m, "rows_committed_total", "Rows committed, by table",
                                     "table=\"rejected_messages\"");
    s->existing = np_metrics_counter(m, "articles_existing_total",
                                     "Articles already stored (redelivered or resent)", NULL);
    s->duplicates = np_metrics_counter(m, "articles_batch_duplicates_total",
                                       "Articles dropped as duplicates inside one batch", NULL);
    s->isolated =
        np_metrics_counter(m, "db_errors_total", "Database errors, by class", "class=\"data\"");
    s->db_transient = np_metrics_counter(m, "db_errors_total", "Database errors, by class",
                                         "class=\"transient\"");
    s->batch_rows = np_metrics_histogram(m, "batch_messages", "Messages per committed batch", NULL,
                                         np_metrics_batch_bounds, np_metrics_batch_bounds_len);
    s->latency = np_metrics_histogram(m, "e2e_latency_seconds",
                                      "From ingest accepting an article to its commit", NULL,
                                      np_metrics_latency_bounds, np_metrics_latency_bounds_len);
    s->indexed = np_metrics_counter(m, "articles_indexed_total",
                                    "Articles made searchable by the indexer", NULL);
    if (s->cfg->migrate_only) {
        return 0; /* a one-shot: no endpoint, so no clash with a store already serving one */
    }
    s->http = np_http_start(s->cfg->metrics_bind, (int)s->cfg->metrics_port, m, &err);
    if (s->http == NULL) {
        np_log_error("cannot serve metrics: %s port=%ld", err.msg, s->cfg->metrics_port);
        return NP_EINVAL;
    }
    np_http_set_ready(s->http, false, "connecting to the database");
    return 0;
}

/* Counts a committed batch. */
static void count_batch(struct store *s, const struct store_stats *st)
{
    double now = (double)np_now_us();

    np_counter_inc(s->batches);
    np_counter_add(s->articles, st->articles);
    np_counter_add(s->rejected, st->rejected);
    np_counter_add(s->existing, st->existing);
    np_counter_add(s->duplicates, st->duplicates);
    np_counter_add(s->isolated, st->isolated);
    np_histogram_observe(s->batch_rows, (double)s->n);
    for (size_t i = 0; i < s->n; i++) {
        if (s->batch[i]->kind == STORE_MSG_ARTICLE && s->batch[i]->received_us != NP_TIME_NONE) {
            np_histogram_observe(s->latency, (now - (double)s->batch[i]->received_us) / 1e6);
        }
    }
}

/* True once the stop flag is set; records when the grace period ends. */
static bool stopping(struct store *s)
{
    if (*s->stop == 0) {
        return false;
    }
    if (s->stop_deadline_ms == 0) {
        s->stop_deadline_ms = np_time_now_ms() + s->cfg->stop_ms;
    }
    return true;
}

/* True when store is stopping and its grace period is over. */
static bool out_of_time(struct store *s)
{
    return stopping(s) && np_time_now_ms() >= s->stop_deadline_ms;
}

/* Sleeps for the next backoff delay (capped exponential, full jitter), in slices so a stop is
 * noticed. Returns false when store should give up instead (stopping, out of time). */
static bool backoff(struct store *s)
{
    long cap = s->cfg->max_retry_ms;
    long delay = STORE_RETRY_BASE_MS;
    int64_t until = 0;

    for (int i = 0; i < s->retries && delay < cap; i++) {
        delay *= 2;
    }
    delay = delay > cap ? cap : delay;
    delay = delay / 2 + (long)(rand_r(&s->seed) % (unsigned int)(delay / 2 + 1));
    s->retries++;
    until = np_time_now_ms() + delay;
    while (np_time_now_ms() < until) {
        struct timespec ts = { 0, 20 * 1000000L };

        if (out_of_time(s)) {
            return false;
        }
        nanosleep(&ts, NULL);
    }
    return !out_of_time(s);
}

/* Opens the sink (connect, migrate), retrying while its storage is not reachable. */
static int open_sink(struct store *s, int *schema)
{
    struct np_err err;
    int rc = 0;

    for (;;) {
        np_err_clear(&err);
        rc = s->sink.open_fn(s->sink.ctx, schema, &err);
        if (rc == 0) {
            s->retries = 0;
            return 0;
        }
        if (rc != NP_ETRANSIENT) {
            np_log_error("cannot open the database: %s", err.msg);
            return rc;
        }
        np_log_warn("could not open the database, retrying: %s attempt=%d", err.msg,
                    s->retries + 1);
        if (stopping(s) || !backoff(s)) {
            return NP_ESHUTDOWN;
        }
    }
}

/* ---- acks ---- */

static void *ack_socket(struct store *s, const char *endpoint)
{
    struct np_zsock_opts opts = { 0 };
    struct ack_peer *p = NULL;
    struct np_err err;

    for (size_t i = 0; i < s->npeers; i++) {
        if (strcmp(s->peers[i].endpoint, endpoint) == 0) {
            s->peers[i].used = ++s->tick;
            return s->peers[i].sock;
        }
    }
    if (s->npeers == STORE_ACK_PEERS_MAX) {
        size_t lru = 0;

        for (size_t i = 1; i < s->npeers; i++) {
            lru = s->peers[i].used < s->peers[lru].used ? i : lru;
        }
        np_log_info("closing the least recently used ack socket endpoint=%s",
                    s->peers[lru].endpoint);
        np_zsock_close(&s->peers[lru].sock);
        free(s->peers[lru].endpoint);
        s->peers[lru] = s->peers[--s->npeers];
    }
    p = &s->peers[s->npeers];
    p->endpoint = strdup(endpoint);
    if (p->endpoint == NULL) {
        return NULL;
    }
    opts.sndhwm = (int)s->cfg->ack_hwm;
    opts.linger_ms = 500;
    opts.sndtimeo_ms = 100;
    np_err_clear(&err);
    p->sock = np_zsock_open(s->ctx, ZMQ_PUSH, endpoint, false, &opts, &err);
    if (p->sock == NULL) {
        np_log_warn("could not open ack socket endpoint=%s error=\"%s\"", endpoint, err.msg);
        free(p->endpoint);
        p->endpoint = NULL;
        return NULL;
    }
    p->used = ++s->tick;
    s->npeers++;
    return p->sock;
}

/* Sends the acks of the committed batch: one frame per distinct ack endpoint. */
static void send_acks(struct store *s)
{
    uint64_t *seqs = malloc((s->n + 1) * sizeof(*seqs));
    bool *done = calloc(s->n + 1, sizeof(*done));

    if (seqs == NULL || done == NULL) {
        np_log_error("could not send acks: out of memory batch=%zu", s->n);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        const char *ep = s->batch[i]->origin_ack;
        char *buf = NULL;
        size_t len = 0;
        size_t k = 0;
        void *sock = NULL;
        int rc = 0;

        if (done[i] || !s->batch[i]->has_seq || ep == NULL ||
            s->batch[i]->outcome == STORE_PENDING) {
            continue;
        }
        for (size_t j = i; j < s->n; j++) {
            const struct store_msg *m = s->batch[j];

            if (!done[j] && m->has_seq && m->outcome != STORE_PENDING && m->origin_ack != NULL &&
                strcmp(m->origin_ack, ep) == 0) {
                seqs[k++] = m->seq;
                done[j] = true;
            }
        }
        sock = ack_socket(s, ep);
        if (sock == NULL || np_msg_ack_encode(seqs, k, &buf, &len) != 0) {
            np_log_warn("dropped acks, ingest will redeliver endpoint=%s seqs=%zu", ep, k);
            continue;
        }
        rc = np_zsock_send(sock, (const void *const *)&buf, &len, 1, 0);
        if (rc != 0) {
            np_log_warn("dropped acks, ingest will redeliver endpoint=%s seqs=%zu error=\"%s\"", ep,
                        k, np_strerror(rc));
        }
        free(buf);
    }
out:
    free(seqs);
    free(done);
}

/* ---- batches ---- */

static void seq_range(const struct store *s, uint64_t *lo, uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->batch[i]->has_seq) {
            *lo = s->batch[i]->seq < *lo ? s->batch[i]->seq : *lo;
            *hi = s->batch[i]->seq > *hi ? s->batch[i]->seq : *hi;
        }
    }
    if (*lo > *hi) {
        *lo = 0;
    }
}

/* Writes the batch (retrying while the database is away), acks it, empties it. */
static int flush(struct store *s)
{
    struct store_stats st;
    uint64_t lo = 0;
    uint64_t hi = 0;
    int64_t t0 = np_time_now_ms();
    int rc = 0;

    if (s->n == 0) {
        return 0;
    }
    seq_range(s, &lo, &hi);
    for (;;) {
        memset(&st, 0, sizeof(st));
        rc = s->sink.write_fn(s->sink.ctx, s->batch, s->n, &st);
        if (rc == 0) {
            break;
        }
        if (rc != NP_ETRANSIENT) {
            np_log_error("cannot write batch batch=%zu seq_min=%" PRIu64 " seq_max=%" PRIu64
                         " error=\"%s\"",
                         s->n, lo, hi, np_strerror(rc));
            return rc;
        }
        np_counter_inc(s->db_transient);
        np_http_set_ready(s->http, false, "database unavailable");
        np_log_warn("could not write batch, will retry batch=%zu seq_min=%" PRIu64
                    " seq_max=%" PRIu64 " attempt=%d",
                    s->n, lo, hi, s->retries + 1);
        if (!backoff(s)) {
            np_log_error("giving up on batch at shutdown, ingest will redeliver batch=%zu "
                         "seq_min=%" PRIu64 " seq_max=%" PRIu64,
                         s->n, lo, hi);
            return NP_ETRANSIENT;
        }
    }
    s->retries = 0;
    np_http_set_ready(s->http, true, NULL);
    count_batch(s, &st);
    send_acks(s);
    np_log_debug("stored batch batch=%zu articles=%zu existing=%zu duplicates=%zu rejected=%zu "
                 "isolated=%zu dropped=%zu seq_min=%" PRIu64 " seq_max=%" PRIu64 " ms=%" PRId64,
                 s->n, st.articles, st.existing, st.duplicates, st.rejected, st.isolated,
                 st.dropped, lo, hi, np_time_now_ms() - t0);
    for (size_t i = 0; i < s->n; i++) {
        store_msg_destroy(&s->batch[i]);
    }
    s->n = 0;
    return 0;
}

/* Reads what is waiting into the filling batch, up to a full batch, without blocking. */
static int read_some(struct store *s)
{
    struct np_frames f;
    int rc = 0;

    while (s->nfill < (size_t)s->cfg->batch_size) {
        struct store_msg *m = NULL;
        size_t total = 0;

        rc = np_zsock_recv(s->pull, &f, ZMQ_DONTWAIT);
        if (rc == NP_ETRANSIENT) {
            return 0;
        }
        if (rc != 0) {
            return rc;
        }
        total = f.total;
        rc = store_msg_decode(f.n > 0 ? np_frame_data(&f, 0) : NULL,
                              f.n > 0 ? np_frame_size(&f, 0) : 0,
                              f.n > 1 ? np_frame_data(&f, 1) : NULL,
                              f.n > 1 ? np_frame_size(&f, 1) : 0, total, &s->scratch, &m);
        np_frames_close(&f);
        if (rc != 0) {
            np_log_error("could not keep a message: %s", np_strerror(rc));
            return rc;
        }
        if (m->kind == STORE_MSG_REJECTED && strcmp(m->stage, "store") == 0) {
            char seq[32] = "none";

            if (m->has_seq) {
                snprintf(seq, sizeof(seq), "%" PRIu64, m->seq);
            }
            np_log_warn("refused a pipeline message seq=%s reason=\"%s\"", seq, m->reason);
        }
        if (s->nfill == 0) {
            s->batch_started_ms = np_time_now_ms();
        }
        s->fill[s->nfill++] = m;
    }
    return 0;
}

/*
 * The writer thread: commits each batch the reader hands over (flush(): retries, acks), so
 * that decoding the next batch overlaps the database's work on this one. It owns the database
 * connection and the ack sockets from the moment it starts.
 */
static void *writer_main(void *arg)
{
    struct store *s = arg;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->handed && !s->quit) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (!s->handed) {
            break; /* quit, and nothing left to write */
        }
        pthread_mutex_unlock(&s->lock);
        rc = flush(s);
        pthread_mutex_lock(&s->lock);
        s->handed = false;
        s->writer_rc = rc;
        pthread_cond_broadcast(&s->cond);
        if (rc != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* True while the writer holds a batch. */
static bool writer_busy(struct store *s)
{
    bool busy = false;

    pthread_mutex_lock(&s->lock);
    busy = s->handed;
    pthread_mutex_unlock(&s->lock);
    return busy;
}

/* Hands the filled batch to the writer, waiting while it is busy with the previous one (the
 * reader then reads nothing: backpressure). Returns 0 or the writer's error. */
static int hand_off(struct store *s)
{
    struct store_msg **t = NULL;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    while (s->handed && s->writer_rc == 0) {
        pthread_cond_wait(&s->cond, &s->lock);
    }
    rc = s->writer_rc;
    if (rc == 0 && s->nfill > 0) {
        t = s->batch;
        s->batch = s->fill;
        s->fill = t;
        s->n = s->nfill;
        s->nfill = 0;
        s->handed = true;
        /* Batches at least half full mean the writer is saturated (at a steady low rate
         * they hold a batch_ms worth of articles): the search indexer then waits. */
        if (2 * s->n >= (size_t)s->cfg->batch_size) {
            atomic_store(&s->busy_until_ms, np_time_now_ms() + 1000);
        }
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* The writer's error, if it stopped on one. */
static int writer_error(struct store *s)
{
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    rc = s->writer_rc;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Poll timeout: until the filling batch is due, sooner while it waits for a busy writer. */
static long poll_timeout(struct store *s)
{
    int64_t left = 0;

    if (s->nfill == 0) {
        return STORE_POLL_MS;
    }
    left = s->batch_started_ms + s->cfg->batch_ms - np_time_now_ms();
    if (left <= 0) {
        return STORE_HANDOFF_POLL_MS; /* due, the writer is busy: look again soon */
    }
    return left < STORE_POLL_MS ? (long)left : STORE_POLL_MS;
}

/* The reader: poll, decode into the filling batch, hand it over when full or due. */
static int loop(struct store *s)
{
    int rc = 0;

    while (rc == 0 && *s->stop == 0) {
        zmq_pollitem_t item = { s->pull, 0, ZMQ_POLLIN, 0 };
        bool full = false;
        bool due = false;

        if (zmq_poll(&item, 1, poll_timeout(s)) < 0) {
            int e = zmq_errno();

            if (e == ETERM) {
                break;
            }
            if (e != EINTR) {
                np_log_error("could not poll: %s", zmq_strerror(e));
                return NP_EIO;
            }
            continue;
        }
        rc = (item.revents & ZMQ_POLLIN) != 0 ? read_some(s) : 0;
        full = s->nfill >= (size_t)s->cfg->batch_size;
        due = s->nfill > 0 && np_time_now_ms() - s->batch_started_ms >= s->cfg->batch_ms;
        /* A due batch waits (and grows) while the writer is busy; a full one blocks. */
        if (rc == 0 && (full || (due && !writer_busy(s)))) {
            rc = hand_off(s);
        }
        if (rc == 0) {
            rc = writer_error(s);
        }
    }
    np_log_info("stopping pending=%zu", s->nfill);
    if (rc == 0) {
        rc = hand_off(s); /* waits for the writer's batch, then hands over the last one */
    }
    return rc;
}

static int start(struct store *s)
{
    struct np_zsock_opts opts = { 0 };
    struct np_err err;
    char endpoint[256];
    int version = 0;
    int rc = open_metrics(s);

    if (rc == 0) {
        rc = store_db_sink(s->conninfo, &s->sink);
    }
    if (rc == 0) {
        rc = open_sink(s, &version);
    }
    if (rc != 0 || s->cfg->migrate_only) {
        if (rc == 0) {
            np_log_info("migrations applied schema=%d", version);
        }
        return rc;
    }
    opts.maxmsgsize = STORE_MAXMSGSIZE;
    np_err_clear(&err);
    s->pull = np_zsock_open(s->ctx, ZMQ_PULL, s->cfg->bind, true, &opts, &err);
    if (s->pull == NULL) {
        np_log_error("cannot listen for messages: %s", err.msg);
        return NP_EINVAL;
    }
    if (np_zsock_last_endpoint(s->pull, endpoint, sizeof(endpoint)) != 0) {
        snprintf(endpoint, sizeof(endpoint), "%s", s->cfg->bind);
    }
    if (s->cfg->search_index) {
        s->indexer =
            store_index_start(s->conninfo, s->cfg->index_batch, 500, &s->busy_until_ms, s->indexed);
        if (s->indexer == NULL) {
            np_log_error("cannot start the search indexer");
            return NP_ENOMEM;
        }
    }
    np_http_set_ready(s->http, true, NULL);
    np_log_info("ready bind=%s schema=%d metrics_port=%d", endpoint, version,
                np_http_port(s->http));
    return 0;
}

int store_run(const struct store_config *cfg, const volatile sig_atomic_t *stop)
{
    struct store s;
    int rc = NP_ENOMEM;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.stop = stop;
    s.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    s.conninfo = cfg->db != NULL && cfg->db[0] != '\0' ? cfg->db : cfg->database_url;
    s.batch = calloc((size_t)cfg->batch_size, sizeof(struct store_msg *));
    s.fill = calloc((size_t)cfg->batch_size, sizeof(struct store_msg *));
    s.ctx = zmq_ctx_new();
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    if (s.batch == NULL || s.fill == NULL || s.ctx == NULL) {
        np_log_error("cannot start: out of memory");
        goto out;
    }
    rc = start(&s);
    if (rc == 0 && !cfg->migrate_only) {
        pthread_t writer;

        if (pthread_create(&writer, NULL, writer_main, &s) != 0) {
            np_log_error("cannot start the writer thread");
            rc = NP_ENOMEM;
            goto out;
        }
        rc = loop(&s);
        pthread_mutex_lock(&s.lock);
        s.quit = true;
        pthread_cond_broadcast(&s.cond);
        pthread_mutex_unlock(&s.lock);
        pthread_join(writer, NULL);
        rc = rc != 0 ? rc : s.writer_rc;
    }
    if (rc == NP_ESHUTDOWN) {
        rc = 0; /* stopped before there was anything to do */
    }
out:
    store_index_stop(&s.indexer);
    for (size_t i = 0; i < s.n; i++) {
        store_msg_destroy(&s.batch[i]);
    }
    for (size_t i = 0; i < s.nfill; i++) {
        store_msg_destroy(&s.fill[i]);
    }
    free(s.fill);
    store_msg_scratch_free(&s.scratch);
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
    for (size_t i = 0; i < s.npeers; i++) {
        np_zsock_close(&s.peers[i].sock);
        free(s.peers[i].endpoint);
    }
    np_zsock_close(&s.pull);
    if (s.ctx != NULL) {
        zmq_ctx_term(s.ctx);
    }
    if (s.sink.close_fn != NULL) {
        s.sink.close_fn(s.sink.ctx);
    }
    free(s.batch);
    np_http_stop(&s.http);
    np_metrics_destroy(&s.metrics);
    return rc;
}
