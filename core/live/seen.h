/*
 * seen.h - the ids a feed has already delivered, remembered across
 * restarts so that copydesk watch routes each feed item once.
 *
 * Kept as a 64-bit fingerprint per id (FNV-1a; ids are URLs or GUIDs of
 * any length and bytes, a fingerprint is a fixed 17-byte line) in memory
 * and appended, one hex line per id, to a file.  The file is replayed at
 * open; a torn last line (a kill during the append) is ignored.
 *
 * An id is forgotten only once the feed no longer serves it: each poll
 * that reads the whole document marks the ids it serves (cdi_seen_served,
 * cdi_seen_add), and at its end (cdi_seen_poll_end) the ids it did not serve
 * are forgotten, oldest first, while more than `keep` are remembered; the
 * file is then rewritten atomically.  Ids the feed still serves are never
 * forgotten, up to CD_SEEN_MAX per feed; past that, cdi_seen_room says no
 * and the feed's further new items are skipped (and reported), never
 * routed again and again.
 */
#ifndef CD_SEEN_H
#define CD_SEEN_H

#include <stddef.h>

#include "copydesk/error.h"

/* ids remembered although the feed no longer serves them */
#define CD_SEEN_KEEP 20000
/* ids remembered at most (about 20 bytes each in memory) */
#define CD_SEEN_MAX 4000000

typedef struct cd_seen cd_seen;

/* Open (creating) the file at path; keep 0 means CD_SEEN_KEEP. */
cd_status cdi_seen_open(const char *path, size_t keep, cd_seen **out, cd_error *err);
void cdi_seen_free(cd_seen *s);

int cdi_seen_has(const cd_seen *s, const char *id);
/* cdi_seen_has, and when the id is remembered mark it as served by the
 * current poll. */
int cdi_seen_served(cd_seen *s, const char *id);
/* Remember id (served by the current poll), in memory and in the file
 * (not synced: a kill may forget the last ids, and an item seen again is
 * routed again: at least once).  CD_ERR_LIMIT past CD_SEEN_MAX. */
cd_status cdi_seen_add(cd_seen *s, const char *id, cd_error *err);
/* Can `more` ids still be added? */
int cdi_seen_room(const cd_seen *s, size_t more);
/* Remember at most max ids instead of CD_SEEN_MAX (tests). */
void cdi_seen_set_max(cd_seen *s, size_t max);
size_t cdi_seen_count(const cd_seen *s);

/* A poll begins: the ids marked from now on are those the feed serves. */
void cdi_seen_poll_begin(cd_seen *s);
/* The poll read the whole document: forget, oldest first, the ids it did
 * not serve while more than keep are remembered. */
cd_status cdi_seen_poll_end(cd_seen *s, cd_error *err);

#endif
