/*
 * token_batch.h - texts tokenized on the machine's cores, their tokens
 * then read back in order.
 *
 * The trainer gives its texts ids in the order their terms first appear,
 * so interning and counting stay on one thread, in the order the texts
 * came; only the tokenizing (folding, stop words, stemming: most of the
 * work) is shared out.  The tokens of a text are the same whichever
 * thread made them, so the model is too.
 */
#ifndef CD_TOKEN_BATCH_H
#define CD_TOKEN_BATCH_H

#include <stddef.h>

#include "copydesk/tokenizer.h"

typedef struct token_batch token_batch;

/* A batch that tokenizes as tok says; NULL when out of memory or when the
 * settings are refused (cd_tokenizer_new). */
token_batch *cdi_token_batch_new(const cd_tok_opts *tok);
void cdi_token_batch_free(token_batch *b);

/* Tokenize n texts (texts[i], lens[i] bytes), the texts dealt to the
 * threads in contiguous runs.  0, or -1 when out of memory. */
int cdi_token_batch_run(token_batch *b, const char *const *texts, const size_t *lens, size_t n);

/* Call fn on each token of text i of the last run, in order, until fn
 * returns non-zero. */
void cdi_token_batch_each(const token_batch *b, size_t i, cd_token_fn fn, void *ud);

#endif
