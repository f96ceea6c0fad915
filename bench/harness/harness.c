/* harness.c - the pool workloads, run against the contender linked in.

   usage: bench-<contender> WORKLOAD JOBS [SPIN_ITERS]
     empty_1p2w        1 producer, JOBS jobs that each do one relaxed atomic
                       increment; 2 workers; queue 1024 where bounded
     empty_2p2w        the same with 2 producers of JOBS/2 each
     batch_1p2w        1 producer, batches of 64 (one by one without a batch call)
     work1us_1p2w      JOBS jobs that each spin SPIN_ITERS (~1 us, calibrated
                       once per run by the driver) then count
     pingpong_latency  submit one job, spin until it has run, JOBS times
     pingpong_sleep    the same with a 1 ms sleep between round trips
     work1us_direct    no pool: the work1us jobs split evenly over W plain
                       threads (the yardstick of bench/scale.sh: what W cores
                       do with the same jobs and no queue)
   Environment (bench/scale.sh): BENCH_WORKERS=W (default 2) workers for every
   workload; BENCH_PRODUCERS=P (1 to 64; default the workload's own, 1 or 2)
   producers for the throughput workloads, JOBS split as evenly as possible.
   Prints one line:
     RESULT <contender> <workload> jobs=N secs=S p50=NS p99=NS ok=0|1 flags=F workers=W producers=P
   The timed span is from the first submit to the end of the last job
   (recorded by the job that completes the count). ok=1 when exactly JOBS
   jobs ran and every submission was accepted. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 2 /* default of BENCH_WORKERS */
#define MAX_WORKERS 256
#define MAX_PRODUCERS 64
#define CAPACITY 1024
#define BATCH 64

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* ---- the jobs ---------------------------------------------------------- */

static _Alignas(64) atomic_long done_count;
static long target;
static uint64_t spin_iters;
static _Alignas(64) atomic_int flag;
static int64_t end_ns;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int done_set;
static volatile uint64_t sink;
static char dummy_arg; /* jobs get &dummy_arg: some pools refuse NULL */

static void finish(void)
{
    int64_t t = now_ns();
    pthread_mutex_lock(&done_mu);
    end_ns = t;
    done_set = 1;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static void job_count(void *arg)
{
    (void)arg;
    if (atomic_fetch_add_explicit(&done_count, 1, memory_order_relaxed) + 1 == target)
        finish();
}

/* ~1 us of pure compute: a serial chain of multiply-adds the compiler cannot
   shorten. bench/go/main.go runs the same loop. */
static uint64_t spin(uint64_t iters)
{
    uint64_t x = 88172645463325252ULL;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    return x;
}

static void job_work(void *arg)
{
    (void)arg;
    sink = spin(spin_iters);
    job_count(arg);
}

static void job_flag(void *arg)
{
    (void)arg;
    atomic_store_explicit(&flag, 1, memory_order_release);
}

static void wait_done(void)
{
    pthread_mutex_lock(&done_mu);
    while (!done_set)
        pthread_cond_wait(&done_cv, &done_mu);
    pthread_mutex_unlock(&done_mu);
}

/* ---- producers --------------------------------------------------------- */

static const contender *ct;
static long per_producer[MAX_PRODUCERS];
static atomic_long refused;
static int use_batch;

static void producer_body(int p)
{
    long n = per_producer[p], bad = 0;
    if (use_batch && ct->submit_batch) {
        void *args[BATCH];
        for (int i = 0; i < BATCH; i++)
            args[i] = &dummy_arg;
        for (long i = 0; i < n; i += BATCH) {
            size_t k = (size_t)(n - i < BATCH ? n - i : BATCH);
            bad += (long)(k - ct->submit_batch(p, args, k));
        }
    } else {
        for (long i = 0; i < n; i++)
            bad += ct->submit(p, &dummy_arg) != 0;
    }
    if (ct->producer_done)
        ct->producer_done(p);
    atomic_fetch_add(&refused, bad);
}

static void *producer_thread(void *arg)
{
    producer_body((int)(intptr_t)arg);
    return NULL;
}

static void run_producers(int n)
{
    if (ct->run_producers) {
        ct->run_producers(n, producer_body);
        return;
    }
    pthread_t t[MAX_PRODUCERS];
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, producer_thread, (void *)(intptr_t)i) != 0) {
            fprintf(stderr, "cannot start a thread\n");
            exit(1);
        }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ---- ping-pong --------------------------------------------------------- */

static long pp_n, pp_gap_ns, pp_bad;
static int64_t *pp_lat;

static void pingpong_body(int p)
{
    (void)p;
    struct timespec gap = {0, pp_gap_ns};
    for (long i = 0; i < pp_n; i++) {
        if (pp_gap_ns)
            nanosleep(&gap, NULL);
        atomic_store_explicit(&flag, 0, memory_order_relaxed);
        int64_t t0 = now_ns();
        if (ct->submit(0, &dummy_arg) != 0) {
            pp_bad++;
            continue;
        }
        while (!atomic_load_explicit(&flag, memory_order_acquire))
            cpu_relax();
        pp_lat[i] = now_ns() - t0;
    }
    if (ct->producer_done)
        ct->producer_done(0);
}

