/*
 * test_feed.c - feed parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed, JSON
 * lines) as feeds arrive in the wild: encodings, repairs, HTML to text,
 * namespaces, links, items without ids; items to stories; and the
 * remembered ids of core/live/seen.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "story/feed.h"
#include "live/seen.h"
#include "support.h"

typedef struct got {
    char ids[8][128], titles[8][128], bodies[8][256], links[8][128], meta[8][512];
    size_t n;
    size_t stop_after;
} got;

static void copy(char *dst, const char *s)
{
    snprintf(dst, 128, "%s", s ? s : "(null)");
}

static int collect(void *ud, const cd_feed_item *it)
{
    got *g = ud;
    if (g->n < 8) {
        copy(g->ids[g->n], it->id);
        copy(g->titles[g->n], it->title);
        snprintf(g->bodies[g->n], 256, "%s", it->body ? it->body : "(null)");
        copy(g->links[g->n], it->link);
        snprintf(g->meta[g->n], 512, "%s", it->meta_json ? it->meta_json : "(null)");
    }
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static void test_rss(void **state)
{
    (void)state;
    const char *doc =
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" "
        "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel>"
        "<title>Channel title is not an item</title>"
        "<item><title>One &amp; only</title><guid>g-1</guid><link>http://x/1</link>"
        "<description>&lt;p&gt;Short &lt;b&gt;bold&lt;/b&gt;&lt;/p&gt;</description>"
        "<content:encoded><![CDATA[<p>Full <i>text</i> here</p>]]></content:encoded></item>"
        "<item><title>No guid</title><link>http://x/2</link><description>plain</description></item>"
        "<item><description>no id at all: known by its content</description></item>"
        "<item> </item>"
        "</channel></rss>";
    got g = { 0 };
    size_t n;
    cd_error e, w;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, &n, &w, &e), CD_OK);
    assert_int_equal(w.code, CD_OK);   /* nothing to repair */
    assert_int_equal(n, 3);            /* the empty item alone is skipped */
    assert_string_equal(g.ids[0], "g-1");
    assert_string_equal(g.titles[0], "One & only");
    assert_string_equal(g.bodies[0], "Full text here");   /* content:encoded wins */
    assert_string_equal(g.links[0], "http://x/1");
    assert_string_equal(g.ids[1], "http://x/2");          /* known by its link */
    assert_string_equal(g.bodies[1], "plain");
    assert_memory_equal(g.ids[2], "urn:copydesk:item:", 18);
    assert_int_equal(strlen(g.ids[2]), 18 + 32);
    assert_string_equal(g.titles[2], "(null)");
}

static void test_atom(void **state)
{
    (void)state;
    const char *doc =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>feed-id</id>"
        "<entry><id>urn:1</id><title type=\"html\">A &lt;em&gt;title&lt;/em&gt;</title>"
        "<link rel=\"self\" href=\"http://x/self\"/><link href=\"http://x/alt\"/>"
        "<summary>sum</summary><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">"
        "<p>para <b>one</b></p><p>two</p></div></content></entry></feed>";
    got g = { 0 };
    cd_error e;
    cd_feed_opts o = { .format = "atom" };
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), &o, collect, &g, NULL, NULL, &e), CD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "urn:1");
    assert_string_equal(g.titles[0], "A title");
    assert_string_equal(g.links[0], "http://x/alt");
    assert_string_equal(g.bodies[0], "para one\n\ntwo");   /* block elements: paragraphs */
}

