/* Tests of the auto-scaling worker set: min/max bounds, load-driven scale-up,
   idle scale-down, cooldowns, manual scaling (wp_pool_scale, wp_pool_resize),
   presets, thread-creation failures, the scaling stats, thread hooks, and
   closing a pool while workers retire.

   Scaling decisions read the pool's clock, which these tests replace with a
   fake one (an atomic count of nanoseconds that only the test moves). Idle
   surplus workers re-read it about every millisecond, so a test moves the
   clock and then waits (CHECK_EVENTUALLY) for the effect; it never sleeps for
   an idle timeout or a cooldown. A check that something does NOT happen
   waits a short real time (STILL_MS) and checks again.

   Scale-up happens when a worker finishes a job and more than
   scaling.up_threshold jobs are queued, or when a submitter finds the queue
   full. load_round() makes the first happen on purpose: it holds every worker
   in a gate job, queues a backlog behind them, and opens the gate. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

#include <limits.h>

static int online_cpus(void) { return wpt_online_cpus(); }

/* How long a test waits to see that something did not happen. */
#define STILL_MS 30
/* How long a test waits for something that must happen. */
#define SOON_MS 5000

/* ------------------------------------------------------------------------ */
/* The fake clock                                                            */

#define FAKE_BASE WP_SEC(1000)

typedef struct fake_clock {
    atomic_llong now;
} fake_clock;

static int64_t fake_now(void *user) {
    return (int64_t)atomic_load(&((fake_clock *)user)->now);
}

static void fc_init(fake_clock *fc) { atomic_init(&fc->now, FAKE_BASE); }

static void fc_advance(fake_clock *fc, int64_t ns) { atomic_fetch_add(&fc->now, (long long)ns); }

/* Fake time since FAKE_BASE: since create, for a pool created before the
   clock first moved. */
static int64_t fc_offset(fake_clock *fc) { return (int64_t)atomic_load(&fc->now) - FAKE_BASE; }

/* Moves the clock forward by `step_ns` every `period_ns` of real time, on a
   helper thread, until ticker_stop. */
typedef struct ticker {
    fake_clock *fc;
    int64_t step_ns, period_ns;
    atomic_bool stop;
    atomic_long ticks;
    wpt_thread thread;
} ticker;

static void ticker_main(void *p) {
    ticker *t = p;
    while (!atomic_load(&t->stop)) {
        fc_advance(t->fc, t->step_ns);
        atomic_fetch_add(&t->ticks, 1);
        wpt_sleep_ns(t->period_ns);
    }
}

static void ticker_start(ticker *t, fake_clock *fc, int64_t step_ns, int64_t period_ns) {
    t->fc = fc;
    t->step_ns = step_ns;
    t->period_ns = period_ns;
    atomic_init(&t->stop, false);
    atomic_init(&t->ticks, 0);
    t->thread = wpt_thread_start(ticker_main, t);
}

static void ticker_stop(ticker *t) {
    atomic_store(&t->stop, true);
    wpt_thread_join(t->thread);
}

/* ------------------------------------------------------------------------ */
/* Pools and load                                                            */

#define UP_COOLDOWN   WP_MS(10)
#define IDLE_TIMEOUT  WP_MS(100)
#define DOWN_COOLDOWN WP_MS(50)
/* One step of the fake clock that passes both the idle timeout and the
   scale-down cooldown (and the scale-up cooldown). */
#define STEP          WP_MS(101)

/* A scaling pool on the fake clock: threshold 2, cooldowns of 10 ms (up)
   and 50 ms (down), an idle timeout of 100 ms, a queue of 256. */
static wp_config scaling_config(fake_clock *fc, int min, int max) {
    return (wp_config){
        .scaling.min_workers = min,
        .max_workers = max,
        .queue_capacity = 256,
        .scaling.up_threshold = 2,
        .scaling.up_cooldown = UP_COOLDOWN,
        .scaling.idle_timeout = IDLE_TIMEOUT,
        .scaling.down_cooldown = DOWN_COOLDOWN,
        .clock = fake_now,
        .clock_user = fc,
    };
}

static int live_workers(wp_pool *pool) { return pool_stats(pool).workers; }

/* Like gate_job, but touches the gate no more once it counted itself
   finished, so the gate may live on the stack of a helper that returns as
   soon as `finished` says so (gate_job still reads g->code afterwards). */
static int hold_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    gate *g = arg;
    atomic_fetch_add(&g->started, 1);
    while (!atomic_load(&g->open))
        wpt_sleep_ms(1);
    atomic_fetch_add(&g->finished, 1);
    return 0;
}

/* Holds `busy` workers in gate jobs (there must be that many idle), queues
   `queued` count jobs behind them, opens the gate and waits until every job
   of the round ran. Each worker that finishes a job while the backlog is
   above the threshold tries to scale up. Returns false (after recording a
   failure) if the round did not go as planned. */
static bool load_round(wp_pool *pool, int busy, int queued) {
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    int gates = 0, accepted = 0;
    for (int i = 0; i < busy; i++)
        gates += wp_submit(pool, hold_job, &g) == WP_OK;
    CHECK_EQ_INT(gates, busy);
    bool started = gate_wait_started(&g, gates, SOON_MS);
    CHECK(started);
    for (int i = 0; i < queued; i++)
        accepted += wp_submit(pool, count_job, &ran) == WP_OK;
    CHECK_EQ_INT(accepted, queued);
    gate_open(&g);
    CHECK_EVENTUALLY(atomic_load(&g.finished) == gates && atomic_load(&ran) == accepted, 10000);
    return started && gates == busy && accepted == queued && atomic_load(&g.finished) == gates &&
           atomic_load(&ran) == accepted;
}

/* Waits up to `ms` for the pool to have exactly `n` live workers. */
static bool wait_workers(wp_pool *pool, int n, int ms) {
    int64_t until = wpt_now_ns() + (int64_t)ms * INT64_C(1000000);
    while (live_workers(pool) != n) {
        if (wpt_now_ns() > until)
            return false;
        wpt_sleep_ms(1);
    }
    return true;
}

/* Waits until `a` == `b` (integers), then checks it (printing both values
   when it never came true). */
#define CHECK_SOON_EQ(a, b)                                                         \
    do {                                                                            \
        int64_t soon__until = wpt_now_ns() + WP_MS(SOON_MS);                        \
        while ((long long)(a) != (long long)(b) && wpt_now_ns() < soon__until)      \
            wpt_sleep_ms(1);                                                        \
        CHECK_EQ_INT(a, b);                                                         \
    } while (0)

/* Checks that the pool has (or soon has) `n` workers and still has them a
   moment later. */
#define CHECK_STAYS(pool, n)                                                        \
    do {                                                                            \
        CHECK_SOON_EQ(live_workers(pool), (n));                                     \
        wpt_sleep_ms(STILL_MS);                                                     \
        CHECK_EQ_INT(live_workers(pool), (n));                                      \
    } while (0)

/* Scaling stats lag the worker count a little: a spawner counts the new
   worker in `workers` before it starts the thread and counts the scale-up
   after; a retiring worker leaves `workers` before it counts the scale-down.
   Waits until the counts agree with the `initial` workers the pool was
   created with: workers == initial + scale_ups - scale_downs. */
