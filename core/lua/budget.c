/*
 * budget.c - string.rep and the table functions, for desks: the same
 * results and errors as Lua's, with their work reported to the budget.
 *
 * Lua's versions run one C loop per call, where the count hook never
 * fires: string.rep("", 2^53) loops 2^53 times making nothing;
 * table.move, insert and remove loop over whatever length __len claims;
 * table.sort sorts up to 2^31 elements that an __index can make up.
 * These loop the same way but count a step per element (per 64 bytes for
 * string.rep) and hand the steps to cdi_sandbox_steps every STEP_BATCH, so
 * the instruction budget and the wall clock hold inside them.
 */
#include <limits.h>
#include <string.h>

#include <lauxlib.h>

#include "lua/budget.h"
#include "lua/sandbox.h"

#define STEP_BATCH 4096
#define BYTES_PER_STEP 64
#define REP_CHUNK ((size_t)1 << 20)

typedef struct meter {
    lua_State *L;
    unsigned left;
} meter;

static void meter_start(meter *m, lua_State *L)
{
    m->L = L;
    m->left = STEP_BATCH;
}

static void tick(meter *m)
{
    if (--m->left == 0) {
        m->left = STEP_BATCH;
        cdi_sandbox_steps(m->L, STEP_BATCH);
    }
}

static void meter_end(meter *m)
{
    cdi_sandbox_steps(m->L, STEP_BATCH - m->left);
}

/* ---- string.rep ---------------------------------------------------------- */

static int b_rep(lua_State *L)
{
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {  /* "" however often: no loop */
        lua_pushliteral(L, "");
        return 1;
    }
    size_t unit = l + lsep;
    if (unit < l || unit > (size_t)LUA_MAXINTEGER / (lua_Unsigned)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total);
    memcpy(p, s, l);
    size_t filled = l;
    if (filled < total) {
        memcpy(p + filled, sep, lsep);
        filled += lsep;
    }
    /* the result repeats with period unit: copy what is made onto what is
     * not, in chunks, each reported before it is copied */
    while (filled < total) {
        size_t from = filled % unit;
        size_t chunk = filled - from;
        if (chunk > total - filled)
            chunk = total - filled;
        if (chunk > REP_CHUNK)
            chunk = REP_CHUNK;
        cdi_sandbox_steps(L, 1 + chunk / BYTES_PER_STEP);
        memcpy(p + filled, p + from, chunk);
        filled += chunk;
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

void cdi_budget_install_string(lua_State *L, int lib)
{
    lib = lua_absindex(L, lib);
    lua_pushcfunction(L, b_rep);
    lua_setfield(L, lib, "rep");
}

/* ---- table functions ------------------------------------------------------- */

static lua_Integer length_of(lua_State *L, int t)
{
    luaL_checktype(L, t, LUA_TTABLE);
    return luaL_len(L, t);
}

static int b_insert(lua_State *L)
{
    lua_Integer e = length_of(L, 1);
    e = (lua_Integer)((lua_Unsigned)e + 1u);    /* first empty element */
    lua_Integer pos;
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3: {
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        meter m;
        meter_start(&m, L);
        for (lua_Integer i = e; i > pos; i--) {
            tick(&m);
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        meter_end(&m);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int b_remove(lua_State *L)
{
    lua_Integer size = length_of(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2,
                      "position out of bounds");
    lua_geti(L, 1, pos);
    meter m;
    meter_start(&m, L);
    for (; pos < size; pos++) {
        tick(&m);
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    meter_end(&m);
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int b_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, tt, LUA_TTABLE);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        meter m;
        meter_start(&m, L);
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < n; i++) {
                tick(&m);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (lua_Integer i = n - 1; i >= 0; i--) {
                tick(&m);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
        meter_end(&m);
    }
    lua_pushvalue(L, tt);
    return 1;
}

static void add_field(lua_State *L, luaL_Buffer *b, lua_Integer i)
{
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (at index %I) in table for 'concat'", (LUAI_UACINT)i);
    luaL_addvalue(b);
}

static int b_concat(lua_State *L)
{
    lua_Integer last = length_of(L, 1);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    meter m;
    meter_start(&m, L);
    for (; i < last; i++) {
        tick(&m);
        add_field(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last)
        add_field(L, &b, i);
    meter_end(&m);
    luaL_pushresult(&b);
    return 1;
}

/* ---- table.sort: a heapsort, n log n whatever the order ---------------------- */

typedef struct sorter {
    lua_State *L;
    int cmp;            /* a comparison function is argument 2 */
    meter m;
} sorter;

/* Is the value at stack index a less than the one at b? */
static int less(sorter *s, int a, int b)
{
    lua_State *L = s->L;
    tick(&s->m);
    if (!s->cmp)
        return lua_compare(L, a, b, LUA_OPLT);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, a);
    lua_pushvalue(L, b);
    lua_call(L, 2, 1);
    int r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* Sift t[i] down the heap t[1..n]. */
static void sift(sorter *s, lua_Integer i, lua_Integer n)
{
    lua_State *L = s->L;
    lua_geti(L, 1, i);
    int v = lua_gettop(L);
    for (;;) {
        lua_Integer c = 2 * i;
        if (c > n)
            break;
        lua_geti(L, 1, c);
        if (c + 1 <= n) {
            lua_geti(L, 1, c + 1);
            if (less(s, v + 1, v + 2)) {
                c++;
                lua_remove(L, v + 1);
            } else {
                lua_pop(L, 1);
            }
        }
        if (!less(s, v, v + 1)) {
            lua_pop(L, 1);
            break;
        }
        lua_seti(L, 1, i);  /* the larger child moves up */
        i = c;
    }
    lua_seti(L, 1, i);
}

static int b_sort(lua_State *L)
{
    lua_Integer n = length_of(L, 1);
    if (n > 1) {
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        sorter s = { .L = L, .cmp = !lua_isnoneornil(L, 2) };
        if (s.cmp)
            luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
        luaL_checkstack(L, 8, "sort");
        meter_start(&s.m, L);
        for (lua_Integer i = n / 2; i >= 1; i--)
            sift(&s, i, n);
        for (lua_Integer e = n; e > 1; e--) {
            lua_geti(L, 1, 1);
            lua_geti(L, 1, e);
            lua_seti(L, 1, 1);
            lua_seti(L, 1, e);
            sift(&s, 1, e - 1);
        }
        meter_end(&s.m);
    }
    return 0;
}

void cdi_budget_install_table(lua_State *L, int lib)
{
    static const luaL_Reg fns[] = {
        { "insert", b_insert }, { "remove", b_remove }, { "move", b_move },
        { "concat", b_concat }, { "sort", b_sort },     { NULL, NULL },
    };
    lib = lua_absindex(L, lib);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, lib, f->name);
    }
}
