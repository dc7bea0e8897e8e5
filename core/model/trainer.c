/*
 * trainer.c - accumulating naive Bayes counts and writing a model.
 *
 * Adding a text tokenizes it, maps its tokens to term ids (vocab.c) and
 * adds its feature vector to the counts of each of its labels.  Counts
 * only ever add up, so training further from an existing model
 * (cd_trainer_from_model) is the same operation as training from scratch.
 *
 * The trainer also keeps each text as a short list of (term id,
 * frequency) pairs.  Saving settles kind auto (the settings that suit
 * single- or multi-label data; the kept texts are counted again when those
 * want other features), calibrates the model on held-out folds of the
 * kept texts (calibrate.c), computes the weights (nb.c), refines them
 * (refine.c) and writes the file (model_file.c).
 *
 * Training features leave idf out (f = log(1 + tf), length-normalized, or
 * raw counts): idf depends on document frequencies that change as texts
 * are added, so it is applied when a text is scored instead, from the
 * stored df.  That keeps the stored counts additive.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "model/model_format.h"
#include "model/model_internal.h"
#include "model/refine.h"
#include "model/token_batch.h"
#include "model/trainer_internal.h"

void cd_nb_opts_default(cd_nb_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kind = CD_NB_AUTO;
    o->mode = CD_LABELS_AUTO;
    o->alpha = 0.01;
    o->alpha_rest = 0.3;
    o->log_tf = 1;
    o->idf = 1;
    o->length_norm = 1;
    o->weight_norm = 1;
    o->min_df = 3;
    o->cv_folds = 5;
    o->refine = 60;
}

/* ---- growth ------------------------------------------------------------ */

static int grow_terms(cd_trainer *t, uint32_t need)
{
    if (need <= t->terms_cap)
        return 0;
    uint32_t cap = t->terms_cap ? t->terms_cap : 1024;
    while (cap < need)
        cap *= 2;
    double *df = realloc(t->df, sizeof *df * cap);
    if (!df) return -1;
    t->df = df;
    double *total = realloc(t->total, sizeof *total * cap);
    if (!total) return -1;
    t->total = total;
    plist *posts = realloc(t->posts, sizeof *posts * cap);
    if (!posts) return -1;
    t->posts = posts;
    uint32_t *tf = realloc(t->tf, sizeof *tf * cap);
    if (!tf) return -1;
    t->tf = tf;
    for (uint32_t i = t->terms_cap; i < cap; i++) {
        t->df[i] = t->total[i] = 0;
        memset(&t->posts[i], 0, sizeof t->posts[i]);
        t->tf[i] = 0;
    }
    t->terms_cap = cap;
    return 0;
}

static int64_t intern_label(cd_trainer *t, const char *name)
{
    int64_t id = cdi_vocab_intern(&t->label_vocab, name, strlen(name));
    if (id < 0)
        return -1;
    if ((uint32_t)id >= t->labels_cap) {
        uint32_t cap = t->labels_cap ? t->labels_cap * 2 : 16;
        nb_label *l = realloc(t->labels, sizeof *l * cap);
        if (!l) return -1;
        t->labels = l;
        uint8_t *cal = realloc(t->calibrated, cap);
        if (!cal) return -1;
        t->calibrated = cal;
        for (uint32_t i = t->labels_cap; i < cap; i++) {
            memset(&t->labels[i], 0, sizeof t->labels[i]);
            t->calibrated[i] = 0;
        }
        t->labels_cap = cap;
    }
    return id;
}

/* The posting of label c in term w's list, added when absent. */
static double *posting(plist *pl, uint32_t c)
{
    for (uint32_t i = 0; i < pl->n; i++)
        if (pl->label[i] == c)
            return &pl->count[i];
    if (pl->n == pl->cap) {
        uint32_t cap = pl->cap ? pl->cap * 2 : 2;
        uint32_t *l = realloc(pl->label, sizeof *l * cap);
        if (!l) return NULL;
        pl->label = l;
        double *n = realloc(pl->count, sizeof *n * cap);
        if (!n) return NULL;
        pl->count = n;
        pl->cap = cap;
    }
    pl->label[pl->n] = c;
    pl->count[pl->n] = 0;
    return &pl->count[pl->n++];
}

/* ---- life cycle ---------------------------------------------------------- */

