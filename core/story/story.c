/*
 * story.c - the story record: releasing it, the text that is classified,
 * and the two conversions the readers (core/story/reader.c) are built on: one
 * JSON object -> story (with cJSON) and one plain-text document -> story.
 *
 * JSON object rules:
 *   - id: a string or a number (integers up to 2^53 print without a
 *     fraction, other numbers with %.17g); ninjs "uri" is accepted instead,
 *     and a ninjs document copydesk wrote gives back the story's own id
 *     (its altid "copydesk:id", see core/story/ninjs.c).
 *     An absent, null or empty id becomes the story's source.
 *   - title / body: strings; ninjs 1.x "headline" / "body_text" instead.
 *     Absent or null means "".
 *   - A ninjs 2.x object (a "headlines" or "bodies" array) takes its
 *     title and body from those (the main headline, the main body with
 *     its markup stripped): the rules are in core/story/ninjs.c.
 *   - When a plain name and its ninjs alias are both present (and the plain
 *     one is not null), the plain one is used and the alias is kept in meta.
 *   - labels: an array of non-empty strings (duplicates dropped), or one
 *     non-empty string standing for a one-label array.  A field named
 *     "label" has no special meaning: it is metadata like any other.
 *     gold_labels (what copydesk writes gold labels as) is read when there
 *     is no such labels.  A labels object, or a list of objects, is a
 *     model's output written by copydesk or classify: dropped, never gold.
 *   - meta: an object is the story's metadata; its fields come first in
 *     meta_json, then the other top-level fields it does not have (on a
 *     name in both, meta's value wins).
 *   - What copydesk writes reads back as the story it wrote: a dead-letter
 *     record {"destination", "error", "story", ...} is its story; an object
 *     with a route list and a reason string is a decision (delivered story,
 *     dry-run line), whose decision fields (topics, tags, route, rule,
 *     reason, outcome, error, log, evidence, rules, source, received,
 *     held_until) are dropped.
 *   - Every other field is kept, in order, in meta_json (compact JSON).
 *   - A raw NUL byte in the JSON text is an error (it is not valid JSON and
 *     cJSON would stop reading there).  The escape \u0000 inside a string is
 *     read as U+FFFD, because cJSON's strings end at a NUL and would silently
 *     cut the text short; the story is kept rather than lost.
 *   - Invalid UTF-8 inside strings passes through byte for byte (writers
 *     of JSON replace it when they print id, title and body), except in
 *     meta_json, which is passed on verbatim: there each invalid sequence
 *     becomes U+FFFD, so that delivered JSON is always valid UTF-8.
 *   - Nesting deeper than CJSON_NESTING_LIMIT (1000) is an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <cjson/cJSON.h>

#include "base/ascii.h"
#include "copydesk/story.h"
#include "story/ninjs.h"
#include "story/story_text.h"

void cd_story_clear(cd_story *story)
{
    if (!story)
        return;
    free(story->id);
    free(story->title);
    free(story->body);
    for (size_t i = 0; i < story->nlabels; i++)
        free(story->labels[i]);
    free(story->labels);
    free(story->meta_json);
    free(story->source);
    memset(story, 0, sizeof *story);
}

char *cd_story_text(const cd_story *story, size_t *len)
{
    size_t tl = story->title ? story->title_len : 0;
    size_t bl = story->body ? story->body_len : 0;
    if (tl > (size_t)-1 / 2 - 2 || bl > (size_t)-1 / 2 - 2)
        return NULL;
    size_t n = tl + 1 + bl;
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    if (tl)
        memcpy(text, story->title, tl);
    text[tl] = '\n';
    if (bl)
        memcpy(text + tl + 1, story->body, bl);
    text[n] = '\0';
    if (len)
        *len = n;
    return text;
}

int cdi_story_text_into(const cd_story *story, cd_buf *b)
{
    cdi_buf_reset(b);
    if (story->title)
        cdi_buf_put(b, story->title, story->title_len);
    cdi_buf_put(b, "\n", 1);
    if (story->body)
        cdi_buf_put(b, story->body, story->body_len);
    return b->failed ? -1 : 0;
}

/* A NUL-terminated copy of n bytes (which may themselves hold NULs). */
static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static char *dup_str(const char *s)
{
    return dup_bytes(s, strlen(s));
}

