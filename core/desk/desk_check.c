/*
 * desk_check.c - what `copydesk check` runs: static checks of a loaded
 * desk and its expect cases (see cd_desk_validate, cd_desk_run_expect).
 *
 * Rules return destinations dynamically, so an unknown name can only be
 * certain at route time (where it is an error of the rule and the story
 * goes to the fallback).  Before that, three nets catch most mistakes:
 * a rule's declared `to = ...`, the literal names a rule's source returns
 * (`return "trade-desk"`, `return { "a", "b" }`, found by scanning the
 * lines of the function), and the expect cases, which run the rules on
 * sample stories.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "desk/desk_internal.h"
#include "desk/isotime.h"
#include "desk/suggest.h"

typedef struct problems {
    cd_problem_fn fn;
    void *ud;
    size_t n;
} problems;

static void problem(problems *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void problem(problems *p, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->n++;
    if (p->fn)
        p->fn(msg, p->ud);
}

/* ---- names, and the nearest one to a typo ----------------------------- */

static const char *topic_at(const void *ud, size_t i)
{
    return cdi_topics_id(((const cd_desk *)ud)->topics, i);
}

static const char *model_at(const void *ud, size_t i)
{
    return ((const cd_desk *)ud)->models[i].name;
}

static const char *dest_at(const void *ud, size_t i)
{
    return ((const cd_desk *)ud)->dests[i].name;
}

static const char *label_at(const void *ud, size_t i)
{
    return cd_model_label((const cd_model *)ud, (uint32_t)i);
}

static uint32_t model_labels(const cd_model *m)
{
    cd_model_info info;
    cd_model_get_info(m, &info);
    return info.labels;
}

/* " (did you mean 'x'?)" or "" into buf. */
static const char *mean(char *buf, size_t cap, const char *near)
{
    if (near)
        snprintf(buf, cap, " (did you mean '%s'?)", near);
    else
        buf[0] = '\0';
    return buf;
}

/* The names a list holds, "a, b, c" (cut at cap). */
static const char *name_list(char *buf, size_t cap, cd_name_at_fn at, const void *ud, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", at(ud, i));
    return buf;
}

/* ---- labels ------------------------------------------------------------- */

/* The model a "model:label" spec names, or -1 (a plain label). */
static int64_t spec_model(const cd_desk *d, const char *spec, const char **label)
{
    const char *colon = strchr(spec, ':');
    *label = spec;
    for (size_t i = 0; colon && i < d->nmodels; i++) {
        const char *name = d->models[i].name;
        if (strlen(name) == (size_t)(colon - spec) && !strncmp(name, spec, strlen(name))) {
            *label = colon + 1;
            return (int64_t)i;
        }
    }
    return -1;
}

static int label_known(const cd_desk *d, const char *spec)
{
    const char *label;
    int64_t m = spec_model(d, spec, &label);
    for (size_t i = 0; i < d->nmodels; i++)
        if ((m < 0 || (size_t)m == i) && cd_model_find_label(d->models[i].model, label) >= 0)
            return 1;
    return 0;
}

/* What is wrong with an unknown label spec, with the nearest label and
 * the labels of the model it names (or of every model). */
static void label_why(const cd_desk *d, const char *spec, char *out, size_t cap)
{
    const char *label;
    int64_t m = spec_model(d, spec, &label);
    char near[300], list[2400];
    size_t k = 0;
    if (m >= 0) {
        const cd_model *mo = d->models[m].model;
        uint32_t n = model_labels(mo);
        snprintf(out, cap, "model '%s' has no label '%s'%s; its labels: %s", d->models[m].name,
                 label, mean(near, sizeof near, cdi_suggest(label, label_at, mo, n)),
                 name_list(list, sizeof list, label_at, mo, n));
        return;
    }
    const char *best = NULL;
    for (size_t i = 0; i < d->nmodels && !best; i++)
        best = cdi_suggest(label, label_at, d->models[i].model, model_labels(d->models[i].model));
    k += (size_t)snprintf(out, cap, "no model of this desk has the label '%s'%s", label,
                          mean(near, sizeof near, best));
    for (size_t i = 0; i < d->nmodels && k + 1 < cap; i++) {
        const cd_model *mo = d->models[i].model;
        k += (size_t)snprintf(out + k, cap - k, "; labels of '%s': %s", d->models[i].name,
                              name_list(list, sizeof list, label_at, mo, model_labels(mo)));
    }
}

