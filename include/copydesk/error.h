/*
 * copydesk/error.h - status codes and error messages shared by every layer.
 */
#ifndef COPYDESK_ERROR_H
#define COPYDESK_ERROR_H

#include <stddef.h>

#include "export.h"

typedef enum cd_status {
    CD_OK = 0,
    CD_ERR_NOMEM,    /* out of memory */
    CD_ERR_IO,       /* a file could not be read or written */
    CD_ERR_FORMAT,   /* input is not in the expected format */
    CD_ERR_CORRUPT,  /* a model file failed its checks */
    CD_ERR_VERSION,  /* a model file of another format version */
    CD_ERR_ARG,      /* a bad argument or option */
    CD_ERR_LIMIT,    /* a documented size limit was exceeded */
    CD_ERR_NET,      /* a network transfer failed */
    CD_ERR_SCRIPT    /* a Lua script failed */
} cd_status;

/* A message for people, filled by the function that failed. */
typedef struct cd_error {
    cd_status code;
    char msg[512];
} cd_error;

/* A short, static description of a status code ("out of memory"). */
CD_API const char *cd_strerror(cd_status code);

/* Fill err (when not NULL) with code and a printf-style message; returns code. */
CD_API cd_status cd_error_set(cd_error *err, cd_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