static void test_xml_recovery_and_stop(void **state)
{
    (void)state;
    /* a mismatched tag and a truncated document: the items around the
     * error are kept, and a warning says where */
    const char *bad = "<rss><channel><item><guid>a</guid></item>\n<item><guid>b</guid><title>T</b></item>\n"
                      "<item><guid>c</guid></item></channel>";
    got g = { 0 };
    cd_error e, w;
    assert_int_equal(cdi_feed_parse(bad, strlen(bad), NULL, collect, &g, NULL, &w, &e), CD_OK);
    assert_int_equal(w.code, CD_ERR_FORMAT);
    assert_non_null(strstr(w.msg, "line 2"));
    assert_int_equal(g.n, 3);
    assert_string_equal(g.ids[2], "c");
    const char *two = "<rss><channel><item><guid>a</guid></item><item><guid>b</guid></item></channel></rss>";
    got s = { .stop_after = 1 };
    assert_int_equal(cdi_feed_parse(two, strlen(two), NULL, collect, &s, NULL, NULL, &e), CD_OK);
    assert_int_equal(s.n, 1);
    /* entity declarations are ignored, never expanded: the billion laughs
     * stay one short undefined reference, kept as text */
    const char *lol = "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
                      "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
                      "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]>"
                      "<rss><channel><item><guid>x</guid><title>&g; and &a;</title></item></channel></rss>";
    got l = { 0 };
    assert_int_equal(cdi_feed_parse(lol, strlen(lol), NULL, collect, &l, NULL, &w, &e), CD_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.titles[0], "&g; and &a;");
    assert_non_null(strstr(w.msg, "DOCTYPE"));
    /* external entities are never fetched nor read */
    const char *ext = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                      "<rss><channel><item><guid>x</guid><title>a&x;b</title></item></channel></rss>";
    got x = { 0 };
    assert_int_equal(cdi_feed_parse(ext, strlen(ext), NULL, collect, &x, NULL, NULL, &e), CD_OK);
    assert_string_equal(x.titles[0], "a&x;b");
    /* not a feed at all */
    assert_int_equal(cdi_feed_parse("<html><p>x</p></html>", 21, NULL, collect, &x, NULL, NULL, &e),
                     CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "not an RSS or Atom feed"));
}

/* Encodings as browsers read them. */
static void test_encodings(void **state)
{
    (void)state;
    cd_error e, w;
    /* windows-1252 bytes in a document declared ISO-8859-1 */
    const char *latin = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss><channel><item>"
                        "<title>don\x92t \x93test.\x94 caf\xe9</title></item></channel></rss>";
    got g = { 0 };
    assert_int_equal(cdi_feed_parse(latin, strlen(latin), NULL, collect, &g, NULL, &w, &e), CD_OK);
    assert_string_equal(g.titles[0], "don\u2019t \u201ctest.\u201d caf\u00e9");
    assert_int_equal(w.code, CD_OK);
    /* windows-1252 declared outright, and euc-kr (what expat refused) */
    const char *cp = "<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss><channel><item>"
                     "<title>\x80 5</title></item></channel></rss>";
    got c = { 0 };
    assert_int_equal(cdi_feed_parse(cp, strlen(cp), NULL, collect, &c, NULL, NULL, &e), CD_OK);
    assert_string_equal(c.titles[0], "\u20ac 5");
    const char *kr = "<?xml version=\"1.0\" encoding=\"euc-kr\"?><rss><channel><item>"
                     "<title>\xc7\xd1\xb1\xb9</title></item></channel></rss>";
    got k = { 0 };
    assert_int_equal(cdi_feed_parse(kr, strlen(kr), NULL, collect, &k, NULL, NULL, &e), CD_OK);
    assert_string_equal(k.titles[0], "\ud55c\uad6d");
    /* the HTTP charset wins over the declaration */
    const char *decl = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><channel><item>"
                       "<title>caf\xe9</title></item></channel></rss>";
    cd_feed_opts http = { .content_type = "application/rss+xml; charset=\"ISO-8859-1\"" };
    got h = { 0 };
    assert_int_equal(cdi_feed_parse(decl, strlen(decl), &http, collect, &h, NULL, NULL, &e), CD_OK);
    assert_string_equal(h.titles[0], "caf\u00e9");
    /* ... and bytes invalid in UTF-8 become U+FFFD, with a warning */
    got u = { 0 };
    assert_int_equal(cdi_feed_parse(decl, strlen(decl), NULL, collect, &u, NULL, &w, &e), CD_OK);
    assert_string_equal(u.titles[0], "caf\ufffd");
    assert_int_equal(w.code, CD_ERR_FORMAT);
    /* UTF-16 and UTF-32, with and without a byte order mark */
    static const char u16le[] = "<\0r\0s\0s\0>\0<\0i\0t\0e\0m\0>\0<\0t\0i\0t\0l\0e\0>\0"
                                "\xe9\0\x1c\x20<\0/\0t\0i\0t\0l\0e\0>\0<\0/\0i\0t\0e\0m\0>\0<\0/\0r\0s\0s\0>\0";
    char buf[256];
    size_t n = sizeof u16le - 1;
    for (int variant = 0; variant < 4; variant++) {
        size_t len = 0;
        if (variant == 1 || variant == 3) {   /* with a BOM */
            buf[len++] = variant == 1 ? '\xFF' : '\xFE';
            buf[len++] = variant == 1 ? '\xFE' : '\xFF';
        }
        for (size_t i = 0; i < n; i += 2) {   /* variants 2, 3: big-endian */
            buf[len++] = variant >= 2 ? u16le[i + 1] : u16le[i];
            buf[len++] = variant >= 2 ? u16le[i] : u16le[i + 1];
        }
        got t = { 0 };
        assert_true(cdi_feed_is_xml(buf, len));
        assert_int_equal(cdi_feed_parse(buf, len, NULL, collect, &t, NULL, NULL, &e), CD_OK);
        assert_int_equal(t.n, 1);
        assert_string_equal(t.titles[0], "\u00e9\u201c");
    }
    size_t len = 0;   /* UTF-32 little-endian without a mark */
    for (size_t i = 0; i < n; i += 2) {
        buf[len++] = u16le[i];
        buf[len++] = u16le[i + 1];
        buf[len++] = 0;
        buf[len++] = 0;
    }
    got t = { 0 };
    assert_int_equal(cdi_feed_parse(buf, len, NULL, collect, &t, NULL, NULL, &e), CD_OK);
    assert_string_equal(t.titles[0], "\u00e9\u201c");
    /* an encoding nobody knows is read as UTF-8, with a warning */
    const char *odd = "<?xml version=\"1.0\" encoding=\"x-no-such\"?><rss><item><title>ok</title></item></rss>";
    got o = { 0 };
    assert_int_equal(cdi_feed_parse(odd, strlen(odd), NULL, collect, &o, NULL, &w, &e), CD_OK);
    assert_string_equal(o.titles[0], "ok");
    assert_non_null(strstr(w.msg, "x-no-such"));
}

