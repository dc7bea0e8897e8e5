/*
 * watch_feeds.c - the feeds a desk declares, in copydesk watch: each is
 * polled when due with a conditional request (the validators of the last
 * answer are kept in the state folder); the items it has not seen before
 * are routed, and remembered as seen once the spool is synced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "live/watch_internal.h"

static void free_feed(feed_state *f)
{
    free(f->name);
    free(f->url);
    free(f->format);
    free(f->last_error);
    cdi_seen_free(f->seen);
}

void cdi_watch_free_feeds(watch *w)
{
    for (size_t i = 0; i < w->nfeeds; i++)
        free_feed(&w->feeds[i]);
    free(w->feeds);
    w->feeds = NULL;
    w->nfeeds = 0;
}

/* The feeds of the new desk: those already polled keep their state. */
void cdi_watch_install_feeds(watch *w, cd_desk *desk)
{
    size_t n = cdi_desk_feeds(desk);
    feed_state *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        cd_desk_feed df;
        cdi_desk_feed_get(desk, i, &df);
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
            cdi_safe_filename(df.name, safe, sizeof safe);
            snprintf(path, sizeof path, "feeds/%s.seen", safe);
            char *full = cdi_path_join(w->o->state, path);
            cd_error e;
            if (!full || cdi_seen_open(full, 0, &f->seen, &e) != CD_OK)
                cdi_watch_note_error(w, "error", df.name, full ? e.msg : "out of memory");
            free(full);
            /* the validators of the last answer, when it was this URL */
            snprintf(path, sizeof path, "feeds/%s.http", safe);
            full = cdi_path_join(w->o->state, path);
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
        cdi_watch_set_str(&f->format, df.format);
        f->every = df.every_s;
        f->timeout = df.timeout_s;
    }
    for (size_t j = 0; j < w->nfeeds; j++)
        free_feed(&w->feeds[j]);
    free(w->feeds);
    w->feeds = v;
    w->nfeeds = n;
}

/* ---- the new items of one poll ----------------------------------------------------- */

static int batch_item(void *ud, const cd_feed_item *item)
{
    cd_feed_batch *b = ud;
    if (!b->f->seen) {
        b->incomplete = 1;
        return 0;
    }
    if (cdi_seen_served(b->f->seen, item->id))
        return 0;
    if (!cdi_seen_room(b->f->seen, b->nids + 1)) {
        /* an item that could not be remembered would come again at every
         * poll: skipped, and said */
        if (!b->full_reported) {
            char msg[200];
            snprintf(msg, sizeof msg, "the feed serves more items than can be remembered "
                     "(%zu): the new ones beyond are skipped", cdi_seen_count(b->f->seen));
            b->error(b->ud, b->f->name, msg);
            b->full_reported = 1;
        }
        b->incomplete = 1;
        return 0;
    }
    if (b->nids == b->cap) {    /* geometric: a feed may serve 10^6 new items */
        size_t cap = b->cap ? 2 * b->cap : 64;
        char **v = realloc(b->ids, cap * sizeof *v);
        if (!v) {
            b->incomplete = 1;
            return 1;
        }
        b->ids = v;
        b->cap = cap;
    }
    cd_story s;
    cd_error e;
    char source[300];
    snprintf(source, sizeof source, "feed:%s", b->f->name);
    if (cdi_feed_item_story(item, b->f->name, source, &s, &e) != CD_OK) {
        b->error(b->ud, b->f->name, e.msg);   /* once: remembered as seen */
        if ((b->ids[b->nids] = strdup(item->id)))
            b->nids++;
        return 0;
    }
    if (b->route(b->ud, &s, source) == 0 && (b->ids[b->nids] = strdup(item->id)))
        b->nids++;
    b->fresh++;
    cd_story_clear(&s);
    if (b->stop(b->ud)) {
        b->incomplete = 1;
        return 1;
    }
    return 0;
}

cd_status cdi_feed_batch_parse(cd_feed_batch *b, const char *doc, size_t len,
                               size_t *nitems, cd_error *err)
{
    cd_feed_opts o = { .format = b->f->format, .url = b->url, .content_type = b->content_type };
    if (b->f->seen)
        cdi_seen_poll_begin(b->f->seen);
    b->parsed = 1;
    cd_status st = cdi_feed_parse(doc, len, &o, batch_item, b, nitems, &b->warn, err);
    if (st != CD_OK)
        b->incomplete = 1;
    return st;
}

