/*
 * deliver_stream.c - the stream destination: XADD to a Redis stream.
 *
 * Each story is one entry, its delivered JSON in the field `story` and its
 * id in the field `id`.  The append is one Lua script run by the server,
 * so the check and the append are atomic:
 *
 *   SET <prefix><id> 1 NX EX <window>   -- remember the id for the window
 *   XADD <stream> [MAXLEN ~ N] * story <json> id <id>   -- only if it was new
 *
 * A story delivered again within the window (a worker died after the
 * append and before acknowledging its input entry; the spool posted it and
 * the answer was lost) is not appended again; the script answers nil and
 * the delivery counts as done.  After the window the id is forgotten.  The
 * remembered ids are keys "<stream>:copydesk:id:{<stream>}..." whose hash
 * tag is the stream's name, so that on a Redis Cluster they live in the
 * stream's slot, as a script's keys must.
 *
 * The script is loaded once per connection (SCRIPT LOAD) and then run by
 * its SHA1 (EVALSHA); a server restarted without its script cache answers
 * NOSCRIPT, and the script is loaded again.  Retries: like url delivery,
 * attempts after the first wait backoff_s, doubled; given a spool, one
 * attempt, and a story the server cannot take now is appended to the
 * spool, whose drain appends it later (the story is then durable, which is
 * what lets copydesk watch acknowledge its input).
 *
 * Batching (cdi_dest_set_batching, copydesk watch): a round trip and a
 * script call per story would make the worker wait on Redis, and Redis
 * spend its time starting scripts, so the stories are queued and the
 * flush appends them all with one call (EVALSHA, the script loaded once
 * per connection) of a script that does the same check-and-append story
 * by story.  The flush is in two halves: cdi_stream_flush_begin writes
 * the call, cdi_stream_flush reads the answer, so that a desk with several
 * stream destinations sends all its batches before it waits (watch
 * flushes before syncing the spool, and so before acknowledging the
 * entries the stories came from; the queue is also flushed at
 * STREAM_PIPELINE stories).  When the call fails (the connection, an
 * error that may pass) every story of the batch goes to the spool; those
 * the script appended before it stopped are remembered, so appending them
 * again from the spool does nothing.  An error that cannot pass sends the
 * batch to dead letter.
 */
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/redis.h"
#include "deliver/deliver_impl.h"
#include "deliver/deliver_spool.h"

#define STREAM_PIPELINE 512   /* stories queued before a batch is appended */

/* A story queued for the next batch. */
struct stream_sent {
    char *id;
    char *json;
    size_t len;
};

static const char append_script[] =
    "if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  if ARGV[2] ~= '0' then\n"
    "    return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',"
    " 'story', ARGV[3], 'id', ARGV[4])\n"
    "  end\n"
    "  return redis.call('XADD', KEYS[1], '*', 'story', ARGV[3], 'id', ARGV[4])\n"
    "end\n"
    "return false\n";

cd_status cdi_stream_open(cd_dest *d, cd_error *err)
{
    if (!d->opts.stream || !*d->opts.stream)
        return cd_error_set(err, CD_ERR_ARG, "a stream destination needs stream = \"KEY\"");
    d->redis = cdi_redis_new(d->target, d->opts.timeout_s, err);
    if (!d->redis)
        return err ? err->code : CD_ERR_ARG;
    d->stream = strdup(d->opts.stream);
    cd_buf b = { 0 };
    cdi_buf_printf(&b, "%s:copydesk:id:{%s}:", d->opts.stream, d->opts.stream);
    d->dedupe_prefix = b.failed ? NULL : b.data;
    if (!d->stream || !d->dedupe_prefix) {
        cdi_buf_free(&b);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    d->opts.stream = d->stream;
    if (d->opts.dedupe_s <= 0)
        d->opts.dedupe_s = 86400;
    return CD_OK;
}

void cdi_stream_close(cd_dest *d)
{
    for (size_t i = 0; i < d->nsent; i++) {
        free(d->sent[i].id);
        free(d->sent[i].json);
    }
    free(d->sent);
    cdi_redis_free(d->redis);
    d->redis = NULL;
    free(d->stream);
    free(d->dedupe_prefix);
}

/* The story id of a delivered JSON (copydesk's "id", ninjs's copydesk:id
 * altid or uri), for stories the spool gives back without it. */
static char *id_of(const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const char *id = NULL;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (cJSON_IsString(v))
        id = v->valuestring;
    cJSON *alt;
    cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(root, "altids")) {
        cJSON *role = cJSON_GetObjectItemCaseSensitive(alt, "role");
        cJSON *val = cJSON_GetObjectItemCaseSensitive(alt, "value");
        if (!id && cJSON_IsString(role) && !strcmp(role->valuestring, "copydesk:id") &&
            cJSON_IsString(val))
            id = val->valuestring;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "uri");
    if (!id && cJSON_IsString(v))
        id = v->valuestring;
    char *copy = strdup(id ? id : "");
    cJSON_Delete(root);
    return copy;
}

