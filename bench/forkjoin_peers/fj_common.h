/* fj_common.h - what every contender of the fork-join comparison shares:
   the workloads' kernels (the same code for workerpool.h, OpenMP and oneTBB,
   compiled as C or as C++), their sizes, the timing loop and the RESULT
   lines bench/forkjoin_peers/run.py reads. A contender supplies an fj_ops
   (how it runs a loop in chunks, a fork-join fib and, optionally, a frame)
   and calls fj_main.

     fj-<contender> WORKLOAD THREADS REPS SIZE
       WORKLOAD  for | saxpy | fib | frame
       THREADS   threads that take part, the calling thread included
       REPS      timed runs per variant (after one untimed warm-up)
       SIZE      full | smoke (tiny sizes, no warm-up)

   Every loop is cut into chunks of exactly `grain` items (the last one
   shorter) in every contender, so they differ only in how they hand the
   chunks out. The checks (the trivial loop's count, fib's value, the
   frame's checksum) make a wrong answer a failure, not a fast time. */
#ifndef FJ_COMMON_H
#define FJ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __cplusplus
#  include <atomic>
typedef std::atomic<long> fj_atomic_long;
#  define FJ_ADD(a, v) (a).fetch_add((v), std::memory_order_relaxed)
#  define FJ_LOAD(a) (a).load(std::memory_order_relaxed)
#  define FJ_STORE(a, v) (a).store((v), std::memory_order_relaxed)
#else
#  include <stdatomic.h>
typedef atomic_long fj_atomic_long;
#  define FJ_ADD(a, v) atomic_fetch_add_explicit(&(a), (v), memory_order_relaxed)
#  define FJ_LOAD(a) atomic_load_explicit(&(a), memory_order_relaxed)
#  define FJ_STORE(a, v) atomic_store_explicit(&(a), (v), memory_order_relaxed)
#endif

/* --- sizes ------------------------------------------------------------------ */

#define FJ_FOR_N        1000000u
#define FJ_SAXPY_N      (16u * 1024u * 1024u)
#define FJ_FIB_N        32
#define FJ_FIB_CUTOFF   20           /* serial below this */
#define FJ_ENTITIES     10000u
#define FJ_FRAMES       240          /* timed frames per process */
#define FJ_FRAME_WARMUP 20
#define FJ_CHUNKS       256u         /* grain = n / FJ_CHUNKS for the loops */
#define FJ_SMOKE_DIV    100u         /* smoke sizes: n / FJ_SMOKE_DIV */

typedef void (*fj_chunk_fn)(size_t begin, size_t end);

/* --- the kernels -------------------------------------------------------------- */

/* a: one relaxed add per item, into a counter of the chunk's own; the
   chunk's total goes to the shared counter once. */
static fj_atomic_long fj_count;

static void fj_trivial(size_t b, size_t e)
{
    fj_atomic_long local;
    FJ_STORE(local, 0);
    for (size_t i = b; i < e; i++)
        FJ_ADD(local, 1);
    FJ_ADD(fj_count, FJ_LOAD(local));
}

/* b: y = a x + y */
static float *fj_x, *fj_y;

static void fj_saxpy(size_t b, size_t e)
{
    const float a = 2.5f;
    for (size_t i = b; i < e; i++)
        fj_y[i] = a * fj_x[i] + fj_y[i];
}

/* c: the serial part of fib */
static long fj_fib_serial(int n)
{
    return n < 2 ? n : fj_fib_serial(n - 1) + fj_fib_serial(n - 2);
}

/* d: a frame of three dependent stages. Animation reads the physics result
   of the next entity and render prep the animation of the previous one, so
   a stage cannot start before the one before it has ended everywhere. Each
   stage is a few hundred ns of float work per entity (dependent chains the
   compiler cannot fold or vectorise away), and a pure function of the
   previous stage: the checksum is the same however the chunks are spread. */
typedef struct fj_entity {
    float px, py, vx, vy;   /* physics */
    float pose[4];          /* animation */
    float draw[4];          /* render prep */
} fj_entity;

static fj_entity *fj_ents;
static size_t fj_nents;
#define FJ_STEPS 72

static void fj_physics(size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        fj_entity *p = &fj_ents[i];
        float x = p->px, y = p->py, vx = p->vx, vy = p->vy;
        for (int s = 0; s < FJ_STEPS; s++) {
            vx += (0.001f * y - 0.01f * vx) * 0.016f;
            vy += (-9.8f - 0.001f * x - 0.01f * vy) * 0.016f;
            x += vx * 0.016f;
            y += vy * 0.016f;
            if (y < 0.0f) { y = -y; vy = -0.8f * vy; }
        }
        p->px = x, p->py = y, p->vx = vx, p->vy = vy;
    }
}

