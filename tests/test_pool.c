/* Tests of the pool's basics: running jobs, defaults, argument checking,
   status strings, the job context, stats, thread hooks and the job queue's
   counters wrapping inside a pool. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"
#include <math.h>

static int online_cpus(void) { return wpt_online_cpus(); }

/* ------------------------------------------------------------------------ */
/* Running jobs                                                              */

static void test_default_pool_runs_every_job(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(NULL, &pool), WP_OK);
    REQUIRE(pool != NULL);
    atomic_int ran;
    atomic_init(&ran, 0);
    const int n = (int)wpt_scaled(20000, 500);
    int accepted = 0;
    for (int i = 0; i < n; i++)
        accepted += wp_submit(pool, count_job, &ran) == WP_OK;
    CHECK_EQ_INT(accepted, n);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), n);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, (uint64_t)n);
    CHECK_EQ_UINT(s.completed, (uint64_t)n);
    CHECK_EQ_UINT(s.failed, 0);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_null_config_means_defaults(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(NULL, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, online_cpus());
    CHECK_EQ_UINT(s.queue_capacity, 1024);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.submitted, 0);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_INVALID); /* no channel */
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_zero_config_means_defaults(void) {
    wp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, online_cpus());
    CHECK_EQ_UINT(s.queue_capacity, 1024);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_destroy_without_close_runs_queued_jobs(void) {
    /* destroy closes with WP_DRAIN when the pool is still open */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    for (int i = 0; i < 20; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    gate_opener opener;
    gate_open_later(&opener, &g, 30);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    wpt_thread_join(opener.thread);
    CHECK_EQ_INT(atomic_load(&ran), 20);
    CHECK_EQ_INT(atomic_load(&g.finished), 1);
}

static int return_code_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return (int)(intptr_t)arg;
}

static void test_nonzero_return_counts_as_failed(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    int expected_failed = 0;
    for (int i = 0; i < 30; i++) {
        int code = i % 3 == 0 ? 0 : (i % 3 == 1 ? 5 : -1);
        expected_failed += code != 0;
        CHECK_STATUS(wp_submit(pool, return_code_job, (void *)(intptr_t)code), WP_OK);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 30);
    CHECK_EQ_UINT(s.failed, (uint64_t)expected_failed);
    CHECK_EQ_UINT(s.completed, (uint64_t)(30 - expected_failed));
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Bad arguments                                                             */

static void test_create_rejects_impossible_configs_and_clears_out(void) {
    static int dummy;
    const wp_config bad[] = {
        { .scaling.min_workers = 4, .max_workers = 2 },
        { .max_workers = WP_MAX_WORKERS + 1 },
        { .max_workers = -1 },
        { .scaling.min_workers = -1 },
        { .scaling.min_workers = -1, .max_workers = 2 },
        { .scaling.min_workers = WP_MAX_WORKERS + 1 },
        { .queue_capacity = ((size_t)1 << 30) + 1 },
        { .queue_capacity = SIZE_MAX },
        { .result_capacity = ((size_t)1 << 30) + 1 },
        { .result_capacity = SIZE_MAX },
        { .backpressure = (wp_backpressure)99 },
        { .backpressure = (wp_backpressure)-1 },
        { .submit_timeout = -1 },
        { .submit_timeout = INT64_MIN },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wp_pool *pool = (wp_pool *)(void *)&dummy;
        wp_status s = wp_pool_create(&bad[i], &pool);
        if (s != WP_INVALID)
            wpt_note("bad config #%zu accepted", i);
        CHECK_STATUS(s, WP_INVALID);
        CHECK(pool == NULL);
        if (s == WP_OK && pool)
            wp_pool_destroy(pool);
    }
    CHECK_STATUS(wp_pool_create(NULL, NULL), WP_INVALID);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, NULL), WP_INVALID);
}

static void ignore_event(const wp_event *ev, void *user) {
    (void)ev, (void)user;
}

