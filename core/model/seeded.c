/*
 * seeded.c - EM with shrinkage over unlabelled documents, started from
 * keyword seeds (see seeded.h), after McCallum and Nigam (1999).
 *
 * 1. Bootstrap.  A document whose words include some class's keywords is
 *    labelled with the class of most keyword hits (ties share it); the
 *    others start unlabelled.  Keywords only start the process: every
 *    document, these included, is labelled again by EM.
 * 2. M-step.  Multinomial naive Bayes from the documents' class
 *    probabilities P(c|d): soft word counts per class.  A class seen in
 *    few documents has a poor estimate of its words, so each class's word
 *    distribution is shrunk towards the pooled distributions of the nodes
 *    above it in the taxonomy (its parent topic, ... the top topic, all
 *    classes together) and the uniform distribution:
 *        theta_c(w) = sum_j lambda_c,j theta_j(w)
 *    The weights lambda_c are fitted by EM on the data itself, each
 *    document's words scored by estimates that leave that document out
 *    (so that the class's own estimate, which saw the document, does not
 *    win by memory), as in McCallum, Rosenfeld, Mitchell and Ng (1998).
 *    Class priors are Laplace-smoothed soft counts.
 * 3. E-step.  P(c|d) ~ P(c) prod_w theta_c(w)^n(d,w), for every document.
 * Repeat 2-3 until the log-likelihood of the documents changes by less
 * than the tolerance.  The classes' own estimates need no additive
 * smoothing: the uniform level of the shrinkage is the smoothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/seeded.h"

#define LAMBDA_ITERS 5      /* inner EM iterations for the shrinkage weights */
#define MIN_WEIGHT 1e-3     /* P(c|d) below this adds nothing to c's weights */

struct cd_em {
    size_t nnodes, C;
    int *parent;            /* nnodes */
    uint8_t *under;         /* nnodes x C: class c is in node a's subtree */
    uint8_t *used;          /* nnodes: some class shrinks towards node a */
    size_t *nlev;           /* per class: own, ancestors, all, uniform */
    int *anc;               /* C x nnodes: class c's ancestor nodes, nearest first */
    double *lambda;         /* C x (nnodes + 3) */
    /* documents */
    size_t D, dcap;
    size_t *start;          /* D + 1 */
    uint32_t *term, *cnt;
    size_t nnz, nzcap;
    double *len;            /* words per document */
    double *hits;           /* D x C */
    uint32_t V;
    /* results */
    double *P;              /* D x C */
    size_t *label;          /* D */
    size_t seeded;
    size_t *reached, *won, *assigned;
    cd_seeded_step *steps;
    size_t nsteps;
    int converged;
};

#define LSTRIDE(em) ((em)->nnodes + 3)

