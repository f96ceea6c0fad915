/* Regression tests for the defects an outside review found in 0.2 (issue 15),
   one or more per item, named test_dNN_...; each failed (or hung) on 0.2.
   Items 5, 6, 8 and 10 (observability and stats) live in
   tests/test_observability.c. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
/* A short grace, so that the stall tests take a fraction of a second. */
#define WP_STALL_NS ((int64_t)200000000)
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* 1. Helping has a nesting bound                                           */

static _Thread_local int depth_now;
static atomic_int depth_max;

static void depth_enter(void) {
    int d = ++depth_now;
    int m = atomic_load(&depth_max);
    while (d > m && !atomic_compare_exchange_weak(&depth_max, &m, d))
        ;
}

typedef struct nest_arg {
    wp_pool *pool;
    atomic_int ran;
    bool wait_idle;       /* wait_idle (1 ms) instead of help */
} nest_arg;

static int nesting_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    nest_arg *a = (nest_arg *)arg;
    depth_enter();
    atomic_fetch_add(&a->ran, 1);
    if (a->wait_idle)
        wp_pool_wait_idle(a->pool, WP_MS(1));
    else
        wp_pool_help(a->pool, WP_FOREVER);
    depth_now--;
    return 0;
}

/* Jobs that each help (or wait for idle) from inside: on 0.2 one worker ran
   them all nested on its stack, thousands deep, and crashed. */
static void check_nesting_bounded(bool wait_idle, int jobs) {
    atomic_store(&depth_max, 0);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = (size_t)jobs },
                                  &pool), WP_OK);
    nest_arg a = { .pool = pool, .wait_idle = wait_idle };
    atomic_init(&a.ran, 0);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    for (int i = 0; i < jobs; i++)
        CHECK_STATUS(wp_submit(pool, nesting_job, &a), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(60)), WP_OK);
    CHECK_EQ_INT(atomic_load(&a.ran), jobs);
    CHECK_CMP_INT(atomic_load(&depth_max), <=, WP_NEST_MAX);
    CHECK_CMP_INT(atomic_load(&depth_max), >, 1); /* it did help */
    wpt_note("deepest: %d", atomic_load(&depth_max));
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_d01_help_in_jobs_nests_at_most_wp_nest_max(void) {
    check_nesting_bounded(false, 20000);
}

static void test_d01_wait_idle_in_jobs_nests_at_most_wp_nest_max(void) {
    check_nesting_bounded(true, 300);
}

/* ------------------------------------------------------------------------ */
/* 2. Inline-only pool with a full result channel: calls with a timeout     */
/*    return by it                                                          */

static void check_inline_close_with_full_channel(wp_close_mode mode) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 16,
                                                .result_capacity = 2 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    int64_t t0 = wpt_now_ns();
    wp_status s = wp_pool_close(pool, mode, WP_MS(100));
    int64_t ms = wpt_ms_since(t0);
    CHECK_STATUS(s, WP_FORCED);
    CHECK_CMP_INT(ms, <, 3000);
    /* the receiver gets every outcome: the jobs the close ran, then the
       canceled rest, which it produces itself */
    int got = 0, canceled = 0;
    wp_result r;
    while ((s = wp_result_recv(pool, &r, WP_SEC(5))) == WP_OK) {
        got++;
        canceled += r.status == WP_CANCELED;
    }
    CHECK_STATUS(s, WP_CLOSED);
    CHECK_EQ_INT(got, 6);
    CHECK_EQ_INT(canceled, 6 - atomic_load(&ran));
    CHECK_EQ_INT(atomic_load(&ran), mode == WP_DRAIN ? 2 : 0);
    CHECK_STATS_BALANCE(pool_stats(pool));
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_d02_inline_close_drain_with_full_channel_returns_forced(void) {
    check_inline_close_with_full_channel(WP_DRAIN);
}

static void test_d02_inline_close_cancel_with_full_channel_returns_forced(void) {
    check_inline_close_with_full_channel(WP_CANCEL);
}

static void test_d02_inline_timeout_submit_with_full_channel_times_out(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 2,
                                                .result_capacity = 2, .backpressure = WP_TIMEOUT,
                                                .submit_timeout = WP_MS(100) }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    /* two queued, then two more that run the oldest to make room: the
       channel is full */
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 2);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_TIMED_OUT);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 3000);
    CHECK_CMP_INT(wpt_ms_since(t0), >=, 90);
    wp_result r;
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(5)), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(5)), WP_CLOSED);
    wp_stats st = pool_stats(pool);
    CHECK_EQ_UINT(st.timed_out, 1);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 3. The callback of an evicted job runs inside the pool                   */

