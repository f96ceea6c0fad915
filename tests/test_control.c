/* Tests of the pool-wide controls of issue 4: nested submission under
   WP_BLOCK, close and destroy from inside a job, wp_pool_wait_idle,
   wp_pool_help, pause and resume, the inline-only mode and the rate limit.

   Deterministic where possible: inline-only pools run jobs only when the
   test asks, and the rate limit is driven by a fake clock. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

#include <math.h>

static int64_t fake_clock(void *user) { return (int64_t)atomic_load((atomic_llong *)user); }

static void fake_advance(atomic_llong *clock, int64_t ns) { atomic_fetch_add(clock, (long long)ns); }

#define CHECK_INVARIANT(s)                                                          \
    CHECK_EQ_UINT((s).submitted,                                                    \
                  (s).completed + (s).failed + (s).canceled + (s).expired + (s).evicted)

/* Where and in which order a job ran. */
static atomic_int g_seq;

typedef struct where {
    atomic_int runs;
    atomic_int pos;
    atomic_int worker;
    pthread_t thread;
    atomic_bool have_thread;
} where;

static void where_init(where *w) {
    atomic_init(&w->runs, 0);
    atomic_init(&w->pos, 0);
    atomic_init(&w->worker, -5);
    atomic_init(&w->have_thread, false);
}

static int where_job(void *arg, wp_ctx *ctx) {
    where *w = (where *)arg;
    atomic_store(&w->pos, atomic_fetch_add(&g_seq, 1) + 1);
    atomic_store(&w->worker, wp_ctx_worker(ctx));
    w->thread = pthread_self();
    atomic_store(&w->have_thread, true);
    atomic_fetch_add(&w->runs, 1);
    return 0;
}

static bool ran_on(where *w, pthread_t t) {
    return atomic_load(&w->have_thread) && pthread_equal(w->thread, t);
}

static wp_pool *make_inline(size_t capacity, size_t results) {
    wp_pool *pool = NULL;
    wp_status s = wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = capacity,
                                               .result_capacity = results }, &pool);
    CHECK_STATUS(s, WP_OK);
    return s == WP_OK ? pool : NULL;
}

/* ------------------------------------------------------------------------ */
/* Nested submission                                                         */

typedef struct nest {
    wp_pool *pool;
    int parents;
    int children;            /* per parent */
    atomic_int started;
    atomic_int child_runs;
    atomic_int refused;
    atomic_int grand_runs;
} nest;

static int nest_grandchild(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add(&((nest *)arg)->grand_runs, 1);
    return 0;
}

static int nest_child(void *arg, wp_ctx *ctx) {
    (void)ctx;
    nest *n = (nest *)arg;
    atomic_fetch_add(&n->child_runs, 1);
    /* one more level: the queue is as full as ever */
    if (wp_submit(n->pool, nest_grandchild, n) != WP_OK)
        atomic_fetch_add(&n->refused, 1);
    return 0;
}

static int nest_parent(void *arg, wp_ctx *ctx) {
    (void)ctx;
    nest *n = (nest *)arg;
    atomic_fetch_add(&n->started, 1);
    /* every worker inside a parent before any submits */
    int64_t until = wpt_now_ns() + WP_SEC(10);
    while (atomic_load(&n->started) < n->parents && wpt_now_ns() < until)
        wpt_sleep_ms(1);
    for (int i = 0; i < n->children; i++)
        if (wp_submit(n->pool, nest_child, n) != WP_OK)
            atomic_fetch_add(&n->refused, 1);
    return 0;
}

static void test_nested_block_submission_from_every_worker(void) {
    nest n;
    memset(&n, 0, sizeof n);
    n.parents = 2;
    n.children = 30;
    atomic_init(&n.started, 0);
    atomic_init(&n.child_runs, 0);
    atomic_init(&n.refused, 0);
    atomic_init(&n.grand_runs, 0);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 2,
                                                .backpressure = WP_BLOCK }, &n.pool), WP_OK);
    for (int i = 0; i < n.parents; i++)
        CHECK_STATUS(wp_submit(n.pool, nest_parent, &n), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&n.grand_runs) == n.parents * n.children, 20000);
    CHECK_STATUS(wp_pool_close(n.pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n.started), n.parents);
    CHECK_EQ_INT(atomic_load(&n.child_runs), n.parents * n.children);
    CHECK_EQ_INT(atomic_load(&n.grand_runs), n.parents * n.children);
    CHECK_EQ_INT(atomic_load(&n.refused), 0);
    wp_stats s = pool_stats(n.pool);
    CHECK_EQ_UINT(s.submitted, (uint64_t)(n.parents + 2 * n.parents * n.children));
    CHECK_EQ_UINT(s.completed, s.submitted);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(n.pool), WP_OK);
}

