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
 * The order that makes delivery lossless: route a story (url deliveries
 * become spool files, written and fsynced), fsync the spool folders, and
 * only then move the inbox file out (or remember a feed item as seen).  A
 * kill before the move means the file is routed again after a restart:
 * duplicates with the same story id, never a loss.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "deliver/deliver.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/json.h"
#include "deliver/deliver_spool.h"
#include "live/feed.h"
#include "live/seen.h"
#include "live/watch.h"

#define RELOAD_QUIET 0.2      /* seconds without changes before reloading */
#define STATUS_EVERY 0.5      /* at most this often, rewrite status.json */
#define DRAIN_BUDGET 0.5      /* seconds of spool posting per turn */
#define FEED_MAX_BYTES ((size_t)32 << 20)

typedef struct dir_watch {
    int wd;
    char *path;
    int kind;                 /* W_INBOX, W_CONFIG (any *.lua), W_MODEL (named files) */
} dir_watch;

enum { W_INBOX = 1, W_CONFIG = 2, W_MODEL = 4 };

typedef struct feed_state {
    char *name, *url, *format;
    double every, timeout, due;
    cd_feed_http http;
    cd_seen *seen;
    uint64_t items, polls;
    char *last_error;
    time_t last_poll;
} feed_state;

typedef struct dest_count {
    char *name;
    uint64_t stories;
} dest_count;

typedef struct watch {
    const cd_watch_opts *o;
    FILE *log;
    cd_desk *desk;
    cd_spool *spool;
    int ino, sigfd, lockfd;
    dir_watch *dirs;
    size_t ndirs;
    char **models;            /* model files of the running desk */
    size_t nmodels;
    char **pending;           /* inbox file names to route, in order */
    size_t npending, cpending;
    int rescan;               /* the event queue overflowed: list the inbox again */
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

/* ---- small helpers -------------------------------------------------------------- */

static void set_str(char **dst, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c)
        return;
    free(*dst);
    *dst = c;
}

static void iso_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void now_iso(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* ---- the log ------------------------------------------------------------------------ */

/* A log line is built from key/value pairs: "time event k=v ..." for people
 * (values quoted when they hold spaces or quotes) or one JSON object. */
typedef struct logline {
    watch *w;
    cd_buf b;
} logline;

static void log_begin(logline *l, watch *w, const char *event)
{
    char ts[40];
    now_iso(ts, sizeof ts);
    memset(l, 0, sizeof *l);
    l->w = w;
    if (w->o->json_log) {
        cd_buf_printf(&l->b, "{\"time\":\"%s\",\"event\":", ts);
        cd_buf_json_string(&l->b, event, strlen(event));
    } else {
        cd_buf_printf(&l->b, "%s %s", ts, event);
    }
}

static int needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            return 1;
    return 0;
}

static void log_str(logline *l, const char *key, const char *v)
{
    if (!v)
        v = l->w->o->json_log ? NULL : "-";
    if (l->w->o->json_log) {
        cd_buf_printf(&l->b, ",\"%s\":", key);
        if (v)
            cd_buf_json_string(&l->b, v, strlen(v));
        else
            cd_buf_puts(&l->b, "null");
        return;
    }
    cd_buf_printf(&l->b, " %s=", key);
    if (!needs_quotes(v)) {
        cd_buf_puts(&l->b, v);
        return;
    }
    cd_buf_puts(&l->b, "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            cd_buf_printf(&l->b, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            cd_buf_puts(&l->b, " ");
        else
            cd_buf_put(&l->b, p, 1);
    }
    cd_buf_puts(&l->b, "\"");
}

static void log_num(logline *l, const char *key, double v)
{
    if (l->w->o->json_log)
        cd_buf_printf(&l->b, ",\"%s\":%.10g", key, v);
    else
        cd_buf_printf(&l->b, " %s=%.10g", key, v);
}

static void log_list(logline *l, const char *key, const char *const *v, size_t n)
{
    if (l->w->o->json_log) {
        cd_buf_printf(&l->b, ",\"%s\":[", key);
        for (size_t i = 0; i < n; i++) {
            cd_buf_puts(&l->b, i ? "," : "");
            cd_buf_json_string(&l->b, v[i], strlen(v[i]));
        }
        cd_buf_puts(&l->b, "]");
        return;
    }
    cd_buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        cd_buf_puts(&b, i ? "," : "");
        cd_buf_puts(&b, v[i]);
    }
    log_str(l, key, b.data ? b.data : "");
    cd_buf_free(&b);
}

static void log_end(logline *l)
{
    cd_buf_puts(&l->b, l->w->o->json_log ? "}\n" : "\n");
    if (!l->b.failed) {
        fwrite(l->b.data, 1, l->b.len, l->w->log);
        fflush(l->w->log);
    }
    cd_buf_free(&l->b);
}

