/* Tests of what a submission does when the job queue is full: each of the four
   policies, set as the pool's default and as a per-job override, a blocked
   submitter and close, submission after close, and nested submission from
   inside a job.

   The setup is deterministic: one worker, a queue of 2, a gate job holding the
   worker, and 2 queued jobs filling the queue. Nothing can make room until the
   test opens the gate. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

typedef struct full_pool {
    wp_pool *pool;
    gate g;
    atomic_int filler_runs;   /* the 2 jobs that fill the queue */
    atomic_int refused_runs;  /* jobs whose submission was refused: must stay 0 */
    atomic_int late_runs;     /* jobs accepted once room appeared */
} full_pool;

/* Builds the full pool; on failure records it, cleans up and returns false. */
static bool full_pool_setup(full_pool *f, wp_backpressure policy, int64_t submit_timeout,
                            bool gate_honors_stop) {
    memset(f, 0, sizeof *f);
    gate_init(&f->g, gate_honors_stop);
    atomic_init(&f->filler_runs, 0);
    atomic_init(&f->refused_runs, 0);
    atomic_init(&f->late_runs, 0);
    wp_config cfg = { .max_workers = 1, .queue_capacity = 2, .backpressure = policy,
                      .submit_timeout = submit_timeout };
    wp_status s = wp_pool_create(&cfg, &f->pool);
    CHECK_STATUS(s, WP_OK);
    if (s != WP_OK)
        return false;
    bool ok = true;
    s = wp_submit(f->pool, gate_job, &f->g);
    CHECK_STATUS(s, WP_OK);
    ok = ok && s == WP_OK;
    ok = ok && gate_wait_started(&f->g, 1, 5000);
    CHECK(ok);
    for (int i = 0; ok && i < 2; i++) {
        s = wp_submit(f->pool, count_job, &f->filler_runs);
        CHECK_STATUS(s, WP_OK);
        ok = s == WP_OK;
    }
    if (ok) {
        wp_stats st = pool_stats(f->pool);
        CHECK_EQ_UINT(st.queue_capacity, 2);
        CHECK_EQ_UINT(st.queue_depth, 2);
        CHECK_EQ_UINT(st.submitted, 3);
        ok = st.queue_depth == 2;
    }
    if (!ok) {
        gate_open(&f->g);
        wp_pool_destroy(f->pool);
    }
    return ok;
}

/* Opens the gate, drains, checks what ran and the stats' balance, destroys. */
static void full_pool_finish(full_pool *f, uint64_t expect_submitted) {
    gate_open(&f->g);
    CHECK_STATUS(wp_pool_close(f->pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    wp_stats s = pool_stats(f->pool);
    CHECK_EQ_INT(atomic_load(&f->filler_runs), 2);
    CHECK_EQ_INT(atomic_load(&f->refused_runs), 0);
    CHECK_EQ_UINT(s.submitted, expect_submitted);
    CHECK_EQ_UINT(s.completed, expect_submitted);
    CHECK_EQ_UINT(s.failed, 0);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(f->pool), WP_OK);
}

/* Submits one job into the full pool, either with wp_submit (pool policy) or
   with wp_submit_job(job), and returns the status and the time it took. */
static wp_status submit_refused(full_pool *f, const wp_job *job, int64_t *elapsed_ns) {
    int64_t start = wpt_now_ns();
    wp_status s;
    if (job) {
        wp_job j = *job;
        j.fn = count_job;
        j.arg = &f->refused_runs;
        s = wp_submit_job(f->pool, &j);
    } else {
        s = wp_submit(f->pool, count_job, &f->refused_runs);
    }
    *elapsed_ns = wpt_now_ns() - start;
    return s;
}

/* One refusal scenario: `attempts` submissions into the full pool, each
   expected to return `want` at once (or, for timeouts, after min_ms). */
static void check_refusal(wp_backpressure pool_policy, int64_t pool_timeout, const wp_job *job,
                          int attempts, wp_status want, int64_t min_ms, int64_t max_ms) {
    full_pool f;
    if (!full_pool_setup(&f, pool_policy, pool_timeout, false))
        return;
    for (int i = 0; i < attempts; i++) {
        int64_t elapsed = 0;
        wp_status s = submit_refused(&f, job, &elapsed);
        CHECK_STATUS(s, want);
        CHECK_CMP_INT(elapsed / 1000000, >=, min_ms);
        CHECK_CMP_INT(elapsed / 1000000, <, max_ms);
    }
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.rejected, want == WP_FULL ? (uint64_t)attempts : 0);
    CHECK_EQ_UINT(s.dropped, want == WP_DROPPED ? (uint64_t)attempts : 0);
    CHECK_EQ_UINT(s.timed_out, want == WP_TIMED_OUT ? (uint64_t)attempts : 0);
    CHECK_EQ_UINT(s.refused_closed, 0);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.queue_depth, 2);
    full_pool_finish(&f, 3);
}

