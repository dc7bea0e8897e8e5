/*
 * redis.c - one connection to a Redis server (see base/redis.h).
 *
 * hiredis's blocking API: a context per connection, a timeout on connect
 * and on every read, so that a server that stops answering costs at most
 * the timeout.  A context with an error is useless (hiredis's rule), so
 * every network error frees it; the next command makes a new one.
 */
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/clock.h"
#include "base/redis.h"

struct cd_redis {
    char *url;
    cd_redis_addr addr;
    double timeout_s;
    redisContext *c;
    double wait_s;       /* the next backoff (0: none yet) */
    double retry_at;     /* monotonic */
};

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* A decimal number in [lo, hi] made of all n bytes of s, or -1. */
static long number(const char *s, size_t n, long lo, long hi)
{
    long v = 0;
    if (!n || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

cd_status cdi_redis_parse_url(const char *url, cd_redis_addr *out, cd_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (!url || strncmp(url, "redis://", 8) != 0)
        return cd_error_set(err, CD_ERR_ARG, "%s: a Redis URL is redis://HOST[:PORT][/DB]",
                            url ? url : "(none)");
    const char *p = url + 8;
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {   /* [USER]:PASSWORD@ or PASSWORD@ */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if ((colon && copy_part(out->user, sizeof out->user, p, (size_t)(colon - p))) ||
            copy_part(out->password, sizeof out->password, pw, (size_t)(at - pw)))
            return cd_error_set(err, CD_ERR_ARG, "%s: user or password too long", url);
        p = at + 1;
    }
    const char *host_end, *port = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return cd_error_set(err, CD_ERR_ARG, "%s: unclosed [ in the host", url);
        if (copy_part(out->host, sizeof out->host, p + 1, (size_t)(close - p - 1)))
            return cd_error_set(err, CD_ERR_ARG, "%s: host too long", url);
        host_end = close + 1;
        if (host_end < end && *host_end == ':')
            port = host_end + 1;
        else if (host_end != end)
            return cd_error_set(err, CD_ERR_ARG, "%s: unexpected text after the host", url);
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if (copy_part(out->host, sizeof out->host, p, (size_t)(host_end - p)))
            return cd_error_set(err, CD_ERR_ARG, "%s: host too long", url);
        if (colon)
            port = colon + 1;
    }
    if (!out->host[0])
        return cd_error_set(err, CD_ERR_ARG, "%s: no host (redis://HOST[:PORT][/DB])", url);
    if (port && (out->port = (int)number(port, (size_t)(end - port), 1, 65535)) < 0)
        return cd_error_set(err, CD_ERR_ARG, "%s: the port must be a number from 1 to 65535",
                            url);
    if (*end == '/' && end[1]) {
        size_t n = strcspn(end + 1, "?#");
        if ((out->db = (int)number(end + 1, n, 0, 100000)) < 0)
            return cd_error_set(err, CD_ERR_ARG, "%s: the database must be a number", url);
        end += 1 + n;
    } else if (*end == '/') {
        end++;
    }
    if (*end)
        return cd_error_set(err, CD_ERR_ARG, "%s: query strings and fragments are not "
                            "understood", url);
    return CD_OK;
}

cd_redis *cdi_redis_new(const char *url, double timeout_s, cd_error *err)
{
    cd_redis_addr a;
    if (cdi_redis_parse_url(url, &a, err) != CD_OK)
        return NULL;
    cd_redis *r = calloc(1, sizeof *r);
    if (r)
        r->url = strdup(url);
    if (!r || !r->url) {
        free(r);
        cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->addr = a;
    r->timeout_s = timeout_s > 0 ? timeout_s : 5;
    return r;
}

void cdi_redis_close(cd_redis *r)
{
    if (r && r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
}

void cdi_redis_free(cd_redis *r)
{
    if (!r)
        return;
    cdi_redis_close(r);
    free(r->url);
    free(r);
}

const char *cdi_redis_url(const cd_redis *r)
{
    return r->url;
}

int cdi_redis_connected(const cd_redis *r)
{
    return r->c != NULL;
}

static struct timeval tv_of(double s)
{
    struct timeval tv = { (time_t)s, (suseconds_t)((s - floor(s)) * 1e6) };
    return tv;
}

/* The URL without its password, for messages. */
static void where(const cd_redis *r, char *out, size_t cap)
{
    snprintf(out, cap, "redis://%s:%d/%d", r->addr.host, r->addr.port, r->addr.db);
}

static cd_status net_error(cd_redis *r, const char *what, cd_error *err)
{
    char w[300];
    where(r, w, sizeof w);
    cd_status st = cd_error_set(err, CD_ERR_NET, "%s: %s", w,
                                what && *what ? what : "connection lost");
    cdi_redis_close(r);
    return st;
}

/* A command on a fresh connection (AUTH, SELECT): OK unless it failed. */
static cd_status setup_cmd(cd_redis *r, int argc, const char **argv, cd_error *err)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    if (!rep)
        return net_error(r, r->c->errstr, err);
    cd_status st = CD_OK;
    if (rep->type == REDIS_REPLY_ERROR) {
        char w[300];
        where(r, w, sizeof w);
        st = cd_error_set(err, CD_ERR_NET, "%s: %s: %s", w, argv[0], rep->str);
        cdi_redis_close(r);
    }
    freeReplyObject(rep);
    return st;
}

cd_status cdi_redis_connect(cd_redis *r, cd_error *err)
{
    if (r->c)
        return CD_OK;
    r->c = redisConnectWithTimeout(r->addr.host, r->addr.port, tv_of(r->timeout_s));
    if (!r->c)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (r->c->err)
        return net_error(r, r->c->errstr, err);
    redisSetTimeout(r->c, tv_of(r->timeout_s));
    redisEnableKeepAlive(r->c);
    cd_status st = CD_OK;
    if (r->addr.password[0]) {
        const char *argv[3] = { "AUTH", r->addr.user[0] ? r->addr.user : r->addr.password,
                                r->addr.password };
        st = setup_cmd(r, r->addr.user[0] ? 3 : 2, argv, err);
    }
    if (st == CD_OK && r->addr.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->addr.db);
        const char *argv[2] = { "SELECT", db };
        st = setup_cmd(r, 2, argv, err);
    }
    return st;
}

redisReply *cdi_redis_cmd_wait(cd_redis *r, double timeout_s, int argc, const char **argv,
                               const size_t *lens, cd_error *err)
{
    if (cdi_redis_connect(r, err) != CD_OK)
        return NULL;
    if (timeout_s > 0)
        redisSetTimeout(r->c, tv_of(timeout_s));
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) {
        net_error(r, r->c->errstr, err);
        return NULL;
    }
    if (timeout_s > 0)
        redisSetTimeout(r->c, tv_of(r->timeout_s));
    return rep;
}

