/*
 * topics.c - the taxonomy tree and topic scores (see topics.h).
 *
 * Why this formula.  A topic has two kinds of evidence: a model's label
 * probability, which is calibrated on the training corpus but exists only
 * for the labels the model knows (no corpus here has a "defense" label),
 * and keywords chosen by an editor, which cover any topic but are noisy.
 * The keyword evidence saturates, k = 1 - 2^(-h/half), so that one stray
 * mention counts for little (0.29 with half = 2), a handful makes the
 * topic likely, and a long story repeating a word cannot push k past 1.
 * The two are combined with a noisy-OR, 1 - (1-m)(1-k): each source alone
 * can carry a topic, agreement raises the score, and a topic with no
 * labels (or no keywords) scores by the other source alone.  A parent
 * scores at least its best child, so "world" is high whenever "defense"
 * is, without listing every child's evidence again.
 *
 * Matching.  Stories are tokenized once into a cd_toklist; each keyword is
 * a query (text/query.h): a cd_phrase, a sequence of folded tokens
 * (text/toklist.h), the last one a prefix when the keyword ends in '*',
 * with its conditions (near, scope, min).  Every keyword of the taxonomy is indexed by the first two bytes
 * of its first word, so scoring is one pass over the story's tokens that
 * tries, at each token, only the keywords that can start there (a
 * keyword whose first word is a one-byte prefix, "x*", is tried at every
 * token).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk/topics.h"
#include "text/query.h"
#include "text/toklist.h"


/* ---- the taxonomy ------------------------------------------------------- */

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

typedef struct topic {
    char *id;
    char *name;
    int parent;
    double half;
    char *given;           /* own given label, or NULL */
    char *iptc;            /* IPTC Media Topic qcode, or NULL */
    double threshold;      /* ninjs subjects from this score */
    const char *given_eff; /* own or inherited, set by cdi_topics_compile */
    strlist labels;
    strlist keywords;      /* as shown by --explain */
    cd_keyword_spec *specs;/* as declared (strings owned) */
    cd_query **phrases;    /* compiled keywords, after cdi_topics_compile */
} topic;

/* A keyword of a topic, in the index. */
typedef struct phrase_ref {
    const cd_query *p;
    size_t topic;
    size_t kw;             /* index of the keyword over the taxonomy: counts[kw] */
} phrase_ref;

#define NBUCKETS 4096u   /* of the first two bytes of a keyword's first word */

struct cd_topics {
    topic *v;
    size_t n, cap;
    /* after compile: keywords by bucket (refs[start[b]] .. refs[start[b+1]]),
     * then those whose first word is one byte, tried everywhere */
    phrase_ref *refs;
    uint32_t *start;
    size_t nshort;
    size_t nrefs;
    size_t *counts;        /* per keyword, while scoring one story: 0
                              between stories */
    uint32_t *touched;     /* the keywords whose count is not 0 */
    uint32_t *kw_topic;    /* per keyword: its topic */
    unsigned *kw_min;      /* per keyword: its minimum */
};

static uint32_t bucket_of(const char *w)
{
    return (((uint32_t)(unsigned char)w[0] * 131u) ^ (unsigned char)w[1]) & (NBUCKETS - 1);
}

static void drop_index(cd_topics *t)
{
    free(t->refs);
    free(t->start);
    free(t->counts);
    free(t->touched);
    free(t->kw_topic);
    free(t->kw_min);
    t->refs = NULL;
    t->start = NULL;
    t->counts = NULL;
    t->touched = t->kw_topic = NULL;
    t->kw_min = NULL;
    t->nshort = t->nrefs = 0;
}

