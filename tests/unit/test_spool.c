/*
 * test_spool.c - the persistent delivery queue (core/deliver/deliver_spool.h):
 * stories survive reopening, are posted oldest first, wait with backoff
 * while the endpoint fails, go to dead letter when refused for good, and
 * leftovers of a killed writer are cleaned up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/deliver_spool.h"
#include "http_server.h"
#include "support.h"

static void url_opts(cd_dest_opts *o, char *url, size_t cap, int port)
{
    snprintf(url, cap, "http://127.0.0.1:%d/in", port);
    cd_dest_opts_default(o);
    o->kind = CD_DEST_URL;
    o->target = url;
    o->backoff_s = 0.05;
    o->timeout_s = 5;
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
    assert_int_equal(cd_spool_open(dir, &sp, &e), CD_OK);
    assert_int_equal(cd_spool_set_dest(sp, "desk", &o, NULL, &e), CD_OK);
    assert_int_equal(cd_spool_add(sp, "desk", "a", "{\"id\":\"a\"}", 10, &e), CD_OK);
    assert_int_equal(cd_spool_add(sp, "desk", "b", "{\"id\":\"b\"}", 10, &e), CD_OK);
    assert_int_equal(cd_spool_sync(sp, &e), CD_OK);
    assert_int_equal(cd_spool_add(sp, "nowhere", "c", "{}", 2, &e), CD_ERR_ARG);
    assert_int_equal(cd_spool_depth(sp), 2);
    /* 503: nothing sent, the queue waits, the head stays */
    assert_int_equal(cd_spool_drain(sp, 0.2, NULL, NULL), 0);
    assert_int_equal(cd_spool_depth(sp), 2);
    cd_spool_queue_info qi;
    cd_spool_queue_get(sp, 0, &qi);
    assert_true(qi.failures >= 1);
    assert_non_null(strstr(qi.last_error, "503"));
    assert_true(cd_spool_next_due(sp) >= 0);
    cd_spool_free(sp);
    test_server_stop(srv);

    /* a killed writer's temporary file is removed; the queue is as it was */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/desk/.tmp-00000000000000000003.json", dir);
    assert_int_equal(spit(tmp, "{", 1), 0);
    srv = test_server_start(SERVE_STATUS, 200);
    url_opts(&o, url, sizeof url, test_server_port(srv));
    assert_int_equal(cd_spool_open(dir, &sp, &e), CD_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(cd_spool_depth(sp), 2);
    assert_int_equal(cd_spool_drain(sp, 5, NULL, NULL), 0);   /* no url until named */
    assert_int_equal(cd_spool_set_dest(sp, "desk", &o, NULL, &e), CD_OK);
    assert_int_equal(cd_spool_drain(sp, 5, NULL, NULL), 2);
    assert_int_equal(cd_spool_depth(sp), 0);
    assert_int_equal(test_server_requests(srv), 2);
    char *last = test_server_last_body(srv);
    assert_string_equal(last, "{\"id\":\"b\"}");   /* oldest first: b came last */
    free(last);
    assert_true(cd_spool_next_due(sp) == -1);   /* a double: no integer cast */
    cd_spool_free(sp);
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
    assert_int_equal(cd_spool_open(sdir, &sp, &e), CD_OK);
    assert_int_equal(cd_spool_set_dest(sp, "d", &o, dl, &e), CD_OK);
    assert_int_equal(cd_spool_add(sp, "d", "x", "{\"id\":\"x\"}", 10, &e), CD_OK);
    events n = { 0 };
    assert_int_equal(cd_spool_drain(sp, 5, on_event, &n), 0);
    assert_int_equal(n.refused, 1);
    assert_int_equal(cd_spool_depth(sp), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/x.d.json", dl);
    size_t len;
    char *env = slurp(path, &len);
    assert_non_null(env);
    assert_non_null(strstr(env, "\"story\":{\"id\":\"x\"}"));
    free(env);
    cd_spool_free(sp);
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
    assert_int_equal(cd_spool_open(dir, &sp, &e), CD_OK);
    assert_int_equal(cd_spool_set_dest(sp, "d", &o, NULL, &e), CD_OK);
    assert_int_equal(cd_spool_add(sp, "d", "x", "{}", 2, &e), CD_OK);
    events n = { 0 };
    cd_spool_drain(sp, 0.05, on_event, &n);
    assert_int_equal(n.retry, 1);
    double first = cd_spool_next_due(sp);
    assert_true(first > 0.05 && first <= 0.1);
    cd_spool_drain(sp, 0.0, on_event, &n);   /* not due yet: no attempt */
    assert_int_equal(n.retry, 1);
    usleep(120000);
    cd_spool_drain(sp, 0.05, on_event, &n);
    assert_int_equal(n.retry, 2);
    assert_true(cd_spool_next_due(sp) > 0.15);   /* 0.2 now */
    cd_spool_free(sp);
    test_server_stop(srv);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_restart),
        cmocka_unit_test(test_refused_goes_to_dead_letter),
        cmocka_unit_test(test_backoff_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