void cdi_feed_batch_finish(cd_feed_batch *b, int remember)
{
    int all = remember;
    for (size_t i = 0; i < b->nids; i++) {
        cd_error e;
        if (remember && cdi_seen_add(b->f->seen, b->ids[i], &e) != CD_OK) {
            b->error(b->ud, b->f->name, e.msg);
            all = 0;
        }
        free(b->ids[i]);
    }
    /* every item served was marked: those not served may be forgotten */
    cd_error e;
    if (all && b->parsed && !b->incomplete && b->f->seen && cdi_seen_poll_end(b->f->seen, &e) != CD_OK)
        b->error(b->ud, b->f->name, e.msg);
    free(b->ids);
    b->f->items += b->nids;
    b->ids = NULL;
    b->nids = b->cap = 0;
}

/* ---- polling ----------------------------------------------------------------------- */

static int route_item(void *ud, const cd_story *s, const char *source)
{
    char why[1100];
    return cdi_watch_route_story(ud, s, source, why, sizeof why);
}

static void item_error(void *ud, const char *feed, const char *msg)
{
    cdi_watch_note_error(ud, "error", feed, msg);
}

static int stop_asked(void *ud)
{
    watch *w = ud;
    cdi_watch_read_signals(w);
    return w->stopping;
}

static void save_validators(watch *w, feed_state *f)
{
    char safe[160], name[200];
    cdi_safe_filename(f->name, safe, sizeof safe);
    snprintf(name, sizeof name, "%s.http", safe);
    char *dir = cdi_path_join(w->o->state, "feeds");
    cd_buf b = { 0 };
    cdi_buf_printf(&b, "%s\n%s\n%s", f->url, f->http.etag, f->http.last_modified);
    cd_error e;
    if (dir && !b.failed)
        cdi_folder_write(dir, name, b.data, b.len, &e);
    cdi_buf_free(&b);
    free(dir);
}

void cdi_watch_poll_feed(watch *w, feed_state *f)
{
    f->due = cdi_monotonic() + f->every;
    f->polls++;
    f->last_poll = time(NULL);
    w->status_dirty = 1;
    char *body;
    size_t len;
    int not_modified;
    cd_error e;
    cd_feed_http v = f->http;
    cd_fetch_meta meta;
    if (cdi_feed_fetch(f->url, f->timeout, FEED_MAX_BYTES, &v, &body, &len, &not_modified,
                       &meta, &e) != CD_OK) {
        cdi_watch_set_str(&f->last_error, e.msg);
        cdi_watch_note_error(w, "feed-error", f->name, e.msg);
        return;
    }
    cd_feed_batch fr = { .f = f, .route = route_item, .error = item_error,
                         .stop = stop_asked, .ud = w };
    if (!not_modified) {   /* the charset and the base of links of this answer */
        fr.url = meta.url[0] ? meta.url : f->url;
        fr.content_type = meta.content_type[0] ? meta.content_type : NULL;
    }
    size_t nitems = 0;
    cd_status st = CD_OK;
    if (!not_modified)
        st = cdi_feed_batch_parse(&fr, body, len, &nitems, &e);
    free(body);
    if (fr.warn.code != CD_OK) {   /* read after repairs: said once per poll */
        logline wl;
        cdi_log_begin(&wl, w, "feed-warning");
        cdi_log_str(&wl, "what", f->name);
        cdi_log_str(&wl, "warning", fr.warn.msg);
        cdi_log_end(&wl);
    }
    if (st != CD_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", f->url, e.msg);
        cdi_watch_set_str(&f->last_error, msg);
        cdi_watch_note_error(w, "feed-error", f->name, msg);
    } else {
        cdi_watch_set_str(&f->last_error, NULL);
    }
    cd_error se;
    int synced = cdi_watch_sync(w, &se) == CD_OK;
    if (!synced)
        cdi_watch_note_error(w, "error", "spool", se.msg);
    cdi_feed_batch_finish(&fr, synced);
    if (st == CD_OK && synced && !w->stopping && !not_modified) {
        f->http = v;   /* next time, only what changed since this answer */
        save_validators(w, f);
    }
    logline l;
    cdi_log_begin(&l, w, "feed");
    cdi_log_str(&l, "name", f->name);
    cdi_log_str(&l, "result", not_modified ? "not-modified" : st == CD_OK ? "ok" : "error");
    cdi_log_num(&l, "items", (double)nitems);
    cdi_log_num(&l, "new", (double)fr.fresh);
    cdi_log_end(&l);
}

/* The feed due first, and in how many seconds (-1: no feed). */
double cdi_watch_next_feed(watch *w, feed_state **which)
{
    double now = cdi_monotonic(), best = -1;
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
