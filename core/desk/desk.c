/*
 * desk.c - the desk: load a Lua configuration, then for each story
 * classify, score topics, run the rules, deliver (see copydesk/desk.h).
 *
 * Flow of one story (cd_desk_route):
 *
 *   analyse   cd_classify with every model (its chosen labels; any other
 *             label's probability is computed when asked for), the
 *             story's tokens (for keywords and story:has), topic scores
 *   decide    rules in order, each under the sandbox's limits; the first
 *             rule that returns destinations decides, unless it was
 *             declared continue = true (its destinations are added and the
 *             next rules run).  No deciding rule: the fallback is added.
 *             A rule that fails: the story keeps what earlier continue
 *             rules added and goes to the fallback as well.
 *   deliver   the story JSON to each destination; a failing destination
 *             hands it to its dead-letter folder with the error.  Given a
 *             spool folder (cd_desk_opts.spool_dir), url destinations
 *             append to the spool instead of posting.
 *
 * Every Lua API call that can raise happens inside a protected call, so
 * an exhausted memory limit or a misbehaving rule is an error value, never
 * a panic.  The decision (route, reason, error) lives in the desk until the
 * next story, so that routing a story allocates little.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "desk/desk_internal.h"
#include "desk/desk_out.h"
#include "desk/isotime.h"
#include "base/numfmt.h"
#include "model/lexicon.h"
#include "model/model_internal.h"
#include "story/story_text.h"
#include "text/tokenizer_internal.h"

#define ERRBUF 1024

void cd_desk_opts_default(cd_desk_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

/* ---- helpers for the bindings ------------------------------------------- */

size_t cdi_desk_note_cost(const char *s)
{
    return strlen(s) + 1 + sizeof(char *);
}

char *cdi_desk_strdup(lua_State *L, const char *s)
{
    char *c = strdup(s);
    if (!c)
        luaL_error(L, "out of memory");
    return c;
}

char *cdi_desk_caller_where(lua_State *L)
{
    lua_Debug ar;
    char buf[300] = "?";
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            snprintf(buf, sizeof buf, "%s:%d", ar.short_src, ar.currentline);
            break;
        }
    }
    return cdi_desk_strdup(L, buf);
}

int64_t cdi_desk_find_dest(const cd_desk *d, const char *name)
{
    for (size_t i = 0; i < d->ndests; i++)
        if (!strcmp(d->dests[i].name, name))
            return (int64_t)i;
    return -1;
}

int64_t cdi_desk_find_model(const cd_desk *d, const char *name)
{
    for (size_t i = 0; i < d->nmodels; i++)
        if (!strcmp(d->models[i].name, name))
            return (int64_t)i;
    return -1;
}

/* Index of label (len bytes) in model m, or -1. */
static int64_t model_label_index(const desk_model *m, const char *label, size_t len)
{
    char name[256];
    if (len >= sizeof name)
        return -1;
    memcpy(name, label, len);
    name[len] = '\0';
    return cd_model_find_label(m->model, name);
}

/* A label's index in each model: "model:label" names one model (when a
 * model has that name), a plain label any model that has it. */
static void resolve_label(const cd_desk *d, const char *label, int64_t *idx)
{
    for (size_t i = 0; i < d->nmodels; i++)
        idx[i] = -1;
    const char *colon = strchr(label, ':');
    if (colon) {
        for (size_t i = 0; i < d->nmodels; i++) {
            const char *n = d->models[i].name;
            if (strlen(n) == (size_t)(colon - label) && !strncmp(n, label, strlen(n))) {
                idx[i] = model_label_index(&d->models[i], colon + 1, strlen(colon + 1));
                return;
            }
        }
    }
    for (size_t i = 0; i < d->nmodels; i++)
        idx[i] = model_label_index(&d->models[i], label, strlen(label));
}

double cdi_desk_model_p(const desk_model *m, uint32_t i)
{
    return cdi_classifier_p(m->scored, i);
}

void cdi_desk_model_all(const desk_model *m, const cd_label_score **scores, size_t *n)
{
    cdi_classifier_all(m->scored, scores, n);
}

/* The best probability for the current story over the resolved indexes,
 * or -1 when no model has the label. */
static double resolved_p(const cd_desk *d, const int64_t *idx)
{
    double best = -1;
    for (size_t i = 0; i < d->nmodels; i++) {
        if (idx[i] < 0)
            continue;
        double p = cdi_desk_model_p(&d->models[i], (uint32_t)idx[i]);
        if (p > best)
            best = p;
    }
    return best;
}

double cdi_desk_label_p(const char *label, void *desk)
{
    cd_desk *d = desk;
    int64_t stack[8], *idx = d->nmodels <= 8 ? stack : malloc(sizeof *idx * d->nmodels);
    if (!idx)
        return -1;
    resolve_label(d, label, idx);
    double p = resolved_p(d, idx);
    if (idx != stack)
        free(idx);
    return p;
}

/* cdi_desk_label_p for the topics' own label strings, resolved at load
 * (looking labels up by name for every topic of every story was a tenth
 * of route).  The topics ask for them in the order they were resolved
 * (resolve_topic_labels), but for a label asked twice or a given label
 * not asked: the one after the last found is tried first, and the
 * search of all of them is for the others. */
static double topic_label_p(const char *label, void *desk)
{
    cd_desk *d = desk;
    size_t k = d->label_next;
    if (k < d->nlabel_refs && d->label_refs[k].name == label) {
        d->label_next = k + 1;
        return resolved_p(d, d->label_refs[k].idx);
    }
    for (size_t i = 0; i < d->nlabel_refs; i++)
        if (d->label_refs[i].name == label) {
            d->label_next = i + 1;
            return resolved_p(d, d->label_refs[i].idx);
        }
    return cdi_desk_label_p(label, desk);
}

static cd_status add_label_ref(cd_desk *d, const char *label, cd_error *err)
{
    if (!label)
        return CD_OK;
    for (size_t i = 0; i < d->nlabel_refs; i++)
        if (d->label_refs[i].name == label)
            return CD_OK;
    label_ref *v = realloc(d->label_refs, sizeof *v * (d->nlabel_refs + 1));
    if (!v)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    d->label_refs = v;
    label_ref *r = &v[d->nlabel_refs];
    r->name = label;
    r->idx = malloc(sizeof *r->idx * (d->nmodels ? d->nmodels : 1));
    if (!r->idx)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    d->nlabel_refs++;
    resolve_label(d, label, r->idx);
    return CD_OK;
}

static cd_status resolve_topic_labels(cd_desk *d, cd_error *err)
{
    cd_status st = CD_OK;
    for (size_t i = 0; st == CD_OK && i < cdi_topics_count(d->topics); i++) {
        for (size_t j = 0; st == CD_OK && j < cdi_topics_labels(d->topics, i); j++)
            st = add_label_ref(d, cdi_topics_label(d->topics, i, j), err);
        if (st == CD_OK)
            st = add_label_ref(d, cdi_topics_given(d->topics, i), err);
    }
    return st;
}

/* ---- loading ------------------------------------------------------------ */

static struct desk_names *names_new(void);
static void names_free(struct desk_names *nm);

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A note's buffer larger than this is freed when the note is dropped
 * rather than kept for the next story's. */
#define NOTE_KEEP 256

int cdi_desk_note_add(desk_notes *nt, const char *s)
{
    size_t len = strlen(s) + 1;
    if (nt->n == nt->slots) {
        size_t slots = nt->slots ? nt->slots * 2 : 8;
        char **v = realloc(nt->v, slots * sizeof *v);
        if (!v)
            return 0;
        nt->v = v;
        size_t *cap = realloc(nt->cap, slots * sizeof *cap);
        if (!cap)
            return 0;   /* v is larger than slots say: harmless */
        nt->cap = cap;
        for (size_t i = nt->slots; i < slots; i++) {
            v[i] = NULL;
            cap[i] = 0;
        }
        nt->slots = slots;
    }
    size_t i = nt->n;
    if (nt->cap[i] < len) {
        size_t want = len < 64 ? 64 : len;
        free(nt->v[i]);
        nt->v[i] = malloc(want);
        nt->cap[i] = nt->v[i] ? want : 0;
        if (!nt->v[i])
            return 0;
    }
    memcpy(nt->v[i], s, len);
    nt->n++;
    return 1;
}

/* Drop the notes (tags or log lines) from keep on, and release what they
 * held against the memory limit; their buffers stay for the next notes
 * unless large. */
static void drop_notes(cd_desk *d, desk_notes *nt, size_t keep)
{
    for (size_t i = keep; i < nt->n; i++) {
        if (d->sb)
            cdi_sandbox_release(d->sb, cdi_desk_note_cost(nt->v[i]));
        if (nt->cap[i] > NOTE_KEEP) {
            free(nt->v[i]);
            nt->v[i] = NULL;
            nt->cap[i] = 0;
        }
    }
    if (nt->n > keep)
        nt->n = keep;
}

static void notes_free(desk_notes *nt)
{
    for (size_t i = 0; i < nt->slots; i++)
        free(nt->v[i]);
    free(nt->v);
    free(nt->cap);
    memset(nt, 0, sizeof *nt);
}

static void reset_story(cd_desk *d)
{
    drop_notes(d, &d->cur.tags, 0);
    drop_notes(d, &d->cur.log, 0);
    d->cur.live = 0;
    d->cur.analysed = 0;
    d->nroute = d->nkept = 0;
    if (d->rule_result)
        memset(d->rule_result, 0, d->nrules);
    d->rule = NULL;
    d->error = NULL;
    d->hold_until = 0;
    d->json_ready = 0;
    if (d->errbuf)
        d->errbuf[0] = '\0';
    cdi_buf_reset(&d->reason);
}

