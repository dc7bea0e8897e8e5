/*
 * classifier.c - scoring texts with an open model.
 *
 * A classifier owns the per-thread scratch: the tokenizer (set up with the
 * settings the model was trained with, so that classify tokenizes exactly
 * as train did), a dense frequency array over the vocabulary, and the
 * score buffers.  Tokens the model never saw are ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/lexicon.h"
#include "model/model_internal.h"

/* Tokens whose lexicon slots are asked for before the first of them is
 * probed (see on_token). */
#define CLS_BATCH 32

typedef struct sort_key {
    uint64_t p;
    uint32_t label;
} sort_key;

struct cd_classifier {
    const cd_model *m;
    cdi_lexicon *lex;      /* token -> term id (lexicon.h), made on first use: a
                              desk's classifier may only ever score from the
                              desk's own (cdi_classify_rows) */
    cd_tokenizer *tok;
    const nb_sterm *sterms;   /* the model's records for scoring, or NULL */
    uint32_t *tf;          /* per term, zero between calls; one more entry,
                              never counted, for the tokens of no term */
    uint32_t *terms;       /* distinct terms of the last text */
    uint32_t *freqs;       /* their frequencies */
    double *f;             /* their features */
    size_t n, cap;
    int failed;
    double *scores, *p;
    cd_label_score *by_label;  /* the scores in label order */
    cd_label_score *out;       /* the same, sorted */
    cd_label_score *chosen;    /* cd_classifier_only_chosen: the chosen labels */
    struct sort_key *keys;     /* 2 * nlabels: the sort's keys and scratch */
    uint32_t top;              /* cd_classifier_set_order; 0: sort all */
    int only_chosen;           /* cd_classifier_only_chosen */
    int scored;                /* scores is the last text's (0 before any, or
                                  after a failure) */
    int all;                   /* p, by_label and out are the last text's
                                  (score_all ran for it) */
    double *cut;               /* multi-label: per label, a sigmoid argument
                                  below which its p cannot reach its
                                  threshold (-INFINITY: always compute p) */
    cdi_lex_key batch[CLS_BATCH];  /* short tokens of the text, asked for and
                                      not yet probed, in their order */
    unsigned nbatch;
};

