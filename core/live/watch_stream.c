/*
 * watch_stream.c - the Redis streams a desk declares, in copydesk watch:
 * stream "wire" { redis = "redis://...", key = "stories", group = "copydesk" }.
 *
 * The worker is one consumer of the stream's group (its name: --consumer,
 * or HOST:PID) and reads with XREADGROUP, a batch at a time.  For each
 * entry: its story is decoded (live/stream_entry.h) and routed; then the
 * desk's stream destinations get the batch's appends (all sent, then the
 * answers read), the spool is synced, and only then are the batch's
 * entries acknowledged (XACK): every delivery of their stories is durable
 * by then (done, spooled or held), so a worker killed at any point leaves
 * its entries pending, never lost.  The XACK goes in the same round trip
 * as the next XREADGROUP (written together, then both answers read): a
 * batch costs the worker two waits on Redis, the read and the appends.
 *
 * Pending entries of a consumer that died are claimed (XAUTOCLAIM) once
 * they have been idle claim_idle seconds, by whichever worker gets there
 * first, and routed again; destinations see the story a second time with
 * the same id (a stream destination appends it once: deliver_stream.c).
 * An entry delivered more than max_deliveries times (the workers die on it,
 * or it cannot be routed) goes to the desk's dead-letter folder with why,
 * and is acknowledged: no poison loop.  So does an entry that is not a
 * story (no field story, not JSON), at once.
 *
 * After (re)connecting, the worker first reads its own pending entries
 * (XREADGROUP from id 0): those whose read reached the server but whose
 * answer was lost.  Acknowledgements that could not be sent are kept and
 * sent first when the server is back.  While the server is unreachable,
 * attempts are spaced by a backoff (0.2 s doubling to 5 s), the outage is
 * logged once when it starts (redis-down) and once when it ends
 * (redis-up), and serve's /readyz says so.
 *
 * Heartbeat: every HEARTBEAT_EVERY seconds the worker writes its counters
 * to the hash copydesk:worker:<key>:<group>:<consumer> (expiring after
 * HEARTBEAT_TTL), records the hash in the sorted set copydesk:workers
 * (scored by the time), and reads the group's pending count and lag
 * (XINFO GROUPS) and its consumers (XINFO CONSUMERS) for serve's /metrics.
 * copydesk status --redis URL reads the same keys (cli/cli_status.c).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/redis.h"
#include "live/stream_entry.h"
#include "live/stream_health.h"
#include "live/watch_internal.h"

#define HEARTBEAT_EVERY 2.0     /* seconds */
#define HEARTBEAT_TTL 60        /* seconds a worker's hash outlives its last heartbeat */
#define WORKERS_KEY "copydesk:workers"

/* ---- installing ------------------------------------------------------------------------ */

static void free_stream(stream_state *s)
{
    free(s->name);
    free(s->url);
    free(s->key);
    free(s->group);
    free(s->start);
    cdi_redis_free(s->r);
    for (size_t i = 0; i < s->nack; i++)
        free(s->ack[i]);
    free(s->ack);
    free(s->last_error);
    free(s->workers_text);
}

void cdi_watch_free_streams(watch *w)
{
    for (size_t i = 0; i < w->nstreams; i++)
        free_stream(&w->streams[i]);
    free(w->streams);
    w->streams = NULL;
    w->nstreams = 0;
    free(w->consumer);
    w->consumer = NULL;
    cdi_stream_health_publish(0, NULL, NULL);
}

/* The streams of the new desk: those already read keep their connection,
 * their counters and the acknowledgements they owe. */
