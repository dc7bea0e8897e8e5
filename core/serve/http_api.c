/*
 * http_api.c - the answers of copydesk serve (see http_api.h and
 * docs/http-api.md).
 *
 *   GET  /healthz /readyz /metrics
 *   POST /v1/classify              labels and topics, nothing delivered
 *   POST /v1/route                 decide and deliver (202 once durable),
 *                                  or ?dry_run=1 decide only
 *   GET  /v1/desk /v1/desk/source  the running desk
 *   PUT  /v1/desk                  check a desk text, ?apply=1 install it
 *   POST /v1/desk/rollback         run the version before
 *   POST /v1/desk/diff             a desk text against the running one,
 *                                  on the archive's stories
 *   POST /v1/learn                 an editor's correction of a model
 *   GET  /v1/stories[/{id}]        what the archive kept, newest first
 *
 * A story comes as one JSON object (copydesk's fields or ninjs),
 * text/plain (first line the title), or JSON lines for a batch (one
 * answer line per input line, in order).  Requests that change anything
 * (route with delivery, desk writes, diff, learn) need the bearer token.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "desk/desk_describe.h"
#include "desk/desk_live.h"
#include "desk/isotime.h"
#include "live/stream_health.h"
#include "serve/http_api.h"
#include "serve/http_history.h"
#include "serve/http_status.h"
#include "serve/serve_auth.h"

#define JSON "application/json"
#define JSON_LINES "application/x-ndjson"

void cdi_http_error(cd_http_resp *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->status = cdi_service_verror(&r->body, status, code, fmt, ap);
    va_end(ap);
    r->content_type = JSON;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ?flag=1: 1, 0, or -1 when the value is neither. */
