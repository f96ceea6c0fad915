/* Tests of wp_config.take_run: workers that claim runs of short jobs.

   One worker and a paused pool make them deterministic: while the pool is
   paused the worker takes nothing, so the test queues exactly the jobs it
   wants, and on resume the worker sees them all published. It then claims
   half of them (rounded up, at most take_run) in one go; the queue depth
   tells how many it took, and a gate job at the head of the run holds the
   worker while the test looks. The stress variants (tests/test_stress.c)
   check exactly-once delivery with runs under load and close.

   Workers normally start taking one job at a time until a measured job
   proves short; the test hook wp__test_start_short makes them start with
   runs, and the threshold is raised to 10 ms here, so that a slow machine
   (or a sanitizer) cannot turn a test's short jobs into long ones. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#define WP_SHORT_JOB_NS ((int64_t)10000000)
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

static wp_pool *one_worker_pool(size_t take_run, size_t max_handles) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    wp_status s = wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                               .take_run = take_run, .max_handles = max_handles },
                                 &pool);
    CHECK_STATUS(s, WP_OK);
    return pool;
}

/* The scene of most tests: a gate job at the head of the queue, `more`
   count jobs behind it, all published at once (queued while paused), and
   the gate job running. */
typedef struct scene {
    gate g;
    atomic_int count;
} scene;

static bool scene_start(wp_pool *pool, scene *sc, int more, bool honor_stop) {
    gate_init(&sc->g, honor_stop);
    atomic_init(&sc->count, 0);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    int accepted = wp_submit(pool, gate_job, &sc->g) == WP_OK;
    for (int i = 0; i < more; i++)
        accepted += wp_submit(pool, count_job, &sc->count) == WP_OK;
    CHECK_EQ_INT(accepted, more + 1);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    bool started = gate_wait_started(&sc->g, 1, 10000);
    CHECK(started);
    return started && accepted == more + 1;
}

/* Opens the gate, drains the pool and checks that every count job ran. */
static void scene_drain(wp_pool *pool, scene *sc, int more) {
    gate_open(&sc->g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&sc->count), more);
    CHECK_STATS_BALANCE(pool_stats(pool));
}

/* With the gate job running, how many of the `more` jobs are still queued. */
static void check_queued_behind_gate(wp_pool *pool, int more, size_t queued) {
    scene sc;
    if (!scene_start(pool, &sc, more, false))
        return;
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, queued);
    scene_drain(pool, &sc, more);
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
    check_queued_behind_gate(pool, 5, 5);
    wp_pool_destroy(pool);
}

/* Six published: the worker claims three (the gate and two count jobs) and
   holds two of them behind the gate; three stay queued. */
static void test_run_claims_half_of_what_is_published(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    scene sc;
    REQUIRE(scene_start(pool, &sc, 5, false));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 3);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&sc.count), 0); /* held behind the gate */
    scene_drain(pool, &sc, 5);
    wp_pool_destroy(pool);
}

/* take_run caps the claim: 40 published, take_run 4, so 36 stay queued. */
static void test_run_is_capped_by_take_run(void) {
    wp_pool *pool = one_worker_pool(4, 0);
    REQUIRE(pool);
    check_queued_behind_gate(pool, 39, 36);
    wp_pool_destroy(pool);
}

/* A worker whose jobs turn out long (15 ms each, above the 10 ms set here)
   goes back to taking one job at a time. */
static void test_long_jobs_end_the_runs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    static const int long_ms = 15;
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(wp_submit(pool, sleep_job, (void *)&long_ms), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    scene sc;
    REQUIRE(scene_start(pool, &sc, 5, false));
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 5);
    gate_open(&sc.g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&sc.count), 5);
    wp_pool_destroy(pool);
}

/* A pause holds the rest of a run as it holds the queue: nothing held
   starts after wp_pool_pause returned. */
static void test_pause_holds_the_rest_of_a_run(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    scene sc;
    REQUIRE(scene_start(pool, &sc, 5, false));
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    gate_open(&sc.g);
    CHECK_EVENTUALLY(atomic_load(&sc.g.finished) == 1, 10000);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&sc.count), 0);
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 3);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    scene_drain(pool, &sc, 5);
    wp_pool_destroy(pool);
}

