/* Tests of the standalone wp_queue: FIFO order, capacity rounding, the full
   and empty edges, caller memory, element sizes, bad arguments, position
   counters that wrap around, and multi-threaded stress (every item delivered
   exactly once, per-producer order kept). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

#include <sched.h>

#define MAX_CAPACITY ((size_t)1 << 30)

/* ------------------------------------------------------------------------ */
/* Single thread                                                             */

static void test_fifo_order_single_thread(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(64, sizeof(int), &q), WP_OK);
    REQUIRE(q != NULL);
    for (int i = 0; i < 64; i++)
        CHECK(wp_queue_try_push(q, &i));
    for (int i = 0; i < 64; i++) {
        int v = -1;
        CHECK(wp_queue_try_pop(q, &v));
        CHECK_EQ_INT(v, i);
    }
    /* interleaved: push two, pop one, many times over */
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 60; round++) {
        CHECK(wp_queue_try_push(q, &next_in));
        next_in++;
        CHECK(wp_queue_try_push(q, &next_in));
        next_in++;
        int v = -1;
        CHECK(wp_queue_try_pop(q, &v));
        CHECK_EQ_INT(v, next_out);
        next_out++;
    }
    int v = -1;
    while (wp_queue_try_pop(q, &v)) {
        CHECK_EQ_INT(v, next_out);
        next_out++;
    }
    CHECK_EQ_INT(next_out, next_in);
    wp_queue_destroy(q);
}

/* The capacity is the one asked for (at least 2), not the ring's size. */
static void test_capacity_is_exactly_what_was_asked(void) {
    static const struct { size_t asked, expected; } cases[] = {
        { 1, 2 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 }, { 100, 100 }, { 1000, 1000 },
        { 1024, 1024 }, { 1025, 1025 }, { 65535, 65535 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wp_queue *q = NULL;
        REQUIRE_STATUS(wp_queue_create(cases[i].asked, 4, &q), WP_OK);
        CHECK_EQ_UINT(wp_queue_capacity(q), cases[i].expected);
        /* exactly that many pushes succeed */
        size_t pushed = 0;
        uint32_t v = 0;
        while (pushed <= cases[i].expected && wp_queue_try_push(q, &v))
            pushed++;
        CHECK_EQ_UINT(pushed, cases[i].expected);
        wp_queue_destroy(q);
    }
}

static void test_push_fails_exactly_when_full_pop_exactly_when_empty(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(8, sizeof(uint64_t), &q), WP_OK);
    REQUIRE_EQ_UINT(wp_queue_capacity(q), 8);
    uint64_t v = 0;
    CHECK_EQ_UINT(wp_queue_size(q), 0);
    CHECK(!wp_queue_try_pop(q, &v));
    for (int cycle = 0; cycle < 3; cycle++) {
        for (uint64_t i = 0; i < 8; i++) {
            CHECK(wp_queue_try_push(q, &i));
            CHECK_EQ_UINT(wp_queue_size(q), i + 1);
        }
        uint64_t extra = 99;
        CHECK(!wp_queue_try_push(q, &extra));
        CHECK(!wp_queue_try_push(q, &extra));
        CHECK_EQ_UINT(wp_queue_size(q), 8);
        for (uint64_t i = 0; i < 8; i++) {
            CHECK(wp_queue_try_pop(q, &v));
            CHECK_EQ_UINT(v, i);
            CHECK_EQ_UINT(wp_queue_size(q), 7 - i);
        }
        CHECK(!wp_queue_try_pop(q, &v));
        CHECK(!wp_queue_try_pop(q, &v));
        CHECK_EQ_UINT(wp_queue_size(q), 0);
    }
    wp_queue_destroy(q);
}

static void test_full_queue_takes_one_more_after_one_pop(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(2, sizeof(int), &q), WP_OK);
    int a = 1, b = 2, c = 3, v = 0;
    CHECK(wp_queue_try_push(q, &a));
    CHECK(wp_queue_try_push(q, &b));
    CHECK(!wp_queue_try_push(q, &c));
    CHECK(wp_queue_try_pop(q, &v));
    CHECK_EQ_INT(v, 1);
    CHECK(wp_queue_try_push(q, &c));
    CHECK(!wp_queue_try_push(q, &a));
    CHECK(wp_queue_try_pop(q, &v));
    CHECK_EQ_INT(v, 2);
    CHECK(wp_queue_try_pop(q, &v));
    CHECK_EQ_INT(v, 3);
    CHECK(!wp_queue_try_pop(q, &v));
    wp_queue_destroy(q);
}

