/* Tests of the fork-join module: groups (wait, cancel, counts, tokens,
   handles, nesting), range jobs and wp_parallel_for, continuations, pinned
   jobs and wp_config.stack_size; each against close, pause, a full result
   channel, an inline-only pool and WP_DROP_OLDEST; a recursive fork-join of
   2^20 leaves on 128 KiB stacks; no allocation per job; and a stress run
   for ThreadSanitizer. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stddef.h>

/* Every allocation the library makes goes through these, so a test can
   count them (see test_no_allocation_per_member_range_or_continuation). */
static atomic_long wpt_allocs;
#include <stdlib.h>
static void *wpt_counted_malloc(size_t n) {
    atomic_fetch_add(&wpt_allocs, 1);
    return malloc(n);
}
#define WP_MALLOC(n) wpt_counted_malloc(n)
#define WP_FREE(p) free(p)

#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

static wp_pool *make_pool(const wp_config *cfg) {
    wp_pool *pool = NULL;
    wp_status s = wp_pool_create(cfg, &pool);
    CHECK_STATUS(s, WP_OK);
    return pool;
}

static wp_group_counts counts_of(const wp_group *g) {
    wp_group_counts c;
    memset(&c, 0, sizeof c);
    wp_group_query(g, &c);
    return c;
}

static int code_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return (int)(intptr_t)arg;
}

/* Counts how often it ran on a thread that is not a worker. */
static atomic_int ran_off_worker;
static int where_job(void *arg, wp_ctx *ctx) {
    atomic_fetch_add((atomic_int *)arg, 1);
    if (wp_ctx_worker(ctx) < 0)
        atomic_fetch_add(&ran_off_worker, 1);
    return 0;
}

/* Holds the pool's only worker on a gate job; returns once it runs. */
static void hold_worker(wp_pool *pool, gate *g) {
    gate_init(g, true);
    CHECK_STATUS(wp_submit(pool, gate_job, g), WP_OK);
    CHECK(gate_wait_started(g, 1, 5000));
}

/* ------------------------------------------------------------------------ */
/* Groups                                                                    */

static void test_group_waits_for_every_member(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64 });
    wp_group g = { 0 }; /* zeroed: ready */
    atomic_int n = 0;
    int jobs = (int)wpt_scaled(5000, 200);
    for (int i = 0; i < jobs; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }),
                     WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), jobs);
    wp_group_counts c = counts_of(&g);
    CHECK_EQ_UINT(c.pending, 0);
    CHECK_EQ_UINT(c.completed, (uint64_t)jobs);
    CHECK_EQ_INT(c.first_error, 0);
    /* An empty group is complete; a reused one adds up. */
    wp_group empty = { 0 };
    CHECK_STATUS(wp_group_wait(pool, &empty, WP_NOWAIT), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
    CHECK_EQ_UINT(counts_of(&g).completed, (uint64_t)jobs + 1);
    wp_group_init(&g, NULL);
    CHECK_EQ_UINT(counts_of(&g).completed, 0);
    CHECK_STATUS(wp_group_wait(NULL, &g, 0), WP_INVALID);
    CHECK_STATUS(wp_group_wait(pool, NULL, 0), WP_INVALID);
    CHECK_STATUS(wp_group_wait(pool, &g, -1), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

static void test_group_counts_outcomes_and_the_first_error(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_group g = { 0 };
    gate hold;
    hold_worker(pool, &hold);
    /* Queued behind the gate, in order: the first failure is code 7. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = (void *)0, .group = &g }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = (void *)7, .group = &g }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = (void *)9, .group = &g }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = code_job, .arg = (void *)0, .group = &g,
                                                .deadline = WP_NS(1) }), WP_OK);
    CHECK_EQ_UINT(counts_of(&g).pending, 4);
    wpt_sleep_ms(2);
    gate_open(&hold);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
    wp_group_counts c = counts_of(&g);
    CHECK_EQ_UINT(c.completed, 1);
    CHECK_EQ_UINT(c.failed, 2);
    CHECK_EQ_UINT(c.expired, 1);
    /* the first to fail in time: the waiting caller helps, so 9 may run
       (and fail) while the worker runs 7 */
    CHECK(c.first_error == 7 || c.first_error == 9);
    wp_pool_destroy(pool);
}

static void test_group_wait_helps_and_returns_by_its_timeout(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    gate hold;
    hold_worker(pool, &hold);
    wp_group g = { 0 };
    atomic_int n = 0;
    atomic_store(&ran_off_worker, 0);
    for (int i = 0; i < 20; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = where_job, .arg = &n, .group = &g }), WP_OK);
    /* The only worker is held: the waiting thread runs every member. */
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 20);
    CHECK_EQ_INT(atomic_load(&ran_off_worker), 20);
    gate_open(&hold);
    wp_pool_destroy(pool);
}

