/*
 * desk/desk_out.h - what route needs beyond the public API: a decided
 * story's JSON written into the caller's buffer (route --dry-run appends
 * each story's line to its output buffer, with no string of its own to
 * allocate, fill, copy and free per story), and deliveries staged ahead of
 * their turn.
 */
#ifndef CD_DESK_OUT_H
#define CD_DESK_OUT_H

#include "copydesk/desk.h"
#include "base/buf.h"

/* cd_desk_decision_json appended to out; 0, or -1 when there is no story
 * or out failed (out of memory: out->failed). */
int cdi_desk_decision_json_to(cd_desk *desk, int explain, cd_buf *out);

/* After cd_desk_decide and before cd_desk_deliver: make the story's JSON
 * and stage its files in the folder destinations of its route
 * (cdi_dest_stage), which needs no order, so that the delivery, made in
 * input order, only puts them in place.  Nothing for a held story. */
void cdi_desk_stage(cd_desk *desk);

#endif
