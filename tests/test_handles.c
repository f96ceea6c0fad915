/* Tests of job handles: wait, cancel, query and release one job by its
   handle; slots are reused with a new generation, so a stale handle never
   reaches another job; running out of slots refuses at once; handles work
   in batches, with tokens, in inline-only pools and under concurrency. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

static int value_job(void *arg, wp_ctx *ctx) {
    wp_ctx_set_value(ctx, arg);
    return 0;
}

static int fail_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return (int)(intptr_t)arg;
}

/* Submits until accepted (a slot or room may free up a moment later);
   CHECK_EVENTUALLY would evaluate a successful submission twice. */
static wp_status submit_eventually(wp_pool *pool, const wp_job *job) {
    int64_t until = wpt_now_ns() + WP_SEC(10);
    wp_status s;
    while ((s = wp_submit_job(pool, job)) == WP_FULL && wpt_now_ns() < until)
        wpt_sleep_ms(1);
    return s;
}

static wp_pool *make_pool(int workers, size_t handles) {
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = workers, .queue_capacity = 64, .max_handles = handles };
    wp_status s = wp_pool_create(&cfg, &pool);
    CHECK_STATUS(s, WP_OK);
    return pool;
}

static void test_wait_returns_the_jobs_result_and_releases_the_handle(void) {
    wp_pool *pool = make_pool(2, 8);
    REQUIRE(pool);
    wp_handle h = { 99, 99 };
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .arg = (void *)42, .id = 7,
                                                  .handle = &h }), WP_OK);
    CHECK(h.generation != 0);
    wp_result r;
    memset(&r, 0, sizeof r);
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), &r), WP_OK);
    CHECK_EQ_PTR(r.value, (void *)42);
    CHECK_EQ_UINT(r.id, 7);
    CHECK_STATUS(r.status, WP_OK);
    CHECK_CMP_INT(r.worker, >=, 0);
    /* Waited for: the handle is spent. */
    CHECK_STATUS(wp_job_wait(pool, h, WP_NOWAIT, &r), WP_INVALID);
    wp_job_state st;
    CHECK_STATUS(wp_job_query(pool, h, &st), WP_INVALID);
    CHECK_STATUS(wp_job_release(pool, h), WP_INVALID);
    CHECK_STATUS(wp_job_cancel(pool, h), WP_INVALID);
    wp_pool_destroy(pool);
}

static void test_failed_job_reports_its_code_through_the_handle(void) {
    wp_pool *pool = make_pool(1, 4);
    REQUIRE(pool);
    wp_handle h;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = fail_job, .arg = (void *)5, .handle = &h }),
                   WP_OK);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_TASK_FAILED);
    CHECK_EQ_INT(r.code, 5);
    wp_pool_destroy(pool);
}

static void test_query_follows_queued_running_done(void) {
    wp_pool *pool = make_pool(1, 4);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    wp_handle running, queued;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .handle = &running }),
                   WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &queued }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    wp_job_state st = 0;
    CHECK_STATUS(wp_job_query(pool, running, &st), WP_OK);
    CHECK_EQ_INT(st, WP_JOB_RUNNING);
    CHECK_STATUS(wp_job_query(pool, queued, &st), WP_OK);
    CHECK_EQ_INT(st, WP_JOB_QUEUED);
    CHECK_STATUS(wp_job_wait(pool, running, WP_MS(20), NULL), WP_TIMED_OUT);
    gate_open(&g);
    CHECK_EVENTUALLY(wp_job_query(pool, queued, &st) == WP_OK && st == WP_JOB_DONE, 10000);
    CHECK_STATUS(wp_job_query(pool, running, &st), WP_OK);
    CHECK_EQ_INT(st, WP_JOB_DONE);
    CHECK_STATUS(wp_job_wait(pool, running, WP_SEC(10), NULL), WP_OK);
    CHECK_STATUS(wp_job_wait(pool, queued, WP_SEC(10), NULL), WP_OK);
    CHECK_STATUS(wp_job_query(pool, queued, NULL), WP_INVALID);
    wp_pool_destroy(pool);
}

