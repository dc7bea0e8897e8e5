/*
 * deliver_url.c - the url destination: HTTP POST of the story JSON.
 *
 * One libcurl easy handle per destination, reused so that connections are
 * kept alive between stories.  Every attempt has a connect timeout and a
 * whole-transfer timeout; an attempt that fails with a network error, a
 * timeout, or a 408/429/5xx answer is retried after a wait that starts at
 * backoff_s and doubles (capped at 30 s).  Other 4xx answers are not
 * retried: sending the same body again would fail the same way.  When the
 * last attempt fails the error says why, and the desk moves the story to
 * its dead-letter folder.  A spool posts with cdi_url_post_once and waits
 * between attempts itself.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "deliver/deliver_impl.h"

static size_t discard_body(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr; (void)ud;
    return size * n;
}

cd_status cdi_url_open(cd_dest *d, cd_error *err)
{
    const char *u = d->target;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return cd_error_set(err, CD_ERR_ARG, "%s: only http:// and https:// URLs", u);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d->curl_errbuf = calloc(1, CURL_ERROR_SIZE);
    d->curl = curl_easy_init();
    if (!d->curl || !d->curl_errbuf)
        return cd_error_set(err, CD_ERR_NOMEM, "cannot create an HTTP handle");
    return CD_OK;
}

void cdi_url_close(cd_dest *d)
{
    if (d->curl) {
        curl_easy_cleanup(d->curl);
        d->curl = NULL;
    }
    if (d->curl_errbuf) {
        free(d->curl_errbuf);
        d->curl_errbuf = NULL;
        curl_global_cleanup();
    }
}

static void set_options(cd_dest *d, struct curl_slist *headers, const char *json,
                        size_t len)
{
    CURL *c = d->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->target);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "copydesk");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(d->opts.timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(d->opts.connect_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_errbuf);
}

enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_GIVE_UP };

/* One POST; fills err on failure and says whether a retry may help. */
static int attempt(cd_dest *d, const char *json, size_t len, cd_error *err)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!headers) {
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return ATTEMPT_RETRY;   /* for now: the story is not at fault */
    }
    d->curl_errbuf[0] = '\0';
    set_options(d, headers, json, len);
    CURLcode rc = curl_easy_perform(d->curl);
    long code = 0;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        cd_error_set(err, CD_ERR_NET, "%s: %s", d->target,
                     d->curl_errbuf[0] ? d->curl_errbuf : curl_easy_strerror(rc));
        return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
                   ? ATTEMPT_GIVE_UP : ATTEMPT_RETRY;
    }
    if (code >= 200 && code < 300)
        return ATTEMPT_OK;
    cd_error_set(err, CD_ERR_NET, "%s: HTTP status %ld", d->target, code);
    return (code >= 500 || code == 408 || code == 429) ? ATTEMPT_RETRY : ATTEMPT_GIVE_UP;
}

cd_status cdi_url_post_once(cd_dest *d, const char *json, size_t len, int *permanent,
                            cd_error *err)
{
    int r = attempt(d, json, len, err);
    *permanent = r == ATTEMPT_GIVE_UP;
    return r == ATTEMPT_OK ? CD_OK : CD_ERR_NET;
}

