/*
 * base/hugemem.h - large tables that scoring reads at random (a model's
 * copy, its rows and postings, the lexicon) on 2 MB pages where the
 * system allows it.
 *
 * Each story touches a few bytes at many places spread over megabytes;
 * with 4 kB pages most of those reads also miss the TLB, and in a virtual
 * machine a page walk is slow.  Linux gives anonymous memory huge pages
 * when asked (transparent huge pages set to "madvise", as Debian ships
 * them); elsewhere this does nothing.  Only a hint: contents are the same.
 */
#ifndef CD_BASE_HUGEMEM_H
#define CD_BASE_HUGEMEM_H

#include <stddef.h>

/* Ask for huge pages over the 2 MB-aligned part of [p, p + bytes), before
 * its pages are first written.  Smaller ranges are left alone. */
void cdi_advise_huge(void *p, size_t bytes);

/* calloc(n, size) aligned for huge pages when the block is at least
 * 2 MB, and advised as above; free() frees it.  NULL when out of memory. */
void *cdi_calloc_huge(size_t n, size_t size);

#endif