void cdi_watch_install_streams(watch *w, cd_desk *desk)
{
    if (!w->consumer) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        cd_buf b = { 0 };
        if (w->o->consumer && *w->o->consumer)
            cdi_buf_puts(&b, w->o->consumer);
        else
            cdi_buf_printf(&b, "%s:%ld", host[0] ? host : "localhost", (long)getpid());
        w->consumer = b.failed ? NULL : b.data;
        if (!w->consumer)
            return;
    }
    size_t n = cdi_desk_streams(desk);
    stream_state *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        cd_desk_stream ds;
        cdi_desk_stream_get(desk, i, &ds);
        stream_state *s = &v[i];
        for (size_t j = 0; j < w->nstreams; j++) {
            stream_state *o = &w->streams[j];
            if (o->name && !strcmp(o->name, ds.name) && !strcmp(o->url, ds.url) &&
                !strcmp(o->key, ds.key) && !strcmp(o->group, ds.group)) {
                *s = *o;
                memset(o, 0, sizeof *o);
                break;
            }
        }
        if (!s->name) {
            cd_error e;
            s->name = strdup(ds.name);
            s->url = strdup(ds.url);
            s->key = strdup(ds.key);
            s->group = strdup(ds.group);
            s->r = cdi_redis_new(ds.url, 5, &e);
            s->history = 1;
            s->pending = s->lag = -1;
            snprintf(s->cursor, sizeof s->cursor, "0-0");
            if (!s->name || !s->url || !s->key || !s->group || !s->r) {
                free_stream(s);
                memset(s, 0, sizeof *s);
                cdi_watch_note_error(w, "error", ds.name, "out of memory");
                continue;
            }
        }
        cdi_watch_set_str(&s->start, ds.start);
        s->claim_idle = ds.claim_idle_s;
        s->max_deliveries = ds.max_deliveries;
        s->batch = ds.batch;
    }
    for (size_t j = 0; j < w->nstreams; j++)
        free_stream(&w->streams[j]);
    free(w->streams);
    w->streams = v;
    w->nstreams = n;
}

/* ---- the server going and coming back -------------------------------------------------- */

static void went_down(watch *w, stream_state *s, const char *why)
{
    double wait = cdi_redis_backoff(s->r);
    s->group_ready = 0;
    s->history = 1;   /* a read whose answer was lost left entries pending for us */
    cdi_watch_set_str(&s->last_error, why);
    w->status_dirty = 1;
    if (s->down)
        return;
    s->down = 1;
    s->down_since = cdi_monotonic();
    s->errors++;
    logline l;
    cdi_log_begin(&l, w, "redis-down");
    cdi_log_str(&l, "stream", s->name);
    cdi_log_str(&l, "error", why);
    cdi_log_num(&l, "retry_in", wait);
    cdi_log_num(&l, "unacknowledged", (double)s->nack);
    cdi_log_end(&l);
    cdi_watch_publish_streams(w);
}

static void came_back(watch *w, stream_state *s)
{
    cdi_redis_ok(s->r);
    if (!s->down)
        return;
    s->down = 0;
    s->reconnects++;
    logline l;
    cdi_log_begin(&l, w, "redis-up");
    cdi_log_str(&l, "stream", s->name);
    cdi_log_num(&l, "down_seconds", cdi_monotonic() - s->down_since);
    cdi_log_end(&l);
    cdi_watch_publish_streams(w);
}

/* A command on s's connection; NULL when the server is unreachable (said). */
static redisReply *cmd(watch *w, stream_state *s, double wait_s, int argc, const char **argv,
                       const size_t *lens)
{
    cd_error e;
    redisReply *rep = cdi_redis_cmd_wait(s->r, wait_s, argc, argv, lens, &e);
    if (!rep)
        went_down(w, s, e.msg);
    return rep;
}

/* An error reply that is not about the network: logged, counted. */
static int reply_failed(watch *w, stream_state *s, redisReply *rep, const char *what)
{
    cd_error e;
    if (!cdi_redis_reply_error(rep, &e))
        return 0;
    char msg[700];
    snprintf(msg, sizeof msg, "%s: %s", what, e.msg);
    s->errors++;
    cdi_watch_set_str(&s->last_error, msg);
    cdi_watch_note_error(w, "stream-error", s->name, msg);
    /* a loading server after a restart, a deleted group, a key of another
     * type: wait as for an outage, then start again from the group */
    cdi_redis_backoff(s->r);
    s->group_ready = 0;
    return 1;
}

