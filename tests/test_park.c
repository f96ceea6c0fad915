/* The parking layer on its own: the event count (wp__waitset) over the
   platform's address wait (futex, WaitOnAddress) or the mutex + condition
   variable fallback (WP_PARK_CONDVAR), whichever this build took. Timed
   waits end at their deadline and sleep while they wait (a wrong timeout
   layout for the system call, as on a 32-bit target with a 64-bit time_t,
   shows up as a wait that returns at once and spins); a notify wakes one or
   every sleeper; a wait set never loses a wake-up between two threads that
   park at every turn; errno is left as it was. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"

static const char *backend_name(void) {
#if defined(WP__PARK_FUTEX)
    return "futex";
#elif defined(WP__PARK_WAITONADDRESS)
    return "WaitOnAddress";
#elif defined(WP__PARK_ULOCK)
    return "__ulock";
#else
    return "mutex + condition variable";
#endif
}

/* CPU time of the calling thread, or -1 where there is no such clock. */
static int64_t thread_cpu_ns(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        return (int64_t)ts.tv_sec * INT64_C(1000000000) + (int64_t)ts.tv_nsec;
#endif
    return -1;
}

static void test_park_notify_without_waiters_moves_nothing(void) {
    wp__waitset ws;
    REQUIRE_EQ_INT(wp__ws_init(&ws), 0);
    wpt_note("parking on: %s", backend_name());
    for (int i = 0; i < 1000; i++) {
        wp__ws_notify(&ws, false);
        wp__ws_notify(&ws, true);
    }
    CHECK_EQ_UINT(atomic_load(&ws.epoch), 0);
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 0);
    wp__ws_destroy(&ws);
}

/* A registered waiter sees a notify that came before it slept: the epoch
   moved, so the wait returns at once, woken. */
static void test_park_notify_between_prepare_and_wait_is_not_lost(void) {
    wp__waitset ws;
    REQUIRE_EQ_INT(wp__ws_init(&ws), 0);
    unsigned epoch = wp__ws_prepare(&ws);
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 1);
    wp__ws_notify(&ws, false);
    int64_t t0 = wpt_now_ns();
    CHECK(wp__ws_wait(&ws, epoch, WP_FOREVER));
    CHECK_CMP_INT(wpt_ms_since(t0), <, 1000);
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 0);
    CHECK_EQ_UINT(atomic_load(&ws.epoch), WP__WS_BUMP); /* one bump, no wake pending */
    /* A cancel unregisters too. */
    (void)wp__ws_prepare(&ws);
    wp__ws_cancel(&ws);
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 0);
    wp__ws_destroy(&ws);
}

/* A timed wait nobody notifies ends at its deadline, not before, not much
   after, and sleeps meanwhile: a timeout the kernel reads wrongly (a zero
   or invalid one) would return at once and spin in wp__ws_wait's loop. */
static void test_park_timed_wait_sleeps_until_its_deadline(void) {
    wp__waitset ws;
    REQUIRE_EQ_INT(wp__ws_init(&ws), 0);
    const int64_t wait = WP_MS(300);
    unsigned epoch = wp__ws_prepare(&ws);
    int64_t cpu0 = thread_cpu_ns();
    int64_t t0 = wp__now_ns();
    bool woken = wp__ws_wait(&ws, epoch, t0 + wait);
    int64_t took = wp__now_ns() - t0;
    int64_t cpu = cpu0 < 0 ? -1 : thread_cpu_ns() - cpu0;
    CHECK(!woken);
    CHECK_CMP_INT(took, >=, wait);
    CHECK_CMP_INT(took, <, wait + WP_SEC(5));
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 0);
    if (cpu >= 0)
        CHECK_CMP_INT(cpu, <, WP_MS(50)); /* a spinning wait burns most of 300 ms */
    wpt_note("a 300 ms timed wait took %.1f ms, %.2f ms of CPU", (double)took / 1e6,
             (double)cpu / 1e6);
    wp__ws_destroy(&ws);
}

/* Sub-millisecond and odd timeouts (rounded up to a whole ms on Windows)
   all end, none of them early. */
static void test_park_short_timed_waits_end_on_time(void) {
    wp__waitset ws;
    REQUIRE_EQ_INT(wp__ws_init(&ws), 0);
    const int64_t waits[] = { 1, 999, WP_US(1), WP_US(50), WP_US(999), WP_MS(1) + 1, WP_MS(3) };
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        unsigned epoch = wp__ws_prepare(&ws);
        int64_t t0 = wp__now_ns();
        CHECK(!wp__ws_wait(&ws, epoch, t0 + waits[i]));
        int64_t took = wp__now_ns() - t0;
        CHECK_CMP_INT(took, >=, waits[i]);
        CHECK_CMP_INT(took, <, waits[i] + WP_SEC(5));
    }
    /* A deadline already past returns at once, not woken. */
    unsigned epoch = wp__ws_prepare(&ws);
    CHECK(!wp__ws_wait(&ws, epoch, wp__now_ns() - 1));
    CHECK_EQ_UINT(atomic_load(&ws.waiters), 0);
    wp__ws_destroy(&ws);
}

