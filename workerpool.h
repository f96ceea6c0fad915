/* workerpool.h - v0.3.0 - a worker pool with backpressure, in one C11 header.

   A bounded lock-free job queue, a set of worker threads, an explicit overload
   policy, a result channel and a shutdown that loses nothing. No dependency
   beyond the C standard library and the platform's threads.

   CONTENTS (search for a heading)

     this block    HOW TO USE, EXAMPLE, API AT A GLANCE
     declarations  Status codes, Durations, wp_queue, Jobs, Configuration,
                   The pool, Statistics, Observability, Fork-join
     notes         CONFIGURATION MACROS, C++ AND COMPILERS, TIMEOUTS,
                   THREAD SAFETY, GUARANTEES (after the declarations)
     IMPLEMENTATION   the code, with a map of its sections

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

   API AT A GLANCE (each is documented where it is declared below)

     pool       wp_pool_create(config, &pool)     wp_pool_destroy(pool)
                wp_pool_close(pool, mode, timeout) wp_pool_pause / wp_pool_resume
                wp_pool_wait_idle(pool, timeout)  wp_pool_help(pool, budget)
                wp_pool_scale(pool, delta)        wp_pool_resize(pool, min, max)
     submit     wp_submit(pool, fn, arg)          wp_submit_job(pool, &job)
                wp_submit_batch(pool, jobs, n, statuses)
                wp_submit_retry(pool, &job, &retry)
                wp_submit_call(pool, void_fn, arg)   (a plain void fn(void *))
     results    wp_result_recv(pool, &result, timeout)
     handles    wp_job_wait / wp_job_cancel / wp_job_query / wp_job_release
     in a job   wp_ctx_id  wp_ctx_worker  wp_ctx_should_stop  wp_ctx_expired
                wp_ctx_set_value
     tokens     wp_token_create / wp_token_cancel / wp_token_is_canceled /
                wp_token_destroy
     stats      wp_pool_stats(pool, &stats)       wp_latency_bound(i)
                wp_pool_queue_depth / wp_pool_active / wp_pool_workers(pool)
                wp_stats_format_table / _json / _prometheus(&stats, buf, cap)
     config     wp_config_default()  wp_config_high_throughput()
                wp_config_low_resource()
     fork-join  wp_group_init / _wait / _cancel / _query / _then (wp_job.group)
                wp_submit_range(pool, &range, fn, arg, n, grain, &job)
                wp_parallel_for(pool, fn, arg, n, grain)
                wp_pool_help_pinned(pool, budget)           (wp_job.pinned)
     queue      wp_queue_create / _init / _footprint / _destroy
                wp_queue_try_push / _try_pop / _size / _capacity
     status     wp_status_str(status)

   CHANGES: CHANGELOG.md beside this file. Versioning follows semver; 0.x
   may still change the API.
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
#define WORKERPOOL_VERSION_MINOR 3
#define WORKERPOOL_VERSION_PATCH 0
#define WORKERPOOL_VERSION "0.3.0"

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
    X(WP_WOULD_DEADLOCK,-11, "refused: it would wait for itself or nest too deep") \
    X(WP_THREAD_FAILED, -12, "the platform refused to start a thread")            \
    X(WP_EVICTED,       -13, "evicted from a full queue by a newer job")          \
    X(WP_STALLED,       -14, "stalled: the result channel is full, nobody receives")

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
   carries a sequence number; head and tail live on separate cache lines). It
   holds exactly the capacity asked for (at least 2); the memory it takes is
   for the next power of two. It is the pool's job queue, and usable on its
   own. Opaque: create it with wp_queue_create, or in
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

/* wp_queue_capacity: the queue's capacity, as asked for (at least 2).
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
                  (its deadline passed before it started) or WP_EVICTED
                  (evicted from a full queue by WP_DROP_OLDEST).
     queued_ns    time between acceptance and the start of the run (or the
                  outcome, for a job that never ran); measured only when the
                  pool has a result channel, the job a callback or a handle,
                  or the pool observes timings (wp_config.observe.latency,
                  hooks.task_start/task_end/stall); 0 otherwise.
     run_ns       time the job ran (0 if it did not run).
                  Both are on the pool's clock (wp_config.clock), the same
                  readings as the latency histograms and the hooks.
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
   8 x (p + 1) job starts of any one thread (normal) or 16 x (p + 1) (low).
   The high and low lanes are allocated (through wp_config.allocator) when
   the first job of their priority is submitted, so a pool that uses no
   priorities holds one lane; if that allocation fails, the submission is
   refused with WP_NOMEM (counted as rejected) and the next one tries again. */
typedef enum wp_priority {
    WP_PRIORITY_NORMAL = 0,
    WP_PRIORITY_HIGH,
    WP_PRIORITY_LOW
} wp_priority;

/* wp_backpressure: what a submission does when its queue lane is full.
   WP_BACKPRESSURE_DEFAULT (zero) means "the pool's policy" in a job and WP_BLOCK
   in a config.
     WP_BLOCK        wait for room, without bound (WP_CLOSED if the pool closes),
                     unless the job has a submit_timeout (then as WP_TIMEOUT).
                     On a lane of 4 cells or more a blocked submitter is
                     woken when a quarter of the lane has drained, so that
                     it pushes a run of jobs per wake-up. One exception
                     keeps the quick start's pattern (submit everything,
                     then receive) from hanging in silence: when the result
                     channel is full, every worker waits to deliver into it
                     and no thread has received or waited in
                     wp_result_recv for WP_STALL_NS (1 s), the submission is
                     refused with WP_STALLED (counted as rejected). Receive
                     while you submit (examples/streaming.c), or size the
                     channel for the whole load.
     WP_DROP         discard the new job: WP_DROPPED, counted as dropped.
     WP_REJECT       refuse it at once: WP_FULL, counted as rejected.
     WP_TIMEOUT      wait for room up to the submit timeout, then
                     WP_TIMED_OUT, counted as timed out.
     WP_DROP_OLDEST  evict the oldest job of the lane (it yields WP_EVICTED
                     through its callback and the result channel, counted as
                     evicted) and accept the new one: WP_OK.
     WP_CALLER_RUNS  run the new job on the submitting thread, now: WP_OK
                     once it has run (its outcome is delivered as usual).
   A job submitted from inside one of the pool's own jobs does not wait for
   room: under WP_BLOCK or WP_TIMEOUT a full queue makes that thread run the
   new job itself at once, so nested submission cannot deadlock the pool,
   even when every worker does it. Once the thread's stack holds
   WP_NEST_MAX jobs (16) the submission is refused with WP_WOULD_DEADLOCK
   (counted as rejected), so a job that always submits another cannot
   overflow the stack. In an inline-only pool (no workers) a submitter that
   meets a full queue under WP_BLOCK or WP_TIMEOUT runs the oldest queued
   job to make room (while the result channel, if any, has room for its
   result; a WP_TIMEOUT submitter waits for a receiver no longer than its
   timeout). */
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
     submit_timeout  how long this submission may wait for room in a full
                   queue: 0 = the pool's; given with WP_BLOCK it bounds the
                   wait (WP_BLOCK then acts as WP_TIMEOUT). The other
                   policies never wait. Not the job's own time limit: that
                   is `deadline`.
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
                   rejected), whatever the policy.
     group         NULL = none; else the wp_group the job joins when it is
                   accepted (see Fork-join below). The job then obeys the
                   group's cancel and the group's token: `token` must be
                   NULL or that same token (else WP_INVALID).
     pinned        false = any thread; true = only wp_pool_help_pinned (or
                   the close) runs it, on the thread that calls it: work a
                   game must do on its main thread (see Fork-join below).
                   A pinned job takes no handle (WP_INVALID); a group can
                   wait for it instead. */
typedef struct wp_group wp_group;
typedef struct wp_job {
    wp_job_fn fn;
    void *arg;
    uint64_t id;
    wp_backpressure backpressure;
    int64_t submit_timeout;
    wp_priority priority;
    int64_t deadline;
    wp_token *token;
    wp_done_fn on_done;
    wp_handle *handle;
    wp_group *group;
    bool pinned;
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

/* wp_clock_fn: a monotonic clock in nanoseconds, for wp_config.clock. */
typedef int64_t (*wp_clock_fn)(void *user);

/* wp_event_kind: which hook an event is for (see wp_hooks). */
typedef enum wp_event_kind {
    WP_EVENT_THREAD_START = 1,
    WP_EVENT_THREAD_STOP,
    WP_EVENT_TASK_START,
    WP_EVENT_TASK_END,
    WP_EVENT_ERROR,
    WP_EVENT_STALL
} wp_event_kind;

/* wp_event: what a hook is told. A field that does not apply to the kind
   is 0 (arg NULL). Times are on the pool's clock (wp_config.clock), the
   same readings as wp_result and the latency histograms.
     kind      always.
     worker    always: the index (0 .. workers-1) of the worker the event
               is about; -1 for a job another thread runs (wp_pool_help,
               a waiting thread that helps, WP_CALLER_RUNS, an inline-only
               pool): task and error hooks and the histograms see every
               job that runs; the stall watchdog watches workers only.
     job_id    TASK_START, TASK_END, ERROR, STALL: the job's id.
     arg       TASK_START, TASK_END, ERROR: the job's arg (STALL: NULL; the
               watchdog knows only the id).
     code      TASK_END, ERROR: what the job returned (ERROR: never 0).
     wait_ns   TASK_START, TASK_END: time from acceptance to the start.
     run_ns    TASK_END: time the job ran; STALL: time it has run so far.
   The event lives only for the call: copy what you keep. */
typedef struct wp_event {
    wp_event_kind kind;
    int worker;
    uint64_t job_id;
    void *arg;
    int code;
    int64_t wait_ns;
    int64_t run_ns;
} wp_event;

/* wp_hook_fn: the one type of every hook; `user` is wp_hooks.user. */
typedef void (*wp_hook_fn)(const wp_event *event, void *user);

/* wp_scaling: auto-scaling, on when min_workers < max_workers. The pool
   starts min_workers workers and adds one when it sees more than
   up_threshold jobs queued (at most one per up_cooldown). It looks when a
   worker finishes a job and when a submitter finds the queue full, never on
   the submit fast path; so while every worker is in a long job, it grows
   once the queue fills. A worker idle for idle_timeout exits while more
   than min_workers are alive (at most one per down_cooldown). The times
   are on the pool's clock. min_workers > max_workers, or a negative value,
   is WP_INVALID. wp_pool_scale and wp_pool_resize work on every pool. */
typedef struct wp_scaling {
    int min_workers;       /* 0 = max_workers (a fixed set) */
    size_t up_threshold;   /* 0 = 4 (at most queue_capacity - 1) */
    int64_t up_cooldown;   /* 0 = 10 ms */
    int64_t idle_timeout;  /* 0 = 10 s */
    int64_t down_cooldown; /* 0 = 1 s */
} wp_scaling;

/* wp_rate: the most jobs per second the pool starts: a token bucket on the
   pool's clock, applied when a job is taken from the queue (by workers and
   wp_pool_help alike; jobs canceled at close skip it). `burst` jobs may
   start at once after a quiet spell (the bucket's size). A limit that is
   negative, NaN, or below one job in 30 years is WP_INVALID. */
typedef struct wp_rate {
    double limit; /* 0 = no limit */
    size_t burst; /* 0 = 1 */
} wp_rate;

/* wp_observe: what the pool measures (see the Observability section).
   latency: time every job (three clock reads: submit, start, end) into the
   queue-wait and run-time histograms of wp_stats, and track the queue's
   high-water mark on every submission; off, no clock is read per job.
   stall_threshold: how long a job runs before hooks.stall reports it
   (negative is WP_INVALID); only read when hooks.stall is set. Built with
   WP_NO_OBSERVABILITY, a config that sets either field is WP_INVALID. */
typedef struct wp_observe {
    bool latency;            /* false = off */
    int64_t stall_threshold; /* 0 = 1 s */
} wp_observe;

/* wp_hooks: callbacks at points of a worker's life, all of type wp_hook_fn,
   each given `user`. Each runs on the thread named below and should be
   short: the worker (or the watchdog) waits for it.
     thread_start  on a new worker thread, before its first job (name it,
                   pin it, set up thread-local state); thread_stop on it
                   after its last. With auto-scaling they run for every
                   thread the pool starts or retires.
     task_start, task_end
                   on the thread that runs a job (a worker, or another
                   thread with worker -1), just before and just after it
                   (not for canceled or expired jobs). Setting either
                   turns job timing on (wait_ns, run_ns).
     error         on that thread after every job that returned nonzero.
     stall         set = the pool starts one watchdog thread that reports
                   each job running longer than observe.stall_threshold
                   once, checking every threshold/4 (1 ms to 100 ms of
                   system time). WP_INVALID in an inline_only pool, which
                   starts no thread (and has no worker to watch).
   Built with WP_NO_OBSERVABILITY, a config that sets task_start, task_end,
   error or stall is WP_INVALID; the thread hooks stay. */
typedef struct wp_hooks {
    wp_hook_fn thread_start; /* NULL = none */
    wp_hook_fn thread_stop;  /* NULL = none */
    wp_hook_fn task_start;   /* NULL = none */
    wp_hook_fn task_end;     /* NULL = none */
    wp_hook_fn error;        /* NULL = none */
    wp_hook_fn stall;        /* NULL = no watchdog thread */
    void *user;              /* passed to every hook */
} wp_hooks;

/* wp_config: how to build a pool. Zero-initialise it and set what you need
   (designated initialisers nest: `.scaling.min_workers = 1`); every zero
   field takes the default written beside it. NULL config = all defaults.
   wp_config_default() and friends return documented presets.
     max_workers      also the most wp_pool_resize can raise it to later.
     queue_capacity   the exact bound before backpressure applies; memory is
                      reserved for the next power of two.
     submit_timeout   the bound of WP_TIMEOUT, for jobs that use that policy
                      without a submit_timeout of their own.
     result_capacity  when the channel is full, workers wait for a receiver:
                      receive while jobs run (a thread that both submits and
                      receives keeps at most this many jobs outstanding:
                      examples/streaming.c), or size it for the whole load.
     inline_only      no worker threads at all (max_workers and
                      scaling.min_workers must be 0): jobs run only when a
                      thread calls wp_pool_help, wp_pool_wait_idle or
                      wp_pool_close, or under WP_CALLER_RUNS. Deterministic,
                      for tests, replays and builds without threads.
     max_handles      each slot costs about 100 bytes.
     clock, clock_user
                      the pool's clock. Every time the pool keeps runs on it:
                      scaling decisions, deadlines, the rate limit, the stats
                      times, and every timing of a job (its enqueue, start
                      and end; wp_result.queued_ns and run_ns; the latency
                      histograms; the hooks' wait_ns and run_ns; the stall
                      watchdog), so any two of them can be compared. Only the
                      timeouts of calls that wait (submit, recv, close,
                      wait_idle, help's budget, job_wait) use the system's
                      monotonic clock. Lets tests drive idle timeouts and
                      cooldowns without sleeping (surplus workers then
                      re-read it every millisecond while idle).
     stack_size       rounded up to what the platform accepts. The pthreads
                      and Win32 backends honour it; C11's thrd_create cannot
                      size a stack, so with WP_THREADS_C11 a nonzero
                      stack_size is WP_INVALID (choose WP_THREADS_PTHREAD
                      where stack size matters).
     pinned_capacity  without a pinned queue, a job with `pinned` set is
                      WP_INVALID (see Fork-join).
   Capacities are at most 2^30; a value out of the range written beside a
   field is WP_INVALID. */
typedef struct wp_config {
    const char *name;               /* 0 = "workerpool"; for stats, thread names */
    int max_workers;                /* 0 = online CPUs; at most 1024 */
    size_t queue_capacity;          /* 0 = 1024; 2 at the least */
    wp_backpressure backpressure;   /* 0 = WP_BLOCK; the policy when the queue is full */
    int64_t submit_timeout;         /* 0 = 1 s */
    size_t result_capacity;         /* 0 = no result channel; else 2 at the least */
    wp_allocator allocator;         /* 0 = WP_MALLOC / WP_FREE; both functions or neither */
    bool inline_only;               /* false = worker threads */
    size_t max_handles;             /* 0 = 256; at most 2^24 */
    wp_clock_fn clock;              /* 0 = the system's monotonic clock */
    void *clock_user;               /* passed to clock */
    size_t stack_size;              /* 0 = the platform's default */
    size_t pinned_capacity;         /* 0 = no pinned queue */
    wp_scaling scaling;             /* auto-scaling; 0 = off */
    wp_rate rate;                   /* rate limit; 0 = none */
    wp_observe observe;             /* measurements; 0 = none */
    wp_hooks hooks;                 /* callbacks; 0 = none */
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
   into a full queue WP_NEST_MAX levels deep, see wp_backpressure),
   WP_STALLED (WP_BLOCK on a pool stalled on its result channel, see
   wp_backpressure) or WP_INVALID (NULL pool or fn).
   Thread safety: any thread, including the pool's own jobs. */
WP_API wp_status wp_submit(wp_pool *pool, wp_job_fn fn, void *arg);

/* wp_submit_call: like wp_submit, for a plain `void fn(void *arg)` (the
   shape other job systems take), with no wrapper to allocate: the pool
   keeps fn beside arg. The job's outcome is WP_OK once fn has run (it
   returns no code); it still gets WP_CANCELED at a cancel, and its id is
   0 in results, hooks and stats. An adapter from another job-system
   interface is one line: `wp_submit_call(pool, fn, arg)`.
   Thread safety: any thread, including the pool's own jobs. */
WP_API wp_status wp_submit_call(wp_pool *pool, void (*fn)(void *arg), void *arg);

/* wp_submit_job: like wp_submit, with the id, policy and timeout of `job`
   (a NULL job or job->fn is WP_INVALID; so is an unknown policy or a
   negative timeout). The first job of the high or low priority may also
   get WP_NOMEM (see wp_priority).
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
   with wp_submit_job; an invalid job gets WP_INVALID (a job whose
   priority lane cannot be made, WP_NOMEM) and the others still go. A NULL pool, or NULL jobs with count > 0, accepts nothing (and every
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
   In an inline-only pool, whose jobs run only on threads that call in,
   a receiver that finds no result runs queued jobs (one at a time, until
   one delivers) before it waits.
   Thread safety: any number of threads at once. */
WP_API wp_status wp_result_recv(wp_pool *pool, wp_result *out, int64_t timeout);

/* wp_pool_close: stops accepting jobs (submissions then return WP_CLOSED) and
   waits up to `timeout` for the workers to finish according to `mode`. If the
   timeout passes first, the close turns into WP_CANCEL (still-queued jobs get
   WP_CANCELED, running jobs see wp_ctx_should_stop) and it returns WP_FORCED
   without waiting longer; the workers finish in the background and
   wp_pool_destroy waits for them. Otherwise returns WP_OK (workers retired
   earlier by auto-scaling may still be finishing their thread_stop hook;
   wp_pool_destroy joins them). So WP_DRAIN with
   WP_NOWAIT cancels whatever has not finished. Every outcome, canceled ones
   included, goes through the result channel: with a full channel and nobody
   receiving, a close waits for a receiver (use a timeout). An inline-only
   pool's close runs the jobs itself; outcomes that have no room in a full
   channel when the timeout passes stay queued (WP_FORCED), and
   wp_result_recv produces them for its caller. Calling it again is
   harmless (a later WP_CANCEL still cancels what is queued). To run every
   job and lose no result: receive until wp_result_recv answers WP_CLOSED
   while (or after) one thread closes with WP_DRAIN and WP_FOREVER.
   Returns WP_WOULD_DEADLOCK from inside one of the pool's jobs (or from a
   callback of its jobs, evicted ones included) and WP_INVALID
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
   job queued behind it on a busy pool waits for a free worker). */
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
   running finish): once it returns, no worker starts a job, not even one
   it had already taken from the queue (it holds that one until resume, and
   judges it again then: canceled? expired?). Submissions still queue under
   their policy, and wp_pool_help (like any wait that helps) still runs jobs
   on its caller. wp_pool_close resumes a paused
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
   deadlock. A thread runs jobs this way only while its stack holds fewer
   than WP_NEST_MAX jobs (16); deeper, it only waits, so a waiting thread's
   stack never grows with the queue (a recursive fork-join that waits for
   the whole pool at every level may then run into its timeout: use it
   with a timeout, or wait for a group). Jobs run by the calling thread
   deliver their results like any other: with a full result channel it
   waits for a receiver.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_pool_wait_idle(wp_pool *pool, int64_t timeout);

/* wp_pool_help: runs queued jobs on the calling thread (highest priority
   first, honouring the rate limit) until no job is queued or `budget` (a
   duration; WP_FOREVER = no limit) is spent, checked before each job; never
   waits for jobs to arrive. Returns how many jobs it took (run, or ended as
   canceled or expired); 0 for a NULL pool. A game's main thread can help
   within its frame budget; an inline-only pool runs jobs only this way.
   Jobs run here report worker -1 (the worker's index when the caller is
   one of the pool's workers, inside a job). It runs nothing once the
   caller's stack holds WP_NEST_MAX jobs (see wp_pool_wait_idle). It takes
   no job while the result channel is full, but a job it runs delivers its
   result like any other, so the thread that receives results should not
   help when the channel may fill (in an inline-only pool it never waits
   for room: it takes a job only when its result has a free cell).
   Thread safety: any thread, also from inside jobs. */
WP_API size_t wp_pool_help(wp_pool *pool, int64_t budget);

/* wp_pool_scale: adds `delta` workers (delta > 0) or retires -delta workers
   (delta < 0) now, ignoring the cooldowns and clamped to the current
   [min, max] bounds. New threads start before it returns; retiring ones are
   idle workers first, then running ones as soon as their job ends (so the
   count reaches its target shortly after the call). Returns WP_OK (also when
   clamping left nothing to do), WP_THREAD_FAILED if a thread could not be
   started (the pool keeps the workers it has; also if a retiring worker's
   thread_stop hook holds the only free slot for long), WP_CLOSED after
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
   unless wp_config.observe.latency is set. Durations are on the pool's
   clock (see wp_config.clock); one that reads negative (a clock that went
   back) counts as 0.
     count, mean_ns, max_ns   exact.
     sum_ns                   exact; it stops at INT64_MAX (292 years of
                              summed time) instead of wrapping, and mean_ns
                              is then a lower bound.
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

/* WP_STATS_FIELDS(X): every field of wp_stats, in order, one X per field:
       X(kind, field, json_group, json_key, table_row, table_before,
         table_after, prometheus_name, help)
   The one list behind the wp_stats struct, wp_pool_stats (which fills each
   field with its own reader, in this order) and the three formatters: a new
   field is a line here plus the place that measures it. Your code may
   expand it too (say, to export the stats elsewhere). `kind` gives the
   field's C type and how each formatter writes it:
     NAME     char[64]    JSON string; the Prometheus label `pool`
     INT      int         a gauge
     SIZE     size_t      a gauge
     COUNT    uint64_t    a counter (Prometheus name ends in _total)
     ID       uint64_t    an identifier (not a counter)
     NS       int64_t     a duration in ns (Prometheus and table: seconds)
     WHEN     int64_t     ns since the pool was created, -1 = never
                          (Prometheus: seconds or -1; the table leaves a
                          -1 out)
     RATIO    double      a fraction from 0 to 1 (the table: a percentage)
     LATENCY  wp_latency  a histogram
   JSON: json_group "" is the top level; a group's fields are adjacent; the
   group "last_error" is null while last_error_ns is -1. Table: fields with
   the same table_row heading share a row (the LATENCY row is a block of
   rows), in list order, rows in the order of their first field; each value
   is written between table_before and table_after. Prometheus: metric
   workerpool_<prometheus_name> with `help`; an empty name leaves the field
   out of that format. */