void cd_desk_free(cd_desk *d)
{
    if (!d)
        return;
    reset_story(d);
    notes_free(&d->cur.tags);
    notes_free(&d->cur.log);
    cdi_toklist_free(d->cur.own_toks);
    cdi_toklist_free(d->cur.sample);
    cdi_sieve_free(&d->sieve);
    cdi_desk_share_free(d);
    for (size_t i = 0; i < d->nlabel_refs; i++)
        free(d->label_refs[i].idx);
    free(d->label_refs);
    cdi_sandbox_free(d->sb);     /* first: closing the state frees the refs */
    for (size_t i = 0; i < d->nmodels; i++) {
        cd_classifier_free(d->models[i].cls);
        cd_model_close(d->models[i].model);
        free(d->models[i].name);
        free(d->models[i].path);
        free(d->models[i].where);
    }
    free(d->models);
    for (size_t i = 0; i < d->ndests; i++) {
        cdi_dest_free(d->dests[i].dest);
        free(d->dests[i].name);
        free(d->dests[i].where);
    }
    free(d->dests);
    for (size_t i = 0; i < d->nrules; i++) {
        free(d->rules[i].name);
        free(d->rules[i].where);
        free(d->rules[i].src);
        free_strv(d->rules[i].to, d->rules[i].nto);
    }
    free(d->rules);
    for (size_t i = 0; i < d->nexpects; i++)
        free(d->expects[i].where);
    free(d->expects);
    cdi_desk_free_feeds(d);
    cdi_topics_free(d->topics);
    cd_tokenizer_free(d->tok);
    cd_tokenizer_free(d->tok_fill);
    cdi_lexicon_free(d->lex);
    free(d->rows);
    free(d->row_counts);
    free(d->row_tf);
    free(d->taxonomy_where);
    free(d->fallback);
    free(d->fallback_where);
    free(d->dead_letter);
    free(d->route);
    free(d->route_names);
    free(d->rule_result);
    free(d->cur.scores);
    free(d->top);
    names_free(d->names);
    free(d->path);
    free(d->errbuf);
    cdi_spool_free(d->spool);    /* after the destinations bound to it */
    cdi_buf_free(&d->reason);
    cdi_buf_free(&d->json);
    cdi_buf_free(&d->text);
    cdi_buf_free(&d->ninjs);
    free(d);
}

static int register_all(lua_State *L)
{
    cdi_desk_config_register(L);
    cdi_desk_time_register(L);
    cdi_story_binding_register(L);
    return 0;
}

static const char *scripts_folder(const cd_desk_opts *opts)
{
    if (opts && opts->scripts_dir)
        return opts->scripts_dir;
    const char *env = getenv("COPYDESK_SCRIPTS");
    if (env && *env)
        return env;
    struct stat sb;
    return stat("scripts", &sb) == 0 && S_ISDIR(sb.st_mode) ? "scripts" : NULL;
}

/* Create the sandbox for the configuration at path. */
static cd_status make_state(cd_desk *d, const char *path, const cd_desk_opts *opts,
                            cd_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    cd_status st = cdi_sandbox_new(dirname(copy), scripts_folder(opts), d, &d->sb, err);
    free(copy);
    if (st != CD_OK)
        return st;
    d->L = cdi_sandbox_state(d->sb);
    if (opts && opts->spool_dir && (st = cdi_spool_open(opts->spool_dir, &d->spool, err)) != CD_OK)
        return st;
    cdi_sandbox_set_limits(d->sb, CD_DESK_DEFAULT_INSTRUCTIONS * 100,
                           opts && opts->memory ? opts->memory : CD_DESK_DEFAULT_MEMORY,
                           CD_DESK_DEFAULT_SECONDS * 10);
    lua_pushcfunction(d->L, register_all);
    if (lua_pcall(d->L, 0, 0, 0) != LUA_OK)
        return cd_error_set(err, CD_ERR_NOMEM, "cannot prepare the Lua state");
    return cdi_topics_new(&d->topics, err);
}

/* The configuration's text when it does not come from its file (a git
 * revision: copydesk diff --base REV:PATH). */
typedef struct config_text {
    const char *text;
    size_t len;
    const char *name;    /* shown in messages instead of the path */
} config_text;

/* Run the configuration file (or its given text) in the sandbox. */
static cd_status run_config(cd_desk *d, const char *path, const config_text *ct,
                            cd_error *err)
{
    lua_State *L = d->L;
    struct stat sb;
    int rc;
    if (ct) {
        char chunk[1100];
        snprintf(chunk, sizeof chunk, "@%s", ct->name);
        rc = luaL_loadbufferx(L, ct->text, ct->len, chunk, "t");
    } else {
        if (stat(path, &sb) != 0)
            return cd_error_set(err, CD_ERR_IO, "%s: %s", path, strerror(errno));
        rc = luaL_loadfilex(L, path, "t");
    }
    if (rc != LUA_OK) {
        cd_error_set(err, CD_ERR_SCRIPT, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return CD_ERR_SCRIPT;
    }
    if (cdi_sandbox_pcall(d->sb, 0, 0) != LUA_OK) {
        cd_error_set(err, CD_ERR_SCRIPT, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return CD_ERR_SCRIPT;
    }
    return CD_OK;
}

static int same_tokens(const cd_tok_opts *a, const cd_tok_opts *b)
{
    return a->min_len == b->min_len && a->max_len == b->max_len &&
           a->stopwords == b->stopwords && a->bigrams == b->bigrams &&
           a->stem == b->stem && a->fold_numbers == b->fold_numbers;
}

/* Two models or more that classify from the token list: one lexicon, so
 * that each token is looked up once for all of them (model/lexicon.h). */
static cd_status make_lexicon(cd_desk *d, size_t nshare, cd_error *err)
{
    if (nshare < 2)
        return CD_OK;
    const cd_model **ms = malloc(sizeof *ms * nshare);
    if (!ms)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < d->nmodels; i++)
        if (d->models[i].shares_tokens) {
            ms[k++] = d->models[i].model;
            d->models[i].lex_pos = k;
        }
    cd_status st = cdi_lexicon_new(ms, k, &d->lex, err);
    /* models that all drop stop words: the lexicon tells them too, and the
     * story is read with a tokenizer that leaves them to it (keep_token),
     * one lookup per token instead of a stop-word test and a lookup */
    int stops = st == CD_OK;
    for (size_t i = 0; i < k && stops; i++)
        stops = cdi_lexicon_drops_stopwords(ms[i]);
    if (stops) {
        cd_tok_opts o = *cd_tokenizer_opts(d->tok);
        o.stopwords = 0;
        st = cdi_lexicon_add_stopwords(d->lex, ms, err);
        if (st == CD_OK)
            st = cd_tokenizer_new(&o, &d->tok_fill, err);
    }
    free(ms);
    /* one entry more: flush_batch's sink */
    if (st == CD_OK && !(d->row_tf = calloc((size_t)d->lex->nrows + 1, sizeof *d->row_tf)))
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    return st;
}

/* The lexicon rows of the story's tokens (those in no model left out),
 * each once, into d->rows, and how many tokens each had into
 * d->row_counts: counted once here for all the models.  Their number, or
 * -1 when out of memory. */
static int grow_rows(cd_desk *d, size_t need)
{
    if (need <= d->rows_cap)
        return 0;
    size_t cap = d->rows_cap ? d->rows_cap : 256;
    while (cap < need)
        cap *= 2;
    uint32_t *rows = realloc(d->rows, sizeof *rows * cap);
    if (rows)
        d->rows = rows;
    uint32_t *counts = rows ? realloc(d->row_counts, sizeof *counts * cap) : NULL;
    if (!counts)
        return -1;
    d->row_counts = counts;
    d->rows_cap = cap;
    return 0;
}

/* The counts of the n rows in d->rows, from d->row_tf, which is zeroed. */
static void count_rows(cd_desk *d, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        d->row_counts[k] = d->row_tf[d->rows[k]];
        d->row_tf[d->rows[k]] = 0;
    }
}

/* Count lexicon row r (or none, r < 0) for the story being read; -1 when
 * out of memory. */
static int count_row(cd_desk *d, int64_t r)
{
    if (r < 0 || cdi_lexicon_is_stop(d->lex, r) || d->row_tf[r]++)
        return 0;
    if (grow_rows(d, d->nrows_fill + 1)) {
        d->row_tf[r] = 0;
        return -1;
    }
    d->rows[d->nrows_fill++] = (uint32_t)r;
    return 0;
}

/* Put a token whose word is at byte at of the text, in sentence sentence,
 * in the story's sample (d->sampling): one that can be a keyword's word.
 * -1 when out of memory. */
static int sample_token_at(cd_desk *d, const char *tok, size_t len, size_t at,
                           size_t sentence)
{
    return cdi_toklist_push_at(d->cur.sample, tok, len, d->kept,
                               at > UINT32_MAX ? UINT32_MAX : (uint32_t)at,
                               sentence > UINT32_MAX ? UINT32_MAX : (uint32_t)sentence);
}

/* Whether a short token of no lexicon row (key a, b) can be a keyword's
 * word; its text into buf (LEX_SHORT bytes) when it can. */
static int sample_unknown(const cd_desk *d, uint64_t a, uint32_t b, char *buf, size_t *len)
{
    if (cdi_lexicon_key_tag(d->lex, a, b) == LEX_TAG_MARK) {
        *len = cdi_lex_short_text(a, b, buf);
        return 1;
    }
    if ((a & 0xFF) < 2)
        return 0;
    char two[2] = { (char)(a >> 8), (char)(a >> 16) };
    uint32_t k = cdi_sieve_bucket(two);
    if (!(d->sieve.bits[k / 64] >> (k % 64) & 1))
        return 0;
    *len = cdi_lex_short_text(a, b, buf);
    return cdi_sieve_match_bucket(&d->sieve, buf, *len, k);
}

