/* workerpool.h - v0.1.0 - a worker pool with backpressure, in one C11 header.

   A bounded lock-free job queue, a set of worker threads, an explicit overload
   policy, a result channel and a shutdown that loses nothing. No dependency
   beyond the C standard library and the platform's threads.

   HOW TO USE

     Copy this file into your project. In exactly ONE .c file write

         #define WORKERPOOL_IMPLEMENTATION
         #include "workerpool.h"

     Every other file includes it without the define and sees the declarations.

   EXAMPLE

     #define WORKERPOOL_IMPLEMENTATION
     #include "workerpool.h"
     #include <stdio.h>

     static int square(void *arg, wp_ctx *ctx) {
         intptr_t n = (intptr_t)arg;
         wp_ctx_set_value(ctx, (void *)(n * n));
         return 0;
     }

     int main(void) {
         wp_pool *pool;
         if (wp_pool_create(&(wp_config){ .result_capacity = 64 }, &pool) != WP_OK)
             return 1;
         for (intptr_t i = 1; i <= 10; i++)
             wp_submit(pool, square, (void *)i);
         for (int i = 0; i < 10; i++) {
             wp_result r;
             if (wp_result_recv(pool, &r, WP_FOREVER) == WP_OK)
                 printf("%ld squared is %ld\n", (long)(intptr_t)r.arg, (long)(intptr_t)r.value);
         }
         wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
         wp_pool_destroy(pool);
         return 0;
     }

   CONFIGURATION MACROS (define before the include that has the implementation)

     WORKERPOOL_STATIC     every function is static: private to one translation unit
     WP_API                the linkage of public functions (default: extern)
     WP_ASSERT(x)          internal assertions (default: assert from <assert.h>)
     WP_MALLOC(sz), WP_FREE(p)
                           the default allocator; define both or neither. The
                           allocator in wp_config overrides them for one pool.
     WP_CACHE_LINE         the size that keeps hot fields apart (default: 64)
     WP_THREADS_C11, WP_THREADS_PTHREAD
                           force a threading backend. Default: C11 <threads.h>
                           where it exists, pthreads otherwise. ThreadSanitizer
                           builds are switched to pthreads automatically, since
                           TSan has no interceptors for glibc's C11 threads.

   THREAD SAFETY

     Every wp_pool_* and wp_submit* function may be called from any thread at
     any time between wp_pool_create and wp_pool_destroy. wp_pool_close and
     wp_pool_destroy must not be called from inside one of the pool's own jobs
     (they answer WP_WOULD_DEADLOCK). The standalone wp_queue is safe for any
     number of concurrent producers and consumers.

   GUARANTEES

     - Every accepted job produces exactly one outcome: it runs (WP_OK or
       WP_TASK_FAILED) or it is canceled at close (WP_CANCELED). Every refused
       submission returns a status and is counted once (rejected, dropped,
       timed out, or refused because the pool is closed).
     - Submitting and running a job allocate nothing and take no lock; a
       system call happens only to wake a parked thread.
     - Idle workers spin briefly, then park on a condition variable.

   CHANGES: see the git history of https://github.com/ (project page) and the
   README. Versioning follows semver; 0.x may still change the API.
*/
#ifndef WORKERPOOL_H
#define WORKERPOOL_H

#define WORKERPOOL_VERSION_MAJOR 0
#define WORKERPOOL_VERSION_MINOR 1
#define WORKERPOOL_VERSION_PATCH 0
#define WORKERPOOL_VERSION "0.1.0"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef WP_API
#  ifdef WORKERPOOL_STATIC
#    define WP_API static
#  else
#    define WP_API extern
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
   Status codes
   ------------------------------------------------------------------------- */

