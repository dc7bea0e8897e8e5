/*
 * watch_held.c - stories a rule held until a time (hold() in a desk):
 * the desk gives each to cd_watch_hold, which keeps it on disk
 * (core/live/held.h) before watch forgets its source (moves the inbox
 * file out, remembers the feed item); each turn, the stories whose time
 * has come are delivered through the running desk, then forgotten.
 */
#include <stdio.h>
#include <string.h>

#include "desk/isotime.h"
#include "live/watch_internal.h"

cd_status cd_watch_hold(void *ud, double until, const char *id, const char *json, size_t len,
                        const char *const *route, size_t nroute, cd_error *err)
{
    watch *w = ud;
    cd_status st = cd_held_add(w->held, until, id, json, len, route, nroute, err);
    if (st == CD_OK)
        w->status_dirty = 1;
    return st;
}

static int release_one(void *ud, const char *id, const char *json, size_t len,
                       const char *const *route, size_t nroute)
{
    watch *w = ud;
    cd_decision dec;
    cd_error e;
    cd_desk_release(w->desk, id, json, len, route, nroute, &dec, &e);
    /* url destinations appended it to the spool: synced before the held
     * file goes (a kill in between delivers it twice, never not at all) */
    int safe = dec.outcome != CD_OUTCOME_FAILED && cd_spool_sync(w->spool, &e) == CD_OK;
    w->stories++;
    w->status_dirty = 1;
    for (size_t i = 0; i < dec.nroute; i++)
        cd_watch_count_dest(w, dec.route[i]);
    logline l;
    cd_log_begin(&l, w, "released");
    cd_log_str(&l, "id", id);
    cd_log_list(&l, "route", dec.route, dec.nroute);
    cd_log_str(&l, "outcome", cd_outcome_name(dec.outcome));
    if (dec.error)
        cd_log_str(&l, "error", dec.error);
    cd_log_end(&l);
    if (dec.error) {
        w->errors++;
        cd_watch_set_str(&w->last_error, dec.error);
    }
    return safe ? 0 : -1;
}

static void unreadable(void *ud, const char *file, const char *msg)
{
    cd_watch_note_error(ud, "error", file, msg);
}

void cd_watch_release_held(watch *w)
{
    if (w->held && cd_held_next(w->held, cd_utc_now()) == 0)
        cd_held_release(w->held, cd_utc_now(), release_one, w, unreadable);
}

double cd_watch_next_held(watch *w)
{
    return cd_held_next(w->held, cd_utc_now());
}
