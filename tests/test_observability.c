/* test_observability.c - latency histograms, the new stats fields, the
   task/error/stall hooks and the three formatters.

   Latency figures are checked against durations injected through the clock
   override: the pool's clock is a counter that only the jobs move (each job
   advances it by its own "duration"), so with one worker every queue wait
   and run time is known exactly. The formatters are checked for exact
   values and structure here; tests/observability/check.sh (make
   test-formats) also feeds their output to python3's json module and to
   promtool. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* A clock that only jobs move                                               */

static atomic_llong fake_now;
static atomic_llong clock_reads;

static int64_t fake_clock(void *user) {
    (void)user;
    atomic_fetch_add(&clock_reads, 1);
    return (int64_t)atomic_load(&fake_now);
}

static void fake_reset(int64_t start) {
    atomic_store(&fake_now, (long long)start);
    atomic_store(&clock_reads, 0);
}

/* Runs for `arg` ns of fake time: advances the clock by that much. */
static int advance_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add(&fake_now, (long long)(intptr_t)arg);
    return 0;
}

/* Returns the code its arg holds. */
static int code_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return (int)(intptr_t)arg;
}

/* Checks that `text` contains `piece`, and shows the piece when not. */
#define CHECK_CONTAINS(text, piece)                                                 \
    do {                                                                            \
        if (!strstr((text), (piece))) {                                             \
            CHECK(!"the text contains the expected piece");                         \
            wpt_note("missing: %s", (piece));                                       \
        }                                                                           \
    } while (0)

static int bucket_of(int64_t ns) {
    int i = 0;
    while (i < WP_LATENCY_BUCKETS - 1 && ns > wp_latency_bound(i))
        i++;
    return i;
}

/* ------------------------------------------------------------------------ */
/* Histograms                                                                */

static void test_latency_bounds(void) {
    CHECK_EQ_INT(wp_latency_bound(0), 100);
    CHECK_EQ_INT(wp_latency_bound(1), 200);
    CHECK_EQ_INT(wp_latency_bound(2), 500);
    CHECK_EQ_INT(wp_latency_bound(3), 1000);
    CHECK_EQ_INT(wp_latency_bound(WP_LATENCY_BUCKETS - 2), WP_SEC(50));
    CHECK_EQ_INT(wp_latency_bound(WP_LATENCY_BUCKETS - 1), WP_FOREVER);
    CHECK_EQ_INT(wp_latency_bound(-1), WP_FOREVER);
    CHECK_EQ_INT(wp_latency_bound(WP_LATENCY_BUCKETS), WP_FOREVER);
    for (int i = 1; i < WP_LATENCY_BUCKETS; i++)
        CHECK_CMP_INT(wp_latency_bound(i - 1), <, wp_latency_bound(i));
}

/* One worker; a gate job holds it while 100 jobs are queued at one fake
   instant; then 90 jobs of 3 us, 9 of 30 us and 1 of 2 ms run in that order.
   Run times:  0 (the gate), 90 x 3000, 9 x 30000, 1 x 2000000 ns.
   Queue waits: 0 (the gate), then the sum of the runs before each job:
   0, 3000, ... 267000 (90 jobs), 270000 ... 510000 step 30000, 540000. */
static void test_latency_percentiles_injected(void) {
    fake_reset(WP_SEC(5));
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .observe.latency = true, .clock = fake_clock };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    for (int i = 0; i < 100; i++) {
        int64_t d = i < 90 ? 3000 : i < 99 ? 30000 : 2000000;
        REQUIRE_STATUS(wp_submit(pool, advance_job, (void *)(intptr_t)d), WP_OK);
    }
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);

    const wp_latency *r = &s.run_time;
    CHECK_EQ_UINT(r->count, 101);
    CHECK_EQ_INT(r->sum_ns, 90 * 3000 + 9 * 30000 + 2000000);
    CHECK_EQ_INT(r->mean_ns, 2540000 / 101);
    CHECK_EQ_INT(r->max_ns, 2000000);
    CHECK_EQ_INT(r->p50_ns, 5000);   /* rank 51: a 3 us job, bucket (2, 5] us */
    CHECK_EQ_INT(r->p90_ns, 5000);   /* rank 91: the last 3 us job */
    CHECK_EQ_INT(r->p99_ns, 50000);  /* rank 100: a 30 us job, bucket (20, 50] us */
    CHECK_EQ_UINT(r->buckets[0], 1);
    CHECK_EQ_UINT(r->buckets[bucket_of(3000)], 90);
    CHECK_EQ_UINT(r->buckets[bucket_of(30000)], 9);
    CHECK_EQ_UINT(r->buckets[bucket_of(2000000)], 1);
    CHECK_EQ_INT(bucket_of(2000000), 13); /* exactly on a bound: that bucket */

    const wp_latency *w = &s.queue_wait;
    CHECK_EQ_UINT(w->count, 101);
    CHECK_EQ_INT(w->sum_ns, 16065000);
    CHECK_EQ_INT(w->mean_ns, 16065000 / 101);
    CHECK_EQ_INT(w->max_ns, 540000);
    CHECK_EQ_INT(w->p50_ns, 200000);  /* rank 51: 147000, bucket (100, 200] us */
    CHECK_EQ_INT(w->p90_ns, 500000);  /* rank 91: 267000, bucket (200, 500] us */
    CHECK_EQ_INT(w->p99_ns, 540000);  /* rank 100: 510000, bucket (0.5, 1] ms, capped at max */
    CHECK_EQ_UINT(w->buckets[0], 2);  /* the gate and the first job waited 0 */
    wp_pool_destroy(pool);
}

