/* queue_bench.c - throughput of wp_queue against a textbook bounded MPMC ring.

   Workloads (pointer-sized items, uintptr_t, through a queue of capacity 1024):
     queue_1p1c   1 producer thread, 1 consumer thread
     queue_2p2c   2 producer threads, 2 consumer threads
   Producers spin on a full queue and consumers on an empty one, with a CPU
   pause hint between attempts. A run is timed from the start barrier to the
   last item consumed and reported as items per second.

   Contenders:
     wp_queue     the library's queue (wp_queue_create / try_push / try_pop)
     ring         the yardstick: a sequence-numbered bounded MPMC ring after
                  Dmitry Vyukov's design, written below for uintptr_t items
   Machine yardstick: the round trip of one cache line between two threads
   (ping-pong on an atomic flag).

   Every pass runs every contender on every workload (the order of the
   contenders alternates from pass to pass), then the ping-pong. The table
   gives the median and the range over the passes, and the ratio of the
   medians wp_queue / ring. It goes to stdout and to bench/results-queue.md.

   Correctness is checked on every run: the count and the sum of the items
   consumed, and that each consumer sees each producer's items in the order
   they were pushed. Any failure exits with status 1.

   Environment:
     BENCH_PASSES   number of passes (default 5)
     BENCH_ITEMS    items per run, across all producers (default 10000000)
*/
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_CAPACITY 1024
#define DEFAULT_PASSES 5
#define DEFAULT_ITEMS 10000000ULL
#define PINGPONG_TRIPS 1000000L
#define MAX_SIDE 2 /* most producers (or consumers) in a workload */
#define CACHE_LINE 64
#define RESULTS_PATH "bench/results-queue.md"

/* ---------------------------------------------------------------------------
   Small helpers
   ------------------------------------------------------------------------- */

/* A hint to the CPU that this thread is spinning. */
static inline void cpu_relax(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__aarch64__) || defined(__arm__))
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst); /* at least a compiler barrier */
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "queue_bench: %s\n", what);
    exit(1);
}

/* A reusable barrier on a mutex and a condition variable (pthread_barrier_t is
   optional in POSIX and missing on macOS). */
typedef struct barrier {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int parties;
    int waiting;
    unsigned generation;
} barrier;

static void barrier_init(barrier *b, int parties)
{
    if (pthread_mutex_init(&b->mutex, NULL) != 0 || pthread_cond_init(&b->cond, NULL) != 0)
        die("cannot create a barrier");
    b->parties = parties;
    b->waiting = 0;
    b->generation = 0;
}

static void barrier_destroy(barrier *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->mutex);
}

static void barrier_wait(barrier *b)
{
    pthread_mutex_lock(&b->mutex);
    unsigned gen = b->generation;
    if (++b->waiting == b->parties) {
        b->waiting = 0;
        b->generation++;
        pthread_cond_broadcast(&b->cond);
    } else {
        while (gen == b->generation)
            pthread_cond_wait(&b->cond, &b->mutex);
    }
    pthread_mutex_unlock(&b->mutex);
}

/* ---------------------------------------------------------------------------
   The yardstick: a bounded MPMC ring with a sequence number per cell
   (Dmitry Vyukov's design).

   Cell i starts with sequence i. A producer at position pos may fill the cell
   pos & mask when its sequence equals pos; it claims the position with a CAS
   on the enqueue position, writes the item and publishes sequence pos + 1.
   A consumer at position pos may empty that cell when its sequence equals
   pos + 1; it claims the position with a CAS on the dequeue position, reads
   the item and publishes pos + capacity, which is what the producer one lap
   later waits for. A sequence behind the position means full (producer) or
   empty (consumer); one ahead means another thread won the position, so the
   thread reloads it and tries again.
   ------------------------------------------------------------------------- */

typedef struct ring_cell {
    atomic_size_t seq;
    uintptr_t item;
} ring_cell;

