/*
 * seen.c - remembered feed item ids (see seen.h).  Fingerprints live in
 * insertion order in an array, each with the number of the last poll that
 * served it, and in an open-addressing hash table of array positions,
 * rebuilt whenever the array is compacted or grows.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live/seen.h"

typedef struct entry {
    uint64_t h;
    uint32_t poll;      /* the last poll that served it */
} entry;

struct cd_seen {
    char *path;
    int fd;             /* the file, open for appending */
    size_t keep;
    entry *order;       /* oldest first; n of them, room for cap */
    size_t n, cap;
    uint32_t *table;    /* position + 1 in order, 0 = empty; size a power of two */
    size_t tsize;
    uint32_t poll;      /* the current poll */
    size_t max;         /* ids remembered at most (CD_SEEN_MAX) */
};

static uint64_t fingerprint(const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* The position of h in order, or -1. */
static ptrdiff_t find(const cd_seen *s, uint64_t h)
{
    for (size_t i = h & (s->tsize - 1); s->table[i]; i = (i + 1) & (s->tsize - 1))
        if (s->order[s->table[i] - 1].h == h)
            return (ptrdiff_t)s->table[i] - 1;
    return -1;
}

static void table_put(cd_seen *s, size_t pos)
{
    size_t i = s->order[pos].h & (s->tsize - 1);
    while (s->table[i])
        i = (i + 1) & (s->tsize - 1);
    s->table[i] = (uint32_t)pos + 1;
}

static void rebuild(cd_seen *s)
{
    memset(s->table, 0, s->tsize * sizeof *s->table);
    for (size_t i = 0; i < s->n; i++)
        table_put(s, i);
}

/* Room for one more: the array and a table at most half full. */
static int grow(cd_seen *s)
{
    if (s->n < s->cap)
        return 1;
    if (s->cap >= s->max)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 1024;
    if (cap > s->max)
        cap = s->max;
    entry *v = realloc(s->order, cap * sizeof *v);
    if (!v)
        return 0;
    s->order = v;
    s->cap = cap;
    size_t tsize = s->tsize;
    while (tsize < 2 * cap)
        tsize *= 2;
    if (tsize != s->tsize) {
        uint32_t *t = calloc(tsize, sizeof *t);
        if (!t)
            return 0;
        free(s->table);
        s->table = t;
        s->tsize = tsize;
        rebuild(s);
    }
    return 1;
}

static int remember(cd_seen *s, uint64_t h)
{
    if (!grow(s))
        return 0;
    s->order[s->n].h = h;
    s->order[s->n].poll = s->poll;
    table_put(s, s->n);
    s->n++;
    return 1;
}

static cd_status rewrite(cd_seen *s, cd_error *err)
{
    size_t plen = strlen(s->path) + 8;
    char *tmp = malloc(plen);
    if (!tmp)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen, "%s.new", s->path);
    FILE *f = fopen(tmp, "w");
    cd_status st = CD_OK;
    if (!f) {
        st = cd_error_set(err, CD_ERR_IO, "%s: %s", tmp, strerror(errno));
    } else {
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%016" PRIx64 "\n", s->order[i].h);
        if (fclose(f) != 0 || rename(tmp, s->path) != 0)
            st = cd_error_set(err, CD_ERR_IO, "%s: %s", s->path, strerror(errno));
    }
    if (st != CD_OK)
        unlink(tmp);
    free(tmp);
    if (st == CD_OK) {
        if (s->fd >= 0)
            close(s->fd);
        s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (s->fd < 0)
            st = cd_error_set(err, CD_ERR_IO, "%s: %s", s->path, strerror(errno));
    }
    return st;
}

static void replay(cd_seen *s, FILE *f)
{
    char line[64];
    while (fgets(line, sizeof line, f)) {
        char *end;
        if (strlen(line) != 17 || line[16] != '\n')
            continue;   /* torn or foreign line */
        uint64_t h = strtoull(line, &end, 16);
        if (end == line + 16 && h && find(s, h) < 0 && !remember(s, h))
            break;
    }
}

cd_status cdi_seen_open(const char *path, size_t keep, cd_seen **out, cd_error *err)
{
    *out = NULL;
    cd_seen *s = calloc(1, sizeof *s);
    if (!s)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    s->fd = -1;
    s->keep = keep ? keep : CD_SEEN_KEEP;
    s->max = CD_SEEN_MAX;
    s->tsize = 2048;
    s->path = strdup(path);
    s->table = calloc(s->tsize, sizeof *s->table);
    if (!s->path || !s->table) {
        cdi_seen_free(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    FILE *f = fopen(path, "r");
    if (f) {
        replay(s, f);
        fclose(f);
    } else if (errno != ENOENT) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
        cdi_seen_free(s);
        return st;
    }
    cd_status st = rewrite(s, err);   /* drops torn lines and duplicates */
    if (st != CD_OK) {
        cdi_seen_free(s);
        return st;
    }
    *out = s;
    return CD_OK;
}

void cdi_seen_free(cd_seen *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->path);
    free(s->order);
    free(s->table);
    free(s);
}

int cdi_seen_has(const cd_seen *s, const char *id)
{
    return find(s, fingerprint(id)) >= 0;
}

int cdi_seen_served(cd_seen *s, const char *id)
{
    ptrdiff_t i = find(s, fingerprint(id));
    if (i < 0)
        return 0;
    s->order[i].poll = s->poll;
    return 1;
}

int cdi_seen_room(const cd_seen *s, size_t more)
{
    return s->n + more <= s->max;
}

void cdi_seen_set_max(cd_seen *s, size_t max)
{
    s->max = max > s->n ? max : s->n;
}

cd_status cdi_seen_add(cd_seen *s, const char *id, cd_error *err)
{
    uint64_t h = fingerprint(id);
    ptrdiff_t i = find(s, h);
    if (i >= 0) {
        s->order[i].poll = s->poll;
        return CD_OK;
    }
    if (!remember(s, h))
        return cd_error_set(err, s->n >= s->max ? CD_ERR_LIMIT : CD_ERR_NOMEM,
                            "%s: cannot remember more than %zu ids", s->path, s->max);
    char line[32];
    int n = snprintf(line, sizeof line, "%016" PRIx64 "\n", h);
    if (write(s->fd, line, (size_t)n) != n)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", s->path, strerror(errno));
    return CD_OK;
}

size_t cdi_seen_count(const cd_seen *s)
{
    return s->n;
}

void cdi_seen_poll_begin(cd_seen *s)
{
    s->poll++;
}

cd_status cdi_seen_poll_end(cd_seen *s, cd_error *err)
{
    if (s->n <= s->keep)
        return CD_OK;
    size_t drop = s->n - s->keep, kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (drop > 0 && s->order[i].poll != s->poll) {
            drop--;     /* not served: forgotten, oldest first */
            continue;
        }
        s->order[kept++] = s->order[i];
    }
    if (kept == s->n)
        return CD_OK;
    s->n = kept;
    rebuild(s);
    return rewrite(s, err);
}
