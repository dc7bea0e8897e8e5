/*
 * fuzz_tokenizer.c - libFuzzer target: the tokenizer on any bytes.
 *
 * The first two bytes choose the tokenizer settings (lengths, stop words,
 * bigrams, stemming, number folding); the rest is the text.  Each token
 * must be non-empty, not longer than the scratch bound, and valid UTF-8
 * (the tokenizer folds and recomposes, so whatever it emits is its own
 * output, never a copy of invalid input).  The same text then goes through
 * the token list and phrase matching the desk uses (core/desk/topics.h),
 * and a query (its first two lines, near each other) must count as many
 * occurrences in a sample of the list, the tokens that can be its words
 * (text/sieve.h), as in the whole list: the desk counts its keywords so.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "desk/topics.h"
#include "text/query.h"
#include "text/sieve.h"

static cd_status sieve_word(const char *w, size_t len, int prefix, void *ud)
{
    return cdi_sieve_add(ud, w, len, prefix, NULL);
}

static cd_status query_words(const cd_query *q, cd_status (*fn)(const char *, size_t, int, void *),
                             void *ud)
{
    cd_status st = CD_OK;
    for (int k = 0; k < 2 && st == CD_OK; k++) {
        const cd_phrase *p = k ? q->b : q->a;
        for (size_t j = 0; p && j < p->toks->n && st == CD_OK; j++)
            st = fn(p->toks->text + p->toks->off[j], p->toks->len[j],
                    p->prefix && j + 1 == p->toks->n, ud);
    }
    return st;
}

/* The first line of the text as a query, near the second when there is
 * one (within and scope from the text's length): as many hits in the
 * sample of l as in l. */
static void check_sample(cd_tokenizer *kt, cd_toklist *l, const char *text, size_t len)
{
    const char *nl = memchr(text, '\n', len);
    if (!nl || nl - text > 64)
        return;
    char a[65], b[65];
    memcpy(a, text, (size_t)(nl - text));
    a[nl - text] = '\0';
    const char *rest = nl + 1, *nl2 = memchr(rest, '\n', len - (size_t)(rest - text));
    size_t blen = nl2 ? (size_t)(nl2 - rest) : 0;
    if (blen > 64)
        return;
    memcpy(b, rest, blen);
    b[blen] = '\0';
    cd_keyword_spec k = { a, blen ? b : NULL, (int)(len % 13) - 1, (int)(len % 4),
                          (unsigned)(len % 3) };
    cd_query *q;
    if (cdi_query_compile(kt, &k, &q, NULL) != CD_OK)
        return;
    cdi_sieve sv;
    memset(&sv, 0, sizeof sv);
    cd_toklist *sample = cdi_toklist_new();
    if (sample && query_words(q, sieve_word, &sv) == CD_OK && cdi_sieve_seal(&sv, NULL) == CD_OK) {
        cdi_toklist_clear_sample(sample);
        int ok = 1;
        for (size_t i = 0; i < l->n && ok; i++)
            if (cdi_sieve_match(&sv, l->text + l->off[i], l->len[i]))
                ok = cdi_toklist_push_at(sample, l->text + l->off[i], l->len[i], (uint32_t)i,
                                         l->src[i], l->sent[i]) == 0;
        if (len % 2) {
            cdi_toklist_set_zones(l, len / 3, len / 2);
            cdi_toklist_set_zones(sample, len / 3, len / 2);
        } else {   /* the lede found in the text after the "title" when asked */
            cdi_toklist_set_body(l, len / 3, text + len / 3, len - len / 3);
            cdi_toklist_set_body(sample, len / 3, text + len / 3, len - len / 3);
        }
        if (ok && cdi_query_count(q, l, NULL) != cdi_query_count(q, sample, NULL))
            abort();
        size_t lede = cdi_toklist_lede_end(l);
        if (lede < len / 3 || lede > len || lede != cdi_toklist_lede_end(sample))
            abort();
    }
    cdi_toklist_free(sample);
    cdi_sieve_free(&sv);
    cdi_query_free(q);
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

typedef struct check {
    size_t max_bytes;
    size_t n;
} check;

static int on_token(const char *tok, size_t len, void *ud)
{
    check *c = ud;
    if (len == 0 || len > c->max_bytes || !valid_utf8((const unsigned char *)tok, len) ||
        memchr(tok, '\0', len))
        abort();
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    cd_tok_opts o;
    cd_tok_opts_default(&o);
    o.min_len = 1 + (data[0] & 3);
    o.max_len = (data[0] & 4) ? 40 : o.min_len + (data[0] >> 3);
    o.stopwords = data[1] & 1;
    o.bigrams = (data[1] >> 1) & 1;
    o.stem = (data[1] >> 2) & 1;
    o.fold_numbers = (data[1] >> 3) & 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    cd_tokenizer *tok;
    cd_error err;
    if (cd_tokenizer_new(&o, &tok, &err) != CD_OK)
        abort();
    /* a bigram is two tokens and a space; a token is at most max_len code
     * points of at most 4 bytes */
    check c = { .max_bytes = (size_t)o.max_len * 4 * 2 + 1 };
    size_t n = cd_tokenize(tok, text, len, on_token, &c);
    if (n != c.n)
        abort();
    /* the same text twice gives the same count: no state left behind */
    check again = c;
    again.n = 0;
    if (cd_tokenize(tok, text, len, on_token, &again) != n)
        abort();

    /* token list and phrases: the text's first line is the phrase */
    cd_tok_opts ko = o;
    ko.bigrams = 0;
    cd_tokenizer *kt;
    if (cd_tokenizer_new(&ko, &kt, &err) == CD_OK) {
        cd_toklist *l = NULL;
        if (cdi_toklist_build(kt, text, len, &l, &err) == CD_OK) {
            const char *nl = memchr(text, '\n', len);
            size_t plen = nl ? (size_t)(nl - text) : (len < 64 ? len : 64);
            char *phrase = malloc(plen + 1);
            if (phrase) {
                memcpy(phrase, text, plen);
                phrase[plen] = '\0';
                cd_phrase *p;
                if (cdi_phrase_compile(kt, phrase, &p, &err) == CD_OK) {
                    cdi_phrase_count(p, l);
                    cdi_phrase_free(p);
                }
                free(phrase);
            }
            check_sample(kt, l, text, len);
            cdi_toklist_free(l);
        }
        cd_tokenizer_free(kt);
    }
    cd_tokenizer_free(tok);
    return 0;
}