#if defined(__GNUC__)
#define DESK_COLD __attribute__((noinline, cold))
#define DESK_HOT_INLINE __attribute__((always_inline)) inline
#else
#define DESK_COLD
#define DESK_HOT_INLINE inline
#endif

/* When sampling, batched token i of row r (-1: none): 1 when it is a stop
 * word (left out), else sampled if it can be a keyword's word (its row's
 * tag, or for a token of no row the mark or the sieve) and counted in
 * d->kept; -1 when out of memory. */
static DESK_HOT_INLINE int sample_batched(cd_desk *d, const uint8_t *tags, unsigned i, int64_t r)
{
    unsigned tag = r >= 0 ? tags[r] : 0;
    if (tag & LEX_ROW_STOP)
        return 1;
    char buf[LEX_SHORT];
    size_t len = 0;
    int sampled = 1;
    if (tag & LEX_ROW_SAMPLE)
        len = cdi_lex_short_text(d->batch[i].a, d->batch[i].b, buf);
    else
        sampled = r < 0 && sample_unknown(d, d->batch[i].a, d->batch[i].b, buf, &len);
    if (sampled && sample_token_at(d, buf, len, d->batch_src[i], d->batch_sent[i]))
        return -1;
    d->kept++;
    return 0;
}

/* Count row r of a probe (-1: none, or a stop word's row, from stops on)
 * without branches: in the sink entry past the rows when it is no term. */
static DESK_HOT_INLINE void tally_row(cd_desk *d, int64_t r, uint32_t stops, uint32_t sink)
{
    uint32_t term = (uint64_t)r < stops;
    uint32_t id = term ? (uint32_t)r : sink;
    uint32_t old = d->row_tf[id];
    d->row_tf[id] = old + term;
    d->rows[d->nrows_fill] = id;
    d->nrows_fill += (old == 0) & term;
}

/* Probe the tokens waiting (d->batch), in their order, and count their
 * rows; -1 when out of memory.  As classify does (classifier.c, flush):
 * all the probes first, each asking for its row's count, then the counts,
 * without branches: a token of no row (or a stop word's) counts in the
 * sink entry past the rows, which stays 0, and a row is appended only
 * when its count was 0 (the entry past the list is written either way).
 * When sampling, the batch holds stop words too, and the keywords' words
 * go to the sample (sample_batched); otherwise stop words were never
 * batched (keep_token). */
static int flush_batch(cd_desk *d)
{
    unsigned n = d->nbatch;
    d->nbatch = 0;
    const cdi_lexicon *x = d->lex;
    int64_t rows[DESK_BATCH];
    uint32_t stops = x->stops_from;
    for (unsigned i = 0; i < n; i++) {
        rows[i] = cdi_lexicon_probe(x, d->batch[i].slot, d->batch[i].a, d->batch[i].b);
#if defined(__GNUC__)
        if ((uint64_t)rows[i] < stops)
            __builtin_prefetch(&d->row_tf[rows[i]], 1);
#endif
    }
    if (grow_rows(d, d->nrows_fill + n + 1))
        return -1;
    uint32_t sink = x->nrows;
    if (!d->sampling) {
        for (unsigned i = 0; i < n; i++)
            tally_row(d, rows[i], stops, sink);
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        int s = sample_batched(d, x->tags, i, rows[i]);
        if (s < 0)
            return -1;
        if (s == 0)
            tally_row(d, rows[i], stops, sink);
    }
    return 0;
}

/* A token longer than a short key (or an empty one): never a stop word,
 * looked up at once, after the tokens batched before it; sampled when
 * sampling and the sieve says it can be a keyword's word.  -1 when out of
 * memory.  Out of the way of the short ones. */
static DESK_COLD int long_token(cd_desk *d, const char *tok, size_t len)
{
    if (!len) {
        d->kept++;
        return 0;
    }
    if (flush_batch(d))
        return -1;
    if (d->sampling && cdi_sieve_match(&d->sieve, tok, len) &&
        sample_token_at(d, tok, len, *d->tok_start, *d->tok_sentence))
        return -1;
    d->kept++;
    return count_row(d, cdi_lexicon_find_long(d->lex, tok, len));
}

/* cdi_toklist_fill_keep's filter when the lexicon tells stop words and
 * the desk does not sample: a stop word is dropped by its key alone (a
 * small table); a token kept has its lexicon slot asked for now and
 * probed when DESK_BATCH tokens wait, or before a long token, or at the
 * end (flush_batch), as classify does (lexicon.h): its row counted then,
 * in the order of the text, as lexicon_rows would count it from the list.
 * 1: kept, 0: a stop word, -1: out of memory. */
static DESK_HOT_INLINE int keep_token_in(cd_desk *d, const char *tok, size_t len)
{
    if (len - 1 >= LEX_SHORT)   /* long (or empty): never a stop word */
        return long_token(d, tok, len) ? -1 : 1;
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(tok, len, &a, &b);
    uint32_t tag = cdi_lexicon_key_tag(d->lex, a, b);
    if (tag == LEX_TAG_STOP)
        return 0;
    d->kept++;
    cdi_lex_key *k = &d->batch[d->nbatch++];
    k->a = a;
    k->b = b;
    k->slot = cdi_lex_slot_of(d->lex, a, b);
#if defined(__GNUC__)
    __builtin_prefetch(&d->lex->slots[k->slot]);
#endif
    return d->nbatch == DESK_BATCH && flush_batch(d) ? -1 : 1;
}

static int keep_token(const char *tok, size_t len, void *ud)
{
    return keep_token_in(ud, tok, len);
}

/* When sampling (no list kept), a story's tokens are read as classify
 * reads them (classifier.c): every short token, stop words too, has its
 * lexicon slot asked for, its offset and sentence noted, and is probed
 * when DESK_BATCH tokens wait, or before a long token, or at the end
 * (flush_batch).  The row then tells all: a stop word (left out), a word
 * that can be a keyword's (sampled: LEX_ROW_SAMPLE, setup_sampling), a
 * term (counted).  A token of no row is sampled when marked or in the
 * sieve, as the row's tag would say. */
static DESK_HOT_INLINE int scan_token_in(cd_desk *d, const char *tok, size_t len)
{
    if (len - 1 >= LEX_SHORT)
        return long_token(d, tok, len);
    unsigned i = d->nbatch++;
    cdi_lex_key *k = &d->batch[i];
    cdi_lex_short_key(tok, len, &k->a, &k->b);
    k->slot = cdi_lex_slot_of(d->lex, k->a, k->b);
#if defined(__GNUC__)
    __builtin_prefetch(&d->lex->slots[k->slot]);
#endif
    d->batch_src[i] = *d->tok_start;
    d->batch_sent[i] = *d->tok_sentence;
    return d->nbatch == DESK_BATCH ? flush_batch(d) : 0;
}

/* The tokenizer's callback when sampling. */
static int scan_token(const char *tok, size_t len, void *ud)
{
    cd_desk *d = ud;
    if (scan_token_in(d, tok, len) >= 0)
        return 0;
    d->sample_failed = 1;
    return 1;
}

/* The filter of the whole list made after a sample (cdi_desk_tokens):
 * the tokens keep_token keeps, without counting rows. */
static int keep_unless_stop(const char *tok, size_t len, void *ud)
{
    const cd_desk *d = ud;
    if (len - 1 >= LEX_SHORT)
        return 1;
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(tok, len, &a, &b);
    return !cdi_lexicon_is_stop_key(d->lex, a, b);
}

static int64_t lexicon_rows(cd_desk *d, const cd_toklist *l)
{
    if (grow_rows(d, l->n))
        return -1;
    /* the slot of token i + LEX_AHEAD is asked for before token i is
     * probed (lexicon.h): the table's cache misses overlap */
    size_t n = 0;
    cdi_lex_key ahead[LEX_AHEAD];
    for (size_t i = 0; i < l->n + LEX_AHEAD; i++) {
        size_t j = i % LEX_AHEAD;
        int64_t r = -1;
        if (i >= LEX_AHEAD) {
            size_t k = i - LEX_AHEAD;
            if (l->len[k] - 1 >= LEX_SHORT)   /* long: looked up now */
                r = cdi_lexicon_find(d->lex, l->text + l->off[k], l->len[k]);
            else
                r = cdi_lexicon_probe(d->lex, ahead[j].slot, ahead[j].a, ahead[j].b);
        }
        if (i < l->n && l->len[i] - 1 < LEX_SHORT)
            ahead[j] = cdi_lexicon_ahead(d->lex, l->text + l->off[i], l->len[i]);
        if (r >= 0 && d->row_tf[r]++ == 0)
            d->rows[n++] = (uint32_t)r;
    }
    count_rows(d, n);
    return (int64_t)n;
}

/* A keyword's word, for the sample (keep_token): a short exact word is
 * marked in the lexicon, a prefix or a long word goes to the sieve. */
static cd_status sample_word(const char *w, size_t len, int prefix, void *ud)
{
    cd_desk *d = ud;
    cd_error e;
    if (!prefix && len <= LEX_SHORT)
        return cdi_lexicon_mark(d->lex, w, len, &e);
    return cdi_sieve_add(&d->sieve, w, len, prefix, &e);
}

/* Count the keywords in a sample of each story's tokens when the story is
 * read through the lexicon that tells stop words (d->tok_fill): the
 * token list is then only made for a rule or a desk that asks for it.
 * Not when a keyword's word is a one-byte prefix ("x*"): every token
 * could be one. */
