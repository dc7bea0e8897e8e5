/*
 * cli_eval.c - copydesk eval: how well a model labels labelled stories.
 *
 * With -m MODEL the stories are classified by that model.  With --cv K the
 * stories are split into K folds, stratified by their first label (the
 * stories of each label are dealt to the folds in turn), and each fold is
 * classified by a model trained on the other folds, with the tokenizer and
 * classifier options given; the models are temporary files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_eval_desk.h"
#include "cli_metrics.h"
#include "cli_opts.h"
#include "cli_progress.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk eval -m MODEL [--json] INPUT...\n"
        "       copydesk eval --cv K [training options] [--json] INPUT...\n"
        "       copydesk eval -c DESK.lua [--errors] [--sweep TOPIC] [--json] INPUT...\n\n"
        "Measure how well a model labels stories whose labels are known: accuracy\n"
        "(exact label set), micro and macro precision, recall and F1, a per-label\n"
        "table, and a confusion matrix for single-label data.  Macro figures average\n"
        "over the labels present in the data.\n\n"
        "  -m, --model MODEL   evaluate this model\n"
        "  --cv K              K-fold cross-validation on the stories instead\n"
        "  --json              one JSON object: docs, accuracy, micro_precision,\n"
        "                      micro_recall, micro_f1, macro_precision, macro_recall,\n"
        "                      macro_f1, labels {name: {precision, recall, f1, support}},\n"
        "                      and confusion {labels, matrix} for single-label data\n"
        "  --labels-from subjects\n"
        "                      take the gold labels from the stories' IPTC ninjs\n"
        "                      subjects (medtop:CODE for a Media Topic)\n"
        "  -q, --quiet         no progress on stderr\n"
        "  -h, --help          this help\n\n"
        CLI_EVAL_DESK_HELP "\n"
        CLI_TOK_HELP "\n" CLI_NB_HELP);
}

typedef struct eval_args {
    const char *model;
    long cv;
    int json, quiet;
    int subjects;       /* --labels-from subjects */
    cd_tok_opts tok;
    cd_nb_opts nb;
    cli_eval_desk_args desk;   /* -c DESK.lua */
} eval_args;

enum { OPT_CV = OPT_FIRST_FREE, OPT_JSON, OPT_LABELS_FROM, OPT_ERRORS, OPT_SWEEP, OPT_THRESHOLD };

