/*
 * cli_route.c - copydesk route: the main job.  Reads stories, has the desk
 * classify, decide and deliver each one, says where each went and why,
 * and ends with a summary that accounts for every story read:
 *
 *   stories in = routed by a rule + fallback + dead letter + failed + held
 *
 * Per-story lines and the summary go to stderr (stdout may be a
 * destination); --dry-run decides without delivering and prints one JSON
 * line per story on stdout instead.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_pipe.h"
#include "copydesk.h"
#include "desk/desk_out.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk route -c DESK.lua [options] [INPUT...]\n\n"
        "Classify each story, apply the taxonomy and rules of the desk configuration\n"
        "and deliver the story to the destinations they name (or the fallback).\n"
        "INPUT may be a file, a folder, - for standard input (the default), or an\n"
        "http(s) URL.  A saved RSS or Atom feed (wire.xml) is routed item by item;\n"
        "a feed read after repairs is a warning.  One line per story (where it went\n"
        "and why) and a summary go to stderr.\n\n"
        "  -c, --config DESK.lua   the desk configuration (required)\n"
        "  -n, --dry-run           decide without delivering: one JSON line per story\n"
        "                          on stdout with its route and reason\n"
        "  --format ninjs          with --dry-run: one IPTC ninjs 2.2 document per story\n"
        "                          instead, as a ninjs destination would receive it\n"
        "                          (subjects per topic at or above its threshold, the\n"
        "                          route in descriptions with role copydesk:route)\n"
        "  -e, --explain           add each topic's evidence (labels, the given factor,\n"
        "                          keyword hits) and what each rule did: in the JSON\n"
        "                          lines, or as JSON on stderr.  Without it a dry-run\n"
        "                          line lists the three best topics; with it, all\n"
        "  -q, --quiet             no per-story lines and no summary\n"
        "  --instructions N        Lua instructions a rule may run per story\n"
        "                          (default: the desk's limits{}, else 1000000)\n"
        "  --memory BYTES          memory limit of the desk's Lua state (default 64M)\n"
        "  --threads N             route on N threads, each with its own desk and Lua\n"
        "                          state (default: the number of cores); output and\n"
        "                          deliveries keep the order of the input\n"
        "  -h, --help              this help\n\n"
        "Paths the desk reads (models, modules) are relative to its folder; paths\n"
        "it writes (destination folders and files, dead letter) to the current\n"
        "directory.\n\n"
        "A story a rule holds until a time (hold()) is reported as held and not\n"
        "delivered: copydesk watch keeps held stories and delivers them then.\n\n"
        "Exit status: 0 every story routed and delivered (or held); 1 some input was\n"
        "unreadable, a rule failed (the story went to the fallback), or a\n"
        "destination failed (the story went to dead letter); 2 usage or\n"
        "configuration error.\n");
}

typedef struct route_args {
    const char *config;
    int dry, explain, quiet;
    int ninjs;            /* --format ninjs (with --dry-run) */
    size_t threads;       /* 0: the number of cores */
    cd_desk_opts opts;
} route_args;

enum { OPT_INSTRUCTIONS = 1000, OPT_MEMORY, OPT_THREADS, OPT_FORMAT };

