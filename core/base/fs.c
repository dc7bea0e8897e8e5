/*
 * base/fs.c - files and paths (see fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

cd_status cdi_story_file_stage(const char *dir, const char *name, const char *data,
                               size_t len, cd_buf *tmp, cd_error *err)
{
    cd_buf final = {0};
    cdi_buf_reset(tmp);
    cdi_buf_printf(&final, "%s/%s", dir, name);
    cd_status st = final.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory")
                                : write_temp(dir, name, data, len, tmp, final.data, err);
    cdi_buf_free(&final);
    if (st != CD_OK)
        cdi_buf_reset(tmp);
    return st;
}

cd_status cdi_story_file_commit(const char *dir, const char *name, const char *data,
                                size_t len, const char *tmp, cd_error *err)
{
    cd_buf final = {0};
    cd_status st = CD_OK;
    cdi_buf_printf(&final, "%s/%s", dir, name);
    if (final.failed) {
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* link() puts the file in place only when the name is free */
    if (link(tmp, final.data) == 0) {
        unlink(tmp);
        goto done;
    }
    int why = errno;
    if (why != EEXIST && access(final.data, F_OK) == 0)
        why = EEXIST;           /* a file system without hard links */
    size_t n = id_field_len(data, len);
    if (why == EEXIST && n && !file_begins_with(final.data, data, n)) {
        st = cd_error_set(err, CD_ERR_IO,
                          "%s already holds another story whose id maps to the same "
                          "file name (%.*s); not replaced", final.data,
                          (int)(n > 200 ? 200 : n), data);
    } else if (why != EEXIST && why != EPERM && why != ENOTSUP && why != EOPNOTSUPP &&
               why != EXDEV && why != EMLINK) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(why));
    } else if (rename(tmp, final.data) != 0) {
        /* the same story again (or no hard links): replace */
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(errno));
    }
    if (st != CD_OK)
        unlink(tmp);
done:
    cdi_buf_free(&final);
    return st;
}

cd_status cdi_story_file_write(const char *dir, const char *name, const char *data,
                               size_t len, cd_error *err)
{
    cd_buf tmp = {0};
    cd_status st = cdi_story_file_stage(dir, name, data, len, &tmp, err);
    if (st == CD_OK)
        st = cdi_story_file_commit(dir, name, data, len, tmp.data, err);
    cdi_buf_free(&tmp);
    return st;
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

