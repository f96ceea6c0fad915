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
               thread count in /proc/self/task) within a bound;
     control   the job-control API under load: 2 workers, jobs with random
               priorities, deadlines (some expire), cancellation tokens
               (canceled at random moments), completion callbacks, handles
               (some waited for, some canceled, the rest released), the
               WP_DROP_OLDEST and WP_CALLER_RUNS policies besides the four,
               half of the jobs in batches (wp_submit_batch); meanwhile the
               receiver pauses and resumes the pool and calls
               wp_pool_wait_idle;
     inline    an inline-only pool (no workers): a submitter thread (whose
               WP_BLOCK submissions run queued jobs to make room) and the
               receiver, which runs the jobs with wp_pool_help and
               wp_pool_wait_idle; the same job options as control.
   Every job is tagged (its index in the cycle is its id) and every result
   counted: each accepted job must yield exactly one result (zero lost, zero
   duplicated), each refused one none, a job with a callback exactly one
   callback call with the same status (before its result), a status only
   where the job's options allow it (WP_EXPIRED only with a deadline,
   WP_CANCELED only with a canceled token or handle or a WP_CANCEL close,
   WP_EVICTED only under WP_DROP_OLDEST, and never a run for a job whose
   token was canceled before it was submitted), and the pool's stats must
   equal the tally, expired and evicted included. Across the whole run: resident memory (/proc/self/statm) may not
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

enum { KIND_MIXED, KIND_CANCEL, KIND_SCALING, KIND_CONTROL, KIND_INLINE, KINDS };
static const char *const kind_names[KINDS] = { "mixed", "cancel", "scaling", "control", "inline" };
#define TOKENS 4
#define HELD_HANDLES 8

/* Per-job options (bits of cycle.opts), set before the submission. */
enum { OPT_DEADLINE = 1, OPT_TOKEN = 2, OPT_PRE_CANCELED = 4, OPT_CALLBACK = 8,
       OPT_HANDLE_CANCELED = 16, OPT_MUST_EXPIRE = 32 };
#define PROBE_DEADLINE WP_US(100)

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
    uint64_t got_ok, got_failed, got_canceled, got_expired, got_evicted; /* results by status */
    /* job control */
    wp_token *tokens[TOKENS];
    atomic_uchar opts[MAX_JOBS];
    atomic_uchar callbacks[MAX_JOBS];      /* callback calls per job */
    atomic_int cb_status[MAX_JOBS];
    atomic_uint_least64_t cb_by_status[16]; /* callback calls by -status */
    atomic_uint_least64_t handle_waits;     /* outcomes taken through wp_job_wait */
    uint64_t res_cb_by_status[16];          /* results of jobs with a callback, by -status */
} cycle;

static cycle *current; /* for the callback */

static void soak_done(const wp_result *r)
{
    cycle *c = current;
    if (r->id >= MAX_JOBS)
        return;
    atomic_fetch_add(&c->callbacks[r->id], 1);
    atomic_store(&c->cb_status[r->id], (int)r->status);
    if (r->status <= 0 && r->status > -16)
        atomic_fetch_add(&c->cb_by_status[-r->status], 1);
}

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

static void book(cycle *c, int index, wp_status s);

/* Job control: a job with random options (recorded in c->opts first). */
static wp_job control_job(cycle *c, int index, unsigned *seed, wp_handle *handle)
{
    static const wp_backpressure policies[] = { WP_BLOCK,   WP_DROP,        WP_REJECT,
                                                WP_TIMEOUT, WP_DROP_OLDEST, WP_CALLER_RUNS };
    unsigned r = next_rand(seed);
    wp_job job = { .fn = soak_job, .id = (uint64_t)index, .backpressure = policies[r % 6],
                   .submit_timeout = WP_US(200), .priority = (wp_priority)((r >> 3) % 3) };
    unsigned opts = 0;
    if ((r >> 5) % 4 == 0) {
        job.deadline = WP_US(50) + WP_US((r >> 7) % 2000);
        opts |= OPT_DEADLINE;
    }
    if ((r >> 9) % 4 == 0) {
        job.token = c->tokens[(r >> 11) % TOKENS];
        opts |= OPT_TOKEN;
        if (wp_token_is_canceled(job.token))
            opts |= OPT_PRE_CANCELED;
    }
    if ((r >> 13) % 2 == 0) {
        job.on_done = soak_done;
        opts |= OPT_CALLBACK;
    }
    if (handle && (r >> 14) % 8 == 0)
        job.handle = handle;
    atomic_store(&c->opts[index], (unsigned char)opts);
    return job;
}