/* Close with WP_CANCEL reaches held jobs like queued ones. */
static void test_close_cancel_cancels_held_jobs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    scene sc;
    REQUIRE(scene_start(pool, &sc, 5, true)); /* the gate returns once canceled */
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&sc.g.saw_stop), 1);
    CHECK_EQ_INT(atomic_load(&sc.count), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 5);
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* Close with WP_DRAIN runs held jobs like queued ones, also when the gate
   opens only after the close began. */
static void test_close_drain_runs_held_jobs(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    scene sc;
    REQUIRE(scene_start(pool, &sc, 5, false));
    gate_opener opener;
    gate_open_later(&opener, &sc.g, 20);
    scene_drain(pool, &sc, 5);
    wpt_thread_join(opener.thread);
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

/* A fresh worker takes its first job alone and measures it: a pool of long
   jobs never piles them onto its first claimer. */
static void test_first_take_is_single_and_measured(void) {
    wp__test_start_short(0);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                              .take_run = 8 }, &pool), WP_OK);
    REQUIRE(pool);
    check_queued_behind_gate(pool, 5, 5);
    wp_pool_destroy(pool);
}

/* Long jobs spread over the workers from the start: 8 x 100 ms on 4
   workers take two rounds, not the four of a first claim of 4. */
static void test_first_claims_of_long_jobs_are_not_runs(void) {
    wp__test_start_short(0);
    wp_config c = wp_config_high_throughput();
    c.max_workers = 4;
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&c, &pool), WP_OK);
    REQUIRE(pool);
    static const int ms = 100;
    wp_job jobs[8];
    for (int i = 0; i < 8; i++)
        jobs[i] = (wp_job){ .fn = sleep_job, .arg = (void *)&ms };
    int64_t t0 = wpt_now_ns();
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, 8, NULL), 8);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    int64_t took = wpt_ms_since(t0);
    wpt_note("8 x 100 ms on 4 workers: %lld ms", (long long)took);
    CHECK_CMP_INT(took, <, 350);
    wp_pool_destroy(pool);
}

/* wp_result_recv in a job: a result is there to take, so it takes it, and
   never runs held jobs into the channel it is meant to drain. */
typedef struct recv_arg {
    wp_pool *pool;
    atomic_int *count;
    atomic_int count_at_return;
    atomic_int status; /* -100: not returned yet */
} recv_arg;

static int recv_in_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    recv_arg *a = (recv_arg *)arg;
    wp_result r;
    wp_status s = wp_result_recv(a->pool, &r, WP_SEC(2));
    atomic_store(&a->count_at_return, atomic_load(a->count));
    atomic_store(&a->status, (int)s);
    return 0;
}

static void test_recv_in_job_does_not_block_on_its_own_channel(void) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                              .result_capacity = 2, .take_run = 8 }, &pool),
                 WP_OK);
    REQUIRE(pool);
    atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK); /* one result waits */
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    recv_arg a;
    a.pool = pool;
    a.count = &count;
    atomic_init(&a.count_at_return, -1);
    atomic_init(&a.status, -100);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, recv_in_job, &a), WP_OK); /* run: A B1 B2 B3 */
    for (int i = 0; i < 7; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&a.status) != -100, 4000);
    CHECK_EQ_INT(atomic_load(&a.status), (int)WP_OK);
    CHECK_EQ_INT(atomic_load(&a.count_at_return), 1); /* it ran no held job */
    wp_pool_destroy(pool); /* lets a blocked delivery go */
}

/* wp_pool_wait_idle in a job counts held jobs as work to help with: once
   the receiver drains a full channel, the waiter runs them. */
typedef struct idle_arg {
    wp_pool *pool;
    gate g;
    atomic_int status;
} idle_arg;

static int gate_then_wait_idle(void *arg, wp_ctx *ctx) {
    idle_arg *a = (idle_arg *)arg;
    gate_job(&a->g, ctx);
    atomic_store(&a->status, (int)wp_pool_wait_idle(a->pool, WP_SEC(3)));
    return 0;
}