cd_status cd_classifier_new(const cd_model *m, cd_classifier **out, cd_error *err)
{
    *out = NULL;
    cd_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    c->m = m;
    c->sterms = m->view.sterms;
    /* Without bigrams or stemming, a stop word the tokenizer drops is a
     * word the model cannot have: leave it to the lexicon, which has no
     * stop words then, instead of testing every token against the list
     * first.  The terms counted are the same. */
    cd_tok_opts tok = m->tok;
    if (tok.stopwords && cdi_lexicon_drops_stopwords(m) && !tok.bigrams)
        tok.stopwords = 0;
    cd_status st = cd_tokenizer_new(&tok, &c->tok, err);
    if (st) {
        free(c);
        return st;
    }
    uint32_t L = m->view.nlabels;
    c->tf = calloc((size_t)m->view.nterms + 1, sizeof *c->tf);   /* + flush's sink */
    c->scores = malloc(sizeof *c->scores * L);
    c->p = malloc(sizeof *c->p * L);
    c->out = malloc(sizeof *c->out * L);
    c->chosen = malloc(sizeof *c->chosen * L);
    c->by_label = malloc(sizeof *c->by_label * L);
    c->keys = malloc(sizeof *c->keys * 2 * L);
    c->cut = malloc(sizeof *c->cut * L);
    if (!c->tf || !c->scores || !c->p || !c->out || !c->chosen || !c->by_label || !c->keys || !c->cut) {
        cd_classifier_free(c);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    /* p = 1/(1+e^-x) reaches threshold t at x = log(t/(1-t)); a quarter
     * below that, p is short of t by far more than the rounding of exp
     * and log, so p need not be computed to know the label is not chosen.
     * Thresholds at the very ends of (0,1) get no cut. */
    for (uint32_t i = 0; i < L; i++) {
        double t = m->view.labels[i].threshold;
        c->cut[i] = t > 1e-9 && t < 1 - 1e-9 ? log(t / (1 - t)) - 0.25 : -INFINITY;
    }
    *out = c;
    return CD_OK;
}

void cd_classifier_free(cd_classifier *c)
{
    if (!c)
        return;
    cd_tokenizer_free(c->tok);
    cdi_lexicon_free(c->lex);
    free(c->tf);
    free(c->terms);
    free(c->freqs);
    free(c->f);
    free(c->scores);
    free(c->p);
    free(c->out);
    free(c->chosen);
    free(c->by_label);
    free(c->keys);
    free(c->cut);
    free(c);
}

static int grow_doc(cd_classifier *c)
{
    size_t cap = c->cap ? c->cap * 2 : 256;
    uint32_t *t = realloc(c->terms, sizeof *t * cap);
    if (!t) return -1;
    c->terms = t;
    uint32_t *q = realloc(c->freqs, sizeof *q * cap);
    if (!q) return -1;
    c->freqs = q;
    double *f = realloc(c->f, sizeof *f * cap);
    if (!f) return -1;
    c->f = f;
    c->cap = cap;
    return 0;
}

/* Count term id of the text; non-zero when out of memory. */
static inline int add_term(cd_classifier *c, uint32_t id)
{
    if (c->tf[id]++ == 0) {
        if (c->n == c->cap && grow_doc(c)) {
            c->tf[id] = 0;
            c->failed = 1;
            return 1;
        }
        c->terms[c->n++] = id;
#if defined(__GNUC__)
        /* a new term of the text: its record, which scoring reads first
         * (nb_features), is asked for now, long before */
        if (c->sterms)
            __builtin_prefetch(&c->sterms[id]);
#endif
    }
    return 0;
}

/* Count the term of lexicon row id, if any (a row from the model's nterms
 * on is a stop word's: cdi_lexicon_new_own); non-zero when out of memory. */
static inline int take_row(cd_classifier *c, int64_t id)
{
    return (uint64_t)id >= c->m->view.nterms ? 0 : add_term(c, (uint32_t)id);
}

/* Probe the tokens waiting, in their order, and count their terms;
 * non-zero when out of memory. */
static int flush(cd_classifier *c)
{
    int64_t rows[CLS_BATCH];
    unsigned n = c->nbatch;
    c->nbatch = 0;
    /* all the probes first, each asking for its term's count, then the
     * counts: the counts (a story's terms are spread over the array) do
     * not wait behind the probes, and their misses overlap */
    for (unsigned i = 0; i < n; i++) {
        rows[i] = cdi_lexicon_probe(c->lex, c->batch[i].slot, c->batch[i].a, c->batch[i].b);
#if defined(__GNUC__)
        if ((uint64_t)rows[i] < c->m->view.nterms)
            __builtin_prefetch(&c->tf[rows[i]], 1);
#endif
    }
    while (c->cap - c->n < n)
        if (grow_doc(c)) {
            c->failed = 1;
            return 1;
        }
    /* add_term for each row, without branches: which rows are terms (a
     * stop word is not) and which terms are new to the text cannot be
     * predicted.  A token of no term reads the sink entry after the
     * terms' and leaves it 0; a term is appended to the list only when
     * its count was 0 (the slot past the list is written either way). */
    uint32_t sink = c->m->view.nterms;
    for (unsigned i = 0; i < n; i++) {
        uint32_t term = (uint64_t)rows[i] < sink;   /* not -1, not a stop word's row */
        uint32_t id = term ? (uint32_t)rows[i] : sink;
        uint32_t old = c->tf[id];
        c->tf[id] = old + term;
        c->terms[c->n] = id;
        c->n += (old == 0) & term;
#if defined(__GNUC__)
        if (c->sterms)   /* what scoring reads first (see add_term) */
            __builtin_prefetch(&c->sterms[id]);
#endif
    }
    return 0;
}

/* A short token's lexicon slot is asked for at once (lexicon.h) and
 * probed when CLS_BATCH tokens are waiting, or before a long token, or
 * at the end of the text: the misses of a batch overlap.  The terms are
 * counted in the order of the text, as one lookup at a time would count
 * them, so the sums that score them are the same. */
static int on_token(const char *tok, size_t len, void *ud)
{
    cd_classifier *c = ud;
    if (len - 1 >= LEX_SHORT) {   /* long (or empty): looked up at once */
        if (!len)
            return 0;
        if (flush(c))
            return 1;
        return take_row(c, cdi_lexicon_find_long(c->lex, tok, len));
    }
    c->batch[c->nbatch++] = cdi_lexicon_ahead(c->lex, tok, len);
    return c->nbatch == CLS_BATCH ? flush(c) : 0;
}

/* Sort by decreasing p, ties by label index.  Classify sorts the labels
 * of every story (90 for Reuters), so this is made cheap: the sort moves
 * 16-byte keys, not scores, and compares integers: for numbers in [0,1]
 * (never NaN, see nb_probabilities) the bits of a double order as the
 * double does.  A stable merge of keys made in label order leaves equal p
 * in label order.  keys and tmp hold n entries each.  Returns the sorted
 * keys (keys or tmp). */
static sort_key *sort_keys(sort_key *keys, sort_key *tmp, uint32_t n)
{
    sort_key *from = keys, *to = tmp;
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* branch-free: which side wins is unpredictable; the
                 * right one only when strictly larger (stable) */
                uint32_t right = from[j].p > from[i].p;
                to[k++] = from[right ? j : i];
                j += right;
                i += right ^ 1;
            }
            while (i < mid)
                to[k++] = from[i++];
            while (j < hi)
                to[k++] = from[j++];
        }
        sort_key *swap = from;
        from = to;
        to = swap;
    }
    return from;
}

