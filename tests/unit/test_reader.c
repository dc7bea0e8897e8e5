/*
 * test_reader.c - unit tests of the story readers (core/story/story.c,
 * core/story/reader.c, core/story/fetch.c): formats, field rules, label folders,
 * errors that name file and line, size limits, bad bytes, standard input,
 * and http inputs served by a real HTTP server on 127.0.0.1 (a forked
 * child), never a mock of libcurl.
 *
 * Fixtures are in tests/fixtures/reader/; binary and generated inputs are
 * written to scratch folders.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "copydesk.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------ */

static char *fixture_copy(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "reader/%s", name);
    char *p = strdup(fixture(path));
    assert_non_null(p);
    return p;
}

static cd_reader *open_inputs(const char *const *inputs, size_t n, size_t max)
{
    cd_reader_opts opts;
    cd_reader_opts_default(&opts);
    if (max)
        opts.max_story_bytes = max;
    opts.url_timeout_s = 1;
    cd_reader *r = NULL;
    cd_error err = { 0 };
    assert_int_equal(cd_reader_open(inputs, n, &opts, &r, &err), CD_OK);
    assert_non_null(r);
    return r;
}

static cd_reader *open_one(const char *input, size_t max)
{
    return open_inputs(&input, 1, max);
}

/* Next must be a story; the caller clears it. */
static void next_story(cd_reader *r, cd_story *s)
{
    cd_error err = { 0 };
    int rc = cd_reader_next(r, s, &err);
    if (rc != CD_READ_STORY)
        fail_msg("expected a story, got %d: %s", rc, err.msg);
    assert_non_null(s->id);
    assert_non_null(s->title);
    assert_non_null(s->body);
    assert_non_null(s->meta_json);
    assert_non_null(s->source);
}

/* Next must be an error whose message contains each of the given parts. */
static void next_error(cd_reader *r, cd_status code, const char *part, const char *part2)
{
    cd_story s;
    cd_error err = { 0 };
    int rc = cd_reader_next(r, &s, &err);
    if (rc != CD_READ_ERROR) {
        if (rc == CD_READ_STORY)
            cd_story_clear(&s);
        fail_msg("expected an error with \"%s\", got %d", part, rc);
    }
    if (!strstr(err.msg, part) || (part2 && !strstr(err.msg, part2)))
        fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err.msg, part, part2 ? part2 : "");
    assert_int_equal(err.code, code);
    assert_null(s.id);
}

static void next_end(cd_reader *r)
{
    cd_story s;
    cd_error err = { 0 };
    int rc = cd_reader_next(r, &s, &err);
    if (rc != CD_READ_END)
        fail_msg("expected the end, got %d (%s)", rc, rc == CD_READ_ERROR ? err.msg : s.id);
    /* and it stays at the end */
    assert_int_equal(cd_reader_next(r, &s, &err), CD_READ_END);
}

/* Read one story from id-less input and check id/title. */
static void expect_story(cd_reader *r, const char *id, const char *title)
{
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, id);
    if (title)
        assert_string_equal(s.title, title);
    cd_story_clear(&s);
}

static char *str_printf(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    assert_non_null(s);
    return s;
}

/* A scratch file with the given bytes; returns its path (caller frees). */
static char *scratch_file(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = str_printf("%s/%s", dir, name);
    assert_int_equal(spit(path, data, len), 0);
    return path;
}

/* ---- story helpers ------------------------------------------------------ */

static void test_opts_default(void **state)
{
    (void)state;
    cd_reader_opts o;
    cd_reader_opts_default(&o);
    assert_int_equal(o.max_story_bytes, CD_MAX_STORY_BYTES);
    assert_int_equal(o.url_timeout_s, 30);
}

static void test_story_text_and_clear(void **state)
{
    (void)state;
    cd_story s = { 0 };
    cd_error err = { 0 };
    assert_int_equal(cd_story_from_text("Title\nbo\0dy", 11, "x", "lab", &s, &err), CD_OK);
    assert_string_equal(s.title, "Title");
    assert_int_equal(s.body_len, 5);
    size_t len = 0;
    char *text = cd_story_text(&s, &len);
    assert_non_null(text);
    assert_int_equal(len, 11);
    assert_memory_equal(text, "Title\nbo\0dy", 12);
    free(text);
    assert_int_equal(s.nlabels, 1);
    assert_string_equal(s.labels[0], "lab");
    cd_story_clear(&s);
    assert_null(s.id);
    assert_null(s.labels);
    assert_int_equal(s.nlabels, 0);
    cd_story_clear(&s);   /* twice is fine */
    cd_story_clear(NULL);
    text = cd_story_text(&s, &len);  /* an empty story: just the newline */
    assert_int_equal(len, 1);
    assert_string_equal(text, "\n");
    free(text);
}

/* The JSON reader scans strings 16 bytes at a time: an escape, a quote or
 * a control byte at any place around those blocks reads as cJSON reads
 * it (an escape decoded, a raw control byte refused). */
static void test_json_strings_at_every_offset(void **state)
{
    (void)state;
    static const char *const specials[] = { "\\\"", "\\\\", "\\n", "\\u00e9", "\t" };
    for (size_t sp = 0; sp < sizeof specials / sizeof specials[0]; sp++)
        for (size_t at = 0; at < 40; at++) {
            char body[128], line[256];
            memset(body, 'a', at);
            snprintf(body + at, sizeof body - at, "%sbcdefghijklmnopqrstuvwxyz", specials[sp]);
            snprintf(line, sizeof line, "{\"id\":\"x\",\"body\":\"%s\"}", body);
            cd_story s;
            cd_error err;
            cd_status st = cd_story_from_json(line, strlen(line), "src", &s, NULL, &err);
            cJSON *j = cJSON_Parse(line);
            if (!j) {   /* the raw tab: invalid JSON either way */
                assert_int_equal(st, CD_ERR_FORMAT);
                continue;
            }
            assert_int_equal(st, CD_OK);
            const char *want = cJSON_GetObjectItem(j, "body")->valuestring;
            assert_int_equal(s.body_len, strlen(want));
            assert_memory_equal(s.body, want, s.body_len);
            cJSON_Delete(j);
            cd_story_clear(&s);
        }
}

