/* game_frame.c - a game's frame on the pool: three dependent stages over
   every entity, chained with continuations, the main thread helping within
   its budget, and a last step that must run on the main thread.
   `make examples` builds it (build/<cc>/examples/game_frame); it runs about
   two seconds.

   Each frame (120 of them, at 60 frames a second):
     physics    a range job over 16384 particles (gravity, swirl, bounces);
     animation  when physics completes, a range job that turns velocities
                into a sprite frame and a facing;
     render     when animation completes, a range job that packs the
                sprites into a draw list;
     present    when render completes, a pinned job: only the main thread
                runs it (wp_pool_help_pinned), as a graphics API would ask.
   The main thread arms the whole chain at the start of the frame, helps
   with wp_pool_help for its budget, then waits for the render group
   (helping as it waits) and presents. Frame times p50 / p99 at the end,
   and the pool's result is checked bit for bit against one thread. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ENTITIES = 16384, FRAMES = 120, FPS = 60, SUBSTEPS = 8 };
#define FRAME_NS (WP_SEC(1) / FPS)
#define HELP_NS  WP_MS(4)          /* the main thread's help budget per frame */
#define DT       (1.0 / FPS / SUBSTEPS)

typedef struct entity { double x, y, vx, vy; } entity;
typedef struct sprite { int frame, facing; float x, y; } sprite;

typedef struct world {
    entity e[ENTITIES];
    int anim[ENTITIES], facing[ENTITIES];
    sprite draw[ENTITIES];
    int frame;
} world;

static world pooled, reference;

static int physics(void *arg, size_t b, size_t end, wp_ctx *ctx) {
    (void)ctx;
    world *w = arg;
    for (size_t i = b; i < end; i++) {
        entity p = w->e[i];
        for (int s = 0; s < SUBSTEPS; s++) {
            double t = (w->frame * SUBSTEPS + s) * DT;
            p.vx += (40.0 * sin(p.y * 0.03 + t) - 0.2 * p.vx) * DT;
            p.vy += (-98.0 + 30.0 * cos(p.x * 0.02 - 0.5 * t) - 0.2 * p.vy) * DT;
            p.x += p.vx * DT;
            p.y += p.vy * DT;
            if (p.y < 0.0)   { p.y = -p.y;           p.vy = -0.85 * p.vy; }
            if (p.y > 300.0) { p.y = 600.0 - p.y;    p.vy = -p.vy; }
            if (p.x < 0.0)   { p.x = -p.x;           p.vx = -p.vx; }
            if (p.x > 400.0) { p.x = 800.0 - p.x;    p.vx = -p.vx; }
        }
        w->e[i] = p;
    }
    return 0;
}

static int animation(void *arg, size_t b, size_t end, wp_ctx *ctx) {
    (void)ctx;
    world *w = arg;
    for (size_t i = b; i < end; i++) {
        double speed = hypot(w->e[i].vx, w->e[i].vy);
        w->anim[i] = (w->anim[i] + 1 + (int)(speed / 20.0)) % 8;
        w->facing[i] = w->e[i].vx < 0.0;
    }
    return 0;
}

static int render(void *arg, size_t b, size_t end, wp_ctx *ctx) {
    (void)ctx;
    world *w = arg;
    for (size_t i = b; i < end; i++)
        w->draw[i] = (sprite){ w->anim[i], w->facing[i], (float)w->e[i].x, (float)w->e[i].y };
    return 0;
}

/* One frame's groups and ranges: caller-owned, no allocation. */
typedef struct frame {
    wp_pool *pool;
    wp_group physics, animation, render, present;
    wp_range ranges[3];
    double checksum;   /* written by the pinned job, on the main thread */
} frame;

/* Continuations: each starts the next stage's range inside its own group
   (the job is already a member, so the group stays open until the range
   is in). */
static int start_animation(void *arg, wp_ctx *ctx) {
    (void)ctx;
    frame *f = arg;
    return wp_submit_range(f->pool, &f->ranges[1], animation, &pooled, ENTITIES, 0,
                           &(wp_job){ .group = &f->animation });
}

