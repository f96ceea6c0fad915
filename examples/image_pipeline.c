/* image_pipeline.c - real CPU work on the pool: a Mandelbrot image rendered in
   tiles, written as a PPM file, and rendered again on one thread to measure
   the speed-up. Takes a few seconds.

       image_pipeline [OUT.ppm [WORKERS]]

   OUT.ppm defaults to mandelbrot.ppm (binary PPM, P6: any image viewer opens
   it); WORKERS defaults to one per online CPU. The image is cut into 64x64
   tiles, one job each. Tiles differ a lot in cost (a pixel inside the set
   runs every iteration, one far outside a handful), so many small tiles keep
   every worker busy until the end, where a few big slices would leave some
   idle. Each job writes its own pixels, so no two jobs share memory, and
   reports through the result channel, which the main thread reads until it
   has one result per tile.

   Exits 0 when both renders are identical, 1 when a submission or a job
   fails, the file cannot be written, or the two images differ. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    WIDTH    = 1600,
    HEIGHT   = 1200,
    TILE     = 64,
    MAX_ITER = 1000,
    TILES_X  = (WIDTH + TILE - 1) / TILE,
    TILES_Y  = (HEIGHT + TILE - 1) / TILE,
    TILES    = TILES_X * TILES_Y
};

/* The view, CENTER_X + i CENTER_Y and VIEW_W wide: the "seahorse valley" by
   the main cardioid, whose black interior on the right costs MAX_ITER
   iterations a pixel while the smooth gradient on the left costs a few. */
#define CENTER_X -0.745
#define CENTER_Y 0.11
#define VIEW_W   0.012
#define BAILOUT  256.0     /* |z|^2 beyond which a point has escaped; a large
                              radius makes the smooth colouring smoother */

typedef struct tile {
    int x0, y0, w, h;
    unsigned char *image;  /* the whole WIDTH x HEIGHT x 3 image */
} tile;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static unsigned char channel(double v) {
    v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    return (unsigned char)(v * 255.0 + 0.5);
}

/* Colours a point that escaped after `n` iterations with |z|^2 = `r2`: the
   fractional "normalised iteration count" removes the bands of a plain count,
   and a cosine palette turns it into a smooth gradient. Points in the set
   (they never escape) stay black. */
static void shade(int n, double r2, unsigned char *rgb) {
    if (n >= MAX_ITER) {
        rgb[0] = rgb[1] = rgb[2] = 0;
        return;
    }
    double mu = n + 1 - log2(0.5 * log(r2) / log(2.0));
    double t = 0.35 * sqrt(mu < 0.0 ? 0.0 : mu);
    const double two_pi = 6.283185307179586;
    rgb[0] = channel(0.5 + 0.5 * cos(two_pi * (t + 0.00)));
    rgb[1] = channel(0.5 + 0.5 * cos(two_pi * (t + 0.15)));
    rgb[2] = channel(0.5 + 0.5 * cos(two_pi * (t + 0.30)));
}

/* Renders one tile into the image. The pool runs it as a job; the one-thread
   render calls it directly, so both run the same code on the same input. */
static int render_tile(void *arg, wp_ctx *ctx) {
    (void)ctx;
    const tile *t = arg;
    const double scale = VIEW_W / WIDTH;
    const double left = CENTER_X - 0.5 * VIEW_W;
    const double top = CENTER_Y + 0.5 * scale * HEIGHT;
    for (int y = t->y0; y < t->y0 + t->h; y++) {
        double ci = top - (y + 0.5) * scale;
        unsigned char *row = t->image + ((size_t)y * WIDTH + (size_t)t->x0) * 3;
        for (int x = t->x0; x < t->x0 + t->w; x++, row += 3) {
            double cr = left + (x + 0.5) * scale;
            double zr = 0.0, zi = 0.0, zr2 = 0.0, zi2 = 0.0;
            int n = 0;
            while (n < MAX_ITER && zr2 + zi2 <= BAILOUT) {
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                n++;
            }
            shade(n, zr2 + zi2, row);
        }
    }
    return 0;
}

static void make_tiles(tile *tiles, unsigned char *image) {
    for (int i = 0; i < TILES; i++) {
        int x0 = (i % TILES_X) * TILE, y0 = (i / TILES_X) * TILE;
        tiles[i] = (tile){
            .x0 = x0,
            .y0 = y0,
            .w = WIDTH - x0 < TILE ? WIDTH - x0 : TILE,
            .h = HEIGHT - y0 < TILE ? HEIGHT - y0 : TILE,
            .image = image,
        };
    }
}

/* 64-bit FNV-1a: a fingerprint of the pixels to print beside the timings. */
static uint64_t checksum(const unsigned char *p, size_t n) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

