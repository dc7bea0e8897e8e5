/*
 * test_topics.c - the taxonomy and topic scores: keywords folded through
 * the tokenizer (case, phrases, prefix wildcards), the score formula of
 * core/desk/topics.h, and the roll-up (a parent scores at least its best child).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "copydesk.h"
#include "base/buf.h"
#include "desk/topics.h"

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
    assert_int_equal(cdi_phrase_compile(tok, phrase, &p, &err), CD_OK);
    assert_int_equal(cdi_toklist_build(tok, text, strlen(text), &l, &err), CD_OK);
    size_t n = cdi_phrase_count(p, l);
    cdi_phrase_free(p);
    cdi_toklist_free(l);
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
    assert_int_equal(cdi_phrase_compile(tok, "the", &p, &err), CD_ERR_ARG);
    assert_null(p);
    assert_int_equal(cdi_phrase_compile(tok, "*", &p, &err), CD_ERR_ARG);
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
    assert_int_equal(cdi_topics_new(&t, NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, -1, "world", "World", &world, NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, (int)world, "defense", NULL, &defense, NULL), CD_OK);
    assert_int_equal(cdi_topics_add_keyword(t, defense, "military", NULL), CD_OK);
    assert_int_equal(cdi_topics_add_keyword(t, defense, "missile*", NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, -1, "business", "Business", &business, NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, (int)business, "trade", "Trade", &trade, NULL), CD_OK);
    assert_int_equal(cdi_topics_add_label(t, trade, "trade", NULL), CD_OK);
    assert_int_equal(cdi_topics_add_keyword(t, trade, "tariff*", NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, (int)business, "energy", "Energy", &energy, NULL), CD_OK);
    assert_int_equal(cdi_topics_add_label(t, energy, "crude", NULL), CD_OK);
    assert_int_equal(cdi_topics_set_half(t, energy, 1, NULL), CD_OK);
    assert_int_equal(cdi_topics_compile(t, tok, NULL), CD_OK);
    return t;
}

static void scores_follow_the_formula(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    const char *text = "Military missiles. The military met. New tariffs.";
    cd_toklist *l;
    assert_int_equal(cdi_toklist_build(tok, text, strlen(text), &l, NULL), CD_OK);
    cd_topic_score s[5];
    cdi_topics_score(t, l, label_p, NULL, s);
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
    assert_int_equal(cdi_topics_keyword_hits(t, 1, 1, l), 1);
    cdi_toklist_free(l);
    cdi_topics_free(t);
}

static void no_evidence_scores_zero(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    cd_toklist *l;
    assert_int_equal(cdi_toklist_build(tok, "", 0, &l, NULL), CD_OK);
    cd_topic_score s[5];
    cdi_topics_score(t, l, NULL, NULL, s);
    for (int i = 0; i < 5; i++)
        assert_true(s[i].score == 0);
    cdi_toklist_free(l);
    cdi_topics_free(t);
}

static void taxonomy_lookups(void **state)
{
    (void)state;
    cd_topics *t = sample_taxonomy();
    cd_error err;
    size_t i;
    assert_int_equal(cdi_topics_count(t), 5);
    assert_int_equal(cdi_topics_find(t, "trade"), 3);
    assert_int_equal(cdi_topics_find(t, "nope"), -1);
    assert_string_equal(cdi_topics_name(t, 1), "defense");
    assert_int_equal(cdi_topics_parent(t, 3), 2);
    assert_string_equal(cdi_topics_label(t, 3, 0), "trade");
    assert_string_equal(cdi_topics_keyword(t, 1, 1), "missile*");
    assert_int_equal(cdi_topics_add(t, -1, "trade", NULL, &i, &err), CD_ERR_ARG);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(cdi_topics_set_half(t, 0, 0, &err), CD_ERR_ARG);
    cdi_topics_free(t);
}

/* The one-pass keyword index counts exactly what counting each keyword
 * alone counts: keywords that share a first word or its first bytes, a
 * one-byte prefix ("x*", tried at every token), phrases cut short by the
 * end of the story, the same keyword in two topics. */