/* The same with WP_TIMEOUT: a nested submission does not wait either. */
static void test_nested_timeout_submission_runs_in_place(void) {
    nest n;
    memset(&n, 0, sizeof n);
    n.parents = 2;
    n.children = 10;
    atomic_init(&n.started, 0);
    atomic_init(&n.child_runs, 0);
    atomic_init(&n.refused, 0);
    atomic_init(&n.grand_runs, 0);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 2,
                                                .backpressure = WP_TIMEOUT,
                                                .submit_timeout = WP_SEC(30) }, &n.pool), WP_OK);
    int64_t t0 = wpt_now_ns();
    for (int i = 0; i < n.parents; i++)
        CHECK_STATUS(wp_submit(n.pool, nest_parent, &n), WP_OK);
    /* (not closing yet: a close refuses the nested submissions) */
    CHECK_EVENTUALLY(atomic_load(&n.grand_runs) == n.parents * n.children, 25000);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 20000); /* nobody waited out the 30 s */
    CHECK_STATUS(wp_pool_close(n.pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    CHECK_EQ_INT(atomic_load(&n.child_runs), n.parents * n.children);
    CHECK_EQ_INT(atomic_load(&n.grand_runs), n.parents * n.children);
    CHECK_EQ_INT(atomic_load(&n.refused), 0);
    wp_stats s = pool_stats(n.pool);
    CHECK_EQ_UINT(s.timed_out, 0);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(n.pool), WP_OK);
}

typedef struct inside_calls {
    wp_pool *pool;
    atomic_int close_status;
    atomic_int destroy_status;
    atomic_int ran;
} inside_calls;

static int close_inside_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    inside_calls *c = (inside_calls *)arg;
    atomic_store(&c->close_status, (int)wp_pool_close(c->pool, WP_DRAIN, WP_NOWAIT));
    atomic_store(&c->destroy_status, (int)wp_pool_destroy(c->pool));
    atomic_fetch_add(&c->ran, 1);
    return 0;
}

static void inside_init(inside_calls *c, wp_pool *pool) {
    c->pool = pool;
    atomic_init(&c->close_status, 1);
    atomic_init(&c->destroy_status, 1);
    atomic_init(&c->ran, 0);
}

static void test_close_and_destroy_inside_job_would_deadlock(void) {
    /* on a worker */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool), WP_OK);
    inside_calls c;
    inside_init(&c, pool);
    CHECK_STATUS(wp_submit(pool, close_inside_job, &c), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&c.ran) == 1, 10000);
    CHECK_STATUS(atomic_load(&c.close_status), WP_WOULD_DEADLOCK);
    CHECK_STATUS(atomic_load(&c.destroy_status), WP_WOULD_DEADLOCK);
    /* the pool is still open and works */
    atomic_int runs;
    atomic_init(&runs, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    /* run by wp_pool_help on this thread while the worker is held */
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    inside_init(&c, pool);
    CHECK_STATUS(wp_submit(pool, close_inside_job, &c), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_EQ_INT(atomic_load(&c.ran), 1);
    CHECK_STATUS(atomic_load(&c.close_status), WP_WOULD_DEADLOCK);
    CHECK_STATUS(atomic_load(&c.destroy_status), WP_WOULD_DEADLOCK);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);

    /* in an inline-only pool, by wp_pool_help */
    pool = make_inline(4, 0);
    REQUIRE(pool != NULL);
    inside_init(&c, pool);
    CHECK_STATUS(wp_submit(pool, close_inside_job, &c), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_EQ_INT(atomic_load(&c.ran), 1);
    CHECK_STATUS(atomic_load(&c.close_status), WP_WOULD_DEADLOCK);
    CHECK_STATUS(atomic_load(&c.destroy_status), WP_WOULD_DEADLOCK);
    CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK); /* still open */
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 2);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* wp_pool_wait_idle                                                         */

