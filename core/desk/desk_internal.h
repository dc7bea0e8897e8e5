/*
 * desk_internal.h - the desk object, shared by the desk engine in
 * core/desk/ (desk.c: loading, routing, delivery; desk_check.c: checks and
 * expect cases; desk_live.c: what watch reads) and its Lua side in
 * core/lua/ (desk_config.c: the functions a configuration calls, model,
 * taxonomy, destination, rule, fallback, expect, ...; story_binding.c:
 * the story object rules see).
 */
#ifndef CD_DESK_DESK_INTERNAL_H
#define CD_DESK_DESK_INTERNAL_H

#include <lua.h>

#include "copydesk.h"
#include "deliver/deliver.h"
#include "deliver/deliver_spool.h"
#include "base/json.h"
#include "lua/sandbox.h"
#include "desk/topics.h"
#include "desk/desk_live.h"
#include "model/lexicon.h"
#include "text/sieve.h"

typedef struct desk_model {
    char *name;                    /* "bbc" for models/bbc.cdm, or as declared */
    char *path;
    char *where;                   /* "file:line" of the declaration */
    cd_model *model;
    cd_classifier *cls;
    int shares_tokens;             /* classified from the desk's token list */
    size_t lex_pos;                /* 1 + its number in the desk's lexicon; 0: none */
    uint32_t nlabels;
    /* per story: its scores, in cls or in a desk's it shares (desk_share.c),
     * where a label's p is computed only when asked for (cdi_desk_model_p,
     * cdi_desk_model_all) */
    cd_classifier *scored;
    const cd_label_score *scores;  /* the chosen labels, sorted, owned by scored */
    size_t nscores;
} desk_model;

