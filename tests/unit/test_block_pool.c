/*
 * test_block_pool.c - the Lua state's pool of small blocks: freed blocks
 * come back for the next request of their size (so a steady state carves
 * nothing new), a block keeps its bytes when it moves, and a pool that is
 * full or has no region passes requests to malloc (the debug build's ASan
 * reports any block lost or freed twice on the way).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lua/block_pool.h"

/* What a desk's rules do for every story, over and over: blocks of mixed
 * sizes made, some grown, all freed. */
static void one_round(cdi_block_pool *p)
{
    void *b[40];
    size_t n[40];
    for (size_t i = 0; i < 40; i++) {
        n[i] = 1 + (i * 37) % CDI_POOL_MAX_BLOCK;
        b[i] = cdi_block_pool_realloc(p, NULL, 0, n[i]);
        assert_non_null(b[i]);
        memset(b[i], (int)i, n[i]);
    }
    for (size_t i = 0; i < 40; i += 3) {   /* some grow, as a table's slots do */
        size_t m = n[i] * 2;
        b[i] = cdi_block_pool_realloc(p, b[i], n[i], m);
        assert_non_null(b[i]);
        for (size_t k = 0; k < n[i]; k++)
            assert_int_equal(((unsigned char *)b[i])[k], i);
        memset(b[i], (int)i, m);
        n[i] = m;
    }
    for (size_t i = 0; i < 40; i++)
        cdi_block_pool_release(p, b[i], n[i]);
}

static void steady_state_carves_nothing(void **state)
{
    (void)state;
    cdi_block_pool *p = cdi_block_pool_new((size_t)1 << 20);
    assert_non_null(p);
    one_round(p);
    size_t carved = cdi_block_pool_carved(p);
    assert_true(carved > 0);
    for (int r = 0; r < 1000; r++)
        one_round(p);
    assert_int_equal(cdi_block_pool_carved(p), carved);
    cdi_block_pool_free(p);
}

static void freed_block_is_handed_out_again(void **state)
{
    (void)state;
    cdi_block_pool *p = cdi_block_pool_new(4096);
    void *a = cdi_block_pool_realloc(p, NULL, 0, 40);
    void *b = cdi_block_pool_realloc(p, NULL, 0, 40);
    assert_ptr_not_equal(a, b);
    cdi_block_pool_release(p, a, 40);
    /* the same size class (33-48 bytes) takes it back; another does not */
    void *c = cdi_block_pool_realloc(p, NULL, 0, 100);
    assert_ptr_not_equal(c, a);
    void *d = cdi_block_pool_realloc(p, NULL, 0, 33);
    assert_ptr_equal(d, a);
    cdi_block_pool_release(p, b, 40);
    cdi_block_pool_release(p, c, 100);
    cdi_block_pool_release(p, d, 33);
    cdi_block_pool_free(p);
}

static void a_block_keeps_its_bytes_when_it_moves(void **state)
{
    (void)state;
    cdi_block_pool *p = cdi_block_pool_new(4096);
    char *s = cdi_block_pool_realloc(p, NULL, 0, 20);
    memcpy(s, "nineteen characters", 20);
    /* within its class: the same block */
    assert_ptr_equal(cdi_block_pool_realloc(p, s, 20, 32), s);
    /* to a larger class, then past the pool's largest (malloc's), and
     * back down: the bytes follow */
    s = cdi_block_pool_realloc(p, s, 32, 200);
    assert_string_equal(s, "nineteen characters");
    s = cdi_block_pool_realloc(p, s, 200, 5000);
    assert_string_equal(s, "nineteen characters");
    s = cdi_block_pool_realloc(p, s, 5000, 24);
    assert_string_equal(s, "nineteen characters");
    cdi_block_pool_release(p, s, 24);
    cdi_block_pool_free(p);
}

static void a_full_pool_passes_to_malloc(void **state)
{
    (void)state;
    cdi_block_pool *p = cdi_block_pool_new(4096);
    void *b[100];
    for (int i = 0; i < 100; i++) {   /* 100 x 256 bytes: six times the region */
        b[i] = cdi_block_pool_realloc(p, NULL, 0, 256);
        assert_non_null(b[i]);
        memset(b[i], i, 256);
    }
    assert_true(cdi_block_pool_carved(p) <= 4096);
    for (int i = 0; i < 100; i++)
        cdi_block_pool_release(p, b[i], 256);
    cdi_block_pool_free(p);

    p = cdi_block_pool_new(0);   /* no region at all */
    void *x = cdi_block_pool_realloc(p, NULL, 0, 16);
    assert_non_null(x);
    assert_int_equal(cdi_block_pool_carved(p), 0);
    cdi_block_pool_release(p, x, 16);
    cdi_block_pool_release(p, NULL, 0);
    cdi_block_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steady_state_carves_nothing),
        cmocka_unit_test(freed_block_is_handed_out_again),
        cmocka_unit_test(a_block_keeps_its_bytes_when_it_moves),
        cmocka_unit_test(a_full_pool_passes_to_malloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
