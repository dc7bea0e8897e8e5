/*
 * cli_common.c - helpers shared by the subcommands (see cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "copydesk.h"

void cli_escape(cd_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            cd_buf_printf(b, "\\x%02x", *p);
        else
            cd_buf_put(b, (const char *)p, 1);
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
    cd_buf_printf(&b, "copydesk: %s: ", what);
    cli_escape(&b, msg);
    cd_buf_put(&b, "\n", 1);
    if (!b.failed)
        fwrite(b.data, 1, b.len, stderr);
    cd_buf_free(&b);
    if (msg != stack)
        free(msg);
}

void cli_json_string(FILE *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    putc('"', out);
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t run = i + 1;
            while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
                run++;
            fwrite(s + i, 1, run - i, out);
            i = run;
            continue;
        }
        if (c >= 0x80) {
            size_t n = cd_utf8_seq((const char *)s + i, len - i);
            if (n) {
                fwrite(s + i, 1, n, out);
                i += n;
            } else {
                fputs("\xEF\xBF\xBD", out);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default: fprintf(out, "\\u%04x", c); break;
        }
        i++;
    }
    putc('"', out);
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

int cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}
