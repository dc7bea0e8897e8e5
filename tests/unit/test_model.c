/*
 * test_model.c - the model file: a round trip keeps everything, and a
 * truncated, corrupted, foreign or future file is refused with a clear
 * message, never read past its end (run under ASan and valgrind).
 * Training further from a model adds to its counts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "copydesk.h"
#include "model/model_internal.h"
#include "support.h"

typedef struct sample { const char *text; const char *label; } sample;

static const sample first[] = {
    { "Tariffs on steel imports rise as the trade dispute deepens", "trade" },
    { "Exporters fear the trade rift and new tariffs", "trade" },
    { "The striker scored twice and the club won the cup", "sport" },
    { "Élysée talks: the coach praised the team after the match", "sport" },
    { "Import quotas and an embargo hit trade talks", "trade" },
    { "The goalkeeper saved a penalty in the final", "sport" },
};

static const sample second[] = {
    { "Trade deficit narrows as exports grow", "trade" },
    { "A late goal sends the team into the final", "sport" },
    { "Lawmakers debate the budget bill", "politics" },
};

static void train(cd_trainer *t, const sample *s, size_t n)
{
    cd_error err;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cd_trainer_add(t, s[i].text, strlen(s[i].text), &s[i].label, 1, &err), CD_OK);
}

static char *save(cd_trainer *t, const char *dir, const char *name)
{
    char *path = malloc(4096);
    cd_error err;
    snprintf(path, 4096, "%s/%s", dir, name);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    return path;
}

static char *first_model(const char *dir)
{
    cd_tok_opts tok;
    cd_tok_opts_default(&tok);
    tok.bigrams = 1;
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(&tok, NULL, &t, &err), CD_OK);
    train(t, first, sizeof first / sizeof first[0]);
    char *path = save(t, dir, "first.cdm");
    cd_trainer_free(t);
    return path;
}

/* A fixture: the first model saved in a scratch folder, and its bytes. */
typedef struct saved {
    char *dir, *path, *bytes;
    size_t len;
} saved;

static int saved_setup(void **state)
{
    saved *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = scratch_dir()))
        return -1;
    s->path = first_model(s->dir);
    s->bytes = slurp(s->path, &s->len);
    *state = s;
    return s->bytes ? 0 : -1;
}

static int saved_teardown(void **state)
{
    saved *s = *state;
    free(s->bytes);
    free(s->path);
    scratch_remove(s->dir);
    free(s);
    return 0;
}

/* The name of the most probable label of text. */
static const char *best_label(const cd_model *m, const char *text)
{
    cd_classifier *c;
    cd_error err;
    const cd_label_score *sc;
    size_t n;
    assert_int_equal(cd_classifier_new(m, &c, &err), CD_OK);
    assert_int_equal(cd_classify(c, text, strlen(text), &sc, &n, &err), CD_OK);
    const char *name = cd_model_label(m, sc[0].label);
    cd_classifier_free(c);
    return name;
}

static void round_trip(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char *path = first_model(dir);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    cd_model_info info;
    cd_model_get_info(m, &info);
    assert_int_equal(info.labels, 2);
    assert_int_equal(info.docs, 6);
    assert_true(info.tok.bigrams);
    assert_int_equal(info.tok.min_len, 2);
    assert_int_equal(info.nb.kind, CD_NB_MULTINOMIAL);  /* kind auto, single-label data */
    assert_false(info.multilabel);
    assert_true(info.terms > 20);
    assert_string_equal(cd_model_label(m, 0), "trade");
    assert_string_equal(cd_model_label(m, 1), "sport");
    assert_int_equal(cd_model_find_label(m, "sport"), 1);
    assert_int_equal(cd_model_find_label(m, "weather"), -1);
    assert_int_equal(cd_model_label_docs(m, 0), 3);

    assert_string_equal(best_label(m, "New tariffs threaten trade"), "trade");
    assert_string_equal(best_label(m, "the team won the final match"), "sport");

    /* the same bytes through the buffer loader give the same model */
    size_t len;
    char *bytes = slurp(path, &len);
    cd_model *m2;
    assert_int_equal(cd_model_open_buffer(bytes, len, &m2, &err), CD_OK);
    cd_model_info info2;
    cd_model_get_info(m2, &info2);
    assert_int_equal(info2.terms, info.terms);
    cd_model_close(m2);
    free(bytes);
    cd_model_close(m);
    free(path);
    scratch_remove(dir);
}

