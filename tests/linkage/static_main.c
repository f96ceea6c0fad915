/* WORKERPOOL_STATIC: two translation units, each with its own static copy of
   the implementation, linked into one program; both copies work, side by
   side and at the same time, and neither exports a symbol. */
#define _POSIX_C_SOURCE 200809L
#include "workerpool.h"
#include "wp_test.h"
#include "static_units.h"

static void test_each_unit_has_its_own_copy(void)
{
    CHECK(unit_a_create() != unit_b_create());
}

static void test_both_copies_run_pools(void)
{
    CHECK_EQ_INT(unit_a_roundtrip(100), 0);
    CHECK_EQ_INT(unit_b_roundtrip(100), 0);
}

static void run_a(void *result) { *(int *)result = unit_a_roundtrip(2000); }
static void run_b(void *result) { *(int *)result = unit_b_roundtrip(2000); }

static void test_both_copies_run_pools_at_once(void)
{
    int ra = -1, rb = -1;
    wpt_thread a = wpt_thread_start(run_a, &ra);
    wpt_thread b = wpt_thread_start(run_b, &rb);
    wpt_thread_join(a);
    wpt_thread_join(b);
    CHECK_EQ_INT(ra, 0);
    CHECK_EQ_INT(rb, 0);
}

static const wpt_test tests[] = {
    WPT_TEST(test_each_unit_has_its_own_copy),
    WPT_TEST(test_both_copies_run_pools),
    WPT_TEST(test_both_copies_run_pools_at_once),
};
WPT_MAIN(tests)
