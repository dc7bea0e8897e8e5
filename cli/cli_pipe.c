/*
 * cli_pipe.c - read in order, work on several threads, write in order
 * (see cli_pipe.h).
 *
 * The ring holds items head..tail-1 (indexes grow forever; slot = index
 * modulo the ring size).  One mutex guards the counters and every slot's
 * state; the reader fills a free slot and a worker works on a taken one
 * without holding it, since nobody else touches a slot in those states.
 *
 *   FREE -> (reader) READY -> (a worker) BUSY -> DONE -> (emitter) FREE
 *   FREE -> (reader, a read error) DONE
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_pipe.h"

enum { S_FREE = 0, S_READY, S_BUSY, S_DONE };

typedef struct slot {
    cli_item item;
    int state;
    size_t bytes;      /* counted against CLI_PIPE_BYTES */
} slot;

struct cli_pipe {
    cd_reader *reader;
    cli_work_fn work;
    int ordered;
    size_t nworkers;
    slot *ring;
    size_t nslots;

    pthread_mutex_t mu;
    pthread_cond_t can_read;   /* reader: a slot was given back */
    pthread_cond_t can_work;   /* workers: a story is ready, or the end */
    pthread_cond_t can_emit;   /* emitter: an item is done, or the end */
    pthread_mutex_t turn_mu;   /* the ordered section's own lock and wake-up */
    pthread_cond_t turn;       /* workers: the ordered section moved on */
    atomic_size_t turn_sleepers; /* workers asleep (or falling asleep) on turn */
    uint64_t head;             /* oldest item not yet emitted */
    uint64_t tail;             /* next item the reader fills */
    uint64_t next_work;        /* oldest item no worker has taken */
    uint64_t stories;          /* stories read: the next one's seq */
    _Atomic uint64_t turn_seq; /* the story whose ordered section is next */
    uint64_t ndone;            /* items done, not yet emitted */
    size_t bytes;              /* story bytes in the ring */
    int eof;                   /* the reader is done */
    int stop;                  /* the workers may leave */
    int reader_waiting, emitter_waiting;
    size_t workers_waiting;
};

size_t cli_pipe_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (size_t)n;
}

size_t cli_pipe_parse_threads(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return 0;
    unsigned long v = strtoul(s, &end, 10);
    return *end || v < 1 || v > 256 ? 0 : (size_t)v;
}

static size_t story_bytes(const cd_story *s)
{
    return s->title_len + s->body_len + (s->meta_json ? strlen(s->meta_json) : 0) + 256;
}

/* Release what an emitted item holds; keep its buffers unless one story
 * made them large. */
static void item_recycle(cli_item *it)
{
    cd_story_clear(&it->story);
    if (it->out.cap > ((size_t)1 << 20))
        cdi_buf_free(&it->out);
    if (it->msg.cap > ((size_t)1 << 20))
        cdi_buf_free(&it->msg);
    cdi_buf_reset(&it->out);
    cdi_buf_reset(&it->msg);
    it->flags = 0;
    it->rc = 0;
}

static void item_free(cli_item *it)
{
    cd_story_clear(&it->story);
    cdi_raw_story_free(&it->raw);
    cdi_buf_free(&it->out);
    cdi_buf_free(&it->msg);
}

/* ---- without threads ----------------------------------------------------- */

static void run_inline(cd_reader *r, void *w, cli_work_fn work, cli_emit_fn emit, void *ctx)
{
    cli_item it;
    memset(&it, 0, sizeof it);
    int rc;
    uint64_t index = 0, seq = 0;
    while ((rc = cd_reader_next(r, &it.story, &it.err)) != CD_READ_END) {
        it.rc = rc;
        it.index = index++;
        if (rc == CD_READ_STORY) {
            it.seq = seq++;
            work(w, &it, NULL);
        }
        emit(ctx, &it);
        item_recycle(&it);
    }
    item_free(&it);
}

/* ---- the threads --------------------------------------------------------- */

/* Every thread takes the lock once per batch of items, not per item, and
 * wakes another only when there is a batch for it (half a ring), or at
 * the end: a wake-up is a context switch, and a lock handed between
 * threads on two cores is a sleep.  The emitter also looks every
 * EMIT_WAIT_MS, so that slow input (a pipe fed story by story) is never
 * kept waiting for a batch. */
