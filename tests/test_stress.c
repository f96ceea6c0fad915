/* Concurrency stress (also run under ThreadSanitizer, scaled down): many
   producers into small queues under each policy, close racing producers,
   workers parking and waking, pools created and destroyed with jobs in
   flight, nested submission under load, and stats read during all of it.
   Every accepted job must run (or be canceled) exactly once, and every
   refused one must never run. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* A little work, so that queues fill up and workers are seen busy. */
static void spin_a_little(unsigned rounds) {
    volatile unsigned x = 0;
    for (unsigned i = 0; i < rounds; i++)
        x += i;
    (void)x;
}

/* Job i increments slots[i]; the job's arg is &slots[i]. It fails (returns 3)
   when i % 7 == 0, so that failures are counted too. */
typedef struct slot_table {
    atomic_int *slots;
    size_t n;
} slot_table;

static bool slot_table_init(slot_table *t, size_t n) {
    t->n = n;
    t->slots = malloc(n * sizeof *t->slots);
    if (!t->slots)
        return false;
    for (size_t i = 0; i < n; i++)
        atomic_init(&t->slots[i], 0);
    return true;
}

static int slot_job(void *arg, wp_ctx *ctx) {
    uint64_t id = wp_ctx_id(ctx);
    spin_a_little(200);
    atomic_fetch_add((atomic_int *)arg, 1);
    return id % 7 == 0 ? 3 : 0;
}

/* --- producers ------------------------------------------------------------ */

enum { MAX_PRODUCERS = 8 };

typedef struct producer {
    wp_pool *pool;
    slot_table *table;
    size_t first, count;          /* ids first .. first+count-1 */
    bool rotate_policies;         /* REJECT, DROP, TIMEOUT(1 ms), BLOCK in turn */
    bool stop_on_closed;
    signed char *status;          /* per id: the submission's wp_status */
    /* tallies */
    size_t ok, full, dropped, timed_out, closed, other, expected_failed;
    wpt_thread thread;
} producer;

static void producer_main(void *p) {
    producer *pr = p;
    static const wp_backpressure rotation[] = { WP_REJECT, WP_DROP, WP_TIMEOUT, WP_BLOCK };
    for (size_t k = 0; k < pr->count; k++) {
        size_t id = pr->first + k;
        wp_job job = { .fn = slot_job, .arg = &pr->table->slots[id], .id = id };
        if (pr->rotate_policies) {
            job.backpressure = rotation[k % 4];
            if (job.backpressure == WP_TIMEOUT) /* it would bound WP_BLOCK too */
                job.submit_timeout = WP_MS(1);
        }
        wp_status s = wp_submit_job(pr->pool, &job);
        pr->status[id] = (signed char)s;
        switch (s) {
        case WP_OK:
            pr->ok++;
            pr->expected_failed += id % 7 == 0;
            break;
        case WP_FULL: pr->full++; break;
        case WP_DROPPED: pr->dropped++; break;
        case WP_TIMED_OUT: pr->timed_out++; break;
        case WP_CLOSED: pr->closed++; break;
        default: pr->other++; break;
        }
        if (s == WP_CLOSED && pr->stop_on_closed) {
            for (size_t rest = k + 1; rest < pr->count; rest++)
                pr->status[pr->first + rest] = (signed char)WP_INVALID; /* never tried */
            return;
        }
    }
}

typedef struct totals {
    size_t ok, full, dropped, timed_out, closed, other, expected_failed;
} totals;

static totals run_producers(producer *prs, int n) {
    totals t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < n; i++)
        prs[i].thread = wpt_thread_start(producer_main, &prs[i]);
    for (int i = 0; i < n; i++) {
        wpt_thread_join(prs[i].thread);
        t.ok += prs[i].ok;
        t.full += prs[i].full;
        t.dropped += prs[i].dropped;
        t.timed_out += prs[i].timed_out;
        t.closed += prs[i].closed;
        t.other += prs[i].other;
        t.expected_failed += prs[i].expected_failed;
    }
    return t;
}