typedef struct desk_dest {
    char *name;
    char *where;
    int ninjs;                     /* format = "ninjs": IPTC ninjs 2.2 documents */
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

/* stream "name" { redis = ..., key = ..., group = ... } (desk_config.c;
 * copydesk watch). */
typedef struct desk_stream {
    char *name, *url, *key, *group, *start, *where;
    double claim_idle_s;
    unsigned max_deliveries, batch;
} desk_stream;

typedef struct desk_expect {
    int ref;                       /* registry ref: the expect table */
    char *where;
} desk_expect;

/* A story's tags or log lines: v[0..n) the notes.  The buffers of the
 * slots are kept from story to story (v[n..slots), cap their sizes), so
 * that a rule's story:tag or story:log allocates nothing once the desk has
 * seen a few stories; what the notes hold counts against the memory limit
 * as if each were allocated (cdi_desk_note_cost). */
typedef struct desk_notes {
    char **v;
    size_t *cap;
    size_t n, slots;
} desk_notes;

/* The story being decided, as rules see it (story_binding.c). */
typedef struct desk_story {
    const cd_story *story;
    int meta_ref;                  /* expect cases: a Lua meta table, or LUA_NOREF */
    const cd_toklist *toks;        /* own_toks, or a desk's it shares (desk_share.c);
                                      NULL until cdi_desk_tokens makes it */
    cd_toklist *own_toks;
    int toks_ready;                /* toks is this story's */
    const cd_toklist *kw_toks;     /* where the keywords are counted: toks, or
                                      sample (topics.h, cdi_topics_words) */
    cd_toklist *sample;            /* the tokens that can be keywords' words */
    size_t title_end;              /* where the body starts (set_zones) */
    int analysed;                  /* the models and tokens are this story's */
    cd_topic_score *scores;        /* one per topic */
    desk_notes tags;
    desk_notes log;
    int live;                      /* 0 once the decision is made */
    uint64_t gen;                  /* which story: stale story objects are refused */
} desk_story;

/* A label a topic names, resolved once the desk is loaded: its index in
 * each model (-1 where the model has no such label). */
typedef struct label_ref {
    const char *name;              /* the topic's string (compared by address) */
    int64_t *idx;                  /* nmodels entries */
} label_ref;

#define DESK_BATCH 32   /* tokens whose lexicon slots are asked for before
                           the first is probed (keep_token) */

struct cd_desk {
    cd_sandbox *sb;
    int taxonomy_only;             /* cd_desk_opts.taxonomy_only */
    int loaded;                    /* its file has run: model, rule... refuse */
    lua_State *L;
    char *path;                    /* the configuration file as given */
    desk_model *models;
    size_t nmodels;
    cd_topics *topics;
    label_ref *label_refs;         /* every label and given label of the topics */
    size_t nlabel_refs;
    size_t label_next;             /* the ref topic_label_p tries first */
    char *taxonomy_where;
    cd_tokenizer *tok;
    /* the models that share the token list, when more than one: each
     * token looked up once for all of them (model/lexicon.h) */
    struct cdi_lexicon *lex;
    uint32_t *rows;                /* per story: the lexicon rows of its tokens,
                                      each once, in the order of their first token */
    uint32_t *row_counts;          /* the tokens of each */
    uint32_t *row_tf;              /* per lexicon row, zero between stories */
    size_t nrows_fill;             /* rows so far while the tokens are read */
    cdi_lex_key batch[DESK_BATCH]; /* tokens kept, their rows not yet probed
                                      (keep_token); when sampling, every
                                      short token, stop words too */
    size_t batch_src[DESK_BATCH];  /* when sampling: each one's offset */
    size_t batch_sent[DESK_BATCH]; /* and sentence (cd_tokenizer_sentence) */
    const size_t *tok_start;       /* tok_fill's offset and sentence, read */
    const size_t *tok_sentence;    /* inline (cdi_tokenizer_cursor) */
    unsigned nbatch;
    cd_tokenizer *tok_fill;        /* tok keeping stop words, when the lexicon
                                      tells them (cdi_lexicon_add_stopwords) */
    /* the keywords counted in a sample of the story's tokens, those that
     * can be a keyword's word: the short words marked in the lexicon
     * (cdi_lexicon_mark), the others and the prefixes in sieve; the whole
     * list is made only when asked for (cdi_desk_tokens) */
    int sampling;
    cdi_sieve sieve;
    uint32_t kept;                 /* tokens kept so far, while reading */
    int sample_failed;
    size_t *top;                   /* one per topic: scratch of the JSON writers */
    struct desk_names *names;      /* the desk's names as JSON, escaped once */
    size_t top3[3];                /* the best three topics of the reason, */
    size_t ntop3;                  /* reused by the JSON of the same story */
    uint64_t top3_gen;             /* the cur.gen they are of (0: none) */
    size_t rows_cap;
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
    size_t nkept;                  /* route entries decided by continue rules */
    unsigned char *rule_result;    /* per rule, for --explain: enum rule_result */
    const char *rule;
    char *error;                   /* errbuf when there is an error, else NULL */
    char *errbuf;
    cd_buf reason;
    cd_buf json;
    int json_ready;                /* json is the current story's (cdi_desk_stage) */
    cd_buf text;                   /* the story's text as classified (analyse) */
    cd_buf ninjs;                  /* the story as ninjs, for ninjs destinations */
    cd_outcome outcome;
    /* live routing (desk_live.c, copydesk watch) */
    desk_feed *feeds;
    size_t nfeeds;
    desk_stream *streams;
    size_t nstreams;
    /* another desk whose analysis of the same story is reused (desk_share.c) */
    struct desk_share *share;
    /* time (desk_time.c) */
    double now_fixed;              /* expect { now = }: the case's clock; 0: the real one */
    double received;               /* the current story's received time */
    double hold_until;             /* the current story is held until then; 0: not */
    cd_desk_hold_fn hold_fn;       /* copydesk watch keeps held stories here */
    void *hold_ud;
};

/* What a rule did with the current story (--explain). */
enum rule_result { RULE_NOT_RUN = 0, RULE_NOTHING, RULE_ADDED, RULE_DECIDED, RULE_FAILED };

/* desk_config.c: register the configuration functions as globals. */
void cdi_desk_config_register(lua_State *L);

/* desk_time.c: now, iso8601, hold as globals; the desk's clock; whether
 * the value at idx is what hold() returned (then *until is its time). */
void cdi_desk_time_register(lua_State *L);
double cdi_desk_now(const cd_desk *d);
int cdi_desk_hold_at(lua_State *L, int idx, double *until);

/* desk_config.c: release the feeds a configuration declared. */
void cdi_desk_free_feeds(cd_desk *desk);

/* story_binding.c: push the story object for desk->cur; register its
 * metatable; after a decision, invalidate it (a rule that kept it gets an
 * error instead of a dangling pointer). */
void cdi_story_binding_register(lua_State *L);
void cdi_story_binding_push(lua_State *L, cd_desk *desk);
void cdi_story_binding_expire(lua_State *L);

/* desk.c helpers used by the bindings. */
int64_t cdi_desk_find_dest(const cd_desk *desk, const char *name);
int64_t cdi_desk_find_model(const cd_desk *desk, const char *name);
/* The current story's p of label index i of model m; every label's
 * scores (cd_classify's, in cd_classifier_set_order(1)'s order: the best
 * label first), computed on the first call for the story. */
double cdi_desk_model_p(const desk_model *m, uint32_t i);
void cdi_desk_model_all(const desk_model *m, const cd_label_score **scores, size_t *n);
/* Probability of "label" or "model:label" for the current story; < 0 when
 * no model has it. */
double cdi_desk_label_p(const char *label, void *desk);
/* "file:line" of the Lua code calling the running C function (new string). */
char *cdi_desk_caller_where(lua_State *L);
/* The analysed story's tokens into *out (NULL before any story), made
 * now if they were only sampled (desk.c, analyse); CD_ERR_NOMEM when out
 * of memory. */
cd_status cdi_desk_tokens(cd_desk *desk, const cd_toklist **out);
/* Decide a story without delivering or counting it (expect cases). */
void cdi_desk_decide_quietly(cd_desk *desk, const cd_story *story);
/* desk_ninjs.c: the current story as a ninjs 2.2 document, into b
 * (reset first). */
void cdi_desk_ninjs_write(cd_desk *desk, cd_buf *b);
/* desk_share.c: the desk whose tokens (*toks) and model results (index
 * in it per model of d, -1 when not shared) d may reuse for story s, or
 * NULL when it has not analysed s. */
cd_desk *cdi_desk_shared(const cd_desk *d, const cd_story *s, int *toks,
                         const int64_t **models);
void cdi_desk_share_free(cd_desk *d);

/* What a tag or log line s costs against the memory limit. */
size_t cdi_desk_note_cost(const char *s);
/* Add a note (a copy of s) to notes: 0 when memory runs out (nothing
 * added).  The caller has checked the count and held its cost. */
int cdi_desk_note_add(desk_notes *notes, const char *s);
/* strdup or raise a Lua memory error. */
char *cdi_desk_strdup(lua_State *L, const char *s);

#endif
