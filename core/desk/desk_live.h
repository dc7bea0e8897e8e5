/*
 * desk/desk_live.h - what copydesk watch (core/live/) needs from a loaded
 * desk beyond routing: held stories and their release, the desk's clock,
 * the model files it opened (watched for replacement) and the feeds and
 * streams its configuration declares.  Internal: the
 * live desk is part of the library, not of its public API.
 */
#ifndef CD_DESK_LIVE_H
#define CD_DESK_LIVE_H

#include <stddef.h>

#include "base/buf.h"
#include "copydesk/desk.h"

/* Held stories.  A rule that returns hold(time, dests) holds its story
 * until time (when that is later than now).  When fn is set, the desk
 * gives fn the story's JSON, its ninjs when a destination of the route
 * writes ninjs (else NULL), and its route; fn returns CD_OK once it keeps
 * the story durably (copydesk watch), and later delivers it with
 * cdi_desk_release; on an error the story goes to dead letter.  Unset
 * (copydesk route), a held story is reported as held and not delivered. */
typedef cd_status (*cd_desk_hold_fn)(void *ud, double until, const char *id,
                                     const char *json, size_t len,
                                     const char *ninjs, size_t nlen,
                                     const char *const *route, size_t nroute, cd_error *err);
void cdi_desk_set_hold(cd_desk *desk, cd_desk_hold_fn fn, void *ud);

/* Deliver a held story's JSON and ninjs (as given to the hold fn; ninjs
 * may be NULL, then format = "ninjs" destinations get the JSON) to the named
 * destinations, exactly as a routed story is delivered (url destinations
 * to their spool when the desk has one, failures to dead letter).  Names that are no longer
 * destinations (the desk was edited) go to the fallback.  Counted. */
cd_status cdi_desk_release(cd_desk *desk, const char *id, const char *json, size_t len,
                           const char *ninjs, size_t nlen, const char *const *route, size_t nroute, cd_decision *out,
                           cd_error *err);


/* The file of model i as opened (relative paths resolved from the
 * configuration's folder); caller frees; NULL when out of memory. */
char *cdi_desk_model_file(const cd_desk *desk, size_t i);
/* The name model i has in the configuration (model("NAME", file)). */
const char *cdi_desk_model_name(const cd_desk *desk, size_t i);

/* copydesk serve's POST /v1/classify: the models and the topics of a
 * story, without its rules (they decide routes, which classify does not
 * give), as JSON {"id","labels","topics"[,"evidence"]} the way the
 * decision JSON writes them (explain: every topic, five labels per model,
 * the evidence).  An error when the story could not be analysed. */
cd_status cdi_desk_classify_json(cd_desk *desk, const cd_story *s, int explain, cd_buf *b,
                                 cd_error *err);

/* What the last decided story's decision says in brief, as JSON members
 * (no braces): "rule_at" (file:line of the deciding rule, or null), the
 * top three "topics" [{id, name, score}], and each model's chosen
 * "labels" {model: [{label, p}]}; kept with the story in the archive. */
void cdi_desk_decision_summary(const cd_desk *desk, cd_buf *b);

/* Run every expect case of a desk, as a new desk is checked before it
 * replaces the running one (copydesk watch, copydesk serve).  fn (may be
 * NULL) sees each result and may rewrite its name and detail (a case that
 * could not run is a failed one, its name "expect case N").  Returns the
 * number that failed; msg says the first failure ("(and N more)"), or
 * "R rules, N expect cases passed". */
typedef void (*cd_expect_fn)(void *ud, size_t i, cd_expect_result *r);
size_t cdi_desk_check_expects(cd_desk *desk, cd_expect_fn fn, void *ud, char *msg, size_t cap);

/* Feeds the configuration declares: feed "name" { url = ..., every = 60 }. */
typedef struct cd_desk_feed {
    const char *name;
    const char *url;
    const char *format;   /* "rss", "atom", "jsonfeed", "jsonl" or NULL (detect) */
    const char *where;    /* "file:line" of the declaration */
    double every_s;       /* polling interval (default 300) */
    double timeout_s;     /* whole request (default 30) */
} cd_desk_feed;

size_t cdi_desk_feeds(const cd_desk *desk);
void cdi_desk_feed_get(const cd_desk *desk, size_t i, cd_desk_feed *out);

/* Redis streams the configuration declares: stream "name" { redis = ...,
 * key = ..., group = ... } (core/live/watch_stream.c reads them). */
typedef struct cd_desk_stream {
    const char *name;
    const char *url;        /* redis://HOST:PORT/DB */
    const char *key;        /* the stream */
    const char *group;      /* the consumer group (default "copydesk") */
    const char *start;      /* where a new group starts: "0" (default) or "$" */
    const char *where;      /* "file:line" of the declaration */
    double claim_idle_s;    /* pending this long: claimed from its consumer (default 60) */
    unsigned max_deliveries;/* delivered more often: dead letter (default 5) */
    unsigned batch;         /* entries per read (default 100) */
} cd_desk_stream;

size_t cdi_desk_streams(const cd_desk *desk);
void cdi_desk_stream_get(const cd_desk *desk, size_t i, cd_desk_stream *out);
/* Pipelined deliveries (deliver.h: cdi_dest_set_batching) for the
 * desk's stream destinations; cdi_desk_flush makes every delivery so far
 * done, spooled or dead-lettered (an error: one may be lost). */
void cdi_desk_set_batching(cd_desk *desk, int on);
cd_status cdi_desk_flush(cd_desk *desk, cd_error *err);

/* The desk's dead-letter folder (dead_letter "..." or the default). */
const char *cdi_desk_dead_letter_dir(const cd_desk *desk);

#endif