static cd_status trainer_alloc(const cd_tok_opts *tok, const cd_nb_opts *nb,
                               cd_trainer **out, cd_error *err)
{
    *out = NULL;
    cd_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (tok)
        t->tok = *tok;
    else
        cd_tok_opts_default(&t->tok);
    if (nb)
        t->params.nb = *nb;
    else
        cd_nb_opts_default(&t->params.nb);
    if (!(t->params.nb.alpha > 0) || !isfinite(t->params.nb.alpha) ||
        !(t->params.nb.alpha_rest > 0) || !isfinite(t->params.nb.alpha_rest)) {
        free(t);
        return cd_error_set(err, CD_ERR_ARG, "smoothing alpha must be a positive number");
    }
    cd_status st = cd_tokenizer_new(&t->tok, &t->tokenizer, err);
    if (st) {
        free(t);
        return st;
    }
    if (cdi_vocab_init(&t->vocab) || cdi_vocab_init(&t->label_vocab) || cdi_vocab_init(&t->ids)) {
        cd_trainer_free(t);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    *out = t;
    return CD_OK;
}

cd_status cd_trainer_new(const cd_tok_opts *tok, const cd_nb_opts *nb,
                         cd_trainer **out, cd_error *err)
{
    return trainer_alloc(tok, nb, out, err);
}

static cd_status load_counts(cd_trainer *t, const cd_model *m, cd_error *err)
{
    const nb_view *v = &m->view;
    for (uint32_t c = 0; c < v->nlabels; c++) {
        int64_t id = intern_label(t, cd_model_label(m, c));
        if (id < 0)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        if ((uint64_t)id != c)   /* the same name twice: counts would mix */
            return cd_error_set(err, CD_ERR_CORRUPT, "model: label '%s' appears twice",
                                cd_model_label(m, c));
        t->labels[id] = v->labels[c];
        t->calibrated[id] = 1;
    }
    if (grow_terms(t, v->nterms))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (uint32_t w = 0; w < v->nterms; w++) {
        size_t len;
        const char *name = cdi_model_term(m, w, &len);
        int64_t id = cdi_vocab_intern(&t->vocab, name, len);
        if (id < 0)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        if ((uint64_t)id != w)
            return cd_error_set(err, CD_ERR_CORRUPT, "model: a term appears twice");
        t->df[id] = v->terms[w].df;
        t->total[id] = v->terms[w].total;
        for (uint32_t k = 0; k < v->terms[w].post_n; k++) {
            const nb_post *p = &v->posts[v->terms[w].post_off + k];
            double *n = posting(&t->posts[id], p->label);
            if (!n)
                return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            *n = p->count;
        }
    }
    t->params.docs = m->params.docs;
    t->params.mass = m->params.mass;
    t->params.temperature = m->params.temperature;
    t->any_multi = m->params.multilabel;
    return CD_OK;
}

static void store_doc(cd_trainer *t, const uint32_t *terms, const uint32_t *tf, size_t n,
                      const int64_t *labels, size_t nlabels, uint32_t id, uint8_t flags);
static int grow_pair(void **a, void **b, size_t elem, size_t *cap, size_t need);

/* The model's training stories, kept as the trainer keeps texts (the
 * model's term and label ids are the trainer's, load_counts made sure). */
static cd_status load_docs(cd_trainer *t, const cd_model *m, cd_error *err)
{
    uint32_t *terms = NULL, *tf = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < m->ndocs; i++) {
        const mf_doc *D = &m->docs[i];
        if (D->nlabels > MAX_LABELS_PER_TEXT) {
            free(terms);
            free(tf);
            return cd_error_set(err, CD_ERR_CORRUPT, "model: a training story with %u labels", D->nlabels);
        }
        if (grow_pair((void **)&terms, (void **)&tf, sizeof *terms, &cap, (size_t)D->nterms + 1)) {
            free(terms);
            free(tf);
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        for (uint32_t j = 0; j < D->nterms; j++) {
            terms[j] = m->doc_terms[2 * (D->term_off + j)];
            tf[j] = m->doc_terms[2 * (D->term_off + j) + 1];
        }
        int64_t labels[MAX_LABELS_PER_TEXT];
        for (uint32_t j = 0; j < D->nlabels; j++)
            labels[j] = m->doc_labels[D->label_off + j];
        uint32_t sid = UINT32_MAX;
        if (D->id_len) {
            uint32_t before = t->ids.count;
            int64_t k = cdi_vocab_intern(&t->ids, m->doc_ids + D->id_off, D->id_len);
            if (k < 0 || cdi_array_grow((void **)&t->id_doc, sizeof *t->id_doc, &t->id_doc_cap, (size_t)k + 1)) {
                free(terms);
                free(tf);
                return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            }
            if (t->ids.count == before && t->id_doc[k]) {
                /* a crafted file: the same id twice; the later one stays */
                t->docs.flags[t->id_doc[k] - 1] |= DOC_DEAD;
                t->dead = 1;
            }
            t->id_doc[k] = 0;
            sid = (uint32_t)k;
        }
        store_doc(t, terms, tf, D->nterms, labels, D->nlabels, sid,
                  (D->flags & MF_DOC_CORRECTION) ? DOC_CORRECTION : 0);
    }
    free(terms);
    free(tf);
    if (t->failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return CD_OK;
}

/* Where the model's refinement ended, as the solver's dual point
 * (refine.c): at the optimum each story's dual variable for a label is
 * C * sigmoid(-y s), s the refined score of the story, y +-1 whether it
 * has the label.  A correction moves that optimum a little: the solver
 * starts there and needs a pass or two, not a cold start's dozens.
 * Nothing is kept when out of memory: the refinement then starts cold. */
static void load_warm(cd_trainer *t, const cd_model *m)
{
    const nb_view *v = &m->view;
    const stored_docs *d = &t->docs;
    uint32_t L = v->nlabels;
    if (!m->params.refined || !L || !d->n || (double)d->n != t->params.docs)
        return;
    size_t maxn = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->start[i + 1] - d->start[i] > maxn)
            maxn = d->start[i + 1] - d->start[i];
    double *warm = malloc(sizeof *warm * d->n * L);
    double *f = malloc(sizeof *f * (maxn + 1)), *s = malloc(sizeof *s * L);
    if (!warm || !f || !s) {
        free(warm);
        free(f);
        free(s);
        return;
    }
    const double C = 1 / REFINE_LAMBDA;
    for (size_t i = 0; i < d->n; i++) {
        nb_doc doc = { d->terms + d->start[i], d->tf + d->start[i], d->start[i + 1] - d->start[i] };
        nb_score(v, &doc, f, s);
        for (uint32_t c = 0; c < L; c++) {
            int y = 0;
            for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++)
                y |= d->labels[k] == c;
            warm[(size_t)c * d->n + i] = C * nb_sigmoid(y ? -s[c] : s[c]);
        }
        d->wcol[i] = (uint32_t)i;
    }
    free(f);
    free(s);
    t->warm = warm;
    t->warm_n = d->n;
}

cd_status cd_trainer_from_model(const cd_model *m, cd_trainer **out, cd_error *err)
{
    cd_status st = trainer_alloc(&m->tok, &m->params.nb, out, err);
    if (st)
        return st;
    cd_trainer *t = *out;
    if ((st = load_counts(t, m, err)) || (st = load_docs(t, m, err))) {
        cd_trainer_free(t);
        *out = NULL;
        return st;
    }
    load_warm(t, m);
    t->from_model = 1;
    t->uncalibrated = m->uncalibrated;
    t->model_labels = m->view.nlabels;
    t->cv_picked = (int)m->cv_picked;
    t->cv_nscores = m->cv_nscores;
    memcpy(t->cv_scores, m->cv_scores, sizeof t->cv_scores);
    return st;
}

void cd_trainer_free(cd_trainer *t)
{
    if (!t)
        return;
    cd_tokenizer_free(t->tokenizer);
    for (uint32_t i = 0; i < t->vocab.count && t->posts; i++) {
        free(t->posts[i].label);
        free(t->posts[i].count);
    }
    cdi_vocab_free(&t->vocab);
    cdi_vocab_free(&t->label_vocab);
    free(t->df);
    free(t->total);
    free(t->posts);
    free(t->labels);
    free(t->calibrated);
    free(t->tf);
    free(t->touched);
    free(t->doc_tf);
    free(t->doc_f);
    free(t->docs.terms);
    free(t->docs.tf);
    free(t->docs.start);
    free(t->docs.labels);
    free(t->docs.label_start);
    free(t->docs.id);
    free(t->docs.flags);
    free(t->docs.wcol);
    free(t->warm);
    cdi_vocab_free(&t->ids);
    free(t->id_doc);
    for (size_t i = 0; i < t->npend; i++)
        free(t->pend[i].text);
    free(t->pend);
    free(t->pend_labels);
    free(t->id_pend);
    cdi_token_batch_free(t->batch);
    free(t);
}