/* Pushes `capacity` distinct elements of `elem_size` bytes, checks a push past
   full fails, pops them all and compares every byte. */
static void fill_and_drain_checking_bytes(wp_queue *q, size_t elem_size) {
    size_t cap = wp_queue_capacity(q);
    unsigned char *in = malloc(elem_size);
    unsigned char *out = malloc(elem_size);
    if (!in || !out) {
        CHECK(in && out);
        free(in);
        free(out);
        return;
    }
    memset(in, 0, elem_size);
    for (size_t i = 0; i < cap; i++) {
        for (size_t b = 0; b < elem_size; b++)
            in[b] = (unsigned char)(i * 31 + b * 7 + 1);
        CHECK(wp_queue_try_push(q, in));
    }
    CHECK(!wp_queue_try_push(q, in));
    for (size_t i = 0; i < cap; i++) {
        memset(out, 0xEE, elem_size);
        CHECK(wp_queue_try_pop(q, out));
        size_t bad = 0;
        for (size_t b = 0; b < elem_size; b++)
            if (out[b] != (unsigned char)(i * 31 + b * 7 + 1))
                bad++;
        CHECK_EQ_UINT(bad, 0);
    }
    CHECK(!wp_queue_try_pop(q, out));
    free(in);
    free(out);
}

static void test_element_sizes_are_copied_exactly(void) {
    static const size_t sizes[] = { 1, 2, 3, 8, 24, 100, 4096, 65536 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        wp_queue *q = NULL;
        REQUIRE_STATUS(wp_queue_create(8, sizes[i], &q), WP_OK);
        fill_and_drain_checking_bytes(q, sizes[i]);
        fill_and_drain_checking_bytes(q, sizes[i]); /* second lap reuses cells */
        wp_queue_destroy(q);
    }
}

static void test_init_in_caller_memory(void) {
    size_t need = wp_queue_footprint(16, 24);
    REQUIRE(need >= 16 * 24);
    void *memory = malloc(need);
    REQUIRE(memory != NULL);
    wp_queue *q = NULL;
    CHECK_STATUS(wp_queue_init(memory, need, 16, 24, &q), WP_OK);
    if (q) {
        CHECK_EQ_UINT(wp_queue_capacity(q), 16);
        CHECK_EQ_UINT(wp_queue_size(q), 0);
        fill_and_drain_checking_bytes(q, 24);
    }
    /* init again in the same memory: a fresh, empty queue */
    CHECK_STATUS(wp_queue_init(memory, need, 16, 24, &q), WP_OK);
    if (q) {
        CHECK_EQ_UINT(wp_queue_size(q), 0);
        fill_and_drain_checking_bytes(q, 24);
    }
    free(memory); /* the queue never frees it: ours to free */
}

/* The footprint must be enough at any alignment: use exactly footprint bytes
   at every offset from 0 to 64, for a few element sizes, and check that
   nothing is written outside them. */
static void test_init_in_misaligned_memory_stays_inside_it(void) {
    static const size_t elems[] = { 1, 3, 24, 100 };
    const size_t cap = 8, canary = 64;
    for (size_t e = 0; e < sizeof elems / sizeof elems[0]; e++) {
        size_t elem = elems[e];
        size_t need = wp_queue_footprint(cap, elem);
        REQUIRE(need > 0);
        size_t block_size = need + 64 + canary;
        unsigned char *block = malloc(block_size);
        REQUIRE(block != NULL);
        for (size_t offset = 0; offset <= 64; offset++) {
            memset(block, 0xA5, block_size);
            unsigned char *memory = block + offset;
            wp_queue *q = NULL;
            CHECK_STATUS(wp_queue_init(memory, need, cap, elem, &q), WP_OK);
            if (!q)
                continue;
            CHECK_EQ_UINT(wp_queue_capacity(q), cap);
            fill_and_drain_checking_bytes(q, elem);
            size_t damaged = 0;
            for (size_t i = 0; i < offset; i++)
                damaged += block[i] != 0xA5;
            for (size_t i = offset + need; i < block_size; i++)
                damaged += block[i] != 0xA5;
            if (damaged)
                wpt_note("elem %zu, offset %zu: %zu bytes outside the given memory changed", elem,
                         offset, damaged);
            CHECK_EQ_UINT(damaged, 0);
        }
        free(block);
    }
}