static void setup_producers(producer *prs, int n, wp_pool *pool, slot_table *table, size_t per,
                            signed char *status) {
    for (int i = 0; i < n; i++) {
        memset(&prs[i], 0, sizeof prs[i]);
        prs[i].pool = pool;
        prs[i].table = table;
        prs[i].first = (size_t)i * per;
        prs[i].count = per;
        prs[i].status = status;
    }
}

/* Checks each job ran once if accepted (WP_OK) and never otherwise. */
static void check_slots_against_status(const slot_table *t, const signed char *status) {
    size_t ran_twice = 0, accepted_not_run = 0, refused_but_ran = 0;
    for (size_t i = 0; i < t->n; i++) {
        int runs = atomic_load(&t->slots[i]);
        if (runs > 1)
            ran_twice++;
        else if (status[i] == WP_OK && runs != 1)
            accepted_not_run++;
        else if (status[i] != WP_OK && runs != 0)
            refused_but_ran++;
    }
    CHECK_EQ_UINT(ran_twice, 0);
    CHECK_EQ_UINT(accepted_not_run, 0);
    CHECK_EQ_UINT(refused_but_ran, 0);
}

/* --- tests ------------------------------------------------------------------ */

/* Reads stats in a loop while a test runs, checking what holds at any time. */
typedef struct stats_reader {
    wp_pool *pool;
    int workers;
    atomic_bool stop;
    int reads, bad;
    wpt_thread thread;
} stats_reader;

static void stats_reader_main(void *p) {
    stats_reader *sr = p;
    uint64_t last_completed = 0;
    while (!atomic_load(&sr->stop)) {
        wp_stats s;
        if (wp_pool_stats(sr->pool, &s) != WP_OK) {
            sr->bad++;
            continue;
        }
        sr->reads++;
        /* a snapshot under load is approximate: only bounds and monotony */
        if (s.workers < 0 || s.workers > sr->workers || s.active < 0 || s.active > s.workers ||
            s.idle < 0 || s.idle > s.workers || s.queue_depth > s.queue_capacity ||
            s.completed < last_completed)
            sr->bad++;
        last_completed = s.completed;
        wpt_sleep_ns(WP_US(200));
    }
}

static void stats_reader_start(stats_reader *sr, wp_pool *pool, int workers) {
    sr->pool = pool;
    sr->workers = workers;
    atomic_init(&sr->stop, false);
    sr->reads = sr->bad = 0;
    sr->thread = wpt_thread_start(stats_reader_main, sr);
}

static void stats_reader_stop(stats_reader *sr) {
    atomic_store(&sr->stop, true);
    wpt_thread_join(sr->thread);
    CHECK_CMP_INT(sr->reads, >, 0);
    CHECK_EQ_INT(sr->bad, 0);
}

static void check_block_producers(void) {
    enum { PRODUCERS = 4, WORKERS = 4 };
    size_t per = wpt_scaled(250000, 500);
    size_t n = per * PRODUCERS;
    slot_table t;
    signed char *status = calloc(n, 1);
    REQUIRE(status && slot_table_init(&t, n));
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = WORKERS, .queue_capacity = 64,
                                                .backpressure = WP_BLOCK},
                                  &pool), WP_OK);
    stats_reader sr;
    stats_reader_start(&sr, pool, WORKERS);
    producer prs[PRODUCERS];
    setup_producers(prs, PRODUCERS, pool, &t, per, status);
    totals tot = run_producers(prs, PRODUCERS);
    CHECK_EQ_UINT(tot.ok, n);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    stats_reader_stop(&sr);
    check_slots_against_status(&t, status);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, n);
    CHECK_EQ_UINT(s.failed, tot.expected_failed);
    CHECK_EQ_UINT(s.completed, n - tot.expected_failed);
    CHECK_EQ_UINT(s.rejected + s.dropped + s.timed_out + s.refused_closed, 0);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
    free(t.slots);
    free(status);
}

static void test_stress_block_producers_every_job_runs_once(void) {
    check_block_producers();
}

