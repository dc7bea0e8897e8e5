/*
 * fuzz_stream_entry.c - libFuzzer target: a Redis stream entry as copydesk
 * watch decodes it (core/live/stream_entry.h), from any bytes.
 *
 * The bytes are a server's answer in the Redis protocol (read by hiredis's
 * reader, as the worker reads them); when it is the fields of an entry, a
 * flat array [name, value, ...], it is decoded into a story.  Checks: a
 * story has an id, its metadata is a JSON object, and every field other
 * than story is in it (the story's own metadata wins on a name in both).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "copydesk.h"
#include "live/stream_entry.h"

static void check(const redisReply *fields)
{
    cd_story s;
    cd_error err;
    if (cdi_stream_entry_reply_story(fields, "stream:fuzz/1-0", &s, &err) != CD_OK)
        return;
    if (!s.id || !s.meta_json)
        abort();
    cJSON *meta = cJSON_Parse(s.meta_json);
    if (!meta || !cJSON_IsObject(meta))
        abort();
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if ((k->len == 5 && !memcmp(k->str, "story", 5)) || memchr(k->str, '\0', (size_t)k->len))
            continue;
        char *name = strndup(k->str, (size_t)k->len);
        if (name && !cJSON_GetObjectItemCaseSensitive(meta, name))
            abort();
        free(name);
    }
    cJSON_Delete(meta);
    cd_story_clear(&s);
}

/* Does the input declare an array of more than a million elements?
 * hiredis 0.14 (Debian 12) allocates the element array an array header
 * declares, before the elements arrive (its maxelements bound came in
 * 1.0): such an answer from the worker's own Redis server would test the
 * allocator, not copydesk, and runs libFuzzer out of memory. */
static int huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '*')
            continue;
        uint64_t n = 0;
        for (size_t j = i + 1; j < size && data[j] >= '0' && data[j] <= '9' && n <= 1000000; j++)
            n = n * 10 + (uint64_t)(data[j] - '0');
        if (n > 1000000)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (huge_array(data, size))
        return 0;
    redisReader *r = redisReaderCreate();
    if (!r)
        return 0;
    if (redisReaderFeed(r, (const char *)data, size) == REDIS_OK) {
        void *reply = NULL;
        if (redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
            const redisReply *rep = reply;
            check(rep);
            /* an XREADGROUP answer: [[key, [[id, fields], ...]]] */
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements &&
                rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2) {
                const redisReply *entries = rep->element[0]->element[1];
                for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++)
                    if (entries->element[i]->type == REDIS_REPLY_ARRAY &&
                        entries->element[i]->elements == 2)
                        check(entries->element[i]->element[1]);
            }
            freeReplyObject(reply);
        }
    }
    redisReaderFree(r);
    return 0;
}