static void truncated_at_every_length(void **state)
{
    saved *s = *state;
    const char *bytes = s->bytes;
    size_t len = s->len;
    for (size_t cut = 0; cut < len; cut++) {
        /* an exact-size heap copy, so that ASan sees any read past the end */
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, bytes, cut);
        cd_model *m = NULL;
        cd_error err;
        cd_status st = cd_model_open_buffer(copy, cut, &m, &err);
        assert_int_not_equal(st, CD_OK);
        assert_null(m);
        assert_true(strlen(err.msg) > 0);
        if (cut >= 40)
            assert_non_null(strstr(err.msg, "truncated"));
        free(copy);
    }
    /* and through the file loader */
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%s/cut.cdm", s->dir);
    assert_int_equal(spit(tpath, bytes, len / 2), 0);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(tpath, &m, &err), CD_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "cut.cdm"));
    assert_non_null(strstr(err.msg, "truncated"));
}

static void every_flipped_byte_is_caught(void **state)
{
    saved *s = *state;
    char *bytes = s->bytes;
    size_t len = s->len;
    for (size_t i = 0; i < len; i++) {
        bytes[i] ^= 0x5A;
        cd_model *m = NULL;
        cd_error err;
        assert_int_not_equal(cd_model_open_buffer(bytes, len, &m, &err), CD_OK);
        assert_null(m);
        bytes[i] ^= 0x5A;
    }
}

static void checksum_mismatch_is_named(void **state)
{
    saved *s = *state;
    s->bytes[s->len - 1] ^= 1;
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open_buffer(s->bytes, s->len, &m, &err), CD_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "checksum"));
}

