/*
 * feed.h - the feeds watch polls: a conditional GET through the one libcurl
 * GET of copydesk (core/story/fetch.c), its validators kept between polls.
 * The documents are read by the readers every intake shares
 * (core/story/feed.h).
 *
 * Fetching sends If-None-Match and If-Modified-Since from the validators
 * of the last answer, so an unchanged feed costs a 304 and no parsing.
 */
#ifndef CD_FEED_H
#define CD_FEED_H

#include <stddef.h>

#include "copydesk/error.h"
#include "story/fetch.h"
#include "story/feed.h"

/* The validators of the last answer, kept between polls. */
typedef struct cd_feed_http {
    char etag[256];
    char last_modified[128];
} cd_feed_http;

/* GET url with the validators in *v (updated from the answer).  On a 304
 * answer *not_modified is set and *body is NULL; else *body (caller frees,
 * NUL-terminated) holds *len bytes and *meta (when not NULL) its
 * Content-Type and final address, for the parser.  Errors: CD_ERR_NET
 * (HTTP >= 400, network, timeout), CD_ERR_LIMIT (larger than max_bytes),
 * CD_ERR_NOMEM. */
cd_status cdi_feed_fetch(const char *url, double timeout_s, size_t max_bytes,
                         cd_feed_http *v, char **body, size_t *len, int *not_modified,
                         cd_fetch_meta *meta, cd_error *err);

#endif