static int parse(int argc, char **argv, eval_args *a)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "cv", required_argument, NULL, OPT_CV },
        { "config", required_argument, NULL, 'c' },
        { "errors", no_argument, NULL, OPT_ERRORS },
        { "sweep", required_argument, NULL, OPT_SWEEP },
        { "threshold", required_argument, NULL, OPT_THRESHOLD },
        { "json", no_argument, NULL, OPT_JSON },
        { "labels-from", required_argument, NULL, OPT_LABELS_FROM },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        CLI_TOK_LONGOPTS, CLI_NB_LONGOPTS,
        { NULL, 0, NULL, 0 }
    };
    int c, r;
    optind = 1;
    char *end;
    while ((c = getopt_long(argc, argv, "m:c:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'c': a->desk.config = optarg; break;
        case OPT_ERRORS: a->desk.errors = 1; break;
        case OPT_SWEEP: a->desk.sweep = optarg; break;
        case OPT_THRESHOLD:
            a->desk.threshold = strtod(optarg, &end);
            if (end == optarg || *end || !(a->desk.threshold > 0 && a->desk.threshold <= 1)) {
                cli_error("eval", "--threshold: expected a number in (0, 1], got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_CV:
            if ((a->cv = cli_parse_count(optarg)) < 2 || a->cv > 100) {
                cli_error("eval", "--cv: expected a number from 2 to 100, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_JSON: a->json = 1; break;
        case OPT_LABELS_FROM:
            if (strcmp(optarg, "subjects")) {
                cli_error("eval", "--labels-from: expected 'subjects', got '%s'", optarg);
                return CLI_USAGE;
            }
            a->subjects = 1;
            break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            if ((r = cli_tok_option("eval", c, optarg, &a->tok)) == 0)
                r = cli_nb_option("eval", c, optarg, &a->nb);
            if (r == 1)
                break;
            if (r == 0)
                usage(stderr);
            return CLI_USAGE;
        }
    }
    if ((a->model != NULL) + (a->cv != 0) + (a->desk.config != NULL) != 1) {
        cli_error("eval", "give one of a model (-m MODEL), --cv K or a desk (-c DESK.lua)");
        return CLI_USAGE;
    }
    if (!a->desk.config && (a->desk.errors || a->desk.sweep || a->desk.threshold > 0)) {
        cli_error("eval", "--errors, --sweep and --threshold need a desk (-c DESK.lua)");
        return CLI_USAGE;
    }
    if (optind >= argc) {
        cli_error("eval", "no input given (use - for standard input)");
        return CLI_USAGE;
    }
    return -1;
}

/* The labels a classification chose, as names. */
static size_t chosen_names(const cd_model *m, const cd_label_score *sc, size_t n, const char **names)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sc[i].chosen)
            names[k++] = cd_model_label(m, sc[i].label);
    return k;
}

typedef struct evaluator {
    cd_model *model;
    cd_classifier *c;
    const char **names;
} evaluator;

static int evaluator_open(evaluator *e, const char *path)
{
    cd_error err;
    memset(e, 0, sizeof *e);
    if (cd_model_open(path, &e->model, &err) || cd_classifier_new(e->model, &e->c, &err)) {
        cli_error("eval", "%s", err.msg);
        cd_model_close(e->model);
        return -1;
    }
    cd_classifier_set_order(e->c, 1);   /* eval reads the chosen labels only */
    cd_model_info info;
    cd_model_get_info(e->model, &info);
    if (!(e->names = malloc(sizeof *e->names * info.labels))) {
        cli_error("eval", "out of memory");
        cd_classifier_free(e->c);
        cd_model_close(e->model);
        return -1;
    }
    return 0;
}

static void evaluator_close(evaluator *e)
{
    free(e->names);
    cd_classifier_free(e->c);
    cd_model_close(e->model);
}

/* Classify one labelled story and count it; returns 0, or -1 on failure. */
static int eval_one(evaluator *e, cli_metrics *mx, const cd_story *s)
{
    cd_error err;
    size_t len, n;
    const cd_label_score *sc;
    char *text = cd_story_text(s, &len);
    if (!text || cd_classify(e->c, text, len, &sc, &n, &err)) {
        cli_error("eval", "%s: %s", s->source, text ? err.msg : "out of memory");
        free(text);
        return -1;
    }
    free(text);
    size_t k = chosen_names(e->model, sc, n, e->names);
    if (cli_metrics_add(mx, s->labels, s->nlabels, e->names, k)) {
        cli_error("eval", "out of memory");
        return -1;
    }
    return 0;
}

static int eval_model(const eval_args *a, char **inputs, int n, cli_metrics *mx)
{
    evaluator e;
    if (evaluator_open(&e, a->model))
        return CLI_USAGE;
    cd_error err;
    cd_reader *r;
    if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &r, &err)) {
        cli_error("eval", "%s", err.msg);
        evaluator_close(&e);
        return CLI_USAGE;
    }
    cli_progress prog;
    cli_progress_init(&prog, a->quiet);
    int status = CLI_OK, rc;
    cd_story s;
    size_t bytes = 0;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_progress_done(&prog);
            cli_error("eval", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        if (a->subjects && cd_story_labels_from_subjects(&s, &err) != CD_OK) {
            cli_progress_done(&prog);
            cli_error("eval", "%s: %s", s.source, err.msg);
            status = CLI_PARTIAL;
        } else if (s.nlabels == 0) {
            cli_progress_done(&prog);
            cli_error("eval", "%s: story '%s' has no labels, skipped", s.source, s.id);
            status = CLI_PARTIAL;
        } else if (eval_one(&e, mx, &s)) {
            status = CLI_PARTIAL;
        }
        bytes += s.title_len + s.body_len;
        cd_story_clear(&s);
        cli_progress_stories(&prog, "evaluating", mx->docs, bytes);
    }
    cli_progress_done(&prog);
    cd_reader_free(r);
    evaluator_close(&e);
    return status;
}

/* ---- cross-validation ------------------------------------------------------ */

typedef struct story_list {
    cd_story *v;
    size_t n, cap;
    size_t *fold;
} story_list;

static void story_list_free(story_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        cd_story_clear(&l->v[i]);
    free(l->v);
    free(l->fold);
}

/* Deal the stories of each first label to the K folds in turn. */
static int assign_folds(story_list *l, size_t K)
{
    const char **names = malloc(sizeof *names * (l->n + 1));
    size_t *next = malloc(sizeof *next * (l->n + 1));
    size_t nnames = 0;
    l->fold = malloc(sizeof *l->fold * (l->n + 1));
    if (!names || !next || !l->fold) {
        free(names);
        free(next);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        size_t c = 0;
        while (c < nnames && strcmp(names[c], l->v[i].labels[0]))
            c++;
        if (c == nnames) {
            names[nnames] = l->v[i].labels[0];
            next[nnames++] = c % K;  /* labels start on different folds */
        }
        l->fold[i] = next[c];
        next[c] = (next[c] + 1) % K;
    }
    free(names);
    free(next);
    return 0;
}

