/*
 * cli_common.c - helpers shared by the subcommands (see cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "cli.h"
#include "copydesk.h"

void cli_error(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "copydesk: %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void file_sink(void *ud, const char *s, size_t len)
{
    fwrite(s, 1, len, ud);
}

void cli_json_string(FILE *out, const char *str, size_t len)
{
    cd_json_escape(str, len, file_sink, out);
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
