/*
 * base/clock.h - the clock for waits and deadlines.
 */
#ifndef CD_BASE_CLOCK_H
#define CD_BASE_CLOCK_H

/* CLOCK_MONOTONIC in seconds: for intervals, never for dates. */
double cdi_monotonic(void);

/* Sleep s seconds (a signal does not cut it short); s <= 0 returns at once. */
void cdi_sleep(double s);

#endif