/* HTML entities, stray '&' and '<', control characters: repaired. */
static void test_repairs(void **state)
{
    (void)state;
    const char *doc = "<rss><channel>\n<item><title>Caf&eacute;&nbsp;society &copy; 2024</title>"
                      "<link>http://x/?a=1&b=2&amp;c=3</link><description>AT&T 5 < 6 &#150; ok\x01</description></item>\n"
                      "<item><title>after</title><guid isPermaLink=\"false\">2</guid></item></channel></rss>";
    got g = { 0 };
    cd_error e, w;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, &w, &e), CD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.titles[0], "Caf\u00e9 society \u00a9 2024");
    assert_string_equal(g.links[0], "http://x/?a=1&b=2&c=3");
    assert_string_equal(g.bodies[0], "AT&T 5 < 6 \u2013 ok");
    assert_string_equal(g.ids[1], "2");
    assert_int_equal(w.code, CD_ERR_FORMAT);
    assert_non_null(strstr(w.msg, "line 2: the HTML entity &eacute;"));
}

/* HTML to text, in RSS and in every Atom text type. */
static void test_html_text(void **state)
{
    (void)state;
    const char *doc =
        "<rss><channel><item><guid>h</guid><title>5 &amp;lt; 6 &amp;amp; &amp;#8217;s</title>"
        "<description>&lt;p&gt;It&amp;#8217;s a caf&amp;eacute;&lt;script&gt;var x = 1;&lt;/script&gt;"
        "&lt;style&gt;p {}&lt;/style&gt; Ex&lt;b&gt;am&lt;/b&gt;ple&lt;/p&gt;&lt;p&gt;Two&lt;br&gt;lines"
        " 5 &amp;lt; 6 and 5 &lt; 6&lt;/p&gt;</description></item>"
        "<item><guid>c</guid><description><![CDATA[<div>In <i>CDATA</i> &amp; <em>ok</em></div>]]></description></item>"
        "</channel></rss>";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_string_equal(g.titles[0], "5 < 6 & \u2019s");
    assert_string_equal(g.bodies[0], "It\u2019s a caf\u00e9 Example\n\nTwo\nlines 5 < 6 and 5 < 6");
    assert_string_equal(g.bodies[1], "In CDATA & ok");
    const char *atom =
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>"
        "<title type=\"text\">Less &lt;b&gt; is text</title>"
        "<content type=\"html\">&lt;p&gt;Ex&lt;b&gt;am&lt;/b&gt;ple&lt;/p&gt;</content></entry>"
        "<entry><id>2</id><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">X<b>Y</b></div></title>"
        "<summary>sum</summary><content src=\"http://x/elsewhere\"/></entry></feed>";
    got a = { 0 };
    assert_int_equal(cdi_feed_parse(atom, strlen(atom), NULL, collect, &a, NULL, NULL, &e), CD_OK);
    assert_string_equal(a.titles[0], "Less <b> is text");
    assert_string_equal(a.bodies[0], "Example");
    assert_string_equal(a.titles[1], "XY");
    assert_string_equal(a.bodies[1], "sum");   /* content elsewhere: the summary */
    /* Atom 0.3: escaped and base64 content */
    const char *a03 =
        "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><id>b</id><title>t</title>"
        "<content type=\"text/html\" mode=\"base64\">PHA+QmFzZSA8Yj42NDwvYj48L3A+</content></entry>"
        "<entry><id>e</id><content type=\"text/html\" mode=\"escaped\">&lt;i&gt;esc&lt;/i&gt;aped</content>"
        "<issued>2004-01-01</issued></entry></feed>";
    got b = { 0 };
    assert_int_equal(cdi_feed_parse(a03, strlen(a03), NULL, collect, &b, NULL, NULL, &e), CD_OK);
    assert_string_equal(b.bodies[0], "Base 64");
    assert_string_equal(b.bodies[1], "escaped");
    const char *html = "<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
                       "&lt;tag&gt; &#x41;&#66; &hellip; &unknown;";
    char *t = cdi_html_to_text(html, strlen(html));
    assert_string_equal(t, "one\ntwo\n\na b\n\n<tag> AB \u2026 &unknown;");
    free(t);
}

