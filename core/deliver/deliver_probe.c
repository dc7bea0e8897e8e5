/*
 * deliver_probe.c - can a destination be written?  What `copydesk check`
 * asks of every folder and jsonl destination and every dead-letter folder
 * before any story is routed (see cdi_dest_probe in deliver.h).
 *
 * The only sure test of a path is to use it: the missing folders are
 * created, a temporary file is created and removed inside the last one,
 * and the folders the probe created are removed again, so that a check
 * leaves the tree as it found it.  A jsonl file that exists is opened for
 * appending and closed, never truncated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "deliver/deliver_impl.h"

#define MAX_DEPTH 64

/* Remove the folders made[0..n) in reverse order (they are empty). */
static void unmake(char **made, size_t n)
{
    while (n-- > 0) {
        rmdir(made[n]);
        free(made[n]);
    }
}

/* Create the missing folders of path, recording those it created. */
static cd_status make_folders(const char *path, char **made, size_t *nmade, cd_error *err)
{
    if (!*path)
        return cd_error_set(err, CD_ERR_ARG, "a folder name cannot be empty");
    char *p = strdup(path);
    if (!p)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = CD_OK;
    for (char *s = p + 1; st == CD_OK; s++) {
        int end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        struct stat sb;
        if (stat(p, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                st = cd_error_set(err, CD_ERR_IO, "%s is not a folder", p);
        } else if (mkdir(p, 0777) != 0) {
            st = cd_error_set(err, CD_ERR_IO, "cannot create the folder %s: %s", p,
                              strerror(errno));
        } else if (*nmade < MAX_DEPTH && (made[*nmade] = strdup(p)) != NULL) {
            (*nmade)++;
        } else {
            rmdir(p);
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        if (end)
            break;
        *s = '/';
    }
    free(p);
    return st;
}

/* Create and remove a temporary file in dir. */
static cd_status try_write(const char *dir, cd_error *err)
{
    size_t n = strlen(dir) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s/.copydesk-check-XXXXXX", dir);
    int fd = mkstemp(tmp);
    cd_status st = CD_OK;
    if (fd < 0) {
        st = cd_error_set(err, CD_ERR_IO, "cannot write in the folder %s: %s", dir,
                          strerror(errno));
    } else {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return st;
}

cd_status cdi_probe_folder(const char *dir, cd_error *err)
{
    char *made[MAX_DEPTH];
    size_t nmade = 0;
    cd_status st = make_folders(dir, made, &nmade, err);
    if (st == CD_OK)
        st = try_write(dir, err);
    unmake(made, nmade);
    return st;
}

cd_status cdi_probe_file(const char *path, cd_error *err)
{
    char *dir = strdup(path);
    if (!dir)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat sb;
    cd_status st;
    if (stat(path, &sb) == 0) {
        int fd = S_ISDIR(sb.st_mode) ? -1 : open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            st = cd_error_set(err, CD_ERR_IO, "cannot append to %s: %s", path,
                              S_ISDIR(sb.st_mode) ? "it is a folder" : strerror(errno));
        else
            st = (close(fd), CD_OK);
    } else {
        st = cdi_probe_folder(dir, err);
    }
    free(dir);
    return st;
}

cd_status cdi_dest_probe(const cd_dest *d, cd_error *err)
{
    switch (cdi_dest_get_kind(d)) {
    case CD_DEST_FOLDER: return cdi_probe_folder(cdi_dest_target(d), err);
    case CD_DEST_JSONL: return cdi_probe_file(cdi_dest_target(d), err);
    case CD_DEST_STREAM: return cdi_stream_probe(d, err);
    default: return CD_OK;
    }
}
