/*
 * serve.c - copydesk serve: the service behind libmicrohttpd (see
 * serve.h).
 *
 * libmicrohttpd calls on_request several times per request: once when
 * the head has arrived (the Content-Length is checked against the body
 * limit there, so that a client that sent "Expect: 100-continue" is
 * refused before it sends anything), once per piece of the body (held in
 * a buffer, bounded), and once at the end, when the request is answered.
 * A body that grows past the limit without having announced it (chunked)
 * gets its connection closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "live/watch.h"
#include "serve/http_api.h"
#include "serve/serve.h"
#include "serve/serve_web.h"


typedef struct server {
    const cd_serve_opts *o;
    cd_service *svc;
    cd_web *web;               /* the editor's page (serve_web.h) */
    size_t max_body;
    _Atomic size_t held;       /* request body bytes held, all connections */
} server;

typedef struct req_ctx {
    cd_buf body;
    size_t held;
} req_ctx;

void cdi_serve_opts_default(cd_serve_opts *o)
{
    memset(o, 0, sizeof *o);
    cd_desk_opts_default(&o->service.desk);
    o->service.max_body = CD_MAX_STORY_BYTES;
    o->listen = "127.0.0.1:8080";
    o->max_connections = 512;
    o->timeout_s = 30;
    o->header_bytes = 32 * 1024;
    o->inflight_bytes = (size_t)1 << 30;
}

/* ---- the listening address --------------------------------------------------------- */

typedef struct addr {
    struct sockaddr_storage ss;
    int v6;
    int loopback;
} addr;

