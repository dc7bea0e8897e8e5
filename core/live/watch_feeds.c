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
    cd_seen_free(f->seen);
}

void cd_watch_free_feeds(watch *w)
{
    for (size_t i = 0; i < w->nfeeds; i++)
        free_feed(&w->feeds[i]);
    free(w->feeds);
    w->feeds = NULL;
    w->nfeeds = 0;
}

/* The feeds of the new desk: those already polled keep their state. */
void cd_watch_install_feeds(watch *w, cd_desk *desk)
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
                cd_watch_note_error(w, "error", df.name, full ? e.msg : "out of memory");
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
        cd_watch_set_str(&f->format, df.format);
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
    if (!b->f->seen || cd_seen_has(b->f->seen, item->id))
        return 0;
    char **v = realloc(b->ids, (b->nids + 1) * sizeof *v);
    if (!v)
        return 1;
    b->ids = v;
    cd_story s;
    cd_error e;
    char source[300];
    snprintf(source, sizeof source, "feed:%s", b->f->name);
    if (cd_feed_item_story(item, b->f->name, source, &s, &e) != CD_OK) {
        b->error(b->ud, b->f->name, e.msg);   /* once: remembered as seen */
        if ((b->ids[b->nids] = strdup(item->id)))
            b->nids++;
        return 0;
    }
    if (b->route(b->ud, &s, source) == 0 && (b->ids[b->nids] = strdup(item->id)))
        b->nids++;
    b->fresh++;
    cd_story_clear(&s);
    return b->stop(b->ud);
}

cd_status cd_feed_batch_parse(cd_feed_batch *b, const char *doc, size_t len,
                              size_t *nitems, cd_error *err)
{
    return cd_feed_parse(doc, len, b->f->format, batch_item, b, nitems, err);
}

void cd_feed_batch_finish(cd_feed_batch *b, int remember)
{
    for (size_t i = 0; i < b->nids; i++) {
        cd_error e;
        if (remember && cd_seen_add(b->f->seen, b->ids[i], &e) != CD_OK)
            b->error(b->ud, b->f->name, e.msg);
        free(b->ids[i]);
    }
    free(b->ids);
    b->f->items += b->nids;
    b->ids = NULL;
    b->nids = 0;
}

/* ---- polling ----------------------------------------------------------------------- */

static int route_item(void *ud, const cd_story *s, const char *source)
{
    char why[1100];
    return cd_watch_route_story(ud, s, source, why, sizeof why);
}

static void item_error(void *ud, const char *feed, const char *msg)
{
    cd_watch_note_error(ud, "error", feed, msg);
}

static int stop_asked(void *ud)
{
    watch *w = ud;
    cd_watch_read_signals(w);
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

void cd_watch_poll_feed(watch *w, feed_state *f)
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
    if (cd_feed_fetch(f->url, f->timeout, FEED_MAX_BYTES, &v, &body, &len, &not_modified,
                      &e) != CD_OK) {
        cd_watch_set_str(&f->last_error, e.msg);
        cd_watch_note_error(w, "feed-error", f->name, e.msg);
        return;
    }
    cd_feed_batch fr = { .f = f, .route = route_item, .error = item_error,
                         .stop = stop_asked, .ud = w };
    size_t nitems = 0;
    cd_status st = CD_OK;
    if (!not_modified)
        st = cd_feed_batch_parse(&fr, body, len, &nitems, &e);
    free(body);
    if (st != CD_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", f->url, e.msg);
        cd_watch_set_str(&f->last_error, msg);
        cd_watch_note_error(w, "feed-error", f->name, msg);
    } else {
        cd_watch_set_str(&f->last_error, NULL);
    }
    cd_error se;
    int synced = cd_spool_sync(w->spool, &se) == CD_OK;
    if (!synced)
        cd_watch_note_error(w, "error", "spool", se.msg);
    cd_feed_batch_finish(&fr, synced);
    if (st == CD_OK && synced && !w->stopping && !not_modified) {
        f->http = v;   /* next time, only what changed since this answer */
        save_validators(w, f);
    }
    logline l;
    cd_log_begin(&l, w, "feed");
    cd_log_str(&l, "name", f->name);
    cd_log_str(&l, "result", not_modified ? "not-modified" : st == CD_OK ? "ok" : "error");
    cd_log_num(&l, "items", (double)nitems);
    cd_log_num(&l, "new", (double)fr.fresh);
    cd_log_end(&l);
}

/* The feed due first, and in how many seconds (-1: no feed). */
double cd_watch_next_feed(watch *w, feed_state **which)
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
