/*
 * deliver_json.h - a growable byte buffer for writing JSON text.
 *
 * The desk builds the JSON of each delivered story (and the dead-letter
 * envelope) directly into a cd_buf rather than through a DOM: the story's
 * pass-through metadata is already JSON text and is copied as it is.
 * Strings are escaped with invalid UTF-8 replaced by U+FFFD, so that the
 * output is valid JSON whatever bytes a story carried.
 *
 * An allocation failure sets buf->failed and makes later calls no-ops; the
 * writer checks it once at the end instead of after every call.
 */
#ifndef CD_DELIVER_JSON_H
#define CD_DELIVER_JSON_H

#include <stddef.h>

typedef struct cd_buf {
    char *data;   /* NUL-terminated when not failed */
    size_t len;
    size_t cap;
    int failed;   /* an allocation failed: the content is incomplete */
} cd_buf;

void cd_buf_put(cd_buf *b, const char *s, size_t len);
void cd_buf_puts(cd_buf *b, const char *s);
void cd_buf_printf(cd_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s (len bytes) as a JSON string literal, quotes included. */
void cd_buf_json_string(cd_buf *b, const char *s, size_t len);
/* A JSON number; NaN and infinities (not JSON) become 0. */
void cd_buf_json_number(cd_buf *b, double v);
void cd_buf_reset(cd_buf *b);
void cd_buf_free(cd_buf *b);

#endif