/* Connect and make sure the group exists. */
static int ready(watch *w, stream_state *s)
{
    if (s->group_ready && cdi_redis_connected(s->r))
        return 1;
    if (cdi_redis_retry_at(s->r) > cdi_monotonic())
        return 0;
    const char *argv[] = { "XGROUP", "CREATE", s->key, s->group, s->start, "MKSTREAM" };
    redisReply *rep = cmd(w, s, 0, 6, argv, NULL);
    if (!rep)
        return 0;
    int ok = rep->type != REDIS_REPLY_ERROR || (rep->str && !strncmp(rep->str, "BUSYGROUP", 9));
    if (!ok)
        reply_failed(w, s, rep, "XGROUP CREATE");
    cdi_redis_reply_free(rep);
    if (!ok)
        return 0;
    s->group_ready = 1;
    came_back(w, s);
    return 1;
}

/* ---- acknowledging ------------------------------------------------------------------------- */

static void owe_ack(stream_state *s, const char *id)
{
    if (s->nack == s->ack_cap) {
        size_t cap = s->ack_cap ? 2 * s->ack_cap : 128;
        char **v = realloc(s->ack, cap * sizeof *v);
        if (!v)
            return;   /* left pending: claimed again later, a duplicate at worst */
        s->ack = v;
        s->ack_cap = cap;
    }
    if ((s->ack[s->nack] = strdup(id)))
        s->nack++;
}

/* The XACK of what is owed (argv allocated, argc in *argc); NULL: none
 * owed, or out of memory. */
static const char **ack_argv(stream_state *s, int *argc)
{
    if (!s->nack)
        return NULL;
    const char **argv = malloc((s->nack + 3) * sizeof *argv);
    if (!argv)
        return NULL;
    argv[0] = "XACK";
    argv[1] = s->key;
    argv[2] = s->group;
    for (size_t i = 0; i < s->nack; i++)
        argv[3 + i] = s->ack[i];
    *argc = (int)(s->nack + 3);
    return argv;
}

/* The answer to the XACK of what is owed; 0 when the server did not take
 * it (kept, sent again). */
static int acks_answered(watch *w, stream_state *s, redisReply *rep)
{
    int ok = !reply_failed(w, s, rep, "XACK");
    /* an error reply will not change by sending the same again (the group
     * or the stream was deleted): the entries are gone with it */
    int gone = !ok && rep->str && !strncmp(rep->str, "NOGROUP", 7);
    if (gone)
        s->group_ready = 0;
    if (!ok && !gone)
        return 0;
    if (ok)
        s->acked += s->nack;
    w->status_dirty = 1;
    for (size_t i = 0; i < s->nack; i++)
        free(s->ack[i]);
    s->nack = 0;
    return 1;
}

/* XACK what is owed; 0 when the server did not take it (kept). */
static int send_acks(watch *w, stream_state *s)
{
    int argc;
    const char **argv = ack_argv(s, &argc);
    if (!argv)
        return !s->nack;
    redisReply *rep = cmd(w, s, 0, argc, argv, NULL);
    free(argv);
    if (!rep)
        return 0;
    int ok = acks_answered(w, s, rep);
    cdi_redis_reply_free(rep);
    return ok;
}

/* ---- one entry ----------------------------------------------------------------------------- */

/* Keep an entry that cannot be routed in the desk's dead-letter folder,
 * with why: {"stream", "group", "entry", "error", "deliveries",
 * "failed_at", "fields": {name: value, ...}}.  0 when it is written. */
