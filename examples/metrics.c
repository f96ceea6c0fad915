/* metrics.c - a pool under a mixed load that serves its own statistics over
   HTTP on 127.0.0.1, for Prometheus to scrape.

       metrics [--port N] [--seconds N] [--once]

   --port N      listen on port N (default 9464; 0 picks a free port). The
                 first line printed is "listening on http://127.0.0.1:PORT/metrics".
   --seconds N   stop after N seconds (default: run until SIGINT or SIGTERM).
   --once        stop after answering one /metrics request.

   Paths: /metrics (Prometheus text format 0.0.4), /stats.json (JSON) and
   / (the human-readable table); anything else is 404.

   The pool ("metrics-demo": 1 to 4 workers, a queue of 64, WP_REJECT) has
   latency histograms on, an error hook that counts failed jobs, and a stall
   watchdog that reports jobs running longer than 200 ms. A load thread
   feeds it bursts of a mix of jobs: short computations, 2 ms sleeps, jobs
   that fail with code 5, and now and then a 300 ms job that the watchdog
   catches. So every metric moves: try

       ./metrics --port 9464 &
       curl -s http://127.0.0.1:9464/metrics | promtool check metrics
       curl -s http://127.0.0.1:9464/

   The server is one thread answering one request at a time, which is plenty
   for a scraper. Each answer formats a fresh wp_pool_stats snapshot into a
   fixed buffer: no allocation.

   Exits 0 after a clean shutdown, 1 if something failed, 2 for a bad command
   line. POSIX only (sockets). */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STALL_NS WP_MS(200)

static volatile sig_atomic_t stop_signal;
static atomic_bool stopping;
static atomic_uint_fast64_t errors_seen, stalls_seen;

static void on_signal(int sig) { stop_signal = sig; }

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    struct timespec ts = { (time_t)(ns / WP_SEC(1)), (long)(ns % WP_SEC(1)) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --- the load ------------------------------------------------------------- */

enum { JOB_COMPUTE, JOB_SLEEP, JOB_FAIL, JOB_LONG };

static int job(void *arg, wp_ctx *ctx) {
    (void)ctx;
    switch ((int)(intptr_t)arg) {
    case JOB_COMPUTE: {
        unsigned x = 1;
        for (int i = 0; i < 20000; i++)
            x = x * 1103515245u + 12345u;
        return x == 0; /* never: keeps the loop */
    }
    case JOB_SLEEP:
        sleep_ns(WP_MS(2));
        return 0;
    case JOB_FAIL:
        return 5;
    default:
        sleep_ns(WP_MS(300));
        return 0;
    }
}

static void on_error(const wp_event *ev, void *user) {
    (void)ev, (void)user;
    atomic_fetch_add(&errors_seen, 1);
}

static void on_stall(const wp_event *ev, void *user) {
    (void)user;
    atomic_fetch_add(&stalls_seen, 1);
    printf("stall: job %llu on worker %d running for %.0f ms\n", (unsigned long long)ev->job_id,
           ev->worker, (double)ev->run_ns / 1e6);
    fflush(stdout);
}

/* Bursts of 20 to 200 jobs every 50 ms; one job in 500 is a long one. */
static void *load_main(void *p) {
    wp_pool *pool = (wp_pool *)p;
    uint64_t id = 0;
    unsigned seed = 12345;
    while (!atomic_load(&stopping)) {
        seed = seed * 1103515245u + 12345u;
        int burst = 20 + (int)((seed >> 16) % 181);
        for (int i = 0; i < burst; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) % 500;
            int kind = r == 0 ? JOB_LONG : r < 50 ? JOB_FAIL : r < 200 ? JOB_SLEEP : JOB_COMPUTE;
            wp_job j = { .fn = job, .arg = (void *)(intptr_t)kind, .id = ++id };
            (void)wp_submit_job(pool, &j); /* WP_FULL is counted as rejected */
        }
        sleep_ns(WP_MS(50));
    }
    return NULL;
}

/* --- the server ------------------------------------------------------------ */

static char body[1 << 16];

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, const char *status, const char *type, const char *text, size_t len) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    send_all(fd, head, (size_t)n);
    send_all(fd, text, len);
}