static int parse_listen(const char *listen, addr *a)
{
    memset(a, 0, sizeof *a);
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || !colon[1])
        return -1;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || errno || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return -1;
    char host[256];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host)
        return -1;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        a->v6 = 1;
        a->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
    if (!strcasecmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return -1;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    a->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

int cdi_serve_listen_loopback(const char *listen)
{
    addr a;
    if (parse_listen(listen, &a) != 0)
        return -1;
    return a.loopback;
}

/* ---- answering -------------------------------------------------------------------------- */

static enum MHD_Result send_resp(server *sv, struct MHD_Connection *c, cd_http_resp *r,
                                 const char *origin)
{
    struct MHD_Response *m;
    if (r->body.len && !r->body.failed) {
        m = MHD_create_response_from_buffer(r->body.len, r->body.data, MHD_RESPMEM_MUST_FREE);
        if (m)
            r->body.data = NULL;   /* libmicrohttpd frees it */
    } else {
        m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    cdi_buf_free(&r->body);
    if (!m)
        return MHD_NO;
    if (r->content_type && r->status != 204)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
    const char *csp = cdi_web_csp(r->content_type);
    if (csp) {
        MHD_add_response_header(m, "Content-Security-Policy", csp);
        MHD_add_response_header(m, "Referrer-Policy", "no-referrer");
    }
    MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->allow)
        MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->www_authenticate)
        MHD_add_response_header(m, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"copydesk\"");
    if (r->cors && origin) {
        MHD_add_response_header(m, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(m, MHD_HTTP_HEADER_VARY, "Origin");
        if (r->status == 204) {
            MHD_add_response_header(m, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT");
            MHD_add_response_header(m, "Access-Control-Allow-Headers",
                                    "Authorization, Content-Type");
            MHD_add_response_header(m, "Access-Control-Max-Age", "600");
        }
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, m);
    MHD_destroy_response(m);
    cdi_metrics_http(cdi_service_metrics(sv->svc), r->status);
    return ret;
}

static enum MHD_Result send_error(server *sv, struct MHD_Connection *c, int status,
                                  const char *code, const char *msg)
{
    cd_http_resp r = { 0 };
    cdi_http_error(&r, status, code, "%s", msg);
    return send_resp(sv, c, &r, NULL);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int hold(server *sv, req_ctx *r, size_t n)
{
    size_t was = atomic_fetch_add(&sv->held, n);
    r->held += n;
    return was + n <= sv->o->inflight_bytes;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    server *sv = cls;
    req_ctx *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || cl[0] == '-' || n > sv->max_body) {
                char msg[128];
                snprintf(msg, sizeof msg, "a request body is at most %zu bytes", sv->max_body);
                return send_error(sv, c, 413, "too_large", msg);
            }
            if (!hold(sv, r, (size_t)n))
                return send_error(sv, c, 503, "busy",
                                  "too many request bodies held at once: try again");
            /* the body in one allocation, not a doubling series of them */
            if (n && cdi_buf_reserve(&r->body, (size_t)n) != 0)
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->body.len + n > sv->max_body)
            return MHD_NO;   /* announced no length, sent too much: cut off */
        if (r->body.len + n > r->held && !hold(sv, r, r->body.len + n - r->held))
            return MHD_NO;
        cdi_buf_put(&r->body, upload, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    cd_http_req req = {
        .method = method,
        .path = url,
        .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
        .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
        .origin = header(c, "Origin"),
        .arg_explain = arg(c, "explain"),
        .arg_dry_run = arg(c, "dry_run"),
        .arg_apply = arg(c, "apply"),
        .arg_id = arg(c, "id"),
        .arg_model = arg(c, "model"),
        .arg_new_label = arg(c, "new_label"),
        .arg_fast = arg(c, "fast"),
        .arg_limit = arg(c, "limit"),
        .arg_destination = arg(c, "destination"),
        .arg_since = arg(c, "since"),
        .body = r->body.data ? r->body.data : "",
        .body_len = r->body.len,
    };
    cd_http_resp resp = { 0 };
    if (!cdi_web_answer(sv->web, method, url, &resp))
        cdi_http_handle(sv->svc, &req, &resp);
    return send_resp(sv, c, &resp, req.origin);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    server *sv = cls;
    req_ctx *r = *con_cls;
    if (!r)
        return;
    atomic_fetch_sub(&sv->held, r->held);
    cdi_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *sv = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    cdi_service_log(sv->svc, "http-error", "error", msg, NULL);
}

/* ---- the main loop ------------------------------------------------------------------------ */

/* Watch reloaded its desk (the file, a module or a model changed, or
 * SIGHUP): the HTTP threads' copies follow. */
static void on_watch_reload(void *ud, int ok, const char *msg)
{
    if (ok)
        cdi_service_reload(ud, 1, "the desk changed");
    else
        cdi_service_reload_failed(ud, "the desk changed", msg);
}

/* A story routed by watch (inbox, feeds): counted with those from HTTP. */
static void on_watch_story(void *ud, const cd_decision *dec, double seconds)
{
    cdi_metrics_decision(cdi_service_metrics(ud), dec, 1, seconds);
}

int cdi_serve_run(const cd_serve_opts *o, cd_error *err)
{
    addr a;
    if (parse_listen(o->listen, &a) != 0) {
        cd_error_set(err, CD_ERR_ARG, "--listen %s: expected HOST:PORT (127.0.0.1:8080, [::1]:8080)",
                     o->listen ? o->listen : "(none)");
        return 2;
    }
    unsigned threads = o->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    /* blocked before any thread starts, so that they all inherit it and
     * only watch's signalfd sees them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    cd_service_opts so = o->service;
    so.desks = threads + 1;
    server sv = { o, NULL, NULL, so.max_body ? so.max_body : CD_MAX_STORY_BYTES, 0 };
    if (cdi_web_open(o->web, &sv.web, err) != CD_OK)
        return 2;
    if (cdi_service_open(&so, &sv.svc, err) != CD_OK) {
        cdi_web_free(sv.web);
        return 2;
    }
    /* TURBO: read, write and accept before asking epoll, which mostly succeeds */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
                     MHD_USE_ERROR_LOG | (a.v6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &sv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, &sv,   /* first, or some go to stderr */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->header_bytes,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &sv,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_END);
    if (!d) {
        cd_error_set(err, CD_ERR_NET, "cannot listen on %s: %s", o->listen,
                     errno ? strerror(errno) : "libmicrohttpd refused the settings");
        cdi_service_free(sv.svc);
        cdi_web_free(sv.web);
        return 2;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char where[300], nthreads[16];
    char host[INET6_ADDRSTRLEN] = "?";
    if (a.v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a.ss)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&a.ss)->sin_addr, host, sizeof host);
    snprintf(where, sizeof where, a.v6 ? "[%s]:%u" : "%s:%u", host,
             info ? (unsigned)info->port : 0);
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    char version[32];
    snprintf(version, sizeof version, "%llu", (unsigned long long)cdi_service_version(sv.svc));
    cdi_service_log(sv.svc, "listen", "address", where, "config", so.config, "state", so.state,
                    "threads", nthreads, "desk_version", version, NULL);
    if (cdi_web_dir(sv.web)) {
        char page[320];
        snprintf(page, sizeof page, "http://%s/", where);
        cdi_service_log(sv.svc, "web", "page", page, "files", cdi_web_dir(sv.web), NULL);
    } else {
        cdi_service_log(sv.svc, "web-missing", "error",
                        "the web page's files were not found: give --web DIR", NULL);
    }

    /* this thread: the live desk of watch (inbox, feeds, hot reload, the
     * spool's draining) until SIGTERM or SIGINT */
    cd_watch_opts wo;
    memset(&wo, 0, sizeof wo);
    wo.config = so.config;
    wo.inbox = o->inbox;
    wo.state = so.state;
    wo.desk = o->service.desk;
    wo.json_log = o->json_log;
    wo.consumer = o->consumer;
    wo.log = so.log;
    wo.on_reload = on_watch_reload;
    wo.on_story = on_watch_story;
    wo.on_reload_ud = sv.svc;
    wo.shared_archive = cdi_service_archive(sv.svc);
    wo.shared_held = cdi_service_held_store(sv.svc);
    wo.no_archive = 1;   /* without the service's, none (it said why) */
    int rc = cdi_watch_run(&wo, err);
    cdi_service_set_ready(sv.svc, 0);
    MHD_stop_daemon(d);   /* requests in flight finish first */
    char depth[32];
    snprintf(depth, sizeof depth, "%llu", (unsigned long long)cdi_service_spool_depth(sv.svc));
    cdi_service_log(sv.svc, "http-stop", "spooled", depth, NULL);
    cdi_service_free(sv.svc);
    cdi_web_free(sv.web);
    return rc;
}
