/*
 * service_stories.c - GET /v1/stories and GET /v1/stories/{id}: what the
 * archive kept of the stories this service and its watch routed
 * (core/live/archive.h), newest first.  The list gives each story's
 * decision in brief (id, title, when it was received, destinations, the
 * deciding rule and its file:line, outcome, top topics, model labels);
 * one story comes whole (title, body, fields), so that a page can try it
 * again or correct it.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "desk/isotime.h"
#include "serve/service.h"

static void member(cd_buf *out, const char *key, const cJSON *v, int *first)
{
    if (!v)
        return;
    char *text = cJSON_PrintUnformatted(v);
    if (!text) {
        out->failed = 1;
        return;
    }
    cdi_buf_printf(out, "%s\"%s\":%s", *first ? "" : ",", key, text);
    *first = 0;
    free(text);
}

typedef struct listing {
    const char *destination;
    double since;
    size_t limit, n;
    cd_buf *out;
} listing;

static int routed_to(const cJSON *route, const char *dest)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, route)
        if (cJSON_IsString(d) && !strcmp(d->valuestring, dest))
            return 1;
    return 0;
}

static int list_one(void *ud, const char *line, size_t len)
{
    listing *l = ud;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(j, "archived");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(rec, "at");
    double t = 0;
    if (!cJSON_IsObject(rec) || !cJSON_IsString(at) ||
        cdi_iso8601_parse(at->valuestring, strlen(at->valuestring), &t) != 0) {
        cJSON_Delete(j);
        return 0;   /* not a line the archive wrote: skipped */
    }
    if (l->since > 0 && t < l->since) {
        cJSON_Delete(j);
        return 1;   /* the archive is in time order: the rest is older */
    }
    const cJSON *route = cJSON_GetObjectItemCaseSensitive(rec, "route");
    if (l->destination && !routed_to(route, l->destination)) {
        cJSON_Delete(j);
        return 0;
    }
    cd_buf *out = l->out;
    int first = 1;
    cdi_buf_puts(out, l->n ? ",{" : "{");
    member(out, "id", cJSON_GetObjectItemCaseSensitive(j, "id"), &first);
    member(out, "title", cJSON_GetObjectItemCaseSensitive(j, "title"), &first);
    member(out, "received", at, &first);
    member(out, "route", route, &first);
    static const char *const keys[] = { "rule", "rule_at", "outcome", "reason", "topics", "labels" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        member(out, keys[i], cJSON_GetObjectItemCaseSensitive(rec, keys[i]), &first);
    cdi_buf_puts(out, "}");
    cJSON_Delete(j);
    return ++l->n >= l->limit || out->failed;
}

int cdi_service_stories(cd_service *s, const char *destination, double since, size_t limit,
                        cd_buf *out)
{
    listing l = { destination, since, limit, 0, out };
    cdi_buf_puts(out, "{\"stories\":[");
    cd_error e;
    if (limit && cdi_archive_newest_first(cdi_service_get_opts(s)->state, list_one, &l, &e) != CD_OK)
        return cdi_service_error(out, 500, "archive_unreadable", "%s", e.msg);
    cdi_buf_printf(out, "],\"count\":%zu}", l.n);
    return out->failed ? cdi_service_error(out, 500, "internal", "out of memory") : 200;
}

/* ---- one story ------------------------------------------------------------------ */

typedef struct finding {
    cd_buf prefix;            /* {"id":"...", as the archive writes a line's start */
    cd_buf *out;
    int found;
} finding;

static int find_one(void *ud, const char *line, size_t len)
{
    finding *f = ud;
    if (len < f->prefix.len || memcmp(line, f->prefix.data, f->prefix.len))
        return 0;
    cJSON *j = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return 0;
    }
    cJSON *rec = cJSON_DetachItemFromObjectCaseSensitive(j, "archived");
    cd_buf *out = f->out;
    int first = 1;
    cdi_buf_puts(out, "{");
    static const char *const keys[] = { "id", "title", "body", "labels" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(j, keys[i]);
        member(out, keys[i], v, &first);
        cJSON_Delete(v);
    }
    member(out, "fields", j, &first);   /* what is left: the story's metadata */
    member(out, "decision", rec, &first);
    cdi_buf_puts(out, "}");
    cJSON_Delete(rec);
    cJSON_Delete(j);
    f->found = 1;
    return 1;
}

int cdi_service_story(cd_service *s, const char *id, cd_buf *out)
{
    finding f = { { 0 }, out, 0 };
    cdi_buf_puts(&f.prefix, "{\"id\":");
    cdi_buf_json_string(&f.prefix, id, strlen(id));
    cdi_buf_puts(&f.prefix, ",");
    cd_error e;
    int status = 200;
    if (f.prefix.failed)
        status = cdi_service_error(out, 500, "internal", "out of memory");
    else if (cdi_archive_newest_first(cdi_service_get_opts(s)->state, find_one, &f, &e) != CD_OK)
        status = cdi_service_error(out, 500, "archive_unreadable", "%s", e.msg);
    else if (!f.found)
        status = cdi_service_error(out, 404, "unknown_story",
                                   "no story '%.200s' in the archive (it keeps what was routed, "
                                   "for a week by default)", id);
    else if (out->failed)
        status = cdi_service_error(out, 500, "internal", "out of memory");
    cdi_buf_free(&f.prefix);
    return status;
}
