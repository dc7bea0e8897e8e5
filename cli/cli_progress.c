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
    double t = now();
    if (t - p->last < 0.1 && fraction < 1 && fraction > 0)
        return;   /* stages report often (every label of every fold) */
    p->last = t;
    p->drawn = 1;
    if (!(fraction >= 0)) fraction = 0;
    if (fraction > 1) fraction = 1;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int full = (int)(fraction * WIDTH + 0.5);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < full ? '#' : ' ';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%-12s [%s] %3.0f%%  %.1f s   ", stage, bar, fraction * 100, t - p->start);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->enabled && p->drawn) {
        fprintf(stderr, "\r%79s\r", "");
        fflush(stderr);
    }
    p->drawn = 0;
}
