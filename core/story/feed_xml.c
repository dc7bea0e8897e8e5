/*
 * feed_xml.c - RSS 0.9x, 1.0 (RDF) and 2.0, Atom 1.0 and 0.3, read with
 * libxml2 (see feed.h).
 *
 * The document is decoded and repaired (feed_decode.c), then parsed by
 * libxml2 in its recovering mode, with no network, no entity substitution
 * and no DTD loading (XML_PARSE_RECOVER | XML_PARSE_NONET; never NOENT or
 * DTDLOAD), and libxml2's own limits on depth and text size left on: a
 * mismatched tag or a truncated document loses what the parser cannot
 * make sense of, not the items around it.
 *
 * An item is an <item> in no namespace or in an RSS namespace (any that is
 * not a known extension's: RSS 1.0, Userland and the like), or an Atom
 * <entry>; items are found anywhere in the document, never inside another
 * item.  Elements are chosen by namespace and name; of the item's direct
 * children, in this order of preference (the first non-empty one wins):
 *
 *   title      title (RSS, Atom), dc:title
 *   body       content:encoded, Atom content, xhtml:body and RSS body and
 *              fullitem, RSS description and Atom summary, dc:description
 *   link       RSS link, Atom link with rel "alternate" or none, a guid
 *              that is a permalink (isPermaLink="true", or absent and the
 *              guid an http(s) URL)
 *   id         guid, Atom id, rdf:about, dc:identifier
 *   published  pubDate, Atom published (0.3: issued), dc:date,
 *              dcterms:issued and created, else Atom updated (0.3:
 *              modified) and dcterms:modified
 *
 * RSS text (title, description, content:encoded, body) is HTML, escaped or
 * in CDATA: its text is what cdi_html_to_text makes of it; unescaped markup
 * in it is walked as XHTML.  Atom text follows its type: "text" as it is,
 * "html" through cdi_html_to_text, "xhtml" walked; Atom 0.3 mode="escaped"
 * is HTML and mode="base64" is decoded first.  Content with a src
 * (elsewhere) or of a non-text media type gives no text.
 *
 * Links and ids are resolved against xml:base (on the element and its
 * ancestors) and the address of the document (cd_feed_opts.url); a guid
 * with isPermaLink="false" is an opaque name and stays as written.
 *
 * Every other child is metadata, never text: categories, author (and
 * dc:creator), enclosures (and Atom links rel="enclosure"), and under
 * "ext" each extension element (Media RSS, iTunes, Dublin Core, slash, ...)
 * by prefixed name: media:content, media:title, ... (the usual prefix of a
 * known namespace, else the document's), each a list of values; a value is
 * the element's text, or an object of its attributes, its child elements
 * and its "text" when it has attributes or children.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>

#include "story/feed.h"
#include "story/html_text.h"

#define NS_ATOM10 "http://www.w3.org/2005/Atom"
#define NS_ATOM03 "http://purl.org/atom/ns#"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_DCTERMS "http://purl.org/dc/terms/"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

/* Known extension namespaces and the prefix their elements are kept by. */
static const struct { const char *uri, *prefix; } known_ns[] = {
    { "http://search.yahoo.com/mrss/", "media" }, { "http://search.yahoo.com/mrss", "media" },
    { "http://www.itunes.com/dtds/podcast-1.0.dtd", "itunes" },
    { NS_DC, "dc" }, { NS_DCTERMS, "dcterms" }, { NS_CONTENT, "content" },
    { "http://purl.org/rss/1.0/modules/slash/", "slash" },
    { "http://wellformedweb.org/CommentAPI/", "wfw" },
    { "http://www.georss.org/georss", "georss" },
    { "http://www.w3.org/2003/01/geo/wgs84_pos#", "geo" },
    { "http://purl.org/syndication/thread/1.0", "thr" },
    { "http://backend.userland.com/creativeCommonsRssModule", "creativeCommons" },
    { "http://purl.org/rss/1.0/modules/syndication/", "sy" },
    { "http://www.google.com/schemas/sitemap-news/0.9", "news" },
    { NS_XHTML, "xhtml" }, { NS_RDF, "rdf" }, { NS_ATOM10, "atom" }, { NS_ATOM03, "atom03" },
};

