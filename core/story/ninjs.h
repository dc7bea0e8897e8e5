/*
 * ninjs.h - IPTC ninjs 2.x stories (News in JSON), read into a cd_story.
 *
 * story.c calls these on every JSON object it reads: an object is a ninjs
 * 2.x story when it has a "headlines" or a "bodies" array (ninjs 1.x
 * objects, with "headline" and "body_text", are read by story.c's alias
 * rules).  The rules are in ninjs.c.
 */
#ifndef CD_STORY_NINJS_H
#define CD_STORY_NINJS_H

#include <cjson/cJSON.h>

#include "copydesk/story.h"

/* 1 when obj is a ninjs 2.x object: it has "headlines" or "bodies" (not
 * null; cdi_ninjs_read_text reports one that is not an array). */
int cdi_ninjs_is_v2(const cJSON *obj);

/* Fill story->title and story->body from a ninjs 2.x object: the main
 * headline, the main body with its markup stripped (else the main
 * description).  Reads obj without changing it; headlines, bodies and
 * descriptions stay in obj and so in the story's metadata.  Falls back to
 * "headline" / "body_text" / "title" / "body" strings where the arrays
 * give nothing. */
cd_status cdi_ninjs_read_text(const cJSON *obj, cd_story *story, cd_error *err);

/* The id of a story copydesk wrote as ninjs (see ninjs.c): when obj has
 * no "id", a uri "urn:copydesk:..." and an altid with the role
 * "copydesk:id", that altid's value, detached (caller deletes); the altid
 * and the uri are removed from obj.  NULL otherwise, obj unchanged. */
cJSON *cdi_ninjs_take_copydesk_id(cJSON *obj);

/* Text of HTML or XML markup: tags dropped (a block tag becomes a line
 * break), script and style contents dropped, character references
 * decoded.  Returns a new string (caller frees) of *out_len bytes, or NULL
 * when out of memory. */
char *cdi_ninjs_strip_markup(const char *s, size_t len, size_t *out_len);

#endif
