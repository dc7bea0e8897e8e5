/*
 * calibrate.c - how a model learns what its scores mean.
 *
 * The trainer keeps each text it was given as a short list of (term id,
 * frequency) pairs.  For each of K folds (the texts of each label dealt to
 * the folds in turn) it takes the fold's counts out of the model, computes
 * the weights from what is left (refined, for multi-label complement
 * models), scores the fold and puts the counts back.  From those held-out
 * scores it fits the softmax temperature (single-label) or, per label, a
 * sigmoid (Platt scaling) and the probability threshold that maximizes F1
 * (SCut, with the fbr rule for labels the folds cannot learn).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/refine.h"
#include "model/trainer_internal.h"

/* Labels with fewer held-out positives keep their earlier calibration. */
#define MIN_POSITIVES 1
/* A label whose best held-out F1 is lower than this is assigned only to
 * texts that score above every held-out text. */
#define FBR_MIN_F1 0.2
/* The F1-optimal threshold of a calibrated probability is about half the
 * F1 it reaches (Lipton et al. 2014).  A label held out on a handful of
 * stories can find a threshold near zero by luck, and then goes to
 * stories of any kind: a threshold is kept at least this share of the
 * label's held-out F1 (half the optimum), and labels the folds could not
 * learn need a probability of 0.5. */
#define THRESHOLD_FLOOR 0.25
/* Passes over the stories a fold's refinement may take: it starts from
 * the whole set's point, and the calibration needs its scores, not its
 * optimum. */
#define FOLD_PASSES 5

/* Refinement needs every document the counts hold: after training further
 * from a model, only plain naive Bayes weights are computed. */
int tr_refining(const cd_trainer *t, const nb_params *P)
{
    return P->multilabel && P->nb.kind == CD_NB_COMPLEMENT && P->nb.refine > 0 &&
           (double)t->docs.n == t->params.docs;
}

typedef struct refine_set {
    refine_doc *docs;
    uint32_t *terms;
    double *f;
    uint32_t *index;         /* the stored text of each document */
    size_t n;
} refine_set;

static void refine_set_free(refine_set *r)
{
    free(r->docs);
    free(r->index);
    free(r->terms);
    free(r->f);
}

/* The stored documents outside fold skip (all when fold is NULL), as
 * features of view v; features that vanish (left-out terms) are dropped. */
static int refine_set_build(const cd_trainer *t, const nb_view *v, const uint32_t *fold,
                            uint32_t skip, refine_set *r)
{
    const stored_docs *d = &t->docs;
    memset(r, 0, sizeof *r);
    r->docs = malloc(sizeof *r->docs * (d->n + 1));
    r->terms = malloc(sizeof *r->terms * (d->len + 1));
    r->f = malloc(sizeof *r->f * (d->len + 1));
    r->index = malloc(sizeof *r->index * (d->n + 1));
    if (!r->docs || !r->terms || !r->f || !r->index)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (fold && fold[i] == skip)
            continue;
        nb_doc doc = { d->terms + d->start[i], d->tf + d->start[i], d->start[i + 1] - d->start[i] };
        nb_features(v, &doc, r->f + at);
        r->index[r->n] = (uint32_t)i;
        refine_doc *rd = &r->docs[r->n++];
        rd->terms = r->terms + at;
        rd->f = r->f + at;
        rd->n = 0;
        for (size_t j = 0; j < doc.n; j++) {
            if (r->f[at + j] == 0)
                continue;
            r->terms[at + rd->n] = doc.terms[j];
            r->f[at + rd->n] = r->f[at + j];
            rd->n++;
        }
        rd->labels = d->labels + d->label_start[i];
        rd->nlabels = d->label_start[i + 1] - d->label_start[i];
        at += doc.n;
    }
    return 0;
}

int tr_refine_view(const cd_trainer *t, nb_view *v, const uint32_t *fold, uint32_t skip,
                   const double *warm_in, double *warm_out, cd_progress_fn progress,
                   const char *stage, void *ud)
{
    refine_set r;
    int rc = refine_set_build(t, v, fold, skip, &r);
    if (!rc) {
        refine_warm w = { warm_in, r.index, t->docs.n, warm_out, !fold };
        /* A fold starts from the whole set's point, a model given
         * corrections from its own: a few passes take them to where the
         * calibration or the correction needs them. */
        int passes = (int)v->params->nb.refine;
        if (fold && passes > FOLD_PASSES)
            passes = FOLD_PASSES;
        rc = nb_refine_warm(v, r.docs, r.n, passes, &w, progress, stage, ud);
    }
    refine_set_free(&r);
    return rc;
}