typedef struct flag_job_arg {
    atomic_int started;
    atomic_int done;
    int sleep_us;
} flag_job_arg;

static int flag_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    flag_job_arg *f = (flag_job_arg *)arg;
    atomic_store(&f->started, 1);
    if (f->sleep_us)
        wpt_sleep_ns(WP_US(f->sleep_us));
    atomic_store(&f->done, 1);
    return 0;
}

static void test_wait_idle_never_misses_a_just_submitted_job(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    int rounds = (int)wpt_scaled(2000, 100);
    int missed = 0, bad_status = 0;
    for (int i = 0; i < rounds; i++) {
        flag_job_arg f;
        atomic_init(&f.done, 0);
        atomic_init(&f.started, 0);
        f.sleep_us = i % 10 == 0 ? 2000 : 0;
        if (wp_submit(pool, flag_job, &f) != WP_OK) {
            bad_status++;
            continue;
        }
        /* now and then, a job a worker is surely running already */
        if (i % 20 == 0)
            for (int64_t until = wpt_now_ns() + WP_SEC(10);
                 !atomic_load(&f.started) && wpt_now_ns() < until;)
                wpt_sleep_ns(WP_US(50));
        if (wp_pool_wait_idle(pool, WP_SEC(30)) != WP_OK)
            bad_status++;
        missed += atomic_load(&f.done) == 0;
        /* keep f alive until the job ends */
        for (int64_t until = wpt_now_ns() + WP_SEC(30); !atomic_load(&f.done) && wpt_now_ns() < until;)
            wpt_sleep_ms(1);
    }
    CHECK_EQ_INT(missed, 0);
    CHECK_EQ_INT(bad_status, 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, (uint64_t)rounds);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_INT(s.active, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_wait_idle_times_out_on_a_blocked_job(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_MS(50)), WP_TIMED_OUT);
    CHECK_CMP_INT(wpt_ms_since(t0), >=, 45);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_NOWAIT), WP_TIMED_OUT);
    /* a queued job behind the gate: a waiter outside the pool's jobs leaves
       it to the workers (it might be the thread that receives results) */
    where w;
    where_init(&w);
    CHECK_STATUS(wp_submit(pool, where_job, &w), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_MS(30)), WP_TIMED_OUT);
    CHECK_EQ_INT(atomic_load(&w.runs), 0);
    gate_open(&g);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&g.finished), 1);
    CHECK_EQ_INT(atomic_load(&w.runs), 1);
    CHECK_EQ_INT(atomic_load(&w.worker), 0);
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_NOWAIT), WP_OK);
    CHECK_STATUS(wp_pool_wait_idle(NULL, WP_SEC(1)), WP_INVALID);
    CHECK_STATUS(wp_pool_wait_idle(pool, -1), WP_INVALID);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* A job of a one-worker pool submits children and waits for idle: it must
   run them itself instead of blocking its only worker. */
typedef struct waiter {
    wp_pool *pool;
    int children;
    atomic_int child_runs;
    atomic_int status;
    atomic_int children_at_return;
    atomic_int returned;
    int64_t elapsed_ms;
} waiter;

static int waiter_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    waiter *w = (waiter *)arg;
    for (int i = 0; i < w->children; i++)
        wp_submit(w->pool, count_job, &w->child_runs);
    int64_t t0 = wpt_now_ns();
    atomic_store(&w->status, (int)wp_pool_wait_idle(w->pool, WP_SEC(20)));
    w->elapsed_ms = wpt_ms_since(t0);
    atomic_store(&w->children_at_return, atomic_load(&w->child_runs));
    atomic_store(&w->returned, 1);
    return 0;
}

static void waiter_init(waiter *w, wp_pool *pool, int children) {
    w->pool = pool;
    w->children = children;
    atomic_init(&w->child_runs, 0);
    atomic_init(&w->status, 1);
    atomic_init(&w->children_at_return, -1);
    atomic_init(&w->returned, 0);
    w->elapsed_ms = -1;
}

