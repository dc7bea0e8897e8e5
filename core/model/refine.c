/*
 * refine.c - logistic refinement of multi-label naive Bayes weights
 * (see refine.h for the model and why).
 *
 * The objective is a sum of one problem per label: label c's corrections
 * u_cw and bias b_c meet no other label's.  Each label is solved on its
 * own, to convergence, by dual coordinate descent for L2-regularized
 * logistic regression (Yu, Huang and Lin 2011, the solver of LIBLINEAR's
 * -s 7): one pass over the documents costs one sparse dot product and one
 * sparse update per document, and a few passes reach the optimum.  Being
 * solved to convergence, the result is the optimum of a strictly convex
 * problem, whatever the order of the documents: a model retrained from
 * the same stories has the same weights, however they came together.
 *
 * Per label c, with x_d the features of document d restricted to the terms
 * with a posting for c, o_d the scaled naive Bayes score and y_d = +-1:
 *
 *   primal  min_w  1/2 |w|^2 + C sum_d log(1 + exp(-y_d (w.x_d + B w_b + o_d)))
 *   dual    min_a  1/2 |sum_d a_d y_d x_d|^2 + sum_d a_d y_d o_d
 *                  + sum_d a_d log a_d + (C - a_d) log(C - a_d),  0 < a_d < C
 *
 * with C = 1/lambda (refine.h) and the bias a feature of constant value B.
 * Each label's bias is first fitted for the scaled naive Bayes score alone
 * (o_d includes it), so the solver's pull on what remains of the bias is
 * small; a larger B would weigh every document on the bias and slow the
 * descent down.
 *
 * The labels are independent, so the machine's cores take them in turn;
 * each label's result does not depend on which core solved it.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/refine.h"

#define BIAS_FEATURE 1.0     /* B: the bias's pull is lambda/2 (b/B)^2 */
#define EPS 0.1              /* stop when every coordinate's gradient is below this
                                (LIBLINEAR's default for this solver) */
#define WARM_MAX_GRADIENT 1.0   /* a recovered point's mean gradient, beyond which a label starts cold */
#define SHRINK 1e-2          /* a dual variable below SHRINK * C leaves the passes */
#define BASE_BLOCK 64        /* documents scored before their rows are stored by label */

typedef struct problem {
    nb_view *v;
    const refine_doc *docs;
    size_t n;
    int max_epochs;
    double *base;            /* L x n: the naive Bayes score without bias, by label */
    uint32_t *label_posts;   /* postings of each label (global indices), by label */
    size_t *label_start;     /* label c's are [label_start[c], label_start[c+1]) */
    double *u;               /* nposts: the corrections found */
    double *bias;            /* L */
    double *scale, *offset;  /* L: the naive Bayes score's scale, and the bias fitted for it alone */
    pthread_mutex_t mu;
    uint32_t next;           /* the next label to solve, in order */
    uint32_t *order;         /* L: the labels with most postings first (the
                                longest solves start first, so that no core
                                is left with a large one at the end) */
    int failed;
    uint32_t *term_of_post;  /* nposts: the term of each posting */
    uint32_t *row_of;        /* nterms: the dense row of a term with postings for
                                many labels, or UINT32_MAX (the base scores) */
    float *rows;
    float *ff;               /* the documents' features as the rows keep them */
    size_t *ff_start;        /* document d's are ff + ff_start[d] */
    const double *warm_in;   /* refine_warm: where to start */
    const uint32_t *warm_index;
    size_t warm_n;
    double *warm_out;
    int warm_check;          /* refine_warm.check */
    cd_progress_fn progress;
    const char *stage;
    void *ud;
    int first;
    uint32_t done;
} problem;

/* One solver's scratch: label c's documents as rows of (variable, value). */
typedef struct rows {
    size_t *start;           /* n + 1 */
    uint32_t *var;
    float *val;
    size_t len, cap;
    int32_t *local;          /* nterms: term -> variable of the label, or -1 */
    double *alpha;           /* 2n: a_d and C - a_d */
    double *lg;              /* n: log(a_d / (C - a_d)), kept as a_d changes */
    double *qdiag;           /* n */
    uint32_t *order;         /* n */
    int8_t *y;               /* n: +1 for the label's documents, -1 for the others */
    double *o;               /* n: the offset of each document, the prior's score */
    double *w;               /* variables of the label (+ the bias) */
} rows;

static void rows_free(rows *r)
{
    free(r->start);
    free(r->var);
    free(r->val);
    free(r->local);
    free(r->alpha);
    free(r->lg);
    free(r->qdiag);
    free(r->order);
    free(r->y);
    free(r->o);
    free(r->w);
}

static int rows_init(rows *r, const problem *P)
{
    memset(r, 0, sizeof *r);
    size_t n = P->n ? P->n : 1;
    r->start = malloc(sizeof *r->start * (n + 1));
    r->local = malloc(sizeof *r->local * (P->v->nterms ? P->v->nterms : 1));
    r->alpha = malloc(sizeof *r->alpha * 2 * n);
    r->lg = malloc(sizeof *r->lg * n);
    r->qdiag = malloc(sizeof *r->qdiag * n);
    r->order = malloc(sizeof *r->order * n);
    r->y = malloc(n);
    r->o = malloc(sizeof *r->o * n);
    if (!r->start || !r->local || !r->alpha || !r->lg || !r->qdiag || !r->order || !r->y || !r->o)
        return -1;
    for (uint32_t t = 0; t < P->v->nterms; t++)
        r->local[t] = -1;
    return 0;
}

/* deterministic shuffling, the same on every machine */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Label c's bias first, for the scaled naive Bayes score alone (a Newton
 * search in one variable): the corrections then start from a prior that
 * is right on average, and the solver's weak pull on the bias does not
 * matter.  r->y holds the label's truth. */
