/* test_badinput.c - bad input on every socket that reads JSON, and between workers
 *
 * Starts the three real workers (harness.h) against a database of its own, then throws at them:
 * - every file of badinput/jsontestsuite/ on the ROUTER socket (n_ files must be rejected with a
 *   reason; y_/i_ files are accepted exactly when np_article_parse accepts them, which needs an
 *   object with a title) and on the PULL socket (each must land in rejected_messages with its
 *   raw bytes unchanged and a reason);
 * - every string of badinput/blns.json as a title and as a body: either rejected naming a field,
 *   or stored, and then read back from PostgreSQL equal, byte for byte, to what np_article_parse
 *   makes of the same message (the normalised text ingest accepted is the text stored);
 * - the size limits (1 MiB accepted, 1 MiB + 1 rejected naming the size, 3 MiB dropped by
 *   ZeroMQ with ingest still serving), extra and empty frames, deep nesting, invalid UTF-8
 *   (overlong, surrogate, truncated), a raw NUL, numbers where strings belong;
 * - garbled messages between workers: straight into store's PULL socket, and into a classify
 *   worker through a second input endpoint it connects to (ipc://<dir>/garble, bound here).
 *   Each must become a rejected_messages row; no worker may die.
 * Finally every worker must still be alive, a good article must still be accepted and stored,
 * and SIGTERM must make each exit 0. Under -DNP_SANITIZE=ON a leak or overflow in a worker makes
 * it exit non-zero, which the last check catches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "np/article.h"

#define DEADLINE_S 120
#define REPLY_MS   30000
#define LIMIT      ((size_t)NP_ARTICLE_MAX)
#define HUGE_MSG   ((size_t)3 * 1024 * 1024) /* over ingest's ZMQ_MAXMSGSIZE of 2 MiB */

struct fixture {
    struct h_pipeline p;
    char classify_input[256]; /* NP_CLASSIFY_INPUT=<forward>,<garble> (borrowed by p) */
    void *ctx;
    void *router;  /* DEALER connected to ingest's ROUTER */
    void *pull;    /* PUSH connected to ingest's PULL */
    void *garble;  /* PUSH bound on ipc://<dir>/garble, classify connects to it */
    void *store;   /* PUSH connected to store's PULL */
    long accepted; /* articles accepted so far (all tests) */
};

/* A reply from ingest's ROUTER socket. */
struct reply {
    char status[32];
    char error[NP_ERR_MSG_MAX + 64];
    char field[NP_ERR_FIELD_MAX + 64];
    char id[NP_ID_MAX + 64];
    size_t frames; /* frames the reply had */
};

/* One file of the JSON test suite. */
struct jfile {
    char name[256];
    char *data; /* owned */
    size_t len;
};

static void *make_socket(struct fixture *f, int type, const char *name, bool bind)
{
    char ep[160];
    int linger = 0;
    void *s = zmq_socket(f->ctx, type);

    assert_non_null(s);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "ipc://%s/%s", f->p.dir, name);
    assert_int_equal(bind ? zmq_bind(s, ep) : zmq_connect(s, ep), 0);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    if (getenv("NP_TAXONOMY") == NULL || h_pipeline_init(&f->p, "badinput") != 0) {
        if (f->p.dir[0] != '\0') {
            h_pipeline_cleanup(&f->p);
        }
        free(f);
        return -1;
    }
    snprintf(f->classify_input, sizeof(f->classify_input),
             "NP_CLASSIFY_INPUT=ipc://%s/forward,ipc://%s/garble", f->p.dir, f->p.dir);
    f->p.extra_env[H_CLASSIFY][0] = f->classify_input;
    f->p.extra_env[H_INGEST][0] = "NP_INGEST_REDELIVER_MS=3000";
    f->p.extra_env[H_INGEST][1] = "NP_INGEST_SHUTDOWN_MS=3000";
    h_start_all(&f->p);
    /* store creates the tables at start: the tests read rejected_messages from the first. */
    if (h_wait_for(f->p.conn,
                   "SELECT count(*) FROM pg_tables WHERE tablename = 'rejected_messages'", 1,
                   h_now() + DEADLINE_S) != 1) {
        h_dump_logs(&f->p);
        return -1;
    }
    f->ctx = zmq_ctx_new();
    f->router = make_socket(f, ZMQ_DEALER, "router", false);
    f->pull = make_socket(f, ZMQ_PUSH, "pull", false);
    f->garble = make_socket(f, ZMQ_PUSH, "garble", true);
    f->store = make_socket(f, ZMQ_PUSH, "store", false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    zmq_close(f->router);
    zmq_close(f->pull);
    zmq_close(f->garble);
    zmq_close(f->store);
    zmq_ctx_term(f->ctx);
    h_pipeline_cleanup(&f->p);
    free(f);
    return 0;
}

/* Sends n frames as one message. */
static void send_frames(void *sock, const void *const *data, const size_t *len, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = zmq_send(sock, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0);

        assert_int_equal(rc, (int)len[i]);
    }
}

/* Waits up to ms for a reply on sock and decodes its last frame (the JSON; the frames before
 * are the delimiter). Returns 0, or -1 when nothing came. */