static void test_wait_idle_inside_job_helps(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 8 }, &pool),
                   WP_OK);
    waiter w;
    waiter_init(&w, pool, 5);
    CHECK_STATUS(wp_submit(pool, waiter_job, &w), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&w.returned) == 1, 30000);
    CHECK_STATUS(atomic_load(&w.status), WP_OK);
    CHECK_EQ_INT(atomic_load(&w.children_at_return), 5);
    CHECK_CMP_INT(w.elapsed_ms, <, 10000);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* Two jobs that both wait for idle do not wait for each other. */
typedef struct pair_waiter {
    wp_pool *pool;
    atomic_int started;
    atomic_int ok;
    atomic_int finished;
} pair_waiter;

static int pair_wait_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    pair_waiter *p = (pair_waiter *)arg;
    atomic_fetch_add(&p->started, 1);
    int64_t until = wpt_now_ns() + WP_SEC(10);
    while (atomic_load(&p->started) < 2 && wpt_now_ns() < until)
        wpt_sleep_ms(1);
    if (wp_pool_wait_idle(p->pool, WP_SEC(20)) == WP_OK)
        atomic_fetch_add(&p->ok, 1);
    atomic_fetch_add(&p->finished, 1);
    return 0;
}

static void test_wait_idle_two_waiting_jobs_do_not_deadlock(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    pair_waiter p;
    p.pool = pool;
    atomic_init(&p.started, 0);
    atomic_init(&p.ok, 0);
    atomic_init(&p.finished, 0);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit(pool, pair_wait_job, &p), WP_OK);
    CHECK_STATUS(wp_submit(pool, pair_wait_job, &p), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&p.finished) == 2, 40000);
    CHECK_EQ_INT(atomic_load(&p.ok), 2);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 10000); /* neither waited out its 20 s */
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(30)), WP_OK);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* In an inline-only pool, wait_idle runs every queued job on its caller. */
static void test_wait_idle_runs_inline_jobs(void) {
    wp_pool *pool = make_inline(8, 0);
    REQUIRE(pool != NULL);
    where w[5];
    for (int i = 0; i < 5; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(10)), WP_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(atomic_load(&w[i].runs), 1);
        CHECK(ran_on(&w[i], pthread_self()));
    }
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* wp_pool_help                                                              */

static void test_help_runs_until_empty(void) {
    wp_pool *pool = make_inline(16, 0);
    REQUIRE(pool != NULL);
    where w[10];
    for (int i = 0; i < 10; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    CHECK_EQ_UINT(wp_pool_help(pool, 0), 0);   /* a budget of 0 runs nothing */
    CHECK_EQ_UINT(wp_pool_help(pool, -1), 0);
    CHECK_EQ_UINT(wp_pool_help(NULL, WP_FOREVER), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(atomic_load(&w[i].runs), 0);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(30)), 10);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(atomic_load(&w[i].runs), 1);
        CHECK_EQ_INT(atomic_load(&w[i].worker), -1);
        CHECK(ran_on(&w[i], pthread_self()));
    }
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.completed, 10);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_help_respects_budget(void) {
    wp_pool *pool = make_inline(32, 0);
    REQUIRE(pool != NULL);
    enum { N = 20 };
    int ms = 5;
    for (int i = 0; i < N; i++)
        CHECK_STATUS(wp_submit(pool, sleep_job, &ms), WP_OK);
    int64_t t0 = wpt_now_ns();
    size_t ran = wp_pool_help(pool, WP_MS(20));
    int64_t took = wpt_ms_since(t0);
    wpt_note("budget 20 ms: ran %zu jobs of 5 ms in %lld ms", ran, (long long)took);
    CHECK_CMP_UINT(ran, >=, 1);
    CHECK_CMP_UINT(ran, <, N);
    /* checked before each job: at most one job past the budget (generous:
       a loaded machine may stretch that job's 5 ms sleep) */
    CHECK_CMP_INT(took, <, 20 + 500);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, N - ran);
    CHECK_EQ_UINT(s.completed, ran);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), N - ran);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* Helping a pool with (paused) workers runs its jobs on the caller. */
