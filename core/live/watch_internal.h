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
 */
#ifndef CD_LIVE_WATCH_INTERNAL_H
#define CD_LIVE_WATCH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <time.h>

#include "base/buf.h"
#include "deliver/deliver_spool.h"
#include "live/feed.h"
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
    size_t n, cap;
    int rescan;               /* a name was lost (memory, event overflow): list again */
} cd_inbox;

/* Queue name unless hidden or already waiting. */
void cd_inbox_push(cd_inbox *q, const char *name);
/* Queue every regular file of dir, in name order (clears rescan); -1 with
 * errno when dir cannot be listed. */
int cd_inbox_scan(cd_inbox *q, const char *dir);
/* The next name to route (caller frees), or NULL when none waits. */
char *cd_inbox_take(cd_inbox *q);
void cd_inbox_free(cd_inbox *q);

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
 * cd_feed_batch_finish only once the spool is synced, so that a kill in
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
    char **ids;               /* to remember */
    size_t nids;
    size_t fresh;             /* new items seen in the document */
} cd_feed_batch;

/* Parse a fetched document (f->format, or detected) into the batch. */
cd_status cd_feed_batch_parse(cd_feed_batch *b, const char *doc, size_t len,
                              size_t *nitems, cd_error *err);
/* Remember the batch's ids as seen when remember (the spool is synced),
 * count them, and release them. */
void cd_feed_batch_finish(cd_feed_batch *b, int remember);

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
    int ino, sigfd, lockfd;
    dir_watch *dirs;
    size_t ndirs;
    char **models;            /* model files of the running desk */
    size_t nmodels;
    cd_inbox inbox;           /* inbox file names to route, in order */
    double reload_due;        /* 0: none */
    int stopping;
    feed_state *feeds;
    size_t nfeeds;
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
void cd_watch_set_str(char **dst, const char *s);

/* ---- the log (watch_log.c) --------------------------------------------------------- */

/* A log line is built from key/value pairs: "time event k=v ..." for people
 * (values quoted when they hold spaces or quotes) or one JSON object. */
typedef struct logline {
    watch *w;
    cd_buf b;
} logline;

void cd_log_begin(logline *l, watch *w, const char *event);
void cd_log_str(logline *l, const char *key, const char *v);
void cd_log_num(logline *l, const char *key, double v);
void cd_log_list(logline *l, const char *key, const char *const *v, size_t n);
void cd_log_end(logline *l);

/* An error for the log and the status. */
void cd_watch_note_error(watch *w, const char *event, const char *what, const char *msg);

/* ---- status (watch_status.c) ------------------------------------------------------- */

void cd_watch_count_dest(watch *w, const char *name);
void cd_watch_write_status(watch *w, int running);

/* ---- the loop (watch.c) ------------------------------------------------------------ */

int cd_watch_add_dir(watch *w, const char *path, int kind, uint32_t mask);
void cd_watch_read_signals(watch *w);

/* ---- the inbox (watch_inbox.c) ----------------------------------------------------- */

void cd_watch_route_file(watch *w, const char *name);

/* ---- feeds (watch_feeds.c) --------------------------------------------------------- */

void cd_watch_install_feeds(watch *w, cd_desk *desk);
void cd_watch_free_feeds(watch *w);
void cd_watch_poll_feed(watch *w, feed_state *f);
double cd_watch_next_feed(watch *w, feed_state **which);

/* ---- the desk (watch_desk.c) ------------------------------------------------------- */

cd_desk *cd_watch_load(watch *w, char *msg, size_t cap);
void cd_watch_install(watch *w, cd_desk *desk);
void cd_watch_reload(watch *w);
void cd_watch_free_models(watch *w);
int cd_watch_is_model(watch *w, const char *dir, const char *name);
int cd_watch_route_story(watch *w, const cd_story *s, const char *origin, char *why,
                         size_t cap);

#endif