static void foreign_and_future_files(void **state)
{
    saved *s = *state;
    const char *dir = s->dir;
    cd_model *m;
    cd_error err;
    const char *text = "{\"id\": \"not a model\"}\n";
    assert_int_equal(cd_model_open_buffer(text, strlen(text), &m, &err), CD_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not a copydesk model"));

    char epath[4096];
    snprintf(epath, sizeof epath, "%s/empty.cdm", dir);
    assert_int_equal(spit(epath, "", 0), 0);
    assert_int_equal(cd_model_open(epath, &m, &err), CD_ERR_FORMAT);
    snprintf(epath, sizeof epath, "%s/missing.cdm", dir);
    assert_int_equal(cd_model_open(epath, &m, &err), CD_ERR_IO);
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(cd_model_open(dir, &m, &err), CD_ERR_FORMAT);

    uint32_t v = 99;
    memcpy(s->bytes + 8, &v, 4);  /* the format version */
    assert_int_equal(cd_model_open_buffer(s->bytes, s->len, &m, &err), CD_ERR_VERSION);
    assert_non_null(strstr(err.msg, "version 99"));
}

static void incremental_training_adds_counts(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char *path = first_model(dir);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    cd_trainer *t;
    assert_int_equal(cd_trainer_from_model(m, &t, &err), CD_OK);
    cd_model_close(m);
    train(t, second, sizeof second / sizeof second[0]);
    char *more = save(t, dir, "more.cdm");
    cd_trainer_free(t);

    /* the same stories trained at once, with the same settings */
    cd_tok_opts tok;
    cd_tok_opts_default(&tok);
    tok.bigrams = 1;
    assert_int_equal(cd_trainer_new(&tok, NULL, &t, &err), CD_OK);
    train(t, first, sizeof first / sizeof first[0]);
    train(t, second, sizeof second / sizeof second[0]);
    char *once = save(t, dir, "once.cdm");
    cd_trainer_free(t);

    cd_model *a, *b;
    assert_int_equal(cd_model_open(more, &a, &err), CD_OK);
    assert_int_equal(cd_model_open(once, &b, &err), CD_OK);
    cd_model_info ia, ib;
    cd_model_get_info(a, &ia);
    cd_model_get_info(b, &ib);
    assert_int_equal(ia.docs, 9);
    assert_int_equal(ia.docs, ib.docs);
    assert_int_equal(ia.terms, ib.terms);
    assert_int_equal(ia.labels, 3);
    assert_true(ia.tok.bigrams);  /* the model's settings carried over */
    for (uint32_t c = 0; c < ia.labels; c++) {
        const char *name = cd_model_label(a, c);
        assert_int_equal(cd_model_label_docs(a, c),
                         cd_model_label_docs(b, (uint32_t)cd_model_find_label(b, name)));
    }
    /* the new label is learnt */
    assert_string_equal(best_label(a, "lawmakers vote on the budget bill"), "politics");
    cd_model_close(a);
    cd_model_close(b);
    free(more);
    free(once);
    free(path);
    scratch_remove(dir);
}

static void multilabel_thresholds(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(NULL, NULL, &t, &err), CD_OK);
    assert_int_equal(add_oil_shipping(t, NULL), CD_OK);
    char *path = save(t, dir, "multi.cdm");
    cd_trainer_free(t);
    cd_model *m;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    cd_model_info info;
    cd_model_get_info(m, &info);
    assert_true(info.multilabel);
    /* kind auto chose complement naive Bayes, refined, for multi-label data */
    assert_int_equal(info.nb.kind, CD_NB_COMPLEMENT);
    assert_true(info.refined);
    assert_true(info.nb.log_tf && info.nb.idf && info.nb.length_norm);
    cd_classifier *c;
    const cd_label_score *sc;
    size_t n;
    assert_int_equal(cd_classifier_new(m, &c, &err), CD_OK);
    const char *text = "crude oil tanker vessels barrels port";
    assert_int_equal(cd_classify(c, text, strlen(text), &sc, &n, &err), CD_OK);
    assert_true(sc[0].chosen && sc[1].chosen);
    text = "opec output crude prices";
    assert_int_equal(cd_classify(c, text, strlen(text), &sc, &n, &err), CD_OK);
    assert_string_equal(cd_model_label(m, sc[0].label), "oil");
    assert_true(sc[0].chosen);
    assert_false(sc[1].chosen);
    cd_classifier_free(c);

    /* training further: the model kept its stories, so the correction is
     * refined like the rest, and counted as a correction */
    assert_int_equal(cd_trainer_from_model(m, &t, &err), CD_OK);
    text = "crude oil barrels opec";
    const char *oil[] = { "oil" };
    assert_int_equal(cd_trainer_add(t, text, strlen(text), oil, 1, &err), CD_OK);
    char *more = save(t, dir, "more.cdm");
    cd_trainer_free(t);
    cd_model *m2;
    assert_int_equal(cd_model_open(more, &m2, &err), CD_OK);
    cd_model_get_info(m2, &info);
    assert_true(info.refined);
    assert_int_equal(info.docs, 31);
    assert_int_equal(info.stories_kept, 31);
    assert_int_equal(info.corrections, 1);
    assert_string_equal(best_label(m2, "opec output crude prices"), "oil");
    cd_model_close(m2);
    free(more);
    cd_model_close(m);
    free(path);
    scratch_remove(dir);
}

/* A multi-label model trained on one thread and on every core: the same
 * bytes (tokenizing, refinement, calibration and kind auto's folds run on
 * the cores, each label's fit its own).  Twelve labels, so that the cores
 * share them and finish in different orders. */
