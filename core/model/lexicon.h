/*
 * lexicon.h - one table from a token to its term id in each of a few
 * models: a classifier's own (one model), or a desk's (all the models that
 * classify from the desk's token list), so that a token is hashed and
 * looked up once however many models score it.
 *
 * A slot holds the key itself: the length byte and up to LEX_SHORT bytes
 * of token, zero-padded (most tokens), else a hash of a longer token with
 * its length, checked against the term's name.  One probe, usually one
 * cache line, and no call: classify and route look up every token.
 *
 * Rows: with one model, a token's row is its term id.  With several, row r
 * has the term id in each model at ids[r * n + i] (LEX_NONE where absent).
 * A stop word is in no row of a model whose tokenizer drops stop words
 * (and does not stem, which can make a stop word of another word), as it
 * is never a token of such a model: a classifier may leave stop words to
 * the lexicon instead of testing each token against the list first.  A
 * classifier's own lexicon has them, as rows of no term
 * (cdi_lexicon_new_own): found in a probe or two rather than missed.
 */
#ifndef CD_LEXICON_H
#define CD_LEXICON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "copydesk/model.h"

#define LEX_SHORT 11          /* longest token kept in the slot itself */
#define LEX_NONE UINT32_MAX   /* not a term of that model */

typedef struct lex_slot {
    uint64_t a;               /* length byte, then bytes 0..6 (or a hash) */
    uint32_t b;               /* bytes 7..10 (or the length) */
    uint32_t row;             /* row + 1, 0 when empty */
} lex_slot;

typedef struct cdi_lexicon {
    lex_slot *slots;
    uint32_t mask;
    uint32_t nrows;
    size_t n;                 /* models */
    uint32_t *ids;            /* nrows * n, NULL with one model */
    const char **names;       /* per row: the name, for tokens over LEX_SHORT */
    uint32_t *name_lens;
    uint32_t stops_from;      /* rows from here on are stop words
                                 (cdi_lexicon_add_stopwords), else nrows */
    lex_slot *stop_keys;      /* the stop words' keys alone, a few kB (or NULL),
                                 and words marked (cdi_lexicon_mark); row is
                                 the tag (LEX_TAG_*) */
    uint32_t stop_mask;
    uint32_t stop_used;       /* keys in stop_keys */
    uint8_t *tags;            /* per row, LEX_ROW_* (cdi_lexicon_add_stopwords),
                                 or NULL */
} cdi_lexicon;

/* What a row is besides its terms (tags): a stop word's; a word a caller
 * set apart (a desk: a token that can be a keyword's word, desk.c). */
#define LEX_ROW_STOP 1u
#define LEX_ROW_SAMPLE 2u

/* A lexicon of n models (1 <= n).  The models must outlive it. */
cd_status cdi_lexicon_new(const cd_model *const *models, size_t n, cdi_lexicon **out,
                          cd_error *err);
void cdi_lexicon_free(cdi_lexicon *x);

/* A classifier's own lexicon: one model, as cdi_lexicon_new makes it,
 * and when the model drops its stop words (cdi_lexicon_drops_stopwords),
 * those as rows of no term from the model's nterms on
 * (cdi_lexicon_is_stop): a stop word is then found in the slots where it
 * was put first, one probe or two in lines that stay in cache, rather
 * than missed after a run of slots of other words (some 30% of the
 * tokens of news are stop words). */
cd_status cdi_lexicon_new_own(const cd_model *m, cdi_lexicon **out, cd_error *err);

/* Whether a model's stop words are left out of its lexicon. */
int cdi_lexicon_drops_stopwords(const cd_model *m);

/* Add the stop words (cd_is_stopword) as rows of their own, a term of no
 * model, after the others, so that one lookup tells a token that is a
 * term, a stop word, or neither: for a lexicon of several models that all
 * leave stop words out (cdi_lexicon_drops_stopwords), whose tokens would
 * otherwise be tested against the stop-word list first.  The slots are
 * then filled again, the stop words first, as cdi_lexicon_new_own puts
 * them (found in a probe or two), and each row gets its tags (LEX_ROW_STOP
 * for the stop words).  CD_ERR_ARG for another lexicon. */
cd_status cdi_lexicon_add_stopwords(cdi_lexicon *x, const cd_model *const *models,
                                    cd_error *err);

/* What the small table of short keys (cdi_lexicon_add_stopwords) says of
 * the short key (a, b): LEX_TAG_STOP, a stop word's; LEX_TAG_MARK, a word
 * a caller marked (cdi_lexicon_mark); 0, neither (or no table).  From a
 * table small enough to stay in cache, without waiting for the lexicon's
 * slot. */
#define LEX_TAG_STOP 1u
#define LEX_TAG_MARK 2u

static inline uint32_t cdi_lexicon_key_tag(const cdi_lexicon *x, uint64_t a, uint32_t b)
{
    if (!x->stop_keys)
        return 0;
    uint64_t h = (a ^ ((uint64_t)b << 29)) * 0x9E3779B97F4A7C15ull;
    for (uint32_t i = (uint32_t)(h >> 40) & x->stop_mask;; i = (i + 1) & x->stop_mask) {
        const lex_slot *e = &x->stop_keys[i];
        if (e->a == a && e->b == b)
            return e->row;
        if (!e->row)
            return 0;
    }
}

/* Whether the short key (a, b) is a stop word's (0 before
 * cdi_lexicon_add_stopwords). */
static inline int cdi_lexicon_is_stop_key(const cdi_lexicon *x, uint64_t a, uint32_t b)
{
    return cdi_lexicon_key_tag(x, a, b) == LEX_TAG_STOP;
}

