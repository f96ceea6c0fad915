/* harness.h - the interface between the pool workloads (harness.c) and one
   contender (ct_*.c / ct_tbb.cpp). One binary per contender: harness.c +
   one contender file, so each links only its own library. */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every job of one run calls the same function; arg is never NULL. */
typedef void (*bench_fn)(void *arg);

enum {
    CT_BOUNDED     = 1, /* a bounded queue with blocking submission */
    CT_BATCH       = 2, /* a batch submission call */
    CT_CALLER_RUNS = 4, /* the submitting thread runs jobs too */
    CT_FALLBACK    = 8  /* submit_batch is a one-by-one fallback (printed) */
};

typedef struct contender {
    const char *name;
    int flags;
    /* workers threads run the jobs; producers threads will submit. */
    int (*create)(int workers, int capacity, int producers, bench_fn fn);
    void (*destroy)(void);
    /* Runs body(0) .. body(n-1), one per producer thread, and returns when
       all returned. NULL: the harness starts n pthreads. */
    void (*run_producers)(int n, void (*body)(int producer));
    /* Called on the producer's own thread. 0 on success. */
    int (*submit)(int producer, void *arg);
    /* Returns how many of the n were accepted. NULL: one by one. */
    size_t (*submit_batch)(int producer, void *const *args, size_t n);
    /* Called on the producer's thread after its last submit (optional). */
    void (*producer_done)(int producer);
} contender;

extern const contender bench_contender;

#ifdef __cplusplus
}
#endif
#endif