static wp_pool *evict_pool;
static atomic_int evict_close_status, evict_idle_status;

static void on_evicted_close(const wp_result *r) {
    if (r->status == WP_EVICTED)
        atomic_store(&evict_close_status, (int)wp_pool_close(evict_pool, WP_DRAIN, WP_SEC(2)));
}

static void on_evicted_wait_idle(const wp_result *r) {
    if (r->status == WP_EVICTED)
        atomic_store(&evict_idle_status, (int)wp_pool_wait_idle(evict_pool, WP_MS(500)));
}

static void check_eviction_callback(wp_done_fn cb, atomic_int *status, wp_status want) {
    atomic_store(status, 100);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 2,
                                                .backpressure = WP_DROP_OLDEST }, &evict_pool),
                   WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit_job(evict_pool, &(wp_job){ .fn = count_job, .arg = &ran, .on_done = cb }),
                 WP_OK);
    CHECK_STATUS(wp_submit(evict_pool, count_job, &ran), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit(evict_pool, count_job, &ran), WP_OK); /* evicts the first */
    CHECK_CMP_INT(wpt_ms_since(t0), <, 400);
    CHECK_STATUS((wp_status)atomic_load(status), want);
    CHECK_STATUS(wp_pool_close(evict_pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    wp_stats st = pool_stats(evict_pool);
    CHECK_EQ_UINT(st.evicted, 1);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(evict_pool), WP_OK);
}

static void test_d03_close_from_an_eviction_callback_would_deadlock(void) {
    check_eviction_callback(on_evicted_close, &evict_close_status, WP_WOULD_DEADLOCK);
}

static void test_d03_wait_idle_from_an_eviction_callback_sets_it_aside(void) {
    /* the only other pending job is the evicted one itself: idle at once */
    check_eviction_callback(on_evicted_wait_idle, &evict_idle_status, WP_OK);
}

/* Eviction x inline-only x a result channel: the evicted job's outcome
   takes a credit like any runner's, so every outcome reaches the channel
   and no later runner waits for room. */
static void test_d03_eviction_in_an_inline_pool_with_a_result_channel(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 2,
                                                .result_capacity = 2,
                                                .backpressure = WP_DROP_OLDEST }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 3; i++) /* the third evicts the first */
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(5)), WP_OK);
    CHECK_STATUS(r.status, WP_EVICTED);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    int ok = 0;
    while (wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK)
        ok += r.status == WP_OK;
    CHECK_EQ_INT(ok, 2);
    CHECK_EQ_INT(atomic_load(&ran), 2);
    wp_stats st = pool_stats(pool);
    CHECK_EQ_UINT(st.evicted, 1);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 4. Jobs waiting for jobs queued behind them, a third worker idle          */

typedef struct cross {
    wp_pool *pool;
    wp_handle x, y;          /* A waits for y, B for x */
    atomic_int count;
    atomic_int status_a, status_b;
} cross;

static int cross_a(void *arg, wp_ctx *ctx) {
    (void)ctx;
    cross *c = (cross *)arg;
    atomic_store(&c->status_a, (int)wp_job_wait(c->pool, c->y, WP_SEC(5), NULL));
    return 0;
}

static int cross_b(void *arg, wp_ctx *ctx) {
    (void)ctx;
    cross *c = (cross *)arg;
    atomic_store(&c->status_b, (int)wp_job_wait(c->pool, c->x, WP_SEC(5), NULL));
    return 0;
}

/* Queued at once: A X B Y Z Z. With 0.2's take_run 2, worker 1 held
   [A X] and worker 2 [B Y]: A waited for Y held behind B, B for X held
   behind A, both until their timeouts, while worker 3 sat idle. Every
   queued job must be reachable by any idle worker. */
