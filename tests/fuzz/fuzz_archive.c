/*
 * fuzz_archive.c - libFuzzer target: reading back a line of the archive
 * that copydesk watch keeps (core/live/archive.h), on any bytes.
 *
 * The bytes are read as one JSON object (cd_story_from_json, what the
 * readers do with a segment's line), then cdi_archive_unwrap takes the
 * archived decision out of the metadata.  Checks: the metadata stays a
 * JSON object with one "archived" field fewer (the last: a story's own
 * field of that name stays) when a decision was taken out, and that
 * decision is JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "live/archive.h"

/* Top-level "archived" fields of a JSON object text; -1 when not an object. */
static int count_archived(const char *json)
{
    cJSON *o = cJSON_Parse(json), *c;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    int n = 0;
    cJSON_ArrayForEach(c, o)
        n += c->string && !strcmp(c->string, "archived");
    cJSON_Delete(o);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cd_story s;
    cd_error err;
    if (cd_story_from_json((const char *)data, size, "fuzz:1", &s, NULL, &err) != CD_OK)
        return 0;
    char *rec = NULL;
    int before = count_archived(s.meta_json);
    if (cdi_archive_unwrap(&s, &rec) == CD_OK) {
        int after = count_archived(s.meta_json);
        if (after < 0 || (rec ? after != before - 1 : after != before))
            abort();
        if (rec) {
            cJSON *r = cJSON_Parse(rec);
            if (!r)
                abort();
            cJSON_Delete(r);
        }
    }
    free(rec);
    cd_story_clear(&s);
    return 0;
}