static cd_status setup_sampling(cd_desk *d, cd_error *err)
{
    if (!d->tok_fill || !d->lex)
        return CD_OK;
    cd_status st = cdi_topics_words(d->topics, sample_word, d);
    if (st == CD_OK) {
        cd_error e;
        st = cdi_sieve_seal(&d->sieve, &e);
    }
    /* each row's tag: a row whose word a token of the sample would be */
    cdi_lexicon *x = d->lex;
    for (uint32_t r = 0; st == CD_OK && r < x->stops_from; r++) {
        const char *w = x->names[r];
        size_t len = x->name_lens[r];
        uint64_t a;
        uint32_t b;
        int marked = 0;
        if (len <= LEX_SHORT) {
            cdi_lex_short_key(w, len, &a, &b);
            marked = cdi_lexicon_key_tag(x, a, b) == LEX_TAG_MARK;
        }
        if (marked || cdi_sieve_match(&d->sieve, w, len))
            x->tags[r] |= LEX_ROW_SAMPLE;
    }
    cdi_tokenizer_cursor(d->tok_fill, &d->tok_start, &d->tok_sentence);
    if (st == CD_OK && !(d->cur.sample = cdi_toklist_new()))
        st = CD_ERR_NOMEM;
    if (st == CD_ERR_NOMEM)
        return cd_error_set(err, st, "out of memory");
    d->sampling = st == CD_OK;
    return CD_OK;
}

/* After the file ran: tokenizer, keywords, fallback, limits. */
static cd_status finish(cd_desk *d, const cd_desk_opts *opts, cd_error *err)
{
    cd_tok_opts tok;
    if (d->nmodels && !d->taxonomy_only) {
        cd_model_info info;
        cd_model_get_info(d->models[0].model, &info);
        tok = info.tok;
    } else {
        cd_tok_opts_default(&tok);
    }
    tok.bigrams = 0;   /* keywords match consecutive words, not pairs */
    cd_status st = cd_tokenizer_new(&tok, &d->tok, err);
    if (st != CD_OK)
        return st;
    /* a model that tokenizes as the keywords do classifies the story from
     * the same token list: each story is tokenized once, not once per model */
    size_t nshare = 0;
    for (size_t i = 0; i < d->nmodels && !d->taxonomy_only; i++) {
        d->models[i].shares_tokens = same_tokens(cdi_classifier_tok_opts(d->models[i].cls), &tok);
        nshare += d->models[i].shares_tokens;
    }
    if ((st = make_lexicon(d, nshare, err)) != CD_OK)
        return st;
    cd_error e;
    if ((st = cdi_topics_compile(d->topics, d->tok, &e)) != CD_OK)
        return cd_error_set(err, st, "%s: taxonomy: %s",
                            d->taxonomy_where ? d->taxonomy_where : d->path, e.msg);
    if ((st = setup_sampling(d, err)) != CD_OK)
        return st;
    if (d->taxonomy_only)
        return CD_OK;
    if ((st = resolve_topic_labels(d, err)) != CD_OK)
        return st;
    if (!d->fallback)
        return cd_error_set(err, CD_ERR_SCRIPT,
                            "%s: no fallback declared (add: fallback \"<destination>\")", d->path);
    if (cdi_desk_find_dest(d, d->fallback) < 0)
        return cd_error_set(err, CD_ERR_SCRIPT, "%s: fallback '%s' is not a destination",
                            d->fallback_where, d->fallback);
    size_t nt = cdi_topics_count(d->topics);
    d->cur.scores = calloc(nt ? nt : 1, sizeof *d->cur.scores);
    d->top = malloc((nt ? nt : 1) * sizeof *d->top);
    d->names = names_new();   /* NULL: the names escaped every time */
    d->route = calloc(d->ndests, sizeof *d->route);
    d->route_names = calloc(d->ndests, sizeof *d->route_names);
    d->errbuf = malloc(ERRBUF);
    d->rule_result = calloc(d->nrules ? d->nrules : 1, 1);
    if (!d->cur.scores || !d->top || !d->route || !d->route_names || !d->errbuf || !d->rule_result)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    /* dead_letter "folder" may come after the destinations it applies to */
    for (size_t i = 0; d->dead_letter && i < d->ndests; i++)
        if ((st = cdi_dest_set_dead_letter(d->dests[i].dest, d->dead_letter, err)) != CD_OK)
            return st;
    d->errbuf[0] = '\0';
    cdi_sandbox_set_limits(d->sb,
        opts && opts->instructions ? opts->instructions
            : d->cfg_instructions ? d->cfg_instructions : CD_DESK_DEFAULT_INSTRUCTIONS,
        opts && opts->memory ? opts->memory : d->cfg_memory,
        opts && opts->seconds > 0 ? opts->seconds
            : d->cfg_seconds > 0 ? d->cfg_seconds : CD_DESK_DEFAULT_SECONDS);
    return CD_OK;
}

static cd_status load(const char *path, const config_text *ct, const cd_desk_opts *opts,
                      cd_desk **out, cd_error *err)
{
    *out = NULL;
    cd_desk *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(ct ? ct->name : path))) {
        free(d);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    d->cur.meta_ref = LUA_NOREF;
    d->taxonomy_only = opts && opts->taxonomy_only;
    cd_status st = make_state(d, path, opts, err);
    if (st == CD_OK)
        st = run_config(d, path, ct, err);
    d->loaded = 1;
    if (st == CD_OK)
        st = finish(d, opts, err);
    if (st != CD_OK) {
        cd_desk_free(d);
        return st;
    }
    *out = d;
    return CD_OK;
}

cd_status cd_desk_load(const char *path, const cd_desk_opts *opts, cd_desk **out,
                       cd_error *err)
{
    return load(path, NULL, opts, out, err);
}

cd_status cd_desk_load_text(const char *text, size_t len, const char *path, const char *name,
                            const cd_desk_opts *opts, cd_desk **out, cd_error *err)
{
    config_text ct = { text, len, name ? name : path };
    return load(path, &ct, opts, out, err);
}

/* ---- analyse: classify, tokenize, score ---------------------------------- */

/* The zones of a list of the story's tokens: the title up to
 * cur.title_end, then the body, whose first paragraph is the lede, found
 * if a scope asks for it (cdi_toklist_set_body): in d->text, which stays
 * until the next story. */
static void set_zones(cd_desk *d, cd_toklist *l)
{
    size_t body = d->cur.title_end;
    cdi_toklist_set_body(l, body, d->text.data + body, d->text.len - body);
}

static cd_status analyse(cd_desk *d, const cd_story *s, cd_error *err)
{
    /* diff decides each story under two desks: what the other desk already
     * computed for this story (tokens, identical models) is reused */
    int share_toks = 0;
    const int64_t *share_models = NULL;
    cd_desk *from = d->share ? cdi_desk_shared(d, s, &share_toks, &share_models) : NULL;
    /* the text classified, title \n body (cd_story_text), in the desk's
     * own buffer: no allocation per story */
    cd_buf *tb = &d->text;
    if (tb->cap > ((size_t)4 << 20))
        cdi_buf_free(tb);   /* after one very large story */
    if (cdi_story_text_into(s, tb))
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    const char *text = tb->data;
    size_t len = tb->len;
    cd_status st = CD_OK;
    int filled_rows = 0;
    d->cur.toks = NULL;
    d->cur.toks_ready = 0;
    size_t body = (s->title ? s->title_len : 0) + 1;   /* text is title \n body */
    d->cur.title_end = body;
    if (from && share_toks) {
        if (cdi_desk_tokens(from, &d->cur.toks) != CD_OK)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        d->cur.toks_ready = 1;
        d->cur.kw_toks = d->cur.toks;
    } else if (d->sampling) {
        /* the rows counted and the keywords' tokens sampled as it goes;
         * the list only if asked for (cdi_desk_tokens: a rule's
         * story:has, a desk sharing these tokens) */
        d->nrows_fill = 0;
        d->nbatch = 0;
        d->kept = 0;
        d->sample_failed = 0;
        cdi_toklist_clear_sample(d->cur.sample);
        cd_tokenize(d->tok_fill, text, len, scan_token, d);
        if ((d->sample_failed || flush_batch(d)) && st == CD_OK)
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        count_rows(d, d->nrows_fill);
        filled_rows = 1;
        set_zones(d, d->cur.sample);
        d->cur.kw_toks = d->cur.sample;
    } else {
        if (!d->cur.own_toks && !(d->cur.own_toks = cdi_toklist_new()))
            st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        if (st == CD_OK && d->tok_fill) {   /* the rows counted as it goes */
            d->nrows_fill = 0;
            d->nbatch = 0;
            st = cdi_toklist_fill_keep(d->cur.own_toks, d->tok_fill, text, len, keep_token,
                                       d, err);
            if (flush_batch(d) && st == CD_OK)
                st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
            count_rows(d, d->nrows_fill);
            filled_rows = 1;
        } else if (st == CD_OK) {
            st = cdi_toklist_fill(d->cur.own_toks, d->tok, text, len, err);
        }
        if (st == CD_OK)   /* shared tokens have their zones from the other desk */
            set_zones(d, d->cur.own_toks);
        d->cur.toks = d->cur.own_toks;
        d->cur.toks_ready = 1;
        d->cur.kw_toks = d->cur.toks;
    }
    int64_t nrows = filled_rows ? (int64_t)d->nrows_fill : 0;
    if (st == CD_OK && d->lex && !filled_rows && (nrows = lexicon_rows(d, d->cur.toks)) < 0)
        st = cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->nmodels && st == CD_OK; i++) {
        desk_model *m = &d->models[i];
        if (from && share_models[i] >= 0) {
            const desk_model *fm = &from->models[share_models[i]];
            m->scored = fm->scored;
            m->scores = fm->scores;
            m->nscores = fm->nscores;
            continue;
        }
        m->nscores = 0;
        m->scored = m->cls;
        if (m->lex_pos)
            st = cdi_classify_rows(m->cls, d->lex, m->lex_pos - 1, d->rows, d->row_counts,
                                   (size_t)nrows, &m->scores, &m->nscores, err);
        else if (m->shares_tokens)
            st = cdi_classify_from(m->cls, cdi_toklist_each, d->cur.toks, &m->scores,
                                   &m->nscores, err);
        else
            st = cd_classify(m->cls, text, len, &m->scores, &m->nscores, err);
    }
    if (st == CD_OK) {
        d->label_next = 0;
        cdi_topics_score(d->topics, d->cur.kw_toks, topic_label_p, d, d->cur.scores);
        d->cur.analysed = 1;
    }
    return st;
}

