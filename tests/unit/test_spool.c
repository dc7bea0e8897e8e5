/*
 * test_spool.c - the persistent delivery queue (core/deliver/deliver_spool.h):
 * a url destination given a spool appends to it; stories survive
 * reopening, are posted oldest first through the bound destination, wait
 * with backoff while the endpoint fails, go to the destination's dead
 * letter when refused for good, and leftovers of a killed writer are
 * cleaned up.  A folder opened twice is one spool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/deliver_spool.h"
#include "test_http.h"
#include "support.h"

static void url_opts(cd_dest_opts *o, char *url, size_t cap, int port)
{
    snprintf(url, cap, "http://127.0.0.1:%d/in", port);
    cdi_dest_opts_default(o);
    o->kind = CD_DEST_URL;
    o->target = url;
    o->backoff_s = 0.05;
    o->timeout_s = 5;
}

/* The url destination name, appending to sp (its dead letter: dl). */
static cd_dest *spooled(cd_spool *sp, const char *name, cd_dest_opts *o, const char *dl)
{
    o->name = name;
    o->spool = sp;
    o->dead_letter = dl;
    cd_dest *d;
    cd_error e;
    assert_int_equal(cdi_dest_new(o, &d, &e), CD_OK);
    return d;
}

static void test_order_and_restart(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    test_server *srv = test_server_start(SERVE_STATUS, 503);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    cd_spool *sp;
    cd_error e;
    assert_int_equal(cdi_spool_open(dir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "desk", &o, NULL);
    assert_int_equal(cdi_dest_deliver(d, "a", "{\"id\":\"a\"}", 10, &e), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "b", "{\"id\":\"b\"}", 10, &e), CD_OK);
    assert_int_equal(test_server_requests(srv), 0);   /* appended, not posted */
    assert_int_equal(cdi_spool_sync(sp, &e), CD_OK);
    assert_int_equal(cdi_spool_add(sp, "nowhere", "c", "{}", 2, &e), CD_ERR_ARG);
    assert_int_equal(cdi_spool_depth(sp), 2);
    /* 503: nothing sent, the queue waits, the head stays */
    assert_int_equal(cdi_spool_drain(sp, 0.2, NULL, NULL), 0);
    assert_int_equal(cdi_spool_depth(sp), 2);
    cd_spool_queue_info qi;
    assert_int_equal(cdi_spool_queue_get(sp, 0, &qi), CD_OK);
    assert_true(qi.failures >= 1);
    assert_non_null(strstr(qi.last_error, "503"));
    cdi_spool_queue_info_clear(&qi);
    assert_true(cdi_spool_next_due(sp) >= 0);
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);

    /* a killed writer's temporary file is removed; the queue is as it was */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/desk/.tmp-00000000000000000003.json", dir);
    assert_int_equal(spit(tmp, "{", 1), 0);
    srv = test_server_start(SERVE_STATUS, 200);
    url_opts(&o, url, sizeof url, test_server_port(srv));
    assert_int_equal(cdi_spool_open(dir, &sp, &e), CD_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(cdi_spool_depth(sp), 2);
    assert_int_equal(cdi_spool_drain(sp, 5, NULL, NULL), 0);   /* no url until bound */
    d = spooled(sp, "desk", &o, NULL);
    assert_int_equal(cdi_spool_drain(sp, 5, NULL, NULL), 2);
    assert_int_equal(cdi_spool_depth(sp), 0);
    assert_int_equal(test_server_requests(srv), 2);
    char *last = test_server_last_body(srv);
    assert_string_equal(last, "{\"id\":\"b\"}");   /* oldest first: b came last */
    free(last);
    assert_true(cdi_spool_next_due(sp) == -1);   /* a double: no integer cast */
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

typedef struct events {
    int sent, refused, retry;
} events;

static void on_event(void *ud, cd_spool_event ev, const char *dest, const char *id,
                     const char *error, double retry_in)
{
    events *n = ud;
    (void)dest; (void)id; (void)error; (void)retry_in;
    n->sent += ev == CD_SPOOL_SENT;
    n->refused += ev == CD_SPOOL_REFUSED;
    n->retry += ev == CD_SPOOL_RETRY;
}

static void test_refused_goes_to_dead_letter(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char dl[600];
    snprintf(dl, sizeof dl, "%s/dead", dir);
    test_server *srv = test_server_start(SERVE_STATUS, 400);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    cd_spool *sp;
    cd_error e;
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/spool", dir);
    assert_int_equal(cdi_spool_open(sdir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "d", &o, dl);
    assert_int_equal(cdi_dest_deliver(d, "x", "{\"id\":\"x\"}", 10, &e), CD_OK);
    events n = { 0 };
    assert_int_equal(cdi_spool_drain(sp, 5, on_event, &n), 0);
    assert_int_equal(n.refused, 1);
    assert_int_equal(cdi_spool_depth(sp), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/x.d.json", dl);
    size_t len;
    char *env = slurp(path, &len);
    assert_non_null(env);
    assert_non_null(strstr(env, "\"story\":{\"id\":\"x\"}"));
    free(env);
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

static void test_backoff_doubles(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    test_server *srv = test_server_start(SERVE_STATUS, 500);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    o.backoff_s = 0.1;
    cd_spool *sp;
    cd_error e;
    assert_int_equal(cdi_spool_open(dir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "d", &o, NULL);
    assert_int_equal(cdi_dest_deliver(d, "x", "{}", 2, &e), CD_OK);
    events n = { 0 };
    cdi_spool_drain(sp, 0.05, on_event, &n);
    assert_int_equal(n.retry, 1);
    double first = cdi_spool_next_due(sp);
    assert_true(first > 0.05 && first <= 0.1);
    cdi_spool_drain(sp, 0.0, on_event, &n);   /* not due yet: no attempt */
    assert_int_equal(n.retry, 1);
    usleep(120000);
    cdi_spool_drain(sp, 0.05, on_event, &n);
    assert_int_equal(n.retry, 2);
    assert_true(cdi_spool_next_due(sp) > 0.15);   /* 0.2 now */
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

typedef struct ids {
    char got[4][64];
    int n;
} ids;

static void on_id(void *ud, cd_spool_event ev, const char *dest, const char *id,
                  const char *error, double retry_in)
{
    ids *v = ud;
    (void)ev; (void)dest; (void)error; (void)retry_in;
    if (v->n < 4)
        snprintf(v->got[v->n++], sizeof v->got[0], "%s", id);
}

/* The events and the dead letter name the story by the id it was queued
 * with, whatever the body (a ninjs document starts with its uri, not an
 * "id"); the body is posted as given.  A file of an older spool (the story
 * JSON alone) still goes out, named by its "id". */
static void test_ids_kept_with_the_queue(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char dl[600], sdir[600];
    snprintf(dl, sizeof dl, "%s/dead", dir);
    snprintf(sdir, sizeof sdir, "%s/spool", dir);
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    cd_spool *sp;
    cd_error e;
    assert_int_equal(cdi_spool_open(sdir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "wire", &o, dl);
    const char *doc = "{\"uri\":\"urn:copydesk:story-42\",\"headline\":\"t\"}";
    assert_int_equal(cdi_dest_deliver(d, "story-42", doc, strlen(doc), &e), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "a \"quoted\"\nid", "{}", 2, &e), CD_OK);
    ids v = { .n = 0 };
    assert_int_equal(cdi_spool_drain(sp, 5, on_id, &v), 2);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.got[0], "story-42");
    assert_string_equal(v.got[1], "a \"quoted\"\nid");
    char *last = test_server_last_body(srv);
    assert_string_equal(last, "{}");
    free(last);
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);

    /* an older spool's file, and an endpoint that refuses it */
    char old[700];
    snprintf(old, sizeof old, "%s/wire/00000000000000000007.json", sdir);
    assert_int_equal(spit(old, "{\"id\":\"old-1\"}", 14), 0);
    srv = test_server_start(SERVE_STATUS, 400);
    url_opts(&o, url, sizeof url, test_server_port(srv));
    assert_int_equal(cdi_spool_open(sdir, &sp, &e), CD_OK);
    d = spooled(sp, "wire", &o, dl);
    doc = "{\"uri\":\"urn:copydesk:story-43\"}";
    assert_int_equal(cdi_dest_deliver(d, "story-43", doc, strlen(doc), &e), CD_OK);
    v.n = 0;
    assert_int_equal(cdi_spool_drain(sp, 5, on_id, &v), 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.got[0], "old-1");
    assert_string_equal(v.got[1], "story-43");
    char path[800];
    size_t len;
    snprintf(path, sizeof path, "%s/story-43.wire.json", dl);
    char *env = slurp(path, &len);
    assert_non_null(env);
    assert_non_null(strstr(env, "\"story\":{\"uri\":\"urn:copydesk:story-43\"}}"));
    free(env);
    snprintf(path, sizeof path, "%s/old-1.wire.json", dl);
    env = slurp(path, &len);
    assert_non_null(env);
    assert_non_null(strstr(env, "\"story\":{\"id\":\"old-1\"}}"));
    free(env);
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

/* A queued file that cannot be read now (here a folder in its place: the
 * read fails with EISDIR, as EMFILE or EIO would) is not passed over: it
 * stays the head, the queue says why and waits, and once it reads again
 * the stories go out in order.  A file removed by hand is skipped. */
static void test_unreadable_head_waits(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    cd_spool *sp;
    cd_error e;
    assert_int_equal(cdi_spool_open(dir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "d", &o, NULL);
    assert_int_equal(cdi_dest_deliver(d, "gone", "{\"id\":\"gone\"}", 13, &e), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "a", "{\"id\":\"a\"}", 10, &e), CD_OK);
    assert_int_equal(cdi_dest_deliver(d, "b", "{\"id\":\"b\"}", 10, &e), CD_OK);
    char gone[700], head[700], aside[700];
    snprintf(gone, sizeof gone, "%s/d/00000000000000000001.json", dir);
    snprintf(head, sizeof head, "%s/d/00000000000000000002.json", dir);
    snprintf(aside, sizeof aside, "%s/d/aside", dir);
    assert_int_equal(unlink(gone), 0);
    assert_int_equal(rename(head, aside), 0);
    assert_int_equal(mkdir(head, 0755), 0);
    events n = { 0 };
    assert_int_equal(cdi_spool_drain(sp, 0.2, on_event, &n), 0);
    assert_true(n.retry >= 1);
    assert_int_equal(test_server_requests(srv), 0);
    assert_int_equal(cdi_spool_depth(sp), 2);   /* the removed one alone is gone */
    cd_spool_queue_info qi;
    assert_int_equal(cdi_spool_queue_get(sp, 0, &qi), CD_OK);
    assert_true(qi.failures >= 1);
    assert_non_null(qi.last_error);
    assert_non_null(strstr(qi.last_error, "00000000000000000002.json"));
    cdi_spool_queue_info_clear(&qi);
    assert_true(cdi_spool_next_due(sp) > 0);
    assert_int_equal(rmdir(head), 0);
    assert_int_equal(rename(aside, head), 0);
    usleep(120000);   /* past the backoff */
    assert_int_equal(cdi_spool_drain(sp, 5, on_event, &n), 2);
    assert_int_equal(cdi_spool_depth(sp), 0);
    char *last = test_server_last_body(srv);
    assert_string_equal(last, "{\"id\":\"b\"}");   /* a first, then b */
    free(last);
    cdi_dest_free(d);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

/* A desk reloaded beside the running one opens the same folder: one
 * spool, whose queue the newest destination posts; a newer one freed (a
 * reload that failed) gives the queue back to the running one; when the
 * old one is freed the queue stays with the new; a queue whose
 * destination is gone waits. */
static void test_one_spool_per_folder(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, test_server_port(srv));
    cd_spool *a, *b;
    cd_error e;
    assert_int_equal(cdi_spool_open(dir, &a, &e), CD_OK);
    char again[700];
    snprintf(again, sizeof again, "%s/./", dir);
    assert_int_equal(cdi_spool_open(again, &b, &e), CD_OK);
    assert_ptr_equal(a, b);
    cd_dest *old = spooled(a, "desk", &o, NULL);
    assert_int_equal(cdi_dest_deliver(old, "1", "{\"id\":\"1\"}", 10, &e), CD_OK);
    cd_dest *failed = spooled(b, "desk", &o, NULL);
    cdi_dest_free(failed);   /* a reload that failed: the old one posts */
    cd_spool_queue_info qi;
    assert_int_equal(cdi_spool_queue_get(a, 0, &qi), CD_OK);
    assert_non_null(qi.url);
    cdi_spool_queue_info_clear(&qi);
    cd_dest *cur = spooled(b, "desk", &o, NULL);
    assert_int_equal(cdi_dest_deliver(cur, "2", "{\"id\":\"2\"}", 10, &e), CD_OK);
    cdi_dest_free(old);   /* the queue keeps the newer destination */
    assert_int_equal(cdi_spool_depth(a), 2);
    assert_int_equal(cdi_spool_drain(a, 5, NULL, NULL), 2);
    assert_int_equal(test_server_requests(srv), 2);
    cdi_spool_free(b);
    assert_int_equal(cdi_dest_deliver(cur, "3", "{\"id\":\"3\"}", 10, &e), CD_OK);
    cdi_dest_free(cur);   /* gone: its queue waits */
    assert_int_equal(cdi_spool_depth(a), 1);
    assert_int_equal(cdi_spool_drain(a, 5, NULL, NULL), 0);
    assert_true(cdi_spool_next_due(a) == -1);
    assert_int_equal(cdi_spool_queue_get(a, 0, &qi), CD_OK);
    assert_null(qi.url);
    assert_int_equal(qi.sent, 2);
    cdi_spool_queue_info_clear(&qi);
    assert_int_equal(cdi_spool_queue_get(a, 1, &qi), CD_ERR_ARG);
    cdi_spool_free(a);
    test_server_stop(srv);
    scratch_remove(dir);
}

/* A queue's state is a copy taken under the lock: it stays whole when the
 * destination it names is replaced and freed (a desk reloaded), and
 * reading it while another thread binds new queues (sp->q moves) is safe. */
typedef struct binder {
    cd_spool *sp;
    cd_dest_opts *o;
    int n;
} binder;

static void *bind_many(void *arg)
{
    binder *b = arg;
    for (int i = 0; i < b->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "q%03d", i);
        cd_dest *d = spooled(b->sp, name, b->o, NULL);
        cdi_dest_free(d);
    }
    return NULL;
}

static void test_queue_info_is_a_copy(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char url[128];
    cd_dest_opts o;
    url_opts(&o, url, sizeof url, 9);
    cd_spool *sp;
    cd_error e;
    assert_int_equal(cdi_spool_open(dir, &sp, &e), CD_OK);
    cd_dest *d = spooled(sp, "desk", &o, NULL);
    assert_int_equal(cdi_dest_deliver(d, "a", "{}", 2, &e), CD_OK);
    cd_spool_queue_info qi;
    assert_int_equal(cdi_spool_queue_get(sp, 0, &qi), CD_OK);
    char url2[128];
    cd_dest_opts o2;
    url_opts(&o2, url2, sizeof url2, 10);
    cd_dest *d2 = spooled(sp, "desk", &o2, NULL);   /* replaces the queue's name */
    cdi_dest_free(d);                                 /* and frees the url read */
    assert_string_equal(qi.name, "desk");
    assert_string_equal(qi.url, "http://127.0.0.1:9/in");
    assert_int_equal(qi.depth, 1);
    cdi_spool_queue_info_clear(&qi);
    assert_null(qi.name);

    pthread_t t;
    binder b = { sp, &o2, 150 };
    assert_int_equal(pthread_create(&t, NULL, bind_many, &b), 0);
    size_t seen = 0;
    while (seen < 151) {
        size_t n = cdi_spool_queues(sp);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(cdi_spool_queue_get(sp, i, &qi), CD_OK);
            assert_non_null(qi.name);
            cdi_spool_queue_info_clear(&qi);
        }
        seen = n;
    }
    pthread_join(t, NULL);
    cdi_dest_free(d2);
    cdi_spool_free(sp);
    scratch_remove(dir);
}

/* A desk loaded with a spool folder: its url destination appends the
 * story to the spool, the endpoint sees nothing until the spool drains. */
static void test_desk_appends_to_its_spool(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    char config[512], path[700], sdir[700];
    snprintf(config, sizeof config,
             "destination \"desk\" { url = \"http://127.0.0.1:%d/in\" }\n"
             "fallback \"desk\"\n", test_server_port(srv));
    snprintf(path, sizeof path, "%s/desk.lua", dir);
    snprintf(sdir, sizeof sdir, "%s/spool", dir);
    assert_int_equal(spit(path, config, strlen(config)), 0);
    cd_desk_opts o;
    cd_desk_opts_default(&o);
    o.spool_dir = sdir;
    cd_desk *desk;
    cd_error e;
    assert_int_equal(cd_desk_load(path, &o, &desk, &e), CD_OK);
    cd_story s;
    make_story(&s, "story-1", "A title", "A body", NULL);
    cd_decision dec;
    assert_int_equal(cd_desk_route(desk, &s, 0, &dec, &e), CD_OK);
    cd_story_clear(&s);
    assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
    assert_int_equal(test_server_requests(srv), 0);
    cd_spool *sp;
    assert_int_equal(cdi_spool_open(sdir, &sp, &e), CD_OK);   /* the desk's */
    assert_int_equal(cdi_spool_depth(sp), 1);
    assert_int_equal(cdi_spool_drain(sp, 5, NULL, NULL), 1);
    char *body = test_server_last_body(srv);
    assert_non_null(strstr(body, "\"id\":\"story-1\""));
    free(body);
    cd_desk_free(desk);
    cdi_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_restart),
        cmocka_unit_test(test_refused_goes_to_dead_letter),
        cmocka_unit_test(test_backoff_doubles),
        cmocka_unit_test(test_one_spool_per_folder),
        cmocka_unit_test(test_ids_kept_with_the_queue),
        cmocka_unit_test(test_unreadable_head_waits),
        cmocka_unit_test(test_queue_info_is_a_copy),
        cmocka_unit_test(test_desk_appends_to_its_spool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
