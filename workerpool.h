/* workerpool.h - v0.2.0 - a worker pool with backpressure, in one C11 header.

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
     WP_SPIN_COUNT         pauses a worker (or a waiting caller) spins before it
                           parks (default: 256)
     WP_ROOM_SPIN_COUNT    the same for a submitter blocked on a full queue lane
                           of 4 cells or more (default: 16)
     WP_SHORT_JOB_NS       with wp_config.take_run > 1, the mean job time (ns)
                           below which a worker claims runs of jobs (default:
                           2000)
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
       WP_TASK_FAILED), or it never runs and is canceled (WP_CANCELED: close
       or its token), expired (WP_EXPIRED) or evicted (WP_DROPPED, under
       WP_DROP_OLDEST). Every refused submission returns a status and is
       counted once (rejected, dropped, timed out, or refused because the
       pool is closed).
     - Submitting from inside the pool's own jobs never deadlocks (see
       wp_backpressure); closing from inside them is refused.
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
#define WORKERPOOL_VERSION_MINOR 2
#define WORKERPOOL_VERSION_PATCH 0
#define WORKERPOOL_VERSION "0.2.0"

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

/* wp_result: the one outcome of one accepted job, delivered through the result
   channel when the pool has one (wp_config.result_capacity > 0) and to the
   job's completion callback when it has one.
     id, arg      as submitted.
     value        what the job passed to wp_ctx_set_value (NULL if nothing).
     code         what the job returned (0 if it did not run).
     status       WP_OK (ran, returned 0), WP_TASK_FAILED (ran, returned code),
                  or, for a job that never ran: WP_CANCELED (its token was
                  canceled, or the pool closed with WP_CANCEL), WP_EXPIRED
                  (its deadline passed before it started) or WP_DROPPED
                  (evicted from a full queue by WP_DROP_OLDEST).
     queued_ns    time between acceptance and the start of the run (or the
                  outcome, for a job that never ran); measured only when the
                  pool has a result channel or the job a callback.
     run_ns       time the job ran (0 if it did not run).
     worker       index of the worker that ran or ended it; -1 for any other
                  thread (wp_pool_help, WP_CALLER_RUNS, an eviction). */
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

/* wp_done_fn: a job's completion callback, called exactly once with its
   outcome, on the thread that produced it (a worker, or the thread that
   canceled, evicted or ran it), before the result (if any) enters the result
   channel. `result->arg` is the job's arg, so a callback can free it. It must
   not block for long: it holds up its worker. */
typedef void (*wp_done_fn)(const wp_result *result);

/* wp_token: a cancellation token. Jobs that carry it (wp_job.token) and are
   still queued when it is canceled never run: they yield WP_CANCELED. A job
   already running sees wp_ctx_should_stop() turn true and may return early.
   One token may serve any number of jobs, in any number of pools; it must
   outlive every job that carries it. */
typedef struct wp_token wp_token;

/* wp_token_create: allocates (with WP_MALLOC) a token that is not canceled.
   Returns WP_OK, WP_NOMEM, or WP_INVALID for a NULL out.
   Thread safety: any thread. */
WP_API wp_status wp_token_create(wp_token **out);

/* wp_token_cancel: cancels the token (for good; a second call is harmless).
   Thread safety: any thread, also from inside jobs. NULL is ignored. */
WP_API void wp_token_cancel(wp_token *token);

/* wp_token_is_canceled: whether wp_token_cancel was called (false for NULL).
   Thread safety: any thread. */
WP_API bool wp_token_is_canceled(const wp_token *token);

/* wp_token_destroy: frees a token once no job that carries it is queued or
   running. NULL is ignored. */
WP_API void wp_token_destroy(wp_token *token);

/* wp_handle: names one accepted job, for wp_job_wait, wp_job_cancel,
   wp_job_query and wp_job_release: a slot index and a generation, no heap.
   The zero handle names no job. A job submitted with wp_job.handle set
   holds one of the pool's handle slots (wp_config.max_handles) until
   wp_job_wait has returned its outcome or wp_job_release was called; a
   handle is stale (WP_INVALID) after that. */
typedef struct wp_handle {
    uint32_t slot;
    uint32_t generation;
} wp_handle;

/* wp_job_state: where a job with a handle is (see wp_job_query). */
typedef enum wp_job_state {
    WP_JOB_QUEUED = 1, /* accepted, not started */
    WP_JOB_RUNNING,    /* its function is running */
    WP_JOB_DONE        /* it has its outcome (ran, or never will) */
} wp_job_state;

/* wp_priority: which of the pool's three queues (lanes) a job waits in.
   Workers start higher-priority jobs first, with a fairness quota so that a
   steady stream of high jobs cannot starve the others: while lower lanes
   hold jobs, every 4th job a thread starts is taken from the normal lane
   first and every 16th from the low lane first (normal second). So a
   waiting job at position p of its lane has started after at most
   8 x (p + 1) job starts of any one thread (normal) or 16 x (p + 1) (low). */
typedef enum wp_priority {
    WP_PRIORITY_NORMAL = 0,
    WP_PRIORITY_HIGH,
    WP_PRIORITY_LOW
} wp_priority;

/* wp_backpressure: what a submission does when its queue lane is full.
   WP_BACKPRESSURE_DEFAULT (zero) means "the pool's policy" in a job and WP_BLOCK
   in a config.
     WP_BLOCK        wait for room, without bound (WP_CLOSED if the pool closes).
                     On a lane of 4 cells or more a blocked submitter is
                     woken when a quarter of the lane has drained, so that
                     it pushes a run of jobs per wake-up.
     WP_DROP         discard the new job: WP_DROPPED, counted as dropped.
     WP_REJECT       refuse it at once: WP_FULL, counted as rejected.
     WP_TIMEOUT      wait for room up to the submit timeout, then
                     WP_TIMED_OUT, counted as timed out.
     WP_DROP_OLDEST  evict the oldest job of the lane (it yields WP_DROPPED
                     through its callback and the result channel, counted as
                     evicted) and accept the new one: WP_OK.
     WP_CALLER_RUNS  run the new job on the submitting thread, now: WP_OK
                     once it has run (its outcome is delivered as usual).
   A job submitted from inside one of the pool's own jobs does not wait for
   room: under WP_BLOCK or WP_TIMEOUT a full queue makes that thread run the
   new job itself at once, so nested submission cannot deadlock the pool,
   even when every worker does it. Past 64 nested levels on one thread the
   submission is refused with WP_WOULD_DEADLOCK (counted as rejected), so a
   job that always submits another cannot overflow the stack. In an
   inline-only pool (no workers) a submitter that meets a full queue under
   WP_BLOCK or WP_TIMEOUT runs the oldest queued job to make room. */
typedef enum wp_backpressure {
    WP_BACKPRESSURE_DEFAULT = 0,
    WP_BLOCK,
    WP_DROP,
    WP_REJECT,
    WP_TIMEOUT,
    WP_DROP_OLDEST,
    WP_CALLER_RUNS
} wp_backpressure;

/* wp_job: the full description of one submission, for wp_submit_job and
   wp_submit_batch. Zero fields mean defaults, so `(wp_job){ .fn = f, .arg = p }`
   is a complete job.
     fn            required.
     arg           passed to fn and returned in the job's result.
     id            your identifier, returned in the result (not interpreted).
     backpressure  overrides the pool's policy for this submission.
     timeout       overrides the pool's submit timeout (used with WP_TIMEOUT).
     priority      its lane; WP_PRIORITY_NORMAL by default.
     deadline      0 = none; else a duration from submission (on the pool's
                   clock): not started by then, it never runs and yields
                   WP_EXPIRED; running past it, wp_ctx_should_stop() and
                   wp_ctx_expired() turn true.
     token         NULL = none; see wp_token.
     on_done       NULL = none; see wp_done_fn.
     handle        NULL = none; else where an accepted submission stores the
                   job's wp_handle (the zero handle when it is refused). A
                   submission that asks for a handle while every handle
                   slot is held is refused at once with WP_FULL (counted as
                   rejected), whatever the policy. */
typedef struct wp_job {
    wp_job_fn fn;
    void *arg;
    uint64_t id;
    wp_backpressure backpressure;
    int64_t timeout;
    wp_priority priority;
    int64_t deadline;
    wp_token *token;
    wp_done_fn on_done;
    wp_handle *handle;
} wp_job;

/* wp_ctx_id: the id the job was submitted with (0 for wp_submit).
   Thread safety: only inside the job, with its own ctx. */
WP_API uint64_t wp_ctx_id(const wp_ctx *ctx);

/* wp_ctx_worker: the index (0 .. workers-1) of the worker running the job, or
   -1 when another thread runs it (wp_pool_help, WP_CALLER_RUNS).
   Thread safety: only inside the job, with its own ctx. */
WP_API int wp_ctx_worker(const wp_ctx *ctx);

/* wp_ctx_should_stop: true once the pool is canceling (wp_pool_close with
   WP_CANCEL, or a drain that ran past its timeout), the job's token is
   canceled, or its deadline has passed. A long job should poll it and
   return early; its outcome is still what it returns.
   Thread safety: only inside the job, with its own ctx. */
WP_API bool wp_ctx_should_stop(const wp_ctx *ctx);

/* wp_ctx_expired: true once the job's deadline has passed (never without one).
   Thread safety: only inside the job, with its own ctx. */
WP_API bool wp_ctx_expired(const wp_ctx *ctx);

/* wp_ctx_set_value: sets the value reported in the job's result (NULL unless
   set). The pool never dereferences it.
   Thread safety: only inside the job, with its own ctx. */
WP_API void wp_ctx_set_value(wp_ctx *ctx, void *value);

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
     inline_only      true = no worker threads at all (min_workers and
                      max_workers must be 0): jobs run only when a thread
                      calls wp_pool_help, wp_pool_wait_idle or wp_pool_close,
                      or under WP_CALLER_RUNS. Deterministic, for tests,
                      replays and builds without threads.
     rate_limit       0 = none; else the most jobs per second the pool starts
                      (a token bucket on the pool's clock, applied when a job
                      is taken from the queue: workers and wp_pool_help
                      alike; jobs canceled at close skip it).
     rate_burst       jobs that may start at once after a quiet spell (the
                      bucket's size); 0 = 1.
     max_handles      jobs that may hold a wp_handle at once; 0 = 256; at
                      most 2^24. Each slot costs about 100 bytes.
     take_run         0 or 1 = a worker takes one job per claim on the queue
                      (the default). 2 .. WP_TAKE_RUN_MAX = while a worker's
                      jobs are short (under WP_SHORT_JOB_NS, 2 us, on
                      average, measured; a new worker measures its first
                      job), it claims up to this many at once (half of the
                      run it sees published), which cuts the contention
                      between workers for the queue: empty-job throughput
                      and batch throughput 1.5x to 4.6x on 2 cores
                      (bench/results*.md). The price: the rest of a run
                      waits on that worker, and no other
                      worker can take it meanwhile. So use it for short,
                      independent jobs: a job that blocks until another
                      queued job has run (a barrier between jobs, say) can
                      deadlock, unless it waits through the pool:
                      wp_job_wait, wp_result_recv, wp_pool_wait_idle and
                      wp_pool_help called from a job run the jobs its worker
                      holds when they are what it waits for. Not taken
                      under a rate limit, nor once a job of another
                      priority than WP_PRIORITY_NORMAL has been submitted
                      (for the rest of the pool's life).
                      wp_config_high_throughput() sets 8.
     clock, clock_user    the clock for scaling decisions, deadlines, the rate
                          limit and stats times;
                          NULL = the system's monotonic clock. Lets tests
                          drive idle timeouts and cooldowns without sleeping
                          (surplus workers then re-read it every millisecond
                          while idle). Timeouts of calls that wait always
                          use the system clock.
   Observability (see the Observability section below; every hook gets
   hook_user as its last argument, and runs on the thread named):
     measure_latency  false = off (no clock read per job). true = time every
                      job (three clock reads: submit, start, end) into the
                      queue-wait and run-time histograms of wp_stats, and
                      track the queue's high-water mark on every submission.
     on_task_start, on_task_end
                      NULL = none. Called on the worker just before and just
                      after each job runs (not for canceled jobs), with the
                      worker index, job id and arg; on_task_end also gets the
                      job's code, its queue wait and run time in ns (timed on
                      the clock below; setting either hook turns timing on).
     on_error         NULL = none. Called on the worker after every job that
                      returned nonzero, with worker, id, arg and that code.
     stall_threshold, on_stall
                      on_stall NULL = no watchdog (and no thread). Otherwise
                      the pool starts one watchdog thread that calls
                      on_stall(worker, job id, running ns, user) once for each
                      job running longer than stall_threshold (0 = 1 second),
                      checking every threshold/4 (1 ms to 100 ms). Timing
                      uses `clock` when set and there is no result channel,
                      otherwise the system's monotonic clock. */
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
    bool inline_only;
    double rate_limit;
    size_t rate_burst;
    size_t max_handles;
    wp_clock_fn clock;
    void *clock_user;
    bool measure_latency;
    void (*on_task_start)(int worker, uint64_t job_id, void *arg, void *user);
    void (*on_task_end)(int worker, uint64_t job_id, void *arg, int code, int64_t wait_ns,
                        int64_t run_ns, void *user);
    void (*on_error)(int worker, uint64_t job_id, void *arg, int code, void *user);
    int64_t stall_threshold;
    void (*on_stall)(int worker, uint64_t job_id, int64_t running_ns, void *user);
    size_t take_run;
} wp_config;

/* WP_TAKE_RUN_MAX: the largest wp_config.take_run (a worker holds its run in
   a fixed array of this many queued jobs, 56 bytes each on 64-bit targets). */
#define WP_TAKE_RUN_MAX 16

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

/* WP_HAVE_SUBMIT_BATCH: defined since wp_submit_batch exists (0.2.0), for
   code that must build against older copies of this header. */
#define WP_HAVE_SUBMIT_BATCH 1

/* wp_submit_batch: submits jobs[0 .. count-1] in order, each with its own
   fields and policy, and stores each one's status in statuses[i] (when
   statuses is not NULL). Returns how many were accepted. Runs of consecutive
   jobs for the same lane claim their queue cells with one atomic operation
   and wake the workers once, which makes a batch cheaper per job than
   separate calls. A job that meets a full queue gets its own policy, as
   with wp_submit_job; an invalid job gets WP_INVALID and the others still
   go. A NULL pool, or NULL jobs with count > 0, accepts nothing (and every
   status is WP_INVALID).
   Thread safety: any thread, including the pool's own jobs. */
WP_API size_t wp_submit_batch(wp_pool *pool, const wp_job *jobs, size_t count,
                              wp_status *statuses);

/* wp_retry: how wp_submit_retry retries. Zero fields take the defaults.
     max_attempts     submissions tried in all; 0 = 8.
     initial_backoff  the wait after the first refusal; 0 = 50 us.
     max_backoff      the cap on a wait (each wait doubles, up to it);
                      0 = 10 ms. */
typedef struct wp_retry {
    int max_attempts;
    int64_t initial_backoff;
    int64_t max_backoff;
} wp_retry;

/* wp_submit_retry: submits `job` refusing at once on a full queue (its
   backpressure field is ignored: WP_REJECT), and after each refusal waits
   and tries again, up to retry->max_attempts submissions in all (NULL retry
   = defaults). Each wait is drawn at random between half and all of the
   current backoff ("jitter", so that refused submitters do not retry in
   lockstep); the backoff doubles after each refusal, up to max_backoff.
   Returns the last submission's status: WP_OK, WP_FULL after the last
   attempt, or any other status at once (WP_CLOSED, WP_INVALID, ...). Each
   refused attempt counts as rejected in the stats.
   Thread safety: any thread (it sleeps between attempts). */
WP_API wp_status wp_submit_retry(wp_pool *pool, const wp_job *job, const wp_retry *retry);

/* wp_result_recv: takes the oldest result from the result channel into `*out`,
   waiting up to `timeout` (WP_NOWAIT, WP_FOREVER or a duration) for one.
   Returns WP_OK; WP_TIMED_OUT when none came in time; WP_CLOSED when the pool
   is closed and every result has been received (no more will come); or
   WP_INVALID (NULL arguments, negative timeout, or no result channel).
   With wp_config.take_run > 1, a job that calls it with no result waiting
   first runs, on its own thread, the jobs its worker holds (while the
   channel has room and the pool is not paused).
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

/* wp_job_wait: waits up to `timeout` for the job named by `handle` to have
   its outcome, stores its result in `*out` (if out is not NULL; the same
   wp_result the channel and callback get) and releases the handle. Returns
   WP_OK; WP_TIMED_OUT (the handle stays valid); or WP_INVALID for a stale
   or unknown handle, a NULL pool or a negative timeout. One thread at a time
   may wait for a given handle.
   Thread safety: any thread, also from inside jobs (a job that waits for a
   job queued behind it on a busy pool waits for a free worker; with
   wp_config.take_run > 1, a job waiting for a job its own worker holds runs
   the held jobs up to that one on its own thread, once the pool is not
   paused). */
WP_API wp_status wp_job_wait(wp_pool *pool, wp_handle handle, int64_t timeout, wp_result *out);

/* wp_job_cancel: cancels one job: if it has not started it never will
   (outcome WP_CANCELED), if it runs it sees wp_ctx_should_stop() turn true;
   a job that has its outcome is not affected. Returns WP_OK, or WP_INVALID
   for a stale or unknown handle. The handle stays valid.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_job_cancel(wp_pool *pool, wp_handle handle);

/* wp_job_query: stores where the job is in `*state`. Returns WP_OK, or
   WP_INVALID for a stale or unknown handle or NULL arguments.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_job_query(wp_pool *pool, wp_handle handle, wp_job_state *state);

/* wp_job_release: gives the handle up without waiting: its slot serves
   another job once this one has its outcome. Returns WP_OK, or WP_INVALID
   for a stale or unknown handle.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_job_release(wp_pool *pool, wp_handle handle);

/* wp_pool_pause: workers start no new job until wp_pool_resume (jobs already
   running finish). Submissions still queue under their policy, and
   wp_pool_help still runs jobs on its caller. wp_pool_close resumes a paused
   pool, so a close still drains or cancels as its mode says. Returns WP_OK
   (also if already paused), WP_CLOSED after close, or WP_INVALID.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_pause(wp_pool *pool);

/* wp_pool_resume: lets the workers of a paused pool start jobs again.
   Returns WP_OK (also if not paused) or WP_INVALID.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_resume(wp_pool *pool);

/* wp_pool_wait_idle: waits up to `timeout` until no job is queued or running
   (a job just accepted counts from its acceptance, so it cannot be missed).
   Returns WP_OK, WP_TIMED_OUT, or WP_INVALID. Submissions may go on
   meanwhile; WP_OK means the pool was idle at some moment during the call
   (results may still be on their way into the result channel). In an
   inline-only pool the calling thread runs the queued jobs itself (as
   wp_pool_help does). Called from inside a job, it never blocks the worker
   on itself: it runs queued jobs, and then waits only for jobs that are not
   set aside on their own thread the same way (waiting for idle, helping,
   or running a nested submission), so jobs waiting for each other do not
   deadlock. Jobs run by the calling thread deliver their results like any
   other: with a full result channel it waits for a receiver.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_wait_idle(wp_pool *pool, int64_t timeout);

/* wp_pool_help: runs queued jobs on the calling thread (highest priority
   first, honouring the rate limit) until no job is queued or `budget` (a
   duration; WP_FOREVER = no limit) is spent, checked before each job; never
   waits for jobs to arrive. Returns how many jobs it took (run, or ended as
   canceled or expired); 0 for a NULL pool. A game's main thread can help
   within its frame budget; an inline-only pool runs jobs only this way.
   Jobs run here report worker -1. It takes no job while the result channel
   is full, but a job it runs delivers its result like any other, so the
   thread that receives results should not help when the channel may fill.
   Thread safety: any thread, also from inside jobs. */
WP_API size_t wp_pool_help(wp_pool *pool, int64_t budget);

