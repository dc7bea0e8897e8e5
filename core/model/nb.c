/*
 * nb.c - naive Bayes weights, scores and calibration (see nb.h).
 *
 * Smoothed estimates, with alpha and beta the additive smoothing of a
 * label's own counts and of the others' (Rennie's complement estimate
 * wants the larger beta: rare words then cannot dominate), V the size of
 * the vocabulary kept (terms in at least min_df training documents),
 * n_cw the (transformed) count of term w in documents of label c,
 * N_c = sum_w n_cw, T_w the count of w over all documents (each counted
 * once, whatever its labels) and M = sum_w T_w:
 *
 *   theta_cw  = (n_cw + alpha) / (N_c + alpha V)              label c
 *   theta~_cw = (T_w - n_cw + beta) / (M - N_c + beta V)      all but c
 *
 * Weights w_cw per variant, split as A_c + g_w + delta_cw (nb.h):
 *
 *   multinomial          log theta_cw
 *     A_c = log alpha - log(N_c + alpha V), g_w = 0,
 *     delta = log(n + alpha) - log alpha
 *   complement, single   -log theta~_cw  (Rennie et al. 2003, argmax of -w~)
 *     A_c = log(M - N_c + beta V), g_w = -log(T_w + beta),
 *     delta = log(T_w + beta) - log(T_w - n + beta)
 *   complement, multi    log theta_cw - log theta~_cw  (one label against
 *     the rest: the log-count ratio), the sum of the two rows above.
 *
 * Weight normalization divides label c's weights by Z_c = sum_w |w_cw|
 * (Rennie's WCNB), which keeps labels with much training text from
 * dominating single-label decisions (multi-label models calibrate each
 * label on its own, which makes it moot there).  Z_c needs
 * sum_w |A_c + g_w| over the whole vocabulary; with the g_w sorted and
 * prefix sums that is a binary search per label.
 *
 * Multi-label complement models are then refined (refine.h), and
 * single-label scores are divided by the root of the text's mass before
 * the softmax (see nb_score_features).
 *
 * Probabilities: single-label models use a softmax of the scores with a
 * temperature fitted on held-out folds; multi-label models map each score
 * through a per-label sigmoid fitted on held-out folds (Platt scaling) and
 * choose labels whose probability reaches a per-label threshold (SCut).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model/nb.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* The two halves of every weight, smoothed with alpha (a label's own
 * counts) and beta (the counts of all other labels). */
static double posting_delta(const nb_params *P, double alpha, double log_alpha, double beta,
                            double n, double T, double log_tb)
{
    /* log(alpha) and log(T + beta) (log_tb) come from the caller, taken
     * once, not once per posting; only the halves the variant uses are
     * computed */
    int multi = P->nb.kind == CD_NB_MULTINOMIAL, both = !multi && P->multilabel;
    double lab = multi || both ? log(n + alpha) - log_alpha : 0;
    if (multi)
        return lab;
    double rest = T - n > 0 ? T - n : 0;
    double comp = log_tb - log(rest + beta);
    return both ? lab + comp : comp;
}

static double label_A(const nb_params *P, double alpha, double beta, double V, double Nc)
{
    double rest = P->mass - Nc > 0 ? P->mass - Nc : 0;
    double lab = log(alpha) - log(Nc + alpha * V);
    double comp = log(rest + beta * V);
    if (P->nb.kind == CD_NB_MULTINOMIAL)
        return lab;
    return P->multilabel ? lab + comp : comp;
}

static double label_bias(const nb_params *P, double docs_c, uint32_t L)
{
    if (P->multilabel)
        return log((docs_c + 1) / (P->docs - docs_c + 1));
    if (P->nb.kind == CD_NB_MULTINOMIAL && !P->nb.weight_norm)
        return log((docs_c + 1) / (P->docs + L));
    return 0;  /* Rennie drops the prior: it does not fit normalized weights */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sum_w |A + g_w| with g sorted ascending and prefix[i] = g[0] + ... + g[i-1]. */
static double abs_sum(double A, const double *g, const double *prefix, uint32_t n)
{
    /* first index with g >= -A */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g[mid] < -A) lo = mid + 1; else hi = mid;
    }
    double neg = -(A * lo + prefix[lo]);
    double pos = A * (n - lo) + (prefix[n] - prefix[lo]);
    return neg + pos;
}

