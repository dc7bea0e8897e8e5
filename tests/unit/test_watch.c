/*
 * test_watch.c - parts of copydesk watch on their own: the order in which
 * inbox files are routed (core/live/watch_inbox.c) and feed items routed
 * once (core/live/watch_feeds.c: seen ids, remembered only after the
 * spool is synced).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "live/watch_internal.h"
#include "support.h"

static void touch(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(spit(path, "{}", 2), 0);
}

static void take_is(cd_inbox *q, const char *want)
{
    char *got = cdi_inbox_take(q);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Files already there come in name order, whatever order they were made
 * in; hidden files and folders never; files that arrive later follow in
 * order of arrival; a name waiting already is not queued twice. */
static void inbox_lists_in_name_order_then_arrival(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    touch(dir, "b.json");
    touch(dir, "c.jsonl");
    touch(dir, "a.json");
    touch(dir, ".a.json.tmp");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/done", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    cd_inbox q = { 0 };
    q.rescan = 1;
    assert_int_equal(cdi_inbox_scan(&q, dir), 0);
    assert_false(q.rescan);
    assert_int_equal(q.n, 3);
    cdi_inbox_push(&q, "z.json");       /* arrived after the listing */
    cdi_inbox_push(&q, "0.json");       /* sorts first, but arrived last */
    cdi_inbox_push(&q, "b.json");       /* already waiting */
    cdi_inbox_push(&q, ".hidden");      /* a writer's temporary file */
    take_is(&q, "a.json");
    take_is(&q, "b.json");
    take_is(&q, "c.jsonl");
    take_is(&q, "z.json");
    take_is(&q, "0.json");
    take_is(&q, NULL);
    /* once taken, a name can come again (a file dropped twice) */
    cdi_inbox_push(&q, "a.json");
    take_is(&q, "a.json");
    cdi_inbox_free(&q);
    /* listing again keeps what waits and adds only the missing names */
    cdi_inbox_push(&q, "c.jsonl");
    assert_int_equal(cdi_inbox_scan(&q, dir), 0);
    take_is(&q, "c.jsonl");
    take_is(&q, "a.json");
    take_is(&q, "b.json");
    take_is(&q, NULL);
    cdi_inbox_free(&q);
    scratch_remove(dir);
    assert_int_equal(cdi_inbox_scan(&q, "/nonexistent/inbox"), -1);
    assert_int_equal(errno, ENOENT);
}

/* What a poll routed: the ids, in order, joined by spaces. */
typedef struct routed {
    char ids[512];
    int fail;          /* route answers "not safe" */
    int errors;
} routed;

static int route(void *ud, const cd_story *s, const char *source)
{
    routed *r = ud;
    assert_string_equal(source, "feed:wire");
    size_t n = strlen(r->ids);
    snprintf(r->ids + n, sizeof r->ids - n, "%s%s", n ? " " : "", s->id);
    return r->fail ? -1 : 0;
}

static void on_error(void *ud, const char *feed, const char *msg)
{
    (void)feed; (void)msg;
    ((routed *)ud)->errors++;
}

static int never(void *ud)
{
    (void)ud;
    return 0;
}

/* One poll of the document: the ids routed.  remember: the spool synced. */
static const char *poll(feed_state *f, routed *r, const char *doc, int remember)
{
    r->ids[0] = '\0';
    cd_feed_batch b = { .f = f, .route = route, .error = on_error, .stop = never, .ud = r };
    size_t nitems;
    cd_error e;
    assert_int_equal(cdi_feed_batch_parse(&b, doc, strlen(doc), &nitems, &e), CD_OK);
    cdi_feed_batch_finish(&b, remember);
    return r->ids;
}

/* An item is routed once across polls and restarts (the seen file); not
 * remembered when the spool could not be synced or routing failed, so it
 * comes again rather than being lost. */
static void feed_items_are_routed_once(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/wire.seen", dir);
    feed_state f = { .name = "wire", .format = "jsonl" };
    cd_error e;
    assert_int_equal(cdi_seen_open(path, 0, &f.seen, &e), CD_OK);
    routed r = { 0 };
    const char *ab = "{\"id\":\"a\",\"title\":\"A\"}\n{\"id\":\"b\",\"title\":\"B\"}\n";
    const char *abc = "{\"id\":\"a\",\"title\":\"A\"}\n{\"id\":\"b\",\"title\":\"B\"}\n"
                      "{\"id\":\"c\",\"title\":\"C\"}\n";
    assert_string_equal(poll(&f, &r, ab, 1), "a b");
    assert_int_equal(f.items, 2);
    assert_string_equal(poll(&f, &r, ab, 1), "");
    assert_string_equal(poll(&f, &r, abc, 0), "c");     /* spool not synced */
    assert_string_equal(poll(&f, &r, abc, 1), "c");     /* so c comes again */
    assert_string_equal(poll(&f, &r, abc, 1), "");
    r.fail = 1;
    const char *d = "{\"id\":\"d\",\"title\":\"D\"}\n";
    assert_string_equal(poll(&f, &r, d, 1), "d");       /* no safe outcome */
    r.fail = 0;
    assert_string_equal(poll(&f, &r, d, 1), "d");
    cdi_seen_free(f.seen);
    /* after a restart the seen file remembers */
    assert_int_equal(cdi_seen_open(path, 0, &f.seen, &e), CD_OK);
    assert_string_equal(poll(&f, &r, abc, 1), "");
    assert_string_equal(poll(&f, &r, d, 1), "");
    assert_int_equal(r.errors, 0);
    cdi_seen_free(f.seen);
    scratch_remove(dir);
}