/* Without observe.latency or hooks nothing is timed: the clock is not read
   per job and the histograms stay empty. */
static void test_latency_off_reads_no_clock(void) {
    fake_reset(0);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 2, .clock = fake_clock };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    int n = (int)wpt_scaled(5000, 500);
    for (int i = 0; i < n; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), n);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.run_time.count, 0);
    CHECK_EQ_UINT(s.queue_wait.count, 0);
    CHECK_EQ_INT(s.run_time.p99_ns, 0);
    /* untracked per submission: only a full queue is noticed */
    CHECK(s.queue_high_water == 0 || s.queue_high_water == s.queue_capacity);
    /* create and one stats call read it; nothing per job */
    CHECK_CMP_INT(atomic_load(&clock_reads), <=, 4);
    wp_pool_destroy(pool);
}

/* Several producers and workers: every job that ran is in both histograms
   exactly once, and the snapshot at quiescence balances. */
static int maybe_fail_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return ((intptr_t)arg % 7) == 0 ? 3 : 0;
}

typedef struct producer {
    wp_pool *pool;
    int jobs;
} producer;

static void produce(void *p) {
    producer *pr = (producer *)p;
    for (int i = 0; i < pr->jobs; i++)
        wp_submit(pr->pool, maybe_fail_job, (void *)(intptr_t)i);
}

static void test_histograms_count_every_job(void) {
    wp_pool *pool;
    wp_config cfg = { .max_workers = 3, .queue_capacity = 64, .observe.latency = true };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    producer pr = { pool, (int)wpt_scaled(20000, 700) };
    wpt_thread t[3];
    for (int i = 0; i < 3; i++)
        t[i] = wpt_thread_start(produce, &pr);
    for (int i = 0; i < 3; i++)
        wpt_thread_join(t[i]);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.submitted, 3 * (uint64_t)pr.jobs);
    CHECK_EQ_UINT(s.run_time.count, s.completed + s.failed);
    CHECK_EQ_UINT(s.queue_wait.count, s.completed + s.failed);
    uint64_t want_failed = 3 * (uint64_t)((pr.jobs + 6) / 7);
    CHECK_EQ_UINT(s.failed, want_failed);
    CHECK_EQ_INT(s.last_error_code, 3);
    CHECK(s.run_time.p50_ns <= s.run_time.p90_ns);
    CHECK(s.run_time.p90_ns <= s.run_time.p99_ns);
    CHECK(s.run_time.p99_ns <= s.run_time.max_ns);
    CHECK(s.queue_wait.p99_ns <= s.queue_wait.max_ns);
    CHECK_CMP_UINT(s.queue_high_water, >=, 1);
    CHECK_CMP_UINT(s.queue_high_water, <=, s.queue_capacity);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */

static void test_high_water_mark(void) {
    /* Exact with observe.latency: 10 jobs queued behind a gate. */
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 64, .observe.latency = true };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 10; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 10);
    CHECK_EQ_UINT(s.queue_high_water, 10);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.queue_high_water, 10);
    wp_pool_destroy(pool);

    /* Without it, a queue found full still shows as a full high-water mark. */
    wp_config cfg2 = { .max_workers = 1, .queue_capacity = 4, .backpressure = WP_REJECT };
    REQUIRE_STATUS(wp_pool_create(&cfg2, &pool), WP_OK);
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    for (int i = 0; i < 4; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_FULL);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.rejected, 1);
    CHECK_EQ_UINT(s.queue_high_water, 4);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_pool_destroy(pool);
}

typedef struct error_log {
    atomic_int calls;
    atomic_int last_code;
    atomic_llong last_id;
    atomic_int last_worker;
    atomic_int bad_arg;
} error_log;

static void on_error(const wp_event *ev, void *user) {
    int worker = ev->worker, code = ev->code;
    uint64_t id = ev->job_id;
    void *arg = ev->arg;
    error_log *e = (error_log *)user;
    if ((int)(intptr_t)arg != code)
        atomic_fetch_add(&e->bad_arg, 1);
    atomic_store(&e->last_code, code);
    atomic_store(&e->last_id, (long long)id);
    atomic_store(&e->last_worker, worker);
    atomic_fetch_add(&e->calls, 1);
}