static void test_from_json_rules(void **state)
{
    (void)state;
    cd_story s;
    cd_error err = { 0 };
    size_t off = 99;
    const char *ok = "{\"labels\":[\"a\",\"b\",\"a\"],\"id\":1.5,\"x\":[1,{\"y\":null}]}";
    assert_int_equal(cd_story_from_json(ok, strlen(ok), "src", &s, &off, &err), CD_OK);
    assert_string_equal(s.id, "1.5");
    assert_int_equal(s.nlabels, 2);   /* duplicates dropped */
    assert_string_equal(s.labels[1], "b");
    assert_string_equal(s.meta_json, "{\"x\":[1,{\"y\":null}]}");
    assert_string_equal(s.title, "");
    assert_string_equal(s.source, "src");
    cd_story_clear(&s);

    const char *big = "{\"id\":12345678901234,\"labels\":[]}";
    assert_int_equal(cd_story_from_json(big, strlen(big), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.id, "12345678901234");
    assert_int_equal(s.nlabels, 0);
    cd_story_clear(&s);

    const char *empty_id = "{\"id\":\"\",\"uri\":\"u\"}";  /* empty id: the source, uri kept */
    assert_int_equal(cd_story_from_json(empty_id, strlen(empty_id), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.id, "src");
    assert_string_equal(s.meta_json, "{\"uri\":\"u\"}");
    cd_story_clear(&s);

    const char *bad = "{\"id\":\"x\",\n \"title\": tru}";
    assert_int_equal(cd_story_from_json(bad, strlen(bad), "src", &s, &off, &err), CD_ERR_FORMAT);
    assert_true(off > 10 && off < strlen(bad));
    assert_null(s.id);
    assert_non_null(strstr(err.msg, "invalid JSON"));

    const char *empty_label = "{\"labels\":[\"\"]}";
    assert_int_equal(cd_story_from_json(empty_label, strlen(empty_label), "s", &s, NULL, &err),
                     CD_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "labels"));
    assert_int_equal(cd_story_from_json("", 0, "s", &s, NULL, &err), CD_ERR_FORMAT);
    assert_int_equal(cd_story_from_json("  ", 2, "s", &s, NULL, &err), CD_ERR_FORMAT);
}

/* A nested meta object is the metadata (its value wins over a top-level
 * field of the same name); copydesk's own outputs read back as the story. */
static void test_from_json_meta_and_outputs(void **state)
{
    (void)state;
    cd_story s;
    cd_error err = { 0 };
    const char *nested = "{\"id\":\"n\",\"meta\":{\"priority\":\"high\",\"desk\":\"a\"},"
                         "\"desk\":\"b\",\"region\":\"asia\"}";
    assert_int_equal(cd_story_from_json(nested, strlen(nested), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.meta_json, "{\"priority\":\"high\",\"desk\":\"a\",\"region\":\"asia\"}");
    cd_story_clear(&s);

    /* a delivered story: model labels per model, decision fields, gold_labels */
    const char *out = "{\"id\":\"d\",\"title\":\"T\",\"body\":\"B\",\"meta\":{\"k\":1},"
                      "\"gold_labels\":[\"trade\"],\"topics\":[],\"labels\":{\"m\":[{\"label\":"
                      "\"x\",\"p\":0.9}]},\"tags\":[\"t\"],\"route\":[\"r\"],\"rule\":null,"
                      "\"reason\":\"why\"}";
    assert_int_equal(cd_story_from_json(out, strlen(out), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.id, "d");
    assert_string_equal(s.title, "T");
    assert_string_equal(s.meta_json, "{\"k\":1}");
    assert_int_equal(s.nlabels, 1);
    assert_string_equal(s.labels[0], "trade");
    cd_story_clear(&s);

    /* a dead-letter record: the story inside */
    const char *dead = "{\"destination\":\"wire\",\"error\":\"refused\",\"failed_at\":1,"
                       "\"story\":{\"id\":\"in\",\"title\":\"T\",\"meta\":{\"k\":2},"
                       "\"route\":[\"wire\"],\"reason\":\"r\"}}";
    assert_int_equal(cd_story_from_json(dead, strlen(dead), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.id, "in");
    assert_string_equal(s.meta_json, "{\"k\":2}");
    cd_story_clear(&s);

    /* not copydesk's: tags and source of a CMS stay metadata */
    const char *cms = "{\"id\":\"c\",\"tags\":[\"a\"],\"source\":\"wire\"}";
    assert_int_equal(cd_story_from_json(cms, strlen(cms), "src", &s, NULL, &err), CD_OK);
    assert_string_equal(s.meta_json, "{\"tags\":[\"a\"],\"source\":\"wire\"}");
    cd_story_clear(&s);
}

/* ---- formats -------------------------------------------------------------- */

static void test_jsonl_ninjs_meta(void **state)
{
    (void)state;
    char *path = fixture_copy("ninjs.jsonl");
    cd_reader *r = open_one(path, 0);
    cd_story s;

    next_story(r, &s);
    assert_string_equal(s.id, "a1");
    assert_string_equal(s.title, "Tariffs rise");
    assert_string_equal(s.body, "Steel tariffs rose again.");
    assert_int_equal(s.nlabels, 2);
    assert_string_equal(s.labels[0], "trade");
    assert_string_equal(s.labels[1], "economy");
    assert_string_equal(s.meta_json, "{\"desk\":\"business\",\"priority\":2}");
    char *src = str_printf("%s:1", path);
    assert_string_equal(s.source, src);
    free(src);
    cd_story_clear(&s);

    next_story(r, &s);  /* ninjs names */
    assert_string_equal(s.id, "urn:newsml:example.com:20240101:b2");
    assert_string_equal(s.title, "Troops move");
    assert_string_equal(s.body, "Troops moved north.");
    assert_int_equal(s.nlabels, 0);
    assert_string_equal(s.meta_json, "{\"version\":3,\"language\":\"en\"}");
    cd_story_clear(&s);

    next_story(r, &s);  /* line 3 is blank; plain names win, aliases kept */
    assert_string_equal(s.id, "c3");
    assert_string_equal(s.title, "Both names");
    assert_string_equal(s.meta_json, "{\"uri\":\"urn:c3\",\"headline\":\"Alias loses\"}");
    src = str_printf("%s:4", path);
    assert_string_equal(s.source, src);
    free(src);
    cd_story_clear(&s);

    next_story(r, &s);  /* numeric id, labels as one string */
    assert_string_equal(s.id, "42");
    assert_int_equal(s.nlabels, 1);
    assert_string_equal(s.labels[0], "sport");
    assert_string_equal(s.body, "");
    assert_int_equal(s.body_len, 0);
    cd_story_clear(&s);

    next_story(r, &s);  /* no id: the source is the id */
    src = str_printf("%s:6", path);
    assert_string_equal(s.id, src);
    assert_string_equal(s.source, src);
    assert_string_equal(s.meta_json, "{}");
    free(src);
    cd_story_clear(&s);

    next_end(r);
    cd_reader_free(r);
    free(path);
}

static void test_json_array(void **state)
{
    (void)state;
    char *path = fixture_copy("array.json");
    cd_reader *r = open_one(path, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, "arr-1");
    assert_int_equal(s.nlabels, 1);
    char *src = str_printf("%s:2", path);
    assert_string_equal(s.source, src);
    free(src);
    cd_story_clear(&s);

    next_story(r, &s);
    src = str_printf("%s:8", path);
    assert_string_equal(s.id, src);
    free(src);
    assert_string_equal(s.title, "Second in array");
    assert_string_equal(s.body, "Two.");
    assert_string_equal(s.meta_json, "{\"section\":{\"name\":\"world\",\"rank\":1}}");
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);
    free(path);
}

static void test_json_array_one_line(void **state)
{
    (void)state;
    char *path = fixture_copy("oneline-array.json");
    cd_reader *r = open_one(path, 0);
    char *id1 = str_printf("%s:1", path), *id2 = str_printf("%s:1#2", path),
         *id3 = str_printf("%s:1#3", path);
    expect_story(r, id1, "one line a");
    expect_story(r, id2, "one line b");
    expect_story(r, id3, "one line c");
    next_end(r);
    cd_reader_free(r);
    free(id1);
    free(id2);
    free(id3);
    free(path);
}

/* The source of a story without an id names its file and line, the file
 * it is in: reading a file with a long name, then one with a short name,
 * then the long one again, each source is its own file's (the "name:"
 * part is written once a file) and its line number is whole. */
static void test_sources_across_files(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    const char lines[] = "{\"title\":\"a\"}\n\n{\"title\":\"b\"}\n";
    char *longp = scratch_file(dir, "a-rather-long-file-name-for-the-wire.jsonl", lines,
                               sizeof lines - 1);
    const char one[] = "{\"title\":\"c\"}\n";
    char *shortp = scratch_file(dir, "s.jsonl", one, sizeof one - 1);
    const char *inputs[] = { longp, shortp, longp };
    cd_reader *r = open_inputs(inputs, 3, 0);
    char *want[] = { str_printf("%s:1", longp), str_printf("%s:3", longp),
                     str_printf("%s:1", shortp), str_printf("%s:1", longp),
                     str_printf("%s:3", longp) };
    const char *titles[] = { "a", "b", "c", "a", "b" };
    for (size_t i = 0; i < 5; i++) {
        cd_story s;
        next_story(r, &s);
        assert_string_equal(s.source, want[i]);
        assert_string_equal(s.id, want[i]);   /* no id: the source is the id */
        assert_string_equal(s.title, titles[i]);
        cd_story_clear(&s);
        free(want[i]);
    }
    next_end(r);
    cd_reader_free(r);
    free(longp);
    free(shortp);
    scratch_remove(dir);
}

static void test_json_array_broken(void **state)
{
    (void)state;
    char *trunc = fixture_copy("truncated-array.json");
    char *trail = fixture_copy("trailing-array.json");
    const char *inputs[] = { trunc, trail };
    cd_reader *r = open_inputs(inputs, 2, 0);
    expect_story(r, "t-1", "kept");
    next_error(r, CD_ERR_FORMAT, trunc, ":3: unexpected end of file in a JSON array");
    expect_story(r, "g-1", "");
    next_error(r, CD_ERR_FORMAT, trail, ":2: unexpected data after the JSON array");
    next_end(r);
    cd_reader_free(r);
    free(trunc);
    free(trail);
}

static void test_pretty_object(void **state)
{
    (void)state;
    char *path = fixture_copy("pretty-object.json");
    cd_reader *r = open_one(path, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, "seed-nk-russia-treaty");
    assert_string_equal(s.source, path);
    assert_non_null(strstr(s.title, "North Korea"));
    assert_memory_equal(s.body, "Pyongyang, North Korea", 22);
    assert_string_equal(s.meta_json, "{\"meta_expected_topic\":\"defense\"}");
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);

    r = open_one(path, 1000);  /* the file is ~2.5 kB: over the bound */
    next_error(r, CD_ERR_LIMIT, path, ": story larger than 1000 bytes, skipped");
    next_end(r);
    cd_reader_free(r);
    free(path);
}

static void test_plain_text(void **state)
{
    (void)state;
    char *path = fixture_copy("plain.txt");
    cd_reader *r = open_one(path, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, path);
    assert_string_equal(s.source, path);
    assert_string_equal(s.title, "Budget talks stall in parliament");
    assert_string_equal(s.body, "Lawmakers failed to agree on the budget.\nTalks resume Monday.");
    assert_int_equal(s.nlabels, 0);
    assert_string_equal(s.meta_json, "{}");
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);

    r = open_one(path, 50);
    next_error(r, CD_ERR_LIMIT, path, "story larger than 50 bytes");
    next_end(r);
    cd_reader_free(r);
    free(path);
}

static void test_bracket_titles(void **state)
{
    (void)state;
    char *bracket = fixture_copy("bracket-title.txt"), *brace = fixture_copy("brace-title.txt");
    char *arr = fixture_copy("empty-array.json"), *obj = fixture_copy("empty-object.json");
    const char *inputs[] = { bracket, brace, arr, obj };
    cd_reader *r = open_inputs(inputs, 4, 0);
    /* a first '[' or '{' is JSON: what does not parse is an error, never text */
    char *msg = str_printf("%s:1: ", bracket);
    next_error(r, CD_ERR_FORMAT, msg, "invalid JSON");
    next_error(r, CD_ERR_FORMAT, msg, "unexpected data after the JSON array");
    free(msg);
    msg = str_printf("%s:1: ", brace);   /* JSON lines: each line says why */
    next_error(r, CD_ERR_FORMAT, msg, NULL);
    free(msg);
    msg = str_printf("%s:2: ", brace);
    next_error(r, CD_ERR_FORMAT, msg, NULL);
    free(msg);
    cd_story s;  /* "[ ]" has no stories; "{ }" is one empty story */
    next_story(r, &s);
    assert_string_equal(s.id, obj);
    assert_string_equal(s.source, obj);
    assert_string_equal(s.title, "");
    assert_string_equal(s.meta_json, "{}");
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);
    free(bracket);
    free(brace);
    free(arr);
    free(obj);
}

