/*
 * text/query.c - a phrase with conditions (see query.h): matched at a
 * token of a story's list, for keywords in the taxonomy's one pass and
 * for a rule's story:has, story:count and story:near.
 */
#include <stdlib.h>
#include <string.h>

#include "text/query.h"

int cdi_scope_parse(const char *s, int near)
{
    if (!strcmp(s, "title"))
        return CD_SCOPE_TITLE;
    if (!strcmp(s, "lede"))
        return CD_SCOPE_LEDE;
    if (!strcmp(s, "body"))
        return CD_SCOPE_BODY;
    if (near && !strcmp(s, "sentence"))
        return CD_SCOPE_SENTENCE;
    return -1;
}

/* ---- queries: a phrase with a scope, a neighbour, a minimum ----------- */

cd_status cdi_query_compile(cd_tokenizer *tok, const cd_keyword_spec *k, cd_query **out,
                            cd_error *err)
{
    *out = NULL;
    if (k->scope < CD_SCOPE_ALL || k->scope > CD_SCOPE_BODY)
        return cd_error_set(err, CD_ERR_ARG, "unknown scope (title, lede or body)");
    if (k->near && k->within < -1)
        return cd_error_set(err, CD_ERR_ARG, "within must be a number of words >= 0, "
                                             "or \"sentence\"");
    cd_query *q = calloc(1, sizeof *q);
    if (!q)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    q->within = k->within;
    q->scope = k->scope;
    q->min = k->min ? k->min : 1;
    cd_status st = cdi_phrase_compile(tok, k->text, &q->a, err);
    if (st == CD_OK && k->near)
        st = cdi_phrase_compile(tok, k->near, &q->b, err);
    if (st != CD_OK) {
        cdi_query_free(q);
        return st;
    }
    *out = q;
    return CD_OK;
}

void cdi_query_free(cd_query *q)
{
    if (!q)
        return;
    cdi_phrase_free(q->a);
    cdi_phrase_free(q->b);
    free(q);
}

/* Do tokens i .. i+n-1 lie in the scope? */
static int in_scope(const cd_toklist *l, size_t i, size_t n, int scope)
{
    if (scope == CD_SCOPE_ALL)
        return 1;
    uint32_t first = l->src[i], last = l->src[i + n - 1];
    switch (scope) {
    case CD_SCOPE_TITLE: return last < l->title_end;
    case CD_SCOPE_LEDE: return first >= l->title_end && last < cdi_toklist_lede_end(l);
    case CD_SCOPE_BODY: return first >= l->title_end;
    }
    return 0;
}

/* near_at in a sample (text/toklist.h): the same positions, in the
 * story's numbering, those of the sample that lie among them (b's words
 * are all in it). */
static int near_sample(const cd_query *q, const cd_toklist *l, size_t i, size_t na,
                       uint64_t *work)
{
    size_t nb = q->b->toks->n;
    size_t p = l->pos[i];
    uint32_t s = l->sent[i];
    int sentence = q->within < 0;
    size_t w = sentence ? CD_NEAR_MAX : (size_t)q->within;
    size_t lo = sentence ? (p > w ? p - w : 0) : (p > w + nb ? p - w - nb : 0);
    size_t hi = p + na + w;
    size_t j = i;
    while (j > 0 && l->pos[j - 1] >= lo && (!sentence || l->sent[j - 1] == s))
        j--;
    for (; j < l->n && l->pos[j] <= hi; j++) {
        (*work)++;
        if (sentence) {
            if (l->sent[j] != s)
                return 0;
            if (cdi_phrase_at(q->b, l, j) && l->sent[j + nb - 1] == s &&
                in_scope(l, j, nb, q->scope))
                return 1;
            continue;
        }
        if (!cdi_phrase_at(q->b, l, j) || !in_scope(l, j, nb, q->scope))
            continue;
        size_t pj = l->pos[j];
        size_t gap = pj >= p + na ? pj - (p + na) : pj + nb <= p ? p - (pj + nb) : 0;
        if (gap <= w)
            return 1;
    }
    return 0;
}

/* Is b near the occurrence of a at i (na tokens)?  Adds the positions
 * it looked at to *work. */
static int near_at(const cd_query *q, const cd_toklist *l, size_t i, size_t na,
                   uint64_t *work)
{
    if (l->pos)
        return near_sample(q, l, i, na, work);
    size_t nb = q->b->toks->n;
    if (q->within < 0) {   /* in one sentence, at most CD_NEAR_MAX tokens away */
        uint32_t s = l->sent[i];
        size_t lo = i, stop = i > CD_NEAR_MAX ? i - CD_NEAR_MAX : 0;
        while (lo > stop && l->sent[lo - 1] == s)
            lo--;
        size_t hi = i + na + CD_NEAR_MAX;
        for (size_t j = lo; j < l->n && j <= hi && l->sent[j] == s; j++) {
            (*work)++;
            if (cdi_phrase_at(q->b, l, j) && j + nb <= l->n && l->sent[j + nb - 1] == s &&
                in_scope(l, j, nb, q->scope))
                return 1;
        }
        return 0;
    }
    size_t w = (size_t)q->within;
    size_t lo = i > w + nb ? i - w - nb : 0, hi = i + na + w;
    for (size_t j = lo; j <= hi && j < l->n; j++) {
        (*work)++;
        if (!cdi_phrase_at(q->b, l, j) || !in_scope(l, j, nb, q->scope))
            continue;
        size_t gap = j >= i + na ? j - (i + na) : j + nb <= i ? i - (j + nb) : 0;
        if (gap <= w)
            return 1;
    }
    return 0;
}

static int query_at(const cd_query *q, const cd_toklist *l, size_t i, uint64_t *work)
{
    (*work)++;
    if (!cdi_phrase_at(q->a, l, i))
        return 0;
    size_t na = q->a->toks->n;
    return in_scope(l, i, na, q->scope) && (!q->b || near_at(q, l, i, na, work));
}

int cdi_query_at(const cd_query *q, const cd_toklist *l, size_t i)
{
    uint64_t work = 0;
    return query_at(q, l, i, &work);
}

size_t cdi_query_count(const cd_query *q, const cd_toklist *l, uint64_t *work)
{
    uint64_t w = 0;
    size_t count = 0;
    for (size_t i = 0; l && i < l->n; i++)
        count += (size_t)query_at(q, l, i, &w);
    if (work)
        *work = w;
    return count >= q->min ? count : 0;
}

