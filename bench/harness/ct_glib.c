/* ct_glib.c - GLib's GThreadPool: max_threads = the workers (2 by default),
   exclusive (started at once, kept); the queue is an unbounded GAsyncQueue
   (no blocking submission, no batch call). Any thread may push. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <glib.h>

static GThreadPool *pool;
static bench_fn job;

static void run_job(gpointer data, gpointer user)
{
    (void)user;
    job(data);
}

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)capacity;
    (void)producers;
    job = fn;
    pool = g_thread_pool_new(run_job, NULL, workers, TRUE, NULL);
    return pool ? 0 : -1;
}

static void destroy(void)
{
    g_thread_pool_free(pool, FALSE, TRUE); /* waits for every queued job */
}

static int submit(int producer, void *arg)
{
    (void)producer;
    return g_thread_pool_push(pool, arg, NULL) ? 0 : -1;
}

const contender bench_contender = {"glib", 0, create, destroy, NULL, submit, NULL, NULL};
