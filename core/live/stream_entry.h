/*
 * live/stream_entry.h - one Redis stream entry as a story.
 *
 * An entry is a list of field/value pairs (binary strings).  The field
 * `story` holds the story as JSON (read with cd_story_from_json, the rules
 * of every JSON input); every other field is kept as the story's metadata,
 * a string, unless the story's own metadata has that name already.  An
 * entry without `story`, with `story` twice, or whose story is not a JSON
 * object is refused with a message saying what is wrong.
 */
#ifndef CD_LIVE_STREAM_ENTRY_H
#define CD_LIVE_STREAM_ENTRY_H

#include <stddef.h>

#include "copydesk.h"

#define CD_STREAM_ENTRY_MAX ((size_t)64 << 20)   /* bytes, as any story */

/* Decode the n fields of an entry (names[i], values[i], with lengths);
 * source is where it came from ("stream:NAME/ID"), the id when the story
 * has none. */
cd_status cdi_stream_entry_story(size_t n, const char *const *names, const size_t *name_lens,
                                 const char *const *values, const size_t *value_lens,
                                 const char *source, cd_story *out, cd_error *err);

/* The same for the fields of an entry as hiredis gives them: a flat
 * array [name, value, name, value, ...] of strings. */
typedef struct redisReply redisReply;
cd_status cdi_stream_entry_reply_story(const redisReply *fields, const char *source,
                                       cd_story *out, cd_error *err);

#endif