static void test_last_error_and_error_hook(void) {
    fake_reset(WP_SEC(1));
    error_log e;
    memset(&e, 0, sizeof e);
    wp_pool *pool;
    wp_config cfg = { .name = "errs", .max_workers = 1, .clock = fake_clock,
                      .hooks.error = on_error, .hooks.user = &e };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.last_error_ns, -1);
    CHECK_EQ_INT(s.last_error_code, 0);
    CHECK_EQ_INT(s.last_error_worker, -1);
    CHECK(strcmp(s.name, "errs") == 0);

    /* ids 1..6: codes 0, 5, 0, -2, 0, 9; the clock moves 1 ms per job */
    const int codes[6] = { 0, 5, 0, -2, 0, 9 };
    for (int i = 0; i < 6; i++) {
        atomic_fetch_add(&fake_now, (long long)WP_MS(1));
        wp_job job = { .fn = code_job, .arg = (void *)(intptr_t)codes[i], .id = (uint64_t)i + 1 };
        REQUIRE_STATUS(wp_submit_job(pool, &job), WP_OK);
        /* one at a time, so the clock value at the failure is known */
        REQUIRE_EVENTUALLY(pool_stats(pool).completed + pool_stats(pool).failed == (uint64_t)i + 1, 5000);
    }
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.failed, 3);
    CHECK_EQ_UINT(s.completed, 3);
    CHECK_EQ_INT(atomic_load(&e.calls), 3);
    CHECK_EQ_INT(atomic_load(&e.bad_arg), 0);
    CHECK_EQ_INT(atomic_load(&e.last_code), 9);
    CHECK_EQ_INT(atomic_load(&e.last_id), 6);
    CHECK_EQ_INT(s.last_error_code, 9);
    CHECK_EQ_UINT(s.last_error_job_id, 6);
    CHECK_EQ_INT(s.last_error_worker, 0);
    CHECK_EQ_INT(s.last_error_ns, WP_MS(6));
    CHECK_EQ_UINT(s.run_time.count, 0); /* the error hook alone times nothing */
    wp_pool_destroy(pool);
}

/* Failures on two workers: the snapshot shows the later one, whichever
   worker it came from. */
static void test_last_error_latest_of_workers(void) {
    fake_reset(0);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 2, .clock = fake_clock };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_store(&g.code, 7);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 100 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    atomic_store(&fake_now, (long long)WP_MS(1));
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = (void *)(intptr_t)3, .id = 1 }),
                   WP_OK);
    REQUIRE_EVENTUALLY(pool_stats(pool).failed == 1, 5000);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.last_error_code, 3);
    CHECK_EQ_UINT(s.last_error_job_id, 1);
    CHECK_EQ_INT(s.last_error_ns, WP_MS(1));
    int first = s.last_error_worker;
    CHECK(first == 0 || first == 1);
    atomic_store(&fake_now, (long long)WP_MS(2));
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.failed, 2);
    CHECK_EQ_INT(s.last_error_code, 7);
    CHECK_EQ_UINT(s.last_error_job_id, 100);
    CHECK_EQ_INT(s.last_error_ns, WP_MS(2));
    CHECK_EQ_INT(s.last_error_worker, 1 - first); /* the gate held the other worker */
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */

#define HOOK_JOBS 20

typedef struct task_log {
    atomic_int started[HOOK_JOBS];
    atomic_int ended[HOOK_JOBS];
    atomic_int out_of_order;
    atomic_int bad;
    atomic_llong run_ns[HOOK_JOBS];
    atomic_llong wait_ns[HOOK_JOBS];
    atomic_int code[HOOK_JOBS];
} task_log;

static void on_task_start(const wp_event *ev, void *user) {
    int worker = ev->worker;
    uint64_t id = ev->job_id;
    void *arg = ev->arg;
    task_log *l = (task_log *)user;
    if (id >= HOOK_JOBS || worker != 0 || (uint64_t)(intptr_t)arg != id * 1000) {
        atomic_fetch_add(&l->bad, 1);
        return;
    }
    if (atomic_load(&l->ended[id]) != 0)
        atomic_fetch_add(&l->out_of_order, 1);
    atomic_fetch_add(&l->started[id], 1);
}

static void on_task_end(const wp_event *ev, void *user) {
    int worker = ev->worker, code = ev->code;
    uint64_t id = ev->job_id;
    void *arg = ev->arg;
    int64_t wait_ns = ev->wait_ns, run_ns = ev->run_ns;
    task_log *l = (task_log *)user;
    if (id >= HOOK_JOBS || worker != 0 || (uint64_t)(intptr_t)arg != id * 1000) {
        atomic_fetch_add(&l->bad, 1);
        return;
    }
    if (atomic_load(&l->started[id]) != 1)
        atomic_fetch_add(&l->out_of_order, 1);
    atomic_fetch_add(&l->ended[id], 1);
    atomic_store(&l->run_ns[id], (long long)run_ns);
    atomic_store(&l->wait_ns[id], (long long)wait_ns);
    atomic_store(&l->code[id], code);
}

/* Advances the fake clock by arg ns; fails (code 1) for ids that are odd. */
static int advance_and_fail_odd(void *arg, wp_ctx *ctx) {
    atomic_fetch_add(&fake_now, (long long)(intptr_t)arg);
    return (int)(wp_ctx_id(ctx) & 1);
}