static sort_key key_of(const cd_label_score *s, uint32_t label)
{
    double p = s->p > 0 ? s->p : 0;   /* no -0.0: its sign bit would sort it first */
    sort_key k = { 0, label };
    memcpy(&k.p, &p, sizeof p);
    return k;
}

/* Does key a come before key b in the order of the sort? */
static int ahead(sort_key a, sort_key b)
{
    return a.p > b.p || (a.p == b.p && a.label < b.label);
}

/* by_label (n scores in label order) into out: all of them sorted, or
 * with 0 < top < n only the chosen labels and the top most probable ones,
 * sorted, in front of the others in label order (see
 * cd_classifier_set_order).  Each label's key is made once. */
static void sort_scores(const cd_label_score *by_label, cd_label_score *out, sort_key *keys,
                        sort_key *tmp, uint32_t n, uint32_t top)
{
    for (uint32_t i = 0; i < n; i++)
        keys[i] = key_of(&by_label[i], i);
    uint32_t h = n;
    if (top && top < n) {
        /* the top best keys, by insertion into tmp (top is small) */
        uint32_t have = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (have == top && !ahead(keys[i], tmp[top - 1]))
                continue;
            uint32_t j = have < top ? have++ : top - 1;
            while (j > 0 && ahead(keys[i], tmp[j - 1])) {
                tmp[j] = tmp[j - 1];
                j--;
            }
            tmp[j] = keys[i];
        }
        sort_key last = tmp[top - 1];
        /* the head (chosen or among the top) stays in keys, the rest goes
         * to tmp, both in label order; the rest is written out behind */
        uint32_t t = 0;
        h = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (by_label[i].chosen || !ahead(last, keys[i]))
                keys[h++] = keys[i];
            else
                tmp[t++] = keys[i];
        }
        for (uint32_t k = 0; k < t; k++)
            out[h + k] = by_label[tmp[k].label];
    }
    sort_key *sorted = sort_keys(keys, tmp, h);
    for (uint32_t k = 0; k < h; k++)
        out[k] = by_label[sorted[k].label];
}

void cd_classifier_set_order(cd_classifier *c, size_t top)
{
    c->top = top > UINT32_MAX ? 0 : (uint32_t)top;
}

void cd_classifier_only_chosen(cd_classifier *c, int on)
{
    c->only_chosen = on != 0;
}

typedef struct text_source {
    cd_tokenizer *tok;
    const char *text;
    size_t len;
} text_source;

