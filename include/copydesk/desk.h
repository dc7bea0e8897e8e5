/*
 * copydesk/desk.h - the desk: a Lua configuration that names models, a
 * taxonomy of topics, destinations and routing rules, and routes stories.
 *
 * A desk is loaded from a Lua file (the Lua API is in docs/desk-api.md).
 * For each story, cd_desk_route classifies it with every model of the
 * desk, scores the topics of its taxonomy, runs the rules in order in a
 * sandboxed Lua state under an instruction budget and a memory limit, and
 * delivers the story to the destinations the deciding rule named, or to
 * the fallback.  A story is never lost: a failing rule
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
    int taxonomy_only;       /* load the taxonomy alone: model files are not
                                opened (they may not exist yet: copydesk train
                                --seeds makes them), no fallback is needed;
                                such a desk cannot route */
} cd_desk_opts;

CD_API void cd_desk_opts_default(cd_desk_opts *opts);

typedef struct cd_desk cd_desk;

/* Load a desk configuration: run the file in the sandbox, open its models,
 * compile its taxonomy.  Errors name the file and the line. */
CD_API cd_status cd_desk_load(const char *path, const cd_desk_opts *opts, cd_desk **out,
                              cd_error *err);
CD_API void cd_desk_free(cd_desk *desk);

/* cd_desk_load with the configuration's text given (len bytes) instead of
 * read from path: path still places it (files it reads are relative to
 * path's folder); name (NULL: path) is what messages and rule locations
 * show, such as "HEAD:scripts/newsroom.lua". */
CD_API cd_status cd_desk_load_text(const char *text, size_t len, const char *path, const char *name,
                            const cd_desk_opts *opts, cd_desk **out, cd_error *err);

/* ---- two desks on the same stories (copydesk diff) ---------------------- */

/* Let desk reuse what from computed for a story: when from has just
 * decided a story and desk decides the same one (the same cd_story
 * object) next, desk takes from's token list if both tokenize alike and
 * from's results for each model that is the same model file (same size
 * and checksum), instead of tokenizing and classifying again.  from must
 * outlive desk, and live on the same thread.  Returns the number of
 * models shared (also 0 when nothing can be). */
CD_API size_t cd_desk_share(cd_desk *desk, cd_desk *from, int *tokens_shared);

/* The last decided story's topics, for evaluation: the number of topics,
 * each one's id, parent (-1 for a root), labels, and score. */
CD_API const char *cd_desk_topic_id(const cd_desk *desk, size_t i);
CD_API int cd_desk_topic_parent(const cd_desk *desk, size_t i);
CD_API size_t cd_desk_topic_labels(const cd_desk *desk, size_t i);
CD_API const char *cd_desk_topic_label(const cd_desk *desk, size_t i, size_t j);
CD_API double cd_desk_topic_score(const cd_desk *desk, size_t i);

/* ---- routing ------------------------------------------------------------ */

typedef enum cd_outcome {
    CD_OUTCOME_ROUTED = 0,   /* a rule decided; delivered (or would be, when dry) */
    CD_OUTCOME_FALLBACK,     /* no rule decided, or a rule failed: the fallback */
    CD_OUTCOME_DEAD_LETTER,  /* a destination failed: the story is in dead letter */
    CD_OUTCOME_FAILED,       /* even the dead-letter folder failed */
    CD_OUTCOME_HELD          /* a rule held it (hold()): kept until its time by
                                copydesk watch, not delivered by route */
} cd_outcome;

/* The outcome as logs and the decision JSON spell it: "routed", "fallback",
 * "dead-letter", "failed". */
CD_API const char *cd_outcome_name(cd_outcome o);

typedef struct cd_decision {
    cd_outcome outcome;
    const char *const *route; /* destination names, nroute of them */
    size_t nroute;
    const char *rule;         /* name of the deciding rule, NULL for the fallback */
    const char *reason;       /* why, for people */
    const char *error;        /* a rule or delivery error, or NULL */
    double held_until;        /* HELD: until when (UTC seconds since 1970), else 0 */
} cd_decision;

/* Route one story: decide, and deliver unless dry_run.  The decision's
 * strings belong to the desk and stay valid until the next call.  Returns
 * CD_OK whenever the story has an outcome (even FAILED); an error return
 * means the story could not be considered at all. */
CD_API cd_status cd_desk_route(cd_desk *desk, const cd_story *story, int dry_run,
                               cd_decision *out, cd_error *err);

