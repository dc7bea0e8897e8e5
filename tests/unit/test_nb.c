/*
 * test_nb.c - the classifier's arithmetic on examples small enough to
 * compute by hand, and the calibration helpers.
 *
 * Two training texts, tokens as the default tokenizer makes them:
 *   "apple apple banana"  label A
 *   "banana cherry"       label B
 * Vocabulary V = 3.  With raw counts and alpha = 1:
 *   theta_A = apple 3/6, banana 2/6, cherry 1/6
 *   theta_B = apple 1/5, banana 2/5, cherry 2/5
 * Text "apple cherry" (two words, so single-label scores are divided by
 * sqrt(2) before the softmax, temperature 1 without calibration folds):
 *   multinomial: log P(A)/P(B) = log((1/2 * 1/6) / (1/5 * 2/5)) = log(25/24)
 *     (equal priors, so they cancel): P(A) = sigmoid(log(25/24) / sqrt 2)
 *   complement:  score_A = -log(1/5) - log(2/5) = log 12.5,
 *                score_B = -log(3/6) - log(1/6) = log 12,
 *     the same gap log(25/24), so the same P(A).
 * Weights are stored as 32-bit floats, so results agree to about 1e-7.
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
#include "model/nb.h"
#include "support.h"

/* Plain counts, no transforms, no calibration folds. */
static void plain_opts(cd_nb_opts *nb, cd_nb_kind kind)
{
    cd_nb_opts_default(nb);
    nb->kind = kind;
    nb->alpha = 1.0;
    nb->alpha_rest = 1.0;
    nb->min_df = 1;
    nb->log_tf = 0;
    nb->idf = 0;
    nb->length_norm = 0;
    nb->weight_norm = 0;
    nb->cv_folds = 0;
}

static cd_model *train_two(cd_nb_kind kind, char *dir)
{
    cd_nb_opts nb;
    plain_opts(&nb, kind);
    cd_trainer *t;
    cd_error err;
    assert_int_equal(cd_trainer_new(NULL, &nb, &t, &err), CD_OK);
    const char *a[] = { "A" }, *b[] = { "B" };
    assert_int_equal(cd_trainer_add(t, "apple apple banana", 18, a, 1, &err), CD_OK);
    assert_int_equal(cd_trainer_add(t, "banana cherry", 13, b, 1, &err), CD_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/two.cdm", dir);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_OK);
    cd_trainer_free(t);
    cd_model *m;
    assert_int_equal(cd_model_open(path, &m, &err), CD_OK);
    return m;
}

static void multinomial_by_hand(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_model *m = train_two(CD_NB_MULTINOMIAL, dir);
    double expect = 1 / (1 + exp(-log(25.0 / 24) / sqrt(2)));
    assert_true(fabs(label_prob(m, "apple cherry", "A") - expect) < 1e-6);
    assert_true(fabs(label_prob(m, "apple cherry", "B") - (1 - expect)) < 1e-6);
    /* unknown words are ignored: same answer */
    assert_true(fabs(label_prob(m, "apple zebra cherry", "A") - expect) < 1e-6);
    cd_model_close(m);
    scratch_remove(dir);
}

static void complement_by_hand(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_model *m = train_two(CD_NB_COMPLEMENT, dir);
    double expect = 1 / (1 + exp(-log(25.0 / 24) / sqrt(2)));
    assert_true(fabs(label_prob(m, "apple cherry", "A") - expect) < 1e-6);
    /* "banana" alone: score_A = -log(2/5), score_B = -log(2/6) -> P(A) = 2.5/5.5 */
    assert_true(fabs(label_prob(m, "banana", "A") - 2.5 / 5.5) < 1e-6);
    cd_model_close(m);
    scratch_remove(dir);
}

static void best_label_always_chosen(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_model *m = train_two(CD_NB_MULTINOMIAL, dir);
    cd_classifier *c;
    cd_error err;
    const cd_label_score *sc;
    size_t n;
    assert_int_equal(cd_classifier_new(m, &c, &err), CD_OK);
    /* nothing known at all: still a best label, probabilities sum to one */
    assert_int_equal(cd_classify(c, "", 0, &sc, &n, &err), CD_OK);
    assert_int_equal(n, 2);
    assert_true(sc[0].chosen);
    assert_false(sc[1].chosen);
    assert_true(fabs(sc[0].p + sc[1].p - 1) < 1e-12);
    assert_true(sc[0].p >= sc[1].p);
    cd_classifier_free(c);
    cd_model_close(m);
    scratch_remove(dir);
}

static void explain_names_the_evidence(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    cd_model *m = train_two(CD_NB_MULTINOMIAL, dir);
    cd_classifier *c;
    cd_error err;
    const cd_label_score *sc;
    size_t n;
    assert_int_equal(cd_classifier_new(m, &c, &err), CD_OK);
    assert_int_equal(cd_classify(c, "apple cherry", 12, &sc, &n, &err), CD_OK);
    cd_token_weight tw[4];
    size_t k = cd_classifier_explain(c, (uint32_t)cd_model_find_label(m, "A"), tw, 4);
    assert_int_equal(k, 1);
    assert_int_equal(tw[0].len, 5);
    assert_memory_equal(tw[0].token, "apple", 5);
    k = cd_classifier_explain(c, (uint32_t)cd_model_find_label(m, "B"), tw, 4);
    assert_int_equal(k, 1);
    assert_memory_equal(tw[0].token, "cherry", 6);
    cd_classifier_free(c);
    cd_model_close(m);
    scratch_remove(dir);
}

static void trainer_refuses_bad_input(void **state)
{
    (void)state;
    cd_trainer *t;
    cd_error err;
    cd_nb_opts nb;
    cd_nb_opts_default(&nb);
    nb.alpha = 0;
    assert_int_equal(cd_trainer_new(NULL, &nb, &t, &err), CD_ERR_ARG);
    assert_non_null(strstr(err.msg, "alpha"));
    assert_int_equal(cd_trainer_new(NULL, NULL, &t, &err), CD_OK);
    assert_int_equal(cd_trainer_add(t, "text", 4, NULL, 0, &err), CD_ERR_ARG);
    const char *many[65];
    for (int i = 0; i < 65; i++)
        many[i] = "same";
    assert_int_equal(cd_trainer_add(t, "text", 4, many, 65, &err), CD_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "at most 64 labels"));
    char *dir = scratch_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/empty.cdm", dir);
    assert_int_equal(cd_trainer_save(t, path, NULL, NULL, &err), CD_ERR_ARG);
    assert_non_null(strstr(err.msg, "no labelled stories"));
    cd_trainer_free(t);
    scratch_remove(dir);
}