enum { FAM_CORE, FAM_ATOM, FAM_CONTENT, FAM_DC, FAM_DCTERMS, FAM_XHTML, FAM_EXT };

enum { F_TITLE, F_BODY, F_LINK, F_ID, F_PUBLISHED, F_COUNT };

#define NO_RANK 100
#define META_NODES 400   /* extension elements kept per item, at most */

typedef struct item_state {
    char *val[F_COUNT];
    int rank[F_COUNT];
    cJSON *meta;         /* categories, author, enclosures, ext; NULL until needed */
    int meta_nodes;
    int nomem;
} item_state;

typedef struct xml_state {
    const cd_feed_opts *opts;
    cd_feed_item_fn fn;
    void *ud;
    size_t items;
    int stopped;
    int nomem;
    char *feed_key;
    char first_error[300];
} xml_state;

static const char *ns_of(const xmlNode *n)
{
    return n->ns && n->ns->href ? (const char *)n->ns->href : NULL;
}

static int is_atom_ns(const char *u)
{
    return u && (!strcmp(u, NS_ATOM10) || !strcmp(u, NS_ATOM03));
}

static const char *known_prefix(const char *u)
{
    for (size_t i = 0; i < sizeof known_ns / sizeof known_ns[0]; i++)
        if (!strcmp(u, known_ns[i].uri))
            return known_ns[i].prefix;
    return NULL;
}

/* RSS: no namespace, or one that is not a known extension's. */
static int is_rss_ns(const char *u)
{
    return !u || (!known_prefix(u) && !is_atom_ns(u));
}

/* The namespaces of RSS 0.90, 1.0 and Userland's RSS 0.9x/2.0. */
static int is_rss_known(const char *u)
{
    return !strcmp(u, "http://purl.org/rss/1.0/") ||
           !strcmp(u, "http://my.netscape.com/rdf/simple/0.9/") ||
           !strcmp(u, "http://backend.userland.com/rss2") ||
           !strcmp(u, "http://backend.userland.com/rss") ||
           !strcmp(u, "http://purl.org/net/rss1.1#");
}

/* What a child of item is: an RSS or Atom element (the item's own
 * namespace, none, or a known RSS one), or a module's, or an extension. */
static int family(const xmlNode *n, const xmlNode *item)
{
    const char *u = ns_of(n), *iu = ns_of(item);
    if (is_atom_ns(u))
        return FAM_ATOM;
    if (!u || (iu && !strcmp(u, iu)) || is_rss_known(u))
        return FAM_CORE;
    if (!strcmp(u, NS_CONTENT))
        return FAM_CONTENT;
    if (!strcmp(u, NS_DC))
        return FAM_DC;
    if (!strcmp(u, NS_DCTERMS))
        return FAM_DCTERMS;
    if (!strcmp(u, NS_XHTML))
        return FAM_XHTML;
    return FAM_EXT;
}

static int named(const xmlNode *n, const char *local)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, local);
}

static int has_element_child(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return 1;
    return 0;
}

