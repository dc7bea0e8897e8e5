/*
 * test_json.c - the JSON string escaper against a reference written here
 * byte by byte from its contract (json.h): every byte value, every
 * position of a special byte around the 16- and 32-byte steps and the
 * short tails, invalid UTF-8 of every kind (also cut at the end of the
 * string and across the 4096-byte chunks), long runs, and buffers with
 * just the room the fast path checks for.
 *
 * test_json_scalar.c builds these same tests over the portable path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"

/* ---- the reference ----------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes), RFC 3629: 0 when
 * invalid (overlong, surrogate, above U+10FFFF, cut short, stray). */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* s as a JSON string literal, one byte at a time. */
static void ref_escape(const char *str, size_t len, cd_buf *out)
{
    const unsigned char *s = (const unsigned char *)str;
    cdi_buf_put(out, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        char u[8];
        if (c >= 0x80) {
            size_t n = ref_utf8(s + i, len - i);
            if (n) {
                cdi_buf_put(out, str + i, n);
                i += n;
            } else {
                cdi_buf_put(out, "\xEF\xBF\xBD", 3);
                i++;
            }
            continue;
        }
        if (c == '"')
            cdi_buf_put(out, "\\\"", 2);
        else if (c == '\\')
            cdi_buf_put(out, "\\\\", 2);
        else if (c == '\n')
            cdi_buf_put(out, "\\n", 2);
        else if (c == '\r')
            cdi_buf_put(out, "\\r", 2);
        else if (c == '\t')
            cdi_buf_put(out, "\\t", 2);
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            cdi_buf_put(out, u, 6);
        } else {
            cdi_buf_put(out, (const char *)&c, 1);
        }
        i++;
    }
    cdi_buf_put(out, "\"", 1);
}

static void sink(void *ud, const char *s, size_t len)
{
    cdi_buf_put(ud, s, len);
}

/* The escaper's three ways (a buffer, a bounded buffer, a sink) give the
 * reference's bytes for s; also appended after prefix bytes already in
 * the buffer. */
static void check(const char *s, size_t len)
{
    cd_buf want = { 0 }, got = { 0 }, bounded = { .max = (size_t)1 << 30 }, viasink = { 0 };
    ref_escape(s, len, &want);
    cdi_buf_json_string(&got, s, len);
    cdi_buf_json_string(&bounded, s, len);
    cdi_json_escape(s, len, sink, &viasink);
    assert_false(got.failed);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    assert_int_equal(got.data[got.len], '\0');
    assert_int_equal(bounded.len, want.len);
    assert_memory_equal(bounded.data, want.data, want.len);
    assert_int_equal(viasink.len, want.len);
    assert_memory_equal(viasink.data, want.data, want.len);
    cdi_buf_reset(&got);
    cdi_buf_put(&got, "{\"k\":", 5);
    cdi_buf_json_string(&got, s, len);
    assert_int_equal(got.len, 5 + want.len);
    assert_memory_equal(got.data + 5, want.data, want.len);
    cdi_buf_free(&want);
    cdi_buf_free(&got);
    cdi_buf_free(&bounded);
    cdi_buf_free(&viasink);
}

/* ---- the tests --------------------------------------------------------- */

/* A few literal cases, written out: the reference itself is right. */
static void reference_is_the_contract(void **state)
{
    (void)state;
    cd_buf b = { 0 };
    static const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xff\xc3 end";
    ref_escape(in, sizeof in - 1, &b);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\x7f caf\xc3\xa9 "
                                "\xef\xbf\xbd\xef\xbf\xbd end\"");
    check(in, sizeof in - 1);
    cdi_buf_free(&b);
}

/* Every byte value, alone and at every position of plain text of every
 * length up to 70 (the 16- and 32-byte steps, the tails of 1 to 15
 * bytes, with 1 to 3 plain bytes after the special one). */
static void every_byte_at_every_position(void **state)
{
    (void)state;
    char s[80];
    for (int c = 0; c < 256; c++) {
        s[0] = (char)c;
        check(s, 1);
        for (size_t len = 2; len <= 70; len++) {
            for (size_t at = 0; at < len; at++) {
                memset(s, 'a' + (int)(at % 26), len);
                s[at] = (char)c;
                check(s, len);
            }
        }
    }
}

/* Plain text of every length (0 to 300): the vector steps and tails with
 * nothing to escape, each byte value the scan must let through. */
static void plain_runs_of_every_length(void **state)
{
    (void)state;
    char s[300];
    for (size_t i = 0; i < sizeof s; i++)
        s[i] = (char)(0x20 + i % 0x60);   /* ' ' .. 0x7f, '"' and '\\' among them */
    for (size_t i = 0; i < sizeof s; i++)
        if (s[i] == '"' || s[i] == '\\')
            s[i] = 'q';
    for (size_t len = 0; len <= sizeof s; len++)
        check(s, len);
}

/* Two special bytes at every pair of positions of a 40-byte text: the
 * scan starts again right after each. */
static void special_pairs(void **state)
{
    (void)state;
    static const char specials[] = { '"', '\\', '\n', '\x01', '\x1f', (char)0xC3, (char)0xFF };
    char s[40];
    for (size_t a = 0; a < sizeof s; a++)
        for (size_t b = a; b < sizeof s; b++)
            for (size_t k = 0; k < sizeof specials; k++) {
                memset(s, 'x', sizeof s);
                s[a] = specials[k];
                s[b] = specials[(k + 3) % sizeof specials];
                check(s, sizeof s);
                check(s, b + 1);   /* the second one last */
            }
}

