/*
 * test_desk_json.c - the decision JSON of a desk whose names need
 * escaping (quotes, backslashes, controls, UTF-8 and invalid bytes in
 * topic ids and names, labels, destinations and rules), and more names
 * than the desk's memo of escaped names starts with: every story's JSON
 * from a desk that has written many is the JSON a fresh desk writes for
 * it, and it is valid JSON with the names as they were declared.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copydesk.h"
#include "support.h"

#define NTOPICS 48

static char *dir;

/* The model's labels: a quote, a backslash, a control, UTF-8, a bad byte. */
static const char *const labels[] = { "tr\"ade\\\x01", "sp\xc3\xa9rt \xff" };

static int setup(void **state)
{
    (void)state;
    dir = scratch_dir();
    cd_tok_opts tok;
    cd_nb_opts nb;
    cd_tok_opts_default(&tok);
    cd_nb_opts_default(&nb);
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(&tok, &nb, &t, &err), CD_OK);
    static const char *const texts[] = {
        "tariff trade deficit exports imports customs duties",
        "match goal striker league cup final referee",
    };
    for (int round = 0; round < 4; round++)
        for (size_t i = 0; i < 2; i++)
            assert_int_equal(cd_trainer_add(t, texts[i], strlen(texts[i]), &labels[i], 1, &err),
                             CD_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/m.cdm", dir);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scratch_remove(dir);
    return 0;
}

/* NTOPICS topics with awkward ids and names, keyword kw<i> each, the
 * first two with the model's labels; a destination and a rule per eight
 * topics, names as awkward. */
static char *config(void)
{
    size_t cap = 65536, n = 0;
    char *c = malloc(cap);
    assert_non_null(c);
    n += (size_t)snprintf(c + n, cap - n, "model(\"m\\\"1\\\\\", \"m.cdm\")\ntaxonomy {\n");
    for (int i = 0; i < NTOPICS; i++)
        n += (size_t)snprintf(c + n, cap - n,
                              "  { id = \"t\\\"%d\\\\\", name = \"N\\t%d caf\\xc3\\xa9 \\xfe\\1\","
                              " keywords = { \"kw%d\" }%s },\n",
                              i, i, i,
                              i == 0   ? ", labels = { \"tr\\\"ade\\\\\\1\" }"
                              : i == 1 ? ", labels = { \"sp\\xc3\\xa9rt \\xff\" }"
                                       : "");
    n += (size_t)snprintf(c + n, cap - n, "}\n");
    for (int k = 0; k < NTOPICS / 8; k++)
        n += (size_t)snprintf(c + n, cap - n, "destination \"d\\\"%d\\n\" { folder = \"out/%d\" }\n",
                              k, k);
    n += (size_t)snprintf(c + n, cap - n, "destination \"rev\\\\iew\" { folder = \"out/r\" }\n"
                                          "fallback \"rev\\\\iew\"\n");
    for (int k = 0; k < NTOPICS / 8; k++)
        n += (size_t)snprintf(c + n, cap - n,
                              "rule(\"r\\\"%d\\x01\", function(story)\n"
                              "  for i = %d, %d do\n"
                              "    if story:topic(string.format('t\"%%d\\\\', i)) >= 0.3 then\n"
                              "      return \"d\\\"%d\\n\"\n"
                              "    end\n"
                              "  end\n"
                              "end)\n",
                              k, 8 * k, 8 * k + 7, k);
    assert_true(n < cap);
    return c;
}

/* Story k's body: two of the topics' keywords, and trade or sport words. */
static void story_for(int k, cd_story *s)
{
    char id[32], body[256];
    snprintf(id, sizeof id, "s%d", k);
    snprintf(body, sizeof body, "kw%d kw%d kw%d %s", k % NTOPICS, k * 7 % NTOPICS,
             k % NTOPICS, k % 2 ? "tariff exports customs" : "goal striker league");
    make_story(s, id, "title", body, NULL);
}

static char *decide_json(cd_desk *d, int k, int explain)
{
    cd_story s;
    cd_decision dec;
    cd_error err;
    story_for(k, &s);
    assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
    char *json = cd_desk_decision_json(d, explain);
    assert_non_null(json);
    cd_story_clear(&s);
    return json;
}

static void names_written_once_are_the_same(void **state)
{
    (void)state;
    char *text = config();
    cd_desk *d = load_desk(dir, text);
    assert_non_null(d);
    int seen_label = 0, seen_rule = 0;
    for (int k = 0; k < 3 * NTOPICS; k++) {
        int explain = k % 3 == 0;
        char *json = decide_json(d, k, explain);
        cd_desk *fresh = load_desk(dir, text);
        assert_non_null(fresh);
        char *want = decide_json(fresh, k, explain);
        assert_string_equal(json, want);
        cJSON *j = cJSON_Parse(json);
        assert_non_null(j);
        cJSON *topics = cJSON_GetObjectItem(j, "topics"), *t;
        cJSON_ArrayForEach(t, topics) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(t, "id"));
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(t, "name"));
            int i;
            char want_id[32], want_name[64];
            assert_int_equal(sscanf(id, "t\"%d\\", &i), 1);
            snprintf(want_id, sizeof want_id, "t\"%d\\", i);
            snprintf(want_name, sizeof want_name, "N\t%d caf\xc3\xa9 \xef\xbf\xbd\x01", i);
            assert_string_equal(id, want_id);
            assert_string_equal(name, want_name);
        }
        cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "labels"), "m\"1\\");
        assert_non_null(m);
        const char *label = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0),
                                                                     "label"));
        assert_non_null(label);
        seen_label |= !strcmp(label, "sp\xc3\xa9rt \xef\xbf\xbd") ? 1
                      : !strcmp(label, "tr\"ade\\\x01")            ? 2
                                                                     : 4;
        const char *rule = cJSON_GetStringValue(cJSON_GetObjectItem(j, "rule"));
        if (rule) {
            int r;
            char want_rule[32];
            assert_int_equal(sscanf(rule, "r\"%d", &r), 1);
            snprintf(want_rule, sizeof want_rule, "r\"%d\x01", r);
            assert_string_equal(rule, want_rule);
            seen_rule++;
        }
        cJSON_Delete(j);
        free(json);
        free(want);
        cd_desk_free(fresh);
    }
    assert_int_equal(seen_label, 3);   /* both labels, nothing else */
    assert_true(seen_rule > 0);
    cd_desk_free(d);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_written_once_are_the_same),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