/* Each part of wp_config (.scaling, .rate, .observe, .hooks) left at zero
   takes the default written beside its fields: read straight from the
   resolver wp_pool_create uses, then seen on a live pool where the public
   API shows it. */
static void test_config_groups_zero_takes_defaults(void) {
    wp_config r;
    wp__config_resolve(&(wp_config){ 0 }, &r);
    CHECK_STATUS(wp__config_check(&r), WP_OK);
    CHECK(r.name != NULL && strcmp(r.name, "workerpool") == 0);
    CHECK_EQ_INT(r.max_workers, online_cpus());
    CHECK_EQ_UINT(r.queue_capacity, 1024);
    CHECK_EQ_INT(r.backpressure, WP_BLOCK);
    CHECK_EQ_INT(r.submit_timeout, WP_SEC(1));
    CHECK_EQ_UINT(r.result_capacity, 0);
    CHECK_EQ_UINT(r.max_handles, 256);
    CHECK_EQ_UINT(r.pinned_capacity, 0);
    CHECK(r.clock == NULL && r.allocator.alloc == NULL && r.allocator.free == NULL);
    /* .scaling */
    CHECK_EQ_INT(r.scaling.min_workers, r.max_workers);
    CHECK_EQ_UINT(r.scaling.up_threshold, 4);
    CHECK_EQ_INT(r.scaling.up_cooldown, WP_MS(10));
    CHECK_EQ_INT(r.scaling.idle_timeout, WP_SEC(10));
    CHECK_EQ_INT(r.scaling.down_cooldown, WP_SEC(1));
    /* .rate */
    CHECK(r.rate.limit == 0);
    CHECK_EQ_UINT(r.rate.burst, 1);
    /* .observe: the threshold stays 0 without a stall hook to read it */
    CHECK(!r.observe.latency);
    CHECK_EQ_INT(r.observe.stall_threshold, 0);
    /* .hooks */
    CHECK(r.hooks.thread_start == NULL && r.hooks.thread_stop == NULL && r.hooks.task_start == NULL
          && r.hooks.task_end == NULL && r.hooks.error == NULL && r.hooks.stall == NULL
          && r.hooks.user == NULL);

    /* NULL is the zero config. */
    wp_config n;
    wp__config_resolve(NULL, &n);
    CHECK_EQ_INT(n.max_workers, r.max_workers);
    CHECK_EQ_UINT(n.scaling.up_threshold, r.scaling.up_threshold);

    /* A stall hook alone: threshold 1 s. A small queue clamps the threshold
       below its capacity; max 0 with a larger min grows max to min. */
    wp__config_resolve(&(wp_config){ .queue_capacity = 3, .hooks.stall = ignore_event }, &r);
    CHECK_EQ_INT(r.observe.stall_threshold, WP_SEC(1));
    CHECK_EQ_UINT(r.scaling.up_threshold, 2);
    wp__config_resolve(&(wp_config){ .scaling.min_workers = online_cpus() + 1 }, &r);
    CHECK_EQ_INT(r.max_workers, online_cpus() + 1);
    CHECK_STATUS(wp__config_check(&r), WP_OK);

    /* Setting one field of a group leaves the others at their defaults. */
    wp__config_resolve(&(wp_config){ .scaling.idle_timeout = WP_MS(3), .rate.limit = 5 }, &r);
    CHECK_EQ_INT(r.scaling.idle_timeout, WP_MS(3));
    CHECK_EQ_INT(r.scaling.up_cooldown, WP_MS(10));
    CHECK_EQ_INT(r.scaling.min_workers, r.max_workers);
    CHECK_EQ_UINT(r.rate.burst, 1);

    /* On a live pool: zero .scaling is a fixed set. */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2,
                                                .scaling.up_cooldown = WP_MS(1) }, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, 2);
    CHECK_EQ_INT(s.max_workers, 2);
    wp_pool_destroy(pool);
}