typedef struct ring {
    _Alignas(CACHE_LINE) ring_cell *cells; /* read-only after creation */
    size_t mask;
    _Alignas(CACHE_LINE) atomic_size_t enqueue_pos;
    _Alignas(CACHE_LINE) atomic_size_t dequeue_pos;
    char pad[CACHE_LINE - sizeof(atomic_size_t)];
} ring;

/* capacity: a power of two, at least 2. */
static ring *ring_create(size_t capacity)
{
    ring *r = aligned_alloc(CACHE_LINE, sizeof(ring));
    ring_cell *cells = aligned_alloc(CACHE_LINE, capacity * sizeof(ring_cell));
    if (r == NULL || cells == NULL) {
        free(r);
        free(cells);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++) {
        atomic_init(&cells[i].seq, i);
        cells[i].item = 0;
    }
    r->cells = cells;
    r->mask = capacity - 1;
    atomic_init(&r->enqueue_pos, 0);
    atomic_init(&r->dequeue_pos, 0);
    return r;
}

static void ring_destroy(ring *r)
{
    if (r != NULL) {
        free(r->cells);
        free(r);
    }
}

static bool ring_try_push(ring *r, uintptr_t item)
{
    size_t pos = atomic_load_explicit(&r->enqueue_pos, memory_order_relaxed);
    ring_cell *cell;
    for (;;) {
        cell = &r->cells[pos & r->mask];
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)(seq - pos);
        if (diff == 0) {
            /* On failure the CAS reloads pos; go round with the new value. */
            if (atomic_compare_exchange_weak_explicit(&r->enqueue_pos, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return false; /* the cell still holds the item from one lap ago */
        } else {
            pos = atomic_load_explicit(&r->enqueue_pos, memory_order_relaxed);
        }
    }
    cell->item = item;
    atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
    return true;
}

static bool ring_try_pop(ring *r, uintptr_t *out)
{
    size_t pos = atomic_load_explicit(&r->dequeue_pos, memory_order_relaxed);
    ring_cell *cell;
    for (;;) {
        cell = &r->cells[pos & r->mask];
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)(seq - (pos + 1));
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->dequeue_pos, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return false; /* nothing published in this cell yet */
        } else {
            pos = atomic_load_explicit(&r->dequeue_pos, memory_order_relaxed);
        }
    }
    *out = cell->item;
    atomic_store_explicit(&cell->seq, pos + r->mask + 1, memory_order_release);
    return true;
}

/* ---------------------------------------------------------------------------
   One run: P producers, C consumers, one queue.
   ------------------------------------------------------------------------- */

typedef struct run_shared {
    void *queue;
    barrier start;
    int producers;
    uintptr_t hi[MAX_SIDE]; /* producer p pushes the items hi[p-1]+1 .. hi[p] */
} run_shared;

typedef struct worker {
    _Alignas(CACHE_LINE) run_shared *shared;
    uintptr_t first, last;  /* producer: the items it pushes, first..last */
    uint64_t quota;         /* consumer: how many items it pops */
    int64_t start_ns;       /* after the start barrier */
    int64_t end_ns;         /* consumer: after its last item */
    uint64_t sum;           /* consumer: sum of the items it popped */
    uint64_t count;         /* consumer: number of items it popped */
    uint64_t out_of_order;  /* consumer: items older than one seen before */
} worker;

/* The thread bodies, once per contender, so that each calls its queue
   directly (no function pointer in the hot loop). */
