/*
 * base/json.c - the JSON string escaper (see json.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/json.h"
#include "base/numfmt.h"
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

/* Whether any of the 8 bytes of w is below 0x20, '"', '\\' or 0x80 and
 * over: what plain_ascii refuses (the classic "has a byte less than"
 * tricks, exact for each byte). */
static inline int any_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t ctl = (w - ones * 0x20) & ~w;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    quote = (quote - ones) & ~quote;
    bslash = (bslash - ones) & ~bslash;
    return ((ctl | quote | bslash) & high) || (w & high);
}

/* Escape s (len bytes) into out, which has room for 6 bytes per byte of
 * s (and 16 at least): the same bytes cdi_json_escape gives, without the
 * quotes.  Returns the bytes written. */
static size_t escape_into(char *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
    while (i < len) {
        int found = 0;   /* s[i] is known not plain: straight to it */
#ifdef __SSE2__
        /* sixteen bytes at a time, copied up to the first that is not
         * plain (a control or non-ASCII byte compares below 0x20 as a
         * signed byte): most of a story's text */
        while (i + 16 <= len) {
            __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            unsigned mask = (unsigned)_mm_movemask_epi8(bad);
            _mm_storeu_si128((__m128i *)(out + o), v);
            if (mask) {
                unsigned k = (unsigned)__builtin_ctz(mask);
                i += k;
                o += k;
                found = 1;
                break;
            }
            i += 16;
            o += 16;
        }
#endif
        /* eight plain bytes at a time */
        while (!found && i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (any_special(w))
                break;
            memcpy(out + o, &w, 8);
            i += 8;
            o += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (plain_ascii(c)) {
            out[o++] = (char)c;
            i++;
        } else if (c >= 0x80) {
            size_t n = cdi_utf8_seq(str + i, len - i);
            if (n) {
                memcpy(out + o, str + i, n);
                o += n;
                i += n;
            } else {
                memcpy(out + o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
            }
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            switch (c) {
            case '"': out[o++] = '"'; break;
            case '\\': out[o++] = '\\'; break;
            case '\n': out[o++] = 'n'; break;
            case '\r': out[o++] = 'r'; break;
            case '\t': out[o++] = 't'; break;
            default:
                memcpy(out + o, "u00", 3);
                out[o + 3] = hex[c >> 4];
                out[o + 4] = hex[c & 15];
                o += 5;
                break;
            }
            i++;
        }
    }
    return o;
}

/* Input bytes escaped per reservation: the room reserved (6 per byte)
 * stays small whatever the length of the string. */
#define ESCAPE_CHUNK 4096

void cdi_buf_json_string(cd_buf *b, const char *s, size_t len)
{
    if (b->max) {   /* bounded: reserving the worst case could refuse what fits */
        cdi_json_escape(s, len, buf_sink, b);
        return;
    }
    cdi_buf_put(b, "\"", 1);
    size_t i = 0;
    while (i < len && !b->failed) {
        size_t n = len - i < ESCAPE_CHUNK ? len - i : ESCAPE_CHUNK;
        /* a valid UTF-8 sequence is never split between chunks: one that
         * starts in the last 3 bytes and goes on past the chunk starts the
         * next */
        for (size_t k = 1; i + n < len && k <= 3 && k < n; k++) {
            if (((unsigned char)s[i + n - k] & 0xC0) == 0x80)
                continue;
            if (cdi_utf8_seq(s + i + n - k, len - (i + n - k)) > k)
                n -= k;
            break;
        }
        if (cdi_buf_reserve(b, 6 * n + 16))
            return;
        b->len += escape_into(b->data + b->len, s + i, n);
        b->data[b->len] = '\0';
        i += n;
    }
    cdi_buf_put(b, "\"", 1);
}

void cdi_buf_json_number(cd_buf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    char num[CDI_NUM_MAX];
    size_t n = v == floor(v) && fabs(v) < 1e15 ? cdi_fmt_int(v, num) : cdi_fmt_g6(v, num);
    cdi_buf_put(b, num, n);
}
