/*
 * cli_seeded.c - copydesk train --seeds DESK.lua: a desk's taxonomy learned
 * from unlabelled stories and its topics' keywords (copydesk/seeded.h),
 * with progress on a terminal and a summary on stderr: how many stories
 * each topic's keywords reached, what EM made of them, how it converged.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_progress.h"
#include "copydesk.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk train --seeds DESK.lua -o MODEL [options] STORIES...\n\n"
        "Learn the taxonomy of a desk from unlabelled stories and its topics'\n"
        "keywords (McCallum and Nigam, 1999): each story the keywords reach goes to\n"
        "the topic with most hits, naive Bayes learns from those, then EM labels\n"
        "every story again until it settles, each topic's word estimates shrunk\n"
        "towards those of the topics above it in the taxonomy.  The model's labels\n"
        "are the ids of the topics that have keywords; use it in a desk like any\n"
        "model: model(\"seeded\", \"MODEL\") and labels = { \"seeded:TOPIC\" }.\n"
        "Labels the stories may carry are ignored.  The desk's model files are not\n"
        "opened (MODEL may be one of them).\n\n"
        "  --seeds DESK.lua    the desk whose taxonomy is learned\n"
        "  -o, --output MODEL  the model file to write (replaced atomically)\n"
        "  --iterations N      EM iterations at most (default 30)\n"
        "  --tolerance X       stop when the log-likelihood changes by less than\n"
        "                      this fraction (default 1e-5)\n"
        "  -q, --quiet         no progress or summary on stderr\n"
        "  -h, --help          this help\n\n"
        "Exit status: 0 learned and written, 1 some story could not be read (the\n"
        "others were used), 2 usage or desk error, or nothing to learn from.\n");
}

typedef struct seeded_args {
    const char *seeds, *output;
    int quiet;
    cd_seeded_opts opts;
} seeded_args;

enum { OPT_SEEDS = 1000, OPT_ITERATIONS, OPT_TOLERANCE };

static int parse(int argc, char **argv, seeded_args *a)
{
    static const struct option longopts[] = {
        { "seeds", required_argument, NULL, OPT_SEEDS },
        { "output", required_argument, NULL, 'o' },
        { "iterations", required_argument, NULL, OPT_ITERATIONS },
        { "tolerance", required_argument, NULL, OPT_TOLERANCE },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    long v;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SEEDS: a->seeds = optarg; break;
        case 'o': a->output = optarg; break;
        case 'q': a->quiet = 1; break;
        case OPT_ITERATIONS:
            if ((v = cli_parse_count(optarg)) < 1 || v > 1000) {
                cli_error("train", "--iterations: expected a number from 1 to 1000, got '%s'", optarg);
                return CLI_USAGE;
            }
            a->opts.max_iter = (unsigned)v;
            break;
        case OPT_TOLERANCE:
            a->opts.tol = strtod(optarg, &end);
            if (end == optarg || *end || !(a->opts.tol >= 0 && a->opts.tol < 1)) {
                cli_error("train", "--tolerance: expected a number from 0 to 1, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            usage(stderr);
            cli_error("train", "--seeds takes only the options above");
            return CLI_USAGE;
        }
    }
    if (!a->seeds || !a->output) {
        cli_error("train", "--seeds needs a desk and an output model (--seeds DESK.lua -o MODEL)");
        return CLI_USAGE;
    }
    if (optind >= argc) {
        cli_error("train", "no stories given (use - for standard input)");
        return CLI_USAGE;
    }
    return -1;
}

static int feed(cd_seeded *sd, char **inputs, int n, cli_progress *prog)
{
    cd_error err;
    cd_reader *r;
    if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &r, &err)) {
        cli_error("train", "%s", err.msg);
        return CLI_USAGE;
    }
    int status = CLI_OK, rc;
    size_t stories = 0, bytes = 0;
    cd_story s;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_progress_done(prog);
            cli_error("train", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        size_t len;
        char *text = cd_story_text(&s, &len);
        if (!text || cd_seeded_add(sd, text, len, &err) != CD_OK) {
            cli_progress_done(prog);
            cli_error("train", "%s: %s", s.source, text ? err.msg : "out of memory");
            status = CLI_PARTIAL;
        } else {
            stories++;
            bytes += len;
        }
        free(text);
        cd_story_clear(&s);
        cli_progress_stories(prog, "reading", stories, bytes);
    }
    cd_reader_free(r);
    return status;
}

static void summary(const seeded_args *a, const cd_seeded *sd)
{
    size_t docs = cd_seeded_docs(sd), seeded = cd_seeded_seeded_docs(sd);
    fprintf(stderr, "copydesk: train --seeds %s: %zu stories, %zu reached by keywords (%.1f%%)\n",
            a->seeds, docs, seeded, docs ? 100.0 * (double)seeded / (double)docs : 0.0);
    fprintf(stderr, "  %-20s %8s %8s %9s %8s  %s\n", "topic", "keywords", "reached",
            "bootstrap", "EM", "shrinkage: own, parents..., all, uniform");
    for (size_t i = 0; i < cd_seeded_classes(sd); i++) {
        cd_seeded_class c;
        cd_seeded_class_info(sd, i, &c);
        fprintf(stderr, "  %-20s %8zu %8zu %9zu %8zu  ", c.id, c.keywords, c.reached, c.won,
                c.assigned);
        for (size_t j = 0; j < c.nlambda; j++)
            fprintf(stderr, "%s%.2f", j ? " " : "", c.lambda[j]);
        fputc('\n', stderr);
    }
    if (cd_seeded_unlearned(sd)) {
        fprintf(stderr, "  not learned (no keywords):");
        for (size_t i = 0; i < cd_seeded_unlearned(sd); i++)
            fprintf(stderr, " %s", cd_seeded_unlearned_id(sd, i));
        fputc('\n', stderr);
    }
    size_t n;
    const cd_seeded_step *st = cd_seeded_steps(sd, &n);
    fprintf(stderr, "  EM: %zu iteration%s, %s\n", n, n == 1 ? "" : "s",
            cd_seeded_converged(sd) ? "converged" : "stopped at --iterations before converging");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "    iteration %2zu: log-likelihood %.1f, %zu stories changed topic\n",
                i + 1, st[i].loglik, st[i].changed);
}

int cli_train_seeded(int argc, char **argv)
{
    seeded_args a = { 0 };
    cd_seeded_opts_default(&a.opts);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    cd_error err;
    cd_seeded *sd;
    if (cd_seeded_open(a.seeds, &sd, &err) != CD_OK) {
        cli_error("train", "%s", err.msg);
        return CLI_USAGE;
    }
    cli_progress prog;
    cli_progress_init(&prog, a.quiet);
    int status = feed(sd, argv + optind, argc - optind, &prog);
    if (status == CLI_USAGE) {
        cd_seeded_free(sd);
        return status;
    }
    if (cd_seeded_learn(sd, &a.opts, cli_progress_stage, &prog, &err) != CD_OK ||
        cd_seeded_save(sd, a.output, cli_progress_stage, &prog, &err) != CD_OK) {
        cli_progress_done(&prog);
        cli_error("train", "%s", err.msg);
        cd_seeded_free(sd);
        return CLI_USAGE;
    }
    cli_progress_done(&prog);
    if (!a.quiet) {
        summary(&a, sd);
        fprintf(stderr, "copydesk: train: %s: %zu labels, %.2f s\n", a.output,
                cd_seeded_classes(sd), cli_progress_elapsed(&prog));
    }
    cd_seeded_free(sd);
    return status;
}
