/* Tests of the result channel: one result per accepted job with its fields,
   timing figures, wp_result_recv's timeouts and its WP_CLOSED end, a small
   channel under concurrent receivers, a full channel holding workers back,
   and destroy with results left in the channel. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* What a job with this id returns. */
static int code_for(uint64_t id) {
    if (id % 3 == 0)
        return 7;
    if (id % 10 == 1)
        return -1;
    return 0;
}

/* The value a job with this id sets (none when id % 5 == 0). */
static void *value_for(uint64_t id) {
    return id % 5 == 0 ? NULL : (void *)(uintptr_t)(id * 10 + 1);
}

static int id_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    uint64_t id = wp_ctx_id(ctx);
    if (id % 5 != 0)
        wp_ctx_set_value(ctx, value_for(id));
    return code_for(id);
}

static void test_every_job_yields_one_result_with_its_fields(void) {
    enum { N = 200, WORKERS = 3 };
    static int args[N];
    int seen[N] = { 0 };
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = WORKERS, .result_capacity = N }, &pool),
                   WP_OK);
    int expected_failed = 0;
    for (int i = 0; i < N; i++) {
        expected_failed += code_for((uint64_t)i) != 0;
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = id_job, .arg = &args[i], .id = (uint64_t)i }),
                     WP_OK);
    }
    for (int n = 0; n < N; n++) {
        wp_result r;
        memset(&r, 0xCD, sizeof r);
        wp_status s = wp_result_recv(pool, &r, WP_SEC(10));
        REQUIRE_STATUS(s, WP_OK);
        REQUIRE_CMP_UINT(r.id, <, N);
        int id = (int)r.id;
        seen[id]++;
        CHECK_EQ_PTR(r.arg, &args[id]);
        CHECK_EQ_PTR(r.value, value_for(r.id));
        CHECK_EQ_INT(r.code, code_for(r.id));
        CHECK_STATUS(r.status, code_for(r.id) == 0 ? WP_OK : WP_TASK_FAILED);
        CHECK_CMP_INT(r.queued_ns, >=, 0);
        CHECK_CMP_INT(r.run_ns, >=, 0);
        CHECK_CMP_INT(r.queued_ns, <, WP_SEC(60));
        CHECK_CMP_INT(r.run_ns, <, WP_SEC(60));
        CHECK_CMP_INT(r.worker, >=, 0);
        CHECK_CMP_INT(r.worker, <, WORKERS);
    }
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += seen[i] != 1;
    CHECK_EQ_INT(wrong, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_CLOSED); /* no extra result */
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, N);
    CHECK_EQ_UINT(s.failed, (uint64_t)expected_failed);
    CHECK_EQ_UINT(s.completed, (uint64_t)(N - expected_failed));
    CHECK_EQ_UINT(s.results_pending, 0);
    wp_pool_destroy(pool);
}

static void test_result_times_cover_queueing_and_running(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 8 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    int sleep_for = 20;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 1 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = sleep_job, .arg = &sleep_for, .id = 2 }), WP_OK);
    wpt_sleep_ms(30); /* job 2 waits in the queue at least this long */
    gate_open(&g);
    for (int n = 0; n < 2; n++) {
        wp_result r;
        REQUIRE_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
        CHECK_STATUS(r.status, WP_OK);
        if (r.id == 1) {
            CHECK_CMP_INT(r.run_ns, >=, WP_MS(30)); /* held by the gate */
        } else {
            CHECK_EQ_UINT(r.id, 2);
            CHECK_CMP_INT(r.queued_ns, >=, WP_MS(30));
            CHECK_CMP_INT(r.run_ns, >=, WP_MS(sleep_for));
            CHECK_CMP_INT(r.run_ns, <, WP_SEC(10));
        }
    }
    wp_pool_destroy(pool);
}

static void test_recv_nowait_on_empty_returns_timed_out_at_once(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 4 }, &pool), WP_OK);
    wp_result r;
    int64_t start = wpt_now_ns();
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_TIMED_OUT);
    CHECK_CMP_INT(wpt_ms_since(start), <, 200);
    wp_pool_destroy(pool);
}

static void test_recv_bounded_wait_on_empty_times_out_after_the_wait(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 4 }, &pool), WP_OK);
    wp_result r;
    int64_t start = wpt_now_ns();
    CHECK_STATUS(wp_result_recv(pool, &r, WP_MS(50)), WP_TIMED_OUT);
    int64_t ms = wpt_ms_since(start);
    CHECK_CMP_INT(ms, >=, 50);
    CHECK_CMP_INT(ms, <, 2000);
    /* a tiny wait, well under the C11 backend's wait slice */
    start = wpt_now_ns();
    CHECK_STATUS(wp_result_recv(pool, &r, WP_US(300)), WP_TIMED_OUT);
    CHECK_CMP_INT(wpt_now_ns() - start, >=, WP_US(300));
    wp_pool_destroy(pool);
}

