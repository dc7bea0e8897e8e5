/*
 * deliver.h - destinations: where a routed story's JSON ends up.
 *
 * The desk (core/desk/) decides which destinations a story goes to; this
 * layer only moves bytes.  A destination is one of four kinds:
 *
 *   folder  one JSON file per story, written to a temporary name in the
 *           folder and renamed into place (readers never see half a file);
 *           the file name is derived from the story id by cdi_safe_filename
 *           (base/fs.h),
 *           so that no id can name a file outside the folder.
 *   jsonl   one complete line per story, appended with a single write(2)
 *           to a file opened with O_APPEND.
 *   stdout  one line per story on standard output, flushed.
 *   url     HTTP POST of the JSON (libcurl) with a timeout, retried with
 *           exponential backoff on network errors, 5xx and 429 answers;
 *           or, given a spool (deliver_spool.h), appended to the spool's
 *           queue for the destination, which is posted later, in order,
 *           with its own retries (copydesk watch).
 *   stream  XADD to a Redis stream (deliver_stream.c): one entry per story,
 *           the JSON in its field `story`, the id in `id`; appended by a
 *           script on the server that first records the id (SET NX with an
 *           expiry, the dedupe window), so that a story delivered twice
 *           within the window is appended once.  Retried like url; given a
 *           spool, a story the server cannot take now is spooled.
 *
 * Each destination owns its dead-letter folder: when a delivery fails for
 * good (or the spool's endpoint refuses a story), the story goes there
 * with the error through cdi_dest_dead_letter, so that a failing
 * destination loses nothing.  Nothing here knows of Lua.
 */
#ifndef CD_DELIVER_H
#define CD_DELIVER_H

#include <stddef.h>
#include "copydesk/error.h"

/* Where stories that cannot be delivered go when the desk names no folder. */
#define CD_DEAD_LETTER_DEFAULT "dead-letter"

typedef enum cd_dest_kind {
    CD_DEST_FOLDER = 0,
    CD_DEST_JSONL,
    CD_DEST_STDOUT,
    CD_DEST_URL,
    CD_DEST_STREAM
} cd_dest_kind;

typedef struct cd_spool cd_spool;   /* deliver/deliver_spool.h */

typedef struct cd_dest_opts {
    cd_dest_kind kind;
    const char *name;        /* the destination's name: in dead-letter files and as
                                the spool queue (NULL: the target) */
    const char *target;      /* folder path, jsonl path or URL (NULL for stdout) */
    double timeout_s;        /* url: whole-transfer timeout (default 10) */
    double connect_timeout_s;/* url: connect timeout (default 5) */
    unsigned retries;        /* url: attempts after the first (default 3) */
    double backoff_s;        /* url: first wait, doubled each retry (default 0.5) */
    const char *dead_letter; /* folder for stories it cannot take (NULL: see
                                cdi_dest_set_dead_letter) */
    cd_spool *spool;         /* url: append stories to this spool instead of
                                posting them (NULL: post); stream: spool the
                                stories the server cannot take now */
    const char *stream;      /* stream: the key of the stream (target: the redis:// URL) */
    unsigned long maxlen;    /* stream: XADD MAXLEN ~ this (0: no trimming) */
    double dedupe_s;         /* stream: seconds a story id is remembered (default 86400) */
} cd_dest_opts;

void cdi_dest_opts_default(cd_dest_opts *opts);

typedef struct cd_dest cd_dest;

/* Create a destination; folders are created (with parents) at first use. */
cd_status cdi_dest_new(const cd_dest_opts *opts, cd_dest **out, cd_error *err);
void cdi_dest_free(cd_dest *d);
cd_dest_kind cdi_dest_get_kind(const cd_dest *d);
const char *cdi_dest_name(const cd_dest *d);
const char *cdi_dest_target(const cd_dest *d);

/* Prepare the delivery of a story's JSON ahead of cdi_dest_deliver, on
 * any thread and in any order: a folder writes the story's file under a
 * temporary name, and the delivery of the same id and bytes then only
 * puts it in place.  Nothing for the other kinds, or when it fails (the
 * delivery then does it all, and says what failed).  A file staged and
 * never delivered is removed by the next stage or cdi_dest_free. */
void cdi_dest_stage(cd_dest *d, const char *id, const char *json, size_t len);

/* Deliver one story's JSON (len bytes, no trailing newline). */
cd_status cdi_dest_deliver(cd_dest *d, const char *id, const char *json, size_t len,
                           cd_error *err);

/* Pipelining (stream destinations given a spool; others ignore it): on,
 * each delivery sends its append without waiting for the answer, and
 * cdi_dest_flush reads the answers, spooling the stories the server did
 * not take (or keeping those it refused for good in dead letter).  Only
 * for a caller that flushes before it relies on the deliveries (copydesk
 * watch does before it syncs the spool and acknowledges its input). */
void cdi_dest_set_batching(cd_dest *d, int on);
/* Send the appends queued so far without waiting for the answer (a
 * caller with several destinations sends them all, then flushes each:
 * one wait for all, the server working on one while the others are
 * sent); cdi_dest_flush then reads it. */
void cdi_dest_flush_begin(cd_dest *d);
/* Make every delivery so far done, spooled or in dead letter; an error
 * when one is neither (it may be lost: do not acknowledge its input). */
cd_status cdi_dest_flush(cd_dest *d, cd_error *err);

/* The dead-letter folder of a destination created without one (the desk
 * learns its desk-wide folder only after declaring destinations); a folder
 * given in its options is kept.  Without either: CD_DEAD_LETTER_DEFAULT. */
cd_status cdi_dest_set_dead_letter(cd_dest *d, const char *dir, cd_error *err);

/* Whether the destination can be written, by trying (deliver_probe.c):
 * a folder's missing parents are created, a file created and removed in
 * it, and the folders made for the test removed again; a jsonl file is
 * opened for appending (or its folder probed when it does not exist).
 * A stream's server is connected to and pinged.  Nothing for stdout and url.  err says what cannot be written and why. */
cd_status cdi_dest_probe(const cd_dest *d, cd_error *err);
cd_status cdi_probe_folder(const char *dir, cd_error *err);
cd_status cdi_probe_file(const char *path, cd_error *err);

/* ---- helpers shared by the kinds and by the dead-letter folder ---------- */

/* Keep a story d could not take in its dead-letter folder (created when
 * missing), as {"destination":..., "error":why, "failed_at":..., "story":<json>},
 * in a file named after the id and the destination (ID.DEST.json, or
 * ID.DEST-2.json and so on when taken: a dead letter never replaces
 * another). */
/* The folder cdi_dest_dead_letter writes to. */
const char *cdi_dest_dead_letter_dir(const cd_dest *d);

cd_status cdi_dest_dead_letter(cd_dest *d, const char *id, const char *why,
                               const char *json, size_t len, cd_error *err);

#endif
