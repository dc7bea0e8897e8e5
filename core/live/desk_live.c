/*
 * desk_live.c - what copydesk watch needs from a loaded desk beyond
 * routing (see "live routing" in copydesk/desk.h): the hand-off of url
 * deliveries to a spool, the settings of url destinations (so the spool
 * can post later as the desk would), the model files (watched for
 * replacement) and the feeds the configuration declares.
 */
#include <stdlib.h>

#include "deliver/deliver_spool.h"
#include "desk/desk_internal.h"

void cd_desk_set_handoff(cd_desk *d, cd_desk_handoff_fn fn, void *ud)
{
    d->handoff = fn;
    d->handoff_ud = fn ? ud : NULL;
}

int cd_desk_destination_url(const cd_desk *d, size_t i, cd_desk_url *out)
{
    const desk_dest *ds = &d->dests[i];
    if (cd_dest_get_kind(ds->dest) != CD_DEST_URL)
        return 0;
    const cd_dest_opts *o = cd_dest_get_opts(ds->dest);
    out->url = o->target;
    out->timeout_s = o->timeout_s;
    out->connect_timeout_s = o->connect_timeout_s;
    out->backoff_s = o->backoff_s;
    out->dead_letter = ds->dead_letter ? ds->dead_letter : d->dead_letter;
    return 1;
}

char *cd_desk_model_file(const cd_desk *d, size_t i)
{
    return cd_sandbox_path(d->sb, d->models[i].path);
}

size_t cd_desk_feeds(const cd_desk *d)
{
    return d->nfeeds;
}

void cd_desk_feed_get(const cd_desk *d, size_t i, cd_desk_feed *out)
{
    const desk_feed *f = &d->feeds[i];
    out->name = f->name;
    out->url = f->url;
    out->format = f->format;
    out->where = f->where;
    out->every_s = f->every_s;
    out->timeout_s = f->timeout_s;
}