/* An error for the log and the status. */
static void note_error(watch *w, const char *event, const char *what, const char *msg)
{
    w->errors++;
    set_str(&w->last_error, msg);
    w->status_dirty = 1;
    logline l;
    log_begin(&l, w, event);
    if (what)
        log_str(&l, "what", what);
    log_str(&l, "error", msg);
    log_end(&l);
}

/* ---- status ------------------------------------------------------------------------ */

static void count_dest(watch *w, const char *name)
{
    for (size_t i = 0; i < w->ndests; i++)
        if (!strcmp(w->dests[i].name, name)) {
            w->dests[i].stories++;
            return;
        }
    dest_count *v = realloc(w->dests, (w->ndests + 1) * sizeof *v);
    char *n = strdup(name);
    if (!v || !n) {
        free(n);
        if (v)
            w->dests = v;
        return;
    }
    w->dests = v;
    w->dests[w->ndests].name = n;
    w->dests[w->ndests].stories = 1;
    w->ndests++;
}

static cJSON *status_json(watch *w, int running)
{
    char ts[40];
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "pid", (double)getpid());
    cJSON_AddBoolToObject(s, "running", running);
    cJSON_AddStringToObject(s, "config", w->o->config);
    if (w->o->inbox)
        cJSON_AddStringToObject(s, "inbox", w->o->inbox);
    iso_time(w->started, ts, sizeof ts);
    cJSON_AddStringToObject(s, "started", ts);
    iso_time(time(NULL), ts, sizeof ts);
    cJSON_AddStringToObject(s, "updated", ts);
    cJSON_AddNumberToObject(s, "stories", (double)w->stories);
    cJSON_AddNumberToObject(s, "files_done", (double)w->files_done);
    cJSON_AddNumberToObject(s, "files_failed", (double)w->files_failed);
    cJSON_AddNumberToObject(s, "files_waiting", (double)w->npending);
    cJSON *d = cJSON_AddObjectToObject(s, "destinations");
    for (size_t i = 0; i < w->ndests; i++)
        cJSON_AddNumberToObject(d, w->dests[i].name, (double)w->dests[i].stories);
    cJSON *sp = cJSON_AddObjectToObject(s, "spool");
    cJSON_AddNumberToObject(sp, "depth", (double)cd_spool_depth(w->spool));
    cJSON *qs = cJSON_AddArrayToObject(sp, "queues");
    for (size_t i = 0; i < cd_spool_queues(w->spool); i++) {
        cd_spool_queue_info qi;
        cd_spool_queue_get(w->spool, i, &qi);
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "destination", qi.name);
        if (qi.url)
            cJSON_AddStringToObject(q, "url", qi.url);
        cJSON_AddNumberToObject(q, "depth", (double)qi.depth);
        cJSON_AddNumberToObject(q, "sent", (double)qi.sent);
        cJSON_AddNumberToObject(q, "refused", (double)qi.refused);
        cJSON_AddNumberToObject(q, "failures", (double)qi.failures);
        if (qi.last_error)
            cJSON_AddStringToObject(q, "last_error", qi.last_error);
        cJSON_AddNumberToObject(q, "retry_in", qi.retry_in);
        cJSON_AddItemToArray(qs, q);
    }
    cJSON *r = cJSON_AddObjectToObject(s, "reload");
    cJSON_AddNumberToObject(r, "count", (double)w->reloads);
    if (w->reload_at) {
        iso_time(w->reload_at, ts, sizeof ts);
        cJSON_AddStringToObject(r, "at", ts);
        cJSON_AddBoolToObject(r, "ok", w->reload_ok);
        cJSON_AddStringToObject(r, "message", w->reload_msg ? w->reload_msg : "");
    }
    cJSON *fs = cJSON_AddArrayToObject(s, "feeds");
    for (size_t i = 0; i < w->nfeeds; i++) {
        feed_state *f = &w->feeds[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", f->name);
        cJSON_AddStringToObject(o, "url", f->url);
        cJSON_AddNumberToObject(o, "polls", (double)f->polls);
        cJSON_AddNumberToObject(o, "items", (double)f->items);
        if (f->last_poll) {
            iso_time(f->last_poll, ts, sizeof ts);
            cJSON_AddStringToObject(o, "last_poll", ts);
        }
        if (f->last_error)
            cJSON_AddStringToObject(o, "last_error", f->last_error);
        cJSON_AddItemToArray(fs, o);
    }
    cJSON_AddNumberToObject(s, "errors", (double)w->errors);
    if (w->last_error)
        cJSON_AddStringToObject(s, "last_error", w->last_error);
    return s;
}

static void write_status(watch *w, int running)
{
    cJSON *s = status_json(w, running);
    char *text = s ? cJSON_Print(s) : NULL;
    cJSON_Delete(s);
    cd_error e;
    if (!text || cd_folder_write(w->o->state, "status.json", text, strlen(text), &e) != CD_OK)
        fprintf(w->log, "copydesk: watch: cannot write the status file: %s\n",
                text ? e.msg : "out of memory");
    cJSON_free(text);
    w->status_dirty = 0;
    w->status_at = cd_monotonic();
}

