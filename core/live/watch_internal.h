/*
 * watch_internal.h - the parts of copydesk watch (see watch.h), shared by
 * the files of core/live/ that implement it, one section each:
 *
 *   watch.c          the loop: setup, inotify and signals, the turn that
 *                    does one bounded piece of work, the spool's drain
 *   watch_log.c      log lines (key=value or JSON) and errors
 *   watch_status.c   status.json: written as things happen, read by --status
 *   watch_inbox.c    the inbox: files queued in order, routed, moved out
 *   watch_feeds.c    feeds: polled when due, new items routed once
 *   watch_desk.c     the running desk: loading with its expect cases,
 *                    reloading, routing one story
 *   watch_held.c     stories a rule held until a time: kept, then released
 *   watch_stream.c   Redis streams: read as a consumer of a group, routed,
 *                    acknowledged once durable, pending entries claimed
 *   stream_health.c  what the streams' state is, for serve (/readyz, /metrics)
 */
#ifndef CD_LIVE_WATCH_INTERNAL_H
#define CD_LIVE_WATCH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <time.h>

#include "base/buf.h"
#include "deliver/deliver_spool.h"
#include "desk/desk_live.h"
#include "live/feed.h"
#include "live/held.h"
#include "live/seen.h"
#include "live/watch.h"

#define RELOAD_QUIET 0.2      /* seconds without changes before reloading */
#define STATUS_EVERY 0.5      /* at most this often, rewrite status.json */
#define DRAIN_BUDGET 0.5      /* seconds of spool posting per turn */
#define FEED_MAX_BYTES ((size_t)32 << 20)

/* A folder watched with inotify, and why. */
typedef struct dir_watch {
    int wd;
    char *path;
    int kind;                 /* W_INBOX, W_CONFIG (any *.lua), W_MODEL (named files) */
} dir_watch;

enum { W_INBOX = 1, W_CONFIG = 2, W_MODEL = 4 };

/* A file is complete: closed after writing, or renamed in. */
#define FILE_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO)

/* ---- the inbox queue (watch_inbox.c) ----------------------------------------------- */

/* The inbox files waiting to be routed: those found when the inbox is
 * listed come in name order, those that arrive later in order of arrival;
 * a name is queued once, hidden names (a writer's temporary file) never. */
typedef struct cd_inbox {
    char **names;
    unsigned char *moved;     /* per name: it was renamed into the inbox */
    size_t n, cap;
    int rescan;               /* a name was lost (memory, event overflow): list again */
    /* names not yet complete, looked at again when due */
    char **later;
    double *due;
    unsigned char *later_moved;
    size_t nlater, later_cap;
} cd_inbox;

/* Queue name unless hidden or already waiting. */
void cdi_inbox_push(cd_inbox *q, const char *name);
/* Queue every regular file of dir, in name order (clears rescan); -1 with
 * errno when dir cannot be listed. */
int cdi_inbox_scan(cd_inbox *q, const char *dir);
/* cdi_inbox_push for a name renamed into the inbox (complete when closed). */
void cdi_inbox_push_moved(cd_inbox *q, const char *name);
/* The next name to route (caller frees), or NULL when none waits. */
char *cdi_inbox_take(cd_inbox *q);
/* The same, and whether it was renamed in. */
char *cdi_inbox_take_moved(cd_inbox *q, int *moved);
/* Look at name again at monotonic time due (it is not complete yet). */
void cdi_inbox_defer(cd_inbox *q, const char *name, int moved, double due);
/* Queue the deferred names that are due at now; seconds until the next
 * one is (-1: none waits). */
double cdi_inbox_wake(cd_inbox *q, double now);
void cdi_inbox_free(cd_inbox *q);

/* ---- a feed (watch_feeds.c) -------------------------------------------------------- */

typedef struct feed_state {
    char *name, *url, *format;
    double every, timeout, due;
    cd_feed_http http;
    cd_seen *seen;
    uint64_t items, polls;
    char *last_error;
    time_t last_poll;
} feed_state;

/* The new items of one poll of a feed.  Each item whose id the feed has
 * not seen is made a story and given to route; the ids are remembered by
 * cdi_feed_batch_finish only once the spool is synced, so that a kill in
 * between routes them again rather than losing them. */
