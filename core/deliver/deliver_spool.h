/*
 * deliver_spool.h - a persistent, ordered queue of stories per url
 * destination: what lets copydesk watch lose nothing when a desk's
 * endpoint is down, and nothing when the process is killed.
 *
 * The spool is part of url delivery: a url destination created with a
 * spool in its options (cd_dest_opts.spool) appends each story to its
 * queue instead of posting it, and the spool posts through that same
 * destination when drained; a story refused for good goes to the
 * destination's dead-letter folder (cdi_dest_dead_letter).  The desk gives
 * its url destinations the spool of cd_desk_opts.spool_dir; copydesk
 * watch only syncs and drains it.
 *
 * A spool folder is opened once per process: cdi_spool_open of a folder
 * already open returns the same spool (counted; cdi_spool_free releases
 * one use), so that a desk reloaded beside the running one shares its
 * queues, sequence numbers and counters.
 *
 * A spool may be used from several threads (copydesk serve routes on its
 * HTTP threads while watch's thread drains): every call takes the
 * spool's lock, and a drain holds it through each attempt, so an add
 * waits for the attempt in progress (at most the destination's timeout).
 *
 * Layout: one folder per destination under the spool folder,
 *
 *   SPOOL/<safe destination name>/00000000000000000042.json
 *
 * holding the story's id on a first line (a JSON string: the log, the
 * events and the dead-letter name need it, and the body need not carry it
 * where it can be found, a ninjs document does not), then the story JSON
 * exactly as it will be posted.  A file without the id line (a spool
 * written by an earlier copydesk) is posted whole, its id read from a
 * leading "id" member.  A story
 * is added by writing a hidden temporary file, fsync, and a rename to the
 * next sequence number, so that a file with a final name is always whole;
 * cdi_spool_sync then fsyncs the folders, after which the caller may
 * forget the story (copydesk watch moves the inbox file out).  Leftover
 * temporary files of a killed process are removed when the spool first opens.
 *
 * Draining posts the oldest story of each queue first, one attempt at a
 * time; the file is removed only after a 2xx answer, so a kill between
 * the post and the removal means a duplicate (same story id), never a
 * loss.  A failed attempt (network error, timeout, 408, 429, 5xx, or a
 * queued file that cannot be read for now: only a file removed by hand
 * is passed over) leaves the story at the head and retries the queue
 * after a wait that starts at the destination's backoff and doubles up
 * to CD_SPOOL_MAX_WAIT; another
 * 4xx answer cannot be fixed by retrying, so that story goes to the dead
 * letter folder and the queue goes on.  Queues found on disk that no
 * destination is bound to yet wait until one is.
 */
#ifndef CD_DELIVER_SPOOL_H
#define CD_DELIVER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "deliver/deliver.h"

#define CD_SPOOL_MAX_WAIT 30.0   /* seconds, the longest wait between attempts */

typedef struct cd_spool cd_spool;

/* Open (creating) the spool folder and every queue already in it, or
 * take one more use of the spool already open on that folder. */
cd_status cdi_spool_open(const char *dir, cd_spool **out, cd_error *err);
void cdi_spool_free(cd_spool *sp);

/* Make url destination d the one that posts the queue of its name (the
 * queue is created when new); the latest bound wins, and its settings
 * apply from the next attempt.  cdi_dest_new calls it for a destination
 * given a spool, cdi_dest_free calls cdi_spool_unbind, after which the one
 * bound before it posts again (a reloaded desk that fails its checks is
 * freed, the running one goes on); a queue with none left waits.
 * Retries are the spool's: d's are unused. */
cd_status cdi_spool_bind(cd_spool *sp, cd_dest *d, cd_error *err);
void cdi_spool_unbind(cd_spool *sp, const cd_dest *d);

/* Append a story to name's queue (a bound destination's); the file is
 * whole and synced on return. */
cd_status cdi_spool_add(cd_spool *sp, const char *name, const char *id, const char *json,
                        size_t len, cd_error *err);

/* Make every add so far survive a crash of the machine (fsync folders). */
cd_status cdi_spool_sync(cd_spool *sp, cd_error *err);

/* What happened to one story while draining, for the log. */
typedef enum { CD_SPOOL_SENT, CD_SPOOL_RETRY, CD_SPOOL_REFUSED } cd_spool_event;
typedef void (*cd_spool_fn)(void *ud, cd_spool_event ev, const char *dest,
                            const char *id, const char *error, double retry_in);

/* Post due stories, oldest first in each queue, until nothing is due or
 * budget_s seconds have passed (an attempt under way is finished).
 * Returns the stories delivered. */
size_t cdi_spool_drain(cd_spool *sp, double budget_s, cd_spool_fn fn, void *ud);

/* Seconds until a queue is due (0: now), or -1 when nothing is waiting. */
double cdi_spool_next_due(const cd_spool *sp);

/* Stories waiting, in all queues. */
uint64_t cdi_spool_depth(const cd_spool *sp);

/* One queue's state: copies, taken under the spool's lock (another thread
 * may bind or free the destinations meanwhile); cdi_spool_queue_info_clear
 * frees them. */
typedef struct cd_spool_queue_info {
    char *name;
    char *url;                /* NULL while no destination names the queue */
    uint64_t depth;           /* stories waiting */
    uint64_t sent;            /* delivered since the spool opened */
    uint64_t refused;         /* moved to dead letter */
    uint64_t failures;        /* failed attempts since the last success */
    char *last_error;         /* of the last failed attempt, or NULL */
    double retry_in;          /* seconds until the next attempt, 0 when due */
} cd_spool_queue_info;

/* The number of queues (it only grows while the spool is open). */
size_t cdi_spool_queues(const cd_spool *sp);
/* Queue i's state into *out: CD_ERR_ARG when there is no queue i,
 * CD_ERR_NOMEM (out cleared) when the copies failed. */
cd_status cdi_spool_queue_get(const cd_spool *sp, size_t i, cd_spool_queue_info *out);
void cdi_spool_queue_info_clear(cd_spool_queue_info *qi);

#endif
