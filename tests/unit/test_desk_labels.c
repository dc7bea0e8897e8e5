/*
 * test_desk_labels.c - a desk computes, for every story, the p of its
 * models' chosen labels only; any other label's p is computed when
 * something asks for it (a rule's story:prob, story:labels, story:label,
 * the topics, --explain), and is then exactly, to the bit, what the model
 * gives on its own, whether it was computed eagerly or late.  Checked on
 * the shipped models ("topics": Reuters, 90 labels multi-label;
 * "sections": BBC, 5 labels single-label), at the classifier and in a
 * desk written as an editor writes one, alone and sharing another desk's
 * results (copydesk diff).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "copydesk.h"
#include "desk/desk_internal.h"
#include "model/model_internal.h"
#include "support.h"

static const char *const sample_files[] = {
    "tests/samples/reuters-14826.json", "tests/samples/reuters-14828.json",
    "tests/samples/reuters-14881.json", "tests/samples/reuters-15048.json",
    "tests/samples/reuters-15244.json", "tests/samples/bbc-business-005.json",
    "tests/samples/bbc-sport-005.json", "tests/samples/bbc-tech-010.json",
    "tests/samples/nk-russia-defense-treaty.json",
};
#define NFILES (sizeof sample_files / sizeof *sample_files)

/* title and body; the Reuters model's most probable label for the first
 * two (grain; naphtha) is not one it chooses (veg-oil; gas and fuel) */
static const char *const texts[][2] = {
    { "BANGLADESH TO IMPORT 60,000 TONS OF DIESEL FROM USSR",
      "Bangladesh will import 60,000 tons of high\nspeed diesel oil from the Soviet Union "
      "under a barter agreement\nsigned here last week, Bangladesh petroleum Corporation\n"
      "officials said.\n    The oil worth about 10 mln U.S. Dlrs will be shipped by\n"
      "December this year, they added but did not say what Bangladesh\nwould sell in return "
      "to the Soviet Union.\n REUTER" },
    { "SINGAPORE PETROLEUM CO RAISES OIL PRODUCT POSTINGS",
      "Singapore Petroleum Co Pte Ltd said it\nwill raise posted prices for its products from "
      "June 19, by one\ncent/gallon for lpg, naphtha and gasoline, two cents for gas\noil and "
      "by 60 cents/barrel for marine diesel oil.\n    New prices are - lpg 36.0 cents/gallon, "
      "chemical naphtha\n47, unleaded reformate 65.8, 0.4 gm lead 97 octane 61.3, 95\noctane "
      "59.3, 92 octane 55.5, 85 octane 49.5, 0.125 gm lead 97\noctane 64.3, 92 octane 58.5, 85 "
      "octane 52.5, jet kerosene 51.5,\nkerosene 50.5, premium kerosene 54.5, dual purpose "
      "kerosene\n52.5, 0.5 pct sulphur gas oil 52.0, one pct sulphur 51.0 and\nmarine diesel "
      "oil 21.20 dlrs/barrel.\n REUTER" },
    { "Story", "" },
    { "Story", "grain wheat corn exports" },
    { "Story", "the the the" },
    { "Story", "crude oil tanker" },
    { "Story", "Profit rose to 12 mln dlrs; net shr 10 cts; oil prices and tariffs" },
    { "Chelsea beat Arsenal", "The striker scored twice in the second half of the match." },
};
#define NTEXTS (sizeof texts / sizeof *texts)

/* Story i of the files then the texts (release with cd_story_clear). */
static void story_at(size_t i, cd_story *s)
{
    cd_error err;
    if (i < NFILES) {
        size_t len;
        char *json = slurp(sample_files[i], &len);
        assert_non_null(json);
        assert_int_equal(cd_story_from_json(json, len, sample_files[i], s, NULL, &err), CD_OK);
        free(json);
    } else {
        make_story(s, "text", texts[i - NFILES][0], texts[i - NFILES][1], NULL);
    }
}

