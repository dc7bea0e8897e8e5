/*
 * serve_metrics.c - counters and the Prometheus text format (see
 * serve_metrics.h).  Label values are escaped as the format asks
 * (backslash, double quote, newline); the latency histogram has fixed
 * buckets from 50 microseconds to 1 second, where decisions fall.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "live/stream_health.h"
#include "serve/serve_metrics.h"

static const double BUCKETS[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0 };
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

typedef struct story_count {
    char *dest, *rule;
    int outcome;
    uint64_t n;
} story_count;

struct cd_metrics {
    _Atomic uint64_t http[600];
    _Atomic uint64_t lat[NBUCKETS + 1];   /* last: +Inf */
    _Atomic uint64_t lat_ns;              /* sum, in nanoseconds */
    _Atomic uint64_t decisions;
    _Atomic uint64_t reloads_ok, reloads_failed;
    _Atomic uint64_t deliveries_failed;
    pthread_mutex_t mu;
    story_count *stories;
    size_t nstories, cap;
};

cd_metrics *cdi_metrics_new(void)
{
    cd_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void cdi_metrics_free(cd_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nstories; i++) {
        free(m->stories[i].dest);
        free(m->stories[i].rule);
    }
    free(m->stories);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void cdi_metrics_http(cd_metrics *m, int status)
{
    atomic_fetch_add_explicit(&m->http[status >= 100 && status < 600 ? status : 0], 1,
                              memory_order_relaxed);
}

static void count_story(cd_metrics *m, const char *dest, const char *rule, int outcome)
{
    for (size_t i = 0; i < m->nstories; i++) {
        story_count *c = &m->stories[i];
        if (c->outcome == outcome && !strcmp(c->dest, dest) && !strcmp(c->rule, rule)) {
            c->n++;
            return;
        }
    }
    if (m->nstories == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        story_count *v = realloc(m->stories, cap * sizeof *v);
        if (!v)
            return;
        m->stories = v;
        m->cap = cap;
    }
    story_count c = { strdup(dest), strdup(rule), outcome, 1 };
    if (!c.dest || !c.rule) {
        free(c.dest);
        free(c.rule);
        return;
    }
    m->stories[m->nstories++] = c;
}

void cdi_metrics_decision(cd_metrics *m, const cd_decision *dec, int delivered, double seconds)
{
    size_t b = 0;
    while (b < NBUCKETS && seconds > BUCKETS[b])
        b++;
    atomic_fetch_add_explicit(&m->lat[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
    atomic_fetch_add_explicit(&m->decisions, 1, memory_order_relaxed);
    if (!delivered)
        return;
    if (dec->outcome == CD_OUTCOME_DEAD_LETTER || dec->outcome == CD_OUTCOME_FAILED)
        cdi_metrics_delivery_failed(m);
    pthread_mutex_lock(&m->mu);
    const char *rule = dec->rule ? dec->rule : "(fallback)";
    if (!dec->nroute)
        count_story(m, "", rule, (int)dec->outcome);
    for (size_t i = 0; i < dec->nroute; i++)
        count_story(m, dec->route[i], rule, (int)dec->outcome);
    pthread_mutex_unlock(&m->mu);
}

void cdi_metrics_reload(cd_metrics *m, int ok)
{
    atomic_fetch_add(ok ? &m->reloads_ok : &m->reloads_failed, 1);
}

void cdi_metrics_delivery_failed(cd_metrics *m)
{
    atomic_fetch_add(&m->deliveries_failed, 1);
}

static void label(cd_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            cdi_buf_puts(b, "\\\\");
        else if (*v == '"')
            cdi_buf_puts(b, "\\\"");
        else if (*v == '\n')
            cdi_buf_puts(b, "\\n");
        else
            cdi_buf_put(b, v, 1);
    }
}

static const char *outcome_name(int o)
{
    switch (o) {
    case CD_OUTCOME_ROUTED: return "routed";
    case CD_OUTCOME_FALLBACK: return "fallback";
    case CD_OUTCOME_DEAD_LETTER: return "dead-letter";
    case CD_OUTCOME_FAILED: return "failed";
    }
    return "unknown";
}

void cdi_metrics_text(cd_metrics *m, cd_buf *b, uint64_t spool_depth, uint64_t held,
                      uint64_t desk_version, int ready)
{
    cdi_buf_puts(b, "# HELP copydesk_stories_total Stories routed with delivery (HTTP, inbox, feeds), by destination, deciding rule and outcome.\n"
                   "# TYPE copydesk_stories_total counter\n");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nstories; i++) {
        const story_count *c = &m->stories[i];
        cdi_buf_puts(b, "copydesk_stories_total{destination=\"");
        label(b, c->dest);
        cdi_buf_puts(b, "\",rule=\"");
        label(b, c->rule);
        cdi_buf_printf(b, "\",outcome=\"%s\"} %llu\n", outcome_name(c->outcome),
                       (unsigned long long)c->n);
    }
    pthread_mutex_unlock(&m->mu);
    cdi_buf_puts(b, "# HELP copydesk_decision_seconds Time to decide one story (models, topics, rules), classify and route.\n"
                   "# TYPE copydesk_decision_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        cum += atomic_load_explicit(&m->lat[i], memory_order_relaxed);
        if (i < NBUCKETS)
            cdi_buf_printf(b, "copydesk_decision_seconds_bucket{le=\"%g\"} %llu\n", BUCKETS[i],
                           (unsigned long long)cum);
        else
            cdi_buf_printf(b, "copydesk_decision_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    cdi_buf_printf(b, "copydesk_decision_seconds_sum %.9f\ncopydesk_decision_seconds_count %llu\n",
                   (double)atomic_load(&m->lat_ns) / 1e9, (unsigned long long)cum);
    cdi_buf_printf(b, "# HELP copydesk_reloads_total Desk reloads (file change, SIGHUP, PUT ?apply=1, rollback) by result.\n"
                     "# TYPE copydesk_reloads_total counter\n"
                     "copydesk_reloads_total{result=\"ok\"} %llu\n"
                     "copydesk_reloads_total{result=\"failed\"} %llu\n",
                  (unsigned long long)atomic_load(&m->reloads_ok),
                  (unsigned long long)atomic_load(&m->reloads_failed));
    cdi_buf_printf(b, "# HELP copydesk_spool_depth Stories waiting in the spool for url destinations.\n"
                     "# TYPE copydesk_spool_depth gauge\ncopydesk_spool_depth %llu\n",
                  (unsigned long long)spool_depth);
    cdi_buf_printf(b, "# HELP copydesk_held_stories Stories a rule held until a time, kept until their time comes.\n"
                     "# TYPE copydesk_held_stories gauge\ncopydesk_held_stories %llu\n",
                  (unsigned long long)held);
    cdi_buf_printf(b, "# HELP copydesk_deliveries_failed_total Deliveries that failed (dead letter, lost, refused by an endpoint).\n"
                     "# TYPE copydesk_deliveries_failed_total counter\ncopydesk_deliveries_failed_total %llu\n",
                  (unsigned long long)atomic_load(&m->deliveries_failed));
    cdi_buf_printf(b, "# HELP copydesk_desk_version The running desk version (GET /v1/desk).\n"
                     "# TYPE copydesk_desk_version gauge\ncopydesk_desk_version %llu\n",
                  (unsigned long long)desk_version);
    cdi_buf_printf(b, "# HELP copydesk_ready 1 when the service accepts stories.\n"
                     "# TYPE copydesk_ready gauge\ncopydesk_ready %d\n", ready ? 1 : 0);
    cdi_buf_puts(b, "# HELP copydesk_http_requests_total HTTP requests answered, by status.\n"
                   "# TYPE copydesk_http_requests_total counter\n");
    for (int s = 0; s < 600; s++) {
        uint64_t n = atomic_load_explicit(&m->http[s], memory_order_relaxed);
        if (n)
            cdi_buf_printf(b, "copydesk_http_requests_total{code=\"%d\"} %llu\n", s,
                           (unsigned long long)n);
    }
    /* the Redis streams watch reads: this worker's counters and its group's */
    cdi_stream_health_metrics(b);
}