static char *write_scratch(const char *dir, const char *name, const char *data, size_t len)
{
    char *path = str_printf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

/* Malformed JSON files (from a public JSON parsing test suite) are
 * refused with file:line, never read as plain-text stories. */
static void test_malformed_json_files(void **state)
{
    (void)state;
    static const char *const bad[] = { "{\"id\":0,}", "{a: \"b\"}", "{'a':0}", "['single quote']",
                                       "[tru", "\n\n  {\"a\":\n", "[\"x\"\n,]", "{\"a\" \"b\"}" };
    char *dir = scratch_dir();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad-%zu.json", i);
        char *path = write_scratch(dir, name, bad[i], strlen(bad[i]));
        cd_reader *r = open_one(path, 0);
        cd_story st;
        cd_error err = { 0 };
        int rc;
        int errors = 0;
        while ((rc = cd_reader_next(r, &st, &err)) != CD_READ_END) {
            if (rc == CD_READ_STORY)
                fail_msg("%s (%s) became a story", name, bad[i]);
            assert_int_equal(rc, CD_READ_ERROR);
            char *at = str_printf("%s:", path);
            if (strncmp(err.msg, at, strlen(at)) || !strchr(err.msg + strlen(at), ':'))
                fail_msg("%s: the error \"%s\" does not say file:line", name, err.msg);
            free(at);
            errors++;
        }
        assert_true(errors >= 1);
        cd_reader_free(r);
        free(path);
    }
    scratch_remove(dir);
}