/* ---- plain text ------------------------------------------------------- */

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* Skip whole blank lines; returns the start of the first non-blank line. */
static const char *skip_blank_lines(const char *p, const char *end)
{
    while (p < end) {
        const char *e = line_end(p, end);
        if (!cdi_is_blank(p, (size_t)(e - p)))
            break;
        p = e < end ? e + 1 : end;
    }
    return p;
}

static void trim(const char **p, const char **end)
{
    while (*p < *end && cdi_is_space((unsigned char)**p))
        (*p)++;
    while (*end > *p && cdi_is_space((unsigned char)(*end)[-1]))
        (*end)--;
}

static cd_status set_labels1(cd_story *story, const char *label)
{
    story->labels = malloc(sizeof *story->labels);
    if (!story->labels)
        return CD_ERR_NOMEM;
    story->labels[0] = dup_str(label);
    if (!story->labels[0])
        return CD_ERR_NOMEM;
    story->nlabels = 1;
    return CD_OK;
}

static cd_status text_fields(const char *text, size_t len, cd_story *story)
{
    const char *end = text + len;
    const char *p = text;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;  /* a UTF-8 byte order mark is not part of the title */
    p = skip_blank_lines(p, end);
    const char *te = line_end(p, end);
    const char *body = skip_blank_lines(te < end ? te + 1 : end, end);
    const char *be = end;
    trim(&p, &te);
    while (be > body && cdi_is_space((unsigned char)be[-1]))
        be--;
    story->title = dup_bytes(p, (size_t)(te - p));
    story->title_len = (size_t)(te - p);
    story->body = dup_bytes(body, (size_t)(be - body));
    story->body_len = (size_t)(be - body);
    return story->title && story->body ? CD_OK : CD_ERR_NOMEM;
}

cd_status cd_story_from_text(const char *text, size_t len, const char *source,
                             const char *label, cd_story *story, cd_error *err)
{
    memset(story, 0, sizeof *story);
    cd_status st = text_fields(text, len, story);
    if (st == CD_OK && label)
        st = set_labels1(story, label);
    if (st == CD_OK) {
        story->id = dup_str(source);
        story->source = dup_str(source);
        story->meta_json = dup_str("{}");
        if (!story->id || !story->source || !story->meta_json)
            st = CD_ERR_NOMEM;
    }
    if (st != CD_OK) {
        cd_story_clear(story);
        return cd_error_set(err, st, "out of memory");
    }
    return CD_OK;
}

/* ---- JSON text checks ------------------------------------------------- */

/* Count the \u0000 escapes inside the strings of s; when patch (a copy of
 * s) is given, rewrite each of them there as \uFFFD. */
static size_t nul_escapes(const char *s, size_t n, char *patch)
{
    size_t count = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
            continue;
        }
        if (s[i] == '"') {
            in_str = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0) {
                if (patch)
                    memcpy(patch + i + 2, "FFFD", 4);
                count++;
            }
            i++;
        }
    }
    return count;
}

/* Whether the six bytes \u0000 appear anywhere in s: a quick test that
 * spares nearly every story the careful scan of nul_escapes, which cost a
 * twentieth of classify's time when it ran on each one. */
static int has_nul_escape(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* Offset of the first bracket nested deeper than limit, or n when none. */
static size_t too_deep(const char *s, size_t n, size_t limit)
{
    size_t depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > limit)
                return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return n;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an object";
}

