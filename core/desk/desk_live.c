/*
 * desk_live.c - what copydesk watch needs from a loaded desk beyond
 * routing (see "live routing" in copydesk/desk.h): the model files
 * (watched for replacement), the feeds the configuration declares, and
 * the expect cases that gate a new desk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk/desk_internal.h"
#include "desk/desk_live.h"

char *cdi_desk_model_file(const cd_desk *d, size_t i)
{
    return cdi_sandbox_path(d->sb, d->models[i].path);
}

const char *cdi_desk_model_name(const cd_desk *d, size_t i)
{
    return d->models[i].name;
}

size_t cdi_desk_feeds(const cd_desk *d)
{
    return d->nfeeds;
}

void cdi_desk_feed_get(const cd_desk *d, size_t i, cd_desk_feed *out)
{
    const desk_feed *f = &d->feeds[i];
    out->name = f->name;
    out->url = f->url;
    out->format = f->format;
    out->where = f->where;
    out->every_s = f->every_s;
    out->timeout_s = f->timeout_s;
}

size_t cdi_desk_check_expects(cd_desk *d, cd_expect_fn fn, void *ud, char *msg, size_t cap)
{
    size_t failed = 0, n = cd_desk_expects(d);
    for (size_t i = 0; i < n; i++) {
        cd_expect_result r;
        cd_error e;
        int ran = cd_desk_run_expect(d, i, &r, &e) == CD_OK;
        if (!ran) {
            r.passed = 0;
            snprintf(r.name, sizeof r.name, "expect case %zu", i + 1);
            snprintf(r.detail, sizeof r.detail, "%s", e.msg);
        }
        if (fn)
            fn(ud, i, &r);
        if (r.passed || failed++)
            continue;
        if (ran)
            snprintf(msg, cap, "expect case '%s' failed: %s", r.name, r.detail);
        else
            snprintf(msg, cap, "%s: %s", r.name, r.detail);
    }
    if (failed > 1) {
        size_t len = strlen(msg);
        snprintf(msg + len, cap - len, " (and %zu more)", failed - 1);
    } else if (!failed) {
        snprintf(msg, cap, "%zu rules, %zu expect cases passed", cd_desk_rules(d), n);
    }
    return failed;
}

size_t cdi_desk_streams(const cd_desk *d)
{
    return d->nstreams;
}

void cdi_desk_stream_get(const cd_desk *d, size_t i, cd_desk_stream *out)
{
    const desk_stream *s = &d->streams[i];
    out->name = s->name;
    out->url = s->url;
    out->key = s->key;
    out->group = s->group;
    out->start = s->start;
    out->where = s->where;
    out->claim_idle_s = s->claim_idle_s;
    out->max_deliveries = s->max_deliveries;
    out->batch = s->batch;
}

const char *cdi_desk_dead_letter_dir(const cd_desk *d)
{
    return d->dead_letter ? d->dead_letter : CD_DEAD_LETTER_DEFAULT;
}

void cdi_desk_set_batching(cd_desk *d, int on)
{
    for (size_t i = 0; i < d->ndests; i++)
        cdi_dest_set_batching(d->dests[i].dest, on);
}

cd_status cdi_desk_flush(cd_desk *d, cd_error *err)
{
    cd_status st = CD_OK;
    /* every batch on its way first, then the answers: one wait, not one
     * per destination */
    for (size_t i = 0; d && i < d->ndests; i++)
        cdi_dest_flush_begin(d->dests[i].dest);
    for (size_t i = 0; d && i < d->ndests; i++) {
        cd_error e;
        if (cdi_dest_flush(d->dests[i].dest, &e) != CD_OK && st == CD_OK)
            st = cd_error_set(err, e.code, "destination '%s': %s", d->dests[i].name, e.msg);
    }
    return st;
}
