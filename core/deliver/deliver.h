/*
 * deliver.h - destinations: where a routed story's JSON ends up.
 *
 * The desk (core/lua/) decides which destinations a story goes to; this
 * layer only moves bytes.  A destination is one of four kinds:
 *
 *   folder  one JSON file per story, written to a temporary name in the
 *           folder and renamed into place (readers never see half a file);
 *           the file name is derived from the story id by cd_safe_filename,
 *           so that no id can name a file outside the folder.
 *   jsonl   one complete line per story, appended with a single write(2)
 *           to a file opened with O_APPEND.
 *   stdout  one line per story on standard output, flushed.
 *   url     HTTP POST of the JSON (libcurl) with a timeout, retried with
 *           exponential backoff on network errors, 5xx and 429 answers.
 *
 * When a delivery fails for good, the caller hands the story to the dead
 * letter folder (cd_dead_letter_write) together with the error, so that a
 * failing destination loses nothing.  Nothing here knows of Lua.
 */
#ifndef CD_DELIVER_H
#define CD_DELIVER_H

#include <stddef.h>
#include "copydesk/error.h"

typedef enum cd_dest_kind {
    CD_DEST_FOLDER = 0,
    CD_DEST_JSONL,
    CD_DEST_STDOUT,
    CD_DEST_URL
} cd_dest_kind;

typedef struct cd_dest_opts {
    cd_dest_kind kind;
    const char *target;      /* folder path, jsonl path or URL (NULL for stdout) */
    double timeout_s;        /* url: whole-transfer timeout (default 10) */
    double connect_timeout_s;/* url: connect timeout (default 5) */
    unsigned retries;        /* url: attempts after the first (default 3) */
    double backoff_s;        /* url: first wait, doubled each retry (default 0.5) */
} cd_dest_opts;

void cd_dest_opts_default(cd_dest_opts *opts);

typedef struct cd_dest cd_dest;

/* Create a destination; folders are created (with parents) at first use. */
cd_status cd_dest_new(const cd_dest_opts *opts, cd_dest **out, cd_error *err);
void cd_dest_free(cd_dest *d);
cd_dest_kind cd_dest_get_kind(const cd_dest *d);
const char *cd_dest_target(const cd_dest *d);

/* Deliver one story's JSON (len bytes, no trailing newline). */
cd_status cd_dest_deliver(cd_dest *d, const char *id, const char *json, size_t len,
                          cd_error *err);

/* ---- helpers shared by the kinds and by the dead-letter folder ---------- */

/* A file name for a story id: bytes outside [A-Za-z0-9._-] become '_', a
 * leading dot becomes '_', and when the id was changed, is long, or ends
 * as a changed name does ("-" and 16 hex digits), a hash of the whole id
 * is appended.  An id kept as is never ends that way, so it cannot meet
 * a changed one; two changed ids meet only if their hashes collide, which
 * cd_story_file_write detects.
 * Always NUL-terminated, never empty, never "." or "..", no '/'.  cap must
 * be at least 32. */
void cd_safe_filename(const char *id, char *out, size_t cap);

/* Create a folder and its parents (mode 0777 & ~umask). */
cd_status cd_mkdirs(const char *path, cd_error *err);

/* Write data to dir/name atomically: a temporary file in dir, then rename. */
cd_status cd_folder_write(const char *dir, const char *name, const char *data,
                          size_t len, cd_error *err);

/* cd_folder_write for a story's JSON, which begins with its id: when
 * dir/name exists it is replaced only if it holds the same id (the story
 * delivered again); a file of another story is an error, never replaced
 * (two ids can share a name only through a collision of the 64-bit hash
 * that cd_safe_filename appends). */
cd_status cd_story_file_write(const char *dir, const char *name, const char *data,
                              size_t len, cd_error *err);

/* Write a story that could not be delivered to the dead-letter folder dir,
 * as {"destination":..., "error":..., "story":<json>}, in a file named
 * after the id and the destination (ID.DEST.json; ID.DEST-2.json and so on
 * when that is taken: a dead letter never replaces another). */
cd_status cd_dead_letter_write(const char *dir, const char *id, const char *dest_name,
                               const char *why, const char *json, size_t len,
                               cd_error *err);

#endif