static void test_help_on_pool_with_paused_workers(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16 }, &pool),
                   WP_OK);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    where w[6];
    for (int i = 0; i < 6; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(30)), 6);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(atomic_load(&w[i].runs), 1);
        CHECK_EQ_INT(atomic_load(&w[i].worker), -1);
        CHECK(ran_on(&w[i], pthread_self()));
    }
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 6);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Pause and resume                                                          */

static void test_pause_holds_jobs_until_resume(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 4 }, &pool),
                   WP_OK);
    /* a job running at pause time finishes */
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK); /* again: harmless */
    gate_open(&g);
    CHECK_EVENTUALLY(atomic_load(&g.finished) == 1, 5000);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .backpressure = WP_REJECT }), WP_FULL);
    wpt_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&runs), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 4);
    CHECK_EQ_UINT(s.rejected, 1);
    CHECK_EQ_INT(s.active, 0);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&runs) == 4, 10000);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK); /* not paused: fine */
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(30)), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 5);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_pause(pool), WP_CLOSED);
    CHECK_STATUS(wp_pool_pause(NULL), WP_INVALID);
    CHECK_STATUS(wp_pool_resume(NULL), WP_INVALID);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* A BLOCK submitter into the full queue of a paused pool waits until resume. */
typedef struct blocked_submit {
    wp_pool *pool;
    atomic_int *runs;
    atomic_int returned;
    atomic_int status;
} blocked_submit;

static void blocked_submit_main(void *p) {
    blocked_submit *b = (blocked_submit *)p;
    atomic_store(&b->status, (int)wp_submit(b->pool, count_job, b->runs));
    atomic_store(&b->returned, 1);
}

static void test_pause_block_submitter_waits_for_resume(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 }, &pool),
                   WP_OK);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    /* Fill the queue. A worker that was taking as the pause landed may
       hold one job (it starts none until resume), which leaves a cell. */
    int queued = 0;
    while (queued < 4 && wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                        .backpressure = WP_REJECT }) == WP_OK)
        queued++;
    CHECK_CMP_INT(queued, >=, 2);
    CHECK_CMP_INT(queued, <=, 3);
    blocked_submit b = { pool, &runs, 0, 1 };
    atomic_init(&b.returned, 0);
    atomic_init(&b.status, 1);
    wpt_thread t = wpt_thread_start(blocked_submit_main, &b);
    wpt_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&b.returned), 0);
    CHECK_EQ_INT(atomic_load(&runs), 0);
    CHECK_STATUS(wp_pool_resume(pool), WP_OK);
    wpt_thread_join(t);
    CHECK_STATUS(atomic_load(&b.status), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), queued + 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_pause_then_close_drain_runs_all(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16 }, &pool),
                   WP_OK);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&runs), 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 10);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 10);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_pause(pool), WP_CLOSED);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_pause_then_close_cancel_cancels_all(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16,
                                                .result_capacity = 16 }, &pool), WP_OK);
    CHECK_STATUS(wp_pool_pause(pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 0);
    result_tally t = drain_results(pool, 5000);
    CHECK_EQ_INT(t.total, 10);
    CHECK_EQ_INT(t.canceled, 10);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 10);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Inline-only mode                                                          */

