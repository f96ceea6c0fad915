/* workerpool.h - v0.1.0 - a worker pool with backpressure, in one C11 header.

   A bounded lock-free job queue, a set of worker threads, an explicit overload
   policy, a result channel and a shutdown that loses nothing. No dependency
   beyond the C standard library and the platform's threads.

   HOW TO USE

     Copy this file into your project. In exactly ONE .c file write

         #define WORKERPOOL_IMPLEMENTATION
         #include "workerpool.h"

     Every other file includes it without the define and sees the declarations.
     Under a strict -std=c11 the implementation needs POSIX clocks: include
     workerpool.h before any other header in that file (it then asks for them
     itself), or compile that file with -D_POSIX_C_SOURCE=200809L.

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
                           (marked unused for gcc and clang, so the functions
                           that unit does not call raise no warning)
     WP_API                the linkage of public functions (default: extern)
     WP_ASSERT(x)          internal assertions (default: assert from <assert.h>)
     WP_MALLOC(sz), WP_FREE(p)
                           the default allocator; define both or neither. The
                           allocator in wp_config overrides them for one pool.
     WP_CACHE_LINE         the size that keeps hot fields apart (default: 64)
     WP_THREADS_C11, WP_THREADS_PTHREAD, WP_THREADS_WIN32
                           force a threading backend (at most one). Default:
                           Win32 on Windows (_WIN32); elsewhere C11 <threads.h>
                           where it exists, pthreads otherwise. ThreadSanitizer
                           builds are switched to pthreads automatically, since
                           TSan has no interceptors for glibc's C11 threads.
                           Win32 uses SRW locks, condition variables and
                           _beginthreadex (Windows Vista or later); it includes
                           <windows.h> in the implementation file only, with
                           WIN32_LEAN_AND_MEAN and NOMINMAX unless you include
                           it first yourself.

   C++ AND COMPILERS

     The declarations compile as C++ (extern "C"), so C++ code can call the
     library; the implementation is C11 (_Atomic, _Alignas, _Thread_local) and
     does not compile as C++: put it in a .c file. MinGW-w64 gcc and clang
     need nothing special. MSVC (not tested) needs /std:c11 or later and
     /experimental:c11atomics for <stdatomic.h>; it has no _Thread_local,
     which becomes __declspec(thread) there.

   TIMEOUTS

     Every timeout is measured on a monotonic clock (QueryPerformanceCounter
     on Windows). The pthreads backend also sleeps on CLOCK_MONOTONIC, and the
     Win32 backend sleeps for a relative time, so stepping the wall clock
     cannot move a timeout. C11's cnd_timedwait only takes wall-clock
     deadlines, so the C11 backend sleeps in slices of at most 20 ms and
     re-checks the monotonic clock between them: a wall-clock step before or
     between slices is harmless, but a step backwards *during* a slice
     stretches that slice by the size of the step. Where the wall clock may be
     stepped back (NTP steps, manual changes), prefer WP_THREADS_PTHREAD. The
     pthreads backend on macOS and on Windows (MinGW's winpthreads) cannot
     wait on a monotonic clock and slices its waits the same way. Windows
     wakes sleepers on its timer tick, so a timeout there may run over by up
     to a tick (often 1 to 16 ms).

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
/* The implementation reads POSIX clocks, which strict -std=c11 hides unless a
   feature macro is set before the first system header. Including this header
   first in the implementation file takes care of it; in GNU modes (gcc's
   default) nothing is needed, and defining the macro would hide extensions. */
#if defined(WORKERPOOL_IMPLEMENTATION) && defined(__STRICT_ANSI__) && !defined(_WIN32) \
    && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) \
    && !defined(_DEFAULT_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif

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
/* A unit rarely calls every function; unused ones must not warn. */
#    if defined(__GNUC__) || defined(__clang__)
#      define WP_API static __attribute__((unused))
#    else
#      define WP_API static
#    endif
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
   A job submitted from inside one of the pool's own workers does not wait
   for room: under WP_BLOCK or WP_TIMEOUT a full queue makes that worker run
   the new job itself at once, so nested submission cannot deadlock the pool.
   Past 64 nested levels on one thread the submission is refused with
   WP_WOULD_DEADLOCK (counted as rejected), so a job that always submits
   another cannot overflow the stack. */
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

/* wp_clock_fn: a monotonic clock in nanoseconds, for wp_config.clock. */
typedef int64_t (*wp_clock_fn)(void *user);

/* wp_config: how to build a pool. Zero-initialise it and set what you need;
   every zero field takes the default written beside it. NULL config = all
   defaults. wp_config_default() and friends return documented presets.
     name             for stats and thread names; default "workerpool".
     max_workers      most worker threads; 0 = online CPUs. At most 1024;
                      also the most wp_pool_resize can raise it to later.
     min_workers      fewest worker threads; 0 = max_workers (a fixed set).
                      min < max turns auto-scaling on: the pool starts min
                      workers and adds one when it sees more than
                      scale_up_threshold jobs queued (at most one per
                      scale_up_cooldown). It looks when a worker finishes a
                      job and when a submitter finds the queue full, never
                      on the submit fast path; so while every worker is in a
                      long job, it grows once the queue fills. A worker idle
                      for idle_timeout exits while more than min are alive
                      (at most one per scale_down_cooldown). min > max is
                      WP_INVALID.
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
                      optional hooks, see wp_thread_hook. With auto-scaling
                      they run for every thread the pool starts or retires.
     scale_up_threshold   queued jobs beyond which the pool adds a worker;
                          0 = 4 (clamped to queue capacity - 1).
     scale_up_cooldown    least time between two automatic scale-ups;
                          0 = 10 ms.
     idle_timeout         how long a surplus worker waits for work before it
                          exits; 0 = 10 seconds.
     scale_down_cooldown  least time between two automatic scale-downs;
                          0 = 1 second.
     clock, clock_user    the clock for scaling decisions and stats times;
                          NULL = the system's monotonic clock. Lets tests
                          drive idle timeouts and cooldowns without sleeping
                          (surplus workers then re-read it every millisecond
                          while idle). Timeouts of calls that wait always
                          use the system clock. */
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
    size_t scale_up_threshold;
    int64_t scale_up_cooldown;
    int64_t idle_timeout;
    int64_t scale_down_cooldown;
    wp_clock_fn clock;
    void *clock_user;
} wp_config;

/* wp_config_default: every field zero, so every default: a fixed set of one
   worker per online CPU, a queue of 1024, WP_BLOCK, no result channel.
   Thread safety: any thread. */
WP_API wp_config wp_config_default(void);

/* wp_config_high_throughput: a fixed set of one worker per online CPU and a
   deep queue (16384 jobs) so bursts rarely meet backpressure.
   Thread safety: any thread. */
WP_API wp_config wp_config_high_throughput(void);

/* wp_config_low_resource: one worker that grows to one per online CPU only
   under load (scale up past 16 queued jobs, at most every 50 ms) and shrinks
   back after 2 seconds idle (at most one exit every 500 ms); a queue of 256.
   Thread safety: any thread. */
WP_API wp_config wp_config_low_resource(void);

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
   (the pool is closing or closed), WP_WOULD_DEADLOCK (a nested submission
   into a full queue more than 64 levels deep, see wp_backpressure) or
   WP_INVALID (NULL pool or fn).
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
   wp_pool_destroy waits for them. Otherwise returns WP_OK (workers retired
   earlier by auto-scaling may still be finishing their on_thread_stop hook;
   wp_pool_destroy joins them). So WP_DRAIN with
   WP_NOWAIT cancels whatever has not finished. Every outcome, canceled ones
   included, goes through the result channel: with a full channel and nobody
   receiving, a close waits for a receiver (use a timeout). Calling it again
   is harmless (a later WP_CANCEL still cancels what is queued).
   Returns WP_WOULD_DEADLOCK from inside one of the pool's jobs and WP_INVALID
   for a NULL pool, an unknown mode or a negative timeout.
   Thread safety: any thread but the pool's own workers. */
WP_API wp_status wp_pool_close(wp_pool *pool, wp_close_mode mode, int64_t timeout);

/* wp_pool_scale: adds `delta` workers (delta > 0) or retires -delta workers
   (delta < 0) now, ignoring the cooldowns and clamped to the current
   [min, max] bounds. New threads start before it returns; retiring ones are
   idle workers first, then running ones as soon as their job ends (so the
   count reaches its target shortly after the call). Returns WP_OK (also when
   clamping left nothing to do), WP_THREAD_FAILED if a thread could not be
   started (the pool keeps the workers it has; also if a retiring worker's
   on_thread_stop hook holds the only free slot for long), WP_CLOSED after
   close, or WP_INVALID for a NULL pool.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_scale(wp_pool *pool, int delta);

/* wp_pool_resize: sets new worker bounds, 1 <= min <= max <= the max_workers
   the pool was created with (min == max makes it a fixed set; min < max
   turns auto-scaling on). Starts workers up to the new min at once and
   retires workers above the new max as in wp_pool_scale. Returns WP_OK,
   WP_THREAD_FAILED (bounds set, some thread could not be started),
   WP_CLOSED, or WP_INVALID (NULL pool or bounds outside that range).
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_resize(wp_pool *pool, int min_workers, int max_workers);

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
   taken at quiescence (after a wp_pool_close that returned WP_OK, or once
   every result of every accepted job is received) is exact and satisfies
       submitted == completed + failed + canceled.
     workers, active, idle   worker threads alive; running a job; waiting.
     queue_depth             jobs queued now; queue_capacity its bound.
     submitted               jobs accepted.
     completed, failed       jobs that ran and returned 0 / nonzero.
     canceled                accepted jobs that never ran (WP_CANCEL close).
     rejected, dropped, timed_out, refused_closed
                             submissions refused with WP_FULL (and the rare
                             WP_WOULD_DEADLOCK of a too-deep nested
                             submission), WP_DROPPED, WP_TIMED_OUT, WP_CLOSED.
     results_pending         results waiting in the result channel.
     min_workers, max_workers  the current bounds.
     peak_workers            most workers alive at once so far.
     scale_ups, scale_downs  workers added and retired after create
                             (automatic and manual).
     spawn_failures          threads the platform refused to start.
     last_scale_up_ns, last_scale_down_ns
                             when the last of each happened, in ns since the
                             pool was created (on the pool's clock); -1 if
                             never.
     uptime_ns               ns since the pool was created (pool's clock). */
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
    int min_workers;
    int max_workers;
    int peak_workers;
    uint64_t scale_ups;
    uint64_t scale_downs;
    uint64_t spawn_failures;
    int64_t last_scale_up_ns;
    int64_t last_scale_down_ns;
    int64_t uptime_ns;
} wp_stats;

