/*
 * block_pool.c - small blocks for a Lua state (see block_pool.h).
 *
 * The region is reserved with mmap and carved from its start; a freed
 * block goes to the head of its size's list (its first word links the
 * list), and a request of that size takes the head.  A block is the
 * pool's when its address is inside the region, so a block malloc gave
 * (large, or asked for when the region was full) is told apart with two
 * comparisons.  Blocks are never merged nor given back before the pool is
 * freed: the region bounds what the pool holds, whatever the mix of sizes.
 *
 * Under AddressSanitizer the region is poisoned, a block unpoisoned while
 * it is in use, so a read of a freed Lua object is reported as it would be
 * with malloc; and the region is one of LeakSanitizer's roots, since a
 * block malloc gave may be pointed to only from a pooled one (a table's
 * slots from the table), and LeakSanitizer scans no region it was not
 * told of.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lua/block_pool.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define ROOT(p, n) __lsan_register_root_region((p), (n))
#define UNROOT(p, n) __lsan_unregister_root_region((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define ROOT(p, n) ((void)(p), (void)(n))
#define UNROOT(p, n) ((void)(p), (void)(n))
#endif

#define STEP 16
#define NCLASS (CDI_POOL_MAX_BLOCK / STEP)

struct cdi_block_pool {
    char *base, *next, *end;    /* the region; next: where carving goes on */
    void *free[NCLASS + 1];     /* by class: the freed blocks of that size */
};

/* 1 for 1-16 bytes, 2 for 17-32, ...; 0 when too large for the pool. */
static size_t class_of(size_t n)
{
    return n <= CDI_POOL_MAX_BLOCK ? (n + STEP - 1) / STEP : 0;
}

cdi_block_pool *cdi_block_pool_new(size_t bytes)
{
    cdi_block_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    bytes = (bytes + page - 1) / page * page;
    void *m = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                    : MAP_FAILED;
    if (m != MAP_FAILED) {   /* else an empty region: everything goes to malloc */
        p->base = p->next = m;
        p->end = p->base + bytes;
        POISON(p->base, bytes);
        ROOT(p->base, bytes);
    }
    return p;
}

void cdi_block_pool_free(cdi_block_pool *p)
{
    if (!p)
        return;
    if (p->base) {
        UNROOT(p->base, (size_t)(p->end - p->base));
        UNPOISON(p->base, (size_t)(p->end - p->base));
        munmap(p->base, (size_t)(p->end - p->base));
    }
    free(p);
}

static int owns(const cdi_block_pool *p, const void *ptr)
{
    return p->base && (const char *)ptr >= p->base && (const char *)ptr < p->end;
}

/* A block of class c (its size c * STEP), or NULL when the region is full. */
static void *take(cdi_block_pool *p, size_t c)
{
    void *b = p->free[c];
    if (b) {
        UNPOISON(b, c * STEP);
        p->free[c] = *(void **)b;
        return b;
    }
    if ((size_t)(p->end - p->next) < c * STEP)
        return NULL;
    b = p->next;
    p->next += c * STEP;
    UNPOISON(b, c * STEP);
    return b;
}

static void give(cdi_block_pool *p, void *b, size_t c)
{
    *(void **)b = p->free[c];
    p->free[c] = b;
    POISON(b, c * STEP);
}

void *cdi_block_pool_realloc(cdi_block_pool *p, void *ptr, size_t old, size_t nsize)
{
    size_t c = class_of(nsize);
    if (!ptr || !owns(p, ptr)) {
        if (!ptr && c) {
            void *b = take(p, c);
            if (b)
                return b;
        }
        return realloc(ptr, nsize);   /* a block malloc gave stays malloc's */
    }
    size_t oc = class_of(old);
    assert(oc > 0);   /* a pooled block is small: old is the size it was given */
    if (c == oc)
        return ptr;   /* the block already has room: same size class */
    void *b = c ? take(p, c) : NULL;
    if (!b && !(b = malloc(nsize)))
        return NULL;
    memcpy(b, ptr, old < nsize ? old : nsize);
    give(p, ptr, oc);
    return b;
}

void cdi_block_pool_release(cdi_block_pool *p, void *ptr, size_t old)
{
    if (ptr && owns(p, ptr)) {
        assert(class_of(old) > 0);
        give(p, ptr, class_of(old));
    } else {
        free(ptr);
    }
}

size_t cdi_block_pool_carved(const cdi_block_pool *p)
{
    return p->base ? (size_t)(p->next - p->base) : 0;
}
