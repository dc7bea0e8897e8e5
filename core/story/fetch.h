/*
 * fetch.h - http(s) GET of a whole document into a bounded memory buffer,
 * with libcurl.  Used by the story reader for URL inputs.
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
} cd_fetch_opts;

/* Non-zero when s starts with http:// or https:// (any case). */
int cd_fetch_is_url(const char *s);

/* GET url.  On success *body gets a new NUL-terminated buffer (caller
 * frees) holding *len bytes.  On failure returns CD_ERR_NET, CD_ERR_LIMIT,
 * CD_ERR_ARG (not an http(s) URL) or CD_ERR_NOMEM and err->msg starts with
 * the URL ("http://x/y: HTTP 404"). */
cd_status cd_fetch(const char *url, const cd_fetch_opts *opts,
                   char **body, size_t *len, cd_error *err);

#endif
