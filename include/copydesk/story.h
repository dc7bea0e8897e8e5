/*
 * copydesk/story.h - stories and the readers that produce them.
 *
 * A reader walks a list of inputs (files, directories recursively, "-" for
 * standard input, http(s) URLs fetched with libcurl) and yields one story at
 * a time, streaming: JSON lines are read line by line, so memory does not
 * grow with the number of stories.  Formats are detected per file:
 *
 *   - JSON lines, or one JSON object, or a JSON array of objects: id, title,
 *     body are read (the IPTC ninjs 1.x names uri, headline, body_text as
 *     well); labels (array of strings) is the gold label set; every other
 *     field is kept, as a JSON object text, in meta (a nested "meta"
 *     object's fields first).  IPTC ninjs 2.x stories (headlines[] and
 *     bodies[] arrays) give their main headline and their main body, markup
 *     stripped (core/story/ninjs.c).  copydesk's own outputs read back as
 *     the stories they carry (core/story/story.c has the rules).
 *   - RSS and Atom feeds (a file whose first character is '<', in any
 *     encoding, UTF-16 and UTF-32 included): each item is a story, read as
 *     cd_stories_from_feed reads it; source "path:LINE" (the item's line).
 *     An XML file that is not a feed is plain text.  A JSON Feed document
 *     (an object with "version" from jsonfeed.org and an "items" array) is
 *     read the same way, source "path#N".
 *   - a file whose first non-blank character is '[' or '{' is JSON: if it
 *     does not parse, it is an error ("file:line: what"), never text.
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
    double received;     /* when copydesk got it, UTC seconds since 1970; 0: unknown
                            (the desk then uses the time it decides) */
} cd_story;

/* Release what a story owns and zero it. */
CD_API void cd_story_clear(cd_story *story);

/* The text that is classified: title, a newline, body.  Returns a new
 * buffer (caller frees) or NULL when out of memory; *len gets its length. */
CD_API char *cd_story_text(const cd_story *story, size_t *len);

/* Convert len bytes of JSON text holding one object into a story, with the
 * field rules of the readers (core/story/story.c documents them).  source is
 * copied into story->source and is the id when the object has none.  On
 * failure returns CD_ERR_FORMAT (or CD_ERR_NOMEM), leaves the story zeroed,
 * err says what is wrong without a location, and *err_off (when not NULL)
 * gets the byte offset in json the problem is at (0 for a wrong field). */
CD_API cd_status cd_story_from_json(const char *json, size_t len, const char *source,
                                    cd_story *story, size_t *err_off, cd_error *err);

/* Convert len bytes of plain text (any bytes, NUL included) into a story:
 * the first non-blank line, trimmed, is the title; the rest, without its
 * leading blank lines and trailing white space, is the body.  source is
 * both the id and the source; label, when not NULL, is the one gold label. */
CD_API cd_status cd_story_from_text(const char *text, size_t len, const char *source,
                                    const char *label, cd_story *story, cd_error *err);

/* Replace the story's gold labels by its ninjs subjects (read from its
 * metadata): a Media Topic uri http://cv.iptc.org/newscodes/mediatopic/CODE
 * as "medtop:CODE", another uri as it is, else the subject's literal,
 * else its name; duplicates dropped.  No subjects: no labels.
 * (copydesk train and eval --labels-from subjects.) */
CD_API cd_status cd_story_labels_from_subjects(cd_story *story, cd_error *err);

/* ---- feeds: one document holding many stories ------------------------- */

/* Where a feed document came from. */
typedef struct cd_feed_source {
    const char *url;           /* its address: the base of relative links, and
                                  the stories' source; NULL when unknown */
    const char *content_type;  /* the HTTP Content-Type (its charset), or NULL */
    const char *name;          /* the feed's name, kept as the stories' "feed"
                                  metadata (default: url) */
    const char *format;        /* "rss", "atom", "jsonfeed", "jsonl", or NULL
                                  to detect it */
} cd_feed_source;

/* Given each story in turn; it owns the story (cd_story_clear it).
 * Return non-zero to stop. */
typedef int (*cd_story_fn)(void *ud, cd_story *story);

/* Read the items of a feed document (RSS 0.9x/1.0/2.0, Atom 1.0/0.3, JSON
 * Feed, JSON lines) as stories, the way `watch` reads the feeds it polls
 * and `route` a saved feed file: encodings, HTML, namespaces, relative
 * links and items without ids are handled as core/story/feed.h says.  A
 * feed read only after repairs (an HTML entity, a stray '&', a bad byte)
 * is CD_OK with *warn (when not NULL) saying what was repaired first;
 * warn->code is CD_OK when nothing was.  On error err says what and where
 * ("line 3: ..."); the stories before it have been given.  *nstories
 * (when not NULL) gets the number of items read. */
CD_API cd_status cd_stories_from_feed(const char *doc, size_t len, const cd_feed_source *src,
                               cd_story_fn fn, void *ud, size_t *nstories,
                               cd_error *warn, cd_error *err);

typedef struct cd_reader_opts {
    size_t max_story_bytes;  /* a story (or JSON line) larger than this is refused
                                and skipped (default CD_MAX_STORY_BYTES; 0 means
                                the default).  A fetched URL document may be up
                                to CD_FETCH_STORIES times this. */
    int url_timeout_s;       /* timeout for http(s) inputs (default 30; <= 0
                                means the default) */
    int warnings;            /* non-zero: cd_reader_next also returns
                                CD_READ_WARNING (a feed read after repairs);
                                zero: such warnings are not reported */
} cd_reader_opts;

#define CD_MAX_STORY_BYTES ((size_t)64 << 20)
#define CD_FETCH_STORIES 4

CD_API void cd_reader_opts_default(cd_reader_opts *opts);

typedef struct cd_reader cd_reader;

/* Open a reader over n inputs (copied; opts NULL means the defaults);
 * nothing is read until cd_reader_next.  No inputs: no stories. */
CD_API cd_status cd_reader_open(const char *const *inputs, size_t n,
                                const cd_reader_opts *opts, cd_reader **out, cd_error *err);

enum {
    CD_READ_END = 0,    /* no more stories */
    CD_READ_STORY = 1,  /* *story was filled; the caller owns it (cd_story_clear) */
    CD_READ_ERROR = -1, /* one story or input failed: err says where and why
                           ("file:line: what"); call again to go on */
    CD_READ_WARNING = 3 /* only with opts.warnings: an input was read after
                           repairs, err says what ("file:line: what"); no
                           story; call again to go on */
};

CD_API int cd_reader_next(cd_reader *r, cd_story *story, cd_error *err);
CD_API void cd_reader_free(cd_reader *r);

#endif