/* A member running on a worker and nothing queued: the wait parks, and
   ends by its timeout. */
static void test_group_wait_parks_until_its_timeout(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    gate g1;
    gate_init(&g1, true);
    wp_group g = { 0 };
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &g1, .group = &g }), WP_OK);
    CHECK(gate_wait_started(&g1, 1, 5000));
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_group_wait(pool, &g, WP_MS(30)), WP_TIMED_OUT);
    int64_t took = wpt_now_ns() - t0;
    CHECK_CMP_INT(took, >=, WP_MS(29));
    CHECK_CMP_INT(took, <, WP_SEC(2));
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_TIMED_OUT);
    gate_open(&g1);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

static void test_group_cancel_stops_queued_and_signals_running(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_group g = { 0 };
    gate running;
    gate_init(&running, true);
    atomic_int n = 0;
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &running, .group = &g }), WP_OK);
    CHECK(gate_wait_started(&running, 1, 5000));
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    wp_group_cancel(&g);
    wp_group_cancel(NULL);
    /* Accepted after the cancel: canceled too. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 0);
    CHECK_EQ_INT(atomic_load(&running.saw_stop), 1);
    wp_group_counts c = counts_of(&g);
    CHECK_EQ_UINT(c.canceled, 11);
    CHECK_EQ_UINT(c.completed, 1);
    /* Other jobs are not affected. */
    CHECK_STATUS(wp_submit(pool, count_job, &n), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 1);
    wp_pool_destroy(pool);
}

static void test_group_under_a_token_and_with_handles(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_token *tok, *other;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    REQUIRE_STATUS(wp_token_create(&other), WP_OK);
    wp_group g;
    wp_group_init(&g, tok);
    gate hold;
    hold_worker(pool, &hold);
    atomic_int n = 0;
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g, .token = other }),
                 WP_INVALID);
    CHECK_EQ_UINT(counts_of(&g).pending, 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g, .token = tok }),
                 WP_OK);
    wp_handle h1, h2;
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g, .handle = &h1 }),
                 WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g, .handle = &h2 }),
                 WP_OK);
    /* The handle cancels its one job; the token then cancels the rest. */
    CHECK_STATUS(wp_job_cancel(pool, h1), WP_OK);
    wp_token_cancel(tok);
    CHECK(wp_token_is_canceled(tok));
    gate_open(&hold);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h1, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_STATUS(wp_job_wait(pool, h2, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_EQ_INT(atomic_load(&n), 0);
    CHECK_EQ_UINT(counts_of(&g).canceled, 3);
    wp_pool_destroy(pool);
    wp_token_destroy(tok);
    wp_token_destroy(other);
}

/* A job that creates a group, submits its children into it and waits. */
typedef struct tree {
    wp_pool *pool;
    unsigned depth;
    atomic_long *leaves;
    wp_status status; /* the first bad submit or wait, else WP_OK */
} tree;

static int tree_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    tree *t = (tree *)arg;
    if (t->depth == 0) {
        atomic_fetch_add_explicit(t->leaves, 1, memory_order_relaxed);
        return 0;
    }
    wp_group g = { 0 };
    tree kids[2] = { { t->pool, t->depth - 1, t->leaves, WP_OK },
                     { t->pool, t->depth - 1, t->leaves, WP_OK } };
    for (int i = 0; i < 2; i++) {
        wp_status s = wp_submit_job(t->pool, &(wp_job){ .fn = tree_job, .arg = &kids[i], .group = &g });
        if (s != WP_OK)
            t->status = s;
    }
    wp_status s = wp_group_wait(t->pool, &g, WP_FOREVER);
    if (s != WP_OK)
        t->status = s;
    for (int i = 0; i < 2; i++)
        if (kids[i].status != WP_OK)
            t->status = kids[i].status;
    return t->status == WP_OK ? 0 : 1;
}

static void test_groups_nest_inside_jobs(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 16 });
    atomic_long leaves = 0;
    tree root = { pool, 10, &leaves, WP_OK };
    wp_group g = { 0 };
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = tree_job, .arg = &root, .group = &g }), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&leaves), 1024);
    CHECK_STATUS(root.status, WP_OK);
    CHECK_EQ_UINT(counts_of(&g).completed, 1);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.submitted, 2047);
    wp_pool_destroy(pool);
}