/* A handle's outcome taken by wp_job_wait: the same as the channel's. */
static void check_waited(cycle *c, const wp_result *r)
{
    SOAK_CHECK(r->id < MAX_JOBS && r->status <= 0, "wp_job_wait gave job %llu status %d",
               (unsigned long long)r->id, (int)r->status);
    atomic_fetch_add(&c->handle_waits, 1);
}

static void control_submitter(cycle *c, unsigned seed)
{
    wp_handle held[HELD_HANDLES];
    int held_ids[HELD_HANDLES];
    int nheld = 0;
    for (int k = 0; k < c->jobs_per_submitter;) {
        wp_job jobs[8];
        wp_handle handles[8];
        int ids[8];
        int n = next_rand(&seed) % 2 ? 8 : 1; /* half of the jobs in batches */
        int m = 0;
        for (; m < n && k < c->jobs_per_submitter; m++, k++) {
            ids[m] = atomic_fetch_add(&c->next_index, 1);
            if (ids[m] >= MAX_JOBS)
                break;
            jobs[m] = control_job(c, ids[m], &seed, nheld + m < HELD_HANDLES ? &handles[m] : NULL);
            /* an inline pool with nobody to take the jobs: never block alone */
        }
        if (m == 0)
            break;
        wp_status st[8];
        if (m == 1) {
            st[0] = wp_submit_job(c->pool, &jobs[0]);
        } else {
            size_t accepted = wp_submit_batch(c->pool, jobs, (size_t)m, st);
            size_t ok = 0;
            for (int i = 0; i < m; i++)
                ok += st[i] == WP_OK;
            SOAK_CHECK(ok == accepted, "batch: %zu accepted, %zu statuses WP_OK", accepted, ok);
        }
        for (int i = 0; i < m; i++) {
            book(c, ids[i], st[i]);
            if (st[i] == WP_OK && jobs[i].handle && nheld < HELD_HANDLES) {
                held[nheld] = handles[i];
                held_ids[nheld++] = ids[i];
            }
        }
        /* Do something with the handles now and then. */
        if (nheld > 0 && next_rand(&seed) % 4 == 0) {
            int h = (int)(next_rand(&seed) % (unsigned)nheld);
            unsigned what = next_rand(&seed) % 3;
            wp_status s;
            if (what == 0) {
                atomic_fetch_or(&c->opts[held_ids[h]], OPT_HANDLE_CANCELED);
                s = wp_job_cancel(c->pool, held[h]);
                SOAK_CHECK(s == WP_OK, "wp_job_cancel: %s", wp_status_str(s));
            }
            if (what <= 1) {
                wp_result r;
                s = wp_job_wait(c->pool, held[h], WP_US(500), &r);
                SOAK_CHECK(s == WP_OK || s == WP_TIMED_OUT, "wp_job_wait: %s", wp_status_str(s));
                if (s == WP_OK) {
                    SOAK_CHECK(r.id == (uint64_t)held_ids[h], "wp_job_wait: job %llu, want %d",
                               (unsigned long long)r.id, held_ids[h]);
                    check_waited(c, &r);
                    held[h] = held[--nheld];
                    held_ids[h] = held_ids[nheld];
                }
            } else {
                s = wp_job_release(c->pool, held[h]);
                SOAK_CHECK(s == WP_OK, "wp_job_release: %s", wp_status_str(s));
                held[h] = held[--nheld];
                held_ids[h] = held_ids[nheld];
            }
        }
    }
    for (int h = 0; h < nheld; h++) {
        wp_status s = wp_job_release(c->pool, held[h]);
        SOAK_CHECK(s == WP_OK, "wp_job_release: %s", wp_status_str(s));
    }
}

