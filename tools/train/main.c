/* main.c - newspipe-train: options in, train_run() out */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const char usage[] =
    "usage: newspipe-train [options] -o MODEL FILE...   (FILE: JSON lines, - for stdin)\n"
    "  -o, --output FILE      model file to write (without it: cross-validate only)\n"
    "  --labels NAME          member holding each article's tags (default tags)\n"
    "  --folds K              k-fold cross-validation for thresholds and figures (default 5)\n"
    "  --seed N               folds and solver order (default 1): same seed, same model\n"
    "  --threads N            worker threads (default 2)\n"
    "  --c C                  SVM cost (default 2)\n"
    "  --loss L               hinge (L1-loss SVM, default) or squared-hinge (L2-loss)\n"
    "  --no-title-features    title words and pairs only as the body's are, not also apart\n"
    "  --keep-stop-words      function words (the, of, said, ...) as features too\n"
    "  --no-stems             words not also as their first 4 characters (acqu*)\n"
    "  --min-df N             keep features in at least N articles (default 2)\n"
    "  --min-positives N      train tags with at least N articles (default 1)\n"
    "  --prune X              drop weights with |w| < X (default 0.15)\n"
    "  --weighting W          logtfidf (default) or logtf\n"
    "  --score-tags LIST      report figures over these comma-separated tags (default all)\n"
    "  --top N                also micro-F1 over the N largest scored tags (default 10)\n"
    "  --no-per-tag           leave out the per-tag table\n"
    "exit status: 0 model written, 1 written but some lines were skipped, 2 error\n";

enum {
    OPT_LABELS = 256,
    OPT_FOLDS,
    OPT_SEED,
    OPT_THREADS,
    OPT_C,
    OPT_MIN_DF,
    OPT_MIN_POS,
    OPT_PRUNE,
    OPT_WEIGHTING,
    OPT_SCORE_TAGS,
    OPT_TOP,
    OPT_NO_PER_TAG,
    OPT_LOSS,
    OPT_NO_TITLE,
    OPT_KEEP_STOP,
    OPT_NO_STEMS
};

static const struct option longopts[] = {
    { "output", required_argument, NULL, 'o' },
    { "labels", required_argument, NULL, OPT_LABELS },
    { "folds", required_argument, NULL, OPT_FOLDS },
    { "seed", required_argument, NULL, OPT_SEED },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "c", required_argument, NULL, OPT_C },
    { "min-df", required_argument, NULL, OPT_MIN_DF },
    { "min-positives", required_argument, NULL, OPT_MIN_POS },
    { "prune", required_argument, NULL, OPT_PRUNE },
    { "weighting", required_argument, NULL, OPT_WEIGHTING },
    { "score-tags", required_argument, NULL, OPT_SCORE_TAGS },
    { "top", required_argument, NULL, OPT_TOP },
    { "no-per-tag", no_argument, NULL, OPT_NO_PER_TAG },
    { "loss", required_argument, NULL, OPT_LOSS },
    { "no-title-features", no_argument, NULL, OPT_NO_TITLE },
    { "keep-stop-words", no_argument, NULL, OPT_KEEP_STOP },
    { "no-stems", no_argument, NULL, OPT_NO_STEMS },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Reads an unsigned integer in [lo, hi]; false (reported) otherwise. */
static bool parse_uint(const char *name, const char *s, unsigned long lo, unsigned long hi,
                       unsigned long *out)
{
    char *end = NULL;
    unsigned long v = 0;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "newspipe-train: --%s: must be an integer from %lu to %lu, got \"%s\"\n",
                name, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_real(const char *name, const char *s, double lo, double *out)
{
    char *end = NULL;
    double v = 0;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo) || v > 1e9) {
        fprintf(stderr, "newspipe-train: --%s: must be a number >= %g, got \"%s\"\n", name, lo, s);
        return false;
    }
    *out = v;
    return true;
}

/* A name an option accepts and the value it stands for. */
struct choice {
    const char *name;
    int value;
};

static const struct choice weightings[] = {
    { "logtfidf", TRAIN_LOG_TFIDF },
    { "logtf", TRAIN_LOG_TF },
    { NULL, 0 },
};

static const struct choice losses[] = {
    { "hinge", TRAIN_HINGE },
    { "squared-hinge", TRAIN_SQUARED_HINGE },
    { NULL, 0 },
};

/* Reads one of the names in choices (NULL-terminated) into *out; false (reported, with the
 * names it accepts) otherwise. */
static bool parse_choice(const char *name, const char *s, const struct choice *choices, int *out)
{
    for (const struct choice *c = choices; c->name != NULL; c++) {
        if (strcmp(s, c->name) == 0) {
            *out = c->value;
            return true;
        }
    }
    fprintf(stderr, "newspipe-train: --%s: must be", name);
    for (const struct choice *c = choices; c->name != NULL; c++) {
        fprintf(stderr, "%s \"%s\"", c == choices ? "" : c[1].name == NULL ? " or" : ",", c->name);
    }
    fprintf(stderr, ", got \"%s\"\n", s);
    return false;
}

static bool set_option(struct train_opts *o, int c, const char *arg)
{
    unsigned long v = 0;
    int choice = 0;
    bool ok = true;

    switch (c) {
        case 'o':
            o->output = arg;
            break;
        case OPT_LABELS:
            o->labels = arg;
            break;
        case OPT_FOLDS:
            ok = parse_uint("folds", arg, 0, 100, &v);
            o->folds = (unsigned)v;
            break;
        case OPT_SEED:
            ok = parse_uint("seed", arg, 0, ~0UL, &v);
            o->seed = v;
            break;
        case OPT_THREADS:
            ok = parse_uint("threads", arg, 1, 64, &v);
            o->threads = (unsigned)v;
            break;
        case OPT_C:
            ok = parse_real("c", arg, 1e-6, &o->c);
            break;
        case OPT_MIN_DF:
            ok = parse_uint("min-df", arg, 1, 1000000, &v);
            o->min_df = (unsigned)v;
            break;
        case OPT_MIN_POS:
            ok = parse_uint("min-positives", arg, 1, 1000000, &v);
            o->min_positives = (unsigned)v;
            break;
        case OPT_PRUNE:
            ok = parse_real("prune", arg, 0, &o->prune);
            break;
        case OPT_WEIGHTING:
            ok = parse_choice("weighting", arg, weightings, &choice);
            o->weighting = (enum train_weighting)choice;
            break;
        case OPT_SCORE_TAGS:
            o->score_tags = arg;
            break;
        case OPT_TOP:
            ok = parse_uint("top", arg, 0, 100000, &v);
            o->top = (unsigned)v;
            break;
        case OPT_NO_PER_TAG:
            o->per_tag = false;
            break;
        case OPT_LOSS:
            ok = parse_choice("loss", arg, losses, &choice);
            o->loss = (enum train_loss)choice;
            break;
        case OPT_NO_TITLE:
            o->title_features = false;
            break;
        case OPT_KEEP_STOP:
            o->stopwords = false;
            break;
        case OPT_NO_STEMS:
            o->stems = false;
            break;
        default:
            ok = false;
            break;
    }
    return ok;
}

int main(int argc, char **argv)
{
    struct train_opts o;
    int c = 0;

    train_opts_init(&o);
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (c == '?' || !set_option(&o, c, optarg)) {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "newspipe-train: no input files\n%s", usage);
        return 2;
    }
    o.inputs = (const char *const *)&argv[optind];
    o.n_inputs = (size_t)(argc - optind);
    return train_run(&o, stdout, stderr);
}
