/*
 * feed_xml.c - RSS 2.0 and Atom feeds, parsed with expat (see feed.h).
 *
 * The parser runs with namespace processing, so element names arrive as
 * "namespace|local"; only the local name is looked at, which accepts RSS
 * 2.0 (no namespace), Atom (http://www.w3.org/2005/Atom) and the usual
 * extensions (content:encoded, dc:date) alike.  An item is an RSS <item>
 * or an Atom <entry>; of its direct children these are kept:
 *
 *   id         guid (RSS), id (Atom)
 *   title      title
 *   body       content:encoded / content (preferred), else description /
 *              summary; HTML tags are removed
 *   link       link text (RSS), link href with rel absent or "alternate" (Atom)
 *   published  pubDate (RSS), published, else updated (Atom), dc:date
 *
 * Text inside a kept element is gathered from all its descendants (Atom
 * XHTML content), with a space between elements.  expat does not fetch
 * external entities; entity declarations are refused outright (no feed
 * needs them, and they are how expansion attacks start), and a field
 * larger than FIELD_MAX stops the parse.
 */
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "live/feed.h"

#define FIELD_MAX ((size_t)8 << 20)

enum { F_ID, F_TITLE, F_CONTENT, F_SUMMARY, F_LINK, F_PUBLISHED, F_UPDATED, F_COUNT };

typedef struct xml_state {
    XML_Parser p;
    int depth;           /* of the element being read */
    int item_depth;      /* depth of the open item, 0 when none */
    int field;           /* field being gathered, -1 when none */
    char *text[F_COUNT];
    size_t tlen[F_COUNT];
    int nomem;
    int stopped;
    const char *refused;  /* why the document was refused, or NULL */
    size_t items;
    cd_feed_item_fn fn;
    void *ud;
} xml_state;