/* One list, so that the enum and wp_status_str() cannot drift apart. */
#define WP_STATUS_LIST(X)                                                        \
    X(WP_OK,              0, "ok")                                               \
    X(WP_FULL,           -1, "queue full: the job was rejected")                 \
    X(WP_DROPPED,        -2, "queue full: the job was dropped")                  \
    X(WP_TIMED_OUT,      -3, "timed out")                                        \
    X(WP_CLOSED,         -4, "the pool is closed")                               \
    X(WP_INVALID,        -5, "invalid argument")                                 \
    X(WP_NOMEM,          -6, "out of memory")                                    \
    X(WP_CANCELED,       -7, "canceled before it ran")                           \
    X(WP_EXPIRED,        -8, "deadline passed before it ran")                    \
    X(WP_TASK_FAILED,    -9, "the job returned an error code")                   \
    X(WP_FORCED,        -10, "close timed out: remaining jobs were canceled")    \
    X(WP_WOULD_DEADLOCK,-11, "called from one of the pool's own workers")        \
    X(WP_THREAD_FAILED, -12, "the platform refused to start a thread")

/* wp_status: the result of every call that can fail, and the outcome of every
   job. WP_OK is zero; every failure is negative, so `if (s < 0)` tests for any
   error. wp_status_str() names each one. */
typedef enum wp_status {
#define WP__STATUS_ENUM(name, value, text) name = value,
    WP_STATUS_LIST(WP__STATUS_ENUM)
#undef WP__STATUS_ENUM
    WP__STATUS_MIN = -12
} wp_status;

/* wp_status_str: a short, static, human-readable description of `status`
   ("unknown status" for a value outside the enum). Never NULL.
   Thread safety: any thread. */
WP_API const char *wp_status_str(wp_status status);

/* ---------------------------------------------------------------------------
   Durations: int64_t nanoseconds, measured on a monotonic clock.
   ------------------------------------------------------------------------- */

/* Helpers that turn a count of units into nanoseconds. WP_FOREVER waits without
   bound; WP_NOWAIT (zero) does not wait at all. In config and job structs, a
   zero duration means "the documented default" instead. */
#define WP_NS(x)    ((int64_t)(x))
#define WP_US(x)    ((int64_t)(x) * INT64_C(1000))
#define WP_MS(x)    ((int64_t)(x) * INT64_C(1000000))
#define WP_SEC(x)   ((int64_t)(x) * INT64_C(1000000000))
#define WP_FOREVER  INT64_MAX
#define WP_NOWAIT   INT64_C(0)

/* ---------------------------------------------------------------------------
   wp_queue: a bounded lock-free multi-producer multi-consumer queue
   ------------------------------------------------------------------------- */

/* wp_queue: a fixed-capacity FIFO of fixed-size elements that are copied in and
   out. Any number of threads may push and pop at once without locks (each cell
   carries a sequence number; head and tail live on separate cache lines). The
   capacity is rounded up to a power of two, at least 2. It is the pool's job
   queue, and usable on its own. Opaque: create it with wp_queue_create, or in
   your own memory with wp_queue_init. */
typedef struct wp_queue wp_queue;

/* wp_queue_footprint: the number of bytes wp_queue_init needs for a queue of
   `capacity` elements of `elem_size` bytes (any alignment of the memory will
   do). Returns 0 when the sizes are zero or too large.
   Thread safety: any thread. */
WP_API size_t wp_queue_footprint(size_t capacity, size_t elem_size);

/* wp_queue_init: builds a queue inside `memory` (at least
   wp_queue_footprint(capacity, elem_size) bytes, given as `memory_size`) and
   stores its handle in `*out`. The queue never frees the memory; simply stop
   using it. Returns WP_OK, or WP_INVALID for NULL pointers, zero or too large
   sizes (capacity above 2^30 elements or elem_size above 64 KiB), or memory
   that is too small.
   Thread safety: the memory must not be in use by anyone else. */
WP_API wp_status wp_queue_init(void *memory, size_t memory_size, size_t capacity,
                               size_t elem_size, wp_queue **out);

/* wp_queue_create: allocates (with WP_MALLOC) and initialises a queue; see
   wp_queue_init for the limits. Returns WP_OK, WP_INVALID or WP_NOMEM.
   Thread safety: any thread. */
WP_API wp_status wp_queue_create(size_t capacity, size_t elem_size, wp_queue **out);

/* wp_queue_destroy: frees a queue made by wp_queue_create (NULL is ignored).
   Elements still inside are discarded.
   Thread safety: no other thread may be using the queue. */
WP_API void wp_queue_destroy(wp_queue *queue);

/* wp_queue_try_push: copies elem_size bytes from `elem` into the queue. Returns
   true on success, false when the queue is full (or an argument is NULL). Never
   blocks.
   Thread safety: any number of threads at once. */
