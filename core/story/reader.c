/*
 * reader.c - the story reader of copydesk/story.h: walks a list of inputs
 * and yields one story at a time, streaming.
 *
 * Inputs, in the order given:
 *   "-"          standard input, read with read(2) so that stories written
 *                to a pipe are seen as they arrive;
 *   http(s)://   fetched whole into memory by core/story/fetch.c (at most
 *                CD_FETCH_STORIES x max_story_bytes), then read like a file;
 *   a directory  walked recursively, entries in bytewise (strcmp) order;
 *                names starting with '.' are skipped; only regular files
 *                and symbolic links to regular files are read; symbolic
 *                links to directories are not followed, so there are no
 *                loops;
 *   a path       any other file (FIFOs and devices too when named directly).
 *
 * The format of each file comes from its first byte that is not white
 * space (a UTF-8 byte order mark is skipped first); a file that starts
 * with a UTF-16 or UTF-32 byte order mark, or with their layout of '<', is
 * an XML feed:
 *   '<'   an RSS or Atom feed, read whole (at most max_story_bytes, or the
 *         fetched document) by the feed readers (core/story/feed.h); each
 *         item is a story with source "path:LINE", LINE the line its item
 *         starts on.  Repairs are warnings (opts.warnings), a bad item an
 *         error; an XML document that is not a feed is plain text.
 *   '['   a JSON array of story objects, streamed one element at a time
 *         (each element, not the file, is bounded by max_story_bytes).
 *         Source "path:LINE", LINE being where the element starts; a second
 *         element starting on the same line is "path:LINE#2", and so on, so
 *         that ids made from sources stay unique.
 *   '{'   when the brackets of the first line close on that line (or the
 *         line is over the size bound): JSON lines, one object per line,
 *         blank lines skipped, source "path:LINE".  Otherwise the whole file
 *         is one JSON object, up to max_story_bytes, source "path".  A JSON
 *         Feed (jsonfeed.org) is a feed: its items are stories, "path#N".
 *         '[' and '{' always start JSON: a file that does not parse is an
 *         error ("path:LINE: what"), never read as text.
 *   else  plain text (cd_story_from_text), the whole file up to
 *         max_story_bytes; id and source "path".  Under a directory given
 *         as input, its label is the name of its first subfolder there.
 *   none  an empty or all-white-space file: no stories, no error.
 *
 * Errors come back one at a time as "path:LINE: what" (or "path: what")
 * and reading goes on with the next line, element or input.
 *
 * Memory: one 64 KiB read buffer, one story buffer of at most
 * max_story_bytes (released after a file that needed more than 1 MiB), and
 * the sorted entry names of the directories being walked.  A line longer
 * than the bound is skipped chunk by chunk without being stored.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ascii.h"
#include "base/buf.h"
#include "base/numfmt.h"
#include "copydesk/story.h"
#include "story/feed.h"
#include "story/fetch.h"
#include "story/raw.h"

#define CHUNK ((size_t)64 << 10)
#define KEEP_BYTES ((size_t)1 << 20)

enum {
    STEP_DONE = 10, /* the file is finished: close it and go on */
    STEP_SKIP = 11  /* nothing to report for this line: read the next */
};

/* The file being read: a file descriptor, or a fetched document. */
typedef struct src {
    int fd;             /* -1 for a document in memory */
    int own_fd;         /* close fd at the end (not standard input) */
    char *doc;          /* owned fetched document, or NULL */
    const char *buf;    /* the bytes at hand: buf[pos..len) */
    size_t pos, len;
    int eof;
    int ioerr;          /* errno of a failed read, or 0 */
    unsigned long line; /* line number of the byte at pos */
} src;

/* A directory being walked: its sorted entry names. */
typedef struct frame {
    char *path;
    char *name;     /* its own name (NULL for the directory given as input) */
    char **names;
    size_t n, i;
} frame;

typedef enum mode { M_DETECT, M_JSONL, M_ARRAY, M_FEED, M_DONE } mode;

/* What a feed gave, waiting to be handed out one at a time. */
typedef struct feed_out {
    int rc;             /* CD_READ_STORY, CD_READ_ERROR or CD_READ_WARNING */
    cd_story story;
    cd_error err;
} feed_out;