static int recv_reply(void *sock, long ms, struct reply *r)
{
    char buf[8192];
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    int more = 0;
    size_t more_len = sizeof(more);
    int n = 0;
    json_t *o = NULL;
    const char *v = NULL;

    memset(r, 0, sizeof(*r));
    if (zmq_poll(&item, 1, ms) != 1) {
        return -1;
    }
    do {
        n = zmq_recv(sock, buf, sizeof(buf) - 1, 0);
        assert_true(n >= 0);
        r->frames++;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len);
    } while (more);
    buf[n < (int)sizeof(buf) - 1 ? n : (int)sizeof(buf) - 1] = '\0';
    o = json_loads(buf, 0, NULL);
    if (o == NULL) {
        fprintf(stderr, "reply is not JSON: %s\n", buf);
    }
    assert_non_null(o);
    v = json_string_value(json_object_get(o, "status"));
    snprintf(r->status, sizeof(r->status), "%s", v != NULL ? v : "");
    v = json_string_value(json_object_get(o, "error"));
    snprintf(r->error, sizeof(r->error), "%s", v != NULL ? v : "");
    v = json_string_value(json_object_get(o, "field"));
    snprintf(r->field, sizeof(r->field), "%s", v != NULL ? v : "");
    v = json_string_value(json_object_get(o, "id"));
    snprintf(r->id, sizeof(r->id), "%s", v != NULL ? v : "");
    json_decref(o);
    return 0;
}

/* Sends payload as [empty][payload] on a DEALER and waits for the reply. */
static void request_on(void *sock, const void *payload, size_t len, struct reply *r)
{
    const void *data[2] = { "", payload };
    size_t lens[2] = { 0, len };

    send_frames(sock, data, lens, 2);
    assert_int_equal(recv_reply(sock, REPLY_MS, r), 0);
}

static void request(struct fixture *f, const void *payload, size_t len, struct reply *r)
{
    request_on(f->router, payload, len, r);
}

/* A rejection must say why and name the field. */
static void assert_rejected(const struct reply *r, const char *what)
{
    if (strcmp(r->status, "rejected") != 0 || r->error[0] == '\0' || r->field[0] == '\0') {
        fprintf(stderr, "%s: status \"%s\" error \"%s\" field \"%s\"\n", what, r->status, r->error,
                r->field);
    }
    assert_string_equal(r->status, "rejected");
    assert_true(r->error[0] != '\0');
    assert_true(r->field[0] != '\0');
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct jfile *)a)->name, ((const struct jfile *)b)->name);
}

/* Reads every *.json file of the JSON test suite, sorted by name. */
static struct jfile *load_suite(size_t *n)
{
    char dir[1024];
    char path[1400];
    DIR *d = NULL;
    struct dirent *e = NULL;
    struct jfile *files = NULL;
    size_t cap = 0;

    const char *suite = t_shared("badinput/jsontestsuite");

    if (suite == NULL) {
        skip();
    }
    snprintf(dir, sizeof(dir), "%s", suite);
    d = opendir(dir);
    assert_non_null(d);
    *n = 0;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        size_t len = strlen(e->d_name);

        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) {
            continue;
        }
        if (*n == cap) {
            cap = cap == 0 ? 512 : cap * 2;
            files = realloc(files, cap * sizeof(*files));
            assert_non_null(files);
        }
        snprintf(files[*n].name, sizeof(files[*n].name), "%s", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        files[*n].data = read_all(path, &files[*n].len);
        (*n)++;
    }
    closedir(d);
    assert_true(*n > 300);
    if (files != NULL) {
        qsort(files, *n, sizeof(*files), cmp_names);
    }
    return files;
}

static void free_suite(struct jfile *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(files[i].data);
    }
    free(files);
}

/* What ingest itself would decide: 0 when np_article_parse accepts buf. */
static int oracle(const void *buf, size_t len, struct np_article **out)
{
    struct np_err err = { 0 };
    struct np_article *a = NULL;
    int rc = np_article_parse(buf, len, &a, &err);

    if (out != NULL) {
        *out = a;
    } else {
        np_article_destroy(&a);
    }
    return rc;
}

static long max_rejected_id(PGconn *c)
{
    long v = h_query_long(c, "SELECT coalesce(max(id), 0) FROM rejected_messages");

    assert_true(v >= 0);
    return v;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes lower-case hex (encode(raw, 'hex')) into a new buffer of *len bytes. */
static unsigned char *unhex(const char *s, size_t *len)
{
    size_t n = strlen(s) / 2;
    unsigned char *out = malloc(n + 1);

    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);

        assert_true(hi >= 0 && lo >= 0);
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n;
    return out;
}

/* Waits until `want` rejected_messages rows past id `after` match `where`; returns them
 * (raw as hex, reason, field, stage, channel). */
