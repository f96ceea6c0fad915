/* http_server.c - a small HTTP/1.0 server on 127.0.0.1 whose requests are
   handled on the pool, and which answers "503 Service Unavailable" at once
   when the pool is full instead of letting requests pile up.

       http_server [PORT [WORK_MS [MAX_CONNECTIONS [sleep|spin]]]]

   PORT defaults to 8080; 0 picks a free port (printed on the first line).
   Every request costs WORK_MS milliseconds (default 2) of simulated backend
   time: a sleep, or with `spin` that much computing. It serves until it has
   taken MAX_CONNECTIONS connections (default 0: no limit) or gets SIGINT or
   SIGTERM, then drains the pool and prints what happened.

   The main thread only accepts. Each connection becomes one job on a pool of
   2 workers with a queue of 16 and the WP_REJECT policy: the job reads the
   request, does the work and writes "200 OK". When the queue is full,
   wp_submit answers WP_FULL at once and the main thread itself answers 503
   and closes the connection: an overloaded server stays responsive, and no
   request waits behind more than 16 others. With 2 workers and 2 ms of
   work the pool serves about 1000 requests/s; `wrk -c 64` or a few dozen
   parallel curls are enough to see 503s.

   Try it:  ./http_server 8080 &  curl -i http://127.0.0.1:8080/hello
            wrk -t 2 -c 64 -d 5s http://127.0.0.1:8080/

   Exits 0 after a clean shutdown whose counts add up; 1 when the server
   cannot start, the pool does not drain, or a count does not add up; 2 for a
   bad command line. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
    WORKERS     = 2,
    QUEUE       = 16,
    REQUEST_MAX = 4096,     /* a longer request head is answered 400 */
    BACKLOG     = 256
};
#define IO_TIMEOUT_NS   WP_SEC(2)   /* a worker waits this long for a request */
#define REFUSE_WAIT_NS  WP_MS(20)   /* the main thread, before answering 503 */
#define REPORT_EVERY_NS WP_SEC(1)

#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0    /* SIGPIPE is ignored anyway */
#endif

static int64_t work_ns = WP_MS(2);
static bool spin;
static volatile sig_atomic_t stop_signal;

/* What the workers did, one count per connection they took. */
static atomic_uint_fast64_t answered_ok, answered_bad, hung_up, io_errors;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static void on_signal(int sig) {
    stop_signal = sig;
}

/* What read_request found. */
enum { REQ_OK, REQ_TOO_LONG, REQ_HUNG_UP, REQ_FAILED };

/* Reads a request head (up to the blank line) into buf as a string, waiting
   at most until `deadline`. REQ_HUNG_UP: the client closed without sending a
   byte (load generators do this when they stop, wrk when it probes the
   address). REQ_FAILED: it broke off, failed or was too slow; *why says how. */
static int read_request(int fd, char *buf, size_t cap, int64_t deadline, const char **why) {
    size_t len = 0;
    buf[0] = '\0';
    while (len < cap - 1) {
        int64_t left = deadline - now_ns();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = left <= 0 ? 0 : poll(&p, 1, (int)((left + WP_MS(1) - 1) / WP_MS(1)));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            *why = "timed out waiting for the request";
            return REQ_FAILED;
        }
        ssize_t n = r < 0 ? -1 : recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && len == 0)
            return REQ_HUNG_UP;
        if (n <= 0) {
            *why = n == 0 ? "closed in the middle of the request" : strerror(errno);
            return REQ_FAILED;
        }
        /* Look for the blank line only where the new bytes could complete it. */
        size_t from = len >= 3 ? len - 3 : 0;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf + from, "\r\n\r\n") || strstr(buf + from, "\n\n"))
            return REQ_OK;
    }
    return REQ_TOO_LONG;
}

/* Sends a whole response in one piece (one write, one packet on loopback). */
static bool respond(int fd, const char *status, const char *body, bool with_body) {
    char msg[2048];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.0 %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "%s", status, strlen(body), with_body ? body : "");
    if (n < 0 || (size_t)n >= sizeof msg)
        return false;
    const char *p = msg;
    size_t left = (size_t)n;
    while (left > 0) {
        ssize_t w = send(fd, p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        left -= (size_t)w;
    }
    return true;
}

/* The request's backend work: a digest of the request line, plus WORK_MS of
   sleeping or of hashing it over and over. */
static uint64_t do_work(const char *line, size_t len) {
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    int64_t deadline = now_ns() + work_ns;
    do {
        for (int round = 0; round < 64; round++)
            for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)line[i]) * UINT64_C(0x100000001b3);
    } while (spin && now_ns() < deadline);
    if (!spin && work_ns > 0) {
        struct timespec ts = { (time_t)(deadline / WP_SEC(1)), (long)(deadline % WP_SEC(1)) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
    }
    return h;
}

