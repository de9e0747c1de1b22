/* classify.c - the classify worker: tag articles between ingest and store
 *
 * Stateless: it connects to ingest's PUSH and to store's PULL, so any number of workers can
 * run side by side. Per message it decodes the envelope, parses the article frame once, runs
 * the rules engine, adds tags, entities, region, classifier and classified_at to the envelope,
 * and sends the new envelope with the ORIGINAL article frame (the same zmq_msg_t, no copy, no
 * re-serialisation). "rejected" messages pass through untouched. Articles ingest marked
 * "duplicate" are classified like any other: the copy can overtake the original (ingest resends
 * what classify could not take yet), and whichever lands first becomes the row.
 *
 * A message it cannot read is never dropped silently and never stops the worker: when the
 * envelope is readable but the article is not, the message goes on as "rejected" (stage
 * classify) with its origin and seq, so store records it and ingest gets its ack; when the
 * envelope itself is garbled, it goes on as "rejected" with an empty origin, which store
 * records without acking (ingest will redeliver the intact original, if there was one).
 *
 * When store pushes back, the send blocks (up to a second at a time, re-checking the stop
 * flag): classify holds one message at most, and ZeroMQ's high-water marks do the rest. On
 * SIGTERM a message in hand is dropped; ingest redelivers it.
 */
#include "classify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "classify_engine.h"
#include "classify_model.h"
#include "np/article.h"
#include "np/http.h"
#include "np/json.h"
#include "np/log.h"
#include "np/metrics.h"
#include "np/msg.h"
#include "np/time.h"
#include "np/zsock.h"

#define OPT(field) offsetof(struct classify_config, field)

static const struct np_setting settings[] = {
    { "input", NP_SET_STRING, "tcp://127.0.0.1:5557", "ingest's forward endpoints (connect)",
      OPT(input), 0, 0, false, NULL },
    { "output", NP_SET_STRING, "tcp://127.0.0.1:5559", "store's endpoints (connect)", OPT(output),
      0, 0, false, NULL },
    { "taxonomy", NP_SET_STRING, "config/taxonomy.json", "taxonomy file (reloaded on SIGHUP)",
      OPT(taxonomy), 0, 0, false, NULL },
    { "model", NP_SET_STRING, NULL,
      "learned model (newspipe-train) beside the taxonomy, reloaded on SIGHUP (unset: the one "
      "the taxonomy names; none: rules only)",
      OPT(model), 0, 0, false, NULL },
    { "hwm", NP_SET_INT, "1000", "ZeroMQ high-water mark of both sockets", OPT(hwm), 1, 1000000,
      false, NULL },
    { "metrics_port", NP_SET_INT, "9102", "HTTP port for /metrics, /healthz, /readyz (0: off)",
      OPT(metrics_port), 0, 65535, false, NULL },
    { "metrics_bind", NP_SET_STRING, "0.0.0.0", "address the HTTP endpoint listens on",
      OPT(metrics_bind), 0, 0, false, NULL },
    { "log_level", NP_SET_STRING, "info", "error, warn, info or debug", OPT(log_level), 0, 0, false,
      NULL },
};

const struct np_setting *classify_settings(size_t *n)
{
    *n = sizeof(settings) / sizeof(settings[0]);
    return settings;
}

struct classify {
    const struct classify_config *cfg;
    struct classify_engine *engine;
    struct classify_model *model; /* owned, or NULL; the engine borrows it */
    void *ctx;
    void *in;
    void *out;
    volatile sig_atomic_t *stop;
    struct np_metrics *metrics;
    struct np_http *http;
    struct np_counter *tagged;
    struct np_counter *rejected;
    struct np_counter *passed;
    struct np_histogram *seconds;
    struct np_json_doc env_doc; /* the envelope in hand (np_msg_decode) */
    struct np_json_doc art_doc; /* the article in hand */
    struct np_buf result;       /* the engine's result, reused */
};

/*
 * Sends frame 1 (env, copied) and frame 2 (payload: a zmq_msg_t, sent without copying).
 * Blocks while store pushes back, re-checking the stop flag every second. Returns 0,
 * NP_ESHUTDOWN (stop requested or context terminated) or NP_EIO.
 */
static int send_pair(struct classify *c, const void *env, size_t env_len, zmq_msg_t *payload)
{
    for (;;) {
        int e = 0;

        if (zmq_send(c->out, env, env_len, ZMQ_SNDMORE) >= 0) {
            /* ZeroMQ queues the rest of a multipart message once the first part is in. */
            return zmq_msg_send(payload, c->out, 0) >= 0 ? 0 : NP_EIO;
        }
        e = zmq_errno();
        if (e == ETERM) {
            return NP_ESHUTDOWN;
        }
        if (e != EAGAIN && e != EINTR) {
            np_log_error("could not send to store: %s", zmq_strerror(e));
            return NP_EIO;
        }
        if (*c->stop) {
            return NP_ESHUTDOWN;
        }
    }
}

