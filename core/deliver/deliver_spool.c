/*
 * deliver_spool.c - the persistent queue of url deliveries (see
 * deliver_spool.h for the design and its guarantees).
 *
 * Each queue is a contiguous range of sequence numbers [head, next): the
 * files are named by their number, so the order of the queue is the order
 * of the names and nothing but the folder is needed to recover it after a
 * restart.  Posting goes through the bound url or stream destination, one
 * attempt at a time (cdi_dest_send_once: a url's POST, a stream's XADD):
 * the waits between attempts are the spool's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/json.h"
#include "deliver/deliver_impl.h"
#include "deliver/deliver_spool.h"

typedef struct queue {
    char *name;          /* the destination, or the folder name until one claims it */
    char *dir;           /* SPOOL/<safe name> */
    int named;           /* a destination was bound to it (cdi_spool_bind) */
    uint64_t head, next; /* files head .. next-1 wait */
    cd_dest *dest;       /* the destination posting it (not owned), NULL while none */
    cd_dest **bound;     /* every destination bound, latest last: dest is the last */
    size_t nbound;
    double backoff_s, wait_s, next_try;
    uint64_t sent, refused, failures;
    char *last_error;
    int dirty;           /* added to since the last folder sync */
} queue;

struct cd_spool {
    pthread_mutex_t mu;  /* every use of the queues: copydesk serve adds from its
                            HTTP threads while watch's thread drains */
    char *dir;
    char *real;          /* the folder's real path: what makes two opens one */
    unsigned uses;
    cd_spool *next_open;
    queue *q;
    size_t nq;
};

/* The spools open in this process (see cdi_spool_open). */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static cd_spool *open_spools;

static int parse_seq(const char *name, uint64_t *seq)
{
    size_t n = strlen(name);
    if (n != 25 || strcmp(name + 20, ".json") != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return 1;
}

static void seq_name(uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%020" PRIu64 ".json", seq);
}

/* Scan a queue folder: its range, and temporary files of a killed writer removed. */
static cd_status scan_queue(queue *q, cd_error *err)
{
    DIR *dir = opendir(q->dir);
    if (!dir)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", q->dir, strerror(errno));
    uint64_t lo = UINT64_MAX, hi = 0;
    int any = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        uint64_t s;
        if (e->d_name[0] == '.' && strncmp(e->d_name, ".tmp-", 5) == 0) {
            char *p = cdi_path_join(q->dir, e->d_name);
            if (p)
                unlink(p);
            free(p);
        } else if (parse_seq(e->d_name, &s)) {
            any = 1;
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
        }
    }
    closedir(dir);
    q->head = any ? lo : 1;
    q->next = any ? hi + 1 : 1;
    return CD_OK;
}

static void queue_free(queue *q)
{
    free(q->name);
    free(q->dir);
    free(q->bound);
    free(q->last_error);
}

