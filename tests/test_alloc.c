/* Tests of memory: a pool allocates at create time and once for each
   priority lane at its first job (nothing per job),
   through wp_config.allocator when one is given (and then never through
   WP_MALLOC), frees everything at destroy, and leaks nothing when an
   allocation fails during create. WP_MALLOC/WP_FREE are replaced here by
   counting wrappers. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

static atomic_long default_allocs, default_frees;

static void *counting_malloc(size_t size) {
    atomic_fetch_add(&default_allocs, 1);
    return malloc(size);
}

static void counting_free(void *p) {
    if (p)
        atomic_fetch_add(&default_frees, 1);
    free(p);
}

#define WP_MALLOC(size) counting_malloc(size)
#define WP_FREE(p) counting_free(p)
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* An allocator that counts, remembers what is live, and can fail on demand. */
enum { MAX_LIVE = 256 };

typedef struct counting_allocator {
    pthread_mutex_t lock;
    long allocs, frees, bad_frees, wrong_user;
    size_t bytes;              /* asked for in all */
    long fail_at;              /* index of the allocation to fail; -1: none */
    void *live[MAX_LIVE];
    int nlive;
} counting_allocator;

static void ca_init(counting_allocator *ca) {
    memset(ca, 0, sizeof *ca);
    pthread_mutex_init(&ca->lock, NULL);
    ca->fail_at = -1;
}

static void *ca_alloc(size_t size, void *user) {
    counting_allocator *ca = user;
    pthread_mutex_lock(&ca->lock);
    void *p = NULL;
    long index = ca->allocs++;
    ca->bytes += size;
    if (index != ca->fail_at && ca->nlive < MAX_LIVE) {
        p = malloc(size);
        if (p)
            ca->live[ca->nlive++] = p;
    }
    pthread_mutex_unlock(&ca->lock);
    return p;
}

static void ca_free(void *p, void *user) {
    counting_allocator *ca = user;
    if (!p)
        return;
    pthread_mutex_lock(&ca->lock);
    ca->frees++;
    int found = -1;
    for (int i = 0; i < ca->nlive; i++)
        if (ca->live[i] == p)
            found = i;
    if (found < 0) {
        ca->bad_frees++;
    } else {
        ca->live[found] = ca->live[--ca->nlive];
        free(p);
    }
    pthread_mutex_unlock(&ca->lock);
}

static wp_allocator allocator_of(counting_allocator *ca) {
    return (wp_allocator){ .alloc = ca_alloc, .free = ca_free, .user = ca };
}

static long ca_allocs(counting_allocator *ca) {
    pthread_mutex_lock(&ca->lock);
    long n = ca->allocs;
    pthread_mutex_unlock(&ca->lock);
    return n;
}

/* Runs `n` jobs through the pool and drains it, receiving results (if
   any) as it goes: a full queue is met with WP_REJECT and a receive, so that
   workers waiting for room in the result channel cannot stall the submitter. */
static void run_jobs(wp_pool *pool, int n, bool with_results) {
    atomic_int ran;
    atomic_init(&ran, 0);
    int received = 0;
    wp_result r;
    for (int i = 0; i < n; i++) {
        wp_job job = { .fn = count_job, .arg = &ran, .id = (uint64_t)i, .backpressure = WP_REJECT };
        wp_status s;
        while ((s = wp_submit_job(pool, &job)) == WP_FULL) {
            if (with_results && wp_result_recv(pool, &r, WP_MS(1)) == WP_OK)
                received++;
            else
                wpt_sleep_ns(WP_US(50));
        }
        CHECK_STATUS(s, WP_OK);
        while (with_results && wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK)
            received++;
    }
    if (with_results) {
        while (received < n && wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK)
            received++;
        CHECK_EQ_INT(received, n);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), n);
}

static void test_config_allocator_is_used_only_at_create_and_freed_at_destroy(void) {
    counting_allocator ca;
    ca_init(&ca);
    long defaults_before = atomic_load(&default_allocs);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 3, .queue_capacity = 256, .result_capacity = 64,
                      .allocator = allocator_of(&ca) };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    long at_create = ca_allocs(&ca);
    CHECK_CMP_INT(at_create, >, 0);
    run_jobs(pool, 10000, true);
    CHECK_EQ_INT(ca_allocs(&ca), at_create); /* nothing per job */
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(ca.allocs, at_create);
    CHECK_EQ_INT(ca.frees, ca.allocs);
    CHECK_EQ_INT(ca.nlive, 0);
    CHECK_EQ_INT(ca.bad_frees, 0);
    CHECK_EQ_INT(atomic_load(&default_allocs), defaults_before); /* WP_MALLOC never used */
    pthread_mutex_destroy(&ca.lock);
}

static void test_default_allocator_is_used_only_at_create_and_freed_at_destroy(void) {
    long allocs_before = atomic_load(&default_allocs);
    long frees_before = atomic_load(&default_frees);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 64 }, &pool), WP_OK);
    long at_create = atomic_load(&default_allocs) - allocs_before;
    CHECK_CMP_INT(at_create, >, 0);
    run_jobs(pool, 10000, false);
    CHECK_EQ_INT(atomic_load(&default_allocs) - allocs_before, at_create);
    CHECK_EQ_INT(atomic_load(&default_frees), frees_before); /* nothing freed before destroy */
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&default_frees) - frees_before, at_create);
}

