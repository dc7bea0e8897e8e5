/*
 * test_lexicon.c - one lookup per token for a desk's models (lexicon.h):
 * a lexicon finds each term of each model as the model's own table does,
 * short keys and long ones, no stop word of a model that drops them, and
 * a desk scores from its merged lexicon exactly as each model alone; the
 * stop words as rows of their own, and the desk's tokens read with them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "copydesk.h"
#include "desk/desk_internal.h"
#include "model/lexicon.h"
#include "text/toklist.h"
#include "model/model_internal.h"
#include "support.h"

static cd_model *open_model(const char *path)
{
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    return m;
}

/* With one model the row is the term id: every term of the shipped
 * Reuters model (lengths 2 to 40: keys in the slot and hashed ones) is
 * found as cdi_model_lookup finds it; stop words and unknown words, also
 * of every key length, are not. */
static void one_model_rows_are_term_ids(void **state)
{
    (void)state;
    cd_model *m = open_model("models/reuters.cdm");
    cdi_lexicon *x;
    cd_error err;
    assert_int_equal(cdi_lexicon_new((const cd_model *const *)&m, 1, &x, &err), CD_OK);
    size_t longs = 0;
    for (uint32_t t = 0; t < m->view.nterms; t++) {
        size_t len;
        const char *name = cdi_model_term(m, t, &len);
        longs += len > LEX_SHORT;
        assert_int_equal(cdi_lexicon_find(x, name, len), t);
        assert_int_equal(cdi_lexicon_id(x, t, 0), t);
    }
    assert_true(longs > 100);
    static const char *const absent[] = {
        "the", "themselves", "a", "x", "qz", "qzx", "qzxw", "qzxwv", "qzxwvu", "qzxwvut",
        "qzxwvuts", "qzxwvutsr", "qzxwvutsrq", "qzxwvutsrqp", "qzxwvutsrqpo",
        "internationalisationally", "tariffz", "",
    };
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        assert_int_equal(cdi_lexicon_find(x, absent[i], strlen(absent[i])), -1);
    /* a prefix or extension of a term is another token */
    size_t len;
    const char *name = cdi_model_term(m, 0, &len);
    assert_int_equal(cdi_lexicon_find(x, name, len - 1) == 0, 0);
    cdi_lexicon_free(x);
    cd_model_close(m);
}

/* A classifier's own lexicon (cdi_lexicon_new_own): the terms' rows are
 * their ids as with cdi_lexicon_new, and each stop word of the list, which
 * the Reuters model drops, is found, as a row of no term (from nterms on,
 * cdi_lexicon_is_stop); unknown words are not found. */
static void own_lexicon_has_stop_rows(void **state)
{
    (void)state;
    cd_model *m = open_model("models/reuters.cdm");
    cdi_lexicon *x;
    cd_error err;
    assert_true(cdi_lexicon_drops_stopwords(m));
    assert_int_equal(cdi_lexicon_new_own(m, &x, &err), CD_OK);
    for (uint32_t t = 0; t < m->view.nterms; t++) {
        size_t len;
        const char *name = cdi_model_term(m, t, &len);
        assert_int_equal(cdi_lexicon_find(x, name, len), t);
        assert_false(cdi_lexicon_is_stop(x, t));
    }
    static const char *const stops[] = { "the", "of", "and", "was", "themselves", "yourselves" };
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        int64_t r = cdi_lexicon_find(x, stops[i], strlen(stops[i]));
        assert_true(r >= (int64_t)m->view.nterms);
        assert_true(cdi_lexicon_is_stop(x, r));
    }
    assert_int_equal(cdi_lexicon_find(x, "qzxwv", 5), -1);
    assert_int_equal(cdi_lexicon_find(x, "internationalisationally", 24), -1);
    cdi_lexicon_free(x);
    cd_model_close(m);
}

/* Two models: each row holds the term's id in each model, LEX_NONE where
 * a model lacks it; every term of both is found. */
