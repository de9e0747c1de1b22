/* push.c - newspipe-push: send articles from files to ingest and report what happened
 *
 * A DEALER socket keeps up to `window` requests in flight to ingest's ROUTER socket. Each
 * request is [request id][empty][article]: ingest echoes everything up to the empty delimiter,
 * so a reply finds its request (file and line) even though "rejected" replies overtake
 * "accepted" ones, which wait for the journal sync. With --no-wait it uses ingest's PULL socket
 * instead and learns nothing back: rejections then land only in rejected_messages.
 *
 * Ingest going away: each request in flight keeps a copy of its article in its slot (slot =
 * request id % window; a slot is reused only once answered). When no reply has come for
 * resend_ms, every unanswered request is sent again with its own id, and again after each further
 * resend_ms: ZeroMQ reconnects by itself, but what was on the wire to a dead ingest is lost.
 * Resending is safe: the article's id is the same, so it is one row; a request answered twice
 * counts once (the second answer finds its slot free). After timeout_ms without any reply push
 * gives up, names the unanswered requests and counts them as unanswered.
 *
 * Inputs are mapped (or, for standard input, read) whole: a JSON array is split into its
 * elements, JSON lines are sent line by line as they are (ingest validates, push does not),
 * a single JSON document is sent as it is, an input starting with '<' is read as an RSS or Atom
 * feed (push_feed.h: one article per item, the feed parsed whole first, so a malformed feed
 * sends nothing), and anything else is read as the plain-text layout.
 */
#include "push.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>
#include <jansson.h>

#include "push_feed.h"
#include "push_text.h"
#include "np/article.h"
#include "np/buf.h"
#include "np/curve.h"
#include "np/err.h"
#include "np/zsock.h"

#define LABEL_MAX   160
#define REASONS_MAX 64

#define OPT(field) offsetof(struct push_config, field)

static const struct np_setting settings[] = {
    { "endpoint", NP_SET_STRING, "tcp://127.0.0.1:5556", "ingest's ROUTER endpoint (replies)",
      OPT(endpoint), 0, 0, false, NULL },
    { "pull_endpoint", NP_SET_STRING, "tcp://127.0.0.1:5555",
      "ingest's PULL endpoint (used with --no-wait)", OPT(pull_endpoint), 0, 0, false, NULL },
    { "window", NP_SET_INT, "256", "requests in flight", OPT(window), 1, 100000, false, NULL },
    { "timeout_ms", NP_SET_INT, "30000", "give up when no reply comes for this long",
      OPT(timeout_ms), 100, 3600000, false, NULL },
    { "resend_ms", NP_SET_INT, "3000",
      "send the unanswered requests again after this long without a reply (ingest restarted)",
      OPT(resend_ms), 100, 3600000, false, NULL },
    { "rate", NP_SET_INT, "0", "articles per second (0: as fast as ingest takes them)", OPT(rate),
      0, 10000000, false, NULL },
    { "no_wait", NP_SET_BOOL, "false", "fire and forget on the PULL socket, no replies",
      OPT(no_wait), 0, 0, false, NULL },
    { "quiet", NP_SET_BOOL, "false", "print only the summary", OPT(quiet), 0, 0, false, NULL },
    { "curve_server", NP_SET_STRING, NULL,
      "file with ingest's CURVE public key (.pub): encrypt and authenticate", OPT(curve_server), 0,
      0, false, NULL },
    { "curve_key", NP_SET_STRING, NULL, "this client's CURVE key pair file (newspipe-keygen)",
      OPT(curve_key), 0, 0, false, NULL },
};

const struct np_setting *push_settings(size_t *n)
{
    *n = sizeof(settings) / sizeof(settings[0]);
    return settings;
}

/* One input file, mapped or read whole, and where the reader is in it. */
struct input {
    const char *name;
    char *data; /* mapped (mapped true) or malloc'd */
    size_t len;
    bool mapped;

    enum {
        IN_LINES,
        IN_ARRAY,
        IN_ONE,
        IN_TEXT,
        IN_FEED,
        IN_DONE
    } mode;