/* Ten stories each of oil, shipping, and both: a multi-label model with
 * at_least_one, whose stories that reach no threshold get their nearest
 * label, saved under dir (a new string). */
static char *nearest_model(const char *dir)
{
    cd_nb_opts nb;
    cd_nb_opts_default(&nb);
    nb.mode = CD_LABELS_MULTI;
    nb.at_least_one = 1;
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(NULL, &nb, &t, &err), CD_OK);
    assert_int_equal(add_oil_shipping(t, &err), CD_OK);
    char *path = malloc(strlen(dir) + 16);
    assert_non_null(path);
    sprintf(path, "%s/nearest.cdm", dir);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
    return path;
}

static void assert_same_score(const cd_label_score *a, const cd_label_score *b)
{
    assert_int_equal(a->label, b->label);
    assert_memory_equal(&a->p, &b->p, sizeof a->p);
    assert_int_equal(a->chosen, b->chosen);
}

/* A classifier that gives the chosen labels alone (as a desk's does)
 * gives every label's p when asked, lazily or after every label was
 * computed, and every label's scores, exactly as a classifier that
 * computes them all; asking leaves the chosen labels it gave alone. */
static void lazy_p_is_the_eager_p(void **state)
{
    (void)state;
    cd_error err;
    char *dir = scratch_dir();
    char *nearest = nearest_model(dir);
    const char *paths[] = { "models/reuters.cdm", "models/bbc.cdm", nearest };
    size_t lazily = 0;
    for (size_t k = 0; k < 3; k++) {
        cd_model *m;
        assert_int_equal(cd_model_open(paths[k], &m, &err), CD_OK);
        cd_model_info info;
        cd_model_get_info(m, &info);
        cd_classifier *full, *lazy;
        assert_int_equal(cd_classifier_new(m, &full, &err), CD_OK);
        assert_int_equal(cd_classifier_new(m, &lazy, &err), CD_OK);
        cd_classifier_set_order(full, 1);
        cd_classifier_set_order(lazy, 1);
        cd_classifier_only_chosen(lazy, 1);
        /* nothing classified yet: no p, no scores */
        const cd_label_score *all;
        size_t nall;
        assert_true(cdi_classifier_p(lazy, 0) == 0);
        cdi_classifier_all(lazy, &all, &nall);
        assert_int_equal(nall, 0);
        for (size_t i = 0; i < NFILES + NTEXTS; i++) {
            cd_story s;
            story_at(i, &s);
            size_t len;
            char *text = cd_story_text(&s, &len);
            assert_non_null(text);
            const cd_label_score *a, *b;
            size_t na, nb;
            assert_int_equal(cd_classify(full, text, len, &a, &na, &err), CD_OK);
            assert_int_equal(cd_classify(lazy, text, len, &b, &nb, &err), CD_OK);
            assert_int_equal(na, info.labels);
            cd_label_score *chosen = malloc(sizeof *chosen * (nb ? nb : 1));
            assert_non_null(chosen);
            memcpy(chosen, b, sizeof *chosen * nb);
            double *p = malloc(sizeof *p * na);
            assert_non_null(p);
            for (size_t j = 0; j < na; j++)
                p[a[j].label] = a[j].p;
            /* each label's p, before any asked for all of them */
            for (uint32_t l = 0; l < info.labels; l++) {
                double q = cdi_classifier_p(lazy, l);
                assert_memory_equal(&q, &p[l], sizeof q);
                int is_chosen = 0;
                for (size_t j = 0; j < nb; j++)
                    is_chosen |= b[j].label == l;
                lazily += !is_chosen;
            }
            assert_true(cdi_classifier_p(lazy, info.labels) == 0);   /* no such label */
            /* every label's scores, in the full classifier's order */
            cdi_classifier_all(lazy, &all, &nall);
            assert_int_equal(nall, na);
            for (size_t j = 0; j < na; j++)
                assert_same_score(&all[j], &a[j]);
            /* once more: the same, and each p now read from them */
            cdi_classifier_all(lazy, &all, &nall);
            assert_int_equal(nall, na);
            for (size_t j = 0; j < na; j++)
                assert_same_score(&all[j], &a[j]);
            for (uint32_t l = 0; l < info.labels; l++) {
                double q = cdi_classifier_p(lazy, l);
                assert_memory_equal(&q, &p[l], sizeof q);
            }
            /* the chosen labels given are still there, unchanged */
            for (size_t j = 0; j < nb; j++)
                assert_same_score(&b[j], &chosen[j]);
            free(p);
            free(chosen);
            free(text);
            cd_story_clear(&s);
        }
        cd_classifier_free(full);
        cd_classifier_free(lazy);
        cd_model_close(m);
    }
    assert_true(lazily > 0);
    free(nearest);
    scratch_remove(dir);
}