/* "At once": generous enough for a loaded machine under a sanitizer. */
#define AT_ONCE_MS 500

static void test_reject_by_pool_default_returns_full(void) {
    check_refusal(WP_REJECT, 0, NULL, 3, WP_FULL, 0, AT_ONCE_MS);
}

static void test_reject_by_job_override_returns_full(void) {
    check_refusal(WP_BLOCK, 0, &(wp_job){ .backpressure = WP_REJECT }, 3, WP_FULL, 0, AT_ONCE_MS);
}

static void test_drop_by_pool_default_returns_dropped(void) {
    check_refusal(WP_DROP, 0, NULL, 3, WP_DROPPED, 0, AT_ONCE_MS);
}

static void test_drop_by_job_override_returns_dropped(void) {
    check_refusal(WP_TIMEOUT, WP_SEC(10), &(wp_job){ .backpressure = WP_DROP }, 3, WP_DROPPED, 0,
                  AT_ONCE_MS);
}

static void test_timeout_by_pool_default_times_out_after_submit_timeout(void) {
    check_refusal(WP_TIMEOUT, WP_MS(50), NULL, 1, WP_TIMED_OUT, 50, 2000);
}

static void test_timeout_by_job_override_times_out_after_job_timeout(void) {
    check_refusal(WP_REJECT, WP_SEC(10),
                  &(wp_job){ .backpressure = WP_TIMEOUT, .submit_timeout = WP_MS(50) }, 1, WP_TIMED_OUT,
                  50, 2000);
}

static void test_job_timeout_overrides_pool_submit_timeout(void) {
    /* the pool's policy (WP_TIMEOUT) with the job's own, shorter bound */
    check_refusal(WP_TIMEOUT, WP_SEC(20), &(wp_job){ .submit_timeout = WP_MS(50) }, 1, WP_TIMED_OUT, 50,
                  2000);
}

static void test_timeout_policy_with_default_submit_timeout_waits_one_second(void) {
    check_refusal(WP_TIMEOUT, 0, NULL, 1, WP_TIMED_OUT, 1000, 3000);
}

static void test_default_job_fields_take_the_pool_policy(void) {
    /* a job with every optional field zero behaves like wp_submit */
    check_refusal(WP_DROP, 0, &(wp_job){ .id = 5 }, 2, WP_DROPPED, 0, AT_ONCE_MS);
}

/* --- waiting submitters ---------------------------------------------------- */

typedef struct waiting_submit {
    full_pool *f;
    const wp_job *job;   /* NULL: wp_submit with the pool's policy */
    atomic_bool returned;
    wp_status status;
    int64_t elapsed_ns;
    int64_t returned_at_ns;
    wpt_thread thread;
} waiting_submit;

static void waiting_submit_main(void *p) {
    waiting_submit *w = p;
    int64_t start = wpt_now_ns();
    if (w->job) {
        wp_job j = *w->job;
        j.fn = count_job;
        j.arg = &w->f->late_runs;
        w->status = wp_submit_job(w->f->pool, &j);
    } else {
        w->status = wp_submit(w->f->pool, count_job, &w->f->late_runs);
    }
    w->returned_at_ns = wpt_now_ns();
    w->elapsed_ns = w->returned_at_ns - start;
    atomic_store(&w->returned, true);
}

static void waiting_submit_start(waiting_submit *w, full_pool *f, const wp_job *job) {
    w->f = f;
    w->job = job;
    atomic_init(&w->returned, false);
    w->status = WP_INVALID;
    w->thread = wpt_thread_start(waiting_submit_main, w);
}

