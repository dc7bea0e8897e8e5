/*
 * cli_route.c - copydesk route: the main job.  Reads stories, has the desk
 * classify, decide and deliver each one, says where each went and why,
 * and ends with a summary that accounts for every story read:
 *
 *   stories in = routed by a rule + fallback + dead letter + failed
 *
 * Per-story lines and the summary go to stderr (stdout may be a
 * destination); --dry-run decides without delivering and prints one JSON
 * line per story on stdout instead.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "copydesk.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk route -c DESK.lua [options] [INPUT...]\n\n"
        "Classify each story, apply the taxonomy and rules of the desk configuration\n"
        "and deliver the story to the destinations they name (or the fallback).\n"
        "INPUT may be a file, a folder, - for standard input (the default), or an\n"
        "http(s) URL.  One line per story (where it went and why) and a summary go\n"
        "to stderr.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -n, --dry-run           decide without delivering: one JSON line per story\n"
        "                          on stdout with its route and reason\n"
        "  -e, --explain           add each topic's evidence (labels, keyword hits):\n"
        "                          in the JSON lines, or as JSON on stderr\n"
        "  -q, --quiet             no per-story lines and no summary\n"
        "  --instructions N        Lua instructions a rule may run per story\n"
        "                          (default: the desk's limits{}, else 1000000)\n"
        "  --memory BYTES          memory limit of the desk's Lua state (default 64M)\n"
        "  -h, --help              this help\n\n"
        "Paths the desk reads (models, modules) are relative to its folder; paths\n"
        "it writes (destination folders and files, dead letter) to the current\n"
        "directory.\n\n"
        "Exit status: 0 every story routed and delivered; 1 some input was\n"
        "unreadable, a rule failed (the story went to the fallback), or a\n"
        "destination failed (the story went to dead letter); 2 usage or\n"
        "configuration error.\n");
}

typedef struct route_args {
    const char *config;
    int dry, explain, quiet;
    cd_desk_opts opts;
} route_args;

enum { OPT_INSTRUCTIONS = 1000, OPT_MEMORY };

static int parse(int argc, char **argv, route_args *a)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "dry-run", no_argument, NULL, 'n' },
        { "explain", no_argument, NULL, 'e' },
        { "quiet", no_argument, NULL, 'q' },
        { "instructions", required_argument, NULL, OPT_INSTRUCTIONS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:neqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'n': a->dry = 1; break;
        case 'e': a->explain = 1; break;
        case 'q': a->quiet = 1; break;
        case OPT_INSTRUCTIONS:
            if ((v = cli_parse_count(optarg)) < 1000) {
                cli_error("route", "--instructions: '%s' is not a number >= 1000", optarg);
                return CLI_USAGE;
            }
            a->opts.instructions = (uint64_t)v;
            break;
        case OPT_MEMORY:
            if ((v = cli_parse_count(optarg)) < (1L << 20)) {
                cli_error("route", "--memory: '%s' is not a number of bytes >= 1048576", optarg);
                return CLI_USAGE;
            }
            a->opts.memory = (size_t)v;
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!a->config) {
        cli_error("route", "no desk configuration (-c DESK.lua)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void warn_problem(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "copydesk: warning: %s\n", msg);
}

/* One line on stderr: "id -> a, b  (reason)". */
static void story_line(const cd_story *s, const cd_decision *dec)
{
    fprintf(stderr, "%s -> ", s->id);
    for (size_t i = 0; i < dec->nroute; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", dec->route[i]);
    if (dec->outcome == CD_OUTCOME_DEAD_LETTER)
        fputs(" [dead letter]", stderr);
    else if (dec->outcome == CD_OUTCOME_FAILED)
        fputs(" [FAILED]", stderr);
    fprintf(stderr, "  (%s)\n", dec->reason);
}

static void summary(cd_desk *desk, const char *config, uint64_t unreadable, int dry)
{
    cd_desk_stats st;
    cd_desk_get_stats(desk, &st);
    fprintf(stderr, "\ncopydesk route: %s%s\n", config, dry ? " (dry run: nothing delivered)" : "");
    fprintf(stderr, "  %-28s %8llu\n", "stories in", (unsigned long long)st.stories);
    fprintf(stderr, "  %-28s %8llu\n", "routed by a rule", (unsigned long long)st.routed);
    char fb[64];
    snprintf(fb, sizeof fb, "fallback (%s)", cd_desk_fallback(desk));
    fprintf(stderr, "  %-28s %8llu\n", fb, (unsigned long long)st.fallback);
    fprintf(stderr, "  %-28s %8llu\n", "dead letter", (unsigned long long)st.dead_letter);
    fprintf(stderr, "  %-28s %8llu\n", "failed", (unsigned long long)st.failed);
    fprintf(stderr, "  %-28s %8llu\n", "unreadable inputs", (unsigned long long)unreadable);
    fprintf(stderr, "  %s\n", dry ? "would deliver to:" : "delivered to:");
    for (size_t i = 0; i < cd_desk_destinations(desk); i++) {
        uint64_t ok = cd_desk_destination_delivered(desk, i);
        uint64_t bad = cd_desk_destination_failed(desk, i);
        if (!ok && !bad)
            continue;
        fprintf(stderr, "    %-26s %8llu", cd_desk_destination_name(desk, i),
                (unsigned long long)ok);
        if (bad)
            fprintf(stderr, "  (%llu failed)", (unsigned long long)bad);
        fputc('\n', stderr);
    }
    fprintf(stderr, "  %-28s %8llu\n", "rule errors", (unsigned long long)st.rule_errors);
    for (size_t i = 0; i < cd_desk_rules(desk); i++)
        if (cd_desk_rule_errors(desk, i))
            fprintf(stderr, "    %-26s %8llu\n", cd_desk_rule_name(desk, i),
                    (unsigned long long)cd_desk_rule_errors(desk, i));
}

static void report(cd_desk *desk, const cd_story *s, const cd_decision *dec,
                   const route_args *a)
{
    if (dec->error)
        cli_error("route", "%s", dec->error);
    if (a->dry || a->explain) {
        char *json = cd_desk_decision_json(desk, a->explain);
        if (json) {
            fputs(json, a->dry ? stdout : stderr);
            fputc('\n', a->dry ? stdout : stderr);
            free(json);
        }
    }
    if (!a->quiet && !a->dry)
        story_line(s, dec);
}

static int run(cd_desk *desk, char **inputs, size_t n, const route_args *a)
{
    static const char *const stdin_only[] = { "-" };
    cd_reader *r;
    cd_error err;
    if (cd_reader_open(n ? (const char *const *)inputs : stdin_only, n ? n : 1, NULL, &r,
                       &err) != CD_OK) {
        cli_error("route", "%s", err.msg);
        return CLI_USAGE;
    }
    uint64_t unreadable = 0;
    cd_story s;
    int got;
    while ((got = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (got == CD_READ_ERROR) {
            cli_error("route", "%s", err.msg);
            unreadable++;
            continue;
        }
        cd_decision dec;
        if (cd_desk_route(desk, &s, a->dry, &dec, &err) != CD_OK) {
            cli_error(s.id, "%s", err.msg);
            unreadable++;
        } else {
            report(desk, &s, &dec, a);
        }
        cd_story_clear(&s);
    }
    cd_reader_free(r);
    if (!a->quiet)
        summary(desk, a->config, unreadable, a->dry);
    cd_desk_stats st;
    cd_desk_get_stats(desk, &st);
    return unreadable || st.dead_letter || st.failed || st.rule_errors ? CLI_PARTIAL : CLI_OK;
}

int cli_route(int argc, char **argv)
{
    route_args a;
    memset(&a, 0, sizeof a);
    cd_desk_opts_default(&a.opts);
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cd_desk *desk;
    cd_error err;
    if (cd_desk_load(a.config, &a.opts, &desk, &err) != CD_OK) {
        cli_error("route", "%s", err.msg);
        return CLI_USAGE;
    }
    cd_desk_validate(desk, warn_problem, NULL);
    rc = run(desk, argv + optind, (size_t)(argc - optind), &a);
    cd_desk_free(desk);
    return rc;
}