static int flag(const char *v)
{
    if (!v || !*v || !strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
        return 0;
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
        return 1;
    return -1;
}

/* The token, when the request needs it; 0 and resp filled when refused. */
static int authorized(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    const char *token = cdi_service_get_opts(s)->token;
    if (!token) {
        cdi_http_error(resp, 403, "forbidden",
                       "this service accepts no changes: start copydesk serve with a token");
        return 0;
    }
    if (!req->authorization) {
        cdi_http_error(resp, 401, "unauthorized",
                       "this request changes something: send Authorization: Bearer TOKEN");
        resp->www_authenticate = 1;
        return 0;
    }
    if (!cdi_token_check(token, req->authorization)) {
        cdi_http_error(resp, 401, "unauthorized", "the bearer token is not this service's");
        resp->www_authenticate = 1;
        return 0;
    }
    return 1;
}

/* ---- the bodies of stories ---------------------------------------------------- */

typedef enum { BODY_JSON, BODY_LINES, BODY_TEXT } body_kind;

static int media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    if (strncasecmp(ct, type, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static int body_kind_of(const cd_http_req *req, body_kind *k, cd_http_resp *resp)
{
    const char *ct = req->content_type;
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    if (!ct || !*ct) {
        size_t i = 0;
        while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
            i++;
        if (i < req->body_len && req->body[i] == '{') {
            *k = BODY_JSON;
            return 1;
        }
    } else if (media_is(ct, "application/json") || media_is(ct, "application/ninjs+json")) {
        *k = BODY_JSON;
        return 1;
    } else if (media_is(ct, "application/x-ndjson") || media_is(ct, "application/jsonl") ||
               media_is(ct, "application/jsonlines") || media_is(ct, "application/x-jsonlines")) {
        *k = BODY_LINES;
        return 1;
    } else if (media_is(ct, "text/plain")) {
        *k = BODY_TEXT;
        return 1;
    }
    cdi_http_error(resp, 415, "unsupported_media_type",
                   "send one story as application/json or text/plain, or a batch as "
                   "application/x-ndjson (JSON lines)");
    return 0;
}

/* ---- one story --------------------------------------------------------------------- */

typedef struct job {
    cd_service *s;
    cd_lease *lease;
    int route;        /* route (else classify) */
    int deliver;      /* route for real (else dry run) */
    int explain;
    size_t failed;    /* stories that could not be decided or kept */
    int spooled;      /* a story went to a url destination: sync the spool */
} job;

/* A story's answer when it could not be considered at all. */
static void not_decided(cd_buf *out, const cd_story *st, const char *msg)
{
    cdi_buf_puts(out, "{\"id\":");
    cdi_buf_json_string(out, st->id, strlen(st->id));
    cdi_buf_puts(out, ",\"error\":{\"code\":\"not_decided\",\"message\":");
    cdi_buf_json_string(out, msg, strlen(msg));
    cdi_buf_puts(out, "}}");
}

/* Classify one story (its models and topics, no rules) and append its
 * answer to out. */
static void classify_one(job *j, const cd_story *st, cd_buf *out)
{
    cd_error e;
    double t0 = now();
    if (cdi_desk_classify_json(cdi_lease_desk(j->lease), st, j->explain, out, &e) != CD_OK) {
        if (out->failed)
            return;
        j->failed++;   /* analysis fails before anything is written */
        not_decided(out, st, e.msg);
        return;
    }
    cd_decision none;
    memset(&none, 0, sizeof none);
    cdi_metrics_decision(cdi_service_metrics(j->s), &none, 0, now() - t0);
}

/* Decide one story and append its answer (one JSON object) to out. */
static void one_story(job *j, const cd_story *st, cd_buf *out)
{
    if (!j->route) {
        classify_one(j, st, out);
        return;
    }
    cd_desk *desk = cdi_lease_desk(j->lease);
    cd_decision dec;
    cd_error e;
    double t0 = now();
    if (cd_desk_route(desk, st, !j->deliver, &dec, &e) != CD_OK) {
        j->failed++;
        not_decided(out, st, e.msg);
        return;
    }
    cdi_metrics_decision(cdi_service_metrics(j->s), &dec, j->deliver, now() - t0);
    if (j->deliver && dec.outcome == CD_OUTCOME_FAILED)
        j->failed++;
    if (j->deliver && cdi_desk_routed_to_url(desk))
        j->spooled = 1;
    cd_archive *archive = j->deliver ? cdi_service_archive(j->s) : NULL;
    if (archive) {
        cd_buf summary = { 0 };
        cdi_desk_decision_summary(desk, &summary);
        if (cdi_archive_add(archive, st, &dec, summary.failed ? NULL : summary.data,
                            (double)time(NULL), &e) != CD_OK)
            cdi_service_log(j->s, "archive-failed", "id", st->id, "error", e.msg, NULL);
        cdi_buf_free(&summary);
    }
    char *json = cd_desk_decision_json(desk, j->explain);
    if (!json) {
        out->failed = 1;
        return;
    }
    cdi_buf_puts(out, json);
    free(json);
}

static void line_error(cd_buf *out, size_t line, const char *code, const char *msg)
{
    cdi_buf_printf(out, "{\"line\":%zu,\"error\":{\"code\":\"%s\",\"message\":", line, code);
    cdi_buf_json_string(out, msg, strlen(msg));
    cdi_buf_puts(out, "}}\n");
}

/* POST /v1/classify and /v1/route. */
static void stories(cd_service *s, const cd_http_req *req, cd_http_resp *resp, int route)
{
    int explain = flag(req->arg_explain), dry = flag(req->arg_dry_run);
    if (explain < 0 || dry < 0) {
        cdi_http_error(resp, 400, "bad_argument", "%s must be 1 or 0",
                       explain < 0 ? "explain" : "dry_run");
        return;
    }
    if (!route && dry) {
        cdi_http_error(resp, 400, "bad_argument", "dry_run is for /v1/route: classify never delivers");
        return;
    }
    job j = { s, NULL, route, route && !dry, explain, 0, 0 };
    if (j.deliver && !authorized(s, req, resp))
        return;
    if (!cdi_service_ready(s)) {
        cdi_http_error(resp, 503, "not_ready", "the service is stopping");
        return;
    }
    body_kind kind;
    if (!body_kind_of(req, &kind, resp))
        return;
    const char *id = req->arg_id && *req->arg_id ? req->arg_id : "request";
    cd_story st;
    cd_error e;
    if (kind != BODY_LINES) {
        size_t off = 0;
        if (!req->body_len) {
            cdi_http_error(resp, 400, "empty_body", "the request has no story");
            return;
        }
        cd_status rc = kind == BODY_TEXT
            ? cd_story_from_text(req->body, req->body_len, id, NULL, &st, &e)
            : cd_story_from_json(req->body, req->body_len, id, &st, &off, &e);
        if (rc != CD_OK) {
            if (rc == CD_ERR_NOMEM)
                cdi_http_error(resp, 500, "internal", "out of memory");
            else if (kind == BODY_JSON)
                cdi_http_error(resp, 400, "bad_story", "byte %zu: %s", off, e.msg);
            else
                cdi_http_error(resp, 400, "bad_story", "%s", e.msg);
            return;
        }
        j.lease = cdi_service_lease(s);
        one_story(&j, &st, &resp->body);
        cd_story_clear(&st);
    } else {
        j.lease = cdi_service_lease(s);
        size_t bad = 0, lineno = 0;
        const char *p = req->body, *end = req->body + req->body_len;
        while (p < end && !resp->body.failed) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            lineno++;
            const char *q = p;
            while (q < le && strchr(" \t\r", *q))
                q++;
            if (q < le) {
                char src[64];
                snprintf(src, sizeof src, "%s:%zu", id, lineno);
                size_t off = 0;
                if (cd_story_from_json(p, (size_t)(le - p), src, &st, &off, &e) != CD_OK) {
                    char m[700];
                    snprintf(m, sizeof m, "line %zu, byte %zu: %s", lineno, off, e.msg);
                    line_error(&resp->body, lineno, "bad_story", m);
                    bad++;
                } else {
                    one_story(&j, &st, &resp->body);
                    cdi_buf_puts(&resp->body, "\n");
                    cd_story_clear(&st);
                }
            }
            p = nl ? nl + 1 : end;
        }
        if (bad && j.deliver)
            j.failed += bad;
    }
    cdi_service_return(s, j.lease);
    if (resp->body.failed) {
        cdi_http_error(resp, 500, "internal", "out of memory");
        return;
    }
    resp->content_type = kind == BODY_LINES ? JSON_LINES : JSON;
    resp->status = j.deliver ? 202 : 200;
    if (j.spooled && cdi_service_sync(s, &e) != CD_OK) {
        cdi_http_error(resp, 500, "spool_failed",
                       "the stories could not be made durable: %s (send them again)", e.msg);
        return;
    }
    if (j.failed) {
        if (kind == BODY_LINES) {
            resp->status = j.deliver ? 500 : 200;   /* each line says what happened */
        } else if (j.deliver) {
            cdi_http_error(resp, 500, "delivery_failed",
                           "the story could not be delivered nor kept in dead letter");
        } else {
            cdi_http_error(resp, 500, "not_decided", "the desk could not consider the story");
        }
    }
}

/* ---- learn, diff, stories ------------------------------------------------------------ */

/* ?limit=N: dflt when absent, at most max; -1 (resp filled) when bad. */
static long limit_arg(const char *v, long dflt, long max, cd_http_resp *resp)
{
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > max || v[0] == '+' || v[0] == ' ') {
        cdi_http_error(resp, 400, "bad_argument", "limit must be a number from 1 to %ld, got '%.40s'",
                       max, v);
        return -1;
    }
    return n;
}

/* POST /v1/learn?model=NAME&new_label=1&fast=1: one JSON story with labels. */
static void learn(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    int new_label = flag(req->arg_new_label), fast = flag(req->arg_fast);
    if (new_label < 0 || fast < 0) {
        cdi_http_error(resp, 400, "bad_argument", "%s must be 1 or 0",
                       new_label < 0 ? "new_label" : "fast");
        return;
    }
    if (!authorized(s, req, resp))
        return;
    body_kind kind;
    if (!body_kind_of(req, &kind, resp))
        return;
    if (kind != BODY_JSON) {
        cdi_http_error(resp, 415, "unsupported_media_type",
                       "a correction is one story as application/json, with its \"labels\"");
        return;
    }
    if (!req->body_len) {
        cdi_http_error(resp, 400, "empty_body", "the request has no story");
        return;
    }
    cd_story st;
    cd_error e;
    size_t off = 0;
    cd_status rc = cd_story_from_json(req->body, req->body_len,
                                      req->arg_id && *req->arg_id ? req->arg_id : "request", &st,
                                      &off, &e);
    if (rc != CD_OK) {
        if (rc == CD_ERR_NOMEM)
            cdi_http_error(resp, 500, "internal", "out of memory");
        else
            cdi_http_error(resp, 400, "bad_story", "byte %zu: %s", off, e.msg);
        return;
    }
    const char *model = req->arg_model && *req->arg_model ? req->arg_model : NULL;
    resp->status = cdi_service_learn(s, &st, model, new_label ? CD_ADD_NEW_LABELS : 0, fast,
                                     &resp->body);
    cd_story_clear(&st);
}

/* POST /v1/desk/diff?limit=N: the desk text in the body. */
static void desk_diff(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    long limit = limit_arg(req->arg_limit, 20, 1000, resp);
    if (limit < 0 || !authorized(s, req, resp))
        return;
    resp->status = cdi_service_diff(s, req->body ? req->body : "", req->body_len, (size_t)limit,
                                    &resp->body);
}

/* GET /v1/stories?destination=&since=&limit= */
static void stories_list(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    long limit = limit_arg(req->arg_limit, 50, 1000, resp);
    if (limit < 0)
        return;
    double since = 0;
    if (req->arg_since && *req->arg_since &&
        cdi_iso8601_parse(req->arg_since, strlen(req->arg_since), &since) != 0) {
        cdi_http_error(resp, 400, "bad_argument",
                       "since must be an ISO 8601 time such as 2026-12-01T09:00:00Z, got '%.60s'",
                       req->arg_since);
        return;
    }
    const char *dest = req->arg_destination && *req->arg_destination ? req->arg_destination : NULL;
    resp->status = cdi_service_stories(s, dest, since, (size_t)limit, &resp->body);
}

/* ---- the other endpoints ------------------------------------------------------------- */

static void desk_put(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    int apply = flag(req->arg_apply);
    if (apply < 0) {
        cdi_http_error(resp, 400, "bad_argument", "apply must be 1 or 0");
        return;
    }
    if (!authorized(s, req, resp))
        return;
    resp->content_type = JSON;
    resp->status = cdi_service_put_desk(s, req->body ? req->body : "", req->body_len, apply,
                                        &resp->body);
}

static int is_get(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

/* The method is allowed, or a 405 answer. */
static int method(const cd_http_req *req, cd_http_resp *resp, const char *allow)
{
    char m[16];
    snprintf(m, sizeof m, "%s", req->method);
    const char *p = strstr(allow, m);
    size_t n = strlen(m);
    if (n && p && (p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
        return 1;
    if (!strcmp(m, "HEAD") && strstr(allow, "GET"))
        return 1;
    cdi_http_error(resp, 405, "method_not_allowed", "%s %s: allowed: %s", m, req->path, allow);
    resp->allow = allow;
    return 0;
}

void cdi_http_handle(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    const char *path = req->path ? req->path : "";
    const char *cors = cdi_service_get_opts(s)->cors_origin;
    resp->status = 200;
    resp->content_type = JSON;
    if (cors && req->origin && !strcmp(cors, req->origin))
        resp->cors = 1;
    if (!strcmp(req->method, "OPTIONS") && cors) {
        resp->status = 204;
        resp->allow = "GET, HEAD, POST, PUT, OPTIONS";
        return;
    }
    if (!strcmp(path, "/healthz")) {
        if (method(req, resp, "GET"))
            cdi_buf_puts(&resp->body, "{\"status\":\"ok\"}");
    } else if (!strcmp(path, "/readyz")) {
        if (!method(req, resp, "GET"))
            return;
        char redis_why[800];
        if (!cdi_service_ready(s))
            cdi_http_error(resp, 503, "not_ready", "the service is stopping");
        else if (!cdi_stream_health_ready(redis_why, sizeof redis_why))
            cdi_http_error(resp, 503, "not_ready", "%s (retrying)", redis_why);
        else
            cdi_buf_printf(&resp->body, "{\"status\":\"ready\",\"version\":%llu}",
                           (unsigned long long)cdi_service_version(s));
    } else if (!strcmp(path, "/metrics")) {
        if (!method(req, resp, "GET"))
            return;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        cdi_metrics_text(cdi_service_metrics(s), &resp->body, cdi_service_spool_depth(s),
                         cdi_service_held(s),
                         cdi_service_version(s), cdi_service_ready(s));
    } else if (!strcmp(path, "/v1/classify")) {
        if (method(req, resp, "POST"))
            stories(s, req, resp, 0);
    } else if (!strcmp(path, "/v1/route")) {
        if (method(req, resp, "POST"))
            stories(s, req, resp, 1);
    } else if (!strcmp(path, "/v1/desk")) {
        if (!method(req, resp, "GET, PUT"))
            return;
        if (is_get(req->method))
            cdi_service_describe(s, &resp->body);
        else
            desk_put(s, req, resp);
    } else if (!strcmp(path, "/v1/desk/source")) {
        if (!method(req, resp, "GET"))
            return;
        resp->content_type = "text/x-lua; charset=utf-8";
        cdi_service_source(s, &resp->body);
    } else if (!strcmp(path, "/v1/desk/rollback")) {
        if (method(req, resp, "POST") && authorized(s, req, resp))
            resp->status = cdi_service_rollback(s, &resp->body);
    } else if (!strcmp(path, "/v1/desk/diff")) {
        if (method(req, resp, "POST"))
            desk_diff(s, req, resp);
    } else if (!strcmp(path, "/v1/learn")) {
        if (method(req, resp, "POST"))
            learn(s, req, resp);
    } else if (!strcmp(path, "/v1/stories")) {
        if (method(req, resp, "GET"))
            stories_list(s, req, resp);
    } else if (!strncmp(path, "/v1/stories/", 12) && path[12]) {
        if (method(req, resp, "GET"))
            resp->status = cdi_service_story(s, path + 12, &resp->body);
    } else if (cdi_http_history(s, req, resp) || cdi_http_status(s, req, resp)) {
        /* the read-only views of the editor's page, in their own files */
    } else {
        cdi_http_error(resp, 404, "not_found", "no such endpoint: %.200s (see docs/http-api.md)",
                       path);
    }
    if (resp->body.failed)
        cdi_http_error(resp, 500, "internal", "out of memory");
}
