/* soak.c - a long mixed run that looks for slow leaks and rare losses.

     soak [SECONDS]        (default 60; `make soak SECONDS=600`)

   Until the time is up it runs cycles, each with a fresh pool (repeated
   create/destroy), of three kinds in turn:
     mixed     a fixed pool of 2 workers, a queue of 16, two submitter
               threads with a random policy per job (block, drop, reject,
               timeout), closed with WP_DRAIN after the load;
     cancel    the same, but the pool is closed with WP_CANCEL while the
               submitters are still running (they then see WP_CLOSED);
     scaling   min 1, max 4 workers, a short idle timeout: the submitters
               send bursts with pauses, so the pool grows and shrinks; after
               the load the workers must come back to min (wp_stats and the
               thread count in /proc/self/task) within a bound.
   Every job is tagged (its index in the cycle is its id) and every result
   counted: each accepted job must yield exactly one result (zero lost, zero
   duplicated), each refused one none, and the pool's stats must equal the
   tally. Across the whole run: resident memory (/proc/self/statm) may not
   grow by 5% or more after warm-up, and at the end no thread and no file
   descriptor may be left over. Prints jobs processed and throughput; the
   last line is "soak: N passed, N failed". Linux only (/proc). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long checks_passed, checks_failed;

#define SOAK_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (cond) {                                                           \
            checks_passed++;                                                  \
        } else {                                                              \
            checks_failed++;                                                  \
            printf("!! %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
            fflush(stdout);                                                   \
        }                                                                     \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int thread_count(void) { return count_dir("/proc/self/task"); }
/* (opendir's own descriptor is in the count each time, so it cancels out) */
static int fd_count(void) { return count_dir("/proc/self/fd"); }

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* --- one cycle ------------------------------------------------------------ */

#define MAX_JOBS 8192
#define SUBMITTERS 2

enum { KIND_MIXED, KIND_CANCEL, KIND_SCALING, KINDS };
static const char *const kind_names[KINDS] = { "mixed", "cancel", "scaling" };

/* What happened to each submission of the current cycle. */
enum { SUB_NONE, SUB_ACCEPTED, SUB_REFUSED };

typedef struct cycle {
    wp_pool *pool;
    int kind;
    int jobs_per_submitter;
    atomic_int next_index;
    atomic_uchar submitted[MAX_JOBS];
    unsigned char results[MAX_JOBS];   /* results received per job */
    atomic_uint_least64_t rejected, dropped, timed_out, refused_closed, accepted;
    atomic_int submitters_done;
    uint64_t got_ok, got_failed, got_canceled; /* results by status (receiver only) */
} cycle;

static int soak_job(void *arg, wp_ctx *ctx)
{
    uint64_t id = wp_ctx_id(ctx);
    /* A little work, so that queues fill and workers overlap. */
    volatile unsigned x = (unsigned)id;
    for (int i = 0; i < 200 + (int)(id % 7) * 100; i++)
        x = x * 1103515245u + 12345u;
    (void)arg;
    wp_ctx_set_value(ctx, (void *)(uintptr_t)(id + 1));
    return id % 11 == 0 ? (int)(id % 5) + 1 : 0;
}

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void *submitter_main(void *arg)
{
    cycle *c = (cycle *)arg;
    unsigned seed = (unsigned)(uintptr_t)&seed ^ (unsigned)atomic_load(&c->next_index);
    for (int k = 0; k < c->jobs_per_submitter; k++) {
        int index = atomic_fetch_add(&c->next_index, 1);
        if (index >= MAX_JOBS)
            break;
        static const wp_backpressure policies[] = { WP_BLOCK, WP_DROP, WP_REJECT, WP_TIMEOUT };
        wp_job job = { .fn = soak_job, .id = (uint64_t)index,
                       .backpressure = policies[next_rand(&seed) % 4], .timeout = WP_US(200) };
        wp_status s = wp_submit_job(c->pool, &job);
        switch (s) {
        case WP_OK: atomic_fetch_add(&c->accepted, 1); break;
        case WP_FULL: atomic_fetch_add(&c->rejected, 1); break;
        case WP_DROPPED: atomic_fetch_add(&c->dropped, 1); break;
        case WP_TIMED_OUT: atomic_fetch_add(&c->timed_out, 1); break;
        case WP_CLOSED: atomic_fetch_add(&c->refused_closed, 1); break;
        default: break;
        }
        atomic_store(&c->submitted[index], s == WP_OK ? SUB_ACCEPTED : SUB_REFUSED);
        if (s != WP_OK && s != WP_FULL && s != WP_DROPPED && s != WP_TIMED_OUT && s != WP_CLOSED)
            SOAK_CHECK(0, "submit answered %s", wp_status_str(s));
        if (s == WP_CLOSED && c->kind != KIND_CANCEL)
            SOAK_CHECK(0, "submit answered WP_CLOSED in an open pool");
        /* Bursts, then idle: mostly short pauses, now and then one longer
           than the idle timeout, so that workers retire mid-cycle. */
        if (c->kind == KIND_SCALING && k % 64 == 63)
            sleep_ms(k % 256 == 255 ? 30 : 1 + (long)(next_rand(&seed) % 4));
    }
    atomic_fetch_add(&c->submitters_done, 1);
    return NULL;
}