/* A submitter on another thread stays blocked while the queue is full and
   gets in once the gate opens and the worker makes room. */
static void check_block_waits_for_room(wp_backpressure pool_policy, const wp_job *job) {
    full_pool f;
    if (!full_pool_setup(&f, pool_policy, WP_MS(20), false))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, job);
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned)); /* still blocked after 100 ms */
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.rejected + s.dropped + s.timed_out + s.refused_closed, 0);
    int64_t opened_at = wpt_now_ns();
    gate_open(&f.g);
    wpt_thread_join(w.thread);
    CHECK_STATUS(w.status, WP_OK);
    CHECK_CMP_INT(w.returned_at_ns, >=, opened_at); /* not before there was room */
    full_pool_finish(&f, 4);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 1);
}

static void test_block_by_pool_default_waits_for_room(void) {
    check_block_waits_for_room(WP_BLOCK, NULL);
}

static void test_block_by_job_override_waits_for_room(void) {
    /* the pool would reject (or time out after 20 ms); the job asks to block */
    check_block_waits_for_room(WP_REJECT, &(wp_job){ .backpressure = WP_BLOCK });
    check_block_waits_for_room(WP_TIMEOUT, &(wp_job){ .backpressure = WP_BLOCK });
}

static void test_zero_config_policy_is_block(void) {
    check_block_waits_for_room(WP_BACKPRESSURE_DEFAULT, NULL);
}

static void test_timeout_succeeds_when_room_appears_in_time(void) {
    full_pool f;
    if (!full_pool_setup(&f, WP_TIMEOUT, WP_SEC(20), false))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, NULL);
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned));
    gate_open(&f.g);
    wpt_thread_join(w.thread);
    CHECK_STATUS(w.status, WP_OK);
    CHECK_CMP_INT(w.elapsed_ns, <, WP_SEC(10));
    CHECK_EQ_UINT(pool_stats(f.pool).timed_out, 0);
    full_pool_finish(&f, 4);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 1);
}

static void test_timeout_with_forever_bound_waits_like_block(void) {
    /* a bound of WP_FOREVER must not overflow a deadline into the past */
    full_pool f;
    if (!full_pool_setup(&f, WP_REJECT, 0, false))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, &(wp_job){ .backpressure = WP_TIMEOUT, .submit_timeout = WP_FOREVER });
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned));
    int64_t opened_at = wpt_now_ns();
    gate_open(&f.g);
    wpt_thread_join(w.thread);
    CHECK_STATUS(w.status, WP_OK);
    CHECK_CMP_INT(w.returned_at_ns, >=, opened_at);
    CHECK_EQ_UINT(pool_stats(f.pool).timed_out, 0);
    full_pool_finish(&f, 4);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 1);
}

static void test_blocked_submitter_gets_closed_when_pool_cancels(void) {
    full_pool f;
    if (!full_pool_setup(&f, WP_BLOCK, 0, true))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, NULL);
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned));
    /* the gate returns when asked to stop; the 2 queued jobs are canceled; the
       blocked submitter must not slip into the room that frees up */
    CHECK_STATUS(wp_pool_close(f.pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    wpt_thread_join(w.thread);
    CHECK_STATUS(w.status, WP_CLOSED);
    CHECK_EQ_INT(atomic_load(&f.g.saw_stop), 1);
    CHECK_EQ_INT(atomic_load(&f.filler_runs), 0);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 0);
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_EQ_UINT(s.canceled, 2);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

typedef struct closer {
    wp_pool *pool;
    wp_close_mode mode;
    int64_t timeout;
    wp_status status;
    wpt_thread thread;
} closer;

static void closer_main(void *p) {
    closer *c = p;
    c->status = wp_pool_close(c->pool, c->mode, c->timeout);
}

static void test_blocked_submitter_gets_closed_when_pool_drains(void) {
    full_pool f;
    if (!full_pool_setup(&f, WP_BLOCK, 0, false))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, NULL);
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned));
    /* a drain waits for the gate; meanwhile the pool no longer accepts jobs,
       so the blocked submitter must give up before any room appears */
    closer c = { f.pool, WP_DRAIN, WP_FOREVER, WP_INVALID, { 0 } };
    c.thread = wpt_thread_start(closer_main, &c);
    CHECK_EVENTUALLY(atomic_load(&w.returned), 5000);
    CHECK_STATUS(w.status, WP_CLOSED);
    CHECK_EQ_INT(atomic_load(&f.filler_runs), 0); /* the gate is still closed */
    gate_open(&f.g);
    wpt_thread_join(c.thread);
    wpt_thread_join(w.thread);
    CHECK_STATUS(c.status, WP_OK);
    CHECK_EQ_INT(atomic_load(&f.filler_runs), 2);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 0);
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.completed, 3);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