static void test_d04_jobs_waiting_for_jobs_queued_behind_them_finish(void) {
    static cross c;
    memset(&c, 0, sizeof c);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 3, .queue_capacity = 64,
                                                .max_handles = 8 }, &c.pool), WP_OK);
    atomic_init(&c.count, 0);
    atomic_init(&c.status_a, 100);
    atomic_init(&c.status_b, 100);
    CHECK_STATUS(wp_pool_pause(c.pool), WP_OK);
    CHECK_STATUS(wp_submit(c.pool, cross_a, &c), WP_OK);
    CHECK_STATUS(wp_submit_job(c.pool, &(wp_job){ .fn = count_job, .arg = &c.count, .handle = &c.x }),
                 WP_OK);
    CHECK_STATUS(wp_submit(c.pool, cross_b, &c), WP_OK);
    CHECK_STATUS(wp_submit_job(c.pool, &(wp_job){ .fn = count_job, .arg = &c.count, .handle = &c.y }),
                 WP_OK);
    for (int i = 0; i < 2; i++)
        CHECK_STATUS(wp_submit(c.pool, count_job, &c.count), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_resume(c.pool), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&c.status_a) != 100 && atomic_load(&c.status_b) != 100, 10000);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 2000);
    CHECK_STATUS((wp_status)atomic_load(&c.status_a), WP_OK);
    CHECK_STATUS((wp_status)atomic_load(&c.status_b), WP_OK);
    CHECK_STATUS(wp_pool_close(c.pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&c.count), 4);
    CHECK_STATUS(wp_pool_destroy(c.pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 7. No job starts after wp_pool_pause has returned                        */

/* The pool's clock, read by a worker while it judges a job with a deadline
   (after taking it, before starting it): a test can hold the worker right
   there while it pauses the pool. */
static atomic_int clock_hold;      /* 1: the next read holds; 2: holding */
static atomic_int clock_release;

static int64_t holding_clock(void *user) {
    (void)user;
    int armed = 1;
    if (atomic_compare_exchange_strong(&clock_hold, &armed, 2))
        while (!atomic_load(&clock_release))
            wpt_sleep_ms(1);
    return wpt_now_ns();
}

static void test_d07_a_job_taken_before_pause_does_not_start_after_it(void) {
    atomic_store(&clock_hold, 0);
    atomic_store(&clock_release, 0);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 4,
                                                .clock = holding_clock }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    atomic_store(&clock_hold, 1);
    /* the submitter reads the clock for the deadline: let it through */
    wp_job job = { .fn = count_job, .arg = &ran, .deadline = WP_SEC(3600) };
    atomic_store(&clock_hold, 0);
    (void)job;
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &job), WP_OK);
    atomic_store(&clock_hold, 1);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    /* the worker took the job and is judging it, held in the clock */
    REQUIRE_EVENTUALLY(atomic_load(&clock_hold) == 2, 10000);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    atomic_store(&clock_release, 1);
    wpt_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&ran), 0); /* held by the pause */
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&ran) == 1, 10000);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 9. wp_job_wait racing wp_job_release on one handle (TSan: no race)       */

typedef struct race {
    wp_pool *pool;
    wp_handle h;
    uint64_t id;
    atomic_int wait_status;
} race;

/* Polls the handle, as a waiter with a short timeout would. */
static void race_waiter(void *p) {
    race *r = (race *)p;
    wp_result out;
    wp_status s;
    while ((s = wp_job_wait(r->pool, r->h, WP_NOWAIT, &out)) == WP_TIMED_OUT)
        ;
    if (s == WP_OK && out.id != r->id)
        s = WP_NOMEM; /* a torn or foreign result */
    atomic_store(&r->wait_status, (int)s);
}

/* On 0.2 the waiter copied the slot's result before it claimed the handle;
   when the release won, the slot's next job wrote that result meanwhile
   (one slot: every job reuses it). ThreadSanitizer flagged the read. */
static void test_d09_job_wait_racing_release_reads_no_reused_slot(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                                .max_handles = 1 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    int rounds = (int)wpt_scaled(400, 50), bad = 0, refused = 0;
    wp_handle next = { 0, 0 };
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .id = 1,
                                                  .handle = &next }), WP_OK);
    for (int i = 0; i < rounds; i++) {
        race r = { .pool = pool, .h = next, .id = (uint64_t)i + 1 };
        atomic_init(&r.wait_status, 100);
        wpt_thread t = wpt_thread_start(race_waiter, &r);
        wp_job_state st = WP_JOB_QUEUED;
        while (wp_job_query(pool, r.h, &st) == WP_OK && st != WP_JOB_DONE)
            ;
        wp_status rel = wp_job_release(pool, r.h);
        /* the next job takes the slot while the waiter may still be in its
           wait (the slot is busy until the winner has freed it) */
        wp_status s;
        while ((s = wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .id = r.id + 1,
                                                   .handle = &next })) == WP_FULL)
            refused++;
        bad += s != WP_OK;
        wpt_thread_join(t);
        wp_status w = (wp_status)atomic_load(&r.wait_status);
        /* exactly one of the two took the handle, and a wait that did got
           its own job's result */
        bad += !((rel == WP_OK && w == WP_INVALID) || (rel == WP_INVALID && w == WP_OK));
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), rounds + 1);
    CHECK_EQ_UINT(pool_stats(pool).rejected, (uint64_t)refused);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 11. Submit everything, then receive: no silent hang                       */

