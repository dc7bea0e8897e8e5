/*
 * test_desk.c - the Lua desk: each configuration function and each story
 * method, broken configurations (reported with file and line), an
 * editor's change to a rule changing a story's route without recompiling,
 * expect cases and static checks, and the accounting of a run:
 * stories in = routed + fallback + dead letter + failed.
 *
 * A small model (labels trade and sport) is trained by the test itself
 * into a scratch folder, next to the configurations it writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copydesk.h"
#include "desk/desk_internal.h"
#include "support.h"

static char *dir;          /* scratch folder: model, configs, outputs */

static const char *const trade_texts[] = {
    "Tariffs on imports rise as the trade deficit widens with Japan",
    "Exporters fear a trade war over semiconductor tariffs and quotas",
    "The trade surplus grew as exports of cars and chips rose",
    "Trade talks on import quotas and export subsidies stall",
};
static const char *const sport_texts[] = {
    "The striker scored twice as the team won the cup final",
    "The coach praised the players after the league match",
    "Champion runner breaks the world record at the athletics meeting",
    "The goalkeeper saved a penalty and the team reached the final",
};

static void train_model(const char *path, int bigrams)
{
    cd_tok_opts tok;
    cd_nb_opts nb;
    cd_tok_opts_default(&tok);
    tok.bigrams = (uint8_t)bigrams;
    cd_nb_opts_default(&nb);
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(&tok, &nb, &t, &err), CD_OK);
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < 4; i++) {
            const char *trade = "trade", *sport = "sport";
            assert_int_equal(cd_trainer_add(t, trade_texts[i], strlen(trade_texts[i]),
                                            &trade, 1, &err), CD_OK);
            assert_int_equal(cd_trainer_add(t, sport_texts[i], strlen(sport_texts[i]),
                                            &sport, 1, &err), CD_OK);
        }
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
}

