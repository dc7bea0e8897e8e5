/*
 * sandbox.c - the Lua state of a desk: safe libraries, file access
 * confined to two folders, and the limits (see sandbox.h).
 *
 * Design, after Redis's scripting: the state is prepared once with the
 * dangerous globals never opened (os, io, debug, package) rather than
 * removed afterwards, and replacements of load, dofile, loadfile and
 * require that read text chunks only, from the configuration's folder or
 * the scripts folder.
 *
 * Limits.  The count hook is installed on the main thread when the state
 * is made, so every coroutine inherits it, and it does nothing unless a
 * call is armed by cdi_sandbox_pcall.  Each firing adds its granularity to
 * a counter shared by all threads and checks a wall-clock deadline; when
 * either is exceeded the hook raises an error, and from then on fires at
 * every instruction, so a rule that catches the error with pcall cannot
 * go on.
 *
 * A hook fires between instructions only, so work done inside one C call
 * is counted by the C code itself: the library functions that can loop
 * without making anything (patterns, string.rep, the table functions,
 * story:has) are replaced by versions that report their steps to
 * cdi_sandbox_steps, which adds them to the same counter and checks the
 * same clock.  A coroutine starts a fresh hook countdown, and one that ends
 * before the hook fires would go uncounted: creating one is charged the
 * hook's granularity.  Calls that copy bytes (concatenation, format) make
 * their result as they go, and the allocator refuses any large block once
 * the deadline has passed, so they stop there too.
 *
 * Memory is held by the allocator: strictly while desk code runs, with a
 * little slack while the engine itself builds error messages.  What the
 * engine keeps for a rule outside the state (tags, log lines) is held
 * against the same limit (cdi_sandbox_hold).  Small blocks the state frees
 * are kept for its next ones (block_pool.h, at most POOL_BYTES a state):
 * the limit counts the blocks in use, not those kept.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua/block_pool.h"
#include "lua/budget.h"
#include "lua/pattern.h"
#include "lua/sandbox.h"

#define SLACK_BYTES ((size_t)1 << 20)
#define HOOK_EVERY 1000
/* Blocks at least this large are refused once the deadline has passed. */
#define LATE_BLOCK ((size_t)64 << 10)
/* The region of the state's pool of small blocks (reserved, taken as used). */
#define POOL_BYTES ((size_t)8 << 20)
static const char LOADED_KEY[] = "copydesk.loaded";

struct cd_sandbox {
    lua_State *L;
    cdi_block_pool *pool;   /* the state's small blocks */
    void *owner;
    char *config_dir;    /* real path, no trailing slash */
    char *scripts_dir;   /* real path, or NULL */
    size_t used, limit;  /* used includes held */
    size_t held;         /* engine memory kept for desk code (tags, logs) */
    int strict;          /* 1 while desk code runs */
    uint64_t budget, count;
    uint64_t steps;      /* C steps not yet counted as instructions */
    int every;           /* hook granularity */
    int armed, tripped;
    double seconds, deadline;
};

static double now_s(void);

/* ---- memory ------------------------------------------------------------- */

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    cd_sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        cdi_block_pool_release(sb->pool, ptr, old);
        sb->used -= old;
        return NULL;
    }
    if (nsize > old && sb->limit) {
        size_t cap = sb->limit + (sb->strict ? 0 : SLACK_BYTES);
        if (sb->used - old + nsize > cap)
            return NULL;
    }
    /* a C call that builds a large result stops at the deadline */
    if (nsize > old && nsize - old >= LATE_BLOCK && sb->armed && sb->seconds > 0 &&
        (sb->tripped == 2 || now_s() > sb->deadline)) {
        if (!sb->tripped)
            sb->tripped = 2;
        return NULL;
    }
    void *p = cdi_block_pool_realloc(sb->pool, ptr, old, nsize);
    if (p)
        sb->used = sb->used - old + nsize;
    return p;
}