/* A bad value in each part of wp_config is WP_INVALID. */
static void test_config_groups_bad_value_is_invalid(void) {
    static int dummy;
    const wp_config bad[] = {
        /* .scaling */
        { .max_workers = 2, .scaling.min_workers = 3 },
        { .scaling.min_workers = -1 },
        { .scaling.up_cooldown = -1 },
        { .scaling.idle_timeout = -1 },
        { .scaling.down_cooldown = INT64_MIN },
        { .inline_only = true, .scaling.min_workers = 1 },
        /* .rate */
        { .rate.limit = -1 },
        { .rate.limit = (double)NAN },
        { .rate.limit = 1e-12 },
        /* .observe */
        { .observe.stall_threshold = -1 },
        { .observe.stall_threshold = -1, .hooks.stall = ignore_event },
        /* .hooks */
        { .inline_only = true, .hooks.stall = ignore_event },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wp_pool *pool = (wp_pool *)(void *)&dummy;
        wp_status st = wp_pool_create(&bad[i], &pool);
        if (st != WP_INVALID)
            wpt_note("bad config #%zu accepted", i);
        CHECK_STATUS(st, WP_INVALID);
        CHECK(pool == NULL);
        if (st == WP_OK && pool)
            wp_pool_destroy(pool);
    }
    /* The same groups with good values are accepted. */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){
                       .max_workers = 2, .scaling = { 1, 2, WP_MS(1), WP_MS(50), WP_MS(1) },
                       .rate = { 1e6, 8 }, .observe = { true, WP_SEC(5) },
                       .hooks = { .thread_start = ignore_event, .error = ignore_event,
                                  .stall = ignore_event } }, &pool), WP_OK);
    wp_pool_destroy(pool);
}

static void test_create_accepts_the_limits(void) {
    /* the largest documented queue capacity, and a result channel */
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 1, .queue_capacity = (size_t)1 << 20, .result_capacity = 3 };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_capacity, (size_t)1 << 20);
    wp_pool_destroy(pool);
    /* min == max is a fixed set; min < max starts min workers and scales */
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .scaling.min_workers = 3, .max_workers = 3 }, &pool), WP_OK);
    CHECK_EQ_INT(pool_stats(pool).workers, 3);
    wp_pool_destroy(pool);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .scaling.min_workers = 1, .max_workers = 3 }, &pool), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 1);
    CHECK_EQ_INT(s.min_workers, 1);
    CHECK_EQ_INT(s.max_workers, 3);
    wp_pool_destroy(pool);
}

static void test_null_pool_is_invalid_everywhere(void) {
    atomic_int ran;
    atomic_init(&ran, 0);
    wp_result r;
    wp_stats s;
    CHECK_STATUS(wp_submit(NULL, count_job, &ran), WP_INVALID);
    CHECK_STATUS(wp_submit_job(NULL, &(wp_job){ .fn = count_job, .arg = &ran }), WP_INVALID);
    CHECK_STATUS(wp_result_recv(NULL, &r, WP_NOWAIT), WP_INVALID);
    CHECK_STATUS(wp_result_recv(NULL, &r, WP_FOREVER), WP_INVALID);
    CHECK_STATUS(wp_pool_close(NULL, WP_DRAIN, WP_FOREVER), WP_INVALID);
    CHECK_STATUS(wp_pool_close(NULL, WP_CANCEL, WP_NOWAIT), WP_INVALID);
    CHECK_STATUS(wp_pool_stats(NULL, &s), WP_INVALID);
    CHECK_STATUS(wp_pool_destroy(NULL), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 0);
}

static void test_null_fn_job_or_out_is_invalid(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 4 }, &pool), WP_OK);
    CHECK_STATUS(wp_submit(pool, NULL, NULL), WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, NULL), WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .arg = pool, .id = 3 }), WP_INVALID);
    CHECK_STATUS(wp_pool_stats(pool, NULL), WP_INVALID);
    CHECK_STATUS(wp_result_recv(pool, NULL, WP_NOWAIT), WP_INVALID);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 0); /* invalid submissions are not counted */
    CHECK_EQ_UINT(s.rejected + s.dropped + s.timed_out + s.refused_closed, 0);
    wp_pool_destroy(pool);
}

