/* Bad input: every public function (each `^WP_API` declaration of
   workerpool.h) called with NULL, zero, negative, absurd (SIZE_MAX, INT_MAX,
   INT64_MIN ...) and post-close arguments. Each row of the table names the
   call and the documented result; none may crash or hang (each row runs on
   its own thread with a time limit).

   Adding a row: one line in BAD_INPUT_ROWS below,
       X(name, fixture, expected, expression)
   where `fixture` says what `f` holds when the expression runs (see
   fixture_kind), `expected` is what the expression must evaluate to (a
   wp_status for most calls; 0/1, a size or a pointer test for the others),
   and `expression` is the call, written with `f->pool`, `f->queue`,
   `f->result` ... test_every_api_function_has_a_row checks that each
   function the header declares appears in some row. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

#include <limits.h>

typedef enum fixture_kind {
    F_NONE,      /* nothing: f->pool and f->queue are NULL */
    F_OPEN,      /* an open pool (2 workers, queue 4, result channel 4), a queue */
    F_NOCHAN,    /* an open pool without a result channel */
    F_CLOSED,    /* a pool closed with WP_DRAIN (with a channel), a queue */
    F_FULL       /* an open pool whose one worker is held and whose queue (2) is full */
} fixture_kind;

typedef struct fixture {
    wp_pool *pool;
    wp_queue *queue;
    wp_result result;
    wp_stats stats;
    wp_config config;
    wp_job job;
    uint64_t elem;
    _Alignas(64) unsigned char memory[4096];
    gate g;
} fixture;

static void noop_call(void *arg) { (void)arg; }

static int noop_job(void *arg, wp_ctx *ctx) {
    (void)arg;
    (void)ctx;
    return 0;
}

/* An allocator that refuses anything above 1 MiB, so that an absurd but
   valid size fails with WP_NOMEM instead of reserving gigabytes. */
static void *small_alloc(size_t size, void *user) {
    (void)user;
    return size > ((size_t)1 << 20) ? NULL : malloc(size);
}

static void small_free(void *p, void *user) {
    (void)user;
    free(p);
}

/* Config helpers for rows: a default config with one field changed. */
static const wp_config *cfg_workers(fixture *f, int min, int max) {
    f->config = (wp_config){ .scaling.min_workers = min, .max_workers = max };
    return &f->config;
}

static const wp_config *cfg_queue(fixture *f, size_t queue, size_t results) {
    f->config = (wp_config){ .max_workers = 1, .queue_capacity = queue, .result_capacity = results,
                             .allocator = { small_alloc, small_free, NULL } };
    return &f->config;
}

static const wp_config *cfg_policy(fixture *f, int policy, int64_t submit_timeout) {
    f->config = (wp_config){ .max_workers = 1, .backpressure = (wp_backpressure)policy,
                             .submit_timeout = submit_timeout };
    return &f->config;
}

static const wp_config *cfg_scaling(fixture *f, int64_t up, int64_t idle, int64_t down) {
    f->config = (wp_config){ .scaling.min_workers = 1, .max_workers = 2, .scaling.up_cooldown = up,
                             .scaling.idle_timeout = idle, .scaling.down_cooldown = down };
    return &f->config;
}

static const wp_config *cfg_half_allocator(fixture *f) {
    f->config = (wp_config){ .max_workers = 1, .allocator = { small_alloc, NULL, NULL } };
    return &f->config;
}

/* A job with one field changed. */
static const wp_job *job_with(fixture *f, wp_job_fn fn, int policy, int64_t timeout) {
    f->job = (wp_job){ .fn = fn, .backpressure = (wp_backpressure)policy, .submit_timeout = timeout };
    return &f->job;
}

/* wp_pool_create with `config`; destroys what it may have created and
   returns the status (and checks that a failure left *out NULL). */
static long long create_status(const wp_config *config) {
    static int dummy;
    wp_pool *pool = (wp_pool *)(void *)&dummy;
    wp_status s = wp_pool_create(config, &pool);
    if (s != WP_OK && pool != NULL)
        return 1000; /* out not cleared: never an expected value */
    if (s == WP_OK)
        wp_pool_destroy(pool);
    return s;
}

static bool is_unknown(const char *text) { return text && strcmp(text, "unknown status") == 0; }

#define BIG_CAPACITY (((size_t)1 << 30) + 1)

/* The table. Keep rows grouped by function, in header order. */
/* Jobs for the fork-join rows; none of them runs. */
static int bad_job(void *arg, wp_ctx *ctx) {
    (void)arg, (void)ctx;
    return 0;
}
static int bad_range(void *arg, size_t begin, size_t end, wp_ctx *ctx) {
    (void)arg, (void)begin, (void)end, (void)ctx;
    return 0;
}

