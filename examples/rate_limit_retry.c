/* rate_limit_retry.c - a token bucket in front of job starts, and submission
   retry with exponential backoff: the seed's rate-limiting chapter with the
   pool's own tools. `make examples` builds it
   (build/<cc>/examples/rate_limit_retry); it runs about two seconds.

   Part 1, rate limit: a pool with rate.limit = 500 jobs/s and rate.burst = 25
   gets 525 quick jobs at once. Each job notes when it started. The first 25
   start at once (the full bucket), the rest at the configured pace, so the
   whole lot takes about a second however many workers are idle. It prints the
   starts per 100 ms and the measured rate against the configured one.

   Part 2, retry: a pool of 2 workers with a queue of 8 and WP_REJECT runs jobs
   of 1 ms (about 2000 a second). A producer offers 300 jobs as fast as it
   can, three times: with plain wp_submit_job (a full queue refuses at once),
   with a stingy wp_submit_retry (3 attempts, backoff 50 us capped at 200 us)
   and with a patient one (16 attempts, 100 us capped at 10 ms). For each it
   prints the jobs accepted and given up, the attempts they took, and how
   long the producer spent.

   Exits 0 when every count adds up, the measured start rate is within 10%
   above and 50% below the configured one, the burst was not exceeded, and
   the patient producer got every job in; 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    RATE        = 500,      /* jobs per second */
    BURST       = 25,
    RATE_JOBS   = RATE + BURST,
    BUCKET_MS   = 100,      /* histogram bucket */
    OFFERED     = 300,      /* part 2: jobs each producer offers */
    MAX_TRIES   = 16
};
#define RETRY_JOB_NS WP_MS(1)

static int failures;

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

static void fail(const char *what) {
    fflush(stdout);
    fprintf(stderr, "rate_limit_retry: %s\n", what);
    failures++;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* --- part 1: the token bucket ----------------------------------------------- */

static int64_t started_at[RATE_JOBS];

static int note_start(void *arg, wp_ctx *ctx) {
    (void)arg;
    started_at[wp_ctx_id(ctx)] = now_ns();
    return 0;
}

static void rate_limit(void) {
    printf("1. rate.limit = %d jobs/s, rate.burst = %d: %d jobs submitted at once\n\n",
           RATE, BURST, RATE_JOBS);
    wp_pool *pool;
    wp_config config = { .name = "limited", .max_workers = 2, .queue_capacity = 1024,
                         .rate.limit = RATE, .rate.burst = BURST };
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fail("wp_pool_create failed");
        return;
    }
    static wp_job jobs[RATE_JOBS];
    for (int i = 0; i < RATE_JOBS; i++)
        jobs[i] = (wp_job){ .fn = note_start, .id = (uint64_t)i };
    int64_t start = now_ns();
    size_t accepted = wp_submit_batch(pool, jobs, RATE_JOBS, NULL);
    status = wp_pool_close(pool, WP_DRAIN, WP_SEC(30));
    int64_t took = now_ns() - start;
    wp_stats s;
    wp_pool_stats(pool, &s);
    wp_pool_destroy(pool);
    if (accepted != RATE_JOBS || status != WP_OK || s.completed != RATE_JOBS) {
        fail("part 1: not every job was accepted and ran");
        return;
    }

    int64_t t[RATE_JOBS];
    for (int i = 0; i < RATE_JOBS; i++)
        t[i] = started_at[i] - start;
    qsort(t, RATE_JOBS, sizeof t[0], cmp_i64);

    /* Starts per bucket: the burst lands in the first one. */
    int buckets = (int)(t[RATE_JOBS - 1] / WP_MS(BUCKET_MS)) + 1;
    int per_bucket[64] = { 0 };
    if (buckets > 64)
        buckets = 64;
    for (int i = 0; i < RATE_JOBS; i++) {
        int b = (int)(t[i] / WP_MS(BUCKET_MS));
        per_bucket[b < 64 ? b : 63]++;
    }
    printf("   starts per %d ms (one # per 2 jobs; the configured pace is %d):\n",
           BUCKET_MS, RATE * BUCKET_MS / 1000);
    for (int b = 0; b < buckets; b++) {
        printf("   %5d ms %4d ", b * BUCKET_MS, per_bucket[b]);
        for (int k = 0; k < per_bucket[b] / 2; k++)
            putchar('#');
        putchar('\n');
    }

    /* The burst: how many started before the bucket could have refilled much. */
    int early = 0;
    while (early < RATE_JOBS && t[early] - t[0] < WP_MS(10))
        early++;
    /* The steady pace: the jobs after the burst, first to last start. */
    double span = (double)(t[RATE_JOBS - 1] - t[BURST]) / 1e9;
    double measured = span > 0 ? (RATE_JOBS - 1 - BURST) / span : 0.0;
    printf("\n   %d jobs started within 10 ms of the first (the burst: %d)\n", early, BURST);
    printf("   after the burst: %d starts in %.3f s = %.1f jobs/s, configured %d (%+.1f%%)\n",
           RATE_JOBS - 1 - BURST, span, measured, RATE, (measured / RATE - 1.0) * 100.0);
    printf("   all %d jobs done in %.2f s (without the limit: a few ms)\n\n", RATE_JOBS,
           (double)took / 1e9);

    /* A start refills at most RATE x 10 ms = 5 tokens within 10 ms; allow 2
       more for timestamps taken a little after the token. */
    if (early > BURST + RATE / 100 + 2)
        fail("part 1: more jobs started at once than the burst allows");
    if (measured > RATE * 1.10)
        fail("part 1: jobs started faster than the rate limit");
    if (measured < RATE * 0.50)
        fail("part 1: jobs started at less than half the rate limit");
}