static int dead_letter(watch *w, stream_state *s, const char *id, const redisReply *fields,
                       long long deliveries, const char *why)
{
    cd_buf b = { 0 };
    cdi_buf_puts(&b, "{\"stream\":");
    cdi_buf_json_string(&b, s->key, strlen(s->key));
    cdi_buf_puts(&b, ",\"group\":");
    cdi_buf_json_string(&b, s->group, strlen(s->group));
    cdi_buf_puts(&b, ",\"entry\":");
    cdi_buf_json_string(&b, id, strlen(id));
    cdi_buf_puts(&b, ",\"error\":");
    cdi_buf_json_string(&b, why, strlen(why));
    cdi_buf_printf(&b, ",\"deliveries\":%lld,\"failed_at\":%lld,\"fields\":{", deliveries,
                   (long long)time(NULL));
    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (i)
            cdi_buf_puts(&b, ",");
        cdi_buf_json_string(&b, k->str ? k->str : "", k->str ? (size_t)k->len : 0);
        cdi_buf_puts(&b, ":");
        cdi_buf_json_string(&b, v->str ? v->str : "", v->str ? (size_t)v->len : 0);
    }
    cdi_buf_puts(&b, "}}");
    char safe[160], base[400];
    cdi_safe_filename(s->name, safe, sizeof safe);
    snprintf(base, sizeof base, "stream-%s-%s", safe, id);
    const char *dir = cdi_desk_dead_letter_dir(w->desk);
    cd_error e;
    cd_status st = b.failed ? cd_error_set(&e, CD_ERR_NOMEM, "out of memory")
                            : cdi_mkdirs(dir, &e);
    if (st == CD_OK)
        st = cdi_folder_write_new(dir, base, b.data, b.len, &e);
    cdi_buf_free(&b);
    logline l;
    cdi_log_begin(&l, w, st == CD_OK ? "stream-dead-letter" : "stream-dead-letter-failed");
    cdi_log_str(&l, "stream", s->name);
    cdi_log_str(&l, "entry", id);
    cdi_log_num(&l, "deliveries", (double)deliveries);
    cdi_log_str(&l, "error", st == CD_OK ? why : e.msg);
    cdi_log_end(&l);
    w->errors++;
    cdi_watch_set_str(&w->last_error, why);
    w->status_dirty = 1;
    if (st == CD_OK)
        s->dead++;
    return st == CD_OK ? 0 : -1;
}

/* Route one entry ([id, [field, value, ...]]); owe its acknowledgement
 * when it has a safe outcome. */
static void handle_entry(watch *w, stream_state *s, const redisReply *entry,
                         long long deliveries)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *id = entry->element[0]->str;
    const redisReply *fields = entry->element[1];
    s->read++;
    if (fields->type != REDIS_REPLY_ARRAY) {   /* deleted (trimmed) while pending */
        owe_ack(s, id);
        return;
    }
    char why[1200];
    if (deliveries > (long long)s->max_deliveries) {
        snprintf(why, sizeof why, "delivered %lld times, more than max_deliveries (%u): "
                 "workers died on it or could not route it", deliveries, s->max_deliveries);
        if (dead_letter(w, s, id, fields, deliveries, why) == 0)
            owe_ack(s, id);
        return;
    }
    char source[600];
    snprintf(source, sizeof source, "stream:%s/%s", s->name, id);
    cd_story story;
    cd_error e;
    cd_status st = cdi_stream_entry_reply_story(fields, source, &story, &e);
    if (st == CD_ERR_NOMEM)
        return;   /* stays pending: tried again once claimed */
    if (st != CD_OK) {
        snprintf(why, sizeof why, "not a story: %s", e.msg);
        if (dead_letter(w, s, id, fields, deliveries, why) == 0)
            owe_ack(s, id);
        return;
    }
    if (cdi_watch_route_story(w, &story, source, why, sizeof why) == 0)
        owe_ack(s, id);
    else
        s->errors++;   /* no safe outcome: stays pending, claimed again later */
    cd_story_clear(&story);
}

/* The delivery counts of this consumer's pending entries from first to
 * last (XPENDING, extended form), looked up by id. */
typedef struct counts {
    redisReply *rep;
} counts;

static long long count_of(const counts *c, const char *id)
{
    for (size_t i = 0; c->rep && c->rep->type == REDIS_REPLY_ARRAY && i < c->rep->elements; i++) {
        const redisReply *p = c->rep->element[i];
        if (p->type == REDIS_REPLY_ARRAY && p->elements >= 4 &&
            p->element[0]->type == REDIS_REPLY_STRING && !strcmp(p->element[0]->str, id))
            return p->element[3]->integer;
    }
    return 1;
}

/* Route a list of entries, sync the spool, acknowledge them.  with_counts:
 * they were delivered before (claimed, or our own pending): look up how
 * often.  Returns 0 when the server went away. */
