/*
 * vocab.c - growable token -> id map for training (see vocab.h).
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; names live in one pool so that a term costs no
 * allocation of its own.  The hash (XXH3) is the one the model file's
 * read-only table uses, so hashes are computed once.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "model/vocab.h"

uint64_t cdi_vocab_hash(const char *s, size_t len)
{
    return XXH3_64bits(s, len);
}

int cdi_vocab_init(cd_vocab *v)
{
    memset(v, 0, sizeof *v);
    v->slots = calloc(1024, sizeof *v->slots);
    if (!v->slots)
        return -1;
    v->mask = 1023;
    return 0;
}

void cdi_vocab_free(cd_vocab *v)
{
    free(v->slots);
    free(v->hashes);
    free(v->name_off);
    free(v->name_len);
    free(v->pool);
    memset(v, 0, sizeof *v);
}

static int64_t probe(const cd_vocab *v, uint64_t h, const char *s, size_t len, uint32_t *slot)
{
    uint32_t i = (uint32_t)h & v->mask;
    for (;;) {
        uint32_t id = v->slots[i];
        if (!id) {
            *slot = i;
            return -1;
        }
        id--;
        if (v->hashes[id] == h && v->name_len[id] == len && !memcmp(v->pool + v->name_off[id], s, len))
            return id;
        i = (i + 1) & v->mask;
    }
}

int64_t cdi_vocab_find(const cd_vocab *v, const char *s, size_t len)
{
    uint32_t slot;
    return probe(v, cdi_vocab_hash(s, len), s, len, &slot);
}

static int grow_table(cd_vocab *v)
{
    uint32_t size = (v->mask + 1) * 2;
    uint32_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t id = 0; id < v->count; id++) {
        uint32_t i = (uint32_t)v->hashes[id] & (size - 1);
        while (slots[i])
            i = (i + 1) & (size - 1);
        slots[i] = id + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->mask = size - 1;
    return 0;
}

static int grow_terms(cd_vocab *v)
{
    uint32_t cap = v->cap ? v->cap * 2 : 1024;
    uint64_t *h = realloc(v->hashes, sizeof *h * cap);
    if (!h) return -1;
    v->hashes = h;
    uint32_t *off = realloc(v->name_off, sizeof *off * cap);
    if (!off) return -1;
    v->name_off = off;
    uint32_t *len = realloc(v->name_len, sizeof *len * cap);
    if (!len) return -1;
    v->name_len = len;
    v->cap = cap;
    return 0;
}

static int pool_append(cd_vocab *v, const char *s, size_t len)
{
    if (v->pool_len + len > UINT32_MAX)
        return -1;
    if (v->pool_len + len > v->pool_cap) {
        size_t cap = v->pool_cap ? v->pool_cap * 2 : 65536;
        while (cap < v->pool_len + len)
            cap *= 2;
        char *p = realloc(v->pool, cap);
        if (!p)
            return -1;
        v->pool = p;
        v->pool_cap = cap;
    }
    if (len == 0)
        return 0;   /* nothing to copy, and the pool may not exist yet */
    memcpy(v->pool + v->pool_len, s, len);
    v->pool_len += len;
    return 0;
}

int64_t cdi_vocab_intern(cd_vocab *v, const char *s, size_t len)
{
    uint64_t h = cdi_vocab_hash(s, len);
    uint32_t slot;
    int64_t id = probe(v, h, s, len, &slot);
    if (id >= 0)
        return id;
    if (v->count >= UINT32_MAX / 4)
        return -1;
    if ((v->count + 1) * 2 > v->mask + 1) {
        if (grow_table(v))
            return -1;
        probe(v, h, s, len, &slot);
    }
    if (v->count == v->cap && grow_terms(v))
        return -1;
    uint32_t off = (uint32_t)v->pool_len;
    if (pool_append(v, s, len))
        return -1;
    id = v->count++;
    v->hashes[id] = h;
    v->name_off[id] = off;
    v->name_len[id] = (uint32_t)len;
    v->slots[slot] = (uint32_t)id + 1;
    return id;
}