    size_t pos;  /* IN_LINES: next byte */
    size_t line; /* IN_LINES: line number of the next line */
    json_t *array;
    size_t idx;
    struct push_feed *feed; /* IN_FEED: owned, opened on the first item */
    size_t feed_no;         /* IN_FEED: 1 + its index in push.feeds */
};

/* One article to send: bytes (owned when own is true) and a label for messages. */
struct item {
    const char *data;
    size_t len;
    char *own;
    char label[LABEL_MAX];
    size_t feed_no; /* 1 + index in push.feeds, 0 when not from a feed */
};

/* What happened to one feed's items, for the summary. */
struct feed_count {
    char name[LABEL_MAX];
    const char *format; /* static */
    size_t items, accepted, duplicate, rejected;
};

/* A request in flight: its id, its article (a copy) and its label. */
struct slot {
    uint64_t id;
    bool busy;
    char *data;
    size_t len;
    char label[LABEL_MAX];
    size_t feed_no; /* as in struct item */
};

struct reason {
    char field[NP_ERR_FIELD_MAX];
    size_t count;
};

struct push {
    const struct push_config *cfg;
    FILE *out;
    FILE *err;
    bool progress;
    void *sock;
    struct slot *slots; /* by request id % window */
    struct feed_count *feeds;
    size_t nfeeds;
    uint64_t next_id;
    size_t outstanding;
    double last_reply;  /* or the first send after none was outstanding */
    double last_resend; /* or last_reply, whichever is later */
    size_t sent, accepted, duplicate, rejected, unanswered, unreadable, resent;
    struct reason reasons[REASONS_MAX];
    size_t nreasons;
    double started;
    double last_progress;
    /* For the ETA: bytes of all input files (0 when one is standard input: unknown), bytes of
     * the inputs finished, and the input being read. */
    uint64_t bytes_total;
    uint64_t bytes_done;
    const struct input *current;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_stdin(struct input *in)
{
    struct np_buf b = { 0 };

    while (np_buf_reserve(&b, 1 << 16)) {
        size_t n = fread(b.p + b.len, 1, 1 << 16, stdin);

        if (n == 0) {
            break;
        }
        b.len += n;
    }
    if (b.failed || ferror(stdin)) {
        np_buf_cleanup(&b);
        return NP_EIO;
    }
    in->data = b.p;
    in->len = b.len;
    return 0;
}

static int map_file(struct input *in)
{
    struct stat st;
    int fd = open(in->name, O_RDONLY | O_CLOEXEC);
    void *p = NULL;

    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return NP_EIO;
    }
    in->len = (size_t)st.st_size;
    if (in->len > 0) {
        p = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return NP_EIO;
        }
        in->data = p;
        in->mapped = true;
    }
    close(fd);
    return 0;
}

/* Decides how to read the input from its first bytes. */
static void detect(struct input *in)
{
    size_t i = 0;
    const char *nl = NULL;
    json_t *first = NULL;

    while (i < in->len && strchr(" \t\r\n", in->data[i]) != NULL) {
        i++;
    }
    if (i == in->len) {
        in->mode = IN_DONE;
    } else if (push_feed_sniff(in->data, in->len)) {
        in->mode = IN_FEED;
    } else if (in->data[i] == '[') {
        in->array = json_loadb(in->data, in->len, 0, NULL);
        in->mode = json_is_array(in->array) ? IN_ARRAY : IN_ONE;
    } else if (in->data[i] == '{') {
        /* JSON lines when the first line is a whole JSON value, else one document. */
        nl = memchr(in->data + i, '\n', in->len - i);
        first = json_loadb(in->data + i, nl != NULL ? (size_t)(nl - in->data) - i : in->len - i, 0,
                           NULL);
        in->mode = first != NULL && nl != NULL ? IN_LINES : IN_ONE;
        json_decref(first);
    } else {
        in->mode = IN_TEXT;
    }
    in->line = 1;
}

static int open_input(struct input *in, const char *name)
{
    memset(in, 0, sizeof(*in));
    in->name = name;
    if ((strcmp(name, "-") == 0 ? read_stdin(in) : map_file(in)) != 0) {
        return NP_EIO;
    }
    detect(in);
    return 0;
}