/* wp_pool_scale: adds `delta` workers (delta > 0) or retires -delta workers
   (delta < 0) now, ignoring the cooldowns and clamped to the current
   [min, max] bounds. New threads start before it returns; retiring ones are
   idle workers first, then running ones as soon as their job ends (so the
   count reaches its target shortly after the call). Returns WP_OK (also when
   clamping left nothing to do), WP_THREAD_FAILED if a thread could not be
   started (the pool keeps the workers it has; also if a retiring worker's
   on_thread_stop hook holds the only free slot for long), WP_CLOSED after
   close, or WP_INVALID for a NULL pool or an inline-only one.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_scale(wp_pool *pool, int delta);

/* wp_pool_resize: sets new worker bounds, 1 <= min <= max <= the max_workers
   the pool was created with (min == max makes it a fixed set; min < max
   turns auto-scaling on). Starts workers up to the new min at once and
   retires workers above the new max as in wp_pool_scale. Returns WP_OK,
   WP_THREAD_FAILED (bounds set, some thread could not be started),
   WP_CLOSED, or WP_INVALID (NULL pool, an inline-only pool, or bounds
   outside that range).
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

/* wp_latency: one duration histogram of wp_stats (see Observability): a
   fixed-bucket log histogram, bucket i counting durations in
   (wp_latency_bound(i - 1), wp_latency_bound(i)] ns, on a 1-2-5 scale from
   100 ns to 50 s; the last bucket is everything above (+Inf). All zero
   unless wp_config.measure_latency is set.
     count, sum_ns, mean_ns, max_ns   exact.
     p50_ns, p90_ns, p99_ns   the upper bound of the bucket holding that
                              percentile, capped at max_ns (so an estimate
                              within one bucket: at most 2.5x too high). */
#define WP_LATENCY_BUCKETS 28
typedef struct wp_latency {
    uint64_t count;
    int64_t sum_ns;
    int64_t mean_ns;
    int64_t p50_ns;
    int64_t p90_ns;
    int64_t p99_ns;
    int64_t max_ns;
    uint64_t buckets[WP_LATENCY_BUCKETS];
} wp_latency;

/* wp_stats: a snapshot of a pool's counters. Each field is read without
   stopping the pool, so a snapshot taken while jobs run is approximate; one
   taken at quiescence (after a wp_pool_close that returned WP_OK, or once
   every result of every accepted job is received) is exact and satisfies
       submitted == completed + failed + canceled + expired + evicted.
     workers, active, idle   worker threads alive; running a job; waiting.
     queue_depth             jobs queued now (not counting runs that workers
                             hold, see wp_config.take_run); queue_capacity
                             its bound.
     submitted               jobs accepted (WP_CALLER_RUNS and nested
                             jobs run in place included).
     completed, failed       jobs that ran and returned 0 / nonzero.
     canceled                accepted jobs that never ran: WP_CANCEL
                             close, or a canceled token.
     expired                 accepted jobs whose deadline passed first.
     evicted                 accepted jobs evicted by WP_DROP_OLDEST.
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
     uptime_ns               ns since the pool was created (pool's clock).
     name                    the pool's name (wp_config.name).
     queue_high_water        most jobs queued at once: exact when
                             measure_latency is on; otherwise only the queue
                             having been full (= queue_capacity) is noticed.
     last_error_code, last_error_worker, last_error_job_id, last_error_ns
                             the last job that returned nonzero: its code,
                             worker, id and when (ns since create, pool's
                             clock). Kept per worker; the latest wins. No
                             failure yet: time and worker -1, code and id 0.
     queue_wait, run_time    latency of the jobs that ran (see wp_latency). */
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
    uint64_t expired;
    uint64_t evicted;
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
    char name[64];
    size_t queue_high_water;
    int last_error_code;
    int last_error_worker;
    uint64_t last_error_job_id;
    int64_t last_error_ns;
    wp_latency queue_wait;
    wp_latency run_time;
} wp_stats;

/* wp_pool_stats: fills `*out` with a snapshot of the pool's counters.
   Returns WP_OK or WP_INVALID for NULL arguments.
   Thread safety: any thread, at any time, also from inside jobs. */
WP_API wp_status wp_pool_stats(wp_pool *pool, wp_stats *out);

/* ---------------------------------------------------------------------------
   Observability: latency histograms, formatters, hooks (see wp_config)
   ------------------------------------------------------------------------- */

/* wp_latency_bound: the upper bound, in ns, of bucket `i` of a wp_latency
   (100, 200, 500, 1000, ... 5e10); WP_FOREVER for the last bucket and for
   an i out of range.
   Thread safety: any thread. */
WP_API int64_t wp_latency_bound(int i);

/* wp_stats_format_table, wp_stats_format_json, wp_stats_format_prometheus:
   write a snapshot as a human-readable table, as one JSON object, or in the
   Prometheus text exposition format (version 0.0.4: metrics named
   workerpool_*, the pool name as label `pool`, counters ending in _total,
   the two latency histograms in seconds with `le` buckets, _sum and
   _count), into `buf` of `cap` bytes. Like snprintf: writes at most cap - 1
   characters and a terminating NUL (nothing when cap is 0, buf may then be
   NULL), allocates nothing, and returns the length the whole text needs
   (not counting the NUL): the output is complete when the result is less
   than cap. Returns -1 for a NULL stats, or a NULL buf with cap > 0.
   Thread safety: any thread; `buf` must be the caller's alone. */
WP_API int wp_stats_format_table(const wp_stats *stats, char *buf, size_t cap);
WP_API int wp_stats_format_json(const wp_stats *stats, char *buf, size_t cap);
WP_API int wp_stats_format_prometheus(const wp_stats *stats, char *buf, size_t cap);

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
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
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

/* Address wait: sleep while a 32-bit word holds an expected value, until a
   wake on that word (or a timeout, or spuriously); the parking section builds
   its event count on it. A wake is then one system call, and the woken thread
   returns without taking a lock. Chosen once here, independently of the
   threading backend:
     Linux    futex (FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE)
     Windows  WaitOnAddress, WakeByAddressSingle/All (Windows 8 or later, by
              _WIN32_WINNT; in Synchronization.lib: MSVC links it by itself,
              MinGW needs -lsynchronization)
     macOS    __ulock_wait, __ulock_wake (what libc++'s atomic wait uses)
     else     none: the parking section falls back to a mutex and a
              condition variable per wait set.
   WP_PARK_CONDVAR forces the fallback everywhere. */
