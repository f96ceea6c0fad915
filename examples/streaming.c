/* streaming.c - a stream of jobs far longer than the queue and the result
   channel, submitted and received on one thread.

   The rule that keeps it from ever waiting on itself: no more jobs
   outstanding (submitted, result not yet received) than the result channel
   holds. Then a worker always finds room for its result, so it never stops
   draining the queue, so a blocked submit always ends. (Submitting
   everything first and receiving afterwards fills the channel, stops the
   workers and, with nobody receiving, ends in WP_STALLED.) A program that
   receives on another thread needs no such count. */
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include <stdio.h>

#define ITEMS 100000

/* A stand-in for real work: a few rounds of a 64-bit LCG over the item. */
static int digest(void *arg, wp_ctx *ctx) {
    uint64_t x = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 64; i++)
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    wp_ctx_set_value(ctx, (void *)(uintptr_t)(x >> 40));
    return 0;
}

int main(void) {
    enum { CHANNEL = 256 };
    wp_pool *pool;
    if (wp_pool_create(&(wp_config){ .queue_capacity = 128, .result_capacity = CHANNEL }, &pool)
        != WP_OK)
        return 1;
    uint64_t sum = 0;
    long submitted = 0, received = 0;
    wp_result r;
    while (received < ITEMS) {
        if (submitted < ITEMS && submitted - received < CHANNEL) {
            if (wp_submit(pool, digest, (void *)(uintptr_t)submitted) != WP_OK)
                break;
            submitted++;
        } else if (wp_result_recv(pool, &r, WP_FOREVER) == WP_OK) {
            sum += (uint64_t)(uintptr_t)r.value;
            received++;
        } else {
            break;
        }
    }
    wp_pool_close(pool, WP_DRAIN, WP_FOREVER); /* nothing is outstanding */
    wp_pool_destroy(pool);
    printf("streamed %ld jobs through a queue of 128 and a channel of %d: digest sum %llu\n",
           received, CHANNEL, (unsigned long long)sum);
    return received == ITEMS ? 0 : 1;
}