#define DEFINE_THREADS(NAME, QTYPE, PUSH, POP)                                   \
    static void *NAME##_producer(void *arg)                                      \
    {                                                                            \
        worker *w = arg;                                                         \
        QTYPE *q = w->shared->queue;                                             \
        barrier_wait(&w->shared->start);                                         \
        w->start_ns = now_ns();                                                  \
        for (uintptr_t v = w->first; v <= w->last; v++) {                        \
            while (!PUSH(q, v))                                                  \
                cpu_relax();                                                     \
        }                                                                        \
        return NULL;                                                             \
    }                                                                            \
    static void *NAME##_consumer(void *arg)                                      \
    {                                                                            \
        worker *w = arg;                                                         \
        run_shared *s = w->shared;                                               \
        QTYPE *q = s->queue;                                                     \
        uintptr_t seen[MAX_SIDE] = {0}; /* newest item seen per producer */      \
        uint64_t sum = 0, bad = 0;                                               \
        barrier_wait(&s->start);                                                 \
        w->start_ns = now_ns();                                                  \
        for (uint64_t n = w->quota; n > 0; n--) {                                \
            uintptr_t v;                                                         \
            while (!POP(q, &v))                                                  \
                cpu_relax();                                                     \
            sum += v;                                                            \
            int p = 0;                                                           \
            while (p + 1 < s->producers && v > s->hi[p])                         \
                p++;                                                             \
            bad += v <= seen[p];                                                 \
            seen[p] = v;                                                         \
        }                                                                        \
        w->end_ns = now_ns();                                                    \
        w->sum = sum;                                                            \
        w->count = w->quota;                                                     \
        w->out_of_order = bad;                                                   \
        return NULL;                                                             \
    }

static inline bool wpq_push(wp_queue *q, uintptr_t v) { return wp_queue_try_push(q, &v); }
static inline bool wpq_pop(wp_queue *q, uintptr_t *v) { return wp_queue_try_pop(q, v); }

DEFINE_THREADS(wpq, wp_queue, wpq_push, wpq_pop)
DEFINE_THREADS(ring, ring, ring_try_push, ring_try_pop)

enum { C_WPQ, C_RING, N_CONTENDERS };
static const char *const contender_name[N_CONTENDERS] = {"wp_queue", "ring (Vyukov)"};

typedef struct workload {
    const char *name;
    int producers, consumers;
} workload;

static const workload workloads[] = {
    {"queue_1p1c", 1, 1},
    {"queue_2p2c", 2, 2},
};
#define N_WORKLOADS ((int)(sizeof workloads / sizeof workloads[0]))

/* The watchdog: a lost item would leave a consumer spinning forever. */
static char watchdog_msg[256];

static void watchdog_fire(int sig)
{
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, watchdog_msg, strlen(watchdog_msg));
    (void)ignored;
    _exit(1);
}

static void watchdog_arm(unsigned seconds, const char *what)
{
    snprintf(watchdog_msg, sizeof watchdog_msg,
             "queue_bench: %s did not finish within %u s (lost item or livelock?)\n",
             what, seconds);
    signal(SIGALRM, watchdog_fire);
    alarm(seconds);
}

static unsigned run_watchdog_seconds(uint64_t items)
{
    /* Generous: 60 s plus 10 s per million items (0.1 Mitems/s). */
    return (unsigned)(60 + items / 100000);
}