/* SCRIPT LOAD source into the server; its SHA1 into sha (41 bytes). */
static cd_status load_script(cd_dest *d, const char *source, char *sha, cd_error *err)
{
    const char *argv[3] = { "SCRIPT", "LOAD", source };
    redisReply *rep = cdi_redis_cmd(d->redis, 3, argv, NULL, err);
    if (!rep)
        return CD_ERR_NET;
    cd_status st = CD_OK;
    if (cdi_redis_reply_error(rep, err))
        st = CD_ERR_NET;
    else if (rep->type != REDIS_REPLY_STRING || rep->len != 40)
        st = cd_error_set(err, CD_ERR_NET, "%s: SCRIPT LOAD: unexpected answer", d->target);
    else
        memcpy(sha, rep->str, 41);
    cdi_redis_reply_free(rep);
    return st;
}

cd_status cdi_stream_append_once(cd_dest *d, const char *id, const char *json, size_t len,
                                 int *permanent, cd_error *err)
{
    *permanent = 0;
    char *own = id ? NULL : id_of(json, len);
    if (!id && !own)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (!id)
        id = own;
    cd_buf key = { 0 };
    cdi_buf_printf(&key, "%s%s", d->dedupe_prefix, id);
    char window[32], maxlen[32];
    snprintf(window, sizeof window, "%.0f", ceil(d->opts.dedupe_s));
    snprintf(maxlen, sizeof maxlen, "%lu", d->opts.maxlen);
    cd_status st = key.failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory") : CD_OK;
    for (int attempt = 0; st == CD_OK && attempt < 2; attempt++) {
        if (!cdi_redis_connected(d->redis))
            d->sha[0] = '\0';   /* a new connection may be to a restarted server */
        if (!d->sha[0] && (st = load_script(d, append_script, d->sha, err)) != CD_OK)
            break;
        const char *argv[] = { "EVALSHA", d->sha, "2", d->stream, key.data, window, maxlen,
                               json, id };
        size_t lens[] = { 7, 40, 1, strlen(d->stream), key.len, strlen(window),
                          strlen(maxlen), len, strlen(id) };
        redisReply *rep = cdi_redis_cmd(d->redis, 9, argv, lens, err);
        if (!rep) {
            st = CD_ERR_NET;
            break;
        }
        if (rep->type == REDIS_REPLY_ERROR && rep->str && !strncmp(rep->str, "NOSCRIPT", 8)) {
            d->sha[0] = '\0';   /* the server lost its script cache: load it again */
            cdi_redis_reply_free(rep);
            continue;
        }
        if (cdi_redis_reply_error(rep, err)) {
            /* a loading or read-only server (a replica being promoted) may
             * take it later; anything else (wrong type of key, out of
             * memory refused by policy...) would fail the same way again */
            *permanent = !(rep->str && (!strncmp(rep->str, "LOADING", 7) ||
                                        !strncmp(rep->str, "READONLY", 8) ||
                                        !strncmp(rep->str, "BUSY", 4) ||
                                        !strncmp(rep->str, "MASTERDOWN", 10) ||
                                        !strncmp(rep->str, "TRYAGAIN", 8)));
            st = CD_ERR_NET;
        }
        cdi_redis_reply_free(rep);
        break;
    }
    if (st == CD_OK)
        cdi_redis_ok(d->redis);
    cdi_buf_free(&key);
    free(own);
    return st;
}