static PGresult *wait_rejections(struct fixture *f, long after, const char *where, long want)
{
    char sql[512];
    PGresult *r = NULL;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM rejected_messages WHERE id > %ld AND (%s)",
             after, where);
    if (h_wait_for(f->p.conn, sql, want, h_now() + DEADLINE_S) != want) {
        fprintf(stderr, "expected %ld rejections where %s, have %ld\n", want, where,
                h_query_long(f->p.conn, sql));
        h_dump_logs(&f->p);
    }
    assert_int_equal(h_query_long(f->p.conn, sql), want);
    snprintf(sql, sizeof(sql),
             "SELECT encode(coalesce(raw, ''), 'hex'), reason, coalesce(field, ''), stage, "
             "coalesce(channel, ''), raw IS NULL FROM rejected_messages WHERE id > %ld AND (%s) "
             "ORDER BY id",
             after, where);
    r = PQexec(f->p.conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    return r;
}

/* Every file on the ROUTER socket: n_ rejected with a reason; accepted exactly when a valid
 * article (so: an object with a string title). */
static void test_badinput_suite_on_router_rejected_with_reason(void **state)
{
    struct fixture *f = *state;
    size_t n = 0;
    struct jfile *files = load_suite(&n);
    long after = max_rejected_id(f->p.conn);
    long rejected = 0;
    long unexplained = 0;
    long accepted = 0;
    struct reply r;

    for (size_t i = 0; i < n; i++) {
        bool valid = oracle(files[i].data, files[i].len, NULL) == 0;

        request(f, files[i].data, files[i].len, &r);
        if (files[i].name[0] == 'n' || !valid) {
            /* Collect every rejection without a reason, then fail once listing them all. */
            assert_string_equal(r.status, "rejected");
            if (r.error[0] == '\0' || r.field[0] == '\0') {
                fprintf(stderr, "%s: rejected without a reason (error \"%s\" field \"%s\")\n",
                        files[i].name, r.error, r.field);
                unexplained++;
            }
            rejected++;
            continue;
        }
        /* A valid article: an object with a string title. */
        json_t *o = json_loadb(files[i].data, files[i].len, 0, NULL);

        assert_true(json_is_string(json_object_get(o, "title")));
        json_decref(o);
        if (strcmp(r.status, "accepted") != 0) {
            fprintf(stderr, "%s: valid article, status %s\n", files[i].name, r.status);
        }
        assert_string_equal(r.status, "accepted");
        accepted++;
    }
    printf("jsontestsuite on ROUTER: %zu files, %ld rejected (%ld without a reason), %ld "
           "accepted\n",
           n, rejected, unexplained, accepted);
    f->accepted += accepted;
    /* Router rejections land too, raw bytes and all. */
    PGresult *res = wait_rejections(f, after, "channel = 'router' AND stage = 'ingest'", rejected);

    for (int i = 0; i < PQntuples(res); i++) {
        assert_true(PQgetvalue(res, i, 1)[0] != '\0');
    }
    PQclear(res);
    free_suite(files, n);
    assert_int_equal(unexplained, 0);
}

/* The row of res (not yet matched) holding exactly file's bytes, marked matched; -1 if none. */
static int find_raw_row(PGresult *res, bool *matched, const struct jfile *file)
{
    for (int k = 0; k < PQntuples(res); k++) {
        size_t rlen = 0;
        unsigned char *raw = NULL;
        bool same = false;

        if (matched[k] || strcmp(PQgetvalue(res, k, 5), "f") != 0) {
            continue;
        }
        raw = unhex(PQgetvalue(res, k, 0), &rlen);
        same = rlen == file->len && memcmp(raw, file->data, rlen) == 0;
        free(raw);
        if (same) {
            matched[k] = true;
            return k;
        }
    }
    return -1;
}

/* Every file on the PULL socket: each lands in rejected_messages with its exact bytes. */
static void test_badinput_suite_on_pull_kept_byte_for_byte(void **state)
{
    struct fixture *f = *state;
    size_t n = 0;
    struct jfile *files = load_suite(&n);
    long after = max_rejected_id(f->p.conn);
    long want = 0;
    long nofield = 0;
    bool *matched = NULL;
    PGresult *res = NULL;

    for (size_t i = 0; i < n; i++) {
        const void *data[1] = { files[i].data };
        size_t len[1] = { files[i].len };

        want += oracle(files[i].data, files[i].len, NULL) != 0;
        send_frames(f->pull, data, len, 1);
    }
    res = wait_rejections(f, after, "channel = 'pull' AND stage = 'ingest'", want);
    matched = calloc((size_t)PQntuples(res) + 1, sizeof(*matched));
    assert_non_null(matched);
    for (size_t i = 0; i < n; i++) {
        int k = oracle(files[i].data, files[i].len, NULL) == 0
                    ? 0
                    : find_raw_row(res, matched, &files[i]);

        if (k < 0) {
            fprintf(stderr, "%s: no rejected_messages row with its exact bytes\n", files[i].name);
        }
        assert_true(k >= 0);
        if (oracle(files[i].data, files[i].len, NULL) == 0) {
            continue;
        }
        assert_true(PQgetvalue(res, k, 1)[0] != '\0');
        if (PQgetvalue(res, k, 2)[0] == '\0') {
            fprintf(stderr, "%s: row names no field (reason \"%s\")\n", files[i].name,
                    PQgetvalue(res, k, 1));
            nofield++;
        }
    }
    printf("jsontestsuite on PULL: %zu files, %ld rows with exact raw bytes, %ld naming no "
           "field\n",
           n, want, nofield);
    free(matched);
    PQclear(res);
    free_suite(files, n);
}

