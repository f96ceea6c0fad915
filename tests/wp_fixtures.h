/* wp_fixtures.h - jobs and helpers shared by the pool tests.

   Include after workerpool.h (with WORKERPOOL_TESTING and the implementation)
   and wp_test.h.

   gate: a job that holds its worker until the test opens the gate, so a test
   knows exactly which jobs are running and which are queued. Optionally it
   also returns as soon as wp_ctx_should_stop() turns true.

   count_job: increments the atomic_int its arg points to, so a test can check
   that a job ran exactly once (or never). */
#ifndef WP_FIXTURES_H
#define WP_FIXTURES_H

#ifndef WORKERPOOL_TESTING
#error "define WORKERPOOL_TESTING before including workerpool.h"
#endif

/* The test hooks are static functions; a file that does not call them would
   otherwise warn that they are unused. */
static inline void wpt__use_test_hooks(void) {
    (void)wp__queue_seek;
    (void)wp__pool_queue;
}

/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */

static inline int count_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

/* Sleeps the number of milliseconds its arg points to (an int). */
static inline int sleep_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    wpt_sleep_ms(*(const int *)arg);
    return 0;
}

typedef struct gate {
    atomic_int started;    /* gate jobs that have started */
    atomic_int finished;   /* gate jobs that have returned */
    atomic_bool open;
    bool honor_stop;       /* return once wp_ctx_should_stop() is true */
    atomic_int saw_stop;   /* gate jobs that returned because of should_stop */
    atomic_int code;       /* what the gate job returns */
} gate;

static inline void gate_init(gate *g, bool honor_stop) {
    atomic_init(&g->started, 0);
    atomic_init(&g->finished, 0);
    atomic_init(&g->open, false);
    g->honor_stop = honor_stop;
    atomic_init(&g->saw_stop, 0);
    atomic_init(&g->code, 0);
}

static inline int gate_job(void *arg, wp_ctx *ctx) {
    gate *g = (gate *)arg;
    atomic_fetch_add(&g->started, 1);
    while (!atomic_load(&g->open)) {
        if (g->honor_stop && wp_ctx_should_stop(ctx)) {
            atomic_fetch_add(&g->saw_stop, 1);
            break;
        }
        wpt_sleep_ms(1);
    }
    /* Read before announcing the finish: the gate may go out of scope once
       its owner sees every job finished. */
    int code = atomic_load(&g->code);
    atomic_fetch_add(&g->finished, 1);
    return code;
}

static inline void gate_open(gate *g) { atomic_store(&g->open, true); }

/* Waits up to `ms` for `n` gate jobs to have started. */
static inline bool gate_wait_started(gate *g, int n, int ms) {
    int64_t until = wpt_now_ns() + (int64_t)ms * INT64_C(1000000);
    while (atomic_load(&g->started) < n) {
        if (wpt_now_ns() > until)
            return false;
        wpt_sleep_ms(1);
    }
    return true;
}

/* Opens the gate `delay_ms` from now, on a helper thread. */
typedef struct gate_opener {
    gate *g;
    int delay_ms;
    wpt_thread thread;
} gate_opener;

static inline void gate_opener_main(void *p) {
    gate_opener *o = (gate_opener *)p;
    wpt_sleep_ms(o->delay_ms);
    gate_open(o->g);
}

static inline void gate_open_later(gate_opener *o, gate *g, int delay_ms) {
    o->g = g;
    o->delay_ms = delay_ms;
    o->thread = wpt_thread_start(gate_opener_main, o);
}

/* ------------------------------------------------------------------------ */
/* Pools                                                                     */

static inline wp_stats pool_stats(wp_pool *pool) {
    wp_stats s;
    memset(&s, 0, sizeof s);
    wp_status st = wp_pool_stats(pool, &s);
    CHECK_STATUS(st, WP_OK);
    return s;
}

/* Checks the quiescent invariant submitted == completed + failed + canceled.
   Use only at quiescence: after close returned WP_OK (or every result came in). */
#define CHECK_STATS_BALANCE(s)                                                      \
    CHECK_EQ_UINT((s).submitted, (s).completed + (s).failed + (s).canceled + (s).expired + (s).evicted)

/* Receives every result until WP_CLOSED (waiting up to `ms` for each) and
   counts them by status; returns the total received. */
typedef struct result_tally {
    int ok, task_failed, canceled, other, total;
} result_tally;

static inline result_tally drain_results(wp_pool *pool, int ms) {
    result_tally t;
    memset(&t, 0, sizeof t);
    for (;;) {
        wp_result r;
        wp_status s = wp_result_recv(pool, &r, WP_MS(ms));
        if (s == WP_CLOSED)
            break;
        if (s != WP_OK) {
            CHECK_STATUS(s, WP_OK);
            break;
        }
        t.total++;
        if (r.status == WP_OK)
            t.ok++;
        else if (r.status == WP_TASK_FAILED)
            t.task_failed++;
        else if (r.status == WP_CANCELED)
            t.canceled++;
        else
            t.other++;
    }
    return t;
}

#endif /* WP_FIXTURES_H */
