/*
 * text/toklist.c - token lists and phrases (see toklist.h).
 */
#include <stdlib.h>
#include <string.h>

#include "text/toklist.h"

/* ---- token lists -------------------------------------------------------- */

/* Room for one more token of len bytes; -1 when out of memory. */
static int toklist_room(cd_toklist *l, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        size_t *off = realloc(l->off, cap * sizeof *off);
        if (off)
            l->off = off;
        size_t *lens = off ? realloc(l->len, cap * sizeof *lens) : NULL;
        if (lens)
            l->len = lens;
        uint32_t *src = lens ? realloc(l->src, cap * sizeof *src) : NULL;
        if (src)
            l->src = src;
        uint32_t *sent = src ? realloc(l->sent, cap * sizeof *sent) : NULL;
        if (sent)
            l->sent = sent;
        uint32_t *pos = sent && l->pos ? realloc(l->pos, cap * sizeof *pos) : NULL;
        if (pos)
            l->pos = pos;
        if (!sent || (l->pos && !pos))
            return -1;
        l->cap = cap;
    }
    if (l->text_len + len + 1 > l->text_cap) {
        size_t cap = l->text_cap ? l->text_cap * 2 : 4096;
        while (cap < l->text_len + len + 1)
            cap *= 2;
        char *text = realloc(l->text, cap);
        if (!text)
            return -1;
        l->text = text;
        l->text_cap = cap;
    }
    return 0;
}

static inline void toklist_put(cd_toklist *l, const char *tok, size_t len, uint32_t src,
                               uint32_t sent)
{
    memcpy(l->text + l->text_len, tok, len);
    l->text[l->text_len + len] = '\0';
    l->off[l->n] = l->text_len;
    l->len[l->n] = len;
    l->src[l->n] = src;
    l->sent[l->n] = sent;
    l->text_len += len + 1;
    l->n++;
}

static int toklist_push(const char *tok, size_t len, void *ud)
{
    cd_toklist *l = ud;
    if (toklist_room(l, len)) {
        l->failed = 1;
        return 1;
    }
    size_t at = l->tok ? cd_tokenizer_token_offset(l->tok) : 0;
    size_t sentence = l->tok ? cd_tokenizer_sentence(l->tok) : 0;
    toklist_put(l, tok, len, at > UINT32_MAX ? UINT32_MAX : (uint32_t)at,
                sentence > UINT32_MAX ? UINT32_MAX : (uint32_t)sentence);
    return 0;
}

void cdi_toklist_clear_sample(cd_toklist *l)
{
    l->n = l->text_len = 0;
    l->title_end = l->lede_end = 0;
    l->lede_body = NULL;
    l->failed = 0;
}

int cdi_toklist_push_at(cd_toklist *l, const char *tok, size_t len, uint32_t pos,
                        uint32_t src, uint32_t sent)
{
    if (!l->pos) {   /* a sample from now on */
        if (l->n || !(l->pos = malloc((l->cap ? l->cap : 1) * sizeof *l->pos)))
            return -1;
    }
    if (toklist_room(l, len))
        return -1;
    l->pos[l->n] = pos;
    toklist_put(l, tok, len, src, sent);
    return 0;
}

cd_status cdi_toklist_build(cd_tokenizer *tok, const char *text, size_t len,
                            cd_toklist **out, cd_error *err)
{
    cd_toklist *l = calloc(1, sizeof *l);
    *out = NULL;
    if (!l)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = cdi_toklist_fill(l, tok, text, len, err);
    if (st != CD_OK) {
        cdi_toklist_free(l);
        return st;
    }
    *out = l;
    return CD_OK;
}

cd_toklist *cdi_toklist_new(void)
{
    return calloc(1, sizeof(cd_toklist));
}

typedef struct keeper {
    cd_toklist *l;
    cdi_token_keep keep;
    void *ud;
} keeper;

static int push_kept(const char *tok, size_t len, void *ud)
{
    keeper *k = ud;
    int keep = k->keep(tok, len, k->ud);
    if (keep < 0) {
        k->l->failed = 1;
        return 1;
    }
    return keep ? toklist_push(tok, len, k->l) : 0;
}

cd_status cdi_toklist_fill(cd_toklist *l, cd_tokenizer *tok, const char *text, size_t len,
                           cd_error *err)
{
    return cdi_toklist_fill_keep(l, tok, text, len, NULL, NULL, err);
}