/* 2^20 leaves (fewer under the sanitizers, which also need bigger frames),
   each level submitting its two halves into a group and waiting for it,
   started on a thread with a 128 KiB stack, with workers whose stacks are
   128 KiB too (the pthreads backend; C11 threads cannot be sized). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define FJ_STACK (1024 * 1024)
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define FJ_STACK (1024 * 1024)
#  endif
#endif
#ifndef FJ_STACK
#  define FJ_STACK (128 * 1024)
#endif

typedef struct small_stack_run {
    wp_pool *pool;
    tree root;
} small_stack_run;

static void *small_stack_main(void *p) {
    small_stack_run *run = (small_stack_run *)p;
    tree_job(&run->root, NULL);
    return NULL;
}

static void test_recursive_fork_join_of_2_20_leaves_on_a_128k_stack(void) {
    wp_config cfg = { .max_workers = 2, .stack_size = FJ_STACK };
#if defined(WP__NO_STACK_SIZE)
    wp_pool *refused = NULL;
    CHECK_STATUS(wp_pool_create(&cfg, &refused), WP_INVALID);
    cfg.stack_size = 0;
#endif
    wp_pool *pool = make_pool(&cfg);
    unsigned depth = 0;
    while (depth < 20 && ((size_t)2 << depth) <= wpt_scaled((size_t)1 << 20, 4096))
        depth++;
    atomic_long leaves = 0;
    small_stack_run run = { pool, { pool, depth, &leaves, WP_OK } };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    REQUIRE(pthread_attr_setstacksize(&attr, FJ_STACK) == 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, &attr, small_stack_main, &run) == 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    CHECK_EQ_INT(atomic_load(&leaves), 1L << depth);
    CHECK_STATUS(run.root.status, WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.submitted, (2UL << depth) - 2);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Groups against the rest of the pool                                       */

static void test_group_and_close(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_group g = { 0 };
    atomic_int n = 0;
    gate hold;
    hold_worker(pool, &hold);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    gate_open(&hold);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 10);
    /* Refused after close: the group does not count it. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_CLOSED);
    CHECK_EQ_UINT(counts_of(&g).pending, 0);
    wp_pool_destroy(pool);

    /* WP_CANCEL: queued members are canceled and counted so. */
    pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_group_init(&g, NULL);
    hold_worker(pool, &hold);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_OK);
    CHECK_EQ_UINT(counts_of(&g).canceled, 10);
    wp_pool_destroy(pool);
}

static void test_group_and_pause(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64 });
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    wp_group g = { 0 };
    atomic_int n = 0;
    atomic_store(&ran_off_worker, 0);
    for (int i = 0; i < 30; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = where_job, .arg = &n, .group = &g }), WP_OK);
    /* Paused workers start nothing; the waiting thread runs them all. */
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 30);
    CHECK_EQ_INT(atomic_load(&ran_off_worker), 30);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    wp_pool_destroy(pool);
}

static void test_group_and_a_full_result_channel(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                            .result_capacity = 2 });
    wp_group g = { 0 };
    atomic_int n = 0;
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    /* Nobody receives: the worker stops at a full channel, and the waiting
       thread takes no job then (it could be the receiver). */
    CHECK_STATUS(wp_group_wait(pool, &g, WP_MS(100)), WP_TIMED_OUT);
    CHECK_CMP_UINT(counts_of(&g).pending, >, 0);
    int got = 0;
    wp_result r;
    while (got < 8 && wp_result_recv(pool, &r, WP_SEC(10)) == WP_OK)
        got++;
    CHECK_EQ_INT(got, 8);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_UINT(counts_of(&g).completed, 8);
    wp_pool_destroy(pool);
}

static void test_group_in_an_inline_only_pool(void) {
    /* A result channel big enough for every result: nobody receives until
       the end. */
    wp_pool *pool = make_pool(&(wp_config){ .inline_only = true, .queue_capacity = 16,
                                            .result_capacity = 512 });
    atomic_long leaves = 0;
    tree root = { pool, 8, &leaves, WP_OK };
    wp_group g = { 0 };
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = tree_job, .arg = &root, .group = &g }), WP_OK);
    CHECK_EQ_INT(atomic_load(&leaves), 0);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&leaves), 256);
    CHECK_STATUS(root.status, WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    result_tally t = drain_results(pool, 1000);
    CHECK_EQ_INT(t.ok, 511);
    wp_pool_destroy(pool);
}