static cd_status syntax_error(const char *json, size_t len, const char *end,
                              size_t *err_off, cd_error *err)
{
    size_t deep = too_deep(json, len, CJSON_NESTING_LIMIT);
    size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
    if (deep < len) {
        *err_off = deep;
        return cd_error_set(err, CD_ERR_FORMAT, "JSON nested deeper than %d levels",
                            CJSON_NESTING_LIMIT);
    }
    *err_off = off;
    if (off >= len)
        return cd_error_set(err, CD_ERR_FORMAT, "invalid JSON: unexpected end of text");
    return cd_error_set(err, CD_ERR_FORMAT, "invalid JSON");
}

/* A parsed value must be an object with nothing but white space after it. */
static cd_status check_value(const cJSON *v, const char *text, size_t len, const char *end,
                             size_t *err_off, cd_error *err)
{
    size_t off = (size_t)(end - text);
    while (off < len && cdi_is_space((unsigned char)text[off]))
        off++;
    if (off < len) {
        *err_off = off;
        return cd_error_set(err, CD_ERR_FORMAT, "unexpected data after the JSON value");
    }
    if (!cJSON_IsObject(v))
        return cd_error_set(err, CD_ERR_FORMAT, "not a JSON object but %s", type_name(v));
    return CD_OK;
}

/* Parse json as exactly one JSON object (surrounding white space allowed). */
static cd_status parse_object(const char *json, size_t len, cJSON **out,
                              size_t *err_off, cd_error *err)
{
    const char *nul = memchr(json, '\0', len);
    if (nul) {
        *err_off = (size_t)(nul - json);
        return cd_error_set(err, CD_ERR_FORMAT, "NUL byte in JSON text");
    }
    char *patched = NULL;
    const char *text = json;
    if (has_nul_escape(json, len) && nul_escapes(json, len, NULL) > 0) {
        patched = dup_bytes(json, len);
        if (!patched)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        nul_escapes(json, len, patched);
        text = patched;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    cd_status st = v ? check_value(v, text, len, end, err_off, err)
                     : syntax_error(text, len, end, err_off, err);
    free(patched);
    if (st != CD_OK) {
        cJSON_Delete(v);
        return st;
    }
    *out = v;
    return CD_OK;
}

/* ---- JSON object -> story --------------------------------------------- */

/* The story fields taken out of the object (owned, deleted at the end). */
typedef struct fields {
    cJSON *id, *title, *body, *labels;
} fields;

static void fields_free(fields *f)
{
    cJSON_Delete(f->id);
    cJSON_Delete(f->title);
    cJSON_Delete(f->body);
    cJSON_Delete(f->labels);
}

/* Detach the field `name` (or, when it is absent or null, its `alias`) from
 * obj.  A null plain field is dropped; an unused alias stays as metadata. */
static cJSON *take_field(cJSON *obj, const char *name, const char *alias)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (item && !cJSON_IsNull(item))
        return cJSON_DetachItemViaPointer(obj, item);
    if (item)
        cJSON_Delete(cJSON_DetachItemViaPointer(obj, item));
    cJSON *al = alias ? cJSON_GetObjectItemCaseSensitive(obj, alias) : NULL;
    if (al && !cJSON_IsNull(al))
        return cJSON_DetachItemViaPointer(obj, al);
    return NULL;
}

static char *number_text(double v)
{
    char buf[64];
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v)
        snprintf(buf, sizeof buf, "%lld", (long long)v);
    else
        snprintf(buf, sizeof buf, "%.17g", v);
    return dup_str(buf);
}

static cd_status set_id(cd_story *story, const cJSON *id, const char *source, cd_error *err)
{
    if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
        return cd_error_set(err, CD_ERR_FORMAT, "%s is %s, not a string or a number",
                            id->string, type_name(id));
    if (id && cJSON_IsNumber(id))
        story->id = number_text(id->valuedouble);
    else if (id && id->valuestring[0] != '\0')
        story->id = dup_str(id->valuestring);
    else
        story->id = dup_str(source);
    return story->id ? CD_OK : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
}

