/*
 * fuzz_http.c - libFuzzer target: the request handler of copydesk serve
 * (core/serve/http_api.h) on any request, without a socket.
 *
 * The service runs in a scratch folder (the current directory is moved
 * there, so that deliveries land in it) with a tiny model trained at
 * start-up and a desk that has folder destinations and an expect case.
 * The first four bytes of an input choose the method, the path, the
 * content type and the query arguments (explain, dry_run, apply, limit,
 * since, destination, model, new_label; and no, a wrong or the right
 * bearer token); the rest is the body.  Learn, the desk diff and the
 * stories of the archive (which routes with delivery fill) are in reach.  Every answer must
 * have a status from 100 to 599, and a JSON answer must parse (JSON lines
 * line by line).  Desk writes (PUT ?apply=1, rollback) are in reach, so
 * the desk the service runs changes as the fuzzer goes: as in real life.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "serve/http_api.h"
#include "serve/service.h"

static char dir[64];
static cd_service *svc;

#define TOKEN "fuzz-token-0123456789abcdef"

static const struct { const char *text, *label; } train[] = {
    { "Tariffs on steel imports rise as the trade dispute deepens", "trade" },
    { "Exporters fear the trade rift and new tariffs", "trade" },
    { "The striker scored twice and the club won the cup", "sport" },
    { "The goalkeeper saved a penalty in the final", "sport" },
};

static const char DESK[] =
    "model(\"m\", \"m.cdm\")\n"
    "taxonomy { { id = \"trade\", name = \"Trade\", labels = { \"trade\" }, keywords = { \"tariff*\" } },\n"
    "           { id = \"sport\", name = \"Sport\", labels = { \"sport\" } } }\n"
    "destination \"trade\" { folder = \"out/trade\" }\n"
    "destination \"other\" { jsonl = \"out/other.jsonl\" }\n"
    "rule(\"trade\", function(story) if story:topic(\"trade\") > 0.5 then return \"trade\" end end)\n"
    "fallback \"other\"\n"
    "expect { title = \"Tariffs rise\", body = \"steel tariffs and trade\", route = \"trade\" }\n";

static void cleanup(void)
{
    cdi_service_free(svc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.40s/fuzzhttp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir) || chdir(dir) != 0)
        abort();
    cd_trainer *t;
    cd_error err;
    if (cd_trainer_new(NULL, NULL, &t, &err) != CD_OK)
        abort();
    for (size_t i = 0; i < sizeof train / sizeof train[0]; i++)
        cd_trainer_add(t, train[i].text, strlen(train[i].text), &train[i].label, 1, &err);
    if (cd_trainer_save(t, "m.cdm", NULL, NULL, &err) != CD_OK)
        abort();
    cd_trainer_free(t);
    FILE *f = fopen("desk.lua", "w");
    if (!f || fputs(DESK, f) < 0 || fclose(f) != 0)
        abort();
    cd_service_opts o;
    memset(&o, 0, sizeof o);
    cd_desk_opts_default(&o.desk);
    o.desk.instructions = 20000;
    o.desk.memory = (size_t)8 << 20;
    o.desk.seconds = 0.5;
    o.desk.scripts_dir = ".";
    o.config = "desk.lua";
    o.state = "state";
    o.desks = 1;
    o.max_body = 1 << 20;
    o.token = TOKEN;
    o.cors_origin = "https://cms.example";
    o.quiet = 1;
    if (cdi_service_open(&o, &svc, &err) != CD_OK) {
        fprintf(stderr, "fuzz_http: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void check_json(const char *s, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (!j) {
        fprintf(stderr, "fuzz_http: not JSON: %.*s\n", (int)(n > 300 ? 300 : n), s);
        abort();
    }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE",
                                           "PATCH", "" };
    static const char *const paths[] = { "/v1/classify", "/v1/route", "/v1/desk",
                                         "/v1/desk/source", "/v1/desk/rollback", "/metrics",
                                         "/healthz", "/readyz", "/v1/learn", "/", "", "/v1//desk",
                                         "/v1/classify/", "/V1/CLASSIFY", "/v1/route?x", "/%00",
                                         "/v1/desk/diff", "/v1/stories", "/v1/stories/fuzz",
                                         "/v1/stories/", "/v1/stories/%22", "/v1/learn", "/v1/learn",
                                         "/v1/desk/diff", "/v1/stories", "/v1/route", "/v1/route",
                                         "/v1/classify", "/v1/stories/x/y", "/v1/desk", "/metrics",
                                         "/v1/stories/s" };
    static const char *const types[] = { NULL, "application/json", "text/plain",
                                         "application/x-ndjson", "application/json; charset=utf-8",
                                         "text/html", "", "application/jsonl" };
    static const char *const flags[] = { NULL, "1", "0", "true", "maybe" };
    static const char *const limits[] = { NULL, "1", "0", "1000" };
    static const char *const sinces[] = { NULL, "2026-01-01T00:00:00Z", "yesterday", "" };
    static const char *const auths[] = { NULL, "Bearer " TOKEN, "Bearer wrong", "Basic x" };
    if (size < 4)
        return 0;
    cd_http_req req = {
        .method = methods[data[0] & 7],
        .path = paths[data[1] & 31],
        .content_type = types[data[2] & 7],
        .authorization = auths[(data[3] >> 6) & 3],
        .origin = (data[3] & 32) ? "https://cms.example" : NULL,
        .arg_explain = flags[(data[3] & 3) % 5],
        .arg_dry_run = flags[((data[3] >> 2) & 3) % 5],
        .arg_apply = (data[3] & 16) ? "1" : NULL,
        .arg_id = (data[2] & 8) ? "fuzz" : NULL,
        .arg_limit = limits[(data[2] >> 4) & 3],
        .arg_since = sinces[(data[2] >> 6) & 3],
        .arg_destination = (data[2] & 8) ? "trade" : NULL,
        .arg_model = (data[3] & 16) ? ((data[3] & 1) ? "m" : "nope") : NULL,
        .arg_new_label = flags[((data[3] >> 2) & 3) % 5],
        .arg_fast = "1",
        .body = (const char *)data + 4,
        .body_len = size - 4,
    };
    cd_http_resp resp;
    memset(&resp, 0, sizeof resp);
    cdi_http_handle(svc, &req, &resp);
    if (resp.status < 100 || resp.status > 599 || !resp.content_type || resp.body.failed)
        abort();
    if (!strcmp(resp.content_type, "application/json") && resp.body.len)
        check_json(resp.body.data, resp.body.len);
    if (!strcmp(resp.content_type, "application/x-ndjson") && resp.body.len) {
        const char *p = resp.body.data, *end = p + resp.body.len;
        while (p && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                abort();   /* every answer line ends */
            check_json(p, (size_t)(nl - p));
            p = nl + 1;
        }
    }
    cdi_buf_free(&resp.body);
    return 0;
}
