/*
 * cli_classify.c - copydesk classify: one JSON line of labels per story.
 *
 *   {"id":"reuters-14826","labels":[{"label":"trade","p":0.97}]}
 *
 * By default the labels the model assigns (the best one for single-label
 * models; those over their threshold for multi-label models); --top N lists
 * the N most probable instead.  --explain adds, per label, the tokens that
 * weighed most for it.
 *
 * With a desk (-c DESK.lua) each line also has the desk's topic scores,
 * and --explain adds each topic's evidence (the labels and keyword hits
 * that contributed), the same as route --explain shows:
 *
 *   {"id":..,"labels":[..],"topics":[{"id":"trade","name":"Trade","score":0.93}],
 *    "evidence":[{"topic":"trade","score":..,"own":..,"labels":[..],"keywords":[..]}]}
 *
 * Without -m, the labels are the desk's models' ("models":{"name":[..]}).
 * The desk decides the story as a dry run does (its rules run, nothing is
 * delivered); only the topics and evidence are printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/numfmt.h"
#include "cli_pipe.h"
#include "copydesk.h"
#include "deliver/deliver_ninjs.h"
#include "desk/topics.h"
#include "story/story_text.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk classify -m MODEL [--top N] [--explain] [INPUT...]\n"
        "       copydesk classify -c DESK.lua [-m MODEL] [--explain] [INPUT...]\n\n"
        "Print one JSON line per story with its labels and their probabilities:\n"
        "  {\"id\":\"...\",\"labels\":[{\"label\":\"trade\",\"p\":0.97}]}\n"
        "INPUT may be a file, a folder, - for standard input (the default), or an\n"
        "http(s) URL; JSON lines, JSON and plain text are recognized.\n\n"
        "  -m, --model MODEL   the model file\n"
        "  -c, --config DESK.lua\n"
        "                      also score the desk's topics: \"topics\":[{\"id\":..,\n"
        "                      \"name\":..,\"score\":..}], best first; without -m the\n"
        "                      labels are the desk's models' (\"models\":{\"name\":[..]})\n"
        "  -n, --top N         the N most probable labels instead of the chosen ones\n"
        "  -e, --explain       add the tokens that weighed most for each label; with\n"
        "                      -c, also each topic's evidence: \"evidence\":[{\"topic\":..,\n"
        "                      \"labels\":[..],\"keywords\":[{\"keyword\":..,\"hits\":..}]}]\n"
        "  --explain-tokens K  how many tokens --explain shows (default 8)\n"
        "  --format ninjs      one IPTC ninjs 2.2 document per story instead: the\n"
        "                      story with a subject per topic at or above its\n"
        "                      threshold (with -c; its Media Topic uri when the topic\n"
        "                      has an iptc code), else per chosen label\n"
        "  --threads N         classify on N threads (default: the number of cores);\n"
        "                      the output keeps the order of the input\n"
        "  -h, --help          this help\n\n"
        "With -c the desk's rules run as in a dry run (nothing is delivered);\n"
        "copydesk route -n shows where stories would go.\n\n"
        "Exit status: 0 all stories classified, 1 some input failed (reported on\n"
        "stderr, the others were classified), 2 usage, model or desk error.\n");
}

typedef struct classify_args {
    const char *model;
    const char *config;
    long top;
    int explain;
    long explain_k;
    size_t threads;     /* 0: the number of cores */
    int ninjs;          /* --format ninjs */
} classify_args;

enum { OPT_EXPLAIN_TOKENS = 1000, OPT_THREADS, OPT_FORMAT };

/* ,"p":0.97 as printf's %.4g writes it (base/numfmt.h: without printf). */
static void put_p(cd_buf *out, double p)
{
    char num[CDI_NUM_MAX];
    cdi_buf_put(out, ",\"p\":", 5);
    cdi_buf_put(out, num, cdi_fmt_g(p, 4, num));
}