/* The attribute (in no namespace) or NULL; caller frees with xmlFree. */
static char *attr(const xmlNode *n, const char *name)
{
    return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

static char *text_content(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    char *s = t ? strdup((const char *)t) : strdup("");
    xmlFree(t);
    return s;
}

/* ---- base64 (Atom 0.3 mode="base64") ------------------------------------ */

static int b64(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decode in place (white space and padding skipped); the decoded length. */
static size_t base64_decode(char *s)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = s; *p; p++) {
        int v = b64((unsigned char)*p);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    s[o] = '\0';
    return o;
}

/* ---- text of elements ------------------------------------------------------ */

/* A string of text as it is: white space collapsed. */
static char *plain_text(const xmlNode *n)
{
    char *t = text_content(n);
    if (t)
        cdi_text_collapse(t);
    return t;
}

static char *html_text(const char *s, size_t len)
{
    return cdi_html_to_text(s, len);
}

/* RSS text: HTML, escaped or in CDATA; unescaped markup walked. */
static char *rss_text(const xmlNode *n)
{
    if (has_element_child(n))
        return cdi_xhtml_to_text(n);
    char *t = text_content(n);
    if (!t)
        return NULL;
    char *r = html_text(t, strlen(t));
    free(t);
    return r;
}

/* An Atom text construct or content, by its type (and 0.3 mode). */
static char *atom_text(const xmlNode *n, int is_content)
{
    char *type = attr(n, "type"), *mode = attr(n, "mode"), *src = attr(n, "src");
    char *r = NULL;
    const char *ty = type ? type : "text";
    int html = !strcasecmp(ty, "html") || !strcasecmp(ty, "text/html");
    int xhtml = !strcasecmp(ty, "xhtml") || !strcasecmp(ty, "application/xhtml+xml");
    int text = !strcasecmp(ty, "text") || !strncasecmp(ty, "text/", 5);
    if (is_content && src) {
        r = NULL;   /* the content is elsewhere */
    } else if (mode && !strcasecmp(mode, "base64")) {
        char *t = text_content(n);
        if (t) {
            size_t k = base64_decode(t);
            r = html || xhtml ? html_text(t, k) : (cdi_text_collapse(t), strdup(t));
            free(t);
        }
    } else if (mode && !strcasecmp(mode, "escaped")) {
        char *t = text_content(n);
        if (t) {
            r = html_text(t, strlen(t));
            free(t);
        }
    } else if (xhtml || has_element_child(n)) {
        r = cdi_xhtml_to_text(n);
    } else if (html) {
        char *t = text_content(n);
        if (t) {
            r = html_text(t, strlen(t));
            free(t);
        }
    } else if (text || !is_content) {
        r = plain_text(n);
    }   /* else a media type that is not text: no text */
    xmlFree(type);
    xmlFree(mode);
    xmlFree(src);
    return r;
}

/* ---- links and ids ------------------------------------------------------------ */

/* ref resolved against the base in effect at n; a new string. */
static char *resolve(const xmlNode *n, const char *ref)
{
    char *t = strdup(ref);
    if (!t)
        return NULL;
    cdi_text_collapse(t);
    xmlChar *base = xmlNodeGetBase(n->doc, n);
    if (!base || !t[0])
        goto done;
    xmlChar *abs = xmlBuildURI((const xmlChar *)t, base);
    if (abs) {
        char *s = strdup((const char *)abs);
        xmlFree(abs);
        if (s) {
            free(t);
            t = s;
        }
    }
done:
    xmlFree(base);
    return t;
}

/* ---- the item ------------------------------------------------------------------ */

static void offer(item_state *it, int f, int rank, char *v)
{
    if (!v) {
        return;
    }
    if (f != F_BODY)   /* titles, links, ids and dates are one line */
        cdi_text_collapse(v);
    if (rank >= it->rank[f] || !v[0]) {
        free(v);
        return;
    }
    free(it->val[f]);
    it->val[f] = v;
    it->rank[f] = rank;
}

static cJSON *meta(item_state *it)
{
    if (!it->meta && !(it->meta = cJSON_CreateObject()))
        it->nomem = 1;
    return it->meta;
}

/* The list under key in o, made when missing. */
static cJSON *list(item_state *it, cJSON *o, const char *key)
{
    if (!o)
        return NULL;
    cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!a && !(a = cJSON_AddArrayToObject(o, key)))
        it->nomem = 1;
    return cJSON_IsArray(a) ? a : NULL;
}

static void add_string(item_state *it, cJSON *a, const char *s)
{
    if (!a || !s || !s[0])
        return;
    cJSON *v = cJSON_CreateString(s);
    if (!v || !cJSON_AddItemToArray(a, v)) {
        cJSON_Delete(v);
        it->nomem = 1;
    }
}

