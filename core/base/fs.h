/*
 * base/fs.h - files and paths: joining, reading whole, creating folders,
 * writing atomically, and file names made safe from story ids.
 */
#ifndef CD_BASE_FS_H
#define CD_BASE_FS_H

#include <stddef.h>

#include "copydesk/error.h"
#include "base/buf.h"

/* "a/b" in new memory (free() it), or NULL when out of memory. */
char *cdi_path_join(const char *a, const char *b);

/* Read the whole file at path into new memory (NUL-terminated, free() it).
 * max bounds the size (0: no bound; a larger file is CD_ERR_LIMIT).  When
 * the file cannot be opened or read, returns CD_ERR_IO with errno as the
 * system left it. */
cd_status cdi_read_file(const char *path, size_t max, char **data, size_t *len,
                        cd_error *err);

/* Create a folder and its parents (mode 0777 & ~umask). */
cd_status cdi_mkdirs(const char *path, cd_error *err);

/* Write all len bytes to fd (retrying short writes); what names it in errors. */
cd_status cdi_write_fd(int fd, const char *data, size_t len, const char *what, cd_error *err);

/* Write data and a newline to dir/name atomically: a temporary file in
 * dir, then rename, so readers never see half a file.  The file gets
 * 0644 less the umask. */
cd_status cdi_folder_write(const char *dir, const char *name, const char *data,
                           size_t len, cd_error *err);

/* cdi_folder_write for a story's JSON, which begins with its id: when
 * dir/name exists it is replaced only if it holds the same id (the story
 * delivered again); a file of another story is an error, never replaced
 * (two ids can share a name only through a collision of the 64-bit hash
 * that cdi_safe_filename appends). */
cd_status cdi_story_file_write(const char *dir, const char *name, const char *data,
                               size_t len, cd_error *err);

/* cdi_story_file_write in two steps: the file written (stage), then put
 * in place (commit).  Writing the file is most of the cost, and needs no
 * order: route writes stories on all its threads and puts them in place
 * in input order.
 *
 * Where the file system has them (Linux's O_TMPFILE: ext4, xfs, btrfs,
 * tmpfs), the staged file is unnamed: an open descriptor, not an entry of
 * the folder, so that staging takes no lock on the folder (threads create
 * their files side by side), leaves nothing behind when the process dies,
 * and commit is one link(2).  Elsewhere, and to replace a story delivered
 * again, it is a temporary file .NAME.XXXXXX in the folder, renamed or
 * linked in place. */
typedef struct cdi_story_stage {
    int fd;       /* the unnamed file, or -1 */
    cd_buf tmp;   /* else the temporary file's path, or empty */
} cdi_story_stage;
#define CDI_STORY_STAGE_INIT { -1, {0} }

/* Stage data and a newline for dir/name in *st (which holds nothing); on
 * error *st holds nothing. */
cd_status cdi_story_file_stage(const char *dir, const char *name, const char *data,
                               size_t len, cdi_story_stage *st, cd_error *err);
/* Put the staged file in place as dir/name; data, len as staged.  *st
 * holds nothing afterwards, whatever the outcome. */
cd_status cdi_story_file_commit(const char *dir, const char *name, const char *data,
                                size_t len, cdi_story_stage *st, cd_error *err);
/* Does *st hold a staged file? */
int cdi_story_stage_held(const cdi_story_stage *st);
/* Throw a staged file away (closed, or its temporary file removed). */
void cdi_story_stage_drop(cdi_story_stage *st);
/* cdi_story_stage_drop, and the memory freed. */
void cdi_story_stage_free(cdi_story_stage *st);

/* cdi_folder_write to a name not taken: dir/base.json, or base-2.json,
 * base-3.json ... when taken; never replaces a file. */
cd_status cdi_folder_write_new(const char *dir, const char *base, const char *data,
                               size_t len, cd_error *err);

/* A file name for a story id: bytes outside [A-Za-z0-9._-] become '_', a
 * leading dot becomes '_', and when the id was changed, is long, or ends
 * as a changed name does ("-" and 16 hex digits), a hash of the whole id
 * is appended.  An id kept as is never ends that way, so it cannot meet
 * a changed one; two changed ids meet only if their hashes collide, which
 * cdi_story_file_write detects.  Always NUL-terminated, never empty, never "." or "..", no '/'.  cap must
 * be at least 32. */
void cdi_safe_filename(const char *id, char *out, size_t cap);

#endif