/* Counts a broken connection; tells stderr about the first one. */
static void count_error(const char *why) {
    static atomic_flag told = ATOMIC_FLAG_INIT;
    atomic_fetch_add(&io_errors, 1);
    if (!atomic_flag_test_and_set(&told))
        fprintf(stderr, "http_server: first broken connection: %s\n", why);
}

/* The job: one connection, from request to close. Returns nonzero (counted
   as failed in the pool's stats) when the connection broke. */
static int handle_connection(void *arg, wp_ctx *ctx) {
    int fd = (int)(intptr_t)arg;
    char req[REQUEST_MAX];
    const char *why = "";
    int rc = 0;
    int got = read_request(fd, req, sizeof req, now_ns() + IO_TIMEOUT_NS, &why);
    switch (got) {
    case REQ_HUNG_UP:
        atomic_fetch_add(&hung_up, 1);
        goto done;
    case REQ_FAILED:
        count_error(why);
        rc = 1;
        goto done;
    default:
        break;
    }
    /* The request line: METHOD SP TARGET SP HTTP/x.y */
    char method[16], target[1024], version[16];
    if (got == REQ_TOO_LONG || sscanf(req, "%15s %1023s %15s", method, target, version) != 3
        || strncmp(version, "HTTP/", 5) != 0) {
        atomic_fetch_add(&answered_bad, 1);
        if (!respond(fd, "400 Bad Request", "bad request\n", true))
            rc = 1;
        goto done;
    }

    uint64_t digest = do_work(req, strcspn(req, "\r\n"));
    char body[1200];
    snprintf(body, sizeof body, "%s %s: served by worker %d after %.1f ms of work (%016llx)\n",
             method, target, wp_ctx_worker(ctx), (double)work_ns / 1e6,
             (unsigned long long)digest);
    if (respond(fd, "200 OK", body, strcmp(method, "HEAD") != 0)) {
        atomic_fetch_add(&answered_ok, 1);
    } else {
        count_error(strerror(errno));
        rc = 1;
    }
done:
    close(fd);
    return rc;
}

/* The main thread's answer when the pool is full. It first takes in what has
   arrived of the request (waiting at most REFUSE_WAIT_NS): closing a socket
   with unread input resets the connection, and the reset can destroy the
   answer before the client reads it. */
static void refuse(int fd) {
    char req[REQUEST_MAX];
    const char *why;
    (void)read_request(fd, req, sizeof req, now_ns() + REFUSE_WAIT_NS, &why);
    (void)respond(fd, "503 Service Unavailable", "server busy, try again\n", true);
    close(fd);
}