static void test_queue_create_allocates_once_and_init_never(void) {
    long allocs_before = atomic_load(&default_allocs);
    long frees_before = atomic_load(&default_frees);
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(100, 16, &q), WP_OK);
    CHECK_EQ_INT(atomic_load(&default_allocs) - allocs_before, 1);
    unsigned char elem[16] = { 1 };
    for (int i = 0; i < 1000; i++) {
        CHECK(wp_queue_try_push(q, elem));
        CHECK(wp_queue_try_pop(q, elem));
    }
    CHECK_EQ_INT(atomic_load(&default_allocs) - allocs_before, 1);
    wp_queue_destroy(q);
    CHECK_EQ_INT(atomic_load(&default_frees) - frees_before, 1);

    size_t need = wp_queue_footprint(100, 16);
    void *memory = malloc(need);
    REQUIRE(memory != NULL);
    allocs_before = atomic_load(&default_allocs);
    frees_before = atomic_load(&default_frees);
    CHECK_STATUS(wp_queue_init(memory, need, 100, 16, &q), WP_OK);
    CHECK(wp_queue_try_push(q, elem));
    wp_queue_destroy(q); /* a queue in caller memory: destroy frees nothing */
    CHECK_EQ_INT(atomic_load(&default_allocs), allocs_before);
    CHECK_EQ_INT(atomic_load(&default_frees), frees_before);
    free(memory);
}

static void test_create_fails_cleanly_when_any_allocation_fails(void) {
    /* learn how many allocations a create makes, then fail each in turn */
    counting_allocator probe;
    ca_init(&probe);
    wp_config cfg = { .max_workers = 3, .queue_capacity = 32, .result_capacity = 8,
                      .allocator = allocator_of(&probe) };
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    long total = probe.allocs;
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    pthread_mutex_destroy(&probe.lock);
    for (long k = 0; k < total; k++) {
        counting_allocator ca;
        ca_init(&ca);
        ca.fail_at = k;
        cfg.allocator = allocator_of(&ca);
        static int dummy;
        pool = (wp_pool *)(void *)&dummy;
        wp_status s = wp_pool_create(&cfg, &pool);
        CHECK_STATUS(s, WP_NOMEM);
        CHECK(pool == NULL);
        CHECK_EQ_INT(ca.nlive, 0); /* what was allocated before the failure was freed */
        CHECK_EQ_INT(ca.bad_frees, 0);
        if (s == WP_OK && pool)
            wp_pool_destroy(pool);
        pthread_mutex_destroy(&ca.lock);
    }
}

static void test_half_an_allocator_is_invalid(void) {
    counting_allocator ca;
    ca_init(&ca);
    wp_pool *pool = NULL;
    wp_config only_alloc = { .max_workers = 1, .allocator = { .alloc = ca_alloc, .user = &ca } };
    wp_config only_free = { .max_workers = 1, .allocator = { .free = ca_free, .user = &ca } };
    CHECK_STATUS(wp_pool_create(&only_alloc, &pool), WP_INVALID);
    CHECK(pool == NULL);
    CHECK_STATUS(wp_pool_create(&only_free, &pool), WP_INVALID);
    CHECK(pool == NULL);
    CHECK_EQ_INT(ca.allocs, 0);
    pthread_mutex_destroy(&ca.lock);
}

static void test_failed_create_with_bad_config_allocates_nothing(void) {
    counting_allocator ca;
    ca_init(&ca);
    long defaults_before = atomic_load(&default_allocs);
    wp_pool *pool = NULL;
    wp_config cfg = { .scaling.min_workers = 5, .max_workers = 2, .allocator = allocator_of(&ca) };
    CHECK_STATUS(wp_pool_create(&cfg, &pool), WP_INVALID);
    CHECK_EQ_INT(ca.allocs, 0);
    CHECK_EQ_INT(atomic_load(&default_allocs), defaults_before);
    pthread_mutex_destroy(&ca.lock);
}

static size_t capacity_of(wp_pool *pool) {
    wp_stats st;
    CHECK_STATUS(wp_pool_stats(pool, &st), WP_OK);
    return st.queue_capacity;
}

/* A pool that never uses priorities holds one lane: the high and low lanes
   are allocated at their first job (one allocation each, not per job), and
   freed at destroy. */
