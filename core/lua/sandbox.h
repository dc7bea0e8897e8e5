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
 * Every call into desk code goes through cd_sandbox_pcall, which arms an
 * instruction budget (a count hook, shared by the coroutines the code
 * creates), a wall-clock limit, and reports errors with the innermost Lua
 * line.  A custom allocator holds the whole state under a memory limit.
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
cd_status cd_sandbox_new(const char *config_dir, const char *scripts_dir, void *owner,
                         cd_sandbox **out, cd_error *err);
void cd_sandbox_free(cd_sandbox *sb);

lua_State *cd_sandbox_state(cd_sandbox *sb);
/* The sandbox of a state, and its owner (the desk). */
cd_sandbox *cd_sandbox_of(lua_State *L);
void *cd_sandbox_owner(lua_State *L);

/* Limits; 0 leaves one unchanged. */
void cd_sandbox_set_limits(cd_sandbox *sb, uint64_t instructions, size_t memory,
                           double seconds);
void cd_sandbox_get_limits(const cd_sandbox *sb, uint64_t *instructions, size_t *memory,
                           double *seconds);
size_t cd_sandbox_memory_used(const cd_sandbox *sb);

/* Call the function below nargs arguments on the stack, under the limits.
 * On error returns the Lua status and leaves one string on the stack: the
 * message, with the file and line where Lua knows them. */
int cd_sandbox_pcall(cd_sandbox *sb, int nargs, int nresults);

/* After an error in cd_sandbox_pcall: "file:line" of the innermost Lua
 * code that was running, or "" when unknown. */
const char *cd_sandbox_where(const cd_sandbox *sb);

/* Resolve a path the desk reads: relative paths are taken from the
 * configuration's folder.  Returns a new string (caller frees) or NULL. */
char *cd_sandbox_path(const cd_sandbox *sb, const char *path);

/* Load a text-only chunk from a file inside the allowed folders; pushes the
 * function, or returns non-LUA_OK with a message pushed. */
int cd_sandbox_loadfile(lua_State *L, const char *path);

#endif