static void test_init_rejects_too_small_memory(void) {
    size_t need = wp_queue_footprint(8, 16);
    REQUIRE(need > 0);
    unsigned char *memory = malloc(need);
    REQUIRE(memory != NULL);
    wp_queue *q = NULL;
    CHECK_STATUS(wp_queue_init(memory, need - 1, 8, 16, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, need / 2, 8, 16, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, 0, 8, 16, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory + 1, need - 1, 8, 16, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, need, 8, 16, &q), WP_OK);
    free(memory);
}

static void test_footprint_is_zero_for_bad_sizes(void) {
    CHECK_EQ_UINT(wp_queue_footprint(0, 8), 0);
    CHECK_EQ_UINT(wp_queue_footprint(8, 0), 0);
    CHECK_EQ_UINT(wp_queue_footprint(0, 0), 0);
    CHECK_EQ_UINT(wp_queue_footprint(MAX_CAPACITY + 1, 8), 0);
    CHECK_EQ_UINT(wp_queue_footprint(SIZE_MAX, 8), 0);
    CHECK_EQ_UINT(wp_queue_footprint(SIZE_MAX / 2 + 1, 1), 0);
    CHECK_EQ_UINT(wp_queue_footprint(8, 65537), 0);
    CHECK_EQ_UINT(wp_queue_footprint(8, SIZE_MAX), 0);
    /* good sizes: nonzero, at least the elements themselves, growing */
    CHECK_CMP_UINT(wp_queue_footprint(2, 1), >=, 2);
    CHECK_CMP_UINT(wp_queue_footprint(8, 65536), >=, 8 * (size_t)65536);
    CHECK_CMP_UINT(wp_queue_footprint(1000, 8), >=, 1024 * 8);
    CHECK_CMP_UINT(wp_queue_footprint(1 << 20, 8), >, wp_queue_footprint(1 << 10, 8));
    if (SIZE_MAX > UINT32_MAX) /* the largest queue's footprint fits a 64-bit size_t */
        CHECK_CMP_UINT(wp_queue_footprint(MAX_CAPACITY, 1), >=, MAX_CAPACITY);
    /* the memory is for the next power of two */
    CHECK_EQ_UINT(wp_queue_footprint(3, 8), wp_queue_footprint(4, 8));
}

