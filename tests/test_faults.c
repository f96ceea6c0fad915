/* Fault injection: allocation failure at the k-th allocation of a whole
   create / submit / scale / close / destroy cycle, for every k, through the
   config allocator and through WP_MALLOC (pools without an allocator and
   wp_queue_create); thread-start failure at create and on scale-up for
   every count of failed starts; and jobs that never return until the test
   lets them, against close's timeout.

   test_alloc.c already fails each allocation of one create with the config
   allocator; test_scaling.c fails single thread starts. This file runs the
   whole cycle on several shapes of pool, on both allocation paths, and
   checks the jobs' accounting after each fault as well as the leak balance. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

/* WP_MALLOC/WP_FREE: counting, and failing the allocation numbered
   `malloc_fail_at` (counted from malloc_calls when armed; -1: never). */
static atomic_long malloc_calls, malloc_live;
static atomic_long malloc_fail_at = -1;

static void *faulty_malloc(size_t size) {
    long n = atomic_fetch_add(&malloc_calls, 1);
    if (n == atomic_load(&malloc_fail_at))
        return NULL;
    void *p = malloc(size);
    if (p)
        atomic_fetch_add(&malloc_live, 1);
    return p;
}

static void faulty_free(void *p) {
    if (p)
        atomic_fetch_sub(&malloc_live, 1);
    free(p);
}

#define WP_MALLOC(size) faulty_malloc(size)
#define WP_FREE(p) faulty_free(p)
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* A config allocator that counts, checks every free and fails on demand.    */

enum { MAX_LIVE = 512 };

typedef struct faulty_allocator {
    pthread_mutex_t lock;
    long calls, fail_at;       /* fail_at: index of the call to fail, -1 none */
    long bad_frees, failed;
    void *live[MAX_LIVE];
    int nlive;
} faulty_allocator;

static void fa_init(faulty_allocator *fa, long fail_at) {
    memset(fa, 0, sizeof *fa);
    pthread_mutex_init(&fa->lock, NULL);
    fa->fail_at = fail_at;
}

static void *fa_alloc(size_t size, void *user) {
    faulty_allocator *fa = user;
    pthread_mutex_lock(&fa->lock);
    void *p = NULL;
    long n = fa->calls++;
    if (n == fa->fail_at || fa->nlive == MAX_LIVE) {
        fa->failed++;
    } else {
        p = malloc(size);
        if (p)
            fa->live[fa->nlive++] = p;
    }
    pthread_mutex_unlock(&fa->lock);
    return p;
}

static void fa_free(void *p, void *user) {
    faulty_allocator *fa = user;
    if (!p)
        return;
    pthread_mutex_lock(&fa->lock);
    int found = -1;
    for (int i = 0; i < fa->nlive; i++)
        if (fa->live[i] == p)
            found = i;
    if (found < 0) {
        fa->bad_frees++;
    } else {
        fa->live[found] = fa->live[--fa->nlive];
        free(p);
    }
    pthread_mutex_unlock(&fa->lock);
}

/* ------------------------------------------------------------------------ */
/* One cycle: create, submit n jobs (receiving results), scale, close,       */
/* destroy. Returns the create status; checks every job's accounting.        */

typedef struct shape {
    const char *what;
    int min_workers, max_workers;
    size_t queue_capacity, result_capacity;
    bool scale;                /* call wp_pool_scale / wp_pool_resize too */
} shape;

static const shape shapes[] = {
    { "fixed, one worker, no channel", 1, 1, 4, 0, false },
    { "fixed, three workers, channel", 3, 3, 16, 8, false },
    { "scaling 1..4, channel, manual scale", 1, 4, 8, 4, true },
    { "scaling 2..3, no channel", 2, 3, 2, 0, true },
};

