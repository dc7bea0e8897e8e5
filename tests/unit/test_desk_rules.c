/*
 * test_desk_rules.c - a story's rules one after another: what a failing
 * rule leaves behind.  A rule that raises (a message, a table, a spent
 * budget, a wrong answer) after it tagged loses its own tags and log
 * lines, never an earlier rule's; the copies earlier continue = true rules
 * decided are kept; a rule that catches its budget error with pcall is
 * still stopped; the next rules do not run and the next story starts
 * clean.  Also the store the tags and log lines live in, reused from
 * story to story: many notes, long ones, and the memory they hold
 * against the limit, given back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "copydesk.h"
#include "support.h"

static char *dir;
static cd_desk *desk;

/* The story's title says what the "second" rule does. */
static const char config[] =
    "destination \"ok\" { folder = \"out/ok\" }\n"
    "destination \"also\" { folder = \"out/also\" }\n"
    "destination \"review\" { folder = \"out/review\" }\n"
    "rule(\"first\", function(story)\n"
    "  story:tag(\"first\")\n"
    "  if story.title == \"long\" then story:tag(string.rep(\"x\", 300) .. story.id) end\n"
    "  story:log(\"seen %s\", story.id)\n"
    "end)\n"
    "rule(\"copies\", function(story)\n"
    "  if story.title:find(\"copy\") then return \"also\" end\n"
    "end, { continue = true })\n"
    "rule(\"second\", function(story)\n"
    "  local t = story.title:gsub(\"^copy \", \"\")\n"
    "  story:tag(\"second\")\n"
    "  story:log(\"second ran\")\n"
    "  if t == \"raise\" then error(\"second failed\") end\n"
    "  if t == \"table\" then error({ code = 1 }) end\n"
    "  if t == \"loop\" then while true do end end\n"
    "  if t == \"caught\" then\n"
    "    local ok = pcall(function() while true do end end)\n"
    "    story:tag(\"after pcall\")\n"
    "    return ok and \"ok\" or \"also\"\n"
    "  end\n"
    "  if t == \"bad\" then return 42 end\n"
    "  if t == \"many\" then\n"
    "    for i = 1, 40 do\n"
    "      story:tag(\"t\" .. i)\n"
    "      story:log(\"line %d %s\", i, string.rep(\"y\", i * 20))\n"
    "    end\n"
    "  end\n"
    "  if t == \"big\" then story:log(\"%s\", string.rep(\"z\", 5000000)) end\n"
    "  if t == \"topics\" then\n"
    "    local all = story:topics()\n"
    "    for i, e in ipairs(all) do\n"
    "      local n = 0\n"
    "      for _ in pairs(e) do n = n + 1 end\n"
    "      story:tag(string.format(\"%d %s %s %s %d\", i, e.id, e.name,\n"
    "        tostring(e.score == story:topic(e.id)), n))\n"
    "    end\n"
    "    all[1].id = \"changed\"\n"
    "    story:tag(story:topics()[1].id)\n"
    "  end\n"
    "  return \"ok\"\n"
    "end)\n"
    "rule(\"never after a failure\", function(story)\n"
    "  story:tag(\"last\")\n"
    "end)\n"
    "fallback \"review\"\n"
    "limits { instructions = 200000, memory = \"32M\", seconds = 2 }\n"
    "taxonomy {\n"
    "  { id = \"markets\", name = \"Markets\", keywords = { \"market\" } },\n"
    "  { id = \"sport\", name = \"Sport\", keywords = { \"match\" } },\n"
    "}\n";

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

typedef struct result {
    cd_decision dec;
    cJSON *json;      /* the decision (tags, log) */
    char error[1024];
    char reason[1024];
} result;

static void route(const char *id, const char *title, result *r)
{
    cd_story s;
    make_story(&s, id, title, "", NULL);
    cd_error err;
    assert_int_equal(cd_desk_route(desk, &s, 1, &r->dec, &err), CD_OK);
    char *text = cd_desk_decision_json(desk, 0);
    assert_non_null(text);
    r->json = cJSON_Parse(text);
    assert_non_null(r->json);
    free(text);
    snprintf(r->error, sizeof r->error, "%s", r->dec.error ? r->dec.error : "");
    snprintf(r->reason, sizeof r->reason, "%s", r->dec.reason);
    cd_story_clear(&s);
}