static void fj_animation(size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        const fj_entity *q = &fj_ents[(i + 1) % fj_nents];
        float t = q->vx * 0.01f + q->vy * 0.02f, a = 1.0f, c = 0.0f;
        for (int s = 0; s < FJ_STEPS; s++) {
            float a2 = a * 0.99f - c * t * 0.01f;
            c = c * 0.99f + a * t * 0.01f;
            a = a2;
        }
        fj_ents[i].pose[0] = a, fj_ents[i].pose[1] = c;
        fj_ents[i].pose[2] = a * q->px, fj_ents[i].pose[3] = c * q->py;
    }
}

static void fj_render(size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        const fj_entity *q = &fj_ents[(i + fj_nents - 1) % fj_nents];
        float m[4] = { q->pose[0], q->pose[1], q->pose[2], q->pose[3] }, w = 1.0f;
        for (int s = 0; s < FJ_STEPS / 2; s++) {
            float m0 = m[0] * 0.5f + m[1] * 0.25f + w;
            float m1 = m[1] * 0.5f - m[0] * 0.25f;
            w = w * 0.9f + m0 * 0.001f;
            m[0] = m0, m[1] = m1;
            m[2] = m[2] * 0.75f + m1, m[3] = m[3] * 0.75f - m0;
        }
        memcpy(fj_ents[i].draw, m, sizeof m);
    }
}

static void fj_frame_init(void)
{
    for (size_t i = 0; i < fj_nents; i++) {
        fj_entity z;
        memset(&z, 0, sizeof z);
        z.px = (float)(i % 100), z.py = (float)(i % 37) + 10.0f;
        z.vx = (float)(i % 7) - 3.0f, z.vy = 0.0f;
        fj_ents[i] = z;
    }
}

static double fj_frame_checksum(void)
{
    double s = 0.0;
    for (size_t i = 0; i < fj_nents; i++)
        s += (double)fj_ents[i].draw[0] + fj_ents[i].draw[1] + fj_ents[i].draw[2] +
             fj_ents[i].draw[3] + fj_ents[i].px;
    return s;
}

/* --- the contender ------------------------------------------------------------ */

typedef struct fj_ops {
    const char *name;
    int variants;                 /* ways to run a loop: 1 or 2 */
    const char *variant[2];       /* their names ("dynamic", "simple", ...) */
    void (*setup)(int threads);
    void (*teardown)(void);
    /* runs fn over [0, n) in chunks of `grain` items, variant v */
    void (*loop)(int v, size_t n, size_t grain, fj_chunk_fn fn);
    long (*fib)(int n);
    /* one frame: the three stages, each in chunks of `grain`; NULL = three
       loop() calls of variant 0 */
    void (*frame)(size_t grain);
    /* the grain variant v uses for a loop of n items asked to use `grain`
       (only to print it; NULL = `grain`) */
    size_t (*grain_of)(int v, size_t n, size_t grain);
} fj_ops;

static int64_t fj_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fj_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* the q-th quantile of t[0..n) (sorts it), nearest rank */
static double fj_quantile_us(int64_t *t, size_t n, double q)
{
    qsort(t, n, sizeof t[0], fj_cmp_i64);
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)t[k - 1] / 1000.0;
}

static int fj_usage(const char *me)
{
    fprintf(stderr, "usage: %s for|saxpy|fib|frame THREADS REPS full|smoke\n", me);
    return 2;
}

/* Prints one RESULT line per variant:
     RESULT <contender> <variant> <workload> threads=T grain=G us=<median> ok=1
   (the frame: p50= p99= mean= in us, and sum=<checksum>). Exits 1 on a
   wrong answer. */
