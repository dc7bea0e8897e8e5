/*
 * cli.h - the copydesk command line: one function per subcommand, and the
 * few helpers they share (error messages, exit codes, JSON string output).
 *
 * Every subcommand parses its own options with getopt_long, answers
 * --help on stdout, writes results to stdout and errors to stderr as
 * "copydesk: <what>: <why>".
 */
#ifndef CD_CLI_H
#define CD_CLI_H

#include <stdio.h>
#include <stddef.h>

#include "copydesk.h"
#include "base/buf.h"

enum {
    CLI_OK = 0,       /* success */
    CLI_PARTIAL = 1,  /* a story or input failed, the others went on */
    CLI_USAGE = 2     /* usage or configuration error */
};

int cli_train(int argc, char **argv);
int cli_train_seeded(int argc, char **argv);   /* train --seeds */
int cli_learn(int argc, char **argv);
int cli_classify(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_tokens(int argc, char **argv);
int cli_model(int argc, char **argv);
int cli_route(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_watch(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_status(int argc, char **argv);

/* Append s to b with control characters as \xNN: story fields in a line
 * meant for people never break it or forge another. */
void cli_escape(cd_buf *b, const char *s);

/* "copydesk: <what>: <why>" on stderr, control characters escaped. */
void cli_error(const char *what, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Write s (len bytes) as a JSON string literal, quotes included.  Invalid
 * UTF-8 bytes become U+FFFD so that the output is always valid JSON. */
void cli_json_string(FILE *out, const char *s, size_t len);

/* Parse a non-negative integer option value; returns -1 when invalid. */
long cli_parse_count(const char *s);

/* The desk limits that route and watch take: name is "instructions" (at
 * least 1000) or "memory" (bytes, at least 1 MiB).  Sets the field of
 * opts, or says what is wrong (as cmd) and returns CLI_USAGE. */
int cli_parse_desk_limit(const char *cmd, const char *name, const char *arg,
                         cd_desk_opts *opts);

/* Non-zero when stderr is a terminal (progress is shown only then). */
int cli_stderr_is_tty(void);

#endif