static void check_labels(const cd_desk *d, problems *p)
{
    const cd_topics *t = d->topics;
    const char *where = d->taxonomy_where ? d->taxonomy_where : d->path;
    char why[3000];
    for (size_t i = 0; i < cdi_topics_count(t); i++)
        for (size_t j = 0; j < cdi_topics_labels(t, i); j++)
            if (!label_known(d, cdi_topics_label(t, i, j))) {
                label_why(d, cdi_topics_label(t, i, j), why, sizeof why);
                problem(p, "%s: topic '%s': label '%s' is in no model of this desk: %s", where,
                        cdi_topics_id(t, i), cdi_topics_label(t, i, j), why);
            }
    for (size_t i = 0; i < cdi_topics_count(t); i++) {
        const char *g = cdi_topics_given(t, i);
        int own = g && (cdi_topics_parent(t, i) < 0 ||
                        g != cdi_topics_given(t, (size_t)cdi_topics_parent(t, i)));
        if (own && !label_known(d, g)) {
            label_why(d, g, why, sizeof why);
            problem(p, "%s: topic '%s': given label '%s' is in no model of this desk: %s",
                    where, cdi_topics_id(t, i), g, why);
        }
    }
}

/* ---- rules: to = ..., and the literals a rule's source shows -------------
 *
 * The lines of a rule's function are scanned (comments cut) for what can
 * be checked without running it:
 *   return "x" / return { "x", "y" }     destinations (and within to = ...)
 *   :topic("x")                          topic ids
 *   <t>.id == "x" in a rule that calls :topics()   topic ids
 *   :label("m") / :labels("m")           model names
 *   :prob("m:label") / :prob("label")    labels
 *   :has / :count / :near ("phrase")     phrases that leave a word, scopes
 * Calls may drop the parentheses (story:topic "x"). */

typedef struct scan_ctx {
    cd_desk *d;
    const desk_rule *r;
    problems *p;
    int line;
    char param[64];      /* the rule function's story parameter */
    int uses_topics;     /* the rule calls :topics(): .id == "x" are topic ids */
} scan_ctx;

/* The string literal at s (after blanks) into out; past it, or NULL. */
static const char *literal(const char *s, char *out, size_t cap)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '"' && *s != '\'')
        return NULL;
    char q = *s++;
    size_t n = 0;
    while (*s && *s != q && *s != '\\' && n + 1 < cap)
        out[n++] = *s++;
    if (*s != q)
        return NULL;
    out[n] = '\0';
    return s + 1;
}

static void check_returned(scan_ctx *c, const char *name)
{
    char near[300];
    if (cdi_desk_find_dest(c->d, name) < 0)
        problem(c->p, "%s:%d: rule '%s' returns '%s', which is not a destination%s",
                c->r->src, c->line, c->r->name, name,
                mean(near, sizeof near, cdi_suggest(name, dest_at, c->d, c->d->ndests)));
    else if (c->r->nto) {
        int listed = 0;
        for (size_t i = 0; i < c->r->nto && !listed; i++)
            listed = !strcmp(c->r->to[i], name);
        if (!listed)
            problem(c->p, "%s:%d: rule '%s' returns '%s', which its to = ... does not list "
                    "(the rule would fail on every story that takes this return)",
                    c->r->src, c->line, c->r->name, name);
    }
}

/* `return "x"` and `return { "x", 'y' }` on a line. */
static void scan_returns(scan_ctx *c, const char *line)
{
    for (const char *r = strstr(line, "return"); r; r = strstr(r + 6, "return")) {
        if ((r > line && (isalnum((unsigned char)r[-1]) || r[-1] == '_')) ||
            isalnum((unsigned char)r[6]) || r[6] == '_')
            continue;
        const char *s = r + 6;
        while (*s == ' ' || *s == '\t')
            s++;
        int list = *s == '{';
        s += list;
        for (;;) {
            char name[128];
            const char *next = literal(s, name, sizeof name);
            if (!next)
                break;
            check_returned(c, name);
            s = next;
            while (*s == ' ' || *s == '\t')
                s++;
            if (!list || *s != ',')
                break;
            s++;
        }
    }
}

static void check_topic_id(scan_ctx *c, const char *id)
{
    char near[300], list[1500];
    if (cdi_topics_find(c->d->topics, id) >= 0)
        return;
    size_t n = cdi_topics_count(c->d->topics);
    const char *best = cdi_suggest(id, topic_at, c->d, n);
    problem(c->p, "%s:%d: rule '%s': unknown topic '%s'%s%s%s", c->r->src, c->line,
            c->r->name, id, mean(near, sizeof near, best), best ? "" : "; topics: ",
            best ? "" : name_list(list, sizeof list, topic_at, c->d, n));
}