static void test_inline_config_and_refusals(void) {
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .scaling.min_workers = 1 }, &pool),
                 WP_INVALID);
    CHECK(pool == NULL);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .max_workers = 1 }, &pool),
                 WP_INVALID);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .scaling.min_workers = 2,
                                              .max_workers = 2 }, &pool), WP_INVALID);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true }, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 0);
    CHECK_EQ_INT(s.active, 0);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_INVALID);
    CHECK_STATUS(wp_pool_scale(pool, -1), WP_INVALID);
    CHECK_STATUS(wp_pool_resize(pool, 1, 1), WP_INVALID);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_inline_runs_only_when_asked(void) {
    wp_pool *pool = make_inline(8, 0);
    REQUIRE(pool != NULL);
    where w[3];
    for (int i = 0; i < 3; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    wpt_sleep_ms(30);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(atomic_load(&w[i].runs), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 3);
    CHECK_EQ_INT(s.workers, 0);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(atomic_load(&w[i].runs), 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* close(WP_DRAIN) runs the queued jobs on the closing thread; results come
   out, then WP_CLOSED. */
typedef struct closer {
    wp_pool *pool;
    wp_close_mode mode;
    pthread_t self;
    atomic_int status;
} closer;

static void closer_main(void *p) {
    closer *c = (closer *)p;
    c->self = pthread_self();
    atomic_store(&c->status, (int)wp_pool_close(c->pool, c->mode, WP_SEC(30)));
}

static void test_inline_close_drain_runs_on_closing_thread(void) {
    wp_pool *pool = make_inline(8, 8);
    REQUIRE(pool != NULL);
    where w[4];
    for (int i = 0; i < 4; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    closer c = { pool, WP_DRAIN, pthread_self(), 1 };
    atomic_init(&c.status, 1);
    wpt_thread t = wpt_thread_start(closer_main, &c);
    wpt_thread_join(t);
    CHECK_STATUS(atomic_load(&c.status), WP_OK);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(atomic_load(&w[i].runs), 1);
        CHECK(ran_on(&w[i], c.self));
        CHECK(!ran_on(&w[i], pthread_self()));
    }
    result_tally tl = drain_results(pool, 5000);
    CHECK_EQ_INT(tl.ok, 4);
    CHECK_EQ_INT(tl.total, 4);
    wp_result r;
    CHECK_STATUS(wp_result_recv(pool, &r, WP_NOWAIT), WP_CLOSED);
    CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(1)), WP_CLOSED);
    atomic_int runs;
    atomic_init(&runs, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_CLOSED);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 4);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_inline_close_cancel_cancels(void) {
    wp_pool *pool = make_inline(8, 8);
    REQUIRE(pool != NULL);
    where w[4];
    for (int i = 0; i < 4; i++) {
        where_init(&w[i]);
        CHECK_STATUS(wp_submit(pool, where_job, &w[i]), WP_OK);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(atomic_load(&w[i].runs), 0);
    result_tally tl = drain_results(pool, 5000);
    CHECK_EQ_INT(tl.canceled, 4);
    CHECK_EQ_INT(tl.total, 4);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 4);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* A BLOCK (or TIMEOUT) submitter meeting a full inline queue runs the oldest
   queued job to make room. */
static void test_inline_full_block_runs_oldest(void) {
    wp_pool *pool = make_inline(2, 0);
    REQUIRE(pool != NULL);
    atomic_store(&g_seq, 0);
    where a, b, c, d;
    where_init(&a);
    where_init(&b);
    where_init(&c);
    where_init(&d);
    CHECK_STATUS(wp_submit(pool, where_job, &a), WP_OK);
    CHECK_STATUS(wp_submit(pool, where_job, &b), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = where_job, .arg = &c,
                                                .backpressure = WP_BLOCK }), WP_OK);
    CHECK_EQ_INT(atomic_load(&a.runs), 1);
    CHECK(ran_on(&a, pthread_self()));
    CHECK_EQ_INT(atomic_load(&b.runs), 0);
    CHECK_EQ_INT(atomic_load(&c.runs), 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = where_job, .arg = &d,
                                                .backpressure = WP_TIMEOUT,
                                                .submit_timeout = WP_SEC(5) }), WP_OK);
    CHECK_EQ_INT(atomic_load(&b.runs), 1);
    CHECK_EQ_INT(atomic_load(&c.runs), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 2);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(s.completed, 2);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 2);
    CHECK_EQ_INT(atomic_load(&a.pos), 1);
    CHECK_EQ_INT(atomic_load(&b.pos), 2);
    CHECK_EQ_INT(atomic_load(&c.pos), 3);
    CHECK_EQ_INT(atomic_load(&d.pos), 4);
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Rate limit                                                                */