struct cd_reader {
    cd_reader_opts opts;
    char **inputs;
    size_t ninputs, next;
    frame *dirs;
    size_t ndirs, capdirs;
    char *chunk;            /* read buffer, CHUNK bytes */
    int open;               /* a file is being read */
    src in;
    mode mode;
    char *name;             /* the file as named in sources and messages */
    char *label;            /* folder label for plain text, or NULL */
    cd_buf acc;             /* the story being gathered; bounded by max_story_bytes */
    char *source;           /* scratch for "name:LINE" */
    size_t source_cap;
    size_t source_prefix;   /* "name:" is in source, this long; 0: not yet */
    unsigned long elem_line;  /* array: line of the last element start */
    unsigned same_line;       /* array: elements started on that line */
    cd_raw_story *raw;        /* cdi_reader_next_raw: JSON lines go here */
    feed_out *feed;           /* M_FEED: the items of the feed */
    size_t nfeed, ifeed, capfeed;
    unsigned long feed_line;  /* the line the feed's bytes start on */
    int feed_nomem;           /* out of memory at an item: the rest not read */
    cd_error feed_oom;        /* what to say then, once the items before are out */
    char *content_type;       /* of the fetched document, or NULL */
    char *doc_url;            /* the fetched document's final address, or NULL */
};

/* ---- small helpers ------------------------------------------------------ */

static unsigned long count_lines(const char *p, size_t n)
{
    unsigned long k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        k++;
    return k;
}

static int fail(cd_error *err, cd_status code, const char *fmt, const char *what)
{
    cd_error_set(err, code, fmt, what);
    return CD_READ_ERROR;
}

