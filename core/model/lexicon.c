/*
 * lexicon.c - one lookup per token for a few models (see lexicon.h).
 *
 * Built when a classifier or a desk is made: for the Reuters model (41,000
 * terms) about a millisecond and 1 MB; the shipped desk's two models
 * share most of their words, 2 MB.
 */
#include <stdlib.h>
#include <string.h>

#include "base/hugemem.h"
#include "model/lexicon.h"
#include "model/model_internal.h"
#include "model/vocab.h"

uint64_t cdi_lex_long_key(const char *s, size_t len)
{
    return cdi_vocab_hash(s, len) << 8 | 0xFF;   /* 0xFF: no short key's length byte */
}

static void key_of(const char *s, size_t len, uint64_t *a, uint32_t *b)
{
    if (len <= LEX_SHORT) {
        cdi_lex_short_key(s, len, a, b);
    } else {
        *a = cdi_lex_long_key(s, len);
        *b = (uint32_t)len;
    }
}

static int same_name(const cdi_lexicon *x, uint32_t row, const char *s, size_t len)
{
    return x->name_lens[row] == len && !memcmp(x->names[row], s, len);
}

int64_t cdi_lexicon_find_long(const cdi_lexicon *x, const char *s, size_t len)
{
    uint64_t a = cdi_lex_long_key(s, len);
    uint32_t b = (uint32_t)len;
    for (uint32_t i = cdi_lex_slot_of(x, a, b);; i = (i + 1) & x->mask) {
        const lex_slot *e = &x->slots[i];
        if (!e->row)
            return -1;
        if (e->a == a && e->b == b && same_name(x, e->row - 1, s, len))
            return (int64_t)e->row - 1;
    }
}

int cdi_lexicon_drops_stopwords(const cd_model *m)
{
    return m->tok.stopwords && !m->tok.stem;
}

/* The row of s; when absent, made as row new_row (*added set). */
static uint32_t intern(cdi_lexicon *x, const char *s, size_t len, uint32_t new_row, int *added)
{
    uint64_t a;
    uint32_t b;
    key_of(s, len, &a, &b);
    uint32_t i = cdi_lex_slot_of(x, a, b);
    for (;; i = (i + 1) & x->mask) {
        lex_slot *e = &x->slots[i];
        if (!e->row)
            break;
        if (e->a == a && e->b == b && (len <= LEX_SHORT || same_name(x, e->row - 1, s, len))) {
            *added = 0;
            return e->row - 1;
        }
    }
    uint32_t r = new_row;
    if (r >= x->nrows)
        x->nrows = r + 1;
    x->slots[i] = (lex_slot){ a, b, r + 1 };
    x->names[r] = s;
    x->name_lens[r] = (uint32_t)len;
    *added = 1;
    return r;
}

void cdi_lexicon_free(cdi_lexicon *x)
{
    if (!x)
        return;
    free(x->slots);
    free(x->stop_keys);
    free(x->ids);
    free(x->names);
    free(x->name_lens);
    free(x->tags);
    free(x);
}

static void count_word(const char *w, size_t len, void *ud);

typedef struct own_stop {
    cdi_lexicon *x;
    uint32_t next;   /* the row of the next stop word */
} own_stop;

static void add_own_stop(const char *w, size_t len, void *ud)
{
    own_stop *o = ud;
    int added;
    intern(o->x, w, len, o->next, &added);
    o->next += added;
}

/* An empty table of slots for keys keys, at most two thirds full, and
 * its mask.  Read at random: on huge pages (base/hugemem.h), one 2 MB
 * page rather than hundreds of small ones for a table of half a megabyte
 * or more (the Reuters model's is 1 MB), whose TLB misses cost more than
 * the memory left unused at the end of the page.  NULL when out of
 * memory. */
static lex_slot *new_slots(size_t keys, uint32_t *mask)
{
    size_t slots = 64;
    while (slots < keys + keys / 2)
        slots *= 2;
    *mask = (uint32_t)slots - 1;
    size_t room = slots;
    if (room * sizeof(lex_slot) >= ((size_t)1 << 19) && room * sizeof(lex_slot) < ((size_t)2 << 20))
        room = ((size_t)2 << 20) / sizeof(lex_slot);
    return cdi_calloc_huge(room, sizeof(lex_slot));
}

/* A lexicon of n models; with own_stops (one model that drops its stop
 * words), the stop words are rows of their own from the model's nterms
 * on, put in first (cdi_lexicon_new_own). */
