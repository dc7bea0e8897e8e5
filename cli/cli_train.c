/*
 * cli_train.c - copydesk train: labelled stories in, a model file out.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "cli_progress.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk train -o MODEL [options] INPUT...\n\n"
        "Train a naive Bayes model from labelled stories: JSON lines or JSON with a\n"
        "\"labels\" array, or folders whose subfolders name the label of the plain-text\n"
        "files inside (corpus/trade/*.txt).  INPUT may be a file, a folder, - for\n"
        "standard input, or an http(s) URL.\n\n"
        "  -o, --output MODEL  the model file to write (replaced atomically)\n"
        "  --from MODEL        add the stories to this model as corrections, as\n"
        "                      'copydesk learn' does (MODEL may be the output): a story\n"
        "                      replaces the one of the same id, labels must be the\n"
        "                      model's; tokenizer and classifier options are the model's\n"
        "  --new-label         with --from: a label the model does not have is meant\n"
        "  --fast              with --from: write the corrected model and stop; its\n"
        "                      calibration is fitted again only once the stories added\n"
        "                      or replaced since are more than 1%% of them (default:\n"
        "                      then fitted again and the model written a second time)\n"
        "  --labels-from subjects\n"
        "                      take the gold labels from the stories' IPTC ninjs\n"
        "                      subjects (medtop:CODE for a Media Topic) instead of\n"
        "                      their \"labels\"\n"
        "  --seeds DESK.lua    learn the desk's taxonomy from unlabelled stories and\n"
        "                      its topics' keywords (copydesk train --seeds --help)\n"
        "  -q, --quiet         no progress or summary on stderr\n"
        "  -h, --help          this help\n\n"
        CLI_TOK_HELP "\n" CLI_NB_HELP "\n"
        "Stories without labels are reported and skipped (exit status 1).\n");
}

typedef struct train_args {
    const char *output, *from;
    int quiet, new_label, fast;
    int subjects;       /* --labels-from subjects */
    cd_tok_opts tok;
    cd_nb_opts nb;
} train_args;

enum { OPT_LABELS_FROM = OPT_FIRST_FREE + 40 };

/* --labels-from VALUE: 1 for subjects, -1 (said) otherwise. */
static int labels_from(const char *arg)
{
    if (!strcmp(arg, "subjects"))
        return 1;
    cli_error("train", "--labels-from: expected 'subjects', got '%s'", arg);
    return -1;
}

static int parse(int argc, char **argv, train_args *a)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "labels-from", required_argument, NULL, OPT_LABELS_FROM },
        { "from", required_argument, NULL, 'f' },
        { "new-label", no_argument, NULL, 'N' },
        { "fast", no_argument, NULL, 'F' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        CLI_TOK_LONGOPTS, CLI_NB_LONGOPTS,
        { NULL, 0, NULL, 0 }
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        int r;
        switch (c) {
        case 'o': a->output = optarg; break;
        case 'f': a->from = optarg; break;
        case 'N': a->new_label = 1; break;
        case 'F': a->fast = 1; break;
        case 'q': a->quiet = 1; break;
        case OPT_LABELS_FROM:
            if ((a->subjects = labels_from(optarg)) < 0)
                return CLI_USAGE;
            break;
        case 'h': usage(stdout); return 0;
        default:
            if ((r = cli_tok_option("train", c, optarg, &a->tok)) == 0)
                r = cli_nb_option("train", c, optarg, &a->nb);
            if (r == 1)
                break;
            if (r == 0)
                usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!a->output) {
        cli_error("train", "no output model given (-o MODEL)");
        return CLI_USAGE;
    }
    if (optind >= argc) {
        cli_error("train", "no input given (use - for standard input)");
        return CLI_USAGE;
    }
    return -1;
}

