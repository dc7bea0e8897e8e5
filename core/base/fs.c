/*
 * base/fs.c - files and paths (see fs.h).
 */
#define _GNU_SOURCE   /* O_TMPFILE, AT_EMPTY_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"

char *cdi_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

cd_status cdi_read_file(const char *path, size_t max, char **data, size_t *len,
                        cd_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(e));
        errno = e;
        return CD_ERR_IO;
    }
    cd_buf b = { .max = max };
    char chunk[65536];
    size_t got;
    while (!b.failed && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        cdi_buf_put(&b, chunk, got);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    cd_status st = CD_OK;
    if (b.over)
        st = cd_error_set(err, CD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    else if (b.failed || cdi_buf_reserve(&b, 0) != 0)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    else if (e) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(e));
        errno = e;
    }
    if (st != CD_OK) {
        cdi_buf_free(&b);
        return st;
    }
    *data = cdi_buf_take(&b, len);
    return CD_OK;
}

/* FNV-1a, 64 bits: a short, stable fingerprint of an id. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Does the name end as a changed id's name does: "-" and 16 hex digits? */
static int looks_hashed(const char *name, size_t n)
{
    if (n < 17 || name[n - 17] != '-')
        return 0;
    for (size_t i = n - 16; i < n; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

void cdi_safe_filename(const char *id, char *out, size_t cap)
{
    size_t keep = cap - 18; /* room for "-" + 16 hex digits + NUL */
    if (keep > 120)
        keep = 120;
    size_t n = 0;
    int changed = 0;
    for (const char *p = id; *p; p++) {
        if (n == keep) {
            changed = 1;
            break;
        }
        unsigned char c = (unsigned char)*p;
        int ok = name_byte_ok(c) && !(n == 0 && c == '.');
        out[n++] = ok ? (char)c : '_';
        changed |= !ok;
    }
    if (n == 0) {
        out[n++] = '_';
        changed = 1;
    }
    out[n] = '\0';
    /* an id kept as is must not look like another id's changed name:
     * "../x" becomes "_._x-<hash>", so the id "_._x-<that hash>" gets a
     * hash of its own too */
    if (!changed && looks_hashed(out, n))
        changed = 1;
    if (changed)
        snprintf(out + n, cap - n, "-%016llx", (unsigned long long)fnv1a(id));
}

cd_status cdi_mkdirs(const char *path, cd_error *err)
{
    if (!*path)
        return cd_error_set(err, CD_ERR_ARG, "a folder name cannot be empty");
    char *p = strdup(path);
    if (!p)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        int end = (*s == '\0');
        if (*s == '/' || end) {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", p, strerror(errno));
                free(p);
                return st;
            }
            if (end)
                break;
            *s = '/';
        }
    }
    struct stat sb;
    int isdir = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(p);
    if (!isdir)
        return cd_error_set(err, CD_ERR_IO, "%s: not a folder", path);
    return CD_OK;
}

static cd_status write_all(int fd, const char *data, size_t len, const char *what,
                           cd_error *err)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cd_error_set(err, CD_ERR_IO, "%s: %s", what,
                                n < 0 ? strerror(errno) : "short write");
        data += n;
        len -= (size_t)n;
    }
    return CD_OK;
}

cd_status cdi_write_fd(int fd, const char *data, size_t len, const char *what, cd_error *err)
{
    return write_all(fd, data, len, what, err);
}

/* The process's umask, read without changing it (umask(2) cannot read
 * it alone, and setting it twice races with other threads); 022 when
 * /proc does not say. */
static mode_t current_umask(void)
{
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return mask;
    char line[256];
    unsigned int m;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &m) == 1) {
            mask = (mode_t)(m & 0777);
            break;
        }
    fclose(f);
    return mask;
}

/* Write data and a newline to a new temporary file in dir (its path in
 * tmp); on error nothing is left behind. */