static int setup(void **state)
{
    (void)state;
    dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/news.cdm", dir);
    train_model(path, 0);
    snprintf(path, sizeof path, "%s/bigrams.cdm", dir);
    train_model(path, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scratch_remove(dir);
    return 0;
}

/* Write a configuration: a common head (model, taxonomy, destinations
 * writing under dir/out) and then body. */
static const char *write_config(const char *name, const char *body)
{
    static char path[4096];
    char text[16384];
    snprintf(text, sizeof text,
        "model \"news.cdm\"\n"
        "taxonomy {\n"
        "  { id = \"business\", name = \"Business\",\n"
        "    { id = \"trade\", name = \"Trade\", labels = { \"trade\" },\n"
        "      keywords = { \"tariff*\", \"trade war\" } } },\n"
        "  { id = \"world\", { id = \"defense\", keywords = { \"mutual defense\", \"military\" } } },\n"
        "  { id = \"sport\", labels = { \"news:sport\" } },\n"
        "}\n"
        "destination \"trade-desk\" { folder = \"%s/out/trade\" }\n"
        "destination \"sport-desk\" { folder = \"%s/out/sport\" }\n"
        "destination \"wire\" { jsonl = \"%s/out/wire.jsonl\" }\n"
        "destination \"review\" { folder = \"%s/out/review\" }\n"
        "dead_letter \"%s/out/dead\"\n"
        "%s\n", dir, dir, dir, dir, dir, body);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(spit(path, text, strlen(text)), 0);
    return path;
}

static cd_desk *load_ok(const char *path)
{
    cd_desk *d = NULL;
    cd_error err;
    cd_status st = cd_desk_load(path, NULL, &d, &err);
    if (st != CD_OK)
        fail_msg("%s", err.msg);
    return d;
}

/* Route a story; when json is not NULL, *json gets the decision JSON
 * (taken while the story is alive, as the API asks). */
static cd_decision route_json(cd_desk *d, const char *id, const char *title,
                              const char *body, int dry, char **json)
{
    cd_story s;
    cd_decision dec;
    cd_error err;
    make_story(&s, id, title, body, "{\"section\":\"asia\",\"n\":3}");
    assert_int_equal(cd_desk_route(d, &s, dry, &dec, &err), CD_OK);
    if (json)
        *json = cd_desk_decision_json(d, 1);
    cd_story_clear(&s);
    return dec;
}

static cd_decision route(cd_desk *d, const char *id, const char *title, const char *body,
                         int dry)
{
    return route_json(d, id, title, body, dry, NULL);
}

static void assert_route(const cd_decision *dec, const char *dest)
{
    if (dec->nroute != 1 || strcmp(dec->route[0], dest))
        fail_msg("expected %s, got %s (%s)", dest, dec->nroute ? dec->route[0] : "nothing",
                 dec->reason);
}

#define TRADE_TITLE "Tariffs and a trade war"
#define TRADE_BODY "Exporters fear tariffs on imports as the trade deficit widens."

/* ---- the configuration API ---------------------------------------------- */

static void config_functions_build_the_desk(void **state)
{
    (void)state;
    const char *p = write_config("api.lua",
        "model(\"second\", \"news.cdm\")\n"
        "limits { instructions = 50000, memory = \"32M\", seconds = 1 }\n"
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= 0.6 then return \"trade-desk\" end end)\n"
        "rule(\"sport\", { when = function(s) return s:topic(\"sport\") >= 0.6 end, to = \"sport-desk\" })\n"
        "fallback \"review\"\n"
        "expect { title = \"" TRADE_TITLE "\", body = \"" TRADE_BODY "\", route = \"trade-desk\" }\n");
    cd_desk *d = load_ok(p);
    assert_int_equal(cd_desk_models(d), 2);
    assert_int_equal(cd_desk_topics(d), 5);
    assert_int_equal(cd_desk_destinations(d), 4);
    assert_int_equal(cd_desk_rules(d), 2);
    assert_int_equal(cd_desk_expects(d), 1);
    assert_string_equal(cd_desk_fallback(d), "review");
    cd_decision dec = route(d, "t1", TRADE_TITLE, TRADE_BODY, 1);
    assert_route(&dec, "trade-desk");
    assert_string_equal(dec.rule, "trade");
    dec = route(d, "s1", "Cup final", "The striker scored as the team won the final", 1);
    assert_route(&dec, "sport-desk");
    dec = route(d, "n1", "Notice", "Lorem ipsum", 1);
    assert_route(&dec, "review");
    assert_null(dec.rule);
    assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
    cd_expect_result res;
    cd_error err;
    assert_int_equal(cd_desk_run_expect(d, 0, &res, &err), CD_OK);
    assert_true(res.passed);
    cd_desk_free(d);
}

/* Every story method, checked from Lua: a failed check raises, and the
 * story would go to the fallback with the message. */
static void story_methods_answer(void **state)
{
    (void)state;
    const char *p = write_config("story.lua",
        "local function check(c, what) if not c then error(what, 2) end end\n"
        "rule(\"inspect\", function(s)\n"
        "  check(s.id == \"t1\", \"id\")\n"
        "  check(s.title == \"" TRADE_TITLE "\", \"title\")\n"
        "  check(s.body:find(\"deficit\"), \"body\")\n"
        "  check(s.source == \"test\", \"source\")\n"
        "  check(s.meta.section == \"asia\" and s.meta.n == 3, \"meta\")\n"
        "  check(s:topic(\"trade\") > 0.5, \"topic\")\n"
        "  check(s:topic(\"business\") >= s:topic(\"trade\"), \"roll-up\")\n"
        "  check(s:topic(\"sport\") < 0.5, \"sport\")\n"
        "  local ts = s:topics()\n"
        "  check(#ts == 5 and ts[1].score >= ts[2].score and ts[1].name, \"topics\")\n"
        "  check(#s:topics(0.5) < 5, \"topics min\")\n"
        "  local l, pr = s:label()\n"
        "  check(l == \"trade\" and pr > 0.5, \"label\")\n"
        "  check(s:label(\"news\") == \"trade\", \"label by model\")\n"
        "  check(s:labels()[1].label == \"trade\" and s:labels()[1].chosen, \"labels\")\n"
        "  check(math.abs(s:prob(\"trade\") - pr) < 1e-9, \"prob\")\n"
        "  check(s:prob(\"news:sport\") < 0.5, \"prob by model\")\n"
        "  check(s:has(\"TRADE deficit\") and not s:has(\"cup final\"), \"has\")\n"
        "  check(s:count(\"tariff*\") == 2, \"count\")\n"
        "  check(not pcall(s.topic, s, \"nope\"), \"unknown topic raises\")\n"
        "  check(not pcall(function() s.title = \"x\" end), \"read-only\")\n"
        "  s:tag(\"checked\"); s:tag(\"checked\")\n"
        "  check(#s:tags() == 1 and s:tags()[1] == \"checked\", \"tags\")\n"
        "  s:log(\"trade %%.2f\", s:topic(\"trade\"))\n"
        "  kept = s\n"
        "  return { \"trade-desk\", \"wire\" }\n"
        "end)\n"
        "rule(\"stale\", function(s) return kept.title end)\n"
        "fallback \"review\"\n");
    cd_desk *d = load_ok(p);
    char *json;
    cd_decision dec = route_json(d, "t1", TRADE_TITLE, TRADE_BODY, 1, &json);
    if (dec.error)
        fail_msg("%s", dec.error);
    assert_int_equal(dec.nroute, 2);
    assert_string_equal(dec.route[1], "wire");
    assert_non_null(strstr(json, "\"tags\":[\"checked\"]"));
    assert_non_null(strstr(json, "story.lua:"));        /* the log line says where */
    assert_non_null(strstr(json, "\"keyword\":\"tariff*\",\"hits\":2"));
    free(json);
    cd_desk_free(d);
}

/* A rule that keeps its first story in a global and reads it at the
 * next: the second story's decision is an error, and it goes to the
 * fallback.  (name: the file for the rule, use: how the rule reads the
 * kept story.) */
static void assert_kept_story_refused(const char *name, const char *use)
{
    char body[512];
    snprintf(body, sizeof body,
             "rule(\"keep\", function(s) if not kept then kept = s; return nil end\n"
             "  %s end)\n"
             "fallback \"review\"\n", use);
    cd_desk *d = load_ok(write_config(name, body));
    cd_decision dec = route(d, "a", "A", "a", 1);
    assert_null(dec.error);
    dec = route(d, "b", "B", "b", 1);
    assert_non_null(dec.error);
    assert_non_null(strstr(dec.error, "no longer valid"));
    assert_route(&dec, "review");
    cd_desk_free(d);
}

static void kept_story_expires(void **state)
{
    (void)state;
    assert_kept_story_refused("stale.lua", "return kept.title");
}

/* The same through a method: story_index hands out a method without
 * checking the story, and the method refuses the expired one when called;
 * a method looked up on a table or string that is no story is refused. */
static void kept_story_method_expires(void **state)
{
    (void)state;
    assert_kept_story_refused("stale_method.lua",
                              "local topics = kept.topics\n  return topics(kept)[1] and 'review'");
    const char *p = write_config("method_on_other.lua",
        "rule(\"other\", function(s) local f = s.topic; return f({}, 'x') end)\n"
        "fallback \"review\"\n");
    cd_desk *d = load_ok(p);
    cd_decision dec = route(d, "c", "C", "c", 1);
    assert_non_null(dec.error);
    assert_non_null(strstr(dec.error, "copydesk.story expected"));
    cd_desk_free(d);
}

/* A method taken from a live story and called later on the kept one is
 * refused the same way (the kept object is an expired story, not "no
 * story"), and the kept object prints as expired while the fields of the
 * story being decided still read, a second time from the cache. */
static void kept_story_expires_everywhere(void **state)
{
    (void)state;
    const char *p = write_config("stale_everywhere.lua",
        "rule(\"look\", function(s)\n"
        "  if kept then s:tag(tostring(kept)) end\n"
        "  s:tag(s.title .. '/' .. s.title)\n"
        "end)\n"
        "rule(\"keep\", function(s)\n"
        "  if not kept then kept = s; f = s.topic; return nil end\n"
        "  return f(kept, 'trade') > 2 and 'wire'\n"
        "end)\n"
        "fallback \"review\"\n");
    cd_desk *d = load_ok(p);
    cd_decision dec = route(d, "a", "A", "a", 1);
    assert_null(dec.error);
    char *json = NULL;
    dec = route_json(d, "b", "B", "b", 1, &json);
    assert_non_null(dec.error);
    assert_non_null(strstr(dec.error, "no longer valid"));
    assert_route(&dec, "review");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"tags\":[\"story (expired)\",\"B/B\"]"));
    free(json);
    cd_desk_free(d);
}

