/*
 * test_base.c - the base layer: the byte buffer (growth, its bound), whole
 * files read with a bound, paths, and the JSON string escaper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/numfmt.h"
#include "support.h"

/* cdi_buf_printf writes into the buffer's free room and formats again
 * only when that is too small: appends of every length, across the
 * buffer's growth, give what one snprintf of the whole would. */
static void buf_printf_appends_exactly(void **state)
{
    (void)state;
    cd_buf b = { 0 };
    char want[20000] = "", xs[501];
    memset(xs, 'x', 500);
    xs[500] = '\0';
    size_t at = 0;
    for (int i = 0; i < 60; i++) {
        int n = (i * 37) % 500;   /* pieces from 8 to 500 bytes and more */
        cdi_buf_printf(&b, "[%d %.*s %.4g]", i, n, xs, 1.0 / (i + 3));
        at += (size_t)snprintf(want + at, sizeof want - at, "[%d %.*s %.4g]", i, n, xs,
                               1.0 / (i + 3));
        assert_int_equal(b.len, at);
        assert_string_equal(b.data, want);
    }
    cdi_buf_free(&b);
}

/* A bounded buffer takes puts up to its bound and refuses the one that
 * would pass it whole, then stays failed until reset. */
static void bounded_buffer_refuses_past_max(void **state)
{
    (void)state;
    cd_buf b = { .max = 10 };
    cdi_buf_put(&b, "0123456", 7);
    cdi_buf_put(&b, "789", 3);
    assert_int_equal(b.len, 10);
    assert_false(b.failed);
    assert_true(b.cap <= 11);   /* never more memory than the bound needs */
    cdi_buf_put(&b, "x", 1);
    assert_true(b.over);
    assert_true(b.failed);
    assert_string_equal(b.data, "0123456789");
    cdi_buf_puts(&b, "");        /* failed: no-op */
    assert_int_equal(b.len, 10);
    cdi_buf_reset(&b);
    assert_false(b.failed);
    cdi_buf_printf(&b, "%d", 12345678);
    assert_string_equal(b.data, "12345678");
    cdi_buf_printf(&b, "%d", 123);
    assert_true(b.over);
    assert_string_equal(b.data, "12345678");
    cdi_buf_free(&b);
    assert_int_equal(b.max, 10);
    /* a bound of SIZE_MAX - 1 cannot wrap the arithmetic */
    cd_buf big = { .max = SIZE_MAX - 1 };
    cdi_buf_put(&big, "ab", 2);
    assert_string_equal(big.data, "ab");
    cdi_buf_put(&big, "c", SIZE_MAX - 2);
    assert_true(big.over);
    cdi_buf_free(&big);
}

static void take_hands_over_the_content(void **state)
{
    (void)state;
    cd_buf b = { 0 };
    size_t n = 99;
    assert_null(cdi_buf_take(&b, &n));
    assert_int_equal(n, 0);
    assert_int_equal(cdi_buf_reserve(&b, 0), 0);
    assert_string_equal(b.data, "");
    cdi_buf_puts(&b, "story");
    char *p = cdi_buf_take(&b, &n);
    assert_string_equal(p, "story");
    assert_int_equal(n, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
}

static void read_file_reads_whole_and_bounded(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char *path = cdi_path_join(dir, "f.json");
    assert_string_equal(path + strlen(dir), "/f.json");
    char data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    assert_int_equal(spit(path, data, sizeof data), 0);
    char *got;
    size_t len;
    cd_error err;
    assert_int_equal(cdi_read_file(path, 0, &got, &len, &err), CD_OK);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(got, data, len);
    assert_int_equal(got[len], '\0');
    free(got);
    assert_int_equal(cdi_read_file(path, sizeof data, &got, &len, &err), CD_OK);
    free(got);
    assert_int_equal(cdi_read_file(path, sizeof data - 1, &got, &len, &err), CD_ERR_LIMIT);
    assert_null(got);
    assert_int_equal(spit(path, "", 0), 0);
    assert_int_equal(cdi_read_file(path, 0, &got, &len, &err), CD_OK);
    assert_int_equal(len, 0);
    assert_string_equal(got, "");
    free(got);
    unlink(path);
    assert_int_equal(cdi_read_file(path, 0, &got, &len, &err), CD_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err.msg, "f.json"));
    free(path);
    scratch_remove(dir);
}

static void append(void *ud, const char *s, size_t len)
{
    cdi_buf_put(ud, s, len);
}

/* The one escaper: controls, quotes, backslashes, valid UTF-8 kept,
 * invalid bytes replaced by U+FFFD, the same through a sink or a buffer. */