static wp_status run_cycle(const shape *sh, const wp_allocator *alloc, int jobs) {
    wp_config cfg = { .name = sh->what, .scaling.min_workers = sh->min_workers, .max_workers = sh->max_workers,
                      .queue_capacity = sh->queue_capacity, .result_capacity = sh->result_capacity,
                      .scaling.up_threshold = 1, .scaling.up_cooldown = WP_US(1) };
    if (alloc)
        cfg.allocator = *alloc;
    static int dummy;
    wp_pool *pool = (wp_pool *)(void *)&dummy;
    wp_status s = wp_pool_create(&cfg, &pool);
    if (s != WP_OK) {
        CHECK(pool == NULL);
        return s;
    }
    atomic_int ran;
    atomic_init(&ran, 0);
    int received = 0;
    wp_result r;
    for (int i = 0; i < jobs; i++) {
        wp_job job = { .fn = count_job, .arg = &ran, .id = (uint64_t)i, .backpressure = WP_REJECT };
        wp_status st;
        while ((st = wp_submit_job(pool, &job)) == WP_FULL) {
            if (sh->result_capacity && wp_result_recv(pool, &r, WP_MS(1)) == WP_OK)
                received++;
            else
                wpt_sleep_ns(WP_US(20));
        }
        CHECK_STATUS(st, WP_OK);
        while (sh->result_capacity && wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK)
            received++;
        if (sh->scale && i == jobs / 2) {
            CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK);
            CHECK_STATUS(wp_pool_resize(pool, 1, sh->max_workers), WP_OK);
            CHECK_STATUS(wp_pool_scale(pool, -1), WP_OK);
        }
    }
    while (sh->result_capacity && received < jobs && wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK)
        received++;
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    if (sh->result_capacity) {
        CHECK_EQ_INT(received, jobs);
        CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_CLOSED);
    }
    CHECK_EQ_INT(atomic_load(&ran), jobs);
    wp_stats stats = pool_stats(pool);
    CHECK_EQ_UINT(stats.submitted, (uint64_t)jobs);
    CHECK_EQ_UINT(stats.completed, (uint64_t)jobs);
    CHECK_STATS_BALANCE(stats);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    return WP_OK;
}

static void test_config_allocator_fails_at_every_k_of_a_whole_cycle(void) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *sh = &shapes[i];
        /* a clean cycle first: how many allocations does it make? */
        faulty_allocator probe;
        fa_init(&probe, -1);
        wp_allocator a = { fa_alloc, fa_free, &probe };
        REQUIRE_STATUS(run_cycle(sh, &a, 200), WP_OK);
        long total = probe.calls;
        CHECK_CMP_INT(total, >, 0);
        CHECK_EQ_INT(probe.nlive, 0);
        CHECK_EQ_INT(probe.bad_frees, 0);
        pthread_mutex_destroy(&probe.lock);
        /* then fail each one in turn, and one past the last (never reached) */
        int nomem = 0;
        for (long k = 0; k <= total; k++) {
            faulty_allocator fa;
            fa_init(&fa, k);
            a.user = &fa;
            long before = atomic_load(&malloc_calls);
            wp_status s = run_cycle(sh, &a, 50);
            if (k < total) {
                CHECK_STATUS(s, WP_NOMEM);
                nomem += s == WP_NOMEM;
                /* the failed one was the last thing create asked for */
                CHECK_EQ_INT(fa.calls, k + 1);
            } else {
                CHECK_STATUS(s, WP_OK);
                CHECK_EQ_INT(fa.calls, total); /* nothing after create */
            }
            CHECK_EQ_INT(fa.nlive, 0);
            CHECK_EQ_INT(fa.bad_frees, 0);
            CHECK_EQ_INT(atomic_load(&malloc_calls), before); /* WP_MALLOC untouched */
            pthread_mutex_destroy(&fa.lock);
        }
        if (wpt_failed()) {
            wpt_note("shape: %s (%ld allocations)", sh->what, total);
            return;
        }
        CHECK_EQ_INT(nomem, total);
        wpt_note("%s: failed each of its %ld allocations", sh->what, total);
    }
}

static void test_wp_malloc_fails_at_every_k_of_a_whole_cycle(void) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *sh = &shapes[i];
        long live_before = atomic_load(&malloc_live);
        long start = atomic_load(&malloc_calls);
        REQUIRE_STATUS(run_cycle(sh, NULL, 200), WP_OK);
        long total = atomic_load(&malloc_calls) - start;
        CHECK_CMP_INT(total, >, 0);
        wpt_note("%s: %ld WP_MALLOC calls, each failed in turn", sh->what, total);
        CHECK_EQ_INT(atomic_load(&malloc_live), live_before);
        for (long k = 0; k <= total; k++) {
            long base = atomic_load(&malloc_calls);
            atomic_store(&malloc_fail_at, base + k);
            wp_status s = run_cycle(sh, NULL, 50);
            atomic_store(&malloc_fail_at, -1);
            long calls = atomic_load(&malloc_calls) - base;
            if (k < total) {
                CHECK_STATUS(s, WP_NOMEM);
                CHECK_EQ_INT(calls, k + 1);
            } else {
                CHECK_STATUS(s, WP_OK);
                CHECK_EQ_INT(calls, total);
            }
            CHECK_EQ_INT(atomic_load(&malloc_live), live_before); /* nothing leaked */
            if (wpt_failed()) {
                wpt_note("shape: %s, failing allocation %ld of %ld", sh->what, k, total);
                return;
            }
        }
    }
}

