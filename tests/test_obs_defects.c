/* test_obs_defects.c - regression tests for the observability and stats
   defects of the outside review of 0.2 (issue 15, items 5, 6, 8 and 10).
   Each one fails on 0.2 and passes since:

     item 5   wp_submit_batch skipped the submit side of observability: its
              jobs had no enqueue time (queue waits read as the clock's
              whole value, and their signed sum overflowed) and did not
              raise the high-water mark.
     item 6   with wp_config.clock set, a job's queued_ns mixed the system's
              clock and the pool's.
     item 8   stats.submitted came from size_t queue tickets and wrapped
              (after 2^31 jobs on 32-bit targets) while the outcome counters
              are 64-bit.
     item 10  an inline-only pool with a stall hook started a watchdog thread.

   The clock override is a counter that only the test and the jobs move, so
   every timing is known exactly. Uses only the 0.2 API (and the test seam
   wp__test_seed_jobs), so that it builds against 0.2's header too. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* A clock that only the test and the jobs move                              */

static atomic_llong fake_now;

static int64_t fake_clock(void *user) {
    (void)user;
    return (int64_t)atomic_load(&fake_now);
}

/* Runs for `arg` ns of fake time. */
static int advance_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add(&fake_now, (long long)(intptr_t)arg);
    return 0;
}

/* What on_task_end saw. */
#define LOG_JOBS 64
typedef struct end_log {
    atomic_int calls;
    atomic_llong wait_ns[LOG_JOBS]; /* by job id */
    atomic_llong run_ns[LOG_JOBS];
    atomic_int bad_id;
} end_log;

static void log_init(end_log *l) {
    atomic_init(&l->calls, 0);
    atomic_init(&l->bad_id, 0);
    for (int i = 0; i < LOG_JOBS; i++) {
        atomic_init(&l->wait_ns[i], -1);
        atomic_init(&l->run_ns[i], -1);
    }
}

static void on_task_end(const wp_event *ev, void *user) {
    uint64_t id = ev->job_id;
    int64_t wait_ns = ev->wait_ns, run_ns = ev->run_ns;
    end_log *l = (end_log *)user;
    if (id >= LOG_JOBS) {
        atomic_fetch_add(&l->bad_id, 1);
        return;
    }
    atomic_store(&l->wait_ns[id], (long long)wait_ns);
    atomic_store(&l->run_ns[id], (long long)run_ns);
    atomic_fetch_add(&l->calls, 1);
}

/* ------------------------------------------------------------------------ */
/* Item 5: batch submissions are observed like single ones                   */

#define BATCH 10

/* One worker held by a gate (id 0) while BATCH jobs (ids 1..BATCH) queue,
   by wp_submit_batch or one wp_submit_job at a time; the clock stands at
   4e18 ns and never moves, so every wait and run is 0. */
static void observe_ten(bool batch, wp_stats *at_peak, wp_stats *after, end_log *log) {
    atomic_store(&fake_now, 4000000000000000000LL);
    log_init(log);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 64, .observe.latency = true,
                      .clock = fake_clock, .hooks.task_end = on_task_end, .hooks.user = log };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 0 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    wp_job jobs[BATCH];
    for (int i = 0; i < BATCH; i++)
        jobs[i] = (wp_job){ .fn = advance_job, .arg = (void *)(intptr_t)0, .id = (uint64_t)i + 1 };
    if (batch) {
        wp_status st[BATCH];
        CHECK_EQ_UINT(wp_submit_batch(pool, jobs, BATCH, st), BATCH);
    } else {
        for (int i = 0; i < BATCH; i++)
            CHECK_STATUS(wp_submit_job(pool, &jobs[i]), WP_OK);
    }
    *at_peak = pool_stats(pool);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    *after = pool_stats(pool);
    wp_pool_destroy(pool);
}