static void two_models_share_rows(void **state)
{
    (void)state;
    cd_model *ms[2] = { open_model("models/bbc.cdm"), open_model("models/reuters.cdm") };
    cdi_lexicon *x;
    cd_error err;
    assert_int_equal(cdi_lexicon_new((const cd_model *const *)ms, 2, &x, &err), CD_OK);
    size_t shared = 0;
    for (size_t i = 0; i < 2; i++) {
        for (uint32_t t = 0; t < ms[i]->view.nterms; t++) {
            size_t len;
            const char *name = cdi_model_term(ms[i], t, &len);
            int64_t r = cdi_lexicon_find(x, name, len);
            assert_true(r >= 0);
            assert_int_equal(cdi_lexicon_id(x, (uint32_t)r, i), t);
            int64_t other = cdi_model_lookup(ms[1 - i], name, len);
            assert_int_equal(cdi_lexicon_id(x, (uint32_t)r, 1 - i),
                             other < 0 ? LEX_NONE : (uint32_t)other);
            shared += i == 0 && other >= 0;
        }
    }
    assert_true(shared > 1000);
    assert_true(x->nrows < ms[0]->view.nterms + ms[1]->view.nterms);
    cdi_lexicon_free(x);
    cd_model_close(ms[0]);
    cd_model_close(ms[1]);
}

/* Slots from a short word's own (cdi_lex_slot_of) to the one that holds
 * it. */
static uint32_t slots_away(const cdi_lexicon *x, const char *w, size_t len)
{
    uint64_t a;
    uint32_t b;
    cdi_lex_short_key(w, len, &a, &b);
    uint32_t home = cdi_lex_slot_of(x, a, b), i = home;
    while (!(x->slots[i].a == a && x->slots[i].b == b)) {
        assert_true(x->slots[i].row);
        i = (i + 1) & x->mask;
    }
    return (i - home) & x->mask;
}

static uint32_t stop_away;   /* the farthest stop word (each_stop) */

static void each_stop(const char *w, size_t len, void *ud)
{
    const cdi_lexicon *x = ud;
    int64_t r = cdi_lexicon_find(x, w, len);
    assert_true(r >= 0);
    assert_true(cdi_lexicon_is_stop(x, r));
    assert_non_null(x->tags);
    assert_int_equal(x->tags[r], LEX_ROW_STOP);
    uint32_t away = slots_away(x, w, len);
    if (away > stop_away)
        stop_away = away;
    uint64_t a;
    uint32_t b;
    assert_true(len <= LEX_SHORT);
    cdi_lex_short_key(w, len, &a, &b);
    assert_true(cdi_lexicon_is_stop_key(x, a, b));
    for (size_t i = 0; i < x->n; i++)
        assert_int_equal(cdi_lexicon_id(x, (uint32_t)r, i), LEX_NONE);
}

/* Every term of the n models found in x, none a stop word, each with its
 * model's term id. */
static void terms_found(const cdi_lexicon *x, cd_model *const *ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < ms[i]->view.nterms; t++) {
            size_t len;
            const char *name = cdi_model_term(ms[i], t, &len);
            int64_t r = cdi_lexicon_find(x, name, len);
            assert_true(r >= 0 && !cdi_lexicon_is_stop(x, r));
            assert_int_equal(x->tags[r], 0);
            assert_int_equal(cdi_lexicon_id(x, (uint32_t)r, i), t);
            if (len <= LEX_SHORT) {
                uint64_t a;
                uint32_t b;
                cdi_lex_short_key(name, len, &a, &b);
                assert_false(cdi_lexicon_is_stop_key(x, a, b));
            }
        }
}

/* The stop words as rows of their own: each found and told a stop word,
 * a term of no model; every term of both models still found, none a stop
 * word; a one-model lexicon (rows are term ids there) refuses them. */
static void stop_words_have_rows(void **state)
{
    (void)state;
    cd_model *ms[2] = { open_model("models/bbc.cdm"), open_model("models/reuters.cdm") };
    cdi_lexicon *x;
    cd_error err;
    assert_int_equal(cdi_lexicon_new((const cd_model *const *)ms, 2, &x, &err), CD_OK);
    uint32_t before = x->nrows;
    assert_int_equal(cdi_lexicon_add_stopwords(x, (const cd_model *const *)ms, &err), CD_OK);
    assert_int_equal(x->stops_from, before);
    assert_true(x->nrows > before + 100);
    stop_away = 0;
    cd_stopwords_each(each_stop, x);
    /* put in first: each at its own slot or the next (after the terms, a
     * few would be many slots away) */
    assert_true(stop_away <= 1);
    terms_found(x, ms, 2);
    assert_int_equal(cdi_lexicon_find(x, "qzxwv", 5), -1);
    /* twice: refused, the rows stay */
    assert_int_equal(cdi_lexicon_add_stopwords(x, (const cd_model *const *)ms, &err), CD_ERR_ARG);
    cdi_lexicon_free(x);
    assert_int_equal(cdi_lexicon_new((const cd_model *const *)ms, 1, &x, &err), CD_OK);
    assert_int_equal(cdi_lexicon_add_stopwords(x, (const cd_model *const *)ms, &err), CD_ERR_ARG);
    assert_int_equal(cdi_lexicon_find(x, "the", 3), -1);
    cdi_lexicon_free(x);
    cd_model_close(ms[0]);
    cd_model_close(ms[1]);
}

