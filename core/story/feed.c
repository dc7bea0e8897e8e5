/*
 * feed.c - what the feed formats share: detecting the format, making a
 * story of an item, content-derived ids, and the entry point for a feed
 * document in memory (see feed.h and copydesk/story.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#define XXH_STATIC_LINKING_ONLY   /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "copydesk.h"
#include "base/ascii.h"
#include "story/feed.h"

/* ---- format ---------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    while (p < end && cdi_is_space((unsigned char)*p))
        p++;
    return p;
}

int cdi_feed_is_xml(const char *doc, size_t len)
{
    const unsigned char *u = (const unsigned char *)doc;
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
        return 1;   /* UTF-16 or UTF-32 with a mark */
    if (len >= 4 && ((u[0] && !u[1] && !u[3]) || (!u[0] && !u[2] && u[3])))
        return 1;   /* their layout without one ("<\0?\0", "\0<\0?", ...) */
    const char *p = skip_ws(doc, doc + len);
    return p < doc + len && *p == '<';
}

/* A JSON document whose top-level object has an "items" array is a JSON
 * Feed; other JSON is JSON lines (or an array of story objects). */
int cdi_feed_is_jsonfeed(const char *doc, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(doc, len);
    int yes = root && cJSON_IsObject(root) &&
              cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "items"));
    cJSON_Delete(root);
    return yes;
}

cd_status cdi_feed_parse(const char *doc, size_t len, const cd_feed_opts *opts,
                         cd_feed_item_fn fn, void *ud, size_t *nitems,
                         cd_error *warn, cd_error *err)
{
    const char *format = opts ? opts->format : NULL;
    if (nitems)
        *nitems = 0;
    if (warn)
        warn->code = CD_OK, warn->msg[0] = '\0';
    if (format && (!strcmp(format, "rss") || !strcmp(format, "atom")))
        return cdi_feed_parse_xml(doc, len, opts, fn, ud, nitems, warn, err);
    if (format && !strcmp(format, "jsonfeed"))
        return cdi_feed_parse_jsonfeed(doc, len, opts, fn, ud, nitems, err);
    if (format && !strcmp(format, "jsonl"))
        return cdi_feed_parse_jsonl(doc, len, opts, fn, ud, nitems, err);
    const char *p = skip_ws(doc, doc + len);
    if (p == doc + len)
        return CD_OK;   /* an empty feed has no items */
    if (cdi_feed_is_xml(doc, len))
        return cdi_feed_parse_xml(doc, len, opts, fn, ud, nitems, warn, err);
    if (*p == '{' && cdi_feed_is_jsonfeed(doc, len))
        return cdi_feed_parse_jsonfeed(doc, len, opts, fn, ud, nitems, err);
    if (*p == '{' || *p == '[')
        return cdi_feed_parse_jsonl(doc, len, opts, fn, ud, nitems, err);
    return cd_error_set(err, CD_ERR_FORMAT, "not a feed (neither XML nor JSON)");
}

/* ---- ids from content ----------------------------------------------------------- */

static void hash_field(XXH3_state_t *h, const char *s)
{
    if (s)
        XXH3_128bits_update(h, s, strlen(s));
    XXH3_128bits_update(h, "", 1);   /* fields stay apart: ("ab","") != ("a","b") */
}

void cdi_feed_content_id(const char *feed_key, const cd_feed_item *item, char *out)
{
    XXH3_state_t h;
    XXH3_INITSTATE(&h);
    XXH3_128bits_reset(&h);
    hash_field(&h, feed_key);
    hash_field(&h, item->title);
    hash_field(&h, item->link);
    hash_field(&h, item->body);
    hash_field(&h, item->published);
    hash_field(&h, item->meta_json);
    XXH128_hash_t v = XXH3_128bits_digest(&h);
    snprintf(out, CD_FEED_ID_SIZE, "urn:copydesk:item:%016llx%016llx",
             (unsigned long long)v.high64, (unsigned long long)v.low64);
}

/* ---- items to stories -------------------------------------------------------- */

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

cd_status cdi_feed_item_story(const cd_feed_item *item, const char *feed,
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
    cJSON *more = item->meta_json ? cJSON_Parse(item->meta_json) : NULL;
    if (cJSON_IsObject(more)) {   /* categories, author, enclosures, ext */
        while (more->child) {
            cJSON *f = cJSON_DetachItemViaPointer(more, more->child);
            if (cJSON_GetObjectItemCaseSensitive(o, f->string))
                cJSON_Delete(f);
            else
                cJSON_AddItemToObject(o, f->string, f);
        }
    }
    cJSON_Delete(more);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = cd_story_from_json(json, strlen(json), source, story, NULL, err);
    cJSON_free(json);
    return st;
}

/* ---- a document in memory, for any intake ------------------------------------------ */

typedef struct to_story {
    const cd_feed_source *src;
    cd_story_fn fn;
    void *ud;
    cd_error *err;
    cd_status st;
} to_story;

static int item_to_story(void *ud, const cd_feed_item *item)
{
    to_story *t = ud;
    cd_story s;
    const char *name = t->src->name ? t->src->name : t->src->url;
    const char *source = t->src->url ? t->src->url : name ? name : "feed";
    cd_status st = cdi_feed_item_story(item, name, source, &s, t->err);
    if (st != CD_OK) {
        t->st = st;
        return 1;
    }
    return t->fn(t->ud, &s);
}

cd_status cd_stories_from_feed(const char *doc, size_t len, const cd_feed_source *src,
                               cd_story_fn fn, void *ud, size_t *nstories,
                               cd_error *warn, cd_error *err)
{
    static const cd_feed_source none = { 0 };
    if (!src)
        src = &none;
    cd_feed_opts o = { .format = src->format, .url = src->url,
                       .content_type = src->content_type };
    to_story t = { src, fn, ud, err, CD_OK };
    cd_status st = cdi_feed_parse(doc, len, &o, item_to_story, &t, nstories, warn, err);
    return t.st != CD_OK ? t.st : st;
}
