/*
 * service.c - the running desk of copydesk serve, its versions and its
 * spool (see service.h).
 *
 * The pool: a "generation" is one version of the desk loaded N times (a
 * cd_desk is single-threaded; N is the number of HTTP threads plus one).
 * A request leases one copy and gives it back; a new generation replaces
 * the current one under the mutex, and the old one is freed when its
 * last lease comes back, so that a reload never waits for requests and
 * never pulls a desk from under one.
 *
 * Url deliveries: every copy is loaded with the spool folder of the
 * state folder, so its url destinations append their stories to the one
 * spool of the process (deliver/deliver_spool.h), the same as watch's
 * desk; a route request whose story went to a url destination syncs the
 * spool before it answers 202.  Watch's thread drains it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "deliver/deliver.h"
#include "deliver/deliver_spool.h"
#include "desk/desk_describe.h"
#include "desk/desk_live.h"
#include "live/held.h"
#include "serve/service.h"

#define MAX_DESK_TEXT ((size_t)4 << 20)

typedef struct desk_gen desk_gen;

struct cd_lease {
    cd_service *svc;
    desk_gen *gen;
    cd_desk *desk;
};

struct desk_gen {
    uint64_t version;
    char *text;               /* the source as loaded */
    size_t len;
    cd_lease *leases;         /* n copies */
    size_t n;
    cd_lease **idle;          /* those not lent */
    size_t nidle;
    size_t lent;
    int current;
    time_t loaded_at;
};

struct cd_service {
    cd_service_opts o;
    char *config, *state, *token, *cors, *versions, *spool_dir, *held_dir;
    FILE *log;
    pthread_mutex_t mu;       /* the pool, the reload status */
    pthread_cond_t cv;
    desk_gen *gen;
    pthread_mutex_t admin;    /* one reload, PUT or rollback at a time */
    cd_spool *spool;          /* one use of the spool the desks append to */
    cd_archive *archive;      /* routed stories (shared with watch), or NULL */
    cd_held *held;            /* stories a rule held (shared with watch, which releases them) */
    cd_metrics *metrics;
    _Atomic int ready;
    struct stat cfg_st;       /* the desk file when last read */
    uint64_t max_version;
    uint64_t reloads;
    time_t reload_at;
    int reload_ok;
    char *reload_msg, *reload_why;
};

/* ---- small helpers ------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

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

/* The whole file, up to max bytes; NULL (errno set) when it cannot be read. */
static char *read_text(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cd_buf b = { 0 };
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= max)
        cdi_buf_put(&b, chunk, n);
    fclose(f);
    if (b.failed || b.len > max) {
        cdi_buf_free(&b);
        errno = b.len > max ? EFBIG : ENOMEM;
        return NULL;
    }
    if (!b.data)
        cdi_buf_put(&b, "", 0);
    *len = b.len;
    return b.data;
}

/* Write data to path through a hidden temporary file in the same folder,
 * synced, then renamed: readers see the old text or the new, whole.
 * The mode of the file replaced is kept (0644 for a new one). */
