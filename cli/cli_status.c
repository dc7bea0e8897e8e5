/*
 * cli_status.c - copydesk status --redis URL: the workers that share Redis
 * streams (core/live/watch_stream.c), as Redis sees them.
 *
 * Each worker keeps a hash copydesk:worker:<stream>:<group>:<consumer>
 * (its counters and the time of its last heartbeat, expiring a minute
 * after it) listed in the sorted set copydesk:workers.  For each stream
 * and group they name, XINFO GROUPS gives the entries pending and the
 * lag (entries not read yet), XINFO CONSUMERS each consumer's pending
 * entries, including consumers with no heartbeat left: dead workers whose
 * entries wait to be claimed.
 */
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/redis.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: copydesk status --redis URL [--json]\n\n"
        "List the workers (copydesk watch or serve) that read Redis streams as\n"
        "consumers of a group: each one's last heartbeat, its counters (entries\n"
        "read, claimed from dead workers, acknowledged, sent to dead letter) and\n"
        "pending entries; for each stream and group, the entries pending (delivered,\n"
        "not acknowledged) and the lag (not read yet); and the consumers that have\n"
        "pending entries but no heartbeat (dead workers, claimed after claim_idle).\n\n"
        "  -r, --redis URL   the server: redis://HOST[:PORT][/DB]\n"
        "      --json        one JSON object instead of tables\n"
        "  -h, --help        this help\n\n"
        "Exit status: 0 when the server answered; 2 when it did not, or on a usage\n"
        "error.\n");
}

/* A field of a flat [name, value, ...] reply, or NULL. */
static const redisReply *field(const redisReply *r, const char *name)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->str && !strcmp(r->element[i]->str, name))
            return r->element[i + 1];
    return NULL;
}

static const char *fstr(const redisReply *r, const char *name)
{
    const redisReply *v = field(r, name);
    return v && v->str ? v->str : "";
}

