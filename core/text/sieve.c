/*
 * text/sieve.c - which tokens can be a keyword's (see sieve.h).
 */
#include <stdlib.h>
#include <string.h>

#include "text/sieve.h"

cd_status cdi_sieve_add(cdi_sieve *s, const char *w, size_t len, int prefix, cd_error *err)
{
    if (len < 2 || len > UINT32_MAX)
        return cd_error_set(err, CD_ERR_ARG, "a word of %zu bytes", len);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        cdi_sieve_word *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    char *copy = malloc(len);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    memcpy(copy, w, len);
    s->v[s->n++] = (cdi_sieve_word){ copy, (uint32_t)len, prefix };
    uint32_t b = cdi_sieve_bucket(w);
    s->bits[b / 64] |= (uint64_t)1 << (b % 64);
    return CD_OK;
}

static int by_bucket(const void *pa, const void *pb)
{
    uint32_t a = cdi_sieve_bucket(((const cdi_sieve_word *)pa)->w);
    uint32_t b = cdi_sieve_bucket(((const cdi_sieve_word *)pb)->w);
    return a < b ? -1 : a > b;
}

cd_status cdi_sieve_seal(cdi_sieve *s, cd_error *err)
{
    free(s->first);
    if (!(s->first = calloc(CD_SIEVE_BUCKETS + 1, sizeof *s->first)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, by_bucket);
    for (size_t i = 0; i < s->n; i++)
        s->first[cdi_sieve_bucket(s->v[i].w) + 1]++;
    for (uint32_t b = 0; b < CD_SIEVE_BUCKETS; b++)
        s->first[b + 1] += s->first[b];
    return CD_OK;
}

int cdi_sieve_match_bucket(const cdi_sieve *s, const char *tok, size_t len, uint32_t b)
{
    for (uint32_t i = s->first[b]; i < s->first[b + 1]; i++) {
        const cdi_sieve_word *w = &s->v[i];
        if ((w->prefix ? len >= w->len : len == w->len) && !memcmp(tok, w->w, w->len))
            return 1;
    }
    return 0;
}

void cdi_sieve_free(cdi_sieve *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].w);
    free(s->v);
    free(s->first);
    memset(s, 0, sizeof *s);
}
