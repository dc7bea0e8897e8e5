/*
 * cli_diff.c - copydesk diff: what a desk change would do, on real
 * stories.  Every story is decided under the base desk and the new one
 * (never delivered); the moves (base route -> new route, with a count)
 * are printed as a table, then each moved story with the evidence both
 * desks saw.  The second desk reuses the first one's tokens and model
 * results where they are the same (cd_desk_share), so a diff costs about
 * one classification per story, plus the topics and rules of two desks.
 *
 * The base is a file, or a git revision of one (REV:PATH, read with
 * `git show`); without stories, the archive that copydesk watch keeps
 * (STATE/archive/, core/live/archive.h) is replayed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_pipe.h"
#include "copydesk.h"
#include "desk/desk_diff.h"
#include "live/archive.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk diff -c NEW.lua --base OLD.lua [options] [STORIES...]\n"
        "       copydesk diff -c NEW.lua --base REV:PATH [options] [STORIES...]\n\n"
        "Preview a desk change: decide every story under both desks (nothing is\n"
        "delivered), print the moves as a table (from -> to, how many stories), then\n"
        "each moved story with the reasons and the topic evidence under both desks.\n"
        "The base may be a git revision of the desk file, read with 'git show'\n"
        "(--base HEAD:scripts/newsroom.lua); paths it names are then relative to\n"
        "that file's folder in the work tree.  Without STORIES, the archive that\n"
        "'copydesk watch' keeps of what it routed (STATE/archive/) is replayed.\n"
        "Stories are files, folders, - for standard input, or http(s) URLs.\n\n"
        "  -c, --config NEW.lua    the changed desk (required)\n"
        "  -b, --base OLD          the desk to compare with: a file, or REV:PATH\n"
        "                          (required)\n"
        "  -i, --inbox DIR         replay the archive of the watch of this inbox\n"
        "                          (state folder DIR/.copydesk)\n"
        "  -s, --state DIR         replay the archive of this state folder (default\n"
        "                          .copydesk, as watch)\n"
        "      --json              one JSON object: base, new, stories, moved,\n"
        "                          unreadable, rule_errors {base, new}, shared\n"
        "                          {models, tokens} (what the new desk reused), moves\n"
        "                          [{from, to, count}], changes [{id, source, from,\n"
        "                          to, base, new}] where base and new are the\n"
        "                          decisions as 'route --dry-run --explain' prints\n"
        "      --limit N           list at most N moved stories (the table counts\n"
        "                          them all; default: every one)\n"
        "      --threads N         decide on N threads (default: the number of cores)\n"
        "      --instructions N    Lua instructions a rule may run per story\n"
        "      --memory BYTES      memory limit of each desk's Lua state\n"
        "  -h, --help              this help\n\n"
        "Routes are compared as sets.  Exit status: 0 done (moved or not); 1 some\n"
        "input was unreadable or a rule failed under either desk; 2 usage or\n"
        "configuration error.\n");
}

typedef struct diff_args {
    const char *config, *base, *state, *inbox;
    int json;
    long limit;           /* -1: all */
    size_t threads;
    cd_desk_opts opts;
} diff_args;

enum { OPT_JSON = 1000, OPT_LIMIT, OPT_THREADS, OPT_INSTRUCTIONS, OPT_MEMORY };

