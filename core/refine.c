/*
 * refine.c - logistic refinement of multi-label naive Bayes weights
 * (see refine.h for the model and why).
 *
 * The variables are one correction per posting (term, label) and one bias
 * per label; the naive Bayes part of each score is computed once.  Each
 * evaluation is one pass over the documents' features and the postings
 * of their terms, the same work as classifying them.
 */
#include <lbfgs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refine.h"

typedef struct problem {
    nb_view *v;
    const refine_doc *docs;
    size_t n;
    double *base;    /* n x L: the scaled naive Bayes score without bias */
    double *s;       /* L scratch: scores, then residuals */
    uint8_t *y;      /* L scratch: the document's labels */
} problem;

/* log(1 + e^x) without overflow */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double sigmoid(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int nvars, const lbfgsfloatval_t step)
{
    (void)step;
    problem *P = instance;
    const nb_view *v = P->v;
    uint32_t L = v->nlabels;
    const double *u = x, *b = x + v->nposts;
    double *gu = g, *gb = g + v->nposts;
    double loss = 0;
    memset(g, 0, sizeof *g * (size_t)nvars);
    for (size_t d = 0; d < P->n; d++) {
        const refine_doc *doc = &P->docs[d];
        for (uint32_t c = 0; c < L; c++)
            P->s[c] = b[c] + P->base[d * L + c];
        for (size_t i = 0; i < doc->n; i++) {
            const nb_term *T = &v->terms[doc->terms[i]];
            for (uint32_t k = 0; k < T->post_n; k++)
                P->s[v->posts[T->post_off + k].label] += doc->f[i] * u[T->post_off + k];
        }
        for (size_t k = 0; k < doc->nlabels; k++)
            P->y[doc->labels[k]] = 1;
        for (uint32_t c = 0; c < L; c++) {
            double s = P->s[c];
            loss += softplus(s) - (P->y[c] ? s : 0);
            P->s[c] = sigmoid(s) - P->y[c];
            gb[c] += P->s[c];
        }
        for (size_t k = 0; k < doc->nlabels; k++)
            P->y[doc->labels[k]] = 0;
        for (size_t i = 0; i < doc->n; i++) {
            const nb_term *T = &v->terms[doc->terms[i]];
            for (uint32_t k = 0; k < T->post_n; k++)
                gu[T->post_off + k] += P->s[v->posts[T->post_off + k].label] * doc->f[i];
        }
    }
    for (uint32_t p = 0; p < v->nposts; p++) {
        loss += REFINE_LAMBDA / 2 * u[p] * u[p];
        gu[p] += REFINE_LAMBDA * u[p];
    }
    return loss;
}

int nb_refine(nb_view *v, const refine_doc *docs, size_t n, int iterations)
{
    uint32_t L = v->nlabels;
    int nvars = (int)(v->nposts + L);
    problem P = { v, docs, n, NULL, NULL, NULL };
    P.base = malloc(sizeof *P.base * (n ? n : 1) * L);
    P.s = malloc(sizeof *P.s * L);
    P.y = calloc(L, 1);
    lbfgsfloatval_t *x = lbfgs_malloc(nvars);
    if (!P.base || !P.s || !P.y || !x) {
        free(P.base); free(P.s); free(P.y);
        lbfgs_free(x);
        return -1;
    }
    for (uint32_t c = 0; c < L; c++) {
        v->labels[c].scale = REFINE_SCALE;
        v->labels[c].bias = 0;
    }
    for (size_t d = 0; d < n; d++)
        nb_score_features(v, docs[d].terms, docs[d].f, docs[d].n, P.base + d * L);
    memset(x, 0, sizeof *x * (size_t)nvars);

    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.max_iterations = iterations;
    lbfgsfloatval_t fx;
    /* Whatever the status (the limit reached, a line search that cannot
     * improve further), x holds the best point found. */
    lbfgs(nvars, x, &fx, evaluate, NULL, &P, &param);

    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        for (uint32_t k = 0; k < T->post_n; k++)
            v->posts[T->post_off + k].delta += (float)(x[T->post_off + k] / REFINE_SCALE);
    }
    for (uint32_t c = 0; c < L; c++)
        v->labels[c].bias = x[v->nposts + c];
    lbfgs_free(x);
    free(P.base); free(P.s); free(P.y);
    return 0;
}
