/* backpressure.c - what each backpressure policy does when a producer outruns
   the pool. `make demo` builds and runs it; it takes about six seconds.

   A pool of 2 workers with a queue of 16 runs jobs that sleep 1 ms (about one
   in 10: 8 ms, a slow request). A producer offers 1600 jobs at 2500 per second,
   about twice what the pool can finish, and catches up as fast as it can
   whenever it falls behind. Once the queue is full, the policy decides what
   gives way: the producer (WP_BLOCK), the new job (WP_DROP, WP_REJECT), a
   little of each (WP_TIMEOUT, which waits at most 2 ms), the oldest queued
   job (WP_DROP_OLDEST: the new one is accepted, the oldest is evicted and
   reported through its completion callback), or the producer's own time
   (WP_CALLER_RUNS: the producer runs the new job itself, which paces it).

   Every job has a completion callback that counts its outcome, so each
   accepted job is seen to end exactly once: run, or evicted.

   Exits 0 when every count adds up, 1 when something does not. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum {
    WORKERS     = 2,
    QUEUE       = 16,
    OFFERED     = 1600,
    OFFER_RATE  = 2500,     /* jobs per second the producer tries to submit */
    SLOW_EVERY  = 10        /* about one job in 10 is a slow one */
};
#define JOB_NS          WP_MS(1)
#define SLOW_JOB_NS     WP_MS(8)
#define SUBMIT_TIMEOUT  WP_MS(2)
#define SHOW_EVERY_NS   WP_MS(50)

typedef struct trial {
    wp_backpressure policy;
    const char *name;           /* without the WP_ prefix */
    const char *head[2];        /* its column heading in the summary, two lines */
    uint64_t offered, accepted, dropped, rejected, timed_out;
    uint64_t caller_ran;        /* jobs run by the producer itself */
    uint64_t ran_ok, evicted;   /* outcomes seen by the completion callback */
    int64_t blocked_ns;     /* time spent inside wp_submit_job, summed */
    int64_t p99_ns;         /* 99% of wp_submit_job calls took at most this */
    int64_t offer_ns;       /* first submit to the return of the last */
    int64_t wall_ns;        /* first submit to the end of the drain */
    wp_stats stats;         /* after wp_pool_close */
} trial;

static atomic_uint_fast64_t jobs_run;
static atomic_uint_fast64_t jobs_run_by_caller;  /* wp_ctx_worker() == -1 */
static atomic_uint_fast64_t outcome_ok, outcome_evicted, outcome_other;
static int failures;
static bool tty;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

/* Sleeps until the monotonic clock reads t. Relative sleeps in a loop, which
   also covers signals and early wake-ups: MinGW's clock_nanosleep does not
   honour an absolute time on CLOCK_MONOTONIC. */
static void sleep_until(int64_t t) {
    for (int64_t left; (left = t - now_ns()) > 0;) {
        struct timespec ts = { (time_t)(left / WP_SEC(1)), (long)(left % WP_SEC(1)) };
        nanosleep(&ts, NULL);
    }
}

/* Whether job `id` is a slow one: about one in SLOW_EVERY, scattered the same
   way on every run (a fixed pattern would keep slow jobs apart). */
static bool is_slow(uint64_t id) {
    uint64_t x = (id + 1) * UINT64_C(0x9E3779B97F4A7C15);  /* splitmix64 */
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return (x ^ (x >> 31)) % SLOW_EVERY == 0;
}

static int work(void *arg, wp_ctx *ctx) {
    (void)arg;
    bool slow = is_slow(wp_ctx_id(ctx));
    sleep_until(now_ns() + (slow ? SLOW_JOB_NS : JOB_NS));
    atomic_fetch_add_explicit(&jobs_run, 1, memory_order_relaxed);
    if (wp_ctx_worker(ctx) < 0)
        atomic_fetch_add_explicit(&jobs_run_by_caller, 1, memory_order_relaxed);
    return 0;
}

/* Every accepted job's one outcome: WP_OK once it ran, WP_EVICTED when
   WP_DROP_OLDEST evicted it from the queue (a job with memory of its own
   would free its arg here). */
