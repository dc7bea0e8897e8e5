/*
 * http_api.h - the requests copydesk serve answers, apart from any socket:
 * a request (method, path, the few headers and query arguments that
 * matter, the body) in, a status, a content type and a body out.
 * core/serve/serve.c feeds it from libmicrohttpd; tests/fuzz/fuzz_http.c
 * feeds it any bytes.  The API is in docs/http-api.md.
 */
#ifndef CD_SERVE_HTTP_API_H
#define CD_SERVE_HTTP_API_H

#include <stddef.h>

#include "base/buf.h"
#include "base/json.h"
#include "serve/service.h"

typedef struct cd_http_req {
    const char *method;           /* "GET", "POST", ... */
    const char *path;             /* without the query: "/v1/classify" */
    const char *content_type;     /* header values, NULL when absent */
    const char *authorization;
    const char *origin;
    const char *arg_explain;      /* query arguments, NULL when absent */
    const char *arg_dry_run;
    const char *arg_apply;
    const char *arg_id;
    const char *arg_model;        /* learn */
    const char *arg_new_label;
    const char *arg_fast;
    const char *arg_limit;        /* stories, desk/diff */
    const char *arg_destination;  /* stories */
    const char *arg_since;
    const char *body;             /* body_len bytes (any bytes) */
    size_t body_len;
} cd_http_req;

typedef struct cd_http_resp {
    int status;
    const char *content_type;     /* static string */
    const char *allow;            /* Allow header (405, OPTIONS), static, or NULL */
    int www_authenticate;         /* 401: add WWW-Authenticate: Bearer */
    int cors;                     /* add the CORS headers for the configured origin */
    cd_buf body;                  /* the caller frees */
} cd_http_resp;

/* Answer one request.  Never fails: errors are answers
 * {"error":{"code":..,"message":..}} with their status. */
void cdi_http_handle(cd_service *s, const cd_http_req *req, cd_http_resp *resp);

/* Fill resp with an error answer. */
void cdi_http_error(cd_http_resp *resp, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