size_t cd_trainer_docs(const cd_trainer *t)
{
    return (size_t)t->params.docs + t->npend;
}

/* ---- adding texts -------------------------------------------------------- */

static int on_token(const char *tok, size_t len, void *ud)
{
    cd_trainer *t = ud;
    int64_t id = cdi_vocab_intern(&t->vocab, tok, len);
    if (id < 0 || grow_terms(t, (uint32_t)id + 1) ||
        cdi_array_grow((void **)&t->touched, sizeof *t->touched, &t->touched_cap, t->ntouched + 1)) {
        t->failed = 1;
        return 1;
    }
    if (t->tf[id]++ == 0)
        t->touched[t->ntouched++] = (uint32_t)id;
    return 0;
}

/* Training features of one text: log(1 + tf), length-normalized. */
void tr_features(const nb_params *P, const uint32_t *tf, size_t n, double *f, double *sum)
{
    /* most terms occur once or twice in a text: log1p of small counts is
     * taken once per text, not once per term (the same values) */
    double small[8];
    uint8_t have[8] = { 0 };
    double norm = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = tf[i];
        if (!P->nb.log_tf) {
            f[i] = (double)k;
        } else if (k < 8) {
            if (!have[k]) {
                small[k] = log1p((double)k);
                have[k] = 1;
            }
            f[i] = small[k];
        } else {
            f[i] = log1p((double)k);
        }
        norm += f[i] * f[i];
    }
    norm = P->nb.length_norm && norm > 0 ? 1 / sqrt(norm) : 1;
    for (size_t i = 0; i < n; i++) {
        f[i] *= norm;
        s += f[i];
    }
    *sum = s;
}

/* Grow two parallel arrays that share one capacity. */
static int grow_pair(void **a, void **b, size_t elem, size_t *cap, size_t need)
{
    size_t n = *cap;
    if (cdi_array_grow(a, elem, &n, need))
        return -1;
    if (n != *cap) {
        void *q = realloc(*b, elem * n);
        if (!q)
            return -1;  /* *a is larger than *cap says: harmless */
        *b = q;
        *cap = n;
    }
    return 0;
}

/* Keep a text: n distinct terms with their frequencies, its labels, its
 * id (UINT32_MAX: none) and flags. */
static void store_doc(cd_trainer *t, const uint32_t *terms, const uint32_t *tf, size_t n,
                      const int64_t *labels, size_t nlabels, uint32_t id, uint8_t flags)
{
    stored_docs *d = &t->docs;
    if (d->n >= MAX_STORED_DOCS)
        return;
    if (grow_pair((void **)&d->terms, (void **)&d->tf, sizeof *d->terms, &d->cap, d->len + n) ||
        grow_pair((void **)&d->start, (void **)&d->label_start, sizeof *d->start, &d->n_cap, d->n + 2) ||
        cdi_array_grow((void **)&d->labels, sizeof *d->labels, &d->labels_cap, d->labels_len + nlabels)) {
        t->failed = 1;
        return;
    }
    if (cdi_array_grow((void **)&d->flags, sizeof *d->flags, &d->flags_cap, d->n + 1) ||
        cdi_array_grow((void **)&d->id, sizeof *d->id, &d->id_cap, d->n + 1) ||
        cdi_array_grow((void **)&d->wcol, sizeof *d->wcol, &d->wcol_cap, d->n + 1)) {
        t->failed = 1;
        return;
    }
    if (d->n == 0)
        d->start[0] = d->label_start[0] = 0;
    for (size_t i = 0; i < n; i++) {
        d->terms[d->len + i] = terms[i];
        d->tf[d->len + i] = tf[i];
    }
    d->len += n;
    d->id[d->n] = id;
    d->flags[d->n] = flags;
    d->wcol[d->n] = UINT32_MAX;
    if (id != UINT32_MAX)
        t->id_doc[id] = (uint32_t)d->n + 1;
    for (size_t i = 0; i < nlabels; i++)
        d->labels[d->labels_len++] = (uint32_t)labels[i];
    d->n++;
    d->start[d->n] = d->len;
    d->label_start[d->n] = d->labels_len;
}

/* Add one text's counts: n distinct terms with their frequencies, under
 * its labels.  f is scratch of n entries. */
static void count_text(cd_trainer *t, const uint32_t *terms, const uint32_t *tf, size_t n,
                       const int64_t *ids, size_t nids, double *f)
{
    double sum;
    tr_features(&t->params, tf, n, f, &sum);
    for (size_t i = 0; i < n; i++) {
        uint32_t w = terms[i];
        t->df[w] += 1;
        t->total[w] += f[i];
        for (size_t j = 0; j < nids; j++) {
            double *c = posting(&t->posts[w], (uint32_t)ids[j]);
            if (!c) {
                t->failed = 1;
                break;
            }
            *c += f[i];
        }
    }
    for (size_t j = 0; j < nids; j++) {
        t->labels[ids[j]].docs += 1;
        t->labels[ids[j]].mass += sum;
    }
    t->params.docs += 1;
    t->params.mass += sum;
    if (nids > 1)
        t->any_multi = 1;
}

static int flush(cd_trainer *t);
static void count_pending(cd_trainer *t, const pending_story *ps, size_t i);

/* "a, b, c" of the trainer's labels, for a message (truncated to fit). */
static void list_labels(const cd_trainer *t, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (uint32_t c = 0; c < t->label_vocab.count && at + 1 < cap; c++) {
        size_t n;
        const char *name = cdi_vocab_name(&t->label_vocab, c, &n);
        int w = snprintf(buf + at, cap - at, "%s%.*s", c ? ", " : "", (int)n, name);
        if (w < 0 || (size_t)w >= cap - at) {
            if (cap > 4)
                memcpy(buf + cap - 4, "...", 4);
            return;
        }
        at += (size_t)w;
    }
}

