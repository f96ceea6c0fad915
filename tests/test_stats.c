/* test_stats.c - the stats list (WP_STATS_FIELDS) and the figures added in
   0.3: every field reaching all three formatters, utilization, processed,
   queue depth and capacity over the same lanes, the single-figure reads
   (wp_pool_queue_depth, wp_pool_active, wp_pool_workers), and snapshots
   that never go back while producers run. */
#define _POSIX_C_SOURCE 200809L
#define WORKERPOOL_TESTING
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
#include "wp_test.h"
#include "wp_fixtures.h"

/* ------------------------------------------------------------------------ */
/* The list reaches every format                                             */

static char json[65536], prom[65536], table[16384];

static void check_field(const char *field, const char *group, const char *key, const char *row,
                        const char *before, const char *prom_name) {
    char want[256];
    snprintf(want, sizeof want, "\"%s\":", key);
    if (!strstr(json, want))
        wpt_note("%s: no %s in the JSON", field, want);
    CHECK(strstr(json, want) != NULL);
    if (*group) {
        snprintf(want, sizeof want, "\"%s\":{", group);
        CHECK(strstr(json, want) != NULL);
    }
    if (*prom_name && strcmp(field, "name") != 0) {
        snprintf(want, sizeof want, "# HELP workerpool_%s ", prom_name);
        if (!strstr(prom, want))
            wpt_note("%s: no %s in the Prometheus text", field, want);
        CHECK(strstr(prom, want) != NULL);
    }
    CHECK(strstr(table, row) != NULL);
    if (*before && !strstr(table, before)) {
        wpt_note("%s: no \"%s\" in the table", field, before);
        CHECK(!"the table shows the field");
    }
}

static void test_every_field_in_every_format(void) {
    wp_stats s;
    memset(&s, 0, sizeof s);
    strcpy(s.name, "all");
    s.last_error_ns = WP_SEC(1); /* present, so that its group is written */
    s.last_scale_up_ns = WP_SEC(2);
    s.last_scale_down_ns = WP_SEC(3);
    REQUIRE_CMP_INT(wp_stats_format_json(&s, json, sizeof json), <, (int)sizeof json);
    REQUIRE_CMP_INT(wp_stats_format_prometheus(&s, prom, sizeof prom), <, (int)sizeof prom);
    REQUIRE_CMP_INT(wp_stats_format_table(&s, table, sizeof table), <, (int)sizeof table);
    int fields = 0;
#define CHECK_FIELD(kind, field, group, key, row, before, after, prom_name, help) \
    check_field(#field, group, key, row, before, prom_name);                      \
    fields++;
    WP_STATS_FIELDS(CHECK_FIELD)
#undef CHECK_FIELD
    CHECK_EQ_INT(fields, 35);
    /* every struct member is a field of the list, in order */
    size_t end = 0;
#define FIELD_END(kind, field, ...) end = offsetof(wp_stats, field) + sizeof s.field;
    WP_STATS_FIELDS(FIELD_END)
#undef FIELD_END
    CHECK_CMP_UINT(sizeof s - end, <, 8); /* only tail padding after the last */
}

/* ------------------------------------------------------------------------ */
/* Utilization, processed, single reads                                      */

static void test_utilization_and_single_reads(void) {
    CHECK_EQ_UINT(wp_pool_queue_depth(NULL), 0);
    CHECK_EQ_INT(wp_pool_active(NULL), 0);
    CHECK_EQ_INT(wp_pool_workers(NULL), 0);
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 4 }, &pool), WP_OK);
    CHECK_EQ_INT(wp_pool_workers(pool), 4);
    CHECK_EQ_INT(wp_pool_active(pool), 0);
    wp_stats s = pool_stats(pool);
    CHECK(s.utilization == 0.0);
    gate g;
    gate_init(&g, false);
    for (int i = 0; i < 2; i++)
        REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 2, 5000));
    CHECK_EQ_INT(wp_pool_active(pool), 2);
    s = pool_stats(pool);
    CHECK_EQ_INT(s.active, 2);
    CHECK_EQ_INT(s.idle, 2);
    CHECK(s.utilization == 0.5);
    for (int i = 0; i < 2; i++)
        REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 4, 5000));
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 5; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_UINT(wp_pool_queue_depth(pool), 5);
    CHECK_EQ_INT(wp_pool_active(pool), 4);
    s = pool_stats(pool);
    CHECK(s.utilization == 1.0);
    CHECK_EQ_UINT(s.queue_depth, 5);
    CHECK_EQ_UINT(s.submitted, 9);
    CHECK_EQ_UINT(s.processed, 0);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.processed, 9);
    CHECK_EQ_UINT(s.submitted, s.processed);
    CHECK_EQ_UINT(wp_pool_queue_depth(pool), 0);
    wp_pool_destroy(pool);

    /* an inline-only pool has no worker: utilization 0, not NaN */
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .inline_only = true }, &pool), WP_OK);
    REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_EQ_INT(wp_pool_workers(pool), 0);
    CHECK_EQ_UINT(wp_pool_queue_depth(pool), 1);
    s = pool_stats(pool);
    CHECK(s.utilization == 0.0);
    CHECK_EQ_UINT(s.processed, 0);
    CHECK_EQ_UINT(wp_pool_help(pool, WP_FOREVER), 1);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.processed, 1);
    wp_pool_destroy(pool);
}