static void settle(wp_pool *pool, int initial) {
    int64_t until = wpt_now_ns() + WP_MS(SOON_MS);
    wp_stats s;
    for (;;) {
        s = pool_stats(pool);
        if ((long long)s.workers == initial + (long long)s.scale_ups - (long long)s.scale_downs)
            return;
        if (wpt_now_ns() > until)
            break;
        wpt_sleep_ms(1);
    }
    CHECK_EQ_INT(s.workers, initial + (long long)s.scale_ups - (long long)s.scale_downs);
}

/* Waits for one snapshot that has `n` workers and is settled (see settle);
   for pools whose clock keeps running, where a late scale-up may come and
   go again. Returns that snapshot. */
static wp_stats settle_at(wp_pool *pool, int initial, int n) {
    int64_t until = wpt_now_ns() + WP_MS(SOON_MS);
    wp_stats s;
    for (;;) {
        s = pool_stats(pool);
        if (s.workers == n &&
            (long long)s.workers == initial + (long long)s.scale_ups - (long long)s.scale_downs)
            return s;
        if (wpt_now_ns() > until)
            break;
        wpt_sleep_ms(1);
    }
    CHECK_EQ_INT(s.workers, n);
    CHECK_EQ_INT(s.workers, initial + (long long)s.scale_ups - (long long)s.scale_downs);
    return s;
}

/* Samples stats.workers on a helper thread until stopped: the lowest and
   highest counts seen while the pool is open. */
typedef struct monitor {
    wp_pool *pool;
    atomic_bool stop;
    int lo, hi;          /* written by the monitor thread, read after the join */
    long samples;
    wpt_thread thread;
} monitor;

static void monitor_main(void *p) {
    monitor *m = p;
    while (!atomic_load(&m->stop)) {
        wp_stats s;
        if (wp_pool_stats(m->pool, &s) == WP_OK) {
            if (s.workers < m->lo)
                m->lo = s.workers;
            if (s.workers > m->hi)
                m->hi = s.workers;
            m->samples++;
        }
        wpt_sleep_ns(WP_US(100));
    }
}

static void monitor_start(monitor *m, wp_pool *pool) {
    m->pool = pool;
    atomic_init(&m->stop, false);
    m->lo = INT_MAX;
    m->hi = INT_MIN;
    m->samples = 0;
    m->thread = wpt_thread_start(monitor_main, m);
}

static void monitor_stop(monitor *m) {
    atomic_store(&m->stop, true);
    wpt_thread_join(m->thread);
}

/* Thread hooks that check the slot discipline: every index is below `limit`,
   and on each index starts and stops alternate (an index is reused only
   after its previous thread stopped). */
#define HOOK_SLOTS 16

typedef struct slot_hooks {
    int limit;
    atomic_int starts, stops, bad;
    atomic_int live[HOOK_SLOTS];
    atomic_int used[HOOK_SLOTS];  /* how many threads ran on each index */
} slot_hooks;

static void slot_hooks_init(slot_hooks *h, int limit) {
    memset(h, 0, sizeof *h);
    h->limit = limit < HOOK_SLOTS ? limit : HOOK_SLOTS;
}

static void slot_start(const wp_event *ev, void *user) {
    int worker = ev->worker;
    slot_hooks *h = user;
    atomic_fetch_add(&h->starts, 1);
    if (worker < 0 || worker >= h->limit) {
        atomic_fetch_add(&h->bad, 1);
        return;
    }
    if (atomic_fetch_add(&h->live[worker], 1) != 0)
        atomic_fetch_add(&h->bad, 1);
    atomic_fetch_add(&h->used[worker], 1);
}

static void slot_stop(const wp_event *ev, void *user) {
    int worker = ev->worker;
    slot_hooks *h = user;
    atomic_fetch_add(&h->stops, 1);
    if (worker < 0 || worker >= h->limit) {
        atomic_fetch_add(&h->bad, 1);
        return;
    }
    if (atomic_fetch_sub(&h->live[worker], 1) != 1)
        atomic_fetch_add(&h->bad, 1);
}

static void with_slot_hooks(wp_config *cfg, slot_hooks *h) {
    cfg->hooks.thread_start = slot_start;
    cfg->hooks.thread_stop = slot_stop;
    cfg->hooks.user = h;
}

/* A job that marks its own slot (so a test sees each job ran exactly once). */
static int slot_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static atomic_int *new_slots(size_t n) {
    atomic_int *slots = malloc(n * sizeof *slots);
    if (slots)
        for (size_t i = 0; i < n; i++)
            atomic_init(&slots[i], 0);
    return slots;
}

/* ------------------------------------------------------------------------ */
/* Starting size; fixed pools                                                */

static void test_scaling_pool_starts_min_workers(void) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 4);
    wp_config cfg = scaling_config(&fc, 1, 4);
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 1);
    CHECK_EQ_INT(s.active, 0);
    CHECK_EQ_INT(s.idle, 1);
    CHECK_EQ_INT(s.min_workers, 1);
    CHECK_EQ_INT(s.max_workers, 4);
    CHECK_EQ_INT(s.peak_workers, 1);
    CHECK_EQ_UINT(s.scale_ups, 0);
    CHECK_EQ_UINT(s.scale_downs, 0);
    CHECK_EQ_UINT(s.spawn_failures, 0);
    CHECK_STAYS(pool, 1);
    CHECK_EVENTUALLY(atomic_load(&h.starts) == 1, SOON_MS);
    /* a trickle below the threshold does not add workers */
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 20; i++) {
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
        CHECK_EVENTUALLY(atomic_load(&ran) == i + 1, SOON_MS);
    }
    CHECK_EQ_INT(live_workers(pool), 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&h.starts), 1);
    CHECK_EQ_INT(atomic_load(&h.stops), 1);
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
}

static void check_fixed_pool_never_scales(int min, int max, int expect) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, min, max);
    cfg.scaling.up_threshold = 1;
    cfg.scaling.up_cooldown = 1;
    cfg.scaling.idle_timeout = 1;
    cfg.scaling.down_cooldown = 1;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_EQ_INT(live_workers(pool), expect);
    /* a backlog far above the threshold, with the cooldown long passed */
    for (int round = 0; round < 3; round++) {
        fc_advance(&fc, WP_SEC(1));
        CHECK(load_round(pool, expect, 100));
    }
    /* idle far beyond the idle timeout */
    for (int step = 0; step < 3; step++) {
        fc_advance(&fc, WP_SEC(10000));
        CHECK_STAYS(pool, expect);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, expect);
    CHECK_EQ_INT(s.max_workers, expect);
    CHECK_EQ_INT(s.peak_workers, expect);
    CHECK_EQ_UINT(s.scale_ups, 0);
    CHECK_EQ_UINT(s.scale_downs, 0);
    CHECK_EQ_INT(s.last_scale_up_ns, -1);
    CHECK_EQ_INT(s.last_scale_down_ns, -1);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_fixed_pool_never_scales_up_or_down(void) {
    check_fixed_pool_never_scales(2, 2, 2);
    check_fixed_pool_never_scales(0, 3, 3);  /* min 0 = max */
}

/* ------------------------------------------------------------------------ */
/* Scale-up                                                                  */