static int parse(int argc, char **argv, diff_args *a)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "base", required_argument, NULL, 'b' },
        { "inbox", required_argument, NULL, 'i' },
        { "state", required_argument, NULL, 's' },
        { "json", no_argument, NULL, OPT_JSON },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "instructions", required_argument, NULL, OPT_INSTRUCTIONS },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:b:i:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'b': a->base = optarg; break;
        case 'i': a->inbox = optarg; break;
        case 's': a->state = optarg; break;
        case OPT_JSON: a->json = 1; break;
        case OPT_LIMIT:
            if ((a->limit = cli_parse_count(optarg)) < 0) {
                cli_error("diff", "--limit: expected a number, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_THREADS:
            if (!(a->threads = cli_pipe_parse_threads(optarg))) {
                cli_error("diff", "--threads: expected a number from 1 to 256, got '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_INSTRUCTIONS:
            if ((v = cli_parse_count(optarg)) < 1000) {
                cli_error("diff", "--instructions: '%s' is not a number >= 1000", optarg);
                return CLI_USAGE;
            }
            a->opts.instructions = (uint64_t)v;
            break;
        case OPT_MEMORY:
            if ((v = cli_parse_count(optarg)) < (1L << 20)) {
                cli_error("diff", "--memory: '%s' is not a number of bytes >= 1048576", optarg);
                return CLI_USAGE;
            }
            a->opts.memory = (size_t)v;
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!a->config || !a->base) {
        cli_error("diff", "give the changed desk (-c NEW.lua) and the one to compare with "
                  "(--base OLD.lua or --base REV:PATH)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- the base desk from git ------------------------------------------------- */

/* Run git with argv, its standard output into *out (NUL-terminated).
 * 0, or -1 (git's own message is on stderr). */
static int git_capture(char *const argv[], char **out, size_t *len)
{
    int fds[2];
    *out = NULL;
    *len = 0;
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp("git", argv);
        fprintf(stderr, "copydesk: diff: git: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 0;
    char *buf = NULL;
    int bad = 0;
    for (;;) {
        if (*len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 65536 * 2;
            char *nb = cap <= ((size_t)64 << 20) ? realloc(buf, cap) : NULL;
            if (!nb) {
                bad = 1;
                break;
            }
            buf = nb;
        }
        ssize_t n = read(fds[0], buf + *len, cap - *len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (bad || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        *len = 0;
        return -1;
    }
    buf[*len] = '\0';
    *out = buf;
    return 0;
}

/* Load the base desk: a file, or REV:PATH from git. */
static int load_base(const diff_args *a, cd_desk **out)
{
    cd_error err;
    struct stat sb;
    const char *colon = strchr(a->base, ':');
    if (stat(a->base, &sb) == 0 || !colon || a->base[0] == '-') {
        if (cd_desk_load(a->base, &a->opts, out, &err) == CD_OK)
            return 0;
        cli_error("diff", "--base %s: %s", a->base, err.msg);
        return -1;
    }
    const char *path = colon + 1;
    char *text = NULL, *top = NULL;
    size_t len, tlen;
    char *show[] = { "git", "show", (char *)a->base, NULL };
    if (git_capture(show, &text, &len) != 0) {
        cli_error("diff", "--base %s: 'git show %s' failed: not a file, and not a git "
                  "revision of one (REV:PATH)", a->base, a->base);
        return -1;
    }
    /* where the file would be: REV:./x and REV:../x are relative to the
     * current folder, REV:x to the top of the work tree */
    char *where = NULL;
    if (!strncmp(path, "./", 2) || !strncmp(path, "../", 3)) {
        where = strdup(path);
    } else {
        char *toplevel[] = { "git", "rev-parse", "--show-toplevel", NULL };
        if (git_capture(toplevel, &top, &tlen) == 0) {
            while (tlen && (top[tlen - 1] == '\n' || top[tlen - 1] == '\r'))
                top[--tlen] = '\0';
            size_t n = tlen + strlen(path) + 2;
            if ((where = malloc(n)))
                snprintf(where, n, "%s/%s", top, path);
        }
    }
    int rc = 0;
    if (!where) {
        cli_error("diff", "--base %s: cannot tell where the work tree is", a->base);
        rc = -1;
    } else if (cd_desk_load_text(text, len, where, a->base, &a->opts, out, &err) != CD_OK) {
        cli_error("diff", "--base %s: %s", a->base, err.msg);
        rc = -1;
    }
    free(where);
    free(top);
    free(text);
    return rc;
}

/* ---- one story under both desks ------------------------------------------- */

typedef struct diff_worker {
    const diff_args *a;
    int archive;          /* stories come from the archive: unwrap them */
    cd_desk *base, *desk;
} diff_worker;

enum { MOVED = CD_DIFF_MOVED, UNREADABLE = 2, BASE_ERROR = CD_DIFF_BASE_ERROR,
       NEW_ERROR = CD_DIFF_NEW_ERROR };

static int by_score(const void *x, const void *y)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(*(const cJSON *const *)x, "score");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(*(const cJSON *const *)y, "score");
    double da = cJSON_IsNumber(a) ? a->valuedouble : 0, db = cJSON_IsNumber(b) ? b->valuedouble : 0;
    return da < db ? 1 : da > db ? -1 : 0;
}

/* One topic's evidence: "trade 0.45 (labels topics:trade 0.47; keywords
 * tariff* x1)".  Fields other than topic and score are shown as they come,
 * so that evidence the engine adds later shows too. */
static void text_topic(cd_buf *b, const cJSON *t)
{
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(t, "score");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "topic");
    cdi_buf_printf(b, "%s %.2f", id->valuestring, score->valuedouble);
    const char *sep = " (";
    const cJSON *f;
    cJSON_ArrayForEach(f, t) {
        if (!f->string || !strcmp(f->string, "topic") || !strcmp(f->string, "score"))
            continue;
        if (!strcmp(f->string, "own") && cJSON_IsNumber(f) &&
            (int)(f->valuedouble * 100 + 0.5) == (int)(score->valuedouble * 100 + 0.5))
            continue;   /* no child outscored it: own is the score */
        if (cJSON_IsArray(f)) {
            if (!cJSON_GetArraySize(f))
                continue;
            cdi_buf_printf(b, "%s%s", sep, f->string);
            const cJSON *e;
            cJSON_ArrayForEach(e, f) {
                const cJSON *k = e->child, *v = k ? k->next : NULL;
                if (k && cJSON_IsString(k) && v && cJSON_IsNumber(v) && v->string)
                    cdi_buf_printf(b, !strcmp(v->string, "hits") ? " %s x%.0f" : " %s %.2f",
                                   k->valuestring, v->valuedouble);
                else if (cJSON_IsString(e))
                    cdi_buf_printf(b, " %s", e->valuestring);
            }
        } else if (cJSON_IsNumber(f)) {
            cdi_buf_printf(b, "%s%s %.2f", sep, f->string, f->valuedouble);
        } else if (cJSON_IsString(f)) {
            cdi_buf_printf(b, "%s%s %s", sep, f->string, f->valuestring);
        } else {
            continue;
        }
        sep = "; ";
    }
    if (strcmp(sep, " ("))
        cdi_buf_puts(b, ")");
}

/* The topics of a decision's evidence scoring 0.05 or more, best first. */
static void text_evidence(cd_buf *b, const cJSON *dec)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(dec, "evidence"), *t;
    const cJSON *v[64];
    size_t n = 0;
    cJSON_ArrayForEach(t, ev) {
        const cJSON *score = cJSON_GetObjectItemCaseSensitive(t, "score");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "topic");
        if (n < 64 && cJSON_IsNumber(score) && score->valuedouble >= 0.05 && cJSON_IsString(id))
            v[n++] = t;
    }
    qsort(v, n, sizeof *v, by_score);
    for (size_t i = 0; i < n && i < 6; i++) {
        cdi_buf_puts(b, i ? ", " : "");
        text_topic(b, v[i]);
    }
    if (n > 6)
        cdi_buf_puts(b, ", ...");
    if (!n)
        cdi_buf_puts(b, "no topic scores 0.05");
}

static void text_side(cd_buf *b, const char *side, const cJSON *dec, const char *key)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(dec, "reason");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(dec, "error");
    /* reasons and errors quote story text and Lua messages: escaped, so
     * each stays on its line (as route's report does) */
    cdi_buf_printf(b, "  %-5s %s: ", side, key);
    cli_escape(b, cJSON_IsString(reason) ? reason->valuestring : "?");
    cdi_buf_puts(b, "\n");
    if (cJSON_IsString(error)) {
        cdi_buf_puts(b, "        error: ");
        cli_escape(b, error->valuestring);
        cdi_buf_puts(b, "\n");
    }
}

/* The moved story, for people. */
static void text_story(cd_buf *b, const cd_story *s, const char *from, const char *to,
                       const char *bjson, const char *njson)
{
    cJSON *bd = cJSON_Parse(bjson), *nd = cJSON_Parse(njson);
    cli_escape(b, s->id ? s->id : "");
    cdi_buf_printf(b, ": %s -> %s  (", from, to);
    cli_escape(b, s->source ? s->source : "");
    cdi_buf_puts(b, ")\n");
    text_side(b, "base", bd, from);
    text_side(b, "new", nd, to);
    cd_buf b1 = { 0 }, b2 = { 0 };
    text_evidence(&b1, bd);
    text_evidence(&b2, nd);
    if (b1.data && b2.data && !strcmp(b1.data, b2.data)) {
        cdi_buf_printf(b, "  evidence (the same under both): %s\n", b1.data);
    } else {
        cdi_buf_printf(b, "  evidence, base: %s\n", b1.data ? b1.data : "");
        cdi_buf_printf(b, "  evidence, new:  %s\n", b2.data ? b2.data : "");
    }
    cdi_buf_free(&b1);
    cdi_buf_free(&b2);
    cJSON_Delete(bd);
    cJSON_Delete(nd);
}

/* it->out gets "FROM\tTO\n" and, when the story moved, its report. */
static void diff_one(void *wp, cli_item *it, cli_pipe *p)
{
    (void)p;
    diff_worker *w = wp;
    cd_error err;
    if (w->archive && cdi_archive_unwrap(&it->story, NULL) != CD_OK) {
        cdi_buf_printf(&it->msg, "copydesk: diff: %s: out of memory\n", it->story.source);
        it->flags |= UNREADABLE;
        return;
    }
    cd_diff_story d;
    if (cdi_diff_story(w->base, w->desk, &it->story, &d, &err) != CD_OK) {
        cdi_buf_printf(&it->msg, "copydesk: diff: %s: %s\n", it->story.id, err.msg);
        it->flags |= UNREADABLE;
        cdi_diff_story_free(&d);
        return;
    }
    it->flags |= d.flags;
    if (d.base.error)
        cdi_buf_printf(&it->msg, "copydesk: diff: base: %s\n", d.base.error);
    if (d.now.error)
        cdi_buf_printf(&it->msg, "copydesk: diff: new: %s\n", d.now.error);
    cdi_buf_printf(&it->out, "%s\t%s\n", d.from.data, d.to.data);
    if (d.flags & MOVED) {
        if (w->a->json)
            cdi_diff_change_json(&it->out, &it->story, &d);
        else
            text_story(&it->out, &it->story, d.from.data, d.to.data, d.base_json, d.new_json);
    }
    cdi_diff_story_free(&d);
}

/* ---- collecting the moves ---------------------------------------------------- */

typedef struct diff_run {
    const diff_args *a;
    FILE *detail;         /* the moved stories, printed after the table */
    cd_diff_moves moves;
    uint64_t stories, moved, listed, unreadable, base_errors, new_errors;
    size_t shared_models;  /* models whose results the new desk reuses */
    int shared_tokens;
    int failed;
} diff_run;

static void emit_one(void *ctx, cli_item *it)
{
    diff_run *r = ctx;
    if (it->rc == CD_READ_ERROR) {
        cli_error("diff", "%s", it->err.msg);
        r->unreadable++;
        return;
    }
    if (it->msg.len)
        fwrite(it->msg.data, 1, it->msg.len, stderr);
    if (it->flags & UNREADABLE) {
        r->unreadable++;
        return;
    }
    if (it->out.failed || it->msg.failed) {
        cli_error("diff", "out of memory");
        r->failed = 1;
        return;
    }
    r->stories++;
    r->base_errors += (it->flags & BASE_ERROR) != 0;
    r->new_errors += (it->flags & NEW_ERROR) != 0;
    if (!(it->flags & MOVED))
        return;
    r->moved++;
    const char *d = it->out.data, *tab = memchr(d, '\t', it->out.len);
    const char *nl = tab ? memchr(tab, '\n', it->out.len - (size_t)(tab - d)) : NULL;
    if (!nl)
        return;
    if (!cdi_diff_moves_add(&r->moves, d, (size_t)(tab - d), tab + 1, (size_t)(nl - tab - 1)))
        r->failed = 1;
    if (r->a->limit >= 0 && r->listed >= (uint64_t)r->a->limit)
        return;
    const char *rest = nl + 1;
    size_t n = it->out.len - (size_t)(rest - d);
    if (r->a->json && r->listed)
        fputc(',', r->detail);
    fwrite(rest, 1, n, r->detail);
    if (!r->a->json)
        fputc('\n', r->detail);
    r->listed++;
}

static void print_report(diff_run *r, const char *base, const char *config)
{
    const diff_args *a = r->a;
    cdi_diff_moves_sort(&r->moves);
    size_t nmoves = r->moves.n;
    cd_diff_move *moves = r->moves.v;
    rewind(r->detail);
    char buf[65536];
    size_t n;
    if (a->json) {
        fputs("{\"base\":", stdout);
        cli_json_string(stdout, base, strlen(base));
        fputs(",\"new\":", stdout);
        cli_json_string(stdout, config, strlen(config));
        printf(",\"stories\":%llu,\"moved\":%llu,\"unreadable\":%llu,"
               "\"rule_errors\":{\"base\":%llu,\"new\":%llu},"
               "\"shared\":{\"models\":%zu,\"tokens\":%s},\"moves\":[",
               (unsigned long long)r->stories, (unsigned long long)r->moved,
               (unsigned long long)r->unreadable, (unsigned long long)r->base_errors,
               (unsigned long long)r->new_errors, r->shared_models,
               r->shared_tokens ? "true" : "false");
        cd_buf b = { 0 };
        for (size_t i = 0; i < nmoves; i++) {
            cdi_buf_puts(&b, i ? ",{\"from\":" : "{\"from\":");
            cdi_diff_names_json(&b, moves[i].from);
            cdi_buf_puts(&b, ",\"to\":");
            cdi_diff_names_json(&b, moves[i].to);
            cdi_buf_printf(&b, ",\"count\":%llu}", (unsigned long long)moves[i].count);
        }
        if (b.failed)
            r->failed = 1;
        else if (b.len)
            fwrite(b.data, 1, b.len, stdout);
        cdi_buf_free(&b);
        fputs("],\"changes\":[", stdout);
        while ((n = fread(buf, 1, sizeof buf, r->detail)) > 0)
            fwrite(buf, 1, n, stdout);
        fputs("]}\n", stdout);
        return;
    }
    printf("copydesk diff: %s -> %s\n", base, config);
    printf("  %-28s %8llu\n", "stories", (unsigned long long)r->stories);
    printf("  %-28s %8llu\n", "moved", (unsigned long long)r->moved);
    printf("  %-28s %8llu\n", "unchanged", (unsigned long long)(r->stories - r->moved));
    if (r->unreadable)
        printf("  %-28s %8llu\n", "unreadable", (unsigned long long)r->unreadable);
    if (r->base_errors || r->new_errors)
        printf("  %-28s %8llu base, %llu new\n", "stories with a rule error",
               (unsigned long long)r->base_errors, (unsigned long long)r->new_errors);
    if (!nmoves) {
        printf("\nno story moves.\n");
        return;
    }
    size_t wf = 4, wt = 2;
    for (size_t i = 0; i < nmoves; i++) {
        if (strlen(moves[i].from) > wf)
            wf = strlen(moves[i].from);
        if (strlen(moves[i].to) > wt)
            wt = strlen(moves[i].to);
    }
    printf("\n  %-*s    %-*s %8s\n", (int)wf, "from", (int)wt, "to", "stories");
    for (size_t i = 0; i < nmoves; i++)
        printf("  %-*s -> %-*s %8llu\n", (int)wf, moves[i].from, (int)wt, moves[i].to,
               (unsigned long long)moves[i].count);
    if (r->listed < r->moved)
        printf("\nmoved stories (the first %llu of %llu):\n\n", (unsigned long long)r->listed,
               (unsigned long long)r->moved);
    else
        printf("\nmoved stories:\n\n");
    while ((n = fread(buf, 1, sizeof buf, r->detail)) > 0)
        fwrite(buf, 1, n, stdout);
}

/* ---- the command -------------------------------------------------------------- */

static void warn_problem(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "copydesk: warning: %s\n", msg);
}

static void free_desks(cd_desk **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cd_desk_free(v[i]);
}

int cli_diff(int argc, char **argv)
{
    diff_args a;
    memset(&a, 0, sizeof a);
    a.limit = -1;
    cd_desk_opts_default(&a.opts);
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!a.threads)
        a.threads = cli_pipe_cores();
    char **inputs = argv + optind;
    size_t ninputs = (size_t)(argc - optind);
    char *state = NULL, *archive = NULL;
    int replay = ninputs == 0;
    if (replay) {
        const char *st = a.state;
        if (!st && a.inbox) {
            size_t n = strlen(a.inbox) + sizeof "/.copydesk";
            if ((state = malloc(n)))
                snprintf(state, n, "%s/.copydesk", a.inbox);
            st = state;
        }
        archive = cdi_archive_dir(st ? st : ".copydesk");
        struct stat sb;
        if (!archive || stat(archive, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            cli_error("diff", "no stories given, and no archive to replay at %s (give stories, "
                      "or the --inbox or --state of a copydesk watch)", archive ? archive : "?");
            free(archive);
            free(state);
            return CLI_USAGE;
        }
        inputs = &archive;
        ninputs = 1;
    }
    cd_desk **bases = calloc(a.threads, sizeof *bases);
    cd_desk **desks = calloc(a.threads, sizeof *desks);
    diff_worker *ws = calloc(a.threads, sizeof *ws);
    void **wp = calloc(a.threads, sizeof *wp);
    size_t n = 0;
    diff_run r = { .a = &a };
    rc = bases && desks && ws && wp ? CLI_OK : CLI_USAGE;
    if (rc != CLI_OK)
        cli_error("diff", "out of memory");
    for (; rc == CLI_OK && n < a.threads; n++) {
        cd_error err;
        if (load_base(&a, &bases[n]) != 0) {
            rc = CLI_USAGE;
            break;
        }
        if (cd_desk_load(a.config, &a.opts, &desks[n], &err) != CD_OK) {
            cli_error("diff", "%s", err.msg);
            cd_desk_free(bases[n]);
            rc = CLI_USAGE;
            break;
        }
        if (n == 0)
            cd_desk_validate(desks[0], warn_problem, NULL);
        int toks;
        size_t shared = cd_desk_share(desks[n], bases[n], &toks);
        if (n == 0) {
            r.shared_models = shared;
            r.shared_tokens = toks;
        }
        ws[n] = (diff_worker){ &a, replay, bases[n], desks[n] };
        wp[n] = &ws[n];
    }
    cd_reader *reader = NULL;
    if (rc == CLI_OK) {
        cd_error err;
        if (cd_reader_open((const char *const *)inputs, ninputs, NULL, &reader, &err) != CD_OK) {
            cli_error("diff", "%s", err.msg);
            rc = CLI_USAGE;
        } else if (!(r.detail = tmpfile())) {
            cli_error("diff", "cannot create a temporary file: %s", strerror(errno));
            rc = CLI_USAGE;
        }
    }
    if (rc == CLI_OK) {
        cli_pipe_run(reader, wp, n, 0, diff_one, emit_one, &r);
        print_report(&r, a.base, a.config);
        fflush(stdout);
        rc = r.failed ? CLI_USAGE
           : r.unreadable || r.base_errors || r.new_errors ? CLI_PARTIAL : CLI_OK;
    }
    if (r.detail)
        fclose(r.detail);
    cdi_diff_moves_free(&r.moves);
    cd_reader_free(reader);
    /* the new desks share from the base ones: free them first */
    if (desks)
        free_desks(desks, n);
    if (bases)
        free_desks(bases, n);
    free(bases);
    free(desks);
    free(ws);
    free(wp);
    free(archive);
    free(state);
    return rc;
}