/* ---- broken configurations ------------------------------------------------- */

static void expect_load_error(const char *name, const char *body, const char *want)
{
    const char *p = write_config(name, body);
    cd_desk *d;
    cd_error err;
    assert_int_not_equal(cd_desk_load(p, NULL, &d, &err), CD_OK);
    assert_null(d);
    if (!strstr(err.msg, want))
        fail_msg("%s: expected '%s' in: %s", name, want, err.msg);
}

static void broken_configurations_name_file_and_line(void **state)
{
    (void)state;
    /* the head of write_config is 13 lines: body line 1 is line 14 */
    expect_load_error("syntax.lua", "rule(\"x\", function(s) return end end)\n", "syntax.lua:14:");
    expect_load_error("runtime.lua", "fallback \"review\"\nlocal x = nil + 1\n", "runtime.lua:15:");
    expect_load_error("field.lua", "destination \"d\" { folder = \"x\", folde = \"y\" }\n",
                      "field.lua:14: destination 'd': unknown field 'folde'");
    expect_load_error("kinds.lua", "destination \"d\" { folder = \"x\", jsonl = \"y\" }\n",
                      "not folder and jsonl");
    expect_load_error("dup.lua", "destination \"review\" { folder = \"x\" }\n", "declared twice");
    expect_load_error("nofallback.lua", "rule(\"r\", function() end)\n", "no fallback");
    expect_load_error("badfallback.lua", "fallback \"nowhere\"\n", "'nowhere' is not a destination");
    expect_load_error("model.lua", "model(\"x\", \"missing.cdm\")\nfallback \"review\"\n",
                      "model.lua:14: model 'missing.cdm'");
    expect_load_error("keyword.lua", "taxonomy { { id = \"t\", keywords = { \"the\" } } }\n"
                      "fallback \"review\"\n", "keyword 'the'");
    expect_load_error("topic.lua", "taxonomy { { id = \"t\", keyword = \"x\" } }\n",
                      "unknown field 'keyword'");
    expect_load_error("loop.lua", "while true do end\n", "instruction budget");
    /* found by fuzzing: a when without a to decided the story to nowhere */
    expect_load_error("whenonly.lua", "rule(\"r\", { when = function() return true end })\n"
                      "fallback \"review\"\n", "whenonly.lua:14: rule 'r': a rule given as a table needs to");
    expect_load_error("binary.lua", "fallback \"review\"\nload(string.dump)\n", "");
}