/* Namespaces: the body and title in the documented order, extensions as
 * metadata only. */
static void test_namespaces(void **state)
{
    (void)state;
    const char *doc =
        "<rss xmlns:media=\"http://search.yahoo.com/mrss/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\""
        " xmlns:x=\"http://example.com/other\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\""
        " xmlns:xhtml=\"http://www.w3.org/1999/xhtml\"><channel>"
        "<item><guid>before</guid><media:content url=\"http://x/v.mp4\"/><media:title>Caption</media:title>"
        "<title>Real title</title><description>Real body</description><x:description>foreign</x:description></item>"
        "<item><guid>after</guid><title>T2</title><description>Body two</description>"
        "<media:content url=\"http://x/i.jpg\" medium=\"image\"><media:description>Photo caption</media:description>"
        "</media:content><media:title>Caption 2</media:title></item>"
        "<item><guid>pref</guid><dc:title>DC title</dc:title><description>desc</description>"
        "<xhtml:body><xhtml:p>xhtml <xhtml:b>body</xhtml:b></xhtml:p></xhtml:body><dc:creator>Ann</dc:creator></item>"
        "<item><guid>enc</guid><description>desc</description><content:encoded>full text</content:encoded></item>"
        "</channel></rss>";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.titles[0], "Real title");
    assert_string_equal(g.bodies[0], "Real body");
    assert_non_null(strstr(g.meta[0], "\"media:content\":[{\"url\":\"http://x/v.mp4\"}]"));
    assert_non_null(strstr(g.meta[0], "\"media:title\":[\"Caption\"]"));
    assert_non_null(strstr(g.meta[0], "\"x:description\":[\"foreign\"]"));
    assert_string_equal(g.titles[1], "T2");
    assert_string_equal(g.bodies[1], "Body two");
    assert_non_null(strstr(g.meta[1], "Photo caption"));
    assert_string_equal(g.titles[2], "DC title");
    assert_string_equal(g.bodies[2], "xhtml body");   /* xhtml:body before description */
    assert_non_null(strstr(g.meta[2], "\"author\":[\"Ann\"]"));
    assert_string_equal(g.bodies[3], "full text");    /* content:encoded first */
}

