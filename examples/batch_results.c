/* batch_results.c - the batch flow: submit many jobs in one call, collect the
   results from the result channel and match them to their jobs by id.
   `make examples` builds it (build/<cc>/examples/batch_results); it runs well
   under a second.

   A 32 MiB buffer of pseudo-random bytes is cut into 256 chunks of 128 KiB.
   One wp_submit_batch call submits a job per chunk; each job computes the
   CRC-32 of its chunk. Every job carries an id (10000 + its chunk number), and
   the main thread reads the result channel until every accepted job has
   reported: results arrive in whatever order the workers finish, so each one
   is matched to its chunk by id, and its arg must be that chunk. Then the
   buffer is checksummed again on one thread to compare.

   Exits 0 when every id came back exactly once with its own chunk and every
   checksum matches the one-thread run; 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    CHUNK_SIZE = 128 * 1024,
    CHUNKS     = 256,
    SHOW       = 5             /* results printed as they arrive */
};
#define BUFFER_SIZE ((size_t)CHUNK_SIZE * CHUNKS)
#define FIRST_ID    UINT64_C(10000)
#define RESULT_WAIT WP_SEC(10) /* one result never takes this long */

/* One chunk of the buffer and what its job found. */
typedef struct chunk {
    const unsigned char *data;
    size_t size;
    uint32_t crc;              /* written by the job */
} chunk;

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? UINT32_C(0xEDB88320) ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* CRC-32 (IEEE 802.3, as zlib and PNG compute it). */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = UINT32_C(0xFFFFFFFF);
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ UINT32_C(0xFFFFFFFF);
}

