/* forkjoin.c - how a range job should split itself: a shared atomic cursor
   (what wp_submit_range and wp_parallel_for do) against recursive halving
   (each participant splits its part in two, queues one half in a group and
   goes on with the other, as TBB's parallel_for does), both built on the
   same pool, beside a plain loop on one thread. With -fopenmp it also runs
   OpenMP's `parallel for schedule(dynamic, grain)`.

   Two loops: 1,000,000 trivial iterations (one relaxed add each, into a
   counter of the chunk's own) and a SAXPY over 16 M floats; each at the
   automatic grain (what wp_parallel_for picks for grain 0; halving uses the
   same) and at a fixed fine grain. Median of BENCH_PASSES (default 7)
   timed runs after a warm-up, in microseconds.

     make build/cc/bench/forkjoin && ./build/cc/bench/forkjoin
     cc -O2 -fopenmp -I. bench/forkjoin.c -o /tmp/fj -pthread && /tmp/fj */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#  include <omp.h>
#endif

#define TRIVIAL_N 1000000u
#define SAXPY_N (16u * 1024u * 1024u)
#define MAX_PASSES 31

static float *xs, *ys;
static atomic_long sink;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int trivial(void *arg, size_t b, size_t e, wp_ctx *ctx)
{
    (void)arg, (void)ctx;
    atomic_long local = 0;
    for (size_t i = b; i < e; i++)
        atomic_fetch_add_explicit(&local, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sink, atomic_load_explicit(&local, memory_order_relaxed),
                              memory_order_relaxed);
    return 0;
}

static int saxpy(void *arg, size_t b, size_t e, wp_ctx *ctx)
{
    (void)arg, (void)ctx;
    const float a = 2.5f;
    for (size_t i = b; i < e; i++)
        ys[i] = a * xs[i] + ys[i];
    return 0;
}

/* Recursive halving on groups: split off right halves into a group while
   the part is above the grain, run what is left, wait for the halves. */
typedef struct half {
    wp_pool *pool;
    wp_range_fn fn;
    size_t b, e, grain;
} half;

static int half_job(void *arg, wp_ctx *ctx)
{
    half *h = (half *)arg;
    wp_group g = { 0 };
    half right[64];
    int n = 0;
    size_t b = h->b, e = h->e;
    while (e - b > h->grain && n < 64) {
        size_t mid = b + (e - b) / 2;
        right[n] = (half){ h->pool, h->fn, mid, e, h->grain };
        wp_submit_job(h->pool, &(wp_job){ .fn = half_job, .arg = &right[n], .group = &g });
        n++;
        e = mid;
    }
    int code = h->fn(NULL, b, e, ctx);
    wp_group_wait(h->pool, &g, WP_FOREVER);
    return code;
}

static void halving_for(wp_pool *pool, wp_range_fn fn, size_t n, size_t grain)
{
    half root = { pool, fn, 0, n, grain };
    half_job(&root, NULL);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum { SERIAL, CURSOR, HALVING, OPENMP };

static double run(int how, wp_pool *pool, wp_range_fn fn, size_t n, size_t grain, int passes)
{
    int64_t t[MAX_PASSES];
    for (int p = -1; p < passes; p++) {
        int64_t t0 = now_ns();
        switch (how) {
        case SERIAL: fn(NULL, 0, n, NULL); break;
        case CURSOR: wp_parallel_for(pool, fn, NULL, n, grain); break;
        case HALVING: halving_for(pool, fn, n, grain); break;
        default:
#ifdef _OPENMP
        {
            /* one loop iteration per chunk of `grain` items, handed out
               one at a time: schedule(dynamic, grain) over the items */
            long long chunk = (long long)grain;
#pragma omp parallel for schedule(dynamic, 1)
            for (long long i = 0; i < (long long)n; i += chunk)
                fn(NULL, (size_t)i, (size_t)(i + chunk) < n ? (size_t)(i + chunk) : n, NULL);
        }
#endif
            break;
        }
        if (p >= 0)
            t[p] = now_ns() - t0;
    }
    qsort(t, (size_t)passes, sizeof t[0], cmp_i64);
    return (double)t[passes / 2] / 1000.0;
}

int main(void)
{
    const char *env = getenv("BENCH_PASSES");
    int passes = env ? atoi(env) : 7;
    if (passes < 1 || passes > MAX_PASSES)
        passes = 7;
    xs = malloc(SAXPY_N * sizeof *xs);
    ys = malloc(SAXPY_N * sizeof *ys);
    if (!xs || !ys)
        return 1;
    for (size_t i = 0; i < SAXPY_N; i++) {
        xs[i] = (float)(i % 1000);
        ys[i] = 1.0f;
    }
    wp_pool *pool;
    if (wp_pool_create(NULL, &pool) != WP_OK)
        return 1;
    wp_stats st;
    wp_pool_stats(pool, &st);
    int threads = st.workers + 1;
    printf("forkjoin: %d workers + the caller, median of %d passes, microseconds\n", st.workers,
           passes);
    printf("%-22s %10s %10s %10s %10s\n", "loop (grain)", "serial", "cursor", "halving",
#ifdef _OPENMP
           "openmp"
#else
           "-"
#endif
    );
    struct {
        const char *name;
        wp_range_fn fn;
        size_t n;
    } loops[] = { { "trivial 1M", trivial, TRIVIAL_N }, { "saxpy 16M", saxpy, SAXPY_N } };
    for (int l = 0; l < 2; l++) {
        size_t autog = loops[l].n / (4 * (size_t)threads);
        size_t grains[] = { autog ? autog : 1, loops[l].n / 1024 };
        for (int g = 0; g < 2; g++) {
            char label[64];
            snprintf(label, sizeof label, "%s (%zu)", loops[l].name, grains[g]);
            printf("%-22s", label);
            for (int how = SERIAL; how <= OPENMP; how++) {
#ifndef _OPENMP
                if (how == OPENMP) {
                    printf(" %10s", "-");
                    continue;
                }
#endif
                double us = run(how, pool, loops[l].fn, loops[l].n, grains[g], passes);
                printf(" %10.0f", us);
                fflush(stdout);
            }
            printf("\n");
        }
    }
    wp_pool_destroy(pool);
    free(xs);
    free(ys);
    return 0;
}
