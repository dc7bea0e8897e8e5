/*
 * desk/desk_out.h - a decided story's JSON written into the caller's
 * buffer: route --dry-run appends each story's line to its output buffer,
 * with no string of its own to allocate, fill, copy and free per story.
 */
#ifndef CD_DESK_OUT_H
#define CD_DESK_OUT_H

#include "copydesk/desk.h"
#include "base/buf.h"

/* cd_desk_decision_json appended to out; 0, or -1 when there is no story
 * or out failed (out of memory: out->failed). */
int cdi_desk_decision_json_to(cd_desk *desk, int explain, cd_buf *out);

#endif
