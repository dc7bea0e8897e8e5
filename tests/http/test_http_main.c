/*
 * test_http_main.c - the test HTTP server as a program, for the
 * command-line tests (see test_http.h for what it answers):
 *
 *   http_server [--status N|hang] [--root DIR] [--port N] PORTFILE LOG
 *
 * Listens on 127.0.0.1 (an ephemeral port unless --port: a fixed one lets
 * a test stop the server and start it again where a desk expects it),
 * writes the port number to PORTFILE once it accepts connections, and
 * ends by itself after 180 seconds, so that a failed test leaves nothing
 * behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_http.h"

int main(int argc, char **argv)
{
    test_http_opts o = { .status = 200 };
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (!strcmp(argv[i], "--status"))
            o.status = strcmp(argv[i + 1], "hang") ? atoi(argv[i + 1]) : 0;
        else if (!strcmp(argv[i], "--root"))
            o.root = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            o.port = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: http_server [--status N|hang] [--root DIR] [--port N] PORTFILE LOG\n");
        return 2;
    }
    o.log = argv[i + 1];
    return test_http_run(&o, argv[i], 180);
}