/* wp_pool_stats: fills `*out` with a snapshot of the pool's counters.
   Returns WP_OK or WP_INVALID for NULL arguments.
   Thread safety: any thread, at any time, also from inside jobs. */
WP_API wp_status wp_pool_stats(wp_pool *pool, wp_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* WORKERPOOL_H */

/* ===========================================================================
   IMPLEMENTATION
   ======================================================================== */
#if defined(WORKERPOOL_IMPLEMENTATION) && !defined(WORKERPOOL_IMPLEMENTATION_DONE)
#define WORKERPOOL_IMPLEMENTATION_DONE

#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#ifndef WP_ASSERT
#  include <assert.h>
#  define WP_ASSERT(x) assert(x)
#endif

#if defined(WP_MALLOC) != defined(WP_FREE)
#  error "workerpool.h: define both WP_MALLOC and WP_FREE, or neither"
#endif
#ifndef WP_MALLOC
#  include <stdlib.h>
#  define WP_MALLOC(size) malloc(size)
#  define WP_FREE(ptr) free(ptr)
#endif

#ifndef WP_CACHE_LINE
#  define WP_CACHE_LINE 64
#endif

/* ---------------------------------------------------------------------------
   Platform layer: threads, mutexes, condition variables, a monotonic clock.
   The backend is chosen once here; everything below uses only wp__ wrappers.
   ------------------------------------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
#  define WP__TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define WP__TSAN 1
#  endif
#endif

/* Win32 on Windows; else C11 <threads.h> where it exists, pthreads otherwise.
   __STDC_NO_THREADS__ is not enough on its own: some C libraries leave it
   undefined without shipping <threads.h>. ThreadSanitizer has no interceptors
   for glibc's thrd_/mtx_/cnd_ functions and crashes on them, so sanitized
   builds take the pthreads backend. */
#if defined(WP_THREADS_C11) + defined(WP_THREADS_PTHREAD) + defined(WP_THREADS_WIN32) > 1
#  error "workerpool.h: define at most one of WP_THREADS_C11, WP_THREADS_PTHREAD and WP_THREADS_WIN32"
#endif
#if !defined(WP_THREADS_C11) && !defined(WP_THREADS_PTHREAD) && !defined(WP_THREADS_WIN32)
#  if defined(_WIN32)
#    define WP_THREADS_WIN32
#  elif defined(WP__TSAN)
#    define WP_THREADS_PTHREAD
#  else
#    if !defined(__STDC_NO_THREADS__) && defined(__has_include)
#      if __has_include(<threads.h>)
#        define WP_THREADS_C11
#      endif
#    endif
#    if !defined(WP_THREADS_C11)
#      define WP_THREADS_PTHREAD
#    endif
#  endif
#endif
#if defined(WP_THREADS_WIN32) && !defined(_WIN32)
#  error "workerpool.h: WP_THREADS_WIN32 needs Windows (_WIN32)"
#endif

/* The clock: QueryPerformanceCounter on Windows, whatever the backend
   (no Windows wait takes a deadline on another monotonic clock), and
   CLOCK_MONOTONIC elsewhere. */
#if defined(_WIN32)
#  define WP__CLOCK_QPC 1
#endif

#if defined(_WIN32)
/* Lean, and without the min/max macros, for this include only: a file that
   needs all of <windows.h> includes it before this header. */
#  if !defined(WIN32_LEAN_AND_MEAN)
#    define WIN32_LEAN_AND_MEAN
#    define WP__UNDEF_LEAN
#  endif
#  if !defined(NOMINMAX)
#    define NOMINMAX
#    define WP__UNDEF_NOMINMAX
#  endif
#  include <windows.h>
#  ifdef WP__UNDEF_LEAN
#    undef WIN32_LEAN_AND_MEAN
#    undef WP__UNDEF_LEAN
#  endif
#  ifdef WP__UNDEF_NOMINMAX
#    undef NOMINMAX
#    undef WP__UNDEF_NOMINMAX
#  endif
#endif

#if !defined(WP__CLOCK_QPC)
#  include <unistd.h>
#  if !defined(CLOCK_MONOTONIC)
#    error "workerpool.h: CLOCK_MONOTONIC is hidden; include workerpool.h before other headers in the implementation file, or define _POSIX_C_SOURCE=200809L"
#  endif
#endif

/* MSVC has no _Thread_local in any /std mode (clang-cl has); for the
   static variables of this file, __declspec(thread) means the same. */
#if defined(_MSC_VER) && !defined(__clang__) && !defined(_Thread_local)
#  define _Thread_local __declspec(thread)
#endif

#if defined(WP_THREADS_C11)
#  include <threads.h>
typedef int wp__thread_ret;
#  define WP__THREAD_RETURN 0
typedef wp__thread_ret (*wp__thread_fn)(void *arg);
typedef thrd_t wp__thread;
typedef mtx_t wp__mutex;
typedef cnd_t wp__cond;
#elif defined(WP_THREADS_WIN32)
#  include <process.h>
typedef void *wp__thread_ret;
#  define WP__THREAD_RETURN NULL
typedef wp__thread_ret (*wp__thread_fn)(void *arg);
/* _beginthreadex wants an `unsigned __stdcall` function, which wp__thread_fn
   is not (the conventions differ on 32-bit x86), so the thread starts in a
   trampoline that reads what to run from here. */
typedef struct wp__thread {
    HANDLE handle;
    wp__thread_fn fn;
    void *arg;
} wp__thread;
typedef SRWLOCK wp__mutex;
typedef CONDITION_VARIABLE wp__cond;
#else
#  include <pthread.h>
#  include <sched.h>
typedef void *wp__thread_ret;
#  define WP__THREAD_RETURN NULL
typedef wp__thread_ret (*wp__thread_fn)(void *arg);
typedef pthread_t wp__thread;
typedef pthread_mutex_t wp__mutex;
typedef pthread_cond_t wp__cond;
#endif

#if defined(WP__CLOCK_QPC)
static int64_t wp__now_ns(void)
{
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq); /* fixed at boot; reading it is cheap */
    int64_t c = (int64_t)count.QuadPart, f = (int64_t)freq.QuadPart;
    /* Whole seconds, then the remainder: c * 1e9 would overflow after a few
       weeks of uptime; (c % f) * 1e9 fits for any f below 9.2 GHz. */
    return c / f * INT64_C(1000000000) + c % f * INT64_C(1000000000) / f;
}
#else
static int64_t wp__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}
#endif

/* now + timeout without overflow; WP_FOREVER stays WP_FOREVER. */
static int64_t wp__deadline(int64_t timeout)
{
    int64_t now = wp__now_ns();
    return timeout >= WP_FOREVER - now ? WP_FOREVER : now + timeout;
}

#if !defined(WP_THREADS_WIN32)
static struct timespec wp__timespec_from_ns(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / INT64_C(1000000000));
    ts.tv_nsec = (long)(ns % INT64_C(1000000000));
    return ts;
}
#endif

/* A wait on a wall-clock deadline can be stretched or cut by a clock jump, so
   where only such waits exist we wait in slices of at most this long and
   re-check the monotonic deadline between them. */
#define WP__WALL_SLICE_NS WP_MS(20)

#if defined(WP_THREADS_C11) || (defined(WP_THREADS_PTHREAD) && (defined(__APPLE__) || defined(_WIN32)))
/* The wall-clock end of one slice of a wait for the monotonic `deadline`,
   given the wall clock's `now`; false once the deadline has passed. */
static bool wp__wall_slice(int64_t deadline, struct timespec now, struct timespec *until)
{
    int64_t left = deadline - wp__now_ns();
    if (left <= 0)
        return false;
    if (left > WP__WALL_SLICE_NS)
        left = WP__WALL_SLICE_NS;
    *until = wp__timespec_from_ns((int64_t)now.tv_sec * INT64_C(1000000000) + now.tv_nsec + left);
    return true;
}
#endif

#if defined(WP_THREADS_C11)