/* Reads the request head (up to 1 s) and answers it; true for /metrics. */
static bool serve(int fd, wp_pool *pool) {
    char req[2048];
    size_t len = 0;
    int64_t deadline = now_ns() + WP_SEC(1);
    req[0] = '\0';
    while (len < sizeof req - 1 && !strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
        int64_t left = deadline - now_ns();
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&pf, 1, (int)(left / WP_MS(1)) + 1) <= 0)
            return false;
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        req[len] = '\0';
    }
    char method[8], path[256];
    if (sscanf(req, "%7s %255s", method, path) != 2 || strcmp(method, "GET") != 0) {
        respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
        return false;
    }
    wp_stats s;
    wp_pool_stats(pool, &s);
    int (*format)(const wp_stats *, char *, size_t) = NULL;
    const char *type = "text/plain; charset=utf-8";
    if (strcmp(path, "/metrics") == 0) {
        format = wp_stats_format_prometheus;
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (strcmp(path, "/stats.json") == 0) {
        format = wp_stats_format_json;
        type = "application/json";
    } else if (strcmp(path, "/") == 0) {
        format = wp_stats_format_table;
    }
    if (!format) {
        respond(fd, "404 Not Found", type, "try /metrics, /stats.json or /\n", 31);
        return false;
    }
    int n = format(&s, body, sizeof body);
    if (n < 0 || (size_t)n >= sizeof body) {
        respond(fd, "500 Internal Server Error", type, "stats too large\n", 16);
        return false;
    }
    respond(fd, "200 OK", type, body, (size_t)n);
    return format == wp_stats_format_prometheus;
}

static int listen_on(int port, int *bound) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0
        || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "metrics: 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *bound = ntohs(a.sin_port);
    return fd;
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    long port = 9464, seconds = 0;
    bool once = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc && parse_int(argv[i + 1], 0, 65535, &port))
            i++;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc
                 && parse_int(argv[i + 1], 1, 86400, &seconds))
            i++;
        else if (strcmp(argv[i], "--once") == 0)
            once = true;
        else {
            fprintf(stderr, "usage: %s [--port N] [--seconds N] [--once]\n", argv[0]);
            return 2;
        }
    }
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    int bound;
    int lfd = listen_on((int)port, &bound);
    if (lfd < 0)
        return 1;
    wp_pool *pool;
    wp_config cfg = {
        .name = "metrics-demo",
        .scaling.min_workers = 1,
        .max_workers = 4,
        .queue_capacity = 64,
        .backpressure = WP_REJECT,
        .scaling.up_threshold = 16,
        .scaling.idle_timeout = WP_MS(500),
        .observe.latency = true,
        .hooks.error = on_error,
        .observe.stall_threshold = STALL_NS,
        .hooks.stall = on_stall,
    };
    wp_status st = wp_pool_create(&cfg, &pool);
    if (st != WP_OK) {
        fprintf(stderr, "metrics: wp_pool_create: %s\n", wp_status_str(st));
        close(lfd);
        return 1;
    }
    pthread_t load;
    if (pthread_create(&load, NULL, load_main, pool) != 0) {
        fprintf(stderr, "metrics: cannot start the load thread\n");
        wp_pool_destroy(pool);
        close(lfd);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d/metrics\n", bound);
    fflush(stdout);

    int64_t end = seconds ? now_ns() + WP_SEC(seconds) : WP_FOREVER;
    uint64_t scrapes = 0;
    while (!stop_signal && now_ns() < end && !(once && scrapes > 0)) {
        struct pollfd pf = { .fd = lfd, .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        scrapes += serve(fd, pool);
        close(fd);
    }
    close(lfd);
    atomic_store(&stopping, true);
    pthread_join(load, NULL);

    int failures = 0;
    st = wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    if (st != WP_OK) {
        fprintf(stderr, "metrics: wp_pool_close: %s\n", wp_status_str(st));
        failures++;
    }
    wp_stats s;
    wp_pool_stats(pool, &s);
    wp_pool_destroy(pool);
    int n = wp_stats_format_table(&s, body, sizeof body);
    if (n > 0 && (size_t)n < sizeof body)
        fputs(body, stdout);
    printf("served %llu scrapes; the error hook saw %llu failed jobs, the watchdog %llu stalls\n",
           (unsigned long long)scrapes, (unsigned long long)atomic_load(&errors_seen),
           (unsigned long long)atomic_load(&stalls_seen));
    /* The hooks and the counters saw the same jobs. */
    if (s.submitted != s.completed + s.failed + s.canceled || atomic_load(&errors_seen) != s.failed
        || s.run_time.count != s.completed + s.failed) {
        fprintf(stderr, "metrics: the counts do not add up\n");
        failures++;
    }
    return failures ? 1 : 0;
}