nb_post *tr_find_posting(const nb_view *v, uint32_t w, uint32_t c)
{
    nb_post *p = v->posts + v->terms[w].post_off;
    uint32_t lo = 0, hi = v->terms[w].post_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p[mid].label < c) lo = mid + 1; else hi = mid;
    }
    return lo < v->terms[w].post_n && p[lo].label == c ? &p[lo] : NULL;
}

/* Take stored document i's contribution out of the counts in v. */
static void subtract_doc(const cd_trainer *t, nb_view *v, nb_params *P, size_t i, double *f)
{
    const stored_docs *d = &t->docs;
    size_t n = d->start[i + 1] - d->start[i];
    const uint32_t *terms = d->terms + d->start[i];
    double sum;
    tr_features(P, d->tf + d->start[i], n, f, &sum);
    for (size_t j = 0; j < n; j++) {
        nb_term *T = &v->terms[terms[j]];
        T->df -= 1;
        T->total -= f[j];
        for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++) {
            nb_post *p = tr_find_posting(v, terms[j], d->labels[k]);
            if (p)
                p->count -= f[j];
        }
    }
    for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++) {
        v->labels[d->labels[k]].docs -= 1;
        v->labels[d->labels[k]].mass -= sum;
    }
    P->docs -= 1;
    P->mass -= sum;
}

typedef struct cv_work {
    nb_params params;
    nb_view view;
    uint32_t *terms, *tf;   /* one held-out doc, unseen terms dropped */
    double *f;
} cv_work;

static int cv_work_init(cv_work *w, const compiled *full, size_t max_doc_terms)
{
    memset(w, 0, sizeof *w);
    const nb_view *v = &full->view;
    w->view = *v;
    w->view.params = &w->params;
    w->view.labels = malloc(sizeof(nb_label) * (v->nlabels ? v->nlabels : 1));
    w->view.terms = malloc(sizeof(nb_term) * (v->nterms ? v->nterms : 1));
    w->view.posts = malloc(sizeof(nb_post) * (v->nposts ? v->nposts : 1));
    w->terms = malloc(sizeof *w->terms * (max_doc_terms + 1));
    w->tf = malloc(sizeof *w->tf * (max_doc_terms + 1));
    w->f = malloc(sizeof *w->f * (max_doc_terms + 1));
    return w->view.labels && w->view.terms && w->view.posts && w->terms && w->tf && w->f ? 0 : -1;
}

static void cv_work_free(cv_work *w)
{
    free(w->view.labels);
    free(w->view.terms);
    free(w->view.posts);
    free(w->terms);
    free(w->tf);
    free(w->f);
}

static void cv_reset(cv_work *w, const compiled *full)
{
    const nb_view *v = &full->view;
    w->params = full->params;
    memcpy(w->view.labels, v->labels, sizeof(nb_label) * v->nlabels);
    memcpy(w->view.terms, v->terms, sizeof(nb_term) * v->nterms);
    memcpy(w->view.posts, v->posts, sizeof(nb_post) * v->nposts);
}

/* Score stored document i with the fold model in w, as classification
 * would: terms the fold model never saw are left out. */
static void cv_score_doc(const cd_trainer *t, cv_work *w, size_t i, double *scores)
{
    const stored_docs *d = &t->docs;
    nb_doc doc = { w->terms, w->tf, 0 };
    for (size_t j = d->start[i]; j < d->start[i + 1]; j++) {
        if (w->view.terms[d->terms[j]].df <= 0.5)
            continue;
        w->terms[doc.n] = d->terms[j];
        w->tf[doc.n] = d->tf[j];
        doc.n++;
    }
    nb_score(&w->view, &doc, w->f, scores);
}

/* Fold of each stored document, stratified by its first label: the
 * documents of each label are dealt to the folds in turn, so that every
 * fold sees every label in proportion.  They are dealt in the order of a
 * hash of their ids, from a fold chosen by a hash of the label's name:
 * the folds depend on which stories there are, not on the order they came
 * in, so a model given corrections is calibrated on the folds a retrain on
 * the same stories would use. */