WP_API bool wp_queue_try_push(wp_queue *queue, const void *elem);

/* wp_queue_try_pop: copies the oldest element into `out` and removes it.
   Returns true on success, false when the queue is empty (or an argument is
   NULL). Never blocks. Elements pushed by one thread come out in the order
   that thread pushed them.
   Thread safety: any number of threads at once. */
WP_API bool wp_queue_try_pop(wp_queue *queue, void *out);

/* wp_queue_size: the number of elements in the queue; exact when no thread is
   pushing or popping, a momentary approximation otherwise.
   Thread safety: any thread. */
WP_API size_t wp_queue_size(const wp_queue *queue);

/* wp_queue_capacity: the queue's capacity after rounding up to a power of two.
   Thread safety: any thread. */
WP_API size_t wp_queue_capacity(const wp_queue *queue);

/* ---------------------------------------------------------------------------
   Jobs
   ------------------------------------------------------------------------- */

/* wp_ctx: what a running job can learn about itself and tell the pool. It lives
   on the worker's stack for the duration of one call; never keep the pointer. */
typedef struct wp_ctx wp_ctx;

/* wp_job_fn: the function a job runs. Return 0 for success; any other value is
   the job's own error code, reported as outcome WP_TASK_FAILED with that code. */
typedef int (*wp_job_fn)(void *arg, wp_ctx *ctx);

/* wp_backpressure: what a submission does when the job queue is full.
   WP_BACKPRESSURE_DEFAULT (zero) means "the pool's policy" in a job and WP_BLOCK
   in a config.
     WP_BLOCK    wait for room, without bound (WP_CLOSED if the pool closes).
     WP_DROP     discard the new job: WP_DROPPED, counted as dropped.
     WP_REJECT   refuse it at once: WP_FULL, counted as rejected.
     WP_TIMEOUT  wait for room up to the submit timeout, then WP_TIMED_OUT,
                 counted as timed out.
   A job submitted from inside one of the pool's own workers never waits for
   room: under WP_BLOCK or WP_TIMEOUT a full queue makes that worker run the
   new job itself at once, so nested submission cannot deadlock the pool. */
typedef enum wp_backpressure {
    WP_BACKPRESSURE_DEFAULT = 0,
    WP_BLOCK,
    WP_DROP,
    WP_REJECT,
    WP_TIMEOUT
} wp_backpressure;

/* wp_job: the full description of one submission, for wp_submit_job. Zero
   fields mean defaults, so `(wp_job){ .fn = f, .arg = p }` is a complete job.
     fn            required.
     arg           passed to fn and returned in the job's result.
     id            your identifier, returned in the result (not interpreted).
     backpressure  overrides the pool's policy for this submission.
     timeout       overrides the pool's submit timeout (used with WP_TIMEOUT). */
typedef struct wp_job {
    wp_job_fn fn;
    void *arg;
    uint64_t id;
    wp_backpressure backpressure;
    int64_t timeout;
} wp_job;

/* wp_ctx_id: the id the job was submitted with (0 for wp_submit).
   Thread safety: only inside the job, with its own ctx. */
WP_API uint64_t wp_ctx_id(const wp_ctx *ctx);

/* wp_ctx_worker: the index (0 .. workers-1) of the worker running the job.
   Thread safety: only inside the job, with its own ctx. */
WP_API int wp_ctx_worker(const wp_ctx *ctx);

/* wp_ctx_should_stop: true once the pool is canceling (wp_pool_close with
   WP_CANCEL, or a drain that ran past its timeout). A long job should poll it
   and return early; its outcome is still what it returns.
   Thread safety: only inside the job, with its own ctx. */
WP_API bool wp_ctx_should_stop(const wp_ctx *ctx);

/* wp_ctx_set_value: sets the value reported in the job's result (NULL unless
   set). The pool never dereferences it.
   Thread safety: only inside the job, with its own ctx. */
WP_API void wp_ctx_set_value(wp_ctx *ctx, void *value);

/* ---------------------------------------------------------------------------
   Results
   ------------------------------------------------------------------------- */