/* Two small models (a few dozen terms): the table sized for their terms
 * has no room for the stop-word list beside them, and grows. */
static void small_models_get_stop_words(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_model *ms[2];
    for (size_t i = 0; i < 2; i++) {
        cd_trainer *t;
        cd_error err;
        assert_int_equal(cd_trainer_new(NULL, NULL, &t, &err), CD_OK);
        assert_int_equal(add_oil_shipping(t, &err), CD_OK);
        char path[4096];
        snprintf(path, sizeof path, "%s/m%zu.cdm", dir, i);
        assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
        cd_trainer_free(t);
        ms[i] = open_model(path);
    }
    assert_true(ms[0]->view.nterms < 50);
    cdi_lexicon *x;
    cd_error err;
    assert_int_equal(cdi_lexicon_new((const cd_model *const *)ms, 2, &x, &err), CD_OK);
    uint32_t mask = x->mask;
    assert_int_equal(cdi_lexicon_add_stopwords(x, (const cd_model *const *)ms, &err), CD_OK);
    assert_true(x->mask > mask);
    stop_away = 0;
    cd_stopwords_each(each_stop, x);
    terms_found(x, ms, 2);
    cdi_lexicon_free(x);
    cd_model_close(ms[0]);
    cd_model_close(ms[1]);
    scratch_remove(dir);
}

/* A short key gives its token back, every length, every byte value. */
static void short_key_gives_its_text(void **state)
{
    (void)state;
    char w[LEX_SHORT], back[LEX_SHORT];
    for (size_t len = 1; len <= LEX_SHORT; len++)
        for (unsigned v = 0; v < 256; v++) {
            for (size_t i = 0; i < len; i++)
                w[i] = (char)(v + 37 * i);
            uint64_t a;
            uint32_t b;
            cdi_lex_short_key(w, len, &a, &b);
            memset(back, 0, sizeof back);
            assert_int_equal(cdi_lex_short_text(a, b, back), len);
            assert_memory_equal(back, w, len);
        }
}

/* The shipped desk reads a story with a tokenizer that keeps stop words
 * and drops them by its lexicon: its token list (words, offsets,
 * sentences) is the one the desk's own tokenizer, which drops them, makes. */
static void desk_tokens_without_stop_words(void **state)
{
    (void)state;
    cd_desk *d;
    cd_error err;
    assert_int_equal(cd_desk_load("scripts/newsroom.lua", NULL, &d, &err), CD_OK);
    assert_non_null(d->tok_fill);
    static const char *const texts[] = {
        ("The U.S. and Japan\nHe's said they'd cut 10.5 pct of the tariffs; it's a trade war. "
         "Don't you think so? I am not. OPEC's ministers were in Vienna in 1987."),
        "A\nof the and to in is was",
        "Élysée talks: l'État and Straße\nThe internationalisationally long word, yourselves.",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", texts[k]);
        char *nl = strchr(buf, '\n');
        assert_non_null(nl);
        cd_story s;
        memset(&s, 0, sizeof s);
        s.id = (char *)"t";
        *nl = '\0';
        s.title = buf;
        s.title_len = strlen(buf);
        s.body = nl + 1;
        s.body_len = strlen(nl + 1);
        cd_decision dec;
        assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
        size_t len;
        char *text = cd_story_text(&s, &len);
        cd_toklist *want;
        assert_int_equal(cdi_toklist_build(d->tok, text, len, &want, &err), CD_OK);
        /* the keywords were counted in a sample: the list is made when
         * asked for */
        assert_null(d->cur.toks);
        const cd_toklist *got;
        assert_int_equal(cdi_desk_tokens(d, &got), CD_OK);
        assert_ptr_equal(got, d->cur.toks);
        assert_int_equal(got->n, want->n);
        for (size_t i = 0; i < want->n; i++) {
            assert_int_equal(got->len[i], want->len[i]);
            assert_memory_equal(got->text + got->off[i], want->text + want->off[i], want->len[i]);
            assert_int_equal(got->src[i], want->src[i]);
            assert_int_equal(got->sent[i], want->sent[i]);
        }
        assert_true(want->n > 3 || k == 1);
        cdi_toklist_free(want);
        free(text);
    }
    cd_desk_free(d);
}

