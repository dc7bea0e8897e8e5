/*
 * serve_metrics.h - the counters of copydesk serve, written in the
 * Prometheus text format (GET /metrics).
 *
 * Counters that HTTP threads bump on every request are atomics; the
 * stories by destination, rule and outcome, whose label sets are only
 * known at run time, are a small table under a mutex.  Everything is
 * counted since the process started.
 */
#ifndef CD_SERVE_METRICS_H
#define CD_SERVE_METRICS_H

#include <stdint.h>

#include "copydesk.h"
#include "base/buf.h"
#include "base/json.h"

typedef struct cd_metrics cd_metrics;

cd_metrics *cdi_metrics_new(void);
void cdi_metrics_free(cd_metrics *m);

/* An HTTP answer with this status (100..599; others count as 0). */
void cdi_metrics_http(cd_metrics *m, int status);
/* A story decided in seconds; delivered says whether it was routed for
 * real (counted by destination, rule and outcome) or only classified or
 * dry-run (counted as decisions only). */
void cdi_metrics_decision(cd_metrics *m, const cd_decision *dec, int delivered, double seconds);
/* A reload of the desk (hot reload, PUT ?apply=1, rollback) and whether
 * the new desk replaced the old one. */
void cdi_metrics_reload(cd_metrics *m, int ok);
/* A delivery that failed: a story sent to dead letter or lost by its
 * destination, or a spooled story the endpoint refused. */
void cdi_metrics_delivery_failed(cd_metrics *m);

/* The Prometheus text exposition, with the gauges the caller knows. */
void cdi_metrics_text(cd_metrics *m, cd_buf *out, uint64_t spool_depth, uint64_t held,
                      uint64_t desk_version, int ready);

#endif