cd_status cd_trainer_add_story(cd_trainer *t, const char *id, const char *text, size_t len,
                               const char *const *labels, size_t nlabels, unsigned flags,
                               int *replaced, cd_error *err)
{
    if (replaced)
        *replaced = 0;
    if (nlabels == 0)
        return cd_error_set(err, CD_ERR_ARG, "a training story needs at least one label");
    int64_t ids[MAX_LABELS_PER_TEXT];
    size_t nids = 0;
    if (nlabels > MAX_LABELS_PER_TEXT)
        return cd_error_set(err, CD_ERR_LIMIT, "a training story may carry at most %d labels, this one has %zu",
                            MAX_LABELS_PER_TEXT, nlabels);
    for (size_t i = 0; i < nlabels; i++) {
        if (!labels[i] || !labels[i][0])
            return cd_error_set(err, CD_ERR_ARG, "empty label name");
        /* a mistyped label must not make a new one unnoticed */
        if (t->from_model && !(flags & CD_ADD_NEW_LABELS) &&
            cdi_vocab_find(&t->label_vocab, labels[i], strlen(labels[i])) < 0) {
            char list[1024];
            list_labels(t, list, sizeof list);
            return cd_error_set(err, CD_ERR_ARG, "label '%s' is not one of the model's %u labels (%s)",
                                labels[i], t->label_vocab.count, list);
        }
    }
    for (size_t i = 0; i < nlabels; i++) {
        int64_t lid = intern_label(t, labels[i]);
        if (lid < 0)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        int dup = 0;
        for (size_t j = 0; j < nids; j++)
            dup |= ids[j] == lid;
        if (!dup)
            ids[nids++] = lid;
    }
    /* the story's id: a story already held under it is replaced */
    uint32_t sid = UINT32_MAX;
    if (id && id[0]) {
        uint32_t before = t->ids.count;
        int64_t k = cdi_vocab_intern(&t->ids, id, strlen(id));
        if (k < 0 || cdi_array_grow((void **)&t->id_doc, sizeof *t->id_doc, &t->id_doc_cap, (size_t)k + 1))
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        if (t->ids.count != before)
            t->id_doc[k] = 0;   /* a new id */
        sid = (uint32_t)k;
    }
    /* kept until a batch of stories is tokenized on the cores (flush);
     * a story of more than a batch's share of bytes is counted at once
     * (its tokens would take several times its size), after those before
     * it */
    if (len > PENDING_BYTES / PENDING_STORIES * 16) {
        if (flush(t))
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        if (replaced)
            *replaced = sid != UINT32_MAX && t->id_doc[sid] != 0;
        pending_story ps = { (char *)text, len, sid, 0, (uint32_t)nids };
        if (cdi_array_grow((void **)&t->pend_labels, sizeof *t->pend_labels, &t->pend_labels_cap, nids))
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < nids; i++)
            t->pend_labels[i] = (uint32_t)ids[i];
        count_pending(t, &ps, SIZE_MAX);
        t->pend_labels_len = 0;
        if (t->pend_failed) {
            t->pend_failed = 0;   /* this story is refused; the others stand */
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        return CD_OK;
    }
    if (cdi_array_grow((void **)&t->pend, sizeof *t->pend, &t->pend_cap, t->npend + 1) ||
        cdi_array_grow((void **)&t->pend_labels, sizeof *t->pend_labels, &t->pend_labels_cap,
             t->pend_labels_len + nids) ||
        (sid != UINT32_MAX &&
         cdi_array_grow((void **)&t->id_pend, sizeof *t->id_pend, &t->id_pend_cap, (size_t)sid + 1)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    char *copy = malloc(len + 1);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (sid != UINT32_MAX) {
        if (t->id_pend_cap > t->id_pend_seen) {
            /* ids interned since the last story: none pending yet */
            memset(t->id_pend + t->id_pend_seen, 0, sizeof *t->id_pend * (t->id_pend_cap - t->id_pend_seen));
            t->id_pend_seen = t->id_pend_cap;
        }
        /* an earlier story of this id, counted or pending, is replaced */
        if (replaced)
            *replaced = t->id_doc[sid] != 0 || t->id_pend[sid] != 0;
        t->id_pend[sid]++;
    }
    pending_story *ps = &t->pend[t->npend++];
    ps->text = copy;
    ps->len = len;
    ps->sid = sid;
    ps->label_off = (uint32_t)t->pend_labels_len;
    ps->nlabels = (uint32_t)nids;
    for (size_t i = 0; i < nids; i++)
        t->pend_labels[t->pend_labels_len++] = (uint32_t)ids[i];
    t->pend_bytes += len;
    if ((t->npend >= PENDING_STORIES || t->pend_bytes >= PENDING_BYTES) && flush(t))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return CD_OK;
}

/* Count one pending story whose tokens the batch holds (story i of it;
 * SIZE_MAX: tokenized here), in the order the stories came. */
static void count_pending(cd_trainer *t, const pending_story *ps, size_t i)
{
    t->ntouched = 0;
    t->failed = 0;
    if (t->batch && i != SIZE_MAX)
        cdi_token_batch_each(t->batch, i, on_token, t);
    else   /* a story too large to keep its tokens: tokenized here */
        cd_tokenize(t->tokenizer, ps->text, ps->len, on_token, t);
    if (t->failed || grow_pair((void **)&t->doc_tf, (void **)&t->doc_f, sizeof *t->doc_f,
                               &t->doc_cap, t->ntouched + 1)) {
        for (size_t k = 0; k < t->ntouched; k++)
            t->tf[t->touched[k]] = 0;
        t->pend_failed = 1;
        return;
    }
    uint32_t *tf = t->doc_tf;
    for (size_t k = 0; k < t->ntouched; k++) {
        tf[k] = t->tf[t->touched[k]];
        t->tf[t->touched[k]] = 0;
    }
    uint32_t sid = ps->sid;
    if (sid != UINT32_MAX && t->id_doc[sid]) {
        /* The earlier story leaves: its counts are recounted away before
         * the model is saved (from the stories kept, exactly). */
        t->docs.flags[t->id_doc[sid] - 1] |= DOC_DEAD;
        t->id_doc[sid] = 0;
        t->dead = 1;
    }
    int64_t ids[MAX_LABELS_PER_TEXT];
    for (uint32_t k = 0; k < ps->nlabels; k++)
        ids[k] = t->pend_labels[ps->label_off + k];
    count_text(t, t->touched, tf, t->ntouched, ids, ps->nlabels, t->doc_f);
    store_doc(t, t->touched, tf, t->ntouched, ids, ps->nlabels, sid, t->from_model ? DOC_CORRECTION : 0);
    if (t->from_model)
        t->uncalibrated++;
    if (t->failed)
        t->pend_failed = 1;
}

/* Tokenize the pending stories on the cores, then count them in order.
 * -1 when out of memory (the trainer then refuses to save). */
static int flush(cd_trainer *t)
{
    if (!t->npend)
        return t->pend_failed ? -1 : 0;
    const char **texts = malloc(sizeof *texts * t->npend);
    size_t *lens = malloc(sizeof *lens * t->npend);
    if (!t->batch)
        t->batch = cdi_token_batch_new(&t->tok);
    int ok = texts && lens && t->batch;
    for (size_t i = 0; ok && i < t->npend; i++) {
        texts[i] = t->pend[i].text;
        lens[i] = t->pend[i].len;
    }
    ok = ok && cdi_token_batch_run(t->batch, texts, lens, t->npend) == 0;
    for (size_t i = 0; i < t->npend; i++) {
        if (ok)
            count_pending(t, &t->pend[i], i);
        if (t->pend[i].sid != UINT32_MAX)
            t->id_pend[t->pend[i].sid]--;
        free(t->pend[i].text);
    }
    if (!ok)
        t->pend_failed = 1;
    t->npend = t->pend_bytes = t->pend_labels_len = 0;
    free(texts);
    free(lens);
    return t->pend_failed ? -1 : 0;
}

cd_status cd_trainer_add(cd_trainer *t, const char *text, size_t len,
                         const char *const *labels, size_t nlabels, cd_error *err)
{
    return cd_trainer_add_story(t, NULL, text, len, labels, nlabels, CD_ADD_NEW_LABELS, NULL, err);
}

/* Take a replaced story's counts out, when not every story is kept and
 * the counts cannot be made again from the stories (floating-point sums:
 * nearly, not exactly, what a retrain would count). */
static void subtract_text(cd_trainer *t, size_t i, double *f)
{
    const stored_docs *d = &t->docs;
    size_t n = d->start[i + 1] - d->start[i];
    const uint32_t *terms = d->terms + d->start[i];
    double sum;
    tr_features(&t->params, d->tf + d->start[i], n, f, &sum);
    for (size_t j = 0; j < n; j++) {
        t->df[terms[j]] -= 1;
        t->total[terms[j]] -= f[j];
        for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++)
            *posting(&t->posts[terms[j]], d->labels[k]) -= f[j];   /* present: added before */
    }
    for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++) {
        t->labels[d->labels[k]].docs -= 1;
        t->labels[d->labels[k]].mass -= sum;
    }
    t->params.docs -= 1;
    t->params.mass -= sum;
}

