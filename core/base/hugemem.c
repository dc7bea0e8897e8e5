/*
 * base/hugemem.c - huge pages for scoring's large tables (see hugemem.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/hugemem.h"

#define HUGE_PAGE ((size_t)2 << 20)

void cdi_advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);   /* a hint: errors ignored */
#else
    (void)p;
    (void)bytes;
#endif
}

void *cdi_calloc_huge(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes < HUGE_PAGE)
        return calloc(n ? n : 1, size ? size : 1);
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);   /* aligned_alloc wants a multiple */
    void *p = aligned_alloc(HUGE_PAGE, rounded);
    if (!p)
        return NULL;
    cdi_advise_huge(p, rounded);
    memset(p, 0, bytes);
    return p;
}