static void fit_offset(problem *P, rows *r, uint32_t c)
{
    size_t n = P->n;
    const double *base = P->base + (size_t)c * n;
    /* sigmoid(s + b) = 1 / (1 + exp(-s) exp(-b)): one exp a document for
     * the whole search, not one an iteration (exp(-s) may be 0 or
     * infinite: p is then 1 or 0, as it should be; |b| stays below 250,
     * so exp(-b) is neither) */
    double *e = r->o;
    for (size_t d = 0; d < n; d++)
        e[d] = exp(-REFINE_SCALE * base[d]);
    double b = 0;
    for (int iter = 0; iter < 50; iter++) {
        double g = 0, h = 1e-12, eb = exp(-b);
        for (size_t d = 0; d < n; d++) {
            double p = 1 / (1 + e[d] * eb);
            g += p - (r->y[d] > 0);
            h += p * (1 - p);
        }
        double step = -g / h;
        if (step > 5) step = 5;
        if (step < -5) step = -5;
        b += step;
        if (fabs(step) < 1e-6)
            break;
    }
    P->scale[c] = REFINE_SCALE;
    P->offset[c] = b;
}

/* w . x over a row's entries [from, to): four sums, so that the additions
 * do not wait on one another (the solver's most frequent loop; a single
 * sum made it as slow as the chain of its additions) */
static inline double row_dot(const double *restrict w, const uint32_t *restrict var,
                             const float *restrict val, size_t from, size_t to)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = from;
    for (; j + 4 <= to; j += 4) {
        s0 += w[var[j]] * val[j];
        s1 += w[var[j + 1]] * val[j + 1];
        s2 += w[var[j + 2]] * val[j + 2];
        s3 += w[var[j + 3]] * val[j + 3];
    }
    for (; j < to; j++)
        s0 += w[var[j]] * val[j];
    return (s0 + s1) + (s2 + s3);
}