/* --- part 2: retry with backoff -------------------------------------------- */

static atomic_uint_fast64_t retry_jobs_run;

static int slow_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    sleep_until(now_ns() + RETRY_JOB_NS);
    atomic_fetch_add_explicit(&retry_jobs_run, 1, memory_order_relaxed);
    return 0;
}

typedef struct producer {
    const char *name;
    bool retry;
    wp_retry settings;
    uint64_t accepted, gave_up, attempts, refusals;
    int by_attempts[MAX_TRIES + 1];   /* accepted jobs, by attempts taken */
    int most_attempts;
    int64_t producer_ns;
} producer;

static void run_producer(producer *p) {
    wp_pool *pool;
    wp_config config = { .name = p->name, .max_workers = 2, .queue_capacity = 8,
                         .backpressure = WP_REJECT };
    if (wp_pool_create(&config, &pool) != WP_OK) {
        fail("wp_pool_create failed");
        return;
    }
    atomic_store(&retry_jobs_run, 0);
    wp_stats s;
    int64_t start = now_ns();
    for (int i = 0; i < OFFERED; i++) {
        wp_job job = { .fn = slow_job, .id = (uint64_t)i };
        wp_pool_stats(pool, &s);
        uint64_t rejected_before = s.rejected;
        wp_status status = p->retry ? wp_submit_retry(pool, &job, &p->settings)
                                    : wp_submit_job(pool, &job);
        wp_pool_stats(pool, &s);
        /* One producer: the refusals since the last look are this call's. */
        int refused = (int)(s.rejected - rejected_before);
        p->attempts += (uint64_t)refused + (status == WP_OK);
        p->refusals += (uint64_t)refused;
        if (status == WP_OK) {
            p->accepted++;
            if (refused + 1 <= MAX_TRIES)
                p->by_attempts[refused + 1]++;
            if (refused + 1 > p->most_attempts)
                p->most_attempts = refused + 1;
        } else if (status == WP_FULL) {
            p->gave_up++;
        } else {
            fail("part 2: unexpected submit status");
        }
    }
    p->producer_ns = now_ns() - start;
    if (wp_pool_close(pool, WP_DRAIN, WP_SEC(10)) != WP_OK)
        fail("part 2: wp_pool_close did not drain");
    wp_pool_stats(pool, &s);
    wp_pool_destroy(pool);

    printf("   %-34s %8llu %7llu %8llu %8.1f ms\n", p->name, (unsigned long long)p->accepted,
           (unsigned long long)p->gave_up, (unsigned long long)p->attempts,
           (double)p->producer_ns / 1e6);
    if (p->accepted + p->gave_up != OFFERED || s.submitted != p->accepted
            || s.rejected != p->refusals || s.completed != p->accepted
            || atomic_load(&retry_jobs_run) != p->accepted) {
        fail("part 2: the counts do not add up");
    }
    int max_attempts = p->settings.max_attempts ? p->settings.max_attempts : 8;
    if (p->retry && p->most_attempts > max_attempts)
        fail("part 2: a submission took more attempts than max_attempts");
}

static void retry(void) {
    printf("2. a producer offers %d jobs of 1 ms as fast as it can to 2 workers,\n"
           "   a queue of 8, WP_REJECT (the pool finishes about 2000 jobs/s)\n\n", OFFERED);
    producer ps[] = {
        { .name = "wp_submit_job, no retry" },
        { .name = "retry: 3 attempts, 50 us..200 us", .retry = true,
          .settings = { .max_attempts = 3, .initial_backoff = WP_US(50),
                        .max_backoff = WP_US(200) } },
        { .name = "retry: 16 attempts, 100 us..10 ms", .retry = true,
          .settings = { .max_attempts = MAX_TRIES, .initial_backoff = WP_US(100),
                        .max_backoff = WP_MS(10) } },
    };
    enum { N = sizeof ps / sizeof ps[0] };
    printf("   %-34s %8s %7s %8s %11s\n", "producer", "accepted", "gave up", "attempts",
           "time");
    for (int i = 0; i < N; i++)
        run_producer(&ps[i]);

    const producer *patient = &ps[N - 1];
    printf("\n   the patient producer's jobs by attempts taken:\n");
    for (int a = 1; a <= patient->most_attempts && a <= MAX_TRIES; a++)
        printf("   %3d attempt%s %4d\n", a, a == 1 ? " " : "s", patient->by_attempts[a]);
    printf("   backing off slowed it to the pool's pace (%.0f jobs/s) and lost nothing;\n"
           "   without retry, %d of %d jobs were refused\n",
           patient->producer_ns > 0 ? OFFERED * 1e9 / (double)patient->producer_ns : 0.0,
           (int)ps[0].gave_up, OFFERED);

    if (ps[0].gave_up == 0)
        fail("part 2: the producer without retry never met a full queue");
    if (patient->gave_up != 0)
        fail("part 2: the patient producer gave up on some jobs");
    printf("\n%s: %llu of %d jobs in, %llu refusals retried, none given up\n", patient->name,
           (unsigned long long)patient->accepted, OFFERED,
           (unsigned long long)patient->refusals);
}

int main(void) {
    printf("workerpool.h %s rate limit and retry demo\n\n", WORKERPOOL_VERSION);
    rate_limit();
    retry();
    if (failures) {
        fprintf(stderr, "rate_limit_retry: %d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
