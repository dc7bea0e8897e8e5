/*
 * watch_inbox.c - the inbox of copydesk watch.  Files already there when
 * watch starts are routed first, in name order, then those that arrive
 * (inotify: closed after writing, or renamed in) in order of arrival.
 * A file is routed once complete and claimed (watch_claim.c): until then
 * it waits in the queue's deferred list.  Each file's stories are routed
 * from processing/PID/, the spool is synced, and only then does the file
 * move to done/, or to failed/ with NAME.error saying why: a kill before
 * the move routes the file again, never loses it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "live/watch_internal.h"

/* ---- the queue --------------------------------------------------------------------- */

static void push(cd_inbox *q, const char *name, int moved)
{
    if (name[0] == '.')
        return;   /* hidden: a writer's temporary file */
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->names[i], name)) {
            q->moved[i] |= (unsigned char)moved;
            return;
        }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        char **v = realloc(q->names, cap * sizeof *v);
        if (v)
            q->names = v;
        unsigned char *m = v ? realloc(q->moved, cap) : NULL;
        if (!m) {
            q->rescan = 1;
            return;
        }
        q->moved = m;
        q->cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        q->rescan = 1;
        return;
    }
    q->moved[q->n] = (unsigned char)moved;
    q->names[q->n++] = n;
}

void cdi_inbox_push(cd_inbox *q, const char *name)
{
    push(q, name, 0);
}

void cdi_inbox_push_moved(cd_inbox *q, const char *name)
{
    push(q, name, 1);
}

void cdi_inbox_defer(cd_inbox *q, const char *name, int moved, double due)
{
    for (size_t i = 0; i < q->nlater; i++)
        if (!strcmp(q->later[i], name)) {
            q->due[i] = due;
            q->later_moved[i] |= (unsigned char)moved;
            return;
        }
    if (q->nlater == q->later_cap) {
        size_t cap = q->later_cap ? q->later_cap * 2 : 16;
        char **v = realloc(q->later, cap * sizeof *v);
        if (v)
            q->later = v;
        double *d = v ? realloc(q->due, cap * sizeof *d) : NULL;
        if (d)
            q->due = d;
        unsigned char *m = d ? realloc(q->later_moved, cap) : NULL;
        if (!m) {
            q->rescan = 1;
            return;
        }
        q->later_moved = m;
        q->later_cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        q->rescan = 1;
        return;
    }
    q->later[q->nlater] = n;
    q->due[q->nlater] = due;
    q->later_moved[q->nlater] = (unsigned char)moved;
    q->nlater++;
}

