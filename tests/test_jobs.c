/* Tests of the per-job controls of issue 4: cancellation tokens, deadlines,
   priority lanes and their fairness quota, completion callbacks, batches,
   the WP_DROP_OLDEST and WP_CALLER_RUNS policies, wp_submit_retry, the
   accounting invariant with every outcome type, and a stress test that mixes
   all of them under pause/resume, wait_idle and help.

   Most tests are deterministic: an inline-only pool runs jobs only when the
   test calls wp_pool_help, and a fake clock (wp_config.clock) moves only when
   the test moves it. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* A fake pool clock: the test moves it by hand. */
static int64_t fake_clock(void *user) { return (int64_t)atomic_load((atomic_llong *)user); }

static void fake_advance(atomic_llong *clock, int64_t ns) { atomic_fetch_add(clock, (long long)ns); }

/* The order in which recorded jobs ran (1-based, per test). */
static atomic_int g_seq;

/* One job's record: what its function saw and what its callback got. */
typedef struct jrec {
    int ret;                 /* what the job returns */
    void *set_value;         /* what it passes to wp_ctx_set_value */
    atomic_int runs;         /* times the function ran */
    atomic_int pos;          /* g_seq position of its (last) run */
    atomic_int ran_worker;   /* wp_ctx_worker inside the job */
    atomic_ullong ran_id;    /* wp_ctx_id inside the job */
    atomic_int done;         /* times on_done was called */
    atomic_int status;       /* the outcome the callback got */
    atomic_int code;
    atomic_int worker;
    atomic_ullong id;
    _Atomic(void *) value;
    _Atomic(void *) arg;     /* result->arg */
} jrec;

static void jrec_init(jrec *r, int ret) {
    memset(r, 0, sizeof *r);
    r->ret = ret;
    atomic_init(&r->runs, 0);
    atomic_init(&r->pos, 0);
    atomic_init(&r->ran_worker, -2);
    atomic_init(&r->ran_id, 0);
    atomic_init(&r->done, 0);
    atomic_init(&r->status, 1);
    atomic_init(&r->code, -12345);
    atomic_init(&r->worker, -2);
    atomic_init(&r->id, 0);
    atomic_init(&r->value, NULL);
    atomic_init(&r->arg, NULL);
}

static int rec_job(void *arg, wp_ctx *ctx) {
    jrec *r = (jrec *)arg;
    atomic_store(&r->pos, atomic_fetch_add(&g_seq, 1) + 1);
    atomic_store(&r->ran_worker, wp_ctx_worker(ctx));
    atomic_store(&r->ran_id, (unsigned long long)wp_ctx_id(ctx));
    if (r->set_value)
        wp_ctx_set_value(ctx, r->set_value);
    atomic_fetch_add(&r->runs, 1);
    return r->ret;
}

static void rec_done(const wp_result *res) {
    jrec *r = (jrec *)res->arg;
    atomic_store(&r->arg, res->arg);
    atomic_store(&r->status, (int)res->status);
    atomic_store(&r->code, res->code);
    atomic_store(&r->worker, res->worker);
    atomic_store(&r->id, (unsigned long long)res->id);
    atomic_store(&r->value, res->value);
    atomic_fetch_add(&r->done, 1);
}

static wp_job rec_jobdesc(jrec *r, uint64_t id) {
    return (wp_job){ .fn = rec_job, .arg = r, .id = id, .on_done = rec_done };
}

static wp_pool *inline_pool(size_t queue_capacity, size_t result_capacity, atomic_llong *clock) {
    wp_config cfg = { .inline_only = true, .queue_capacity = queue_capacity,
                      .result_capacity = result_capacity };
    if (clock) {
        cfg.clock = fake_clock;
        cfg.clock_user = clock;
    }
    wp_pool *pool = NULL;
    wp_status s = wp_pool_create(&cfg, &pool);
    CHECK_STATUS(s, WP_OK);
    return s == WP_OK ? pool : NULL;
}

/* The accounting invariant of wp_stats, with every outcome type. */
#define CHECK_INVARIANT(s)                                                          \
    CHECK_EQ_UINT((s).submitted,                                                    \
                  (s).completed + (s).failed + (s).canceled + (s).expired + (s).evicted)

/* Receives results until WP_CLOSED, counting each id (ids < max) and checking
   each result's status against the one recorded by its callback. */
static int recv_all_by_id(wp_pool *pool, int *count_by_id, int max, jrec *recs) {
    int total = 0;
    for (;;) {
        wp_result r;
        wp_status s = wp_result_recv(pool, &r, WP_SEC(10));
        if (s == WP_CLOSED)
            break;
        CHECK_STATUS(s, WP_OK);
        if (s != WP_OK)
            break;
        total++;
        CHECK_CMP_UINT(r.id, <, (uint64_t)max);
        if (r.id >= (uint64_t)max)
            continue;
        count_by_id[r.id]++;
        if (recs) {
            CHECK_EQ_PTR(r.arg, &recs[r.id]);
            /* the callback ran before the result entered the channel */
            CHECK_EQ_INT(atomic_load(&recs[r.id].done), 1);
            CHECK_EQ_INT(atomic_load(&recs[r.id].status), (int)r.status);
        }
    }
    return total;
}

/* Runs wp_pool_help on a new thread: its fairness counter starts at 0. */
typedef struct help_call {
    wp_pool *pool;
    int64_t budget;
    size_t ran;
} help_call;

static void help_main(void *p) {
    help_call *h = (help_call *)p;
    h->ran = wp_pool_help(h->pool, h->budget);
}

static size_t help_on_fresh_thread(wp_pool *pool, int64_t budget) {
    help_call h = { pool, budget, 0 };
    wpt_thread t = wpt_thread_start(help_main, &h);
    wpt_thread_join(t);
    return h.ran;
}

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */

static void test_token_api_edges(void) {
    CHECK_STATUS(wp_token_create(NULL), WP_INVALID);
    wp_token *t = NULL;
    REQUIRE_STATUS(wp_token_create(&t), WP_OK);
    REQUIRE(t != NULL);
    CHECK(!wp_token_is_canceled(t));
    wp_token_cancel(t);
    CHECK(wp_token_is_canceled(t));
    wp_token_cancel(t); /* harmless */
    CHECK(wp_token_is_canceled(t));
    wp_token_destroy(t);
    CHECK(!wp_token_is_canceled(NULL));
    wp_token_cancel(NULL);
    wp_token_destroy(NULL);
}

/* Queued jobs whose token is canceled never run and yield WP_CANCELED once,
   through the callback and the result channel; jobs without a token (or with
   another token) run. */
static void test_token_cancels_queued_jobs_once(void) {
    wp_pool *pool = inline_pool(16, 16, NULL);
    REQUIRE(pool != NULL);
    wp_token *tok = NULL, *other = NULL;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    REQUIRE_STATUS(wp_token_create(&other), WP_OK);
    enum { N = 6 };
    jrec recs[N];
    for (int i = 0; i < N; i++) {
        jrec_init(&recs[i], 0);
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        j.token = i < 3 ? tok : i == 3 ? other : NULL; /* 0..2 canceled, 3 other, 4..5 none */
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    wp_token_cancel(tok);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), N); /* canceled ones are taken too */
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), i < 3 ? 0 : 1);
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
        CHECK_EQ_INT(atomic_load(&recs[i].status), i < 3 ? WP_CANCELED : WP_OK);
        CHECK_EQ_INT(atomic_load(&recs[i].code), 0);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 3);
    CHECK_EQ_UINT(s.completed, 3);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    int by_id[N] = { 0 };
    CHECK_EQ_INT(recv_all_by_id(pool, by_id, N, recs), N);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(by_id[i], 1);
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    wp_token_destroy(tok);
    wp_token_destroy(other);
}

