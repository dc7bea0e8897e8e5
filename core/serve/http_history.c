/*
 * http_history.c - the desk's applied versions (see http_history.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/fs.h"
#include "serve/http_history.h"

#define MAX_LISTED 1000
#define MAX_DESK_TEXT ((size_t)4 << 20)

/* The number of a version file's name "000012.lua", else 0. */
static unsigned long long version_of_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 5 || n > 24 || strcmp(name + n - 4, ".lua") != 0)
        return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(name[i] - '0');
    }
    return v;
}

typedef struct entry {
    unsigned long long version;
    time_t at;
    size_t bytes, lines;
} entry;

static int newest_first(const void *a, const void *b)
{
    unsigned long long x = ((const entry *)a)->version, y = ((const entry *)b)->version;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void list(uint64_t current, const char *dir, cd_http_resp *resp)
{
    entry *e = calloc(MAX_LISTED, sizeof *e);
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (e && d && (de = readdir(d))) {
        unsigned long long v = version_of_name(de->d_name);
        if (!v)
            continue;
        char *path = cdi_path_join(dir, de->d_name);
        char *text = NULL;
        size_t len = 0;
        struct stat sb;
        cd_error err;
        if (path && stat(path, &sb) == 0 &&
            cdi_read_file(path, MAX_DESK_TEXT, &text, &len, &err) == CD_OK) {
            entry cur = { v, sb.st_mtime, len, 0 };
            for (size_t i = 0; i < len; i++)
                cur.lines += text[i] == '\n';
            if (len && text[len - 1] != '\n')
                cur.lines++;
            if (n < MAX_LISTED) {
                e[n++] = cur;
            } else {   /* keep the newest */
                qsort(e, n, sizeof *e, newest_first);
                if (v > e[n - 1].version)
                    e[n - 1] = cur;
            }
        }
        free(text);
        free(path);
    }
    if (d)
        closedir(d);
    if (!e) {
        cdi_http_error(resp, 500, "internal", "out of memory");
        return;
    }
    qsort(e, n, sizeof *e, newest_first);
    cdi_buf_printf(&resp->body, "{\"current\":%llu,\"versions\":[", (unsigned long long)current);
    for (size_t i = 0; i < n; i++) {
        char t[40];
        struct tm tm;
        gmtime_r(&e[i].at, &tm);
        strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cdi_buf_printf(&resp->body, "%s{\"version\":%llu,\"saved_at\":\"%s\",\"bytes\":%zu,"
                       "\"lines\":%zu}", i ? "," : "", e[i].version, t, e[i].bytes, e[i].lines);
    }
    cdi_buf_puts(&resp->body, "]}");
    free(e);
}

static void one(const char *dir, const char *num, cd_http_resp *resp)
{
    char name[32];
    size_t n = strlen(num);
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (num[i] < '0' || num[i] > '9' || i >= 18) {
            cdi_http_error(resp, 404, "not_found", "a version is a number: %.40s", num);
            return;
        }
        v = v * 10 + (unsigned)(num[i] - '0');
    }
    if (!n || !v) {
        cdi_http_error(resp, 404, "not_found", "versions are numbered from 1");
        return;
    }
    snprintf(name, sizeof name, "%06llu.lua", v);
    char *path = cdi_path_join(dir, name);
    char *text = NULL;
    size_t len = 0;
    cd_error err;
    if (!path || cdi_read_file(path, MAX_DESK_TEXT, &text, &len, &err) != CD_OK) {
        cdi_http_error(resp, 404, "not_found", "no desk version %llu", v);
    } else {
        resp->content_type = "text/x-lua; charset=utf-8";
        cdi_buf_put(&resp->body, text, len);
    }
    free(text);
    free(path);
}

int cdi_http_history(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    if (!req->path || strncmp(req->path, "/v1/desk/versions", 17) != 0)
        return 0;   /* the version is asked for only when it is needed */
    return cdi_history_answer(cdi_service_get_opts(s)->state, cdi_service_version(s), req->method,
                              req->path, resp);
}

int cdi_history_answer(const char *state, uint64_t current, const char *method, const char *path,
                       cd_http_resp *resp)
{
    static const char prefix[] = "/v1/desk/versions";
    size_t pl = sizeof prefix - 1;
    if (strncmp(path, prefix, pl) != 0 || (path[pl] && path[pl] != '/'))
        return 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cdi_http_error(resp, 405, "method_not_allowed", "%.16s %.200s: allowed: GET", method,
                       path);
        resp->allow = "GET";
        return 1;
    }
    char *dir = cdi_path_join(state, "desks");
    if (!dir) {
        cdi_http_error(resp, 500, "internal", "out of memory");
        return 1;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    if (!path[pl] || !path[pl + 1])
        list(current, dir, resp);
    else
        one(dir, path + pl + 1, resp);
    free(dir);
    return 1;
}
