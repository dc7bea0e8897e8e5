/*
 * pattern.h - Lua patterns matched under the sandbox's budget
 * (string.find, match, gmatch, gsub; see pattern.c).
 */
#ifndef CD_LUA_PATTERN_H
#define CD_LUA_PATTERN_H

#include <lua.h>

/* Replace find, match, gmatch and gsub in the table at index lib. */
void cdi_pattern_install(lua_State *L, int lib);

#endif