static char *train_threads(const char *dir, const char *name, const char *threads, int refine)
{
    if (threads)
        setenv("COPYDESK_TRAIN_THREADS", threads, 1);
    else
        unsetenv("COPYDESK_TRAIN_THREADS");
    static const char *words[] = { "oil", "ship", "grain", "wheat", "gold", "bank",
                                   "rates", "trade", "coffee", "sugar", "steel", "jobs" };
    enum { NL = sizeof words / sizeof words[0] };
    cd_trainer *t;
    cd_error err;
    cd_nb_opts nb;
    cd_nb_opts_default(&nb);
    if (refine) {   /* refinement asked for: kind auto weighs nothing against it */
        nb.refine = 60;
        nb.pinned |= CD_NB_PIN_REFINE;
    }
    assert_int_equal(cd_trainer_new(NULL, &nb, &t, &err), CD_OK);
    uint32_t x = 12345;
    int replaced_in_all = 0;
    /* 600 stories: more than one batch of tokenizing (PENDING_STORIES);
     * the last 50 replace stories of the first batch */
    for (int i = 0; i < 600; i++) {
        char text[512], id[32];
        size_t at = 0;
        const char *labels[2];
        x = x * 1103515245u + 12345u;
        int a = (int)((x >> 16) % NL), b = (a + 1 + (int)((x >> 8) % (NL - 1))) % NL;
        labels[0] = words[a];
        labels[1] = words[b];
        for (int k = 0; k < 14; k++) {
            x = x * 1103515245u + 12345u;
            int w = k < 4 ? a : k < 6 ? b : (int)((x >> 16) % NL);
            at += (size_t)snprintf(text + at, sizeof text - at, "%s%u ", words[w], (x >> 20) % 7);
        }
        snprintf(id, sizeof id, "s%d", i % 550);
        int replaced = -1;
        assert_int_equal(cd_trainer_add_story(t, id, text, at, labels, i % 3 ? 1 : 2, CD_ADD_NEW_LABELS,
                                              &replaced, &err), CD_OK);
        assert_int_equal(replaced, i >= 550);
        replaced_in_all += replaced;
    }
    assert_int_equal(replaced_in_all, 50);
    assert_int_equal(cd_trainer_docs(t), 600);
    char *path = save(t, dir, name);
    cd_trainer_free(t);
    unsetenv("COPYDESK_TRAIN_THREADS");
    return path;
}

static void same_bytes(const char *dir, int refine)
{
    char *one = train_threads(dir, "one.cdm", "1", refine), *all = train_threads(dir, "all.cdm", NULL, refine);
    size_t n1, n2;
    char *a = slurp(one, &n1), *b = slurp(all, &n2);
    assert_non_null(a);
    assert_non_null(b);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(all, &m, &err), CD_OK);
    cd_model_info info;
    cd_model_get_info(m, &info);
    assert_true(info.multilabel);
    if (refine)
        assert_true(info.refined);
    assert_int_equal(info.labels, 12);
    assert_int_equal(info.docs, 550);   /* the replaced stories left */
    cd_model_close(m);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    free(one);
    free(all);
}

static void same_model_on_any_thread_count(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    same_bytes(dir, 0);   /* kind auto: the settings weighed on the folds */
    same_bytes(dir, 1);   /* refined */
    scratch_remove(dir);
}

/* The shipped 90-label Reuters model (tests run from the repository). */
static cd_model *shipped_reuters(void)
{
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open("models/reuters.cdm", &m, &err), CD_OK);
    return m;
}

/* Terms are stored most frequent first (for cache locality when
 * classifying), and every one of them is still found by its name. */