/* Valid and invalid UTF-8 of every kind at every offset, cut at the end
 * of the string or not. */
static void utf8_valid_and_invalid(void **state)
{
    (void)state;
    static const char *const seqs[] = {
        "\xc3\xa9", "\xe2\x80\x99", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",   /* valid */
        "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",           /* overlong */
        "\xed\xa0\x80", "\xed\xbf\xbf",                                      /* surrogates */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",       /* too high */
        "\x80", "\xbf", "\xc3", "\xe2\x80", "\xf0\x9f\x98", "\xc3\xc3\xa9",  /* stray, cut */
        "\xfe", "\xff", "\xc3\x28", "\xe2\x28\xa1", "\xf0\x28\x8c\x28",
    };
    char s[64];
    for (size_t k = 0; k < sizeof seqs / sizeof *seqs; k++) {
        size_t n = strlen(seqs[k]);
        for (size_t at = 0; at + n <= 48; at++) {
            memset(s, 'y', sizeof s);
            memcpy(s + at, seqs[k], n);
            check(s, at + n);   /* at the end */
            check(s, 48);
            for (size_t cut = 1; cut < n; cut++)
                check(s, at + cut);   /* cut short by the end of the string */
        }
    }
}

/* Long text: runs of plain bytes with escapes between, past the 4096-byte
 * chunks of the buffer's escaper, sequences across the chunk boundaries. */
static void long_text_and_chunks(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "plain words and more plain words ", "\n", "\"", "\\", "\t", "\x01", "\x7f",
        "caf\xc3\xa9", "\xe2\x80\x99", "\xf0\x9f\x98\x80", "\xc3", "\x80\x80", "\xff",
        "\xed\xa0\x80", "x", "0123456789abcdef0123456789abcdef",
    };
    size_t np = sizeof pieces / sizeof *pieces;
    unsigned seed = 17;
    size_t cap = 40000;
    char *s = malloc(cap);
    assert_non_null(s);
    for (int round = 0; round < 120; round++) {
        size_t len = 0, want = (size_t)round * 313 % 39000;
        while (len < want) {
            seed = seed * 1103515245 + 12345;
            const char *p = pieces[(seed >> 16) % np];
            size_t n = strlen(p);
            if (len + n > want)
                break;
            memcpy(s + len, p, n);
            len += n;
        }
        check(s, len);
    }
    /* a sequence starting at each of the last bytes of a chunk */
    for (size_t at = 4090; at < 4100; at++) {
        static const char *const seqs[] = { "\xc3\xa9", "\xe2\x80\x99", "\xf0\x9f\x98\x80",
                                            "\xe2\x80", "\xc3" };
        for (size_t k = 0; k < 5; k++) {
            memset(s, 'z', 9000);
            memcpy(s + at, seqs[k], strlen(seqs[k]));
            check(s, 9000);
            memcpy(s + at + 4096, seqs[k], strlen(seqs[k]));
            check(s, 9000);
        }
    }
    /* 100k plain bytes, and all of them quotes */
    char *big = malloc(100000);
    assert_non_null(big);
    memset(big, 'p', 100000);
    check(big, 100000);
    memset(big, '"', 100000);
    check(big, 100000);
    free(big);
    free(s);
}

/* A buffer with exactly the room the escaper asks for, or one byte less,
 * before it appends: it grows when it must and never writes past its
 * memory (ASan in the debug build), whatever the string. */
static void appends_at_the_edge_of_the_room(void **state)
{
    (void)state;
    static const char *const strs[] = { "", "a", "\"", "abcdefghijklmnopq", "\x01\x02\x03",
                                        "caf\xc3\xa9\xff", "0123456789abcdef0123456789abcdef" };
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) {
        const char *s = strs[k];
        size_t len = strlen(s);
        cd_buf want = { 0 };
        ref_escape(s, len, &want);
        for (size_t fill = 200; fill < 260; fill++) {
            cd_buf b = { 0 };
            char pad[300];
            memset(pad, '.', sizeof pad);
            cdi_buf_put(&b, pad, fill);   /* a 256-byte buffer, fill of it used */
            cdi_buf_json_string(&b, s, len);
            assert_false(b.failed);
            assert_int_equal(b.len, fill + want.len);
            assert_memory_equal(b.data, pad, fill);
            assert_memory_equal(b.data + fill, want.data, want.len);
            assert_int_equal(b.data[b.len], '\0');
            cdi_buf_free(&b);
        }
        cdi_buf_free(&want);
    }
    /* a failed buffer takes nothing */
    cd_buf b = { .max = 4 };
    cdi_buf_json_string(&b, "too long", 8);
    assert_true(b.failed);
    cdi_buf_json_string(&b, "x", 1);
    assert_true(b.len <= 4);
    cdi_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_is_the_contract),
        cmocka_unit_test(every_byte_at_every_position),
        cmocka_unit_test(plain_runs_of_every_length),
        cmocka_unit_test(special_pairs),
        cmocka_unit_test(utf8_valid_and_invalid),
        cmocka_unit_test(long_text_and_chunks),
        cmocka_unit_test(appends_at_the_edge_of_the_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