static cd_status write_atomic(const char *path, const char *data, size_t len, cd_error *err)
{
    const char *slash = strrchr(path, '/');
    cd_buf tmp = { 0 };
    if (slash)
        cdi_buf_printf(&tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
    else
        cdi_buf_printf(&tmp, ".%s.XXXXXX", path);
    if (tmp.failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    int fd = mkstemp(tmp.data);
    if (fd < 0) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
        cdi_buf_free(&tmp);
        return st;
    }
    struct stat sb;
    fchmod(fd, stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644);
    cd_status st = cdi_write_fd(fd, data, len, path, err);
    if (st == CD_OK && fsync(fd) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && st == CD_OK)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    if (st == CD_OK && rename(tmp.data, path) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
    if (st != CD_OK)
        unlink(tmp.data);
    cdi_buf_free(&tmp);
    return st;
}

/* ---- the log -------------------------------------------------------------------- */

void cdi_service_log(cd_service *s, const char *event, ...)
{
    if (s->o.quiet)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char t[40];
    iso_time(ts.tv_sec, t, sizeof t);
    cd_buf b = { 0 };
    cdi_buf_printf(&b, "%.19s.%03ldZ %s", t, ts.tv_nsec / 1000000, event);
    va_list ap;
    va_start(ap, event);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        if (!v)
            v = "-";
        int quote = !*v || strpbrk(v, " \"=\t\n") != NULL;
        cdi_buf_printf(&b, " %s=%s", k, quote ? "\"" : "");
        for (const char *p = v; *p; p++) {
            if (*p == '"' || *p == '\\')
                cdi_buf_printf(&b, "\\%c", *p);
            else if ((unsigned char)*p < 0x20)
                cdi_buf_puts(&b, " ");
            else
                cdi_buf_put(&b, p, 1);
        }
        if (quote)
            cdi_buf_puts(&b, "\"");
    }
    va_end(ap);
    cdi_buf_puts(&b, "\n");
    if (!b.failed) {
        fwrite(b.data, 1, b.len, s->log);
        fflush(s->log);
    }
    cdi_buf_free(&b);
}

/* ---- versions -------------------------------------------------------------------- */

static char *version_path(cd_service *s, uint64_t v)
{
    char name[40];
    snprintf(name, sizeof name, "%06llu.lua", (unsigned long long)v);
    return join(s->versions, name);
}

static void scan_versions(cd_service *s)
{
    DIR *d = opendir(s->versions);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        unsigned long long v = strtoull(e->d_name, &end, 10);
        if (end != e->d_name && !strcmp(end, ".lua") && v > s->max_version)
            s->max_version = v;
    }
    if (d)
        closedir(d);
}

static uint64_t read_current(cd_service *s)
{
    char *p = join(s->versions, "current");
    size_t len;
    char *t = p ? read_text(p, 64, &len) : NULL;
    uint64_t v = t ? strtoull(t, NULL, 10) : 0;
    free(t);
    free(p);
    return v;
}

static void write_current(cd_service *s, uint64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%llu\n", (unsigned long long)v);
    char *p = join(s->versions, "current");
    cd_error e;
    if (p && write_atomic(p, num, (size_t)n, &e) != CD_OK)
        cdi_service_log(s, "error", "what", "desk versions", "error", e.msg, NULL);
    free(p);
}

/* The version number of text: base when that version is the same text,
 * else a new version, stored; recorded as the running one. */
static uint64_t version_of(cd_service *s, uint64_t base, const char *text, size_t len)
{
    if (base) {
        char *p = version_path(s, base);
        size_t n;
        char *old = p ? read_text(p, MAX_DESK_TEXT, &n) : NULL;
        int same = old && n == len && !memcmp(old, text, len);
        free(old);
        free(p);
        if (same) {
            write_current(s, base);
            return base;
        }
    }
    uint64_t v = s->max_version + 1;
    char *p = version_path(s, v);
    cd_error e;
    if (!p || write_atomic(p, text, len, &e) != CD_OK) {
        cdi_service_log(s, "error", "what", "desk versions", "error", p ? e.msg : "out of memory",
                        NULL);
        free(p);
        return base;
    }
    free(p);
    s->max_version = v;
    write_current(s, v);
    return v;
}

/* ---- checking and loading a desk ---------------------------------------------------- */

/* Replace every occurrence of from by to in the NUL-terminated msg. */
static void replace_in(char *msg, size_t cap, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    if (!fl)
        return;
    char *p = msg;
    while ((p = strstr(p, from))) {
        size_t rest = strlen(p + fl);
        if ((size_t)(p - msg) + tl + rest + 1 > cap)
            return;
        memmove(p + tl, p + fl, rest + 1);
        memcpy(p, to, tl);
        p += tl;
    }
}

typedef struct problems {
    cd_buf *out;
    size_t n;
    const char *from, *to;
} problems;

static void on_problem(const char *msg, void *ud)
{
    problems *p = ud;
    if (!p->out)
        return;
    char m[1200];
    snprintf(m, sizeof m, "%s", msg);
    replace_in(m, sizeof m, p->from, p->to);
    cdi_buf_puts(p->out, p->n++ ? "," : "");
    cdi_buf_json_string(p->out, m, strlen(m));
}

