/*
 * http_sink.c - a tiny HTTP server on 127.0.0.1 for the command-line tests
 * of the url destination (tests/cli/test_route.sh compiles it with cc).
 *
 *   http_sink PORTFILE LOG STATUS|hang
 *
 * Listens on an ephemeral port of 127.0.0.1 and writes the port number to
 * PORTFILE once it accepts connections.  Serves one connection at a time:
 * reads the request (headers and a Content-Length body), appends the body
 * as one line to LOG, then answers with STATUS, or with "hang" never
 * answers (waits until the client gives up and closes).  Runs until killed,
 * and ends by itself after 120 seconds so that a failed test cannot leave
 * it behind.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t content_length(const char *headers)
{
    for (const char *p = headers; *p; p++)
        if (!strncasecmp(p, "content-length:", 15))
            return strtoul(p + 15, NULL, 10);
    return 0;
}

/* Read one request from c; append its body as a line to log. */
static void read_request(int c, FILE *log)
{
    static char buf[1 << 20];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        struct pollfd p = { c, POLLIN, 0 };
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t got = read(c, buf + n, sizeof buf - 1 - n);
        if (got <= 0)
            return;
        n += (size_t)got;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        size_t head = (size_t)(end + 4 - buf), want = content_length(buf);
        if (n >= head + want) {
            fwrite(buf + head, 1, want, log);
            fputc('\n', log);
            fflush(log);
            return;
        }
    }
}

/* Wait until the client closes the connection (it timed out). */
static void hang(int c)
{
    char tmp[4096];
    for (;;) {
        struct pollfd p = { c, POLLIN, 0 };
        if (poll(&p, 1, 60000) <= 0 || read(c, tmp, sizeof tmp) <= 0)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: http_sink PORTFILE LOG STATUS|hang\n");
        return 2;
    }
    int status = strcmp(argv[3], "hang") ? atoi(argv[3]) : 0;
    FILE *log = fopen(argv[2], "a");
    if (!log) {
        perror(argv[2]);
        return 2;
    }
    alarm(120);
    struct sockaddr_in a = { 0 };
    socklen_t alen = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("http_sink");
        return 2;
    }
    /* Write the port under a temporary name and rename: the test polls. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) != 0 ||
        rename(tmp, argv[1]) != 0) {
        perror(argv[1]);
        return 2;
    }
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        read_request(c, log);
        if (status) {
            char reply[256];
            int n = snprintf(reply, sizeof reply,
                             "HTTP/1.1 %d Test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                             status);
            if (write(c, reply, (size_t)n) < 0)
                perror("http_sink");
        } else {
            hang(c);
        }
        close(c);
    }
}
