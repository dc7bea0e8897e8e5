/*
 * held.c - held stories on disk (see held.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "desk/isotime.h"
#include "live/held.h"

typedef struct entry {
    char *file;          /* name in the folder */
    double until;
    char *id;
    char **route;
    size_t nroute;
} entry;

struct cd_held {
    char *dir;
    entry *v;            /* sorted by until, then sequence (the file name) */
    size_t n, cap;
    uint64_t seq;        /* next sequence number */
    pthread_mutex_t mu;  /* copydesk serve: HTTP threads add, watch's thread releases */
};

static void entry_free(entry *e)
{
    free(e->file);
    free(e->id);
    for (size_t i = 0; i < e->nroute; i++)
        free(e->route[i]);
    free(e->route);
    memset(e, 0, sizeof *e);
}

void cdi_held_free(cd_held *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        entry_free(&h->v[i]);
    free(h->v);
    free(h->dir);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void cdi_held_lock(cd_held *h)
{
    pthread_mutex_lock(&h->mu);
}

void cdi_held_unlock(cd_held *h)
{
    pthread_mutex_unlock(&h->mu);
}

static cd_status sync_dir(const char *dir, cd_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    close(fd);
    return CD_OK;
}

/* Parse a held file's header line into e (file set by the caller). */
static int parse_header(const char *text, size_t len, entry *e)
{
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return -1;
    cJSON *h = cJSON_ParseWithLength(text, (size_t)(nl - text));
    cJSON *until = cJSON_GetObjectItemCaseSensitive(h, "until");
    cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "id");
    cJSON *route = cJSON_GetObjectItemCaseSensitive(h, "route");
    int ok = cJSON_IsNumber(until) && cJSON_IsString(id) && cJSON_IsArray(route);
    if (ok) {
        e->until = until->valuedouble;
        e->id = strdup(id->valuestring);
        size_t n = (size_t)cJSON_GetArraySize(route);
        e->route = calloc(n ? n : 1, sizeof *e->route);
        ok = e->id && e->route;
        const cJSON *r;
        cJSON_ArrayForEach(r, route) {
            if (!ok || !cJSON_IsString(r) || !(e->route[e->nroute] = strdup(r->valuestring)))
                ok = 0;
            else
                e->nroute++;
        }
    }
    cJSON_Delete(h);
    return ok ? 0 : -1;
}

static int by_time(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->until != y->until)
        return x->until < y->until ? -1 : 1;
    return strcmp(x->file, y->file);
}

static cd_status push(cd_held *h, entry *e, cd_error *err)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        entry *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = *e;
    qsort(h->v, h->n, sizeof *h->v, by_time);
    return CD_OK;
}

/* Load the file name of the folder (a final name: digits-digits.json). */
static void load_one(cd_held *h, const char *name)
{
    uint64_t t, seq;
    char tail[8];
    if (sscanf(name, "%20" SCNu64 "-%20" SCNu64 "%7s", &t, &seq, tail) != 3 ||
        strcmp(tail, ".json") != 0)
        return;
    if (seq >= h->seq)
        h->seq = seq + 1;
    char *path = cdi_path_join(h->dir, name);
    char *text = NULL;
    size_t len = 0;
    cd_error e;
    entry en = { 0 };
    if (path && cdi_read_file(path, 0, &text, &len, &e) == CD_OK &&
        (en.file = strdup(name)) && parse_header(text, len, &en) == 0 &&
        push(h, &en, &e) == CD_OK) {
        memset(&en, 0, sizeof en);
    }
    entry_free(&en);   /* unreadable: left on disk, not listed (released never) */
    free(text);
    free(path);
}

cd_status cdi_held_open(const char *dir, cd_held **out, cd_error *err)
{
    *out = NULL;
    cd_status st = cdi_mkdirs(dir, err);
    if (st != CD_OK)
        return st;
    cd_held *h = calloc(1, sizeof *h);
    if (!h || !(h->dir = strdup(dir))) {
        free(h);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&h->mu, NULL);
    DIR *d = opendir(dir);
    if (!d) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
        cdi_held_free(h);
        return st;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strncmp(de->d_name, ".tmp-", 5)) {   /* a write a kill interrupted */
            char *p = cdi_path_join(dir, de->d_name);
            if (p)
                unlink(p);
            free(p);
        } else if (de->d_name[0] != '.') {
            load_one(h, de->d_name);
        }
    }
    closedir(d);
    *out = h;
    return CD_OK;
}

