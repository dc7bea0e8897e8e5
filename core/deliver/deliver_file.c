/*
 * deliver_file.c - the local destination kinds: folder, jsonl, stdout.
 *
 * folder writes one file per story atomically (cdi_story_file_write); a
 * story delivered twice replaces its earlier file, a file holding another
 * story is never replaced.  jsonl appends each story as one line with a
 * single write(2) on an O_APPEND descriptor, so that lines of concurrent
 * writers do not interleave; a write cut short (a full disk, the file size
 * limit) is truncated back to where the line began, so the file never
 * ends in half a line that the next story would be glued to.
 *
 * Creating a file is most of what delivering to a folder costs (a few
 * hundred microseconds on a virtual disk): route stages each story's file
 * (cdi_dest_stage) on its worker threads, in parallel, and the delivery
 * made in input order only links it in place.  The staged file is unnamed
 * where the file system allows (see cdi_story_file_stage): creating a
 * named file locks the folder for the whole creation, and two threads
 * creating files in one folder then wait on each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "deliver/deliver_impl.h"
#include "base/buf.h"
#include "base/fs.h"

/* The file name of a story in a folder destination. */
static void story_file_name(const char *id, char *name, size_t cap)
{
    cdi_safe_filename(id, name, cap - 5);
    strcat(name, ".json");
}

static cd_status ready_dir(cd_dest *d, cd_error *err)
{
    if (!d->dir_ready) {
        cd_status st = cdi_mkdirs(d->target, err);
        if (st != CD_OK)
            return st;
        d->dir_ready = 1;
    }
    return CD_OK;
}

void cdi_dest_unstage(cd_dest *d)
{
    cdi_story_stage_drop(&d->staged);
}

void cdi_deliver_folder_stage(cd_dest *d, const char *id, const char *json, size_t len)
{
    cd_error err;
    cdi_dest_unstage(d);
    if (ready_dir(d, &err) != CD_OK)
        return;
    story_file_name(id, d->staged_name, sizeof d->staged_name);
    if (cdi_story_file_stage(d->target, d->staged_name, json, len, &d->staged, &err) != CD_OK)
        return;
    d->staged_len = len;
    d->staged_hash = XXH3_64bits(json, len);
}

cd_status cdi_deliver_folder(cd_dest *d, const char *id, const char *json, size_t len,
                             cd_error *err)
{
    cd_status st = ready_dir(d, err);
    if (st != CD_OK)
        return st;
    char name[sizeof d->staged_name];
    story_file_name(id, name, sizeof name);
    /* staged: the same story's file is written, put it in place */
    if (cdi_story_stage_held(&d->staged) && d->staged_len == len &&
        !strcmp(name, d->staged_name) && d->staged_hash == XXH3_64bits(json, len))
        return cdi_story_file_commit(d->target, name, json, len, &d->staged, err);
    cdi_dest_unstage(d);   /* another story's: not to be delivered */
    return cdi_story_file_write(d->target, name, json, len, err);
}

/* Create the folder that holds path, when path has one. */
static cd_status make_parent(const char *path, cd_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return CD_OK;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = cdi_mkdirs(dir, err);
    free(dir);
    return st;
}

/* One write(2) of the whole line; when only part of it is written (the
 * rest fails with ENOSPC, EFBIG, EDQUOT ...), the part is cut off again:
 * with O_APPEND our bytes start where the descriptor's offset was moved to,
 * less what was written. */
static cd_status append_line(cd_dest *d, const char *data, size_t len, cd_error *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(d->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        int why = n < 0 ? errno : ENOSPC;
        if (done > 0) {
            off_t end = lseek(d->fd, 0, SEEK_CUR);
            if (end < (off_t)done || ftruncate(d->fd, end - (off_t)done) != 0)
                return cd_error_set(err, CD_ERR_IO,
                                    "%s: %s, and the partial line could not be removed: %s",
                                    d->target, strerror(why), strerror(errno));
        }
        return cd_error_set(err, CD_ERR_IO, "%s: %s", d->target, strerror(why));
    }
    return CD_OK;
}

cd_status cdi_deliver_jsonl(cd_dest *d, const char *json, size_t len, cd_error *err)
{
    if (d->fd < 0) {
        cd_status st = make_parent(d->target, err);
        if (st != CD_OK)
            return st;
        d->fd = open(d->target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (d->fd < 0)
            return cd_error_set(err, CD_ERR_IO, "%s: %s", d->target, strerror(errno));
    }
    cd_buf line = {0};
    cdi_buf_put(&line, json, len);
    cdi_buf_put(&line, "\n", 1);
    cd_status st = line.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                               : append_line(d, line.data, line.len, err);
    cdi_buf_free(&line);
    return st;
}

cd_status cdi_deliver_stdout(const char *json, size_t len, cd_error *err)
{
    fwrite(json, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout))
        return cd_error_set(err, CD_ERR_IO, "standard output: %s", strerror(errno));
    return CD_OK;
}
