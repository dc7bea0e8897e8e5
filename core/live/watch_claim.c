/*
 * watch_claim.c - an inbox file is claimed before it is routed.
 *
 * Complete.  A file is routed only once no process has it open for
 * writing (a read lease, F_SETLEASE F_RDLCK, is refused while one does;
 * where leases are not allowed, as for another user's file without
 * CAP_LEASE, only the next rule holds) and, unless it was renamed into
 * the inbox (seen by inotify, or at start-up by a change time after the
 * last write), once it has not changed for SETTLE_S: a writer that closes
 * and opens again within that time is waited for.  The same at start-up
 * as during the run.  A writer that pauses longer between two opens must
 * write under a hidden name (.name) or elsewhere and rename the file in.
 *
 * Claimed.  A complete file is renamed into processing/PID/ under the
 * inbox before its first story is read: rename is atomic, so of two
 * watches on one inbox only one gets it; the other finds it gone.  Each
 * watch holds an flock on processing/PID/.lock; at start-up, the folders
 * whose lock is free belong to a watch that died, and their files go back
 * to the inbox to be routed again (at least once, never lost).
 */
#define _GNU_SOURCE     /* F_SETLEASE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "live/watch_internal.h"

#define SETTLE_S 1.0        /* quiet time of a file closed after writing */
#define BUSY_RETRY_S 0.25   /* look again at a file still open for writing */

/* Rename from to dir/name, or dir/name.1, name.2 ... when taken; the new
 * path in *moved (caller frees) when moved is set. */
cd_status cdi_claim_move(const char *from, const char *dir, const char *name, char **moved,
                         cd_error *err)
{
    cd_buf to = { 0 };
    cd_status st = cdi_mkdirs(dir, err);
    for (int k = 0; st == CD_OK; k++) {
        cdi_buf_reset(&to);
        cdi_buf_printf(&to, k ? "%s/%s.%d" : "%s/%s", dir, name, k);
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
    cdi_buf_free(&to);
    return st;
}

/* The files of a processing folder back to the inbox. */
static void return_files(watch *w, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = cdi_path_join(dir, e->d_name);
        cd_error err;
        if (p && cdi_claim_move(p, w->o->inbox, e->d_name, NULL, &err) != CD_OK)
            cdi_watch_note_error(w, "error", e->d_name, err.msg);
        free(p);
    }
    if (d)
        closedir(d);
}

/* A dead watch's folder: its files back to the inbox, the folder gone. */
static void give_back(watch *w, const char *dir)
{
    return_files(w, dir);
    char *lock = cdi_path_join(dir, ".lock");
    if (lock)
        unlink(lock);
    free(lock);
    rmdir(dir);
}

cd_status cdi_claim_open(watch *w, cd_error *err)
{
    /* a lease broken while held sends SIGIO, whose default kills */
    signal(SIGIO, SIG_IGN);
    char *base = cdi_path_join(w->o->inbox, "processing");
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    w->claim_dir = base ? cdi_path_join(base, pid) : NULL;
    char *lock = w->claim_dir ? cdi_path_join(w->claim_dir, ".lock") : NULL;
    cd_status st = lock ? cdi_mkdirs(w->claim_dir, err)
                        : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (st == CD_OK) {
        w->claim_lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (w->claim_lockfd < 0 || flock(w->claim_lockfd, LOCK_EX | LOCK_NB) != 0)
            st = cd_error_set(err, CD_ERR_IO, "%s: %s", lock, strerror(errno));
    }
    /* a dead watch with this process's id (a restarted container) left
     * files in this very folder: routed again too */
    if (st == CD_OK)
        return_files(w, w->claim_dir);
    /* the folders of watches that died: their files are routed again */
    DIR *d = st == CD_OK ? opendir(base) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, pid))
            continue;
        char *dir = cdi_path_join(base, e->d_name);
        char *other = dir ? cdi_path_join(dir, ".lock") : NULL;
        int fd = other ? open(other, O_RDWR | O_CLOEXEC) : -1;
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            give_back(w, dir);
        else if (fd < 0 && dir && errno == ENOENT)
            give_back(w, dir);      /* died before it made its lock */
        if (fd >= 0)
            close(fd);
        free(other);
        free(dir);
    }
    if (d)
        closedir(d);
    free(lock);
    free(base);
    return st;
}

void cdi_claim_close(watch *w)
{
    if (w->claim_dir) {
        char *lock = cdi_path_join(w->claim_dir, ".lock");
        if (lock)
            unlink(lock);
        free(lock);
        rmdir(w->claim_dir);    /* fails, keeping them, if files remain */
    }
    if (w->claim_lockfd >= 0)
        close(w->claim_lockfd);
    w->claim_lockfd = -1;
    free(w->claim_dir);
    w->claim_dir = NULL;
}

/* Is some process writing the file?  1 yes, 0 no, -1 cannot tell. */
static int open_for_writing(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = -1;
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        fcntl(fd, F_SETLEASE, F_UNLCK);
        r = 0;
    } else if (errno == EAGAIN) {
        r = 1;
    }
    close(fd);
    return r;
}

/* The inode changed after its data last did: renamed (or chmod-ed) once
 * written, as a writer that moves a finished file in does; a write updates
 * both times.  Tells the files found at start-up that were moved in. */
static int renamed_after_write(const struct stat *sb)
{
    return sb->st_ctim.tv_sec > sb->st_mtim.tv_sec ||
           (sb->st_ctim.tv_sec == sb->st_mtim.tv_sec && sb->st_ctim.tv_nsec > sb->st_mtim.tv_nsec);
}

int cdi_claim_ready(watch *w, const char *name, int moved_in, double *retry_s)
{
    char *path = cdi_path_join(w->o->inbox, name);
    struct stat sb;
    int r = 1;
    if (!path || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        r = -1;     /* gone (routed by another watch, removed) or not a file */
    } else if (open_for_writing(path) == 1) {
        *retry_s = BUSY_RETRY_S;
        r = 0;
    } else if (!moved_in && !renamed_after_write(&sb)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double age = (double)(now.tv_sec - sb.st_mtim.tv_sec) +
                     (double)(now.tv_nsec - sb.st_mtim.tv_nsec) / 1e9;
        if (age >= 0 && age < SETTLE_S) {
            *retry_s = SETTLE_S - age + 0.05;
            r = 0;
        }
    }
    free(path);
    return r;
}

char *cdi_claim_take(watch *w, const char *name)
{
    char *from = cdi_path_join(w->o->inbox, name);
    char *to = w->claim_dir && from ? cdi_path_join(w->claim_dir, name) : NULL;
    struct stat sb;
    if (to && lstat(to, &sb) == 0) {
        free(to);   /* a name already held (routed again after a failure) */
        to = NULL;
    }
    if (to && rename(from, to) != 0) {
        if (errno != ENOENT)
            cdi_watch_note_error(w, "error", name, strerror(errno));
        free(to);   /* ENOENT: another watch claimed it first */
        to = NULL;
    }
    free(from);
    return to;
}
