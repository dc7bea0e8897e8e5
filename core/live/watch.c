/*
 * watch.c - the live desk's loop (see watch.h for what it promises).
 *
 * One thread, one poll(2) over an inotify descriptor and a signalfd: no
 * signal handler runs in the middle of routing, so "finish the story in
 * hand" is just checking the signalfd between stories.  Each turn of the
 * loop does at most one bounded piece of work (one inbox file, one feed
 * poll, a reload, a drain of the spool for a short budget) so that none
 * starves the others.
 *
 * The order that makes delivery lossless: route a story (the desk's url
 * destinations append it to the spool: files written and fsynced), fsync
 * the spool folders, and only then move the inbox file out (or remember a
 * feed item as seen).  A kill before the move means the file is routed
 * again after a restart: duplicates with the same story id, never a loss.
 *
 * The other sections are in watch_log.c, watch_status.c, watch_inbox.c,
 * watch_feeds.c and watch_desk.c (see watch_internal.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fs.h"
#include "live/watch_internal.h"

/* ---- inotify ----------------------------------------------------------------------- */

int cdi_watch_add_dir(watch *w, const char *path, int kind, uint32_t mask)
{
    for (size_t i = 0; i < w->ndirs; i++)
        if (!strcmp(w->dirs[i].path, path)) {
            w->dirs[i].kind |= kind;
            return 0;
        }
    int wd = inotify_add_watch(w->ino, path, mask);
    if (wd < 0)
        return -1;
    dir_watch *v = realloc(w->dirs, (w->ndirs + 1) * sizeof *v);
    char *p = strdup(path);
    if (!v || !p) {
        free(p);
        if (v)
            w->dirs = v;
        return -1;
    }
    w->dirs = v;
    for (size_t i = 0; i < w->ndirs; i++)
        if (w->dirs[i].wd == wd) {   /* the same folder by another name */
            w->dirs[i].kind |= kind;
            free(p);
            return 0;
        }
    w->dirs[w->ndirs++] = (dir_watch){ wd, p, kind };
    return 0;
}

/* Folders whose *.lua files are the configuration: its own folder, the
 * scripts folder, and their first-level subfolders (require "lib.x"). */
static void watch_config_dir(watch *w, const char *dir)
{
    if (!dir || cdi_watch_add_dir(w, dir, W_CONFIG, FILE_EVENTS) != 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "done") || !strcmp(e->d_name, "failed") ||
            !strcmp(e->d_name, "processing"))
            continue;
        char *p = cdi_path_join(dir, e->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) &&
            (!w->o->inbox || strcmp(p, w->o->inbox) != 0))
            cdi_watch_add_dir(w, p, W_CONFIG, FILE_EVENTS);
        free(p);
    }
    if (d)
        closedir(d);
}

static int is_lua(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".lua") && name[0] != '.';
}

static void read_events(watch *w)
{
    char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->ino, buf, sizeof buf);
        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n; ) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                w->inbox.rescan = 1;
                w->reload_due = cdi_monotonic() + RELOAD_QUIET;
                continue;
            }
            if (!ev->len)
                continue;
            for (size_t i = 0; i < w->ndirs; i++) {
                dir_watch *dw = &w->dirs[i];
                if (dw->wd != ev->wd)
                    continue;
                if ((dw->kind & W_INBOX) && w->o->inbox && !strcmp(dw->path, w->o->inbox)) {
                    if (ev->mask & IN_MOVED_TO)
                        cdi_inbox_push_moved(&w->inbox, ev->name);
                    else
                        cdi_inbox_push(&w->inbox, ev->name);
                }
                if (((dw->kind & W_CONFIG) && is_lua(ev->name)) ||
                    ((dw->kind & W_MODEL) && cdi_watch_is_model(w, dw->path, ev->name)))
                    w->reload_due = cdi_monotonic() + RELOAD_QUIET;
            }
        }
    }
}