#define BAD_INPUT_ROWS(X)                                                                          \
    /* wp_status_str */                                                                            \
    X(status_str_int_min, F_NONE, 1, is_unknown(wp_status_str((wp_status)INT_MIN)))                \
    X(status_str_int_max, F_NONE, 1, is_unknown(wp_status_str((wp_status)INT_MAX)))                \
    X(status_str_one, F_NONE, 1, is_unknown(wp_status_str((wp_status)1)))                          \
    X(status_str_below_last, F_NONE, 1, is_unknown(wp_status_str((wp_status)(WP_STALLED - 1)))) \
    /* wp_queue_footprint */                                                                       \
    X(footprint_zero_capacity, F_NONE, 0, wp_queue_footprint(0, 8))                                \
    X(footprint_zero_elem, F_NONE, 0, wp_queue_footprint(8, 0))                                    \
    X(footprint_size_max_capacity, F_NONE, 0, wp_queue_footprint(SIZE_MAX, 8))                     \
    X(footprint_size_max_elem, F_NONE, 0, wp_queue_footprint(8, SIZE_MAX))                         \
    X(footprint_capacity_above_2_30, F_NONE, 0, wp_queue_footprint(BIG_CAPACITY, 1))               \
    X(footprint_elem_above_64k, F_NONE, 0, wp_queue_footprint(2, 65537))                           \
    /* wp_queue_init */                                                                            \
    X(queue_init_null_memory, F_NONE, WP_INVALID, wp_queue_init(NULL, 4096, 4, 8, &f->queue))      \
    X(queue_init_null_out, F_NONE, WP_INVALID, wp_queue_init(f->memory, sizeof f->memory, 4, 8, NULL)) \
    X(queue_init_zero_size, F_NONE, WP_INVALID, wp_queue_init(f->memory, 0, 4, 8, &f->queue))      \
    X(queue_init_too_small, F_NONE, WP_INVALID,                                                    \
      wp_queue_init(f->memory, wp_queue_footprint(4, 8) - 1, 4, 8, &f->queue))                     \
    X(queue_init_zero_capacity, F_NONE, WP_INVALID,                                                \
      wp_queue_init(f->memory, sizeof f->memory, 0, 8, &f->queue))                                 \
    X(queue_init_zero_elem, F_NONE, WP_INVALID, wp_queue_init(f->memory, sizeof f->memory, 4, 0, &f->queue)) \
    X(queue_init_size_max_everything, F_NONE, WP_INVALID,                                          \
      wp_queue_init(f->memory, SIZE_MAX, SIZE_MAX, SIZE_MAX, &f->queue))                           \
    X(queue_init_memory_size_max_ok, F_NONE, WP_OK,                                                \
      wp_queue_init(f->memory, SIZE_MAX, 4, 8, &f->queue))                                         \
    X(queue_init_failure_clears_out, F_NONE, 1,                                                    \
      (f->queue = (wp_queue *)(void *)f, wp_queue_init(NULL, 0, 0, 0, &f->queue), f->queue == NULL)) \
    /* wp_queue_create */                                                                          \
    X(queue_create_null_out, F_NONE, WP_INVALID, wp_queue_create(4, 8, NULL))                      \
    X(queue_create_zero_capacity, F_NONE, WP_INVALID, wp_queue_create(0, 8, &f->queue))            \
    X(queue_create_size_max_capacity, F_NONE, WP_INVALID, wp_queue_create(SIZE_MAX, 8, &f->queue)) \
    X(queue_create_capacity_above_2_30, F_NONE, WP_INVALID, wp_queue_create(BIG_CAPACITY, 8, &f->queue)) \
    X(queue_create_size_max_elem, F_NONE, WP_INVALID, wp_queue_create(4, SIZE_MAX, &f->queue))     \
    /* wp_queue_destroy */                                                                         \
    X(queue_destroy_null, F_NONE, 0, (wp_queue_destroy(NULL), 0))                                  \
    X(queue_destroy_caller_memory, F_OPEN, 0, (wp_queue_destroy(f->queue), 0))                     \
    /* wp_queue_try_push / try_pop */                                                              \
    X(queue_push_null_queue, F_NONE, 0, wp_queue_try_push(NULL, &f->elem))                         \
    X(queue_push_null_elem, F_OPEN, 0, wp_queue_try_push(f->queue, NULL))                          \
    X(queue_pop_null_queue, F_NONE, 0, wp_queue_try_pop(NULL, &f->elem))                           \
    X(queue_pop_null_out, F_OPEN, 0, (wp_queue_try_push(f->queue, &f->elem), wp_queue_try_pop(f->queue, NULL))) \
    X(queue_pop_empty, F_OPEN, 0, wp_queue_try_pop(f->queue, &f->elem))                            \
    /* wp_queue_size / capacity */                                                                 \
    X(queue_size_null, F_NONE, 0, wp_queue_size(NULL))                                             \
    X(queue_capacity_null, F_NONE, 0, wp_queue_capacity(NULL))                                     \
    /* wp_ctx_* (outside a job: NULL) */                                                           \
    X(ctx_id_null, F_NONE, 0, wp_ctx_id(NULL))                                                     \
    X(ctx_worker_null, F_NONE, -1, wp_ctx_worker(NULL))                                            \
    X(ctx_should_stop_null, F_NONE, 0, wp_ctx_should_stop(NULL))                                   \
    X(ctx_set_value_null, F_NONE, 0, (wp_ctx_set_value(NULL, f), 0))                               \
    /* wp_config presets: no arguments; they must make valid pools */                              \
    X(config_default_is_valid, F_NONE, WP_OK, (f->config = wp_config_default(), create_status(&f->config))) \
    X(config_high_throughput_is_valid, F_NONE, WP_OK,                                              \
      (f->config = wp_config_high_throughput(), create_status(&f->config)))                        \
    X(config_low_resource_is_valid, F_NONE, WP_OK,                                                 \
      (f->config = wp_config_low_resource(), create_status(&f->config)))                           \
    /* wp_pool_create */                                                                           \
    X(create_null_out, F_NONE, WP_INVALID, wp_pool_create(NULL, NULL))                             \
    X(create_null_config_is_default, F_NONE, WP_OK, create_status(NULL))                           \
    X(create_negative_max, F_NONE, WP_INVALID, create_status(cfg_workers(f, 0, -1)))               \
    X(create_negative_min, F_NONE, WP_INVALID, create_status(cfg_workers(f, -1, 2)))               \
    X(create_int_min_workers, F_NONE, WP_INVALID, create_status(cfg_workers(f, INT_MIN, INT_MIN))) \
    X(create_int_max_workers, F_NONE, WP_INVALID, create_status(cfg_workers(f, 1, INT_MAX)))       \
    X(create_int_max_min_workers, F_NONE, WP_INVALID, create_status(cfg_workers(f, INT_MAX, 0)))   \
    X(create_max_above_limit, F_NONE, WP_INVALID, create_status(cfg_workers(f, 1, WP_MAX_WORKERS + 1))) \
    X(create_min_above_max, F_NONE, WP_INVALID, create_status(cfg_workers(f, 3, 2)))               \
    X(create_size_max_queue, F_NONE, WP_INVALID, create_status(cfg_queue(f, SIZE_MAX, 0)))         \
    X(create_queue_above_2_30, F_NONE, WP_INVALID, create_status(cfg_queue(f, BIG_CAPACITY, 0)))   \
    X(create_size_max_results, F_NONE, WP_INVALID, create_status(cfg_queue(f, 4, SIZE_MAX)))       \
    X(create_queue_2_30_no_memory, F_NONE, WP_NOMEM, create_status(cfg_queue(f, (size_t)1 << 30, 0))) \
    X(create_unknown_policy, F_NONE, WP_INVALID, create_status(cfg_policy(f, 99, 0)))              \
    X(create_negative_policy, F_NONE, WP_INVALID, create_status(cfg_policy(f, -1, 0)))             \
    X(create_negative_submit_timeout, F_NONE, WP_INVALID, create_status(cfg_policy(f, WP_TIMEOUT, -1))) \
    X(create_int64_min_submit_timeout, F_NONE, WP_INVALID,                                         \
      create_status(cfg_policy(f, WP_TIMEOUT, INT64_MIN)))                                         \
    X(create_int64_max_submit_timeout, F_NONE, WP_OK, create_status(cfg_policy(f, WP_TIMEOUT, INT64_MAX))) \
    X(create_negative_up_cooldown, F_NONE, WP_INVALID, create_status(cfg_scaling(f, INT64_MIN, 0, 0))) \
    X(create_negative_idle_timeout, F_NONE, WP_INVALID, create_status(cfg_scaling(f, 0, -1, 0)))   \
    X(create_negative_down_cooldown, F_NONE, WP_INVALID, create_status(cfg_scaling(f, 0, 0, -1)))  \
    X(create_int64_max_scaling_times, F_NONE, WP_OK,                                               \
      create_status(cfg_scaling(f, INT64_MAX, INT64_MAX, INT64_MAX)))                              \
    X(create_half_allocator, F_NONE, WP_INVALID, create_status(cfg_half_allocator(f)))             \
    /* wp_submit */                                                                                \
    X(submit_null_pool, F_NONE, WP_INVALID, wp_submit(NULL, noop_job, NULL))                       \
    X(submit_null_fn, F_OPEN, WP_INVALID, wp_submit(f->pool, NULL, NULL))                          \
    X(submit_after_close, F_CLOSED, WP_CLOSED, wp_submit(f->pool, noop_job, NULL))                 \
    X(submit_null_fn_after_close, F_CLOSED, WP_INVALID, wp_submit(f->pool, NULL, NULL))            \
    X(call_null_pool, F_NONE, WP_INVALID, wp_submit_call(NULL, noop_call, NULL))                   \
    X(call_null_fn, F_OPEN, WP_INVALID, wp_submit_call(f->pool, NULL, NULL))                       \
    X(call_after_close, F_CLOSED, WP_CLOSED, wp_submit_call(f->pool, noop_call, NULL))             \
    /* wp_submit_job */                                                                            \
    X(submit_job_null_pool, F_NONE, WP_INVALID, wp_submit_job(NULL, job_with(f, noop_job, 0, 0)))  \
    X(submit_job_null_job, F_OPEN, WP_INVALID, wp_submit_job(f->pool, NULL))                       \
    X(submit_job_null_fn, F_OPEN, WP_INVALID, wp_submit_job(f->pool, job_with(f, NULL, 0, 0)))     \
    X(submit_job_unknown_policy, F_OPEN, WP_INVALID, wp_submit_job(f->pool, job_with(f, noop_job, 99, 0))) \
    X(submit_job_negative_policy, F_OPEN, WP_INVALID, wp_submit_job(f->pool, job_with(f, noop_job, -1, 0))) \
    X(submit_job_int_max_policy, F_OPEN, WP_INVALID,                                               \
      wp_submit_job(f->pool, job_with(f, noop_job, INT_MAX, 0)))                                   \
    X(submit_job_negative_timeout, F_OPEN, WP_INVALID,                                             \
      wp_submit_job(f->pool, job_with(f, noop_job, WP_TIMEOUT, -1)))                               \
    X(submit_job_int64_min_timeout, F_OPEN, WP_INVALID,                                            \
      wp_submit_job(f->pool, job_with(f, noop_job, WP_TIMEOUT, INT64_MIN)))                        \
    X(submit_job_after_close, F_CLOSED, WP_CLOSED, wp_submit_job(f->pool, job_with(f, noop_job, 0, 0))) \
    X(submit_job_block_after_close, F_CLOSED, WP_CLOSED,                                           \
      wp_submit_job(f->pool, job_with(f, noop_job, WP_BLOCK, 0)))                                  \
    X(submit_job_full_reject, F_FULL, WP_FULL, wp_submit_job(f->pool, job_with(f, noop_job, WP_REJECT, 0))) \
    X(submit_job_full_drop, F_FULL, WP_DROPPED, wp_submit_job(f->pool, job_with(f, noop_job, WP_DROP, 0))) \
    X(submit_job_full_timeout_1ns, F_FULL, WP_TIMED_OUT,                                           \
      wp_submit_job(f->pool, job_with(f, noop_job, WP_TIMEOUT, 1)))                                \
    X(submit_job_full_invalid_before_full, F_FULL, WP_INVALID,                                     \
      wp_submit_job(f->pool, job_with(f, noop_job, WP_TIMEOUT, INT64_MIN)))                        \
    /* wp_result_recv */                                                                           \
    X(recv_null_pool, F_NONE, WP_INVALID, wp_result_recv(NULL, &f->result, WP_NOWAIT))             \
    X(recv_null_out, F_OPEN, WP_INVALID, wp_result_recv(f->pool, NULL, WP_NOWAIT))                 \
    X(recv_negative_timeout, F_OPEN, WP_INVALID, wp_result_recv(f->pool, &f->result, -1))          \
    X(recv_int64_min_timeout, F_OPEN, WP_INVALID, wp_result_recv(f->pool, &f->result, INT64_MIN))  \
    X(recv_no_channel, F_NOCHAN, WP_INVALID, wp_result_recv(f->pool, &f->result, WP_NOWAIT))       \
    X(recv_no_channel_forever, F_NOCHAN, WP_INVALID, wp_result_recv(f->pool, &f->result, WP_FOREVER)) \
    X(recv_empty_nowait, F_OPEN, WP_TIMED_OUT, wp_result_recv(f->pool, &f->result, WP_NOWAIT))     \
    X(recv_empty_1ns, F_OPEN, WP_TIMED_OUT, wp_result_recv(f->pool, &f->result, 1))                \
    X(recv_after_close_forever, F_CLOSED, WP_CLOSED, wp_result_recv(f->pool, &f->result, WP_FOREVER)) \
    X(recv_after_close_int64_max_minus_1, F_CLOSED, WP_CLOSED,                                     \
      wp_result_recv(f->pool, &f->result, INT64_MAX - 1))                                          \
    /* wp_pool_close */                                                                            \
    X(close_null_pool, F_NONE, WP_INVALID, wp_pool_close(NULL, WP_DRAIN, WP_FOREVER))              \
    X(close_unknown_mode, F_OPEN, WP_INVALID, wp_pool_close(f->pool, (wp_close_mode)2, WP_FOREVER)) \
    X(close_negative_mode, F_OPEN, WP_INVALID, wp_pool_close(f->pool, (wp_close_mode)-1, WP_FOREVER)) \
    X(close_int_max_mode, F_OPEN, WP_INVALID, wp_pool_close(f->pool, (wp_close_mode)INT_MAX, 0))   \
    X(close_negative_timeout, F_OPEN, WP_INVALID, wp_pool_close(f->pool, WP_DRAIN, -1))            \
    X(close_int64_min_timeout, F_OPEN, WP_INVALID, wp_pool_close(f->pool, WP_CANCEL, INT64_MIN))   \
    X(close_invalid_leaves_pool_open, F_OPEN, WP_OK,                                               \
      (wp_pool_close(f->pool, (wp_close_mode)7, -5), wp_submit(f->pool, noop_job, NULL)))          \
    X(close_idle_int64_max_minus_1, F_OPEN, WP_OK, wp_pool_close(f->pool, WP_DRAIN, INT64_MAX - 1)) \
    X(close_twice, F_CLOSED, WP_OK, wp_pool_close(f->pool, WP_DRAIN, WP_NOWAIT))                   \
    X(close_cancel_after_drain, F_CLOSED, WP_OK, wp_pool_close(f->pool, WP_CANCEL, WP_FOREVER))    \
    X(close_bad_mode_after_close, F_CLOSED, WP_INVALID, wp_pool_close(f->pool, (wp_close_mode)9, 0)) \
    /* tokens */                                                                                   \
    X(token_create_null_out, F_NONE, WP_INVALID, wp_token_create(NULL))                            \
    X(token_cancel_null, F_NONE, 0, (wp_token_cancel(NULL), 0))                                    \
    X(token_is_canceled_null, F_NONE, 0, wp_token_is_canceled(NULL))                               \
    X(token_destroy_null, F_NONE, 0, (wp_token_destroy(NULL), 0))                                  \
    X(ctx_expired_null, F_NONE, 0, wp_ctx_expired(NULL))                                           \
    /* wp_submit_job: the job-control fields */                                                   \
    X(submit_job_negative_deadline, F_OPEN, WP_INVALID,                                            \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .deadline = -1 }))                         \
    X(submit_job_int64_min_deadline, F_OPEN, WP_INVALID,                                           \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .deadline = INT64_MIN }))                  \
    X(submit_job_int64_max_deadline, F_OPEN, WP_OK,                                                \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .deadline = INT64_MAX }))                  \
    X(submit_job_unknown_priority, F_OPEN, WP_INVALID,                                             \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .priority = (wp_priority)3 }))             \
    X(submit_job_negative_priority, F_OPEN, WP_INVALID,                                            \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .priority = (wp_priority)-1 }))            \
    X(submit_job_caller_runs_after_close, F_CLOSED, WP_CLOSED,                                     \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .backpressure = WP_CALLER_RUNS }))         \
    X(submit_job_drop_oldest_after_close, F_CLOSED, WP_CLOSED,                                     \
      wp_submit_job(f->pool, &(wp_job){ .fn = noop_job, .backpressure = WP_DROP_OLDEST }))         \
    /* wp_submit_batch */                                                                          \
    X(batch_null_pool, F_NONE, 0, wp_submit_batch(NULL, &f->job, 1, NULL))                         \
    X(batch_null_jobs, F_OPEN, 0, wp_submit_batch(f->pool, NULL, 3, NULL))                         \
    X(batch_null_jobs_zero_count, F_OPEN, 0, wp_submit_batch(f->pool, NULL, 0, NULL))              \
    X(batch_invalid_job, F_OPEN, 0, wp_submit_batch(f->pool, &(wp_job){ .fn = NULL }, 1, NULL))    \
    X(batch_after_close, F_CLOSED, 0,                                                              \
      wp_submit_batch(f->pool, &(wp_job){ .fn = noop_job }, 1, NULL))                              \
    /* wp_submit_retry */                                                                          \
    X(retry_null_pool, F_NONE, WP_INVALID, wp_submit_retry(NULL, &(wp_job){ .fn = noop_job }, NULL)) \
    X(retry_null_job, F_OPEN, WP_INVALID, wp_submit_retry(f->pool, NULL, NULL))                    \
    X(retry_negative_attempts, F_OPEN, WP_INVALID,                                                 \
      wp_submit_retry(f->pool, &(wp_job){ .fn = noop_job }, &(wp_retry){ .max_attempts = -1 }))    \
    X(retry_negative_backoff, F_OPEN, WP_INVALID,                                                  \
      wp_submit_retry(f->pool, &(wp_job){ .fn = noop_job }, &(wp_retry){ .initial_backoff = -1 })) \
    X(retry_int64_min_cap, F_OPEN, WP_INVALID,                                                     \
      wp_submit_retry(f->pool, &(wp_job){ .fn = noop_job }, &(wp_retry){ .max_backoff = INT64_MIN })) \
    X(retry_after_close, F_CLOSED, WP_CLOSED, wp_submit_retry(f->pool, &(wp_job){ .fn = noop_job }, NULL)) \
    X(retry_full_gives_up, F_FULL, WP_FULL,                                                        \
      wp_submit_retry(f->pool, &(wp_job){ .fn = noop_job },                                        \
                      &(wp_retry){ .max_attempts = 2, .initial_backoff = 1, .max_backoff = 1 }))   \
    /* job handles */                                                                              \
    X(job_wait_null_pool, F_NONE, WP_INVALID, wp_job_wait(NULL, (wp_handle){ 0, 1 }, 0, NULL))     \
    X(job_wait_zero_handle, F_OPEN, WP_INVALID, wp_job_wait(f->pool, (wp_handle){ 0, 0 }, 0, NULL)) \
    X(job_wait_absurd_slot, F_OPEN, WP_INVALID,                                                    \
      wp_job_wait(f->pool, (wp_handle){ UINT32_MAX, 1 }, WP_FOREVER, &f->result))                  \
    X(job_wait_negative_timeout, F_OPEN, WP_INVALID, wp_job_wait(f->pool, (wp_handle){ 0, 1 }, -1, NULL)) \
    X(job_wait_unissued_handle, F_OPEN, WP_INVALID,                                                \
      wp_job_wait(f->pool, (wp_handle){ 0, 1 }, WP_FOREVER, NULL))                                 \
    X(job_cancel_null_pool, F_NONE, WP_INVALID, wp_job_cancel(NULL, (wp_handle){ 0, 1 }))          \
    X(job_cancel_absurd_generation, F_OPEN, WP_INVALID,                                            \
      wp_job_cancel(f->pool, (wp_handle){ 0, UINT32_MAX }))                                        \
    X(job_query_null_state, F_OPEN, WP_INVALID, wp_job_query(f->pool, (wp_handle){ 0, 1 }, NULL))  \
    X(job_query_null_pool, F_NONE, WP_INVALID,                                                     \
      wp_job_query(NULL, (wp_handle){ 0, 1 }, &(wp_job_state){ 0 }))                               \
    X(job_release_null_pool, F_NONE, WP_INVALID, wp_job_release(NULL, (wp_handle){ 0, 1 }))        \
    X(job_release_absurd_slot, F_OPEN, WP_INVALID, wp_job_release(f->pool, (wp_handle){ 1u << 31, 2 })) \
    /* pause, resume, wait_idle, help */                                                           \
    X(pause_null_pool, F_NONE, WP_INVALID, wp_pool_pause(NULL))                                    \
    X(pause_after_close, F_CLOSED, WP_CLOSED, wp_pool_pause(f->pool))                              \
    X(resume_null_pool, F_NONE, WP_INVALID, wp_pool_resume(NULL))                                  \
    X(resume_not_paused, F_OPEN, WP_OK, wp_pool_resume(f->pool))                                   \
    X(wait_idle_null_pool, F_NONE, WP_INVALID, wp_pool_wait_idle(NULL, WP_FOREVER))                \
    X(wait_idle_negative_timeout, F_OPEN, WP_INVALID, wp_pool_wait_idle(f->pool, -1))              \
    X(wait_idle_int64_min_timeout, F_OPEN, WP_INVALID, wp_pool_wait_idle(f->pool, INT64_MIN))      \
    X(wait_idle_after_close, F_CLOSED, WP_OK, wp_pool_wait_idle(f->pool, WP_FOREVER))              \
    X(wait_idle_full_nowait, F_FULL, WP_TIMED_OUT, wp_pool_wait_idle(f->pool, WP_NOWAIT))          \
    X(help_null_pool, F_NONE, 0, wp_pool_help(NULL, WP_FOREVER))                                   \
    X(help_negative_budget, F_OPEN, 0, wp_pool_help(f->pool, -1))                                  \
    X(help_after_close, F_CLOSED, 0, wp_pool_help(f->pool, WP_FOREVER))                            \
    /* fork-join */                                                                                \
    X(group_init_null, F_NONE, 0, (wp_group_init(NULL, NULL), 0))                                  \
    X(group_wait_null_pool, F_NONE, WP_INVALID, wp_group_wait(NULL, &(wp_group){ 0 }, WP_FOREVER)) \
    X(group_wait_null_group, F_OPEN, WP_INVALID, wp_group_wait(f->pool, NULL, WP_FOREVER))         \
    X(group_wait_negative_timeout, F_OPEN, WP_INVALID,                                             \
      wp_group_wait(f->pool, &(wp_group){ 0 }, -1))\
    X(group_wait_empty_after_close, F_CLOSED, WP_OK,                                               \
      wp_group_wait(f->pool, &(wp_group){ 0 }, WP_FOREVER))\
    X(group_cancel_null, F_NONE, 0, (wp_group_cancel(NULL), 0))                                    \
    X(group_query_null, F_NONE, 0, (wp_group_query(NULL, NULL), 0))                                \
    X(group_then_null_pool, F_NONE, WP_INVALID,                                                    \
      wp_group_then(NULL, &(wp_group){ 0 }, &(wp_job){ .fn = bad_job }))\
    X(group_then_null_job, F_OPEN, WP_INVALID, wp_group_then(f->pool, &(wp_group){ 0 }, NULL))     \
    X(group_then_null_fn, F_OPEN, WP_INVALID,                                                      \
      wp_group_then(f->pool, &(wp_group){ 0 }, &(wp_job){ .fn = NULL }))\
    X(submit_range_null_pool, F_NONE, WP_INVALID,                                                  \
      wp_submit_range(NULL, (wp_range *)(void *)f->memory, bad_range, NULL, 1, 1, NULL))\
    X(submit_range_null_range, F_OPEN, WP_INVALID,                                                 \
      wp_submit_range(f->pool, NULL, bad_range, NULL, 1, 1, NULL))\
    X(submit_range_null_fn, F_OPEN, WP_INVALID,                                                    \
      wp_submit_range(f->pool, (wp_range *)(void *)f->memory, NULL, NULL, 1, 1, NULL))\
    X(submit_range_size_max, F_OPEN, WP_INVALID,                                                   \
      wp_submit_range(f->pool, (wp_range *)(void *)f->memory, bad_range, NULL, SIZE_MAX, SIZE_MAX, NULL))\
    X(submit_range_after_close, F_CLOSED, WP_CLOSED,                                               \
      wp_submit_range(f->pool, (wp_range *)(void *)f->memory, bad_range, NULL, 1, 0, NULL))\
    X(parallel_for_null_pool, F_NONE, WP_INVALID, wp_parallel_for(NULL, bad_range, NULL, 1, 1))    \
    X(parallel_for_null_fn, F_OPEN, WP_INVALID, wp_parallel_for(f->pool, NULL, NULL, 1, 1))        \
    X(parallel_for_size_max, F_OPEN, WP_INVALID,                                                   \
      wp_parallel_for(f->pool, bad_range, NULL, SIZE_MAX, 0))\
    X(parallel_for_after_close, F_CLOSED, WP_CLOSED,                                               \
      wp_parallel_for(f->pool, bad_range, NULL, 10, 0))\
    X(parallel_for_empty, F_OPEN, WP_OK, wp_parallel_for(f->pool, bad_range, NULL, 0, 0))          \
    X(help_pinned_null_pool, F_NONE, 0, wp_pool_help_pinned(NULL, WP_FOREVER))                     \
    X(help_pinned_negative_budget, F_OPEN, 0, wp_pool_help_pinned(f->pool, -1))                    \
    X(help_pinned_no_pinned_queue, F_OPEN, 0, wp_pool_help_pinned(f->pool, WP_FOREVER))            \
    X(submit_pinned_no_pinned_queue, F_OPEN, WP_INVALID,                                           \
      wp_submit_job(f->pool, &(wp_job){ .fn = bad_job, .pinned = true }))\
    /* observability */                                                                            \
    X(latency_bound_negative, F_NONE, 1, wp_latency_bound(-1) == WP_FOREVER)                       \
    X(latency_bound_int_max, F_NONE, 1, wp_latency_bound(INT_MAX) == WP_FOREVER)                   \
    X(format_table_null_stats, F_NONE, 1, wp_stats_format_table(NULL, NULL, 0) < 0)                \
    X(format_json_null_stats, F_NONE, 1, wp_stats_format_json(NULL, (char *)f->memory, 16) < 0)    \
    X(format_prometheus_null_stats, F_NONE, 1,                                                     \
      wp_stats_format_prometheus(NULL, (char *)f->memory, 16) < 0)                                 \
    X(format_json_zero_buffer_counts, F_OPEN, 1,                                                   \
      (wp_pool_stats(f->pool, &f->stats), wp_stats_format_json(&f->stats, NULL, 0) > 0))           \
    /* wp_pool_scale */                                                                            \
    X(scale_null_pool, F_NONE, WP_INVALID, wp_pool_scale(NULL, 1))                                 \
    X(scale_zero, F_OPEN, WP_OK, wp_pool_scale(f->pool, 0))                                        \
    X(scale_int_max_is_clamped, F_OPEN, WP_OK, wp_pool_scale(f->pool, INT_MAX))                    \
    X(scale_int_min_is_clamped, F_OPEN, WP_OK, wp_pool_scale(f->pool, INT_MIN))                    \
    X(scale_after_close, F_CLOSED, WP_CLOSED, wp_pool_scale(f->pool, 1))                           \
    X(scale_int_min_after_close, F_CLOSED, WP_CLOSED, wp_pool_scale(f->pool, INT_MIN))             \
    /* wp_pool_resize */                                                                           \
    X(resize_null_pool, F_NONE, WP_INVALID, wp_pool_resize(NULL, 1, 1))                            \
    X(resize_zero_zero, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, 0, 0))                         \
    X(resize_negative_min, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, -1, 2))                     \
    X(resize_min_above_max, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, 2, 1))                     \
    X(resize_above_created_max, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, 1, 3))                 \
    X(resize_int_max, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, INT_MAX, INT_MAX))               \
    X(resize_int_min, F_OPEN, WP_INVALID, wp_pool_resize(f->pool, INT_MIN, INT_MIN))               \
    X(resize_valid, F_OPEN, WP_OK, wp_pool_resize(f->pool, 1, 2))                                  \
    X(resize_after_close, F_CLOSED, WP_CLOSED, wp_pool_resize(f->pool, 1, 2))                      \
    X(resize_invalid_after_close, F_CLOSED, WP_INVALID, wp_pool_resize(f->pool, 0, -1))            \
    /* wp_pool_destroy */                                                                          \
    X(destroy_null, F_NONE, WP_OK, wp_pool_destroy(NULL))                                          \
    X(destroy_with_a_full_queue, F_FULL, WP_OK, (gate_open(&f->g), wp_pool_destroy(f->pool)))      \
    /* wp_pool_stats */                                                                            \
    X(stats_null_pool, F_NONE, WP_INVALID, wp_pool_stats(NULL, &f->stats))                         \
    X(stats_null_out, F_OPEN, WP_INVALID, wp_pool_stats(f->pool, NULL))                            \
    X(stats_after_close, F_CLOSED, WP_OK, wp_pool_stats(f->pool, &f->stats))                      \
    /* wp_pool_queue_depth, wp_pool_active, wp_pool_workers */                                     \
    X(queue_depth_null_pool, F_NONE, 0, wp_pool_queue_depth(NULL))                                 \
    X(queue_depth_full, F_FULL, 2, wp_pool_queue_depth(f->pool))                                   \
    X(queue_depth_after_close, F_CLOSED, 0, wp_pool_queue_depth(f->pool))                          \
    X(active_null_pool, F_NONE, 0, wp_pool_active(NULL))                                           \
    X(active_full, F_FULL, 1, wp_pool_active(f->pool))                                             \
    X(active_after_close, F_CLOSED, 0, wp_pool_active(f->pool))                                    \
    X(workers_null_pool, F_NONE, 0, wp_pool_workers(NULL))                                         \
    X(workers_open, F_OPEN, 2, wp_pool_workers(f->pool))                                           \
    X(workers_after_close, F_CLOSED, 0, wp_pool_workers(f->pool))