static void check_submit_all_then_receive(bool inline_only) {
    wp_pool *pool = NULL;
    wp_config cfg = { .queue_capacity = 16, .result_capacity = 4 };
    if (inline_only)
        cfg.inline_only = true;
    else
        cfg.max_workers = 2;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    int accepted = 0, stalled = 0;
    int64_t t0 = wpt_now_ns();
    for (int i = 0; i < 200; i++) {
        wp_status s = wp_submit(pool, count_job, &ran);
        accepted += s == WP_OK;
        stalled += s == WP_STALLED;
        if (s != WP_OK && s != WP_STALLED)
            CHECK_STATUS(s, WP_OK);
        if (s == WP_STALLED)
            break;
    }
    CHECK_EQ_INT(stalled, 1);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 5000);
    /* the documented way out: receive (here, everything accepted) */
    int got = 0;
    wp_result r;
    while (got < accepted && wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK)
        got++;
    CHECK_EQ_INT(got, accepted);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    wp_stats st = pool_stats(pool);
    CHECK_EQ_UINT(st.rejected, 1);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_d11_submit_all_then_receive_stalls_with_a_status(void) {
    check_submit_all_then_receive(false);
}

static void test_d11_inline_submit_all_then_receive_stalls_with_a_status(void) {
    check_submit_all_then_receive(true);
}

/* A receiver that is slow, but receives, is no stall. */
typedef struct slow_receiver {
    wp_pool *pool;
    int want;
    atomic_int got;
} slow_receiver;

static void slow_receiver_main(void *p) {
    slow_receiver *sr = (slow_receiver *)p;
    wp_result r;
    while (atomic_load(&sr->got) < sr->want && wp_result_recv(sr->pool, &r, WP_SEC(10)) == WP_OK) {
        atomic_fetch_add(&sr->got, 1);
        wpt_sleep_ms(WP_STALL_NS / 1000000 / 4); /* never waits in recv: results pile up */
    }
}

static void test_d11_a_slow_receiver_is_not_a_stall(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 4,
                                                .result_capacity = 2 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    slow_receiver sr = { .pool = pool, .want = 40 };
    atomic_init(&sr.got, 0);
    wpt_thread t = wpt_thread_start(slow_receiver_main, &sr);
    for (int i = 0; i < sr.want; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wpt_thread_join(t);
    CHECK_EQ_INT(atomic_load(&sr.got), sr.want);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* 12. A submit timeout is never ignored                                    */

static void test_d12_submit_timeout_bounds_a_blocking_submission(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 }, &pool),
                   WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK); /* full */
    gate_opener o;
    gate_open_later(&o, &g, 2000); /* 0.2 blocked until here */
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                .submit_timeout = WP_MS(50) }),
                 WP_TIMED_OUT);
    int64_t ms = wpt_ms_since(t0);
    CHECK_CMP_INT(ms, >=, 45);
    CHECK_CMP_INT(ms, <, 1500);
    wpt_thread_join(o.thread);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    wp_stats st = pool_stats(pool);
    CHECK_EQ_UINT(st.timed_out, 1);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static const wpt_test tests[] = {
    WPT_TEST(test_d01_help_in_jobs_nests_at_most_wp_nest_max),
    WPT_TEST(test_d01_wait_idle_in_jobs_nests_at_most_wp_nest_max),
    WPT_TEST(test_d02_inline_close_drain_with_full_channel_returns_forced),
    WPT_TEST(test_d02_inline_close_cancel_with_full_channel_returns_forced),
    WPT_TEST(test_d02_inline_timeout_submit_with_full_channel_times_out),
    WPT_TEST(test_d03_close_from_an_eviction_callback_would_deadlock),
    WPT_TEST(test_d03_wait_idle_from_an_eviction_callback_sets_it_aside),
    WPT_TEST(test_d03_eviction_in_an_inline_pool_with_a_result_channel),
    WPT_TEST(test_d04_jobs_waiting_for_jobs_queued_behind_them_finish),
    WPT_TEST(test_d07_a_job_taken_before_pause_does_not_start_after_it),
    WPT_TEST(test_d09_job_wait_racing_release_reads_no_reused_slot),
    WPT_TEST(test_d11_submit_all_then_receive_stalls_with_a_status),
    WPT_TEST(test_d11_inline_submit_all_then_receive_stalls_with_a_status),
    WPT_TEST(test_d11_a_slow_receiver_is_not_a_stall),
    WPT_TEST(test_d12_submit_timeout_bounds_a_blocking_submission),
};

WPT_MAIN(tests)
