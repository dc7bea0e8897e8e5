/*
 * serve_auth.h - the bearer token of copydesk serve: read from a file,
 * made when serve is given none, and compared in constant time.
 */
#ifndef CD_SERVE_AUTH_H
#define CD_SERVE_AUTH_H

#include <stddef.h>

#include "copydesk/error.h"

/* Read the token of a file (surrounding white space removed).  Refused:
 * an empty token, one shorter than 16 bytes, and a file other users may
 * read.  *out is the caller's. */
cd_status cdi_token_read(const char *path, char **out, cd_error *err);

/* The token of path, made first (32 random bytes, hex, mode 0600) when
 * the file does not exist. */
cd_status cdi_token_make(const char *path, char **out, cd_error *err);

/* 1 when the Authorization header value is "Bearer TOKEN" with this
 * token.  The time taken depends on the lengths only, never on where the
 * first difference is. */
int cdi_token_check(const char *token, const char *authorization);

#endif
