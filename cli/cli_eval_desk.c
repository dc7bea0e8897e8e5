/*
 * cli_eval_desk.c - copydesk eval -c DESK.lua (see cli_eval_desk.h).
 *
 * Each story is decided by the desk without delivery.  Destinations: the
 * story's route against its gold_route, as label sets (cli_metrics), and
 * the route confusion (gold route -> route, with counts).  Topics: a topic
 * is predicted when its score reaches the threshold, and gold when one of
 * the story's labels names it (its id, or one of its labels with or
 * without the model's name) or names one of its descendants, since a
 * parent scores at least its best child.  --sweep counts one topic at the
 * nine thresholds 0.1 ... 0.9 in the same pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_eval_desk.h"
#include "cli_metrics.h"
#include "base/json.h"

#define SWEEP_STEPS 9

typedef struct pair {
    char *gold, *route;
    size_t count;
} pair;

typedef struct eval_run {
    const cli_eval_desk_args *a;
    cd_desk *desk;
    size_t ntopics;
    int64_t sweep;                    /* the swept topic, or -1 */
    cli_metrics dest, topics;
    pair *pairs;                      /* the route confusion */
    size_t npairs, cap;
    double tp[SWEEP_STEPS], fp[SWEEP_STEPS], fn[SWEEP_STEPS];
    size_t stories, no_gold, wrong;
    int failed;
    cd_buf errors;                    /* --errors: text lines or JSON objects */
    /* per story */
    char *gold_topic;                 /* ntopics flags */
    const char **gold_names, **pred_names;
} eval_run;

/* Does a story's gold label name topic i? */
static int label_names_topic(const cd_desk *d, size_t i, const char *label)
{
    if (!strcmp(label, cd_desk_topic_id(d, i)))
        return 1;
    for (size_t j = 0; j < cd_desk_topic_labels(d, i); j++) {
        const char *tl = cd_desk_topic_label(d, i, j);
        if (!strcmp(tl, label))
            return 1;
        const char *colon = strchr(tl, ':');
        if (colon && !strchr(label, ':') && !strcmp(colon + 1, label))
            return 1;
    }
    return 0;
}

/* The gold topics of a story: named by a label, and their ancestors. */
static void gold_topics(eval_run *r, const cd_story *s)
{
    memset(r->gold_topic, 0, r->ntopics);
    for (size_t i = 0; i < r->ntopics; i++)
        for (size_t k = 0; k < s->nlabels && !r->gold_topic[i]; k++)
            if (label_names_topic(r->desk, i, s->labels[k]))
                for (int t = (int)i; t >= 0 && !r->gold_topic[t]; t = cd_desk_topic_parent(r->desk, (size_t)t))
                    r->gold_topic[t] = 1;
}

/* gold_route from the story's fields: a name or a list of names.  Returns
 * the number of names (pointers into *json, which the caller deletes), or
 * -1 when the story has none. */
static long gold_route(const cd_story *s, cJSON **json, const char **names, size_t max)
{
    *json = NULL;
    if (!s->meta_json || !strstr(s->meta_json, "\"gold_route\""))
        return -1;
    *json = cJSON_Parse(s->meta_json);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(*json, "gold_route");
    if (cJSON_IsString(g)) {
        names[0] = g->valuestring;
        return 1;
    }
    if (!cJSON_IsArray(g))
        return -1;
    long n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, g)
        if (cJSON_IsString(e) && (size_t)n < max)
            names[n++] = e->valuestring;
    return n;
}

