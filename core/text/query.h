/*
 * text/query.h - a phrase with conditions, as precise as a rules engine's
 * keywords (IPTC's EXTRA has the same proximity, scope and count
 * operators): optionally near another phrase (within n words, or in one
 * sentence), within a scope of the story (title, lede, body), counted
 * only from a minimum of occurrences.  The taxonomy's keywords are queries
 * (matched in its one indexed pass), and so are a rule's story:has(phrase,
 * scope), story:count and story:near.
 *
 * Scopes and sentences come from the token list: the offset of each
 * token's word and its sentence number (cd_tokenizer_token_offset,
 * cd_tokenizer_sentence), and the zones the desk sets on it
 * (cdi_toklist_set_zones).
 */
#ifndef CD_TEXT_QUERY_H
#define CD_TEXT_QUERY_H

#include <stddef.h>

#include "copydesk/error.h"
#include "copydesk/tokenizer.h"
#include "text/toklist.h"

/* Where occurrences must be: title, lede (the first paragraph of the
 * body), body; CD_SCOPE_SENTENCE names near's "in one sentence". */
typedef enum cd_scope {
    CD_SCOPE_ALL = 0, CD_SCOPE_TITLE, CD_SCOPE_LEDE, CD_SCOPE_BODY, CD_SCOPE_SENTENCE
} cd_scope;

/* "title", "lede", "body" (and "sentence" when near): the scope, or -1. */
int cdi_scope_parse(const char *s, int near);

/* A query as declared. */
typedef struct cd_keyword_spec {
    const char *text;   /* word, phrase or prefix* */
    const char *near;   /* NULL, or the phrase that must be near */
    int within;         /* near: at most this many words between them
                           (stop words do not count); -1: in one sentence */
    int scope;          /* cd_scope: where the occurrences must be */
    unsigned min;       /* occurrences below min count as none (0 or 1: any) */
} cd_keyword_spec;

/* A query compiled (open, as cd_phrase is, for the scoring loop). */
typedef struct cd_query {
    cd_phrase *a;
    cd_phrase *b;       /* near: the other phrase, or NULL */
    int within;         /* near: words between them at most; -1: one sentence */
    int scope;          /* cd_scope */
    unsigned min;       /* fewer occurrences count as none */
} cd_query;

cd_status cdi_query_compile(cd_tokenizer *tok, const cd_keyword_spec *k, cd_query **out,
                            cd_error *err);
/* Does the query's phrase occur at token i of l, within its conditions?
 * (Its minimum is the caller's to apply, on the total.) */
int cdi_query_at(const cd_query *q, const cd_toklist *l, size_t i);
/* Occurrences in l that meet the conditions (0 below the minimum); when
 * work is not NULL, *work is the number of positions tried (for a rule's
 * budget: each occurrence of a near query looks at up to 2 x CD_NEAR_MAX
 * positions around it). */
size_t cdi_query_count(const cd_query *q, const cd_toklist *l, uint64_t *work);

/* The farthest a near query looks, in tokens either way: within is at most
 * this, and a "sentence" without an end in sight stops here too, so that a
 * text with no full stops costs no more than within = CD_NEAR_MAX. */
#define CD_NEAR_MAX 1000
void cdi_query_free(cd_query *q);

#endif