typedef struct totals {
    uint64_t cycles[KINDS];
    uint64_t processed;      /* results received */
    uint64_t accepted, refused, canceled, lost, duplicated;
    double slowest_scale_down;
} totals;

static void receive(cycle *c, wp_result *r, totals *t)
{
    uint64_t id = r->id;
    if (id >= MAX_JOBS) {
        SOAK_CHECK(id < MAX_JOBS, "result for unknown id %llu", (unsigned long long)id);
        return;
    }
    if (c->results[id] == 1) {
        t->duplicated++;
        SOAK_CHECK(0, "job %llu got a second result", (unsigned long long)id);
    }
    c->results[id]++;
    t->processed++;
    if (r->status == WP_CANCELED) {
        t->canceled++;
        c->got_canceled++;
        if (c->kind != KIND_CANCEL)
            SOAK_CHECK(0, "a %s cycle canceled job %llu", kind_names[c->kind],
                       (unsigned long long)id);
    } else {
        int want = id % 11 == 0 ? (int)(id % 5) + 1 : 0;
        if (r->status == WP_OK)
            c->got_ok++;
        else
            c->got_failed++;
        if (r->code != want || r->value != (void *)(uintptr_t)(id + 1)
            || r->status != (want ? WP_TASK_FAILED : WP_OK))
            SOAK_CHECK(0, "job %llu: code %d status %d", (unsigned long long)id, r->code,
                       (int)r->status);
    }
}

