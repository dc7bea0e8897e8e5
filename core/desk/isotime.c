/*
 * isotime.c - ISO 8601 date-times (see isotime.h).  Calendar arithmetic
 * by hand, with Howard Hinnant's days-from-civil algorithm, so that no
 * result depends on the process's TZ or locale (timegm is not in C11 and
 * mktime reads TZ).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "desk/isotime.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* n digits at *p (within end) into *v; 0 when they are not there. */
static int digits(const char **p, const char *end, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return 0;
        x = x * 10 + (unsigned)(*(*p)++ - '0');
    }
    *v = x;
    return 1;
}

static int take(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return 1;
    }
    return 0;
}

/* The zone at p: Z, +HH, +HHMM, +HH:MM (or none); its offset in seconds. */
static int zone(const char **p, const char *end, double *offset)
{
    *offset = 0;
    if (*p == end)
        return 1;
    if (take(p, end, 'Z') || take(p, end, 'z'))
        return *p == end;
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
    if (!sign)
        return 0;
    (*p)++;
    unsigned hh, mm = 0;
    if (!digits(p, end, 2, &hh))
        return 0;
    if (*p < end) {
        take(p, end, ':');
        if (!digits(p, end, 2, &mm))
            return 0;
    }
    if (hh > 23 || mm > 59 || *p != end)
        return 0;
    *offset = sign * (double)(hh * 3600 + mm * 60);
    return 1;
}

int cdi_iso8601_parse(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0, offset = 0;
    if (!digits(&p, end, 4, &y) || !take(&p, end, '-') || !digits(&p, end, 2, &mo) ||
        !take(&p, end, '-') || !digits(&p, end, 2, &d))
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -1;
    if (p < end) {
        if (!take(&p, end, 'T') && !take(&p, end, 't') && !take(&p, end, ' '))
            return -1;
        if (!digits(&p, end, 2, &h) || !take(&p, end, ':') || !digits(&p, end, 2, &mi))
            return -1;
        if (take(&p, end, ':')) {
            if (!digits(&p, end, 2, &sec))
                return -1;
            if (take(&p, end, '.') || take(&p, end, ',')) {
                double scale = 0.1;
                const char *f = p;
                for (; p < end && *p >= '0' && *p <= '9'; p++, scale /= 10)
                    frac += (*p - '0') * scale;
                if (p == f)
                    return -1;
            }
        }
        if (h > 23 || mi > 59 || sec > 60 || !zone(&p, end, &offset))
            return -1;
        if (sec == 60) {   /* a leap second: the last instant of the minute */
            sec = 59;
            frac = 0.999999;
        }
    }
    int64_t days = days_from_civil(y, mo, d);
    *out = (double)days * 86400 + h * 3600.0 + mi * 60.0 + sec + frac - offset;
    return 0;
}

void cdi_iso8601_format(double t, char *buf, size_t cap)
{
    if (!isfinite(t) || t < CD_ISO8601_MIN || t > CD_ISO8601_MAX) {
        snprintf(buf, cap, "invalid");
        return;
    }
    int64_t s = (int64_t)floor(t);
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    int64_t rem = s - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
             (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

double cdi_utc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
