/*
 * deliver_ninjs.h - a story as an IPTC ninjs 2.2 document (News in JSON).
 *
 * The desk (format = "ninjs" on a destination, route --dry-run --format
 * ninjs) and classify --format ninjs describe what they found as subjects
 * and hand them here; this layer only writes the document, so that every
 * ninjs copydesk writes has one shape (see deliver_ninjs.c for the fields).
 */
#ifndef CD_DELIVER_NINJS_H
#define CD_DELIVER_NINJS_H

#include <stddef.h>

#include "copydesk/story.h"
#include "base/buf.h"
#include "base/json.h"

#define CD_MEDTOP_URI "http://cv.iptc.org/newscodes/mediatopic/"

/* One subject copydesk assigns. */
typedef struct cd_ninjs_subject {
    const char *id;       /* the topic id or label: the literal */
    const char *name;     /* its name (NULL: the id) */
    const char *iptc;     /* "medtop:NNNNNNNN", or NULL: no uri */
    const char *creator;  /* "copydesk" or "copydesk:MODEL" */
    double score;         /* in [0, 1]: relevance and confidence 0-100 */
} cd_ninjs_subject;

typedef struct cd_ninjs_doc {
    const cd_story *story;
    const cd_ninjs_subject *subjects;
    size_t nsubjects;
    const char *const *route;   /* destinations, or none (classify) */
    size_t nroute;
    const char *rule;           /* the deciding rule, or NULL */
    const char *reason;         /* why, or NULL */
} cd_ninjs_doc;

/* Append the document to b (one line, no newline).  An allocation failure
 * sets b->failed. */
void cdi_ninjs_write(cd_buf *b, const cd_ninjs_doc *doc);

#endif