static void check_observed_ten(const wp_stats *at_peak, const wp_stats *s, end_log *log) {
    CHECK_EQ_UINT(at_peak->queue_depth, BATCH);
    CHECK_EQ_UINT(at_peak->queue_high_water, BATCH);
    CHECK_EQ_UINT(s->queue_high_water, BATCH);
    CHECK_STATS_BALANCE(*s);
    CHECK_EQ_UINT(s->completed, BATCH + 1);
    CHECK_EQ_UINT(s->queue_wait.count, BATCH + 1);
    CHECK_EQ_INT(s->queue_wait.sum_ns, 0);
    CHECK_EQ_INT(s->queue_wait.max_ns, 0);
    CHECK_EQ_UINT(s->queue_wait.buckets[0], BATCH + 1);
    CHECK_EQ_UINT(s->run_time.count, BATCH + 1);
    CHECK_EQ_INT(atomic_load(&log->calls), BATCH + 1);
    CHECK_EQ_INT(atomic_load(&log->bad_id), 0);
    for (int i = 0; i <= BATCH; i++) {
        CHECK_EQ_INT(atomic_load(&log->wait_ns[i]), 0);
        CHECK_EQ_INT(atomic_load(&log->run_ns[i]), 0);
    }
}

static void test_batch_observed_like_single(void) {
    end_log log;
    wp_stats peak_single, single, peak_batch, batch;
    observe_ten(false, &peak_single, &single, &log);
    check_observed_ten(&peak_single, &single, &log);
    observe_ten(true, &peak_batch, &batch, &log);
    check_observed_ten(&peak_batch, &batch, &log);
    /* the same figures either way */
    CHECK(memcmp(&single.queue_wait, &batch.queue_wait, sizeof single.queue_wait) == 0);
    CHECK(memcmp(&single.run_time, &batch.run_time, sizeof single.run_time) == 0);
    CHECK_EQ_UINT(single.queue_high_water, batch.queue_high_water);
}

/* A batch with a result channel, a callback and plain jobs, behind a gate:
   each job's queued_ns, the histogram and the hook agree on every job. */
static atomic_llong batch_queued[LOG_JOBS];

static void record_queued(const wp_result *r) {
    if (r->id < LOG_JOBS)
        atomic_store(&batch_queued[r->id], (long long)r->queued_ns);
}

static void test_batch_waits_measured(void) {
    atomic_store(&fake_now, INT64_C(100000000000000000)); /* 1e17 ns */
    end_log log;
    log_init(&log);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 64, .result_capacity = 64,
                      .observe.latency = true, .clock = fake_clock, .hooks.task_end = on_task_end,
                      .hooks.user = &log };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 0 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    wp_job jobs[BATCH];
    for (int i = 0; i < BATCH; i++)
        jobs[i] = (wp_job){ .fn = advance_job, .arg = (void *)(intptr_t)1000, .id = (uint64_t)i + 1,
                            .on_done = i % 2 ? record_queued : NULL };
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, BATCH, NULL), BATCH);
    atomic_fetch_add(&fake_now, (long long)WP_MS(3)); /* while the gate runs */
    gate_open(&g);
    /* job i starts after the gate (3 ms) and i - 1 jobs of 1000 ns */
    for (int i = 0; i <= BATCH; i++) {
        wp_result r;
        REQUIRE_STATUS(wp_result_recv(pool, &r, WP_SEC(30)), WP_OK);
        REQUIRE_CMP_UINT(r.id, <=, BATCH);
        int64_t want = r.id == 0 ? 0 : WP_MS(3) + ((int64_t)r.id - 1) * 1000;
        CHECK_EQ_INT(r.queued_ns, want);
        CHECK_EQ_INT(r.run_ns, r.id == 0 ? WP_MS(3) : 1000);
        CHECK_EQ_INT(atomic_load(&log.wait_ns[r.id]), want);
        if (r.id % 2 == 0 && r.id > 0)
            CHECK_EQ_INT(atomic_load(&batch_queued[r.id]), want);
    }
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_wait.count, BATCH + 1);
    CHECK_EQ_INT(s.queue_wait.sum_ns, BATCH * WP_MS(3) + 1000 * (BATCH * (BATCH - 1) / 2));
    CHECK_EQ_INT(s.queue_wait.max_ns, WP_MS(3) + (BATCH - 1) * 1000);
    CHECK_EQ_INT(s.run_time.sum_ns, WP_MS(3) + BATCH * 1000);
    wp_pool_destroy(pool);
}

/* Waits near the clock's range: the histogram sums stop at INT64_MAX
   instead of overflowing (UBSan reports signed overflow in 0.2). */