static void check_mixed_policies(void) {
    enum { PRODUCERS = 4, WORKERS = 2 };
    size_t per = wpt_scaled(200000, 400);
    size_t n = per * PRODUCERS;
    slot_table t;
    signed char *status = calloc(n, 1);
    REQUIRE(status && slot_table_init(&t, n));
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = WORKERS, .queue_capacity = 16,
                                                }, &pool),
                   WP_OK);
    stats_reader sr;
    stats_reader_start(&sr, pool, WORKERS);
    producer prs[PRODUCERS];
    setup_producers(prs, PRODUCERS, pool, &t, per, status);
    for (int i = 0; i < PRODUCERS; i++)
        prs[i].rotate_policies = true;
    totals tot = run_producers(prs, PRODUCERS);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    stats_reader_stop(&sr);
    CHECK_EQ_UINT(tot.ok + tot.full + tot.dropped + tot.timed_out, n);
    CHECK_EQ_UINT(tot.closed + tot.other, 0);
    check_slots_against_status(&t, status);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, tot.ok);
    CHECK_EQ_UINT(s.rejected, tot.full);
    CHECK_EQ_UINT(s.dropped, tot.dropped);
    CHECK_EQ_UINT(s.timed_out, tot.timed_out);
    CHECK_EQ_UINT(s.refused_closed, 0);
    CHECK_EQ_UINT(s.failed, tot.expected_failed);
    CHECK_EQ_UINT(s.completed, tot.ok - tot.expected_failed);
    CHECK_EQ_UINT(s.canceled, 0);
    CHECK_STATS_BALANCE(s);
    /* each kind of refusal did happen, or the test tested less than it says */
    if (tot.full == 0 || tot.dropped == 0 || tot.timed_out == 0)
        wpt_note("refusals: %zu full, %zu dropped, %zu timed out", tot.full, tot.dropped,
                 tot.timed_out);
    CHECK(tot.full > 0 && tot.dropped > 0);
    wp_pool_destroy(pool);
    free(t.slots);
    free(status);
}

static void test_stress_mixed_policies_account_for_every_submission(void) {
    check_mixed_policies();
}

/* Receives results until WP_CLOSED, counting them per id. */
typedef struct outcome_receiver {
    wp_pool *pool;
    size_t n;
    unsigned char *results;   /* per id: results received */
    signed char *outcome;     /* per id: the last result's status */
    size_t ok, failed, canceled, bad;
    wp_status end;
    wpt_thread thread;
} outcome_receiver;

static void outcome_receiver_main(void *p) {
    outcome_receiver *rc = p;
    for (;;) {
        wp_result r;
        wp_status s = wp_result_recv(rc->pool, &r, WP_SEC(60));
        if (s != WP_OK) {
            rc->end = s;
            return;
        }
        if (r.id >= rc->n) {
            rc->bad++;
            continue;
        }
        if (rc->results[r.id] < 255)
            rc->results[r.id]++;
        rc->outcome[r.id] = (signed char)r.status;
        if (r.status == WP_OK)
            rc->ok++;
        else if (r.status == WP_TASK_FAILED)
            rc->failed++;
        else if (r.status == WP_CANCELED)
            rc->canceled++;
        else
            rc->bad++;
    }
}