static void test_queue_create_fails_cleanly_when_wp_malloc_fails(void) {
    long live_before = atomic_load(&malloc_live);
    atomic_store(&malloc_fail_at, atomic_load(&malloc_calls));
    wp_queue *q = (wp_queue *)(void *)&live_before;
    CHECK_STATUS(wp_queue_create(64, 8, &q), WP_NOMEM);
    atomic_store(&malloc_fail_at, -1);
    CHECK(q == NULL);
    CHECK_EQ_INT(atomic_load(&malloc_live), live_before);
    /* and the next one works, and gives its memory back */
    REQUIRE_STATUS(wp_queue_create(64, 8, &q), WP_OK);
    uint64_t v = 42, out = 0;
    CHECK(wp_queue_try_push(q, &v));
    CHECK(wp_queue_try_pop(q, &out));
    CHECK_EQ_UINT(out, 42);
    wp_queue_destroy(q);
    CHECK_EQ_INT(atomic_load(&malloc_live), live_before);
}

/* ------------------------------------------------------------------------ */
/* Thread starts that fail                                                    */

typedef struct hook_count {
    atomic_int starts, stops;
} hook_count;

static void on_start(const wp_event *ev, void *user) {
    (void)ev;
    atomic_fetch_add(&((hook_count *)user)->starts, 1);
}

static void on_stop(const wp_event *ev, void *user) {
    (void)ev;
    atomic_fetch_add(&((hook_count *)user)->stops, 1);
}

static void test_create_with_every_count_of_failed_thread_starts(void) {
    /* fixed sets of 1..6 workers and a scaling pool with min 3: failing
       the first f starts, for every f from 1 to min, fails the create */
    static const int mins[] = { 1, 2, 4, 6, 3 };
    static const int maxs[] = { 1, 2, 4, 6, 8 };
    for (int c = 0; c < 5; c++) {
        for (int f = 1; f <= mins[c]; f++) {
            faulty_allocator fa;
            fa_init(&fa, -1);
            hook_count h;
            atomic_init(&h.starts, 0);
            atomic_init(&h.stops, 0);
            wp_config cfg = { .scaling.min_workers = mins[c], .max_workers = maxs[c], .queue_capacity = 16,
                              .result_capacity = 4, .allocator = { fa_alloc, fa_free, &fa },
                              .hooks.thread_start = on_start, .hooks.thread_stop = on_stop, .hooks.user = &h };
            static int dummy;
            wp_pool *pool = (wp_pool *)(void *)&dummy;
            long malloc_before = atomic_load(&malloc_live);
            wp__test_fail_thread_starts(f);
            wp_status s = wp_pool_create(&cfg, &pool);
            wp__test_fail_thread_starts(0);
            CHECK_STATUS(s, WP_THREAD_FAILED);
            CHECK(pool == NULL);
            if (s == WP_OK && pool)
                wp_pool_destroy(pool);
            CHECK_CMP_INT(fa.calls, >, 0);
            CHECK_EQ_INT(fa.nlive, 0);       /* nothing leaked */
            CHECK_EQ_INT(fa.bad_frees, 0);
            CHECK_EQ_INT(atomic_load(&malloc_live), malloc_before);
            /* every thread that did start also stopped, and was joined */
            CHECK_EQ_INT(atomic_load(&h.starts), atomic_load(&h.stops));
            pthread_mutex_destroy(&fa.lock);
            if (wpt_failed()) {
                wpt_note("min %d max %d, %d failed starts", mins[c], maxs[c], f);
                return;
            }
        }
    }
}

