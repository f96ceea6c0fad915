/* fuzz_pool.c - libFuzzer target: a pool with a result channel, driven
   through a random sequence of operations, checked against a model.

   The first input byte chooses the queue's capacity per lane (2, 4 or 8:
   b % 3) and the mode (bit 0x40):
   - threaded: one worker. The moment a job is picked up is not predictable,
     so the model accepts every answer that some timing allows.
   - inline-only (wp_config.inline_only): no worker; jobs run only in
     wp_pool_help, wp_pool_wait_idle, wp_pool_close, a WP_CALLER_RUNS
     submission or a WP_BLOCK / WP_TIMEOUT submission into a full lane, all
     on this thread. The model then predicts every answer exactly.
   Every later byte picks an operation from the table `ops` (an operation may
   read more bytes for its arguments). Jobs never sleep: each returns 0, or a
   failure code, and may set a value, as encoded in its id, so a result can
   be checked against the submission alone.

   Jobs may carry a priority, one of two cancellation tokens, a deadline on
   the fake clock (wp_config.clock; an operation advances it), a completion
   callback and a handle; submissions use every policy (WP_DROP_OLDEST and
   WP_CALLER_RUNS included), alone or in batches. Other operations: cancel a
   token, cancel / query / wait / release a handle, pause / resume, wait for
   idle, help, advance the clock, recv, stats, close, destroy.

   Checks, both modes:
   - every accepted job yields exactly one result and, when it has a
     callback, exactly one callback call, before the result, with the same
     status; refused jobs yield neither;
   - a result carries the job's arg, code, value; WP_CANCELED only after a
     close with WP_CANCEL or WP_FORCED, a canceled token or a canceled
     handle; WP_EXPIRED only with a deadline that the fake clock has passed;
     WP_EVICTED only after a WP_DROP_OLDEST submission; a job whose token was
     canceled before it was submitted never runs;
   - a handle's wait returns the same result; query agrees with what the
     model knows; stale handles answer WP_INVALID;
   - the stats counters equal the model's counts (submitted, refusals by
     kind; at quiescence every outcome kind, so that submitted == completed
     + failed + canceled + expired + evicted).
   Inline-only mode, in addition, exactly: which submissions are refused
   (lane occupancy and handle slots are known), which job each outcome is
   (always the oldest of its lane, since lanes are FIFO; the submitted job
   itself under WP_CALLER_RUNS), the status of each outcome from the job's
   state at that moment, how many jobs wp_pool_help takes, that
   wp_pool_wait_idle empties the queue, and the state wp_job_query reports.
   At the end of the input the pool is closed (waiting for ever), every
   result received, and the books must balance exactly.

   Built with -fsanitize=fuzzer for fuzzing, or with -DWP_FUZZ_REPLAY as a
   plain program that replays corpus files (see fuzz_main.h). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include "fuzz_main.h"

#include <stdatomic.h>
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
#define INLINE_HANDLES 4 /* handle slots in inline mode: exhaustion is reachable */
#define LANES 3

/* A job's id encodes its behaviour: bits 0-1 the kind, the rest its index. */
enum { KIND_OK, KIND_FAIL, KIND_VALUE, KIND_VALUE_FAIL };

static int job_code(uint64_t id) { return (int)(id >> 2) % 97 + 1; }
static void *job_value(uint64_t id) { return (void *)(uintptr_t)(id * 8 + 8); }
static void *job_arg(uint64_t id) { return (void *)(uintptr_t)(id + 1); }

static int fuzz_job(void *arg, wp_ctx *ctx)
{
    uint64_t id = wp_ctx_id(ctx);
    FUZZ_CHECK(arg == job_arg(id));
    FUZZ_CHECK(wp_ctx_worker(ctx) == 0 || wp_ctx_worker(ctx) == -1);
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

/* Handle states of a job in the model. */
enum { H_NONE, H_HELD, H_RELEASED, H_WAITED };

typedef struct job_rec {
    uint8_t accepted, received, submitting;
    uint8_t lane, token;           /* token: 0 none, 1 or 2 */
    uint8_t callback, handle_state, handle_canceled, token_pre_canceled;
    uint8_t concluded;             /* inline mode: its outcome happened */
    int64_t deadline;              /* absolute on the fake clock; 0 none */
    wp_handle handle;
    atomic_int cb_count, cb_status;
} job_rec;

typedef struct state {
    reader *in;
    wp_pool *pool;
    size_t capacity;
    bool inline_mode, paused;
    atomic_llong now;              /* the fake clock */
    wp_token *tokens[3];
    bool token_canceled[3];
    uint64_t jobs;                 /* submissions so far (the next index) */
    job_rec rec[MAX_JOBS];
    /* inline model: the queued jobs of each lane, oldest first */
    uint16_t lane_q[LANES][MAX_JOBS];
    size_t lane_head[LANES], lane_len[LANES];
    int evicting_lane;             /* inline: a WP_DROP_OLDEST submission in progress */
    uint64_t outcomes_seen;        /* inline: callbacks so far */
    uint64_t n_accepted, n_received, n_canceled, n_completed, n_failed, n_expired, n_evicted;
    uint64_t rejected, dropped, timed_out, refused_closed;
    bool closed, cancel_allowed, evict_allowed, finished; /* finished: recv said WP_CLOSED */
    bool lane_made[LANES];         /* a job of that priority was accepted */
} state;

static state *g; /* for the callback */

static int64_t fake_clock(void *user)
{
    return (int64_t)atomic_load(&((state *)user)->now);
}

static size_t handles_held(const state *s)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s->jobs; i++) {
        const job_rec *j = &s->rec[i];
        if (j->handle_state == H_HELD || (j->handle_state == H_RELEASED && !j->concluded))
            n++;
    }
    return n;
}