static void test_task_hooks(void) {
    fake_reset(WP_SEC(2));
    static task_log l;
    memset(&l, 0, sizeof l);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .clock = fake_clock, .hooks.task_start = on_task_start,
                      .hooks.task_end = on_task_end, .hooks.user = &l };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 999 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    /* job i runs i * 1000 ns of fake time */
    for (int i = 0; i < HOOK_JOBS; i++) {
        wp_job job = { .fn = advance_and_fail_odd, .arg = (void *)(intptr_t)(i * 1000), .id = (uint64_t)i };
        REQUIRE_STATUS(wp_submit_job(pool, &job), WP_OK);
    }
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&l.bad), 2); /* the gate job (id 999): start and end */
    CHECK_EQ_INT(atomic_load(&l.out_of_order), 0);
    long long waited = 0;
    for (int i = 0; i < HOOK_JOBS; i++) {
        CHECK_EQ_INT(atomic_load(&l.started[i]), 1);
        CHECK_EQ_INT(atomic_load(&l.ended[i]), 1);
        CHECK_EQ_INT(atomic_load(&l.run_ns[i]), i * 1000);
        CHECK_EQ_INT(atomic_load(&l.wait_ns[i]), waited);
        CHECK_EQ_INT(atomic_load(&l.code[i]), i & 1);
        waited += i * 1000;
    }
    /* hooks alone fill no histogram */
    CHECK_EQ_UINT(pool_stats(pool).run_time.count, 0);
    wp_pool_destroy(pool);
}

static void count_hook(const wp_event *ev, void *user) {
    (void)ev;
    atomic_fetch_add((atomic_int *)user, 1);
}

/* Canceled jobs never ran: no task hook for them. */
static void test_task_hooks_skip_canceled(void) {
    atomic_int starts;
    atomic_init(&starts, 0);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 1, .hooks.task_start = count_hook, .hooks.user = &starts };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, true);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 5; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    REQUIRE_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.canceled, 5);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    CHECK_EQ_INT(atomic_load(&starts), 1);
    wp_pool_destroy(pool);
}

typedef struct thread_log {
    atomic_int started_mask;
    atomic_int stopped_mask;
    atomic_int calls;
} thread_log;

static void on_start(const wp_event *ev, void *user) {
    thread_log *t = (thread_log *)user;
    atomic_fetch_or(&t->started_mask, 1 << ev->worker);
    atomic_fetch_add(&t->calls, 1);
}

static void on_stop(const wp_event *ev, void *user) {
    thread_log *t = (thread_log *)user;
    atomic_fetch_or(&t->stopped_mask, 1 << ev->worker);
    atomic_fetch_add(&t->calls, 1);
}

static void test_thread_hooks(void) {
    thread_log t;
    memset(&t, 0, sizeof t);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 3, .hooks.thread_start = on_start, .hooks.thread_stop = on_stop,
                      .hooks.user = &t };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&t.started_mask) == 7, 5000);
    CHECK_EQ_INT(atomic_load(&t.stopped_mask), 0);
    REQUIRE_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&t.started_mask), 7);
    CHECK_EQ_INT(atomic_load(&t.stopped_mask), 7);
    CHECK_EQ_INT(atomic_load(&t.calls), 6);
}

/* ------------------------------------------------------------------------ */
/* The stall watchdog                                                        */

typedef struct stall_log {
    atomic_int calls;
    atomic_int worker;
    atomic_llong id;
    atomic_llong running;
} stall_log;

static void on_stall(const wp_event *ev, void *user) {
    stall_log *l = (stall_log *)user;
    atomic_store(&l->worker, ev->worker);
    atomic_store(&l->id, (long long)ev->job_id);
    atomic_store(&l->running, (long long)ev->run_ns);
    atomic_fetch_add(&l->calls, 1);
}

static void test_stall_watchdog(void) {
    fake_reset(WP_SEC(3));
    stall_log l;
    memset(&l, 0, sizeof l);
    wp_pool *pool;
    wp_config cfg = { .max_workers = 2, .clock = fake_clock, .observe.stall_threshold = WP_MS(50),
                      .hooks.stall = on_stall, .hooks.user = &l };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    /* Quick jobs: never reported. */
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 50; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 77 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    int worker = -1;
    /* The clock has not moved: however long the job runs in real time, it
       has run 0 ns on the pool's clock. */
    wpt_sleep_ms(60);
    CHECK_EQ_INT(atomic_load(&l.calls), 0);
    atomic_fetch_add(&fake_now, (long long)WP_MS(100));
    CHECK_EVENTUALLY(atomic_load(&l.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&l.id), 77);
    CHECK_CMP_INT(atomic_load(&l.running), >=, WP_MS(100));
    worker = atomic_load(&l.worker);
    CHECK(worker == 0 || worker == 1);
    /* Reported once, however long it goes on. */
    atomic_fetch_add(&fake_now, (long long)WP_MS(100));
    wpt_sleep_ms(150);
    CHECK_EQ_INT(atomic_load(&l.calls), 1);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 50);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Every hook kind, with the fields wp_event documents for it                */

enum { EVENTS_KEPT = 32 };

typedef struct event_log {
    atomic_int n;
    atomic_int stalls;
    wp_event ev[EVENTS_KEPT];
} event_log;

/* Every hook: copies the event (each call takes its own cell; the test
   reads them after destroy joined every thread). */