#if !defined(WP_PARK_CONDVAR)
#  if defined(__linux__)
#    include <errno.h>
#    include <sys/syscall.h>
#    if defined(SYS_futex) || defined(SYS_futex_time64)
#      define WP__PARK_FUTEX 1
#    endif
#  elif defined(_WIN32) && defined(_WIN32_WINNT) && _WIN32_WINNT >= 0x0602
#    define WP__PARK_WAITONADDRESS 1
#    if defined(_MSC_VER)
#      pragma comment(lib, "synchronization.lib")
#    endif
#  elif defined(__APPLE__)
#    define WP__PARK_ULOCK 1
#  endif
#endif
#if !defined(WP__PARK_FUTEX) && !defined(WP__PARK_WAITONADDRESS) && !defined(WP__PARK_ULOCK)
#  define WP__PARK_CONDVAR 1
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
static void wp__sleep_ns(int64_t ns)
{
    struct timespec d = wp__timespec_from_ns(ns), left;
    while (thrd_sleep(&d, &left) == -1)
        d = left;
}
static int wp__mutex_init(wp__mutex *m) { return mtx_init(m, mtx_plain) == thrd_success ? 0 : -1; }
static void wp__mutex_destroy(wp__mutex *m) { mtx_destroy(m); }
static void wp__mutex_lock(wp__mutex *m) { mtx_lock(m); }
static void wp__mutex_unlock(wp__mutex *m) { mtx_unlock(m); }
static int wp__cond_init(wp__cond *c) { return cnd_init(c) == thrd_success ? 0 : -1; }
static void wp__cond_destroy(wp__cond *c) { cnd_destroy(c); }
static void wp__cond_signal(wp__cond *c) { cnd_signal(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
static void wp__cond_broadcast(wp__cond *c) { cnd_broadcast(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { cnd_wait(c, m); }
#endif

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
static void wp__sleep_ns(int64_t ns) { Sleep((DWORD)((ns + WP_MS(1) - 1) / WP_MS(1))); }
/* Slim reader/writer locks and condition variables (Vista and later) need no
   cleanup and cannot fail to initialise. */
static int wp__mutex_init(wp__mutex *m) { InitializeSRWLock(m); return 0; }
static void wp__mutex_destroy(wp__mutex *m) { (void)m; }
static void wp__mutex_lock(wp__mutex *m) { AcquireSRWLockExclusive(m); }
static void wp__mutex_unlock(wp__mutex *m) { ReleaseSRWLockExclusive(m); }
static int wp__cond_init(wp__cond *c) { InitializeConditionVariable(c); return 0; }
static void wp__cond_destroy(wp__cond *c) { (void)c; }
static void wp__cond_signal(wp__cond *c) { WakeConditionVariable(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
static void wp__cond_broadcast(wp__cond *c) { WakeAllConditionVariable(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
#endif

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
static void wp__sleep_ns(int64_t ns)
{
    struct timespec d = wp__timespec_from_ns(ns), left;
    while (nanosleep(&d, &left) == -1)
        d = left;
}
static int wp__mutex_init(wp__mutex *m) { return pthread_mutex_init(m, NULL) == 0 ? 0 : -1; }
static void wp__mutex_destroy(wp__mutex *m) { pthread_mutex_destroy(m); }
static void wp__mutex_lock(wp__mutex *m) { pthread_mutex_lock(m); }
static void wp__mutex_unlock(wp__mutex *m) { pthread_mutex_unlock(m); }
static void wp__cond_destroy(wp__cond *c) { pthread_cond_destroy(c); }
static void wp__cond_signal(wp__cond *c) { pthread_cond_signal(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
static void wp__cond_broadcast(wp__cond *c) { pthread_cond_broadcast(c); }
static void wp__cond_wait(wp__cond *c, wp__mutex *m) { pthread_cond_wait(c, m); }
#endif

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

#if defined(WP__PARK_FUTEX)
/* Every Linux C library has syscall(); feature-test macros such as
   _POSIX_C_SOURCE only hide its declaration, so it is declared here (the same
   prototype as glibc's, musl's and bionic's). */
long syscall(long number, ...);

#  define WP__FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#  define WP__FUTEX_WAKE_PRIVATE 129 /* FUTEX_WAKE | FUTEX_PRIVATE_FLAG */
/* The timespec of the system call, which is the kernel's, not the C
   library's: a 32-bit target may have a 64-bit time_t (musl, glibc with
   _TIME_BITS=64) while futex takes two longs there. futex_time64 serves a
   32-bit target whose headers lack the old call. */
#  if defined(SYS_futex) && !(defined(__x86_64__) && defined(__ILP32__))
#    define WP__FUTEX_NR SYS_futex
typedef long wp__kernel_time;
#  elif defined(SYS_futex)
#    define WP__FUTEX_NR SYS_futex /* x32: the 64-bit call */
typedef long long wp__kernel_time;
#  else
#    define WP__FUTEX_NR SYS_futex_time64
typedef long long wp__kernel_time;
#  endif
typedef struct wp__kernel_timespec {
    wp__kernel_time tv_sec, tv_nsec;
} wp__kernel_timespec;

/* The timeout is relative, and FUTEX_WAIT measures it on CLOCK_MONOTONIC,
   the clock of wp__now_ns: a wall-clock step cannot move it. errno is kept
   as it was, so that no call of the library changes it. */
static void wp__addr_wait(atomic_uint *word, unsigned expect, int64_t deadline)
{
    wp__kernel_timespec ts, *timeout = NULL;
    if (deadline != WP_FOREVER) {
        int64_t left = deadline - wp__now_ns();
        if (left <= 0)
            return;
        int64_t sec = left / INT64_C(1000000000);
        /* At most 68 years a call: the caller waits again if need be. */
        ts.tv_sec = (wp__kernel_time)(sec > INT32_MAX ? INT32_MAX : sec);
        ts.tv_nsec = (wp__kernel_time)(left % INT64_C(1000000000));
        timeout = &ts;
    }
    int saved = errno;
    syscall(WP__FUTEX_NR, (void *)word, (long)WP__FUTEX_WAIT_PRIVATE, (long)expect,
            (void *)timeout, (void *)NULL, 0L);
    errno = saved;
}
static void wp__addr_wake(atomic_uint *word, bool all)
{
    int saved = errno;
    syscall(WP__FUTEX_NR, (void *)word, (long)WP__FUTEX_WAKE_PRIVATE, all ? (long)INT_MAX : 1L,
            (void *)NULL, (void *)NULL, 0L);
    errno = saved;
}

#elif defined(WP__PARK_WAITONADDRESS)
/* A relative timeout in milliseconds, which no clock step can move, rounded
   up (as in wp__cond_wait_until). */
static void wp__addr_wait(atomic_uint *word, unsigned expect, int64_t deadline)
{
    DWORD wait = INFINITE;
    if (deadline != WP_FOREVER) {
        int64_t left = deadline - wp__now_ns();
        if (left <= 0)
            return;
        int64_t ms = left / INT64_C(1000000) + (left % INT64_C(1000000) != 0);
        wait = ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms;
    }
    WaitOnAddress((volatile VOID *)word, &expect, sizeof expect, wait);
}
static void wp__addr_wake(atomic_uint *word, bool all)
{
    if (all)
        WakeByAddressAll((PVOID)word);
    else
        WakeByAddressSingle((PVOID)word);
}

#elif defined(WP__PARK_ULOCK)
/* Darwin's private address wait (macOS 10.12 and later), declared here as
   libSystem exports it; not tested by this project. The timeout is relative,
   in microseconds (0: none). */
#  include <stdint.h>
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#  define WP__UL_COMPARE_AND_WAIT 1u
#  define WP__ULF_WAKE_ALL 0x100u
#  define WP__ULF_NO_ERRNO 0x1000000u
static void wp__addr_wait(atomic_uint *word, unsigned expect, int64_t deadline)
{
    uint32_t us = 0;
    if (deadline != WP_FOREVER) {
        int64_t left = deadline - wp__now_ns();
        if (left <= 0)
            return;
        int64_t u = left / 1000 + (left % 1000 != 0);
        us = u >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)u;
    }
    __ulock_wait(WP__UL_COMPARE_AND_WAIT | WP__ULF_NO_ERRNO, (void *)word, expect, us);
}
static void wp__addr_wake(atomic_uint *word, bool all)
{
    __ulock_wake(WP__UL_COMPARE_AND_WAIT | WP__ULF_NO_ERRNO | (all ? WP__ULF_WAKE_ALL : 0u),
                 (void *)word, 0);
}
#endif

#if !defined(WP__PARK_CONDVAR)
/* The address waits take the word as 32 bits. */
_Static_assert(sizeof(atomic_uint) == 4, "workerpool.h: the address wait needs a 32-bit atomic_uint");
#endif

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

/* Pops into `out`; *pos (if not NULL) gets the element's position in the
   lane's sequence (0, 1, 2, ... over the queue's life). */
static inline bool wp__queue_pop_at(wp_queue *q, void *out, size_t size, size_t *pos)
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
    if (pos)
        *pos = ticket / WP__TICKET;
    return true;
}

static inline bool wp__queue_pop(wp_queue *q, void *out, size_t size)
{
    return wp__queue_pop_at(q, out, size, NULL);
}

/* Pops a run of up to `max` elements with one claim: half of the run of
   published cells it sees from tail (rounded up), so that other consumers
   find the rest. Each cell is checked before the claim; a cell seen
   published stays so until its position is claimed, and nobody else can
   claim it while tail has not moved. Answers how many were popped (0:
   empty); *pos gets the first one's position. */
static size_t wp__queue_pop_run(wp_queue *q, void *out, size_t max, size_t size, size_t *pos)
{
    size_t ticket = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t seen;
    for (;;) {
        for (seen = 0; seen < 2 * max; seen++) {
            size_t want = ticket + (seen + 1) * WP__TICKET;
            if (atomic_load_explicit(wp__cell_seq(q, ticket + seen * WP__TICKET),
                                     memory_order_acquire) != want)
                break;
        }
        if (seen == 0) {
            ptrdiff_t diff = (ptrdiff_t)(atomic_load_explicit(wp__cell_seq(q, ticket),
                                                              memory_order_acquire)
                                         - (ticket + WP__TICKET));
            if (diff < 0)
                return 0; /* not yet published: empty */
            ticket = atomic_load_explicit(&q->tail, memory_order_relaxed);
            continue;
        }
        seen = (seen + 1) / 2;
        if (seen > max)
            seen = max;
        if (atomic_compare_exchange_weak_explicit(&q->tail, &ticket, ticket + seen * WP__TICKET,
                                                  memory_order_relaxed, memory_order_relaxed))
            break;
    }
    for (size_t i = 0; i < seen; i++) {
        atomic_size_t *seq = wp__cell_seq(q, ticket + i * WP__TICKET);
        wp__elem_copy((unsigned char *)out + i * size, wp__cell_data(seq), size);
        atomic_store_explicit(seq, ticket + (i + (q->mask + 1)) * WP__TICKET, memory_order_release);
    }
    *pos = ticket / WP__TICKET;
    return seen;
}

/* Pushes up to n elements with one claim: the run of free cells from head
   (each checked before the claim; a cell seen free stays free until its
   position is claimed). Answers how many were pushed; *why tells why not
   all were (WP__FULL or WP__SHUT). */
static size_t wp__queue_push_many(wp_queue *q, const void *elems, size_t n, size_t size,
                                  enum wp__push_result *why)
{
    size_t ticket = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t k;
    *why = WP__PUSHED;
    for (;;) {
        if (ticket & WP__CLOSED_BIT) {
            *why = WP__SHUT;
            return 0;
        }
        for (k = 0; k < n; k++) {
            size_t want = ticket + k * WP__TICKET;
            if (atomic_load_explicit(wp__cell_seq(q, want), memory_order_acquire) != want)
                break;
        }
        if (k == 0) {
            ptrdiff_t diff = (ptrdiff_t)(atomic_load_explicit(wp__cell_seq(q, ticket),
                                                              memory_order_acquire) - ticket);
            if (diff < 0) {
                *why = WP__FULL;
                return 0;
            }
            ticket = atomic_load_explicit(&q->head, memory_order_relaxed);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&q->head, &ticket, ticket + k * WP__TICKET,
                                                  memory_order_relaxed, memory_order_relaxed))
            break;
    }
    for (size_t i = 0; i < k; i++) {
        atomic_size_t *seq = wp__cell_seq(q, ticket + i * WP__TICKET);
        memcpy(wp__cell_data(seq), (const unsigned char *)elems + i * size, size);
        atomic_store_explicit(seq, ticket + (i + 1) * WP__TICKET, memory_order_release);
    }
    if (k < n)
        *why = WP__FULL;
    return k;
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

   A wait set is two words: `waiters`, the number of threads registered to
   sleep, and `epoch`, which every notify that finds a waiter bumps and on
   which the waiters sleep (the platform layer's address wait, or the
   fallback below).

     waiter (wp__ws_await_ex)          notifier (wp__ws_notify)
       try the condition                 make the condition true
       waiters++                         fence
       fence                             if waiters == 0: done
       E = epoch (acquire)               epoch++ (release)
       try the condition again           wake one, or all, on epoch
       sleep while epoch == E
       waiters--

   No lost wake-up. Both fences are seq_cst, so one of them comes first in
   their single total order:
   - the notifier's: then the waiter's second try, after the waiter's own
     fence, sees the change (or a later state), and the waiter does not sleep;
   - the waiter's: then the notifier's load sees the registration (or a later
     count, which still includes this waiter until it unregisters), so the
     notifier bumps the epoch and wakes. The waiter cannot have read the
     bumped epoch as E: that acquire load would have made the change visible
     to its second try, which would then have succeeded. So it sleeps on the
     old E, and the address wait compares and queues the sleeper atomically
     with respect to a wake: a wake issued after the word changed finds every
     thread that saw the old value (the OS's promise), so the sleep either
     never starts or ends.
   Reading E after the second try would break this (a bump between the two
   is then missed), and so would waking before bumping (the woken thread
   finds E unchanged and sleeps again); tests/model/ checks both mistakes.
   The common case, nobody registered, costs a notifier one fence and one
   load.

   A wake of one goes to some thread that sleeps on the epoch; a wake that
   finds the epoch still at the sleeper's E sends it back to sleep. Such a
   thread read E after the bump, so its second try came after the change
   this notify announces and found the condition false: the change was
   already used up. Every wait set notified one at a time (job_ready,
   job_room, result_ready, result_room) waits for a condition that any of its
   waiters can use; the per-waiter ones (job_done, idle, exited) are
   broadcast. A notifier may still touch the wait set after the thread it
   woke has returned: harmless, since wp_pool_destroy runs after every other
   call has returned and joins every pool thread before freeing the sets.

   ThreadSanitizer does not model standalone fences (gcc even refuses them),
   so under TSan both sides use read-modify-writes of the waiter count
   instead: RMWs on one variable are totally ordered, and whichever comes
   second synchronises with the first. Correct, but it makes every notify
   write a shared cache line, which is why normal builds use the fences.

   Without an address wait (WP_PARK_CONDVAR, or no known one), each wait set
   has a mutex and a condition variable: a sleeper compares the epoch under
   the mutex and waits on the condition variable; a waker, after its bump,
   takes and drops the mutex, then signals. If the sleeper's critical
   section comes first, it is already in the condition variable's wait set
   when the waker gets the lock (cnd_wait releases the mutex and joins the
   wait set in one step), so the signal finds it; if the waker's comes
   first, the sleeper's compare sees the bump. The signal comes after the
   unlock, so that the woken thread does not find the lock still held.
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
    atomic_uint epoch; /* the word the waiters sleep on */
#if defined(WP__PARK_CONDVAR)
    wp__mutex mu;
    wp__cond cv;
#endif
} wp__waitset;

static int wp__ws_init(wp__waitset *ws)
{
    atomic_init(&ws->waiters, 0);
    atomic_init(&ws->epoch, 0);
#if defined(WP__PARK_CONDVAR)
    if (wp__mutex_init(&ws->mu) != 0)
        return -1;
    if (wp__cond_init(&ws->cv) != 0) {
        wp__mutex_destroy(&ws->mu);
        return -1;
    }
#endif
    return 0;
}

static void wp__ws_destroy(wp__waitset *ws)
{
#if defined(WP__PARK_CONDVAR)
    wp__cond_destroy(&ws->cv);
    wp__mutex_destroy(&ws->mu);
#else
    (void)ws;
#endif
}

/* One sleep while the epoch holds `epoch`. It ends on a wake, at `deadline`
   or for no reason; the caller looks at the epoch and the clock again. */
#if defined(WP__PARK_CONDVAR)
static void wp__ws_sleep(wp__waitset *ws, unsigned epoch, int64_t deadline)
{
    wp__mutex_lock(&ws->mu);
    /* Relaxed: a waker bumps before it takes the mutex, so once its
       critical section comes first the bump happens before this load. */
    if (atomic_load_explicit(&ws->epoch, memory_order_relaxed) == epoch) {
        if (deadline == WP_FOREVER)
            wp__cond_wait(&ws->cv, &ws->mu);
        else
            wp__cond_wait_until(&ws->cv, &ws->mu, deadline);
    }
    wp__mutex_unlock(&ws->mu);
}

static void wp__ws_wake(wp__waitset *ws, bool all)
{
    wp__mutex_lock(&ws->mu);
    wp__mutex_unlock(&ws->mu);
    if (all)
        wp__cond_broadcast(&ws->cv);
    else
        wp__cond_signal(&ws->cv);
}
#else
static void wp__ws_sleep(wp__waitset *ws, unsigned epoch, int64_t deadline)
{
    wp__addr_wait(&ws->epoch, epoch, deadline);
}

static void wp__ws_wake(wp__waitset *ws, bool all)
{
    wp__addr_wake(&ws->epoch, all);
}
#endif

/* Registers the caller as a waiter and returns the epoch to wait on; the
   caller then tries its condition once more, and finishes with
   wp__ws_cancel or wp__ws_wait. */
static unsigned wp__ws_prepare(wp__waitset *ws)
{
#ifdef WP__TSAN
    atomic_fetch_add_explicit(&ws->waiters, 1, memory_order_seq_cst);
#else
    atomic_fetch_add_explicit(&ws->waiters, 1, memory_order_relaxed);
    /* Pairs with the fence in wp__ws_notify: the caller's second try cannot
       be ordered before the registration. */
    wp__fence();
#endif
    /* Acquire pairs with the release bump in wp__ws_notify: a waiter that
       reads a bumped epoch also sees the change announced with it. */
    return atomic_load_explicit(&ws->epoch, memory_order_acquire);
}

static void wp__ws_cancel(wp__waitset *ws)
{
    /* Relaxed: a notifier that still counts this waiter only wakes in vain. */
    atomic_fetch_sub_explicit(&ws->waiters, 1, memory_order_relaxed);
}

/* Sleeps until the epoch moves past `epoch` (true) or `deadline` passes
   (false), then unregisters. */
static bool wp__ws_wait(wp__waitset *ws, unsigned epoch, int64_t deadline)
{
    bool woken = true;
    /* Acquire pairs with the release bump in wp__ws_notify. */
    while (atomic_load_explicit(&ws->epoch, memory_order_acquire) == epoch) {
        if (deadline != WP_FOREVER && wp__now_ns() >= deadline) {
            woken = false;
            break;
        }
        wp__ws_sleep(ws, epoch, deadline);
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
    /* Release pairs with the acquire loads of the epoch in wp__ws_prepare
       and wp__ws_wait. */
    atomic_fetch_add_explicit(&ws->epoch, 1, memory_order_release);
    wp__ws_wake(ws, all);
}

/* What an attempt inside wp__ws_await can answer. */
enum { WP__AGAIN = 1, WP__DONE = 0 };

/* Spins this many times before parking: long enough to catch a job that is
   about to arrive in a busy pool, short enough not to burn a core. */
#ifndef WP_SPIN_COUNT
#  define WP_SPIN_COUNT 256
#endif
/* The same for a submitter waiting for room in a lane of 4 cells or more. */
#ifndef WP_ROOM_SPIN_COUNT
#  define WP_ROOM_SPIN_COUNT 16
#endif
/* The mean run time per job below which a worker of a pool with
   wp_config.take_run > 1 claims runs of jobs (see "Runs of short jobs"). */
#ifndef WP_SHORT_JOB_NS
#  define WP_SHORT_JOB_NS WP_US(2)
#endif


/* Calls attempt(ctx) until it answers anything but WP__AGAIN, spinning a
   little and then parking on `ws` between tries. Answers WP__AGAIN itself
   once `deadline` has passed. *slept (if not NULL) tells whether it parked.

   Between the spin and the park it yields its core once, unless
   may_yield(ctx) says no. The yield lets a thread that shares the core (a
   descheduled producer) run without a wake-up, but it has a price: on
   Linux's EEVDF scheduler a thread that yielded is placed late when it is
   woken later, so a worker that yielded before parking takes hundreds of
   microseconds instead of ~10 to start the next job after an idle gap
   (bench/proposals/README.md). Workers therefore yield only while the pool
   is saturated (see wp__worker_may_yield). The choice is a heuristic only:
   parking or yielding, the protocol below is the same. */
static int wp__ws_await_ex(wp__waitset *ws, int64_t deadline, int (*attempt)(void *), void *ctx,
                           bool *slept, bool (*may_yield)(void *), int spins)
{
    if (slept)
        *slept = false;
    int r = attempt(ctx);
    if (r != WP__AGAIN || deadline == INT64_MIN)
        return r;
    for (;;) {
        for (int i = 0; i < spins; i++) {
            wp__cpu_relax();
            if ((r = attempt(ctx)) != WP__AGAIN)
                return r;
        }
        /* Give a thread that shares our core the chance to make progress. */
        if (!may_yield || may_yield(ctx)) {
            wp__thread_yield();
            if ((r = attempt(ctx)) != WP__AGAIN)
                return r;
        }
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

static int wp__ws_await(wp__waitset *ws, int64_t deadline, int (*attempt)(void *), void *ctx,
                        bool *slept)
{
    return wp__ws_await_ex(ws, deadline, attempt, ctx, slept, NULL, WP_SPIN_COUNT);
}

/* ---------------------------------------------------------------------------
   The pool
   ------------------------------------------------------------------------- */

/* Slow halves of the job path stay out of line, so that a plain job's path
   keeps its size and register use. */
#if defined(__GNUC__) || defined(__clang__)
#  define WP__NOINLINE __attribute__((noinline))
#else
#  define WP__NOINLINE
#endif

/* What travels through a job queue: 56 bytes on 64-bit targets, so a cell
   (with its sequence number) is 64 bytes. */
typedef struct wp__task {
    wp_job_fn fn;
    void *arg;
    uint64_t id;
    int64_t enqueued_ns; /* system clock; measured only for results/callbacks */
    int64_t deadline_ns; /* pool clock; 0 = none */
    wp_token *token;
    wp_done_fn on_done;
} wp__task;

/* A user's token has only `canceled` (0 or 1). A job with a handle carries
   its slot's own token instead: `canceled` holds the generation that
   wp_job_cancel canceled (so a stale cancel cannot hit the slot's next
   job), `state` is the slot's state word, and `parent` the user's token,
   which cancels the job as well. */
struct wp_token {
    atomic_uint canceled;
    wp_token *parent;
    atomic_uint_least64_t *state;
};

/* A handle slot: the job's own token, its state, and its result once done.
   state = generation << 32 | WP__H_* flags; the generation moves on each
   time the slot is freed, so a stale handle never matches. */
typedef struct wp__slot {
    wp_token token; /* first: a task's token pointer leads back to the slot */
    atomic_uint_least64_t state;
    atomic_uint next; /* free list: index + 1 of the next free slot, 0 = none */
    wp_result result; /* written before WP__H_DONE is set */
} wp__slot;

enum { WP__H_RUNNING = 1, WP__H_DONE = 2, WP__H_RELEASED = 4, WP__H_FREE = 8 };

/* The three priority lanes, in the order workers look at them. */
#define WP__LANES 3
enum { WP__LANE_HIGH = 0, WP__LANE_NORMAL = 1, WP__LANE_LOW = 2 };

/* Outcome counters of one worker, written only by it (load + store, no
   locked RMW), read by wp_pool_stats; each worker's sit on their own cache
   line. The pool's `external` runner has the same shape but is shared by
   every thread that is not a worker (helpers, WP_CALLER_RUNS), so its
   counters take atomic adds; its index is -1. */
typedef struct wp__worker {
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t completed;
    atomic_uint_least64_t failed;
    atomic_uint_least64_t canceled;
    atomic_uint_least64_t expired;
    atomic_uint_least64_t ran_inline; /* nested and caller-run submissions */
    atomic_int busy;
    atomic_int state;                 /* enum wp__slot_state */
    int index;
    wp_pool *pool;
    wp__thread thread;
    /* A run of jobs claimed at once and not yet run, and what decides the
       size of the next claim (see wp__worker_take). The worker's own thread
       alone touches these. */
    wp__task held[WP_TAKE_RUN_MAX];
    unsigned held_next, held_count;
    bool short_jobs;        /* the last jobs measured ran under WP_SHORT_JOB_NS */
    unsigned since_probe;   /* single takes since the last measured one */
    unsigned measured_jobs; /* jobs in the take being measured (0: none) */
    int64_t measured_at;    /* when that take was made */
    /* Observability, written only by this worker (single-writer stores) and
       summed by wp_pool_stats; obs_reported belongs to the watchdog. */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t obs_wait[WP_LATENCY_BUCKETS];
    atomic_uint_least64_t obs_run[WP_LATENCY_BUCKETS];
    atomic_int_least64_t obs_wait_sum;
    atomic_int_least64_t obs_run_sum;
    atomic_int_least64_t obs_wait_max;
    atomic_int_least64_t obs_run_max;
    atomic_int_least64_t obs_job_start; /* the running job, for the watchdog */
    atomic_uint_least64_t obs_job_id;
    atomic_uint_least64_t obs_seq;      /* odd while a job runs */
    atomic_int obs_error_code;          /* this worker's last failed job */
    atomic_uint_least64_t obs_error_job;
    atomic_int_least64_t obs_error_at;  /* since create; -1 = none */
    uint64_t obs_reported;              /* the obs_seq last reported stalled */
} wp__worker;

/* A worker slot is free, holds a running thread, or holds a thread that has
   finished (or is finishing) and must be joined before the slot is reused. */
enum wp__slot_state { WP__SLOT_FREE = 0, WP__SLOT_RUNNING, WP__SLOT_EXITED };

struct wp_ctx {
    wp_pool *pool;
    const wp__task *task;
    void *value;
    int worker;
};

struct wp_pool {
    /* Read-only after create. */
    char name[64];
    int slots;               /* worker slots: the max_workers at create */
    bool inline_only;
    size_t take_run;         /* wp_config.take_run, 1 .. WP_TAKE_RUN_MAX */
    wp_backpressure backpressure;
    int64_t submit_timeout;
    wp_thread_hook on_thread_start;
    wp_thread_hook on_thread_stop;
    void *hook_user;
    wp_allocator allocator;
    void *allocation;
    wp_queue *lanes[WP__LANES];
    wp_queue *results;       /* NULL without a result channel */
    wp__worker *workers;
    size_t scale_up_threshold;
    int64_t scale_up_cooldown;
    int64_t idle_timeout;
    int64_t scale_down_cooldown;
    int64_t rate_interval;   /* pool-clock ns between job starts; 0 = no limit */
    int64_t rate_tolerance;  /* how far ahead of now the bucket may run */
    wp_clock_fn clock;
    void *clock_user;
    int64_t created_ns;      /* on the pool clock */

    /* Shutdown and scaling state; read by every worker, written rarely. */
    _Alignas(WP_CACHE_LINE) atomic_int canceling;
    atomic_int paused;
    atomic_int destroying;
    atomic_int live;         /* workers counted in, packed: see wp__started */
    atomic_int helpers;      /* other threads producing outcomes right now */
    atomic_int inline_unit;  /* an inline-only pool's stand-in for workers */
    atomic_uint_least64_t suspends; /* jobs set aside on their thread: waiting */
    atomic_uint_least64_t resumes;  /* for idle, helping, or running a nested job */
    atomic_int lanes_used;   /* a high or low job was ever submitted */
    atomic_int room_timed;   /* a WP_TIMEOUT submitter ever waited for room */
    size_t room_mask;        /* room_every - 1 (see wp__notify_room) */
    atomic_int scaling;      /* min < max: the after-job checks run */
    atomic_int retire_requests; /* workers wp_pool_scale/resize asked to go */
    atomic_int min_workers;
    atomic_int max_workers;

    /* The rate limit's bucket: the time the next start is due (GCRA). */
    _Alignas(WP_CACHE_LINE) atomic_int_least64_t rate_due;

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

    /* Refusals and evictions only happen on the slow path, so shared
       counters are fine. */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t rejected;
    atomic_uint_least64_t dropped;
    atomic_uint_least64_t timed_out;
    atomic_uint_least64_t refused_closed;
    atomic_uint_least64_t evicted;

    wp__worker external;      /* runs jobs for threads that are not workers */

    wp__slot *handles;        /* max_handles slots */
    uint32_t handle_count;
    /* Free slots as a stack: index + 1 of the top in the low 32 bits, a tag
       that changes with every pop and push above them (no ABA). */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t handle_free;

    wp__waitset job_ready;    /* workers wait for jobs */
    wp__waitset job_room[WP__LANES]; /* blocked submitters wait for room */
    wp__waitset result_ready; /* receivers wait for results */
    wp__waitset result_room;  /* workers wait for room in the result channel */
    wp__waitset exited;       /* closers wait for workers to finish */
    wp__waitset idle;         /* wp_pool_wait_idle waits for the pool to idle */
    wp__waitset job_done;     /* wp_job_wait waits for a job with a handle */

    /* Observability: read-only after create (WP__OBS_* bits in observe;
       zero = no work per job), on a line of its own. */
    _Alignas(WP_CACHE_LINE) unsigned observe;
    void (*obs_task_start)(int, uint64_t, void *, void *);
    void (*obs_task_end)(int, uint64_t, void *, int, int64_t, int64_t, void *);
    void (*obs_on_error)(int, uint64_t, void *, int, void *);
    void (*obs_on_stall)(int, uint64_t, int64_t, void *);
    int64_t obs_stall_threshold;
    /* Written when a submission finds the queue full, and by every
       submission that raises the mark under measure_latency. */
    _Alignas(WP_CACHE_LINE) atomic_size_t obs_high_water;
    wp__mutex obs_mu;         /* the watchdog's sleep */
    wp__cond obs_cv;
    int obs_stop;             /* guarded by obs_mu: the watchdog must end */
    bool obs_watchdog;        /* a watchdog thread runs */
    wp__thread obs_thread;
};

#define WP__WAITSETS (6 + WP__LANES)

/* Observability (defined after wp_pool_stats): the calls the job and submit
   paths make, and create, destroy and stats. */
static inline void wp__observe_submit(wp_pool *pool, wp__task *t);
static void wp__observe_full(wp_pool *pool);
static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t);
static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start);
static int wp__observe_start(wp_pool *pool, const wp_config *cfg);
static void wp__observe_stop(wp_pool *pool);
static void wp__observe_stats(wp_pool *pool, wp_stats *out);
static inline void wp__observe_submit(wp_pool *pool, wp__task *t);
static void wp__observe_full(wp_pool *pool);
static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t);
static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start);
static int wp__observe_start(wp_pool *pool, const wp_config *cfg);
static void wp__observe_stop(wp_pool *pool);
static void wp__observe_stats(wp_pool *pool, wp_stats *out);

/* The worker the current thread is, if it is one; lets a pool recognise its
   own threads (nested submission, close from inside a job). */
static _Thread_local wp__worker *wp__self;
static void wp__run_held(wp_pool *pool, const wp__slot *upto);
static bool wp__holds_slot(wp_pool *pool, const wp__slot *slot);
static bool wp__is_paused(wp_pool *pool);

/* The pool whose job this thread is running, if it is not one of that
   pool's workers (helpers, WP_CALLER_RUNS). */
static _Thread_local wp_pool *wp__job_pool;

/* How deep nested submissions run inline on this thread (see wp__run_here). */
static _Thread_local int wp__inline_depth;
#define WP__MAX_INLINE_DEPTH 64

/* Jobs this thread has taken from any queue: drives the fairness quota. */
static _Thread_local unsigned wp__takes;

/* True on the pool's own workers and on threads inside one of its jobs:
   there, waiting for the pool could mean waiting for ourselves. */
static bool wp__on_own_thread(const wp_pool *pool)
{
    return (wp__self != NULL && wp__self->pool == pool) || wp__job_pool == pool;
}

/* True on a thread that is inside one of the pool's jobs right now. */
static bool wp__in_job(const wp_pool *pool)
{
    return (wp__self != NULL && wp__self->pool == pool
            && atomic_load_explicit(&wp__self->busy, memory_order_relaxed))
        || wp__job_pool == pool;
}

/* Adds one to an outcome counter. A worker's own counters have a single
   writer: a plain load and store, no locked instruction. Release, so that a
   reader that sees the count also sees the queue positions behind it (see
   wp__pending). */
static inline void wp__tally(const wp__worker *w, atomic_uint_least64_t *counter)
{
    if (w == NULL || w->index < 0)
        atomic_fetch_add_explicit(counter, 1, memory_order_release);
    else
        atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                              memory_order_release);
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

/* --- tokens and the job's context ---------------------------------------- */

wp_status wp_token_create(wp_token **out)
{
    if (!out)
        return WP_INVALID;
    *out = (wp_token *)WP_MALLOC(sizeof **out);
    if (!*out)
        return WP_NOMEM;
    atomic_init(&(*out)->canceled, 0);
    (*out)->parent = NULL;
    (*out)->state = NULL;
    return WP_OK;
}

void wp_token_cancel(wp_token *token)
{
    /* Release pairs with the acquire in wp_token_is_canceled: whatever the
       canceling thread did before is visible to a job that sees it. */
    if (token && !token->state)
        atomic_store_explicit(&token->canceled, 1, memory_order_release);
}

bool wp_token_is_canceled(const wp_token *token)
{
    if (!token)
        return false;
    unsigned c = atomic_load_explicit((atomic_uint *)&token->canceled, memory_order_acquire);
    if (!token->state) /* a user's token */
        return c != 0;
    uint64_t state = atomic_load_explicit(token->state, memory_order_relaxed);
    return (c != 0 && c == (uint32_t)(state >> 32)) || wp_token_is_canceled(token->parent);
}

void wp_token_destroy(wp_token *token)
{
    if (token)
        WP_FREE(token);
}

static int64_t wp__pool_now(const wp_pool *pool)
{
    return pool->clock ? pool->clock(pool->clock_user) : wp__now_ns();
}

static bool wp__past_deadline(const wp_pool *pool, const wp__task *t)
{
    return t->deadline_ns != 0 && wp__pool_now(pool) >= t->deadline_ns;
}

uint64_t wp_ctx_id(const wp_ctx *ctx) { return ctx ? ctx->task->id : 0; }
int wp_ctx_worker(const wp_ctx *ctx) { return ctx ? ctx->worker : -1; }

bool wp_ctx_expired(const wp_ctx *ctx)
{
    return ctx && wp__past_deadline(ctx->pool, ctx->task);
}

bool wp_ctx_should_stop(const wp_ctx *ctx)
{
    return ctx
        && (atomic_load_explicit(&ctx->pool->canceling, memory_order_acquire)
            || wp_token_is_canceled(ctx->task->token) || wp__past_deadline(ctx->pool, ctx->task));
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
    if (wp__attempt_push_result(a) == WP__AGAIN) {
        /* Our outcome is counted already: whoever waits for the pool to idle
           must not wait for this receiver too. */
        wp__ws_notify(&pool->idle, true);
        wp__ws_await(&pool->result_room, WP_FOREVER, wp__attempt_push_result, a, NULL);
    }
    wp__ws_notify(&pool->result_ready, false);
}

/* The pool has finished: no worker and no other thread will produce another
   outcome. Acquire pairs with the release decrements of both counts. */
static bool wp__finished(const wp_pool *pool)
{
    /* seq_cst: pairs with the check of a thread that runs a job in place
       (see wp__run_here). */
    return atomic_load_explicit((atomic_int *)&pool->live, memory_order_acquire) == 0
        && atomic_load_explicit((atomic_int *)&pool->helpers, memory_order_seq_cst) == 0;
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
    /* Every producer has finished, so every result is in the channel by now;
       look once more. */
    if (wp__finished(a->pool))
        return wp__queue_pop(a->pool->results, a->out, sizeof(wp_result)) ? WP_OK : WP_CLOSED;
    return WP__AGAIN;
}

wp_status wp_result_recv(wp_pool *pool, wp_result *out, int64_t timeout)
{
    if (!pool || !out || timeout < 0 || !pool->results)
        return WP_INVALID;
    wp__recv_args a = { pool, out };
    if (wp__attempt_recv(&a) == WP_OK) {
        wp__ws_notify(&pool->result_room, false);
        return WP_OK;
    }
    wp__run_held(pool, NULL);
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    int r = wp__ws_await(&pool->result_ready, deadline, wp__attempt_recv, &a, NULL);
    if (r == WP_OK)
        wp__ws_notify(&pool->result_room, false);
    return r == WP__AGAIN ? WP_TIMED_OUT : (wp_status)r;
}

/* --- job handles --------------------------------------------------------- */

#define WP__TAG_ONE (UINT64_C(1) << 32)

static uint32_t wp__gen(uint64_t state) { return (uint32_t)(state >> 32); }

static void wp__slot_push(wp_pool *pool, uint32_t index)
{
    uint64_t top = atomic_load_explicit(&pool->handle_free, memory_order_relaxed);
    do {
        atomic_store_explicit(&pool->handles[index].next, (unsigned)(top & 0xffffffffu),
                              memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&pool->handle_free, &top,
                                                    ((top & ~UINT64_C(0xffffffff)) + WP__TAG_ONE)
                                                        | (index + 1u),
                                                    memory_order_release, memory_order_relaxed));
}

/* Frees a slot whose job has its outcome (or was refused) and whose handle
   is given up: the next generation makes every old handle stale. */
static void wp__slot_free(wp_pool *pool, wp__slot *slot, uint64_t state)
{
    uint32_t gen = wp__gen(state) + 1;
    atomic_store_explicit(&slot->state, (uint64_t)(gen ? gen : 1) << 32 | WP__H_FREE,
                          memory_order_release);
    wp__slot_push(pool, (uint32_t)(slot - pool->handles));
}

/* Takes a free slot for a task that asked for a handle: the task then
   carries the slot's token (which also obeys the user's token). False when
   every slot is held. */
static bool wp__slot_take(wp_pool *pool, wp__task *t, wp_handle *h)
{
    uint64_t top = atomic_load_explicit(&pool->handle_free, memory_order_acquire);
    uint32_t index;
    do {
        index = (uint32_t)(top & 0xffffffffu);
        if (index == 0)
            return false;
        /* A racing pop may have reused the slot: the tag makes our CAS fail. */
        unsigned next = atomic_load_explicit(&pool->handles[index - 1].next, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&pool->handle_free, &top,
                                                  ((top & ~UINT64_C(0xffffffff)) + WP__TAG_ONE) | next,
                                                  memory_order_acquire, memory_order_acquire))
            break;
    } while (1);
    wp__slot *slot = &pool->handles[index - 1];
    uint64_t state = atomic_load_explicit(&slot->state, memory_order_relaxed) & ~(uint64_t)WP__H_FREE;
    atomic_store_explicit(&slot->state, state, memory_order_relaxed);
    slot->token.parent = t->token;
    t->token = &slot->token;
    *h = (wp_handle){ index - 1, wp__gen(state) };
    return true;
}

static wp__slot *wp__slot_of(const wp__task *t)
{
    return t->token && t->token->state ? (wp__slot *)(void *)t->token : NULL;
}

/* Records a handled job's outcome; frees the slot if its handle is already
   given up, else wakes whoever waits for it. */
static void wp__slot_done(wp_pool *pool, wp__slot *slot, const wp_result *r)
{
    slot->result = *r;
    uint64_t old = atomic_fetch_or_explicit(&slot->state, WP__H_DONE, memory_order_acq_rel);
    if (old & WP__H_RELEASED)
        wp__slot_free(pool, slot, old);
    else
        wp__ws_notify(&pool->job_done, true);
}

/* The slot a handle names, with its state, if the handle is current. */
static wp__slot *wp__slot_named(wp_pool *pool, wp_handle h, uint64_t *state)
{
    if (!pool || h.slot >= pool->handle_count || h.generation == 0)
        return NULL;
    wp__slot *slot = &pool->handles[h.slot];
    *state = atomic_load_explicit(&slot->state, memory_order_acquire);
    if (wp__gen(*state) != h.generation || (*state & (WP__H_RELEASED | WP__H_FREE)))
        return NULL;
    return slot;
}

/* Sets RELEASED on a current handle; frees the slot if the job is done. */
static wp_status wp__slot_release(wp_pool *pool, wp_handle h, wp_result *out)
{
    uint64_t state;
    wp__slot *slot = wp__slot_named(pool, h, &state);
    while (slot) {
        if (out)
            *out = slot->result;
        if (atomic_compare_exchange_weak_explicit(&slot->state, &state, state | WP__H_RELEASED,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            if (state & WP__H_DONE)
                wp__slot_free(pool, slot, state);
            return WP_OK;
        }
        if (wp__gen(state) != h.generation || (state & (WP__H_RELEASED | WP__H_FREE)))
            break;
    }
    return WP_INVALID;
}

typedef struct wp__job_wait_args {
    wp_pool *pool;
    wp_handle handle;
    wp_result *out;
} wp__job_wait_args;

static int wp__attempt_job_done(void *arg)
{
    wp__job_wait_args *a = (wp__job_wait_args *)arg;
    uint64_t state;
    if (!wp__slot_named(a->pool, a->handle, &state))
        return WP_INVALID;
    if (!(state & WP__H_DONE))
        return WP__AGAIN;
    wp_result r;
    if (wp__slot_release(a->pool, a->handle, &r) != WP_OK)
        return WP_INVALID; /* another thread took it first */
    if (a->out)
        *a->out = r;
    return WP_OK;
}

wp_status wp_job_wait(wp_pool *pool, wp_handle handle, int64_t timeout, wp_result *out)
{
    if (!pool || timeout < 0)
        return WP_INVALID;
    wp__job_wait_args a = { pool, handle, out };
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    uint64_t state;
    wp__slot *target = wp__slot_named(pool, handle, &state);
    /* A job waiting for a job its own worker holds must run it itself (see
       "Runs of short jobs"); a pause puts that off, so meanwhile it looks
       again every millisecond. */
    while (target && wp__holds_slot(pool, target)) {
        wp__run_held(pool, target);
        if (!wp__holds_slot(pool, target))
            break;
        int64_t soon = wp__deadline(WP_MS(1));
        int r = wp__ws_await(&pool->job_done, soon < deadline ? soon : deadline,
                             wp__attempt_job_done, &a, NULL);
        if (r != WP__AGAIN)
            return (wp_status)r;
        if (deadline == INT64_MIN || wp__now_ns() >= deadline)
            return WP_TIMED_OUT;
    }
    int r = wp__ws_await(&pool->job_done, deadline, wp__attempt_job_done, &a, NULL);
    return r == WP__AGAIN ? WP_TIMED_OUT : (wp_status)r;
}

wp_status wp_job_cancel(wp_pool *pool, wp_handle handle)
{
    uint64_t state;
    wp__slot *slot = wp__slot_named(pool, handle, &state);
    if (!slot)
        return WP_INVALID;
    /* Release pairs with the acquire in wp_token_is_canceled. */
    atomic_store_explicit(&slot->token.canceled, handle.generation, memory_order_release);
    return WP_OK;
}

wp_status wp_job_query(wp_pool *pool, wp_handle handle, wp_job_state *state)
{
    uint64_t word;
    if (!state || !wp__slot_named(pool, handle, &word))
        return WP_INVALID;
    *state = (word & WP__H_DONE) ? WP_JOB_DONE : (word & WP__H_RUNNING) ? WP_JOB_RUNNING : WP_JOB_QUEUED;
    return WP_OK;
}

wp_status wp_job_release(wp_pool *pool, wp_handle handle)
{
    return wp__slot_release(pool, handle, NULL);
}

/* --- running a job ------------------------------------------------------- */

static atomic_uint_least64_t *wp__outcome_counter(wp_pool *pool, wp__worker *w, wp_status s)
{
    switch (s) {
    case WP_OK: return &w->completed;
    case WP_TASK_FAILED: return &w->failed;
    case WP_CANCELED: return &w->canceled;
    case WP_EXPIRED: return &w->expired;
    default: return &pool->evicted; /* WP_DROPPED: evicted from the queue */
    }
}

/* Records the outcome of a task that has a callback, a handle or a result
   to deliver. The count comes after the callback, so that
   wp_pool_wait_idle returns only once callbacks have run, and before the
   result channel, which may make us wait for a receiver. */
static WP__NOINLINE void wp__conclude_full(wp_pool *pool, wp__worker *w, const wp__task *t,
                                           atomic_uint_least64_t *counter, wp_status outcome,
                                           int code, void *value, int64_t start)
{
    int64_t end = outcome == WP_OK || outcome == WP_TASK_FAILED ? wp__now_ns() : start;
    wp_result r = { t->id, t->arg, value, code, outcome,
                    t->enqueued_ns ? start - t->enqueued_ns : 0, end - start, w ? w->index : -1 };
    if (t->on_done)
        t->on_done(&r);
    wp__slot *slot = wp__slot_of(t);
    if (slot)
        wp__slot_done(pool, slot, &r);
    wp__tally(w, counter);
    if (pool->results)
        wp__deliver(pool, &r);
}

/* Records the one outcome of a task. `w` is NULL for an eviction. A plain
   job (no callback, handle, token or result channel) only counts it. */
static inline void wp__conclude(wp_pool *pool, wp__worker *w, const wp__task *t, wp_status outcome,
                                int code, void *value, int64_t start)
{
    atomic_uint_least64_t *counter = w ? wp__outcome_counter(pool, w, outcome) : &pool->evicted;
    if (pool->results == NULL && t->on_done == NULL && t->token == NULL)
        wp__tally(w, counter);
    else
        wp__conclude_full(pool, w, t, counter, outcome, code, value, start);
}

/* Why a taken task must not run, or WP_OK if it may. */
static wp_status wp__verdict(const wp_pool *pool, const wp__task *t)
{
    if (atomic_load_explicit((atomic_int *)&pool->canceling, memory_order_acquire)
        || wp_token_is_canceled(t->token))
        return WP_CANCELED;
    if (wp__past_deadline(pool, t))
        return WP_EXPIRED;
    return WP_OK;
}

/* Runs (or cancels, or expires) one task on runner `w`, and records its one
   outcome. */
static void wp__execute(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    bool timed = pool->results != NULL || t->on_done != NULL || wp__slot_of(t) != NULL;
    int64_t start = timed ? wp__now_ns() : 0;
    wp_ctx ctx = { pool, t, NULL, w->index };
    int code = 0;
    wp_status outcome = wp__verdict(pool, t);
    if (outcome == WP_OK && t->token && t->token->state)
        atomic_fetch_or_explicit(t->token->state, WP__H_RUNNING, memory_order_relaxed);
    if (w->index >= 0) {
        /* Busy until the callback has run; saved and restored, since a
           nested submission runs inside another job. */
        int was_busy = atomic_load_explicit(&w->busy, memory_order_relaxed);
        atomic_store_explicit(&w->busy, 1, memory_order_relaxed);
        if (outcome == WP_OK) {
            int64_t obs = wp__observe_begin(pool, w, t); /* observability */
            code = t->fn(t->arg, &ctx);
            wp__observe_end(pool, w, t, code, obs); /* observability */
            outcome = code == 0 ? WP_OK : WP_TASK_FAILED;
        }
        wp__conclude(pool, w, t, outcome, code, ctx.value, start);
        atomic_store_explicit(&w->busy, was_busy, memory_order_relaxed);
        return;
    }
    /* Another thread: inside one of this pool's jobs until its callback has
       run, so that close or wait_idle from either knows where it is. */
    wp_pool *outer = wp__job_pool;
    wp__job_pool = pool;
    if (outcome == WP_OK) {
        code = t->fn(t->arg, &ctx);
        outcome = code == 0 ? WP_OK : WP_TASK_FAILED;
    }
    wp__conclude(pool, w, t, outcome, code, ctx.value, start);
    wp__job_pool = outer;
}

/* --- taking jobs: priorities, fairness, rate limit ------------------------ */

/* Lane orders: usually high first; every 4th take normal first, every 16th
   low first (see wp_priority). */
static const unsigned char wp__lane_order[3][WP__LANES] = {
    { WP__LANE_HIGH, WP__LANE_NORMAL, WP__LANE_LOW },
    { WP__LANE_NORMAL, WP__LANE_HIGH, WP__LANE_LOW },
    { WP__LANE_LOW, WP__LANE_NORMAL, WP__LANE_HIGH },
};

/* Pops the next task by priority; answers its lane, or -1 if all are empty.
   Until a job of another priority has been submitted only the normal lane
   can hold jobs, and only it is looked at. */
static inline int wp__pop_next(wp_pool *pool, wp__task *t, size_t *pos)
{
    if (!atomic_load_explicit(&pool->lanes_used, memory_order_acquire))
        return wp__queue_pop_at(pool->lanes[WP__LANE_NORMAL], t, sizeof *t, pos) ? WP__LANE_NORMAL
                                                                                : -1;
    unsigned n = wp__takes + 1;
    const unsigned char *order = wp__lane_order[n % 16 == 0 ? 2 : n % 4 == 0 ? 1 : 0];
    for (int i = 0; i < WP__LANES; i++) {
        if (wp__queue_pop_at(pool->lanes[order[i]], t, sizeof *t, pos)) {
            wp__takes = n;
            return order[i];
        }
    }
    return -1;
}

static size_t wp__queued(const wp_pool *pool)
{
    size_t n = 0;
    for (int i = 0; i < WP__LANES; i++)
        n += wp_queue_size(pool->lanes[i]);
    return n;
}

/* Every lane closed, and every job accepted before that taken. */
static bool wp__lanes_drained(const wp_pool *pool)
{
    for (int i = 0; i < WP__LANES; i++)
        if (!wp__queue_drained(pool->lanes[i]))
            return false;
    return true;
}

/* The rate limit as a generic cell rate algorithm: `rate_due` is when the
   next start is due; a start is allowed while that is at most `tolerance`
   (the burst) ahead of now, and moves it one interval on. Answers 0 when a
   start may happen now, else how long (pool clock) until one may. */
static int64_t wp__rate_claim(wp_pool *pool, int_least64_t *claimed)
{
    int64_t now = wp__pool_now(pool);
    int_least64_t due = atomic_load_explicit(&pool->rate_due, memory_order_relaxed);
    for (;;) {
        int64_t base = due > now ? due : now;
        if (base - now > pool->rate_tolerance)
            return base - now - pool->rate_tolerance;
        *claimed = base + pool->rate_interval;
        if (atomic_compare_exchange_weak_explicit(&pool->rate_due, &due, *claimed,
                                                  memory_order_relaxed, memory_order_relaxed))
            return 0;
    }
}

/* After a pop at position `pos` of a lane: wakes a submitter blocked for
   room in it, but only at every room_every-th position (a quarter of the
   lane), so that a woken submitter finds a run of free cells instead of one,
   and room_every - 1 pops out of room_every skip the fence and the waiter
   check of wp__ws_notify.

   No wake-up is lost. A blocked submitter registers, fences, and sleeps
   only if its lane is full and holds at least room_every jobs past the tail
   it read after the fence (wp__attempt_push_job). Every pop that claims a
   position from that tail on comes after the submitter's fence (our load
   did not see its CAS), so its own fence-then-load sees the submitter
   registered; and one of those room_every positions, all filled, is a
   multiple of room_every: that pop wakes it. It wakes every registered
   submitter (broadcast), since two may count on the same pop. Close and
   resize broadcast on job_room as before. With a lane of fewer than 4 cells
   room_every is 1: every pop notifies one submitter, as before.

   A WP_TIMEOUT submitter must not wait for a run of pops when one free cell
   would do (workers may be busy with long jobs): the first one sets
   room_timed (sticky), after which every pop notifies, as before this
   change. It parks at most 1 ms the first time (wp__await_room), so even a
   worker that has not seen the flag yet delays it by no more than that. */
static void wp__notify_room(wp_pool *pool, int lane, size_t pos)
{
    if ((pos & pool->room_mask) == 0)
        wp__ws_notify(&pool->job_room[lane], pool->room_mask != 0);
    else if (atomic_load_explicit(&pool->room_timed, memory_order_relaxed))
        wp__ws_notify(&pool->job_room[lane], false);
}

enum { WP__GOT = 2, WP__FINISHED = 3, WP__RETIRE = 4, WP__RATED = 5, WP__HELP = 6 };

/* Takes the next task for any thread, honouring the rate limit (which jobs
   canceled at close skip). Answers WP__GOT, WP__RATED (with *wait set, in
   pool-clock ns), WP__FINISHED (closed and drained) or WP__AGAIN. */
static inline int wp__take(wp_pool *pool, wp__task *t, int64_t *wait)
{
    bool limited = pool->rate_interval != 0
        && !atomic_load_explicit(&pool->canceling, memory_order_acquire);
    int lane;
    size_t pos = 0;
    if (limited && wp__queued(pool) > 0) {
        int_least64_t claimed;
        int64_t w = wp__rate_claim(pool, &claimed);
        if (w > 0) {
            *wait = w;
            return WP__RATED;
        }
        /* A job counted in the queue may still be being copied in by its
           submitter: look again while one is there, so that the start we
           hold is not given back for nothing. */
        lane = wp__pop_next(pool, t, &pos);
        for (int tries = 0; lane < 0 && tries < 1000 && wp__queued(pool) > 0; tries++) {
            wp__cpu_relax();
            lane = wp__pop_next(pool, t, &pos);
        }
        /* Another thread took the job: give the start back. Taking one
           interval off the due time undoes our claim even when later claims
           built on it; after an idle spell (a claim that restarted from now)
           this can let one start more than the burst through, which is
           better than losing a start for good on a clock that stands still. */
        if (lane < 0)
            atomic_fetch_sub_explicit(&pool->rate_due, pool->rate_interval, memory_order_relaxed);
        (void)claimed;
    } else {
        lane = limited ? -1 : wp__pop_next(pool, t, &pos);
    }
    if (lane >= 0) {
        wp__notify_room(pool, lane, pos);
        return WP__GOT;
    }
    /* Closed but not drained means a submitter claimed a cell before the close
       and is still copying into it: keep trying, it is a matter of moments. */
    return wp__lanes_drained(pool) ? WP__FINISHED : WP__AGAIN;
}

/* Runs of short jobs (wp_config.take_run). A worker whose jobs are short
   claims several at once (wp__queue_pop_run: half of the published run it
   sees, at most take_run), so that workers contend for the queue's tail
   once per run instead of once per job. The run is held on the worker, so it is kept
   short and only for short jobs: a job waits behind at most take_run - 1
   short ones that another worker cannot take meanwhile (but a job that
   turns out long holds the rest of its run up: see wp_config).
   "Short" is measured, not guessed: one clock read per run gives the run's
   mean time per job; a worker whose jobs average WP_SHORT_JOB_NS or more
   goes back to taking one job at a time, measuring one take in
   WP__PROBE_EVERY, and takes runs again once a measured job is short.

   Runs are taken only in the plain case: one lane in use (priorities keep
   their exact order), no rate limit (which counts starts one by one). What a
   run changes elsewhere:
   - pause: the worker holds the rest of its run, as it holds a job it took
     as the pause landed (wp__attempt_take_or_retire);
   - close: a drain runs the held jobs; a cancel reaches them through
     wp__verdict like any queued job;
   - waiting inside a job: wp_job_wait for a held job runs the held jobs
     up to that one, and wp_result_recv with no result waiting runs them
     while the channel has room (wp__run_held); wp_pool_wait_idle and
     wp_pool_help take them before the queue's (wp__help_one). So a job
     that waits this way for a job held behind it cannot deadlock, and a
     lock held across a wait never sees an unrelated job run under it;
   - a worker with held jobs does not retire, and parks only while paused
     (then with no idle deadline). */
#define WP__PROBE_EVERY 16

#ifdef WORKERPOOL_TESTING
/* Test hook: workers started from now on assume short jobs, so that a
   test's first claim is a run (deterministic tests of runs). */
static atomic_int wp__start_short;
WP_API void wp__test_start_short(int on);
WP_API void wp__test_start_short(int on) { atomic_store(&wp__start_short, on); }
static bool wp__starts_short(void) { return atomic_load(&wp__start_short) != 0; }
#else
static bool wp__starts_short(void) { return false; }
#endif

static bool wp__holds(const wp__worker *w)
{
    return w->held_next < w->held_count;
}

/* The wake-up of blocked submitters for a run of pops at positions pos ..
   pos + n - 1: the rule of wp__notify_room for each, with one notify. */
static void wp__notify_room_run(wp_pool *pool, int lane, size_t pos, size_t n)
{
    if (n == 1) {
        wp__notify_room(pool, lane, pos);
        return;
    }
    /* Does pos .. pos + n - 1 hold a multiple of room_every? (pos - 1 wraps
       for pos 0, which is one.) */
    size_t m = pool->room_mask;
    if (((pos + n - 1) & ~m) != ((pos - 1) & ~m)
        || atomic_load_explicit(&pool->room_timed, memory_order_relaxed))
        wp__ws_notify(&pool->job_room[lane], true);
}

/* Ends the measurement of the take just run through, if one was made:
   answers the clock it read (0: none). */
static int64_t wp__judge_take(wp__worker *w)
{
    if (w->measured_jobs == 0)
        return 0;
    int64_t now = wp__now_ns();
    w->short_jobs = now - w->measured_at < (int64_t)w->measured_jobs * WP_SHORT_JOB_NS;
    w->measured_jobs = 0;
    return now;
}

/* wp__take for a worker: its held run first, then a new run while its jobs
   are short, else one job. */
static inline int wp__worker_take(wp_pool *pool, wp__worker *w, wp__task *t, int64_t *wait)
{
    if (pool->take_run == 1) /* the default: nothing held, nothing measured */
        return wp__take(pool, t, wait);
    if (wp__holds(w)) {
        *t = w->held[w->held_next++];
        return WP__GOT;
    }
    int64_t now = wp__judge_take(w);
    bool plain = pool->rate_interval == 0
        && !atomic_load_explicit(&pool->lanes_used, memory_order_acquire);
    if (!plain)
        return wp__take(pool, t, wait);
    if (!w->short_jobs) {
        int r = wp__take(pool, t, wait);
        if (r == WP__GOT && ++w->since_probe >= WP__PROBE_EVERY) {
            w->since_probe = 0;
            w->measured_jobs = 1;
            w->measured_at = wp__now_ns();
        }
        return r;
    }
    size_t pos;
    wp_queue *lane = pool->lanes[WP__LANE_NORMAL];
    size_t n = wp__queue_pop_run(lane, w->held, pool->take_run, sizeof *t, &pos);
    if (n == 0)
        return wp__lanes_drained(pool) ? WP__FINISHED : WP__AGAIN;
    wp__notify_room_run(pool, WP__LANE_NORMAL, pos, n);
    *t = w->held[0];
    w->held_next = 1;
    w->held_count = (unsigned)n;
    if (n > 1) {
        w->measured_jobs = (unsigned)n;
        w->measured_at = now ? now : wp__now_ns();
    }
    return WP__GOT;
}

/* --- threads that are not workers ---------------------------------------- */

static void wp__helper_enter(wp_pool *pool);
static void wp__helper_leave(wp_pool *pool);
static void wp__suspend(wp_pool *pool);
static void wp__resume(wp_pool *pool);

/* Whether the calling thread is a worker of `pool` holding the job of
   `slot` in its run. */
static bool wp__holds_slot(wp_pool *pool, const wp__slot *slot)
{
    wp__worker *self = wp__self;
    if (!self || self->pool != pool)
        return false;
    for (unsigned i = self->held_next; i < self->held_count; i++)
        if (wp__slot_of(&self->held[i]) == slot)
            return true;
    return false;
}

/* A job about to block in wp_job_wait or wp_result_recv on its worker runs
   the held jobs that nobody else can (see "Runs of short jobs"): up to
   `upto`, the slot of the job waited for (wp_job_wait; nothing if it is not
   held), or all of them while the channel has room (wp_result_recv: NULL).
   It stops when a pause lands. Counted as helping, and the waiting job set
   aside meanwhile, as in wp_pool_help. */
static void wp__run_held(wp_pool *pool, const wp__slot *upto)
{
    wp__worker *self = wp__self;
    if (!self || self->pool != pool || !wp__holds(self) || wp__is_paused(pool))
        return;
    /* Only a wait for a held job runs held jobs, and only up to it. */
    unsigned end = self->held_next;
    if (upto) {
        for (unsigned i = self->held_next; i < self->held_count; i++)
            if (wp__slot_of(&self->held[i]) == upto)
                end = i + 1;
    } else {
        end = self->held_count;
    }
    if (end == self->held_next)
        return;
    bool in_job = wp__in_job(pool);
    if (in_job)
        wp__suspend(pool);
    wp__helper_enter(pool);
    while (self->held_next < end && !wp__is_paused(pool)) {
        if (!upto && pool->results
            && wp_queue_size(pool->results) >= wp_queue_capacity(pool->results))
            break; /* wp_result_recv: the caller is the receiver */
        wp__task t = self->held[self->held_next++];
        wp__execute(pool, self, &t); /* on its worker: stats, hooks, on_error */
    }
    wp__helper_leave(pool);
    if (in_job)
        wp__resume(pool);
}

/* A thread that is not a worker and may produce outcomes (it helps, evicts or
   runs a job in place) counts itself in `helpers` meanwhile, so that close
   and wp_result_recv wait for it as for a worker. The release fence orders
   the count before the pop that follows: a worker that sees the queue
   drained by that pop (acquire) then sees the count too. */
static void wp__helper_enter(wp_pool *pool)
{
    atomic_fetch_add_explicit(&pool->helpers, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void wp__helper_leave(wp_pool *pool)
{
    atomic_fetch_sub_explicit(&pool->helpers, 1, memory_order_release);
    wp__ws_notify(&pool->idle, true);
    wp__ws_notify(&pool->result_ready, true);
    wp__ws_notify(&pool->exited, true);
}

/* Takes and runs one job on the calling thread (counted in as a helper).
   False when none may be taken now: none queued, the rate limit, or (unless
   `must`) a full result channel, whose receiver may be this very thread. */
static bool wp__help_one(wp_pool *pool, bool must)
{
    wp__task t;
    int64_t wait;
    if (!must && pool->results && wp_queue_size(pool->results) >= wp_queue_capacity(pool->results))
        return false;
    wp__worker *self = wp__self;
    if (self && self->pool == pool && wp__holds(self)) { /* see "Runs of short jobs" */
        t = self->held[self->held_next++];
        wp__execute(pool, self, &t);
        return true;
    }
    if (wp__take(pool, &t, &wait) != WP__GOT)
        return false;
    wp__execute(pool, &pool->external, &t);
    return true;
}

/* A job whose thread goes off to do the pool's work (wait for idle, help,
   run a nested job) is set aside meanwhile: wp_pool_wait_idle called from
   inside jobs does not wait for it, so jobs waiting on each other this way
   cannot deadlock. */
static void wp__suspend(wp_pool *pool)
{
    atomic_fetch_add_explicit(&pool->suspends, 1, memory_order_seq_cst);
    wp__ws_notify(&pool->idle, true);
}

static void wp__resume(wp_pool *pool)
{
    atomic_fetch_add_explicit(&pool->resumes, 1, memory_order_seq_cst);
}

/* A thread that is neither a worker nor a helper yet is about to run a job
   in place: count it in first, then make sure the pool is not closed, so
   that a close either sees it in `helpers` or it sees the close (seq_cst on
   both sides: whichever comes second sees the first). */
static bool wp__enter_open(wp_pool *pool)
{
    atomic_fetch_add_explicit(&pool->helpers, 1, memory_order_seq_cst);
    if (!(atomic_load_explicit(&pool->lanes[0]->head, memory_order_seq_cst) & WP__CLOSED_BIT))
        return true;
    wp__helper_leave(pool);
    return false;
}

/* Runs a submission right here, on the submitting thread: a nested
   submission into a full queue, or WP_CALLER_RUNS. A job that always submits
   another would recurse without end, so past a depth bound it is refused. */
static wp_status wp__run_here(wp_pool *pool, const wp__task *t)
{
    if (wp__inline_depth >= WP__MAX_INLINE_DEPTH) {
        wp__count(&pool->rejected);
        return WP_WOULD_DEADLOCK;
    }
    bool worker = wp__self != NULL && wp__self->pool == pool;
    bool nested = wp__in_job(pool);
    wp__worker *w = worker ? wp__self : &pool->external;
    if (!worker && !wp__enter_open(pool)) {
        wp__count(&pool->refused_closed);
        return WP_CLOSED;
    }
    if (nested)
        wp__suspend(pool);
    wp__tally(w, &w->ran_inline);
    wp__inline_depth++;
    wp__execute(pool, w, t);
    wp__inline_depth--;
    if (nested)
        wp__resume(pool);
    if (!worker)
        wp__helper_leave(pool);
    return WP_OK;
}

static size_t wp__help(wp_pool *pool, int64_t budget)
{
    int64_t deadline = wp__deadline(budget);
    size_t ran = 0;
    wp__helper_enter(pool);
    while ((budget == WP_FOREVER || wp__now_ns() < deadline) && wp__help_one(pool, false))
        ran++;
    wp__helper_leave(pool);
    return ran;
}

size_t wp_pool_help(wp_pool *pool, int64_t budget)
{
    if (!pool || budget < 0)
        return 0;
    bool in_job = wp__in_job(pool);
    if (in_job)
        wp__suspend(pool);
    size_t ran = wp__help(pool, budget);
    if (in_job)
        wp__resume(pool);
    return ran;
}

/* --- waiting for idle ----------------------------------------------------- */

static uint64_t wp__load(const atomic_uint_least64_t *counter, memory_order order)
{
    return atomic_load_explicit((atomic_uint_least64_t *)counter, order);
}

static uint64_t wp__outcomes(const wp__worker *w)
{
    return wp__load(&w->completed, memory_order_acquire) + wp__load(&w->failed, memory_order_acquire)
        + wp__load(&w->canceled, memory_order_acquire) + wp__load(&w->expired, memory_order_acquire);
}

/* Jobs accepted and not yet ended. Outcomes are read first and acceptances
   second; both only grow, and an outcome's count is released after the pop
   that took its job (which acquired the push), so a zero here means that at
   the moment between the two reads every accepted job had ended. */
static uint64_t wp__pending(const wp_pool *pool)
{
    uint64_t ended = wp__outcomes(&pool->external) + wp__load(&pool->evicted, memory_order_acquire);
    for (int i = 0; i < pool->slots; i++)
        ended += wp__outcomes(&pool->workers[i]);
    uint64_t accepted = wp__load(&pool->external.ran_inline, memory_order_acquire);
    for (int i = 0; i < pool->slots; i++)
        accepted += wp__load(&pool->workers[i].ran_inline, memory_order_acquire);
    for (int i = 0; i < WP__LANES; i++)
        accepted += wp__queue_accepted(pool->lanes[i]);
    /* On 32-bit targets the lanes count modulo 2^31; so does the result,
       which is far below that. */
    return (accepted - ended) & ((uint64_t)SIZE_MAX >> 1);
}

typedef struct wp__idle_args {
    wp_pool *pool;
    bool in_job;
    bool helps;   /* runs queued jobs meanwhile: inside a job, or inline-only */
} wp__idle_args;

/* Idle, or (inside a job) only jobs set aside on their thread are left; a
   queued job also ends the wait (WP__HELP), so that the caller can run it.
   The set-aside count is read before and after the pending count, and only
   a pair that did not move meanwhile is believed. */
static int wp__attempt_idle(void *arg)
{
    wp__idle_args *a = (wp__idle_args *)arg;
    wp_pool *pool = a->pool;
    uint64_t pending, aside;
    for (;;) {
        uint64_t s1 = wp__load(&pool->suspends, memory_order_seq_cst);
        uint64_t r1 = wp__load(&pool->resumes, memory_order_seq_cst);
        pending = wp__pending(pool);
        if (!a->in_job) {
            aside = 0;
            break;
        }
        uint64_t s2 = wp__load(&pool->suspends, memory_order_seq_cst);
        uint64_t r2 = wp__load(&pool->resumes, memory_order_seq_cst);
        if (s1 == s2 && r1 == r2) {
            aside = s1 - r1;
            break;
        }
    }
    if (pending <= aside)
        return WP_OK;
    bool held = wp__self && wp__self->pool == pool && wp__holds(wp__self);
    return a->helps && (wp__queued(pool) > 0 || held) ? WP__HELP : WP__AGAIN;
}

/* What is left of the time until `deadline`, as a budget for wp_pool_help. */
static int64_t wp__budget_until(int64_t deadline)
{
    if (deadline == WP_FOREVER)
        return WP_FOREVER;
    int64_t left = deadline == INT64_MIN ? 0 : deadline - wp__now_ns();
    return left > 0 ? left : 0;
}

wp_status wp_pool_wait_idle(wp_pool *pool, int64_t timeout)
{
    if (!pool || timeout < 0)
        return WP_INVALID;
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    wp__idle_args a = { pool, wp__in_job(pool), false };
    a.helps = a.in_job || pool->inline_only;
    if (a.in_job)
        wp__suspend(pool);
    int r;
    do {
        size_t ran = a.helps ? wp__help(pool, wp__budget_until(deadline)) : 0;
        r = wp__ws_await(&pool->idle, deadline, wp__attempt_idle, &a, NULL);
        if (r == WP__HELP && ran == 0) /* rate-limited: let the next start come due */
            wp__sleep_ns(WP_US(100));
    } while (r == WP__HELP && wp__budget_until(deadline) > 0);
    if (a.in_job)
        wp__resume(pool);
    return r == WP_OK ? WP_OK : WP_TIMED_OUT;
}

/* --- scaling ----------------------------------------------------------- */

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
            || (atomic_load_explicit(&pool->lanes[0]->head, memory_order_relaxed) & WP__CLOSED_BIT))
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
        || wp__queued(pool) <= pool->scale_up_threshold
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

/* A worker that took a job just as a pause landed holds it until resume
   (or close, which resumes), so that no job starts after wp_pool_pause has
   returned. */
static bool wp__is_paused(wp_pool *pool)
{
    return atomic_load_explicit(&pool->paused, memory_order_acquire)
        && !(atomic_load_explicit(&pool->lanes[0]->head, memory_order_acquire) & WP__CLOSED_BIT);
}

static int wp__attempt_unpaused(void *arg)
{
    return wp__is_paused((wp_pool *)arg) ? WP__AGAIN : WP__DONE;
}

typedef struct wp__take_args {
    wp_pool *pool;
    wp__worker *worker;
    wp__task *task;
    int64_t wait;    /* set with WP__RATED */
    bool had_job;    /* ran a job since the last time it found none */
    unsigned streak; /* jobs run since it last parked (saturating) */
    bool short_park; /* its last park ended within WP__SHORT_PARK_NS */
    int64_t idle_ns; /* when it last reached the yield-or-park point */
} wp__take_args;

static int wp__attempt_take_or_retire(void *arg)
{
    wp__take_args *a = (wp__take_args *)arg;
    wp_pool *pool = a->pool;
    /* A pause that lost a race with close must not hold the drain up. */
    int r;
    if (wp__is_paused(pool)) {
        /* The take just run through ended now, not at resume. */
        if (!wp__holds(a->worker))
            wp__judge_take(a->worker);
        r = WP__AGAIN;
    } else {
        r = wp__worker_take(pool, a->worker, a->task, &a->wait);
    }
    if (r != WP__AGAIN || wp__holds(a->worker))
        return r;
    /* Going idle: whoever waits for the pool to idle may be done now. */
    if (a->had_job) {
        a->had_job = false;
        wp__ws_notify(&pool->idle, true);
    }
    /* Idle workers answer retirement requests first; busy ones after their
       job (see wp__worker_main). */
    if (atomic_load_explicit(&pool->retire_requests, memory_order_relaxed) > 0
        && wp__retire_on_request(pool))
        return WP__RETIRE;
    return r;
}

/* A worker that found no job yields its core before parking only while the
   pool looks busy: its last park was short (jobs keep coming, and a queue
   found empty most likely means a producer lost its core, which the yield
   hands back without a futex round trip), it has run a streak of jobs since
   it last parked, or a submitter waits for room. A worker whose last park
   was long serves sporadic jobs: it parks at once, which keeps its next
   wake-up fast (see wp__ws_await_ex). It notes the time here, on the way to
   parking, so that the job path reads no clock. Relaxed loads: a stale
   answer only picks the slower of two correct paths. */
#define WP__YIELD_STREAK 8
#define WP__SHORT_PARK_NS WP_US(200)
static bool wp__worker_may_yield(void *arg)
{
    wp__take_args *a = (wp__take_args *)arg;
    a->idle_ns = wp__now_ns();
    if (a->short_park || a->streak >= WP__YIELD_STREAK)
        return true;
    for (int i = 0; i < WP__LANES; i++)
        if (atomic_load_explicit(&a->pool->job_room[i].waiters, memory_order_relaxed) > 0)
            return true;
    return false;
}

/* A rate-limited worker sleeps until the next start is due, or until a
   notify (close, resume, a new job) makes it look again. */
static int wp__attempt_nothing(void *arg)
{
    wp_pool *pool = (wp_pool *)arg;
    return atomic_load_explicit(&pool->canceling, memory_order_acquire) ? WP__DONE : WP__AGAIN;
}

static void wp__await_rate(wp_pool *pool, int64_t wait)
{
    /* With a clock override the wait is in that clock's units: re-read it
       every millisecond instead. */
    if (pool->clock)
        wait = WP_MS(1);
    wp__ws_await(&pool->job_ready, wp__deadline(wait), wp__attempt_nothing, pool, NULL);
}

static wp__thread_ret wp__worker_main(void *arg)
{
    wp__worker *w = (wp__worker *)arg;
    wp_pool *pool = w->pool;
    wp__self = w;
    w->held_next = w->held_count = 0;
    /* One job at a time until the first one, measured, proves short: a
       pool of long jobs never piles them onto its first claimer. */
    w->short_jobs = wp__starts_short();
    w->measured_jobs = 0;
    w->since_probe = WP__PROBE_EVERY - 1;
    if (pool->on_thread_start)
        pool->on_thread_start(w->index, pool->hook_user);

    wp__task task;
    wp__take_args a = { pool, w, &task, 0, false, 0, false, 0 };
    int64_t idle_since = -1;
    int r;
    for (;;) {
        bool slept;
        int64_t deadline = wp__holds(w) ? WP_FOREVER : wp__idle_deadline(pool, &idle_since);
        r = wp__ws_await_ex(&pool->job_ready, deadline, wp__attempt_take_or_retire, &a, &slept,
                            wp__worker_may_yield, WP_SPIN_COUNT);
        if (slept) { /* parked since a.idle_ns */
            a.streak = 0;
            a.short_park = wp__now_ns() - a.idle_ns < WP__SHORT_PARK_NS;
        }
        if (r == WP__GOT) {
            if (a.streak < WP__YIELD_STREAK)
                a.streak++;
            /* A producer descheduled between claiming a cell and publishing
               it hides the jobs behind it, and the wake-ups of those jobs are
               spent on workers that found nothing. The one worker its publish
               wakes passes the wake-up on while work remains. */
            if (slept && wp__queued(pool) > 0)
                wp__ws_notify(&pool->job_ready, false);
            if (atomic_load_explicit(&pool->paused, memory_order_acquire))
                wp__ws_await(&pool->job_ready, WP_FOREVER, wp__attempt_unpaused, pool, NULL);
            wp__execute(pool, w, &task);
            a.had_job = true;
            idle_since = -1;
            if (atomic_load_explicit(&pool->retire_requests, memory_order_relaxed) > 0
                && !wp__holds(w) && wp__retire_on_request(pool)) {
                r = WP__RETIRE;
                break;
            }
            if (atomic_load_explicit(&pool->scaling, memory_order_relaxed))
                wp__maybe_scale_up(pool);
        } else if (r == WP__RATED) {
            wp__await_rate(pool, a.wait);
        } else if (r == WP__FINISHED || r == WP__RETIRE) {
            break;
        } else if (!wp__holds(w) && wp__retire_if_idle(pool, idle_since)) { /* idle deadline passed */
            r = WP__RETIRE;
            break;
        }
    }

    if (r == WP__RETIRE)
        wp__record_scale(pool, false);
    if (r == WP__FINISHED) /* the queue is closed and empty: tell the others */
        wp__ws_notify(&pool->job_ready, true);
    wp__ws_notify(&pool->idle, true);
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
    wp_queue *lane;
    const wp__task *task;
    size_t room_every; /* the pool's room_mask + 1 */
} wp__push_args;

/* A blocked submitter may sleep only on a lane that holds room_every jobs
   or more, counted from a tail read after its registration (the fence in
   wp__ws_prepare): then one of the pops at positions tail .. tail +
   room_every - 1 is at a multiple of room_every, all of them happen (the
   jobs are there), and each sees it registered (its tail CAS comes before
   its own fence, and our load did not see it): see wp__notify_room. A lane
   found full with fewer than that between tail and head has consumers in
   the middle of copying a job out: wait for them here, a matter of moments
   (yielding now and then, should one have lost its core). */
static int wp__attempt_push_job(void *arg)
{
    wp__push_args *a = (wp__push_args *)arg;
    for (unsigned spins = 1;; spins++) {
        switch (wp__queue_push(a->lane, a->task, sizeof *a->task)) {
        case WP__PUSHED: return WP_OK;
        case WP__SHUT: return WP_CLOSED;
        default: break;
        }
        if (a->room_every <= 1)
            return WP__AGAIN;
        size_t tail = atomic_load_explicit(&a->lane->tail, memory_order_relaxed);
        size_t head = atomic_load_explicit(&a->lane->head, memory_order_relaxed) & ~(size_t)WP__CLOSED_BIT;
        if ((head - tail) / WP__TICKET >= a->room_every)
            return WP__AGAIN;
        if (spins % 64 == 0)
            wp__thread_yield();
        else
            wp__cpu_relax();
    }
}

static wp_status wp__refused_closed(wp_pool *pool)
{
    wp__count(&pool->refused_closed);
    return WP_CLOSED;
}

/* WP_DROP_OLDEST: evicts the lane's oldest job (it yields WP_DROPPED) until
   the new one fits. */
static wp_status wp__evict_and_push(wp_pool *pool, int lane, const wp__task *t)
{
    if (!wp__enter_open(pool))
        return wp__refused_closed(pool);
    enum wp__push_result r;
    while ((r = wp__queue_push(pool->lanes[lane], t, sizeof *t)) == WP__FULL) {
        wp__task old;
        size_t pos;
        if (wp__queue_pop_at(pool->lanes[lane], &old, sizeof old, &pos)) {
            /* A pop like any other: it may be the one a blocked submitter
               of another policy counts on (wp__notify_room). */
            wp__notify_room(pool, lane, pos);
            wp__conclude(pool, NULL, &old, WP_DROPPED, 0, NULL, wp__now_ns());
        }
        else /* a consumer is still copying its job out of the cell */
            wp__cpu_relax();
    }
    if (r == WP__PUSHED)
        wp__ws_notify(&pool->job_ready, false);
    wp__helper_leave(pool);
    return r == WP__PUSHED ? WP_OK : wp__refused_closed(pool);
}

/* An inline-only pool has nobody to make room but the submitter: it runs
   the oldest jobs until the new one fits or the deadline passes. */
static wp_status wp__help_until_pushed(wp_pool *pool, int lane, const wp__task *t, int64_t deadline)
{
    for (;;) {
        switch (wp__queue_push(pool->lanes[lane], t, sizeof *t)) {
        case WP__PUSHED: return WP_OK;
        case WP__SHUT: return wp__refused_closed(pool);
        default: break;
        }
        if (wp__now_ns() >= deadline) {
            wp__count(&pool->timed_out);
            return WP_TIMED_OUT;
        }
        wp__helper_enter(pool);
        bool ran = wp__help_one(pool, true);
        wp__helper_leave(pool);
        if (!ran) /* rate-limited: the next start is not due yet */
            wp__sleep_ns(WP_US(100));
    }
}

/* The lane was full (or closed): apply the backpressure policy. */
static wp_status wp__submit_slow(wp_pool *pool, int lane, const wp__task *t,
                                 wp_backpressure policy, int64_t timeout,
                                 enum wp__push_result first)
{
    if (first == WP__SHUT)
        return wp__refused_closed(pool);
    wp__observe_full(pool); /* observability */
    /* A full queue is the submitter's cue to add a worker: no worker may be
       free to notice the backlog (all busy with long jobs). */
    if (atomic_load_explicit(&pool->scaling, memory_order_relaxed))
        wp__maybe_scale_up(pool);
    switch (policy) {
    case WP_REJECT:
        wp__count(&pool->rejected);
        return WP_FULL;
    case WP_DROP:
        wp__count(&pool->dropped);
        return WP_DROPPED;
    case WP_DROP_OLDEST:
        return wp__evict_and_push(pool, lane, t);
    case WP_CALLER_RUNS:
        return wp__run_here(pool, t);
    default:
        break;
    }
    /* Waiting for room from inside the pool could wait on ourselves: run the
       job right here instead. */
    if (wp__on_own_thread(pool))
        return wp__run_here(pool, t);
    int64_t deadline = policy == WP_BLOCK ? WP_FOREVER : wp__deadline(timeout);
    if (pool->inline_only)
        return wp__help_until_pushed(pool, lane, t, deadline);
    wp__push_args a = { pool->lanes[lane], t, pool->room_mask + 1 };
    int r;
    if (deadline != WP_FOREVER && !atomic_load_explicit(&pool->room_timed, memory_order_relaxed)) {
        /* See wp__notify_room: the first timed wait for room turns on a
           notify per pop, and looks again after 1 ms in case a worker had
           not seen that yet. */
        atomic_store_explicit(&pool->room_timed, 1, memory_order_relaxed);
        int64_t soon = wp__deadline(WP_MS(1));
        r = wp__ws_await(&pool->job_room[lane], soon < deadline ? soon : deadline,
                         wp__attempt_push_job, &a, NULL);
        if (r == WP__AGAIN)
            r = wp__ws_await(&pool->job_room[lane], deadline, wp__attempt_push_job, &a, NULL);
    } else {
        /* Room comes in runs of room_every cells (wp__notify_room), so a
           submitter that met a full lane spins only briefly: the core it
           would spin on is better spent by a worker draining the lane, and
           the wake-up it costs is shared by a run of pushes. */
        r = wp__ws_await_ex(&pool->job_room[lane], deadline, wp__attempt_push_job, &a, NULL,
                            NULL, pool->room_mask ? WP_ROOM_SPIN_COUNT : WP_SPIN_COUNT);
    }
    if (r == WP_OK) {
        wp__ws_notify(&pool->job_ready, false);
        return WP_OK;
    }
    if (r == WP_CLOSED)
        return wp__refused_closed(pool);
    wp__count(&pool->timed_out);
    return WP_TIMED_OUT;
}

static bool wp__timed(const wp_pool *pool, const wp__task *t)
{
    return pool->results != NULL || t->on_done != NULL || wp__slot_of(t) != NULL;
}

/* Before the first job of another priority is pushed: the release store
   pairs with the acquire in wp__pop_next, so a worker that sees the job
   also looks at its lane. */
static void wp__use_lane(wp_pool *pool, int lane)
{
    if (lane != WP__LANE_NORMAL && !atomic_load_explicit(&pool->lanes_used, memory_order_relaxed))
        atomic_store_explicit(&pool->lanes_used, 1, memory_order_release);
}

static wp_status wp__submit(wp_pool *pool, int lane, wp__task *t, wp_backpressure policy,
                            int64_t timeout)
{
    wp__use_lane(pool, lane);
    if (wp__timed(pool, t))
        t->enqueued_ns = wp__now_ns();
    wp__observe_submit(pool, t); /* observability */
    enum wp__push_result r = wp__queue_push(pool->lanes[lane], t, sizeof *t);
    if (r != WP__PUSHED)
        return wp__submit_slow(pool, lane, t, policy, timeout, r);
    wp__ws_notify(&pool->job_ready, false);
    return WP_OK;
}

wp_status wp_submit(wp_pool *pool, wp_job_fn fn, void *arg)
{
    if (!pool || !fn)
        return WP_INVALID;
    wp__task t = { fn, arg, 0, 0, 0, NULL, NULL };
    return wp__submit(pool, WP__LANE_NORMAL, &t, pool->backpressure, pool->submit_timeout);
}

static bool wp__policy_ok(wp_backpressure p)
{
    return p >= WP_BACKPRESSURE_DEFAULT && p <= WP_CALLER_RUNS;
}

static bool wp__job_ok(const wp_job *job)
{
    return job->fn && wp__policy_ok(job->backpressure) && job->timeout >= 0 && job->deadline >= 0
        && job->priority >= WP_PRIORITY_NORMAL && job->priority <= WP_PRIORITY_LOW;
}

static int wp__lane_of(wp_priority p)
{
    return p == WP_PRIORITY_HIGH ? WP__LANE_HIGH : p == WP_PRIORITY_LOW ? WP__LANE_LOW : WP__LANE_NORMAL;
}

static wp__task wp__task_of(const wp_pool *pool, const wp_job *job)
{
    wp__task t = { job->fn, job->arg, job->id, 0, 0, job->token, job->on_done };
    if (job->deadline) {
        t.deadline_ns = wp__later(wp__pool_now(pool), job->deadline);
        if (t.deadline_ns == 0) /* 0 means none: a clock at exactly zero */
            t.deadline_ns = 1;
    }
    return t;
}

static wp_backpressure wp__policy_of(const wp_pool *pool, const wp_job *job)
{
    return job->backpressure ? job->backpressure : pool->backpressure;
}

static int64_t wp__timeout_of(const wp_pool *pool, const wp_job *job)
{
    return job->timeout ? job->timeout : pool->submit_timeout;
}

/* A submission that asked for a handle: take a slot first, give it back if
   the job is refused. */
static wp_status wp__submit_handled(wp_pool *pool, const wp_job *job, wp__task *t)
{
    wp_handle h = { 0, 0 };
    *job->handle = h;
    if (atomic_load_explicit(&pool->lanes[0]->head, memory_order_acquire) & WP__CLOSED_BIT)
        return wp__refused_closed(pool); /* closed says more than "no slot" */
    if (!wp__slot_take(pool, t, &h)) {
        wp__count(&pool->rejected);
        return WP_FULL;
    }
    wp__slot *slot = wp__slot_of(t);
    wp_status s = wp__submit(pool, wp__lane_of(job->priority), t, wp__policy_of(pool, job),
                             wp__timeout_of(pool, job));
    if (s == WP_OK)
        *job->handle = h;
    else
        wp__slot_free(pool, slot, atomic_load_explicit(&slot->state, memory_order_relaxed));
    return s;
}

wp_status wp_submit_job(wp_pool *pool, const wp_job *job)
{
    if (!pool || !job || !wp__job_ok(job))
        return WP_INVALID;
    wp__task t = wp__task_of(pool, job);
    if (job->handle)
        return wp__submit_handled(pool, job, &t);
    return wp__submit(pool, wp__lane_of(job->priority), &t, wp__policy_of(pool, job),
                      wp__timeout_of(pool, job));
}

/* Jobs of one batch pushed with one claim at most. */
#define WP__BATCH_RUN 32

/* Builds the run of valid jobs for one lane that starts at jobs[0]. */
static size_t wp__batch_run(const wp_pool *pool, const wp_job *jobs, size_t count,
                            wp__task *run)
{
    int lane = wp__lane_of(jobs[0].priority);
    int64_t now = 0;
    size_t n = 0;
    while (n < count && n < WP__BATCH_RUN && wp__job_ok(&jobs[n]) && !jobs[n].handle
           && wp__lane_of(jobs[n].priority) == lane) {
        run[n] = wp__task_of(pool, &jobs[n]);
        if (wp__timed(pool, &run[n]))
            run[n].enqueued_ns = now ? now : (now = wp__now_ns());
        n++;
    }
    return n;
}

size_t wp_submit_batch(wp_pool *pool, const wp_job *jobs, size_t count, wp_status *statuses)
{
    if (!pool || (!jobs && count)) {
        for (size_t i = 0; statuses && i < count; i++)
            statuses[i] = WP_INVALID;
        return 0;
    }
    wp__task run[WP__BATCH_RUN];
    size_t accepted = 0;
    for (size_t i = 0; i < count;) {
        if (!wp__job_ok(&jobs[i]) || jobs[i].handle) { /* one by one */
            wp_status s = wp_submit_job(pool, &jobs[i]);
            if (statuses)
                statuses[i] = s;
            accepted += s == WP_OK;
            i++;
            continue;
        }
        int lane = wp__lane_of(jobs[i].priority);
        wp__use_lane(pool, lane);
        size_t n = wp__batch_run(pool, jobs + i, count - i, run);
        enum wp__push_result why;
        size_t pushed = wp__queue_push_many(pool->lanes[lane], run, n, sizeof *run, &why);
        if (pushed > 0)
            wp__ws_notify(&pool->job_ready, pushed > 1);
        for (size_t k = 0; statuses && k < pushed; k++)
            statuses[i + k] = WP_OK;
        accepted += pushed;
        i += pushed;
        if (pushed < n) { /* the next job met a full or closed lane */
            wp_status s = wp__submit_slow(pool, lane, &run[pushed], wp__policy_of(pool, &jobs[i]),
                                          wp__timeout_of(pool, &jobs[i]), why);
            if (statuses)
                statuses[i] = s;
            accepted += s == WP_OK;
            i++;
        }
    }
    return accepted;
}

/* Draws a number in [0, 2^32) from a per-thread xorshift generator. */
static uint32_t wp__random(void)
{
    static _Thread_local uint64_t state;
    if (state == 0)
        state = ((uint64_t)wp__now_ns() ^ (uint64_t)(uintptr_t)&state) | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

wp_status wp_submit_retry(wp_pool *pool, const wp_job *job, const wp_retry *retry)
{
    static const wp_retry defaults = { 0, 0, 0 };
    if (!retry)
        retry = &defaults;
    if (!pool || !job || retry->max_attempts < 0 || retry->initial_backoff < 0
        || retry->max_backoff < 0)
        return WP_INVALID;
    int attempts = retry->max_attempts ? retry->max_attempts : 8;
    int64_t backoff = retry->initial_backoff ? retry->initial_backoff : WP_US(50);
    int64_t cap = retry->max_backoff ? retry->max_backoff : WP_MS(10);
    wp_job j = *job;
    j.backpressure = WP_REJECT;
    for (int attempt = 1;; attempt++) {
        wp_status s = wp_submit_job(pool, &j);
        if (s != WP_FULL || attempt >= attempts)
            return s;
        if (backoff > cap)
            backoff = cap;
        /* Half the backoff plus a random part of the other half. */
        int64_t half = backoff / 2;
        wp__sleep_ns(half + (int64_t)((double)(backoff - half) * wp__random() / 4294967296.0));
        backoff = backoff > cap / 2 ? cap : backoff * 2;
    }
}

/* --- pausing ------------------------------------------------------------- */

static bool wp__is_closed(const wp_pool *pool)
{
    return atomic_load_explicit(&pool->lanes[0]->head, memory_order_acquire) & WP__CLOSED_BIT;
}

wp_status wp_pool_pause(wp_pool *pool)
{
    if (!pool)
        return WP_INVALID;
    if (wp__is_closed(pool))
        return WP_CLOSED;
    atomic_store_explicit(&pool->paused, 1, memory_order_release);
    return WP_OK;
}

wp_status wp_pool_resume(wp_pool *pool)
{
    if (!pool)
        return WP_INVALID;
    atomic_store_explicit(&pool->paused, 0, memory_order_release);
    wp__ws_notify(&pool->job_ready, true);
    return WP_OK;
}

/* --- shutdown ------------------------------------------------------------ */

static int wp__attempt_all_exited(void *arg)
{
    return wp__finished((wp_pool *)arg) ? WP__DONE : WP__AGAIN;
}

static void wp__start_canceling(wp_pool *pool)
{
    /* Release pairs with the acquire loads in wp__verdict and
       wp_ctx_should_stop. */
    atomic_store_explicit(&pool->canceling, 1, memory_order_release);
}

/* An inline-only pool's close: the closing thread drains (or cancels) the
   queue itself, canceling what is left once the deadline passes. Answers
   whether it had to. */
static bool wp__close_inline(wp_pool *pool, int64_t deadline)
{
    bool forced = false;
    wp__helper_enter(pool);
    while (!wp__lanes_drained(pool)) {
        if (!forced && deadline != WP_FOREVER && wp__now_ns() >= deadline
            && !atomic_load_explicit(&pool->canceling, memory_order_acquire)) {
            wp__start_canceling(pool);
            forced = true;
        }
        if (wp__help_one(pool, true))
            continue;
        if (wp__queued(pool) > 0) /* the rate limit: the next start is not due */
            wp__sleep_ns(WP_US(100));
        else /* a submitter still copying into a cell it claimed before close */
            wp__thread_yield();
    }
    wp__helper_leave(pool);
    if (atomic_exchange_explicit(&pool->inline_unit, 0, memory_order_acq_rel))
        wp__count_out(pool, 1);
    return forced;
}

wp_status wp_pool_close(wp_pool *pool, wp_close_mode mode, int64_t timeout)
{
    if (!pool || (mode != WP_DRAIN && mode != WP_CANCEL) || timeout < 0)
        return WP_INVALID;
    if (wp__on_own_thread(pool))
        return WP_WOULD_DEADLOCK;
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    if (mode == WP_CANCEL)
        wp__start_canceling(pool);
    /* A paused pool still honours the mode: its workers must run. */
    atomic_store_explicit(&pool->paused, 0, memory_order_release);
    for (int i = 0; i < WP__LANES; i++)
        wp__queue_close(pool->lanes[i]);
    /* Wake parked workers to drain and blocked submitters to give up. */
    wp__ws_notify(&pool->job_ready, true);
    for (int i = 0; i < WP__LANES; i++)
        wp__ws_notify(&pool->job_room[i], true);
    bool forced = pool->inline_only && wp__close_inline(pool, deadline);
    if (wp__ws_await(&pool->exited, deadline, wp__attempt_all_exited, pool, NULL) == WP__DONE)
        return forced ? WP_FORCED : WP_OK;
    wp__start_canceling(pool);
    return WP_FORCED;
}

/* --- create and destroy -------------------------------------------------- */

static wp__waitset *wp__waitset_at(wp_pool *pool, int i)
{
    wp__waitset *all[WP__WAITSETS] = { &pool->job_ready, &pool->result_ready, &pool->result_room,
                                       &pool->exited, &pool->idle, &pool->job_done,
                                       &pool->job_room[0],
                                       &pool->job_room[1], &pool->job_room[2] };
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
    if (out->max_workers == 0 && !out->inline_only) {
        int cpus = wp__online_cpus();
        out->max_workers = out->min_workers > cpus ? out->min_workers : cpus;
    }
    if (out->inline_only) {
        if (out->min_workers != 0 || out->max_workers != 0)
            return WP_INVALID;
    } else if (out->min_workers == 0) {
        out->min_workers = out->max_workers;
    }
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
    /* NaN fails the first test; a rate below one job in 30 years is absurd. */
    if (!(out->rate_limit >= 0) || (out->rate_limit > 0 && out->rate_limit < 1e-9))
        return WP_INVALID;
    if (out->rate_burst == 0)
        out->rate_burst = 1;
    if (out->max_handles == 0)
        out->max_handles = 256;
    if (out->max_handles > ((size_t)1 << 24))
        return WP_INVALID;
    if (out->take_run > WP_TAKE_RUN_MAX)
        return WP_INVALID;
    if (out->take_run == 0)
        out->take_run = 1;
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
    c.take_run = 8;
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
    size_t workers, handles, lanes[WP__LANES], results, total;
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
    l->handles = at;
    if (cfg->max_handles > SIZE_MAX / sizeof(wp__slot)
        || !wp__add(&at, wp__align_up(cfg->max_handles * sizeof(wp__slot), cl)))
        return false;
    for (int i = 0; i < WP__LANES; i++) {
        l->lanes[i] = at;
        if (!wp__add(&at, jobs) || !wp__add(&at, cl))
            return false;
        at &= ~(cl - 1);
    }
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
    pool->handles = (wp__slot *)(void *)(base + l->handles);
    pool->handle_count = (uint32_t)cfg->max_handles;
    for (uint32_t i = 0; i < pool->handle_count; i++) {
        wp__slot *slot = &pool->handles[i];
        atomic_init(&slot->token.canceled, 0);
        slot->token.state = &slot->state;
        atomic_init(&slot->state, UINT64_C(1) << 32 | WP__H_FREE);
        atomic_init(&slot->next, i + 1 < pool->handle_count ? i + 2 : 0);
    }
    atomic_init(&pool->handle_free, pool->handle_count ? 1 : 0);
    wp_status s = WP_OK;
    for (int i = 0; i < WP__LANES; i++) {
        size_t end = i + 1 < WP__LANES ? l->lanes[i + 1] : l->results;
        s = wp_queue_init(base + l->lanes[i], end - l->lanes[i], cfg->queue_capacity,
                          sizeof(wp__task), &pool->lanes[i]);
        WP_ASSERT(s == WP_OK);
    }
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
    pool->inline_only = cfg->inline_only;
    pool->take_run = cfg->take_run;
    if (cfg->rate_limit > 0) {
        double interval = 1e9 / cfg->rate_limit;
        pool->rate_interval = interval < 1 ? 1 : (int64_t)interval;
        double tolerance = (double)pool->rate_interval * (double)(cfg->rate_burst - 1);
        pool->rate_tolerance = tolerance > 1e18 ? INT64_C(1000000000000000000) : (int64_t)tolerance;
    }
    atomic_init(&pool->rate_due, INT64_MIN / 2);
    atomic_init(&pool->paused, 0);
    atomic_init(&pool->lanes_used, 0);
    atomic_init(&pool->room_timed, 0);
    /* A quarter of a lane (all lanes have the same capacity, a power of 2;
       see wp__notify_room, which needs room_every <= capacity). */
    size_t room_every = (pool->lanes[0]->mask + 1) / 4;
    pool->room_mask = room_every > 1 ? room_every - 1 : 0;
    atomic_init(&pool->helpers, 0);
    atomic_init(&pool->inline_unit, cfg->inline_only);
    atomic_init(&pool->suspends, 0);
    atomic_init(&pool->resumes, 0);
    atomic_init(&pool->evicted, 0);
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
    for (int i = -1; i < pool->slots; i++) {
        wp__worker *w = i < 0 ? &pool->external : &pool->workers[i];
        atomic_init(&w->state, WP__SLOT_FREE);
        atomic_init(&w->completed, 0);
        atomic_init(&w->failed, 0);
        atomic_init(&w->canceled, 0);
        atomic_init(&w->expired, 0);
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
    if (wp__observe_start(pool, &cfg) != 0) { /* observability */
        wp__release(pool, WP__SYNC_STEPS);
        return WP_THREAD_FAILED;
    }

    /* The first min workers, all counted in before any starts. */
    int n = cfg.min_workers;
    atomic_store(&pool->live, cfg.inline_only ? 1 : n);
    for (int i = 0; i < n; i++) {
        wp__worker *w = &pool->workers[i];
        atomic_store(&w->state, WP__SLOT_RUNNING);
        if (wp__start_thread(w) != 0) {
            /* Count out the workers that never started, stop the rest. */
            atomic_store(&w->state, WP__SLOT_FREE);
            atomic_fetch_sub(&pool->live, n - i); /* all started workers */
            wp_pool_close(pool, WP_CANCEL, WP_FOREVER);
            wp__join_workers(pool);
            wp__observe_stop(pool); /* observability */
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

wp_status wp_pool_scale(wp_pool *pool, int delta)
{
    if (!pool || pool->inline_only)
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
    if (!pool || pool->inline_only || min_workers < 1 || min_workers > max_workers
        || max_workers > pool->slots)
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
    if (wp__on_own_thread(pool))
        return WP_WOULD_DEADLOCK;
    /* No result can be received any more: let workers discard theirs. */
    atomic_store_explicit(&pool->destroying, 1, memory_order_release);
    wp__ws_notify(&pool->result_room, true);
    wp_pool_close(pool, WP_DRAIN, WP_FOREVER);
    wp__join_workers(pool);
    wp__observe_stop(pool); /* observability */
    wp__release(pool, WP__SYNC_STEPS);
    return WP_OK;
}

/* --- stats --------------------------------------------------------------- */

static uint64_t wp__read(const atomic_uint_least64_t *counter)
{
    return wp__load(counter, memory_order_relaxed);
}

static void wp__add_outcomes(wp_stats *out, const wp__worker *w, uint64_t *inline_runs)
{
    out->completed += wp__read(&w->completed);
    out->failed += wp__read(&w->failed);
    out->canceled += wp__read(&w->canceled);
    out->expired += wp__read(&w->expired);
    *inline_runs += wp__read(&w->ran_inline);
}

wp_status wp_pool_stats(wp_pool *pool, wp_stats *out)
{
    if (!pool || !out)
        return WP_INVALID;
    memset(out, 0, sizeof *out);
    uint64_t inline_runs = 0;
    wp__add_outcomes(out, &pool->external, &inline_runs);
    for (int i = 0; i < pool->slots; i++) {
        const wp__worker *w = &pool->workers[i];
        wp__add_outcomes(out, w, &inline_runs);
        out->active += atomic_load_explicit((atomic_int *)&w->busy, memory_order_relaxed);
    }
    out->evicted = wp__read(&pool->evicted);
    out->workers = wp__started(wp__live(pool))
        - atomic_load_explicit(&pool->inline_unit, memory_order_relaxed);
    if (out->active > out->workers)
        out->active = out->workers;
    out->idle = out->workers - out->active;
    out->queue_depth = wp__queued(pool);
    out->queue_capacity = wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]);
    out->submitted = inline_runs;
    for (int i = 0; i < WP__LANES; i++)
        out->submitted += wp__queue_accepted(pool->lanes[i]);
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
    wp__observe_stats(pool, out); /* observability */
    return WP_OK;
}

/* --- observability ------------------------------------------------------- */

/* Everything here is opt-in per pool. The job path calls wp__observe_begin /
   wp__observe_end and the submit path wp__observe_submit; each tests one
   read-only word (pool->observe, on its own cache line) and returns when no
   histogram, task hook or watchdog is configured, so an unobserved pool pays
   a predictable branch per job. Latency is timed only when asked for:
   the clock reads per job cost about as much as an empty job itself. */


enum {
    WP__OBS_TIME  = 1, /* read the clock at submit, start and end */
    WP__OBS_HIST  = 2, /* latency histograms and the exact high-water mark */
    WP__OBS_HOOKS = 4, /* on_task_start / on_task_end */
    WP__OBS_STALL = 8  /* publish the running job for the watchdog */
};

static const int64_t wp__latency_bounds[WP_LATENCY_BUCKETS - 1] = {
    100, 200, 500,
    1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
    1000000, 2000000, 5000000, 10000000, 20000000, 50000000, 100000000, 200000000, 500000000,
    INT64_C(1000000000), INT64_C(2000000000), INT64_C(5000000000),
    INT64_C(10000000000), INT64_C(20000000000), INT64_C(50000000000)
};

int64_t wp_latency_bound(int i)
{
    return i >= 0 && i < WP_LATENCY_BUCKETS - 1 ? wp__latency_bounds[i] : WP_FOREVER;
}

/* The clock of every latency figure: the pool's clock, except that with a
   result channel the enqueue time is the system clock's (wp__submit reads
   it for the result's queued_ns), so then both ends use that one. */
static int64_t wp__obs_now(const wp_pool *pool)
{
    return pool->clock && !pool->results ? pool->clock(pool->clock_user) : wp__now_ns();
}

static void wp__obs_record(atomic_uint_least64_t *hist, atomic_int_least64_t *sum,
                           atomic_int_least64_t *max, int64_t d)
{
    if (d < 0)
        d = 0; /* a user clock that went backwards */
    int i = 0;
    while (i < WP_LATENCY_BUCKETS - 1 && d > wp__latency_bounds[i])
        i++;
    /* Single writer (this worker): plain load + store, as wp__tally. */
    atomic_store_explicit(&hist[i], atomic_load_explicit(&hist[i], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(sum, atomic_load_explicit(sum, memory_order_relaxed) + d,
                          memory_order_relaxed);
    if (d > atomic_load_explicit(max, memory_order_relaxed))
        atomic_store_explicit(max, d, memory_order_relaxed);
}

static void wp__obs_raise_high_water(wp_pool *pool, size_t depth)
{
    size_t hw = atomic_load_explicit(&pool->obs_high_water, memory_order_relaxed);
    while (depth > hw && !atomic_compare_exchange_weak_explicit(&pool->obs_high_water, &hw, depth,
                                                                memory_order_relaxed,
                                                                memory_order_relaxed))
        ;
}

/* Before the push: stamps the enqueue time and raises the high-water mark
   to the depth this job will make. */
static WP__NOINLINE void wp__observe_submit_slow(wp_pool *pool, wp__task *t)
{
    if (!pool->results)
        t->enqueued_ns = wp__obs_now(pool);
    if (pool->observe & WP__OBS_HIST) {
        size_t depth = wp__queued(pool) + 1;
        size_t cap = wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]);
        if (atomic_load_explicit(&pool->lanes_used, memory_order_relaxed))
            cap *= WP__LANES; /* jobs of every priority */
        wp__obs_raise_high_water(pool, depth < cap ? depth : cap);
    }
}

static inline void wp__observe_submit(wp_pool *pool, wp__task *t)
{
    if (pool->observe)
        wp__observe_submit_slow(pool, t);
}

/* A submission found the queue full: the high-water mark is the capacity
   (noticed on this slow path even when nothing else is observed). */
static void wp__observe_full(wp_pool *pool)
{
    wp__obs_raise_high_water(pool, wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]));
}

static WP__NOINLINE int64_t wp__observe_begin_slow(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    int64_t now = wp__obs_now(pool);
    if (pool->observe & WP__OBS_HIST)
        wp__obs_record(w->obs_wait, &w->obs_wait_sum, &w->obs_wait_max, now - t->enqueued_ns);
    if (pool->observe & WP__OBS_STALL) {
        /* Publish id and start, then make the sequence odd ("running");
           release pairs with the watchdog's acquire of obs_seq. A nested
           job (run inline inside another) takes the slot over; once it
           ends, the outer job is no longer watched. */
        uint64_t seq = atomic_load_explicit(&w->obs_seq, memory_order_relaxed);
        atomic_store_explicit(&w->obs_job_id, t->id, memory_order_relaxed);
        atomic_store_explicit(&w->obs_job_start, now, memory_order_relaxed);
        atomic_store_explicit(&w->obs_seq, (seq + 2) | 1, memory_order_release);
    }
    if (pool->obs_task_start)
        pool->obs_task_start(w->index, t->id, t->arg, pool->hook_user);
    return now;
}

/* Just before the job runs; answers its start time (0 when untimed). */
static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    if (!pool->observe)
        return 0;
    return wp__observe_begin_slow(pool, w, t);
}

static WP__NOINLINE void wp__observe_end_slow(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                 int64_t start)
{
    if (pool->observe) {
        int64_t run = wp__obs_now(pool) - start;
        if (pool->observe & WP__OBS_STALL) {
            uint64_t seq = atomic_load_explicit(&w->obs_seq, memory_order_relaxed);
            atomic_store_explicit(&w->obs_seq, (seq + 1) & ~(uint64_t)1, memory_order_release);
        }
        if (pool->observe & WP__OBS_HIST)
            wp__obs_record(w->obs_run, &w->obs_run_sum, &w->obs_run_max, run);
        if (pool->obs_task_end)
            pool->obs_task_end(w->index, t->id, t->arg, code, start - t->enqueued_ns, run,
                               pool->hook_user);
    }
    if (code != 0) {
        /* Per worker, like the counters: failures never meet on a shared
           line. The time goes last (release pairs with the acquire in
           wp__observe_stats), so a reader sees this failure's code and id
           unless a later failure of this same worker is being written. */
        atomic_store_explicit(&w->obs_error_code, code, memory_order_relaxed);
        atomic_store_explicit(&w->obs_error_job, t->id, memory_order_relaxed);
        atomic_store_explicit(&w->obs_error_at, wp__pool_now(pool) - pool->created_ns,
                              memory_order_release);
        if (pool->obs_on_error)
            pool->obs_on_error(w->index, t->id, t->arg, code, pool->hook_user);
    }
}

/* Just after the job returned `code`; `start` is what begin answered. */
static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start)
{
    if (pool->observe || code != 0)
        wp__observe_end_slow(pool, w, t, code, start);
}

/* The stall watchdog: one thread, only when on_stall is set. It wakes every
   threshold/4 (1 ms to 100 ms) and reports each job once. */
static void wp__watchdog_scan(wp_pool *pool)
{
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        /* Acquire pairs with the release in wp__observe_begin_slow: an odd
           sequence shows that job's id and start. Reading the sequence again
           afterwards (after acquire loads, so it cannot move before them)
           drops a job that ended meanwhile. Not a full seqlock: in the few
           instructions between one job's end and the next one's start, the
           id may already be the next job's; a report stays rare and
           approximate by nature, and the worker pays no fence for it. */
        uint64_t seq = atomic_load_explicit(&w->obs_seq, memory_order_acquire);
        if (!(seq & 1) || seq == w->obs_reported)
            continue;
        uint64_t id = atomic_load_explicit(&w->obs_job_id, memory_order_acquire);
        int64_t start = atomic_load_explicit(&w->obs_job_start, memory_order_acquire);
        if (atomic_load_explicit(&w->obs_seq, memory_order_relaxed) != seq)
            continue;
        int64_t running = wp__obs_now(pool) - start;
        if (running > pool->obs_stall_threshold) {
            w->obs_reported = seq;
            pool->obs_on_stall(w->index, id, running, pool->hook_user);
        }
    }
}

static wp__thread_ret wp__watchdog_main(void *arg)
{
    wp_pool *pool = (wp_pool *)arg;
    int64_t period = pool->obs_stall_threshold / 4;
    if (period < WP_MS(1))
        period = WP_MS(1);
    if (period > WP_MS(100))
        period = WP_MS(100);
    wp__mutex_lock(&pool->obs_mu);
    while (!pool->obs_stop) {
        wp__cond_wait_until(&pool->obs_cv, &pool->obs_mu, wp__deadline(period));
        if (pool->obs_stop)
            break;
        wp__mutex_unlock(&pool->obs_mu);
        wp__watchdog_scan(pool);
        wp__mutex_lock(&pool->obs_mu);
    }
    wp__mutex_unlock(&pool->obs_mu);
    return WP__THREAD_RETURN;
}

/* Called by wp_pool_create before any worker starts: copies the config,
   sets up the lock and starts the watchdog if one is asked for. Nonzero on
   failure, with nothing left to undo. */
static int wp__observe_start(wp_pool *pool, const wp_config *cfg)
{
    pool->obs_task_start = cfg->on_task_start;
    pool->obs_task_end = cfg->on_task_end;
    pool->obs_on_error = cfg->on_error;
    pool->obs_on_stall = cfg->on_stall;
    pool->obs_stall_threshold = cfg->stall_threshold > 0 ? cfg->stall_threshold : WP_SEC(1);
    unsigned obs = 0;
    if (cfg->measure_latency)
        obs |= WP__OBS_TIME | WP__OBS_HIST;
    if (cfg->on_task_start || cfg->on_task_end)
        obs |= WP__OBS_TIME | WP__OBS_HOOKS;
    if (cfg->on_stall)
        obs |= WP__OBS_TIME | WP__OBS_STALL;
    pool->observe = obs;
    atomic_init(&pool->obs_high_water, 0);
    pool->obs_stop = 0;
    pool->obs_watchdog = false;
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        for (int b = 0; b < WP_LATENCY_BUCKETS; b++) {
            atomic_init(&w->obs_wait[b], 0);
            atomic_init(&w->obs_run[b], 0);
        }
        atomic_init(&w->obs_wait_sum, 0);
        atomic_init(&w->obs_run_sum, 0);
        atomic_init(&w->obs_wait_max, 0);
        atomic_init(&w->obs_run_max, 0);
        atomic_init(&w->obs_job_start, 0);
        atomic_init(&w->obs_job_id, 0);
        atomic_init(&w->obs_seq, 0);
        atomic_init(&w->obs_error_code, 0);
        atomic_init(&w->obs_error_job, 0);
        atomic_init(&w->obs_error_at, -1);
        w->obs_reported = 0;
    }
    if (wp__mutex_init(&pool->obs_mu) != 0)
        return -1;
    if (wp__cond_init(&pool->obs_cv) != 0) {
        wp__mutex_destroy(&pool->obs_mu);
        return -1;
    }
    if (pool->obs_on_stall) {
        if (wp__thread_start(&pool->obs_thread, wp__watchdog_main, pool) != 0) {
            wp__cond_destroy(&pool->obs_cv);
            wp__mutex_destroy(&pool->obs_mu);
            return -1;
        }
        pool->obs_watchdog = true;
    }
    return 0;
}

/* Stops and joins the watchdog and undoes wp__observe_start. */
static void wp__observe_stop(wp_pool *pool)
{
    if (pool->obs_watchdog) {
        wp__mutex_lock(&pool->obs_mu);
        pool->obs_stop = 1;
        wp__cond_signal(&pool->obs_cv);
        wp__mutex_unlock(&pool->obs_mu);
        wp__thread_join(pool->obs_thread);
        pool->obs_watchdog = false;
    }
    wp__cond_destroy(&pool->obs_cv);
    wp__mutex_destroy(&pool->obs_mu);
}

/* The upper bound of the bucket holding the q-th (per mille) duration. */
static int64_t wp__obs_percentile(const wp_latency *l, int per_mille)
{
    if (l->count == 0)
        return 0;
    /* rank = ceil(count * q), at least 1 */
    uint64_t rank = (l->count * (uint64_t)per_mille + 999) / 1000;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++) {
        seen += l->buckets[i];
        if (seen >= rank)
            return wp_latency_bound(i) < l->max_ns ? wp_latency_bound(i) : l->max_ns;
    }
    return l->max_ns;
}

static void wp__obs_summarise(wp_latency *l)
{
    l->count = 0;
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++)
        l->count += l->buckets[i];
    l->mean_ns = l->count ? l->sum_ns / (int64_t)l->count : 0;
    l->p50_ns = wp__obs_percentile(l, 500);
    l->p90_ns = wp__obs_percentile(l, 900);
    l->p99_ns = wp__obs_percentile(l, 990);
}

/* The observability part of wp_pool_stats: sums the per-worker histograms. */
static void wp__observe_stats(wp_pool *pool, wp_stats *out)
{
    memcpy(out->name, pool->name, sizeof out->name);
    out->name[sizeof out->name - 1] = '\0';
    out->queue_high_water = atomic_load_explicit(&pool->obs_high_water, memory_order_relaxed);
    if (out->queue_high_water < out->queue_depth)
        out->queue_high_water = out->queue_depth;
    out->last_error_code = 0;
    out->last_error_worker = -1;
    out->last_error_job_id = 0;
    out->last_error_ns = -1;
    memset(&out->queue_wait, 0, sizeof out->queue_wait);
    memset(&out->run_time, 0, sizeof out->run_time);
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        for (int b = 0; b < WP_LATENCY_BUCKETS; b++) {
            out->queue_wait.buckets[b] += wp__read(&w->obs_wait[b]);
            out->run_time.buckets[b] += wp__read(&w->obs_run[b]);
        }
        out->queue_wait.sum_ns += atomic_load_explicit(&w->obs_wait_sum, memory_order_relaxed);
        out->run_time.sum_ns += atomic_load_explicit(&w->obs_run_sum, memory_order_relaxed);
        int64_t m = atomic_load_explicit(&w->obs_wait_max, memory_order_relaxed);
        if (m > out->queue_wait.max_ns)
            out->queue_wait.max_ns = m;
        m = atomic_load_explicit(&w->obs_run_max, memory_order_relaxed);
        if (m > out->run_time.max_ns)
            out->run_time.max_ns = m;
        /* The latest failure of any worker (ties: the lower index). */
        int64_t at = atomic_load_explicit(&w->obs_error_at, memory_order_acquire);
        if (at > out->last_error_ns) {
            out->last_error_ns = at;
            out->last_error_code = atomic_load_explicit(&w->obs_error_code, memory_order_relaxed);
            out->last_error_job_id = wp__read(&w->obs_error_job);
            out->last_error_worker = w->index;
        }
    }
    wp__obs_summarise(&out->queue_wait);
    wp__obs_summarise(&out->run_time);
}

/* --- formatters ---------------------------------------------------------- */

/* An snprintf-like writer: counts everything, stores what fits. */
typedef struct wp__out {
    char *buf;
    size_t cap;
    size_t len;
} wp__out;

#if (defined(__GNUC__) || defined(__clang__)) && !defined(__MINGW32__)
__attribute__((format(printf, 2, 3)))
#endif
static void wp__put(wp__out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void wp__putc(wp__out *o, char c)
{
    if (o->len + 1 < o->cap) {
        o->buf[o->len] = c;
        o->buf[o->len + 1] = '\0';
    }
    o->len++;
}

/* `s` as the inside of a JSON string (json) or of a Prometheus label value. */
static void wp__put_escaped(wp__out *o, const char *s, bool json)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            wp__putc(o, '\\');
            wp__putc(o, (char)c);
        } else if (c == '\n') {
            wp__put(o, "\\n");
        } else if (json && c < 0x20) {
            wp__put(o, "\\u%04x", (unsigned)c);
        } else {
            wp__putc(o, (char)c);
        }
    }
}

