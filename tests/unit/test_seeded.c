/*
 * test_seeded.c - EM from keyword seeds (core/model/seeded.c): the
 * bootstrap labels only what the keywords reach, EM labels the rest from
 * the words the seeded documents share with them, shrinkage weights are a
 * distribution whose levels follow the class tree, and a corpus no keyword
 * reaches is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "copydesk.h"
#include "model/seeded.h"

/* Two topics with disjoint vocabularies: terms 0-9 for class 0, 10-19
 * for class 1, and term 20 shared.  Document i of 40 is of class i % 2;
 * only the first two of each class carry a keyword hit. */
static cd_em *two_topics(int parent_node)
{
    int parent[3] = { -1, parent_node, parent_node };
    int class_node[2] = { 1, 2 };
    cd_em *em;
    assert_int_equal(cdi_em_new(3, parent, 2, class_node, &em, NULL), CD_OK);
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t c = i % 2, terms[4], counts[4];
        for (uint32_t k = 0; k < 3; k++) {
            terms[k] = c * 10 + (i * 7 + k * 3) % 10;
            counts[k] = 1 + k;
        }
        terms[3] = 20;
        counts[3] = 2;
        double hits[2] = { 0, 0 };
        if (i < 4)
            hits[c] = 1;
        assert_int_equal(cdi_em_add(em, terms, counts, 4, hits, NULL), CD_OK);
    }
    return em;
}

static void em_labels_what_keywords_missed(void **state)
{
    (void)state;
    cd_em *em = two_topics(0);
    assert_int_equal(cdi_em_run(em, 20, 1e-6, NULL, NULL, NULL), CD_OK);
    assert_int_equal(cdi_em_docs(em), 40);
    assert_int_equal(cdi_em_seeded_docs(em), 4);
    assert_int_equal(cdi_em_reached(em, 0), 2);
    assert_int_equal(cdi_em_won(em, 1), 2);
    for (size_t d = 0; d < 40; d++) {
        double p;
        assert_int_equal(cdi_em_label(em, d, &p), d % 2);
        assert_true(p > 0.5 && p <= 1.0);
    }
    assert_int_equal(cdi_em_assigned(em, 0), 20);
    assert_int_equal(cdi_em_assigned(em, 1), 20);
    size_t n;
    const cd_seeded_step *st = cdi_em_steps(em, &n);
    assert_true(n >= 2);
    assert_true(cdi_em_converged(em));
    for (size_t i = 1; i < n; i++)   /* EM never lowers the likelihood much */
        assert_true(st[i].loglik >= st[i - 1].loglik - 1e-6 * fabs(st[i].loglik));
    assert_int_equal(st[n - 1].changed, 0);
    cdi_em_free(em);
}

static void shrinkage_levels_follow_the_tree(void **state)
{
    (void)state;
    /* under a common parent topic: own, parent, all, uniform */
    cd_em *em = two_topics(0);
    assert_int_equal(cdi_em_run(em, 5, 0, NULL, NULL, NULL), CD_OK);
    size_t n;
    const double *lam = cdi_em_lambda(em, 0, &n);
    assert_int_equal(n, 4);
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
        assert_true(lam[j] >= 0);
        sum += lam[j];
    }
    assert_true(fabs(sum - 1) < 1e-9);
    assert_true(lam[0] > lam[3]);   /* its own words explain it best */
    cdi_em_free(em);
    /* top topics: own, all, uniform */
    em = two_topics(-1);
    assert_int_equal(cdi_em_run(em, 5, 0, NULL, NULL, NULL), CD_OK);
    cdi_em_lambda(em, 1, &n);
    assert_int_equal(n, 3);
    cdi_em_free(em);
}

static void no_seed_is_refused(void **state)
{
    (void)state;
    int parent[1] = { -1 }, class_node[1] = { 0 };
    cd_em *em;
    cd_error err;
    assert_int_equal(cdi_em_new(1, parent, 1, class_node, &em, NULL), CD_OK);
    uint32_t t = 3, c = 1;
    double h = 0;
    assert_int_equal(cdi_em_add(em, &t, &c, 1, &h, NULL), CD_OK);
    assert_int_equal(cdi_em_run(em, 5, 0, NULL, NULL, &err), CD_ERR_ARG);
    assert_non_null(strstr(err.msg, "no story has any keyword"));
    cdi_em_free(em);
    assert_int_equal(cdi_em_new(1, parent, 0, class_node, &em, &err), CD_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(em_labels_what_keywords_missed),
        cmocka_unit_test(shrinkage_levels_follow_the_tree),
        cmocka_unit_test(no_seed_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