typedef struct fold_key {
    uint64_t key;
    uint32_t label;
    uint32_t doc;
} fold_key;

static int by_label_key(const void *a, const void *b)
{
    const fold_key *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

static uint32_t *assign_folds(const cd_trainer *t, uint32_t K)
{
    const stored_docs *d = &t->docs;
    uint32_t *fold = malloc(sizeof *fold * (d->n + 1));
    fold_key *keys = malloc(sizeof *keys * (d->n + 1));
    if (!fold || !keys) {
        free(fold);
        free(keys);
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++) {
        keys[i].label = d->labels[d->label_start[i]];
        keys[i].doc = (uint32_t)i;
        /* a story without an id keeps its place in the input */
        keys[i].key = d->id && d->id[i] != UINT32_MAX ? t->ids.hashes[d->id[i]]
                                                      : 0x9e3779b97f4a7c15ull * (i + 1);
    }
    qsort(keys, d->n, sizeof *keys, by_label_key);
    uint32_t next = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (i == 0 || keys[i].label != keys[i - 1].label)
            next = (uint32_t)(t->label_vocab.hashes[keys[i].label] % K);  /* labels start on different folds */
        fold[keys[i].doc] = next;
        next = (next + 1) % K;
    }
    free(keys);
    return fold;
}

/* A fold's refinement reports its share of the whole calibration. */
typedef struct fold_progress {
    cd_progress_fn fn;
    void *ud;
    uint32_t k, K;
} fold_progress;

static void on_fold_progress(const char *stage, double fraction, void *ud)
{
    const fold_progress *fp = ud;
    fp->fn(stage, (fp->k + fraction) / fp->K, fp->ud);
}

/* Fold k's model in w: the whole set's counts without the fold's
 * documents, and the weights they give (refined later, by the caller). */
static void fold_prepare(const cd_trainer *t, const compiled *full, const uint32_t *fold,
                         uint32_t k, cv_work *w)
{
    const stored_docs *d = &t->docs;
    cv_reset(w, full);
    for (size_t i = 0; i < d->n; i++)
        if (fold[i] == k)
            subtract_doc(t, &w->view, &w->params, i, w->f);
    nb_compute_weights(&w->view);
}

/* Held-out scores of fold k's documents, from its model in w. */
static void fold_score(const cd_trainer *t, const uint32_t *fold, uint32_t k, cv_work *w,
                       double *scores)
{
    const stored_docs *d = &t->docs;
    uint32_t L = w->view.nlabels;
    for (size_t i = 0; i < d->n; i++)
        if (fold[i] == k)
            cv_score_doc(t, w, i, scores + i * L);
}

/* While fold k is refined (on every core), another thread scores fold
 * k - 1 and prepares fold k + 1: what the folds do one at a time would
 * otherwise leave the other cores idle.  Each fold's work is the same
 * whichever thread does it. */
typedef struct fold_ahead {
    const cd_trainer *t;
    const compiled *full;
    const uint32_t *fold;
    double *scores;
    cv_work *w;              /* fold k - 1's, then fold k + 1's */
    uint32_t score, prepare; /* the folds, UINT32_MAX for none */
} fold_ahead;

static void *fold_ahead_run(void *arg)
{
    fold_ahead *a = arg;
    if (a->score != UINT32_MAX)
        fold_score(a->t, a->fold, a->score, a->w, a->scores);
    if (a->prepare != UINT32_MAX)
        fold_prepare(a->t, a->full, a->fold, a->prepare, a->w);
    return NULL;
}

