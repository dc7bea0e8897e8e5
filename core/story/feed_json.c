/*
 * feed_json.c - JSON Feed (https://jsonfeed.org, versions 1 and 1.1) and
 * JSON lines feeds, parsed with cJSON (see feed.h).
 *
 * JSON Feed items give id, title, content_text (else the text of
 * content_html, else summary), url (resolved against the feed's address)
 * and date_published; an item with no id, url or title is known by an id
 * made from its content (feed.h).  A JSON lines feed is one story object
 * per line (or a JSON array of them), read with the same field rules as
 * any story (core/story/story.c): the item is passed on as its JSON and
 * known by its id (or uri), else by its url (or link), else by its title
 * (or headline), else by an id made from the object: never by its place,
 * which changes when the feed puts a new item on top.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libxml/uri.h>

#include "story/feed.h"
#include "story/html_text.h"

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

cd_status cdi_feed_parse_jsonfeed(const char *doc, size_t len, const cd_feed_opts *opts,
                                  cd_feed_item_fn fn, void *ud, size_t *nitems,
                                  cd_error *err)
{
    if (nitems)
        *nitems = 0;
    cJSON *root = cJSON_ParseWithLength(doc, len);
    if (!root)
        return cd_error_set(err, CD_ERR_FORMAT, "JSON Feed: malformed JSON near byte %ld",
                            (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - doc : 0));
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (!cJSON_IsArray(items)) {
        cJSON_Delete(root);
        return cd_error_set(err, CD_ERR_FORMAT, "JSON Feed: no items array");
    }
    /* the feed's own name for itself, for ids made from content */
    const char *key = str_field(root, "feed_url");
    if (!key)
        key = str_field(root, "home_page_url");
    if (!key && opts)
        key = opts->url;
    cd_status st = CD_OK;
    size_t count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        if (!cJSON_IsObject(it))
            continue;
        cd_feed_item item = { 0 };
        char idbuf[32];
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(it, "id");
        item.id = str_field(it, "id");
        if (!item.id && cJSON_IsNumber(idv)) {   /* version 1 allowed numbers */
            snprintf(idbuf, sizeof idbuf, "%.17g", idv->valuedouble);
            item.id = idbuf;
        }
        item.title = str_field(it, "title");
        item.link = str_field(it, "url");
        xmlChar *abs = NULL;   /* a relative url, against the feed's address */
        if (item.link && opts && opts->url && !strstr(item.link, "://") &&
            (abs = xmlBuildURI((const xmlChar *)item.link, (const xmlChar *)opts->url)))
            item.link = (const char *)abs;
        item.published = str_field(it, "date_published");
        char *html = NULL, *title = NULL;
        item.body = str_field(it, "content_text");
        if (!item.body && str_field(it, "content_html")) {
            const char *h = str_field(it, "content_html");
            if (!(html = cdi_html_to_text(h, strlen(h)))) {
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
                xmlFree(abs);
                break;
            }
            item.body = html[0] ? html : NULL;
        }
        if (!item.body)
            item.body = str_field(it, "summary");
        if (item.title && (title = strdup(item.title))) {
            cdi_text_collapse(title);
            item.title = title[0] ? title : NULL;
        }
        char idbuf2[CD_FEED_ID_SIZE];
        if (!item.id)
            item.id = item.link ? item.link : item.title;
        if (!item.id && (item.body || item.published)) {
            cdi_feed_content_id(key, &item, idbuf2);
            item.id = idbuf2;
        }
        int stop = 0;
        item.index = ++count;
        if (item.id) {
            if (nitems)
                (*nitems)++;
            stop = fn(ud, &item);
        }
        free(html);
        free(title);
        xmlFree(abs);
        if (stop)
            break;
    }
    cJSON_Delete(root);
    return st;
}

/* The first of the string fields keys (NULL-terminated) that o has. */
static const char *first_field(const cJSON *o, const char *const *keys)
{
    const char *v = NULL;
    for (; !v && *keys; keys++)
        v = str_field(o, *keys);
    return v;
}

/* One story object, known by its id (or uri), else its url (or link), else
 * its title (or headline), else an id made from the object's whole text
 * (printed by cJSON, so that spacing does not change it).  1 to stop, -1
 * when out of memory. */
static int object_item(const cJSON *o, const char *json, size_t n, const char *key,
                       cd_feed_item_fn fn, void *ud, size_t *nitems)
{
    static const char *const ids[] = { "id", "uri", "url", "link", "title", "headline", NULL };
    static const char *const titles[] = { "title", "headline", NULL };
    cd_feed_item item = { 0 };
    char idbuf[CD_FEED_ID_SIZE];
    item.id = first_field(o, ids);
    if (!item.id) {
        cd_feed_item c = { 0 };
        char *text = cJSON_PrintUnformatted(o);
        if (!text)
            return -1;
        c.body = text;
        cdi_feed_content_id(key, &c, idbuf);
        cJSON_free(text);
        item.id = idbuf;
    }
    item.title = first_field(o, titles);
    item.json = json;
    item.json_len = n;
    if (nitems)
        (*nitems)++;
    return fn(ud, &item);
}

cd_status cdi_feed_parse_jsonl(const char *doc, size_t len, const cd_feed_opts *opts,
                               cd_feed_item_fn fn, void *ud, size_t *nitems, cd_error *err)
{
    if (nitems)
        *nitems = 0;
    const char *key = opts ? opts->url : NULL;   /* for ids made from content */
    const char *p = doc, *end = doc + len;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    if (p < end && *p == '[') {   /* an array of story objects */
        cJSON *root = cJSON_ParseWithLength(doc, len);
        if (!cJSON_IsArray(root)) {
            cJSON_Delete(root);
            return cd_error_set(err, CD_ERR_FORMAT, "malformed JSON array");
        }
        cd_status st = CD_OK;
        const cJSON *o;
        cJSON_ArrayForEach(o, root) {
            if (!cJSON_IsObject(o))
                continue;
            char *json = cJSON_PrintUnformatted(o);
            int stop = json ? object_item(o, json, strlen(json), key, fn, ud, nitems) : -1;
            cJSON_free(json);
            if (stop < 0)
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            if (stop)
                break;
        }
        cJSON_Delete(root);
        return st;
    }
    cd_status st = CD_OK;
    unsigned long line = 0;
    for (p = doc; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < le) {
            cJSON *o = cJSON_ParseWithLength(p, (size_t)(le - p));
            if (!cJSON_IsObject(o)) {
                if (st == CD_OK)   /* report the first bad line, keep the others */
                    st = cd_error_set(err, CD_ERR_FORMAT, "line %lu: not a JSON object", line);
            } else {
                int stop = object_item(o, p, (size_t)(le - p), key, fn, ud, nitems);
                if (stop < 0)
                    st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
                if (stop) {
                    cJSON_Delete(o);
                    break;
                }
            }
            cJSON_Delete(o);
        }
        p = nl ? nl + 1 : end;
    }
    return st;
}
