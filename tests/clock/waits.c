/* Bounded waits under a shifted or jumping wall clock (run by
   tests/clock/faketime.sh under libfaketime).

   Each bounded wait of the public API is timed against a clock faketime
   cannot fake: the raw clock_gettime system call on CLOCK_MONOTONIC_RAW
   (libfaketime intercepts the libc functions, not the system call):
     submit    wp_submit_job with WP_TIMEOUT into a full queue -> WP_TIMED_OUT
     recv      wp_result_recv on an empty channel             -> WP_TIMED_OUT
     close     wp_pool_close(WP_DRAIN) with a job that never
               returns                                        -> WP_FORCED
     idle      wp_pool_wait_idle with a job that never
               returns                                        -> WP_TIMED_OUT
     job wait  wp_job_wait on the handle of a job queued
               behind one that never returns                  -> WP_TIMED_OUT
   Each must return its status after at least BOUND_MS (on the real clock,
   with a 1 ms allowance for clock granularity) and within BOUND_MS plus
   MARGIN_MS.

   Usage: waits [jump]
     With `jump`, a helper thread rewrites the file named by
     FAKETIME_TIMESTAMP_FILE in the middle of each wait (the script sets
     FAKETIME_NO_CACHE=1 so that libfaketime reads it on every call): the
     wall clock then jumps while the wait is under way, to each offset of
     WP_CLOCK_JUMPS in turn (a space-separated list, e.g. "+1h -10y").
   Usage: waits probe   (C11 backend builds)
     Checks whether this libfaketime translates the wall-clock deadline of
     C11's cnd_timedwait: it waits 20 ms by a TIME_UTC deadline and exits 0
     when that returns within a second of real time, 3 when it does not
     (libfaketime then fakes what the program reads but not what the kernel
     waits for, so every C11 slice under a forward offset sleeps for the
     offset: not something a real clock step can do).
   Prints one line per wait and `N passed, N failed`. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

#include <sys/syscall.h>
#if defined(WP_THREADS_C11)
#  include <threads.h>
#endif

enum { BOUND_MS = 200, MARGIN_MS = 300, JUMP_AFTER_MS = 60, WAIT_LIMIT_S = 20 };

/* CLOCK_MONOTONIC_RAW through the system call: never faked. */
static int64_t real_now_ns(void) {
    struct timespec ts;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + (int64_t)ts.tv_nsec;
}

static void real_sleep_ms(int ms) {
    int64_t until = real_now_ns() + (int64_t)ms * INT64_C(1000000);
    while (real_now_ns() < until) {
        struct timespec ts = { 0, 1000000 };
        syscall(SYS_nanosleep, &ts, NULL);
    }
}

/* --- the jumper: rewrites the timestamp file mid-wait ---------------------- */

static const char *jump_file;
static char jumps[8][32];
static int njumps, next_jump;

static void write_offset(const char *offset) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", jump_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%s\n", offset);
    fclose(f);
    rename(tmp, jump_file);
}

typedef struct jumper {
    const char *offset;
    wpt_thread thread;
} jumper;

static void jumper_main(void *p) {
    jumper *j = p;
    real_sleep_ms(JUMP_AFTER_MS);
    write_offset(j->offset);
}

static bool jumper_start(jumper *j) {
    if (!jump_file || njumps == 0)
        return false;
    j->offset = jumps[next_jump++ % njumps];
    j->thread = wpt_thread_start(jumper_main, j);
    return true;
}

/* --- a watchdog: a wait that never returns ends the program ---------------- */

static atomic_llong wait_deadline_ns;
static const char *volatile wait_name = "";
static int passed, failed;

static void watchdog_main(void *unused) {
    (void)unused;
    for (;;) {
        real_sleep_ms(200);
        long long d = atomic_load(&wait_deadline_ns);
        if (d != 0 && real_now_ns() > d) {
            printf("FAIL %s (no return after %d s of real time)\n", wait_name, WAIT_LIMIT_S);
            printf("%d passed, %d failed\n", passed, failed + 1);
            fflush(stdout);
            _exit(1);
        }
    }
}

/* --- the waits --------------------------------------------------------------- */

typedef struct pool_fixture {
    wp_pool *pool;
    gate g;
    wp_handle handle;
} pool_fixture;

typedef enum wait_kind { WAIT_SUBMIT, WAIT_RECV, WAIT_CLOSE, WAIT_IDLE, WAIT_JOB } wait_kind;

static const char *const wait_names[] = { "submit timeout", "recv timeout", "close timeout",
                                          "wait-idle timeout", "job-wait timeout" };

/* Sets up the pool so that the wait cannot end early. */
static bool prepare(pool_fixture *pf, wait_kind kind) {
    gate_init(&pf->g, false);
    wp_config cfg = { .max_workers = 1, .queue_capacity = 2, .result_capacity = 16 };
    if (wp_pool_create(&cfg, &pf->pool) != WP_OK)
        return false;
    if (kind == WAIT_RECV)
        return true;
    /* hold the worker; for submit, fill the queue too */
    if (wp_submit(pf->pool, gate_job, &pf->g) != WP_OK || !gate_wait_started(&pf->g, 1, 5000))
        return false;
    if (kind == WAIT_SUBMIT)
        return wp_submit(pf->pool, gate_job, &pf->g) == WP_OK && wp_submit(pf->pool, gate_job, &pf->g) == WP_OK;
    if (kind == WAIT_JOB) {
        /* a job queued behind the held one: it cannot finish during the wait */
        wp_job job = { .fn = gate_job, .arg = &pf->g, .handle = &pf->handle };
        return wp_submit_job(pf->pool, &job) == WP_OK;
    }
    return true;
}