static void test_latency_sum_saturates(void) {
    atomic_store(&fake_now, 1);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .observe.latency = true, .clock = fake_clock };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    for (int i = 0; i < 5; i++)
        REQUIRE_STATUS(wp_submit(pool, advance_job, (void *)(intptr_t)0), WP_OK);
    atomic_fetch_add(&fake_now, 4000000000000000000LL); /* each of the 5 waits 4e18 ns */
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_wait.count, 6);
    CHECK_EQ_INT(s.queue_wait.max_ns, 4000000000000000000LL);
    CHECK_EQ_INT(s.queue_wait.sum_ns, INT64_MAX);
    CHECK_EQ_INT(s.queue_wait.mean_ns, INT64_MAX / 6);
    CHECK_EQ_UINT(s.queue_wait.buckets[WP_LATENCY_BUCKETS - 1], 5);
    CHECK_EQ_INT(s.run_time.sum_ns, 4000000000000000000LL); /* the gate's run */
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "workerpool_queue_wait_seconds_sum{pool=\"workerpool\"} 9223372036.854775807\n")
          != NULL);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Item 6: one clock for every timing of a job                               */

static atomic_llong done_queued[LOG_JOBS], done_run[LOG_JOBS];

static void record_done(const wp_result *r) {
    if (r->id < LOG_JOBS) {
        atomic_store(&done_queued[r->id], (long long)r->queued_ns);
        atomic_store(&done_run[r->id], (long long)r->run_ns);
    }
}

/* One worker, the pool's clock far from the system's. Behind a gate that
   runs 5 ms of fake time: job 1 with a callback, job 2 with a handle, job 3
   with a callback through wp_submit_batch, job 4 with a callback and a
   deadline it misses; each runs 2000 ns. Every figure is exact. */
static void check_one_clock(bool channel) {
    atomic_store(&fake_now, INT64_C(100000000000000000)); /* 1e17 ns */
    for (int i = 0; i < LOG_JOBS; i++) {
        atomic_store(&done_queued[i], -1);
        atomic_store(&done_run[i], -1);
    }
    end_log log;
    log_init(&log);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .result_capacity = channel ? 16 : 0,
                      .observe.latency = true, .clock = fake_clock, .hooks.task_end = on_task_end,
                      .hooks.user = &log };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 0 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    void *two_us = (void *)(intptr_t)2000;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = advance_job, .arg = two_us, .id = 1,
                                                  .on_done = record_done }), WP_OK);
    wp_handle h;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = advance_job, .arg = two_us, .id = 2,
                                                  .handle = &h }), WP_OK);
    wp_job three = { .fn = advance_job, .arg = two_us, .id = 3, .on_done = record_done };
    REQUIRE_EQ_UINT(wp_submit_batch(pool, &three, 1, NULL), 1);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = advance_job, .arg = two_us, .id = 4,
                                                  .on_done = record_done,
                                                  .deadline = WP_MS(1) }), WP_OK);
    atomic_fetch_add(&fake_now, (long long)WP_MS(5));
    gate_open(&g);
    wp_result r;
    REQUIRE_STATUS(wp_job_wait(pool, h, WP_SEC(30), &r), WP_OK);
    CHECK_EQ_INT(r.queued_ns, WP_MS(5) + 2000);
    CHECK_EQ_INT(r.run_ns, 2000);
    if (channel) {
        for (int i = 0; i < 5; i++)
            REQUIRE_STATUS(wp_result_recv(pool, &r, WP_SEC(30)), WP_OK);
    }
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&done_queued[1]), WP_MS(5));
    CHECK_EQ_INT(atomic_load(&done_run[1]), 2000);
    CHECK_EQ_INT(atomic_load(&done_queued[3]), WP_MS(5) + 4000);
    CHECK_EQ_INT(atomic_load(&done_run[3]), 2000);
    CHECK_EQ_INT(atomic_load(&done_queued[4]), WP_MS(5) + 6000); /* expired: never ran */
    CHECK_EQ_INT(atomic_load(&done_run[4]), 0);
    /* the hook and the histograms read the same clock */
    CHECK_EQ_INT(atomic_load(&log.wait_ns[1]), WP_MS(5));
    CHECK_EQ_INT(atomic_load(&log.wait_ns[2]), WP_MS(5) + 2000);
    CHECK_EQ_INT(atomic_load(&log.wait_ns[3]), WP_MS(5) + 4000);
    CHECK_EQ_INT(atomic_load(&log.run_ns[0]), WP_MS(5));
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.expired, 1);
    CHECK_EQ_UINT(s.queue_wait.count, 4);
    CHECK_EQ_INT(s.queue_wait.sum_ns, 3 * WP_MS(5) + 6000);
    CHECK_EQ_INT(s.queue_wait.max_ns, WP_MS(5) + 4000);
    CHECK_EQ_INT(s.run_time.sum_ns, WP_MS(5) + 3 * 2000);
    wp_pool_destroy(pool);
}