/* What one blns message should become: the id and, when valid, the normalised title/body. */
struct blns_case {
    char id[64];
    char *title; /* owned, NULL when rejected */
    char *body;  /* owned, may be NULL */
};

static void check_stored(PGconn *c, const struct blns_case *k)
{
    const char *params[1] = { k->id };
    PGresult *r = PQexecParams(c, "SELECT title, body, body IS NULL FROM articles WHERE id = $1", 1,
                               NULL, params, NULL, NULL, 0);

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    if (strcmp(PQgetvalue(r, 0, 0), k->title) != 0) {
        fprintf(stderr, "%s: stored title differs from the accepted one\n", k->id);
    }
    assert_string_equal(PQgetvalue(r, 0, 0), k->title);
    if (k->body == NULL) {
        assert_string_equal(PQgetvalue(r, 0, 2), "t");
    } else {
        if (strcmp(PQgetvalue(r, 0, 1), k->body) != 0) {
            fprintf(stderr, "%s: stored body differs from the accepted one\n", k->id);
        }
        assert_string_equal(PQgetvalue(r, 0, 1), k->body);
    }
    PQclear(r);
}

/* Every Big List of Naughty Strings entry as a title and as a body. */
static void test_badinput_blns_stored_as_accepted(void **state)
{
    struct fixture *f = *state;
    json_error_t je;
    const char *blns = t_shared("badinput/blns.json");
    json_t *list = blns != NULL ? json_load_file(blns, 0, &je) : NULL;
    size_t n = json_array_size(list);
    struct blns_case *cases = calloc(2 * n + 1, sizeof(*cases));
    long accepted = 0;
    long rejected = 0;
    long after = max_rejected_id(f->p.conn);
    char title[64];
    char sql[128];
    struct reply r;

    if (blns == NULL) {
        free(cases);
        skip();
    }
    assert_non_null(list);
    assert_non_null(cases);
    assert_true(n > 500);
    for (size_t i = 0; i < 2 * n; i++) {
        const char *s = json_string_value(json_array_get(list, i / 2));
        bool as_title = i % 2 == 0;
        struct blns_case *k = &cases[i];
        struct np_article *a = NULL;
        json_t *o = NULL;
        char *msg = NULL;
        int rc = 0;

        assert_non_null(s);
        snprintf(k->id, sizeof(k->id), "blns-%s-%zu", as_title ? "title" : "body", i / 2);
        snprintf(title, sizeof(title), "t %zu", i / 2);
        o = json_pack("{s:s, s:s, s:s}", "id", k->id, "title", as_title ? s : title, "body",
                      as_title ? "x" : s);
        assert_non_null(o);
        msg = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        assert_non_null(msg);
        rc = oracle(msg, strlen(msg), &a);
        request(f, msg, strlen(msg), &r);
        if (rc != 0) {
            assert_rejected(&r, k->id);
            rejected++;
        } else {
            if (strcmp(r.status, "accepted") != 0) {
                fprintf(stderr, "%s: valid, got %s (%s)\n", k->id, r.status, r.error);
            }
            assert_string_equal(r.status, "accepted");
            assert_string_equal(r.id, k->id);
            k->title = strdup(a->title);
            k->body = a->body != NULL ? strdup(a->body) : NULL;
            assert_non_null(k->title);
            accepted++;
        }
        np_article_destroy(&a);
        free(msg);
    }
    printf("blns: %zu strings, %ld messages accepted, %ld rejected\n", n, accepted, rejected);
    f->accepted += accepted;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM articles WHERE id LIKE 'blns-%%'");
    assert_int_equal(h_wait_for(f->p.conn, sql, accepted, h_now() + DEADLINE_S), accepted);
    PQclear(wait_rejections(f, after, "channel = 'router' AND stage = 'ingest'", rejected));
    for (size_t i = 0; i < 2 * n; i++) {
        if (cases[i].title != NULL) {
            check_stored(f->p.conn, &cases[i]);
        }
        free(cases[i].title);
        free(cases[i].body);
    }
    free(cases);
    json_decref(list);
}

/* A message of exactly len bytes: {"id":..,"title":..,"body":"xxx..","summary":"yyy.."}, with
 * the body at most NP_TEXT_MAX and the summary padding the rest. */
static char *sized_message(const char *id, size_t len)
{
    const char *head = "{\"id\":\"";
    const char *mid = "\",\"title\":\"size\",\"body\":\"";
    const char *mid2 = "\",\"summary\":\"";
    size_t fixed = strlen(head) + strlen(id) + strlen(mid) + strlen(mid2) + 2;
    size_t text = len - fixed;
    size_t body = text > 1000000 ? 1000000 : text - 1;
    char *m = malloc(len + 1);
    char *p = m;

    assert_non_null(m);
    assert_true(len > fixed + 2);
    p += snprintf(p, len + 1, "%s%s%s", head, id, mid);
    memset(p, 'x', body);
    p += body;
    memcpy(p, mid2, strlen(mid2));
    p += strlen(mid2);
    memset(p, 'y', text - body);
    p += text - body;
    memcpy(p, "\"}", 2);
    p += 2;
    assert_int_equal((size_t)(p - m), len);
    *p = '\0';
    return m;
}

