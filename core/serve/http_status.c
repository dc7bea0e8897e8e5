/*
 * http_status.c - GET /v1/status (see http_status.h).  The file is
 * written whole and renamed by watch, so it is read whole or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "serve/http_status.h"

int cdi_http_status(cd_service *s, const cd_http_req *req, cd_http_resp *resp)
{
    return cdi_status_answer(cdi_service_get_opts(s)->state, req->method, req->path, resp);
}

int cdi_status_answer(const char *state, const char *method, const char *path,
                      cd_http_resp *resp)
{
    if (!path || strcmp(path, "/v1/status") != 0)
        return 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cdi_http_error(resp, 405, "method_not_allowed", "%.16s /v1/status: allowed: GET",
                       method);
        resp->allow = "GET";
        return 1;
    }
    char *file = cdi_path_join(state, "status.json");
    char *text = NULL;
    size_t len = 0;
    cd_error err;
    if (!file || cdi_read_file(file, (size_t)16 << 20, &text, &len, &err) != CD_OK) {
        cdi_http_error(resp, 503, "no_status", "the live desk has written no status yet");
    } else {
        resp->status = 200;
        resp->content_type = "application/json";
        cdi_buf_put(&resp->body, text, len);
    }
    free(text);
    free(file);
    return 1;
}
