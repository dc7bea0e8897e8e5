/*
 * sandbox.h - the Lua state a desk runs in, and the limits around it.
 *
 * The state has the base, string, table, math, utf8 and coroutine
 * libraries and nothing that reaches the system: no os, io, debug or
 * package.  load accepts text only; dofile, loadfile and require read
 * text files under the configuration's folder or the scripts folder and
 * nowhere else.  setmetatable refuses __gc (a finalizer would run outside
 * every budget), print writes to stderr.
 *
 * Every call into desk code goes through cdi_sandbox_pcall, which arms an
 * instruction budget (a count hook, shared by the coroutines the code
 * creates), a wall-clock limit, and reports errors with the innermost Lua
 * line.  C library functions that can loop report their steps to the same
 * budget (cdi_sandbox_steps).  A custom allocator holds the whole state,
 * and what the engine keeps for it, under a memory limit.
 */
#ifndef CD_LUA_SANDBOX_H
#define CD_LUA_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

#include "copydesk/error.h"

typedef struct cd_sandbox cd_sandbox;

/* Registry field holding the string library as the engine uses it (the
 * global `string` of a desk is a copy that rules may change). */
#define CD_SANDBOX_STRLIB "copydesk.string"

/* A new state; dirs are the folders dofile/loadfile/require may read
 * (scripts_dir may be NULL or absent).  owner is for the bindings. */
cd_status cdi_sandbox_new(const char *config_dir, const char *scripts_dir, void *owner,
                          cd_sandbox **out, cd_error *err);
void cdi_sandbox_free(cd_sandbox *sb);

lua_State *cdi_sandbox_state(cd_sandbox *sb);
/* The sandbox of a state, and its owner (the desk). */
cd_sandbox *cdi_sandbox_of(lua_State *L);
void *cdi_sandbox_owner(lua_State *L);

/* Limits; 0 leaves one unchanged. */
void cdi_sandbox_set_limits(cd_sandbox *sb, uint64_t instructions, size_t memory,
                            double seconds);
void cdi_sandbox_get_limits(const cd_sandbox *sb, uint64_t *instructions, size_t *memory,
                            double *seconds);

/* Call the function below nargs arguments on the stack, under the limits.
 * On error returns the Lua status and leaves one string on the stack: the
 * message, with the file and line where Lua knows them. */
int cdi_sandbox_pcall(cd_sandbox *sb, int nargs, int nresults);
/* The same with the message handler the caller pushed (once, with
 * cdi_sandbox_push_handler) at stack index handler, below the function:
 * for a caller that makes many calls in a row, such as a story's rules. */
void cdi_sandbox_push_handler(lua_State *L);
int cdi_sandbox_pcallh(cd_sandbox *sb, int nargs, int nresults, int handler);

/* Work done by C code for desk code, in steps (a pattern item tried at
 * one position, a comparison, an element moved, 64 bytes copied): every
 * CD_SANDBOX_STEPS_PER_INSTRUCTION count as one instruction of the budget,
 * and the wall clock is checked.  Raises the budget or time error when one
 * is spent; does nothing outside cdi_sandbox_pcall.  Callers report at
 * least every few thousand steps, holding nothing that an error would
 * leak. */
#define CD_SANDBOX_STEPS_PER_INSTRUCTION 8
void cdi_sandbox_steps(lua_State *L, uint64_t steps);
/* The same without raising: 0 when a limit is spent.  The caller frees
 * what it holds, then raises with cdi_sandbox_steps(L, 0). */
int cdi_sandbox_count(lua_State *L, uint64_t steps);

/* Memory the engine keeps on behalf of desk code (a story's tags and log
 * lines) counts against the memory limit: hold returns 0, holding
 * nothing, when bytes more would exceed it. */
int cdi_sandbox_hold(cd_sandbox *sb, size_t bytes);
void cdi_sandbox_release(cd_sandbox *sb, size_t bytes);


/* Resolve a path the desk reads: relative paths are taken from the
 * configuration's folder.  Returns a new string (caller frees) or NULL. */
char *cdi_sandbox_path(const cd_sandbox *sb, const char *path);

/* Load a text-only chunk from a file inside the allowed folders; pushes the
 * function, or returns non-LUA_OK with a message pushed. */
int cdi_sandbox_loadfile(lua_State *L, const char *path);

#endif