static void test_priority_lanes_are_made_at_first_use(void) {
    counting_allocator ca;
    ca_init(&ca);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 2, .queue_capacity = 1024, .allocator = allocator_of(&ca) };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    long at_create = ca_allocs(&ca);
    /* One lane of 1024 jobs at 64 bytes a cell, not three. */
    CHECK_CMP_INT((long)ca.bytes, <, 2 * 1024 * 64);
    CHECK_EQ_UINT(capacity_of(pool), 1024);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_INT(ca_allocs(&ca), at_create);
    wp_job high = { .fn = count_job, .arg = &ran, .priority = WP_PRIORITY_HIGH };
    wp_job low = { .fn = count_job, .arg = &ran, .priority = WP_PRIORITY_LOW };
    CHECK_STATUS(wp_submit_job(pool, &high), WP_OK);
    CHECK_EQ_INT(ca_allocs(&ca), at_create + 1);
    CHECK_EQ_UINT(capacity_of(pool), 2048);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit_job(pool, &high), WP_OK);
    CHECK_EQ_INT(ca_allocs(&ca), at_create + 1);
    wp_status st[4];
    wp_job batch[4] = { low, low, high, low };
    CHECK_EQ_UINT(wp_submit_batch(pool, batch, 4, st), 4);
    CHECK_EQ_INT(ca_allocs(&ca), at_create + 2);
    CHECK_EQ_UINT(capacity_of(pool), 3072);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 10 + 11 + 4);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(ca.frees, ca.allocs);
    CHECK_EQ_INT(ca.nlive, 0);
    CHECK_EQ_INT(ca.bad_frees, 0);
    pthread_mutex_destroy(&ca.lock);
}

/* No memory for a lane: that submission (single or in a batch) is refused
   with WP_NOMEM and counted as rejected; the pool goes on, and the lane is
   made at the next try. */
static void test_a_lane_without_memory_refuses_with_nomem(void) {
    counting_allocator ca;
    ca_init(&ca);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 64, .allocator = allocator_of(&ca) };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    wp_job high = { .fn = count_job, .arg = &ran, .priority = WP_PRIORITY_HIGH };
    pthread_mutex_lock(&ca.lock);
    ca.fail_at = ca.allocs;
    pthread_mutex_unlock(&ca.lock);
    CHECK_STATUS(wp_submit_job(pool, &high), WP_NOMEM);
    pthread_mutex_lock(&ca.lock);
    ca.fail_at = ca.allocs;
    pthread_mutex_unlock(&ca.lock);
    wp_status st[2] = { WP_OK, WP_OK };
    wp_job batch[2] = { high, { .fn = count_job, .arg = &ran } };
    CHECK_EQ_UINT(wp_submit_batch(pool, batch, 2, st), 1);
    CHECK_STATUS(st[0], WP_NOMEM);
    CHECK_STATUS(st[1], WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &high), WP_OK); /* the allocator works again */
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 3);
    wp_stats s;
    CHECK_STATUS(wp_pool_stats(pool, &s), WP_OK);
    CHECK_EQ_UINT(s.rejected, 2);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(ca.frees, ca.allocs - 2); /* the two failed allocations */
    CHECK_EQ_INT(ca.nlive, 0);
    pthread_mutex_destroy(&ca.lock);
}

typedef struct lane_racer {
    wp_pool *pool;
    atomic_int *ran;
    wp_priority priority;
    long accepted;
} lane_racer;

static void submit_until_closed(void *arg) {
    lane_racer *r = arg;
    wp_job job = { .fn = count_job, .arg = r->ran, .priority = r->priority,
                   .backpressure = WP_REJECT };
    for (;;) {
        wp_status s = wp_submit_job(r->pool, &job);
        if (s == WP_CLOSED)
            return;
        r->accepted += s == WP_OK;
    }
}

/* The first high and low jobs race close: the lane they make is either made
   before close (which then closes and drains it) or not at all, so every
   accepted job runs (a lane made behind close's back would hold jobs that
   no worker drains). */
static void test_first_jobs_of_a_lane_racing_close_all_run(void) {
    for (int round = 0; round < 200; round++) {
        wp_pool *pool = NULL;
        REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16 }, &pool),
                       WP_OK);
        atomic_int ran;
        atomic_init(&ran, 0);
        lane_racer high = { pool, &ran, WP_PRIORITY_HIGH, 0 }, low = { pool, &ran, WP_PRIORITY_LOW, 0 };
        wpt_thread a = wpt_thread_start(submit_until_closed, &high);
        wpt_thread b = wpt_thread_start(submit_until_closed, &low);
        wpt_sleep_ns((round % 7) * WP_US(20));
        CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
        wpt_thread_join(a);
        wpt_thread_join(b);
        CHECK_EQ_INT(atomic_load(&ran), high.accepted + low.accepted);
        CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    }
}

static const wpt_test tests[] = {
    WPT_TEST(test_priority_lanes_are_made_at_first_use),
    WPT_TEST(test_a_lane_without_memory_refuses_with_nomem),
    WPT_TEST(test_first_jobs_of_a_lane_racing_close_all_run),
    WPT_TEST(test_config_allocator_is_used_only_at_create_and_freed_at_destroy),
    WPT_TEST(test_default_allocator_is_used_only_at_create_and_freed_at_destroy),
    WPT_TEST(test_queue_create_allocates_once_and_init_never),
    WPT_TEST(test_create_fails_cleanly_when_any_allocation_fails),
    WPT_TEST(test_half_an_allocator_is_invalid),
    WPT_TEST(test_failed_create_with_bad_config_allocates_nothing),
};

WPT_MAIN(tests)
