/* Stress with exact accounting: producers x workers x queue capacity x
   backpressure policy, each cell checked job by job.

   Every job carries the tag (producer << 32 | sequence) as its id. A cell
   checks that
     - each submission returned a status its policy allows, and the per-status
       counts the producers saw equal wp_stats' submitted / rejected /
       dropped / timed_out / refused_closed exactly;
     - each accepted job ran exactly once (or, after a WP_CANCEL close, ran
       once or was canceled, never both) and each refused job never ran;
     - each accepted job yielded exactly one outcome: in "results" cells one
       wp_result with its id, arg and the status its run implies; in
       "counting" cells the run counters against completed/failed/canceled;
     - with one worker, the sequence numbers the worker sees strictly
       increase per producer (FIFO through the queue);
     - at quiescence submitted == completed + failed + canceled, and the
       queue and the result channel are empty.
   Extra cells: close racing the submitters (WP_DRAIN and WP_CANCEL), and
   the job queue's position counters started just below their wrap-around.

   Usage: matrix [full|ci|reduced] [jobs-per-cell]
     full     the whole matrix (make stress)
     ci       a bounded subset (make stress-ci)
     reduced  a small subset for the sanitizers (make stress-tsan/-asan)
   WP_TEST_SCALE scales the jobs per cell (see tests/wp_test.h). Prints one
   line per cell, the number of jobs pushed through, and finally
   `stress: N passed, N failed`. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

enum { MAX_PRODUCERS = 8, FAIL_EVERY = 5, CELL_LIMIT_S = 120 };

/* In "wrap" cells the queue's positions wrap around after this many
   accepted jobs (few, since refusing policies may accept only a fraction). */
enum { WRAP_AFTER = 16 };

typedef enum close_variant { NO_CLOSE, CLOSE_DRAIN, CLOSE_CANCEL } close_variant;

typedef struct cell {
    int producers, workers;
    size_t capacity;
    wp_backpressure policy;
    bool results;         /* outcomes through the result channel */
    bool wrap;            /* queue positions start just below wrap-around */
    close_variant close;
    size_t per_producer;  /* jobs each producer submits */
} cell;

typedef struct producer producer;

typedef struct run {
    const cell *c;
    wp_pool *pool;
    /* per job, indexed [producer * per + seq] */
    atomic_uchar *runs;       /* times the job ran */
    atomic_uchar *outcomes;   /* results received for it */
    atomic_uchar *canceled;   /* results that said WP_CANCELED */
    signed char *status;      /* what its submission returned */
    /* FIFO with one worker: the last sequence seen per producer */
    long long last_seq[MAX_PRODUCERS];
    atomic_size_t fifo_violations;
    atomic_size_t bad_results;   /* results whose fields do not match */
    atomic_size_t attempted;      /* submissions returned so far */
} run;

struct producer {
    run *r;
    int index;
    size_t ok, full, dropped, timed_out, closed, other;
    wpt_thread thread;
};

static size_t job_index(const run *r, uint64_t id) {
    return (size_t)(id >> 32) * r->c->per_producer + (size_t)(id & 0xffffffffu);
}

static void spin_a_little(unsigned rounds) {
    volatile unsigned x = 0;
    for (unsigned i = 0; i < rounds; i++)
        x += i;
    (void)x;
}

static int tagged_job(void *arg, wp_ctx *ctx) {
    run *r = arg;
    uint64_t id = wp_ctx_id(ctx);
    size_t p = (size_t)(id >> 32);
    long long seq = (long long)(id & 0xffffffffu);
    if (r->c->workers == 1) {
        /* one worker: only this thread touches last_seq */
        if (seq <= r->last_seq[p])
            atomic_fetch_add(&r->fifo_violations, 1);
        r->last_seq[p] = seq;
    }
    spin_a_little(100);
    atomic_fetch_add(&r->runs[job_index(r, id)], 1);
    wp_ctx_set_value(ctx, (void *)(uintptr_t)(id ^ 0x5a5a5a5au));
    return seq % FAIL_EVERY == 0 ? 7 : 0;
}

