/*
 * desk_live.c - what copydesk watch needs from a loaded desk beyond
 * routing (see "live routing" in copydesk/desk.h): the model files
 * (watched for replacement) and the feeds the configuration declares.
 */
#include <stdlib.h>

#include "desk/desk_internal.h"
#include "desk/desk_live.h"

char *cdi_desk_model_file(const cd_desk *d, size_t i)
{
    return cdi_sandbox_path(d->sb, d->models[i].path);
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
    for (size_t i = 0; d && i < d->ndests; i++) {
        cd_error e;
        if (cdi_dest_flush(d->dests[i].dest, &e) != CD_OK && st == CD_OK)
            st = cd_error_set(err, e.code, "destination '%s': %s", d->dests[i].name, e.msg);
    }
    return st;
}
