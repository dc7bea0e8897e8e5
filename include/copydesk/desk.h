/*
 * copydesk/desk.h - the desk: a Lua configuration that names models, a
 * taxonomy of topics, destinations and routing rules, and routes stories.
 *
 * A desk is loaded from a Lua file (SPEC section 5; the Lua API is in
 * docs/desk-api.md).  For each story, cd_desk_route classifies it with
 * every model of the desk, scores the topics (core/desk/topics.h), runs the
 * rules in order in a sandboxed Lua state under an instruction budget and
 * a memory limit, and delivers the story to the destinations the deciding
 * rule named, or to the fallback.  A story is never lost: a failing rule
 * sends it to the fallback, a failing destination to the dead-letter
 * folder, and the outcome says which.
 *
 * Paths: files a desk reads (models, modules for require, dofile,
 * expect files) are relative to the configuration file's folder; paths it
 * writes (folder, jsonl and dead-letter destinations) are relative to the
 * current directory of the process, like any output of a command.
 *
 * A cd_desk is not thread-safe: one per thread.
 */
#ifndef COPYDESK_DESK_H
#define COPYDESK_DESK_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "story.h"

#define CD_DESK_DEFAULT_INSTRUCTIONS 1000000u   /* per rule call */
#define CD_DESK_DEFAULT_MEMORY ((size_t)64 << 20) /* the whole Lua state */
#define CD_DESK_DEFAULT_SECONDS 2.0              /* wall clock per rule call */

typedef struct cd_desk_opts {
    uint64_t instructions;   /* Lua VM instructions per rule call; 0: the desk's
                                limits{} or the default.  Set: overrides the desk. */
    size_t memory;           /* bytes the Lua state may hold; 0 as above */
    double seconds;          /* wall-clock limit per rule call; 0 as above */
    const char *scripts_dir; /* second folder searched by require; NULL:
                                $COPYDESK_SCRIPTS, else "scripts" */
    const char *spool_dir;   /* NULL: url destinations post each story at once.
                                Set: they append it to a spool in this folder
                                instead, for a long-running program to post
                                later, in order, with retries (copydesk watch) */
} cd_desk_opts;

void cd_desk_opts_default(cd_desk_opts *opts);

typedef struct cd_desk cd_desk;

/* Load a desk configuration: run the file in the sandbox, open its models,
 * compile its taxonomy.  Errors name the file and the line. */
cd_status cd_desk_load(const char *path, const cd_desk_opts *opts, cd_desk **out,
                       cd_error *err);
void cd_desk_free(cd_desk *desk);

/* ---- routing ------------------------------------------------------------ */

typedef enum cd_outcome {
    CD_OUTCOME_ROUTED = 0,   /* a rule decided; delivered (or would be, when dry) */
    CD_OUTCOME_FALLBACK,     /* no rule decided, or a rule failed: the fallback */
    CD_OUTCOME_DEAD_LETTER,  /* a destination failed: the story is in dead letter */
    CD_OUTCOME_FAILED        /* even the dead-letter folder failed */
} cd_outcome;

/* The outcome as logs and the decision JSON spell it: "routed", "fallback",
 * "dead-letter", "failed". */
const char *cd_outcome_name(cd_outcome o);

typedef struct cd_decision {
    cd_outcome outcome;
    const char *const *route; /* destination names, nroute of them */
    size_t nroute;
    const char *rule;         /* name of the deciding rule, NULL for the fallback */
    const char *reason;       /* why, for people */
    const char *error;        /* a rule or delivery error, or NULL */
} cd_decision;

/* Route one story: decide, and deliver unless dry_run.  The decision's
 * strings belong to the desk and stay valid until the next call.  Returns
 * CD_OK whenever the story has an outcome (even FAILED); an error return
 * means the story could not be considered at all. */
cd_status cd_desk_route(cd_desk *desk, const cd_story *story, int dry_run,
                        cd_decision *out, cd_error *err);

