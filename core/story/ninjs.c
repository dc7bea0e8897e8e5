/*
 * ninjs.c - IPTC ninjs 2.x stories in (see ninjs.h).
 *
 * Rules for a ninjs 2.x object (one with a "headlines" or "bodies" field):
 *   - id: "uri" (story.c's rules: a plain "id" wins when both are there).
 *   - title: the value of the headline whose role is "main", else of the
 *     first headline; when "headlines" gives none, the ninjs 1.x
 *     "headline", else "title".
 *   - body: the body whose role is "main", else the first one; its markup
 *     is stripped when its contenttype names HTML or XML (text/html,
 *     application/xhtml+xml, application/nitf+xml, ...) or, without a
 *     contenttype, when the value starts with '<'.  No body: the main
 *     description (role "main", else "summary", else the first), stripped
 *     the same way; else "body_text", else "body".
 *   - everything else -- descriptions, embargoed, urgency, pubstatus,
 *     language, subjects, and headlines and bodies themselves -- is kept in
 *     meta as it was, so that rules see story.meta.urgency and a ninjs
 *     destination passes them on (core/deliver/deliver_ninjs.c).
 *   - subjects become gold labels only when asked (cd_story_labels_from_
 *     subjects, `--labels-from subjects`): a Media Topic uri
 *     (http://cv.iptc.org/newscodes/mediatopic/CODE) as "medtop:CODE",
 *     another uri as it is, else the literal, else the name.
 * A headline or body of the wrong type (not an array of objects whose
 * value is a string) is an error, like a wrong "title".
 *
 * A document copydesk wrote (core/deliver/deliver_ninjs.c) for a story
 * whose id is not a URI has the uri "urn:copydesk:" and the id
 * percent-encoded, and the id itself in altids with the role
 * "copydesk:id": without a plain "id", that altid is the story's id, and
 * it and the uri are not kept in meta (the story had neither), so that the
 * story reads back as it was sent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "story/ninjs.h"

#define MEDTOP_URI "http://cv.iptc.org/newscodes/mediatopic/"

int cdi_ninjs_is_v2(const cJSON *obj)
{
    /* present and not null: of the wrong type, they are reported by pick() */
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "headlines");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "bodies");
    return (h && !cJSON_IsNull(h)) || (b && !cJSON_IsNull(b));
}

/* ---- markup ------------------------------------------------------------- */

typedef struct out {
    char *p;
    size_t n;
} out;