#define WP_STATS_FIELDS(X)                                                                 \
    X(NAME, name, "", "name", "pool ", "\"", "\"", "", "The pool's name.")                 \
    X(NS, uptime_ns, "", "uptime_ns", "pool ", ", up ", "", "uptime_seconds",              \
      "Time since the pool was created.")                                                  \
    X(INT, workers, "workers", "total", "workers     ", "", "", "workers",                 \
      "Worker threads alive.")                                                             \
    X(INT, active, "workers", "active", "workers     ", " (active ", "", "workers_active", \
      "Workers running a job.")                                                            \
    X(INT, idle, "workers", "idle", "workers     ", ", idle ", "", "workers_idle",         \
      "Workers waiting for a job.")                                                        \
    X(INT, peak_workers, "workers", "peak", "workers     ", ", peak ", "", "workers_peak", \
      "Most workers alive at once.")                                                       \
    X(INT, min_workers, "workers", "min", "workers     ", ", min ", "", "workers_min",     \
      "Lower worker bound.")                                                               \
    X(INT, max_workers, "workers", "max", "workers     ", ", max ", ")", "workers_max",    \
      "Upper worker bound.")                                                               \
    X(RATIO, utilization, "workers", "utilization", "load        ", "utilization ", "",    \
      "utilization_ratio", "Workers running a job, as a fraction of workers alive.")       \
    X(SIZE, queue_depth, "queue", "depth", "queue       ", "", " queued", "queue_depth",   \
      "Jobs queued now.")                                                                  \
    X(SIZE, queue_capacity, "queue", "capacity", "queue       ", " of ", "",               \
      "queue_capacity", "Most jobs the lanes in use can hold.")                            \
    X(SIZE, queue_high_water, "queue", "high_water", "queue       ", ", high water ", "",  \
      "queue_high_water", "Most jobs queued at once.")                                     \
    X(COUNT, submitted, "jobs", "submitted", "jobs        ", "submitted ", "",             \
      "jobs_submitted_total", "Jobs accepted.")                                            \
    X(COUNT, completed, "jobs", "completed", "jobs        ", " = completed ", "",          \
      "jobs_completed_total", "Jobs that ran and returned 0.")                             \
    X(COUNT, failed, "jobs", "failed", "jobs        ", " + failed ", "",                   \
      "jobs_failed_total", "Jobs that ran and returned nonzero.")                          \
    X(COUNT, canceled, "jobs", "canceled", "jobs        ", " + canceled ", "",             \
      "jobs_canceled_total", "Accepted jobs canceled before they ran.")                    \
    X(COUNT, expired, "jobs", "expired", "jobs        ", " + expired ", "",                \
      "jobs_expired_total", "Accepted jobs whose deadline passed before they started.")    \
    X(COUNT, evicted, "jobs", "evicted", "jobs        ", " + evicted ", "",                \
      "jobs_evicted_total", "Accepted jobs evicted from a full queue by WP_DROP_OLDEST.")  \
    X(COUNT, processed, "jobs", "processed", "load        ", ", processed ", "",           \
      "jobs_processed_total", "Accepted jobs that have their outcome.")                    \
    X(COUNT, rejected, "jobs", "rejected", "refused     ", "rejected ", "",                \
      "submissions_rejected_total", "Submissions refused: queue full.")                    \
    X(COUNT, dropped, "jobs", "dropped", "refused     ", ", dropped ", "",                 \
      "submissions_dropped_total", "Submissions dropped: queue full.")                     \
    X(COUNT, timed_out, "jobs", "timed_out", "refused     ", ", timed out ", "",           \
      "submissions_timed_out_total", "Submissions that timed out waiting for room.")       \
    X(COUNT, refused_closed, "jobs", "refused_closed", "refused     ", ", closed ", "",     \
      "submissions_closed_total", "Submissions refused: pool closed.")                     \
    X(SIZE, results_pending, "jobs", "results_pending", "queue       ",                    \
      "; results pending ", "", "results_pending", "Results waiting to be received.")      \
    X(COUNT, scale_ups, "scaling", "ups", "scaling     ", "up ", "", "scale_ups_total",    \
      "Workers added after create.")                                                       \
    X(COUNT, scale_downs, "scaling", "downs", "scaling     ", ", down ", "",               \
      "scale_downs_total", "Workers retired.")                                             \
    X(COUNT, spawn_failures, "scaling", "spawn_failures", "scaling     ",                  \
      ", spawn failures ", "", "spawn_failures_total",                                     \
      "Threads the platform refused to start.")                                            \
    X(WHEN, last_scale_up_ns, "scaling", "last_up_ns", "scaling     ", "; last up at ", "",\
      "last_scale_up_seconds", "When the last scale-up happened, since create (-1: never).") \
    X(WHEN, last_scale_down_ns, "scaling", "last_down_ns", "scaling     ",                 \
      "; last down at ", "", "last_scale_down_seconds",                                    \
      "When the last scale-down happened, since create (-1: never).")                      \
    X(INT, last_error_code, "last_error", "code", "last error  ", "code ", "",             \
      "last_error_code", "Code of the last failed job (0: none).")                         \
    X(INT, last_error_worker, "last_error", "worker", "last error  ", " on worker ", "",   \
      "", "Worker of the last failed job (-1: none).")                                     \
    X(ID, last_error_job_id, "last_error", "job_id", "last error  ", " from job ", "", "", \
      "Id of the last failed job.")                                                        \
    X(WHEN, last_error_ns, "last_error", "at_ns", "last error  ", " at ", "",              \
      "last_error_seconds", "When the last job failed, since create (-1: never).")         \
    X(LATENCY, queue_wait, "latency", "queue_wait", "latency", "queue wait", "",           \
      "queue_wait_seconds", "Time jobs waited in the queue.")                              \
    X(LATENCY, run_time, "latency", "run_time", "latency", "run time", "", "run_seconds",  \
      "Time jobs ran.")

/* The C type of each kind (wp_stats' members). */
#define WP__STATS_C_NAME(f)    char f[64];
#define WP__STATS_C_INT(f)     int f;
#define WP__STATS_C_SIZE(f)    size_t f;
#define WP__STATS_C_COUNT(f)   uint64_t f;
#define WP__STATS_C_ID(f)      uint64_t f;
#define WP__STATS_C_NS(f)      int64_t f;
#define WP__STATS_C_WHEN(f)    int64_t f;
#define WP__STATS_C_RATIO(f)   double f;
#define WP__STATS_C_LATENCY(f) wp_latency f;
#define WP__STATS_MEMBER(kind, field, ...) WP__STATS_C_##kind(field)

/* wp_stats: a snapshot of a pool's counters (its members are
   WP_STATS_FIELDS, in that order). Each field is read without stopping the
   pool, so a snapshot taken while jobs run is approximate (but submitted >=
   processed always, and the counters never go back from one snapshot to
   the next); one taken at quiescence (after a wp_pool_close that returned
   WP_OK, or once every result of every accepted job is received) is exact
   and satisfies
       submitted == processed == completed + failed + canceled + expired + evicted.
   Every counter is 64-bit on every target.
     name                    the pool's name (wp_config.name).
     uptime_ns               ns since the pool was created (pool's clock).
     workers, active, idle   worker threads alive; running a job; waiting.
     peak_workers            most workers alive at once so far.
     min_workers, max_workers  the current bounds.
     utilization             active / workers at the moment of the
                             snapshot (0 with no worker). A sample, not a
                             time average: timing every job would cost two
                             clock reads per job; a scraper averages the
                             samples over time (Prometheus: avg_over_time).
     queue_depth             jobs queued now in the lanes in use (accepted
                             and not yet taken by any thread).
     queue_capacity          the most jobs those lanes hold at once: the
                             lane bound (wp_config.queue_capacity, rounded)
                             times the lanes in use: the normal lane, and
                             the high or low lane once a job of its priority
                             has been submitted (the lane is made then, and
                             kept for the rest of the pool's life). So
                             depth <= capacity, and a pool without
                             priorities shows the bound set.
     queue_high_water        most jobs queued at once (over the same lanes):
                             exact when observe.latency is on; otherwise
                             only a full lane is noticed (then at least
                             one lane's bound), and any snapshot's depth.
     submitted               jobs accepted (WP_CALLER_RUNS and nested
                             jobs run in place included).
     completed, failed       jobs that ran and returned 0 / nonzero.
     canceled                accepted jobs that never ran: WP_CANCEL
                             close, or a canceled token.
     expired                 accepted jobs whose deadline passed first.
     evicted                 accepted jobs evicted by WP_DROP_OLDEST.
     processed               accepted jobs that have their outcome: the sum
                             of the five above (submitted - processed are
                             queued or running).
     rejected, dropped, timed_out, refused_closed
                             submissions refused with WP_FULL (and the rare
                             WP_WOULD_DEADLOCK of a too-deep nested
                             submission, WP_STALLED, and WP_NOMEM for a
                             priority lane that could not be made),
                             WP_DROPPED,
                             WP_TIMED_OUT, WP_CLOSED.
     results_pending         results waiting in the result channel.
     scale_ups, scale_downs  workers added and retired after create
                             (automatic and manual).
     spawn_failures          threads the platform refused to start.
     last_scale_up_ns, last_scale_down_ns
                             when the last of each happened, in ns since the
                             pool was created (on the pool's clock); -1 if
                             never.
     last_error_code, last_error_worker, last_error_job_id, last_error_ns
                             the last job that returned nonzero on a worker:
                             its code, worker, id and when (ns since create,
                             pool's clock). Kept per worker; the latest wins.
                             No failure yet: time and worker -1, code and id 0.
     queue_wait, run_time    latency of the jobs that ran on a worker (see
                             wp_latency).
   Built with WP_NO_OBSERVABILITY, queue_high_water is only the snapshot's
   depth, and the last error and the latencies read as never measured. */
typedef struct wp_stats {
    WP_STATS_FIELDS(WP__STATS_MEMBER)
} wp_stats;

/* wp_pool_stats: fills `*out` with a snapshot of the pool's counters.
   Returns WP_OK or WP_INVALID for NULL arguments.
   Thread safety: any thread, at any time, also from inside jobs. */
WP_API wp_status wp_pool_stats(wp_pool *pool, wp_stats *out);

/* wp_pool_queue_depth, wp_pool_active, wp_pool_workers: one figure of
   wp_stats without filling a snapshot: queue_depth (reads two words per
   priority lane), active (one word per worker slot) and workers (one word).
   0 for a NULL pool. Each is a relaxed read of a moving figure, as in a
   snapshot.
   Thread safety: any thread, at any time, also from inside jobs; they take
   no lock and never wait. */
WP_API size_t wp_pool_queue_depth(wp_pool *pool);
WP_API int wp_pool_active(wp_pool *pool);
WP_API int wp_pool_workers(wp_pool *pool);

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
   _count), into `buf` of `cap` bytes; every field of WP_STATS_FIELDS, as
   that list says. Like snprintf: writes at most cap - 1 characters and a
   terminating NUL (nothing when cap is 0, buf may then be NULL), allocates
   nothing, and returns the length the whole text needs (not counting the
   NUL): the output is complete when the result is less than cap. Returns
   -1 for a NULL stats, or a NULL buf with cap > 0.
   Thread safety: any thread; `buf` must be the caller's alone. */
WP_API int wp_stats_format_table(const wp_stats *stats, char *buf, size_t cap);
WP_API int wp_stats_format_json(const wp_stats *stats, char *buf, size_t cap);
WP_API int wp_stats_format_prometheus(const wp_stats *stats, char *buf, size_t cap);

/* ---------------------------------------------------------------------------
   Fork-join: groups, range jobs (parallel-for), continuations, pinned jobs

   A module on top of the core: a pool that uses none of it pays nothing on
   its job path. How it relates to tokens and handles: a group is a
   cancellation scope, like a token, that also counts its members' outcomes
   and can be waited for, like a handle, for any number of jobs and without
   a slot of the pool. A job may carry a group and a handle at once (the
   handle names the one job, the group the set); its token, if any, must
   be the group's (wp_group_init), so one job obeys one chain: handle
   cancel, then group cancel, then token cancel.

   Helping never grows the stack without bound. A thread that waits through
   the pool (wp_group_wait, wp_parallel_for, a range waiting for its shares)
   runs queued jobs meanwhile, each one level deeper on its stack, up to
   WP_NEST_MAX levels; there it parks instead. A group member submitted by a
   thread already WP_NEST_MAX levels deep runs at once on that thread (up to
   4 x WP_NEST_MAX levels, after which it is queued), so a recursive
   fork-join (each level submits its halves into a group and waits for it)
   uses the stack of its own recursion, not of the queue's length: 2^20
   leaves complete on a 128 KiB stack.
   ------------------------------------------------------------------------- */

#if defined(__cplusplus)
#  define WP__ALIGN8 alignas(8)
#else
#  define WP__ALIGN8 _Alignas(8)
#endif

/* wp_group: a set of jobs to wait for, cancel and count as one. Caller-owned
   memory, no heap: a zeroed wp_group (`wp_group g = {0};`, or static) is
   ready, with no token; wp_group_init sets one up with a token. Jobs join it
   at submission (wp_job.group); any number of jobs, of one pool at a time
   (the pool wp_group_wait helps). It must outlive its members and its
   continuation; it may be reused once it has no member pending (counts
   then go on adding up: wp_group_init starts them from zero).
   The group is complete while no member is pending and no continuation is
   being submitted; a group that never had a member is complete. */
struct wp_group {
    WP__ALIGN8 unsigned char wp__opaque[256];
};

/* wp_group_counts: what wp_group_query reports.
     pending        members accepted that have no outcome yet, and
                    continuations armed elsewhere to join it (see
                    wp_group_then).
     completed, failed, canceled, expired, evicted
                    members' outcomes so far (see wp_result.status).
     first_error    the code the first member that failed returned (0 if
                    none failed yet).
     then_status    the status with which the last continuation was
                    submitted (WP_OK before any). */
typedef struct wp_group_counts {
    uint64_t pending;
    uint64_t completed;
    uint64_t failed;
    uint64_t canceled;
    uint64_t expired;
    uint64_t evicted;
    int first_error;
    wp_status then_status;
} wp_group_counts;

/* wp_group_init: makes `group` empty, not canceled, with counts at zero,
   under `token` (NULL = none): canceling the token cancels the group's
   members as wp_group_cancel does. Needed only for a token, or to reset a
   group for reuse.
   Thread safety: no member of the group may be pending, and no other thread
   may use the group during the call. */
WP_API void wp_group_init(wp_group *group, wp_token *token);

/* wp_group_wait: waits up to `timeout` (WP_NOWAIT, WP_FOREVER or a duration)
   for `group` to be complete. Meanwhile the calling thread runs queued jobs
   of `pool` (any of them, in the pool's order, up to WP_NEST_MAX levels deep
   on its stack), and parks when there is none to run. In a pool with workers
   and a result channel only the pool's own workers help this way: another
   thread may be the receiver, and a job it ran could wait for room. The timeout is checked before each job it runs, so
   a long job it runs may carry it past. Returns WP_OK (complete: every
   member's outcome is counted, its callback has run and its writes are
   visible to the caller), WP_TIMED_OUT, or WP_INVALID (NULL pool or group,
   negative timeout).
   Thread safety: any thread, also from inside jobs (a job may wait for a
   group it created), any number at once. */
WP_API wp_status wp_group_wait(wp_pool *pool, wp_group *group, int64_t timeout);

/* wp_group_cancel: cancels the group for good (until wp_group_init): its
   members still queued never run (WP_CANCELED), running members see
   wp_ctx_should_stop() turn true, and members submitted later are accepted
   and canceled. A continuation still runs when the group completes.
   Thread safety: any thread, also from inside jobs. NULL is ignored. */
WP_API void wp_group_cancel(wp_group *group);

/* wp_group_query: stores the group's counts in `*out` (see
   wp_group_counts); NULL arguments are ignored.
   Thread safety: any thread, at any time; a snapshot, exact once the group
   is complete. */
WP_API void wp_group_query(const wp_group *group, wp_group_counts *out);

/* wp_group_then: a continuation. When `group` is next complete, `*next` is
   submitted to `pool` with wp_submit_job (its own policy; from whichever
   thread ended the last member, so nothing blocks for it; at once, on the
   calling thread, if the group is complete now: submit the members first,
   then arm). `next` is copied. If it joins a group, it joins that group
   now: the next group stays incomplete until the continuation has run, so
   a chain (physics -> animation -> render) can be armed ahead, each link
   as soon as its group has been armed or has members. A continuation fires
   once per call. A loop (a continuation joining its own group, or a chain
   of armed groups leading back to it) could never complete and is refused.
   The status of its submission goes to then_status (with WP_BLOCK it is
   accepted unless the pool is closed; on a worker, a full queue runs it in
   place). Returns WP_OK; WP_INVALID for a NULL argument, an invalid job (as
   wp_submit_job), a loop, or a group whose continuation has not fired yet
   (one at a time).
   Thread safety: any thread, also from inside jobs; one thread at a time
   arms the groups of one chain. */
WP_API wp_status wp_group_then(wp_pool *pool, wp_group *group, const wp_job *next);

/* wp_range_fn: the function of a range job: runs items [begin, end). Return
   0 for success; a nonzero code stops the range (chunks not started yet are
   skipped) and is the range's code. wp_ctx_set_value is ignored. */
typedef int (*wp_range_fn)(void *arg, size_t begin, size_t end, wp_ctx *ctx);

/* wp_range: the caller-owned state of one range job in flight (no heap).
   It must stay in place until the range has its outcome. */
typedef struct wp_range {
    WP__ALIGN8 unsigned char wp__opaque[384];
} wp_range;

/* wp_submit_range: submits fn(arg, begin, end, ctx) over [0, n) in chunks
   of `grain` items (0 = chosen for the pool's size: about 4 chunks per
   thread that may run it), as ONE job: it is queued, meets backpressure,
   close, cancel and deadlines like any job, and has one outcome. The
   thread that starts it offers shares of it to idle threads (queued
   without waiting, never evicting: a full queue just means fewer helpers),
   and every participant claims chunks from a shared cursor, so workers,
   and a thread waiting on the range's group, work on it together. `job`
   (NULL = defaults) gives the other fields of the submission: id, policy,
   submit_timeout, priority, deadline, token, on_done, handle, group,
   pinned; its fn and arg are ignored. The outcome (callback, handle,
   group, result channel) reports `range` as its arg and:
     WP_OK           every chunk ran and returned 0;
     WP_TASK_FAILED  a chunk returned a code (the first one is the code),
                     or the range stopped early (cancel, close, deadline)
                     after it started: code WP_CANCELED or WP_EXPIRED;
     WP_CANCELED, WP_EXPIRED, WP_EVICTED: it never started, as any job.
   wp_stats counts the shares too: each is a job that was submitted and
   ended; they never reach a callback or the result channel.
   Returns as wp_submit_job; WP_INVALID also for a NULL range or fn, or n
   above SIZE_MAX / 2.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_submit_range(wp_pool *pool, wp_range *range, wp_range_fn fn, void *arg,
                                 size_t n, size_t grain, const wp_job *job);

/* wp_parallel_for: runs fn over [0, n) as one range job (see
   wp_submit_range) and waits for it, the calling thread working on it
   (wp_group_wait). Returns WP_OK when every chunk ran and returned 0;
   WP_TASK_FAILED when one returned a code or the range stopped early;
   WP_CANCELED or WP_EVICTED when it never ran (a WP_CANCEL close, a
   WP_DROP_OLDEST pool); or the refusal of the submission (WP_CLOSED,
   WP_FULL, ... WP_INVALID). Called from a stack already WP_NEST_MAX jobs
   deep, it runs the whole range on the calling thread.
   Thread safety: any thread, also from inside jobs. */
WP_API wp_status wp_parallel_for(wp_pool *pool, wp_range_fn fn, void *arg, size_t n,
                                 size_t grain);

/* wp_pool_help_pinned: runs the pool's pinned jobs (wp_job.pinned) on the
   calling thread, oldest first, until none is queued or `budget` (checked
   before each job) is spent. Workers never run them; wp_pool_close runs
   (or cancels) what is left, on the closing thread. Pinned jobs count as
   queued for wp_pool_wait_idle. A full pinned queue refuses a submission
   with WP_FULL (counted as rejected) whatever the policy, since the one
   thread that drains it may be the submitter. Returns how many it took.
   Thread safety: any thread; the thread that calls it is the one pinned
   jobs run on (a game calls it from its main thread only). Nothing else
   runs pinned jobs: wp_group_wait and wp_pool_help on that thread do not,
   so a thread waiting for a group with pinned members calls this
   meanwhile (see examples/game_frame.c). */
WP_API size_t wp_pool_help_pinned(wp_pool *pool, int64_t budget);

#ifdef __cplusplus
}
#endif

#endif /* WORKERPOOL_H */

/* ===========================================================================
   NOTES: configuration macros, compilers, timeouts, thread safety and the
   guarantees the declarations above rely on.

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
     WP_NO_OBSERVABILITY   leave the observability module out: no latency
                           histograms, task, error or stall hooks, watchdog
                           or last-error record, and no call for them on the
                           job path. Its wp_config fields stay declared; a
                           config that sets one (wp_config.observe, or a
                           hook other than thread_start/thread_stop) is
                           WP_INVALID.
     WP_SPIN_COUNT         pauses a worker (or a waiting caller) spins before it
                           parks (default: 256); a worker serving sporadic
                           jobs spins a 32nd of it
     WP_ROOM_SPIN_COUNT    the same for a submitter blocked on a full queue lane
                           of 4 cells or more (default: 16)
     WP_NEST_MAX           the most jobs one thread runs nested on its own
                           stack (default: 16): a job that waits through the
                           pool (wp_pool_wait_idle, wp_pool_help, wp_group_wait,
                           wp_parallel_for) or submits into a full queue runs
                           other jobs meanwhile, one level deeper each; at
                           this depth it waits without running any (see
                           wp_pool_wait_idle and the Fork-join section)
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
       or its token), expired (WP_EXPIRED) or evicted (WP_EVICTED, under
       WP_DROP_OLDEST). Every refused submission returns a status and is
       counted once (rejected, dropped, timed out, or refused because the
       pool is closed).
     - Submitting from inside the pool's own jobs never deadlocks (see
       wp_backpressure); closing from inside them is refused.
     - No queued job is ever held where only one thread can reach it: any
       idle worker, and any thread that waits through the pool, can take it.
     - Every call that takes a timeout returns by it.
     - A thread runs jobs on its own stack at most WP_NEST_MAX deep; past
       that, a waiting thread waits without running more.
     - Submitting and running a job allocate nothing and take no lock; a
       system call happens only to wake a parked thread.
     - Idle workers spin briefly, then park.
*/

/* ===========================================================================
   IMPLEMENTATION
   ======================================================================== */
#if defined(WORKERPOOL_IMPLEMENTATION) && !defined(WORKERPOOL_IMPLEMENTATION_DONE)
#define WORKERPOOL_IMPLEMENTATION_DONE

/* One clear stop instead of hundreds of errors further down. */
#if defined(__cplusplus)
#  error "workerpool.h: the implementation is C11, not C++: define WORKERPOOL_IMPLEMENTATION in a .c file compiled as C (C++ files include the header for its declarations only)"
#elif !defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L
#  error "workerpool.h: the implementation needs C11 or later (-std=c11): it uses <stdatomic.h>, _Alignas and _Thread_local"
#else /* the implementation, to the end of the file */

/* MAP OF THE IMPLEMENTATION

   Sections, each headed `--- name` (search for it):
     Platform layer        threads, locks, the monotonic clock
     wp_queue              the bounded lock-free MPMC ring (Vyukov's cells)
     Parking               the event count workers and waiters sleep on
     The pool              the task, worker and pool records
     the runner record     which pool a thread works for, as what, how deep
     tokens and the job's context
   THE CORE PATH, one run in the order a job lives (its head declares the
   seams into the modules below):
     submission            push, the backpressure policies, wp_submit
     taking jobs           lanes, fairness quota, rate limit
     running a job         verdict, run (a plain job's lean path), conclude
                           (the one outcome)
     results               delivery into the channel, wp_result_recv
     the worker            the pause handshake, the worker's loop
   Then the rest of the pool:
     submitting with options (jobs, batches, retries), threads that are not
     workers (helping, running in place, credits), waiting for idle,
   and the modules, each owning its state:
     job handles, scaling,
     fork-join             groups, ranges, continuations, pinned jobs
                           (seams in submit, conclude and close)
     pausing, shutdown, create and destroy, stats, observability,
     formatters, test seams

   Invariants, and where each is kept:
   - Every accepted job gets exactly one outcome, counted once: acceptance
     is a successful push (wp_queue) or a run in place (wp__run_here, counted
     in ran_inline); the outcome is wp__conclude, called once per taken task
     by wp__execute or by an eviction (wp__conclude_evicted). At quiescence
     submitted == completed + failed + canceled + expired + evicted (stats).
     Every refusal is counted once where it is answered (submission).
   - No lost wake-up: a notifier publishes, fences, then looks for waiters;
     a waiter registers, fences, then looks again before it sleeps (Parking;
     wp__notify_room for blocked submitters).
   - No job is ever unreachable: a queued job sits only in a lane, which any
     worker (wp__take) and any helping thread (wp__help_one) pops.
   - Every call that takes a timeout returns by it: waits go through
     wp__ws_await with a deadline; runners of an inline-only pool never wait
     for a receiver without bound (credits, in threads that are not workers);
     a blocked submitter gives up on a stalled result channel (submission).
   - A thread runs jobs on its own stack at most WP_NEST_MAX deep: every
     nested run goes through wp__execute, which counts depth in the runner
     record; wp__help_one and wp__run_here refuse past the bound (group
     members submitted at it run in place up to 4 x the bound, so that a
     recursive fork-join cannot leave every thread parked: fork-join).
   - The submit and run fast paths take no lock, allocate nothing and make
     no system call while a worker is awake (submission: push, then
     wp__ws_notify, which costs a fence and a load when nobody sleeps).
   - No job starts after wp_pool_pause has returned (wp__claim_start). */

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

/* The backend's wrappers that a build may not call (the condition variables
   serve only the watchdog and the fallback parking). */
#if defined(__GNUC__) || defined(__clang__)
#  define WP__MAYBE_UNUSED __attribute__((unused))
#else
#  define WP__MAYBE_UNUSED
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

/* thrd_create cannot size a stack: wp__resolve_config refuses a stack size
   on this backend, so `stack` is always 0 here. */