/* A saved RSS or Atom file: its items are stories (route feed.xml). */
static void test_feed_files(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    const char *rss =
        "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<rss version=\"2.0\"><channel><title>W</title>\n"
        "<item><guid>a1</guid><title>Caf\xe9&nbsp;one</title><description>&lt;p&gt;Body &lt;b&gt;one&lt;/b&gt;"
        "&lt;/p&gt;</description></item>\n"
        "<item><description>No id, no title, still a story</description></item>\n"
        "</channel></rss>\n";
    char *feed = write_scratch(dir, "wire.xml", rss, strlen(rss));
    static const char wide[] = "\xff\xfe<\0f\0e\0e\0d\0 \0x\0m\0l\0n\0s\0=\0\"\0h\0t\0t\0p\0:\0/\0/\0w\0w\0w\0.\0"
                               "w\0\x33\0.\0o\0r\0g\0/\0\x32\0\x30\0\x30\0\x35\0/\0A\0t\0o\0m\0\"\0>\0<\0e\0n\0t\0r\0y\0>\0"
                               "<\0i\0d\0>\0u\0\x31\0<\0/\0i\0d\0>\0<\0t\0i\0t\0l\0e\0>\0\x1c\x20W\0\x1d\x20<\0/\0t\0i\0t\0l\0e\0>\0"
                               "<\0/\0e\0n\0t\0r\0y\0>\0<\0/\0f\0e\0e\0d\0>\0";
    char *atom = write_scratch(dir, "wide.xml", wide, sizeof wide - 1);
    const char *page = "<html><body><p>Not a feed</p></body></html>\n";
    char *html = write_scratch(dir, "page.html", page, strlen(page));
    const char *jf = "{\n \"version\": \"https://jsonfeed.org/version/1.1\",\n \"items\": [\n"
                     "  {\"id\": \"j1\", \"title\": \"JSON Feed item\", \"content_html\": \"<p>x</p>\"}]\n}\n";
    char *json = write_scratch(dir, "feed.json", jf, strlen(jf));
    const char *inputs[] = { feed, atom, html, json };
    cd_reader_opts opts;
    cd_reader_opts_default(&opts);
    opts.warnings = 1;
    cd_reader *r = NULL;
    cd_error err = { 0 };
    assert_int_equal(cd_reader_open(inputs, 4, &opts, &r, &err), CD_OK);
    cd_story s;
    assert_int_equal(cd_reader_next(r, &s, &err), CD_READ_WARNING);   /* &nbsp; repaired */
    char *where = str_printf("%s:3: ", feed);
    assert_memory_equal(err.msg, where, strlen(where));
    free(where);
    next_story(r, &s);
    assert_string_equal(s.id, "a1");
    assert_string_equal(s.title, "Caf\u00e9 one");
    assert_string_equal(s.body, "Body one");
    where = str_printf("%s:3", feed);
    assert_string_equal(s.source, where);
    free(where);
    assert_non_null(strstr(s.meta_json, "\"feed\":"));
    cd_story_clear(&s);
    next_story(r, &s);
    assert_memory_equal(s.id, "urn:copydesk:item:", 18);
    assert_string_equal(s.body, "No id, no title, still a story");
    cd_story_clear(&s);
    expect_story(r, "u1", "\u201cW\u201d");   /* UTF-16 with a byte order mark */
    expect_story(r, html, "<html><body><p>Not a feed</p></body></html>");   /* plain text */
    next_story(r, &s);
    assert_string_equal(s.id, "j1");
    assert_string_equal(s.body, "x");
    where = str_printf("%s#1", json);
    assert_string_equal(s.source, where);
    free(where);
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);
    /* without opts.warnings the repair is not reported */
    r = open_one(feed, 0);
    expect_story(r, "a1", "Caf\u00e9 one");
    next_story(r, &s);
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);
    free(feed);
    free(atom);
    free(html);
    free(json);
    scratch_remove(dir);
}