/* Append the UTF-8 encoding of code point c (invalid ones as U+FFFD). */
static void put_cp(out *o, uint32_t c)
{
    if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        c = 0xFFFD;
    if (c < 0x80) {
        o->p[o->n++] = (char)c;
    } else if (c < 0x800) {
        o->p[o->n++] = (char)(0xC0 | (c >> 6));
        o->p[o->n++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        o->p[o->n++] = (char)(0xE0 | (c >> 12));
        o->p[o->n++] = (char)(0x80 | ((c >> 6) & 0x3F));
        o->p[o->n++] = (char)(0x80 | (c & 0x3F));
    } else {
        o->p[o->n++] = (char)(0xF0 | (c >> 18));
        o->p[o->n++] = (char)(0x80 | ((c >> 12) & 0x3F));
        o->p[o->n++] = (char)(0x80 | ((c >> 6) & 0x3F));
        o->p[o->n++] = (char)(0x80 | (c & 0x3F));
    }
}

/* A character reference at s (just past '&', up to e): the bytes it
 * spans including ';', and its code point; 0 when it is not one. */
static size_t char_ref(const char *s, const char *e, uint32_t *cp)
{
    static const struct { const char *name; uint32_t cp; } named[] = {
        { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
        { "nbsp", 0xA0 }, { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 },
        { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201C }, { "rdquo", 0x201D },
    };
    const char *semi = memchr(s, ';', (size_t)(e - s) < 12 ? (size_t)(e - s) : 12);
    if (!semi || semi == s)
        return 0;
    size_t n = (size_t)(semi - s);
    if (s[0] == '#') {
        int hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
        const char *d = s + 1 + hex;
        if (d == semi)
            return 0;
        uint32_t v = 0;
        for (; d < semi; d++) {
            int x = *d >= '0' && *d <= '9' ? *d - '0'
                  : hex && *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
                  : hex && *d >= 'A' && *d <= 'F' ? *d - 'A' + 10 : -1;
            if (x < 0)
                return 0;
            v = v * (hex ? 16u : 10u) + (uint32_t)x;
            if (v > 0x10FFFF)
                v = 0x110000;   /* stays invalid: U+FFFD */
        }
        *cp = v;
        return n + 1;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strlen(named[i].name) == n && !memcmp(named[i].name, s, n)) {
            *cp = named[i].cp;
            return n + 1;
        }
    return 0;
}

/* The tag name at p (after '<' and an optional '/'), lower-cased into
 * name (cap bytes). */
static void tag_name(const char *p, const char *e, char *name, size_t cap)
{
    size_t n = 0;
    while (p < e && n + 1 < cap &&
           ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
        name[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p), p++;
    name[n] = '\0';
}

static int is_block(const char *name)
{
    static const char *const blocks[] = { "p", "br", "div", "li", "ul", "ol", "h1", "h2",
        "h3", "h4", "h5", "h6", "tr", "table", "blockquote", "section", "article",
        "header", "footer", "hr", "pre", "figure", "figcaption", "hl1", "hl2", "dateline",
        "block", "body.content", NULL };
    for (const char *const *b = blocks; *b; b++)
        if (!strcmp(*b, name))
            return 1;
    return 0;
}

char *cdi_ninjs_strip_markup(const char *s, size_t len, size_t *out_len)
{
    /* the text never grows: a tag is dropped or becomes one byte, and a
     * character reference of k bytes encodes in at most 4 <= k + 1 */
    out o = { malloc(len + 1), 0 };
    if (!o.p)
        return NULL;
    const char *p = s, *e = s + len;
    while (p < e) {
        if (*p == '<' && p + 1 < e &&
            (p[1] == '/' || p[1] == '!' || p[1] == '?' ||
             (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))) {
            int closing = p[1] == '/';
            if (p + 4 <= e && !memcmp(p, "<!--", 4)) {   /* a comment */
                const char *c = p + 4;
                while (c + 3 <= e && memcmp(c, "-->", 3))
                    c++;
                p = c + 3 <= e ? c + 3 : e;
                continue;
            }
            char name[16];
            tag_name(p + 1 + closing, e, name, sizeof name);
            const char *gt = memchr(p, '>', (size_t)(e - p));
            p = gt ? gt + 1 : e;
            if (!closing && (!strcmp(name, "script") || !strcmp(name, "style"))) {
                /* skip to the closing tag */
                const char *c = p;
                size_t nl = strlen(name);
                while (c < e && !(c + 2 + nl <= e && c[0] == '<' && c[1] == '/' &&
                                  !strncasecmp(c + 2, name, nl)))
                    c++;
                const char *cgt = c < e ? memchr(c, '>', (size_t)(e - c)) : NULL;
                p = cgt ? cgt + 1 : e;
            }
            /* a block tag breaks the line; inline tags join their text */
            if (is_block(name) && o.n > 0 && o.p[o.n - 1] != '\n')
                o.p[o.n++] = '\n';
            continue;
        }
        uint32_t cp;
        size_t k;
        if (*p == '&' && (k = char_ref(p + 1, e, &cp)) > 0) {
            put_cp(&o, cp == 0xA0 ? ' ' : cp);
            p += 1 + k;
            continue;
        }
        o.p[o.n++] = *p++;
    }
    /* trim the ends */
    size_t a = 0, b = o.n;
    while (a < b && (o.p[a] == ' ' || o.p[a] == '\n' || o.p[a] == '\t' || o.p[a] == '\r'))
        a++;
    while (b > a && (o.p[b - 1] == ' ' || o.p[b - 1] == '\n' || o.p[b - 1] == '\t' || o.p[b - 1] == '\r'))
        b--;
    memmove(o.p, o.p + a, b - a);
    o.p[b - a] = '\0';
    *out_len = b - a;
    return o.p;
}

/* ---- headlines, bodies, descriptions ------------------------------------ */

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an object";
}

/* Check that arr (when present) is an array of objects with a string
 * value; then the entry with role want (or want2), else the first. */
static cd_status pick(const cJSON *obj, const char *key, const char *want, const char *want2,
                      const cJSON **out_item, cd_error *err)
{
    *out_item = NULL;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!arr || cJSON_IsNull(arr))
        return CD_OK;
    if (!cJSON_IsArray(arr))
        return cd_error_set(err, CD_ERR_FORMAT, "%s is %s, not an array of objects",
                            key, type_name(arr));
    const cJSON *item, *first = NULL, *second = NULL, *best = NULL;
    int i = 0;
    cJSON_ArrayForEach(item, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "value");
        if (!cJSON_IsObject(item) || !cJSON_IsString(v))
            return cd_error_set(err, CD_ERR_FORMAT, "%s[%d] is not an object with a string value",
                                key, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
        if (cJSON_IsString(role) && !best && !strcmp(role->valuestring, want))
            best = item;
        if (cJSON_IsString(role) && !second && want2 && !strcmp(role->valuestring, want2))
            second = item;
        if (!first)
            first = item;
        i++;
    }
    *out_item = best ? best : second ? second : first;
    return CD_OK;
}

static int is_markup(const cJSON *item, const char *value)
{
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(item, "contenttype");
    if (cJSON_IsString(ct))
        return strstr(ct->valuestring, "html") || strstr(ct->valuestring, "xml");
    while (*value == ' ' || *value == '\n' || *value == '\t' || *value == '\r')
        value++;
    return *value == '<';
}

static cd_status set_text(char **dst, size_t *dst_len, const cJSON *item, int strip,
                          cd_error *err)
{
    const char *v = cJSON_GetObjectItemCaseSensitive(item, "value")->valuestring;
    if (strip && is_markup(item, v)) {
        *dst = cdi_ninjs_strip_markup(v, strlen(v), dst_len);
    } else {
        *dst = strdup(v);
        *dst_len = *dst ? strlen(*dst) : 0;
    }
    return *dst ? CD_OK : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
}

/* The first of the string fields names[] of obj, or NULL; error when the
 * first present one is not a string. */
static cd_status plain_field(const cJSON *obj, const char *const *names, const cJSON **out_v,
                             cd_error *err)
{
    *out_v = NULL;
    for (; *names; names++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, *names);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsString(v))
            return cd_error_set(err, CD_ERR_FORMAT, "%s is %s, not a string", *names,
                                type_name(v));
        *out_v = v;
        return CD_OK;
    }
    return CD_OK;
}

