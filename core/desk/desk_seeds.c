/*
 * desk_seeds.c - a desk's taxonomy learned from unlabelled stories and its
 * topics' keywords (copydesk/seeded.h): the desk side.  It loads the
 * taxonomy, counts each story's keyword hits with the desk's own matching
 * (the same folding, phrases and wildcards as routing), turns the story
 * into term counts for the EM of core/model/seeded.c, and finally trains an
 * ordinary model on the labels EM settled on.
 */
#include <stdlib.h>
#include <string.h>

#include "desk/desk_internal.h"
#include "model/seeded.h"
#include "model/vocab.h"

struct cd_seeded {
    cd_desk *desk;
    size_t nclasses;
    size_t *class_topic;       /* class -> topic index */
    int *topic_class;          /* topic -> class, or -1 */
    size_t *unlearned;         /* topics left out */
    size_t nunlearned;
    cd_em *em;
    cd_vocab vocab;
    cd_toklist *toks;
    cd_topic_score *scores;
    double *hits;
    uint32_t *tf, *touched, *counts;   /* scratch: per term, distinct terms */
    size_t tf_cap, touched_cap, ntouched;
    int failed;                /* out of memory while counting a story */
    char *texts;               /* every story's text, for the final training */
    size_t texts_len, texts_cap;
    size_t *text_off;          /* story i is texts[text_off[i] .. text_off[i+1]) */
    size_t ntexts, off_cap;
    int learned;
};

void cd_seeded_opts_default(cd_seeded_opts *o)
{
    o->max_iter = 30;
    o->tol = 1e-5;
}

static double no_label(const char *label, void *ud)
{
    (void)label;
    (void)ud;
    return -1;
}

void cd_seeded_free(cd_seeded *s)
{
    if (!s)
        return;
    cd_desk_free(s->desk);
    free(s->class_topic);
    free(s->topic_class);
    free(s->unlearned);
    cdi_em_free(s->em);
    cdi_vocab_free(&s->vocab);
    cdi_toklist_free(s->toks);
    free(s->scores);
    free(s->hits);
    free(s->tf);
    free(s->touched);
    free(s->counts);
    free(s->texts);
    free(s->text_off);
    free(s);
}

/* Whether some class is topic i or under it. */
static int has_class_under(const cd_seeded *s, const cd_topics *t, size_t i)
{
    for (size_t c = 0; c < s->nclasses; c++)
        for (int a = (int)s->class_topic[c]; a >= 0; a = cdi_topics_parent(t, (size_t)a))
            if ((size_t)a == i)
                return 1;
    return 0;
}