/* The same on a pool with a worker: the worker takes the canceled jobs. */
static void test_token_cancels_queued_jobs_on_worker(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 64,
                                                .result_capacity = 64 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    wp_token *tok = NULL;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    enum { N = 40 };
    static jrec recs[N];
    for (int i = 0; i < N; i++) {
        jrec_init(&recs[i], 0);
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        j.token = i % 2 ? tok : NULL;
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    wp_token_cancel(tok);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), i % 2 ? 0 : 1);
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
        CHECK_EQ_INT(atomic_load(&recs[i].status), i % 2 ? WP_CANCELED : WP_OK);
    }
    int by_id[N] = { 0 };
    int got = 0;
    for (;;) {
        wp_result r;
        wp_status st = wp_result_recv(pool, &r, WP_SEC(10));
        if (st != WP_OK) {
            CHECK_STATUS(st, WP_CLOSED);
            break;
        }
        if (r.arg == (void *)&g)
            continue;
        got++;
        if (r.id < N) {
            by_id[r.id]++;
            CHECK_EQ_INT((int)r.status, (r.id % 2) ? WP_CANCELED : WP_OK);
            if (r.id % 2)
                CHECK_EQ_INT(r.run_ns, 0);
        }
    }
    CHECK_EQ_INT(got, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(by_id[i], 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, N / 2);
    CHECK_EQ_UINT(s.completed, N / 2 + 1);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    wp_token_destroy(tok);
}

/* A running job sees wp_ctx_should_stop() turn true when its own token is
   canceled, and not when another job's token is. */
typedef struct stop_watch {
    wp_token *token;
    atomic_int started;
    atomic_int stop_at_start;   /* should_stop at the start (must be 0) */
    atomic_int saw_stop;
    atomic_bool release;        /* ends the job without a stop */
} stop_watch;

static int stop_watch_job(void *arg, wp_ctx *ctx) {
    stop_watch *w = (stop_watch *)arg;
    atomic_store(&w->stop_at_start, wp_ctx_should_stop(ctx) ? 1 : 0);
    atomic_store(&w->started, 1);
    int64_t until = wpt_now_ns() + WP_SEC(20);
    while (wpt_now_ns() < until && !atomic_load(&w->release)) {
        if (wp_ctx_should_stop(ctx)) {
            atomic_store(&w->saw_stop, 1);
            return 7;
        }
        wpt_sleep_ms(1);
    }
    return 0;
}

static void test_token_running_job_sees_should_stop(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    stop_watch a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    REQUIRE_STATUS(wp_token_create(&a.token), WP_OK);
    REQUIRE_STATUS(wp_token_create(&b.token), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = stop_watch_job, .arg = &a, .token = a.token }),
                 WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = stop_watch_job, .arg = &b, .token = b.token }),
                 WP_OK);
    CHECK_EVENTUALLY(atomic_load(&a.started) && atomic_load(&b.started), 5000);
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&a.saw_stop), 0);
    wp_token_cancel(a.token);
    CHECK_EVENTUALLY(atomic_load(&a.saw_stop) == 1, 5000);
    atomic_store(&a.release, true); /* (ends it anyway if it did not see the stop) */
    wpt_sleep_ms(20);
    CHECK_EQ_INT(atomic_load(&b.saw_stop), 0); /* another token: unaffected */
    atomic_store(&b.release, true);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&a.stop_at_start), 0);
    CHECK_EQ_INT(atomic_load(&b.stop_at_start), 0);
    CHECK_EQ_INT(atomic_load(&b.saw_stop), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.failed, 1);     /* a returned 7: its outcome is what it returned */
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    wp_token_destroy(a.token);
    wp_token_destroy(b.token);
}

/* One token over many jobs in two pools. */
static void test_token_over_many_jobs_and_pools(void) {
    wp_pool *p1 = inline_pool(64, 0, NULL);
    wp_pool *p2 = inline_pool(64, 0, NULL);
    REQUIRE(p1 && p2);
    wp_token *tok = NULL;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    for (int i = 0; i < 50; i++) {
        wp_job j = { .fn = count_job, .arg = &runs, .token = tok };
        CHECK_STATUS(wp_submit_job(i % 2 ? p1 : p2, &j), WP_OK);
    }
    /* token NULL is fine */
    CHECK_STATUS(wp_submit_job(p1, &(wp_job){ .fn = count_job, .arg = &runs, .token = NULL }), WP_OK);
    wp_token_cancel(tok);
    CHECK_EQ_UINT(wp_pool_help(p1, WP_FOREVER), 26);
    CHECK_EQ_UINT(wp_pool_help(p2, WP_FOREVER), 25);
    CHECK_EQ_INT(atomic_load(&runs), 1);
    wp_stats s1 = pool_stats(p1), s2 = pool_stats(p2);
    CHECK_EQ_UINT(s1.canceled, 25);
    CHECK_EQ_UINT(s2.canceled, 25);
    CHECK_EQ_UINT(s1.completed, 1);
    CHECK_INVARIANT(s1);
    CHECK_INVARIANT(s2);
    CHECK_STATUS(wp_pool_destroy(p1), WP_OK);
    CHECK_STATUS(wp_pool_destroy(p2), WP_OK);
    wp_token_destroy(tok);
}

/* ------------------------------------------------------------------------ */
/* Deadlines                                                                 */

static void test_deadline_passed_before_start_expires(void) {
    atomic_llong clock;
    atomic_init(&clock, 1000000000LL);
    wp_pool *pool = inline_pool(16, 16, &clock);
    REQUIRE(pool != NULL);
    enum { N = 4 };
    jrec recs[N];
    int64_t deadlines[N] = { WP_MS(10), 0, WP_MS(10) + 1, WP_SEC(3600) };
    for (int i = 0; i < N; i++) {
        jrec_init(&recs[i], 0);
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        j.deadline = deadlines[i];
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    fake_advance(&clock, WP_MS(10)); /* exactly job 0's deadline */
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), N);
    CHECK_EQ_INT(atomic_load(&recs[0].runs), 0);
    CHECK_EQ_INT(atomic_load(&recs[0].status), WP_EXPIRED);
    for (int i = 1; i < N; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), 1);
        CHECK_EQ_INT(atomic_load(&recs[i].status), WP_OK);
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
    /* deadline 0 is none, even a year later */
    jrec late;
    jrec_init(&late, 0);
    wp_job j = rec_jobdesc(&late, 0);
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    fake_advance(&clock, WP_SEC(3600 * 24 * 365));
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_EQ_INT(atomic_load(&late.runs), 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.expired, 1);
    CHECK_EQ_UINT(s.completed, N);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    int expired_results = 0, total = 0;
    wp_result r;
    while (wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK) {
        total++;
        expired_results += r.status == WP_EXPIRED;
        if (r.status == WP_EXPIRED) {
            CHECK_EQ_UINT(r.id, 0);
            CHECK_EQ_INT(r.run_ns, 0);
            CHECK_EQ_INT(r.code, 0);
        }
    }
    CHECK_EQ_INT(total, N + 1);
    CHECK_EQ_INT(expired_results, 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* With a worker: the job waits behind a gate while the clock passes its
   deadline. */
static void test_deadline_expires_on_worker(void) {
    atomic_llong clock;
    atomic_init(&clock, 5);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .clock = fake_clock,
                                                .clock_user = &clock }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    jrec a, b;
    jrec_init(&a, 0);
    jrec_init(&b, 0);
    wp_job ja = rec_jobdesc(&a, 1), jb = rec_jobdesc(&b, 2);
    ja.deadline = WP_MS(5);
    jb.deadline = WP_SEC(10);
    CHECK_STATUS(wp_submit_job(pool, &ja), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &jb), WP_OK);
    fake_advance(&clock, WP_SEC(1));
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&a.runs), 0);
    CHECK_EQ_INT(atomic_load(&a.status), WP_EXPIRED);
    CHECK_EQ_INT(atomic_load(&a.worker), 0);
    CHECK_EQ_INT(atomic_load(&b.runs), 1);
    CHECK_EQ_INT(atomic_load(&b.status), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.expired, 1);
    CHECK_EQ_UINT(s.completed, 2);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* A running job sees wp_ctx_expired() and should_stop turn true once the
   clock passes its deadline; a job without a deadline never does. */
typedef struct deadline_probe {
    atomic_llong *clock;
    int64_t advance;
    int expired_before, stop_before, expired_after, stop_after;
} deadline_probe;

