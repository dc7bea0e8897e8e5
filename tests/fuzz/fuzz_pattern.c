/*
 * fuzz_pattern.c - libFuzzer target: the budgeted pattern matcher
 * (core/lua/pattern.c) against Lua's own, on the same subject and pattern.
 *
 * The input is split at the first NUL byte: a subject, then a pattern and
 * a replacement after a second NUL.  string.find, match, gmatch (all
 * matches) and gsub run in a plain Lua state with the standard library
 * and in a desk's sandbox under a budget; both must give the same results
 * or the same error message.  When the sandbox reports its budget spent,
 * the reference is not run (it might not end).  Patterns with more than
 * three repetitions are cut, so that the reference stays quick.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua/sandbox.h"

static lua_State *ref;
static cd_sandbox *sb;

/* Every result of the expression, or its error, as one string. */
static const char script[] =
    "local s, p, r = ...\n"
    "local function show(ok, ...)\n"
    "  if not ok then return 'error: ' .. tostring((...)) end\n"
    "  local t = table.pack(...)\n"
    "  for i = 1, t.n do t[i] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
    "  return table.concat(t, ',')\n"
    "end\n"
    "local out = {}\n"
    "for _, init in ipairs({ 1, 3, -2 }) do\n"
    "  out[#out + 1] = show(pcall(string.find, s, p, init))\n"
    "  out[#out + 1] = show(pcall(string.find, s, p, init, true))\n"
    "  out[#out + 1] = show(pcall(string.match, s, p, init))\n"
    "  out[#out + 1] = show(pcall(function()\n"
    "    local all = {}\n"
    "    for a, b in string.gmatch(s, p, init) do all[#all + 1] = tostring(a) .. '/' .. tostring(b)\n"
    "      if #all > 50 then break end end\n"
    "    return table.concat(all, ';')\n"
    "  end))\n"
    "end\n"
    "out[#out + 1] = show(pcall(string.gsub, s, p, r))\n"
    "out[#out + 1] = show(pcall(string.gsub, s, p, r, 2))\n"
    "out[#out + 1] = show(pcall(string.gsub, s, p, function(a) return a and #tostring(a) end))\n"
    "out[#out + 1] = show(pcall(string.gsub, s, p, { a = 'A', [''] = 'E' }))\n"
    "out[#out + 1] = show(pcall(string.rep, s, 3, r))\n"
    "local t = {}\n"
    "for c in s:gmatch('.') do t[#t + 1] = c:byte() end\n"
    "table.sort(t)\n"
    "out[#out + 1] = table.concat(t, ' ')\n"
    "return table.concat(out, '\\n')\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ref = luaL_newstate();
    luaL_openlibs(ref);
    cd_error err;
    if (!ref || cdi_sandbox_new(".", NULL, NULL, &sb, &err) != CD_OK)
        abort();
    cdi_sandbox_set_limits(sb, 2000000, 16 << 20, 5);
    return 0;
}

static int too_many_repetitions(const char *p, size_t n)
{
    int reps = 0;
    for (size_t i = 0; i < n; i++)
        reps += p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?';
    return reps > 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 400)
        return 0;
    const char *s = (const char *)data;
    const char *nul = memchr(s, '\0', size);
    size_t ls = nul ? (size_t)(nul - s) : size;
    const char *p = nul ? nul + 1 : "";
    size_t lp = nul ? size - ls - 1 : 0;
    const char *nul2 = memchr(p, '\0', lp);
    const char *r = nul2 ? nul2 + 1 : "%0";
    size_t lr = nul2 ? lp - (size_t)(nul2 - p) - 1 : 2;
    if (nul2)
        lp = (size_t)(nul2 - p);
    if (too_many_repetitions(p, lp))
        return 0;

    lua_State *L = cdi_sandbox_state(sb);
    if (luaL_loadbuffer(L, script, sizeof script - 1, "=fuzz") != LUA_OK)
        abort();
    lua_pushlstring(L, s, ls);
    lua_pushlstring(L, p, lp);
    lua_pushlstring(L, r, lr);
    if (cdi_sandbox_pcall(sb, 3, 1) != LUA_OK) {
        lua_pop(L, 1);      /* over the budget: the reference might not end */
        return 0;
    }
    size_t lgot;
    const char *got = lua_tolstring(L, -1, &lgot);

    if (luaL_loadbuffer(ref, script, sizeof script - 1, "=fuzz") != LUA_OK)
        abort();
    lua_pushlstring(ref, s, ls);
    lua_pushlstring(ref, p, lp);
    lua_pushlstring(ref, r, lr);
    if (lua_pcall(ref, 3, 1, 0) != LUA_OK)
        abort();
    size_t lwant;
    const char *want = lua_tolstring(ref, -1, &lwant);
    if (lgot != lwant || memcmp(got, want, lgot) != 0) {
        fprintf(stderr, "pattern differs from Lua's:\n--- sandbox\n%s\n--- lua\n%s\n", got, want);
        abort();
    }
    lua_pop(L, 1);
    lua_pop(ref, 1);
    lua_gc(ref, LUA_GCCOLLECT);
    return 0;
}