cd_status cd_seeded_open(const char *desk_path, cd_seeded **out, cd_error *err)
{
    *out = NULL;
    cd_seeded *s = calloc(1, sizeof *s);
    if (!s || cdi_vocab_init(&s->vocab)) {
        free(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    cd_desk_opts o;
    cd_desk_opts_default(&o);
    o.taxonomy_only = 1;
    cd_status st = cd_desk_load(desk_path, &o, &s->desk, err);
    if (st != CD_OK) {
        cd_seeded_free(s);
        return st;
    }
    const cd_topics *t = s->desk->topics;
    size_t nt = cdi_topics_count(t);
    s->class_topic = calloc(nt + 1, sizeof *s->class_topic);
    s->topic_class = calloc(nt + 1, sizeof *s->topic_class);
    s->unlearned = calloc(nt + 1, sizeof *s->unlearned);
    int *parent = calloc(nt + 1, sizeof *parent);
    int *class_node = calloc(nt + 1, sizeof *class_node);
    s->scores = calloc(nt + 1, sizeof *s->scores);
    s->hits = calloc(nt + 1, sizeof *s->hits);
    s->toks = cdi_toklist_new();
    if (!s->class_topic || !s->topic_class || !s->unlearned || !parent || !class_node ||
        !s->scores || !s->hits || !s->toks) {
        free(parent);
        free(class_node);
        cd_seeded_free(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nt; i++) {
        parent[i] = cdi_topics_parent(t, i);
        s->topic_class[i] = -1;
        if (cdi_topics_keywords(t, i) > 0) {
            s->topic_class[i] = (int)s->nclasses;
            class_node[s->nclasses] = (int)i;
            s->class_topic[s->nclasses++] = i;
        }
    }
    for (size_t i = 0; i < nt; i++)
        if (s->topic_class[i] < 0 && !has_class_under(s, t, i))
            s->unlearned[s->nunlearned++] = i;
    if (s->nclasses == 0) {
        free(parent);
        free(class_node);
        cd_seeded_free(s);
        return cd_error_set(err, CD_ERR_ARG,
                            "%s: no topic of the taxonomy has keywords: seeded training "
                            "learns the topics from their keywords (keywords = { ... })",
                            desk_path);
    }
    st = cdi_em_new(nt, parent, s->nclasses, class_node, &s->em, err);
    free(parent);
    free(class_node);
    if (st != CD_OK) {
        cd_seeded_free(s);
        return st;
    }
    *out = s;
    return CD_OK;
}

/* Keep the story's text for the final training. */
static cd_status keep_text(cd_seeded *s, const char *text, size_t len, cd_error *err)
{
    if (s->ntexts + 2 > s->off_cap) {
        size_t cap = s->off_cap ? s->off_cap * 2 : 1024;
        size_t *off = realloc(s->text_off, sizeof *off * cap);
        if (!off)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        s->text_off = off;
        s->off_cap = cap;
        if (s->ntexts == 0)
            s->text_off[0] = 0;
    }
    if (s->texts_len + len > s->texts_cap) {
        size_t cap = s->texts_cap ? s->texts_cap : 1 << 20;
        while (cap < s->texts_len + len)
            cap *= 2;
        char *t = realloc(s->texts, cap);
        if (!t)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        s->texts = t;
        s->texts_cap = cap;
    }
    memcpy(s->texts + s->texts_len, text, len);
    s->texts_len += len;
    s->text_off[++s->ntexts] = s->texts_len;
    return CD_OK;
}

/* Count one token into the story's term frequencies. */
static int count_token(const char *tok, size_t len, void *ud)
{
    cd_seeded *s = ud;
    int64_t id = cdi_vocab_intern(&s->vocab, tok, len);
    if (id < 0)
        return s->failed = 1;
    if ((size_t)id >= s->tf_cap) {
        size_t cap = s->tf_cap ? s->tf_cap * 2 : 65536;
        while (cap <= (size_t)id)
            cap *= 2;
        uint32_t *tf = realloc(s->tf, sizeof *tf * cap);
        if (!tf)
            return s->failed = 1;
        memset(tf + s->tf_cap, 0, sizeof *tf * (cap - s->tf_cap));
        s->tf = tf;
        s->tf_cap = cap;
    }
    if (s->tf[id]++ == 0) {
        if (s->ntouched == s->touched_cap) {
            size_t cap = s->touched_cap ? s->touched_cap * 2 : 1024;
            uint32_t *t = realloc(s->touched, sizeof *t * cap);
            uint32_t *c = t ? realloc(s->counts, sizeof *c * cap) : NULL;
            if (t)
                s->touched = t;
            if (!c)
                return s->failed = 1;
            s->counts = c;
            s->touched_cap = cap;
        }
        s->touched[s->ntouched++] = (uint32_t)id;
    }
    return 0;
}

cd_status cd_seeded_add(cd_seeded *s, const char *text, size_t len, cd_error *err)
{
    if (s->learned)
        return cd_error_set(err, CD_ERR_ARG, "stories are added before learning");
    cd_status st = cdi_toklist_fill(s->toks, s->desk->tok, text, len, err);
    if (st != CD_OK)
        return st;
    const cd_topics *t = s->desk->topics;
    cdi_topics_score(t, s->toks, no_label, NULL, s->scores);
    for (size_t c = 0; c < s->nclasses; c++)
        s->hits[c] = s->scores[s->class_topic[c]].hits;
    s->ntouched = 0;
    s->failed = 0;
    cdi_toklist_each(s->toks, count_token, s);
    for (size_t i = 0; i < s->ntouched; i++) {
        s->counts[i] = s->tf[s->touched[i]];
        s->tf[s->touched[i]] = 0;
    }
    if (s->failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    st = cdi_em_add(s->em, s->touched, s->counts, s->ntouched, s->hits, err);
    if (st == CD_OK)
        st = keep_text(s, text, len, err);
    return st;
}

cd_status cd_seeded_learn(cd_seeded *s, const cd_seeded_opts *opts, cd_progress_fn progress,
                          void *ud, cd_error *err)
{
    cd_seeded_opts o;
    if (!opts) {
        cd_seeded_opts_default(&o);
        opts = &o;
    }
    cd_status st = cdi_em_run(s->em, opts->max_iter, opts->tol, progress, ud, err);
    s->learned = st == CD_OK;
    return st;
}

cd_status cd_seeded_save(cd_seeded *s, const char *path, cd_progress_fn progress, void *ud,
                         cd_error *err)
{
    if (!s->learned)
        return cd_error_set(err, CD_ERR_ARG, "nothing learned yet (cd_seeded_learn)");
    const cd_topics *t = s->desk->topics;
    /* the desk's keyword tokenizer is the default one (no model opened),
     * which is the trainer's: the model reads stories as EM did */
    cd_trainer *tr;
    cd_status st = cd_trainer_new(NULL, NULL, &tr, err);
    if (st != CD_OK)
        return st;
    const char *labels[64];
    for (size_t d = 0; d < s->ntexts && st == CD_OK; d++) {
        size_t c = cdi_em_label(s->em, d, NULL), n = 0;
        /* the class and the classes above it */
        for (int a = (int)s->class_topic[c]; a >= 0 && n < 64; a = cdi_topics_parent(t, (size_t)a))
            if (s->topic_class[a] >= 0)
                labels[n++] = cdi_topics_id(t, (size_t)a);
        st = cd_trainer_add(tr, s->texts + s->text_off[d], s->text_off[d + 1] - s->text_off[d],
                            labels, n, err);
    }
    if (st == CD_OK)
        st = cd_trainer_save(tr, path, progress, ud, err);
    cd_trainer_free(tr);
    return st;
}

size_t cd_seeded_docs(const cd_seeded *s) { return cdi_em_docs(s->em); }
size_t cd_seeded_seeded_docs(const cd_seeded *s) { return cdi_em_seeded_docs(s->em); }
size_t cd_seeded_classes(const cd_seeded *s) { return s->nclasses; }
size_t cd_seeded_unlearned(const cd_seeded *s) { return s->nunlearned; }
int cd_seeded_converged(const cd_seeded *s) { return cdi_em_converged(s->em); }

const char *cd_seeded_unlearned_id(const cd_seeded *s, size_t i)
{
    return cdi_topics_id(s->desk->topics, s->unlearned[i]);
}

const cd_seeded_step *cd_seeded_steps(const cd_seeded *s, size_t *n)
{
    return cdi_em_steps(s->em, n);
}

void cd_seeded_class_info(const cd_seeded *s, size_t i, cd_seeded_class *out)
{
    const cd_topics *t = s->desk->topics;
    size_t topic = s->class_topic[i];
    memset(out, 0, sizeof *out);
    out->id = cdi_topics_id(t, topic);
    out->keywords = cdi_topics_keywords(t, topic);
    if (!s->learned)
        return;
    out->reached = cdi_em_reached(s->em, i);
    out->won = cdi_em_won(s->em, i);
    out->assigned = cdi_em_assigned(s->em, i);
    out->lambda = cdi_em_lambda(s->em, i, &out->nlambda);
}