static void producer_main(void *arg) {
    producer *pr = arg;
    run *r = pr->r;
    const cell *c = r->c;
    for (size_t seq = 0; seq < c->per_producer; seq++) {
        uint64_t id = ((uint64_t)pr->index << 32) | seq;
        wp_job job = { .fn = tagged_job, .arg = r, .id = id };
        /* odd producers override the policy per job; even ones take the pool's */
        if (pr->index % 2 == 1) {
            job.backpressure = c->policy;
            /* shorter than the pool's 1 ms; only where the policy waits with
               a bound (a submit timeout would bound WP_BLOCK as well) */
            if (c->policy == WP_TIMEOUT)
                job.submit_timeout = WP_US(50);
        }
        wp_status s = wp_submit_job(r->pool, &job);
        r->status[job_index(r, id)] = (signed char)s;
        switch (s) {
        case WP_OK: pr->ok++; break;
        case WP_FULL: pr->full++; break;
        case WP_DROPPED: pr->dropped++; break;
        case WP_TIMED_OUT: pr->timed_out++; break;
        case WP_CLOSED: pr->closed++; break;
        default: pr->other++; break;
        }
        atomic_fetch_add(&r->attempted, 1);
        /* now and then let the workers catch up, so that refusing policies
           see the queue fill and drain many times instead of once */
        if (c->policy != WP_BLOCK && seq % 32 == 31)
            wpt_sleep_ns(WP_US(20));
        /* wrap cells must accept enough jobs to cross the wrap-around:
           there every refusal waits a little for the workers */
        else if (c->wrap && s != WP_OK)
            wpt_sleep_ns(WP_US(50));
    }
}

typedef struct receiver {
    run *r;
    size_t received;
    wp_status last;
    wpt_thread thread;
} receiver;

static void receiver_main(void *arg) {
    receiver *rc = arg;
    run *r = rc->r;
    size_t total = (size_t)r->c->producers * r->c->per_producer;
    for (;;) {
        wp_result res;
        wp_status s = wp_result_recv(r->pool, &res, WP_SEC(30));
        if (s != WP_OK) {
            rc->last = s;
            return;
        }
        rc->received++;
        size_t i = job_index(r, res.id);
        if ((res.id >> 32) >= (uint64_t)r->c->producers || (res.id & 0xffffffffu) >= r->c->per_producer ||
            i >= total || res.arg != (void *)r) {
            atomic_fetch_add(&r->bad_results, 1);
            continue;
        }
        atomic_fetch_add(&r->outcomes[i], 1);
        uint64_t seq = res.id & 0xffffffffu;
        if (res.status == WP_CANCELED) {
            atomic_fetch_add(&r->canceled[i], 1);
            if (res.code != 0 || res.value != NULL)
                atomic_fetch_add(&r->bad_results, 1);
        } else {
            bool should_fail = seq % FAIL_EVERY == 0;
            wp_status want = should_fail ? WP_TASK_FAILED : WP_OK;
            if (res.status != want || res.code != (should_fail ? 7 : 0) ||
                res.value != (void *)(uintptr_t)(res.id ^ 0x5a5a5a5au))
                atomic_fetch_add(&r->bad_results, 1);
        }
    }
}

/* --- the cell watchdog: a hung cell ends the program with a summary ------- */

static atomic_llong cell_deadline_ns;
static const char *volatile cell_name_now = "";
static int passed_cells, failed_cells;

static void watchdog_main(void *unused) {
    (void)unused;
    for (;;) {
        wpt_sleep_ms(500);
        long long d = atomic_load(&cell_deadline_ns);
        if (d != 0 && wpt_now_ns() > d) {
            printf("FAIL %s (still running after %d s: hung?)\n", cell_name_now, CELL_LIMIT_S);
            printf("stress: %d passed, %d failed\n", passed_cells, failed_cells + 1);
            fflush(stdout);
            _exit(1);
        }
    }
}