static int deadline_probe_job(void *arg, wp_ctx *ctx) {
    deadline_probe *p = (deadline_probe *)arg;
    p->expired_before = wp_ctx_expired(ctx);
    p->stop_before = wp_ctx_should_stop(ctx);
    fake_advance(p->clock, p->advance);
    p->expired_after = wp_ctx_expired(ctx);
    p->stop_after = wp_ctx_should_stop(ctx);
    return 0;
}

static void test_deadline_running_job_sees_expired(void) {
    atomic_llong clock;
    atomic_init(&clock, 1000);
    wp_pool *pool = inline_pool(8, 0, &clock);
    REQUIRE(pool != NULL);
    deadline_probe with = { &clock, WP_MS(50), -1, -1, -1, -1 };
    deadline_probe without = { &clock, WP_SEC(3600), -1, -1, -1, -1 };
    deadline_probe not_yet = { &clock, WP_MS(10), -1, -1, -1, -1 };
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = deadline_probe_job, .arg = &with,
                                                .deadline = WP_MS(50) }), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = deadline_probe_job, .arg = &without }), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = deadline_probe_job, .arg = &not_yet,
                                                .deadline = WP_MS(20) }), WP_OK);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    CHECK_EQ_INT(with.expired_before, 0);
    CHECK_EQ_INT(with.stop_before, 0);
    CHECK_EQ_INT(with.expired_after, 1);
    CHECK_EQ_INT(with.stop_after, 1);
    CHECK_EQ_INT(without.expired_before, 0);
    CHECK_EQ_INT(without.expired_after, 0);
    CHECK_EQ_INT(without.stop_after, 0);
    CHECK_EQ_INT(not_yet.expired_after, 0);
    CHECK_EQ_INT(not_yet.stop_after, 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 3); /* it ran: its outcome is what it returned */
    CHECK_EQ_UINT(s.expired, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_deadline_negative_is_invalid(void) {
    wp_pool *pool = inline_pool(8, 0, NULL);
    REQUIRE(pool != NULL);
    atomic_int runs;
    atomic_init(&runs, 0);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs, .deadline = -1 }),
                 WP_INVALID);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .deadline = INT64_MIN }), WP_INVALID);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Priorities                                                                */

static void test_priority_high_then_normal_then_low(void) {
    wp_pool *pool = inline_pool(8, 0, NULL);
    REQUIRE(pool != NULL);
    jrec low, normal, high;
    jrec_init(&low, 0);
    jrec_init(&normal, 0);
    jrec_init(&high, 0);
    atomic_store(&g_seq, 0);
    wp_job j = rec_jobdesc(&low, 1);
    j.priority = WP_PRIORITY_LOW;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j = rec_jobdesc(&normal, 2);
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j = rec_jobdesc(&high, 3);
    j.priority = WP_PRIORITY_HIGH;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    CHECK_EQ_UINT(help_on_fresh_thread(pool, WP_FOREVER), 3);
    CHECK_EQ_INT(atomic_load(&high.pos), 1);
    CHECK_EQ_INT(atomic_load(&normal.pos), 2);
    CHECK_EQ_INT(atomic_load(&low.pos), 3);
    CHECK_EQ_INT(atomic_load(&high.ran_worker), -1);
    /* an unknown priority is invalid */
    j = rec_jobdesc(&low, 4);
    j.priority = (wp_priority)7;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_INVALID);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* The documented quota: the n-th take of a thread (from 1) looks at the low
   lane first when n % 16 == 0, at the normal lane first when n % 4 == 0.
   With 30 high, 2 normal and 2 low jobs waiting, a fresh thread takes the
   normal ones 4th and 8th, the low ones 16th and 32nd. */
static void test_priority_fairness_quota_positions(void) {
    wp_pool *pool = inline_pool(64, 0, NULL);
    REQUIRE(pool != NULL);
    enum { HIGH = 30 };
    static jrec highs[HIGH];
    jrec n1, n2, l1, l2;
    atomic_store(&g_seq, 0);
    jrec_init(&l1, 0);
    jrec_init(&l2, 0);
    jrec_init(&n1, 0);
    jrec_init(&n2, 0);
    wp_job j = rec_jobdesc(&l1, 0);
    j.priority = WP_PRIORITY_LOW;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j.arg = &l2;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j = rec_jobdesc(&n1, 0);
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j.arg = &n2;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    for (int i = 0; i < HIGH; i++) {
        jrec_init(&highs[i], 0);
        j = rec_jobdesc(&highs[i], 0);
        j.priority = WP_PRIORITY_HIGH;
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    CHECK_EQ_UINT(help_on_fresh_thread(pool, WP_FOREVER), HIGH + 4);
    CHECK_EQ_INT(atomic_load(&n1.pos), 4);
    CHECK_EQ_INT(atomic_load(&n2.pos), 8);
    CHECK_EQ_INT(atomic_load(&l1.pos), 16);
    CHECK_EQ_INT(atomic_load(&l2.pos), 32);
    /* the high jobs run in their submission order in the other slots */
    int expect = 1;
    for (int i = 0; i < HIGH; i++) {
        while (expect == 4 || expect == 8 || expect == 16 || expect == 32)
            expect++;
        CHECK_EQ_INT(atomic_load(&highs[i].pos), expect);
        expect++;
    }
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* With a steady supply of high jobs (a high job keeps submitting the next),
   a low job starts within 16 takes and a normal one within 4. */
typedef struct high_feeder {
    wp_pool *pool;
    atomic_int left;
} high_feeder;

static int high_feed_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    high_feeder *f = (high_feeder *)arg;
    atomic_fetch_add(&g_seq, 1);
    if (atomic_fetch_sub(&f->left, 1) > 1) {
        wp_job j = { .fn = high_feed_job, .arg = f, .priority = WP_PRIORITY_HIGH };
        wp_submit_job(f->pool, &j);
        wp_submit_job(f->pool, &j); /* the high lane never runs dry */
    }
    return 0;
}

static void test_priority_steady_high_stream_does_not_starve(void) {
    wp_pool *pool = inline_pool(1024, 0, NULL);
    REQUIRE(pool != NULL);
    atomic_store(&g_seq, 0);
    high_feeder f = { pool, 0 };
    atomic_init(&f.left, 200);
    wp_job h = { .fn = high_feed_job, .arg = &f, .priority = WP_PRIORITY_HIGH };
    CHECK_STATUS(wp_submit_job(pool, &h), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &h), WP_OK);
    jrec low, normal;
    jrec_init(&low, 0);
    jrec_init(&normal, 0);
    wp_job j = rec_jobdesc(&low, 1);
    j.priority = WP_PRIORITY_LOW;
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    j = rec_jobdesc(&normal, 2);
    CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    help_call hc = { pool, WP_FOREVER, 0 };
    wpt_thread t = wpt_thread_start(help_main, &hc);
    wpt_thread_join(t);
    CHECK_EQ_INT(atomic_load(&low.runs), 1);
    CHECK_EQ_INT(atomic_load(&normal.runs), 1);
    CHECK_CMP_INT(atomic_load(&normal.pos), <=, 4);
    CHECK_CMP_INT(atomic_load(&low.pos), <=, 16);
    CHECK_EQ_INT(atomic_load(&normal.pos), 4);
    CHECK_EQ_INT(atomic_load(&low.pos), 16);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* With workers, every job of every lane runs. */
static void test_priority_workers_run_every_job(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 64 }, &pool),
                   WP_OK);
    atomic_int runs[3];
    for (int i = 0; i < 3; i++)
        atomic_init(&runs[i], 0);
    int n = (int)wpt_scaled(3000, 90);
    int per[3] = { 0, 0, 0 };
    unsigned seed = 12345;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        int p = (int)((seed >> 16) % 3);
        per[p]++;
        wp_job j = { .fn = count_job, .arg = &runs[p], .priority = (wp_priority)p };
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    for (int p = 0; p < 3; p++)
        CHECK_EQ_INT(atomic_load(&runs[p]), per[p]);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, (uint64_t)n);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Completion callbacks                                                      */

