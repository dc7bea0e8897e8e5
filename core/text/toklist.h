/*
 * text/toklist.h - the tokens of one story, kept for matching, and phrases
 * (keywords of one or more words, the last maybe a prefix "missile*")
 * matched against them.  A story is tokenized once into a list; the
 * classifier reads it again through cdi_toklist_each and the taxonomy
 * counts its keywords in it.
 */
#ifndef CD_TEXT_TOKLIST_H
#define CD_TEXT_TOKLIST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "copydesk/error.h"
#include "copydesk/tokenizer.h"

/* ---- token lists -------------------------------------------------------- */

typedef struct cd_toklist cd_toklist;

/* Open so that matching (cdi_phrase_at) stays inline in the scoring loop. */
struct cd_toklist {
    char *text;       /* tokens, each NUL-terminated, back to back */
    size_t text_len, text_cap;
    size_t *off;      /* start of token i in text */
    size_t *len;      /* length of token i */
    uint32_t *src;    /* byte offset of token i's word in the tokenized text */
    uint32_t *sent;   /* sentence number of token i (text/query.h) */
    uint32_t *pos;    /* NULL: the list holds every token, token i is the
                         story's token i.  Else a sample of the story's
                         tokens (cdi_toklist_push_at), in order, token i
                         being the story's token pos[i]: phrases and
                         queries match as in the whole list as long as it
                         holds every token that can be a word of theirs */
    size_t n, cap;
    size_t title_end, lede_end;   /* zones by offset (cdi_toklist_set_zones); the
                                     lede's end read with cdi_toklist_lede_end */
    const char *lede_body;        /* not NULL: the lede's end is still to be
                                     found in this body (cdi_toklist_set_body) */
    size_t lede_body_len;
    cd_tokenizer *tok;            /* while filling */
    int failed;
};

/* Tokenize text into a list (one allocation for all tokens). */
cd_status cdi_toklist_build(cd_tokenizer *tok, const char *text, size_t len,
                            cd_toklist **out, cd_error *err);
/* An empty list to fill again and again (NULL when out of memory). */
cd_toklist *cdi_toklist_new(void);
/* Tokenize text into l, replacing what it held; reuses its memory. */
cd_status cdi_toklist_fill(cd_toklist *l, cd_tokenizer *tok, const char *text, size_t len,
                           cd_error *err);
/* cdi_toklist_fill keeping only the tokens for which keep(token, len, ud)
 * returns 1, as the tokenizer gives them (0: left out; -1: out of memory,
 * the fill fails).  The list is then as if the tokenizer had dropped the
 * others: a caller that can tell stop words itself, in a lookup it makes
 * anyway, fills with a tokenizer that keeps them. */
typedef int (*cdi_token_keep)(const char *tok, size_t len, void *ud);
cd_status cdi_toklist_fill_keep(cd_toklist *l, cd_tokenizer *tok, const char *text, size_t len,
                                cdi_token_keep keep, void *ud, cd_error *err);
/* Call fn on each token of the list (a cd_toklist) in order, until fn
 * returns non-zero: the tokens once more, without tokenizing again. */
void cdi_toklist_each(const void *list, cd_token_fn fn, void *ud);
size_t cdi_toklist_size(const cd_toklist *l);
void cdi_toklist_free(cd_toklist *l);
/* A sample list (see pos): empty it, then add the story's token number
 * pos (positions increasing), whose word is at byte src of the text, in
 * sentence sent; -1 when out of memory.  A sample list is never filled
 * (cdi_toklist_fill) and a filled list never sampled. */
void cdi_toklist_clear_sample(cd_toklist *l);
int cdi_toklist_push_at(cd_toklist *l, const char *tok, size_t len, uint32_t pos,
                        uint32_t src, uint32_t sent);
/* Where the story's body starts and its lede (first paragraph) ends, as
 * offsets in the text the list was filled from, for scopes (text/query.h).
 * A new fill unsets them: everything is body. */
void cdi_toklist_set_zones(cd_toklist *l, size_t title_end, size_t lede_end);
/* cdi_toklist_set_zones for a text that is a title, a line break at
 * title_end - 1, then body (len bytes): the lede is the body's first
 * paragraph, up to its first blank line, or without one, up to its first
 * line break (leading blank lines skipped).  Found only when a scope asks
 * for it (cdi_toklist_lede_end): body must stay until then, or until the
 * list is filled or set again. */
void cdi_toklist_set_body(cd_toklist *l, size_t title_end, const char *body, size_t len);
/* Where the lede ends (finding it the first time after cdi_toklist_set_body). */
size_t cdi_toklist_lede_end(const cd_toklist *l);

/* ---- phrases ------------------------------------------------------------ */

typedef struct cd_phrase cd_phrase;

struct cd_phrase {
    cd_toklist *toks;   /* the folded words */
    int prefix;         /* the last word is a prefix */
};

/* Fold a word, phrase or "prefix*" through tok.  A phrase that leaves no
 * token (only stop words, too short) is refused with CD_ERR_ARG. */
cd_status cdi_phrase_compile(cd_tokenizer *tok, const char *text, cd_phrase **out,
                             cd_error *err);
/* Occurrences of the phrase in the list (consecutive tokens). */
size_t cdi_phrase_count(const cd_phrase *p, const cd_toklist *l);
void cdi_phrase_free(cd_phrase *p);

/* Token i of l equals token j of w (or starts with it, when prefix). */
static inline int cdi_token_matches(const cd_toklist *l, size_t i, const cd_toklist *w,
                                    size_t j, int prefix)
{
    size_t wl = w->len[j];
    if (prefix ? l->len[i] < wl : l->len[i] != wl)
        return 0;
    return memcmp(l->text + l->off[i], w->text + w->off[j], wl) == 0;
}

/* Does the phrase occur at token i of l? */
static inline int cdi_phrase_at(const cd_phrase *p, const cd_toklist *l, size_t i)
{
    const cd_toklist *w = p->toks;
    if (i + w->n > l->n)
        return 0;
    if (l->pos && l->pos[i + w->n - 1] - l->pos[i] != w->n - 1)
        return 0;   /* a gap in the sample: not consecutive in the story */
    for (size_t j = 0; j < w->n; j++)
        if (!cdi_token_matches(l, i + j, w, j, p->prefix && j + 1 == w->n))
            return 0;
    return 1;
}

#endif