/* Held-out scores of every stored document (rows of nlabels). */
static int cross_validate(const cd_trainer *t, const compiled *full, uint32_t K, double *scores,
                          const double *warm, cd_progress_fn progress, void *ud)
{
    const stored_docs *d = &t->docs;
    size_t max_terms = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->start[i + 1] - d->start[i] > max_terms)
            max_terms = d->start[i + 1] - d->start[i];
    uint32_t *fold = assign_folds(t, K);
    cv_work w[2];
    int nw = 0;
    if (fold && cv_work_init(&w[0], full, max_terms) == 0) {
        nw = 1;
        /* a second fold model, for the thread that works ahead, when the
         * folds are refined (the long part) */
        if (tr_refining(t, &full->params) && nb_threads() > 1) {
            if (cv_work_init(&w[1], full, max_terms) == 0)
                nw = 2;
            else
                cv_work_free(&w[1]);
        }
    } else {
        if (fold)
            cv_work_free(&w[0]);
        free(fold);
        return -1;
    }
    fold_progress fp = { progress, ud, 0, K };
    int rc = 0;
    if (nw == 2)
        fold_prepare(t, full, fold, 0, &w[0]);
    for (uint32_t k = 0; k < K && !rc; k++) {
        if (progress)
            progress("calibrating", (double)k / K, ud);
        fp.k = k;
        cv_work *cur = &w[nw == 2 ? k % 2 : 0];
        fold_ahead ahead = { t, full, fold, scores, &w[(k + 1) % 2],
                             k > 0 ? k - 1 : UINT32_MAX, k + 1 < K ? k + 1 : UINT32_MAX };
        pthread_t tid;
        int started = 0;
        if (nw == 2)
            started = pthread_create(&tid, NULL, fold_ahead_run, &ahead) == 0;
        else
            fold_prepare(t, full, fold, k, cur);
        if (tr_refining(t, &cur->params) &&
            tr_refine_view(t, &cur->view, fold, k, warm, NULL, progress ? on_fold_progress : NULL,
                           "calibrating", &fp))
            rc = -1;
        if (nw == 2) {
            if (started)
                pthread_join(tid, NULL);
            else
                fold_ahead_run(&ahead);
        } else {
            fold_score(t, fold, k, cur, scores);
        }
    }
    if (!rc && nw == 2)
        fold_score(t, fold, K - 1, &w[(K - 1) % 2], scores);
    if (progress && !rc)
        progress("calibrating", 1.0, ud);
    for (int i = 0; i < nw; i++)
        cv_work_free(&w[i]);
    free(fold);
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, size_t n, double dflt)
{
    if (!n)
        return dflt;
    qsort(x, n, sizeof *x, cmp_dbl);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* Per-label sigmoid and F1-optimal threshold from held-out scores: the
 * labels are independent, and the threads take them in turn, each label's
 * fit its own (the same whatever thread made it). */
typedef struct multi_job {
    const cd_trainer *t;
    compiled *full;
    const double *scores;
    uint8_t *done;            /* L: calibrated (here, or carried over) */
    uint8_t *fitted;          /* L: fitted here */
    pthread_mutex_t mu;
    uint32_t next;
    int failed;
} multi_job;

/* Fit label c; s, p, y are scratch of the stored texts.  -1 when out of
 * memory. */
static int calibrate_label(multi_job *j, uint32_t c, double *s, double *p, uint8_t *y)
{
    const stored_docs *d = &j->t->docs;
    uint32_t L = j->full->view.nlabels;
    size_t n = d->n;
    nb_label *l = &j->full->view.labels[c];
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = j->scores[i * L + c];
        y[i] = 0;
        for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++)
            y[i] |= d->labels[k] == c;
        pos += y[i];
    }
    if (pos < MIN_POSITIVES) {
        j->done[c] = j->t->calibrated[c];
        return 0;
    }
    if (nb_fit_platt(s, y, n, &l->platt_a, &l->platt_b))
        return -1;
    for (size_t i = 0; i < n; i++)
        p[i] = 1 / (1 + exp(-(l->platt_a * s[i] + l->platt_b)));
    double f1, top = 0;
    l->threshold = nb_best_threshold(p, y, n, &f1);
    /* SCut.fbr (Yang 2001): a label the folds could not learn keeps
     * out of the way of the others unless a text outscores them all. */
    if (f1 < FBR_MIN_F1) {
        for (size_t i = 0; i < n; i++)
            if (p[i] > top)
                top = p[i];
        l->threshold = top;
    }
    /* A threshold the folds set low (a label they could not learn,
     * or whose best F1 is low) would hand the label to stories of
     * any kind: no label is given below this probability. */
    if (l->threshold < THRESHOLD_FLOOR * f1 || f1 < FBR_MIN_F1)
        l->threshold = fmax(l->threshold, f1 < FBR_MIN_F1 ? 0.5 : THRESHOLD_FLOOR * f1);
    j->fitted[c] = 1;
    j->done[c] = 1;
    return 0;
}