static void log_event(const wp_event *ev, void *user) {
    event_log *l = (event_log *)user;
    int i = atomic_fetch_add(&l->n, 1);
    if (i < EVENTS_KEPT)
        l->ev[i] = *ev;
    if (ev->kind == WP_EVENT_STALL)
        atomic_fetch_add(&l->stalls, 1);
}

/* How many logged events equal `want`, field by field. */
static int count_event(const event_log *l, wp_event want) {
    int n = atomic_load(&l->n) < EVENTS_KEPT ? atomic_load(&l->n) : EVENTS_KEPT, found = 0;
    for (int i = 0; i < n; i++) {
        const wp_event *e = &l->ev[i];
        found += e->kind == want.kind && e->worker == want.worker && e->job_id == want.job_id
            && e->arg == want.arg && e->code == want.code && e->wait_ns == want.wait_ns
            && e->run_ns == want.run_ns;
    }
    return found;
}

/* One worker on the fake clock. A gate job (id 1) holds it while two jobs
   queue behind it; the clock moves 100 ms (the gate is reported stalled),
   the gate opens; job 7 runs 300 ns and returns 0, job 8 returns 5. Each
   event arrives once, with exactly the fields its kind sets. */
static void test_every_hook_kind_and_its_fields(void) {
    const int64_t t0 = WP_SEC(1), held = WP_MS(100);
    fake_reset(t0);
    static event_log l;
    memset(&l, 0, sizeof l);
    atomic_init(&l.n, 0);
    atomic_init(&l.stalls, 0);
    wp_config cfg = { .max_workers = 1, .clock = fake_clock,
                      .observe.stall_threshold = WP_MS(50),
                      .hooks = { log_event, log_event, log_event, log_event, log_event,
                                 log_event, &l } };
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g, .id = 1 }), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    void *arg7 = (void *)(intptr_t)300, *arg8 = (void *)(intptr_t)5;
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = advance_job, .arg = arg7, .id = 7 }), WP_OK);
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = arg8, .id = 8 }), WP_OK);
    atomic_fetch_add(&fake_now, (long long)held);
    CHECK_EVENTUALLY(atomic_load(&l.stalls) == 1, 5000);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    REQUIRE_STATUS(wp_pool_destroy(pool), WP_OK);

    /*                       kind                   worker id  arg   code wait            run */
    const wp_event want[] = {
        { WP_EVENT_THREAD_START, 0, 0, NULL, 0, 0,              0 },
        { WP_EVENT_TASK_START,   0, 1, &g,   0, 0,              0 },
        { WP_EVENT_STALL,        0, 1, NULL, 0, 0,              held },
        { WP_EVENT_TASK_END,     0, 1, &g,   0, 0,              held },
        { WP_EVENT_TASK_START,   0, 7, arg7, 0, held,           0 },
        { WP_EVENT_TASK_END,     0, 7, arg7, 0, held,           300 },
        { WP_EVENT_TASK_START,   0, 8, arg8, 0, held + 300,     0 },
        { WP_EVENT_TASK_END,     0, 8, arg8, 5, held + 300,     0 },
        { WP_EVENT_ERROR,        0, 8, arg8, 5, 0,              0 },
        { WP_EVENT_THREAD_STOP,  0, 0, NULL, 0, 0,              0 },
    };
    enum { WANT = sizeof want / sizeof want[0] };
    CHECK_EQ_INT(atomic_load(&l.n), WANT);
    for (int i = 0; i < WANT; i++) {
        int found = count_event(&l, want[i]);
        if (found != 1)
            wpt_note("event #%d (kind %d, job %llu) seen %d times", i, (int)want[i].kind,
                     (unsigned long long)want[i].job_id, found);
        CHECK_EQ_INT(found, 1);
    }
    /* The thread hooks frame the rest. */
    CHECK_EQ_INT(l.ev[0].kind, WP_EVENT_THREAD_START);
    if (atomic_load(&l.n) == WANT)
        CHECK_EQ_INT(l.ev[WANT - 1].kind, WP_EVENT_THREAD_STOP);
}

#if defined(__linux__)
static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}
#endif

/* The watchdog is the only extra thread, and only when hooks.stall is set. */
static void test_watchdog_thread_only_when_asked(void) {
#if defined(__linux__)
    /* Under an emulator (make test-cross runs qemu-user through
       WP_TEST_RUNNER) /proc counts the emulator's threads too. */
    const char *runner = getenv("WP_TEST_RUNNER");
    if (runner && *runner) {
        wpt_note("thread counting under %s: skipped", runner);
        return;
    }
    int base = thread_count();
    REQUIRE(base > 0);
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .observe.latency = true,
                                                .hooks.error = on_error, .hooks.user = NULL },
                                  &pool), WP_OK);
    CHECK_EQ_INT(thread_count(), base + 2);
    wp_pool_destroy(pool);
    stall_log l;
    memset(&l, 0, sizeof l);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .hooks.stall = on_stall,
                                                .hooks.user = &l },
                                  &pool), WP_OK);
    CHECK_EQ_INT(thread_count(), base + 3);
    wp_pool_destroy(pool);
    CHECK_EVENTUALLY(thread_count() == base, 2000);
#else
    wpt_note("thread counting needs /proc: skipped");
