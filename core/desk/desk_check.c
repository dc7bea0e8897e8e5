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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "desk/desk_internal.h"

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
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->n++;
    if (p->fn)
        p->fn(msg, p->ud);
}

/* ---- labels ------------------------------------------------------------- */

static int label_known(const cd_desk *d, const char *spec)
{
    const char *colon = strchr(spec, ':');
    for (size_t i = 0; i < d->nmodels; i++) {
        const char *name = d->models[i].name;
        const char *label = spec;
        if (colon) {
            if (strlen(name) != (size_t)(colon - spec) || strncmp(name, spec, strlen(name)))
                continue;
            label = colon + 1;
        }
        if (cd_model_find_label(d->models[i].model, label) >= 0)
            return 1;
    }
    return 0;
}

static void check_labels(const cd_desk *d, problems *p)
{
    const cd_topics *t = d->topics;
    for (size_t i = 0; i < cd_topics_count(t); i++)
        for (size_t j = 0; j < cd_topics_labels(t, i); j++)
            if (!label_known(d, cd_topics_label(t, i, j)))
                problem(p, "%s: topic '%s': label '%s' is in no model of this desk",
                        d->taxonomy_where ? d->taxonomy_where : d->path, cd_topics_id(t, i),
                        cd_topics_label(t, i, j));
    for (size_t i = 0; i < cd_topics_count(t); i++) {
        const char *g = cd_topics_given(t, i);
        int own = g && (cd_topics_parent(t, i) < 0 ||
                        g != cd_topics_given(t, (size_t)cd_topics_parent(t, i)));
        if (own && !label_known(d, g))
            problem(p, "%s: topic '%s': given label '%s' is in no model of this desk",
                    d->taxonomy_where ? d->taxonomy_where : d->path, cd_topics_id(t, i), g);
    }
}

/* ---- rules: to = ..., and literal names returned ------------------------- */

/* Scan one line for `return "x"` and `return { "x", 'y' }`; call check
 * on each name. */
static void scan_returns(const char *line, void (*check)(const char *name, void *ud), void *ud)
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
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s != '"' && *s != '\'')
                break;
            char q = *s++, name[128];
            size_t n = 0;
            while (*s && *s != q && *s != '\\' && n + 1 < sizeof name)
                name[n++] = *s++;
            if (*s != q)
                break;
            name[n] = '\0';
            check(name, ud);
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
            if (!list || *s != ',')
                break;
            s++;
        }
    }
}

typedef struct scan_ctx {
    const cd_desk *d;
    const desk_rule *r;
    problems *p;
    int line;
} scan_ctx;

static void check_returned(const char *name, void *ud)
{
    scan_ctx *c = ud;
    if (cd_desk_find_dest(c->d, name) < 0)
        problem(c->p, "%s:%d: rule '%s' returns '%s', which is not a destination",
                c->r->src, c->line, c->r->name, name);
}

static void scan_rule_source(const cd_desk *d, const desk_rule *r, problems *p)
{
    if (!r->src || r->first_line <= 0)
        return;
    FILE *f = fopen(r->src, "r");
    if (!f)
        return;
    char line[4096];
    scan_ctx c = { d, r, p, 0 };
    while (fgets(line, sizeof line, f) && ++c.line <= r->last_line) {
        char *comment = strstr(line, "--");
        if (comment)
            *comment = '\0';
        if (c.line >= r->first_line)
            scan_returns(line, check_returned, &c);
    }
    fclose(f);
}

static void check_rules(const cd_desk *d, problems *p)
{
    for (size_t i = 0; i < d->nrules; i++) {
        const desk_rule *r = &d->rules[i];
        for (size_t j = 0; j < r->nto; j++)
            if (cd_desk_find_dest(d, r->to[j]) < 0)
                problem(p, "%s: rule '%s': to = '%s', which is not a destination", r->where,
                        r->name, r->to[j]);
        scan_rule_source(d, r, p);
    }
}

/* ---- expect cases ---------------------------------------------------------- */

typedef struct expect_case {
    char *name, *id, *title, *body, *file, *rule;
    char **route;
    size_t nroute;
    int meta_ref;
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
        s = cd_desk_strdup(L, lua_tostring(L, -1));
    else if (t != LUA_TNIL)
        luaL_error(L, "expect: %s must be a string", key);
    lua_pop(L, 1);
    return s;
}

static void add_route_name(lua_State *L, expect_case *c, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "expect: route must hold destination names");
    char **v = realloc(c->route, (c->nroute + 1) * sizeof *v);
    if (!v)
        luaL_error(L, "out of memory");
    c->route = v;
    v[c->nroute] = cd_desk_strdup(L, lua_tostring(L, idx));
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
    c->rule = field_copy(L, "rule");
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
            if (cd_desk_find_dest(d, c.route[j]) < 0)
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

/* ---- running a case ------------------------------------------------------- */

/* The story of a case: from its file, or from its fields. */
static cd_status case_story(cd_desk *d, size_t i, const expect_case *c, cd_story *s,
                            cd_error *err)
{
    memset(s, 0, sizeof *s);
    if (c->file) {
        char *path = cd_sandbox_path(d->sb, c->file);
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
    n += (size_t)snprintf(out + n, cap - n, "expected ");
    for (size_t i = 0; i < c->nroute && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "+" : "", c->route[i]);
    if (c->rule && n < cap)
        n += (size_t)snprintf(out + n, cap - n, " by rule '%s'", c->rule);
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
    cd_desk_decide_quietly(d, &s);
    d->cur.meta_ref = LUA_NOREF;
    res->passed = same_route(d, &c) && (!c.rule || (d->rule && !strcmp(d->rule, c.rule)));
    describe(res->detail, sizeof res->detail, d, &c);
    cd_story_clear(&s);
    d->cur.story = NULL;
    case_free(d->L, &c);
    return CD_OK;
}