static void expect_labelled(cd_reader *r, const char *id, const char *label)
{
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, id);
    if (label) {
        assert_int_equal(s.nlabels, 1);
        assert_string_equal(s.labels[0], label);
    } else {
        assert_int_equal(s.nlabels, 0);
    }
    cd_story_clear(&s);
}

static void test_label_folders(void **state)
{
    (void)state;
    char *dir = fixture_copy("corpus");
    char *slash = str_printf("%s/", dir);
    const char *inputs[] = { dir, slash };
    cd_reader *r = open_inputs(inputs, 2, 0);
    for (int round = 0; round < 2; round++) {  /* with and without a trailing slash */
        char *id;
        expect_labelled(r, id = str_printf("%s/defense/c.txt", dir), "defense");
        free(id);
        expect_labelled(r, "sport-json", "football");   /* JSON keeps its own labels */
        expect_labelled(r, id = str_printf("%s/top.txt", dir), NULL);
        free(id);
        expect_labelled(r, id = str_printf("%s/trade/a.txt", dir), "trade");
        free(id);
        expect_labelled(r, id = str_printf("%s/trade/x/b.txt", dir), "trade");
        free(id);
    }
    next_end(r);
    cd_reader_free(r);

    char *sub = str_printf("%s/trade", dir);  /* files directly in the input: no label */
    r = open_one(sub, 0);
    char *id = str_printf("%s/a.txt", sub);
    expect_labelled(r, id, NULL);
    free(id);
    id = str_printf("%s/x/b.txt", sub);
    expect_labelled(r, id, "x");
    free(id);
    next_end(r);
    cd_reader_free(r);
    free(sub);
    free(slash);
    free(dir);
}

