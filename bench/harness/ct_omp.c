/* ct_omp.c - OpenMP tasks (libgomp): a team of max(workers, producers)
   threads (2 by default); one producer creates one task per job inside
   `single`; with P producers, team threads 0..P-1 each produce. The team's
   threads are the workers, so producers run jobs too (at the closing
   barrier, and whenever libgomp throttles task creation and runs a new task
   at once): W workers with 1 producer is W threads in all, not W + 1. No
   bound with blocking submission, no batch call (taskloop would be one; not
   used). */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <omp.h>

static bench_fn job;
static int team;

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)capacity;
    job = fn;
    team = workers > producers ? workers : producers;
    omp_set_dynamic(0);
    return 0;
}

static void destroy(void) {}

static void run_producers(int n, void (*body)(int))
{
#pragma omp parallel num_threads(team)
    {
        if (n == 1) {
#pragma omp single nowait
            body(0);
        } else if (omp_get_thread_num() < n) {
            body(omp_get_thread_num());
        }
    } /* the barrier: every task has run */
}

static int submit(int producer, void *arg)
{
    (void)producer;
#pragma omp task firstprivate(arg)
    job(arg);
    return 0;
}

const contender bench_contender = {
    "openmp", CT_CALLER_RUNS, create, destroy, run_producers, submit, NULL, NULL,
};
