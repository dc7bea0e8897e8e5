/*
 * test_topics.c - the taxonomy and topic scores: keywords folded through
 * the tokenizer (case, phrases, prefix wildcards), the score formula of
 * core/topics.h, and the roll-up (a parent scores at least its best child).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "copydesk.h"
#include "topics.h"

static cd_tokenizer *tok;

static int setup(void **state)
{
    (void)state;
    return cd_tokenizer_new(NULL, &tok, NULL) == CD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cd_tokenizer_free(tok);
    return 0;
}

static size_t count_in(const char *phrase, const char *text)
{
    cd_phrase *p;
    cd_toklist *l;
    cd_error err;
    assert_int_equal(cd_phrase_compile(tok, phrase, &p, &err), CD_OK);
    assert_int_equal(cd_toklist_build(tok, text, strlen(text), &l, &err), CD_OK);
    size_t n = cd_phrase_count(p, l);
    cd_phrase_free(p);
    cd_toklist_free(l);
    return n;
}

static void phrases_match_tokens(void **state)
{
    (void)state;
    assert_int_equal(count_in("military", "The MILITARY said: military drills."), 2);
    assert_int_equal(count_in("mutual defense", "a Mutual Defense treaty; mutual aid, defense"), 1);
    assert_int_equal(count_in("missile*", "missiles and a missile, not a mission"), 2);
    assert_int_equal(count_in("tariff*", "no match here"), 0);
    /* words are whole tokens: "arm" does not match "army" */
    assert_int_equal(count_in("arm", "the army"), 0);
}

static void empty_phrase_is_refused(void **state)
{
    (void)state;
    cd_phrase *p;
    cd_error err;
    assert_int_equal(cd_phrase_compile(tok, "the", &p, &err), CD_ERR_ARG);
    assert_null(p);
    assert_int_equal(cd_phrase_compile(tok, "*", &p, &err), CD_ERR_ARG);
}

/* A fake model answer for the label callback: "trade" has p = 0.8. */
static double label_p(const char *label, void *ud)
{
    (void)ud;
    if (!strcmp(label, "trade"))
        return 0.8;
    if (!strcmp(label, "crude"))
        return 0.1;
    return -1;
}

static cd_topics *sample_taxonomy(void)
{
    cd_topics *t;
    size_t world, defense, business, trade, energy;
    assert_int_equal(cd_topics_new(&t, NULL), CD_OK);
    assert_int_equal(cd_topics_add(t, -1, "world", "World", &world, NULL), CD_OK);
    assert_int_equal(cd_topics_add(t, (int)world, "defense", NULL, &defense, NULL), CD_OK);
    assert_int_equal(cd_topics_add_keyword(t, defense, "military", NULL), CD_OK);
    assert_int_equal(cd_topics_add_keyword(t, defense, "missile*", NULL), CD_OK);
    assert_int_equal(cd_topics_add(t, -1, "business", "Business", &business, NULL), CD_OK);
    assert_int_equal(cd_topics_add(t, (int)business, "trade", "Trade", &trade, NULL), CD_OK);
    assert_int_equal(cd_topics_add_label(t, trade, "trade", NULL), CD_OK);
    assert_int_equal(cd_topics_add_keyword(t, trade, "tariff*", NULL), CD_OK);
    assert_int_equal(cd_topics_add(t, (int)business, "energy", "Energy", &energy, NULL), CD_OK);
    assert_int_equal(cd_topics_add_label(t, energy, "crude", NULL), CD_OK);
    assert_int_equal(cd_topics_set_half(t, energy, 1, NULL), CD_OK);
    assert_int_equal(cd_topics_compile(t, tok, NULL), CD_OK);
    return t;
}

static void scores_follow_the_formula(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    const char *text = "Military missiles. The military met. New tariffs.";
    cd_toklist *l;
    assert_int_equal(cd_toklist_build(tok, text, strlen(text), &l, NULL), CD_OK);
    cd_topic_score s[5];
    cd_topics_score(t, l, label_p, NULL, s);
    /* defense: 3 hits, no label: k = 1 - 2^(-3/2) */
    assert_true(fabs(s[1].hits - 3) < 1e-9);
    assert_true(fabs(s[1].score - (1 - pow(2, -1.5))) < 1e-9);
    assert_int_equal(s[1].best_label, -1);
    /* trade: label 0.8 and 1 hit (k = 1 - 2^-0.5): noisy-OR */
    double k = 1 - pow(2, -0.5);
    assert_true(fabs(s[3].score - (1 - 0.2 * (1 - k))) < 1e-9);
    assert_int_equal(s[3].best_label, 0);
    /* energy: label only */
    assert_true(fabs(s[4].score - 0.1) < 1e-9);
    /* parents: no evidence of their own, the best child's score */
    assert_true(fabs(s[0].own) < 1e-12);
    assert_true(fabs(s[0].score - s[1].score) < 1e-12);
    assert_true(fabs(s[2].score - s[3].score) < 1e-12);
    assert_int_equal(cd_topics_keyword_hits(t, 1, 1, l), 1);
    cd_toklist_free(l);
    cd_topics_free(t);
}

static void no_evidence_scores_zero(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    cd_toklist *l;
    assert_int_equal(cd_toklist_build(tok, "", 0, &l, NULL), CD_OK);
    cd_topic_score s[5];
    cd_topics_score(t, l, NULL, NULL, s);
    for (int i = 0; i < 5; i++)
        assert_true(s[i].score == 0);
    cd_toklist_free(l);
    cd_topics_free(t);
}

static void taxonomy_lookups(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    cd_error err;
    size_t i;
    assert_int_equal(cd_topics_count(t), 5);
    assert_int_equal(cd_topics_find(t, "trade"), 3);
    assert_int_equal(cd_topics_find(t, "nope"), -1);
    assert_string_equal(cd_topics_name(t, 1), "defense");
    assert_int_equal(cd_topics_parent(t, 3), 2);
    assert_string_equal(cd_topics_label(t, 3, 0), "trade");
    assert_string_equal(cd_topics_keyword(t, 1, 1), "missile*");
    assert_int_equal(cd_topics_add(t, -1, "trade", NULL, &i, &err), CD_ERR_ARG);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(cd_topics_set_half(t, 0, 0, &err), CD_ERR_ARG);
    cd_topics_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phrases_match_tokens),
        cmocka_unit_test(empty_phrase_is_refused),
        cmocka_unit_test(scores_follow_the_formula),
        cmocka_unit_test(no_evidence_scores_zero),
        cmocka_unit_test(taxonomy_lookups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
