/*
 * cli_tokens.c - copydesk tokens: show how text is tokenized.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opts.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk tokens [--model MODEL] [options] TEXT...\n"
        "       copydesk tokens [--model MODEL] [options] INPUT...\n\n"
        "Show the tokens of a text, one per line, or of each story of the inputs\n"
        "(files, folders, - for standard input, http(s) URLs) as JSON lines\n"
        "{\"id\":...,\"tokens\":[...]}.  Arguments are taken as inputs when the first\n"
        "is -, an existing path or a URL, and as text otherwise.\n\n"
        "  -m, --model MODEL   tokenize with the settings MODEL was trained with\n"
        "  --json              print the tokens of a TEXT as one JSON array\n"
        "  -h, --help          this help\n\n"
        CLI_TOK_HELP);
}

typedef struct printer {
    FILE *out;
    int json;
    size_t n;
} printer;

static int print_token(const char *tok, size_t len, void *ud)
{
    printer *p = ud;
    if (p->json) {
        if (p->n)
            fputc(',', p->out);
        cli_json_string(p->out, tok, len);
    } else {
        fwrite(tok, 1, len, p->out);
        fputc('\n', p->out);
    }
    p->n++;
    return 0;
}

static int looks_like_input(const char *arg)
{
    struct stat st;
    return !strcmp(arg, "-") || !strncmp(arg, "http://", 7) || !strncmp(arg, "https://", 8) ||
           stat(arg, &st) == 0;
}

static int tokens_of_inputs(cd_tokenizer *tok, char **inputs, int n)
{
    cd_error err;
    cd_reader *r;
    if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &r, &err)) {
        cli_error("tokens", "%s", err.msg);
        return CLI_USAGE;
    }
    int status = CLI_OK, rc;
    cd_story s;
    while ((rc = cd_reader_next(r, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_error("tokens", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        size_t len;
        char *text = cd_story_text(&s, &len);
        if (text) {
            printer p = { stdout, 1, 0 };
            fputs("{\"id\":", stdout);
            cli_json_string(stdout, s.id, strlen(s.id));
            fputs(",\"tokens\":[", stdout);
            cd_tokenize(tok, text, len, print_token, &p);
            fputs("]}\n", stdout);
        } else {
            cli_error("tokens", "%s: out of memory", s.source);
            status = CLI_PARTIAL;
        }
        free(text);
        cd_story_clear(&s);
    }
    cd_reader_free(r);
    return status;
}

static int tokens_of_text(cd_tokenizer *tok, char **words, int n, int json)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *text = malloc(len + 1);
    if (!text) {
        cli_error("tokens", "out of memory");
        return CLI_USAGE;
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t w = strlen(words[i]);
        memcpy(text + at, words[i], w);
        at += w;
        text[at++] = ' ';
    }
    printer p = { stdout, json, 0 };
    if (json)
        fputc('[', stdout);
    cd_tokenize(tok, text, at, print_token, &p);
    if (json)
        fputs("]\n", stdout);
    free(text);
    return CLI_OK;
}

int cli_tokens(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "json", no_argument, NULL, OPT_FIRST_FREE },
        { "help", no_argument, NULL, 'h' },
        CLI_TOK_LONGOPTS,
        { NULL, 0, NULL, 0 }
    };
    cd_tok_opts opts;
    cd_tok_opts_default(&opts);
    const char *model = NULL;
    int json = 0, c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case OPT_FIRST_FREE: json = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default:
            if ((r = cli_tok_option("tokens", c, optarg, &opts)) == 1)
                break;
            if (r == 0)
                usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("tokens", "no text or input given");
        return CLI_USAGE;
    }
    cd_error err;
    if (model) {
        cd_model *m;
        if (cd_model_open(model, &m, &err)) {
            cli_error("tokens", "%s", err.msg);
            return CLI_USAGE;
        }
        cd_model_info info;
        cd_model_get_info(m, &info);
        opts = info.tok;
        cd_model_close(m);
    }
    cd_tokenizer *tok;
    if (cd_tokenizer_new(&opts, &tok, &err)) {
        cli_error("tokens", "%s", err.msg);
        return CLI_USAGE;
    }
    int status = looks_like_input(argv[optind])
                     ? tokens_of_inputs(tok, argv + optind, argc - optind)
                     : tokens_of_text(tok, argv + optind, argc - optind, json);
    cd_tokenizer_free(tok);
    return status;
}