static void missing_file_is_an_io_error(void **state)
{
    (void)state;
    cd_desk *d;
    cd_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/none.lua", dir);
    assert_int_equal(cd_desk_load(path, NULL, &d, &err), CD_ERR_IO);
}

/* ---- an editor changes a rule ----------------------------------------------- */

static void editing_a_rule_changes_the_route(void **state)
{
    (void)state;
    const char *p = write_config("editor.lua",
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= 0.6 then return \"trade-desk\" end end)\n"
        "fallback \"review\"\n");
    cd_desk *d = load_ok(p);
    cd_decision dec = route(d, "t1", TRADE_TITLE, TRADE_BODY, 1);
    assert_route(&dec, "trade-desk");
    cd_desk_free(d);
    /* the editor decides that trade goes on the wire now */
    p = write_config("editor.lua",
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= 0.6 then return \"wire\" end end)\n"
        "fallback \"review\"\n");
    d = load_ok(p);
    dec = route(d, "t1", TRADE_TITLE, TRADE_BODY, 1);
    assert_route(&dec, "wire");
    cd_desk_free(d);
}

/* ---- checks and expect cases -------------------------------------------------- */

static void count_problem(const char *msg, void *ud)
{
    (void)msg;
    (*(int *)ud)++;
}

static void validate_finds_unknown_names(void **state)
{
    (void)state;
    const char *p = write_config("validate.lua",
        "taxonomy { { id = \"ghost\", labels = { \"nolabel\", \"news:trade\", \"other:trade\" } } }\n"
        "rule(\"typo\", function(s)\n"
        "  if s:topic(\"trade\") > 2 then return \"trade-dsk\" end\n"
        "  return nil\n"
        "end)\n"
        "rule(\"declared\", { to = { \"wire\", \"nowhere\" } })\n"
        "fallback \"review\"\n"
        "expect { title = \"x\", route = \"unknown-desk\", rule = \"norule\" }\n");
    cd_desk *d = load_ok(p);
    int n = 0;
    /* nolabel, other:trade, trade-dsk, nowhere, unknown-desk, norule */
    assert_int_equal(cd_desk_validate(d, count_problem, &n), 6);
    assert_int_equal(n, 6);
    cd_desk_free(d);
}