/* Forwards a message that cannot be classified as "rejected" by stage classify. origin and
 * seq come from env when it was readable; payload (the raw bytes) goes on unchanged. */
static int pass_rejected(struct classify *c, const struct np_envelope *env, zmq_msg_t *payload,
                         const struct np_err *why)
{
    static const struct np_origin unknown = { "", "" };
    struct np_origin origin = unknown;
    struct np_envelope rej = { 0 };
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;

    if (env != NULL && env->origin_id != NULL) {
        origin.id = env->origin_id;
        origin.ack = env->origin_ack;
    }
    np_counter_inc(c->rejected);
    np_log_warn("passing on unreadable message as rejected: %s seq=%" PRIu64, why->msg,
                env != NULL ? env->seq : 0);
    if (np_msg_new_rejected(&rej, env != NULL ? env->seq : 0, &origin, np_now_us(), "classify",
                            "pipeline", why) != 0 ||
        np_msg_encode(&rej, NULL, &buf, &len) != 0) {
        np_msg_cleanup(&rej);
        return NP_ENOMEM;
    }
    rc = send_pair(c, buf, len, payload);
    free(buf);
    np_msg_cleanup(&rej);
    return rc;
}

/* Counts each tag the last run gave, by name (the registry bounds the number of names). */
static void count_tags(struct classify *c)
{
    char labels[NP_METRICS_LABELS_MAX];
    size_t n = classify_engine_ntags(c->engine);

    for (size_t i = 0; i < n; i++) {
        if (np_metrics_label(labels, sizeof(labels), "tag", classify_engine_tag(c->engine, i)) ==
            0) {
            np_counter_inc(
                np_metrics_counter(c->metrics, "tags_total", "Tags given, by tag", labels));
        }
    }
}

/*
 * Fills *v with views of the string fields classify reads (scan > 0 in the field table) of doc,
 * the canonical article ingest wrote: already validated and normalised, so neither is repeated
 * here. The views are borrowed from doc and valid while it lives. Returns 0, or NP_EINVAL
 * naming the field that is missing or of the wrong type (a message that did not come from
 * ingest).
 */
static int view_article(const struct np_json *doc, const char *id, struct np_article_view *v,
                        struct np_err *why)
{
    const char *doc_id = np_json_string(np_json_get(doc, "id"));

    memset(v, 0, sizeof(*v));
    if (doc->type != NP_JSON_OBJECT) {
        return np_err_set(why, NP_EINVAL, "article", "must be a JSON object");
    }
    if (doc_id == NULL || strcmp(doc_id, id) != 0) {
        return np_err_set(why, NP_EINVAL, "id", "article id does not match the envelope");
    }
    v->text[NP_FIELD_id] = doc_id;
    for (size_t i = 0; i < NP_FIELD_COUNT; i++) {
        const struct np_field_info *f = &np_article_fields[i];
        const struct np_json *j = f->scan > 0 ? np_json_get(doc, f->name) : NULL;

        if (j != NULL && j->type != NP_JSON_STRING) {
            return np_err_set(why, NP_EINVAL, f->name, "must be a string");
        }
        if (j != NULL) {
            v->text[i] = j->s;
        }
    }
    if (v->text[NP_FIELD_title] == NULL) {
        return np_err_set(why, NP_EINVAL, "title", "is required");
    }
    return 0;
}

/* Classifies one article message; env is decoded, payload is the article frame. */
static int classify_article(struct classify *c, struct np_envelope *env, zmq_msg_t *payload)
{
    struct np_err why = { 0 };
    struct np_article_view a; /* borrowed from c->art_doc */
    char *buf = NULL;
    size_t len = 0;
    char when[40];
    double t0 = 0;
    int rc = np_json_parse(&c->art_doc, zmq_msg_data(payload), zmq_msg_size(payload), "article", 0,
                           &why);

    if (rc == NP_ENOMEM) {
        return rc;
    }
    if (rc != 0 || view_article(c->art_doc.root, env->id, &a, &why) != 0) {
        return pass_rejected(c, env, payload, &why);
    }
    t0 = (double)np_now_us();
    np_buf_reset(&c->result);
    rc = classify_engine_write(c->engine, &a, &c->result);
    if (rc != 0) {
        return rc;
    }
    np_histogram_observe(c->seconds, ((double)np_now_us() - t0) / 1e6);
    count_tags(c);
    np_time_format(np_now_us(), when, sizeof(when));
    /* What classify adds replaces what the envelope may have carried already. */
    env->region = NULL;
    env->classifier = NULL;
    env->tags = NULL;
    env->entities = NULL;
    env->classified_at = when;
    rc = np_msg_encode(env, c->result.p, &buf, &len);
    env->classified_at = NULL; /* when dies with this call; env is the caller's */
    if (rc != 0) {
        return NP_ENOMEM;
    }
    np_log_debug("tagged article_id=%s seq=%" PRIu64 " tags=%zu", env->id, env->seq,
                 classify_engine_ntags(c->engine));
    np_counter_inc(c->tagged);
    rc = send_pair(c, buf, len, payload);
    free(buf);
    return rc;
}

