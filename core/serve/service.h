/*
 * service.h - the state behind copydesk serve, apart from HTTP: the
 * running desk (a pool of loaded copies, one per HTTP thread, since a
 * cd_desk is not thread-safe), its versions, the spool of url deliveries
 * and the counters.  core/serve/http_api.c answers requests on it;
 * core/serve/serve.c puts it behind libmicrohttpd.  A fuzz target can
 * build one without any socket.
 *
 * State folder layout (shared with the watch that runs in the same
 * process: status.json, lock, feeds/):
 *   spool/             url deliveries waiting (core/deliver/deliver_spool.h)
 *   desks/NNNNNN.lua   every desk version that ran, numbered from 1
 *   desks/current      the number of the running version
 *   token              the bearer token serve made when given none
 *
 * A new desk (the file changed, SIGHUP, PUT /v1/desk?apply=1, rollback)
 * is loaded beside the running one and replaces it only when it loads
 * and every expect case passes; requests in flight finish on the old one.
 */
#ifndef CD_SERVE_SERVICE_H
#define CD_SERVE_SERVICE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "copydesk.h"
#include "base/buf.h"
#include "base/json.h"
#include "live/archive.h"
#include "live/held.h"
#include "serve/serve_metrics.h"

typedef struct cd_service_opts {
    const char *config;       /* the desk file (required) */
    const char *state;        /* the state folder (required) */
    cd_desk_opts desk;        /* limits, scripts folder */
    size_t desks;             /* copies of the desk to keep loaded (>= 1) */
    size_t max_body;          /* largest request body: the story size limit */
    const char *token;        /* the bearer token; NULL: changes are refused */
    const char *cors_origin;  /* the one origin allowed by CORS, or NULL */
    FILE *log;                /* events (start, reload, spool); NULL: stderr */
    int quiet;                /* no log at all (the fuzz target) */
    int no_archive;           /* keep no archive of routed stories */
} cd_service_opts;

typedef struct cd_service cd_service;

/* Load the desk (its expect cases must pass), open the spool.  2 and err
 * filled when it cannot start. */
cd_status cdi_service_open(const cd_service_opts *opts, cd_service **out, cd_error *err);
void cdi_service_free(cd_service *s);

const cd_service_opts *cdi_service_get_opts(const cd_service *s);
cd_metrics *cdi_service_metrics(cd_service *s);

/* Ready: accepting stories (a desk runs and the process is not stopping). */
void cdi_service_set_ready(cd_service *s, int ready);
int cdi_service_ready(const cd_service *s);

/* Reload the desk file when it changed on disk since the running desk was
 * read (or always, with force: SIGHUP, a model replaced).  Returns 1 when
 * a new desk runs. */
int cdi_service_reload(cd_service *s, int force, const char *why);
/* A reload refused elsewhere (watch's): counted and shown as the last. */
void cdi_service_reload_failed(cd_service *s, const char *why, const char *msg);

/* Stories waiting in the spool (watch's thread drains it). */
uint64_t cdi_service_spool_depth(cd_service *s);

/* Stories held until a time (STATE/held/, watch's thread releases them):
 * how many, and the store, shared with the watch of the same process (a
 * rule's hold() over HTTP keeps its story there before the 202). */
uint64_t cdi_service_held(cd_service *s);
cd_held *cdi_service_held_store(cd_service *s);

/* The archive of routed stories (STATE/archive/), shared with the watch
 * of the same process; NULL when it could not be opened. */
cd_archive *cdi_service_archive(cd_service *s);

/* Write a log line "time event k=v ..." (pairs of strings, NULL ends). */
void cdi_service_log(cd_service *s, const char *event, ...);

/* ---- for the request handler (http_api.c) ---------------------------------- */

typedef struct cd_lease cd_lease;   /* a desk of the pool, lent to one thread */

/* Borrow a desk of the running version (waits when all are lent). */
cd_lease *cdi_service_lease(cd_service *s);
cd_desk *cdi_lease_desk(cd_lease *l);
void cdi_service_return(cd_service *s, cd_lease *l);

/* After routing to a url destination: make every spooled story durable. */
cd_status cdi_service_sync(cd_service *s, cd_error *err);

/* Append the description of the running desk (GET /v1/desk). */
void cdi_service_describe(cd_service *s, cd_buf *out);
/* A copy of the running desk's text (caller frees; NULL: no memory),
 * its length and version. */
char *cdi_service_text(cd_service *s, size_t *len, uint64_t *version);
/* What the last reload said (its result, or why it was refused). */
void cdi_service_reload_message(cd_service *s, char *msg, size_t cap);

/* Append the running desk's source text (GET /v1/desk/source). */
void cdi_service_source(cd_service *s, cd_buf *out);

/* PUT /v1/desk: check text as the desk file (load, validate, expect
 * cases), and with apply install it when everything passes.  The answer
 * (a JSON object) goes to out; returns the HTTP status. */
int cdi_service_put_desk(cd_service *s, const char *text, size_t len, int apply, cd_buf *out);
/* POST /v1/desk/rollback: run the version before the running one. */
int cdi_service_rollback(cd_service *s, cd_buf *out);

/* The running desk's version number. */
uint64_t cdi_service_version(cd_service *s);

/* Replace out with an error answer {"error":{"code","message"}}; returns
 * status. */
int cdi_service_error(cd_buf *out, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int cdi_service_verror(cd_buf *out, int status, const char *code, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;

/* ---- service_learn.c, service_diff.c, service_stories.c --------------------- */

/* POST /v1/learn: st (with its right labels) as a correction of the
 * model named model (NULL: the desk's only model), as copydesk learn
 * makes it (flags: CD_ADD_NEW_LABELS; fast: write once, keeping the
 * calibration), then the desk reloaded with the new model and the
 * story decided again.  The answer (a JSON object, or an error object)
 * goes to out; returns the HTTP status. */
int cdi_service_learn(cd_service *s, const cd_story *st, const char *model, unsigned flags,
                      int fast, cd_buf *out);

/* POST /v1/desk/diff: the desk text against the running desk on the
 * archive's stories, as copydesk diff computes it; per move at most
 * limit stories listed.  Returns the HTTP status. */
int cdi_service_diff(cd_service *s, const char *text, size_t len, size_t limit, cd_buf *out);

/* GET /v1/stories: the recent decisions of the archive, newest first,
 * those routed to destination (NULL: any) at or after since (Unix
 * seconds; 0: any), at most limit. */
int cdi_service_stories(cd_service *s, const char *destination, double since, size_t limit,
                        cd_buf *out);
/* GET /v1/stories/{id}: the archived story, whole; 404 when none. */
int cdi_service_story(cd_service *s, const char *id, cd_buf *out);

#endif