cd_status cdi_desk_tokens(cd_desk *d, const cd_toklist **out)
{
    *out = d->cur.toks;
    if (d->cur.toks_ready || !d->sampling || !d->text.data)
        return CD_OK;   /* made, or no story read */
    if (!d->cur.own_toks && !(d->cur.own_toks = cdi_toklist_new()))
        return CD_ERR_NOMEM;
    cd_error e;
    cd_status st = cdi_toklist_fill_keep(d->cur.own_toks, d->tok_fill, d->text.data,
                                         d->text.len, keep_unless_stop, d, &e);
    if (st != CD_OK)
        return st;
    set_zones(d, d->cur.own_toks);
    d->cur.toks = d->cur.own_toks;
    d->cur.toks_ready = 1;
    *out = d->cur.toks;
    return CD_OK;
}

/* ---- decide: the rules ---------------------------------------------------- */

static void add_route(cd_desk *d, size_t dest)
{
    for (size_t i = 0; i < d->nroute; i++)
        if (d->route[i] == dest)
            return;
    d->route_names[d->nroute] = d->dests[dest].name;
    d->route[d->nroute++] = dest;
}

/* Whether rule r may return destination name: any, unless it declared
 * to = ..., which then lists every name it may return. */
static int rule_allows(const desk_rule *r, const char *name)
{
    for (size_t i = 0; i < r->nto; i++)
        if (!strcmp(r->to[i], name))
            return 1;
    return r->nto == 0;
}

/* Add the destination named at idx to the route; 0 and a message in
 * why when it is not a destination name, or not one of the rule's to. */
static int route_name(lua_State *L, cd_desk *d, const desk_rule *r, int idx, char *why,
                      size_t cap)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        snprintf(why, cap, "returned a list holding a %s; expected destination names",
                 luaL_typename(L, idx));
        return 0;
    }
    const char *name = lua_tostring(L, idx);
    int64_t k = cdi_desk_find_dest(d, name);
    if (k < 0) {
        snprintf(why, cap, "returned '%.100s', which is not a destination", name);
        return 0;
    }
    if (!rule_allows(r, name)) {
        snprintf(why, cap, "returned '%.100s', which its to = ... does not list", name);
        return 0;
    }
    add_route(d, (size_t)k);
    return 1;
}

/* The rule's answer at the top of the stack -> route additions.  Returns
 * 1 when the rule named destinations, 0 when not, -1 with why filled when
 * the answer is wrong.  Raises nothing. */
/* A name or a list of names at the top of the stack -> route additions,
 * as take_answer counts them. */
static int take_names(lua_State *L, cd_desk *d, const desk_rule *r, char *why, size_t cap)
{
    int t = lua_type(L, -1);
    if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)))
        return 0;
    if (t == LUA_TSTRING)
        return route_name(L, d, r, -1, why, cap) ? 1 : -1;
    if (t != LUA_TTABLE) {
        snprintf(why, cap, "returned a %s; expected nothing, a destination name or a list "
                 "of names", luaL_typename(L, -1));
        return -1;
    }
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        int ok = route_name(L, d, r, -1, why, cap);
        lua_pop(L, 1);
        if (!ok)
            return -1;
    }
    return n > 0;
}

static int take_answer(lua_State *L, cd_desk *d, const desk_rule *r, char *why, size_t cap)
{
    if (r->when_only) {
        if (!lua_toboolean(L, -1) && r->fn_ref != LUA_NOREF)
            return 0;
        for (size_t i = 0; i < r->nto; i++) {
            int64_t k = cdi_desk_find_dest(d, r->to[i]);
            if (k < 0) {
                snprintf(why, cap, "to = '%.100s', which is not a destination", r->to[i]);
                return -1;
            }
            add_route(d, (size_t)k);
        }
        return r->nto > 0;   /* the loader refuses an empty to; never decide nowhere */
    }
    double until;
    if (cdi_desk_hold_at(L, -1, &until)) {
        /* hold(time, dests): the destinations, held while time is ahead */
        lua_getfield(L, -1, "to");
        int got = take_names(L, d, r, why, cap);
        lua_pop(L, 1);
        if (got > 0 && until > cdi_desk_now(d) && until > d->hold_until)
            d->hold_until = until;
        return got;
    }
    return take_names(L, d, r, why, cap);
}

static void rule_failed(cd_desk *d, size_t i, const char *msg)
{
    desk_rule *r = &d->rules[i];
    r->errors++;
    const char *id = d->cur.story->id ? d->cur.story->id : "?";
    /* msg may live in errbuf's neighbour Lua string: format from a copy */
    char copy[600];
    snprintf(copy, sizeof copy, "%s", msg ? msg : "error");
    snprintf(d->errbuf, ERRBUF, "rule '%.100s' (%.100s) failed on story %.100s: %s", r->name,
             r->where, id, copy);
    d->error = d->errbuf;
}

/* Run rule i on the story at stack index story, with the sandbox's
 * message handler at handler: 1 when it decided, 0 when not, -1 when it
 * failed (d->error says why). */
static int run_rule(lua_State *L, cd_desk *d, size_t i, int story, int handler)
{
    desk_rule *r = &d->rules[i];
    int top = lua_gettop(L);
    size_t ntags = d->cur.tags.n;   /* a rule that fails tags nothing */
    if (r->fn_ref == LUA_NOREF) {
        lua_pushnil(L);
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->fn_ref);
        lua_pushvalue(L, story);
        if (cdi_sandbox_pcallh(d->sb, 1, 1, handler) != LUA_OK) {
            rule_failed(d, i, lua_tostring(L, -1));
            lua_settop(L, top);
            drop_notes(d, &d->cur.tags, ntags);
            return -1;
        }
    }
    char why[300];
    int r_ans = take_answer(L, d, r, why, sizeof why);
    lua_settop(L, top);
    if (r_ans < 0) {
        rule_failed(d, i, why);
        drop_notes(d, &d->cur.tags, ntags);
    }
    return r_ans;
}

/* Protected: make the story object and run the rules.  Sets d->rule when
 * a rule decided.  On a rule error d->error is set, and the route keeps
 * what earlier continue = true rules added (d->nkept), never a part of
 * the failing rule's answer. */
static int decide_protected(lua_State *L)
{
    cd_desk *d = lua_touserdata(L, 1);
    cdi_story_binding_push(L, d);
    int story = lua_gettop(L);
    cdi_sandbox_push_handler(L);   /* one message handler for every rule */
    int handler = lua_gettop(L);
    for (size_t i = 0; i < d->nrules; i++) {
        int r = run_rule(L, d, i, story, handler);
        if (r < 0) {
            d->rule_result[i] = RULE_FAILED;
            d->nroute = d->nkept;
            return 0;
        }
        d->rule_result[i] = r == 0 ? RULE_NOTHING : d->rules[i].cont ? RULE_ADDED : RULE_DECIDED;
        if (r > 0 && !d->rules[i].cont) {
            d->rule = d->rules[i].name;
            d->rules[i].decided++;
            return 0;
        }
        d->nkept = d->nroute;
    }
    return 0;
}

static void decide(cd_desk *d)
{
    lua_State *L = d->L;
    lua_pushcfunction(L, decide_protected);
    lua_pushlightuserdata(L, d);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        snprintf(d->errbuf, ERRBUF, "story %s: %s", d->cur.story->id ? d->cur.story->id : "?",
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        d->error = d->errbuf;
        d->rule = NULL;
        lua_pop(L, 1);
    }
    cdi_story_binding_expire(L);
    if (!d->rule) {
        if (d->error)
            d->nroute = d->nkept;   /* the copies decided before the failure stay */
        add_route(d, (size_t)cdi_desk_find_dest(d, d->fallback));
    }
}

/* ---- reasons and JSON ----------------------------------------------------- */

/* The indexes of the (up to) k best topics scoring at least min. */
static size_t top_topics(const cd_desk *d, size_t *out, size_t k, double min)
{
    size_t n = 0, nt = cdi_topics_count(d->topics);
    for (size_t i = 0; i < nt; i++) {
        double s = d->cur.scores[i].score;
        if (s < min)
            continue;
        size_t j = n < k ? n++ : k;
        if (j == k && s <= d->cur.scores[out[k - 1]].score)
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && d->cur.scores[out[j - 1]].score < s) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    return n;
}

static void make_reason(cd_desk *d)
{
    cd_buf *b = &d->reason;
    cdi_buf_reset(b);
    if (d->rule) {
        int64_t i = -1;
        for (size_t k = 0; k < d->nrules && i < 0; k++)
            if (d->rules[k].name == d->rule)
                i = (int64_t)k;
        /* written piece by piece: a printf per story was a tenth of the
         * decision's JSON */
        cdi_buf_puts(b, "rule '");
        cdi_buf_puts(b, d->rule);
        cdi_buf_puts(b, "' (");
        cdi_buf_puts(b, i < 0 ? "?" : d->rules[i].where ? d->rules[i].where : "(null)");
        cdi_buf_puts(b, ")");
    } else if (d->error) {
        cdi_buf_printf(b, "fallback: %s", d->error);
        for (size_t i = 0; i < d->nkept && i < d->nroute; i++)
            cdi_buf_printf(b, "%s%s", i ? ", " : "; kept the copies earlier rules decided: ",
                           d->route_names[i]);
    } else {
        cdi_buf_puts(b, "fallback: no rule decided");
    }
    if (d->hold_until > 0) {
        char when[40];
        cdi_iso8601_format(d->hold_until, when, sizeof when);
        cdi_buf_printf(b, "; held until %s", when);
    }
    size_t *top = d->top3;
    size_t n = d->ntop3 = top_topics(d, top, 3, 0.01);
    d->top3_gen = d->cur.gen;
    char num[CDI_NUM_MAX];
    for (size_t i = 0; i < n; i++) {
        cdi_buf_puts(b, i ? ", " : "; topics: ");
        cdi_buf_puts(b, cdi_topics_id(d->topics, top[i]));
        cdi_buf_put(b, " ", 1);
        cdi_buf_put(b, num, cdi_fmt_f2(d->cur.scores[top[i]].score, num));
    }
}

