/*
 * main.c - the copydesk program: dispatches to a subcommand, git style.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "copydesk.h"
#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "route", cli_route, "classify stories, apply the desk's rules, deliver them" },
    { "watch", cli_watch, "run the desk live: inbox, feeds, hot reload, spool" },
    { "diff", cli_diff, "preview a desk change: the stories it would move" },
    { "serve", cli_serve, "serve the desk over HTTP: classify, route, desk, metrics" },
    { "status", cli_status, "the workers sharing Redis streams: heartbeats, pending, lag" },
    { "check", cli_check, "validate a desk configuration and run its expect cases" },
    { "train", cli_train, "train a model from labelled stories" },
    { "learn", cli_learn, "add editors' corrections to a model (by story id)" },
    { "classify", cli_classify, "print the labels of each story as JSON lines" },
    { "eval", cli_eval, "measure a model's accuracy on labelled stories" },
    { "tokens", cli_tokens, "show how text is tokenized" },
    { "model", cli_model, "describe a model file (model info MODEL)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: copydesk <command> [options] [args]\n\n"
                 "copydesk classifies news stories and routes them to desks.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'copydesk <command> --help' tells more about one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    /* a file over the size limit (ulimit -f) is a write error, EFBIG, that
     * delivery reports and recovers from, not a death by SIGXFSZ */
    signal(SIGXFSZ, SIG_IGN);
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("copydesk %s\n", CD_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name))
            continue;
        int status = commands[i].run(argc - 1, argv + 1);
        /* results that did not reach standard output (a full disk, a
         * closed pipe) are a failure, whatever the command thought */
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error(name, "standard output: write failed");
            status = CLI_USAGE;
        }
        return status;
    }
    cli_error(name, "unknown command (see 'copydesk --help')");
    return CLI_USAGE;
}