static void terms_most_frequent_first(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char *path = first_model(dir);
    cd_model *m;
    cd_error err;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    const nb_view *v = &m->view;
    assert_true(v->nterms > 20);
    /* "trade" is in 3 of the 6 stories, more than any other word */
    size_t len;
    const char *top = cdi_model_term(m, 0, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(top, "trade", 5);
    for (uint32_t t = 0; t < v->nterms; t++) {
        if (t > 0)
            assert_true(v->terms[t - 1].df >= v->terms[t].df);
        const char *name = cdi_model_term(m, t, &len);
        assert_int_equal(cdi_model_lookup(m, name, len), t);
    }
    assert_int_equal(cdi_model_lookup(m, "nowhere", 7), -1);
    cd_model_close(m);
    free(path);
    scratch_remove(dir);
}

/* With cd_classifier_set_order(c, top) the scores hold the same entries
 * as a full sort; the top first ones are the full sort's; every chosen
 * label comes in the sorted head, in the full sort's order; the others
 * follow in label order.  On the shipped 90-label Reuters model. */
static void partial_order_keeps_what_callers_read(void **state)
{
    (void)state;
    cd_error err;
    cd_model *m = shipped_reuters();
    const char *files[] = { "tests/samples/reuters-14826.json", "tests/samples/reuters-14828.json",
                            "tests/samples/reuters-15244.json", "tests/samples/bbc-sport-005.json" };
    const char *texts[] = { "", "grain wheat corn exports", "the the the",
                            "Profit rose to 12 mln dlrs; net shr 10 cts; oil prices and tariffs" };
    cd_classifier *full, *part;
    assert_int_equal(cd_classifier_new(m, &full, &err), CD_OK);
    assert_int_equal(cd_classifier_new(m, &part, &err), CD_OK);
    for (size_t top = 1; top <= 5; top += 2) {
        cd_classifier_set_order(part, top);
        for (size_t t = 0; t < 8; t++) {
            char *text = t < 4 ? slurp(files[t], NULL) : strdup(texts[t - 4]);
            assert_non_null(text);
            size_t len = strlen(text);
            const cd_label_score *a, *b;
            size_t na, nb;
            assert_int_equal(cd_classify(full, text, len, &a, &na, &err), CD_OK);
            assert_int_equal(cd_classify(part, text, len, &b, &nb, &err), CD_OK);
            assert_int_equal(na, 90);
            assert_int_equal(nb, na);
            for (size_t i = 0; i < top; i++)
                assert_int_equal(b[i].label, a[i].label);
            /* the head: the top, then chosen ones only, sorted */
            size_t head = top;
            for (size_t i = 0; i < nb; i++)
                if (b[i].chosen && i + 1 > head)
                    head = i + 1;
            for (size_t i = 1; i < head; i++)
                assert_true(b[i].p <= b[i - 1].p);
            for (size_t i = top; i < head; i++)
                assert_true(b[i].chosen);
            for (size_t i = head + 1; i < nb; i++)   /* the rest by label */
                assert_true(b[i].label > b[i - 1].label);
            /* same entries; chosen ones in the full sort's order */
            size_t ca = 0, cb = 0;
            for (size_t i = 0; i < na; i++) {
                size_t j = 0;
                while (j < nb && b[j].label != a[i].label)
                    j++;
                assert_true(j < nb);
                assert_true(b[j].p == a[i].p && b[j].chosen == a[i].chosen);
                if (a[i].chosen) {
                    while (cb < nb && !b[cb].chosen)
                        cb++;
                    assert_int_equal(b[cb].label, a[i].label);
                    cb++;
                    ca++;
                }
            }
            assert_true(ca <= nb);   /* a story may get no label: none likely */
            free(text);
        }
    }
    cd_classifier_free(full);
    cd_classifier_free(part);
    cd_model_close(m);
}

/* cd_classifier_only_chosen(c, 1) gives the chosen labels of a full
 * sort, in its order, with the same p to the bit, and nothing else: on
 * the shipped models (90 labels multi-label, 5 labels single-label) and on
 * a multi-label model trained with at_least_one, whose texts that reach
 * no threshold still get their nearest label. */
static void only_chosen_is_the_full_sorts_chosen(void **state)
{
    (void)state;
    cd_error err;
    char *dir = scratch_dir();
    cd_nb_opts nb;
    cd_nb_opts_default(&nb);
    nb.mode = CD_LABELS_MULTI;
    nb.at_least_one = 1;
    cd_trainer *t;
    assert_int_equal(cd_trainer_new(NULL, &nb, &t, &err), CD_OK);
    assert_int_equal(add_oil_shipping(t, NULL), CD_OK);
    char *multi = save(t, dir, "nearest.cdm");
    cd_trainer_free(t);
    const char *paths[] = { "models/reuters.cdm", "models/bbc.cdm", multi };
    const char *files[] = { "tests/samples/reuters-14826.json", "tests/samples/reuters-14828.json",
                            "tests/samples/reuters-14881.json", "tests/samples/bbc-sport-005.json",
                            "tests/samples/bbc-tech-010.json" };
    const char *texts[] = { "", "grain wheat corn exports", "the the the", "crude oil tanker",
                            "opec output crude prices", "football match report",
                            "Profit rose to 12 mln dlrs; net shr 10 cts; oil prices and tariffs" };
    size_t nfiles = sizeof files / sizeof files[0], ntexts = sizeof texts / sizeof texts[0];
    size_t none = 0, fewer = 0;
    for (size_t k = 0; k < 3; k++) {
        cd_model *m;
        assert_int_equal(cd_model_open(paths[k], &m, &err), CD_OK);
        cd_classifier *full, *only;
        assert_int_equal(cd_classifier_new(m, &full, &err), CD_OK);
        assert_int_equal(cd_classifier_new(m, &only, &err), CD_OK);
        cd_classifier_only_chosen(only, 1);
        for (size_t i = 0; i < nfiles + ntexts; i++) {
            char *text = i < nfiles ? slurp(files[i], NULL) : strdup(texts[i - nfiles]);
            assert_non_null(text);
            size_t len = strlen(text);
            const cd_label_score *a, *b;
            size_t na, nb_;
            assert_int_equal(cd_classify(full, text, len, &a, &na, &err), CD_OK);
            assert_int_equal(cd_classify(only, text, len, &b, &nb_, &err), CD_OK);
            size_t j = 0;
            for (size_t x = 0; x < na; x++) {
                if (!a[x].chosen)
                    continue;
                assert_true(j < nb_);
                assert_int_equal(b[j].label, a[x].label);
                assert_memory_equal(&b[j].p, &a[x].p, sizeof a[x].p);
                assert_true(b[j].chosen);
                j++;
            }
            assert_int_equal(j, nb_);
            none += k == 0 && nb_ == 0;
            fewer += nb_ < na;
            if (k > 0)   /* one label at least: single-label, or at_least_one */
                assert_true(nb_ >= 1);
            free(text);
        }
        /* every label again */
        cd_classifier_only_chosen(only, 0);
        const cd_label_score *b;
        size_t nb_;
        assert_int_equal(cd_classify(only, "crude oil", 9, &b, &nb_, &err), CD_OK);
        cd_model_info info;
        cd_model_get_info(m, &info);
        assert_int_equal(nb_, info.labels);
        if (k == 2)   /* the fall-back is taken */
            assert_true(info.multilabel && info.at_least_one);
        cd_classifier_free(full);
        cd_classifier_free(only);
        cd_model_close(m);
    }
    assert_true(none > 0);    /* the Reuters model leaves some texts without a label */
    assert_true(fewer > 0);
    free(multi);
    scratch_remove(dir);
}

/* An open model scores from packed postings and, for its most common
 * terms, dense rows: exactly as the file's own postings score, bit for
 * bit.  Checked on the shipped Reuters model with every term once, and
 * with runs of common and rare terms. */
static void packed_scoring_is_exact(void **state)
{
    (void)state;
    cd_model *m = shipped_reuters();
    const nb_view *v = &m->view;
    assert_true(v->ndense > 100 && v->ndense < v->nterms);   /* both paths are taken */
    assert_non_null(v->fposts);
    nb_view plain = *v;
    plain.fposts = NULL;
    plain.dense = NULL;
    plain.ndense = 0;
    uint32_t L = v->nlabels, n = 400;
    uint32_t *terms = malloc(sizeof *terms * n), *tf = malloc(sizeof *tf * n);
    double *f = malloc(sizeof *f * n), *a = malloc(sizeof *a * L), *b = malloc(sizeof *b * L);
    assert_true(terms && tf && f && a && b);
    for (uint32_t start = 0; start < v->nterms; start += n / 2) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < n / 2 && start + i < v->nterms; i++) {
            terms[k] = start + i;              /* a run of terms */
            tf[k++] = 1 + i % 3;
            terms[k] = (start * 7 + i * 13) % v->ndense;   /* and common ones */
            tf[k++] = 2;
        }
        /* distinct terms only, as a document has them */
        uint32_t d = 0;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t j = 0;
            while (j < d && terms[j] != terms[i])
                j++;
            if (j == d) {
                terms[d] = terms[i];
                tf[d++] = tf[i];
            }
        }
        nb_doc doc = { terms, tf, d };
        nb_score(v, &doc, f, a);
        nb_score(&plain, &doc, f, b);
        assert_memory_equal(a, b, sizeof *a * L);
    }
    free(terms);
    free(tf);
    free(f);
    free(a);
    free(b);
    cd_model_close(m);
}

