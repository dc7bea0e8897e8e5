/*
 * archive.h - what copydesk watch routed, kept for copydesk diff to replay.
 *
 * Each routed story is one JSON line: the story as an input line (id,
 * title, body, gold labels when it had some, its metadata fields at the
 * top level, as it would be read again) and, under "archived", what the
 * desk decided: {"at", "route", "rule", "outcome", "reason", "rule_at",
 * "topics", "labels"} (the last three since copydesk serve lists them).  Lines go
 * to segments STATE/archive/YYYYMMDDTHHMMSSZ-NNNNNN.jsonl, so that name
 * order is time order and a folder read gives the oldest first.
 *
 * Cheap and durable: a line is one write(2) in append mode (a process
 * killed even with SIGKILL loses nothing written); fdatasync runs at
 * most once a second (cdi_archive_tick, and when a segment is closed), so
 * a crash of the machine loses at most the last second.  A line torn by
 * such a crash is cut off when the archive is opened again.
 *
 * Bounded: a segment is closed at max_bytes / 16 (64 MiB at most) or
 * when it covers max_age / 7; the oldest segments are deleted while the
 * archive holds more than max_bytes or while their last line is older
 * than max_age.
 */
#ifndef CD_ARCHIVE_H
#define CD_ARCHIVE_H

#include <stdint.h>

#include "copydesk.h"

#define CD_ARCHIVE_DEFAULT_AGE (7.0 * 86400)          /* seconds */
#define CD_ARCHIVE_DEFAULT_BYTES ((uint64_t)1 << 30)  /* 1 GiB */

typedef struct cd_archive_opts {
    double max_age_s;      /* 0: CD_ARCHIVE_DEFAULT_AGE */
    uint64_t max_bytes;    /* 0: CD_ARCHIVE_DEFAULT_BYTES */
} cd_archive_opts;

typedef struct cd_archive cd_archive;

/* The archive folder of a state folder (caller frees; NULL: no memory). */
char *cdi_archive_dir(const char *state);

/* 1 when name is a segment's file name (YYYYMMDDTHHMMSSZ-NNNNNN.jsonl). */
int cdi_archive_is_segment(const char *name);

/* Open (creating it) the archive of a state folder. */
cd_status cdi_archive_open(const char *state, const cd_archive_opts *opts, cd_archive **out,
                           cd_error *err);
/* Keep a routed story and its decision; summary (NULL: none) is more of
 * the decision as JSON members, kept in "archived" after the others (the
 * desk's cdi_desk_decision_summary: rule_at, topics, labels); now is the
 * time (Unix seconds).  Safe from several threads (copydesk serve's HTTP
 * threads and its watch share one archive). */
cd_status cdi_archive_add(cd_archive *a, const cd_story *s, const cd_decision *dec,
                          const char *summary, double now, cd_error *err);
/* Sync what was written when a second has passed; rotate and prune. */
void cdi_archive_tick(cd_archive *a, double now);
/* Seconds until what was written is due to be synced (0: now), or -1 when
 * all of it is (NULL is fine). */
double cdi_archive_sync_due(cd_archive *a, double now);
/* Sync and close (NULL is fine). */
void cdi_archive_close(cd_archive *a);

/* Reading a segment back: take "archived" out of a story's metadata (as
 * the readers put it there).  *recorded (when not NULL) gets the archived
 * decision as JSON text (caller frees), or NULL when the story has none.
 * Returns CD_OK, or CD_ERR_NOMEM. */
cd_status cdi_archive_unwrap(cd_story *s, char **recorded);

/* Reading the archive back, newest first (core/live/archive_read.c):
 * fn gets each whole line (without its newline) of every segment of the
 * state folder's archive, the last written first; it returns 0 to go on,
 * 1 to stop.  A line still being written (no newline yet) is skipped.
 * Returns CD_OK (also when there is no archive), or an error when a
 * segment cannot be read. */
typedef int (*cd_archive_line_fn)(void *ud, const char *line, size_t len);
cd_status cdi_archive_newest_first(const char *state, cd_archive_line_fn fn, void *ud,
                                   cd_error *err);

#endif