static void test_timeout_submitter_gets_closed_when_pool_cancels(void) {
    full_pool f;
    if (!full_pool_setup(&f, WP_TIMEOUT, WP_SEC(20), true))
        return;
    waiting_submit w;
    waiting_submit_start(&w, &f, NULL);
    wpt_sleep_ms(100);
    CHECK(!atomic_load(&w.returned));
    CHECK_STATUS(wp_pool_close(f.pool, WP_CANCEL, WP_SEC(30)), WP_OK);
    wpt_thread_join(w.thread);
    CHECK_STATUS(w.status, WP_CLOSED);
    CHECK_CMP_INT(w.elapsed_ns, <, WP_SEC(10));
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_EQ_UINT(s.timed_out, 0);
    CHECK_EQ_INT(atomic_load(&f.late_runs), 0);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

/* --- after close ----------------------------------------------------------- */

static void test_submit_after_close_is_refused_and_counted(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_CLOSED);
    static const wp_backpressure policies[] = { WP_BLOCK, WP_DROP, WP_REJECT, WP_TIMEOUT };
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                     .backpressure = policies[i] }), WP_CLOSED);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.refused_closed, 5);
    CHECK_EQ_UINT(s.submitted, 1);
    CHECK_EQ_UINT(s.rejected + s.dropped + s.timed_out, 0);
    CHECK_EQ_INT(atomic_load(&ran), 1);
    wp_pool_destroy(pool);
}

