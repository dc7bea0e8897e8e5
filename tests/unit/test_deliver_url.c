/*
 * test_deliver_url.c - the url destination against a real HTTP server on
 * 127.0.0.1 started by the test: a server that accepts the story, one that
 * answers 500 (retried, then given up), one that accepts the connection
 * and never answers (timeout), and one that is not there at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/deliver.h"
#include "test_http.h"
#include "support.h"

static cd_status post_to(test_server *srv, int port, unsigned retries, cd_error *err)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/desk", srv ? test_server_port(srv) : port);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = CD_DEST_URL;
    o.target = url;
    o.timeout_s = 0.5;
    o.connect_timeout_s = 0.5;
    o.retries = retries;
    o.backoff_s = 0.01;
    cd_dest *d;
    assert_int_equal(cdi_dest_new(&o, &d, err), CD_OK);
    cd_status st = cdi_dest_deliver(d, "s1", "{\"id\":\"s1\"}", 11, err);
    cdi_dest_free(d);
    return st;
}

static void server_accepts_story(void **state)
{
    (void)state;
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    cd_error err;
    assert_int_equal(post_to(srv, 0, 2, &err), CD_OK);
    assert_int_equal(test_server_requests(srv), 1);
    char *body = test_server_last_body(srv);
    assert_string_equal(body, "{\"id\":\"s1\"}");
    free(body);
    test_server_stop(srv);
}

static void server_error_is_retried_then_reported(void **state)
{
    (void)state;
    test_server *srv = test_server_start(SERVE_STATUS, 500);
    cd_error err;
    assert_int_equal(post_to(srv, 0, 2, &err), CD_ERR_NET);
    assert_int_equal(test_server_requests(srv), 3);
    assert_non_null(strstr(err.msg, "HTTP status 500"));
    assert_non_null(strstr(err.msg, "after 3 attempts"));
    test_server_stop(srv);
}

static void client_error_is_not_retried(void **state)
{
    (void)state;
    test_server *srv = test_server_start(SERVE_STATUS, 400);
    cd_error err;
    assert_int_equal(post_to(srv, 0, 2, &err), CD_ERR_NET);
    assert_int_equal(test_server_requests(srv), 1);
    test_server_stop(srv);
}

static void silent_server_times_out(void **state)
{
    (void)state;
    test_server *srv = test_server_start(SERVE_HANG, 0);
    cd_error err;
    assert_int_equal(post_to(srv, 0, 1, &err), CD_ERR_NET);
    assert_true(test_server_requests(srv) >= 1);
    assert_non_null(strstr(err.msg, "timed out"));
    test_server_stop(srv);
}

static void absent_server_fails(void **state)
{
    (void)state;
    /* a port that was just free: bind, read the port, close */
    test_server *srv = test_server_start(SERVE_STATUS, 200);
    int port = test_server_port(srv);
    test_server_stop(srv);
    cd_error err;
    assert_int_equal(post_to(NULL, port, 0, &err), CD_ERR_NET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_accepts_story),
        cmocka_unit_test(server_error_is_retried_then_reported),
        cmocka_unit_test(client_error_is_not_retried),
        cmocka_unit_test(silent_server_times_out),
        cmocka_unit_test(absent_server_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