#endif
}

/* ------------------------------------------------------------------------ */
/* Formatters                                                                */

/* A snapshot with a value in every field. */
static wp_stats sample_stats(void) {
    wp_stats s;
    memset(&s, 0, sizeof s);
    strcpy(s.name, "api \"v2\"\\x");
    s.workers = 4;
    s.active = 3;
    s.idle = 1;
    s.queue_depth = 7;
    s.queue_capacity = 1024;
    s.submitted = 100;
    s.completed = 90;
    s.failed = 6;
    s.canceled = 4;
    s.rejected = 11;
    s.dropped = 12;
    s.timed_out = 13;
    s.refused_closed = 14;
    s.processed = 100;
    s.utilization = 0.75;
    s.results_pending = 2;
    s.min_workers = 1;
    s.max_workers = 8;
    s.peak_workers = 5;
    s.scale_ups = 4;
    s.scale_downs = 1;
    s.spawn_failures = 0;
    s.last_scale_up_ns = WP_MS(1500);
    s.last_scale_down_ns = -1;
    s.uptime_ns = WP_SEC(61) + 5;
    s.queue_high_water = 300;
    s.last_error_code = -22;
    s.last_error_worker = 2;
    s.last_error_job_id = 4242;
    s.last_error_ns = WP_SEC(60);
    /* run times: 3 in (100, 200] ns, 2 in (1, 2] ms, 1 above 50 s */
    s.run_time.buckets[1] = 3;
    s.run_time.buckets[13] = 2;
    s.run_time.buckets[WP_LATENCY_BUCKETS - 1] = 1;
    s.run_time.count = 6;
    s.run_time.sum_ns = WP_SEC(70) + 3000450;
    s.run_time.mean_ns = s.run_time.sum_ns / 6;
    s.run_time.p50_ns = 200;
    s.run_time.p90_ns = WP_SEC(70);
    s.run_time.p99_ns = WP_SEC(70);
    s.run_time.max_ns = WP_SEC(70);
    return s;
}

static void test_format_snprintf_contract(void) {
    wp_stats s = sample_stats();
    int (*fmt[3])(const wp_stats *, char *, size_t) = {
        wp_stats_format_table, wp_stats_format_json, wp_stats_format_prometheus
    };
    static char full[65536], part[65536];
    for (int f = 0; f < 3; f++) {
        int need = fmt[f](&s, NULL, 0);
        REQUIRE_CMP_INT(need, >, 100);
        REQUIRE_CMP_INT(need, <, (int)sizeof full);
        CHECK_EQ_INT(fmt[f](&s, full, sizeof full), need);
        CHECK_EQ_INT((int)strlen(full), need);
        /* exactly enough room, one byte short, a few bytes */
        size_t caps[4] = { (size_t)need + 1, (size_t)need, 10, 1 };
        for (int c = 0; c < 4; c++) {
            memset(part, 'Z', sizeof part);
            CHECK_EQ_INT(fmt[f](&s, part, caps[c]), need);
            size_t len = caps[c] - 1;
            CHECK_EQ_INT((int)strlen(part), (int)len);
            CHECK(memcmp(part, full, len) == 0);
            CHECK(part[caps[c]] == 'Z'); /* nothing written past cap */
        }
        CHECK_EQ_INT(fmt[f](NULL, full, sizeof full), -1);
        CHECK_EQ_INT(fmt[f](&s, NULL, 10), -1);
    }
}

static void test_format_json_fields(void) {
    wp_stats s = sample_stats();
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_json(&s, b, sizeof b), <, (int)sizeof b);
    const char *want[] = {
        "{\"name\":\"api \\\"v2\\\"\\\\x\",\"uptime_ns\":61000000005,",
        "\"workers\":{\"total\":4,\"active\":3,\"idle\":1,\"peak\":5,\"min\":1,\"max\":8,"
        "\"utilization\":0.75}",
        "\"queue\":{\"depth\":7,\"capacity\":1024,\"high_water\":300}",
        "\"jobs\":{\"submitted\":100,\"completed\":90,\"failed\":6,\"canceled\":4,\"expired\":0,"
        "\"evicted\":0,\"processed\":100,\"rejected\":11,"
        "\"dropped\":12,\"timed_out\":13,\"refused_closed\":14,\"results_pending\":2}",
        "\"scaling\":{\"ups\":4,\"downs\":1,\"spawn_failures\":0,\"last_up_ns\":1500000000,"
        "\"last_down_ns\":-1}",
        "\"last_error\":{\"code\":-22,\"worker\":2,\"job_id\":4242,\"at_ns\":60000000000}",
        "\"run_time\":{\"count\":6,\"sum_ns\":70003000450,\"mean_ns\":11667166741,\"p50_ns\":200,"
        "\"p90_ns\":70000000000,\"p99_ns\":70000000000,\"max_ns\":70000000000,\"buckets\":"
        "[{\"le_ns\":100,\"count\":0},{\"le_ns\":200,\"count\":3},",
        "{\"le_ns\":2000000,\"count\":2},",
        "{\"le_ns\":50000000000,\"count\":0},{\"le_ns\":null,\"count\":1}]}}}\n",
        "\"queue_wait\":{\"count\":0,\"sum_ns\":0,",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_CONTAINS(b, want[i]);
    /* Brackets balance outside strings (a cheap structural check; the real
       parser runs in make test-formats). */
    int depth = 0;
    bool in_string = false, ok = true;
    for (const char *p = b; *p; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            ok = ok && --depth >= 0;
        }
    }
    CHECK(ok && depth == 0 && !in_string);
    /* no last error: null */
    s.last_error_ns = -1;
    wp_stats_format_json(&s, b, sizeof b);
    CHECK(strstr(b, "\"last_error\":null,") != NULL);
}

