/*
 * test_desk_sandbox.c - rules that try to escape or exhaust the engine:
 * os.execute, io.open, debug, package.loadlib, dofile/require outside the
 * configuration's folder, binary chunks, __gc finalizers, string bombs
 * that exhaust memory, endless loops (also hidden behind pcall and in
 * coroutines), deep recursion.  Each is reported with the rule name, the
 * script line and the story id; the story goes to the fallback, and the
 * next story is routed normally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "support.h"

static char *dir;
static cd_desk *desk;

/* One rule per attack, chosen by the story's title; line numbers below
 * are those of this text. */
static const char config[] =
    "destination \"ok\" { folder = \"out/ok\" }\n"                             /* 1 */
    "destination \"review\" { folder = \"out/review\" }\n"                     /* 2 */
    "local attacks = {\n"                                                      /* 3 */
    "  os = function() return os.execute(\"touch /tmp/pwned\") end,\n"         /* 4 */
    "  io = function() return io.open(\"/etc/passwd\") end,\n"                 /* 5 */
    "  debug = function() return debug.getinfo(1) end,\n"                      /* 6 */
    "  package = function() return package.loadlib(\"libc.so.6\", \"system\") end,\n" /* 7 */
    "  dofile = function() return dofile(\"/etc/passwd\") end,\n"              /* 8 */
    "  require = function() return require(\"..secret\") end,\n"               /* 9 */
    "  binary = function() local f, e = load(\"\\27Lua\"); assert(f, e) end,\n"   /* 10 */
    "  gc = function() setmetatable({}, { __gc = function() while true do end end }) end,\n" /* 11 */
    "  bomb = function() local s = string.rep(\"x\", 1 << 30); return s end,\n" /* 12 */
    "  grow = function() local t = {} for i = 1, 1e9 do t[i] = (\"x\"):rep(100) .. i end end,\n" /* 13 */
    "  loop = function() while true do end end,\n"                             /* 14 */
    "  pcall_loop = function() while true do pcall(function() while true do end end) end end,\n" /* 15 */
    "  coroutine = function() while true do coroutine.wrap(function() for i = 1, 500 do end end)() end end,\n" /* 16 */
    "  recursion = function() local function f(n) return 1 + f(n + 1) end return f(1) end,\n" /* 17 */
    "  dump = function() return string.dump(print) end,\n"                     /* 18 */
    "}\n"                                                                      /* 19 */
    "rule(\"attack\", function(story)\n"                                       /* 20 */
    "  local a = attacks[story.title]\n"                                       /* 21 */
    "  if a then a() end\n"                                                    /* 22 */
    "  return \"ok\"\n"                                                        /* 23 */
    "end)\n"                                                                   /* 24 */
    "fallback \"review\"\n"                                                    /* 25 */
    "limits { instructions = 200000, memory = \"16M\", seconds = 2 }\n";        /* 26 */

static int setup(void **state)
{
    (void)state;
    return desk_setup(&dir, &desk, config);
}

static int teardown(void **state)
{
    (void)state;
    desk_teardown(&dir, &desk);
    return 0;
}

static cd_decision attack(const char *name)
{
    cd_story s;
    make_story(&s, "story-7", name, "", NULL);
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(desk, &s, 1, &dec, &err), CD_OK);
    cd_story_clear(&s);
    return dec;
}

/* The attack fails in the rule: reported with rule, line and story id,
 * routed to the fallback; a plain story still goes through afterwards. */
static void refused(const char *name, const char *want)
{
    cd_decision dec = attack(name);
    if (!dec.error)
        fail_msg("%s: no error, routed to %s", name, dec.nroute ? dec.route[0] : "-");
    if (!strstr(dec.error, "rule 'attack'") || !strstr(dec.error, "story-7") ||
        !strstr(dec.error, want))
        fail_msg("%s: unexpected message: %s", name, dec.error);
    assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
    assert_string_equal(dec.route[0], "review");
    dec = attack("plain");
    assert_null(dec.error);
    assert_string_equal(dec.route[0], "ok");
}

static void no_os(void **s) { (void)s; refused("os", "desk.lua:4:"); }
static void no_io(void **s) { (void)s; refused("io", "desk.lua:5:"); }
static void no_debug(void **s) { (void)s; refused("debug", "desk.lua:6:"); }
static void no_package(void **s) { (void)s; refused("package", "desk.lua:7:"); }
static void no_dofile_outside(void **s) { (void)s; refused("dofile", "outside the configuration"); }
static void no_require_outside(void **s) { (void)s; refused("require", "bad module name"); }
static void no_binary_chunks(void **s) { (void)s; refused("binary", "binary"); }
static void no_finalizers(void **s) { (void)s; refused("gc", "__gc"); }
static void no_string_dump(void **s) { (void)s; refused("dump", "desk.lua:18:"); }
static void string_bomb_hits_memory_limit(void **s) { (void)s; refused("bomb", "memory"); }
static void growing_table_hits_a_limit(void **s) { (void)s; refused("grow", "exceeded"); }
static void endless_loop_hits_budget(void **s) { (void)s; refused("loop", "desk.lua:14: instruction budget"); }
static void pcall_cannot_swallow_budget(void **s) { (void)s; refused("pcall_loop", "instruction budget"); }
static void coroutines_share_budget(void **s) { (void)s; refused("coroutine", "exceeded"); }
static void deep_recursion_is_an_error(void **s) { (void)s; refused("recursion", "desk.lua:17:"); }

static void errors_are_counted_per_rule(void **state)
{
    (void)state;
    uint64_t before = cd_desk_rule_errors(desk, 0);
    attack("os");
    assert_int_equal(cd_desk_rule_errors(desk, 0), before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_os),
        cmocka_unit_test(no_io),
        cmocka_unit_test(no_debug),
        cmocka_unit_test(no_package),
        cmocka_unit_test(no_dofile_outside),
        cmocka_unit_test(no_require_outside),
        cmocka_unit_test(no_binary_chunks),
        cmocka_unit_test(no_finalizers),
        cmocka_unit_test(no_string_dump),
        cmocka_unit_test(string_bomb_hits_memory_limit),
        cmocka_unit_test(growing_table_hits_a_limit),
        cmocka_unit_test(endless_loop_hits_budget),
        cmocka_unit_test(pcall_cannot_swallow_budget),
        cmocka_unit_test(coroutines_share_budget),
        cmocka_unit_test(deep_recursion_is_an_error),
        cmocka_unit_test(errors_are_counted_per_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