/* Mark a short word (1 to LEX_SHORT bytes) in the table of short keys, so
 * that cdi_lexicon_key_tag tells it in the lookup that tells stop words
 * (a desk marks its keywords' words: desk.c).  A stop word stays a stop
 * word.  CD_ERR_ARG without the table, or for a longer word. */
cd_status cdi_lexicon_mark(cdi_lexicon *x, const char *w, size_t len, cd_error *err);

/* Whether row r is a stop word's (cdi_lexicon_add_stopwords). */
static inline int cdi_lexicon_is_stop(const cdi_lexicon *x, int64_t r)
{
    return r >= (int64_t)x->stops_from;
}

/* The bytes of a short key (cdi_lex_short_key) back: its token, len
 * bytes (the key's byte 0) into out, which holds LEX_SHORT.  The length. */
static inline size_t cdi_lex_short_text(uint64_t a, uint32_t b, char *out)
{
    size_t len = (size_t)(a & 0xFF);
    for (size_t i = 0; i < len && i < 7; i++)
        out[i] = (char)(a >> (8 * (i + 1)));
    for (size_t i = 7; i < len; i++)
        out[i] = (char)(b >> (8 * (i - 7)));
    return len;
}

static inline uint64_t cdi_lex_load(const char *s, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, s, n);   /* n is a constant where it is called: one load */
    return v;
}

/* The key of a short token (len <= LEX_SHORT): byte 0 the length, then the
 * bytes of the token, zero-padded, little-endian, in a and b; built from
 * overlapping loads that never read outside the token. */
static inline void cdi_lex_short_key(const char *s, size_t len, uint64_t *a, uint32_t *b)
{
    uint64_t v;
    uint32_t w = 0;
    if (len >= 8) {
        v = cdi_lex_load(s, 8);
        /* bytes 7 .. len-1, from the last four */
        w = (uint32_t)(cdi_lex_load(s + len - 4, 4) >> (8 * (11 - len)));
    } else if (len >= 4) {
        v = cdi_lex_load(s, 4) | cdi_lex_load(s + len - 4, 4) << (8 * (len - 4));
    } else {
        const unsigned char *u = (const unsigned char *)s;
        v = (uint64_t)u[0] | (uint64_t)u[len / 2] << (8 * (len / 2)) |
            (uint64_t)u[len - 1] << (8 * (len - 1));
    }
    *a = (uint64_t)len | v << 8;   /* byte 7 of the token moves to b */
    *b = w;
}

uint64_t cdi_lex_long_key(const char *s, size_t len);

static inline uint32_t cdi_lex_slot_of(const cdi_lexicon *x, uint64_t a, uint32_t b)
{
    uint64_t h = (a ^ ((uint64_t)b << 29)) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    return (uint32_t)(h >> 32) & x->mask;
}

int64_t cdi_lexicon_find_long(const cdi_lexicon *x, const char *s, size_t len);

/* The row of the short key (a, b) probed from slot i, or -1. */
static inline int64_t cdi_lexicon_probe(const cdi_lexicon *x, uint32_t i, uint64_t a,
                                        uint32_t b)
{
    for (;; i = (i + 1) & x->mask) {
        const lex_slot *e = &x->slots[i];
        if (e->a == a && e->b == b)
            return (int64_t)e->row - 1;
        if (!e->row)
            return -1;
    }
}

/* The row of a token, or -1 when it is a term of none of the models. */
static inline int64_t cdi_lexicon_find(const cdi_lexicon *x, const char *s, size_t len)
{
    if (len - 1 >= LEX_SHORT)   /* 0 too: never a term */
        return len ? cdi_lexicon_find_long(x, s, len) : -1;
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(s, len, &a, &b);
    return cdi_lexicon_probe(x, cdi_lex_slot_of(x, a, b), a, b);
}

/* Looking up many tokens: the table is megabytes and a token's slot is
 * mostly a cache miss.  A caller that can wait for the answer computes
 * the key and slot (cdi_lexicon_ahead: the slot is asked for at once), and
 * probes it (cdi_lexicon_probe) a few tokens later, when it has come;
 * the misses of those tokens then overlap. */
#define LEX_AHEAD 8

typedef struct cdi_lex_key {
    uint64_t a;
    uint32_t b;
    uint32_t slot;
} cdi_lex_key;

static inline cdi_lex_key cdi_lexicon_ahead(const cdi_lexicon *x, const char *s, size_t len)
{
    cdi_lex_key k;
    cdi_lex_short_key(s, len, &k.a, &k.b);
    k.slot = cdi_lex_slot_of(x, k.a, k.b);
#if defined(__GNUC__)
    __builtin_prefetch(&x->slots[k.slot]);
#endif
    return k;
}

/* The term id of row r in model i, or LEX_NONE. */
static inline uint32_t cdi_lexicon_id(const cdi_lexicon *x, uint32_t r, size_t i)
{
    return x->ids ? x->ids[(size_t)r * x->n + i] : (uint32_t)r;
}

/* cd_classify on the rows of a text's tokens in a lexicon whose model
 * number which is the classifier's (classifier.c): for a caller that
 * looked the tokens up once for several models.  rows holds each row once,
 * in the order of its first token, and counts how many tokens it had. */
cd_status cdi_classify_rows(cd_classifier *c, const cdi_lexicon *lex, size_t which,
                            const uint32_t *rows, const uint32_t *counts, size_t nrows,
                            const cd_label_score **scores, size_t *n, cd_error *err);

#endif
