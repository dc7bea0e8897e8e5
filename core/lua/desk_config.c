/*
 * desk_config.c - the functions a desk configuration calls (docs/desk-api.md):
 *
 *   model "path" | model("name", "path")
 *   taxonomy { {id=, name=, labels=, keywords=, half=, given=, iptc=,
 *               <child topics>...}, ... }
 *            (a keyword: "phrase", or { "phrase", near=, within=, scope=, min= })
 *   destination "name" { folder= | jsonl= | url= | stdout=true | redis=,
 *                        <url options>, stream=, maxlen=, dedupe=,
 *                        format = "copydesk" | "ninjs" }
 *   rule("name", function(story) ... end [, {continue=, to=}])
 *   rule("name", {when = function(story) ... end, to = ..., continue = ...})
 *   fallback "name"
 *   dead_letter "folder"
 *   limits { instructions = N, memory = N | "64M", seconds = N }
 *   expect { title=, body=, meta=, id=, file=, route=, rule=, name=, now=,
 *            held_until= }
 *   feed "name" { url=, every=, timeout=, format= }   (copydesk watch)
 *   stream "name" { redis=, key=, group=, claim_idle=, max_deliveries=,
 *                   batch=, start= }                  (copydesk watch)
 *
 * Each raises a Lua error on a mistake, so the message carries the file
 * and line of the configuration; unknown fields are errors too, so that a
 * typo ("keyword =") is caught at load time rather than ignored.  Every
 * object is appended to the desk zeroed and counted before it is filled,
 * so that whatever an error interrupts is freed by cd_desk_free.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "base/redis.h"
#include "desk/desk_internal.h"

/* The desk being configured.  These functions declare the desk while its
 * file runs; once it has loaded, a rule that calls one (say model "x",
 * which would open a file and grow the models under the running desk) gets
 * a Lua error, which fails that rule like any other. */
static cd_desk *desk_of(lua_State *L, const char *fn)
{
    cd_desk *d = cdi_sandbox_owner(L);
    if (d->loaded)
        luaL_error(L, "%s declares the desk: call it at the top level of the configuration, "
                      "not while a story is routed", fn);
    return d;
}

/* Grow an array of n elements of size sz by one zeroed element. */
static void *append(lua_State *L, void **arr, size_t *n, size_t sz)
{
    char *v = realloc(*arr, (*n + 1) * sz);
    if (!v)
        luaL_error(L, "out of memory");
    memset(v + *n * sz, 0, sz);
    *arr = v;
    return v + (*n)++ * sz;
}

/* Error when the table at idx has a string key not in allowed. */
static void check_fields(lua_State *L, int idx, const char *what,
                         const char *const *allowed)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            continue;
        const char *key = lua_tostring(L, -1);
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, key);
        if (!ok) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *const *a = allowed; *a; a++) {
                luaL_addstring(&b, a == allowed ? "" : ", ");
                luaL_addstring(&b, *a);
            }
            luaL_pushresult(&b);
            luaL_error(L, "%s: unknown field '%s' (known: %s)", what, key, lua_tostring(L, -1));
        }
    }
}

/* A string field, or NULL when absent; error when of another type. */
static const char *opt_string_field(lua_State *L, int idx, const char *key, const char *what)
{
    int t = lua_getfield(L, idx, key);
    const char *s = NULL;
    if (t == LUA_TSTRING)
        s = lua_tostring(L, -1);
    else if (t != LUA_TNIL)
        luaL_error(L, "%s: %s must be a string", what, key);
    lua_pop(L, 1);   /* the string stays alive: it is in the table */
    return s;
}

static double opt_number_field(lua_State *L, int idx, const char *key, double dflt,
                               const char *what)
{
    int t = lua_getfield(L, idx, key);
    double v = dflt;
    if (t == LUA_TNUMBER)
        v = lua_tonumber(L, -1);
    else if (t != LUA_TNIL)
        luaL_error(L, "%s: %s must be a number", what, key);
    lua_pop(L, 1);
    if (!isfinite(v) || v < 0)
        luaL_error(L, "%s: %s must be a non-negative number", what, key);
    return v;
}

