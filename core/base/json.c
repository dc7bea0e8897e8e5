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

/* The vector path: SSE2 is part of x86-64; CDI_JSON_SCALAR (a test
 * defines it) keeps to the portable one. */
#if defined(__SSE2__) && !defined(CDI_JSON_SCALAR)
#define JSON_SSE2 1
#endif

/* What the writer does with a byte that is not plain: a valid UTF-8
 * sequence is copied, an invalid byte becomes U+FFFD, a control, quote or
 * backslash its escape.  s[i] (of len) goes to out + *o; the bytes of s
 * used. */
static size_t put_special(char *out, size_t *o, const char *str, size_t i, size_t len)
{
    unsigned char c = (unsigned char)str[i];
    if (c >= 0x80) {
        size_t n = cdi_utf8_seq(str + i, len - i);
        if (n) {
            memcpy(out + *o, str + i, n);
            *o += n;
            return n;
        }
        memcpy(out + *o, "\xEF\xBF\xBD", 3);
        *o += 3;
        return 1;
    }
    static const char hex[] = "0123456789abcdef";
    char *p = out + *o;
    p[0] = '\\';
    switch (c) {
    case '"': p[1] = '"'; break;
    case '\\': p[1] = '\\'; break;
    case '\n': p[1] = 'n'; break;
    case '\r': p[1] = 'r'; break;
    case '\t': p[1] = 't'; break;
    default:
        memcpy(p + 1, "u00", 3);
        p[4] = hex[c >> 4];
        p[5] = hex[c & 15];
        *o += 6;
        return 1;
    }
    *o += 2;
    return 1;
}

#ifdef JSON_SSE2
/* The bytes of v that are not plain, one bit each: controls and non-ASCII
 * bytes compare below 0x20 as signed bytes, quotes and backslashes equal. */
static inline unsigned special_mask(__m128i v)
{
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return (unsigned)_mm_movemask_epi8(bad);
}

static inline uint64_t load8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

static inline uint64_t load4(const unsigned char *s)
{
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}

/* The last r (1 to 15) bytes of a string, s[0..r), as a vector whose
 * other bytes are 0, without reading past them: two loads that overlap
 * (the bytes both hold are the same, so or-ing them is exact).  Little
 * endian, as x86 is. */
static inline __m128i tail_vector(const unsigned char *s, size_t r)
{
    uint64_t lo, hi = 0;
    if (r >= 8) {
        lo = load8(s);
        if (r > 8)
            hi = load8(s + r - 8) >> (8 * (16 - r));
    } else if (r >= 4) {
        lo = load4(s) | load4(s + r - 4) << (8 * (r - 4));
    } else {
        lo = (uint64_t)s[0] | (uint64_t)s[r / 2] << (8 * (r / 2)) |
             (uint64_t)s[r - 1] << (8 * (r - 1));
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* The second byte of the two-byte escapes ('"', '\\', \n, \r, \t); 0 for
 * the other controls, written \u00XX. */
static const char short_escape[0x60] = {
    ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
};

/* Escape s (len bytes) into out, which has room for 6 bytes per byte of
 * s and 16 more: the bytes cdi_json_escape gives, without the quotes.
 * Plain bytes go 32 or 16 at a time (the short tail too, as one vector),
 * each vector stored whole and kept up to the first byte that is not
 * plain, which is then written on its own.  Returns the bytes written. */
static size_t escape_into(char *out, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
    for (;;) {
        unsigned mask;
        /* o <= 6 i: each store below is within the room */
        while (len - i >= 32) {   /* most of a story's body */
            __m128i v0 = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i v1 = _mm_loadu_si128((const __m128i *)(s + i + 16));
            _mm_storeu_si128((__m128i *)(out + o), v0);
            _mm_storeu_si128((__m128i *)(out + o + 16), v1);
            mask = special_mask(v0) | special_mask(v1) << 16;
            if (mask)
                goto special;
            i += 32;
            o += 32;
        }
        size_t r = len - i;
        __m128i v;
        if (r >= 16) {
            v = _mm_loadu_si128((const __m128i *)(s + i));
            mask = special_mask(v);
            r = 16;
        } else if (r) {
            v = tail_vector(s + i, r);
            mask = special_mask(v) & ((1u << r) - 1);   /* the padding is 0 */
        } else {
            return o;
        }
        _mm_storeu_si128((__m128i *)(out + o), v);
        if (!mask) {
            i += r;
            o += r;
            continue;
        }
    special:;
        unsigned k = (unsigned)__builtin_ctz(mask);
        i += k;
        o += k;
        unsigned char c = s[i];
        if (c >= 0x80) {
            i += put_special(out, &o, str, i, len);
            continue;
        }
        out[o] = '\\';
        char e = short_escape[c];
        if (e) {
            out[o + 1] = e;
            o += 2;
        } else {
            memcpy(out + o + 1, "u00", 3);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        }
        i++;
    }
}
#else
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

/* The portable escape_into: eight plain bytes at a time, then one. */
static size_t escape_into(char *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
    while (i < len) {
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (any_special(w))
                break;
            memcpy(out + o, &w, 8);
            i += 8;
            o += 8;
        }
        while (i < len && plain_ascii(s[i]))
            out[o++] = (char)s[i++];
        if (i < len)
            i += put_special(out, &o, str, i, len);
    }
    return o;
}
#endif

/* Input bytes escaped per reservation: the room reserved (6 per byte)
 * stays small whatever the length of the string. */
#define ESCAPE_CHUNK 4096

void cdi_buf_json_string(cd_buf *b, const char *s, size_t len)
{
    if (b->max) {   /* bounded: reserving the worst case could refuse what fits */
        cdi_json_escape(s, len, buf_sink, b);
        return;
    }
    if (b->failed)
        return;
    if (len <= ESCAPE_CHUNK) {   /* most strings: one check of the room */
        size_t need = 6 * len + 18;   /* quotes, escape_into's 16, the NUL */
        if (b->cap - b->len < need && cdi_buf_reserve(b, need))
            return;
        char *p = b->data + b->len;
        size_t o = 1 + escape_into(p + 1, s, len);
        p[0] = '"';
        p[o++] = '"';
        p[o] = '\0';
        b->len += o;
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
    /* a whole number below 1e15 (the conversion is defined there, and
     * v equals its truncation exactly when it is whole) as %.0f */
    int whole = fabs(v) < 1e15 && v == (double)(int64_t)v;
    if (!b->max && !b->failed && b->cap - b->len > CDI_NUM_MAX) {   /* straight in */
        b->len += whole ? cdi_fmt_int(v, b->data + b->len) : cdi_fmt_g6(v, b->data + b->len);
        b->data[b->len] = '\0';   /* also when nothing was written */
        return;
    }
    char num[CDI_NUM_MAX];
    size_t n = whole ? cdi_fmt_int(v, num) : cdi_fmt_g6(v, num);
    cdi_buf_put(b, num, n);
}