static int handle(struct classify *c)
{
    struct np_frames f;
    struct np_envelope env = { 0 };
    struct np_err why = { 0 };
    zmq_msg_t empty;
    int rc = np_zsock_recv(c->in, &f, ZMQ_DONTWAIT);

    if (rc != 0) {
        return rc;
    }
    zmq_msg_init(&empty);
    if (f.total != 2) {
        np_err_set(&why, NP_EPARSE, "message", "expected 2 frames, got %zu", f.total);
        rc = pass_rejected(c, NULL, f.n >= 2 ? &f.frame[1] : &empty, &why);
    } else if (np_msg_decode(np_frame_data(&f, 0), np_frame_size(&f, 0), &c->env_doc, &env, &why) !=
               0) {
        rc = pass_rejected(c, NULL, &f.frame[1], &why);
    } else if (env.kind == NP_MSG_REJECTED) {
        np_counter_inc(c->passed);
        rc = send_pair(c, np_frame_data(&f, 0), np_frame_size(&f, 0), &f.frame[1]);
    } else {
        rc = classify_article(c, &env, &f.frame[1]);
    }
    np_msg_cleanup(&env);
    zmq_msg_close(&empty);
    np_frames_close(&f);
    return rc;
}

static void reload_model(struct classify *c, struct classify_engine *e);

static void maybe_reload(struct classify *c, volatile sig_atomic_t *reload)
{
    struct np_err err = { 0 };
    struct classify_engine *fresh = NULL;
    struct classify_engine_stats st;

    if (!*reload) {
        return;
    }
    *reload = 0;
    fresh = classify_engine_load(c->cfg->taxonomy, &err);
    if (fresh == NULL) {
        np_log_error("could not reload taxonomy, keeping the previous one: %s path=\"%s\" at=%s",
                     err.msg, c->cfg->taxonomy, err.field);
        reload_model(c, c->engine);
        return;
    }
    classify_engine_destroy(&c->engine);
    c->engine = fresh;
    reload_model(c, c->engine);
    classify_engine_stats(c->engine, &st);
    np_log_info("taxonomy reloaded path=\"%s\" tags=%zu entities=%zu phrases=%zu", c->cfg->taxonomy,
                st.tags, st.entities, st.phrases);
}

/* Loads the model file when one is set; on failure returns NULL and logs why. */
static struct classify_model *load_model(const char *path, const char *what)
{
    struct np_err err = { 0 };
    struct classify_model_stats st;
    struct classify_model *m = classify_model_load(path, &err);

    if (m == NULL) {
        np_log_error("%s: %s path=\"%s\" at=%s", what, err.msg, path, err.field);
        return NULL;
    }
    classify_model_stats(m, &st);
    np_log_info("model loaded path=\"%s\" tags=%zu features=%zu weighted=%zu weights=%zu "
                "bytes=%zu memory=%zu",
                path, st.tags, st.features, st.weighted, st.weights, st.file_bytes,
                st.memory_bytes);
    return m;
}

/* SIGHUP: the model too (the configured one, or the one taxonomy e names), set on e; a file
 * that fails its checks is refused and the old model stays. */
static void reload_model(struct classify *c, struct classify_engine *e)
{
    const char *path = classify_engine_model_path(e, c->cfg->model);
    struct classify_model *fresh = NULL;

    if (path != NULL) {
        fresh = load_model(path, "could not reload model, keeping the previous one");
    }
    if (path == NULL || fresh != NULL) { /* rules only now, or the new model */
        classify_model_destroy(&c->model);
        c->model = fresh;
    }
    classify_engine_set_model(e, c->model);
}