static void expect_cases_pass_and_fail(void **state)
{
    (void)state;
    const char *p = write_config("expect.lua",
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= 0.6 then return \"trade-desk\" end end)\n"
        "rule(\"meta\", function(s) if s.meta.desk then return s.meta.desk end end)\n"
        "fallback \"review\"\n"
        "expect { name = \"ok\", title = \"" TRADE_TITLE "\", body = \"" TRADE_BODY "\", route = \"trade-desk\", rule = \"trade\" }\n"
        "expect { name = \"wrong\", title = \"" TRADE_TITLE "\", route = { \"sport-desk\" } }\n"
        "expect { name = \"meta\", title = \"x\", meta = { desk = \"wire\" }, route = \"wire\" }\n"
        "expect { name = \"fallback\", title = \"x\", route = \"review\" }\n");
    cd_desk *d = load_ok(p);
    int passed[4] = { 1, 0, 1, 1 };
    for (size_t i = 0; i < 4; i++) {
        cd_expect_result res;
        cd_error err;
        assert_int_equal(cd_desk_run_expect(d, i, &res, &err), CD_OK);
        if (res.passed != passed[i])
            fail_msg("case %zu: %s", i, res.detail);
    }
    cd_desk_stats st;
    cd_desk_get_stats(d, &st);
    assert_int_equal(st.stories, 0);     /* expect cases are not counted */
    cd_desk_free(d);
}

/* ---- delivery and accounting ------------------------------------------------- */

/* The probability of label for text, by the model file alone. */
static double model_p(const char *file, const char *label, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    double p = label_prob(m, text, label);
    cd_model_close(m);
    return p;
}

/* The desk tokenizes a story once and classifies it from those tokens
 * with every model that tokenizes the same way; a model that does not
 * (here one with bigrams) tokenizes for itself.  Either way a model gives
 * the desk exactly the probabilities it gives on its own. */