#define EMIT_WAIT_MS 20
#define READ_BATCH 16
#define WORK_BATCH 8

static int reader_may_go(const cli_pipe *p)
{
    return p->tail == p->head ||
           (p->tail - p->head < p->nslots && p->bytes < CLI_PIPE_BYTES);
}

static int emitter_may_go(const cli_pipe *p)
{
    if (p->head == p->tail)
        return p->eof;
    if (p->ring[p->head % p->nslots].state != S_DONE)
        return 0;
    /* a batch: half a ring, or half of what stops the reader */
    return p->eof || p->ndone >= p->nslots / 2 ||
           (p->reader_waiting && p->ndone * 2 >= p->tail - p->head);
}

/* Signals are sent with the lock released (a thread woken under it
 * would only sleep again on the lock), once: the flag is cleared by the
 * one who wakes the sleeper. */
static int wake_emitter(cli_pipe *p)
{
    if (!p->emitter_waiting || !emitter_may_go(p))
        return 0;
    p->emitter_waiting = 0;
    return 1;
}

static void *reader_main(void *arg)
{
    cli_pipe *p = arg;
    int end = 0;
    pthread_mutex_lock(&p->mu);
    while (!end) {
        while (!reader_may_go(p)) {
            p->reader_waiting = 1;
            if (wake_emitter(p)) {
                pthread_mutex_unlock(&p->mu);
                pthread_cond_signal(&p->can_emit);
                pthread_mutex_lock(&p->mu);
                continue;
            }
            pthread_cond_wait(&p->can_read, &p->mu);
        }
        p->reader_waiting = 0;
        /* the free slots are the reader's alone: fill a batch unlocked */
        uint64_t room = p->nslots - (p->tail - p->head), k = 0;
        size_t bytes = p->bytes;
        uint64_t tail = p->tail;
        pthread_mutex_unlock(&p->mu);

        for (; k < room && k < READ_BATCH && (k == 0 || bytes < CLI_PIPE_BYTES); k++) {
            slot *s = &p->ring[(tail + k) % p->nslots];
            cli_item *it = &s->item;
            int rc = cdi_reader_next_raw(p->reader, &it->story, &it->raw, &it->err);
            if (rc == CD_READ_END) {
                end = 1;
                break;
            }
            it->rc = rc;
            s->bytes = rc == CD_READ_STORY ? story_bytes(&it->story)
                     : rc == CD_READ_RAW ? it->raw.len * 2 + 256 : 0;
            bytes += s->bytes;
        }

        pthread_mutex_lock(&p->mu);
        for (uint64_t i = 0; i < k; i++) {
            slot *s = &p->ring[p->tail % p->nslots];
            s->item.index = p->tail++;
            p->bytes += s->bytes;
            if (s->item.rc == CD_READ_STORY || s->item.rc == CD_READ_RAW) {
                s->item.seq = p->stories++;
                s->state = S_READY;
            } else {
                s->state = S_DONE;
                p->ndone++;
            }
        }
        if (end)
            p->eof = 1;
        int work = p->workers_waiting > 0, emit = wake_emitter(p);
        if (work || emit || end) {
            pthread_mutex_unlock(&p->mu);
            if (work || end)
                pthread_cond_broadcast(&p->can_work);
            if (emit || end)
                pthread_cond_signal(&p->can_emit);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

typedef struct worker_arg {
    cli_pipe *p;
    void *w;
} worker_arg;

/* Parse a raw line, then work on the story.  A line that does not parse
 * becomes a read error; in an ordered run it still passes its turn. */
static void work_one(cli_pipe *p, void *w, cli_item *it)
{
    if (it->rc == CD_READ_RAW) {
        it->rc = cdi_raw_story_parse(&it->raw, &it->story, &it->err);
        if (it->raw.cap > ((size_t)1 << 20))
            cdi_raw_story_free(&it->raw);
        if (it->rc != CD_READ_STORY) {
            if (p->ordered) {
                cli_pipe_turn_wait(p, it);
                cli_pipe_turn_done(p, it);
            }
            return;
        }
    }
    p->work(w, it, p);
    /* freed where it was allocated: a free from another thread contends
     * for the worker's malloc arena */
    cd_story_clear(&it->story);
}

static void *worker_main(void *arg)
{
    cli_pipe *p = ((worker_arg *)arg)->p;
    void *w = ((worker_arg *)arg)->w;
    /* an ordered run takes one story at a time: a batch would hold the
     * stories after it back from their turns */
    size_t most = p->ordered ? 1 : p->nslots / (4 * p->nworkers);
    if (most > WORK_BATCH)
        most = WORK_BATCH;
    if (most < 1)
        most = 1;
    slot *mine[WORK_BATCH];
    pthread_mutex_lock(&p->mu);
    for (;;) {
        size_t k = 0;
        while (k < most && p->next_work < p->tail) {
            slot *s = &p->ring[p->next_work++ % p->nslots];
            if (s->state == S_READY) {   /* read errors are born done */
                s->state = S_BUSY;
                mine[k++] = s;
            }
        }
        if (k > 0) {
            pthread_mutex_unlock(&p->mu);
            for (size_t i = 0; i < k; i++)
                work_one(p, w, &mine[i]->item);
            pthread_mutex_lock(&p->mu);
            for (size_t i = 0; i < k; i++)
                mine[i]->state = S_DONE;
            p->ndone += k;
            if (wake_emitter(p)) {
                pthread_mutex_unlock(&p->mu);
                pthread_cond_signal(&p->can_emit);
                pthread_mutex_lock(&p->mu);
            }
            continue;
        }
        if (p->stop)
            break;
        p->workers_waiting++;
        pthread_cond_wait(&p->can_work, &p->mu);
        p->workers_waiting--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The ordered section is passed from story to story, one worker to
 * another, thousands of times a second: under the ring's lock, with a
 * sleep and a wake-up for each, the workers spent their time in futex
 * calls (2 per story) and in the lock's contention with the reader and
 * the emitter.  It has a lock of its own; a worker whose turn is near
 * looks for it a little while (the section before it is a link(2) or an
 * append: tens of microseconds) before it sleeps; and the one passing
 * it wakes nobody when nobody sleeps.  turn_seq and turn_sleepers are
 * sequentially consistent: a worker going to sleep counts itself before
 * it looks at turn_seq again, the one passing the turn stores turn_seq
 * before it looks at the count, so one of them sees the other. */
#define TURN_SPIN_NS 50000L

/* A spinning core's hint to the processor (no sched_yield: on a busy
 * machine it hands the core to another process for a whole slice). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int turn_reached(cli_pipe *p, uint64_t seq)
{
    return atomic_load(&p->turn_seq) == seq;
}

void cli_pipe_turn_wait(cli_pipe *p, const cli_item *item)
{
    if (!p)
        return;
    if (turn_reached(p, item->seq))
        return;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1;; i++) {
        if (turn_reached(p, item->seq))
            return;
        cpu_relax();
        if (i % 64 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > TURN_SPIN_NS)
                break;
        }
    }
    pthread_mutex_lock(&p->turn_mu);
    atomic_fetch_add(&p->turn_sleepers, 1);
    while (!turn_reached(p, item->seq))
        pthread_cond_wait(&p->turn, &p->turn_mu);
    atomic_fetch_sub(&p->turn_sleepers, 1);
    pthread_mutex_unlock(&p->turn_mu);
}

void cli_pipe_turn_done(cli_pipe *p, const cli_item *item)
{
    if (!p)
        return;
    atomic_store(&p->turn_seq, item->seq + 1);
    if (atomic_load(&p->turn_sleepers) == 0)
        return;
    /* a sleeper holds turn_mu from counting itself until it sleeps */
    pthread_mutex_lock(&p->turn_mu);
    pthread_cond_broadcast(&p->turn);
    pthread_mutex_unlock(&p->turn_mu);
}

/* The calling thread: emit in order until the reader is done and the
 * ring is empty. */
static void emit_all(cli_pipe *p, cli_emit_fn emit, void *ctx)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t k = 0;
        while (p->head + k < p->tail && p->ring[(p->head + k) % p->nslots].state == S_DONE)
            k++;
        if (k > 0) {
            /* done slots are the emitter's alone: emit them unlocked */
            uint64_t head = p->head;
            pthread_mutex_unlock(&p->mu);
            size_t bytes = 0;
            for (uint64_t i = 0; i < k; i++) {
                slot *s = &p->ring[(head + i) % p->nslots];
                emit(ctx, &s->item);
                item_recycle(&s->item);
                bytes += s->bytes;
                s->bytes = 0;
            }
            pthread_mutex_lock(&p->mu);
            for (uint64_t i = 0; i < k; i++)
                p->ring[(head + i) % p->nslots].state = S_FREE;
            p->head += k;
            p->ndone -= k;
            p->bytes -= bytes;
            if (p->reader_waiting && (p->head == p->tail ||
                    (p->tail - p->head <= p->nslots / 2 && p->bytes <= CLI_PIPE_BYTES / 2))) {
                p->reader_waiting = 0;
                pthread_mutex_unlock(&p->mu);
                pthread_cond_signal(&p->can_read);
                pthread_mutex_lock(&p->mu);
            }
            continue;
        }
        if (p->eof && p->head == p->tail)
            break;
        /* the reader must not wait for a batch that can never come */
        if (p->reader_waiting && reader_may_go(p)) {
            p->reader_waiting = 0;
            pthread_mutex_unlock(&p->mu);
            pthread_cond_signal(&p->can_read);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += EMIT_WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        p->emitter_waiting = 1;
        pthread_cond_timedwait(&p->can_emit, &p->mu, &until);
        p->emitter_waiting = 0;
    }
    pthread_mutex_unlock(&p->mu);
}

static int pipe_init(cli_pipe *p, size_t nworkers)
{
    p->nslots = nworkers * CLI_PIPE_SLOTS;
    p->ring = calloc(p->nslots, sizeof *p->ring);
    if (!p->ring)
        return -1;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->ring);
        return -1;
    }
    pthread_cond_init(&p->can_read, NULL);
    pthread_cond_init(&p->can_work, NULL);
    pthread_cond_init(&p->can_emit, NULL);
    pthread_mutex_init(&p->turn_mu, NULL);
    pthread_cond_init(&p->turn, NULL);
    atomic_init(&p->turn_seq, 0);
    atomic_init(&p->turn_sleepers, 0);
    return 0;
}

static void pipe_destroy(cli_pipe *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        item_free(&p->ring[i].item);
    free(p->ring);
    pthread_cond_destroy(&p->can_read);
    pthread_cond_destroy(&p->can_work);
    pthread_cond_destroy(&p->can_emit);
    pthread_cond_destroy(&p->turn);
    pthread_mutex_destroy(&p->turn_mu);
    pthread_mutex_destroy(&p->mu);
}

static void stop_workers(cli_pipe *p, pthread_t *tids, size_t n)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->can_work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
}

