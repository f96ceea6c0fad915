/* fuzz_pool.c - libFuzzer target: a one-worker pool with a result channel,
   driven through a random sequence of submit / recv / stats / close /
   destroy, checked against a model.

   The first input byte chooses the job queue's capacity (2..8); every later
   byte picks an operation from the table `ops` (add an entry to add an
   operation; an operation may read more bytes for its arguments). Jobs never
   sleep: each returns 0, or a failure code, and may set a value, as encoded
   in its id, so a result can be checked against the submission alone.

   With one worker the moment a job is picked up is not predictable, so the
   model accepts every answer that some timing allows:
   - before close, WP_BLOCK submissions are accepted; WP_REJECT may answer
     WP_FULL, WP_DROP WP_DROPPED and WP_TIMEOUT WP_TIMED_OUT, but only when
     at least `capacity` accepted jobs have no result yet (the queue cannot
     be full otherwise); after close every submission answers WP_CLOSED;
   - every result belongs to an accepted job, arrives once, and carries that
     job's arg, code, value and status; WP_CANCELED only after a close with
     WP_CANCEL or one that answered WP_FORCED;
   - the stats counters equal the model's counts exactly (submitted,
     rejected, dropped, timed out, refused); completed + failed + canceled
     never exceeds submitted, and equals it once every result is in;
   - recv answers WP_CLOSED only after close when every result is in.
   At the end of the input the pool is closed (waiting for ever), every
   result received, and the books must balance exactly.

   Built with -fsanitize=fuzzer for fuzzing, or with -DWP_FUZZ_REPLAY as a
   plain program that replays corpus files (see fuzz_main.h). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include "fuzz_main.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_pool: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                              \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* At most this many submissions per pool, so that the result channel (of
   twice that) never fills: a worker never waits for a receiver. */
#define MAX_JOBS 256
#define RESULT_CAPACITY (2 * MAX_JOBS)

/* A job's id encodes its behaviour: bits 0-1 the kind, the rest its index. */
enum { KIND_OK, KIND_FAIL, KIND_VALUE, KIND_VALUE_FAIL };

static int job_code(uint64_t id) { return (int)(id >> 2) % 97 + 1; }
static void *job_value(uint64_t id) { return (void *)(uintptr_t)(id * 8 + 8); }
static void *job_arg(uint64_t id) { return (void *)(uintptr_t)(id + 1); }

