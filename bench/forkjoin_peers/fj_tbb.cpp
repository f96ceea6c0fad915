/* fj_tbb.cpp - oneTBB in the fork-join comparison (see fj_common.h), built
   with g++ -O2 ... -ltbb; THREADS threads (global_control's
   max_allowed_parallelism, the calling thread included). Loops:
   parallel_for with a simple_partitioner over the chunk indexes (each leaf
   exactly one chunk of `grain` items: "simple"), and parallel_for over the
   items with grainsize `grain` and the auto_partitioner (TBB's default, the
   grain a lower bound: "auto"). fib: task_group, one run() per fork, then
   wait(). The frame: three parallel_for calls, simple_partitioner. */
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_group.h>

#include "fj_common.h"

static tbb::global_control *control;

static void setup(int threads)
{
    control = new tbb::global_control(tbb::global_control::max_allowed_parallelism,
                                      (size_t)threads);
}

static void teardown(void)
{
    delete control;
}

static void loop(int v, size_t n, size_t grain, fj_chunk_fn fn)
{
    if (v == 0) {
        size_t chunks = (n + grain - 1) / grain;
        tbb::parallel_for(
            tbb::blocked_range<size_t>(0, chunks, 1),
            [=](const tbb::blocked_range<size_t> &r) {
                for (size_t c = r.begin(); c < r.end(); c++) {
                    size_t b = c * grain;
                    fn(b, n - b < grain ? n : b + grain);
                }
            },
            tbb::simple_partitioner());
    } else {
        tbb::parallel_for(
            tbb::blocked_range<size_t>(0, n, grain),
            [=](const tbb::blocked_range<size_t> &r) { fn(r.begin(), r.end()); },
            tbb::auto_partitioner());
    }
}

static long fib(int n)
{
    if (n < FJ_FIB_CUTOFF)
        return fj_fib_serial(n);
    long left = 0;
    tbb::task_group g;
    g.run([&] { left = fib(n - 1); });
    long right = fib(n - 2);
    g.wait();
    return left + right;
}

int main(int argc, char **argv)
{
    static const fj_ops ops = {
        "onetbb", 2, { "simple", "auto" }, setup, teardown, loop, fib, NULL, NULL,
    };
    return fj_main(argc, argv, &ops);
}
