/*
 * desk_time.c - time in a desk: the functions a configuration and its
 * rules may call about time (docs/desk-api.md, "Time and embargoes").
 *
 *   now()               the current UTC time, seconds since 1970 (a float);
 *                       in an expect case with now = "...", that time
 *   iso8601(text)       ISO 8601 text -> seconds (nil, message when it is
 *                       not a date-time); iso8601(seconds) -> the text
 *   hold(time, dests)   what a rule returns to hold a story until time
 *                       (seconds or ISO 8601 text) and then deliver it to
 *                       dests (a name or a list of names)
 *
 * Kept apart from sandbox.c, which knows nothing of desks: these read the
 * desk's clock (cdi_desk_now), which an expect case may fix.
 */
#include <math.h>
#include <string.h>

#include <lauxlib.h>

#include "desk/desk_internal.h"
#include "desk/isotime.h"

#define HOLD_MT "copydesk.hold"

double cdi_desk_now(const cd_desk *d)
{
    return d->now_fixed > 0 ? d->now_fixed : cdi_utc_now();
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, cdi_desk_now(cdi_sandbox_owner(L)));
    return 1;
}

/* The time at idx: a number of seconds, or ISO 8601 text; raises else. */
static double check_time(lua_State *L, int idx, const char *what)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double t = lua_tonumber(L, idx);
        if (!isfinite(t) || t < CD_ISO8601_MIN || t > CD_ISO8601_MAX)
            luaL_error(L, "%s: the time must be seconds between years 1 and 9999, got %f",
                       what, t);
        return t;
    }
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "%s: the time must be ISO 8601 text or seconds, not %s", what,
                   luaL_typename(L, idx));
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    double t;
    if (cdi_iso8601_parse(s, len, &t) != 0)
        luaL_error(L, "%s: '%s' is not an ISO 8601 date-time (like 2026-06-01T09:00:00Z)",
                   what, s);
    return t;
}

static int l_iso8601(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TNUMBER) {
        double t = lua_tonumber(L, 1);
        if (!isfinite(t) || t < CD_ISO8601_MIN || t > CD_ISO8601_MAX) {
            luaL_pushfail(L);
            lua_pushstring(L, "the time is out of range (years 1 to 9999)");
            return 2;
        }
        char buf[40];
        cdi_iso8601_format(t, buf, sizeof buf);
        lua_pushstring(L, buf);
        return 1;
    }
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    double t;
    if (cdi_iso8601_parse(s, len, &t) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "'%s' is not an ISO 8601 date-time", s);
        return 2;
    }
    lua_pushnumber(L, t);
    return 1;
}

/* hold(time, "dest") or hold(time, { "a", "b" }) -> a hold the rule returns. */
static int l_hold(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        return luaL_error(L, "hold: no time given (nil): hold(time, destinations)");
    double until = check_time(L, 1, "hold");
    int t = lua_type(L, 2);
    if (t != LUA_TSTRING && t != LUA_TTABLE)
        return luaL_error(L, "hold: the destinations must be a name or a list of names");
    lua_createtable(L, 0, 2);
    lua_pushnumber(L, until);
    lua_setfield(L, -2, "until");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "to");
    luaL_setmetatable(L, HOLD_MT);
    return 1;
}

int cdi_desk_hold_at(lua_State *L, int idx, double *until)
{
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, HOLD_MT);
    int is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!is)
        return 0;
    lua_getfield(L, idx, "until");
    *until = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return 1;
}

void cdi_desk_time_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "now", l_now }, { "iso8601", l_iso8601 }, { "hold", l_hold }, { NULL, NULL },
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, HOLD_MT);
    lua_pushliteral(L, "hold");
    lua_setfield(L, -2, "__metatable");   /* a rule cannot forge or alter one */
    lua_pop(L, 1);
}