cd_status cdi_watch_sync(watch *w, cd_error *err)
{
    cd_status st = cdi_desk_flush(w->desk, err);
    cd_error e;
    cd_status sp = cdi_spool_sync(w->spool, &e);
    if (st == CD_OK && sp != CD_OK)
        st = cd_error_set(err, sp, "%s", e.msg);
    return st;
}

/* ---- signals ----------------------------------------------------------------------- */

void cdi_watch_read_signals(watch *w)
{
    struct signalfd_siginfo si;
    while (read(w->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            w->reload_due = cdi_monotonic();
        } else if (!w->stopping) {
            w->stopping = 1;
            logline l;
            cdi_log_begin(&l, w, "stopping");
            cdi_log_str(&l, "signal", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            cdi_log_end(&l);
        }
    }
}

/* ---- the spool --------------------------------------------------------------------- */

static void spool_event(void *ud, cd_spool_event ev, const char *dest, const char *id,
                        const char *error, double retry_in)
{
    watch *w = ud;
    w->status_dirty = 1;
    logline l;
    cdi_log_begin(&l, w, ev == CD_SPOOL_SENT ? "sent" : ev == CD_SPOOL_RETRY ? "retry" : "refused");
    cdi_log_str(&l, "id", id);
    cdi_log_str(&l, "destination", dest);
    if (error)
        cdi_log_str(&l, "error", error);
    if (ev == CD_SPOOL_RETRY)
        cdi_log_num(&l, "retry_in", retry_in);
    if (ev == CD_SPOOL_REFUSED)
        cdi_log_str(&l, "kept_in", "dead letter");
    cdi_log_end(&l);
    if (ev == CD_SPOOL_REFUSED) {
        w->errors++;
        cdi_watch_set_str(&w->last_error, error);
    }
}

/* ---- setup and the loop ------------------------------------------------------------ */

/* List the inbox again (at start, after the event queue overflowed). */
static void scan_inbox(watch *w)
{
    if (cdi_inbox_scan(&w->inbox, w->o->inbox) != 0)
        cdi_watch_note_error(w, "error", w->o->inbox, strerror(errno));
}

static cd_status lock_state(watch *w, cd_error *err)
{
    char *path = cdi_path_join(w->o->state, "lock");
    if (!path)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    w->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    cd_status st = CD_OK;
    if (w->lockfd < 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    else if (flock(w->lockfd, LOCK_EX | LOCK_NB) != 0)
        st = cd_error_set(err, CD_ERR_ARG, "%s: another copydesk watch uses this state folder",
                          w->o->state);
    free(path);
    return st;
}

static cd_status setup(watch *w, cd_error *err)
{
    const cd_watch_opts *o = w->o;
    cd_status st = cdi_mkdirs(o->state, err);
    if (st == CD_OK)
        st = lock_state(w, err);
    char *dir = st == CD_OK ? cdi_path_join(o->state, "feeds") : NULL;
    if (dir)
        st = cdi_mkdirs(dir, err);
    free(dir);
    /* the desk's url destinations append to this spool; watch drains it */
    w->spool_dir = st == CD_OK ? cdi_path_join(o->state, "spool") : NULL;
    if (w->spool_dir)
        st = cdi_spool_open(w->spool_dir, &w->spool, err);
    else if (st == CD_OK)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    char *held = st == CD_OK && !o->shared_held ? cdi_path_join(o->state, "held") : NULL;
    if (o->shared_held && st == CD_OK)
        w->held = o->shared_held;
    else if (held)
        st = cdi_held_open(held, &w->held, err);
    else if (st == CD_OK)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(held);
    if (st != CD_OK)
        return st;
    w->desk_opts = o->desk;
    w->desk_opts.spool_dir = w->spool_dir;
    /* the archive serves previews: without it, routing still goes on */
    cd_error ae;
    if (o->shared_archive)
        w->archive = o->shared_archive;
    else if (!o->no_archive && cdi_archive_open(o->state, &o->archive, &w->archive, &ae) != CD_OK)
        cdi_watch_note_error(w, "archive-failed", o->state, ae.msg);
    if (o->inbox && (st = cdi_mkdirs(o->inbox, err)) != CD_OK)
        return st;
    if (o->inbox && (st = cdi_claim_open(w, err)) != CD_OK)
        return st;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->sigfd < 0 || w->ino < 0)
        return cd_error_set(err, CD_ERR_IO, "inotify/signalfd: %s", strerror(errno));
    /* watch first, then list: a file arriving in between is seen twice, not missed */
    if (o->inbox && cdi_watch_add_dir(w, o->inbox, W_INBOX, FILE_EVENTS) != 0)
        return cd_error_set(err, CD_ERR_IO, "%s: cannot watch: %s", o->inbox, strerror(errno));
    char *copy = strdup(o->config);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    char *slash = strrchr(copy, '/');
    if (slash)
        *slash = '\0';
    watch_config_dir(w, slash ? (*copy ? copy : "/") : ".");
    free(copy);
    const char *scripts = o->desk.scripts_dir ? o->desk.scripts_dir : getenv("COPYDESK_SCRIPTS");
    struct stat sb;
    if (!scripts && stat("scripts", &sb) == 0 && S_ISDIR(sb.st_mode))
        scripts = "scripts";
    if (scripts && *scripts)
        watch_config_dir(w, scripts);
    char msg[1200];
    cd_desk *desk = cdi_watch_load(w, msg, sizeof msg);
    if (!desk)
        return cd_error_set(err, CD_ERR_SCRIPT, "%s", msg);
    cdi_watch_install(w, desk);
    if (o->inbox)
        scan_inbox(w);
    return CD_OK;
}

static void teardown(watch *w)
{
    cd_desk_free(w->desk);
    cdi_spool_free(w->spool);
    if (w->held != w->o->shared_held)
        cdi_held_free(w->held);
    free(w->spool_dir);
    if (w->archive != w->o->shared_archive)
        cdi_archive_close(w->archive);
    for (size_t i = 0; i < w->ndirs; i++)
        free(w->dirs[i].path);
    free(w->dirs);
    cdi_watch_free_models(w);
    cdi_inbox_free(&w->inbox);
    cdi_watch_free_feeds(w);
    cdi_watch_free_streams(w);
    for (size_t i = 0; i < w->ndests; i++)
        free(w->dests[i].name);
    free(w->dests);
    free(w->last_error);
    free(w->reload_msg);
    if (w->ino >= 0)
        close(w->ino);
    if (w->sigfd >= 0)
        close(w->sigfd);
    if (w->lockfd >= 0)
        close(w->lockfd);
    cdi_claim_close(w);
}

/* Milliseconds poll may sleep: until the next reload, feed, spool attempt,
 * archive sync, held story's release, status write or (with_streams)
 * stream read, at most a minute. */
static int sleep_ms(watch *w, int with_streams)
{
    if (w->inbox.n || w->inbox.rescan)
        return 0;
    double t = 60, now = cdi_monotonic();
    double wake = cdi_inbox_wake(&w->inbox, now);
    if (w->inbox.n)
        return 0;
    if (wake >= 0 && wake < t)
        t = wake;
    feed_state *f;
    double in = cdi_watch_next_feed(w, &f);
    if (in >= 0 && in < t)
        t = in;
    in = cdi_spool_next_due(w->spool);
    if (in >= 0 && in < t)
        t = in;
    in = cdi_archive_sync_due(w->archive, (double)time(NULL));
    if (in >= 0 && in < t)
        t = in;
    in = cdi_watch_next_held(w);
    if (in >= 0 && in < t)
        t = in;
    in = with_streams ? cdi_watch_next_stream(w) : -1;
    if (in >= 0 && in < t)
        t = in;
    if (w->reload_due > 0 && w->reload_due - now < t)
        t = w->reload_due - now;
    if (w->status_dirty && w->status_at + STATUS_EVERY - now < t)
        t = w->status_at + STATUS_EVERY - now;
    return t <= 0 ? 0 : (int)(t * 1000) + 1;
}

/* Nothing to do right now (for --once): inbox empty, feeds polled once,
 * spool drained or waiting on a failing destination. */
static int idle(watch *w)
{
    if (w->inbox.n || w->inbox.nlater || w->inbox.rescan || w->reload_due > 0)
        return 0;
    for (size_t i = 0; i < w->nfeeds; i++)
        if (!w->feeds[i].polls)
            return 0;
    if (cdi_watch_next_held(w) == 0)
        return 0;
    if (!cdi_watch_streams_idle(w))
        return 0;
    double due = cdi_spool_next_due(w->spool);
    return due < 0 || due > 0;
}

static void turn(watch *w)
{
    read_events(w);
    cdi_watch_read_signals(w);
    if (w->stopping)
        return;
    if (w->reload_due > 0 && cdi_monotonic() >= w->reload_due)
        cdi_watch_reload(w);
    if (w->inbox.rescan && w->o->inbox)
        scan_inbox(w);
    cdi_inbox_wake(&w->inbox, cdi_monotonic());
    int moved_in;
    char *name = cdi_inbox_take_moved(&w->inbox, &moved_in);
    if (name) {
        cdi_watch_route_file(w, name, moved_in);
        free(name);
    }
    feed_state *f;
    if (!w->stopping && cdi_watch_next_feed(w, &f) == 0)
        cdi_watch_poll_feed(w, f);
    if (!w->stopping && w->nstreams) {
        /* a stream read found nothing last time: it may wait in Redis for
         * new entries while nothing else is due (250 ms at most, so that
         * inbox files and signals are seen soon) */
        int ms = w->o->once ? 0 : sleep_ms(w, 0);
        cdi_watch_poll_streams(w, ms > 250 ? 250 : ms);
    }
    if (!w->stopping)
        cdi_watch_release_held(w);
    if (!w->stopping)
        cdi_spool_drain(w->spool, DRAIN_BUDGET, spool_event, w);
    cdi_archive_tick(w->archive, (double)time(NULL));
    if (w->status_dirty && cdi_monotonic() - w->status_at >= STATUS_EVERY)
        cdi_watch_write_status(w, 1);
}

cd_status cdi_watch_run(const cd_watch_opts *o, cd_error *err)
{
    watch w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.log = o->log ? o->log : stderr;
    w.ino = w.sigfd = w.lockfd = w.claim_lockfd = -1;
    w.started = time(NULL);
    cd_status st = setup(&w, err);
    if (st != CD_OK) {
        teardown(&w);
        return st;
    }
    logline l;
    cdi_log_begin(&l, &w, "start");
    cdi_log_str(&l, "config", o->config);
    cdi_log_str(&l, "inbox", o->inbox);
    cdi_log_str(&l, "state", o->state);
    cdi_log_num(&l, "files", (double)w.inbox.n);
    cdi_log_num(&l, "spooled", (double)cdi_spool_depth(w.spool));
    cdi_log_num(&l, "held", (double)cdi_held_count(w.held));
    cdi_log_num(&l, "feeds", (double)w.nfeeds);
    if (w.nstreams) {
        cdi_log_num(&l, "streams", (double)w.nstreams);
        cdi_log_str(&l, "consumer", w.consumer);
    }
    cdi_log_end(&l);
    cdi_watch_write_status(&w, 1);
    while (!w.stopping) {
        turn(&w);
        if (w.stopping || (o->once && idle(&w)))
            break;
        struct pollfd p[2] = { { w.ino, POLLIN, 0 }, { w.sigfd, POLLIN, 0 } };
        poll(p, 2, sleep_ms(&w, 1));
    }
    cdi_watch_stop_streams(&w);
    cdi_log_begin(&l, &w, "stop");
    cdi_log_num(&l, "stories", (double)w.stories);
    cdi_log_num(&l, "spooled", (double)cdi_spool_depth(w.spool));
    cdi_log_end(&l);
    cdi_watch_write_status(&w, 0);
    teardown(&w);
    return CD_OK;
}
