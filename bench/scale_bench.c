/* scale_bench.c - what auto-scaling costs the caller.

   1. wp_pool_scale(pool, +1): the price of starting one worker thread here.
   2. The submit that triggers a scale-up. Workers scale up on their own after
      a job when the backlog passes the threshold, so a submitter only starts
      a thread when it finds the queue full (every worker busy with a long
      job). This measures that call (policy WP_REJECT, so no waiting is
      mixed in) against ordinary submits into the same pool.
   Reports medians and the 99th percentile over many rounds. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 200

static atomic_int release_gate;

static int wait_for_gate(void *arg, wp_ctx *ctx)
{
    (void)arg;
    while (!atomic_load(&release_gate) && !wp_ctx_should_stop(ctx)) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int nothing(void *arg, wp_ctx *ctx)
{
    (void)arg;
    (void)ctx;
    return 0;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    printf("| %s | %d | %.1f | %.1f | %.1f |\n", what, n, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3,
           ns[n - 1] / 1e3);
}

int main(void)
{
    static int64_t spawn[ROUNDS], trigger[ROUNDS], plain[ROUNDS];
    int triggers = 0, plains = 0;

    /* 1. wp_pool_scale(+1), then back down. */
    wp_pool *pool;
    if (wp_pool_create(&(wp_config){ .scaling.min_workers = 1, .max_workers = 2 }, &pool) != WP_OK)
        return 1;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = wp__now_ns();
        if (wp_pool_scale(pool, 1) != WP_OK)
            return 1;
        spawn[i] = wp__now_ns() - t0;
        wp_pool_scale(pool, -1);
        wp_stats s;
        do
            wp_pool_stats(pool, &s);
        while (s.workers != 1);
    }
    wp_pool_destroy(pool);

    /* 2. One worker held by a gate job, a queue of 4 filled up; the next
       submit finds it full and starts a second worker on the way. */
    for (int i = 0; i < ROUNDS; i++) {
        atomic_store(&release_gate, 0);
        wp_config cfg = { .scaling.min_workers = 1, .max_workers = 2, .queue_capacity = 4,
                          .backpressure = WP_REJECT, .scaling.up_cooldown = WP_SEC(60) };
        if (wp_pool_create(&cfg, &pool) != WP_OK)
            return 1;
        wp_submit(pool, wait_for_gate, NULL);
        wp_stats s;
        do
            wp_pool_stats(pool, &s);
        while (s.active != 1);
        for (int j = 0; j < 4; j++) {
            int64_t t0 = wp__now_ns();
            wp_submit(pool, wait_for_gate, NULL);
            if (plains < ROUNDS)
                plain[plains++] = wp__now_ns() - t0;
        }
        int64_t t0 = wp__now_ns();
        wp_status st = wp_submit(pool, nothing, NULL); /* full: spawns, then WP_FULL */
        int64_t dt = wp__now_ns() - t0;
        wp_pool_stats(pool, &s);
        if (st == WP_FULL && s.scale_ups == 1)
            trigger[triggers++] = dt;
        atomic_store(&release_gate, 1);
        wp_pool_destroy(pool);
    }

    printf("# auto-scaling costs (machine: %ld CPUs)\n\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("| call | samples | median us | p99 us | max us |\n|---|---:|---:|---:|---:|\n");
    report("wp_pool_scale(+1): start one worker", spawn, ROUNDS);
    report("wp_submit that finds the queue full and starts a worker", trigger, triggers);
    report("ordinary wp_submit into the same pools", plain, plains);
    return triggers == ROUNDS ? 0 : 1;
}