/* Links and ids against xml:base and the feed's address; permalinks. */
static void test_links(void **state)
{
    (void)state;
    const char *doc =
        "<rss><channel xml:base=\"http://news.test/world/\">"
        "<item><title>a</title><link>story.html</link><guid isPermaLink=\"false\">opaque-1</guid></item>"
        "<item xml:base=\"/sport/\"><title>b</title><guid>goal.html</guid><guid>ignored</guid></item>"
        "<item><title>c</title><guid>https://news.test/c</guid></item>"
        "<item><title>d</title><guid isPermaLink=\"true\">../d.html</guid></item>"
        "</channel></rss>";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_string_equal(g.links[0], "http://news.test/world/story.html");
    assert_string_equal(g.ids[0], "opaque-1");
    assert_string_equal(g.links[1], "(null)");   /* no isPermaLink, not a URL: a name */
    assert_string_equal(g.ids[1], "goal.html");
    assert_string_equal(g.links[2], "https://news.test/c");   /* the permalink is the link */
    assert_string_equal(g.links[3], "http://news.test/d.html");
    assert_string_equal(g.ids[3], "http://news.test/d.html");
    const char *atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>e1</id><title>x</title>"
                       "<link rel=\"enclosure\" href=\"pod.mp3\"/><link href=\"../e1.html\"/></entry></feed>";
    got a = { 0 };
    cd_feed_opts o = { .url = "http://feeds.test/a/b/atom.xml" };
    assert_int_equal(cdi_feed_parse(atom, strlen(atom), &o, collect, &a, NULL, NULL, &e), CD_OK);
    assert_string_equal(a.links[0], "http://feeds.test/a/e1.html");
    assert_string_equal(a.ids[0], "http://feeds.test/a/b/e1");
    assert_non_null(strstr(a.meta[0], "\"enclosures\":[{\"url\":\"http://feeds.test/a/b/pod.mp3\""));
    const char *text_link = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>t</id>"
                            "<link rel=\"enclosure\">http://x/enc</link><link rel=\"alternate\">http://x/alt</link>"
                            "</entry></feed>";   /* links written as text, not href */
    got t = { 0 };
    assert_int_equal(cdi_feed_parse(text_link, strlen(text_link), NULL, collect, &t, NULL, NULL, &e), CD_OK);
    assert_string_equal(t.links[0], "http://x/alt");
}

/* Items without guid, id, link or title are kept, with stable ids. */
static void test_items_without_ids(void **state)
{
    (void)state;
    const char *rdf =
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">"
        "<channel rdf:about=\"http://x/\"><title>c</title><link>http://x/</link></channel>"
        "<item rdf:about=\"http://x/only-about\"><description>Only about</description></item>"
        "<item><description>Nothing but a description</description></item></rdf:RDF>";
    got g = { 0 }, again = { 0 }, other = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(rdf, strlen(rdf), NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.ids[0], "http://x/only-about");
    assert_string_equal(g.bodies[0], "Only about");
    assert_memory_equal(g.ids[1], "urn:copydesk:item:", 18);
    assert_string_equal(g.bodies[1], "Nothing but a description");
    assert_int_equal(cdi_feed_parse(rdf, strlen(rdf), NULL, collect, &again, NULL, NULL, &e), CD_OK);
    assert_string_equal(again.ids[1], g.ids[1]);   /* stable */
    char *moved = strdup(rdf);   /* the same item in another feed: another id */
    memcpy(strstr(moved, "<link>http://x/") + 13, "y", 1);
    assert_int_equal(cdi_feed_parse(moved, strlen(moved), NULL, collect, &other, NULL, NULL, &e), CD_OK);
    assert_string_not_equal(other.ids[1], g.ids[1]);
    free(moved);
}