static void index_counts_as_each_keyword_alone(void **state)
{
    (void)state;
    static const char *const kw[][4] = {
        { "trade war", "trade*", "tr*", "trace" },
        { "x*", "xi jinping", "tariff*", "trade" },
        { "z*", "zone", "trade war", "tariffs" },
    };
    cd_tok_opts o;
    cd_tok_opts_default(&o);
    o.min_len = 1;   /* one-byte words, so that "x*" is a one-byte prefix */
    cd_tokenizer *t1;
    assert_int_equal(cd_tokenizer_new(&o, &t1, NULL), CD_OK);
    cd_topics *t;
    assert_int_equal(cdi_topics_new(&t, NULL), CD_OK);
    for (size_t i = 0; i < 3; i++) {
        char id[8];
        size_t at;
        snprintf(id, sizeof id, "t%zu", i);
        assert_int_equal(cdi_topics_add(t, -1, id, NULL, &at, NULL), CD_OK);
        for (size_t j = 0; j < 4; j++)
            assert_int_equal(cdi_topics_add_keyword(t, at, kw[i][j], NULL), CD_OK);
    }
    assert_int_equal(cdi_topics_compile(t, t1, NULL), CD_OK);
    const char *texts[] = {
        ("Trade war: tariffs rise as the trade war deepens; traders trace Xi Jinping's "
         "x-ray zone of trade. Zones, zeal, x y z. The last words: trade"),
        "", "x", "trade", "tr", "zz zone trade war trade",
    };
    cd_toklist *l = cdi_toklist_new();
    assert_non_null(l);
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        assert_int_equal(cdi_toklist_fill(l, t1, texts[k], strlen(texts[k]), NULL), CD_OK);
        cd_topic_score s[3];
        cdi_topics_score(t, l, NULL, NULL, s);
        for (size_t i = 0; i < 3; i++) {
            size_t want = 0;
            for (size_t j = 0; j < 4; j++)
                want += cdi_topics_keyword_hits(t, i, j, l);
            if (s[i].hits != (double)want)
                fail_msg("text %zu, topic %zu: %g hits, counted alone %zu", k, i, s[i].hits, want);
        }
        if (k == 0)
            assert_true(s[1].hits >= 5);   /* the index did find things */
    }
    /* a keyword added after compile: no stale index, and compiling again counts it */
    assert_int_equal(cdi_topics_add_keyword(t, 0, "zeal", NULL), CD_OK);
    assert_int_equal(cdi_topics_compile(t, t1, NULL), CD_OK);
    assert_int_equal(cdi_toklist_fill(l, t1, texts[0], strlen(texts[0]), NULL), CD_OK);
    cd_topic_score s[3];
    cdi_topics_score(t, l, NULL, NULL, s);
    assert_int_equal(cdi_topics_keyword_hits(t, 0, 4, l), 1);
    size_t want = 0;
    for (size_t j = 0; j < 5; j++)
        want += cdi_topics_keyword_hits(t, 0, j, l);
    assert_true(s[0].hits == (double)want);
    cdi_toklist_free(l);
    cdi_topics_free(t);
    cd_tokenizer_free(t1);
}

/* Filling a list again replaces its tokens, and each gives them in order. */
static int collect(const char *w, size_t len, void *ud)
{
    char *out = ud;
    strncat(out, w, len);
    strcat(out, "|");
    return 0;
}

static void toklist_refill_and_each(void **state)
{
    (void)state;
    cd_toklist *l = cdi_toklist_new();
    assert_non_null(l);
    assert_int_equal(cdi_toklist_fill(l, tok, "Long first story, many words here", 33, NULL), CD_OK);
    assert_int_equal(cdi_toklist_fill(l, tok, "Short one", 9, NULL), CD_OK);
    assert_int_equal(cdi_toklist_size(l), 2);
    char out[64] = "";
    cdi_toklist_each(l, collect, out);
    assert_string_equal(out, "short|one|");
    cdi_toklist_free(l);
}

/* Occurrences of a query in text, the title being text's first line and
 * the lede its second (as the desk sets the zones). */
static size_t query_in(const char *phrase, const char *near, int within, int scope,
                       unsigned min, const char *text)
{
    cd_keyword_spec k = { phrase, near, within, scope, min };
    cd_query *q;
    cd_error err;
    assert_int_equal(cdi_query_compile(tok, &k, &q, &err), CD_OK);
    cd_toklist *l = cdi_toklist_new();
    assert_int_equal(cdi_toklist_fill(l, tok, text, strlen(text), &err), CD_OK);
    const char *nl = strchr(text, '\n');
    size_t title_end = nl ? (size_t)(nl - text) + 1 : strlen(text);
    const char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
    cdi_toklist_set_zones(l, title_end, nl2 ? (size_t)(nl2 - text) : strlen(text));
    size_t n = cdi_query_count(q, l, NULL);
    cdi_query_free(q);
    cdi_toklist_free(l);
    return n;
}

