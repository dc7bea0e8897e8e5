/*
 * base/redis.h - one connection to a Redis server (hiredis), shared by the
 * stream input (core/live/watch_stream.c), the stream destination
 * (core/deliver/deliver_stream.c) and copydesk status.
 *
 * A connection is made lazily and remade after any network error: a
 * command that fails on the network drops the connection, returns NULL
 * and says why; the caller decides when to try again (cdi_redis_backoff
 * gives the wait, starting at 0.2 s and doubling up to 5 s).  Error
 * replies of the server (-ERR ...) are replies, not network errors.
 *
 * URLs: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; HOST may be [v6].
 */
#ifndef CD_BASE_REDIS_H
#define CD_BASE_REDIS_H

#include <stddef.h>

#include "copydesk/error.h"

#define CD_REDIS_MAX_WAIT 5.0     /* seconds, the longest wait between connection attempts */

typedef struct cd_redis_addr {
    char host[256];
    int port;                     /* default 6379 */
    int db;                       /* default 0 */
    char user[128];               /* "" when none */
    char password[256];           /* "" when none */
} cd_redis_addr;

/* Parse a redis:// URL; err says what is wrong. */
cd_status cdi_redis_parse_url(const char *url, cd_redis_addr *out, cd_error *err);

typedef struct cd_redis cd_redis;
typedef struct redisReply redisReply;

/* A connection (not yet made) to url; timeout_s bounds connecting and
 * each command (0: 5 s).  NULL with err when the URL is wrong. */
cd_redis *cdi_redis_new(const char *url, double timeout_s, cd_error *err);
void cdi_redis_free(cd_redis *r);
const char *cdi_redis_url(const cd_redis *r);

/* Connect now when not connected (AUTH, SELECT); CD_OK when connected. */
cd_status cdi_redis_connect(cd_redis *r, cd_error *err);
int cdi_redis_connected(const cd_redis *r);
/* Drop the connection (the next command connects again). */
void cdi_redis_close(cd_redis *r);

/* Run one command (binary-safe arguments; lens NULL: C strings),
 * connecting first when needed.  The reply (free with cdi_redis_reply_free),
 * or NULL on a network error (the connection is dropped; err says why).
 * A reply of type error is returned as a reply. */
redisReply *cdi_redis_cmd(cd_redis *r, int argc, const char **argv, const size_t *lens,
                          cd_error *err);
/* The same, taking the reply timeout for this command only (BLOCK). */
redisReply *cdi_redis_cmd_wait(cd_redis *r, double timeout_s, int argc, const char **argv,
                               const size_t *lens, cd_error *err);
void cdi_redis_reply_free(redisReply *rep);

/* Pipelining: queue a command (connecting first when needed), then read
 * the replies in order.  NULL from cdi_redis_get_reply: a network error
 * (the connection is dropped, the replies of the commands queued since
 * are lost; err says why). */
cd_status cdi_redis_append(cd_redis *r, int argc, const char **argv, const size_t *lens,
                           cd_error *err);
redisReply *cdi_redis_get_reply(cd_redis *r, cd_error *err);
/* The same, waiting at most timeout_s for this reply (a BLOCK read). */
redisReply *cdi_redis_get_reply_wait(cd_redis *r, double timeout_s, cd_error *err);
/* Write what is queued now, without reading: the server starts on it
 * while the caller does something else. */
cd_status cdi_redis_send(cd_redis *r, cd_error *err);

/* The reply is an error reply: its text in err, and 1. */
int cdi_redis_reply_error(const redisReply *rep, cd_error *err);

/* Backoff between connection attempts: after a failure, the seconds to
 * wait before the next one (doubling); cdi_redis_ok resets it. */
double cdi_redis_backoff(cd_redis *r);
void cdi_redis_ok(cd_redis *r);
/* Monotonic time before which no attempt should be made (0: now). */
double cdi_redis_retry_at(const cd_redis *r);

#endif
