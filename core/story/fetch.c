/*
 * fetch.c - http(s) GET into a bounded memory buffer with libcurl (see
 * fetch.h for the contract).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "copydesk.h"
#include "base/buf.h"
#include "story/fetch.h"

/* The response body (bounded by max_bytes) and the answer's headers. */
typedef struct sink {
    cd_buf body;
    int nomem;             /* something other than the body ran out of memory */
    cd_fetch_meta *meta;   /* headers of the answer, or NULL */
} sink;

int cdi_fetch_is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    cdi_buf_put(&s->body, data, n);
    return s->body.failed ? 0 : n;   /* 0 makes curl stop with CURLE_WRITE_ERROR */
}

/* Keep the value of header name (with its colon, any case) from line. */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0)
        return;
    const char *v = line + nl, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if ((size_t)(end - v) < cap) {
        memcpy(out, v, (size_t)(end - v));
        out[end - v] = '\0';
    }
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    cd_fetch_meta *m = s->meta;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {   /* a new answer (after a redirect) */
        m->etag[0] = m->last_modified[0] = m->content_type[0] = '\0';
    }
    header_value(line, n, "etag:", m->etag, sizeof m->etag);
    header_value(line, n, "last-modified:", m->last_modified, sizeof m->last_modified);
    header_value(line, n, "content-type:", m->content_type, sizeof m->content_type);
    return n;
}

static CURLcode setup(CURL *h, const char *url, const cd_fetch_opts *opts,
                      sink *s, char *errbuf, struct curl_slist *hdr)
{
    long timeout = opts->timeout_s > 0 ? opts->timeout_s : 30L;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, CD_FETCH_MAX_REDIRECTS);
    SET(CURLOPT_FAILONERROR, 1L);
    SET(CURLOPT_TIMEOUT, timeout);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_USERAGENT, "copydesk/" CD_VERSION);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, s);
    if (hdr)
        SET(CURLOPT_HTTPHEADER, hdr);
    if (s->meta) {
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, s);
    }
    if (s->body.max <= (size_t)INT64_MAX)  /* curl_off_t is 64 bits */
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->body.max);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
#undef SET
    return rc;
}

static cd_status report(CURL *h, CURLcode rc, const char *url, const sink *s,
                        const char *errbuf, cd_error *err)
{
    if (s->nomem || (s->body.failed && !s->body.over))
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", url);
    if (s->body.over || rc == CURLE_FILESIZE_EXCEEDED)
        return cd_error_set(err, CD_ERR_LIMIT, "%s: document larger than %zu bytes",
                            url, s->body.max);
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        return cd_error_set(err, CD_ERR_NET, "%s: HTTP %ld", url, code);
    }
    return cd_error_set(err, CD_ERR_NET, "%s: %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* The conditional request's headers; 0, or -1 when out of memory. */
static int conditional(const cd_fetch_opts *opts, struct curl_slist **hdr)
{
    char line[400];
    struct curl_slist *l;
    if (opts->if_none_match && opts->if_none_match[0]) {
        snprintf(line, sizeof line, "If-None-Match: %s", opts->if_none_match);
        if (!(l = curl_slist_append(*hdr, line)))
            return -1;
        *hdr = l;
    }
    if (opts->if_modified_since && opts->if_modified_since[0]) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", opts->if_modified_since);
        if (!(l = curl_slist_append(*hdr, line)))
            return -1;
        *hdr = l;
    }
    return 0;
}

cd_status cdi_fetch(const char *url, const cd_fetch_opts *opts,
                    char **body, size_t *len, cd_error *err)
{
    return cdi_fetch_meta_get(url, opts, NULL, body, len, err);
}

cd_status cdi_fetch_meta_get(const char *url, const cd_fetch_opts *opts, cd_fetch_meta *meta,
                             char **body, size_t *len, cd_error *err)
{
    *body = NULL;
    *len = 0;
    if (meta)
        memset(meta, 0, sizeof *meta);
    if (!cdi_fetch_is_url(url))
        return cd_error_set(err, CD_ERR_ARG, "%s: only http and https URLs are fetched", url);
    CURL *h = curl_easy_init();
    if (!h)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: cannot start libcurl", url);
    sink s = { .body = { .max = opts->max_bytes }, .meta = meta };
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc = CURLE_OK;
    struct curl_slist *hdr = NULL;
    if (cdi_buf_reserve(&s.body, 0) != 0 || conditional(opts, &hdr) != 0)
        s.nomem = 1;
    else
        rc = setup(h, url, opts, &s, errbuf, hdr);
    if (rc == CURLE_OK && !s.nomem)
        rc = curl_easy_perform(h);
    cd_status st = CD_OK;
    if (rc != CURLE_OK || s.nomem || s.body.failed)
        st = report(h, rc, url, &s, errbuf, err);
    if (st == CD_OK && meta) {
        char *where = NULL;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &meta->status);
        if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &where) == CURLE_OK && where &&
            strlen(where) < sizeof meta->url)
            strcpy(meta->url, where);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (st != CD_OK) {
        cdi_buf_free(&s.body);
        return st;
    }
    *body = cdi_buf_take(&s.body, len);
    return CD_OK;
}