/* Whether `status` is a possible outcome for job `index` now. In inline
   mode it must be the outcome the job's state dictates. */
static void check_status(state *s, uint64_t index, wp_status status)
{
    job_rec *j = &s->rec[index];
    bool canceled = (j->token && s->token_canceled[j->token]) || j->handle_canceled;
    bool expired = j->deadline != 0 && atomic_load(&s->now) > j->deadline;
    switch (status) {
    case WP_CANCELED:
        FUZZ_CHECK(canceled || s->cancel_allowed);
        break;
    case WP_EXPIRED:
        FUZZ_CHECK(expired);
        break;
    case WP_EVICTED:
        FUZZ_CHECK(s->evict_allowed);
        if (s->inline_mode)
            FUZZ_CHECK(s->evicting_lane == (int)j->lane);
        break;
    case WP_OK:
    case WP_TASK_FAILED:
        FUZZ_CHECK(!j->token_pre_canceled);
        if (s->inline_mode)
            FUZZ_CHECK(!canceled && !expired);
        break;
    default:
        FUZZ_CHECK(!"impossible outcome status");
    }
}

static void on_done(const wp_result *r)
{
    state *s = g;
    uint64_t index = r->id >> 2;
    FUZZ_CHECK(index < s->jobs);
    job_rec *j = &s->rec[index];
    FUZZ_CHECK(r->arg == job_arg(r->id));
    FUZZ_CHECK(j->callback);
    FUZZ_CHECK(atomic_fetch_add(&j->cb_count, 1) == 0);
    atomic_store(&j->cb_status, (int)r->status);
    if (!s->inline_mode)
        return;
    /* Inline: this thread runs it, so the model can be updated right here. */
    FUZZ_CHECK(r->worker == -1);
    check_status(s, index, r->status);
    FUZZ_CHECK(!j->concluded);
    j->concluded = 1;
    s->outcomes_seen++;
    if (j->submitting) { /* WP_CALLER_RUNS (or a run-in-place) of the job being submitted */
        FUZZ_CHECK(r->status != WP_EVICTED);
        return;
    }
    FUZZ_CHECK(j->accepted);
    /* Lanes are FIFO: the jobs queued ahead of it in its lane have been
       taken already; those without a callback ended unseen. */
    int lane = j->lane;
    while (s->lane_len[lane] > 0 && s->lane_q[lane][s->lane_head[lane] % MAX_JOBS] != index) {
        job_rec *ahead = &s->rec[s->lane_q[lane][s->lane_head[lane] % MAX_JOBS]];
        FUZZ_CHECK(!ahead->callback); /* it would have told us */
        ahead->concluded = 1;
        s->lane_head[lane]++;
        s->lane_len[lane]--;
    }
    FUZZ_CHECK(s->lane_len[lane] > 0); /* it was queued */
    s->lane_head[lane]++;
    s->lane_len[lane]--;
}