/* Solve label c: P->u of its postings and P->bias[c]. */
static int solve_label(problem *P, rows *r, uint32_t c, const uint32_t *term_of_post)
{
    size_t n = P->n;
    size_t pfrom = P->label_start[c], pto = P->label_start[c + 1];
    uint32_t nvars = (uint32_t)(pto - pfrom);
    for (uint32_t k = 0; k < nvars; k++)
        r->local[term_of_post[P->label_posts[pfrom + k]]] = (int32_t)k;
    /* rows */
    r->len = 0;
    for (size_t d = 0; d < n; d++) {
        const refine_doc *doc = &P->docs[d];
        r->start[d] = r->len;
        if (r->len + doc->n > r->cap) {
            size_t cap = r->cap ? r->cap : 1024;
            while (cap < r->len + doc->n)
                cap *= 2;
            uint32_t *var = realloc(r->var, sizeof *var * cap);
            if (!var) goto nomem;
            r->var = var;
            float *val = realloc(r->val, sizeof *val * cap);
            if (!val) goto nomem;
            r->val = val;
            r->cap = cap;
        }
        /* without a branch: which terms the label has is unpredictable */
        uint32_t *rv = r->var + r->len;
        float *rf = r->val + r->len;
        size_t m = 0;
        const float *ff = P->ff + P->ff_start[d];
        for (size_t i = 0; i < doc->n; i++) {
            int32_t k = r->local[doc->terms[i]];
            rv[m] = (uint32_t)k;
            rf[m] = ff[i];
            m += k >= 0;
        }
        r->len += m;
    }
    r->start[n] = r->len;
    for (uint32_t k = 0; k < nvars; k++)
        r->local[term_of_post[P->label_posts[pfrom + k]]] = -1;

    double *w = realloc(r->w, sizeof *w * (nvars + 1));
    if (!w)
        return -1;
    r->w = w;
    const double C = 1 / REFINE_LAMBDA, B = BIAS_FEATURE;
    const double a0 = fmin(0.001 * C, 1e-8), zmin = 1e-14 * C;
    const double lg0 = log(a0 / (C - a0));   /* a cold start's, the same for every document */
    const uint32_t *restrict var = r->var;
    const float *restrict val = r->val;
    const size_t *restrict start = r->start;
    for (size_t d = 0; d < n; d++) {
        int pos = 0;
        for (size_t k = 0; k < P->docs[d].nlabels; k++)
            pos |= P->docs[d].labels[k] == c;
        r->y[d] = pos ? 1 : -1;
    }
    fit_offset(P, r, c);
    for (int warm = P->warm_in != NULL;; warm = 0) {
        memset(w, 0, sizeof *w * (nvars + 1));
        for (size_t d = 0; d < n; d++) {
            double yd = r->y[d];
            r->o[d] = P->scale[c] * P->base[(size_t)c * n + d] + P->offset[c];
            /* a cold start, or the dual point of an earlier fit on these
             * documents (a fold starts from the whole set's) */
            double ad = a0, lg = lg0;
            if (warm) {
                ad = P->warm_in[(size_t)c * P->warm_n + P->warm_index[d]];
                if (!(ad >= a0)) ad = a0;
                if (!(ad <= C - a0)) ad = C - a0;
                lg = log(ad / (C - ad));
            }
            double q = B * B;
            for (size_t j = start[d]; j < start[d + 1]; j++) {
                q += (double)val[j] * val[j];
                w[var[j]] += yd * ad * val[j];
            }
            w[nvars] += yd * ad * B;
            r->qdiag[d] = q;
            r->alpha[2 * d] = ad;
            r->alpha[2 * d + 1] = C - ad;
            r->lg[d] = lg;
            r->order[d] = (uint32_t)d;
        }
        if (!warm || !P->warm_check)
            break;
        /* A point recovered from a model's scores is the optimum's only
         * when that fit converged: elsewhere the weights it makes are
         * the error times C |x|^2, far off (the mean gradient in the
         * hundreds, against under 0.3 where the fit had converged).  Such
         * a label starts cold, as a retrain does. */
        double gsum = 0;
        for (size_t d = 0; d < n; d++) {
            double wx = w[nvars] * B + r->o[d];
            for (size_t j = start[d]; j < start[d + 1]; j++)
                wx += w[var[j]] * val[j];
            gsum += fabs(r->y[d] * wx + r->lg[d]);
        }
        if (gsum <= WARM_MAX_GRADIENT * (double)n)
            break;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ ((uint64_t)c * 0xbf58476d1ce4e5b9ull);
    const double eps = EPS;
    double innereps = 1e-2, innereps_min = fmin(1e-8, eps);
    /* Shrinking: a document the model puts far on its own side (its
     * dual variable near zero) leaves the passes; once the others have
     * converged, one pass over every document checks that none came back
     * into play, else all of them are taken up again. */
    size_t active = n;
    int full = 1;
    for (int epoch = 0; epoch < P->max_epochs; epoch++) {
        size_t na = active;
        for (size_t i = na; i > 1; i--) {
            size_t j = (size_t)(((next_rand(&seed) >> 32) * (uint64_t)i) >> 32);
            uint32_t tmp = r->order[i - 1];
            r->order[i - 1] = r->order[j];
            r->order[j] = tmp;
        }
        double gmax = 0;
        size_t newton = 0;
        for (size_t s = 0; s < na; s++) {
            size_t d = r->order[s];
            double yd = r->y[d];
            double wx = row_dot(w, var, val, start[d], start[d + 1]) + (w[nvars] * B + r->o[d]);
            double a = r->qdiag[d], b = yd * wx;
            size_t i1 = 2 * d, i2 = 2 * d + 1;
            double sign = 1;
            if (0.5 * a * (r->alpha[i2] - r->alpha[i1]) + b < 0) {
                i1 = 2 * d + 1;
                i2 = 2 * d;
                sign = -1;
            }
            double old = r->alpha[i1], z = old;
            /* the dual's gradient at the current point: what convergence
             * is judged by (a document the offset alone puts far on its
             * side sits at the floor, nothing left to gain) */
            double lz = sign > 0 ? r->lg[d] : -r->lg[d];   /* log(z / (C - z)) */
            double g0 = sign * b + lz, gp = g0;
            if (fabs(g0) > gmax && !(z <= zmin && g0 > 0))
                gmax = fabs(g0);
            if (C - z < 0.5 * C) {
                z *= 0.1;
                lz = log(z / (C - z));
                gp = a * (z - old) + sign * b + lz;
            }
            /* the steps are a chain of dependent divisions and logs: one
             * division, 1 / (z (C - z)), gives both the curvature
             * C / (z (C - z)) and the log's z / (C - z) */
            int inner = 0;
            double rz = 0;
            while (inner <= 100 && fabs(gp) >= innereps) {
                if (inner == 0)
                    rz = 1 / ((C - z) * z);
                double gpp = a + C * rz;
                double nz = z - gp / gpp;
                z = nz <= 0 ? z * 0.1 : nz;
                if (z < zmin)
                    z = zmin;
                if (!(z < C - zmin))   /* stay inside (0, C), NaN included */
                    z = C - zmin;
                rz = 1 / ((C - z) * z);
                lz = log(z * z * rz);
                gp = a * (z - old) + sign * b + lz;
                inner++;
                newton++;
                if (z <= zmin && gp > 0)
                    break;
            }
            if (epoch > 0 && r->alpha[2 * d] < SHRINK * C && b > 0) {
                /* far on its side: out of the passes until the check */
                r->order[s] = r->order[--na];
                r->order[na] = (uint32_t)d;
                s--;
            }
            if (inner > 0) {
                r->alpha[i1] = z;
                r->alpha[i2] = C - z;
                r->lg[d] = sign > 0 ? lz : -lz;
                double step = sign * (z - old) * yd;
                for (size_t j = start[d], e = start[d + 1]; j < e; j++)
                    w[var[j]] += step * val[j];
                w[nvars] += step * B;
            }
        }
        int was_full = full;
        active = na;
        full = 0;
        if (gmax < eps) {
            if (was_full)
                break;
            active = P->n;   /* the check: a pass over every document */
            full = 1;
        }
        if (newton <= P->n / 10)
            innereps = fmax(innereps_min, 0.1 * innereps);
    }
    for (uint32_t k = 0; k < nvars; k++)
        P->u[P->label_posts[pfrom + k]] = w[k];
    P->bias[c] = w[nvars] * B + P->offset[c];
    if (P->warm_out)
        for (size_t d = 0; d < n; d++)
            P->warm_out[(size_t)c * n + d] = r->alpha[2 * d];
    return 0;
nomem:
    for (uint32_t k = 0; k < nvars; k++)
        r->local[term_of_post[P->label_posts[pfrom + k]]] = -1;
    return -1;
}

static void *worker(void *arg)
{
    problem *P = arg;
    rows r;
    int ok = rows_init(&r, P) == 0;
    for (;;) {
        pthread_mutex_lock(&P->mu);
        if (!ok)
            P->failed = 1;
        uint32_t c = !P->failed && P->next < P->v->nlabels ? P->order[P->next++] : UINT32_MAX;
        pthread_mutex_unlock(&P->mu);
        if (c == UINT32_MAX)
            break;
        ok = solve_label(P, &r, c, P->term_of_post) == 0;
        pthread_mutex_lock(&P->mu);
        P->done++;
        if (P->progress && P->first)
            P->progress(P->stage, (double)P->done / P->v->nlabels, P->ud);
        pthread_mutex_unlock(&P->mu);
    }
    rows_free(&r);
    return NULL;
}

int nb_threads(void)
{
    /* COPYDESK_TRAIN_THREADS: fewer (tests compare models trained on one
     * thread and on several: the same bytes) */
    const char *e = getenv("COPYDESK_TRAIN_THREADS");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (e && *e) {
        long k = strtol(e, NULL, 10);
        if (k >= 1 && k < n)
            n = k;
    }
    return n < 1 ? 1 : n > NB_MAX_THREADS ? NB_MAX_THREADS : (int)n;
}

static void problem_free(problem *P)
{
    free(P->base);
    free(P->label_posts);
    free(P->label_start);
    free(P->term_of_post);
    free(P->u);
    free(P->bias);
    free(P->scale);
    free(P->offset);
    free(P->order);
    free(P->ff);
    free(P->ff_start);
    free(P->row_of);
    free(P->rows);
}

/* problem_init's label order: postings descending, then label id. */
typedef struct label_size { size_t posts; uint32_t label; } label_size;
static int by_postings(const void *a, const void *b)
{
    const label_size *x = a, *y = b;
    if (x->posts != y->posts)
        return x->posts > y->posts ? -1 : 1;
    return (x->label > y->label) - (x->label < y->label);
}

static int problem_init(problem *P, nb_view *v, const refine_doc *docs, size_t n)
{
    uint32_t L = v->nlabels;
    memset(P, 0, sizeof *P);
    P->v = v;
    P->docs = docs;
    P->n = n;
    P->base = malloc(sizeof *P->base * (n ? n : 1) * L);
    P->label_posts = malloc(sizeof *P->label_posts * (v->nposts ? v->nposts : 1));
    P->label_start = calloc((size_t)L + 2, sizeof *P->label_start);
    P->term_of_post = malloc(sizeof *P->term_of_post * (v->nposts ? v->nposts : 1));
    P->u = calloc(v->nposts ? v->nposts : 1, sizeof *P->u);
    P->bias = calloc(L ? L : 1, sizeof *P->bias);
    P->scale = calloc(L ? L : 1, sizeof *P->scale);
    P->offset = calloc(L ? L : 1, sizeof *P->offset);
    if (!P->base || !P->label_posts || !P->label_start || !P->term_of_post || !P->u || !P->bias ||
        !P->scale || !P->offset)
        return -1;
    /* the postings grouped by label (a counting sort) */
    for (uint32_t p = 0; p < v->nposts; p++)
        P->label_start[v->posts[p].label + 2]++;
    for (uint32_t c = 0; c < L; c++)
        P->label_start[c + 2] += P->label_start[c + 1];
    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        for (uint32_t k = 0; k < T->post_n; k++) {
            uint32_t p = T->post_off + k;
            P->term_of_post[p] = t;
            P->label_posts[P->label_start[v->posts[p].label + 1]++] = p;
        }
    }
    /* dense rows for the base scores: terms with postings for at least a
     * third of the labels */
    P->row_of = malloc(sizeof *P->row_of * (v->nterms ? v->nterms : 1));
    if (!P->row_of)
        return -1;
    uint32_t nrows = 0;
    for (uint32_t t = 0; t < v->nterms; t++)
        P->row_of[t] = L >= 8 && 3 * (uint64_t)v->terms[t].post_n >= L ? nrows++ : UINT32_MAX;
    P->rows = calloc((size_t)(nrows ? nrows : 1) * L, sizeof *P->rows);
    if (!P->rows)
        return -1;
    for (uint32_t t = 0; t < v->nterms; t++) {
        if (P->row_of[t] == UINT32_MAX)
            continue;
        float *r = P->rows + (size_t)P->row_of[t] * L;
        for (uint32_t k = 0; k < v->terms[t].post_n; k++)
            r[v->posts[v->terms[t].post_off + k].label] = v->posts[v->terms[t].post_off + k].delta;
    }
    /* the features as floats once, not once per label */
    size_t nf = 0;
    P->ff_start = malloc(sizeof *P->ff_start * (n + 1));
    if (!P->ff_start)
        return -1;
    for (size_t d = 0; d < n; d++) {
        P->ff_start[d] = nf;
        nf += docs[d].n;
    }
    P->ff_start[n] = nf;
    P->ff = malloc(sizeof *P->ff * (nf ? nf : 1));
    if (!P->ff)
        return -1;
    for (size_t d = 0; d < n; d++)
        for (size_t i = 0; i < docs[d].n; i++)
            P->ff[P->ff_start[d] + i] = (float)docs[d].f[i];
    label_size *ls = malloc(sizeof *ls * (L ? L : 1));
    P->order = malloc(sizeof *P->order * (L ? L : 1));
    if (!ls || !P->order) {
        free(ls);
        return -1;
    }
    for (uint32_t c = 0; c < L; c++) {
        ls[c].posts = P->label_start[c + 1] - P->label_start[c];
        ls[c].label = c;
    }
    qsort(ls, L, sizeof *ls, by_postings);
    for (uint32_t c = 0; c < L; c++)
        P->order[c] = ls[c].label;
    free(ls);
    return 0;
}