/* Drop the replaced stories: count the others again from scratch when
 * every story is kept, so that the counts are exactly those of a model
 * trained on them. */
static int drop_replaced(cd_trainer *t)
{
    stored_docs *d = &t->docs;
    int all = (double)d->n == t->params.docs;
    size_t maxn = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->start[i + 1] - d->start[i] > maxn)
            maxn = d->start[i + 1] - d->start[i];
    double *f = malloc(sizeof *f * (maxn + 1));
    if (!f)
        return -1;
    if (!all)
        for (size_t i = 0; i < d->n; i++)
            if (d->flags[i] & DOC_DEAD)
                subtract_text(t, i, f);
    size_t n = 0, len = 0, llen = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->flags[i] & DOC_DEAD)
            continue;
        size_t s = d->start[i], e = d->start[i + 1];
        size_t ls = d->label_start[i], le = d->label_start[i + 1];
        memmove(d->terms + len, d->terms + s, sizeof *d->terms * (e - s));
        memmove(d->tf + len, d->tf + s, sizeof *d->tf * (e - s));
        memmove(d->labels + llen, d->labels + ls, sizeof *d->labels * (le - ls));
        d->start[n] = len;
        d->label_start[n] = llen;
        len += e - s;
        llen += le - ls;
        d->id[n] = d->id[i];
        d->flags[n] = d->flags[i];
        d->wcol[n] = d->wcol[i];
        if (d->id[n] != UINT32_MAX)
            t->id_doc[d->id[n]] = (uint32_t)n + 1;
        n++;
    }
    d->n = n;
    d->len = len;
    d->labels_len = llen;
    d->start[n] = len;
    d->label_start[n] = llen;
    t->dead = 0;
    if (!all) {
        free(f);
        return 0;
    }
    for (uint32_t w = 0; w < t->vocab.count; w++) {
        t->df[w] = t->total[w] = 0;
        t->posts[w].n = 0;
    }
    for (uint32_t c = 0; c < t->label_vocab.count; c++)
        t->labels[c].docs = t->labels[c].mass = 0;
    t->params.docs = t->params.mass = 0;
    t->any_multi = 0;
    t->failed = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ids[MAX_LABELS_PER_TEXT];
        size_t nids = d->label_start[i + 1] - d->label_start[i];
        for (size_t k = 0; k < nids; k++)
            ids[k] = d->labels[d->label_start[i] + k];
        count_text(t, d->terms + d->start[i], d->tf + d->start[i], d->start[i + 1] - d->start[i],
                   ids, nids, f);
    }
    free(f);
    return t->failed ? -1 : 0;
}

/* ---- compiling the counts into model arrays ------------------------------ */

static void compiled_free(compiled *c)
{
    free(c->view.labels);
    free(c->view.terms);
    free(c->view.posts);
    free(c->label_names);
}

static void sort_postings(nb_post *p, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        nb_post x = p[i];
        uint32_t j = i;
        while (j > 0 && p[j - 1].label > x.label) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
}

static int compile(const cd_trainer *t, compiled *c)
{
    memset(c, 0, sizeof *c);
    uint32_t L = t->label_vocab.count, V = t->vocab.count;
    size_t nposts = 0;
    for (uint32_t w = 0; w < V; w++)
        nposts += t->posts[w].n;
    if (nposts > UINT32_MAX)
        return -1;
    c->params = t->params;
    c->view.params = &c->params;
    c->view.nlabels = L;
    c->view.nterms = V;
    c->view.nposts = (uint32_t)nposts;
    c->view.labels = malloc(sizeof(nb_label) * (L ? L : 1));
    c->view.terms = malloc(sizeof(nb_term) * (V ? V : 1));
    c->view.posts = malloc(sizeof(nb_post) * (nposts ? nposts : 1));
    c->label_names = malloc(sizeof(char *) * (L ? L : 1));
    if (!c->view.labels || !c->view.terms || !c->view.posts || !c->label_names)
        return -1;
    for (uint32_t i = 0; i < L; i++)
        c->view.labels[i] = t->labels[i];
    uint32_t at = 0;
    for (uint32_t w = 0; w < V; w++) {
        nb_term *T = &c->view.terms[w];
        memset(T, 0, sizeof *T);
        T->post_off = at;
        T->post_n = t->posts[w].n;
        T->name_off = t->vocab.name_off[w];
        T->name_len = t->vocab.name_len[w];
        T->df = t->df[w];
        T->total = t->total[w];
        for (uint32_t k = 0; k < T->post_n; k++) {
            nb_post *p = &c->view.posts[at + k];
            memset(p, 0, sizeof *p);
            p->label = t->posts[w].label[k];
            p->count = t->posts[w].count[k];
        }
        sort_postings(&c->view.posts[at], T->post_n);
        at += T->post_n;
    }
    return 0;
}

