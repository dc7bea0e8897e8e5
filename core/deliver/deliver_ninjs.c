/*
 * deliver_ninjs.c - writing a story as IPTC ninjs 2.2 (see deliver_ninjs.h).
 *
 * The document:
 *   uri            the story id when it is a URI (it has a scheme, as
 *                  "urn:..." or "http://..."); else "urn:copydesk:" and the
 *                  id percent-encoded, and the id itself in altids with the
 *                  role "copydesk:id"
 *   type           "text" (unless the story said otherwise, validly)
 *   headlines      the story's own when it came as ninjs 2.x, else
 *                  [{"role":"main","value":TITLE}]
 *   bodies         likewise, else [{"role":"main","contenttype":"text/plain",
 *                  "value":BODY}]
 *   subjects       the story's own, then one per topic copydesk assigns:
 *                  {"uri":"http://cv.iptc.org/newscodes/mediatopic/CODE" (when
 *                  the topic has an iptc code), "literal":TOPIC-ID,
 *                  "name":TOPIC-NAME, "creator":"copydesk:MODEL" (the model
 *                  whose label weighed most; "copydesk" for keywords),
 *                  "relevance":N, "confidence":N} with N = round(100 score)
 *   descriptions   the story's own, then where copydesk sent it: one
 *                  {"role":"copydesk:route","value":DESTINATION} per
 *                  destination, {"role":"copydesk:rule","value":RULE} when a
 *                  rule decided, {"role":"copydesk:reason","value":WHY}
 *   the rest       the story's metadata fields that are ninjs 2.2
 *                  properties, when of the schema's type (strings, the
 *                  enumerations' values, urgency a number; arrays of objects
 *                  with their items' known string fields kept); other
 *                  metadata is not ninjs and is left out.
 * ninjs has no place of its own for a router's decision, and its schema
 * refuses unknown properties: descriptions with copydesk's roles carry the
 * route, so that the document validates and the route travels with it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "deliver/deliver_ninjs.h"

static void put_str(cd_buf *b, const char *s)
{
    cdi_buf_json_string(b, s, strlen(s));
}

/* ---- the metadata that is ninjs ----------------------------------------- */

typedef enum kind { K_STRING, K_ENUM, K_NUMBER, K_ITEMS } kind;

/* For arrays of objects: their fields, strings unless listed in nums;
 * required names the field an item must have. */
typedef struct prop {
    const char *name;
    kind k;
    const char *const *allowed;   /* K_ENUM: values; K_ITEMS: string fields */
    const char *const *nums;      /* K_ITEMS: number fields */
    const char *required;
} prop;

static const char *const types[] = { "text", "audio", "video", "picture", "graphic",
                                     "composite", "component", NULL };
static const char *const reprs[] = { "full", "partial", NULL };
static const char *const statuses[] = { "usable", "withheld", "canceled", NULL };
static const char *const text_f[] = { "role", "contenttype", "value", NULL };
static const char *const body_n[] = { "charcount", "wordcount", NULL };
static const char *const entity_f[] = { "uri", "name", "rel", "literal", NULL };
static const char *const source_f[] = { "uri", "name", "role", "literal", NULL };
static const char *const subject_f[] = { "uri", "name", "rel", "literal", "creator", NULL };
static const char *const subject_n[] = { "relevance", "confidence", NULL };
static const char *const altid_f[] = { "role", "value", NULL };
static const char *const trust_f[] = { "role", "title", "href", NULL };
static const char *const genre_f[] = { "uri", "name", "literal", NULL };

static const prop props[] = {
    { "type", K_ENUM, types, NULL, NULL },
    { "representationtype", K_ENUM, reprs, NULL, NULL },
    { "profile", K_STRING, NULL, NULL, NULL },
    { "version", K_STRING, NULL, NULL, NULL },
    { "firstcreated", K_STRING, NULL, NULL, NULL },
    { "versioncreated", K_STRING, NULL, NULL, NULL },
    { "contentcreated", K_STRING, NULL, NULL, NULL },
    { "embargoed", K_STRING, NULL, NULL, NULL },
    { "pubstatus", K_ENUM, statuses, NULL, NULL },
    { "urgency", K_NUMBER, NULL, NULL, NULL },
    { "copyrightholder", K_STRING, NULL, NULL, NULL },
    { "copyrightnotice", K_STRING, NULL, NULL, NULL },
    { "usageterms", K_STRING, NULL, NULL, NULL },
    { "ednote", K_STRING, NULL, NULL, NULL },
    { "language", K_STRING, NULL, NULL, NULL },
    { "title", K_STRING, NULL, NULL, NULL },
    { "by", K_STRING, NULL, NULL, NULL },
    { "slugline", K_STRING, NULL, NULL, NULL },
    { "located", K_STRING, NULL, NULL, NULL },
    { "expires", K_STRING, NULL, NULL, NULL },
    { "people", K_ITEMS, entity_f, NULL, NULL },
    { "organisations", K_ITEMS, entity_f, NULL, NULL },
    { "places", K_ITEMS, entity_f, NULL, NULL },
    { "events", K_ITEMS, entity_f, NULL, NULL },
    { "objects", K_ITEMS, entity_f, NULL, NULL },
    { "infosources", K_ITEMS, source_f, NULL, NULL },
    { "altids", K_ITEMS, altid_f, NULL, NULL },
    { "trustindicators", K_ITEMS, trust_f, NULL, NULL },
    { "genres", K_ITEMS, genre_f, NULL, NULL },
    /* written by cdi_ninjs_write itself, with copydesk's entries added */
    { "headlines", K_ITEMS, text_f, NULL, "value" },
    { "bodies", K_ITEMS, text_f, body_n, "value" },
    { "descriptions", K_ITEMS, text_f, NULL, "value" },
    { "subjects", K_ITEMS, subject_f, subject_n, NULL },
};