static void test_badinput_size_limits_hold(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    char *m = sized_message("size-max", LIMIT);
    void *big = NULL;
    char *huge = NULL;
    long after = 0;
    PGresult *res = NULL;
    const char *good = "{\"id\":\"size-after\",\"title\":\"after the 3 MiB message\","
                       "\"body\":\"still serving\"}";

    /* Exactly the limit: accepted and stored whole. */
    request(f, m, LIMIT, &r);
    assert_string_equal(r.status, "accepted");
    free(m);
    f->accepted++;
    assert_int_equal(h_wait_for(f->p.conn,
                                "SELECT length(body) FROM articles WHERE id = 'size-max'", 1000000,
                                h_now() + DEADLINE_S),
                     1000000);

    /* One byte over: rejected, and the reason says the limit. */
    after = max_rejected_id(f->p.conn);
    m = sized_message("size-over", LIMIT + 1);
    request(f, m, LIMIT + 1, &r);
    free(m);
    assert_rejected(&r, "1 MiB + 1");
    assert_string_equal(r.field, "message");
    assert_non_null(strstr(r.error, "1048576"));
    res = wait_rejections(f, after, "channel = 'router' AND stage = 'ingest'", 1);
    assert_int_equal(PQntuples(res), 1);
    assert_non_null(strstr(PQgetvalue(res, 0, 1), "1048576"));
    PQclear(res);

    /* 3 MiB: over ZMQ_MAXMSGSIZE, libzmq drops the connection; no reply, ingest lives on. */
    big = make_socket(f, ZMQ_DEALER, "router", false);
    huge = sized_message("size-huge", HUGE_MSG);
    {
        const void *data[2] = { "", huge };
        size_t lens[2] = { 0, HUGE_MSG };

        send_frames(big, data, lens, 2);
    }
    assert_int_equal(recv_reply(big, 2000, &r), -1);
    zmq_close(big);
    free(huge);
    assert_true(h_alive(&f->p, H_INGEST));
    /* The same on PULL. */
    big = make_socket(f, ZMQ_PUSH, "pull", false);
    huge = sized_message("size-huge-pull", HUGE_MSG);
    {
        const void *data[1] = { huge };
        size_t lens[1] = { HUGE_MSG };

        send_frames(big, data, lens, 1);
    }
    h_pause_ms(500);
    zmq_close(big);
    free(huge);
    assert_true(h_alive(&f->p, H_INGEST));
    /* A new client is served. */
    big = make_socket(f, ZMQ_DEALER, "router", false);
    request_on(big, good, strlen(good), &r);
    assert_string_equal(r.status, "accepted");
    f->accepted++;
    zmq_close(big);
    assert_int_equal(h_query_long(f->p.conn, "SELECT count(*) FROM articles WHERE id LIKE "
                                             "'size-huge%'"),
                     0);
}

static void test_badinput_wrong_frames_rejected(void **state)
{
    struct fixture *f = *state;
    const char *art = "{\"title\":\"frames\",\"body\":\"two frames\"}";
    long after = max_rejected_id(f->p.conn);
    struct reply r;
    PGresult *res = NULL;

    /* [empty][article][extra] */
    {
        const void *data[3] = { "", art, "extra" };
        size_t lens[3] = { 0, strlen(art), 5 };

        send_frames(f->router, data, lens, 3);
        assert_int_equal(recv_reply(f->router, REPLY_MS, &r), 0);
        assert_rejected(&r, "extra frame");
        assert_non_null(strstr(r.error, "exactly one frame"));
    }
    /* Many frames (more than a worker keeps). */
    {
        const void *data[7] = { "", art, "a", "b", "c", "d", "e" };
        size_t lens[7] = { 0, strlen(art), 1, 1, 1, 1, 1 };

        send_frames(f->router, data, lens, 7);
        assert_int_equal(recv_reply(f->router, REPLY_MS, &r), 0);
        assert_rejected(&r, "seven frames");
        assert_non_null(strstr(r.error, "exactly one frame"));
    }
    /* [empty][empty]: an empty payload. */
    request(f, "", 0, &r);
    assert_rejected(&r, "empty payload");
    /* [empty] alone: no payload frame at all. */
    {
        const void *data[1] = { "" };
        size_t lens[1] = { 0 };

        send_frames(f->router, data, lens, 1);
        assert_int_equal(recv_reply(f->router, REPLY_MS, &r), 0);
        assert_rejected(&r, "delimiter only");
    }
    /* PULL: two frames, six frames, one empty frame. */
    {
        const void *data[6] = { art, "extra", "c", "d", "e", "f" };
        size_t lens[6] = { strlen(art), 5, 1, 1, 1, 1 };

        send_frames(f->pull, data, lens, 2);
        send_frames(f->pull, data, lens, 6);
        send_frames(f->pull, data, lens, 1); /* a valid article, one frame */
        f->accepted++;
    }
    {
        const void *data[1] = { "" };
        size_t lens[1] = { 0 };

        send_frames(f->pull, data, lens, 1);
    }
    res = wait_rejections(f, after, "stage = 'ingest'", 4 + 3);
    for (int i = 0; i < PQntuples(res); i++) {
        assert_true(PQgetvalue(res, i, 1)[0] != '\0');
    }
    PQclear(res);
    assert_true(h_alive(&f->p, H_INGEST));
}

