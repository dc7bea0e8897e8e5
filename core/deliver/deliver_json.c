/*
 * deliver_json.c - the JSON-writing byte buffer (see deliver_json.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk/story.h"
#include "deliver/deliver_json.h"

static int grow(cd_buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = 1;
        return 0;
    }
    b->data = data;
    b->cap = cap;
    return 1;
}

void cd_buf_put(cd_buf *b, const char *s, size_t len)
{
    if (!grow(b, len))
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void cd_buf_puts(cd_buf *b, const char *s)
{
    cd_buf_put(b, s, strlen(s));
}

void cd_buf_printf(cd_buf *b, const char *fmt, ...)
{
    /* straight into the free room, which is mostly enough; measuring
     * first cost a second formatting of every number written */
    if (!grow(b, 64))
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
        if (!grow(b, (size_t)n)) {
            b->data[b->len] = '\0';
            return;
        }
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static int plain_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static void put_escape(cd_buf *b, unsigned char c)
{
    switch (c) {
    case '"': cd_buf_puts(b, "\\\""); break;
    case '\\': cd_buf_puts(b, "\\\\"); break;
    case '\n': cd_buf_puts(b, "\\n"); break;
    case '\r': cd_buf_puts(b, "\\r"); break;
    case '\t': cd_buf_puts(b, "\\t"); break;
    default: cd_buf_printf(b, "\\u%04x", c); break;
    }
}

void cd_buf_json_string(cd_buf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    cd_buf_put(b, "\"", 1);
    while (i < len && !b->failed) {
        if (plain_ascii(s[i])) {
            size_t run = i + 1;
            while (run < len && plain_ascii(s[run]))
                run++;
            cd_buf_put(b, str + i, run - i);
            i = run;
        } else if (s[i] >= 0x80) {
            size_t n = cd_utf8_seq((const char *)s + i, len - i);
            cd_buf_put(b, n ? str + i : "\xEF\xBF\xBD", n ? n : 3);
            i += n ? n : 1;
        } else {
            put_escape(b, s[i++]);
        }
    }
    cd_buf_put(b, "\"", 1);
}

void cd_buf_json_number(cd_buf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < 1e15)
        cd_buf_printf(b, "%.0f", v);
    else
        cd_buf_printf(b, "%.6g", v);
}

void cd_buf_reset(cd_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cd_buf_free(cd_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
