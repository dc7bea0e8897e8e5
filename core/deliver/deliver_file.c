/*
 * deliver_file.c - the local destination kinds: folder, jsonl, stdout.
 *
 * folder writes one file per story atomically (cd_folder_write); a story
 * delivered twice replaces its earlier file.  jsonl appends each story as
 * one line with a single write(2) on an O_APPEND descriptor, so that lines
 * of concurrent writers do not interleave and a reader never sees half a
 * line followed by another story.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/deliver_impl.h"
#include "base/buf.h"
#include "base/fs.h"

cd_status cd_deliver_folder(cd_dest *d, const char *id, const char *json, size_t len,
                            cd_error *err)
{
    if (!d->dir_ready) {
        cd_status st = cd_mkdirs(d->target, err);
        if (st != CD_OK)
            return st;
        d->dir_ready = 1;
    }
    char name[200];
    cd_safe_filename(id, name, sizeof name - 5);
    strcat(name, ".json");
    return cd_folder_write(d->target, name, json, len, err);
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
    cd_status st = cd_mkdirs(dir, err);
    free(dir);
    return st;
}

cd_status cd_deliver_jsonl(cd_dest *d, const char *json, size_t len, cd_error *err)
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
    cd_buf_put(&line, json, len);
    cd_buf_put(&line, "\n", 1);
    cd_status st = line.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                               : cd_write_fd(d->fd, line.data, line.len, d->target, err);
    cd_buf_free(&line);
    return st;
}

cd_status cd_deliver_stdout(const char *json, size_t len, cd_error *err)
{
    fwrite(json, 1, len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout))
        return cd_error_set(err, CD_ERR_IO, "standard output: %s", strerror(errno));
    return CD_OK;
}