static int fuzz_job(void *arg, wp_ctx *ctx)
{
    uint64_t id = wp_ctx_id(ctx);
    FUZZ_CHECK(arg == job_arg(id));
    FUZZ_CHECK(wp_ctx_worker(ctx) == 0);
    int kind = (int)(id & 3);
    if (kind == KIND_VALUE || kind == KIND_VALUE_FAIL)
        wp_ctx_set_value(ctx, job_value(id));
    return kind == KIND_FAIL || kind == KIND_VALUE_FAIL ? job_code(id) : 0;
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t next_byte(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

typedef struct state {
    reader *in;
    wp_pool *pool;
    size_t capacity;
    uint64_t jobs;            /* submissions so far (the next index) */
    uint8_t accepted[MAX_JOBS];
    uint8_t received[MAX_JOBS];
    uint64_t n_accepted, n_received, n_canceled, n_completed, n_failed;
    uint64_t rejected, dropped, timed_out, refused_closed;
    bool closed, cancel_allowed, finished; /* finished: recv said WP_CLOSED */
} state;

static void start_pool(state *s)
{
    wp_config cfg = { 0 };
    cfg.min_workers = cfg.max_workers = 1;
    cfg.queue_capacity = s->capacity;
    cfg.result_capacity = RESULT_CAPACITY;
    cfg.submit_timeout = WP_US(200);
    FUZZ_CHECK(wp_pool_create(&cfg, &s->pool) == WP_OK);
    s->jobs = 0;
    memset(s->accepted, 0, sizeof s->accepted);
    memset(s->received, 0, sizeof s->received);
    s->n_accepted = s->n_received = s->n_canceled = s->n_completed = s->n_failed = 0;
    s->rejected = s->dropped = s->timed_out = s->refused_closed = 0;
    s->closed = s->cancel_allowed = s->finished = false;
}

static void check_result(state *s, const wp_result *r)
{
    uint64_t index = r->id >> 2;
    FUZZ_CHECK(index < s->jobs);
    FUZZ_CHECK(s->accepted[index]);
    FUZZ_CHECK(!s->received[index]); /* exactly once */
    s->received[index] = 1;
    s->n_received++;
    FUZZ_CHECK(r->arg == job_arg(r->id));
    FUZZ_CHECK(r->worker == 0);
    FUZZ_CHECK(r->queued_ns >= 0 && r->run_ns >= 0);
    int kind = (int)(r->id & 3);
    if (r->status == WP_CANCELED) {
        FUZZ_CHECK(s->cancel_allowed);
        FUZZ_CHECK(r->code == 0 && r->value == NULL && r->run_ns == 0);
        s->n_canceled++;
        return;
    }
    bool fails = kind == KIND_FAIL || kind == KIND_VALUE_FAIL;
    bool sets = kind == KIND_VALUE || kind == KIND_VALUE_FAIL;
    FUZZ_CHECK(r->status == (fails ? WP_TASK_FAILED : WP_OK));
    FUZZ_CHECK(r->code == (fails ? job_code(r->id) : 0));
    FUZZ_CHECK(r->value == (sets ? job_value(r->id) : NULL));
    if (fails)
        s->n_failed++;
    else
        s->n_completed++;
}

static void check_stats(state *s, bool quiescent)
{
    wp_stats st;
    FUZZ_CHECK(wp_pool_stats(s->pool, &st) == WP_OK);
    FUZZ_CHECK(st.submitted == s->n_accepted);
    FUZZ_CHECK(st.rejected == s->rejected);
    FUZZ_CHECK(st.dropped == s->dropped);
    FUZZ_CHECK(st.timed_out == s->timed_out);
    FUZZ_CHECK(st.refused_closed == s->refused_closed);
    FUZZ_CHECK(st.queue_capacity == s->capacity);
    FUZZ_CHECK(st.queue_depth <= s->capacity);
    FUZZ_CHECK(st.min_workers == 1 && st.max_workers == 1);
    uint64_t outcomes = st.completed + st.failed + st.canceled;
    FUZZ_CHECK(outcomes <= st.submitted);
    /* Every received result was counted before it was delivered. */
    FUZZ_CHECK(st.completed >= s->n_completed && st.failed >= s->n_failed
               && st.canceled >= s->n_canceled);
    if (quiescent) {
        FUZZ_CHECK(outcomes == st.submitted);
        FUZZ_CHECK(st.completed == s->n_completed && st.failed == s->n_failed
                   && st.canceled == s->n_canceled);
        FUZZ_CHECK(st.queue_depth == 0 && st.results_pending == 0);
    }
}

static void op_submit(state *s)
{
    uint8_t b = next_byte(s->in);
    if (s->jobs >= MAX_JOBS)
        return;
    static const wp_backpressure policies[] = { WP_BACKPRESSURE_DEFAULT, WP_BLOCK, WP_DROP,
                                                WP_REJECT, WP_TIMEOUT };
    wp_backpressure policy = policies[(b >> 2) % 5];
    uint64_t index = s->jobs++;
    uint64_t id = index << 2 | (b & 3);
    wp_job job = { .fn = fuzz_job, .arg = job_arg(id), .id = id, .backpressure = policy,
                   .timeout = (b & 0x80) ? WP_US(50) : 0 };
    /* Jobs without a result yet: the most the queue can hold right now. */
    uint64_t unresolved = s->n_accepted - s->n_received;
    wp_status st = wp_submit_job(s->pool, &job);
    if (s->closed) {
        FUZZ_CHECK(st == WP_CLOSED);
        s->refused_closed++;
        return;
    }
    if (st == WP_OK) {
        s->accepted[index] = 1;
        s->n_accepted++;
        return;
    }
    FUZZ_CHECK(unresolved >= s->capacity); /* the queue really was full */
    switch (policy) {
    case WP_DROP: FUZZ_CHECK(st == WP_DROPPED); s->dropped++; break;
    case WP_REJECT: FUZZ_CHECK(st == WP_FULL); s->rejected++; break;
    case WP_TIMEOUT: FUZZ_CHECK(st == WP_TIMED_OUT); s->timed_out++; break;
    default: FUZZ_CHECK(!"WP_BLOCK refused a job in an open pool"); break;
    }
}

static void op_recv(state *s)
{
    uint8_t b = next_byte(s->in);
    uint64_t pending = s->n_accepted - s->n_received;
    /* Wait for ever only when a result is sure to come. */
    int64_t timeout = (b & 1) && pending > 0 ? WP_FOREVER : (b & 2) ? WP_US(100) : WP_NOWAIT;
    wp_result r;
    wp_status st = wp_result_recv(s->pool, &r, timeout);
    if (st == WP_OK) {
        check_result(s, &r);
    } else if (st == WP_CLOSED) {
        FUZZ_CHECK(s->closed && pending == 0);
        s->finished = true;
    } else {
        FUZZ_CHECK(st == WP_TIMED_OUT && timeout != WP_FOREVER);
    }
}

static void op_stats(state *s)
{
    check_stats(s, false);
}

static void op_close(state *s)
{
    uint8_t b = next_byte(s->in);
    wp_close_mode mode = (b & 1) ? WP_CANCEL : WP_DRAIN;
    static const int64_t timeouts[] = { WP_FOREVER, WP_NOWAIT, WP_US(100), WP_MS(5) };
    int64_t timeout = timeouts[(b >> 1) % 4];
    if (mode == WP_CANCEL)
        s->cancel_allowed = true;
    wp_status st = wp_pool_close(s->pool, mode, timeout);
    s->closed = true;
    if (st == WP_FORCED) {
        FUZZ_CHECK(timeout != WP_FOREVER);
        s->cancel_allowed = true;
    } else {
        FUZZ_CHECK(st == WP_OK);
    }
    FUZZ_CHECK(wp_pool_scale(s->pool, 1) == WP_CLOSED);
}

/* Receives everything (the pool must be closed), then checks the books. */
static void settle(state *s)
{
    FUZZ_CHECK(wp_pool_close(s->pool, WP_DRAIN, WP_FOREVER) == WP_OK);
    wp_result r;
    wp_status st;
    while ((st = wp_result_recv(s->pool, &r, WP_FOREVER)) == WP_OK)
        check_result(s, &r);
    FUZZ_CHECK(st == WP_CLOSED);
    FUZZ_CHECK(s->n_received == s->n_accepted);
    for (uint64_t i = 0; i < s->jobs; i++)
        FUZZ_CHECK(s->received[i] == s->accepted[i]);
    check_stats(s, true);
}

/* Destroy: settle first (so the books can be checked), or destroy an open
   pool with results still unread (then only the absence of crashes, leaks
   and hangs is checked); then start a fresh pool. */
static void op_destroy(state *s)
{
    uint8_t b = next_byte(s->in);
    if (b & 1)
        settle(s);
    FUZZ_CHECK(wp_pool_destroy(s->pool) == WP_OK);
    s->pool = NULL;
    start_pool(s);
}

/* A burst of submissions with one policy, to reach a full queue. */
static void op_burst(state *s)
{
    uint8_t b = next_byte(s->in);
    int n = (b & 15) + 1;
    for (int i = 0; i < n; i++) {
        uint8_t saved = b;
        reader one = { &saved, 1 };
        reader *in = s->in;
        s->in = &one;
        op_submit(s);
        s->in = in;
    }
}

static void (*const ops[])(state *) = {
    op_submit, op_submit, op_submit, op_recv, op_recv, op_stats, op_close, op_destroy, op_burst,
};
#define NOPS (sizeof ops / sizeof ops[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader in = { data, size };
    static state s;
    memset(&s, 0, sizeof s);
    s.in = &in;
    s.capacity = (size_t)2 << (next_byte(&in) % 3); /* 2, 4 or 8 */
    start_pool(&s);
    /* Bounded work per input keeps every run short. */
    for (int steps = 0; in.n > 0 && steps < 512; steps++)
        ops[next_byte(&in) % NOPS](&s);
    settle(&s);
    FUZZ_CHECK(wp_pool_destroy(s.pool) == WP_OK);
    return 0;
}

FUZZ_REPLAY_MAIN("fuzz_pool")
