/*
 * fuzz_feed.c - libFuzzer target: the feed readers (core/story/feed.h) on
 * any bytes.  The first byte chooses the format (detected, rss/atom,
 * jsonfeed, jsonl), an HTTP charset (none, windows-1252, utf-16, euc-kr)
 * and whether the feed has an address (relative links resolved); the
 * rest is the document, decoded, repaired, parsed by libxml2 in its
 * recovering mode, its HTML made text.  Every item is turned into a
 * story, which must have its fields; an error must say why; a warning
 * must say what.  The same bytes also go through cdi_html_to_text alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "story/feed.h"

static int on_item(void *ud, const cd_feed_item *item)
{
    size_t *n = ud;
    if (!item->id || !item->id[0])
        abort();
    cd_story s;
    cd_error err;
    if (cdi_feed_item_story(item, "fuzz", "fuzz:feed", &s, &err) == CD_OK) {
        if (!s.id || !s.title || !s.body || !s.meta_json)
            abort();
        cd_story_clear(&s);
    }
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[] = { NULL, "rss", "jsonfeed", "jsonl" };
    static const char *const types[] = { NULL, "application/rss+xml; charset=windows-1252",
                                         "text/xml; charset=\"utf-16\"", "text/xml;charset=euc-kr" };
    if (size < 1)
        return 0;
    cd_feed_opts o = { .format = formats[data[0] & 3], .content_type = types[(data[0] >> 2) & 3],
                       .url = (data[0] & 16) ? "http://feeds.test/a/b/feed.xml" : NULL };
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    size_t seen = 0, n = 0;
    cd_error err = { 0 }, warn = { 0 };
    cd_status st = cdi_feed_parse(doc, len, &o, on_item, &seen, &n, &warn, &err);
    if (st != CD_OK && !err.msg[0])
        abort();
    if (warn.code != CD_OK && !warn.msg[0])
        abort();
    if (n != seen)
        abort();
    char *t = cdi_html_to_text(doc, len);
    if (!t)
        abort();
    if (strlen(t) > len * 3 + 8)   /* text is never much longer than its markup */
        abort();
    free(t);
    return 0;
}