/* Depth and capacity count the same lanes: the normal one, then each other
   lane once its priority is used; the high-water mark stays within. */
static void test_depth_and_capacity_same_lanes(void) {
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 1, .queue_capacity = 8,
                                                .backpressure = WP_REJECT,
                                                .observe.latency = true }, &pool), WP_OK);
    gate g;
    gate_init(&g, false);
    REQUIRE_STATUS(wp_submit(pool, gate_job, &g), WP_OK);
    REQUIRE(gate_wait_started(&g, 1, 5000));
    atomic_int ran;
    atomic_init(&ran, 0);
    for (int i = 0; i < 8; i++)
        REQUIRE_STATUS(wp_submit(pool, count_job, &ran), WP_OK);
    CHECK_STATUS(wp_submit(pool, count_job, &ran), WP_FULL);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 8);
    CHECK_EQ_UINT(s.queue_capacity, 8);
    CHECK_EQ_UINT(s.queue_high_water, 8);
    for (int i = 0; i < 3; i++)
        REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                      .priority = WP_PRIORITY_HIGH }), WP_OK);
    CHECK_EQ_UINT(pool_stats(pool).queue_capacity, 16); /* normal and high */
    REQUIRE_STATUS(wp_submit_job(pool, &(wp_job){ .fn = count_job, .arg = &ran,
                                                  .priority = WP_PRIORITY_LOW }), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 12);
    CHECK_EQ_UINT(wp_pool_queue_depth(pool), 12);
    CHECK_EQ_UINT(s.queue_capacity, 24);
    CHECK_EQ_UINT(s.queue_high_water, 12);
    CHECK_CMP_UINT(s.queue_depth, <=, s.queue_capacity);
    gate_open(&g);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(30)), WP_OK);
    s = pool_stats(pool);
    CHECK_EQ_UINT(s.queue_depth, 0);
    CHECK_EQ_UINT(s.queue_capacity, 24);
    CHECK_EQ_UINT(s.processed, 13);
    CHECK_STATS_BALANCE(s);
    wp_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* Snapshots under load                                                      */

typedef struct load {
    wp_pool *pool;
    int jobs;
    atomic_int running;
} load;

static int maybe_fail(void *arg, wp_ctx *ctx) {
    (void)ctx;
    return (intptr_t)arg % 5 == 0;
}

static void produce(void *p) {
    load *l = (load *)p;
    wp_job batch[8];
    for (int i = 0; i < l->jobs; i += 8) {
        for (int j = 0; j < 8; j++)
            batch[j] = (wp_job){ .fn = maybe_fail, .arg = (void *)(intptr_t)(i + j) };
        wp_submit_batch(l->pool, batch, 8, NULL);
        wp_submit(l->pool, maybe_fail, (void *)(intptr_t)i);
    }
    atomic_fetch_sub(&l->running, 1);
}

/* While producers run, every snapshot has processed <= submitted, its
   counters never go back from one snapshot to the next, and the cheap reads
   stay within the snapshot's bounds. */
static void test_snapshots_never_go_back(void) {
    wp_pool *pool;
    REQUIRE_STATUS(wp_pool_create(&(wp_config){ .max_workers = 2, .queue_capacity = 64,
                                                .observe.latency = true }, &pool), WP_OK);
    load l = { pool, (int)wpt_scaled(40000, 800), 0 };
    atomic_init(&l.running, 2);
    wpt_thread t[2];
    for (int i = 0; i < 2; i++)
        t[i] = wpt_thread_start(produce, &l);
    wp_stats prev;
    memset(&prev, 0, sizeof prev);
    int snapshots = 0, bad_order = 0, went_back = 0, bad_bounds = 0;
    while (atomic_load(&l.running) > 0 || snapshots < 10) {
        wp_stats s = pool_stats(pool);
        bad_order += s.processed > s.submitted;
        went_back += s.submitted < prev.submitted || s.processed < prev.processed
                   || s.completed < prev.completed || s.failed < prev.failed
                   || s.queue_wait.count < prev.queue_wait.count;
        bad_bounds += s.queue_depth > s.queue_capacity || s.active > s.workers
                    || s.utilization < 0 || s.utilization > 1
                    || wp_pool_queue_depth(pool) > s.queue_capacity
                    || wp_pool_active(pool) > wp_pool_workers(pool);
        prev = s;
        snapshots++;
    }
    for (int i = 0; i < 2; i++)
        wpt_thread_join(t[i]);
    REQUIRE_STATUS(wp_pool_close(pool, WP_DRAIN, WP_SEC(60)), WP_OK);
    wp_stats s = pool_stats(pool);
    CHECK_EQ_INT(bad_order, 0);
    CHECK_EQ_INT(went_back, 0);
    CHECK_EQ_INT(bad_bounds, 0);
    CHECK_STATS_BALANCE(s);
    CHECK_EQ_UINT(s.submitted, s.processed);
    CHECK_EQ_UINT(s.submitted, 2 * (uint64_t)((l.jobs + 7) / 8) * 9);
    CHECK_EQ_UINT(s.queue_wait.count, s.completed + s.failed);
    wp_pool_destroy(pool);
}

static const wpt_test tests[] = {
    WPT_TEST(test_every_field_in_every_format),
    WPT_TEST(test_utilization_and_single_reads),
    WPT_TEST(test_depth_and_capacity_same_lanes),
    WPT_TEST(test_snapshots_never_go_back),
};
WPT_MAIN(tests)