static void test_cancel_by_handle_stops_a_queued_job_and_signals_a_running_one(void) {
    wp_pool *pool = make_pool(1, 4);
    REQUIRE(pool);
    gate g;
    gate_init(&g, true); /* returns once should_stop turns true */
    atomic_int ran;
    atomic_init(&ran, 0);
    wp_handle running, queued;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .handle = &running }),
                   WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .handle = &queued }),
                   WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    CHECK_STATUS(wp_job_cancel(pool, queued), WP_OK);
    CHECK_STATUS(wp_job_cancel(pool, running), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, running, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_OK); /* it ran, saw the stop, returned 0 */
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 1);
    CHECK_STATUS(wp_job_wait(pool, queued, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    wp_stats s;
    wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
    wp_pool_stats(pool, &s);
    CHECK_EQ_UINT(s.canceled, 1);
    CHECK_EQ_UINT(s.completed, 1);
    wp_pool_destroy(pool);
}

static void test_a_users_token_still_cancels_a_job_with_a_handle(void) {
    wp_pool *pool = make_pool(1, 4);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    wp_token *tok;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    wp_handle h;
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .token = tok,
                                                  .handle = &h }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    wp_token_cancel(tok);
    gate_open(&g);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    wp_pool_destroy(pool);
    wp_token_destroy(tok);
}

static void test_out_of_handles_is_refused_at_once_and_release_frees_one(void) {
    wp_pool *pool = make_pool(1, 2);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    wp_handle a, b, c = { 1, 1 };
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .handle = &a }), WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &b }), WP_OK);
    /* Every slot is held: refused whatever the policy, counted as rejected. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &c,
                                                .backpressure = WP_BLOCK }), WP_FULL);
    CHECK_EQ_UINT(c.slot, 0);
    CHECK_EQ_UINT(c.generation, 0);
    /* Released while its job is still queued: the slot frees when it ends. */
    CHECK_STATUS(wp_job_release(pool, b), WP_OK);
    CHECK_STATUS(wp_job_release(pool, b), WP_INVALID);
    gate_open(&g);
    CHECK_STATUS(wp_job_wait(pool, a, WP_SEC(10), NULL), WP_OK);
    /* Both slots come back (b's once its job has run). */
    wp_handle d, e;
    CHECK_STATUS(submit_eventually(pool, &(wp_job){ .fn = value_job, .handle = &d }), WP_OK);
    CHECK_STATUS(submit_eventually(pool, &(wp_job){ .fn = value_job, .handle = &e }), WP_OK);
    CHECK_STATUS(wp_job_wait(pool, d, WP_SEC(10), NULL), WP_OK);
    CHECK_STATUS(wp_job_wait(pool, e, WP_SEC(10), NULL), WP_OK);
    wp_stats s;
    wp_pool_stats(pool, &s);
    CHECK_CMP_UINT(s.rejected, >=, 1);
    wp_pool_destroy(pool);
}

static void test_a_stale_handle_never_reaches_the_slots_next_job(void) {
    wp_pool *pool = make_pool(1, 1);
    REQUIRE(pool);
    wp_handle old, fresh;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &old }), WP_OK);
    REQUIRE_STATUS(wp_job_wait(pool, old, WP_SEC(10), NULL), WP_OK);
    gate g;
    gate_init(&g, true);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .handle = &fresh }),
                   WP_OK);
    CHECK_EQ_UINT(fresh.slot, old.slot); /* the only slot, reused */
    CHECK(fresh.generation != old.generation);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    CHECK_STATUS(wp_job_cancel(pool, old), WP_INVALID);
    CHECK_STATUS(wp_job_release(pool, old), WP_INVALID);
    CHECK_STATUS(wp_job_query(pool, old, &(wp_job_state){ 0 }), WP_INVALID);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 0); /* the stale cancel did not reach it */
    gate_open(&g);
    CHECK_STATUS(wp_job_wait(pool, fresh, WP_SEC(10), NULL), WP_OK);
    wp_pool_destroy(pool);
}