/* Runs one contender on one workload; returns items per second. */
static double run_queue(int contender, const workload *wl, uint64_t items)
{
    const int P = wl->producers, C = wl->consumers, T = P + C;
    run_shared shared;
    worker workers[2 * MAX_SIDE];
    pthread_t threads[2 * MAX_SIDE];
    char what[96];

    snprintf(what, sizeof what, "%s on %s", contender_name[contender], wl->name);
    memset(&shared, 0, sizeof shared);
    memset(workers, 0, sizeof workers);

    if (contender == C_WPQ) {
        wp_queue *q;
        wp_status st = wp_queue_create(QUEUE_CAPACITY, sizeof(uintptr_t), &q);
        if (st != WP_OK) {
            fprintf(stderr, "queue_bench: wp_queue_create: %s\n", wp_status_str(st));
            exit(1);
        }
        if (wp_queue_capacity(q) != QUEUE_CAPACITY)
            die("wp_queue_capacity is not the capacity asked for");
        shared.queue = q;
    } else {
        shared.queue = ring_create(QUEUE_CAPACITY);
        if (shared.queue == NULL)
            die("out of memory");
    }
    shared.producers = P;
    barrier_init(&shared.start, T);

    /* Items 1..items, split into P contiguous ranges; the consumers share the
       same count. */
    uintptr_t next = 1;
    for (int p = 0; p < P; p++) {
        uint64_t n = items / (uint64_t)P + ((uint64_t)p < items % (uint64_t)P);
        workers[p].first = next;
        workers[p].last = next + (uintptr_t)n - 1;
        shared.hi[p] = workers[p].last;
        next += (uintptr_t)n;
    }
    for (int c = 0; c < C; c++)
        workers[P + c].quota = items / (uint64_t)C + ((uint64_t)c < items % (uint64_t)C);

    void *(*producer)(void *) = contender == C_WPQ ? wpq_producer : ring_producer;
    void *(*consumer)(void *) = contender == C_WPQ ? wpq_consumer : ring_consumer;

    watchdog_arm(run_watchdog_seconds(items), what);
    for (int t = 0; t < T; t++) {
        workers[t].shared = &shared;
        if (pthread_create(&threads[t], NULL, t < P ? producer : consumer, &workers[t]) != 0)
            die("cannot start a thread");
    }
    for (int t = 0; t < T; t++)
        pthread_join(threads[t], NULL);
    alarm(0);

    int64_t start = INT64_MAX, end = 0;
    uint64_t sum = 0, count = 0, bad = 0;
    for (int t = 0; t < T; t++) {
        if (workers[t].start_ns < start)
            start = workers[t].start_ns;
        if (t >= P) {
            if (workers[t].end_ns > end)
                end = workers[t].end_ns;
            sum += workers[t].sum;
            count += workers[t].count;
            bad += workers[t].out_of_order;
        }
    }

    /* 1 + 2 + ... + items, modulo 2^64 like the consumers' sums. */
    uint64_t expect = items % 2 == 0 ? (items / 2) * (items + 1) : items * ((items + 1) / 2);
    if (count != items || sum != expect || bad != 0) {
        fprintf(stderr,
                "queue_bench: %s: WRONG: %llu items consumed (expected %llu), sum %llu "
                "(expected %llu), %llu out of order\n",
                what, (unsigned long long)count, (unsigned long long)items,
                (unsigned long long)sum, (unsigned long long)expect, (unsigned long long)bad);
        exit(1);
    }
    if (contender == C_WPQ) {
        if (wp_queue_size(shared.queue) != 0)
            die("wp_queue not empty after the run");
        wp_queue_destroy(shared.queue);
    } else {
        ring_destroy(shared.queue);
    }
    barrier_destroy(&shared.start);

    double secs = (double)(end - start) / 1e9;
    return secs > 0 ? (double)items / secs : 0.0;
}

/* ---------------------------------------------------------------------------
   Machine yardstick: one cache line bouncing between two threads.
   ------------------------------------------------------------------------- */

static struct {
    _Alignas(CACHE_LINE) atomic_int flag;
    char pad[CACHE_LINE - sizeof(atomic_int)];
} pingpong_line;

typedef struct pingpong_arg {
    barrier *start;
    long trips;
    int64_t start_ns, end_ns;
} pingpong_arg;

static void *pong_thread(void *arg)
{
    pingpong_arg *a = arg;
    barrier_wait(a->start);
    for (long i = 0; i < a->trips; i++) {
        while (atomic_load_explicit(&pingpong_line.flag, memory_order_acquire) != 1)
            cpu_relax();
        atomic_store_explicit(&pingpong_line.flag, 0, memory_order_release);
    }
    return NULL;
}

static void *ping_thread(void *arg)
{
    pingpong_arg *a = arg;
    barrier_wait(a->start);
    a->start_ns = now_ns();
    for (long i = 0; i < a->trips; i++) {
        atomic_store_explicit(&pingpong_line.flag, 1, memory_order_release);
        while (atomic_load_explicit(&pingpong_line.flag, memory_order_acquire) != 0)
            cpu_relax();
    }
    a->end_ns = now_ns();
    return NULL;
}