static void test_no_scale_up_during_the_cooldown(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    cfg.scaling.up_cooldown = WP_SEC(1);
    cfg.scaling.idle_timeout = WP_SEC(100000);
    cfg.scaling.down_cooldown = WP_SEC(100000);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    /* the first scale-up waits for no cooldown; while the 100 queued jobs
       drain, every finished job sees the backlog, but the cooldown holds */
    REQUIRE(load_round(pool, 1, 100));
    settle(pool, 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 1);
    CHECK_EQ_INT(s.workers, 2);
    CHECK_EQ_INT(s.peak_workers, 2);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_up_ns, 0);
    /* more backlog, the clock not moved: no second scale-up */
    REQUIRE(load_round(pool, 2, 100));
    CHECK_STAYS(pool, 2);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    /* just short of the cooldown: still none */
    fc_advance(&fc, WP_SEC(1) - 1);
    REQUIRE(load_round(pool, 2, 100));
    CHECK_STAYS(pool, 2);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    /* past the cooldown: exactly one more */
    fc_advance(&fc, 2);
    REQUIRE(load_round(pool, 2, 100));
    CHECK_STAYS(pool, 3);
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 2);
    CHECK_EQ_INT(s.peak_workers, 3);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_up_ns, WP_SEC(1) + 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_downs, 0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_full_queue_scales_up_from_the_submitter(void) {
    /* the only worker is held, so no worker finishes a job: the submitter
       that finds the queue full must add the worker that makes room */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 2);
    cfg.queue_capacity = 4;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, SOON_MS));
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_UINT(pool_stats(pool).queue_depth, 4);
    int64_t t0 = wpt_now_ns();
    wp_job job = { .fn = count_job, .arg = &ran, .backpressure = WP_TIMEOUT, .submit_timeout = WP_SEC(10) };
    CHECK_STATUS(wp_submit_job(pool, &job), WP_OK);
    CHECK_CMP_INT(wpt_ms_since(t0), <, 5000);
    CHECK_EQ_INT(atomic_load(&g.finished), 0); /* the gate is still closed */
    settle(pool, 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 2);
    CHECK_EQ_UINT(s.scale_ups, 1);
    CHECK_EVENTUALLY(atomic_load(&ran) == 5, SOON_MS);
    gate_open(&g);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, 6);
    CHECK_EQ_UINT(s.completed, 6);
    CHECK_EQ_UINT(s.timed_out, 0);
    wp_pool_destroy(pool);
}

static void test_zero_scaling_fields_mean_documented_defaults(void) {
    /* threshold 4, scale-up cooldown 10 ms, idle timeout 10 s, scale-down
       cooldown 1 s, all on the fake clock */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = { .scaling.min_workers = 1, .max_workers = 3, .queue_capacity = 256,
                      .clock = fake_now, .clock_user = &fc };
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    REQUIRE(load_round(pool, 1, 4)); /* 4 queued is not beyond 4 */
    CHECK_STAYS(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 0);
    REQUIRE(load_round(pool, 1, 5)); /* 5 is */
    CHECK_STAYS(pool, 2);
    settle(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    fc_advance(&fc, WP_MS(9));
    REQUIRE(load_round(pool, 2, 50));
    CHECK_STAYS(pool, 2);
    fc_advance(&fc, WP_MS(1) + 1);
    REQUIRE(load_round(pool, 2, 50));
    CHECK_STAYS(pool, 3);
    settle(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 2);
    /* idle 9 s: nobody leaves; past 10 s: one leaves */
    fc_advance(&fc, WP_SEC(9));
    CHECK_STAYS(pool, 3);
    fc_advance(&fc, WP_SEC(1) + WP_MS(1));
    CHECK(wait_workers(pool, 2, SOON_MS));
    settle(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_downs, 1);
    /* the next one waits for the 1 s cooldown */
    fc_advance(&fc, WP_MS(500));
    CHECK_STAYS(pool, 2);
    fc_advance(&fc, WP_MS(501));
    CHECK(wait_workers(pool, 1, SOON_MS));
    settle(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_downs, 2);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_pool_destroy(pool);
}

static void test_default_threshold_is_clamped_below_queue_capacity(void) {
    /* a queue of 4: the default threshold 4 becomes 3 */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = { .scaling.min_workers = 1, .max_workers = 2, .queue_capacity = 4,
                      .clock = fake_now, .clock_user = &fc };
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    REQUIRE(load_round(pool, 1, 3));
    CHECK_STAYS(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 0);
    REQUIRE(load_round(pool, 1, 4));
    CHECK_STAYS(pool, 2);
    settle(pool, 1);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Scale-down                                                                */

static void test_idle_timeout_retires_exactly_the_surplus(void) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 4);
    wp_config cfg = scaling_config(&fc, 1, 4);
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    for (int k = 1; k < 4; k++) {
        fc_advance(&fc, UP_COOLDOWN + 1);
        REQUIRE(load_round(pool, k, 50));
        CHECK_STAYS(pool, k + 1);
        REQUIRE_EQ_INT(live_workers(pool), k + 1);
    }
    settle(pool, 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.peak_workers, 4);
    CHECK_EQ_UINT(s.scale_ups, 3);
    CHECK_EQ_UINT(s.scale_downs, 0);
    /* all four idle since the same fake time: just short of the idle
       timeout nobody leaves */
    fc_advance(&fc, IDLE_TIMEOUT - 1);
    CHECK_STAYS(pool, 4);
    /* each step passes the idle timeout and the cooldown, so exactly one
       worker leaves per step */
    for (int left = 3; left >= 1; left--) {
        fc_advance(&fc, STEP);
        CHECK(wait_workers(pool, left, SOON_MS));
        CHECK_STAYS(pool, left);
        settle(pool, 1);
        CHECK_EQ_UINT(pool_stats(pool).scale_downs, (uint64_t)(4 - left));
        CHECK_SOON_EQ(pool_stats(pool).last_scale_down_ns, fc_offset(&fc));
    }
    /* at min: more idle time retires nobody */
    for (int i = 0; i < 3; i++) {
        fc_advance(&fc, STEP * 10);
        CHECK_STAYS(pool, 1);
    }
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_downs, (uint64_t)(s.peak_workers - s.min_workers));
    CHECK_EQ_INT(s.peak_workers, 4);
    CHECK_SOON_EQ(atomic_load(&h.starts) - atomic_load(&h.stops), 1);
    /* the one left still runs jobs */
    REQUIRE(load_round(pool, 1, 2));
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
    CHECK_EQ_INT(atomic_load(&h.starts), 4);
    CHECK_EQ_INT(atomic_load(&h.stops), 4);
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
}

/* A slow job: sleeps 2 ms of real time and moves the fake clock 2 ms, so
   fake time passes with the work done. */
typedef struct slow_arg {
    fake_clock *fc;
    atomic_int *slot;
} slow_arg;

static int slow_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    slow_arg *a = arg;
    wpt_sleep_ms(2);
    fc_advance(a->fc, WP_MS(2));
    atomic_fetch_add(a->slot, 1);
    return 0;
}

