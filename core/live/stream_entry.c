/*
 * stream_entry.c - a Redis stream entry as a story (see stream_entry.h).
 *
 * The story's metadata is a JSON object text; the entry's other fields
 * are merged into it with cJSON (a field the story has already keeps the
 * story's value: the story is the document, the entry's fields its
 * envelope).
 */
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "live/stream_entry.h"

static int is_field(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && !memcmp(name, want, len);
}

/* Merge the fields other than story into the story's metadata. */
static cd_status merge_fields(size_t n, const char *const *names, const size_t *name_lens,
                              const char *const *values, const size_t *value_lens,
                              cd_story *s, cd_error *err)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += !is_field(names[i], name_lens[i], "story");
    if (!extra)
        return CD_OK;
    cJSON *meta = cJSON_Parse(s->meta_json ? s->meta_json : "{}");
    if (!meta || !cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    cd_status st = CD_OK;
    for (size_t i = 0; i < n && st == CD_OK; i++) {
        if (is_field(names[i], name_lens[i], "story"))
            continue;
        if (memchr(names[i], '\0', name_lens[i]) || memchr(values[i], '\0', value_lens[i])) {
            st = cd_error_set(err, CD_ERR_FORMAT, "field %zu of the entry holds a NUL byte",
                              i + 1);
            break;
        }
        char *name = strndup(names[i], name_lens[i]);
        char *value = strndup(values[i], value_lens[i]);
        if (!name || !value)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        else if (!cJSON_GetObjectItemCaseSensitive(meta, name) &&
                 !cJSON_AddStringToObject(meta, name, value))
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        free(name);
        free(value);
    }
    char *text = st == CD_OK ? cJSON_PrintUnformatted(meta) : NULL;
    if (st == CD_OK && !text)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (st == CD_OK) {
        free(s->meta_json);
        s->meta_json = text;
    }
    cJSON_Delete(meta);
    return st;
}

cd_status cdi_stream_entry_story(size_t n, const char *const *names, const size_t *name_lens,
                                 const char *const *values, const size_t *value_lens,
                                 const char *source, cd_story *out, cd_error *err)
{
    memset(out, 0, sizeof *out);
    size_t which = n;
    for (size_t i = 0; i < n; i++) {
        if (!is_field(names[i], name_lens[i], "story"))
            continue;
        if (which < n)
            return cd_error_set(err, CD_ERR_FORMAT, "the entry has the field story twice");
        which = i;
    }
    if (which == n)
        return cd_error_set(err, CD_ERR_FORMAT, "the entry has no field story (the story as "
                            "JSON)");
    if (value_lens[which] > CD_STREAM_ENTRY_MAX)
        return cd_error_set(err, CD_ERR_LIMIT, "the story is larger than 64 MiB");
    size_t off = 0;
    cd_error e;
    if (cd_story_from_json(values[which], value_lens[which], source, out, &off, &e) != CD_OK)
        return cd_error_set(err, e.code, "field story, byte %zu: %s", off, e.msg);
    cd_status st = merge_fields(n, names, name_lens, values, value_lens, out, err);
    if (st != CD_OK)
        cd_story_clear(out);
    return st;
}

cd_status cdi_stream_entry_reply_story(const redisReply *fields, const char *source,
                                       cd_story *out, cd_error *err)
{
    memset(out, 0, sizeof *out);
    if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2)
        return cd_error_set(err, CD_ERR_FORMAT, "the entry's fields are not name/value pairs");
    size_t n = fields->elements / 2;
    for (size_t i = 0; i < fields->elements; i++)
        if (fields->element[i]->type != REDIS_REPLY_STRING)
            return cd_error_set(err, CD_ERR_FORMAT, "field %zu of the entry is not a string",
                                i / 2 + 1);
    const char **names = calloc(n ? n : 1, sizeof *names);
    const char **values = calloc(n ? n : 1, sizeof *values);
    size_t *nl = calloc(n ? n : 1, sizeof *nl), *vl = calloc(n ? n : 1, sizeof *vl);
    cd_status st = names && values && nl && vl ? CD_OK
                 : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == CD_OK && i < n; i++) {
        const redisReply *k = fields->element[2 * i], *v = fields->element[2 * i + 1];
        names[i] = k->str ? k->str : "";
        nl[i] = k->str ? (size_t)k->len : 0;
        values[i] = v->str ? v->str : "";
        vl[i] = v->str ? (size_t)v->len : 0;
    }
    if (st == CD_OK)
        st = cdi_stream_entry_story(n, names, nl, values, vl, source, out, err);
    free(names);
    free(values);
    free(nl);
    free(vl);
    return st;
}
