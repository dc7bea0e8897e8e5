/*
 * suggest.c - the nearest name to a typo (see suggest.h): the optimal
 * string alignment distance (Damerau-Levenshtein without repeated edits of
 * one substring), two rows and a half, on names of at most 128 bytes.
 */
#include <ctype.h>
#include <string.h>

#include "desk/suggest.h"

#define MAXLEN 128

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static int same(char a, char b)
{
    return tolower((unsigned char)a) == tolower((unsigned char)b);
}

static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][MAXLEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1]) &&
                prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *cdi_suggest(const char *word, cd_name_at_fn at, const void *ud, size_t n)
{
    size_t wl = strlen(word);
    if (wl == 0 || wl > MAXLEN)
        return NULL;
    size_t limit = wl <= 4 ? 1 : wl / 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        const char *c = at(ud, i);
        size_t cl = c ? strlen(c) : 0;
        if (!c || cl > MAXLEN || !strcmp(c, word))
            continue;
        size_t d = distance(word, wl, c, cl);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}