static void test_burst_scales_to_max_and_back_to_min(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    cfg.scaling.up_threshold = 4;
    cfg.scaling.up_cooldown = WP_MS(5);
    cfg.queue_capacity = 1024;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    const size_t n = wpt_scaled(400, 80);
    atomic_int *slots = new_slots(n);
    slow_arg *args = malloc(n * sizeof *args);
    REQUIRE(slots && args);
    for (size_t i = 0; i < n; i++) {
        args[i] = (slow_arg){ .fc = &fc, .slot = &slots[i] };
        CHECK_STATUS(wp_submit(pool, slow_job, &args[i]), WP_OK);
    }
    int64_t t0 = wpt_now_ns();
    while (pool_stats(pool).completed < n && wpt_ms_since(t0) < 30000)
        wpt_sleep_ms(1);
    settle(pool, 1);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, n);
    CHECK_EQ_INT(s.peak_workers, 4);
    CHECK_CMP_UINT(s.scale_ups, >=, 3);
    CHECK_CMP_INT(s.workers, <=, 4);
    /* the work is over: step the clock until the surplus has left */
    for (int step = 0; step < 20 && live_workers(pool) > 1; step++) {
        int before = live_workers(pool);
        fc_advance(&fc, STEP);
        wait_workers(pool, before - 1, SOON_MS);
    }
    CHECK_STAYS(pool, 1);
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_downs, s.scale_ups);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += atomic_load(&slots[i]) != 1;
    CHECK_EQ_INT(wrong, 0);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.submitted, n);
    CHECK_STATS_BALANCE(s);
    wpt_note("%zu jobs: %llu scale-ups, %llu scale-downs", n,
             (unsigned long long)s.scale_ups, (unsigned long long)s.scale_downs);
    wp_pool_destroy(pool);
    free(args);
    free(slots);
}

/* A job that sleeps `us` microseconds its arg points to. */
static int sleep_us_job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    wpt_sleep_ns(WP_US(*(const int *)arg));
    return 0;
}

static void test_worker_count_stays_within_bounds(void) {
    /* bursts of load and pauses while the clock runs fast: workers come and
       go, but the count stays within [2, 3] */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = {
        .scaling.min_workers = 2, .max_workers = 3, .queue_capacity = 32,
        .scaling.up_threshold = 1, .scaling.up_cooldown = WP_MS(1),
        .scaling.idle_timeout = WP_MS(3), .scaling.down_cooldown = WP_MS(1),
        .clock = fake_now, .clock_user = &fc,
    };
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    ticker tk;
    ticker_start(&tk, &fc, WP_MS(1), WP_US(100));
    monitor m;
    monitor_start(&m, pool);
    static const int job_us = 100;
    const int rounds = (int)wpt_scaled(150, 15);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 48; i++)
            CHECK_STATUS(wp_submit(pool, sleep_us_job, (void *)&job_us), WP_OK);
        wpt_sleep_ms(2 + r % 3);
    }
    CHECK_EVENTUALLY(pool_stats(pool).queue_depth == 0 && pool_stats(pool).active == 0, SOON_MS);
    /* idle with the clock running: back to min, and no lower */
    wp_stats s = settle_at(pool, 2, 2);
    wpt_sleep_ms(STILL_MS); /* idle at min a while longer: nobody goes below */
    monitor_stop(&m);
    ticker_stop(&tk);
    CHECK_CMP_INT(m.lo, >=, 2);
    CHECK_CMP_INT(m.hi, <=, 3);
    CHECK_CMP_INT(s.peak_workers, <=, 3);
    CHECK_CMP_UINT(s.scale_ups, >, 0);
    CHECK_CMP_UINT(s.scale_downs, >, 0);
    CHECK_CMP_UINT(s.scale_ups, ==, s.scale_downs);
    wpt_note("%ld samples in [%d, %d]; %llu scale-ups, %llu scale-downs", m.samples, m.lo, m.hi,
             (unsigned long long)s.scale_ups, (unsigned long long)s.scale_downs);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, (uint64_t)rounds * 48);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

static void test_manual_and_idle_retirement_together_stop_at_min(void) {
    /* wp_pool_scale(-2) while idle timeouts also retire workers: the two
       kinds of retirement race, and together they still stop at min */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 2, 4);
    cfg.scaling.idle_timeout = WP_US(500);
    cfg.scaling.down_cooldown = 1;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    monitor m;
    monitor_start(&m, pool);
    ticker tk;
    ticker_start(&tk, &fc, WP_US(100), WP_US(20));
    const int rounds = (int)wpt_scaled(200, 20);
    int low = INT_MAX;
    for (int r = 0; r < rounds; r++) {
        CHECK_STATUS(wp_pool_scale(pool, 2), WP_OK);
        wpt_sleep_ns(WP_US(50) * (r % 8));
        CHECK_STATUS(wp_pool_scale(pool, -2), WP_OK);
        int n = live_workers(pool);
        if (n < low)
            low = n;
        if (!wait_workers(pool, 2, SOON_MS)) {
            CHECK_EQ_INT(live_workers(pool), 2);
            break;
        }
    }
    CHECK_STAYS(pool, 2);
    ticker_stop(&tk);
    monitor_stop(&m);
    CHECK_CMP_INT(low, >=, 2);
    CHECK_CMP_INT(m.lo, >=, 2);
    CHECK_CMP_INT(m.hi, <=, 4);
    settle(pool, 2);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, s.scale_downs);
    CHECK_CMP_INT(s.peak_workers, <=, 4);
    /* the two left still run jobs */
    REQUIRE(load_round(pool, 2, 10));
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Stress: submitters while workers come and go                              */

enum { PRODUCERS = 4, BURST = 64 };

typedef struct producer {
    wp_pool *pool;
    atomic_int *slots;       /* one per job this producer offers */
    unsigned char *accepted; /* whether each was accepted */
    int rounds;
    int index;
    long offered, ok, timed_out, other;
    wpt_thread thread;
} producer;

static void producer_main(void *p) {
    producer *pr = p;
    int n = 0;
    for (int r = 0; r < pr->rounds; r++) {
        for (int i = 0; i < BURST; i++, n++) {
            wp_job job = { .fn = slot_job, .arg = &pr->slots[n], .id = (uint64_t)n };
            if (pr->index == PRODUCERS - 1) { /* one producer gives up quickly */
                job.backpressure = WP_TIMEOUT;
                job.submit_timeout = WP_US(100);
            }
            wp_status s = wp_submit_job(pr->pool, &job);
            pr->offered++;
            pr->accepted[n] = s == WP_OK;
            if (s == WP_OK)
                pr->ok++;
            else if (s == WP_TIMED_OUT)
                pr->timed_out++;
            else
                pr->other++;
        }
        /* a pause long enough (in fake time) for idle workers to retire */
        wpt_sleep_ns(WP_US(200) + WP_US(300) * ((r + pr->index) % 4));
    }
}