static void check_callbacks(size_t result_capacity) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 64,
                                                .result_capacity = result_capacity }, &pool), WP_OK);
    enum { N = 60 };
    static jrec recs[N];
    static int values[N];
    for (int i = 0; i < N; i++) {
        jrec_init(&recs[i], i % 3 == 0 ? 100 + i : 0);
        recs[i].set_value = i % 2 ? &values[i] : NULL;
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    for (int i = 0; i < N; i++) {
        jrec *r = &recs[i];
        CHECK_EQ_INT(atomic_load(&r->runs), 1);
        CHECK_EQ_INT(atomic_load(&r->done), 1);
        CHECK_EQ_UINT(atomic_load(&r->id), (uint64_t)i);
        CHECK_EQ_UINT(atomic_load(&r->ran_id), (uint64_t)i);
        CHECK_EQ_PTR(atomic_load(&r->arg), r);
        CHECK_EQ_PTR(atomic_load(&r->value), i % 2 ? (void *)&values[i] : NULL);
        CHECK_EQ_INT(atomic_load(&r->status), i % 3 == 0 ? WP_TASK_FAILED : WP_OK);
        CHECK_EQ_INT(atomic_load(&r->code), i % 3 == 0 ? 100 + i : 0);
        CHECK_EQ_INT(atomic_load(&r->worker), atomic_load(&r->ran_worker));
        CHECK(atomic_load(&r->worker) == 0 || atomic_load(&r->worker) == 1);
    }
    if (result_capacity) {
        int by_id[N] = { 0 };
        CHECK_EQ_INT(recv_all_by_id(pool, by_id, N, recs), N);
        for (int i = 0; i < N; i++)
            CHECK_EQ_INT(by_id[i], 1);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.failed, N / 3);
    CHECK_EQ_UINT(s.completed, N - N / 3);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
}

static void test_callback_once_with_result_channel(void) { check_callbacks(64); }
static void test_callback_once_without_result_channel(void) { check_callbacks(0); }

/* Canceled-at-close jobs get their callback too, once. */
static void test_callback_on_cancel_at_close(void) {
    wp_pool *pool = inline_pool(16, 0, NULL);
    REQUIRE(pool != NULL);
    jrec recs[5];
    for (int i = 0; i < 5; i++) {
        jrec_init(&recs[i], 0);
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(10)), WP_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), 0);
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
        CHECK_EQ_INT(atomic_load(&recs[i].status), WP_CANCELED);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.canceled, 5);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* WP_DROP_OLDEST and WP_CALLER_RUNS                                          */

/* A heap arg that the callback frees (ASan reports a leak or a double free). */
typedef struct owned {
    uint64_t id;
    atomic_int *freed_ok;     /* callbacks that freed with the right status */
    atomic_int *freed_other;
    int expect_status;
} owned;

static atomic_int g_owned_runs;

static int owned_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    atomic_fetch_add(&g_owned_runs, 1);
    return 0;
}

static void owned_done(const wp_result *r) {
    owned *o = (owned *)r->arg;
    if ((int)r->status == o->expect_status && r->id == o->id)
        atomic_fetch_add(o->freed_ok, 1);
    else
        atomic_fetch_add(o->freed_other, 1);
    free(o);
}

static void test_drop_oldest_evicts_oldest_of_lane(void) {
    wp_pool *pool = inline_pool(2, 16, NULL);
    REQUIRE(pool != NULL);
    atomic_store(&g_owned_runs, 0);
    atomic_int ok, other;
    atomic_init(&ok, 0);
    atomic_init(&other, 0);
    /* A low job (id 5, first) and a high one (id 6, second) sit in their
       own lanes and must not be evicted; ids 1, 2 fill the normal lane; 3
       evicts 1; 4 evicts 2. */
    int expect[7] = { 0, WP_EVICTED, WP_EVICTED, WP_OK, WP_OK, WP_OK, WP_OK };
    static const uint64_t order[6] = { 5, 6, 1, 2, 3, 4 };
    for (int k = 0; k < 6; k++) {
        uint64_t id = order[k];
        owned *o = (owned *)malloc(sizeof *o);
        REQUIRE(o != NULL);
        *o = (owned){ id, &ok, &other, expect[id] };
        wp_job j = { .fn = owned_job, .arg = o, .id = id, .on_done = owned_done,
                     .backpressure = WP_DROP_OLDEST };
        if (id == 5)
            j.priority = WP_PRIORITY_LOW;
        if (id == 6)
            j.priority = WP_PRIORITY_HIGH;
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
        if (id == 3)
            CHECK_EQ_INT(atomic_load(&ok), 1); /* evicted at once, during the submit */
    }
    CHECK_EQ_INT(atomic_load(&ok), 2);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.evicted, 2);
    CHECK_EQ_UINT(s.submitted, 6);
    CHECK_EQ_UINT(s.queue_depth, 4);
    CHECK_EQ_UINT(s.dropped, 0);
    CHECK_EQ_UINT(s.rejected, 0);
    CHECK_EQ_INT(atomic_load(&g_owned_runs), 0);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 4);
    CHECK_EQ_INT(atomic_load(&g_owned_runs), 4);
    CHECK_EQ_INT(atomic_load(&ok), 6);
    CHECK_EQ_INT(atomic_load(&other), 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    /* the result channel has each outcome once: 1 and 2 dropped, worker -1 */
    int seen[7] = { 0 };
    wp_result r;
    int total = 0;
    while (wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK) {
        total++;
        REQUIRE_CMP_UINT(r.id, <=, 6);
        seen[r.id]++;
        CHECK_EQ_INT((int)r.status, expect[r.id]);
        if (r.status == WP_EVICTED) {
            CHECK_EQ_INT(r.worker, -1);
            CHECK_EQ_INT(r.run_ns, 0);
        }
    }
    CHECK_EQ_INT(total, 6);
    for (int id = 1; id <= 6; id++)
        CHECK_EQ_INT(seen[id], 1);
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    CHECK_EQ_UINT(s.evicted, 2);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* The pool's default policy WP_DROP_OLDEST, with a worker busy. */
static void test_drop_oldest_as_pool_policy(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                                .backpressure = WP_DROP_OLDEST }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    jrec recs[5];
    for (int i = 0; i < 5; i++) {
        jrec_init(&recs[i], 0);
        wp_job j = rec_jobdesc(&recs[i], (uint64_t)i);
        CHECK_STATUS(wp_submit_job(pool, &j), WP_OK);
    }
    /* 0, 1, 2 evicted; 3, 4 queued */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
        CHECK_EQ_INT(atomic_load(&recs[i].status), WP_EVICTED);
        CHECK_EQ_INT(atomic_load(&recs[i].worker), -1);
    }
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), i < 3 ? 0 : 1);
        CHECK_EQ_INT(atomic_load(&recs[i].done), 1);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.evicted, 3);
    CHECK_EQ_UINT(s.submitted, 6);
    CHECK_EQ_UINT(s.completed, 3);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

typedef struct where_ran {
    pthread_t submitter;
    atomic_int runs;
    atomic_int on_submitter;
    atomic_int worker;
} where_ran;

static int where_job(void *arg, wp_ctx *ctx) {
    where_ran *w = (where_ran *)arg;
    atomic_store(&w->worker, wp_ctx_worker(ctx));
    atomic_store(&w->on_submitter, pthread_equal(pthread_self(), w->submitter) ? 1 : 0);
    atomic_fetch_add(&w->runs, 1);
    return 0;
}