static void normalize_weights(nb_view *v)
{
    uint32_t V = v->nterms, L = v->nlabels;
    double *g = malloc(sizeof *g * (V ? V : 1));
    double *prefix = malloc(sizeof *prefix * (V + 1));
    double *Z = calloc(L ? L : 1, sizeof *Z);
    if (!g || !prefix || !Z) {
        /* Without memory the weights stay unnormalized: still a valid model. */
        for (uint32_t c = 0; c < L; c++)
            v->labels[c].scale = 1;
        free(g); free(prefix); free(Z);
        return;
    }
    uint32_t n = 0;
    for (uint32_t t = 0; t < V; t++)
        if (v->terms[t].idf != 0.0f)
            g[n++] = v->terms[t].g;
    V = n;
    qsort(g, V, sizeof *g, cmp_double);
    prefix[0] = 0;
    for (uint32_t t = 0; t < V; t++)
        prefix[t + 1] = prefix[t] + g[t];
    for (uint32_t c = 0; c < L; c++)
        Z[c] = abs_sum(v->labels[c].A, g, prefix, V);
    for (uint32_t t = 0; t < v->nterms; t++) {
        const nb_term *T = &v->terms[t];
        if (T->idf == 0.0f)
            continue;
        for (uint32_t i = 0; i < T->post_n; i++) {
            const nb_post *p = &v->posts[T->post_off + i];
            double base = v->labels[p->label].A + T->g;
            Z[p->label] += fabs(base + p->delta) - fabs(base);
        }
    }
    for (uint32_t c = 0; c < L; c++)
        v->labels[c].scale = Z[c] > 0 ? 1 / Z[c] : 1;
    free(g); free(prefix); free(Z);
}

/* Terms seen in fewer than min_df training documents are left out: their
 * idf is 0, so their features vanish from every document. */
static int term_kept(const nb_params *P, const nb_term *T)
{
    return T->df >= (P->nb.min_df ? P->nb.min_df : 1) && T->df > 0;
}

void nb_compute_weights(nb_view *v)
{
    const nb_params *P = v->params;
    double alpha = P->nb.alpha > 0 ? P->nb.alpha : 1e-9;
    double beta = P->nb.alpha_rest > 0 ? P->nb.alpha_rest : alpha;
    double log_alpha = log(alpha);
    double V = 0;
    for (uint32_t t = 0; t < v->nterms; t++)
        V += term_kept(P, &v->terms[t]);
    if (V < 1)
        V = 1;
    for (uint32_t t = 0; t < v->nterms; t++) {
        nb_term *T = &v->terms[t];
        if (!term_kept(P, T))
            T->idf = 0.0f;
        else
            T->idf = P->nb.idf ? (float)log(P->docs / T->df) : 1.0f;
        double log_tb = P->nb.kind == CD_NB_MULTINOMIAL ? 0 : log(T->total + beta);
        T->g = P->nb.kind == CD_NB_MULTINOMIAL ? 0.0f : (float)-log_tb;
        for (uint32_t i = 0; i < T->post_n; i++) {
            nb_post *p = &v->posts[T->post_off + i];
            p->delta = (float)posting_delta(P, alpha, log_alpha, beta, p->count, T->total, log_tb);
        }
    }
    for (uint32_t c = 0; c < v->nlabels; c++) {
        nb_label *l = &v->labels[c];
        l->A = label_A(P, alpha, beta, V, l->mass);
        l->bias = label_bias(P, l->docs, v->nlabels);
        l->scale = 1;
    }
    /* Multi-label scores go through a per-label sigmoid fitted on held-out
     * folds, which absorbs any per-label scale: normalizing there would
     * only add fold-to-fold noise. */
    if (P->nb.weight_norm && !P->multilabel)
        normalize_weights(v);
}

/* Scoring reads, per term of a story, a few bytes at places spread over
 * megabytes (its term record, its row or postings): mostly cache misses,
 * which the loops below overlap by asking for the data of the term
 * NB_AHEAD places ahead.  A hint only: the results are the same. */