static void check_close_racing_producers(wp_close_mode mode) {
    enum { PRODUCERS = 3, WORKERS = 3 };
    size_t per = wpt_scaled(100000, 2000);
    size_t n = per * PRODUCERS;
    slot_table t;
    signed char *status = calloc(n, 1);
    outcome_receiver rc;
    memset(&rc, 0, sizeof rc);
    rc.n = n;
    rc.results = calloc(n, 1);
    rc.outcome = calloc(n, 1);
    REQUIRE(status && rc.results && rc.outcome && slot_table_init(&t, n));
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = WORKERS, .queue_capacity = 32,
                                                .result_capacity = 64},
                                  &pool), WP_OK);
    rc.pool = pool;
    rc.thread = wpt_thread_start(outcome_receiver_main, &rc);
    producer prs[PRODUCERS];
    setup_producers(prs, PRODUCERS, pool, &t, per, status);
    for (int i = 0; i < PRODUCERS; i++) {
        prs[i].stop_on_closed = true;
        prs[i].thread = wpt_thread_start(producer_main, &prs[i]);
    }
    /* close while the producers are in full swing */
    CHECK_EVENTUALLY(pool_stats(pool).submitted >= n / 4, 60000);
    CHECK_STATUS(wp_pool_close(pool, mode, WP_FOREVER), WP_OK);
    totals tot;
    memset(&tot, 0, sizeof tot);
    for (int i = 0; i < PRODUCERS; i++) {
        wpt_thread_join(prs[i].thread);
        tot.ok += prs[i].ok;
        tot.closed += prs[i].closed;
        tot.other += prs[i].other;
    }
    wpt_thread_join(rc.thread);
    CHECK_STATUS(rc.end, WP_CLOSED);
    CHECK_EQ_UINT(tot.other, 0);
    CHECK_EQ_UINT(rc.bad, 0);
    /* every accepted job: exactly one result; ran once iff its outcome says it ran */
    size_t missing = 0, extra = 0, mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        int runs = atomic_load(&t.slots[i]);
        if (status[i] == WP_OK) {
            missing += rc.results[i] == 0;
            extra += rc.results[i] > 1;
            if (rc.results[i] == 1) {
                bool ran = rc.outcome[i] == WP_OK || rc.outcome[i] == WP_TASK_FAILED;
                mismatch += runs != (ran ? 1 : 0);
            }
        } else {
            extra += rc.results[i] != 0;
            mismatch += runs != 0;
        }
    }
    CHECK_EQ_UINT(missing, 0);
    CHECK_EQ_UINT(extra, 0);
    CHECK_EQ_UINT(mismatch, 0);
    CHECK_EQ_UINT(rc.ok + rc.failed + rc.canceled, tot.ok);
    if (mode == WP_DRAIN)
        CHECK_EQ_UINT(rc.canceled, 0);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, tot.ok);
    CHECK_EQ_UINT(s.completed, rc.ok);
    CHECK_EQ_UINT(s.failed, rc.failed);
    CHECK_EQ_UINT(s.canceled, rc.canceled);
    CHECK_EQ_UINT(s.refused_closed, tot.closed);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
    free(t.slots);
    free(status);
    free(rc.results);
    free(rc.outcome);
}

static void test_stress_cancel_close_racing_producers_loses_nothing(void) {
    check_close_racing_producers(WP_CANCEL);
}

static void test_stress_drain_close_racing_producers_loses_nothing(void) {
    check_close_racing_producers(WP_DRAIN);
}

static void test_stress_no_lost_wakeup_when_workers_park(void) {
    /* one job at a time, with pauses so that workers spin, yield or park in
       between; a job left unseen for 5 s means a lost wake-up */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 3 }, &pool), WP_OK);
    atomic_int ran;
    atomic_init(&ran, 0);
    const int rounds = (int)wpt_scaled(1500, 150);
    int lost = 0;
    for (int i = 0; i < rounds && lost == 0; i++) {
        int burst = 1 + i % 3;
        for (int b = 0; b < burst; b++)
            CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
        /* every job submitted so far must be done */
        int64_t deadline = wpt_now_ns() + WP_SEC(5);
        uint64_t submitted = pool_stats(pool).submitted;
        while (pool_stats(pool).completed < submitted && wpt_now_ns() < deadline)
            wpt_sleep_ns(WP_US(50));
        if (pool_stats(pool).completed < submitted) {
            wpt_note("round %d: %llu of %llu jobs done after 5 s", i,
                     (unsigned long long)pool_stats(pool).completed, (unsigned long long)submitted);
            lost++;
        }
        /* pause: none, a spin's worth, or long enough to park */
        switch (i % 4) {
        case 0: break;
        case 1: wpt_sleep_ns(WP_US(20)); break;
        case 2: wpt_sleep_ms(1); break;
        default: wpt_sleep_ms(3); break;
        }
    }
    CHECK_EQ_INT(lost, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

static void test_stress_create_destroy_with_jobs_in_flight(void) {
    const int rounds = (int)wpt_scaled(2000, 40);
    for (int i = 0; i < rounds; i++) {
        wp_pool *pool = NULL;
        /* a channel big enough for every job: nobody receives here */
        wp_config cfg = { .max_workers = 1 + i % 3, .queue_capacity = 8,
                          .result_capacity = (size_t)(i % 2) * 32 };
        REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
        atomic_int ran;
        atomic_init(&ran, 0);
        int accepted = 0;
        for (int j = 0; j < 20; j++)
            accepted += wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                       .backpressure = WP_DROP }) == WP_OK;
        switch (i % 3) {
        case 0: /* destroy drains */
            CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
            CHECK_EQ_INT(atomic_load(&ran), accepted);
            break;
        case 1: { /* cancel, then destroy: ran + canceled == accepted */
            wp_status s = wp_pool_close(pool, WP_CANCEL, WP_FOREVER);
            CHECK_STATUS(s, WP_OK);
            wp_stats st = pool_stats(pool);
            CHECK_EQ_UINT(st.canceled + (uint64_t)atomic_load(&ran), (uint64_t)accepted);
            CHECK_EQ_UINT(st.submitted, (uint64_t)accepted);
            CHECK_STATS_BALANCE(st);
            if (cfg.result_capacity)
                CHECK_EQ_UINT(st.results_pending, (size_t)accepted);
            CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
            break;
        }
        default: /* a close that may run out of time, then destroy */
            (void)wp_pool_close(pool, WP_DRAIN, WP_NOWAIT);
            CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
            break;
        }
    }
}