static int fail_errno(cd_error *err, const char *what, int e)
{
    cd_error_set(err, CD_ERR_IO, "%s: %s", what, strerror(e));
    return CD_READ_ERROR;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    char *p = malloc(dl + (size_t)slash + nl + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    if (slash)
        p[dl] = '/';
    memcpy(p + dl + (size_t)slash, name, nl + 1);
    return p;
}

/* After a file: give back a buffer that one big story made large. */
static void acc_shrink(cd_buf *b)
{
    if (b->cap > KEEP_BYTES)
        cdi_buf_shrink(b, 4096);
}

/* ---- the input source --------------------------------------------------- */

/* Non-zero while bytes are at hand, reading more when needed. */
static int src_fill(src *s, char *chunk)
{
    if (s->pos < s->len)
        return 1;
    if (s->eof || s->fd < 0) {
        s->eof = 1;
        return 0;
    }
    for (;;) {
        ssize_t n = read(s->fd, chunk, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->eof = 1;
            s->ioerr = n < 0 ? errno : 0;
            return 0;
        }
        s->buf = chunk;
        s->pos = 0;
        s->len = (size_t)n;
        return 1;
    }
}

/* The next byte that is not white space (not consumed), or -1 at the end. */
static int skip_space(src *s, char *chunk)
{
    while (src_fill(s, chunk)) {
        for (; s->pos < s->len; s->pos++) {
            unsigned char c = (unsigned char)s->buf[s->pos];
            if (!cdi_is_space(c))
                return c;
            if (c == '\n')
                s->line++;
        }
    }
    return -1;
}

static void skip_bom(src *s, char *chunk)
{
    if (src_fill(s, chunk) && s->len - s->pos >= 3 &&
        memcmp(s->buf + s->pos, "\xEF\xBB\xBF", 3) == 0)
        s->pos += 3;
}

/* Append the next line, without its newline, to b.  0 at end of input. */
static int read_line(src *s, char *chunk, cd_buf *b)
{
    int got = 0;
    while (src_fill(s, chunk)) {
        const char *p = s->buf + s->pos;
        size_t avail = s->len - s->pos;
        const char *nl = memchr(p, '\n', avail);
        size_t n = nl ? (size_t)(nl - p) : avail;
        got = 1;
        cdi_buf_put(b, p, n);
        s->pos += n;
        if (nl) {
            s->pos++;
            s->line++;
            return 1;
        }
    }
    return got;
}

/* Append everything up to the end of input to b (lines counted); stops
 * reading as soon as b refuses more. */
static void read_rest(src *s, char *chunk, cd_buf *b)
{
    while (!b->failed && src_fill(s, chunk)) {
        size_t n = s->len - s->pos;
        cdi_buf_put(b, s->buf + s->pos, n);
        s->line += count_lines(s->buf + s->pos, n);
        s->pos = s->len;
    }
}

/* ---- JSON structure scanning (no parsing) ------------------------------- */

typedef struct jscan {
    size_t depth;
    int in_str, esc;
} jscan;

/* Feed one byte; non-zero at a ',' or ']' that ends an array element. */
static int jscan_byte(jscan *j, char c)
{
    if (j->in_str) {
        if (j->esc)
            j->esc = 0;
        else if (c == '\\')
            j->esc = 1;
        else if (c == '"')
            j->in_str = 0;
        return 0;
    }
    switch (c) {
    case '"': j->in_str = 1; return 0;
    case '[': case '{': j->depth++; return 0;
    case ']': if (j->depth == 0) return 1; j->depth--; return 0;
    case '}': if (j->depth > 0) j->depth--; return 0;
    case ',': return j->depth == 0;
    default: return 0;
    }
}

/* The first line of a '{' file is a whole value when its brackets close on
 * it; a line ending inside a string is a broken JSON line, not the start
 * of a pretty-printed object (JSON strings cannot hold newlines). */
static int line_is_whole(const char *p, size_t n)
{
    jscan j = { 0 };
    for (size_t i = 0; i < n; i++)
        jscan_byte(&j, p[i]);
    return j.depth == 0 || j.in_str;
}

/* Gather one array element into b, up to the ',' (consumed) or ']' (not
 * consumed) that ends it.  0 when the input ended first. */
static int scan_element(src *s, char *chunk, cd_buf *b)
{
    jscan j = { 0 };
    while (src_fill(s, chunk)) {
        const char *p = s->buf + s->pos;
        size_t avail = s->len - s->pos, i;
        int end = 0;
        for (i = 0; i < avail && !end; i++) {
            end = jscan_byte(&j, p[i]);
            s->line += p[i] == '\n';
        }
        cdi_buf_put(b, p, end ? i - 1 : i);
        s->pos += end && p[i - 1] == ']' ? i - 1 : i;
        if (end)
            return 1;
    }
    return 0;
}

/* ---- turning gathered bytes into stories -------------------------------- */

/* "name:LINE", or "name:LINE#NTH" for the nth story starting on a line,
 * in r->source: the "name:" part is written once per file (source_prefix,
 * 0 when not yet), the numbers by hand (snprintf was a thousand
 * instructions a story). */
static const char *make_source(cd_reader *r, unsigned long line, unsigned nth)
{
    if (!r->source_prefix) {
        size_t n = strlen(r->name);
        size_t need = n + 1 + 2 * CDI_NUM_MAX;
        if (need > r->source_cap) {
            char *p = realloc(r->source, need);
            if (!p)
                return NULL;
            r->source = p;
            r->source_cap = need;
        }
        memcpy(r->source, r->name, n);
        r->source[n] = ':';
        r->source_prefix = n + 1;
    }
    char *p = r->source + r->source_prefix;
    p += cdi_fmt_uint(line, p);
    if (nth > 1) {
        *p++ = '#';
        cdi_fmt_uint(nth, p);
    }
    return r->source;
}

/* Problems with the gathered bytes themselves; 0 when there are none. */
static int check_acc(cd_reader *r, const char *where, cd_error *err)
{
    if (r->acc.failed && !r->acc.over)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", where);
    if (r->acc.over) {
        cd_error_set(err, CD_ERR_LIMIT, "%s: story larger than %zu bytes, skipped",
                     where, r->opts.max_story_bytes);
        return CD_READ_ERROR;
    }
    return 0;
}

/* Parse the gathered JSON object that starts at line `line`. */
static int json_story(cd_reader *r, const char *source, unsigned long line,
                      cd_story *story, cd_error *err)
{
    if (!source)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", r->name);
    cd_error e = { 0 };
    size_t off = 0;
    if (cd_story_from_json(r->acc.data, r->acc.len, source, story, &off, &e) == CD_OK)
        return CD_READ_STORY;
    unsigned long at = line + count_lines(r->acc.data, off < r->acc.len ? off : r->acc.len);
    cd_error_set(err, e.code, "%s:%lu: %s", r->name, at, e.msg);
    return CD_READ_ERROR;
}

/* The input ended: an error when a read failed, else the file is done. */
static int end_of_file(cd_reader *r, cd_error *err)
{
    r->mode = M_DONE;
    if (r->in.ioerr)
        return fail_errno(err, r->name, r->in.ioerr);
    return STEP_DONE;
}

/* ---- raw JSON lines, parsed elsewhere ----------------------------------- */

static int raw_put(char **p, size_t *cap, const char *s, size_t n)
{
    if (n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < n + 1)
            c *= 2;
        char *q = realloc(*p, c);
        if (!q)
            return -1;
        *p = q;
        *cap = c;
    }
    memcpy(*p, s, n);
    (*p)[n] = '\0';
    return 0;
}

/* Hand the line (len bytes at json) and its source over in raw. */
static int raw_line(cd_raw_story *raw, const char *json, size_t len, const char *source,
                    cd_error *err)
{
    if (raw_put(&raw->json, &raw->cap, json, len) != 0 ||
        raw_put(&raw->source, &raw->source_cap, source, strlen(source)) != 0)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", source);
    raw->len = len;
    return CD_READ_RAW;
}

