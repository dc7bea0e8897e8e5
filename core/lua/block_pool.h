/*
 * block_pool.h - small blocks for a Lua state, recycled instead of
 * returned to malloc (block_pool.c).
 *
 * A rule makes a few small objects for every story (the story object, the
 * tables story:topics returns, their slots) and the collector frees them a
 * few stories later; through malloc that was a tenth of what the rules
 * cost.  The pool keeps freed blocks on one list per size (16-byte steps
 * up to CDI_POOL_MAX_BLOCK) and hands them out again, so a desk in its
 * steady state routes stories without calling malloc.  Blocks come from
 * one region reserved when the pool is made; pages are taken as they are
 * first used, and a pool that is full (or could not reserve its region)
 * passes every request on to malloc.  Not thread-safe: one pool per state.
 */
#ifndef CD_LUA_BLOCK_POOL_H
#define CD_LUA_BLOCK_POOL_H

#include <stddef.h>

#define CDI_POOL_MAX_BLOCK 256

typedef struct cdi_block_pool cdi_block_pool;

/* A pool of at most bytes (rounded up to pages); NULL only when out of
 * memory for the pool's own record. */
cdi_block_pool *cdi_block_pool_new(size_t bytes);
/* Unmaps the region: every block taken from it must be dead by then. */
void cdi_block_pool_free(cdi_block_pool *p);

/* realloc's contract with the size of the old block given (old is 0 when
 * ptr is NULL): a block of at least nsize (> 0) bytes holding ptr's first
 * bytes, or NULL with ptr untouched. */
void *cdi_block_pool_realloc(cdi_block_pool *p, void *ptr, size_t old, size_t nsize);
/* Gives back a block of old bytes from cdi_block_pool_realloc (or NULL). */
void cdi_block_pool_release(cdi_block_pool *p, void *ptr, size_t old);

/* How many bytes of the region have been carved into blocks (for tests). */
size_t cdi_block_pool_carved(const cdi_block_pool *p);

#endif
