/*
 * test_desk_hostile.c - more rules that misbehave, beyond
 * test_desk_sandbox.c: collectgarbage abuse, the shared string metatable,
 * binary chunks through every door of load, errors thrown with values
 * that are not strings, rules that try to change the story, rules that
 * name destinations that do not exist, rules that declare the desk (a
 * model, a rule) while a story is routed.  Each is reported with the rule
 * and the story id, the story goes to the fallback with its content
 * intact (it is delivered for real here and read back), and the rules
 * that follow, and the next story, work as before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "support.h"

static char *dir;
static cd_desk *desk;

/* %1$s is the scratch folder.  The "attack" rule runs the attack named
 * by the story's title; the "after" rule, which runs next when the attack
 * did not decide, uses string methods and story:log, so a damaged string
 * library or story would show there. */
static const char config[] =
    "destination \"ok\" { folder = \"%1$s/out/ok\" }\n"
    "destination \"review\" { folder = \"%1$s/out/review\" }\n"
    "local attacks = {\n"
    "  gc_stop = function() collectgarbage(\"stop\") end,\n"
    "  gc_pause = function() collectgarbage(\"setpause\", 1000) end,\n"
    "  gc_generational = function() collectgarbage(\"generational\") end,\n"
    "  gc_loop = function() while true do collectgarbage() end end,\n"
    "  strmeta_index = function() getmetatable(\"\").__index = function() return 'x' end end,\n"
    "  strmeta_method = function() getmetatable(\"\").__index.upper = nil end,\n"
    "  strmeta_set = function() setmetatable(\"\", {}) end,\n"
    "  strlib_patch = function() string.upper = nil; string.format = nil; string = nil end,\n"
    "  load_binary_mode = function() local f, e = load(\"\\27Lua\\84\\0\", \"x\", \"b\"); assert(f, e) end,\n"
    "  load_reader = function() local f, e = load(function() return nil end); assert(f, e) end,\n"
    "  err_table = function() error({ code = 42 }) end,\n"
    "  err_nil = function() error(nil) end,\n"
    "  err_function = function() error(print) end,\n"
    "  err_tostring = function() error(setmetatable({}, { __tostring = function() return 'custom message' end })) end,\n"
    "  err_bad_tostring = function() error(setmetatable({}, { __tostring = function() error('again') end })) end,\n"
    "  err_loop_tostring = function() error(setmetatable({}, { __tostring = function() while true do end end })) end,\n"
    "  set_field = function(s) s.title = 'changed' end,\n"
    "  set_new_field = function(s) s.route = 'ok' end,\n"
    "  rawset = function(s) rawset(s, 'title', 'changed') end,\n"
    "  story_meta = function(s) getmetatable(s).__index = nil end,\n"
    "  story_setmeta = function(s) setmetatable(s, nil) end,\n"
    "  meta_table = function(s) s.meta.desk = 'changed'; s.meta.extra = 1; return nil end,\n"
    "  method_on_table = function(s) s.tags({}) end,\n"
    "  method_on_string = function(s) s.tags('story') end,\n"
    "  late_model = function() model('late', 'late.cdm') end,\n"
    "  late_rule = function() rule('late', function() return 'ok' end) end,\n"
    "  late_destination = function() destination 'late' { folder = 'late' } end,\n"
    "  late_taxonomy = function() taxonomy { { id = 'late' } } end,\n"
    "  late_fallback = function() fallback 'ok' end,\n"
    "  late_limits = function() limits { instructions = 1e9 } end,\n"
    "}\n"
    "rule(\"attack\", function(story)\n"
    "  local a = attacks[story.title]\n"
    "  if a then a(story) end\n"
    "  if story.title == 'unknown' then return 'nowhere' end\n"
    "  if story.title == 'unknown_list' then return { 'ok', 'nowhere' } end\n"
    "  if story.title == 'not_a_name' then return { 'ok', 42 } end\n"
    "  if story.title == 'number' then return 7 end\n"
    "end)\n"
    "rule(\"after\", function(story)\n"
    "  story:log('title %%s', story.title)\n"
    "  if (\"ok\"):upper() == \"OK\" and (\"a,b\"):find(\",\", 1, true) == 2 then return \"ok\" end\n"
    "end)\n"
    "fallback \"review\"\n"
    "limits { instructions = 200000, memory = \"16M\", seconds = 2 }\n";

static int setup(void **state)
{
    (void)state;
    dir = scratch_dir();
    char text[sizeof config + 8400];
    snprintf(text, sizeof text, config, dir);
    desk = load_desk(dir, text);
    return desk ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    desk_teardown(&dir, &desk);
    return 0;
}

static const char body[] = "The body \xE2\x80\x94 with a dash.";
static const char meta[] = "{\"desk\":\"business\",\"n\":[1,2]}";

