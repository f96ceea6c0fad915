// caller.cpp - workerpool.h from C++: this file includes the header (the
// declarations only) and calls the API; the implementation is compiled as C
// in its own unit (tests/linkage/impl.c) and linked in. `make test-cpp`
// builds it with -std=c++11 and -std=c++17 and runs both.
//
// The implementation itself does not compile as C++ (it uses _Atomic types
// from <stdatomic.h>, _Alignas and _Thread_local): compile it as C.
#include "workerpool.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

static int passed = 0, failed = 0;

static void check(bool ok, const char *what)
{
    std::printf("%s%s\n", ok ? "ok  " : "FAIL ", what);
    (ok ? passed : failed)++;
}

static std::atomic<int> ran(0);

static int square(void *arg, wp_ctx *ctx)
{
    std::intptr_t n = reinterpret_cast<std::intptr_t>(arg);
    ran.fetch_add(1);
    wp_ctx_set_value(ctx, reinterpret_cast<void *>(n * n));
    return wp_ctx_worker(ctx) >= 0 ? 0 : 1;
}

static int fail_with_7(void *, wp_ctx *) { return 7; }

// A hook from C++: one callback type (wp_hook_fn) for every kind.
static void count_event(const wp_event *event, void *user)
{
    std::atomic<int> *counts = static_cast<std::atomic<int> *>(user);
    counts[event->kind == WP_EVENT_THREAD_START ? 0 : event->kind == WP_EVENT_ERROR ? 1 : 2]
        .fetch_add(1);
}

int main()
{
    wp_config config = {};
    config.name = "cpp";
    config.max_workers = 3;
    config.queue_capacity = 8;
    config.result_capacity = 64;
    // The config's parts are plain nested structs: C++ sets them member by
    // member (nested designated initialisers are C only).
    std::atomic<int> events[3] = { {0}, {0}, {0} };
    config.hooks.thread_start = count_event;
    config.hooks.error = count_event;
    config.hooks.user = events;
    config.scaling.up_cooldown = WP_MS(5);
    config.rate.burst = 4;
    config.observe.latency = true;
    wp_pool *pool = nullptr;
    check(wp_pool_create(&config, &pool) == WP_OK && pool != nullptr, "wp_pool_create");
    if (!pool)
        return 1;

    // A C++ thread receives while the main thread submits.
    const int jobs = 200;
    long long sum = 0;
    int received = 0;
    std::thread receiver([&] {
        wp_result r;
        while (wp_result_recv(pool, &r, WP_SEC(10)) == WP_OK) {
            if (r.status == WP_OK)
                sum += static_cast<long long>(reinterpret_cast<std::intptr_t>(r.value));
            received++;
        }
    });
    bool submitted = true;
    for (std::intptr_t i = 1; i <= jobs; i++)
        submitted = wp_submit(pool, square, reinterpret_cast<void *>(i)) == WP_OK && submitted;
    wp_job job = {};
    job.fn = fail_with_7;
    job.id = 42;
    job.backpressure = WP_BLOCK;
    submitted = wp_submit_job(pool, &job) == WP_OK && submitted;
    check(submitted, "wp_submit, wp_submit_job");
    check(wp_pool_close(pool, WP_DRAIN, WP_SEC(10)) == WP_OK, "wp_pool_close");
    receiver.join();

    long long want = 0;
    for (long long i = 1; i <= jobs; i++)
        want += i * i;
    check(received == jobs + 1 && sum == want, "wp_result_recv from a std::thread");
    check(ran.load() == jobs, "every job ran once");

    wp_stats s;
    std::memset(&s, 0, sizeof s);
    check(wp_pool_stats(pool, &s) == WP_OK && s.submitted == jobs + 1 && s.completed == jobs
              && s.failed == 1,
          "wp_pool_stats");
    char text[16384];
    int need = wp_stats_format_prometheus(&s, nullptr, 0);
    check(need > 0 && need < static_cast<int>(sizeof text)
              && wp_stats_format_prometheus(&s, text, sizeof text) == need
              && std::strstr(text, "workerpool_jobs_failed_total{pool=\"cpp\"} 1\n") != nullptr
              && wp_stats_format_json(&s, text, sizeof text) > 0
              && wp_stats_format_table(&s, text, sizeof text) > 0
              && wp_latency_bound(0) == 100,
          "wp_stats_format_* and wp_latency_bound");
    check(wp_submit(pool, square, nullptr) == WP_CLOSED, "submit after close is WP_CLOSED");
    check(std::strcmp(wp_status_str(WP_CLOSED), "the pool is closed") == 0, "wp_status_str");
    check(wp_pool_destroy(pool) == WP_OK, "wp_pool_destroy");
    check(events[0].load() == 3 && events[1].load() == 1 && events[2].load() == 0,
          "wp_config.hooks: thread_start per worker, error per failed job");

    // The standalone queue, with a C++ element type.
    struct point { int x, y; };
    std::vector<unsigned char> memory(wp_queue_footprint(4, sizeof(point)));
    wp_queue *q = nullptr;
    bool queue_ok = wp_queue_init(memory.data(), memory.size(), 4, sizeof(point), &q) == WP_OK;
    point in = { 1, 2 }, out = { 0, 0 };
    queue_ok = queue_ok && wp_queue_try_push(q, &in) && wp_queue_size(q) == 1
               && wp_queue_try_pop(q, &out) && out.x == 1 && out.y == 2
               && wp_queue_capacity(q) == 4;
    check(queue_ok, "wp_queue in caller memory");

#if __cplusplus >= 201703L
    std::printf("(C++17)\n");
#else
    std::printf("(C++11)\n");
#endif
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