static const char *policy_name(wp_backpressure p) {
    switch (p) {
    case WP_BLOCK: return "block";
    case WP_DROP: return "drop";
    case WP_REJECT: return "reject";
    case WP_TIMEOUT: return "timeout";
    default: return "?";
    }
}

/* The statuses a submission may return under the cell's policy. */
static bool status_allowed(const cell *c, wp_status s) {
    if (s == WP_OK)
        return true;
    if (s == WP_CLOSED)
        return c->close != NO_CLOSE;
    switch (c->policy) {
    case WP_DROP: return s == WP_DROPPED;
    case WP_REJECT: return s == WP_FULL;
    case WP_TIMEOUT: return s == WP_TIMED_OUT;
    default: return false;
    }
}

static uint64_t jobs_through; /* accepted jobs, every cell */

static void run_cell(const cell *c) {
    size_t total = (size_t)c->producers * c->per_producer;
    run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.runs = calloc(total, sizeof *r.runs);
    r.outcomes = calloc(total, sizeof *r.outcomes);
    r.canceled = calloc(total, sizeof *r.canceled);
    r.status = calloc(total, sizeof *r.status);
    REQUIRE(r.runs && r.outcomes && r.canceled && r.status);
    for (size_t i = 0; i < total; i++) {
        atomic_init(&r.runs[i], 0);
        atomic_init(&r.outcomes[i], 0);
        atomic_init(&r.canceled[i], 0);
        r.status[i] = (signed char)WP_INVALID; /* not yet submitted */
    }
    for (int p = 0; p < MAX_PRODUCERS; p++)
        r.last_seq[p] = -1;
    atomic_init(&r.fifo_violations, 0);
    atomic_init(&r.bad_results, 0);
    atomic_init(&r.attempted, 0);

    wp_config cfg = { .name = "stress", .max_workers = c->workers, .queue_capacity = c->capacity,
                      .backpressure = c->policy, .submit_timeout = WP_MS(1),
                      .result_capacity = c->results ? 64 : 0 };
    wp_status cs = wp_pool_create(&cfg, &r.pool);
    CHECK_STATUS(cs, WP_OK);
    if (cs != WP_OK)
        goto out;
    if (c->wrap) {
        /* let the workers find the empty queue and park, then move the
           positions so that they wrap a little way into the run */
        CHECK_EVENTUALLY(pool_stats(r.pool).idle == c->workers, 5000);
        wpt_sleep_ms(30);
        wp__queue_seek(wp__pool_queue(r.pool), SIZE_MAX - WRAP_AFTER + 1);
    }

    receiver rc = { .r = &r, .received = 0, .last = WP_OK };
    if (c->results)
        rc.thread = wpt_thread_start(receiver_main, &rc);
    producer prs[MAX_PRODUCERS];
    for (int p = 0; p < c->producers; p++) {
        memset(&prs[p], 0, sizeof prs[p]);
        prs[p].r = &r;
        prs[p].index = p;
    }
    for (int p = 0; p < c->producers; p++)
        prs[p].thread = wpt_thread_start(producer_main, &prs[p]);

    wp_status close_status = WP_OK;
    if (c->close != NO_CLOSE) {
        /* close once about a third of the jobs are submitted, racing the rest */
        size_t target = total / 3;
        int64_t until = wpt_now_ns() + WP_SEC(20);
        while (atomic_load(&r.attempted) < target && wpt_now_ns() < until)
            wpt_sleep_ns(WP_US(100));
        close_status = wp_pool_close(r.pool, c->close == CLOSE_DRAIN ? WP_DRAIN : WP_CANCEL, WP_FOREVER);
    }
    size_t ok = 0, full = 0, dropped = 0, timed_out = 0, closed = 0, other = 0;
    for (int p = 0; p < c->producers; p++) {
        wpt_thread_join(prs[p].thread);
        ok += prs[p].ok;
        full += prs[p].full;
        dropped += prs[p].dropped;
        timed_out += prs[p].timed_out;
        closed += prs[p].closed;
        other += prs[p].other;
    }
    if (c->close == NO_CLOSE)
        close_status = wp_pool_close(r.pool, WP_DRAIN, WP_FOREVER);
    CHECK_STATUS(close_status, WP_OK);
    if (c->results) {
        wpt_thread_join(rc.thread);
        CHECK_STATUS(rc.last, WP_CLOSED); /* every result came, then the end */
    }
    wp_stats s = pool_stats(r.pool);

    /* job by job */
    size_t bad_status = 0, ran_twice = 0, accepted_not_run = 0, refused_ran = 0;
    size_t not_one_outcome = 0, refused_outcome = 0, canceled_but_ran = 0, never_submitted = 0;
    size_t ran_ok = 0, ran_failed = 0, not_run = 0;
    for (size_t i = 0; i < total; i++) {
        wp_status st = (wp_status)r.status[i];
        int runs = atomic_load(&r.runs[i]);
        size_t seq = i % c->per_producer;
        if (st == WP_INVALID) {
            never_submitted++;
            continue;
        }
        if (!status_allowed(c, st))
            bad_status++;
        if (runs > 1)
            ran_twice++;
        if (st == WP_OK) {
            if (runs == 1)
                *(seq % FAIL_EVERY == 0 ? &ran_failed : &ran_ok) += 1;
            else
                not_run++;
            /* only a WP_CANCEL close may leave an accepted job unrun */
            if (runs == 0 && c->close != CLOSE_CANCEL)
                accepted_not_run++;
            if (c->results) {
                if (atomic_load(&r.outcomes[i]) != 1)
                    not_one_outcome++;
                bool was_canceled = atomic_load(&r.canceled[i]) != 0;
                if (was_canceled != (runs == 0))
                    canceled_but_ran++;
            }
        } else {
            if (runs != 0)
                refused_ran++;
            if (c->results && atomic_load(&r.outcomes[i]) != 0)
                refused_outcome++;
        }
    }
    CHECK_EQ_UINT(never_submitted, 0);
    CHECK_EQ_UINT(other, 0);
    CHECK_EQ_UINT(bad_status, 0);
    CHECK_EQ_UINT(ran_twice, 0);
    CHECK_EQ_UINT(accepted_not_run, 0);
    CHECK_EQ_UINT(refused_ran, 0);
    CHECK_EQ_UINT(not_one_outcome, 0);
    CHECK_EQ_UINT(refused_outcome, 0);
    CHECK_EQ_UINT(canceled_but_ran, 0);
    CHECK_EQ_UINT(atomic_load(&r.bad_results), 0);
    CHECK_EQ_UINT(atomic_load(&r.fifo_violations), 0);
    if (c->results)
        CHECK_EQ_UINT(rc.received, ok);

    /* the producers' tallies against the pool's counters */
    CHECK_EQ_UINT(ok + full + dropped + timed_out + closed, total);
    CHECK_EQ_UINT(s.submitted, ok);
    CHECK_EQ_UINT(s.rejected, full);
    CHECK_EQ_UINT(s.dropped, dropped);
    CHECK_EQ_UINT(s.timed_out, timed_out);
    CHECK_EQ_UINT(s.refused_closed, closed);
    CHECK_EQ_UINT(s.completed, ran_ok);
    CHECK_EQ_UINT(s.failed, ran_failed);
    CHECK_EQ_UINT(s.canceled, not_run);
    CHECK_STATS_BALANCE(s);
    if (c->wrap)
        CHECK_CMP_UINT(ok, >, WRAP_AFTER); /* the positions did wrap */
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.results_pending, 0);
    jobs_through += ok;

    printf("    accepted %zu, rejected %zu, dropped %zu, timed out %zu, closed %zu; "
           "ran %zu (%zu failed), canceled %zu\n",
           ok, full, dropped, timed_out, closed, ran_ok + ran_failed, ran_failed, not_run);
    CHECK_STATUS(wp_pool_destroy(r.pool), WP_OK);
