/*
 * fuzz_ninjs.c - libFuzzer target: IPTC ninjs in and out on any bytes.
 *
 * The input is read as one JSON object (cd_story_from_json: ninjs 2.x
 * headlines, bodies with markup stripped, descriptions), its subjects are
 * made its labels (cd_story_labels_from_subjects), the markup stripper
 * runs on the raw bytes too, and the story is written back as ninjs 2.2
 * (cdi_ninjs_write) with subjects made of its labels.
 * Checks: the story has its fields, the stripped text is never longer than
 * its input, every label is non-empty, and the ninjs written is one valid
 * JSON object with a string uri.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "deliver/deliver_ninjs.h"
#include "story/ninjs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t len;
    char *text = cdi_ninjs_strip_markup(p, size, &len);
    if (!text || len > size || strlen(text) > len)
        abort();
    free(text);

    cd_story s;
    cd_error err;
    size_t off;
    if (cd_story_from_json(p, size, "fuzz", &s, &off, &err) != CD_OK)
        return 0;
    if (!s.id || !s.title || !s.body || !s.meta_json)
        abort();
    if (cd_story_labels_from_subjects(&s, &err) == CD_OK)
        for (size_t i = 0; i < s.nlabels; i++)
            if (!s.labels[i] || !s.labels[i][0])
                abort();
    cd_ninjs_subject subj[4];
    size_t n = 0;
    for (size_t i = 0; i < s.nlabels && n < 4; i++, n++)
        subj[n] = (cd_ninjs_subject){ .id = s.labels[i], .name = NULL,
            .iptc = (i & 1) ? "medtop:20000344" : NULL, .creator = NULL,
            .score = (double)i / 3.0 };
    const char *route[] = { "wire", s.title };
    cd_ninjs_doc doc = { .story = &s, .subjects = subj, .nsubjects = n, .route = route,
                         .nroute = 2, .rule = s.body, .reason = "fuzz" };
    cd_buf b = { 0 };
    cdi_ninjs_write(&b, &doc);
    if (!b.failed) {
        cJSON *out = cJSON_ParseWithLength(b.data, b.len);
        if (!out || !cJSON_IsObject(out) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "uri")))
            abort();
        cJSON_Delete(out);
    }
    cdi_buf_free(&b);
    cd_story_clear(&s);
    return 0;
}