static void test_one_clock_without_channel(void) { check_one_clock(false); }
static void test_one_clock_with_channel(void) { check_one_clock(true); }

/* ------------------------------------------------------------------------ */
/* Item 8: 64-bit counts across the wrap of the queue's tickets              */

/* The lanes count positions in size_t tickets (two per job), which wrap
   after SIZE_MAX / 2 + 1 jobs: 2^31 on 32-bit targets, 2^63 on 64-bit. */
static void test_submitted_counts_across_the_wrap(void) {
    const uint64_t wrap = ((uint64_t)SIZE_MAX >> 1) + 1;
    const int k = 40;
    const uint64_t seeded = wrap - (uint64_t)k;
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 256 }, &pool),
                   WP_OK);
    wp__test_seed_jobs(pool, seeded); /* as if that many had run */
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, seeded);
    CHECK_EQ_UINT(s.completed, seeded);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(5)), WP_OK);

    /* A gate, then 2k jobs whose positions cross the wrap: k/2 alone, a
       batch of k, k/2 alone. */
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < k / 2; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wp_job batch[40];
    for (int i = 0; i < k; i++)
        batch[i] = (wp_job){ .fn = count_job, .arg = &ran };
    REQUIRE_EQ_UINT(wp_submit_batch(pool, batch, (size_t)k, NULL), (size_t)k);
    for (int i = 0; i < k / 2; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    const uint64_t total = seeded + 1 + 2 * (uint64_t)k;
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, total);
    CHECK_EQ_UINT(s.queue_depth, 2 * (size_t)k);
    /* wait_idle counts the pending jobs across the wrap too */
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_MS(20)), WP_TIMED_OUT);
    char want[160];
    snprintf(want, sizeof want, "workerpool_jobs_submitted_total{pool=\"workerpool\"} %llu\n",
             (unsigned long long)total);
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, want) != NULL);

    gate_open(&g);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 2 * k);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, total);
    CHECK_EQ_UINT(s.completed, total);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Item 10: an inline-only pool starts no thread                             */

static void on_stall(const wp_event *ev, void *user) {
    (void)ev;
    (void)user;
}

static void test_inline_only_refuses_watchdog(void) {
    wp_pool *pool = (wp_pool *)&pool; /* not NULL: create must clear it */
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .hooks.stall = on_stall }, &pool),
                 WP_INVALID);
    CHECK(pool == NULL);
    if (pool)
        wp_pool_destroy(pool);
    pool = (wp_pool *)&pool;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .hooks.stall = on_stall,
                                              .observe.stall_threshold = -1 }, &pool), WP_INVALID);
    CHECK(pool == NULL);
    if (pool)
        wp_pool_destroy(pool);
    /* the rest of observability is allowed there (and the watchdog with workers) */
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .observe.latency = true },
                                  &pool), WP_OK);
    wp_pool_destroy(pool);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .hooks.stall = on_stall }, &pool),
                   WP_OK);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_batch_observed_like_single),
    WPT_TEST(test_batch_waits_measured),
    WPT_TEST(test_latency_sum_saturates),
    WPT_TEST(test_one_clock_without_channel),
    WPT_TEST(test_one_clock_with_channel),
    WPT_TEST(test_submitted_counts_across_the_wrap),
    WPT_TEST(test_inline_only_refuses_watchdog),
};
WPT_MAIN(tests)