/* The shipped desk classifies from its merged lexicon: each model's
 * labels and probabilities are, bit for bit, what the model alone gives
 * for the same story. */
static void desk_scores_as_each_model_alone(void **state)
{
    (void)state;
    cd_desk *d;
    cd_error err;
    assert_int_equal(cd_desk_load("scripts/newsroom.lua", NULL, &d, &err), CD_OK);
    cd_model *ms[2] = { open_model("models/bbc.cdm"), open_model("models/reuters.cdm") };
    cd_classifier *cs[2];
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(cd_classifier_new(ms[i], &cs[i], &err), CD_OK);
        cd_classifier_set_order(cs[i], 1);
    }
    static const char *const texts[] = {
        "Japan cuts tariffs on US rice\nThe trade ministry said exports would rise.",
        "Chelsea beat Arsenal\nThe striker scored twice in the second half of the match.",
        "Oil prices\nOPEC ministers agreed to cut crude output; Brent rose 3 dlrs a barrel.",
        "\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        cd_story s;
        memset(&s, 0, sizeof s);
        const char *nl = strchr(texts[k], '\n');
        s.id = (char *)"t";
        s.title = (char *)texts[k];
        s.title_len = (size_t)(nl - texts[k]);
        s.body = (char *)nl + 1;
        s.body_len = strlen(nl + 1);
        cd_decision dec;
        assert_int_equal(cd_desk_route(d, &s, 1, &dec, &err), CD_OK);
        char *json = cd_desk_decision_json(d, 1);
        assert_non_null(json);
        for (size_t i = 0; i < 2; i++) {
            size_t len;
            char *text = cd_story_text(&s, &len);
            const cd_label_score *sc;
            size_t n;
            assert_int_equal(cd_classify(cs[i], text, len, &sc, &n, &err), CD_OK);
            free(text);
            /* the best label and its p, as the desk's JSON prints them */
            char want[128];
            snprintf(want, sizeof want, "{\"label\":\"%s\",\"p\":", cd_model_label(ms[i], sc[0].label));
            if (sc[0].chosen)
                assert_non_null(strstr(json, want));
            /* the desk's scores are the chosen labels; every label's
             * when asked for */
            const desk_model *dm = &d->models[i];
            size_t c = 0;
            for (size_t j = 0; j < n; j++) {
                if (!sc[j].chosen)
                    continue;
                assert_true(c < dm->nscores);
                assert_int_equal(dm->scores[c].label, sc[j].label);
                assert_memory_equal(&dm->scores[c].p, &sc[j].p, sizeof sc[j].p);
                assert_true(dm->scores[c].chosen);
                c++;
            }
            assert_int_equal(dm->nscores, c);
            const cd_label_score *all;
            size_t nall;
            cdi_desk_model_all(dm, &all, &nall);
            assert_int_equal(nall, n);
            for (size_t j = 0; j < n; j++) {
                assert_int_equal(all[j].label, sc[j].label);
                assert_memory_equal(&all[j].p, &sc[j].p, sizeof sc[j].p);
                assert_int_equal(all[j].chosen, sc[j].chosen);
            }
        }
        free(json);
    }
    assert_non_null(d->lex);   /* the two models share the desk's tokens */
    for (size_t i = 0; i < 2; i++) {
        cd_classifier_free(cs[i]);
        cd_model_close(ms[i]);
    }
    cd_desk_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_model_rows_are_term_ids),
        cmocka_unit_test(own_lexicon_has_stop_rows),
        cmocka_unit_test(two_models_share_rows),
        cmocka_unit_test(desk_scores_as_each_model_alone),
        cmocka_unit_test(stop_words_have_rows),
        cmocka_unit_test(small_models_get_stop_words),
        cmocka_unit_test(short_key_gives_its_text),
        cmocka_unit_test(desk_tokens_without_stop_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