static void test_wait_idle_in_job_runs_held_jobs_once_results_drain(void) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                              .result_capacity = 4, .take_run = 8 }, &pool),
                 WP_OK);
    REQUIRE(pool);
    atomic_int count;
    atomic_init(&count, 0);
    for (int i = 0; i < 2; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK); /* channel 2/4 */
    idle_arg a;
    a.pool = pool;
    gate_init(&a.g, false);
    atomic_init(&a.status, -100);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, gate_then_wait_idle, &a), WP_OK); /* run: A B1 */
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    REQUIRE(gate_wait_started(&a.g, 1, 10000));
    wp_pool_help(pool, WP_SEC(1)); /* the queued jobs, until the channel is full */
    CHECK_EQ_UINT(pool_stats(pool).results_pending, 4);
    gate_open(&a.g);
    wpt_sleep_ms(100);
    wp_result r;
    while (wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK) /* the receiver drains */
        ;
    int64_t t0 = wpt_now_ns();
    CHECK_EVENTUALLY(atomic_load(&a.status) != -100, 5000);
    CHECK_EQ_INT(atomic_load(&a.status), (int)WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 1500);
    wp_pool_destroy(pool);
}

/* wp_job_wait runs held jobs only when the job waited for is one of them,
   and only up to it: a job that holds a lock across the wait never sees
   an unrelated job run under that lock on its own thread. */
typedef struct lock_arg {
    wp_pool *pool;
    pthread_mutex_t m;
    atomic_int count;
    atomic_int reentered; /* the second job could not take the lock */
    atomic_int j1_status;
} lock_arg;

static int j1_lock_and_wait(void *arg, wp_ctx *ctx) {
    (void)ctx;
    lock_arg *a = (lock_arg *)arg;
    pthread_mutex_lock(&a->m);
    wp_handle h;
    wp_status s = wp_submit_job(a->pool, &(wp_job){ .fn = count_job, .arg = &a->count,
                                                    .handle = &h });
    if (s == WP_OK)
        s = wp_job_wait(a->pool, h, WP_SEC(5), NULL);
    atomic_store(&a->j1_status, (int)s);
    pthread_mutex_unlock(&a->m);
    return 0;
}

static int j2_lock(void *arg, wp_ctx *ctx) {
    (void)ctx;
    lock_arg *a = (lock_arg *)arg;
    /* EDEADLK (an error-checking mutex) if J1 holds it on this very thread */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    int e = pthread_mutex_timedlock(&a->m, &until);
    if (e != 0)
        atomic_store(&a->reentered, e);
    else
        pthread_mutex_unlock(&a->m);
    return 0;
}

static void test_job_wait_does_not_run_other_jobs_under_the_callers_lock(void) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 3, .queue_capacity = 64,
                                              .max_handles = 16, .take_run = 8 }, &pool), WP_OK);
    REQUIRE(pool);
    lock_arg a;
    a.pool = pool;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&a.m, &at);
    pthread_mutexattr_destroy(&at);
    atomic_init(&a.count, 0);
    atomic_init(&a.reentered, 0);
    atomic_init(&a.j1_status, -100);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, j1_lock_and_wait, &a), WP_OK); /* run: J1 J2 */
    CHECK_STATUS(wp_submit(pool, j2_lock, &a), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &a.count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&a.j1_status), (int)WP_OK);
    CHECK_EQ_INT(atomic_load(&a.reentered), 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
    pthread_mutex_destroy(&a.m);
}

/* A wait in a job starts no held job while the pool is paused. */
typedef struct pause_arg {
    wp_pool *pool;
    gate g;
    wp_handle target;
    atomic_int done;
} pause_arg;

static int gate_then_job_wait(void *arg, wp_ctx *ctx) {
    pause_arg *a = (pause_arg *)arg;
    gate_job(&a->g, ctx);
    wp_job_wait(a->pool, a->target, WP_MS(50), NULL); /* times out: paused */
    atomic_store(&a->done, 1);
    return 0;
}