static int listen_on(int port, int *bound_port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("http_server: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0
        || listen(fd, BACKLOG) != 0
        || getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        fprintf(stderr, "http_server: 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    /* Non-blocking, so that an accept after poll cannot hang on a client
       that went away in between. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *bound_port = ntohs(addr.sin_port);
    return fd;
}

static bool parse_number(const char *s, double lo, double hi, bool whole, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= lo && v <= hi)
        || (whole && v != (double)(long long)v))
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    double port = 8080, work_ms = 2, max_connections = 0;
    if ((argc > 1 && !parse_number(argv[1], 0, 65535, true, &port))
        || (argc > 2 && !parse_number(argv[2], 0, 10000, false, &work_ms))
        || (argc > 3 && !parse_number(argv[3], 0, 1e15, true, &max_connections))
        || (argc > 4 && strcmp(argv[4], "sleep") != 0 && strcmp(argv[4], "spin") != 0)
        || argc > 5) {
        fprintf(stderr, "usage: %s [PORT [WORK_MS [MAX_CONNECTIONS [sleep|spin]]]]\n"
                        "  defaults: 8080 (0 = any free port), 2 ms of sleeping, no limit\n",
                argv[0]);
        return 2;
    }
    work_ns = (int64_t)(work_ms * 1e6);
    spin = argc > 4 && strcmp(argv[4], "spin") == 0;
    uint64_t limit = (uint64_t)max_connections;

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);  /* a client that hung up is a failed send */

    int bound_port;
    int listen_fd = listen_on((int)port, &bound_port);
    if (listen_fd < 0)
        return 1;

    wp_pool *pool;
    wp_config config = {
        .name = "http",
        .max_workers = WORKERS,
        .queue_capacity = QUEUE,
        .backpressure = WP_REJECT,
    };
    wp_status status = wp_pool_create(&config, &pool);
    if (status != WP_OK) {
        fprintf(stderr, "http_server: wp_pool_create: %s\n", wp_status_str(status));
        close(listen_fd);
        return 1;
    }

    printf("listening on http://127.0.0.1:%d/\n", bound_port);
    printf("%d workers, a queue of %d, WP_REJECT; %.1f ms of %s a request; ", WORKERS, QUEUE,
           work_ms, spin ? "computing" : "sleeping");
    if (limit)
        printf("stops after %llu connections or on SIGINT/SIGTERM\n", (unsigned long long)limit);
    else
        printf("stops on SIGINT/SIGTERM\n");
    fflush(stdout);

    uint64_t accepted = 0, refused = 0, submit_errors = 0, accept_errors = 0;
    uint64_t reported_accepted = 0;
    int64_t start = now_ns(), next_report = start + REPORT_EVERY_NS;
    while (!stop_signal && (limit == 0 || accepted < limit)) {
        int64_t t = now_ns();
        if (t >= next_report) {
            if (accepted != reported_accepted) {
                printf("  %5.1f s: %llu connections: 200 OK %llu, 503 %llu, errors %llu\n",
                       (double)(t - start) / 1e9, (unsigned long long)accepted,
                       (unsigned long long)atomic_load(&answered_ok),
                       (unsigned long long)refused,
                       (unsigned long long)(atomic_load(&io_errors) + submit_errors));
                fflush(stdout);
                reported_accepted = accepted;
            }
            next_report = t + REPORT_EVERY_NS;
        }

        /* Poll with a timeout rather than block in accept: a signal that
           lands just before a blocking call would go unnoticed. */
        struct pollfd p = { .fd = listen_fd, .events = POLLIN };
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK
                && errno != ECONNABORTED) {
                /* Out of descriptors, say: count it and let clients wait. */
                if (accept_errors++ == 0)
                    perror("http_server: accept");
                struct timespec pause = { 0, 10 * 1000 * 1000 };
                nanosleep(&pause, NULL);
            }
            continue;
        }
        accepted++;
        /* Some systems pass O_NONBLOCK on from the listening socket. */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        struct timeval send_timeout = { (time_t)(IO_TIMEOUT_NS / WP_SEC(1)), 0 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);

        status = wp_submit(pool, handle_connection, (void *)(intptr_t)fd);
        if (status == WP_OK)
            continue;
        if (status == WP_FULL) {
            refused++;
            refuse(fd);
        } else {
            if (submit_errors++ == 0)
                fprintf(stderr, "http_server: wp_submit: %s\n", wp_status_str(status));
            close(fd);
        }
    }
    int64_t serve_ns = now_ns() - start;
    close(listen_fd);

    if (stop_signal)
        printf("got %s, draining\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    /* Whatever was accepted still gets its answer. */
    int failures = 0;
    status = wp_pool_close(pool, WP_DRAIN, WP_SEC(10));
    if (status != WP_OK) {
        fprintf(stderr, "http_server: wp_pool_close: %s\n", wp_status_str(status));
        failures++;
    }
    wp_stats s;
    wp_pool_stats(pool, &s);
    wp_pool_destroy(pool);

    uint64_t ok = atomic_load(&answered_ok), bad = atomic_load(&answered_bad);
    uint64_t silent = atomic_load(&hung_up), errors = atomic_load(&io_errors) + submit_errors;
    printf("%llu connections in %.1f s: 200 OK %llu, 503 %llu, 400 %llu, "
           "closed without a request %llu, errors %llu\n",
           (unsigned long long)accepted, (double)serve_ns / 1e9, (unsigned long long)ok,
           (unsigned long long)refused, (unsigned long long)bad, (unsigned long long)silent,
           (unsigned long long)errors);
    if (accept_errors)
        printf("accept failed %llu times\n", (unsigned long long)accept_errors);
    printf("pool: submitted %llu = completed %llu + failed %llu + canceled %llu; "
           "rejected %llu; workers %d\n",
           (unsigned long long)s.submitted, (unsigned long long)s.completed,
           (unsigned long long)s.failed, (unsigned long long)s.canceled,
           (unsigned long long)s.rejected, s.peak_workers);

    /* Every connection met exactly one fate, and the pool counted the same:
       each job ends in one of ok, bad, silent or an I/O error, and each
       WP_FULL is one 503. */
    if (ok + refused + bad + silent + errors != accepted || s.rejected != refused
        || s.submitted != ok + bad + silent + atomic_load(&io_errors)
        || s.completed + s.failed != s.submitted || s.canceled != 0) {
        fprintf(stderr, "http_server: the counts do not add up\n");
        failures++;
    }
    return failures ? 1 : 0;
}