static cd_status set_string(char **dst, size_t *dst_len, const cJSON *v, cd_error *err)
{
    if (v && !cJSON_IsString(v))
        return cd_error_set(err, CD_ERR_FORMAT, "%s is %s, not a string",
                            v->string, type_name(v));
    *dst = dup_str(v ? v->valuestring : "");
    if (!*dst)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    *dst_len = strlen(*dst);
    return CD_OK;
}

static int has_label(const cd_story *story, const char *label)
{
    for (size_t i = 0; i < story->nlabels; i++)
        if (strcmp(story->labels[i], label) == 0)
            return 1;
    return 0;
}

static cd_status add_label(cd_story *story, const cJSON *v, cd_error *err)
{
    if (!cJSON_IsString(v) || !v->valuestring || v->valuestring[0] == '\0')
        return cd_error_set(err, CD_ERR_FORMAT,
                            "labels must be an array of non-empty strings");
    if (has_label(story, v->valuestring))
        return CD_OK;
    char *copy = dup_str(v->valuestring);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    story->labels[story->nlabels++] = copy;
    return CD_OK;
}

static cd_status set_labels(cd_story *story, const cJSON *v, cd_error *err)
{
    if (!v)
        return CD_OK;
    if (!cJSON_IsArray(v) && !cJSON_IsString(v))
        return cd_error_set(err, CD_ERR_FORMAT,
                            "labels must be an array of non-empty strings");
    size_t n = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
    if (n == 0)
        return CD_OK;
    story->labels = calloc(n, sizeof *story->labels);
    if (!story->labels)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (cJSON_IsString(v))
        return add_label(story, v, err);
    const cJSON *item;
    cJSON_ArrayForEach(item, v) {
        cd_status st = add_label(story, item, err);
        if (st != CD_OK)
            return st;
    }
    return CD_OK;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    unsigned char lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0;        /* overlong */
    if (c == 0xED) hi = 0x9F;        /* surrogates */
    if (c == 0xF0) lo = 0x90;        /* overlong */
    if (c == 0xF4) hi = 0x8F;        /* above U+10FFFF */
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* A copy of s with each invalid UTF-8 sequence replaced by U+FFFD. */
static char *utf8_clean(const char *s)
{
    size_t n = strlen(s), bad = 0;
    for (size_t i = 0, k; i < n; i += k ? k : 1)
        bad += (k = utf8_len((const unsigned char *)s + i, n - i)) == 0;
    if (bad == 0)
        return dup_bytes(s, n);
    char *out = malloc(n + 2 * bad + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0, k; i < n; i += k ? k : 1) {
        k = utf8_len((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(o, s + i, k);
            o += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    *o = '\0';
    return out;
}

static cd_status set_meta(cd_story *story, const cJSON *obj, cd_error *err)
{
    char *printed = cJSON_PrintUnformatted(obj);
    if (printed) {
        story->meta_json = utf8_clean(printed);
        cJSON_free(printed);
    }
    return story->meta_json ? CD_OK : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
}

/* ---- what copydesk itself wrote ------------------------------------------ */

/* A dead-letter record, {"destination", "error", "failed_at", "story"}:
 * the story inside it, detached; else NULL. */
static cJSON *dead_letter_story(cJSON *obj)
{
    cJSON *inner = cJSON_GetObjectItemCaseSensitive(obj, "story");
    if (!cJSON_IsObject(inner) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "destination")) ||
        !cJSON_GetObjectItemCaseSensitive(obj, "error"))
        return NULL;
    return cJSON_DetachItemViaPointer(obj, inner);
}

/* A decision copydesk wrote (a delivered story, a dry-run line) has a
 * route list and a reason; its decision fields are not the story's and
 * are dropped, so that the story reads back as it came in. */
static void drop_decision(cJSON *obj)
{
    static const char *const decision[] = {
        "topics", "tags", "route", "rule", "reason", "outcome", "error", "log", "evidence",
        "rules", "source", "received", "held_until", NULL,
    };
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(obj, "route")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "reason")))
        return;
    for (const char *const *k = decision; *k; k++)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, *k);
}