static void test_group_and_drop_oldest(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                            .backpressure = WP_DROP_OLDEST });
    gate hold;
    hold_worker(pool, &hold);
    wp_group g = { 0 };
    atomic_int n = 0;
    for (int i = 0; i < 5; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    gate_open(&hold);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    wp_group_counts c = counts_of(&g);
    CHECK_EQ_UINT(c.evicted, 3);
    CHECK_EQ_UINT(c.completed, 2);
    CHECK_EQ_INT(atomic_load(&n), 2);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Range jobs                                                                */

typedef struct cover {
    atomic_uchar *hits;
    atomic_long calls;
    atomic_long fail_at; /* an item whose chunk fails with code 5; -1 none */
    wp_token *cancel;    /* canceled by the first chunk, when set */
} cover;

static int cover_fn(void *arg, size_t begin, size_t end, wp_ctx *ctx) {
    (void)ctx;
    cover *c = (cover *)arg;
    atomic_fetch_add(&c->calls, 1);
    if (c->cancel)
        wp_token_cancel(c->cancel);
    long f = atomic_load(&c->fail_at);
    for (size_t i = begin; i < end; i++) {
        atomic_fetch_add_explicit(&c->hits[i], 1, memory_order_relaxed);
        if ((long)i == f)
            return 5;
    }
    return 0;
}

static void test_range_covers_every_item_exactly_once(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64 });
    static const size_t ns[] = { 0, 1, 2, 7, 100, 1000, 100003 };
    static const size_t grains[] = { 0, 1, 3, 64, 100003, 1000000 };
    atomic_uchar *hits = calloc(100003, 1);
    REQUIRE(hits != NULL);
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        for (size_t b = 0; b < sizeof grains / sizeof grains[0]; b++) {
            if (ns[a] > 10000 && grains[b] == 1 && wpt_scale() < 1.0)
                continue;
            memset(hits, 0, ns[a] ? ns[a] : 1);
            cover c = { hits, 0, -1, NULL };
            CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c, ns[a], grains[b]), WP_OK);
            size_t bad = 0;
            for (size_t i = 0; i < ns[a]; i++)
                bad += atomic_load(&hits[i]) != 1;
            CHECK_EQ_UINT(bad, 0);
        }
    }
    CHECK_STATUS(wp_parallel_for(pool, NULL, NULL, 1, 1), WP_INVALID);
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, NULL, SIZE_MAX, 1), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
    free(hits);
}

static void test_parallel_for_is_shared_with_the_caller(void) {
    /* The only worker is held: the caller does the whole range. */
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    gate hold;
    hold_worker(pool, &hold);
    atomic_uchar hits[1000];
    memset(hits, 0, sizeof hits);
    cover c = { hits, 0, -1, NULL };
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c, 1000, 10), WP_OK);
    CHECK_EQ_INT(atomic_load(&c.calls), 100);
    gate_open(&hold);
    wp_pool_destroy(pool);

    /* With free workers, the range is offered to each of them: one share
       per worker, each a job in the stats. */
    pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64 });
    memset(hits, 0, sizeof hits);
    cover c2 = { hits, 0, -1, NULL };
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c2, 64, 1), WP_OK);
    CHECK_EQ_INT(atomic_load(&c2.calls), 64);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.completed, 3);
    wp_pool_destroy(pool);
}

static wp_result last_range_result;
static atomic_int range_results;
static void remember_result(const wp_result *r) {
    last_range_result = *r;
    atomic_fetch_add(&range_results, 1);
}

static void test_range_has_one_outcome_and_reports_failure(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64,
                                            .result_capacity = 16 });
    atomic_uchar hits[5000];
    memset(hits, 0, sizeof hits);
    cover c = { hits, 0, -1, NULL };
    wp_range range;
    atomic_store(&range_results, 0);
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c, 5000, 7,
                                 &(wp_job){ .id = 42, .on_done = remember_result }), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
    CHECK_STATUS(r.status, WP_OK);
    CHECK_EQ_PTR(r.arg, &range);
    CHECK_EQ_UINT(r.id, 42);
    CHECK_EQ_INT(atomic_load(&range_results), 1);
    /* Shares never reach the channel. */
    CHECK_STATUS(wp_result_recv(pool, &r, WP_MS(20)), WP_TIMED_OUT);

    /* A failing chunk: the range fails with its code, once. */
    memset(hits, 0, sizeof hits);
    cover f = { hits, 0, 2500, NULL };
    wp_group g = { 0 };
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &f, 5000, 7,
                                 &(wp_job){ .group = &g, .on_done = remember_result }), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
    CHECK_STATUS(r.status, WP_TASK_FAILED);
    CHECK_EQ_INT(r.code, 5);
    CHECK_EQ_INT(counts_of(&g).first_error, 5);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_MS(20)), WP_TIMED_OUT);
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &f, 5000, 7), WP_TASK_FAILED);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