/* ---- inotify --------------------------------------------------------------------- */

static int add_watch(watch *w, const char *path, int kind, uint32_t mask)
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

static const uint32_t FILE_EVENTS = IN_CLOSE_WRITE | IN_MOVED_TO;

/* Folders whose *.lua files are the configuration: its own folder, the
 * scripts folder, and their first-level subfolders (require "lib.x"). */
static void watch_config_dir(watch *w, const char *dir)
{
    if (!dir || add_watch(w, dir, W_CONFIG, FILE_EVENTS) != 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "done") || !strcmp(e->d_name, "failed"))
            continue;
        char *p = cd_path_join(dir, e->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) &&
            (!w->o->inbox || strcmp(p, w->o->inbox) != 0))
            add_watch(w, p, W_CONFIG, FILE_EVENTS);
        free(p);
    }
    if (d)
        closedir(d);
}

static void free_models(watch *w)
{
    for (size_t i = 0; i < w->nmodels; i++)
        free(w->models[i]);
    free(w->models);
    w->models = NULL;
    w->nmodels = 0;
}

/* Watch the folders of the running desk's model files. */
static void watch_models(watch *w)
{
    free_models(w);
    size_t n = cd_desk_models(w->desk);
    w->models = calloc(n ? n : 1, sizeof *w->models);
    if (!w->models)
        return;
    for (size_t i = 0; i < n; i++) {
        char *path = cd_desk_model_file(w->desk, i);
        char *real = path ? realpath(path, NULL) : NULL;
        w->models[w->nmodels++] = real ? real : path;
        if (real)
            free(path);
        char *copy = w->models[w->nmodels - 1] ? strdup(w->models[w->nmodels - 1]) : NULL;
        char *slash = copy ? strrchr(copy, '/') : NULL;
        if (slash) {
            *slash = '\0';
            add_watch(w, *copy ? copy : "/", W_MODEL, FILE_EVENTS);
        }
        free(copy);
    }
}

static int is_lua(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".lua") && name[0] != '.';
}

static int is_model(watch *w, const char *dir, const char *name)
{
    char *p = cd_path_join(dir, name);
    char *real = p ? realpath(p, NULL) : NULL;
    int yes = 0;
    for (size_t i = 0; i < w->nmodels && !yes; i++)
        yes = w->models[i] && ((real && !strcmp(real, w->models[i])) ||
                               (p && !strcmp(p, w->models[i])));
    free(p);
    free(real);
    return yes;
}

static void queue_file(watch *w, const char *name)
{
    if (name[0] == '.')
        return;   /* hidden: a writer's temporary file */
    for (size_t i = 0; i < w->npending; i++)
        if (!strcmp(w->pending[i], name))
            return;
    if (w->npending == w->cpending) {
        size_t cap = w->cpending ? w->cpending * 2 : 64;
        char **v = realloc(w->pending, cap * sizeof *v);
        if (!v) {
            w->rescan = 1;
            return;
        }
        w->pending = v;
        w->cpending = cap;
    }
    char *n = strdup(name);
    if (!n) {
        w->rescan = 1;
        return;
    }
    w->pending[w->npending++] = n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queue every regular file of the inbox, in name order. */
static void scan_inbox(watch *w)
{
    w->rescan = 0;
    DIR *d = opendir(w->o->inbox);
    if (!d) {
        note_error(w, "error", w->o->inbox, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = cd_path_join(w->o->inbox, e->d_name);
        struct stat sb;
        int reg = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
        free(p);
        if (!reg)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(names, cap * sizeof *v);
            if (!v)
                break;
            names = v;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        queue_file(w, names[i]);
        free(names[i]);
    }
    free(names);
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
                w->rescan = 1;
                w->reload_due = cd_monotonic() + RELOAD_QUIET;
                continue;
            }
            if (!ev->len)
                continue;
            for (size_t i = 0; i < w->ndirs; i++) {
                dir_watch *dw = &w->dirs[i];
                if (dw->wd != ev->wd)
                    continue;
                if ((dw->kind & W_INBOX) && w->o->inbox && !strcmp(dw->path, w->o->inbox))
                    queue_file(w, ev->name);
                if (((dw->kind & W_CONFIG) && is_lua(ev->name)) ||
                    ((dw->kind & W_MODEL) && is_model(w, dw->path, ev->name)))
                    w->reload_due = cd_monotonic() + RELOAD_QUIET;
            }
        }
    }
}

/* ---- signals ------------------------------------------------------------------------ */