static int handle_batch(watch *w, stream_state *s, const redisReply *entries, int with_counts)
{
    size_t n = entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
    if (!n)
        return 1;
    counts c = { NULL };
    if (with_counts) {
        const redisReply *first = entries->element[0], *last = entries->element[n - 1];
        if (first->type == REDIS_REPLY_ARRAY && first->elements && last->type ==
            REDIS_REPLY_ARRAY && last->elements) {
            char cnt[32];
            snprintf(cnt, sizeof cnt, "%zu", n + 100);
            const char *argv[] = { "XPENDING", s->key, s->group, first->element[0]->str,
                                   last->element[0]->str, cnt, w->consumer };
            if (!(c.rep = cmd(w, s, 0, 7, argv, NULL)))
                return 0;
            if (reply_failed(w, s, c.rep, "XPENDING")) {
                cdi_redis_reply_free(c.rep);
                c.rep = NULL;
            }
        }
    }
    for (size_t i = 0; i < n && !w->stopping; i++) {
        const redisReply *entry = entries->element[i];
        long long d = 1;
        if (with_counts && entry->type == REDIS_REPLY_ARRAY && entry->elements &&
            entry->element[0]->type == REDIS_REPLY_STRING)
            d = count_of(&c, entry->element[0]->str);
        handle_entry(w, s, entry, d);
        cdi_watch_read_signals(w);
    }
    cdi_redis_reply_free(c.rep);
    /* the deliveries are durable before the entries are acknowledged */
    cd_error se;
    if (cdi_watch_sync(w, &se) != CD_OK) {
        cdi_watch_note_error(w, "error", "spool", se.msg);
        for (size_t i = 0; i < s->nack; i++)
            free(s->ack[i]);
        s->nack = 0;   /* left pending: claimed and routed again */
        return 1;
    }
    /* durable: the acknowledgements are owed now, and go to the server
     * with the next read, in the same round trip (read_entries), or alone
     * when the worker stops */
    return 1;
}

/* ---- claiming the entries of dead consumers ------------------------------------------------ */

static void claim(watch *w, stream_state *s)
{
    s->next_claim = cdi_monotonic() + (s->claim_idle / 2 < 1 ? s->claim_idle / 2 : 1);
    char idle[32], count[32];
    snprintf(idle, sizeof idle, "%lld", (long long)(s->claim_idle * 1000));
    snprintf(count, sizeof count, "%u", s->batch);
    const char *argv[] = { "XAUTOCLAIM", s->key, s->group, w->consumer, idle, s->cursor,
                           "COUNT", count };
    redisReply *rep = cmd(w, s, 0, 8, argv, NULL);
    if (!rep)
        return;
    if (reply_failed(w, s, rep, "XAUTOCLAIM") || rep->type != REDIS_REPLY_ARRAY ||
        rep->elements < 2) {
        cdi_redis_reply_free(rep);
        return;
    }
    const redisReply *next = rep->element[0], *entries = rep->element[1];
    snprintf(s->cursor, sizeof s->cursor, "%s",
             next->type == REDIS_REPLY_STRING ? next->str : "0-0");
    /* a full scan ended: the next one starts over after a pause; more
     * remain: go on at once */
    if (strcmp(s->cursor, "0-0") != 0)
        s->next_claim = 0;
    size_t n = entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
    if (n) {
        s->claimed += n;
        logline l;
        cdi_log_begin(&l, w, "claimed");
        cdi_log_str(&l, "stream", s->name);
        cdi_log_num(&l, "entries", (double)n);
        cdi_log_str(&l, "first", entries->element[0]->type == REDIS_REPLY_ARRAY &&
                    entries->element[0]->elements ? entries->element[0]->element[0]->str : "-");
        cdi_log_end(&l);
        handle_batch(w, s, entries, 1);
    }
    cdi_redis_reply_free(rep);
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The read, preceded by the XACK of what is owed in the same round trip:
 * both written at once, then both answers read.  The XREADGROUP reply, or
 * NULL when the server went away (the acknowledgements are still owed:
 * XACK again is harmless). */
static redisReply *read_with_acks(watch *w, stream_state *s, double wait_s, int argc,
                                  const char **argv)
{
    int nack;
    const char **ack = ack_argv(s, &nack);
    if (!ack)
        return cmd(w, s, wait_s, argc, argv, NULL);
    cd_error e;
    cd_status st = cdi_redis_append(s->r, nack, ack, NULL, &e);
    free(ack);
    if (st == CD_OK)
        st = cdi_redis_append(s->r, argc, argv, NULL, &e);
    redisReply *acked = st == CD_OK ? cdi_redis_get_reply(s->r, &e) : NULL;
    if (acked)
        acks_answered(w, s, acked);   /* an error reply: said, the acks kept */
    redisReply *rep = acked ? cdi_redis_get_reply_wait(s->r, wait_s, &e) : NULL;
    cdi_redis_reply_free(acked);
    if (!rep)
        went_down(w, s, e.msg);
    return rep;
}

static void read_entries(watch *w, stream_state *s, int block_ms)
{
    char count[32], block[32];
    snprintf(count, sizeof count, "%u", s->batch);
    snprintf(block, sizeof block, "%d", block_ms);
    int blocking = !s->history && s->empty && block_ms > 0;
    const char *argv[10];
    int argc = 0;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = s->group;
    argv[argc++] = w->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (blocking) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = s->key;
    const char *from = s->history ? "0" : ">";
    const char *all[12];
    memcpy(all, argv, (size_t)argc * sizeof *argv);
    all[argc++] = from;
    redisReply *rep = read_with_acks(w, s, blocking ? block_ms / 1000.0 + 5 : 0, argc, all);
    if (!rep)
        return;
    if (reply_failed(w, s, rep, "XREADGROUP")) {
        /* the group vanished (the stream was deleted): create it again */
        if (rep->str && strstr(rep->str, "NOGROUP"))
            s->group_ready = 0;
        cdi_redis_reply_free(rep);
        return;
    }
    /* [[key, [[id, fields], ...]]] or nil */
    const redisReply *entries = NULL;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements && rep->element[0]->type ==
        REDIS_REPLY_ARRAY && rep->element[0]->elements >= 2)
        entries = rep->element[0]->element[1];
    size_t n = entries && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
    /* our own pending entries are done: new ones now (not empty yet: the
     * next read is the first of new entries) */
    s->empty = !s->history && !n;
    if (s->history && !n)
        s->history = 0;
    if (n)
        handle_batch(w, s, entries, s->history);
    cdi_redis_reply_free(rep);
}