static int open_metrics(struct classify *c)
{
    struct np_err err = { 0 };
    struct np_metrics *m = np_metrics_new("classify");

    if (m == NULL) {
        return NP_ENOMEM;
    }
    c->metrics = m;
    c->tagged = np_metrics_counter(m, "articles_tagged_total", "Articles classified", NULL);
    c->rejected = np_metrics_counter(m, "messages_rejected_total",
                                     "Messages passed on as rejected (unreadable)", NULL);
    c->passed = np_metrics_counter(m, "rejected_passed_total",
                                   "Rejections from ingest passed on to store", NULL);
    c->seconds = np_metrics_histogram(m, "classify_seconds", "Rules engine time per article", NULL,
                                      np_metrics_latency_bounds, np_metrics_latency_bounds_len);
    c->http = np_http_start(c->cfg->metrics_bind, (int)c->cfg->metrics_port, m, &err);
    if (c->http == NULL) {
        np_log_error("cannot serve metrics: %s port=%ld", err.msg, c->cfg->metrics_port);
        return NP_EIO;
    }
    return 0;
}

static int classify_open(struct classify *c)
{
    struct np_zsock_opts opts = { .sndhwm = (int)c->cfg->hwm,
                                  .rcvhwm = (int)c->cfg->hwm,
                                  .sndtimeo_ms = 1000 };
    struct np_err err = { 0 };
    struct classify_engine_stats st;
    int rc = open_metrics(c);

    if (rc != 0) {
        return rc;
    }
    c->engine = classify_engine_load(c->cfg->taxonomy, &err);
    if (c->engine == NULL) {
        np_log_error("cannot load taxonomy: %s path=\"%s\" at=%s", err.msg, c->cfg->taxonomy,
                     err.field);
        return NP_EINVAL;
    }
    classify_engine_stats(c->engine, &st);
    np_log_info("taxonomy loaded path=\"%s\" tags=%zu entities=%zu phrases=%zu", c->cfg->taxonomy,
                st.tags, st.entities, st.phrases);
    const char *model = classify_engine_model_path(c->engine, c->cfg->model);
    if (model != NULL) {
        c->model = load_model(model, "cannot load model");
        if (c->model == NULL) {
            return NP_EINVAL;
        }
        classify_engine_set_model(c->engine, c->model);
    }
    c->ctx = zmq_ctx_new();
    if (c->ctx == NULL) {
        return NP_EIO;
    }
    c->in = np_zsock_open(c->ctx, ZMQ_PULL, c->cfg->input, false, &opts, &err);
    if (c->in != NULL) {
        c->out = np_zsock_open(c->ctx, ZMQ_PUSH, c->cfg->output, false, &opts, &err);
    }
    if (c->out == NULL) {
        np_log_error("cannot open sockets: %s", err.msg);
        return NP_EIO;
    }
    return 0;
}

int classify_run(const struct classify_config *cfg, volatile sig_atomic_t *stop,
                 volatile sig_atomic_t *reload)
{
    struct classify c = { .cfg = cfg, .stop = stop };
    int rc = classify_open(&c);

    if (rc == 0) {
        np_http_set_ready(c.http, true, NULL);
        np_log_info("ready input=%s output=%s metrics_port=%d", cfg->input, cfg->output,
                    np_http_port(c.http));
    }
    while (rc == 0 && !*stop) {
        zmq_pollitem_t item = { c.in, 0, ZMQ_POLLIN, 0 };
        int n = zmq_poll(&item, 1, 200);
        int e = n < 0 ? zmq_errno() : 0; /* before the reload's file I/O changes errno */

        maybe_reload(&c, reload);
        if (n < 0) {
            rc = e == EINTR ? 0 : NP_EIO;
            continue;
        }
        for (int i = 0; rc == 0 && n > 0 && i < 256 && !*stop; i++) {
            rc = handle(&c);
            if (rc == NP_ETRANSIENT) {
                rc = 0;
                break;
            }
        }
    }
    if (rc == NP_ESHUTDOWN) {
        rc = 0;
    }
    np_log_info("stopped tagged=%" PRIu64 " rejected=%" PRIu64 " passed=%" PRIu64,
                np_counter_value(c.tagged), np_counter_value(c.rejected),
                np_counter_value(c.passed));
    np_zsock_close(&c.in);
    np_zsock_close(&c.out);
    if (c.ctx != NULL) {
        zmq_ctx_term(c.ctx);
    }
    classify_engine_destroy(&c.engine);
    classify_model_destroy(&c.model);
    np_json_doc_free(&c.env_doc);
    np_json_doc_free(&c.art_doc);
    free(c.result.p);
    np_http_stop(&c.http);
    np_metrics_destroy(&c.metrics);
    return rc;
}