static int wp__out_begin(wp__out *o, const wp_stats *s, char *buf, size_t cap)
{
    if (!s || (!buf && cap > 0))
        return -1;
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    if (cap > 0)
        buf[0] = '\0';
    return 0;
}

static int wp__out_end(const wp__out *o)
{
    return o->len > (size_t)INT_MAX ? INT_MAX : (int)o->len;
}

/* ns as exact decimal seconds, without trailing zeros ("0.0001", "12"). */
static void wp__put_seconds(wp__out *o, int64_t ns)
{
    char frac[16];
    const char *sign = ns < 0 ? "-" : "";
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    snprintf(frac, sizeof frac, "%09llu", (unsigned long long)(a % 1000000000u));
    int end = 9;
    while (end > 0 && frac[end - 1] == '0')
        end--;
    frac[end] = '\0';
    wp__put(o, "%s%llu%s%s", sign, (unsigned long long)(a / 1000000000u), end ? "." : "", frac);
}

/* A duration for people: 850 ns, 12.3 us, 4.56 ms, 1.20 s. */
static void wp__put_duration(wp__out *o, int64_t ns)
{
    if (ns < 1000)
        wp__put(o, "%lld ns", (long long)ns);
    else if (ns < 1000000)
        wp__put(o, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        wp__put(o, "%.2f ms", (double)ns / 1e6);
    else
        wp__put(o, "%.2f s", (double)ns / 1e9);
}

static void wp__table_latency(wp__out *o, const char *what, const wp_latency *l)
{
    wp__put(o, "%-12s%10llu", what, (unsigned long long)l->count);
    const int64_t v[5] = { l->mean_ns, l->p50_ns, l->p90_ns, l->p99_ns, l->max_ns };
    for (int i = 0; i < 5; i++) {
        char cell[32];
        wp__out c = { cell, sizeof cell, 0 };
        wp__put_duration(&c, v[i]);
        wp__put(o, " %10s", cell);
    }
    wp__putc(o, '\n');
}

int wp_stats_format_table(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    wp__put(&o, "pool \"");
    wp__put_escaped(&o, s->name, true);
    wp__put(&o, "\", up %.3f s\n", (double)s->uptime_ns / 1e9);
    wp__put(&o, "workers     %d (active %d, idle %d, peak %d, min %d, max %d)\n", s->workers,
            s->active, s->idle, s->peak_workers, s->min_workers, s->max_workers);
    wp__put(&o, "queue       %llu queued of %llu, high water %llu; results pending %llu\n",
            (unsigned long long)s->queue_depth, (unsigned long long)s->queue_capacity,
            (unsigned long long)s->queue_high_water, (unsigned long long)s->results_pending);
    wp__put(&o, "jobs        submitted %llu = completed %llu + failed %llu + canceled %llu"
                " + expired %llu + evicted %llu\n",
            (unsigned long long)s->submitted, (unsigned long long)s->completed,
            (unsigned long long)s->failed, (unsigned long long)s->canceled,
            (unsigned long long)s->expired, (unsigned long long)s->evicted);
    wp__put(&o, "refused     rejected %llu, dropped %llu, timed out %llu, closed %llu\n",
            (unsigned long long)s->rejected, (unsigned long long)s->dropped,
            (unsigned long long)s->timed_out, (unsigned long long)s->refused_closed);
    wp__put(&o, "scaling     up %llu, down %llu, spawn failures %llu", (unsigned long long)s->scale_ups,
            (unsigned long long)s->scale_downs, (unsigned long long)s->spawn_failures);
    if (s->last_scale_up_ns >= 0)
        wp__put(&o, "; last up at %.3f s", (double)s->last_scale_up_ns / 1e9);
    if (s->last_scale_down_ns >= 0)
        wp__put(&o, "; last down at %.3f s", (double)s->last_scale_down_ns / 1e9);
    wp__putc(&o, '\n');
    if (s->last_error_ns >= 0)
        wp__put(&o, "last error  code %d from job %llu on worker %d at %.3f s\n", s->last_error_code,
                (unsigned long long)s->last_error_job_id, s->last_error_worker,
                (double)s->last_error_ns / 1e9);
    else
        wp__put(&o, "last error  none\n");
    wp__put(&o, "%-12s%10s %10s %10s %10s %10s %10s\n", "latency", "jobs", "mean", "p50", "p90",
            "p99", "max");
    wp__table_latency(&o, "queue wait", &s->queue_wait);
    wp__table_latency(&o, "run time", &s->run_time);
    return wp__out_end(&o);
}

static void wp__json_latency(wp__out *o, const char *key, const wp_latency *l)
{
    wp__put(o, "\"%s\":{\"count\":%llu,\"sum_ns\":%lld,\"mean_ns\":%lld,\"p50_ns\":%lld,"
               "\"p90_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld,\"buckets\":[",
            key, (unsigned long long)l->count, (long long)l->sum_ns, (long long)l->mean_ns,
            (long long)l->p50_ns, (long long)l->p90_ns, (long long)l->p99_ns, (long long)l->max_ns);
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++) {
        if (i < WP_LATENCY_BUCKETS - 1)
            wp__put(o, "{\"le_ns\":%lld,", (long long)wp__latency_bounds[i]);
        else
            wp__put(o, "{\"le_ns\":null,");
        wp__put(o, "\"count\":%llu}%s", (unsigned long long)l->buckets[i],
                i < WP_LATENCY_BUCKETS - 1 ? "," : "");
    }
    wp__put(o, "]}");
}