/* Route (and deliver) a story titled name, id "story-7"; with json, also
 * the decision as JSON (made while the story is alive, as the API asks). */
static cd_decision attack_json(const char *name, char **json)
{
    cd_story s;
    make_story(&s, "story-7", name, body, meta);
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(desk, &s, 0, &dec, &err), CD_OK);
    if (json)
        *json = cd_desk_decision_json(desk, 0);
    cd_story_clear(&s);
    return dec;
}

static cd_decision attack(const char *name)
{
    return attack_json(name, NULL);
}

/* The story file a destination folder got, parsed. */
static cJSON *delivered(const char *dest)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/out/%s/story-7.json", dir, dest);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

/* The story as delivered is the story as read, whatever the rule did. */
static void intact(const char *dest, const char *title)
{
    cJSON *j = delivered(dest);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "story-7");
    assert_string_equal(cJSON_GetObjectItem(j, "title")->valuestring, title);
    assert_string_equal(cJSON_GetObjectItem(j, "body")->valuestring, body);
    cJSON *m = cJSON_GetObjectItem(j, "meta");
    assert_string_equal(cJSON_GetObjectItem(m, "desk")->valuestring, "business");
    assert_null(cJSON_GetObjectItem(m, "extra"));
    cJSON_Delete(j);
}

/* Then a plain story goes through both rules as usual. */
static void next_story_is_fine(void)
{
    cd_decision dec = attack("plain");
    if (dec.error)
        fail_msg("the next story failed: %s", dec.error);
    assert_int_equal(dec.outcome, CD_OUTCOME_ROUTED);
    assert_string_equal(dec.rule, "after");
    assert_string_equal(dec.route[0], "ok");
}

static void refused(const char *name, const char *want)
{
    cd_decision dec = attack(name);
    if (!dec.error)
        fail_msg("%s: no error, routed to %s", name, dec.nroute ? dec.route[0] : "-");
    if (!strstr(dec.error, "rule 'attack'") || !strstr(dec.error, "story-7") ||
        !strstr(dec.error, want))
        fail_msg("%s: unexpected message: %s", name, dec.error);
    assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
    assert_int_equal(dec.nroute, 1);
    assert_string_equal(dec.route[0], "review");
    intact("review", name);
    next_story_is_fine();
}

/* ---- collectgarbage -------------------------------------------------- */

static void gc_stop_refused(void **s) { (void)s; refused("gc_stop", "not allowed"); }
static void gc_tuning_refused(void **s) { (void)s; refused("gc_pause", "not allowed"); }
static void gc_mode_refused(void **s) { (void)s; refused("gc_generational", "not allowed"); }
static void gc_loop_hits_budget(void **s) { (void)s; refused("gc_loop", "exceeded"); }

/* ---- the string metatable and library --------------------------------- */

static void string_metatable_hidden(void **s) { (void)s; refused("strmeta_index", "attempt to index"); }
static void string_methods_unreachable(void **s) { (void)s; refused("strmeta_method", "attempt to index"); }
static void string_metatable_not_settable(void **s) { (void)s; refused("strmeta_set", "table expected"); }

/* Changing the global string table decides nothing and breaks nothing:
 * method calls and story:log in the next rule use the real library. */
static void string_library_patch_is_local(void **state)
{
    (void)state;
    char *json = NULL;
    cd_decision dec = attack_json("strlib_patch", &json);
    if (dec.error)
        fail_msg("unexpected error: %s", dec.error);
    assert_string_equal(dec.rule, "after");
    assert_string_equal(dec.route[0], "ok");
    intact("ok", "strlib_patch");
    assert_non_null(json);
    assert_non_null(strstr(json, "title strlib_patch"));
    free(json);
    next_story_is_fine();
}

/* ---- binary chunks ----------------------------------------------------- */

static void load_binary_mode_refused(void **s) { (void)s; refused("load_binary_mode", "binary"); }
static void load_reader_refused(void **s) { (void)s; refused("load_reader", "string"); }

/* ---- errors that are not strings --------------------------------------- */

static void error_table(void **s) { (void)s; refused("err_table", "error object is a table value"); }
static void error_nil(void **s) { (void)s; refused("err_nil", "nil"); }
static void error_function(void **s) { (void)s; refused("err_function", "function value"); }
static void error_tostring(void **s) { (void)s; refused("err_tostring", "custom message"); }
static void error_bad_tostring(void **s) { (void)s; refused("err_bad_tostring", "failed on story"); }
static void error_loop_tostring(void **s) { (void)s; refused("err_loop_tostring", "failed on story"); }

/* ---- the story is read-only ------------------------------------------- */

