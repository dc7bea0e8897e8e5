/*
 * desk_internal.h - the desk object shared by the files of core/lua/:
 * desk.c (loading, routing, delivery, checks), desk_config.c (the Lua
 * functions a configuration calls: model, taxonomy, destination, rule,
 * fallback, expect, ...), story_binding.c (the story object rules see).
 */
#ifndef CD_LUA_DESK_INTERNAL_H
#define CD_LUA_DESK_INTERNAL_H

#include <lua.h>

#include "copydesk.h"
#include "deliver/deliver.h"
#include "deliver/deliver_spool.h"
#include "base/json.h"
#include "lua/sandbox.h"
#include "desk/topics.h"

typedef struct desk_model {
    char *name;                    /* "bbc" for models/bbc.cdm, or as declared */
    char *path;
    char *where;                   /* "file:line" of the declaration */
    cd_model *model;
    cd_classifier *cls;
    int shares_tokens;             /* classified from the desk's token list */
    uint32_t nlabels;
    double *p;                     /* per story: probability by label index */
    const cd_label_score *scores;  /* per story: sorted, owned by cls */
    size_t nscores;
} desk_model;

typedef struct desk_dest {
    char *name;
    char *where;
    cd_dest *dest;                 /* owns its dead-letter folder */
    uint64_t delivered, failed;
} desk_dest;

typedef struct desk_rule {
    char *name;
    char *where;
    char *src;                     /* file of the function, for cd_desk_validate */
    int first_line, last_line;     /* its lines there (0 when unknown) */
    int fn_ref;                    /* registry ref: function(story) */
    int when_only;                 /* fn is a `when` predicate; `to` is the route */
    int cont;                      /* continue = true */
    char **to;                     /* declared destinations (to = ...) */
    size_t nto;
    uint64_t decided, errors;
} desk_rule;

/* feed "name" { url = ..., every = ... } (desk_config.c; copydesk watch). */
typedef struct desk_feed {
    char *name, *url, *format, *where;
    double every_s, timeout_s;
} desk_feed;

typedef struct desk_expect {
    int ref;                       /* registry ref: the expect table */
    char *where;
} desk_expect;

/* The story being decided, as rules see it (story_binding.c). */
typedef struct desk_story {
    const cd_story *story;
    int meta_ref;                  /* expect cases: a Lua meta table, or LUA_NOREF */
    cd_toklist *toks;
    cd_topic_score *scores;        /* one per topic */
    char **tags;
    size_t ntags;
    char **log;
    size_t nlog;
    int live;                      /* 0 once the decision is made */
    uint64_t gen;                  /* which story: stale story objects are refused */
} desk_story;

/* A label a topic names, resolved once the desk is loaded: its index in
 * each model (-1 where the model has no such label). */
typedef struct label_ref {
    const char *name;              /* the topic's string (compared by address) */
    int64_t *idx;                  /* nmodels entries */
} label_ref;

struct cd_desk {
    cd_sandbox *sb;
    lua_State *L;
    char *path;                    /* the configuration file as given */
    desk_model *models;
    size_t nmodels;
    cd_topics *topics;
    label_ref *label_refs;         /* every label and given label of the topics */
    size_t nlabel_refs;
    char *taxonomy_where;
    cd_tokenizer *tok;
    desk_dest *dests;
    size_t ndests;
    desk_rule *rules;
    size_t nrules;
    desk_expect *expects;
    size_t nexpects;
    char *fallback;
    char *fallback_where;
    char *dead_letter;             /* dead_letter "folder", or NULL: the default */
    cd_spool *spool;               /* of cd_desk_opts.spool_dir, or NULL */
    uint64_t cfg_instructions;     /* limits{} of the configuration */
    size_t cfg_memory;
    double cfg_seconds;
    cd_desk_stats stats;
    /* the current story and its decision */
    desk_story cur;
    size_t *route;                 /* destination indexes, deduplicated */
    const char **route_names;      /* their names, for cd_decision */
    size_t nroute;
    const char *rule;
    char *error;                   /* errbuf when there is an error, else NULL */
    char *errbuf;
    cd_buf reason;
    cd_buf json;
    cd_outcome outcome;
    /* live routing (desk_live.c, copydesk watch) */
    desk_feed *feeds;
    size_t nfeeds;
};

/* desk_config.c: register the configuration functions as globals. */
void cd_desk_config_register(lua_State *L);

/* desk_config.c: release the feeds a configuration declared. */
void cd_desk_free_feeds(cd_desk *desk);

/* story_binding.c: push the story object for desk->cur; register its
 * metatable; after a decision, invalidate it (a rule that kept it gets an
 * error instead of a dangling pointer). */
void cd_story_binding_register(lua_State *L);
void cd_story_binding_push(lua_State *L, cd_desk *desk);

/* desk.c helpers used by the bindings. */
int64_t cd_desk_find_dest(const cd_desk *desk, const char *name);
int64_t cd_desk_find_model(const cd_desk *desk, const char *name);
/* Probability of "label" or "model:label" for the current story; < 0 when
 * no model has it. */
double cd_desk_label_p(const char *label, void *desk);
/* "file:line" of the Lua code calling the running C function (new string). */
char *cd_desk_caller_where(lua_State *L);
/* Decide a story without delivering or counting it (expect cases). */
void cd_desk_decide_quietly(cd_desk *desk, const cd_story *story);
/* strdup or raise a Lua memory error. */
char *cd_desk_strdup(lua_State *L, const char *s);

#endif