static void test_submit_into_full_pool_after_close_is_closed(void) {
    /* full and closed at once: the job is refused as closed, whatever the policy */
    full_pool f;
    if (!full_pool_setup(&f, WP_REJECT, 0, false))
        return;
    closer c = { f.pool, WP_DRAIN, WP_FOREVER, WP_INVALID, { 0 } };
    c.thread = wpt_thread_start(closer_main, &c);
    /* the closer is waiting for the gate; until close takes effect a rejected
       submission is WP_FULL, after it WP_CLOSED */
    int64_t deadline = wpt_now_ns() + WP_SEC(5);
    wp_status s = WP_FULL;
    int full_before = 0;
    while (wpt_now_ns() < deadline) {
        int64_t elapsed;
        s = submit_refused(&f, NULL, &elapsed);
        if (s != WP_FULL)
            break;
        full_before++;
        wpt_sleep_ms(1);
    }
    CHECK_STATUS(s, WP_CLOSED);
    static const wp_backpressure policies[] = { WP_BLOCK, WP_DROP, WP_REJECT, WP_TIMEOUT };
    for (int i = 0; i < 4; i++) {
        int64_t elapsed;
        CHECK_STATUS(submit_refused(&f, &(wp_job){ .backpressure = policies[i] }, &elapsed),
                     WP_CLOSED);
        CHECK_CMP_INT(elapsed, <, WP_MS(AT_ONCE_MS));
    }
    wp_stats st = pool_stats(f.pool);
    CHECK_EQ_UINT(st.refused_closed, 5);
    CHECK_EQ_UINT(st.rejected, (uint64_t)full_before);
    gate_open(&f.g);
    wpt_thread_join(c.thread);
    CHECK_STATUS(c.status, WP_OK);
    CHECK_EQ_INT(atomic_load(&f.refused_runs), 0);
    CHECK_EQ_INT(atomic_load(&f.filler_runs), 2);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

/* --- nested submission ------------------------------------------------------- */

typedef struct nest {
    wp_pool *pool;
    wp_job inner;           /* fn and arg filled in by the outer job */
    atomic_int filler_runs, inner_runs;
    wp_status filler_status[2];
    wp_status inner_status;
    int inner_runs_when_submit_returned;
    int outer_worker;
    atomic_int inner_worker;
    atomic_bool outer_done;
} nest;

static int inner_job(void *arg, wp_ctx *ctx) {
    nest *n = arg;
    atomic_store(&n->inner_worker, wp_ctx_worker(ctx));
    atomic_fetch_add(&n->inner_runs, 1);
    return 0;
}

/* Fills its own pool's queue (it holds the only worker), then submits one more. */
static int outer_job(void *arg, wp_ctx *ctx) {
    nest *n = arg;
    n->outer_worker = wp_ctx_worker(ctx);
    for (int i = 0; i < 2; i++)
        n->filler_status[i] = wp_submit(n->pool, count_job, &n->filler_runs);
    wp_job j = n->inner;
    j.fn = inner_job;
    j.arg = n;
    n->inner_status = wp_submit_job(n->pool, &j);
    n->inner_runs_when_submit_returned = atomic_load(&n->inner_runs);
    atomic_store(&n->outer_done, true);
    return 0;
}

/* Runs outer_job on a 1-worker pool with a queue of 2 and `policy`. */
static bool run_nested(nest *n, wp_backpressure policy, const wp_job *inner) {
    memset(n, 0, sizeof *n);
    atomic_init(&n->filler_runs, 0);
    atomic_init(&n->inner_runs, 0);
    atomic_init(&n->inner_worker, -1);
    atomic_init(&n->outer_done, false);
    n->inner = *inner;
    wp_config cfg = { .max_workers = 1, .queue_capacity = 2, .backpressure = policy,
                      .result_capacity = 8 };
    wp_status s = wp_pool_create(&cfg, &n->pool);
    CHECK_STATUS(s, WP_OK);
    if (s != WP_OK)
        return false;
    CHECK_STATUS(wp_submit(n->pool, outer_job, n), WP_OK);
    /* the pool must stay open until the outer job has submitted everything */
    CHECK_EVENTUALLY(atomic_load(&n->outer_done), 10000);
    CHECK_STATUS(wp_pool_close(n->pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(n->filler_status[0], WP_OK);
    CHECK_STATUS(n->filler_status[1], WP_OK);
    CHECK_EQ_INT(atomic_load(&n->filler_runs), 2);
    return true;
}

static void check_nested_runs_inline(wp_backpressure policy, const wp_job *inner) {
    nest n;
    if (!run_nested(&n, policy, inner))
        return;
    CHECK_STATUS(n.inner_status, WP_OK);
    CHECK_EQ_INT(n.inner_runs_when_submit_returned, 1); /* ran inside the submit call */
    CHECK_EQ_INT(atomic_load(&n.inner_runs), 1);
    CHECK_EQ_INT(atomic_load(&n.inner_worker), n.outer_worker);
    wp_stats s = pool_stats(n.pool);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(s.completed, 4);
    CHECK_STATS_BALANCE(s);
    /* one result for each job, the inline one included */
    result_tally t = drain_results(n.pool, 5000);
    CHECK_EQ_INT(t.total, 4);
    CHECK_EQ_INT(t.ok, 4);
    CHECK_STATUS(wp_pool_destroy(n.pool), WP_OK);
}

static void test_nested_submit_into_full_queue_runs_inline_under_block(void) {
    check_nested_runs_inline(WP_BLOCK, &(wp_job){ .id = 1 });
}

static void test_nested_submit_into_full_queue_runs_inline_under_timeout(void) {
    check_nested_runs_inline(WP_REJECT, &(wp_job){ .backpressure = WP_TIMEOUT, .submit_timeout = WP_SEC(30) });
}

static void test_nested_submit_into_full_queue_rejects_under_reject(void) {
    nest n;
    if (!run_nested(&n, WP_BLOCK, &(wp_job){ .backpressure = WP_REJECT }))
        return;
    CHECK_STATUS(n.inner_status, WP_FULL);
    CHECK_EQ_INT(atomic_load(&n.inner_runs), 0);
    wp_stats s = pool_stats(n.pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.rejected, 1);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(n.pool), WP_OK);
}

static void test_nested_submit_into_full_queue_drops_under_drop(void) {
    nest n;
    if (!run_nested(&n, WP_DROP, &(wp_job){ .id = 9 }))
        return;
    CHECK_STATUS(n.inner_status, WP_DROPPED);
    CHECK_EQ_INT(atomic_load(&n.inner_runs), 0);
    wp_stats s = pool_stats(n.pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.dropped, 1);
    CHECK_STATUS(wp_pool_destroy(n.pool), WP_OK);
}

/* A chain: each link fills its own pool's queue (one worker, capacity 2) with
   two count jobs, then submits the next link, so every submission after the
   first two finds the queue full and has to run inline on the one worker. */
enum { MAX_CHAIN = 100 };

typedef struct chain {
    wp_pool *pool;
    int length;
    atomic_int runs;           /* links and fillers that ran */
    atomic_int links_ran;
    atomic_int returned;       /* links whose submissions all returned */
    atomic_int refused;        /* submissions that were not WP_OK */
    atomic_int first_refused_level;
    atomic_int first_refused_status;
} chain;

typedef struct chain_link {
    chain *c;
    int level;
} chain_link;

static void chain_note_status(chain *c, int level, wp_status s) {
    if (s == WP_OK)
        return;
    if (atomic_fetch_add(&c->refused, 1) == 0) {
        atomic_store(&c->first_refused_level, level);
        atomic_store(&c->first_refused_status, s);
    }
}

static int chain_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    chain_link *link = arg;
    chain *c = link->c;
    atomic_fetch_add(&c->runs, 1);
    atomic_fetch_add(&c->links_ran, 1);
    if (link->level + 1 < c->length) {
        for (int i = 0; i < 2; i++)
            chain_note_status(c, link->level, wp_submit(c->pool, count_job, &c->runs));
        chain_note_status(c, link->level, wp_submit(c->pool, chain_job, link + 1));
    }
    atomic_fetch_add(&c->returned, 1);
    return 0;
}

/* Runs a chain of `length` links; returns false if it did not finish in 10 s. */
static bool run_chain(chain *c, chain_link *links, int length) {
    memset(c, 0, sizeof *c);
    c->length = length;
    atomic_init(&c->runs, 0);
    atomic_init(&c->links_ran, 0);
    atomic_init(&c->returned, 0);
    atomic_init(&c->refused, 0);
    atomic_init(&c->first_refused_level, -1);
    atomic_init(&c->first_refused_status, 0);
    for (int i = 0; i < length; i++)
        links[i] = (chain_link){ c, i };
    wp_status s = wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 }, &c->pool);
    CHECK_STATUS(s, WP_OK);
    if (s != WP_OK)
        return false;
    CHECK_STATUS(wp_submit(c->pool, chain_job, &links[0]), WP_OK);
    /* every link that ran has returned, and every accepted job has an
       outcome (queue_depth and active both read 0 for a moment between a
       worker's pop and its start of the job, so they cannot tell) */
    int64_t deadline = wpt_now_ns() + WP_SEC(10);
    bool finished = false;
    while (!finished && wpt_now_ns() < deadline) {
        wpt_sleep_ms(1);
        wp_stats st = pool_stats(c->pool);
        finished = atomic_load(&c->returned) == atomic_load(&c->links_ran)
                && st.submitted == st.completed + st.failed + st.canceled;
    }
    if (!finished)
        wpt_note("chain of %d stuck after 10 s: %d links ran, %d returned, first refusal at level %d (%s)",
                 length, atomic_load(&c->links_ran), atomic_load(&c->returned),
                 atomic_load(&c->first_refused_level),
                 wp_status_str((wp_status)atomic_load(&c->first_refused_status)));
    /* a stuck chain is released by the close (its blocked submitter gets WP_CLOSED) */
    CHECK_STATUS(wp_pool_close(c->pool, WP_DRAIN, WP_FOREVER), WP_OK);
    return finished;
}