/* A story whose answer says it may be taken later, or was lost: to the
 * spool; refused for good: dead letter. */
static cd_status keep(cd_dest *d, const struct stream_sent *p, int permanent, const char *why,
                      cd_error *err)
{
    if (permanent)
        return cdi_dest_dead_letter(d, p->id, why, p->json, p->len, err);
    return cdi_spool_add(d->opts.spool, d->name, p->id, p->json, p->len, err);
}

/* The batch: KEYS = the stream, then one remembered-id key per story;
 * ARGV = the window, maxlen, then each story's JSON and id.  The same
 * check-and-append as append_script, story by story, in one call. */
static const char batch_script[] =
    "for i = 2, #KEYS do\n"
    "  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then\n"
    "    if ARGV[2] ~= '0' then\n"
    "      redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',"
    " 'story', ARGV[2 * i - 1], 'id', ARGV[2 * i])\n"
    "    else\n"
    "      redis.call('XADD', KEYS[1], '*', 'story', ARGV[2 * i - 1], 'id', ARGV[2 * i])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return #KEYS - 1\n";

static int error_may_pass(const char *msg)
{
    return msg && (!strncmp(msg, "LOADING", 7) || !strncmp(msg, "READONLY", 8) ||
                   !strncmp(msg, "BUSY", 4) || !strncmp(msg, "MASTERDOWN", 10) ||
                   !strncmp(msg, "TRYAGAIN", 8));
}

/* The batch's call: EVALSHA sha nkeys, the stream, one remembered-id key
 * per story, the window, maxlen, each story's JSON and id.  Allocated:
 * argv, lens, and the keys (keys[i] owned, freed by free_call). */
struct batch_call {
    const char **argv;
    size_t *lens;
    char **keys;
    size_t argc, nkeys;
    char window[32], maxlen[32], nkeys_s[32];
};