/* ---- the heartbeat ------------------------------------------------------------------------- */

static void label(cd_buf *b, const char *k, const char *v)
{
    cdi_buf_printf(b, "%s=\"", k);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            cdi_buf_put(b, "\\", 1);
        if (*p == '\n')
            cdi_buf_puts(b, "\\n");
        else
            cdi_buf_put(b, p, 1);
    }
    cdi_buf_puts(b, "\"");
}

/* The group's pending and lag, and each consumer's pending and idle time,
 * as Prometheus lines. */
static void group_view(watch *w, stream_state *s)
{
    const char *g[] = { "XINFO", "GROUPS", s->key };
    redisReply *rep = cmd(w, s, 0, 3, g, NULL);
    if (!rep)
        return;
    s->pending = s->lag = -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *grp = rep->element[i];
        int mine = 0;
        long long pending = -1, lag = -1;
        for (size_t j = 0; grp->type == REDIS_REPLY_ARRAY && j + 1 < grp->elements; j += 2) {
            const char *k = grp->element[j]->str;
            const redisReply *v = grp->element[j + 1];
            if (!k)
                continue;
            if (!strcmp(k, "name") && v->str)
                mine = !strcmp(v->str, s->group);
            else if (!strcmp(k, "pending") && v->type == REDIS_REPLY_INTEGER)
                pending = v->integer;
            else if (!strcmp(k, "lag") && v->type == REDIS_REPLY_INTEGER)
                lag = v->integer;
        }
        if (mine) {
            s->pending = pending;
            s->lag = lag;
        }
    }
    cdi_redis_reply_free(rep);
    const char *c[] = { "XINFO", "CONSUMERS", s->key, s->group };
    if (!(rep = cmd(w, s, 0, 4, c, NULL)))
        return;
    cd_buf b = { 0 };
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *con = rep->element[i];
        const char *name = NULL;
        long long pending = 0, idle = 0;
        for (size_t j = 0; con->type == REDIS_REPLY_ARRAY && j + 1 < con->elements; j += 2) {
            const char *k = con->element[j]->str;
            const redisReply *v = con->element[j + 1];
            if (!k)
                continue;
            if (!strcmp(k, "name"))
                name = v->str;
            else if (!strcmp(k, "pending"))
                pending = v->integer;
            else if (!strcmp(k, "idle"))
                idle = v->integer;
        }
        if (!name)
            continue;
        cdi_buf_puts(&b, "copydesk_stream_consumer_pending{");
        label(&b, "stream", s->name);
        cdi_buf_puts(&b, ",");
        label(&b, "consumer", name);
        cdi_buf_printf(&b, "} %lld\n", pending);
        cdi_buf_puts(&b, "copydesk_stream_consumer_idle_seconds{");
        label(&b, "stream", s->name);
        cdi_buf_puts(&b, ",");
        label(&b, "consumer", name);
        cdi_buf_printf(&b, "} %.3f\n", idle / 1000.0);
    }
    cdi_redis_reply_free(rep);
    free(s->workers_text);
    s->workers_text = b.failed ? NULL : b.data;
}

