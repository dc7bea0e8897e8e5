/*
 * isotime.h - ISO 8601 date-times <-> seconds since 1970-01-01T00:00:00Z,
 * for the time functions of a desk (now, iso8601, hold) and held stories.
 *
 * Accepted (RFC 3339 and the common ISO 8601 forms a CMS sends):
 *   2026-06-01                      midnight UTC
 *   2026-06-01T09:00Z               minutes; seconds default to 0
 *   2026-06-01T09:00:00Z            'T' or a space between date and time
 *   2026-06-01T09:00:00.250+02:00   fractions; zones Z, +HH:MM, +HHMM, +HH
 *   2026-06-01T09:00:00             no zone: UTC (said so in docs/desk-api.md)
 * Years 1 to 9999; fields are range-checked (Feb 30 is refused; a leap
 * second :60 is read as :59.999...).  Nothing else is accepted: no week
 * dates, no ordinal dates, no trailing text.
 */
#ifndef CD_DESK_ISOTIME_H
#define CD_DESK_ISOTIME_H

#include <stddef.h>

/* Parse len bytes: 0 and *out set, or -1 when s is not such a date-time. */
int cdi_iso8601_parse(const char *s, size_t len, double *out);

/* "2026-06-01T09:00:00Z" (whole seconds, UTC) into buf (at least 32 bytes). */
/* The times ISO 8601 text can say: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define CD_ISO8601_MIN (-62135596800.0)
#define CD_ISO8601_MAX 253402300799.0

void cdi_iso8601_format(double t, char *buf, size_t cap);

/* The current UTC time in seconds since the epoch (CLOCK_REALTIME). */
double cdi_utc_now(void);

#endif