static void test_job_wait_starts_no_held_job_while_paused(void) {
    wp_pool *pool = one_worker_pool(8, 16);
    REQUIRE(pool);
    pause_arg a;
    a.pool = pool;
    gate_init(&a.g, false);
    atomic_init(&a.done, 0);
    atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    /* run: A B1 T, where T is the job A waits for */
    CHECK_STATUS(wp_submit(pool, gate_then_job_wait, &a), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &count,
                                                .handle = &a.target }), WP_OK);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    REQUIRE(gate_wait_started(&a.g, 1, 10000));
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    gate_open(&a.g);
    CHECK_EVENTUALLY(atomic_load(&a.done) == 1, 5000);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&count), 0); /* nothing starts after pause returned */
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 5);
    wp_pool_destroy(pool);
}

/* wp_job_wait in a job for a job its worker holds (A waits for T in the run
   A B1 T) gets it run, whatever stands in the way for a while: a full
   result channel (B1's delivery waits for the receiver) or a pause. */
typedef struct held_wait {
    wp_pool *pool;
    gate g;
    wp_handle target;
    atomic_int status;    /* what wp_job_wait answered; -100: not yet */
} held_wait;

static int gate_then_wait_held(void *arg, wp_ctx *ctx) {
    held_wait *h = (held_wait *)arg;
    gate_job(&h->g, ctx);
    atomic_store(&h->status, (int)wp_job_wait(h->pool, h->target, WP_SEC(5), NULL));
    return 0;
}

static void check_wait_for_held_job(bool full_channel) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                              .max_handles = 16, .take_run = 8,
                                              .result_capacity = full_channel ? 2 : 0 },
                                 &pool), WP_OK);
    REQUIRE(pool);
    static atomic_int count; /* static: nothing may outlive it if a check fails */
    atomic_init(&count, 0);
    if (full_channel) { /* two results wait: the channel is full */
        for (int i = 0; i < 2; i++)
            CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
        CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    }
    static held_wait h;
    h.pool = pool;
    gate_init(&h.g, false);
    atomic_init(&h.status, -100);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, gate_then_wait_held, &h), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &count,
                                                .handle = &h.target }), WP_OK);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    REQUIRE(gate_wait_started(&h.g, 1, 10000));
    if (!full_channel)
        CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    gate_open(&h.g);
    wpt_sleep_ms(100); /* A waits: behind the full channel, or the pause */
    CHECK_EQ_INT(atomic_load(&h.status), -100);
    int64_t t0 = wpt_now_ns();
    if (full_channel) {
        wp_result r;
        for (int i = 0; i < 2; i++) /* the receiver makes room */
            CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(5)), WP_OK);
    } else {
        CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    }
    CHECK_EVENTUALLY(atomic_load(&h.status) != -100, 5000);
    CHECK_EQ_INT(atomic_load(&h.status), (int)WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 2000);
    wp_pool_destroy(pool); /* drains (and discards what the channel holds) */
}

static void test_wait_for_held_job_behind_a_full_channel(void) {
    check_wait_for_held_job(true);
}

static void test_wait_for_held_job_across_a_pause(void) {
    check_wait_for_held_job(false);
}

/* A paused surplus worker that holds jobs parks instead of spinning past
   its idle deadline (it may not retire while it holds jobs). */
static int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_paused_surplus_worker_holding_jobs_parks(void) {
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .min_workers = 1, .max_workers = 2,
                                              .queue_capacity = 64, .take_run = 8,
                                              .idle_timeout = WP_MS(200),
                                              .scale_up_cooldown = WP_SEC(100) }, &pool),
                 WP_OK);
    REQUIRE(pool);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK);
    /* static: a gate job must never outlive its gate, even if a check fails */
    static gate busy, g;
    gate_init(&busy, false);
    gate_init(&g, false);
    static atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_submit(pool, gate_job, &busy), WP_OK); /* one worker stays busy */
    REQUIRE(gate_wait_started(&busy, 1, 10000));
    REQUIRE(pool_stats(pool).workers == 2); /* the surplus one has not retired */
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK); /* run: G B1 B2 */
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 10000));
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    gate_open(&g);
    CHECK_EVENTUALLY(atomic_load(&g.finished) == 1, 5000);
    wpt_sleep_ms(250); /* past the idle timeout */
    int64_t c0 = cpu_ns(), t0 = wpt_now_ns();
    wpt_sleep_ms(300);
    int64_t cpu = cpu_ns() - c0, wall = wpt_now_ns() - t0;
    wpt_note("cpu %lld ms over %lld ms paused", (long long)(cpu / 1000000),
             (long long)(wall / 1000000));
    CHECK_CMP_INT(cpu, <, wall / 4);
    gate_open(&busy);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 4);
    wp_pool_destroy(pool);
}

