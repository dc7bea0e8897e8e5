/*
 * test_numfmt.c - the number formats against snprintf: %.6g (the
 * probabilities and scores of every story's JSON) on many values (every
 * millionth of [0, 1) and its ties, powers of ten and their neighbours,
 * denormals, the largest doubles, NaN and infinities, random bit
 * patterns), %.<p>g for every precision, %.2f, %.0f, %llu, and the JSON
 * number written into a buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/numfmt.h"

static unsigned long long rng = 88172645463325252ull;

static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* %.6g and, when all is set, every %.<p>g, %.2f and (for a whole
 * number) %.0f of v and -v are snprintf's. */
static void check_value(double v, int all)
{
    char got[CDI_NUM_MAX], want[CDI_NUM_MAX];
    for (int sign = 0; sign < 2; sign++, v = -v) {
        memset(got, 'X', sizeof got);
        snprintf(want, sizeof want, "%.6g", v);
        size_t n = cdi_fmt_g6(v, got);
        if (strcmp(got, want) || n != strlen(want))
            fail_msg("%%.6g of %.17g (%a): got \"%s\" (%zu), want \"%s\"", v, v, got, n, want);
        if (!all)
            continue;
        for (int prec = 1; prec <= 9; prec++) {
            char fmt[16];
            snprintf(fmt, sizeof fmt, "%%.%dg", prec);
            snprintf(want, sizeof want, fmt, v);
            n = cdi_fmt_g(v, prec, got);
            if (strcmp(got, want) || n != strlen(want))
                fail_msg("%s of %.17g: got \"%s\", want \"%s\"", fmt, v, got, want);
        }
        if (isfinite(v) && fabs(v) < 1e40) {   /* %.2f fits CDI_NUM_MAX */
            snprintf(want, sizeof want, "%.2f", v);
            n = cdi_fmt_f2(v, got);
            if (strcmp(got, want) || n != strlen(want))
                fail_msg("%%.2f of %.17g: got \"%s\", want \"%s\"", v, got, want);
        }
        if (isfinite(v) && fabs(v) < 1e15 && v == floor(v)) {
            snprintf(want, sizeof want, "%.0f", v);
            n = cdi_fmt_int(v, got);
            if (strcmp(got, want) || n != strlen(want))
                fail_msg("%%.0f of %.17g: got \"%s\", want \"%s\"", v, got, want);
        }
    }
}

/* v and its neighbours k doubles away, k up to reach. */
static void check_around(double v, int reach, int all)
{
    double up = v, down = v;
    check_value(v, all);
    for (int k = 0; k < reach; k++) {
        up = nextafter(up, INFINITY);
        down = nextafter(down, -INFINITY);
        check_value(up, all);
        check_value(down, all);
    }
}

/* The values named in the format's comments and their neighbours. */
static void edge_cases(void **state)
{
    (void)state;
    static const double vals[] = {
        0, 1, 1e-5, 1e-4, 9.9999e-5, 9.99999e-5, 9.999995e-5, 0.999999, 0.9999995,
        0.99999949999, 0.99999950001, 0.5, 0.125, 0.005, 0.015, 0.025, 0.995, 0.1,
        0.09999999999999999, 0.3, 0.7, 0.01, 0.0123456, 0.00012345, 123456.5,
        999999.5, 999999.4, 999999, 1e6, 12345.65, 1.0000005, 1.0000015, 2.5e-7,
        99999.95, 9999.995, 999.9995, 99.99995, 9.999995, 0.09999995, 0.009999995,
        0.0009999995, 1e300, DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
        2.2250738585072009e-308, 1e-310, 1e15, 1e16, 123456789012345.0, 0.25e-4,
    };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        check_around(vals[i], 8, 1);
    check_value(NAN, 1);
    check_value(INFINITY, 1);
    check_value(-0.0, 1);
    /* every power of ten in reach of the formats, and its neighbours */
    for (int e = -8; e <= 16; e++) {
        double p = pow(10, e);
        check_around(p, 64, 1);
        check_around(p * (1 - 5e-7), 16, 1);   /* rounds up to p at 6 digits */
        check_around(p * (1 - 5e-10), 16, 1);
        check_around(p * 5, 8, 1);
    }
}