static char *dir;
static char reuters[PATH_MAX], bbc[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    dir = scratch_dir();
    if (!dir || !realpath("models/reuters.cdm", reuters) || !realpath("models/bbc.cdm", bbc))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scratch_remove(dir);
    return 0;
}

/* The desk an editor writes: a taxonomy that reads one Reuters label, and
 * rules that read others, for stories where the model chooses them and
 * where it does not.  Every value read is tagged as hexadecimal (%a: the
 * exact bits). */
static cd_desk *editors_desk(const char *name)
{
    char text[16384];
    snprintf(text, sizeof text,
             "model(\"sections\", \"%s\")\n"
             "model(\"topics\", \"%s\")\n"
             "taxonomy {\n"
             "  { id = \"trade\", name = \"Trade\", labels = { \"topics:trade\" } },\n"
             "}\n"
             "destination \"grain-desk\" { folder = \"%s/out/grain\" }\n"
             "destination \"review\" { folder = \"%s/out/review\" }\n"
             "\n"
             "rule(\"note the grain and wheat probabilities\", function(story)\n"
             "  story:tag(string.format(\"topics:grain=%%a\", story:prob(\"topics:grain\")))\n"
             "  story:tag(string.format(\"wheat=%%a\", story:prob(\"wheat\")))\n"
             "  story:tag(string.format(\"sections:tech=%%a\", story:prob(\"sections:tech\")))\n"
             "end)\n"
             "\n"
             "rule(\"note every topic\", function(story)\n"
             "  for _, l in ipairs(story:labels(\"topics\", 0)) do\n"
             "    story:tag(string.format(\"all:%%s=%%a\", l.label, l.p))\n"
             "  end\n"
             "  local best, p = story:label(\"topics\")\n"
             "  story:tag(string.format(\"best:%%s=%%a\", best, p))\n"
             "  local section, q = story:label(\"sections\")\n"
             "  story:tag(string.format(\"section:%%s=%%a\", section, q))\n"
             "end)\n"
             "\n"
             "rule(\"grain stories go to the grain desk\", function(story)\n"
             "  if story:prob(\"topics:grain\") >= 0.5 then\n"
             "    return \"grain-desk\"\n"
             "  end\n"
             "end)\n"
             "\n"
             "fallback \"review\"\n",
             bbc, reuters, dir, dir);
    char sub[PATH_MAX + 64];
    snprintf(sub, sizeof sub, "%s/%s", dir, name);
    if (mkdir(sub, 0700))
        return NULL;
    return load_desk(sub, text);
}

/* The tag "prefix" "label" "=" p as the rules write it. */
static void want_tag(const cd_desk *d, const char *prefix, const char *label, double p)
{
    char want[256];
    snprintf(want, sizeof want, "%s%s=%a", prefix, label, p);
    for (size_t i = 0; i < d->cur.tags.n; i++)
        if (!strcmp(d->cur.tags.v[i], want))
            return;
    fail_msg("no tag %s", want);
}

/* Where the model's p of label is to be found among its scores. */
static double p_of(const cd_label_score *sc, size_t n, uint32_t label)
{
    for (size_t i = 0; i < n; i++)
        if (sc[i].label == label)
            return sc[i].p;
    fail_msg("label %u not scored", label);
    return -1;
}

