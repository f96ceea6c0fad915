/* fuzz_queue.c - libFuzzer target: the bare wp_queue against a ring model.

   The input's first bytes choose the queue (capacity 1..16, at least 2,
   element size 1..40 bytes, heap or caller memory, and a starting position
   that may sit just below the wrap-around of the position counters); every
   later byte is one operation, decoded by the table `ops` (add an entry to
   add an operation). After every operation the queue and the model must
   agree exactly: single-threaded, wp_queue_size is exact.

   Built two ways (see the Makefile, `make fuzz`): with clang's
   -fsanitize=fuzzer for fuzzing, and with -DWP_FUZZ_REPLAY as a plain
   program that runs the corpus files named on its command line (any
   compiler). */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include "fuzz_main.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

WP_API void wp__queue_seek(wp_queue *q, size_t position);

#define MAX_ELEM 40
#define MAX_CAP 16

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

/* The model: a ring of `cap` elements of `size` bytes. */
typedef struct model {
    uint8_t items[MAX_CAP][MAX_ELEM];
    size_t first, count, cap, size;
    uint32_t serial; /* makes every pushed element different */
} model;

typedef struct state {
    wp_queue *q;
    model m;
    reader *in;
} state;

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_queue: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                              \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static void make_element(state *s, uint8_t seed, uint8_t *out)
{
    s->m.serial++;
    for (size_t i = 0; i < s->m.size; i++)
        out[i] = (uint8_t)(seed + i * 31u + s->m.serial * 7u + (s->m.serial >> 8));
}

static void op_push(state *s)
{
    uint8_t e[MAX_ELEM];
    make_element(s, next_byte(s->in), e);
    bool ok = wp_queue_try_push(s->q, e);
    FUZZ_CHECK(ok == (s->m.count < s->m.cap));
    if (ok) {
        memcpy(s->m.items[(s->m.first + s->m.count) % s->m.cap], e, s->m.size);
        s->m.count++;
    }
}

static void op_pop(state *s)
{
    uint8_t e[MAX_ELEM + 8];
    /* Bytes beyond the element must stay untouched. */
    memset(e, 0xA5, sizeof e);
    bool ok = wp_queue_try_pop(s->q, e);
    FUZZ_CHECK(ok == (s->m.count > 0));
    if (ok) {
        FUZZ_CHECK(memcmp(e, s->m.items[s->m.first], s->m.size) == 0);
        s->m.first = (s->m.first + 1) % s->m.cap;
        s->m.count--;
    }
    for (size_t i = ok ? s->m.size : 0; i < sizeof e; i++)
        FUZZ_CHECK(e[i] == 0xA5);
}

static void op_size(state *s)
{
    FUZZ_CHECK(wp_queue_size(s->q) == s->m.count);
}

static void op_capacity(state *s)
{
    FUZZ_CHECK(wp_queue_capacity(s->q) == s->m.cap);
}

/* Push until full, then pop until empty, checking FIFO order. */
static void op_fill_drain(state *s)
{
    while (s->m.count < s->m.cap)
        op_push(s);
    op_size(s);
    op_push(s); /* refused */
    while (s->m.count > 0)
        op_pop(s);
    op_pop(s); /* empty */
    op_size(s);
}

/* NULL arguments are refused without touching the queue. */
static void op_null_args(state *s)
{
    uint8_t e[MAX_ELEM];
    memset(e, 0, sizeof e);
    FUZZ_CHECK(!wp_queue_try_push(s->q, NULL));
    FUZZ_CHECK(!wp_queue_try_pop(s->q, NULL));
    FUZZ_CHECK(!wp_queue_try_push(NULL, e));
    FUZZ_CHECK(!wp_queue_try_pop(NULL, e));
    FUZZ_CHECK(wp_queue_size(NULL) == 0);
    FUZZ_CHECK(wp_queue_capacity(NULL) == 0);
    op_size(s);
}

/* The operation table: a byte picks an entry (weights by repetition). */
static void (*const ops[])(state *) = {
    op_push, op_push, op_push, op_pop, op_pop, op_pop, op_size, op_capacity,
    op_fill_drain, op_null_args,
};
#define NOPS (sizeof ops / sizeof ops[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader in = { data, size };
    uint8_t b0 = next_byte(&in), b1 = next_byte(&in), b2 = next_byte(&in);
    size_t want_cap = (size_t)(b0 % MAX_CAP) + 1;
    size_t elem = (size_t)(b1 % MAX_ELEM) + 1;

    static state s; /* static: the model is large-ish and zeroed below */
    memset(&s, 0, sizeof s);
    s.in = &in;
    s.m.size = elem;
    s.m.cap = want_cap < 2 ? 2 : want_cap; /* exact, not rounded up (0.3) */

    void *memory = NULL;
    if (b2 & 1) {
        /* Caller memory, at an odd address: any alignment must do. */
        size_t need = wp_queue_footprint(want_cap, elem);
        FUZZ_CHECK(need > 0);
        memory = malloc(need + 1);
        FUZZ_CHECK(memory != NULL);
        FUZZ_CHECK(wp_queue_init((char *)memory + 1, need - 1, want_cap, elem, &s.q) == WP_INVALID);
        FUZZ_CHECK(s.q == NULL);
        FUZZ_CHECK(wp_queue_init((char *)memory + 1, need, want_cap, elem, &s.q) == WP_OK);
    } else {
        FUZZ_CHECK(wp_queue_create(want_cap, elem, &s.q) == WP_OK);
    }
    FUZZ_CHECK(s.q != NULL);
    if (b2 & 2) {
        /* Start a few positions below the wrap-around of the counters. */
        size_t below = (size_t)(b2 >> 2) % 8;
        wp__queue_seek(s.q, (SIZE_MAX / 2) - below);
    }
    op_capacity(&s);
    op_size(&s);

    while (in.n > 0)
        ops[next_byte(&in) % NOPS](&s);

    /* Whatever is left comes out in order. */
    while (s.m.count > 0)
        op_pop(&s);
    op_pop(&s);
    op_size(&s);

    if (memory)
        free(memory);
    else
        wp_queue_destroy(s.q);
    return 0;
}

FUZZ_REPLAY_MAIN("fuzz_queue")