static void test_range_and_cancel(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    atomic_uchar hits[1000];
    memset(hits, 0, sizeof hits);
    /* Canceled while queued: it never runs. */
    wp_token *tok;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    gate hold;
    hold_worker(pool, &hold);
    cover c = { hits, 0, -1, NULL };
    wp_range range;
    wp_handle h;
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c, 1000, 1,
                                 &(wp_job){ .token = tok, .handle = &h }), WP_OK);
    wp_token_cancel(tok);
    gate_open(&hold);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_EQ_INT(atomic_load(&c.calls), 0);
    wp_token_destroy(tok);

    /* Canceled while it runs (its first chunk cancels the token): chunks
       not started are skipped, and it fails with code WP_CANCELED. */
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    cover c2 = { hits, 0, -1, tok };
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c2, 1000, 1,
                                 &(wp_job){ .token = tok, .handle = &h }), WP_OK);
    CHECK_STATUS(wp_job_wait(pool, h, WP_SEC(10), &r), WP_OK);
    CHECK_STATUS(r.status, WP_TASK_FAILED);
    CHECK_EQ_INT(r.code, WP_CANCELED);
    CHECK_CMP_INT(atomic_load(&c2.calls), <, 1000);
    wp_token_destroy(tok);

    /* A group's cancel reaches a range in it. */
    wp_group g = { 0 };
    hold_worker(pool, &hold);
    cover c3 = { hits, 0, -1, NULL };
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c3, 1000, 1, &(wp_job){ .group = &g }),
                 WP_OK);
    wp_group_cancel(&g);
    gate_open(&hold);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_EQ_UINT(counts_of(&g).canceled, 1);
    CHECK_EQ_INT(atomic_load(&c3.calls), 0);
    wp_pool_destroy(pool);
}

