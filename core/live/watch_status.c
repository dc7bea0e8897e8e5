/*
 * watch_status.c - status.json in the state folder: what the process has
 * done (stories, files, destinations, the spool's queues, the stories held
 * until a time, the last reload, feeds, Redis streams, errors), rewritten atomically as things happen, at most every
 * STATUS_EVERY seconds; and --status, which prints it and says whether the
 * process that wrote it still holds the state folder's lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/fs.h"
#include "desk/isotime.h"
#include "live/watch_internal.h"

static void iso_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cdi_watch_count_dest(watch *w, const char *name)
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
    cJSON_AddNumberToObject(s, "files_waiting", (double)w->inbox.n);
    cJSON *d = cJSON_AddObjectToObject(s, "destinations");
    for (size_t i = 0; i < w->ndests; i++)
        cJSON_AddNumberToObject(d, w->dests[i].name, (double)w->dests[i].stories);
    cJSON *sp = cJSON_AddObjectToObject(s, "spool");
    cJSON_AddNumberToObject(sp, "depth", (double)cdi_spool_depth(w->spool));
    cJSON *qs = cJSON_AddArrayToObject(sp, "queues");
    for (size_t i = 0; i < cdi_spool_queues(w->spool); i++) {
        cd_spool_queue_info qi;
        if (cdi_spool_queue_get(w->spool, i, &qi) != CD_OK)
            continue;
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
        cdi_spool_queue_info_clear(&qi);
    }
    cJSON *held = cJSON_AddArrayToObject(s, "held");
    if (w->held)
        cdi_held_lock(w->held);
    for (size_t i = 0; i < cdi_held_count(w->held); i++) {
        const char *id;
        double until;
        const char *const *route;
        size_t nroute;
        cdi_held_get(w->held, i, &id, &until, &route, &nroute);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cdi_iso8601_format(until, ts, sizeof ts);
        cJSON_AddStringToObject(o, "until", ts);
        cJSON *rt = cJSON_AddArrayToObject(o, "route");
        for (size_t k = 0; k < nroute; k++)
            cJSON_AddItemToArray(rt, cJSON_CreateString(route[k]));
        cJSON_AddItemToArray(held, o);
    }
    if (w->held)
        cdi_held_unlock(w->held);
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
    /* the Redis streams: this worker's side (copydesk status --redis: the group's) */
    cJSON *ss = w->nstreams ? cJSON_AddArrayToObject(s, "streams") : NULL;
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *st = &w->streams[i];
        if (!st->name)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", st->name);
        cJSON_AddStringToObject(o, "key", st->key);
        cJSON_AddStringToObject(o, "group", st->group);
        cJSON_AddStringToObject(o, "consumer", w->consumer ? w->consumer : "");
        cJSON_AddBoolToObject(o, "connected", !st->down);
        cJSON_AddNumberToObject(o, "read", (double)st->read);
        cJSON_AddNumberToObject(o, "claimed", (double)st->claimed);
        cJSON_AddNumberToObject(o, "acked", (double)st->acked);
        cJSON_AddNumberToObject(o, "dead_letter", (double)st->dead);
        cJSON_AddNumberToObject(o, "unacknowledged", (double)st->nack);
        if (st->last_error)
            cJSON_AddStringToObject(o, "last_error", st->last_error);
        cJSON_AddItemToArray(ss, o);
    }
    cJSON_AddNumberToObject(s, "errors", (double)w->errors);
    if (w->last_error)
        cJSON_AddStringToObject(s, "last_error", w->last_error);
    return s;
}

void cdi_watch_write_status(watch *w, int running)
{
    cJSON *s = status_json(w, running);
    char *text = s ? cJSON_Print(s) : NULL;
    cJSON_Delete(s);
    cd_error e;
    if (!text || cdi_folder_write(w->o->state, "status.json", text, strlen(text), &e) != CD_OK)
        fprintf(w->log, "copydesk: watch: cannot write the status file: %s\n",
                text ? e.msg : "out of memory");
    cJSON_free(text);
    w->status_dirty = 0;
    w->status_at = cdi_monotonic();
}

cd_status cdi_watch_status(const char *state, FILE *out, cd_error *err)
{
    char *path = cdi_path_join(state, "status.json");
    if (!path)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    char *text;
    size_t len;
    cd_status st = cdi_read_file(path, 0, &text, &len, err);
    if (st == CD_ERR_IO)
        cd_error_set(err, CD_ERR_IO, "%s: %s (has copydesk watch run with this state folder?)",
                     path, strerror(errno));
    if (st != CD_OK) {
        free(path);
        return st;
    }
    cJSON *s = cJSON_ParseWithLength(text, len);
    free(text);
    if (!s) {
        st = cd_error_set(err, CD_ERR_FORMAT, "%s: not a status file", path);
        free(path);
        return st;
    }
    free(path);
    /* running: the writer said so, and it still holds the lock */
    cJSON *running = cJSON_GetObjectItemCaseSensitive(s, "running");
    char *lock = cdi_path_join(state, "lock");
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
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    fprintf(out, "%s\n", printed);
    cJSON_free(printed);
    return CD_OK;
}