/* The hot table (common short terms and stop words, built at open) finds
 * what the file's table finds: every term of the shipped Reuters model,
 * short and long, common and rare, by name. */
static void every_term_is_found(void **state)
{
    (void)state;
    cd_model *m = shipped_reuters();
    assert_true(m->view.nterms > 10000);
    for (uint32_t t = 0; t < m->view.nterms; t++) {
        size_t len;
        const char *name = cdi_model_term(m, t, &len);
        assert_int_equal(cdi_model_lookup(m, name, len), t);
    }
    assert_true(m->hot_stops);   /* stop words dropped, no stemming */
    assert_int_equal(cdi_model_lookup(m, "the", 3), -1);
    assert_int_equal(cdi_model_lookup(m, "themselves", 10), -1);
    assert_int_equal(cdi_model_lookup(m, "tariffz", 7), -1);
    cd_model_close(m);
}

/* With stemming a stop word can be a term ("others" -> "other"): then it
 * is looked up like any other, and texts with and without stop words
 * score alike only where the tokenizer says so. */
static void stemmed_stop_words_are_terms(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_tok_opts tok;
    cd_tok_opts_default(&tok);
    tok.stem = 1;
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(&tok, NULL, &t, &err), CD_OK);
    train(t, first, sizeof first / sizeof first[0]);
    const char *lab = "trade";
    const char *text = "The others rose as others fell";
    assert_int_equal(cd_trainer_add(t, text, strlen(text), &lab, 1, &err), CD_OK);
    char *path = save(t, dir, "stem.cdm");
    cd_trainer_free(t);
    cd_model *m;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    assert_false(m->hot_stops);
    assert_true(cdi_model_lookup(m, "other", 5) >= 0);
    cd_model_close(m);
    free(path);
    scratch_remove(dir);
}

