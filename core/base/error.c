/*
 * base/error.c - status codes and the cd_error message buffer.
 */
#include <stdarg.h>
#include <stdio.h>

#include "copydesk/error.h"

const char *cd_strerror(cd_status code)
{
    switch (code) {
    case CD_OK: return "no error";
    case CD_ERR_NOMEM: return "out of memory";
    case CD_ERR_IO: return "input/output error";
    case CD_ERR_FORMAT: return "bad format";
    case CD_ERR_CORRUPT: return "corrupt model file";
    case CD_ERR_VERSION: return "unsupported model format version";
    case CD_ERR_ARG: return "bad argument";
    case CD_ERR_LIMIT: return "size limit exceeded";
    case CD_ERR_NET: return "network error";
    case CD_ERR_SCRIPT: return "script error";
    }
    return "unknown error";
}

cd_status cd_error_set(cd_error *err, cd_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