typedef struct late_submit {
    wp_pool *pool;
    int delay_ms;
    wp_status status;
} late_submit;

static void late_submit_main(void *p) {
    late_submit *l = p;
    wpt_sleep_ms(l->delay_ms);
    l->status = wp_submit_job(l->pool, &(wp_job){ .fn = id_job, .id = 42 });
}

static void test_recv_forever_gets_a_result_submitted_later(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 4 }, &pool), WP_OK);
    late_submit l = { pool, 50, WP_INVALID };
    int64_t start = wpt_now_ns();
    wpt_thread t = wpt_thread_start(late_submit_main, &l);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_FOREVER), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(start), >=, 50);
    CHECK_EQ_UINT(r.id, 42);
    CHECK_EQ_PTR(r.value, value_for(42));
    wpt_thread_join(t);
    CHECK_STATUS(l.status, WP_OK);
    /* the same with a bounded wait that is long enough */
    l.delay_ms = 20;
    t = wpt_thread_start(late_submit_main, &l);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
    CHECK_EQ_UINT(r.id, 42);
    wpt_thread_join(t);
    wp_pool_destroy(pool);
}

static void test_recv_with_huge_timeout_waits_instead_of_overflowing(void) {
    /* INT64_MAX - 1 is not WP_FOREVER: now + timeout must not wrap negative */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 4 }, &pool), WP_OK);
    late_submit l = { pool, 50, WP_INVALID };
    int64_t start = wpt_now_ns();
    wpt_thread t = wpt_thread_start(late_submit_main, &l);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_FOREVER - 1), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(start), >=, 50);
    CHECK_EQ_UINT(r.id, 42);
    wpt_thread_join(t);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER - 1), WP_OK);
    wp_pool_destroy(pool);
}

static void test_recv_returns_closed_after_close_and_every_result(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 8 }, &pool), WP_OK);
    for (int i = 0; i < 5; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = id_job, .id = (uint64_t)i }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_UINT(pool_stats(pool).results_pending, 5);
    wp_result r;
    for (size_t i = 0; i < 5; i++) {
        CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_OK); /* closed, but results remain */
        CHECK_EQ_UINT(pool_stats(pool).results_pending, 4 - i);
    }
    int64_t start = wpt_now_ns();
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_CLOSED);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(3)), WP_CLOSED);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_FOREVER), WP_CLOSED);
    CHECK_CMP_INT(wpt_ms_since(start), <, 1000); /* none of them waited */
    wp_pool_destroy(pool);
}

static void test_recv_while_open_and_empty_is_not_closed(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 8 }, &pool), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = id_job, .id = 2 }), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_TIMED_OUT);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_MS(10)), WP_TIMED_OUT);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_CLOSED);
    wp_pool_destroy(pool);
}

typedef struct closing_later {
    wp_pool *pool;
    int delay_ms;
    wp_status status;
} closing_later;

static void closing_later_main(void *p) {
    closing_later *c = p;
    wpt_sleep_ms(c->delay_ms);
    c->status = wp_pool_close(c->pool, WP_DRAIN, WP_FOREVER);
}

static void test_recv_forever_wakes_with_closed_when_pool_closes(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 8 }, &pool), WP_OK);
    closing_later c = { pool, 50, WP_INVALID };
    int64_t start = wpt_now_ns();
    wpt_thread t = wpt_thread_start(closing_later_main, &c);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_FOREVER), WP_CLOSED);
    CHECK_CMP_INT(wpt_ms_since(start), >=, 50);
    wpt_thread_join(t);
    CHECK_STATUS(c.status, WP_OK);
    wp_pool_destroy(pool);
}

static void test_recv_without_channel_is_invalid(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_INVALID);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_FOREVER), WP_INVALID); /* must not wait */
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_INVALID);
    CHECK_EQ_UINT(pool_stats(pool).results_pending, 0);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    wp_pool_destroy(pool);
}

/* --- a small channel under load ------------------------------------------ */

static int ok_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    return 0;
}

typedef struct receiver {
    wp_pool *pool;
    int n;                  /* ids are 0..n-1 */
    unsigned char *seen;    /* this receiver's count per id */
    int received, bad;
    wp_status last;
    wpt_thread thread;
} receiver;

