/*
 * cli_learn.c - copydesk learn: an editor's corrections into a model.
 *
 * learn is train --from MODEL -o MODEL under its own name: one code path,
 * so that the two behave the same (cli_train.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk learn -m MODEL [options] STORIES...\n\n"
        "Add corrections to a model: each story, with its right labels (JSON with a\n"
        "\"labels\" array, as for train), is keyed by its id.  Correcting a story again\n"
        "replaces the earlier correction: the model keeps its training stories, so\n"
        "the old answer is taken out, not added to.  The model is refitted as a\n"
        "retrain on the same stories would fit it (the weights, the refinement) and\n"
        "written at once, with the calibration it had (each label's sigmoid and\n"
        "threshold, fitted on held-out folds): the correction is live.  Then the\n"
        "calibration is fitted again on the folds a retrain would use and the model\n"
        "written a second time: it is then the retrained model (--fast stops after\n"
        "the first write; the calibration is then fitted again once the stories\n"
        "added or replaced since are more than 1%% of them, or a label is new).\n"
        "Each write replaces the file atomically (a new file renamed over the old):\n"
        "a running 'copydesk watch' picks it up.  'copydesk model info MODEL' shows\n"
        "the corrections a model holds.  'copydesk train --from MODEL -o MODEL' does\n"
        "the same.\n\n"
        "  -m, --model MODEL   the model to correct\n"
        "  -o, --output FILE   write the corrected model there instead of over MODEL\n"
        "  --fast              write the corrected model once, keeping the calibration\n"
        "  --new-label         a label the model does not have is meant: add it\n"
        "                      (without it such a story is refused, with the model's\n"
        "                      labels listed: a mistyped label must not make a new one)\n"
        "  -q, --quiet         no progress or summary on stderr\n"
        "  -h, --help          this help\n\n"
        "What a model decides (see 'Classifier' in the README): a multi-label model\n"
        "gives a story only the labels likely enough (possibly none; models trained\n"
        "with --at-least-one always give the nearest); kind auto chooses the variant\n"
        "and smoothing by k-fold cross-validation (multi-label models: the refined\n"
        "preset against complement naive Bayes unrefined at alpha-rest 0.3 and 1;\n"
        "'model info' shows the choice and the folds' scores); training runs on\n"
        "every core.  The refinement of a corrected model starts where the model's\n"
        "ended, so that one correction is written within about a second on a\n"
        "model of 8,000 stories.\n\n"
        "A story with an unknown label, without labels, or unreadable is reported\n"
        "and skipped (exit status 1); the others are learned.\n");
}

int cli_learn(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "output", required_argument, NULL, 'o' },
        { "new-label", no_argument, NULL, 'N' },
        { "fast", no_argument, NULL, 'F' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *model = NULL, *output = NULL;
    int new_label = 0, quiet = 0, fast = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'o': output = optarg; break;
        case 'N': new_label = 1; break;
        case 'F': fast = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!model) {
        cli_error("learn", "no model given (-m MODEL)");
        return CLI_USAGE;
    }
    if (optind >= argc) {
        cli_error("learn", "no stories given (use - for standard input)");
        return CLI_USAGE;
    }
    /* train --from MODEL -o OUTPUT [--new-label] [-q] -- STORIES... */
    int n = argc - optind;
    char **av = calloc((size_t)n + 10, sizeof *av);
    if (!av) {
        cli_error("learn", "out of memory");
        return CLI_USAGE;
    }
    int k = 0;
    av[k++] = "train";
    av[k++] = "--from";
    av[k++] = (char *)model;
    av[k++] = "-o";
    av[k++] = (char *)(output ? output : model);
    if (new_label)
        av[k++] = "--new-label";
    if (fast)
        av[k++] = "--fast";
    if (quiet)
        av[k++] = "-q";
    av[k++] = "--";
    for (int i = 0; i < n; i++)
        av[k++] = argv[optind + i];
    av[k] = NULL;
    int rc = cli_train(k, av);
    free(av);
    return rc;
}