/* cd_desk_route in two steps, for routing on several threads (copydesk
 * route --threads: each thread has its own desk and decides in parallel,
 * then delivers in input order).  cd_desk_decide runs the models and the
 * rules; cd_desk_deliver then delivers the story (unless dry_run), counts
 * it and fills out, exactly as cd_desk_route would have.  The story must
 * stay valid, and nothing else be routed on the desk, between the two. */
void cd_desk_decide(cd_desk *desk, const cd_story *story);
void cd_desk_deliver(cd_desk *desk, int dry_run, cd_decision *out);

/* The last routed story's decision as one JSON line (no newline): id,
 * route, rule, reason, outcome, top topics, model labels, tags, rule log;
 * explain adds each topic's evidence (labels and keyword hits).  Call it
 * before releasing the story given to cd_desk_route (the desk reads it).
 * Caller frees; NULL when out of memory or after an expect case. */
char *cd_desk_decision_json(cd_desk *desk, int explain);

/* ---- counters, for the summary of a run --------------------------------- */

typedef struct cd_desk_stats {
    uint64_t stories;      /* stories routed (cd_desk_route calls that decided) */
    uint64_t routed;
    uint64_t fallback;
    uint64_t dead_letter;
    uint64_t failed;
    uint64_t rule_errors;
} cd_desk_stats;

void cd_desk_get_stats(const cd_desk *desk, cd_desk_stats *stats);
const char *cd_desk_fallback(const cd_desk *desk);
size_t cd_desk_destinations(const cd_desk *desk);
const char *cd_desk_destination_name(const cd_desk *desk, size_t i);
uint64_t cd_desk_destination_delivered(const cd_desk *desk, size_t i);
uint64_t cd_desk_destination_failed(const cd_desk *desk, size_t i);
size_t cd_desk_rules(const cd_desk *desk);
const char *cd_desk_rule_name(const cd_desk *desk, size_t i);
uint64_t cd_desk_rule_decided(const cd_desk *desk, size_t i);
uint64_t cd_desk_rule_errors(const cd_desk *desk, size_t i);
size_t cd_desk_models(const cd_desk *desk);
size_t cd_desk_topics(const cd_desk *desk);

/* ---- checking ----------------------------------------------------------- */

/* Static checks of a loaded desk: topic labels that no model has, rules
 * (to = ...) and expect cases naming unknown destinations, rules that
 * return a literal name that is not a destination.  Calls fn once per
 * problem ("file:line: what"); returns the number of problems. */
typedef void (*cd_problem_fn)(const char *msg, void *ud);
size_t cd_desk_validate(cd_desk *desk, cd_problem_fn fn, void *ud);

typedef struct cd_expect_result {
    int passed;
    char name[256];     /* the case's name, or where it is declared */
    char detail[768];   /* what was expected and what happened */
} cd_expect_result;

size_t cd_desk_expects(const cd_desk *desk);
/* Run expect case i (decides, never delivers; not counted in the stats). */
cd_status cd_desk_run_expect(cd_desk *desk, size_t i, cd_expect_result *res,
                             cd_error *err);

/* ---- live routing (copydesk watch) -------------------------------------- */

/* The file of model i as opened (relative paths resolved from the
 * configuration's folder); caller frees; NULL when out of memory. */
char *cd_desk_model_file(const cd_desk *desk, size_t i);

/* Feeds the configuration declares: feed "name" { url = ..., every = 60 }. */
typedef struct cd_desk_feed {
    const char *name;
    const char *url;
    const char *format;   /* "rss", "atom", "jsonfeed", "jsonl" or NULL (detect) */
    const char *where;    /* "file:line" of the declaration */
    double every_s;       /* polling interval (default 300) */
    double timeout_s;     /* whole request (default 30) */
} cd_desk_feed;

size_t cd_desk_feeds(const cd_desk *desk);
void cd_desk_feed_get(const cd_desk *desk, size_t i, cd_desk_feed *out);

#endif