int cdi_raw_story_parse(const cd_raw_story *raw, cd_story *story, cd_error *err)
{
    cd_error e = { 0 };
    /* a line holds no newline: an error is on the line itself, whose
     * source is "path:LINE", as json_story says it */
    if (cd_story_from_json(raw->json, raw->len, raw->source, story, NULL, &e) == CD_OK)
        return CD_READ_STORY;
    cd_error_set(err, e.code, "%s: %s", raw->source, e.msg);
    return CD_READ_ERROR;
}

void cdi_raw_story_free(cd_raw_story *raw)
{
    if (!raw)
        return;
    free(raw->json);
    free(raw->source);
    memset(raw, 0, sizeof *raw);
}

/* One JSON line, already in acc. */
static int jsonl_line(cd_reader *r, unsigned long line, cd_story *story, cd_error *err)
{
    const char *where = make_source(r, line, 1);
    if (!where)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", r->name);
    int rc = check_acc(r, where, err);
    if (rc != 0)
        return rc;
    if (cdi_is_blank(r->acc.data, r->acc.len))
        return STEP_SKIP;
    if (r->raw)
        return raw_line(r->raw, r->acc.data, r->acc.len, where, err);
    return json_story(r, where, line, story, err);
}

static int jsonl_step(cd_reader *r, cd_story *story, cd_error *err)
{
    for (;;) {
        unsigned long line = r->in.line;
        cdi_buf_reset(&r->acc);
        if (!read_line(&r->in, r->chunk, &r->acc))
            return end_of_file(r, err);
        int rc = jsonl_line(r, line, story, err);
        if (rc != STEP_SKIP)
            return rc;
    }
}

/* After the closing ']': only white space may follow. */
static int array_end(cd_reader *r, cd_error *err)
{
    r->in.pos++;
    if (skip_space(&r->in, r->chunk) < 0)
        return end_of_file(r, err);
    r->mode = M_DONE;
    cd_error_set(err, CD_ERR_FORMAT, "%s:%lu: unexpected data after the JSON array",
                 r->name, r->in.line);
    return CD_READ_ERROR;
}

static unsigned nth_on_line(cd_reader *r, unsigned long line)
{
    if (line != r->elem_line) {
        r->elem_line = line;
        r->same_line = 0;
    }
    return ++r->same_line;
}

static int array_step(cd_reader *r, cd_story *story, cd_error *err)
{
    int c = skip_space(&r->in, r->chunk);
    if (c == ']')
        return array_end(r, err);
    unsigned long line = r->in.line;
    cdi_buf_reset(&r->acc);
    if (c < 0 || !scan_element(&r->in, r->chunk, &r->acc)) {
        if (r->in.ioerr)
            return end_of_file(r, err);
        r->mode = M_DONE;
        cd_error_set(err, CD_ERR_FORMAT, "%s:%lu: unexpected end of file in a JSON array",
                     r->name, c < 0 ? r->in.line : line);
        return CD_READ_ERROR;
    }
    unsigned nth = nth_on_line(r, line);
    if (r->acc.failed) {
        const char *where = make_source(r, line, 1);
        return check_acc(r, where ? where : r->name, err);
    }
    return json_story(r, make_source(r, line, nth), line, story, err);
}

static int jsonfeed_items(cd_reader *r, unsigned long line, cd_story *story, cd_error *err,
                          int *rc);

/* A '{' file: JSON lines, or one pretty-printed object. */
static int object_start(cd_reader *r, cd_story *story, cd_error *err)
{
    unsigned long line = r->in.line;
    cdi_buf_reset(&r->acc);
    read_line(&r->in, r->chunk, &r->acc);
    int rc;
    if (!r->acc.over && line_is_whole(r->acc.data, r->acc.len) &&
        jsonfeed_items(r, line, story, err, &rc))
        return rc;
    if (r->acc.over || line_is_whole(r->acc.data, r->acc.len)) {
        r->mode = M_JSONL;
        rc = jsonl_line(r, line, story, err);
        return rc == STEP_SKIP ? jsonl_step(r, story, err) : rc;
    }
    cdi_buf_put(&r->acc, "\n", 1);
    read_rest(&r->in, r->chunk, &r->acc);
    r->mode = M_DONE;
    if (r->in.ioerr)
        return fail_errno(err, r->name, r->in.ioerr);
    rc = check_acc(r, r->name, err);
    if (rc == 0 && jsonfeed_items(r, line, story, err, &rc))
        return rc;
    return rc != 0 ? rc : json_story(r, r->name, line, story, err);
}