static cd_status dup_plain(char **dst, size_t *dst_len, const cJSON *v, cd_error *err)
{
    *dst = strdup(v ? v->valuestring : "");
    *dst_len = *dst ? strlen(*dst) : 0;
    return *dst ? CD_OK : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
}

cd_status cdi_ninjs_read_text(const cJSON *obj, cd_story *story, cd_error *err)
{
    static const char *const titles[] = { "headline", "title", NULL };
    static const char *const bodies[] = { "body_text", "body", NULL };
    const cJSON *h, *b, *d, *v;
    cd_status st = pick(obj, "headlines", "main", NULL, &h, err);
    if (st == CD_OK)
        st = pick(obj, "bodies", "main", NULL, &b, err);
    if (st == CD_OK)
        st = pick(obj, "descriptions", "main", "summary", &d, err);
    if (st != CD_OK)
        return st;
    if (h)
        st = set_text(&story->title, &story->title_len, h, 0, err);
    else if ((st = plain_field(obj, titles, &v, err)) == CD_OK)
        st = dup_plain(&story->title, &story->title_len, v, err);
    if (st != CD_OK)
        return st;
    if (b || d)
        return set_text(&story->body, &story->body_len, b ? b : d, 1, err);
    if ((st = plain_field(obj, bodies, &v, err)) == CD_OK)
        st = dup_plain(&story->body, &story->body_len, v, err);
    return st;
}