static void test_submit_job_rejects_unknown_policy_and_negative_timeout(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                 .backpressure = (wp_backpressure)99 }), WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                 .backpressure = (wp_backpressure)-1 }), WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .submit_timeout = -1 }), WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran, .backpressure = WP_TIMEOUT,
                                                 .submit_timeout = INT64_MIN }), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    CHECK_EQ_UINT(pool_stats(pool).submitted, 0);
    wp_pool_destroy(pool);
}

static void test_close_and_recv_reject_bad_arguments(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 4 }, &pool), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, -1), WP_INVALID);
    CHECK_STATUS(wp_result_recv(pool, &r, INT64_MIN), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, (wp_close_mode)7, WP_FOREVER), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, (wp_close_mode)-1, WP_FOREVER), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, -1), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, INT64_MIN), WP_INVALID);
    /* none of them closed the pool */
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    wp_pool_destroy(pool);
}

static void test_status_str_names_every_status_distinctly(void) {
#define STATUS_VALUE(name, value, text) name,
    static const wp_status all[] = { WP_STATUS_LIST(STATUS_VALUE) };
#undef STATUS_VALUE
    const size_t n = sizeof all / sizeof all[0];
    CHECK_EQ_UINT(n, 15);
    const char *unknown = wp_status_str((wp_status)12345);
    REQUIRE(unknown != NULL);
    CHECK(unknown[0] != '\0');
    CHECK(wp_status_str((wp_status)1) != NULL);
    CHECK(wp_status_str((wp_status)-15) != NULL);
    CHECK(wp_status_str((wp_status)INT32_MIN) != NULL);
    CHECK(strcmp(wp_status_str((wp_status)-15), unknown) == 0);
    for (size_t i = 0; i < n; i++) {
        const char *a = wp_status_str(all[i]);
        REQUIRE(a != NULL);
        CHECK(a[0] != '\0');
        CHECK(strcmp(a, unknown) != 0);
        if (i > 0)
            CHECK(all[i] < 0); /* every failure is negative */
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(a, wp_status_str(all[j])) != 0);
    }
    CHECK_EQ_INT(WP_OK, 0);
}

/* ------------------------------------------------------------------------ */
/* The job context                                                           */

typedef struct ctx_probe {
    atomic_int bad_id, bad_worker, stop_seen, runs;
    int workers;
} ctx_probe;

typedef struct ctx_job_arg {
    ctx_probe *probe;
    uint64_t expected_id;
} ctx_job_arg;

static int ctx_job(void *arg, wp_ctx *ctx) {
    ctx_job_arg *a = arg;
    if (wp_ctx_id(ctx) != a->expected_id)
        atomic_fetch_add(&a->probe->bad_id, 1);
    int w = wp_ctx_worker(ctx);
    if (w < 0 || w >= a->probe->workers)
        atomic_fetch_add(&a->probe->bad_worker, 1);
    if (wp_ctx_should_stop(ctx))
        atomic_fetch_add(&a->probe->stop_seen, 1);
    atomic_fetch_add(&a->probe->runs, 1);
    return 0;
}

static void test_ctx_reports_id_worker_and_no_stop(void) {
    ctx_probe probe;
    memset(&probe, 0, sizeof probe);
    probe.workers = 3;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 3 }, &pool), WP_OK);
    enum { N = 300 };
    static ctx_job_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i].probe = &probe;
        if (i % 2 == 0) {
            args[i].expected_id = 0; /* wp_submit: id 0 */
            CHECK_STATUS(wp_submit(pool, ctx_job, &args[i]), WP_OK);
        } else {
            args[i].expected_id = UINT64_C(0xABCDEF0000000000) + (uint64_t)i;
            CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = ctx_job, .arg = &args[i],
                                                         .id = args[i].expected_id }), WP_OK);
        }
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&probe.runs), N);
    CHECK_EQ_INT(atomic_load(&probe.bad_id), 0);
    CHECK_EQ_INT(atomic_load(&probe.bad_worker), 0);
    CHECK_EQ_INT(atomic_load(&probe.stop_seen), 0); /* a drain never asks jobs to stop */
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Stats                                                                     */