/* ---- instruction budget and wall clock ----------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void trip_message(const cd_sandbox *sb, char *msg, size_t cap)
{
    if (sb->tripped == 1)
        snprintf(msg, cap, "instruction budget of %llu exceeded", (unsigned long long)sb->budget);
    else
        snprintf(msg, cap, "time limit of %.3g s exceeded", sb->seconds);
}

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    if (!sb->armed)
        return;
    if (!sb->tripped) {
        if (lua_gethookcount(L) != sb->every)
            lua_sethook(L, sb_hook, LUA_MASKCOUNT, sb->every);
        sb->count += (uint64_t)lua_gethookcount(L);
        int over_count = sb->count > sb->budget;
        if (!over_count && !(sb->seconds > 0 && now_s() > sb->deadline))
            return;
        sb->tripped = over_count ? 1 : 2;
    }
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    lua_getinfo(L, "Sl", ar);
    char msg[200];
    trip_message(sb, msg, sizeof msg);
    luaL_error(L, "%s:%d: %s", ar->short_src, ar->currentline, msg);
}

/* Count instructions done outside the VM; 0 when a limit is spent. */
static int count_ok(cd_sandbox *sb, uint64_t instructions)
{
    sb->count = sb->count + instructions < sb->count ? UINT64_MAX : sb->count + instructions;
    if (!sb->tripped) {
        if (sb->count > sb->budget)
            sb->tripped = 1;
        else if (sb->seconds > 0 && now_s() > sb->deadline)
            sb->tripped = 2;
    }
    return !sb->tripped;
}

/* count_ok, raising when a limit is spent. */
static void charge(lua_State *L, cd_sandbox *sb, uint64_t instructions)
{
    if (count_ok(sb, instructions))
        return;
    /* from now on every instruction raises, in this thread and the main one */
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
    char msg[200];
    trip_message(sb, msg, sizeof msg);
    luaL_error(L, "%s", msg);
}

static uint64_t to_instructions(cd_sandbox *sb, uint64_t steps)
{
    uint64_t s = sb->steps + steps < steps ? UINT64_MAX : sb->steps + steps;
    sb->steps = s % CD_SANDBOX_STEPS_PER_INSTRUCTION;
    return s / CD_SANDBOX_STEPS_PER_INSTRUCTION;
}

void cdi_sandbox_steps(lua_State *L, uint64_t steps)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    if (sb->armed)
        charge(L, sb, to_instructions(sb, steps));
}

int cdi_sandbox_count(lua_State *L, uint64_t steps)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    return !sb->armed || count_ok(sb, to_instructions(sb, steps));
}

/* coroutine.create and wrap: a new thread counts down from the hook's
 * granularity afresh, and what it runs before its first firing is never
 * seen by the hook; charge that much when it is made. */
static int sb_new_thread(lua_State *L)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    if (sb->armed)
        charge(L, sb, (uint64_t)sb->every);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Message handler: keeps the message (a non-string one described). */
static int sb_msgh(lua_State *L)
{
    if (!lua_isstring(L, 1)) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    return 1;
}

void cdi_sandbox_push_handler(lua_State *L)
{
    lua_pushcfunction(L, sb_msgh);
}

int cdi_sandbox_pcall(cd_sandbox *sb, int nargs, int nresults)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs;
    cdi_sandbox_push_handler(L);
    lua_insert(L, base);
    int rc = cdi_sandbox_pcallh(sb, nargs, nresults, base);
    lua_remove(L, base);
    return rc;
}

int cdi_sandbox_pcallh(cd_sandbox *sb, int nargs, int nresults, int handler)
{
    lua_State *L = sb->L;
    sb->count = 0;
    sb->steps = 0;
    sb->tripped = 0;
    sb->deadline = now_s() + sb->seconds;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, sb->every);   /* a fresh countdown */
    sb->armed = 1;
    sb->strict = 1;
    int rc = lua_pcall(L, nargs, nresults, handler);
    int tripped = sb->tripped;
    sb->strict = 0;
    sb->armed = 0;
    sb->tripped = 0;
    /* a spent limit left the hook firing at every instruction; otherwise
     * it is as armed, and the next call starts its countdown afresh */
    if (tripped || lua_gethookcount(L) != sb->every)
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, sb->every);
    if (rc != LUA_OK) {
        lua_gc(L, LUA_GCCOLLECT);
        if (rc == LUA_ERRMEM && tripped == 2) {
            /* a block refused at the deadline, not for its size */
            char msg[100];
            snprintf(msg, sizeof msg, "time limit of %.3g s exceeded", sb->seconds);
            lua_pop(L, 1);
            lua_pushstring(L, msg);
        } else if (rc == LUA_ERRMEM) {
            lua_pop(L, 1);
            lua_pushfstring(L, "memory limit of %I bytes exceeded", (lua_Integer)sb->limit);
        } else if (!lua_isstring(L, -1)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "error without a message");
        }
    }
    return rc;
}

/* ---- files: the two folders --------------------------------------------- */