/* ---- the id copydesk wrote ------------------------------------------------ */

cJSON *cdi_ninjs_take_copydesk_id(cJSON *obj)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
    const cJSON *uri = cJSON_GetObjectItemCaseSensitive(obj, "uri");
    cJSON *alt = cJSON_GetObjectItemCaseSensitive(obj, "altids");
    if ((id && !cJSON_IsNull(id)) || !cJSON_IsString(uri) ||
        strncmp(uri->valuestring, "urn:copydesk:", 13) != 0 || !cJSON_IsArray(alt))
        return NULL;
    cJSON *a;
    cJSON_ArrayForEach(a, alt) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(a, "role");
        cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
        if (!cJSON_IsObject(a) || !cJSON_IsString(role) ||
            strcmp(role->valuestring, "copydesk:id") != 0 || !cJSON_IsString(v) ||
            !v->valuestring[0])
            continue;
        v = cJSON_DetachItemViaPointer(a, v);
        cJSON_Delete(cJSON_DetachItemViaPointer(alt, a));
        if (!alt->child)
            cJSON_DeleteItemFromObjectCaseSensitive(obj, "altids");
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "uri");
        return v;
    }
    return NULL;
}

/* ---- subjects as labels --------------------------------------------------- */

/* The label a subject stands for (a new string), or NULL when it has no
 * usable identifier; *nomem set when allocation failed. */
static char *subject_label(const cJSON *s, int *nomem)
{
    const cJSON *uri = cJSON_GetObjectItemCaseSensitive(s, "uri");
    const cJSON *lit = cJSON_GetObjectItemCaseSensitive(s, "literal");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
    char *l = NULL;
    size_t pl = strlen(MEDTOP_URI);
    if (cJSON_IsString(uri) && uri->valuestring[0]) {
        const char *u = uri->valuestring;
        if (!strncmp(u, MEDTOP_URI, pl) && u[pl]) {
            size_t n = strlen(u + pl);
            if ((l = malloc(n + 8))) {
                memcpy(l, "medtop:", 7);
                memcpy(l + 7, u + pl, n + 1);
            }
        } else {
            l = strdup(u);
        }
    } else if (cJSON_IsString(lit) && lit->valuestring[0]) {
        l = strdup(lit->valuestring);
    } else if (cJSON_IsString(name) && name->valuestring[0]) {
        l = strdup(name->valuestring);
    } else {
        return NULL;
    }
    *nomem = l == NULL;
    return l;
}

cd_status cd_story_labels_from_subjects(cd_story *story, cd_error *err)
{
    cJSON *meta = cJSON_Parse(story->meta_json ? story->meta_json : "{}");
    if (!meta)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(meta, "subjects");
    cd_status st = CD_OK;
    size_t n = cJSON_IsArray(subj) ? (size_t)cJSON_GetArraySize(subj) : 0;
    char **labels = n ? calloc(n, sizeof *labels) : NULL;
    size_t nl = 0;
    if (subj && !cJSON_IsNull(subj) && !cJSON_IsArray(subj))
        st = cd_error_set(err, CD_ERR_FORMAT, "subjects is %s, not an array of objects",
                          type_name(subj));
    else if (n && !labels)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    const cJSON *s;
    if (st == CD_OK && n) {
        cJSON_ArrayForEach(s, subj) {
            int nomem = 0;
            char *l = cJSON_IsObject(s) ? subject_label(s, &nomem) : NULL;
            if (nomem) {
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
                break;
            }
            int dup = 0;
            for (size_t i = 0; l && i < nl && !dup; i++)
                dup = !strcmp(labels[i], l);
            if (!l || dup)
                free(l);
            else
                labels[nl++] = l;
        }
    }
    cJSON_Delete(meta);
    if (st != CD_OK) {
        for (size_t i = 0; i < nl; i++)
            free(labels[i]);
        free(labels);
        return st;
    }
    for (size_t i = 0; i < story->nlabels; i++)
        free(story->labels[i]);
    free(story->labels);
    story->labels = nl ? labels : NULL;
    story->nlabels = nl;
    if (!nl)
        free(labels);
    return CD_OK;
}
