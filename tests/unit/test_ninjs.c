/*
 * test_ninjs.c - IPTC ninjs in and out below the command line: markup
 * stripping, ninjs 2.x objects read into stories, subjects as labels, and
 * the document written (uri, subjects, the route in descriptions, the
 * metadata kept or left out).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "deliver/deliver_ninjs.h"
#include "story/ninjs.h"

static void strip(const char *in, const char *want)
{
    size_t n;
    char *out = cdi_ninjs_strip_markup(in, strlen(in), &n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    free(out);
}

static void markup_is_stripped(void **state)
{
    (void)state;
    strip("<p>Tariffs <b>rose</b>.</p><p>Then fell.</p>", "Tariffs rose.\nThen fell.");
    strip("a&amp;b &lt;c&gt; &quot;q&quot; &#65;&#x42; caf&#233;", "a&b <c> \"q\" AB caf\xc3\xa9");
    strip("x<script>alert('<p>')</script>y<style>p{}</style>z", "xyz");
    strip("<!-- note <p> -->kept", "kept");
    strip("bad &#xFFFFFFFF; &#0; &bogus; &", "bad \xef\xbf\xbd \xef\xbf\xbd &bogus; &");
    strip("a < b and c > d", "a < b and c > d");
    strip("<p>unterminated", "unterminated");
    strip("  <br/>  ", "");
}

static cd_status read(const char *json, cd_story *s, cd_error *err)
{
    return cd_story_from_json(json, strlen(json), "t.jsonl:1", s, NULL, err);
}

static void ninjs2_is_read(void **state)
{
    (void)state;
    cd_story s;
    cd_error err;
    assert_int_equal(read("{\"uri\":\"urn:a\",\"headlines\":[{\"value\":\"first\"},"
                          "{\"role\":\"main\",\"value\":\"main one\"}],\"bodies\":[{\"role\":\"alt\","
                          "\"value\":\"alt\"},{\"role\":\"main\",\"contenttype\":\"text/html\","
                          "\"value\":\"<p>B&amp;C</p>\"}],\"urgency\":2}", &s, &err), CD_OK);
    assert_string_equal(s.id, "urn:a");
    assert_string_equal(s.title, "main one");
    assert_string_equal(s.body, "B&C");
    cJSON *meta = cJSON_Parse(s.meta_json);
    assert_non_null(cJSON_GetObjectItem(meta, "headlines"));
    assert_int_equal(cJSON_GetObjectItem(meta, "urgency")->valueint, 2);
    assert_null(cJSON_GetObjectItem(meta, "uri"));
    cJSON_Delete(meta);
    cd_story_clear(&s);
    /* wrong types are errors */
    assert_int_equal(read("{\"bodies\":{\"value\":\"x\"}}", &s, &err), CD_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bodies is an object"));
    assert_int_equal(read("{\"headlines\":[{\"value\":3}]}", &s, &err), CD_ERR_FORMAT);
    assert_int_equal(read("{\"headlines\":[],\"descriptions\":[\"x\"]}", &s, &err), CD_ERR_FORMAT);
    /* null arrays are no ninjs 2 */
    assert_int_equal(read("{\"headlines\":null,\"title\":\"t\"}", &s, &err), CD_OK);
    assert_string_equal(s.title, "t");
    cd_story_clear(&s);
}

static void subjects_become_labels(void **state)
{
    (void)state;
    cd_story s;
    cd_error err;
    assert_int_equal(read("{\"id\":\"x\",\"labels\":[\"old\"],\"subjects\":["
                          "{\"uri\":\"http://cv.iptc.org/newscodes/mediatopic/04000000\",\"name\":\"n\"},"
                          "{\"uri\":\"http://example.org/s/1\"},{\"literal\":\"lit\",\"name\":\"nm\"},"
                          "{\"name\":\"named\"},{\"rel\":\"about\"},7,"
                          "{\"uri\":\"http://cv.iptc.org/newscodes/mediatopic/04000000\"}]}", &s, &err),
                     CD_OK);
    assert_int_equal(cd_story_labels_from_subjects(&s, &err), CD_OK);
    assert_int_equal(s.nlabels, 4);
    assert_string_equal(s.labels[0], "medtop:04000000");
    assert_string_equal(s.labels[1], "http://example.org/s/1");
    assert_string_equal(s.labels[2], "lit");
    assert_string_equal(s.labels[3], "named");
    cd_story_clear(&s);
    assert_int_equal(read("{\"id\":\"x\",\"labels\":[\"old\"]}", &s, &err), CD_OK);
    assert_int_equal(cd_story_labels_from_subjects(&s, &err), CD_OK);
    assert_int_equal(s.nlabels, 0);
    assert_null(s.labels);
    cd_story_clear(&s);
    assert_int_equal(read("{\"id\":\"x\",\"subjects\":\"economy\"}", &s, &err), CD_OK);
    assert_int_equal(cd_story_labels_from_subjects(&s, &err), CD_ERR_FORMAT);
    cd_story_clear(&s);
}