static void test_scale_up_with_failed_starts_keeps_the_pool_working(void) {
    /* a pool of 1..6: scale by +5 while f of the starts fail, for each f;
       the pool keeps what it has, counts each failure once, and runs an
       exactly counted load afterwards */
    for (int f = 1; f <= 5; f++) {
        hook_count h;
        atomic_init(&h.starts, 0);
        atomic_init(&h.stops, 0);
        wp_config cfg = { .scaling.min_workers = 1, .max_workers = 6, .queue_capacity = 64, .result_capacity = 64,
                          .scaling.idle_timeout = WP_SEC(60),
                          .hooks.thread_start = on_start, .hooks.thread_stop = on_stop, .hooks.user = &h };
        wp_pool *pool = NULL;
        REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
        wp__test_fail_thread_starts(f);
        wp_status s = wp_pool_scale(pool, 5);
        wp__test_fail_thread_starts(0);
        CHECK_STATUS(s, WP_THREAD_FAILED);
        wp_stats st = pool_stats(pool);
        CHECK_CMP_UINT(st.spawn_failures, >=, 1);
        CHECK_CMP_UINT(st.spawn_failures, <=, (uint64_t)f);
        CHECK_CMP_INT(st.workers, >=, 1);
        CHECK_CMP_INT(st.workers, <=, 6 - (int)st.spawn_failures);
        CHECK_EQ_UINT(st.scale_ups, (uint64_t)(st.workers - 1));
        /* the pool still works: every job runs once and has one result */
        enum { N = 500 };
        atomic_int ran;
        atomic_init(&ran, 0);
        int received = 0;
        for (int i = 0; i < N; i++) {
            CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
            wp_result r;
            while (wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK)
                received++;
        }
        /* and scaling works again once the platform cooperates */
        CHECK_STATUS(wp_pool_scale(pool, 6), WP_OK);
        CHECK_EVENTUALLY(pool_stats(pool).workers == 6, 5000);
        wp_result r;
        while (received < N && wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK)
            received++;
        CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
        CHECK_EQ_INT(received, N);
        CHECK_EQ_INT(atomic_load(&ran), N);
        st = pool_stats(pool);
        CHECK_EQ_UINT(st.completed, N);
        CHECK_STATS_BALANCE(st);
        CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
        CHECK_EQ_INT(atomic_load(&h.starts), 6);
        CHECK_EQ_INT(atomic_load(&h.stops), 6);
        if (wpt_failed()) {
            wpt_note("%d failed starts", f);
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Jobs that never return (until the test lets them)                         */

typedef struct stuck {
    atomic_bool release;
    atomic_int started, finished, saw_stop;
} stuck;

static int stuck_job(void *arg, wp_ctx *ctx) {
    stuck *s = arg;
    atomic_fetch_add(&s->started, 1);
    bool told = false;
    while (!atomic_load(&s->release)) {
        if (!told && wp_ctx_should_stop(ctx)) {
            told = true;
            atomic_fetch_add(&s->saw_stop, 1);
        }
        wpt_sleep_ms(1);
    }
    atomic_fetch_add(&s->finished, 1);
    return 0;
}

typedef struct blocked_submitter {
    wp_pool *pool;
    atomic_int *ran;
    wp_status status;
    int64_t returned_ns;
    wpt_thread thread;
} blocked_submitter;

static void blocked_submitter_main(void *p) {
    blocked_submitter *b = p;
    b->status = wp_submit_job(b->pool, &(wp_job){ .fn = count_job, .arg = b->ran, .backpressure = WP_BLOCK });
    b->returned_ns = wpt_now_ns();
}

static void check_every_worker_stuck(int workers, bool with_channel) {
    enum { QUEUED = 8, MARGIN_MS = 400 };
    faulty_allocator fa;
    fa_init(&fa, -1);
    stuck s;
    atomic_init(&s.release, false);
    atomic_init(&s.started, 0);
    atomic_init(&s.finished, 0);
    atomic_init(&s.saw_stop, 0);
    atomic_int ran;
    atomic_init(&ran, 0);
    wp_pool *pool = NULL;
    wp_config cfg = { .max_workers = workers, .queue_capacity = QUEUED,
                      .result_capacity = with_channel ? 64 : 0, .allocator = { fa_alloc, fa_free, &fa } };
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    for (int i = 0; i < workers; i++)
        REQUIRE_STATUS(wp_submit(pool, stuck_job, &s), WP_OK);
    REQUIRE_EVENTUALLY(atomic_load(&s.started) == workers, 5000);
    for (int i = 0; i < QUEUED; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    /* a submitter blocked on the full queue, which close must release */
    blocked_submitter b = { .pool = pool, .ran = &ran, .status = WP_OK, .returned_ns = 0 };
    b.thread = wpt_thread_start(blocked_submitter_main, &b);
    CHECK_EVENTUALLY(pool_stats(pool).queue_depth == QUEUED, 2000);
    wpt_sleep_ms(20);

    int64_t start = wpt_now_ns();
    wp_status cs = wp_pool_close(pool, WP_DRAIN, WP_MS(100));
    int64_t ms = wpt_ms_since(start);
    CHECK_STATUS(cs, WP_FORCED);
    CHECK_CMP_INT(ms, >=, 100);
    CHECK_CMP_INT(ms, <, 100 + MARGIN_MS);
    wpt_thread_join(b.thread);
    CHECK_STATUS(b.status, WP_CLOSED);
    CHECK_CMP_INT((b.returned_ns - start) / 1000000, <, 100 + MARGIN_MS);
    CHECK_EQ_INT(atomic_load(&s.finished), 0); /* close did not wait for them */
    CHECK_EVENTUALLY(atomic_load(&s.saw_stop) == workers, 5000);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_CLOSED);

    atomic_store(&s.release, true);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&s.finished), workers);
    CHECK_EQ_INT(atomic_load(&ran), 0); /* the queued ones were canceled */
    if (with_channel) {
        result_tally t = drain_results(pool, 5000);
        CHECK_EQ_INT(t.ok, workers);
        CHECK_EQ_INT(t.canceled, QUEUED);
        CHECK_EQ_INT(t.total, workers + QUEUED);
    }
    wp_stats st = pool_stats(pool);
    CHECK_EQ_UINT(st.submitted, (uint64_t)(workers + QUEUED));
    CHECK_EQ_UINT(st.completed, (uint64_t)workers);
    CHECK_EQ_UINT(st.canceled, QUEUED);
    CHECK_EQ_UINT(st.refused_closed, 2);
    CHECK_STATS_BALANCE(st);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(fa.nlive, 0);
    CHECK_EQ_INT(fa.bad_frees, 0);
    pthread_mutex_destroy(&fa.lock);
}

static void test_close_forced_on_time_when_every_worker_is_stuck(void) {
    check_every_worker_stuck(1, true);
    check_every_worker_stuck(3, false);
}

static void test_destroy_after_forced_close_waits_for_the_stuck_job_and_frees_all(void) {
    faulty_allocator fa;
    fa_init(&fa, -1);
    stuck s;
    atomic_init(&s.release, false);
    atomic_init(&s.started, 0);
    atomic_init(&s.finished, 0);
    atomic_init(&s.saw_stop, 0);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .allocator = { fa_alloc, fa_free, &fa } },
                                  &pool), WP_OK);
    REQUIRE_STATUS(wp_submit(pool, stuck_job, &s), WP_OK);
    REQUIRE_EVENTUALLY(atomic_load(&s.started) == 1, 5000);
    int64_t start = wpt_now_ns();
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_MS(100)), WP_FORCED);
    CHECK_CMP_INT(wpt_ms_since(start), <, 500);
    CHECK_CMP_INT(fa.nlive, >, 0); /* still alive */
    atomic_store(&s.release, true);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&s.finished), 1);
    CHECK_EQ_INT(fa.nlive, 0);
    CHECK_EQ_INT(fa.bad_frees, 0);
    pthread_mutex_destroy(&fa.lock);
}

static const wpt_test tests[] = {
    WPT_TEST(test_config_allocator_fails_at_every_k_of_a_whole_cycle),
    WPT_TEST(test_wp_malloc_fails_at_every_k_of_a_whole_cycle),
    WPT_TEST(test_queue_create_fails_cleanly_when_wp_malloc_fails),
    WPT_TEST(test_create_with_every_count_of_failed_thread_starts),
    WPT_TEST(test_scale_up_with_failed_starts_keeps_the_pool_working),
    WPT_TEST(test_close_forced_on_time_when_every_worker_is_stuck),
    WPT_TEST(test_destroy_after_forced_close_waits_for_the_stuck_job_and_frees_all),
};

WPT_MAIN(tests)