static void test_range_obeys_backpressure_and_close(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                            .backpressure = WP_REJECT });
    gate hold;
    hold_worker(pool, &hold);
    atomic_int n = 0;
    CHECK_STATUS(wp_submit(pool, count_job, &n), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &n), WP_OK);
    atomic_uchar hits[100];
    memset(hits, 0, sizeof hits);
    cover c = { hits, 0, -1, NULL };
    wp_range range;
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c, 100, 1, NULL), WP_FULL);
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c, 100, 1), WP_FULL);
    gate_open(&hold);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c, 100, 1), WP_CLOSED);
    CHECK_EQ_INT(atomic_load(&c.calls), 0);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.rejected, 2);
    wp_pool_destroy(pool);

    /* Queued at a WP_CANCEL close: canceled, one outcome. */
    pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 8 });
    hold_worker(pool, &hold);
    wp_handle h;
    CHECK_STATUS(wp_submit_range(pool, &range, cover_fn, &c, 100, 1, &(wp_job){ .handle = &h }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    wp_result r;
    CHECK_STATUS(wp_job_wait(pool, h, WP_NOWAIT, &r), WP_OK);
    CHECK_STATUS(r.status, WP_CANCELED);
    CHECK_EQ_INT(atomic_load(&c.calls), 0);
    wp_pool_destroy(pool);
}

static void test_range_in_an_inline_only_pool(void) {
    wp_pool *pool = make_pool(&(wp_config){ .inline_only = true, .queue_capacity = 4 });
    atomic_uchar hits[777];
    memset(hits, 0, sizeof hits);
    cover c = { hits, 0, -1, NULL };
    CHECK_STATUS(wp_parallel_for(pool, cover_fn, &c, 777, 0), WP_OK);
    size_t bad = 0;
    for (size_t i = 0; i < 777; i++)
        bad += atomic_load(&hits[i]) != 1;
    CHECK_EQ_UINT(bad, 0);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Continuations                                                             */

typedef struct stage {
    atomic_int *done;     /* members of the previous stage that finished */
    int expect;           /* how many that must be when this runs */
    atomic_int *bad;
    atomic_int *ran;
} stage;

static int stage_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    stage *s = (stage *)arg;
    if (atomic_load(s->done) != s->expect)
        atomic_fetch_add(s->bad, 1);
    atomic_fetch_add(s->ran, 1);
    return 0;
}

static void test_continuation_runs_once_the_group_completes(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64 });
    int frames = (int)wpt_scaled(200, 20);
    atomic_int bad = 0;
    for (int f = 0; f < frames; f++) {
        wp_group a = { 0 }, b = { 0 }, done = { 0 };
        atomic_int n = 0, ran_b = 0, ran_c = 0;
        /* a: 20 members; then b (one job, checks all 20 ran); then c. The
           members go first (an empty group is complete: arming it fires);
           b is held open by a's arming, so b can be armed before it has
           its member. */
        stage sb = { &n, 20, &bad, &ran_b };
        stage sc = { &ran_b, 1, &bad, &ran_c };
        for (int i = 0; i < 20; i++)
            CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &a }), WP_OK);
        CHECK_STATUS(wp_group_then(pool, &a, &(wp_job){ .fn = stage_job, .arg = &sb, .group = &b }),
                     WP_OK);
        CHECK_STATUS(wp_group_then(pool, &b, &(wp_job){ .fn = stage_job, .arg = &sc, .group = &done }),
                     WP_OK);
        /* a is complete only once its continuation is submitted, b once
           its own is. */
        CHECK_STATUS(wp_group_wait(pool, &a, WP_SEC(10)), WP_OK);
        CHECK_STATUS(wp_group_wait(pool, &b, WP_SEC(10)), WP_OK);
        CHECK_STATUS(wp_group_wait(pool, &done, WP_SEC(10)), WP_OK);
        CHECK_EQ_INT(atomic_load(&ran_c), 1);
        CHECK_STATUS(counts_of(&a).then_status, WP_OK);
    }
    CHECK_EQ_INT(atomic_load(&bad), 0);

    /* One continuation at a time. */
    gate hold;
    wp_group held = { 0 };
    gate_init(&hold, true);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &hold, .group = &held }), WP_OK);
    atomic_int once = 0;
    CHECK_STATUS(wp_group_then(pool, &held, &(wp_job){ .fn = count_job, .arg = &once }), WP_OK);
    CHECK_STATUS(wp_group_then(pool, &held, &(wp_job){ .fn = count_job, .arg = &once }), WP_INVALID);
    gate_open(&hold);
    CHECK_STATUS(wp_group_wait(pool, &held, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&once), 1);

    /* A loop of groups holding each other open is refused. */
    wp_group g = { 0 }, h = { 0 }, k = { 0 };
    atomic_int n = 0;
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }),
                 WP_INVALID);
    gate_init(&hold, true);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = gate_job, .arg = &hold, .group = &h }), WP_OK);
    CHECK_STATUS(wp_group_then(pool, &h, &(wp_job){ .fn = count_job, .arg = &n, .group = &k }), WP_OK);
    CHECK_STATUS(wp_group_then(pool, &k, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n, .group = &h }),
                 WP_INVALID);
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n }), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 0);
    gate_open(&hold); /* h completes, then k, then g */
    CHECK_STATUS(wp_group_wait(pool, &g, WP_SEC(10)), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 3);
    CHECK_EQ_UINT(counts_of(&g).completed, 1);
    CHECK_STATUS(wp_group_then(NULL, &g, &(wp_job){ .fn = count_job }), WP_INVALID);
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = NULL }), WP_INVALID);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

static void test_continuation_and_close(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    gate hold;
    hold_worker(pool, &hold);
    wp_group g = { 0 }, after = { 0 };
    atomic_int n = 0;
    for (int i = 0; i < 5; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n, .group = &after }),
                 WP_OK);
    /* The close cancels the members; the last one's end submits into a
       closed pool: refused, and said so. */
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_OK);
    CHECK_STATUS(wp_group_wait(pool, &after, WP_NOWAIT), WP_OK);
    wp_group_counts c = counts_of(&g);
    CHECK_EQ_UINT(c.canceled, 5);
    CHECK_STATUS(c.then_status, WP_CLOSED);
    CHECK_EQ_UINT(counts_of(&after).pending, 0);
    CHECK_EQ_INT(atomic_load(&n), 0);
    wp_pool_destroy(pool);

    /* A complete group fires at once, on the calling thread. */
    pool = make_pool(&(wp_config){ .max_workers = 1, .queue_capacity = 64 });
    wp_group_init(&g, NULL);
    CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n }), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 1); /* complete: fired at once */
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Pinned jobs                                                               */

static pthread_t pinned_owner;
static atomic_int pinned_elsewhere;
static int pinned_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    if (!pthread_equal(pthread_self(), pinned_owner))
        atomic_fetch_add(&pinned_elsewhere, 1);
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static int submit_pinned_job(void *arg, wp_ctx *ctx) {
    wp_pool *pool = *(wp_pool **)arg;
    (void)ctx;
    static atomic_int dummy;
    return wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &dummy, .pinned = true }) == WP_OK ? 0 : 1;
}

