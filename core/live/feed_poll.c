/*
 * feed_poll.c - the conditional GET of a feed (see feed.h): cdi_fetch_meta_get
 * with the validators of the last answer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/feed.h"

cd_status cdi_feed_fetch(const char *url, double timeout_s, size_t max_bytes,
                         cd_feed_http *v, char **body, size_t *len, int *not_modified,
                         cd_fetch_meta *meta, cd_error *err)
{
    *body = NULL;
    *len = 0;
    *not_modified = 0;
    cd_fetch_meta *m = malloc(sizeof *m);
    if (!m)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", url);
    cd_fetch_opts o = { .max_bytes = max_bytes,
                        .timeout_s = timeout_s > 0 ? (long)ceil(timeout_s) : 30L,
                        .if_none_match = v->etag, .if_modified_since = v->last_modified };
    char *doc = NULL;
    size_t n = 0;
    cd_status st = cdi_fetch_meta_get(url, &o, m, &doc, &n, err);
    if (st == CD_OK && m->status == 304) {
        *not_modified = 1;
        free(doc);
    } else if (st == CD_OK && (m->status < 200 || m->status >= 300)) {
        st = cd_error_set(err, CD_ERR_NET, "%s: HTTP %ld", url, m->status);
        free(doc);
    } else if (st == CD_OK) {
        snprintf(v->etag, sizeof v->etag, "%s", m->etag);
        snprintf(v->last_modified, sizeof v->last_modified, "%s", m->last_modified);
        *body = doc;
        *len = n;
        if (meta)
            *meta = *m;
    }
    free(m);
    return st;
}