/* Returns nanoseconds per round trip. */
static double run_pingpong(long trips)
{
    barrier start;
    pingpong_arg a = {&start, trips, 0, 0};
    pthread_t ping, pong;

    atomic_store(&pingpong_line.flag, 0);
    barrier_init(&start, 2);
    watchdog_arm(60, "the cache-line ping-pong");
    if (pthread_create(&pong, NULL, pong_thread, &a) != 0 ||
        pthread_create(&ping, NULL, ping_thread, &a) != 0)
        die("cannot start a thread");
    pthread_join(ping, NULL);
    pthread_join(pong, NULL);
    alarm(0);
    barrier_destroy(&start);
    return (double)(a.end_ns - a.start_ns) / (double)trips;
}

/* ---------------------------------------------------------------------------
   Statistics and the report
   ------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct summary {
    double median, min, max;
} summary;

static summary summarize(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (s == NULL)
        die("out of memory");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    summary r = {n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]};
    free(s);
    return r;
}

static uint64_t env_count(const char *name, uint64_t fallback, uint64_t max)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return fallback;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max || s[0] == '-') {
        fprintf(stderr, "queue_bench: %s must be a whole number from 1 to %llu\n", name,
                (unsigned long long)max);
        exit(1);
    }
    return v;
}

static const char *compiler_string(void)
{
#if defined(__clang__)
    static const char raw[] = "clang " __clang_version__;
#elif defined(__GNUC__)
    static const char raw[] = "gcc " __VERSION__;
#elif defined(__VERSION__)
    static const char raw[] = __VERSION__;
#else
    static const char raw[] = "unknown compiler";
#endif
    static char buf[sizeof raw];
    memcpy(buf, raw, sizeof raw);
    for (size_t n = sizeof raw - 1; n > 0 && buf[n - 1] == ' '; n--)
        buf[n - 1] = '\0'; /* __clang_version__ ends in a space */
    return buf;
}

/* The compiler cannot tell a program its command line; the Makefile's bench
   rule is the one this file is written for. Build with -DBENCH_CFLAGS="..." to
   name other flags. What the compiler does reveal is checked below. */
#ifndef BENCH_CFLAGS
#define BENCH_CFLAGS "-std=c11 -O2 -g -DNDEBUG -pthread (the make bench rule)"
#endif

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon != NULL) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, size, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

typedef struct report {
    int passes;
    uint64_t items;
    long nproc;
    char cpu[128];
    double seconds;
    summary q[N_WORKLOADS][N_CONTENDERS];
    summary pingpong;
} report;

static void print_report(FILE *f, const report *r)
{
    fprintf(f, "# workerpool.h queue benchmark\n\n");
    fprintf(f, "machine: nproc %ld, %s; compiler: %s; flags: %s%s%s\n\n", r->nproc, r->cpu,
            compiler_string(), BENCH_CFLAGS,
#ifdef __OPTIMIZE__
            "",
#else
            " [WARNING: built without optimisation]",
#endif
#ifdef NDEBUG
            ""
#else
            " [WARNING: built without NDEBUG]"
#endif
    );
    fprintf(f,
            "method: %llu uintptr_t items per run, queue capacity %d, spin with pause on "
            "full/empty; %d passes, interleaved; median and min-max over the passes; "
            "whole run %.1f s\n\n",
            (unsigned long long)r->items, QUEUE_CAPACITY, r->passes, r->seconds);
    fprintf(f, "| workload | contender | median Mitems/s | min-max Mitems/s | wp_queue / ring |\n");
    fprintf(f, "|---|---|---:|---:|---:|\n");
    for (int w = 0; w < N_WORKLOADS; w++) {
        const summary *wpq = &r->q[w][C_WPQ], *rng = &r->q[w][C_RING];
        for (int c = 0; c < N_CONTENDERS; c++) {
            const summary *s = &r->q[w][c];
            fprintf(f, "| %s | %s | %.1f | %.1f-%.1f | ", workloads[w].name, contender_name[c],
                    s->median / 1e6, s->min / 1e6, s->max / 1e6);
            if (c == C_WPQ && rng->median > 0)
                fprintf(f, "%.2f |\n", wpq->median / rng->median);
            else
                fprintf(f, " |\n");
        }
    }
    fprintf(f, "\n| machine yardstick | median ns | min-max ns |\n");
    fprintf(f, "|---|---:|---:|\n");
    fprintf(f, "| cache-line round trip between 2 threads (%ld trips) | %.1f | %.1f-%.1f |\n",
            PINGPONG_TRIPS, r->pingpong.median, r->pingpong.min, r->pingpong.max);
    if (r->nproc < 4)
        fprintf(f, "\nnote: %ld CPUs online, so queue_2p2c runs 4 spinning threads on fewer "
                   "cores (oversubscribed): its numbers depend on the scheduler.\n",
                r->nproc);
}

