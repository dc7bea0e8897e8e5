/*
 * base/buf.h - the one growable byte buffer of the library.
 *
 * Writers build text in it (the desk's story JSON, the dead-letter
 * envelope, log lines) and readers collect bytes in it (a document being
 * fetched, a story being read).  The content is always NUL-terminated, so
 * it can be used as a C string when it holds no NUL byte.
 *
 * A buffer can be bounded: with max set (non-zero), a put that would make
 * it hold more than max bytes is refused whole and sets over.  Both an
 * allocation failure and a refusal set failed and make later puts no-ops,
 * so a writer checks failed once at the end rather than after every call;
 * cdi_buf_reset clears them.
 *
 *     cd_buf b = { .max = 1 << 20 };   // or {0}: unbounded
 *     cdi_buf_put(&b, data, n);
 *     if (b.over) ... too large;  else if (b.failed) ... out of memory
 *     cdi_buf_free(&b);
 */
#ifndef CD_BASE_BUF_H
#define CD_BASE_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct cd_buf {
    char *data;   /* NUL-terminated once anything was put; may be NULL before */
    size_t len;
    size_t cap;
    size_t max;   /* the most bytes it may hold; 0: no bound */
    int failed;   /* a put was lost (memory or bound): the content is incomplete */
    int over;     /* a put was refused because of max (failed is set too) */
} cd_buf;

/* An array *p of *cap elements of elem bytes made room for need of them
 * (doubling); 0, or -1 when out of memory (*p and *cap unchanged). */
int cdi_array_grow(void **p, size_t elem, size_t *cap, size_t need);

/* cdi_buf_put when the room must be made (or the bound checked). */
void cdi_buf_put_grow(cd_buf *b, const char *s, size_t len);

/* Inline: the JSON writers put many short pieces per story, and most of
 * them fit in the room there is. */
static inline void cdi_buf_put(cd_buf *b, const char *s, size_t len)
{
    /* short pieces only: a length the compiler sees is huge (a test of
     * the bound) never reaches this memcpy */
    if (len <= 4096 && !b->max && !b->failed && len < b->cap - b->len) {   /* cap > len: the NUL */
        memcpy(b->data + b->len, s, len);
        b->len += len;
        b->data[b->len] = '\0';
        return;
    }
    cdi_buf_put_grow(b, s, len);
}

static inline void cdi_buf_puts(cd_buf *b, const char *s)
{
    cdi_buf_put(b, s, strlen(s));
}
void cdi_buf_printf(cd_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Make room for extra more bytes (and the NUL) without writing them, so
 * that data is never NULL afterwards; 0 on success, -1 when out of memory
 * or over the bound (failed is set). */
int cdi_buf_reserve(cd_buf *b, size_t extra);

/* Empty the buffer (keeping its memory and bound) and clear failed/over. */
void cdi_buf_reset(cd_buf *b);

/* Empty it and give back memory beyond keep bytes (after one big item). */
void cdi_buf_shrink(cd_buf *b, size_t keep);

/* Hand the content to the caller (NUL-terminated, free() it; NULL when
 * nothing was ever put) and empty the buffer. */
char *cdi_buf_take(cd_buf *b, size_t *len);

/* Release the memory; the buffer is empty and keeps its bound. */
void cdi_buf_free(cd_buf *b);

#endif
