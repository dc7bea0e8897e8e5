/*
 * seen.c - remembered feed item ids (see seen.h).  Fingerprints live in
 * insertion order in an array (for forgetting the oldest) and in an
 * open-addressing hash table rebuilt whenever the array is trimmed.
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

struct cd_seen {
    char *path;
    int fd;             /* the file, open for appending */
    size_t keep;
    uint64_t *order;    /* fingerprints, oldest first; n of them, cap 2 * keep */
    size_t n;
    uint64_t *table;    /* open addressing, 0 = empty; size a power of two */
    size_t tsize;
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

static int table_has(const cd_seen *s, uint64_t h)
{
    for (size_t i = h & (s->tsize - 1); s->table[i]; i = (i + 1) & (s->tsize - 1))
        if (s->table[i] == h)
            return 1;
    return 0;
}

static void table_put(cd_seen *s, uint64_t h)
{
    size_t i = h & (s->tsize - 1);
    while (s->table[i] && s->table[i] != h)
        i = (i + 1) & (s->tsize - 1);
    s->table[i] = h;
}

static void rebuild(cd_seen *s)
{
    memset(s->table, 0, s->tsize * sizeof *s->table);
    for (size_t i = 0; i < s->n; i++)
        table_put(s, s->order[i]);
}

/* Remember h in memory; 1 when the oldest half was just forgotten. */
static int remember(cd_seen *s, uint64_t h)
{
    int trimmed = 0;
    if (s->n == 2 * s->keep) {
        memmove(s->order, s->order + s->keep, s->keep * sizeof *s->order);
        s->n = s->keep;
        rebuild(s);
        trimmed = 1;
    }
    s->order[s->n++] = h;
    table_put(s, h);
    return trimmed;
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
            fprintf(f, "%016" PRIx64 "\n", s->order[i]);
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
        if (end == line + 16 && h && !table_has(s, h))
            remember(s, h);
    }
}

cd_status cd_seen_open(const char *path, size_t keep, cd_seen **out, cd_error *err)
{
    *out = NULL;
    cd_seen *s = calloc(1, sizeof *s);
    if (!s)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    s->fd = -1;
    s->keep = keep ? keep : CD_SEEN_KEEP;
    s->tsize = 1;
    while (s->tsize < 4 * s->keep)
        s->tsize *= 2;
    s->path = strdup(path);
    s->order = malloc(2 * s->keep * sizeof *s->order);
    s->table = calloc(s->tsize, sizeof *s->table);
    if (!s->path || !s->order || !s->table) {
        cd_seen_free(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    FILE *f = fopen(path, "r");
    if (f) {
        replay(s, f);
        fclose(f);
    } else if (errno != ENOENT) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
        cd_seen_free(s);
        return st;
    }
    cd_status st = rewrite(s, err);   /* drops torn lines and duplicates */
    if (st != CD_OK) {
        cd_seen_free(s);
        return st;
    }
    *out = s;
    return CD_OK;
}

void cd_seen_free(cd_seen *s)
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

int cd_seen_has(const cd_seen *s, const char *id)
{
    return table_has(s, fingerprint(id));
}

cd_status cd_seen_add(cd_seen *s, const char *id, cd_error *err)
{
    uint64_t h = fingerprint(id);
    if (table_has(s, h))
        return CD_OK;
    if (remember(s, h))
        return rewrite(s, err);
    char line[32];
    int n = snprintf(line, sizeof line, "%016" PRIx64 "\n", h);
    if (write(s->fd, line, (size_t)n) != n)
        return cd_error_set(err, CD_ERR_IO, "%s: %s", s->path, strerror(errno));
    return CD_OK;
}

size_t cd_seen_count(const cd_seen *s)
{
    return s->n;
}
