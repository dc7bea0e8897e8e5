/*
 * desk/desk_live.h - what copydesk watch (core/live/) needs from a loaded
 * desk beyond routing: the model files it opened (watched for
 * replacement) and the feeds its configuration declares.  Internal: the
 * live desk is part of the library, not of its public API.
 */
#ifndef CD_DESK_LIVE_H
#define CD_DESK_LIVE_H

#include <stddef.h>

#include "copydesk/desk.h"

/* The file of model i as opened (relative paths resolved from the
 * configuration's folder); caller frees; NULL when out of memory. */
char *cd_desk_model_file(const cd_desk *desk, size_t i);

/* Feeds the configuration declares: feed "name" { url = ..., every = 60 }. */
typedef struct cd_desk_feed {
    const char *name;
    const char *url;
    const char *format;   /* "rss", "atom", "jsonfeed", "jsonl" or NULL (detect) */
    const char *where;    /* "file:line" of the declaration */
    double every_s;       /* polling interval (default 300) */
    double timeout_s;     /* whole request (default 30) */
} cd_desk_feed;

size_t cd_desk_feeds(const cd_desk *desk);
void cd_desk_feed_get(const cd_desk *desk, size_t i, cd_desk_feed *out);

#endif