#define NB_AHEAD 6
#define NB_RUN 4   /* dense rows added in one pass (add_rows) */
#define NB_EARLY 48   /* score_packed: terms whose data is asked for ahead */
static inline void nb_prefetch(const void *p)
{
#if defined(__GNUC__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

void nb_features(const nb_view *v, const nb_doc *d, double *f)
{
    const nb_params *P = v->params;
    double norm = 0;
    /* most terms occur once or twice in a story: log1p of small counts is
     * taken once per story, not once per term (the same values) */
    double small[8];
    uint8_t have[8] = { 0 };
    for (size_t i = 0; i < d->n; i++) {
        /* a story's terms are scattered over the term array: ask for the
         * ones a few steps ahead while this one is computed */
        if (i + NB_AHEAD < d->n) {
            if (v->sterms) {
                nb_prefetch(&v->sterms[d->terms[i + NB_AHEAD]]);
            } else {   /* both ends of a record may be two lines */
                const nb_term *T = &v->terms[d->terms[i + NB_AHEAD]];
                nb_prefetch(&T->post_off);
                nb_prefetch(&T->idf);
            }
        }
        uint32_t tf = d->tf[i];
        double x = tf;
        if (P->nb.log_tf && tf < 8) {
            if (!have[tf]) {
                small[tf] = log1p((double)tf);
                have[tf] = 1;
            }
            x = small[tf];
        } else if (P->nb.log_tf) {
            x = log1p((double)tf);
        }
        x *= v->sterms ? v->sterms[d->terms[i]].idf : v->terms[d->terms[i]].idf;
        f[i] = x;
        norm += x * x;
    }
    if (P->nb.length_norm && norm > 0) {
        norm = 1 / sqrt(norm);
        for (size_t i = 0; i < d->n; i++)
            f[i] *= norm;
    }
}

/* scores[c] += f * row[c] for every label: the common terms' postings
 * cover most labels, and a dense row is cheaper than a sparse walk.  The
 * result is the sparse walk's, bit for bit: a label without a posting
 * adds f * 0 = +0, and SSE2 rounds each product and sum as scalar code
 * does. */
#if defined(__x86_64__) && defined(__GNUC__)
/* The same with AVX2, four labels per step, where the processor has it
 * (chosen once, at the first row): the same products and sums, each
 * rounded as SSE2 and scalar code round them (no fused multiply-add). */
__attribute__((target("avx2")))
static void add_row_avx2(double *scores, const float *row, uint32_t L, double f)
{
    uint32_t c = 0;
    __m256d F = _mm256_set1_pd(f);
    for (; c + 8 <= L; c += 8) {
        __m256 r = _mm256_loadu_ps(row + c);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(r));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
        _mm256_storeu_pd(scores + c, _mm256_add_pd(_mm256_loadu_pd(scores + c), _mm256_mul_pd(F, lo)));
        _mm256_storeu_pd(scores + c + 4, _mm256_add_pd(_mm256_loadu_pd(scores + c + 4), _mm256_mul_pd(F, hi)));
    }
    for (; c + 4 <= L; c += 4) {
        __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(row + c));
        _mm256_storeu_pd(scores + c, _mm256_add_pd(_mm256_loadu_pd(scores + c), _mm256_mul_pd(F, x)));
    }
    for (; c < L; c++)
        scores[c] += f * row[c];
}

/* add_row_avx2 for k <= NB_RUN rows in turn, each label's score kept in
 * a register from one row to the next: scores[c] += f[0] * rows[0][c],
 * then += f[1] * rows[1][c] and so on, the same operations in the same
 * order as k calls of add_row_avx2, with one load and store of the scores
 * instead of k. */
__attribute__((target("avx2"), always_inline))
static inline void add_rows_k(double *scores, const float *const *rows, const double *f,
                              unsigned k, uint32_t L)
{
    __m256d F[NB_RUN];
    for (unsigned j = 0; j < k; j++)
        F[j] = _mm256_set1_pd(f[j]);
    uint32_t c = 0;
    for (; c + 8 <= L; c += 8) {
        __m256d lo = _mm256_loadu_pd(scores + c), hi = _mm256_loadu_pd(scores + c + 4);
        for (unsigned j = 0; j < k; j++) {
            lo = _mm256_add_pd(lo, _mm256_mul_pd(F[j], _mm256_cvtps_pd(_mm_loadu_ps(rows[j] + c))));
            hi = _mm256_add_pd(hi, _mm256_mul_pd(F[j], _mm256_cvtps_pd(_mm_loadu_ps(rows[j] + c + 4))));
        }
        _mm256_storeu_pd(scores + c, lo);
        _mm256_storeu_pd(scores + c + 4, hi);
    }
    for (; c + 4 <= L; c += 4) {
        __m256d x = _mm256_loadu_pd(scores + c);
        for (unsigned j = 0; j < k; j++)
            x = _mm256_add_pd(x, _mm256_mul_pd(F[j], _mm256_cvtps_pd(_mm_loadu_ps(rows[j] + c))));
        _mm256_storeu_pd(scores + c, x);
    }
    for (; c < L; c++) {
        double x = scores[c];
        for (unsigned j = 0; j < k; j++)
            x += f[j] * rows[j][c];
        scores[c] = x;
    }
}