static wp_status do_wait(pool_fixture *pf, wait_kind kind) {
    switch (kind) {
    case WAIT_SUBMIT: {
        wp_job job = { .fn = gate_job, .arg = &pf->g, .backpressure = WP_TIMEOUT, .submit_timeout = WP_MS(BOUND_MS) };
        return wp_submit_job(pf->pool, &job);
    }
    case WAIT_RECV: {
        wp_result r;
        return wp_result_recv(pf->pool, &r, WP_MS(BOUND_MS));
    }
    case WAIT_CLOSE:
        return wp_pool_close(pf->pool, WP_DRAIN, WP_MS(BOUND_MS));
    case WAIT_IDLE:
        return wp_pool_wait_idle(pf->pool, WP_MS(BOUND_MS));
    case WAIT_JOB: {
        wp_result r;
        return wp_job_wait(pf->pool, pf->handle, WP_MS(BOUND_MS), &r);
    }
    }
    return WP_INVALID;
}

static const wp_status expected[] = { WP_TIMED_OUT, WP_TIMED_OUT, WP_FORCED, WP_TIMED_OUT, WP_TIMED_OUT };

static void run_wait(wait_kind kind, bool jump) {
    pool_fixture pf;
    char name[128];
    jumper j = { 0 };
    if (!prepare(&pf, kind)) {
        printf("FAIL %s (setup failed)\n", wait_names[kind]);
        failed++;
        return;
    }
    bool jumping = jump && jumper_start(&j);
    snprintf(name, sizeof name, "%s%s%s", wait_names[kind], jumping ? ", wall clock jumps to " : "",
             jumping ? j.offset : "");
    wait_name = name;
    int64_t start = real_now_ns();
    atomic_store(&wait_deadline_ns, (long long)(start + WP_SEC(WAIT_LIMIT_S)));
    wp_status s = do_wait(&pf, kind);
    int64_t ms = (real_now_ns() - start) / INT64_C(1000000);
    atomic_store(&wait_deadline_ns, 0);
    if (jumping)
        wpt_thread_join(j.thread);
    gate_open(&pf.g);
    if (kind == WAIT_JOB && s == WP_TIMED_OUT) /* the handle stays valid: wait it out */
        wp_job_wait(pf.pool, pf.handle, WP_FOREVER, NULL);
    wp_pool_destroy(pf.pool);
    bool ok = s == expected[kind] && ms >= BOUND_MS - 1 && ms < BOUND_MS + MARGIN_MS;
    printf("%s %s: %s after %lld ms of real time (bound %d ms, margin %d ms)\n", ok ? "ok " : "FAIL", name,
           wp_status_str(s), (long long)ms, BOUND_MS, MARGIN_MS);
    if (ok)
        passed++;
    else
        failed++;
}

#if defined(WP_THREADS_C11)
static atomic_bool probe_done;

static void probe_main(void *unused) {
    (void)unused;
    mtx_t m;
    cnd_t c;
    mtx_init(&m, mtx_plain);
    cnd_init(&c);
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    mtx_lock(&m);
    cnd_timedwait(&c, &m, &ts);
    mtx_unlock(&m);
    atomic_store(&probe_done, true);
}

static int probe(void) {
    atomic_init(&probe_done, false);
    wpt_thread_start(probe_main, NULL);
    int64_t until = real_now_ns() + WP_SEC(1);
    while (!atomic_load(&probe_done) && real_now_ns() < until)
        real_sleep_ms(5);
    bool ok = atomic_load(&probe_done);
    printf("probe: a 20 ms cnd_timedwait %s\n",
           ok ? "returned in time" : "did not return within 1 s of real time");
    fflush(stdout);
    _exit(ok ? 0 : 3); /* the probe thread may still be asleep */
}
#else
static int probe(void) {
    printf("probe: not a C11 backend build\n");
    return 0;
}
#endif

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "probe") == 0)
        return probe();
    bool jump = argc > 1 && strcmp(argv[1], "jump") == 0;
    if (jump) {
        jump_file = getenv("FAKETIME_TIMESTAMP_FILE");
        const char *list = getenv("WP_CLOCK_JUMPS");
        if (!jump_file || !list) {
            printf("jump needs FAKETIME_TIMESTAMP_FILE and WP_CLOCK_JUMPS\n0 passed, 1 failed\n");
            return 1;
        }
        char copy[256];
        snprintf(copy, sizeof copy, "%s", list);
        for (char *tok = strtok(copy, " "); tok && njumps < 8; tok = strtok(NULL, " "))
            snprintf(jumps[njumps++], sizeof jumps[0], "%s", tok);
    }
    /* what the process sees, for the log: faked wall clock and monotonic */
    struct timespec wall, mono;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t mono_ns = (int64_t)mono.tv_sec * INT64_C(1000000000) + mono.tv_nsec;
    printf("wall clock reads %lld s since 1970; CLOCK_MONOTONIC %s the raw clock by %lld s\n",
           (long long)wall.tv_sec, mono_ns >= real_now_ns() ? "ahead of" : "behind",
           (long long)((mono_ns - real_now_ns()) / INT64_C(1000000000)));
    wpt_thread_start(watchdog_main, NULL);
    int rounds = jump ? njumps : 1;
    for (int round = 0; round < rounds; round++)
        for (int k = WAIT_SUBMIT; k <= WAIT_JOB; k++)
            run_wait((wait_kind)k, jump);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