static void test_caller_runs_when_full(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                                .result_capacity = 16 }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    atomic_int fillers;
    atomic_init(&fillers, 0);
    CHECK_STATUS(wp_submit(pool, count_job, &fillers), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &fillers), WP_OK);
    where_ran w;
    w.submitter = pthread_self();
    atomic_init(&w.runs, 0);
    atomic_init(&w.on_submitter, 0);
    atomic_init(&w.worker, -5);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = where_job, .arg = &w, .id = 77,
                                                .backpressure = WP_CALLER_RUNS }), WP_OK);
    /* it has run by the time the submit returned, on this thread */
    CHECK_EQ_INT(atomic_load(&w.runs), 1);
    CHECK_EQ_INT(atomic_load(&w.on_submitter), 1);
    CHECK_EQ_INT(atomic_load(&w.worker), -1);
    CHECK_EQ_INT(atomic_load(&fillers), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(s.queue_depth, 2);
    CHECK_EQ_UINT(s.rejected, 0);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&fillers), 2);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(s.completed, 4);
    CHECK_INVARIANT(s);
    /* its outcome went through the channel */
    int found = 0;
    wp_result r;
    while (wp_result_recv(pool, &r, WP_SEC(5)) == WP_OK) {
        if (r.id == 77) {
            found++;
            CHECK_EQ_INT(r.worker, -1);
            CHECK_STATUS(r.status, WP_OK);
        }
    }
    CHECK_EQ_INT(found, 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* The pool's default policy WP_CALLER_RUNS with wp_submit, in an inline pool. */
static void test_caller_runs_as_pool_policy(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 2,
                                                .backpressure = WP_CALLER_RUNS }, &pool), WP_OK);
    where_ran w;
    w.submitter = pthread_self();
    atomic_init(&w.runs, 0);
    atomic_init(&w.on_submitter, 0);
    atomic_init(&w.worker, -5);
    CHECK_STATUS(wp_submit(pool, where_job, &w), WP_OK);
    CHECK_STATUS(wp_submit(pool, where_job, &w), WP_OK);
    CHECK_EQ_INT(atomic_load(&w.runs), 0); /* queued */
    CHECK_STATUS(wp_submit(pool, where_job, &w), WP_OK);
    CHECK_EQ_INT(atomic_load(&w.runs), 1); /* ran in place */
    CHECK_EQ_INT(atomic_load(&w.worker), -1);
    CHECK_EQ_INT(atomic_load(&w.on_submitter), 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 3);
    CHECK_EQ_UINT(s.completed, 1);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 2);
    CHECK_EQ_INT(atomic_load(&w.runs), 3);
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                   */

static void test_batch_statuses_and_invalid_jobs(void) {
    wp_pool *pool = inline_pool(8, 0, NULL);
    REQUIRE(pool != NULL);
    enum { N = 8 };
    jrec recs[N];
    wp_job jobs[N];
    for (int i = 0; i < N; i++) {
        jrec_init(&recs[i], 0);
        jobs[i] = rec_jobdesc(&recs[i], (uint64_t)i);
    }
    jobs[1].fn = NULL;                               /* invalid */
    jobs[2].priority = WP_PRIORITY_HIGH;
    jobs[3].deadline = -5;                           /* invalid */
    jobs[4].priority = WP_PRIORITY_LOW;
    jobs[5].backpressure = (wp_backpressure)99;      /* invalid */
    jobs[6].submit_timeout = -1;                            /* invalid */
    jobs[7].priority = WP_PRIORITY_HIGH;
    wp_status st[N];
    for (int i = 0; i < N; i++)
        st[i] = (wp_status)1;
    atomic_store(&g_seq, 0);
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, N, st), 4);
    wp_status want[N] = { WP_OK, WP_INVALID, WP_OK, WP_INVALID, WP_OK, WP_INVALID, WP_INVALID, WP_OK };
    for (int i = 0; i < N; i++)
        CHECK_STATUS(st[i], want[i]);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(s.queue_depth, 4);
    CHECK_EQ_UINT(help_on_fresh_thread(pool, WP_FOREVER), 4);
    /* by lane: the high ones first, in order, then normal, then low */
    CHECK_EQ_INT(atomic_load(&recs[2].pos), 1);
    CHECK_EQ_INT(atomic_load(&recs[7].pos), 2);
    CHECK_EQ_INT(atomic_load(&recs[0].pos), 3);
    CHECK_EQ_INT(atomic_load(&recs[4].pos), 4);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(atomic_load(&recs[i].runs), want[i] == WP_OK);
        CHECK_EQ_INT(atomic_load(&recs[i].done), want[i] == WP_OK); /* no callback if refused */
    }
    /* statuses may be NULL; count 0 accepts nothing */
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, 1, NULL), 1);
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, 0, st), 0);
    CHECK_EQ_UINT(wp_submit_batch(pool, NULL, 0, NULL), 0);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 5);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_batch_null_pool_or_jobs(void) {
    atomic_int runs;
    atomic_init(&runs, 0);
    wp_job jobs[3] = { { .fn = count_job, .arg = &runs }, { .fn = count_job, .arg = &runs },
                       { .fn = count_job, .arg = &runs } };
    wp_status st[3] = { WP_OK, WP_OK, WP_OK };
    CHECK_EQ_UINT(wp_submit_batch(NULL, jobs, 3, st), 0);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(st[i], WP_INVALID);
    wp_pool *pool = inline_pool(8, 0, NULL);
    REQUIRE(pool != NULL);
    for (int i = 0; i < 3; i++)
        st[i] = WP_OK;
    CHECK_EQ_UINT(wp_submit_batch(pool, NULL, 3, st), 0);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(st[i], WP_INVALID);
    CHECK_EQ_UINT(wp_submit_batch(NULL, jobs, 3, NULL), 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 0);
}

/* A full lane mid-batch: each job gets its own policy. */
static void test_batch_full_queue_each_job_policy(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2,
                                                .backpressure = WP_REJECT }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    atomic_int runs;
    atomic_init(&runs, 0);
    where_ran w;
    w.submitter = pthread_self();
    atomic_init(&w.runs, 0);
    atomic_init(&w.on_submitter, 0);
    atomic_init(&w.worker, -5);
    enum { N = 9 };
    wp_job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (wp_job){ .fn = count_job, .arg = &runs, .id = (uint64_t)i };
    /* 0, 1 fill the lane; 2 pool default (REJECT); 3 DROP; 4 TIMEOUT 20 ms;
       5 CALLER_RUNS; 6 a high job (its own lane has room); 7 REJECT;
       8 DROP_OLDEST (evicts 0) */
    jobs[3].backpressure = WP_DROP;
    jobs[4].backpressure = WP_TIMEOUT;
    jobs[4].submit_timeout = WP_MS(20);
    jobs[5] = (wp_job){ .fn = where_job, .arg = &w, .backpressure = WP_CALLER_RUNS };
    jobs[6].priority = WP_PRIORITY_HIGH;
    jobs[7].backpressure = WP_REJECT;
    jobs[8].backpressure = WP_DROP_OLDEST;
    wp_status st[N];
    int64_t t0 = wpt_now_ns();
    size_t accepted = wp_submit_batch(pool, jobs, N, st);
    int64_t ms = wpt_ms_since(t0);
    wp_status want[N] = { WP_OK, WP_OK, WP_FULL, WP_DROPPED, WP_TIMED_OUT, WP_OK, WP_OK, WP_FULL,
                          WP_OK };
    for (int i = 0; i < N; i++)
        CHECK_STATUS(st[i], want[i]);
    CHECK_EQ_UINT(accepted, 5);
    CHECK_CMP_INT(ms, >=, 15);
    CHECK_EQ_INT(atomic_load(&w.runs), 1);
    CHECK_EQ_INT(atomic_load(&w.on_submitter), 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.rejected, 2);
    CHECK_EQ_UINT(s.dropped, 1);
    CHECK_EQ_UINT(s.timed_out, 1);
    CHECK_EQ_UINT(s.evicted, 1);
    CHECK_EQ_UINT(s.submitted, 6);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 3); /* 1, 6, 8 */
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* A whole batch of REJECT jobs into a full lane: WP_FULL for the rest. */
static void test_batch_reject_rest_when_full(void) {
    wp_pool *pool = inline_pool(4, 0, NULL);
    REQUIRE(pool != NULL);
    atomic_int runs;
    atomic_init(&runs, 0);
    enum { N = 10 };
    wp_job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (wp_job){ .fn = count_job, .arg = &runs, .backpressure = WP_REJECT };
    wp_status st[N];
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, N, st), 4);
    for (int i = 0; i < N; i++)
        CHECK_STATUS(st[i], i < 4 ? WP_OK : WP_FULL);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.rejected, N - 4);
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 4);
    CHECK_EQ_INT(atomic_load(&runs), 4);
    s = pool_stats(pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* BLOCK jobs in a batch wait for room (the worker is held for ~60 ms). */
static void test_batch_block_waits_for_room(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 }, &pool),
                   WP_OK);
    gate g;
    gate_init(&g, false);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK(gate_wait_started(&g, 1, 5000));
    atomic_int runs;
    atomic_init(&runs, 0);
    enum { N = 40 };
    wp_job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (wp_job){ .fn = count_job, .arg = &runs, .backpressure = WP_BLOCK };
    wp_status st[N];
    gate_opener o;
    gate_open_later(&o, &g, 60);
    int64_t t0 = wpt_now_ns();
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, N, st), N);
    CHECK_CMP_INT(wpt_ms_since(t0), >=, 50);
    for (int i = 0; i < N; i++)
        CHECK_STATUS(st[i], WP_OK);
    wpt_thread_join(o.thread);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), N);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, N + 1);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