static void start_pool(state *s)
{
    wp_config cfg = { 0 };
    if (s->inline_mode) {
        cfg.inline_only = true;
        cfg.max_handles = INLINE_HANDLES;
    } else {
        cfg.scaling.min_workers = cfg.max_workers = 1;
    }
    cfg.queue_capacity = s->capacity;
    cfg.result_capacity = RESULT_CAPACITY;
    cfg.submit_timeout = WP_US(200);
    cfg.clock = fake_clock;
    cfg.clock_user = s;
    FUZZ_CHECK(wp_pool_create(&cfg, &s->pool) == WP_OK);
    for (int i = 1; i <= 2; i++) {
        FUZZ_CHECK(wp_token_create(&s->tokens[i]) == WP_OK);
        s->token_canceled[i] = false;
    }
    s->jobs = 0;
    memset(s->rec, 0, sizeof s->rec);
    memset(s->lane_head, 0, sizeof s->lane_head);
    memset(s->lane_len, 0, sizeof s->lane_len);
    s->evicting_lane = -1;
    s->outcomes_seen = 0;
    s->n_accepted = s->n_received = s->n_canceled = s->n_completed = s->n_failed = 0;
    s->n_expired = s->n_evicted = 0;
    s->rejected = s->dropped = s->timed_out = s->refused_closed = 0;
    s->closed = s->cancel_allowed = s->evict_allowed = s->finished = s->paused = false;
    memset(s->lane_made, 0, sizeof s->lane_made);
}

static void end_pool(state *s)
{
    FUZZ_CHECK(wp_pool_destroy(s->pool) == WP_OK);
    s->pool = NULL;
    for (int i = 1; i <= 2; i++) {
        wp_token_destroy(s->tokens[i]);
        s->tokens[i] = NULL;
    }
}

