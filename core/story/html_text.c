/*
 * html_text.c - HTML and XHTML to text for feed bodies and titles (see
 * feed.h, html_text.h).
 *
 * HTML strings are parsed by libxml2's HTML parser, which knows every HTML
 * entity, recovers from broken markup the way browsers do, and keeps a '<'
 * that opens no tag as text.  The tree is then walked (without recursion:
 * a hostile document may nest deeply) and its text gathered:
 *   - script, style, noscript, template, head, title, iframe, object, svg
 *     and math are left out with everything in them;
 *   - block elements (p, div, h1..h6, blockquote, ul, table, ...) end a
 *     paragraph: paragraphs are separated by a blank line; br, li, tr, dt,
 *     dd end a line; td and th end a word;
 *   - other elements are inline and add nothing, so Ex<b>am</b>ple stays
 *     one word;
 *   - runs of white space (U+00A0 included) are one space, and none is
 *     left at the start or end of a line.
 */
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>

#include "base/buf.h"
#include "story/feed.h"
#include "story/html_text.h"

enum { SEP_NONE, SEP_SPACE, SEP_LINE, SEP_PARA };

typedef struct text_out {
    cd_buf b;
    int pending;   /* separator owed before the next visible character */
} text_out;

static void out_bytes(text_out *o, const char *s, size_t n)
{
    cdi_buf_put(&o->b, s, n);
}

static void owe(text_out *o, int sep)
{
    if (sep > o->pending)
        o->pending = sep;
}

/* Text: white space becomes an owed space, the rest is copied after
 * whatever separator is owed (none at the very start). */
static void out_text(text_out *o, const char *s, size_t n)
{
    static const char *const seps[] = { "", " ", "\n", "\n\n" };
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            owe(o, SEP_SPACE);
            i++;
            continue;
        }
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {   /* U+00A0 */
            owe(o, SEP_SPACE);
            i += 2;
            continue;
        }
        size_t j = i + 1;   /* a run of visible bytes */
        while (j < n) {
            unsigned char d = (unsigned char)s[j];
            if (d == ' ' || d == '\t' || d == '\n' || d == '\r' || d == '\f' || d == '\v' ||
                (d == 0xC2 && j + 1 < n && (unsigned char)s[j + 1] == 0xA0))
                break;
            j++;
        }
        if (o->b.len && o->pending)
            out_bytes(o, seps[o->pending], strlen(seps[o->pending]));
        o->pending = SEP_NONE;
        out_bytes(o, s + i, j - i);
        i = j;
    }
}

typedef enum { K_INLINE, K_SKIP, K_WORD, K_LINE, K_BLOCK } kind;

static kind kind_of(const char *name)
{
    static const char *const skip[] = {
        "script", "style", "noscript", "template", "head", "iframe", "object",
        "svg", "math", "title", NULL };
    static const char *const line[] = { "br", "li", "tr", "dt", "dd", "option", NULL };
    static const char *const word[] = { "td", "th", "img", NULL };
    static const char *const block[] = {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
        "dl", "table", "thead", "tbody", "tfoot", "caption", "pre", "hr", "address",
        "article", "aside", "section", "header", "footer", "nav", "main", "figure",
        "figcaption", "details", "summary", "dialog", "fieldset", "legend", "form",
        "center", "menu", "dir", "hgroup", "body", "html", "listing", "xmp", NULL };
    for (int i = 0; skip[i]; i++)
        if (!strcasecmp(name, skip[i]))
            return K_SKIP;
    for (int i = 0; line[i]; i++)
        if (!strcasecmp(name, line[i]))
            return K_LINE;
    for (int i = 0; word[i]; i++)
        if (!strcasecmp(name, word[i]))
            return K_WORD;
    for (int i = 0; block[i]; i++)
        if (!strcasecmp(name, block[i]))
            return K_BLOCK;
    return K_INLINE;
}

static int sep_of(kind k)
{
    return k == K_BLOCK ? SEP_PARA : k == K_LINE ? SEP_LINE : k == K_WORD ? SEP_SPACE : SEP_NONE;
}

/* UTF-8 of code point c into b (at least 4 bytes); its length. */
static size_t utf8_put(unsigned c, char *b)
{
    if (c < 0x80) { b[0] = (char)c; return 1; }
    if (c < 0x800) { b[0] = (char)(0xC0 | c >> 6); b[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        b[0] = (char)(0xE0 | c >> 12); b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | c >> 18); b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((c >> 6) & 0x3F)); b[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Visit node on the way down: 1 to walk its children. */
static int enter(text_out *o, const xmlNode *n)
{
    switch (n->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        if (n->content)
            out_text(o, (const char *)n->content, strlen((const char *)n->content));
        return 0;
    case XML_ENTITY_REF_NODE: {   /* not declared in the document: the HTML set */
        const htmlEntityDesc *e = htmlEntityLookup(n->name);
        char b[4];
        if (e)
            out_text(o, b, utf8_put(e->value, b));
        return 0;
    }
    case XML_ELEMENT_NODE: {
        kind k = kind_of((const char *)n->name);
        if (k == K_SKIP)
            return 0;
        owe(o, sep_of(k));
        return 1;
    }
    default:
        return 0;
    }
}

static void leave(text_out *o, const xmlNode *n)
{
    if (n->type == XML_ELEMENT_NODE) {
        kind k = kind_of((const char *)n->name);
        if (k != K_SKIP)
            owe(o, sep_of(k));
    }
}

char *cdi_xhtml_to_text(const xmlNode *root)
{
    text_out o = { 0 };
    out_bytes(&o, "", 0);
    const xmlNode *n = root ? root->children : NULL;
    while (n) {
        if (enter(&o, n) && n->children) {
            n = n->children;
            continue;
        }
        leave(&o, n);
        while (n && !n->next) {
            n = n->parent;
            if (!n || n == root) {
                n = NULL;
                break;
            }
            leave(&o, n);
        }
        if (n)
            n = n->next;
    }
    if (o.b.failed) {
        cdi_buf_free(&o.b);
        return NULL;
    }
    return cdi_buf_take(&o.b, NULL);
}

void cdi_text_collapse(char *s)
{
    text_out o = { 0 };
    size_t n = strlen(s);
    out_bytes(&o, "", 0);
    out_text(&o, s, n);
    if (!o.b.failed)   /* never longer than s */
        memcpy(s, o.b.data, o.b.len + 1);
    cdi_buf_free(&o.b);
}

/* Nothing in s that HTML would change but white space. */
static int plain(const char *s, size_t n)
{
    return !memchr(s, '<', n) && !memchr(s, '&', n);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

void cdi_xml_init(void)
{
    pthread_once(&xml_once, xml_init);
}

char *cdi_html_to_text(const char *html, size_t len)
{
    if (plain(html, len) || len > INT_MAX) {
        char *t = malloc(len + 1);
        if (!t)
            return NULL;
        memcpy(t, html, len);
        t[len] = '\0';
        for (size_t i = 0; i < len; i++)   /* NUL is not text */
            if (!t[i])
                t[i] = ' ';
        cdi_text_collapse(t);
        return t;
    }
    cdi_xml_init();
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                    HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (!doc) {   /* nothing the parser could use: no text */
        char *t = malloc(1);
        if (t)
            t[0] = '\0';
        return t;
    }
    char *t = cdi_xhtml_to_text((const xmlNode *)doc);
    xmlFreeDoc(doc);
    return t;
}