static void read_signals(watch *w)
{
    struct signalfd_siginfo si;
    while (read(w->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            w->reload_due = cd_monotonic();
        } else if (!w->stopping) {
            w->stopping = 1;
            logline l;
            log_begin(&l, w, "stopping");
            log_str(&l, "signal", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            log_end(&l);
        }
    }
}

/* ---- the desk: install, reload ------------------------------------------------------ */

static cd_status handoff(void *ud, size_t dest, const char *id, const char *json, size_t len,
                         cd_error *err)
{
    watch *w = ud;
    return cd_spool_add(w->spool, cd_desk_destination_name(w->desk, dest), id, json, len, err);
}

static void free_feed(feed_state *f)
{
    free(f->name);
    free(f->url);
    free(f->format);
    free(f->last_error);
    cd_seen_free(f->seen);
}

/* The feeds of the new desk: those already polled keep their state. */
static void install_feeds(watch *w, cd_desk *desk)
{
    size_t n = cd_desk_feeds(desk);
    feed_state *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        cd_desk_feed df;
        cd_desk_feed_get(desk, i, &df);
        feed_state *f = &v[i];
        for (size_t j = 0; j < w->nfeeds; j++)
            if (w->feeds[j].name && !strcmp(w->feeds[j].name, df.name) &&
                !strcmp(w->feeds[j].url, df.url)) {
                *f = w->feeds[j];
                memset(&w->feeds[j], 0, sizeof w->feeds[j]);
                break;
            }
        if (!f->name) {
            f->name = strdup(df.name);
            f->url = strdup(df.url);
            char safe[160], path[200];
            cd_safe_filename(df.name, safe, sizeof safe);
            snprintf(path, sizeof path, "feeds/%s.seen", safe);
            char *full = cd_path_join(w->o->state, path);
            cd_error e;
            if (!full || cd_seen_open(full, 0, &f->seen, &e) != CD_OK)
                note_error(w, "error", df.name, full ? e.msg : "out of memory");
            free(full);
            /* the validators of the last answer, when it was this URL */
            snprintf(path, sizeof path, "feeds/%s.http", safe);
            full = cd_path_join(w->o->state, path);
            FILE *hf = full ? fopen(full, "r") : NULL;
            char url[4096] = "";
            if (hf && fgets(url, sizeof url, hf) && (url[strcspn(url, "\n")] = '\0', 1) &&
                !strcmp(url, df.url) && fgets(f->http.etag, sizeof f->http.etag, hf) &&
                fgets(f->http.last_modified, sizeof f->http.last_modified, hf)) {
                f->http.etag[strcspn(f->http.etag, "\n")] = '\0';
                f->http.last_modified[strcspn(f->http.last_modified, "\n")] = '\0';
            } else {
                memset(&f->http, 0, sizeof f->http);
            }
            if (hf)
                fclose(hf);
            free(full);
        }
        set_str(&f->format, df.format);
        f->every = df.every_s;
        f->timeout = df.timeout_s;
    }
    for (size_t j = 0; j < w->nfeeds; j++)
        free_feed(&w->feeds[j]);
    free(w->feeds);
    w->feeds = v;
    w->nfeeds = n;
}

/* Make desk the running one: its url destinations post through the spool. */
static cd_status install(watch *w, cd_desk *desk, cd_error *err)
{
    for (size_t i = 0; i < cd_desk_destinations(desk); i++) {
        cd_desk_url u;
        if (!cd_desk_destination_url(desk, i, &u))
            continue;
        cd_dest_opts o;
        cd_dest_opts_default(&o);
        o.kind = CD_DEST_URL;
        o.target = u.url;
        o.timeout_s = u.timeout_s;
        o.connect_timeout_s = u.connect_timeout_s;
        o.backoff_s = u.backoff_s;
        cd_status st = cd_spool_set_dest(w->spool, cd_desk_destination_name(desk, i), &o,
                                         u.dead_letter, err);
        if (st != CD_OK)
            return st;
    }
    cd_desk_set_handoff(desk, handoff, w);
    cd_desk_free(w->desk);
    w->desk = desk;
    watch_models(w);
    install_feeds(w, desk);
    return CD_OK;
}

typedef struct problems {
    watch *w;
    size_t n;
} problems;

static void warn_problem(const char *msg, void *ud)
{
    problems *p = ud;
    p->n++;
    logline l;
    log_begin(&l, p->w, "warning");
    log_str(&l, "problem", msg);
    log_end(&l);
}

/* Load the configuration beside the running desk; the new one must load
 * and pass its expect cases.  Returns the new desk or NULL (msg says why). */