/* add_rows_k with k known, its loops over the rows unrolled */
__attribute__((target("avx2")))
static void add_rows_avx2(double *scores, const float *const *rows, const double *f, unsigned k,
                          uint32_t L)
{
    switch (k) {
    case 2: add_rows_k(scores, rows, f, 2, L); break;
    case 3: add_rows_k(scores, rows, f, 3, L); break;
    case 4: add_rows_k(scores, rows, f, 4, L); break;
    default: add_rows_k(scores, rows, f, k, L); break;
    }
}

/* add_rows_k with AVX-512, eight labels per step (half the instructions
 * of AVX2 on a processor that runs 512-bit operations at full width), the
 * last labels under a mask: per label the same products and sums in the
 * same order, each rounded alone (no fused multiply-add: -std=c11 leaves
 * contraction off, and each product is its own intrinsic). */
__attribute__((target("avx512f,avx512vl"), always_inline))
static inline void add_rows_k512(double *scores, const float *const *rows, const double *f,
                                 unsigned k, uint32_t L)
{
    __m512d F[NB_RUN];
    for (unsigned j = 0; j < k; j++)
        F[j] = _mm512_set1_pd(f[j]);
    uint32_t c = 0;
    for (; c + 8 <= L; c += 8) {
        __m512d x = _mm512_loadu_pd(scores + c);
        for (unsigned j = 0; j < k; j++)
            x = _mm512_add_pd(x, _mm512_mul_pd(F[j], _mm512_cvtps_pd(_mm256_loadu_ps(rows[j] + c))));
        _mm512_storeu_pd(scores + c, x);
    }
    if (c < L) {
        __mmask8 m = (__mmask8)((1u << (L - c)) - 1);
        __m512d x = _mm512_maskz_loadu_pd(m, scores + c);
        for (unsigned j = 0; j < k; j++)
            x = _mm512_add_pd(x, _mm512_mul_pd(F[j], _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, rows[j] + c))));
        _mm512_mask_storeu_pd(scores + c, m, x);
    }
}

__attribute__((target("avx512f,avx512vl")))
static void add_rows_avx512(double *scores, const float *const *rows, const double *f,
                            unsigned k, uint32_t L)
{
    switch (k) {
    case 1: add_rows_k512(scores, rows, f, 1, L); break;
    case 2: add_rows_k512(scores, rows, f, 2, L); break;
    case 3: add_rows_k512(scores, rows, f, 3, L); break;
    case 4: add_rows_k512(scores, rows, f, 4, L); break;
    default: add_rows_k512(scores, rows, f, k, L); break;
    }
}

/* The widest of the above the processor has: 2 AVX-512, 1 AVX2, 0
 * neither (SSE2); asked once (every thread that asks finds the same). */
static _Atomic int simd_known = -1;

static int simd_level(void)
{
    int level = atomic_load_explicit(&simd_known, memory_order_relaxed);
    if (level < 0) {
        level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2
                : __builtin_cpu_supports("avx2") ? 1 : 0;
        atomic_store_explicit(&simd_known, level, memory_order_relaxed);
    }
    return level;
}
#endif

static void add_row(double *scores, const float *row, uint32_t L, double f)
{
    uint32_t c = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    int level = simd_level();
    if (level == 2) {
        add_rows_avx512(scores, &row, &f, 1, L);
        return;
    }
    if (level) {
        add_row_avx2(scores, row, L, f);
        return;
    }
#endif
#ifdef __SSE2__
    __m128d F = _mm_set1_pd(f);
    for (; c + 4 <= L; c += 4) {
        __m128 r = _mm_loadu_ps(row + c);
        __m128d lo = _mm_cvtps_pd(r), hi = _mm_cvtps_pd(_mm_movehl_ps(r, r));
        _mm_storeu_pd(scores + c, _mm_add_pd(_mm_loadu_pd(scores + c), _mm_mul_pd(F, lo)));
        _mm_storeu_pd(scores + c + 2, _mm_add_pd(_mm_loadu_pd(scores + c + 2), _mm_mul_pd(F, hi)));
    }
#endif
    for (; c < L; c++)
        scores[c] += f * row[c];
}

