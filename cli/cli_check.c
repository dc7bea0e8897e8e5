/*
 * cli_check.c - copydesk check: load a desk configuration without routing,
 * report what is wrong with it, and run its expect cases.
 *
 * Problems (a topic label no model has, a rule or case naming a
 * destination that does not exist) go to stderr; each expect case gets a
 * "pass" or "FAIL" line on stdout, then a count.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "copydesk.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk check -c DESK.lua [-q]\n\n"
        "Load and validate a desk configuration: Lua syntax and errors (with file\n"
        "and line), model labels named by topics that no model has, destinations\n"
        "named by rules (to = ..., literal return values) or expect cases that do\n"
        "not exist, the topic ids, model names, labels and phrases rules name,\n"
        "folder and jsonl destinations that cannot be written (tried, then tidied\n"
        "away); then run the expect cases and print pass or FAIL for each.  A case\n"
        "fails when a rule raised an error or hit a limit on its story.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -q, --quiet             print failures only\n"
        "  -h, --help              this help\n\n"
        "Exit status: 0 valid and every case passes, 1 some expect case fails,\n"
        "2 usage error or an invalid configuration.\n");
}

static void print_problem(const char *msg, void *ud)
{
    (void)ud;
    cli_error("check", "%s", msg);
}

static int run_cases(cd_desk *desk, int quiet, size_t *failed)
{
    size_t n = cd_desk_expects(desk);
    *failed = 0;
    for (size_t i = 0; i < n; i++) {
        cd_expect_result res;
        cd_error err;
        if (cd_desk_run_expect(desk, i, &res, &err) != CD_OK) {
            cli_error("check", "%s", err.msg);
            (*failed)++;
            continue;
        }
        if (!res.passed)
            (*failed)++;
        if (!res.passed || !quiet)
            printf("%s  %s: %s\n", res.passed ? "pass" : "FAIL", res.name, res.detail);
    }
    return (int)n;
}

int cli_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!config || optind < argc) {
        cli_error("check", optind < argc ? "unexpected argument '%s'" : "no desk configuration (-c DESK.lua)",
                  optind < argc ? argv[optind] : "");
        return CLI_USAGE;
    }
    cd_desk *desk;
    cd_error err;
    if (cd_desk_load(config, NULL, &desk, &err) != CD_OK) {
        cli_error("check", "%s", err.msg);
        return CLI_USAGE;
    }
    size_t problems = cd_desk_validate(desk, print_problem, NULL);
    problems += cd_desk_check_paths(desk, print_problem, NULL);
    size_t failed;
    int cases = run_cases(desk, quiet, &failed);
    printf("%s: %zu models, %zu topics, %zu destinations, %zu rules; "
           "%d expect cases, %zu failed; %zu problems\n",
           config, cd_desk_models(desk), cd_desk_topics(desk), cd_desk_destinations(desk),
           cd_desk_rules(desk), cases, failed, problems);
    cd_desk_free(desk);
    if (problems)
        return CLI_USAGE;
    return failed ? CLI_PARTIAL : CLI_OK;
}
