/* queues.c - the bare queue workloads and the machine yardsticks.

   usage:
     bench-queues CONTENDER WORKLOAD ITEMS   CONTENDER: wp_queue, ring, ck_ring
                                            WORKLOAD: queue_1p1c, queue_2p2c
     bench-queues yardstick rtt TRIPS       cache-line round trip, ns per trip
     bench-queues yardstick wake N          thread wake-up latency (condvar), ns
     bench-queues yardstick futex N         round trip to a thread parked on a bare futex (Linux)
     bench-queues CONTENDER queue_1t ITEMS  one thread pushes 512 items and
                                            pops them, ITEMS in all (wp_queue,
                                            ring): for counting instructions
                                            (bench/callgrind.sh), not timing
     bench-queues calibrate                 spin iterations per microsecond
   Prints one RESULT line like the pool harness (harness.c).

   Queue workloads: ITEMS pointer-sized items (uintptr_t) through a queue of
   capacity 1024; producers spin on a full queue and consumers on an empty
   one, with a pause hint. Timed from the start barrier to the last item
   consumed. Checked: the count and sum of the items, and per-producer FIFO
   order at each consumer.

   Contenders:
     wp_queue   the library's queue (wp_queue_create / try_push / try_pop)
     ring       the yardstick: a textbook sequence-numbered bounded MPMC ring
                (Dmitry Vyukov's design), written below for uintptr_t items
     ck_ring    Concurrency Kit's ck_ring (1024 slots, of which ck uses 1023):
                its SPSC calls on queue_1p1c, its MPMC calls on queue_2p2c;
                built when ck_ring.h is found */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#  include <sys/syscall.h>
/* Hidden by _POSIX_C_SOURCE; the C library has it whatever the macros say. */
long syscall(long number, ...);
#endif

#define QUEUE_CAPACITY 1024
#define DEFAULT_PASSES 5
#define DEFAULT_ITEMS 10000000ULL
#define PINGPONG_TRIPS 1000000L
#define MAX_SIDE 2 /* most producers (or consumers) in a workload */
#define CACHE_LINE 64

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

/* A failed push or pop: pause, and every 128th time give the core away, so
   that on an oversubscribed machine (queue_2p2c on 2 cores) a spinning thread
   does not burn its whole time slice waiting for a preempted peer. */