static void test_nested_submission_chain_within_inline_depth_runs_inline(void) {
    /* within the WP_NEST_MAX nested levels the header documents (the
       worker's first link is one level already) */
    enum { LINKS = WP_NEST_MAX - 1 };
    chain c;
    chain_link links[MAX_CHAIN];
    bool finished = run_chain(&c, links, LINKS);
    CHECK(finished);
    CHECK_EQ_INT(atomic_load(&c.refused), 0);
    CHECK_EQ_INT(atomic_load(&c.links_ran), LINKS);
    CHECK_EQ_INT(atomic_load(&c.runs), LINKS + (LINKS - 1) * 2);
    wp_stats s = pool_stats(c.pool);
    CHECK_EQ_UINT(s.submitted, (uint64_t)atomic_load(&c.runs));
    CHECK_EQ_UINT(s.completed, s.submitted);
    CHECK_EQ_UINT(s.rejected, 0);
    CHECK_STATUS(wp_pool_destroy(c.pool), WP_OK);
}

static void test_deep_nested_submission_chain_is_refused_not_deadlocked(void) {
    /* 100 links: deeper than the nesting bound. Nested submission must not
       deadlock the pool: every submission returns; past WP_NEST_MAX levels the
       header promises WP_WOULD_DEADLOCK, counted as rejected; every accepted
       job runs once. */
    chain c;
    chain_link links[MAX_CHAIN];
    bool finished = run_chain(&c, links, MAX_CHAIN);
    CHECK(finished);
    int refused = atomic_load(&c.refused);
    CHECK_CMP_INT(refused, >, 0);
    if (refused > 0) {
        CHECK_STATUS(atomic_load(&c.first_refused_status), WP_WOULD_DEADLOCK);
        CHECK_CMP_INT(atomic_load(&c.first_refused_level), >=, WP_NEST_MAX - 1);
    }
    wp_stats s = pool_stats(c.pool);
    CHECK_EQ_UINT(s.rejected, (uint64_t)refused);
    CHECK_EQ_UINT(s.submitted, (uint64_t)atomic_load(&c.runs));
    CHECK_EQ_UINT(s.completed, s.submitted);
    CHECK_STATS_BALANCE(s);
    CHECK_STATUS(wp_pool_destroy(c.pool), WP_OK);
}

