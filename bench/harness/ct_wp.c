/* ct_wp.c - workerpool.h: a fixed pool of W workers (2 by default), queue
   1024, WP_BLOCK, otherwise the default config; any thread may submit. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "harness.h"

#include <stdio.h>

static wp_pool *pool;
static bench_fn job;

static int run_job(void *arg, wp_ctx *ctx)
{
    (void)ctx;
    job(arg);
    return 0;
}

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)producers;
    job = fn;
    wp_config cfg = {0};
    cfg.scaling.min_workers = workers;
    cfg.max_workers = workers;
    cfg.queue_capacity = (size_t)capacity;
    cfg.backpressure = WP_BLOCK;
    return wp_pool_create(&cfg, &pool) == WP_OK ? 0 : -1;
}

static void destroy(void)
{
    wp_pool_destroy(pool); /* drains */
}

static int submit(int producer, void *arg)
{
    (void)producer;
    return wp_submit(pool, run_job, arg) == WP_OK ? 0 : -1;
}

static size_t submit_batch(int producer, void *const *args, size_t n)
{
    (void)producer;
#ifdef WP_HAVE_SUBMIT_BATCH
    wp_job jobs[64];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < 64 ? n - done : 64;
        for (size_t i = 0; i < k; i++)
            jobs[i] = (wp_job){.fn = run_job, .arg = args[done + i]};
        size_t got = wp_submit_batch(pool, jobs, k, NULL);
        done += got;
        if (got < k)
            break;
    }
    return done;
#else
    /* FALLBACK until the header has wp_submit_batch: one by one. */
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += wp_submit(pool, run_job, args[i]) == WP_OK;
    return ok;
#endif
}

const contender bench_contender = {
    "workerpool",
#ifdef WP_HAVE_SUBMIT_BATCH
    CT_BOUNDED | CT_BATCH,
#else
    CT_BOUNDED | CT_FALLBACK,
#endif
    create, destroy, NULL, submit, submit_batch, NULL,
};