/* cd_desk_route in two steps, for routing on several threads (copydesk
 * route --threads: each thread has its own desk and decides in parallel,
 * then delivers in input order).  cd_desk_decide runs the models and the
 * rules; cd_desk_deliver then delivers the story (unless dry_run), counts
 * it and fills out, exactly as cd_desk_route would have.  The story must
 * stay valid, and nothing else be routed on the desk, between the two. */
CD_API void cd_desk_decide(cd_desk *desk, const cd_story *story);
CD_API void cd_desk_deliver(cd_desk *desk, int dry_run, cd_decision *out);

/* The last routed story's decision as one JSON line (no newline): id,
 * route, rule, reason, outcome, top topics, model labels, tags, rule log;
 * explain adds each topic's evidence (labels and keyword hits).  Call it
 * before releasing the story given to cd_desk_route (the desk reads it).
 * Caller frees; NULL when out of memory or after an expect case. */
CD_API char *cd_desk_decision_json(cd_desk *desk, int explain);

/* The last routed story as an IPTC ninjs 2.2 document (one line, no
 * newline): what a destination with format = "ninjs" receives, with a
 * subject per topic at or above its threshold (its Media Topic uri when
 * the topic has an iptc code) and the route in descriptions with the role
 * "copydesk:route" (core/deliver/deliver_ninjs.c has every field).  Call
 * it before releasing the story.  Caller frees; NULL when out of memory
 * or after an expect case. */
CD_API char *cd_desk_ninjs(cd_desk *desk);

/* ---- counters, for the summary of a run --------------------------------- */

typedef struct cd_desk_stats {
    uint64_t stories;      /* stories routed (cd_desk_route calls that decided) */
    uint64_t routed;
    uint64_t fallback;
    uint64_t dead_letter;
    uint64_t failed;
    uint64_t rule_errors;
    uint64_t held;         /* held by a rule until a time (not delivered yet) */
} cd_desk_stats;

CD_API void cd_desk_get_stats(const cd_desk *desk, cd_desk_stats *stats);
CD_API const char *cd_desk_fallback(const cd_desk *desk);
CD_API size_t cd_desk_destinations(const cd_desk *desk);
CD_API const char *cd_desk_destination_name(const cd_desk *desk, size_t i);
CD_API uint64_t cd_desk_destination_delivered(const cd_desk *desk, size_t i);
CD_API uint64_t cd_desk_destination_failed(const cd_desk *desk, size_t i);
CD_API size_t cd_desk_rules(const cd_desk *desk);
CD_API const char *cd_desk_rule_name(const cd_desk *desk, size_t i);
CD_API uint64_t cd_desk_rule_decided(const cd_desk *desk, size_t i);
CD_API uint64_t cd_desk_rule_errors(const cd_desk *desk, size_t i);
CD_API size_t cd_desk_models(const cd_desk *desk);
CD_API size_t cd_desk_topics(const cd_desk *desk);

/* ---- checking ----------------------------------------------------------- */

/* Static checks of a loaded desk: topic labels that no model has, rules
 * (to = ...) and expect cases naming unknown destinations, the literals
 * a rule's source shows (returned names, within its to = ...; topic ids,
 * model names, labels, phrases).  Calls fn once per problem ("file:line:
 * what", with the nearest known name when one is close); returns the
 * number of problems. */
typedef void (*cd_problem_fn)(const char *msg, void *ud);
CD_API size_t cd_desk_validate(cd_desk *desk, cd_problem_fn fn, void *ud);

/* Whether every folder and jsonl destination and dead-letter folder can
 * be written, by trying (copydesk check): missing folders are created, a
 * file written and removed in each, and what the probe created removed
 * again.  Relative paths are taken from the current directory.  Problems
 * as cd_desk_validate; returns their number. */
CD_API size_t cd_desk_check_paths(cd_desk *desk, cd_problem_fn fn, void *ud);

typedef struct cd_expect_result {
    int passed;
    char name[256];     /* the case's name, or where it is declared */
    char detail[768];   /* what was expected and what happened */
} cd_expect_result;

CD_API size_t cd_desk_expects(const cd_desk *desk);
/* Run expect case i (decides, never delivers; not counted in the stats). */
CD_API cd_status cd_desk_run_expect(cd_desk *desk, size_t i, cd_expect_result *res,
                                    cd_error *err);

#endif
