/* game_frame.c - a game's frame loop on the pool: each frame the entities are
   updated in parallel jobs while the main thread helps within its budget.
   `make examples` builds it (build/<cc>/examples/game_frame); it runs about
   two seconds.

   16384 particles fall, swirl and bounce in a box. Each frame (60 of them, at
   60 frames a second) the main thread submits one batch of 32 jobs, each
   updating 512 particles (8 physics sub-steps); then it runs jobs itself
   with wp_pool_help for at most its help budget (6 ms: the rest of its frame
   is its own work), and finally wp_pool_wait_idle waits for the jobs the
   workers still run (helping with any left in the queue). Then it "renders"
   (sums up the frame) and sleeps until the next frame is due.

   It prints a line every 10 frames and, at the end, the update time per frame
   (min / median / max), how many jobs the main thread ran against the
   workers, and a small ASCII picture of where the particles ended up. Then
   the same 60 frames run on the main thread alone.

   Exits 0 when every job ran exactly once per frame and the pool's result is
   bit for bit the one-thread result; 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    ENTITIES  = 16384,
    PER_JOB   = 512,
    JOBS      = ENTITIES / PER_JOB,
    FRAMES    = 60,
    FPS       = 60,
    SUBSTEPS  = 8,
    SHOW_EVERY = 10,
    MAP_W     = 64,
    MAP_H     = 12
};
#define FRAME_NS   (WP_SEC(1) / FPS)
#define HELP_NS    WP_MS(6)        /* the main thread's help budget per frame */
#define BOX_W      400.0
#define BOX_H      300.0
#define GRAVITY    98.0
#define DT         (1.0 / FPS / SUBSTEPS)

typedef struct entity {
    double x, y, vx, vy;
} entity;

/* One job's share of one frame. */
typedef struct slice {
    entity *entities;
    int first, count;
    int frame;                     /* set by the main thread before submitting */
    int runs;                      /* frames this slice has been updated */
} slice;

static entity world[ENTITIES];     /* updated by the pool */
static entity reference[ENTITIES]; /* updated by one thread, for comparison */
static slice slices[JOBS];
static atomic_uint_fast64_t ran_by_main, ran_by_workers;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

/* Sleeps until the monotonic clock reads t. Relative sleeps in a loop, which
   also covers signals and early wake-ups: MinGW's clock_nanosleep does not
   honour an absolute time on CLOCK_MONOTONIC. */
static void sleep_until(int64_t t) {
    for (int64_t left; (left = t - now_ns()) > 0;) {
        struct timespec ts = { (time_t)(left / WP_SEC(1)), (long)(left % WP_SEC(1)) };
        nanosleep(&ts, NULL);
    }
}

/* One frame of physics for entities [first, first + count): gravity, a swirl
   that depends on place and time, air drag, and bounces off the floor and
   walls. Each entity depends only on itself, so any split gives the same
   bits as one thread. */
static void update(entity *e, int first, int count, int frame) {
    for (int i = first; i < first + count; i++) {
        entity p = e[i];
        for (int s = 0; s < SUBSTEPS; s++) {
            double t = (frame * SUBSTEPS + s) * DT;
            double ax = 40.0 * sin(p.y * 0.03 + t) - 0.2 * p.vx;
            double ay = -GRAVITY + 30.0 * cos(p.x * 0.02 - 0.5 * t) - 0.2 * p.vy;
            p.vx += ax * DT;
            p.vy += ay * DT;
            p.x += p.vx * DT;
            p.y += p.vy * DT;
            if (p.y < 0.0)   { p.y = -p.y;             p.vy = -0.85 * p.vy; }
            if (p.y > BOX_H) { p.y = 2.0 * BOX_H - p.y; p.vy = -p.vy; }
            if (p.x < 0.0)   { p.x = -p.x;             p.vx = -p.vx; }
            if (p.x > BOX_W) { p.x = 2.0 * BOX_W - p.x; p.vx = -p.vx; }
        }
        e[i] = p;
    }
}