static int start_render(void *arg, wp_ctx *ctx) {
    (void)ctx;
    frame *f = arg;
    return wp_submit_range(f->pool, &f->ranges[2], render, &pooled, ENTITIES, 0,
                           &(wp_job){ .group = &f->render });
}

static int present(void *arg, wp_ctx *ctx) {
    (void)ctx;
    frame *f = arg;
    double sum = 0.0;
    for (int i = 0; i < ENTITIES; i++)
        sum += pooled.draw[i].x + pooled.draw[i].frame;
    f->checksum = sum;
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

int main(void) {
    for (int i = 0; i < ENTITIES; i++)
        pooled.e[i] = (entity){ (i * 37 % 400) + 0.5, 150.0 + (i * 11 % 150), (i % 13) - 6.0, 0.0 };
    reference = pooled;

    wp_pool *pool;
    wp_status s = wp_pool_create(&(wp_config){ .name = "frame", .pinned_capacity = 4 }, &pool);
    if (s != WP_OK) {
        fprintf(stderr, "game_frame: wp_pool_create: %s\n", wp_status_str(s));
        return 1;
    }
    static int64_t frame_ns[FRAMES];
    int failures = 0;
    int64_t start = now_ns();
    for (int n = 0; n < FRAMES; n++) {
        int64_t due = start + n * FRAME_NS;
        while (now_ns() < due)
            nanosleep(&(struct timespec){ 0, 200000 }, NULL);
        int64_t t0 = now_ns();
        static frame f;
        memset(&f, 0, sizeof f);
        f.pool = pool;
        pooled.frame = n;
        /* Physics first, so that its group has a member before it is armed
           (an empty group is complete); the rest of the chain is held open
           by the arming itself. */
        s = wp_submit_range(pool, &f.ranges[0], physics, &pooled, ENTITIES, 0,
                            &(wp_job){ .group = &f.physics });
        if (s == WP_OK)
            s = wp_group_then(pool, &f.physics,
                              &(wp_job){ .fn = start_animation, .arg = &f, .group = &f.animation });
        if (s == WP_OK)
            s = wp_group_then(pool, &f.animation,
                              &(wp_job){ .fn = start_render, .arg = &f, .group = &f.render });
        if (s == WP_OK)
            s = wp_group_then(pool, &f.render, &(wp_job){ .fn = present, .arg = &f,
                                                          .group = &f.present, .pinned = true });
        wp_pool_help(pool, HELP_NS); /* the main thread's share, within its budget */
        if (s == WP_OK)
            s = wp_group_wait(pool, &f.render, WP_SEC(10));
        while (s == WP_OK && wp_group_wait(pool, &f.present, WP_NOWAIT) != WP_OK)
            wp_pool_help_pinned(pool, WP_FOREVER);
        wp_group_counts c;
        wp_group_query(&f.present, &c);
        if (s != WP_OK || c.completed != 1) {
            fprintf(stderr, "game_frame: frame %d: %s\n", n, wp_status_str(s));
            failures++;
            break;
        }
        frame_ns[n] = now_ns() - t0;

        reference.frame = n; /* the same frame on one thread */
        physics(&reference, 0, ENTITIES, NULL);
        animation(&reference, 0, ENTITIES, NULL);
        render(&reference, 0, ENTITIES, NULL);
        if (n % 30 == 29)
            printf("frame %3d: %.2f ms, checksum %.1f\n", n + 1, (double)frame_ns[n] / 1e6, f.checksum);
    }
    wp_pool_destroy(pool);

    qsort(frame_ns, FRAMES, sizeof frame_ns[0], cmp_i64);
    printf("frame time: p50 %.2f ms, p99 %.2f ms (budget %.1f ms)\n", (double)frame_ns[FRAMES / 2] / 1e6,
           (double)frame_ns[FRAMES * 99 / 100] / 1e6, (double)FRAME_NS / 1e6);
    if (memcmp(pooled.draw, reference.draw, sizeof pooled.draw) != 0
        || memcmp(pooled.e, reference.e, sizeof pooled.e) != 0) {
        fprintf(stderr, "game_frame: the pool's frames differ from one thread's\n");
        failures++;
    }
    if (failures)
        return 1;
    printf("simulation matches the single-threaded run bit for bit\n");
    return 0;
}