static void *submitter_main(void *arg)
{
    cycle *c = (cycle *)arg;
    unsigned seed = (unsigned)(uintptr_t)&seed ^ (unsigned)atomic_load(&c->next_index);
    if (c->kind == KIND_CONTROL || c->kind == KIND_INLINE) {
        control_submitter(c, seed);
        atomic_fetch_add(&c->submitters_done, 1);
        return NULL;
    }
    for (int k = 0; k < c->jobs_per_submitter; k++) {
        int index = atomic_fetch_add(&c->next_index, 1);
        if (index >= MAX_JOBS)
            break;
        static const wp_backpressure policies[] = { WP_BLOCK, WP_DROP, WP_REJECT, WP_TIMEOUT };
        wp_job job = { .fn = soak_job, .id = (uint64_t)index,
                       .backpressure = policies[next_rand(&seed) % 4], .submit_timeout = WP_US(200) };
        wp_status s = wp_submit_job(c->pool, &job);
        book(c, index, s);
        /* Bursts, then idle: mostly short pauses, now and then one longer
           than the idle timeout, so that workers retire mid-cycle. */
        if (c->kind == KIND_SCALING && k % 64 == 63)
            sleep_ms(k % 256 == 255 ? 30 : 1 + (long)(next_rand(&seed) % 4));
    }
    atomic_fetch_add(&c->submitters_done, 1);
    return NULL;
}

/* Counts one answered submission. */
static void book(cycle *c, int index, wp_status s)
{
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
        if (s != WP_OK && (c->opts[index] & OPT_CALLBACK))
            SOAK_CHECK(atomic_load(&c->callbacks[index]) == 0, "refused job %d had a callback", index);
}

