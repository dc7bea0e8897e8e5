/*
 * base/clock.c - the monotonic clock (see clock.h).
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "base/clock.h"

double cdi_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cdi_sleep(double s)
{
    if (!(s > 0))
        return;
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
