/*
 * suggest.h - "did you mean ...?": the nearest of a set of names to a
 * mistyped one, for the messages of check and of rules at run time.
 */
#ifndef CD_DESK_SUGGEST_H
#define CD_DESK_SUGGEST_H

#include <stddef.h>

/* Name i of the candidates (NULL to skip it). */
typedef const char *(*cd_name_at_fn)(const void *ud, size_t i);

/* The candidate nearest to word by edit distance (insertions, deletions,
 * substitutions and swaps of neighbours, ASCII case ignored), when it is
 * close enough to be a typo: at most 1 edit for words of up to 4 bytes,
 * else a third of the word's length.  NULL when none is. */
const char *cdi_suggest(const char *word, cd_name_at_fn at, const void *ud, size_t n);

#endif