static void test_rate_limit_inline_fake_clock(void) {
    atomic_llong clock;
    atomic_init(&clock, 1000000000LL);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 16,
                                                .rate.limit = 10.0, .rate.burst = 3,
                                                .clock = fake_clock, .clock_user = &clock },
                                  &pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 3);   /* the burst, at a frozen clock */
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 0);
    CHECK_EQ_INT(atomic_load(&runs), 3);
    fake_advance(&clock, WP_MS(100));                  /* one interval: one more */
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 1);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 0);
    fake_advance(&clock, WP_MS(99));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 0);   /* not quite due */
    fake_advance(&clock, WP_MS(1));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 1);
    fake_advance(&clock, WP_SEC(10));                  /* a quiet spell: the burst again */
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 3);
    CHECK_EQ_INT(atomic_load(&runs), 8);
    fake_advance(&clock, WP_SEC(10));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 2);   /* the queue runs dry */
    CHECK_EQ_INT(atomic_load(&runs), 10);
    /* jobs canceled at close skip the limit */
    fake_advance(&clock, WP_SEC(10));
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 3);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(20)), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 10000);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 13);
    CHECK_EQ_UINT(s.canceled, 7);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_rate_limit_workers_fake_clock(void) {
    atomic_llong clock;
    atomic_init(&clock, 1000000000LL);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16,
                                                .rate.limit = 10.0, .rate.burst = 3,
                                                .clock = fake_clock, .clock_user = &clock },
                                  &pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_EVENTUALLY(atomic_load(&runs) == 3, 10000);
    wpt_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&runs), 3);               /* no more than the burst */
    fake_advance(&clock, WP_MS(100));
    CHECK_EVENTUALLY(atomic_load(&runs) == 4, 10000);
    wpt_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&runs), 4);
    fake_advance(&clock, WP_SEC(10));
    CHECK_EVENTUALLY(atomic_load(&runs) == 7, 10000);
    wpt_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&runs), 7);
    fake_advance(&clock, WP_SEC(10));
    CHECK_EVENTUALLY(atomic_load(&runs) == 10, 10000);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 10);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 10);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_rate_limit_invalid(void) {
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .rate.limit = -1.0 }, &pool),
                 WP_INVALID);
    CHECK(pool == NULL);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .rate.limit = (double)NAN }, &pool),
                 WP_INVALID);
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .rate.limit = -0.5 }, &pool),
                 WP_INVALID);
    /* zero burst means one */
    atomic_llong clock;
    atomic_init(&clock, 1);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .rate.limit = 1000.0,
                                                .clock = fake_clock, .clock_user = &clock },
                                  &pool), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &runs), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 1);
    fake_advance(&clock, WP_MS(1));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 1);
    fake_advance(&clock, WP_MS(1));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_SEC(1)), 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}


/* --- regressions found in review ----------------------------------------- */

/* A job run in place inside another job (nested submission into a full
   queue) waits for idle: the outer job is set aside, not waited for. */
static wp_pool *g_nested_pool;
static atomic_int g_inner_status;

static int inner_waits_idle(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    atomic_store(&g_inner_status, (int)wp_pool_wait_idle(g_nested_pool, WP_SEC(5)));
    return 0;
}

static int outer_fills_then_nests(void *arg, wp_ctx *ctx) {
    (void)ctx;
    gate *g = (gate *)arg;
    /* Fill the queue with jobs held by the gate's owner... */
    while (wp_submit_job(g_nested_pool, &(wp_job){ .fn = count_job, .arg = &g->finished,
                                                   .backpressure = WP_REJECT }) == WP_OK)
        ;
    /* ...so that this one runs in place, inside us. */
    return wp_submit_job(g_nested_pool, &(wp_job){ .fn = inner_waits_idle,
                                                   .backpressure = WP_BLOCK }) == WP_OK ? 0 : 1;
}

static void test_nested_job_waiting_idle_does_not_wait_for_its_outer_job(void) {
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 },
                                  &g_nested_pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_store(&g_inner_status, 99);
    CHECK_STATUS(wp_submit(g_nested_pool, outer_fills_then_nests, &g), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_wait_idle(g_nested_pool, WP_SEC(30)), WP_OK);
    CHECK_STATUS(atomic_load(&g_inner_status), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 4000); /* not the inner wait's 5 s timeout */
    wp_stats st;
    wp_pool_stats(g_nested_pool, &st);
    CHECK_EQ_UINT(st.submitted, st.completed + st.failed);
    CHECK_EQ_UINT(st.failed, 0);
    wp_pool_destroy(g_nested_pool);
}