int main(void)
{
    report r;
    memset(&r, 0, sizeof r);
    r.passes = (int)env_count("BENCH_PASSES", DEFAULT_PASSES, 1000);
    r.items = env_count("BENCH_ITEMS", DEFAULT_ITEMS, (uint64_t)UINT32_MAX);
#ifdef _SC_NPROCESSORS_ONLN
    r.nproc = sysconf(_SC_NPROCESSORS_ONLN);
#else
    r.nproc = -1;
#endif
    cpu_model(r.cpu, sizeof r.cpu);

    double *rate = malloc(sizeof(double) * (size_t)r.passes * N_WORKLOADS * N_CONTENDERS);
    double *rtt = malloc(sizeof(double) * (size_t)r.passes);
    if (rate == NULL || rtt == NULL)
        die("out of memory");
#define RATE(pass, w, c) rate[((size_t)(pass) * N_WORKLOADS + (size_t)(w)) * N_CONTENDERS + (size_t)(c)]

    int64_t t0 = now_ns();
    for (int pass = 0; pass < r.passes; pass++) {
        for (int w = 0; w < N_WORKLOADS; w++) {
            for (int k = 0; k < N_CONTENDERS; k++) {
                int c = pass % 2 ? N_CONTENDERS - 1 - k : k; /* alternate the order */
                RATE(pass, w, c) = run_queue(c, &workloads[w], r.items);
            }
        }
        rtt[pass] = run_pingpong(PINGPONG_TRIPS);
        fprintf(stderr, "queue_bench: pass %d/%d:", pass + 1, r.passes);
        for (int w = 0; w < N_WORKLOADS; w++)
            for (int c = 0; c < N_CONTENDERS; c++)
                fprintf(stderr, " %s %s %.1f;", workloads[w].name, contender_name[c],
                        RATE(pass, w, c) / 1e6);
        fprintf(stderr, " round trip %.1f ns\n", rtt[pass]);
    }
    r.seconds = (double)(now_ns() - t0) / 1e9;

    for (int w = 0; w < N_WORKLOADS; w++) {
        for (int c = 0; c < N_CONTENDERS; c++) {
            double *v = malloc(sizeof(double) * (size_t)r.passes);
            if (v == NULL)
                die("out of memory");
            for (int pass = 0; pass < r.passes; pass++)
                v[pass] = RATE(pass, w, c);
            r.q[w][c] = summarize(v, r.passes);
            free(v);
        }
    }
    r.pingpong = summarize(rtt, r.passes);
#undef RATE
    free(rate);
    free(rtt);

    print_report(stdout, &r);
    fflush(stdout);
    FILE *f = fopen(RESULTS_PATH, "w");
    if (f == NULL) {
        fprintf(stderr, "queue_bench: cannot write %s (run it from the repository root); "
                        "the table is on stdout only\n", RESULTS_PATH);
    } else {
        print_report(f, &r);
        if (fclose(f) != 0)
            fprintf(stderr, "queue_bench: error writing %s\n", RESULTS_PATH);
    }
    return 0;
}