typedef struct cd_feed_batch {
    feed_state *f;
    /* route the story of a new item: 0 when it has a safe outcome */
    int (*route)(void *ud, const cd_story *s, const char *source);
    /* something went wrong with the feed's item or memory of ids */
    void (*error)(void *ud, const char *feed, const char *msg);
    /* non-zero: stop between two items (a stop was asked for) */
    int (*stop)(void *ud);
    void *ud;
    const char *url;          /* where the document came from (relative links), or NULL */
    const char *content_type; /* its HTTP Content-Type (the charset), or NULL */
    cd_error warn;            /* after parsing: what was repaired first (code CD_OK: nothing) */
    char **ids;               /* to remember */
    size_t nids, cap;
    size_t fresh;             /* new items seen in the document */
    int parsed;               /* a document was parsed */
    int incomplete;           /* not every item of it was looked at */
    int full_reported;        /* the memory of ids is full, said once */
} cd_feed_batch;

/* Parse a fetched document (f->format, or detected) into the batch. */
cd_status cdi_feed_batch_parse(cd_feed_batch *b, const char *doc, size_t len,
                               size_t *nitems, cd_error *err);
/* Remember the batch's ids as seen when remember (the spool is synced),
 * count them, and release them.  When remember and the whole document
 * was read, the ids the feed no longer serves may be forgotten. */
void cdi_feed_batch_finish(cd_feed_batch *b, int remember);

/* ---- a Redis stream (watch_stream.c) ------------------------------------------------ */

typedef struct cd_redis cd_redis;

typedef struct stream_state {
    char *name, *url, *key, *group, *start;
    double claim_idle;        /* seconds */
    unsigned max_deliveries, batch;
    cd_redis *r;
    int group_ready;          /* XGROUP CREATE done on this connection */
    int history;              /* read this consumer's own pending entries first */
    int empty;                /* the last read found nothing: the next one may block */
    int down;                 /* the server is unreachable (said once) */
    double down_since;        /* monotonic */
    double next_claim, next_beat;
    char cursor[64];          /* XAUTOCLAIM's next start */
    char **ack;               /* entry ids routed, to acknowledge */
    size_t nack, ack_cap;
    uint64_t read, claimed, acked, dead, errors, reconnects;
    long long pending, lag;   /* the group's, at the last heartbeat (-1: unknown) */
    char *last_error;
    char *workers_text;       /* the group's workers, Prometheus lines, at the last heartbeat */
} stream_state;

/* ---- the watch --------------------------------------------------------------------- */

typedef struct dest_count {
    char *name;
    uint64_t stories;
} dest_count;

typedef struct watch {
    const cd_watch_opts *o;
    FILE *log;
    cd_desk_opts desk_opts;   /* the options' desk settings, with the spool folder */
    cd_desk *desk;
    char *spool_dir;
    cd_spool *spool;          /* the desk's too (one spool per folder) */
    cd_archive *archive;      /* what was routed, or NULL (core/live/archive.h) */
    cd_held *held;            /* stories held until a time (STATE/held) */
    int ino, sigfd, lockfd;
    char *claim_dir;          /* inbox/processing/PID: files being routed */
    int claim_lockfd;
    dir_watch *dirs;
    size_t ndirs;
    char **models;            /* model files of the running desk */
    size_t nmodels;
    cd_inbox inbox;           /* inbox file names to route, in order */
    double reload_due;        /* 0: none */
    int stopping;
    feed_state *feeds;
    size_t nfeeds;
    stream_state *streams;
    size_t nstreams;
    char *consumer;           /* this worker's name in the streams' groups */
    /* status */
    time_t started;
    uint64_t stories, files_done, files_failed, errors;
    dest_count *dests;
    size_t ndests;
    char *last_error;
    time_t reload_at;
    int reload_ok;
    char *reload_msg;
    uint64_t reloads;
    int status_dirty;
    double status_at;
} watch;

/* Replace *dst with a copy of s (NULL allowed); unchanged when out of memory. */
void cdi_watch_set_str(char **dst, const char *s);

/* ---- the log (watch_log.c) --------------------------------------------------------- */

/* A log line is built from key/value pairs: "time event k=v ..." for people
 * (values quoted when they hold spaces or quotes) or one JSON object. */
typedef struct logline {
    watch *w;
    cd_buf b;
} logline;

