// ct_tbb.cpp - oneTBB task_group: an arena with one slot per producer plus W
// worker slots (2 by default) (global_control allows exactly that many threads); each
// producer enters the arena and calls task_group::run per job, then wait(),
// which runs jobs on the producer's thread too. Unbounded, no batch call.
#include "harness.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <thread>
#include <vector>

static tbb::global_control *gc;
static tbb::task_arena *arena;
static tbb::task_group *groups[64]; // the harness's most producers
static bench_fn job;

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)capacity;
    if (producers > 64)
        return -1;
    job = fn;
    gc = new tbb::global_control(tbb::global_control::max_allowed_parallelism,
                                 (size_t)(workers + producers));
    arena = new tbb::task_arena(workers + producers, (unsigned)producers);
    for (int i = 0; i < producers; i++)
        groups[i] = new tbb::task_group;
    return 0;
}

static void destroy(void)
{
    for (auto &g : groups) {
        delete g;
        g = nullptr;
    }
    delete arena;
    delete gc;
}

static void run_producers(int n, void (*body)(int))
{
    std::vector<std::thread> ts;
    for (int i = 0; i < n; i++)
        ts.emplace_back([=] { arena->execute([=] { body(i); }); });
    for (auto &t : ts)
        t.join();
}

static int submit(int producer, void *arg)
{
    groups[producer]->run([arg] { job(arg); });
    return 0;
}

static void producer_done(int producer) { groups[producer]->wait(); }

extern "C" const contender bench_contender = {
    "onetbb", CT_CALLER_RUNS, create, destroy, run_producers, submit, nullptr, producer_done,
};
