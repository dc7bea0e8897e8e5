/*
 * copydesk/story.h - stories and the readers that produce them.
 *
 * A reader walks a list of inputs (files, directories recursively, "-" for
 * standard input, http(s) URLs fetched with libcurl) and yields one story at
 * a time, streaming: JSON lines are read line by line, so memory does not
 * grow with the number of stories.  Formats are detected per file:
 *
 *   - JSON lines, or one JSON object, or a JSON array of objects: id, title,
 *     body are read (the IPTC ninjs names uri, headline, body_text as well);
 *     labels (array of strings) is the gold label set; every other field is
 *     kept, as a JSON object text, in meta.
 *   - plain text: the first non-empty line is the title, the rest the body,
 *     the path the id.
 *   - inside a directory given as input, a plain-text file in a subfolder
 *     takes the name of its first subfolder as its label
 *     (corpus/trade/x.txt has label "trade").
 *
 * A bad story (malformed JSON line, story over the size limit, unreadable
 * file) is reported through cd_reader_next's return value and message, and
 * reading goes on with the next one.
 */
#ifndef COPYDESK_STORY_H
#define COPYDESK_STORY_H

#include <stddef.h>
#include "error.h"

typedef struct cd_story {
    char *id;            /* never NULL once read */
    char *title;         /* never NULL ("" when absent) */
    char *body;          /* never NULL ("" when absent) */
    size_t title_len;
    size_t body_len;
    char **labels;       /* gold labels, nlabels of them */
    size_t nlabels;
    char *meta_json;     /* pass-through fields as a JSON object text ("{}" when none) */
    char *source;        /* where it came from: "path:line", "path", "-:line", URL */
} cd_story;

/* Release what a story owns and zero it. */
void cd_story_clear(cd_story *story);

/* The text that is classified: title, a newline, body.  Returns a new
 * buffer (caller frees) or NULL when out of memory; *len gets its length. */
char *cd_story_text(const cd_story *story, size_t *len);

/* Convert len bytes of JSON text holding one object into a story, with the
 * field rules of the readers (core/story/story.c documents them).  source is
 * copied into story->source and is the id when the object has none.  On
 * failure returns CD_ERR_FORMAT (or CD_ERR_NOMEM), leaves the story zeroed,
 * err says what is wrong without a location, and *err_off (when not NULL)
 * gets the byte offset in json the problem is at (0 for a wrong field). */
cd_status cd_story_from_json(const char *json, size_t len, const char *source,
                             cd_story *story, size_t *err_off, cd_error *err);

/* Convert len bytes of plain text (any bytes, NUL included) into a story:
 * the first non-blank line, trimmed, is the title; the rest, without its
 * leading blank lines and trailing white space, is the body.  source is
 * both the id and the source; label, when not NULL, is the one gold label. */
cd_status cd_story_from_text(const char *text, size_t len, const char *source,
                             const char *label, cd_story *story, cd_error *err);

typedef struct cd_reader_opts {
    size_t max_story_bytes;  /* a story (or JSON line) larger than this is refused
                                and skipped (default CD_MAX_STORY_BYTES; 0 means
                                the default).  A fetched URL document may be up
                                to CD_FETCH_STORIES times this. */
    int url_timeout_s;       /* timeout for http(s) inputs (default 30; <= 0
                                means the default) */
} cd_reader_opts;

#define CD_MAX_STORY_BYTES ((size_t)64 << 20)
#define CD_FETCH_STORIES 4

void cd_reader_opts_default(cd_reader_opts *opts);

typedef struct cd_reader cd_reader;

/* Open a reader over n inputs (copied; opts NULL means the defaults);
 * nothing is read until cd_reader_next.  No inputs: no stories. */
cd_status cd_reader_open(const char *const *inputs, size_t n,
                         const cd_reader_opts *opts, cd_reader **out, cd_error *err);

enum {
    CD_READ_END = 0,    /* no more stories */
    CD_READ_STORY = 1,  /* *story was filled; the caller owns it (cd_story_clear) */
    CD_READ_ERROR = -1  /* one story or input failed: err says where and why
                           ("file:line: what"); call again to go on */
};

int cd_reader_next(cd_reader *r, cd_story *story, cd_error *err);
void cd_reader_free(cd_reader *r);

/* ---- parsing elsewhere (copydesk classify and route on several threads) */

/* One line of a JSON lines file, read but not yet parsed. */
typedef struct cd_raw_story {
    char *json;       /* the line, NUL-terminated; owned */
    size_t len, cap;
    char *source;     /* "path:LINE"; owned */
    size_t source_cap;
} cd_raw_story;

enum { CD_READ_RAW = 2 };  /* *raw was filled: parse it with cd_raw_story_parse */

/* cd_reader_next, except that a line of a JSON lines file comes back
 * unparsed (CD_READ_RAW) so that another thread can parse it; every other
 * input comes back as cd_reader_next gives it.  raw's buffers are reused
 * from call to call. */
int cd_reader_next_raw(cd_reader *r, cd_story *story, cd_raw_story *raw, cd_error *err);

/* Parse a raw line: CD_READ_STORY with *story filled, or CD_READ_ERROR with
 * the message cd_reader_next would have given ("path:LINE: what"). */
int cd_raw_story_parse(const cd_raw_story *raw, cd_story *story, cd_error *err);
void cd_raw_story_free(cd_raw_story *raw);

#endif