/* The naive Bayes scores of documents [from, to), by label. */
typedef struct base_part {
    problem *P;
    size_t from, to;
    int failed;
} base_part;

static void *base_worker(void *arg)
{
    base_part *b = arg;
    const problem *P = b->P;
    uint32_t L = P->v->nlabels;
    double *row = malloc(sizeof *row * (L ? L : 1) * BASE_BLOCK);
    if (!row) {
        b->failed = 1;
        return NULL;
    }
    /* scored a block of documents at a time, each block's rows then
     * stored by label: the stores run along P->base, not across it */
    for (size_t from = b->from; from < b->to; from += BASE_BLOCK) {
        size_t to = from + BASE_BLOCK < b->to ? from + BASE_BLOCK : b->to;
        for (size_t d = from; d < to; d++)
            nb_score_features_rows(P->v, P->row_of, P->rows, P->docs[d].terms, P->docs[d].f,
                                   P->docs[d].n, row + (d - from) * L);
        for (uint32_t c = 0; c < L; c++) {
            double *out = P->base + (size_t)c * P->n;
            for (size_t d = from; d < to; d++)
                out[d] = row[(d - from) * L + c];
        }
    }
    free(row);
    return NULL;
}

void nb_on_threads(void *(*fn)(void *), void *arg, size_t size, int threads)
{
    pthread_t tid[NB_MAX_THREADS];
    int started[NB_MAX_THREADS] = { 0 };
    for (int i = 1; i < threads; i++)
        started[i] = pthread_create(&tid[i], NULL, fn, (char *)arg + (size_t)i * size) == 0;
    fn(arg);
    for (int i = 1; i < threads; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else if (size)
            fn((char *)arg + (size_t)i * size);   /* its share, here */
    }
}