typedef struct totals {
    uint64_t cycles[KINDS];
    uint64_t processed;      /* results received */
    uint64_t accepted, refused, canceled, expired, evicted, lost, duplicated, callbacks;
    uint64_t helped, pauses, wait_idles[2], handle_waits, probes;
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
    unsigned opts = atomic_load(&c->opts[id]);
    if ((opts & OPT_CALLBACK) && r->status <= 0 && r->status > -16)
        c->res_cb_by_status[-r->status]++;
    if (opts & OPT_CALLBACK) { /* the callback came first, with the same status */
        SOAK_CHECK(atomic_load(&c->callbacks[id]) == 1 && atomic_load(&c->cb_status[id]) == (int)r->status,
                   "job %llu: %d callback call(s), status %d, result status %d",
                   (unsigned long long)id, (int)atomic_load(&c->callbacks[id]),
                   atomic_load(&c->cb_status[id]), (int)r->status);
    } else {
        SOAK_CHECK(atomic_load(&c->callbacks[id]) == 0, "job %llu: a callback it did not ask for",
                   (unsigned long long)id);
    }
    if (r->status == WP_CANCELED || r->status == WP_EXPIRED || r->status == WP_EVICTED) {
        SOAK_CHECK(r->code == 0 && r->value == NULL, "job %llu never ran but has code %d",
                   (unsigned long long)id, r->code);
        if (r->status == WP_EXPIRED) {
            t->expired++;
            c->got_expired++;
            SOAK_CHECK(opts & OPT_DEADLINE, "job %llu expired without a deadline", (unsigned long long)id);
        } else if (r->status == WP_EVICTED) {
            t->evicted++;
            c->got_evicted++;
            SOAK_CHECK(c->kind == KIND_CONTROL || c->kind == KIND_INLINE,
                       "job %llu evicted in a %s cycle", (unsigned long long)id, kind_names[c->kind]);
        } else {
            t->canceled++;
            c->got_canceled++;
            if (c->kind != KIND_CANCEL && !(opts & (OPT_TOKEN | OPT_HANDLE_CANCELED)))
                SOAK_CHECK(0, "a %s cycle canceled job %llu", kind_names[c->kind],
                           (unsigned long long)id);
        }
    } else {
        /* A probe may run only if a worker took it within its deadline
           (the pause raced with a worker already taking a job). */
        if ((opts & OPT_MUST_EXPIRE) && r->queued_ns >= WP_MS(1))
            SOAK_CHECK(0, "probe job %llu ran %lld ns after it was queued, past its deadline",
                       (unsigned long long)id, (long long)r->queued_ns);
        if (opts & OPT_PRE_CANCELED)
            SOAK_CHECK(0, "job %llu ran although its token was canceled before it was submitted",
                       (unsigned long long)id);
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

/* The receiver's share of a control or inline cycle, once per loop: now
   and then cancel a token, pause the pool for a moment, wait for idle
   briefly; in an inline pool, run the queued jobs. */
static void control_step(cycle *c, totals *t, unsigned step)
{
    unsigned r = step * 2654435761u;
    wp_status s;
    if (c->kind == KIND_INLINE) {
        wp_pool_help(c->pool, WP_US(500));
        t->helped++;
    }
    if ((r >> 8) % 97 == 0) {
        wp_token_cancel(c->tokens[(r >> 16) % TOKENS]);
    }
    if (c->kind == KIND_CONTROL && (r >> 4) % 31 == 0) {
        s = wp_pool_pause(c->pool);
        SOAK_CHECK(s == WP_OK, "pause: %s", wp_status_str(s));
        wp_result res;
        if (wp_result_recv(c->pool, &res, WP_MS(1)) == WP_OK)
            receive(c, &res, t);
        /* Probes: jobs whose deadline passes while the pool is paused must
           expire (or be evicted), never run late. */
        for (int k = 0; k < 2; k++) {
            int index = atomic_fetch_add(&c->next_index, 1);
            if (index >= MAX_JOBS)
                break;
            atomic_store(&c->opts[index], OPT_DEADLINE | OPT_MUST_EXPIRE | OPT_CALLBACK);
            wp_job job = { .fn = soak_job, .id = (uint64_t)index, .backpressure = WP_REJECT,
                           .priority = WP_PRIORITY_HIGH, .deadline = PROBE_DEADLINE,
                           .on_done = soak_done };
            book(c, index, wp_submit_job(c->pool, &job));
            t->probes++;
        }
        double until = now_s() + 0.003;
        while (now_s() < until)
            if (wp_result_recv(c->pool, &res, WP_MS(1)) == WP_OK)
                receive(c, &res, t);
        s = wp_pool_resume(c->pool);
        SOAK_CHECK(s == WP_OK, "resume: %s", wp_status_str(s));
        t->pauses++;
    }
    if ((r >> 12) % 23 == 0) {
        s = wp_pool_wait_idle(c->pool, WP_MS(1));
        SOAK_CHECK(s == WP_OK || s == WP_TIMED_OUT, "wait_idle: %s", wp_status_str(s));
        t->wait_idles[s == WP_OK]++;
    }
}

static void run_cycle(int kind, totals *t, int base_threads)
{
    static cycle c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.jobs_per_submitter = kind == KIND_SCALING || kind == KIND_INLINE ? 1000 : 2000;
    current = &c;

    wp_config cfg = { 0 };
    cfg.queue_capacity = 16;
    cfg.result_capacity = 256; /* smaller than the load: received while it runs */
    if (kind == KIND_SCALING) {
        cfg.scaling.min_workers = 1;
        cfg.max_workers = 4;
        cfg.scaling.up_threshold = 2;
        cfg.scaling.up_cooldown = WP_MS(1);
        cfg.scaling.idle_timeout = WP_MS(20);
        cfg.scaling.down_cooldown = WP_MS(2);
    } else if (kind == KIND_INLINE) {
        cfg.inline_only = true;
        /* Room for every result: the receiver also runs jobs (wp_pool_help),
           and a job it runs must never wait for a receiver. */
        cfg.result_capacity = 2 * SUBMITTERS * 1000;
    } else {
        cfg.scaling.min_workers = cfg.max_workers = 2;
    }
    if (kind == KIND_CONTROL || kind == KIND_INLINE)
        for (int i = 0; i < TOKENS; i++)
            if (wp_token_create(&c.tokens[i]) != WP_OK)
                SOAK_CHECK(0, "wp_token_create failed");
    wp_status s = wp_pool_create(&cfg, &c.pool);
    SOAK_CHECK(s == WP_OK, "create: %s", wp_status_str(s));
    if (s != WP_OK)
        return;

    pthread_t threads[SUBMITTERS];
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_create(&threads[i], NULL, submitter_main, &c);

    /* Receive while the load runs; a cancel cycle closes midway. */
    unsigned rng_step = 0;
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
        if (kind == KIND_CONTROL || kind == KIND_INLINE)
            control_step(&c, t, rng_step++);
        if (wp_result_recv(c.pool, &r, kind == KIND_INLINE ? WP_NOWAIT : WP_MS(2)) == WP_OK)
            receive(&c, &r, t);
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(threads[i], NULL);

    /* Without a cancel, every accepted job's result comes: take them all
       before the close, so that no worker waits for room in the channel. */
    if (kind != KIND_CANCEL) {
        double wait_start = now_s();
        if (kind == KIND_CONTROL)
            wp_pool_resume(c.pool);
        if (kind == KIND_INLINE) { /* nobody else runs them */
            s = wp_pool_wait_idle(c.pool, WP_SEC(30));
            SOAK_CHECK(s == WP_OK, "inline wait_idle: %s", wp_status_str(s));
        }
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
    SOAK_CHECK(st.completed + st.failed + st.canceled + st.expired + st.evicted == st.submitted,
               "completed %llu + failed %llu + canceled %llu + expired %llu + evicted %llu"
               " != submitted %llu",
               (unsigned long long)st.completed, (unsigned long long)st.failed,
               (unsigned long long)st.canceled, (unsigned long long)st.expired,
               (unsigned long long)st.evicted, (unsigned long long)st.submitted);
    SOAK_CHECK(st.completed == c.got_ok && st.failed == c.got_failed && st.canceled == c.got_canceled
                   && st.expired == c.got_expired && st.evicted == c.got_evicted,
               "stats completed/failed/canceled/expired/evicted %llu/%llu/%llu/%llu/%llu,"
               " results %llu/%llu/%llu/%llu/%llu",
               (unsigned long long)st.completed, (unsigned long long)st.failed,
               (unsigned long long)st.canceled, (unsigned long long)st.expired,
               (unsigned long long)st.evicted, (unsigned long long)c.got_ok,
               (unsigned long long)c.got_failed, (unsigned long long)c.got_canceled,
               (unsigned long long)c.got_expired, (unsigned long long)c.got_evicted);
    /* The outcomes once more, counted through the callbacks: per job (one
       call each for the accepted jobs that asked, none otherwise) and per
       status (equal to the results of those jobs). */
    uint64_t cb_missing = 0;
    for (int i = 0; i < n; i++) {
        bool want = atomic_load(&c.submitted[i]) == SUB_ACCEPTED && (atomic_load(&c.opts[i]) & OPT_CALLBACK);
        if (atomic_load(&c.callbacks[i]) != (want ? 1 : 0))
            cb_missing++;
        t->callbacks += atomic_load(&c.callbacks[i]);
    }
    SOAK_CHECK(cb_missing == 0, "%llu jobs with the wrong number of callback calls",
               (unsigned long long)cb_missing);
    for (int i = 0; i < 16; i++)
        SOAK_CHECK(atomic_load(&c.cb_by_status[i]) == c.res_cb_by_status[i],
                   "status %d: %llu callback calls, %llu results of jobs with a callback", -i,
                   (unsigned long long)atomic_load(&c.cb_by_status[i]),
                   (unsigned long long)c.res_cb_by_status[i]);
    SOAK_CHECK(st.rejected == atomic_load(&c.rejected) && st.dropped == atomic_load(&c.dropped)
                   && st.timed_out == atomic_load(&c.timed_out)
                   && st.refused_closed == atomic_load(&c.refused_closed),
               "refusal counters differ from the tally");
    s = wp_pool_destroy(c.pool);
    SOAK_CHECK(s == WP_OK, "destroy: %s", wp_status_str(s));
    for (int i = 0; i < TOKENS; i++)
        wp_token_destroy(c.tokens[i]);
    t->handle_waits += atomic_load(&c.handle_waits);
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

    printf("cycles: %llu mixed, %llu cancel, %llu scaling, %llu control, %llu inline (each a fresh pool)\n",
           (unsigned long long)t.cycles[KIND_MIXED], (unsigned long long)t.cycles[KIND_CANCEL],
           (unsigned long long)t.cycles[KIND_SCALING], (unsigned long long)t.cycles[KIND_CONTROL],
           (unsigned long long)t.cycles[KIND_INLINE]);
    printf("jobs: %llu accepted, %llu refused, %llu results (%llu canceled, %llu expired, %llu evicted),"
           " %llu lost, %llu duplicated\n",
           (unsigned long long)t.accepted, (unsigned long long)t.refused,
           (unsigned long long)t.processed, (unsigned long long)t.canceled,
           (unsigned long long)t.expired, (unsigned long long)t.evicted,
           (unsigned long long)t.lost, (unsigned long long)t.duplicated);
    printf("job control: %llu callback calls, %llu outcomes taken by wp_job_wait, %llu pauses,"
           " %llu deadline probes, wait_idle %llu ok / %llu timed out, %llu wp_pool_help calls\n",
           (unsigned long long)t.callbacks, (unsigned long long)t.handle_waits,
           (unsigned long long)t.pauses, (unsigned long long)t.probes, (unsigned long long)t.wait_idles[1],
           (unsigned long long)t.wait_idles[0], (unsigned long long)t.helped);
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