static void run_cycle(int kind, totals *t, int base_threads)
{
    static cycle c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.jobs_per_submitter = kind == KIND_SCALING ? 1000 : 2000;

    wp_config cfg = { 0 };
    cfg.queue_capacity = 16;
    cfg.result_capacity = 256; /* smaller than the load: received while it runs */
    if (kind == KIND_SCALING) {
        cfg.min_workers = 1;
        cfg.max_workers = 4;
        cfg.scale_up_threshold = 2;
        cfg.scale_up_cooldown = WP_MS(1);
        cfg.idle_timeout = WP_MS(20);
        cfg.scale_down_cooldown = WP_MS(2);
    } else {
        cfg.min_workers = cfg.max_workers = 2;
    }
    wp_status s = wp_pool_create(&cfg, &c.pool);
    SOAK_CHECK(s == WP_OK, "create: %s", wp_status_str(s));
    if (s != WP_OK)
        return;

    pthread_t threads[SUBMITTERS];
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_create(&threads[i], NULL, submitter_main, &c);

    /* Receive while the load runs; a cancel cycle closes midway. */
    bool closed = false;
    uint64_t processed_before = t->processed;
    double start = now_s();
    wp_result r;
    while (atomic_load(&c.submitters_done) < SUBMITTERS) {
        if (kind == KIND_CANCEL && !closed && now_s() - start > 0.005) {
            /* The close waits for the workers, which may wait for room in
               the result channel: close from here only with a timeout, and
               keep receiving until it is done. */
            wp_status cs;
            while ((cs = wp_pool_close(c.pool, WP_CANCEL, WP_MS(1))) == WP_FORCED) {
                while (wp_result_recv(c.pool, &r, WP_NOWAIT) == WP_OK)
                    receive(&c, &r, t);
            }
            SOAK_CHECK(cs == WP_OK, "cancel close: %s", wp_status_str(cs));
            closed = true;
        }
        if (wp_result_recv(c.pool, &r, WP_MS(2)) == WP_OK)
            receive(&c, &r, t);
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(threads[i], NULL);

    /* Without a cancel, every accepted job's result comes: take them all
       before the close, so that no worker waits for room in the channel. */
    if (kind != KIND_CANCEL) {
        double wait_start = now_s();
        while (t->processed - processed_before < atomic_load(&c.accepted) && now_s() - wait_start < 30) {
            if (wp_result_recv(c.pool, &r, WP_MS(100)) == WP_OK)
                receive(&c, &r, t);
        }
    }

    if (kind == KIND_SCALING) {
        /* Let the pool fall back to min. */
        double idle_start = now_s();
        wp_stats st;
        int threads_now = -1;
        do {
            sleep_ms(5);
            wp_pool_stats(c.pool, &st);
            threads_now = thread_count();
        } while ((st.workers != 1 || threads_now != base_threads + 1) && now_s() - idle_start < 5.0);
        double took = now_s() - idle_start;
        if (took > t->slowest_scale_down)
            t->slowest_scale_down = took;
        SOAK_CHECK(st.workers == 1, "workers %d after %.2f s idle (min 1)", st.workers, took);
        SOAK_CHECK(threads_now == base_threads + 1, "%d threads after idle, want %d", threads_now,
                   base_threads + 1);
    }

    /* Close (drain) and collect the rest: then every outcome is in. A
       cancel cycle may still have results in the channel, so it closes with
       a timeout and receives between tries. */
    wp_status cs;
    if (kind == KIND_CANCEL) {
        while ((cs = wp_pool_close(c.pool, WP_DRAIN, WP_MS(10))) == WP_FORCED)
            while (wp_result_recv(c.pool, &r, WP_NOWAIT) == WP_OK)
                receive(&c, &r, t);
    } else {
        cs = wp_pool_close(c.pool, WP_DRAIN, WP_SEC(30));
    }
    SOAK_CHECK(cs == WP_OK, "drain close: %s", wp_status_str(cs));
    while ((s = wp_result_recv(c.pool, &r, WP_MS(200))) == WP_OK)
        receive(&c, &r, t);
    SOAK_CHECK(s == WP_CLOSED, "recv after close: %s", wp_status_str(s));

    int n = atomic_load(&c.next_index);
    if (n > MAX_JOBS)
        n = MAX_JOBS;
    uint64_t accepted = 0, refused = 0, lost = 0;
    for (int i = 0; i < n; i++) {
        int sub = atomic_load(&c.submitted[i]);
        if (sub == SUB_ACCEPTED) {
            accepted++;
            if (c.results[i] == 0)
                lost++;
        } else {
            refused++;
            if (c.results[i] != 0)
                SOAK_CHECK(0, "refused job %d has a result", i);
        }
    }
    t->lost += lost;
    t->accepted += accepted;
    t->refused += refused;
    SOAK_CHECK(lost == 0, "%llu accepted jobs without a result", (unsigned long long)lost);

    wp_stats st;
    wp_pool_stats(c.pool, &st);
    SOAK_CHECK(st.submitted == accepted && st.submitted == atomic_load(&c.accepted),
               "stats submitted %llu, tally %llu", (unsigned long long)st.submitted,
               (unsigned long long)accepted);
    SOAK_CHECK(st.completed + st.failed + st.canceled == st.submitted,
               "completed %llu + failed %llu + canceled %llu != submitted %llu",
               (unsigned long long)st.completed, (unsigned long long)st.failed,
               (unsigned long long)st.canceled, (unsigned long long)st.submitted);
    SOAK_CHECK(st.completed == c.got_ok && st.failed == c.got_failed && st.canceled == c.got_canceled,
               "stats completed/failed/canceled %llu/%llu/%llu, results %llu/%llu/%llu",
               (unsigned long long)st.completed, (unsigned long long)st.failed,
               (unsigned long long)st.canceled, (unsigned long long)c.got_ok,
               (unsigned long long)c.got_failed, (unsigned long long)c.got_canceled);
    SOAK_CHECK(st.rejected == atomic_load(&c.rejected) && st.dropped == atomic_load(&c.dropped)
                   && st.timed_out == atomic_load(&c.timed_out)
                   && st.refused_closed == atomic_load(&c.refused_closed),
               "refusal counters differ from the tally");
    s = wp_pool_destroy(c.pool);
    SOAK_CHECK(s == WP_OK, "destroy: %s", wp_status_str(s));
    t->cycles[kind]++;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    if (seconds <= 0)
        seconds = 60;
    /* A fifth of the run, at most 20 s: pools, stacks and malloc arenas
       reach their working size first. */
    double warmup = seconds * 0.2 < 20 ? seconds * 0.2 : 20;
    int base_threads = thread_count();
    int base_fds = fd_count();
    printf("soak: %.0f s, warm-up %.1f s; %d thread(s), %d fds at start\n", seconds, warmup,
           base_threads, base_fds);
    fflush(stdout);

    totals t;
    memset(&t, 0, sizeof t);
    double start = now_s(), next_report = start + 10;
    long rss_base = -1, rss_max_after = 0;
    int kind = 0;
    while (now_s() - start < seconds) {
        run_cycle(kind, &t, base_threads);
        kind = (kind + 1) % KINDS;
        double now = now_s();
        long rss = rss_kib();
        if (rss_base < 0 && now - start >= warmup)
            rss_base = rss;
        else if (rss_base >= 0 && rss > rss_max_after)
            rss_max_after = rss;
        if (now >= next_report) {
            printf("  %4.0f s: %llu jobs processed, rss %ld KiB\n", now - start,
                   (unsigned long long)t.processed, rss);
            fflush(stdout);
            next_report = now + 10;
        }
    }
    double elapsed = now_s() - start;
    long rss_end = rss_kib();
    if (rss_end > rss_max_after)
        rss_max_after = rss_end;

    printf("cycles: %llu mixed, %llu cancel, %llu scaling (each a fresh pool)\n",
           (unsigned long long)t.cycles[KIND_MIXED], (unsigned long long)t.cycles[KIND_CANCEL],
           (unsigned long long)t.cycles[KIND_SCALING]);
    printf("jobs: %llu accepted, %llu refused, %llu results (%llu canceled), %llu lost, %llu duplicated\n",
           (unsigned long long)t.accepted, (unsigned long long)t.refused,
           (unsigned long long)t.processed, (unsigned long long)t.canceled,
           (unsigned long long)t.lost, (unsigned long long)t.duplicated);
    printf("throughput: %.0f jobs/s processed over %.1f s\n", (double)t.processed / elapsed, elapsed);
    printf("scale-down to min after load: slowest %.3f s\n", t.slowest_scale_down);
    SOAK_CHECK(t.processed > 0, "no job processed");
    SOAK_CHECK(t.lost == 0 && t.duplicated == 0, "lost %llu duplicated %llu",
               (unsigned long long)t.lost, (unsigned long long)t.duplicated);
    if (rss_base > 0) {
        double drift = 100.0 * (double)(rss_max_after - rss_base) / (double)rss_base;
        printf("rss: %ld KiB after warm-up, at most %ld KiB later (%+.2f%%)\n", rss_base,
               rss_max_after, drift);
        SOAK_CHECK(drift < 5.0, "RSS grew %.2f%% after warm-up", drift);
    } else {
        SOAK_CHECK(rss_base > 0, "the run was too short to measure RSS after warm-up");
    }
    int threads_end = thread_count(), fds_end = fd_count();
    printf("threads: %d at the end (%d at start); fds: %d at the end (%d at start)\n", threads_end,
           base_threads, fds_end, base_fds);
    SOAK_CHECK(threads_end == base_threads, "thread leak: %d -> %d", base_threads, threads_end);
    SOAK_CHECK(fds_end == base_fds, "fd leak: %d -> %d", base_fds, fds_end);
    printf("soak: %ld passed, %ld failed\n", checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
