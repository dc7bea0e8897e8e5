/*
 * base/ascii.h - byte classes of the readers, independent of the locale
 * (isspace() follows setlocale, and a story's bytes must not).
 */
#ifndef CD_BASE_ASCII_H
#define CD_BASE_ASCII_H

#include <stddef.h>

/* Space, tab, newline, carriage return, vertical tab, form feed. */
static inline int cdi_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether the n bytes at p are all cdi_is_space (true for none). */
static inline int cdi_is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!cdi_is_space((unsigned char)p[i]))
            return 0;
    return 1;
}

#endif