static int text_story(cd_reader *r, cd_story *story, cd_error *err)
{
    cdi_buf_reset(&r->acc);
    read_rest(&r->in, r->chunk, &r->acc);
    r->mode = M_DONE;
    if (r->in.ioerr)
        return fail_errno(err, r->name, r->in.ioerr);
    int rc = check_acc(r, r->name, err);
    if (rc != 0)
        return rc;
    if (cd_story_from_text(r->acc.data, r->acc.len, r->name, r->label, story, NULL) != CD_OK)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", r->name);
    return CD_READ_STORY;
}

/* ---- feeds ------------------------------------------------------------------ */

static feed_out *feed_push(cd_reader *r)
{
    if (r->nfeed == r->capfeed) {
        size_t cap = r->capfeed ? r->capfeed * 2 : 16;
        feed_out *v = realloc(r->feed, cap * sizeof *v);
        if (!v)
            return NULL;
        r->feed = v;
        r->capfeed = cap;
    }
    feed_out *v = r->feed;
    feed_out *o = &v[r->nfeed++];
    memset(o, 0, sizeof *o);
    return o;
}

/* "name:LINE: what" from a feed's "line N: what" (lines of the file). */
static void located(cd_reader *r, cd_error *e, cd_status code, const char *msg)
{
    unsigned long n;
    int k = 0;
    if (sscanf(msg, "line %lu: %n", &n, &k) == 1 && k > 0)
        cd_error_set(e, code, "%s:%lu: %s", r->name, n + r->feed_line - 1, msg + k);
    else
        cd_error_set(e, code, "%s: %s", r->name, msg);
}

/* Out of memory at an item: the parse stops there, and the reader says
 * so after the items before it (kept in r, as there may be no room to
 * queue it). */
static int feed_nomem(cd_reader *r, const char *source)
{
    r->feed_nomem = 1;
    cd_error_set(&r->feed_oom, CD_ERR_NOMEM,
                 "%s%s: out of memory; this item and the ones after it were not read",
                 r->name, source);
    return 1;
}

static int feed_item(void *ud, const cd_feed_item *item)
{
    cd_reader *r = ud;
    char source[64];
    const char *where;
    if (item->line > 0)
        snprintf(source, sizeof source, ":%lu", (unsigned long)item->line + r->feed_line - 1);
    else
        snprintf(source, sizeof source, "#%zu", item->index);
    feed_out *o = feed_push(r);
    if (!o)
        return feed_nomem(r, source);
    size_t need = strlen(r->name) + strlen(source) + 1;
    char *full = malloc(need);
    if (!full) {
        r->nfeed--;
        return feed_nomem(r, source);
    }
    snprintf(full, need, "%s%s", r->name, source);
    where = full;
    cd_error e;
    if (cdi_feed_item_story(item, r->name, where, &o->story, &e) == CD_OK) {
        o->rc = CD_READ_STORY;
    } else {
        o->rc = CD_READ_ERROR;
        cd_error_set(&o->err, e.code, "%s: %s", where, e.msg);
    }
    free(full);
    return 0;
}

/* The feed in doc (len bytes): its items queued.  1 when it was a feed,
 * 0 when the document is XML but not a feed. */
static int feed_read(cd_reader *r, const char *doc, size_t len, const char *format)
{
    cd_feed_opts fo = { .format = format, .url = r->doc_url, .content_type = r->content_type };
    cd_error warn, err;
    size_t n = 0;
    size_t before = r->nfeed;
    cd_status st = cdi_feed_parse(doc, len, &fo, feed_item, r, &n, &warn, &err);
    if (st == CD_ERR_FORMAT && n == 0 && r->nfeed == before &&
        !strncmp(err.msg, CD_FEED_NOT_A_FEED, strlen(CD_FEED_NOT_A_FEED)) &&
        (!format || strcmp(format, "jsonfeed")))
        return 0;
    if (warn.code != CD_OK && r->opts.warnings) {
        feed_out *o = feed_push(r);   /* said before the items it concerns */
        if (o) {
            o->rc = CD_READ_WARNING;
            located(r, &o->err, warn.code, warn.msg);
            feed_out w = *o;
            memmove(r->feed + before + 1, r->feed + before, (r->nfeed - 1 - before) * sizeof w);
            r->feed[before] = w;
        }
    }
    feed_out *o = st != CD_OK ? feed_push(r) : NULL;
    if (o) {
        o->rc = CD_READ_ERROR;
        located(r, &o->err, st, err.msg);
    }
    return 1;
}

static void feed_clear(cd_reader *r)
{
    for (size_t i = r->ifeed; i < r->nfeed; i++)
        cd_story_clear(&r->feed[i].story);
    free(r->feed);
    r->feed = NULL;
    r->nfeed = r->ifeed = r->capfeed = 0;
}