static cd_status strlist_add(strlist *l, const char *s, cd_error *err)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    l->v = v;
    if (!(v[l->n] = strdup(s)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    l->n++;
    return CD_OK;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

cd_status cdi_topics_new(cd_topics **out, cd_error *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? CD_OK : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
}

static void free_phrases(topic *tp)
{
    if (!tp->phrases)
        return;
    for (size_t j = 0; j < tp->keywords.n; j++)
        cdi_query_free(tp->phrases[j]);
    free(tp->phrases);
    tp->phrases = NULL;
}

static void free_specs(topic *tp)
{
    for (size_t j = 0; tp->specs && j < tp->keywords.n; j++) {
        free((char *)tp->specs[j].text);
        free((char *)tp->specs[j].near);
    }
    free(tp->specs);
    tp->specs = NULL;
}

void cdi_topics_free(cd_topics *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].id);
        free(t->v[i].name);
        free(t->v[i].given);
        free(t->v[i].iptc);
        strlist_free(&t->v[i].labels);
        free_phrases(&t->v[i]);
        free_specs(&t->v[i]);
        strlist_free(&t->v[i].keywords);
    }
    free(t->v);
    drop_index(t);
    free(t);
}

cd_status cdi_topics_add(cd_topics *t, int parent, const char *id, const char *name,
                         size_t *index, cd_error *err)
{
    if (!*id)
        return cd_error_set(err, CD_ERR_ARG, "a topic id cannot be empty");
    if (cdi_topics_find(t, id) >= 0)
        return cd_error_set(err, CD_ERR_ARG, "topic '%s' is declared twice", id);
    if (parent >= (int)t->n)
        return cd_error_set(err, CD_ERR_ARG, "no parent topic %d", parent);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        topic *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        t->v = v;
        t->cap = cap;
    }
    topic *tp = &t->v[t->n];
    memset(tp, 0, sizeof *tp);
    tp->parent = parent < 0 ? -1 : parent;
    tp->half = CD_TOPIC_DEFAULT_HALF;
    tp->threshold = CD_TOPIC_DEFAULT_THRESHOLD;
    tp->id = strdup(id);
    tp->name = strdup(name ? name : id);
    if (!tp->id || !tp->name) {
        free(tp->id);
        free(tp->name);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    *index = t->n++;
    return CD_OK;
}

cd_status cdi_topics_add_label(cd_topics *t, size_t topic_i, const char *label, cd_error *err)
{
    if (!*label)
        return cd_error_set(err, CD_ERR_ARG, "topic '%s': empty label", t->v[topic_i].id);
    return strlist_add(&t->v[topic_i].labels, label, err);
}

cd_status cdi_topics_add_keyword(cd_topics *t, size_t topic_i, const char *keyword,
                                 cd_error *err)
{
    cd_keyword_spec k = { keyword, NULL, 0, CD_SCOPE_ALL, 1 };
    return cdi_topics_add_keyword_spec(t, topic_i, &k, err);
}

/* How --explain shows a keyword with conditions:
 * 'north korea' near 'missile*' within 5 words, in title, at least 2. */
static char *keyword_text(const cd_keyword_spec *k)
{
    static const char *const scopes[] = { "", "title", "lede", "body" };
    if (!k->near && k->scope == CD_SCOPE_ALL && k->min <= 1)
        return strdup(k->text);
    size_t n = strlen(k->text) + (k->near ? strlen(k->near) : 0) + 120;
    char *s = malloc(n);
    if (!s)
        return NULL;
    int w = snprintf(s, n, "'%s'", k->text);
    if (k->near && k->within < 0)
        w += snprintf(s + w, n - (size_t)w, " near '%s' in one sentence", k->near);
    else if (k->near)
        w += snprintf(s + w, n - (size_t)w, " near '%s' within %d words", k->near, k->within);
    if (k->scope > CD_SCOPE_ALL && k->scope <= CD_SCOPE_BODY)
        w += snprintf(s + w, n - (size_t)w, ", in %s", scopes[k->scope]);
    if (k->min > 1)
        snprintf(s + w, n - (size_t)w, ", at least %u", k->min);
    return s;
}