static void story_field_read_only(void **s) { (void)s; refused("set_field", "read-only"); }
static void story_new_field_read_only(void **s) { (void)s; refused("set_new_field", "read-only"); }
static void story_rawset_refused(void **s) { (void)s; refused("rawset", "table expected"); }
static void story_metatable_locked(void **s) { (void)s; refused("story_meta", "attempt to index"); }
static void story_setmetatable_refused(void **s) { (void)s; refused("story_setmeta", "table expected"); }

/* A method called on something else than a story is refused. */
static void method_on_table(void **s) { (void)s; refused("method_on_table", "copydesk.story expected, got table"); }
static void method_on_string(void **s) { (void)s; refused("method_on_string", "copydesk.story expected, got string"); }

/* story.meta is a Lua copy: changing it changes nothing delivered. */
static void story_meta_table_is_a_copy(void **state)
{
    (void)state;
    cd_decision dec = attack("meta_table");
    assert_null(dec.error);
    assert_string_equal(dec.route[0], "ok");
    intact("ok", "meta_table");
}

/* ---- destinations that do not exist ----------------------------------- */

static void unknown_destination(void **s) { (void)s; refused("unknown", "'nowhere', which is not a destination"); }
static void unknown_in_list(void **s) { (void)s; refused("unknown_list", "'nowhere', which is not a destination"); }
static void not_a_name_in_list(void **s) { (void)s; refused("not_a_name", "holding a number"); }
static void number_answer(void **s) { (void)s; refused("number", "returned a number"); }

/* ---- declaring the desk from a rule ------------------------------------ */

/* The declarations are refused once the desk has loaded: a model declared
 * from a rule once grew the desk's models by one that never opened, and
 * the decision's evidence then read it (a null model). */
static void late_declaration(const char *name, const char *fn)
{
    char want[64];
    snprintf(want, sizeof want, "%s declares the desk", fn);
    refused(name, want);
    assert_int_equal(cd_desk_models(desk), 0);
    assert_int_equal(cd_desk_destinations(desk), 2);
    assert_int_equal(cd_desk_rules(desk), 2);
}

static void late_model_refused(void **s) { (void)s; late_declaration("late_model", "model"); }
static void late_rule_refused(void **s) { (void)s; late_declaration("late_rule", "rule"); }
static void late_destination_refused(void **s) { (void)s; late_declaration("late_destination", "destination"); }
static void late_taxonomy_refused(void **s) { (void)s; late_declaration("late_taxonomy", "taxonomy"); }
static void late_fallback_refused(void **s) { (void)s; late_declaration("late_fallback", "fallback"); }
static void late_limits_refused(void **s) { (void)s; late_declaration("late_limits", "limits"); }

/* Every story above was accounted for: nothing lost. */
static void all_stories_accounted(void **state)
{
    (void)state;
    cd_desk_stats st;
    cd_desk_get_stats(desk, &st);
    assert_true(st.stories > 0);
    assert_int_equal(st.stories, st.routed + st.fallback + st.dead_letter + st.failed);
    assert_int_equal(st.dead_letter + st.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gc_stop_refused),
        cmocka_unit_test(gc_tuning_refused),
        cmocka_unit_test(gc_mode_refused),
        cmocka_unit_test(gc_loop_hits_budget),
        cmocka_unit_test(string_metatable_hidden),
        cmocka_unit_test(string_methods_unreachable),
        cmocka_unit_test(string_metatable_not_settable),
        cmocka_unit_test(string_library_patch_is_local),
        cmocka_unit_test(load_binary_mode_refused),
        cmocka_unit_test(load_reader_refused),
        cmocka_unit_test(error_table),
        cmocka_unit_test(error_nil),
        cmocka_unit_test(error_function),
        cmocka_unit_test(error_tostring),
        cmocka_unit_test(error_bad_tostring),
        cmocka_unit_test(error_loop_tostring),
        cmocka_unit_test(story_field_read_only),
        cmocka_unit_test(story_new_field_read_only),
        cmocka_unit_test(story_rawset_refused),
        cmocka_unit_test(story_metatable_locked),
        cmocka_unit_test(story_setmetatable_refused),
        cmocka_unit_test(story_meta_table_is_a_copy),
        cmocka_unit_test(method_on_table),
        cmocka_unit_test(method_on_string),
        cmocka_unit_test(unknown_destination),
        cmocka_unit_test(unknown_in_list),
        cmocka_unit_test(not_a_name_in_list),
        cmocka_unit_test(number_answer),
        cmocka_unit_test(late_model_refused),
        cmocka_unit_test(late_rule_refused),
        cmocka_unit_test(late_destination_refused),
        cmocka_unit_test(late_taxonomy_refused),
        cmocka_unit_test(late_fallback_refused),
        cmocka_unit_test(late_limits_refused),
        cmocka_unit_test(all_stories_accounted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
