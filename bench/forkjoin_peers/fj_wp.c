/* fj_wp.c - workerpool.h in the fork-join comparison (see fj_common.h).
   THREADS - 1 workers plus the calling thread, which works on every loop
   (wp_parallel_for) and helps while it waits for a group (wp_group_wait),
   so THREADS threads take part, as in the OpenMP and oneTBB contenders.
   Loops: wp_parallel_for at the common grain ("grain") and at grain 0, the
   grain the pool picks ("auto"). fib: a job per fork, in a group of the
   forking call's own, which runs the other half itself and then waits for
   the group. The frame: three wp_parallel_for calls, one per stage. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include "fj_common.h"

static wp_pool *pool;

static void setup(int threads)
{
    wp_config c = { 0 };
    c.name = "fj";
    if (threads > 1)
        c.max_workers = c.scaling.min_workers = threads - 1;
    else
        c.inline_only = true;
    if (wp_pool_create(&c, &pool) != WP_OK) {
        fprintf(stderr, "fj_wp: wp_pool_create failed\n");
        exit(1);
    }
}

static void teardown(void)
{
    wp_pool_destroy(pool);
}

typedef struct chunk_call {
    fj_chunk_fn fn;
} chunk_call;

static int range_fn(void *arg, size_t b, size_t e, wp_ctx *ctx)
{
    (void)ctx;
    ((const chunk_call *)arg)->fn(b, e);
    return 0;
}

static void loop(int v, size_t n, size_t grain, fj_chunk_fn fn)
{
    chunk_call call = { fn };
    wp_status s = wp_parallel_for(pool, range_fn, &call, n, v == 0 ? grain : 0);
    if (s != WP_OK) {
        fprintf(stderr, "fj_wp: wp_parallel_for: %s\n", wp_status_str(s));
        exit(1);
    }
}

/* the grain wp_submit_range documents for grain 0: about 4 chunks per
   thread that may take part (the workers and the caller) */
static size_t grain_of(int v, size_t n, size_t grain)
{
    if (v == 0)
        return grain;
    size_t g = n / (4 * (size_t)(wp_pool_workers(pool) + 1));
    return g ? g : 1;
}

typedef struct fib_task {
    int n;
    long result;
} fib_task;

static long fib(int n);

static int fib_job(void *arg, wp_ctx *ctx)
{
    (void)ctx;
    fib_task *t = (fib_task *)arg;
    t->result = fib(t->n);
    return 0;
}

static long fib(int n)
{
    if (n < FJ_FIB_CUTOFF)
        return fj_fib_serial(n);
    wp_group g = { 0 };
    fib_task left = { n - 1, 0 };
    if (wp_submit_job(pool, &(wp_job){ .fn = fib_job, .arg = &left, .group = &g }) != WP_OK) {
        fprintf(stderr, "fj_wp: wp_submit_job failed\n");
        exit(1);
    }
    long right = fib(n - 2);
    wp_group_wait(pool, &g, WP_FOREVER);
    return left.result + right;
}

int main(int argc, char **argv)
{
    static const fj_ops ops = {
        "ours", 2, { "grain", "auto" }, setup, teardown, loop, fib, NULL, grain_of,
    };
    return fj_main(argc, argv, &ops);
}