static void test_batch_into_closed_pool(void) {
    wp_pool *pool = inline_pool(8, 0, NULL);
    REQUIRE(pool != NULL);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    enum { N = 5 };
    wp_job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (wp_job){ .fn = count_job, .arg = &runs,
                            .priority = (wp_priority)(i % 3) };
    jobs[2].fn = NULL;
    wp_status st[N];
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, N, st), 0);
    for (int i = 0; i < N; i++)
        CHECK_STATUS(st[i], i == 2 ? WP_INVALID : WP_CLOSED);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.refused_closed, N - 1);
    CHECK_EQ_UINT(s.submitted, 0);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 0);
}

/* A large mixed batch with workers: every accepted job runs once. */
static void test_batch_large_mixed_priorities(void) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 16 }, &pool),
                   WP_OK);
    size_t n = wpt_scaled(5000, 200);
    wp_job *jobs = (wp_job *)calloc(n, sizeof *jobs);
    wp_status *st = (wp_status *)calloc(n, sizeof *st);
    atomic_int *runs = (atomic_int *)calloc(n, sizeof *runs);
    REQUIRE(jobs && st && runs);
    for (size_t i = 0; i < n; i++) {
        atomic_init(&runs[i], 0);
        jobs[i] = (wp_job){ .fn = count_job, .arg = &runs[i],
                            .priority = (wp_priority)((i / 7) % 3) };
    }
    CHECK_EQ_UINT(wp_submit_batch(pool, jobs, n, st), n); /* BLOCK: all go */
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += st[i] != WP_OK || atomic_load(&runs[i]) != 1;
    CHECK_EQ_UINT(bad, 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, n);
    CHECK_EQ_UINT(s.completed, n);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    free(jobs);
    free(st);
    free(runs);
}

/* ------------------------------------------------------------------------ */
/* wp_submit_retry                                                           */

typedef struct full1 {
    wp_pool *pool;
    gate g;
    atomic_int runs;
} full1;

static bool full1_setup(full1 *f) {
    gate_init(&f->g, false);
    atomic_init(&f->runs, 0);
    f->pool = NULL;
    wp_status s = wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 2 }, &f->pool);
    CHECK_STATUS(s, WP_OK);
    if (s != WP_OK)
        return false;
    CHECK_STATUS(wp_submit(f->pool, gate_job, &f->g), WP_OK);
    CHECK(gate_wait_started(&f->g, 1, 5000));
    CHECK_STATUS(wp_submit(f->pool, count_job, &f->runs), WP_OK);
    CHECK_STATUS(wp_submit(f->pool, count_job, &f->runs), WP_OK);
    return true;
}

static void test_retry_gives_up_after_max_attempts(void) {
    full1 f;
    REQUIRE(full1_setup(&f));
    wp_retry rt = { .max_attempts = 5, .initial_backoff = WP_MS(2), .max_backoff = WP_MS(8) };
    wp_job j = { .fn = count_job, .arg = &f.runs, .backpressure = WP_BLOCK /* ignored */ };
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit_retry(f.pool, &j, &rt), WP_FULL);
    int64_t ms = wpt_ms_since(t0);
    /* waits of 2, 4, 8, 8 ms, each drawn in [half, all]: 11 to 22 ms */
    CHECK_CMP_INT(ms, >=, 10);
    CHECK_CMP_INT(ms, <, 2000);
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.rejected, 5);
    CHECK_EQ_UINT(s.submitted, 3);
    /* one attempt: no wait at all */
    rt.max_attempts = 1;
    rt.initial_backoff = WP_SEC(5);
    t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit_retry(f.pool, &j, &rt), WP_FULL);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 1000);
    s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.rejected, 6);
    /* invalid arguments */
    CHECK_STATUS(wp_submit_retry(NULL, &j, NULL), WP_INVALID);
    CHECK_STATUS(wp_submit_retry(f.pool, NULL, NULL), WP_INVALID);
    CHECK_STATUS(wp_submit_retry(f.pool, &(wp_job){ .fn = NULL }, NULL), WP_INVALID);
    CHECK_STATUS(wp_submit_retry(f.pool, &j, &(wp_retry){ .max_attempts = -1 }), WP_INVALID);
    gate_open(&f.g);
    CHECK_STATUS(wp_pool_close(f.pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&f.runs), 2);
    s = pool_stats(f.pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

static void test_retry_succeeds_once_room_appears(void) {
    full1 f;
    REQUIRE(full1_setup(&f));
    gate_opener o;
    gate_open_later(&o, &f.g, 40);
    wp_retry rt = { .max_attempts = 10000, .initial_backoff = WP_MS(1), .max_backoff = WP_MS(4) };
    wp_job j = { .fn = count_job, .arg = &f.runs };
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit_retry(f.pool, &j, &rt), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), >=, 30);
    wpt_thread_join(o.thread);
    wp_stats s = pool_stats(f.pool);
    CHECK_CMP_UINT(s.rejected, >=, 2); /* refused while the gate was shut */
    CHECK_EQ_UINT(s.submitted, 4);
    CHECK_STATUS(wp_pool_close(f.pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    CHECK_EQ_INT(atomic_load(&f.runs), 3);
    s = pool_stats(f.pool);
    CHECK_INVARIANT(s);
    CHECK_STATUS(wp_pool_destroy(f.pool), WP_OK);
}

static void test_retry_closed_returns_at_once(void) {
    wp_pool *pool = inline_pool(2, 0, NULL);
    REQUIRE(pool != NULL);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(5)), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    wp_job j = { .fn = count_job, .arg = &runs };
    int64_t t0 = wpt_now_ns();
    CHECK_STATUS(wp_submit_retry(pool, &j, &(wp_retry){ .max_attempts = 50,
                                                        .initial_backoff = WP_SEC(1) }), WP_CLOSED);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 400);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.refused_closed, 1);
    CHECK_EQ_UINT(s.rejected, 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&runs), 0);
}

/* ------------------------------------------------------------------------ */
/* The accounting invariant with every outcome type                          */

static int fail_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    return 3;
}