static void test_jsonfeed(void **state)
{
    (void)state;
    const char *doc = "{\"version\":\"https://jsonfeed.org/version/1\",\"items\":["
                      "{\"id\":\"j1\",\"title\":\"T\",\"content_html\":\"<p>x &amp; y</p>\",\"url\":\"http://x/j\"},"
                      "{\"id\":42,\"content_text\":\"numeric id\"},"
                      "{\"title\":\"no id, no url: by title\"}, 5]}";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.bodies[0], "x & y");
    assert_string_equal(g.links[0], "http://x/j");
    assert_string_equal(g.ids[1], "42");
    assert_string_equal(g.ids[2], "no id, no url: by title");
    cd_feed_opts jf = { .format = "jsonfeed" };
    assert_int_equal(cdi_feed_parse("{\"items\":", 9, &jf, collect, &g, NULL, NULL, &e),
                     CD_ERR_FORMAT);
    const char *rel = "{\"items\":[{\"id\":\"r\",\"url\":\"../p/1\"}]}";
    cd_feed_opts at = { .url = "http://j.test/feeds/f.json" };
    got r = { 0 };
    assert_int_equal(cdi_feed_parse(rel, strlen(rel), &at, collect, &r, NULL, NULL, &e), CD_OK);
    assert_string_equal(r.links[0], "http://j.test/p/1");
    const char *noid = "{\"items\":[{\"content_text\":\"only text\"}]}";
    got n = { 0 };
    assert_int_equal(cdi_feed_parse(noid, strlen(noid), NULL, collect, &n, NULL, NULL, &e), CD_OK);
    assert_int_equal(n.n, 1);
    assert_memory_equal(n.ids[0], "urn:copydesk:item:", 18);
}

static void test_jsonl_and_story(void **state)
{
    (void)state;
    const char *doc = "{\"id\":\"a\",\"title\":\"A\",\"body\":\"b\",\"section\":\"s\"}\n"
                      "not json\n\n{\"title\":\"no id\"}\n";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cdi_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, NULL, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "line 2"));
    assert_int_equal(g.n, 2);   /* the bad line does not stop the others */
    assert_string_equal(g.ids[1], "no id");   /* known by its title */
    cd_feed_item it = { .id = "no id", .json = "{\"title\":\"no id\"}", .json_len = 17 };
    cd_story s;
    assert_int_equal(cdi_feed_item_story(&it, "f", "feed:f", &s, &e), CD_OK);
    assert_string_equal(s.id, "no id");
    assert_string_equal(s.title, "no id");
    cd_story_clear(&s);
    cd_feed_item rss = { .id = "g", .title = "T", .body = "B", .link = "http://l" };
    assert_int_equal(cdi_feed_item_story(&rss, "wire", "feed:wire", &s, &e), CD_OK);
    assert_string_equal(s.id, "g");
    assert_string_equal(s.body, "B");
    assert_non_null(strstr(s.meta_json, "\"feed\":\"wire\""));
    assert_non_null(strstr(s.meta_json, "\"link\":\"http://l\""));
    cd_story_clear(&s);
    cd_feed_item media = { .id = "m", .meta_json = "{\"ext\":{\"media:title\":[\"cap\"]},\"title\":\"no\"}" };
    assert_int_equal(cdi_feed_item_story(&media, "wire", "feed:wire", &s, &e), CD_OK);
    assert_string_equal(s.title, "");   /* metadata never becomes the text */
    assert_non_null(strstr(s.meta_json, "\"ext\":{\"media:title\":[\"cap\"]}"));
    cd_story_clear(&s);
    assert_int_equal(cdi_feed_parse("  \n", 3, NULL, collect, &g, NULL, NULL, &e), CD_OK);
    assert_int_equal(cdi_feed_parse("hello", 5, NULL, collect, &g, NULL, NULL, &e), CD_ERR_FORMAT);
}

/* A JSON lines feed (lines or an array) whose items carry no id: each item
 * keeps its id when the feed puts a new one on top, so that watch routes
 * the new one and not the old ones again: known by url (or link), else
 * title (or headline), else an id made from the whole object, never by
 * its place. */