static void close_input(struct input *in)
{
    if (in->mapped) {
        munmap(in->data, in->len);
    } else {
        free(in->data);
    }
    json_decref(in->array);
    push_feed_destroy(&in->feed);
    memset(in, 0, sizeof(*in));
}

/* Opens the input as a feed and adds it to the feeds counted. Returns false (after saying why)
 * when it is not a readable feed. */
static bool open_feed(struct push *p, struct input *in)
{
    struct np_err e = { 0 };
    struct feed_count *fc = NULL;

    if (push_feed_open(in->data, in->len, &in->feed, &e) != 0) {
        fprintf(p->out, "%s: cannot read as a feed: %s; nothing from it was pushed\n", in->name,
                e.msg);
        p->unreadable++;
        return false;
    }
    fc = realloc(p->feeds, (p->nfeeds + 1) * sizeof(*fc));
    if (fc == NULL) {
        fprintf(p->out, "%s: out of memory\n", in->name);
        p->unreadable++;
        return false;
    }
    p->feeds = fc;
    fc = &p->feeds[p->nfeeds++];
    memset(fc, 0, sizeof(*fc));
    snprintf(fc->name, sizeof(fc->name), "%s", in->name);
    fc->format = push_feed_format(in->feed);
    in->feed_no = p->nfeeds;
    return true;
}

/* Gives the next item of a feed input in *it. Returns true, or false at the end. */
static bool next_feed_item(struct push *p, struct input *in, struct item *it)
{
    json_t *obj = NULL;
    long line = 0;
    int rc = 0;

    if (in->feed == NULL && !open_feed(p, in)) {
        in->mode = IN_DONE;
        return false;
    }
    rc = push_feed_next(in->feed, &obj, &line);
    if (rc != 1) {
        if (rc < 0) {
            fprintf(p->out, "%s: out of memory reading item %zu\n", in->name,
                    push_feed_position(in->feed));
            p->unreadable++;
        }
        in->mode = IN_DONE;
        return false;
    }
    it->own = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    snprintf(it->label, sizeof(it->label), "%s:%ld", in->name, line);
    it->data = it->own != NULL ? it->own : "";
    it->len = it->own != NULL ? strlen(it->own) : 0;
    it->feed_no = in->feed_no;
    p->feeds[in->feed_no - 1].items++;
    return true;
}

/* Gives the next article of the input in *it. Returns true, or false at the end. */
static bool next_item(struct push *p, struct input *in, struct item *it)
{
    memset(it, 0, sizeof(*it));
    switch (in->mode) {
        case IN_LINES:
            while (in->pos < in->len) {
                const char *line = in->data + in->pos;
                const char *nl = memchr(line, '\n', in->len - in->pos);
                size_t n = nl != NULL ? (size_t)(nl - line) : in->len - in->pos;

                in->pos += n + (nl != NULL ? 1 : 0);
                snprintf(it->label, sizeof(it->label), "%s:%zu", in->name, in->line++);
                if (strspn(line, " \t\r") >= n) {
                    continue; /* blank line */
                }
                it->data = line;
                it->len = n;
                return true;
            }
            break;
        case IN_ARRAY:
            if (in->idx < json_array_size(in->array)) {
                it->own = json_dumps(json_array_get(in->array, in->idx), JSON_COMPACT);
                snprintf(it->label, sizeof(it->label), "%s[%zu]", in->name, in->idx++);
                it->data = it->own != NULL ? it->own : "";
                it->len = it->own != NULL ? strlen(it->own) : 0;
                return true;
            }
            break;
        case IN_ONE:
            snprintf(it->label, sizeof(it->label), "%s", in->name);
            it->data = in->data;
            it->len = in->len;
            in->mode = IN_DONE;
            return true;
        case IN_TEXT: {
            struct np_err e = { 0 };
            json_t *obj = NULL;

            in->mode = IN_DONE;
            if (push_text_parse(in->data, in->len, &obj, &e) != 0) {
                fprintf(p->out, "%s: cannot read as an article: %s\n", in->name, e.msg);
                p->unreadable++;
                return false;
            }
            it->own = json_dumps(obj, JSON_COMPACT);
            json_decref(obj);
            snprintf(it->label, sizeof(it->label), "%s", in->name);
            it->data = it->own != NULL ? it->own : "";
            it->len = it->own != NULL ? strlen(it->own) : 0;
            return true;
        }
        case IN_FEED:
            return next_feed_item(p, in, it);
        case IN_DONE:
            break;
    }
    return false;
}

