/*
 * watch_inbox.c - the inbox of copydesk watch.  Files already there when
 * watch starts are routed first, in name order, then those that arrive
 * (inotify: closed after writing, or renamed in) in order of arrival.
 * Each file's stories are routed, the spool is synced, and only then does
 * the file move to done/, or to failed/ with NAME.error saying why: a kill
 * before the move routes the file again, never loses it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fs.h"
#include "live/watch_internal.h"

/* ---- the queue --------------------------------------------------------------------- */

void cd_inbox_push(cd_inbox *q, const char *name)
{
    if (name[0] == '.')
        return;   /* hidden: a writer's temporary file */
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->names[i], name))
            return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        char **v = realloc(q->names, cap * sizeof *v);
        if (!v) {
            q->rescan = 1;
            return;
        }
        q->names = v;
        q->cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        q->rescan = 1;
        return;
    }
    q->names[q->n++] = n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cd_inbox_scan(cd_inbox *q, const char *dir)
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
        char *p = cd_path_join(dir, e->d_name);
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
        cd_inbox_push(q, names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

char *cd_inbox_take(cd_inbox *q)
{
    if (!q->n)
        return NULL;
    char *name = q->names[0];
    memmove(q->names, q->names + 1, (q->n - 1) * sizeof *q->names);
    q->n--;
    return name;
}

void cd_inbox_free(cd_inbox *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->names[i]);
    free(q->names);
    memset(q, 0, sizeof *q);
}

/* ---- routing a file ---------------------------------------------------------------- */

/* Move inbox/name to inbox/sub/name (name.1, name.2, ... when taken). */
static cd_status move_to(watch *w, const char *name, const char *sub, char **moved,
                         cd_error *err)
{
    char *dir = cd_path_join(w->o->inbox, sub);
    char *from = cd_path_join(w->o->inbox, name);
    cd_buf to = { 0 };
    cd_status st = dir && from ? cd_mkdirs(dir, err)
                               : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
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
        cd_watch_note_error(w, "error", name, e.msg);
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
    cd_log_begin(&l, w, "file");
    cd_log_str(&l, "name", name);
    cd_log_str(&l, "result", "failed");
    cd_log_str(&l, "error", why);
    cd_log_end(&l);
}

/* Route the stories of inbox/name, then move it out.  Stops between two
 * stories when a stop was asked for: the file stays, and is routed again
 * (from its start) next time. */
void cd_watch_route_file(watch *w, const char *name)
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
            cd_watch_note_error(w, "error", name, e.msg);
            nbad++;
            continue;
        }
        char msg[1100];
        if (cd_watch_route_story(w, &s, s.source ? s.source : path, msg, sizeof msg) != 0) {
            cd_buf_printf(&why, "%s%s", why.len ? "\n" : "", msg);
            nbad++;
        }
        nstories++;
        cd_story_clear(&s);
        cd_watch_read_signals(w);
        if (w->stopping)
            break;
    }
    cd_reader_free(r);
    if (cd_spool_sync(w->spool, &e) != CD_OK) {
        cd_watch_note_error(w, "error", "spool", e.msg);   /* the file stays: routed again later */
    } else if (got != CD_READ_END) {
        /* stopped in the middle: leave the file for the next run */
    } else if (nbad) {
        file_failed(w, name, why.data ? why.data : "failed");
    } else if (move_to(w, name, "done", NULL, &e) != CD_OK) {
        cd_watch_note_error(w, "error", name, e.msg);
    } else {
        w->files_done++;
        logline l;
        cd_log_begin(&l, w, "file");
        cd_log_str(&l, "name", name);
        cd_log_str(&l, "result", "done");
        cd_log_num(&l, "stories", (double)nstories);
        cd_log_end(&l);
    }
    w->status_dirty = 1;
    cd_buf_free(&why);
    free(path);
}