static inline void backoff(unsigned *tries)
{
    if (++*tries % 128 == 0)
        sched_yield();
    else
        cpu_relax();
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
        unsigned tries = 0;                                                      \
        for (uintptr_t v = w->first; v <= w->last; v++) {                        \
            while (!PUSH(q, v))                                                  \
                backoff(&tries);                                                 \
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
        unsigned tries = 0;                                                      \
        barrier_wait(&s->start);                                                 \
        w->start_ns = now_ns();                                                  \
        for (uint64_t n = w->quota; n > 0; n--) {                                \
            uintptr_t v;                                                         \
            while (!POP(q, &v))                                                  \
                backoff(&tries);                                                 \
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

#ifdef HAVE_CK
#include <ck_ring.h>
typedef struct ckq {
    ck_ring_t ring;
    ck_ring_buffer_t *buf;
} ckq;
/* ck's own single-producer single-consumer calls on queue_1p1c (what a ck
   user would pick there), its MPMC calls on queue_2p2c. */
static inline bool ckq_push(ckq *q, uintptr_t v)
{
    return ck_ring_enqueue_mpmc(&q->ring, q->buf, (void *)v);
}
static inline bool ckq_pop(ckq *q, uintptr_t *v)
{
    void *p;
    if (!ck_ring_dequeue_mpmc(&q->ring, q->buf, &p))
        return false;
    *v = (uintptr_t)p;
    return true;
}
static inline bool cks_push(ckq *q, uintptr_t v)
{
    return ck_ring_enqueue_spsc(&q->ring, q->buf, (void *)v);
}
static inline bool cks_pop(ckq *q, uintptr_t *v)
{
    void *p;
    if (!ck_ring_dequeue_spsc(&q->ring, q->buf, &p))
        return false;
    *v = (uintptr_t)p;
    return true;
}
DEFINE_THREADS(ckq, ckq, ckq_push, ckq_pop)
DEFINE_THREADS(cks, ckq, cks_push, cks_pop)
#endif

enum { C_WPQ, C_RING, C_CK, N_CONTENDERS };
static const char *const contender_name[N_CONTENDERS] = {"wp_queue", "ring", "ck_ring"};

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
    } else if (contender == C_RING) {
        shared.queue = ring_create(QUEUE_CAPACITY);
        if (shared.queue == NULL)
            die("out of memory");
    } else {
#ifdef HAVE_CK
        ckq *q = malloc(sizeof *q);
        if (q == NULL || (q->buf = calloc(QUEUE_CAPACITY, sizeof *q->buf)) == NULL)
            die("out of memory");
        ck_ring_init(&q->ring, QUEUE_CAPACITY);
        shared.queue = q;
#endif
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
#ifdef HAVE_CK
    if (contender == C_CK) {
        producer = P == 1 && C == 1 ? cks_producer : ckq_producer;
        consumer = P == 1 && C == 1 ? cks_consumer : ckq_consumer;
    }
#endif

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
    } else if (contender == C_RING) {
        ring_destroy(shared.queue);
    } else {
#ifdef HAVE_CK
        free(((ckq *)shared.queue)->buf);
        free(shared.queue);
#endif
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

#define RTT_SAMPLE 1000 /* round trips per timed sample */

typedef struct pingpong_arg {
    barrier *start;
    long trips;
    int64_t start_ns, end_ns;
    int64_t *samples; /* ns per sample of RTT_SAMPLE trips */
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
    int64_t t = a->start_ns;
    for (long i = 0; i < a->trips; i++) {
        atomic_store_explicit(&pingpong_line.flag, 1, memory_order_release);
        while (atomic_load_explicit(&pingpong_line.flag, memory_order_acquire) != 0)
            cpu_relax();
        if ((i + 1) % RTT_SAMPLE == 0) {
            int64_t t2 = now_ns();
            a->samples[i / RTT_SAMPLE] = t2 - t;
            t = t2;
        }
    }
    a->end_ns = now_ns();
    return NULL;
}

static int cmp_i64(const void *a, const void *b);

/* Returns nanoseconds per round trip: the median over samples of RTT_SAMPLE
   trips, so that a sample in which a thread was preempted (a shared machine)
   does not count; the mean over all trips is *mean_ns. */
static double run_pingpong(long trips, double *mean_ns)
{
    barrier start;
    trips = trips < RTT_SAMPLE ? RTT_SAMPLE : trips - trips % RTT_SAMPLE;
    pingpong_arg a = {&start, trips, 0, 0, calloc((size_t)(trips / RTT_SAMPLE), sizeof(int64_t))};
    if (a.samples == NULL)
        die("out of memory");
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
    *mean_ns = (double)(a.end_ns - a.start_ns) / (double)trips;
    size_t n = (size_t)(trips / RTT_SAMPLE);
    qsort(a.samples, n, sizeof *a.samples, cmp_i64);
    double r = (double)a.samples[n / 2] / RTT_SAMPLE;
    free(a.samples);
    return r;
}

/* ---------------------------------------------------------------------------
   Machine yardstick: how long a sleeping thread takes to wake. The sleeper
   waits on a condition variable; the waker sleeps 1 ms (so the sleeper is
   truly parked), stamps the time and signals; the sleeper stamps its wake-up.
   ------------------------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned gen;
    int64_t sent;
    _Alignas(CACHE_LINE) atomic_int ack;
    long n;
    int64_t *lat;
} wake;

static void *sleeper_thread(void *arg)
{
    (void)arg;
    unsigned seen = 0;
    for (long i = 0; i < wake.n; i++) {
        pthread_mutex_lock(&wake.mu);
        while (wake.gen == seen)
            pthread_cond_wait(&wake.cv, &wake.mu);
        int64_t t = now_ns();
        seen = wake.gen;
        wake.lat[i] = t - wake.sent;
        pthread_mutex_unlock(&wake.mu);
        atomic_store_explicit(&wake.ack, 1, memory_order_release);
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run_wake(long n)
{
    pthread_t t;
    struct timespec gap = {0, 1000000};
    wake.n = n;
    wake.lat = calloc((size_t)n, sizeof *wake.lat);
    if (wake.lat == NULL)
        die("out of memory");
    pthread_mutex_init(&wake.mu, NULL);
    pthread_cond_init(&wake.cv, NULL);
    watchdog_arm(60 + (unsigned)(n / 100), "the wake-up yardstick");
    int64_t t0 = now_ns();
    if (pthread_create(&t, NULL, sleeper_thread, NULL) != 0)
        die("cannot start a thread");
    for (long i = 0; i < n; i++) {
        nanosleep(&gap, NULL);
        atomic_store_explicit(&wake.ack, 0, memory_order_relaxed);
        pthread_mutex_lock(&wake.mu);
        wake.sent = now_ns();
        wake.gen++;
        pthread_cond_signal(&wake.cv);
        pthread_mutex_unlock(&wake.mu);
        while (!atomic_load_explicit(&wake.ack, memory_order_acquire))
            cpu_relax();
    }
    pthread_join(t, NULL);
    alarm(0);
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(wake.lat, (size_t)n, sizeof *wake.lat, cmp_i64);
    printf("RESULT yardstick wake jobs=%ld secs=%.6f p50=%lld p99=%lld ok=1 flags=0\n", n, secs,
           (long long)wake.lat[n / 2], (long long)wake.lat[(size_t)((double)n * 0.99)]);
    free(wake.lat);
}

/* ---------------------------------------------------------------------------
   Machine yardstick: a wake-up on a bare futex, the least a round trip to a
   parked thread can cost on Linux, measured the way pingpong_sleep measures a
   pool: the sleeper waits on the word while it holds the generation it saw;
   the waker sleeps 1 ms, stamps the time, bumps the word, wakes one waiter
   (one system call, no mutex on either side) and spins until the sleeper's
   acknowledgement: p50 and p99 are of that round trip, as the waker sees it.
   wake_p50 is the one-way figure the condvar yardstick gives (the time until
   the sleeper runs, by the sleeper's clock). They differ by more than the
   acknowledgement where the waker's system call returns well after the
   sleeper has started (in a VM, waking an idle virtual CPU costs its waker
   an exit to the hypervisor).
   ------------------------------------------------------------------------- */

#if defined(__linux__) && defined(SYS_futex)
#define YS_FUTEX_WAIT 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define YS_FUTEX_WAKE 129 /* FUTEX_WAKE | FUTEX_PRIVATE_FLAG */

static struct {
    _Alignas(CACHE_LINE) atomic_uint word;
    int64_t sent;
    _Alignas(CACHE_LINE) atomic_int ack;
    long n;
    int64_t *lat, *trip;
} fwake;

static void *futex_sleeper_thread(void *arg)
{
    (void)arg;
    unsigned seen = 0;
    for (long i = 0; i < fwake.n; i++) {
        unsigned now;
        while ((now = atomic_load_explicit(&fwake.word, memory_order_acquire)) == seen)
            syscall(SYS_futex, (void *)&fwake.word, YS_FUTEX_WAIT, seen, NULL, NULL, 0);
        int64_t t = now_ns();
        seen = now;
        fwake.lat[i] = t - fwake.sent;
        atomic_store_explicit(&fwake.ack, 1, memory_order_release);
    }
    return NULL;
}

static void run_futex_wake(long n)
{
    pthread_t t;
    struct timespec gap = {0, 1000000};
    fwake.n = n;
    fwake.lat = calloc((size_t)n, sizeof *fwake.lat);
    fwake.trip = calloc((size_t)n, sizeof *fwake.trip);
    if (fwake.lat == NULL || fwake.trip == NULL)
        die("out of memory");
    watchdog_arm(60 + (unsigned)(n / 100), "the futex wake-up yardstick");
    int64_t t0 = now_ns();
    if (pthread_create(&t, NULL, futex_sleeper_thread, NULL) != 0)
        die("cannot start a thread");
    for (long i = 0; i < n; i++) {
        nanosleep(&gap, NULL);
        atomic_store_explicit(&fwake.ack, 0, memory_order_relaxed);
        fwake.sent = now_ns();
        atomic_fetch_add_explicit(&fwake.word, 1, memory_order_release);
        syscall(SYS_futex, (void *)&fwake.word, YS_FUTEX_WAKE, 1, NULL, NULL, 0);
        while (!atomic_load_explicit(&fwake.ack, memory_order_acquire))
            cpu_relax();
        fwake.trip[i] = now_ns() - fwake.sent;
    }
    pthread_join(t, NULL);
    alarm(0);
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(fwake.lat, (size_t)n, sizeof *fwake.lat, cmp_i64);
    qsort(fwake.trip, (size_t)n, sizeof *fwake.trip, cmp_i64);
    printf("RESULT yardstick futex jobs=%ld secs=%.6f p50=%lld p99=%lld wake_p50=%lld ok=1 flags=0\n",
           n, secs, (long long)fwake.trip[n / 2], (long long)fwake.trip[(size_t)((double)n * 0.99)],
           (long long)fwake.lat[n / 2]);
    free(fwake.lat);
    free(fwake.trip);
}
#endif

/* The ~1 us job of work1us_1p2w: a serial chain of multiply-adds (the same
   loop as in harness.c and go/main.go). Returns iterations per microsecond,
   from the fastest of 200 timings of 100,000 iterations. */
static volatile uint64_t sink;

static uint64_t spin(uint64_t iters)
{
    uint64_t x = 88172645463325252ULL;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    return x;
}

static void calibrate(void)
{
    const uint64_t iters = 100000;
    int64_t best = INT64_MAX;
    for (int k = 0; k < 200; k++) {
        int64_t t0 = now_ns();
        sink = spin(iters);
        int64_t dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    printf("CALIBRATE iters_per_us=%llu\n", (unsigned long long)(iters * 1000 / (uint64_t)best));
}

/* queue_1t: one thread, blocks of 512 pushes then 512 pops through a queue
   of capacity 1024; checks the sum. Answers false if an item went missing. */
#define SINGLE_BLOCK 512
#define DEFINE_SINGLE(name, type, create, destroy, push, pop)                  \
    static bool name(uint64_t items)                                         \
    {                                                                         \
        type *q = create;                                                     \
        if (q == NULL)                                                        \
            die("out of memory");                                             \
        uint64_t in = 0, out = 0;                                             \
        for (uint64_t done = 0; done < items; done += SINGLE_BLOCK) {         \
            for (uintptr_t i = 1; i <= SINGLE_BLOCK; i++) {                   \
                if (!push(q, i))                                              \
                    return false;                                             \
                in += i;                                                      \
            }                                                                 \
            uintptr_t v;                                                      \
            for (int i = 0; i < SINGLE_BLOCK; i++) {                          \
                if (!pop(q, &v))                                              \
                    return false;                                             \
                out += v;                                                     \
            }                                                                 \
        }                                                                     \
        destroy(q);                                                           \
        return in == out;                                                     \
    }
static wp_queue *wpq_single_create(void)
{
    wp_queue *q;
    return wp_queue_create(QUEUE_CAPACITY, sizeof(uintptr_t), &q) == WP_OK ? q : NULL;
}
DEFINE_SINGLE(single_wpq, wp_queue, wpq_single_create(), wp_queue_destroy, wpq_push, wpq_pop)
DEFINE_SINGLE(single_ring, ring, ring_create(QUEUE_CAPACITY), ring_destroy, ring_try_push,
              ring_try_pop)

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "calibrate") == 0) {
        calibrate();
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: %s CONTENDER WORKLOAD ITEMS | yardstick rtt|wake|futex N | calibrate\n",
                argv[0]);
        return 2;
    }
    long n = strtol(argv[3], NULL, 10);
    if (n < 2)
        die("N must be at least 2");
    if (strcmp(argv[1], "yardstick") == 0) {
        if (strcmp(argv[2], "rtt") == 0) {
            int64_t t0 = now_ns();
            double mean;
            double rtt = run_pingpong(n, &mean);
            printf("RESULT yardstick rtt jobs=%ld secs=%.6f p50=%.1f p99=0 mean=%.1f ok=1 flags=0\n",
                   n, (double)(now_ns() - t0) / 1e9, rtt, mean);
        } else if (strcmp(argv[2], "wake") == 0) {
            run_wake(n);
#if defined(__linux__) && defined(SYS_futex)
        } else if (strcmp(argv[2], "futex") == 0) {
            run_futex_wake(n);
#endif
        } else {
            die("unknown yardstick");
        }
        return 0;
    }
    if (strcmp(argv[2], "queue_1t") == 0) {
        bool ok = strcmp(argv[1], "wp_queue") == 0 ? single_wpq((uint64_t)n)
                : strcmp(argv[1], "ring") == 0     ? single_ring((uint64_t)n)
                                                   : (die("queue_1t: wp_queue or ring"), false);
        printf("RESULT %s queue_1t jobs=%ld secs=0 p50=0 p99=0 ok=%d flags=0\n", argv[1], n, ok);
        return ok ? 0 : 1;
    }
    int c = -1, w = -1;
    for (int i = 0; i < N_CONTENDERS; i++)
        if (strcmp(argv[1], contender_name[i]) == 0)
            c = i;
    for (int i = 0; i < N_WORKLOADS; i++)
        if (strcmp(argv[2], workloads[i].name) == 0)
            w = i;
#ifndef HAVE_CK
    if (c == C_CK)
        die("built without ck_ring.h");
#endif
    if (c < 0 || w < 0)
        die("unknown contender or workload");
    int64_t t0 = now_ns();
    double rate = run_queue(c, &workloads[w], (uint64_t)n);
    (void)t0;
    printf("RESULT %s %s jobs=%ld secs=%.6f p50=0 p99=0 ok=1 flags=0\n", contender_name[c],
           workloads[w].name, n, rate > 0 ? (double)n / rate : 0.0);
    return 0;
}
