/* merge_sort.c - a parallel merge sort on wp_parallel_for, checked against
   qsort. `make examples` builds it (build/<cc>/examples/merge_sort);
   `merge_sort [N]` sorts N random ints (default 4,000,000).

   1. Sort: the array is cut into runs, about 4 per thread, and one
      wp_parallel_for sorts them (qsort each), the calling thread working
      on it with the workers.
   2. Merge: level by level, each pair of neighbouring runs is merged into
      one run of twice the width, in the other buffer. One wp_parallel_for
      per level, over pieces of the merged output: while the pairs are
      fewer than the threads (the last levels), each pair's output is cut
      into pieces too, each piece finding where it starts in both runs by a
      binary search (the "merge path"), so the last merge is not left to one
      thread.
   The result must equal what qsort made of a copy of the input: sorted,
   and a permutation of the input. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct sort_job {
    int *src, *dst;     /* this level merges runs of src into dst */
    size_t n;
    size_t width;       /* items per run at this level (per sorted run in step 1) */
    size_t split;       /* pieces per pair of runs at this level */
} sort_job;

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Step 1: items [b, e) are run indexes; each run is qsorted in place. */
static int sort_runs(void *arg, size_t b, size_t e, wp_ctx *ctx)
{
    (void)ctx;
    sort_job *s = arg;
    for (size_t r = b; r < e; r++) {
        size_t lo = r * s->width, hi = min_size(lo + s->width, s->n);
        qsort(s->src + lo, hi - lo, sizeof(int), cmp_int);
    }
    return 0;
}

/* How many of the first i items of the merge of a[0..m) and b[0..n) come
   from a, when equal items are taken from a first: the smallest j with
   b[i - j - 1] < a[j] (or no such pair to compare). */
static size_t corank(size_t i, const int *a, size_t m, const int *b, size_t n)
{
    size_t lo = i > n ? i - n : 0, hi = i < m ? i : m;
    while (lo < hi) {
        size_t j = lo + (hi - lo) / 2, k = i - j;
        if (k == 0 || j == m || b[k - 1] < a[j])
            hi = j;
        else
            lo = j + 1;
    }
    return lo;
}

/* Step 2: item p * split + q is piece q of the merge of pair p. */
static int merge_pieces(void *arg, size_t b, size_t e, wp_ctx *ctx)
{
    (void)ctx;
    sort_job *s = arg;
    for (size_t item = b; item < e; item++) {
        size_t pair = item / s->split, q = item % s->split;
        size_t lo = pair * 2 * s->width;
        if (lo >= s->n)
            continue;
        size_t mid = min_size(lo + s->width, s->n), hi = min_size(lo + 2 * s->width, s->n);
        const int *a = s->src + lo, *bb = s->src + mid;
        size_t m = mid - lo, n = hi - mid, len = hi - lo;
        size_t i0 = len * q / s->split, i1 = len * (q + 1) / s->split;
        size_t j = corank(i0, a, m, bb, n), j1 = corank(i1, a, m, bb, n);
        size_t k = i0 - j, k1 = i1 - j1;
        int *out = s->dst + lo + i0;
        while (j < j1 && k < k1)
            *out++ = a[j] <= bb[k] ? a[j++] : bb[k++];
        while (j < j1)
            *out++ = a[j++];
        while (k < k1)
            *out++ = bb[k++];
    }
    return 0;
}

/* Sorts data[0..n) using tmp[0..n) as the other buffer; returns the buffer
   that holds the result (data or tmp). */
static int *parallel_sort(wp_pool *pool, int *data, int *tmp, size_t n, size_t threads)
{
    size_t runs = 4 * threads;
    sort_job s = { data, tmp, n, (n + runs - 1) / runs, 1 };
    if (s.width == 0)
        return data;
    if (wp_parallel_for(pool, sort_runs, &s, (n + s.width - 1) / s.width, 1) != WP_OK)
        return NULL;
    for (; s.width < n; s.width *= 2) {
        size_t pairs = (n + 2 * s.width - 1) / (2 * s.width);
        s.split = pairs >= runs ? 1 : (runs + pairs - 1) / pairs;
        if (wp_parallel_for(pool, merge_pieces, &s, pairs * s.split, 1) != WP_OK)
            return NULL;
        int *t = s.src;
        s.src = s.dst;
        s.dst = t;
    }
    return s.src;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 4000000;
    int *input = malloc(n * sizeof *input + 1), *data = malloc(n * sizeof *data + 1);
    int *tmp = malloc(n * sizeof *tmp + 1), *ref = malloc(n * sizeof *ref + 1);
    if (!input || !data || !tmp || !ref) {
        fprintf(stderr, "merge_sort: out of memory\n");
        return 1;
    }
    uint64_t x = 88172645463325252u; /* xorshift64: the same input every run */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        input[i] = (int)(x % 1000003) - 500000; /* with duplicates */
    }
    memcpy(data, input, n * sizeof *data);
    memcpy(ref, input, n * sizeof *ref);

    wp_pool *pool;
    if (wp_pool_create(NULL, &pool) != WP_OK) {
        fprintf(stderr, "merge_sort: cannot create the pool\n");
        return 1;
    }
    size_t threads = (size_t)wp_pool_workers(pool) + 1; /* the caller works too */

    double t0 = now_ms();
    int *sorted = parallel_sort(pool, data, tmp, n, threads);
    double t1 = now_ms();
    qsort(ref, n, sizeof *ref, cmp_int);
    double t2 = now_ms();
    wp_pool_destroy(pool);

    if (!sorted) {
        fprintf(stderr, "merge_sort: wp_parallel_for failed\n");
        return 1;
    }
    /* ref is sorted and a permutation of the input: equal to it means both */
    int ok = memcmp(sorted, ref, n * sizeof *ref) == 0;
    printf("sorted %zu ints: parallel merge sort %.1f ms (%zu threads), qsort %.1f ms: "
           "%.2fx\n", n, t1 - t0, threads, t2 - t1, (t2 - t1) / (t1 - t0));
    if (ok)
        printf("output is sorted and a permutation of the input\n");
    else
        printf("output differs from qsort's\n");
    free(input), free(data), free(tmp), free(ref);
    return ok ? 0 : 1;
}
