/*
 * http_status.h - GET /v1/status: what the live desk running beside HTTP
 * reports (its status.json in the state folder, as `copydesk watch
 * --status` reads it): stories per destination, the spool's queues, the
 * stories held and until when, the feeds, the last reload, errors.  For
 * the editor's page; read-only, no token.
 */
#ifndef CD_SERVE_HTTP_STATUS_H
#define CD_SERVE_HTTP_STATUS_H

#include "serve/http_api.h"

/* 1 and resp filled when req is GET /v1/status, else 0. */
int cdi_http_status(cd_service *s, const cd_http_req *req, cd_http_resp *resp);

/* The same on the state folder state (for the fuzz target). */
int cdi_status_answer(const char *state, const char *method, const char *path,
                      cd_http_resp *resp);

#endif
