/*
 * http_server.h - a tiny HTTP server on 127.0.0.1 for the url destination
 * tests, header-only (the build links each test with support.c alone).
 *
 * One thread accepts connections one at a time and answers every request
 * with a fixed status, or never answers (SERVE_HANG) until stopped; it
 * counts requests and keeps the last request body.  poll() with a short
 * timeout lets test_server_stop end it promptly.
 */
#ifndef CD_TEST_HTTP_SERVER_H
#define CD_TEST_HTTP_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum { SERVE_STATUS, SERVE_HANG } serve_mode;

typedef struct test_server test_server;

struct test_server {
    int fd;
    int port;
    serve_mode mode;
    int status;
    volatile int stop;
    int requests;
    char *last_body;
    pthread_mutex_t lock;
    pthread_t thread;
};

/* The value of the Content-Length header in the headers at buf. */
static size_t content_length(const char *buf)
{
    for (const char *p = buf; *p; p++)
        if (!strncasecmp(p, "content-length:", 15))
            return strtoul(p + 15, NULL, 10);
    return 0;
}

/* Read one request (headers and Content-Length body); returns the body. */
static char *read_request(test_server *s, int c)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    char *body = NULL;
    while (buf && !s->stop && n < cap) {
        struct pollfd p = { c, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = read(c, buf + n, cap - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        size_t want = content_length(buf);
        if (n >= (size_t)(end + 4 - buf) + want) {
            body = strndup(end + 4, want);
            break;
        }
    }
    free(buf);
    return body;
}

static void serve_one(test_server *s, int c)
{
    char *body = read_request(s, c);
    pthread_mutex_lock(&s->lock);
    s->requests++;
    if (body) {
        free(s->last_body);
        s->last_body = body;
    }
    pthread_mutex_unlock(&s->lock);
    if (s->mode == SERVE_HANG) {
        while (!s->stop) {
            struct pollfd p = { c, POLLIN, 0 };
            if (poll(&p, 1, 50) > 0) {
                char tmp[256];
                if (read(c, tmp, sizeof tmp) <= 0)
                    break;
            }
        }
    } else {
        char reply[256];
        int n = snprintf(reply, sizeof reply,
                         "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                         s->status);
        if (write(c, reply, (size_t)n) < 0)
            perror("test server");
    }
    close(c);
}

static void *run(void *ud)
{
    test_server *s = ud;
    while (!s->stop) {
        struct pollfd p = { s->fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0)
            serve_one(s, c);
    }
    return NULL;
}

static test_server *test_server_start(serve_mode mode, int status)
{
    test_server *s = calloc(1, sizeof *s);
    struct sockaddr_in a = { 0 };
    socklen_t alen = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->fd, 16) != 0 || getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("test server");
        abort();
    }
    s->port = ntohs(a.sin_port);
    s->mode = mode;
    s->status = status;
    pthread_mutex_init(&s->lock, NULL);
    pthread_create(&s->thread, NULL, run, s);
    return s;
}

static int test_server_port(const test_server *s)
{
    return s->port;
}

static int test_server_requests(test_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static char *test_server_last_body(test_server *s)
{
    pthread_mutex_lock(&s->lock);
    char *b = s->last_body ? strdup(s->last_body) : NULL;
    pthread_mutex_unlock(&s->lock);
    return b;
}

static void test_server_stop(test_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s->last_body);
    free(s);
}

#endif
