/* push.h - newspipe-push: send articles from files to ingest and report what happened */
#ifndef PUSH_H
#define PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "np/config.h"

struct push_config {
    char *endpoint;      /* ingest's ROUTER endpoint (replies) */
    char *pull_endpoint; /* ingest's PULL endpoint (--no-wait) */
    long window;         /* requests in flight */
    long timeout_ms;     /* give up waiting for replies after this long without one */
    long resend_ms;      /* resend the unanswered after this long without a reply */
    long rate;           /* articles per second, 0 = as fast as possible */
    bool no_wait;        /* fire and forget on the PULL socket */
    bool quiet;          /* no progress, no per-rejection lines */
    char *curve_server;  /* file with ingest's public key: CURVE on when set */
    char *curve_key;     /* this client's key pair file (newspipe-keygen) */
};

/* The settings table (borrowed, static). *n receives its length. */
const struct np_setting *push_settings(size_t *n);

/*
 * Sends every article found in files (paths, or "-" for standard input): a JSON object, a JSON
 * array of objects, JSON lines, or the plain-text layout (push_text.h). Waits for each reply
 * (unless no_wait), prints each rejection with its reason and a summary on out, a progress line
 * on err when err is a terminal. Returns 0 when everything was accepted or a duplicate, 1 when
 * anything was rejected or not answered, 2 when a file cannot be read or the socket cannot be
 * set up.
 */
int push_run(const struct push_config *cfg, char *const *files, size_t nfiles, FILE *out,
             FILE *err);

#endif /* PUSH_H */
