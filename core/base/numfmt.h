/*
 * base/numfmt.h - numbers as printf writes them, without printf.
 *
 * Every story's JSON carries a few probabilities and scores, and glibc's
 * printf of a double costs a microsecond or two: a good part of routing a
 * story.  These give exactly the bytes of the printf format named, from
 * a short computation, and fall back to snprintf for the values where
 * that computation could round differently (a value within a millionth
 * of a rounding tie) or that it does not cover (very small or large).
 */
#ifndef CD_BASE_NUMFMT_H
#define CD_BASE_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any number written by these, with its NUL. */
#define CDI_NUM_MAX 48

/* printf "%.0f" of v, which must be a whole number below 1e15 in
 * magnitude; the length written (NUL-terminated) into out. */
size_t cdi_fmt_int(double v, char *out);
/* printf "%llu" of n; the length written (NUL-terminated) into out. */
size_t cdi_fmt_uint(uint64_t n, char *out);
/* printf "%.<prec>g" of v, prec from 1 to 9. */
size_t cdi_fmt_g(double v, int prec, char *out);
/* printf "%.6g" of v. */
size_t cdi_fmt_g6(double v, char *out);
/* printf "%.2f" of v. */
size_t cdi_fmt_f2(double v, char *out);

#endif
