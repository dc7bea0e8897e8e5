/*
 * text/tokenizer_internal.h - where a tokenizer keeps the offset and the
 * sentence of the token it is emitting (cd_tokenizer_token_offset,
 * cd_tokenizer_sentence), for a caller that reads them for every token
 * without a call each (the desk, desk.c).
 */
#ifndef CD_TEXT_TOKENIZER_INTERNAL_H
#define CD_TEXT_TOKENIZER_INTERNAL_H

#include <stddef.h>

#include "copydesk/tokenizer.h"

/* Valid as long as tok: *start and *sentence are what the two functions
 * return, read while a token is emitted (in cd_tokenize's callback). */
void cdi_tokenizer_cursor(const cd_tokenizer *tok, const size_t **start,
                          const size_t **sentence);

#endif
