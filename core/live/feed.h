/*
 * feed.h - news feeds: fetching them with conditional requests, and
 * parsing RSS 2.0 and Atom (expat, feed_xml.c), JSON Feed and JSON lines
 * (cJSON, feed_json.c) into items that become stories.
 *
 * Parsing streams items to a callback rather than building a list: a
 * feed's document is bounded by the fetch, its items are not kept.  An
 * item without an id of its own (guid, Atom id, JSON Feed id) is known by
 * its link, else by its title, so that it can still be remembered as
 * seen.  Items with none of those are skipped.
 *
 * Fetching sends If-None-Match and If-Modified-Since from the validators
 * of the last answer, so an unchanged feed costs a 304 and no parsing.
 */
#ifndef CD_FEED_H
#define CD_FEED_H

#include <stddef.h>

#include "copydesk/error.h"
#include "copydesk/story.h"

typedef struct cd_feed_item {
    const char *id;         /* never NULL */
    const char *title;      /* NULL when absent */
    const char *body;       /* text (HTML tags removed), NULL when absent */
    const char *link;
    const char *published;
    const char *json;       /* JSON lines: the item is this story object */
    size_t json_len;
} cd_feed_item;

/* Called per item in document order; return non-zero to stop. */
typedef int (*cd_feed_item_fn)(void *ud, const cd_feed_item *item);

/* Parse a feed document.  format: "rss", "atom" (both XML: either is
 * accepted), "jsonfeed", "jsonl", or NULL to detect it from the content.
 * On error err says what and where ("line 3: ..."); items before the
 * error have been given to fn.  *nitems (when not NULL) gets the count. */
cd_status cd_feed_parse(const char *doc, size_t len, const char *format,
                        cd_feed_item_fn fn, void *ud, size_t *nitems, cd_error *err);
cd_status cd_feed_parse_xml(const char *doc, size_t len, cd_feed_item_fn fn, void *ud,
                            size_t *nitems, cd_error *err);
cd_status cd_feed_parse_jsonfeed(const char *doc, size_t len, cd_feed_item_fn fn,
                                 void *ud, size_t *nitems, cd_error *err);
cd_status cd_feed_parse_jsonl(const char *doc, size_t len, cd_feed_item_fn fn, void *ud,
                              size_t *nitems, cd_error *err);

/* The story of an item: its id, title and body; link, published and the
 * feed's name pass through as metadata.  source is where it came from. */
cd_status cd_feed_item_story(const cd_feed_item *item, const char *feed,
                             const char *source, cd_story *story, cd_error *err);

/* Remove HTML tags and decode the common entities, in place; collapses
 * runs of white space.  Feeds put HTML in descriptions; stories are text. */
void cd_feed_strip_html(char *s);

/* The validators of the last answer, kept between polls. */
typedef struct cd_feed_http {
    char etag[256];
    char last_modified[128];
} cd_feed_http;

/* GET url with the validators in *v (updated from the answer).  On a 304
 * answer *not_modified is set and *body is NULL; else *body (caller frees,
 * NUL-terminated) holds *len bytes.  Errors: CD_ERR_NET (HTTP >= 400,
 * network, timeout), CD_ERR_LIMIT (larger than max_bytes), CD_ERR_NOMEM. */
cd_status cd_feed_fetch(const char *url, double timeout_s, size_t max_bytes,
                        cd_feed_http *v, char **body, size_t *len, int *not_modified,
                        cd_error *err);

#endif