static void tokenize_text(const void *src, cd_token_fn fn, void *ud)
{
    const text_source *t = src;
    cd_tokenize(t->tok, t->text, t->len, fn, ud);
}

cd_status cd_classify(cd_classifier *c, const char *text, size_t len,
                      const cd_label_score **scores, size_t *n, cd_error *err)
{
    text_source src = { c->tok, text, len };
    return cdi_classify_from(c, tokenize_text, &src, scores, n, err);
}

const cd_tok_opts *cdi_classifier_tok_opts(const cd_classifier *c)
{
    return &c->m->tok;   /* the model's: its own tokenizer may leave stop words to the lookup */
}

static cd_status score(cd_classifier *c, const cd_label_score **scores, size_t *n);

/* Score the terms counted since c->n was reset. */
static cd_status finish(cd_classifier *c, const cd_label_score **scores, size_t *n,
                        cd_error *err)
{
    for (size_t i = 0; i < c->n; i++) {
        c->freqs[i] = c->tf[c->terms[i]];
        c->tf[c->terms[i]] = 0;
    }
    if (c->failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return score(c, scores, n);
}

/* cd_classifier_only_chosen with a multi-label model: the chosen labels
 * into c->chosen, sorted as sort_scores sorts them, with p computed (as
 * nb_probabilities computes it, see label_p) only for the labels whose
 * sigmoid argument is not below their cut.  Returns how many. */
static uint32_t chosen_multi(cd_classifier *c)
{
    const nb_view *v = &c->m->view;
    cd_label_score *out = c->chosen;
    uint32_t k = 0;
    for (uint32_t i = 0; i < v->nlabels; i++) {
        double x = nb_platt_x(v, i, c->scores[i]);
        if (x < c->cut[i])
            continue;
        double p = nb_platt_p(x);
        if (!(p >= v->labels[i].threshold))
            continue;
        cd_label_score s = { i, p, 1 };
        sort_key key = key_of(&s, i);
        uint32_t j = k++;
        for (; j > 0 && ahead(key, key_of(&out[j - 1], out[j - 1].label)); j--)
            out[j] = out[j - 1];
        out[j] = s;
    }
    return k;
}

static void score_all(cd_classifier *c);

/* Score the c->n terms in c->terms with their frequencies in c->freqs. */
static cd_status score(cd_classifier *c, const cd_label_score **scores, size_t *n)
{
    const nb_view *v = &c->m->view;
    nb_doc doc = { c->terms, c->freqs, c->n };
    nb_score(v, &doc, c->f, c->scores);
    c->scored = 1;
    if (!c->only_chosen) {
        score_all(c);
        *scores = c->out;
        *n = v->nlabels;
        return CD_OK;
    }
    /* the chosen labels in a buffer of their own: every label's p
     * (cdi_classifier_all) may still be asked for while they are read */
    uint32_t k = 0;
    if (v->params->multilabel)
        k = chosen_multi(c);
    if (!k && !(v->params->multilabel && !v->params->nb.at_least_one)) {
        /* single-label, or none chosen where one must be: all the labels,
         * then the chosen ones, which lead in their sorted order */
        score_all(c);
        for (uint32_t i = 0; i < v->nlabels; i++)
            if (c->out[i].chosen)
                c->chosen[k++] = c->out[i];
    }
    *scores = c->chosen;
    *n = k;
    return CD_OK;
}

/* Every label's p into c->p and c->out, chosen marked, in
 * cd_classifier_set_order's order. */
static void score_all(cd_classifier *c)
{
    const nb_view *v = &c->m->view;
    nb_probabilities(v, c->scores, c->p);
    uint32_t L = v->nlabels, best = 0, any = 0;
    int multi = v->params->multilabel;
    double best_gap = 0;
    for (uint32_t i = 0; i < L; i++) {
        c->by_label[i].label = i;
        c->by_label[i].p = c->p[i];
        c->by_label[i].chosen = multi && c->p[i] >= v->labels[i].threshold;
        any |= c->by_label[i].chosen;
        /* the best label: by probability, or for multi-label models by how
         * near it comes to its own threshold (the best gap kept, not read
         * again through best: one dependent load less per label) */
        double gap = c->p[i] - (multi ? v->labels[i].threshold : 0);
        if (i == 0 || gap > best_gap) {
            best = i;
            best_gap = gap;
        }
    }
    /* A single-label model names its most probable label; a multi-label
     * one only the labels likely enough, unless trained to always give
     * one (the nearest to its threshold). */
    if (!any && (!v->params->multilabel || v->params->nb.at_least_one))
        c->by_label[best].chosen = 1;
    sort_scores(c->by_label, c->out, c->keys, c->keys + L, L, c->top);
    c->all = 1;
}

double cdi_classifier_p(const cd_classifier *c, uint32_t label)
{
    const nb_view *v = &c->m->view;
    if (!c->scored || label >= v->nlabels)
        return 0;
    if (c->all)
        return c->p[label];
    /* only a multi-label model leaves p uncomputed (chosen_multi):
     * nb_probabilities' expression for one label, the same bits */
    return nb_platt_p(nb_platt_x(v, label, c->scores[label]));
}

void cdi_classifier_all(cd_classifier *c, const cd_label_score **scores, size_t *n)
{
    *scores = c->out;
    *n = 0;
    if (!c->scored)
        return;
    if (!c->all)
        score_all(c);
    *n = c->m->view.nlabels;
}

cd_status cdi_classify_from(cd_classifier *c, cd_token_source each, const void *src,
                            const cd_label_score **scores, size_t *n, cd_error *err)
{
    c->n = 0;
    c->failed = 0;
    c->scored = c->all = 0;
    if (!c->lex) {
        cd_status st = cdi_lexicon_new_own(c->m, &c->lex, err);
        if (st != CD_OK)
            return st;
    }
    c->nbatch = 0;
    each(src, on_token, c);
    flush(c);
    return finish(c, scores, n, err);
}

cd_status cdi_classify_rows(cd_classifier *c, const cdi_lexicon *lex, size_t which,
                            const uint32_t *rows, const uint32_t *counts, size_t nrows,
                            const cd_label_score **scores, size_t *n, cd_error *err)
{
    c->n = 0;
    c->failed = 0;
    c->scored = c->all = 0;
    while (c->cap < nrows)
        if (grow_doc(c))
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    /* rows are distinct, so are their terms: no counting here, and the
     * terms come in the order of their first token, as add_term makes it */
    for (size_t i = 0; i < nrows; i++) {
        /* the rows' entries are spread over the lexicon: ask ahead */
        if (lex->ids && i + LEX_AHEAD < nrows)
            __builtin_prefetch(&lex->ids[(size_t)rows[i + LEX_AHEAD] * lex->n + which]);
        uint32_t id = cdi_lexicon_id(lex, rows[i], which);
        if (id != LEX_NONE) {
            c->terms[c->n] = id;
            c->freqs[c->n++] = counts[i];
        }
    }
    return score(c, scores, n);
}

static int by_weight_desc(const void *a, const void *b)
{
    double x = ((const cd_token_weight *)a)->weight, y = ((const cd_token_weight *)b)->weight;
    return (x < y) - (x > y);
}

size_t cd_classifier_explain(cd_classifier *c, uint32_t label, cd_token_weight *out, size_t k)
{
    const nb_view *v = &c->m->view;
    if (label >= v->nlabels || k == 0 || c->n == 0)
        return 0;
    cd_token_weight *all = malloc(sizeof *all * c->n);
    if (!all)
        return 0;
    /* How much more a token speaks for this label than for the average label. */
    for (size_t i = 0; i < c->n; i++) {
        double mean = 0;
        for (uint32_t l = 0; l < v->nlabels; l++)
            mean += nb_weight(v, c->terms[i], l);
        mean /= v->nlabels;
        all[i].token = cdi_model_term(c->m, c->terms[i], &all[i].len);
        all[i].weight = c->f[i] * (nb_weight(v, c->terms[i], label) - mean);
    }
    qsort(all, c->n, sizeof *all, by_weight_desc);
    size_t got = 0;
    for (size_t i = 0; i < c->n && got < k; i++)
        if (all[i].weight > 0)
            out[got++] = all[i];
    free(all);
    return got;
}
