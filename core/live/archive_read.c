/*
 * archive_read.c - the archive of routed stories read back newest first
 * (see archive.h): the segments in reverse name order, each read from
 * its end in blocks, so that the recent stories cost a few reads however
 * large the archive is.  Segments are only ever appended to, by whole
 * lines in one write(2) each, so a reader needs no lock: a line without
 * its newline yet is skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "live/archive.h"

#define BLOCK ((size_t)64 << 10)

static int by_name_desc(const void *x, const void *y)
{
    return strcmp(*(char *const *)y, *(char *const *)x);
}

/* The lines of one segment, last first; 1 when fn said stop, 0 when the
 * segment is done, -1 when it cannot be read (errno). */
static int segment_lines(const char *path, cd_archive_line_fn fn, void *ud)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;   /* pruned meanwhile: nothing to read */
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return -1;
    }
    off_t pos = sb.st_size;
    cd_buf pend = { 0 };      /* the bytes after pos not yet given: [line...]\n */
    int rc = 0, first = 1;
    while (pos > 0 && rc == 0) {
        size_t n = (size_t)pos < BLOCK ? (size_t)pos : BLOCK;
        pos -= (off_t)n;
        cd_buf b = { 0 };
        if (cdi_buf_reserve(&b, n + pend.len + 1) != 0 || b.failed) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        ssize_t got = pread(fd, b.data, n, pos);
        if (got != (ssize_t)n) {
            cdi_buf_free(&b);
            if (got >= 0)
                errno = EIO;
            rc = -1;
            break;
        }
        b.len = n;
        cdi_buf_put(&b, pend.data ? pend.data : "", pend.len);
        cdi_buf_free(&pend);
        pend = b;
        size_t end = pend.len;
        if (first) {
            /* a last line without its newline is being written: skip it */
            while (end && pend.data[end - 1] != '\n')
                end--;
            first = 0;
        }
        /* give every whole line in pend, last first; keep the head, whose
         * start is before pos, unless pos is the start of the file */
        while (end && rc == 0) {
            size_t stop = end - 1;   /* the newline that ends this line */
            size_t start = stop;
            while (start && pend.data[start - 1] != '\n')
                start--;
            if (start == 0 && pos > 0)
                break;
            if (stop > start)
                rc = fn(ud, pend.data + start, stop - start) ? 1 : 0;
            end = start;
        }
        pend.len = end;
    }
    cdi_buf_free(&pend);
    close(fd);
    return rc;
}

cd_status cdi_archive_newest_first(const char *state, cd_archive_line_fn fn, void *ud,
                                   cd_error *err)
{
    char *dir = cdi_archive_dir(state);
    if (!dir)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        cd_status st = errno == ENOENT ? CD_OK
                                       : cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
        free(dir);
        return st;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    cd_status st = CD_OK;
    while ((e = readdir(d))) {
        if (!cdi_archive_is_segment(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) {
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name_desc);
    for (size_t i = 0; i < n && st == CD_OK; i++) {
        char *path = cdi_path_join(dir, names[i]);
        int rc = path ? segment_lines(path, fn, ud) : -1;
        if (rc < 0)
            st = cd_error_set(err, path ? CD_ERR_IO : CD_ERR_NOMEM, "%s: %s", path ? path : dir,
                              path ? strerror(errno) : "out of memory");
        free(path);
        if (rc > 0)
            break;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return st;
}
