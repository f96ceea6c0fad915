/* autoscale.c - a pool that grows under bursts and shrinks back when quiet.
   `make examples` builds it (build/<cc>/examples/autoscale); it runs about
   seven seconds.

   The pool has 1 to 4 workers. Jobs sleep 2 ms (a stand-in for I/O), so one
   worker finishes about 500 a second. A producer alternates quiet spells (a
   few jobs a second) with bursts of 1500 jobs a second: three times what one
   worker can do. During a burst the backlog passes the threshold and the pool
   adds a worker (at most one per 20 ms); once the burst is over, a worker
   idle for 300 ms leaves (at most one per 100 ms) until one is left.

   A live line shows the workers, the queue and the scale counts (rewritten in
   place on a terminal, a new line every 250 ms otherwise), with a line for
   each scale event as it happens, then the final stats.

   Exits 0 when every count adds up, the pool grew past one worker and came
   back down to one before the end; 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MIN_WORKERS = 1, MAX_WORKERS = 4, QUEUE = 256, THRESHOLD = 8 };
#define JOB_NS              WP_MS(2)
#define SCALE_UP_COOLDOWN   WP_MS(20)
#define IDLE_TIMEOUT        WP_MS(300)
#define SCALE_DOWN_COOLDOWN WP_MS(100)
#define SAMPLE_NS           WP_MS(5)    /* how often the monitor looks */
#define TTY_SHOW_NS         WP_MS(100)  /* live line refresh on a terminal */
#define LOG_SHOW_NS         WP_MS(250)  /* a status line otherwise */

typedef struct phase {
    const char *name;
    int64_t length_ns;
    int rate;                           /* jobs per second */
} phase;

static const phase phases[] = {
    { "quiet", WP_MS(1000), 4 },
    { "burst", WP_MS(1200), 1500 },
    { "quiet", WP_MS(1500), 4 },
    { "burst", WP_MS(1000), 1500 },
    { "quiet", WP_MS(2000), 4 },
};
enum { PHASES = sizeof phases / sizeof phases[0] };

static atomic_uint_fast64_t jobs_run;
static atomic_int current_phase;        /* index into phases; PHASES = done */
static atomic_bool monitor_stop;
static int64_t start_ns;
static bool tty;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

/* Relative sleeps in a loop: MinGW's clock_nanosleep does not honour an
   absolute time on CLOCK_MONOTONIC. */
static void sleep_until(int64_t t) {
    for (int64_t left; (left = t - now_ns()) > 0;) {
        struct timespec ts = { (time_t)(left / WP_SEC(1)), (long)(left % WP_SEC(1)) };
        nanosleep(&ts, NULL);
    }
}

static int work(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    sleep_until(now_ns() + JOB_NS);
    atomic_fetch_add_explicit(&jobs_run, 1, memory_order_relaxed);
    return 0;
}

static double secs(int64_t ns) { return (double)ns / 1e9; }

/* ------------------------------------------------------------------------ */
/* The monitor: samples the stats, prints scale events and the live line      */

typedef struct monitor {
    wp_pool *pool;
    int max_seen;          /* most workers seen */
    bool down_to_min;      /* saw MIN_WORKERS again in the last quiet spell */
    int events;
} monitor;

#define LINE_WIDTH 78

/* Prints one finished line; on a terminal it first wipes the live line. */
static void say(const char *fmt, ...) {
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (tty)
        printf("\r%-*s\n", LINE_WIDTH, buf);
    else
        printf("%s\n", buf);
    fflush(stdout);
}

static void show_live(const wp_stats *s, int phase_index) {
    const char *name = phase_index < PHASES ? phases[phase_index].name : "drain";
    char line[160];
    snprintf(line, sizeof line,
             "%6.2f s  %-5s  workers %d (active %d)  queue %4zu  up %2llu  down %2llu  done %llu",
             secs(now_ns() - start_ns), name, s->workers, s->active, s->queue_depth,
             (unsigned long long)s->scale_ups, (unsigned long long)s->scale_downs,
             (unsigned long long)(s->completed + s->failed));
    if (tty)
        printf("\r%-*s", LINE_WIDTH, line);
    else
        printf("%s\n", line);
    fflush(stdout);
}