static void free_call(struct batch_call *c)
{
    for (size_t i = 0; c->keys && i < c->nkeys; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->argv);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

static cd_status build_call(cd_dest *d, struct batch_call *c, cd_error *err)
{
    memset(c, 0, sizeof *c);
    size_t n = d->nsent, argc = 4 + n + 2 + 2 * n;
    c->argv = malloc(argc * sizeof *c->argv);
    c->lens = malloc(argc * sizeof *c->lens);
    c->keys = calloc(n, sizeof *c->keys);
    c->nkeys = n;
    if (!c->argv || !c->lens || !c->keys) {
        free_call(c);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    snprintf(c->window, sizeof c->window, "%.0f", ceil(d->opts.dedupe_s));
    snprintf(c->maxlen, sizeof c->maxlen, "%lu", d->opts.maxlen);
    snprintf(c->nkeys_s, sizeof c->nkeys_s, "%zu", n + 1);
    size_t k = 0;
    c->argv[k] = "EVALSHA"; c->lens[k++] = 7;
    c->argv[k] = d->batch_sha; c->lens[k++] = 40;
    c->argv[k] = c->nkeys_s; c->lens[k++] = strlen(c->nkeys_s);
    c->argv[k] = d->stream; c->lens[k++] = strlen(d->stream);
    for (size_t i = 0; i < n; i++) {
        cd_buf key = { 0 };
        cdi_buf_printf(&key, "%s%s", d->dedupe_prefix, d->sent[i].id);
        c->keys[i] = key.data;
        if (key.failed) {
            free_call(c);
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        }
        c->argv[k] = key.data; c->lens[k++] = key.len;
    }
    c->argv[k] = c->window; c->lens[k++] = strlen(c->window);
    c->argv[k] = c->maxlen; c->lens[k++] = strlen(c->maxlen);
    for (size_t i = 0; i < n; i++) {
        c->argv[k] = d->sent[i].json; c->lens[k++] = d->sent[i].len;
        c->argv[k] = d->sent[i].id; c->lens[k++] = strlen(d->sent[i].id);
    }
    c->argc = k;
    return CD_OK;
}

/* The batch could not be appended: why, and whether for good. */
static void batch_failed(cd_dest *d, const char *why, int permanent)
{
    d->flush_failed = 1;
    d->flush_permanent = permanent;
    snprintf(d->flush_why, sizeof d->flush_why, "%s", why);
}

/* Write the batch's call (the script loaded first on a new connection)
 * and return without its answer: the server works on it while the caller
 * sends other destinations' batches. */
void cdi_stream_flush_begin(cd_dest *d)
{
    if (!d->nsent || d->flushing)
        return;
    d->flushing = 1;
    d->flush_failed = 0;
    cd_error e;
    if (cdi_redis_retry_at(d->redis) > cdi_monotonic()) {
        batch_failed(d, "the server is unreachable", 0);   /* failed a moment ago */
        return;
    }
    if (!cdi_redis_connected(d->redis))
        d->batch_sha[0] = '\0';   /* a new connection may be to a restarted server */
    struct batch_call c;
    cd_status st = CD_OK;
    if (!d->batch_sha[0] && (st = load_script(d, batch_script, d->batch_sha, &e)) != CD_OK) {
        batch_failed(d, e.msg, 0);
        if (!cdi_redis_connected(d->redis))
            cdi_redis_backoff(d->redis);
        return;
    }
    if (build_call(d, &c, &e) != CD_OK) {
        batch_failed(d, e.msg, 0);   /* out of memory: to the spool, one by one */
        return;
    }
    if (cdi_redis_append(d->redis, (int)c.argc, c.argv, c.lens, &e) != CD_OK ||
        cdi_redis_send(d->redis, &e) != CD_OK) {
        batch_failed(d, e.msg, 0);
        cdi_redis_backoff(d->redis);
    }
    free_call(&c);
}

/* The answer to the batch's call; NOSCRIPT (the server lost its script
 * cache: restarted, SCRIPT FLUSH) loads the script and calls again. */
static void flush_answer(cd_dest *d)
{
    cd_error e;
    redisReply *rep = cdi_redis_get_reply(d->redis, &e);
    if (rep && rep->type == REDIS_REPLY_ERROR && rep->str && !strncmp(rep->str, "NOSCRIPT", 8)) {
        cdi_redis_reply_free(rep);
        rep = NULL;
        struct batch_call c;
        d->batch_sha[0] = '\0';
        if (load_script(d, batch_script, d->batch_sha, &e) == CD_OK && build_call(d, &c, &e) == CD_OK) {
            rep = cdi_redis_cmd(d->redis, (int)c.argc, c.argv, c.lens, &e);
            free_call(&c);
        }
        if (!rep && cdi_redis_connected(d->redis)) {   /* not the network: an error said */
            batch_failed(d, e.msg, 0);
            return;
        }
    }
    if (!rep) {   /* the connection failed: the spool retries */
        batch_failed(d, e.msg, 0);
        cdi_redis_backoff(d->redis);
    } else if (cdi_redis_reply_error(rep, &e)) {
        /* a script stopped by an error keeps what it did before: the
         * stories appended then are remembered, and skipped next time */
        batch_failed(d, e.msg, !error_may_pass(rep->str));
    } else {
        cdi_redis_ok(d->redis);
    }
    cdi_redis_reply_free(rep);
}

cd_status cdi_stream_flush(cd_dest *d, cd_error *err)
{
    if (!d->nsent)
        return CD_OK;
    cdi_stream_flush_begin(d);
    if (!d->flush_failed)
        flush_answer(d);
    /* what the server did not take is kept: spooled, or in dead letter */
    cd_status st = CD_OK;
    size_t n = d->nsent;
    for (size_t i = 0; i < n; i++) {
        struct stream_sent *p = &d->sent[i];
        cd_error e;
        if (d->flush_failed && keep(d, p, d->flush_permanent, d->flush_why, &e) != CD_OK &&
            st == CD_OK)
            st = cd_error_set(err, e.code, "%s", e.msg);
        free(p->id);
        free(p->json);
    }
    d->nsent = 0;
    d->flushing = 0;
    d->flush_failed = 0;
    return st;
}

/* Queue a story for the next batch (cdi_stream_flush sends it). */
static cd_status send_append(cd_dest *d, const char *id, const char *json, size_t len,
                             cd_error *err)
{
    if (d->nsent == d->sent_cap) {
        size_t cap = d->sent_cap ? 2 * d->sent_cap : 64;
        struct stream_sent *v = realloc(d->sent, cap * sizeof *v);
        if (!v)
            return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        d->sent = v;
        d->sent_cap = cap;
    }
    struct stream_sent *p = &d->sent[d->nsent];
    p->id = strdup(id);
    p->json = malloc(len ? len : 1);
    p->len = len;
    if (!p->id || !p->json) {
        free(p->id);
        free(p->json);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    memcpy(p->json, json, len);
    d->nsent++;
    return CD_OK;
}

cd_status cdi_stream_append(cd_dest *d, const char *id, const char *json, size_t len,
                            cd_error *err)
{
    int permanent;
    if (d->opts.spool) {
        /* stories already waiting go first: keep the order */
        for (size_t i = 0; i < cdi_spool_queues(d->opts.spool); i++) {
            cd_spool_queue_info qi;
            if (cdi_spool_queue_get(d->opts.spool, i, &qi) != CD_OK)
                continue;
            int waiting = !strcmp(qi.name, d->name) && qi.depth;
            cdi_spool_queue_info_clear(&qi);
            if (waiting)
                return cdi_spool_add(d->opts.spool, d->name, id, json, len, err);
        }
        if (d->batching) {   /* queued: the flush appends it, or keeps it */
            cd_status st = d->flushing ? cdi_stream_flush(d, err) : CD_OK;
            if (st == CD_OK)
                st = send_append(d, id, json, len, err);
            if (st == CD_OK && d->nsent >= STREAM_PIPELINE)
                st = cdi_stream_flush(d, err);
            return st;
        }
        /* the server failed a moment ago: straight to the spool, which
         * tries again with its own waits */
        if (cdi_redis_retry_at(d->redis) <= cdi_monotonic()) {
            cd_status st = cdi_stream_append_once(d, id, json, len, &permanent, err);
            if (st == CD_OK || permanent)
                return st;   /* refused for good: the desk keeps it in dead letter */
            cdi_redis_backoff(d->redis);
        }
        return cdi_spool_add(d->opts.spool, d->name, id, json, len, err);
    }
    return cdi_dest_send_retrying(d, id, json, len, err);
}

cd_status cdi_stream_probe(const cd_dest *d, cd_error *err)
{
    cd_error e;
    cd_redis *r = cdi_redis_new(d->target, 2, &e);
    if (!r)
        return cd_error_set(err, e.code, "%s", e.msg);
    const char *argv[] = { "TYPE", d->stream };
    redisReply *rep = cdi_redis_cmd(r, 2, argv, NULL, &e);
    cd_status st = CD_OK;
    if (!rep)
        st = cd_error_set(err, CD_ERR_NET, "cannot reach the server: %s", e.msg);
    else if (cdi_redis_reply_error(rep, &e))
        st = cd_error_set(err, CD_ERR_NET, "%s", e.msg);
    else if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "none") &&
             strcmp(rep->str, "stream"))
        st = cd_error_set(err, CD_ERR_ARG, "key '%s' holds a %s, not a stream", d->stream,
                          rep->str);
    cdi_redis_reply_free(rep);
    cdi_redis_free(r);
    return st;
}
