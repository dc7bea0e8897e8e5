/*
 * http_history.h - the applied versions of the desk, read-only, for the
 * editor's page:
 *
 *   GET /v1/desk/versions     {"current":N,"versions":[{"version":1,
 *                              "saved_at":"...","bytes":..,"lines":..},...]}
 *                             newest first, from the state folder's desks/
 *   GET /v1/desk/versions/N   that version's Lua text
 *
 * (Versions are written by core/serve/service.c; rollback is POST
 * /v1/desk/rollback.)
 */
#ifndef CD_SERVE_HTTP_HISTORY_H
#define CD_SERVE_HTTP_HISTORY_H

#include <stdint.h>

#include "serve/http_api.h"

/* 1 and resp filled when req is one of these paths, else 0. */
int cdi_http_history(cd_service *s, const cd_http_req *req, cd_http_resp *resp);

/* The same on the state folder state, current being the running version
 * (for the fuzz target, which has no service). */
int cdi_history_answer(const char *state, uint64_t current, const char *method, const char *path,
                       cd_http_resp *resp);

#endif