typedef struct expects {
    cd_buf *out;
    const char *from, *to;
} expects;

/* One expect case's result: its path shown as the desk file's, and
 * appended to the answer. */
static void on_expect(void *ud, size_t i, cd_expect_result *r)
{
    expects *x = ud;
    replace_in(r->name, sizeof r->name, x->from, x->to);
    replace_in(r->detail, sizeof r->detail, x->from, x->to);
    if (!x->out)
        return;
    cdi_buf_puts(x->out, i ? ",{\"name\":" : "{\"name\":");
    cdi_buf_json_string(x->out, r->name, strlen(r->name));
    cdi_buf_printf(x->out, ",\"passed\":%s,\"detail\":", r->passed ? "true" : "false");
    cdi_buf_json_string(x->out, r->detail, strlen(r->detail));
    cdi_buf_puts(x->out, "}");
}

/* Load path as a desk, validate it, run its expect cases.  Returns the
 * desk when it loads and every case passes, else NULL with msg saying
 * why.  With out, appends "problems":[..],"expects":[..] members; the
 * path shown in messages is shown_as. */
static cd_desk *check_desk(cd_service *s, const char *path, const char *shown_as, cd_buf *out,
                           char *msg, size_t cap)
{
    cd_desk *desk;
    cd_error e;
    if (cd_desk_load(path, &s->o.desk, &desk, &e) != CD_OK) {
        snprintf(msg, cap, "%s", e.msg);
        replace_in(msg, cap, path, shown_as);
        if (out) {
            cdi_buf_puts(out, ",\"problems\":[");
            cdi_buf_json_string(out, msg, strlen(msg));
            cdi_buf_puts(out, "],\"expects\":[]");
        }
        return NULL;
    }
    problems p = { out, 0, path, shown_as };
    if (out)
        cdi_buf_puts(out, ",\"problems\":[");
    cd_desk_validate(desk, on_problem, &p);
    if (out)
        cdi_buf_puts(out, "],\"expects\":[");
    expects x = { out, path, shown_as };
    size_t failed = cdi_desk_check_expects(desk, on_expect, &x, msg, cap);
    if (out)
        cdi_buf_puts(out, "]");
    if (failed) {
        cd_desk_free(desk);
        return NULL;
    }
    return desk;
}

/* A rule held a story routed over HTTP: kept on disk, in the held
 * folder watch releases, before the request is answered. */
static cd_status hold_story(void *ud, double until, const char *id, const char *json, size_t len,
                            const char *const *route, size_t nroute, cd_error *err)
{
    cd_service *s = ud;
    return cdi_held_add(s->held, until, id, json, len, route, nroute, err);
}

static void gen_free(desk_gen *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        cd_desk_free(g->leases[i].desk);
    free(g->leases);
    free(g->idle);
    free(g->text);
    free(g);
}

/* A generation from first (checked already) and n - 1 more copies of
 * the desk file. */
static desk_gen *make_gen(cd_service *s, cd_desk *first, char *text, size_t len, char *msg,
                          size_t cap)
{
    size_t n = s->o.desks ? s->o.desks : 1;
    desk_gen *g = calloc(1, sizeof *g);
    if (g) {
        g->leases = calloc(n, sizeof *g->leases);
        g->idle = calloc(n, sizeof *g->idle);
    }
    if (!g || !g->leases || !g->idle) {
        snprintf(msg, cap, "out of memory");
        cd_desk_free(first);
        free(text);
        gen_free(g);
        return NULL;
    }
    g->text = text;
    g->len = len;
    g->loaded_at = time(NULL);
    for (size_t i = 0; i < n; i++) {
        cd_error e;
        cd_desk *d = first;
        first = NULL;
        if (!d && cd_desk_load(s->config, &s->o.desk, &d, &e) != CD_OK) {
            snprintf(msg, cap, "%s", e.msg);
            gen_free(g);
            return NULL;
        }
        cdi_desk_set_hold(d, hold_story, s);
        g->leases[i] = (cd_lease){ s, g, d };
        g->n++;
        g->idle[g->nidle++] = &g->leases[i];
    }
    return g;
}