static int update_job(void *arg, wp_ctx *ctx) {
    slice *sl = arg;
    update(sl->entities, sl->first, sl->count, sl->frame);
    sl->runs++;
    if (wp_ctx_worker(ctx) < 0)
        atomic_fetch_add_explicit(&ran_by_main, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&ran_by_workers, 1, memory_order_relaxed);
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void init_world(entity *e) {
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (int i = 0; i < ENTITIES; i++) {
        double r[4];
        for (int k = 0; k < 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r[k] = (double)(x >> 11) / 9007199254740992.0;   /* [0, 1) */
        }
        e[i] = (entity){ .x = r[0] * BOX_W, .y = BOX_H * (0.5 + 0.5 * r[1]),
                         .vx = 60.0 * (r[2] - 0.5), .vy = 60.0 * (r[3] - 0.5) };
    }
}

/* The main thread's own work for a frame: the mean height and kinetic energy. */
static void summarize(const entity *e, double *mean_y, double *energy) {
    double y = 0.0, k = 0.0;
    for (int i = 0; i < ENTITIES; i++) {
        y += e[i].y;
        k += 0.5 * (e[i].vx * e[i].vx + e[i].vy * e[i].vy);
    }
    *mean_y = y / ENTITIES;
    *energy = k / ENTITIES;
}

static void draw(const entity *e) {
    static int count[MAP_H][MAP_W];
    int most = 1;
    for (int i = 0; i < ENTITIES; i++) {
        int cx = (int)(e[i].x / BOX_W * MAP_W), cy = (int)(e[i].y / BOX_H * MAP_H);
        cx = cx < 0 ? 0 : cx >= MAP_W ? MAP_W - 1 : cx;
        cy = cy < 0 ? 0 : cy >= MAP_H ? MAP_H - 1 : cy;
        if (++count[cy][cx] > most)
            most = count[cy][cx];
    }
    static const char shade[] = " .:-=+*#%@";
    printf("  +");
    for (int x = 0; x < MAP_W; x++)
        putchar('-');
    printf("+\n");
    for (int y = MAP_H - 1; y >= 0; y--) {
        printf("  |");
        for (int x = 0; x < MAP_W; x++) {
            int c = count[y][x];
            putchar(c == 0 ? ' ' : shade[1 + (c * 8 + most - 1) / most]);
        }
        printf("|\n");
    }
    printf("  +");
    for (int x = 0; x < MAP_W; x++)
        putchar('-');
    printf("+\n");
}

int main(void) {
    int failures = 0;
    init_world(world);
    memcpy(reference, world, sizeof world);

    wp_pool *pool;
    wp_status status = wp_pool_create(&(wp_config){ .name = "frame" }, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "game_frame: wp_pool_create: %s\n", wp_status_str(status));
        return 1;
    }
    wp_stats st;
    wp_pool_stats(pool, &st);
    printf("workerpool.h %s game frame demo: %d particles, %d jobs of %d per frame,\n"
           "%d frames at %d fps (%.1f ms each), %d workers + the main thread, which helps\n"
           "for at most %.0f ms a frame and then waits for the rest (wp_pool_wait_idle)\n\n",
           WORKERPOOL_VERSION, ENTITIES, JOBS, PER_JOB, FRAMES, FPS,
           (double)FRAME_NS / 1e6, st.workers, (double)HELP_NS / 1e6);

    for (int j = 0; j < JOBS; j++)
        slices[j] = (slice){ .entities = world, .first = j * PER_JOB, .count = PER_JOB };

    static int64_t update_ns[FRAMES];
    static wp_job jobs[JOBS];
    static wp_status statuses[JOBS];
    uint64_t helped_total = 0;
    int late_frames = 0;
    int64_t start = now_ns();
    for (int f = 0; f < FRAMES; f++) {
        int64_t frame_start = start + f * FRAME_NS;
        if (now_ns() < frame_start)
            sleep_until(frame_start);
        int64_t t0 = now_ns();
        uint64_t main_before = atomic_load(&ran_by_main);
        uint64_t workers_before = atomic_load(&ran_by_workers);

        for (int j = 0; j < JOBS; j++) {
            slices[j].frame = f;
            jobs[j] = (wp_job){ .fn = update_job, .arg = &slices[j],
                                .id = (uint64_t)f * JOBS + (uint64_t)j };
        }
        size_t accepted = wp_submit_batch(pool, jobs, JOBS, statuses);
        if (accepted != JOBS) {
            fprintf(stderr, "game_frame: frame %d: %zu of %d jobs accepted (first status %s)\n",
                    f, accepted, JOBS, wp_status_str(statuses[0]));
            failures++;
        }
        size_t helped = wp_pool_help(pool, HELP_NS);
        helped_total += helped;
        status = wp_pool_wait_idle(pool, WP_SEC(10));
        int64_t t1 = now_ns();
        update_ns[f] = t1 - t0;
        if (status != WP_OK) {
            fprintf(stderr, "game_frame: frame %d: wp_pool_wait_idle: %s\n", f,
                    wp_status_str(status));
            failures++;
            break;
        }
        for (int j = 0; j < JOBS; j++) {
            if (slices[j].runs != f + 1) {
                fprintf(stderr, "game_frame: frame %d: slice %d updated %d times in all\n",
                        f, j, slices[j].runs);
                failures++;
            }
        }
        double mean_y, energy;
        summarize(world, &mean_y, &energy);
        if (now_ns() - t0 > FRAME_NS)      /* update and summary overran a frame */
            late_frames++;
        if ((f + 1) % SHOW_EVERY == 0 || f == 0)
            printf("frame %2d: update %5.2f ms, jobs: main %2llu (help %2zu), workers %2llu;"
                   " mean height %5.1f, energy %6.1f\n",
                   f + 1, (double)update_ns[f] / 1e6,
                   (unsigned long long)(atomic_load(&ran_by_main) - main_before), helped,
                   (unsigned long long)(atomic_load(&ran_by_workers) - workers_before),
                   mean_y, energy);
    }
    int64_t pool_ns = now_ns() - start;
    wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    wp_pool_stats(pool, &st);
    wp_pool_destroy(pool);

    int64_t serial_start = now_ns();
    for (int f = 0; f < FRAMES; f++)
        update(reference, 0, ENTITIES, f);
    int64_t serial_ns = now_ns() - serial_start;

    int64_t sorted[FRAMES];
    memcpy(sorted, update_ns, sizeof sorted);
    qsort(sorted, FRAMES, sizeof sorted[0], cmp_i64);
    int64_t sum = 0;
    for (int f = 0; f < FRAMES; f++)
        sum += update_ns[f];
    uint64_t by_main = atomic_load(&ran_by_main), by_workers = atomic_load(&ran_by_workers);

    printf("\nparticles after %d frames:\n", FRAMES);
    draw(world);
    printf("\nupdate time per frame: min %.2f ms, median %.2f ms, max %.2f ms "
           "(frame budget %.1f ms; %d frame%s over it)\n",
           (double)sorted[0] / 1e6, (double)sorted[FRAMES / 2] / 1e6,
           (double)sorted[FRAMES - 1] / 1e6, (double)FRAME_NS / 1e6, late_frames,
           late_frames == 1 ? "" : "s");
    printf("jobs run: main thread %llu (%llu in wp_pool_help, %llu while waiting), "
           "workers %llu, of %d\n",
           (unsigned long long)by_main, (unsigned long long)helped_total,
           (unsigned long long)(by_main - helped_total), (unsigned long long)by_workers,
           FRAMES * JOBS);
    printf("%d frames took %.2f s; updating them on the main thread alone: %.1f ms "
           "(pool: %.1f ms, %.1fx)\n",
           FRAMES, (double)pool_ns / 1e9, (double)serial_ns / 1e6, (double)sum / 1e6,
           sum > 0 ? (double)serial_ns / (double)sum : 0.0);

    if (by_main + by_workers != (uint64_t)FRAMES * JOBS || st.completed != by_main + by_workers
            || st.submitted != st.completed) {
        fprintf(stderr, "game_frame: %llu + %llu jobs ran, the pool completed %llu of %llu, "
                "expected %d\n", (unsigned long long)by_main, (unsigned long long)by_workers,
                (unsigned long long)st.completed, (unsigned long long)st.submitted,
                FRAMES * JOBS);
        failures++;
    }
    if (helped_total > by_main) {
        fprintf(stderr, "game_frame: wp_pool_help took %llu jobs, but only %llu ran on the "
                "main thread\n", (unsigned long long)helped_total, (unsigned long long)by_main);
        failures++;
    }
    if (memcmp(world, reference, sizeof world) != 0) {
        int differ = 0;
        for (int i = 0; i < ENTITIES; i++)
            differ += memcmp(&world[i], &reference[i], sizeof world[i]) != 0;
        fprintf(stderr, "game_frame: %d of %d particles differ from the one-thread run\n",
                differ, ENTITIES);
        failures++;
    }
    if (failures) {
        fprintf(stderr, "game_frame: %d check(s) failed\n", failures);
        return 1;
    }
    printf("simulation matches the single-threaded run bit for bit\n");
    return 0;
}