static void test_format_prometheus_lines(void) {
    wp_stats s = sample_stats();
    strcpy(s.name, "web\n\"1\"");
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, b, sizeof b), <, (int)sizeof b);
    const char *want[] = {
        "# TYPE workerpool_workers gauge\nworkerpool_workers{pool=\"web\\n\\\"1\\\"\"} 4\n",
        "# TYPE workerpool_jobs_completed_total counter\n"
        "workerpool_jobs_completed_total{pool=\"web\\n\\\"1\\\"\"} 90\n",
        "workerpool_submissions_rejected_total{pool=\"web\\n\\\"1\\\"\"} 11\n",
        "workerpool_queue_high_water{pool=\"web\\n\\\"1\\\"\"} 300\n",
        "workerpool_last_scale_up_seconds{pool=\"web\\n\\\"1\\\"\"} 1.5\n",
        "workerpool_last_scale_down_seconds{pool=\"web\\n\\\"1\\\"\"} -1\n",
        "workerpool_uptime_seconds{pool=\"web\\n\\\"1\\\"\"} 61.000000005\n",
        "workerpool_last_error_code{pool=\"web\\n\\\"1\\\"\"} -22\n",
        "# TYPE workerpool_utilization_ratio gauge\n"
        "workerpool_utilization_ratio{pool=\"web\\n\\\"1\\\"\"} 0.75\n",
        "# TYPE workerpool_jobs_processed_total counter\n"
        "workerpool_jobs_processed_total{pool=\"web\\n\\\"1\\\"\"} 100\n",
        "# TYPE workerpool_run_seconds histogram\n"
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"0.0000001\"} 0\n"
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"0.0000002\"} 3\n",
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"0.001\"} 3\n"
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"0.002\"} 5\n",
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"50\"} 5\n"
        "workerpool_run_seconds_bucket{pool=\"web\\n\\\"1\\\"\",le=\"+Inf\"} 6\n"
        "workerpool_run_seconds_sum{pool=\"web\\n\\\"1\\\"\"} 70.00300045\n"
        "workerpool_run_seconds_count{pool=\"web\\n\\\"1\\\"\"} 6\n",
        "# TYPE workerpool_queue_wait_seconds histogram\n",
        "workerpool_queue_wait_seconds_count{pool=\"web\\n\\\"1\\\"\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_CONTAINS(b, want[i]);
    /* Every # TYPE comes before its samples, counters end in _total, and
       every sample line belongs to the last TYPE'd family. */
    char family[128] = "", type[32] = "";
    int samples = 0, types = 0;
    for (char *line = b; *line;) {
        char *nl = strchr(line, '\n');
        REQUIRE(nl != NULL); /* the text ends with a newline */
        *nl = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            CHECK(sscanf(line + 7, "%127s %31s", family, type) == 2);
            if (strcmp(type, "counter") == 0)
                CHECK(strlen(family) > 6 && strcmp(family + strlen(family) - 6, "_total") == 0);
            types++;
        } else if (line[0] != '#') {
            size_t n = strlen(family);
            CHECK(n > 0 && strncmp(line, family, n) == 0);
            samples++;
        }
        *nl = '\n';
        line = nl + 1;
    }
    CHECK_EQ_INT(types, 30 + 2);
    CHECK_EQ_INT(samples, 30 + 2 * (WP_LATENCY_BUCKETS + 2));
}

static void test_format_table(void) {
    wp_stats s = sample_stats();
    static char b[8192];
    REQUIRE_CMP_INT(wp_stats_format_table(&s, b, sizeof b), <, (int)sizeof b);
    const char *want[] = {
        "workers     4 (active 3, idle 1, peak 5, min 1, max 8)\n",
        "queue       7 queued of 1024, high water 300; results pending 2\n",
        ("jobs        submitted 100 = completed 90 + failed 6 + canceled 4 + expired 0"
         " + evicted 0\n"),
        "refused     rejected 11, dropped 12, timed out 13, closed 14\n",
        "last error  code -22 on worker 2 from job 4242 at 60.000 s\n",
        "load        utilization 75.0%, processed 100\n",
        "run time             6",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_CONTAINS(b, want[i]);
}

/* A live pool's snapshot through all three: the formatters see what
   wp_pool_stats saw. */
static void test_format_live_pool(void) {
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .name = "live", .max_workers = 2,
                                                .observe.latency = true }, &pool), WP_OK);
    for (int i = 0; i < 50; i++)
        REQUIRE_STATUS(wp_submit(pool, code_job, (void *)(intptr_t)(i % 10 == 0)), WP_OK);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    static char b[65536];
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "workerpool_jobs_failed_total{pool=\"live\"} 5\n") != NULL);
    CHECK(strstr(b, "workerpool_jobs_completed_total{pool=\"live\"} 45\n") != NULL);
    CHECK(strstr(b, "workerpool_run_seconds_count{pool=\"live\"} 50\n") != NULL);
    CHECK(strstr(b, "workerpool_run_seconds_bucket{pool=\"live\",le=\"+Inf\"} 50\n") != NULL);
    REQUIRE_CMP_INT(wp_stats_format_json(&s, b, sizeof b), <, (int)sizeof b);
    CHECK(strstr(b, "\"submitted\":50,\"completed\":45,\"failed\":5,") != NULL);
    CHECK(strstr(b, "\"last_error\":{\"code\":1,") != NULL);
    wp_pool_destroy(pool);
}