cd_status cdi_em_new(size_t nnodes, const int *node_parent, size_t nclasses,
                     const int *class_node, cd_em **out, cd_error *err)
{
    *out = NULL;
    if (nclasses == 0)
        return cd_error_set(err, CD_ERR_ARG, "no class to learn");
    cd_em *em = calloc(1, sizeof *em);
    if (!em)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    em->nnodes = nnodes;
    em->C = nclasses;
    em->parent = malloc(sizeof *em->parent * (nnodes ? nnodes : 1));
    em->under = calloc(nnodes * nclasses + 1, 1);
    em->used = calloc(nnodes + 1, 1);
    em->nlev = calloc(nclasses, sizeof *em->nlev);
    em->anc = calloc(nclasses * (nnodes + 1), sizeof *em->anc);
    em->lambda = calloc(nclasses * (nnodes + 3), sizeof *em->lambda);
    em->reached = calloc(nclasses, sizeof *em->reached);
    em->assigned = calloc(nclasses, sizeof *em->assigned);
    em->won = calloc(nclasses, sizeof *em->won);
    em->start = calloc(1, sizeof *em->start);
    if (!em->parent || !em->under || !em->used || !em->nlev || !em->anc || !em->lambda ||
        !em->reached || !em->assigned || !em->won || !em->start) {
        cdi_em_free(em);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    if (nnodes)
        memcpy(em->parent, node_parent, sizeof *em->parent * nnodes);
    for (size_t c = 0; c < nclasses; c++) {
        int node = class_node[c];
        if (node < 0 || (size_t)node >= nnodes) {
            cdi_em_free(em);
            return cd_error_set(err, CD_ERR_ARG, "class %zu: no node %d", c, node);
        }
        size_t k = 0;
        for (int a = node; a >= 0; a = em->parent[a]) {
            if (a != node) {
                em->anc[c * (nnodes + 1) + k++] = a;
                em->used[a] = 1;
            }
            em->under[(size_t)a * nclasses + c] = 1;
            if (k > nnodes)
                break;   /* a cycle: parents must come first */
        }
        em->nlev[c] = k + 3;
        for (size_t j = 0; j < em->nlev[c]; j++)
            em->lambda[c * LSTRIDE(em) + j] = 1.0 / (double)em->nlev[c];
    }
    *out = em;
    return CD_OK;
}

void cdi_em_free(cd_em *em)
{
    if (!em)
        return;
    free(em->parent);
    free(em->under);
    free(em->used);
    free(em->nlev);
    free(em->anc);
    free(em->lambda);
    free(em->start);
    free(em->term);
    free(em->cnt);
    free(em->len);
    free(em->hits);
    free(em->P);
    free(em->label);
    free(em->reached);
    free(em->assigned);
    free(em->won);
    free(em->steps);
    free(em);
}

size_t cdi_em_docs(const cd_em *em) { return em->D; }

cd_status cdi_em_add(cd_em *em, const uint32_t *terms, const uint32_t *counts, size_t n,
                     const double *hits, cd_error *err)
{
    if (em->D == em->dcap) {
        size_t cap = em->dcap ? em->dcap * 2 : 1024;
        size_t *start = realloc(em->start, sizeof *start * (cap + 1));
        if (start)
            em->start = start;
        double *len = start ? realloc(em->len, sizeof *len * cap) : NULL;
        if (len)
            em->len = len;
        double *h = len ? realloc(em->hits, sizeof *h * cap * em->C) : NULL;
        if (!h)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        em->hits = h;
        em->dcap = cap;
    }
    if (em->nnz + n > em->nzcap) {
        size_t cap = em->nzcap ? em->nzcap : 65536;
        while (cap < em->nnz + n)
            cap *= 2;
        uint32_t *t = realloc(em->term, sizeof *t * cap);
        if (t)
            em->term = t;
        uint32_t *c = t ? realloc(em->cnt, sizeof *c * cap) : NULL;
        if (!c)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        em->cnt = c;
        em->nzcap = cap;
    }
    double len = 0;
    for (size_t i = 0; i < n; i++) {
        em->term[em->nnz + i] = terms[i];
        em->cnt[em->nnz + i] = counts[i];
        len += counts[i];
        if (terms[i] + 1 > em->V)
            em->V = terms[i] + 1;
    }
    em->nnz += n;
    em->len[em->D] = len;
    memcpy(em->hits + em->D * em->C, hits, sizeof *hits * em->C);
    em->D++;
    em->start[em->D] = em->nnz;
    return CD_OK;
}

/* ---- the bootstrap ------------------------------------------------------- */

static void bootstrap(cd_em *em)
{
    size_t C = em->C;
    em->seeded = 0;
    for (size_t d = 0; d < em->D; d++) {
        const double *h = em->hits + d * C;
        double *p = em->P + d * C;
        double best = 0;
        size_t ties = 0;
        for (size_t c = 0; c < C; c++) {
            em->reached[c] += h[c] > 0;
            if (h[c] > best) {
                best = h[c];
                ties = 1;
            } else if (h[c] == best && best > 0) {
                ties++;
            }
        }
        em->label[d] = (size_t)-1;
        memset(p, 0, sizeof *p * C);
        if (best <= 0)
            continue;
        em->seeded++;
        for (size_t c = 0; c < C; c++)
            if (h[c] == best) {
                p[c] = 1.0 / (double)ties;
                em->won[c]++;
                if (em->label[d] == (size_t)-1)
                    em->label[d] = c;
            }
    }
}

/* ---- the M-step ------------------------------------------------------------ */

typedef struct counts {
    double *cls, *cls_tot;     /* C x V, C */
    double *node, *node_tot;   /* nnodes x V, nnodes (used nodes only) */
    double *all, all_tot;      /* V */
    double *logtheta;          /* C x V */
    double *prior;             /* C */
} counts;

static void counts_free(counts *k)
{
    free(k->cls);
    free(k->cls_tot);
    free(k->node);
    free(k->node_tot);
    free(k->all);
    free(k->logtheta);
    free(k->prior);
}

static int counts_alloc(counts *k, const cd_em *em)
{
    size_t C = em->C, V = em->V ? em->V : 1, T = em->nnodes ? em->nnodes : 1;
    memset(k, 0, sizeof *k);
    k->cls = malloc(sizeof *k->cls * C * V);
    k->cls_tot = malloc(sizeof *k->cls_tot * C);
    k->node = malloc(sizeof *k->node * T * V);
    k->node_tot = malloc(sizeof *k->node_tot * T);
    k->all = malloc(sizeof *k->all * V);
    k->logtheta = malloc(sizeof *k->logtheta * C * V);
    k->prior = malloc(sizeof *k->prior * C);
    return k->cls && k->cls_tot && k->node && k->node_tot && k->all && k->logtheta && k->prior;
}

static void count_words(const cd_em *em, counts *k)
{
    size_t C = em->C, V = em->V;
    memset(k->cls, 0, sizeof *k->cls * C * V);
    memset(k->cls_tot, 0, sizeof *k->cls_tot * C);
    for (size_t d = 0; d < em->D; d++) {
        const double *p = em->P + d * C;
        for (size_t c = 0; c < C; c++) {
            if (p[c] <= 0)
                continue;
            double *row = k->cls + c * V;
            for (size_t i = em->start[d]; i < em->start[d + 1]; i++)
                row[em->term[i]] += p[c] * em->cnt[i];
            k->cls_tot[c] += p[c] * em->len[d];
        }
    }
    memset(k->all, 0, sizeof *k->all * V);
    k->all_tot = 0;
    for (size_t c = 0; c < C; c++) {
        for (size_t w = 0; w < V; w++)
            k->all[w] += k->cls[c * V + w];
        k->all_tot += k->cls_tot[c];
    }
    for (size_t a = 0; a < em->nnodes; a++) {
        if (!em->used[a])
            continue;
        double *row = k->node + a * V;
        memset(row, 0, sizeof *row * V);
        k->node_tot[a] = 0;
        for (size_t c = 0; c < C; c++) {
            if (!em->under[a * C + c])
                continue;
            for (size_t w = 0; w < V; w++)
                row[w] += k->cls[c * V + w];
            k->node_tot[a] += k->cls_tot[c];
        }
    }
}

/* Level j of class c: its counts (NULL for uniform), total, and the share
 * of document d's words it holds (q). */
static const double *level(const cd_em *em, const counts *k, size_t c, size_t j, size_t d,
                           double *tot, double *q)
{
    size_t C = em->C, nl = em->nlev[c];
    const double *p = em->P + d * C;
    if (j == 0) {
        *tot = k->cls_tot[c];
        *q = p[c];
        return k->cls + c * em->V;
    }
    if (j + 2 < nl) {
        size_t a = (size_t)em->anc[c * (em->nnodes + 1) + j - 1];
        double s = 0;
        for (size_t c2 = 0; c2 < C; c2++)
            if (em->under[a * C + c2])
                s += p[c2];
        *tot = k->node_tot[a];
        *q = s;
        return k->node + a * em->V;
    }
    if (j + 2 == nl) {
        double s = 0;
        for (size_t c2 = 0; c2 < C; c2++)
            s += p[c2];
        *tot = k->all_tot;
        *q = s;
        return k->all;
    }
    *tot = 0;
    *q = 0;
    return NULL;
}

/* Fit class c's shrinkage weights on the documents, leaving each one out
 * of the estimates its own words are scored by. */
static void fit_lambda(cd_em *em, const counts *k, size_t c)
{
    size_t C = em->C, nl = em->nlev[c];
    double *lam = em->lambda + c * LSTRIDE(em);
    double uni = 1.0 / (double)em->V;
    double beta[64], theta[64], tot[64], q[64];
    const double *row[64];
    if (nl > 64)
        return;
    for (int it = 0; it < LAMBDA_ITERS; it++) {
        memset(beta, 0, sizeof beta);
        for (size_t d = 0; d < em->D; d++) {
            double wgt = em->P[d * C + c];
            if (wgt < MIN_WEIGHT)
                continue;
            for (size_t j = 0; j < nl; j++) {
                row[j] = level(em, k, c, j, d, &tot[j], &q[j]);
                tot[j] -= q[j] * em->len[d];
            }
            for (size_t i = em->start[d]; i < em->start[d + 1]; i++) {
                uint32_t w = em->term[i];
                double n = em->cnt[i], s = 0;
                for (size_t j = 0; j < nl; j++) {
                    if (!row[j]) {
                        theta[j] = uni;
                    } else {
                        double num = row[j][w] - q[j] * n;
                        theta[j] = tot[j] > 1e-9 && num > 1e-12 ? num / tot[j] : 0;
                    }
                    s += lam[j] * theta[j];
                }
                if (s <= 0)
                    continue;
                for (size_t j = 0; j < nl; j++)
                    beta[j] += wgt * n * lam[j] * theta[j] / s;
            }
        }
        double sum = 0;
        for (size_t j = 0; j < nl; j++)
            sum += beta[j];
        if (sum <= 0)
            return;
        for (size_t j = 0; j < nl; j++)
            lam[j] = beta[j] / sum;
    }
}

static void m_step(cd_em *em, counts *k)
{
    size_t C = em->C, V = em->V;
    count_words(em, k);
    for (size_t c = 0; c < C; c++)
        fit_lambda(em, k, c);
    double docs = 0;
    for (size_t d = 0; d < em->D; d++)
        for (size_t c = 0; c < C; c++)
            docs += em->P[d * C + c];
    for (size_t c = 0; c < C; c++) {
        double pc = 0;
        for (size_t d = 0; d < em->D; d++)
            pc += em->P[d * C + c];
        k->prior[c] = log((1 + pc) / ((double)C + docs));
        const double *lam = em->lambda + c * LSTRIDE(em);
        size_t nl = em->nlev[c];
        double *lt = k->logtheta + c * V;
        for (size_t w = 0; w < V; w++)
            lt[w] = lam[nl - 1] / (double)V;
        for (size_t j = 0; j + 1 < nl; j++) {
            double tot, q;
            const double *row = level(em, k, c, j, 0, &tot, &q);
            if (!row || tot <= 0 || lam[j] <= 0)
                continue;
            double f = lam[j] / tot;
            for (size_t w = 0; w < V; w++)
                lt[w] += f * row[w];
        }
        for (size_t w = 0; w < V; w++)
            lt[w] = lt[w] > 0 ? log(lt[w]) : -1e30;
    }
}

/* ---- the E-step ------------------------------------------------------------ */

static void e_step(cd_em *em, const counts *k, cd_seeded_step *rec)
{
    size_t C = em->C, V = em->V;
    double ll = 0;
    size_t changed = 0;
    double s[256];
    double *sc = C <= 256 ? s : malloc(sizeof *sc * C);
    if (!sc)
        return;
    for (size_t d = 0; d < em->D; d++) {
        double best = -INFINITY;
        size_t arg = 0;
        for (size_t c = 0; c < C; c++) {
            const double *lt = k->logtheta + c * V;
            double v = k->prior[c];
            for (size_t i = em->start[d]; i < em->start[d + 1]; i++)
                v += em->cnt[i] * lt[em->term[i]];
            sc[c] = v;
            if (v > best) {
                best = v;
                arg = c;
            }
        }
        double z = 0;
        for (size_t c = 0; c < C; c++)
            z += exp(sc[c] - best);
        for (size_t c = 0; c < C; c++)
            em->P[d * C + c] = exp(sc[c] - best) / z;
        ll += best + log(z);
        changed += em->label[d] != arg;
        em->label[d] = arg;
    }
    if (sc != s)
        free(sc);
    rec->loglik = ll;
    rec->changed = changed;
}

cd_status cdi_em_run(cd_em *em, unsigned max_iter, double tol, cd_progress_fn progress,
                     void *ud, cd_error *err)
{
    size_t C = em->C;
    if (em->D == 0)
        return cd_error_set(err, CD_ERR_ARG, "no stories to learn from");
    free(em->P);
    free(em->label);
    free(em->steps);
    em->P = malloc(sizeof *em->P * em->D * C);
    em->label = malloc(sizeof *em->label * em->D);
    em->steps = calloc(max_iter + 1, sizeof *em->steps);
    em->nsteps = 0;
    em->converged = 0;
    memset(em->reached, 0, sizeof *em->reached * C);
    memset(em->won, 0, sizeof *em->won * C);
    counts k;
    memset(&k, 0, sizeof k);
    if (!em->P || !em->label || !em->steps || !counts_alloc(&k, em)) {
        counts_free(&k);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    bootstrap(em);
    if (em->seeded == 0) {
        counts_free(&k);
        return cd_error_set(err, CD_ERR_ARG,
                            "no story has any keyword of the taxonomy: nothing to start from");
    }
    if (max_iter == 0)
        max_iter = 1;
    for (unsigned it = 0; it < max_iter; it++) {
        m_step(em, &k);
        e_step(em, &k, &em->steps[em->nsteps]);
        em->nsteps++;
        if (progress)
            progress("EM", (double)(it + 1) / max_iter, ud);
        if (em->nsteps >= 2) {
            double a = em->steps[em->nsteps - 2].loglik, b = em->steps[em->nsteps - 1].loglik;
            if (fabs(b - a) <= tol * fabs(b)) {
                em->converged = 1;
                break;
            }
        }
    }
    counts_free(&k);
    memset(em->assigned, 0, sizeof *em->assigned * C);
    for (size_t d = 0; d < em->D; d++)
        em->assigned[em->label[d]]++;
    return CD_OK;
}

size_t cdi_em_seeded_docs(const cd_em *em) { return em->seeded; }
size_t cdi_em_reached(const cd_em *em, size_t c) { return em->reached[c]; }
size_t cdi_em_won(const cd_em *em, size_t c) { return em->won[c]; }
size_t cdi_em_assigned(const cd_em *em, size_t c) { return em->assigned[c]; }
int cdi_em_converged(const cd_em *em) { return em->converged; }

const cd_seeded_step *cdi_em_steps(const cd_em *em, size_t *n)
{
    *n = em->nsteps;
    return em->steps;
}

size_t cdi_em_label(const cd_em *em, size_t d, double *p)
{
    size_t c = em->label[d];
    if (p)
        *p = em->P[d * em->C + c];
    return c;
}

const double *cdi_em_lambda(const cd_em *em, size_t c, size_t *n)
{
    *n = em->nlev[c];
    return em->lambda + c * LSTRIDE(em);
}
