/* Tests of shutdown: drain, cancel, a close whose timeout runs out while a job
   ignores cancellation, destroy waiting for that job, repeated and concurrent
   closes, and close/destroy called from inside a job. Every accepted job must
   get exactly one outcome on every path. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* A 1-worker pool with a result channel, the worker held by a gate job
   (id 0), and `queued` count jobs (ids 1..queued) waiting behind it; job i
   increments slots[i]. */
typedef struct held_pool {
    wp_pool *pool;
    gate g;
    int queued;
    atomic_int slots[128];
} held_pool;

static bool held_pool_setup(held_pool *h, int queued, bool gate_honors_stop) {
    memset(h, 0, sizeof *h);
    gate_init(&h->g, gate_honors_stop);
    h->queued = queued;
    for (int i = 0; i < 128; i++)
        atomic_init(&h->slots[i], 0);
    wp_config cfg = { .max_workers = 1, .queue_capacity = 128, .result_capacity = 256 };
    wp_status s = wp_pool_create(&cfg, &h->pool);
    CHECK_STATUS(s, WP_OK);
    if (s != WP_OK)
        return false;
    bool ok = wp_submit_job(h->pool, &(wp_job){ .fn = gate_job, .arg = &h->g, .id = 0 }) == WP_OK;
    ok = ok && gate_wait_started(&h->g, 1, 5000);
    for (int i = 1; ok && i <= queued; i++)
        ok = wp_submit_job(h->pool, &(wp_job){ .fn = count_job, .arg = &h->slots[i],
                                                .id = (uint64_t)i }) == WP_OK;
    CHECK(ok);
    if (!ok) {
        gate_open(&h->g);
        wp_pool_destroy(h->pool);
    }
    return ok;
}

static int slots_run(held_pool *h) {
    int n = 0;
    for (int i = 1; i <= h->queued; i++)
        n += atomic_load(&h->slots[i]);
    return n;
}

static void test_drain_runs_queued_and_running_jobs(void) {
    held_pool h;
    if (!held_pool_setup(&h, 5, false))
        return;
    gate_opener opener;
    int64_t start = wpt_now_ns();
    gate_open_later(&opener, &h.g, 50);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(start), >=, 50); /* it waited for the gate job */
    wpt_thread_join(opener.thread);
    for (int i = 1; i <= 5; i++)
        CHECK_EQ_INT(atomic_load(&h.slots[i]), 1);
    result_tally t = drain_results(h.pool, 5000);
    CHECK_EQ_INT(t.total, 6);
    CHECK_EQ_INT(t.ok, 6);
    wp_stats s = pool_stats(h.pool);
    CHECK_EQ_UINT(s.completed, 6);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

static void test_drain_with_enough_time_returns_ok(void) {
    held_pool h;
    if (!held_pool_setup(&h, 3, false))
        return;
    gate_opener opener;
    gate_open_later(&opener, &h.g, 30);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_SEC(20)), WP_OK);
    wpt_thread_join(opener.thread);
    CHECK_EQ_INT(slots_run(&h), 3);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

