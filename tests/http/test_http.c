/*
 * test_http.c - the test HTTP server (see test_http.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_http.h"

#define MAX_REQUEST ((size_t)4 << 20)

struct test_server {
    test_http_opts o;
    int fd;
    int port;
    volatile int stop;
    int requests;
    char *last_body;
    pthread_mutex_t lock;
    pthread_t thread;
};

/* The value of header name in the request at req, into out. */
static const char *header(const char *req, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (p[2] == '\r')
            break;   /* the end of the headers */
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            if (k >= cap)
                k = cap - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            return out;
        }
    }
    return NULL;
}

/* Read one request: headers and a Content-Length body.  Returns the
 * buffer (caller frees) with *body pointing into it, or NULL. */
static char *read_request(test_server *s, int c, char **body, size_t *len)
{
    char *buf = malloc(MAX_REQUEST + 1);
    size_t n = 0;
    char *end = NULL;
    while (buf && !s->stop && n < MAX_REQUEST) {
        struct pollfd p = { c, POLLIN, 0 };
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        ssize_t got = read(c, buf + n, MAX_REQUEST - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        if (!end)
            end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char cl[32];
        size_t want = header(buf, "Content-Length", cl, sizeof cl) ? strtoul(cl, NULL, 10) : 0;
        size_t head = (size_t)(end + 4 - buf);
        if (n >= head + want) {
            *body = end + 4;
            *len = want;
            end[4 + want] = '\0';
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static void answer(int c, int status, const char *extra, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, len, extra ? extra : "");
    if ((write(c, head, (size_t)n) < 0 || (len && write(c, body, len) < 0)) && errno != EPIPE &&
        errno != ECONNRESET)
        perror("test_http");
}

static void note(test_server *s, const char *method, const char *path, int status)
{
    if (!s->o.log)
        return;
    char p[4096];
    snprintf(p, sizeof p, "%s.req", s->o.log);
    FILE *f = fopen(p, "a");
    if (f) {
        if (status)
            fprintf(f, "%s %s %d\n", method, path, status);
        else
            fprintf(f, "%s %s hang\n", method, path);
        fclose(f);
    }
}

/* The number in ROOT/name, or dflt. */
static int setting(test_server *s, const char *name, int dflt)
{
    if (!s->o.root)
        return dflt;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", s->o.root, name);
    FILE *f = fopen(p, "r");
    int v = dflt;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

static void get(test_server *s, int c, const char *req, const char *path)
{
    char file[4096], etag[128], inm[128];
    struct stat sb;
    FILE *f = NULL;
    if (s->o.root && !strstr(path, "..")) {
        snprintf(file, sizeof file, "%s/%s", s->o.root, path + 1);
        f = fopen(file, "rb");
    }
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (f)
            fclose(f);
        answer(c, 404, NULL, "", 0);
        note(s, "GET", path, 404);
        return;
    }
    snprintf(etag, sizeof etag, "\"%lld-%lld\"", (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec);
    /* the Content-Type written in ROOT/NAME.type, if any (a feed's charset) */
    char extra[600], type[256] = "", tfile[4200];
    snprintf(tfile, sizeof tfile, "%s.type", file);
    FILE *tf = fopen(tfile, "rb");
    if (tf) {
        size_t k = fread(type, 1, sizeof type - 1, tf);
        type[k] = '\0';
        type[strcspn(type, "\r\n")] = '\0';
        fclose(tf);
    }
    snprintf(extra, sizeof extra, "ETag: %s\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n%s%s%s",
             etag, type[0] ? "Content-Type: " : "", type, type[0] ? "\r\n" : "");
    if (header(req, "If-None-Match", inm, sizeof inm) && !strcmp(inm, etag)) {
        fclose(f);
        answer(c, 304, extra, "", 0);
        note(s, "GET", path, 304);
        return;
    }
    char *body = malloc((size_t)sb.st_size + 1);
    size_t n = body ? fread(body, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    answer(c, 200, extra, body, n);
    note(s, "GET", path, 200);
    free(body);
}

/* Wait until the client closes the connection (it timed out), or a stop. */
static void hang(test_server *s, int c)
{
    char tmp[4096];
    while (!s->stop) {
        struct pollfd p = { c, POLLIN, 0 };
        int r = poll(&p, 1, 50);
        if (r > 0 && read(c, tmp, sizeof tmp) <= 0)
            return;
    }
}

static void post(test_server *s, int c, const char *path, const char *body, size_t len)
{
    int st = setting(s, ".status", s->o.status), delay = setting(s, ".delay", 0);
    if (delay > 0) {
        struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (st >= 200 && st < 300 && s->o.log) {
        FILE *f = fopen(s->o.log, "a");
        if (f) {
            fwrite(body, 1, len, f);
            fputc('\n', f);
            fclose(f);
        }
    }
    note(s, "POST", path, st);
    if (st)
        answer(c, st, NULL, "ok", 2);
    else
        hang(s, c);
}

static void serve_one(test_server *s, int c)
{
    char *body = NULL;
    size_t len = 0;
    char *req = read_request(s, c, &body, &len);
    if (!req)
        return;
    pthread_mutex_lock(&s->lock);
    s->requests++;
    free(s->last_body);
    s->last_body = strndup(body, len);
    pthread_mutex_unlock(&s->lock);
    char method[16] = "", path[2048] = "";
    sscanf(req, "%15s %2047s", method, path);
    if (!strcmp(method, "POST"))
        post(s, c, path, body, len);
    else
        get(s, c, req, path);
    free(req);
}

static int serve_until(test_server *s, time_t until)
{
    while (!s->stop && (!until || time(NULL) < until)) {
        struct pollfd p = { s->fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0) {
            serve_one(s, c);
            close(c);
        }
    }
    return 0;
}

static void *run_thread(void *ud)
{
    serve_until(ud, 0);
    return NULL;
}

/* A server listening on 127.0.0.1, or NULL (perror says why). */
static test_server *listen_on(const test_http_opts *o)
{
    test_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->o = *o;
    signal(SIGPIPE, SIG_IGN);   /* a client gone mid-answer must not kill the server */
    struct sockaddr_in a = { 0 };
    socklen_t alen = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)o->port);
    int one = 1;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("test_http");
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void release(test_server *s)
{
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s->last_body);
    free(s);
}

test_server *test_http_start(const test_http_opts *opts)
{
    test_server *s = listen_on(opts);
    if (!s)
        abort();
    pthread_create(&s->thread, NULL, run_thread, s);
    return s;
}

int test_http_run(const test_http_opts *opts, const char *portfile, int seconds)
{
    test_server *s = listen_on(opts);
    if (!s)
        return 1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%d\n", s->port) < 0 || fclose(pf) != 0 || rename(tmp, portfile) != 0) {
        perror(portfile);
        release(s);
        return 1;
    }
    serve_until(s, time(NULL) + seconds);
    release(s);
    return 0;
}

test_server *test_server_start(serve_mode mode, int status)
{
    test_http_opts o = { .status = mode == SERVE_HANG ? 0 : status };
    return test_http_start(&o);
}

int test_server_port(const test_server *s)
{
    return s->port;
}

int test_server_requests(test_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *test_server_last_body(test_server *s)
{
    pthread_mutex_lock(&s->lock);
    char *b = s->last_body ? strdup(s->last_body) : NULL;
    pthread_mutex_unlock(&s->lock);
    return b;
}

void test_server_stop(test_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    release(s);
}
