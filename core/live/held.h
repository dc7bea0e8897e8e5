/*
 * held.h - stories a rule held until a time (hold(time, dests) in a desk),
 * kept on disk by copydesk watch until their time comes, as durably as the
 * spool keeps url deliveries: they survive a SIGKILL and a restart.
 *
 * Layout: one file per held story in the held folder (STATE/held/),
 *
 *   HELD/<until, 20 digits>-<sequence, 20 digits>.json
 *
 * whose first line is a header {"until": seconds, "held_until": "ISO",
 * "id": "...", "route": ["wire", ...]} and whose second line is the story
 * JSON exactly as it will be delivered.  A story is added by writing a
 * hidden temporary file, fsync, a rename to its final name and an fsync
 * of the folder, so that once cdi_held_add returns the story is on disk
 * whole and the caller may forget it (watch moves the inbox file out).
 * Leftover temporary files of a killed process are removed at open.
 *
 * Releasing delivers each story whose time has come (earliest first) and
 * only then removes its file and syncs the folder: a kill in between
 * delivers it again after the restart (a duplicate with the same id, as
 * with the spool), never loses it.
 */
#ifndef CD_LIVE_HELD_H
#define CD_LIVE_HELD_H

#include <stddef.h>

#include "copydesk/error.h"

typedef struct cd_held cd_held;

/* Open (creating) the held folder and list what it holds. */
cd_status cdi_held_open(const char *dir, cd_held **out, cd_error *err);
void cdi_held_free(cd_held *h);

/* Keep a story until until (UTC seconds) for the destinations route. */
cd_status cdi_held_add(cd_held *h, double until, const char *id, const char *json,
                       size_t len, const char *const *route, size_t nroute, cd_error *err);

/* Deliver a released story: 0 once it is delivered (or kept safely
 * elsewhere, in a spool or dead letter), -1 to keep it held and try again
 * at the next release. */
typedef int (*cd_held_fn)(void *ud, const char *id, const char *json, size_t len,
                          const char *const *route, size_t nroute);

/* Release every story whose time is at or before now, earliest first;
 * returns how many were released.  A file that cannot be read is left
 * and reported through err_fn (may be NULL). */
size_t cdi_held_release(cd_held *h, double now, cd_held_fn fn, void *ud,
                        void (*err_fn)(void *ud, const char *file, const char *msg));

/* Seconds from now to the earliest time held (0 when due), -1 when none. */
double cdi_held_next(cd_held *h, double now);

/* Adding, releasing and cdi_held_next are safe from several threads
 * (copydesk serve: its HTTP threads hold stories, watch's thread releases
 * them); the listing below is done between cdi_held_lock and
 * cdi_held_unlock. */
void cdi_held_lock(cd_held *h);
void cdi_held_unlock(cd_held *h);

/* What is held, earliest first, for the status: n, then story i's id,
 * time and destinations (strings owned by h, valid until the next call). */
size_t cdi_held_count(const cd_held *h);
void cdi_held_get(const cd_held *h, size_t i, const char **id, double *until,
                  const char *const **route, size_t *nroute);

#endif