static void test_symlinks_and_special_files(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    assert_non_null(dir);
    char *a = str_printf("%s/a", dir);
    assert_int_equal(mkdir(a, 0755), 0);
    free(scratch_file(a, "real.txt", "Real\nbody\n", 10));
    char *p = str_printf("%s/loop", a);
    assert_int_equal(symlink("..", p), 0);              /* a loop: not followed */
    free(p);
    p = str_printf("%s/link.txt", dir);
    assert_int_equal(symlink("a/real.txt", p), 0);      /* a file link: read */
    free(p);
    p = str_printf("%s/dangling", dir);
    assert_int_equal(symlink("nowhere", p), 0);
    free(p);
    p = str_printf("%s/b-empty", dir);
    assert_int_equal(mkdir(p, 0755), 0);               /* an empty directory */
    free(p);
    p = str_printf("%s/fifo", dir);
    assert_int_equal(mkfifo(p, 0600), 0);               /* skipped, never opened */
    free(p);

    cd_reader *r = open_one(dir, 0);
    char *id = str_printf("%s/a/real.txt", dir);
    expect_labelled(r, id, "a");
    free(id);
    next_error(r, CD_ERR_IO, "/dangling: No such file or directory", NULL);
    id = str_printf("%s/link.txt", dir);
    expect_labelled(r, id, NULL);
    free(id);
    next_end(r);
    cd_reader_free(r);
    free(a);
    scratch_remove(dir);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_bad_lines(void **state)
{
    (void)state;
    char *path = fixture_copy("bad-line.jsonl");
    cd_reader *r = open_one(path, 0);
    expect_story(r, "ok-1", "First");
    expect_story(r, "ok-2", "Second");
    next_error(r, CD_ERR_FORMAT, path, ":3: invalid JSON");
    expect_story(r, "ok-4", "Fourth");
    next_error(r, CD_ERR_FORMAT, ":5: ", "not a JSON object but an array");
    next_error(r, CD_ERR_FORMAT, ":6: ", "title is a number, not a string");
    next_error(r, CD_ERR_FORMAT, ":7: ", "labels must be an array of non-empty strings");
    next_error(r, CD_ERR_FORMAT, ":8: ", "body is an object, not a string");
    next_error(r, CD_ERR_FORMAT, ":9: ", "id is an object, not a string or a number");
    next_error(r, CD_ERR_FORMAT, ":10: ", "not a JSON object but a string");
    next_error(r, CD_ERR_FORMAT, ":11: ", "unexpected data after the JSON value");
    expect_story(r, "ok-12", "Twelfth");
    next_end(r);
    cd_reader_free(r);
    free(path);
}

static void test_too_large_line(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    size_t big = 100000;
    char *data = malloc(big + 200);
    assert_non_null(data);
    size_t n = (size_t)sprintf(data, "{\"id\":\"small-1\"}\n{\"id\":\"big\",\"body\":\"");
    memset(data + n, 'x', big);
    n += big;
    n += (size_t)sprintf(data + n, "\"}\n{\"id\":\"small-3\"}\n{\"id\":\"exactly-64-bytes\",\"body\":\"%s\"}",
                         "01234567890123456789012345678");
    char *path = scratch_file(dir, "big.jsonl", data, n);
    free(data);
    cd_reader *r = open_one(path, 64);
    expect_story(r, "small-1", "");
    next_error(r, CD_ERR_LIMIT, path, ":2: story larger than 64 bytes, skipped");
    expect_story(r, "small-3", "");
    expect_story(r, "exactly-64-bytes", "");  /* no newline at the end: still read */
    next_end(r);
    cd_reader_free(r);

    /* the same bound for array elements */
    free(path);
    const char arr[] = "[{\"id\":\"a\"},\n{\"id\":\"b\",\"body\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},\n{\"id\":\"c\"}]";
    path = scratch_file(dir, "big.json", arr, sizeof arr - 1);
    r = open_one(path, 32);
    expect_story(r, "a", "");
    next_error(r, CD_ERR_LIMIT, ":2: story larger than 32 bytes", NULL);
    expect_story(r, "c", "");
    next_end(r);
    cd_reader_free(r);
    free(path);
    scratch_remove(dir);
}

static void test_invalid_utf8_and_nul(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    const char jsonl[] =
        "{\"id\":\"u1\",\"title\":\"bad \xff\xfe bytes \xc3(\",\"x\":\"\xed\xa0\x80\"}\n"
        "{\"id\":\"n1\",\"title\":\"raw \0 nul\"}\n"
        "{\"id\":\"n2\",\"title\":\"esc \\u0000 nul\",\"body\":\"keep \\\\u0000 text\"}\n"
        "{\"id\":\"n3\"}\n";
    char *path = scratch_file(dir, "bytes.jsonl", jsonl, sizeof jsonl - 1);
    cd_reader *r = open_one(path, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.title, "bad \xff\xfe bytes \xc3(");
    /* meta is passed on verbatim, so it is made valid UTF-8: a surrogate's
     * three bytes become three U+FFFD (title and body keep their bytes;
     * JSON writers replace them when they print) */
    assert_string_equal(s.meta_json, "{\"x\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
    cd_story_clear(&s);
    next_error(r, CD_ERR_FORMAT, ":2: NUL byte in JSON text", NULL);
    next_story(r, &s);
    assert_string_equal(s.title, "esc \xef\xbf\xbd nul");   /* \u0000 -> U+FFFD */
    assert_string_equal(s.body, "keep \\u0000 text");        /* an escaped backslash stays */
    cd_story_clear(&s);
    expect_story(r, "n3", "");
    next_end(r);
    cd_reader_free(r);
    free(path);

    const char text[] = "Ti\0tle \xff\n\nbo\0dy\xc3\n";
    path = scratch_file(dir, "bytes.txt", text, sizeof text - 1);
    r = open_one(path, 0);
    next_story(r, &s);
    assert_int_equal(s.title_len, 8);  /* the NUL is inside: strlen would say 2 */
    assert_memory_equal(s.title, "Ti\0tle \xff", 9);
    assert_int_equal(s.body_len, 6);
    assert_memory_equal(s.body, "bo\0dy\xc3", 7);
    cd_story_clear(&s);
    next_end(r);
    cd_reader_free(r);
    free(path);
    scratch_remove(dir);
}

static void test_nonexistent_and_unreadable(void **state)
{
    (void)state;
    char *good = fixture_copy("plain.txt");
    char *dir = scratch_dir();
    char *locked = scratch_file(dir, "locked.txt", "x\n", 2);
    assert_int_equal(chmod(locked, 0), 0);
    const char *inputs[] = { "no/such/file.jsonl", locked, "ftp://example.com/x", good };
    cd_reader *r = open_inputs(inputs, 4, 0);
    next_error(r, CD_ERR_IO, "no/such/file.jsonl: No such file or directory", NULL);
    if (geteuid() != 0)  /* root reads anything */
        next_error(r, CD_ERR_IO, locked, ": Permission denied");
    else
        expect_story(r, locked, "x");
    next_error(r, CD_ERR_ARG, "ftp://example.com/x: ", "only http:// and https://");
    expect_story(r, good, NULL);
    next_end(r);
    cd_reader_free(r);
    free(locked);
    free(good);
    scratch_remove(dir);
}

static void test_empty_files(void **state)
{
    (void)state;
    char *empty = fixture_copy("empty.txt"), *blank = fixture_copy("blank.txt");
    const char *inputs[] = { empty, blank };
    cd_reader *r = open_inputs(inputs, 2, 0);
    next_end(r);
    cd_reader_free(r);
    r = open_inputs(NULL, 0, 0);  /* no inputs, no stories */
    next_end(r);
    cd_reader_free(r);
    free(empty);
    free(blank);
}

static char *nested(const char *head, size_t depth, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + 2 * depth + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    memset(s + hl, '[', depth);
    memset(s + hl + depth, ']', depth);
    memcpy(s + hl + 2 * depth, tail, tl + 1);
    return s;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char *deep = nested("{\"id\":\"deep\",\"x\":", 100000, "}\n{\"id\":\"after\"}\n");
    char *path = scratch_file(dir, "deep.jsonl", deep, strlen(deep));
    free(deep);
    cd_reader *r = open_one(path, 0);
    next_error(r, CD_ERR_FORMAT, ":1: JSON nested deeper than 1000 levels", NULL);
    expect_story(r, "after", "");
    next_end(r);
    cd_reader_free(r);
    free(path);

    deep = nested("{\"id\":\"ok\",\"x\":", 900, "}\n");  /* within cJSON's limit */
    path = scratch_file(dir, "ok.jsonl", deep, strlen(deep));
    free(deep);
    r = open_one(path, 0);
    expect_story(r, "ok", "");
    next_end(r);
    cd_reader_free(r);
    free(path);

    deep = nested("[\n{\"x\":", 200000, "},\n{\"id\":\"next\"}]");  /* array element */
    path = scratch_file(dir, "deep.json", deep, strlen(deep));
    free(deep);
    r = open_one(path, 0);
    next_error(r, CD_ERR_FORMAT, ":2: JSON nested deeper", NULL);
    expect_story(r, "next", "");
    next_end(r);
    cd_reader_free(r);
    free(path);

    deep = nested("{\n\"x\":", 50000, "}");  /* a whole pretty object */
    path = scratch_file(dir, "deep-object.json", deep, strlen(deep));
    free(deep);
    r = open_one(path, 0);
    next_error(r, CD_ERR_FORMAT, ":2: JSON nested deeper", NULL);
    next_end(r);
    cd_reader_free(r);
    free(path);
    scratch_remove(dir);
}

/* ---- standard input ------------------------------------------------------ */

/* Make fd 0 read from a pipe fed by `feed` in a child; returns the saved
 * original fd 0 and the child. */
static int stdin_from_child(void (*feed)(int fd, const void *ud), const void *ud, pid_t *child)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    *child = fork();
    assert_true(*child >= 0);
    if (*child == 0) {
        close(p[0]);
        feed(p[1], ud);
        _exit(0);
    }
    close(p[1]);
    int saved = dup(0);
    assert_true(saved >= 0);
    assert_int_equal(dup2(p[0], 0), 0);
    close(p[0]);
    return saved;
}

static void restore_stdin(int saved, pid_t child)
{
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
    int status = 0;
    waitpid(child, &status, 0);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            _exit(1);
        p += w;
        n -= (size_t)w;
    }
}