/* The prefixed name of an element or attribute ("media:content"). */
static void qname(const xmlNode *n, const xmlNs *ns, char *out, size_t cap)
{
    const char *p = NULL;
    if (ns && ns->href)
        p = known_prefix((const char *)ns->href);
    if (!p && ns)
        p = ns->prefix ? (const char *)ns->prefix : "ns";
    if (p)
        snprintf(out, cap, "%s:%s", p, (const char *)n->name);
    else
        snprintf(out, cap, "%s", (const char *)n->name);
}

/* An element as a JSON value: its text, or its attributes, children and
 * text.  NULL when out of memory or over the budget. */
static cJSON *element_json(item_state *it, const xmlNode *n, int depth)
{
    if (++it->meta_nodes > META_NODES)
        return NULL;
    if (!n->properties && !has_element_child(n)) {
        char *t = plain_text(n);
        cJSON *v = t ? cJSON_CreateString(t) : NULL;
        free(t);
        return v;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char key[200];
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
        qname((const xmlNode *)a, a->ns, key, sizeof key);
        if (v && !cJSON_GetObjectItemCaseSensitive(o, key))
            cJSON_AddStringToObject(o, key, (const char *)v);
        xmlFree(v);
    }
    if (depth < 4) {
        for (const xmlNode *c = n->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            qname(c, c->ns, key, sizeof key);
            cJSON *v = element_json(it, c, depth + 1);
            cJSON *a = v ? list(it, o, key) : NULL;
            if (!a || !cJSON_AddItemToArray(a, v))
                cJSON_Delete(v);
        }
    }
    int text = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        text |= c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE;
    if (text) {
        char *t = NULL;
        xmlChar *raw = NULL;
        for (const xmlNode *c = n->children; c; c = c->next)
            if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
                raw = xmlStrcat(raw, c->content);
        if (raw && (t = strdup((const char *)raw)))
            cdi_text_collapse(t);
        if (t && t[0] && !cJSON_GetObjectItemCaseSensitive(o, "text"))
            cJSON_AddStringToObject(o, "text", t);
        free(t);
        xmlFree(raw);
    }
    return o;
}

static void keep_ext(item_state *it, const xmlNode *c, const char *key)
{
    cJSON *ext = meta(it) ? cJSON_GetObjectItemCaseSensitive(it->meta, "ext") : NULL;
    if (it->meta && !ext && !(ext = cJSON_AddObjectToObject(it->meta, "ext")))
        it->nomem = 1;
    cJSON *a = list(it, ext, key);
    cJSON *v = a ? element_json(it, c, 0) : NULL;
    if (v && !cJSON_AddItemToArray(a, v))
        cJSON_Delete(v);
}

static void keep_enclosure(item_state *it, const xmlNode *c, const char *url_attr,
                           const char *type_attr, const char *len_attr)
{
    char *url = attr(c, url_attr), *type = attr(c, type_attr), *len = attr(c, len_attr);
    cJSON *a = url ? list(it, meta(it), "enclosures") : NULL;
    cJSON *o = a ? cJSON_CreateObject() : NULL;
    if (o) {
        char *u = resolve(c, url);
        cJSON_AddStringToObject(o, "url", u ? u : url);
        free(u);
        if (type)
            cJSON_AddStringToObject(o, "type", type);
        if (len)
            cJSON_AddStringToObject(o, "length", len);
        if (!cJSON_AddItemToArray(a, o))
            cJSON_Delete(o);
    }
    xmlFree(url);
    xmlFree(type);
    xmlFree(len);
}

static void atom_link(item_state *it, const xmlNode *c)
{
    char *href = attr(c, "href"), *rel = attr(c, "rel");
    if (!href) {   /* a link written as text, not as href: read it so */
        char *t = plain_text(c);
        if (t && t[0]) {
            href = (char *)xmlStrdup((const xmlChar *)t);
        }
        free(t);
    }
    if (href && (!rel || !strcmp(rel, "alternate")))
        offer(it, F_LINK, 0, resolve(c, href));
    else if (href && rel && !strcmp(rel, "enclosure"))
        keep_enclosure(it, c, "href", "type", "length");
    xmlFree(href);
    xmlFree(rel);
}