/* add_row for k <= NB_RUN rows in turn. */
static void add_rows(double *scores, const float *const *rows, const double *f, unsigned k,
                     uint32_t L)
{
#if defined(__x86_64__) && defined(__GNUC__)
    int level = simd_level();
    if (level == 2) {
        add_rows_avx512(scores, rows, f, k, L);
        return;
    }
    if (level) {
        add_rows_avx2(scores, rows, f, k, L);
        return;
    }
#endif
    for (unsigned j = 0; j < k; j++)
        add_row(scores, rows[j], L, f[j]);
}

/* The row or postings of term t, asked for ahead of their use. */
static inline void prefetch_term(const nb_view *v, uint32_t t)
{
    if (t < v->ndense)
        nb_prefetch(v->dense + (size_t)t * v->nlabels);
    else
        nb_prefetch(v->fposts + v->sterms[t].post_off);
}

/* The sums of nb_score_features for an open model: its packed terms,
 * dense rows and packed postings; the same operations in the same order. */
static double score_packed(const nb_view *v, const uint32_t *terms, const double *f, size_t n,
                           double *scores)
{
    const nb_sterm *S = v->sterms;
    double F = 0, G = 0;
    /* this pass reads each term's record: the rows and postings of the
     * first NB_EARLY terms are asked for here, long before they are
     * added (a few terms ahead was too short to hide a miss), the
     * others NB_EARLY terms ahead below */
    for (size_t i = 0; i < n; i++) {
        F += f[i];
        G += f[i] * S[terms[i]].g;
        if (i < NB_EARLY)
            prefetch_term(v, terms[i]);
    }
    for (uint32_t c = 0; c < v->nlabels; c++)
        scores[c] = F * v->labels[c].A + G;
    size_t ahead = n < NB_EARLY ? n : NB_EARLY;   /* the next term whose data is asked for */
    for (size_t i = 0; i < n;) {
        uint32_t t = terms[i];
        if (t < v->ndense) {
            /* a run of terms with dense rows (common words often follow
             * each other) is added in one pass over the labels */
            const float *rows[NB_RUN];
            unsigned k = 0;
            do {
                rows[k] = v->dense + (size_t)terms[i + k] * v->nlabels;
                k++;
            } while (k < NB_RUN && i + k < n && terms[i + k] < v->ndense);
            for (; ahead < i + k + NB_EARLY && ahead < n; ahead++)
                prefetch_term(v, terms[ahead]);
            if (k == 1)
                add_row(scores, rows[0], v->nlabels, f[i]);
            else
                add_rows(scores, rows, f + i, k, v->nlabels);
            i += k;
            continue;
        }
        for (; ahead < i + 1 + NB_EARLY && ahead < n; ahead++)
            prefetch_term(v, terms[ahead]);
        const nb_fpost *p = v->fposts + S[t].post_off;
        for (uint32_t k = 0; k < S[t].post_n; k++)
            scores[p[k].label] += f[i] * p[k].delta;
        i++;
    }
    return F;
}

/* Every label's score before the terms' postings: F * A + G, where F is
 * the text's mass and G its terms' shared part.  Returns F. */
static double score_base(const nb_view *v, const uint32_t *terms, const double *f, size_t n,
                         double *scores)
{
    double F = 0, G = 0;
    for (size_t i = 0; i < n; i++) {
        F += f[i];
        G += f[i] * v->terms[terms[i]].g;
    }
    for (uint32_t c = 0; c < v->nlabels; c++)
        scores[c] = F * v->labels[c].A + G;
    return F;
}

/* The labels' scale, after the postings. */
static void score_finish(const nb_view *v, double F, double *scores)
{
    for (uint32_t c = 0; c < v->nlabels; c++)
        scores[c] = v->labels[c].bias + v->labels[c].scale * scores[c];
    /* A single-label score is a sum over the text's words, and naive
     * Bayes counts each word as fresh evidence: the gaps between labels
     * grow with the length of the text, and one softmax temperature would
     * make long texts certain and short ones vague.  Dividing by the root
     * of the text's mass keeps the winner and lets one temperature fit
     * texts of every length. */
    if (!v->params->multilabel) {
        double k = 1 / sqrt(F > 1 ? F : 1);
        for (uint32_t c = 0; c < v->nlabels; c++)
            scores[c] *= k;
    }
}

