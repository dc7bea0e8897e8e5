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
        "(feed \"name\" { url = ..., every = 60 }) and route their new items; read\n"
        "the Redis streams the desk declares (stream \"name\" { redis = ..., key = ...,\n"
        "group = ... }) as one consumer of each group, acknowledging an entry once\n"
        "its story's deliveries are durable (docs/scale-out.md).\n"
        "Stories for url destinations are kept in a spool until the endpoint has\n"
        "them: nothing is lost when it is down or when watch is killed.  When the\n"
        "desk file, a module it requires or a model it names changes, the new\n"
        "version replaces the running one if it loads and its expect cases pass\n"
        "(SIGHUP forces a reload).  SIGTERM or SIGINT: finish the story in hand, stop.\n"
        "One log line per story (id, route, rule) and per event on stderr.  A story\n"
        "a rule holds until a time (an embargo: hold() in the desk) is kept on disk\n"
        "in the state folder and delivered when its time comes, across restarts.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -i, --inbox DIR         the inbox folder (created when missing)\n"
        "  -s, --state DIR         where the spool, held stories, remembered feed\n"
        "                          items and status.json live (default:\n"
        "                          DIR/.copydesk with --inbox, else .copydesk)\n"
        "      --json-log          log JSON lines instead of key=value lines\n"
        "      --consumer NAME     this worker's name in the groups of the desk's streams\n"
        "                          (default HOST:PID)\n"
        "      --once              stop when there is nothing left to do now (the\n"
        "                          inbox routed, feeds polled once, the spool drained\n"
        "                          or waiting on a failing destination)\n"
        "      --status            print the status (JSON) of the watch of a state\n"
        "                          folder, running or not, and exit; \"held\" lists\n"
        "                          the stories a rule holds (hold()) and until when\n"
        "      --instructions N    Lua instructions a rule may run per story\n"
        "      --memory BYTES      memory limit of the desk's Lua state\n"
        "      --archive-days N    keep what was routed (each story and its decision,\n"
        "                          in STATE/archive/, for copydesk diff) N days\n"
        "                          (default 7)\n"
        "      --archive-max SIZE  and at most SIZE (bytes, or with K, M, G; default 1G)\n"
        "      --no-archive        keep no archive\n"
        "  -h, --help              this help\n\n"
        "Exit status: 0 after a clean stop; 2 usage or configuration error (a desk\n"
        "that does not load or whose expect cases fail does not start).\n");
}

enum { OPT_JSON_LOG = 1000, OPT_ONCE, OPT_STATUS, OPT_INSTRUCTIONS, OPT_MEMORY,
       OPT_ARCHIVE_DAYS, OPT_ARCHIVE_MAX, OPT_NO_ARCHIVE, OPT_CONSUMER };

/* "1073741824", "512K", "64M", "1G" -> bytes; 0 when invalid. */
static uint64_t parse_size(const char *s)
{
    char *end;
    if (*s < '0' || *s > '9')
        return 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = !*end ? 0 : !strcmp(end, "K") ? 10 : !strcmp(end, "M") ? 20
              : !strcmp(end, "G") ? 30 : -1;
    if (shift < 0 || v > (1ULL << (62 - shift)))
        return 0;
    return (uint64_t)v << shift;
}

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
        { "archive-days", required_argument, NULL, OPT_ARCHIVE_DAYS },
        { "archive-max", required_argument, NULL, OPT_ARCHIVE_MAX },
        { "no-archive", no_argument, NULL, OPT_NO_ARCHIVE },
        { "consumer", required_argument, NULL, OPT_CONSUMER },
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
        case OPT_ARCHIVE_DAYS: {
            char *end;
            double days = strtod(optarg, &end);
            if (end == optarg || *end || !(days > 0 && days <= 3650)) {
                cli_error("watch", "--archive-days: expected a number of days, got '%s'", optarg);
                return CLI_USAGE;
            }
            o.archive.max_age_s = days * 86400;
            break;
        }
        case OPT_ARCHIVE_MAX:
            if ((o.archive.max_bytes = parse_size(optarg)) < (1u << 20)) {
                cli_error("watch", "--archive-max: expected a size of 1M or more (bytes, or "
                          "with K, M, G), got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_NO_ARCHIVE: o.no_archive = 1; break;
        case OPT_CONSUMER: o.consumer = optarg; break;
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
    int rc = CLI_OK;
    if (!status && !o.config) {
        cli_error("watch", "no desk configuration (-c DESK.lua)");
        rc = CLI_USAGE;
    } else if ((status ? cdi_watch_status(o.state, stdout, &err) : cdi_watch_run(&o, &err)) != CD_OK) {
        /* no status file, or a desk or folder that cannot be set up */
        cli_error("watch", "%s", err.msg);
        rc = CLI_USAGE;
    }
    free(state);
    return rc;
}
