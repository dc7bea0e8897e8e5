/*
 * serve_web.h - the editor's web page of copydesk serve: the files of
 * web/ (HTML, CSS, JavaScript modules), read once at start-up and served
 * from memory at / (index.html) and /web/NAME.
 *
 * Only the files read at start-up can be answered: a request names one of
 * them exactly (a flat folder, plain names), so no path a client sends is
 * ever opened, and ../ or an encoded slash simply names no file (404).
 *
 * Where the files are: --web DIR, else beside the program, the first of
 *   PROGRAM_DIR/../share/copydesk/web   (installed by tools/install)
 *   PROGRAM_DIR/../../web               (the build tree: build/CONFIG/copydesk)
 * that holds an index.html.  A --web DIR without index.html stops serve
 * with an error; when the default places hold none, serve runs and / says
 * where it looked and how to point it at the files.
 */
#ifndef CD_SERVE_SERVE_WEB_H
#define CD_SERVE_SERVE_WEB_H

#include "copydesk/error.h"
#include "serve/http_api.h"

typedef struct cd_web cd_web;

/* Read the page's files from dir, or, with dir NULL, from the first
 * default place that has them (none found: a cd_web that answers / with
 * what went wrong).  CD_ERR_IO / CD_ERR_ARG when dir was given and does
 * not hold the page. */
cd_status cdi_web_open(const char *dir, cd_web **out, cd_error *err);
void cdi_web_free(cd_web *w);

/* The folder the files came from, or NULL when none was found. */
const char *cdi_web_dir(const cd_web *w);

/* A request for the page: 1 and resp filled (the caller frees its body);
 * 0 when path is not the page's (an API path). */
int cdi_web_answer(const cd_web *w, const char *method, const char *path, cd_http_resp *resp);

/* The Content-Security-Policy of an answer of this content type: the
 * page's own for HTML (scripts, styles and requests from this origin only,
 * no inline script or style), nothing at all for the rest. */
const char *cdi_web_csp(const char *content_type);

#endif