static void check_result(state *s, const wp_result *r)
{
    uint64_t index = r->id >> 2;
    FUZZ_CHECK(index < s->jobs);
    job_rec *j = &s->rec[index];
    FUZZ_CHECK(j->accepted);
    FUZZ_CHECK(!j->received); /* exactly once */
    j->received = 1;
    s->n_received++;
    FUZZ_CHECK(r->arg == job_arg(r->id));
    FUZZ_CHECK(r->worker == 0 || r->worker == -1);
    FUZZ_CHECK(r->queued_ns >= 0 && r->run_ns >= 0);
    if (j->callback) { /* the callback came first, with the same status */
        FUZZ_CHECK(atomic_load(&j->cb_count) == 1);
        FUZZ_CHECK(atomic_load(&j->cb_status) == (int)r->status);
    }
    if (s->inline_mode)
        FUZZ_CHECK(!j->callback || j->concluded);
    else
        check_status(s, index, r->status);
    int kind = (int)(r->id & 3);
    if (r->status == WP_CANCELED || r->status == WP_EXPIRED || r->status == WP_EVICTED) {
        FUZZ_CHECK(r->code == 0 && r->value == NULL && r->run_ns == 0);
        if (r->status == WP_CANCELED)
            s->n_canceled++;
        else if (r->status == WP_EXPIRED)
            s->n_expired++;
        else
            s->n_evicted++;
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
    /* the bound times the lanes made: the normal lane, and each other lane
       once a job of its priority was accepted (a refused submission of one
       may already have made it) */
    size_t made = 1 + s->lane_made[WP_PRIORITY_HIGH] + s->lane_made[WP_PRIORITY_LOW];
    FUZZ_CHECK(st.queue_capacity % s->capacity == 0);
    FUZZ_CHECK(st.queue_capacity / s->capacity >= made && st.queue_capacity / s->capacity <= LANES);
    if (s->inline_mode) {
        FUZZ_CHECK(st.workers == 0);
        FUZZ_CHECK(st.queue_depth == s->lane_len[0] + s->lane_len[1] + s->lane_len[2]);
    } else {
        FUZZ_CHECK(st.queue_depth <= LANES * s->capacity);
        FUZZ_CHECK(st.min_workers == 1 && st.max_workers == 1);
    }
    uint64_t outcomes = st.completed + st.failed + st.canceled + st.expired + st.evicted;
    FUZZ_CHECK(outcomes <= st.submitted);
    /* Every received result was counted before it was delivered. */
    FUZZ_CHECK(st.completed >= s->n_completed && st.failed >= s->n_failed
               && st.canceled >= s->n_canceled && st.expired >= s->n_expired
               && st.evicted >= s->n_evicted);
    if (quiescent) {
        FUZZ_CHECK(outcomes == st.submitted);
        FUZZ_CHECK(st.completed == s->n_completed && st.failed == s->n_failed
                   && st.canceled == s->n_canceled && st.expired == s->n_expired
                   && st.evicted == s->n_evicted);
        FUZZ_CHECK(st.queue_depth == 0 && st.results_pending == 0);
    }
}

static const wp_backpressure policies[] = { WP_BACKPRESSURE_DEFAULT, WP_BLOCK, WP_DROP,
                                            WP_REJECT, WP_TIMEOUT, WP_DROP_OLDEST,
                                            WP_CALLER_RUNS, WP_REJECT };

/* Builds job `index` from two bytes: a = kind (bits 0-1), policy (2-4),
   priority (5-6), callback (7); b = token (bits 0-1), deadline (2-4),
   handle (5), long timeout (6). Records it in the model. */
static wp_job make_job(state *s, uint64_t index, uint8_t a, uint8_t b, wp_handle *handle_out)
{
    job_rec *j = &s->rec[index];
    memset(j, 0, sizeof *j);
    uint64_t id = index << 2 | (a & 3);
    wp_backpressure policy = policies[(a >> 2) & 7];
    /* A paused pool runs nothing: a blocking submission into a full lane
       from this thread would wait for ever, so it waits with a bound. */
    if (s->paused && !s->inline_mode && (policy == WP_BLOCK || policy == WP_BACKPRESSURE_DEFAULT))
        policy = WP_TIMEOUT;
    wp_priority prio = (wp_priority)(((a >> 5) & 3) % 3);
    int token = (b & 3) == 3 ? 0 : (b & 3);
    int d = (b >> 2) & 7;
    j->lane = (uint8_t)prio;
    j->token = (uint8_t)token;
    j->token_pre_canceled = token && s->token_canceled[token];
    j->callback = (a & 0x80) != 0;
    /* Deadlines end half a millisecond off the clock's whole steps, so that
       "now == deadline" never happens. */
    int64_t rel = d >= 4 ? WP_MS(d - 3) + WP_US(500) : 0;
    j->deadline = rel ? (int64_t)atomic_load(&s->now) + rel : 0;
    j->submitting = 1;
    wp_job job = { .fn = fuzz_job, .arg = job_arg(id), .id = id, .backpressure = policy,
                   .submit_timeout = (b & 0x40) ? WP_MS(50) : WP_US(50), .priority = prio,
                   .deadline = rel, .token = token ? s->tokens[token] : NULL,
                   .on_done = j->callback ? on_done : NULL,
                   .handle = (b & 0x20) ? handle_out : NULL };
    return job;
}

/* Books an answered submission; `before` is the lane's model length
   before it, `full_handles` whether every handle slot was held. */
static void book_submit(state *s, uint64_t index, const wp_job *job, wp_status st,
                        uint64_t unresolved, size_t lane_before, bool full_handles,
                        uint64_t outcomes_before)
{
    job_rec *j = &s->rec[index];
    wp_backpressure policy = job->backpressure;
    if (policy == WP_BACKPRESSURE_DEFAULT)
        policy = WP_BLOCK;
    if (policy == WP_BLOCK && job->submit_timeout) /* a submit timeout bounds WP_BLOCK */
        policy = WP_TIMEOUT;
    if (s->closed) {
        FUZZ_CHECK(st == WP_CLOSED);
        FUZZ_CHECK(atomic_load(&j->cb_count) == 0);
        s->refused_closed++;
        j->submitting = 0;
        return;
    }
    bool lane_full = lane_before >= s->capacity;
    if (s->inline_mode) {
        if (job->handle && full_handles) {
            FUZZ_CHECK(st == WP_FULL);
        } else if (!lane_full) {
            FUZZ_CHECK(st == WP_OK);
            FUZZ_CHECK(s->outcomes_seen == outcomes_before); /* nothing ran */
        } else {
            switch (policy) {
            case WP_DROP: FUZZ_CHECK(st == WP_DROPPED); break;
            case WP_REJECT: FUZZ_CHECK(st == WP_FULL); break;
            case WP_DROP_OLDEST: /* one eviction, checked in the callback when it has one */
                FUZZ_CHECK(st == WP_OK);
                break;
            case WP_CALLER_RUNS:
                FUZZ_CHECK(st == WP_OK);
                if (j->callback)
                    FUZZ_CHECK(j->concluded);
                break;
            default: /* WP_BLOCK, WP_TIMEOUT: run queued jobs to make room */
                FUZZ_CHECK(st == WP_OK || (policy == WP_TIMEOUT && st == WP_TIMED_OUT));
                break;
            }
        }
    } else if (st != WP_OK) {
        if (!(job->handle && st == WP_FULL)) /* handle slots never run out here */
            FUZZ_CHECK(unresolved >= s->capacity); /* the queue really was full */
        FUZZ_CHECK(policy != WP_DROP_OLDEST && policy != WP_CALLER_RUNS);
    }
    j->submitting = 0;
    if (st != WP_OK) {
        FUZZ_CHECK(atomic_load(&j->cb_count) == 0);
        if (job->handle)
            FUZZ_CHECK(job->handle->slot == 0 && job->handle->generation == 0);
        switch (st) {
        case WP_DROPPED: FUZZ_CHECK(policy == WP_DROP); s->dropped++; break;
        case WP_FULL: FUZZ_CHECK(policy == WP_REJECT || job->handle); s->rejected++; break;
        case WP_TIMED_OUT: FUZZ_CHECK(policy == WP_TIMEOUT); s->timed_out++; break;
        default: FUZZ_CHECK(!"unexpected refusal"); break;
        }
        return;
    }
    j->accepted = 1;
    s->n_accepted++;
    s->lane_made[j->lane] = true;
    if (job->handle) {
        j->handle = *job->handle;
        j->handle_state = H_HELD;
    }
    if (policy == WP_DROP_OLDEST)
        s->evict_allowed = true;
    if (s->inline_mode) {
        /* Queued unless it already ran here (WP_CALLER_RUNS into a full
           lane: with a callback the callback told us; without one the
           policy and the lane do). */
        bool ran_here = j->concluded || (lane_full && policy == WP_CALLER_RUNS);
        if (ran_here) {
            j->concluded = 1;
        } else {
            int lane = j->lane;
            FUZZ_CHECK(s->lane_len[lane] < s->capacity);
            s->lane_q[lane][(s->lane_head[lane] + s->lane_len[lane]) % MAX_JOBS] = (uint16_t)index;
            s->lane_len[lane]++;
        }
    }
}

/* Inline mode: jobs without a callback conclude unseen; whenever the model
   cannot see an outcome it learns it from the lane lengths the pool
   reports. That is only needed around runs that take jobs in an order the
   model does not follow (priorities with the fairness quota), so jobs
   without callbacks are marked concluded when they leave the queue: after a
   full drain, all are. */
static void inline_drained(state *s)
{
    for (int l = 0; l < LANES; l++) {
        while (s->lane_len[l] > 0) {
            job_rec *j = &s->rec[s->lane_q[l][s->lane_head[l] % MAX_JOBS]];
            FUZZ_CHECK(!j->callback); /* those told us through the callback */
            j->concluded = 1;
            s->lane_head[l]++;
            s->lane_len[l]--;
        }
    }
}

static bool inline_all_callbacks(const state *s)
{
    for (int l = 0; l < LANES; l++)
        for (size_t k = 0; k < s->lane_len[l]; k++)
            if (!s->rec[s->lane_q[l][(s->lane_head[l] + k) % MAX_JOBS]].callback)
                return false;
    return true;
}

static void submit_one(state *s, uint8_t a, uint8_t b)
{
    if (s->jobs >= MAX_JOBS)
        return;
    uint64_t index = s->jobs++;
    wp_handle h = { 1, 1 };
    wp_job job = make_job(s, index, a, b, &h);
    /* Inline mode: a submission that may run or evict queued jobs without
       callbacks leaves the model unable to follow; such jobs all have
       callbacks or the submission cannot meet a full lane. */
    size_t lane_before = s->lane_len[job.priority];
    if (s->inline_mode && lane_before >= s->capacity && !inline_all_callbacks(s)) {
        wp_backpressure p = job.backpressure;
        if (p == WP_BLOCK || p == WP_TIMEOUT || p == WP_BACKPRESSURE_DEFAULT || p == WP_DROP_OLDEST)
            job.backpressure = WP_REJECT;
    }
    bool full_handles = handles_held(s) >= INLINE_HANDLES;
    uint64_t unresolved = s->n_accepted - s->n_received;
    uint64_t before = s->outcomes_seen;
    if (job.backpressure == WP_DROP_OLDEST)
        s->evict_allowed = true, s->evicting_lane = (int)job.priority;
    wp_status st = wp_submit_job(s->pool, &job);
    s->evicting_lane = -1;
    book_submit(s, index, &job, st, unresolved, lane_before, full_handles, before);
    if (s->inline_mode && st == WP_OK && lane_before >= s->capacity && !s->closed
        && !(job.handle && full_handles)) {
        wp_backpressure p = job.backpressure;
        if (p == WP_DROP_OLDEST)
            FUZZ_CHECK(s->outcomes_seen == before + 1); /* exactly the oldest, evicted */
        else if (p != WP_CALLER_RUNS)
            FUZZ_CHECK(s->outcomes_seen > before); /* something ran to make room */
    }
}

static void op_submit(state *s)
{
    uint8_t a = next_byte(s->in), b = next_byte(s->in);
    submit_one(s, a, b);
}

/* A batch of 1..8 jobs. In inline mode the batch uses only WP_REJECT and
   WP_DROP, so that nothing runs during it and the model follows it job by
   job; in threaded mode any policy. */
static void op_batch(state *s)
{
    uint8_t n = (uint8_t)(next_byte(s->in) % 8 + 1);
    wp_job jobs[8];
    wp_handle handles[8];
    uint64_t first = s->jobs;
    size_t count = 0;
    uint8_t a0 = next_byte(s->in), b0 = next_byte(s->in);
    for (size_t i = 0; i < n && s->jobs < MAX_JOBS; i++) {
        uint8_t a = (uint8_t)(a0 + 37 * i), b = (uint8_t)(b0 ^ (uint8_t)(i * 5));
        if (s->inline_mode)
            a = (uint8_t)((a & ~0x1c) | ((i & 1) ? 3 << 2 : 2 << 2)); /* REJECT or DROP */
        handles[i] = (wp_handle){ 1, 1 };
        jobs[i] = make_job(s, s->jobs++, a, b, &handles[i]);
        if (s->paused && !s->inline_mode
            && (jobs[i].backpressure == WP_BLOCK || jobs[i].backpressure == WP_BACKPRESSURE_DEFAULT))
            jobs[i].backpressure = WP_TIMEOUT;
        if (jobs[i].backpressure == WP_DROP_OLDEST)
            s->evict_allowed = true;
        count++;
    }
    if (count == 0)
        return;
    wp_status statuses[8];
    uint64_t unresolved = s->n_accepted - s->n_received;
    uint64_t before = s->outcomes_seen;
    size_t accepted = wp_submit_batch(s->pool, jobs, count, statuses);
    size_t ok = 0;
    if (s->inline_mode)
        FUZZ_CHECK(s->outcomes_seen == before); /* REJECT and DROP run nothing */
    for (size_t i = 0; i < count; i++) {
        size_t lane_before = s->lane_len[jobs[i].priority];
        bool full_handles = handles_held(s) >= INLINE_HANDLES;
        /* the batch's own earlier jobs may fill the lane too */
        book_submit(s, first + i, &jobs[i], statuses[i], unresolved + ok, lane_before, full_handles,
                    before);
        if (statuses[i] == WP_OK)
            ok++;
    }
    FUZZ_CHECK(ok == accepted);
}

static void op_recv(state *s)
{
    uint8_t b = next_byte(s->in);
    uint64_t pending = s->n_accepted - s->n_received;
    /* Wait for ever only when a result is sure to come: some job is
       unresolved and the worker is free to run it, or (inline) a result of
       a job that has its outcome is waiting. */
    bool sure = s->inline_mode ? false : pending > 0 && !s->paused;
    int64_t timeout = (b & 1) && sure ? WP_FOREVER : (b & 2) ? WP_US(100) : WP_NOWAIT;
    /* Inline: a receiver that finds no result runs queued jobs itself, one
       at a time; the model follows that only through their callbacks. */
    if (s->inline_mode && !inline_all_callbacks(s)
        && s->lane_len[0] + s->lane_len[1] + s->lane_len[2] > 0) {
        bool waiting = false;
        for (uint64_t i = 0; i < s->jobs; i++)
            waiting |= s->rec[i].accepted && s->rec[i].concluded && !s->rec[i].received;
        if (!waiting)
            return;
    }
    wp_result r;
    wp_status st = wp_result_recv(s->pool, &r, timeout);
    if (st == WP_OK) {
        check_result(s, &r);
    } else if (st == WP_CLOSED) {
        FUZZ_CHECK(s->closed && pending == 0);
        s->finished = true;
    } else {
        FUZZ_CHECK(st == WP_TIMED_OUT && timeout != WP_FOREVER);
        if (s->inline_mode) { /* nothing concluded is left unreceived */
            for (uint64_t i = 0; i < s->jobs; i++)
                FUZZ_CHECK(!(s->rec[i].concluded && s->rec[i].accepted && !s->rec[i].received));
        }
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
    if (mode == WP_CANCEL || timeout != WP_FOREVER)
        s->cancel_allowed = true; /* a timed drain may turn into a cancel */
    wp_status st = wp_pool_close(s->pool, mode, timeout);
    s->closed = true;
    s->paused = false;
    if (st == WP_FORCED)
        FUZZ_CHECK(timeout != WP_FOREVER);
    else
        FUZZ_CHECK(st == WP_OK);
    if (s->inline_mode) /* nobody is left to run queued jobs: they are all ended */
        inline_drained(s);
    /* an inline-only pool has no workers to scale: WP_INVALID, open or not */
    FUZZ_CHECK(wp_pool_scale(s->pool, 1) == (s->inline_mode ? WP_INVALID : WP_CLOSED));
    FUZZ_CHECK(wp_pool_pause(s->pool) == WP_CLOSED);
}

static void op_token_cancel(state *s)
{
    int k = next_byte(s->in) % 2 + 1;
    wp_token_cancel(s->tokens[k]);
    s->token_canceled[k] = true;
    FUZZ_CHECK(wp_token_is_canceled(s->tokens[k]));
}

static void op_clock(state *s)
{
    uint8_t b = next_byte(s->in);
    atomic_fetch_add(&s->now, (long long)WP_MS(b % 8 + 1)); /* whole milliseconds */
}

/* Picks a job that asked for a handle (or a stale one) and does one of
   cancel / query / wait / release with it. */
static void op_handle(state *s)
{
    uint8_t b = next_byte(s->in), c = next_byte(s->in);
    if (s->jobs == 0)
        return;
    uint64_t index = c % s->jobs;
    job_rec *j = &s->rec[index];
    wp_handle h = j->handle;
    bool live = j->handle_state == H_HELD;
    if (j->handle_state == H_NONE)
        h = (wp_handle){ UINT32_C(0x40000000) | c, (uint32_t)b }; /* a slot beyond any pool's */
    switch (b % 4) {
    case 0: {
        wp_status st = wp_job_cancel(s->pool, h);
        if (live) {
            FUZZ_CHECK(st == WP_OK);
            if (!j->concluded)
                j->handle_canceled = 1;
        } else if (j->handle_state != H_NONE) {
            FUZZ_CHECK(st == WP_INVALID || (j->handle_state == H_RELEASED && !j->concluded));
        } else {
            FUZZ_CHECK(st == WP_INVALID);
        }
        break;
    }
    case 1: {
        wp_job_state js;
        wp_status st = wp_job_query(s->pool, h, &js);
        if (live) {
            FUZZ_CHECK(st == WP_OK);
            if (s->inline_mode)
                FUZZ_CHECK(js == (j->concluded ? WP_JOB_DONE : WP_JOB_QUEUED));
            else if (j->received) /* (the slot learns it after the callback, before the channel) */
                FUZZ_CHECK(js == WP_JOB_DONE);
        } else if (j->handle_state == H_WAITED || j->handle_state == H_NONE) {
            FUZZ_CHECK(st == WP_INVALID);
        }
        break;
    }
    case 2: {
        wp_result r;
        bool forever = !s->inline_mode && !s->paused && (c & 0x80);
        wp_status st = wp_job_wait(s->pool, h, forever ? WP_FOREVER : WP_NOWAIT, &r);
        if (!live) {
            if (j->handle_state == H_WAITED || j->handle_state == H_NONE)
                FUZZ_CHECK(st == WP_INVALID);
            break;
        }
        if (s->inline_mode)
            FUZZ_CHECK(st == (j->concluded ? WP_OK : WP_TIMED_OUT));
        if (st == WP_OK) {
            j->handle_state = H_WAITED;
            FUZZ_CHECK(r.id >> 2 == index && r.arg == job_arg(r.id));
            if (j->callback) {
                FUZZ_CHECK(atomic_load(&j->cb_count) == 1);
                FUZZ_CHECK(atomic_load(&j->cb_status) == (int)r.status);
            }
            if (!s->inline_mode) {
                check_status(s, index, r.status);
                j->concluded = 1;
            }
            FUZZ_CHECK(wp_job_query(s->pool, h, &(wp_job_state){ 0 }) == WP_INVALID);
        } else {
            FUZZ_CHECK(st == WP_TIMED_OUT && !forever);
        }
        break;
    }
    default: {
        wp_status st = wp_job_release(s->pool, h);
        if (live) {
            FUZZ_CHECK(st == WP_OK);
            j->handle_state = H_RELEASED;
            /* threaded mode: whether it concluded is unknown, but handle
               slots never run out there */
        } else if (j->handle_state == H_WAITED || j->handle_state == H_NONE) {
            FUZZ_CHECK(st == WP_INVALID);
        }
        break;
    }
    }
}

static void op_pause(state *s)
{
    uint8_t b = next_byte(s->in);
    if (b & 1) {
        wp_status st = wp_pool_pause(s->pool);
        FUZZ_CHECK(st == (s->closed ? WP_CLOSED : WP_OK));
        if (st == WP_OK)
            s->paused = true;
    } else {
        FUZZ_CHECK(wp_pool_resume(s->pool) == WP_OK);
        s->paused = false;
    }
}

static void op_wait_idle(state *s)
{
    uint8_t b = next_byte(s->in);
    if (s->inline_mode && !inline_all_callbacks(s)) {
        /* the drain order need not be followed: learn it wholesale */
        FUZZ_CHECK(wp_pool_wait_idle(s->pool, WP_MS(100)) == WP_OK);
        inline_drained(s);
        return;
    }
    bool forever = !s->inline_mode && !s->paused && (b & 1);
    wp_status st = wp_pool_wait_idle(s->pool, forever ? WP_FOREVER : WP_MS(2));
    if (s->inline_mode) {
        FUZZ_CHECK(st == WP_OK);
        FUZZ_CHECK(s->lane_len[0] + s->lane_len[1] + s->lane_len[2] == 0);
        return;
    }
    FUZZ_CHECK(st == WP_OK || (st == WP_TIMED_OUT && !forever));
    if (st == WP_OK) {
        /* idle: every job accepted before the call has its outcome, and
           its callback (if any) has run */
        wp_stats stt;
        FUZZ_CHECK(wp_pool_stats(s->pool, &stt) == WP_OK);
        FUZZ_CHECK(stt.completed + stt.failed + stt.canceled + stt.expired + stt.evicted
                   == stt.submitted);
        for (uint64_t i = 0; i < s->jobs; i++)
            if (s->rec[i].accepted && s->rec[i].callback)
                FUZZ_CHECK(atomic_load(&s->rec[i].cb_count) == 1);
    }
}

static void op_help(state *s)
{
    uint8_t b = next_byte(s->in);
    size_t queued = s->lane_len[0] + s->lane_len[1] + s->lane_len[2];
    bool followed = inline_all_callbacks(s);
    uint64_t before = s->outcomes_seen;
    size_t n = wp_pool_help(s->pool, (b & 1) ? WP_FOREVER : s->inline_mode ? WP_SEC(10) : WP_MS(1));
    if (!s->inline_mode)
        return;
    /* inline: with no other thread, a generous budget takes everything */
    FUZZ_CHECK(n == queued);
    if (followed)
        FUZZ_CHECK(s->outcomes_seen - before == n && queued == 0 + n
                   && s->lane_len[0] + s->lane_len[1] + s->lane_len[2] == 0);
    else
        inline_drained(s);
}

/* Receives everything (the pool must be closed), then checks the books. */
static void settle(state *s)
{
    FUZZ_CHECK(wp_pool_close(s->pool, WP_DRAIN, WP_FOREVER) == WP_OK);
    s->closed = true;
    if (s->inline_mode)
        inline_drained(s);
    wp_result r;
    wp_status st;
    while ((st = wp_result_recv(s->pool, &r, WP_FOREVER)) == WP_OK)
        check_result(s, &r);
    FUZZ_CHECK(st == WP_CLOSED);
    FUZZ_CHECK(s->n_received == s->n_accepted);
    for (uint64_t i = 0; i < s->jobs; i++) {
        job_rec *j = &s->rec[i];
        FUZZ_CHECK(j->received == j->accepted);
        FUZZ_CHECK(atomic_load(&j->cb_count) == (j->accepted && j->callback ? 1 : 0));
        if (j->handle_state == H_HELD) { /* its outcome waits in the slot */
            wp_result hr;
            FUZZ_CHECK(wp_job_wait(s->pool, j->handle, WP_NOWAIT, &hr) == WP_OK);
            FUZZ_CHECK(hr.id >> 2 == i);
            j->handle_state = H_WAITED;
        }
    }
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
    end_pool(s);
    start_pool(s);
}

/* A burst of submissions with one policy, to reach a full queue. */
static void op_burst(state *s)
{
    uint8_t b = next_byte(s->in), c = next_byte(s->in);
    int n = (b & 15) + 1;
    for (int i = 0; i < n; i++)
        submit_one(s, (uint8_t)((b & 0xfc) | (i & 3)), c);
}

static void (*const ops[])(state *) = {
    op_submit, op_submit, op_submit, op_recv,   op_recv,         op_stats,
    op_close,  op_destroy, op_burst, op_batch,  op_token_cancel, op_clock,
    op_handle, op_handle,  op_pause, op_wait_idle, op_help,
};
#define NOPS (sizeof ops / sizeof ops[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader in = { data, size };
    static state s;
    memset(&s, 0, sizeof s);
    g = &s;
    s.in = &in;
    atomic_store(&s.now, (long long)WP_SEC(1));
    uint8_t first = next_byte(&in);
    static const size_t capacities[] = { 2, 3, 5, 8 }; /* exact bounds, not only powers of two */
    s.capacity = capacities[first % 4];
    s.inline_mode = (first & 0x40) != 0;
    start_pool(&s);
    /* Bounded work per input keeps every run short. */
    for (int steps = 0; in.n > 0 && steps < 512; steps++)
        ops[next_byte(&in) % NOPS](&s);
    settle(&s);
    end_pool(&s);
    return 0;
}

FUZZ_REPLAY_MAIN("fuzz_pool")