static cd_desk *load_checked(watch *w, char *msg, size_t cap)
{
    cd_desk *desk;
    cd_error e;
    if (cd_desk_load(w->o->config, &w->o->desk, &desk, &e) != CD_OK) {
        snprintf(msg, cap, "%s", e.msg);
        return NULL;
    }
    problems p = { w, 0 };
    cd_desk_validate(desk, warn_problem, &p);
    size_t failed = 0, n = cd_desk_expects(desk);
    for (size_t i = 0; i < n; i++) {
        cd_expect_result r;
        if (cd_desk_run_expect(desk, i, &r, &e) != CD_OK) {
            snprintf(msg, cap, "expect case %zu: %s", i + 1, e.msg);
            cd_desk_free(desk);
            return NULL;
        }
        if (!r.passed && failed++ == 0)
            snprintf(msg, cap, "expect case '%s' failed: %s", r.name, r.detail);
    }
    if (failed) {
        size_t len = strlen(msg);
        if (failed > 1)
            snprintf(msg + len, cap - len, " (and %zu more)", failed - 1);
        cd_desk_free(desk);
        return NULL;
    }
    snprintf(msg, cap, "%zu rules, %zu expect cases passed", cd_desk_rules(desk), n);
    return desk;
}

static void reload(watch *w)
{
    w->reload_due = 0;
    char msg[1200];
    cd_desk *desk = load_checked(w, msg, sizeof msg);
    cd_error e;
    if (desk && install(w, desk, &e) != CD_OK) {
        cd_desk_free(desk);
        snprintf(msg, sizeof msg, "%s", e.msg);
        desk = NULL;
    }
    w->reloads++;
    w->reload_at = time(NULL);
    w->reload_ok = desk != NULL;
    set_str(&w->reload_msg, msg);
    w->status_dirty = 1;
    logline l;
    log_begin(&l, w, desk ? "reload" : "reload-failed");
    log_str(&l, "config", w->o->config);
    log_str(&l, desk ? "result" : "error", msg);
    if (!desk)
        log_str(&l, "keeping", "the previous rules");
    log_end(&l);
    if (!desk) {
        w->errors++;
        set_str(&w->last_error, msg);
    }
}

/* ---- routing one story ---------------------------------------------------------------- */

/* Route one story and log it; 0 when it has a safe outcome, -1 when not
 * (why is filled). */
static int route_one(watch *w, const cd_story *s, const char *origin, char *why, size_t cap)
{
    cd_decision dec;
    cd_error e;
    if (cd_desk_route(w->desk, s, 0, &dec, &e) != CD_OK) {
        snprintf(why, cap, "story %s: %s", s->id, e.msg);
        note_error(w, "error", s->id, why);
        return -1;
    }
    w->stories++;
    w->status_dirty = 1;
    for (size_t i = 0; i < dec.nroute; i++)
        count_dest(w, dec.route[i]);
    logline l;
    log_begin(&l, w, "story");
    log_str(&l, "id", s->id);
    log_list(&l, "route", dec.route, dec.nroute);
    log_str(&l, "rule", dec.rule);
    log_str(&l, "outcome", cd_outcome_name(dec.outcome));
    log_str(&l, "from", origin);
    if (dec.error)
        log_str(&l, "error", dec.error);
    log_end(&l);
    if (dec.error) {
        w->errors++;
        set_str(&w->last_error, dec.error);
    }
    if (dec.outcome == CD_OUTCOME_FAILED) {
        snprintf(why, cap, "story %s: %s", s->id, dec.error ? dec.error : "delivery failed");
        return -1;
    }
    return 0;
}

/* ---- inbox files ---------------------------------------------------------------------- */

/* Move inbox/name to inbox/sub/name (name.1, name.2, ... when taken). */
static cd_status move_to(watch *w, const char *name, const char *sub, char **moved,
                         cd_error *err)
{
    char *dir = cd_path_join(w->o->inbox, sub);
    char *from = cd_path_join(w->o->inbox, name);
    cd_buf to = { 0 };
    cd_status st = dir && from ? cd_mkdirs(dir, err) : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (int k = 0; st == CD_OK; k++) {
        cd_buf_reset(&to);
        cd_buf_printf(&to, k ? "%s/%s.%d" : "%s/%s", dir, name, k);
        struct stat sb;
        if (to.failed) {
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        } else if (lstat(to.data, &sb) != 0) {
            if (rename(from, to.data) != 0)
                st = cd_error_set(err, CD_ERR_IO, "%s: %s", from, strerror(errno));
            break;
        }
    }
    if (st == CD_OK && moved) {
        *moved = to.data;
        to.data = NULL;
    }
    cd_buf_free(&to);
    free(dir);
    free(from);
    return st;
}

static void file_failed(watch *w, const char *name, const char *why)
{
    char *moved = NULL;
    cd_error e;
    if (move_to(w, name, "failed", &moved, &e) != CD_OK) {
        note_error(w, "error", name, e.msg);
        return;
    }
    cd_buf ef = { 0 };
    cd_buf_printf(&ef, "%s.error", moved);
    FILE *f = ef.failed ? NULL : fopen(ef.data, "w");
    if (f) {
        fprintf(f, "%s\n", why);
        fclose(f);
    }
    cd_buf_free(&ef);
    free(moved);
    w->files_failed++;
    logline l;
    log_begin(&l, w, "file");
    log_str(&l, "name", name);
    log_str(&l, "result", "failed");
    log_str(&l, "error", why);
    log_end(&l);
}