static void json_str(cd_buf *b, const char *s)
{
    if (s)
        cdi_buf_json_string(b, s, strlen(s));
    else
        cdi_buf_puts(b, "null");
}

/* ---- the desk's names as JSON ------------------------------------------ */

/* The names every decision's JSON repeats (topics' ids and names, models,
 * labels, destinations, rules, outcomes) live as long as the desk: their
 * JSON is written once, then found by the name's address and what was
 * written (open addressing, never emptied: these names are a fixed set)
 * and copied. */
enum name_kind {
    NAME_PLAIN,       /* the name as a JSON string */
    NAME_TOPIC,       /* {"id":..,"name":..,"score": of the topic of this id */
    NAME_LABEL,       /* {"label":..,"p": */
};

typedef struct name_slot {
    const char *s;
    enum name_kind kind;
    size_t at, len;   /* its JSON: text.data + at */
} name_slot;

struct desk_names {
    name_slot *slots;
    size_t cap, n;    /* cap a power of two, n < cap / 2 */
    cd_buf text;
};

static struct desk_names *names_new(void)
{
    return calloc(1, sizeof(struct desk_names));
}

static void names_free(struct desk_names *nm)
{
    if (!nm)
        return;
    free(nm->slots);
    cdi_buf_free(&nm->text);
    free(nm);
}

static size_t name_hash(const char *s, enum name_kind kind, size_t cap)
{
    uint64_t k = (uint64_t)(uintptr_t)s + (uint64_t)kind;
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* Put the JSON remembered for s and kind into b: 1, or 0 when there is
 * none (or no memo). */
static int names_put(cd_buf *b, const cd_desk *d, const char *s, enum name_kind kind)
{
    struct desk_names *nm = d->names;
    if (!nm || !nm->cap)
        return 0;
    for (size_t j = name_hash(s, kind, nm->cap); nm->slots[j].s; j = (j + 1) & (nm->cap - 1)) {
        const name_slot *e = &nm->slots[j];
        if (e->s == s && e->kind == kind) {
            cdi_buf_put(b, nm->text.data + e->at, e->len);
            return 1;
        }
    }
    return 0;
}

/* Remember what b got since at as the JSON of s and kind; nothing when b
 * failed or memory is short. */
static void names_keep(cd_buf *b, const cd_desk *d, const char *s, enum name_kind kind,
                       size_t at)
{
    struct desk_names *nm = d->names;
    if (!nm || !s || b->failed)   /* a NULL s marks a free slot */
        return;
    if (2 * (nm->n + 1) > nm->cap) {
        size_t cap = nm->cap ? 2 * nm->cap : 64;
        name_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return;
        for (size_t i = 0; i < nm->cap; i++) {
            if (!nm->slots[i].s)
                continue;
            size_t j = name_hash(nm->slots[i].s, nm->slots[i].kind, cap);
            while (slots[j].s)
                j = (j + 1) & (cap - 1);
            slots[j] = nm->slots[i];
        }
        free(nm->slots);
        nm->slots = slots;
        nm->cap = cap;
    }
    size_t from = nm->text.len, len = b->len - at;
    cdi_buf_put(&nm->text, b->data + at, len);
    if (nm->text.failed)
        return;
    size_t j = name_hash(s, kind, nm->cap);
    while (nm->slots[j].s)
        j = (j + 1) & (nm->cap - 1);
    nm->slots[j] = (name_slot){ s, kind, from, len };
    nm->n++;
}

/* json_str of s, a name that lives as long as the desk. */
static void json_name(cd_buf *b, const cd_desk *d, const char *s)
{
    if (!s) {
        cdi_buf_puts(b, "null");
        return;
    }
    if (names_put(b, d, s, NAME_PLAIN))
        return;
    size_t at = b->len;
    json_str(b, s);
    names_keep(b, d, s, NAME_PLAIN, at);
}

/* {"id":..,"name":..,"score": of topic t. */
static void json_topic_head(cd_buf *b, const cd_desk *d, size_t t)
{
    const char *id = cdi_topics_id(d->topics, t);
    if (names_put(b, d, id, NAME_TOPIC))
        return;
    size_t at = b->len;
    cdi_buf_puts(b, "{\"id\":");
    json_str(b, id);
    cdi_buf_puts(b, ",\"name\":");
    json_str(b, cdi_topics_name(d->topics, t));
    cdi_buf_puts(b, ",\"score\":");
    names_keep(b, d, id, NAME_TOPIC, at);
}

/* {"label":..,"p": of label (a model's). */
static void json_label_head(cd_buf *b, const cd_desk *d, const char *label)
{
    if (names_put(b, d, label, NAME_LABEL))
        return;
    size_t at = b->len;
    cdi_buf_puts(b, "{\"label\":");
    json_str(b, label);
    cdi_buf_puts(b, ",\"p\":");
    names_keep(b, d, label, NAME_LABEL, at);
}

static void json_route(cd_buf *b, const cd_desk *d)
{
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < d->nroute; i++) {
        cdi_buf_puts(b, i ? "," : "");
        json_name(b, d, d->route_names[i]);
    }
    cdi_buf_puts(b, "]");
}

static void json_strv(cd_buf *b, char **v, size_t n)
{
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        cdi_buf_puts(b, i ? "," : "");
        json_str(b, v[i]);
    }
    cdi_buf_puts(b, "]");
}

static void json_topics(cd_buf *b, const cd_desk *d, size_t k)
{
    size_t nt = cdi_topics_count(d->topics);
    const size_t *top = d->top3;
    size_t n = d->ntop3;
    if (k != 3 || d->top3_gen != d->cur.gen) {   /* not the reason's three */
        n = top_topics(d, d->top, k < nt ? k : nt, 0.01);   /* nt entries */
        top = d->top;
    }
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        cdi_buf_puts(b, i ? "," : "");
        json_topic_head(b, d, top[i]);
        cdi_buf_json_number(b, d->cur.scores[top[i]].score);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "]");
}

/* {"bbc":[{"label":..,"p":..},...],...}: up to max of the chosen labels
 * (a model always chooses at least one), most probable first. */
static void json_labels(cd_buf *b, const cd_desk *d, size_t max)
{
    cdi_buf_puts(b, "{");
    for (size_t i = 0; i < d->nmodels; i++) {
        const desk_model *m = &d->models[i];
        cdi_buf_puts(b, i ? "," : "");
        json_name(b, d, m->name);
        cdi_buf_puts(b, ":[");
        size_t shown = 0;
        for (size_t j = 0; j < m->nscores && shown < max; j++) {
            if (!m->scores[j].chosen)
                continue;
            cdi_buf_puts(b, shown++ ? "," : "");
            json_label_head(b, d, cd_model_label(m->model, m->scores[j].label));
            cdi_buf_json_number(b, m->scores[j].p);
            cdi_buf_puts(b, "}");
        }
        cdi_buf_puts(b, "]");
    }
    cdi_buf_puts(b, "}");
}

/* ,"held_until":"2026-...Z" when the story is held. */
static void json_held(cd_buf *b, const cd_desk *d)
{
    if (d->hold_until <= 0)
        return;
    char when[40];
    cdi_iso8601_format(d->hold_until, when, sizeof when);
    cdi_buf_puts(b, ",\"held_until\":");
    json_str(b, when);
}

/* ,"title":..,"body":..,"meta":{..} and, when the story has gold labels,
 * ,"gold_labels":[..]: what reading the JSON back needs to give the same
 * story (core/story/story.c). */
static void json_story_fields(cd_buf *b, const cd_story *s)
{
    cdi_buf_puts(b, ",\"title\":");
    cdi_buf_json_string(b, s->title ? s->title : "", s->title ? s->title_len : 0);
    cdi_buf_puts(b, ",\"body\":");
    cdi_buf_json_string(b, s->body ? s->body : "", s->body ? s->body_len : 0);
    cdi_buf_puts(b, ",\"meta\":");
    const char *meta = s->meta_json;
    cdi_buf_puts(b, meta && meta[0] == '{' ? meta : "{}");
    if (s->nlabels) {
        cdi_buf_puts(b, ",\"gold_labels\":");
        json_strv(b, s->labels, s->nlabels);
    }
}

/* The JSON delivered: the story, its topics and labels, route and rule. */
static void story_json(cd_desk *d, cd_buf *b)
{
    const cd_story *s = d->cur.story;
    cdi_buf_reset(b);
    cdi_buf_puts(b, "{\"id\":");
    json_str(b, s->id ? s->id : "");
    json_story_fields(b, s);
    cdi_buf_puts(b, ",\"topics\":");
    json_topics(b, d, cdi_topics_count(d->topics));
    cdi_buf_puts(b, ",\"labels\":");
    json_labels(b, d, 5);
    cdi_buf_puts(b, ",\"tags\":");
    json_strv(b, d->cur.tags.v, d->cur.tags.n);
    cdi_buf_puts(b, ",\"route\":");
    json_route(b, d);
    cdi_buf_puts(b, ",\"rule\":");
    json_name(b, d, d->rule);
    cdi_buf_puts(b, ",\"reason\":");
    json_str(b, d->reason.data ? d->reason.data : "");
    json_held(b, d);
    cdi_buf_puts(b, "}");
}

/* ---- deliver -------------------------------------------------------------- */