static const prop *find_prop(const char *name)
{
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (!strcmp(props[i].name, name))
            return &props[i];
    return NULL;
}

static int in_list(const char *const *l, const char *s)
{
    for (; l && *l; l++)
        if (!strcmp(*l, s))
            return 1;
    return 0;
}

static int scalar_ok(const prop *p, const cJSON *v)
{
    switch (p->k) {
    case K_STRING: return cJSON_IsString(v);
    case K_ENUM: return cJSON_IsString(v) && in_list(p->allowed, v->valuestring);
    case K_NUMBER: return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    case K_ITEMS: return 0;
    }
    return 0;
}

/* A number field of an item: relevance and confidence are integers 0-100. */
static int num_ok(const char *field, const cJSON *v)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return 0;
    if (!strcmp(field, "relevance") || !strcmp(field, "confidence"))
        return v->valuedouble >= 0 && v->valuedouble <= 100 &&
               v->valuedouble == floor(v->valuedouble);
    return 1;
}

/* One item of an array of objects, its known fields only; 0 when it is
 * not an object or lacks the required field (then nothing is written). */
static int put_item(cd_buf *b, const prop *p, const cJSON *item, int first)
{
    if (!cJSON_IsObject(item))
        return 0;
    if (p->required && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, p->required)))
        return 0;
    cdi_buf_puts(b, first ? "{" : ",{");
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, item) {
        if (!f->string)
            continue;
        int is_str = in_list(p->allowed, f->string) && cJSON_IsString(f);
        int is_num = in_list(p->nums, f->string) && num_ok(f->string, f);
        if (!is_str && !is_num)
            continue;
        /* the first of a duplicated key only */
        if (cJSON_GetObjectItemCaseSensitive(item, f->string) != f)
            continue;
        cdi_buf_puts(b, n++ ? "," : "");
        put_str(b, f->string);
        cdi_buf_puts(b, ":");
        if (is_str)
            put_str(b, f->valuestring);
        else
            cdi_buf_json_number(b, f->valuedouble);
    }
    cdi_buf_puts(b, "}");
    return 1;
}

/* The kept items of meta's array `name`; returns how many were written. */
static size_t put_items(cd_buf *b, const cJSON *meta, const char *name, size_t written)
{
    const prop *p = find_prop(name);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(meta, name);
    if (!p || !cJSON_IsArray(arr))
        return written;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
        written += (size_t)put_item(b, p, item, written == 0);
    return written;
}

static int has_items(const cJSON *meta, const char *name)
{
    const prop *p = find_prop(name);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(meta, name);
    const cJSON *item;
    if (!cJSON_IsArray(arr))
        return 0;
    cJSON_ArrayForEach(item, arr)
        if (cJSON_IsObject(item) &&
            (!p->required || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, p->required))))
            return 1;
    return 0;
}

/* ---- the document ------------------------------------------------------- */

/* A URI scheme, then ':': RFC 3986's ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static int has_scheme(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (s++; *s && *s != ':'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '.'))
            return 0;
    if (*s != ':' || !s[1])
        return 0;
    for (s++; *s; s++)   /* no spaces or controls in a URI */
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == '<' || *s == '>' || *s == '\\')
            return 0;
    return 1;
}

static void put_uri(cd_buf *b, const char *id)
{
    if (has_scheme(id)) {
        put_str(b, id);
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    cdi_buf_puts(b, "\"urn:copydesk:");
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (plain) {
            cdi_buf_put(b, (const char *)p, 1);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            cdi_buf_put(b, e, 3);
        }
    }
    cdi_buf_puts(b, "\"");
}

