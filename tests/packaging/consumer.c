/* consumer.c - a program that uses an installed workerpool.h, found through
   pkg-config or CMake (see run.sh). It is the quick start: square ten numbers
   through the result channel. Exits 0 when every result came back right. */
#define WORKERPOOL_IMPLEMENTATION
#include <workerpool.h>
#include <stdio.h>

static int square(void *arg, wp_ctx *ctx)
{
    intptr_t n = (intptr_t)arg;
    wp_ctx_set_value(ctx, (void *)(n * n));
    return 0;
}

int main(void)
{
    wp_pool *pool;
    if (wp_pool_create(&(wp_config){ .result_capacity = 64 }, &pool) != WP_OK)
        return 1;
    for (intptr_t i = 1; i <= 10; i++)
        if (wp_submit(pool, square, (void *)i) != WP_OK)
            return 1;
    long sum = 0;
    for (int i = 0; i < 10; i++) {
        wp_result r;
        if (wp_result_recv(pool, &r, WP_SEC(10)) != WP_OK)
            return 1;
        sum += (long)(intptr_t)r.value;
    }
    if (wp_pool_close(pool, WP_DRAIN, WP_SEC(10)) != WP_OK || wp_pool_destroy(pool) != WP_OK)
        return 1;
    printf("workerpool %s: the squares of 1..10 add up to %ld\n", WORKERPOOL_VERSION, sum);
    return sum == 385 ? 0 : 1;
}
