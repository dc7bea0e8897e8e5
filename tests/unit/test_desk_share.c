/*
 * test_desk_share.c - two desks on the same stories (copydesk diff): a desk
 * that reuses another's tokens and model results decides exactly as it
 * does alone; it reuses them only for the story the other has just
 * decided; a copy of a model file is recognized by its content; and a desk
 * loaded from text (a git revision) finds its files from the folder it
 * is placed in and is named as given in messages.
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

static const char *const texts[][2] = {
    { "trade", "Tariffs on imports rise as the trade deficit widens with Japan" },
    { "trade", "Exporters fear a trade war over semiconductor tariffs and quotas" },
    { "sport", "The striker scored twice as the team won the cup final" },
    { "sport", "The goalkeeper saved a penalty and the team reached the final" },
};

static void train(const char *name, int bigrams)
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
            const char *label = texts[i][0];
            assert_int_equal(cd_trainer_add(t, texts[i][1], strlen(texts[i][1]), &label, 1,
                                            &err), CD_OK);
        }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
}

static int setup(void **state)
{
    (void)state;
    dir = scratch_dir();
    train("news.cdm", 0);
    train("bigrams.cdm", 1);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/news.cdm", dir);
    snprintf(b, sizeof b, "%s/copy.cdm", dir);
    size_t len;
    char *data = slurp(a, &len);
    assert_non_null(data);
    assert_int_equal(spit(b, data, len), 0);
    free(data);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scratch_remove(dir);
    return 0;
}

/* A desk on model file m (and the bigram model), trade threshold th. */
static cd_desk *desk(const char *m, const char *th)
{
    char text[4096], path[4200];
    snprintf(text, sizeof text,
        "model(\"news\", \"%s\")\n"
        "model(\"bi\", \"bigrams.cdm\")\n"
        "taxonomy {\n"
        "  { id = \"trade\", labels = { \"news:trade\" }, keywords = { \"tariff*\" } },\n"
        "  { id = \"sport\", labels = { \"bi:sport\" } },\n"
        "}\n"
        "destination \"trade-desk\" { jsonl = \"%s/out/t.jsonl\" }\n"
        "destination \"sport-desk\" { jsonl = \"%s/out/s.jsonl\" }\n"
        "destination \"review\" { jsonl = \"%s/out/r.jsonl\" }\n"
        "rule(\"trade\", function(s) if s:topic(\"trade\") >= %s then return \"trade-desk\" end end)\n"
        "rule(\"sport\", function(s) if s:topic(\"sport\") >= 0.5 and s:has(\"team\") then\n"
        "  s:log(\"%%s\", s:label(\"bi\")) return \"sport-desk\" end end)\n"
        "fallback \"review\"\n", m, dir, dir, dir, th);
    snprintf(path, sizeof path, "%s/desk-%s-%s.lua", dir, m, th);
    assert_int_equal(spit(path, text, strlen(text)), 0);
    cd_desk *d = NULL;
    cd_error err;
    if (cd_desk_load(path, NULL, &d, &err) != CD_OK)
        fail_msg("%s", err.msg);
    return d;
}

static char *decide(cd_desk *d, const cd_story *s)
{
    cd_decision dec;
    cd_error err;
    assert_int_equal(cd_desk_route(d, s, 1, &dec, &err), CD_OK);
    char *json = cd_desk_decision_json(d, 1);
    assert_non_null(json);
    /* the rule locations name each desk's own file: compare the rest */
    char *where = strstr(json, "\"reason\":");
    if (where)
        memset(where, ' ', strcspn(where, ";") );
    return json;
}

static void test_shared_decides_as_alone(void **state)
{
    (void)state;
    cd_desk *base = desk("news.cdm", "0.5"), *shared = desk("copy.cdm", "0.3"),
            *alone = desk("copy.cdm", "0.3");
    int toks = 0;
    assert_int_equal(cd_desk_share(shared, base, &toks), 2);   /* the copy and bigrams */
    assert_true(toks);
    const char *bodies[] = { "tariffs and quotas", "the team won the final",
                             "a trade war with the team", "nothing to see" };
    for (size_t i = 0; i < 4; i++) {
        cd_story s;
        make_story(&s, "x", "Story", bodies[i], NULL);
        char *b = decide(base, &s);
        char *one = decide(shared, &s);
        char *two = decide(alone, &s);
        assert_string_equal(one, two);
        free(b);
        free(one);
        free(two);
        cd_story_clear(&s);
    }
    /* a story the base has not decided is not given the base's results */
    cd_story s1, s2;
    make_story(&s1, "a", "Story", "tariffs tariffs tariffs", NULL);
    make_story(&s2, "b", "Story", "the team won the cup final", NULL);
    char *b = decide(base, &s1);
    char *one = decide(shared, &s2);
    char *two = decide(alone, &s2);
    assert_string_equal(one, two);
    free(b);
    free(one);
    free(two);
    cd_story_clear(&s1);
    cd_story_clear(&s2);
    cd_desk_free(alone);
    cd_desk_free(shared);
    cd_desk_free(base);
}

static void test_other_tokenizer_not_shared(void **state)
{
    (void)state;
    cd_desk *base = desk("news.cdm", "0.5");
    char text[1024], path[4200];
    snprintf(text, sizeof text,
        "model(\"bi\", \"bigrams.cdm\")\n"   /* the first model sets the keyword tokenizer */
        "destination \"review\" { jsonl = \"%s/out/r.jsonl\" }\n"
        "fallback \"review\"\n", dir);
    snprintf(path, sizeof path, "%s/bi-first.lua", dir);
    assert_int_equal(spit(path, text, strlen(text)), 0);
    cd_desk *d;
    cd_error err;
    assert_int_equal(cd_desk_load(path, NULL, &d, &err), CD_OK);
    int toks = 1;
    assert_int_equal(cd_desk_share(d, base, &toks), 1);
    assert_true(toks);   /* keywords never use bigrams: the same folding */
    cd_desk_free(d);
    cd_desk_free(base);
}

static void test_load_text(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/not-on-disk.lua", dir);
    const char *good = "model \"news.cdm\"\ndestination \"review\" { stdout = true }\n"
                       "fallback \"review\"\n";
    cd_desk *d = NULL;
    cd_error err;
    assert_int_equal(cd_desk_load_text(good, strlen(good), path, "HEAD:desk.lua", NULL, &d, &err),
                     CD_OK);
    assert_int_equal(cd_desk_models(d), 1);
    cd_desk_free(d);
    const char *bad = "model \"news.cdm\"\nfallback (\n";
    assert_int_not_equal(cd_desk_load_text(bad, strlen(bad), path, "HEAD:desk.lua", NULL, &d,
                                           &err), CD_OK);
    assert_non_null(strstr(err.msg, "HEAD:desk.lua:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_decides_as_alone),
        cmocka_unit_test(test_other_tokenizer_not_shared),
        cmocka_unit_test(test_load_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