/* labels as copydesk writes a model's (an object per model, or a list of
 * {label, p}) is no gold label set: it is dropped, and gold_labels, what
 * copydesk writes a story's gold labels as, is read instead. */
static cJSON *take_labels(cJSON *obj)
{
    cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, "labels");
    int predicted = cJSON_IsObject(l) ||
                    (cJSON_IsArray(l) && l->child && cJSON_IsObject(l->child));
    if (predicted)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "labels");
    cJSON *gold = take_field(obj, "labels", NULL);
    cJSON *other = take_field(obj, "gold_labels", NULL);
    if (!gold)
        return other;
    cJSON_Delete(other);
    return gold;
}

/* A nested "meta" object holds the story's metadata: its fields come
 * first, then the other top-level fields that it does not have (on a name
 * in both, meta's value wins). */
static cd_status merge_meta(cJSON *obj, cd_error *err)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "meta");
    if (!cJSON_IsObject(meta))
        return CD_OK;
    meta = cJSON_DetachItemViaPointer(obj, meta);
    cJSON *rest = obj->child;    /* the other top-level fields, in order */
    obj->child = meta->child;    /* meta's fields first */
    meta->child = NULL;
    cJSON_Delete(meta);
    while (rest) {
        cJSON *item = rest;
        rest = rest->next;
        item->next = item->prev = NULL;
        /* appended as is, key included: objects and arrays share the list */
        if (cJSON_GetObjectItemCaseSensitive(obj, item->string) ||
            !cJSON_AddItemToArray(obj, item))
            cJSON_Delete(item);
    }
    (void)err;
    return CD_OK;
}

static cd_status fill_story(cJSON *obj, const char *source, cd_story *story, cd_error *err)
{
    cJSON *inner = dead_letter_story(obj);
    if (inner) {
        cd_status st = fill_story(inner, source, story, err);
        cJSON_Delete(inner);
        return st;
    }
    drop_decision(obj);
    /* ninjs 2.x: title and body from headlines and bodies (story/ninjs.c),
     * which stay in meta with every other field */
    int v2 = cdi_ninjs_is_v2(obj);
    cJSON *own = cdi_ninjs_take_copydesk_id(obj);   /* a ninjs copydesk wrote */
    fields f = {
        .id = own ? own : take_field(obj, "id", "uri"),
        .title = v2 ? NULL : take_field(obj, "title", "headline"),
        .body = v2 ? NULL : take_field(obj, "body", "body_text"),
        .labels = take_labels(obj),
    };
    cd_status mst = merge_meta(obj, err);
    if (mst != CD_OK) {
        fields_free(&f);
        return mst;
    }
    cd_status st = set_id(story, f.id, source, err);
    if (st == CD_OK && v2)
        st = cdi_ninjs_read_text(obj, story, err);
    if (st == CD_OK && !v2)
        st = set_string(&story->title, &story->title_len, f.title, err);
    if (st == CD_OK && !v2)
        st = set_string(&story->body, &story->body_len, f.body, err);
    if (st == CD_OK)
        st = set_labels(story, f.labels, err);
    if (st == CD_OK)
        st = set_meta(story, obj, err);
    if (st == CD_OK) {
        story->source = dup_str(source);
        if (!story->source)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    fields_free(&f);
    return st;
}

/* ---- the common case, without a DOM ------------------------------------ */

/* Most stories are one object of string fields id, title, body and a
 * labels array of strings.  Those are read here directly, at a fraction
 * of the cost of building and walking cJSON's tree (a tenth of classify's
 * time).  Anything else -- another field (it goes to meta), a \u escape,
 * a number, null, a duplicate key, a control byte, an error of any kind --
 * makes the fast path give up, untouched, and the cJSON path below does
 * everything as before, error messages included. */

#define FAST_LABELS 64

typedef struct fast_str {
    const char *p;   /* the bytes between the quotes, escapes undone later */
    size_t n;
} fast_str;

static const char *fast_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the bytes from q that need no attention in a JSON string, 16 at a
 * time (SSE2): stops at or before the first quote, backslash or control
 * byte, or near e.  Story bodies are long runs of plain text, and this is
 * most of the reading of a JSON line. */
static const char *skip_plain(const char *q, const char *e)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i high3 = _mm_set1_epi8((char)0xE0), zero = _mm_setzero_si128();
    while (e - q >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                   _mm_cmpeq_epi8(_mm_and_si128(x, high3), zero));  /* < 0x20 */
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return q + __builtin_ctz((unsigned)mask);
        q += 16;
    }