/* Rows that take the pool away themselves (the fixture must not destroy it). */
static bool row_consumes_pool(const char *name) { return strcmp(name, "destroy_with_a_full_queue") == 0; }

/* ------------------------------------------------------------------------ */

typedef long long (*row_fn)(fixture *f);

typedef struct row {
    const char *name;
    const char *call;
    fixture_kind fixture;
    long long expected;
    row_fn fn;
} row;

/* `fixture` names the struct; the kind parameter is named apart. */
typedef fixture fixture_t;
#define ROW_FN(name, kind, expected, ...) \
    static long long row_##name(fixture_t *f) { (void)f; return (long long)(__VA_ARGS__); }
#define ROW_ENTRY(name, kind, expected, ...) { #name, #__VA_ARGS__, kind, (long long)(expected), row_##name },

BAD_INPUT_ROWS(ROW_FN)

static const row rows[] = { BAD_INPUT_ROWS(ROW_ENTRY) };
enum { ROW_COUNT = sizeof rows / sizeof rows[0] };

static bool fixture_setup(fixture_t *f, fixture_kind kind) {
    memset(f, 0, sizeof *f);
    f->elem = 7;
    gate_init(&f->g, true);
    if (kind == F_NONE)
        return true;
    if (wp_queue_init(f->memory, sizeof f->memory, 4, sizeof f->elem, &f->queue) != WP_OK)
        return false;
    wp_config cfg = { .max_workers = 2, .queue_capacity = 4, .result_capacity = 4 };
    if (kind == F_NOCHAN)
        cfg.result_capacity = 0;
    if (kind == F_FULL) {
        cfg.max_workers = 1;
        cfg.queue_capacity = 2;
    }
    if (wp_pool_create(&cfg, &f->pool) != WP_OK)
        return false;
    if (kind == F_CLOSED)
        return wp_pool_close(f->pool, WP_DRAIN, WP_FOREVER) == WP_OK;
    if (kind == F_FULL) {
        if (wp_submit(f->pool, gate_job, &f->g) != WP_OK || !gate_wait_started(&f->g, 1, 5000))
            return false;
        return wp_submit(f->pool, noop_job, NULL) == WP_OK && wp_submit(f->pool, noop_job, NULL) == WP_OK;
    }
    return true;
}