static void test_invariant_with_every_outcome(void) {
    atomic_llong clock;
    atomic_init(&clock, 1);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .queue_capacity = 4,
                                                .result_capacity = 64, .clock = fake_clock,
                                                .clock_user = &clock }, &pool), WP_OK);
    wp_token *tok = NULL;
    REQUIRE_STATUS(wp_token_create(&tok), WP_OK);
    atomic_int runs;
    atomic_init(&runs, 0);
    /* normal lane: ok, failed, token-canceled, expired */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = fail_job }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs, .token = tok }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs, .deadline = 10 }),
                 WP_OK);
    wp_token_cancel(tok);
    fake_advance(&clock, 10);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 4);
    /* high lane: 4 fill it, a DROP_OLDEST evicts one, a CALLER_RUNS runs */
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                    .priority = WP_PRIORITY_HIGH }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .priority = WP_PRIORITY_HIGH,
                                                .backpressure = WP_DROP_OLDEST }), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .priority = WP_PRIORITY_HIGH,
                                                .backpressure = WP_CALLER_RUNS }), WP_OK);
    /* refusals are not accepted jobs */
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .priority = WP_PRIORITY_HIGH,
                                                .backpressure = WP_REJECT }), WP_FULL);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &runs,
                                                .priority = WP_PRIORITY_HIGH,
                                                .backpressure = WP_DROP }), WP_DROPPED);
    /* 4 still queued: canceled at close */
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(10)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 10);
    CHECK_EQ_UINT(s.completed, 2);  /* the first job and the caller-run one */
    CHECK_EQ_UINT(s.failed, 1);
    CHECK_EQ_UINT(s.canceled, 5);   /* token + 4 at close */
    CHECK_EQ_UINT(s.expired, 1);
    CHECK_EQ_UINT(s.evicted, 1);
    CHECK_EQ_UINT(s.rejected, 1);
    CHECK_EQ_UINT(s.dropped, 1);
    CHECK_INVARIANT(s);
    CHECK_EQ_INT(atomic_load(&runs), 2);
    int counts[16] = { 0 };
    int total = 0;
    wp_result r;
    wp_status rs;
    while ((rs = wp_result_recv(pool, &r, WP_SEC(5))) == WP_OK) {
        total++;
        counts[-(int)r.status]++;
    }
    CHECK_STATUS(rs, WP_CLOSED);
    CHECK_EQ_INT(total, 10);
    CHECK_EQ_INT(counts[0], 2);
    CHECK_EQ_INT(counts[-WP_TASK_FAILED], 1);
    CHECK_EQ_INT(counts[-WP_CANCELED], 5);
    CHECK_EQ_INT(counts[-WP_EXPIRED], 1);
    CHECK_EQ_INT(counts[-WP_EVICTED], 1);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    wp_token_destroy(tok);
}

/* ------------------------------------------------------------------------ */
/* Stress                                                                    */

enum { ST_PRODUCERS = 3, ST_TOKENS = 8 };

typedef struct stress {
    wp_pool *pool;
    size_t per_producer;
    atomic_int *done_by_id;     /* callbacks per id */
    atomic_int *ran_by_id;
    unsigned char *accepted;    /* 1 = the submission returned WP_OK */
    unsigned char *doomed;      /* its token was canceled before it was submitted */
    wp_token *tokens[ST_TOKENS];
    atomic_int producers_left;
    atomic_ullong outcome[16];  /* callbacks by -status */
} stress;

typedef struct stress_arg {
    stress *st;
    int index;
} stress_arg;

static stress *g_stress;

static int stress_job(void *arg, wp_ctx *ctx) {
    uint64_t id = wp_ctx_id(ctx);
    (void)arg;
    atomic_fetch_add(&g_stress->ran_by_id[id], 1);
    return id % 11 == 0 ? 1 : 0;
}

static void stress_done(const wp_result *r) {
    atomic_fetch_add(&g_stress->done_by_id[r->id], 1);
    int k = -(int)r->status;
    if (k >= 0 && k < 16)
        atomic_fetch_add(&g_stress->outcome[k], 1);
}

static uint32_t xorshift(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static wp_job stress_make(stress *st, uint64_t id, uint32_t *rnd) {
    st->doomed[id] = 0;
    static const wp_backpressure policies[] = { WP_BLOCK, WP_BLOCK, WP_DROP_OLDEST, WP_CALLER_RUNS,
                                                WP_REJECT, WP_TIMEOUT };
    wp_job j = { .fn = stress_job, .id = id, .on_done = stress_done };
    j.priority = (wp_priority)(xorshift(rnd) % 3);
    j.backpressure = policies[xorshift(rnd) % 6];
    j.submit_timeout = WP_MS(1);
    if (xorshift(rnd) % 4 == 0) {
        j.token = st->tokens[xorshift(rnd) % ST_TOKENS];
        st->doomed[id] = wp_token_is_canceled(j.token);
    }
    if (xorshift(rnd) % 5 == 0)
        j.deadline = (int64_t)(xorshift(rnd) % 2000) * 1000; /* up to 2 ms */
    return j;
}

static void stress_producer(void *p) {
    stress_arg *a = (stress_arg *)p;
    stress *st = a->st;
    uint32_t rnd = 0x9e3779b9u * (uint32_t)(a->index + 1);
    uint64_t base = (uint64_t)a->index * st->per_producer;
    size_t i = 0;
    while (i < st->per_producer) {
        if (xorshift(&rnd) % 3 == 0) {
            wp_job batch[16];
            wp_status sts[16];
            size_t n = 1 + xorshift(&rnd) % 16;
            if (n > st->per_producer - i)
                n = st->per_producer - i;
            for (size_t k = 0; k < n; k++)
                batch[k] = stress_make(st, base + i + k, &rnd);
            size_t acc = wp_submit_batch(st->pool, batch, n, sts);
            size_t counted = 0;
            for (size_t k = 0; k < n; k++) {
                st->accepted[base + i + k] = sts[k] == WP_OK;
                counted += sts[k] == WP_OK;
            }
            CHECK_EQ_UINT(acc, counted);
            i += n;
        } else {
            wp_job j = stress_make(st, base + i, &rnd);
            st->accepted[base + i] = wp_submit_job(st->pool, &j) == WP_OK;
            i++;
        }
        if (xorshift(&rnd) % 500 == 0) {
            int t = (int)(xorshift(&rnd) % ST_TOKENS);
            wp_token_cancel(st->tokens[t]);
        }
    }
    atomic_fetch_sub(&st->producers_left, 1);
}

static void stress_controller(void *p) {
    stress *st = (stress *)p;
    uint32_t rnd = 777;
    while (atomic_load(&st->producers_left) > 0) {
        switch (xorshift(&rnd) % 4) {
        case 0:
            CHECK_STATUS(wp_pool_pause(st->pool), WP_OK);
            wpt_sleep_ns(WP_US(200));
            CHECK_STATUS(wp_pool_resume(st->pool), WP_OK);
            break;
        case 1: {
            wp_status s = wp_pool_wait_idle(st->pool, WP_MS(1));
            CHECK(s == WP_OK || s == WP_TIMED_OUT);
            break;
        }
        case 2:
            wp_pool_help(st->pool, WP_US(300));
            break;
        default:
            wpt_sleep_ns(WP_US(100));
            break;
        }
    }
    CHECK_STATUS(wp_pool_resume(st->pool), WP_OK);
}

static void test_stress_mixed_controls(void) {
    stress st;
    memset(&st, 0, sizeof st);
    st.per_producer = wpt_scaled(6000, 300);
    size_t total = st.per_producer * ST_PRODUCERS;
    st.done_by_id = (atomic_int *)calloc(total, sizeof *st.done_by_id);
    st.ran_by_id = (atomic_int *)calloc(total, sizeof *st.ran_by_id);
    st.accepted = (unsigned char *)calloc(total, 1);
    st.doomed = (unsigned char *)calloc(total, 1);
    REQUIRE(st.done_by_id && st.ran_by_id && st.accepted && st.doomed);
    for (size_t i = 0; i < total; i++) {
        atomic_init(&st.done_by_id[i], 0);
        atomic_init(&st.ran_by_id[i], 0);
    }
    for (int i = 0; i < 16; i++)
        atomic_init(&st.outcome[i], 0);
    for (int i = 0; i < ST_TOKENS; i++)
        REQUIRE_STATUS(wp_token_create(&st.tokens[i]), WP_OK);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 8 }, &st.pool),
                   WP_OK);
    g_stress = &st;
    atomic_init(&st.producers_left, ST_PRODUCERS);
    stress_arg args[ST_PRODUCERS];
    wpt_thread producers[ST_PRODUCERS];
    for (int i = 0; i < ST_PRODUCERS; i++) {
        args[i] = (stress_arg){ &st, i };
        producers[i] = wpt_thread_start(stress_producer, &args[i]);
    }
    wpt_thread controller = wpt_thread_start(stress_controller, &st);
    for (int i = 0; i < ST_PRODUCERS; i++)
        wpt_thread_join(producers[i]);
    wpt_thread_join(controller);
    CHECK_STATUS(wp_pool_wait_idle(st.pool, WP_SEC(60)), WP_OK);
    CHECK_STATUS(wp_pool_close(st.pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    size_t accepted = 0, bad_done = 0, bad_ran = 0, doomed = 0, doomed_ran = 0;
    for (size_t i = 0; i < total; i++) {
        int want = st.accepted[i] ? 1 : 0;
        accepted += (size_t)want;
        bad_done += atomic_load(&st.done_by_id[i]) != want;
        bad_ran += atomic_load(&st.ran_by_id[i]) > want;
        doomed += st.doomed[i];
        doomed_ran += st.doomed[i] && atomic_load(&st.ran_by_id[i]) != 0;
    }
    CHECK_EQ_UINT(bad_done, 0);
    CHECK_EQ_UINT(bad_ran, 0);
    CHECK_EQ_UINT(doomed_ran, 0); /* a canceled token's job never runs */
    wp_stats s = pool_stats(st.pool);
    CHECK_EQ_UINT(s.submitted, accepted);
    CHECK_INVARIANT(s);
    CHECK_EQ_UINT(s.completed, atomic_load(&st.outcome[0]));
    CHECK_EQ_UINT(s.failed, atomic_load(&st.outcome[-WP_TASK_FAILED]));
    CHECK_EQ_UINT(s.canceled, atomic_load(&st.outcome[-WP_CANCELED]));
    CHECK_EQ_UINT(s.expired, atomic_load(&st.outcome[-WP_EXPIRED]));
    CHECK_EQ_UINT(s.evicted, atomic_load(&st.outcome[-WP_EVICTED]));
    wpt_note("%zu of %zu accepted (%zu with a canceled token): %llu completed, %llu failed, %llu canceled, %llu expired, "
             "%llu evicted; %llu rejected, %llu timed out",
             accepted, total, doomed, (unsigned long long)s.completed, (unsigned long long)s.failed,
             (unsigned long long)s.canceled, (unsigned long long)s.expired,
             (unsigned long long)s.evicted, (unsigned long long)s.rejected,
             (unsigned long long)s.timed_out);
    CHECK_STATUS(wp_pool_destroy(st.pool), WP_OK);
    for (int i = 0; i < ST_TOKENS; i++)
        wp_token_destroy(st.tokens[i]);
    free(st.done_by_id);
    free(st.ran_by_id);
    free(st.accepted);
    free(st.doomed);
}

/* ------------------------------------------------------------------------ */
/* wp_submit_call: plain void functions                                      */

static void call_add(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static int job_returns_zero(void *arg, wp_ctx *ctx) { (void)arg; (void)ctx; return 0; }

static atomic_int g_call_events;
static atomic_ullong g_call_event_ids;
static void call_hook(const wp_event *e, void *user)
{
    if (e->kind == WP_EVENT_TASK_END && e->arg == user) {
        atomic_fetch_add(&g_call_events, 1);
        atomic_fetch_add(&g_call_event_ids, e->job_id);
    }
}

/* Every call job runs its function with its argument once; results report
   id 0, the argument and WP_OK; hooks see the argument and id 0; an
   ordinary job among them keeps its id; bad input is WP_INVALID. */
static void test_submit_call_runs_plain_functions(void)
{
    atomic_int count = 0;
    atomic_store(&g_call_events, 0);
    atomic_store(&g_call_event_ids, 0);
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .result_capacity = 4096,
                                               .hooks.task_end = call_hook,
                                               .hooks.user = &count },
                                &pool), WP_OK);
    CHECK_STATUS(wp_submit_call(NULL, call_add, &count), WP_INVALID);
    CHECK_STATUS(wp_submit_call(pool, NULL, &count), WP_INVALID);
    for (int i = 0; i < 1000; i++)
        CHECK_STATUS(wp_submit_call(pool, call_add, &count), WP_OK);
    CHECK_STATUS(wp_submit_job(pool, &(wp_job){ .fn = job_returns_zero, .id = 77 }), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 1000);
    int calls = 0, others = 0;
    wp_result r;
    while (wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK) {
        if (r.arg == &count) {
            calls++;
            CHECK_EQ_UINT(r.id, 0);
            CHECK_STATUS(r.status, WP_OK);
        } else {
            others++;
            CHECK_EQ_UINT(r.id, 77);
        }
    }
    CHECK_EQ_INT(calls, 1000);
    CHECK_EQ_INT(others, 1);
    CHECK_EQ_INT(atomic_load(&g_call_events), 1000);
    CHECK_EQ_UINT(atomic_load(&g_call_event_ids), 0);
    CHECK_STATUS(wp_submit_call(pool, call_add, &count), WP_CLOSED);
    wp_pool_destroy(pool);
}