static void note_error(cd_desk *d, const char *fmt, const char *a, const char *b)
{
    if (d->error)
        return;   /* keep the first */
    snprintf(d->errbuf, ERRBUF, fmt, a, b);
    d->error = d->errbuf;
}

/* Deliver json to the destinations of the current route; the outcome
 * when every destination took it is ok.  A format = "ninjs" destination
 * gets ninjs: made from the story in hand (live), or, for a released
 * held story, the ninjs kept with it (held), or its JSON when none was. */
static cd_outcome deliver_json(cd_desk *d, const char *id, const char *json, size_t len,
                               int live, const cd_buf *held, cd_outcome ok)
{
    int dead = 0, failed = 0, ninjs_made = 0;
    for (size_t i = 0; i < d->nroute; i++) {
        desk_dest *ds = &d->dests[d->route[i]];
        cd_buf doc_json = { .data = (char *)json, .len = len };
        cd_buf *doc = &doc_json;
        if (ds->ninjs && live) {   /* format = "ninjs": made once, for the first that wants it */
            if (!ninjs_made++)
                cdi_desk_ninjs_write(d, &d->ninjs);
            doc = &d->ninjs;
        } else if (ds->ninjs && held) {
            doc = (cd_buf *)held;
        }
        cd_error e;
        cd_status st = doc->failed
            ? cd_error_set(&e, CD_ERR_NOMEM, "out of memory building the story's ninjs")
            : cdi_dest_deliver(ds->dest, id, doc->data, doc->len, &e);
        if (st == CD_OK) {
            ds->delivered++;
            continue;
        }
        ds->failed++;
        char why[sizeof e.msg];
        memcpy(why, e.msg, sizeof why);
        if (cdi_dest_dead_letter(ds->dest, id, why, json, len, &e) == CD_OK) {
            dead = 1;
            note_error(d, "destination '%s': %s (story kept in dead letter)", ds->name, why);
        } else {
            failed = 1;
            note_error(d, "destination '%s' and dead letter: %s", ds->name, e.msg);
        }
    }
    if (failed)
        return CD_OUTCOME_FAILED;
    if (dead)
        return CD_OUTCOME_DEAD_LETTER;
    return ok;
}

static cd_outcome deliver(cd_desk *d)
{
    if (!d->json_ready)   /* else made by cdi_desk_stage */
        story_json(d, &d->json);
    d->json_ready = 0;
    if (d->json.failed) {
        note_error(d, "%s%s", "out of memory building the story JSON", "");
        return CD_OUTCOME_FAILED;
    }
    const char *id = d->cur.story->id ? d->cur.story->id : "";
    return deliver_json(d, id, d->json.data, d->json.len, 1, NULL,
                        d->rule ? CD_OUTCOME_ROUTED : CD_OUTCOME_FALLBACK);
}

void cdi_desk_stage(cd_desk *d)
{
    if (!d->cur.story || d->hold_until > 0 || d->json_ready)
        return;
    story_json(d, &d->json);
    if (d->json.failed)
        return;   /* deliver makes it again, and says so */
    d->json_ready = 1;
    const char *id = d->cur.story->id ? d->cur.story->id : "";
    for (size_t i = 0; i < d->nroute; i++) {
        const desk_dest *ds = &d->dests[d->route[i]];
        if (!ds->ninjs)   /* a ninjs destination gets another document */
            cdi_dest_stage(ds->dest, id, d->json.data, d->json.len);
    }
}

/* A held story: given to the hold fn to keep (copydesk watch), or, with
 * none (copydesk route), reported as held and not delivered.  When the
 * keeper fails the story goes to dead letter rather than out early. */
static cd_outcome hold(cd_desk *d)
{
    if (!d->hold_fn)
        return CD_OUTCOME_HELD;
    story_json(d, &d->json);
    if (d->json.failed) {
        note_error(d, "%s%s", "out of memory building the story JSON", "");
        return CD_OUTCOME_FAILED;
    }
    const char *id = d->cur.story->id ? d->cur.story->id : "";
    /* kept as ninjs too when a destination wants it: made from the story
     * in hand, which is gone when the story is released */
    int wants_ninjs = 0;
    for (size_t i = 0; i < d->nroute; i++)
        wants_ninjs |= d->dests[d->route[i]].ninjs;
    if (wants_ninjs) {
        cdi_desk_ninjs_write(d, &d->ninjs);
        if (d->ninjs.failed) {
            note_error(d, "%s%s", "out of memory building the story's ninjs", "");
            return CD_OUTCOME_FAILED;
        }
    }
    cd_error e;
    if (d->hold_fn(d->hold_ud, d->hold_until, id, d->json.data, d->json.len,
                   wants_ninjs ? d->ninjs.data : NULL, wants_ninjs ? d->ninjs.len : 0,
                   d->route_names, d->nroute, &e) == CD_OK)
        return CD_OUTCOME_HELD;
    char why[sizeof e.msg];
    memcpy(why, e.msg, sizeof why);
    /* the first destination's dead-letter folder: where it would have gone */
    if (cdi_dest_dead_letter(d->dests[d->route[0]].dest, id, why, d->json.data, d->json.len,
                             &e) == CD_OK) {
        note_error(d, "cannot keep the held story: %s%s", why, " (story kept in dead letter)");
        return CD_OUTCOME_DEAD_LETTER;
    }
    note_error(d, "cannot keep the held story, nor write it to dead letter: %s%s", e.msg, "");
    return CD_OUTCOME_FAILED;
}

/* ---- one story ------------------------------------------------------------ */

static void count(cd_desk *d, int rule_error)
{
    d->stats.stories++;
    d->stats.rule_errors += rule_error != 0;
    switch (d->outcome) {
    case CD_OUTCOME_ROUTED: d->stats.routed++; break;
    case CD_OUTCOME_FALLBACK: d->stats.fallback++; break;
    case CD_OUTCOME_DEAD_LETTER: d->stats.dead_letter++; break;
    case CD_OUTCOME_FAILED: d->stats.failed++; break;
    case CD_OUTCOME_HELD: d->stats.held++; break;
    }
}

/* Analyse the story and run the rules: the route, the rule, the reason. */
static void decide_story(cd_desk *d, const cd_story *s)
{
    reset_story(d);
    d->cur.story = s;
    d->cur.gen++;
    d->cur.live = 1;
    d->received = s->received > 0 ? s->received : cdi_desk_now(d);
    cd_error e;
    if (analyse(d, s, &e) != CD_OK) {
        snprintf(d->errbuf, ERRBUF, "story %s: %s", s->id ? s->id : "?", e.msg);
        d->error = d->errbuf;
        memset(d->cur.scores, 0, cdi_topics_count(d->topics) * sizeof *d->cur.scores);
        add_route(d, (size_t)cdi_desk_find_dest(d, d->fallback));
    } else {
        decide(d);
    }
    d->cur.live = 0;
    make_reason(d);
}

/* Deliver the decided story unless dry; counted when counted. */
static void finish_story(cd_desk *d, int dry, int counted)
{
    int rule_error = d->error != NULL;
    if (d->hold_until > 0)
        d->outcome = dry ? CD_OUTCOME_HELD : hold(d);
    else if (dry)
        d->outcome = d->rule ? CD_OUTCOME_ROUTED : CD_OUTCOME_FALLBACK;
    else
        d->outcome = deliver(d);
    if (counted) {
        count(d, rule_error);
        if (dry && d->outcome != CD_OUTCOME_HELD)
            for (size_t i = 0; i < d->nroute; i++)
                d->dests[d->route[i]].delivered++;
    }
}

/* Decide (and deliver unless dry) the story; counted when counted. */
static void route_story(cd_desk *d, const cd_story *s, int dry, int counted)
{
    decide_story(d, s);
    finish_story(d, dry, counted);
}

void cdi_desk_decide_quietly(cd_desk *d, const cd_story *story)
{
    route_story(d, story, 1, 0);
}

cd_status cd_desk_route(cd_desk *d, const cd_story *story, int dry_run, cd_decision *out,
                        cd_error *err)
{
    (void)err;
    route_story(d, story, dry_run, 1);
    out->outcome = d->outcome;
    out->route = d->route_names;
    out->nroute = d->nroute;
    out->rule = d->rule;
    out->reason = d->reason.data ? d->reason.data : "";
    out->error = d->error;
    out->held_until = d->outcome == CD_OUTCOME_HELD ? d->hold_until : 0;
    return CD_OK;
}

void cd_desk_decide(cd_desk *d, const cd_story *story)
{
    decide_story(d, story);
}

void cd_desk_deliver(cd_desk *d, int dry_run, cd_decision *out)
{
    finish_story(d, dry_run, 1);
    out->outcome = d->outcome;
    out->route = d->route_names;
    out->nroute = d->nroute;
    out->rule = d->rule;
    out->reason = d->reason.data ? d->reason.data : "";
    out->error = d->error;
    out->held_until = d->outcome == CD_OUTCOME_HELD ? d->hold_until : 0;
}

const char *cd_outcome_name(cd_outcome o)
{
    switch (o) {
    case CD_OUTCOME_ROUTED: return "routed";
    case CD_OUTCOME_FALLBACK: return "fallback";
    case CD_OUTCOME_DEAD_LETTER: return "dead-letter";
    case CD_OUTCOME_FAILED: return "failed";
    case CD_OUTCOME_HELD: return "held";
    }
    return "?";
}

/* ,"given":{"label":..,"p":..},"m":.. for a topic whose label evidence a
 * given label scaled: m = its best label's p x the given label's p. */