cd_status cdi_topics_add_keyword_spec(cd_topics *t, size_t topic_i, const cd_keyword_spec *k,
                                      cd_error *err)
{
    topic *tp = &t->v[topic_i];
    free_phrases(tp);
    drop_index(t);   /* it pointed at those phrases: compile again */
    cd_keyword_spec *v = realloc(tp->specs, (tp->keywords.n + 1) * sizeof *v);
    if (!v)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    tp->specs = v;
    cd_keyword_spec *c = &v[tp->keywords.n];
    *c = *k;
    c->text = strdup(k->text);
    c->near = k->near ? strdup(k->near) : NULL;
    char *shown = keyword_text(k);
    cd_status st = c->text && (!k->near || c->near) && shown
                 ? strlist_add(&tp->keywords, shown, err)
                 : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(shown);
    if (st != CD_OK) {
        free((char *)c->text);
        free((char *)c->near);
    }
    return st;
}

cd_status cdi_topics_set_given(cd_topics *t, size_t topic_i, const char *label, cd_error *err)
{
    char *copy = strdup(label);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(t->v[topic_i].given);
    t->v[topic_i].given = copy;
    return CD_OK;
}

int cdi_iptc_qcode_ok(const char *s)
{
    if (strncmp(s, "medtop:", 7))
        return 0;
    for (int i = 7; i < 15; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[15] == '\0';
}

cd_status cdi_topics_set_iptc(cd_topics *t, size_t topic_i, const char *qcode, cd_error *err)
{
    if (!cdi_iptc_qcode_ok(qcode))
        return cd_error_set(err, CD_ERR_ARG,
                            "topic '%s': iptc '%s' is not a Media Topic code: write "
                            "\"medtop:\" and its eight digits, as in \"medtop:20000385\" "
                            "(http://cv.iptc.org/newscodes/mediatopic/)",
                            t->v[topic_i].id, qcode);
    char *copy = strdup(qcode);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(t->v[topic_i].iptc);
    t->v[topic_i].iptc = copy;
    return CD_OK;
}

cd_status cdi_topics_set_threshold(cd_topics *t, size_t topic_i, double threshold, cd_error *err)
{
    if (!(threshold >= 0 && threshold <= 1))
        return cd_error_set(err, CD_ERR_ARG, "topic '%s': threshold must be a number from 0 to 1",
                            t->v[topic_i].id);
    t->v[topic_i].threshold = threshold;
    return CD_OK;
}

double cdi_topics_threshold(const cd_topics *t, size_t i)
{
    return t->v[i].threshold;
}

const char *cdi_topics_iptc(const cd_topics *t, size_t i)
{
    return t->v[i].iptc;
}

const char *cdi_topics_given(const cd_topics *t, size_t i)
{
    return t->v[i].given_eff;
}

cd_status cdi_topics_set_half(cd_topics *t, size_t topic_i, double half, cd_error *err)
{
    if (!(half > 0) || !isfinite(half))
        return cd_error_set(err, CD_ERR_ARG, "topic '%s': half must be a positive number",
                            t->v[topic_i].id);
    t->v[topic_i].half = half;
    return CD_OK;
}

static cd_status compile_topic(topic *tp, cd_tokenizer *tok, cd_error *err)
{
    free_phrases(tp);
    if (tp->keywords.n == 0)
        return CD_OK;
    tp->phrases = calloc(tp->keywords.n, sizeof *tp->phrases);
    if (!tp->phrases)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < tp->keywords.n; j++) {
        cd_error e;
        cd_status st = cdi_query_compile(tok, &tp->specs[j], &tp->phrases[j], &e);
        if (st != CD_OK) {
            free_phrases(tp);
            return cd_error_set(err, st, "topic '%s': keyword %s", tp->id, e.msg);
        }
    }
    return CD_OK;
}

/* The bucket of a compiled keyword, or NBUCKETS when its first word is a
 * single byte (a one-letter prefix, tried at every token). */
static uint32_t phrase_bucket(const cd_query *q)
{
    const cd_toklist *w = q->a->toks;
    return w->len[0] < 2 ? NBUCKETS : bucket_of(w->text + w->off[0]);
}