static void put_subject(cd_buf *b, const cd_ninjs_subject *s, int first)
{
    double sc = isfinite(s->score) ? s->score : 0;
    long n = lround((sc < 0 ? 0 : sc > 1 ? 1 : sc) * 100);
    cdi_buf_puts(b, first ? "{" : ",{");
    if (s->iptc && !strncmp(s->iptc, "medtop:", 7)) {
        char uri[128];
        snprintf(uri, sizeof uri, "%s%s", CD_MEDTOP_URI, s->iptc + 7);
        cdi_buf_puts(b, "\"uri\":");
        put_str(b, uri);
        cdi_buf_puts(b, ",");
    }
    cdi_buf_puts(b, "\"literal\":");
    put_str(b, s->id);
    cdi_buf_puts(b, ",\"name\":");
    put_str(b, s->name ? s->name : s->id);
    cdi_buf_puts(b, ",\"creator\":");
    put_str(b, s->creator ? s->creator : "copydesk");
    cdi_buf_printf(b, ",\"relevance\":%ld,\"confidence\":%ld}", n, n);
}

static void put_description(cd_buf *b, const char *role, const char *value, int first)
{
    cdi_buf_puts(b, first ? "{\"role\":" : ",{\"role\":");
    put_str(b, role);
    cdi_buf_puts(b, ",\"contenttype\":\"text/plain\",\"value\":");
    put_str(b, value);
    cdi_buf_puts(b, "}");
}

void cdi_ninjs_write(cd_buf *b, const cd_ninjs_doc *doc)
{
    const cd_story *s = doc->story;
    const char *id = s->id ? s->id : "";
    cJSON *meta = cJSON_Parse(s->meta_json ? s->meta_json : "{}");
    if (!meta)
        meta = cJSON_CreateObject();
    if (!meta) {
        b->failed = 1;
        return;
    }
    cdi_buf_puts(b, "{\"uri\":");
    put_uri(b, *id ? id : "story");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(meta, "type");
    if (!(type && scalar_ok(find_prop("type"), type)))
        cdi_buf_puts(b, ",\"type\":\"text\"");
    /* the plain metadata that is ninjs */
    const cJSON *f;
    cJSON_ArrayForEach(f, meta) {
        const prop *p = f->string ? find_prop(f->string) : NULL;
        if (!p || cJSON_GetObjectItemCaseSensitive(meta, f->string) != f)
            continue;
        if (p->k != K_ITEMS && scalar_ok(p, f)) {
            cdi_buf_puts(b, ",");
            put_str(b, f->string);
            cdi_buf_puts(b, ":");
            if (p->k == K_NUMBER)
                cdi_buf_json_number(b, f->valuedouble);
            else
                put_str(b, f->valuestring);
        }
    }
    /* arrays passed on as they are (their known fields) */
    static const char *const lists[] = { "people", "organisations", "places", "events",
                                         "objects", "infosources", "trustindicators",
                                         "genres", NULL };
    for (const char *const *l = lists; *l; l++)
        if (has_items(meta, *l)) {
            cdi_buf_printf(b, ",\"%s\":[", *l);
            put_items(b, meta, *l, 0);
            cdi_buf_puts(b, "]");
        }
    cdi_buf_puts(b, ",\"headlines\":[");
    if (has_items(meta, "headlines")) {
        put_items(b, meta, "headlines", 0);
    } else {
        cdi_buf_puts(b, "{\"role\":\"main\",\"value\":");
        cdi_buf_json_string(b, s->title ? s->title : "", s->title ? s->title_len : 0);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "],\"bodies\":[");
    if (has_items(meta, "bodies")) {
        put_items(b, meta, "bodies", 0);
    } else {
        cdi_buf_puts(b, "{\"role\":\"main\",\"contenttype\":\"text/plain\",\"value\":");
        cdi_buf_json_string(b, s->body ? s->body : "", s->body ? s->body_len : 0);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "],\"subjects\":[");
    size_t n = put_items(b, meta, "subjects", 0);
    for (size_t i = 0; i < doc->nsubjects; i++)
        put_subject(b, &doc->subjects[i], n++ == 0);
    cdi_buf_puts(b, "],\"descriptions\":[");
    n = put_items(b, meta, "descriptions", 0);
    for (size_t i = 0; i < doc->nroute; i++)
        put_description(b, "copydesk:route", doc->route[i], n++ == 0);
    if (doc->rule)
        put_description(b, "copydesk:rule", doc->rule, n++ == 0);
    if (doc->reason && *doc->reason)
        put_description(b, "copydesk:reason", doc->reason, n++ == 0);
    cdi_buf_puts(b, "],\"altids\":[");
    n = put_items(b, meta, "altids", 0);
    if (!has_scheme(id)) {
        cdi_buf_puts(b, n++ ? ",{\"role\":\"copydesk:id\",\"value\":" : "{\"role\":\"copydesk:id\",\"value\":");
        put_str(b, id);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "]}");
    cJSON_Delete(meta);
}
