/* wake_probe.c - splits pingpong_sleep's round trip into the cost of
   wp_submit and the time until the job starts, to test changes to the
   parking path. 300 round trips, 1 ms apart, 2 workers; prints both p50.
     cc -std=c11 -O2 -I. bench/proposals/wake_probe.c -o wake_probe -pthread
   (use -I on a patched copy of the header to compare). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_llong started;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int job(void *arg, wp_ctx *ctx)
{
    (void)arg;
    (void)ctx;
    atomic_store(&started, now_ns());
    return 0;
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    enum { N = 300 };
    static long long submit[N], start[N];
    wp_pool *pool;
    wp_config cfg = {0};
    cfg.scaling.min_workers = cfg.max_workers = 2;
    cfg.queue_capacity = 1024;
    if (wp_pool_create(&cfg, &pool) != WP_OK)
        return 1;
    struct timespec gap = {0, 1000000};
    for (int i = 0; i < N; i++) {
        nanosleep(&gap, NULL);
        atomic_store(&started, 0);
        long long t0 = now_ns();
        if (wp_submit(pool, job, NULL) != WP_OK)
            return 1;
        long long t1 = now_ns(), s;
        while (!(s = atomic_load(&started)))
            ;
        submit[i] = t1 - t0;
        start[i] = s - t0;
    }
    qsort(submit, N, sizeof submit[0], cmp);
    qsort(start, N, sizeof start[0], cmp);
    printf("wp_submit p50 %lld ns, job start p50 %lld ns after the submit began\n", submit[N / 2],
           start[N / 2]);
    wp_pool_destroy(pool);
    return 0;
}
