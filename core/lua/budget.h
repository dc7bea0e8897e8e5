/*
 * budget.h - the string and table functions that loop in C, replaced by
 * versions that report their work to the sandbox's budget (budget.c).
 */
#ifndef CD_LUA_BUDGET_H
#define CD_LUA_BUDGET_H

#include <lua.h>

/* string.rep, in the string library at index lib. */
void cdi_budget_install_string(lua_State *L, int lib);
/* table.insert, remove, move, concat and sort, in the table library at
 * index lib. */
void cdi_budget_install_table(lua_State *L, int lib);

#endif
