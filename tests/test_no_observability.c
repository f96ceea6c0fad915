/* test_no_observability.c - the library built with WP_NO_OBSERVABILITY:
   the observability module compiled away. Its config fields stay declared
   but a config that sets one is refused; pools without them work as
   always (results, callbacks and their timings, batches, stats, the
   formatters), and the figures only the module measures read as never
   measured. */
#define _POSIX_C_SOURCE 200809L
#define WP_NO_OBSERVABILITY
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

static void any_hook(const wp_event *ev, void *user) {
    (void)ev, (void)user;
}

static void test_observability_fields_refused(void) {
    const wp_config refused[] = {
        { .max_workers = 1, .observe.latency = true },
        { .max_workers = 1, .hooks.task_start = any_hook },
        { .max_workers = 1, .hooks.task_end = any_hook },
        { .max_workers = 1, .hooks.error = any_hook },
        { .max_workers = 1, .observe.stall_threshold = WP_MS(10) },
        { .max_workers = 1, .hooks.stall = any_hook },
        { .inline_only = true, .observe.latency = true },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        wp_pool *pool = (wp_pool *)&pool;
        CHECK_STATUS(wp_pool_create(&refused[i], &pool), WP_INVALID);
        CHECK(pool == NULL);
    }
}

static atomic_llong fake_now;

static int64_t fake_clock(void *user) {
    (void)user;
    return (int64_t)atomic_load(&fake_now);
}

static int advance_or_fail(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add(&fake_now, 1000);
    return (int)(intptr_t)arg;
}

static atomic_llong callback_queued;

static void on_done(const wp_result *r) { atomic_store(&callback_queued, (long long)r->queued_ns); }

/* Everything else works, timings of results included; the module's own
   figures read as never measured. */
static void test_pool_without_observability(void) {
    atomic_store(&fake_now, WP_SEC(100));
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .name = "bare", .max_workers = 1,
                                                .queue_capacity = 16, .result_capacity = 64,
                                                .clock = fake_clock }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    wp_job jobs[6];
    for (int i = 0; i < 6; i++)
        jobs[i] = (wp_job){ .fn = advance_or_fail, .arg = (void *)(intptr_t)(i == 3 ? 7 : 0),
                            .id = (uint64_t)i + 1, .on_done = i == 5 ? on_done : NULL };
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, 6, NULL), 6);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 6);
    CHECK_EQ_UINT(s.queue_high_water, 6); /* the snapshot's depth */
    atomic_fetch_add(&fake_now, (long long)WP_MS(2));
    gate_open(&g);
    int failed = 0;
    for (int i = 0; i < 7; i++) {
        wp_result r;
        REQUIRE_STATUS(wp_result_recv(pool, &r, WP_SEC(30)), WP_OK);
        failed += r.status == WP_TASK_FAILED;
        if (r.id > 0) {
            CHECK_EQ_INT(r.queued_ns, WP_MS(2) + ((int64_t)r.id - 1) * 1000);
            CHECK_EQ_INT(r.run_ns, 1000);
        }
    }
    CHECK_EQ_INT(failed, 1);
    CHECK_EQ_INT(atomic_load(&callback_queued), WP_MS(2) + 5000);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.processed, 7);
    CHECK_EQ_UINT(s.failed, 1);
    CHECK_EQ_INT(s.last_error_ns, -1);
    CHECK_EQ_INT(s.last_error_worker, -1);
    CHECK_EQ_INT(s.last_error_code, 0);
    CHECK_EQ_UINT(s.queue_wait.count, 0);
    CHECK_EQ_UINT(s.run_time.count, 0);
    CHECK_EQ_UINT(s.queue_high_water, 0);
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_json(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "\"last_error\":null,") != NULL);
    CHECK(strstr(b, "\"processed\":7,") != NULL);
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "workerpool_jobs_failed_total{pool=\"bare\"} 1\n") != NULL);
    CHECK(strstr(b, "workerpool_run_seconds_count{pool=\"bare\"} 0\n") != NULL);
    REQUIRE_CMP_INT(wp_stats_format_table(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "last error  none\n") != NULL);
    CHECK_EQ_INT(wp_latency_bound(0), 100);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_observability_fields_refused),
    WPT_TEST(test_pool_without_observability),
};
WPT_MAIN(tests)