static void count_reason(struct push *p, const char *field)
{
    size_t i = 0;

    for (i = 0; i < p->nreasons; i++) {
        if (strcmp(p->reasons[i].field, field) == 0) {
            p->reasons[i].count++;
            return;
        }
    }
    if (p->nreasons < REASONS_MAX) {
        snprintf(p->reasons[i].field, sizeof(p->reasons[i].field), "%s", field);
        p->reasons[i].count = 1;
        p->nreasons++;
    }
}

static void handle_reply(struct push *p, const char *label, size_t feed_no, const void *data,
                         size_t len)
{
    struct feed_count *fc = feed_no > 0 && feed_no <= p->nfeeds ? &p->feeds[feed_no - 1] : NULL;

    json_t *r = json_loadb(data, len, 0, NULL);
    const char *status = json_string_value(json_object_get(r, "status"));
    const char *error = json_string_value(json_object_get(r, "error"));
    const char *field = json_string_value(json_object_get(r, "field"));

    struct feed_count none = { .items = 0 };

    fc = fc != NULL ? fc : &none;
    if (status != NULL && strcmp(status, "accepted") == 0) {
        p->accepted++;
        fc->accepted++;
    } else if (status != NULL && strcmp(status, "duplicate") == 0) {
        p->duplicate++;
        fc->duplicate++;
    } else {
        p->rejected++;
        fc->rejected++;
        count_reason(p, field != NULL && field[0] != '\0' ? field : "(message)");
        if (!p->cfg->quiet) {
            fprintf(p->out, "%s: rejected: %s\n", label,
                    error != NULL ? error : "unreadable reply from ingest");
        }
    }
    json_decref(r);
}

/* Reads every reply that is there, waiting up to wait_ms for the first. Returns the number
 * read, or -1 on a socket error. */
static int read_replies(struct push *p, long wait_ms)
{
    zmq_pollitem_t item = { p->sock, 0, ZMQ_POLLIN, 0 };
    int got = 0;

    if (zmq_poll(&item, 1, wait_ms) < 0) {
        return zmq_errno() == EINTR ? 0 : -1;
    }
    /* got is counted below; last_reply moves when anything was answered. */
    for (;;) {
        struct np_frames f;
        uint64_t id = 0;

        if (np_zsock_recv(p->sock, &f, ZMQ_DONTWAIT) != 0) {
            break;
        }
        if (f.n == 3 && np_frame_size(&f, 0) == sizeof(id)) {
            struct slot *sl = NULL;

            memcpy(&id, np_frame_data(&f, 0), sizeof(id));
            sl = &p->slots[id % (uint64_t)p->cfg->window];
            /* A resent request may be answered twice: the second answer finds its slot free. */
            if (sl->busy && sl->id == id) {
                handle_reply(p, sl->label, sl->feed_no, np_frame_data(&f, 2), np_frame_size(&f, 2));
                free(sl->data);
                sl->data = NULL;
                sl->busy = false;
                p->outstanding--;
                got++;
            }
        }
        np_frames_close(&f);
    }
    if (got > 0) {
        p->last_reply = now_s();
        p->last_resend = p->last_reply;
    }
    return got;
}

/* Sends every unanswered request again, without blocking: what the socket cannot take now is
 * sent at the next resend. */