/* Route the stories of inbox/name, then move it out.  Stops between two
 * stories when a stop was asked for: the file stays, and is routed again
 * (from its start) next time. */
static void route_file(watch *w, const char *name)
{
    char *path = cd_path_join(w->o->inbox, name);
    struct stat sb;
    if (!path || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        free(path);   /* gone (already routed, or removed) or not a file */
        return;
    }
    const char *inputs[] = { path };
    cd_reader *r;
    cd_error e;
    if (cd_reader_open(inputs, 1, NULL, &r, &e) != CD_OK) {
        file_failed(w, name, e.msg);
        free(path);
        return;
    }
    cd_buf why = { 0 };
    size_t nstories = 0, nbad = 0;
    cd_story s;
    int got;
    while ((got = cd_reader_next(r, &s, &e)) != CD_READ_END) {
        if (got == CD_READ_ERROR) {
            cd_buf_printf(&why, "%s%s", why.len ? "\n" : "", e.msg);
            note_error(w, "error", name, e.msg);
            nbad++;
            continue;
        }
        char msg[1100];
        if (route_one(w, &s, s.source ? s.source : path, msg, sizeof msg) != 0) {
            cd_buf_printf(&why, "%s%s", why.len ? "\n" : "", msg);
            nbad++;
        }
        nstories++;
        cd_story_clear(&s);
        read_signals(w);
        if (w->stopping)
            break;
    }
    cd_reader_free(r);
    if (cd_spool_sync(w->spool, &e) != CD_OK) {
        note_error(w, "error", "spool", e.msg);   /* the file stays: routed again later */
    } else if (got != CD_READ_END) {
        /* stopped in the middle: leave the file for the next run */
    } else if (nbad) {
        file_failed(w, name, why.data ? why.data : "failed");
    } else if (move_to(w, name, "done", NULL, &e) != CD_OK) {
        note_error(w, "error", name, e.msg);
    } else {
        w->files_done++;
        logline l;
        log_begin(&l, w, "file");
        log_str(&l, "name", name);
        log_str(&l, "result", "done");
        log_num(&l, "stories", (double)nstories);
        log_end(&l);
    }
    w->status_dirty = 1;
    cd_buf_free(&why);
    free(path);
}

/* ---- feeds ---------------------------------------------------------------------------- */

typedef struct feed_run {
    watch *w;
    feed_state *f;
    char **ids;               /* routed, to remember once the spool is synced */
    size_t nids;
    size_t fresh;
} feed_run;

static int feed_item(void *ud, const cd_feed_item *item)
{
    feed_run *fr = ud;
    watch *w = fr->w;
    if (!fr->f->seen || cd_seen_has(fr->f->seen, item->id))
        return 0;
    char **v = realloc(fr->ids, (fr->nids + 1) * sizeof *v);
    if (!v)
        return 1;
    fr->ids = v;
    cd_story s;
    cd_error e;
    char source[300];
    snprintf(source, sizeof source, "feed:%s", fr->f->name);
    if (cd_feed_item_story(item, fr->f->name, source, &s, &e) != CD_OK) {
        note_error(w, "error", fr->f->name, e.msg);   /* once: remembered as seen */
        if ((fr->ids[fr->nids] = strdup(item->id)))
            fr->nids++;
        return 0;
    }
    char why[1100];
    if (route_one(w, &s, source, why, sizeof why) == 0 && (fr->ids[fr->nids] = strdup(item->id)))
        fr->nids++;
    fr->fresh++;
    cd_story_clear(&s);
    read_signals(w);
    return w->stopping;
}

static void save_validators(watch *w, feed_state *f)
{
    char safe[160], name[200];
    cd_safe_filename(f->name, safe, sizeof safe);
    snprintf(name, sizeof name, "%s.http", safe);
    char *dir = cd_path_join(w->o->state, "feeds");
    cd_buf b = { 0 };
    cd_buf_printf(&b, "%s\n%s\n%s", f->url, f->http.etag, f->http.last_modified);
    cd_error e;
    if (dir && !b.failed)
        cd_folder_write(dir, name, b.data, b.len, &e);
    cd_buf_free(&b);
    free(dir);
}