static int count_route(void *ud, const cd_story *s, const char *source)
{
    (void)s; (void)source;
    (*(size_t *)ud)++;
    return 0;
}

static void count_error(void *ud, const char *feed, const char *msg)
{
    (void)ud; (void)feed;
    fail_msg("unexpected error: %s", msg);
}

/* A feed that serves 100,000 items (five times the ids remembered beyond
 * what the feed serves): each item is routed once, however many polls,
 * and across a restart; once the feed stops serving most of them, they
 * are forgotten down to the bound. */
static void a_large_feed_is_routed_once(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/big.seen", dir);
    size_t n = 100000;
    cd_buf doc = { 0 };
    for (size_t i = 0; i < n; i++)
        cdi_buf_printf(&doc, "{\"id\":\"item-%zu\",\"title\":\"T\"}\n", i);
    assert_false(doc.failed);
    feed_state f = { .name = "big", .format = "jsonl" };
    cd_error e;
    for (int restart = 0; restart < 2; restart++) {
        assert_int_equal(cdi_seen_open(path, 0, &f.seen, &e), CD_OK);
        for (int p = 0; p < 3; p++) {
            size_t routed_n = 0, nitems;
            cd_feed_batch b = { .f = &f, .route = count_route, .error = count_error,
                                .stop = never, .ud = &routed_n };
            assert_int_equal(cdi_feed_batch_parse(&b, doc.data, doc.len, &nitems, &e), CD_OK);
            cdi_feed_batch_finish(&b, 1);
            assert_int_equal(nitems, n);
            assert_int_equal(routed_n, restart == 0 && p == 0 ? n : 0);
        }
        assert_int_equal(cdi_seen_count(f.seen), n);
        cdi_seen_free(f.seen);
    }
    /* the feed now serves one item: the others are forgotten down to
     * CD_SEEN_KEEP, and that item is still not routed again */
    assert_int_equal(cdi_seen_open(path, 0, &f.seen, &e), CD_OK);
    const char *one = "{\"id\":\"item-7\",\"title\":\"T\"}\n";
    size_t routed_n = 0, nitems;
    cd_feed_batch b = { .f = &f, .route = count_route, .error = count_error,
                        .stop = never, .ud = &routed_n };
    assert_int_equal(cdi_feed_batch_parse(&b, one, strlen(one), &nitems, &e), CD_OK);
    cdi_feed_batch_finish(&b, 1);
    assert_int_equal(routed_n, 0);
    assert_int_equal(cdi_seen_count(f.seen), CD_SEEN_KEEP);
    assert_true(cdi_seen_has(f.seen, "item-7"));
    assert_true(cdi_seen_has(f.seen, "item-99999"));   /* the newest stay */
    assert_false(cdi_seen_has(f.seen, "item-8"));
    cdi_seen_free(f.seen);
    cdi_buf_free(&doc);
    scratch_remove(dir);
}

/* Past the most ids a feed may remember, new items are skipped and
 * reported, never routed at every poll. */
static void items_beyond_the_memory_are_skipped_and_reported(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/cap.seen", dir);
    feed_state f = { .name = "wire", .format = "jsonl" };
    cd_error e;
    assert_int_equal(cdi_seen_open(path, 2, &f.seen, &e), CD_OK);
    cdi_seen_set_max(f.seen, 4);
    routed r = { 0 };
    const char *doc = "{\"id\":\"a\",\"title\":\"A\"}\n{\"id\":\"b\",\"title\":\"B\"}\n"
                      "{\"id\":\"c\",\"title\":\"C\"}\n{\"id\":\"d\",\"title\":\"D\"}\n"
                      "{\"id\":\"e\",\"title\":\"E\"}\n{\"id\":\"f\",\"title\":\"F\"}\n";
    assert_string_equal(poll(&f, &r, doc, 1), "a b c d");
    assert_int_equal(r.errors, 1);
    assert_string_equal(poll(&f, &r, doc, 1), "");
    assert_int_equal(r.errors, 2);      /* said again at each poll */
    assert_int_equal(cdi_seen_count(f.seen), 4);
    cdi_seen_free(f.seen);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inbox_lists_in_name_order_then_arrival),
        cmocka_unit_test(feed_items_are_routed_once),
        cmocka_unit_test(a_large_feed_is_routed_once),
        cmocka_unit_test(items_beyond_the_memory_are_skipped_and_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
