/*
 * watch.h - the live desk: copydesk watch as a library call.
 *
 * cdi_watch_run loads a desk configuration and then runs until SIGTERM or
 * SIGINT (or, with once, until the inbox is empty and every spool queue
 * is drained or waiting).  It routes:
 *
 *   inbox files  complete files in the inbox folder (closed after writing,
 *                or renamed in; found with inotify), those already there
 *                first, in name order; each file's stories are routed,
 *                then the file moves to done/, or to failed/ with a
 *                NAME.error beside it saying why;
 *   feed items   the feeds the configuration declares, polled every
 *                `every` seconds with conditional requests; items not
 *                seen before (remembered in the state folder) are routed;
 *   stream entries  the Redis streams the configuration declares, read as
 *                one consumer of each stream's group, acknowledged once
 *                every delivery of the entry's story is durable.
 *
 * The desk is loaded with the spool folder of the state folder, so its url
 * destinations append their stories to the spool (deliver/deliver_spool.h)
 * instead of posting them: a file leaves the inbox only once every
 * destination has its stories or a durable copy of them.  watch drains
 * the spool in order, retried with backoff, across restarts.
 *
 * When the configuration, a Lua module beside it or in the scripts
 * folder, or a model it names changes on disk (or on SIGHUP), the new
 * version is loaded beside the running one and replaces it only if it
 * loads and all its expect cases pass; otherwise routing goes on with the
 * old one and the error is logged.  SIGTERM and SIGINT finish the story
 * in hand and stop.  A status file (JSON) in the state folder says what
 * the process has done; cdi_watch_status prints it.
 *
 * State folder layout:
 *   status.json   the status, rewritten atomically as things happen
 *   lock          held (flock) by the running process
 *   spool/        url deliveries waiting
 *   feeds/NAME.seen, feeds/NAME.http   remembered ids, last validators
 *   archive/      the routed stories and their decisions, for copydesk
 *                 diff to replay (core/live/archive.h)
 */
#ifndef CD_WATCH_H
#define CD_WATCH_H

#include <stdio.h>

#include "copydesk.h"
#include "live/archive.h"

typedef struct cd_watch_opts {
    const char *config;      /* the desk configuration (required) */
    const char *inbox;       /* folder to watch, or NULL (feeds only) */
    const char *state;       /* state folder (required) */
    cd_desk_opts desk;       /* limits, scripts folder */
    int json_log;            /* log JSON lines instead of key=value lines */
    int once;                /* stop when there is nothing left to do now */
    FILE *log;               /* where the log goes (stderr when NULL) */
    cd_archive_opts archive; /* bounds of the archive of routed stories */
    int no_archive;          /* keep no archive */
    cd_archive *shared_archive; /* the archive to add to, opened (and closed)
                                   by the caller (copydesk serve, whose HTTP
                                   threads add to it too); NULL: watch opens
                                   its own */
    struct cd_held *shared_held; /* the held stories (STATE/held/), opened and
                                    closed by the caller (copydesk serve,
                                    whose HTTP threads hold stories too);
                                    NULL: watch opens its own */
    /* Called in watch's thread after each reload of the desk (ok: the new
     * desk runs; msg: the result or why it was refused); NULL: none.
     * copydesk serve keeps the desks of its HTTP threads in step with
     * watch's through it. */
    void (*on_reload)(void *ud, int ok, const char *msg);
    /* Called in watch's thread after each story routed from the inbox or
     * a feed, with its decision and the seconds it took; NULL: none
     * (serve counts them in its metrics). */
    void (*on_story)(void *ud, const cd_decision *dec, double seconds);
    void *on_reload_ud;      /* ud of both */
    const char *consumer;    /* the name in the groups of the desk's streams
                                (NULL: HOST:PID) */
} cd_watch_opts;

/* Run until stopped.  CD_OK after a clean stop; an error when the desk
 * or the folders could not be set up (err says why). */
cd_status cdi_watch_run(const cd_watch_opts *opts, cd_error *err);

/* Print the status file of the state folder to out, saying whether the
 * process that wrote it still runs; an error when there is none. */
cd_status cdi_watch_status(const char *state, FILE *out, cd_error *err);

#endif