size_t cli_pipe_run(cd_reader *r, void *const *workers, size_t nworkers, int ordered,
                    cli_work_fn work, cli_emit_fn emit, void *ctx)
{
    cli_pipe p;
    memset(&p, 0, sizeof p);
    pthread_t *tids = NULL;
    worker_arg *args = NULL;
    if (nworkers <= 1 || pipe_init(&p, nworkers) != 0) {
        run_inline(r, workers[0], work, emit, ctx);
        return 1;
    }
    p.reader = r;
    p.work = work;
    p.ordered = ordered;
    p.nworkers = nworkers;
    tids = malloc(sizeof *tids * nworkers);
    args = malloc(sizeof *args * nworkers);
    size_t started = 0;
    for (size_t i = 0; tids && args && i < nworkers; i++) {
        args[i] = (worker_arg){ &p, workers[i] };
        if (pthread_create(&tids[started], NULL, worker_main, &args[i]) != 0)
            break;
        started++;
    }
    pthread_t rt;
    if (started == 0 || pthread_create(&rt, NULL, reader_main, &p) != 0) {
        /* no threads to be had: the plain loop, with nothing read yet */
        stop_workers(&p, tids, started);
        pipe_destroy(&p);
        free(tids);
        free(args);
        run_inline(r, workers[0], work, emit, ctx);
        return 1;
    }
    emit_all(&p, emit, ctx);
    pthread_join(rt, NULL);
    stop_workers(&p, tids, started);
    pipe_destroy(&p);
    free(tids);
    free(args);
    return started;
}
