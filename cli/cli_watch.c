/*
 * cli_watch.c - copydesk watch: the live desk (core/live/watch.h).  Parses the
 * options, then runs until SIGTERM or SIGINT; --status prints what a
 * running (or the last) watch of a state folder has done.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "live/watch.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk watch -c DESK.lua [--inbox DIR] [options]\n"
        "       copydesk watch --status (--inbox DIR | --state DIR)\n\n"
        "Run the desk live: route every file that arrives in the inbox (and the\n"
        "files already there, first), then move it to DIR/done/, or to DIR/failed/\n"
        "with a .error file saying why; poll the feeds the desk declares\n"
        "(feed \"name\" { url = ..., every = 60 }) and route their new items.\n"
        "Stories for url destinations are kept in a spool until the endpoint has\n"
        "them: nothing is lost when it is down or when watch is killed.  When the\n"
        "desk file, a module it requires or a model it names changes, the new\n"
        "version replaces the running one if it loads and its expect cases pass\n"
        "(SIGHUP forces a reload).  SIGTERM or SIGINT: finish the story in hand, stop.\n"
        "One log line per story (id, route, rule) and per event on stderr.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -i, --inbox DIR         the inbox folder (created when missing)\n"
        "  -s, --state DIR         where the spool, remembered feed items and\n"
        "                          status.json live (default: DIR/.copydesk with\n"
        "                          --inbox, else .copydesk)\n"
        "      --json-log          log JSON lines instead of key=value lines\n"
        "      --once              stop when there is nothing left to do now (the\n"
        "                          inbox routed, feeds polled once, the spool drained\n"
        "                          or waiting on a failing destination)\n"
        "      --status            print the status (JSON) of the watch of a state\n"
        "                          folder, running or not, and exit\n"
        "      --instructions N    Lua instructions a rule may run per story\n"
        "      --memory BYTES      memory limit of the desk's Lua state\n"
        "  -h, --help              this help\n\n"
        "Exit status: 0 after a clean stop; 2 usage or configuration error (a desk\n"
        "that does not load or whose expect cases fail does not start).\n");
}

enum { OPT_JSON_LOG = 1000, OPT_ONCE, OPT_STATUS, OPT_INSTRUCTIONS, OPT_MEMORY };

int cli_watch(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "inbox", required_argument, NULL, 'i' },
        { "state", required_argument, NULL, 's' },
        { "json-log", no_argument, NULL, OPT_JSON_LOG },
        { "once", no_argument, NULL, OPT_ONCE },
        { "status", no_argument, NULL, OPT_STATUS },
        { "instructions", required_argument, NULL, OPT_INSTRUCTIONS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    cd_watch_opts o;
    memset(&o, 0, sizeof o);
    cd_desk_opts_default(&o.desk);
    int status = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'i': o.inbox = optarg; break;
        case 's': o.state = optarg; break;
        case OPT_JSON_LOG: o.json_log = 1; break;
        case OPT_ONCE: o.once = 1; break;
        case OPT_STATUS: status = 1; break;
        case OPT_INSTRUCTIONS:
        case OPT_MEMORY:
            if (cli_parse_desk_limit("watch", c == OPT_MEMORY ? "memory" : "instructions",
                                     optarg, &o.desk) != CLI_OK)
                return CLI_USAGE;
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("watch", "unexpected argument '%s' (stories arrive in --inbox)", argv[optind]);
        return CLI_USAGE;
    }
    char *state = NULL;
    if (!o.state) {
        if (o.inbox) {
            size_t n = strlen(o.inbox) + 12;
            if (!(state = malloc(n)))
                return CLI_USAGE;
            snprintf(state, n, "%s/.copydesk", o.inbox);
            o.state = state;
        } else {
            o.state = ".copydesk";
        }
    }
    cd_error err;
    int rc;
    if (status) {
        rc = cd_watch_status(o.state, stdout, &err);
        if (rc)
            cli_error("watch", "%s", err.msg);
    } else if (!o.config) {
        cli_error("watch", "no desk configuration (-c DESK.lua)");
        rc = CLI_USAGE;
    } else {
        rc = cd_watch_run(&o, &err);
        if (rc)
            cli_error("watch", "%s", err.msg);
    }
    free(state);
    return rc;
}