static int by_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* names as a set: sorted, joined with ", " ("-" when empty). */
static char *set_key(const char *const *names, size_t n)
{
    cd_buf b = { 0 };
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    memcpy(v, names, n * sizeof *v);
    qsort(v, n, sizeof *v, by_str);
    for (size_t i = 0; i < n; i++)
        cdi_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
    if (!n)
        cdi_buf_puts(&b, "-");
    free(v);
    if (b.failed) {
        cdi_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static void count_pair(eval_run *r, char *gold, char *route)
{
    for (size_t i = 0; i < r->npairs; i++)
        if (!strcmp(r->pairs[i].gold, gold) && !strcmp(r->pairs[i].route, route)) {
            r->pairs[i].count++;
            free(gold);
            free(route);
            return;
        }
    if (r->npairs == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        pair *v = realloc(r->pairs, cap * sizeof *v);
        if (!v) {
            free(gold);
            free(route);
            r->failed = 1;
            return;
        }
        r->pairs = v;
        r->cap = cap;
    }
    r->pairs[r->npairs++] = (pair){ gold, route, 1 };
}

/* The topics of a wrong story: gold ones scored under th (missed), or
 * scored at th or over without being gold (extra), as {topic, score}. */
static void wrong_topics(cd_buf *b, const cd_desk *d, const eval_run *r, int missed,
                         double th)
{
    for (size_t i = 0, k = 0; i < r->ntopics; i++) {
        double sc = cd_desk_topic_score(d, i);
        int gold = r->gold_topic[i];
        if (!(missed ? gold && sc < th : !gold && sc >= th))
            continue;
        cdi_buf_printf(b, "%s{\"topic\":", k++ ? "," : "");
        cdi_buf_json_string(b, cd_desk_topic_id(d, i), strlen(cd_desk_topic_id(d, i)));
        cdi_buf_puts(b, ",\"score\":");
        cdi_buf_json_number(b, sc);
        cdi_buf_puts(b, "}");
    }
}

/* One wrong story for --errors. */
static void note_error(eval_run *r, const cd_story *s, const cd_decision *dec,
                       const char *gold, const char *route, int topics_wrong)
{
    cd_buf *b = &r->errors;
    const cd_desk *d = r->desk;
    double th = r->a->threshold;
    if (r->a->json) {
        cdi_buf_puts(b, r->wrong ? ",{\"id\":" : "{\"id\":");
        cdi_buf_json_string(b, s->id, strlen(s->id));
        cdi_buf_puts(b, ",\"source\":");
        cdi_buf_json_string(b, s->source ? s->source : "", s->source ? strlen(s->source) : 0);
        cdi_buf_puts(b, ",\"route\":");
        cdi_buf_json_string(b, route, strlen(route));
        cdi_buf_puts(b, ",\"gold_route\":");
        if (gold)
            cdi_buf_json_string(b, gold, strlen(gold));
        else
            cdi_buf_puts(b, "null");
        cdi_buf_puts(b, ",\"missed_topics\":[");
        if (topics_wrong)
            wrong_topics(b, d, r, 1, th);
        cdi_buf_puts(b, "],\"extra_topics\":[");
        if (topics_wrong)
            wrong_topics(b, d, r, 0, th);
        cdi_buf_puts(b, "],\"reason\":");
        cdi_buf_json_string(b, dec->reason, strlen(dec->reason));
        cdi_buf_puts(b, "}");
        return;
    }
    cdi_buf_printf(b, "%s (%s): routed %s", s->id, s->source ? s->source : "", route);
    if (gold)
        cdi_buf_printf(b, ", gold %s", gold);
    if (topics_wrong) {
        const char *sep = "; missed topics:";
        for (size_t i = 0; i < r->ntopics; i++)
            if (r->gold_topic[i] && cd_desk_topic_score(d, i) < th) {
                cdi_buf_printf(b, "%s %s %.2f", sep, cd_desk_topic_id(d, i), cd_desk_topic_score(d, i));
                sep = ",";
            }
        sep = "; extra topics:";
        for (size_t i = 0; i < r->ntopics; i++)
            if (!r->gold_topic[i] && cd_desk_topic_score(d, i) >= th) {
                cdi_buf_printf(b, "%s %s %.2f", sep, cd_desk_topic_id(d, i), cd_desk_topic_score(d, i));
                sep = ",";
            }
    }
    cdi_buf_printf(b, "\n    %s\n", dec->reason);
}

static void eval_story(eval_run *r, const cd_story *s)
{
    cd_decision dec;
    cd_error err;
    if (cd_desk_route(r->desk, s, 1, &dec, &err) != CD_OK) {
        cli_error("eval", "%s: %s", s->id, err.msg);
        r->failed = 1;
        return;
    }
    if (dec.error)
        fprintf(stderr, "copydesk: eval: %s\n", dec.error);
    const char *gnames[64];
    cJSON *meta;
    long ng = gold_route(s, &meta, gnames, 64);
    if (ng < 0 && s->nlabels == 0) {
        cJSON_Delete(meta);
        r->no_gold++;
        return;
    }
    r->stories++;
    int route_wrong = 0, topics_wrong = 0;
    char *gkey = NULL, *rkey = set_key(dec.route, dec.nroute);
    if (ng >= 0) {
        gkey = set_key(gnames, (size_t)ng);
        if (cli_metrics_add(&r->dest, (char *const *)gnames, (size_t)ng, dec.route, dec.nroute))
            r->failed = 1;
        route_wrong = gkey && rkey && strcmp(gkey, rkey);
    }
    if (s->nlabels) {
        gold_topics(r, s);
        size_t kg = 0, kp = 0;
        for (size_t i = 0; i < r->ntopics; i++) {
            double sc = cd_desk_topic_score(r->desk, i);
            int pred = sc >= r->a->threshold;
            if (r->gold_topic[i])
                r->gold_names[kg++] = cd_desk_topic_id(r->desk, i);
            if (pred)
                r->pred_names[kp++] = cd_desk_topic_id(r->desk, i);
            topics_wrong |= pred != r->gold_topic[i];
            if ((int64_t)i == r->sweep)
                for (int t = 0; t < SWEEP_STEPS; t++) {
                    int p = sc >= (t + 1) / 10.0;
                    r->tp[t] += p && r->gold_topic[i];
                    r->fp[t] += p && !r->gold_topic[i];
                    r->fn[t] += !p && r->gold_topic[i];
                }
        }
        if (cli_metrics_add(&r->topics, (char *const *)r->gold_names, kg, r->pred_names, kp))
            r->failed = 1;
    }
    if (r->a->errors && (route_wrong || topics_wrong))
        note_error(r, s, &dec, gkey, rkey ? rkey : "?", topics_wrong);
    r->wrong += route_wrong || topics_wrong;
    if (gkey && rkey)
        count_pair(r, gkey, rkey);
    else {
        free(gkey);
        free(rkey);
    }
    cJSON_Delete(meta);
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }
static double f1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0; }

static int pair_order(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    int c = strcmp(a->gold, b->gold);
    return c ? c : a->count != b->count ? (a->count < b->count ? 1 : -1) : strcmp(a->route, b->route);
}

static void print_text(eval_run *r)
{
    const cli_eval_desk_args *a = r->a;
    printf("copydesk eval: %s\n  stories %zu", a->config, r->stories);
    if (r->no_gold)
        printf(" (and %zu without gold_route or labels, skipped)", r->no_gold);
    printf(", wrong %zu\n", r->wrong);
    if (r->dest.docs) {
        printf("\ndestinations (route against gold_route, %zu stories)\n", r->dest.docs);
        cli_metrics_print(&r->dest, stdout);
        printf("\nroute confusion (gold -> routed: stories)\n");
        for (size_t i = 0; i < r->npairs; i++)
            printf("  %s%-24s -> %-24s %6zu\n", strcmp(r->pairs[i].gold, r->pairs[i].route) ? "*" : " ",
                   r->pairs[i].gold, r->pairs[i].route, r->pairs[i].count);
    } else {
        printf("\ndestinations: no story has a gold_route\n");
    }
    if (r->topics.docs) {
        printf("\ntopics (score >= %.2f against the labels, %zu stories)\n", a->threshold,
               r->topics.docs);
        r->topics.single = 0;   /* a topic matrix would mislead: topics nest */
        cli_metrics_print(&r->topics, stdout);
    } else {
        printf("\ntopics: no story has labels\n");
    }
    if (r->sweep >= 0) {
        printf("\nsweep of topic '%s' (predicted when score >= threshold)\n", a->sweep);
        printf("  %9s %9s %9s %9s %7s %7s %7s\n", "threshold", "precision", "recall", "f1",
               "tp", "fp", "fn");
        for (int t = 0; t < SWEEP_STEPS; t++) {
            double p = ratio(r->tp[t], r->tp[t] + r->fp[t]), rc = ratio(r->tp[t], r->tp[t] + r->fn[t]);
            printf("  %9.1f %9.4f %9.4f %9.4f %7.0f %7.0f %7.0f\n", (t + 1) / 10.0, p, rc,
                   f1(p, rc), r->tp[t], r->fp[t], r->fn[t]);
        }
    }
    if (a->errors) {
        printf("\nstories wrong (%zu)\n", r->wrong);
        if (r->errors.len)
            fwrite(r->errors.data, 1, r->errors.len, stdout);
    }
}

static void print_json(eval_run *r)
{
    const cli_eval_desk_args *a = r->a;
    printf("{\"desk\":");
    cli_json_string(stdout, a->config, strlen(a->config));
    printf(",\"stories\":%zu,\"skipped\":%zu,\"wrong\":%zu,\"threshold\":%g,\"destinations\":",
           r->stories, r->no_gold, r->wrong, a->threshold);
    if (r->dest.docs)
        cli_metrics_print_json(&r->dest, stdout);
    else
        fputs("null", stdout);
    fputs(",\"route_confusion\":[", stdout);
    for (size_t i = 0; i < r->npairs; i++) {
        fputs(i ? ",{\"gold\":" : "{\"gold\":", stdout);
        cli_json_string(stdout, r->pairs[i].gold, strlen(r->pairs[i].gold));
        fputs(",\"route\":", stdout);
        cli_json_string(stdout, r->pairs[i].route, strlen(r->pairs[i].route));
        printf(",\"count\":%zu}", r->pairs[i].count);
    }
    fputs("],\"topics\":", stdout);
    r->topics.single = 0;
    if (r->topics.docs)
        cli_metrics_print_json(&r->topics, stdout);
    else
        fputs("null", stdout);
    if (r->sweep >= 0) {
        fputs(",\"sweep\":{\"topic\":", stdout);
        cli_json_string(stdout, a->sweep, strlen(a->sweep));
        fputs(",\"rows\":[", stdout);
        for (int t = 0; t < SWEEP_STEPS; t++) {
            double p = ratio(r->tp[t], r->tp[t] + r->fp[t]), rc = ratio(r->tp[t], r->tp[t] + r->fn[t]);
            printf("%s{\"threshold\":%.1f,\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,"
                   "\"tp\":%.0f,\"fp\":%.0f,\"fn\":%.0f}", t ? "," : "", (t + 1) / 10.0, p, rc,
                   f1(p, rc), r->tp[t], r->fp[t], r->fn[t]);
        }
        fputs("]}", stdout);
    }
    if (a->errors) {
        fputs(",\"errors\":[", stdout);
        if (r->errors.len)
            fwrite(r->errors.data, 1, r->errors.len, stdout);
        fputs("]", stdout);
    }
    fputs("}\n", stdout);
}

int cli_eval_desk(const cli_eval_desk_args *a, char **inputs, int n)
{
    eval_run r;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.sweep = -1;
    cd_error err;
    if (cd_desk_load(a->config, &a->opts, &r.desk, &err) != CD_OK) {
        cli_error("eval", "%s", err.msg);
        return CLI_USAGE;
    }
    r.ntopics = cd_desk_topics(r.desk);
    if (a->sweep) {
        for (size_t i = 0; i < r.ntopics; i++)
            if (!strcmp(cd_desk_topic_id(r.desk, i), a->sweep))
                r.sweep = (int64_t)i;
        if (r.sweep < 0) {
            cd_buf ids = { 0 };
            for (size_t i = 0; i < r.ntopics; i++)
                cdi_buf_printf(&ids, "%s%s", i ? ", " : "", cd_desk_topic_id(r.desk, i));
            cli_error("eval", "--sweep: '%s' is not a topic of %s (topics: %s)", a->sweep,
                      a->config, ids.data ? ids.data : "none");
            cdi_buf_free(&ids);
            cd_desk_free(r.desk);
            return CLI_USAGE;
        }
    }
    cli_metrics_init(&r.dest);
    cli_metrics_init(&r.topics);
    r.gold_topic = calloc(r.ntopics + 1, 1);
    r.gold_names = calloc(r.ntopics + 1, sizeof *r.gold_names);
    r.pred_names = calloc(r.ntopics + 1, sizeof *r.pred_names);
    cd_reader *rd = NULL;
    int status = CLI_OK;
    if (!r.gold_topic || !r.gold_names || !r.pred_names) {
        cli_error("eval", "out of memory");
        status = CLI_USAGE;
    } else if (cd_reader_open((const char *const *)inputs, (size_t)n, NULL, &rd, &err) != CD_OK) {
        cli_error("eval", "%s", err.msg);
        status = CLI_USAGE;
    }
    cd_story s;
    int rc;
    while (status != CLI_USAGE && (rc = cd_reader_next(rd, &s, &err)) != CD_READ_END) {
        if (rc == CD_READ_ERROR) {
            cli_error("eval", "%s", err.msg);
            status = CLI_PARTIAL;
            continue;
        }
        eval_story(&r, &s);
        cd_story_clear(&s);
    }
    if (r.failed || r.errors.failed) {
        cli_error("eval", "out of memory");
        status = CLI_USAGE;
    }
    if (status != CLI_USAGE) {
        if (r.no_gold)
            cli_error("eval", "%zu stories have neither gold_route nor labels: skipped", r.no_gold);
        if (r.no_gold)
            status = CLI_PARTIAL;
        if (r.pairs)
            qsort(r.pairs, r.npairs, sizeof *r.pairs, pair_order);
        if (a->json)
            print_json(&r);
        else
            print_text(&r);
    }
    cd_desk_stats st;
    cd_desk_get_stats(r.desk, &st);
    if (st.rule_errors && status == CLI_OK)
        status = CLI_PARTIAL;
    for (size_t i = 0; i < r.npairs; i++) {
        free(r.pairs[i].gold);
        free(r.pairs[i].route);
    }
    free(r.pairs);
    cdi_buf_free(&r.errors);
    free(r.gold_topic);
    free(r.gold_names);
    free(r.pred_names);
    cli_metrics_free(&r.dest);
    cli_metrics_free(&r.topics);
    cd_reader_free(rd);
    cd_desk_free(r.desk);
    return status;
}