static int fj_main(int argc, char **argv, const fj_ops *ops)
{
    if (argc != 5)
        return fj_usage(argv[0]);
    const char *w = argv[1];
    int threads = atoi(argv[2]), reps = atoi(argv[3]);
    int smoke = strcmp(argv[4], "smoke") == 0;
    if (threads < 1 || reps < 1 || reps > 1000 || (!smoke && strcmp(argv[4], "full") != 0))
        return fj_usage(argv[0]);
    size_t div = smoke ? FJ_SMOKE_DIV : 1;
    ops->setup(threads);
    int bad = 0;

    if (strcmp(w, "for") == 0 || strcmp(w, "saxpy") == 0) {
        int is_for = w[0] == 'f';
        size_t n = (is_for ? FJ_FOR_N : FJ_SAXPY_N) / div;
        size_t grain = n / FJ_CHUNKS;
        fj_chunk_fn fn = is_for ? fj_trivial : fj_saxpy;
        if (!is_for) {
            fj_x = (float *)malloc(n * sizeof *fj_x);
            fj_y = (float *)malloc(n * sizeof *fj_y);
            if (!fj_x || !fj_y)
                return 1;
            for (size_t i = 0; i < n; i++)
                fj_x[i] = (float)(i % 1000), fj_y[i] = 1.0f;
        }
        int64_t *t = (int64_t *)malloc(sizeof(int64_t) * 2 * (size_t)reps);
        if (!t)
            return 1;
        for (int r = smoke ? 0 : -1; r < reps; r++) {
            for (int k = 0; k < ops->variants; k++) {
                int v = (k + (r < 0 ? 0 : r)) % ops->variants; /* alternate who goes first */
                FJ_STORE(fj_count, 0);
                int64_t t0 = fj_now();
                ops->loop(v, n, grain, fn);
                int64_t dt = fj_now() - t0;
                if (is_for && FJ_LOAD(fj_count) != (long)n) {
                    fprintf(stderr, "%s %s: counted %ld of %zu\n", ops->name, ops->variant[v],
                            (long)FJ_LOAD(fj_count), n);
                    bad = 1;
                }
                if (r >= 0)
                    t[v * reps + r] = dt;
            }
        }
        for (int v = 0; v < ops->variants; v++)
            printf("RESULT %s %s %s threads=%d grain=%zu us=%.1f ok=%d\n", ops->name,
                   ops->variant[v], w, threads,
                   ops->grain_of ? ops->grain_of(v, n, grain) : grain,
                   fj_quantile_us(t + v * reps, (size_t)reps, 0.5), !bad);
        free(t);
        free(fj_x);
        free(fj_y);
    } else if (strcmp(w, "fib") == 0) {
        int n = smoke ? FJ_FIB_N - 8 : FJ_FIB_N;
        long want = fj_fib_serial(n);
        int64_t *t = (int64_t *)malloc(sizeof(int64_t) * (size_t)reps);
        if (!t)
            return 1;
        for (int r = smoke ? 0 : -1; r < reps; r++) {
            int64_t t0 = fj_now();
            long got = ops->fib(n);
            int64_t dt = fj_now() - t0;
            if (got != want) {
                fprintf(stderr, "%s: fib(%d) = %ld, not %ld\n", ops->name, n, got, want);
                bad = 1;
            }
            if (r >= 0)
                t[r] = dt;
        }
        printf("RESULT %s - fib threads=%d n=%d cutoff=%d us=%.1f ok=%d\n", ops->name,
               threads, n, FJ_FIB_CUTOFF,
               fj_quantile_us(t, (size_t)reps, 0.5), !bad);
        free(t);
    } else if (strcmp(w, "frame") == 0) {
        fj_nents = smoke ? FJ_ENTITIES / 10 : FJ_ENTITIES;
        fj_ents = (fj_entity *)malloc(fj_nents * sizeof *fj_ents);
        int frames = smoke ? 5 : FJ_FRAMES, warm = smoke ? 0 : FJ_FRAME_WARMUP;
        int64_t *t = (int64_t *)malloc(sizeof(int64_t) * (size_t)frames);
        if (!fj_ents || !t)
            return 1;
        fj_frame_init();
        /* the grain every contender uses: about 4 chunks per thread, as
           wp_parallel_for picks for grain 0 */
        size_t grain = fj_nents / (4 * (size_t)threads);
        if (grain == 0)
            grain = 1;
        for (int f = -warm; f < frames; f++) {
            int64_t t0 = fj_now();
            if (ops->frame) {
                ops->frame(grain);
            } else {
                ops->loop(0, fj_nents, grain, fj_physics);
                ops->loop(0, fj_nents, grain, fj_animation);
                ops->loop(0, fj_nents, grain, fj_render);
            }
            int64_t dt = fj_now() - t0;
            if (f >= 0)
                t[f] = dt;
        }
        double mean = 0;
        for (int f = 0; f < frames; f++)
            mean += (double)t[f] / 1000.0 / frames;
        double p50 = fj_quantile_us(t, (size_t)frames, 0.5);
        double p99 = fj_quantile_us(t, (size_t)frames, 0.99);
        printf("RESULT %s %s frame threads=%d grain=%zu frames=%d p50=%.1f p99=%.1f "
               "mean=%.1f sum=%.6e ok=1\n",
               ops->name, ops->variant[0], threads, grain, frames,
               p50, p99, mean, fj_frame_checksum());
        free(t);
        free(fj_ents);
    } else {
        return fj_usage(argv[0]);
    }
    ops->teardown();
    return bad;
}

#endif