static void platt_separates(void **state)
{
    (void)state;
    double s[200];
    uint8_t y[200];
    for (int i = 0; i < 200; i++) {
        s[i] = i * 0.001;          /* tiny scale on purpose */
        y[i] = i >= 150 || i % 10 == 0;
    }
    double a, b;
    assert_int_equal(nb_fit_platt(s, y, 200, &a, &b), 0);
    assert_true(a > 0);
    double lo = 1 / (1 + exp(-(a * s[10] + b))), hi = 1 / (1 + exp(-(a * s[190] + b)));
    assert_true(lo < 0.3);
    assert_true(hi > 0.7);
}

static void threshold_maximizes_f1(void **state)
{
    (void)state;
    /* ranked: 0.9 y, 0.8 y, 0.7 n, 0.6 y, 0.1 n: cutting after 0.6 gives
     * P = 3/4, R = 1, F1 = 6/7, the best; after 0.8 gives F1 = 0.8. */
    double p[] = { 0.1, 0.6, 0.9, 0.7, 0.8 };
    uint8_t y[] = { 0, 1, 1, 0, 1 };
    double f1;
    double t = nb_best_threshold(p, y, 5, &f1);
    assert_true(fabs(f1 - 6.0 / 7) < 1e-12);
    assert_true(t > 0.1 && t <= 0.6);
    uint8_t none[] = { 0, 0, 0, 0, 0 };
    t = nb_best_threshold(p, none, 5, &f1);
    assert_true(t > 1);  /* never chosen */
    assert_true(f1 == 0);
}

static void temperature_fits(void **state)
{
    (void)state;
    /* two labels, the truth scores higher in 9 of 10 rows: tau > 0 */
    double scores[20];
    uint32_t truth[10];
    for (int d = 0; d < 10; d++) {
        truth[d] = 0;
        scores[2 * d] = d == 9 ? 0.0 : 0.01;
        scores[2 * d + 1] = d == 9 ? 0.01 : 0.0;
    }
    double tau = nb_fit_temperature(scores, truth, 10, 2);
    /* maximum likelihood: sigmoid(0.01 tau) = 0.9, tau = 100 ln 9 */
    assert_true(fabs(tau - 100 * log(9)) < 1e-3 * tau);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multinomial_by_hand),
        cmocka_unit_test(complement_by_hand),
        cmocka_unit_test(best_label_always_chosen),
        cmocka_unit_test(explain_names_the_evidence),
        cmocka_unit_test(trainer_refuses_bad_input),
        cmocka_unit_test(platt_separates),
        cmocka_unit_test(threshold_maximizes_f1),
        cmocka_unit_test(temperature_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