static void models_score_as_on_their_own(void **state)
{
    (void)state;
    cd_desk *d = load_ok(write_config("two.lua", "model(\"bi\", \"bigrams.cdm\")\n"
                                                 "fallback \"review\"\n"));
    cd_story st;
    make_story(&st, "two-1", "Trade war fears", "Tariffs on chips rise; the striker scored",
               "{}");
    size_t len;
    char *text = cd_story_text(&st, &len);   /* the text the desk classifies */
    assert_non_null(text);
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(d, &st, 1, &dec, &err), CD_OK);
    double news = model_p("news.cdm", "trade", text), bi = model_p("bigrams.cdm", "trade", text);
    assert_true(news > 0 && bi > 0);
    assert_true(cdi_desk_label_p("news:trade", d) == news);
    assert_true(cdi_desk_label_p("bi:trade", d) == bi);
    free(text);
    cd_story_clear(&st);
    cd_desk_free(d);
}

static void every_story_is_accounted_for(void **state)
{
    (void)state;
    char blocker[4200], body[8192];
    snprintf(blocker, sizeof blocker, "%s/blocked", dir);
    assert_int_equal(spit(blocker, "x", 1), 0);
    snprintf(body, sizeof body,
        "destination \"broken\" { folder = \"%s/sub\" }\n"
        "rule(\"boom\", function(s) if s.title == \"boom\" then error(\"bad\") end end)\n"
        "rule(\"broken\", function(s) if s.title == \"broken\" then return \"broken\" end end)\n"
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= 0.6 then return { \"trade-desk\", \"wire\" } end end)\n"
        "fallback \"review\"\n", blocker);
    cd_desk *d = load_ok(write_config("accounting.lua", body));
    const char *titles[] = { TRADE_TITLE, "boom", "broken", "Notice", TRADE_TITLE };
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "story-%d", i);
        cd_decision dec = route(d, id, titles[i], i == 3 ? "Lorem ipsum" : TRADE_BODY, 0);
        if (i == 1) {
            assert_int_equal(dec.outcome, CD_OUTCOME_FALLBACK);
            assert_non_null(strstr(dec.error, "rule 'boom'"));
            assert_non_null(strstr(dec.error, "accounting.lua:15"));
            assert_non_null(strstr(dec.error, "story-1"));
        }
        if (i == 2)
            assert_int_equal(dec.outcome, CD_OUTCOME_DEAD_LETTER);
    }
    cd_desk_stats st;
    cd_desk_get_stats(d, &st);
    assert_int_equal(st.stories, 5);
    assert_int_equal(st.stories, st.routed + st.fallback + st.dead_letter + st.failed);
    assert_int_equal(st.routed, 2);
    assert_int_equal(st.fallback, 2);
    assert_int_equal(st.dead_letter, 1);
    assert_int_equal(st.rule_errors, 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/out/wire.jsonl", dir);
    size_t len;
    char *wire = slurp(path, &len);
    assert_non_null(wire);
    assert_non_null(strstr(wire, "\"rule\":\"trade\""));
    assert_non_null(strstr(wire, "\"meta\":{\"section\":\"asia\",\"n\":3}"));
    assert_non_null(strstr(wire, "\"route\":[\"trade-desk\",\"wire\"]"));
    free(wire);
    snprintf(path, sizeof path, "%s/out/dead/story-2.broken.json", dir);
    char *dead = slurp(path, NULL);
    assert_non_null(dead);
    assert_non_null(strstr(dead, "\"destination\":\"broken\""));
    free(dead);
    cd_desk_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_functions_build_the_desk),
        cmocka_unit_test(story_methods_answer),
        cmocka_unit_test(kept_story_expires),
        cmocka_unit_test(kept_story_method_expires),
        cmocka_unit_test(kept_story_expires_everywhere),
        cmocka_unit_test(broken_configurations_name_file_and_line),
        cmocka_unit_test(missing_file_is_an_io_error),
        cmocka_unit_test(editing_a_rule_changes_the_route),
        cmocka_unit_test(validate_finds_unknown_names),
        cmocka_unit_test(expect_cases_pass_and_fail),
        cmocka_unit_test(models_score_as_on_their_own),
        cmocka_unit_test(every_story_is_accounted_for),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