/* A number field that must also be at most max (say why in unit). */
static double bounded_field(lua_State *L, int idx, const char *key, double dflt, double max,
                            const char *unit, const char *what)
{
    double v = opt_number_field(L, idx, key, dflt, what);
    if (v > max)
        luaL_error(L, "%s: %s must be at most %f %s, got %f", what, key, max, unit, v);
    return v;
}

/* Call fn on each string of field key: a string or a list of strings. */
static void each_string(lua_State *L, int idx, const char *key, const char *what,
                        void (*fn)(lua_State *L, const char *s, void *ud), void *ud)
{
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TSTRING) {
        fn(L, lua_tostring(L, -1), ud);
    } else if (t == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "%s: %s[%d] must be a string", what, key, (int)i);
            fn(L, lua_tostring(L, -1), ud);
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s: %s must be a string or a list of strings", what, key);
    }
    lua_pop(L, 1);
}

/* ---- model -------------------------------------------------------------- */

static void open_model(lua_State *L, cd_desk *d, desk_model *m, const char *path)
{
    cd_error e;
    char *full = cdi_sandbox_path(d->sb, path);
    cd_status st = full ? cd_model_open(full, &m->model, &e)
                        : cd_error_set(&e, CD_ERR_NOMEM, "out of memory");
    free(full);
    if (st == CD_OK)
        st = cd_classifier_new(m->model, &m->cls, &e);
    if (st != CD_OK)
        luaL_error(L, "model '%s': %s", path, e.msg);
    /* a story's chosen labels, the other labels' p when asked for
     * (desk_model); once every label is asked for, the best label and the
     * chosen ones in order: story:labels sorts what it returns itself */
    cd_classifier_only_chosen(m->cls, 1);
    cd_classifier_set_order(m->cls, 1);
    m->scored = m->cls;
    cd_model_info info;
    cd_model_get_info(m->model, &info);
    m->nlabels = info.labels;
}

/* "models/bbc.cdm" -> "bbc", pushed on the stack. */
static const char *push_base_name(lua_State *L, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return lua_pushlstring(L, base, n);
}

static int l_model(lua_State *L)
{
    cd_desk *d = desk_of(L, "model");
    const char *name, *path;
    if (lua_gettop(L) >= 2) {
        name = luaL_checkstring(L, 1);
        path = luaL_checkstring(L, 2);
    } else {
        path = luaL_checkstring(L, 1);
        name = push_base_name(L, path);
    }
    if (!*name)
        return luaL_error(L, "model: the name cannot be empty");
    if (cdi_desk_find_model(d, name) >= 0)
        return luaL_error(L, "model '%s' is declared twice", name);
    desk_model *m = append(L, (void **)&d->models, &d->nmodels, sizeof *m);
    m->name = cdi_desk_strdup(L, name);
    m->path = cdi_desk_strdup(L, path);
    m->where = cdi_desk_caller_where(L);
    if (!d->taxonomy_only)   /* train --seeds: the model is what it makes */
        open_model(L, d, m, path);
    return 0;
}

/* ---- taxonomy ----------------------------------------------------------- */

typedef struct topic_ctx {
    cd_desk *desk;
    size_t topic;
} topic_ctx;

