/*
 * cli_opts.c - parsing the shared tokenizer and classifier options.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

static int length_value(const char *cmd, const char *name, const char *arg, uint32_t *out)
{
    long v = cli_parse_count(arg);
    if (v < 1 || v > CD_TOK_MAX_LEN) {
        cli_error(cmd, "--%s: expected a number from 1 to %d, got '%s'", name, CD_TOK_MAX_LEN, arg);
        return -1;
    }
    *out = (uint32_t)v;
    return 1;
}

int cli_tok_option(const char *cmd, int opt, const char *arg, cd_tok_opts *tok)
{
    switch (opt) {
    case OPT_MIN_LEN: return length_value(cmd, "min-len", arg, &tok->min_len);
    case OPT_MAX_LEN: return length_value(cmd, "max-len", arg, &tok->max_len);
    case OPT_NO_STOPWORDS: tok->stopwords = 0; return 1;
    case OPT_BIGRAMS: tok->bigrams = 1; return 1;
    case OPT_STEM: tok->stem = 1; return 1;
    case OPT_FOLD_NUMBERS: tok->fold_numbers = 1; return 1;
    }
    return 0;
}

static int positive_value(const char *cmd, const char *name, const char *arg, double *out)
{
    char *end;
    double a = strtod(arg, &end);
    if (end == arg || *end || !(a > 0) || !isfinite(a)) {
        cli_error(cmd, "--%s: expected a positive number, got '%s'", name, arg);
        return -1;
    }
    *out = a;
    return 1;
}

int cli_nb_option(const char *cmd, int opt, const char *arg, cd_nb_opts *nb)
{
    switch (opt) {
    case OPT_KIND:
        if (!strcmp(arg, "complement")) nb->kind = CD_NB_COMPLEMENT;
        else if (!strcmp(arg, "multinomial")) nb->kind = CD_NB_MULTINOMIAL;
        else if (!strcmp(arg, "auto")) nb->kind = CD_NB_AUTO;
        else {
            cli_error(cmd, "--kind: expected auto, complement or multinomial, got '%s'", arg);
            return -1;
        }
        return 1;
    case OPT_LABELS:
        if (!strcmp(arg, "auto")) nb->mode = CD_LABELS_AUTO;
        else if (!strcmp(arg, "single")) nb->mode = CD_LABELS_SINGLE;
        else if (!strcmp(arg, "multi")) nb->mode = CD_LABELS_MULTI;
        else {
            cli_error(cmd, "--labels: expected auto, single or multi, got '%s'", arg);
            return -1;
        }
        return 1;
    case OPT_ALPHA:
        nb->pinned |= CD_NB_PIN_ALPHA;
        return positive_value(cmd, "alpha", arg, &nb->alpha);
    case OPT_ALPHA_REST:
        nb->pinned |= CD_NB_PIN_ALPHA_REST;
        return positive_value(cmd, "alpha-rest", arg, &nb->alpha_rest);
    case OPT_MIN_DF: {
        long n = cli_parse_count(arg);
        if (n < 1 || n > 1000000) {
            cli_error(cmd, "--min-df: expected a positive number, got '%s'", arg);
            return -1;
        }
        nb->min_df = (uint32_t)n;
        nb->pinned |= CD_NB_PIN_MIN_DF;
        return 1;
    }
    case OPT_REFINE: {
        long n = cli_parse_count(arg);
        if (n < 0 || n > 100000) {
            cli_error(cmd, "--refine: expected a number from 0 to 100000, got '%s'", arg);
            return -1;
        }
        nb->refine = (uint32_t)n;
        nb->pinned |= CD_NB_PIN_REFINE;
        return 1;
    }
    case OPT_NO_LOG_TF: nb->log_tf = 0; nb->pinned |= CD_NB_PIN_LOG_TF; return 1;
    case OPT_NO_IDF: nb->idf = 0; nb->pinned |= CD_NB_PIN_IDF; return 1;
    case OPT_NO_LENGTH_NORM: nb->length_norm = 0; nb->pinned |= CD_NB_PIN_LENGTH_NORM; return 1;
    case OPT_NO_WEIGHT_NORM: nb->weight_norm = 0; nb->pinned |= CD_NB_PIN_WEIGHT_NORM; return 1;
    case OPT_AT_LEAST_ONE: nb->at_least_one = 1; return 1;
    case OPT_FOLDS: {
        long k = cli_parse_count(arg);
        if (k < 0 || k > 100) {
            cli_error(cmd, "--folds: expected a number from 0 to 100, got '%s'", arg);
            return -1;
        }
        nb->cv_folds = (uint32_t)k;
        return 1;
    }
    }
    return 0;
}