out:
    free(r.runs);
    free(r.outcomes);
    free(r.canceled);
    free(r.status);
}

/* --- the matrix ------------------------------------------------------------ */

static const int counts[] = { 1, 2, 4, 8 };
static const size_t capacities[] = { 2, 100, 1024 }  /* 100: a bound that is not a power of two */;
static const wp_backpressure policies[] = { WP_BLOCK, WP_DROP, WP_REJECT, WP_TIMEOUT };

static void run_one(const cell *c) {
    char name[160];
    snprintf(name, sizeof name, "p%d w%d cap%zu %-7s %-8s%s%s", c->producers, c->workers,
             c->capacity, policy_name(c->policy), c->results ? "results" : "counting",
             c->wrap ? " wrap" : "",
             c->close == CLOSE_DRAIN ? " close-drain" : c->close == CLOSE_CANCEL ? " close-cancel" : "");
    cell_name_now = name;
    atomic_store(&wpt__failures, 0);
    int64_t start = wpt_now_ns();
    atomic_store(&cell_deadline_ns, (long long)(start + WP_SEC(CELL_LIMIT_S)));
    run_cell(c);
    atomic_store(&cell_deadline_ns, 0);
    long long ms = (long long)wpt_ms_since(start);
    if (atomic_load(&wpt__failures) == 0) {
        passed_cells++;
        printf("ok  %s (%lld ms)\n", name, ms);
    } else {
        failed_cells++;
        printf("FAIL %s (%lld ms)\n", name, ms);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "full";
    bool full = strcmp(mode, "full") == 0, ci = strcmp(mode, "ci") == 0,
         reduced = strcmp(mode, "reduced") == 0;
    if (!full && !ci && !reduced) {
        fprintf(stderr, "usage: %s [full|ci|reduced] [jobs-per-cell]\n", argv[0]);
        return 2;
    }
    size_t jobs = full ? 40000 : ci ? 12000 : 20000;
    if (argc > 2 && atol(argv[2]) > 0)
        jobs = (size_t)atol(argv[2]);
    jobs = wpt_scaled(jobs, 512);
    wpt_thread_start(watchdog_main, NULL); /* runs until exit */
    int64_t start = wpt_now_ns();

    /* the main matrix; reduced/ci keep a subset of it */
    for (size_t pi = 0; pi < 4; pi++)
        for (size_t wi = 0; wi < 4; wi++)
            for (size_t ci_ = 0; ci_ < 3; ci_++)
                for (size_t po = 0; po < 4; po++) {
                    int p = counts[pi], w = counts[wi];
                    if (reduced && (p == 2 || w == 2 || p == 8 || w == 8 || ci_ == 2))
                        continue;
                    if (ci && (p == 2 || w == 2))
                        continue;
                    cell c = { .producers = p, .workers = w, .capacity = capacities[ci_],
                               .policy = policies[po], .results = (pi + wi + ci_ + po) % 2 == 1,
                               .per_producer = jobs / (size_t)p };
                    run_one(&c);
                }
    /* close racing the submitters, and positions about to wrap */
    for (size_t pi = 0; pi < 4; pi++)
        for (size_t wi = 0; wi < 4; wi++)
            for (size_t po = 0; po < 4; po++) {
                int p = counts[pi], w = counts[wi];
                if ((reduced || ci) && (p == 2 || w == 2 || (reduced && (p == 8 || w == 8))))
                    continue;
                for (int v = 0; v < 3; v++) {
                    cell c = { .producers = p, .workers = w, .capacity = v == 0 ? 2 : 100,
                               .policy = policies[po], .results = (pi + wi + po + (size_t)v) % 2 == 0,
                               .wrap = v == 0, .close = v == 1 ? CLOSE_DRAIN : v == 2 ? CLOSE_CANCEL : NO_CLOSE,
                               .per_producer = jobs / (size_t)p };
                    run_one(&c);
                }
            }
    printf("jobs pushed through: %llu in %.1f s (%d cells, about %zu jobs offered per cell)\n",
           (unsigned long long)jobs_through, (double)(wpt_now_ns() - start) / 1e9,
           passed_cells + failed_cells, jobs);
    printf("stress: %d passed, %d failed\n", passed_cells, failed_cells);
    return failed_cells == 0 ? 0 : 1;
}