static void resend(struct push *p)
{
    size_t n = 0;

    for (size_t i = 0; i < (size_t)p->cfg->window; i++) {
        struct slot *sl = &p->slots[i];
        const void *data[3] = { &sl->id, "", sl->data };
        size_t len[3] = { sizeof(sl->id), 0, sl->len };

        if (!sl->busy) {
            continue;
        }
        if (np_zsock_send(p->sock, data, len, 3, ZMQ_DONTWAIT) != 0) {
            break;
        }
        n++;
    }
    p->resent += n;
    p->last_resend = now_s();
    if (n > 0 && !p->cfg->quiet) {
        fprintf(p->err,
                "%snewspipe-push: no reply for %.0f s: sent %zu unanswered requests again\n",
                p->progress ? "\r" : "", p->last_resend - p->last_reply, n);
    }
}

/* Reads replies for up to 100 ms, resending what is unanswered after resend_ms without a reply.
 * Returns 0, NP_ETRANSIENT after timeout_ms without a reply, or NP_EIO on a socket error. */
static int wait_step(struct push *p)
{
    double t = 0;

    if (read_replies(p, 100) < 0) {
        return NP_EIO;
    }
    t = now_s();
    if (p->outstanding > 0 && t - p->last_reply > (double)p->cfg->timeout_ms / 1000) {
        return NP_ETRANSIENT;
    }
    if (p->outstanding > 0 && t - p->last_resend > (double)p->cfg->resend_ms / 1000) {
        resend(p);
    }
    return 0;
}

/* Bytes of an input read so far (for the ETA). */
static uint64_t input_progress(const struct input *in)
{
    if (in == NULL) {
        return 0;
    }
    switch (in->mode) {
        case IN_LINES:
            return in->pos;
        case IN_ARRAY:
            return json_array_size(in->array) > 0 ? in->len * in->idx / json_array_size(in->array)
                                                  : in->len;
        case IN_FEED:
            return in->feed != NULL && push_feed_count(in->feed) > 0
                       ? in->len * push_feed_position(in->feed) / push_feed_count(in->feed)
                       : 0;
        case IN_DONE:
            return in->len;
        case IN_ONE:
        case IN_TEXT:
            break;
    }
    return 0;
}

static void show_progress(struct push *p, bool final)
{
    double t = now_s();
    double rate = 0;

    if (!p->progress || (!final && t - p->last_progress < 0.2)) {
        return;
    }
    p->last_progress = t;
    rate = t > p->started ? (double)p->sent / (t - p->started) : 0;
    fprintf(p->err, "\rsent %zu  answered %zu  %.0f/s", p->sent,
            p->accepted + p->duplicate + p->rejected, rate);
    if (p->bytes_total > 0 && !final) {
        uint64_t done = p->bytes_done + input_progress(p->current);
        double eta =
            done > 0 ? (t - p->started) * (double)(p->bytes_total - done) / (double)done : 0;

        fprintf(p->err, "  %3.0f%%  ETA %.0fs   ", 100.0 * (double)done / (double)p->bytes_total,
                eta);
    }
    fputs(final ? "\n" : "", p->err);
    fflush(p->err);
}

/* Waits while the send rate is above cfg->rate. */
static void throttle(struct push *p)
{
    double ahead = 0;

    if (p->cfg->rate <= 0) {
        return;
    }
    ahead = (double)p->sent / (double)p->cfg->rate - (now_s() - p->started);
    if (ahead > 0) {
        struct timespec ts = { (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9) };

        nanosleep(&ts, NULL);
    }
}

/* Sends one article; with replies, its slot must be free. NP_ETRANSIENT when the socket cannot
 * take it now (ingest gone and the queue full): wait_step(), then try again. */
static int send_item(struct push *p, const struct item *it)
{
    uint64_t id = p->next_id;
    const void *data[3] = { &id, "", it->data };
    size_t len[3] = { sizeof(id), 0, it->len };
    struct slot *sl = &p->slots[id % (uint64_t)p->cfg->window];
    int rc = 0;

    if (p->cfg->no_wait) {
        if (np_zsock_send(p->sock, &data[2], &len[2], 1, 0) != 0) {
            return NP_EIO;
        }
        p->next_id++;
        p->sent++;
        return 0;
    }
    rc = np_zsock_send(p->sock, data, len, 3, ZMQ_DONTWAIT);
    if (rc != 0) {
        return rc == NP_ETRANSIENT ? rc : NP_EIO;
    }
    sl->data = malloc(it->len > 0 ? it->len : 1);
    if (sl->data == NULL) {
        return NP_ENOMEM;
    }
    memcpy(sl->data, it->data, it->len);
    sl->len = it->len;
    sl->id = id;
    sl->busy = true;
    snprintf(sl->label, sizeof(sl->label), "%s", it->label);
    sl->feed_no = it->feed_no;
    if (p->outstanding == 0) {
        p->last_reply = now_s(); /* the wait for a reply starts now */
        p->last_resend = p->last_reply;
    }
    p->next_id++;
    p->sent++;
    p->outstanding++;
    return 0;
}