static void rss_guid(item_state *it, const xmlNode *c)
{
    char *perm = attr(c, "isPermaLink"), *t = plain_text(c);
    if (!t) {
        xmlFree(perm);
        it->nomem = 1;
        return;
    }
    int explicit_yes = perm && !strcasecmp(perm, "true");
    int opaque = perm && !explicit_yes;
    int url = !strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8);
    if (!opaque && (explicit_yes || url)) {
        offer(it, F_LINK, 2, resolve(c, t));
        offer(it, F_ID, 0, resolve(c, t));
        free(t);
    } else {
        offer(it, F_ID, 0, t);
    }
    xmlFree(perm);
}

static void author(item_state *it, const xmlNode *c, int atom)
{
    char *t = NULL;
    if (atom) {
        for (const xmlNode *k = c->children; k && !t; k = k->next)
            if (named(k, "name"))
                t = plain_text(k);
    }
    if (!t)
        t = plain_text(c);
    add_string(it, list(it, meta(it), "author"), t);
    free(t);
}

static void category(item_state *it, const xmlNode *c)
{
    char *term = attr(c, "term");
    char *t = term ? strdup(term) : plain_text(c);
    xmlFree(term);
    add_string(it, list(it, meta(it), "categories"), t);
    free(t);
}

/* One direct child of the item. */
static void child(item_state *it, const xmlNode *c, const xmlNode *item)
{
    const char *l = (const char *)c->name;
    int fam = family(c, item);
    int atom_item = is_atom_ns(ns_of(item));
    char key[200];
    switch (fam) {
    case FAM_CORE:
    case FAM_ATOM: {
        int atomic = fam == FAM_ATOM || atom_item;
        if (!strcmp(l, "title"))
            offer(it, F_TITLE, 0, atomic ? atom_text(c, 0) : rss_text(c));
        else if (!strcmp(l, "link")) {
            char *href = attr(c, "href");
            if (href || atomic)
                atom_link(it, c);
            else {
                char *t = plain_text(c);
                if (t)
                    offer(it, F_LINK, 0, resolve(c, t));
                free(t);
            }
            xmlFree(href);
        } else if (!strcmp(l, "guid"))
            rss_guid(it, c);
        else if (!strcmp(l, "id")) {
            char *t = plain_text(c);
            if (t)
                offer(it, F_ID, 0, resolve(c, t));
            free(t);
        } else if (!strcmp(l, "content"))
            offer(it, F_BODY, 1, atomic ? atom_text(c, 1) : rss_text(c));
        else if (!strcmp(l, "body") || !strcmp(l, "fullitem"))
            offer(it, F_BODY, 2, rss_text(c));
        else if (!strcmp(l, "description") || !strcmp(l, "summary"))
            offer(it, F_BODY, 3, atomic ? atom_text(c, 0) : rss_text(c));
        else if (!strcmp(l, "pubDate") || !strcmp(l, "published") || !strcmp(l, "issued"))
            offer(it, F_PUBLISHED, 0, plain_text(c));
        else if (!strcmp(l, "updated") || !strcmp(l, "modified"))
            offer(it, F_PUBLISHED, 3, plain_text(c));
        else if (!strcmp(l, "category"))
            category(it, c);
        else if (!strcmp(l, "author"))
            author(it, c, atomic);
        else if (!strcmp(l, "enclosure"))
            keep_enclosure(it, c, "url", "type", "length");
        else
            keep_ext(it, c, l);
        break;
    }
    case FAM_CONTENT:
        if (!strcmp(l, "encoded")) {
            offer(it, F_BODY, 0, rss_text(c));
        } else {
            qname(c, c->ns, key, sizeof key);
            keep_ext(it, c, key);
        }
        break;
    case FAM_XHTML:
        if (!strcmp(l, "body") || !strcmp(l, "div")) {
            offer(it, F_BODY, 2, cdi_xhtml_to_text(c));
        } else {
            qname(c, c->ns, key, sizeof key);
            keep_ext(it, c, key);
        }
        break;
    case FAM_DC:
    case FAM_DCTERMS:
        if (fam == FAM_DC && !strcmp(l, "title"))
            offer(it, F_TITLE, 1, rss_text(c));
        else if (fam == FAM_DC && !strcmp(l, "description"))
            offer(it, F_BODY, 4, rss_text(c));
        else if (fam == FAM_DC && !strcmp(l, "identifier")) {
            char *t = plain_text(c);
            if (t)
                offer(it, F_ID, 2, t);
        } else if (fam == FAM_DC && !strcmp(l, "date"))
            offer(it, F_PUBLISHED, 1, plain_text(c));
        else if (fam == FAM_DCTERMS && (!strcmp(l, "issued") || !strcmp(l, "created")))
            offer(it, F_PUBLISHED, 2, plain_text(c));
        else if (fam == FAM_DCTERMS && !strcmp(l, "modified"))
            offer(it, F_PUBLISHED, 4, plain_text(c));
        if (fam == FAM_DC && !strcmp(l, "creator"))
            author(it, c, 0);
        if (fam == FAM_DC && !strcmp(l, "subject"))
            category(it, c);
        qname(c, c->ns, key, sizeof key);
        keep_ext(it, c, key);
        break;
    default:
        qname(c, c->ns, key, sizeof key);
        keep_ext(it, c, key);
        break;
    }
}