static void receiver_main(void *p) {
    receiver *rc = p;
    for (;;) {
        wp_result r;
        wp_status s = wp_result_recv(rc->pool, &r, WP_SEC(30));
        if (s != WP_OK) {
            rc->last = s;
            return;
        }
        rc->received++;
        if (r.id >= (uint64_t)rc->n || r.status != WP_OK || r.arg != (void *)(uintptr_t)(r.id + 1))
            rc->bad++;
        else if (rc->seen[r.id] < 255)
            rc->seen[r.id]++;
    }
}

static void test_small_channel_with_concurrent_receivers_delivers_each_result_once(void) {
    enum { RECEIVERS = 2 };
    const int n = (int)wpt_scaled(200000, 2000);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 4, .queue_capacity = 64,
                                                .result_capacity = 2 }, &pool), WP_OK);
    REQUIRE_EQ_UINT(wp_queue_capacity(wp__pool_queue(pool)), 64);
    receiver rc[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++) {
        rc[i] = (receiver){ pool, n, calloc((size_t)n, 1), 0, 0, WP_OK, { 0 } };
        REQUIRE(rc[i].seen != NULL);
        rc[i].thread = wpt_thread_start(receiver_main, &rc[i]);
    }
    int accepted = 0;
    for (int i = 0; i < n; i++)
        accepted += wp_submit_job(pool, &(wp_job){ .fn = ok_job, .arg = (void *)(uintptr_t)(i + 1),
                                                   .id = (uint64_t)i }) == WP_OK;
    CHECK_EQ_INT(accepted, n);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    int total = 0, bad = 0;
    for (int i = 0; i < RECEIVERS; i++) {
        wpt_thread_join(rc[i].thread);
        CHECK_STATUS(rc[i].last, WP_CLOSED); /* each receiver ended on WP_CLOSED */
        total += rc[i].received;
        bad += rc[i].bad;
    }
    CHECK_EQ_INT(total, n);
    CHECK_EQ_INT(bad, 0);
    int wrong = 0;
    for (int id = 0; id < n; id++) {
        int count = 0;
        for (int i = 0; i < RECEIVERS; i++)
            count += rc[i].seen[id];
        wrong += count != 1;
    }
    CHECK_EQ_INT(wrong, 0);
    for (int i = 0; i < RECEIVERS; i++)
        free(rc[i].seen);
    wp_pool_destroy(pool);
}

static void test_full_channel_holds_workers_back(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 8,
                                                .result_capacity = 2 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .id = (uint64_t)i }),
                     WP_OK);
    /* 2 results fill the channel, the 3rd job ran and its worker waits to
       deliver; the other 3 stay queued */
    CHECK_EVENTUALLY(atomic_load(&ran) == 3, 5000);
    wpt_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&ran), 3);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.results_pending, 2);
    CHECK_EQ_UINT(s.queue_depth, 3);
    /* receiving makes room: everything else follows, in order (one worker) */
    for (uint64_t i = 0; i < 6; i++) {
        wp_result r;
        CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
        CHECK_EQ_UINT(r.id, i);
    }
    CHECK_EQ_INT(atomic_load(&ran), 6);
    wp_pool_destroy(pool);
}

static void test_destroy_discards_unreceived_results(void) {
    /* nobody receives: destroy must still finish every job and return */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16,
                                                .result_capacity = 2 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EVENTUALLY(pool_stats(pool).results_pending == 2, 5000);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 10);
}

static const wpt_test tests[] = {
    WPT_TEST(test_every_job_yields_one_result_with_its_fields),
    WPT_TEST(test_result_times_cover_queueing_and_running),
    WPT_TEST(test_recv_nowait_on_empty_returns_timed_out_at_once),
    WPT_TEST(test_recv_bounded_wait_on_empty_times_out_after_the_wait),
    WPT_TEST(test_recv_forever_gets_a_result_submitted_later),
    WPT_TEST(test_recv_with_huge_timeout_waits_instead_of_overflowing),
    WPT_TEST(test_recv_returns_closed_after_close_and_every_result),
    WPT_TEST(test_recv_while_open_and_empty_is_not_closed),
    WPT_TEST(test_recv_forever_wakes_with_closed_when_pool_closes),
    WPT_TEST(test_recv_without_channel_is_invalid),
    WPT_TEST(test_small_channel_with_concurrent_receivers_delivers_each_result_once),
    WPT_TEST(test_full_channel_holds_workers_back),
    WPT_TEST(test_destroy_discards_unreceived_results),
};

WPT_MAIN(tests)
