/*
 * story_binding.c - the story object a rule receives (docs/desk-api.md).
 *
 * Fields:  story.id, story.title, story.body, story.source, story.meta
 *          (the pass-through fields as a read-only-by-convention table),
 *          story.received (when copydesk got it, UTC seconds)
 * Methods: story:topic(id)        score of a topic in [0,1]
 *          story:topics([min])    {{id=, name=, score=}, ...} best first
 *          story:label([model])   best label of a model and its probability
 *          story:labels([model], [min])  {{label=, p=, chosen=}, ...}
 *          story:prob(label)      probability of "label" or "model:label"
 *          story:has(phrase [, scope])   true when the phrase occurs (tokenized),
 *                                 in the title, lede or body when scoped
 *          story:count(phrase [, scope]) how many times it occurs
 *          story:near(a, b, n | "sentence" [, scope])  a within n words of b
 *                                 (or in one sentence): found, how many times
 *          story:tag(name)        add a tag to the delivered JSON
 *          story:tags()           the tags so far
 *          story:log(fmt, ...)    a note for --explain and dry runs
 *
 * The userdata holds the desk.  Its metatable's __index is the methods table itself, so that looking up
 * story:topic costs a table read and no C call; a name that is no method
 * falls to the methods table's own __index, which reads the field of the
 * story being decided (the registry keeps which one).  When the story's
 * decision is made the object is given the metatable of an expired story,
 * whose every field and method is an error: a rule that keeps a story in a
 * global and uses it after its decision gets an error, never another
 * story's data.  Field values are cached in the userdata's user value (a
 * table made at the first field read), so that reading story.body twice
 * does not copy the body twice.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <lauxlib.h>

#include "desk/desk_internal.h"
#include "desk/suggest.h"

#define STORY_MT "copydesk.story"
#define EXPIRED_MSG "this story object is no longer valid (kept after its rule returned)"
#define MAX_NOTES 100
#define MAX_META_DEPTH 64

typedef struct story_ud {
    cd_desk *desk;
} story_ud;

/* Registry keys (their addresses): the story metatable, the expired
 * story's, and the story object being decided (false when none). */
static char STORY_KEY, EXPIRED_KEY, CURRENT_KEY;

/* The story at argument 1, checked against mt, the stack index of the
 * story metatable (an upvalue of every method: cheaper than the registry
 * lookup of luaL_checkudata, which was a tenth of the rules' time). */
static cd_desk *check_story_mt(lua_State *L, int mt)
{
    story_ud *u = lua_touserdata(L, 1);
    if (!u || !lua_getmetatable(L, 1))
        luaL_typeerror(L, 1, STORY_MT);
    if (!lua_rawequal(L, -1, mt)) {   /* an expired story (a method kept), or no story */
        lua_rawgetp(L, LUA_REGISTRYINDEX, &EXPIRED_KEY);
        if (lua_rawequal(L, -1, -2))
            luaL_error(L, EXPIRED_MSG);
        luaL_typeerror(L, 1, STORY_MT);
    }
    lua_pop(L, 1);
    return u->desk;   /* the story metatable: the story being decided */
}

/* In a method: the metatable is its upvalue. */
#define check_story(L) check_story_mt((L), lua_upvalueindex(1))

static const char *topic_name_at(const void *ud, size_t i)
{
    return cdi_topics_id(ud, i);
}

static const char *model_name_at(const void *ud, size_t i)
{
    return ((const cd_desk *)ud)->models[i].name;
}