static cd_status add_locked(cd_held *h, double until, const char *id, const char *json,
                            size_t len, const char *const *route, size_t nroute, cd_error *err)
{
    char when[40], name[64], tmpname[72];
    cdi_iso8601_format(until, when, sizeof when);
    uint64_t t = until > 0 ? (uint64_t)until : 0;
    snprintf(name, sizeof name, "%020" PRIu64 "-%020" PRIu64 ".json", t, h->seq);
    snprintf(tmpname, sizeof tmpname, ".tmp-%s", name);
    cd_buf b = { 0 };
    cdi_buf_printf(&b, "{\"until\":%.3f,\"held_until\":\"%s\",\"id\":", until, when);
    cdi_buf_json_string(&b, id, strlen(id));
    cdi_buf_puts(&b, ",\"route\":[");
    for (size_t i = 0; i < nroute; i++) {
        cdi_buf_puts(&b, i ? "," : "");
        cdi_buf_json_string(&b, route[i], strlen(route[i]));
    }
    cdi_buf_puts(&b, "]}\n");
    cdi_buf_put(&b, json, len);
    cdi_buf_puts(&b, "\n");
    char *tmp = cdi_path_join(h->dir, tmpname), *final = cdi_path_join(h->dir, name);
    cd_status st = CD_OK;
    int fd = -1;
    if (b.failed || !tmp || !final)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    else if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (st == CD_OK)
        st = cdi_write_fd(fd, b.data, b.len, tmp, err);
    if (st == CD_OK && fsync(fd) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && st == CD_OK)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (st == CD_OK && rename(tmp, final) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final, strerror(errno));
    if (st != CD_OK && tmp)
        unlink(tmp);
    if (st == CD_OK)
        st = sync_dir(h->dir, err);
    cdi_buf_free(&b);
    free(tmp);
    free(final);
    if (st != CD_OK)
        return st;
    h->seq++;
    entry e = { 0 };
    e.until = until;
    e.file = strdup(name);
    e.id = strdup(id);
    e.route = calloc(nroute ? nroute : 1, sizeof *e.route);
    int ok = e.file && e.id && e.route;
    for (size_t i = 0; ok && i < nroute; i++)
        ok = (e.route[e.nroute++] = strdup(route[i])) != NULL;
    /* on disk whatever happens here: out of memory, it is listed at the next start */
    if (!ok || push(h, &e, err) != CD_OK)
        entry_free(&e);
    return CD_OK;
}

cd_status cdi_held_add(cd_held *h, double until, const char *id, const char *json,
                       size_t len, const char *const *route, size_t nroute, cd_error *err)
{
    pthread_mutex_lock(&h->mu);
    cd_status st = add_locked(h, until, id, json, len, route, nroute, err);
    pthread_mutex_unlock(&h->mu);
    return st;
}

size_t cdi_held_release(cd_held *h, double now, cd_held_fn fn, void *ud,
                        void (*err_fn)(void *ud, const char *file, const char *msg))
{
    size_t released = 0;
    pthread_mutex_lock(&h->mu);
    while (h->n && h->v[0].until <= now) {
        entry *e = &h->v[0];
        char *path = cdi_path_join(h->dir, e->file);
        char *text = NULL;
        size_t len = 0;
        cd_error err;
        const char *nl = NULL;
        if (!path || cdi_read_file(path, 0, &text, &len, &err) != CD_OK ||
            !(nl = memchr(text, '\n', len))) {
            if (err_fn)
                err_fn(ud, e->file, path && !text ? err.msg : "not a held story file");
            free(text);
            free(path);
            entry_free(e);
            memmove(h->v, h->v + 1, --h->n * sizeof *h->v);
            continue;   /* left on disk for a person to look at */
        }
        const char *json = nl + 1;
        size_t jlen = len - (size_t)(json - text);
        while (jlen && (json[jlen - 1] == '\n' || json[jlen - 1] == '\r'))
            jlen--;
        int rc = fn(ud, e->id, json, jlen, (const char *const *)e->route, e->nroute);
        free(text);
        if (rc != 0) {
            free(path);
            break;   /* kept: tried again at the next release */
        }
        unlink(path);
        free(path);
        sync_dir(h->dir, &err);
        entry_free(e);
        memmove(h->v, h->v + 1, --h->n * sizeof *h->v);
        released++;
    }
    pthread_mutex_unlock(&h->mu);
    return released;
}

double cdi_held_next(cd_held *h, double now)
{
    if (!h)
        return -1;
    pthread_mutex_lock(&h->mu);
    double t = !h->n ? -1 : h->v[0].until > now ? h->v[0].until - now : 0;
    pthread_mutex_unlock(&h->mu);
    return t;
}

size_t cdi_held_count(const cd_held *h)
{
    return h ? h->n : 0;
}

void cdi_held_get(const cd_held *h, size_t i, const char **id, double *until,
                  const char *const **route, size_t *nroute)
{
    *id = h->v[i].id;
    *until = h->v[i].until;
    *route = (const char *const *)h->v[i].route;
    *nroute = h->v[i].nroute;
}