void nb_score_features(const nb_view *v, const uint32_t *terms, const double *f, size_t n,
                       double *scores)
{
    double F;
    if (v->sterms && v->fposts) {
        F = score_packed(v, terms, f, n, scores);
        n = 0;   /* done: on to the labels' scale */
    } else {
        F = score_base(v, terms, f, n, scores);
    }
    /* an open model's dense rows and packed postings, or (training) the
     * postings themselves: ndense is 0 and fposts NULL then */
    for (size_t i = 0; i < n; i++) {
        if (i + NB_AHEAD < n) {   /* the row or postings of a term ahead */
            uint32_t t = terms[i + NB_AHEAD];
            if (t < v->ndense)
                nb_prefetch(v->dense + (size_t)t * v->nlabels);
            else if (v->fposts)
                nb_prefetch(v->fposts + v->terms[t].post_off);
        }
        if (terms[i] < v->ndense) {
            add_row(scores, v->dense + (size_t)terms[i] * v->nlabels, v->nlabels, f[i]);
            continue;
        }
        const nb_term *T = &v->terms[terms[i]];
        if (v->fposts) {
            const nb_fpost *p = v->fposts + T->post_off;
            for (uint32_t k = 0; k < T->post_n; k++)
                scores[p[k].label] += f[i] * p[k].delta;
        } else {
            const nb_post *p = v->posts + T->post_off;
            for (uint32_t k = 0; k < T->post_n; k++)
                scores[p[k].label] += f[i] * p[k].delta;
        }
    }
    score_finish(v, F, scores);
}

void nb_score_features_rows(const nb_view *v, const uint32_t *row_of, const float *rows,
                            const uint32_t *terms, const double *f, size_t n, double *scores)
{
    /* nb_score_features with the training view's postings, its terms with
     * a dense row taken from rows: the same products and sums, in the
     * same order (a label without a posting adds f * 0 = +0) */
    double F = score_base(v, terms, f, n, scores);
    for (size_t i = 0; i < n; i++) {
        if (row_of[terms[i]] != UINT32_MAX) {
            add_row(scores, rows + (size_t)row_of[terms[i]] * v->nlabels, v->nlabels, f[i]);
            continue;
        }
        const nb_term *T = &v->terms[terms[i]];
        const nb_post *p = v->posts + T->post_off;
        for (uint32_t k = 0; k < T->post_n; k++)
            scores[p[k].label] += f[i] * p[k].delta;
    }
    score_finish(v, F, scores);
}

void nb_score(const nb_view *v, const nb_doc *d, double *f, double *scores)
{
    nb_features(v, d, f);
    nb_score_features(v, d->terms, f, d->n, scores);
}

/* Scores of a sound model are finite; a crafted one (weights near the
 * largest double) can overflow to infinities and NaN.  Probabilities stay
 * numbers in [0,1] all the same: NaN counts as the lowest score. */
void nb_probabilities(const nb_view *v, const double *scores, double *p)
{
    uint32_t L = v->nlabels;
    if (v->params->multilabel) {
        for (uint32_t c = 0; c < L; c++)
            p[c] = nb_platt_p(nb_platt_x(v, c, scores[c]));
        return;
    }
    double tau = v->params->temperature > 0 ? v->params->temperature : 1;
    double max = -INFINITY, sum = 0;
    for (uint32_t c = 0; c < L; c++) {
        double x = tau * scores[c];
        p[c] = isnan(x) ? -INFINITY : x;
        if (p[c] > max)
            max = p[c];
    }
    for (uint32_t c = 0; c < L; c++) {
        if (isinf(max))   /* all -inf (even odds), or some +inf (they share) */
            p[c] = max < 0 || p[c] == max ? 1 : 0;
        else
            p[c] = exp(p[c] - max);
        sum += p[c];
    }
    for (uint32_t c = 0; c < L; c++)
        p[c] /= sum;
}

double nb_weight(const nb_view *v, uint32_t t, uint32_t c)
{
    const nb_term *T = &v->terms[t];
    double w = v->labels[c].A + T->g;
    for (uint32_t k = 0; k < T->post_n; k++)
        if (v->posts[T->post_off + k].label == c)
            w += v->posts[T->post_off + k].delta;
    return w * v->labels[c].scale;
}

