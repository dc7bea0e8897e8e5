/*
 * fuzz_tokenizer.c - libFuzzer target: the tokenizer on any bytes.
 *
 * The first two bytes choose the tokenizer settings (lengths, stop words,
 * bigrams, stemming, number folding); the rest is the text.  Each token
 * must be non-empty, not longer than the scratch bound, and valid UTF-8
 * (the tokenizer folds and recomposes, so whatever it emits is its own
 * output, never a copy of invalid input).  The same text then goes through
 * the token list and phrase matching the desk uses (core/desk/topics.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "desk/topics.h"

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
            cdi_toklist_free(l);
        }
        cd_tokenizer_free(kt);
    }
    cd_tokenizer_free(tok);
    return 0;
}
