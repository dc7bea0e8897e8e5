/*
 * seen.h - the ids a feed has already delivered, remembered across
 * restarts so that copydesk watch routes each feed item once.
 *
 * Kept as a 64-bit fingerprint per id (FNV-1a; ids are URLs or GUIDs of
 * any length and bytes, a fingerprint is a fixed 17-byte line) in memory
 * and appended, one hex line per id, to a file.  The file is replayed at
 * open; a torn last line (a kill during the append) is ignored.  Only the
 * newest `keep` ids matter (a feed shows its latest items): when twice
 * that many have accumulated the oldest half is forgotten and the file
 * rewritten atomically.
 */
#ifndef CD_SEEN_H
#define CD_SEEN_H

#include <stddef.h>

#include "copydesk/error.h"

#define CD_SEEN_KEEP 20000

typedef struct cd_seen cd_seen;

/* Open (creating) the file at path; keep 0 means CD_SEEN_KEEP. */
cd_status cd_seen_open(const char *path, size_t keep, cd_seen **out, cd_error *err);
void cd_seen_free(cd_seen *s);

int cd_seen_has(const cd_seen *s, const char *id);
/* Remember id, in memory and in the file (not synced: a kill may forget
 * the last ids, and an item seen again is routed again: at least once). */
cd_status cd_seen_add(cd_seen *s, const char *id, cd_error *err);
size_t cd_seen_count(const cd_seen *s);

#endif
