/*
 * refine.h - discriminative refinement of multi-label naive Bayes weights.
 *
 * Naive Bayes ranks documents well within a label's own vocabulary but
 * weighs correlated words as if independent.  Refinement keeps the naive
 * Bayes model as a prior and fits, per label, a logistic regression that
 * starts from it and is pulled back towards it:
 *
 *   s_c(d) = b_c + scale * nb_c(d) + sum_{w in d, c in S(w)} f_w u_cw
 *   minimize  sum_c sum_d logloss(s_c(d), y_cd)  +  lambda/2 * sum u_cw^2
 *
 * where nb_c(d) is the naive Bayes score (nb.h) and the corrections u_cw
 * live only on the (term, label) pairs seen in training, so the refined
 * model keeps the sparse form of nb.h: u_cw / scale is added to delta_cw.
 * Each label's problem is solved to convergence by dual coordinate
 * descent (refine.c), on the machine's cores in parallel.
 */
#ifndef CD_REFINE_H
#define CD_REFINE_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk/model.h"
#include "model/nb.h"

#define REFINE_SCALE 0.3    /* the naive Bayes weights' share of the start point */
#define REFINE_LAMBDA 0.03  /* pull of the corrections towards zero */

/* The training documents, as features of the view being refined. */
typedef struct refine_doc {
    const uint32_t *terms;   /* distinct term ids (features 0 left out) */
    const double *f;         /* their features */
    size_t n;
    const uint32_t *labels;  /* label ids of the document */
    size_t nlabels;
} refine_doc;

/* Refine the weights of v in place (labels' bias and scale, postings'
 * delta) on n documents, for at most iterations passes over them per
 * label (the solver stops earlier once converged).  Returns 0, or -1 when
 * out of memory (v is then unchanged). */
int nb_refine(nb_view *v, const refine_doc *docs, size_t n, int iterations);

/* Where the solver starts and what it leaves (both may be NULL): the dual
 * variables of each label and document, L x n by label.  A fit on a
 * subset of the documents (a fold) converges faster from the whole set's
 * point: in gets that, index[d] the place of document d in it, n its
 * documents.  out (L x the documents refined) gets the point reached. */
typedef struct refine_warm {
    const double *in;
    const uint32_t *index;
    size_t n;
    double *out;
    int check;      /* in was recovered from a model's scores, not left by a
                       fit: a label whose point is far off starts cold */
} refine_warm;

/* nb_refine with a warm start (warm may be NULL), reporting the share of
 * labels done to progress (may be NULL) under the name stage. */
int nb_refine_warm(nb_view *v, const refine_doc *docs, size_t n, int iterations,
                   refine_warm *warm, cd_progress_fn progress, const char *stage, void *ud);

/* The threads training uses: the machine's cores, at most
 * NB_MAX_THREADS (fewer when COPYDESK_TRAIN_THREADS says so).  Whatever
 * their number, a model comes out the same: work is split into pieces
 * whose results do not depend on which thread made them. */
#define NB_MAX_THREADS 8
int nb_threads(void);

/* fn on threads threads, the i-th given arg + i * size; this thread takes
 * the first, and the share of any thread that cannot start. */
void nb_on_threads(void *(*fn)(void *), void *arg, size_t size, int threads);

#endif
