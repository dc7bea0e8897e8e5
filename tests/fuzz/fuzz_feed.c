/*
 * fuzz_feed.c - libFuzzer target: the feed parsers (core/live/feed.h) on any
 * bytes.  The first byte chooses the format (detected, rss/atom,
 * jsonfeed, jsonl); every item is turned into a story, which must have
 * its fields.  An error must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "copydesk.h"
#include "live/feed.h"

static int on_item(void *ud, const cd_feed_item *item)
{
    size_t *n = ud;
    if (!item->id)
        abort();
    cd_story s;
    cd_error err;
    if (cd_feed_item_story(item, "fuzz", "fuzz:feed", &s, &err) == CD_OK) {
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
    if (size < 1)
        return 0;
    const char *format = formats[data[0] & 3];
    size_t seen = 0, n = 0;
    cd_error err = { 0 };
    if (cd_feed_parse((const char *)data + 1, size - 1, format, on_item, &seen, &n, &err) != CD_OK &&
        !err.msg[0])
        abort();
    return 0;
}
