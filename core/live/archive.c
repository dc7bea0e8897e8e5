/*
 * archive.c - the routed stories of copydesk watch, in rotating JSON-lines
 * segments (see archive.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fs.h"
#include "base/json.h"
#include "live/archive.h"

#define SEGMENT_MAX ((uint64_t)64 << 20)
#define SEGMENT_MIN ((uint64_t)64 << 10)
#define SYNC_EVERY 1.0          /* seconds between fdatasync calls */
#define NAME_CHARS 29           /* "YYYYMMDDTHHMMSSZ-NNNNNN.jsonl" */
#define NAME_LEN 32

typedef struct segment {
    char name[NAME_LEN];
    uint64_t bytes;
    double mtime;
} segment;

struct cd_archive {
    char *dir;
    double max_age;
    uint64_t max_bytes, seg_max;
    segment *segs;         /* oldest first; the last one is open */
    size_t nsegs, cap;
    uint64_t total;        /* bytes in every segment */
    int fd;                /* the open segment, or -1 */
    double opened_at;      /* when the open segment began */
    double last_sync;
    int dirty;
    cd_buf line;
    pthread_mutex_t mu;    /* copydesk serve: watch's thread and HTTP threads add */
};

char *cdi_archive_dir(const char *state)
{
    size_t n = strlen(state) + sizeof "/archive";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/archive", state);
    return p;
}

static char *path_of(const cd_archive *a, const char *name)
{
    size_t n = strlen(a->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a->dir, name);
    return p;
}

int cdi_archive_is_segment(const char *name)
{
    size_t n = strlen(name);
    return n == NAME_CHARS && name[8] == 'T' && name[15] == 'Z' && name[16] == '-' &&
           !strcmp(name + n - 6, ".jsonl");
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const segment *)x)->name, ((const segment *)y)->name);
}

static int push_segment(cd_archive *a, const char *name, uint64_t bytes, double mtime)
{
    if (a->nsegs == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        segment *v = realloc(a->segs, cap * sizeof *v);
        if (!v)
            return -1;
        a->segs = v;
        a->cap = cap;
    }
    segment *s = &a->segs[a->nsegs++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->bytes = bytes;
    s->mtime = mtime;
    a->total += bytes;
    return 0;
}

static cd_status list_segments(cd_archive *a, cd_error *err)
{
    DIR *dir = opendir(a->dir);
    if (!dir)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", a->dir, strerror(errno));
    struct dirent *e;
    cd_status st = CD_OK;
    while (st == CD_OK && (e = readdir(dir))) {
        if (!cdi_archive_is_segment(e->d_name))
            continue;
        char *p = path_of(a, e->d_name);
        struct stat sb;
        if (!p)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        else if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
                 push_segment(a, e->d_name, (uint64_t)sb.st_size, (double)sb.st_mtime))
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        free(p);
    }
    closedir(dir);
    if (a->nsegs > 1)
        qsort(a->segs, a->nsegs, sizeof *a->segs, by_name);
    return st;
}

