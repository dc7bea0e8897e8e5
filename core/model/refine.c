/*
 * refine.c - logistic refinement of multi-label naive Bayes weights
 * (see refine.h for the model and why).
 *
 * The variables are one correction per posting (term, label) and one bias
 * per label; the naive Bayes part of each score is computed once.  Each
 * evaluation is one pass over the documents' features and the postings
 * of their terms, the same work as classifying them.
 *
 * The documents are cut into a fixed number of chunks, each with its own
 * loss and gradient, which the machine's cores work through in parallel;
 * the chunks are then added up in order, so that the result does not
 * depend on how many cores there were.
 */
#include <lbfgs.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/refine.h"

#define CHUNKS 8

typedef struct problem problem;

/* One chunk of the documents and its share of the work. */
typedef struct chunk {
    problem *P;
    size_t from, to;
    const double *x;
    double *g;       /* nvars: this chunk's gradient of the loss */
    double loss;
    double *s;       /* L scratch: scores, then residuals */
    uint8_t *y;      /* L scratch: the document's labels */
} chunk;

struct problem {
    nb_view *v;
    const refine_doc *docs;
    size_t n;
    double *base;    /* n x L: the scaled naive Bayes score without bias */
    chunk chunks[CHUNKS];
    int nvars;
    int threads;
    pthread_mutex_t mu;
    int next;        /* the next chunk to take */
};

/* log(1 + e^x) without overflow */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Loss and gradient over the documents of one chunk. */
static void run_chunk(chunk *ch)
{
    problem *P = ch->P;
    const nb_view *v = P->v;
    uint32_t L = v->nlabels;
    const double *u = ch->x, *b = ch->x + v->nposts;
    double *gu = ch->g, *gb = ch->g + v->nposts;
    memset(ch->g, 0, sizeof *ch->g * (size_t)P->nvars);
    ch->loss = 0;
    for (size_t d = ch->from; d < ch->to; d++) {
        const refine_doc *doc = &P->docs[d];
        for (uint32_t c = 0; c < L; c++)
            ch->s[c] = b[c] + P->base[d * L + c];
        for (size_t i = 0; i < doc->n; i++) {
            const nb_term *T = &v->terms[doc->terms[i]];
            for (uint32_t k = 0; k < T->post_n; k++)
                ch->s[v->posts[T->post_off + k].label] += doc->f[i] * u[T->post_off + k];
        }
        for (size_t k = 0; k < doc->nlabels; k++)
            ch->y[doc->labels[k]] = 1;
        for (uint32_t c = 0; c < L; c++) {
            double sc = ch->s[c];
            ch->loss += softplus(sc) - (ch->y[c] ? sc : 0);
            ch->s[c] = nb_sigmoid(sc) - ch->y[c];
            gb[c] += ch->s[c];
        }
        for (size_t k = 0; k < doc->nlabels; k++)
            ch->y[doc->labels[k]] = 0;
        for (size_t i = 0; i < doc->n; i++) {
            const nb_term *T = &v->terms[doc->terms[i]];
            for (uint32_t k = 0; k < T->post_n; k++)
                gu[T->post_off + k] += ch->s[v->posts[T->post_off + k].label] * doc->f[i];
        }
    }
}

static void *worker(void *arg)
{
    problem *P = arg;
    for (;;) {
        pthread_mutex_lock(&P->mu);
        int i = P->next < CHUNKS ? P->next++ : -1;
        pthread_mutex_unlock(&P->mu);
        if (i < 0)
            return NULL;
        run_chunk(&P->chunks[i]);
    }
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int nvars, const lbfgsfloatval_t step)
{
    (void)step;
    problem *P = instance;
    pthread_t tid[CHUNKS];
    int started = 0;
    P->next = 0;
    for (int i = 0; i < CHUNKS; i++)
        P->chunks[i].x = x;
    for (int i = 1; i < P->threads; i++)
        if (pthread_create(&tid[started], NULL, worker, P) == 0)
            started++;
    worker(P);  /* this thread works too; alone when threads fail to start */
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    double loss = 0;
    memset(g, 0, sizeof *g * (size_t)nvars);
    for (int i = 0; i < CHUNKS; i++) {
        loss += P->chunks[i].loss;
        for (int j = 0; j < nvars; j++)
            g[j] += P->chunks[i].g[j];
    }
    const double *u = x;
    for (uint32_t p = 0; p < P->v->nposts; p++) {
        loss += REFINE_LAMBDA / 2 * u[p] * u[p];
        g[p] += REFINE_LAMBDA * u[p];
    }
    return loss;
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > CHUNKS ? CHUNKS : (int)n;
}

static void problem_free(problem *P)
{
    free(P->base);
    for (int i = 0; i < CHUNKS; i++) {
        free(P->chunks[i].g);
        free(P->chunks[i].s);
        free(P->chunks[i].y);
    }
    pthread_mutex_destroy(&P->mu);
}

static int problem_init(problem *P, nb_view *v, const refine_doc *docs, size_t n)
{
    uint32_t L = v->nlabels;
    memset(P, 0, sizeof *P);
    P->v = v;
    P->docs = docs;
    P->n = n;
    P->nvars = (int)(v->nposts + L);
    P->threads = cores();
    pthread_mutex_init(&P->mu, NULL);
    P->base = malloc(sizeof *P->base * (n ? n : 1) * L);
    int ok = P->base != NULL;
    for (int i = 0; i < CHUNKS; i++) {
        chunk *ch = &P->chunks[i];
        ch->P = P;
        ch->from = n * (size_t)i / CHUNKS;
        ch->to = n * (size_t)(i + 1) / CHUNKS;
        ch->g = malloc(sizeof *ch->g * (size_t)P->nvars);
        ch->s = malloc(sizeof *ch->s * L);
        ch->y = calloc(L, 1);
        ok = ok && ch->g && ch->s && ch->y;
    }
    return ok ? 0 : -1;
}

int nb_refine(nb_view *v, const refine_doc *docs, size_t n, int iterations)
{
    uint32_t L = v->nlabels;
    problem P;
    lbfgsfloatval_t *x = NULL;
    if (problem_init(&P, v, docs, n) || !(x = lbfgs_malloc(P.nvars))) {
        problem_free(&P);
        return -1;
    }
    for (uint32_t c = 0; c < L; c++) {
        v->labels[c].scale = REFINE_SCALE;
        v->labels[c].bias = 0;
    }
    for (size_t d = 0; d < n; d++)
        nb_score_features(v, docs[d].terms, docs[d].f, docs[d].n, P.base + d * L);
    memset(x, 0, sizeof *x * (size_t)P.nvars);

    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.max_iterations = iterations;
    lbfgsfloatval_t fx;
    /* Whatever the status (the limit reached, a line search that cannot
     * improve further), x holds the best point found. */
    lbfgs(P.nvars, x, &fx, evaluate, NULL, &P, &param);

    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        for (uint32_t k = 0; k < T->post_n; k++)
            v->posts[T->post_off + k].delta += (float)(x[T->post_off + k] / REFINE_SCALE);
    }
    for (uint32_t c = 0; c < L; c++)
        v->labels[c].bias = x[v->nposts + c];
    lbfgs_free(x);
    problem_free(&P);
    return 0;
}
