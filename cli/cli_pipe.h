/*
 * cli_pipe.h - the story pipeline of classify and route: read in order,
 * work on several threads, write in order.
 *
 *   reader thread    cd_reader_next into a ring of slots, in input order;
 *                    waits while the ring is full or the stories in it
 *                    hold more than CLI_PIPE_BYTES, so memory is bounded
 *                    whatever the length of the input;
 *   N worker threads each takes the oldest story nobody has taken and
 *                    works on it with its own state (a classifier, a desk:
 *                    nothing is shared between workers), writing what is
 *                    to be printed into the slot;
 *   calling thread   emits the slots strictly in input order (a slot is a
 *                    reorder buffer entry), then gives it back to the reader.
 *
 * Read errors take a slot too, so that their messages keep their place.
 * A worker that must act in input order (route delivers: jsonl files are
 * appended in input order) brackets that part with cli_pipe_turn_wait and
 * cli_pipe_turn_done; the stories before it have then passed theirs.
 *
 * With one worker no thread is started: each story is read, worked on and
 * emitted in turn, exactly as a plain loop would.
 */
#ifndef CD_CLI_PIPE_H
#define CD_CLI_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "copydesk.h"
#include "base/json.h"
#include "story/raw.h"

/* Stories (their text) held in the ring at most, unless it holds only one. */
#define CLI_PIPE_BYTES ((size_t)32 << 20)
/* Slots per worker. */
#define CLI_PIPE_SLOTS 32

typedef struct cli_pipe cli_pipe;

typedef struct cli_item {
    uint64_t index;   /* position in the input, from 0 (stories and read errors) */
    uint64_t seq;     /* stories only: position among the stories */
    int rc;           /* CD_READ_STORY, CD_READ_ERROR or CD_READ_WARNING */
    cd_story story;   /* rc == CD_READ_STORY; released after work (threads)
                         or after emit (no threads): emit must not read it */
    cd_error err;     /* rc == CD_READ_ERROR or WARNING: what the reader said */
    cd_raw_story raw; /* a JSON line as read; the worker parses it */
    cd_buf out;       /* written by the worker, for standard output */
    cd_buf msg;       /* written by the worker, for standard error */
    int flags;        /* the command's own marks (a failed story, ...) */
} cli_item;

/* Work on one story (item->rc == CD_READ_STORY), in worker thread i with
 * worker state w.  Never called for read errors. */
typedef void (*cli_work_fn)(void *w, cli_item *item, cli_pipe *p);
/* Emit one item, in input order, on the calling thread. */
typedef void (*cli_emit_fn)(void *ctx, cli_item *item);

/* Run the pipeline over r until its end.  workers[i] is the state of
 * worker i; nworkers >= 1.  ordered: work uses cli_pipe_turn_wait/done.
 * Returns the number of worker threads used (1 when it ran without
 * threads, also when threads could not start).
 *
 * JSON lines are parsed by the workers (cdi_reader_next_raw); a line that
 * does not parse reaches emit as the read error cd_reader_next gives. */
size_t cli_pipe_run(cd_reader *r, void *const *workers, size_t nworkers, int ordered,
                    cli_work_fn work, cli_emit_fn emit, void *ctx);

/* The ordered section of a worker: wait until every story before item has
 * called cli_pipe_turn_done, then, once done, let the next one in.  Each
 * story must call both, once, in that order. */
void cli_pipe_turn_wait(cli_pipe *p, const cli_item *item);
void cli_pipe_turn_done(cli_pipe *p, const cli_item *item);

/* The number of cores online, for --threads' default. */
size_t cli_pipe_cores(void);

/* Parse a --threads value: 1 to 256; 0 when invalid. */
size_t cli_pipe_parse_threads(const char *s);

#endif