/* Make g the running generation. */
static void install(cd_service *s, desk_gen *g)
{
    pthread_mutex_lock(&s->mu);
    desk_gen *old = s->gen;
    s->gen = g;
    g->current = 1;
    if (old)
        old->current = 0;
    int free_old = old && old->lent == 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (free_old)
        gen_free(old);
}

static void note_reload(cd_service *s, int ok, const char *why, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    s->reloads++;
    s->reload_at = time(NULL);
    s->reload_ok = ok;
    set_str(&s->reload_msg, msg);
    set_str(&s->reload_why, why);
    pthread_mutex_unlock(&s->mu);
    cdi_metrics_reload(s->metrics, ok);
    cdi_service_log(s, ok ? "reload" : "reload-failed", "config", s->config, "why", why,
                    ok ? "result" : "error", msg, ok ? NULL : "keeping", "the previous desk",
                    NULL);
}

/* Load the desk file as it is now into a generation: checked, and its
 * version recorded (base when it is that version's text, else a new
 * one).  NULL with msg when it does not load or pass. */
static desk_gen *load_current(cd_service *s, uint64_t base, char *msg, size_t cap)
{
    size_t len;
    char *text = read_text(s->config, MAX_DESK_TEXT, &len);
    if (!text) {
        snprintf(msg, cap, "%s: %s", s->config, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (stat(s->config, &sb) == 0)
        s->cfg_st = sb;
    cd_desk *first = check_desk(s, s->config, s->config, NULL, msg, cap);
    if (!first) {
        free(text);
        return NULL;
    }
    char ok[1200];
    snprintf(ok, sizeof ok, "%s", msg);
    desk_gen *g = make_gen(s, first, text, len, msg, cap);
    if (!g)
        return NULL;
    g->version = version_of(s, base, text, len);
    snprintf(msg, cap, "%s", ok);
    return g;
}

/* ---- open, free ----------------------------------------------------------------------- */

cd_status cdi_service_open(const cd_service_opts *o, cd_service **out, cd_error *err)
{
    *out = NULL;
    cd_service *s = calloc(1, sizeof *s);
    if (!s)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    s->o = *o;
    s->log = o->log ? o->log : stderr;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->admin, NULL);
    s->config = dup_or_null(o->config);
    s->state = dup_or_null(o->state);
    s->token = dup_or_null(o->token);
    s->cors = dup_or_null(o->cors_origin);
    s->versions = s->state ? join(s->state, "desks") : NULL;
    s->spool_dir = s->state ? join(s->state, "spool") : NULL;
    s->held_dir = s->state ? join(s->state, "held") : NULL;
    s->metrics = cdi_metrics_new();
    s->o.config = s->config;
    s->o.state = s->state;
    s->o.token = s->token;
    s->o.cors_origin = s->cors;
    s->o.desk.spool_dir = s->spool_dir;
    if (!s->config || !s->state || !s->versions || !s->spool_dir || !s->held_dir || !s->metrics ||
        (o->token && !s->token) || (o->cors_origin && !s->cors)) {
        cdi_service_free(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    cd_status st = cdi_mkdirs(s->state, err);
    if (st == CD_OK)
        st = cdi_mkdirs(s->versions, err);
    if (st == CD_OK)
        st = cdi_spool_open(s->spool_dir, &s->spool, err);
    if (st == CD_OK)
        st = cdi_held_open(s->held_dir, &s->held, err);
    if (st != CD_OK) {
        cdi_service_free(s);
        return st;
    }
    /* the archive serves GET /v1/stories and diffs: without it, routing goes on */
    cd_error ae;
    if (!o->no_archive && cdi_archive_open(s->state, NULL, &s->archive, &ae) != CD_OK)
        cdi_service_log(s, "error", "what", "archive", "error", ae.msg, NULL);
    scan_versions(s);
    char msg[1200];
    desk_gen *g = load_current(s, read_current(s), msg, sizeof msg);
    if (!g) {
        cdi_service_free(s);
        return cd_error_set(err, CD_ERR_SCRIPT, "%s", msg);
    }
    install(s, g);
    atomic_store(&s->ready, 1);
    *out = s;
    return CD_OK;
}

void cdi_service_free(cd_service *s)
{
    if (!s)
        return;
    gen_free(s->gen);
    cdi_spool_free(s->spool);
    cdi_archive_close(s->archive);
    cdi_held_free(s->held);
    cdi_metrics_free(s->metrics);
    free(s->config);
    free(s->state);
    free(s->token);
    free(s->cors);
    free(s->versions);
    free(s->spool_dir);
    free(s->held_dir);
    free(s->reload_msg);
    free(s->reload_why);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->admin);
    free(s);
}

const cd_service_opts *cdi_service_get_opts(const cd_service *s) { return &s->o; }
cd_metrics *cdi_service_metrics(cd_service *s) { return s->metrics; }
void cdi_service_set_ready(cd_service *s, int ready) { atomic_store(&s->ready, ready); }
int cdi_service_ready(const cd_service *s) { return atomic_load(&((cd_service *)s)->ready); }

/* ---- leases ------------------------------------------------------------------------------ */

cd_lease *cdi_service_lease(cd_service *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->gen->nidle)
        pthread_cond_wait(&s->cv, &s->mu);
    desk_gen *g = s->gen;
    cd_lease *l = g->idle[--g->nidle];
    g->lent++;
    pthread_mutex_unlock(&s->mu);
    return l;
}

cd_desk *cdi_lease_desk(cd_lease *l) { return l->desk; }

void cdi_service_return(cd_service *s, cd_lease *l)
{
    desk_gen *g = l->gen;
    pthread_mutex_lock(&s->mu);
    g->idle[g->nidle++] = l;
    g->lent--;
    int free_it = !g->current && g->lent == 0;
    if (g->current)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (free_it)
        gen_free(g);
}

/* ---- the spool ----------------------------------------------------------------------------- */

cd_status cdi_service_sync(cd_service *s, cd_error *err)
{
    return cdi_spool_sync(s->spool, err);
}

uint64_t cdi_service_spool_depth(cd_service *s)
{
    return cdi_spool_depth(s->spool);
}

uint64_t cdi_service_held(cd_service *s)
{
    cdi_held_lock(s->held);
    uint64_t n = cdi_held_count(s->held);
    cdi_held_unlock(s->held);
    return n;
}

cd_held *cdi_service_held_store(cd_service *s)
{
    return s->held;
}

cd_archive *cdi_service_archive(cd_service *s)
{
    return s->archive;
}

/* ---- reloads ------------------------------------------------------------------------------- */

static int file_changed(cd_service *s)
{
    struct stat sb;
    if (stat(s->config, &sb) != 0)
        return 0;   /* gone for a moment (an editor's save): wait for it */
    return sb.st_mtim.tv_sec != s->cfg_st.st_mtim.tv_sec ||
           sb.st_mtim.tv_nsec != s->cfg_st.st_mtim.tv_nsec || sb.st_size != s->cfg_st.st_size ||
           sb.st_ino != s->cfg_st.st_ino;
}

int cdi_service_reload(cd_service *s, int force, const char *why)
{
    pthread_mutex_lock(&s->admin);
    int done = 0;
    if (force || file_changed(s)) {
        char msg[1200];
        desk_gen *g = load_current(s, cdi_service_version(s), msg, sizeof msg);
        if (g)
            install(s, g);
        note_reload(s, g != NULL, why, msg);
        done = g != NULL;
    }
    pthread_mutex_unlock(&s->admin);
    return done;
}

void cdi_service_reload_failed(cd_service *s, const char *why, const char *msg)
{
    pthread_mutex_lock(&s->admin);
    note_reload(s, 0, why, msg);
    pthread_mutex_unlock(&s->admin);
}

uint64_t cdi_service_version(cd_service *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t v = s->gen->version;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* ---- describing ------------------------------------------------------------------------------ */

void cdi_service_describe(cd_service *s, cd_buf *out)
{
    char t[40];
    pthread_mutex_lock(&s->mu);
    desk_gen *g = s->gen;
    g->lent++;   /* held, so that a reload cannot free it under us */
    cdi_buf_printf(out, "{\"version\":%llu,\"loaded_at\":", (unsigned long long)g->version);
    iso_time(g->loaded_at, t, sizeof t);
    cdi_buf_json_string(out, t, strlen(t));
    cdi_buf_printf(out, ",\"versions\":%llu,\"reload\":{\"count\":%llu",
                   (unsigned long long)s->max_version, (unsigned long long)s->reloads);
    if (s->reload_at) {
        iso_time(s->reload_at, t, sizeof t);
        cdi_buf_puts(out, ",\"at\":");
        cdi_buf_json_string(out, t, strlen(t));
        cdi_buf_printf(out, ",\"ok\":%s,\"why\":", s->reload_ok ? "true" : "false");
        cdi_buf_json_string(out, s->reload_why ? s->reload_why : "", s->reload_why ? strlen(s->reload_why) : 0);
        cdi_buf_puts(out, ",\"message\":");
        cdi_buf_json_string(out, s->reload_msg ? s->reload_msg : "", s->reload_msg ? strlen(s->reload_msg) : 0);
    }
    cdi_buf_puts(out, "},\"desk\":");
    pthread_mutex_unlock(&s->mu);
    /* only what loading fixed is read: safe while another thread routes */
    cdi_desk_describe_json(g->leases[0].desk, out);
    cdi_buf_puts(out, "}");
    pthread_mutex_lock(&s->mu);
    g->lent--;
    int free_it = !g->current && g->lent == 0;
    pthread_mutex_unlock(&s->mu);
    if (free_it)
        gen_free(g);
}

char *cdi_service_text(cd_service *s, size_t *len, uint64_t *version)
{
    pthread_mutex_lock(&s->mu);
    char *t = malloc(s->gen->len + 1);
    if (t) {
        memcpy(t, s->gen->text, s->gen->len);
        t[s->gen->len] = '\0';
        *len = s->gen->len;
        *version = s->gen->version;
    }
    pthread_mutex_unlock(&s->mu);
    return t;
}

void cdi_service_reload_message(cd_service *s, char *msg, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    snprintf(msg, cap, "%s", s->reload_msg ? s->reload_msg : "");
    pthread_mutex_unlock(&s->mu);
}

void cdi_service_source(cd_service *s, cd_buf *out)
{
    pthread_mutex_lock(&s->mu);
    cdi_buf_put(out, s->gen->text, s->gen->len);
    pthread_mutex_unlock(&s->mu);
}

/* ---- PUT /v1/desk and rollback ------------------------------------------------------------------ */

/* A hidden file beside the desk file, so that its requires and models
 * resolve as the desk file's own; the watchers of desk folders skip
 * hidden names. */
static char *candidate_path(cd_service *s, const char *text, size_t len, cd_error *err)
{
    const char *slash = strrchr(s->config, '/');
    cd_buf p = { 0 };
    if (slash)
        cdi_buf_printf(&p, "%.*s/.%s.candidate.XXXXXX", (int)(slash - s->config), s->config,
                       slash + 1);
    else
        cdi_buf_printf(&p, ".%s.candidate.XXXXXX", s->config);
    if (p.failed) {
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int fd = mkstemp(p.data);
    if (fd < 0) {
        cd_error_set(err, CD_ERR_IO, "%s: %s", p.data, strerror(errno));
        cdi_buf_free(&p);
        return NULL;
    }
    cd_status st = cdi_write_fd(fd, text, len, p.data, err);
    close(fd);
    if (st != CD_OK) {
        unlink(p.data);
        cdi_buf_free(&p);
        return NULL;
    }
    return p.data;
}

int cdi_service_verror(cd_buf *out, int status, const char *code, const char *fmt, va_list ap)
{
    char msg[1200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cdi_buf_reset(out);
    cdi_buf_printf(out, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    cdi_buf_json_string(out, msg, strlen(msg));
    cdi_buf_puts(out, "}}");
    return status;
}

int cdi_service_error(cd_buf *out, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cdi_service_verror(out, status, code, fmt, ap);
    va_end(ap);
    return status;
}

/* Write text as the desk file and run it; on failure the old text goes
 * back.  Returns the new version's number, or 0 with msg. */
static uint64_t replace_desk(cd_service *s, uint64_t base, const char *text, size_t len,
                             const char *why, char *msg, size_t cap)
{
    size_t oldlen;
    char *old = read_text(s->config, MAX_DESK_TEXT, &oldlen);
    cd_error e;
    if (!old || write_atomic(s->config, text, len, &e) != CD_OK) {
        snprintf(msg, cap, "cannot write %s: %s", s->config, old ? e.msg : strerror(errno));
        free(old);
        return 0;
    }
    desk_gen *g = load_current(s, base, msg, cap);
    if (!g) {
        if (write_atomic(s->config, old, oldlen, &e) == CD_OK) {
            struct stat sb;
            if (stat(s->config, &sb) == 0)
                s->cfg_st = sb;
        }
        free(old);
        note_reload(s, 0, why, msg);
        return 0;
    }
    free(old);
    install(s, g);
    note_reload(s, 1, why, msg);
    return g->version;
}

int cdi_service_put_desk(cd_service *s, const char *text, size_t len, int apply, cd_buf *out)
{
    if (len > MAX_DESK_TEXT)
        return cdi_service_error(out, 413, "too_large", "%s", "a desk file is at most 4 MiB");
    if (memchr(text, '\0', len))
        return cdi_service_error(out, 400, "bad_desk", "%s", "a desk file is text: it holds a NUL byte");
    pthread_mutex_lock(&s->admin);
    cd_error e;
    char *cand = candidate_path(s, text, len, &e);
    if (!cand) {
        pthread_mutex_unlock(&s->admin);
        return cdi_service_error(out, 500, "internal", "%s", e.msg);
    }
    char msg[1200];
    cdi_buf_puts(out, "{\"config\":");
    cdi_buf_json_string(out, s->config, strlen(s->config));
    cd_desk *d = check_desk(s, cand, s->config, out, msg, sizeof msg);
    unlink(cand);
    free(cand);
    int status = d ? 200 : 422;
    cdi_buf_printf(out, ",\"passed\":%s,\"message\":", d ? "true" : "false");
    cdi_buf_json_string(out, msg, strlen(msg));
    cd_desk_free(d);
    uint64_t version = 0;
    if (d && apply) {
        version = replace_desk(s, cdi_service_version(s), text, len, "PUT /v1/desk", msg,
                               sizeof msg);
        if (!version)
            status = 500;
    }
    cdi_buf_printf(out, ",\"applied\":%s", version ? "true" : "false");
    if (version)
        cdi_buf_printf(out, ",\"version\":%llu", (unsigned long long)version);
    else if (d && apply) {
        cdi_buf_puts(out, ",\"apply_error\":");
        cdi_buf_json_string(out, msg, strlen(msg));
    }
    cdi_buf_puts(out, "}");
    pthread_mutex_unlock(&s->admin);
    return status;
}

int cdi_service_rollback(cd_service *s, cd_buf *out)
{
    pthread_mutex_lock(&s->admin);
    uint64_t cur = cdi_service_version(s);
    char *text = NULL;
    size_t len = 0;
    uint64_t v = cur;
    while (!text && v > 1) {
        char *p = version_path(s, --v);
        text = p ? read_text(p, MAX_DESK_TEXT, &len) : NULL;
        free(p);
    }
    if (!text) {
        pthread_mutex_unlock(&s->admin);
        return cdi_service_error(out, 409, "no_version", "%s", "there is no version before the running one");
    }
    /* the restored text is version v again, not a new version */
    char msg[1200];
    uint64_t got = replace_desk(s, v, text, len, "POST /v1/desk/rollback", msg, sizeof msg);
    free(text);
    int status;
    if (!got) {
        status = cdi_service_error(out, 409, "rollback_failed", "%s", msg);
    } else {
        cdi_buf_printf(out, "{\"rolled_back_from\":%llu,\"version\":%llu,\"message\":",
                       (unsigned long long)cur, (unsigned long long)got);
        cdi_buf_json_string(out, msg, strlen(msg));
        cdi_buf_puts(out, "}");
        status = 200;
    }
    pthread_mutex_unlock(&s->admin);
    return status;
}