static void test_bad_arguments_are_invalid_or_false(void) {
    unsigned char memory[4096];
    wp_queue *q = NULL;
    CHECK_STATUS(wp_queue_init(NULL, sizeof memory, 8, 8, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, sizeof memory, 8, 8, NULL), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, sizeof memory, 0, 8, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, sizeof memory, 8, 0, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, sizeof memory, MAX_CAPACITY + 1, 1, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, sizeof memory, 8, 65537, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_init(memory, SIZE_MAX, 8, SIZE_MAX, &q), WP_INVALID);

    CHECK_STATUS(wp_queue_create(8, 8, NULL), WP_INVALID);
    CHECK_STATUS(wp_queue_create(0, 8, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_create(8, 0, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_create(MAX_CAPACITY + 1, 1, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_create(SIZE_MAX, 1, &q), WP_INVALID);
    CHECK_STATUS(wp_queue_create(8, 65537, &q), WP_INVALID);

    q = NULL;
    REQUIRE_STATUS(wp_queue_create(4, sizeof(int), &q), WP_OK);
    int v = 5;
    CHECK(!wp_queue_try_push(NULL, &v));
    CHECK(!wp_queue_try_push(q, NULL));
    CHECK(!wp_queue_try_pop(NULL, &v));
    CHECK(wp_queue_try_push(q, &v));
    CHECK(!wp_queue_try_pop(q, NULL));
    CHECK_EQ_UINT(wp_queue_size(q), 1); /* the failed pop took nothing */
    v = 0;
    CHECK(wp_queue_try_pop(q, &v));
    CHECK_EQ_INT(v, 5);
    wp_queue_destroy(q);
    wp_queue_destroy(NULL);
}

/* The head and tail counters run past SIZE_MAX and wrap to 0 while the queue
   is used: order, size, full and empty stay right across the wrap. */
static void test_counters_wrap_single_thread(void) {
    static const size_t capacities[] = { 2, 3, 4, 5, 8, 100 };
    for (size_t c = 0; c < sizeof capacities / sizeof capacities[0]; c++) {
        size_t cap = capacities[c];
        wp_queue *q = NULL;
        REQUIRE_STATUS(wp_queue_create(cap, sizeof(uint64_t), &q), WP_OK);
        wp__queue_seek(q, SIZE_MAX - 3 * cap);
        CHECK_EQ_UINT(wp_queue_size(q), 0);
        uint64_t next_in = 0, next_out = 0, v = 0;
        /* enough laps to cross the wrap several capacities deep */
        for (size_t lap = 0; lap < 12 * cap; lap++) {
            size_t n = 1 + lap % cap; /* 1..cap items this lap */
            for (size_t i = 0; i < n; i++) {
                CHECK(wp_queue_try_push(q, &next_in));
                next_in++;
            }
            CHECK_EQ_UINT(wp_queue_size(q), n);
            if (n == cap) {
                uint64_t extra = 12345;
                CHECK(!wp_queue_try_push(q, &extra));
            }
            for (size_t i = 0; i < n; i++) {
                CHECK(wp_queue_try_pop(q, &v));
                CHECK_EQ_UINT(v, next_out);
                next_out++;
            }
            CHECK(!wp_queue_try_pop(q, &v));
            CHECK_EQ_UINT(wp_queue_size(q), 0);
        }
        /* a queue kept full while the counters cross the wrap */
        wp__queue_seek(q, SIZE_MAX - 1);
        next_in = next_out = 0;
        for (size_t i = 0; i < cap; i++, next_in++)
            CHECK(wp_queue_try_push(q, &next_in));
        for (size_t step = 0; step < 4 * cap; step++) {
            CHECK_EQ_UINT(wp_queue_size(q), cap);
            CHECK(!wp_queue_try_push(q, &next_in));
            CHECK(wp_queue_try_pop(q, &v));
            CHECK_EQ_UINT(v, next_out);
            next_out++;
            CHECK(wp_queue_try_push(q, &next_in));
            next_in++;
        }
        wp_queue_destroy(q);
    }
}

/* ------------------------------------------------------------------------ */
/* Stress                                                                    */

typedef struct qitem {
    uint32_t producer;
    uint32_t seq;
    uint64_t check; /* a function of producer and seq: catches torn copies */
} qitem;

static uint64_t item_check(uint32_t producer, uint32_t seq) {
    uint64_t x = (((uint64_t)producer << 32) | seq) * UINT64_C(0x9E3779B97F4A7C15);
    return x ^ (x >> 29);
}

#define MAX_SIDES 8

typedef struct mpmc_run {
    wp_queue *q;
    int producers, consumers;
    uint32_t per_producer;
    atomic_uint_fast64_t consumed;
    atomic_bool stop;
    unsigned char *seen[MAX_SIDES];  /* per consumer: count of each item */
    atomic_int order_errors, torn_items;
} mpmc_run;

typedef struct side {
    mpmc_run *run;
    int index;
} side;

static void producer_main(void *p) {
    side *s = p;
    mpmc_run *run = s->run;
    for (uint32_t seq = 0; seq < run->per_producer; seq++) {
        qitem it = { (uint32_t)s->index, seq, item_check((uint32_t)s->index, seq) };
        while (!wp_queue_try_push(run->q, &it)) {
            if (atomic_load_explicit(&run->stop, memory_order_relaxed))
                return;
            sched_yield();
        }
    }
}

static void consumer_main(void *p) {
    side *s = p;
    mpmc_run *run = s->run;
    int64_t last[MAX_SIDES];
    for (int i = 0; i < MAX_SIDES; i++)
        last[i] = -1;
    unsigned char *seen = run->seen[s->index];
    uint64_t total = (uint64_t)run->producers * run->per_producer;
    while (!atomic_load_explicit(&run->stop, memory_order_relaxed)) {
        qitem it;
        if (!wp_queue_try_pop(run->q, &it)) {
            if (atomic_load_explicit(&run->consumed, memory_order_relaxed) >= total)
                return;
            sched_yield();
            continue;
        }
        atomic_fetch_add_explicit(&run->consumed, 1, memory_order_relaxed);
        if (it.producer >= (uint32_t)run->producers || it.seq >= run->per_producer ||
            it.check != item_check(it.producer, it.seq)) {
            atomic_fetch_add(&run->torn_items, 1);
            continue;
        }
        if ((int64_t)it.seq <= last[it.producer])
            atomic_fetch_add(&run->order_errors, 1);
        last[it.producer] = it.seq;
        unsigned char *count = &seen[(size_t)it.producer * run->per_producer + it.seq];
        if (*count < 255)
            (*count)++;
    }
}

/* Runs producers x consumers threads over `q`, then checks that every item
   came out exactly once, intact, and in each producer's order. */
static void run_mpmc(wp_queue *q, int producers, int consumers, uint32_t per_producer) {
    mpmc_run run;
    memset(&run, 0, sizeof run);
    run.q = q;
    run.producers = producers;
    run.consumers = consumers;
    run.per_producer = per_producer;
    atomic_init(&run.consumed, 0);
    atomic_init(&run.stop, false);
    atomic_init(&run.order_errors, 0);
    atomic_init(&run.torn_items, 0);
    size_t items = (size_t)producers * per_producer;
    for (int c = 0; c < consumers; c++) {
        run.seen[c] = calloc(items, 1);
        if (!run.seen[c]) {
            CHECK(run.seen[c] != NULL);
            for (int k = 0; k < c; k++)
                free(run.seen[k]);
            return;
        }
    }
    side sides[2 * MAX_SIDES];
    wpt_thread threads[2 * MAX_SIDES];
    int n = 0;
    int64_t start = wpt_now_ns();
    for (int c = 0; c < consumers; c++, n++) {
        sides[n] = (side){ &run, c };
        threads[n] = wpt_thread_start(consumer_main, &sides[n]);
    }
    for (int p = 0; p < producers; p++, n++) {
        sides[n] = (side){ &run, p };
        threads[n] = wpt_thread_start(producer_main, &sides[n]);
    }
    /* give them up to 60 s; lost items would otherwise spin forever */
    int64_t deadline = start + WP_SEC(60);
    while (atomic_load(&run.consumed) < items && wpt_now_ns() < deadline)
        wpt_sleep_ms(2);
    atomic_store(&run.stop, true);
    for (int i = 0; i < n; i++)
        wpt_thread_join(threads[i]);

    CHECK_EQ_UINT(atomic_load(&run.consumed), items);
    CHECK_EQ_INT(atomic_load(&run.torn_items), 0);
    CHECK_EQ_INT(atomic_load(&run.order_errors), 0);
    size_t missing = 0, duplicated = 0;
    for (size_t i = 0; i < items; i++) {
        unsigned total = 0;
        for (int c = 0; c < consumers; c++)
            total += run.seen[c][i];
        missing += total == 0;
        duplicated += total > 1;
    }
    CHECK_EQ_UINT(missing, 0);
    CHECK_EQ_UINT(duplicated, 0);
    CHECK_EQ_UINT(wp_queue_size(q), 0);
    for (int c = 0; c < consumers; c++)
        free(run.seen[c]);
}

static uint32_t stress_items_per_producer(void) {
    return (uint32_t)wpt_scaled(1000000, 2000);
}

static void test_stress_4_producers_4_consumers(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(256, sizeof(qitem), &q), WP_OK);
    run_mpmc(q, 4, 4, stress_items_per_producer());
    wp_queue_destroy(q);
}

static void test_stress_4_producers_4_consumers_across_counter_wrap(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(256, sizeof(qitem), &q), WP_OK);
    wp__queue_seek(q, SIZE_MAX - 5000);
    run_mpmc(q, 4, 4, stress_items_per_producer());
    wp_queue_destroy(q);
}

/* A capacity that is not a power of two holds exactly that many under
   concurrent producers, and stays correct under MPMC load across the wrap. */
typedef struct filler {
    wp_queue *q;
    atomic_int pushed;
    atomic_int go;
} filler;

static void filler_main(void *p) {
    filler *f = (filler *)p;
    while (!atomic_load(&f->go))
        ;
    qitem it = { 0 };
    for (int i = 0; i < 200; i++)
        if (wp_queue_try_push(f->q, &it))
            atomic_fetch_add(&f->pushed, 1);
}

static void test_concurrent_producers_fill_exactly_the_capacity(void) {
    for (int round = 0; round < 20; round++) {
        filler f;
        REQUIRE_STATUS(wp_queue_create(100, sizeof(qitem), &f.q), WP_OK);
        atomic_init(&f.pushed, 0);
        atomic_init(&f.go, 0);
        wpt_thread t[4];
        for (int i = 0; i < 4; i++)
            t[i] = wpt_thread_start(filler_main, &f);
        atomic_store(&f.go, 1);
        for (int i = 0; i < 4; i++)
            wpt_thread_join(t[i]);
        CHECK_EQ_INT(atomic_load(&f.pushed), 100);
        CHECK_EQ_UINT(wp_queue_size(f.q), 100);
        wp_queue_destroy(f.q);
    }
}

static void test_stress_4_producers_4_consumers_capacity_100_across_wrap(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(100, sizeof(qitem), &q), WP_OK);
    wp__queue_seek(q, SIZE_MAX - 5000);
    run_mpmc(q, 4, 4, stress_items_per_producer() / 2);
    wp_queue_destroy(q);
}