static void fixture_teardown(fixture_t *f, bool pool_consumed) {
    gate_open(&f->g);
    if (f->pool && !pool_consumed)
        CHECK_STATUS(wp_pool_destroy(f->pool), WP_OK);
}

typedef struct row_run {
    const row *r;
    fixture_t *f;
    long long got;
    atomic_bool done;
} row_run;

static void row_thread(void *p) {
    row_run *rr = p;
    rr->got = rr->r->fn(rr->f);
    atomic_store(&rr->done, true);
}

enum { ROW_LIMIT_MS = 5000 };

static void run_rows(fixture_kind kind) {
    int ran = 0;
    for (int i = 0; i < ROW_COUNT; i++) {
        const row *r = &rows[i];
        if (r->fixture != kind)
            continue;
        fixture_t *f = malloc(sizeof *f);
        REQUIRE(f != NULL);
        if (!fixture_setup(f, kind)) {
            CHECK(!"fixture setup failed");
            fixture_teardown(f, false);
            free(f);
            return;
        }
        row_run rr = { .r = r, .f = f, .got = 0 };
        atomic_init(&rr.done, false);
        wpt_thread t = wpt_thread_start(row_thread, &rr);
        int64_t until = wpt_now_ns() + WP_MS(ROW_LIMIT_MS);
        while (!atomic_load(&rr.done) && wpt_now_ns() < until)
            wpt_sleep_ms(1);
        if (!atomic_load(&rr.done)) {
            /* leave the thread and its fixture: the call hangs */
            wpt__fail(__FILE__, __LINE__, "%s: %s did not return within %d ms", r->name, r->call,
                      ROW_LIMIT_MS);
            return;
        }
        wpt_thread_join(t);
        if (rr.got != r->expected)
            wpt__fail(__FILE__, __LINE__, "%s: %s gave %lld (%s), expected %lld (%s)", r->name, r->call,
                      rr.got, wp_status_str((wp_status)rr.got), r->expected,
                      wp_status_str((wp_status)r->expected));
        fixture_teardown(f, row_consumes_pool(r->name));
        free(f);
        ran++;
    }
    wpt_note("%d rows", ran);
}

