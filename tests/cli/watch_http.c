/*
 * watch_http.c - a small HTTP server on 127.0.0.1 for the copydesk watch
 * tests (tests/cli/test_watch*.sh compile it with cc): it serves feeds and
 * receives the stories of url destinations.
 *
 *   watch_http PORTFILE ROOT LOG [PORT]
 *
 * Listens on PORT of 127.0.0.1 (default: an ephemeral port; a fixed one
 * lets a test stop the server and start it again where the desk expects
 * it) and writes the port number to PORTFILE once it accepts connections.
 * One connection at a time, each closed after one answer:
 *   GET /NAME   the file ROOT/NAME, with an ETag and Last-Modified (and
 *               the Content-Type written in ROOT/NAME.type if any); a
 *               request whose If-None-Match matches gets 304;
 *   POST ...    the body, appended as one line to LOG; answered 200, or
 *               with the status written in the file ROOT/.status if any,
 *               after the milliseconds written in ROOT/.delay if any (a
 *               slow endpoint, so that a test can act in the middle).
 * Every request is also noted ("METHOD PATH STATUS") in LOG.req.
 * Ends by itself after 180 seconds, so that a failed test leaves nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *root, *logpath;

static const char *header(const char *req, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
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

static void answer(int c, int status, const char *extra, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, len, extra ? extra : "");
    if ((write(c, head, (size_t)n) < 0 || (len && write(c, body, len) < 0)) && errno != EPIPE &&
        errno != ECONNRESET)
        perror("watch_http");
}

static void note(const char *method, const char *path, int status)
{
    char p[4096];
    snprintf(p, sizeof p, "%s.req", logpath);
    FILE *f = fopen(p, "a");
    if (f) {
        fprintf(f, "%s %s %d\n", method, path, status);
        fclose(f);
    }
}

/* The number in ROOT/name, or dflt. */
static int setting(const char *name, int dflt)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, name);
    FILE *f = fopen(p, "r");
    int v = dflt;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

static void get(int c, const char *req, const char *path)
{
    char file[4096], etag[128], inm[128];
    snprintf(file, sizeof file, "%s/%s", root, path + 1);
    struct stat sb;
    FILE *f = strstr(path, "..") ? NULL : fopen(file, "rb");
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (f)
            fclose(f);
        answer(c, 404, NULL, "", 0);
        note("GET", path, 404);
        return;
    }
    snprintf(etag, sizeof etag, "\"%lld-%lld\"", (long long)sb.st_size,
             (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec);
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
        note("GET", path, 304);
        return;
    }
    char *body = malloc((size_t)sb.st_size + 1);
    size_t n = body ? fread(body, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    answer(c, 200, extra, body, n);
    note("GET", path, 200);
    free(body);
}

static void serve(int c)
{
    size_t cap = 1 << 22, n = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    while (buf && n < cap) {
        struct pollfd p = { c, POLLIN, 0 };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t got = read(c, buf + n, cap - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        if (!end)
            end = strstr(buf, "\r\n\r\n");
        char cl[32];
        size_t want = header(buf, "Content-Length", cl, sizeof cl) ? strtoul(cl, NULL, 10) : 0;
        if (end && n >= (size_t)(end + 4 - buf) + want)
            break;
    }
    if (!buf || !end) {
        free(buf);
        return;
    }
    char method[16] = "", path[2048] = "";
    sscanf(buf, "%15s %2047s", method, path);
    if (!strcmp(method, "POST")) {
        int st = setting(".status", 200), delay = setting(".delay", 0);
        if (delay > 0) {
            struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        if (st >= 200 && st < 300) {
            FILE *f = fopen(logpath, "a");
            if (f) {
                fwrite(end + 4, 1, n - (size_t)(end + 4 - buf), f);
                fputc('\n', f);
                fclose(f);
            }
        }
        answer(c, st, NULL, "ok", 2);
        note("POST", path, st);
    } else {
        get(c, buf, path);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: watch_http PORTFILE ROOT LOG [PORT]\n");
        return 2;
    }
    root = argv[2];
    logpath = argv[3];
    signal(SIGPIPE, SIG_IGN);   /* a client killed mid-answer must not kill the server */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { 0 };
    socklen_t alen = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)(argc > 4 ? atoi(argv[4]) : 0));
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("watch_http");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *pf = fopen(tmp, "w");
    if (!pf)
        return 1;
    fprintf(pf, "%d\n", ntohs(a.sin_port));
    fclose(pf);
    rename(tmp, argv[1]);
    time_t until = time(NULL) + 180;
    while (time(NULL) < until) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept(fd, NULL, NULL);
        if (c >= 0) {
            serve(c);
            close(c);
        }
    }
    return 0;
}