static void test_refused_submission_gives_the_slot_back(void) {
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 2, .max_handles = 1,
                      .backpressure = WP_REJECT };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    wp_handle h = { 3, 3 };
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &h }), WP_FULL);
    CHECK_EQ_UINT(h.generation, 0);
    gate_open(&g);
    /* The refused job's slot was given back: the next one gets it. */
    CHECK_STATUS(submit_eventually(pool, &(wp_job){ .fn = value_job, .handle = &h }), WP_OK);
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), NULL), WP_OK);
    wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
    /* After close a handle job is refused and its slot still comes back. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &h }), WP_CLOSED);
    CHECK_EQ_UINT(h.generation, 0);
    wp_pool_destroy(pool);
}

static void test_closed_beats_out_of_handles(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .max_handles = 1 }, &pool),
                   WP_OK);
    wp_handle held, h;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &held }), WP_OK);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    /* Every slot is held (nobody waited for `held`) and the pool is closed:
       the answer is the close. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .handle = &h }), WP_CLOSED);
    wp_stats s;
    wp_pool_stats(pool, &s);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_EQ_UINT(s.rejected, 0);
    CHECK_STATUS(wp_job_wait(pool, held, WP_NOWAIT, NULL), WP_OK);
    wp_pool_destroy(pool);
}

static void test_handles_in_a_batch_and_after_a_cancel_close(void) {
    wp_pool *pool = make_pool(1, 16);
    REQUIRE(pool);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    wp_handle hs[8];
    wp_job jobs[8];
    wp_status st[8];
    for (int i = 0; i < 8; i++)
        jobs[i] = (wp_job){ .fn = value_job, .arg = (void *)(intptr_t)i,
                            .handle = i % 2 ? &hs[i] : NULL };
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, 8, st), 8);
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(st[i], WP_OK);
    /* Close with cancel while they wait: each handle reports WP_CANCELED. */
    gate_open(&g);
    wp_pool_close(pool, WP_CANCEL, WP_FOREVER);
    for (int i = 1; i < 8; i += 2) {
        wp_result r;
        CHECK_STATUS(wp_job_wait(pool, hs[i], WP_SEC(10), &r), WP_OK);
        CHECK(r.status == WP_CANCELED || r.status == WP_OK);
        CHECK_EQ_PTR(r.arg, (void *)(intptr_t)i);
    }
    wp_pool_destroy(pool);
}

static void test_handles_in_an_inline_pool(void) {
    wp_pool *pool = NULL;
    wp_config cfg = { .inline_only = true, .max_handles = 4 };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_handle h;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = value_job, .arg = (void *)9, .handle = &h }),
                   WP_OK);
    wp_job_state st;
    CHECK_STATUS(wp_job_query(pool, h, &st), WP_OK);
    CHECK_EQ_INT(st, WP_JOB_QUEUED);
    /* Nobody runs it until the caller helps. */
    CHECK_STATUS(wp_job_wait(pool, h, WP_MS(5), NULL), WP_TIMED_OUT);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h, WP_NOWAIT, &r), WP_OK);
    CHECK_EQ_INT(r.worker, -1);
    CHECK_EQ_PTR(r.value, (void *)9);
    wp_pool_destroy(pool);
}

static void test_bad_handle_arguments(void) {
    wp_pool *pool = make_pool(1, 2);
    REQUIRE(pool);
    wp_handle zero = { 0, 0 }, beyond = { 1u << 30, 1 };
    CHECK_STATUS(wp_job_wait(pool, zero, WP_NOWAIT, NULL), WP_INVALID);
    CHECK_STATUS(wp_job_wait(pool, beyond, WP_NOWAIT, NULL), WP_INVALID);
    CHECK_STATUS(wp_job_wait(NULL, beyond, WP_NOWAIT, NULL), WP_INVALID);
    CHECK_STATUS(wp_job_wait(pool, zero, -1, NULL), WP_INVALID);
    CHECK_STATUS(wp_job_cancel(pool, beyond), WP_INVALID);
    CHECK_STATUS(wp_job_cancel(NULL, zero), WP_INVALID);
    CHECK_STATUS(wp_job_release(pool, zero), WP_INVALID);
    CHECK_STATUS(wp_job_query(pool, beyond, &(wp_job_state){ 0 }), WP_INVALID);
    wp_pool *p2 = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_handles = ((size_t)1 << 24) + 1 }, &p2),
                 WP_INVALID);
    wp_pool_destroy(pool);
}