/* Every millionth of [0, 1], the ties between them and their neighbours
 * (one in seven, with all the formats): a probability written with six
 * digits is one of these. */
static void every_millionth(void **state)
{
    (void)state;
    for (int k = 0; k <= 1000000; k++) {
        int all = k % 7 == 0;
        check_value(k / 1e6, all);
        check_value((k + 0.5) / 1e6, all);
        if (k % 13 == 0) {
            check_around(k / 1e6, 2, 0);
            check_around((k + 0.5) / 1e6, 2, 0);
        }
    }
    /* the 6-digit steps of the other decades of %g's fixed notation */
    for (int e = -4; e <= 5; e++) {
        double scale = pow(10, e - 5);
        for (int k = 100000; k < 1000000; k += 37) {
            check_value(k * scale, 0);
            check_value((k + 0.5) * scale, 0);
        }
    }
}

/* Random values: uniform in [0, 1), spread over 10^-12 .. 10^12, and any
 * bit pattern at all (denormals, NaNs, infinities among them). */
static void random_values(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0;
        check_value(u, i % 5 == 0);
        check_value(pow(10, 24 * u - 12), i % 5 == 1);
        unsigned long long bits = next();
        double any;
        memcpy(&any, &bits, sizeof any);
        check_value(any, i % 5 == 2);
    }
}

/* cdi_buf_json_number: %.0f for a whole number below 1e15, %.6g else,
 * 0 for NaN and the infinities; written straight into the buffer when it
 * has the room and through a put when not, or when it is bounded. */
static void json_number_in_buffers(void **state)
{
    (void)state;
    static const double vals[] = { 0, -0.0, 1, -3, 0.5, 0.999999, 0.9999995, 123456.5,
                                   1e15, 1e15 - 1, 2e20, 1e-7, NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        double v = vals[i];
        char want[CDI_NUM_MAX];
        if (!isfinite(v))
            strcpy(want, "0");
        else if (v == floor(v) && fabs(v) < 1e15)
            snprintf(want, sizeof want, "%.0f", v);
        else
            snprintf(want, sizeof want, "%.6g", v);
        size_t n = strlen(want);
        for (size_t fill = 180; fill < 256; fill++) {
            char pad[256];
            memset(pad, '.', sizeof pad);
            cd_buf b = { 0 }, bounded = { .max = 1000 };
            cdi_buf_put(&b, pad, fill);   /* a 256-byte buffer: room of 1 to 76 */
            cdi_buf_put(&bounded, pad, fill);
            cdi_buf_json_number(&b, v);
            cdi_buf_json_number(&bounded, v);
            assert_int_equal(b.len, fill + n);
            assert_memory_equal(b.data + fill, want, n + 1);
            assert_int_equal(bounded.len, fill + n);
            assert_memory_equal(bounded.data + fill, want, n + 1);
            cdi_buf_free(&b);
            cdi_buf_free(&bounded);
        }
    }
}

/* %llu: each power of ten and its neighbours, the largest, random ones. */
static void unsigned_integers(void **state)
{
    (void)state;
    char got[CDI_NUM_MAX], want[CDI_NUM_MAX];
    uint64_t v[80];
    size_t n = 0;
    for (uint64_t p = 1; n < 57; p *= 10) {
        v[n++] = p - 1;
        v[n++] = p;
        v[n++] = p + 1;
        if (p > UINT64_MAX / 10)
            break;
    }
    v[n++] = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t x = next() >> (next() % 64);
        size_t k = cdi_fmt_uint(x, got);
        snprintf(want, sizeof want, "%llu", (unsigned long long)x);
        assert_string_equal(got, want);
        assert_int_equal(k, strlen(want));
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = cdi_fmt_uint(v[i], got);
        snprintf(want, sizeof want, "%llu", (unsigned long long)v[i]);
        assert_string_equal(got, want);
        assert_int_equal(k, strlen(want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(edge_cases),
        cmocka_unit_test(every_millionth),
        cmocka_unit_test(random_values),
        cmocka_unit_test(json_number_in_buffers),
        cmocka_unit_test(unsigned_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