/* Index every compiled keyword by bucket: a counting sort into refs. */
static cd_status build_index(cd_topics *t, cd_error *err)
{
    drop_index(t);
    size_t nrefs = 0;
    for (size_t i = 0; i < t->n; i++)
        nrefs += t->v[i].phrases ? t->v[i].keywords.n : 0;
    t->start = calloc(NBUCKETS + 2, sizeof *t->start);
    t->refs = malloc((nrefs ? nrefs : 1) * sizeof *t->refs);
    t->counts = calloc(nrefs ? nrefs : 1, sizeof *t->counts);
    t->touched = malloc((nrefs ? nrefs : 1) * sizeof *t->touched);
    t->kw_topic = malloc((nrefs ? nrefs : 1) * sizeof *t->kw_topic);
    t->kw_min = malloc((nrefs ? nrefs : 1) * sizeof *t->kw_min);
    t->nrefs = nrefs;
    if (!t->start || !t->refs || !t->counts || !t->touched || !t->kw_topic || !t->kw_min ||
        nrefs > UINT32_MAX || t->n > UINT32_MAX) {
        drop_index(t);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; t->v[i].phrases && j < t->v[i].keywords.n; j++)
            t->start[phrase_bucket(t->v[i].phrases[j]) + 1]++;
    for (uint32_t b = 0; b <= NBUCKETS; b++)
        t->start[b + 1] += t->start[b];
    t->nshort = nrefs - t->start[NBUCKETS];
    uint32_t *fill = malloc((NBUCKETS + 1) * sizeof *fill);
    if (!fill) {
        drop_index(t);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    memcpy(fill, t->start, (NBUCKETS + 1) * sizeof *fill);
    size_t kw = 0;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; t->v[i].phrases && j < t->v[i].keywords.n; j++) {
            const cd_query *p = t->v[i].phrases[j];
            t->kw_topic[kw] = (uint32_t)i;
            t->kw_min[kw] = p->min;
            t->refs[fill[phrase_bucket(p)]++] = (phrase_ref){ p, i, kw++ };
        }
    free(fill);
    return CD_OK;
}

cd_status cdi_topics_compile(cd_topics *t, cd_tokenizer *tok, cd_error *err)
{
    for (size_t i = 0; i < t->n; i++) {   /* parents come first */
        topic *tp = &t->v[i];
        tp->given_eff = tp->given ? tp->given
                      : tp->parent >= 0 ? t->v[tp->parent].given_eff : NULL;
        cd_status st = compile_topic(tp, tok, err);
        if (st != CD_OK)
            return st;
    }
    return build_index(t, err);
}

size_t cdi_topics_count(const cd_topics *t) { return t->n; }
const char *cdi_topics_id(const cd_topics *t, size_t i) { return t->v[i].id; }
const char *cdi_topics_name(const cd_topics *t, size_t i) { return t->v[i].name; }
int cdi_topics_parent(const cd_topics *t, size_t i) { return t->v[i].parent; }
size_t cdi_topics_labels(const cd_topics *t, size_t i) { return t->v[i].labels.n; }
const char *cdi_topics_label(const cd_topics *t, size_t i, size_t j) { return t->v[i].labels.v[j]; }
size_t cdi_topics_keywords(const cd_topics *t, size_t i) { return t->v[i].keywords.n; }
const char *cdi_topics_keyword(const cd_topics *t, size_t i, size_t j) { return t->v[i].keywords.v[j]; }

int64_t cdi_topics_find(const cd_topics *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].id, id))
            return (int64_t)i;
    return -1;
}

static cd_status phrase_words(const cd_phrase *p, cd_topic_word_fn fn, void *ud)
{
    const cd_toklist *w = p->toks;
    cd_status st = CD_OK;
    for (size_t j = 0; j < w->n && st == CD_OK; j++)
        st = fn(w->text + w->off[j], w->len[j], p->prefix && j + 1 == w->n, ud);
    return st;
}

cd_status cdi_topics_words(const cd_topics *t, cd_topic_word_fn fn, void *ud)
{
    cd_status st = CD_OK;
    for (size_t i = 0; i < t->n && st == CD_OK; i++)
        for (size_t j = 0; t->v[i].phrases && j < t->v[i].keywords.n && st == CD_OK; j++) {
            const cd_query *q = t->v[i].phrases[j];
            st = phrase_words(q->a, fn, ud);
            if (st == CD_OK && q->b)
                st = phrase_words(q->b, fn, ud);
        }
    return st;
}