static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg)
{
    return thrd_create(t, fn, arg) == thrd_success ? 0 : -1;
}
static void wp__thread_join(wp__thread t) { thrd_join(t, NULL); }
static void wp__thread_yield(void) { thrd_yield(); }
static int wp__mutex_init(wp__mutex *m) { return mtx_init(m, mtx_plain) == thrd_success ? 0 : -1; }
static void wp__mutex_destroy(wp__mutex *m) { mtx_destroy(m); }
static void wp__mutex_lock(wp__mutex *m) { mtx_lock(m); }
static void wp__mutex_unlock(wp__mutex *m) { mtx_unlock(m); }
static int wp__cond_init(wp__cond *c) { return cnd_init(c) == thrd_success ? 0 : -1; }
static void wp__cond_destroy(wp__cond *c) { cnd_destroy(c); }
static void wp__cond_signal(wp__cond *c) { cnd_signal(c); }
static void wp__cond_broadcast(wp__cond *c) { cnd_broadcast(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { cnd_wait(c, m); }

/* C11 only offers TIME_UTC deadlines: wait one slice, the caller re-checks. */
static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
{
    struct timespec now, until;
    timespec_get(&now, TIME_UTC);
    if (wp__wall_slice(deadline, now, &until))
        cnd_timedwait(c, m, &until);
}

#elif defined(WP_THREADS_WIN32)

/* The new thread only reads fn and arg, before it runs anything; the thread
   object must stay in place until then (the pool keeps it in its worker
   array until the join). */
static unsigned __stdcall wp__win32_thread_main(void *p)
{
    const wp__thread *t = (const wp__thread *)p;
    wp__thread_fn fn = t->fn;
    void *arg = t->arg;
    fn(arg);
    return 0;
}
static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: it sets up the C runtime's per-thread
       state for the new thread (errno, strtok, ...). */
    uintptr_t h = _beginthreadex(NULL, 0, wp__win32_thread_main, t, 0, NULL);
    t->handle = (HANDLE)h;
    return h != 0 ? 0 : -1;
}
static void wp__thread_join(wp__thread t)
{
    WaitForSingleObject(t.handle, INFINITE);
    CloseHandle(t.handle);
}
static void wp__thread_yield(void) { SwitchToThread(); }
/* Slim reader/writer locks and condition variables (Vista and later) need no
   cleanup and cannot fail to initialise. */
static int wp__mutex_init(wp__mutex *m) { InitializeSRWLock(m); return 0; }
static void wp__mutex_destroy(wp__mutex *m) { (void)m; }
static void wp__mutex_lock(wp__mutex *m) { AcquireSRWLockExclusive(m); }
static void wp__mutex_unlock(wp__mutex *m) { ReleaseSRWLockExclusive(m); }
static int wp__cond_init(wp__cond *c) { InitializeConditionVariable(c); return 0; }
static void wp__cond_destroy(wp__cond *c) { (void)c; }
static void wp__cond_signal(wp__cond *c) { WakeConditionVariable(c); }
static void wp__cond_broadcast(wp__cond *c) { WakeAllConditionVariable(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }

/* Windows waits take a relative timeout in milliseconds, which no clock step
   can move. Rounded up, so a wait does not end just short of the deadline
   and spin; the timer's granularity (often 1 to 16 ms) may still end it a
   little early or late, and the caller re-checks the deadline either way. */
static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
{
    int64_t left = deadline - wp__now_ns();
    if (left <= 0)
        return;
    int64_t ms = left / INT64_C(1000000) + (left % INT64_C(1000000) != 0);
    DWORD wait = ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms;
    SleepConditionVariableSRW(c, m, wait, 0);
}

#else /* pthreads */

static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg)
{
    return pthread_create(t, NULL, fn, arg) == 0 ? 0 : -1;
}
static void wp__thread_join(wp__thread t) { pthread_join(t, NULL); }
static void wp__thread_yield(void) { sched_yield(); }
static int wp__mutex_init(wp__mutex *m) { return pthread_mutex_init(m, NULL) == 0 ? 0 : -1; }
static void wp__mutex_destroy(wp__mutex *m) { pthread_mutex_destroy(m); }
static void wp__mutex_lock(wp__mutex *m) { pthread_mutex_lock(m); }
static void wp__mutex_unlock(wp__mutex *m) { pthread_mutex_unlock(m); }
static void wp__cond_destroy(wp__cond *c) { pthread_cond_destroy(c); }
static void wp__cond_signal(wp__cond *c) { pthread_cond_signal(c); }
static void wp__cond_broadcast(wp__cond *c) { pthread_cond_broadcast(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { pthread_cond_wait(c, m); }

#  if defined(__APPLE__) || defined(_WIN32)
/* macOS has no pthread_condattr_setclock, and MinGW's winpthreads refuses
   CLOCK_MONOTONIC in it: sliced wall-clock waits, as for C11. */
static int wp__cond_init(wp__cond *c) { return pthread_cond_init(c, NULL) == 0 ? 0 : -1; }
static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
{
    struct timespec now, until;
    clock_gettime(CLOCK_REALTIME, &now);
    if (!wp__wall_slice(deadline, now, &until))
        return;
    pthread_cond_timedwait(c, m, &until);
}
#  else
/* The condition variable waits on CLOCK_MONOTONIC, so a timeout follows the
   same clock as wp__now_ns and a wall-clock jump cannot move it. */
static int wp__cond_init(wp__cond *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0
          && pthread_cond_init(c, &attr) == 0;
    pthread_condattr_destroy(&attr);
    return ok ? 0 : -1;
}
static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
{
    /* A deadline a 32-bit time_t cannot hold is decades away: wait plainly
       (the caller re-checks) instead of passing a wrapped, past timespec. */
    if (sizeof(time_t) < sizeof(int64_t) && deadline / INT64_C(1000000000) > INT32_MAX) {
        pthread_cond_wait(c, m);
        return;
    }
    struct timespec until = wp__timespec_from_ns(deadline);
    pthread_cond_timedwait(c, m, &until);
}
#  endif
#endif /* backend */

#if defined(_WIN32)
static int wp__online_cpus(void)
{
#  if defined(_WIN32_WINNT) && _WIN32_WINNT >= 0x0601
    /* Every processor group, not only the caller's (at most 64 CPUs each). */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
#  else
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    DWORD n = info.dwNumberOfProcessors;
#  endif
    if (n < 1)
        return 1;
    return n > WP_MAX_WORKERS ? WP_MAX_WORKERS : (int)n;
}
#else
static int wp__online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > WP_MAX_WORKERS ? WP_MAX_WORKERS : (int)n;
}
#endif

/* A hint to the CPU that we are spinning; no-op where we know none. */
static void wp__cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && (defined(__aarch64__) || defined(__arm__))
    __asm__ __volatile__("yield");
#elif defined(_WIN32)
    YieldProcessor(); /* pause on x86 and x64, yield on ARM */
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

static size_t wp__align_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

/* ---------------------------------------------------------------------------
   wp_queue

   Dmitry Vyukov's bounded MPMC design: every cell has a sequence number that
   says whose turn it is; a producer claims a cell by advancing `head` with a
   CAS, copies the element in, then publishes it by bumping the cell's
   sequence; consumers mirror that on `tail`.

   Positions are kept as "tickets", twice the element position, so that bit 0
   of `head` is free to mean "closed": closing is one fetch_or, and from then
   on every push fails in the same CAS that would otherwise claim a cell. The
   pool relies on this to know exactly which jobs were accepted before close.
   Tickets wrap around modulo 2^N; every comparison is on their difference.
   ------------------------------------------------------------------------- */

#define WP__QUEUE_MAX_CAPACITY ((size_t)1 << 30)
#define WP__QUEUE_MAX_ELEM ((size_t)65536)
#define WP__TICKET 2u        /* one element position, in tickets */
#define WP__CLOSED_BIT 1u

enum wp__push_result { WP__PUSHED, WP__FULL, WP__SHUT };

struct wp_queue {
    /* Read-only after init. */
    unsigned char *cells;
    size_t mask;            /* capacity - 1 */
    size_t elem_size;
    size_t stride;          /* bytes per cell: sequence number + element */
    size_t origin;          /* ticket of the first position, for counting */
    void *allocation;       /* what wp_queue_create allocated, else NULL */
    /* Producers and consumers each own a line. */
    _Alignas(WP_CACHE_LINE) atomic_size_t head;  /* next push ticket | closed */
    _Alignas(WP_CACHE_LINE) atomic_size_t tail;  /* next pop ticket */
    _Alignas(WP_CACHE_LINE) char end;
};

static inline atomic_size_t *wp__cell_seq(const wp_queue *q, size_t ticket)
{
    return (atomic_size_t *)(void *)(q->cells + ((ticket / WP__TICKET) & q->mask) * q->stride);
}

static inline void *wp__cell_data(atomic_size_t *seq)
{
    return (unsigned char *)seq + sizeof(atomic_size_t);
}

/* Copies one element. The public calls pass the queue's run-time elem_size,
   for which memcpy is a call into the C library per element; a
   pointer-sized element (the common case: a pointer to the real data) is
   copied inline instead. Where the size is a constant (the pool's own
   queues) the test folds away. */
static inline void wp__elem_copy(void *dst, const void *src, size_t size)
{
    if (size == sizeof(void *)) {
#if defined(__GNUC__) || defined(__clang__)
        /* Hides the objects from gcc's bounds analysis: inlined into a caller
           whose element is smaller, it would warn about this branch, which
           cannot run there. No instruction. */
        __asm__("" : "+r"(dst), "+r"(src));
#endif
        memcpy(dst, src, sizeof(void *));
    } else {
        memcpy(dst, src, size);
    }
}

static size_t wp__queue_round_capacity(size_t capacity)
{
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    return cap;
}

static size_t wp__queue_stride(size_t elem_size)
{
    return wp__align_up(sizeof(atomic_size_t) + elem_size, sizeof(atomic_size_t));
}

/* Sets every cell's sequence for a queue whose first ticket is `origin`. */
static void wp__queue_reset(wp_queue *q, size_t origin)
{
    q->origin = origin;
    for (size_t i = 0; i <= q->mask; i++) {
        size_t ticket = origin + i * WP__TICKET;
        atomic_init(wp__cell_seq(q, ticket), ticket);
    }
    atomic_init(&q->head, origin);
    atomic_init(&q->tail, origin);
}

static bool wp__queue_sizes_ok(size_t capacity, size_t elem_size)
{
    return capacity >= 1 && capacity <= WP__QUEUE_MAX_CAPACITY
        && elem_size >= 1 && elem_size <= WP__QUEUE_MAX_ELEM;
}

size_t wp_queue_footprint(size_t capacity, size_t elem_size)
{
    if (!wp__queue_sizes_ok(capacity, elem_size))
        return 0;
    size_t cap = wp__queue_round_capacity(capacity);
    size_t stride = wp__queue_stride(elem_size);
    size_t fixed = sizeof(wp_queue) + 2 * WP_CACHE_LINE; /* alignment slack */
    if (cap > (SIZE_MAX - fixed) / stride)
        return 0;
    return fixed + cap * stride;
}

wp_status wp_queue_init(void *memory, size_t memory_size, size_t capacity,
                        size_t elem_size, wp_queue **out)
{
    if (out)
        *out = NULL;
    size_t need = wp_queue_footprint(capacity, elem_size);
    if (!memory || !out || need == 0 || memory_size < need)
        return WP_INVALID;
    uintptr_t base = wp__align_up((uintptr_t)memory, WP_CACHE_LINE);
    wp_queue *q = (wp_queue *)base;
    memset(q, 0, sizeof *q);
    q->cells = (unsigned char *)(base + wp__align_up(sizeof *q, WP_CACHE_LINE));
    q->mask = wp__queue_round_capacity(capacity) - 1;
    q->elem_size = elem_size;
    q->stride = wp__queue_stride(elem_size);
    wp__queue_reset(q, 0);
    *out = q;
    return WP_OK;
}

wp_status wp_queue_create(size_t capacity, size_t elem_size, wp_queue **out)
{
    if (out)
        *out = NULL;
    size_t need = wp_queue_footprint(capacity, elem_size);
    if (!out || need == 0)
        return WP_INVALID;
    void *memory = WP_MALLOC(need);
    if (!memory)
        return WP_NOMEM;
    wp_status s = wp_queue_init(memory, need, capacity, elem_size, out);
    WP_ASSERT(s == WP_OK);
    (*out)->allocation = memory;
    return s;
}

void wp_queue_destroy(wp_queue *queue)
{
    if (queue && queue->allocation)
        WP_FREE(queue->allocation);
}

static inline enum wp__push_result wp__queue_push(wp_queue *q, const void *elem, size_t size)
{
    size_t ticket = atomic_load_explicit(&q->head, memory_order_relaxed);
    atomic_size_t *seq;
    for (;;) {
        if (ticket & WP__CLOSED_BIT)
            return WP__SHUT;
        seq = wp__cell_seq(q, ticket);
        /* Acquire pairs with the consumer's release of this cell, so our copy
           cannot overwrite an element still being read. */
        size_t s = atomic_load_explicit(seq, memory_order_acquire);
        ptrdiff_t diff = (ptrdiff_t)(s - ticket);
        if (diff == 0) {
            /* Relaxed: the cell's sequence number, not head, orders the data. */
            if (atomic_compare_exchange_weak_explicit(&q->head, &ticket, ticket + WP__TICKET,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return WP__FULL; /* the cell still holds last lap's element */
        } else {
            ticket = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
    wp__elem_copy(wp__cell_data(seq), elem, size);
    /* Release pairs with the consumer's acquire load of the sequence. */
    atomic_store_explicit(seq, ticket + WP__TICKET, memory_order_release);
    return WP__PUSHED;
}

static inline bool wp__queue_pop(wp_queue *q, void *out, size_t size)
{
    size_t ticket = atomic_load_explicit(&q->tail, memory_order_relaxed);
    atomic_size_t *seq;
    for (;;) {
        seq = wp__cell_seq(q, ticket);
        /* Acquire pairs with the producer's release after its copy. */
        size_t s = atomic_load_explicit(seq, memory_order_acquire);
        ptrdiff_t diff = (ptrdiff_t)(s - (ticket + WP__TICKET));
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->tail, &ticket, ticket + WP__TICKET,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return false; /* not yet published: empty */
        } else {
            ticket = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
    wp__elem_copy(out, wp__cell_data(seq), size);
    /* Hand the cell to the producer one lap ahead; release pairs with its
       acquire load, so our copy out happens before its copy in. */
    atomic_store_explicit(seq, ticket + (q->mask + 1) * WP__TICKET, memory_order_release);
    return true;
}

/* After this, every push fails with WP__SHUT; pops continue. */
static void wp__queue_close(wp_queue *q)
{
    atomic_fetch_or_explicit(&q->head, WP__CLOSED_BIT, memory_order_seq_cst);
}

/* True once the queue is closed and every accepted element has been popped. */
static bool wp__queue_drained(const wp_queue *q)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    return (head & WP__CLOSED_BIT) && (head & ~(size_t)WP__CLOSED_BIT) == tail;
}

/* Elements ever accepted by push (wraps modulo 2^N like the tickets). */
static size_t wp__queue_accepted(const wp_queue *q)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed) & ~(size_t)WP__CLOSED_BIT;
    return (head - q->origin) / WP__TICKET;
}

bool wp_queue_try_push(wp_queue *queue, const void *elem)
{
    if (!queue || !elem)
        return false;
    return wp__queue_push(queue, elem, queue->elem_size) == WP__PUSHED;
}

bool wp_queue_try_pop(wp_queue *queue, void *out)
{
    if (!queue || !out)
        return false;
    return wp__queue_pop(queue, out, queue->elem_size);
}

size_t wp_queue_size(const wp_queue *queue)
{
    if (!queue)
        return 0;
    /* Relaxed loads may see tail ahead of head on weakly ordered CPUs: an
       apparently negative size is an empty queue. */
    size_t tail = atomic_load_explicit(&queue->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&queue->head, memory_order_relaxed) & ~(size_t)WP__CLOSED_BIT;
    ptrdiff_t diff = (ptrdiff_t)(head - tail);
    if (diff <= 0)
        return 0;
    size_t n = (size_t)diff / WP__TICKET;
    return n > queue->mask + 1 ? queue->mask + 1 : n;
}

size_t wp_queue_capacity(const wp_queue *queue)
{
    return queue ? queue->mask + 1 : 0;
}

#ifdef WORKERPOOL_TESTING
/* Test hook: moves an empty, quiet queue's positions, e.g. just below the
   wrap-around. Atomic stores, since idle workers may be polling it. */
WP_API void wp__queue_seek(wp_queue *q, size_t position);
WP_API void wp__queue_seek(wp_queue *q, size_t position)
{
    WP_ASSERT(wp_queue_size(q) == 0);
    size_t origin = position * WP__TICKET;
    q->origin = origin;
    for (size_t i = 0; i <= q->mask; i++) {
        size_t ticket = origin + i * WP__TICKET;
        atomic_store_explicit(wp__cell_seq(q, ticket), ticket, memory_order_relaxed);
    }
    atomic_store_explicit(&q->tail, origin, memory_order_release);
    atomic_store_explicit(&q->head, origin, memory_order_release);
}
#endif

/* ---------------------------------------------------------------------------
   Parking: a small event count.

   A thread that found nothing to do registers as a waiter, then checks its
   condition once more, and only then sleeps until the epoch moves. A thread
   that changed the condition publishes the change, then looks at the waiter
   count; only if someone is registered does it take the lock and bump the
   epoch. Both sides put a seq_cst fence between their write and their read
   (a Dekker handshake), so at least one of them sees the other: either the
   waiter's re-check sees the change, or the notifier sees the waiter. The
   common case, nobody waiting, costs the notifier one fence and one load.

   ThreadSanitizer does not model standalone fences (gcc even refuses them),
   so under TSan both sides use read-modify-writes of the waiter count
   instead: RMWs on one variable are totally ordered, and whichever comes
   second synchronises with the first. Correct, but it makes every notify
   write a shared cache line, which is why normal builds use the fences.
   ------------------------------------------------------------------------- */

/* A full (seq_cst) fence. On x86-64, clang emits mfence for it, which is
   several times slower than a locked no-op on the stack on some CPUs (AMD);
   gcc already emits the locked form. Both are full barriers in hardware, and
   the "memory" clobber keeps the compiler from moving memory accesses across. */
static inline void wp__fence(void)
{
#if defined(__clang__) && defined(__x86_64__)
    __asm__ __volatile__("lock orl $0, (%%rsp)" ::: "memory", "cc");
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

typedef struct wp__waitset {
    _Alignas(WP_CACHE_LINE) atomic_uint waiters;
    unsigned epoch; /* guarded by mu */
    wp__mutex mu;
    wp__cond cv;
} wp__waitset;

static int wp__ws_init(wp__waitset *ws)
{
    atomic_init(&ws->waiters, 0);
    ws->epoch = 0;
    if (wp__mutex_init(&ws->mu) != 0)
        return -1;
    if (wp__cond_init(&ws->cv) != 0) {
        wp__mutex_destroy(&ws->mu);
        return -1;
    }
    return 0;
}

static void wp__ws_destroy(wp__waitset *ws)
{
    wp__cond_destroy(&ws->cv);
    wp__mutex_destroy(&ws->mu);
}

/* Registers the caller as a waiter and returns the epoch to wait on. The lock
   stays held: finish with wp__ws_cancel or wp__ws_wait. */
static unsigned wp__ws_prepare(wp__waitset *ws)
{
    wp__mutex_lock(&ws->mu);
#ifdef WP__TSAN
    atomic_fetch_add_explicit(&ws->waiters, 1, memory_order_seq_cst);
#else
    atomic_fetch_add_explicit(&ws->waiters, 1, memory_order_relaxed);
    /* Pairs with the fence in wp__ws_notify: the caller's re-check below
       cannot be ordered before the registration. */
    wp__fence();
#endif
    return ws->epoch;
}

static void wp__ws_cancel(wp__waitset *ws)
{
    atomic_fetch_sub_explicit(&ws->waiters, 1, memory_order_relaxed);
    wp__mutex_unlock(&ws->mu);
}

/* Sleeps until the epoch moves past `epoch` (true) or `deadline` passes
   (false), then unregisters and releases the lock. */
static bool wp__ws_wait(wp__waitset *ws, unsigned epoch, int64_t deadline)
{
    bool woken = true;
    while (ws->epoch == epoch) {
        if (deadline == WP_FOREVER) {
            wp__cond_wait(&ws->cv, &ws->mu);
        } else if (wp__now_ns() >= deadline) {
            woken = false;
            break;
        } else {
            wp__cond_wait_until(&ws->cv, &ws->mu, deadline);
        }
    }
    wp__ws_cancel(ws);
    return woken;
}

static void wp__ws_notify(wp__waitset *ws, bool all)
{
#ifdef WP__TSAN
    if (atomic_fetch_add_explicit(&ws->waiters, 0, memory_order_seq_cst) == 0)
        return;
#else
    /* Pairs with the fence in wp__ws_prepare (see above). */
    wp__fence();
    if (atomic_load_explicit(&ws->waiters, memory_order_relaxed) == 0)
        return;
#endif
    wp__mutex_lock(&ws->mu);
    ws->epoch++;
    if (all)
        wp__cond_broadcast(&ws->cv);
    else
        wp__cond_signal(&ws->cv);
    wp__mutex_unlock(&ws->mu);
}

/* What an attempt inside wp__ws_await can answer. */
enum { WP__AGAIN = 1, WP__DONE = 0 };

/* Spins this many times before parking: long enough to catch a job that is
   about to arrive in a busy pool, short enough not to burn a core. */
#ifndef WP_SPIN_COUNT
#  define WP_SPIN_COUNT 256
#endif

/* Calls attempt(ctx) until it answers anything but WP__AGAIN, spinning a
   little and then parking on `ws` between tries. Answers WP__AGAIN itself
   once `deadline` has passed. *slept (if not NULL) tells whether it parked. */
static int wp__ws_await(wp__waitset *ws, int64_t deadline, int (*attempt)(void *), void *ctx,
                        bool *slept)
{
    if (slept)
        *slept = false;
    int r = attempt(ctx);
    if (r != WP__AGAIN || deadline == INT64_MIN)
        return r;
    for (;;) {
        for (int i = 0; i < WP_SPIN_COUNT; i++) {
            wp__cpu_relax();
            if ((r = attempt(ctx)) != WP__AGAIN)
                return r;
        }
        /* Give a thread that shares our core the chance to make progress. */
        wp__thread_yield();
        if ((r = attempt(ctx)) != WP__AGAIN)
            return r;
        unsigned epoch = wp__ws_prepare(ws);
        if ((r = attempt(ctx)) != WP__AGAIN) {
            wp__ws_cancel(ws);
            return r;
        }
        if (slept)
            *slept = true;
        if (!wp__ws_wait(ws, epoch, deadline))
            return attempt(ctx); /* one last look at the deadline */
    }
}

/* ---------------------------------------------------------------------------
   The pool
   ------------------------------------------------------------------------- */

/* What travels through the job queue: 32 bytes on 64-bit targets. */
typedef struct wp__task {
    wp_job_fn fn;
    void *arg;
    uint64_t id;
    int64_t enqueued_ns; /* only measured when there is a result channel */
} wp__task;

/* Counters written only by their worker (load + store, no locked RMW), read
   by wp_pool_stats; each worker's sit on their own cache line. */
typedef struct wp__worker {
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t completed;
    atomic_uint_least64_t failed;
    atomic_uint_least64_t canceled;
    atomic_uint_least64_t ran_inline; /* nested submissions run in place */
    atomic_int busy;
    atomic_int state;                 /* enum wp__slot_state */
    int index;
    wp_pool *pool;
    wp__thread thread;
} wp__worker;

/* A worker slot is free, holds a running thread, or holds a thread that has
   finished (or is finishing) and must be joined before the slot is reused. */
enum wp__slot_state { WP__SLOT_FREE = 0, WP__SLOT_RUNNING, WP__SLOT_EXITED };

struct wp_ctx {
    wp_pool *pool;
    uint64_t id;
    void *value;
    int worker;
};

struct wp_pool {
    /* Read-only after create. */
    char name[64];
    int slots;               /* worker slots: the max_workers at create */
    wp_backpressure backpressure;
    int64_t submit_timeout;
    wp_thread_hook on_thread_start;
    wp_thread_hook on_thread_stop;
    void *hook_user;
    wp_allocator allocator;
    void *allocation;
    wp_queue *jobs;
    wp_queue *results;       /* NULL without a result channel */
    wp__worker *workers;
    size_t scale_up_threshold;
    int64_t scale_up_cooldown;
    int64_t idle_timeout;
    int64_t scale_down_cooldown;
    wp_clock_fn clock;
    void *clock_user;
    int64_t created_ns;      /* on the pool clock */

    /* Shutdown and scaling state; read by every worker, written rarely. */
    _Alignas(WP_CACHE_LINE) atomic_int canceling;
    atomic_int destroying;
    atomic_int live;         /* workers counted in, packed: see wp__started */
    atomic_int scaling;      /* min < max: the after-job checks run */
    atomic_int retire_requests; /* workers wp_pool_scale/resize asked to go */
    atomic_int min_workers;
    atomic_int max_workers;

    /* Scaling bookkeeping, touched only when the worker count changes. */
    _Alignas(WP_CACHE_LINE) atomic_int_least64_t next_scale_up;   /* pool clock */
    atomic_int_least64_t next_scale_down;
    atomic_int_least64_t last_scale_up;   /* since create; -1 = never */
    atomic_int_least64_t last_scale_down;
    atomic_uint_least64_t scale_ups;
    atomic_uint_least64_t scale_downs;
    atomic_uint_least64_t spawn_failures;
    atomic_int peak;
    wp__mutex slot_mu;       /* serialises slot choice, start and join */

    /* Refusals only happen on the slow path, so shared counters are fine. */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t rejected;
    atomic_uint_least64_t dropped;
    atomic_uint_least64_t timed_out;
    atomic_uint_least64_t refused_closed;

    wp__waitset job_ready;    /* workers wait for jobs */
    wp__waitset job_room;     /* blocked submitters wait for room */
    wp__waitset result_ready; /* receivers wait for results */
    wp__waitset result_room;  /* workers wait for room in the result channel */
    wp__waitset exited;       /* closers wait for workers to finish */
};

#define WP__WAITSETS 5

/* The worker the current thread is, if it is one; lets a pool recognise its
   own threads (nested submission, close from inside a job). */
static _Thread_local wp__worker *wp__self;

/* How deep nested submissions run inline on this thread (see wp__submit_slow). */
static _Thread_local int wp__inline_depth;
#define WP__MAX_INLINE_DEPTH 64

static bool wp__is_own_worker(const wp_pool *pool)
{
    return wp__self != NULL && wp__self->pool == pool;
}

static void wp__bump(atomic_uint_least64_t *counter)
{
    /* Single writer: a plain load and store, no locked instruction. */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void wp__count(atomic_uint_least64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

const char *wp_status_str(wp_status status)
{
    switch (status) {
#define WP__STATUS_CASE(name, value, text) case name: return text;
        WP_STATUS_LIST(WP__STATUS_CASE)
#undef WP__STATUS_CASE
    }
    return "unknown status";
}

uint64_t wp_ctx_id(const wp_ctx *ctx) { return ctx ? ctx->id : 0; }
int wp_ctx_worker(const wp_ctx *ctx) { return ctx ? ctx->worker : -1; }

bool wp_ctx_should_stop(const wp_ctx *ctx)
{
    return ctx && atomic_load_explicit(&ctx->pool->canceling, memory_order_acquire);
}

void wp_ctx_set_value(wp_ctx *ctx, void *value)
{
    if (ctx)
        ctx->value = value;
}

/* --- results ------------------------------------------------------------- */

static int wp__attempt_push_result(void *arg)
{
    void **a = (void **)arg;
    wp_pool *pool = (wp_pool *)a[0];
    if (wp__queue_push(pool->results, a[1], sizeof(wp_result)) == WP__PUSHED)
        return WP__DONE;
    /* Nobody will ever receive it: the pool is being destroyed. */
    return atomic_load_explicit(&pool->destroying, memory_order_acquire) ? WP__DONE : WP__AGAIN;
}

/* Hands a result to the channel, waiting for room: a full channel holds its
   worker back, which is the backpressure a result channel promises. */
static void wp__deliver(wp_pool *pool, const wp_result *r)
{
    void *a[2] = { pool, (void *)r };
    wp__ws_await(&pool->result_room, WP_FOREVER, wp__attempt_push_result, a, NULL);
    wp__ws_notify(&pool->result_ready, false);
}

typedef struct wp__recv_args {
    wp_pool *pool;
    wp_result *out;
} wp__recv_args;

static int wp__attempt_recv(void *arg)
{
    wp__recv_args *a = (wp__recv_args *)arg;
    if (wp__queue_pop(a->pool->results, a->out, sizeof(wp_result)))
        return WP_OK;
    /* Every worker has finished, so every result is in the channel by now
       (acquire pairs with the worker's release decrement); look once more. */
    if (atomic_load_explicit(&a->pool->live, memory_order_acquire) == 0)
        return wp__queue_pop(a->pool->results, a->out, sizeof(wp_result)) ? WP_OK : WP_CLOSED;
    return WP__AGAIN;
}

wp_status wp_result_recv(wp_pool *pool, wp_result *out, int64_t timeout)
{
    if (!pool || !out || timeout < 0 || !pool->results)
        return WP_INVALID;
    wp__recv_args a = { pool, out };
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    int r = wp__ws_await(&pool->result_ready, deadline, wp__attempt_recv, &a, NULL);
    if (r == WP_OK)
        wp__ws_notify(&pool->result_room, false);
    return r == WP__AGAIN ? WP_TIMED_OUT : (wp_status)r;
}

/* --- running a job ------------------------------------------------------- */

/* Runs (or, when the pool is canceling, cancels) one task on worker `w`, and
   records its one outcome. */
static void wp__execute(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    bool timed = pool->results != NULL;
    int64_t start = timed ? wp__now_ns() : 0;
    wp_ctx ctx = { pool, t->id, NULL, w->index };
    int code = 0;
    wp_status outcome;
    if (atomic_load_explicit(&pool->canceling, memory_order_acquire)) {
        outcome = WP_CANCELED;
        wp__bump(&w->canceled);
    } else {
        /* Saved and restored: a nested submission runs inside another job. */
        int was_busy = atomic_load_explicit(&w->busy, memory_order_relaxed);
        atomic_store_explicit(&w->busy, 1, memory_order_relaxed);
        code = t->fn(t->arg, &ctx);
        atomic_store_explicit(&w->busy, was_busy, memory_order_relaxed);
        outcome = code == 0 ? WP_OK : WP_TASK_FAILED;
        wp__bump(code == 0 ? &w->completed : &w->failed);
    }
    if (timed) {
        int64_t end = outcome == WP_CANCELED ? start : wp__now_ns();
        wp_result r = { t->id, t->arg, ctx.value, code, outcome,
                        t->enqueued_ns ? start - t->enqueued_ns : 0, end - start, w->index };
        wp__deliver(pool, &r);
    }
}

/* Takes a job and lets one blocked submitter know there is room. */
static bool wp__take(wp_pool *pool, wp__task *t)
{
    if (!wp__queue_pop(pool->jobs, t, sizeof *t))
        return false;
    wp__ws_notify(&pool->job_room, false);
    return true;
}

typedef struct wp__take_args {
    wp_pool *pool;
    wp__task *task;
} wp__take_args;

enum { WP__GOT = 2, WP__FINISHED = 3 };

static int wp__attempt_take(void *arg)
{
    wp__take_args *a = (wp__take_args *)arg;
    if (wp__take(a->pool, a->task))
        return WP__GOT;
    /* Closed but not drained means a submitter claimed a cell before the close
       and is still copying into it: keep trying, it is a matter of moments. */
    return wp__queue_drained(a->pool->jobs) ? WP__FINISHED : WP__AGAIN;
}

/* --- scaling ----------------------------------------------------------- */

static int64_t wp__pool_now(const wp_pool *pool)
{
    return pool->clock ? pool->clock(pool->clock_user) : wp__now_ns();
}

/* a + b for a duration b >= 0, saturating at WP_FOREVER. */
static int64_t wp__later(int64_t a, int64_t b)
{
    return a > 0 && b >= WP_FOREVER - a ? WP_FOREVER : a + b;
}

/* `live` packs two counts into one atomic word so that every decision sees
   both at once: started workers (low bits) and workers being started right
   now (high bits). Min is enforced on started workers, so a retirement can
   never count on a thread that may still fail to start; max and "has the pool
   finished" (live == 0) count both. */
#define WP__INFLIGHT 65536
static int wp__started(int live) { return live % WP__INFLIGHT; }
static int wp__total(int live) { return live % WP__INFLIGHT + live / WP__INFLIGHT; }

static int wp__live(const wp_pool *pool)
{
    return atomic_load_explicit((atomic_int *)&pool->live, memory_order_acquire);
}

#ifdef WORKERPOOL_TESTING
static atomic_int wp__failing_starts;
/* Test hook: the next n thread starts (in any pool) fail as if the platform
   refused them. */
WP_API void wp__test_fail_thread_starts(int n);
WP_API void wp__test_fail_thread_starts(int n) { atomic_store(&wp__failing_starts, n); }
#endif

static wp__thread_ret wp__worker_main(void *arg);

static int wp__start_thread(wp__worker *w)
{
#ifdef WORKERPOOL_TESTING
    int n = atomic_load(&wp__failing_starts);
    while (n > 0)
        if (atomic_compare_exchange_weak(&wp__failing_starts, &n, n - 1))
            return -1;
#endif
    return wp__thread_start(&w->thread, wp__worker_main, w);
}

/* Joins the thread a slot holds, if any; the caller holds slot_mu (or is
   the only thread left that touches the slots). */
static void wp__reap(wp__worker *w)
{
    if (atomic_load_explicit(&w->state, memory_order_acquire) != WP__SLOT_FREE) {
        wp__thread_join(w->thread);
        atomic_store_explicit(&w->state, WP__SLOT_FREE, memory_order_relaxed);
    }
}

/* Takes `amount` out of `live`, waking whoever waits for the pool to finish
   if that was the last of it. Release pairs with the acquire loads of `live`
   in close and recv: every outcome a worker produced is visible once it is
   out. */
static void wp__count_out(wp_pool *pool, int amount)
{
    if (atomic_fetch_sub_explicit(&pool->live, amount, memory_order_acq_rel) == amount)
        wp__ws_notify(&pool->result_ready, true);
    wp__ws_notify(&pool->exited, true);
}

/* Counts one worker in as being started, if the pool is running and below
   max. Zero means the pool has finished, so none may be added then. */
static bool wp__reserve_worker(wp_pool *pool)
{
    int live = atomic_load_explicit(&pool->live, memory_order_relaxed);
    do {
        if (live == 0 || wp__total(live) >= atomic_load_explicit(&pool->max_workers, memory_order_relaxed)
            || (atomic_load_explicit(&pool->jobs->head, memory_order_relaxed) & WP__CLOSED_BIT))
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->live, &live, live + WP__INFLIGHT,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

static void wp__raise_peak(wp_pool *pool)
{
    int n = wp__started(wp__live(pool));
    int peak = atomic_load_explicit(&pool->peak, memory_order_relaxed);
    while (n > peak && !atomic_compare_exchange_weak_explicit(&pool->peak, &peak, n,
                                                              memory_order_relaxed, memory_order_relaxed))
        ;
}

/* Starts the thread of a reserved worker in a free slot. A slot whose worker
   is retiring stays taken until that thread is done, so there may be none
   free for a moment: then the reservation is given back (the next scale-up
   check tries again) instead of waiting here. */
enum wp__spawn_result { WP__SPAWNED, WP__NO_SLOT, WP__SPAWN_FAILED };

static enum wp__spawn_result wp__spawn_reserved(wp_pool *pool)
{
    bool started = false, no_slot = true;
    wp__mutex_lock(&pool->slot_mu);
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        if (atomic_load_explicit(&w->state, memory_order_acquire) == WP__SLOT_RUNNING)
            continue;
        no_slot = false;
        wp__reap(w);
        atomic_store_explicit(&w->state, WP__SLOT_RUNNING, memory_order_relaxed);
        /* Counted as started before the thread runs, so that it can leave. */
        atomic_fetch_add_explicit(&pool->live, 1 - WP__INFLIGHT, memory_order_relaxed);
        started = wp__start_thread(w) == 0;
        if (!started) {
            atomic_store_explicit(&w->state, WP__SLOT_FREE, memory_order_relaxed);
            atomic_fetch_add_explicit(&pool->live, WP__INFLIGHT - 1, memory_order_relaxed);
        }
        break;
    }
    wp__mutex_unlock(&pool->slot_mu);
    if (started) {
        wp__raise_peak(pool);
        return WP__SPAWNED;
    }
    if (!no_slot)
        wp__count(&pool->spawn_failures);
    wp__count_out(pool, WP__INFLIGHT);
    return no_slot ? WP__NO_SLOT : WP__SPAWN_FAILED;
}

static void wp__record_scale(wp_pool *pool, bool up)
{
    int64_t since = wp__pool_now(pool) - pool->created_ns;
    wp__count(up ? &pool->scale_ups : &pool->scale_downs);
    atomic_store_explicit(up ? &pool->last_scale_up : &pool->last_scale_down, since,
                          memory_order_relaxed);
}

/* Claims the cooldown that `next` guards, so one thread acts per period. */
static bool wp__claim_cooldown(atomic_int_least64_t *next, int64_t now, int64_t cooldown)
{
    int_least64_t due = atomic_load_explicit(next, memory_order_relaxed);
    if (now < due)
        return false;
    return atomic_compare_exchange_strong_explicit(next, &due, wp__later(now, cooldown),
                                                   memory_order_relaxed, memory_order_relaxed);
}

/* Adds a worker when the backlog is past the threshold, the pool is below
   max and the scale-up cooldown has passed. Called by a worker after a job
   and by a submitter that found the queue full, never on the fast path. */
static void wp__maybe_scale_up(wp_pool *pool)
{
    if (!atomic_load_explicit(&pool->scaling, memory_order_relaxed)
        || wp_queue_size(pool->jobs) <= pool->scale_up_threshold
        || wp__total(wp__live(pool)) >= atomic_load_explicit(&pool->max_workers, memory_order_relaxed))
        return;
    if (!wp__claim_cooldown(&pool->next_scale_up, wp__pool_now(pool), pool->scale_up_cooldown))
        return;
    if (wp__reserve_worker(pool) && wp__spawn_reserved(pool) == WP__SPAWNED)
        wp__record_scale(pool, true);
}

/* Counts the calling worker out if more than min would remain started. The
   caller records the scale-down (outside any lock: it reads the user's
   clock). Release, as in wp__count_out. */
static bool wp__leave_above_min(wp_pool *pool)
{
    int live = atomic_load_explicit(&pool->live, memory_order_relaxed);
    do {
        if (wp__started(live) <= atomic_load_explicit(&pool->min_workers, memory_order_relaxed))
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->live, &live, live - 1,
                                                    memory_order_release, memory_order_relaxed));
    return true;
}

/* Honours a wp_pool_scale/resize request to retire a worker, if any. */
static bool wp__retire_on_request(wp_pool *pool)
{
    int r = atomic_load_explicit(&pool->retire_requests, memory_order_relaxed);
    while (r > 0) {
        if (atomic_compare_exchange_weak_explicit(&pool->retire_requests, &r, r - 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            if (wp__leave_above_min(pool))
                return true;
            /* Already at min: the remaining requests are moot. */
            atomic_store_explicit(&pool->retire_requests, 0, memory_order_relaxed);
            return false;
        }
    }
    return false;
}

/* Retires an idle surplus worker once idle_timeout and the scale-down
   cooldown have passed. */
static bool wp__retire_if_idle(wp_pool *pool, int64_t idle_since)
{
    int64_t now = wp__pool_now(pool);
    if (now - idle_since < pool->idle_timeout
        || wp__started(wp__live(pool)) <= atomic_load_explicit(&pool->min_workers, memory_order_relaxed))
        return false;
    if (!wp__claim_cooldown(&pool->next_scale_down, now, pool->scale_down_cooldown))
        return false;
    return wp__leave_above_min(pool);
}

/* How long an idle worker may park: without bound unless it is surplus; a
   surplus worker wakes when its idle timeout ends, or, if another worker's
   scale-down holds the cooldown, when the cooldown ends (never at a time
   already past, which would spin). With a clock override the worker re-reads
   that clock every millisecond instead. */
static int64_t wp__idle_deadline(wp_pool *pool, int64_t *idle_since)
{
    if (!atomic_load_explicit(&pool->scaling, memory_order_relaxed)
        || wp__started(wp__live(pool)) <= atomic_load_explicit(&pool->min_workers, memory_order_relaxed))
        return WP_FOREVER;
    if (*idle_since < 0)
        *idle_since = wp__pool_now(pool);
    if (pool->clock)
        return wp__deadline(WP_MS(1));
    int64_t due = wp__later(*idle_since, pool->idle_timeout);
    int64_t cooldown = atomic_load_explicit(&pool->next_scale_down, memory_order_relaxed);
    return cooldown > due ? cooldown : due;
}

enum { WP__RETIRE = 4 };

static int wp__attempt_take_or_retire(void *arg)
{
    int r = wp__attempt_take(arg);
    wp__take_args *a = (wp__take_args *)arg;
    /* Idle workers answer retirement requests first; busy ones after their
       job (see wp__worker_main). */
    if (r == WP__AGAIN && atomic_load_explicit(&a->pool->retire_requests, memory_order_relaxed) > 0
        && wp__retire_on_request(a->pool))
        return WP__RETIRE;
    return r;
}

static wp__thread_ret wp__worker_main(void *arg)
{
    wp__worker *w = (wp__worker *)arg;
    wp_pool *pool = w->pool;
    wp__self = w;
    if (pool->on_thread_start)
        pool->on_thread_start(w->index, pool->hook_user);

    wp__task task;
    wp__take_args a = { pool, &task };
    int64_t idle_since = -1;
    int r;
    for (;;) {
        bool slept;
        int64_t deadline = wp__idle_deadline(pool, &idle_since);
        r = wp__ws_await(&pool->job_ready, deadline, wp__attempt_take_or_retire, &a, &slept);
        if (r == WP__GOT) {
            /* A producer descheduled between claiming a cell and publishing
               it hides the jobs behind it, and the wake-ups of those jobs are
               spent on workers that found nothing. The one worker its publish
               wakes passes the wake-up on while work remains. */
            if (slept && wp_queue_size(pool->jobs) > 0)
                wp__ws_notify(&pool->job_ready, false);
            wp__execute(pool, w, &task);
            idle_since = -1;
            if (atomic_load_explicit(&pool->retire_requests, memory_order_relaxed) > 0
                && wp__retire_on_request(pool)) {
                r = WP__RETIRE;
                break;
            }
            if (atomic_load_explicit(&pool->scaling, memory_order_relaxed))
                wp__maybe_scale_up(pool);
        } else if (r == WP__FINISHED || r == WP__RETIRE) {
            break;
        } else if (wp__retire_if_idle(pool, idle_since)) { /* idle deadline passed */
            r = WP__RETIRE;
            break;
        }
    }

    if (r == WP__RETIRE)
        wp__record_scale(pool, false);
    if (r == WP__FINISHED) /* the queue is closed and empty: tell the others */
        wp__ws_notify(&pool->job_ready, true);
    if (pool->on_thread_stop)
        pool->on_thread_stop(w->index, pool->hook_user);
    wp__self = NULL;
    /* A retiring worker already left `live`; marking the slot lets a spawner
       (or destroy) join this thread. */
    atomic_store_explicit(&w->state, WP__SLOT_EXITED, memory_order_release);
    if (r == WP__FINISHED)
        wp__count_out(pool, 1);
    return WP__THREAD_RETURN;
}

/* --- submission ---------------------------------------------------------- */

typedef struct wp__push_args {
    wp_pool *pool;
    const wp__task *task;
} wp__push_args;

static int wp__attempt_push_job(void *arg)
{
    wp__push_args *a = (wp__push_args *)arg;
    switch (wp__queue_push(a->pool->jobs, a->task, sizeof *a->task)) {
    case WP__PUSHED: return WP_OK;
    case WP__SHUT: return WP_CLOSED;
    default: return WP__AGAIN;
    }
}

/* The queue was full (or closed): apply the backpressure policy. */
static wp_status wp__submit_slow(wp_pool *pool, const wp__task *t, wp_backpressure policy,
                                 int64_t timeout, enum wp__push_result first)
{
    if (first == WP__SHUT) {
        wp__count(&pool->refused_closed);
        return WP_CLOSED;
    }
    /* A full queue is the submitter's cue to add a worker: no worker may be
       free to notice the backlog (all busy with long jobs). */
    if (atomic_load_explicit(&pool->scaling, memory_order_relaxed))
        wp__maybe_scale_up(pool);
    if (policy == WP_REJECT) {
        wp__count(&pool->rejected);
        return WP_FULL;
    }
    if (policy == WP_DROP) {
        wp__count(&pool->dropped);
        return WP_DROPPED;
    }
    if (wp__is_own_worker(pool)) {
        /* Waiting for room from inside a worker could wait on itself: run the
           job right here instead. A job that always submits another would
           recurse without end, so past a depth bound the job is refused. */
        if (wp__inline_depth >= WP__MAX_INLINE_DEPTH) {
            wp__count(&pool->rejected);
            return WP_WOULD_DEADLOCK;
        }
        wp__bump(&wp__self->ran_inline);
        wp__inline_depth++;
        wp__execute(pool, wp__self, t);
        wp__inline_depth--;
        return WP_OK;
    }
    int64_t deadline = policy == WP_BLOCK ? WP_FOREVER : wp__deadline(timeout);
    wp__push_args a = { pool, t };
    int r = wp__ws_await(&pool->job_room, deadline, wp__attempt_push_job, &a, NULL);
    if (r == WP_OK) {
        wp__ws_notify(&pool->job_ready, false);
        return WP_OK;
    }
    if (r == WP_CLOSED) {
        wp__count(&pool->refused_closed);
        return WP_CLOSED;
    }
    wp__count(&pool->timed_out);
    return WP_TIMED_OUT;
}

static wp_status wp__submit(wp_pool *pool, wp__task *t, wp_backpressure policy, int64_t timeout)
{
    if (pool->results)
        t->enqueued_ns = wp__now_ns();
    enum wp__push_result r = wp__queue_push(pool->jobs, t, sizeof *t);
    if (r != WP__PUSHED)
        return wp__submit_slow(pool, t, policy, timeout, r);
    wp__ws_notify(&pool->job_ready, false);
    return WP_OK;
}

wp_status wp_submit(wp_pool *pool, wp_job_fn fn, void *arg)
{
    if (!pool || !fn)
        return WP_INVALID;
    wp__task t = { fn, arg, 0, 0 };
    return wp__submit(pool, &t, pool->backpressure, pool->submit_timeout);
}

static bool wp__policy_ok(wp_backpressure p)
{
    return p >= WP_BACKPRESSURE_DEFAULT && p <= WP_TIMEOUT;
}

wp_status wp_submit_job(wp_pool *pool, const wp_job *job)
{
    if (!pool || !job || !job->fn || !wp__policy_ok(job->backpressure) || job->timeout < 0)
        return WP_INVALID;
    wp__task t = { job->fn, job->arg, job->id, 0 };
    wp_backpressure policy = job->backpressure ? job->backpressure : pool->backpressure;
    int64_t timeout = job->timeout ? job->timeout : pool->submit_timeout;
    return wp__submit(pool, &t, policy, timeout);
}

/* --- shutdown ------------------------------------------------------------ */

static int wp__attempt_all_exited(void *arg)
{
    wp_pool *pool = (wp_pool *)arg;
    return atomic_load_explicit(&pool->live, memory_order_acquire) == 0 ? WP__DONE : WP__AGAIN;
}

static void wp__start_canceling(wp_pool *pool)
{
    /* Release pairs with the acquire loads in wp__execute and
       wp_ctx_should_stop. */
    atomic_store_explicit(&pool->canceling, 1, memory_order_release);
}

wp_status wp_pool_close(wp_pool *pool, wp_close_mode mode, int64_t timeout)
{
    if (!pool || (mode != WP_DRAIN && mode != WP_CANCEL) || timeout < 0)
        return WP_INVALID;
    if (wp__is_own_worker(pool))
        return WP_WOULD_DEADLOCK;
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    if (mode == WP_CANCEL)
        wp__start_canceling(pool);
    wp__queue_close(pool->jobs);
    /* Wake parked workers to drain and blocked submitters to give up. */
    wp__ws_notify(&pool->job_ready, true);
    wp__ws_notify(&pool->job_room, true);
    if (wp__ws_await(&pool->exited, deadline, wp__attempt_all_exited, pool, NULL) == WP__DONE)
        return WP_OK;
    wp__start_canceling(pool);
    return WP_FORCED;
}

/* --- create and destroy -------------------------------------------------- */

static wp__waitset *wp__waitset_at(wp_pool *pool, int i)
{
    wp__waitset *all[WP__WAITSETS] = { &pool->job_ready, &pool->job_room, &pool->result_ready,
                                       &pool->result_room, &pool->exited };
    return all[i];
}

static void *wp__alloc(const wp_allocator *a, size_t size)
{
    return a->alloc ? a->alloc(size, a->user) : WP_MALLOC(size);
}

static void wp__free(const wp_allocator *a, void *p)
{
    if (a->free)
        a->free(p, a->user);
    else
        WP_FREE(p);
}

/* Fills in defaults and checks the limits documented in wp_config. */
static wp_status wp__resolve_config(const wp_config *in, wp_config *out)
{
    static const wp_config defaults = { 0 };
    *out = in ? *in : defaults;
    if (out->min_workers < 0 || out->max_workers < 0 || out->max_workers > WP_MAX_WORKERS
        || out->min_workers > WP_MAX_WORKERS)
        return WP_INVALID;
    if (out->max_workers == 0) {
        int cpus = wp__online_cpus();
        out->max_workers = out->min_workers > cpus ? out->min_workers : cpus;
    }
    if (out->min_workers == 0)
        out->min_workers = out->max_workers;
    if (out->min_workers > out->max_workers)
        return WP_INVALID;
    if (out->queue_capacity == 0)
        out->queue_capacity = 1024;
    if (out->queue_capacity > WP__QUEUE_MAX_CAPACITY || out->result_capacity > WP__QUEUE_MAX_CAPACITY)
        return WP_INVALID;
    if (!wp__policy_ok(out->backpressure))
        return WP_INVALID;
    if (out->backpressure == WP_BACKPRESSURE_DEFAULT)
        out->backpressure = WP_BLOCK;
    if (out->submit_timeout < 0)
        return WP_INVALID;
    if (out->submit_timeout == 0)
        out->submit_timeout = WP_SEC(1);
    if ((out->allocator.alloc == NULL) != (out->allocator.free == NULL))
        return WP_INVALID;
    if (out->name == NULL)
        out->name = "workerpool";
    if (out->scale_up_cooldown < 0 || out->idle_timeout < 0 || out->scale_down_cooldown < 0)
        return WP_INVALID;
    size_t cap = wp__queue_round_capacity(out->queue_capacity);
    if (out->scale_up_threshold == 0)
        out->scale_up_threshold = 4;
    if (out->scale_up_threshold > cap - 1)
        out->scale_up_threshold = cap - 1;
    if (out->scale_up_cooldown == 0)
        out->scale_up_cooldown = WP_MS(10);
    if (out->idle_timeout == 0)
        out->idle_timeout = WP_SEC(10);
    if (out->scale_down_cooldown == 0)
        out->scale_down_cooldown = WP_SEC(1);
    return WP_OK;
}

wp_config wp_config_default(void)
{
    wp_config c;
    memset(&c, 0, sizeof c);
    return c;
}

wp_config wp_config_high_throughput(void)
{
    wp_config c = wp_config_default();
    c.queue_capacity = 16384;
    return c;
}

wp_config wp_config_low_resource(void)
{
    wp_config c = wp_config_default();
    c.min_workers = 1;
    c.queue_capacity = 256;
    c.scale_up_threshold = 16;
    c.scale_up_cooldown = WP_MS(50);
    c.idle_timeout = WP_SEC(2);
    c.scale_down_cooldown = WP_MS(500);
    return c;
}

/* One allocation holds the pool, its workers and both queues. */
typedef struct wp__layout {
    size_t workers, jobs, results, total;
} wp__layout;

/* a + b, or false when it would not fit in a size_t (32-bit targets). */
static bool wp__add(size_t *a, size_t b)
{
    if (b > SIZE_MAX - *a)
        return false;
    *a += b;
    return true;
}

/* Plans the block; false when it cannot be addressed on this target. */
static bool wp__plan(const wp_config *cfg, wp__layout *l)
{
    size_t cl = WP_CACHE_LINE;
    size_t jobs = wp_queue_footprint(cfg->queue_capacity, sizeof(wp__task));
    size_t results = cfg->result_capacity
        ? wp_queue_footprint(cfg->result_capacity, sizeof(wp_result)) : 0;
    if (jobs == 0 || (cfg->result_capacity && results == 0))
        return false;
    size_t at = wp__align_up(sizeof(wp_pool), cl);
    l->workers = at;
    if (!wp__add(&at, wp__align_up((size_t)cfg->max_workers * sizeof(wp__worker), cl)))
        return false;
    l->jobs = at;
    if (!wp__add(&at, jobs) || !wp__add(&at, cl))
        return false;
    at &= ~(cl - 1);
    l->results = at;
    if (!wp__add(&at, results) || !wp__add(&at, cl)) /* + slack to align the block */
        return false;
    l->total = at;
    return true;
}

/* Undoes wp__init_sync (its first `done` steps) and frees the block. */
static void wp__release(wp_pool *pool, int done)
{
    for (int i = 0; i < done && i < WP__WAITSETS; i++)
        wp__ws_destroy(wp__waitset_at(pool, i));
    if (done > WP__WAITSETS)
        wp__mutex_destroy(&pool->slot_mu);
    wp_allocator a = pool->allocator;
    wp__free(&a, pool->allocation);
}

#define WP__SYNC_STEPS (WP__WAITSETS + 1)

/* Initialises the waitsets and the slot mutex; answers how many steps
   succeeded (WP__SYNC_STEPS when all did). */
static int wp__init_sync(wp_pool *pool)
{
    for (int i = 0; i < WP__WAITSETS; i++)
        if (wp__ws_init(wp__waitset_at(pool, i)) != 0)
            return i;
    return wp__mutex_init(&pool->slot_mu) == 0 ? WP__SYNC_STEPS : WP__WAITSETS;
}

static wp_pool *wp__build(const wp_config *cfg, void *block, const wp__layout *l)
{
    unsigned char *base = (unsigned char *)wp__align_up((uintptr_t)block, WP_CACHE_LINE);
    memset(base, 0, l->total - WP_CACHE_LINE);
    wp_pool *pool = (wp_pool *)base;
    pool->allocation = block;
    pool->allocator = cfg->allocator;
    strncpy(pool->name, cfg->name, sizeof pool->name - 1);
    pool->slots = cfg->max_workers;
    pool->backpressure = cfg->backpressure;
    pool->submit_timeout = cfg->submit_timeout;
    pool->on_thread_start = cfg->on_thread_start;
    pool->on_thread_stop = cfg->on_thread_stop;
    pool->hook_user = cfg->hook_user;
    pool->workers = (wp__worker *)(base + l->workers);
    wp_status s = wp_queue_init(base + l->jobs, l->results - l->jobs, cfg->queue_capacity,
                                sizeof(wp__task), &pool->jobs);
    WP_ASSERT(s == WP_OK);
    if (cfg->result_capacity) {
        s = wp_queue_init(base + l->results, l->total - WP_CACHE_LINE - l->results,
                          cfg->result_capacity, sizeof(wp_result), &pool->results);
        WP_ASSERT(s == WP_OK);
    }
    (void)s;
    pool->scale_up_threshold = cfg->scale_up_threshold;
    pool->scale_up_cooldown = cfg->scale_up_cooldown;
    pool->idle_timeout = cfg->idle_timeout;
    pool->scale_down_cooldown = cfg->scale_down_cooldown;
    pool->clock = cfg->clock;
    pool->clock_user = cfg->clock_user;
    pool->created_ns = wp__pool_now(pool);
    atomic_init(&pool->canceling, 0);
    atomic_init(&pool->destroying, 0);
    atomic_init(&pool->live, 0);
    atomic_init(&pool->scaling, cfg->min_workers < cfg->max_workers);
    atomic_init(&pool->retire_requests, 0);
    atomic_init(&pool->min_workers, cfg->min_workers);
    atomic_init(&pool->max_workers, cfg->max_workers);
    atomic_init(&pool->next_scale_up, INT64_MIN);
    atomic_init(&pool->next_scale_down, INT64_MIN);
    atomic_init(&pool->last_scale_up, -1);
    atomic_init(&pool->last_scale_down, -1);
    atomic_init(&pool->scale_ups, 0);
    atomic_init(&pool->scale_downs, 0);
    atomic_init(&pool->spawn_failures, 0);
    atomic_init(&pool->peak, cfg->min_workers);
    atomic_init(&pool->rejected, 0);
    atomic_init(&pool->dropped, 0);
    atomic_init(&pool->timed_out, 0);
    atomic_init(&pool->refused_closed, 0);
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        atomic_init(&w->state, WP__SLOT_FREE);
        atomic_init(&w->completed, 0);
        atomic_init(&w->failed, 0);
        atomic_init(&w->canceled, 0);
        atomic_init(&w->ran_inline, 0);
        atomic_init(&w->busy, 0);
        w->index = i;
        w->pool = pool;
    }
    return pool;
}

/* Joins every thread the pool ever started and has not joined yet. */
static void wp__join_workers(wp_pool *pool)
{
    wp__mutex_lock(&pool->slot_mu);
    for (int i = 0; i < pool->slots; i++)
        wp__reap(&pool->workers[i]);
    wp__mutex_unlock(&pool->slot_mu);
}

wp_status wp_pool_create(const wp_config *config, wp_pool **out)
{
    if (!out)
        return WP_INVALID;
    *out = NULL;
    wp_config cfg;
    wp_status s = wp__resolve_config(config, &cfg);
    if (s != WP_OK)
        return s;

    wp__layout l;
    if (!wp__plan(&cfg, &l))
        return WP_NOMEM;
    void *block = wp__alloc(&cfg.allocator, l.total);
    if (!block)
        return WP_NOMEM;
    wp_pool *pool = wp__build(&cfg, block, &l);
    int done = wp__init_sync(pool);
    if (done != WP__SYNC_STEPS) {
        wp__release(pool, done);
        return WP_NOMEM;
    }

    /* The first min workers, all counted in before any starts. */
    int n = cfg.min_workers;
    atomic_store(&pool->live, n);
    for (int i = 0; i < n; i++) {
        wp__worker *w = &pool->workers[i];
        atomic_store(&w->state, WP__SLOT_RUNNING);
        if (wp__start_thread(w) != 0) {
            /* Count out the workers that never started, stop the rest. */
            atomic_store(&w->state, WP__SLOT_FREE);
            atomic_fetch_sub(&pool->live, n - i); /* all started workers */
            wp_pool_close(pool, WP_CANCEL, WP_FOREVER);
            wp__join_workers(pool);
            wp__release(pool, WP__SYNC_STEPS);
            return WP_THREAD_FAILED;
        }
    }
    *out = pool;
    return WP_OK;
}

/* Starts up to `count` workers now, within max; false if a start failed.
   A slot held by a retiring worker frees within moments (unless its
   on_thread_stop hook dawdles), so that case is retried for a while. */
static bool wp__add_workers(wp_pool *pool, int count)
{
    int no_slot = 0;
    for (int i = 0; i < count && wp__reserve_worker(pool);) {
        enum wp__spawn_result r = wp__spawn_reserved(pool);
        if (r == WP__SPAWN_FAILED || (r == WP__NO_SLOT && ++no_slot > 100000))
            return false;
        if (r == WP__NO_SLOT) {
            wp__thread_yield();
            continue;
        }
        wp__record_scale(pool, true);
        i++;
    }
    return true;
}

/* Asks up to `count` workers to retire, never going below min: idle ones
   answer at once, busy ones after their job. */
static void wp__remove_workers(wp_pool *pool, int count)
{
    int surplus = wp__started(wp__live(pool)) - atomic_load(&pool->min_workers);
    if (count > surplus)
        count = surplus;
    if (count <= 0)
        return;
    atomic_fetch_add(&pool->retire_requests, count);
    wp__ws_notify(&pool->job_ready, true);
}

static bool wp__is_closed(const wp_pool *pool)
{
    return atomic_load_explicit(&pool->jobs->head, memory_order_acquire) & WP__CLOSED_BIT;
}

wp_status wp_pool_scale(wp_pool *pool, int delta)
{
    if (!pool)
        return WP_INVALID;
    if (wp__is_closed(pool))
        return WP_CLOSED;
    if (delta > 0)
        return wp__add_workers(pool, delta) ? WP_OK : WP_THREAD_FAILED;
    if (delta < 0)
        wp__remove_workers(pool, delta == INT_MIN ? INT_MAX : -delta);
    return WP_OK;
}

wp_status wp_pool_resize(wp_pool *pool, int min_workers, int max_workers)
{
    if (!pool || min_workers < 1 || min_workers > max_workers || max_workers > pool->slots)
        return WP_INVALID;
    if (wp__is_closed(pool))
        return WP_CLOSED;
    atomic_store(&pool->min_workers, min_workers);
    atomic_store(&pool->max_workers, max_workers);
    atomic_store(&pool->scaling, min_workers < max_workers);
    /* Parked workers re-read the bounds and whether they are now surplus. */
    wp__ws_notify(&pool->job_ready, true);
    int live = wp__started(wp__live(pool));
    if (live > max_workers)
        wp__remove_workers(pool, live - max_workers);
    /* Workers may be retiring under the old min right now: top up until the
       new min is really started, or a start fails. */
    for (int tries = 0; wp__started(wp__live(pool)) < min_workers; tries++) {
        if (tries > 2 * max_workers || !wp__add_workers(pool, 1))
            return WP_THREAD_FAILED;
    }
    return WP_OK;
}

wp_status wp_pool_destroy(wp_pool *pool)
{
    if (!pool)
        return WP_OK;
    if (wp__is_own_worker(pool))
        return WP_WOULD_DEADLOCK;
    /* No result can be received any more: let workers discard theirs. */
    atomic_store_explicit(&pool->destroying, 1, memory_order_release);
    wp__ws_notify(&pool->result_room, true);
    wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
    wp__join_workers(pool);
    wp__release(pool, WP__SYNC_STEPS);
    return WP_OK;
}

/* --- stats --------------------------------------------------------------- */

static uint64_t wp__read(const atomic_uint_least64_t *counter)
{
    return atomic_load_explicit((atomic_uint_least64_t *)counter, memory_order_relaxed);
}

wp_status wp_pool_stats(wp_pool *pool, wp_stats *out)
{
    if (!pool || !out)
        return WP_INVALID;
    memset(out, 0, sizeof *out);
    uint64_t inline_runs = 0;
    for (int i = 0; i < pool->slots; i++) {
        const wp__worker *w = &pool->workers[i];
        out->completed += wp__read(&w->completed);
        out->failed += wp__read(&w->failed);
        out->canceled += wp__read(&w->canceled);
        inline_runs += wp__read(&w->ran_inline);
        out->active += atomic_load_explicit((atomic_int *)&w->busy, memory_order_relaxed);
    }
    out->workers = wp__started(wp__live(pool));
    if (out->active > out->workers)
        out->active = out->workers;
    out->idle = out->workers - out->active;
    out->queue_depth = wp_queue_size(pool->jobs);
    out->queue_capacity = wp_queue_capacity(pool->jobs);
    out->submitted = wp__queue_accepted(pool->jobs) + inline_runs;
    out->rejected = wp__read(&pool->rejected);
    out->dropped = wp__read(&pool->dropped);
    out->timed_out = wp__read(&pool->timed_out);
    out->refused_closed = wp__read(&pool->refused_closed);
    out->results_pending = pool->results ? wp_queue_size(pool->results) : 0;
    out->min_workers = atomic_load_explicit(&pool->min_workers, memory_order_relaxed);
    out->max_workers = atomic_load_explicit(&pool->max_workers, memory_order_relaxed);
    out->peak_workers = atomic_load_explicit(&pool->peak, memory_order_relaxed);
    out->scale_ups = wp__read(&pool->scale_ups);
    out->scale_downs = wp__read(&pool->scale_downs);
    out->spawn_failures = wp__read(&pool->spawn_failures);
    out->last_scale_up_ns = atomic_load_explicit(&pool->last_scale_up, memory_order_relaxed);
    out->last_scale_down_ns = atomic_load_explicit(&pool->last_scale_down, memory_order_relaxed);
    out->uptime_ns = wp__pool_now(pool) - pool->created_ns;
    return WP_OK;
}

#ifdef WORKERPOOL_TESTING
WP_API wp_queue *wp__pool_queue(wp_pool *pool);
WP_API wp_queue *wp__pool_queue(wp_pool *pool) { return pool->jobs; }
#endif

#endif /* WORKERPOOL_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the workerpool.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