static int parse(int argc, char **argv, classify_args *a)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "config", required_argument, NULL, 'c' },
        { "top", required_argument, NULL, 'n' },
        { "explain", no_argument, NULL, 'e' },
        { "explain-tokens", required_argument, NULL, OPT_EXPLAIN_TOKENS },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:n:eh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'c': a->config = optarg; break;
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
        case OPT_THREADS:
            if (!(a->threads = cli_pipe_parse_threads(optarg))) {
                cli_error("classify", "--threads: expected a number from 1 to 256, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "ninjs") && strcmp(optarg, "copydesk")) {
                cli_error("classify", "--format: expected ninjs or copydesk, got '%s'", optarg);
                return CLI_USAGE;
            }
            a->ninjs = !strcmp(optarg, "ninjs");
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!a->model && !a->config) {
        cli_error("classify", "no model given (-m MODEL, or a desk: -c DESK.lua)");
        return CLI_USAGE;
    }
    if (!a->model && a->top) {
        cli_error("classify", "--top needs a model (-m MODEL)");
        return CLI_USAGE;
    }
    return -1;
}

static void print_tokens(cd_buf *out, cd_classifier *c, uint32_t label, cd_token_weight *tw, size_t k)
{
    size_t n = cd_classifier_explain(c, label, tw, k);
    cdi_buf_puts(out, ",\"tokens\":[");
    for (size_t i = 0; i < n; i++) {
        cdi_buf_puts(out, i ? ",{\"token\":" : "{\"token\":");
        cdi_buf_json_string(out, tw[i].token, tw[i].len);
        cdi_buf_printf(out, ",\"weight\":%.4g}", tw[i].weight);
    }
    cdi_buf_put(out, "]", 1);
}

/* The model's labels of the story: ,"labels":[...] */
static void print_labels(cd_buf *out, const cd_model *m, cd_classifier *c,
                         const cd_label_score *sc, size_t n, const classify_args *a,
                         cd_token_weight *tw)
{
    cdi_buf_puts(out, ",\"labels\":[");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (a->top ? i >= (size_t)a->top : !sc[i].chosen)
            continue;
        const char *name = cd_model_label(m, sc[i].label);
        cdi_buf_puts(out, shown++ ? ",{\"label\":" : "{\"label\":");
        cdi_buf_json_string(out, name, strlen(name));
        put_p(out, sc[i].p);
        if (a->explain)
            print_tokens(out, c, sc[i].label, tw, (size_t)a->explain_k);
        cdi_buf_put(out, "}", 1);
    }
    cdi_buf_put(out, "]", 1);
}

/* ---- topics from a desk ------------------------------------------------- */

/* Past the JSON string whose opening quote is at p. */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : p;
}

/* Past the JSON value at p.  The text is the desk's own compact JSON
 * (cd_desk_decision_json): valid, no white space between tokens. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    while (*p) {
        if (*p == '"') {
            p = skip_string(p);
        } else {
            if (*p == '[' || *p == '{')
                depth++;
            else if (*p == ']' || *p == '}')
                depth--;
            else if (*p == ',' && depth == 0)
                return p;
            if (depth < 0)
                return p;   /* the end of the enclosing object or array */
            p++;
        }
        if (depth == 0 && (*p == ',' || *p == '}' || *p == ']'))
            return p;
    }
    return p;
}

/* The value of the member key of the JSON object text json (its top
 * level only), *len bytes at the returned pointer; NULL when absent. */
static const char *json_member(const char *json, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    const char *p = json;
    if (*p++ != '{')
        return NULL;
    while (*p == '"') {
        const char *k = p + 1;
        p = skip_string(p);
        int match = (size_t)(p - k - 1) == klen && !strncmp(k, key, klen);
        if (*p++ != ':')
            return NULL;
        const char *v = p;
        p = skip_value(p);
        if (match) {
            *len = (size_t)(p - v);
            return v;
        }
        if (*p++ != ',')
            return NULL;
    }
    return NULL;
}

static void print_member(cd_buf *out, const char *json, const char *key, const char *as)
{
    size_t len;
    const char *v = json_member(json, key, &len);
    cdi_buf_printf(out, ",\"%s\":", as);
    if (v)
        cdi_buf_put(out, v, len);
    else
        cdi_buf_puts(out, "null");
}

/* Have the desk score the story (a dry run) and print its topics, the
 * desk's model labels when there is no -m model, and with --explain the
 * evidence.  Returns 0 when the desk could not consider the story. */