/* Rules read labels the desk did not compute for the story (most stories
 * choose neither grain nor wheat, nor every one of the 90 labels) and get
 * what the models give on their own, to the bit; a grain story goes to
 * the grain desk.  The same under a desk that shares the first one's
 * results, as copydesk diff has it. */
static void rules_read_labels_not_computed(void **state)
{
    (void)state;
    cd_desk *d = editors_desk("alone"), *other = editors_desk("shares");
    assert_non_null(d);
    assert_non_null(other);
    assert_int_equal(cd_desk_share(other, d, NULL), 2);
    cd_model *ms[2];
    cd_classifier *cs[2];
    cd_error err;
    const char *paths[2] = { bbc, reuters };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(cd_model_open(paths[i], &ms[i], &err), CD_OK);
        assert_int_equal(cd_classifier_new(ms[i], &cs[i], &err), CD_OK);
        cd_classifier_set_order(cs[i], 1);
    }
    int64_t grain = cd_model_find_label(ms[1], "grain"), wheat = cd_model_find_label(ms[1], "wheat");
    int64_t tech = cd_model_find_label(ms[0], "tech");
    assert_true(grain >= 0 && wheat >= 0 && tech >= 0);
    size_t grain_lazy = 0, to_grain = 0;
    for (size_t i = 0; i < NFILES + NTEXTS; i++) {
        cd_story s;
        story_at(i, &s);
        size_t len;
        char *text = cd_story_text(&s, &len);
        assert_non_null(text);
        const cd_label_score *sc[2];
        size_t n[2];
        for (size_t k = 0; k < 2; k++)
            assert_int_equal(cd_classify(cs[k], text, len, &sc[k], &n[k], &err), CD_OK);
        for (size_t w = 0; w < 2; w++) {
            cd_desk *desk = w ? other : d;
            cd_decision dec;
            assert_int_equal(cd_desk_route(desk, &s, 1, &dec, &err), CD_OK);
            /* what the desk computed for every story: the chosen labels */
            const desk_model *topics = &desk->models[1];
            int grain_chosen = 0;
            for (size_t j = 0; j < topics->nscores; j++)
                grain_chosen |= topics->scores[j].label == (uint32_t)grain;
            grain_lazy += !grain_chosen;
            assert_true(topics->nscores < n[1]);
            double pg = p_of(sc[1], n[1], (uint32_t)grain);
            want_tag(desk, "", "topics:grain", pg);
            want_tag(desk, "", "wheat", p_of(sc[1], n[1], (uint32_t)wheat));
            want_tag(desk, "", "sections:tech", p_of(sc[0], n[0], (uint32_t)tech));
            for (size_t j = 0; j < n[1]; j++)
                want_tag(desk, "all:", cd_model_label(ms[1], sc[1][j].label), sc[1][j].p);
            want_tag(desk, "best:", cd_model_label(ms[1], sc[1][0].label), sc[1][0].p);
            want_tag(desk, "section:", cd_model_label(ms[0], sc[0][0].label), sc[0][0].p);
            assert_int_equal(desk->cur.tags.n, 3 + n[1] + 2);
            assert_int_equal(dec.nroute, 1);
            assert_string_equal(dec.route[0], pg >= 0.5 ? "grain-desk" : "review");
            to_grain += pg >= 0.5;
        }
        free(text);
        cd_story_clear(&s);
    }
    assert_true(grain_lazy > 0);   /* grain read where the desk had not computed it */
    assert_true(to_grain > 0);     /* and where it had: reuters-14828 is about grain */
    for (size_t i = 0; i < 2; i++) {
        cd_classifier_free(cs[i]);
        cd_model_close(ms[i]);
    }
    cd_desk_free(other);
    cd_desk_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_p_is_the_eager_p),
        cmocka_unit_test(rules_read_labels_not_computed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