/* Held jobs a wait runs still run as their worker's: on_error, hooks and
   histograms see them. */
static atomic_int errors_seen;

static void count_error(int worker, uint64_t id, void *arg, int code, void *user) {
    (void)worker;
    (void)id;
    (void)arg;
    (void)code;
    (void)user;
    atomic_fetch_add(&errors_seen, 1);
}

static int fail_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    return 7;
}

typedef struct waiter2 {
    wp_pool *pool;
    wp_handle target;
    atomic_int status;
} waiter2;

static int wait_target2(void *arg, wp_ctx *ctx) {
    (void)ctx;
    waiter2 *w = (waiter2 *)arg;
    atomic_store(&w->status, (int)wp_job_wait(w->pool, w->target, WP_SEC(5), NULL));
    return 0;
}

static void test_on_error_sees_failed_held_jobs(void) {
    atomic_init(&errors_seen, 0);
    wp__test_start_short(1);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 64,
                                              .max_handles = 16, .take_run = 8,
                                              .on_error = count_error }, &pool), WP_OK);
    REQUIRE(pool);
    waiter2 w;
    w.pool = pool;
    atomic_init(&w.status, -100);
    atomic_int count;
    atomic_init(&count, 0);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, wait_target2, &w), WP_OK); /* run: A F C */
    CHECK_STATUS(wp_submit(pool, fail_job, NULL), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &count,
                                                .handle = &w.target }), WP_OK);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &count), WP_OK);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(20)), WP_OK);
    CHECK_EQ_INT(atomic_load(&w.status), (int)WP_OK);
    CHECK_EQ_UINT(pool_stats(pool).failed, 1);
    CHECK_EQ_INT(atomic_load(&errors_seen), 1);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

/* Priorities in use or a rate limit: one job per claim, whatever take_run
   says (priorities keep their exact order; the rate counts starts). */
static void test_no_runs_with_priorities_or_a_rate_limit(void) {
    wp_pool *pool = one_worker_pool(8, 0);
    REQUIRE(pool);
    atomic_int low;
    atomic_init(&low, 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &low,
                                                .priority = WP_PRIORITY_LOW }), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    check_queued_behind_gate(pool, 5, 5);
    wp_pool_destroy(pool);

    wp__test_start_short(1);
    pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64, .take_run = 8,
                                              .rate_limit = 1e9, .rate_burst = 1000 }, &pool),
                 WP_OK);
    REQUIRE(pool);
    check_queued_behind_gate(pool, 5, 5);
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
    WPT_TEST(test_first_take_is_single_and_measured),
    WPT_TEST(test_first_claims_of_long_jobs_are_not_runs),
    WPT_TEST(test_recv_in_job_does_not_block_on_its_own_channel),
    WPT_TEST(test_wait_idle_in_job_runs_held_jobs_once_results_drain),
    WPT_TEST(test_job_wait_does_not_run_other_jobs_under_the_callers_lock),
    WPT_TEST(test_job_wait_starts_no_held_job_while_paused),
    WPT_TEST(test_wait_for_held_job_behind_a_full_channel),
    WPT_TEST(test_wait_for_held_job_across_a_pause),
    WPT_TEST(test_paused_surplus_worker_holding_jobs_parks),
    WPT_TEST(test_on_error_sees_failed_held_jobs),
    WPT_TEST(test_no_runs_with_priorities_or_a_rate_limit),
    WPT_TEST(test_runs_keep_fifo_order_across_wraps),
};

WPT_MAIN(tests)