static cJSON *write_doc(const char *story_json, const cd_ninjs_subject *subj, size_t n)
{
    cd_story s;
    assert_int_equal(read(story_json, &s, NULL), CD_OK);
    const char *route[] = { "trade-desk" };
    cd_ninjs_doc doc = { .story = &s, .subjects = subj, .nsubjects = n, .route = route,
                         .nroute = 1, .rule = "trade", .reason = "because" };
    cd_buf b = { 0 };
    cdi_ninjs_write(&b, &doc);
    assert_false(b.failed);
    cJSON *out = cJSON_Parse(b.data);
    assert_non_null(out);
    cdi_buf_free(&b);
    cd_story_clear(&s);
    return out;
}

/* The story of story_json as copydesk writes it as ninjs, read back. */
static void make_doc_story(cd_story *out, const char *story_json)
{
    cJSON *d = write_doc(story_json, NULL, 0);
    char *text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    assert_int_equal(read(text, out, NULL), CD_OK);
    free(text);
}

static void document_is_written(void **state)
{
    (void)state;
    cd_ninjs_subject subj[] = {
        { "trade", "Trade", "medtop:20000344", "copydesk:topics", 0.874 },
        { "misc", NULL, NULL, NULL, 1.7 },
    };
    cJSON *d = write_doc("{\"id\":\"a b/1\",\"title\":\"T\",\"body\":\"B\",\"desk\":\"x\","
                         "\"pubstatus\":\"usable\",\"urgency\":\"high\",\"type\":\"memo\"}", subj, 2);
    assert_string_equal(cJSON_GetObjectItem(d, "uri")->valuestring, "urn:copydesk:a%20b%2F1");
    assert_string_equal(cJSON_GetObjectItem(d, "type")->valuestring, "text");
    assert_null(cJSON_GetObjectItem(d, "desk"));        /* not ninjs */
    assert_null(cJSON_GetObjectItem(d, "urgency"));     /* not a number */
    assert_string_equal(cJSON_GetObjectItem(d, "pubstatus")->valuestring, "usable");
    cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "subjects"), 0);
    assert_string_equal(cJSON_GetObjectItem(s0, "uri")->valuestring,
                        "http://cv.iptc.org/newscodes/mediatopic/20000344");
    assert_int_equal(cJSON_GetObjectItem(s0, "relevance")->valueint, 87);
    assert_int_equal(cJSON_GetObjectItem(s0, "confidence")->valueint, 87);
    assert_string_equal(cJSON_GetObjectItem(s0, "creator")->valuestring, "copydesk:topics");
    cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "subjects"), 1);
    assert_null(cJSON_GetObjectItem(s1, "uri"));
    assert_string_equal(cJSON_GetObjectItem(s1, "name")->valuestring, "misc");
    assert_int_equal(cJSON_GetObjectItem(s1, "relevance")->valueint, 100);   /* clamped */
    cJSON *desc = cJSON_GetObjectItem(d, "descriptions");
    assert_int_equal(cJSON_GetArraySize(desc), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(desc, 0), "role")->valuestring,
                        "copydesk:route");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(desc, 0), "value")->valuestring,
                        "trade-desk");
    cJSON *alt = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "altids"), 0);
    assert_string_equal(cJSON_GetObjectItem(alt, "value")->valuestring, "a b/1");
    cJSON_Delete(d);
    /* a ninjs story keeps its own headlines and subjects, minus what is not ninjs */
    d = write_doc("{\"uri\":\"urn:x\",\"headlines\":[{\"value\":\"H\",\"extra\":1}],"
                  "\"people\":[{\"name\":\"p\",\"x\":1},5],"
                  "\"subjects\":[{\"name\":\"s\",\"relevance\":150,\"confidence\":40}]}", subj, 1);
    assert_string_equal(cJSON_GetObjectItem(d, "uri")->valuestring, "urn:x");
    cJSON *h = cJSON_GetObjectItem(d, "headlines");
    assert_int_equal(cJSON_GetArraySize(h), 1);
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(h, 0), "extra"));
    cJSON *people = cJSON_GetObjectItem(d, "people");
    assert_int_equal(cJSON_GetArraySize(people), 1);
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(people, 0), "x"));
    cJSON *own = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "subjects"), 0);
    assert_null(cJSON_GetObjectItem(own, "relevance"));
    assert_int_equal(cJSON_GetObjectItem(own, "confidence")->valueint, 40);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "altids")), 0);
    cJSON_Delete(d);
}

