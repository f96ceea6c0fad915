/* roundtrip.h - one small, complete use of the pool for the linkage tests:
   create a pool with a result channel, submit `jobs` squaring jobs, receive
   every result, close, destroy. Returns 0 when everything added up, or the
   number of the step that went wrong. Include it after workerpool.h. */
#ifndef WP_ROUNDTRIP_H
#define WP_ROUNDTRIP_H

static int roundtrip_square(void *arg, wp_ctx *ctx)
{
    intptr_t n = (intptr_t)arg;
    wp_ctx_set_value(ctx, (void *)(n * n));
    return 0;
}

static int roundtrip(int jobs)
{
    wp_config config = { 0 };
    config.max_workers = 2;
    config.queue_capacity = 16;
    config.result_capacity = (size_t)jobs;
    wp_pool *pool = NULL;
    if (wp_pool_create(&config, &pool) != WP_OK)
        return 1;
    for (intptr_t i = 1; i <= jobs; i++)
        if (wp_submit(pool, roundtrip_square, (void *)i) != WP_OK)
            return 2;
    long long sum = 0, want = 0;
    for (int i = 0; i < jobs; i++) {
        wp_result r;
        if (wp_result_recv(pool, &r, WP_SEC(10)) != WP_OK || r.status != WP_OK)
            return 3;
        sum += (long long)(intptr_t)r.value;
        want += (long long)(i + 1) * (i + 1);
    }
    if (sum != want)
        return 4;
    if (wp_pool_close(pool, WP_DRAIN, WP_SEC(10)) != WP_OK)
        return 5;
    wp_stats s;
    if (wp_pool_stats(pool, &s) != WP_OK || s.completed != (uint64_t)jobs)
        return 6;
    if (wp_pool_destroy(pool) != WP_OK)
        return 7;
    return 0;
}

#endif /* WP_ROUNDTRIP_H */