static int pinned_range(void *arg, size_t b, size_t e, wp_ctx *ctx) {
    (void)ctx;
    if (!pthread_equal(pthread_self(), pinned_owner))
        atomic_fetch_add(&pinned_elsewhere, 1);
    atomic_fetch_add((atomic_int *)arg, (int)(e - b));
    return 0;
}

static void test_pinned_jobs_run_only_where_helped(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 64,
                                            .pinned_capacity = 8 });
    pinned_owner = pthread_self();
    atomic_store(&pinned_elsewhere, 0);
    atomic_int n = 0;
    wp_group g = { 0 };
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true,
                                                    .group = &g }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true }), WP_FULL);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true,
                                                .backpressure = WP_BLOCK }), WP_FULL);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&n), 0); /* workers never run them */
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_MS(20)), WP_TIMED_OUT); /* they count as queued */
    CHECK_EQ_UINT(wp_pool_help_pinned(pool, WP_FOREVER), 8);
    CHECK_EQ_INT(atomic_load(&n), 8);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_OK);
    /* A pinned range is not shared with the workers. */
    atomic_int items = 0;
    wp_range range;
    CHECK_STATUS(wp_submit_range(pool, &range, pinned_range, &items, 1000, 1,
                                 &(wp_job){ .pinned = true, .group = &g }), WP_OK);
    CHECK_EQ_UINT(wp_pool_help_pinned(pool, WP_FOREVER), 1);
    CHECK_STATUS(wp_group_wait(pool, &g, WP_NOWAIT), WP_OK);
    CHECK_EQ_INT(atomic_load(&items), 1000);
    /* Submitted from a worker, run here. */
    CHECK_STATUS(wp_submit(pool, submit_pinned_job, &pool), WP_OK);
    size_t helped = 0;
    for (int i = 0; i < 5000 && helped == 0; i++) {
        helped += wp_pool_help_pinned(pool, WP_FOREVER);
        if (helped == 0)
            wpt_sleep_ms(1);
    }
    CHECK_EQ_UINT(helped, 1);
    CHECK_EQ_UINT(wp_pool_help_pinned(pool, WP_FOREVER), 0);
    /* Left for the close, which runs them on the closing thread. */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&n), 9);
    CHECK_EQ_INT(atomic_load(&pinned_elsewhere), 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true }), WP_CLOSED);
    wp_stats s = pool_stats(pool);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);

    /* No pinned queue: refused as invalid; WP_CANCEL close cancels them. */
    pool = make_pool(&(wp_config){ .max_workers = 1 });
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true }), WP_INVALID);
    CHECK_EQ_UINT(wp_pool_help_pinned(pool, WP_FOREVER), 0);
    wp_pool_destroy(pool);
    pool = make_pool(&(wp_config){ .max_workers = 1, .pinned_capacity = 4, .result_capacity = 8 });
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = pinned_job, .arg = &n, .pinned = true }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_FOREVER), WP_OK);
    result_tally t = drain_results(pool, 1000);
    CHECK_EQ_INT(t.canceled, 1);
    CHECK_EQ_INT(atomic_load(&n), 9);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Memory and stress                                                         */

static int noop_range(void *arg, size_t b, size_t e, wp_ctx *ctx) {
    (void)arg, (void)b, (void)e, (void)ctx;
    return 0;
}

static void test_no_allocation_per_member_range_or_continuation(void) {
    wp_pool *pool = make_pool(&(wp_config){ .max_workers = 2, .queue_capacity = 256 });
    long before = atomic_load(&wpt_allocs);
    atomic_int n = 0;
    for (int round = 0; round < 20; round++) {
        wp_group g = { 0 }, after = { 0 };
        CHECK_STATUS(wp_group_then(pool, &g, &(wp_job){ .fn = count_job, .arg = &n, .group = &after }),
                     WP_OK);
        for (int i = 0; i < 100; i++)
            CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }), WP_OK);
        CHECK_STATUS(wp_parallel_for(pool, noop_range, NULL, 10000, 0), WP_OK);
        CHECK_STATUS(wp_group_wait(pool, &g, WP_FOREVER), WP_OK);
        CHECK_STATUS(wp_group_wait(pool, &after, WP_FOREVER), WP_OK);
    }
    CHECK_EQ_INT(atomic_load(&wpt_allocs) - before, 0);
    CHECK_EQ_INT(atomic_load(&n), 20 * 101);
    wp_pool_destroy(pool);
}

typedef struct stress_ctx {
    wp_pool *pool;
    int rounds;
    atomic_int errors;
} stress_ctx;

static int sum_range(void *arg, size_t b, size_t e, wp_ctx *ctx) {
    (void)ctx;
    atomic_long *sum = (atomic_long *)arg;
    long s = 0;
    for (size_t i = b; i < e; i++)
        s += (long)i;
    atomic_fetch_add_explicit(sum, s, memory_order_relaxed);
    return 0;
}