static void json_given(cd_buf *b, const cd_desk *d, size_t i)
{
    const char *g = cdi_topics_given(d->topics, i);
    const cd_topic_score *s = &d->cur.scores[i];
    if (!g || s->best_label < 0 ||
        !strcmp(cdi_topics_label(d->topics, i, (size_t)s->best_label), g))
        return;   /* no given, or the given label is the evidence itself: unscaled */
    double p = cdi_desk_label_p(g, (void *)d);
    cdi_buf_puts(b, ",\"given\":{\"label\":");
    json_str(b, g);
    cdi_buf_puts(b, ",\"p\":");
    cdi_buf_json_number(b, p < 0 ? 0 : p);
    cdi_buf_puts(b, "},\"m\":");
    cdi_buf_json_number(b, s->label_p);
}

/* "rules":[{"rule":..,"result":..}]: what each rule did with the story. */
static void json_rules(cd_buf *b, const cd_desk *d)
{
    static const char *const names[] = { "not run", "nothing", "added", "decided", "failed" };
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < d->nrules; i++) {
        cdi_buf_puts(b, i ? ",{\"rule\":" : "{\"rule\":");
        json_name(b, d, d->rules[i].name);
        cdi_buf_puts(b, ",\"result\":");
        json_name(b, d, names[d->rule_result[i] < 5 ? d->rule_result[i] : 0]);
        cdi_buf_puts(b, "}");
    }
    cdi_buf_puts(b, "]");
}

/* Per topic with a score: its labels and keywords that contributed. */
static void json_evidence(cd_buf *b, const cd_desk *d)
{
    const cd_topics *t = d->topics;
    int first = 1;
    cdi_buf_puts(b, "[");
    for (size_t i = 0; i < cdi_topics_count(t); i++) {
        const cd_topic_score *s = &d->cur.scores[i];
        if (s->score < 0.01)
            continue;
        cdi_buf_puts(b, first ? "{\"topic\":" : ",{\"topic\":");
        first = 0;
        json_str(b, cdi_topics_id(t, i));
        cdi_buf_puts(b, ",\"score\":");
        cdi_buf_json_number(b, s->score);
        cdi_buf_puts(b, ",\"own\":");
        cdi_buf_json_number(b, s->own);
        cdi_buf_puts(b, ",\"labels\":[");
        for (size_t j = 0, k = 0; j < cdi_topics_labels(t, i); j++) {
            double p = cdi_desk_label_p(cdi_topics_label(t, i, j), (void *)d);
            if (p < 0.01)
                continue;
            cdi_buf_puts(b, k++ ? ",{\"label\":" : "{\"label\":");
            json_str(b, cdi_topics_label(t, i, j));
            cdi_buf_puts(b, ",\"p\":");
            cdi_buf_json_number(b, p);
            cdi_buf_puts(b, "}");
        }
        cdi_buf_puts(b, "]");
        json_given(b, d, i);
        cdi_buf_puts(b, ",\"keywords\":[");
        for (size_t j = 0, k = 0; j < cdi_topics_keywords(t, i); j++) {
            size_t hits = cdi_topics_keyword_hits(t, i, j, d->cur.kw_toks);
            if (!hits)
                continue;
            cdi_buf_puts(b, k++ ? ",{\"keyword\":" : "{\"keyword\":");
            json_str(b, cdi_topics_keyword(t, i, j));
            cdi_buf_printf(b, ",\"hits\":%zu}", hits);
        }
        cdi_buf_puts(b, "]}");
    }
    cdi_buf_puts(b, "]");
}

int cdi_desk_decision_json_to(cd_desk *d, int explain, cd_buf *out)
{
    if (!d->cur.story)
        return -1;
    cd_buf *b = out;
    cdi_buf_puts(b, "{\"id\":");
    json_str(b, d->cur.story->id ? d->cur.story->id : "");
    cdi_buf_puts(b, ",\"source\":");
    json_str(b, d->cur.story->source);
    cdi_buf_puts(b, ",\"outcome\":");
    json_name(b, d, cd_outcome_name(d->outcome));
    cdi_buf_puts(b, ",\"route\":");
    json_route(b, d);
    cdi_buf_puts(b, ",\"rule\":");
    json_name(b, d, d->rule);
    cdi_buf_puts(b, ",\"reason\":");
    json_str(b, d->reason.data ? d->reason.data : "");
    cdi_buf_puts(b, ",\"error\":");
    json_str(b, d->error);
    json_held(b, d);
    cdi_buf_puts(b, ",\"topics\":");
    json_topics(b, d, explain ? cdi_topics_count(d->topics) : 3);
    cdi_buf_puts(b, ",\"labels\":");
    json_labels(b, d, explain ? 5 : 1);
    cdi_buf_puts(b, ",\"tags\":");
    json_strv(b, d->cur.tags.v, d->cur.tags.n);
    cdi_buf_puts(b, ",\"log\":");
    json_strv(b, d->cur.log.v, d->cur.log.n);
    if (explain) {
        cdi_buf_puts(b, ",\"evidence\":");
        json_evidence(b, d);
        cdi_buf_puts(b, ",\"rules\":");
        json_rules(b, d);
    }
    json_story_fields(b, d->cur.story);
    cdi_buf_puts(b, "}");
    return b->failed ? -1 : 0;
}

char *cd_desk_decision_json(cd_desk *d, int explain)
{
    cd_buf b = { 0 };
    if (cdi_desk_decision_json_to(d, explain, &b) != 0) {
        cdi_buf_free(&b);
        return NULL;
    }
    return b.data;
}

cd_status cdi_desk_classify_json(cd_desk *d, const cd_story *s, int explain, cd_buf *b,
                                 cd_error *err)
{
    reset_story(d);
    d->cur.story = s;
    d->cur.gen++;
    d->received = s->received > 0 ? s->received : cdi_desk_now(d);
    cd_status st = analyse(d, s, err);
    if (st != CD_OK) {
        d->cur.story = NULL;   /* nothing decided: no decision JSON for it */
        return st;
    }
    cdi_buf_puts(b, "{\"id\":");
    json_str(b, s->id ? s->id : "");
    cdi_buf_puts(b, ",\"labels\":");
    json_labels(b, d, explain ? 5 : 1);
    cdi_buf_puts(b, ",\"topics\":");
    json_topics(b, d, explain ? cdi_topics_count(d->topics) : 3);
    if (explain) {
        cdi_buf_puts(b, ",\"evidence\":");
        json_evidence(b, d);
    }
    cdi_buf_puts(b, "}");
    d->cur.story = NULL;   /* the caller's story goes away after this */
    return b->failed ? cd_error_set(err, CD_ERR_NOMEM, "out of memory") : CD_OK;
}

void cdi_desk_decision_summary(const cd_desk *d, cd_buf *b)
{
    const char *where = NULL;
    for (size_t i = 0; i < d->nrules && d->rule; i++)
        if (d->rules[i].name == d->rule)
            where = d->rules[i].where;
    cdi_buf_puts(b, "\"rule_at\":");
    json_str(b, where);
    cdi_buf_puts(b, ",\"topics\":");
    if (d->cur.story) {
        json_topics(b, d, 3);
        cdi_buf_puts(b, ",\"labels\":");
        json_labels(b, d, 1);
    } else {
        cdi_buf_puts(b, "[],\"labels\":{}");   /* a released held story */
    }
}

/* ---- counters --------------------------------------------------------------- */

void cd_desk_get_stats(const cd_desk *d, cd_desk_stats *stats) { *stats = d->stats; }
const char *cd_desk_fallback(const cd_desk *d) { return d->fallback; }
size_t cd_desk_destinations(const cd_desk *d) { return d->ndests; }
const char *cd_desk_destination_name(const cd_desk *d, size_t i) { return d->dests[i].name; }
uint64_t cd_desk_destination_delivered(const cd_desk *d, size_t i) { return d->dests[i].delivered; }
uint64_t cd_desk_destination_failed(const cd_desk *d, size_t i) { return d->dests[i].failed; }
size_t cd_desk_rules(const cd_desk *d) { return d->nrules; }
const char *cd_desk_rule_name(const cd_desk *d, size_t i) { return d->rules[i].name; }
uint64_t cd_desk_rule_decided(const cd_desk *d, size_t i) { return d->rules[i].decided; }
uint64_t cd_desk_rule_errors(const cd_desk *d, size_t i) { return d->rules[i].errors; }
size_t cd_desk_models(const cd_desk *d) { return d->nmodels; }
size_t cd_desk_topics(const cd_desk *d) { return cdi_topics_count(d->topics); }
size_t cd_desk_expects(const cd_desk *d) { return d->nexpects; }

/* ---- held stories (copydesk watch) ------------------------------------------ */

void cdi_desk_set_hold(cd_desk *d, cd_desk_hold_fn fn, void *ud)
{
    d->hold_fn = fn;
    d->hold_ud = ud;
}

cd_status cdi_desk_release(cd_desk *d, const char *id, const char *json, size_t len,
                           const char *ninjs, size_t nlen, const char *const *route, size_t nroute, cd_decision *out,
                           cd_error *err)
{
    (void)err;
    reset_story(d);
    d->cur.story = NULL;
    int lost = 0;
    for (size_t i = 0; i < nroute; i++) {
        int64_t k = cdi_desk_find_dest(d, route[i]);
        if (k >= 0)
            add_route(d, (size_t)k);
        else
            lost = 1;
    }
    if (lost || d->nroute == 0)
        add_route(d, (size_t)cdi_desk_find_dest(d, d->fallback));
    cdi_buf_printf(&d->reason, "released: held until its time%s",
                   lost ? "; a destination it was held for is gone: the fallback" : "");
    cd_buf held = { .data = (char *)ninjs, .len = nlen };
    d->outcome = deliver_json(d, id, json, len, 0, ninjs ? &held : NULL, lost ? CD_OUTCOME_FALLBACK : CD_OUTCOME_ROUTED);
    count(d, 0);
    out->outcome = d->outcome;
    out->route = d->route_names;
    out->nroute = d->nroute;
    out->rule = NULL;
    out->reason = d->reason.data ? d->reason.data : "";
    out->error = d->error;
    out->held_until = 0;
    return CD_OK;
}