int wp_stats_format_json(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    wp__put(&o, "{\"name\":\"");
    wp__put_escaped(&o, s->name, true);
    wp__put(&o, "\",\"uptime_ns\":%lld,", (long long)s->uptime_ns);
    wp__put(&o, "\"workers\":{\"total\":%d,\"active\":%d,\"idle\":%d,\"peak\":%d,\"min\":%d,\"max\":%d},",
            s->workers, s->active, s->idle, s->peak_workers, s->min_workers, s->max_workers);
    wp__put(&o, "\"queue\":{\"depth\":%llu,\"capacity\":%llu,\"high_water\":%llu},",
            (unsigned long long)s->queue_depth, (unsigned long long)s->queue_capacity,
            (unsigned long long)s->queue_high_water);
    wp__put(&o, "\"jobs\":{\"submitted\":%llu,\"completed\":%llu,\"failed\":%llu,\"canceled\":%llu,"
                "\"expired\":%llu,\"evicted\":%llu,"
                "\"rejected\":%llu,\"dropped\":%llu,\"timed_out\":%llu,\"refused_closed\":%llu,"
                "\"results_pending\":%llu},",
            (unsigned long long)s->submitted, (unsigned long long)s->completed,
            (unsigned long long)s->failed, (unsigned long long)s->canceled,
            (unsigned long long)s->expired, (unsigned long long)s->evicted,
            (unsigned long long)s->rejected, (unsigned long long)s->dropped,
            (unsigned long long)s->timed_out, (unsigned long long)s->refused_closed,
            (unsigned long long)s->results_pending);
    wp__put(&o, "\"scaling\":{\"ups\":%llu,\"downs\":%llu,\"spawn_failures\":%llu,"
                "\"last_up_ns\":%lld,\"last_down_ns\":%lld},",
            (unsigned long long)s->scale_ups, (unsigned long long)s->scale_downs,
            (unsigned long long)s->spawn_failures, (long long)s->last_scale_up_ns,
            (long long)s->last_scale_down_ns);
    if (s->last_error_ns >= 0)
        wp__put(&o, "\"last_error\":{\"code\":%d,\"worker\":%d,\"job_id\":%llu,\"at_ns\":%lld},",
                s->last_error_code, s->last_error_worker, (unsigned long long)s->last_error_job_id,
                (long long)s->last_error_ns);
    else
        wp__put(&o, "\"last_error\":null,");
    wp__put(&o, "\"latency\":{");
    wp__json_latency(&o, "queue_wait", &s->queue_wait);
    wp__putc(&o, ',');
    wp__json_latency(&o, "run_time", &s->run_time);
    wp__put(&o, "}}\n");
    return wp__out_end(&o);
}