static int checksum_job(void *arg, wp_ctx *ctx) {
    chunk *c = arg;
    c->crc = crc32_of(c->data, c->size);
    wp_ctx_set_value(ctx, c);
    return 0;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double mib_per_sec(size_t bytes, int64_t ns) {
    return ns > 0 ? (double)bytes / (1024.0 * 1024.0) * 1e9 / (double)ns : 0.0;
}

int main(void) {
    int failures = 0;
    crc_init();

    unsigned char *buffer = malloc(BUFFER_SIZE);
    static chunk chunks[CHUNKS];
    static wp_job jobs[CHUNKS];
    static wp_status statuses[CHUNKS];
    static int seen[CHUNKS];
    static int64_t queued[CHUNKS], ran[CHUNKS];
    if (!buffer) {
        fprintf(stderr, "batch_results: out of memory\n");
        return 1;
    }
    uint64_t x = UINT64_C(0x243F6A8885A308D3);      /* xorshift64 */
    for (size_t i = 0; i < BUFFER_SIZE; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (int b = 0; b < 8; b++)
            buffer[i + (size_t)b] = (unsigned char)(x >> (8 * b));
    }

    wp_pool *pool;
    wp_config config = { .name = "crc", .result_capacity = CHUNKS };
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "batch_results: wp_pool_create: %s\n", wp_status_str(status));
        free(buffer);
        return 1;
    }
    wp_stats s;
    wp_pool_stats(pool, &s);
    printf("workerpool.h %s batch demo: CRC-32 of a %zu MiB buffer in %d chunks of %d KiB\n",
           WORKERPOOL_VERSION, BUFFER_SIZE >> 20, CHUNKS, CHUNK_SIZE / 1024);
    printf("%d workers, one wp_submit_batch call, results matched by id\n\n", s.workers);

    /* The batch: job i checksums chunk i and carries id FIRST_ID + i. */
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = (chunk){ .data = buffer + (size_t)i * CHUNK_SIZE, .size = CHUNK_SIZE };
        jobs[i] = (wp_job){ .fn = checksum_job, .arg = &chunks[i], .id = FIRST_ID + (uint64_t)i };
    }
    int64_t start = now_ns();
    size_t accepted = wp_submit_batch(pool, jobs, CHUNKS, statuses);
    int64_t submitted_at = now_ns();
    for (int i = 0; i < CHUNKS; i++) {
        if (statuses[i] != WP_OK) {
            fprintf(stderr, "batch_results: job %llu refused: %s\n",
                    (unsigned long long)jobs[i].id, wp_status_str(statuses[i]));
            failures++;
        }
    }
    printf("wp_submit_batch: %zu of %d accepted in %.1f us\n", accepted, CHUNKS,
           (double)(submitted_at - start) / 1e3);

    /* Collect: one result per accepted job, in completion order. */
    size_t received = 0, out_of_order = 0, per_worker_helper = 0;
    uint64_t last_id = 0;
    int max_worker = -1;
    static size_t per_worker[WP_MAX_WORKERS];
    while (received < accepted) {
        wp_result r;
        status = wp_result_recv(pool, &r, RESULT_WAIT);
        if (status != WP_OK) {
            fprintf(stderr, "batch_results: wp_result_recv after %zu results: %s\n",
                    received, wp_status_str(status));
            failures++;
            break;
        }
        received++;
        if (r.id < FIRST_ID || r.id >= FIRST_ID + CHUNKS) {
            fprintf(stderr, "batch_results: result with unknown id %llu\n",
                    (unsigned long long)r.id);
            failures++;
            continue;
        }
        size_t i = (size_t)(r.id - FIRST_ID);
        if (++seen[i] > 1) {
            fprintf(stderr, "batch_results: id %llu came back %d times\n",
                    (unsigned long long)r.id, seen[i]);
            failures++;
        }
        if (r.arg != &chunks[i] || r.value != &chunks[i] || r.status != WP_OK) {
            fprintf(stderr, "batch_results: id %llu: arg %p, value %p (want %p), %s\n",
                    (unsigned long long)r.id, r.arg, r.value, (void *)&chunks[i],
                    wp_status_str(r.status));
            failures++;
        }
        if (received > 1 && r.id < last_id)
            out_of_order++;
        last_id = r.id;
        queued[i] = r.queued_ns;
        ran[i] = r.run_ns;
        if (r.worker >= 0 && r.worker < WP_MAX_WORKERS) {
            per_worker[r.worker]++;
            if (r.worker > max_worker)
                max_worker = r.worker;
        } else {
            per_worker_helper++;
        }
        if (received <= SHOW)
            printf("  result %3zu: id %llu -> chunk %3zu (offset %8zu) crc32 %08lx, worker %d, "
                   "queued %.2f ms, ran %.2f ms\n",
                   received, (unsigned long long)r.id, i, i * (size_t)CHUNK_SIZE,
                   (unsigned long)chunks[i].crc, r.worker, (double)r.queued_ns / 1e6,
                   (double)r.run_ns / 1e6);
        else if (received == SHOW + 1)
            printf("  ...\n");
    }
    int64_t pool_ns = now_ns() - start;

    wp_status closed = wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    if (closed != WP_OK) {
        fprintf(stderr, "batch_results: wp_pool_close: %s\n", wp_status_str(closed));
        failures++;
    }
    wp_pool_stats(pool, &s);
    wp_pool_destroy(pool);

    /* The same checksums on this thread alone. */
    int64_t serial_start = now_ns();
    size_t mismatches = 0;
    uint32_t digest = 0, serial_digest = 0;   /* CRC-32 over the chunk CRCs, by id */
    static uint32_t serial_crc[CHUNKS];
    for (int i = 0; i < CHUNKS; i++)
        serial_crc[i] = crc32_of(chunks[i].data, chunks[i].size);
    int64_t serial_ns = now_ns() - serial_start;
    for (int i = 0; i < CHUNKS; i++) {
        if (seen[i] != 1) {
            fprintf(stderr, "batch_results: id %llu came back %d times\n",
                    (unsigned long long)(FIRST_ID + (uint64_t)i), seen[i]);
            failures++;
        } else if (chunks[i].crc != serial_crc[i]) {
            mismatches++;
        }
    }
    unsigned char crc_bytes[CHUNKS * 4], serial_bytes[CHUNKS * 4];
    for (int i = 0; i < CHUNKS; i++) {
        for (int b = 0; b < 4; b++) {
            crc_bytes[i * 4 + b] = (unsigned char)(chunks[i].crc >> (8 * b));
            serial_bytes[i * 4 + b] = (unsigned char)(serial_crc[i] >> (8 * b));
        }
    }
    digest = crc32_of(crc_bytes, sizeof crc_bytes);
    serial_digest = crc32_of(serial_bytes, sizeof serial_bytes);
    if (mismatches) {
        fprintf(stderr, "batch_results: %zu chunk checksums differ from the one-thread run\n",
                mismatches);
        failures++;
    }

    qsort(queued, CHUNKS, sizeof queued[0], cmp_i64);
    qsort(ran, CHUNKS, sizeof ran[0], cmp_i64);
    printf("\n%zu results received, %zu of them after a higher id (completion order is not\n"
           "submission order: the id is what ties a result to its job)\n",
           received, out_of_order);
    printf("jobs per worker:");
    for (int w = 0; w <= max_worker; w++)
        printf(" #%d %zu", w, per_worker[w]);
    if (per_worker_helper)
        printf(" other threads %zu", per_worker_helper);
    printf("\nqueued: median %.2f ms, max %.2f ms; ran: median %.2f ms, max %.2f ms\n",
           (double)queued[CHUNKS / 2] / 1e6, (double)queued[CHUNKS - 1] / 1e6,
           (double)ran[CHUNKS / 2] / 1e6, (double)ran[CHUNKS - 1] / 1e6);
    printf("pool:       %6.1f ms (%.0f MiB/s), batch to last result\n", (double)pool_ns / 1e6,
           mib_per_sec(BUFFER_SIZE, pool_ns));
    printf("one thread: %6.1f ms (%.0f MiB/s), speed-up %.1fx\n", (double)serial_ns / 1e6,
           mib_per_sec(BUFFER_SIZE, serial_ns),
           pool_ns > 0 ? (double)serial_ns / (double)pool_ns : 0.0);
    printf("digest of the %d chunk CRCs: pool %08lx, one thread %08lx\n", CHUNKS,
           (unsigned long)digest, (unsigned long)serial_digest);
    printf("stats: submitted %llu, completed %llu, failed %llu, canceled %llu\n",
           (unsigned long long)s.submitted, (unsigned long long)s.completed,
           (unsigned long long)s.failed, (unsigned long long)s.canceled);
    if (s.submitted != accepted || s.completed != accepted || s.results_pending != 0) {
        fprintf(stderr, "batch_results: the pool's counts do not match the batch\n");
        failures++;
    }
    free(buffer);

    if (failures) {
        fprintf(stderr, "batch_results: %d check(s) failed\n", failures);
        return 1;
    }
    printf("all %d ids came back exactly once, every checksum matches\n", CHUNKS);
    return 0;
}