static void sync_dir(const cd_archive *a)
{
    int fd = open(a->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void close_segment(cd_archive *a)
{
    if (a->fd < 0)
        return;
    if (a->dirty)
        fdatasync(a->fd);
    close(a->fd);
    a->fd = -1;
    a->dirty = 0;
}

/* When the segment named name began (its name), or 0. */
static double began(const char *name)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(name, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm);
}

/* Delete the oldest segments (never the open one) while the archive is
 * over its size or they are over its age. */
static void prune(cd_archive *a, double now)
{
    size_t drop = 0;
    uint64_t total = a->total;
    while (drop + 1 < a->nsegs &&
           (total > a->max_bytes || a->segs[drop].mtime < now - a->max_age)) {
        char *p = path_of(a, a->segs[drop].name);
        if (!p || (unlink(p) != 0 && errno != ENOENT)) {
            free(p);
            break;
        }
        free(p);
        total -= a->segs[drop].bytes;
        drop++;
    }
    if (!drop)
        return;
    memmove(a->segs, a->segs + drop, (a->nsegs - drop) * sizeof *a->segs);
    a->nsegs -= drop;
    a->total = total;
    sync_dir(a);
}

/* Open a new segment for now. */
static cd_status new_segment(cd_archive *a, double now, cd_error *err)
{
    close_segment(a);
    char stamp[20], name[NAME_LEN];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned seq = 0;
    if (a->nsegs) {
        const char *last = a->segs[a->nsegs - 1].name;
        if (strncmp(last, stamp, 16) >= 0) {   /* same second, or a clock set back */
            memcpy(stamp, last, 16);
            stamp[16] = '\0';
            seq = (unsigned)strtoul(last + 17, NULL, 10) + 1;
        }
    }
    for (int tries = 0; tries < 1000; tries++, seq++) {
        snprintf(name, sizeof name, "%.16s-%06u.jsonl", stamp, seq % 1000000);
        char *p = path_of(a, name);
        if (!p)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        a->fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        int e = errno;
        free(p);
        if (a->fd >= 0)
            break;
        if (e != EEXIST)
            return cd_error_set(err, CD_ERR_IO, "%s/%s: %s", a->dir, name, strerror(e));
    }
    if (a->fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: cannot name a new segment", a->dir);
    if (push_segment(a, name, 0, now)) {
        close(a->fd);
        a->fd = -1;
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    a->opened_at = now;
    sync_dir(a);
    prune(a, now);
    return CD_OK;
}

/* Reopen the newest segment to append to it, cutting a torn last line. */
static void reopen_last(cd_archive *a, double now)
{
    if (!a->nsegs)
        return;
    segment *s = &a->segs[a->nsegs - 1];
    if (s->bytes >= a->seg_max || began(s->name) < now - a->max_age / 7)
        return;
    char *p = path_of(a, s->name);
    int fd = p ? open(p, O_RDWR | O_APPEND | O_CLOEXEC) : -1;
    free(p);
    if (fd < 0)
        return;
    /* a line is complete when it ends with a newline: keep up to the last one */
    off_t end = (off_t)s->bytes, keep = end;
    char buf[4096];
    while (keep > 0) {
        off_t from = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
        ssize_t n = pread(fd, buf, (size_t)(keep - from), from);
        if (n <= 0)
            break;
        ssize_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            keep = from + i;
            break;
        }
        keep = from;
    }
    if (keep != end && ftruncate(fd, keep) != 0) {
        close(fd);
        return;
    }
    a->total -= s->bytes - (uint64_t)keep;
    s->bytes = (uint64_t)keep;
    a->fd = fd;
    a->opened_at = began(s->name);
}

cd_status cdi_archive_open(const char *state, const cd_archive_opts *opts, cd_archive **out,
                           cd_error *err)
{
    *out = NULL;
    cd_archive *a = calloc(1, sizeof *a);
    if (!a || !(a->dir = cdi_archive_dir(state))) {
        free(a);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    a->fd = -1;
    a->max_age = opts && opts->max_age_s > 0 ? opts->max_age_s : CD_ARCHIVE_DEFAULT_AGE;
    a->max_bytes = opts && opts->max_bytes ? opts->max_bytes : CD_ARCHIVE_DEFAULT_BYTES;
    a->seg_max = a->max_bytes / 16;
    if (a->seg_max > SEGMENT_MAX)
        a->seg_max = SEGMENT_MAX;
    if (a->seg_max < SEGMENT_MIN)
        a->seg_max = SEGMENT_MIN;
    double now = (double)time(NULL);
    cd_status st = cdi_mkdirs(a->dir, err);
    if (st == CD_OK)
        st = list_segments(a, err);
    if (st != CD_OK) {
        cdi_archive_close(a);
        return st;
    }
    reopen_last(a, now);
    prune(a, now);
    a->last_sync = now;
    *out = a;
    return CD_OK;
}

static void put_str(cd_buf *b, const char *s)
{
    if (s)
        cdi_buf_json_string(b, s, strlen(s));
    else
        cdi_buf_puts(b, "null");
}

/* The story as an input line, then what was decided. */
static void make_line(cd_buf *b, const cd_story *s, const cd_decision *dec,
                      const char *summary, double now)
{
    cdi_buf_reset(b);
    cdi_buf_puts(b, "{\"id\":");
    put_str(b, s->id ? s->id : "");
    cdi_buf_puts(b, ",\"title\":");
    cdi_buf_json_string(b, s->title ? s->title : "", s->title ? s->title_len : 0);
    cdi_buf_puts(b, ",\"body\":");
    cdi_buf_json_string(b, s->body ? s->body : "", s->body ? s->body_len : 0);
    if (s->nlabels) {
        cdi_buf_puts(b, ",\"labels\":[");
        for (size_t i = 0; i < s->nlabels; i++) {
            cdi_buf_puts(b, i ? "," : "");
            put_str(b, s->labels[i]);
        }
        cdi_buf_puts(b, "]");
    }
    /* the metadata fields, at the top level as they came in */
    const char *m = s->meta_json ? s->meta_json : "{}";
    while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r')
        m++;
    if (*m == '{') {
        size_t len = strlen(m);
        while (len && m[len - 1] != '}')
            len--;
        const char *in = m + 1;
        size_t n = len > 1 ? len - 2 : 0;
        while (n && (*in == ' ' || *in == '\n' || *in == '\t' || *in == '\r')) {
            in++;
            n--;
        }
        if (n) {
            cdi_buf_puts(b, ",");
            cdi_buf_put(b, in, n);
        }
    }
    char at[32];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cdi_buf_printf(b, ",\"archived\":{\"at\":\"%s\",\"route\":[", at);
    for (size_t i = 0; i < dec->nroute; i++) {
        cdi_buf_puts(b, i ? "," : "");
        put_str(b, dec->route[i]);
    }
    cdi_buf_puts(b, "],\"rule\":");
    put_str(b, dec->rule);
    cdi_buf_puts(b, ",\"outcome\":");
    put_str(b, cd_outcome_name(dec->outcome));
    cdi_buf_puts(b, ",\"reason\":");
    put_str(b, dec->reason);
    if (summary && *summary) {
        cdi_buf_puts(b, ",");
        cdi_buf_puts(b, summary);
    }
    cdi_buf_puts(b, "}}\n");
}

static void tick(cd_archive *a, double now);

static cd_status add_locked(cd_archive *a, const cd_story *s, const cd_decision *dec,
                            const char *summary, double now, cd_error *err)
{
    if (a->fd < 0 || a->segs[a->nsegs - 1].bytes >= a->seg_max ||
        now - a->opened_at >= a->max_age / 7) {
        cd_status st = new_segment(a, now, err);
        if (st != CD_OK)
            return st;
    }
    make_line(&a->line, s, dec, summary, now);
    if (a->line.failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    segment *seg = &a->segs[a->nsegs - 1];
    ssize_t n = write(a->fd, a->line.data, a->line.len);
    if (n != (ssize_t)a->line.len) {
        int e = n < 0 ? errno : ENOSPC;
        if (n > 0 && ftruncate(a->fd, (off_t)seg->bytes) != 0)
            close_segment(a);   /* the next add starts a new segment */
        return cd_error_set(err, CD_ERR_IO, "%s/%s: %s", a->dir, seg->name, strerror(e));
    }
    seg->bytes += a->line.len;
    seg->mtime = now;
    a->total += a->line.len;
    a->dirty = 1;
    if (a->line.cap > ((size_t)1 << 20))
        cdi_buf_free(&a->line);
    tick(a, now);
    return CD_OK;
}

cd_status cdi_archive_add(cd_archive *a, const cd_story *s, const cd_decision *dec,
                          const char *summary, double now, cd_error *err)
{
    pthread_mutex_lock(&a->mu);
    cd_status st = add_locked(a, s, dec, summary, now, err);
    pthread_mutex_unlock(&a->mu);
    return st;
}

static void tick(cd_archive *a, double now)
{
    if (a->dirty && a->fd >= 0 && now - a->last_sync >= SYNC_EVERY) {
        fdatasync(a->fd);
        a->dirty = 0;
        a->last_sync = now;
    }
    if (a->total > a->max_bytes || (a->nsegs > 1 && a->segs[0].mtime < now - a->max_age))
        prune(a, now);
}

void cdi_archive_tick(cd_archive *a, double now)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    tick(a, now);
    pthread_mutex_unlock(&a->mu);
}

double cdi_archive_sync_due(cd_archive *a, double now)
{
    if (!a)
        return -1;
    pthread_mutex_lock(&a->mu);
    int due = a->dirty && a->fd >= 0;
    double t = a->last_sync + SYNC_EVERY - now;
    pthread_mutex_unlock(&a->mu);
    return !due ? -1 : t > 0 ? t : 0;
}

void cdi_archive_close(cd_archive *a)
{
    if (!a)
        return;
    close_segment(a);
    cdi_buf_free(&a->line);
    free(a->segs);
    free(a->dir);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

cd_status cdi_archive_unwrap(cd_story *s, char **recorded)
{
    if (recorded)
        *recorded = NULL;
    if (!s->meta_json || !strstr(s->meta_json, "\"archived\""))
        return CD_OK;
    cJSON *meta = cJSON_Parse(s->meta_json);
    if (!meta)
        return CD_OK;   /* the reader wrote it: not expected; leave it */
    /* the archive writes its record last: a story's own "archived" field,
     * if it had one, comes before and stays */
    cJSON *rec = NULL, *c;
    cJSON_ArrayForEach(c, meta)
        if (c->string && !strcmp(c->string, "archived"))
            rec = c;
    if (rec)
        cJSON_DetachItemViaPointer(meta, rec);
    char *text = cJSON_PrintUnformatted(meta);
    char *rtext = rec && recorded ? cJSON_PrintUnformatted(rec) : NULL;
    cJSON_Delete(meta);
    cJSON_Delete(rec);
    if (!text || (rec && recorded && !rtext)) {
        free(text);
        free(rtext);
        return CD_ERR_NOMEM;
    }
    free(s->meta_json);
    s->meta_json = text;
    if (recorded)
        *recorded = rtext;
    return CD_OK;
}