static void test_stress_many_producers_one_consumer_tiny_queue(void) {
    wp_queue *q = NULL;
    REQUIRE_STATUS(wp_queue_create(2, sizeof(qitem), &q), WP_OK);
    wp__queue_seek(q, SIZE_MAX - 100);
    run_mpmc(q, 3, 1, (uint32_t)wpt_scaled(100000, 1000));
    wp_queue_destroy(q);
}

typedef struct spsc_run {
    wp_queue *q;
    uint64_t count;
    atomic_bool stop;
    uint64_t received;  /* written by the consumer only */
    uint64_t first_bad; /* index of the first out-of-order value, or UINT64_MAX */
} spsc_run;

static void spsc_producer(void *p) {
    spsc_run *run = p;
    for (uint64_t i = 0; i < run->count; i++)
        while (!wp_queue_try_push(run->q, &i)) {
            if (atomic_load_explicit(&run->stop, memory_order_relaxed))
                return;
            sched_yield();
        }
}

static void spsc_consumer(void *p) {
    spsc_run *run = p;
    while (run->received < run->count) {
        uint64_t v;
        if (!wp_queue_try_pop(run->q, &v)) {
            if (atomic_load_explicit(&run->stop, memory_order_relaxed))
                return;
            sched_yield();
            continue;
        }
        if (v != run->received && run->first_bad == UINT64_MAX)
            run->first_bad = run->received;
        run->received++;
    }
}