static void test_jsonl_ids_survive_a_new_item(void **state)
{
    (void)state;
    const char *items[] = {
        "{\"url\":\"http://w.test/1\",\"title\":\"By url\"}",
        "{\"link\":\"http://w.test/2\",\"body\":\"by link\"}",
        "{\"title\":\"By title\",\"body\":\"x\"}",
        "{\"headline\":\"By headline\"}",
        "{\"body\":\"Nothing but a body.\"}",
        "{\"body\":\"Another body.\", \"section\":\"s\"}",
    };
    const char *fresh = "{\"body\":\"A new story on top.\"}";
    cd_feed_opts jl = { .format = "jsonl", .url = "http://w.test/wire.jsonl" };
    for (int array = 0; array < 2; array++) {
        char before[1024] = "", after[1024] = "";
        strcat(before, array ? "[" : "");
        strcat(after, array ? "[" : "");
        strcat(after, fresh);
        strcat(after, array ? "," : "\n");
        for (size_t i = 0; i < 6; i++) {
            const char *sep = array ? (i < 5 ? "," : "]") : "\n";
            strcat(before, items[i]);
            strcat(before, sep);
            strcat(after, items[i]);
            strcat(after, sep);
        }
        got a = { 0 }, b = { 0 };
        cd_error e;
        assert_int_equal(cdi_feed_parse(before, strlen(before), &jl, collect, &a, NULL, NULL, &e),
                         CD_OK);
        assert_int_equal(cdi_feed_parse(after, strlen(after), &jl, collect, &b, NULL, NULL, &e),
                         CD_OK);
        assert_int_equal(a.n, 6);
        assert_int_equal(b.n, 7);
        for (size_t i = 0; i < 6; i++)
            assert_string_equal(a.ids[i], b.ids[i + 1]);   /* the same item, the same id */
        for (size_t i = 0; i < 6; i++)
            assert_string_not_equal(b.ids[0], a.ids[i]);   /* the new one is new */
        assert_string_equal(a.ids[0], "http://w.test/1");
        assert_string_equal(a.ids[1], "http://w.test/2");
        assert_string_equal(a.ids[2], "By title");
        assert_string_equal(a.ids[3], "By headline");
        assert_string_equal(a.titles[3], "By headline");
        assert_memory_equal(a.ids[4], "urn:copydesk:item:", 18);
        assert_memory_equal(a.ids[5], "urn:copydesk:item:", 18);
        assert_string_not_equal(a.ids[4], a.ids[5]);
    }
    /* spacing does not change an id made from the object */
    got x = { 0 }, y = { 0 };
    cd_error e;
    const char *spaced = "{ \"body\" : \"Nothing but a body.\" }\n";
    assert_int_equal(cdi_feed_parse(items[4], strlen(items[4]), &jl, collect, &x, NULL, NULL, &e),
                     CD_OK);
    assert_int_equal(cdi_feed_parse(spaced, strlen(spaced), &jl, collect, &y, NULL, NULL, &e),
                     CD_OK);
    assert_string_equal(x.ids[0], y.ids[0]);
}

typedef struct stories {
    char ids[4][128], titles[4][128], sources[4][128], meta[4][512];
    size_t n;
} stories;

static int take_story(void *ud, cd_story *s)
{
    stories *t = ud;
    if (t->n < 4) {
        snprintf(t->ids[t->n], 128, "%s", s->id);
        snprintf(t->titles[t->n], 128, "%s", s->title);
        snprintf(t->sources[t->n], 128, "%s", s->source);
        snprintf(t->meta[t->n], 512, "%s", s->meta_json);
    }
    t->n++;
    cd_story_clear(s);
    return 0;
}

/* The entry point for a document in memory (the HTTP service's): the
 * same readers, the HTTP charset, the base address, the feed's name. */