int nb_refine(nb_view *v, const refine_doc *docs, size_t n, int iterations)
{
    return nb_refine_warm(v, docs, n, iterations, NULL, NULL, NULL, NULL);
}

int nb_refine_warm(nb_view *v, const refine_doc *docs, size_t n, int iterations,
                   refine_warm *warm, cd_progress_fn progress, const char *stage, void *ud)
{
    uint32_t L = v->nlabels;
    problem P;
    if (problem_init(&P, v, docs, n)) {
        problem_free(&P);
        return -1;
    }
    if (warm) {
        P.warm_in = warm->in;
        P.warm_index = warm->index;
        P.warm_n = warm->n;
        P.warm_out = warm->out;
        P.warm_check = warm->check;
    }
    P.max_epochs = iterations;
    P.progress = progress;
    P.stage = stage;
    P.ud = ud;
    P.first = 1;
    for (uint32_t c = 0; c < L; c++) {
        v->labels[c].scale = 1;
        v->labels[c].bias = 0;
    }
    pthread_mutex_init(&P.mu, NULL);
    int threads = nb_threads();
    base_part parts[NB_MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        parts[i].P = &P;
        parts[i].from = n * (size_t)i / (size_t)threads;
        parts[i].to = n * (size_t)(i + 1) / (size_t)threads;
        parts[i].failed = 0;
    }
    nb_on_threads(base_worker, parts, sizeof parts[0], threads);
    for (int i = 0; i < threads; i++)
        P.failed |= parts[i].failed;
    if (!P.failed)
        nb_on_threads(worker, &P, 0, threads);
    pthread_mutex_destroy(&P.mu);
    if (P.failed) {
        problem_free(&P);
        return -1;
    }
    for (uint32_t p = 0; p < v->nposts; p++)
        v->posts[p].delta += (float)(P.u[p] / P.scale[v->posts[p].label]);
    for (uint32_t c = 0; c < L; c++) {
        v->labels[c].scale = P.scale[c];
        v->labels[c].bias = P.bias[c];
    }
    problem_free(&P);
    return 0;
}