/* Jobs that submit children into their own pool, while outside producers
   keep the small queue full: no deadlock, every job runs exactly once. */
typedef struct family {
    wp_pool *pool;
    atomic_int runs;
    atomic_int bad_status;
} family;

static int child_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    family *f = arg;
    spin_a_little(100);
    atomic_fetch_add(&f->runs, 1);
    return 0;
}

static int parent_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    family *f = arg;
    atomic_fetch_add(&f->runs, 1);
    for (int i = 0; i < 4; i++)
        if (wp_submit(f->pool, child_job, f) != WP_OK)
            atomic_fetch_add(&f->bad_status, 1);
    return 0;
}

typedef struct parent_producer {
    family *f;
    int count;
    int accepted;
    wpt_thread thread;
} parent_producer;

static void parent_producer_main(void *p) {
    parent_producer *pp = p;
    for (int i = 0; i < pp->count; i++)
        pp->accepted += wp_submit(pp->f->pool, parent_job, pp->f) == WP_OK;
}

static void test_stress_nested_submission_under_load(void) {
    enum { PRODUCERS = 3 };
    family f;
    atomic_init(&f.runs, 0);
    atomic_init(&f.bad_status, 0);
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 4,
                                                .backpressure = WP_BLOCK }, &f.pool), WP_OK);
    parent_producer pp[PRODUCERS];
    int per = (int)wpt_scaled(20000, 100);
    for (int i = 0; i < PRODUCERS; i++) {
        pp[i] = (parent_producer){ &f, per, 0, { 0 } };
        pp[i].thread = wpt_thread_start(parent_producer_main, &pp[i]);
    }
    int accepted = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        wpt_thread_join(pp[i].thread);
        accepted += pp[i].accepted;
    }
    CHECK_EQ_INT(accepted, PRODUCERS * per);
    /* parents still running may submit children: wait until all is done */
    CHECK_EVENTUALLY(atomic_load(&f.runs) == 5 * accepted, 30000);
    CHECK_STATUS(wp_pool_close(f.pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&f.bad_status), 0);
    CHECK_EQ_INT(atomic_load(&f.runs), 5 * accepted);
    wp_stats s = pool_stats(f.pool);
    CHECK_EQ_UINT(s.submitted, (uint64_t)(5 * accepted));
    CHECK_EQ_UINT(s.completed, (uint64_t)(5 * accepted));
    wp_pool_destroy(f.pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_stress_block_producers_every_job_runs_once),
    WPT_TEST(test_stress_mixed_policies_account_for_every_submission),
    WPT_TEST(test_stress_cancel_close_racing_producers_loses_nothing),
    WPT_TEST(test_stress_drain_close_racing_producers_loses_nothing),
    WPT_TEST(test_stress_no_lost_wakeup_when_workers_park),
    WPT_TEST(test_stress_create_destroy_with_jobs_in_flight),
    WPT_TEST(test_stress_nested_submission_under_load),
};

WPT_MAIN(tests)