static void *multi_worker(void *arg)
{
    multi_job *j = arg;
    size_t n = j->t->docs.n;
    double *s = malloc(sizeof *s * (n + 1)), *p = malloc(sizeof *p * (n + 1));
    uint8_t *y = malloc(n + 1);
    int ok = s && p && y;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (!ok)
            j->failed = 1;
        uint32_t c = !j->failed && j->next < j->full->view.nlabels ? j->next++ : UINT32_MAX;
        pthread_mutex_unlock(&j->mu);
        if (c == UINT32_MAX)
            break;
        if (calibrate_label(j, c, s, p, y))
            ok = 0;
    }
    free(s); free(p); free(y);
    return NULL;
}

static int calibrate_multi(const cd_trainer *t, compiled *full, const double *scores, int threads)
{
    uint32_t L = full->view.nlabels;
    multi_job j = { t, full, scores, calloc(L ? L : 1, 1), calloc(L ? L : 1, 1),
                    PTHREAD_MUTEX_INITIALIZER, 0, 0 };
    double *as = malloc(sizeof *as * (L ? L : 1)), *bs = malloc(sizeof *bs * (L ? L : 1));
    if (!j.done || !j.fitted || !as || !bs) {
        free(j.done); free(j.fitted); free(as); free(bs);
        return -1;
    }
    nb_on_threads(multi_worker, &j, 0, threads);
    pthread_mutex_destroy(&j.mu);
    size_t nfit = 0;
    for (uint32_t c = 0; c < L; c++)
        if (j.fitted[c]) {
            as[nfit] = full->view.labels[c].platt_a;
            bs[nfit] = full->view.labels[c].platt_b;
            nfit++;
        }
    /* Labels with no held-out evidence get the typical sigmoid. */
    double a = median(as, nfit, 1), b = median(bs, nfit, 0);
    for (uint32_t c = 0; !j.failed && c < L; c++)
        if (!j.done[c]) {
            full->view.labels[c].platt_a = a;
            full->view.labels[c].platt_b = b;
            full->view.labels[c].threshold = 0.5;
        }
    int rc = j.failed ? -1 : 0;
    free(j.done); free(j.fitted); free(as); free(bs);
    return rc;
}

static int calibrate_single(const cd_trainer *t, compiled *full, const double *scores)
{
    const stored_docs *d = &t->docs;
    uint32_t *truth = malloc(sizeof *truth * (d->n + 1));
    if (!truth)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        truth[i] = d->labels[d->label_start[i]];
    full->params.temperature = nb_fit_temperature(scores, truth, d->n, full->view.nlabels);
    free(truth);
    return 0;
}

static void calibrate_defaults(compiled *full)
{
    if (!(full->params.temperature > 0))
        full->params.temperature = 1;
    for (uint32_t c = 0; c < full->view.nlabels; c++) {
        nb_label *l = &full->view.labels[c];
        if (l->platt_a == 0 && l->platt_b == 0 && l->threshold == 0) {
            l->platt_a = 1;
            l->threshold = 0.5;
        }
    }
}

/* The score of each fold's held-out texts, as the model decides: the
 * accuracy of the most probable label (single-label), or the mean of
 * micro- and macro-F1 of the labels chosen (multi-label, with the fitted
 * sigmoids and thresholds; macro over the labels the fold has or gives). */