static void poll_feed(watch *w, feed_state *f)
{
    f->due = cd_monotonic() + f->every;
    f->polls++;
    f->last_poll = time(NULL);
    w->status_dirty = 1;
    char *body;
    size_t len;
    int not_modified;
    cd_error e;
    cd_feed_http v = f->http;
    cd_fetch_meta meta;
    if (cd_feed_fetch(f->url, f->timeout, FEED_MAX_BYTES, &v, &body, &len, &not_modified,
                      &meta, &e) != CD_OK) {
        set_str(&f->last_error, e.msg);
        note_error(w, "feed-error", f->name, e.msg);
        return;
    }
    feed_run fr = { w, f, NULL, 0, 0 };
    size_t nitems = 0;
    cd_status st = CD_OK;
    cd_error warn = { 0 };
    if (!not_modified) {
        cd_feed_opts fo = { .format = f->format, .content_type = meta.content_type,
                            .url = meta.url[0] ? meta.url : f->url };
        st = cd_feed_parse(body, len, &fo, feed_item, &fr, &nitems, &warn, &e);
    }
    free(body);
    if (warn.code != CD_OK) {   /* read after repairs: said once per poll */
        logline wl;
        log_begin(&wl, w, "feed-warning");
        log_str(&wl, "what", f->name);
        log_str(&wl, "warning", warn.msg);
        log_end(&wl);
    }
    if (st != CD_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", f->url, e.msg);
        set_str(&f->last_error, msg);
        note_error(w, "feed-error", f->name, msg);
    } else {
        set_str(&f->last_error, NULL);
    }
    cd_error se;
    int synced = cd_spool_sync(w->spool, &se) == CD_OK;
    if (!synced)
        note_error(w, "error", "spool", se.msg);
    for (size_t i = 0; i < fr.nids; i++) {
        if (synced && cd_seen_add(f->seen, fr.ids[i], &se) != CD_OK)
            note_error(w, "error", f->name, se.msg);
        free(fr.ids[i]);
    }
    free(fr.ids);
    f->items += fr.nids;
    if (st == CD_OK && synced && !w->stopping && !not_modified) {
        f->http = v;   /* next time, only what changed since this answer */
        save_validators(w, f);
    }
    logline l;
    log_begin(&l, w, "feed");
    log_str(&l, "name", f->name);
    log_str(&l, "result", not_modified ? "not-modified" : st == CD_OK ? "ok" : "error");
    log_num(&l, "items", (double)nitems);
    log_num(&l, "new", (double)fr.fresh);
    log_end(&l);
}

/* The feed due first, and in how many seconds (-1: no feed). */
static double next_feed(watch *w, feed_state **which)
{
    double now = cd_monotonic(), best = -1;
    *which = NULL;
    for (size_t i = 0; i < w->nfeeds; i++) {
        double in = w->feeds[i].due > now ? w->feeds[i].due - now : 0;
        if (best < 0 || in < best) {
            best = in;
            *which = &w->feeds[i];
        }
    }
    return best;
}

/* ---- the spool ---------------------------------------------------------------------- */

static void spool_event(void *ud, cd_spool_event ev, const char *dest, const char *id,
                        const char *error, double retry_in)
{
    watch *w = ud;
    w->status_dirty = 1;
    logline l;
    log_begin(&l, w, ev == CD_SPOOL_SENT ? "sent" : ev == CD_SPOOL_RETRY ? "retry" : "refused");
    log_str(&l, "id", id);
    log_str(&l, "destination", dest);
    if (error)
        log_str(&l, "error", error);
    if (ev == CD_SPOOL_RETRY)
        log_num(&l, "retry_in", retry_in);
    if (ev == CD_SPOOL_REFUSED)
        log_str(&l, "kept_in", "dead letter");
    log_end(&l);
    if (ev == CD_SPOOL_REFUSED) {
        w->errors++;
        set_str(&w->last_error, error);
    }
}

/* ---- setup and the loop ----------------------------------------------------------------- */

static cd_status lock_state(watch *w, cd_error *err)
{
    char *path = cd_path_join(w->o->state, "lock");
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
    cd_status st = cd_mkdirs(o->state, err);
    if (st == CD_OK)
        st = lock_state(w, err);
    char *dir = st == CD_OK ? cd_path_join(o->state, "feeds") : NULL;
    if (dir)
        st = cd_mkdirs(dir, err);
    free(dir);
    dir = st == CD_OK ? cd_path_join(o->state, "spool") : NULL;
    if (dir)
        st = cd_spool_open(dir, &w->spool, err);
    free(dir);
    if (st != CD_OK)
        return st;
    if (o->inbox && (st = cd_mkdirs(o->inbox, err)) != CD_OK)
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
    if (o->inbox && add_watch(w, o->inbox, W_INBOX, FILE_EVENTS) != 0)
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
    cd_desk *desk = load_checked(w, msg, sizeof msg);
    if (!desk)
        return cd_error_set(err, CD_ERR_SCRIPT, "%s", msg);
    if ((st = install(w, desk, err)) != CD_OK) {
        cd_desk_free(desk);
        return st;
    }
    if (o->inbox)
        scan_inbox(w);
    return CD_OK;
}