static queue *add_queue(cd_spool *sp, const char *name, const char *folder, cd_error *err)
{
    queue *v = realloc(sp->q, (sp->nq + 1) * sizeof *v);
    if (!v) {
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sp->q = v;
    queue *q = &v[sp->nq];
    memset(q, 0, sizeof *q);
    q->name = strdup(name);
    q->dir = cdi_path_join(sp->dir, folder);
    if (!q->name || !q->dir) {
        queue_free(q);
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (cdi_mkdirs(q->dir, err) != CD_OK || scan_queue(q, err) != CD_OK) {
        queue_free(q);
        return NULL;
    }
    sp->nq++;
    return q;
}

static void spool_destroy(cd_spool *sp)
{
    for (size_t i = 0; i < sp->nq; i++)
        queue_free(&sp->q[i]);
    free(sp->q);
    free(sp->dir);
    free(sp->real);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

/* Open the folder and its queues (the first use). */
static cd_status spool_load(const char *dir, cd_spool **out, cd_error *err)
{
    *out = NULL;
    cd_spool *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->dir = strdup(dir))) {
        free(sp);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    sp->uses = 1;
    pthread_mutex_init(&sp->mu, NULL);
    cd_status st = cdi_mkdirs(dir, err);
    if (st == CD_OK && !(sp->real = realpath(dir, NULL)))
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
    DIR *d = st == CD_OK ? opendir(dir) : NULL;
    if (st == CD_OK && !d)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while (st == CD_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct stat sb;
        char *p = cdi_path_join(dir, e->d_name);
        int isdir = p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(p);
        if (isdir && !add_queue(sp, e->d_name, e->d_name, err))
            st = err ? err->code : CD_ERR_IO;
    }
    if (d)
        closedir(d);
    if (st != CD_OK) {
        spool_destroy(sp);
        return st;
    }
    *out = sp;
    return CD_OK;
}

cd_status cdi_spool_open(const char *dir, cd_spool **out, cd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&open_lock);
    char *real = realpath(dir, NULL);
    for (cd_spool *sp = open_spools; real && sp; sp = sp->next_open)
        if (!strcmp(sp->real, real)) {
            sp->uses++;
            *out = sp;
            break;
        }
    free(real);
    cd_status st = CD_OK;
    if (!*out && (st = spool_load(dir, out, err)) == CD_OK) {
        (*out)->next_open = open_spools;
        open_spools = *out;
    }
    pthread_mutex_unlock(&open_lock);
    return st;
}

void cdi_spool_free(cd_spool *sp)
{
    if (!sp)
        return;
    pthread_mutex_lock(&open_lock);
    int last = --sp->uses == 0;
    if (last)
        for (cd_spool **p = &open_spools; *p; p = &(*p)->next_open)
            if (*p == sp) {
                *p = sp->next_open;
                break;
            }
    pthread_mutex_unlock(&open_lock);
    if (last)
        spool_destroy(sp);
}

static queue *find_queue(cd_spool *sp, const char *name)
{
    char folder[160];
    cdi_safe_filename(name, folder, sizeof folder);
    for (size_t i = 0; i < sp->nq; i++) {
        queue *q = &sp->q[i];
        if (q->named ? !strcmp(q->name, name) : !strcmp(q->name, folder))
            return q;
    }
    return NULL;
}

static cd_status spool_bind(cd_spool *sp, cd_dest *d, cd_error *err)
{
    const char *name = cdi_dest_name(d);
    if (cdi_dest_get_kind(d) != CD_DEST_URL && cdi_dest_get_kind(d) != CD_DEST_STREAM)
        return cd_error_set(err, CD_ERR_ARG, "spool: destination '%s' is not a url or stream",
                            name);
    queue *q = find_queue(sp, name);
    if (!q) {
        char folder[160];
        cdi_safe_filename(name, folder, sizeof folder);
        if (!(q = add_queue(sp, name, folder, err)))
            return err ? err->code : CD_ERR_IO;
    }
    char *nm = strdup(name);
    cd_dest **v = nm ? realloc(q->bound, (q->nbound + 1) * sizeof *v) : NULL;
    if (!v) {
        free(nm);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    free(q->name);
    q->name = nm;
    q->bound = v;
    q->bound[q->nbound++] = d;
    q->dest = d;
    q->named = 1;
    q->backoff_s = d->opts.backoff_s > 0 ? d->opts.backoff_s : 0.5;
    q->wait_s = 0;
    q->next_try = 0;   /* settings changed: worth a try now */
    return CD_OK;
}

cd_status cdi_spool_bind(cd_spool *sp, cd_dest *d, cd_error *err)
{
    pthread_mutex_lock(&sp->mu);
    cd_status st = spool_bind(sp, d, err);
    pthread_mutex_unlock(&sp->mu);
    return st;
}

/* Under the lock: a drain posting through d finishes before d can go. */
void cdi_spool_unbind(cd_spool *sp, const cd_dest *d)
{
    pthread_mutex_lock(&sp->mu);
    for (size_t i = 0; i < sp->nq; i++) {
        queue *q = &sp->q[i];
        size_t k = 0;
        for (size_t j = 0; j < q->nbound; j++)
            if (q->bound[j] != d)
                q->bound[k++] = q->bound[j];
        q->nbound = k;
        /* a desk that failed to load (or its expect cases) leaves the
         * running desk's destination posting, as before it was tried */
        q->dest = k ? q->bound[k - 1] : NULL;
    }
    pthread_mutex_unlock(&sp->mu);
}

/* The file: the header line, then the story as it will be posted. */
static cd_status write_file(const char *path, const char *head, size_t hlen, const char *data,
                            size_t len, cd_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    cd_status st = cdi_write_fd(fd, head, hlen, path, err);
    if (st == CD_OK)
        st = cdi_write_fd(fd, data, len, path, err);
    if (st == CD_OK && fsync(fd) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && st == CD_OK)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    return st;
}

static cd_status spool_add(cd_spool *sp, const char *name, const char *id, const char *json,
                           size_t len, cd_error *err)
{
    queue *q = find_queue(sp, name);
    if (!q || !q->named)
        return cd_error_set(err, CD_ERR_ARG, "spool: no destination '%s'", name);
    /* the id is kept on a line of its own: the body need not say it where a
     * reader can find it (a ninjs document starts with its uri) */
    cd_buf head = {0};
    cdi_buf_json_string(&head, id ? id : "?", id ? strlen(id) : 1);
    cdi_buf_puts(&head, "\n");
    if (head.failed) {
        cdi_buf_free(&head);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    char seq[32], tmpname[48];
    seq_name(q->next, seq, sizeof seq);
    snprintf(tmpname, sizeof tmpname, ".tmp-%s", seq);
    char *tmp = cdi_path_join(q->dir, tmpname), *final = cdi_path_join(q->dir, seq);
    cd_status st = CD_OK;
    if (!tmp || !final)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (st == CD_OK)
        st = write_file(tmp, head.data, head.len, json, len, err);
    if (st == CD_OK && rename(tmp, final) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final, strerror(errno));
    if (st != CD_OK && tmp)
        unlink(tmp);
    free(tmp);
    free(final);
    cdi_buf_free(&head);
    if (st == CD_OK) {
        q->next++;
        q->dirty = 1;
    }
    return st;
}

cd_status cdi_spool_add(cd_spool *sp, const char *name, const char *id, const char *json,
                        size_t len, cd_error *err)
{
    pthread_mutex_lock(&sp->mu);
    cd_status st = spool_add(sp, name, id, json, len, err);
    pthread_mutex_unlock(&sp->mu);
    return st;
}

static cd_status spool_sync(cd_spool *sp, cd_error *err)
{
    for (size_t i = 0; i < sp->nq; i++) {
        queue *q = &sp->q[i];
        if (!q->dirty)
            continue;
        int fd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", q->dir, strerror(errno));
            if (fd >= 0)
                close(fd);
            return st;
        }
        close(fd);
        q->dirty = 0;
    }
    return CD_OK;
}

cd_status cdi_spool_sync(cd_spool *sp, cd_error *err)
{
    pthread_mutex_lock(&sp->mu);
    cd_status st = spool_sync(sp, err);
    pthread_mutex_unlock(&sp->mu);
    return st;
}

/* Read the head story of q; NULL when there is none (files removed by
 * hand are skipped), or when it cannot be read now (err set: out of
 * memory, too many open files, an I/O error ...): the story is still on
 * disk, so it stays the head and is tried again, never passed over. */
static char *read_head(queue *q, size_t *len, char **path, cd_error *err)
{
    err->code = CD_OK;
    while (q->head < q->next) {
        char seq[32];
        seq_name(q->head, seq, sizeof seq);
        *path = cdi_path_join(q->dir, seq);
        if (!*path) {
            cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            return NULL;
        }
        char *buf;
        cd_status st = cdi_read_file(*path, 0, &buf, len, err);
        if (st == CD_OK)
            return buf;
        int gone = st == CD_ERR_IO && errno == ENOENT;
        free(*path);
        *path = NULL;
        if (!gone)
            return NULL;
        q->head++;
    }
    err->code = CD_OK;
    return NULL;
}

/* The story id in a story JSON, for messages ("?" when not found): the
 * files of a spool written before the id had a line of its own. */
static void story_id(const char *json, char *out, size_t cap)
{
    snprintf(out, cap, "?");
    if (strncmp(json, "{\"id\":\"", 7) != 0)
        return;
    const char *p = json + 7;
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) {
        if (*p == '\\' && p[1])
            p++;
        out[n++] = *p++;
    }
    out[n] = '\0';
}

/* Split a queue file into the story's id (allocated; NULL when out of
 * memory) and the body to post: the id line is a JSON string, a file
 * without one (an older spool's) is all body and its id is read from it. */
static char *split_entry(const char *buf, size_t len, const char **body, size_t *blen)
{
    *body = buf;
    *blen = len;
    const char *nl = len && buf[0] == '"' ? memchr(buf, '\n', len) : NULL;
    if (nl) {
        cJSON *s = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
        char *id = cJSON_IsString(s) ? strdup(s->valuestring) : NULL;
        int ok = cJSON_IsString(s);
        cJSON_Delete(s);
        if (ok) {
            *body = nl + 1;
            *blen = len - (size_t)(nl + 1 - buf);
            return id;
        }
    }
    char old[200];
    story_id(buf, old, sizeof old);
    return strdup(old);
}

static void set_error(queue *q, const char *msg)
{
    char *m = strdup(msg);
    if (m) {
        free(q->last_error);
        q->last_error = m;
    }
}

/* A failed attempt: the story stays the head, the queue waits (doubling). */
static void attempt_failed(queue *q, const char *id, const char *msg, cd_spool_fn fn, void *ud)
{
    q->failures++;
    q->wait_s = q->wait_s > 0 ? q->wait_s * 2 : q->backoff_s;
    if (q->wait_s > CD_SPOOL_MAX_WAIT)
        q->wait_s = CD_SPOOL_MAX_WAIT;
    q->next_try = cdi_monotonic() + q->wait_s;
    set_error(q, msg);
    if (fn)
        fn(ud, CD_SPOOL_RETRY, q->name, id, msg, q->wait_s);
}

/* One attempt at q's head: 1 delivered or refused (the head moved), 0 failed. */
static int post_head(queue *q, cd_spool_fn fn, void *ud)
{
    size_t len = 0;
    char *path = NULL;
    cd_error re;
    char *json = read_head(q, &len, &path, &re);
    if (!json) {
        free(path);
        if (re.code != CD_OK)   /* unreadable for now: its id is in the file */
            attempt_failed(q, "?", re.msg, fn, ud);
        return 0;
    }
    const char *body;
    size_t blen;
    char *id = split_entry(json, len, &body, &blen);
    if (!id) {
        attempt_failed(q, "?", "out of memory", fn, ud);
        free(json);
        free(path);
        return 0;
    }
    cd_error e;
    int moved = 0;
    int permanent;
    if (cdi_dest_send_once(q->dest, id, body, blen, &permanent, &e) == CD_OK) {
        unlink(path);
        q->head++;
        q->sent++;
        q->failures = 0;
        q->wait_s = 0;
        moved = 1;
        if (fn)
            fn(ud, CD_SPOOL_SENT, q->name, id, NULL, 0);
    } else {
        cd_error e2;
        if (permanent && cdi_dest_dead_letter(q->dest, id, e.msg, body, blen, &e2) == CD_OK) {
            unlink(path);
            q->head++;
            q->refused++;
            moved = 1;
            if (fn)
                fn(ud, CD_SPOOL_REFUSED, q->name, id, e.msg, 0);
        } else {
            attempt_failed(q, id, e.msg, fn, ud);
        }
    }
    free(id);
    free(json);
    free(path);
    return moved;
}

size_t cdi_spool_drain(cd_spool *sp, double budget_s, cd_spool_fn fn, void *ud)
{
    pthread_mutex_lock(&sp->mu);
    double start = cdi_monotonic();
    size_t sent = 0;
    int progress = 1;
    while (progress && cdi_monotonic() - start < budget_s) {
        progress = 0;
        for (size_t i = 0; i < sp->nq; i++) {
            queue *q = &sp->q[i];
            if (!q->dest || q->head >= q->next || cdi_monotonic() < q->next_try)
                continue;
            uint64_t before = q->sent;
            if (post_head(q, fn, ud))
                progress = 1;
            sent += (size_t)(q->sent - before);
        }
    }
    pthread_mutex_unlock(&sp->mu);
    return sent;
}

double cdi_spool_next_due(const cd_spool *csp)
{
    cd_spool *sp = (cd_spool *)csp;   /* the lock, not the queues, changes */
    pthread_mutex_lock(&sp->mu);
    double now = cdi_monotonic(), best = -1;
    for (size_t i = 0; i < sp->nq; i++) {
        const queue *q = &sp->q[i];
        if (!q->dest || q->head >= q->next)
            continue;
        double in = q->next_try > now ? q->next_try - now : 0;
        if (best < 0 || in < best)
            best = in;
    }
    pthread_mutex_unlock(&sp->mu);
    return best;
}

uint64_t cdi_spool_depth(const cd_spool *csp)
{
    cd_spool *sp = (cd_spool *)csp;
    pthread_mutex_lock(&sp->mu);
    uint64_t n = 0;
    for (size_t i = 0; i < sp->nq; i++)
        n += sp->q[i].next - sp->q[i].head;
    pthread_mutex_unlock(&sp->mu);
    return n;
}

size_t cdi_spool_queues(const cd_spool *csp)
{
    cd_spool *sp = (cd_spool *)csp;
    pthread_mutex_lock(&sp->mu);
    size_t n = sp->nq;
    pthread_mutex_unlock(&sp->mu);
    return n;
}

static char *dup_or_null(const char *s, int *nomem)
{
    char *c = s ? strdup(s) : NULL;
    *nomem |= s && !c;
    return c;
}

/* Under the lock, and copies: a desk loaded on another thread binds the
 * queues (sp->q moves, a queue's name is replaced) and frees destinations. */
cd_status cdi_spool_queue_get(const cd_spool *csp, size_t i, cd_spool_queue_info *out)
{
    cd_spool *sp = (cd_spool *)csp;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&sp->mu);
    if (i >= sp->nq) {
        pthread_mutex_unlock(&sp->mu);
        return CD_ERR_ARG;
    }
    const queue *q = &sp->q[i];
    double now = cdi_monotonic();
    int nomem = 0;
    out->name = dup_or_null(q->name, &nomem);
    out->url = dup_or_null(q->dest ? q->dest->target : NULL, &nomem);
    out->last_error = dup_or_null(q->last_error, &nomem);
    out->depth = q->next - q->head;
    out->sent = q->sent;
    out->refused = q->refused;
    out->failures = q->failures;
    out->retry_in = q->next_try > now ? q->next_try - now : 0;
    pthread_mutex_unlock(&sp->mu);
    if (nomem) {
        cdi_spool_queue_info_clear(out);
        return CD_ERR_NOMEM;
    }
    return CD_OK;
}

void cdi_spool_queue_info_clear(cd_spool_queue_info *qi)
{
    free(qi->name);
    free(qi->url);
    free(qi->last_error);
    memset(qi, 0, sizeof *qi);
}