static void test_cancel_cancels_queued_jobs_and_stops_the_running_one(void) {
    enum { K = 100 };
    held_pool h;
    if (!held_pool_setup(&h, K, true))
        return;
    CHECK_STATUS(wp_pool_close(h.pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&h.g.saw_stop), 1); /* the gate returned because of should_stop */
    CHECK_EQ_INT(slots_run(&h), 0);               /* no queued job ran */
    int seen[K + 1] = { 0 };
    for (int n = 0; n < K + 1; n++) {
        wp_result r;
        REQUIRE_STATUS(wp_result_recv(h.pool, &r, WP_SEC(5)), WP_OK);
        REQUIRE_CMP_UINT(r.id, <=, K);
        seen[r.id]++;
        if (r.id == 0) {
            CHECK_STATUS(r.status, WP_OK); /* its outcome is what it returned */
            CHECK_EQ_PTR(r.arg, &h.g);
        } else {
            CHECK_STATUS(r.status, WP_CANCELED);
            CHECK_EQ_INT(r.code, 0);
            CHECK_EQ_INT(r.run_ns, 0);
            CHECK_EQ_PTR(r.value, NULL);
            CHECK_EQ_PTR(r.arg, &h.slots[r.id]);
            CHECK_CMP_INT(r.queued_ns, >=, 0);
        }
    }
    wp_result r;
    CHECK_STATUS(wp_result_recv(h.pool, &r, WP_SEC(5)), WP_CLOSED);
    int wrong = 0;
    for (int i = 0; i <= K; i++)
        wrong += seen[i] != 1;
    CHECK_EQ_INT(wrong, 0);
    wp_stats s = pool_stats(h.pool);
    CHECK_EQ_UINT(s.submitted, K + 1);
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_EQ_UINT(s.canceled, K);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

static void test_cancel_keeps_the_running_jobs_own_outcome(void) {
    /* a job that stops early and returns an error is reported as failed */
    held_pool h;
    if (!held_pool_setup(&h, 2, true))
        return;
    atomic_store(&h.g.code, 13);
    CHECK_STATUS(wp_pool_close(h.pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    result_tally t = drain_results(h.pool, 5000);
    CHECK_EQ_INT(t.task_failed, 1);
    CHECK_EQ_INT(t.canceled, 2);
    CHECK_EQ_INT(t.total, 3);
    wp_stats s = pool_stats(h.pool);
    CHECK_EQ_UINT(s.failed, 1);
    CHECK_EQ_UINT(s.canceled, 2);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

/* A job that ignores cancellation: it runs until the test opens its gate and
   only notes whether it was asked to stop. */
typedef struct stubborn {
    gate g;
    atomic_int asked_to_stop;
} stubborn;

static int stubborn_job(void *arg, wp_ctx *ctx) {
    stubborn *st = arg;
    atomic_fetch_add(&st->g.started, 1);
    while (!atomic_load(&st->g.open)) {
        if (wp_ctx_should_stop(ctx))
            atomic_store(&st->asked_to_stop, 1);
        wpt_sleep_ms(1);
    }
    atomic_fetch_add(&st->g.finished, 1);
    return 0;
}

static void check_forced_close(wp_close_mode mode) {
    enum { K = 3 };
    stubborn st;
    gate_init(&st.g, false);
    atomic_init(&st.asked_to_stop, 0);
    atomic_int ran[K];
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 16 }, &pool), WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = stubborn_job, .arg = &st, .id = 100 }), WP_OK);
    REQUIRE(gate_wait_started(&st.g, 1, 5000));
    for (int i = 0; i < K; i++) {
        atomic_init(&ran[i], 0);
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran[i], .id = (uint64_t)i }),
                     WP_OK);
    }
    int64_t start = wpt_now_ns();
    CHECK_STATUS(wp_pool_close(pool, mode, WP_MS(50)), WP_FORCED);
    int64_t ms = wpt_ms_since(start);
    CHECK_CMP_INT(ms, >=, 50);
    CHECK_CMP_INT(ms, <, 50 + 1000);
    CHECK_EQ_INT(atomic_load(&st.g.finished), 0); /* returned without waiting for the job */
    CHECK_EVENTUALLY(atomic_load(&st.asked_to_stop) == 1, 5000); /* the close turned into a cancel */
    wp_result r;
    /* the stubborn job's result is still to come: not WP_CLOSED yet */
    wp_status s = wp_result_recv(pool, &r, WP_NOWAIT);
    CHECK(s == WP_TIMED_OUT || (s == WP_OK && r.status == WP_CANCELED));
    gate_open(&st.g);
    /* closing again is harmless and now finds the worker done */
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    result_tally t = drain_results(pool, 5000);
    t.canceled += s == WP_OK; /* the one received above, if any */
    t.total += s == WP_OK;
    CHECK_EQ_INT(t.ok, 1);
    CHECK_EQ_INT(t.canceled, K);
    CHECK_EQ_INT(t.total, K + 1);
    for (int i = 0; i < K; i++)
        CHECK_EQ_INT(atomic_load(&ran[i]), 0);
    wp_stats stats = pool_stats(pool);
    CHECK_EQ_UINT(stats.completed, 1);
    CHECK_EQ_UINT(stats.canceled, K);
    CHECK_STATS_BALANCE(stats);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_drain_timeout_returns_forced_while_a_job_ignores_cancel(void) {
    check_forced_close(WP_DRAIN);
}