static int feed_step(cd_reader *r, cd_story *story, cd_error *err)
{
    while (r->ifeed < r->nfeed) {
        feed_out *o = &r->feed[r->ifeed++];
        if (o->rc == CD_READ_STORY) {
            *story = o->story;
            memset(&o->story, 0, sizeof o->story);
            return CD_READ_STORY;
        }
        *err = o->err;
        return o->rc;
    }
    if (r->feed_nomem) {
        r->feed_nomem = 0;
        *err = r->feed_oom;
        return CD_READ_ERROR;
    }
    feed_clear(r);
    return end_of_file(r, err);
}

/* A '<' file (or UTF-16/32): read whole, then its items one at a time. */
static int feed_start(cd_reader *r, cd_story *story, cd_error *err)
{
    r->feed_line = r->in.line;
    const char *doc;
    size_t len;
    if (r->in.fd < 0) {   /* a fetched document: already whole in memory */
        doc = r->in.buf + r->in.pos;
        len = r->in.len - r->in.pos;
        r->in.pos = r->in.len;
    } else {
        cdi_buf_reset(&r->acc);
        read_rest(&r->in, r->chunk, &r->acc);
        if (r->in.ioerr) {
            r->mode = M_DONE;
            return fail_errno(err, r->name, r->in.ioerr);
        }
        int rc = check_acc(r, r->name, err);
        if (rc != 0) {
            r->mode = M_DONE;
            return rc;
        }
        doc = r->acc.data;
        len = r->acc.len;
    }
    if (!feed_read(r, doc, len, NULL)) {
        if (r->in.fd < 0) {   /* text_story reads from the source */
            r->in.pos = 0;
            cdi_buf_reset(&r->acc);
            cdi_buf_put(&r->acc, doc, len);
            r->mode = M_DONE;
            int rc = check_acc(r, r->name, err);
            if (rc != 0)
                return rc;
            if (cd_story_from_text(r->acc.data, r->acc.len, r->name, r->label, story, NULL) != CD_OK)
                return fail(err, CD_ERR_NOMEM, "%s: out of memory", r->name);
            return CD_READ_STORY;
        }
        r->mode = M_DONE;
        if (cd_story_from_text(r->acc.data, r->acc.len, r->name, r->label, story, NULL) != CD_OK)
            return fail(err, CD_ERR_NOMEM, "%s: out of memory", r->name);
        return CD_READ_STORY;
    }
    r->mode = M_FEED;
    return feed_step(r, story, err);
}

/* A JSON Feed in acc (the whole file): its items.  0 when it is not one. */
static int jsonfeed_items(cd_reader *r, unsigned long line, cd_story *story, cd_error *err,
                          int *rc)
{
    if (r->acc.len < 12 || !strstr(r->acc.data, "jsonfeed.org") ||
        !cdi_feed_is_jsonfeed(r->acc.data, r->acc.len))
        return 0;
    r->feed_line = line;
    feed_read(r, r->acc.data, r->acc.len, "jsonfeed");
    r->mode = M_FEED;
    *rc = feed_step(r, story, err);
    return 1;
}