static int fold_scores(const cd_trainer *t, const compiled *full, const double *scores,
                       uint32_t K, double *out)
{
    const stored_docs *d = &t->docs;
    uint32_t L = full->view.nlabels;
    uint32_t *fold = assign_folds(t, K);
    double *tp = calloc((size_t)L * 3 + 1, sizeof *tp);
    if (!fold || !tp) {
        free(fold);
        free(tp);
        return -1;
    }
    double *fp = tp + L, *fn = tp + 2 * L;
    for (uint32_t k = 0; k < K; k++) {
        memset(tp, 0, sizeof *tp * 3 * L);
        double right = 0, seen = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (fold[i] != k)
                continue;
            const double *s = scores + i * L;
            seen++;
            if (!full->params.multilabel) {
                uint32_t best = 0;
                for (uint32_t c = 1; c < L; c++)
                    if (s[c] > s[best])
                        best = c;
                right += best == d->labels[d->label_start[i]];
                continue;
            }
            for (uint32_t c = 0; c < L; c++) {
                const nb_label *l = &full->view.labels[c];
                int y = 0;
                for (size_t j = d->label_start[i]; j < d->label_start[i + 1]; j++)
                    y |= d->labels[j] == c;
                int chosen = 1 / (1 + exp(-(l->platt_a * s[c] + l->platt_b))) >= l->threshold;
                tp[c] += y && chosen;
                fp[c] += !y && chosen;
                fn[c] += y && !chosen;
            }
        }
        if (!full->params.multilabel) {
            out[k] = seen ? right / seen : 0;
            continue;
        }
        double TP = 0, FP = 0, FN = 0, macro = 0, nl = 0;
        for (uint32_t c = 0; c < L; c++) {
            TP += tp[c]; FP += fp[c]; FN += fn[c];
            if (tp[c] + fp[c] + fn[c] > 0) {
                macro += 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]);
                nl++;
            }
        }
        double micro = TP + FP + FN > 0 ? 2 * TP / (2 * TP + FP + FN) : 0;
        out[k] = (micro + (nl ? macro / nl : 0)) / 2;
    }
    free(fold);
    free(tp);
    return 0;
}

uint32_t tr_folds(const cd_trainer *t, const nb_params *P)
{
    uint32_t K = P->nb.cv_folds;
    if (K > t->docs.n)
        K = (uint32_t)t->docs.n;
    if (K > TR_MAX_FOLD_SCORES)
        K = TR_MAX_FOLD_SCORES;
    return K < 2 ? 0 : K;
}

int tr_cv_accuracy(const cd_trainer *t, const compiled *full, double *out)
{
    uint32_t K = tr_folds(t, &full->params), L = full->view.nlabels;
    if (!K)
        return 0;
    double *scores = malloc(sizeof *scores * (t->docs.n ? t->docs.n : 1) * L);
    int rc = !scores || cross_validate(t, full, K, scores, NULL, NULL, NULL) ||
             fold_scores(t, full, scores, K, out);
    free(scores);
    return rc ? -1 : (int)K;
}

int tr_cv_multi(const cd_trainer *t, const compiled *full, double *out)
{
    uint32_t K = tr_folds(t, &full->params), L = full->view.nlabels;
    if (!K || tr_refining(t, &full->params))
        return 0;   /* a refined setting is scored by its calibration */
    double *scores = malloc(sizeof *scores * (t->docs.n ? t->docs.n : 1) * L);
    compiled c = *full;
    c.view.params = &c.params;
    c.view.labels = malloc(sizeof *c.view.labels * (L ? L : 1));
    int rc = !scores || !c.view.labels;
    if (!rc) {
        /* the sigmoids and thresholds fitted here are this setting's: on a
         * copy of the labels */
        memcpy(c.view.labels, full->view.labels, sizeof *c.view.labels * L);
        rc = cross_validate(t, &c, K, scores, NULL, NULL, NULL) || calibrate_multi(t, &c, scores, 1) ||
             fold_scores(t, &c, scores, K, out);
    }
    free(scores);
    free(c.view.labels);
    return rc ? -1 : (int)K;
}

cd_status tr_calibrate(const cd_trainer *t, compiled *full, const double *warm,
                       double *fold_out, uint32_t *nfold_out,
                       cd_progress_fn progress, void *ud, cd_error *err)
{
    calibrate_defaults(full);
    *nfold_out = 0;
    uint32_t K = full->params.nb.cv_folds;
    if (K > t->docs.n)
        K = (uint32_t)t->docs.n;
    if (K < 2)
        return CD_OK;  /* too few texts to hold any out: defaults stay */
    uint32_t L = full->view.nlabels;
    double *scores = malloc(sizeof *scores * t->docs.n * L);
    if (!scores || cross_validate(t, full, K, scores, warm, progress, ud)) {
        free(scores);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory while calibrating");
    }
    int rc = full->params.multilabel ? calibrate_multi(t, full, scores, nb_threads())
                                     : calibrate_single(t, full, scores);
    if (!rc && K <= TR_MAX_FOLD_SCORES) {
        rc = fold_scores(t, full, scores, K, fold_out);
        *nfold_out = K;
    }
    free(scores);
    return rc ? cd_error_set(err, CD_ERR_NOMEM, "out of memory while calibrating") : CD_OK;
}