static void test_concurrent_submitters_during_scale_down_lose_nothing(void) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 4);
    wp_config cfg = {
        .scaling.min_workers = 1, .max_workers = 4, .queue_capacity = 64,
        .scaling.up_threshold = 2, .scaling.up_cooldown = WP_MS(1),
        .scaling.idle_timeout = WP_MS(2), .scaling.down_cooldown = WP_MS(1),
        .clock = fake_now, .clock_user = &fc,
    };
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    ticker tk;
    ticker_start(&tk, &fc, WP_MS(1), WP_US(100));
    monitor m;
    monitor_start(&m, pool);
    const int rounds = (int)wpt_scaled(300, 20);
    const size_t per = (size_t)rounds * BURST;
    producer prod[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i] = (producer){ .pool = pool, .rounds = rounds, .index = i };
        prod[i].slots = new_slots(per);
        prod[i].accepted = calloc(per, 1);
        REQUIRE(prod[i].slots && prod[i].accepted);
    }
    for (int i = 0; i < PRODUCERS; i++)
        prod[i].thread = wpt_thread_start(producer_main, &prod[i]);
    for (int i = 0; i < PRODUCERS; i++)
        wpt_thread_join(prod[i].thread);
    /* let the pool go idle and shrink while the clock still runs */
    CHECK_EVENTUALLY(pool_stats(pool).completed == pool_stats(pool).submitted, 10000);
    /* back at min, so every worker added has left again (compared before
       the close: a late scale-up may still come and go) */
    wp_stats before = settle_at(pool, 1, 1);
    CHECK_EQ_UINT(before.scale_ups, before.scale_downs);
    monitor_stop(&m);
    ticker_stop(&tk);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    wp_stats s = pool_stats(pool);
    long ok = 0, timed_out = 0, other = 0, wrong = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        ok += prod[i].ok;
        timed_out += prod[i].timed_out;
        other += prod[i].other;
        for (size_t j = 0; j < per; j++)
            wrong += atomic_load(&prod[i].slots[j]) != (prod[i].accepted[j] ? 1 : 0);
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(other, 0);
    CHECK_EQ_UINT(s.submitted, (uint64_t)ok);
    CHECK_EQ_UINT(s.completed, (uint64_t)ok);
    CHECK_EQ_UINT(s.timed_out, (uint64_t)timed_out);
    CHECK_EQ_UINT(s.failed + s.canceled + s.rejected + s.dropped + s.refused_closed, 0);
    CHECK_STATS_BALANCE(s);
    CHECK_CMP_INT(m.lo, >=, 1);
    CHECK_CMP_INT(m.hi, <=, 4);
    CHECK_CMP_INT(s.peak_workers, <=, 4);
    CHECK_CMP_UINT(s.scale_ups, >, 0);
    CHECK_CMP_UINT(s.scale_downs, >, 0);
    wpt_note("%ld accepted, %ld timed out; %llu scale-ups, %llu scale-downs, workers in [%d, %d] over %ld samples",
             ok, timed_out, (unsigned long long)s.scale_ups, (unsigned long long)s.scale_downs,
             m.lo, m.hi, m.samples);
    wp_pool_destroy(pool);
    CHECK_EQ_INT(atomic_load(&h.starts), atomic_load(&h.stops));
    CHECK_EQ_INT((uint64_t)atomic_load(&h.starts), 1 + s.scale_ups);
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        free(prod[i].slots);
        free(prod[i].accepted);
    }
}

/* ------------------------------------------------------------------------ */
/* wp_pool_scale                                                             */

static void test_scale_adds_and_retires_workers(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    cfg.scaling.up_cooldown = WP_SEC(100000);
    cfg.scaling.idle_timeout = WP_SEC(100000);
    cfg.scaling.down_cooldown = WP_SEC(100000);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    /* two at once, ignoring the cooldown; started before it returns */
    CHECK_STATUS(wp_pool_scale(pool, 2), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 3);
    CHECK_EQ_UINT(s.scale_ups, 2);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 4);
    CHECK_EQ_INT(pool_stats(pool).peak_workers, 4);
    /* three busy, one idle: -2 retires the idle one now, a busy one once its
       job ends, without interrupting it */
    gate g;
    gate_init(&g, false);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 3, SOON_MS));
    CHECK_STATUS(wp_pool_scale(pool, -2), WP_OK);
    CHECK(wait_workers(pool, 3, SOON_MS));
    CHECK_STAYS(pool, 3);
    CHECK_EQ_INT(atomic_load(&g.finished), 0);
    CHECK_EQ_INT(pool_stats(pool).active, 3);
    gate_open(&g);
    CHECK(wait_workers(pool, 2, SOON_MS));
    CHECK_SOON_EQ(atomic_load(&g.finished), 3);
    CHECK_SOON_EQ(pool_stats(pool).completed, 3);
    CHECK_STAYS(pool, 2);
    /* never below min */
    CHECK_STATUS(wp_pool_scale(pool, -2), WP_OK);
    CHECK(wait_workers(pool, 1, SOON_MS));
    CHECK_STAYS(pool, 1);
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 3);
    CHECK_EQ_UINT(s.scale_downs, 3);
    /* the one left runs jobs */
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 20; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 20);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_scale_clamps_to_the_bounds(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 2, 3);
    cfg.scaling.idle_timeout = WP_SEC(100000);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, 0), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 2);
    CHECK_STATUS(wp_pool_scale(pool, 10), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 3);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK); /* at max: nothing to do */
    CHECK_STAYS(pool, 3);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    CHECK_STATUS(wp_pool_scale(pool, -10), WP_OK);
    CHECK(wait_workers(pool, 2, SOON_MS));
    CHECK_STATUS(wp_pool_scale(pool, -1), WP_OK); /* at min */
    CHECK_STAYS(pool, 2);
    CHECK_STATUS(wp_pool_scale(pool, INT_MAX), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 3);
    CHECK_STATUS(wp_pool_scale(pool, INT_MIN), WP_OK);
    CHECK(wait_workers(pool, 2, SOON_MS));
    CHECK_STAYS(pool, 2);
    settle(pool, 2);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 2);
    CHECK_EQ_UINT(s.scale_downs, 2);
    CHECK_EQ_INT(s.peak_workers, 3);
    wp_pool_destroy(pool);

    /* a fixed pool: every delta clamps to nothing */
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2 }, &pool), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, -1), WP_OK);
    CHECK_STAYS(pool, 2);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups + s.scale_downs, 0);
    wp_pool_destroy(pool);

    CHECK_STATUS(wp_pool_scale(NULL, 1), WP_INVALID);
    CHECK_STATUS(wp_pool_resize(NULL, 1, 2), WP_INVALID);
}

/* ------------------------------------------------------------------------ */
/* wp_pool_resize                                                            */

static void test_resize_grows_min_at_once(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_resize(pool, 3, 4), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 3);
    CHECK_EQ_INT(s.min_workers, 3);
    CHECK_EQ_INT(s.max_workers, 4);
    /* the new min holds against idle timeouts */
    for (int i = 0; i < 3; i++) {
        fc_advance(&fc, STEP * 10);
        CHECK_STAYS(pool, 3);
    }
    REQUIRE(load_round(pool, 3, 30));
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_resize_shrinks_max_without_interrupting_jobs(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    cfg.scaling.idle_timeout = WP_SEC(100000);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, 3), WP_OK);
    REQUIRE_EQ_INT(live_workers(pool), 4);
    /* three busy, one idle; max 1: the idle one leaves now, two busy ones
       after their jobs, which run to the end */
    gate g;
    gate_init(&g, true);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 3, SOON_MS));
    CHECK_STATUS(wp_pool_resize(pool, 1, 1), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, 1);
    CHECK_EQ_INT(s.max_workers, 1);
    CHECK(wait_workers(pool, 3, SOON_MS));
    CHECK_STAYS(pool, 3);
    /* jobs queued meanwhile wait for a worker, and are not lost */
    for (int i = 0; i < 10; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_INT(atomic_load(&g.finished), 0);
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 0);
    gate_open(&g);
    CHECK(wait_workers(pool, 1, SOON_MS));
    CHECK_EVENTUALLY(atomic_load(&ran) == 10, SOON_MS);
    CHECK_SOON_EQ(atomic_load(&g.finished), 3);
    CHECK_EQ_INT(atomic_load(&g.saw_stop), 0);
    CHECK_STAYS(pool, 1);
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_downs, 3);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 13);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

