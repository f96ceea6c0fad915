/* fj_omp.c - OpenMP in the fork-join comparison (see fj_common.h), built
   with -fopenmp; THREADS threads (omp_set_num_threads), the default wait
   policy. Loops: `parallel for schedule(dynamic, 1)` over the chunk
   indexes, which is `schedule(dynamic, grain)` over the items with every
   chunk run by the same kernel call as in the other contenders. fib: tasks,
   one per fork, and taskwait. The frame: one parallel region, three `for`
   loops (their implicit barriers order the stages). */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>

#include "fj_common.h"

static void setup(int threads)
{
    omp_set_dynamic(0);
    omp_set_num_threads(threads);
}

static void teardown(void)
{
}

static void loop(int v, size_t n, size_t grain, fj_chunk_fn fn)
{
    (void)v;
    long chunks = (long)((n + grain - 1) / grain);
#pragma omp parallel for schedule(dynamic, 1)
    for (long c = 0; c < chunks; c++) {
        size_t b = (size_t)c * grain;
        fn(b, n - b < grain ? n : b + grain);
    }
}

static long fib_task(int n)
{
    if (n < FJ_FIB_CUTOFF)
        return fj_fib_serial(n);
    long left = 0;
#pragma omp task shared(left) firstprivate(n)
    left = fib_task(n - 1);
    long right = fib_task(n - 2);
#pragma omp taskwait
    return left + right;
}

static long fib(int n)
{
    long r = 0;
#pragma omp parallel
#pragma omp single
    r = fib_task(n);
    return r;
}

static void frame(size_t grain)
{
    size_t n = fj_nents;
    long chunks = (long)((n + grain - 1) / grain);
    fj_chunk_fn stage[3] = { fj_physics, fj_animation, fj_render };
#pragma omp parallel
    for (int s = 0; s < 3; s++) {
#pragma omp for schedule(dynamic, 1)
        for (long c = 0; c < chunks; c++) {
            size_t b = (size_t)c * grain;
            stage[s](b, n - b < grain ? n : b + grain);
        }
    }
}

int main(int argc, char **argv)
{
    static const fj_ops ops = {
        "openmp", 1, { "dynamic", NULL }, setup, teardown, loop, fib, frame, NULL,
    };
    return fj_main(argc, argv, &ops);
}
