/*
 * cli_common.c - helpers shared by the subcommands (see cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "cli.h"
#include "copydesk.h"

void cli_escape(cd_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            cdi_buf_printf(b, "\\x%02x", *p);
        else
            cdi_buf_put(b, (const char *)p, 1);
    }
}

void cli_error(const char *what, const char *fmt, ...)
{
    /* messages quote story ids, titles and Lua errors: one line each,
     * whatever control characters those hold */
    char stack[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    char *msg = stack;
    if (n >= (int)sizeof stack && (msg = malloc((size_t)n + 1)) != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (!msg)
        msg = stack;
    cd_buf b = {0};
    cdi_buf_printf(&b, "copydesk: %s: ", what);
    cli_escape(&b, msg);
    cdi_buf_put(&b, "\n", 1);
    if (!b.failed)
        fwrite(b.data, 1, b.len, stderr);
    cdi_buf_free(&b);
    if (msg != stack)
        free(msg);
}

static void file_sink(void *ud, const char *s, size_t len)
{
    fwrite(s, 1, len, ud);
}

void cli_json_string(FILE *out, const char *str, size_t len)
{
    cdi_json_escape(str, len, file_sink, out);
}

long cli_parse_count(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    return v;
}

int cli_parse_desk_limit(const char *cmd, const char *name, const char *arg,
                         cd_desk_opts *opts)
{
    long v = cli_parse_count(arg);
    if (strcmp(name, "instructions") == 0) {
        if (v < 1000) {
            cli_error(cmd, "--instructions: '%s' is not a number >= 1000", arg);
            return CLI_USAGE;
        }
        opts->instructions = (uint64_t)v;
    } else {
        if (v < (1L << 20)) {
            cli_error(cmd, "--memory: '%s' is not a number of bytes >= 1048576", arg);
            return CLI_USAGE;
        }
        opts->memory = (size_t)v;
    }
    return CLI_OK;
}

int cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}
