/*
 * copydesk/tokenizer.h - UTF-8 text in, tokens out.
 *
 * The tokenizer folds case (full Unicode case folding, NFC), splits on
 * Unicode spaces and punctuation, and applies the options below.  It never
 * allocates per token: each token is handed to a callback as a pointer into
 * a scratch buffer owned by the tokenizer, valid only during the call.
 * A tokenizer is not thread-safe; use one per thread.
 *
 * The exact treatment of apostrophes, hyphens, dots in acronyms, numbers,
 * invalid UTF-8 and NUL bytes is documented in core/text/tokenizer.c and tested
 * in tests/unit/test_tokenizer.c.
 */
#ifndef COPYDESK_TOKENIZER_H
#define COPYDESK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

typedef struct cd_tok_opts {
    uint32_t min_len;      /* shortest token kept, in code points (default 2) */
    uint32_t max_len;      /* longest token kept, in code points (default 40) */
    uint8_t stopwords;     /* drop English stop words (default 1) */
    uint8_t bigrams;       /* also emit word bigrams "a b" (default 0) */
    uint8_t stem;          /* Snowball English stemming (default 0) */
    uint8_t fold_numbers;  /* digit runs become "0": "10.5bn" -> "0.0bn" (default 0) */
} cd_tok_opts;

/* The version of the tokenization rules (core/text/tokenizer.c, the stop-word
 * list, the Unicode data of utf8proc).  A model records the version it was
 * trained with and is refused by a tokenizer of another version, since its
 * vocabulary would no longer match the tokens. */
#define CD_TOK_VERSION 1u

/* Upper bound of min_len/max_len accepted by cd_tokenizer_new. */
#define CD_TOK_MAX_LEN 256

CD_API void cd_tok_opts_default(cd_tok_opts *opts);

typedef struct cd_tokenizer cd_tokenizer;

/* Create a tokenizer; opts NULL means the defaults. */
CD_API cd_status cd_tokenizer_new(const cd_tok_opts *opts, cd_tokenizer **out, cd_error *err);
CD_API void cd_tokenizer_free(cd_tokenizer *tok);
CD_API const cd_tok_opts *cd_tokenizer_opts(const cd_tokenizer *tok);

/* Called once per token, in text order.  tok is not NUL-terminated.
 * Return non-zero to stop tokenizing. */
typedef int (*cd_token_fn)(const char *tok, size_t len, void *ud);

/* Tokenize len bytes of text (any bytes: invalid UTF-8 and NUL are treated
 * as separators).  Returns the number of tokens emitted. */
CD_API size_t cd_tokenize(cd_tokenizer *tok, const char *text, size_t len,
                          cd_token_fn fn, void *ud);

/* Called from a cd_token_fn, where the token being emitted is: the byte
 * offset in the text where its word starts (for a bigram, its second
 * word's), and the number of sentence ends (the marks that stop bigrams,
 * line breaks included) before it in this cd_tokenize call.  The desk
 * uses them for keyword scopes and proximity (core/desk/topics.h). */
CD_API size_t cd_tokenizer_token_offset(const cd_tokenizer *tok);
CD_API size_t cd_tokenizer_sentence(const cd_tokenizer *tok);

/* Non-zero when word (already folded, len bytes) is an English stop word. */
CD_API int cd_is_stopword(const char *word, size_t len);

/* Call fn on every word of the stop-word list (as cd_is_stopword sees
 * them: lowercase, apostrophes removed). */
CD_API void cd_stopwords_each(void (*fn)(const char *word, size_t len, void *ud), void *ud);

#endif