/* Content that must be refused, and a word its reason must contain (NULL: any reason). */
static void expect_rejected(struct fixture *f, const char *what, const char *msg, size_t len,
                            const char *field, const char *word)
{
    struct reply r;

    request(f, msg, len, &r);
    assert_rejected(&r, what);
    if (field != NULL && strcmp(r.field, field) != 0) {
        fprintf(stderr, "%s: field \"%s\" (%s), expected \"%s\"\n", what, r.field, r.error, field);
    }
    if (field != NULL) {
        assert_string_equal(r.field, field);
    }
    if (word != NULL && strstr(r.error, word) == NULL) {
        fprintf(stderr, "%s: reason \"%s\" lacks \"%s\"\n", what, r.error, word);
    }
    if (word != NULL) {
        assert_non_null(strstr(r.error, word));
    }
}

/* Nesting depth n: prefix, n times open, leaf, n times close, suffix. */
static char *nested(const char *prefix, const char *open, const char *leaf, const char *close,
                    const char *suffix, size_t n, size_t *len)
{
    size_t cap =
        strlen(prefix) + n * (strlen(open) + strlen(close)) + strlen(leaf) + strlen(suffix) + 1;
    char *m = malloc(cap);
    char *p = m;

    assert_non_null(m);
    p += snprintf(p, cap, "%s", prefix);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, open, strlen(open));
        p += strlen(open);
    }
    memcpy(p, leaf, strlen(leaf));
    p += strlen(leaf);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, close, strlen(close));
        p += strlen(close);
    }
    memcpy(p, suffix, strlen(suffix) + 1);
    p += strlen(suffix);
    *len = (size_t)(p - m);
    return m;
}

/* Content that must be refused: the field its rejection names (NULL: any) and a word its
 * reason must contain (NULL: any). */
