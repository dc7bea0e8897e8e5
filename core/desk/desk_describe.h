/*
 * desk_describe.h - a loaded desk described as JSON, for people and for
 * the service's GET /v1/desk: its topics, destinations, rules (with the
 * file:line they are declared at), models, fallback and expect cases.
 */
#ifndef CD_DESK_DESCRIBE_H
#define CD_DESK_DESCRIBE_H

#include "copydesk.h"
#include "base/buf.h"
#include "base/json.h"

/* Append the description, one JSON object, to b (b->failed when out of
 * memory).  Reads only what loading fixed: safe while another thread
 * holds no reference to the desk's routing state. */
void cdi_desk_describe_json(const cd_desk *desk, cd_buf *b);

/* 1 when the story the desk last routed went to a url destination (its
 * delivery is then a spool file when the desk has a spool). */
int cdi_desk_routed_to_url(const cd_desk *desk);

#endif