static void test_cancel_timeout_returns_forced_while_a_job_ignores_cancel(void) {
    check_forced_close(WP_CANCEL);
}

static void test_destroy_waits_for_a_job_still_running_after_forced_close(void) {
    stubborn st;
    gate_init(&st.g, false);
    atomic_init(&st.asked_to_stop, 0);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool), WP_OK);
    REQUIRE_STATUS(wp_submit(pool, stubborn_job, &st), WP_OK);
    REQUIRE(gate_wait_started(&st.g, 1, 5000));
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_MS(20)), WP_FORCED);
    CHECK_EQ_INT(atomic_load(&st.g.finished), 0);
    gate_opener opener;
    int64_t start = wpt_now_ns();
    gate_open_later(&opener, &st.g, 300);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&st.g.finished), 1); /* destroy waited for it */
    CHECK_CMP_INT(wpt_ms_since(start), >=, 300);
    wpt_thread_join(opener.thread);
}

static void test_destroy_after_forced_close_with_full_result_channel_returns(void) {
    /* nobody receives: the workers wait for room to deliver the canceled
       results, so the close cannot finish in time; destroy discards them */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 32,
                                                .result_capacity = 2 }, &pool), WP_OK);
    gate g;
    gate_init(&g, true);
    atomic_int ran;
    atomic_init(&ran, 0);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 2, 5000));
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_MS(50)), WP_FORCED);
    CHECK_EVENTUALLY(pool_stats(pool).results_pending == 2, 5000); /* and the workers wait */
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 2);
}

static void test_close_twice_returns_ok_both_times(void) {
    held_pool h;
    if (!held_pool_setup(&h, 4, false))
        return;
    gate_open(&h.g);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_NOWAIT), WP_OK);
    CHECK_EQ_INT(slots_run(&h), 4);
    result_tally t = drain_results(h.pool, 5000);
    CHECK_EQ_INT(t.ok, 5);
    CHECK_EQ_INT(t.total, 5);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