/* ---- saving ---------------------------------------------------------------- */

/* Settings of kind auto for the data at hand (see cd_nb_opts_default),
 * except those pinned. */
static void resolve_auto(nb_params *P)
{
    cd_nb_opts *o = &P->nb;
    cd_nb_opts preset;
    cd_nb_opts_default(&preset);
    if (P->multilabel) {
        preset.kind = CD_NB_COMPLEMENT;
    } else {
        preset.kind = CD_NB_MULTINOMIAL;
        preset.alpha = 0.05;
        preset.log_tf = preset.idf = preset.length_norm = preset.weight_norm = 0;
        preset.min_df = 1;
        preset.refine = 0;
    }
    o->kind = preset.kind;
    if (!(o->pinned & CD_NB_PIN_ALPHA)) o->alpha = preset.alpha;
    if (!(o->pinned & CD_NB_PIN_ALPHA_REST)) o->alpha_rest = preset.alpha_rest;
    if (!(o->pinned & CD_NB_PIN_LOG_TF)) o->log_tf = preset.log_tf;
    if (!(o->pinned & CD_NB_PIN_IDF)) o->idf = preset.idf;
    if (!(o->pinned & CD_NB_PIN_LENGTH_NORM)) o->length_norm = preset.length_norm;
    if (!(o->pinned & CD_NB_PIN_WEIGHT_NORM)) o->weight_norm = preset.weight_norm;
    if (!(o->pinned & CD_NB_PIN_MIN_DF)) o->min_df = preset.min_df;
    if (!(o->pinned & CD_NB_PIN_REFINE)) o->refine = preset.refine;
}

/* Count the stored texts again with the features of P (used when kind
 * auto chose other features than those counted while adding). */
static int recount(const cd_trainer *t, compiled *full)
{
    nb_view *v = &full->view;
    nb_params *P = &full->params;
    const stored_docs *d = &t->docs;
    double *f = malloc(sizeof *f * (d->len + 1));
    if (!f)
        return -1;
    for (uint32_t p = 0; p < v->nposts; p++)
        v->posts[p].count = 0;
    for (uint32_t w = 0; w < v->nterms; w++)
        v->terms[w].total = 0;
    for (uint32_t c = 0; c < v->nlabels; c++)
        v->labels[c].mass = 0;
    P->mass = 0;
    for (size_t i = 0; i < d->n; i++) {
        size_t n = d->start[i + 1] - d->start[i];
        const uint32_t *terms = d->terms + d->start[i];
        double sum;
        tr_features(P, d->tf + d->start[i], n, f, &sum);
        for (size_t j = 0; j < n; j++) {
            v->terms[terms[j]].total += f[j];
            for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++) {
                nb_post *p = tr_find_posting(v, terms[j], d->labels[k]);
                if (p)
                    p->count += f[j];
            }
        }
        for (size_t k = d->label_start[i]; k < d->label_start[i + 1]; k++)
            v->labels[d->labels[k]].mass += sum;
        P->mass += sum;
    }
    free(f);
    return 0;
}

/* Resolve kind auto; returns 1 when the counts must be recounted. */
static int settle_kind(const cd_trainer *t, compiled *full)
{
    nb_params *P = &full->params;
    if (P->nb.kind != CD_NB_AUTO)
        return 0;
    uint8_t log_tf = P->nb.log_tf, norm = P->nb.length_norm;
    resolve_auto(P);
    if (P->nb.log_tf == log_tf && P->nb.length_norm == norm)
        return 0;
    if ((double)t->docs.n != t->params.docs) {
        /* Not every text is at hand: keep the features they were counted with. */
        P->nb.log_tf = log_tf;
        P->nb.length_norm = norm;
        return 0;
    }
    return 1;
}

/* Kind auto, single-label data: the variant and smoothing with the best
 * mean held-out accuracy over the folds, among a few (the preset first,
 * which keeps ties).  Naive Bayes needs no refitting to score a fold, so
 * each candidate costs about one training.  Multi-label data: see
 * cv_multi_candidates. */
/* Mean held-out accuracy a setting must gain over the preset: this, and
 * at least two stories per fold. */
#define CV_MARGIN 0.005

/* Kind auto, multi-label data: the refined preset's folds are scored by
 * its calibration (their refinement is the costly part of training);
 * complement naive Bayes without refinement, at alpha-rest 0.3 and 1, is
 * scored on the same folds, calibrated as training calibrates, on a thread
 * of its own beside the refinement (it fills the cores where the
 * refinement leaves one idle), from a copy of the counts.  The best of
 * those is weighed against the preset once it is calibrated
 * (cd_trainer_save): it must be clearly better, by CV_MARGIN. */
typedef struct cv_candidate {
    const cd_trainer *t;
    compiled c;             /* the counts, with this setting's params */
    int K;                  /* folds scored, 0 for none, -1 out of memory */
    double sc[TR_MAX_FOLD_SCORES];
} cv_candidate;

enum { CV_ALTS = 2 };
typedef struct cv_background {
    compiled snap;          /* the counts as compiled, the candidates' own copy */
    cv_candidate cand[CV_ALTS];
    int n;                  /* candidates, 0 for none */
    pthread_t tid;
    int started;
} cv_background;

static void *cv_candidate_run(void *arg)
{
    cv_candidate *x = arg;
    x->c.view.params = &x->c.params;
    x->K = tr_cv_multi(x->t, &x->c, x->sc);
    return NULL;
}

static void *cv_background_run(void *arg)
{
    cv_background *bg = arg;
    for (int i = 0; i < bg->n; i++)
        cv_candidate_run(&bg->cand[i]);
    return NULL;
}

static void cv_background_free(cv_background *bg)
{
    free(bg->snap.view.labels);
    free(bg->snap.view.terms);
    free(bg->snap.view.posts);
    memset(&bg->snap, 0, sizeof bg->snap);
    bg->n = 0;
}

