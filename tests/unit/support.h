/*
 * support.h - small helpers shared by the unit tests: where the fixtures
 * and corpora are, and scratch folders that are removed afterwards.
 */
#ifndef CD_TEST_SUPPORT_H
#define CD_TEST_SUPPORT_H

#include <stddef.h>

#include "copydesk.h"

/* Path of a file under tests/fixtures (static buffer, valid until next call). */
const char *fixture(const char *name);

/* A new empty scratch folder under $TMPDIR; the caller frees the string and
 * removes the folder with scratch_remove. */
char *scratch_dir(void);
void scratch_remove(char *dir);

/* Read a whole file into a new NUL-terminated buffer (NULL on error). */
char *slurp(const char *path, size_t *len);

/* Write len bytes to path; returns 0 on success. */
int spit(const char *path, const void *data, size_t len);

/* A story for tests, every field owned (release with cd_story_clear);
 * meta NULL means "{}", source is "test". */
void make_story(cd_story *s, const char *id, const char *title, const char *body,
                const char *meta);

/* The probability a fresh classifier of m gives label for text, or -1
 * when m has no such label or classifying fails. */
double label_prob(const cd_model *m, const char *text, const char *label);

/* A test group's desk: a new scratch folder in *dir and text loaded
 * there as its desk.lua into *desk (cmocka setup: 0, or -1 when it does
 * not load); desk_teardown frees both and removes the folder. */
int desk_setup(char **dir, cd_desk **desk, const char *text);
void desk_teardown(char **dir, cd_desk **desk);

/* Ten stories each of oil, shipping, and both, added to t: a small
 * multi-label corpus.  CD_OK, or the first error. */
cd_status add_oil_shipping(cd_trainer *t, cd_error *err);

/* Write text as DIR/desk.lua and load it; NULL (with the error printed)
 * when it does not load. */
cd_desk *load_desk(const char *dir, const char *text);

#endif