static void check_model_name(scan_ctx *c, const char *name)
{
    char near[300], list[1000];
    if (cdi_desk_find_model(c->d, name) >= 0)
        return;
    problem(c->p, "%s:%d: rule '%s': unknown model '%s'%s; models: %s", c->r->src, c->line,
            c->r->name, name,
            mean(near, sizeof near, cdi_suggest(name, model_at, c->d, c->d->nmodels)),
            name_list(list, sizeof list, model_at, c->d, c->d->nmodels));
}

static void check_label_spec(scan_ctx *c, const char *spec)
{
    char why[3000];
    if (label_known(c->d, spec))
        return;
    label_why(c->d, spec, why, sizeof why);
    problem(c->p, "%s:%d: rule '%s': %s", c->r->src, c->line, c->r->name, why);
}

static void check_phrase(scan_ctx *c, const char *text)
{
    cd_phrase *ph;
    cd_error e;
    if (cdi_phrase_compile(c->d->tok, text, &ph, &e) != CD_OK)
        problem(c->p, "%s:%d: rule '%s': %s", c->r->src, c->line, c->r->name, e.msg);
    cdi_phrase_free(ph);
}

static void check_scope(scan_ctx *c, const char *scope, int near)
{
    if (cdi_scope_parse(scope, near) < 0)
        problem(c->p, "%s:%d: rule '%s': unknown scope '%s' (%s)", c->r->src, c->line,
                c->r->name, scope, near ? "a number of words, or \"sentence\""
                                        : "\"title\", \"lede\" or \"body\"");
}

/* Method calls with literal arguments: story:topic("x"), story:has "y", ... */
static void scan_calls(scan_ctx *c, const char *line)
{
    for (const char *s = strchr(line, ':'); s; s = strchr(s + 1, ':')) {
        const char *m = s + 1;
        size_t n = 0;
        while (isalnum((unsigned char)m[n]) || m[n] == '_')
            n++;
        if (!n)
            continue;
        const char *a = m + n;
        while (*a == ' ' || *a == '\t')
            a++;
        a += *a == '(';
        char arg1[256], arg2[256];
        const char *after = literal(a, arg1, sizeof arg1);
        if (!after)
            continue;
        while (*after == ' ' || *after == '\t')
            after++;
        int two = *after == ',' && literal(after + 1, arg2, sizeof arg2) != NULL;
#define IS(name) (n == strlen(name) && !strncmp(m, name, n))
        if (IS("topic"))
            check_topic_id(c, arg1);
        else if (IS("label") || IS("labels"))
            check_model_name(c, arg1);
        else if (IS("prob"))
            check_label_spec(c, arg1);
        else if (IS("has") || IS("count")) {
            check_phrase(c, arg1);
            if (two)
                check_scope(c, arg2, 0);
        } else if (IS("near")) {
            check_phrase(c, arg1);
            if (two)
                check_phrase(c, arg2);
        }
#undef IS
    }
}

/* t.id == "x" (or "x" == t.id) when t is not the story itself. */
static void scan_ids(scan_ctx *c, const char *line)
{
    for (const char *s = strstr(line, ".id"); s; s = strstr(s + 3, ".id")) {
        if (isalnum((unsigned char)s[3]) || s[3] == '_')
            continue;
        const char *b = s;
        while (b > line && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
            b--;
        if ((size_t)(s - b) == strlen(c->param) && !strncmp(b, c->param, (size_t)(s - b)))
            continue;   /* story.id: the story's own id */
        char id[256];
        const char *a = s + 3;
        while (*a == ' ' || *a == '\t')
            a++;
        if ((a[0] == '=' || a[0] == '~') && a[1] == '=' && literal(a + 2, id, sizeof id)) {
            check_topic_id(c, id);
            continue;
        }
        const char *e = b;
        while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - line >= 3 && (e[-2] == '=' || e[-2] == '~') && e[-1] == '=') {
            const char *q = e - 2;
            while (q > line && (q[-1] == ' ' || q[-1] == '\t'))
                q--;
            if (q > line && (q[-1] == '"' || q[-1] == '\'')) {
                const char *open = q - 2;
                while (open >= line && *open != q[-1])
                    open--;
                if (open >= line && literal(open, id, sizeof id))
                    check_topic_id(c, id);
            }
        }
    }
}

