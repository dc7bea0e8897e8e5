/*
 * text/sieve.h - which tokens can be a word of a set of keywords: the
 * words themselves, and the tokens that start with a prefix word
 * ("soldier*").  Asked of every token of a story, so the question is
 * mostly answered by one bit: the first two bytes of the token against
 * those of the words.
 *
 * The desk samples a story's tokens with it (text/toklist.h, pos): the
 * taxonomy's keywords are then matched among the few tokens that can be
 * theirs, not the whole story.
 */
#ifndef CD_TEXT_SIEVE_H
#define CD_TEXT_SIEVE_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk/error.h"

#define CD_SIEVE_BUCKETS 4096u   /* of a word's first two bytes */

typedef struct cdi_sieve_word {
    char *w;
    uint32_t len;
    int prefix;
} cdi_sieve_word;

typedef struct cdi_sieve {
    uint64_t bits[CD_SIEVE_BUCKETS / 64];   /* buckets that hold a word */
    cdi_sieve_word *v;   /* by bucket after cdi_sieve_seal */
    uint32_t *first;     /* CD_SIEVE_BUCKETS + 1: words of bucket b are
                            v[first[b]] .. v[first[b + 1]] */
    size_t n, cap;
} cdi_sieve;

static inline uint32_t cdi_sieve_bucket(const char *w)
{
    return (((uint32_t)(unsigned char)w[0] * 131u) ^ (unsigned char)w[1]) &
           (CD_SIEVE_BUCKETS - 1);
}

/* Add a word (folded, as the tokenizer gives tokens), a prefix when
 * prefix: CD_ERR_ARG for a word under two bytes, which cannot be told by
 * its first two (a caller then looks at every token). */
cd_status cdi_sieve_add(cdi_sieve *s, const char *w, size_t len, int prefix, cd_error *err);
/* Index the words added (call once, before matching). */
cd_status cdi_sieve_seal(cdi_sieve *s, cd_error *err);
void cdi_sieve_free(cdi_sieve *s);

int cdi_sieve_match_bucket(const cdi_sieve *s, const char *tok, size_t len, uint32_t b);

/* Whether the token is one of the words, or starts with a prefix word. */
static inline int cdi_sieve_match(const cdi_sieve *s, const char *tok, size_t len)
{
    if (len < 2)
        return 0;
    uint32_t b = cdi_sieve_bucket(tok);
    if (!(s->bits[b / 64] >> (b % 64) & 1))
        return 0;
    return cdi_sieve_match_bucket(s, tok, len, b);
}

#endif