static void test_stats_right_after_create(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 3, .queue_capacity = 100,
                                                .result_capacity = 8 }, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 3);
    CHECK_EQ_INT(s.active, 0);
    CHECK_EQ_INT(s.idle, 3);
    CHECK_EQ_UINT(s.queue_capacity, 100); /* exact, not rounded up (0.3) */
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.submitted + s.completed + s.failed + s.canceled, 0);
    CHECK_EQ_UINT(s.rejected + s.dropped + s.timed_out + s.refused_closed, 0);
    CHECK_EQ_UINT(s.results_pending, 0);
    /* the test hook sees the same queue */
    CHECK_EQ_UINT(wp_queue_capacity(wp__pool_queue(pool)), 100);
    CHECK_EQ_UINT(wp_queue_size(wp__pool_queue(pool)), 0);
    wp_pool_destroy(pool);
}

static void test_stats_active_and_idle_while_one_job_runs(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 2);
    CHECK_EQ_INT(s.active, 1);
    CHECK_EQ_INT(s.idle, 1);
    /* a second gate job: both busy */
    gate g2;
    gate_init(&g2, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g2), WP_OK);
    CHECK(gate_wait_started(&g2, 1, 5000));
    s = pool_stats(pool);
    CHECK_EQ_INT(s.active, 2);
    CHECK_EQ_INT(s.idle, 0);
    gate_open(&g);
    gate_open(&g2);
    CHECK_EVENTUALLY(pool_stats(pool).active == 0, 5000);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.idle, 2);
    CHECK_EQ_UINT(s.completed, 2);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 0); /* no worker thread alive after close */
    CHECK_EQ_INT(s.active, 0);
    wp_pool_destroy(pool);
}

static void test_stats_queue_depth_counts_queued_jobs(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 4 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    for (size_t i = 1; i <= 3; i++) {
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
        wp_stats s = pool_stats(pool);
        CHECK_EQ_UINT(s.queue_depth, i);
        CHECK_EQ_UINT(s.queue_capacity, 4);
        CHECK_EQ_UINT(s.submitted, i + 1);
        CHECK_EQ_UINT(s.completed, 0);
    }
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.completed, 4);
    CHECK_EQ_INT(atomic_load(&ran), 3);
    wp_pool_destroy(pool);
}

typedef struct stats_probe {
    wp_pool *pool;
    atomic_int calls, bad;
} stats_probe;

static int stats_from_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    stats_probe *p = arg;
    wp_stats s;
    /* workers may read 1: the last jobs can run during the close, after the
       other worker has already finished and left */
    if (wp_pool_stats(p->pool, &s) != WP_OK || s.active < 1 || s.workers < 1 || s.workers > 2
        || s.submitted < 1)
        atomic_fetch_add(&p->bad, 1);
    atomic_fetch_add(&p->calls, 1);
    return 0;
}

static void test_stats_can_be_read_from_inside_a_job(void) {
    stats_probe p;
    atomic_init(&p.calls, 0);
    atomic_init(&p.bad, 0);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &p.pool), WP_OK);
    for (int i = 0; i < 50; i++)
        CHECK_STATUS(wp_submit(p.pool, stats_from_job, &p), WP_OK);
    CHECK_STATUS(wp_pool_close(p.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&p.calls), 50);
    CHECK_EQ_INT(atomic_load(&p.bad), 0);
    wp_pool_destroy(p.pool);
}

/* ------------------------------------------------------------------------ */
/* Thread hooks                                                              */