/* The JSON array field name of the decision, as "a|b|c". */
static void list(const result *r, const char *name, char *out, size_t cap)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->json, name);
    assert_true(cJSON_IsArray(a));
    out[0] = '\0';
    size_t used = 0;
    for (const cJSON *c = a->child; c; c = c->next) {
        assert_true(cJSON_IsString(c));
        int n = snprintf(out + used, cap - used, "%s%s", used ? "|" : "", c->valuestring);
        assert_true(n >= 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
}

static void expect_tags(const result *r, const char *want)
{
    char got[8192];
    list(r, "tags", got, sizeof got);
    assert_string_equal(got, want);
}

static void expect_log(const result *r, const char *want)
{
    char got[8192];
    list(r, "log", got, sizeof got);
    assert_string_equal(got, want);
}

static void expect_route(const result *r, const char *a, const char *b)
{
    assert_int_equal(r->dec.nroute, b ? 2 : 1);
    assert_string_equal(r->dec.route[0], a);
    if (b)
        assert_string_equal(r->dec.route[1], b);
}

static void done(result *r)
{
    cJSON_Delete(r->json);
}

/* Lua names the configuration by its path: "DIR/desk.lua:line". */
static const char *at(int line)
{
    static char where[2][4200];
    static int k;
    k = !k;
    snprintf(where[k], sizeof where[k], "%s/desk.lua:%d", dir, line);
    return where[k];
}

/* A failed rule's error names the rule, the story and the cause. */
static void expect_failure(const result *r, const char *id, const char *cause)
{
    char want[4400];
    snprintf(want, sizeof want, "rule 'second' (%s) failed on story %s: ", at(12), id);
    if (strncmp(r->error, want, strlen(want)) || !strstr(r->error, cause))
        fail_msg("unexpected error: %s", r->error);
    assert_null(r->dec.rule);
    assert_int_equal(r->dec.outcome, CD_OUTCOME_FALLBACK);
}

/* The next story is routed as if nothing had happened. */
static void next_is_clean(void)
{
    result r;
    route("next", "plain", &r);
    assert_string_equal(r.error, "");
    expect_route(&r, "ok", NULL);
    expect_tags(&r, "first|second");
    char want[9000];
    snprintf(want, sizeof want, "%s: seen next|%s: second ran", at(7), at(15));
    expect_log(&r, want);
    snprintf(want, sizeof want, "rule 'second' (%s)", at(12));
    assert_string_equal(r.reason, want);
    done(&r);
}

static void plain_story(void **state)
{
    (void)state;
    next_is_clean();
}

/* Raising after tagging: the failing rule's tags are dropped, the first
 * rule's kept, and the last rule never runs. */
static void raise_after_tagging(void **state)
{
    (void)state;
    result r;
    route("s1", "raise", &r);
    char want[9000];
    snprintf(want, sizeof want, "%s: second failed", at(16));
    expect_failure(&r, "s1", want);
    expect_tags(&r, "first");
    expect_route(&r, "review", NULL);
    snprintf(want, sizeof want, "fallback: rule 'second' (%s) failed on story s1: %s: second failed",
             at(12), at(16));
    assert_string_equal(r.reason, want);
    done(&r);
    next_is_clean();
}

/* An error object that is not a string: described, the tags dropped. */
static void non_string_error(void **state)
{
    (void)state;
    result r;
    route("s2", "table", &r);
    expect_failure(&r, "s2", "(error object is a table value)");
    expect_tags(&r, "first");
    expect_route(&r, "review", NULL);
    done(&r);
    next_is_clean();
}

/* The budget spent in the second rule after the first tagged: the
 * budget is the second rule's own (the first's instructions are not
 * counted against it), its tags are dropped, the first's kept. */
static void budget_in_second_rule(void **state)
{
    (void)state;
    result r;
    route("s3", "loop", &r);
    char want[4400];
    snprintf(want, sizeof want, "%s: instruction budget of 200000 exceeded", at(18));
    expect_failure(&r, "s3", want);
    expect_tags(&r, "first");
    expect_route(&r, "review", NULL);
    done(&r);
    next_is_clean();
}

/* pcall cannot swallow a spent budget: the rule stops at its next
 * instruction, tagging nothing. */
static void pcall_cannot_catch_budget(void **state)
{
    (void)state;
    result r;
    route("s4", "caught", &r);
    expect_failure(&r, "s4", "instruction budget of 200000 exceeded");
    expect_tags(&r, "first");
    expect_route(&r, "review", NULL);
    done(&r);
    next_is_clean();
}

/* A wrong answer is a failure too: the rule's tags go with it. */
static void wrong_answer(void **state)
{
    (void)state;
    result r;
    route("s5", "bad", &r);
    expect_failure(&r, "s5", "returned a number");
    expect_tags(&r, "first");
    done(&r);
    next_is_clean();
}

/* The copy a continue = true rule decided stays when a later rule
 * fails, by an error or by its budget, and the story goes to the
 * fallback as well. */
static void copies_kept_when_later_rule_fails(void **state)
{
    (void)state;
    static const char *const titles[] = { "copy raise", "copy loop", "copy table", "copy bad" };
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
        result r;
        route("s6", titles[i], &r);
        expect_failure(&r, "s6", "");
        expect_route(&r, "also", "review");
        expect_tags(&r, "first");
        if (!strstr(r.reason, "; kept the copies earlier rules decided: also"))
            fail_msg("%s: reason %s", titles[i], r.reason);
        done(&r);
    }
    result r;
    route("s7", "copy plain", &r);
    assert_string_equal(r.error, "");
    expect_route(&r, "also", "ok");
    expect_tags(&r, "first|second");
    done(&r);
    next_is_clean();
}