#else
    (void)e;
#endif
    return q;
}

/* The string whose opening quote is at p; past its closing quote, or NULL
 * to give up. */
static const char *fast_string(const char *p, const char *e, fast_str *s)
{
    /* the bytes that stop the scan: a quote, a backslash, control bytes */
    static const uint8_t stop[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 1, ['\\'] = 1,
    };
    const char *q = ++p;
    while (q < e) {
        q = skip_plain(q, e);
        while (q < e && !stop[(unsigned char)*q])
            q++;
        if (q == e)
            break;
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            s->p = p;
            s->n = (size_t)(q - p);
            return q + 1;
        }
        if (c == '\\') {
            if (q + 1 >= e)
                return NULL;
            switch (q[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                q += 2;
                continue;
            default:          /* \u (surrogates, \u0000) and errors: cJSON */
                return NULL;
            }
        }
        if (c < 0x20)
            return NULL;
        q++;
    }
    return NULL;
}

/* A NUL-terminated copy of s with its escapes undone. */
static char *fast_copy(const fast_str *s, size_t *len)
{
    char *out = malloc(s->n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s->p, *e = s->p + s->n; p < e;) {
        const char *bs = memchr(p, '\\', (size_t)(e - p));
        size_t run = bs ? (size_t)(bs - p) : (size_t)(e - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs)
            break;
        switch (bs[1]) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        default: *o++ = bs[1]; break;   /* " \ / */
        }
        p = bs + 2;
    }
    *o = '\0';
    if (len)
        *len = (size_t)(o - out);
    return out;
}

static int fast_key(const fast_str *k, const char *name)
{
    size_t n = strlen(name);
    return k->n == n && memcmp(k->p, name, n) == 0;
}

typedef struct fast_fields {
    fast_str f[3];            /* id, title, body */
    int seen[4];              /* and labels */
    fast_str labels[FAST_LABELS];
    size_t nlabels;
} fast_fields;

/* The labels value at p: a string or an array of strings. */
static const char *fast_labels(const char *p, const char *e, fast_fields *ff)
{
    if (*p == '"') {
        ff->nlabels = 1;
        return fast_string(p, e, &ff->labels[0]);
    }
    if (*p != '[')
        return NULL;
    p = fast_ws(p + 1, e);
    if (p < e && *p == ']')
        return p + 1;
    for (;;) {
        if (p >= e || *p != '"' || ff->nlabels == FAST_LABELS)
            return NULL;
        if (!(p = fast_string(p, e, &ff->labels[ff->nlabels++])))
            return NULL;
        p = fast_ws(p, e);
        if (p < e && *p == ']')
            return p + 1;
        if (p >= e || *p != ',')
            return NULL;
        p = fast_ws(p + 1, e);
    }
}