double cdi_inbox_wake(cd_inbox *q, double now)
{
    double next = -1;
    for (size_t i = 0; i < q->nlater; ) {
        if (q->due[i] <= now) {     /* queued in the order they were deferred */
            push(q, q->later[i], q->later_moved[i]);
            free(q->later[i]);
            q->nlater--;
            memmove(q->later + i, q->later + i + 1, (q->nlater - i) * sizeof *q->later);
            memmove(q->due + i, q->due + i + 1, (q->nlater - i) * sizeof *q->due);
            memmove(q->later_moved + i, q->later_moved + i + 1, q->nlater - i);
            continue;
        }
        if (next < 0 || q->due[i] - now < next)
            next = q->due[i] - now;
        i++;
    }
    return next;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cdi_inbox_scan(cd_inbox *q, const char *dir)
{
    q->rescan = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = cdi_path_join(dir, e->d_name);
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
        cdi_inbox_push(q, names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

char *cdi_inbox_take_moved(cd_inbox *q, int *moved)
{
    if (!q->n)
        return NULL;
    char *name = q->names[0];
    *moved = q->moved[0];
    memmove(q->names, q->names + 1, (q->n - 1) * sizeof *q->names);
    memmove(q->moved, q->moved + 1, q->n - 1);
    q->n--;
    return name;
}

char *cdi_inbox_take(cd_inbox *q)
{
    int moved;
    return cdi_inbox_take_moved(q, &moved);
}

void cdi_inbox_free(cd_inbox *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->names[i]);
    for (size_t i = 0; i < q->nlater; i++)
        free(q->later[i]);
    free(q->names);
    free(q->moved);
    free(q->later);
    free(q->due);
    free(q->later_moved);
    memset(q, 0, sizeof *q);
}

/* ---- routing a file ---------------------------------------------------------------- */

/* Move the claimed file from to inbox/sub/name (name.1, name.2, ... when
 * taken); sub NULL: back into the inbox itself. */
static cd_status move_to(watch *w, const char *from, const char *name, const char *sub,
                         char **moved, cd_error *err)
{
    char *dir = sub ? cdi_path_join(w->o->inbox, sub) : strdup(w->o->inbox);
    cd_status st = dir ? cdi_claim_move(from, dir, name, moved, err)
                       : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    free(dir);
    return st;
}

static void file_failed(watch *w, const char *from, const char *name, const char *why)
{
    char *moved = NULL;
    cd_error e;
    if (move_to(w, from, name, "failed", &moved, &e) != CD_OK) {
        cdi_watch_note_error(w, "error", name, e.msg);
        return;
    }
    cd_buf ef = { 0 };
    cdi_buf_printf(&ef, "%s.error", moved);
    FILE *f = ef.failed ? NULL : fopen(ef.data, "w");
    if (f) {
        fprintf(f, "%s\n", why);
        fclose(f);
    }
    cdi_buf_free(&ef);
    free(moved);
    w->files_failed++;
    logline l;
    cdi_log_begin(&l, w, "file");
    cdi_log_str(&l, "name", name);
    cdi_log_str(&l, "result", "failed");
    cdi_log_str(&l, "error", why);
    cdi_log_end(&l);
}

/* Put a claimed file back into the inbox, to be routed again. */
static void give_back(watch *w, const char *path, const char *name)
{
    cd_error e;
    if (move_to(w, path, name, NULL, NULL, &e) != CD_OK)
        cdi_watch_note_error(w, "error", name, e.msg);
}

/* Route the stories of inbox/name once it is complete and claimed, then
 * move it out.  Stops between two stories when a stop was asked for: the
 * file goes back to the inbox, and is routed again (from its start) next
 * time. */
void cdi_watch_route_file(watch *w, const char *name, int moved_in)
{
    double retry;
    int ready = cdi_claim_ready(w, name, moved_in, &retry);
    if (ready == 0)
        cdi_inbox_defer(&w->inbox, name, moved_in, cdi_monotonic() + retry);
    if (ready <= 0)
        return;
    char *path = cdi_claim_take(w, name);
    if (!path)
        return;   /* another watch claimed it */
    const char *inputs[] = { path };
    cd_reader *r;
    cd_error e;
    if (cd_reader_open(inputs, 1, NULL, &r, &e) != CD_OK) {
        file_failed(w, path, name, e.msg);
        free(path);
        return;
    }
    cd_buf why = { 0 };
    size_t nstories = 0, nbad = 0;
    cd_story s;
    int got;
    while ((got = cd_reader_next(r, &s, &e)) != CD_READ_END) {
        if (got == CD_READ_ERROR) {
            cdi_buf_printf(&why, "%s%s", why.len ? "\n" : "", e.msg);
            cdi_watch_note_error(w, "error", name, e.msg);
            nbad++;
            continue;
        }
        char msg[1100];
        if (cdi_watch_route_story(w, &s, s.source ? s.source : path, msg, sizeof msg) != 0) {
            cdi_buf_printf(&why, "%s%s", why.len ? "\n" : "", msg);
            nbad++;
        }
        nstories++;
        cd_story_clear(&s);
        cdi_watch_read_signals(w);
        if (w->stopping)
            break;
    }
    cd_reader_free(r);
    if (cdi_watch_sync(w, &e) != CD_OK) {
        cdi_watch_note_error(w, "error", "spool", e.msg);
        give_back(w, path, name);   /* routed again later */
    } else if (got != CD_READ_END) {
        give_back(w, path, name);   /* stopped in the middle: for the next run */
    } else if (nbad) {
        file_failed(w, path, name, why.data ? why.data : "failed");
    } else if (move_to(w, path, name, "done", NULL, &e) != CD_OK) {
        cdi_watch_note_error(w, "error", name, e.msg);
    } else {
        w->files_done++;
        logline l;
        cdi_log_begin(&l, w, "file");
        cdi_log_str(&l, "name", name);
        cdi_log_str(&l, "result", "done");
        cdi_log_num(&l, "stories", (double)nstories);
        cdi_log_end(&l);
    }
    w->status_dirty = 1;
    cdi_buf_free(&why);
    free(path);
}
