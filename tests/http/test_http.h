/*
 * test_http.h - the one HTTP server of the tests, on 127.0.0.1: run in a
 * thread by the unit tests (test_server_start), and as the program
 * build/<config>/http_server by the command-line tests (test_http_main.c).
 *
 * One connection at a time, each closed after one answer:
 *   GET /NAME   the file ROOT/NAME (with root), with an ETag and a
 *               Last-Modified (and the Content-Type written in
 *               ROOT/NAME.type if there is one); a request whose If-None-Match matches gets
 *               304; no such file, or no root: 404.
 *   POST ...    answered with the status given (default 200), or the one
 *               written in the file ROOT/.status when there is one, after
 *               the milliseconds in ROOT/.delay if any (a slow endpoint);
 *               status 0 means never answer: the server waits until the
 *               client gives up.  The body of a POST answered 2xx is
 *               appended as one line to LOG.
 * Every request is counted, its body kept as the last one, and noted as
 * "METHOD PATH STATUS" (STATUS "hang" when not answered) in LOG.req.
 */
#ifndef CD_TEST_HTTP_H
#define CD_TEST_HTTP_H

typedef struct test_http_opts {
    int port;              /* 0: an ephemeral port */
    int status;            /* the answer to a POST; 0: never answer */
    const char *root;      /* the files GET serves, and .status/.delay; or NULL */
    const char *log;       /* bodies of POSTs answered 2xx, one per line; or NULL */
} test_http_opts;

typedef struct test_server test_server;

/* Listen and serve in a thread until test_server_stop; aborts when the
 * socket cannot be set up (a test cannot go on without it). */
test_server *test_http_start(const test_http_opts *opts);

/* Listen, write the port to portfile (whole: a temporary name, then
 * renamed), serve until seconds have passed.  Returns 0, or 1 with a
 * message on stderr when the socket cannot be set up. */
int test_http_run(const test_http_opts *opts, const char *portfile, int seconds);

/* The unit tests' server: every POST answered status (SERVE_STATUS) or
 * never (SERVE_HANG), no files, no log. */
typedef enum { SERVE_STATUS, SERVE_HANG } serve_mode;
test_server *test_server_start(serve_mode mode, int status);

int test_server_port(const test_server *s);
int test_server_requests(test_server *s);
/* A copy of the body of the last request (caller frees), or NULL. */
char *test_server_last_body(test_server *s);
void test_server_stop(test_server *s);

#endif