/* The name of the first parameter of the function that starts on line. */
static void first_param(const char *line, char *out, size_t cap)
{
    const char *f = strstr(line, "function");
    out[0] = '\0';
    if (!f || !(f = strchr(f, '(')))
        return;
    f++;
    while (*f == ' ')
        f++;
    size_t n = 0;
    while ((isalnum((unsigned char)f[n]) || f[n] == '_') && n + 1 < cap) {
        out[n] = f[n];
        n++;
    }
    out[n] = '\0';
}

static void scan_rule_source(cd_desk *d, const desk_rule *r, problems *p)
{
    if (!r->src || r->first_line <= 0)
        return;
    FILE *f = fopen(r->src, "r");
    if (!f)
        return;
    char line[4096];
    scan_ctx c = { d, r, p, 0, "", 0 };
    for (int pass = 0; pass < 2; pass++) {
        rewind(f);
        c.line = 0;
        while (fgets(line, sizeof line, f) && ++c.line <= r->last_line) {
            if (c.line < r->first_line)
                continue;
            char *comment = strstr(line, "--");
            if (comment)
                *comment = '\0';
            if (pass == 0) {
                if (c.line == r->first_line)
                    first_param(line, c.param, sizeof c.param);
                c.uses_topics |= strstr(line, ":topics") != NULL;
                continue;
            }
            if (!r->when_only)
                scan_returns(&c, line);
            scan_calls(&c, line);
            if (c.uses_topics)
                scan_ids(&c, line);
        }
    }
    fclose(f);
}

static void check_rules(cd_desk *d, problems *p)
{
    char near[300];
    for (size_t i = 0; i < d->nrules; i++) {
        const desk_rule *r = &d->rules[i];
        for (size_t j = 0; j < r->nto; j++)
            if (cdi_desk_find_dest(d, r->to[j]) < 0)
                problem(p, "%s: rule '%s': to = '%s', which is not a destination%s", r->where,
                        r->name, r->to[j],
                        mean(near, sizeof near, cdi_suggest(r->to[j], dest_at, d, d->ndests)));
        scan_rule_source(d, r, p);
    }
}

/* ---- destinations: can they be written? ---------------------------------- */

static void check_writable(cd_desk *d, problems *p)
{
    cd_error e;
    for (size_t i = 0; i < d->ndests; i++) {
        desk_dest *ds = &d->dests[i];
        if (cdi_dest_probe(ds->dest, &e) != CD_OK)
            problem(p, "%s: destination '%s' cannot be written: %s", ds->where, ds->name, e.msg);
        if (cdi_probe_folder(cdi_dest_dead_letter_dir(ds->dest), &e) != CD_OK)
            problem(p, "%s: destination '%s': its dead-letter folder cannot be written: %s",
                    ds->where, ds->name, e.msg);
    }
}

/* ---- expect cases ---------------------------------------------------------- */

typedef struct expect_case {
    char *name, *id, *title, *body, *file, *rule;
    char **route;
    size_t nroute;
    int meta_ref;
    int no_rule;        /* rule = false: the fallback, no rule decides */
    double now;         /* now = ...: the case's clock (0: the real one) */
    double held_until;  /* held_until = ...: expected hold (0: none expected) */
    int held_set;       /* held_until was given (false: expects no hold) */
} expect_case;

static void case_free(lua_State *L, expect_case *c)
{
    free(c->name);
    free(c->id);
    free(c->title);
    free(c->body);
    free(c->file);
    free(c->rule);
    for (size_t i = 0; i < c->nroute; i++)
        free(c->route[i]);
    free(c->route);
    if (c->meta_ref != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, c->meta_ref);
    memset(c, 0, sizeof *c);
    c->meta_ref = LUA_NOREF;
}

static char *field_copy(lua_State *L, const char *key)
{
    int t = lua_getfield(L, 1, key);
    char *s = NULL;
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        s = cdi_desk_strdup(L, lua_tostring(L, -1));
    else if (t != LUA_TNIL)
        luaL_error(L, "expect: %s must be a string", key);
    lua_pop(L, 1);
    return s;
}

/* Field key of the case as a time (ISO 8601 text or seconds); 0 when
 * absent or false. */
