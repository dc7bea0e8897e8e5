/*
 * story_text.h - the text a story is classified by, into a buffer the
 * caller keeps from one story to the next (cd_story_text allocates it).
 */
#ifndef CD_STORY_TEXT_H
#define CD_STORY_TEXT_H

#include "base/buf.h"
#include "copydesk/story.h"

/* b := title "\n" body, as cd_story_text makes it; -1 when out of memory. */
int cdi_story_text_into(const cd_story *story, cd_buf *b);

#endif
