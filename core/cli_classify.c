/*
 * cli_classify.c - copydesk classify: one JSON line of labels per story.
 *
 *   {"id":"reuters-14826","labels":[{"label":"trade","p":0.97}]}
 *
 * By default the labels the model assigns (the best one for single-label
 * models; those over their threshold for multi-label models); --top N lists
 * the N most probable instead.  --explain adds, per label, the tokens that
 * weighed most for it.
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
        "usage: copydesk classify -m MODEL [--top N] [--explain] [INPUT...]\n\n"
        "Print one JSON line per story with its labels and their probabilities:\n"
        "  {\"id\":\"...\",\"labels\":[{\"label\":\"trade\",\"p\":0.97}]}\n"
        "INPUT may be a file, a folder, - for standard input (the default), or an\n"
        "http(s) URL; JSON lines, JSON and plain text are recognized.\n\n"
        "  -m, --model MODEL   the model file\n"
        "  -n, --top N         the N most probable labels instead of the chosen ones\n"
        "  -e, --explain       add the tokens that weighed most for each label\n"
        "  --explain-tokens K  how many tokens --explain shows (default 8)\n"
        "  -h, --help          this help\n\n"
        "Exit status: 0 all stories classified, 1 some input failed (reported on\n"
        "stderr, the others were classified), 2 usage or model error.\n");
}

typedef struct classify_args {
    const char *model;
    long top;
    int explain;
    long explain_k;
} classify_args;

enum { OPT_EXPLAIN_TOKENS = 1000 };

static int parse(int argc, char **argv, classify_args *a)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "top", required_argument, NULL, 'n' },
        { "explain", no_argument, NULL, 'e' },
        { "explain-tokens", required_argument, NULL, OPT_EXPLAIN_TOKENS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:n:eh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'n':
            if ((a->top = cli_parse_count(optarg)) < 1) {
                cli_error("classify", "--top: expected a positive number, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'e': a->explain = 1; break;
        case OPT_EXPLAIN_TOKENS:
            if ((a->explain_k = cli_parse_count(optarg)) < 1 || a->explain_k > 1000) {
                cli_error("classify", "--explain-tokens: expected a number from 1 to 1000, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!a->model) {
        cli_error("classify", "no model given (-m MODEL)");
        return CLI_USAGE;
    }
    return -1;
}

static void print_tokens(FILE *out, cd_classifier *c, uint32_t label, cd_token_weight *tw, size_t k)
{
    size_t n = cd_classifier_explain(c, label, tw, k);
    fputs(",\"tokens\":[", out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",{\"token\":" : "{\"token\":", out);
        cli_json_string(out, tw[i].token, tw[i].len);
        fprintf(out, ",\"weight\":%.4g}", tw[i].weight);
    }
    fputc(']', out);
}

static void print_story(FILE *out, const cd_model *m, cd_classifier *c, const cd_story *s,
                        const cd_label_score *sc, size_t n, const classify_args *a,
                        cd_token_weight *tw)
{
    fputs("{\"id\":", out);
    cli_json_string(out, s->id, strlen(s->id));
    fputs(",\"labels\":[", out);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (a->top ? i >= (size_t)a->top : !sc[i].chosen)
            continue;
        const char *name = cd_model_label(m, sc[i].label);
        fputs(shown++ ? ",{\"label\":" : "{\"label\":", out);
        cli_json_string(out, name, strlen(name));
        fprintf(out, ",\"p\":%.4g", sc[i].p);
        if (a->explain)
            print_tokens(out, c, sc[i].label, tw, (size_t)a->explain_k);
        fputc('}', out);
    }
    fputs("]}\n", out);
}

static int run(const classify_args *a, char **inputs, int ninputs)
{
    cd_error err;
    cd_model *m;
    if (cd_model_open(a->model, &m, &err)) {
        cli_error("classify", "%s", err.msg);
        return CLI_USAGE;
    }
    cd_classifier *c;
    if (cd_classifier_new(m, &c, &err)) {
        cli_error("classify", "%s", err.msg);
        cd_model_close(m);
        return CLI_USAGE;
    }
    static const char *stdin_only[] = { "-" };
    cd_reader *r;
    if (cd_reader_open(ninputs ? (const char *const *)inputs : stdin_only,
                       ninputs ? (size_t)ninputs : 1, NULL, &r, &err)) {
        cli_error("classify", "%s", err.msg);
        cd_classifier_free(c);
        cd_model_close(m);
        return CLI_USAGE;
    }
    cd_token_weight *tw = malloc(sizeof *tw * (size_t)a->explain_k);
    int status = tw ? CLI_OK : CLI_USAGE;
    cd_story s;
    int rc;
    while (tw && (rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_error("classify", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        size_t len, n;
        const cd_label_score *sc;
        char *text = cd_story_text(&s, &len);
        if (!text || cd_classify(c, text, len, &sc, &n, &err)) {
            cli_error("classify", "%s: %s", s.source, text ? err.msg : "out of memory");
            status = CLI_PARTIAL;
        } else {
            print_story(stdout, m, c, &s, sc, n, a, tw);
        }
        free(text);
        cd_story_clear(&s);
    }
    free(tw);
    cd_reader_free(r);
    cd_classifier_free(c);
    cd_model_close(m);
    if (fflush(stdout) != 0) {
        cli_error("classify", "standard output: write failed");
        return CLI_USAGE;
    }
    return status;
}

int cli_classify(int argc, char **argv)
{
    classify_args a = { .explain_k = 8 };
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    return run(&a, argv + optind, argc - optind);
}
