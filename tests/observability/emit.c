/* emit.c - writes a real pool's stats in the three formats, for
   tests/observability/check.sh (make test-formats) to validate with real
   parsers: python3's json module and promtool.

       emit DIR

   Writes DIR/stats.json, DIR/metrics.prom and DIR/table.txt from a pool
   that met every kind of event (jobs that passed and failed, rejected and
   canceled jobs, a scale-up, measured latency), with a name that needs
   escaping in both JSON and Prometheus; and DIR/empty.json and
   DIR/empty.prom from a fresh pool with nothing measured. Prints the
   expected counts as `key value` lines for the checker. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NAME "mixed \"load\"\\\tpool\n2"

static atomic_int open_gate;

static int job(void *arg, wp_ctx *ctx)
{
    (void)ctx;
    intptr_t n = (intptr_t)arg;
    if (n < 0) { /* a gate: holds its worker until opened */
        while (!atomic_load(&open_gate)) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    static atomic_uint sink;
    unsigned x = 0;
    for (intptr_t i = 0; i < (n % 5) * 2000; i++)
        x = x * 31u + (unsigned)i;
    atomic_fetch_add_explicit(&sink, x, memory_order_relaxed);
    return n % 4 == 3 ? (int)(n % 100) : 0; /* a quarter fail */
}

static int write_file(const char *dir, const char *name, const wp_stats *s,
                      int (*fmt)(const wp_stats *, char *, size_t))
{
    static char buf[1 << 16];
    int n = fmt(s, buf, sizeof buf);
    if (n < 0 || (size_t)n >= sizeof buf)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        return 1;
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    wp_pool *pool;
    wp_config cfg = { .name = NAME, .scaling.min_workers = 1, .max_workers = 2, .queue_capacity = 8,
                      .backpressure = WP_REJECT, .scaling.up_threshold = 1, .observe.latency = true };
    if (wp_pool_create(&cfg, &pool) != WP_OK)
        return 1;
    for (intptr_t i = 0; i < 2000; i++)
        while (wp_submit(pool, job, (void *)i) == WP_FULL) {
            struct timespec ts = { 0, 100000 };
            nanosleep(&ts, NULL);
        }
    if (wp_pool_scale(pool, 1) != WP_OK) /* make sure of one scale-up */
        return 1;
    /* Hold both workers, fill the queue, refuse some, cancel the rest. */
    wp_submit(pool, job, (void *)(intptr_t)-1);
    wp_submit(pool, job, (void *)(intptr_t)-1);
    int rejected = 0;
    for (intptr_t i = 0; i < 20; i++)
        rejected += wp_submit(pool, job, (void *)i) == WP_FULL;
    wp_status cs = wp_pool_close(pool, WP_CANCEL, WP_MS(1));
    atomic_store(&open_gate, 1);
    if (cs == WP_FORCED)
        cs = wp_pool_close(pool, WP_CANCEL, WP_SEC(30));
    if (cs != WP_OK)
        return 1;
    wp_stats s;
    wp_pool_stats(pool, &s);
    int bad = write_file(argv[1], "stats.json", &s, wp_stats_format_json)
            | write_file(argv[1], "metrics.prom", &s, wp_stats_format_prometheus)
            | write_file(argv[1], "table.txt", &s, wp_stats_format_table);
    printf("submitted %llu\ncompleted %llu\nfailed %llu\ncanceled %llu\nrejected %llu\n"
           "processed %llu\n",
           (unsigned long long)s.submitted, (unsigned long long)s.completed,
           (unsigned long long)s.failed, (unsigned long long)s.canceled,
           (unsigned long long)s.rejected, (unsigned long long)s.processed);
    printf("client_rejected_at_least %d\n", rejected);
    wp_pool_destroy(pool);

    if (wp_pool_create(&(wp_config){ .max_workers = 1 }, &pool) != WP_OK)
        return 1;
    wp_pool_stats(pool, &s);
    bad |= write_file(argv[1], "empty.json", &s, wp_stats_format_json)
         | write_file(argv[1], "empty.prom", &s, wp_stats_format_prometheus);
    wp_pool_destroy(pool);
    return bad;
}