static void feed_text(int fd, const void *ud)
{
    write_all(fd, ud, strlen(ud));
}

static void test_stdin(void **state)
{
    (void)state;
    pid_t child;
    int saved = stdin_from_child(feed_text,
                                 "{\"id\":\"s1\",\"title\":\"one\"}\n\n{\"title\":\"two\"}\n{bad\n",
                                 &child);
    const char *inputs[] = { "-" };
    cd_reader *r = open_inputs(inputs, 1, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, "s1");
    assert_string_equal(s.source, "-:1");
    cd_story_clear(&s);
    expect_story(r, "-:3", "two");
    next_error(r, CD_ERR_FORMAT, "-:4: invalid JSON", NULL);
    next_end(r);
    cd_reader_free(r);
    restore_stdin(saved, child);

    saved = stdin_from_child(feed_text, "Plain title\nfrom standard input\n", &child);
    r = open_inputs(inputs, 1, 0);
    expect_story(r, "-", "Plain title");
    next_end(r);
    cd_reader_free(r);
    restore_stdin(saved, child);
}

static size_t huge_line_bytes(void)
{
    const char *mb = getenv("COPYDESK_TEST_HUGE_MB");
    return (mb ? strtoul(mb, NULL, 10) : 1024) << 20;
}

static void feed_huge_line(int fd, const void *ud)
{
    (void)ud;
    static char chunk[1 << 20];
    write_all(fd, "{\"id\":\"first\"}\n{\"id\":\"huge\",\"body\":\"", 36);
    memset(chunk, 'x', sizeof chunk);
    for (size_t left = huge_line_bytes(); left > 0;) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        write_all(fd, chunk, n);
        left -= n;
    }
    write_all(fd, "\"}\n{\"id\":\"last\"}\n", 17);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A line of 1 GiB (COPYDESK_TEST_HUGE_MB to change) through standard
 * input is skipped in bounded memory. */
static void test_stdin_huge_line(void **state)
{
    (void)state;
    long before = max_rss_kb();
    pid_t child;
    int saved = stdin_from_child(feed_huge_line, NULL, &child);
    const char *inputs[] = { "-" };
    cd_reader *r = open_inputs(inputs, 1, 4096);
    expect_story(r, "first", "");
    next_error(r, CD_ERR_LIMIT, "-:2: story larger than 4096 bytes, skipped", NULL);
    expect_story(r, "last", "");
    next_end(r);
    cd_reader_free(r);
    restore_stdin(saved, child);
    long grown_kb = max_rss_kb() - before;
    if (grown_kb > 64 * 1024)
        fail_msg("resident memory grew by %ld kB reading one huge line", grown_kb);
}

/* ---- http inputs, from a real server on 127.0.0.1 ----------------------- */

typedef struct server {
    pid_t pid;
    int port;
} server;

static void reply(int c, const char *status, const char *headers, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\n%sConnection: close\r\n\r\n",
                     status, headers);
    write_all(c, head, (size_t)n);
    write_all(c, body, strlen(body));
}

static void reply_sized(int c, const char *status, const char *body)
{
    char headers[64];
    snprintf(headers, sizeof headers, "Content-Length: %zu\r\n", strlen(body));
    reply(c, status, headers, body);
}

static void reply_big(int c, int with_length)
{
    static char body[5001];
    memset(body, 'x', 5000);
    if (with_length)
        reply_sized(c, "200 OK", body);
    else
        reply(c, "200 OK", "", body);
}

/* The request path of the GET at c (static buffer). */
static const char *request_path(int c)
{
    static char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t got = read(c, req + n, sizeof req - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    char *path = strchr(req, ' ');
    if (!path)
        return "";
    char *end = strchr(++path, ' ');
    if (end)
        *end = '\0';
    return path;
}

static void answer(int c)
{
    const char *path = request_path(c);
    if (!strcmp(path, "/stories.jsonl"))
        reply_sized(c, "200 OK", "{\"id\":\"w1\",\"title\":\"Wire one\"}\n{\"title\":\"Wire two\"}\n");
    else if (!strcmp(path, "/story.txt"))
        reply_sized(c, "200 OK", "Fetched title\nFetched body.\n");
    else if (!strcmp(path, "/redirect"))
        reply(c, "302 Found", "Location: /stories.jsonl\r\nContent-Length: 0\r\n", "");
    else if (!strcmp(path, "/loop"))
        reply(c, "302 Found", "Location: /loop\r\nContent-Length: 0\r\n", "");
    else if (!strcmp(path, "/to-file"))
        reply(c, "302 Found", "Location: file:///etc/passwd\r\nContent-Length: 0\r\n", "");
    else if (!strcmp(path, "/big"))
        reply_big(c, 1);
    else if (!strcmp(path, "/big-unsized"))
        reply_big(c, 0);
    else if (!strcmp(path, "/slow"))
        sleep(3);
    else if (!strcmp(path, "/feed.xml"))   /* the HTTP charset wins over the declaration */
        reply(c, "200 OK", "Content-Type: application/rss+xml; charset=ISO-8859-1\r\n"
              "Content-Length: 127\r\n",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><channel><item><title>Caf\xe9</title>"
              "<link>../news/1.html</link></item></channel></rss>");
    else if (!strcmp(path, "/empty"))
        reply_sized(c, "200 OK", "");
    else
        reply_sized(c, "404 Not Found", "not here\n");
}

static void serve(int fd)
{
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    alarm(120);  /* never outlive a crashed test run */
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            close(fd);
            answer(c);
            close(c);
            _exit(0);
        }
        close(c);
    }
}