static void test_rows_without_a_pool(void) { run_rows(F_NONE); }
static void test_rows_on_an_open_pool(void) { run_rows(F_OPEN); }
static void test_rows_on_a_pool_without_channel(void) { run_rows(F_NOCHAN); }
static void test_rows_on_a_full_pool(void) { run_rows(F_FULL); }
static void test_rows_after_close(void) { run_rows(F_CLOSED); }

/* Every WP_API function of the header appears in some row. The list is
   written out here (keep it in step with `grep '^WP_API' workerpool.h`; the
   check below also reads the header when it can find it). */
static const char *const api[] = {
    "wp_status_str", "wp_queue_footprint", "wp_queue_init", "wp_queue_create", "wp_queue_destroy",
    "wp_queue_try_push", "wp_queue_try_pop", "wp_queue_size", "wp_queue_capacity", "wp_ctx_id",
    "wp_ctx_worker", "wp_ctx_should_stop", "wp_ctx_set_value", "wp_config_default",
    "wp_config_high_throughput", "wp_config_low_resource", "wp_pool_create", "wp_submit",
    "wp_submit_job", "wp_result_recv", "wp_pool_close", "wp_pool_scale", "wp_pool_resize",
    "wp_pool_destroy", "wp_pool_stats", "wp_pool_queue_depth", "wp_pool_active", "wp_pool_workers",
};