static void test_resize_rejects_invalid_bounds(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    static const int bad[][2] = {
        { 0, 4 }, { -1, 4 }, { 0, 0 }, { 3, 2 }, { 1, 0 }, { 1, 5 }, { 5, 5 },
        { 1, -1 }, { 1, WP_MAX_WORKERS + 1 }, { INT_MIN, INT_MAX }, { 2, INT_MAX },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wp_status st = wp_pool_resize(pool, bad[i][0], bad[i][1]);
        if (st != WP_INVALID)
            wpt_note("resize(%d, %d) accepted", bad[i][0], bad[i][1]);
        CHECK_STATUS(st, WP_INVALID);
    }
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, 1);
    CHECK_EQ_INT(s.max_workers, 4);
    CHECK_EQ_INT(s.workers, 1);
    /* the creation max is the limit, and allowed */
    CHECK_STATUS(wp_pool_resize(pool, 4, 4), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 4);
    CHECK_STATUS(wp_pool_resize(pool, 1, 4), WP_OK);
    wp_pool_destroy(pool);
}

static void test_resize_fixed_to_scaling_to_fixed(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 2, 4);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    /* fixed at 2: no scaling either way */
    CHECK_STATUS(wp_pool_resize(pool, 2, 2), WP_OK);
    fc_advance(&fc, STEP);
    REQUIRE(load_round(pool, 2, 50));
    fc_advance(&fc, STEP * 10);
    CHECK_STAYS(pool, 2);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 0);
    /* scaling 1..4: grows under load (the cooldown has long passed) */
    CHECK_STATUS(wp_pool_resize(pool, 1, 4), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 2); /* nothing to retire right away */
    REQUIRE(load_round(pool, 2, 50));
    CHECK_STAYS(pool, 3);
    settle(pool, 2);
    CHECK_EQ_UINT(pool_stats(pool).scale_ups, 1);
    /* ... and shrinks when idle */
    for (int left = 2; left >= 1; left--) {
        fc_advance(&fc, STEP);
        CHECK(wait_workers(pool, left, SOON_MS));
    }
    settle(pool, 2);
    CHECK_EQ_UINT(pool_stats(pool).scale_downs, 2);
    /* fixed at 3: starts two at once, then holds */
    CHECK_STATUS(wp_pool_resize(pool, 3, 3), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 3);
    fc_advance(&fc, STEP);
    REQUIRE(load_round(pool, 3, 50));
    fc_advance(&fc, STEP * 10);
    CHECK_STAYS(pool, 3);
    settle(pool, 2);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, 3);
    CHECK_EQ_INT(s.max_workers, 3);
    CHECK_EQ_UINT(s.scale_ups, 3);
    CHECK_EQ_UINT(s.scale_downs, 2);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_scale_and_resize_after_close_are_closed(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_CLOSED);
    CHECK_STATUS(wp_pool_scale(pool, -1), WP_CLOSED);
    CHECK_STATUS(wp_pool_resize(pool, 2, 3), WP_CLOSED);
    CHECK_EQ_INT(live_workers(pool), 0);
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
}

/* ------------------------------------------------------------------------ */
/* Presets                                                                   */

static void test_presets_have_documented_values(void) {
    int cpus = online_cpus();
    wp_config d = wp_config_default();
    CHECK(d.name == NULL);
    CHECK_EQ_INT(d.scaling.min_workers, 0);
    CHECK_EQ_INT(d.max_workers, 0);
    CHECK_EQ_UINT(d.queue_capacity, 0);
    CHECK_EQ_INT(d.backpressure, 0);
    CHECK_EQ_INT(d.submit_timeout, 0);
    CHECK_EQ_UINT(d.result_capacity, 0);
    CHECK(d.allocator.alloc == NULL && d.allocator.free == NULL);
    CHECK(d.hooks.thread_start == NULL && d.hooks.thread_stop == NULL);
    CHECK_EQ_UINT(d.scaling.up_threshold, 0);
    CHECK_EQ_INT(d.scaling.up_cooldown, 0);
    CHECK_EQ_INT(d.scaling.idle_timeout, 0);
    CHECK_EQ_INT(d.scaling.down_cooldown, 0);
    CHECK(d.clock == NULL);

    wp_config t = wp_config_high_throughput();
    CHECK_EQ_UINT(t.queue_capacity, 16384);
    CHECK(t.max_workers == 0 || t.max_workers == cpus);
    CHECK(t.scaling.min_workers == 0 || t.scaling.min_workers == t.max_workers);
    CHECK_EQ_UINT(t.result_capacity, 0);
    CHECK(t.clock == NULL);

    wp_config l = wp_config_low_resource();
    CHECK_EQ_INT(l.scaling.min_workers, 1);
    CHECK(l.max_workers == 0 || l.max_workers == cpus);
    CHECK_EQ_UINT(l.queue_capacity, 256);
    CHECK_EQ_UINT(l.scaling.up_threshold, 16);
    CHECK_EQ_INT(l.scaling.up_cooldown, WP_MS(50));
    CHECK_EQ_INT(l.scaling.idle_timeout, WP_SEC(2));
    CHECK_EQ_INT(l.scaling.down_cooldown, WP_MS(500));
    CHECK_EQ_UINT(l.result_capacity, 0);
    CHECK(l.clock == NULL);
}

static void check_preset_pool(wp_config cfg, int workers, int min, int max, size_t capacity) {
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, workers);
    CHECK_EQ_INT(s.min_workers, min);
    CHECK_EQ_INT(s.max_workers, max);
    CHECK_EQ_UINT(s.queue_capacity, capacity);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 1000);
    s = pool_stats(pool);
    CHECK_CMP_INT(s.peak_workers, <=, max);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

static void test_presets_create_working_pools(void) {
    int cpus = online_cpus();
    check_preset_pool(wp_config_default(), cpus, cpus, cpus, 1024);
    check_preset_pool(wp_config_high_throughput(), cpus, cpus, cpus, 16384);
    check_preset_pool(wp_config_low_resource(), 1, 1, cpus, 256);
}

/* ------------------------------------------------------------------------ */
/* Thread-creation failures                                                  */

typedef struct counting_allocator {
    pthread_mutex_t lock;
    long allocs, frees;
} counting_allocator;

static void *ca_alloc(size_t size, void *user) {
    counting_allocator *ca = user;
    pthread_mutex_lock(&ca->lock);
    ca->allocs++;
    pthread_mutex_unlock(&ca->lock);
    return malloc(size);
}

static void ca_free(void *p, void *user) {
    counting_allocator *ca = user;
    if (!p)
        return;
    pthread_mutex_lock(&ca->lock);
    ca->frees++;
    pthread_mutex_unlock(&ca->lock);
    free(p);
}

