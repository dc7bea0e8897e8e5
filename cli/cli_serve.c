/*
 * cli_serve.c - copydesk serve: the desk as an HTTP service
 * (core/serve/serve.h; the API is docs/http-api.md).  Parses the options,
 * settles the token, then runs until SIGTERM or SIGINT.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/fs.h"
#include "serve/serve.h"
#include "serve/serve_auth.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk serve -c DESK.lua [--listen HOST:PORT] [options]\n\n"
        "Serve the desk over HTTP (docs/http-api.md): POST /v1/classify gives a story's\n"
        "labels and topics; POST /v1/route decides and delivers it, answering 202 once\n"
        "every delivery is done or kept in the spool (?dry_run=1 decides only);\n"
        "GET /v1/desk describes the running desk, PUT /v1/desk checks a new one and\n"
        "with ?apply=1 installs it when its expect cases pass, POST /v1/desk/rollback\n"
        "returns to the version before, POST /v1/desk/diff previews a desk text on the\n"
        "archive's stories; POST /v1/learn takes an editor's correction (as copydesk\n"
        "learn) and answers with the new decision; GET /v1/stories lists recent\n"
        "decisions from the archive; GET /metrics (Prometheus), /healthz, /readyz;\n"
        "GET / is the editor's web page (try a story, edit and apply the desk).\n"
        "Beside HTTP it runs the live desk of copydesk watch on the same state folder:\n"
        "the inbox (--inbox), the desk's feeds and Redis streams, and the reload of\n"
        "the desk when its\n"
        "file, a module or a model changes (or on SIGHUP), if the new version loads\n"
        "and its expect cases pass.  Stories for url destinations, from HTTP or not,\n"
        "wait in the spool of the state folder until the endpoint has them, across\n"
        "restarts.  SIGTERM or SIGINT: finish the story and the requests in hand,\n"
        "stop.  Events are logged on stderr.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -l, --listen HOST:PORT  the address (default 127.0.0.1:8080; port 0: any free\n"
        "                          port, logged); an address other than loopback needs\n"
        "                          --token-file\n"
        "  -s, --state DIR         the spool, the desk versions, the token and watch's\n"
        "                          status (default .copydesk)\n"
        "  -i, --inbox DIR         also route the files that arrive in DIR, as watch does\n"
        "      --json-log          log JSON lines instead of key=value lines (watch's)\n"
        "      --consumer NAME     the worker's name in the groups of the desk's streams\n"
        "                          (default HOST:PID; see docs/scale-out.md)\n"
        "      --token-file FILE   the bearer token that requests changing anything must\n"
        "                          send (Authorization: Bearer TOKEN); without it, serve\n"
        "                          makes one in DIR/token (mode 0600)\n"
        "      --threads N         HTTP threads (default: the number of cores)\n"
        "      --max-connections N connections at once (default 512)\n"
        "      --max-per-ip N      connections at once from one address (default: no limit)\n"
        "      --timeout S         close a connection idle for S seconds (default 30)\n"
        "      --max-story-bytes N the largest request body (default 67108864, the story\n"
        "                          size limit)\n"
        "      --web DIR           the editor's web page's files, served at / (default:\n"
        "                          PROGRAM/../share/copydesk/web when installed, web/ of\n"
        "                          the source tree when run from build/)\n"
        "      --cors-origin URL   allow browsers on this one origin to call the API\n"
        "                          (default: no CORS headers at all)\n"
        "      --instructions N    Lua instructions a rule may run per story\n"
        "      --memory BYTES      memory limit of the desk's Lua state\n"
        "  -h, --help              this help\n\n"
        "Exit status: 0 after a clean stop; 2 usage or configuration error (a desk\n"
        "that does not load or whose expect cases fail does not start).\n");
}

enum { OPT_JSON_LOG = 999, OPT_TOKEN = 1000, OPT_THREADS, OPT_MAXCONN, OPT_PERIP, OPT_TIMEOUT, OPT_MAXBODY,
       OPT_CORS, OPT_INSTRUCTIONS, OPT_MEMORY, OPT_WEB, OPT_CONSUMER };

static int number(const char *opt, const char *v, long min, long max, long *out)
{
    long n = cli_parse_count(v);
    if (n < min || n > max) {
        cli_error("serve", "%s: '%s' is not a number from %ld to %ld", opt, v, min, max);
        return 0;
    }
    *out = n;
    return 1;
}

int cli_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "state", required_argument, NULL, 's' },
        { "inbox", required_argument, NULL, 'i' },
        { "json-log", no_argument, NULL, OPT_JSON_LOG },
        { "token-file", required_argument, NULL, OPT_TOKEN },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "max-connections", required_argument, NULL, OPT_MAXCONN },
        { "max-per-ip", required_argument, NULL, OPT_PERIP },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "max-story-bytes", required_argument, NULL, OPT_MAXBODY },
        { "cors-origin", required_argument, NULL, OPT_CORS },
        { "web", required_argument, NULL, OPT_WEB },
        { "instructions", required_argument, NULL, OPT_INSTRUCTIONS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "consumer", required_argument, NULL, OPT_CONSUMER },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    cd_serve_opts o;
    cdi_serve_opts_default(&o);
    o.service.state = ".copydesk";
    const char *token_file = NULL;
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:s:i:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.service.config = optarg; break;
        case 'l': o.listen = optarg; break;
        case 's': o.service.state = optarg; break;
        case 'i': o.inbox = optarg; break;
        case OPT_JSON_LOG: o.json_log = 1; break;
        case OPT_CONSUMER: o.consumer = optarg; break;
        case OPT_TOKEN: token_file = optarg; break;
        case OPT_CORS: o.service.cors_origin = optarg; break;
        case OPT_WEB: o.web = optarg; break;
        case OPT_THREADS:
            if (!number("--threads", optarg, 1, 256, &v))
                return CLI_USAGE;
            o.threads = (unsigned)v;
            break;
        case OPT_MAXCONN:
            if (!number("--max-connections", optarg, 1, 100000, &v))
                return CLI_USAGE;
            o.max_connections = (unsigned)v;
            break;
        case OPT_PERIP:
            if (!number("--max-per-ip", optarg, 1, 100000, &v))
                return CLI_USAGE;
            o.per_ip = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            if (!number("--timeout", optarg, 1, 86400, &v))
                return CLI_USAGE;
            o.timeout_s = (unsigned)v;
            break;
        case OPT_MAXBODY:
            if (!number("--max-story-bytes", optarg, 1024, (long)CD_MAX_STORY_BYTES, &v))
                return CLI_USAGE;
            o.service.max_body = (size_t)v;
            break;
        case OPT_INSTRUCTIONS:
            if (!number("--instructions", optarg, 1000, 1000000000L, &v))
                return CLI_USAGE;
            o.service.desk.instructions = (uint64_t)v;
            break;
        case OPT_MEMORY:
            if (!number("--memory", optarg, 1L << 20, 1L << 40, &v))
                return CLI_USAGE;
            o.service.desk.memory = (size_t)v;
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("serve", "unexpected argument '%s' (stories arrive over HTTP)", argv[optind]);
        return CLI_USAGE;
    }
    if (!o.service.config) {
        cli_error("serve", "no desk configuration (-c DESK.lua)");
        return CLI_USAGE;
    }
    int loopback = cdi_serve_listen_loopback(o.listen);
    if (loopback < 0) {
        cli_error("serve", "--listen %s: expected HOST:PORT (127.0.0.1:8080, [::1]:8080)",
                  o.listen);
        return CLI_USAGE;
    }
    if (!loopback && !token_file) {
        cli_error("serve", "--listen %s is not a loopback address: give --token-file FILE, "
                  "so that only holders of the token can change anything", o.listen);
        return CLI_USAGE;
    }
    cd_error err;
    char *token = NULL;
    if (token_file) {
        if (cdi_token_read(token_file, &token, &err) != CD_OK) {
            cli_error("serve", "--token-file %s", err.msg);
            return CLI_USAGE;
        }
    } else {
        size_t n = strlen(o.service.state) + 8;
        char *path = malloc(n);
        if (!path) {
            cli_error("serve", "out of memory");
            return CLI_USAGE;
        }
        snprintf(path, n, "%s/token", o.service.state);
        cd_status st = cdi_mkdirs(o.service.state, &err);
        if (st == CD_OK)
            st = cdi_token_make(path, &token, &err);
        free(path);
        if (st != CD_OK) {
            cli_error("serve", "the token: %s", err.msg);
            return CLI_USAGE;
        }
    }
    o.service.token = token;
    int rc = cdi_serve_run(&o, &err);
    if (rc)
        cli_error("serve", "%s", err.msg);
    free(token);
    return rc;
}