/* ---- scoring ------------------------------------------------------------ */

size_t cdi_topics_keyword_hits(const cd_topics *t, size_t i, size_t j, const cd_toklist *toks)
{
    const topic *tp = &t->v[i];
    if (!tp->phrases || !toks)
        return 0;
    return cdi_query_count(tp->phrases[j], toks, NULL);
}

/* Count one more hit of keyword kw; *nt keywords counted so far. */
static inline void hit(const cd_topics *t, size_t kw, size_t *nt)
{
    if (t->counts[kw]++ == 0)
        t->touched[(*nt)++] = (uint32_t)kw;
}

/* Keyword hits of every topic, into out[].hits: one pass over the story
 * (or a sample of it: cdi_topics_words), each keyword counted apart
 * (t->counts: a cd_topics scores one story at a time) so that a keyword's
 * minimum applies to its own count; then only the keywords found are
 * looked at again.  The hits are whole numbers, so the order in which a
 * topic's keywords add theirs up does not change the sum. */
static void count_hits(const cd_topics *t, const cd_toklist *l, cd_topic_score *out)
{
    if (!t->refs || !l)
        return;
    size_t nt = 0;
    const phrase_ref *shorts = t->refs + t->start[NBUCKETS];
    for (size_t i = 0; i < l->n; i++) {
        if (l->len[i] >= 2) {
            uint32_t b = bucket_of(l->text + l->off[i]);
            for (uint32_t r = t->start[b]; r < t->start[b + 1]; r++)
                if (cdi_query_at(t->refs[r].p, l, i))
                    hit(t, t->refs[r].kw, &nt);
        }
        for (size_t r = 0; r < t->nshort; r++)
            if (cdi_query_at(shorts[r].p, l, i))
                hit(t, shorts[r].kw, &nt);
    }
    for (size_t k = 0; k < nt; k++) {
        uint32_t kw = t->touched[k];
        size_t c = t->counts[kw];
        t->counts[kw] = 0;
        if (c >= t->kw_min[kw])
            out[t->kw_topic[kw]].hits += (double)c;
    }
}

/* The topic's own score from its labels and its hits (already counted). */
static void score_own(const topic *tp, cd_label_p_fn label_p, void *ud, cd_topic_score *s)
{
    double hits = s->hits;
    memset(s, 0, sizeof *s);
    s->hits = hits;
    s->best_label = -1;
    for (size_t j = 0; j < tp->labels.n && label_p; j++) {
        double p = label_p(tp->labels.v[j], ud);
        if (p > s->label_p) {
            s->label_p = p > 1 ? 1 : p;
            s->best_label = (int)j;
        }
    }
    if (tp->given_eff && s->label_p > 0 && label_p &&
        strcmp(tp->labels.v[s->best_label], tp->given_eff) != 0) {
        double g = label_p(tp->given_eff, ud);
        s->label_p *= g > 0 ? (g > 1 ? 1 : g) : 0;
    }
    s->keyword = 1 - exp2(-s->hits / tp->half);
    s->own = 1 - (1 - s->label_p) * (1 - s->keyword);
    s->score = s->own;
}

void cdi_topics_score(const cd_topics *t, const cd_toklist *toks, cd_label_p_fn label_p,
                      void *ud, cd_topic_score *out)
{
    for (size_t i = 0; i < t->n; i++)
        out[i].hits = 0;
    count_hits(t, toks, out);
    for (size_t i = 0; i < t->n; i++)
        score_own(&t->v[i], label_p, ud, &out[i]);
    /* children come after their parents: a backward pass rolls scores up */
    for (size_t i = t->n; i-- > 0;) {
        int p = t->v[i].parent;
        if (p >= 0 && out[i].score > out[p].score)
            out[p].score = out[i].score;
    }
}
