/*
 * serve_web.c - the editor's web page of copydesk serve (see serve_web.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "serve/serve_web.h"

#define MAX_FILES 256
#define MAX_FILE_BYTES ((size_t)4 << 20)

typedef struct asset {
    char *name;               /* "app.js" */
    char *data;
    size_t len;
    const char *type;         /* static */
} asset;

struct cd_web {
    char *dir;                /* NULL: no page found */
    char *why;                /* then: where it looked */
    asset *files;
    size_t n;
};

static const struct { const char *ext, *type; } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },   /* module scripts need a JavaScript type */
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
};

/* A plain name (letters, digits, '-', '_', '.', not first) of a known
 * type: the type, else NULL (the file is not served). */
static const char *type_of(const char *name)
{
    if (!name[0] || name[0] == '.')
        return NULL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && !strcmp(name + n - e, types[i].ext))
            return types[i].type;
    }
    return NULL;
}

void cdi_web_free(cd_web *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].name);
        free(w->files[i].data);
    }
    free(w->files);
    free(w->dir);
    free(w->why);
    free(w);
}

const char *cdi_web_dir(const cd_web *w)
{
    return w ? w->dir : NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const asset *)a)->name, ((const asset *)b)->name);
}

/* Read every servable file of dir into w. */
static cd_status read_dir(cd_web *w, const char *dir, cd_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return cd_error_set(err, CD_ERR_IO, "--web %s: %s (the page's files are web/ in the "
                            "source tree, PREFIX/share/copydesk/web once installed)",
                            dir, strerror(errno));
    w->files = calloc(MAX_FILES, sizeof *w->files);
    if (!w->files) {
        closedir(d);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    cd_status st = CD_OK;
    struct dirent *e;
    while (st == CD_OK && (e = readdir(d))) {
        const char *type = type_of(e->d_name);
        if (!type)
            continue;
        if (w->n == MAX_FILES) {
            st = cd_error_set(err, CD_ERR_LIMIT, "--web %s: more than %d files", dir, MAX_FILES);
            break;
        }
        char *path = cdi_path_join(dir, e->d_name);
        struct stat sb;
        if (!path) {
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        } else if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            /* a folder or a dangling link: not a file of the page */
        } else {
            asset *a = &w->files[w->n];
            st = cdi_read_file(path, MAX_FILE_BYTES, &a->data, &a->len, err);
            if (st == CD_OK) {
                a->name = strdup(e->d_name);
                a->type = type;
                if (!a->name) {
                    free(a->data);
                    st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
                } else {
                    w->n++;
                }
            }
        }
        free(path);
    }
    closedir(d);
    if (st != CD_OK)
        return st;
    qsort(w->files, w->n, sizeof *w->files, by_name);
    asset key = { .name = "index.html" };
    if (!bsearch(&key, w->files, w->n, sizeof *w->files, by_name))
        return cd_error_set(err, CD_ERR_ARG, "--web %s: no index.html there (the page's files "
                            "are web/ in the source tree, PREFIX/share/copydesk/web once "
                            "installed)", dir);
    if (!(w->dir = strdup(dir)))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return CD_OK;
}

static void clear_files(cd_web *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].name);
        free(w->files[i].data);
    }
    free(w->files);
    w->files = NULL;
    w->n = 0;
}

/* The folder of the running program, or "" when unknown. */
static void program_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    else
        out[0] = '\0';
}

cd_status cdi_web_open(const char *dir, cd_web **out, cd_error *err)
{
    *out = NULL;
    cd_web *w = calloc(1, sizeof *w);
    if (!w)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    if (dir) {
        cd_status st = read_dir(w, dir, err);
        if (st != CD_OK) {
            cdi_web_free(w);
            return st;
        }
        *out = w;
        return CD_OK;
    }
    char exe[PATH_MAX];
    program_dir(exe, sizeof exe);
    static const char *const rel[] = { "../share/copydesk/web", "../../web" };
    cd_buf why = { 0 };
    cdi_buf_puts(&why, "the web page's files were not found (looked in");
    for (size_t i = 0; exe[0] && i < sizeof rel / sizeof rel[0]; i++) {
        char *cand = cdi_path_join(exe, rel[i]);
        char *real = cand ? realpath(cand, NULL) : NULL;
        cd_error ignored;
        cdi_buf_printf(&why, "%s %s", i ? "," : "", real ? real : cand ? cand : "?");
        int ok = real && read_dir(w, real, &ignored) == CD_OK;
        if (!ok)
            clear_files(w);
        free(real);
        free(cand);
        if (ok) {
            cdi_buf_free(&why);
            *out = w;
            return CD_OK;
        }
    }
    cdi_buf_puts(&why, "): start copydesk serve with --web DIR, DIR being web/ of the source "
                       "tree or PREFIX/share/copydesk/web where tools/install put it");
    w->why = cdi_buf_take(&why, NULL);
    *out = w;
    return CD_OK;
}

const char *cdi_web_csp(const char *content_type)
{
    if (!content_type || strncmp(content_type, "text/html", 9) != 0)
        return NULL;
    return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'";
}

int cdi_web_answer(const cd_web *w, const char *method, const char *path, cd_http_resp *resp)
{
    const char *name;
    if (!strcmp(path, "/") || !strcmp(path, "/index.html"))
        name = "index.html";
    else if (!strncmp(path, "/web/", 5))
        name = path + 5;
    else
        return 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cdi_http_error(resp, 405, "method_not_allowed", "%s %.200s: allowed: GET", method, path);
        resp->allow = "GET, HEAD";
        return 1;
    }
    if (!w || !w->dir) {
        resp->status = 404;
        resp->content_type = "text/plain; charset=utf-8";
        cdi_buf_reset(&resp->body);
        cdi_buf_printf(&resp->body, "copydesk serve: %s\n",
                       w && w->why ? w->why : "the web page's files were not found");
        return 1;
    }
    asset key = { .name = (char *)name };
    const asset *a = bsearch(&key, w->files, w->n, sizeof *w->files, by_name);
    if (!a) {
        cdi_http_error(resp, 404, "not_found", "no such file of the page: %.200s", path);
        return 1;
    }
    resp->status = 200;
    resp->content_type = a->type;
    cdi_buf_reset(&resp->body);
    cdi_buf_put(&resp->body, a->data, a->len);
    if (resp->body.failed)
        cdi_http_error(resp, 500, "internal", "out of memory");
    return 1;
}