static void emit(xml_state *s, const xmlNode *item)
{
    item_state it = { 0 };
    for (int f = 0; f < F_COUNT; f++)
        it.rank[f] = NO_RANK;
    for (const xmlNode *c = item->children; c && !it.nomem; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            child(&it, c, item);
    xmlChar *about = xmlGetNsProp(item, (const xmlChar *)"about", (const xmlChar *)NS_RDF);
    if (about) {
        offer(&it, F_ID, 1, resolve(item, (const char *)about));
        xmlFree(about);
    }
    char *meta_json = it.meta ? cJSON_PrintUnformatted(it.meta) : NULL;
    if (it.meta && !meta_json)
        it.nomem = 1;
    cd_feed_item fi = { 0 };
    fi.title = it.val[F_TITLE];
    fi.body = it.val[F_BODY];
    fi.link = it.val[F_LINK];
    fi.published = it.val[F_PUBLISHED];
    fi.meta_json = meta_json;
    fi.line = xmlGetLineNo(item);
    fi.index = s->items + 1;
    fi.id = it.val[F_ID];
    char idbuf[CD_FEED_ID_SIZE];
    if (!fi.id)
        fi.id = fi.link ? fi.link : fi.title;
    if (!fi.id && (fi.body || fi.published || fi.meta_json)) {
        cdi_feed_content_id(s->feed_key, &fi, idbuf);
        fi.id = idbuf;
    }
    if (it.nomem) {
        s->nomem = 1;
    } else if (fi.id) {
        s->items++;
        if (s->fn(s->ud, &fi))
            s->stopped = 1;
    }
    for (int f = 0; f < F_COUNT; f++)
        free(it.val[f]);
    cJSON_Delete(it.meta);
    cJSON_free(meta_json);
}

static int is_item(const xmlNode *n)
{
    if (n->type != XML_ELEMENT_NODE)
        return 0;
    const char *u = ns_of(n);
    return (!strcmp((const char *)n->name, "item") && is_rss_ns(u)) ||
           (!strcmp((const char *)n->name, "entry") && is_atom_ns(u));
}

/* The feed's own name for itself: Atom feed id, else the channel's link. */
static char *feed_key(const xmlNode *root)
{
    const xmlNode *channel = root;
    if (!named(root, "channel"))
        for (const xmlNode *c = root->children; c; c = c->next)
            if (named(c, "channel")) {
                channel = c;
                break;
            }
    for (const xmlNode *c = channel->children; c; c = c->next) {
        if (named(c, "id") && is_atom_ns(ns_of(c)))
            return plain_text(c);
        if (named(c, "link") && is_rss_ns(ns_of(c)) && !c->properties)
            return plain_text(c);
    }
    return NULL;
}

static void walk(xml_state *s, const xmlNode *root)
{
    const xmlNode *n = root;
    while (n && !s->stopped && !s->nomem) {
        if (is_item(n)) {
            emit(s, n);
        } else if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
}

static int is_feed_root(const xmlNode *r)
{
    const char *l = (const char *)r->name;
    return !strcmp(l, "rss") || !strcmp(l, "RDF") || !strcmp(l, "feed") ||
           !strcmp(l, "channel") || !strcmp(l, "rdf");
}

static void on_error(void *ud, xmlErrorPtr e)
{
    (void)ud;
    xmlParserCtxtPtr ctxt = e ? e->ctxt : NULL;
    xml_state *s = ctxt ? ctxt->_private : NULL;
    if (!s || s->first_error[0] || e->level == XML_ERR_NONE)
        return;
    char msg[200];
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "malformed XML");
    size_t k = strlen(msg);
    while (k && (msg[k - 1] == '\n' || msg[k - 1] == ' '))
        msg[--k] = '\0';
    snprintf(s->first_error, sizeof s->first_error, "line %d: %s (recovered)", e->line, msg);
}

cd_status cdi_feed_parse_xml(const char *doc, size_t len, const cd_feed_opts *opts,
                             cd_feed_item_fn fn, void *ud, size_t *nitems,
                             cd_error *warn, cd_error *err)
{
    static const cd_feed_opts none = { 0 };
    if (!opts)
        opts = &none;
    if (nitems)
        *nitems = 0;
    if (warn)
        warn->code = CD_OK, warn->msg[0] = '\0';
    cdi_xml_init();
    char repaired[300];
    size_t dlen = 0;
    char *text = cdi_feed_decode(doc, len, opts->content_type, &dlen, repaired, sizeof repaired);
    if (!text)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (dlen > INT_MAX) {
        free(text);
        return cd_error_set(err, CD_ERR_LIMIT, "feed larger than 2 GB");
    }
    xml_state s = { .opts = opts, .fn = fn, .ud = ud };
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        free(text);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    ctxt->_private = &s;
    ctxt->sax->serror = on_error;
    /* RECOVER: go on after errors; NONET: nothing fetched.  Neither NOENT
     * (entities are never substituted) nor DTDLOAD; HUGE stays off. */
    xmlDocPtr d = xmlCtxtReadMemory(ctxt, text, (int)dlen, opts->url, "UTF-8",
                                    XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
                                    XML_PARSE_IGNORE_ENC);
    free(text);
    const xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
    cd_status st = CD_OK;
    if (!root || !is_feed_root(root)) {
        if (root)
            st = cd_error_set(err, CD_ERR_FORMAT, CD_FEED_NOT_A_FEED " (the root element is <%s>)",
                              (const char *)root->name);
        else
            st = cd_error_set(err, CD_ERR_FORMAT, CD_FEED_NOT_A_FEED "%s%s",
                              s.first_error[0] ? ": " : "", s.first_error);
    } else {
        s.feed_key = feed_key(root);
        if (!s.feed_key && opts->url)
            s.feed_key = strdup(opts->url);
        walk(&s, root);
        if (s.nomem)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        const char *w = repaired[0] ? repaired : s.first_error;
        if (warn && w[0])
            cd_error_set(warn, CD_ERR_FORMAT, "%s", w);
    }
    if (nitems)
        *nitems = s.items;
    free(s.feed_key);
    xmlFreeDoc(d);
    xmlFreeParserCtxt(ctxt);
    return st;
}
