/*
 * story/raw.h - reading stories on one thread and parsing them on others
 * (copydesk classify and route --threads): the reader hands over JSON
 * lines unparsed.  Used by the command line only, so not public.
 */
#ifndef CD_STORY_RAW_H
#define CD_STORY_RAW_H

#include <stddef.h>

#include "copydesk/story.h"

/* One line of a JSON lines file, read but not yet parsed. */
typedef struct cd_raw_story {
    char *json;       /* the line, NUL-terminated; owned */
    size_t len, cap;
    char *source;     /* "path:LINE"; owned */
    size_t source_cap;
} cd_raw_story;

enum { CD_READ_RAW = 2 };  /* *raw was filled: parse it with cdi_raw_story_parse */

/* cd_reader_next, except that a line of a JSON lines file comes back
 * unparsed (CD_READ_RAW) so that another thread can parse it; every other
 * input comes back as cd_reader_next gives it.  raw's buffers are reused
 * from call to call. */
int cdi_reader_next_raw(cd_reader *r, cd_story *story, cd_raw_story *raw, cd_error *err);

/* Parse a raw line: CD_READ_STORY with *story filled, or CD_READ_ERROR with
 * the message cd_reader_next would have given ("path:LINE: what"). */
int cdi_raw_story_parse(const cd_raw_story *raw, cd_story *story, cd_error *err);
void cdi_raw_story_free(cd_raw_story *raw);

#endif