static cd_status make(const cd_model *const *models, size_t n, int own_stops,
                      cdi_lexicon **out, cd_error *err)
{
    *out = NULL;
    size_t terms = 0;
    for (size_t i = 0; i < n; i++)
        terms += models[i]->view.nterms;
    if (n == 0 || terms >= UINT32_MAX / 4)
        return cd_error_set(err, CD_ERR_ARG, "lexicon: %zu models of %zu terms", n, terms);
    size_t nstops = 0;
    if (own_stops)
        cd_stopwords_each(count_word, &nstops);
    terms += nstops;   /* rows, and keys of the table */
    cdi_lexicon *x = calloc(1, sizeof *x);
    if (!x)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    x->n = n;
    x->slots = new_slots(terms, &x->mask);
    x->names = malloc(sizeof *x->names * (terms ? terms : 1));
    x->name_lens = malloc(sizeof *x->name_lens * (terms ? terms : 1));
    if (n > 1)
        x->ids = malloc(sizeof *x->ids * n * (terms ? terms : 1));
    if (!x->slots || !x->names || !x->name_lens || (n > 1 && !x->ids)) {
        cdi_lexicon_free(x);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    if (own_stops) {
        /* first, so that each is at its own slot or near it: the
         * commonest tokens of all, found in one probe or two */
        own_stop o = { x, models[0]->view.nterms };
        cd_stopwords_each(add_own_stop, &o);
    }
    for (size_t i = 0; i < n; i++) {
        const cd_model *m = models[i];
        int stops = cdi_lexicon_drops_stopwords(m);
        for (uint32_t t = 0; t < m->view.nterms; t++) {
            size_t len;
            const char *s = cdi_model_term(m, t, &len);
            /* never a token: empty (a crafted file), or a stop word the
             * model's tokenizer drops (see lexicon.h) */
            if (len == 0 || (stops && cd_is_stopword(s, len)))
                continue;
            /* one model: the row is the term id (a name twice in a crafted
             * file keeps its first id) */
            int added;
            uint32_t r = intern(x, s, len, n == 1 ? t : x->nrows, &added);
            if (n == 1)
                continue;
            if (added)
                for (size_t k = 0; k < n; k++)
                    x->ids[(size_t)r * n + k] = LEX_NONE;
            if (x->ids[(size_t)r * n + i] == LEX_NONE)
                x->ids[(size_t)r * n + i] = t;
        }
    }
    x->stops_from = own_stops ? models[0]->view.nterms : x->nrows;
    *out = x;
    return CD_OK;
}

cd_status cdi_lexicon_new(const cd_model *const *models, size_t n, cdi_lexicon **out,
                          cd_error *err)
{
    return make(models, n, 0, out, err);
}

cd_status cdi_lexicon_new_own(const cd_model *m, cdi_lexicon **out, cd_error *err)
{
    return make(&m, 1, cdi_lexicon_drops_stopwords(m), out, err);
}

static void count_word(const char *w, size_t len, void *ud)
{
    (void)w;
    (void)len;
    ++*(size_t *)ud;
}

typedef struct stop_adder {
    cdi_lexicon *x;
    size_t room;   /* rows the arrays hold */
    int failed;
} stop_adder;

static void add_stop(const char *w, size_t len, void *ud)
{
    stop_adder *a = ud;
    cdi_lexicon *x = a->x;
    if (a->failed || cdi_lexicon_find(x, w, len) >= 0)
        return;   /* twice in the list: one row */
    if (x->nrows == a->room) {
        size_t room = a->room * 2 + 64;
        const char **names = realloc(x->names, sizeof *names * room);
        if (names)
            x->names = names;
        uint32_t *lens = names ? realloc(x->name_lens, sizeof *lens * room) : NULL;
        if (lens)
            x->name_lens = lens;
        uint32_t *ids = lens ? realloc(x->ids, sizeof *ids * x->n * room) : NULL;
        if (!ids) {
            a->failed = 1;
            return;
        }
        x->ids = ids;
        a->room = room;
    }
    int added;
    uint32_t r = intern(x, w, len, x->nrows, &added);
    for (size_t k = 0; k < x->n; k++)
        x->ids[(size_t)r * x->n + k] = LEX_NONE;
}

/* Put row r back in the slots (emptied), by its name. */
static void put_row(cdi_lexicon *x, uint32_t r)
{
    uint64_t a;
    uint32_t b;
    key_of(x->names[r], x->name_lens[r], &a, &b);
    uint32_t i = cdi_lex_slot_of(x, a, b);
    while (x->slots[i].row)
        i = (i + 1) & x->mask;
    x->slots[i] = (lex_slot){ a, b, r + 1 };
}

/* Put key (a, b) with its tag in the table of short keys (which has room). */
static void put_key(cdi_lexicon *x, uint64_t a, uint32_t b, uint32_t tag)
{
    uint64_t h = (a ^ ((uint64_t)b << 29)) * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 40) & x->stop_mask;
    while (x->stop_keys[i].row)
        i = (i + 1) & x->stop_mask;
    x->stop_keys[i] = (lex_slot){ a, b, tag };
    x->stop_used++;
}

