/*
 * base/buf.c - the growable byte buffer (see buf.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* Room for extra more bytes and the NUL; 0 when there is none (failed set). */
static int grow(cd_buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->max && (extra > b->max || b->len > b->max - extra)) {
        b->failed = b->over = 1;
        return 0;
    }
    if (b->cap && extra < b->cap - b->len)   /* cap > len always holds the NUL */
        return 1;
    size_t need = b->len + extra + 1;
    if (need < extra) {   /* wrapped */
        b->failed = 1;
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    /* a bounded buffer never takes more than it may hold */
    if (b->max && cap > b->max + 1)
        cap = b->max + 1;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = 1;
        return 0;
    }
    b->data = data;
    b->cap = cap;
    return 1;
}

int cdi_buf_reserve(cd_buf *b, size_t extra)
{
    if (!grow(b, extra))
        return -1;
    b->data[b->len] = '\0';
    return 0;
}

void cdi_buf_put_grow(cd_buf *b, const char *s, size_t len)
{
    if (!grow(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void cdi_buf_printf(cd_buf *b, const char *fmt, ...)
{
    /* straight into the free room, which is mostly enough; measuring
     * first cost a second formatting of every number written */
    if (b->failed)
        return;
    if (b->cap - b->len < 65 && !grow(b, b->max ? 0 : 64))
        return;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        b->data[b->len] = '\0';
        if (!grow(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    } else if (b->max && b->len + (size_t)n > b->max) {
        b->data[b->len] = '\0';
        b->failed = b->over = 1;
        return;
    }
    b->len += (size_t)n;
}

void cdi_buf_reset(cd_buf *b)
{
    b->len = 0;
    b->failed = b->over = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cdi_buf_shrink(cd_buf *b, size_t keep)
{
    if (b->cap > keep && keep > 0) {
        char *p = realloc(b->data, keep);
        if (p) {
            b->data = p;
            b->cap = keep;
        }
    }
    cdi_buf_reset(b);
}

char *cdi_buf_take(cd_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = b->over = 0;
    return p;
}

void cdi_buf_free(cd_buf *b)
{
    free(b->data);
    size_t max = b->max;
    memset(b, 0, sizeof *b);
    b->max = max;
}

int cdi_array_grow(void **p, size_t elem, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (elem && n > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, elem * n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}