/* A story copydesk wrote as ninjs reads back with its own id (the altid
 * with the role "copydesk:id"), without that uri and altid in its
 * metadata, so that writing it again gives the same uri and one altid;
 * a uri copydesk did not make, or a plain "id", is the id as before. */
static void written_id_reads_back(void **state)
{
    (void)state;
    cd_story s;
    make_doc_story(&s, "{\"id\":\"a b/1\",\"title\":\"T\",\"body\":\"B\"}");
    assert_string_equal(s.id, "a b/1");
    assert_string_equal(s.title, "T");
    assert_string_equal(s.body, "B");
    cJSON *meta = cJSON_Parse(s.meta_json ? s.meta_json : "{}");
    assert_null(cJSON_GetObjectItem(meta, "uri"));
    assert_null(cJSON_GetObjectItem(meta, "altids"));
    cJSON_Delete(meta);
    cd_ninjs_doc doc = { .story = &s };
    cd_buf b = { 0 };
    cdi_ninjs_write(&b, &doc);
    assert_false(b.failed);
    cJSON *again = cJSON_Parse(b.data);
    cdi_buf_free(&b);
    cd_story_clear(&s);
    assert_string_equal(cJSON_GetObjectItem(again, "uri")->valuestring, "urn:copydesk:a%20b%2F1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(again, "altids")), 1);
    cJSON_Delete(again);
    /* other altids stay */
    assert_int_equal(read("{\"uri\":\"urn:copydesk:r1\",\"headlines\":[{\"value\":\"H\"}],"
                          "\"altids\":[{\"role\":\"wire\",\"value\":\"w9\"},"
                          "{\"role\":\"copydesk:id\",\"value\":\"r1\"}]}", &s, NULL), CD_OK);
    assert_string_equal(s.id, "r1");
    assert_non_null(strstr(s.meta_json, "\"altids\":[{\"role\":\"wire\",\"value\":\"w9\"}]"));
    assert_null(strstr(s.meta_json, "urn:copydesk"));
    cd_story_clear(&s);
    /* not copydesk's uri: the uri is the id */
    assert_int_equal(read("{\"uri\":\"urn:other:1\",\"headlines\":[{\"value\":\"H\"}],"
                          "\"altids\":[{\"role\":\"copydesk:id\",\"value\":\"r1\"}]}", &s, NULL),
                     CD_OK);
    assert_string_equal(s.id, "urn:other:1");
    cd_story_clear(&s);
    /* a plain id wins */
    assert_int_equal(read("{\"id\":\"plain\",\"uri\":\"urn:copydesk:r1\",\"headlines\":[],"
                          "\"altids\":[{\"role\":\"copydesk:id\",\"value\":\"r1\"}]}", &s, NULL),
                     CD_OK);
    assert_string_equal(s.id, "plain");
    cd_story_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(markup_is_stripped),
        cmocka_unit_test(ninjs2_is_read),
        cmocka_unit_test(subjects_become_labels),
        cmocka_unit_test(document_is_written),
        cmocka_unit_test(written_id_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