/* Each producer: a small fork-join tree, a range, and a group with a
   continuation, at once, canceling every 7th group. */
static void stress_producer(void *p) {
    stress_ctx *c = (stress_ctx *)p;
    for (int r = 0; r < c->rounds; r++) {
        atomic_long leaves = 0, sum = 0;
        atomic_int n = 0, m = 0;
        tree root = { c->pool, 5, &leaves, WP_OK };
        wp_group g = { 0 }, after = { 0 };
        wp_range range;
        if (wp_group_then(c->pool, &g, &(wp_job){ .fn = count_job, .arg = &m, .group = &after }) != WP_OK)
            atomic_fetch_add(&c->errors, 1);
        if (wp_submit_job(c->pool, &(wp_job){ .fn = tree_job, .arg = &root, .group = &g }) != WP_OK)
            atomic_fetch_add(&c->errors, 1);
        if (wp_submit_range(c->pool, &range, sum_range, &sum, 1000, 0, &(wp_job){ .group = &g }) != WP_OK)
            atomic_fetch_add(&c->errors, 1);
        for (int i = 0; i < 10; i++)
            if (wp_submit_job(c->pool, &(wp_job){ .fn = count_job, .arg = &n, .group = &g }) != WP_OK)
                atomic_fetch_add(&c->errors, 1);
        bool cancel = r % 7 == 3;
        if (cancel)
            wp_group_cancel(&g);
        if (wp_group_wait(c->pool, &g, WP_FOREVER) != WP_OK
            || wp_group_wait(c->pool, &after, WP_FOREVER) != WP_OK)
            atomic_fetch_add(&c->errors, 1);
        if (atomic_load(&m) != 1)
            atomic_fetch_add(&c->errors, 1);
        wp_group_counts k = counts_of(&g);
        if (k.completed + k.canceled + k.failed != 12)
            atomic_fetch_add(&c->errors, 1);
        if (!cancel && (atomic_load(&leaves) != 32 || atomic_load(&sum) != 999L * 1000 / 2
                        || atomic_load(&n) != 10 || k.completed != 12))
            atomic_fetch_add(&c->errors, 1);
    }
}

static void test_stress_groups_ranges_and_continuations_from_four_threads(void) {
    stress_ctx c = { make_pool(&(wp_config){ .max_workers = 3, .queue_capacity = 32 }),
                     (int)wpt_scaled(2000, 60), 0 };
    wpt_thread th[4];
    for (int i = 0; i < 4; i++)
        th[i] = wpt_thread_start(stress_producer, &c);
    for (int i = 0; i < 4; i++)
        wpt_thread_join(th[i]);
    CHECK_EQ_INT(atomic_load(&c.errors), 0);
    CHECK_STATUS(wp_pool_close(c.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(c.pool);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(c.pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_group_waits_for_every_member),
    WPT_TEST(test_group_counts_outcomes_and_the_first_error),
    WPT_TEST(test_group_wait_helps_and_returns_by_its_timeout),
    WPT_TEST(test_group_wait_parks_until_its_timeout),
    WPT_TEST(test_group_cancel_stops_queued_and_signals_running),
    WPT_TEST(test_group_under_a_token_and_with_handles),
    WPT_TEST(test_groups_nest_inside_jobs),
    WPT_TEST(test_recursive_fork_join_of_2_20_leaves_on_a_128k_stack),
    WPT_TEST(test_group_and_close),
    WPT_TEST(test_group_and_pause),
    WPT_TEST(test_group_and_a_full_result_channel),
    WPT_TEST(test_group_in_an_inline_only_pool),
    WPT_TEST(test_group_and_drop_oldest),
    WPT_TEST(test_range_covers_every_item_exactly_once),
    WPT_TEST(test_parallel_for_is_shared_with_the_caller),
    WPT_TEST(test_range_has_one_outcome_and_reports_failure),
    WPT_TEST(test_range_and_cancel),
    WPT_TEST(test_range_obeys_backpressure_and_close),
    WPT_TEST(test_range_in_an_inline_only_pool),
    WPT_TEST(test_continuation_runs_once_the_group_completes),
    WPT_TEST(test_continuation_and_close),
    WPT_TEST(test_pinned_jobs_run_only_where_helped),
    WPT_TEST(test_no_allocation_per_member_range_or_continuation),
    WPT_TEST(test_stress_groups_ranges_and_continuations_from_four_threads),
};
WPT_MAIN(tests)