/* One sample line: name{pool="..."[,extra]} value */
static void wp__prom_head(wp__out *o, const char *metric, const char *type, const char *help)
{
    wp__put(o, "# HELP workerpool_%s %s\n# TYPE workerpool_%s %s\n", metric, help, metric, type);
}

static void wp__prom_labels(wp__out *o, const char *metric, const wp_stats *s)
{
    wp__put(o, "workerpool_%s{pool=\"", metric);
    wp__put_escaped(o, s->name, false);
    wp__putc(o, '"');
}

static void wp__prom_int(wp__out *o, const wp_stats *s, const char *metric, const char *type,
                         const char *help, long long value)
{
    wp__prom_head(o, metric, type, help);
    wp__prom_labels(o, metric, s);
    wp__put(o, "} %lld\n", value);
}

static void wp__prom_seconds(wp__out *o, const wp_stats *s, const char *metric, const char *help,
                             int64_t ns)
{
    wp__prom_head(o, metric, "gauge", help);
    wp__prom_labels(o, metric, s);
    wp__put(o, "} ");
    wp__put_seconds(o, ns);
    wp__putc(o, '\n');
}

static void wp__prom_histogram(wp__out *o, const wp_stats *s, const char *metric, const char *help,
                               const wp_latency *l)
{
    wp__prom_head(o, metric, "histogram", help);
    uint64_t cumulative = 0;
    char bucket[64];
    snprintf(bucket, sizeof bucket, "%s_bucket", metric);
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++) {
        cumulative += l->buckets[i];
        wp__prom_labels(o, bucket, s);
        wp__put(o, ",le=\"");
        if (i < WP_LATENCY_BUCKETS - 1)
            wp__put_seconds(o, wp__latency_bounds[i]);
        else
            wp__put(o, "+Inf");
        wp__put(o, "\"} %llu\n", (unsigned long long)cumulative);
    }
    snprintf(bucket, sizeof bucket, "%s_sum", metric);
    wp__prom_labels(o, bucket, s);
    wp__put(o, "} ");
    wp__put_seconds(o, l->sum_ns);
    wp__putc(o, '\n');
    snprintf(bucket, sizeof bucket, "%s_count", metric);
    wp__prom_labels(o, bucket, s);
    wp__put(o, "} %llu\n", (unsigned long long)cumulative);
}