static bool some_row_calls(const char *fn) {
    size_t n = strlen(fn);
    for (int i = 0; i < ROW_COUNT; i++)
        for (const char *p = strstr(rows[i].call, fn); p; p = strstr(p + 1, fn))
            if (p[n] == '(' && (p == rows[i].call || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'))))
                return true;
    return false;
}

static void test_every_api_function_has_a_row(void) {
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        if (!some_row_calls(api[i]))
            wpt__fail(__FILE__, __LINE__, "no row calls %s", api[i]);
    /* the header's own list, when run from the repository root */
    FILE *h = fopen("workerpool.h", "r");
    if (!h) {
        wpt_note("workerpool.h not found from here: checked the written-out list only");
        return;
    }
    char line[512];
    int declared = 0;
    while (fgets(line, sizeof line, h)) {
        if (strncmp(line, "WP_API ", 7) != 0)
            continue;
        char *paren = strchr(line, '(');
        if (!paren)
            continue;
        char *start = paren;
        while (start > line && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                                (start[-1] >= '0' && start[-1] <= '9')))
            start--;
        *paren = '\0';
        if (strncmp(start, "wp__", 4) == 0 || strncmp(start, "wp_", 3) != 0)
            continue; /* test hooks */
        declared++;
        if (!some_row_calls(start))
            wpt__fail(__FILE__, __LINE__, "no row calls %s (declared WP_API in workerpool.h)", start);
    }
    fclose(h);
    wpt_note("%d WP_API functions declared, %d rows", declared, ROW_COUNT);
    CHECK_CMP_INT(declared, >=, (long long)(sizeof api / sizeof api[0]));
}

static const wpt_test tests[] = {
    WPT_TEST(test_rows_without_a_pool),
    WPT_TEST(test_rows_on_an_open_pool),
    WPT_TEST(test_rows_on_a_pool_without_channel),
    WPT_TEST(test_rows_on_a_full_pool),
    WPT_TEST(test_rows_after_close),
    WPT_TEST(test_every_api_function_has_a_row),
};

WPT_MAIN(tests)