/* Start scoring the settings without refinement; -1 when out of memory. */
static int cv_multi_start(cd_trainer *t, const compiled *full, cv_background *bg)
{
    const nb_params *P = &full->params;
    t->cv_alt = 0;
    if ((P->nb.pinned & CD_NB_PIN_REFINE) && P->nb.refine > 0)
        return 0;   /* refinement asked for: nothing to weigh it against */
    const nb_view *v = &full->view;
    bg->snap = *full;
    bg->snap.label_names = NULL;
    bg->snap.view.labels = malloc(sizeof *v->labels * (v->nlabels ? v->nlabels : 1));
    bg->snap.view.terms = malloc(sizeof *v->terms * (v->nterms ? v->nterms : 1));
    bg->snap.view.posts = malloc(sizeof *v->posts * (v->nposts ? v->nposts : 1));
    if (!bg->snap.view.labels || !bg->snap.view.terms || !bg->snap.view.posts) {
        cv_background_free(bg);
        return -1;
    }
    memcpy(bg->snap.view.labels, v->labels, sizeof *v->labels * v->nlabels);
    memcpy(bg->snap.view.terms, v->terms, sizeof *v->terms * v->nterms);
    memcpy(bg->snap.view.posts, v->posts, sizeof *v->posts * v->nposts);
    static const double alphas[CV_ALTS] = { 0.3, 1.0 };
    bg->n = (P->nb.pinned & CD_NB_PIN_ALPHA_REST) ? 1 : CV_ALTS;
    for (int i = 0; i < bg->n; i++) {
        bg->cand[i].t = t;
        bg->cand[i].c = bg->snap;
        bg->cand[i].c.params.nb.refine = 0;
        if (!(P->nb.pinned & CD_NB_PIN_ALPHA_REST))
            bg->cand[i].c.params.nb.alpha_rest = alphas[i];
        bg->cand[i].K = 0;
    }
    bg->started = pthread_create(&bg->tid, NULL, cv_background_run, bg) == 0;
    return 0;
}

/* Wait for the candidates (scored here if their thread did not start)
 * and keep the best; -1 when out of memory. */
static int cv_multi_finish(cd_trainer *t, cv_background *bg)
{
    if (!bg->n)
        return 0;
    if (bg->started)
        pthread_join(bg->tid, NULL);
    else
        cv_background_run(bg);
    bg->started = 0;
    int rc = 0;
    for (int i = 0; i < bg->n; i++) {
        if (bg->cand[i].K < 0) {
            rc = -1;
            break;
        }
        double mean = 0;
        for (int k = 0; k < bg->cand[i].K; k++)
            mean += bg->cand[i].sc[k] / bg->cand[i].K;
        if (bg->cand[i].K > 0 && (!t->cv_alt || mean > t->cv_alt_mean)) {
            t->cv_alt = 1;
            t->cv_alt_mean = mean;
            t->cv_alt_params = bg->cand[i].c.params;
        }
    }
    t->cv_picked = rc ? 0 : t->cv_alt;
    if (rc)
        t->cv_alt = 0;
    cv_background_free(bg);
    return rc;
}

static int choose_by_cv(cd_trainer *t, compiled *full, cv_background *bg,
                        cd_progress_fn progress, void *ud)
{
    nb_params *P = &full->params;
    if (t->params.nb.kind != CD_NB_AUTO || t->from_model ||
        (double)t->docs.n != t->params.docs || !tr_folds(t, P))
        return 0;
    if (P->multilabel)
        return cv_multi_start(t, full, bg);
    static const struct { cd_nb_kind kind; double alpha; } cand[] = {
        { CD_NB_MULTINOMIAL, 0.05 }, { CD_NB_MULTINOMIAL, 0.01 }, { CD_NB_MULTINOMIAL, 0.2 },
        { CD_NB_MULTINOMIAL, 1.0 }, { CD_NB_COMPLEMENT, 0.1 }, { CD_NB_COMPLEMENT, 0.3 },
        { CD_NB_COMPLEMENT, 1.0 },
    };
    size_t ncand = sizeof cand / sizeof cand[0];
    nb_params preset = *P, best = *P;
    double best_mean = -1, preset_mean = -1, sc[TR_MAX_FOLD_SCORES];
    for (size_t i = 0; i < ncand; i++) {
        if (progress)
            progress("choosing", (double)i / ncand, ud);
        *P = preset;
        P->nb.kind = cand[i].kind;
        if (cand[i].kind == CD_NB_MULTINOMIAL) {
            if (!(P->nb.pinned & CD_NB_PIN_ALPHA))
                P->nb.alpha = cand[i].alpha;
            else if (cand[i].alpha != 0.05)
                continue;
        } else {
            if (!(P->nb.pinned & CD_NB_PIN_ALPHA_REST))
                P->nb.alpha_rest = cand[i].alpha;
            else if (cand[i].alpha != 0.3)
                continue;
            if (!(P->nb.pinned & CD_NB_PIN_WEIGHT_NORM))
                P->nb.weight_norm = 1;   /* Rennie's WCNB */
        }
        int K = tr_cv_accuracy(t, full, sc);
        if (K < 0) {
            *P = preset;
            return -1;
        }
        double mean = 0;
        for (int k = 0; k < K; k++)
            mean += sc[k] / K;
        /* another setting must do clearly better than the preset: a
         * story or two per fold is noise, and picking on noise does
         * worse on new stories */
        if (i == 0)
            preset_mean = mean;
        double margin = fmax(CV_MARGIN, 2.0 * K / (double)t->docs.n);
        if (mean > best_mean && mean >= preset_mean + (i ? margin : 0)) {
            best_mean = mean;
            best = *P;
        }
    }
    *P = best;
    t->cv_picked = 1;
    return 0;
}

/* The stories kept and the training notes into src, then the file. */
static cd_status write_model(const cd_trainer *t, mf_source *src, const char *path, cd_error *err)
{
    const stored_docs *d = &t->docs;
    /* Only a model that keeps every story it counts can be refitted. */
    size_t n = (double)d->n == t->params.docs ? d->n : 0;
    const char **idn = malloc(sizeof *idn * (n + 1));
    uint32_t *idl = malloc(sizeof *idl * (n + 1));
    if (!idn || !idl) {
        free(idn);
        free(idl);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        idn[i] = NULL;
        idl[i] = 0;
        if (d->id[i] != UINT32_MAX) {
            size_t len;
            idn[i] = cdi_vocab_name(&t->ids, d->id[i], &len);
            idl[i] = (uint32_t)len;
        }
    }
    src->ndocs = n;
    src->doc_start = d->start;
    src->doc_terms = d->terms;
    src->doc_tf = d->tf;
    src->label_start = d->label_start;
    src->doc_labels = d->labels;
    src->id_names = idn;
    src->id_lens = idl;
    src->doc_flags = d->flags;
    src->uncalibrated = t->uncalibrated;
    src->at_least_one = t->params.nb.at_least_one != 0;
    src->cv_picked = (uint32_t)t->cv_picked;
    src->cv_nscores = t->cv_nscores;
    src->cv_scores = t->cv_scores;
    cd_status st = cdi_model_write(src, path, err);
    free(idn);
    free(idl);
    return st;
}

