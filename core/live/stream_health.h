/*
 * live/stream_health.h - the state of a running watch's Redis streams, for
 * copydesk serve's /readyz and /metrics, which run on other threads.
 *
 * watch's thread publishes, the HTTP threads read; a mutex guards the
 * copy.  Process-wide: one watch runs per process.
 */
#ifndef CD_LIVE_STREAM_HEALTH_H
#define CD_LIVE_STREAM_HEALTH_H

#include "base/buf.h"

/* streams: how many the desk reads; down: why one cannot be read (NULL:
 * all are read); metrics: Prometheus lines (NULL: none). */
void cdi_stream_health_publish(unsigned streams, const char *down, const char *metrics);

/* 1 when no stream is down (or there is none); 0 and why when one is. */
int cdi_stream_health_ready(char *why, size_t cap);

/* Append the published Prometheus lines to b. */
void cdi_stream_health_metrics(cd_buf *b);

#endif
