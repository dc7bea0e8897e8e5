/*
 * base/utf8.h - checking UTF-8 one sequence at a time, for the writers
 * that must turn whatever bytes a story carried into valid JSON text.
 */
#ifndef CD_BASE_UTF8_H
#define CD_BASE_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence that starts s (n bytes available):
 * 1 to 4, or 0 when the bytes there are not valid UTF-8 (overlong forms,
 * surrogates, truncated sequences, stray bytes). */
size_t cdi_utf8_seq(const char *s, size_t n);

#endif