static void heartbeat(watch *w, stream_state *s)
{
    s->next_beat = cdi_monotonic() + HEARTBEAT_EVERY;
    cd_buf key = { 0 };
    cdi_buf_printf(&key, "copydesk:worker:%s:%s:%s", s->key, s->group, w->consumer);
    if (key.failed)
        return;
    char host[256] = "", pid[32], now[40], nums[7][32], ttl[16];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    snprintf(now, sizeof now, "%.3f", t);
    snprintf(nums[0], 32, "%llu", (unsigned long long)s->read);
    snprintf(nums[1], 32, "%llu", (unsigned long long)s->claimed);
    snprintf(nums[2], 32, "%llu", (unsigned long long)s->acked);
    snprintf(nums[3], 32, "%llu", (unsigned long long)s->dead);
    snprintf(nums[4], 32, "%llu", (unsigned long long)s->errors);
    snprintf(nums[5], 32, "%llu", (unsigned long long)w->stories);
    snprintf(nums[6], 32, "%llu", (unsigned long long)cdi_spool_depth(w->spool));
    snprintf(ttl, sizeof ttl, "%d", HEARTBEAT_TTL);
    const char *hset[] = { "HSET", key.data, "consumer", w->consumer, "stream", s->key,
                           "group", s->group, "name", s->name, "host", host, "pid", pid,
                           "heartbeat", now, "read", nums[0], "claimed", nums[1],
                           "acked", nums[2], "dead_letter", nums[3], "errors", nums[4],
                           "stories", nums[5], "spooled", nums[6],
                           "state", w->stopping ? "stopping" : "running" };
    const char *expire[] = { "EXPIRE", key.data, ttl };
    const char *zadd[] = { "ZADD", WORKERS_KEY, now, key.data };
    char old[40];
    snprintf(old, sizeof old, "%.3f", t - 86400);
    const char *zrem[] = { "ZREMRANGEBYSCORE", WORKERS_KEY, "-inf", old };
    redisReply *rep;
    if ((rep = cmd(w, s, 0, (int)(sizeof hset / sizeof *hset), hset, NULL)))
        cdi_redis_reply_free(rep);
    if (rep && (rep = cmd(w, s, 0, 3, expire, NULL)))
        cdi_redis_reply_free(rep);
    if (rep && (rep = cmd(w, s, 0, 4, zadd, NULL)))
        cdi_redis_reply_free(rep);
    if (rep && (rep = cmd(w, s, 0, 4, zrem, NULL)))
        cdi_redis_reply_free(rep);
    cdi_buf_free(&key);
    if (rep)
        group_view(w, s);
    cdi_watch_publish_streams(w);
}

/* ---- the turn ------------------------------------------------------------------------------ */

void cdi_watch_poll_streams(watch *w, int block_ms)
{
    for (size_t i = 0; i < w->nstreams && !w->stopping; i++) {
        stream_state *s = &w->streams[i];
        if (!s->r || !ready(w, s))
            continue;
        /* acknowledgements owed go with the read below */
        double now = cdi_monotonic();
        if (now >= s->next_beat)
            heartbeat(w, s);
        if (cdi_redis_connected(s->r) && now >= s->next_claim && !w->stopping)
            claim(w, s);
        if (cdi_redis_connected(s->r) && !w->stopping)
            read_entries(w, s, w->nstreams == 1 ? block_ms : 0);
    }
}