static int server_start(void **state)
{
    server *srv = calloc(1, sizeof *srv);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (!srv || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, 16) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    srv->port = ntohs(a.sin_port);
    fflush(NULL);
    srv->pid = fork();
    if (srv->pid == 0)
        serve(fd);
    close(fd);
    *state = srv;
    return srv->pid > 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    server *srv = *state;
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, NULL, 0);
    free(srv);
    return 0;
}

static char *url(void **state, const char *path)
{
    const server *srv = *state;
    return str_printf("http://127.0.0.1:%d%s", srv->port, path);
}

static void test_http_stories(void **state)
{
    char *jsonl = url(state, "/stories.jsonl"), *text = url(state, "/story.txt");
    char *empty = url(state, "/empty"), *redirect = url(state, "/redirect");
    char *feed = url(state, "/feed.xml");
    const char *inputs[] = { jsonl, text, empty, redirect, feed };
    cd_reader *r = open_inputs(inputs, 5, 0);
    cd_story s;
    next_story(r, &s);
    assert_string_equal(s.id, "w1");
    char *src = str_printf("%s:1", jsonl);
    assert_string_equal(s.source, src);
    free(src);
    cd_story_clear(&s);
    src = str_printf("%s:2", jsonl);
    expect_story(r, src, "Wire two");
    free(src);
    next_story(r, &s);
    assert_string_equal(s.id, text);
    assert_string_equal(s.source, text);
    assert_string_equal(s.title, "Fetched title");
    assert_string_equal(s.body, "Fetched body.");
    cd_story_clear(&s);
    expect_story(r, "w1", "Wire one");  /* after a redirect: sources name the URL asked for */
    src = str_printf("%s:2", redirect);
    expect_story(r, src, "Wire two");
    free(src);
    next_story(r, &s);   /* a feed: links against its address */
    assert_string_equal(s.title, "Caf\u00e9");
    src = str_printf("http://127.0.0.1:%d/news/1.html", ((server *)*state)->port);
    assert_string_equal(s.id, src);
    free(src);
    cd_story_clear(&s);
    free(feed);
    next_end(r);
    cd_reader_free(r);
    free(jsonl);
    free(text);
    free(empty);
    free(redirect);
}

static void test_http_errors(void **state)
{
    char *missing = url(state, "/missing"), *loop = url(state, "/loop");
    char *to_file = url(state, "/to-file"), *big = url(state, "/big");
    char *unsized = url(state, "/big-unsized"), *slow = url(state, "/slow");
    char *ok = url(state, "/story.txt");
    const char *inputs[] = { missing, loop, to_file, big, unsized, slow, ok };
    cd_reader *r = open_inputs(inputs, 7, 1000);  /* documents up to 4000 bytes */
    char *msg = str_printf("%s: HTTP 404", missing);
    next_error(r, CD_ERR_NET, msg, NULL);
    free(msg);
    next_error(r, CD_ERR_NET, loop, "redirects");
    next_error(r, CD_ERR_NET, to_file, NULL);
    next_error(r, CD_ERR_LIMIT, big, ": document larger than 4000 bytes");
    next_error(r, CD_ERR_LIMIT, unsized, ": document larger than 4000 bytes");
    next_error(r, CD_ERR_NET, slow, "timed out");
    expect_story(r, ok, "Fetched title");
    next_end(r);
    cd_reader_free(r);
    free(missing);
    free(loop);
    free(to_file);
    free(big);
    free(unsized);
    free(slow);
    free(ok);
}

static void test_http_refused(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);  /* a port that nobody listens on */
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    char *u = str_printf("http://127.0.0.1:%d/x", ntohs(a.sin_port));
    cd_reader *r = open_one(u, 0);
    next_error(r, CD_ERR_NET, u, NULL);
    next_end(r);
    cd_reader_free(r);
    free(u);
}

static void test_open_arguments(void **state)
{
    (void)state;
    cd_reader *r = NULL;
    cd_error err = { 0 };
    assert_int_equal(cd_reader_open(NULL, 1, NULL, &r, &err), CD_ERR_ARG);
    const char *inputs[] = { "a", NULL };
    assert_int_equal(cd_reader_open(inputs, 2, NULL, &r, &err), CD_ERR_ARG);
    assert_int_equal(cd_reader_open(inputs, 1, NULL, NULL, &err), CD_ERR_ARG);
    cd_reader_opts zero = { 0 };  /* zeros mean the defaults */
    assert_int_equal(cd_reader_open(inputs, 1, &zero, &r, NULL), CD_OK);
    cd_story s;
    assert_int_equal(cd_reader_next(r, &s, NULL), CD_READ_ERROR);  /* err may be NULL */
    assert_int_equal(cd_reader_next(r, &s, NULL), CD_READ_END);
    cd_reader_free(r);
    cd_reader_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_default),
        cmocka_unit_test(test_story_text_and_clear),
        cmocka_unit_test(test_from_json_rules),
        cmocka_unit_test(test_from_json_meta_and_outputs),
        cmocka_unit_test(test_jsonl_ninjs_meta),
        cmocka_unit_test(test_json_array),
        cmocka_unit_test(test_json_array_one_line),
        cmocka_unit_test(test_sources_across_files),
        cmocka_unit_test(test_json_array_broken),
        cmocka_unit_test(test_pretty_object),
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_bracket_titles),
        cmocka_unit_test(test_malformed_json_files),
        cmocka_unit_test(test_feed_files),
        cmocka_unit_test(test_label_folders),
        cmocka_unit_test(test_symlinks_and_special_files),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_too_large_line),
        cmocka_unit_test(test_invalid_utf8_and_nul),
        cmocka_unit_test(test_nonexistent_and_unreadable),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_stdin_huge_line),
        cmocka_unit_test(test_json_strings_at_every_offset),
        cmocka_unit_test_setup_teardown(test_http_stories, server_start, server_stop),
        cmocka_unit_test_setup_teardown(test_http_errors, server_start, server_stop),
        cmocka_unit_test(test_http_refused),
        cmocka_unit_test(test_open_arguments),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