#define HOOK_WORKERS 4

typedef struct hook_log {
    atomic_int starts[HOOK_WORKERS];
    atomic_int stops[HOOK_WORKERS];
    atomic_int out_of_range, wrong_user, stop_on_other_thread;
    pthread_t thread_of[HOOK_WORKERS];
    atomic_int job_before_start; /* a job ran on a worker whose start hook had not run */
} hook_log;

static void on_start(const wp_event *ev, void *user) {
    int worker = ev->worker;
    hook_log *log = user;
    if (worker < 0 || worker >= HOOK_WORKERS) {
        atomic_fetch_add(&log->out_of_range, 1);
        return;
    }
    log->thread_of[worker] = pthread_self();
    atomic_fetch_add(&log->starts[worker], 1);
}

static void on_stop(const wp_event *ev, void *user) {
    int worker = ev->worker;
    hook_log *log = user;
    if (worker < 0 || worker >= HOOK_WORKERS) {
        atomic_fetch_add(&log->out_of_range, 1);
        return;
    }
    if (atomic_load(&log->starts[worker]) != 1 || !pthread_equal(log->thread_of[worker], pthread_self()))
        atomic_fetch_add(&log->stop_on_other_thread, 1);
    atomic_fetch_add(&log->stops[worker], 1);
}

static int hook_check_job(void *arg, wp_ctx *ctx) {
    hook_log *log = arg;
    int w = wp_ctx_worker(ctx);
    if (w < 0 || w >= HOOK_WORKERS || atomic_load(&log->starts[w]) != 1 ||
        !pthread_equal(log->thread_of[w], pthread_self()))
        atomic_fetch_add(&log->job_before_start, 1);
    return 0;
}

static void test_thread_hooks_run_once_per_worker_with_distinct_indexes(void) {
    hook_log log;
    memset(&log, 0, sizeof log);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = HOOK_WORKERS, .hooks.thread_start = on_start,
                      .hooks.thread_stop = on_stop, .hooks.user = &log };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    for (int i = 0; i < 200; i++)
        CHECK_STATUS(wp_submit(pool, hook_check_job, &log), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    /* close waited for every worker: every stop hook has run */
    for (int i = 0; i < HOOK_WORKERS; i++) {
        CHECK_EQ_INT(atomic_load(&log.starts[i]), 1);
        CHECK_EQ_INT(atomic_load(&log.stops[i]), 1);
    }
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    for (int i = 0; i < HOOK_WORKERS; i++) {
        CHECK_EQ_INT(atomic_load(&log.starts[i]), 1);
        CHECK_EQ_INT(atomic_load(&log.stops[i]), 1);
        for (int j = 0; j < i; j++)
            CHECK(!pthread_equal(log.thread_of[i], log.thread_of[j]));
    }
    CHECK_EQ_INT(atomic_load(&log.out_of_range), 0);
    CHECK_EQ_INT(atomic_load(&log.stop_on_other_thread), 0);
    CHECK_EQ_INT(atomic_load(&log.job_before_start), 0);
}

typedef struct hook_counts {
    atomic_int starts[WP_MAX_WORKERS];
    atomic_int stops[WP_MAX_WORKERS];
    atomic_int out_of_range;
} hook_counts;

static void count_start(const wp_event *ev, void *user) {
    int worker = ev->worker;
    hook_counts *c = user;
    if (worker < 0 || worker >= WP_MAX_WORKERS)
        atomic_fetch_add(&c->out_of_range, 1);
    else
        atomic_fetch_add(&c->starts[worker], 1);
}

static void count_stop(const wp_event *ev, void *user) {
    int worker = ev->worker;
    hook_counts *c = user;
    if (worker < 0 || worker >= WP_MAX_WORKERS)
        atomic_fetch_add(&c->out_of_range, 1);
    else
        atomic_fetch_add(&c->stops[worker], 1);
}

