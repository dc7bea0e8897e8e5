/*
 * serve.h - copydesk serve as a library call: the desk of
 * core/serve/service.h behind an HTTP server (libmicrohttpd), until
 * SIGTERM or SIGINT.
 *
 * Threads: libmicrohttpd's pool of `threads` threads, each with its own
 * epoll loop over its share of the connections, answers the requests
 * (core/serve/http_api.c), each with its own copy of the desk; the
 * calling thread runs the live desk of copydesk watch (core/live/watch.h)
 * on the same state folder: the inbox (when given), the desk's feeds, the
 * spool's draining, and the reload of the desk when its file, a module or
 * a model changes (or on SIGHUP), gated by its expect cases, after which
 * the HTTP threads' copies are reloaded too.  All url deliveries, from
 * HTTP or not, go through the one spool.  SIGTERM and SIGINT stop watch,
 * then HTTP (requests in flight finish), and return.
 *
 * Limits (all have defaults; docs/security.md lists them): connections
 * at once, connections per client address, the memory of one connection
 * for its request line and headers (a header flood is refused with 431),
 * the request body (the story size limit; 413), the seconds a connection
 * may stay idle (slow clients are cut off), and the bytes of request
 * bodies held at once over all connections (503 beyond).
 */
#ifndef CD_SERVE_SERVE_H
#define CD_SERVE_SERVE_H

#include <stdio.h>

#include "serve/service.h"

typedef struct cd_serve_opts {
    cd_service_opts service;   /* config, state, token, limits of the desk */
    const char *listen;        /* "127.0.0.1:8080", "[::1]:8080", "localhost:8080" */
    unsigned threads;          /* HTTP threads (default: the number of cores) */
    unsigned max_connections;  /* at once (default 512) */
    unsigned per_ip;           /* per client address (default 0: no limit) */
    unsigned timeout_s;        /* idle seconds before a connection is closed (default 30) */
    size_t header_bytes;       /* memory for one connection's request head (default 32 KiB) */
    size_t inflight_bytes;     /* request bodies held at once (default 1 GiB) */
    const char *inbox;         /* watch's inbox folder, or NULL (HTTP and feeds) */
    int json_log;              /* watch logs JSON lines */
    const char *web;           /* the editor's page's files (NULL: beside the program) */
    const char *consumer;      /* watch's name in the desk's stream groups (NULL: HOST:PID) */
} cd_serve_opts;

void cdi_serve_opts_default(cd_serve_opts *o);

/* Parse "HOST:PORT"; 1 when host is a loopback address (127.0.0.0/8,
 * ::1, localhost), 0 when not, -1 when listen is not an address. */
int cdi_serve_listen_loopback(const char *listen);

/* Run until stopped.  Returns 0 after a clean stop, 2 when it could not
 * start (err says why). */
int cdi_serve_run(const cd_serve_opts *o, cd_error *err);

#endif
