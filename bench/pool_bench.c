/* pool_bench.c - empty-job throughput of a fixed pool (the `empty_1p2w`
   workload): one producer submits 1,000,000 jobs that each do one relaxed
   atomic increment into a pool of 2 workers with a queue of 1024 and
   WP_BLOCK; time from the first submit to the last job done. Prints one
   line per pass and the median, in million jobs per second.

   BENCH_PASSES (default 5) and BENCH_JOBS (default 1000000) override.
   BENCH_WAIT=close makes the producer wait for the last job by closing the
   pool (it parks) instead of spinning on the counter: for instruction
   counts (bench/callgrind.sh), where a spinning producer would count its
   spins.
   bench/compare-headers.sh builds this file against two versions of the
   header and interleaves their runs. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>

static atomic_long done;

static int increment(void *arg, wp_ctx *ctx)
{
    (void)arg;
    (void)ctx;
    atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long env_or(const char *name, long fallback, long lo, long hi)
{
    const char *v = getenv(name);
    long n = v ? strtol(v, NULL, 10) : fallback;
    return n < lo || n > hi ? fallback : n;
}

int main(void)
{
    int passes = (int)env_or("BENCH_PASSES", 5, 1, 101);
    long jobs = env_or("BENCH_JOBS", 1000000, 1000, 100000000);
    const char *wait = getenv("BENCH_WAIT");
    int by_close = wait && wait[0] == 'c';
    double rate[101];
    for (int p = 0; p < passes; p++) {
        wp_pool *pool;
        if (wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 1024 }, &pool) != WP_OK)
            return 1;
        atomic_store(&done, 0);
        int64_t t0 = wp__now_ns();
        for (long i = 0; i < jobs; i++)
            if (wp_submit(pool, increment, NULL) != WP_OK)
                return 1;
        if (by_close)
            wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
        while (atomic_load_explicit(&done, memory_order_relaxed) < jobs)
            wp__cpu_relax();
        int64_t t1 = wp__now_ns();
        wp_pool_destroy(pool);
        rate[p] = (double)jobs / ((double)(t1 - t0) / 1e3);
        printf("pass %d: %.2f Mjobs/s\n", p + 1, rate[p]);
    }
    qsort(rate, (size_t)passes, sizeof rate[0], by_value);
    printf("empty_1p2w median %.2f Mjobs/s (min %.2f, max %.2f, %d passes of %ld jobs)\n",
           rate[passes / 2], rate[0], rate[passes - 1], passes, jobs);
    return 0;
}
