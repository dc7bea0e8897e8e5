/*
 * base/numfmt.c - printf's number formats, the common cases without it
 * (see numfmt.h).
 *
 * printf rounds the exact binary value to the digits asked, ties to even.
 * Here the value is scaled by an exact power of ten (one rounding, a
 * relative error of 2^-53) and rounded to an integer: the same digits,
 * unless the exact scaled value lies within that error of a tie (.5),
 * which is left to snprintf, as is every value outside the ranges
 * handled.  tests/unit/test_numfmt.c compares both on many values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/numfmt.h"

/* 10^0 .. 10^15, exact in a double */
static const double pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
};

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* "00" "01" .. "99": two digits per division. */
static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The k last decimal digits of n into out[0..k) (leading zeros when n
 * has fewer). */
static ALWAYS_INLINE void put_digits(uint64_t n, char *out, size_t k)
{
    if (k == 6) {   /* %.6g's digits (n < 10^6): three pairs, 32-bit divisions */
        uint32_t m = (uint32_t)n, r = m % 10000;
        memcpy(out, digits2 + 2 * (m / 10000), 2);
        memcpy(out + 2, digits2 + 2 * (r / 100), 2);
        memcpy(out + 4, digits2 + 2 * (r % 100), 2);
        return;
    }
    while (k >= 2) {
        k -= 2;
        memcpy(out + k, digits2 + 2 * (n % 100), 2);
        n /= 100;
    }
    if (k)
        out[0] = (char)('0' + n % 10);
}

/* The decimal digits of n into out; their count. */
static size_t put_uint(uint64_t n, char *out)
{
    size_t k = 1;
    for (uint64_t m = n; m >= 10; m /= 10)
        k++;
    put_digits(n, out, k);
    return k;
}

size_t cdi_fmt_uint(uint64_t n, char *out)
{
    size_t k = put_uint(n, out);
    out[k] = '\0';
    return k;
}

size_t cdi_fmt_int(double v, char *out)
{
    size_t o = 0;
    if (signbit(v)) {   /* -0.0 too: printf writes "-0" */
        out[o++] = '-';
        v = -v;
    }
    o += put_uint((uint64_t)v, out + o);
    out[o] = '\0';
    return o;
}

/* x (at least 0, below 2^53) rounded to an integer as printf rounds the
 * exact value (ties to even), when x is not within its rounding error of
 * a tie: 0 then.  The conversion truncates, which is floor here, and
 * x - t is exact. */
static inline int round_safe(double x, uint64_t *n)
{
    int64_t t = (int64_t)x;
    double frac = x - (double)t;
    if (fabs(frac - 0.5) < 1e-6)
        return 0;
    *n = (uint64_t)t + (frac > 0.5);
    return 1;
}

static size_t slow(const char *fmt, double v, char *out)
{
    int n = snprintf(out, CDI_NUM_MAX, fmt, v);
    return n > 0 && n < CDI_NUM_MAX ? (size_t)n : 0;
}

/* cdi_fmt_g, inlined where prec is a constant (cdi_fmt_g6): the powers,
 * the digit count and the loops are then fixed. */
static ALWAYS_INLINE size_t fmt_g(double v, int prec, char *out)
{
    static const char *const fmts[] = { "%.0g", "%.1g", "%.2g", "%.3g", "%.4g", "%.5g",
                                        "%.6g", "%.7g", "%.8g", "%.9g" };
    if (prec < 1 || prec > 9)
        prec = prec < 1 ? 1 : 9;
    const char *fmt = fmts[prec];
    if (!isfinite(v) || v == 0)
        return slow(fmt, v, out);
    size_t o = 0;
    double a = fabs(v);
    /* %g writes fixed notation for decimal exponents -4 .. prec - 1 */
    if (a < 1e-4 || a >= pow10[prec])
        return slow(fmt, v, out);
    /* 10^-4 .. 10^9, the doubles nearest (as 1 / 10^k is) */
    static const double bound[] = { 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2,
                                    1e3,  1e4,  1e5,  1e6,  1e7, 1e8, 1e9 };
    /* the decimal exponent x: the last of -4 .. prec - 1 whose bound a
     * reaches.  From a's binary exponent e, floor(e log10 2) (exact
     * as e * 1233 >> 12 for |e| < 680) is that x or one below: a's
     * bounds lie between 10^x <= 2^e and 2^(e+1) < 10^(x+2), and the
     * doubles nearest those powers cannot cross these powers of two */
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e = (int)(bits >> 52) - 1023;   /* a is normal: at least 1e-4 */
    int x = ((e + 4096) * 1233 >> 12) - 1233;   /* floor, shifting no negative */
    if (x < -4)
        x = -4;
    if (x < prec - 1 && a >= bound[x + 5])
        x++;
    uint64_t n;
    /* prec significant digits: a * 10^(prec-1-x), an exact power (<= 12) */
    if (!round_safe(a * pow10[prec - 1 - x], &n))
        return slow(fmt, v, out);
    uint64_t lo = (uint64_t)pow10[prec - 1], hi = (uint64_t)pow10[prec];
    if (n >= hi) {   /* rounded up to the next power of ten */
        n /= 10;
        x++;
    }
    if (n < lo || x > prec - 1)   /* the exponent was misjudged at a power of ten */
        return slow(fmt, v, out);
    char d[16] = { 0 };   /* whole: copied 16 bytes at a time below */
    put_digits(n, d, (size_t)prec);
    if (v < 0)
        out[o++] = '-';
    int last = prec - 1;   /* the last digit written: trailing zeros dropped */
    while (last > x && last > 0 && d[last] == '0')
        last--;
    if (x >= 0) {
        memcpy(out + o, d, (size_t)x + 1);
        o += (size_t)x + 1;
        if (last > x) {
            out[o++] = '.';
            memcpy(out + o, d + x + 1, (size_t)(last - x));
            o += (size_t)(last - x);
        }
    } else {
        /* "0." and -x - 1 zeros (0 to 3), then the digits: fixed-size
         * copies, out has room (CDI_NUM_MAX) */
        memcpy(out + o, "0.000", 5);
        o += (size_t)(1 - x);
        memcpy(out + o, d, 16);
        o += (size_t)last + 1;
    }
    out[o] = '\0';
    return o;
}

size_t cdi_fmt_g(double v, int prec, char *out)
{
    return fmt_g(v, prec, out);
}

size_t cdi_fmt_g6(double v, char *out)
{
    return fmt_g(v, 6, out);
}

size_t cdi_fmt_f2(double v, char *out)
{
    if (!isfinite(v) || fabs(v) >= 1e13 || v == 0)
        return slow("%.2f", v, out);
    uint64_t n;
    if (!round_safe(fabs(v) * 100, &n))
        return slow("%.2f", v, out);
    size_t o = 0;
    if (v < 0)   /* printf keeps the sign of a negative that rounds to 0 */
        out[o++] = '-';
    if (n < 1000) {   /* below 10: scores and probabilities */
        out[o++] = (char)('0' + n / 100);
    } else {
        o += put_uint(n / 100, out + o);
    }
    out[o++] = '.';
    memcpy(out + o, digits2 + 2 * (n % 100), 2);
    o += 2;
    out[o] = '\0';
    return o;
}