static int64_t check_topic(lua_State *L, cd_desk *d, int idx)
{
    const char *id = luaL_checkstring(L, idx);
    int64_t t = d->topics ? cdi_topics_find(d->topics, id) : -1;
    if (t < 0) {
        const char *near = d->topics ? cdi_suggest(id, topic_name_at, d->topics,
                                                   cdi_topics_count(d->topics)) : NULL;
        luaL_error(L, "unknown topic '%s' (not in the taxonomy%s%s%s)", id,
                   near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
    }
    return t;
}

static desk_model *check_model(lua_State *L, cd_desk *d, int idx)
{
    if (d->nmodels == 0)
        luaL_error(L, "this desk has no model");
    if (lua_isnoneornil(L, idx))
        return &d->models[0];
    const char *name = luaL_checkstring(L, idx);
    int64_t m = cdi_desk_find_model(d, name);
    if (m < 0) {
        const char *near = cdi_suggest(name, model_name_at, d, d->nmodels);
        luaL_error(L, "unknown model '%s'%s%s%s", name, near ? " (did you mean '" : "",
                   near ? near : "", near ? "'?)" : "");
    }
    return &d->models[m];
}

/* ---- topics and labels -------------------------------------------------- */

static int m_topic(lua_State *L)
{
    cd_desk *d = check_story(L);
    int64_t t = check_topic(L, d, 2);
    lua_pushnumber(L, d->cur.scores[t].score);
    return 1;
}

static int m_topics(lua_State *L)
{
    cd_desk *d = check_story(L);
    double min = luaL_optnumber(L, 2, 0);
    size_t n = d->topics ? cdi_topics_count(d->topics) : 0;
    /* the topics scoring at least min, best first, ties in taxonomy order
     * (a stable insertion sort of the few kept), in the desk's scratch */
    size_t *top = d->top, k = 0;
    if (n && !top)
        return luaL_error(L, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double s = d->cur.scores[i].score;
        if (s < min)
            continue;
        size_t j = k++;
        while (j > 0 && d->cur.scores[top[j - 1]].score < s) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    /* the keys are upvalues 2 to 4, set raw: the tables are new, and
     * this spares interning each key at every field */
    lua_createtable(L, (int)k, 0);
    for (size_t r = 0; r < k; r++) {
        lua_createtable(L, 0, 3);
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushstring(L, cdi_topics_id(d->topics, top[r]));
        lua_rawset(L, -3);
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushstring(L, cdi_topics_name(d->topics, top[r]));
        lua_rawset(L, -3);
        lua_pushvalue(L, lua_upvalueindex(4));
        lua_pushnumber(L, d->cur.scores[top[r]].score);
        lua_rawset(L, -3);
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    return 1;
}

static int m_label(lua_State *L)
{
    cd_desk *d = check_story(L);
    desk_model *m = check_model(L, d, 2);
    const cd_label_score *all;   /* the best label first */
    size_t nall;
    cdi_desk_model_all(m, &all, &nall);
    if (nall == 0) {
        lua_pushnil(L);
        lua_pushnumber(L, 0);
        return 2;
    }
    lua_pushstring(L, cd_model_label(m->model, all[0].label));
    lua_pushnumber(L, all[0].p);
    return 2;
}

/* By decreasing p, ties by label. */
static int by_p_desc(const void *a, const void *b)
{
    const cd_label_score *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return (x->label > y->label) - (x->label < y->label);
}

static int m_labels(lua_State *L)
{
    cd_desk *d = check_story(L);
    desk_model *m = check_model(L, d, 2);
    double min = luaL_optnumber(L, 3, 0.01);
    /* every label's p, computed now for the story (analyse computes the
     * chosen labels' alone), sorted only as far as the best and the chosen
     * labels (cd_classifier_set_order): gather those that reach min and
     * sort them, in a userdata, not malloc, since the tables below may
     * raise */
    const cd_label_score *all;
    size_t nall;
    cdi_desk_model_all(m, &all, &nall);
    cd_label_score *v = lua_newuserdatauv(L, sizeof *v * (nall ? nall : 1), 0);
    size_t n = 0;
    for (size_t i = 0; i < nall; i++)
        if (all[i].p >= min)
            v[n++] = all[i];
    qsort(v, n, sizeof *v, by_p_desc);
    lua_createtable(L, (int)(n < 1000 ? n : 1000), 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, cd_model_label(m->model, v[i].label));
        lua_setfield(L, -2, "label");
        lua_pushnumber(L, v[i].p);
        lua_setfield(L, -2, "p");
        lua_pushboolean(L, v[i].chosen);
        lua_setfield(L, -2, "chosen");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;   /* the table, above the buffer */
}

static int m_prob(lua_State *L)
{
    cd_desk *d = check_story(L);
    const char *label = luaL_checkstring(L, 2);
    double p = cdi_desk_label_p(label, d);
    if (p < 0)
        return luaL_error(L, "no model of this desk has the label '%s'", label);
    lua_pushnumber(L, p);
    return 1;
}

/* ---- words -------------------------------------------------------------- */

#define BYTES_PER_STEP 64

/* Words in a phrase, at most: what one token tried costs to compare. */
static size_t phrase_words(const char *s)
{
    size_t n = 1;
    for (; s && *s; s++)
        n += *s == ' ';
    return n;
}

/* Count a query (arguments from 2: phrase [, scope], or with near: a, b,
 * within [, scope]) under the budget: the phrase's bytes, then a step per
 * token tried and word compared, charged before the count runs; raises on
 * a phrase that leaves no word, a bad scope or a spent budget. */
static size_t query_count(lua_State *L, cd_desk *d, int near)
{
    size_t len;
    cd_keyword_spec k = { luaL_checklstring(L, 2, &len), NULL, 0, CD_SCOPE_ALL, 1 };
    cdi_sandbox_steps(L, 1 + len / BYTES_PER_STEP);
    int scope_arg = 3;
    if (near) {
        k.near = luaL_checkstring(L, 3);
        if (lua_type(L, 4) == LUA_TSTRING && !strcmp(lua_tostring(L, 4), "sentence")) {
            k.within = -1;
        } else {
            lua_Integer w = luaL_checkinteger(L, 4);
            luaL_argcheck(L, w >= 0 && w <= 1000, 4, "a number of words (0 to 1000) or "
                                                       "\"sentence\"");
            k.within = (int)w;
        }
        scope_arg = 5;
    }
    if (!lua_isnoneornil(L, scope_arg)) {
        const char *sc = luaL_checkstring(L, scope_arg);
        if ((k.scope = cdi_scope_parse(sc, 0)) < 0)
            luaL_error(L, "unknown scope '%s' (\"title\", \"lede\" or \"body\")", sc);
    }
    cd_query *q;
    cd_error e;
    if (cdi_query_compile(d->tok, &k, &q, &e) != CD_OK)
        luaL_error(L, "%s", e.msg);
    const cd_toklist *l;
    if (cdi_desk_tokens(d, &l) != CD_OK) {   /* made now if only sampled */
        cdi_query_free(q);
        luaL_error(L, "out of memory");
    }
    size_t words = phrase_words(k.text) + (k.near ? phrase_words(k.near) : 0);
    if (!cdi_sandbox_count(L, (uint64_t)(l ? l->n : 0) * words)) {
        cdi_query_free(q);
        cdi_sandbox_steps(L, 0);   /* raises: the budget is spent */
    }
    uint64_t work = 0;
    size_t n = cdi_query_count(q, l, &work);
    cdi_query_free(q);
    /* a near query's looking around each occurrence: charged once done (at
     * most 2 x CD_NEAR_MAX positions an occurrence, so bounded) */
    if (work > (uint64_t)(l ? l->n : 0))
        cdi_sandbox_steps(L, work - (uint64_t)(l ? l->n : 0));
    return n;
}

static int m_has(lua_State *L)
{
    cd_desk *d = check_story(L);
    lua_pushboolean(L, query_count(L, d, 0) > 0);
    return 1;
}

static int m_count(lua_State *L)
{
    cd_desk *d = check_story(L);
    lua_pushinteger(L, (lua_Integer)query_count(L, d, 0));
    return 1;
}

/* story:near(a, b, n | "sentence" [, scope]) -> found, how many times */
static int m_near(lua_State *L)
{
    cd_desk *d = check_story(L);
    size_t n = query_count(L, d, 1);
    lua_pushboolean(L, n > 0);
    lua_pushinteger(L, (lua_Integer)n);
    return 2;
}

/* ---- notes: tags and log ------------------------------------------------ */

/* A tag or log line is kept by the engine, outside the Lua state, and
 * held against the desk's memory limit until the story is done. */
static void add_note(lua_State *L, cd_desk *d, desk_notes *notes, const char *s, int unique)
{
    for (size_t i = 0; unique && i < notes->n; i++)
        if (!strcmp(notes->v[i], s))
            return;
    if (notes->n >= MAX_NOTES)
        luaL_error(L, "more than %d tags or log lines for one story", MAX_NOTES);
    size_t cost = cdi_desk_note_cost(s);
    if (!cdi_sandbox_hold(d->sb, cost)) {
        size_t limit;
        cdi_sandbox_get_limits(d->sb, NULL, &limit, NULL);
        luaL_error(L, "memory limit of %I bytes exceeded (by the story's tags and log lines)",
                   (lua_Integer)limit);
    }
    if (!cdi_desk_note_add(notes, s)) {
        cdi_sandbox_release(d->sb, cost);
        luaL_error(L, "out of memory");
    }
}

static int m_tag(lua_State *L)
{
    cd_desk *d = check_story(L);
    const char *tag = luaL_checkstring(L, 2);
    if (!*tag)
        return luaL_error(L, "a tag cannot be empty");
    add_note(L, d, &d->cur.tags, tag, 1);
    return 0;
}

static int m_tags(lua_State *L)
{
    cd_desk *d = check_story(L);
    lua_createtable(L, (int)d->cur.tags.n, 0);
    for (size_t i = 0; i < d->cur.tags.n; i++) {
        lua_pushstring(L, d->cur.tags.v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int m_log(lua_State *L)
{
    cd_desk *d = check_story(L);
    int n = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, CD_SANDBOX_STRLIB);  /* not the desk's copy */
    lua_getfield(L, -1, "format");
    for (int i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    lua_call(L, n - 1, 1);
    char *where = cdi_desk_caller_where(L);
    lua_pushfstring(L, "%s: %s", where, lua_tostring(L, -1));
    free(where);
    add_note(L, d, &d->cur.log, lua_tostring(L, -1), 0);
    return 0;
}

/* ---- fields ------------------------------------------------------------- */

static void push_json(lua_State *L, const cJSON *j, int depth)
{
    luaL_checkstack(L, 4, "meta");
    if (depth > MAX_META_DEPTH) {
        lua_pushnil(L);
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        lua_Integer i;
        if (lua_numbertointeger(v, &i) && v == (double)i)   /* range-checked before the cast */
            lua_pushinteger(L, i);
        else
            lua_pushnumber(L, v);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
        lua_newtable(L);
        lua_Integer i = 0;
        for (const cJSON *c = j->child; c; c = c->next) {
            push_json(L, c, depth + 1);
            if (cJSON_IsArray(j))
                lua_rawseti(L, -2, ++i);
            else
                lua_setfield(L, -2, c->string ? c->string : "");
        }
    } else {
        lua_pushnil(L);
    }
}

static int push_json_protected(lua_State *L)
{
    push_json(L, lua_touserdata(L, 1), 0);
    return 1;
}

static void push_meta(lua_State *L, cd_desk *d)
{
    if (d->cur.meta_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, d->cur.meta_ref);
        return;
    }
    const char *text = d->cur.story->meta_json ? d->cur.story->meta_json : "{}";
    cJSON *j = cJSON_Parse(text);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        lua_newtable(L);
        return;
    }
    /* converting can raise (memory): convert protected, free, then rethrow */
    lua_pushcfunction(L, push_json_protected);
    lua_pushlightuserdata(L, j);
    int rc = lua_pcall(L, 1, 1, 0);
    cJSON_Delete(j);
    if (rc != LUA_OK)
        lua_error(L);
}

/* Push field key of the story, or return 0 when it is no field. */
static int push_field(lua_State *L, cd_desk *d, const char *key)
{
    const cd_story *s = d->cur.story;
    if (!strcmp(key, "id"))
        lua_pushstring(L, s->id ? s->id : "");
    else if (!strcmp(key, "title"))
        lua_pushlstring(L, s->title ? s->title : "", s->title ? s->title_len : 0);
    else if (!strcmp(key, "body"))
        lua_pushlstring(L, s->body ? s->body : "", s->body ? s->body_len : 0);
    else if (!strcmp(key, "source"))
        lua_pushstring(L, s->source ? s->source : "");
    else if (!strcmp(key, "meta"))
        push_meta(L, d);
    else if (!strcmp(key, "received"))
        lua_pushnumber(L, d->received);
    else
        return 0;
    return 1;
}

/* The methods table's __index (methods, key): a field of the story being
 * decided.  Only a live story object reaches it (an expired one has
 * another metatable); the method that found no key was looked up on that
 * story.  A method checks its story when it is called. */
static int field_index(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CURRENT_KEY) != LUA_TUSERDATA)
        return luaL_error(L, EXPIRED_MSG);
    lua_replace(L, 1);   /* the story, where a method has it */
    cd_desk *d = check_story_mt(L, lua_upvalueindex(1));
    const char *key = luaL_checkstring(L, 2);
    /* the cache of fields read, made at the first field a rule reads: most
     * stories are routed by methods alone */
    if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, 1);
    } else if (lua_getfield(L, -1, key) != LUA_TNIL) {
        return 1;
    } else {
        lua_pop(L, 1);
    }
    if (!push_field(L, d, key))
        return luaL_error(L, "a story has no field '%s' (id, title, body, source, meta, received; "
                             "methods: topic, topics, label, labels, prob, has, count, near, "
                             "tag, tags, log)", key);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, key);
    return 1;
}

