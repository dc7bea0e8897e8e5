/*
 * token_batch.c - texts tokenized on the machine's cores (token_batch.h).
 *
 * Each thread tokenizes a contiguous run of the texts with a tokenizer of
 * its own into a buffer of its own: the token bytes end to end, with each
 * token's offset and length, and where each of its texts' tokens start.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "model/refine.h"
#include "model/token_batch.h"

typedef struct part {
    cd_tokenizer *tk;
    const char *const *texts;
    const size_t *lens;
    size_t from, to;         /* the texts of this part */
    char *bytes;
    size_t nbytes, bytes_cap;
    size_t *off;             /* each token's first byte in bytes */
    uint32_t *len;
    size_t ntok, tok_cap;
    size_t *first;           /* text from + k: tokens [first[k], first[k + 1]) */
    size_t first_cap;
    int failed;
} part;

struct token_batch {
    part parts[NB_MAX_THREADS];
    int nparts;              /* the parts of the last run */
    size_t n;
};

token_batch *cdi_token_batch_new(const cd_tok_opts *tok)
{
    token_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    int threads = nb_threads();
    for (int i = 0; i < threads; i++) {
        cd_error err;
        if (cd_tokenizer_new(tok, &b->parts[i].tk, &err)) {
            cdi_token_batch_free(b);
            return NULL;
        }
    }
    return b;
}

void cdi_token_batch_free(token_batch *b)
{
    if (!b)
        return;
    for (int i = 0; i < NB_MAX_THREADS; i++) {
        part *p = &b->parts[i];
        cd_tokenizer_free(p->tk);
        free(p->bytes);
        free(p->off);
        free(p->len);
        free(p->first);
    }
    free(b);
}

static int keep_token(const char *tok, size_t len, void *ud)
{
    part *p = ud;
    size_t cap = p->tok_cap;
    if (cdi_array_grow((void **)&p->bytes, 1, &p->bytes_cap, p->nbytes + len) ||
        cdi_array_grow((void **)&p->off, sizeof *p->off, &cap, p->ntok + 1) ||
        cdi_array_grow((void **)&p->len, sizeof *p->len, &p->tok_cap, p->ntok + 1)) {
        p->failed = 1;
        return 1;
    }
    memcpy(p->bytes + p->nbytes, tok, len);
    p->off[p->ntok] = p->nbytes;
    p->len[p->ntok] = (uint32_t)len;
    p->nbytes += len;
    p->ntok++;
    return 0;
}

static void *run_part(void *arg)
{
    part *p = arg;
    p->nbytes = p->ntok = 0;
    p->failed = 0;
    if (cdi_array_grow((void **)&p->first, sizeof *p->first, &p->first_cap, p->to - p->from + 1)) {
        p->failed = 1;
        return NULL;
    }
    for (size_t i = p->from; i < p->to && !p->failed; i++) {
        p->first[i - p->from] = p->ntok;
        cd_tokenize(p->tk, p->texts[i], p->lens[i], keep_token, p);
    }
    p->first[p->to - p->from] = p->ntok;
    return NULL;
}

int cdi_token_batch_run(token_batch *b, const char *const *texts, const size_t *lens, size_t n)
{
    int threads = 0;
    while (threads < NB_MAX_THREADS && b->parts[threads].tk)
        threads++;
    /* a thread is worth starting for a few texts, not for one */
    if ((size_t)threads > n / 8)
        threads = n / 8 > 0 ? (int)(n / 8) : 1;
    for (int i = 0; i < threads; i++) {
        part *p = &b->parts[i];
        p->texts = texts;
        p->lens = lens;
        p->from = n * (size_t)i / (size_t)threads;
        p->to = n * (size_t)(i + 1) / (size_t)threads;
    }
    nb_on_threads(run_part, b->parts, sizeof b->parts[0], threads);
    b->nparts = threads;
    b->n = n;
    for (int i = 0; i < threads; i++)
        if (b->parts[i].failed)
            return -1;
    return 0;
}

void cdi_token_batch_each(const token_batch *b, size_t i, cd_token_fn fn, void *ud)
{
    int k = 0;
    while (k + 1 < b->nparts && i >= b->parts[k].to)
        k++;
    const part *p = &b->parts[k];
    for (size_t j = p->first[i - p->from]; j < p->first[i - p->from + 1]; j++)
        if (fn(p->bytes + p->off[j], p->len[j], ud))
            return;
}