redisReply *cdi_redis_cmd(cd_redis *r, int argc, const char **argv, const size_t *lens,
                          cd_error *err)
{
    return cdi_redis_cmd_wait(r, 0, argc, argv, lens, err);
}

cd_status cdi_redis_append(cd_redis *r, int argc, const char **argv, const size_t *lens,
                           cd_error *err)
{
    if (cdi_redis_connect(r, err) != CD_OK)
        return CD_ERR_NET;
    if (redisAppendCommandArgv(r->c, argc, argv, lens) != REDIS_OK)
        return net_error(r, r->c->errstr, err);
    return CD_OK;
}

redisReply *cdi_redis_get_reply_wait(cd_redis *r, double timeout_s, cd_error *err)
{
    if (!r->c) {
        net_error(r, "connection lost", err);
        return NULL;
    }
    if (timeout_s > 0)
        redisSetTimeout(r->c, tv_of(timeout_s));
    void *rep = NULL;
    if (redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
        net_error(r, r->c->errstr, err);
        return NULL;
    }
    if (timeout_s > 0)
        redisSetTimeout(r->c, tv_of(r->timeout_s));
    return rep;
}

redisReply *cdi_redis_get_reply(cd_redis *r, cd_error *err)
{
    return cdi_redis_get_reply_wait(r, 0, err);
}

cd_status cdi_redis_send(cd_redis *r, cd_error *err)
{
    if (!r->c)
        return net_error(r, "connection lost", err);
    int done = 0;
    while (!done)
        if (redisBufferWrite(r->c, &done) != REDIS_OK)
            return net_error(r, r->c->errstr, err);
    return CD_OK;
}

void cdi_redis_reply_free(redisReply *rep)
{
    if (rep)
        freeReplyObject(rep);
}

int cdi_redis_reply_error(const redisReply *rep, cd_error *err)
{
    if (rep->type != REDIS_REPLY_ERROR)
        return 0;
    cd_error_set(err, CD_ERR_NET, "Redis: %s", rep->str ? rep->str : "error");
    return 1;
}

double cdi_redis_backoff(cd_redis *r)
{
    r->wait_s = r->wait_s > 0 ? r->wait_s * 2 : 0.2;
    if (r->wait_s > CD_REDIS_MAX_WAIT)
        r->wait_s = CD_REDIS_MAX_WAIT;
    r->retry_at = cdi_monotonic() + r->wait_s;
    return r->wait_s;
}

void cdi_redis_ok(cd_redis *r)
{
    r->wait_s = 0;
    r->retry_at = 0;
}

double cdi_redis_retry_at(const cd_redis *r)
{
    return r->retry_at;
}
