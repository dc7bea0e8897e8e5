/*
 * cli_progress.h - a one-line progress display on stderr, shown only when
 * stderr is a terminal and redrawn at most a few times a second.
 */
#ifndef CD_CLI_PROGRESS_H
#define CD_CLI_PROGRESS_H

#include <stddef.h>

typedef struct cli_progress {
    int enabled;
    double start, last;
    int drawn;
} cli_progress;

void cli_progress_init(cli_progress *p, int quiet);
/* Seconds since cli_progress_init. */
double cli_progress_elapsed(const cli_progress *p);
/* Redraw "what: stories, MB" when enough time has passed. */
void cli_progress_stories(cli_progress *p, const char *what, size_t stories, size_t bytes);
/* A cd_progress_fn: "stage [#####     ] NN%  seconds". */
void cli_progress_stage(const char *stage, double fraction, void *ud);
/* Clear the line, if anything was drawn. */
void cli_progress_done(cli_progress *p);

#endif