/* The model's dual point for the stored stories (L labels x stories):
 * a story or label the model did not have starts cold (NaN, refine.c);
 * NULL when there is none. */
static double *warm_start(const cd_trainer *t, uint32_t L)
{
    const stored_docs *d = &t->docs;
    if (!t->warm || !d->n)
        return NULL;
    double *w = malloc(sizeof *w * d->n * L);
    if (!w)
        return NULL;
    for (uint32_t c = 0; c < L; c++)
        for (size_t i = 0; i < d->n; i++)
            w[(size_t)c * d->n + i] = c < t->model_labels && d->wcol[i] != UINT32_MAX
                                          ? t->warm[(size_t)c * t->warm_n + d->wcol[i]] : NAN;
    return w;
}

cd_status cd_trainer_save(cd_trainer *t, const char *path,
                          cd_progress_fn progress, void *ud, cd_error *err)
{
    if (flush(t))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory while training");
    if (t->label_vocab.count == 0 || t->params.docs <= 0)
        return cd_error_set(err, CD_ERR_ARG, "no labelled stories to train on");
    if (t->failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory while training");
    if (t->dead && drop_replaced(t))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory while counting");
    switch (t->params.nb.mode) {
    case CD_LABELS_SINGLE: t->params.multilabel = 0; break;
    case CD_LABELS_MULTI: t->params.multilabel = 1; break;
    default: t->params.multilabel = t->any_multi; break;
    }
    compiled full;
    if (compile(t, &full)) {
        compiled_free(&full);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory while compiling the model");
    }
    for (uint32_t c = 0; c < full.view.nlabels; c++)
        full.label_names[c] = t->label_vocab.pool + t->label_vocab.name_off[c];
    cd_status st = CD_OK;
    if (settle_kind(t, &full) && recount(t, &full))
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory while counting");
    cv_background bg;
    memset(&bg, 0, sizeof bg);
    if (!st && choose_by_cv(t, &full, &bg, progress, ud))
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory while cross-validating");
    /* The whole set's weights first: its refinement's end point is where
     * the folds' start. */
    double *warm = NULL;
    if (!st) {
        nb_compute_weights(&full.view);
        full.params.refined = tr_refining(t, &full.params);
        if (full.params.refined) {
            double *start = warm_start(t, full.view.nlabels);
            warm = malloc(sizeof *warm * (t->docs.n ? t->docs.n : 1) * full.view.nlabels);
            if (!warm || tr_refine_view(t, &full.view, NULL, 0, start, warm, progress, "refining", ud))
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory while refining");
            free(start);
        }
    }
    /* A model given a few corrections keeps its calibration (the
     * sigmoids and thresholds fitted on held-out folds): the folds are
     * fitted again once the stories added or replaced since make up more
     * than RECALIBRATE_SHARE of them, or a label is new. */
    int keep = t->from_model && t->label_vocab.count == t->model_labels &&
               t->uncalibrated <= RECALIBRATE_SHARE * (double)t->docs.n;
    if (!st && !keep) {
        st = tr_calibrate(t, &full, warm, t->cv_scores, &t->cv_nscores, progress, ud, err);
        t->uncalibrated = 0;
    }
    if (cv_multi_finish(t, &bg) && !st)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory while cross-validating");
    if (!st && !keep && t->cv_alt) {
        /* kind auto, multi-label: the refined preset against the best
         * setting without refinement, on the same folds */
        double mean = 0;
        for (uint32_t k = 0; k < t->cv_nscores; k++)
            mean += t->cv_scores[k] / t->cv_nscores;
        if (t->cv_nscores && t->cv_alt_mean >= mean + CV_MARGIN) {
            full.params = t->cv_alt_params;
            full.params.refined = 0;
            nb_compute_weights(&full.view);
            for (uint32_t c = 0; c < full.view.nlabels; c++)
                full.view.labels[c].platt_a = full.view.labels[c].platt_b = full.view.labels[c].threshold = 0;
            free(warm);
            warm = NULL;
            st = tr_calibrate(t, &full, NULL, t->cv_scores, &t->cv_nscores, progress, ud, err);
        }
        t->cv_alt = 0;
    }
    if (!st) {
        /* label names in the pool are not NUL-terminated: copy them */
        char **names = calloc(full.view.nlabels, sizeof *names);
        for (uint32_t c = 0; names && c < full.view.nlabels; c++) {
            size_t n = t->label_vocab.name_len[c];
            names[c] = malloc(n + 1);
            if (!names[c])
                break;
            memcpy(names[c], full.label_names[c], n);
            names[c][n] = '\0';
        }
        int ok = names != NULL;
        for (uint32_t c = 0; ok && c < full.view.nlabels; c++)
            ok = names[c] != NULL;
        if (ok) {
            mf_source src = {
                .view = &full.view, .tok = &t->tok,
                .label_names = (const char *const *)names,
                .term_pool = t->vocab.pool,
                .term_hashes = t->vocab.hashes,
            };
            st = write_model(t, &src, path, err);
            /* Settling: the corrected model is in place (the correction
             * is live); now the calibration is fitted again on the folds
             * a retrain would use and the model written once more, so
             * that it is the retrained model, however small the batch. */
            if (!st && keep && t->settle && t->uncalibrated > 0) {
                st = tr_calibrate(t, &full, warm, t->cv_scores, &t->cv_nscores, progress, ud, err);
                t->uncalibrated = 0;
                if (!st)
                    st = write_model(t, &src, path, err);
            }
        } else {
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        for (uint32_t c = 0; names && c < full.view.nlabels; c++)
            free(names[c]);
        free(names);
    }
    free(warm);
    compiled_free(&full);
    return st;
}

void cd_trainer_set_settle(cd_trainer *t, int settle)
{
    t->settle = settle != 0;
}