static void *monitor_main(void *arg) {
    monitor *m = arg;
    wp_stats prev, s;
    wp_pool_stats(m->pool, &prev);
    int seen_phase = -1;
    int64_t next_show = 0;
    while (!atomic_load(&monitor_stop)) {
        wp_pool_stats(m->pool, &s);
        int p = atomic_load(&current_phase);
        if (p != seen_phase && p < PHASES) {
            say("%6.2f s  == %s: %d jobs/s for %.1f s", secs(now_ns() - start_ns),
                phases[p].name, phases[p].rate, secs(phases[p].length_ns));
            seen_phase = p;
        }
        if (s.workers > m->max_seen)
            m->max_seen = s.workers;
        if (p == PHASES - 1 && s.workers == MIN_WORKERS)
            m->down_to_min = true;
        /* One line per scale event since the last look (rarely more than
           one: the cooldowns space them out). */
        for (uint64_t i = prev.scale_ups; i < s.scale_ups; i++, m->events++)
            say("%6.2f s  ++ scale up #%llu: %d worker%s, %zu jobs queued",
                secs(now_ns() - start_ns), (unsigned long long)i + 1, s.workers,
                s.workers == 1 ? "" : "s", s.queue_depth);
        for (uint64_t i = prev.scale_downs; i < s.scale_downs; i++, m->events++)
            say("%6.2f s  -- scale down #%llu: %d worker%s left (one was idle %d ms)",
                secs(now_ns() - start_ns), (unsigned long long)i + 1, s.workers,
                s.workers == 1 ? "" : "s", (int)(IDLE_TIMEOUT / WP_MS(1)));
        if (s.spawn_failures > prev.spawn_failures)
            say("%6.2f s  !! %llu worker thread(s) could not start", secs(now_ns() - start_ns),
                (unsigned long long)(s.spawn_failures - prev.spawn_failures));
        int64_t t = now_ns();
        if (t >= next_show) {
            show_live(&s, p);
            next_show = t + (tty ? TTY_SHOW_NS : LOG_SHOW_NS);
        }
        prev = s;
        sleep_until(now_ns() + SAMPLE_NS);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */

static int failures;

static void expect(bool ok, const char *what) {
    if (ok)
        return;
    fflush(stdout);
    fprintf(stderr, "autoscale: %s\n", what);
    failures++;
}

int main(void) {
    tty = isatty(STDOUT_FILENO);
    wp_config config = {
        .name = "autoscale",
        .scaling.min_workers = MIN_WORKERS,
        .max_workers = MAX_WORKERS,
        .queue_capacity = QUEUE,
        .scaling.up_threshold = THRESHOLD,
        .scaling.up_cooldown = SCALE_UP_COOLDOWN,
        .scaling.idle_timeout = IDLE_TIMEOUT,
        .scaling.down_cooldown = SCALE_DOWN_COOLDOWN,
    };
    wp_pool *pool;
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "autoscale: wp_pool_create: %s\n", wp_status_str(status));
        return 1;
    }

    printf("workerpool.h %s auto-scaling demo\n\n", WORKERPOOL_VERSION);
    printf("%d to %d workers; jobs sleep %d ms, so one worker does about %d a second.\n"
           "Scale up past %d queued jobs (at most every %d ms); a worker idle for\n"
           "%d ms leaves (at most one every %d ms) while more than %d are alive.\n\n",
           MIN_WORKERS, MAX_WORKERS, (int)(JOB_NS / WP_MS(1)), (int)(WP_SEC(1) / JOB_NS),
           THRESHOLD, (int)(SCALE_UP_COOLDOWN / WP_MS(1)), (int)(IDLE_TIMEOUT / WP_MS(1)),
           (int)(SCALE_DOWN_COOLDOWN / WP_MS(1)), MIN_WORKERS);

    monitor m = { .pool = pool, .max_seen = MIN_WORKERS };
    start_ns = now_ns();
    pthread_t monitor_thread;
    if (pthread_create(&monitor_thread, NULL, monitor_main, &m) != 0) {
        fprintf(stderr, "autoscale: cannot start the monitor thread\n");
        wp_pool_destroy(pool);
        return 1;
    }

    /* The producer: each phase offers jobs at its rate, catching up when it
       falls behind (WP_BLOCK waits while the queue is full). */
    uint64_t offered = 0, accepted = 0;
    int64_t phase_start = start_ns;
    for (int p = 0; p < PHASES; p++) {
        atomic_store(&current_phase, p);
        int64_t interval = WP_SEC(1) / phases[p].rate;
        int64_t end = phase_start + phases[p].length_ns;
        for (int64_t due = phase_start; due < end; due += interval) {
            sleep_until(due);
            offered++;
            status = wp_submit(pool, work, NULL);
            if (status == WP_OK)
                accepted++;
            else
                say("autoscale: wp_submit: %s", wp_status_str(status));
        }
        sleep_until(end);
        phase_start = end;
    }
    wp_stats before_close;
    wp_pool_stats(pool, &before_close);
    atomic_store(&current_phase, PHASES);

    status = wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    atomic_store(&monitor_stop, true);
    pthread_join(monitor_thread, NULL);
    if (tty)
        printf("\n");
    expect(status == WP_OK, "wp_pool_close did not drain in time");

    wp_stats s;
    wp_pool_stats(pool, &s);
    printf("\nwp_pool_stats after wp_pool_close (%.2f s):\n", secs(now_ns() - start_ns));
    printf("  workers before close %d; bounds %d..%d; peak %d\n", before_close.workers,
           s.min_workers, s.max_workers, s.peak_workers);
    printf("  scale-ups %llu (last at %.3f s), scale-downs %llu (last at %.3f s), spawn failures %llu\n",
           (unsigned long long)s.scale_ups, secs(s.last_scale_up_ns),
           (unsigned long long)s.scale_downs, secs(s.last_scale_down_ns),
           (unsigned long long)s.spawn_failures);
    printf("  offered %llu, submitted %llu = completed %llu + failed %llu + canceled %llu\n",
           (unsigned long long)offered, (unsigned long long)s.submitted,
           (unsigned long long)s.completed, (unsigned long long)s.failed,
           (unsigned long long)s.canceled);
    printf("  refused: rejected %llu, dropped %llu, timed out %llu, closed %llu; uptime %.2f s\n",
           (unsigned long long)s.rejected, (unsigned long long)s.dropped,
           (unsigned long long)s.timed_out, (unsigned long long)s.refused_closed,
           secs(s.uptime_ns));

    expect(accepted == offered, "a submission was refused");
    expect(s.submitted == accepted, "submitted != accepted");
    expect(s.submitted == s.completed + s.failed + s.canceled,
           "submitted != completed + failed + canceled");
    expect(s.failed + s.canceled == 0, "a job failed or was canceled");
    expect(atomic_load(&jobs_run) == s.completed, "jobs run != completed");
    expect(s.peak_workers > MIN_WORKERS && m.max_seen > MIN_WORKERS,
           "the pool never grew past one worker");
    expect(s.peak_workers <= MAX_WORKERS && m.max_seen <= MAX_WORKERS, "more than max workers");
    expect(m.down_to_min && before_close.workers == MIN_WORKERS,
           "the pool did not come back down to one worker before the end");
    expect(s.scale_downs > 0 && s.scale_ups > 0, "no scale event counted");
    wp_pool_destroy(pool);

    if (failures) {
        fprintf(stderr, "autoscale: %d check(s) failed\n", failures);
        return 1;
    }
    printf("\nThe pool grew to %d workers for the bursts and shrank back to %d.\n",
           s.peak_workers, MIN_WORKERS);
    return 0;
}