static void add_stop_key(const char *w, size_t len, void *ud)
{
    cdi_lexicon *x = ud;
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(w, len, &a, &b);   /* stop words are short: at most 10 bytes */
    if (!cdi_lexicon_key_tag(x, a, b))
        put_key(x, a, b, LEX_TAG_STOP);
}

cd_status cdi_lexicon_mark(cdi_lexicon *x, const char *w, size_t len, cd_error *err)
{
    if (!x->stop_keys || len == 0 || len > LEX_SHORT)
        return cd_error_set(err, CD_ERR_ARG, "lexicon: no short word to mark");
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(w, len, &a, &b);
    if (cdi_lexicon_key_tag(x, a, b))
        return CD_OK;
    if ((size_t)(x->stop_used + 1) * 4 > (size_t)x->stop_mask + 1) {   /* a quarter full */
        uint32_t slots = (x->stop_mask + 1) * 2;
        lex_slot *old = x->stop_keys, *keys = calloc(slots, sizeof *keys);
        if (!keys || slots < x->stop_mask) {
            free(keys);
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        uint32_t n = x->stop_mask + 1;
        x->stop_keys = keys;
        x->stop_mask = slots - 1;
        x->stop_used = 0;
        for (uint32_t i = 0; i < n; i++)
            if (old[i].row)
                put_key(x, old[i].a, old[i].b, old[i].row);
        free(old);
    }
    put_key(x, a, b, LEX_TAG_MARK);
    return CD_OK;
}

cd_status cdi_lexicon_add_stopwords(cdi_lexicon *x, const cd_model *const *models,
                                    cd_error *err)
{
    if (x->n < 2 || x->stops_from != x->nrows)
        return cd_error_set(err, CD_ERR_ARG, "lexicon: stop words need a lexicon of models");
    for (size_t i = 0; i < x->n; i++)
        if (!cdi_lexicon_drops_stopwords(models[i]))
            return cd_error_set(err, CD_ERR_ARG, "lexicon: a model keeps its stop words");
    /* the slots were sized for every model's terms, which counts each
     * shared word more than once; when that leaves too little room for
     * the list as well (small models), a larger table, the rows put back */
    size_t stops = 0;
    cd_stopwords_each(count_word, &stops);
    size_t keys = (size_t)x->nrows + stops;
    if (keys + keys / 2 > (size_t)x->mask + 1) {
        uint32_t mask;
        lex_slot *slots = new_slots(keys, &mask);
        if (!slots)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        free(x->slots);
        x->slots = slots;
        x->mask = mask;
        for (uint32_t r = 0; r < x->nrows; r++)
            put_row(x, r);
    }
    stop_adder a = { x, x->nrows, 0 };
    cd_stopwords_each(add_stop, &a);
    if (a.failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    /* a quarter full at most (with the words cdi_lexicon_mark adds): most
     * tokens are not in it, and a miss then ends in a probe or two */
    uint32_t slots = 64;
    while (slots < 4 * stops)
        slots *= 2;
    if (!(x->stop_keys = calloc(slots, sizeof *x->stop_keys)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    x->stop_mask = slots - 1;
    cd_stopwords_each(add_stop_key, x);
    if (!(x->tags = calloc(x->nrows ? x->nrows : 1, 1)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    /* the slots again, the stop words first: some 30% of a story's tokens,
     * each then at its own slot or near it */
    memset(x->slots, 0, sizeof *x->slots * ((size_t)x->mask + 1));
    for (uint32_t r = x->stops_from; r < x->nrows; r++) {
        put_row(x, r);
        x->tags[r] = LEX_ROW_STOP;
    }
    for (uint32_t r = 0; r < x->stops_from; r++)
        put_row(x, r);
    return CD_OK;   /* stops_from stays where the models' rows end */
}