/* Sleepers waiting for a flag through wp__ws_await, never spinning. */
typedef struct flag_wait {
    wp__waitset ws;
    atomic_int flag;
    atomic_int started, done;
    int64_t deadline;
    atomic_llong cpu_ns; /* summed over the sleepers */
} flag_wait;

static int attempt_flag(void *arg) {
    flag_wait *f = (flag_wait *)arg;
    return atomic_load_explicit(&f->flag, memory_order_acquire) ? WP__DONE : WP__AGAIN;
}

static bool never_yield(void *arg) {
    (void)arg;
    return false;
}

static void flag_sleeper(void *arg) {
    flag_wait *f = (flag_wait *)arg;
    int64_t cpu0 = thread_cpu_ns();
    atomic_fetch_add(&f->started, 1);
    int r = wp__ws_await_ex(&f->ws, f->deadline, attempt_flag, f, NULL, never_yield, 0);
    if (cpu0 >= 0)
        atomic_fetch_add(&f->cpu_ns, (long long)(thread_cpu_ns() - cpu0));
    if (r == WP__DONE)
        atomic_fetch_add(&f->done, 1);
}

static void flag_wait_init(flag_wait *f, int64_t deadline) {
    wp__ws_init(&f->ws);
    atomic_init(&f->flag, 0);
    atomic_init(&f->started, 0);
    atomic_init(&f->done, 0);
    atomic_init(&f->cpu_ns, 0);
    f->deadline = deadline;
}

/* One notify of one wakes a parked sleeper; it does not burn its core
   while parked, even with the far deadline of a long timeout. */
static void test_park_notify_one_wakes_a_parked_thread(void) {
    static flag_wait f;
    flag_wait_init(&f, wp__deadline(WP_SEC(3600 * 24 * 365)));
    wpt_thread t = wpt_thread_start(flag_sleeper, &f);
    REQUIRE_EVENTUALLY(atomic_load(&f.ws.waiters) == 1, 5000);
    wpt_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&f.done), 0);
    atomic_store_explicit(&f.flag, 1, memory_order_release);
    wp__ws_notify(&f.ws, false);
    CHECK_EVENTUALLY(atomic_load(&f.done) == 1, 5000);
    wpt_thread_join(t);
    CHECK_EQ_UINT(atomic_load(&f.ws.waiters), 0);
    CHECK_CMP_INT(atomic_load(&f.cpu_ns), <, WP_MS(50));
    wp__ws_destroy(&f.ws);
}

/* A notify of all wakes every parked sleeper. */
static void test_park_notify_all_wakes_every_parked_thread(void) {
    enum { N = 4 };
    static flag_wait f;
    flag_wait_init(&f, WP_FOREVER);
    wpt_thread t[N];
    for (int i = 0; i < N; i++)
        t[i] = wpt_thread_start(flag_sleeper, &f);
    REQUIRE_EVENTUALLY(atomic_load(&f.ws.waiters) == N, 5000);
    atomic_store_explicit(&f.flag, 1, memory_order_release);
    wp__ws_notify(&f.ws, true);
    CHECK_EVENTUALLY(atomic_load(&f.done) == N, 5000);
    for (int i = 0; i < N; i++)
        wpt_thread_join(t[i]);
    CHECK_EQ_UINT(atomic_load(&f.ws.waiters), 0);
    wp__ws_destroy(&f.ws);
}

/* Sleepers that each take one token and leave (as receivers of results
   do): every notify of one must reach a sleeper, also when it skipped its
   own wake because one was on its way (the pending bit): the woken sleeper
   passes the others on. A lost wake-up leaves a sleeper parked and fails
   the CHECK_EVENTUALLY. */
typedef struct tokens {
    wp__waitset ws;
    atomic_int tokens, done;
} tokens;

static int attempt_token(void *arg) {
    tokens *k = (tokens *)arg;
    int n = atomic_load(&k->tokens);
    while (n > 0)
        if (atomic_compare_exchange_weak(&k->tokens, &n, n - 1))
            return WP__DONE;
    return WP__AGAIN;
}

static void token_sleeper(void *arg) {
    tokens *k = (tokens *)arg;
    if (wp__ws_await_ex(&k->ws, WP_FOREVER, attempt_token, k, NULL, never_yield, 0) == WP__DONE)
        atomic_fetch_add(&k->done, 1);
}