/* In an inline-only pool call jobs run on the receiving thread; those still
   queued at a cancel do not run and each gets WP_CANCELED. */
static void test_submit_call_cancel_and_inline(void)
{
    atomic_int count = 0;
    wp_pool *pool = NULL;
    CHECK_STATUS(wp_pool_create(&(wp_config){ .inline_only = true, .result_capacity = 64 }, &pool),
                 WP_OK);
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit_call(pool, call_add, &count), WP_OK);
    wp_result r;
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(wp_result_recv(pool, &r, WP_SEC(5)), WP_OK);
        CHECK_EQ_UINT(r.id, 0);
        CHECK_STATUS(r.status, WP_OK);
    }
    CHECK_EQ_INT(atomic_load(&count), 4);
    CHECK_STATUS(wp_pool_close(pool, WP_CANCEL, WP_SEC(5)), WP_OK);
    CHECK_EQ_INT(atomic_load(&count), 4);
    int canceled = 0;
    while (wp_result_recv(pool, &r, WP_NOWAIT) == WP_OK) {
        CHECK_EQ_UINT(r.id, 0);
        canceled += r.status == WP_CANCELED;
    }
    CHECK_EQ_INT(canceled, 6);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_token_api_edges),
    WPT_TEST(test_token_cancels_queued_jobs_once),
    WPT_TEST(test_token_cancels_queued_jobs_on_worker),
    WPT_TEST(test_token_running_job_sees_should_stop),
    WPT_TEST(test_token_over_many_jobs_and_pools),
    WPT_TEST(test_deadline_passed_before_start_expires),
    WPT_TEST(test_deadline_expires_on_worker),
    WPT_TEST(test_deadline_running_job_sees_expired),
    WPT_TEST(test_deadline_negative_is_invalid),
    WPT_TEST(test_priority_high_then_normal_then_low),
    WPT_TEST(test_priority_fairness_quota_positions),
    WPT_TEST(test_priority_steady_high_stream_does_not_starve),
    WPT_TEST(test_priority_workers_run_every_job),
    WPT_TEST(test_callback_once_with_result_channel),
    WPT_TEST(test_callback_once_without_result_channel),
    WPT_TEST(test_callback_on_cancel_at_close),
    WPT_TEST(test_drop_oldest_evicts_oldest_of_lane),
    WPT_TEST(test_drop_oldest_as_pool_policy),
    WPT_TEST(test_caller_runs_when_full),
    WPT_TEST(test_caller_runs_as_pool_policy),
    WPT_TEST(test_batch_statuses_and_invalid_jobs),
    WPT_TEST(test_batch_null_pool_or_jobs),
    WPT_TEST(test_batch_full_queue_each_job_policy),
    WPT_TEST(test_batch_reject_rest_when_full),
    WPT_TEST(test_batch_block_waits_for_room),
    WPT_TEST(test_batch_into_closed_pool),
    WPT_TEST(test_batch_large_mixed_priorities),
    WPT_TEST(test_retry_gives_up_after_max_attempts),
    WPT_TEST(test_retry_succeeds_once_room_appears),
    WPT_TEST(test_retry_closed_returns_at_once),
    WPT_TEST(test_invariant_with_every_outcome),
    WPT_TEST(test_stress_mixed_controls),
    WPT_TEST(test_submit_call_runs_plain_functions),
    WPT_TEST(test_submit_call_cancel_and_inline),
};

WPT_MAIN(tests)
