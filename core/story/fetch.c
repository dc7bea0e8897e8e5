/*
 * fetch.c - http(s) GET into a bounded memory buffer with libcurl (see
 * fetch.h for the contract).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "copydesk.h"
#include "story/fetch.h"

/* The growing response body; never larger than max bytes. */
typedef struct sink {
    char *p;
    size_t len, cap, max;
    int over;   /* the document grew past max */
    int nomem;
} sink;

int cd_fetch_is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static int sink_grow(sink *s, size_t need)
{
    size_t cap = s->cap ? s->cap : 16384;
    while (cap - 1 < need) {
        if (cap > (size_t)-1 / 2)
            return -1;
        cap *= 2;
    }
    if (s->max < (size_t)-1 && cap > s->max + 1)
        cap = s->max + 1 > need ? s->max + 1 : need + 1;  /* never more than the bound */
    char *p = realloc(s->p, cap);
    if (!p)
        return -1;
    s->p = p;
    s->cap = cap;
    return 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->max - s->len) {
        s->over = 1;
        return 0;  /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap && sink_grow(s, s->len + n) != 0) {
        s->nomem = 1;
        return 0;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    return n;
}

static CURLcode setup(CURL *h, const char *url, const cd_fetch_opts *opts,
                      sink *s, char *errbuf)
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
    if (s->max <= (size_t)INT64_MAX)  /* curl_off_t is 64 bits */
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
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
    if (s->nomem)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", url);
    if (s->over || rc == CURLE_FILESIZE_EXCEEDED)
        return cd_error_set(err, CD_ERR_LIMIT, "%s: document larger than %zu bytes",
                            url, s->max);
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        return cd_error_set(err, CD_ERR_NET, "%s: HTTP %ld", url, code);
    }
    return cd_error_set(err, CD_ERR_NET, "%s: %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

cd_status cd_fetch(const char *url, const cd_fetch_opts *opts,
                   char **body, size_t *len, cd_error *err)
{
    *body = NULL;
    *len = 0;
    if (!cd_fetch_is_url(url))
        return cd_error_set(err, CD_ERR_ARG, "%s: only http and https URLs are fetched", url);
    CURL *h = curl_easy_init();
    if (!h)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: cannot start libcurl", url);
    sink s = { .max = opts->max_bytes };
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc = CURLE_OK;
    if (sink_grow(&s, 0) != 0)
        s.nomem = 1;
    else
        rc = setup(h, url, opts, &s, errbuf);
    if (rc == CURLE_OK && !s.nomem)
        rc = curl_easy_perform(h);
    cd_status st = CD_OK;
    if (rc != CURLE_OK || s.nomem)
        st = report(h, rc, url, &s, errbuf, err);
    curl_easy_cleanup(h);
    if (st != CD_OK || !s.p) {
        free(s.p);
        return st != CD_OK ? st : CD_ERR_NOMEM;
    }
    s.p[s.len] = '\0';
    *body = s.p;
    *len = s.len;
    return CD_OK;
}
