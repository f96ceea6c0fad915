/* ct_naive.c - the naive baseline: a bounded ring of jobs under one mutex,
   with two condition variables (not empty, not full), signalled on every push
   and pop. Blocking submission; a batch call that takes the lock once per
   batch (as much as fits, then waits for room). */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>

static struct {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **ring;
    size_t cap, head, count;
    int stop, nworkers;
    pthread_t *threads;
    bench_fn fn;
} P;

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&P.mu);
        while (P.count == 0 && !P.stop)
            pthread_cond_wait(&P.not_empty, &P.mu);
        if (P.count == 0) {
            pthread_mutex_unlock(&P.mu);
            return NULL;
        }
        void *arg = P.ring[P.head];
        P.head = (P.head + 1) % P.cap;
        P.count--;
        pthread_cond_signal(&P.not_full);
        pthread_mutex_unlock(&P.mu);
        P.fn(arg);
    }
}

static int create(int workers, int capacity, int producers, bench_fn fn)
{
    (void)producers;
    P.fn = fn;
    P.cap = (size_t)capacity;
    P.ring = malloc(P.cap * sizeof *P.ring);
    P.threads = malloc((size_t)workers * sizeof *P.threads);
    if (!P.ring || !P.threads)
        return -1;
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.not_empty, NULL);
    pthread_cond_init(&P.not_full, NULL);
    P.nworkers = workers;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&P.threads[i], NULL, worker, NULL) != 0)
            return -1;
    return 0;
}

static void destroy(void)
{
    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    pthread_cond_broadcast(&P.not_empty);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.nworkers; i++)
        pthread_join(P.threads[i], NULL);
    free(P.threads);
    free(P.ring);
}

static int submit(int producer, void *arg)
{
    (void)producer;
    pthread_mutex_lock(&P.mu);
    while (P.count == P.cap)
        pthread_cond_wait(&P.not_full, &P.mu);
    P.ring[(P.head + P.count) % P.cap] = arg;
    P.count++;
    pthread_cond_signal(&P.not_empty);
    pthread_mutex_unlock(&P.mu);
    return 0;
}

static size_t submit_batch(int producer, void *const *args, size_t n)
{
    (void)producer;
    size_t i = 0;
    pthread_mutex_lock(&P.mu);
    while (i < n) {
        while (P.count == P.cap)
            pthread_cond_wait(&P.not_full, &P.mu);
        size_t before = i;
        while (i < n && P.count < P.cap) {
            P.ring[(P.head + P.count) % P.cap] = args[i++];
            P.count++;
        }
        if (i - before > 1)
            pthread_cond_broadcast(&P.not_empty);
        else
            pthread_cond_signal(&P.not_empty);
    }
    pthread_mutex_unlock(&P.mu);
    return n;
}

const contender bench_contender = {
    "naive", CT_BOUNDED | CT_BATCH, create, destroy, NULL, submit, submit_batch, NULL,
};