static int print_desk(cd_buf *out, cd_desk *desk, const cd_story *s, const classify_args *a,
                      cd_error *err)
{
    cd_decision dec;
    if (cd_desk_route(desk, s, 1, &dec, err) != CD_OK)
        return 0;
    /* explain: every topic over 0.01 and each one's evidence */
    char *json = cd_desk_decision_json(desk, 1);
    if (!json) {
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (!a->model)
        print_member(out, json, "labels", "models");
    print_member(out, json, "topics", "topics");
    if (a->explain)
        print_member(out, json, "evidence", "evidence");
    free(json);
    return 1;
}

/* ---- the run -------------------------------------------------------------- */

/* One worker's own objects: nothing here is shared with another worker
 * but the model, which is read-only. */
typedef struct classify_worker {
    const classify_args *a;
    const cd_model *m;
    cd_classifier *c;
    cd_desk *desk;
    cd_token_weight *tw;
    cd_buf text;   /* the story's text, title and body: kept from one
                      story to the next, not allocated for each */
} classify_worker;

typedef struct classify_run {
    const classify_args *a;
    cd_model *m;
    classify_worker *w;
    size_t nw;
    int status;
} classify_run;

static void run_free(classify_run *r)
{
    for (size_t i = 0; r->w && i < r->nw; i++) {
        free(r->w[i].tw);
        cdi_buf_free(&r->w[i].text);
        cd_classifier_free(r->w[i].c);
        cd_desk_free(r->w[i].desk);
    }
    free(r->w);
    cd_model_close(r->m);
}

static int run_open(const classify_args *a, size_t threads, classify_run *r)
{
    cd_error err;
    memset(r, 0, sizeof *r);
    r->a = a;
    if (a->model && cd_model_open(a->model, &r->m, &err) != CD_OK) {
        cli_error("classify", "%s", err.msg);
        return CLI_USAGE;
    }
    if (!(r->w = calloc(threads, sizeof *r->w))) {
        cli_error("classify", "out of memory");
        return CLI_USAGE;
    }
    r->nw = threads;
    for (size_t i = 0; i < threads; i++) {
        classify_worker *w = &r->w[i];
        w->a = a;
        w->m = r->m;
        if (r->m && cd_classifier_new(r->m, &w->c, &err) != CD_OK) {
            cli_error("classify", "%s", err.msg);
            return CLI_USAGE;
        }
        if (w->c && a->top > 0)   /* print_labels reads the top N ... */
            cd_classifier_set_order(w->c, (size_t)a->top);
        else if (w->c)            /* ... or the chosen labels alone */
            cd_classifier_only_chosen(w->c, 1);
        /* one desk, one Lua state, per worker */
        if (a->config && cd_desk_load(a->config, NULL, &w->desk, &err) != CD_OK) {
            cli_error("classify", "%s", err.msg);
            return CLI_USAGE;
        }
        if (!(w->tw = malloc(sizeof *w->tw * (size_t)a->explain_k))) {
            cli_error("classify", "out of memory");
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

/* --format ninjs: the desk's document (-c), else one with a subject per
 * chosen label (or the --top N); a label of the form medtop:NNNNNNNN (a
 * model trained --labels-from subjects) gets its Media Topic uri.
 * Returns 0 on failure (err set). */
static int print_ninjs(cd_buf *out, classify_worker *w, const cd_story *s,
                       const cd_label_score *sc, size_t n, cd_error *err)
{
    if (w->desk) {
        cd_decision dec;
        if (cd_desk_route(w->desk, s, 1, &dec, err) != CD_OK)
            return 0;
        char *doc = cd_desk_ninjs(w->desk);
        if (!doc) {
            cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            return 0;
        }
        cdi_buf_puts(out, doc);
        cdi_buf_puts(out, "\n");
        free(doc);
        return 1;
    }
    cd_ninjs_subject *subj = calloc(n ? n : 1, sizeof *subj);
    if (!subj) {
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (w->a->top ? i >= (size_t)w->a->top : !sc[i].chosen)
            continue;
        const char *label = cd_model_label(w->m, sc[i].label);
        subj[k++] = (cd_ninjs_subject){ .id = label, .name = label,
            .iptc = cdi_iptc_qcode_ok(label) ? label : NULL, .creator = "copydesk",
            .score = sc[i].p };
    }
    cd_ninjs_doc doc = { .story = s, .subjects = subj, .nsubjects = k };
    cdi_ninjs_write(out, &doc);
    cdi_buf_puts(out, "\n");
    free(subj);
    return 1;
}

enum { STORY_FAILED = 1 };

static void story_error(cli_item *it, const char *msg)
{
    cdi_buf_puts(&it->msg, "copydesk: classify: ");
    cli_escape(&it->msg, it->story.source ? it->story.source : "");
    cdi_buf_puts(&it->msg, ": ");
    cli_escape(&it->msg, msg);
    cdi_buf_put(&it->msg, "\n", 1);
    it->flags |= STORY_FAILED;
}

/* The most memory a worker's text buffer keeps between stories. */
#define TEXT_KEEP ((size_t)1 << 20)

/* One story, in a worker: its line into it->out, errors into it->msg. */
static void classify_story(void *wp, cli_item *it, cli_pipe *p)
{
    (void)p;
    classify_worker *w = wp;
    const classify_args *a = w->a;
    const cd_story *s = &it->story;
    cd_buf *out = &it->out;
    cd_error err;
    const cd_label_score *sc = NULL;
    size_t n = 0;
    if (w->c) {
        cd_buf *text = &w->text;
        int ok = cdi_story_text_into(s, text) == 0;
        if (!ok)
            cd_error_set(&err, CD_ERR_NOMEM, "out of memory");
        ok = ok && cd_classify(w->c, text->data, text->len, &sc, &n, &err) == CD_OK;
        if (text->cap > TEXT_KEEP)   /* after a long story: memory stays flat */
            cdi_buf_shrink(text, TEXT_KEEP);
        if (!ok) {
            story_error(it, err.msg);
            return;
        }
    }
    if (a->ninjs) {
        if (!print_ninjs(out, w, s, sc, n, &err))
            story_error(it, err.msg);
        return;
    }
    cdi_buf_puts(out, "{\"id\":");
    cdi_buf_json_string(out, s->id, strlen(s->id));
    if (w->c)
        print_labels(out, w->m, w->c, sc, n, a, w->tw);
    if (w->desk && !print_desk(out, w->desk, s, a, &err)) {
        /* the line is half written: end it, so that stdout stays JSON lines */
        cdi_buf_puts(out, ",\"topics\":null}\n");
        story_error(it, err.msg);
        return;
    }
    cdi_buf_puts(out, "}\n");
}

/* In input order: the line, the messages. */
static void emit_story(void *ctx, cli_item *it)
{
    classify_run *r = ctx;
    if (it->rc == CD_READ_ERROR) {
        cli_error("classify", "%s", it->err.msg);
        r->status = CLI_PARTIAL;
        return;
    }
    if (it->out.failed || it->msg.failed) {
        cli_error("classify", "out of memory");
        r->status = CLI_PARTIAL;
        return;
    }
    if (it->out.len)
        fwrite(it->out.data, 1, it->out.len, stdout);
    if (it->msg.len)
        fwrite(it->msg.data, 1, it->msg.len, stderr);
    if (it->flags & STORY_FAILED)
        r->status = CLI_PARTIAL;
}

static int run(const classify_args *a, char **inputs, int ninputs)
{
    classify_run cr;
    int status = run_open(a, a->threads, &cr);
    if (status != CLI_OK) {
        run_free(&cr);
        return status;
    }
    static const char *stdin_only[] = { "-" };
    cd_reader *r;
    cd_error err;
    if (cd_reader_open(ninputs ? (const char *const *)inputs : stdin_only,
                       ninputs ? (size_t)ninputs : 1, NULL, &r, &err)) {
        cli_error("classify", "%s", err.msg);
        run_free(&cr);
        return CLI_USAGE;
    }
    void **ws = malloc(sizeof *ws * cr.nw);
    if (!ws) {
        cli_error("classify", "out of memory");
        cd_reader_free(r);
        run_free(&cr);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < cr.nw; i++)
        ws[i] = &cr.w[i];
    cr.status = CLI_OK;
    cli_pipe_run(r, ws, cr.nw, 0, classify_story, emit_story, &cr);
    free(ws);
    status = cr.status;
    cd_reader_free(r);
    run_free(&cr);
    return status;   /* main checks that standard output took it all */
}

int cli_classify(int argc, char **argv)
{
    classify_args a = { .explain_k = 8 };
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.threads)
        a.threads = cli_pipe_cores();
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    return run(&a, argv + optind, argc - optind);
}
