/*
 * test_feed.c - feed parsing (RSS 2.0, Atom, JSON Feed, JSON lines), HTML
 * to text, items to stories, and the remembered ids of core/live/seen.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/feed.h"
#include "live/seen.h"
#include "support.h"

typedef struct got {
    char ids[8][128], titles[8][128], bodies[8][256], links[8][128];
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
        "<item><description>no id at all: skipped</description></item>"
        "</channel></rss>";
    got g = { 0 };
    size_t n;
    cd_error e;
    assert_int_equal(cd_feed_parse(doc, strlen(doc), NULL, collect, &g, &n, &e), CD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(g.ids[0], "g-1");
    assert_string_equal(g.titles[0], "One & only");
    assert_string_equal(g.bodies[0], "Full text here");   /* content:encoded wins */
    assert_string_equal(g.links[0], "http://x/1");
    assert_string_equal(g.ids[1], "http://x/2");          /* known by its link */
    assert_string_equal(g.bodies[1], "plain");
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
    assert_int_equal(cd_feed_parse(doc, strlen(doc), "atom", collect, &g, NULL, &e), CD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "urn:1");
    assert_string_equal(g.titles[0], "A title");
    assert_string_equal(g.links[0], "http://x/alt");
    assert_string_equal(g.bodies[0], "para one two");
}

static void test_xml_errors_and_stop(void **state)
{
    (void)state;
    const char *bad = "<rss><channel><item><guid>a</guid></item>\n<item><guid>b</guid></channel>";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cd_feed_parse(bad, strlen(bad), NULL, collect, &g, NULL, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "line 2"));
    assert_int_equal(g.n, 1);   /* the items before the error were given */
    const char *two = "<rss><channel><item><guid>a</guid></item><item><guid>b</guid></item></channel></rss>";
    got s = { .stop_after = 1 };
    assert_int_equal(cd_feed_parse(two, strlen(two), NULL, collect, &s, NULL, &e), CD_OK);
    assert_int_equal(s.n, 1);
    /* entity expansion attacks are refused by expat, not expanded */
    const char *lol = "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
                      "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
                      "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]>"
                      "<rss><channel><item><guid>x</guid><title>&g;</title></item></channel></rss>";
    got l = { 0 };
    assert_int_equal(cd_feed_parse(lol, strlen(lol), NULL, collect, &l, NULL, &e), CD_ERR_FORMAT);
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
    assert_int_equal(cd_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, &e), CD_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.bodies[0], "x & y");
    assert_string_equal(g.links[0], "http://x/j");
    assert_string_equal(g.ids[1], "42");
    assert_string_equal(g.ids[2], "no id, no url: by title");
    assert_int_equal(cd_feed_parse("{\"items\":", 9, "jsonfeed", collect, &g, NULL, &e),
                     CD_ERR_FORMAT);
}

static void test_jsonl_and_story(void **state)
{
    (void)state;
    const char *doc = "{\"id\":\"a\",\"title\":\"A\",\"body\":\"b\",\"section\":\"s\"}\n"
                      "not json\n\n{\"title\":\"no id\"}\n";
    got g = { 0 };
    cd_error e;
    assert_int_equal(cd_feed_parse(doc, strlen(doc), NULL, collect, &g, NULL, &e), CD_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "line 2"));
    assert_int_equal(g.n, 2);   /* the bad line does not stop the others */
    assert_string_equal(g.ids[1], "line-4");
    cd_feed_item it = { .id = "line-4", .json = "{\"title\":\"no id\"}", .json_len = 17 };
    cd_story s;
    assert_int_equal(cd_feed_item_story(&it, "f", "feed:f", &s, &e), CD_OK);
    assert_string_equal(s.id, "line-4");
    assert_string_equal(s.title, "no id");
    cd_story_clear(&s);
    cd_feed_item rss = { .id = "g", .title = "T", .body = "B", .link = "http://l" };
    assert_int_equal(cd_feed_item_story(&rss, "wire", "feed:wire", &s, &e), CD_OK);
    assert_string_equal(s.id, "g");
    assert_string_equal(s.body, "B");
    assert_non_null(strstr(s.meta_json, "\"feed\":\"wire\""));
    assert_non_null(strstr(s.meta_json, "\"link\":\"http://l\""));
    cd_story_clear(&s);
    assert_int_equal(cd_feed_parse("  \n", 3, NULL, collect, &g, NULL, &e), CD_OK);
    assert_int_equal(cd_feed_parse("hello", 5, NULL, collect, &g, NULL, &e), CD_ERR_FORMAT);
}

static void test_strip_html(void **state)
{
    (void)state;
    char s[] = "  <p>a&nbsp;&lt;b&gt;</p>\n\n<br/>c &amp; d &unknown; 1 < 2  ";
    cd_feed_strip_html(s);
    assert_string_equal(s, "a <b> c & d &unknown; 1 < 2");
}

static void test_seen(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/x.seen", dir);
    cd_seen *s;
    cd_error e;
    assert_int_equal(cd_seen_open(path, 4, &s, &e), CD_OK);
    assert_false(cd_seen_has(s, "a"));
    assert_int_equal(cd_seen_add(s, "a", &e), CD_OK);
    assert_int_equal(cd_seen_add(s, "a", &e), CD_OK);
    assert_int_equal(cd_seen_add(s, "b\nwith newline", &e), CD_OK);
    assert_true(cd_seen_has(s, "a"));
    assert_int_equal(cd_seen_count(s), 2);
    cd_seen_free(s);
    FILE *f = fopen(path, "a");   /* a torn line, as after a kill mid-append */
    fputs("01234", f);
    fclose(f);
    assert_int_equal(cd_seen_open(path, 4, &s, &e), CD_OK);
    assert_true(cd_seen_has(s, "a"));
    assert_true(cd_seen_has(s, "b\nwith newline"));
    assert_int_equal(cd_seen_count(s), 2);
    for (int i = 0; i < 20; i++) {   /* keep 4: the oldest are forgotten */
        char id[16];
        snprintf(id, sizeof id, "id-%d", i);
        assert_int_equal(cd_seen_add(s, id, &e), CD_OK);
    }
    assert_true(cd_seen_has(s, "id-19"));
    assert_false(cd_seen_has(s, "a"));
    assert_true(cd_seen_count(s) <= 8);
    cd_seen_free(s);
    assert_int_equal(cd_seen_open(path, 4, &s, &e), CD_OK);
    assert_true(cd_seen_has(s, "id-19"));
    assert_true(cd_seen_has(s, "id-16"));
    cd_seen_free(s);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rss),
        cmocka_unit_test(test_atom),
        cmocka_unit_test(test_xml_errors_and_stop),
        cmocka_unit_test(test_jsonfeed),
        cmocka_unit_test(test_jsonl_and_story),
        cmocka_unit_test(test_strip_html),
        cmocka_unit_test(test_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
