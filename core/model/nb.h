/*
 * nb.h - naive Bayes arithmetic shared by the trainer and the classifier.
 *
 * Every variant copydesk offers is a linear scorer over document features,
 * written so that it can be evaluated sparsely:
 *
 *     f_w      = tf_w, or log(1 + tf_w)          (log_tf)
 *                times idf_w                      (idf)
 *                divided by ||f||_2               (length_norm)
 *     w_cw     = A_c + g_w + delta_cw             (delta_cw = 0 when term w
 *                                                  never occurred with label c)
 *     s_c(d)   = bias_c + scale_c * sum_w f_w w_cw
 *              = bias_c + scale_c * (F A_c + G + sum_{w in d, c in S(w)} f_w delta_cw)
 *
 * with F = sum_w f_w and G = sum_w f_w g_w.  So scoring a document costs one
 * pass over its distinct terms and, for each, over the labels it occurred
 * with in training (its "postings"), not over every label.  nb.c explains
 * how A, g and delta come from the counts for each variant.
 *
 * The same arrays are the model file's sections (model_format.h): a mapped
 * model is scored in place.
 */
#ifndef CD_NB_H
#define CD_NB_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "copydesk/model.h"

/* Per label.  Counts first (training), then derived weights (scoring). */
typedef struct nb_label {
    double docs;       /* training documents with this label */
    double mass;       /* N_c = sum of f over those documents */
    double A;          /* label part of every weight */
    double scale;      /* 1 / sum_w |w_cw| with weight normalization, else 1 */
    double bias;       /* log prior (or log prior odds) */
    double platt_a;    /* multi-label calibration: p = 1/(1+exp(-(a s + b))) */
    double platt_b;
    double threshold;  /* multi-label decision threshold on p */
} nb_label;

/* Per vocabulary term. */
typedef struct nb_term {
    uint32_t post_off;  /* first posting */
    uint32_t post_n;    /* postings: labels the term occurred with */
    uint32_t name_off;  /* name in the term-name pool */
    uint32_t name_len;
    double df;          /* documents containing the term */
    double total;       /* T_w = sum of f_w over all documents */
    float g;            /* term part of every weight */
    float idf;          /* idf_w (1 without idf) */
} nb_term;

/* One (term, label) pair seen in training. */
typedef struct nb_post {
    uint32_t label;
    float delta;        /* delta_cw */
    double count;       /* n_cw = sum of f_w over documents of label c */
} nb_post;

/* Global settings and totals. */
typedef struct nb_params {
    cd_nb_opts nb;
    int multilabel;
    int refined;         /* weights refined by refine.c (not from counts alone) */
    double docs;         /* training documents */
    double mass;         /* M = sum of all f */
    double temperature;  /* single-label calibration: p = softmax(temperature * s) */
} nb_params;

/* A model's arrays, wherever they live (mapped file or trainer memory). */
/* A posting as scoring reads it: half the bytes of an nb_post, whose
 * count only training needs. */
typedef struct nb_fpost {
    uint32_t label;
    float delta;
} nb_fpost;

/* A term as scoring reads it (an open model): what nb_features and
 * nb_score_features need of an nb_term, 16 bytes of its 40, so that a
 * story's scattered terms cost fewer cache lines. */
typedef struct nb_sterm {
    uint32_t post_off;
    uint32_t post_n;
    float g;
    float idf;
} nb_sterm;

typedef struct nb_view {
    const nb_params *params;
    uint32_t nlabels, nterms, nposts;
    nb_label *labels;          /* const for a mapped model */
    nb_term *terms;
    nb_post *posts;
    const nb_fpost *fposts;    /* posts packed for scoring (an open model), or NULL */
    const nb_sterm *sterms;    /* terms packed for scoring (an open model), or NULL */
    const float *dense;        /* terms t < ndense: delta of every label, row t */
    uint32_t ndense;
} nb_view;

/* One document as distinct term ids with their raw frequencies. */
typedef struct nb_doc {
    const uint32_t *terms;
    const uint32_t *tf;
    size_t n;
} nb_doc;

/* Fill A, scale, bias of every label and g, idf of every term, delta of
 * every posting, from the counts in v. */
void nb_compute_weights(nb_view *v);

/* The features f_w of a document into f (n entries). */
void nb_features(const nb_view *v, const nb_doc *d, double *f);

/* Raw scores s_c of a document into scores (nlabels entries); f is
 * scratch of d->n entries. */
void nb_score(const nb_view *v, const nb_doc *d, double *f, double *scores);

/* The same, from features already computed. */
void nb_score_features(const nb_view *v, const uint32_t *terms, const double *f, size_t n,
                       double *scores);

/* nb_score_features, bit for bit, for a view whose postings are scored
 * sparsely (a trainer's) except terms t with row_of[t] != UINT32_MAX: the
 * deltas of every label, row row_of[t] of rows (0 for a label without a
 * posting).  Cheaper for terms with postings for most labels. */
void nb_score_features_rows(const nb_view *v, const uint32_t *row_of, const float *rows,
                            const uint32_t *terms, const double *f, size_t n, double *scores);

/* Turn raw scores into probabilities in p (nlabels entries). */
void nb_probabilities(const nb_view *v, const double *scores, double *p);

/* The weight w_cw * scale_c of term t for label c. */
double nb_weight(const nb_view *v, uint32_t t, uint32_t c);

/* 1 / (1 + e^-x), computed on the side where exp cannot overflow.  Inline:
 * classifying calls it for every label of every story. */
static inline double nb_sigmoid(double x)
{
    if (x >= 0)
        return 1 / (1 + exp(-x));
    double e = exp(x);   /* once: exp may set errno, so the compiler calls it twice */
    return e / (1 + e);
}

/* The sigmoid for classifying: above 40 it is 1 in double precision
 * anyway, and below -700 it is held at about 1e-304 instead of going on
 * into subnormals, where exp takes its slow underflow path (a few percent
 * of classify: most labels of a story score far below zero). */
static inline double nb_sigmoid_clamped(double x)
{
    if (x > 40)
        return 1;
    return nb_sigmoid(x < -700 ? -700 : x);
}

/* The argument of a multi-label model's sigmoid for label c with raw
 * score s (nb_probabilities: p = nb_platt_p of it). */
static inline double nb_platt_x(const nb_view *v, uint32_t c, double s)
{
    return v->labels[c].platt_a * s + v->labels[c].platt_b;
}

/* The probability of label c of a multi-label model from the argument x
 * of its sigmoid (nb_platt_x), as nb_probabilities gives it. */
static inline double nb_platt_p(double x)
{
    return isnan(x) ? 0 : nb_sigmoid_clamped(x);
}

/* Fit p = 1/(1+exp(-(a s + b))) to n held-out (score, truth) pairs (Platt
 * 1999); -1 when out of memory (then a = 1, b = 0). */
int nb_fit_platt(const double *s, const uint8_t *y, size_t n, double *a, double *b);

/* The probability threshold that maximizes F1 on n held-out (p, truth)
 * pairs; *f1 gets that F1. */
double nb_best_threshold(const double *p, const uint8_t *y, size_t n, double *f1);

/* Fit the softmax temperature on held-out raw scores (n docs x L labels,
 * row-major) with the true label index of each doc. */
double nb_fit_temperature(const double *scores, const uint32_t *truth, size_t n, uint32_t L);

#endif
