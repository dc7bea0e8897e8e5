/*
 * cli_progress.c - progress on a terminal (see cli_progress.h).
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "cli_progress.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_progress_init(cli_progress *p, int quiet)
{
    p->enabled = !quiet && cli_stderr_is_tty();
    p->start = p->last = now();
    p->drawn = 0;
}

double cli_progress_elapsed(const cli_progress *p)
{
    return now() - p->start;
}

void cli_progress_stories(cli_progress *p, const char *what, size_t stories, size_t bytes)
{
    if (!p->enabled)
        return;
    double t = now();
    if (t - p->last < 0.2)
        return;
    p->last = t;
    p->drawn = 1;
    fprintf(stderr, "\r%s: %zu stories, %.1f MB, %.1f s   ", what, stories, bytes / 1e6, t - p->start);
    fflush(stderr);
}

void cli_progress_stage(const char *stage, double fraction, void *ud)
{
    cli_progress *p = ud;
    if (!p || !p->enabled)
        return;
    p->drawn = 1;
    fprintf(stderr, "\r%s: %3.0f%%                              ", stage, fraction * 100);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->enabled && p->drawn) {
        fprintf(stderr, "\r%60s\r", "");
        fflush(stderr);
    }
    p->drawn = 0;
}
