/*
 * feed.c - what the feed formats share: detecting the format, making a
 * story of an item, HTML to text, and the conditional GET (see feed.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "copydesk.h"
#include "live/feed.h"

/* ---- format ---------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

/* A JSON document whose top-level object has an "items" array is a JSON
 * Feed; other JSON is JSON lines (or an array of story objects). */
static int looks_like_jsonfeed(const char *doc, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(doc, len);
    int yes = root && cJSON_IsObject(root) &&
              cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "items"));
    cJSON_Delete(root);
    return yes;
}

cd_status cd_feed_parse(const char *doc, size_t len, const char *format,
                        cd_feed_item_fn fn, void *ud, size_t *nitems, cd_error *err)
{
    if (nitems)
        *nitems = 0;
    if (format && (!strcmp(format, "rss") || !strcmp(format, "atom")))
        return cd_feed_parse_xml(doc, len, fn, ud, nitems, err);
    if (format && !strcmp(format, "jsonfeed"))
        return cd_feed_parse_jsonfeed(doc, len, fn, ud, nitems, err);
    if (format && !strcmp(format, "jsonl"))
        return cd_feed_parse_jsonl(doc, len, fn, ud, nitems, err);
    const char *p = skip_ws(doc, doc + len);
    if (p == doc + len)
        return CD_OK;   /* an empty feed has no items */
    if (*p == '<')
        return cd_feed_parse_xml(doc, len, fn, ud, nitems, err);
    if (*p == '{' && looks_like_jsonfeed(doc, len))
        return cd_feed_parse_jsonfeed(doc, len, fn, ud, nitems, err);
    if (*p == '{' || *p == '[')
        return cd_feed_parse_jsonl(doc, len, fn, ud, nitems, err);
    return cd_error_set(err, CD_ERR_FORMAT, "not a feed (neither XML nor JSON)");
}

/* ---- items to stories -------------------------------------------------------- */

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

cd_status cd_feed_item_story(const cd_feed_item *item, const char *feed,
                             const char *source, cd_story *story, cd_error *err)
{
    if (item->json) {
        cd_status st = cd_story_from_json(item->json, item->json_len, source, story, NULL, err);
        if (st == CD_OK && !strcmp(story->id, source)) {
            char *id = strdup(item->id);   /* no id of its own: the one the feed knows it by */
            if (!id) {
                cd_story_clear(story);
                return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            }
            free(story->id);
            story->id = id;
        }
        return st;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    add_str(o, "id", item->id);
    add_str(o, "title", item->title ? item->title : "");
    add_str(o, "body", item->body ? item->body : "");
    add_str(o, "link", item->link);
    add_str(o, "published", item->published);
    add_str(o, "feed", feed);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = cd_story_from_json(json, strlen(json), source, story, NULL, err);
    cJSON_free(json);
    return st;
}

/* ---- HTML to text ---------------------------------------------------------- */

static const struct { const char *name; const char *text; } entities[] = {
    { "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" },
    { "apos;", "'" }, { "#39;", "'" }, { "nbsp;", " " },
};

void cd_feed_strip_html(char *s)
{
    char *w = s;
    int space = 1;   /* drop leading white space */
    for (const char *r = s; *r; ) {
        const char *put = NULL;
        size_t putn = 0;
        if (*r == '<' && (isalpha((unsigned char)r[1]) || r[1] == '/' || r[1] == '!')) {
            const char *close = strchr(r, '>');
            if (close) {
                r = close + 1;
                put = " ";
                putn = 1;
            }
        } else if (*r == '&') {
            for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++) {
                size_t n = strlen(entities[i].name);
                if (!strncmp(r + 1, entities[i].name, n)) {
                    put = entities[i].text;
                    putn = 1;
                    r += n + 1;
                    break;
                }
            }
        }
        if (!put) {
            put = r++;
            putn = 1;
        }
        for (size_t i = 0; i < putn; i++) {
            char c = put[i];
            if (isspace((unsigned char)c)) {
                if (space)
                    continue;
                c = ' ';
                space = 1;
            } else {
                space = 0;
            }
            *w++ = c;   /* never ahead of r: every output byte consumed one or more */
        }
    }
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

/* ---- conditional GET ----------------------------------------------------------- */

typedef struct fetch_state {
    char *p;
    size_t len, cap, max;
    int over, nomem;
    cd_feed_http got;    /* validators of this answer */
} fetch_state;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    fetch_state *s = ud;
    size_t k = size * n;
    if (k > s->max - s->len) {
        s->over = 1;
        return 0;
    }
    if (s->len + k + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + k + 1)
            cap *= 2;
        char *p = realloc(s->p, cap);
        if (!p) {
            s->nomem = 1;
            return 0;
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, k);
    s->len += k;
    return k;
}

/* Keep the value of header name (case-insensitive) from line into out. */
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

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    fetch_state *s = ud;
    size_t k = size * n;
    if (k >= 5 && !strncmp(line, "HTTP/", 5))   /* a new answer (after a redirect) */
        memset(&s->got, 0, sizeof s->got);
    header_value(line, k, "etag:", s->got.etag, sizeof s->got.etag);
    header_value(line, k, "last-modified:", s->got.last_modified, sizeof s->got.last_modified);
    return k;
}

cd_status cd_feed_fetch(const char *url, double timeout_s, size_t max_bytes,
                        cd_feed_http *v, char **body, size_t *len, int *not_modified,
                        cd_error *err)
{
    *body = NULL;
    *len = 0;
    *not_modified = 0;
    CURL *h = curl_easy_init();
    if (!h)
        return cd_error_set(err, CD_ERR_NOMEM, "%s: cannot start libcurl", url);
    fetch_state s = { .max = max_bytes };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    char line[400];
    if (v->etag[0]) {
        snprintf(line, sizeof line, "If-None-Match: %s", v->etag);
        hdr = curl_slist_append(hdr, line);
    }
    if (v->last_modified[0]) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", v->last_modified);
        hdr = curl_slist_append(hdr, line);
    }
    long ms = (long)(timeout_s > 0 ? timeout_s * 1000 : 30000);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? ms : 10000L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "copydesk/" CD_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    cd_status st = CD_OK;
    if (s.nomem)
        st = cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", url);
    else if (s.over)
        st = cd_error_set(err, CD_ERR_LIMIT, "%s: feed larger than %zu bytes", url, max_bytes);
    else if (rc != CURLE_OK)
        st = cd_error_set(err, CD_ERR_NET, "%s: %s", url,
                          errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (code == 304)
        *not_modified = 1;
    else if (code >= 400 || code < 200)
        st = cd_error_set(err, CD_ERR_NET, "%s: HTTP %ld", url, code);
    if (st != CD_OK || *not_modified) {
        free(s.p);
        return st;
    }
    *v = s.got;
    if (!s.p && !(s.p = calloc(1, 1)))
        return cd_error_set(err, CD_ERR_NOMEM, "%s: out of memory", url);
    s.p[s.len] = '\0';
    *body = s.p;
    *len = s.len;
    return CD_OK;
}
