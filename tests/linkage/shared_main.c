/* A program linked against the implementation built as a shared library
   (libworkerpool.so, or workerpool.dll under MinGW): it sees only the
   declarations and calls into the library. */
#define _POSIX_C_SOURCE 200809L
#include "workerpool.h"
#include "wp_test.h"
#include "roundtrip.h"

static void test_pool_through_the_shared_library(void)
{
    CHECK_EQ_INT(roundtrip(1000), 0);
}

static void test_queue_through_the_shared_library(void)
{
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(4, sizeof(int), &q), WP_OK);
    for (int i = 0; i < 4; i++)
        CHECK(wp_queue_try_push(q, &i));
    int extra = 4;
    CHECK(!wp_queue_try_push(q, &extra));
    for (int i = 0; i < 4; i++) {
        int v = -1;
        CHECK(wp_queue_try_pop(q, &v));
        CHECK_EQ_INT(v, i);
    }
    CHECK_EQ_UINT(wp_queue_size(q), 0);
    wp_queue_destroy(q);
}

static void test_status_strings_come_from_the_library(void)
{
    CHECK(strcmp(wp_status_str(WP_OK), "ok") == 0);
    CHECK(strcmp(wp_status_str((wp_status)12345), "unknown status") == 0);
}

static const wpt_test tests[] = {
    WPT_TEST(test_pool_through_the_shared_library),
    WPT_TEST(test_queue_through_the_shared_library),
    WPT_TEST(test_status_strings_come_from_the_library),
};
WPT_MAIN(tests)