/* ---- work1us_direct: the same jobs on W plain threads, no queue ---------- */

static long direct_per_thread[MAX_WORKERS];

static void *direct_thread(void *arg)
{
    long n = direct_per_thread[(intptr_t)arg];
    for (long i = 0; i < n; i++)
        job_work(&dummy_arg);
    return NULL;
}

static int run_direct(int workers, long jobs)
{
    pthread_t t[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        direct_per_thread[i] = jobs / workers + (i < jobs % workers);
    for (int i = 0; i < workers; i++)
        if (pthread_create(&t[i], NULL, direct_thread, (void *)(intptr_t)i) != 0)
            return -1;
    for (int i = 0; i < workers; i++)
        pthread_join(t[i], NULL);
    return 0;
}

/* An integer from the environment in [lo, hi]; def when unset. */
static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "%s must be a number from %d to %d\n", name, lo, hi);
        exit(2);
    }
    return (int)x;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    ct = &bench_contender;
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORKLOAD JOBS [SPIN_ITERS]\n", argv[0]);
        return 2;
    }
    const char *wl = argv[1];
    long jobs = strtol(argv[2], NULL, 10);
    spin_iters = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    if (jobs < 2) {
        fprintf(stderr, "JOBS must be at least 2\n");
        return 2;
    }
    double secs = 0, p50 = 0, p99 = 0;
    int ok = 1;
    int workers = env_int("BENCH_WORKERS", WORKERS, 1, MAX_WORKERS);
    int producers = 1;

    if (strncmp(wl, "pingpong_", 9) == 0) {
        pp_n = jobs;
        pp_gap_ns = strcmp(wl, "pingpong_sleep") == 0 ? 1000000 : 0;
        pp_lat = calloc((size_t)jobs, sizeof *pp_lat);
        if (!pp_lat || ct->create(workers, CAPACITY, 1, job_flag) != 0)
            return 1;
        int64_t t0 = now_ns();
        if (ct->run_producers)
            ct->run_producers(1, pingpong_body);
        else
            pingpong_body(0);
        secs = (double)(now_ns() - t0) / 1e9;
        ct->destroy();
        qsort(pp_lat, (size_t)jobs, sizeof *pp_lat, cmp_i64);
        p50 = (double)pp_lat[jobs / 2];
        p99 = (double)pp_lat[(size_t)((double)jobs * 0.99)];
        ok = pp_bad == 0;
        free(pp_lat);
    } else if (strcmp(wl, "work1us_direct") == 0) {
        target = jobs;
        int64_t t0 = now_ns();
        if (run_direct(workers, jobs) != 0) {
            fprintf(stderr, "cannot start a thread\n");
            return 1;
        }
        wait_done();
        secs = (double)(end_ns - t0) / 1e9;
        ok = atomic_load(&done_count) == jobs;
    } else {
        bench_fn fn = job_count;
        if (strcmp(wl, "empty_2p2w") == 0)
            producers = 2;
        else if (strcmp(wl, "batch_1p2w") == 0)
            use_batch = 1;
        else if (strcmp(wl, "work1us_1p2w") == 0)
            fn = job_work;
        else if (strcmp(wl, "empty_1p2w") != 0) {
            fprintf(stderr, "unknown workload %s\n", wl);
            return 2;
        }
        producers = env_int("BENCH_PRODUCERS", producers, 1, MAX_PRODUCERS);
        if (jobs < producers) {
            fprintf(stderr, "JOBS must be at least the number of producers\n");
            return 2;
        }
        if (use_batch && ct->submit_batch && (ct->flags & CT_FALLBACK))
            fprintf(stderr, "%s: batch_1p2w uses a one-by-one fallback (no batch call)\n",
                    ct->name);
        target = jobs;
        for (int i = 0; i < producers; i++) /* sums to jobs */
            per_producer[i] = jobs / producers + (i == 0 ? jobs % producers : 0);
        if (ct->create(workers, CAPACITY, producers, fn) != 0) {
            fprintf(stderr, "%s: create failed\n", ct->name);
            return 1;
        }
        int64_t t0 = now_ns();
        run_producers(producers);
        wait_done();
        secs = (double)(end_ns - t0) / 1e9;
        ct->destroy(); /* waits for everything, so an extra run would show */
        long n = atomic_load(&done_count);
        ok = n == jobs && atomic_load(&refused) == 0;
        if (!ok)
            fprintf(stderr, "%s %s: WRONG: %ld jobs ran, %ld submitted, %ld refused\n",
                    ct->name, wl, n, jobs, atomic_load(&refused));
    }
    printf("RESULT %s %s jobs=%ld secs=%.6f p50=%.0f p99=%.0f ok=%d flags=%d workers=%d producers=%d\n",
           ct->name, wl, jobs, secs, p50, p99, ok, ct->flags, workers, producers);
    return ok ? 0 : 1;
}