/* ---- calibration ------------------------------------------------------- */

/* Cross-entropy of Platt's targets under p = sigmoid(a x + b), x the
 * standardized scores; each text's p into p.  One exp a text gives both:
 * the loss the line search needs and the probabilities the next step's
 * gradient needs.  The loss's log(1 + e) terms are summed as the log of
 * their product, a log every PLATT_BLOCK texts, not one a text (each
 * factor is in (1, 2], so a block's product stays finite): the line
 * search only compares losses. */
#define PLATT_BLOCK 512
static double platt_pass(const double *x, const uint8_t *y, size_t n, double hi, double lo,
                         double a, double b, double *p)
{
    double f = 0, prod = 1;
    for (size_t i = 0; i < n; i++) {
        double z = a * x[i] + b, t = y[i] ? hi : lo;
        double e = exp(-fabs(z));
        /* t log(1+e^-z) + (1-t) log(1+e^z) = log(1+e^z) - t z, overflow-free */
        f += (z > 0 ? z : 0) - t * z;
        prod *= 1 + e;
        if (i % PLATT_BLOCK == PLATT_BLOCK - 1) {
            f += log(prod);
            prod = 1;
        }
        p[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
    return f + log(prod);
}

#define PLATT_MIN_STEP (1.0 / 1024)
int nb_fit_platt(const double *s, const uint8_t *y, size_t n, double *a_out, double *b_out)
{
    *a_out = 1;
    *b_out = 0;
    /* Standardize the scores so that Newton's steps are well scaled, fit
     * on the standardized scale, then map a and b back. */
    double mean = 0, var = 0, npos = 0;
    for (size_t i = 0; i < n; i++) {
        mean += s[i];
        npos += y[i];
    }
    mean = n ? mean / n : 0;
    for (size_t i = 0; i < n; i++)
        var += (s[i] - mean) * (s[i] - mean);
    double sd = n && var > 0 ? sqrt(var / n) : 1;
    double *x = malloc(sizeof *x * 3 * (n ? n : 1));
    if (!x)
        return -1;
    double *p = x + n, *q = x + 2 * n;
    for (size_t i = 0; i < n; i++)
        x[i] = (s[i] - mean) / sd;
    double nneg = n - npos;
    /* Platt's targets keep the fit finite on separable data. */
    double hi = (npos + 1) / (npos + 2), lo = 1 / (nneg + 2);
    /* from a typical fit (on the standardized scale the slopes come out
     * at 2 to 3, the intercept below the prior's log-odds): Newton then
     * needs 8 or 9 passes, not 11 from a flat sigmoid */
    double a = 2, b = log((npos + 1) / (nneg + 1)) - 1;
    double fval = platt_pass(x, y, n, hi, lo, a, b, p);
    for (int iter = 0; iter < 100; iter++) {
        double g1 = 0, g2 = 0, h11 = 1e-9, h22 = 1e-9, h21 = 0;
        for (size_t i = 0; i < n; i++) {
            double d = p[i] - (y[i] ? hi : lo), w = p[i] * (1 - p[i]);
            g1 += d * x[i]; g2 += d;
            h11 += w * x[i] * x[i]; h22 += w; h21 += w * x[i];
        }
        if (fabs(g1) < 1e-7 && fabs(g2) < 1e-7)
            break;
        double det = h11 * h22 - h21 * h21;
        if (fabs(det) < 1e-300)
            break;
        double da = -(h22 * g1 - h21 * g2) / det;
        double db = -(-h21 * g1 + h11 * g2) / det;
        /* Newton's step, halved until the loss goes down (Lin, Lin and
         * Weng 2007): a plain step can run away on nearly separable
         * held-out scores */
        double step = 1, na = a, nb = b, nf = fval;
        /* a step halved ten times would gain nothing the loss can show:
         * at the optimum, rounding keeps the gradient above the test
         * and the search then ends here */
        for (; step >= PLATT_MIN_STEP; step /= 2) {
            na = a + step * da;
            nb = b + step * db;
            nf = platt_pass(x, y, n, hi, lo, na, nb, q);
            if (nf < fval + 1e-4 * step * (g1 * da + g2 * db))
                break;
        }
        if (step < PLATT_MIN_STEP)
            break;
        a = na; b = nb; fval = nf;
        double *tmp = p;
        p = q;
        q = tmp;
        if (fabs(step * da) < 1e-9 && fabs(step * db) < 1e-9)
            break;
    }
    free(x);
    *a_out = a / sd;
    *b_out = b - a * mean / sd;
    return 0;
}

/* A held-out text as nb_best_threshold ranks it: its probability's bits
 * inverted (for p >= 0 the bits order as the numbers do: inverted, the
 * most probable first) and its truth. */
typedef struct ranked { uint64_t key; uint8_t y; } ranked;

static double ranked_p(const ranked *r)
{
    uint64_t bits = ~r->key;
    double p;
    memcpy(&p, &bits, sizeof p);
    return p;
}

/* Sort by key, ascending: a radix sort, 11 bits a pass, passes whose digit
 * every key shares skipped.  The order of equal keys does not matter to
 * the caller.  Returns the sorted array: r or tmp. */
static ranked *radix_sort(ranked *r, ranked *tmp, size_t n)
{
    enum { BITS = 11, BUCKETS = 1 << BITS };
    size_t count[BUCKETS];
    for (int shift = 0; shift < 64; shift += BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(r[i].key >> shift) & (BUCKETS - 1)]++;
        if (n == 0 || count[(r[0].key >> shift) & (BUCKETS - 1)] == n)
            continue;
        size_t at = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            size_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(r[i].key >> shift) & (BUCKETS - 1)]++] = r[i];
        ranked *x = r;
        r = tmp;
        tmp = x;
    }
    return r;
}