static int write_ppm(const char *path, const unsigned char *image, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    int ok = fprintf(f, "P6\n%d %d\n255\n", WIDTH, HEIGHT) > 0
             && fwrite(image, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "mandelbrot.ppm";
    int want_workers = 0;   /* 0: one per online CPU */
    if (argc > 2) {
        char *end;
        long n = strtol(argv[2], &end, 10);
        if (*end != '\0' || n < 1 || n > WP_MAX_WORKERS) {
            fprintf(stderr, "usage: %s [OUT.ppm [WORKERS (1..%d)]]\n", argv[0],
                    WP_MAX_WORKERS);
            return 2;
        }
        want_workers = (int)n;
    }

    const size_t size = (size_t)WIDTH * HEIGHT * 3;
    unsigned char *pooled = malloc(size), *single = malloc(size);
    tile *tiles = malloc(sizeof *tiles * TILES);
    int64_t *busy_ns = calloc(WP_MAX_WORKERS, sizeof *busy_ns);
    int *tiles_done = calloc(WP_MAX_WORKERS, sizeof *tiles_done);
    if (!pooled || !single || !tiles || !busy_ns || !tiles_done) {
        fprintf(stderr, "image_pipeline: out of memory\n");
        return 1;
    }
    /* Fill with a pattern no render produces in full, so an unrendered tile
       cannot pass for a rendered one. */
    memset(pooled, 0x55, size);
    memset(single, 0xAA, size);

    printf("workerpool.h %s image pipeline\n\n", WORKERPOOL_VERSION);
    printf("A %dx%d Mandelbrot (up to %d iterations a pixel) in %d tiles of %dx%d.\n\n",
           WIDTH, HEIGHT, MAX_ITER, TILES, TILE, TILE);

    /* The pool: one result per tile fits in the channel, so no worker ever
       waits for the main thread to receive. */
    wp_pool *pool;
    wp_config config = {
        .name = "mandelbrot",
        .max_workers = want_workers,
        .result_capacity = TILES,
    };
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "image_pipeline: wp_pool_create: %s\n", wp_status_str(status));
        return 1;
    }
    wp_stats stats;
    wp_pool_stats(pool, &stats);
    const int workers = stats.workers;

    int failures = 0;
    int submitted = 0;
    make_tiles(tiles, pooled);
    int64_t start = now_ns();
    for (int i = 0; i < TILES; i++) {
        status = wp_submit_job(pool, &(wp_job){ .fn = render_tile, .arg = &tiles[i],
                                                .id = (uint64_t)i });
        if (status != WP_OK) {
            fprintf(stderr, "image_pipeline: tile %d: wp_submit_job: %s\n", i,
                    wp_status_str(status));
            failures++;
            break;
        }
        submitted++;
    }
    /* One result per accepted tile; the last one marks the end of the render. */
    int64_t fastest_ns = INT64_MAX, slowest_ns = 0;
    for (int i = 0; i < submitted; i++) {
        wp_result r;
        status = wp_result_recv(pool, &r, WP_SEC(60));
        if (status != WP_OK) {
            fprintf(stderr, "image_pipeline: wp_result_recv: %s\n", wp_status_str(status));
            failures++;
            break;
        }
        if (r.status != WP_OK) {
            fprintf(stderr, "image_pipeline: tile %llu: %s\n", (unsigned long long)r.id,
                    wp_status_str(r.status));
            failures++;
        }
        if (r.worker >= 0 && r.worker < WP_MAX_WORKERS) {
            busy_ns[r.worker] += r.run_ns;
            tiles_done[r.worker]++;
        }
        if (r.run_ns > slowest_ns)
            slowest_ns = r.run_ns;
        if (r.run_ns < fastest_ns)
            fastest_ns = r.run_ns;
    }
    int64_t pool_ns = now_ns() - start;
    status = wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    if (status != WP_OK) {
        fprintf(stderr, "image_pipeline: wp_pool_close: %s\n", wp_status_str(status));
        failures++;
    }
    wp_pool_stats(pool, &stats);
    wp_pool_destroy(pool);
    if (failures) {
        fprintf(stderr, "image_pipeline: the pooled render failed\n");
        return 1;
    }

    char label[32];
    snprintf(label, sizeof label, "pool of %d worker%s:", workers, workers == 1 ? "" : "s");
    printf("%-20s %6.2f s  (a tile took %.2f to %.1f ms)\n", label, (double)pool_ns / 1e9,
           (double)fastest_ns / 1e6, (double)slowest_ns / 1e6);
    for (int w = 0; w < WP_MAX_WORKERS; w++) {
        if (tiles_done[w] == 0)
            continue;
        printf("  worker %d: %3d tiles, busy %.2f s (%.0f%% of the render)\n", w,
               tiles_done[w], (double)busy_ns[w] / 1e9,
               100.0 * (double)busy_ns[w] / (double)pool_ns);
    }
    printf("  stats: submitted %llu, completed %llu, failed %llu\n",
           (unsigned long long)stats.submitted, (unsigned long long)stats.completed,
           (unsigned long long)stats.failed);

    if (write_ppm(path, pooled, size) != 0)
        return 1;
    printf("wrote %s (%dx%d, %zu bytes of pixels)\n\n", path, WIDTH, HEIGHT, size);

    /* The same tiles, in order, on this thread alone. */
    make_tiles(tiles, single);
    start = now_ns();
    for (int i = 0; i < TILES; i++)
        render_tile(&tiles[i], NULL);
    int64_t single_ns = now_ns() - start;
    printf("%-20s %6.2f s\n\n", "one thread:", (double)single_ns / 1e9);

    uint64_t sum_pooled = checksum(pooled, size), sum_single = checksum(single, size);
    bool same = memcmp(pooled, single, size) == 0;
    printf("checksum (FNV-1a of the pixels): pool %016llx, one thread %016llx: %s\n",
           (unsigned long long)sum_pooled, (unsigned long long)sum_single,
           same ? "identical" : "DIFFERENT");
    printf("speed-up %.1fx on %d worker%s\n", (double)single_ns / (double)pool_ns, workers,
           workers == 1 ? "" : "s");

    free(pooled);
    free(single);
    free(tiles);
    free(busy_ns);
    free(tiles_done);
    if (!same) {
        fprintf(stderr, "image_pipeline: the two renders differ\n");
        return 1;
    }
    return 0;
}
