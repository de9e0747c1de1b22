/* train.h - newspipe-train: learn a tagger (one linear model per tag) from labelled articles */
#ifndef TRAIN_H
#define TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Term weighting of a feature in an article. */
enum train_weighting {
    TRAIN_LOG_TFIDF, /* (1 + ln tf) x idf, L2-normalised (the default) */
    TRAIN_LOG_TF     /* (1 + ln tf), L2-normalised: what the model file stores as idf 1 */
};

/* The SVM's loss: max(0, 1 - y w.x), or its square. */
enum train_loss {
    TRAIN_HINGE,        /* L1-loss SVM (the default) */
    TRAIN_SQUARED_HINGE /* L2-loss SVM */
};

struct train_opts {
    const char *const *inputs; /* JSON lines files, "-" for standard input */
    size_t n_inputs;
    const char *output;     /* model file to write; NULL: only cross-validate */
    const char *labels;     /* member holding the tags ("tags") */
    const char *score_tags; /* comma-separated tags to report figures for; NULL: all */
    unsigned folds;         /* k of k-fold cross-validation; 0 or 1: none */
    unsigned threads;       /* worker threads */
    unsigned long seed;     /* fold assignment and solver order */
    unsigned min_df;        /* features in fewer articles are dropped */
    unsigned min_positives; /* tags with fewer articles get no model */
    unsigned top;           /* also report micro-F1 over the top N scored tags by size */
    double c;               /* SVM cost */
    double prune;           /* weights with |w| below this are not stored */
    enum train_weighting weighting;
    enum train_loss loss;
    bool title_features; /* title words and pairs also as features of their own */
    bool stopwords;      /* function words left out (CLASSIFY_MODEL_FLAG_STOPWORDS) */
    bool stems;          /* words also as their stems (CLASSIFY_MODEL_FLAG_STEMS) */
    bool per_tag;        /* print the per-tag table */
};

/* Defaults for every option. */
void train_opts_init(struct train_opts *o);

/*
 * Reads the inputs, cross-validates, trains on everything and writes the model. Figures go to
 * out, bad input lines and errors to errout. Returns 0, 1 when a line was bad (the model is
 * still written from the good ones), 2 on a fatal error (nothing written).
 */
int train_run(const struct train_opts *o, FILE *out, FILE *errout);

#endif /* TRAIN_H */