static void json_escape_makes_valid_json(void **state)
{
    (void)state;
    static const char in[] = "a\"b\\c\n\r\t\x01\x1f caf\xc3\xa9 \xff\xc3 end";
    const char *want = "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f caf\xc3\xa9 "
                       "\xef\xbf\xbd\xef\xbf\xbd end\"";
    cd_buf a = { 0 }, b = { 0 };
    cdi_json_escape(in, sizeof in - 1, append, &a);
    cdi_buf_json_string(&b, in, sizeof in - 1);
    assert_string_equal(a.data, want);
    assert_string_equal(b.data, want);
    cdi_buf_reset(&b);
    cdi_buf_json_string(&b, "\0x", 2);
    assert_string_equal(b.data, "\"\\u0000x\"");
    cdi_buf_free(&a);
    cdi_buf_free(&b);
}

/* The buffer's escaper (eight plain bytes at a time, in chunks) gives
 * the sink's bytes on text of every kind and length: runs of plain ASCII,
 * every control, quotes, valid UTF-8 of 2 to 4 bytes (also across the
 * chunk boundaries), truncated and stray sequences. */
static void json_escape_fast_path_is_exact(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "plain words and more plain words ", "\n", "\"", "\\", "\t", "\x01", "\x7f",
        "caf\xc3\xa9", "\xe2\x80\x99", "\xf0\x9f\x98\x80", "\xc3", "\x80\x80", "\xff",
        "\xed\xa0\x80", "x", "0123456789abcdef",
    };
    size_t np = sizeof pieces / sizeof *pieces;
    unsigned seed = 12345;
    char *in = malloc(20000);
    assert_non_null(in);
    for (int round = 0; round < 300; round++) {
        size_t len = 0, want_len = (size_t)(round * 61) % 19000;
        while (len < want_len) {
            seed = seed * 1103515245 + 12345;
            const char *p = pieces[(seed >> 16) % np];
            size_t n = strlen(p);
            if (len + n > want_len)
                break;
            memcpy(in + len, p, n);
            len += n;
        }
        cd_buf a = { 0 }, b = { 0 };
        cdi_json_escape(in, len, append, &a);
        cdi_buf_json_string(&b, in, len);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        cdi_buf_free(&a);
        cdi_buf_free(&b);
    }
    free(in);
}

/* The number formats give printf's bytes: probabilities, scores, their
 * ties and powers of ten, negatives, tiny and huge values. */
static void number_formats_are_printf(void **state)
{
    (void)state;
    char got[CDI_NUM_MAX], want[CDI_NUM_MAX];
    static const double fixed[] = {
        0, -0.0, 1, 0.5, 0.125, 0.005, 0.015, 0.025, 0.995, 0.9999995, 0.99999949999,
        1e-4, 9.9999e-5, 0.00012345, 0.1, 0.09999999999999999, 123456.5, 999999.5,
        999999.4, 1e6, 12345.65, 1.0000005, 2.5e-7, 1e300, -0.004, -1.5, 0.3, 0.7,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        double v = fixed[i];
        snprintf(want, sizeof want, "%.6g", v);
        cdi_fmt_g6(v, got);
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%.2f", v);
        cdi_fmt_f2(v, got);
        assert_string_equal(got, want);
    }
    unsigned long long x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;   /* [0, 1) */
        double v = i % 3 == 0 ? u : i % 3 == 1 ? pow(10, 12 * u - 6) : -u * 1000;
        if (i % 7 == 0)   /* near the ties of 6 and 2 digits */
            v = (floor(u * 1e6) + 0.5) / 1e6;
        if (i % 11 == 0)
            v = (floor(u * 100) + 0.5) / 100;
        snprintf(want, sizeof want, "%.6g", v);
        assert_int_equal(cdi_fmt_g6(v, got), strlen(want));
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%.2f", v);
        assert_int_equal(cdi_fmt_f2(v, got), strlen(want));
        assert_string_equal(got, want);
        for (int prec = 1; prec <= 9; prec += 3) {
            char fmt[16];
            snprintf(fmt, sizeof fmt, "%%.%dg", prec);
            snprintf(want, sizeof want, fmt, v);
            assert_int_equal(cdi_fmt_g(v, prec, got), strlen(want));
            assert_string_equal(got, want);
        }
        double w = floor(v * 1000);
        snprintf(want, sizeof want, "%.0f", w);
        cdi_fmt_int(w, got);
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_printf_appends_exactly),
        cmocka_unit_test(bounded_buffer_refuses_past_max),
        cmocka_unit_test(take_hands_over_the_content),
        cmocka_unit_test(read_file_reads_whole_and_bounded),
        cmocka_unit_test(json_escape_makes_valid_json),
        cmocka_unit_test(json_escape_fast_path_is_exact),
        cmocka_unit_test(number_formats_are_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