static void test_stress_1_producer_1_consumer_capacity_2(void) {
    spsc_run run;
    memset(&run, 0, sizeof run);
    REQUIRE_STATUS(wp_queue_create(2, sizeof(uint64_t), &run.q), WP_OK);
    REQUIRE_EQ_UINT(wp_queue_capacity(run.q), 2);
    run.count = wpt_scaled(500000, 5000);
    run.first_bad = UINT64_MAX;
    atomic_init(&run.stop, false);
    wpt_thread consumer = wpt_thread_start(spsc_consumer, &run);
    wpt_thread producer = wpt_thread_start(spsc_producer, &run);
    wpt_thread_join(producer);
    /* the producer finished: the consumer needs at most a moment more */
    int64_t deadline = wpt_now_ns() + WP_SEC(30);
    while (wp_queue_size(run.q) > 0 && wpt_now_ns() < deadline)
        wpt_sleep_ms(1);
    wpt_sleep_ms(5);
    atomic_store(&run.stop, true);
    wpt_thread_join(consumer);
    CHECK_EQ_UINT(run.received, run.count);
    CHECK_EQ_UINT(run.first_bad, UINT64_MAX);
    wp_queue_destroy(run.q);
}

static const wpt_test tests[] = {
    WPT_TEST(test_fifo_order_single_thread),
    WPT_TEST(test_capacity_is_exactly_what_was_asked),
    WPT_TEST(test_concurrent_producers_fill_exactly_the_capacity),
    WPT_TEST(test_stress_4_producers_4_consumers_capacity_100_across_wrap),
    WPT_TEST(test_push_fails_exactly_when_full_pop_exactly_when_empty),
    WPT_TEST(test_full_queue_takes_one_more_after_one_pop),
    WPT_TEST(test_element_sizes_are_copied_exactly),
    WPT_TEST(test_init_in_caller_memory),
    WPT_TEST(test_init_in_misaligned_memory_stays_inside_it),
    WPT_TEST(test_init_rejects_too_small_memory),
    WPT_TEST(test_footprint_is_zero_for_bad_sizes),
    WPT_TEST(test_bad_arguments_are_invalid_or_false),
    WPT_TEST(test_counters_wrap_single_thread),
    WPT_TEST(test_stress_4_producers_4_consumers),
    WPT_TEST(test_stress_4_producers_4_consumers_across_counter_wrap),
    WPT_TEST(test_stress_many_producers_one_consumer_tiny_queue),
    WPT_TEST(test_stress_1_producer_1_consumer_capacity_2),
};

WPT_MAIN(tests)
