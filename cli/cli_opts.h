/*
 * cli_opts.h - the tokenizer and classifier options that train, eval --cv
 * and tokens share, so that each is spelled and documented once.
 */
#ifndef CD_CLI_OPTS_H
#define CD_CLI_OPTS_H

#include <getopt.h>
#include "copydesk.h"

/* getopt_long values of the shared options (above any short option). */
enum {
    OPT_MIN_LEN = 1000, OPT_MAX_LEN, OPT_NO_STOPWORDS, OPT_BIGRAMS, OPT_STEM,
    OPT_FOLD_NUMBERS,
    OPT_KIND, OPT_LABELS, OPT_ALPHA, OPT_NO_LOG_TF, OPT_NO_IDF, OPT_NO_LENGTH_NORM,
    OPT_NO_WEIGHT_NORM, OPT_FOLDS, OPT_ALPHA_REST, OPT_MIN_DF, OPT_REFINE,
    OPT_AT_LEAST_ONE,
    OPT_FIRST_FREE
};

#define CLI_TOK_LONGOPTS \
    { "min-len", required_argument, NULL, OPT_MIN_LEN }, \
    { "max-len", required_argument, NULL, OPT_MAX_LEN }, \
    { "no-stopwords", no_argument, NULL, OPT_NO_STOPWORDS }, \
    { "bigrams", no_argument, NULL, OPT_BIGRAMS }, \
    { "stem", no_argument, NULL, OPT_STEM }, \
    { "fold-numbers", no_argument, NULL, OPT_FOLD_NUMBERS }

#define CLI_NB_LONGOPTS \
    { "kind", required_argument, NULL, OPT_KIND }, \
    { "labels", required_argument, NULL, OPT_LABELS }, \
    { "alpha", required_argument, NULL, OPT_ALPHA }, \
    { "no-log-tf", no_argument, NULL, OPT_NO_LOG_TF }, \
    { "no-idf", no_argument, NULL, OPT_NO_IDF }, \
    { "no-length-norm", no_argument, NULL, OPT_NO_LENGTH_NORM }, \
    { "no-weight-norm", no_argument, NULL, OPT_NO_WEIGHT_NORM }, \
    { "folds", required_argument, NULL, OPT_FOLDS }, \
    { "alpha-rest", required_argument, NULL, OPT_ALPHA_REST }, \
    { "min-df", required_argument, NULL, OPT_MIN_DF }, \
    { "refine", required_argument, NULL, OPT_REFINE }, \
    { "at-least-one", no_argument, NULL, OPT_AT_LEAST_ONE }

#define CLI_TOK_HELP \
    "tokenizer:\n" \
    "  --min-len N         shortest token kept, in characters (default 2)\n" \
    "  --max-len N         longest token kept (default 40)\n" \
    "  --no-stopwords      keep English stop words\n" \
    "  --bigrams           add word pairs as tokens\n" \
    "  --stem              Snowball English stemming\n" \
    "  --fold-numbers      every run of digits becomes 0\n"

#define CLI_NB_HELP \
    "classifier (the defaults suit the data: see 'Classifier' in the README):\n" \
    "  --kind KIND         auto (default): multinomial naive Bayes on raw counts for\n" \
    "                      single-label data, complement naive Bayes (one label\n" \
    "                      against the rest) on log tf-idf, refined, for\n" \
    "                      multi-label data; or complement, or multinomial with\n" \
    "                      the settings below as given\n" \
    "  --labels MODE       auto (default), single or multi\n" \
    "  --alpha X           additive smoothing of a label's counts (default 0.01;\n" \
    "                      0.05 for single-label data with kind auto)\n" \
    "  --alpha-rest X      additive smoothing of the other labels' counts, for\n" \
    "                      complement models (default 0.3)\n" \
    "  --min-df N          ignore terms in fewer than N training stories (default 3;\n" \
    "                      1 for single-label data with kind auto)\n" \
    "  --refine N          multi-label complement models: logistic refinement of\n" \
    "                      the weights, solved to convergence in at most N passes,\n" \
    "                      0 for plain naive Bayes (default 60)\n" \
    "  --no-log-tf         raw term frequencies instead of log(1 + tf)\n" \
    "  --no-idf            no inverse document frequency weighting\n" \
    "  --no-length-norm    no length normalization of documents\n" \
    "  --no-weight-norm    no normalization of each label's weights\n" \
    "  --folds K           folds used to calibrate the model (default 5)\n" \
    "  --at-least-one      multi-label: give every story its nearest label even\n" \
    "                      when none is likely (default: a story may get none)\n"

/* Apply one shared option.  Returns 1 when opt was one of them, 0 when not,
 * -1 when its value is invalid (the message is printed, naming cmd). */
int cli_tok_option(const char *cmd, int opt, const char *arg, cd_tok_opts *tok);
int cli_nb_option(const char *cmd, int opt, const char *arg, cd_nb_opts *nb);

#endif