/* Many notes, some long: each story gets exactly its own, in order,
 * whatever the stories before it left in the reused store. */
static void notes_reused_across_stories(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        result r;
        route("many", "many", &r);
        assert_string_equal(r.error, "");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r.json, "tags");
        const cJSON *log = cJSON_GetObjectItemCaseSensitive(r.json, "log");
        assert_int_equal(cJSON_GetArraySize(tags), 42);
        assert_int_equal(cJSON_GetArraySize(log), 42);
        for (int i = 1; i <= 40; i++) {
            char want[5200];
            snprintf(want, sizeof want, "t%d", i);
            assert_string_equal(cJSON_GetArrayItem(tags, i + 1)->valuestring, want);
            int n = snprintf(want, sizeof want, "%s: line %d ", at(28), i);
            memset(want + n, 'y', (size_t)i * 20);
            want[n + i * 20] = '\0';
            assert_string_equal(cJSON_GetArrayItem(log, i + 1)->valuestring, want);
        }
        done(&r);
        route("long", "long", &r);
        char want[400];
        memset(want, 'x', 300);
        snprintf(want + 300, sizeof want - 300, "long");
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "tags"),
                                               1)->valuestring, want);
        done(&r);
        next_is_clean();
    }
}

/* A log line of 5 MB held against the 32 MB limit, story after story:
 * what each held is given back, so the tenth fits as the first did. */
static void notes_memory_given_back(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++) {
        result r;
        route("big", "big", &r);
        assert_string_equal(r.error, "");
        const cJSON *log = cJSON_GetObjectItemCaseSensitive(r.json, "log");
        assert_int_equal(cJSON_GetArraySize(log), 3);
        assert_int_equal(strlen(cJSON_GetArrayItem(log, 2)->valuestring),
                         strlen(at(31)) + 2 + 5000000);
        done(&r);
    }
    next_is_clean();
}

/* story:topics: a new table of {id, name, score} tables at every call,
 * best first, each with those three fields only. */
static void topics_tables(void **state)
{
    (void)state;
    cd_story s;
    make_story(&s, "tp", "topics", "The market, the market and a match.", NULL);
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(desk, &s, 1, &dec, &err), CD_OK);
    assert_null(dec.error);
    result r;
    char *text = cd_desk_decision_json(desk, 0);
    r.json = cJSON_Parse(text);
    free(text);
    assert_non_null(r.json);
    expect_tags(&r, "first|second|1 markets Markets true 3|2 sport Sport true 3|markets");
    done(&r);
    cd_story_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_story),
        cmocka_unit_test(raise_after_tagging),
        cmocka_unit_test(non_string_error),
        cmocka_unit_test(budget_in_second_rule),
        cmocka_unit_test(pcall_cannot_catch_budget),
        cmocka_unit_test(wrong_answer),
        cmocka_unit_test(copies_kept_when_later_rule_fails),
        cmocka_unit_test(notes_reused_across_stories),
        cmocka_unit_test(notes_memory_given_back),
        cmocka_unit_test(topics_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