static void check_create_fails_cleanly(int min, int max, int fail) {
    counting_allocator ca = { .allocs = 0, .frees = 0 };
    pthread_mutex_init(&ca.lock, NULL);
    slot_hooks h;
    slot_hooks_init(&h, max);
    wp_config cfg = { .scaling.min_workers = min, .max_workers = max,
                      .allocator = { .alloc = ca_alloc, .free = ca_free, .user = &ca } };
    with_slot_hooks(&cfg, &h);
    static int dummy;
    wp_pool *pool = (wp_pool *)(void *)&dummy;
    wp__test_fail_thread_starts(fail);
    wp_status st = wp_pool_create(&cfg, &pool);
    wp__test_fail_thread_starts(0);
    CHECK_STATUS(st, WP_THREAD_FAILED);
    CHECK(pool == NULL);
    if (st == WP_OK && pool)
        wp_pool_destroy(pool);
    CHECK_CMP_INT(ca.allocs, >, 0);
    CHECK_EQ_INT(ca.frees, ca.allocs);
    CHECK_EQ_INT(atomic_load(&h.starts), atomic_load(&h.stops));
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
    pthread_mutex_destroy(&ca.lock);
}

static void test_create_fails_cleanly_when_min_cannot_start(void) {
    check_create_fails_cleanly(2, 4, 1);    /* scaling: the first of min fails */
    check_create_fails_cleanly(2, 4, 100);  /* every start fails */
    check_create_fails_cleanly(3, 3, 1);    /* fixed */
    check_create_fails_cleanly(1, 1, 1);
    /* with the failures used up, the same configs work */
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .scaling.min_workers = 2, .max_workers = 4 }, &pool), WP_OK);
    CHECK_EQ_INT(live_workers(pool), 2);
    wp_pool_destroy(pool);
}

static void test_failed_scale_up_keeps_running_and_retries_after_cooldown(void) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 3);
    wp_config cfg = scaling_config(&fc, 1, 3);
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp__test_fail_thread_starts(1);
    REQUIRE(load_round(pool, 1, 50)); /* every job still ran, on one worker */
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.spawn_failures, 1);
    CHECK_EQ_UINT(s.scale_ups, 0);
    CHECK_EQ_INT(s.workers, 1);
    CHECK_EQ_INT(s.peak_workers, 1);
    /* no retry within the cooldown */
    REQUIRE(load_round(pool, 1, 50));
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.spawn_failures, 1);
    CHECK_EQ_UINT(s.scale_ups, 0);
    CHECK_EQ_INT(s.workers, 1);
    /* after the cooldown the retry succeeds */
    fc_advance(&fc, UP_COOLDOWN + 1);
    REQUIRE(load_round(pool, 1, 50));
    settle(pool, 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.spawn_failures, 1);
    CHECK_EQ_UINT(s.scale_ups, 1);
    CHECK_EQ_INT(s.workers, 2);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_up_ns, fc_offset(&fc));
    wp__test_fail_thread_starts(0);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.completed, 153);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
    CHECK_EQ_INT(atomic_load(&h.starts), 2);
    CHECK_EQ_INT(atomic_load(&h.stops), 2);
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
}

static void test_failed_submitter_scale_up_still_accepts_the_job(void) {
    /* the submitter's spawn fails: the pool keeps its one worker, and the
       submission waits for room as usual */
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 2);
    cfg.queue_capacity = 4;
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    atomic_int ran;
    atomic_init(&ran, 0);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, SOON_MS));
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    wp__test_fail_thread_starts(1);
    gate_opener opener;
    gate_open_later(&opener, &g, 50);
    wp_job job = { .fn = count_job, .arg = &ran, .backpressure = WP_TIMEOUT, .submit_timeout = WP_SEC(10) };
    CHECK_STATUS(wp_submit_job(pool, &job), WP_OK);
    wpt_thread_join(opener.thread);
    wp__test_fail_thread_starts(0);
    CHECK_EVENTUALLY(atomic_load(&ran) == 5, SOON_MS);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.spawn_failures, 1);
    CHECK_EQ_INT(s.peak_workers, 1);
    CHECK_EQ_INT(s.workers, 1);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

static void test_manual_scale_reports_thread_failure(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 4);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp__test_fail_thread_starts(1);
    wp_status st = wp_pool_scale(pool, 1);
    wp__test_fail_thread_starts(0);
    CHECK_STATUS(st, WP_THREAD_FAILED);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.workers, 1);
    CHECK_EQ_UINT(s.spawn_failures, 1);
    CHECK_EQ_UINT(s.scale_ups, 0);
    /* resize: the bounds are set even though the new min could not start */
    wp__test_fail_thread_starts(100);
    st = wp_pool_resize(pool, 3, 4);
    wp__test_fail_thread_starts(0);
    CHECK_STATUS(st, WP_THREAD_FAILED);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.min_workers, 3);
    CHECK_EQ_INT(s.max_workers, 4);
    CHECK_CMP_INT(s.workers, >=, 1);
    CHECK_CMP_UINT(s.spawn_failures, >=, 2);
    /* the pool still works, and manual scaling works again */
    CHECK_STATUS(wp_pool_scale(pool, 1), WP_OK);
    CHECK_CMP_INT(live_workers(pool), >=, 2);
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 100; i++)
        CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    CHECK_EQ_INT(atomic_load(&ran), 100);
    CHECK_STATS_BALANCE(pool_stats(pool));
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Stats and hooks                                                           */

static void test_stats_scale_times_and_uptime_follow_the_clock(void) {
    fake_clock fc;
    fc_init(&fc);
    wp_config cfg = scaling_config(&fc, 1, 3);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(s.last_scale_up_ns, -1);
    CHECK_EQ_INT(s.last_scale_down_ns, -1);
    CHECK_EQ_INT(s.uptime_ns, 0);
    fc_advance(&fc, 12345);
    CHECK_EQ_INT(pool_stats(pool).uptime_ns, 12345);
    /* an automatic scale-up at a known time */
    fc_advance(&fc, WP_MS(7));
    int64_t up_at = fc_offset(&fc);
    REQUIRE(load_round(pool, 1, 20));
    settle(pool, 1);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_up_ns, up_at);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 1);
    CHECK_EQ_INT(s.last_scale_down_ns, -1);
    CHECK_EQ_INT(s.uptime_ns, up_at);
    /* an automatic scale-down at a known time */
    fc_advance(&fc, STEP);
    int64_t down_at = fc_offset(&fc);
    REQUIRE(wait_workers(pool, 1, SOON_MS));
    settle(pool, 1);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_down_ns, down_at);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_downs, 1);
    CHECK_EQ_INT(s.last_scale_up_ns, up_at);
    CHECK_EQ_INT(s.uptime_ns, down_at);
    /* manual scaling is timed too */
    fc_advance(&fc, WP_MS(3));
    CHECK_STATUS(wp_pool_scale(pool, 2), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_ups, 3);
    CHECK_EQ_INT(s.last_scale_up_ns, fc_offset(&fc));
    CHECK_EQ_INT(s.peak_workers, 3);
    fc_advance(&fc, WP_MS(4));
    CHECK_STATUS(wp_pool_scale(pool, -1), WP_OK);
    REQUIRE(wait_workers(pool, 2, SOON_MS));
    settle(pool, 1);
    CHECK_SOON_EQ(pool_stats(pool).last_scale_down_ns, fc_offset(&fc));
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.scale_downs, 2);
    CHECK_EQ_UINT(s.spawn_failures, 0);
    CHECK_EQ_INT(s.min_workers, 1);
    CHECK_EQ_INT(s.max_workers, 3);
    wp_pool_destroy(pool);
}