/* Producers submit with handles and wait for their own jobs while others
   release theirs unwaited; every job runs once, every waited result is its
   own, and every slot comes back. */
typedef struct churn {
    wp_pool *pool;
    atomic_int ran[4][2000];
    atomic_int mismatches;
    int per_producer;
    int producer;
} churn;

static int churn_job(void *arg, wp_ctx *ctx) {
    atomic_fetch_add((atomic_int *)arg, 1);
    wp_ctx_set_value(ctx, arg);
    return 0;
}

static void churn_producer(void *p) {
    churn *c = (churn *)p;
    static atomic_int next_id;
    int me = atomic_fetch_add(&next_id, 1) % 4;
    for (int i = 0; i < c->per_producer; i++) {
        wp_handle h;
        atomic_int *slot = &c->ran[me][i];
        wp_status s;
        while ((s = wp_submit_job(c->pool, &(wp_job){ .fn = churn_job, .arg = slot, .handle = &h }))
               == WP_FULL)
            wpt_sleep_ms(0);
        if (s != WP_OK) {
            atomic_fetch_add(&c->mismatches, 1);
            continue;
        }
        if (i % 3 == 0) {
            if (wp_job_release(c->pool, h) != WP_OK)
                atomic_fetch_add(&c->mismatches, 1);
            continue;
        }
        if (i % 7 == 0)
            wp_job_cancel(c->pool, h);
        wp_result r;
        if (wp_job_wait(c->pool, h, WP_SEC(30), &r) != WP_OK
            || (r.status == WP_OK && r.value != slot) || r.arg != slot)
            atomic_fetch_add(&c->mismatches, 1);
    }
}

static void test_stress_handles_from_four_producers(void) {
    static churn c;
    memset(&c, 0, sizeof c);
    c.per_producer = (int)wpt_scaled(2000, 100);
    c.pool = make_pool(2, 8);
    REQUIRE(c.pool);
    wpt_thread t[4];
    for (int i = 0; i < 4; i++)
        t[i] = wpt_thread_start(churn_producer, &c);
    for (int i = 0; i < 4; i++)
        wpt_thread_join(t[i]);
    /* Every slot is free again once the pool is idle: all 8 at once. */
    CHECK_STATUS(wp_pool_wait_idle(c.pool, WP_SEC(30)), WP_OK);
    gate g;
    gate_init(&g, false);
    wp_handle hs[8];
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(wp_submit_job(c.pool, &(wp_job){ .fn = gate_job, .arg = &g, .handle = &hs[i] }),
                     WP_OK);
    gate_open(&g);
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(wp_job_wait(c.pool, hs[i], WP_SEC(30), NULL), WP_OK);
    CHECK_STATUS(wp_pool_close(c.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&c.mismatches), 0);
    int twice = 0;
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < c.per_producer; i++)
            twice += atomic_load(&c.ran[p][i]) > 1;
    CHECK_EQ_INT(twice, 0);
    wp_stats s;
    wp_pool_stats(c.pool, &s);
    CHECK_EQ_UINT(s.submitted, s.completed + s.failed + s.canceled + s.expired + s.evicted);
    CHECK_EQ_UINT(s.submitted, (uint64_t)(4 * c.per_producer + 8));
    wp_pool_destroy(c.pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_wait_returns_the_jobs_result_and_releases_the_handle),
    WPT_TEST(test_failed_job_reports_its_code_through_the_handle),
    WPT_TEST(test_query_follows_queued_running_done),
    WPT_TEST(test_cancel_by_handle_stops_a_queued_job_and_signals_a_running_one),
    WPT_TEST(test_a_users_token_still_cancels_a_job_with_a_handle),
    WPT_TEST(test_out_of_handles_is_refused_at_once_and_release_frees_one),
    WPT_TEST(test_a_stale_handle_never_reaches_the_slots_next_job),
    WPT_TEST(test_refused_submission_gives_the_slot_back),
    WPT_TEST(test_closed_beats_out_of_handles),
    WPT_TEST(test_handles_in_a_batch_and_after_a_cancel_close),
    WPT_TEST(test_handles_in_an_inline_pool),
    WPT_TEST(test_bad_handle_arguments),
    WPT_TEST(test_stress_handles_from_four_producers),
};
WPT_MAIN(tests)