double nb_best_threshold(const double *p, const uint8_t *y, size_t n, double *f1_out)
{
    ranked *buf = malloc(sizeof *buf * 2 * (n ? n : 1));
    double npos = 0, best_f1 = 0, best_t = 2.0;  /* > 1: never chosen */
    if (!buf) {
        *f1_out = 0;
        return 0.5;
    }
    for (size_t i = 0; i < n; i++) {
        /* probabilities are in [0, 1]; anything else (NaN from a crafted
         * model) ranks as 0 */
        double q = p[i] >= 0 && p[i] <= 1 ? p[i] + 0.0 : 0.0;
        uint64_t bits;
        memcpy(&bits, &q, sizeof bits);
        buf[i].key = ~bits;
        buf[i].y = y[i];
        npos += y[i];
    }
    ranked *r = radix_sort(buf, buf + n, n);
    double tp = 0;
    for (size_t k = 0; k < n; k++) {
        tp += r[k].y;
        if (k + 1 < n && r[k + 1].key == r[k].key)
            continue;  /* a threshold cannot split equal scores */
        double f1 = 2 * tp / (k + 1 + npos);
        if (f1 > best_f1) {
            best_f1 = f1;
            best_t = k + 1 < n ? (ranked_p(&r[k]) + ranked_p(&r[k + 1])) / 2 : ranked_p(&r[k]);
        }
    }
    free(buf);
    *f1_out = best_f1;
    return best_t;
}

double nb_fit_temperature(const double *scores, const uint32_t *truth, size_t n, uint32_t L)
{
    /* The held-out log-likelihood is concave in tau: Newton on log(tau). */
    double spread = 0;
    for (size_t i = 0; i < n * L; i++)
        spread += fabs(scores[i] - scores[(i / L) * L]);
    double tau = spread > 0 ? (double)(n * L) / spread : 1;
    double cap = tau * 1e4;  /* separable held-out data would push tau to infinity */
    for (int iter = 0; iter < 50; iter++) {
        double grad = 0, hess = 0;
        for (size_t d = 0; d < n; d++) {
            const double *s = scores + d * L;
            double max = -INFINITY, z = 0, m1 = 0, m2 = 0;
            for (uint32_t c = 0; c < L; c++)
                if (tau * s[c] > max) max = tau * s[c];
            for (uint32_t c = 0; c < L; c++) {
                double e = exp(tau * s[c] - max);
                z += e; m1 += e * s[c]; m2 += e * s[c] * s[c];
            }
            m1 /= z; m2 /= z;
            grad += s[truth[d]] - m1;
            hess -= m2 - m1 * m1;
        }
        if (hess >= 0)
            break;
        double step = -grad / hess;
        double next = tau + step;
        if (next <= tau / 4) next = tau / 4;   /* stay positive, move boldly */
        if (next >= tau * 4) next = tau * 4;
        if (next > cap) next = cap;
        if (fabs(next - tau) < 1e-9 * tau) { tau = next; break; }
        tau = next;
    }
    return tau;
}