/* A classifier that leaves stop words to the hot table scores a text as
 * one that drops them first: the same terms are counted. */
static void stop_words_left_to_the_lookup(void **state)
{
    (void)state;
    cd_error err;
    cd_model *m = shipped_reuters();
    cd_classifier *c;
    assert_int_equal(cd_classifier_new(m, &c, &err), CD_OK);
    const char *with = "The tariffs of the United States and the exports of Japan, they are";
    const char *without = "tariffs United States exports Japan";
    const cd_label_score *a, *b;
    size_t na, nb;
    assert_int_equal(cd_classify(c, with, strlen(with), &a, &na, &err), CD_OK);
    cd_label_score *keep = malloc(sizeof *keep * na);
    assert_non_null(keep);
    memcpy(keep, a, sizeof *keep * na);
    assert_int_equal(cd_classify(c, without, strlen(without), &b, &nb, &err), CD_OK);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(keep[i].label, b[i].label);
        assert_true(keep[i].p == b[i].p);
    }
    free(keep);
    cd_classifier_free(c);
    cd_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(terms_most_frequent_first),
        cmocka_unit_test(partial_order_keeps_what_callers_read),
        cmocka_unit_test(only_chosen_is_the_full_sorts_chosen),
        cmocka_unit_test(packed_scoring_is_exact),
        cmocka_unit_test(every_term_is_found),
        cmocka_unit_test(stemmed_stop_words_are_terms),
        cmocka_unit_test(stop_words_left_to_the_lookup),
        cmocka_unit_test_setup_teardown(truncated_at_every_length, saved_setup, saved_teardown),
        cmocka_unit_test_setup_teardown(every_flipped_byte_is_caught, saved_setup, saved_teardown),
        cmocka_unit_test_setup_teardown(checksum_mismatch_is_named, saved_setup, saved_teardown),
        cmocka_unit_test_setup_teardown(foreign_and_future_files, saved_setup, saved_teardown),
        cmocka_unit_test(incremental_training_adds_counts),
        cmocka_unit_test(multilabel_thresholds),
        cmocka_unit_test(same_model_on_any_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