/* Jobs run by threads that are not workers (a helping caller, an inline-only
   pool, WP_CALLER_RUNS) reach the task and error hooks with worker -1 and
   the histograms and the last error, also from several helpers at once. */
static atomic_int g_ext_ends, g_ext_errors, g_ext_minus_one;
static void ext_hook(const wp_event *e, void *user)
{
    (void)user;
    if (e->worker == -1)
        atomic_fetch_add(&g_ext_minus_one, 1);
    if (e->kind == WP_EVENT_TASK_END)
        atomic_fetch_add(&g_ext_ends, 1);
    if (e->kind == WP_EVENT_ERROR)
        atomic_fetch_add(&g_ext_errors, 1);
}
static int ext_job(void *arg, wp_ctx *ctx) { (void)ctx; return (int)(intptr_t)arg; }
static void ext_help(void *arg) { wp_pool_help((wp_pool *)arg, WP_MS(500)); }

static void test_hooks_and_histograms_see_jobs_run_by_other_threads(void)
{
    atomic_store(&g_ext_ends, 0);
    atomic_store(&g_ext_errors, 0);
    atomic_store(&g_ext_minus_one, 0);
    enum { N = 2000 };
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = N,
                                               .observe.latency = true,
                                               .hooks.task_end = ext_hook, .hooks.error = ext_hook },
                                &pool), WP_OK);
    for (int i = 0; i < N; i++)
        CHECK_STATUS(wp_submit(pool, ext_job, (void *)(intptr_t)(i % 10 == 0 ? 7 : 0)), WP_OK);
    wpt_thread helpers[3];
    for (int i = 0; i < 3; i++)
        helpers[i] = wpt_thread_start(ext_help, pool);
    for (int i = 0; i < 3; i++)
        wpt_thread_join(helpers[i]);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(5)), WP_OK);
    CHECK_EQ_INT(atomic_load(&g_ext_ends), N);
    CHECK_EQ_INT(atomic_load(&g_ext_errors), N / 10);
    CHECK_EQ_INT(atomic_load(&g_ext_minus_one), N + N / 10);
    wp_stats st;
    wp_pool_stats(pool, &st);
    CHECK_EQ_UINT(st.run_time.count, N);
    CHECK_EQ_UINT(st.queue_wait.count, N);
    CHECK_EQ_INT(st.last_error_code, 7);
    CHECK_EQ_INT(st.last_error_worker, -1);
    wp_pool_destroy(pool);

    /* WP_CALLER_RUNS in a pool with workers: the submitter runs it */
    atomic_store(&g_ext_ends, 0);
    atomic_store(&g_ext_minus_one, 0);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                               .backpressure = WP_CALLER_RUNS,
                                               .hooks.task_end = ext_hook },
                                &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    CHECK_STATUS(wp_submit(pool, ext_job, NULL), WP_OK);
    CHECK_STATUS(wp_submit(pool, ext_job, NULL), WP_OK);
    CHECK_STATUS(wp_submit(pool, ext_job, NULL), WP_OK); /* full: runs here */
    CHECK_EQ_INT(atomic_load(&g_ext_minus_one), 1);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    CHECK_EQ_INT(atomic_load(&g_ext_ends), 4);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_latency_bounds),
    WPT_TEST(test_latency_percentiles_injected),
    WPT_TEST(test_latency_off_reads_no_clock),
    WPT_TEST(test_histograms_count_every_job),
    WPT_TEST(test_high_water_mark),
    WPT_TEST(test_last_error_and_error_hook),
    WPT_TEST(test_last_error_latest_of_workers),
    WPT_TEST(test_task_hooks),
    WPT_TEST(test_task_hooks_skip_canceled),
    WPT_TEST(test_thread_hooks),
    WPT_TEST(test_stall_watchdog),
    WPT_TEST(test_every_hook_kind_and_its_fields),
    WPT_TEST(test_watchdog_thread_only_when_asked),
    WPT_TEST(test_format_snprintf_contract),
    WPT_TEST(test_format_json_fields),
    WPT_TEST(test_format_prometheus_lines),
    WPT_TEST(test_format_table),
    WPT_TEST(test_format_live_pool),
    WPT_TEST(test_hooks_and_histograms_see_jobs_run_by_other_threads),
};
WPT_MAIN(tests)