char *cdi_sandbox_path(const cd_sandbox *sb, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    size_t n = strlen(sb->config_dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", sb->config_dir, path);
    return out;
}

static int inside(const char *real, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    return dir && strncmp(real, dir, n) == 0 && (real[n] == '/' || n == 1);
}

int cdi_sandbox_loadfile(lua_State *L, const char *path)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    char *full = cdi_sandbox_path(sb, path);
    char *real = full ? realpath(full, NULL) : NULL;
    int rc;
    if (!real) {
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
        rc = LUA_ERRFILE;
    } else if (!inside(real, sb->config_dir) && !inside(real, sb->scripts_dir)) {
        lua_pushfstring(L, "%s: outside the configuration's folder and scripts/", path);
        rc = LUA_ERRFILE;
    } else {
        rc = luaL_loadfilex(L, real, "t");
    }
    free(full);
    free(real);
    return rc;
}

static int sb_loadfile(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int env = !lua_isnoneornil(L, 3);
    if (cdi_sandbox_loadfile(L, path) != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, 3);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

static int sb_dofile(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (cdi_sandbox_loadfile(L, path) != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

static int sb_load(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    luaL_argexpected(L, s != NULL, 1, "string (a desk loads text chunks only)");
    const char *name = luaL_optstring(L, 2, "=(load)");
    int env = !lua_isnone(L, 4);
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

/* ---- require ------------------------------------------------------------ */

static int module_name_ok(const char *name)
{
    if (!*name || *name == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.';
        if (!ok || (p[0] == '.' && p[1] == '.'))
            return 0;
    }
    return 1;
}

/* Push the path of module name's file, or nil. */
static void find_module(lua_State *L, cd_sandbox *sb, const char *name)
{
    static const char *const forms[] = { "%s/%s.lua", "%s/%s/init.lua" };
    const char *dirs[2] = { sb->config_dir, sb->scripts_dir };
    const char *rel = luaL_gsub(L, name, ".", "/");
    for (int i = 0; i < 2; i++) {
        for (int f = 0; dirs[i] && f < 2; f++) {
            const char *path = lua_pushfstring(L, forms[f], dirs[i], rel);
            if (access(path, R_OK) == 0) {
                lua_remove(L, -2);
                return;
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

static int sb_require(lua_State *L)
{
    cd_sandbox *sb = cdi_sandbox_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (!module_name_ok(name))
        return luaL_error(L, "require: bad module name '%s'", name);
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY);          /* 2 */
    if (lua_getfield(L, 2, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    find_module(L, sb, name);                                 /* 3 */
    if (lua_isnil(L, 3))
        return luaL_error(L, "module '%s' not found in %s%s%s", name, sb->config_dir,
                          sb->scripts_dir ? " or " : "", sb->scripts_dir ? sb->scripts_dir : "");
    if (cdi_sandbox_loadfile(L, lua_tostring(L, 3)) != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

/* ---- replacements of base functions ------------------------------------- */

static int sb_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    /* one line per print, whatever story text it holds, and whole: desks
     * on other threads (route's workers) print too */
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    flockfile(stderr);
    fputs("copydesk: lua: ", stderr);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputc('\n', stderr);
    funlockfile(stderr);
    return 0;
}

static int sb_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_getfield(L, 2, "__gc");
        if (!lua_isnil(L, -1))
            return luaL_error(L, "__gc metamethods are not allowed in a desk");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static int sb_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (!strcmp(opt, "count")) {
        lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT) +
                              (lua_Number)lua_gc(L, LUA_GCCOUNTB) / 1024);
        return 1;
    }
    if (!strcmp(opt, "collect") || !strcmp(opt, "step")) {
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
    return luaL_error(L, "collectgarbage('%s') is not allowed in a desk", opt);
}

static void open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base },      { LUA_STRLIBNAME, luaopen_string },
        { LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
        { LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_COLIBNAME, luaopen_coroutine },
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const luaL_Reg base[] = {
        { "load", sb_load },         { "loadfile", sb_loadfile },
        { "dofile", sb_dofile },     { "require", sb_require },
        { "print", sb_print },       { "setmetatable", sb_setmetatable },
        { "collectgarbage", sb_collectgarbage }, { NULL, NULL },
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, base, 0);
    lua_pop(L, 1);
    /* library functions that loop in C, replaced by ones that count */
    lua_getglobal(L, LUA_TABLIBNAME);
    cdi_budget_install_table(L, -1);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_COLIBNAME);
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "wrap" : "create";
        lua_getfield(L, -1, name);
        lua_pushcclosure(L, sb_new_thread, 1);
        lua_setfield(L, -2, name);
    }
    lua_pop(L, 1);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");    /* binary chunks have no use here */
    cdi_pattern_install(L, -1);
    cdi_budget_install_string(L, -1);
    /* Strings share one metatable whose __index is the string library:
     * hide it (getmetatable("") is false), keep the library the engine
     * and method calls (s:upper()) use in the registry, and give the
     * desk a copy as the global `string`, so that a rule that changes
     * string.format or getmetatable("").__index changes nothing for the
     * engine or for other rules' method calls. */
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, CD_SANDBOX_STRLIB);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
    lua_setglobal(L, LUA_STRLIBNAME);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
}

/* Runs protected: libraries can fail to allocate. */
static int prepare(lua_State *L)
{
    open_libs(L);
    return 0;
}

/* ---- the state ---------------------------------------------------------- */

cd_status cdi_sandbox_new(const char *config_dir, const char *scripts_dir, void *owner,
                          cd_sandbox **out, cd_error *err)
{
    *out = NULL;
    cd_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    sb->owner = owner;
    sb->budget = 1000000;
    sb->every = HOOK_EVERY;
    sb->seconds = 2;
    sb->config_dir = realpath(config_dir, NULL);
    if (!sb->config_dir) {
        cd_status st = cd_error_set(err, CD_ERR_IO, "%s: %s", config_dir, strerror(errno));
        free(sb);
        return st;
    }
    if (scripts_dir)
        sb->scripts_dir = realpath(scripts_dir, NULL);
    sb->pool = cdi_block_pool_new(POOL_BYTES);
    if (!sb->pool) {
        cdi_sandbox_free(sb);
        return cd_error_set(err, CD_ERR_NOMEM, "out of memory");
    }
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        cdi_sandbox_free(sb);
        return cd_error_set(err, CD_ERR_NOMEM, "cannot create a Lua state");
    }
    *(cd_sandbox **)lua_getextraspace(sb->L) = sb;
    /* Generational collection: what a rule makes per story (the story
     * object, topic tables) dies young, and the incremental collector's
     * steps cost route as much as the rules themselves.  The memory limit
     * holds the same (the allocator refuses; Lua collects in full first). */
    lua_gc(sb->L, LUA_GCGEN, 0, 0);
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, sb->every);
    lua_pushcfunction(sb->L, prepare);
    if (lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
        cdi_sandbox_free(sb);
        return cd_error_set(err, CD_ERR_NOMEM, "cannot prepare the Lua state");
    }
    *out = sb;
    return CD_OK;
}

void cdi_sandbox_free(cd_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->L)
        lua_close(sb->L);
    cdi_block_pool_free(sb->pool);   /* after the state: its blocks are dead */
    free(sb->config_dir);
    free(sb->scripts_dir);
    free(sb);
}

lua_State *cdi_sandbox_state(cd_sandbox *sb)
{
    return sb->L;
}

cd_sandbox *cdi_sandbox_of(lua_State *L)
{
    return *(cd_sandbox **)lua_getextraspace(L);
}

void *cdi_sandbox_owner(lua_State *L)
{
    return cdi_sandbox_of(L)->owner;
}

void cdi_sandbox_set_limits(cd_sandbox *sb, uint64_t instructions, size_t memory,
                            double seconds)
{
    if (instructions) {
        sb->budget = instructions;
        sb->every = instructions < HOOK_EVERY ? (int)instructions : HOOK_EVERY;
    }
    if (memory)
        sb->limit = memory;
    if (seconds > 0)
        sb->seconds = seconds;
}

void cdi_sandbox_get_limits(const cd_sandbox *sb, uint64_t *instructions, size_t *memory,
                            double *seconds)
{
    if (instructions)
        *instructions = sb->budget;
    if (memory)
        *memory = sb->limit;
    if (seconds)
        *seconds = sb->seconds;
}

int cdi_sandbox_hold(cd_sandbox *sb, size_t bytes)
{
    if (sb->limit && (bytes > sb->limit || sb->used > sb->limit - bytes))
        return 0;
    sb->used += bytes;
    sb->held += bytes;
    return 1;
}

void cdi_sandbox_release(cd_sandbox *sb, size_t bytes)
{
    if (bytes > sb->held)
        bytes = sb->held;
    sb->used -= bytes;
    sb->held -= bytes;
}