int wp_stats_format_prometheus(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    wp__prom_int(&o, s, "workers", "gauge", "Worker threads alive.", s->workers);
    wp__prom_int(&o, s, "workers_active", "gauge", "Workers running a job.", s->active);
    wp__prom_int(&o, s, "workers_idle", "gauge", "Workers waiting for a job.", s->idle);
    wp__prom_int(&o, s, "workers_peak", "gauge", "Most workers alive at once.", s->peak_workers);
    wp__prom_int(&o, s, "workers_min", "gauge", "Lower worker bound.", s->min_workers);
    wp__prom_int(&o, s, "workers_max", "gauge", "Upper worker bound.", s->max_workers);
    wp__prom_int(&o, s, "queue_depth", "gauge", "Jobs queued now.", (long long)s->queue_depth);
    wp__prom_int(&o, s, "queue_capacity", "gauge", "Queue bound.", (long long)s->queue_capacity);
    wp__prom_int(&o, s, "queue_high_water", "gauge", "Most jobs queued at once.",
                 (long long)s->queue_high_water);
    wp__prom_int(&o, s, "results_pending", "gauge", "Results waiting to be received.",
                 (long long)s->results_pending);
    wp__prom_int(&o, s, "jobs_submitted_total", "counter", "Jobs accepted.", (long long)s->submitted);
    wp__prom_int(&o, s, "jobs_completed_total", "counter", "Jobs that ran and returned 0.",
                 (long long)s->completed);
    wp__prom_int(&o, s, "jobs_failed_total", "counter", "Jobs that ran and returned nonzero.",
                 (long long)s->failed);
    wp__prom_int(&o, s, "jobs_canceled_total", "counter", "Accepted jobs canceled before they ran.",
                 (long long)s->canceled);
    wp__prom_int(&o, s, "jobs_expired_total", "counter",
                 "Accepted jobs whose deadline passed before they started.", (long long)s->expired);
    wp__prom_int(&o, s, "jobs_evicted_total", "counter",
                 "Accepted jobs evicted from a full queue by WP_DROP_OLDEST.", (long long)s->evicted);
    wp__prom_int(&o, s, "submissions_rejected_total", "counter", "Submissions refused: queue full.",
                 (long long)s->rejected);
    wp__prom_int(&o, s, "submissions_dropped_total", "counter", "Submissions dropped: queue full.",
                 (long long)s->dropped);
    wp__prom_int(&o, s, "submissions_timed_out_total", "counter",
                 "Submissions that timed out waiting for room.", (long long)s->timed_out);
    wp__prom_int(&o, s, "submissions_closed_total", "counter",
                 "Submissions refused: pool closed.", (long long)s->refused_closed);
    wp__prom_int(&o, s, "scale_ups_total", "counter", "Workers added after create.",
                 (long long)s->scale_ups);
    wp__prom_int(&o, s, "scale_downs_total", "counter", "Workers retired.", (long long)s->scale_downs);
    wp__prom_int(&o, s, "spawn_failures_total", "counter", "Threads the platform refused to start.",
                 (long long)s->spawn_failures);
    wp__prom_seconds(&o, s, "last_scale_up_seconds",
                     "When the last scale-up happened, since create (-1: never).",
                     s->last_scale_up_ns >= 0 ? s->last_scale_up_ns : -WP_SEC(1));
    wp__prom_seconds(&o, s, "last_scale_down_seconds",
                     "When the last scale-down happened, since create (-1: never).",
                     s->last_scale_down_ns >= 0 ? s->last_scale_down_ns : -WP_SEC(1));
    wp__prom_seconds(&o, s, "uptime_seconds", "Time since the pool was created.", s->uptime_ns);
    wp__prom_int(&o, s, "last_error_code", "gauge", "Code of the last failed job (0: none).",
                 s->last_error_code);
    wp__prom_seconds(&o, s, "last_error_seconds",
                     "When the last job failed, since create (-1: never).",
                     s->last_error_ns >= 0 ? s->last_error_ns : -WP_SEC(1));
    wp__prom_histogram(&o, s, "queue_wait_seconds", "Time jobs waited in the queue.", &s->queue_wait);
    wp__prom_histogram(&o, s, "run_seconds", "Time jobs ran.", &s->run_time);
    return wp__out_end(&o);
}

#ifdef WORKERPOOL_TESTING
WP_API wp_queue *wp__pool_queue(wp_pool *pool);
WP_API wp_queue *wp__pool_queue(wp_pool *pool) { return pool->lanes[WP__LANE_NORMAL]; }
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
