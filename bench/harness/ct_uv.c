/* ct_uv.c - libuv's uv_queue_work on its global thread pool
   (UV_THREADPOOL_SIZE = the workers, 2 by default). uv_queue_work may only be called on its loop's
   thread, so each producer has its own loop; the pool behind them is shared.
   Unbounded (no blocking submission), no batch call, one uv_work_t per job
   (malloc'd, freed in the after-work callback that the producer's loop runs
   every 256 submissions and at the end). */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define MAX_LOOPS 64 /* the harness's most producers */
static uv_loop_t loops[MAX_LOOPS];
static struct {
    _Alignas(64) unsigned long n; /* one cache line per producer */
} submitted[MAX_LOOPS];
static int nloops;
static bench_fn job;

static void work_cb(uv_work_t *req) { job(req->data); }
static void after_cb(uv_work_t *req, int status) { (void)status; free(req); }

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)capacity;
    if (producers > MAX_LOOPS)
        return -1;
    char n[16];
    snprintf(n, sizeof n, "%d", workers);
    setenv("UV_THREADPOOL_SIZE", n, 1); /* read once, at the first uv_queue_work */
    job = fn;
    nloops = producers;
    for (int i = 0; i < producers; i++)
        if (uv_loop_init(&loops[i]) != 0)
            return -1;
    return 0;
}

static void destroy(void)
{
    for (int i = 0; i < nloops; i++) {
        uv_run(&loops[i], UV_RUN_DEFAULT); /* runs the remaining after-work callbacks */
        uv_loop_close(&loops[i]);
    }
}

static int submit(int producer, void *arg)
{
    uv_work_t *req = malloc(sizeof *req);
    if (!req)
        return -1;
    req->data = arg;
    if (uv_queue_work(&loops[producer], req, work_cb, after_cb) != 0) {
        free(req);
        return -1;
    }
    if (++submitted[producer].n % 256 == 0)
        uv_run(&loops[producer], UV_RUN_NOWAIT);
    return 0;
}

const contender bench_contender = {"libuv", 0, create, destroy, NULL, submit, NULL, NULL};