static int make_trainer(const train_args *a, cd_trainer **t)
{
    cd_error err;
    if (a->from) {
        cd_model *m;
        if (cd_model_open(a->from, &m, &err)) {
            cli_error("train", "%s", err.msg);
            return CLI_USAGE;
        }
        cd_status st = cd_trainer_from_model(m, t, &err);
        cd_model_close(m);
        if (!st)
            cd_trainer_set_settle(*t, !a->fast);
        if (st) {
            cli_error("train", "%s", err.msg);
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    if (cd_trainer_new(&a->tok, &a->nb, t, &err)) {
        cli_error("train", "%s", err.msg);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Feed every story of the inputs to the trainer, keyed by id; returns the
 * exit status so far.  subjects: the gold labels are the ninjs subjects. */
static int feed(cd_trainer *t, char **inputs, int n, int subjects, unsigned flags,
                cli_progress *prog, size_t *stories, size_t *replaced)
{
    cd_error err;
    cd_reader *r;
    if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &r, &err)) {
        cli_error("train", "%s", err.msg);
        return CLI_USAGE;
    }
    int status = CLI_OK;
    size_t bytes = 0;
    cd_story s;
    int rc;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_progress_done(prog);
            cli_error("train", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        if (subjects && cd_story_labels_from_subjects(&s, &err) != CD_OK) {
            cli_progress_done(prog);
            cli_error("train", "%s: %s", s.source, err.msg);
            status = CLI_PARTIAL;
        } else if (s.nlabels == 0) {
            cli_progress_done(prog);
            cli_error("train", "%s: story '%s' has no labels, skipped", s.source, s.id);
            status = CLI_PARTIAL;
        } else {
            size_t len;
            char *text = cd_story_text(&s, &len);
            int rep = 0;
            cd_status st = text ? cd_trainer_add_story(t, s.id, text, len, (const char *const *)s.labels,
                                                       s.nlabels, flags, &rep, &err)
                                : CD_ERR_NOMEM;
            if (st) {
                cli_progress_done(prog);
                cli_error("train", "%s: story '%s': %s%s, skipped", s.source, s.id,
                          text ? err.msg : "out of memory",
                          st == CD_ERR_ARG && strstr(err.msg, "is not one of the model's")
                              ? " (--new-label adds it)" : "");
                status = CLI_PARTIAL;
            } else {
                (*stories)++;
                *replaced += (size_t)rep;
                bytes += len;
            }
            free(text);
        }
        cd_story_clear(&s);
        cli_progress_stories(prog, "reading", *stories, bytes);
    }
    cd_reader_free(r);
    return status;
}

int cli_train(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--seeds") || !strncmp(argv[i], "--seeds=", 8))
            return cli_train_seeded(argc, argv);   /* cli_seeded.c */
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* Training allocates and frees arrays of megabytes again and again
     * (each fold's refinement): kept in the heap once freed, not given
     * back to the system, they are not faulted in and cleared anew each
     * time (a quarter of the page faults of a training on modapte-train) */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    train_args a = { 0 };
    cd_tok_opts_default(&a.tok);
    cd_nb_opts_default(&a.nb);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    cd_trainer *t;
    if ((rc = make_trainer(&a, &t)) != CLI_OK)
        return rc;
    cli_progress prog;
    cli_progress_init(&prog, a.quiet);
    size_t stories = 0, replaced = 0;
    int status = feed(t, argv + optind, argc - optind, a.subjects,
                      a.new_label ? CD_ADD_NEW_LABELS : 0, &prog, &stories, &replaced);
    if (status == CLI_USAGE) {
        cd_trainer_free(t);
        return status;
    }
    cd_error err;
    if (a.from && stories == 0 && !strcmp(a.from, a.output)) {
        /* nothing learned: the model stays as it is */
        cli_progress_done(&prog);
        cd_trainer_free(t);
        if (!a.quiet)
            fprintf(stderr, "copydesk: train: %s: no story added, the model is unchanged\n", a.output);
        return status == CLI_OK ? CLI_PARTIAL : status;
    }
    if (cd_trainer_save(t, a.output, cli_progress_stage, &prog, &err)) {
        cli_progress_done(&prog);
        cli_error("train", "%s", err.msg);
        cd_trainer_free(t);
        return CLI_USAGE;
    }
    cli_progress_done(&prog);
    cd_trainer_free(t);
    if (!a.quiet) {
        cd_model *m;
        if (cd_model_open(a.output, &m, &err) == CD_OK) {
            cd_model_info info;
            cd_model_get_info(m, &info);
            fprintf(stderr, "copydesk: train: %s: %zu stories added (%zu replacing a story of the same id; "
                            "%llu in all, %llu of them corrections), %u labels, %u terms, %s, %.2f s\n",
                    a.output, stories, replaced, (unsigned long long)info.docs,
                    (unsigned long long)info.corrections, info.labels, info.terms,
                    info.multilabel ? "multi-label" : "single-label", cli_progress_elapsed(&prog));
            cd_model_close(m);
        }
    }
    return status;
}