static long long fnum(const redisReply *r, const char *name)
{
    const redisReply *v = field(r, name);
    if (!v)
        return -1;
    if (v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    return v->str ? atoll(v->str) : -1;
}

typedef struct group_ref {
    char *stream, *group;
} group_ref;

static redisReply *run(cd_redis *r, int argc, const char **argv, cd_error *e)
{
    redisReply *rep = cdi_redis_cmd(r, argc, argv, NULL, e);
    if (rep && cdi_redis_reply_error(rep, e)) {
        cdi_redis_reply_free(rep);
        return NULL;
    }
    return rep;
}

static void jstr(FILE *out, const char *s)
{
    cli_json_string(out, s, strlen(s));
}

int cli_status(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "redis", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *url = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': url = optarg; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (!url || optind < argc) {
        cli_error("status", "%s", !url ? "which server? (--redis redis://HOST:PORT/DB)"
                                        : "unexpected argument");
        return CLI_USAGE;
    }
    cd_error e;
    cd_redis *r = cdi_redis_new(url, 5, &e);
    if (!r) {
        cli_error("status", "%s", e.msg);
        return CLI_USAGE;
    }
    const char *zr[] = { "ZRANGE", "copydesk:workers", "0", "-1" };
    redisReply *keys = run(r, 4, zr, &e);
    if (!keys) {
        cli_error("status", "%s", e.msg);
        cdi_redis_free(r);
        return CLI_USAGE;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    group_ref *groups = NULL;
    size_t ngroups = 0;
    if (json)
        fprintf(stdout, "{\"workers\":[");
    else
        printf("%-28s %-16s %-12s %-9s %10s %8s %8s %8s %6s %8s\n", "worker", "stream", "group",
               "state", "heartbeat", "read", "claimed", "acked", "dead", "stories");
    size_t shown = 0;
    for (size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
        const char *hg[] = { "HGETALL", keys->element[i]->str };
        redisReply *h = run(r, 2, hg, &e);
        if (!h || h->type != REDIS_REPLY_ARRAY || !h->elements) {   /* expired */
            cdi_redis_reply_free(h);
            continue;
        }
        const char *stream = fstr(h, "stream"), *group = fstr(h, "group");
        double age = now - atof(fstr(h, "heartbeat"));
        /* alive: a heartbeat in the last three intervals */
        const char *state = age > 6 ? "silent" : fstr(h, "state");
        if (json) {
            fprintf(stdout, "%s{\"consumer\":", shown ? "," : "");
            jstr(stdout, fstr(h, "consumer"));
            fprintf(stdout, ",\"stream\":");
            jstr(stdout, stream);
            fprintf(stdout, ",\"group\":");
            jstr(stdout, group);
            fprintf(stdout, ",\"state\":");
            jstr(stdout, state);
            fprintf(stdout, ",\"heartbeat_age_s\":%.3f,\"read\":%lld,\"claimed\":%lld,"
                    "\"acked\":%lld,\"dead_letter\":%lld,\"errors\":%lld,\"stories\":%lld,"
                    "\"spooled\":%lld}", age, fnum(h, "read"), fnum(h, "claimed"),
                    fnum(h, "acked"), fnum(h, "dead_letter"), fnum(h, "errors"),
                    fnum(h, "stories"), fnum(h, "spooled"));
        } else {
            char hb[32];
            snprintf(hb, sizeof hb, "%.1fs ago", age);
            printf("%-28s %-16s %-12s %-9s %10s %8lld %8lld %8lld %6lld %8lld\n",
                   fstr(h, "consumer"), stream, group, state, hb, fnum(h, "read"),
                   fnum(h, "claimed"), fnum(h, "acked"), fnum(h, "dead_letter"),
                   fnum(h, "stories"));
        }
        shown++;
        int known = 0;
        for (size_t g = 0; g < ngroups && !known; g++)
            known = !strcmp(groups[g].stream, stream) && !strcmp(groups[g].group, group);
        group_ref *v = known ? NULL : realloc(groups, (ngroups + 1) * sizeof *v);
        if (v) {
            groups = v;
            groups[ngroups].stream = strdup(stream);
            groups[ngroups].group = strdup(group);
            if (groups[ngroups].stream && groups[ngroups].group)
                ngroups++;
            else {
                free(groups[ngroups].stream);
                free(groups[ngroups].group);
            }
        }
        cdi_redis_reply_free(h);
    }
    cdi_redis_reply_free(keys);
    if (json)
        fprintf(stdout, "],\"groups\":[");
    else if (!shown)
        printf("(no worker has a heartbeat in this server)\n");
    int rc = CLI_OK;
    for (size_t g = 0; g < ngroups; g++) {
        const char *xg[] = { "XINFO", "GROUPS", groups[g].stream };
        const char *xc[] = { "XINFO", "CONSUMERS", groups[g].stream, groups[g].group };
        redisReply *gi = run(r, 3, xg, &e);
        redisReply *ci = gi ? run(r, 4, xc, &e) : NULL;
        if (!gi || !ci) {
            cli_error("status", "stream %s: %s", groups[g].stream, e.msg);
            cdi_redis_reply_free(gi);
            rc = CLI_USAGE;
            continue;
        }
        const redisReply *mine = NULL;
        for (size_t i = 0; gi->type == REDIS_REPLY_ARRAY && i < gi->elements; i++)
            if (!strcmp(fstr(gi->element[i], "name"), groups[g].group))
                mine = gi->element[i];
        long long pending = fnum(mine, "pending"), lag = fnum(mine, "lag");
        if (json) {
            fprintf(stdout, "%s{\"stream\":", g ? "," : "");
            jstr(stdout, groups[g].stream);
            fprintf(stdout, ",\"group\":");
            jstr(stdout, groups[g].group);
            fprintf(stdout, ",\"pending\":%lld,\"lag\":%lld,\"consumers\":[", pending, lag);
        } else {
            printf("\nstream %s, group %s: %lld pending, lag %s%lld\n", groups[g].stream,
                   groups[g].group, pending, lag < 0 ? "unknown " : "", lag < 0 ? 0 : lag);
            printf("  %-28s %8s %10s\n", "consumer", "pending", "idle");
        }
        for (size_t i = 0; ci->type == REDIS_REPLY_ARRAY && i < ci->elements; i++) {
            const redisReply *cr = ci->element[i];
            if (json) {
                fprintf(stdout, "%s{\"name\":", i ? "," : "");
                jstr(stdout, fstr(cr, "name"));
                fprintf(stdout, ",\"pending\":%lld,\"idle_s\":%.3f}", fnum(cr, "pending"),
                        fnum(cr, "idle") / 1000.0);
            } else {
                char idle[32];
                snprintf(idle, sizeof idle, "%.1fs", fnum(cr, "idle") / 1000.0);
                printf("  %-28s %8lld %10s\n", fstr(cr, "name"), fnum(cr, "pending"), idle);
            }
        }
        if (json)
            fprintf(stdout, "]}");
        cdi_redis_reply_free(gi);
        cdi_redis_reply_free(ci);
    }
    if (json)
        fprintf(stdout, "]}\n");
    for (size_t g = 0; g < ngroups; g++) {
        free(groups[g].stream);
        free(groups[g].group);
    }
    free(groups);
    cdi_redis_free(r);
    return rc;
}