static int story_newindex(lua_State *L)
{
    return luaL_error(L, "story fields are read-only (use story:tag to mark a story)");
}

static int story_tostring(lua_State *L)
{
    story_ud *u = luaL_checkudata(L, 1, STORY_MT);
    const cd_story *st = u->desk->cur.story;
    lua_pushfstring(L, "story %s", st->id ? st->id : "?");
    return 1;
}

/* ---- the expired story's metatable ----------------------------------------- */

static int expired_index(lua_State *L)
{
    return luaL_error(L, EXPIRED_MSG);
}

static int expired_tostring(lua_State *L)
{
    lua_pushliteral(L, "story (expired)");
    return 1;
}

void cdi_story_binding_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "topic", m_topic },   { "label", m_label }, { "labels", m_labels },
        { "prob", m_prob },     { "has", m_has },     { "count", m_count },
        { "near", m_near },     { "tag", m_tag },     { "tags", m_tags },
        { "log", m_log },       { NULL, NULL },
    };   /* and topics, with more upvalues, below */
    static const luaL_Reg meta[] = {
        { "__newindex", story_newindex }, { "__tostring", story_tostring }, { NULL, NULL },
    };
    static const luaL_Reg expired[] = {
        { "__index", expired_index }, { "__newindex", story_newindex },
        { "__tostring", expired_tostring }, { NULL, NULL },
    };
    luaL_newmetatable(L, STORY_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlibtable(L, methods);
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, methods, 1);          /* each with the metatable */
    lua_pushvalue(L, -2);                  /* topics: also its tables' keys */
    lua_pushliteral(L, "id");
    lua_pushliteral(L, "name");
    lua_pushliteral(L, "score");
    lua_pushcclosure(L, m_topics, 4);
    lua_setfield(L, -2, "topics");
    lua_createtable(L, 0, 1);              /* the methods' own: the fields */
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, field_index, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "__index");        /* the story's: the methods */
    lua_pushliteral(L, "story");
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &STORY_KEY);
    lua_createtable(L, 0, 4);
    luaL_setfuncs(L, expired, 0);
    lua_pushliteral(L, "story");
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &EXPIRED_KEY);
    lua_pushboolean(L, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CURRENT_KEY);
}

void cdi_story_binding_push(lua_State *L, cd_desk *desk)
{
    story_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->desk = desk;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &STORY_KEY);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CURRENT_KEY);
}

void cdi_story_binding_expire(lua_State *L)
{
    /* none of these raises: the keys are there since the registration,
     * and setting a metatable or a user value allocates nothing */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CURRENT_KEY) == LUA_TUSERDATA) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &EXPIRED_KEY);
        lua_setmetatable(L, -2);
        lua_pushnil(L);                  /* its fields' cache goes with the story */
        lua_setiuservalue(L, -2, 1);
        lua_pushboolean(L, 0);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &CURRENT_KEY);
    }
    lua_pop(L, 1);
}