static const struct {
    const char *what;
    const char *msg;
    size_t len; /* 0: strlen */
    const char *field;
    const char *word;
} malformed[] = {
    { "overlong", "{\"title\":\"a\xC0\xAF\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "surrogate", "{\"title\":\"a\xED\xA0\x80\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "truncated", "{\"title\":\"a\xE2\x82\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "truncated at end", "{\"title\":\"a\",\"body\":\"b\xE2\x82", 0, "message", "UTF-8" },
    { "5 bytes", "{\"title\":\"a\xF8\x88\x80\x80\x80\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "over U+10FFFF", "{\"title\":\"a\xF4\x90\x80\x80\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "lone continuation", "{\"title\":\"a\x80\",\"body\":\"b\"}", 0, "message", "UTF-8" },
    { "escaped lone surrogate", "{\"title\":\"a\\ud800\",\"body\":\"b\"}", 0, NULL, NULL },
    { "raw NUL", "{\"title\":\"a\0b\",\"body\":\"b\"}", 26, "message", "NUL" },
    { "escaped NUL in body", "{\"title\":\"a\",\"body\":\"b\\u0000c\"}", 0, "body", "NUL" },
    { "escaped NUL in key", "{\"title\":\"a\",\"body\":\"b\",\"k\\u0000\":1}", 0, NULL, "NUL" },
    { "title number", "{\"title\":5,\"body\":\"b\"}", 0, "title", NULL },
    { "body number", "{\"title\":\"a\",\"body\":1.5}", 0, "body", NULL },
    { "summary number", "{\"title\":\"a\",\"summary\":7}", 0, "summary", NULL },
    { "background number", "{\"title\":\"a\",\"body\":\"b\",\"background\":1}", 0, "background",
      NULL },
    { "insights number", "{\"title\":\"a\",\"body\":\"b\",\"insights\":1e10}", 0, "insights",
      NULL },
    { "number overflow", "{\"title\":\"a\",\"body\":\"b\",\"insights\":1e400}", 0, "message",
      NULL },
    { "url number", "{\"title\":\"a\",\"body\":\"b\",\"url\":4}", 0, "url", NULL },
    { "source number", "{\"title\":\"a\",\"body\":\"b\",\"source\":-0}", 0, "source", NULL },
    { "lang number", "{\"title\":\"a\",\"body\":\"b\",\"lang\":2}", 0, "lang", NULL },
    { "region number", "{\"title\":\"a\",\"body\":\"b\",\"region\":3}", 0, "region", NULL },
    { "id number", "{\"title\":\"a\",\"body\":\"b\",\"id\":5}", 0, "id", NULL },
    { "integer overflow", "{\"title\":\"a\",\"body\":\"b\",\"id\":18446744073709551616}", 0,
      "message", NULL },
    { "published_at number", "{\"title\":\"a\",\"body\":\"b\",\"published_at\":1700000000}", 0,
      "published_at", NULL },
    { "authors numbers", "{\"title\":\"a\",\"body\":\"b\",\"authors\":[1,2]}", 0, "authors", NULL },
    { "source_tags number", "{\"title\":\"a\",\"body\":\"b\",\"source_tags\":[\"x\",3]}", 0,
      "source_tags", NULL },
    { "title bool", "{\"title\":true,\"body\":\"b\"}", 0, "title", NULL },
    { "title null", "{\"title\":null,\"body\":\"b\"}", 0, "title", NULL },
    { "title object", "{\"title\":{\"a\":\"b\"},\"body\":\"b\"}", 0, "title", NULL },
    { "top-level number", "12345", 0, "message", NULL },
    { "top-level string", "\"a string\"", 0, "message", NULL },
    { "top-level null", "null", 0, "message", NULL },
    { "BOM", "\xEF\xBB\xBF{\"title\":\"a\",\"body\":\"b\"}", 0, "message", NULL },
    { "two objects", "{\"title\":\"a\",\"body\":\"b\"}{\"title\":\"a\",\"body\":\"b\"}", 0,
      "message", NULL },
    { "duplicate title", "{\"title\":\"a\",\"title\":\"b\",\"body\":\"b\"}", 0, "title", NULL },
};

#define N_MALFORMED (sizeof(malformed) / sizeof(malformed[0]))

static void test_badinput_malformed_content_rejected(void **state)
{
    struct fixture *f = *state;

    char *m = NULL;
    size_t len = 0;
    long after = max_rejected_id(f->p.conn);
    PGresult *res = NULL;

    for (size_t i = 0; i < N_MALFORMED; i++) {
        expect_rejected(f, malformed[i].what, malformed[i].msg,
                        malformed[i].len > 0 ? malformed[i].len : strlen(malformed[i].msg),
                        malformed[i].field, malformed[i].word);
    }
    /* Deep nesting: 10,000 levels at the top, in an extra field, as objects; unclosed. */
    m = nested("", "[", "", "]", "", 10000, &len);
    expect_rejected(f, "10000 [", m, len, "message", NULL);
    free(m);
    m = nested("{\"title\":\"a\",\"body\":\"b\",\"x\":", "[", "1", "]", "}", 10000, &len);
    expect_rejected(f, "10000 [ in extra", m, len, NULL, NULL);
    free(m);
    m = nested("{\"title\":\"a\",\"body\":\"b\",\"x\":", "{\"a\":", "1", "}", "}", 10000, &len);
    expect_rejected(f, "10000 { in extra", m, len, NULL, NULL);
    free(m);
    m = nested("", "[", "", "", "", 10000, &len);
    expect_rejected(f, "10000 [ unclosed", m, len, "message", NULL);
    free(m);
    m = nested("{\"title\":", "[", "\"a\"", "]", ",\"body\":\"b\"}", 10000, &len);
    expect_rejected(f, "title 10000 deep", m, len, NULL, NULL);
    free(m);
    assert_true(h_alive(&f->p, H_INGEST));
    /* Each landed with its reason. */
    res = wait_rejections(f, after, "channel = 'router' AND stage = 'ingest'",
                          (long)(N_MALFORMED) + 5);
    for (int i = 0; i < PQntuples(res); i++) {
        assert_true(PQgetvalue(res, i, 1)[0] != '\0');
    }
    PQclear(res);
}

/* A readable envelope (kind and fields given), for messages straight into store/classify. */
static char *envelope(const char *kind, const char *origin_id, const char *ack, const char *id)
{
    json_t *o = json_pack("{s:i, s:s, s:I, s:{s:s, s:s}, s:s}", "v", 1, "kind", kind, "seq",
                          (json_int_t)424242, "origin", "id", origin_id, "ack", ack, "received_at",
                          "2026-01-01T00:00:00Z");
    char *out = NULL;

    assert_non_null(o);
    if (strcmp(kind, "article") == 0) {
        json_object_set_new(o, "id", json_string(id));
    } else {
        json_object_set_new(o, "stage", json_string("ingest"));
        json_object_set_new(o, "channel", json_string("pull"));
        json_object_set_new(o, "reason", json_string("forged by test_badinput"));
        json_object_set_new(o, "field", json_string(""));
    }
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(out);
    return out;
}

/* Sends the garbled set to sock; tag keeps the forged origins of two sets apart (store keeps
 * one row per (origin, seq)). Returns how many messages were sent. */
static size_t send_garbled(void *sock, const char *tag)
{
    char origin[64];
    char origin2[64];
    char *env_article = envelope("article", "", "", "garbled-1");
    char *env_bad_ack = NULL;
    char *env_bad_ack2 = NULL;
    const char *garbage = "\xFF\xFE garbage \x00 not an envelope";
    size_t glen = 28;
    const char *article = "{\"id\":\"garbled-1\",\"title\":\"t\",\"body\":\"b\"}";
    size_t nmsgs = 0;

    snprintf(origin, sizeof(origin), "test-%s-1", tag);
    snprintf(origin2, sizeof(origin2), "test-%s-2", tag);
    /* Readable rejections whose ack endpoint is nonsense: store must not trip over it. */
    env_bad_ack = envelope("rejected", origin, "not an endpoint", NULL);
    env_bad_ack2 = envelope("rejected", origin2, "tcp://", NULL);
    {
        const struct {
            const void *data[4];
            size_t len[4];
            size_t n;
        } msgs[] = {
            { { garbage }, { glen }, 1 },
            { { garbage, "x" }, { glen, 1 }, 2 },
            { { garbage, "x", "y" }, { glen, 1, 1 }, 3 },
            { { "", "" }, { 0, 0 }, 2 },
            { { "{}", "x" }, { 2, 1 }, 2 },
            { { "[]", "x" }, { 2, 1 }, 2 },
            { { "{\"v\":1,\"kind\":\"article\",\"seq\":-1}", "x" }, { 33, 1 }, 2 },
            { { "{\"v\":1,\"v\":1}", "x" }, { 13, 1 }, 2 },
            { { env_article, "not json" }, { strlen(env_article), 8 }, 2 },
            { { env_article, "[1,2]" }, { strlen(env_article), 5 }, 2 },
            { { env_article, article, "extra" }, { strlen(env_article), strlen(article), 5 }, 3 },
            { { env_article, article, "a", "b" },
              { strlen(env_article), strlen(article), 1, 1 },
              4 },
            { { env_bad_ack, "raw" }, { strlen(env_bad_ack), 3 }, 2 },
            { { env_bad_ack2, "raw" }, { strlen(env_bad_ack2), 3 }, 2 },
        };

        nmsgs = sizeof(msgs) / sizeof(msgs[0]);
        for (size_t i = 0; i < nmsgs; i++) {
            send_frames(sock, msgs[i].data, msgs[i].len, msgs[i].n);
        }
    }
    free(env_article);
    free(env_bad_ack);
    free(env_bad_ack2);
    return nmsgs;
}

/* Garbled messages between workers: each becomes a row, nobody dies. */
static void test_badinput_garbled_pipeline_rejected(void **state)
{
    struct fixture *f = *state;
    long after = max_rejected_id(f->p.conn);
    size_t n = 0;
    PGresult *res = NULL;

    n += send_garbled(f->store, "store");
    n += send_garbled(f->garble, "classify"); /* classify's second input */
    /* Every message gives a row: store's own (stage store), classify's (stage classify), or
     * the forged rejection passed on as it is (stage ingest). */
    res = wait_rejections(f, after, "stage IN ('store', 'classify') OR origin LIKE 'test-%'",
                          (long)n);
    for (int i = 0; i < PQntuples(res); i++) {
        assert_true(PQgetvalue(res, i, 1)[0] != '\0');
    }
    printf("garbled: %zu messages to store and classify, %d rows\n", n, PQntuples(res));
    PQclear(res);
    assert_int_equal(h_query_long(f->p.conn, "SELECT count(*) FROM rejected_messages WHERE id > "
                                             "0 AND stage = 'classify'"),
                     (long)n / 2 - 2);
    assert_int_equal(h_query_long(f->p.conn, "SELECT count(*) FROM articles WHERE id = "
                                             "'garbled-1'"),
                     0);
    for (int w = 0; w < H_WORKERS; w++) {
        assert_true(h_alive(&f->p, (enum h_worker)w));
    }
}

/* Still serving after everything; every article accepted is stored; SIGTERM exits 0. */
static void test_badinput_workers_survive(void **state)
{
    struct fixture *f = *state;
    const char *good = "{\"id\":\"final\",\"title\":\"After all that\",\"body\":\"still fine\"}";
    struct reply r;

    for (int w = 0; w < H_WORKERS; w++) {
        assert_true(h_alive(&f->p, (enum h_worker)w));
    }
    request(f, good, strlen(good), &r);
    assert_string_equal(r.status, "accepted");
    f->accepted++;
    assert_int_equal(h_wait_for(f->p.conn, "SELECT count(*) FROM articles WHERE id = 'final'", 1,
                                h_now() + DEADLINE_S),
                     1);
    printf("articles stored: %ld (accepted %ld)\n",
           h_query_long(f->p.conn, "SELECT count(*) FROM articles"), f->accepted);
    assert_int_equal(
        h_wait_for(f->p.conn, "SELECT count(*) FROM articles", f->accepted, h_now() + DEADLINE_S),
        f->accepted);
    assert_int_equal(h_stop(&f->p, H_INGEST, 15), 0);
    assert_int_equal(h_stop(&f->p, H_CLASSIFY, 15), 0);
    assert_int_equal(h_stop(&f->p, H_STORE, 15), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_badinput_suite_on_router_rejected_with_reason),
        cmocka_unit_test(test_badinput_suite_on_pull_kept_byte_for_byte),
        cmocka_unit_test(test_badinput_blns_stored_as_accepted),
        cmocka_unit_test(test_badinput_size_limits_hold),
        cmocka_unit_test(test_badinput_wrong_frames_rejected),
        cmocka_unit_test(test_badinput_malformed_content_rejected),
        cmocka_unit_test(test_badinput_garbled_pipeline_rejected),
        cmocka_unit_test(test_badinput_workers_survive),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