/* Scan the object: 1 when it is of the common kind, 0 to give up. */
static int fast_scan(const char *json, size_t len, fast_fields *ff)
{
    const char *p = fast_ws(json, json + len), *e = json + len;
    if (p >= e || *p != '{')
        return 0;
    p = fast_ws(p + 1, e);
    if (p < e && *p == '}') {
        p++;
    } else {
        for (;;) {
            fast_str key;
            if (p >= e || *p != '"' || !(p = fast_string(p, e, &key)))
                return 0;
            int which = fast_key(&key, "id") ? 0 : fast_key(&key, "title") ? 1
                      : fast_key(&key, "body") ? 2 : fast_key(&key, "labels") ? 3 : -1;
            if (which < 0 || ff->seen[which])
                return 0;   /* metadata, or a duplicate key */
            ff->seen[which] = 1;
            p = fast_ws(p, e);
            if (p >= e || *p != ':')
                return 0;
            p = fast_ws(p + 1, e);
            if (p >= e)
                return 0;
            if (which == 3)
                p = fast_labels(p, e, ff);
            else
                p = *p == '"' ? fast_string(p, e, &ff->f[which]) : NULL;
            if (!p)
                return 0;
            p = fast_ws(p, e);
            if (p < e && *p == ',') {
                p = fast_ws(p + 1, e);
                continue;
            }
            if (p < e && *p == '}') {
                p++;
                break;
            }
            return 0;
        }
    }
    if (fast_ws(p, e) != e)
        return 0;
    for (size_t i = 0; i < ff->nlabels; i++)
        if (ff->labels[i].n == 0)
            return 0;   /* an empty label is an error: cJSON's path says so */
    return 1;
}

/* Fill the story from a scanned object, with fill_story's rules. */
static cd_status fast_fill(const fast_fields *ff, const char *source, cd_story *story)
{
    size_t n;
    if (ff->seen[0] && ff->f[0].n > 0)
        story->id = fast_copy(&ff->f[0], NULL);
    else
        story->id = dup_str(source);
    story->title = ff->seen[1] ? fast_copy(&ff->f[1], &n) : dup_str("");
    story->title_len = ff->seen[1] ? n : 0;
    story->body = ff->seen[2] ? fast_copy(&ff->f[2], &n) : dup_str("");
    story->body_len = ff->seen[2] ? n : 0;
    story->meta_json = dup_str("{}");
    story->source = dup_str(source);
    if (!story->id || !story->title || !story->body || !story->meta_json || !story->source)
        return CD_ERR_NOMEM;
    if (ff->nlabels == 0)
        return CD_OK;
    story->labels = calloc(ff->nlabels, sizeof *story->labels);
    if (!story->labels)
        return CD_ERR_NOMEM;
    for (size_t i = 0; i < ff->nlabels; i++) {
        char *l = fast_copy(&ff->labels[i], NULL);
        if (!l)
            return CD_ERR_NOMEM;
        if (has_label(story, l)) {
            free(l);
            continue;
        }
        story->labels[story->nlabels++] = l;
    }
    return CD_OK;
}

/* 1 when the fast path read the story, 0 when it gave up (story zeroed). */
static int fast_story(const char *json, size_t len, const char *source, cd_story *story,
                      cd_status *st)
{
    fast_fields ff;
    memset(&ff, 0, sizeof ff);
    if (!fast_scan(json, len, &ff))
        return 0;
    *st = fast_fill(&ff, source, story);
    if (*st != CD_OK)
        cd_story_clear(story);
    return 1;
}

cd_status cd_story_from_json(const char *json, size_t len, const char *source,
                             cd_story *story, size_t *err_off, cd_error *err)
{
    size_t off_unused;
    if (!err_off)
        err_off = &off_unused;
    *err_off = 0;
    memset(story, 0, sizeof *story);
    cd_status fst;
    if (!memchr(json, '\0', len) && fast_story(json, len, source, story, &fst))
        return fst == CD_OK ? CD_OK : cd_error_set(err, fst, "out of memory");
    cJSON *obj = NULL;
    cd_status st = parse_object(json, len, &obj, err_off, err);
    if (st != CD_OK)
        return st;
    st = fill_story(obj, source, story, err);
    cJSON_Delete(obj);
    if (st != CD_OK)
        cd_story_clear(story);
    return st;
}