static void test_thread_hooks_run_for_every_started_and_retired_worker(void) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 3);
    wp_config cfg = scaling_config(&fc, 1, 3);
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    for (int round = 0; round < 5; round++) {
        CHECK_STATUS(wp_pool_scale(pool, 2), WP_OK);
        CHECK_EVENTUALLY(atomic_load(&h.starts) == 1 + 2 * (round + 1), SOON_MS);
        if (round % 2 == 0) {
            CHECK_STATUS(wp_pool_scale(pool, -2), WP_OK);
        } else {
            for (int left = 2; left >= 1; left--) {
                fc_advance(&fc, STEP);
                CHECK(wait_workers(pool, left, SOON_MS));
            }
        }
        CHECK_EVENTUALLY(atomic_load(&h.stops) == 2 * (round + 1), SOON_MS);
        CHECK(wait_workers(pool, 1, SOON_MS));
    }
    CHECK_STATUS(wp_pool_close(pool, WP_DRAIN, WP_FOREVER), WP_OK);
    /* destroy joins every thread: every stop hook has run */
    CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    CHECK_EQ_INT(atomic_load(&h.starts), 11);
    CHECK_EQ_INT(atomic_load(&h.stops), 11);
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
    /* only three slots, so indexes were reused */
    int used = 0;
    for (int i = 0; i < 3; i++)
        used += atomic_load(&h.used[i]);
    CHECK_EQ_INT(used, 11);
}

/* ------------------------------------------------------------------------ */
/* Closing while workers retire                                              */

static void check_close_during_retirement(wp_close_mode mode, bool destroy_only) {
    fake_clock fc;
    fc_init(&fc);
    slot_hooks h;
    slot_hooks_init(&h, 4);
    wp_config cfg = scaling_config(&fc, 1, 4);
    cfg.scaling.idle_timeout = WP_MS(1);
    cfg.scaling.down_cooldown = WP_MS(1);
    with_slot_hooks(&cfg, &h);
    wp_pool *pool = NULL;
    REQUIRE_STATUS(wp_pool_create(&cfg, &pool), WP_OK);
    CHECK_STATUS(wp_pool_scale(pool, 3), WP_OK);
    REQUIRE_EQ_INT(live_workers(pool), 4);
    /* two busy, two idle; queued work behind them */
    gate g;
    gate_init(&g, true);
    atomic_int ran;
    atomic_init(&ran, 0);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    CHECK_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 2, SOON_MS));
    /* retirements pending and idle timeouts running out */
    ticker tk;
    ticker_start(&tk, &fc, WP_MS(1), WP_US(50));
    CHECK_STATUS(wp_pool_scale(pool, -3), WP_OK);
    const int n = 200;
    int accepted = 0;
    for (int i = 0; i < n; i++)
        accepted += wp_submit(pool, count_job, &ran) == WP_OK;
    CHECK_EQ_INT(accepted, n);
    if (mode == WP_DRAIN)
        gate_open(&g);
    if (destroy_only) {
        CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
        ticker_stop(&tk);
        CHECK_EQ_INT(atomic_load(&ran), n);
        CHECK_EQ_INT(atomic_load(&g.finished), 2);
    } else {
        CHECK_STATUS(wp_pool_close(pool, mode, WP_SEC(30)), WP_OK);
        ticker_stop(&tk);
        wp_stats s = pool_stats(pool);
        CHECK_EQ_INT(s.workers, 0);
        CHECK_EQ_UINT(s.submitted, (uint64_t)n + 2);
        CHECK_STATS_BALANCE(s);
        CHECK_EQ_INT(atomic_load(&g.finished), 2);
        CHECK_EQ_UINT(s.completed, (uint64_t)atomic_load(&ran) + 2);
        if (mode == WP_DRAIN) {
            CHECK_EQ_INT(atomic_load(&ran), n);
            CHECK_EQ_UINT(s.canceled, 0);
        } else {
            CHECK_EQ_INT(atomic_load(&g.saw_stop), 2);
            CHECK_EQ_UINT(s.canceled, (uint64_t)(n - atomic_load(&ran)));
        }
        CHECK_STATUS(wp_pool_destroy(pool), WP_OK);
    }
    CHECK_EQ_INT(atomic_load(&h.starts), atomic_load(&h.stops));
    CHECK_EQ_INT(atomic_load(&h.bad), 0);
}

static void test_close_drain_while_workers_retire(void) { check_close_during_retirement(WP_DRAIN, false); }
static void test_close_cancel_while_workers_retire(void) { check_close_during_retirement(WP_CANCEL, false); }
static void test_destroy_while_workers_retire(void) { check_close_during_retirement(WP_DRAIN, true); }

static const wpt_test tests[] = {
    WPT_TEST(test_scaling_pool_starts_min_workers),
    WPT_TEST(test_fixed_pool_never_scales_up_or_down),
    WPT_TEST(test_no_scale_up_during_the_cooldown),
    WPT_TEST(test_full_queue_scales_up_from_the_submitter),
    WPT_TEST(test_zero_scaling_fields_mean_documented_defaults),
    WPT_TEST(test_default_threshold_is_clamped_below_queue_capacity),
    WPT_TEST(test_idle_timeout_retires_exactly_the_surplus),
    WPT_TEST(test_burst_scales_to_max_and_back_to_min),
    WPT_TEST(test_worker_count_stays_within_bounds),
    WPT_TEST(test_manual_and_idle_retirement_together_stop_at_min),
    WPT_TEST(test_concurrent_submitters_during_scale_down_lose_nothing),
    WPT_TEST(test_scale_adds_and_retires_workers),
    WPT_TEST(test_scale_clamps_to_the_bounds),
    WPT_TEST(test_resize_grows_min_at_once),
    WPT_TEST(test_resize_shrinks_max_without_interrupting_jobs),
    WPT_TEST(test_resize_rejects_invalid_bounds),
    WPT_TEST(test_resize_fixed_to_scaling_to_fixed),
    WPT_TEST(test_scale_and_resize_after_close_are_closed),
    WPT_TEST(test_presets_have_documented_values),
    WPT_TEST(test_presets_create_working_pools),
    WPT_TEST(test_create_fails_cleanly_when_min_cannot_start),
    WPT_TEST(test_failed_scale_up_keeps_running_and_retries_after_cooldown),
    WPT_TEST(test_failed_submitter_scale_up_still_accepts_the_job),
    WPT_TEST(test_manual_scale_reports_thread_failure),
    WPT_TEST(test_stats_scale_times_and_uptime_follow_the_clock),
    WPT_TEST(test_thread_hooks_run_for_every_started_and_retired_worker),
    WPT_TEST(test_close_drain_while_workers_retire),
    WPT_TEST(test_close_cancel_while_workers_retire),
    WPT_TEST(test_destroy_while_workers_retire),
};

WPT_MAIN(tests)