static int read_all(char **inputs, int n, int subjects, story_list *l)
{
    cd_error err;
    cd_reader *r;
    if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &r, &err)) {
        cli_error("eval", "%s", err.msg);
        return CLI_USAGE;
    }
    int status = CLI_OK, rc;
    cd_story s;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_error("eval", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        if (subjects && cd_story_labels_from_subjects(&s, &err) != CD_OK) {
            cli_error("eval", "%s: %s", s.source, err.msg);
            cd_story_clear(&s);
            status = CLI_PARTIAL;
            continue;
        }
        if (s.nlabels == 0) {
            cli_error("eval", "%s: story '%s' has no labels, skipped", s.source, s.id);
            cd_story_clear(&s);
            status = CLI_PARTIAL;
            continue;
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 256;
            cd_story *v = realloc(l->v, sizeof *v * cap);
            if (!v) {
                cd_story_clear(&s);
                cli_error("eval", "out of memory");
                status = CLI_USAGE;
                break;
            }
            l->v = v;
            l->cap = cap;
        }
        l->v[l->n++] = s;
    }
    cd_reader_free(r);
    return status;
}

static int train_fold(const eval_args *a, const story_list *l, size_t k, const char *path)
{
    cd_error err;
    cd_trainer *t;
    if (cd_trainer_new(&a->tok, &a->nb, &t, &err)) {
        cli_error("eval", "%s", err.msg);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->fold[i] == k)
            continue;
        size_t len;
        char *text = cd_story_text(&l->v[i], &len);
        int bad = !text || cd_trainer_add(t, text, len, (const char *const *)l->v[i].labels,
                                          l->v[i].nlabels, &err);
        free(text);
        if (bad) {
            cli_error("eval", "%s: %s", l->v[i].source, text ? err.msg : "out of memory");
            cd_trainer_free(t);
            return -1;
        }
    }
    int rc = cd_trainer_save(t, path, NULL, NULL, &err) ? -1 : 0;
    if (rc)
        cli_error("eval", "%s", err.msg);
    cd_trainer_free(t);
    return rc;
}

static int eval_cv(const eval_args *a, char **inputs, int n, cli_metrics *mx)
{
    story_list l = { 0 };
    int status = read_all(inputs, n, a->subjects, &l);
    if (status == CLI_USAGE || l.n < (size_t)a->cv) {
        if (status != CLI_USAGE)
            cli_error("eval", "--cv %ld needs at least %ld labelled stories, got %zu", a->cv, a->cv, l.n);
        story_list_free(&l);
        return CLI_USAGE;
    }
    if (assign_folds(&l, (size_t)a->cv)) {
        cli_error("eval", "out of memory");
        story_list_free(&l);
        return CLI_USAGE;
    }
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/copydesk-cv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        cli_error("eval", "%s: cannot create a temporary model", path);
        story_list_free(&l);
        return CLI_USAGE;
    }
    close(fd);
    cli_progress prog;
    cli_progress_init(&prog, a->quiet);
    for (size_t k = 0; k < (size_t)a->cv && status != CLI_USAGE; k++) {
        cli_progress_stage("cross-validating", (double)k / a->cv, &prog);
        evaluator e;
        if (train_fold(a, &l, k, path) || evaluator_open(&e, path)) {
            status = CLI_USAGE;
            break;
        }
        for (size_t i = 0; i < l.n; i++)
            if (l.fold[i] == k && eval_one(&e, mx, &l.v[i]))
                status = CLI_PARTIAL;
        evaluator_close(&e);
    }
    cli_progress_done(&prog);
    unlink(path);
    story_list_free(&l);
    return status;
}

int cli_eval(int argc, char **argv)
{
    eval_args a = { 0 };
    cd_tok_opts_default(&a.tok);
    cd_nb_opts_default(&a.nb);
    cd_desk_opts_default(&a.desk.opts);
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.desk.config) {
        a.desk.json = a.json;
        if (!(a.desk.threshold > 0))
            a.desk.threshold = 0.5;
        return cli_eval_desk(&a.desk, argv + optind, argc - optind);
    }
    cli_metrics mx;
    cli_metrics_init(&mx);
    int status = a.cv ? eval_cv(&a, argv + optind, argc - optind, &mx)
                      : eval_model(&a, argv + optind, argc - optind, &mx);
    if (status != CLI_USAGE) {
        if (a.json)
            cli_metrics_print_json(&mx, stdout);
        else
            cli_metrics_print(&mx, stdout);
    }
    cli_metrics_free(&mx);
    return status;
}