static int parse(int argc, char **argv, route_args *a)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "dry-run", no_argument, NULL, 'n' },
        { "explain", no_argument, NULL, 'e' },
        { "quiet", no_argument, NULL, 'q' },
        { "instructions", required_argument, NULL, OPT_INSTRUCTIONS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:neqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'n': a->dry = 1; break;
        case 'e': a->explain = 1; break;
        case 'q': a->quiet = 1; break;
        case OPT_INSTRUCTIONS:
        case OPT_MEMORY:
            if (cli_parse_desk_limit("route", c == OPT_MEMORY ? "memory" : "instructions",
                                     optarg, &a->opts) != CLI_OK)
                return CLI_USAGE;
            break;
        case OPT_THREADS:
            if (!(a->threads = cli_pipe_parse_threads(optarg))) {
                cli_error("route", "--threads: expected a number from 1 to 256, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "ninjs") && strcmp(optarg, "copydesk")) {
                cli_error("route", "--format: expected ninjs or copydesk, got '%s'", optarg);
                return CLI_USAGE;
            }
            a->ninjs = !strcmp(optarg, "ninjs");
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!a->config) {
        cli_error("route", "no desk configuration (-c DESK.lua)");
        return CLI_USAGE;
    }
    if (a->ninjs && !a->dry) {
        cli_error("route", "--format ninjs goes with --dry-run (a destination's format = "
                           "\"ninjs\" makes it deliver ninjs)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void warn_problem(const char *msg, void *ud)
{
    (void)ud;
    cd_buf b = {0};
    cdi_buf_puts(&b, "copydesk: warning: ");
    cli_escape(&b, msg);
    cdi_buf_put(&b, "\n", 1);
    if (!b.failed)
        fwrite(b.data, 1, b.len, stderr);
    cdi_buf_free(&b);
}

/* The sum of every worker desk's counters (one desk without threads). */
typedef struct route_run {
    const route_args *a;
    cd_desk **desks;
    size_t ndesks;
    uint64_t unreadable;
} route_run;

static uint64_t sum_dest(const route_run *r, size_t i, int failed)
{
    uint64_t n = 0;
    for (size_t k = 0; k < r->ndesks; k++)
        n += failed ? cd_desk_destination_failed(r->desks[k], i)
                    : cd_desk_destination_delivered(r->desks[k], i);
    return n;
}

static void sum_stats(const route_run *r, cd_desk_stats *st)
{
    memset(st, 0, sizeof *st);
    for (size_t k = 0; k < r->ndesks; k++) {
        cd_desk_stats one;
        cd_desk_get_stats(r->desks[k], &one);
        st->stories += one.stories;
        st->routed += one.routed;
        st->fallback += one.fallback;
        st->dead_letter += one.dead_letter;
        st->failed += one.failed;
        st->rule_errors += one.rule_errors;
        st->held += one.held;
    }
}

static void summary(const route_run *r)
{
    cd_desk *desk = r->desks[0];
    int dry = r->a->dry;
    cd_desk_stats st;
    sum_stats(r, &st);
    fprintf(stderr, "\ncopydesk route: %s%s\n", r->a->config, dry ? " (dry run: nothing delivered)" : "");
    fprintf(stderr, "  %-28s %8llu\n", "stories in", (unsigned long long)st.stories);
    fprintf(stderr, "  %-28s %8llu\n", "routed by a rule", (unsigned long long)st.routed);
    char fb[64];
    snprintf(fb, sizeof fb, "fallback (%s)", cd_desk_fallback(desk));
    fprintf(stderr, "  %-28s %8llu\n", fb, (unsigned long long)st.fallback);
    fprintf(stderr, "  %-28s %8llu\n", "dead letter", (unsigned long long)st.dead_letter);
    fprintf(stderr, "  %-28s %8llu\n", "failed", (unsigned long long)st.failed);
    if (st.held)
        fprintf(stderr, "  %-28s %8llu  (not delivered: copydesk watch keeps held stories)\n",
                "held (hold until a time)", (unsigned long long)st.held);
    fprintf(stderr, "  %-28s %8llu\n", "unreadable inputs", (unsigned long long)r->unreadable);
    fprintf(stderr, "  %s\n", dry ? "would deliver to:" : "delivered to:");
    for (size_t i = 0; i < cd_desk_destinations(desk); i++) {
        uint64_t ok = sum_dest(r, i, 0);
        uint64_t bad = sum_dest(r, i, 1);
        if (!ok && !bad)
            continue;
        fprintf(stderr, "    %-26s %8llu", cd_desk_destination_name(desk, i),
                (unsigned long long)ok);
        if (bad)
            fprintf(stderr, "  (%llu failed)", (unsigned long long)bad);
        fputc('\n', stderr);
    }
    fprintf(stderr, "  %-28s %8llu\n", "rule errors", (unsigned long long)st.rule_errors);
    for (size_t i = 0; i < cd_desk_rules(desk); i++) {
        uint64_t n = 0;
        for (size_t k = 0; k < r->ndesks; k++)
            n += cd_desk_rule_errors(r->desks[k], i);
        if (n)
            fprintf(stderr, "    %-26s %8llu\n", cd_desk_rule_name(desk, i),
                    (unsigned long long)n);
    }
}

/* One line: "id -> a, b  (reason)"; the id and the reason (which quotes
 * the id and rule errors) with their control characters escaped. */
static void story_line(cd_buf *b, const cd_story *s, const cd_decision *dec)
{
    cli_escape(b, s->id ? s->id : "");
    cdi_buf_puts(b, " -> ");
    for (size_t i = 0; i < dec->nroute; i++)
        cdi_buf_printf(b, "%s%s", i ? ", " : "", dec->route[i]);
    if (dec->outcome == CD_OUTCOME_DEAD_LETTER)
        cdi_buf_puts(b, " [dead letter]");
    else if (dec->outcome == CD_OUTCOME_FAILED)
        cdi_buf_puts(b, " [FAILED]");
    else if (dec->outcome == CD_OUTCOME_HELD) {
        char when[40] = "?";
        time_t t = (time_t)dec->held_until;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cdi_buf_printf(b, " [held until %s, not delivered]", when);
    }
    cdi_buf_puts(b, "  (");
    cli_escape(b, dec->reason);
    cdi_buf_puts(b, ")\n");
}

static void report(cd_desk *desk, cli_item *it, const cd_decision *dec, const route_args *a)
{
    if (dec->error) {
        cdi_buf_puts(&it->msg, "copydesk: route: ");
        cli_escape(&it->msg, dec->error);
        cdi_buf_put(&it->msg, "\n", 1);
    }
    if (a->dry && a->ninjs) {
        char *doc = cd_desk_ninjs(desk);
        if (doc) {
            cdi_buf_puts(&it->out, doc);
            cdi_buf_put(&it->out, "\n", 1);
            free(doc);
        }
    } else if (a->dry || a->explain) {
        /* straight into the item's buffer: no string per story */
        cd_buf *b = a->dry ? &it->out : &it->msg;
        size_t at = b->len;
        if (cdi_desk_decision_json_to(desk, a->explain, b) == 0)
            cdi_buf_put(b, "\n", 1);
        else if (!b->failed && b->data)
            b->data[b->len = at] = '\0';   /* no story: nothing written */
    }
    if (!a->quiet && !a->dry)
        story_line(&it->msg, &it->story, dec);
}

typedef struct route_worker {
    const route_args *a;
    cd_desk *desk;
} route_worker;

enum { STORY_UNREADABLE = 1 };

/* One story, in a worker with its own desk.  A dry run needs no order;
 * deliveries are made in input order (cli_pipe's ordered section), so that
 * a jsonl destination gets its lines in the order of the input. */
static void route_one(void *wp, cli_item *it, cli_pipe *p)
{
    route_worker *w = wp;
    const route_args *a = w->a;
    cd_decision dec;
    if (a->dry) {
        cd_error err;
        if (cd_desk_route(w->desk, &it->story, 1, &dec, &err) != CD_OK) {
            cdi_buf_puts(&it->msg, "copydesk: ");
            cli_escape(&it->msg, it->story.id ? it->story.id : "");
            cdi_buf_puts(&it->msg, ": ");
            cli_escape(&it->msg, err.msg);
            cdi_buf_put(&it->msg, "\n", 1);
            it->flags |= STORY_UNREADABLE;
            return;
        }
    } else {
        cd_desk_decide(w->desk, &it->story);
        /* the story's files are written now, in parallel; in the ordered
         * section they are only put in place */
        if (p)
            cdi_desk_stage(w->desk);
        cli_pipe_turn_wait(p, it);
        cd_desk_deliver(w->desk, 0, &dec);
        cli_pipe_turn_done(p, it);
    }
    report(w->desk, it, &dec, a);
}

static void emit_one(void *ctx, cli_item *it)
{
    route_run *r = ctx;
    if (it->rc == CD_READ_ERROR) {
        cli_error("route", "%s", it->err.msg);
        r->unreadable++;
        return;
    }
    if (it->rc == CD_READ_WARNING) {   /* a feed read after repairs: its stories follow */
        cli_error("route", "warning: %s", it->err.msg);
        return;
    }
    if (it->out.failed || it->msg.failed)
        cli_error("route", "out of memory");
    if (it->out.len)
        fwrite(it->out.data, 1, it->out.len, stdout);
    if (it->msg.len)
        fwrite(it->msg.data, 1, it->msg.len, stderr);
    if (it->flags & STORY_UNREADABLE)
        r->unreadable++;
}

static int run(route_run *rr, char **inputs, size_t n)
{
    const route_args *a = rr->a;
    static const char *const stdin_only[] = { "-" };
    cd_reader *r;
    cd_error err;
    cd_reader_opts ro;
    cd_reader_opts_default(&ro);
    ro.warnings = 1;
    if (cd_reader_open(n ? (const char *const *)inputs : stdin_only, n ? n : 1, &ro, &r,
                       &err) != CD_OK) {
        cli_error("route", "%s", err.msg);
        return CLI_USAGE;
    }
    route_worker *ws = calloc(rr->ndesks, sizeof *ws);
    void **wp = calloc(rr->ndesks, sizeof *wp);
    if (!ws || !wp) {
        free(ws);
        free(wp);
        cd_reader_free(r);
        cli_error("route", "out of memory");
        return CLI_USAGE;
    }
    for (size_t i = 0; i < rr->ndesks; i++) {
        ws[i] = (route_worker){ a, rr->desks[i] };
        wp[i] = &ws[i];
    }
    /* a dry run writes a kilobyte or two per story: into a pipe or a file
     * in large writes (stdio's 4 KiB buffer spilled every other story,
     * byte by byte in part); a terminal keeps its line buffering, and a
     * run reading standard input keeps stdio's buffer, so that a pipeline
     * fed story by story gets its decisions no later than it did */
    static char outbuf[1 << 16];
    int from_stdin = n == 0;
    for (size_t i = 0; i < n; i++)
        from_stdin |= !strcmp(inputs[i], "-");
    if (a->dry && !from_stdin && !isatty(STDOUT_FILENO))
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    cli_pipe_run(r, wp, rr->ndesks, !a->dry, route_one, emit_one, rr);
    free(ws);
    free(wp);
    cd_reader_free(r);
    fflush(stdout);
    if (!a->quiet)
        summary(rr);
    cd_desk_stats st;
    sum_stats(rr, &st);
    return rr->unreadable || st.dead_letter || st.failed || st.rule_errors ? CLI_PARTIAL : CLI_OK;
}

typedef struct desk_load {
    const route_args *a;
    cd_desk *desk;
    cd_status st;
    cd_error err;
} desk_load;

static void *load_one(void *arg)
{
    desk_load *l = arg;
    l->st = cd_desk_load(l->a->config, &l->a->opts, &l->desk, &l->err);
    return NULL;
}

/* Load one desk per worker, all at once, the first on this thread: a
 * desk's load (its models read and checked, its Lua run) costs as much as
 * routing a thousand stories, and loaded one after the other the desks of
 * --threads 2 made it slower than one thread on 10 MB of stories.  A
 * thread that cannot start loads its desk here.  On error, the first
 * desk's (in worker order) is in err and nothing is left loaded. */
static cd_status load_desks(const route_args *a, cd_desk **desks, size_t n, cd_error *err)
{
    desk_load *l = calloc(n, sizeof *l);
    pthread_t *th = calloc(n, sizeof *th);
    char *started = calloc(n, 1);
    if (!l || !th || !started) {
        free(l);
        free(th);
        free(started);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        l[i].a = a;
    for (size_t i = 1; i < n; i++)
        started[i] = pthread_create(&th[i], NULL, load_one, &l[i]) == 0;
    load_one(&l[0]);
    for (size_t i = 1; i < n; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            load_one(&l[i]);
    }
    cd_status st = CD_OK;
    for (size_t i = 0; i < n; i++) {
        if (st == CD_OK && l[i].st != CD_OK) {
            st = l[i].st;
            *err = l[i].err;
        }
        desks[i] = l[i].desk;
    }
    if (st != CD_OK)
        for (size_t i = 0; i < n; i++) {
            cd_desk_free(desks[i]);
            desks[i] = NULL;
        }
    free(l);
    free(th);
    free(started);
    return st;
}

int cli_route(int argc, char **argv)
{
    route_args a;
    memset(&a, 0, sizeof a);
    cd_desk_opts_default(&a.opts);
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!a.threads)
        a.threads = cli_pipe_cores();
    route_run rr = { .a = &a };
    if (!(rr.desks = calloc(a.threads, sizeof *rr.desks))) {
        cli_error("route", "out of memory");
        return CLI_USAGE;
    }
    /* one desk, one Lua state, per worker */
    cd_error err;
    if (load_desks(&a, rr.desks, a.threads, &err) != CD_OK) {
        cli_error("route", "%s", err.msg);
        free(rr.desks);
        return CLI_USAGE;
    }
    rr.ndesks = a.threads;
    cd_desk_validate(rr.desks[0], warn_problem, NULL);
    rc = run(&rr, argv + optind, (size_t)(argc - optind));
    for (size_t k = 0; k < rr.ndesks; k++)
        cd_desk_free(rr.desks[k]);
    free(rr.desks);
    return rc;
}