static cd_status write_temp(const char *dir, const char *name, const char *data, size_t len,
                            cd_buf *tmp, const char *what, cd_error *err)
{
    cdi_buf_printf(tmp, "%s/.%s.XXXXXX", dir, name);
    if (tmp->failed)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    int fd = mkstemp(tmp->data);
    if (fd < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
    /* mkstemp makes 0600; a delivered story is a file like any other the
     * user writes: 0644 less the umask (like the jsonl destination) */
    static _Atomic int mask = -1;
    if (mask < 0)
        mask = (int)current_umask();
    fchmod(fd, 0644 & ~(mode_t)mask);
    cd_status st = write_all(fd, data, len, what, err);
    if (st == CD_OK)
        st = write_all(fd, "\n", 1, what, err);
    if (close(fd) != 0 && st == CD_OK)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", what, strerror(errno));
    if (st != CD_OK)
        unlink(tmp->data);
    return st;
}

cd_status cdi_folder_write(const char *dir, const char *name, const char *data,
                           size_t len, cd_error *err)
{
    cd_buf tmp = {0}, final = {0};
    cdi_buf_printf(&final, "%s/%s", dir, name);
    cd_status st = final.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                                : write_temp(dir, name, data, len, &tmp, final.data, err);
    if (st == CD_OK && rename(tmp.data, final.data) != 0) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(errno));
        unlink(tmp.data);
    }
    cdi_buf_free(&tmp);
    cdi_buf_free(&final);
    return st;
}

/* The length of data's leading {"id":"..." (through the closing quote),
 * or 0 when data does not begin with an id. */
static size_t id_field_len(const char *data, size_t len)
{
    static const char head[] = "{\"id\":\"";
    size_t i = sizeof head - 1;
    if (len < i || memcmp(data, head, i) != 0)
        return 0;
    for (; i < len; i++) {
        if (data[i] == '\\')
            i++;
        else if (data[i] == '"')
            return i + 1;
    }
    return 0;
}

/* Does the file at path begin with the n bytes of want? */
static int file_begins_with(const char *path, const char *want, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    char buf[4096];
    size_t got = 0;
    int same = 1;
    while (same && got < n) {
        size_t ask = n - got < sizeof buf ? n - got : sizeof buf;
        ssize_t r = read(fd, buf, ask);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            same = 0;
            break;
        }
        same = memcmp(buf, want + got, (size_t)r) == 0;
        got += (size_t)r;
    }
    close(fd);
    return same;
}

/* The story's bytes and a newline: one writev(2), then write(2) for what
 * a short write left. */
static cd_status write_line(int fd, const char *data, size_t len, const char *what,
                            cd_error *err)
{
    struct iovec v[2] = { { (void *)data, len }, { (void *)"\n", 1 } };
    ssize_t n;
    do
        n = writev(fd, v, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", what, strerror(errno));
    size_t done = (size_t)n;
    if (done >= len + 1)
        return CD_OK;
    if (done < len) {
        cd_status st = write_all(fd, data + done, len - done, what, err);
        if (st != CD_OK)
            return st;
        done = len;
    }
    return write_all(fd, "\n", 1, what, err);
}

/* An unnamed file in dir holding data and a newline: its descriptor, or
 * -1 when the file system has no O_TMPFILE or the file cannot be written
 * (the named way then tries, and says what is wrong).  O_TMPFILE takes no
 * lock on the folder and its mode is 0644 less the umask, as for any
 * file created. */
static int write_unnamed(const char *dir, const char *data, size_t len)
{
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    cd_error ignored;
    if (write_line(fd, data, len, dir, &ignored) != CD_OK) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Give the unnamed file fd the name path; 0, or -1 with errno. */
static int link_unnamed(int fd, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    /* no /proc: linkat's own way, which needs CAP_DAC_READ_SEARCH */
    int why = errno;
    if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
        return 0;
    errno = why;
    return -1;
}

static cd_status stage_named(const char *dir, const char *name, const char *data,
                             size_t len, cdi_story_stage *st, cd_error *err)
{
    cd_buf final = {0};
    cdi_buf_reset(&st->tmp);
    cdi_buf_printf(&final, "%s/%s", dir, name);
    cd_status rc = final.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                                : write_temp(dir, name, data, len, &st->tmp, final.data, err);
    cdi_buf_free(&final);
    if (rc != CD_OK)
        cdi_buf_reset(&st->tmp);
    return rc;
}

cd_status cdi_story_file_stage(const char *dir, const char *name, const char *data,
                               size_t len, cdi_story_stage *st, cd_error *err)
{
    cdi_story_stage_drop(st);
    if ((st->fd = write_unnamed(dir, data, len)) >= 0)
        return CD_OK;
    return stage_named(dir, name, data, len, st, err);
}

int cdi_story_stage_held(const cdi_story_stage *st)
{
    return st->fd >= 0 || st->tmp.len > 0;
}

void cdi_story_stage_drop(cdi_story_stage *st)
{
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    if (st->tmp.len)
        unlink(st->tmp.data);
    cdi_buf_reset(&st->tmp);
}

void cdi_story_stage_free(cdi_story_stage *st)
{
    cdi_story_stage_drop(st);
    cdi_buf_free(&st->tmp);
}

/* Put the temporary file tmp in place as final (see cdi_story_file_commit);
 * on error tmp is removed. */
static cd_status commit_named(const char *final, const char *data, size_t len,
                              const char *tmp, cd_error *err)
{
    /* link() puts the file in place only when the name is free */
    if (link(tmp, final) == 0) {
        unlink(tmp);
        return CD_OK;
    }
    cd_status st = CD_OK;
    int why = errno;
    if (why != EEXIST && access(final, F_OK) == 0)
        why = EEXIST;           /* a file system without hard links */
    size_t n = id_field_len(data, len);
    if (why == EEXIST && n && !file_begins_with(final, data, n)) {
        st = cd_error_set(err, CD_ERR_IO,
                          "%s already holds another story whose id maps to the same "
                          "file name (%.*s); not replaced", final,
                          (int)(n > 200 ? 200 : n), data);
    } else if (why != EEXIST && why != EPERM && why != ENOTSUP && why != EOPNOTSUPP &&
               why != EXDEV && why != EMLINK) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final, strerror(why));
    } else if (rename(tmp, final) != 0) {
        /* the same story again (or no hard links): replace */
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final, strerror(errno));
    }
    if (st != CD_OK)
        unlink(tmp);
    return st;
}