static void add_label(lua_State *L, const char *s, void *ud)
{
    topic_ctx *c = ud;
    cd_error e;
    if (cdi_topics_add_label(c->desk->topics, c->topic, s, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
}

static void add_keyword(lua_State *L, const char *s, void *ud)
{
    topic_ctx *c = ud;
    cd_error e;
    if (cdi_topics_add_keyword(c->desk->topics, c->topic, s, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
}

/* One keyword with conditions, the table at the top of the stack:
 * { "phrase", near = "other", within = 10 | "sentence", scope = "title",
 *   min = 2 }. */
static void add_keyword_table(lua_State *L, topic_ctx *c, const char *what)
{
    static const char *const fields[] = { "near", "within", "scope", "min", NULL };
    int idx = lua_gettop(L);
    lua_pushfstring(L, "%s: keyword", what);
    const char *kwhat = lua_tostring(L, -1);
    check_fields(L, idx, kwhat, fields);
    cd_keyword_spec k = { NULL, NULL, 10, CD_SCOPE_ALL, 1 };
    if (lua_rawgeti(L, idx, 1) != LUA_TSTRING || lua_rawlen(L, idx) != 1)
        luaL_error(L, "%s: a keyword table holds one phrase, then near, within, scope, min "
                      "({ \"tariff*\", min = 2 })", kwhat);
    k.text = lua_tostring(L, -1);   /* kept alive by the table */
    lua_pop(L, 1);
    k.near = opt_string_field(L, idx, "near", kwhat);
    int t = lua_getfield(L, idx, "within");
    if (t == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "sentence")) {
        k.within = -1;
    } else if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
               lua_tointeger(L, -1) <= 1000) {
        k.within = (int)lua_tointeger(L, -1);
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s: within must be a number of words (0 to 1000) or \"sentence\"",
                   kwhat);
    }
    lua_pop(L, 1);
    if (t != LUA_TNIL && !k.near)
        luaL_error(L, "%s: within needs near = \"...\"", kwhat);
    const char *scope = opt_string_field(L, idx, "scope", kwhat);
    if (scope && (k.scope = cdi_scope_parse(scope, 0)) < 0)
        luaL_error(L, "%s: scope must be \"title\", \"lede\" or \"body\", not '%s'", kwhat,
                   scope);
    double min = opt_number_field(L, idx, "min", 1, kwhat);
    if (min < 1 || min > 1e6 || min != (unsigned)min)
        luaL_error(L, "%s: min must be a whole number of occurrences >= 1", kwhat);
    k.min = (unsigned)min;
    cd_error e;
    if (cdi_topics_add_keyword_spec(c->desk->topics, c->topic, &k, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
    lua_pop(L, 1);
}

/* keywords = { "word", "a phrase", "prefix*", { "phrase", near = ..., ... } } */
static void add_keywords(lua_State *L, int idx, const char *what, topic_ctx *c)
{
    int t = lua_getfield(L, idx, "keywords");
    if (t == LUA_TSTRING) {
        add_keyword(L, lua_tostring(L, -1), c);
    } else if (t == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            int it = lua_rawgeti(L, -1, i);
            if (it == LUA_TSTRING)
                add_keyword(L, lua_tostring(L, -1), c);
            else if (it == LUA_TTABLE)
                add_keyword_table(L, c, what);
            else
                luaL_error(L, "%s: keywords[%d] must be a string or a keyword table", what,
                           (int)i);
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        luaL_error(L, "%s: keywords must be a string or a list", what);
    }
    lua_pop(L, 1);
}

static void add_topic(lua_State *L, cd_desk *d, int idx, int parent, int depth);

static void add_children(lua_State *L, cd_desk *d, int idx, size_t topic, int depth)
{
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
            luaL_error(L, "taxonomy: topic '%s': entry %d must be a topic table",
                       cdi_topics_id(d->topics, topic), (int)i);
        add_topic(L, d, lua_gettop(L), (int)topic, depth + 1);
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "children") == LUA_TTABLE)
        add_children(L, d, lua_gettop(L), topic, depth);
    lua_pop(L, 1);
}

static void add_topic(lua_State *L, cd_desk *d, int idx, int parent, int depth)
{
    static const char *const fields[] = { "id", "name", "labels", "keywords", "half",
                                          "given", "iptc", "threshold", "children",
                                          NULL };
    if (depth > 32)
        luaL_error(L, "taxonomy: deeper than 32 levels");
    luaL_checkstack(L, 8, "taxonomy");
    const char *id = opt_string_field(L, idx, "id", "taxonomy: a topic");
    if (!id)
        luaL_error(L, "taxonomy: a topic%s%s needs an id (a string)",
                   parent >= 0 ? " under " : "",
                   parent >= 0 ? cdi_topics_id(d->topics, (size_t)parent) : "");
    lua_pushfstring(L, "taxonomy: topic '%s'", id);
    const char *what = lua_tostring(L, -1);
    check_fields(L, idx, what, fields);
    const char *name = opt_string_field(L, idx, "name", what);
    cd_error e;
    topic_ctx c = { d, 0 };
    if (cdi_topics_add(d->topics, parent, id, name, &c.topic, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
    each_string(L, idx, "labels", what, add_label, &c);
    add_keywords(L, idx, what, &c);
    const char *given = opt_string_field(L, idx, "given", what);
    if (given && cdi_topics_set_given(d->topics, c.topic, given, &e) != CD_OK)
        luaL_error(L, "%s", e.msg);
    const char *iptc = opt_string_field(L, idx, "iptc", what);
    if (iptc && cdi_topics_set_iptc(d->topics, c.topic, iptc, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
    double thr = opt_number_field(L, idx, "threshold", CD_TOPIC_DEFAULT_THRESHOLD, what);
    if (cdi_topics_set_threshold(d->topics, c.topic, thr, &e) != CD_OK)
        luaL_error(L, "taxonomy: %s", e.msg);
    double half = opt_number_field(L, idx, "half", CD_TOPIC_DEFAULT_HALF, what);
    if (cdi_topics_set_half(d->topics, c.topic, half, &e) != CD_OK)
        luaL_error(L, "%s", e.msg);
    lua_pop(L, 1);
    add_children(L, d, idx, c.topic, depth);
}

static int l_taxonomy(lua_State *L)
{
    cd_desk *d = desk_of(L, "taxonomy");
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!d->taxonomy_where)
        d->taxonomy_where = cdi_desk_caller_where(L);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
            return luaL_error(L, "taxonomy: entry %d must be a topic table", (int)i);
        add_topic(L, d, lua_gettop(L), -1, 0);
        lua_pop(L, 1);
    }
    return 0;
}

/* ---- destination -------------------------------------------------------- */

static cd_dest_kind dest_kind(lua_State *L, int idx, const char *what, const char **target)
{
    /* in the order of cd_dest_kind: redis= makes a stream destination */
    static const char *const kinds[] = { "folder", "jsonl", "stdout", "url", "redis" };
    int found = -1;
    for (int k = 0; k < 5; k++) {
        int t = lua_getfield(L, idx, kinds[k]);
        int off = t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1));
        lua_pop(L, 1);
        if (off)
            continue;
        if (found >= 0)
            luaL_error(L, "%s: give one of folder, jsonl, stdout, url, redis (not %s and %s)",
                       what, kinds[found], kinds[k]);
        found = k;
    }
    if (found < 0)
        luaL_error(L, "%s: needs one of folder, jsonl, stdout = true, url, redis", what);
    if (found == CD_DEST_STDOUT) {
        *target = NULL;
    } else if (!(*target = opt_string_field(L, idx, kinds[found], what)) || !**target) {
        luaL_error(L, "%s: %s must be a non-empty string", what, kinds[found]);
    }
    return (cd_dest_kind)found;
}

static int define_destination(lua_State *L, const char *name, int idx)
{
    static const char *const fields[] = { "folder", "jsonl", "stdout", "url", "timeout",
                                          "connect_timeout", "retries", "backoff",
                                          "dead_letter", "format", "redis", "stream",
                                          "maxlen", "dedupe", NULL };
    cd_desk *d = desk_of(L, "destination");
    luaL_checktype(L, idx, LUA_TTABLE);
    const char *what = lua_pushfstring(L, "destination '%s'", name);
    check_fields(L, idx, what, fields);
    if (cdi_desk_find_dest(d, name) >= 0)
        return luaL_error(L, "%s is declared twice", what);
    cd_dest_opts o;
    cdi_dest_opts_default(&o);
    o.kind = dest_kind(L, idx, what, &o.target);
    /* bounded: a delivery waits at most this long, and the values become
     * integers (milliseconds, a count) */
    o.timeout_s = bounded_field(L, idx, "timeout", o.timeout_s, 3600, "seconds", what);
    o.connect_timeout_s = bounded_field(L, idx, "connect_timeout", o.connect_timeout_s, 3600,
                                        "seconds", what);
    double retries = bounded_field(L, idx, "retries", o.retries, 100, "attempts", what);
    if (retries != floor(retries))
        return luaL_error(L, "%s: retries must be a whole number, got %f", what, retries);
    o.retries = (unsigned)retries;
    o.backoff_s = bounded_field(L, idx, "backoff", o.backoff_s, 30, "seconds (the longest wait between attempts)", what);
    o.dead_letter = opt_string_field(L, idx, "dead_letter", what);
    if (o.dead_letter && !*o.dead_letter)
        return luaL_error(L, "%s: dead_letter cannot be empty (leave it out for the desk's)", what);
    o.name = name;
    o.spool = d->spool;
    o.stream = opt_string_field(L, idx, "stream", what);
    double maxlen = opt_number_field(L, idx, "maxlen", 0, what);
    o.dedupe_s = opt_number_field(L, idx, "dedupe", 86400, what);
    if (o.kind == CD_DEST_STREAM) {
        cd_redis_addr a;
        cd_error ue;
        if (cdi_redis_parse_url(o.target, &a, &ue) != CD_OK)
            return luaL_error(L, "%s: redis: %s", what, ue.msg);
        if (!o.stream || !*o.stream)
            return luaL_error(L, "%s: a redis destination needs stream = \"KEY\" (the stream "
                              "to append to)", what);
        if (maxlen != floor(maxlen) || maxlen > 1e12)
            return luaL_error(L, "%s: maxlen must be a whole number of entries (0: no trimming)",
                              what);
        if (o.dedupe_s < 1)
            return luaL_error(L, "%s: dedupe must be at least 1 (seconds a story id is "
                              "remembered)", what);
        o.maxlen = (unsigned long)maxlen;
    } else if (o.stream || maxlen > 0) {
        return luaL_error(L, "%s: stream and maxlen go with redis = \"redis://...\"", what);
    }
    const char *format = opt_string_field(L, idx, "format", what);
    if (format && strcmp(format, "copydesk") && strcmp(format, "ninjs"))
        return luaL_error(L, "%s: format must be \"copydesk\" (the default) or \"ninjs\"", what);
    desk_dest *ds = append(L, (void **)&d->dests, &d->ndests, sizeof *ds);
    ds->ninjs = format && !strcmp(format, "ninjs");
    ds->name = cdi_desk_strdup(L, name);
    ds->where = cdi_desk_caller_where(L);
    cd_error e;
    if (cdi_dest_new(&o, &ds->dest, &e) != CD_OK)
        return luaL_error(L, "%s: %s", what, e.msg);
    return 0;
}

static int l_destination_curried(lua_State *L)
{
    return define_destination(L, lua_tostring(L, lua_upvalueindex(1)), 1);
}

static int l_destination(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name)
        return luaL_error(L, "destination: the name cannot be empty");
    if (lua_gettop(L) >= 2)
        return define_destination(L, name, 2);
    lua_settop(L, 1);
    lua_pushcclosure(L, l_destination_curried, 1);
    return 1;
}