/* Sends one input's articles, reading replies as the window fills. */
static int push_input(struct push *p, struct input *in)
{
    struct item it;

    while (next_item(p, in, &it)) {
        int rc = 0;

        throttle(p);
        for (;;) {
            /* Room: fewer than window in flight, and this id's slot answered. */
            if (p->cfg->no_wait || (p->outstanding < (size_t)p->cfg->window &&
                                    !p->slots[p->next_id % (uint64_t)p->cfg->window].busy)) {
                rc = send_item(p, &it);
                if (rc != NP_ETRANSIENT) {
                    break;
                }
            }
            rc = wait_step(p);
            if (rc != 0) {
                break;
            }
        }
        free(it.own);
        if (rc != 0) {
            return rc;
        }
        if (!p->cfg->no_wait && read_replies(p, 0) < 0) {
            return NP_EIO;
        }
        show_progress(p, false);
    }
    return 0;
}

/* Waits for the replies still due. */
static void drain(struct push *p)
{
    while (p->outstanding > 0 && wait_step(p) == 0) {
        show_progress(p, false);
    }
    p->unanswered = p->outstanding;
}

static int by_id(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a;
    const struct slot *y = *(const struct slot *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* Names the first unanswered requests in the order they were sent: where to resume. */
static void show_unanswered(struct push *p)
{
    enum {
        SHOWN = 5
    };
    const struct slot **busy = NULL;
    size_t n = 0;

    if (p->unanswered == 0) {
        return;
    }
    busy = calloc(p->unanswered, sizeof(*busy)); /* NOLINT(bugprone-sizeof-expression) */
    if (busy == NULL) {
        return;
    }
    for (size_t i = 0; i < (size_t)p->cfg->window && n < p->unanswered; i++) {
        if (p->slots[i].busy) {
            busy[n++] = &p->slots[i];
        }
    }
    /* busy holds pointers to slots: sizeof(*busy) is a pointer's size, as meant. */
    qsort(busy, n, sizeof(*busy), by_id); /* NOLINT(bugprone-sizeof-expression) */
    for (size_t i = 0; i < n && i < SHOWN; i++) {
        fprintf(p->out, "%s: unanswered\n", busy[i]->label);
    }
    if (n > SHOWN) {
        fprintf(p->out, "... and %zu more unanswered\n", n - SHOWN);
    }
    free(busy);
}

/* One line per feed read: its format and what happened to its items. */
static void feed_summary(const struct push *p)
{
    for (size_t i = 0; i < p->nfeeds; i++) {
        const struct feed_count *fc = &p->feeds[i];

        if (p->cfg->no_wait) {
            fprintf(p->out, "feed %s (%s): %zu items sent\n", fc->name, fc->format, fc->items);
        } else {
            fprintf(p->out,
                    "feed %s (%s): %zu items: %zu accepted, %zu duplicate, %zu rejected, %zu "
                    "unanswered\n",
                    fc->name, fc->format, fc->items, fc->accepted, fc->duplicate, fc->rejected,
                    fc->items - fc->accepted - fc->duplicate - fc->rejected);
        }
    }
}

static void summary(struct push *p)
{
    show_progress(p, true);
    if (p->cfg->no_wait) {
        fprintf(p->out, "sent %zu articles without waiting for replies%s\n", p->sent,
                p->unreadable > 0 ? " (some inputs were unreadable)" : "");
        feed_summary(p);
        return;
    }
    fprintf(p->out, "pushed %zu: %zu accepted, %zu duplicate, %zu rejected, %zu unanswered\n",
            p->sent, p->accepted, p->duplicate, p->rejected, p->unanswered);
    show_unanswered(p);
    if (p->resent > 0) {
        fprintf(p->out, "%zu requests were sent again while ingest did not answer\n", p->resent);
    }
    if (p->nreasons > 0) {
        fprintf(p->out, "rejected by field:\n");
        for (size_t i = 0; i < p->nreasons; i++) {
            fprintf(p->out, "  %8zu  %s\n", p->reasons[i].count, p->reasons[i].field);
        }
    }
    feed_summary(p);
}

int push_run(const struct push_config *cfg, char *const *files, size_t nfiles, FILE *out, FILE *err)
{
    struct push p = { .cfg = cfg, .out = out, .err = err };
    struct np_zsock_opts opts = { .sndhwm = (int)cfg->window * 2 + 16,
                                  .rcvhwm = (int)cfg->window * 2 + 16,
                                  .linger_ms = (int)cfg->timeout_ms };
    struct np_err e = { 0 };
    char server[NP_CURVE_KEY_LEN + 1];
    char pub[NP_CURVE_KEY_LEN + 1];
    char sec[NP_CURVE_KEY_LEN + 1];
    void *ctx = zmq_ctx_new();
    int rc = 0;

    p.progress = isatty(fileno(err)) && !cfg->quiet;
    p.slots = calloc((size_t)cfg->window, sizeof(*p.slots));
    if (ctx == NULL || p.slots == NULL) {
        rc = 2;
        goto out;
    }
    if (cfg->curve_server != NULL) {
        if (cfg->curve_key == NULL) {
            fprintf(err, "newspipe-push: --curve-server needs --curve-key (newspipe-keygen)\n");
            rc = 2;
            goto out;
        }
        if (np_curve_load_public(cfg->curve_server, server, &e) != 0 ||
            np_curve_load_keypair(cfg->curve_key, pub, sec, &e) != 0) {
            fprintf(err, "newspipe-push: %s\n", e.msg);
            rc = 2;
            goto out;
        }
        opts.curve_server_key = server;
        opts.curve_public = pub;
        opts.curve_secret = sec;
    }
    p.sock = np_zsock_open(ctx, cfg->no_wait ? ZMQ_PUSH : ZMQ_DEALER,
                           cfg->no_wait ? cfg->pull_endpoint : cfg->endpoint, false, &opts, &e);
    if (p.sock == NULL) {
        fprintf(err, "newspipe-push: %s\n", e.msg);
        rc = 2;
        goto out;
    }
    p.started = now_s();
    for (size_t i = 0; i < nfiles && p.progress; i++) {
        struct stat st;

        if (strcmp(files[i], "-") == 0 || stat(files[i], &st) != 0) {
            p.bytes_total = 0; /* unknown: no ETA */
            break;
        }
        p.bytes_total += (uint64_t)st.st_size;
    }
    for (size_t i = 0; i < nfiles && rc == 0; i++) {
        struct input in;

        if (open_input(&in, files[i]) != 0) {
            fprintf(err, "newspipe-push: cannot read \"%s\": %s\n", files[i], strerror(errno));
            rc = 2;
            break;
        }
        p.current = &in;
        if (push_input(&p, &in) != 0) {
            fprintf(err, "newspipe-push: ingest stopped answering (endpoint %s)\n", cfg->endpoint);
            rc = 1;
        }
        p.current = NULL;
        p.bytes_done += in.len;
        close_input(&in);
    }
    if (!cfg->no_wait) {
        drain(&p);
    }
    summary(&p);
    if (rc == 0 && (p.rejected > 0 || p.unanswered > 0 || p.unreadable > 0)) {
        rc = 1;
    }
out:
    np_zsock_close(&p.sock);
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    for (size_t i = 0; p.slots != NULL && i < (size_t)cfg->window; i++) {
        free(p.slots[i].data);
    }
    free(p.slots);
    free(p.feeds);
    np_curve_wipe(sec, sizeof(sec));
    return rc;
}