/* Whether the source starts with a UTF-16 or UTF-32 mark or layout. */
static int wide_xml(src *s, char *chunk)
{
    if (!src_fill(s, chunk))
        return 0;
    const unsigned char *u = (const unsigned char *)s->buf + s->pos;
    size_t n = s->len - s->pos;
    if (n >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
        return 1;
    return n >= 4 && cdi_feed_is_xml((const char *)u, 4) && (!u[1] || !u[0]);
}

static int detect_step(cd_reader *r, cd_story *story, cd_error *err)
{
    if (wide_xml(&r->in, r->chunk))
        return feed_start(r, story, err);
    skip_bom(&r->in, r->chunk);
    int c = skip_space(&r->in, r->chunk);
    if (c < 0)
        return end_of_file(r, err);
    if (c == '<')
        return feed_start(r, story, err);
    if (c == '[') {
        r->in.pos++;
        r->mode = M_ARRAY;
        return array_step(r, story, err);
    }
    if (c == '{')
        return object_start(r, story, err);
    return text_story(r, story, err);
}

static int file_step(cd_reader *r, cd_story *story, cd_error *err)
{
    switch (r->mode) {
    case M_DETECT: return detect_step(r, story, err);
    case M_JSONL: return jsonl_step(r, story, err);
    case M_ARRAY: return array_step(r, story, err);
    case M_FEED: return feed_step(r, story, err);
    case M_DONE: break;
    }
    return STEP_DONE;
}

/* ---- opening and closing files ----------------------------------------- */

static void file_close(cd_reader *r)
{
    feed_clear(r);
    free(r->content_type);
    free(r->doc_url);
    r->content_type = r->doc_url = NULL;
    if (r->in.own_fd)
        close(r->in.fd);
    free(r->in.doc);
    free(r->name);
    free(r->label);
    r->name = r->label = NULL;
    memset(&r->in, 0, sizeof r->in);
    r->in.fd = -1;
    r->open = 0;
    acc_shrink(&r->acc);
}

/* Start reading from fd (or from doc when fd < 0; the reader takes both). */
static int file_start(cd_reader *r, int fd, int own_fd, char *doc, size_t doclen,
                      const char *name, const char *label, cd_error *err)
{
    r->name = strdup(name);
    r->label = label ? strdup(label) : NULL;
    r->source_prefix = 0;
    r->in = (src){ .fd = fd, .own_fd = own_fd, .doc = doc, .buf = doc,
                   .len = doc ? doclen : 0, .line = 1 };
    r->mode = M_DETECT;
    r->elem_line = 0;
    r->same_line = 0;
    r->open = 1;
    if (!r->name || (label && !r->label)) {
        file_close(r);
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", name);
    }
    return 1;
}

static int open_path(cd_reader *r, const char *path, const char *label, cd_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(err, path, errno);
    return file_start(r, fd, 1, NULL, 0, path, label, err);
}

static size_t fetch_bound(size_t max)
{
    return max > SIZE_MAX / CD_FETCH_STORIES ? SIZE_MAX : max * CD_FETCH_STORIES;
}

static int open_url(cd_reader *r, const char *url, cd_error *err)
{
    cd_fetch_opts fo = { .max_bytes = fetch_bound(r->opts.max_story_bytes),
                         .timeout_s = r->opts.url_timeout_s };
    char *doc = NULL;
    size_t len = 0;
    cd_fetch_meta *meta = malloc(sizeof *meta);
    if (!meta)
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", url);
    if (cdi_fetch_meta_get(url, &fo, meta, &doc, &len, err) != CD_OK) {
        free(meta);
        return CD_READ_ERROR;
    }
    int rc = file_start(r, -1, 0, doc, len, url, NULL, err);
    if (rc == 1) {   /* for a feed: its charset and the base of its links */
        r->content_type = meta->content_type[0] ? strdup(meta->content_type) : NULL;
        r->doc_url = strdup(meta->url[0] ? meta->url : url);
    }
    free(meta);
    return rc;
}

/* ---- directory walking -------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The sorted names in dir, hidden ones left out.  -1 with errno set. */
static int list_dir(const char *path, char ***out, size_t *nout)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **p = realloc(names, ncap * sizeof *names);
            if (!p) { rc = -1; break; }
            names = p;
            cap = ncap;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = -1;
        else
            n++;
    }
    int saved = rc ? ENOMEM : errno;
    closedir(d);
    if (rc != 0 || saved != 0) {
        free_names(names, n);
        errno = saved;
        return -1;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    *out = names;
    *nout = n;
    return 0;
}

/* Start walking dir (name: its own name, NULL for an input). 0 or error. */
static int push_dir(cd_reader *r, const char *path, const char *name, cd_error *err)
{
    if (r->ndirs == r->capdirs) {
        size_t ncap = r->capdirs ? r->capdirs * 2 : 8;
        frame *p = realloc(r->dirs, ncap * sizeof *p);
        if (!p)
            return fail(err, CD_ERR_NOMEM, "%s: out of memory", path);
        r->dirs = p;
        r->capdirs = ncap;
    }
    frame f = { 0 };
    if (list_dir(path, &f.names, &f.n) != 0)
        return fail_errno(err, path, errno);
    f.path = strdup(path);
    f.name = name ? strdup(name) : NULL;
    if (!f.path || (name && !f.name)) {
        free(f.path);
        free(f.name);
        free_names(f.names, f.n);
        return fail(err, CD_ERR_NOMEM, "%s: out of memory", path);
    }
    r->dirs[r->ndirs++] = f;
    return 0;
}

static void pop_dir(cd_reader *r)
{
    frame *f = &r->dirs[--r->ndirs];
    free(f->path);
    free(f->name);
    free_names(f->names, f->n);
}

/* The label of plain-text files in the current directory: the first
 * subfolder below the input directory. */
static const char *folder_label(const cd_reader *r)
{
    return r->ndirs >= 2 ? r->dirs[1].name : NULL;
}

/* One directory entry: 1 a file was opened, 0 nothing to read, or error. */
static int walk_entry(cd_reader *r, const char *path, const char *name, cd_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return fail_errno(err, path, errno);
    if (S_ISDIR(st.st_mode))
        return push_dir(r, path, name, err);
    if (S_ISLNK(st.st_mode) && stat(path, &st) != 0)
        return fail_errno(err, path, errno);
    if (!S_ISREG(st.st_mode))
        return 0;
    return open_path(r, path, folder_label(r), err);
}