static double case_time(lua_State *L, const char *key)
{
    int t = lua_getfield(L, 1, key);
    double v = 0;
    if (t == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
    } else if (t == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (cdi_iso8601_parse(s, len, &v) != 0)
            luaL_error(L, "expect: %s '%s' is not an ISO 8601 date-time "
                          "(like 2026-06-01T09:00:00Z)", key, s);
    } else if (t != LUA_TNIL && t != LUA_TBOOLEAN) {
        luaL_error(L, "expect: %s must be ISO 8601 text or seconds", key);
    }
    lua_pop(L, 1);
    return v;
}

static void add_route_name(lua_State *L, expect_case *c, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "expect: route must hold destination names");
    char **v = realloc(c->route, (c->nroute + 1) * sizeof *v);
    if (!v)
        luaL_error(L, "out of memory");
    c->route = v;
    v[c->nroute] = cdi_desk_strdup(L, lua_tostring(L, idx));
    c->nroute++;
}

/* Protected: expect table (arg 1) -> case (arg 2, light userdata). */
static int read_case(lua_State *L)
{
    expect_case *c = lua_touserdata(L, 2);
    c->name = field_copy(L, "name");
    c->id = field_copy(L, "id");
    c->title = field_copy(L, "title");
    c->body = field_copy(L, "body");
    c->file = field_copy(L, "file");
    if (lua_getfield(L, 1, "rule") == LUA_TBOOLEAN && !lua_toboolean(L, -1))
        c->no_rule = 1;
    else
        c->rule = field_copy(L, "rule");
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "route") == LUA_TTABLE) {
        size_t n = lua_rawlen(L, -1);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i);
            add_route_name(L, c, -1);
            lua_pop(L, 1);
        }
    } else {
        add_route_name(L, c, -1);
    }
    lua_pop(L, 1);
    c->now = case_time(L, "now");
    if (lua_getfield(L, 1, "held_until") != LUA_TNIL) {
        c->held_set = 1;
        if (!lua_isboolean(L, -1))
            c->held_until = case_time(L, "held_until");
        else if (lua_toboolean(L, -1))
            luaL_error(L, "expect: held_until must be a time, or false for no hold");
    }
    lua_pop(L, 1);
    int t = lua_getfield(L, 1, "meta");
    if (t == LUA_TTABLE)
        c->meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else if (t != LUA_TNIL)
        luaL_error(L, "expect: meta must be a table");
    return 0;
}

static cd_status load_case(cd_desk *d, size_t i, expect_case *c, cd_error *err)
{
    lua_State *L = d->L;
    memset(c, 0, sizeof *c);
    c->meta_ref = LUA_NOREF;
    lua_pushcfunction(L, read_case);
    lua_rawgeti(L, LUA_REGISTRYINDEX, d->expects[i].ref);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        cd_error_set(err, CD_ERR_SCRIPT, "%s: %s", d->expects[i].where, lua_tostring(L, -1));
        lua_pop(L, 1);
        case_free(L, c);
        return CD_ERR_SCRIPT;
    }
    return CD_OK;
}

static void check_expects(cd_desk *d, problems *p)
{
    for (size_t i = 0; i < d->nexpects; i++) {
        expect_case c;
        cd_error e;
        if (load_case(d, i, &c, &e) != CD_OK) {
            problem(p, "%s", e.msg);
            continue;
        }
        for (size_t j = 0; j < c.nroute; j++)
            if (cdi_desk_find_dest(d, c.route[j]) < 0)
                problem(p, "%s: expect: route '%s' is not a destination", d->expects[i].where,
                        c.route[j]);
        int known = !c.rule;
        for (size_t j = 0; j < d->nrules && !known; j++)
            known = !strcmp(d->rules[j].name, c.rule);
        if (!known)
            problem(p, "%s: expect: rule '%s' is not a rule of this desk", d->expects[i].where,
                    c.rule);
        case_free(d->L, &c);
    }
}

size_t cd_desk_validate(cd_desk *d, cd_problem_fn fn, void *ud)
{
    problems p = { fn, ud, 0 };
    check_labels(d, &p);
    check_rules(d, &p);
    check_expects(d, &p);
    return p.n;
}

size_t cd_desk_check_paths(cd_desk *d, cd_problem_fn fn, void *ud)
{
    problems p = { fn, ud, 0 };
    check_writable(d, &p);
    return p.n;
}

/* ---- running a case ------------------------------------------------------- */

