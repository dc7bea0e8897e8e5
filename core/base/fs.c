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

char *cd_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

cd_status cd_read_file(const char *path, size_t max, char **data, size_t *len,
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
        cd_buf_put(&b, chunk, got);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    cd_status st = CD_OK;
    if (b.over)
        st = cd_error_set(err, CD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    else if (b.failed || cd_buf_reserve(&b, 0) != 0)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    else if (e) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(e));
        errno = e;
    }
    if (st != CD_OK) {
        cd_buf_free(&b);
        return st;
    }
    *data = cd_buf_take(&b, len);
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

void cd_safe_filename(const char *id, char *out, size_t cap)
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
    if (changed)
        snprintf(out + n, cap - n, "-%016llx", (unsigned long long)fnv1a(id));
}

cd_status cd_mkdirs(const char *path, cd_error *err)
{
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

cd_status cd_write_fd(int fd, const char *data, size_t len, const char *what, cd_error *err)
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

cd_status cd_folder_write(const char *dir, const char *name, const char *data,
                          size_t len, cd_error *err)
{
    cd_buf tmp = {0}, final = {0};
    cd_buf_printf(&tmp, "%s/.%s.XXXXXX", dir, name);
    cd_buf_printf(&final, "%s/%s", dir, name);
    cd_status st = CD_OK;
    if (tmp.failed || final.failed) {
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        goto done;
    }
    int fd = mkstemp(tmp.data);
    if (fd < 0) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", dir, strerror(errno));
        goto done;
    }
    /* mkstemp makes 0600; a delivered story is a file like any other the
     * user writes: 0644 less the umask (like the jsonl destination) */
    static _Atomic int mask = -1;
    if (mask < 0)
        mask = (int)current_umask();
    fchmod(fd, 0644 & ~(mode_t)mask);
    st = write_all(fd, data, len, final.data, err);
    if (st == CD_OK)
        st = write_all(fd, "\n", 1, final.data, err);
    if (close(fd) != 0 && st == CD_OK)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(errno));
    if (st == CD_OK && rename(tmp.data, final.data) != 0)
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", final.data, strerror(errno));
    if (st != CD_OK)
        unlink(tmp.data);
done:
    cd_buf_free(&tmp);
    cd_buf_free(&final);
    return st;
}