static void queries_have_scope_proximity_and_counts(void **state)
{
    (void)state;
    const char *t = "Embargo on North Korea\nNorth Korea fired a missile. Tariffs rose.\n"
                    "North Korea talks. Missiles later; tariffs on steel.";
    assert_int_equal(query_in("north korea", NULL, 0, CD_SCOPE_ALL, 1, t), 3);
    assert_int_equal(query_in("north korea", NULL, 0, CD_SCOPE_TITLE, 1, t), 1);
    assert_int_equal(query_in("north korea", NULL, 0, CD_SCOPE_BODY, 1, t), 2);
    assert_int_equal(query_in("tariff*", NULL, 0, CD_SCOPE_LEDE, 1, t), 1);
    assert_int_equal(query_in("embargo", NULL, 0, CD_SCOPE_BODY, 1, t), 0);
    /* near: words apart, stop words not counted; either order */
    assert_int_equal(query_in("north korea", "missile*", 1, CD_SCOPE_BODY, 1, t), 2);
    assert_int_equal(query_in("north korea", "missile*", 0, CD_SCOPE_BODY, 1, t), 0);
    assert_int_equal(query_in("korea", "fired", 0, CD_SCOPE_ALL, 1, t), 1);   /* adjacent */
    assert_int_equal(query_in("missile*", "korea", 1, CD_SCOPE_ALL, 1, t), 2);
    /* in one sentence: "North Korea talks." and "Missiles later" are two */
    assert_int_equal(query_in("north korea", "missile*", -1, CD_SCOPE_BODY, 1, t), 1);
    /* a minimum: fewer occurrences count as none */
    assert_int_equal(query_in("tariff*", NULL, 0, CD_SCOPE_ALL, 2, t), 2);
    assert_int_equal(query_in("tariff*", NULL, 0, CD_SCOPE_ALL, 3, t), 0);
}

/* A text with no sentence ends: "in one sentence" looks at most
 * CD_NEAR_MAX tokens around each occurrence, so the work grows with the
 * text, not with its square (it was one scan of the whole "sentence" per
 * occurrence: 20,000 occurrences x 40,000 tokens). */
static void near_a_sentence_is_bounded(void **state)
{
    (void)state;
    size_t pairs = 20000;
    cd_buf b = { 0 };
    for (size_t i = 0; i < pairs; i++)
        cdi_buf_puts(&b, "alpha beta ");
    cdi_buf_puts(&b, "zzz");
    assert_false(b.failed);
    cd_keyword_spec k = { "alpha", "zzz", -1, CD_SCOPE_ALL, 1 };
    cd_query *q;
    cd_error err;
    assert_int_equal(cdi_query_compile(tok, &k, &q, &err), CD_OK);
    cd_toklist *l = cdi_toklist_new();
    assert_int_equal(cdi_toklist_fill(l, tok, b.data, b.len, &err), CD_OK);
    uint64_t work = 0;
    size_t n = cdi_query_count(q, l, &work);
    /* only the alphas within CD_NEAR_MAX tokens of the zzz at the end */
    assert_int_equal(n, CD_NEAR_MAX / 2);
    assert_true(work <= (uint64_t)cdi_toklist_size(l) * (2 * CD_NEAR_MAX + 4));
    cdi_query_free(q);
    cdi_toklist_free(l);
    cdi_buf_free(&b);
}

/* A keyword with conditions scores in the one indexed pass as when
 * counted alone. */
static void keyword_specs_score_in_the_pass(void **state)
{
    (void)state;
    cd_topics *t;
    size_t a, b;
    assert_int_equal(cdi_topics_new(&t, NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, -1, "nk", NULL, &a, NULL), CD_OK);
    assert_int_equal(cdi_topics_add(t, -1, "trade", NULL, &b, NULL), CD_OK);
    cd_keyword_spec near = { "north korea", "missile*", -1, CD_SCOPE_ALL, 1 };
    cd_keyword_spec many = { "tariff*", NULL, 0, CD_SCOPE_ALL, 3 };
    assert_int_equal(cdi_topics_add_keyword_spec(t, a, &near, NULL), CD_OK);
    assert_int_equal(cdi_topics_add_keyword_spec(t, b, &many, NULL), CD_OK);
    assert_int_equal(cdi_topics_add_keyword(t, b, "steel", NULL), CD_OK);
    assert_int_equal(cdi_topics_compile(t, tok, NULL), CD_OK);
    assert_string_equal(cdi_topics_keyword(t, a, 0), "'north korea' near 'missile*' in one sentence");
    assert_string_equal(cdi_topics_keyword(t, b, 0), "'tariff*', at least 3");
    const char *text = "North Korea fired a missile. Tariffs on steel, tariffs on cars.";
    cd_toklist *l;
    assert_int_equal(cdi_toklist_build(tok, text, strlen(text), &l, NULL), CD_OK);
    cd_topic_score sc[2];
    cdi_topics_score(t, l, NULL, NULL, sc);
    assert_true(sc[a].hits == 1);
    assert_true(sc[b].hits == 1);   /* two tariffs are below the minimum: steel only */
    assert_int_equal(cdi_topics_keyword_hits(t, b, 0, l), 0);
    cdi_toklist_free(l);
    cdi_topics_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phrases_match_tokens),
        cmocka_unit_test(empty_phrase_is_refused),
        cmocka_unit_test(scores_follow_the_formula),
        cmocka_unit_test(no_evidence_scores_zero),
        cmocka_unit_test(taxonomy_lookups),
        cmocka_unit_test(index_counts_as_each_keyword_alone),
        cmocka_unit_test(toklist_refill_and_each),
        cmocka_unit_test(queries_have_scope_proximity_and_counts),
        cmocka_unit_test(near_a_sentence_is_bounded),
        cmocka_unit_test(keyword_specs_score_in_the_pass),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