static void test_stories_from_feed(void **state)
{
    (void)state;
    const char *doc = "<rss><channel><item><title>Caf\xe9&nbsp;x</title><link>a/1</link></item>"
                      "<item><description>no id</description></item></channel></rss>";
    cd_feed_source src = { .url = "http://wire.test/feeds/rss", .name = "wire",
                           .content_type = "text/xml; charset=iso-8859-1" };
    stories t = { 0 };
    size_t n = 0;
    cd_error w, e;
    assert_int_equal(cd_stories_from_feed(doc, strlen(doc), &src, take_story, &t, &n, &w, &e), CD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.ids[0], "http://wire.test/feeds/a/1");
    assert_string_equal(t.titles[0], "Caf\u00e9 x");
    assert_string_equal(t.sources[0], "http://wire.test/feeds/rss");
    assert_non_null(strstr(t.meta[0], "\"feed\":\"wire\""));
    assert_memory_equal(t.ids[1], "urn:copydesk:item:", 18);
    assert_int_equal(w.code, CD_ERR_FORMAT);   /* &nbsp; */
    stories u = { 0 };
    assert_int_equal(cd_stories_from_feed("<x/>", 4, NULL, take_story, &u, NULL, NULL, &e), CD_ERR_FORMAT);
    assert_int_equal(u.n, 0);
}

static void test_seen(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/x.seen", dir);
    cd_seen *s;
    cd_error e;
    assert_int_equal(cdi_seen_open(path, 4, &s, &e), CD_OK);
    assert_false(cdi_seen_has(s, "a"));
    assert_int_equal(cdi_seen_add(s, "a", &e), CD_OK);
    assert_int_equal(cdi_seen_add(s, "a", &e), CD_OK);
    assert_int_equal(cdi_seen_add(s, "b\nwith newline", &e), CD_OK);
    assert_true(cdi_seen_has(s, "a"));
    assert_int_equal(cdi_seen_count(s), 2);
    cdi_seen_free(s);
    FILE *f = fopen(path, "a");   /* a torn line, as after a kill mid-append */
    fputs("01234", f);
    fclose(f);
    assert_int_equal(cdi_seen_open(path, 4, &s, &e), CD_OK);
    assert_true(cdi_seen_has(s, "a"));
    assert_true(cdi_seen_has(s, "b\nwith newline"));
    assert_int_equal(cdi_seen_count(s), 2);
    /* a poll that serves 20 ids, among them "a": with keep 4, every id
     * the feed still serves is remembered, however many */
    cdi_seen_poll_begin(s);
    assert_true(cdi_seen_served(s, "a"));
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "id-%d", i);
        assert_int_equal(cdi_seen_add(s, id, &e), CD_OK);
    }
    assert_int_equal(cdi_seen_poll_end(s, &e), CD_OK);
    assert_int_equal(cdi_seen_count(s), 21);    /* "b..." was not served: forgotten */
    assert_true(cdi_seen_has(s, "a"));
    assert_false(cdi_seen_has(s, "b\nwith newline"));
    /* the next poll serves only the last two: the others are forgotten,
     * oldest first, down to keep */
    cdi_seen_poll_begin(s);
    assert_true(cdi_seen_served(s, "id-18"));
    assert_true(cdi_seen_served(s, "id-19"));
    assert_int_equal(cdi_seen_poll_end(s, &e), CD_OK);
    assert_int_equal(cdi_seen_count(s), 4);
    assert_true(cdi_seen_has(s, "id-19"));
    assert_true(cdi_seen_has(s, "id-17"));
    assert_false(cdi_seen_has(s, "a"));
    cdi_seen_free(s);
    assert_int_equal(cdi_seen_open(path, 4, &s, &e), CD_OK);
    assert_true(cdi_seen_has(s, "id-19"));
    assert_true(cdi_seen_has(s, "id-16"));
    assert_int_equal(cdi_seen_count(s), 4);
    cdi_seen_free(s);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rss),
        cmocka_unit_test(test_atom),
        cmocka_unit_test(test_xml_recovery_and_stop),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_repairs),
        cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_items_without_ids),
        cmocka_unit_test(test_stories_from_feed),
        cmocka_unit_test(test_jsonfeed),
        cmocka_unit_test(test_jsonl_and_story),
        cmocka_unit_test(test_jsonl_ids_survive_a_new_item),
        cmocka_unit_test(test_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
