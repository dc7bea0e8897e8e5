/*
 * cli_model.c - copydesk model info: what a model file holds.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "copydesk.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk model info [--json] MODEL\n\n"
        "Describe a model file: format version, classifier and tokenizer settings,\n"
        "training documents, vocabulary size, the corrections it holds (see 'copydesk\n"
        "learn'), how it decides (multi-label: labels only when likely, or at least\n"
        "one), what kind auto chose and the fold scores, and each label with its\n"
        "training documents and decision threshold.  The file is checked in full first.\n\n"
        "  --json        one JSON object instead of text\n"
        "  -h, --help    this help\n");
}

static const char *kind_name(cd_nb_kind k)
{
    return k == CD_NB_MULTINOMIAL ? "multinomial" : "complement";
}

static void print_text(const cd_model *m, const cd_model_info *i, const char *path)
{
    printf("model        %s\n", path);
    printf("format       copydesk model version %u, %llu bytes\n", i->format_version,
           (unsigned long long)i->file_bytes);
    printf("classifier   %s naive Bayes, %s, alpha %g", kind_name(i->nb.kind),
           i->multilabel ? "multi-label" : "single-label", i->nb.alpha);
    if (i->nb.kind == CD_NB_COMPLEMENT)
        printf(", alpha-rest %g", i->nb.alpha_rest);
    printf(", min-df %u%s%s%s%s", i->nb.min_df, i->nb.log_tf ? ", log tf" : "", i->nb.idf ? ", idf" : "",
           i->nb.length_norm ? ", length norm" : "",
           i->nb.weight_norm && !i->multilabel ? ", weight norm" : "");
    if (i->refined)
        printf(", refined (%u iterations)", i->nb.refine);
    putchar('\n');
    printf("tokenizer    length %u-%u%s%s%s%s\n", i->tok.min_len, i->tok.max_len,
           i->tok.stopwords ? ", stop words removed" : "", i->tok.bigrams ? ", bigrams" : "",
           i->tok.stem ? ", stemmed" : "", i->tok.fold_numbers ? ", numbers folded" : "");
    printf("documents    %llu\nvocabulary   %u terms\nlabels       %u\n",
           (unsigned long long)i->docs, i->terms, i->labels);
    printf("corrections  %llu (of %llu training stories kept; %llu added or replaced since the calibration)\n",
           (unsigned long long)i->corrections, (unsigned long long)i->stories_kept,
           (unsigned long long)i->uncalibrated);
    if (i->multilabel)
        printf("decision     %s\n", i->at_least_one ? "at least one label per story (--at-least-one)"
                                                     : "each label when likely enough (a story may get none)");
    if (i->cv_nscores) {
        printf("folds        %s; held-out %s per fold", i->cv_picked
                   ? "variant and smoothing chosen by cross-validation (kind auto)"
                   : "the settings as given or preset", i->multilabel ? "(micro+macro F1)/2" : "accuracy");
        double mean = 0;
        for (uint32_t k = 0; k < i->cv_nscores; k++) {
            printf(" %.4f", i->cv_scores[k]);
            mean += i->cv_scores[k];
        }
        printf(", mean %.4f\n", mean / i->cv_nscores);
    }
    putchar('\n');
    printf("%-24s %10s %10s\n", "label", "documents", "threshold");
    for (uint32_t c = 0; c < i->labels; c++) {
        printf("%-24s %10llu", cd_model_label(m, c), (unsigned long long)cd_model_label_docs(m, c));
        if (i->multilabel)
            printf(" %10.3f", cd_model_label_threshold(m, c));
        putchar('\n');
    }
}

static void print_json(const cd_model *m, const cd_model_info *i)
{
    printf("{\"format_version\":%u,\"bytes\":%llu,\"kind\":\"%s\",\"multilabel\":%s,\"refined\":%s,\"alpha\":%g,\"alpha_rest\":%g,\"min_df\":%u,"
           "\"log_tf\":%s,\"idf\":%s,\"length_norm\":%s,\"weight_norm\":%s,"
           "\"tokenizer\":{\"min_len\":%u,\"max_len\":%u,\"stopwords\":%s,\"bigrams\":%s,"
           "\"stem\":%s,\"fold_numbers\":%s},\"docs\":%llu,\"terms\":%u,"
           "\"stories_kept\":%llu,\"corrections\":%llu,\"uncalibrated\":%llu,\"at_least_one\":%s,"
           "\"cv_picked\":%s,\"cv_scores\":[",
           i->format_version, (unsigned long long)i->file_bytes, kind_name(i->nb.kind),
           i->multilabel ? "true" : "false", i->refined ? "true" : "false", i->nb.alpha,
           i->nb.alpha_rest, i->nb.min_df, i->nb.log_tf ? "true" : "false", i->nb.idf ? "true" : "false",
           i->nb.length_norm ? "true" : "false", i->nb.weight_norm ? "true" : "false",
           i->tok.min_len, i->tok.max_len, i->tok.stopwords ? "true" : "false",
           i->tok.bigrams ? "true" : "false", i->tok.stem ? "true" : "false",
           i->tok.fold_numbers ? "true" : "false", (unsigned long long)i->docs, i->terms,
           (unsigned long long)i->stories_kept, (unsigned long long)i->corrections,
           (unsigned long long)i->uncalibrated, i->at_least_one ? "true" : "false",
           i->cv_picked ? "true" : "false");
    for (uint32_t k = 0; k < i->cv_nscores; k++)
        printf("%s%.6g", k ? "," : "", i->cv_scores[k]);
    fputs("],\"labels\":[", stdout);
    for (uint32_t c = 0; c < i->labels; c++) {
        const char *name = cd_model_label(m, c);
        fputs(c ? ",{\"label\":" : "{\"label\":", stdout);
        cli_json_string(stdout, name, strlen(name));
        printf(",\"docs\":%llu", (unsigned long long)cd_model_label_docs(m, c));
        if (i->multilabel)
            printf(",\"threshold\":%.6g", cd_model_label_threshold(m, c));
        putchar('}');
    }
    puts("]}");
}

int cli_model(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "info")) {
        cli_error("model", "unknown subcommand '%s' (expected: info)", argv[1]);
        return CLI_USAGE;
    }
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int json = 0, c;
    optind = 1;
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') { usage(stdout); return CLI_OK; }
        else { usage(stderr); return CLI_USAGE; }
    }
    if (optind != argc - 1) {
        cli_error("model info", "expected one model file");
        return CLI_USAGE;
    }
    cd_model *m;
    cd_error err;
    if (cd_model_open(argv[optind], &m, &err)) {
        cli_error("model info", "%s", err.msg);
        return CLI_USAGE;
    }
    cd_model_info info;
    cd_model_get_info(m, &info);
    if (json)
        print_json(m, &info);
    else
        print_text(m, &info, argv[optind]);
    cd_model_close(m);
    return CLI_OK;
}
