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
