/*
 * base/json.c - the JSON string escaper (see json.h).
 */
#include <math.h>
#include <stdio.h>

#include "base/json.h"
#include "base/utf8.h"

static int plain_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static void put_escape(unsigned char c, cd_json_sink sink, void *ud)
{
    switch (c) {
    case '"': sink(ud, "\\\"", 2); break;
    case '\\': sink(ud, "\\\\", 2); break;
    case '\n': sink(ud, "\\n", 2); break;
    case '\r': sink(ud, "\\r", 2); break;
    case '\t': sink(ud, "\\t", 2); break;
    default: {
        char u[8];
        snprintf(u, sizeof u, "\\u%04x", c);
        sink(ud, u, 6);
        break;
    }
    }
}

void cdi_json_escape(const char *str, size_t len, cd_json_sink sink, void *ud)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    sink(ud, "\"", 1);
    while (i < len) {
        if (plain_ascii(s[i])) {
            size_t run = i + 1;
            while (run < len && plain_ascii(s[run]))
                run++;
            sink(ud, str + i, run - i);
            i = run;
        } else if (s[i] >= 0x80) {
            size_t n = cdi_utf8_seq(str + i, len - i);
            sink(ud, n ? str + i : "\xEF\xBF\xBD", n ? n : 3);
            i += n ? n : 1;
        } else {
            put_escape(s[i++], sink, ud);
        }
    }
    sink(ud, "\"", 1);
}

static void buf_sink(void *ud, const char *s, size_t len)
{
    cdi_buf_put(ud, s, len);
}

void cdi_buf_json_string(cd_buf *b, const char *s, size_t len)
{
    cdi_json_escape(s, len, buf_sink, b);
}

void cdi_buf_json_number(cd_buf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < 1e15)
        cdi_buf_printf(b, "%.0f", v);
    else
        cdi_buf_printf(b, "%.6g", v);
}