#define WP__NO_STACK_SIZE 1
static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg, size_t stack)
{
    (void)stack;
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
WP__MAYBE_UNUSED static int wp__mutex_init(wp__mutex *m) { return mtx_init(m, mtx_plain) == thrd_success ? 0 : -1; }
WP__MAYBE_UNUSED static void wp__mutex_destroy(wp__mutex *m) { mtx_destroy(m); }
WP__MAYBE_UNUSED static void wp__mutex_lock(wp__mutex *m) { mtx_lock(m); }
WP__MAYBE_UNUSED static void wp__mutex_unlock(wp__mutex *m) { mtx_unlock(m); }
WP__MAYBE_UNUSED static int wp__cond_init(wp__cond *c) { return cnd_init(c) == thrd_success ? 0 : -1; }
WP__MAYBE_UNUSED static void wp__cond_destroy(wp__cond *c) { cnd_destroy(c); }
WP__MAYBE_UNUSED static void wp__cond_signal(wp__cond *c) { cnd_signal(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
WP__MAYBE_UNUSED static void wp__cond_broadcast(wp__cond *c) { cnd_broadcast(c); }
WP__MAYBE_UNUSED static void wp__cond_wait(wp__cond *c, wp__mutex *m) { cnd_wait(c, m); }
#endif

/* C11 only offers TIME_UTC deadlines: wait one slice, the caller re-checks. */
WP__MAYBE_UNUSED static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
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
static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg, size_t stack)
{
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: it sets up the C runtime's per-thread
       state for the new thread (errno, strtok, ...). The size is what the
       thread commits first; STACK_SIZE_PARAM_IS_A_RESERVATION would make it
       the whole stack, which is what we promise. */
    unsigned size = stack > 0xffff0000u ? 0xffff0000u : (unsigned)stack;
    uintptr_t h = _beginthreadex(NULL, size, wp__win32_thread_main, t,
                                 stack ? STACK_SIZE_PARAM_IS_A_RESERVATION : 0, NULL);
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
WP__MAYBE_UNUSED static int wp__mutex_init(wp__mutex *m) { InitializeSRWLock(m); return 0; }
WP__MAYBE_UNUSED static void wp__mutex_destroy(wp__mutex *m) { (void)m; }
WP__MAYBE_UNUSED static void wp__mutex_lock(wp__mutex *m) { AcquireSRWLockExclusive(m); }
WP__MAYBE_UNUSED static void wp__mutex_unlock(wp__mutex *m) { ReleaseSRWLockExclusive(m); }
WP__MAYBE_UNUSED static int wp__cond_init(wp__cond *c) { InitializeConditionVariable(c); return 0; }
WP__MAYBE_UNUSED static void wp__cond_destroy(wp__cond *c) { (void)c; }
WP__MAYBE_UNUSED static void wp__cond_signal(wp__cond *c) { WakeConditionVariable(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
WP__MAYBE_UNUSED static void wp__cond_broadcast(wp__cond *c) { WakeAllConditionVariable(c); }
WP__MAYBE_UNUSED static void wp__cond_wait(wp__cond *c, wp__mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
#endif

/* Windows waits take a relative timeout in milliseconds, which no clock step
   can move. Rounded up, so a wait does not end just short of the deadline
   and spin; the timer's granularity (often 1 to 16 ms) may still end it a
   little early or late, and the caller re-checks the deadline either way. */
WP__MAYBE_UNUSED static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
{
    int64_t left = deadline - wp__now_ns();
    if (left <= 0)
        return;
    int64_t ms = left / INT64_C(1000000) + (left % INT64_C(1000000) != 0);
    DWORD wait = ms >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)ms;
    SleepConditionVariableSRW(c, m, wait, 0);
}

#else /* pthreads */

static int wp__thread_start(wp__thread *t, wp__thread_fn fn, void *arg, size_t stack)
{
    if (stack == 0)
        return pthread_create(t, NULL, fn, arg) == 0 ? 0 : -1;
    /* Rounded up to whole 16 KiB (a multiple of every common page size)
       and to the platform's least. */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    size_t size = stack > SIZE_MAX - 16383 ? stack : (stack + 16383) & ~(size_t)16383;
#if defined(PTHREAD_STACK_MIN)
    if (size < (size_t)PTHREAD_STACK_MIN)
        size = (size_t)PTHREAD_STACK_MIN;
#endif
    int r = pthread_attr_setstacksize(&attr, size) == 0 ? pthread_create(t, &attr, fn, arg) : -1;
    pthread_attr_destroy(&attr);
    return r == 0 ? 0 : -1;
}
static void wp__thread_join(wp__thread t) { pthread_join(t, NULL); }
static void wp__thread_yield(void) { sched_yield(); }
static void wp__sleep_ns(int64_t ns)
{
    struct timespec d = wp__timespec_from_ns(ns), left;
    while (nanosleep(&d, &left) == -1)
        d = left;
}
WP__MAYBE_UNUSED static int wp__mutex_init(wp__mutex *m) { return pthread_mutex_init(m, NULL) == 0 ? 0 : -1; }
WP__MAYBE_UNUSED static void wp__mutex_destroy(wp__mutex *m) { pthread_mutex_destroy(m); }
WP__MAYBE_UNUSED static void wp__mutex_lock(wp__mutex *m) { pthread_mutex_lock(m); }
WP__MAYBE_UNUSED static void wp__mutex_unlock(wp__mutex *m) { pthread_mutex_unlock(m); }
WP__MAYBE_UNUSED static void wp__cond_destroy(wp__cond *c) { pthread_cond_destroy(c); }
WP__MAYBE_UNUSED static void wp__cond_signal(wp__cond *c) { pthread_cond_signal(c); }
#if defined(WP__PARK_CONDVAR) /* only the parking fallback waits forever or wakes all */
WP__MAYBE_UNUSED static void wp__cond_broadcast(wp__cond *c) { pthread_cond_broadcast(c); }
WP__MAYBE_UNUSED static void wp__cond_wait(wp__cond *c, wp__mutex *m) { pthread_cond_wait(c, m); }
#endif

#  if defined(__APPLE__) || defined(_WIN32)
/* macOS has no pthread_condattr_setclock, and MinGW's winpthreads refuses
   CLOCK_MONOTONIC in it: sliced wall-clock waits, as for C11. */
WP__MAYBE_UNUSED static int wp__cond_init(wp__cond *c) { return pthread_cond_init(c, NULL) == 0 ? 0 : -1; }
WP__MAYBE_UNUSED static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
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
WP__MAYBE_UNUSED static int wp__cond_init(wp__cond *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0
          && pthread_cond_init(c, &attr) == 0;
    pthread_condattr_destroy(&attr);
    return ok ? 0 : -1;
}
WP__MAYBE_UNUSED static void wp__cond_wait_until(wp__cond *c, wp__mutex *m, int64_t deadline)
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
    size_t mask;            /* cells - 1: the ring is a power of two */
    size_t capacity;        /* the bound promised, at most mask + 1 */
    size_t elem_size;
    size_t stride;          /* bytes per cell: sequence number + element */
    /* Derived from the above, so that the hot paths do less arithmetic: a
       ticket's cell is at (ticket & ticket_mask) * half_stride (bit 0, the
       closed bit, falls out with the mask); a cell's sequence moves on by
       `lap` when it is emptied. */
    size_t ticket_mask;     /* mask * WP__TICKET */
    size_t half_stride;     /* stride / WP__TICKET (a stride is a multiple of 8) */
    size_t lap;             /* (mask + 1) * WP__TICKET */
    bool partial;           /* capacity < mask + 1: a push checks room (wp__queue_room_at) */
    size_t origin;          /* ticket of the first position, for counting */
    void *allocation;       /* what wp_queue_create allocated, else NULL */
    /* Producers and consumers each own a line. */
    _Alignas(WP_CACHE_LINE) atomic_size_t head;  /* next push ticket | closed */
    _Alignas(WP_CACHE_LINE) atomic_size_t tail;  /* next pop ticket */
    _Alignas(WP_CACHE_LINE) char end;
};

static inline atomic_size_t *wp__cell_seq(const wp_queue *q, size_t ticket)
{
    return (atomic_size_t *)(void *)(q->cells + (ticket & q->ticket_mask) * q->half_stride);
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

/* The ring has a power of two of cells, so that a position finds its cell
   with a mask; the capacity a user asked for may be smaller. Then a push
   at `ticket` also needs the element `capacity` positions before it taken
   out: its cell's sequence says so (a consumer moved it one lap on). Every
   position before head has been claimed, so that cell holds its position
   (claimed), its position + 1 (published) or its position + one lap
   (taken); cells before the first lap start out "taken". */
static inline bool wp__queue_room_at(const wp_queue *q, size_t ticket)
{
    if (!q->partial) /* the whole ring: the cell's own check says it */
        return true;
    size_t behind = ticket - q->capacity * WP__TICKET;
    size_t s = atomic_load_explicit(wp__cell_seq(q, behind), memory_order_acquire);
    return s == behind + q->lap;
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
    q->capacity = capacity < 2 ? 2 : capacity;
    if (q->capacity > q->mask + 1)
        q->capacity = q->mask + 1;
    q->elem_size = elem_size;
    q->stride = wp__queue_stride(elem_size);
    q->ticket_mask = q->mask * WP__TICKET;
    q->half_stride = q->stride / WP__TICKET;
    q->lap = (q->mask + 1) * WP__TICKET;
    q->partial = q->capacity < q->mask + 1;
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
            if (!wp__queue_room_at(q, ticket))
                return WP__FULL;
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
    atomic_store_explicit(seq, ticket + q->lap, memory_order_release);
    if (pos)
        *pos = ticket / WP__TICKET;
    return true;
}

static inline bool wp__queue_pop(wp_queue *q, void *out, size_t size)
{
    return wp__queue_pop_at(q, out, size, NULL);
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
            if (atomic_load_explicit(wp__cell_seq(q, want), memory_order_acquire) != want
                || !wp__queue_room_at(q, want))
                break;
        }
        if (k == 0) {
            ptrdiff_t diff = (ptrdiff_t)(atomic_load_explicit(wp__cell_seq(q, ticket),
                                                              memory_order_acquire) - ticket);
            if (diff < 0 || (diff == 0 && !wp__queue_room_at(q, ticket))) {
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
    return n > queue->capacity ? queue->capacity : n;
}

size_t wp_queue_capacity(const wp_queue *queue)
{
    return queue ? queue->capacity : 0;
}


/* ---------------------------------------------------------------------------
   Parking: a small event count.

   A wait set is two words: `waiters`, the number of threads registered to
   sleep, and `epoch`, which every notify that finds a waiter bumps and on
   which the waiters sleep (the platform layer's address wait, or the
   fallback below); its two low bits are flags (see "One wake in flight").

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

   One wake in flight. A woken thread stays registered until it has been
   scheduled and unregisters, so a producer submitting meanwhile would see
   a waiter and make a wake system call per job, for nobody (on a VM that
   is microseconds each). So the epoch word carries two flags below the
   count: PENDING, set by every notify of one, and SKIPPED. A notify of one
   bumps the count and sets PENDING in one CAS, and makes its wake only if
   PENDING was clear; else it sets SKIPPED instead. A sleeper clears
   PENDING (a CAS that holds only while the word still has its epoch) and
   then sleeps on the word as it left it, so a set PENDING never covers a
   sleeper that no wake has been sent to: a notify after the clear sees it
   clear and wakes; one before it changed the word, so the sleep's compare
   fails. Whoever leaves a wait clears both flags (one fetch_and) and, if
   SKIPPED was set and others still wait, wakes them all: the notifies that
   skipped their wake are passed on (a second receiver of a second result
   must not sleep on). tests/model/wake.pml checks this with waiters that
   take one token and leave, and catches the two mistakes: no pass-on, and
   PENDING in a word of its own that the sleep does not compare.

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

/* The epoch word: the count of notifies in steps of WP__WS_BUMP; in bit 0
   whether a wake of one is on its way, in bit 1 whether a notify skipped
   its wake because of that (see wp__ws_notify and wp__ws_wait). */
#define WP__WS_PENDING 1u
#define WP__WS_SKIPPED 2u
#define WP__WS_FLAGS 3u
#define WP__WS_BUMP 4u

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
    return atomic_load_explicit(&ws->epoch, memory_order_acquire) & ~WP__WS_FLAGS;
}

static void wp__ws_cancel(wp__waitset *ws)
{
    /* Relaxed: a notifier that still counts this waiter only wakes in vain. */
    atomic_fetch_sub_explicit(&ws->waiters, 1, memory_order_relaxed);
}

/* Sleeps until the epoch moves past `epoch` (true) or `deadline` passes
   (false), then unregisters. Before each sleep it clears the pending bit
   (only while the word still holds this epoch: one CAS), so that the word
   it sleeps on says "no wake on its way". On the way out it clears both
   bits and passes on the notifies that skipped their wake: if one did and
   others still wait, it wakes them all (see the parking notes above). */
static bool wp__ws_wait(wp__waitset *ws, unsigned epoch, int64_t deadline)
{
    bool woken = true;
    for (;;) {
        /* Acquire pairs with the release bump in wp__ws_notify. */
        unsigned word = atomic_load_explicit(&ws->epoch, memory_order_acquire);
        if ((word & ~WP__WS_FLAGS) != epoch)
            break;
        if (deadline != WP_FOREVER && wp__now_ns() >= deadline) {
            woken = false;
            break;
        }
        if (word & WP__WS_PENDING) {
            /* The skipped bit stays: it is a debt to the sleepers. */
            atomic_compare_exchange_strong_explicit(&ws->epoch, &word, word & ~WP__WS_PENDING,
                                                    memory_order_relaxed, memory_order_relaxed);
            continue; /* look again: cleared, or the word moved */
        }
        wp__ws_sleep(ws, word, deadline);
    }
    unsigned was = atomic_fetch_and_explicit(&ws->epoch, ~WP__WS_FLAGS, memory_order_acquire);
    wp__ws_cancel(ws);
    if ((was & WP__WS_SKIPPED) && atomic_load_explicit(&ws->waiters, memory_order_relaxed) > 0)
        wp__ws_wake(ws, true);
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
    if (all) {
        atomic_fetch_add_explicit(&ws->epoch, WP__WS_BUMP, memory_order_release);
        wp__ws_wake(ws, true);
        return;
    }
    /* One: bump and set the pending bit in one step; wake only if no wake
       was on its way already (a woken thread that has not run yet still
       counts as a waiter, and every notify would otherwise make its own
       system call for it). */
    unsigned old = atomic_load_explicit(&ws->epoch, memory_order_relaxed);
    unsigned next;
    do
        next = (old + WP__WS_BUMP) | WP__WS_PENDING | (old & WP__WS_PENDING ? WP__WS_SKIPPED : 0);
    while (!atomic_compare_exchange_weak_explicit(&ws->epoch, &old, next, memory_order_release,
                                                  memory_order_relaxed));
    if (!(old & WP__WS_PENDING))
        wp__ws_wake(ws, false);
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
/* Pauses between two looks of a spinning waiter (see wp__ws_await_ex). */
#define WP__SPIN_STRIDE 4
/* The most jobs one thread's stack may hold at once (see wp__depth). */
#ifndef WP_NEST_MAX
#  define WP_NEST_MAX 16
#endif
/* How long a submitter waits for room while the result channel is stalled
   (see wp__results_stalled) before it answers WP_STALLED. */
#ifndef WP_STALL_NS
#  define WP_STALL_NS WP_SEC(1)
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
        /* A look costs tens of instructions and reads shared lines, a pause
           a few cycles: look once every WP__SPIN_STRIDE pauses, which
           delays a spinner's answer by a few pauses at most. */
        for (int i = 1; i <= spins; i++) {
            wp__cpu_relax();
            if (i % WP__SPIN_STRIDE == 0 && (r = attempt(ctx)) != WP__AGAIN)
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
        /* Woken: what woke it is most likely there now. */
        if ((r = attempt(ctx)) != WP__AGAIN)
            return r;
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
   keeps its size and register use; its few steps are inlined into the
   loops that run them (a call costs its callee's register saves). */
#if defined(__GNUC__) || defined(__clang__)
#  define WP__NOINLINE __attribute__((noinline))
#  define WP__HOT_INLINE inline __attribute__((always_inline))
#else
#  define WP__NOINLINE
#  define WP__HOT_INLINE inline
#endif

/* What travels through a job queue: 56 bytes on 64-bit targets, so a cell
   (with its sequence number) is 64 bytes. */
typedef struct wp__task {
    wp_job_fn fn;
    void *arg;
    union {
        uint64_t id;             /* the user's id ... */
        void (*call)(void *arg); /* ... or, when fn is wp__call_job, the plain function */
    };
    int64_t enqueued_ns; /* pool clock; read only when the job is timed */
    int64_t deadline_ns; /* pool clock; 0 = none */
    wp_token *token;
    wp_done_fn on_done;
} wp__task;

/* A job submitted with wp_submit_call: the plain function rides in the
   id's place (such a job has id 0), so the task keeps its size. */
static int wp__call_job(void *arg, wp_ctx *ctx);
static inline uint64_t wp__task_id(const wp__task *t)
{
    return t->fn == wp__call_job ? 0 : t->id;
}

/* A user's token has only `canceled` (0 or 1). A job with a handle carries
   its slot's own token instead: `canceled` holds the generation that
   wp_job_cancel canceled (so a stale cancel cannot hit the slot's next
   job), `state` is the slot's state word, and `parent` the user's token,
   which cancels the job as well. A group's token (the first field of the
   group, see the fork-join module) has `canceled` 0 or 1 and the group's
   token as `parent`. Kind 0 is a group's, so that a zeroed wp_group is
   ready. */
enum { WP__TOKEN_GROUP = 0, WP__TOKEN_USER, WP__TOKEN_SLOT };
struct wp_token {
    atomic_uint canceled;
    unsigned char kind;
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

/* The observability module's state (its code is in "observability" below):
   per worker, written only by that worker (single-writer stores) and summed
   by wp_pool_stats; `reported` belongs to the watchdog. */
#ifndef WP_NO_OBSERVABILITY
typedef struct wp__obs_runner {
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t wait[WP_LATENCY_BUCKETS];
    atomic_uint_least64_t run[WP_LATENCY_BUCKETS];
    atomic_uint_least64_t wait_sum; /* unsigned and saturating: no overflow */
    atomic_uint_least64_t run_sum;
    atomic_int_least64_t wait_max;
    atomic_int_least64_t run_max;
    atomic_int_least64_t job_start; /* the running job, for the watchdog */
    atomic_uint_least64_t job_id;
    atomic_uint_least64_t seq;      /* odd while a job runs */
    atomic_int error_code;          /* this worker's last failed job */
    atomic_uint_least64_t error_job;
    atomic_int_least64_t error_at;  /* since create; -1 = none */
    uint64_t reported;              /* the seq last reported stalled */
} wp__obs_runner;

/* Per pool: `observe` (WP__OBS_* bits; zero = no work per job) is read-only
   after create and sits on a line of its own with the hooks. */
typedef struct wp__obs_pool {
    _Alignas(WP_CACHE_LINE) unsigned observe;
    wp_hook_fn task_start;
    wp_hook_fn task_end;
    wp_hook_fn on_error;
    wp_hook_fn on_stall;
    int64_t stall_threshold;
    /* Written when a submission finds the queue full, and by every
       submission that raises the mark under observe.latency. */
    _Alignas(WP_CACHE_LINE) atomic_size_t high_water;
    wp__mutex mu;              /* the watchdog's sleep */
    wp__cond cv;
    int stop;                  /* guarded by mu: the watchdog must end */
    bool watchdog;             /* a watchdog thread runs */
    wp__thread thread;
} wp__obs_pool;
#endif

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
    atomic_int phase;                 /* enum wp__phase */
    atomic_int state;                 /* enum wp__slot_state */
    int index;
    wp_pool *pool;
    wp__thread thread;
#ifndef WP_NO_OBSERVABILITY
    wp__obs_runner obs; /* the observability module's (see there) */
#endif
} wp__worker;

/* Where a worker is with respect to starting jobs, for wp_pool_pause's
   handshake (see wp__claim_start): idle, about to start the job it took,
   or running one. Read by stats as "active". */
enum wp__phase { WP__PHASE_IDLE = 0, WP__PHASE_STARTING, WP__PHASE_RUNNING };

/* A worker slot is free, holds a running thread, or holds a thread that has
   finished (or is finishing) and must be joined before the slot is reused. */
enum wp__slot_state { WP__SLOT_FREE = 0, WP__SLOT_RUNNING, WP__SLOT_EXITED };

struct wp_ctx {
    wp_pool *pool;
    const wp__task *task;
    void *value;
    int worker;
};

/* The state of the optional modules. Each module's section reads and writes
   its own; the core reads only what its seams name: `scale.on` and
   `scale.retire_requests` after a job (scaling), `rate.interval` before a
   take (rate limit). */
typedef struct wp__scale_state {
    /* Read by every worker after each job; written rarely. */
    atomic_int on;              /* min < max: the after-job checks run */
    atomic_int retire_requests; /* workers wp_pool_scale/resize asked to go */
    atomic_int min_workers;
    atomic_int max_workers;
    size_t up_threshold;        /* the config's .scaling, resolved */
    int64_t up_cooldown;
    int64_t idle_timeout;
    int64_t down_cooldown;
    /* Bookkeeping, touched only when the worker count changes. */
    _Alignas(WP_CACHE_LINE) atomic_int_least64_t next_up; /* pool clock */
    atomic_int_least64_t next_down;
    atomic_int_least64_t last_up; /* since create; -1 = never */
    atomic_int_least64_t last_down;
    atomic_uint_least64_t ups;
    atomic_uint_least64_t downs;
    atomic_uint_least64_t spawn_failures;
    atomic_int peak;
} wp__scale_state;

typedef struct wp__rate_state {
    int64_t interval;  /* pool-clock ns between job starts; 0 = no limit */
    int64_t tolerance; /* how far ahead of now the bucket may run */
    /* The bucket: the time the next start is due (GCRA). */
    _Alignas(WP_CACHE_LINE) atomic_int_least64_t due;
} wp__rate_state;

typedef struct wp__handle_state {
    wp__slot *slots; /* max_handles of them */
    uint32_t count;
    /* Free slots as a stack: index + 1 of the top in the low 32 bits, a tag
       that changes with every pop and push above them (no ABA). */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t free_top;
} wp__handle_state;

struct wp_pool {
    /* Read-only after create. */
    char name[64];
    int slots;               /* worker slots: the max_workers at create */
    bool inline_only;
    wp_backpressure backpressure;
    int64_t submit_timeout;
    wp_hook_fn on_thread_start;
    wp_hook_fn on_thread_stop;
    void *hook_user;
    wp_allocator allocator;
    void *allocation;
    wp_queue *lanes[WP__LANES];
    wp_queue *results;       /* NULL without a result channel */
    wp_queue *pinned;        /* NULL without pinned jobs (fork-join) */
    size_t stack_size;       /* of worker threads; 0 = the platform's */
    wp__worker *workers;
    wp_clock_fn clock;
    void *clock_user;
    int64_t created_ns;      /* on the pool clock */

    /* Shutdown and scaling state; read by every worker, written rarely. */
    _Alignas(WP_CACHE_LINE) atomic_int canceling;
    atomic_int shut;         /* wp_pool_close has begun: lanes close next */
    atomic_int paused;
    atomic_int destroying;
    atomic_int live;         /* workers counted in, packed: see wp__started */
    atomic_int helpers;      /* other threads producing outcomes right now */
    bool credited;           /* inline-only with a result channel: see wp__take_credit */
    atomic_size_t credits;   /* free result cells not promised to a runner */
    atomic_int receivers;    /* threads waiting in wp_result_recv */
    atomic_int delivering;   /* threads waiting for room in the result channel */
    atomic_int inline_unit;  /* an inline-only pool's stand-in for workers */
    atomic_uint_least64_t suspends; /* jobs set aside on their thread: waiting */
    atomic_uint_least64_t resumes;  /* for idle, helping, or running a nested job */
    atomic_uint lanes_used;  /* bit 1 << lane: that high or low lane exists (wp__open_lane) */
    atomic_int room_timed;   /* a WP_TIMEOUT submitter ever waited for room */
    size_t room_mask;        /* room_every - 1 (see wp__notify_room) */
    wp__mutex slot_mu;       /* serialises slot choice, start and join */

    /* The modules' own state (each described with its module). */
    wp__scale_state scale;
    wp__rate_state rate;

    /* Refusals and evictions only happen on the slow path, so shared
       counters are fine. */
    _Alignas(WP_CACHE_LINE) atomic_uint_least64_t rejected;
    atomic_uint_least64_t dropped;
    atomic_uint_least64_t timed_out;
    atomic_uint_least64_t refused_closed;
    atomic_uint_least64_t evicted;

    wp__worker external;      /* runs jobs for threads that are not workers */

    wp__handle_state handles;

    wp__waitset job_ready;    /* workers wait for jobs */
    wp__waitset job_room[WP__LANES]; /* blocked submitters wait for room */
    wp__waitset result_ready; /* receivers wait for results */
    wp__waitset result_room;  /* workers wait for room in the result channel */
    wp__waitset exited;       /* closers wait for workers to finish */
    wp__waitset idle;         /* wp_pool_wait_idle waits for the pool to idle */
    wp__waitset job_done;     /* wp_job_wait waits for a job with a handle */

#ifndef WP_NO_OBSERVABILITY
    wp__obs_pool obs;         /* the observability module's (see there) */
#endif
};

#define WP__WAITSETS (6 + WP__LANES)

/* Observability (defined after the stats): the calls the job and submit
   paths make, and create and destroy (wp__config_check checks its
   fields). With
   WP_NO_OBSERVABILITY they are empty inline functions. */
static inline bool wp__observe_times(const wp_pool *pool);
static inline void wp__observe_submit(wp_pool *pool, size_t jobs);
static void wp__observe_full(wp_pool *pool);
static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t);
static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start);
static int wp__observe_start(wp_pool *pool, const wp_config *cfg);
static void wp__observe_stop(wp_pool *pool);

static bool wp__is_paused(wp_pool *pool);
static inline bool wp__claim_start(wp_pool *pool, wp__worker *w);

/* Fork-join (defined after submission): the seams in conclude, submit and
   close. */
static bool wp__group_conclude(wp_pool *pool, const wp__task *t, wp_status outcome, int code);
static wp_status wp__submit_member(wp_pool *pool, const wp_job *job, wp__task *t);
static bool wp__pinned_close(wp_pool *pool, int64_t deadline);
static void wp__start_canceling(wp_pool *pool);
/* Test seams (defined in the block at the end of the implementation): a
   test build starts threads through a wrapper that can fail on demand. */
#ifdef WORKERPOOL_TESTING
static int wp__test_thread_start(wp__thread *t, wp__thread_fn fn, void *arg, size_t stack);
#  define WP__THREAD_START wp__test_thread_start
#else
#  define WP__THREAD_START wp__thread_start
#endif

/* --- the runner record ------------------------------------------------------

   What the calling thread is doing for which pool, in one place. A thread
   pushes a record when it starts working for a pool and pops it when it
   stops, on its own stack, linked to the record it came from:
   - a worker, for its thread's whole life (as: its wp__worker);
   - any other thread that runs or ends the pool's jobs (wp_pool_help,
     helping while it waits, the close of an inline-only pool, a job run in
     place by WP_CALLER_RUNS or a nested submission, an eviction): for that
     call (as: the pool's shared `external` counters, worker index -1);
   - and every job, for its run, its callback and its delivery (in_job).
   Every question "is this thread one of the pool's own / inside one of its
   jobs / how deep are its jobs nested" reads the chain (wp__find,
   wp__depth). A thread not yet working for the pool counts itself in
   `helpers` on entry, so that close and wp_result_recv wait for it as for
   a worker (see wp__enter). */
typedef struct wp__runner {
    wp_pool *pool;
    wp__worker *as;      /* whose counters and worker index it uses */
    bool in_job;         /* runs a job: its function, callback, delivery */
    bool counted;        /* counted in pool->helpers by this record */
    bool aside;          /* set its thread's job aside (see wp__enter) */
    int depth;           /* jobs on this thread's stack, across pools */
    struct wp__runner *outer;
} wp__runner;

static _Thread_local wp__runner *wp__top;

/* The innermost record of `pool` on this thread (only those in a job, when
   asked), or NULL. */
static wp__runner *wp__find(const wp_pool *pool, bool in_job)
{
    for (wp__runner *r = wp__top; r; r = r->outer)
        if (r->pool == pool && (r->in_job || !in_job))
            return r;
    return NULL;
}

/* The pool's own workers and threads inside its jobs: there, waiting for
   the pool could mean waiting for ourselves. */
static bool wp__on_own_thread(const wp_pool *pool) { return wp__find(pool, false) != NULL; }

static bool wp__in_job(const wp_pool *pool) { return wp__find(pool, true) != NULL; }

/* How many jobs this thread's stack holds now. Helping stops at
   WP_NEST_MAX: past it a waiting thread parks instead of running more,
   so the stack cannot grow with the length of the queue. */
static int wp__depth(void) { return wp__top ? wp__top->depth : 0; }

static bool wp__may_nest(void) { return wp__depth() < WP_NEST_MAX; }

/* Jobs this thread has taken from any queue: drives the fairness quota. */
static _Thread_local unsigned wp__takes;

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
    (*out)->kind = WP__TOKEN_USER;
    (*out)->parent = NULL;
    (*out)->state = NULL;
    return WP_OK;
}

void wp_token_cancel(wp_token *token)
{
    /* Release pairs with the acquire in wp_token_is_canceled: whatever the
       canceling thread did before is visible to a job that sees it. */
    if (token && token->kind == WP__TOKEN_USER)
        atomic_store_explicit(&token->canceled, 1, memory_order_release);
}

bool wp_token_is_canceled(const wp_token *token)
{
    if (!token)
        return false;
    unsigned c = atomic_load_explicit((atomic_uint *)&token->canceled, memory_order_acquire);
    if (token->kind == WP__TOKEN_USER)
        return c != 0;
    if (token->kind == WP__TOKEN_GROUP)
        return c != 0 || wp_token_is_canceled(token->parent);
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

/* b - a for two readings of the pool's clock, as a duration: 0 if the clock
   went back, and no signed overflow whatever a user's clock returns. */
static inline int64_t wp__elapsed(int64_t a, int64_t b)
{
    uint64_t d = (uint64_t)b - (uint64_t)a;
    return b <= a ? 0 : d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

static bool wp__past_deadline(const wp_pool *pool, const wp__task *t)
{
    return t->deadline_ns != 0 && wp__pool_now(pool) >= t->deadline_ns;
}

uint64_t wp_ctx_id(const wp_ctx *ctx) { return ctx ? wp__task_id(ctx->task) : 0; }
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

/* ===========================================================================
   THE CORE PATH: a job's life from submission to its result, in the order it
   lives: submit, take, run, conclude, deliver, and the worker that drives it.
   Ahead of their place: the core's own later steps, and the seams where the
   modules after it (handles, scaling) join.
   ------------------------------------------------------------------------- */
static inline void wp__conclude(wp_pool *pool, wp__worker *w, const wp__task *t, wp_status outcome, int code, void *value, int64_t start);
static bool wp__enter(wp__runner *r, wp_pool *pool, wp__worker *as, bool open_only);
static bool wp__take_credit(wp_pool *pool);
static bool wp__await_credit(wp_pool *pool, int64_t deadline);
static void wp__notify_room(wp_pool *pool, int lane, size_t pos);
static void wp__give_credit(wp_pool *pool);
static void wp__leave(wp__runner *r);
static bool wp__help_one(wp_pool *pool, wp__runner *by, bool must);
static wp_status wp__run_here(wp_pool *pool, const wp__task *t, int limit);
static int64_t wp__later(int64_t a, int64_t b);
static void wp__deliver(wp_pool *pool, const wp_result *r);
static bool wp__is_closed(const wp_pool *pool);

/* seams: job handles */
static wp__slot *wp__slot_of(const wp__task *t);
static bool wp__slot_take(wp_pool *pool, wp__task *t, wp_handle *h);
static void wp__slot_free(wp_pool *pool, wp__slot *slot, uint64_t state);
static void wp__slot_done(wp_pool *pool, wp__slot *slot, const wp_result *r);

/* seams: scaling */
static int wp__started(int live);
static int wp__live(const wp_pool *pool);
static void wp__maybe_scale_up(wp_pool *pool);
static bool wp__retire_on_request(wp_pool *pool);
static int64_t wp__idle_deadline(wp_pool *pool, int64_t *idle_since);
static bool wp__retire_if_idle(wp_pool *pool, int64_t idle_since);
static void wp__record_scale(wp_pool *pool, bool up);
static void wp__count_out(wp_pool *pool, int amount);

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

/* The outcome of an evicted job, produced on the submitter's thread inside
   a job record, like any other: its callback is inside the pool's job
   (close from it is refused, wp_pool_wait_idle from it sets it aside). */
static void wp__conclude_evicted(wp_pool *pool, wp__runner *by, const wp__task *old)
{
    wp__runner job = { pool, by->as, true, false, false, by->depth + 1, wp__top };
    wp__top = &job;
    wp__conclude(pool, NULL, old, WP_EVICTED, 0, NULL, wp__pool_now(pool));
    wp__top = job.outer;
}

/* WP_DROP_OLDEST: evicts the lane's oldest job (it yields WP_EVICTED) until
   the new one fits. */
static wp_status wp__evict_and_push(wp_pool *pool, int lane, const wp__task *t)
{
    wp__runner self;
    if (!wp__enter(&self, pool, NULL, true))
        return wp__refused_closed(pool);
    enum wp__push_result r;
    while ((r = wp__queue_push(pool->lanes[lane], t, sizeof *t)) == WP__FULL) {
        wp__task old;
        size_t pos;
        if (!wp__take_credit(pool) && !wp__await_credit(pool, WP_FOREVER))
            continue;
        if (wp__queue_pop_at(pool->lanes[lane], &old, sizeof old, &pos)) {
            /* A pop like any other: it may be the one a blocked submitter
               of another policy counts on (wp__notify_room). */
            wp__notify_room(pool, lane, pos);
            wp__conclude_evicted(pool, &self, &old);
        } else { /* a consumer is still copying its job out of the cell */
            wp__give_credit(pool);
            wp__cpu_relax();
        }
    }
    if (r == WP__PUSHED)
        wp__ws_notify(&pool->job_ready, false);
    wp__leave(&self);
    return r == WP__PUSHED ? WP_OK : wp__refused_closed(pool);
}

/* Whether a submitter that waits for room can only wait for a receiver
   that is not there: the result channel is full, every worker waits to
   deliver into it (in an inline-only pool: no credit is left), and no
   thread waits in wp_result_recv. A receiver that is busy elsewhere may
   still come, hence the grace of WP_STALL_NS before a submitter gives up. */
static bool wp__results_stalled(wp_pool *pool)
{
    if (!pool->results || atomic_load_explicit(&pool->receivers, memory_order_seq_cst) > 0)
        return false;
    if (pool->credited)
        return atomic_load_explicit(&pool->credits, memory_order_relaxed) == 0;
    int live = wp__started(wp__live(pool));
    return live > 0 && atomic_load_explicit(&pool->delivering, memory_order_relaxed) >= live;
}

/* A stall seen over repeated looks: since when, and how many results had
   been received then (a receiver that takes results without ever waiting
   is progress all the same). */
typedef struct wp__stall {
    int64_t since;
    size_t received;
} wp__stall;

#define WP__NO_STALL { -1, 0 }

/* True once the stall has lasted WP_STALL_NS with no result received. */
static bool wp__stall_lasted(wp_pool *pool, wp__stall *st)
{
    size_t received = pool->results
        ? atomic_load_explicit(&pool->results->tail, memory_order_relaxed) : 0;
    if (!wp__results_stalled(pool) || (st->since >= 0 && received != st->received)) {
        st->since = -1;
        return false;
    }
    int64_t now = wp__now_ns();
    if (st->since < 0) {
        st->since = now;
        st->received = received;
    }
    return now - st->since >= WP_STALL_NS;
}

static wp_status wp__refused_stalled(wp_pool *pool)
{
    wp__count(&pool->rejected);
    return WP_STALLED;
}

/* An inline-only pool has nobody to make room but the submitter: it runs
   the oldest jobs until the new one fits or the deadline passes. */
static wp_status wp__help_until_pushed(wp_pool *pool, int lane, const wp__task *t, int64_t deadline)
{
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    wp__stall stalled = WP__NO_STALL;
    wp_status s;
    for (;;) {
        enum wp__push_result r = wp__queue_push(pool->lanes[lane], t, sizeof *t);
        if (r != WP__FULL) {
            s = r == WP__PUSHED ? WP_OK : wp__refused_closed(pool);
            break;
        }
        if (wp__now_ns() >= deadline) {
            wp__count(&pool->timed_out);
            s = WP_TIMED_OUT;
            break;
        }
        if (wp__help_one(pool, &self, true))
            continue;
        if (wp__stall_lasted(pool, &stalled)) {
            s = wp__refused_stalled(pool);
            break;
        }
        /* No credit (a full result channel): wait for a receiver a while;
           else the rate limit: the next start is not due yet. */
        int64_t soon = wp__deadline(WP_MS(10));
        if (pool->credited && wp__await_credit(pool, soon < deadline ? soon : deadline))
            wp__give_credit(pool); /* wp__help_one takes it again */
        else if (!pool->credited)
            wp__sleep_ns(WP_US(100));
    }
    wp__leave(&self);
    return s;
}

/* The lane was full (or closed): apply the backpressure policy. */
static WP__NOINLINE wp_status wp__submit_slow(wp_pool *pool, int lane, const wp__task *t,
                                 wp_backpressure policy, int64_t timeout,
                                 enum wp__push_result first)
{
    if (first == WP__SHUT)
        return wp__refused_closed(pool);
    wp__observe_full(pool); /* observability */
    /* A full queue is the submitter's cue to add a worker: no worker may be
       free to notice the backlog (all busy with long jobs). */
    if (atomic_load_explicit(&pool->scale.on, memory_order_relaxed))
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
        return wp__run_here(pool, t, WP_NEST_MAX);
    default:
        break;
    }
    /* Waiting for room from inside the pool could wait on ourselves: run the
       job right here instead. */
    if (wp__on_own_thread(pool))
        return wp__run_here(pool, t, WP_NEST_MAX);
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
           the wake-up it costs is shared by a run of pushes. With a result
           channel it looks up now and then whether the pool is stalled on
           a receiver that is not there (see wp__results_stalled). */
        int spins = pool->room_mask ? WP_ROOM_SPIN_COUNT : WP_SPIN_COUNT;
        wp__stall stalled = WP__NO_STALL;
        for (;;) {
            int64_t until = pool->results ? wp__deadline(WP_STALL_NS / 8) : deadline;
            r = wp__ws_await_ex(&pool->job_room[lane], until < deadline ? until : deadline,
                                wp__attempt_push_job, &a, NULL, NULL, spins);
            if (r != WP__AGAIN || wp__now_ns() >= deadline)
                break;
            if (wp__stall_lasted(pool, &stalled))
                return wp__refused_stalled(pool);
        }
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

/* The high and low lanes are made at their first job, so that a pool that
   never uses priorities holds one lane's memory (see wp__open_lane). */
static WP__NOINLINE wp_status wp__open_lane(wp_pool *pool, int lane);

/* Before a job is pushed into `lane`: WP_OK once the lane exists; else
   WP_CLOSED or WP_NOMEM, counted as a refusal. The acquire pairs with the
   release in wp__open_lane, so the lane's pointer is seen with its bit. */
static inline wp_status wp__use_lane(wp_pool *pool, int lane)
{
    if (lane == WP__LANE_NORMAL
        || (atomic_load_explicit(&pool->lanes_used, memory_order_acquire) & (1u << lane)))
        return WP_OK;
    return wp__open_lane(pool, lane);
}

static inline wp_status wp__submit(wp_pool *pool, int lane, wp__task *t, wp_backpressure policy,
                            int64_t timeout)
{
    if (lane != WP__LANE_NORMAL) {
        wp_status s = wp__use_lane(pool, lane);
        if (s != WP_OK)
            return s;
    }
    if (wp__timed(pool, t) || wp__observe_times(pool))
        t->enqueued_ns = wp__pool_now(pool);
    wp__observe_submit(pool, 1); /* observability */
    enum wp__push_result r = wp__queue_push(pool->lanes[lane], t, sizeof *t);
    if (r != WP__PUSHED)
        return wp__submit_slow(pool, lane, t, policy, timeout, r);
    wp__ws_notify(&pool->job_ready, false);
    return WP_OK;
}

static int wp__call_job(void *arg, wp_ctx *ctx)
{
    ctx->task->call(arg);
    return 0;
}

wp_status wp_submit_call(wp_pool *pool, void (*fn)(void *arg), void *arg)
{
    if (!pool || !fn)
        return WP_INVALID;
    wp__task t = { wp__call_job, arg, { 0 }, 0, 0, NULL, NULL };
    t.call = fn;
    return wp__submit(pool, WP__LANE_NORMAL, &t, pool->backpressure, pool->submit_timeout);
}

wp_status wp_submit(wp_pool *pool, wp_job_fn fn, void *arg)
{
    if (!pool || !fn)
        return WP_INVALID;
    wp__task t = { fn, arg, { 0 }, 0, 0, NULL, NULL };
    return wp__submit(pool, WP__LANE_NORMAL, &t, pool->backpressure, pool->submit_timeout);
}

/* --- taking jobs: priorities, fairness, rate limit ------------------------ */

/* Lane orders: usually high first; every 4th take normal first, every 16th
   low first (see wp_priority). */
static const unsigned char wp__lane_order[3][WP__LANES] = {
    { WP__LANE_HIGH, WP__LANE_NORMAL, WP__LANE_LOW },
    { WP__LANE_NORMAL, WP__LANE_HIGH, WP__LANE_LOW },
    { WP__LANE_LOW, WP__LANE_NORMAL, WP__LANE_HIGH },
};

/* With priorities in use: the lanes that exist, in this take's order. */
static WP__NOINLINE int wp__pop_by_priority(wp_pool *pool, wp__task *t, size_t *pos, unsigned used)
{
    used |= 1u << WP__LANE_NORMAL;
    unsigned n = wp__takes + 1;
    const unsigned char *order = wp__lane_order[n % 16 == 0 ? 2 : n % 4 == 0 ? 1 : 0];
    for (int i = 0; i < WP__LANES; i++) {
        if ((used & (1u << order[i])) && wp__queue_pop_at(pool->lanes[order[i]], t, sizeof *t, pos)) {
            wp__takes = n;
            return order[i];
        }
    }
    return -1;
}

/* Pops the next task by priority; answers its lane, or -1 if all are empty.
   Until a job of another priority has been submitted only the normal lane
   exists, and only it is looked at (inlined; the rest out of line). */
static WP__HOT_INLINE int wp__pop_next(wp_pool *pool, wp__task *t, size_t *pos)
{
    unsigned used = atomic_load_explicit(&pool->lanes_used, memory_order_acquire);
    if (!used)
        return wp__queue_pop_at(pool->lanes[WP__LANE_NORMAL], t, sizeof *t, pos) ? WP__LANE_NORMAL
                                                                                : -1;
    return wp__pop_by_priority(pool, t, pos, used);
}

/* Lane i, or NULL if it has not been made (a high or low lane before its
   first job). */
static inline wp_queue *wp__lane_at(const wp_pool *pool, int i)
{
    /* The cast: C11's atomic_load takes no pointer to const (C17 does). */
    return i == WP__LANE_NORMAL
            || (atomic_load_explicit((atomic_uint *)&pool->lanes_used, memory_order_acquire)
                & (1u << i))
        ? pool->lanes[i] : NULL;
}

static size_t wp__queued(const wp_pool *pool)
{
    size_t n = 0;
    for (int i = 0; i < WP__LANES; i++)
        if (wp__lane_at(pool, i))
            n += wp_queue_size(pool->lanes[i]);
    return n;
}

/* Every lane closed, and every job accepted before that taken. */
static bool wp__lanes_drained(const wp_pool *pool)
{
    for (int i = 0; i < WP__LANES; i++)
        if (wp__lane_at(pool, i) && !wp__queue_drained(pool->lanes[i]))
            return false;
    return true;
}

/* The rate limit as a generic cell rate algorithm: `rate.due` is when the
   next start is due; a start is allowed while that is at most `tolerance`
   (the burst) ahead of now, and moves it one interval on. Answers 0 when a
   start may happen now, else how long (pool clock) until one may. */
static int64_t wp__rate_claim(wp_pool *pool, int_least64_t *claimed)
{
    int64_t now = wp__pool_now(pool);
    int_least64_t due = atomic_load_explicit(&pool->rate.due, memory_order_relaxed);
    for (;;) {
        int64_t base = due > now ? due : now;
        if (base - now > pool->rate.tolerance)
            return base - now - pool->rate.tolerance;
        *claimed = base + pool->rate.interval;
        if (atomic_compare_exchange_weak_explicit(&pool->rate.due, &due, *claimed,
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
static WP__HOT_INLINE int wp__take(wp_pool *pool, wp__task *t, int64_t *wait)
{
    bool limited = pool->rate.interval != 0
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
            atomic_fetch_sub_explicit(&pool->rate.due, pool->rate.interval, memory_order_relaxed);
        (void)claimed;
    } else {
        lane = limited ? -1 : wp__pop_next(pool, t, &pos);
    }
    if (lane >= 0) {
        wp__notify_room(pool, lane, pos);
        return WP__GOT;
    }
    /* Closed but not drained means a submitter claimed a cell before the close
       and is still copying into it: keep trying, it is a matter of moments.
       `shut` (on a line nobody writes) spares an empty poll the lanes'
       contended head and tail lines until a close has begun. */
    if (!atomic_load_explicit(&pool->shut, memory_order_acquire))
        return WP__AGAIN;
    return wp__lanes_drained(pool) ? WP__FINISHED : WP__AGAIN;
}

/* --- running a job ------------------------------------------------------- */

static atomic_uint_least64_t *wp__outcome_counter(wp_pool *pool, wp__worker *w, wp_status s)
{
    switch (s) {
    case WP_OK: return &w->completed;
    case WP_TASK_FAILED: return &w->failed;
    case WP_CANCELED: return &w->canceled;
    case WP_EXPIRED: return &w->expired;
    default: return &pool->evicted; /* WP_EVICTED */
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
    /* One clock for every timing of a job: the pool's (see wp_config.clock). */
    int64_t end = outcome == WP_OK || outcome == WP_TASK_FAILED ? wp__pool_now(pool) : start;
    wp_result r = { wp__task_id(t), t->arg, value, code, outcome, wp__elapsed(t->enqueued_ns, start),
                    wp__elapsed(start, end), w ? w->index : -1 };
    if (t->on_done)
        t->on_done(&r);
    /* The slot is found before the group hears of the outcome, and the
       group before the handle: once their waiters see it, the group's
       memory and the slot's (with the token chain behind it) may be freed
       or reused. */
    wp__slot *slot = wp__slot_of(t);
    bool deliver = wp__group_conclude(pool, t, outcome, code); /* fork-join */
    if (slot)
        wp__slot_done(pool, slot, &r);
    wp__tally(w, counter);
    if (deliver && pool->results)
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
    bool canceling = atomic_load_explicit((atomic_int *)&pool->canceling, memory_order_acquire);
    if (t->token == NULL && t->deadline_ns == 0) /* a plain job */
        return canceling ? WP_CANCELED : WP_OK;
    if (canceling || wp_token_is_canceled(t->token))
        return WP_CANCELED;
    if (wp__past_deadline(pool, t))
        return WP_EXPIRED;
    return WP_OK;
}

/* The default job's path: a plain job (no token, deadline or callback,
   in a pool with no result channel and nothing observed) that a worker
   took from the queue. The steps of wp__execute below with nothing to
   time, mark or deliver: the pause handshake, the verdict (only close can
   cancel it), the run, the count. */
static WP__HOT_INLINE void wp__run_plain(wp_pool *pool, wp__runner *by, const wp__task *t)
{
    wp__worker *w = by->as;
    by->depth = 1;
    by->in_job = true;
    wp__claim_start(pool, w);
    atomic_store_explicit(&w->phase, WP__PHASE_RUNNING, memory_order_relaxed);
    atomic_uint_least64_t *counter = &w->canceled;
    if (!atomic_load_explicit(&pool->canceling, memory_order_acquire)) {
        wp_ctx ctx = { pool, t, NULL, w->index };
        int code = t->fn(t->arg, &ctx);
        counter = &w->completed;
        if (code != 0) {
            wp__observe_end(pool, w, t, code, 0); /* the last error */
            counter = &w->failed;
        }
    }
    wp__tally(w, counter);
    atomic_store_explicit(&w->phase, WP__PHASE_IDLE, memory_order_relaxed);
    by->depth = 0;
    by->in_job = false;
}

/* Runs (or cancels, or expires) one task for the thread whose record is
   `by` (the innermost one), and records its one outcome. Meanwhile the
   record says "in a job, one level deeper": the run, the callback and the
   delivery happen inside the job. */
static WP__NOINLINE void wp__execute_full(wp_pool *pool, wp__runner *by, const wp__task *t)
{
    wp__worker *w = by->as;
    bool was_in_job = by->in_job;
    int depth = by->depth++;
    by->in_job = true;
    bool timed = pool->results != NULL || t->on_done != NULL || wp__slot_of(t) != NULL;
    int64_t start = timed ? wp__pool_now(pool) : 0;
    wp_ctx ctx = { pool, t, NULL, w->index };
    int code = 0;
    wp_status outcome = wp__verdict(pool, t);
    /* A job its worker took from the queue passes the pause handshake
       after its verdict, just before it starts (held by a pause, it is
       judged again). Jobs a worker runs inside another job do not: like
       wp_pool_help, they run while paused. */
    if (depth == 0 && w->index >= 0 && wp__claim_start(pool, w))
        outcome = wp__verdict(pool, t);
    if (outcome == WP_OK && t->token && t->token->state)
        atomic_fetch_or_explicit(t->token->state, WP__H_RUNNING, memory_order_relaxed);
    if (w->index >= 0) {
        /* Running until the callback has run; saved and restored, since a
           job may run inside another on this worker. */
        int was = depth == 0 ? WP__PHASE_IDLE : WP__PHASE_RUNNING;
        atomic_store_explicit(&w->phase, WP__PHASE_RUNNING, memory_order_relaxed);
        if (outcome == WP_OK) {
            int64_t obs = wp__observe_begin(pool, w, t); /* observability */
            code = t->fn(t->arg, &ctx);
            wp__observe_end(pool, w, t, code, obs); /* observability */
            outcome = code == 0 ? WP_OK : WP_TASK_FAILED;
        }
        wp__conclude(pool, w, t, outcome, code, ctx.value, start);
        atomic_store_explicit(&w->phase, was, memory_order_relaxed);
    } else {
        if (outcome == WP_OK) {
            int64_t obs = wp__observe_begin(pool, w, t); /* observability */
            code = t->fn(t->arg, &ctx);
            wp__observe_end(pool, w, t, code, obs); /* observability */
            outcome = code == 0 ? WP_OK : WP_TASK_FAILED;
        }
        wp__conclude(pool, w, t, outcome, code, ctx.value, start);
    }
    by->depth = depth;
    by->in_job = was_in_job;
}

/* Runs one task for the thread whose record is `by` (the innermost one):
   a plain job a worker took from the queue on the lean path, anything
   else on the full one. */
static WP__HOT_INLINE void wp__execute(wp_pool *pool, wp__runner *by, const wp__task *t)
{
    WP_ASSERT(by == wp__top);
    if (by->depth == 0 && by->as->index >= 0 && t->token == NULL && t->on_done == NULL
        && t->deadline_ns == 0 && pool->results == NULL && !wp__observe_times(pool))
        wp__run_plain(pool, by, t);
    else
        wp__execute_full(pool, by, t);
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
        atomic_fetch_add_explicit(&pool->delivering, 1, memory_order_relaxed);
        wp__ws_await(&pool->result_room, WP_FOREVER, wp__attempt_push_result, a, NULL);
        atomic_fetch_sub_explicit(&pool->delivering, 1, memory_order_relaxed);
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

static bool wp__inline_run_one(wp_pool *pool);
static void wp__give_credit(wp_pool *pool);

wp_status wp_result_recv(wp_pool *pool, wp_result *out, int64_t timeout)
{
    if (!pool || !out || timeout < 0 || !pool->results)
        return WP_INVALID;
    wp__recv_args a = { pool, out };
    int r = wp__attempt_recv(&a);
    /* Nobody else runs an inline-only pool's jobs: its receiver produces
       the results it waits for. */
    while (r == WP__AGAIN && pool->inline_only && wp__inline_run_one(pool))
        r = wp__attempt_recv(&a);
    if (r == WP__AGAIN && timeout != WP_NOWAIT) {
        /* Counted as receiving while it waits: see wp__results_stalled. */
        atomic_fetch_add_explicit(&pool->receivers, 1, memory_order_seq_cst);
        r = wp__ws_await(&pool->result_ready, wp__deadline(timeout), wp__attempt_recv, &a, NULL);
        atomic_fetch_sub_explicit(&pool->receivers, 1, memory_order_relaxed);
    }
    if (r == WP_OK) {
        if (pool->credited)
            wp__give_credit(pool);
        else
            wp__ws_notify(&pool->result_room, false);
    }
    return r == WP__AGAIN ? WP_TIMED_OUT : (wp_status)r;
}

/* --- the worker ----------------------------------------------------------- */

/* A worker that took a job just as a pause landed holds it until resume
   (or close, which resumes), so that no job starts after wp_pool_pause has
   returned. */
static bool wp__is_paused(wp_pool *pool)
{
    return atomic_load_explicit(&pool->paused, memory_order_acquire)
        && !(atomic_load_explicit(&pool->lanes[WP__LANE_NORMAL]->head, memory_order_acquire) & WP__CLOSED_BIT);
}

static int wp__attempt_unpaused(void *arg)
{
    return wp__is_paused((wp_pool *)arg) ? WP__AGAIN : WP__DONE;
}

/* The worker's half of the pause handshake, between taking a job and
   starting it: it says it is starting, then looks for a pause, seq_cst on
   both sides; wp_pool_pause sets `paused`, then waits while any worker is
   starting. So either the pause sees this worker starting and returns only
   once the job has started, or the worker sees the pause and holds the job
   until resume (or close, which resumes): no job starts after
   wp_pool_pause has returned. Answers whether a pause held it. */
static WP__NOINLINE bool wp__claim_start_paused(wp_pool *pool, wp__worker *w)
{
    bool held = false;
    for (;;) {
        if (wp__is_closed(pool)) /* close resumes: see wp_pool_close */
            return held;
        atomic_store_explicit(&w->phase, WP__PHASE_IDLE, memory_order_release);
        wp__ws_await(&pool->job_ready, WP_FOREVER, wp__attempt_unpaused, pool, NULL);
        held = true;
        atomic_store_explicit(&w->phase, WP__PHASE_STARTING, memory_order_seq_cst);
        if (!atomic_load_explicit(&pool->paused, memory_order_seq_cst))
            return held;
    }
}

static inline bool wp__claim_start(wp_pool *pool, wp__worker *w)
{
    atomic_store_explicit(&w->phase, WP__PHASE_STARTING, memory_order_seq_cst);
    if (!atomic_load_explicit(&pool->paused, memory_order_seq_cst))
        return false;
    return wp__claim_start_paused(pool, w); /* out of line: the job path stays small */
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

static inline int wp__attempt_take_or_retire(void *arg)
{
    wp__take_args *a = (wp__take_args *)arg;
    wp_pool *pool = a->pool;
    /* A pause that lost a race with close must not hold the drain up. */
    int r;
    if (wp__is_paused(pool))
        r = WP__AGAIN;
    else
        r = wp__take(pool, a->task, &a->wait);
    if (r != WP__AGAIN)
        return r;
    /* Going idle: whoever waits for the pool to idle may be done now. */
    if (a->had_job) {
        a->had_job = false;
        wp__ws_notify(&pool->idle, true);
    }
    /* Idle workers answer retirement requests first; busy ones after their
       job (see wp__worker_main). */
    if (atomic_load_explicit(&pool->scale.retire_requests, memory_order_relaxed) > 0
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

/* How long a worker that found no job spins before parking: the full
   WP_SPIN_COUNT while the pool looks busy (as for the yield above), an
   eighth of it for a worker serving sporadic jobs. Such a worker was most
   likely woken onto the core of the thread that submitted its job (the
   scheduler places a wakee near its waker), and while it spins that thread,
   often the one waiting for the job's result, cannot run. */
static int wp__worker_spins(const wp__take_args *a)
{
    return a->short_park || a->streak >= WP__YIELD_STREAK ? WP_SPIN_COUNT : WP_SPIN_COUNT / 32;
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

/* Tells a thread hook about worker `index` (see wp_event). */
static void wp__hook_thread(wp_pool *pool, wp_hook_fn fn, wp_event_kind kind, int index)
{
    wp_event e = { kind, index, 0, NULL, 0, 0, 0 };
    fn(&e, pool->hook_user);
}

static wp__thread_ret wp__worker_main(void *arg)
{
    wp__worker *w = (wp__worker *)arg;
    wp_pool *pool = w->pool;
    wp__runner self;
    wp__enter(&self, pool, w, false);
    if (pool->on_thread_start)
        wp__hook_thread(pool, pool->on_thread_start, WP_EVENT_THREAD_START, w->index);

    wp__task task;
    wp__take_args a = { pool, w, &task, 0, false, 0, false, 0 };
    int64_t idle_since = -1;
    int r;
    for (;;) {
        bool slept = false;
        /* A busy pool's worker finds its next job here, without the
           waiting machinery's calls through a pointer. */
        r = wp__attempt_take_or_retire(&a);
        if (r == WP__AGAIN) {
            int64_t deadline = wp__idle_deadline(pool, &idle_since);
            r = wp__ws_await_ex(&pool->job_ready, deadline, wp__attempt_take_or_retire, &a,
                                &slept, wp__worker_may_yield, wp__worker_spins(&a));
        }
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
            wp__execute(pool, &self, &task);
            a.had_job = true;
            idle_since = -1;
            if (atomic_load_explicit(&pool->scale.retire_requests, memory_order_relaxed) > 0
                && wp__retire_on_request(pool)) {
                r = WP__RETIRE;
                break;
            }
            if (atomic_load_explicit(&pool->scale.on, memory_order_relaxed))
                wp__maybe_scale_up(pool);
        } else if (r == WP__RATED) {
            wp__await_rate(pool, a.wait);
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
    wp__ws_notify(&pool->idle, true);
    if (pool->on_thread_stop)
        wp__hook_thread(pool, pool->on_thread_stop, WP_EVENT_THREAD_STOP, w->index);
    wp__leave(&self);
    /* A retiring worker already left `live`; marking the slot lets a spawner
       (or destroy) join this thread. */
    atomic_store_explicit(&w->state, WP__SLOT_EXITED, memory_order_release);
    if (r == WP__FINISHED)
        wp__count_out(pool, 1);
    return WP__THREAD_RETURN;
}

/* --- submitting with options: jobs, batches, retries ------------------- */

static bool wp__policy_ok(wp_backpressure p)
{
    return p >= WP_BACKPRESSURE_DEFAULT && p <= WP_CALLER_RUNS;
}

static bool wp__job_ok(const wp_job *job)
{
    return job->fn && wp__policy_ok(job->backpressure) && job->submit_timeout >= 0 && job->deadline >= 0
        && job->priority >= WP_PRIORITY_NORMAL && job->priority <= WP_PRIORITY_LOW;
}

static int wp__lane_of(wp_priority p)
{
    return p == WP_PRIORITY_HIGH ? WP__LANE_HIGH : p == WP_PRIORITY_LOW ? WP__LANE_LOW : WP__LANE_NORMAL;
}

static wp__task wp__task_of(const wp_pool *pool, const wp_job *job)
{
    wp__task t = { job->fn, job->arg, { job->id }, 0, 0, job->token, job->on_done };
    if (job->deadline) {
        t.deadline_ns = wp__later(wp__pool_now(pool), job->deadline);
        if (t.deadline_ns == 0) /* 0 means none: a clock at exactly zero */
            t.deadline_ns = 1;
    }
    return t;
}

/* A submit timeout bounds any wait for room: WP_BLOCK given one is
   WP_TIMEOUT (never silently ignored). */
static wp_backpressure wp__policy_of(const wp_pool *pool, const wp_job *job)
{
    wp_backpressure p = job->backpressure ? job->backpressure : pool->backpressure;
    return p == WP_BLOCK && job->submit_timeout ? WP_TIMEOUT : p;
}

static int64_t wp__timeout_of(const wp_pool *pool, const wp_job *job)
{
    return job->submit_timeout ? job->submit_timeout : pool->submit_timeout;
}

/* A submission that asked for a handle: take a slot first, give it back if
   the job is refused. */
static wp_status wp__submit_handled(wp_pool *pool, const wp_job *job, wp__task *t)
{
    wp_handle h = { 0, 0 };
    *job->handle = h;
    if (atomic_load_explicit(&pool->lanes[WP__LANE_NORMAL]->head, memory_order_acquire) & WP__CLOSED_BIT)
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
    if (job->group || job->pinned)
        return wp__submit_member(pool, job, &t); /* fork-join */
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
    bool observed = wp__observe_times(pool), stamped = false;
    int64_t now = 0;
    size_t n = 0;
    while (n < count && n < WP__BATCH_RUN && wp__job_ok(&jobs[n]) && !jobs[n].handle
           && !jobs[n].group && !jobs[n].pinned && wp__lane_of(jobs[n].priority) == lane) {
        run[n] = wp__task_of(pool, &jobs[n]);
        /* Timed as wp__submit does, with one clock read for the run. */
        if (observed || wp__timed(pool, &run[n])) {
            if (!stamped)
                now = wp__pool_now(pool);
            stamped = true;
            run[n].enqueued_ns = now;
        }
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
        if (!wp__job_ok(&jobs[i]) || jobs[i].handle || jobs[i].group || jobs[i].pinned) {
            /* one by one */
            wp_status s = wp_submit_job(pool, &jobs[i]);
            if (statuses)
                statuses[i] = s;
            accepted += s == WP_OK;
            i++;
            continue;
        }
        int lane = wp__lane_of(jobs[i].priority);
        wp_status opened = wp__use_lane(pool, lane);
        if (opened != WP_OK) { /* closed, or no memory for the lane */
            if (statuses)
                statuses[i] = opened;
            i++;
            continue;
        }
        size_t n = wp__batch_run(pool, jobs + i, count - i, run);
        wp__observe_submit(pool, n); /* observability: as n single submissions */
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

/* --- threads that are not workers ---------------------------------------- */

static bool wp__is_closed(const wp_pool *pool);

/* Wakes whoever waits for a producer of outcomes to go away. */
static void wp__helper_leave(wp_pool *pool)
{
    atomic_fetch_sub_explicit(&pool->helpers, 1, memory_order_release);
    wp__ws_notify(&pool->idle, true);
    wp__ws_notify(&pool->result_ready, true);
    wp__ws_notify(&pool->exited, true);
}

/* Pushes record `r`: this thread now works for `pool`, as its worker `as`,
   or (as NULL) with the identity of a record it already has for the pool,
   else as the pool's `external` runner. A thread that did not work for the
   pool yet counts itself in `helpers` first and then looks whether the
   pool is closed, seq_cst on both sides, so that a close either sees it
   counted or it sees the close; with `open_only` a closed pool refuses the
   entry (false). A job of this pool whose thread enters to do the pool's
   work (wait, help, run a nested job) is set aside meanwhile: wp_pool_wait_idle
   called from jobs does not wait for it, so jobs that wait on each other
   this way cannot deadlock. */
static bool wp__enter(wp__runner *r, wp_pool *pool, wp__worker *as, bool open_only)
{
    wp__runner *known = wp__find(pool, false);
    r->pool = pool;
    r->as = as ? as : known ? known->as : &pool->external;
    r->in_job = false;
    r->counted = known == NULL && as == NULL;
    r->aside = known != NULL && known->in_job;
    r->depth = wp__depth();
    r->outer = wp__top;
    if (r->counted) {
        atomic_fetch_add_explicit(&pool->helpers, 1, memory_order_seq_cst);
        if (open_only && wp__is_closed(pool)) {
            wp__helper_leave(pool);
            return false;
        }
    }
    if (r->aside) { /* see wp__attempt_idle */
        atomic_fetch_add_explicit(&pool->suspends, 1, memory_order_seq_cst);
        wp__ws_notify(&pool->idle, true);
    }
    wp__top = r;
    return true;
}

static void wp__leave(wp__runner *r)
{
    wp__top = r->outer;
    if (r->aside)
        atomic_fetch_add_explicit(&r->pool->resumes, 1, memory_order_seq_cst);
    if (r->counted)
        wp__helper_leave(r->pool);
}

/* The credits of an inline-only pool's result channel. Its results come
   only from threads that run its jobs on their way through a call, and
   none of them may wait without bound for a receiver (a close or a submit
   with a timeout must return by it): so each takes a credit, one free
   cell of the channel, before it takes a job, and the receiver gives it
   back with the result. Pools with workers, or without a channel, need
   none: their workers wait for room, as documented. */
static bool wp__take_credit(wp_pool *pool)
{
    if (!pool->credited || atomic_load_explicit(&pool->destroying, memory_order_acquire))
        return true;
    size_t c = atomic_load_explicit(&pool->credits, memory_order_relaxed);
    do {
        if (c == 0)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->credits, &c, c - 1,
                                                    memory_order_acquire, memory_order_relaxed));
    return true;
}

static void wp__give_credit(wp_pool *pool)
{
    if (pool->credited) {
        atomic_fetch_add_explicit(&pool->credits, 1, memory_order_release);
        wp__ws_notify(&pool->result_room, true);
    }
}

static int wp__attempt_credit(void *arg)
{
    return wp__take_credit((wp_pool *)arg) ? WP__DONE : WP__AGAIN;
}

/* Waits until `deadline` for a credit (see wp__take_credit). */
static bool wp__await_credit(wp_pool *pool, int64_t deadline)
{
    return wp__ws_await(&pool->result_room, deadline, wp__attempt_credit, pool, NULL) == WP__DONE;
}

static void wp__inline_finish(wp_pool *pool);

/* Takes and runs one job on the calling thread, whose record is `by`.
   False when none may be taken now: none queued, the rate limit, this
   thread's stack already holds WP_NEST_MAX jobs, or (unless `must`) a full
   result channel, whose receiver may be this very thread; in an inline-only
   pool, no credit. */
static bool wp__help_one(wp_pool *pool, wp__runner *by, bool must)
{
    wp__task t;
    int64_t wait;
    /* `must`: a close or a submitter of an inline-only pool, which runs
       jobs one after another, never one inside another. */
    if (by->depth >= WP_NEST_MAX && !must)
        return false;
    if (!must && !pool->credited && pool->results
        && wp_queue_size(pool->results) >= wp_queue_capacity(pool->results))
        return false;
    if (!wp__take_credit(pool))
        return false;
    if (wp__take(pool, &t, &wait) != WP__GOT) {
        wp__give_credit(pool);
        return false;
    }
    wp__execute(pool, by, &t);
    return true;
}

/* wp_result_recv on an inline-only pool: runs one queued job on the
   receiver; once the pool is closed and drained, retires its unit. */
static bool wp__inline_run_one(wp_pool *pool)
{
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    bool ran = wp__help_one(pool, &self, false);
    wp__leave(&self);
    if (wp__is_closed(pool))
        wp__inline_finish(pool);
    return ran;
}

/* Runs a submission right here, on the submitting thread: a nested
   submission into a full queue, or WP_CALLER_RUNS (limit WP_NEST_MAX), or a
   group member submitted at that depth (a higher limit, see the fork-join
   module). A job that always submits another would recurse without end:
   past `limit` it is refused. */
static wp_status wp__run_here(wp_pool *pool, const wp__task *t, int limit)
{
    if (wp__depth() >= limit) {
        wp__count(&pool->rejected);
        return WP_WOULD_DEADLOCK;
    }
    wp__runner r;
    if (!wp__enter(&r, pool, NULL, true)) {
        wp__count(&pool->refused_closed);
        return WP_CLOSED;
    }
    if (!wp__take_credit(pool))
        wp__await_credit(pool, WP_FOREVER);
    wp__tally(r.as, &r.as->ran_inline);
    wp__execute(pool, &r, t);
    wp__leave(&r);
    return WP_OK;
}

/* Runs queued jobs for `by` until none may be taken or `budget` is spent. */
static size_t wp__help_for(wp_pool *pool, wp__runner *by, int64_t budget)
{
    int64_t deadline = wp__deadline(budget);
    size_t ran = 0;
    while ((budget == WP_FOREVER || wp__now_ns() < deadline) && wp__help_one(pool, by, false))
        ran++;
    return ran;
}

size_t wp_pool_help(wp_pool *pool, int64_t budget)
{
    if (!pool || budget < 0)
        return 0;
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    size_t ran = wp__help_for(pool, &self, budget);
    wp__leave(&self);
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

/* Jobs accepted and not yet ended, and (in *ended) the outcomes counted so
   far. Outcomes are read first and acceptances second; both only grow, and
   an outcome's count is released after the pop that took its job (which
   acquired the push), so a zero here means that at the moment between the
   two reads every accepted job had ended. The lanes count acceptances in
   size_t tickets, which wrap (after 2^31 jobs on 32-bit targets); the
   result, far below that, is taken modulo the wrap, so ended + pending is
   the exact 64-bit count of acceptances at the second read (the stats'
   `submitted`, with nothing added to the submit path). */
static uint64_t wp__jobs_pending(const wp_pool *pool, uint64_t *ended_out)
{
    uint64_t ended = wp__load(&pool->evicted, memory_order_acquire);
    for (int i = -1; i < pool->slots; i++)
        ended += wp__outcomes(i < 0 ? &pool->external : &pool->workers[i]);
    uint64_t accepted = 0;
    for (int i = -1; i < pool->slots; i++)
        accepted += wp__load(i < 0 ? &pool->external.ran_inline : &pool->workers[i].ran_inline,
                             memory_order_acquire);
    for (int i = 0; i < WP__LANES; i++)
        if (wp__lane_at(pool, i))
            accepted += wp__queue_accepted(pool->lanes[i]);
    if (pool->pinned)
        accepted += wp__queue_accepted(pool->pinned);
    if (ended_out)
        *ended_out = ended;
    return (accepted - ended) & ((uint64_t)SIZE_MAX >> 1);
}

static uint64_t wp__pending(const wp_pool *pool) { return wp__jobs_pending(pool, NULL); }

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
    return a->helps && wp__queued(pool) > 0 ? WP__HELP : WP__AGAIN;
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
    /* Inside a job, or in a pool without workers, the caller runs queued
       jobs while it waits (up to WP_NEST_MAX deep, then it only waits). */
    bool enters = a.in_job || pool->inline_only;
    wp__runner self;
    if (enters)
        wp__enter(&self, pool, NULL, false);
    a.helps = enters && self.depth < WP_NEST_MAX;
    int r;
    do {
        size_t ran = a.helps ? wp__help_for(pool, &self, wp__budget_until(deadline)) : 0;
        r = wp__ws_await(&pool->idle, deadline, wp__attempt_idle, &a, NULL);
        if (r == WP__HELP && ran == 0) /* rate-limited, or no room for results */
            wp__sleep_ns(WP_US(100));
    } while (r == WP__HELP && wp__budget_until(deadline) > 0);
    if (enters)
        wp__leave(&self);
    return r == WP_OK ? WP_OK : WP_TIMED_OUT;
}

/* --- job handles --------------------------------------------------------- */

#define WP__TAG_ONE (UINT64_C(1) << 32)

static uint32_t wp__gen(uint64_t state) { return (uint32_t)(state >> 32); }

static void wp__slot_push(wp_pool *pool, uint32_t index)
{
    uint64_t top = atomic_load_explicit(&pool->handles.free_top, memory_order_relaxed);
    do {
        atomic_store_explicit(&pool->handles.slots[index].next, (unsigned)(top & 0xffffffffu),
                              memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&pool->handles.free_top, &top,
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
    wp__slot_push(pool, (uint32_t)(slot - pool->handles.slots));
}

/* Takes a free slot for a task that asked for a handle: the task then
   carries the slot's token (which also obeys the user's token). False when
   every slot is held. */
static bool wp__slot_take(wp_pool *pool, wp__task *t, wp_handle *h)
{
    uint64_t top = atomic_load_explicit(&pool->handles.free_top, memory_order_acquire);
    uint32_t index;
    do {
        index = (uint32_t)(top & 0xffffffffu);
        if (index == 0)
            return false;
        /* A racing pop may have reused the slot: the tag makes our CAS fail. */
        unsigned next = atomic_load_explicit(&pool->handles.slots[index - 1].next, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&pool->handles.free_top, &top,
                                                  ((top & ~UINT64_C(0xffffffff)) + WP__TAG_ONE) | next,
                                                  memory_order_acquire, memory_order_acquire))
            break;
    } while (1);
    wp__slot *slot = &pool->handles.slots[index - 1];
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
    if (!pool || h.slot >= pool->handles.count || h.generation == 0)
        return NULL;
    wp__slot *slot = &pool->handles.slots[h.slot];
    *state = atomic_load_explicit(&slot->state, memory_order_acquire);
    if (wp__gen(*state) != h.generation || (*state & (WP__H_RELEASED | WP__H_FREE)))
        return NULL;
    return slot;
}

/* Sets RELEASED on a current handle; frees the slot if the job is done,
   after copying its result to `out` (if not NULL). The result is read only
   after our CAS has set RELEASED on a DONE slot: from then on nobody else
   may free the slot, so no next job can be writing it (a copy made before
   the CAS could race with a release by another thread and the slot's
   reuse). */
static wp_status wp__slot_release(wp_pool *pool, wp_handle h, wp_result *out)
{
    uint64_t state;
    wp__slot *slot = wp__slot_named(pool, h, &state);
    while (slot) {
        if (atomic_compare_exchange_weak_explicit(&slot->state, &state, state | WP__H_RELEASED,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            if (state & WP__H_DONE) {
                if (out)
                    *out = slot->result;
                wp__slot_free(pool, slot, state);
            }
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
    /* DONE only ever stays set until the slot is freed, so a successful
       release here found it set and copied the result. */
    if (wp__slot_release(a->pool, a->handle, a->out) != WP_OK)
        return WP_INVALID; /* another thread took it first */
    return WP_OK;
}

wp_status wp_job_wait(wp_pool *pool, wp_handle handle, int64_t timeout, wp_result *out)
{
    if (!pool || timeout < 0)
        return WP_INVALID;
    wp__job_wait_args a = { pool, handle, out };
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
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


static wp__thread_ret wp__worker_main(void *arg);

static int wp__start_thread(wp__worker *w)
{
    return WP__THREAD_START(&w->thread, wp__worker_main, w, w->pool->stack_size);
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
        if (live == 0 || wp__total(live) >= atomic_load_explicit(&pool->scale.max_workers, memory_order_relaxed)
            || (atomic_load_explicit(&pool->lanes[WP__LANE_NORMAL]->head, memory_order_relaxed) & WP__CLOSED_BIT))
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->live, &live, live + WP__INFLIGHT,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

static void wp__raise_peak(wp_pool *pool)
{
    int n = wp__started(wp__live(pool));
    int peak = atomic_load_explicit(&pool->scale.peak, memory_order_relaxed);
    while (n > peak && !atomic_compare_exchange_weak_explicit(&pool->scale.peak, &peak, n,
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
        wp__count(&pool->scale.spawn_failures);
    wp__count_out(pool, WP__INFLIGHT);
    return no_slot ? WP__NO_SLOT : WP__SPAWN_FAILED;
}

static void wp__record_scale(wp_pool *pool, bool up)
{
    int64_t since = wp__pool_now(pool) - pool->created_ns;
    wp__count(up ? &pool->scale.ups : &pool->scale.downs);
    atomic_store_explicit(up ? &pool->scale.last_up : &pool->scale.last_down, since,
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
    if (!atomic_load_explicit(&pool->scale.on, memory_order_relaxed)
        || wp__queued(pool) <= pool->scale.up_threshold
        || wp__total(wp__live(pool)) >= atomic_load_explicit(&pool->scale.max_workers, memory_order_relaxed))
        return;
    if (!wp__claim_cooldown(&pool->scale.next_up, wp__pool_now(pool), pool->scale.up_cooldown))
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
        if (wp__started(live) <= atomic_load_explicit(&pool->scale.min_workers, memory_order_relaxed))
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->live, &live, live - 1,
                                                    memory_order_release, memory_order_relaxed));
    return true;
}

/* Honours a wp_pool_scale/resize request to retire a worker, if any. */
static bool wp__retire_on_request(wp_pool *pool)
{
    int r = atomic_load_explicit(&pool->scale.retire_requests, memory_order_relaxed);
    while (r > 0) {
        if (atomic_compare_exchange_weak_explicit(&pool->scale.retire_requests, &r, r - 1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            if (wp__leave_above_min(pool))
                return true;
            /* Already at min: the remaining requests are moot. */
            atomic_store_explicit(&pool->scale.retire_requests, 0, memory_order_relaxed);
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
    if (now - idle_since < pool->scale.idle_timeout
        || wp__started(wp__live(pool)) <= atomic_load_explicit(&pool->scale.min_workers, memory_order_relaxed))
        return false;
    if (!wp__claim_cooldown(&pool->scale.next_down, now, pool->scale.down_cooldown))
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
    if (!atomic_load_explicit(&pool->scale.on, memory_order_relaxed)
        || wp__started(wp__live(pool)) <= atomic_load_explicit(&pool->scale.min_workers, memory_order_relaxed))
        return WP_FOREVER;
    if (*idle_since < 0)
        *idle_since = wp__pool_now(pool);
    if (pool->clock)
        return wp__deadline(WP_MS(1));
    int64_t due = wp__later(*idle_since, pool->scale.idle_timeout);
    int64_t cooldown = atomic_load_explicit(&pool->scale.next_down, memory_order_relaxed);
    return cooldown > due ? cooldown : due;
}

/* --- fork-join: groups, ranges, continuations, pinned jobs ----------------

   A module: its state lives in caller-owned groups and ranges and in the
   pool's optional pinned queue. It joins the core at three seams: submit
   (wp_submit_job hands it jobs with a group or pinned set), conclude
   (wp__group_conclude counts a member's outcome, reached only by jobs with a
   token, so plain jobs pay nothing) and close (the pinned queue). Waiting
   uses the core's helping rule (wp__help_one, at most WP_NEST_MAX deep) and
   parks on the pool's job_done waitset, which handles share.

   A group's `pending` counts members accepted and not ended, plus
   WP__ARMED while a continuation waits for it and WP__FIRING while one is
   being submitted: the group is complete when it reads zero. A member's
   join is sequenced before its push (release), and the push before its
   pop (acquire), so the count never drops below a member's own add. */

#define WP__ARMED (UINT64_C(1) << 62)
#define WP__FIRING (UINT64_C(1) << 61)
#define WP__MEMBERS(p) ((p) & (WP__FIRING - 1))
/* How deep a thread runs group members in place (see wp__submit_member). */
#define WP__MEMBER_NEST_MAX (4 * WP_NEST_MAX)

typedef struct wp__group {
    wp_token token; /* first: a member's token pointer leads back here */
    atomic_uint_least64_t pending;
    atomic_uint_least64_t ended[5]; /* completed, failed, canceled, expired, evicted */
    atomic_int first_error;
    atomic_int then_status;
    unsigned char quiet;            /* a range's shares: counted, never delivered */
    wp_pool *then_pool;             /* the armed continuation, written before */
    wp_job then_job;                /* the WP__ARMED add (release) */
} wp__group;

_Static_assert(sizeof(wp__group) <= sizeof(wp_group), "wp_group too small");
_Static_assert(_Alignof(wp__group) <= _Alignof(wp_group), "wp_group misaligned");

static wp__group *wp__group_at(wp_group *g) { return (wp__group *)(void *)g; }

/* The group a task is a member of: its token, or (with a handle) its
   slot's parent. */
static wp__group *wp__group_of(const wp__task *t)
{
    wp_token *k = t->token;
    if (k && k->kind == WP__TOKEN_SLOT)
        k = k->parent;
    return k && k->kind == WP__TOKEN_GROUP ? (wp__group *)(void *)k : NULL;
}

static uint64_t wp__group_pending(wp__group *g)
{
    /* Acquire pairs with the acq_rel decrements: a waiter that reads zero
       sees every member's work. */
    return atomic_load_explicit(&g->pending, memory_order_acquire);
}

/* Submits the armed continuation of `g`, once no member is pending. A
   thread that saw only WP__ARMED left claims it with a CAS (another such
   thread, after a member joined and left meanwhile, may race it). The
   winner holds the group incomplete (WP__FIRING), which also keeps
   wp_group_then from writing the job, so only then does it read the job
   (acquire: pairs with the arming's release); it lets go once the
   submission's status is stored and never touches `g` again. */
static void wp__group_leave(wp_pool *pool, wp__group *g);

static void wp__group_fire(wp__group *g)
{
    uint64_t armed = WP__ARMED;
    if (!atomic_compare_exchange_strong_explicit(&g->pending, &armed, WP__FIRING,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return;
    wp_pool *pool = g->then_pool;
    wp_job next = g->then_job;
    wp_status s = wp_submit_job(pool, &next);
    atomic_store_explicit(&g->then_status, s, memory_order_relaxed);
    if (atomic_fetch_sub_explicit(&g->pending, WP__FIRING, memory_order_acq_rel) == WP__FIRING)
        wp__ws_notify(&pool->job_done, true);
    /* The next group was held open since the arming (wp_group_then); the
       job has joined it now, or was refused. */
    if (next.group)
        wp__group_leave(pool, wp__group_at(next.group));
}

/* One member (or a refused join) leaves. Reads nothing of `g` after its
   decrement unless that left only the armed continuation. */
static void wp__group_leave(wp_pool *pool, wp__group *g)
{
    uint64_t left = atomic_fetch_sub_explicit(&g->pending, 1, memory_order_acq_rel) - 1;
    if (left == 0)
        wp__ws_notify(&pool->job_done, true);
    else if (left == WP__ARMED)
        wp__group_fire(g);
}

static bool wp__group_conclude(wp_pool *pool, const wp__task *t, wp_status outcome, int code)
{
    wp__group *g = wp__group_of(t);
    if (!g)
        return true;
    bool quiet = g->quiet;
    if (!quiet) {
        int i = outcome == WP_OK ? 0 : outcome == WP_TASK_FAILED ? 1 : outcome == WP_CANCELED ? 2
              : outcome == WP_EXPIRED ? 3 : 4;
        atomic_fetch_add_explicit(&g->ended[i], 1, memory_order_relaxed);
        int none = 0;
        if (outcome == WP_TASK_FAILED)
            atomic_compare_exchange_strong_explicit(&g->first_error, &none, code,
                                                    memory_order_relaxed, memory_order_relaxed);
    }
    wp__group_leave(pool, g);
    return !quiet;
}

void wp_group_init(wp_group *group, wp_token *token)
{
    if (!group)
        return;
    memset(group, 0, sizeof *group);
    wp__group *g = wp__group_at(group);
    atomic_init(&g->token.canceled, 0);
    g->token.kind = WP__TOKEN_GROUP;
    g->token.parent = token;
    atomic_init(&g->pending, 0);
    for (int i = 0; i < 5; i++)
        atomic_init(&g->ended[i], 0);
    atomic_init(&g->first_error, 0);
    atomic_init(&g->then_status, WP_OK);
}

void wp_group_cancel(wp_group *group)
{
    /* Release pairs with the acquire in wp_token_is_canceled. */
    if (group)
        atomic_store_explicit(&wp__group_at(group)->token.canceled, 1, memory_order_release);
}

void wp_group_query(const wp_group *group, wp_group_counts *out)
{
    if (!group || !out)
        return;
    wp__group *g = wp__group_at((wp_group *)(uintptr_t)group);
    out->pending = WP__MEMBERS(wp__group_pending(g));
    out->completed = wp__load(&g->ended[0], memory_order_relaxed);
    out->failed = wp__load(&g->ended[1], memory_order_relaxed);
    out->canceled = wp__load(&g->ended[2], memory_order_relaxed);
    out->expired = wp__load(&g->ended[3], memory_order_relaxed);
    out->evicted = wp__load(&g->ended[4], memory_order_relaxed);
    out->first_error = atomic_load_explicit(&g->first_error, memory_order_relaxed);
    out->then_status = (wp_status)atomic_load_explicit(&g->then_status, memory_order_relaxed);
}

typedef struct wp__group_wait_args {
    wp_pool *pool;
    wp__group *group;
    bool helps;
} wp__group_wait_args;

static int wp__attempt_group(void *arg)
{
    wp__group_wait_args *a = (wp__group_wait_args *)arg;
    if (wp__group_pending(a->group) == 0)
        return WP__DONE;
    return a->helps && wp__queued(a->pool) > 0 ? WP__HELP : WP__AGAIN;
}

/* Waits until `deadline` for `g` to be complete, running queued jobs
   meanwhile up to WP_NEST_MAX deep (see wp__help_one); answers WP__DONE or
   WP__AGAIN. The caller's own job, if any, is set aside while it waits, as
   in wp_pool_wait_idle. */
static int wp__group_await(wp_pool *pool, wp__group *g, int64_t deadline)
{
    if (wp__group_pending(g) == 0)
        return WP__DONE;
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    /* A thread that is not one of the pool's workers helps only where a
       job it runs cannot wait for a receiver: no result channel, or an
       inline-only pool's credits. Else the delivery could outlast the
       timeout, and its receiver may be this very thread. */
    bool may_help = !pool->results || pool->credited || self.as->index >= 0;
    wp__group_wait_args a = { pool, g, may_help && self.depth < WP_NEST_MAX };
    int r;
    do {
        size_t ran = 0;
        while (a.helps && wp__group_pending(g) != 0
               && (deadline == WP_FOREVER || wp__now_ns() < deadline)
               && wp__help_one(pool, &self, false))
            ran++;
        r = wp__ws_await(&pool->job_done, deadline, wp__attempt_group, &a, NULL);
        if (r == WP__HELP && ran == 0) /* rate-limited, or no room for results */
            wp__sleep_ns(WP_US(100));
    } while (r == WP__HELP && wp__budget_until(deadline) > 0);
    wp__leave(&self);
    return r == WP__DONE ? WP__DONE : WP__AGAIN;
}

wp_status wp_group_wait(wp_pool *pool, wp_group *group, int64_t timeout)
{
    if (!pool || !group || timeout < 0)
        return WP_INVALID;
    int64_t deadline = timeout == WP_NOWAIT ? INT64_MIN : wp__deadline(timeout);
    return wp__group_await(pool, wp__group_at(group), deadline) == WP__DONE ? WP_OK : WP_TIMED_OUT;
}

/* Whether arming `g` with a continuation that joins `next` would close a
   loop: a chain of armed groups, each holding the next open, that leads
   back to `g` would never complete. */
static bool wp__group_loops(wp__group *g, wp__group *next)
{
    for (int hops = 0; next; hops++) {
        if (next == g || hops > 1000000)
            return true;
        /* Acquire pairs with the arming's release: its job is readable. */
        if (!(wp__group_pending(next) & WP__ARMED))
            return false;
        next = next->then_job.group ? wp__group_at(next->then_job.group) : NULL;
    }
    return false;
}

wp_status wp_group_then(wp_pool *pool, wp_group *group, const wp_job *next)
{
    if (!pool || !group || !next || !wp__job_ok(next))
        return WP_INVALID;
    wp__group *g = wp__group_at(group);
    if (wp__group_pending(g) & (WP__ARMED | WP__FIRING))
        return WP_INVALID;
    wp__group *then = next->group ? wp__group_at(next->group) : NULL;
    if (then && wp__group_loops(g, then))
        return WP_INVALID;
    /* Holds the next group open until the continuation has joined it, so
       that a chain armed ahead of its members cannot complete early. */
    if (then)
        atomic_fetch_add_explicit(&then->pending, 1, memory_order_relaxed);
    g->then_pool = pool;
    g->then_job = *next;
    /* Release publishes the job to whichever thread fires it. */
    if (atomic_fetch_add_explicit(&g->pending, WP__ARMED, memory_order_acq_rel) == 0)
        wp__group_fire(g);
    return WP_OK;
}

/* Pinned jobs wait in their own queue, which only wp_pool_help_pinned and
   the close take from. */
static wp_status wp__submit_pinned(wp_pool *pool, wp__task *t)
{
    if (wp__timed(pool, t))
        t->enqueued_ns = wp__now_ns();
    switch (wp__queue_push(pool->pinned, t, sizeof *t)) {
    case WP__PUSHED: return WP_OK;
    case WP__SHUT: return wp__refused_closed(pool);
    default: wp__count(&pool->rejected); return WP_FULL;
    }
}

/* A job with a group or pinned set (see wp_submit_job). The member joins
   before it can run and leaves again if refused. A member submitted from
   a stack already WP_NEST_MAX jobs deep runs in place: the thread would
   only park if it waited for it, and every thread may be that deep (a
   recursive fork-join), so queueing it could leave nobody to run it. */
static wp_status wp__submit_member(wp_pool *pool, const wp_job *job, wp__task *t)
{
    wp__group *g = job->group ? wp__group_at(job->group) : NULL;
    if (job->pinned && (!pool->pinned || job->handle))
        return WP_INVALID;
    if (g) {
        if (job->token && job->token != g->token.parent)
            return WP_INVALID;
        t->token = &g->token;
        atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    }
    wp_status s;
    int depth = wp__depth();
    if (job->pinned)
        s = wp__submit_pinned(pool, t);
    else if (job->handle)
        s = wp__submit_handled(pool, job, t);
    else if (g && depth >= WP_NEST_MAX && depth < WP__MEMBER_NEST_MAX)
        s = wp__run_here(pool, t, WP__MEMBER_NEST_MAX);
    else
        s = wp__submit(pool, wp__lane_of(job->priority), t, wp__policy_of(pool, job),
                       wp__timeout_of(pool, job));
    if (s != WP_OK && g)
        wp__group_leave(pool, g);
    return s;
}

size_t wp_pool_help_pinned(wp_pool *pool, int64_t budget)
{
    if (!pool || budget < 0 || !pool->pinned)
        return 0;
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    int64_t deadline = wp__deadline(budget);
    size_t ran = 0;
    wp__task t;
    while ((budget == WP_FOREVER || wp__now_ns() < deadline) && self.depth < WP_NEST_MAX
           && wp__take_credit(pool)) {
        if (!wp__queue_pop(pool->pinned, &t, sizeof t)) {
            wp__give_credit(pool);
            break;
        }
        wp__execute(pool, &self, &t);
        ran++;
    }
    wp__leave(&self);
    return ran;
}

/* The close's part: no pinned job is accepted any more; the closing thread
   runs what is queued (or cancels it: WP_CANCEL, or once the deadline has
   passed). Answers whether the deadline forced a cancel. */
static bool wp__pinned_close(wp_pool *pool, int64_t deadline)
{
    wp__queue_close(pool->pinned);
    bool forced = false;
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    wp__task t;
    while (!wp__queue_drained(pool->pinned)) {
        if (deadline != WP_FOREVER && wp__now_ns() >= deadline
            && !atomic_load_explicit(&pool->canceling, memory_order_acquire)) {
            wp__start_canceling(pool);
            forced = true;
        }
        if (!wp__take_credit(pool)) { /* an inline-only pool's full channel */
            if (wp__await_credit(pool, deadline == WP_FOREVER ? WP_FOREVER : wp__deadline(WP_MS(10))))
                wp__give_credit(pool); /* taken again above */
            else if (deadline != WP_FOREVER && wp__now_ns() >= deadline)
                break; /* no room for outcomes, and no time left */
            continue;
        }
        if (wp__queue_pop(pool->pinned, &t, sizeof t))
            wp__execute(pool, &self, &t);
        else {
            wp__give_credit(pool);
            wp__thread_yield(); /* a submitter still copying into a cell */
        }
    }
    wp__leave(&self);
    return forced;
}

/* A range job: one queued task (wp__range_main) whose runner offers shares
   (wp__range_share) to other threads; every participant claims chunks of
   `grain` items from the shared cursor `next`. The shares are members of
   the range's own quiet group, and the main task waits for them before
   it ends, so no share can outlive the range's memory. Why a shared cursor
   and not recursive halving: see bench/forkjoin.md. */
typedef struct wp__range {
    wp__group shares;
    wp_range_fn fn;
    void *arg;
    size_t n, grain;
    int lane;
    bool pinned;        /* runs only where pinned jobs run: no shares */
    atomic_size_t next;
    atomic_int code;    /* the first chunk's failure; 0 = none */
    atomic_int stop;    /* 1: a chunk failed; 2: a participant saw should_stop */
} wp__range;

_Static_assert(sizeof(wp__range) <= sizeof(wp_range), "wp_range too small");
_Static_assert(_Alignof(wp__range) <= _Alignof(wp_range), "wp_range misaligned");

static void wp__range_work(wp__range *r, wp_ctx *ctx)
{
    for (;;) {
        if (atomic_load_explicit(&r->stop, memory_order_relaxed))
            return;
        if (wp_ctx_should_stop(ctx)) {
            int none = 0;
            atomic_compare_exchange_strong_explicit(&r->stop, &none, 2, memory_order_relaxed,
                                                    memory_order_relaxed);
            return;
        }
        size_t b = atomic_fetch_add_explicit(&r->next, r->grain, memory_order_relaxed);
        if (b >= r->n)
            return;
        size_t e = r->n - b < r->grain ? r->n : b + r->grain;
        int code = r->fn(r->arg, b, e, ctx);
        if (code != 0) {
            int none = 0;
            atomic_compare_exchange_strong_explicit(&r->code, &none, code, memory_order_relaxed,
                                                    memory_order_relaxed);
            atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
            return;
        }
    }
}

static int wp__range_share(void *arg, wp_ctx *ctx)
{
    wp__range_work((wp__range *)arg, ctx);
    return 0;
}

static int wp__range_main(void *arg, wp_ctx *ctx)
{
    wp__range *r = (wp__range *)arg;
    wp_pool *pool = ctx->pool;
    /* Shares obey what the range obeys: its token chain and deadline. */
    r->shares.token.parent = ctx->task->token;
    size_t chunks = r->n / r->grain + (r->n % r->grain != 0);
    size_t offer = pool->inline_only || r->pinned || !wp__may_nest()
        ? 0 : (size_t)wp__started(wp__live(pool));
    size_t others = chunks > 1 ? chunks - 1 : 0; /* chunks left for others */
    if (offer > others)
        offer = others;
    wp__task share = { wp__range_share, r, { ctx->task->id }, 0, ctx->task->deadline_ns,
                       &r->shares.token, NULL };
    size_t offered = 0;
    for (; offered < offer; offered++) {
        atomic_fetch_add_explicit(&r->shares.pending, 1, memory_order_relaxed);
        if (wp__queue_push(pool->lanes[r->lane], &share, sizeof share) != WP__PUSHED) {
            atomic_fetch_sub_explicit(&r->shares.pending, 1, memory_order_relaxed);
            break;
        }
    }
    if (offered > 0)
        wp__ws_notify(&pool->job_ready, offered > 1);
    wp__range_work(r, ctx);
    wp__group_await(pool, &r->shares, WP_FOREVER);
    ctx->value = NULL;
    int code = atomic_load_explicit(&r->code, memory_order_relaxed);
    if (code == 0 && atomic_load_explicit(&r->stop, memory_order_relaxed))
        code = wp_ctx_expired(ctx) ? WP_EXPIRED : WP_CANCELED;
    return code;
}

wp_status wp_submit_range(wp_pool *pool, wp_range *range, wp_range_fn fn, void *arg, size_t n,
                          size_t grain, const wp_job *job)
{
    static const wp_job none;
    if (!pool || !range || !fn || n > SIZE_MAX / 2 || grain > SIZE_MAX / 4)
        return WP_INVALID;
    wp_job j = job ? *job : none;
    j.fn = wp__range_main;
    j.arg = range;
    if (!wp__job_ok(&j))
        return WP_INVALID;
    wp__range *r = (wp__range *)(void *)range;
    wp_group_init((wp_group *)(void *)&r->shares, NULL);
    r->shares.quiet = 1;
    r->fn = fn;
    r->arg = arg;
    r->n = n;
    if (grain == 0) { /* about 4 chunks per thread that may take part */
        size_t threads = (size_t)pool->slots + 1;
        grain = n / (4 * threads);
    }
    r->grain = grain ? grain : 1;
    r->lane = wp__lane_of(j.priority);
    r->pinned = j.pinned;
    atomic_init(&r->next, 0);
    atomic_init(&r->code, 0);
    atomic_init(&r->stop, 0);
    return wp_submit_job(pool, &j);
}

wp_status wp_parallel_for(wp_pool *pool, wp_range_fn fn, void *arg, size_t n, size_t grain)
{
    wp_range range;
    wp_group group;
    wp_group_init(&group, NULL);
    wp_status s = wp_submit_range(pool, &range, fn, arg, n, grain, &(wp_job){ .group = &group });
    if (s != WP_OK)
        return s;
    wp__group_await(pool, wp__group_at(&group), WP_FOREVER);
    wp_group_counts c;
    wp_group_query(&group, &c);
    return c.completed ? WP_OK : c.failed ? WP_TASK_FAILED : c.canceled ? WP_CANCELED
         : c.expired ? WP_EXPIRED : WP_EVICTED;
}

/* --- pausing ------------------------------------------------------------- */

static bool wp__is_closed(const wp_pool *pool)
{
    return atomic_load_explicit(&pool->lanes[WP__LANE_NORMAL]->head, memory_order_acquire) & WP__CLOSED_BIT;
}

wp_status wp_pool_pause(wp_pool *pool)
{
    if (!pool)
        return WP_INVALID;
    if (wp__is_closed(pool))
        return WP_CLOSED;
    atomic_store_explicit(&pool->paused, 1, memory_order_seq_cst);
    /* See wp__claim_start: a worker caught starting starts within moments. */
    for (int i = 0; i < pool->slots; i++)
        while (atomic_load_explicit(&pool->workers[i].phase, memory_order_seq_cst)
               == WP__PHASE_STARTING)
            wp__thread_yield();
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

/* An inline-only pool has finished once it is closed and every job it
   accepted has its outcome: it then drops the unit that stands in for
   workers, so that wp_result_recv can answer WP_CLOSED. */
static void wp__inline_finish(wp_pool *pool)
{
    if (pool->inline_only && wp__lanes_drained(pool)
        && atomic_exchange_explicit(&pool->inline_unit, 0, memory_order_acq_rel))
        wp__count_out(pool, 1);
}

/* An inline-only pool's close: the closing thread drains (or cancels) the
   queue itself, canceling what is left once the deadline passes. Outcomes
   that find the result channel full when the deadline has passed stay
   queued: wp_result_recv produces them for its caller, and
   wp_pool_destroy discards them. Answers whether it was forced. */
static bool wp__close_inline(wp_pool *pool, int64_t deadline)
{
    bool forced = false;
    wp__runner self;
    wp__enter(&self, pool, NULL, false);
    while (!wp__lanes_drained(pool)) {
        bool late = deadline != WP_FOREVER && wp__now_ns() >= deadline;
        if (late && !atomic_load_explicit(&pool->canceling, memory_order_acquire)) {
            wp__start_canceling(pool);
            forced = true;
        }
        if (wp__help_one(pool, &self, true))
            continue;
        if (wp__queued(pool) == 0) { /* a submitter still copying into a cell */
            wp__thread_yield();
        } else if (!pool->credited || atomic_load_explicit(&pool->credits, memory_order_relaxed)) {
            wp__sleep_ns(WP_US(100)); /* the rate limit: the next start is not due */
        } else if (late) {
            forced = true; /* no room for outcomes, and no time left */
            break;
        } else if (wp__await_credit(pool, deadline)) {
            wp__give_credit(pool); /* wp__help_one takes it again */
        }
    }
    wp__leave(&self);
    wp__inline_finish(pool);
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
    /* Under slot_mu, so that a lane that wp__open_lane makes is either
       seen and closed here or never made. */
    wp__mutex_lock(&pool->slot_mu);
    atomic_store_explicit(&pool->shut, 1, memory_order_release);
    for (int i = 0; i < WP__LANES; i++)
        if (wp__lane_at(pool, i))
            wp__queue_close(pool->lanes[i]);
    wp__mutex_unlock(&pool->slot_mu);
    /* Wake parked workers to drain and blocked submitters to give up. */
    wp__ws_notify(&pool->job_ready, true);
    for (int i = 0; i < WP__LANES; i++)
        wp__ws_notify(&pool->job_room[i], true);
    bool forced = pool->pinned && wp__pinned_close(pool, deadline); /* fork-join */
    forced = (pool->inline_only && wp__close_inline(pool, deadline)) || forced;
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

/* Makes the high or low lane at its first job (see wp__use_lane): memory
   from the pool's allocator, freed at destroy. Under slot_mu, as close
   closes the lanes, so that a lane is made before close (which then closes
   it) or not at all (WP_CLOSED). A check of `shut` first keeps a thread
   that submits while close joins the workers (holding slot_mu) from
   waiting for it. A refusal is counted as a closed or rejected submission. */
static WP__NOINLINE wp_status wp__open_lane(wp_pool *pool, int lane)
{
    if (atomic_load_explicit(&pool->shut, memory_order_acquire))
        return wp__refused_closed(pool);
    wp_status s = WP_OK;
    wp__mutex_lock(&pool->slot_mu);
    if (atomic_load_explicit(&pool->shut, memory_order_acquire)) {
        s = WP_CLOSED;
    } else if (!(atomic_load_explicit(&pool->lanes_used, memory_order_relaxed) & (1u << lane))) {
        size_t capacity = wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]);
        size_t size = wp_queue_footprint(capacity, sizeof(wp__task));
        void *memory = wp__alloc(&pool->allocator, size);
        if (!memory || wp_queue_init(memory, size, capacity, sizeof(wp__task), &pool->lanes[lane]) != WP_OK) {
            wp__free(&pool->allocator, memory);
            s = WP_NOMEM;
        } else {
            pool->lanes[lane]->allocation = memory; /* for wp__release */
            /* Release pairs with the acquire in wp__use_lane and wp__lane_at. */
            atomic_fetch_or_explicit(&pool->lanes_used, 1u << lane, memory_order_release);
        }
    }
    wp__mutex_unlock(&pool->slot_mu);
    if (s == WP_CLOSED)
        return wp__refused_closed(pool);
    if (s == WP_NOMEM)
        wp__count(&pool->rejected);
    return s;
}

/* Fills in the default of every zero field of `in` (NULL = all zero) into
   `out`; touches nothing else, so wp__config_check sees what the user set
   wherever it is not zero. Each default is the one written beside its
   field in wp_config. */
static void wp__config_resolve(const wp_config *in, wp_config *out)
{
    static const wp_config zero = { 0 };
    *out = in ? *in : zero;
    if (out->name == NULL)
        out->name = "workerpool";
    if (!out->inline_only) {
        /* Workers: max = the CPUs (or more, if min asks for more); min =
           max (a fixed set). An inline-only pool keeps both at 0. */
        if (out->max_workers == 0) {
            int cpus = wp__online_cpus();
            out->max_workers = out->scaling.min_workers > cpus ? out->scaling.min_workers : cpus;
        }
        if (out->scaling.min_workers == 0)
            out->scaling.min_workers = out->max_workers;
    }
    if (out->queue_capacity == 0)
        out->queue_capacity = 1024;
    if (out->backpressure == WP_BACKPRESSURE_DEFAULT)
        out->backpressure = WP_BLOCK;
    if (out->submit_timeout == 0)
        out->submit_timeout = WP_SEC(1);
    if (out->max_handles == 0)
        out->max_handles = 256;
    if (out->scaling.up_threshold == 0)
        out->scaling.up_threshold = 4;
    /* Past a full queue the pool would never see the threshold crossed. */
    size_t cap = out->queue_capacity < 2 ? 2 : out->queue_capacity;
    if (out->scaling.up_threshold > cap - 1)
        out->scaling.up_threshold = cap - 1;
    if (out->scaling.up_cooldown == 0)
        out->scaling.up_cooldown = WP_MS(10);
    if (out->scaling.idle_timeout == 0)
        out->scaling.idle_timeout = WP_SEC(10);
    if (out->scaling.down_cooldown == 0)
        out->scaling.down_cooldown = WP_SEC(1);
    if (out->rate.burst == 0)
        out->rate.burst = 1;
    /* Only a watchdog reads the threshold; left at zero without one, so a
       build without observability still sees that nothing asked for it. */
    if (out->hooks.stall && out->observe.stall_threshold == 0)
        out->observe.stall_threshold = WP_SEC(1);
}

/* Checks a resolved config against the limits documented in wp_config and
   its parts: WP_OK, or WP_INVALID for the first one it breaks. */
static wp_status wp__config_check(const wp_config *c)
{
    /* Workers */
    if (c->max_workers < 0 || c->max_workers > WP_MAX_WORKERS || c->scaling.min_workers < 0
        || c->scaling.min_workers > c->max_workers)
        return WP_INVALID;
    if (c->inline_only && (c->max_workers != 0 || c->scaling.min_workers != 0))
        return WP_INVALID;
    /* Queues, policy, memory */
    if (c->queue_capacity > WP__QUEUE_MAX_CAPACITY || c->result_capacity > WP__QUEUE_MAX_CAPACITY
        || c->pinned_capacity > WP__QUEUE_MAX_CAPACITY)
        return WP_INVALID;
    if (!wp__policy_ok(c->backpressure) || c->submit_timeout < 0)
        return WP_INVALID;
    if ((c->allocator.alloc == NULL) != (c->allocator.free == NULL))
        return WP_INVALID;
    if (c->max_handles > ((size_t)1 << 24))
        return WP_INVALID;
#if defined(WP__NO_STACK_SIZE)
    if (c->stack_size != 0)
        return WP_INVALID;
#endif
    /* Scaling */
    if (c->scaling.up_cooldown < 0 || c->scaling.idle_timeout < 0 || c->scaling.down_cooldown < 0)
        return WP_INVALID;
    /* Rate: NaN fails the first test; below one job in 30 years is absurd. */
    if (!(c->rate.limit >= 0) || (c->rate.limit > 0 && c->rate.limit < 1e-9))
        return WP_INVALID;
    /* Observe and hooks: an inline-only pool starts no thread, so no
       watchdog (and has no worker to watch). */
    if (c->observe.stall_threshold < 0 || (c->inline_only && c->hooks.stall))
        return WP_INVALID;
#ifdef WP_NO_OBSERVABILITY
    /* The module is left out: nothing may ask for it (thread hooks are core). */
    if (c->observe.latency || c->observe.stall_threshold != 0 || c->hooks.task_start
        || c->hooks.task_end || c->hooks.error || c->hooks.stall)
        return WP_INVALID;
#endif
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
    c.queue_capacity = 256;
    c.scaling.min_workers = 1;
    c.scaling.up_threshold = 16;
    c.scaling.up_cooldown = WP_MS(50);
    c.scaling.idle_timeout = WP_SEC(2);
    c.scaling.down_cooldown = WP_MS(500);
    return c;
}

/* One allocation holds the pool, its workers and both queues. */
typedef struct wp__layout {
    size_t workers, handles, lane, results, pinned, total;
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
    l->lane = at; /* the normal lane; the others are made at their first job */
    if (!wp__add(&at, jobs) || !wp__add(&at, cl))
        return false;
    at &= ~(cl - 1);
    l->results = at;
    if (!wp__add(&at, results) || !wp__add(&at, cl))
        return false;
    at &= ~(cl - 1);
    size_t pinned = cfg->pinned_capacity
        ? wp_queue_footprint(cfg->pinned_capacity, sizeof(wp__task)) : 0;
    if (cfg->pinned_capacity && pinned == 0)
        return false;
    l->pinned = at;
    if (!wp__add(&at, pinned) || !wp__add(&at, cl)) /* + slack to align the block */
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
    unsigned lanes = atomic_load_explicit(&pool->lanes_used, memory_order_acquire);
    for (int i = 0; i < WP__LANES; i++)
        if (lanes & (1u << i))
            wp__free(&a, pool->lanes[i]->allocation);
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
    pool->on_thread_start = cfg->hooks.thread_start;
    pool->on_thread_stop = cfg->hooks.thread_stop;
    pool->hook_user = cfg->hooks.user;
    pool->workers = (wp__worker *)(base + l->workers);
    pool->handles.slots = (wp__slot *)(void *)(base + l->handles);
    pool->handles.count = (uint32_t)cfg->max_handles;
    for (uint32_t i = 0; i < pool->handles.count; i++) {
        wp__slot *slot = &pool->handles.slots[i];
        atomic_init(&slot->token.canceled, 0);
        slot->token.kind = WP__TOKEN_SLOT;
        slot->token.state = &slot->state;
        atomic_init(&slot->state, UINT64_C(1) << 32 | WP__H_FREE);
        atomic_init(&slot->next, i + 1 < pool->handles.count ? i + 2 : 0);
    }
    atomic_init(&pool->handles.free_top, pool->handles.count ? 1 : 0);
    wp_status s = WP_OK;
    s = wp_queue_init(base + l->lane, l->results - l->lane, cfg->queue_capacity,
                      sizeof(wp__task), &pool->lanes[WP__LANE_NORMAL]);
    WP_ASSERT(s == WP_OK);
    if (cfg->result_capacity) {
        s = wp_queue_init(base + l->results, l->pinned - l->results,
                          cfg->result_capacity, sizeof(wp_result), &pool->results);
        WP_ASSERT(s == WP_OK);
    }
    if (cfg->pinned_capacity) {
        s = wp_queue_init(base + l->pinned, l->total - WP_CACHE_LINE - l->pinned,
                          cfg->pinned_capacity, sizeof(wp__task), &pool->pinned);
        WP_ASSERT(s == WP_OK);
    }
    pool->stack_size = cfg->stack_size;
    (void)s;
    pool->scale.up_threshold = cfg->scaling.up_threshold;
    pool->scale.up_cooldown = cfg->scaling.up_cooldown;
    pool->scale.idle_timeout = cfg->scaling.idle_timeout;
    pool->scale.down_cooldown = cfg->scaling.down_cooldown;
    pool->clock = cfg->clock;
    pool->clock_user = cfg->clock_user;
    pool->created_ns = wp__pool_now(pool);
    pool->inline_only = cfg->inline_only;
    if (cfg->rate.limit > 0) {
        double interval = 1e9 / cfg->rate.limit;
        pool->rate.interval = interval < 1 ? 1 : (int64_t)interval;
        double tolerance = (double)pool->rate.interval * (double)(cfg->rate.burst - 1);
        pool->rate.tolerance = tolerance > 1e18 ? INT64_C(1000000000000000000) : (int64_t)tolerance;
    }
    atomic_init(&pool->rate.due, INT64_MIN / 2);
    atomic_init(&pool->paused, 0);
    atomic_init(&pool->lanes_used, 0);
    atomic_init(&pool->room_timed, 0);
    /* A power of two, at most a quarter of a lane (all lanes have the same
       capacity; see wp__notify_room, which needs room_every <= capacity). */
    size_t room_every = 1;
    while (room_every * 8 <= pool->lanes[WP__LANE_NORMAL]->capacity)
        room_every *= 2;
    pool->room_mask = room_every > 1 ? room_every - 1 : 0;
    atomic_init(&pool->helpers, 0);
    pool->credited = cfg->inline_only && cfg->result_capacity > 0;
    atomic_init(&pool->credits, pool->results ? wp_queue_capacity(pool->results) : 0);
    atomic_init(&pool->receivers, 0);
    atomic_init(&pool->delivering, 0);
    atomic_init(&pool->inline_unit, cfg->inline_only);
    atomic_init(&pool->suspends, 0);
    atomic_init(&pool->resumes, 0);
    atomic_init(&pool->evicted, 0);
    atomic_init(&pool->canceling, 0);
    atomic_init(&pool->shut, 0);
    atomic_init(&pool->destroying, 0);
    atomic_init(&pool->live, 0);
    atomic_init(&pool->scale.on, cfg->scaling.min_workers < cfg->max_workers);
    atomic_init(&pool->scale.retire_requests, 0);
    atomic_init(&pool->scale.min_workers, cfg->scaling.min_workers);
    atomic_init(&pool->scale.max_workers, cfg->max_workers);
    atomic_init(&pool->scale.next_up, INT64_MIN);
    atomic_init(&pool->scale.next_down, INT64_MIN);
    atomic_init(&pool->scale.last_up, -1);
    atomic_init(&pool->scale.last_down, -1);
    atomic_init(&pool->scale.ups, 0);
    atomic_init(&pool->scale.downs, 0);
    atomic_init(&pool->scale.spawn_failures, 0);
    atomic_init(&pool->scale.peak, cfg->scaling.min_workers);
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
        atomic_init(&w->phase, WP__PHASE_IDLE);
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
    wp__config_resolve(config, &cfg);
    wp_status s = wp__config_check(&cfg);
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
    int n = cfg.scaling.min_workers;
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
   thread_stop hook dawdles), so that case is retried for a while. */
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
    int surplus = wp__started(wp__live(pool)) - atomic_load(&pool->scale.min_workers);
    if (count > surplus)
        count = surplus;
    if (count <= 0)
        return;
    atomic_fetch_add(&pool->scale.retire_requests, count);
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
    atomic_store(&pool->scale.min_workers, min_workers);
    atomic_store(&pool->scale.max_workers, max_workers);
    atomic_store(&pool->scale.on, min_workers < max_workers);
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

/* wp_pool_stats fills each field of WP_STATS_FIELDS with that field's own
   reader, wp__stat_<field>(pool, out), called in the list's order, so that
   a reader may use the fields before it. A field read together with others
   (the last error's) is filled by the first one's reader, and the others'
   readers say so. The observability module's readers are in its section.
   Declaring every reader from the list makes a field without one a
   compile error. */
#define WP__STAT_PROTO(kind, field, ...) static void wp__stat_##field(wp_pool *pool, wp_stats *out);
WP_STATS_FIELDS(WP__STAT_PROTO)
#undef WP__STAT_PROTO

static uint64_t wp__read(const atomic_uint_least64_t *counter)
{
    return wp__load(counter, memory_order_relaxed);
}

/* One outcome counter summed over every runner (acquire, as in
   wp__pending). */
static uint64_t wp__runner_sum(const wp_pool *pool, size_t offset)
{
    uint64_t n = 0;
    for (int i = -1; i < pool->slots; i++) {
        const wp__worker *w = i < 0 ? &pool->external : &pool->workers[i];
        const void *counter = (const char *)w + offset;
        n += wp__load((const atomic_uint_least64_t *)counter, memory_order_acquire);
    }
    return n;
}
#define WP__RUNNER_SUM(pool, counter) wp__runner_sum(pool, offsetof(wp__worker, counter))

/* Jobs ever accepted, in 64 bits on every target (see wp__jobs_pending). */
static uint64_t wp__accepted(const wp_pool *pool)
{
    uint64_t ended;
    uint64_t pending = wp__jobs_pending(pool, &ended);
    return ended + pending;
}

static int wp__workers_alive(wp_pool *pool)
{
    return wp__started(wp__live(pool)) - atomic_load_explicit(&pool->inline_unit, memory_order_relaxed);
}

static int wp__workers_active(wp_pool *pool)
{
    int n = 0;
    for (int i = 0; i < pool->slots; i++)
        n += atomic_load_explicit(&pool->workers[i].phase, memory_order_relaxed)
            == WP__PHASE_RUNNING;
    int alive = wp__workers_alive(pool);
    return n < alive ? n : alive;
}

/* What the lanes in use can hold: the normal lane, and each other lane once
   a job of its priority was submitted (wp__open_lane); queue_depth counts
   the same lanes (the others do not exist). */
static size_t wp__queue_bound(wp_pool *pool)
{
    size_t lane = wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]);
    size_t lanes = 1;
    for (int i = 0; i < WP__LANES; i++)
        lanes += i != WP__LANE_NORMAL && wp__lane_at(pool, i);
    return lane * lanes;
}

static void wp__stat_name(wp_pool *pool, wp_stats *out)
{
    memcpy(out->name, pool->name, sizeof out->name);
    out->name[sizeof out->name - 1] = '\0';
}

static void wp__stat_uptime_ns(wp_pool *pool, wp_stats *out)
{
    out->uptime_ns = wp__elapsed(pool->created_ns, wp__pool_now(pool));
}

static void wp__stat_workers(wp_pool *pool, wp_stats *out) { out->workers = wp__workers_alive(pool); }

static void wp__stat_active(wp_pool *pool, wp_stats *out)
{
    int n = wp__workers_active(pool);
    out->active = n < out->workers ? n : out->workers;
}

static void wp__stat_idle(wp_pool *pool, wp_stats *out)
{
    (void)pool;
    out->idle = out->workers - out->active;
}

static void wp__stat_peak_workers(wp_pool *pool, wp_stats *out)
{
    out->peak_workers = atomic_load_explicit(&pool->scale.peak, memory_order_relaxed);
}

static void wp__stat_min_workers(wp_pool *pool, wp_stats *out)
{
    out->min_workers = atomic_load_explicit(&pool->scale.min_workers, memory_order_relaxed);
}

static void wp__stat_max_workers(wp_pool *pool, wp_stats *out)
{
    out->max_workers = atomic_load_explicit(&pool->scale.max_workers, memory_order_relaxed);
}

static void wp__stat_utilization(wp_pool *pool, wp_stats *out)
{
    (void)pool;
    out->utilization = out->workers > 0 ? (double)out->active / (double)out->workers : 0.0;
}

static void wp__stat_queue_depth(wp_pool *pool, wp_stats *out) { out->queue_depth = wp__queued(pool); }
static void wp__stat_queue_capacity(wp_pool *pool, wp_stats *out) { out->queue_capacity = wp__queue_bound(pool); }
static void wp__stat_submitted(wp_pool *pool, wp_stats *out) { out->submitted = wp__accepted(pool); }
static void wp__stat_completed(wp_pool *pool, wp_stats *out) { out->completed = WP__RUNNER_SUM(pool, completed); }
static void wp__stat_failed(wp_pool *pool, wp_stats *out) { out->failed = WP__RUNNER_SUM(pool, failed); }
static void wp__stat_canceled(wp_pool *pool, wp_stats *out) { out->canceled = WP__RUNNER_SUM(pool, canceled); }
static void wp__stat_expired(wp_pool *pool, wp_stats *out) { out->expired = WP__RUNNER_SUM(pool, expired); }
static void wp__stat_evicted(wp_pool *pool, wp_stats *out) { out->evicted = wp__load(&pool->evicted, memory_order_acquire); }

/* Read after submitted, so a job accepted and ended while the snapshot was
   taken may show here only: submitted is raised to match, which is still
   no more than the pool had accepted by now (so never goes back). */
static void wp__stat_processed(wp_pool *pool, wp_stats *out)
{
    (void)pool;
    out->processed = out->completed + out->failed + out->canceled + out->expired + out->evicted;
    if (out->submitted < out->processed)
        out->submitted = out->processed;
}

static void wp__stat_rejected(wp_pool *pool, wp_stats *out) { out->rejected = wp__read(&pool->rejected); }
static void wp__stat_dropped(wp_pool *pool, wp_stats *out) { out->dropped = wp__read(&pool->dropped); }
static void wp__stat_timed_out(wp_pool *pool, wp_stats *out) { out->timed_out = wp__read(&pool->timed_out); }
static void wp__stat_refused_closed(wp_pool *pool, wp_stats *out) { out->refused_closed = wp__read(&pool->refused_closed); }

static void wp__stat_results_pending(wp_pool *pool, wp_stats *out)
{
    out->results_pending = pool->results ? wp_queue_size(pool->results) : 0;
}

static void wp__stat_scale_ups(wp_pool *pool, wp_stats *out) { out->scale_ups = wp__read(&pool->scale.ups); }
static void wp__stat_scale_downs(wp_pool *pool, wp_stats *out) { out->scale_downs = wp__read(&pool->scale.downs); }
static void wp__stat_spawn_failures(wp_pool *pool, wp_stats *out) { out->spawn_failures = wp__read(&pool->scale.spawn_failures); }

static void wp__stat_last_scale_up_ns(wp_pool *pool, wp_stats *out)
{
    out->last_scale_up_ns = atomic_load_explicit(&pool->scale.last_up, memory_order_relaxed);
}

static void wp__stat_last_scale_down_ns(wp_pool *pool, wp_stats *out)
{
    out->last_scale_down_ns = atomic_load_explicit(&pool->scale.last_down, memory_order_relaxed);
}

wp_status wp_pool_stats(wp_pool *pool, wp_stats *out)
{
    if (!pool || !out)
        return WP_INVALID;
    memset(out, 0, sizeof *out);
#define WP__STAT_READ(kind, field, ...) wp__stat_##field(pool, out);
    WP_STATS_FIELDS(WP__STAT_READ)
#undef WP__STAT_READ
    return WP_OK;
}

size_t wp_pool_queue_depth(wp_pool *pool) { return pool ? wp__queued(pool) : 0; }
int wp_pool_active(wp_pool *pool) { return pool ? wp__workers_active(pool) : 0; }
int wp_pool_workers(wp_pool *pool) { return pool ? wp__workers_alive(pool) : 0; }

/* --- observability ------------------------------------------------------- */

/* The latency histograms, the task, error and stall hooks, the stall
   watchdog and the last-error record: opt-in per pool, and all left out by
   WP_NO_OBSERVABILITY. The module owns pool->obs and each worker's obs, and
   meets the core only at these seams:
     wp__observe_start, _stop create and destroy
     wp__observe_times        submit: whether to stamp the enqueue time
     wp__observe_submit       submit: the high-water mark, before a push
     wp__observe_full         submit: a lane was found full
     wp__observe_begin, _end  run: around a job on a worker
   plus the stats readers of its fields. Each job-path call tests one
   read-only word (obs.observe, on a line of its own) and returns when
   nothing is configured, so an unobserved pool pays a predictable branch
   per job; the clock is read only when timing is asked for. Every time is
   a reading of the pool's clock, as every other timing of a job (see
   wp_config.clock), so queue waits, run times, results and hooks agree. */

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

#ifndef WP_NO_OBSERVABILITY

enum {
    WP__OBS_TIME  = 1, /* read the clock at submit, start and end */
    WP__OBS_HIST  = 2, /* latency histograms and the exact high-water mark */
    WP__OBS_HOOKS = 4, /* hooks.task_start / hooks.task_end */
    WP__OBS_STALL = 8  /* publish the running job for the watchdog */
};

static inline bool wp__observe_times(const wp_pool *pool)
{
    return (pool->obs.observe & WP__OBS_TIME) != 0;
}

/* Adds duration d >= 0 to a histogram, its sum and its max. Single writer
   (this worker): plain load + store, as wp__tally. The sum is unsigned and
   stops at its top instead of wrapping. */
/* A worker's histograms have one writer (plain load and store); the
   record of the threads that are not workers is `shared` by all of them
   (read-modify-write). */
static void wp__obs_record(atomic_uint_least64_t *hist, atomic_uint_least64_t *sum,
                           atomic_int_least64_t *max, int64_t d, bool shared)
{
    int i = 0;
    while (i < WP_LATENCY_BUCKETS - 1 && d > wp__latency_bounds[i])
        i++;
    uint64_t old = atomic_load_explicit(sum, memory_order_relaxed), total;
    int64_t top = atomic_load_explicit(max, memory_order_relaxed);
    if (!shared) {
        atomic_store_explicit(&hist[i], atomic_load_explicit(&hist[i], memory_order_relaxed) + 1,
                              memory_order_relaxed);
        total = old + (uint64_t)d;
        atomic_store_explicit(sum, total < old ? UINT64_MAX : total, memory_order_relaxed);
        if (d > top)
            atomic_store_explicit(max, d, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&hist[i], 1, memory_order_relaxed);
    do
        total = old + (uint64_t)d < old ? UINT64_MAX : old + (uint64_t)d;
    while (!atomic_compare_exchange_weak_explicit(sum, &old, total, memory_order_relaxed,
                                                  memory_order_relaxed));
    while (d > top && !atomic_compare_exchange_weak_explicit(max, &top, d, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static void wp__obs_raise_high_water(wp_pool *pool, size_t depth)
{
    size_t bound = wp__queue_bound(pool);
    if (depth > bound)
        depth = bound;
    size_t hw = atomic_load_explicit(&pool->obs.high_water, memory_order_relaxed);
    while (depth > hw && !atomic_compare_exchange_weak_explicit(&pool->obs.high_water, &hw, depth,
                                                                memory_order_relaxed,
                                                                memory_order_relaxed))
        ;
}

/* Before `jobs` jobs are pushed (one submission, or a run of a batch):
   raises the high-water mark to the depth they will make. */
static WP__NOINLINE void wp__observe_submit_slow(wp_pool *pool, size_t jobs)
{
    wp__obs_raise_high_water(pool, wp__queued(pool) + jobs);
}

static inline void wp__observe_submit(wp_pool *pool, size_t jobs)
{
    if (pool->obs.observe & WP__OBS_HIST)
        wp__observe_submit_slow(pool, jobs);
}

/* A submission found a lane full: the high-water mark is at least a lane's
   bound (noticed on this slow path even when nothing else is observed). */
static void wp__observe_full(wp_pool *pool)
{
    size_t depth = wp__queued(pool), lane = wp_queue_capacity(pool->lanes[WP__LANE_NORMAL]);
    wp__obs_raise_high_water(pool, depth > lane ? depth : lane);
}

static WP__NOINLINE int64_t wp__observe_begin_slow(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    wp__obs_runner *o = &w->obs;
    int64_t now = wp__pool_now(pool);
    if (pool->obs.observe & WP__OBS_HIST)
        wp__obs_record(o->wait, &o->wait_sum, &o->wait_max, wp__elapsed(t->enqueued_ns, now),
                       w->index < 0);
    if ((pool->obs.observe & WP__OBS_STALL) && w->index >= 0) { /* the watchdog watches workers */
        /* Publish id and start, then make the sequence odd ("running");
           release pairs with the watchdog's acquire of seq. A nested
           job (run inline inside another) takes the slot over; once it
           ends, the outer job is no longer watched. */
        uint64_t seq = atomic_load_explicit(&o->seq, memory_order_relaxed);
        atomic_store_explicit(&o->job_id, wp__task_id(t), memory_order_relaxed);
        atomic_store_explicit(&o->job_start, now, memory_order_relaxed);
        atomic_store_explicit(&o->seq, (seq + 2) | 1, memory_order_release);
    }
    if (pool->obs.task_start) {
        wp_event e = { WP_EVENT_TASK_START, w->index, wp__task_id(t), t->arg, 0,
                       wp__elapsed(t->enqueued_ns, now), 0 };
        pool->obs.task_start(&e, pool->hook_user);
    }
    return now;
}

/* Just before the job runs; answers its start time (0 when untimed). */
static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    if (!pool->obs.observe)
        return 0;
    return wp__observe_begin_slow(pool, w, t);
}

static WP__NOINLINE void wp__observe_end_slow(wp_pool *pool, wp__worker *w, const wp__task *t,
                                              int code, int64_t start)
{
    wp__obs_runner *o = &w->obs;
    if (pool->obs.observe) {
        int64_t run = wp__elapsed(start, wp__pool_now(pool));
        if ((pool->obs.observe & WP__OBS_STALL) && w->index >= 0) {
            uint64_t seq = atomic_load_explicit(&o->seq, memory_order_relaxed);
            atomic_store_explicit(&o->seq, (seq + 1) & ~(uint64_t)1, memory_order_release);
        }
        if (pool->obs.observe & WP__OBS_HIST)
            wp__obs_record(o->run, &o->run_sum, &o->run_max, run, w->index < 0);
        if (pool->obs.task_end) {
            wp_event e = { WP_EVENT_TASK_END, w->index, wp__task_id(t), t->arg, code,
                           wp__elapsed(t->enqueued_ns, start), run };
            pool->obs.task_end(&e, pool->hook_user);
        }
    }
    if (code != 0) {
        /* Per worker, like the counters: failures never meet on a shared
           line. The time goes last (release pairs with the acquire in
           wp__stat_last_error_code), so a reader sees this failure's code
           and id unless a later failure of this same worker is being
           written. */
        atomic_store_explicit(&o->error_code, code, memory_order_relaxed);
        atomic_store_explicit(&o->error_job, wp__task_id(t), memory_order_relaxed);
        atomic_store_explicit(&o->error_at, wp__elapsed(pool->created_ns, wp__pool_now(pool)),
                              memory_order_release);
        if (pool->obs.on_error) {
            wp_event e = { WP_EVENT_ERROR, w->index, wp__task_id(t), t->arg, code, 0, 0 };
            pool->obs.on_error(&e, pool->hook_user);
        }
    }
}

/* Just after the job returned `code`; `start` is what begin answered. */
static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start)
{
    if (pool->obs.observe || code != 0)
        wp__observe_end_slow(pool, w, t, code, start);
}

/* The stall watchdog: one thread, only when hooks.stall is set. It wakes every
   threshold/4 (1 ms to 100 ms) and reports each job once. */
static void wp__watchdog_scan(wp_pool *pool)
{
    for (int i = 0; i < pool->slots; i++) {
        wp__worker *w = &pool->workers[i];
        wp__obs_runner *o = &w->obs;
        /* Acquire pairs with the release in wp__observe_begin_slow: an odd
           sequence shows that job's id and start. Reading the sequence again
           afterwards (after acquire loads, so it cannot move before them)
           drops a job that ended meanwhile. Not a full seqlock: in the few
           instructions between one job's end and the next one's start, the
           id may already be the next job's; a report stays rare and
           approximate by nature, and the worker pays no fence for it. */
        uint64_t seq = atomic_load_explicit(&o->seq, memory_order_acquire);
        if (!(seq & 1) || seq == o->reported)
            continue;
        uint64_t id = atomic_load_explicit(&o->job_id, memory_order_acquire);
        int64_t start = atomic_load_explicit(&o->job_start, memory_order_acquire);
        if (atomic_load_explicit(&o->seq, memory_order_relaxed) != seq)
            continue;
        int64_t running = wp__elapsed(start, wp__pool_now(pool));
        if (running > pool->obs.stall_threshold) {
            o->reported = seq;
            wp_event e = { WP_EVENT_STALL, w->index, id, NULL, 0, 0, running };
            pool->obs.on_stall(&e, pool->hook_user);
        }
    }
}

static wp__thread_ret wp__watchdog_main(void *arg)
{
    wp_pool *pool = (wp_pool *)arg;
    int64_t period = pool->obs.stall_threshold / 4;
    if (period < WP_MS(1))
        period = WP_MS(1);
    if (period > WP_MS(100))
        period = WP_MS(100);
    wp__mutex_lock(&pool->obs.mu);
    while (!pool->obs.stop) {
        wp__cond_wait_until(&pool->obs.cv, &pool->obs.mu, wp__deadline(period));
        if (pool->obs.stop)
            break;
        wp__mutex_unlock(&pool->obs.mu);
        wp__watchdog_scan(pool);
        wp__mutex_lock(&pool->obs.mu);
    }
    wp__mutex_unlock(&pool->obs.mu);
    return WP__THREAD_RETURN;
}

/* Called by wp_pool_create before any worker starts: copies the config,
   sets up the lock and starts the watchdog if one is asked for. Nonzero on
   failure, with nothing left to undo. */
static int wp__observe_start(wp_pool *pool, const wp_config *cfg)
{
    wp__obs_pool *obs = &pool->obs;
    obs->task_start = cfg->hooks.task_start;
    obs->task_end = cfg->hooks.task_end;
    obs->on_error = cfg->hooks.error;
    obs->on_stall = cfg->hooks.stall;
    obs->stall_threshold = cfg->observe.stall_threshold;
    unsigned flags = 0;
    if (cfg->observe.latency)
        flags |= WP__OBS_TIME | WP__OBS_HIST;
    if (cfg->hooks.task_start || cfg->hooks.task_end)
        flags |= WP__OBS_TIME | WP__OBS_HOOKS;
    if (cfg->hooks.stall)
        flags |= WP__OBS_TIME | WP__OBS_STALL;
    obs->observe = flags;
    atomic_init(&obs->high_water, 0);
    obs->stop = 0;
    obs->watchdog = false;
    for (int i = -1; i < pool->slots; i++) { /* -1: the threads that are not workers */
        wp__obs_runner *o = i < 0 ? &pool->external.obs : &pool->workers[i].obs;
        for (int b = 0; b < WP_LATENCY_BUCKETS; b++) {
            atomic_init(&o->wait[b], 0);
            atomic_init(&o->run[b], 0);
        }
        atomic_init(&o->wait_sum, 0);
        atomic_init(&o->run_sum, 0);
        atomic_init(&o->wait_max, 0);
        atomic_init(&o->run_max, 0);
        atomic_init(&o->job_start, 0);
        atomic_init(&o->job_id, 0);
        atomic_init(&o->seq, 0);
        atomic_init(&o->error_code, 0);
        atomic_init(&o->error_job, 0);
        atomic_init(&o->error_at, -1);
        o->reported = 0;
    }
    if (wp__mutex_init(&obs->mu) != 0)
        return -1;
    if (wp__cond_init(&obs->cv) != 0) {
        wp__mutex_destroy(&obs->mu);
        return -1;
    }
    if (obs->on_stall) {
        if (wp__thread_start(&obs->thread, wp__watchdog_main, pool, 0) != 0) {
            wp__cond_destroy(&obs->cv);
            wp__mutex_destroy(&obs->mu);
            return -1;
        }
        obs->watchdog = true;
    }
    return 0;
}

/* Stops and joins the watchdog and undoes wp__observe_start. */
static void wp__observe_stop(wp_pool *pool)
{
    wp__obs_pool *obs = &pool->obs;
    if (obs->watchdog) {
        wp__mutex_lock(&obs->mu);
        obs->stop = 1;
        wp__cond_signal(&obs->cv);
        wp__mutex_unlock(&obs->mu);
        wp__thread_join(obs->thread);
        obs->watchdog = false;
    }
    wp__cond_destroy(&obs->cv);
    wp__mutex_destroy(&obs->mu);
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

/* Sums one histogram over every runner (`run`: run times, else queue
   waits) and derives its figures; the sum stops at INT64_MAX. */
static void wp__obs_latency(wp_pool *pool, wp_latency *l, bool run)
{
    uint64_t sum = 0;
    for (int i = -1; i < pool->slots; i++) {
        const wp__obs_runner *o = i < 0 ? &pool->external.obs : &pool->workers[i].obs;
        for (int b = 0; b < WP_LATENCY_BUCKETS; b++)
            l->buckets[b] += wp__read(run ? &o->run[b] : &o->wait[b]);
        uint64_t s = wp__read(run ? &o->run_sum : &o->wait_sum);
        sum = sum + s < sum ? UINT64_MAX : sum + s;
        int64_t m = atomic_load_explicit((atomic_int_least64_t *)(run ? &o->run_max : &o->wait_max),
                                         memory_order_relaxed);
        if (m > l->max_ns)
            l->max_ns = m;
    }
    l->sum_ns = sum > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)sum;
    l->count = 0;
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++)
        l->count += l->buckets[i];
    l->mean_ns = l->count ? (int64_t)((uint64_t)l->sum_ns / l->count) : 0;
    l->p50_ns = wp__obs_percentile(l, 500);
    l->p90_ns = wp__obs_percentile(l, 900);
    l->p99_ns = wp__obs_percentile(l, 990);
}

static void wp__stat_queue_high_water(wp_pool *pool, wp_stats *out)
{
    size_t hw = atomic_load_explicit(&pool->obs.high_water, memory_order_relaxed);
    out->queue_high_water = hw > out->queue_depth ? hw : out->queue_depth;
}

/* The latest failure of any worker (ties: the lower index); fills the four
   last_error fields. */
static void wp__stat_last_error_code(wp_pool *pool, wp_stats *out)
{
    out->last_error_code = 0;
    out->last_error_worker = -1;
    out->last_error_job_id = 0;
    out->last_error_ns = -1;
    for (int i = -1; i < pool->slots; i++) {
        wp__obs_runner *o = i < 0 ? &pool->external.obs : &pool->workers[i].obs;
        int64_t at = atomic_load_explicit(&o->error_at, memory_order_acquire);
        if (at > out->last_error_ns) {
            out->last_error_ns = at;
            out->last_error_code = atomic_load_explicit(&o->error_code, memory_order_relaxed);
            out->last_error_job_id = wp__read(&o->error_job);
            out->last_error_worker = i;
        }
    }
}

static void wp__stat_queue_wait(wp_pool *pool, wp_stats *out) { wp__obs_latency(pool, &out->queue_wait, false); }
static void wp__stat_run_time(wp_pool *pool, wp_stats *out) { wp__obs_latency(pool, &out->run_time, true); }

#else /* WP_NO_OBSERVABILITY: the seams do nothing, and nothing is kept */

static inline bool wp__observe_times(const wp_pool *pool)
{
    (void)pool;
    return false;
}

static inline void wp__observe_submit(wp_pool *pool, size_t jobs)
{
    (void)pool;
    (void)jobs;
}

static void wp__observe_full(wp_pool *pool) { (void)pool; }

static inline int64_t wp__observe_begin(wp_pool *pool, wp__worker *w, const wp__task *t)
{
    (void)pool;
    (void)w;
    (void)t;
    return 0;
}

static inline void wp__observe_end(wp_pool *pool, wp__worker *w, const wp__task *t, int code,
                                   int64_t start)
{
    (void)pool;
    (void)w;
    (void)t;
    (void)code;
    (void)start;
}

static int wp__observe_start(wp_pool *pool, const wp_config *cfg)
{
    (void)pool;
    (void)cfg;
    return 0;
}

static void wp__observe_stop(wp_pool *pool) { (void)pool; }

static void wp__stat_queue_high_water(wp_pool *pool, wp_stats *out)
{
    (void)pool;
    out->queue_high_water = out->queue_depth;
}

static void wp__stat_last_error_code(wp_pool *pool, wp_stats *out)
{
    (void)pool;
    out->last_error_worker = -1;
    out->last_error_ns = -1;
}

/* The latencies stay zero (never measured). */
static void wp__stat_queue_wait(wp_pool *pool, wp_stats *out) { (void)pool; (void)out; }
static void wp__stat_run_time(wp_pool *pool, wp_stats *out) { (void)pool; (void)out; }

#endif /* WP_NO_OBSERVABILITY */

/* Filled by wp__stat_last_error_code with it. */
static void wp__stat_last_error_worker(wp_pool *pool, wp_stats *out) { (void)pool; (void)out; }
static void wp__stat_last_error_job_id(wp_pool *pool, wp_stats *out) { (void)pool; (void)out; }
static void wp__stat_last_error_ns(wp_pool *pool, wp_stats *out) { (void)pool; (void)out; }

/* --- formatters ---------------------------------------------------------- */

/* The three formats walk WP_STATS_FIELDS through this table (what each field
   is and where it sits in the struct), so a new field reaches all three. */
enum wp__stat_kind {
    WP__KIND_NAME, WP__KIND_INT, WP__KIND_SIZE, WP__KIND_COUNT, WP__KIND_ID,
    WP__KIND_NS, WP__KIND_WHEN, WP__KIND_RATIO, WP__KIND_LATENCY
};

typedef struct wp__stat_desc {
    enum wp__stat_kind kind;
    size_t offset;
    const char *group, *key, *row, *before, *after, *prom, *help;
} wp__stat_desc;

static const wp__stat_desc wp__stat_descs[] = {
#define WP__STAT_DESC(kind, field, group, key, row, before, after, prom, help) \
    { WP__KIND_##kind, offsetof(wp_stats, field), group, key, row, before, after, prom, help },
    WP_STATS_FIELDS(WP__STAT_DESC)
#undef WP__STAT_DESC
};
#define WP__STAT_DESCS (sizeof wp__stat_descs / sizeof wp__stat_descs[0])

static const void *wp__stat_at(const wp_stats *s, const wp__stat_desc *d)
{
    return (const char *)s + d->offset;
}

/* A field's value as a signed (INT, NS, WHEN) or unsigned (SIZE, COUNT, ID)
   integer. */
static long long wp__stat_signed(const wp_stats *s, const wp__stat_desc *d)
{
    if (d->kind == WP__KIND_INT)
        return *(const int *)wp__stat_at(s, d);
    return (long long)*(const int64_t *)wp__stat_at(s, d);
}

static unsigned long long wp__stat_unsigned(const wp_stats *s, const wp__stat_desc *d)
{
    if (d->kind == WP__KIND_SIZE)
        return *(const size_t *)wp__stat_at(s, d);
    return *(const uint64_t *)wp__stat_at(s, d);
}

static double wp__stat_ratio(const wp_stats *s, const wp__stat_desc *d)
{
    double v = *(const double *)wp__stat_at(s, d);
    return v >= 0 && v <= 1 ? v : 0; /* never NaN or inf in the output */
}

/* A group written as absent: the last error, before any failure. */
static bool wp__stat_absent(const wp_stats *s, const char *group)
{
    return strcmp(group, "last_error") == 0 && s->last_error_ns < 0;
}

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

static void wp__puts(wp__out *o, const char *s)
{
    wp__put(o, "%s", s);
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

/* One field's value in a table row (a WHEN that is -1 leaves it out). */
static void wp__table_field(wp__out *o, const wp_stats *s, const wp__stat_desc *d)
{
    if (d->kind == WP__KIND_WHEN && wp__stat_signed(s, d) < 0)
        return;
    wp__puts(o, d->before);
    switch (d->kind) {
    case WP__KIND_NAME: wp__put_escaped(o, (const char *)wp__stat_at(s, d), true); break;
    case WP__KIND_INT: wp__put(o, "%lld", wp__stat_signed(s, d)); break;
    case WP__KIND_SIZE:
    case WP__KIND_COUNT:
    case WP__KIND_ID: wp__put(o, "%llu", wp__stat_unsigned(s, d)); break;
    case WP__KIND_NS:
    case WP__KIND_WHEN: wp__put(o, "%.3f s", (double)wp__stat_signed(s, d) / 1e9); break;
    case WP__KIND_RATIO: wp__put(o, "%.1f%%", 100.0 * wp__stat_ratio(s, d)); break;
    case WP__KIND_LATENCY: break; /* rows of their own */
    }
    wp__puts(o, d->after);
}

/* True when an earlier field has the same table row (so the row is written). */
static bool wp__table_row_seen(size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(wp__stat_descs[j].row, wp__stat_descs[i].row) == 0)
            return true;
    return false;
}

int wp_stats_format_table(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    for (size_t i = 0; i < WP__STAT_DESCS; i++) {
        const wp__stat_desc *d = &wp__stat_descs[i];
        if (wp__table_row_seen(i))
            continue;
        if (d->kind == WP__KIND_LATENCY) {
            wp__put(&o, "%-12s%10s %10s %10s %10s %10s %10s\n", d->row, "jobs", "mean", "p50",
                    "p90", "p99", "max");
            for (size_t j = i; j < WP__STAT_DESCS; j++)
                if (strcmp(wp__stat_descs[j].row, d->row) == 0)
                    wp__table_latency(&o, wp__stat_descs[j].before,
                                      (const wp_latency *)wp__stat_at(s, &wp__stat_descs[j]));
            continue;
        }
        wp__puts(&o, d->row);
        if (wp__stat_absent(s, d->group)) {
            wp__puts(&o, "none\n");
            continue;
        }
        for (size_t j = i; j < WP__STAT_DESCS; j++)
            if (strcmp(wp__stat_descs[j].row, d->row) == 0)
                wp__table_field(&o, s, &wp__stat_descs[j]);
        wp__putc(&o, '\n');
    }
    return wp__out_end(&o);
}

static void wp__json_latency(wp__out *o, const wp_latency *l)
{
    wp__put(o, "{\"count\":%llu,\"sum_ns\":%lld,\"mean_ns\":%lld,\"p50_ns\":%lld,"
               "\"p90_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld,\"buckets\":[",
            (unsigned long long)l->count, (long long)l->sum_ns, (long long)l->mean_ns,
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

static void wp__json_value(wp__out *o, const wp_stats *s, const wp__stat_desc *d)
{
    switch (d->kind) {
    case WP__KIND_NAME:
        wp__putc(o, '"');
        wp__put_escaped(o, (const char *)wp__stat_at(s, d), true);
        wp__putc(o, '"');
        break;
    case WP__KIND_INT:
    case WP__KIND_NS:
    case WP__KIND_WHEN: wp__put(o, "%lld", wp__stat_signed(s, d)); break;
    case WP__KIND_SIZE:
    case WP__KIND_COUNT:
    case WP__KIND_ID: wp__put(o, "%llu", wp__stat_unsigned(s, d)); break;
    case WP__KIND_RATIO: wp__put(o, "%.6g", wp__stat_ratio(s, d)); break;
    case WP__KIND_LATENCY: wp__json_latency(o, (const wp_latency *)wp__stat_at(s, d)); break;
    }
}

/* The groups as nested objects, in list order: {"name":...,"workers":{...},
   ...,"last_error":null,...}. */
int wp_stats_format_json(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    const char *group = "";
    bool top_first = true, first = true, skip = false;
    wp__putc(&o, '{');
    for (size_t i = 0; i < WP__STAT_DESCS; i++) {
        const wp__stat_desc *d = &wp__stat_descs[i];
        if (strcmp(d->group, group) != 0) { /* a new group */
            if (*group && !skip)
                wp__putc(&o, '}');
            group = d->group;
            skip = false;
            if (*group) {
                wp__put(&o, "%s\"%s\":", top_first ? "" : ",", group);
                top_first = false;
                skip = wp__stat_absent(s, group);
                wp__puts(&o, skip ? "null" : "{");
                first = true;
            }
        }
        if (skip)
            continue;
        bool *at_first = *group ? &first : &top_first;
        wp__put(&o, "%s\"%s\":", *at_first ? "" : ",", d->key);
        *at_first = false;
        wp__json_value(&o, s, d);
    }
    if (*group && !skip)
        wp__putc(&o, '}');
    wp__put(&o, "}\n");
    return wp__out_end(&o);
}

static void wp__prom_labels(wp__out *o, const char *metric, const char *suffix, const wp_stats *s)
{
    wp__put(o, "workerpool_%s%s{pool=\"", metric, suffix);
    wp__put_escaped(o, s->name, false);
    wp__putc(o, '"');
}

static void wp__prom_histogram(wp__out *o, const wp_stats *s, const char *metric,
                               const wp_latency *l)
{
    uint64_t cumulative = 0;
    for (int i = 0; i < WP_LATENCY_BUCKETS; i++) {
        cumulative += l->buckets[i];
        wp__prom_labels(o, metric, "_bucket", s);
        wp__put(o, ",le=\"");
        if (i < WP_LATENCY_BUCKETS - 1)
            wp__put_seconds(o, wp__latency_bounds[i]);
        else
            wp__put(o, "+Inf");
        wp__put(o, "\"} %llu\n", (unsigned long long)cumulative);
    }
    wp__prom_labels(o, metric, "_sum", s);
    wp__put(o, "} ");
    wp__put_seconds(o, l->sum_ns);
    wp__putc(o, '\n');
    wp__prom_labels(o, metric, "_count", s);
    wp__put(o, "} %llu\n", (unsigned long long)cumulative);
}

/* One family per field with a Prometheus name: HELP, TYPE and its samples. */
int wp_stats_format_prometheus(const wp_stats *s, char *buf, size_t cap)
{
    wp__out o;
    if (wp__out_begin(&o, s, buf, cap) != 0)
        return -1;
    for (size_t i = 0; i < WP__STAT_DESCS; i++) {
        const wp__stat_desc *d = &wp__stat_descs[i];
        if (!*d->prom || d->kind == WP__KIND_NAME) /* the name is the label */
            continue;
        const char *type = d->kind == WP__KIND_COUNT ? "counter"
                         : d->kind == WP__KIND_LATENCY ? "histogram" : "gauge";
        wp__put(&o, "# HELP workerpool_%s %s\n# TYPE workerpool_%s %s\n", d->prom, d->help, d->prom,
                type);
        if (d->kind == WP__KIND_LATENCY) {
            wp__prom_histogram(&o, s, d->prom, (const wp_latency *)wp__stat_at(s, d));
            continue;
        }
        wp__prom_labels(&o, d->prom, "", s);
        wp__put(&o, "} ");
        switch (d->kind) {
        case WP__KIND_INT: wp__put(&o, "%lld", wp__stat_signed(s, d)); break;
        case WP__KIND_NS: wp__put_seconds(&o, wp__stat_signed(s, d)); break;
        case WP__KIND_WHEN: /* -1 s for never */
            wp__put_seconds(&o, wp__stat_signed(s, d) >= 0 ? wp__stat_signed(s, d) : -WP_SEC(1));
            break;
        case WP__KIND_RATIO: wp__put(&o, "%.6g", wp__stat_ratio(s, d)); break;
        default: wp__put(&o, "%llu", wp__stat_unsigned(s, d)); break;
        }
        wp__putc(&o, '\n');
    }
    return wp__out_end(&o);
}


/* --- test seams --------------------------------------------------------------

   Compiled only with WORKERPOOL_TESTING (the project's own tests); no
   production function branches on them.
     wp__queue_seek(q, position)      moves an empty, quiet queue's positions,
                                      e.g. just below the wrap-around
     wp__test_fail_thread_starts(n)   the next n thread starts (any pool) fail
                                      as if the platform refused them
     wp__pool_queue(pool)             the pool's normal-priority lane
     wp__test_seed_jobs(pool, n)      an idle pool looks as if n jobs had run */
#ifdef WORKERPOOL_TESTING
/* Atomic stores, since idle workers may be polling the queue. */
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

static atomic_int wp__failing_starts;
WP_API void wp__test_fail_thread_starts(int n);
WP_API void wp__test_fail_thread_starts(int n) { atomic_store(&wp__failing_starts, n); }

static int wp__test_thread_start(wp__thread *t, wp__thread_fn fn, void *arg, size_t stack)
{
    int n = atomic_load(&wp__failing_starts);
    while (n > 0)
        if (atomic_compare_exchange_weak(&wp__failing_starts, &n, n - 1))
            return -1;
    return wp__thread_start(t, fn, arg, stack);
}

WP_API wp_queue *wp__pool_queue(wp_pool *pool);
WP_API wp_queue *wp__pool_queue(wp_pool *pool) { return pool->lanes[WP__LANE_NORMAL]; }

/* Test seam: makes a fresh, idle pool look as if `jobs` jobs had been
   accepted into its normal lane and completed, without running them: the
   lane's tickets move on by that many (modulo their wrap, where the
   production path then takes over), and an outcome counter follows. For
   tests of the 64-bit counts across the wrap of the lanes' size_t tickets. */
WP_API void wp__test_seed_jobs(wp_pool *pool, uint64_t jobs);
WP_API void wp__test_seed_jobs(wp_pool *pool, uint64_t jobs)
{
    wp_queue *q = pool->lanes[WP__LANE_NORMAL];
    size_t origin = q->origin;
    wp__queue_seek(q, origin / WP__TICKET + (size_t)jobs);
    q->origin = origin;
    atomic_fetch_add(&pool->external.completed, jobs);
}
#endif

#endif /* C11 */
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