/* wp_result: the one outcome of one accepted job, delivered through the result
   channel when the pool has one (wp_config.result_capacity > 0).
     id, arg      as submitted.
     value        what the job passed to wp_ctx_set_value (NULL if nothing).
     code         what the job returned (0 if it did not run).
     status       WP_OK (ran, returned 0), WP_TASK_FAILED (ran, returned code),
                  or WP_CANCELED (never ran: the pool was closed with WP_CANCEL).
     queued_ns    time between acceptance and the start of the run (or cancel).
     run_ns       time the job ran (0 if it did not run).
     worker       index of the worker that ran or canceled it. */
typedef struct wp_result {
    uint64_t id;
    void *arg;
    void *value;
    int code;
    wp_status status;
    int64_t queued_ns;
    int64_t run_ns;
    int worker;
} wp_result;

/* ---------------------------------------------------------------------------
   Configuration
   ------------------------------------------------------------------------- */

/* wp_allocator: a runtime allocator for one pool's memory (allocated only at
   create time). Both functions or neither. `user` is passed back unchanged. */
typedef struct wp_allocator {
    void *(*alloc)(size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} wp_allocator;

/* wp_thread_hook: called on a worker thread with its index, as the thread starts
   (before its first job) or stops (after its last), e.g. to name it, pin it or
   set up thread-local state. */
typedef void (*wp_thread_hook)(int worker, void *user);

/* wp_config: how to build a pool. Zero-initialise it and set what you need;
   every zero field takes the default written beside it. NULL config = all
   defaults.
     name             for stats and thread names; default "workerpool".
     max_workers      number of worker threads; 0 = online CPUs. At most 1024.
     min_workers      0 = max_workers. Auto-scaling between min and max is not
                      built yet: a pool with min < max starts max_workers.
                      min > max is WP_INVALID.
     queue_capacity   queued jobs before backpressure applies; 0 = 1024;
                      rounded up to a power of two; at most 2^30.
     backpressure     policy when the queue is full; 0 = WP_BLOCK.
     submit_timeout   bound for WP_TIMEOUT; 0 = 1 second.
     result_capacity  0 = no result channel; otherwise its capacity (rounded
                      up to a power of two, at most 2^30). When the channel is
                      full, workers wait for a receiver: receive while jobs run,
                      or size it for the whole load.
     allocator        for the pool's memory; zero = WP_MALLOC / WP_FREE.
     on_thread_start, on_thread_stop, hook_user
                      optional hooks, see wp_thread_hook. */
typedef struct wp_config {
    const char *name;
    int min_workers;
    int max_workers;
    size_t queue_capacity;
    wp_backpressure backpressure;
    int64_t submit_timeout;
    size_t result_capacity;
    wp_allocator allocator;
    wp_thread_hook on_thread_start;
    wp_thread_hook on_thread_stop;
    void *hook_user;
} wp_config;

#define WP_MAX_WORKERS 1024

/* ---------------------------------------------------------------------------
   The pool
   ------------------------------------------------------------------------- */

/* wp_pool: a set of worker threads and the bounded queue that feeds them.
   Opaque; create with wp_pool_create, end with wp_pool_destroy. */
typedef struct wp_pool wp_pool;

/* wp_close_mode: how wp_pool_close treats jobs that are still queued.
     WP_DRAIN   run every queued job, then stop (the default).
     WP_CANCEL  queued jobs are not run: each gets outcome WP_CANCELED; running
                jobs see wp_ctx_should_stop() turn true. */
typedef enum wp_close_mode { WP_DRAIN = 0, WP_CANCEL = 1 } wp_close_mode;

/* wp_pool_create: validates `config` (NULL = defaults), allocates everything
   the pool will ever need and starts its workers; stores the pool in `*out`.
   Returns WP_OK; WP_INVALID for a NULL out or an impossible config (see
   wp_config); WP_NOMEM; or WP_THREAD_FAILED if a worker could not be started.
   On failure nothing is leaked and *out is set to NULL.
   Thread safety: any thread. */
WP_API wp_status wp_pool_create(const wp_config *config, wp_pool **out);

/* wp_submit: queues fn(arg) with the pool's backpressure policy and id 0.
   Returns WP_OK when accepted; otherwise, and then fn never runs: WP_FULL
   (WP_REJECT), WP_DROPPED (WP_DROP), WP_TIMED_OUT (WP_TIMEOUT), WP_CLOSED
   (the pool is closing or closed) or WP_INVALID (NULL pool or fn).
   Thread safety: any thread, including the pool's own jobs. */
WP_API wp_status wp_submit(wp_pool *pool, wp_job_fn fn, void *arg);

/* wp_submit_job: like wp_submit, with the id, policy and timeout of `job`
   (a NULL job or job->fn is WP_INVALID; so is an unknown policy or a
   negative timeout).
   Thread safety: any thread, including the pool's own jobs. */
WP_API wp_status wp_submit_job(wp_pool *pool, const wp_job *job);

/* wp_result_recv: takes the oldest result from the result channel into `*out`,
   waiting up to `timeout` (WP_NOWAIT, WP_FOREVER or a duration) for one.
   Returns WP_OK; WP_TIMED_OUT when none came in time; WP_CLOSED when the pool
   is closed and every result has been received (no more will come); or
   WP_INVALID (NULL arguments, negative timeout, or no result channel).
   Thread safety: any number of threads at once. */
WP_API wp_status wp_result_recv(wp_pool *pool, wp_result *out, int64_t timeout);

/* wp_pool_close: stops accepting jobs (submissions then return WP_CLOSED) and
   waits up to `timeout` for the workers to finish according to `mode`. If the
   timeout passes first, the close turns into WP_CANCEL (still-queued jobs get
   WP_CANCELED, running jobs see wp_ctx_should_stop) and it returns WP_FORCED
   without waiting longer; the workers finish in the background and
   wp_pool_destroy waits for them. Otherwise returns WP_OK. Calling it again
   is harmless (a later WP_CANCEL still cancels what is queued).
   Returns WP_WOULD_DEADLOCK from inside one of the pool's jobs and WP_INVALID
   for a NULL pool, an unknown mode or a negative timeout.
   Thread safety: any thread but the pool's own workers. */
WP_API wp_status wp_pool_close(wp_pool *pool, wp_close_mode mode, int64_t timeout);

/* wp_pool_destroy: closes the pool with WP_DRAIN if it is still open, waits for
   every worker thread to end, and frees everything (NULL is ignored and gives
   WP_OK). Results not yet received are discarded; a worker waiting for room in
   the result channel stops waiting. Returns WP_OK, or WP_WOULD_DEADLOCK (and
   does nothing) from inside one of the pool's own jobs.
   Thread safety: once, from any thread but the pool's own workers, after every
   other call on the pool has returned. */
WP_API wp_status wp_pool_destroy(wp_pool *pool);

/* ---------------------------------------------------------------------------
   Statistics
   ------------------------------------------------------------------------- */

/* wp_stats: a snapshot of a pool's counters. Each field is read without
   stopping the pool, so a snapshot taken while jobs run is approximate; one
   taken at quiescence (after wp_pool_close, or once every result is received)
   is exact and satisfies
       submitted == completed + failed + canceled.
     workers, active, idle   worker threads alive; running a job; waiting.
     queue_depth             jobs queued now; queue_capacity its bound.
     submitted               jobs accepted.
     completed, failed       jobs that ran and returned 0 / nonzero.
     canceled                accepted jobs that never ran (WP_CANCEL close).
     rejected, dropped, timed_out, refused_closed
                             submissions refused with WP_FULL, WP_DROPPED,
                             WP_TIMED_OUT, WP_CLOSED.
     results_pending         results waiting in the result channel. */
typedef struct wp_stats {
    int workers;
    int active;
    int idle;
    size_t queue_depth;
    size_t queue_capacity;
    uint64_t submitted;
    uint64_t completed;
    uint64_t failed;
    uint64_t canceled;
    uint64_t rejected;
    uint64_t dropped;
    uint64_t timed_out;
    uint64_t refused_closed;
    size_t results_pending;
} wp_stats;

/* wp_pool_stats: fills `*out` with a snapshot of the pool's counters.
   Returns WP_OK or WP_INVALID for NULL arguments.
   Thread safety: any thread, at any time, also from inside jobs. */
WP_API wp_status wp_pool_stats(wp_pool *pool, wp_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* WORKERPOOL_H */