/* The story of a case: from its file, or from its fields. */
static cd_status case_story(cd_desk *d, size_t i, const expect_case *c, cd_story *s,
                            cd_error *err)
{
    memset(s, 0, sizeof *s);
    if (c->file) {
        char *path = cdi_sandbox_path(d->sb, c->file);
        const char *inputs[1] = { path };
        cd_reader *r = NULL;
        cd_status st = path ? cd_reader_open(inputs, 1, NULL, &r, err)
                            : cd_error_set(err, CD_ERR_NOMEM, "out of memory");
        int got = st == CD_OK ? cd_reader_next(r, s, err) : CD_READ_ERROR;
        cd_reader_free(r);
        free(path);
        if (got == CD_READ_STORY)
            return CD_OK;
        cd_story_clear(s);
        return got == CD_READ_END ? cd_error_set(err, CD_ERR_FORMAT, "%s: no story", c->file)
                                  : CD_ERR_FORMAT;
    }
    char idbuf[320];
    snprintf(idbuf, sizeof idbuf, "expect@%s", d->expects[i].where);
    s->id = strdup(c->id ? c->id : idbuf);
    s->title = strdup(c->title ? c->title : "");
    s->body = strdup(c->body ? c->body : "");
    s->meta_json = strdup("{}");
    s->source = strdup(d->expects[i].where);
    if (!s->id || !s->title || !s->body || !s->meta_json || !s->source) {
        cd_story_clear(s);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    s->title_len = strlen(s->title);
    s->body_len = strlen(s->body);
    return CD_OK;
}

static int same_route(const cd_desk *d, const expect_case *c)
{
    size_t matched = 0;
    for (size_t i = 0; i < c->nroute; i++) {
        int found = 0;
        for (size_t j = 0; j < d->nroute && !found; j++)
            found = !strcmp(c->route[i], d->route_names[j]);
        matched += found;
    }
    /* sets: every expected name is routed, and as many distinct names */
    size_t distinct = 0;
    for (size_t i = 0; i < c->nroute; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(c->route[i], c->route[j]);
        distinct += !dup;
    }
    return matched == c->nroute && distinct == d->nroute;
}

static void describe(char *out, size_t cap, const cd_desk *d, const expect_case *c)
{
    size_t n = 0;
    if (d->error)
        n += (size_t)snprintf(out, cap, "a rule failed (a case fails whatever the route): ");
    n += (size_t)snprintf(out + n, cap - n, "expected ");
    for (size_t i = 0; i < c->nroute && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "+" : "", c->route[i]);
    if (c->rule && n < cap)
        n += (size_t)snprintf(out + n, cap - n, " by rule '%s'", c->rule);
    if (c->no_rule && n < cap)
        n += (size_t)snprintf(out + n, cap - n, " by no rule");
    if (c->held_set && n < cap) {
        char when[40];
        cdi_iso8601_format(c->held_until, when, sizeof when);
        n += (size_t)snprintf(out + n, cap - n, c->held_until > 0 ? " held until %s" : " not held",
                              when);
    }
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, ", got ");
    for (size_t i = 0; i < d->nroute && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "+" : "", d->route_names[i]);
    if (n < cap)
        snprintf(out + n, cap - n, " (%s)", d->reason.data ? d->reason.data : "");
}

cd_status cd_desk_run_expect(cd_desk *d, size_t i, cd_expect_result *res, cd_error *err)
{
    memset(res, 0, sizeof *res);
    expect_case c;
    cd_status st = load_case(d, i, &c, err);
    if (st != CD_OK)
        return st;
    snprintf(res->name, sizeof res->name, "%s%s%s", c.name ? c.name : "",
             c.name ? " " : "", d->expects[i].where);
    cd_story s;
    cd_error e;
    if (case_story(d, i, &c, &s, &e) != CD_OK) {
        snprintf(res->detail, sizeof res->detail, "cannot read the story: %s", e.msg);
        case_free(d->L, &c);
        return CD_OK;
    }
    d->cur.meta_ref = c.meta_ref;
    d->now_fixed = c.now;
    s.received = c.now;
    cdi_desk_decide_quietly(d, &s);
    d->now_fixed = 0;
    d->cur.meta_ref = LUA_NOREF;
    /* a rule that raised or hit a limit fails the case whatever the route:
     * a case expecting the fallback must not pass because a rule crashed */
    res->passed = !d->error && same_route(d, &c) &&
                  (!c.rule || (d->rule && !strcmp(d->rule, c.rule))) &&
                  (!c.no_rule || !d->rule) &&
                  (!c.held_set || fabs(d->hold_until - c.held_until) < 0.001);
    describe(res->detail, sizeof res->detail, d, &c);
    cd_story_clear(&s);
    d->cur.story = NULL;
    case_free(d->L, &c);
    return CD_OK;
}
