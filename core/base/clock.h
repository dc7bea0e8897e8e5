/*
 * base/clock.h - the clock for waits and deadlines.
 */
#ifndef CD_BASE_CLOCK_H
#define CD_BASE_CLOCK_H

/* CLOCK_MONOTONIC in seconds: for intervals, never for dates. */
double cdi_monotonic(void);

#endif
