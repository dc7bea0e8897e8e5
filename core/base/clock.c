/*
 * base/clock.c - the monotonic clock (see clock.h).
 */
#include <time.h>

#include "base/clock.h"

double cdi_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
