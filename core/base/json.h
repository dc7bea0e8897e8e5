/*
 * base/json.h - writing JSON text: the one string escaper.
 *
 * Strings are escaped with invalid UTF-8 replaced by U+FFFD, so that the
 * output is valid JSON whatever bytes a story carried.  The escaper writes
 * through a sink, so the same code serves a cd_buf (the desk's story JSON)
 * and a stdio stream (the command line's reports).
 */
#ifndef CD_BASE_JSON_H
#define CD_BASE_JSON_H

#include <stddef.h>

#include "base/buf.h"

/* Receives the escaped text piece by piece. */
typedef void (*cd_json_sink)(void *ud, const char *s, size_t len);

/* s (len bytes) as a JSON string literal, quotes included, into sink. */
void cdi_json_escape(const char *s, size_t len, cd_json_sink sink, void *ud);

/* The same into a buffer. */
void cdi_buf_json_string(cd_buf *b, const char *s, size_t len);

/* A JSON number; NaN and infinities (not JSON) become 0. */
void cdi_buf_json_number(cd_buf *b, double v);

#endif
