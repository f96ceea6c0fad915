/* Tests of wp_config.take_run: workers that claim runs of short jobs.

   One worker and a paused pool make them deterministic: while the pool is
   paused the worker takes nothing, so the test queues exactly the jobs it
   wants, and on resume the worker sees them all published. It then claims
   half of them (rounded up, at most take_run) in one go; the queue depth
   tells how many it took, and a gate job at the head of the run holds the
   worker while the test looks. The stress variants (tests/test_stress.c)
   check exactly-once delivery with runs under load and close. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

static wp_pool *one_worker_pool(size_t take_run, size_t max_handles) {
    wp_pool *pool = NULL;
    wp_status s = wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                               .take_run = take_run, .max_handles = max_handles },
                                 &pool);
    CHECK_STATUS(s, WP_OK);
    return pool;
}

/* Pauses, queues a gate job and `more` count jobs, resumes, and waits until
   the gate job runs. */
static bool start_gate_then_counts(wp_pool *pool, gate *g, atomic_int *count, int more) {
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    int accepted = wp_submit(pool, gate_job, g) == WP_OK;
    for (int i = 0; i < more; i++)
        accepted += wp_submit(pool, count_job, count) == WP_OK;
    CHECK_EQ_INT(accepted, more + 1);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    bool started = gate_wait_started(g, 1, 10000);
    CHECK(started);
    return started && accepted == more + 1;
}

static void test_take_run_config_limits(void) {
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .take_run = WP_TAKE_RUN_MAX + 1 },
                                &pool), WP_INVALID);
    CHECK(pool == NULL);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .take_run = (size_t)-1 }, &pool),
                 WP_INVALID);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .take_run = WP_TAKE_RUN_MAX },
                                &pool), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_UINT(wp_config_high_throughput().take_run, 8);
    CHECK_EQ_UINT(wp_config_default().take_run, 0);
}

/* The default takes one job per claim: every job behind a running one stays
   in the queue, where any worker can take it. */
static void test_default_takes_one_job_at_a_time(void) {
    wp_pool *pool = one_worker_pool(0, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 5);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 5);
    wp_pool_destroy(pool);
}

/* Six published: the worker claims three (the gate and two count jobs) and
   holds two of them behind the gate; three stay queued. */
static void test_run_claims_half_of_what_is_published(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 3);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&count), 0); /* held behind the gate */
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 5);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 6);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* take_run caps the claim: 40 published, take_run 4, so 36 stay queued. */
static void test_run_is_capped_by_take_run(void) {
    wp_pool *pool = one_worker_pool(4, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 39));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 36);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 39);
    wp_pool_destroy(pool);
}

/* A worker whose jobs turn out long (1 ms each, far above 2 us) goes back
   to taking one job at a time. */
static void test_long_jobs_end_the_runs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    static const int one_ms = 1;
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(wp_submit(pool, sleep_job, (void *)&one_ms), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 5);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 5);
    wp_pool_destroy(pool);
}

/* A pause holds the rest of a run as it holds the queue: nothing held
   starts after wp_pool_pause returned. */
static void test_pause_holds_the_rest_of_a_run(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    gate_open(&g);
    CHECK_EVENTUALLY(atomic_load(&g.finished) == 1, 10000);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&count), 0);
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 3);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 5);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

/* Close with WP_CANCEL reaches held jobs like queued ones. */
static void test_close_cancel_cancels_held_jobs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, true); /* returns once the close cancels */
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 1);
    CHECK_EQ_INT(atomic_load(&count), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 5);
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* Close with WP_DRAIN runs held jobs like queued ones. */
static void test_close_drain_runs_held_jobs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    atomic_int count;
    atomic_init(&count, 0);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    gate_opener opener;
    gate_open_later(&opener, &g, 20);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wpt_thread_join(opener.thread);
    CHECK_EQ_INT(atomic_load(&count), 5);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 6);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* A job that waits (wp_job_wait) for a job held behind it in the same run
   runs the held jobs itself: with one worker, nothing else could. */
typedef struct waiter {
    wp_pool *pool;
    wp_handle target;
    atomic_int status; /* what wp_job_wait answered; -100 = not yet */
} waiter;

static int wait_for_target(void *arg, wp_ctx *ctx) {
    (void)ctx;
    waiter *w = (waiter *)arg;
    atomic_store(&w->status, (int)wp_job_wait(w->pool, w->target, WP_SEC(5), NULL));
    return 0;
}

static void test_wait_in_a_job_runs_its_held_jobs_first(void) {
    wp_pool *pool = one_worker_pool(8, 16);
    REQUIRE(pool);
    waiter w = { pool, { 0, 0 }, 0 };
    atomic_init(&w.status, -100);
    atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    /* A waits for C; A, B and C are the first half of six: one run */
    CHECK_STATUS(wp_submit(pool, wait_for_target, &w), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    wp_handle c;
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &count, .handle = &c }),
                 WP_OK);
    w.target = c;
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(20)), WP_OK);
    CHECK_EQ_INT(atomic_load(&w.status), (int)WP_OK);
    CHECK_CMP_INT(wpt_now_ns() - t0, <, WP_SEC(4));
    CHECK_EQ_INT(atomic_load(&count), 5);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

/* Priorities in use or a rate limit: one job per claim, whatever take_run
   says (priorities keep their exact order; the rate counts starts). */
static void test_no_runs_with_priorities(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &count,
                                                .priority = WP_PRIORITY_LOW }), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE(start_gate_then_counts(pool, &g, &count, 5));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 5);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 6);
    wp_pool_destroy(pool);
}

/* Runs over the wrap of the queue's ring and past positions just below the
   wrap-around of the position counter: every job once, in order (one
   worker). */
typedef struct order_log {
    atomic_int next;
    int seen[512];
} order_log;

typedef struct order_arg {
    order_log *log;
    int index;
} order_arg;

static int log_order(void *arg, wp_ctx *ctx) {
    (void)ctx;
    order_arg *a = (order_arg *)arg;
    a->log->seen[atomic_fetch_add(&a->log->next, 1)] = a->index;
    return 0;
}

static void test_runs_keep_fifo_order_across_wraps(void) {
    wp_pool *pool = one_worker_pool(16, 0);
    REQUIRE(pool);
    wp__queue_seek(wp__pool_queue(pool), SIZE_MAX / 2 - 100);
    static order_log log;
    static order_arg args[512];
    atomic_init(&log.next, 0);
    for (int i = 0; i < 512; i++) {
        args[i] = (order_arg){ &log, i };
        CHECK_STATUS(wp_submit(pool, log_order, &args[i]), WP_OK); /* blocks when full */
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    REQUIRE(atomic_load(&log.next) == 512);
    int out_of_order = 0;
    for (int i = 0; i < 512; i++)
        out_of_order += log.seen[i] != i;
    CHECK_EQ_INT(out_of_order, 0);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_take_run_config_limits),
    WPT_TEST(test_default_takes_one_job_at_a_time),
    WPT_TEST(test_run_claims_half_of_what_is_published),
    WPT_TEST(test_run_is_capped_by_take_run),
    WPT_TEST(test_long_jobs_end_the_runs),
    WPT_TEST(test_pause_holds_the_rest_of_a_run),
    WPT_TEST(test_close_cancel_cancels_held_jobs),
    WPT_TEST(test_close_drain_runs_held_jobs),
    WPT_TEST(test_wait_in_a_job_runs_its_held_jobs_first),
    WPT_TEST(test_no_runs_with_priorities),
    WPT_TEST(test_runs_keep_fifo_order_across_wraps),
};

WPT_MAIN(tests)
