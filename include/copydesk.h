/*
 * copydesk.h - the one entry header of libcopydesk.
 *
 * libcopydesk reads news stories, tokenizes them and classifies them with
 * naive Bayes; the desk layer (Lua) decides where each story goes and
 * delivers it.  Data flows one way:
 *
 *     story I/O -> tokenizer -> classifier -> desk (Lua rules) -> delivery
 *
 * The tokenizer and the classifier work on byte buffers and know nothing of
 * files, JSON or Lua, so they can be used alone from C.  The copydesk
 * command line is a client of this API like any other program.
 *
 * Conventions: every public name starts with cd_.  Functions that can fail
 * return a cd_status and, when given a cd_error, fill it with a message for
 * people.  Objects are opaque handles created by *_new / *_open and released
 * by *_free / *_close; passing NULL to a release function is a no-op.
 */
#ifndef COPYDESK_H
#define COPYDESK_H

#define CD_VERSION "0.1.0"

#include "copydesk/error.h"
#include "copydesk/tokenizer.h"
#include "copydesk/model.h"
#include "copydesk/story.h"
#include "copydesk/desk.h"
#include "copydesk/seeded.h"

#endif