static const wpt_test tests[] = {
    WPT_TEST(test_reject_by_pool_default_returns_full),
    WPT_TEST(test_reject_by_job_override_returns_full),
    WPT_TEST(test_drop_by_pool_default_returns_dropped),
    WPT_TEST(test_drop_by_job_override_returns_dropped),
    WPT_TEST(test_timeout_by_pool_default_times_out_after_submit_timeout),
    WPT_TEST(test_timeout_by_job_override_times_out_after_job_timeout),
    WPT_TEST(test_job_timeout_overrides_pool_submit_timeout),
    WPT_TEST(test_timeout_policy_with_default_submit_timeout_waits_one_second),
    WPT_TEST(test_default_job_fields_take_the_pool_policy),
    WPT_TEST(test_block_by_pool_default_waits_for_room),
    WPT_TEST(test_block_by_job_override_waits_for_room),
    WPT_TEST(test_zero_config_policy_is_block),
    WPT_TEST(test_timeout_succeeds_when_room_appears_in_time),
    WPT_TEST(test_timeout_with_forever_bound_waits_like_block),
    WPT_TEST(test_blocked_submitter_gets_closed_when_pool_cancels),
    WPT_TEST(test_blocked_submitter_gets_closed_when_pool_drains),
    WPT_TEST(test_timeout_submitter_gets_closed_when_pool_cancels),
    WPT_TEST(test_submit_after_close_is_refused_and_counted),
    WPT_TEST(test_submit_into_full_pool_after_close_is_closed),
    WPT_TEST(test_nested_submit_into_full_queue_runs_inline_under_block),
    WPT_TEST(test_nested_submit_into_full_queue_runs_inline_under_timeout),
    WPT_TEST(test_nested_submit_into_full_queue_rejects_under_reject),
    WPT_TEST(test_nested_submit_into_full_queue_drops_under_drop),
    WPT_TEST(test_nested_submission_chain_within_inline_depth_runs_inline),
    WPT_TEST(test_deep_nested_submission_chain_is_refused_not_deadlocked),
};

WPT_MAIN(tests)
