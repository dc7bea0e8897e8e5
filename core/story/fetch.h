/*
 * fetch.h - http(s) GET of a whole document into a bounded memory buffer,
 * with libcurl: the one GET of copydesk, used by the story reader for URL
 * inputs and by watch for the feeds it polls (conditional GETs).
 *
 * Only http:// and https:// are fetched, redirects included (at most
 * CD_FETCH_MAX_REDIRECTS of them).  An HTTP status >= 400 is an error
 * ("URL: HTTP 404"), and so is a document larger than max_bytes (refused
 * from its Content-Length when the server sends one, otherwise stopped as
 * soon as it grows past the bound), or a transfer that takes longer than
 * the timeout (connecting, redirects and body together).
 *
 * libcurl is initialized lazily by curl_easy_init; a program that fetches
 * from several threads should call curl_global_init first.
 */
#ifndef CD_FETCH_H
#define CD_FETCH_H

#include <stddef.h>

#include "copydesk/error.h"

#define CD_FETCH_MAX_REDIRECTS 5L

typedef struct cd_fetch_opts {
    size_t max_bytes;  /* largest document accepted */
    long timeout_s;    /* whole transfer; <= 0 means 30 seconds */
    /* A conditional GET (feeds): sent as If-None-Match and
     * If-Modified-Since when not NULL and not empty. */
    const char *if_none_match;
    const char *if_modified_since;
} cd_fetch_opts;

/* What the answer said besides its body (values longer than their field
 * are left empty). */
typedef struct cd_fetch_meta {
    long status;              /* 200, 304, ... */
    char etag[256];
    char last_modified[128];
    char content_type[256];
    char url[2048];           /* where the document is, after redirects */
} cd_fetch_meta;

/* Non-zero when s starts with http:// or https:// (any case). */
int cdi_fetch_is_url(const char *s);

/* GET url.  On success *body gets a new NUL-terminated buffer (caller
 * frees) holding *len bytes.  On failure returns CD_ERR_NET, CD_ERR_LIMIT,
 * CD_ERR_ARG (not an http(s) URL) or CD_ERR_NOMEM and err->msg starts with
 * the URL ("http://x/y: HTTP 404"). */
cd_status cdi_fetch(const char *url, const cd_fetch_opts *opts,
                    char **body, size_t *len, cd_error *err);

/* cdi_fetch, and *meta (when not NULL) filled from the answer.  A 304 answer
 * to a conditional GET is CD_OK with meta->status 304 and an empty body. */
cd_status cdi_fetch_meta_get(const char *url, const cd_fetch_opts *opts, cd_fetch_meta *meta,
                             char **body, size_t *len, cd_error *err);

#endif