/* ---- rule --------------------------------------------------------------- */

static void add_to(lua_State *L, const char *s, void *ud)
{
    desk_rule *r = ud;
    char **to = realloc(r->to, (r->nto + 1) * sizeof *to);
    if (!to)
        luaL_error(L, "out of memory");
    r->to = to;
    r->to[r->nto] = cdi_desk_strdup(L, s);
    r->nto++;
}

/* Where the function at idx is defined: "file:line", and for the source
 * scan of cd_desk_validate, its file and lines. */
static void function_where(lua_State *L, int idx, desk_rule *r)
{
    lua_Debug ar;
    lua_pushvalue(L, idx);
    lua_getinfo(L, ">S", &ar);
    lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
    r->where = cdi_desk_strdup(L, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (ar.source[0] == '@') {
        r->src = cdi_desk_strdup(L, ar.source + 1);
        r->first_line = ar.linedefined;
        r->last_line = ar.lastlinedefined;
    }
}

static int l_rule(lua_State *L)
{
    static const char *const fields[] = { "continue", "to", "when", NULL };
    cd_desk *d = desk_of(L, "rule");
    const char *name = luaL_checkstring(L, 1);
    int fn = lua_isfunction(L, 2) ? 2 : 0;
    int opts = lua_istable(L, fn ? 3 : 2) ? (fn ? 3 : 2) : 0;
    if (!fn && !opts)
        return luaL_error(L, "rule '%s': give a function, or a table with when/to", name);
    const char *what = lua_pushfstring(L, "rule '%s'", name);
    for (size_t i = 0; i < d->nrules; i++)
        if (!strcmp(d->rules[i].name, name))
            return luaL_error(L, "%s is declared twice", what);
    if (opts)
        check_fields(L, opts, what, fields);
    desk_rule *r = append(L, (void **)&d->rules, &d->nrules, sizeof *r);
    r->fn_ref = LUA_NOREF;
    r->name = cdi_desk_strdup(L, name);
    if (opts) {
        lua_getfield(L, opts, "continue");
        r->cont = lua_toboolean(L, -1);
        lua_pop(L, 1);
        each_string(L, opts, "to", what, add_to, r);
        if (!fn && lua_getfield(L, opts, "when") != LUA_TNIL) {
            if (!lua_isfunction(L, -1))
                return luaL_error(L, "%s: when must be a function", what);
            fn = lua_gettop(L);
        }
        r->when_only = !lua_isfunction(L, 2);
        if (r->when_only && r->nto == 0)
            return luaL_error(L, "%s: a rule given as a table needs to = ...", what);
    }
    if (fn)
        function_where(L, fn, r);
    else
        r->where = cdi_desk_caller_where(L);
    if (fn) {
        lua_pushvalue(L, fn);
        r->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

/* ---- fallback, dead_letter, limits, expect ------------------------------ */

static int l_fallback(lua_State *L)
{
    cd_desk *d = desk_of(L, "fallback");
    const char *name = luaL_checkstring(L, 1);
    if (d->fallback)
        return luaL_error(L, "fallback is declared twice (first at %s)", d->fallback_where);
    d->fallback_where = cdi_desk_caller_where(L);
    d->fallback = cdi_desk_strdup(L, name);
    return 0;
}

static int l_dead_letter(lua_State *L)
{
    cd_desk *d = desk_of(L, "dead_letter");
    const char *path = luaL_checkstring(L, 1);
    if (!*path)
        return luaL_error(L, "dead_letter: the folder cannot be empty");
    char *copy = cdi_desk_strdup(L, path);
    free(d->dead_letter);
    d->dead_letter = copy;
    return 0;
}

static size_t parse_size(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, idx);
        if (!(n >= 1) || n > 1e15)
            luaL_error(L, "limits: memory must be a positive number of bytes");
        return (size_t)n;
    }
    const char *s = luaL_checkstring(L, idx);
    char *end;
    double v = strtod(s, &end);
    double unit = 1;
    switch (*end) {
    case 'K': case 'k': unit = 1024; end++; break;
    case 'M': case 'm': unit = 1024.0 * 1024; end++; break;
    case 'G': case 'g': unit = 1024.0 * 1024 * 1024; end++; break;
    }
    if (*end || end == s || !(v > 0) || v * unit > 1e15)
        luaL_error(L, "limits: memory '%s' is not a size like 65536, \"512K\", \"64M\"", s);
    return (size_t)(v * unit);
}

static int l_limits(lua_State *L)
{
    static const char *const fields[] = { "instructions", "memory", "seconds", NULL };
    cd_desk *d = desk_of(L, "limits");
    luaL_checktype(L, 1, LUA_TTABLE);
    check_fields(L, 1, "limits", fields);
    double ins = opt_number_field(L, 1, "instructions", 0, "limits");
    if (ins > 0 && ins < 1000)
        return luaL_error(L, "limits: instructions must be at least 1000");
    d->cfg_instructions = (uint64_t)ins;
    d->cfg_seconds = opt_number_field(L, 1, "seconds", 0, "limits");
    if (lua_getfield(L, 1, "memory") != LUA_TNIL) {
        d->cfg_memory = parse_size(L, lua_gettop(L));
        if (d->cfg_memory < ((size_t)1 << 20))
            return luaL_error(L, "limits: memory must be at least 1M");
    }
    return 0;
}

static int l_expect(lua_State *L)
{
    static const char *const fields[] = { "name", "id", "title", "body", "meta", "file",
                                          "route", "rule", "now", "held_until", NULL };
    cd_desk *d = desk_of(L, "expect");
    luaL_checktype(L, 1, LUA_TTABLE);
    check_fields(L, 1, "expect", fields);
    int t = lua_getfield(L, 1, "route");
    if (t != LUA_TSTRING && t != LUA_TTABLE)
        return luaL_error(L, "expect: route must be a destination name or a list of names");
    lua_pop(L, 1);
    desk_expect *x = append(L, (void **)&d->expects, &d->nexpects, sizeof *x);
    x->ref = LUA_NOREF;
    x->where = cdi_desk_caller_where(L);
    lua_pushvalue(L, 1);
    x->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* ---- feed (copydesk watch) ---------------------------------------------- */

/* feed "name" { url = "https://...", every = 60, timeout = 30, format = "rss" }:
 * a feed copydesk watch polls; its new items are routed like any story.
 * route and check only declare it. */
static int define_feed(lua_State *L, const char *name, int idx)
{
    static const char *const fields[] = { "url", "every", "timeout", "format", NULL };
    static const char *const formats[] = { "rss", "atom", "jsonfeed", "jsonl", NULL };
    cd_desk *d = desk_of(L, "feed");
    luaL_checktype(L, idx, LUA_TTABLE);
    const char *what = lua_pushfstring(L, "feed '%s'", name);
    check_fields(L, idx, what, fields);
    for (size_t i = 0; i < d->nfeeds; i++)
        if (!strcmp(d->feeds[i].name, name))
            return luaL_error(L, "%s is declared twice", what);
    const char *url = opt_string_field(L, idx, "url", what);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return luaL_error(L, "%s: url must be an http:// or https:// URL", what);
    double every = opt_number_field(L, idx, "every", 300, what);
    double timeout = opt_number_field(L, idx, "timeout", 30, what);
    if (every < 1)
        return luaL_error(L, "%s: every must be at least 1 (seconds)", what);
    if (timeout < 1)
        return luaL_error(L, "%s: timeout must be at least 1 (seconds)", what);
    const char *format = opt_string_field(L, idx, "format", what);
    int known = !format;
    for (const char *const *f = formats; format && *f; f++)
        known |= !strcmp(*f, format);
    if (!known)
        return luaL_error(L, "%s: format must be rss, atom, jsonfeed or jsonl", what);
    desk_feed *f = append(L, (void **)&d->feeds, &d->nfeeds, sizeof *f);
    f->name = cdi_desk_strdup(L, name);
    f->url = cdi_desk_strdup(L, url);
    f->format = format ? cdi_desk_strdup(L, format) : NULL;
    f->where = cdi_desk_caller_where(L);
    f->every_s = every;
    f->timeout_s = timeout;
    return 0;
}

static int l_feed_curried(lua_State *L)
{
    return define_feed(L, lua_tostring(L, lua_upvalueindex(1)), 1);
}

static int l_feed(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name)
        return luaL_error(L, "feed: the name cannot be empty");
    if (lua_gettop(L) >= 2)
        return define_feed(L, name, 2);
    lua_settop(L, 1);
    lua_pushcclosure(L, l_feed_curried, 1);
    return 1;
}

/* ---- stream (copydesk watch) -------------------------------------------- */

/* stream "name" { redis = "redis://host:6379/0", key = "stories",
 * group = "copydesk", claim_idle = 60, max_deliveries = 5, batch = 100,
 * start = "0" }: a Redis stream copydesk watch reads as one consumer of
 * the group (core/live/watch_stream.c).  route and check only declare it. */
static int define_stream(lua_State *L, const char *name, int idx)
{
    static const char *const fields[] = { "redis", "key", "group", "claim_idle",
                                          "max_deliveries", "batch", "start", NULL };
    cd_desk *d = desk_of(L, "stream");
    luaL_checktype(L, idx, LUA_TTABLE);
    const char *what = lua_pushfstring(L, "stream '%s'", name);
    check_fields(L, idx, what, fields);
    for (size_t i = 0; i < d->nstreams; i++)
        if (!strcmp(d->streams[i].name, name))
            return luaL_error(L, "%s is declared twice", what);
    const char *url = opt_string_field(L, idx, "redis", what);
    cd_redis_addr a;
    cd_error ue;
    if (!url)
        return luaL_error(L, "%s: needs redis = \"redis://HOST:PORT/DB\"", what);
    if (cdi_redis_parse_url(url, &a, &ue) != CD_OK)
        return luaL_error(L, "%s: redis: %s", what, ue.msg);
    const char *key = opt_string_field(L, idx, "key", what);
    if (!key || !*key)
        return luaL_error(L, "%s: needs key = \"STREAM\" (the stream to read)", what);
    const char *group = opt_string_field(L, idx, "group", what);
    if (group && !*group)
        return luaL_error(L, "%s: group cannot be empty", what);
    double idle = opt_number_field(L, idx, "claim_idle", 60, what);
    double maxd = opt_number_field(L, idx, "max_deliveries", 5, what);
    double batch = opt_number_field(L, idx, "batch", 100, what);
    if (idle < 0.1)
        return luaL_error(L, "%s: claim_idle must be at least 0.1 (seconds an entry stays "
                          "pending before another worker claims it)", what);
    if (maxd < 1 || maxd != floor(maxd))
        return luaL_error(L, "%s: max_deliveries must be a whole number, at least 1", what);
    if (batch < 1 || batch > 10000 || batch != floor(batch))
        return luaL_error(L, "%s: batch must be a whole number from 1 to 10000", what);
    const char *start = opt_string_field(L, idx, "start", what);
    if (start && strcmp(start, "0") && strcmp(start, "$"))
        return luaL_error(L, "%s: start must be \"0\" (the whole stream, the default) or "
                          "\"$\" (only new entries), for a group that does not exist yet", what);
    desk_stream *s = append(L, (void **)&d->streams, &d->nstreams, sizeof *s);
    s->name = cdi_desk_strdup(L, name);
    s->url = cdi_desk_strdup(L, url);
    s->key = cdi_desk_strdup(L, key);
    s->group = cdi_desk_strdup(L, group ? group : "copydesk");
    s->start = cdi_desk_strdup(L, start ? start : "0");
    s->where = cdi_desk_caller_where(L);
    s->claim_idle_s = idle;
    s->max_deliveries = (unsigned)maxd;
    s->batch = (unsigned)batch;
    return 0;
}

static int l_stream_curried(lua_State *L)
{
    return define_stream(L, lua_tostring(L, lua_upvalueindex(1)), 1);
}

static int l_stream(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name)
        return luaL_error(L, "stream: the name cannot be empty");
    if (lua_gettop(L) >= 2)
        return define_stream(L, name, 2);
    lua_settop(L, 1);
    lua_pushcclosure(L, l_stream_curried, 1);
    return 1;
}

/* The feeds and the streams: what watch reads besides its inbox. */
void cdi_desk_free_feeds(cd_desk *d)
{
    for (size_t i = 0; i < d->nstreams; i++) {
        desk_stream *s = &d->streams[i];
        free(s->name);
        free(s->url);
        free(s->key);
        free(s->group);
        free(s->start);
        free(s->where);
    }
    free(d->streams);
    d->streams = NULL;
    d->nstreams = 0;
    for (size_t i = 0; i < d->nfeeds; i++) {
        free(d->feeds[i].name);
        free(d->feeds[i].url);
        free(d->feeds[i].format);
        free(d->feeds[i].where);
    }
    free(d->feeds);
    d->feeds = NULL;
    d->nfeeds = 0;
}

void cdi_desk_config_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "model", l_model },             { "taxonomy", l_taxonomy },
        { "destination", l_destination }, { "rule", l_rule },
        { "fallback", l_fallback },       { "dead_letter", l_dead_letter },
        { "limits", l_limits },           { "expect", l_expect },
        { "feed", l_feed },               { "stream", l_stream },
        { NULL, NULL },
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