/* Advance the walk: 1 a file was opened, 0 the walk is over, or error. */
static int walk_step(cd_reader *r, cd_error *err)
{
    while (r->ndirs > 0) {
        frame *f = &r->dirs[r->ndirs - 1];
        if (f->i == f->n) {
            pop_dir(r);
            continue;
        }
        const char *name = f->names[f->i++];
        char *path = join_path(f->path, name);
        if (!path)
            return fail(err, CD_ERR_NOMEM, "%s: out of memory", f->path);
        int rc = walk_entry(r, path, name, err);
        free(path);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Open the next input: 1 a file was opened, 0 none (a directory to walk),
 * or error. */
static int open_input(cd_reader *r, const char *input, cd_error *err)
{
    if (strcmp(input, "-") == 0)
        return file_start(r, STDIN_FILENO, 0, NULL, 0, "-", NULL, err);
    if (cdi_fetch_is_url(input))
        return open_url(r, input, err);
    struct stat st;
    if (stat(input, &st) != 0) {
        if (errno == ENOENT && strstr(input, "://"))
            return fail(err, CD_ERR_ARG,
                        "%s: no such file, and only http:// and https:// URLs are fetched",
                        input);
        return fail_errno(err, input, errno);
    }
    if (S_ISDIR(st.st_mode))
        return push_dir(r, input, NULL, err);
    return open_path(r, input, NULL, err);
}

/* ---- the public API ----------------------------------------------------- */

void cd_reader_opts_default(cd_reader_opts *opts)
{
    opts->max_story_bytes = CD_MAX_STORY_BYTES;
    opts->url_timeout_s = 30;
    opts->warnings = 0;
}

static cd_status copy_inputs(cd_reader *r, const char *const *inputs, size_t n)
{
    r->inputs = calloc(n ? n : 1, sizeof *r->inputs);
    if (!r->inputs)
        return CD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(r->inputs[i] = strdup(inputs[i])))
            return CD_ERR_NOMEM;
        r->ninputs = i + 1;
    }
    return CD_OK;
}

cd_status cd_reader_open(const char *const *inputs, size_t n,
                         const cd_reader_opts *opts, cd_reader **out, cd_error *err)
{
    if (!out || (n > 0 && !inputs))
        return cd_error_set(err, CD_ERR_ARG, "cd_reader_open: no inputs or no result pointer");
    for (size_t i = 0; i < n; i++)
        if (!inputs[i])
            return cd_error_set(err, CD_ERR_ARG, "cd_reader_open: input %zu is NULL", i);
    *out = NULL;
    cd_reader *r = calloc(1, sizeof *r);
    if (!r)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_reader_opts_default(&r->opts);
    if (opts && opts->max_story_bytes > 0)
        r->opts.max_story_bytes = opts->max_story_bytes;
    if (opts && opts->url_timeout_s > 0)
        r->opts.url_timeout_s = opts->url_timeout_s;
    if (opts)
        r->opts.warnings = opts->warnings;
    r->in.fd = -1;
    r->acc.max = r->opts.max_story_bytes;
    r->chunk = malloc(CHUNK);
    if (!r->chunk || cdi_buf_reserve(&r->acc, 0) != 0 || copy_inputs(r, inputs, n) != CD_OK) {
        cd_reader_free(r);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    *out = r;
    return CD_OK;
}

int cd_reader_next(cd_reader *r, cd_story *story, cd_error *err)
{
    memset(story, 0, sizeof *story);
    for (;;) {
        int rc;
        if (r->open) {
            rc = file_step(r, story, err);
            if (rc != STEP_DONE)
                return rc;
            file_close(r);
            continue;
        }
        if (r->ndirs > 0)
            rc = walk_step(r, err);
        else if (r->next < r->ninputs)
            rc = open_input(r, r->inputs[r->next++], err);
        else
            return CD_READ_END;
        if (rc < 0)
            return CD_READ_ERROR;
    }
}

int cdi_reader_next_raw(cd_reader *r, cd_story *story, cd_raw_story *raw, cd_error *err)
{
    r->raw = raw;
    int rc = cd_reader_next(r, story, err);
    r->raw = NULL;
    return rc;
}

void cd_reader_free(cd_reader *r)
{
    if (!r)
        return;
    if (r->open)
        file_close(r);
    while (r->ndirs > 0)
        pop_dir(r);
    free(r->dirs);
    for (size_t i = 0; i < r->ninputs; i++)
        free(r->inputs[i]);
    free(r->inputs);
    free(r->chunk);
    free(r->acc.data);
    free(r->source);
    free(r);
}