static void teardown(watch *w)
{
    cd_desk_free(w->desk);
    cd_spool_free(w->spool);
    for (size_t i = 0; i < w->ndirs; i++)
        free(w->dirs[i].path);
    free(w->dirs);
    free_models(w);
    for (size_t i = 0; i < w->npending; i++)
        free(w->pending[i]);
    free(w->pending);
    for (size_t i = 0; i < w->nfeeds; i++)
        free_feed(&w->feeds[i]);
    free(w->feeds);
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
}

/* The next inbox file to route, taken from the front of the queue. */
static char *take_pending(watch *w)
{
    if (!w->npending)
        return NULL;
    char *name = w->pending[0];
    memmove(w->pending, w->pending + 1, (w->npending - 1) * sizeof *w->pending);
    w->npending--;
    return name;
}

/* Milliseconds poll may sleep: until the next reload, feed, spool attempt
 * or status write, at most a minute. */
static int sleep_ms(watch *w)
{
    if (w->npending || w->rescan)
        return 0;
    double t = 60, now = cd_monotonic();
    feed_state *f;
    double in = next_feed(w, &f);
    if (in >= 0 && in < t)
        t = in;
    in = cd_spool_next_due(w->spool);
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
    if (w->npending || w->rescan || w->reload_due > 0)
        return 0;
    for (size_t i = 0; i < w->nfeeds; i++)
        if (!w->feeds[i].polls)
            return 0;
    double due = cd_spool_next_due(w->spool);
    return due < 0 || due > 0;
}

static void turn(watch *w)
{
    read_events(w);
    read_signals(w);
    if (w->stopping)
        return;
    if (w->reload_due > 0 && cd_monotonic() >= w->reload_due)
        reload(w);
    if (w->rescan && w->o->inbox)
        scan_inbox(w);
    char *name = take_pending(w);
    if (name) {
        route_file(w, name);
        free(name);
    }
    feed_state *f;
    if (!w->stopping && next_feed(w, &f) == 0)
        poll_feed(w, f);
    if (!w->stopping)
        cd_spool_drain(w->spool, DRAIN_BUDGET, spool_event, w);
    if (w->status_dirty && cd_monotonic() - w->status_at >= STATUS_EVERY)
        write_status(w, 1);
}

int cd_watch_run(const cd_watch_opts *o, cd_error *err)
{
    watch w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.log = o->log ? o->log : stderr;
    w.ino = w.sigfd = w.lockfd = -1;
    w.started = time(NULL);
    if (setup(&w, err) != CD_OK) {
        teardown(&w);
        return 2;
    }
    logline l;
    log_begin(&l, &w, "start");
    log_str(&l, "config", o->config);
    log_str(&l, "inbox", o->inbox);
    log_str(&l, "state", o->state);
    log_num(&l, "files", (double)w.npending);
    log_num(&l, "spooled", (double)cd_spool_depth(w.spool));
    log_num(&l, "feeds", (double)w.nfeeds);
    log_end(&l);
    write_status(&w, 1);
    while (!w.stopping) {
        turn(&w);
        if (w.stopping || (o->once && idle(&w)))
            break;
        struct pollfd p[2] = { { w.ino, POLLIN, 0 }, { w.sigfd, POLLIN, 0 } };
        poll(p, 2, sleep_ms(&w));
    }
    log_begin(&l, &w, "stop");
    log_num(&l, "stories", (double)w.stories);
    log_num(&l, "spooled", (double)cd_spool_depth(w.spool));
    log_end(&l);
    write_status(&w, 0);
    teardown(&w);
    return 0;
}

/* ---- --status ---------------------------------------------------------------------- */

int cd_watch_status(const char *state, FILE *out, cd_error *err)
{
    char *path = cd_path_join(state, "status.json");
    if (!path)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory"), 2;
    char *text;
    size_t len;
    cd_status st = cd_read_file(path, 0, &text, &len, err);
    if (st == CD_ERR_IO)
        cd_error_set(err, CD_ERR_IO, "%s: %s (has copydesk watch run with this state folder?)",
                     path, strerror(errno));
    if (st != CD_OK) {
        free(path);
        return 2;
    }
    cJSON *s = cJSON_ParseWithLength(text, len);
    free(text);
    if (!s) {
        cd_error_set(err, CD_ERR_FORMAT, "%s: not a status file", path);
        free(path);
        return 2;
    }
    free(path);
    /* running: the writer said so, and it still holds the lock */
    cJSON *running = cJSON_GetObjectItemCaseSensitive(s, "running");
    char *lock = cd_path_join(state, "lock");
    int fd = lock ? open(lock, O_RDWR | O_CLOEXEC) : -1;
    int held = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0;
    if (fd >= 0)
        close(fd);
    free(lock);
    if (cJSON_IsTrue(running) && !held)
        cJSON_ReplaceItemInObjectCaseSensitive(s, "running", cJSON_CreateFalse());
    char *printed = cJSON_Print(s);
    cJSON_Delete(s);
    if (!printed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory"), 2;
    fprintf(out, "%s\n", printed);
    cJSON_free(printed);
    return 0;
}