void cdi_watch_stop_streams(watch *w)
{
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        if (!s->r || !cdi_redis_connected(s->r))
            continue;
        send_acks(w, s);
        heartbeat(w, s);   /* state "stopping": status shows it left on purpose */
    }
}

double cdi_watch_next_stream(watch *w)
{
    double best = -1, now = cdi_monotonic();
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        if (!s->r)
            continue;
        double in;
        if (!cdi_redis_connected(s->r) || !s->group_ready)
            in = cdi_redis_retry_at(s->r) - now;
        else if (s->nack || s->history || !s->empty)
            in = 0;
        else   /* the read blocks: come back at once; the wait is in Redis */
            in = 0;
        if (in < 0)
            in = 0;
        if (best < 0 || in < best)
            best = in;
    }
    return best;
}

int cdi_watch_streams_idle(watch *w)
{
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        if (s->r && (s->history || !s->empty || s->nack || !s->group_ready))
            return 0;
    }
    return 1;
}

void cdi_watch_publish_streams(watch *w)
{
    cd_buf m = { 0 };
    char down[800] = "";
    if (w->nstreams)
        cdi_buf_puts(&m, "# HELP copydesk_stream_up 1 when the stream's Redis server answers.\n"
                     "# TYPE copydesk_stream_up gauge\n");
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        if (s->down && !down[0])
            snprintf(down, sizeof down, "stream '%s': Redis unreachable: %s", s->name,
                     s->last_error ? s->last_error : "?");
        cdi_buf_puts(&m, "copydesk_stream_up{");
        label(&m, "stream", s->name);
        cdi_buf_printf(&m, "} %d\n", !s->down);
    }
    static const char *const names[] = { "read", "claimed", "acked", "dead_letter" };
    if (w->nstreams)
        cdi_buf_puts(&m, "# HELP copydesk_stream_entries_total Entries this worker read, "
                     "claimed from dead consumers, acknowledged, sent to dead letter.\n"
                     "# TYPE copydesk_stream_entries_total counter\n");
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        uint64_t v[4] = { s->read, s->claimed, s->acked, s->dead };
        for (int k = 0; k < 4; k++) {
            cdi_buf_puts(&m, "copydesk_stream_entries_total{");
            label(&m, "stream", s->name);
            cdi_buf_puts(&m, ",");
            label(&m, "event", names[k]);
            cdi_buf_printf(&m, "} %llu\n", (unsigned long long)v[k]);
        }
    }
    if (w->nstreams)
        cdi_buf_puts(&m, "# HELP copydesk_stream_group_pending Entries delivered to a consumer "
                     "of the group and not yet acknowledged (-1: unknown).\n"
                     "# TYPE copydesk_stream_group_pending gauge\n"
                     "# HELP copydesk_stream_group_lag Entries of the stream the group has not "
                     "read yet (-1: unknown).\n# TYPE copydesk_stream_group_lag gauge\n"
                     "# HELP copydesk_stream_consumer_pending Pending entries per consumer of "
                     "the group.\n# TYPE copydesk_stream_consumer_pending gauge\n"
                     "# HELP copydesk_stream_consumer_idle_seconds Since the consumer last "
                     "read or claimed.\n# TYPE copydesk_stream_consumer_idle_seconds gauge\n");
    for (size_t i = 0; i < w->nstreams; i++) {
        stream_state *s = &w->streams[i];
        cdi_buf_puts(&m, "copydesk_stream_group_pending{");
        label(&m, "stream", s->name);
        cdi_buf_printf(&m, "} %lld\n", s->pending);
        cdi_buf_puts(&m, "copydesk_stream_group_lag{");
        label(&m, "stream", s->name);
        cdi_buf_printf(&m, "} %lld\n", s->lag);
        if (s->workers_text)
            cdi_buf_puts(&m, s->workers_text);
    }
    cdi_stream_health_publish((unsigned)w->nstreams, down[0] ? down : NULL,
                              m.failed ? NULL : m.data);
    cdi_buf_free(&m);
}