static void done(const wp_result *r) {
    atomic_uint_fast64_t *counter = r->status == WP_OK      ? &outcome_ok
                                  : r->status == WP_EVICTED ? &outcome_evicted
                                                            : &outcome_other;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Reports a count that does not add up and remembers to exit 1. */
#define EXPECT_EQ(t, a, b) expect_eq((t)->name, #a, (uint64_t)(a), #b, (uint64_t)(b))
static void expect_eq(const char *name, const char *what_a, uint64_t a,
                      const char *what_b, uint64_t b) {
    if (a == b)
        return;
    fflush(stdout);
    fprintf(stderr, "backpressure: %s: %s (%llu) != %s (%llu)\n", name, what_a,
            (unsigned long long)a, what_b, (unsigned long long)b);
    failures++;
}

/* One row of the live table: the producer's own count of offers, the rest
   from wp_pool_stats. On a terminal the row is rewritten in place. */
static void show(const trial *t, const wp_stats *s, bool last) {
    printf("%s%-11s %7llu %8llu %7llu %8llu %7llu %7llu %6llu %5zu %5llu", tty ? "\r" : "",
           t->name, (unsigned long long)t->offered, (unsigned long long)s->submitted,
           (unsigned long long)s->dropped, (unsigned long long)s->rejected,
           (unsigned long long)s->timed_out, (unsigned long long)s->evicted,
           (unsigned long long)atomic_load(&jobs_run_by_caller), s->queue_depth,
           (unsigned long long)s->completed);
    if (!tty || last)
        putchar('\n');
    fflush(stdout);
}

static int64_t submit_ns[OFFERED];  /* how long each submit call took */

static int cmp_ns(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double per_sec(uint64_t n, int64_t ns) {
    return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

static void run_trial(trial *t) {
    wp_pool *pool;
    wp_config config = {
        .name = t->name,
        .max_workers = WORKERS,
        .queue_capacity = QUEUE,
        .backpressure = t->policy,
    };
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "backpressure: %s: wp_pool_create: %s\n", t->name,
                wp_status_str(status));
        failures++;
        return;
    }
    atomic_store(&jobs_run, 0);
    atomic_store(&jobs_run_by_caller, 0);
    atomic_store(&outcome_ok, 0);
    atomic_store(&outcome_evicted, 0);
    atomic_store(&outcome_other, 0);

    wp_stats s;
    int64_t start = now_ns();
    int64_t next_show = start;
    for (uint64_t i = 0; i < OFFERED; i++) {
        int64_t due = start + (int64_t)i * (WP_SEC(1) / OFFER_RATE);
        if (now_ns() < due)
            sleep_until(due);

        wp_job job = { .fn = work, .id = i, .on_done = done };
        if (t->policy == WP_TIMEOUT)
            job.submit_timeout = SUBMIT_TIMEOUT;
        int64_t before = now_ns();
        status = wp_submit_job(pool, &job);
        int64_t after = now_ns();
        t->blocked_ns += after - before;
        submit_ns[i] = after - before;
        t->offered++;

        switch (status) {
        case WP_OK:        t->accepted++;  break;
        case WP_DROPPED:   t->dropped++;   break;
        case WP_FULL:      t->rejected++;  break;
        case WP_TIMED_OUT: t->timed_out++; break;
        default:
            fflush(stdout);
            fprintf(stderr, "\nbackpressure: %s: job %llu: unexpected status %d (%s)\n",
                    t->name, (unsigned long long)i, (int)status, wp_status_str(status));
            failures++;
            break;
        }

        bool quarter = (i + 1) % (OFFERED / 4) == 0 && i + 1 < OFFERED;
        if (tty ? after >= next_show : quarter) {
            wp_pool_stats(pool, &s);
            show(t, &s, false);
            next_show = after + SHOW_EVERY_NS;
        }
    }
    t->offer_ns = now_ns() - start;
    qsort(submit_ns, OFFERED, sizeof submit_ns[0], cmp_ns);
    t->p99_ns = submit_ns[OFFERED * 99 / 100];

    /* Drain: at most a queue's worth of jobs is left. */
    status = wp_pool_close(pool, WP_DRAIN, WP_SEC(5));
    t->wall_ns = now_ns() - start;
    if (status != WP_OK) {
        fprintf(stderr, "\nbackpressure: %s: wp_pool_close: %s\n", t->name,
                wp_status_str(status));
        failures++;
    }
    wp_pool_stats(pool, &t->stats);
    t->caller_ran = atomic_load(&jobs_run_by_caller);
    t->ran_ok = atomic_load(&outcome_ok);
    t->evicted = atomic_load(&outcome_evicted);
    show(t, &t->stats, true);
    status = wp_pool_destroy(pool);
    if (status != WP_OK) {
        fprintf(stderr, "backpressure: %s: wp_pool_destroy: %s\n", t->name,
                wp_status_str(status));
        failures++;
    }

    uint64_t refused = t->dropped + t->rejected + t->timed_out;
    printf("  accepted %llu, refused %llu",
           (unsigned long long)t->accepted, (unsigned long long)refused);
    if (refused > 0) {
        const char *sep = " (";
        if (t->dropped)   { printf("%s%llu dropped", sep, (unsigned long long)t->dropped); sep = ", "; }
        if (t->rejected)  { printf("%s%llu rejected", sep, (unsigned long long)t->rejected); sep = ", "; }
        if (t->timed_out) { printf("%s%llu timed out", sep, (unsigned long long)t->timed_out); }
        putchar(')');
    }
    if (t->evicted)
        printf(", evicted %llu", (unsigned long long)t->evicted);
    if (t->caller_ran)
        printf(", %llu run by the producer", (unsigned long long)t->caller_ran);
    printf("; blocked %.1f ms; wall %.2f s; %.0f jobs/s\n", (double)t->blocked_ns / 1e6,
           (double)t->wall_ns / 1e9, per_sec(t->stats.completed, t->wall_ns));

    /* Every offer is accepted or refused once, the pool counted what the
       producer saw, and every accepted job ran exactly once. */
    const wp_stats *f = &t->stats;
    EXPECT_EQ(t, t->accepted + t->dropped + t->rejected + t->timed_out, t->offered);
    EXPECT_EQ(t, f->submitted, t->accepted);
    EXPECT_EQ(t, f->dropped, t->dropped);
    EXPECT_EQ(t, f->rejected, t->rejected);
    EXPECT_EQ(t, f->timed_out, t->timed_out);
    EXPECT_EQ(t, f->refused_closed, 0);
    EXPECT_EQ(t, f->submitted, f->completed + f->failed + f->canceled + f->expired + f->evicted);
    EXPECT_EQ(t, f->failed + f->canceled + f->expired, 0);
    EXPECT_EQ(t, atomic_load(&jobs_run), f->completed);
    EXPECT_EQ(t, f->queue_depth, 0);
    /* The callbacks saw one outcome per accepted job. */
    EXPECT_EQ(t, t->ran_ok, f->completed);
    EXPECT_EQ(t, t->evicted, f->evicted);
    EXPECT_EQ(t, atomic_load(&outcome_other), 0);
    if (t->policy == WP_BLOCK || t->policy == WP_DROP_OLDEST || t->policy == WP_CALLER_RUNS)
        EXPECT_EQ(t, refused, 0);
    if (t->policy != WP_DROP_OLDEST)
        EXPECT_EQ(t, f->evicted, 0);
    if (t->policy != WP_CALLER_RUNS)
        EXPECT_EQ(t, t->caller_ran, 0);
}

int main(void) {
    trial trials[] = {
        { .policy = WP_BLOCK,       .name = "BLOCK",       .head = { "", "BLOCK" } },
        { .policy = WP_DROP,        .name = "DROP",        .head = { "", "DROP" } },
        { .policy = WP_REJECT,      .name = "REJECT",      .head = { "", "REJECT" } },
        { .policy = WP_TIMEOUT,     .name = "TIMEOUT",     .head = { "", "TIMEOUT" } },
        { .policy = WP_DROP_OLDEST, .name = "DROP_OLDEST", .head = { "DROP_", "OLDEST" } },
        { .policy = WP_CALLER_RUNS, .name = "CALLER_RUNS", .head = { "CALLER_", "RUNS" } },
    };
    enum { N = sizeof trials / sizeof trials[0] };
    tty = isatty(STDOUT_FILENO);

    int64_t mean_ns = ((SLOW_EVERY - 1) * JOB_NS + SLOW_JOB_NS) / SLOW_EVERY;
    printf("workerpool.h %s backpressure demo\n\n", WORKERPOOL_VERSION);
    printf("%d workers, a queue of %d. Jobs sleep %d ms, about one in %d sleeps %d ms:\n"
           "the pool finishes about %.0f jobs/s. A producer offers %d jobs at %d/s\n"
           "and catches up as fast as it can when it falls behind. When the queue is\n"
           "full, the policy (WP_ and the name in the first column) decides what gives\n"
           "way. \"caller\": jobs the producer ran itself.\n\n",
           WORKERS, QUEUE, (int)(JOB_NS / WP_MS(1)), SLOW_EVERY,
           (int)(SLOW_JOB_NS / WP_MS(1)), per_sec(WORKERS, mean_ns), OFFERED, OFFER_RATE);
    printf("%-11s %7s %8s %7s %8s %7s %7s %6s %5s %5s\n", "policy", "offered", "accepted",
           "dropped", "rejected", "timeout", "evicted", "caller", "queue", "done");

    for (int i = 0; i < N; i++)
        run_trial(&trials[i]);

    for (int line = 0; line < 2; line++) {
        printf("\n%-20s", "");
        for (int i = 0; i < N; i++)
            printf(" %9s", trials[i].head[line]);
    }
    printf("\n");
#define ROW(label, fmt, expr)                                                    \
    do {                                                                         \
        printf("%-20s", label);                                                  \
        for (int i = 0; i < N; i++) {                                            \
            const trial *t = &trials[i];                                         \
            printf(" %9" fmt, expr);                                             \
        }                                                                        \
        printf("\n");                                                            \
    } while (0)
    ROW("offered", "llu", (unsigned long long)t->offered);
    ROW("accepted", "llu", (unsigned long long)t->accepted);
    ROW("dropped", "llu", (unsigned long long)t->dropped);
    ROW("rejected (WP_FULL)", "llu", (unsigned long long)t->rejected);
    ROW("timed out", "llu", (unsigned long long)t->timed_out);
    ROW("evicted from queue", "llu", (unsigned long long)t->evicted);
    ROW("ran", "llu", (unsigned long long)t->stats.completed);
    ROW("ran by the producer", "llu", (unsigned long long)t->caller_ran);
    ROW("producer held (ms)", ".1f", (double)t->blocked_ns / 1e6);
    ROW("submit p99 (ms)", ".1f", (double)t->p99_ns / 1e6);
    ROW("producer time (s)", ".2f", (double)t->offer_ns / 1e9);
    ROW("wall time (s)", ".2f", (double)t->wall_ns / 1e9);
    ROW("jobs/s done", ".0f", per_sec(t->stats.completed, t->wall_ns));
#undef ROW

    /* The DROP_OLDEST pool's, where every kind of accepted-job outcome shows. */
    const trial *shown = &trials[0];
    for (int i = 0; i < N; i++)
        if (trials[i].policy == WP_DROP_OLDEST)
            shown = &trials[i];
    const wp_stats *s = &shown->stats;
    printf("\nwp_pool_stats of the WP_%s pool after wp_pool_close:\n", shown->name);
    printf("  workers %d (active %d, idle %d), queue %zu of %zu, results pending %zu\n",
           s->workers, s->active, s->idle, s->queue_depth, s->queue_capacity,
           s->results_pending);
    printf("  submitted %llu = completed %llu + failed %llu + canceled %llu + expired %llu"
           " + evicted %llu\n",
           (unsigned long long)s->submitted, (unsigned long long)s->completed,
           (unsigned long long)s->failed, (unsigned long long)s->canceled,
           (unsigned long long)s->expired, (unsigned long long)s->evicted);
    printf("  refused: rejected %llu, dropped %llu, timed out %llu, closed %llu\n",
           (unsigned long long)s->rejected, (unsigned long long)s->dropped,
           (unsigned long long)s->timed_out, (unsigned long long)s->refused_closed);

    printf("\nWP_BLOCK:       every job must run and the producer can wait (batch work).\n"
           "WP_DROP:        a late job is worthless and losing some is fine (telemetry).\n"
           "WP_REJECT:      the caller can react at once: retry later, say \"busy\" (servers).\n"
           "WP_TIMEOUT:     ride out short bursts, but bound how long the producer stalls.\n"
           "WP_DROP_OLDEST: the newest data matters most (sensor readings, frames, quotes).\n"
           "WP_CALLER_RUNS: nothing may be lost and the producer can do the work itself:\n"
           "                it slows down to the pool's pace instead of sleeping.\n");

    if (failures) {
        fprintf(stderr, "backpressure: %d count(s) did not add up\n", failures);
        return 1;
    }
    return 0;
}
