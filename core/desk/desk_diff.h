/*
 * desk_diff.h - what a desk change would do, story by story: each story
 * decided under the base desk and the new one (never delivered), its
 * route under both as a set, and the moves (base route -> new route)
 * counted.  copydesk diff (cli/cli_diff.c) prints it; copydesk serve
 * answers POST /v1/desk/diff with it (core/serve/service_diff.c).  Give
 * the new desk cd_desk_share(new, base) first: it then reuses the base
 * desk's tokens and model results, so a story costs about one
 * classification.
 */
#ifndef CD_DESK_DIFF_H
#define CD_DESK_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "copydesk/desk.h"

enum { CD_DIFF_MOVED = 1, CD_DIFF_BASE_ERROR = 4, CD_DIFF_NEW_ERROR = 8 };   /* 2 is free for callers */

typedef struct cd_diff_story {
    int flags;                /* CD_DIFF_* */
    cd_buf from, to;          /* the routes as sets: names sorted, ", " between, "-" empty */
    cd_decision base, now;    /* the decisions (strings the desks' until their next story) */
    char *base_json, *new_json;   /* moved: both decisions with their evidence, as
                                     'route --dry-run --explain' prints them */
} cd_diff_story;

/* Decide s under both desks.  CD_OK when it has a decision under both
 * (rule errors are in flags); an error when either desk could not
 * consider it, or no memory. */
cd_status cdi_diff_story(cd_desk *base, cd_desk *desk, const cd_story *s, cd_diff_story *r,
                         cd_error *err);
void cdi_diff_story_free(cd_diff_story *r);

/* A moved story as JSON: {"id","source","from":[..],"to":[..],"base":{..},"new":{..}}. */
void cdi_diff_change_json(cd_buf *out, const cd_story *s, const cd_diff_story *r);

/* The moves, counted. */
typedef struct cd_diff_move {
    char *from, *to;          /* route sets as in cd_diff_story */
    uint64_t count;
    cd_buf changes;           /* for the caller: the moved stories it lists */
    size_t listed;
} cd_diff_move;

typedef struct cd_diff_moves {
    cd_diff_move *v;
    size_t n, cap;
    int failed;               /* out of memory on the way */
} cd_diff_moves;

/* Count one story moved from -> to; returns its move, or NULL (no memory). */
cd_diff_move *cdi_diff_moves_add(cd_diff_moves *m, const char *from, size_t flen, const char *to,
                                 size_t tlen);
/* Most stories first, then by names. */
void cdi_diff_moves_sort(cd_diff_moves *m);
void cdi_diff_moves_free(cd_diff_moves *m);

/* A route set "a, b" as a JSON array ["a","b"] ("-": []). */
void cdi_diff_names_json(cd_buf *out, const char *set);

#endif