void cdi_log_begin(logline *l, watch *w, const char *event);
void cdi_log_str(logline *l, const char *key, const char *v);
void cdi_log_num(logline *l, const char *key, double v);
void cdi_log_list(logline *l, const char *key, const char *const *v, size_t n);
void cdi_log_end(logline *l);

/* A story routed (event "story") or released after it was held
 * ("released"): counted for the status, and its log line (id, route,
 * rule, outcome, held_until, from when origin is not NULL, error). */
void cdi_watch_log_story(watch *w, const char *event, const char *id, const cd_decision *dec,
                         const char *origin);

/* An error for the log and the status. */
void cdi_watch_note_error(watch *w, const char *event, const char *what, const char *msg);

/* ---- status (watch_status.c) ------------------------------------------------------- */

void cdi_watch_count_dest(watch *w, const char *name);
void cdi_watch_write_status(watch *w, int running);

/* ---- the loop (watch.c) ------------------------------------------------------------ */

int cdi_watch_add_dir(watch *w, const char *path, int kind, uint32_t mask);
/* Make the deliveries so far durable: the pipelined appends answered (or
 * spooled), then the spool synced.  Before an input is let go. */
cd_status cdi_watch_sync(watch *w, cd_error *err);
void cdi_watch_read_signals(watch *w);

/* ---- the inbox (watch_inbox.c) ----------------------------------------------------- */

/* Route inbox/name once it is complete and claimed (else defer it). */
void cdi_watch_route_file(watch *w, const char *name, int moved_in);

/* ---- claiming inbox files (watch_claim.c) ------------------------------------------ */

/* This watch's processing folder (locked); files of dead watches back. */
cd_status cdi_claim_open(watch *w, cd_error *err);
void cdi_claim_close(watch *w);
/* 1: inbox/name is complete; 0: not yet, look again in *retry_s; -1: gone. */
int cdi_claim_ready(watch *w, const char *name, int moved_in, double *retry_s);
/* Rename inbox/name into the processing folder: its new path (caller
 * frees), or NULL when another watch took it first. */
char *cdi_claim_take(watch *w, const char *name);
/* Rename from to dir/name (name.1, name.2 ... when taken). */
cd_status cdi_claim_move(const char *from, const char *dir, const char *name, char **moved,
                         cd_error *err);

/* ---- feeds (watch_feeds.c) --------------------------------------------------------- */

void cdi_watch_install_feeds(watch *w, cd_desk *desk);
void cdi_watch_free_feeds(watch *w);
void cdi_watch_poll_feed(watch *w, feed_state *f);
double cdi_watch_next_feed(watch *w, feed_state **which);

/* ---- streams (watch_stream.c) ----------------------------------------------------- */

void cdi_watch_install_streams(watch *w, cd_desk *desk);
void cdi_watch_free_streams(watch *w);
/* One bounded piece of work on each stream; block_ms: a read may wait
 * that long for entries when the last one found none. */
void cdi_watch_poll_streams(watch *w, int block_ms);
/* Seconds until a stream has work (0: now; -1: no stream). */
double cdi_watch_next_stream(watch *w);
/* Nothing to do on any stream now (for --once). */
int cdi_watch_streams_idle(watch *w);
/* Before stopping: the acknowledgements owed, a last heartbeat. */
void cdi_watch_stop_streams(watch *w);
/* Publish the streams' state for serve (stream_health.h). */
void cdi_watch_publish_streams(watch *w);

/* ---- the desk (watch_desk.c) ------------------------------------------------------- */

cd_desk *cdi_watch_load(watch *w, char *msg, size_t cap);
void cdi_watch_install(watch *w, cd_desk *desk);
void cdi_watch_reload(watch *w);
void cdi_watch_free_models(watch *w);
int cdi_watch_is_model(watch *w, const char *dir, const char *name);
int cdi_watch_route_story(watch *w, const cd_story *s, const char *origin, char *why,
                          size_t cap);

/* ---- held stories (watch_held.c) --------------------------------------------------- */

/* The desk's hold fn (cdi_desk_set_hold): keep the story in w->held. */
cd_status cdi_watch_hold(void *ud, double until, const char *id, const char *json, size_t len,
                         const char *ninjs, size_t nlen, const char *const *route,
                         size_t nroute, cd_error *err);
/* Deliver the held stories whose time has come. */
void cdi_watch_release_held(watch *w);
/* Seconds until the next held story is due (0: due), -1 when none. */
double cdi_watch_next_held(watch *w);

#endif
