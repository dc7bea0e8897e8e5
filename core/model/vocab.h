/*
 * vocab.h - a growable map from token strings to dense term ids, used
 * while training (a mapped model has its own read-only hash table).
 */
#ifndef CD_VOCAB_H
#define CD_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct cd_vocab {
    uint32_t *slots;      /* term id + 1, 0 when empty; size is a power of two */
    uint32_t mask;
    uint32_t count;
    uint64_t *hashes;     /* per term */
    uint32_t *name_off;   /* per term, into pool */
    uint32_t *name_len;
    uint32_t cap;         /* capacity of the per-term arrays */
    char *pool;
    size_t pool_len, pool_cap;
} cd_vocab;

uint64_t cdi_vocab_hash(const char *s, size_t len);

int cdi_vocab_init(cd_vocab *v);
void cdi_vocab_free(cd_vocab *v);

/* The id of s, or -1 when absent. */
int64_t cdi_vocab_find(const cd_vocab *v, const char *s, size_t len);

/* The id of s, added when absent; -1 when out of memory or full. */
int64_t cdi_vocab_intern(cd_vocab *v, const char *s, size_t len);

static inline const char *cdi_vocab_name(const cd_vocab *v, uint32_t id, size_t *len)
{
    *len = v->name_len[id];
    return v->pool + v->name_off[id];
}

#endif
