/*
 * watch_held.c - stories a rule held until a time (hold() in a desk):
 * the desk gives each to cdi_watch_hold, which keeps it on disk
 * (core/live/held.h) before watch forgets its source (moves the inbox
 * file out, remembers the feed item); each turn, the stories whose time
 * has come are delivered through the running desk, then forgotten.
 */
#include <stdio.h>
#include <string.h>

#include "desk/isotime.h"
#include "live/watch_internal.h"

cd_status cdi_watch_hold(void *ud, double until, const char *id, const char *json, size_t len,
                         const char *ninjs, size_t nlen, const char *const *route,
                         size_t nroute, cd_error *err)
{
    watch *w = ud;
    cd_status st = cdi_held_add(w->held, until, id, json, len, ninjs, nlen, route, nroute, err);
    if (st == CD_OK)
        w->status_dirty = 1;
    return st;
}

static int release_one(void *ud, const char *id, const char *json, size_t len,
                       const char *ninjs, size_t nlen, const char *const *route, size_t nroute)
{
    watch *w = ud;
    cd_decision dec;
    cd_error e;
    cdi_desk_release(w->desk, id, json, len, ninjs, nlen, route, nroute, &dec, &e);
    /* url destinations appended it to the spool: synced before the held
     * file goes (a kill in between delivers it twice, never not at all) */
    int safe = dec.outcome != CD_OUTCOME_FAILED && cdi_watch_sync(w, &e) == CD_OK;
    cdi_watch_log_story(w, "released", id, &dec, NULL);
    return safe ? 0 : -1;
}

static void unreadable(void *ud, const char *file, const char *msg)
{
    cdi_watch_note_error(ud, "error", file, msg);
}

void cdi_watch_release_held(watch *w)
{
    if (w->held && cdi_held_next(w->held, cdi_utc_now()) == 0)
        cdi_held_release(w->held, cdi_utc_now(), release_one, w, unreadable);
}

double cdi_watch_next_held(watch *w)
{
    return cdi_held_next(w->held, cdi_utc_now());
}