static void test_cancel_after_drain_close_is_ok_and_changes_nothing(void) {
    held_pool h;
    if (!held_pool_setup(&h, 4, false))
        return;
    gate_open(&h.g);
    CHECK_STATUS(wp_pool_close(h.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_pool_close(h.pool, WP_CANCEL, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(slots_run(&h), 4);
    wp_stats s = pool_stats(h.pool);
    CHECK_EQ_UINT(s.completed, 5);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

typedef struct closer {
    wp_pool *pool;
    wp_close_mode mode;
    int64_t timeout;
    wp_status status;
} closer;

static void closer_main(void *p) {
    closer *c = p;
    c->status = wp_pool_close(c->pool, c->mode, c->timeout);
}

static void test_cancel_while_a_drain_close_waits_cancels_the_queue(void) {
    /* whichever close comes first, the outcome is the same: the cancel
       cancels what is queued, the gate stops, both closes return WP_OK */
    held_pool h;
    if (!held_pool_setup(&h, 10, true))
        return;
    closer drain = { h.pool, WP_DRAIN, WP_FOREVER, WP_INVALID };
    wpt_thread t = wpt_thread_start(closer_main, &drain);
    wpt_sleep_ms(50);
    CHECK_STATUS(wp_pool_close(h.pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    wpt_thread_join(t);
    CHECK_STATUS(drain.status, WP_OK);
    CHECK_EQ_INT(atomic_load(&h.g.saw_stop), 1);
    CHECK_EQ_INT(slots_run(&h), 0);
    result_tally tally = drain_results(h.pool, 5000);
    CHECK_EQ_INT(tally.canceled, 10);
    CHECK_EQ_INT(tally.ok, 1);
    wp_stats s = pool_stats(h.pool);
    CHECK_EQ_UINT(s.canceled, 10);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

static void test_concurrent_closes_all_return(void) {
    held_pool h;
    if (!held_pool_setup(&h, 20, false))
        return;
    enum { CLOSERS = 4 };
    closer c[CLOSERS];
    wpt_thread t[CLOSERS];
    for (int i = 0; i < CLOSERS; i++) {
        c[i] = (closer){ h.pool, WP_DRAIN, WP_FOREVER, WP_INVALID };
        t[i] = wpt_thread_start(closer_main, &c[i]);
    }
    wpt_sleep_ms(30);
    gate_open(&h.g);
    for (int i = 0; i < CLOSERS; i++) {
        wpt_thread_join(t[i]);
        CHECK_STATUS(c[i].status, WP_OK);
    }
    CHECK_EQ_INT(slots_run(&h), 20);
    CHECK_STATUS(wp_pool_destroy(h.pool), WP_OK);
}

/* --- from inside a job ----------------------------------------------------- */

typedef struct inside {
    wp_pool *own, *other;
    wp_status close_drain, close_cancel, destroy, close_other, destroy_other;
    atomic_bool done;
} inside;

static int close_own_pool_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    inside *in = arg;
    in->close_drain = wp_pool_close(in->own, WP_DRAIN, WP_FOREVER);
    in->close_cancel = wp_pool_close(in->own, WP_CANCEL, WP_NOWAIT);
    in->destroy = wp_pool_destroy(in->own);
    atomic_store(&in->done, true);
    return 0;
}

static void test_close_or_destroy_from_inside_a_job_would_deadlock(void) {
    inside in;
    memset(&in, 0, sizeof in);
    atomic_init(&in.done, false);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 8 }, &pool), WP_OK);
    in.own = pool;
    CHECK_STATUS(wp_submit(pool, close_own_pool_job, &in), WP_OK);
    REQUIRE_EVENTUALLY(atomic_load(&in.done), 10000);
    CHECK_STATUS(in.close_drain, WP_WOULD_DEADLOCK);
    CHECK_STATUS(in.close_cancel, WP_WOULD_DEADLOCK);
    CHECK_STATUS(in.destroy, WP_WOULD_DEADLOCK);
    /* none of them closed or freed the pool: it still takes and runs jobs */
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    result_tally t = drain_results(pool, 5000);
    CHECK_EQ_INT(t.ok, 2);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static int close_other_pool_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    inside *in = arg;
    in->close_other = wp_pool_close(in->other, WP_DRAIN, WP_FOREVER);
    in->destroy_other = wp_pool_destroy(in->other);
    atomic_store(&in->done, true);
    return 0;
}

static void test_close_and_destroy_another_pool_from_inside_a_job(void) {
    inside in;
    memset(&in, 0, sizeof in);
    atomic_init(&in.done, false);
    wp_pool *a = NULL, *b = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &a), WP_OK);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &b), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(b, count_job, &ran), WP_OK);
    in.own = a;
    in.other = b;
    CHECK_STATUS(wp_submit(a, close_other_pool_job, &in), WP_OK);
    CHECK_STATUS(wp_pool_close(a, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK(atomic_load(&in.done));
    CHECK_STATUS(in.close_other, WP_OK);
    CHECK_STATUS(in.destroy_other, WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 10);
    CHECK_STATUS(wp_pool_destroy(a), WP_OK);
}

static const wpt_test tests[] = {
    WPT_TEST(test_drain_runs_queued_and_running_jobs),
    WPT_TEST(test_drain_with_enough_time_returns_ok),
    WPT_TEST(test_cancel_cancels_queued_jobs_and_stops_the_running_one),
    WPT_TEST(test_cancel_keeps_the_running_jobs_own_outcome),
    WPT_TEST(test_drain_timeout_returns_forced_while_a_job_ignores_cancel),
    WPT_TEST(test_cancel_timeout_returns_forced_while_a_job_ignores_cancel),
    WPT_TEST(test_destroy_waits_for_a_job_still_running_after_forced_close),
    WPT_TEST(test_destroy_after_forced_close_with_full_result_channel_returns),
    WPT_TEST(test_close_twice_returns_ok_both_times),
    WPT_TEST(test_cancel_after_drain_close_is_ok_and_changes_nothing),
    WPT_TEST(test_cancel_while_a_drain_close_waits_cancels_the_queue),
    WPT_TEST(test_concurrent_closes_all_return),
    WPT_TEST(test_close_or_destroy_from_inside_a_job_would_deadlock),
    WPT_TEST(test_close_and_destroy_another_pool_from_inside_a_job),
};

WPT_MAIN(tests)