static void test_park_each_notify_of_one_serves_a_sleeper(void) {
    enum { N = 4, ROUNDS = 100 };
    static tokens k;
    for (int round = 0; round < ROUNDS; round++) {
        REQUIRE_EQ_INT(wp__ws_init(&k.ws), 0);
        atomic_init(&k.tokens, 0);
        atomic_init(&k.done, 0);
        wpt_thread t[N];
        for (int i = 0; i < N; i++)
            t[i] = wpt_thread_start(token_sleeper, &k);
        /* Half the rounds notify while the sleepers still arrive. */
        if (round % 2 == 0)
            REQUIRE_EVENTUALLY(atomic_load(&k.ws.waiters) == N, 5000);
        for (int i = 0; i < N; i++) {
            atomic_fetch_add(&k.tokens, 1);
            wp__ws_notify(&k.ws, false);
        }
        CHECK_EVENTUALLY(atomic_load(&k.done) == N, 5000);
        if (atomic_load(&k.done) != N) { /* let the test end: serve the rest */
            atomic_fetch_add(&k.tokens, N);
            wp__ws_notify(&k.ws, true);
        }
        for (int i = 0; i < N; i++)
            wpt_thread_join(t[i]);
        CHECK_EQ_UINT(atomic_load(&k.ws.waiters), 0);
        wp__ws_destroy(&k.ws);
    }
}

/* Two threads hand a turn back and forth, each parking (no spin, no yield)
   until the turn is its own: every hand-over is a notify racing a thread on
   its way to sleep. A lost wake-up hangs the test (the watchdog fails it). */
typedef struct relay {
    wp__waitset ws[2];
    atomic_long turn; /* even: thread 0's turn; odd: thread 1's */
    long rounds;
} relay;

typedef struct relay_side {
    relay *r;
    int me;
} relay_side;

static int attempt_my_turn(void *arg) {
    relay_side *s = (relay_side *)arg;
    return (atomic_load_explicit(&s->r->turn, memory_order_acquire) & 1) == s->me ? WP__DONE
                                                                                   : WP__AGAIN;
}

static void relay_runner(void *arg) {
    relay_side *s = (relay_side *)arg;
    relay *r = s->r;
    for (long i = 0; i < r->rounds; i++) {
        wp__ws_await_ex(&r->ws[s->me], WP_FOREVER, attempt_my_turn, s, NULL, never_yield, 0);
        atomic_fetch_add_explicit(&r->turn, 1, memory_order_release);
        wp__ws_notify(&r->ws[!s->me], false);
    }
}

static void test_park_relay_loses_no_wakeup(void) {
    static relay r;
    wp__ws_init(&r.ws[0]);
    wp__ws_init(&r.ws[1]);
    atomic_init(&r.turn, 0);
    r.rounds = (long)wpt_scaled(20000, 500);
    relay_side a = { &r, 0 }, b = { &r, 1 };
    int64_t t0 = wpt_now_ns();
    wpt_thread ta = wpt_thread_start(relay_runner, &a);
    wpt_thread tb = wpt_thread_start(relay_runner, &b);
    wpt_thread_join(ta);
    wpt_thread_join(tb);
    CHECK_EQ_INT(atomic_load(&r.turn), 2 * r.rounds);
    CHECK_EQ_UINT(atomic_load(&r.ws[0].waiters), 0);
    CHECK_EQ_UINT(atomic_load(&r.ws[1].waiters), 0);
    wpt_note("%ld hand-overs in %lld ms", 2 * r.rounds, (long long)wpt_ms_since(t0));
    wp__ws_destroy(&r.ws[0]);
    wp__ws_destroy(&r.ws[1]);
}

/* Parking and waking leave errno as it was (the system calls set it on a
   timeout, a changed word or a signal). */
static void test_park_keeps_errno(void) {
    static flag_wait f;
    flag_wait_init(&f, WP_FOREVER);
    errno = 4242;
    unsigned epoch = wp__ws_prepare(&f.ws);
    CHECK(!wp__ws_wait(&f.ws, epoch, wp__deadline(WP_MS(5)))); /* times out */
    CHECK_EQ_INT(errno, 4242);
    epoch = wp__ws_prepare(&f.ws);
    wp__ws_notify(&f.ws, false);
    CHECK(wp__ws_wait(&f.ws, epoch, WP_FOREVER));
    CHECK_EQ_INT(errno, 4242);
    wpt_thread t = wpt_thread_start(flag_sleeper, &f);
    REQUIRE_EVENTUALLY(atomic_load(&f.ws.waiters) == 1, 5000);
    atomic_store_explicit(&f.flag, 1, memory_order_release);
    wp__ws_notify(&f.ws, true);
    CHECK_EQ_INT(errno, 4242);
    wpt_thread_join(t);
    wp__ws_destroy(&f.ws);
}

static const wpt_test tests[] = {
    WPT_TEST(test_park_notify_without_waiters_moves_nothing),
    WPT_TEST(test_park_notify_between_prepare_and_wait_is_not_lost),
    WPT_TEST(test_park_timed_wait_sleeps_until_its_deadline),
    WPT_TEST(test_park_short_timed_waits_end_on_time),
    WPT_TEST(test_park_notify_one_wakes_a_parked_thread),
    WPT_TEST(test_park_notify_all_wakes_every_parked_thread),
    WPT_TEST(test_park_each_notify_of_one_serves_a_sleeper),
    WPT_TEST(test_park_relay_loses_no_wakeup),
    WPT_TEST(test_park_keeps_errno),
};
WPT_MAIN(tests)