cd_status cdi_toklist_fill_keep(cd_toklist *l, cd_tokenizer *tok, const char *text, size_t len,
                                cdi_token_keep keep, void *ud, cd_error *err)
{
    l->n = l->text_len = 0;
    l->title_end = l->lede_end = 0;
    l->lede_body = NULL;
    l->failed = 0;
    l->tok = tok;
    free(l->pos);   /* the whole story, not a sample */
    l->pos = NULL;
    if (keep) {
        keeper k = { l, keep, ud };
        cd_tokenize(tok, text, len, push_kept, &k);
    } else {
        cd_tokenize(tok, text, len, toklist_push, l);
    }
    l->tok = NULL;
    if (l->failed) {
        l->n = l->text_len = 0;
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    return CD_OK;
}

void cdi_toklist_each(const void *list, cd_token_fn fn, void *ud)
{
    const cd_toklist *l = list;
    for (size_t i = 0; i < l->n; i++)
        if (fn(l->text + l->off[i], l->len[i], ud))
            return;
}

size_t cdi_toklist_size(const cd_toklist *l)
{
    return l->n;
}

void cdi_toklist_set_zones(cd_toklist *l, size_t title_end, size_t lede_end)
{
    l->title_end = title_end;
    l->lede_end = lede_end;
    l->lede_body = NULL;
}

void cdi_toklist_set_body(cd_toklist *l, size_t title_end, const char *body, size_t len)
{
    l->title_end = l->lede_end = title_end;
    l->lede_body = body;
    l->lede_body_len = len;
}

/* The lede's length in body (cdi_toklist_set_body). */
static size_t lede_length(const char *body, size_t n)
{
    size_t i = 0;
    while (i < n && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    size_t first_break = 0;
    for (; i < n; i++) {
        /* from line break to line break (memchr: a story's lines are long) */
        const char *nl = memchr(body + i, '\n', n - i);
        if (!nl)
            break;
        i = (size_t)(nl - body);
        if (!first_break)
            first_break = i;
        size_t j = i + 1;
        while (j < n && (body[j] == ' ' || body[j] == '\t' || body[j] == '\r'))
            j++;
        if (j < n && body[j] == '\n')
            return i;    /* a blank line follows */
    }
    return first_break ? first_break : n;
}

size_t cdi_toklist_lede_end(const cd_toklist *l)
{
    if (l->lede_body) {
        /* found once, when first asked (most stories never are: it reads
         * the body up to its first blank line, often all of it); the list
         * is the caller's own, never const itself */
        cd_toklist *w = (cd_toklist *)l;
        w->lede_end = l->title_end + lede_length(l->lede_body, l->lede_body_len);
        w->lede_body = NULL;
    }
    return l->lede_end;
}

void cdi_toklist_free(cd_toklist *l)
{
    if (!l)
        return;
    free(l->text);
    free(l->off);
    free(l->len);
    free(l->src);
    free(l->sent);
    free(l->pos);
    free(l);
}

/* ---- phrases ------------------------------------------------------------ */


cd_status cdi_phrase_compile(cd_tokenizer *tok, const char *text, cd_phrase **out,
                             cd_error *err)
{
    *out = NULL;
    size_t len = strlen(text);
    int prefix = len > 0 && text[len - 1] == '*';
    cd_phrase *p = calloc(1, sizeof *p);
    if (!p)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    p->prefix = prefix;
    cd_status st = cdi_toklist_build(tok, text, len - (size_t)prefix, &p->toks, err);
    if (st == CD_OK && p->toks->n == 0)
        st = cd_error_set(err, CD_ERR_ARG,
                          "'%s' leaves no word once tokenized (stop words or too short)", text);
    if (st != CD_OK) {
        cdi_phrase_free(p);
        return st;
    }
    *out = p;
    return CD_OK;
}

size_t cdi_phrase_count(const cd_phrase *p, const cd_toklist *l)
{
    size_t count = 0;
    for (size_t i = 0; l && i < l->n; i++)
        count += (size_t)cdi_phrase_at(p, l, i);
    return count;
}

void cdi_phrase_free(cd_phrase *p)
{
    if (!p)
        return;
    cdi_toklist_free(p->toks);
    free(p);
}
