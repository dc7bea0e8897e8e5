/*
 * fuzz_web.c - libFuzzer target: the requests for the editor's web page
 * of copydesk serve (core/serve/serve_web.h) and its read-only views
 * (core/serve/http_history.h, core/serve/http_status.h) on any path.
 *
 * A scratch folder holds a page (index.html, app.js, a hidden file, a
 * folder, a file of no served type) and a state folder (two desk versions,
 * a status.json).  The first byte of an input chooses the method, the rest
 * is the path, as a client may send it (NUL ends it).  Every answer must
 * have a status from 100 to 599 and a type; a page file answered 200 must
 * be one of the page's files, byte for byte, and nothing else ever is
 * (no file outside the page, no hidden file: their contents never appear
 * in an answer); a JSON answer must parse.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "serve/http_history.h"
#include "serve/http_status.h"
#include "serve/serve_web.h"

static char dir[64], web[96], state[96];
static cd_web *w;

static const struct { const char *name, *text; } files[] = {
    { "index.html", "<!doctype html><title>copydesk</title>" },
    { "app.js", "export const x = 1;" },
    { "app.css", "body { color: #000; }" },
    { ".secret.js", "HIDDEN-CONTENT" },
    { "notes.md", "NOT SERVED" },
};

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void cleanup(void)
{
    cdi_web_free(w);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_web: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.40s/fuzzweb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(web, sizeof web, "%s/web", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    char p[200];
    snprintf(p, sizeof p, "%s/desks", state);
    if (mkdir(web, 0755) || mkdir(state, 0755) || mkdir(p, 0755))
        abort();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", web, files[i].name);
        put(p, files[i].text);
    }
    snprintf(p, sizeof p, "%s/sub.js", web);
    if (mkdir(p, 0755))
        abort();
    snprintf(p, sizeof p, "%s/desks/000001.lua", state);
    put(p, "fallback \"review\"\n");
    snprintf(p, sizeof p, "%s/desks/000002.lua", state);
    put(p, "-- two\nfallback \"review\"\n");
    snprintf(p, sizeof p, "%s/status.json", state);
    put(p, "{\"running\":true,\"held\":[]}");
    snprintf(p, sizeof p, "%s/SECRET.js", dir);
    put(p, "OUTSIDE-CONTENT");
    cd_error err;
    if (cdi_web_open(web, &w, &err) != CD_OK) {
        fprintf(stderr, "fuzz_web: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void check(const cd_http_resp *r, const char *path)
{
    if (r->status < 100 || r->status > 599 || !r->content_type || r->body.failed)
        abort();
    /* the content of a file that is not the page's (an answer may echo the path) */
    if (r->body.len && memmem(r->body.data, r->body.len, "-CONTENT", 8) && !strstr(path, "-CONTENT")) {
        fprintf(stderr, "fuzz_web: %s answered a file that is not the page's\n", path);
        abort();
    }
    if (!strcmp(r->content_type, "application/json") && r->body.len) {
        cJSON *j = cJSON_ParseWithLength(r->body.data, r->body.len);
        if (!j)
            abort();
        cJSON_Delete(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE",
                                           "get", "" };
    if (size < 1)
        return 0;
    const char *method = methods[data[0] & 7];
    char *path = strndup((const char *)data + 1, size - 1);
    if (!path)
        return 0;
    cd_http_resp r;
    memset(&r, 0, sizeof r);
    if (cdi_web_answer(w, method, path, &r)) {
        check(&r, path);
        if (r.status == 200) {
            const char *name = !strcmp(path, "/") || !strcmp(path, "/index.html") ? "index.html"
                                                                                   : path + 5;
            size_t i = 0, n = sizeof files / sizeof files[0];
            while (i < n && strcmp(files[i].name, name))
                i++;
            if (i == n || name[0] == '.' || r.body.len != strlen(files[i].text) ||
                memcmp(r.body.data, files[i].text, r.body.len)) {
                fprintf(stderr, "fuzz_web: %s answered what is not the page's file\n", path);
                abort();
            }
        }
    }
    cdi_buf_free(&r.body);
    memset(&r, 0, sizeof r);
    if (cdi_history_answer(state, 2, method, path, &r))
        check(&r, path);
    cdi_buf_free(&r.body);
    memset(&r, 0, sizeof r);
    if (cdi_status_answer(state, method, path, &r))
        check(&r, path);
    cdi_buf_free(&r.body);
    free(path);
    return 0;
}