/* A worker blocked on a full result channel has counted its outcome: a
   waiter for idle wakes at once instead of sleeping to its timeout. */
static int sleep50(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    wpt_sleep_ms(50);
    return 0;
}

static void test_wait_idle_wakes_while_a_worker_waits_for_a_receiver(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .result_capacity = 2 }, &pool),
                   WP_OK);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, sleep50, NULL), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_pool_wait_idle(pool, WP_SEC(20)), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 10000);
    /* The waiter ran none of them: it may be the receiver of a full channel. */
    wp_result r;
    int got = 0, outside = 0;
    while (wp_result_recv(pool, &r, WP_MS(200)) == WP_OK) {
        got++;
        outside += r.worker < 0;
    }
    CHECK_EQ_INT(got, 3);
    CHECK_EQ_INT(outside, 0);
    wp_pool_destroy(pool);
}

/* A completion callback on a helping thread is inside the pool's job: close
   from it is refused and wait_idle from it does not wait for itself. */
static wp_pool *g_cb_pool;
static atomic_int g_cb_close, g_cb_idle;

static void done_closes_and_waits(const wp_result *r) {
    (void)r;
    atomic_store(&g_cb_close, (int)wp_pool_close(g_cb_pool, WP_DRAIN, WP_SEC(5)));
    atomic_store(&g_cb_idle, (int)wp_pool_wait_idle(g_cb_pool, WP_SEC(5)));
}

static void test_callback_on_a_helper_is_inside_the_job(void) {
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true }, &g_cb_pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit_job(g_cb_pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                     .on_done = done_closes_and_waits }), WP_OK);
    int64_t t0 = wpt_now_ns();
    CHECK_EQ_UINT(wp_pool_help(g_cb_pool, WP_FOREVER), 1);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 4000);
    CHECK_STATUS(atomic_load(&g_cb_close), WP_WOULD_DEADLOCK);
    CHECK_STATUS(atomic_load(&g_cb_idle), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    wp_pool_destroy(g_cb_pool);
}

/* WP_CALLER_RUNS after close is refused, never run behind the closer's back. */
static void test_caller_runs_after_close_is_refused(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                                .backpressure = WP_CALLER_RUNS }, &pool), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_CLOSED);
    CHECK_EQ_INT(atomic_load(&ran), 0);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_nested_block_submission_from_every_worker),
    WPT_TEST(test_nested_timeout_submission_runs_in_place),
    WPT_TEST(test_close_and_destroy_inside_job_would_deadlock),
    WPT_TEST(test_wait_idle_never_misses_a_just_submitted_job),
    WPT_TEST(test_wait_idle_times_out_on_a_blocked_job),
    WPT_TEST(test_wait_idle_inside_job_helps),
    WPT_TEST(test_wait_idle_two_waiting_jobs_do_not_deadlock),
    WPT_TEST(test_wait_idle_runs_inline_jobs),
    WPT_TEST(test_help_runs_until_empty),
    WPT_TEST(test_help_respects_budget),
    WPT_TEST(test_help_on_pool_with_paused_workers),
    WPT_TEST(test_pause_holds_jobs_until_resume),
    WPT_TEST(test_pause_block_submitter_waits_for_resume),
    WPT_TEST(test_pause_then_close_drain_runs_all),
    WPT_TEST(test_pause_then_close_cancel_cancels_all),
    WPT_TEST(test_inline_config_and_refusals),
    WPT_TEST(test_inline_runs_only_when_asked),
    WPT_TEST(test_inline_close_drain_runs_on_closing_thread),
    WPT_TEST(test_inline_close_cancel_cancels),
    WPT_TEST(test_inline_full_block_runs_oldest),
    WPT_TEST(test_rate_limit_inline_fake_clock),
    WPT_TEST(test_rate_limit_workers_fake_clock),
    WPT_TEST(test_rate_limit_invalid),
    WPT_TEST(test_nested_job_waiting_idle_does_not_wait_for_its_outer_job),
    WPT_TEST(test_wait_idle_wakes_while_a_worker_waits_for_a_receiver),
    WPT_TEST(test_callback_on_a_helper_is_inside_the_job),
    WPT_TEST(test_caller_runs_after_close_is_refused),
};

WPT_MAIN(tests)