cd_status cdi_story_file_commit(const char *dir, const char *name, const char *data,
                                size_t len, cdi_story_stage *st, cd_error *err)
{
    cd_buf final = {0};
    cd_status rc = CD_OK;
    cdi_buf_printf(&final, "%s/%s", dir, name);
    if (final.failed) {
        rc = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    } else if (st->fd >= 0) {
        /* an unnamed file is linked in place when the name is free; when
         * it is taken (the same story again, to be replaced, or another
         * story's, to be kept) or the link fails, the named way decides
         * and says why */
        int linked = link_unnamed(st->fd, final.data) == 0;
        cdi_story_stage_drop(st);
        if (!linked) {
            rc = stage_named(dir, name, data, len, st, err);
            if (rc == CD_OK)
                rc = commit_named(final.data, data, len, st->tmp.data, err);
        }
    } else if (st->tmp.len) {
        rc = commit_named(final.data, data, len, st->tmp.data, err);
    } else {
        rc = cd_error_set(err, CD_ERR_ARG, "%s: no story file staged", final.data);
    }
    cdi_buf_reset(&st->tmp);   /* linked, renamed or removed */
    st->fd = -1;
    cdi_buf_free(&final);
    return rc;
}

cd_status cdi_story_file_write(const char *dir, const char *name, const char *data,
                               size_t len, cd_error *err)
{
    cdi_story_stage st = CDI_STORY_STAGE_INIT;
    cd_status rc = cdi_story_file_stage(dir, name, data, len, &st, err);
    if (rc == CD_OK)
        rc = cdi_story_file_commit(dir, name, data, len, &st, err);
    cdi_story_stage_free(&st);
    return rc;
}

cd_status cdi_folder_write_new(const char *dir, const char *base, const char *data, size_t len,
                               cd_error *err)
{
    cd_buf tmp = {0}, final = {0};
    cdi_buf_printf(&final, "%s/%s.json", dir, base);
    cd_status st = final.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                                : write_temp(dir, base, data, len, &tmp, final.data, err);
    for (unsigned k = 2; st == CD_OK; k++) {
        if (link(tmp.data, final.data) == 0) {
            unlink(tmp.data);
            break;
        }
        int why = errno;
        if (why != EEXIST) {
            /* no hard links here: rename when the name is free */
            if (access(final.data, F_OK) != 0) {
                if (rename(tmp.data, final.data) != 0)
                    st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(errno));
                break;
            }
        }
        if (k > 100000) {
            st = cd_error_set(err, CD_ERR_IO, "%s: too many dead letters of this name",
                              final.data);
            break;
        }
        cdi_buf_reset(&final);
        cdi_buf_printf(&final, "%s/%s-%u.json", dir, base, k);
        if (final.failed)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    if (st != CD_OK && tmp.data)
        unlink(tmp.data);
    cdi_buf_free(&tmp);
    cdi_buf_free(&final);
    return st;
}