static void test_many_workers_start_and_stop_once_each(void) {
    enum { WORKERS = 64 };
    static hook_counts c;
    memset(&c, 0, sizeof c);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = WORKERS, .hooks.thread_start = count_start,
                      .hooks.thread_stop = count_stop, .hooks.user = &c };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_EQ_INT(pool_stats(pool).workers, WORKERS);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1000);
    int wrong = 0;
    for (int i = 0; i < WP_MAX_WORKERS; i++) {
        int want = i < WORKERS ? 1 : 0;
        wrong += atomic_load(&c.starts[i]) != want || atomic_load(&c.stops[i]) != want;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(atomic_load(&c.out_of_range), 0);
}

static void test_thread_start_hooks_alone_are_enough(void) {
    /* only a start hook, and destroy without close */
    hook_log log;
    memset(&log, 0, sizeof log);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 2, .hooks.thread_start = on_start, .hooks.user = &log };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&log.starts[0]), 1);
    CHECK_EQ_INT(atomic_load(&log.starts[1]), 1);
    CHECK_EQ_INT(atomic_load(&log.starts[2]), 0);
}

/* ------------------------------------------------------------------------ */
/* Counters that wrap inside a pool                                          */

static void test_pool_queue_counters_wrap(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16 }, &pool), WP_OK);
    /* the workers poll the empty queue right after create; let them park */
    wpt_sleep_ms(50);
    wp__queue_seek(wp__pool_queue(pool), SIZE_MAX - 1000);
    CHECK_EQ_UINT(pool_stats(pool).submitted, 0);
    const int n = 5000;
    atomic_int *slots = calloc((size_t)n, sizeof *slots);
    REQUIRE(slots != NULL);
    for (int i = 0; i < n; i++)
        atomic_init(&slots[i], 0);
    for (int i = 0; i < n; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &slots[i]), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    int wrong = 0;
    for (int i = 0; i < n; i++)
        wrong += atomic_load(&slots[i]) != 1;
    CHECK_EQ_INT(wrong, 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, (uint64_t)n);
    CHECK_EQ_UINT(s.completed, (uint64_t)n);
    CHECK_EQ_UINT(s.queue_depth, 0);
    wp_pool_destroy(pool);
    free(slots);
}

static const wpt_test tests[] = {
    WPT_TEST(test_default_pool_runs_every_job),
    WPT_TEST(test_null_config_means_defaults),
    WPT_TEST(test_zero_config_means_defaults),
    WPT_TEST(test_destroy_without_close_runs_queued_jobs),
    WPT_TEST(test_nonzero_return_counts_as_failed),
    WPT_TEST(test_create_rejects_impossible_configs_and_clears_out),
    WPT_TEST(test_config_groups_zero_takes_defaults),
    WPT_TEST(test_config_groups_bad_value_is_invalid),
    WPT_TEST(test_create_accepts_the_limits),
    WPT_TEST(test_null_pool_is_invalid_everywhere),
    WPT_TEST(test_null_fn_job_or_out_is_invalid),
    WPT_TEST(test_submit_job_rejects_unknown_policy_and_negative_timeout),
    WPT_TEST(test_close_and_recv_reject_bad_arguments),
    WPT_TEST(test_status_str_names_every_status_distinctly),
    WPT_TEST(test_ctx_reports_id_worker_and_no_stop),
    WPT_TEST(test_stats_right_after_create),
    WPT_TEST(test_stats_active_and_idle_while_one_job_runs),
    WPT_TEST(test_stats_queue_depth_counts_queued_jobs),
    WPT_TEST(test_stats_can_be_read_from_inside_a_job),
    WPT_TEST(test_thread_hooks_run_once_per_worker_with_distinct_indexes),
    WPT_TEST(test_thread_start_hooks_alone_are_enough),
    WPT_TEST(test_many_workers_start_and_stop_once_each),
    WPT_TEST(test_pool_queue_counters_wrap),
};

WPT_MAIN(tests)