static const char *local_name(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static void clear_item(xml_state *s)
{
    for (int i = 0; i < F_COUNT; i++) {
        free(s->text[i]);
        s->text[i] = NULL;
        s->tlen[i] = 0;
    }
}

static void refuse(xml_state *s, const char *why)
{
    if (!s->refused)
        s->refused = why;
    XML_StopParser(s->p, XML_FALSE);
}

static void append(xml_state *s, int f, const char *data, size_t n)
{
    if (s->tlen[f] + n > FIELD_MAX) {
        refuse(s, "an item field larger than 8 MB");
        return;
    }
    char *t = realloc(s->text[f], s->tlen[f] + n + 1);
    if (!t) {
        s->nomem = 1;
        XML_StopParser(s->p, XML_FALSE);
        return;
    }
    memcpy(t + s->tlen[f], data, n);
    s->tlen[f] += n;
    t[s->tlen[f]] = '\0';
    s->text[f] = t;
}

static int field_of(const char *local, const char **attrs, int *keep_href)
{
    *keep_href = 0;
    if (!strcmp(local, "guid") || !strcmp(local, "id"))
        return F_ID;
    if (!strcmp(local, "title"))
        return F_TITLE;
    if (!strcmp(local, "encoded") || !strcmp(local, "content"))
        return F_CONTENT;
    if (!strcmp(local, "description") || !strcmp(local, "summary"))
        return F_SUMMARY;
    if (!strcmp(local, "pubDate") || !strcmp(local, "published") || !strcmp(local, "date"))
        return F_PUBLISHED;
    if (!strcmp(local, "updated"))
        return F_UPDATED;
    if (!strcmp(local, "link")) {
        const char *href = NULL, *rel = NULL;
        for (int i = 0; attrs[i]; i += 2) {
            if (!strcmp(attrs[i], "href"))
                href = attrs[i + 1];
            else if (!strcmp(attrs[i], "rel"))
                rel = attrs[i + 1];
        }
        if (href) {
            *keep_href = !rel || !strcmp(rel, "alternate");
            return *keep_href ? F_LINK : -1;
        }
        return F_LINK;
    }
    return -1;
}

static void XMLCALL on_start(void *ud, const char *name, const char **attrs)
{
    xml_state *s = ud;
    s->depth++;
    const char *local = local_name(name);
    if (!s->item_depth) {
        if (!strcmp(local, "item") || !strcmp(local, "entry")) {
            s->item_depth = s->depth;
            s->field = -1;
            clear_item(s);
        }
        return;
    }
    if (s->field >= 0) {   /* markup inside a gathered field: words stay apart */
        append(s, s->field, " ", 1);
        return;
    }
    if (s->depth != s->item_depth + 1)
        return;
    int keep_href;
    int f = field_of(local, attrs, &keep_href);
    if (f < 0 || (s->text[f] && f != F_CONTENT && f != F_SUMMARY))
        return;   /* the first of a repeated element wins */
    if (keep_href) {
        for (int i = 0; attrs[i]; i += 2)
            if (!strcmp(attrs[i], "href"))
                append(s, f, attrs[i + 1], strlen(attrs[i + 1]));
        return;
    }
    if (s->text[f]) {
        free(s->text[f]);
        s->text[f] = NULL;
        s->tlen[f] = 0;
    }
    append(s, f, "", 0);
    s->field = f;
}

static void XMLCALL on_text(void *ud, const char *data, int n)
{
    xml_state *s = ud;
    if (s->item_depth && s->field >= 0 && n > 0)
        append(s, s->field, data, (size_t)n);
}

/* Trim white space in place; NULL when nothing is left. */
static const char *trimmed(char *t)
{
    if (!t)
        return NULL;
    char *a = t;
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\n' || a[n - 1] == '\r'))
        a[--n] = '\0';
    return *a ? a : NULL;
}

static void emit(xml_state *s)
{
    char *body = s->text[F_CONTENT] ? s->text[F_CONTENT] : s->text[F_SUMMARY];
    if (body)
        cd_feed_strip_html(body);
    if (s->text[F_TITLE])
        cd_feed_strip_html(s->text[F_TITLE]);
    cd_feed_item it = { 0 };
    it.title = trimmed(s->text[F_TITLE]);
    it.body = trimmed(body);
    it.link = trimmed(s->text[F_LINK]);
    it.published = trimmed(s->text[F_PUBLISHED]);
    if (!it.published)
        it.published = trimmed(s->text[F_UPDATED]);
    it.id = trimmed(s->text[F_ID]);
    if (!it.id)
        it.id = it.link ? it.link : it.title;
    if (!it.id)
        return;
    s->items++;
    if (s->fn(s->ud, &it)) {
        s->stopped = 1;
        XML_StopParser(s->p, XML_FALSE);
    }
}

static void XMLCALL on_entity(void *ud, const char *name, int is_param, const char *value,
                              int value_len, const char *base, const char *system_id,
                              const char *public_id, const char *notation)
{
    (void)name; (void)is_param; (void)value; (void)value_len; (void)base;
    (void)system_id; (void)public_id; (void)notation;
    refuse(ud, "entity declarations are refused");
}

static void XMLCALL on_end(void *ud, const char *name)
{
    xml_state *s = ud;
    (void)name;
    if (s->field >= 0 && s->depth > s->item_depth + 1)
        append(s, s->field, " ", 1);
    if (s->item_depth && s->depth == s->item_depth + 1)
        s->field = -1;
    if (s->item_depth && s->depth == s->item_depth) {
        emit(s);
        clear_item(s);
        s->item_depth = 0;
    }
    s->depth--;
}

cd_status cd_feed_parse_xml(const char *doc, size_t len, cd_feed_item_fn fn, void *ud,
                            size_t *nitems, cd_error *err)
{
    if (len > (size_t)0x7fffffff)
        return cd_error_set(err, CD_ERR_LIMIT, "feed larger than 2 GB");
    xml_state s = { .field = -1, .fn = fn, .ud = ud };
    s.p = XML_ParserCreateNS(NULL, '|');
    if (!s.p)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    XML_SetUserData(s.p, &s);
    XML_SetElementHandler(s.p, on_start, on_end);
    XML_SetCharacterDataHandler(s.p, on_text);
    XML_SetEntityDeclHandler(s.p, on_entity);
    enum XML_Status rc = XML_Parse(s.p, doc, (int)len, XML_TRUE);
    cd_status st = CD_OK;
    if (s.nomem)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    else if (s.refused)
        st = cd_error_set(err, CD_ERR_FORMAT, "line %lu: %s",
                          (unsigned long)XML_GetCurrentLineNumber(s.p), s.refused);
    else if (rc == XML_STATUS_ERROR && !s.stopped)
        st = cd_error_set(err, CD_ERR_FORMAT, "line %lu: %s",
                          (unsigned long)XML_GetCurrentLineNumber(s.p),
                          XML_ErrorString(XML_GetErrorCode(s.p)));
    if (nitems)
        *nitems = s.items;
    clear_item(&s);
    XML_ParserFree(s.p);
    return st;
}
