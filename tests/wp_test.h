/* wp_test.h - the tiny test runner of workerpool.h's test suite.

   A test is `static void test_name(void)`. A test file lists its tests and
   hands them to the runner:

       static const wpt_test tests[] = { WPT_TEST(test_fifo), WPT_TEST(test_full) };
       WPT_MAIN(tests)

   Checks record a failure with file:line and the values involved:
     CHECK(c), CHECK_EQ_INT(a, b), CHECK_EQ_UINT, CHECK_EQ_PTR, CHECK_STATUS(s, want),
     CHECK_CMP_INT(a, op, b) (op is ==, <, >= ...), CHECK_EVENTUALLY(c, ms) ...
   CHECK_* go on with the test; REQUIRE_* end it (they `return;`, so use them
   in the test function itself, not in helpers that return a value). Checks may
   run on any thread (inside jobs too); failures count toward the running test.

   Each test prints `ok  name (12 ms)` or `FAIL name (12 ms)`; the last line of
   the output is exactly `N passed, N failed`, and the exit status is nonzero
   when any test failed. `./binary name...` runs only the named tests (the
   `test_` prefix may be left out); `./binary -l` lists them.

   A watchdog ends the binary when one test runs longer than WP_TEST_TIMEOUT
   seconds (default 90): a hung test then reads as FAIL instead of a silent
   timeout of the whole binary.

   WP_TEST_SCALE shrinks the stress sizes: unset = 1.0 (full size), `tsan` =
   0.05, `asan` = 0.2, or a number. Use wpt_scaled(full, minimum).

   Every test file must define _POSIX_C_SOURCE 200809L before any include
   (for CLOCK_MONOTONIC and clock_nanosleep under -std=c11). */
#ifndef WP_TEST_H
#define WP_TEST_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "define _POSIX_C_SOURCE 200809L at the top of the test file, before any include"
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(_WIN32)
#  include <windows.h>
#endif

/* ------------------------------------------------------------------------ */
/* Time                                                                      */

static inline int64_t wpt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + (int64_t)ts.tv_nsec;
}

static inline int64_t wpt_ms_since(int64_t start_ns) {
    return (wpt_now_ns() - start_ns) / INT64_C(1000000);
}

/* Sleeps at least `ns` nanoseconds of CLOCK_MONOTONIC time. */
static inline void wpt_sleep_ns(int64_t ns) {
    if (ns <= 0)
        return;
#if defined(_WIN32)
    /* MinGW's clock_nanosleep (winpthreads) refuses CLOCK_MONOTONIC at once,
       and Sleep counts in timer ticks: sleep until the clock has moved on. */
    int64_t until = wpt_now_ns() + ns;
    for (int64_t left = ns; left > 0; left = until - wpt_now_ns())
        Sleep((DWORD)(left / INT64_C(1000000) + 1));
#else
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / INT64_C(1000000000));
    ts.tv_nsec = (long)(ns % INT64_C(1000000000));
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
    }
#endif
}

static inline void wpt_sleep_ms(int64_t ms) { wpt_sleep_ns(ms * INT64_C(1000000)); }

/* ------------------------------------------------------------------------ */
/* Platform                                                                  */

/* The number of online CPUs (at least 1). */
static inline int wpt_online_cpus(void) {
#if defined(_WIN32)
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n < 1 ? 1 : (int)n;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
#endif
}

/* ------------------------------------------------------------------------ */
/* Scale                                                                     */

static inline double wpt_scale(void) {
    static double cached = 0.0;
    if (cached > 0.0)
        return cached;
    double scale = 1.0;
    const char *s = getenv("WP_TEST_SCALE");
    if (s && *s) {
        if (strcmp(s, "tsan") == 0) {
            scale = 0.05;
        } else if (strcmp(s, "asan") == 0) {
            scale = 0.2;
        } else {
            char *end = NULL;
            double v = strtod(s, &end);
            if (end != s && v > 0.0)
                scale = v;
            else
                fprintf(stderr, "WP_TEST_SCALE=%s not understood, using 1.0\n", s);
        }
    }
    cached = scale;
    return scale;
}

/* `full` scaled by WP_TEST_SCALE, never below `minimum`. */
static inline size_t wpt_scaled(size_t full, size_t minimum) {
    double v = (double)full * wpt_scale();
    if (v < (double)minimum)
        return minimum;
    return (size_t)v;
}

/* ------------------------------------------------------------------------ */
/* Failures                                                                  */

#define WPT_MAX_PRINTED_FAILURES 25

/* MinGW's printf is msvcrt's (no %zu) unless __USE_MINGW_ANSI_STDIO is 1, as
   `make test-windows` sets it; the format checks then follow the GNU rules. */
#if defined(__MINGW_PRINTF_FORMAT)
#  define WPT__PRINTF __MINGW_PRINTF_FORMAT
#else
#  define WPT__PRINTF printf
#endif

static atomic_int wpt__failures;      /* failures of the running test */
static pthread_mutex_t wpt__print_lock = PTHREAD_MUTEX_INITIALIZER;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(WPT__PRINTF, 3, 4)))
#endif
static inline void wpt__fail(const char *file, int line, const char *fmt, ...) {
    int n = atomic_fetch_add(&wpt__failures, 1);
    if (n >= WPT_MAX_PRINTED_FAILURES) {
        if (n == WPT_MAX_PRINTED_FAILURES) {
            pthread_mutex_lock(&wpt__print_lock);
            printf("    ... further failures of this test not printed\n");
            fflush(stdout);
            pthread_mutex_unlock(&wpt__print_lock);
        }
        return;
    }
    va_list ap;
    pthread_mutex_lock(&wpt__print_lock);
    printf("    %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&wpt__print_lock);
}

/* Prints a note under the running test (for context, e.g. measured sizes). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(WPT__PRINTF, 1, 2)))
#endif
static inline void wpt_note(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&wpt__print_lock);
    printf("    note: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&wpt__print_lock);
}

static inline bool wpt_failed(void) { return atomic_load(&wpt__failures) > 0; }

#define WPT__NOTHING ((void)0)
#define WPT__RETURN  return

/* The public macros stringify their arguments themselves, before any macro
   inside them (atomic_load ...) is expanded, so messages show the source. */
#define WPT__CHECK(cond, text, on_fail)                                             \
    do {                                                                            \
        if (!(cond)) {                                                              \
            wpt__fail(__FILE__, __LINE__, "CHECK(%s) failed", text);                \
            on_fail;                                                                \
        }                                                                           \
    } while (0)

#define WPT__CMP(type, fmt, a, op, b, text_a, text_op, text_b, on_fail)            \
    do {                                                                            \
        type wpt__a = (type)(a);                                                    \
        type wpt__b = (type)(b);                                                    \
        if (!(wpt__a op wpt__b)) {                                                  \
            wpt__fail(__FILE__, __LINE__, "%s %s %s failed: " fmt " vs " fmt,       \
                      text_a, text_op, text_b, wpt__a, wpt__b);                     \
            on_fail;                                                                \
        }                                                                           \
    } while (0)

#define WPT__STATUS(s, want, text_s, text_want, on_fail)                            \
    do {                                                                            \
        int wpt__s = (int)(s);                                                      \
        int wpt__w = (int)(want);                                                   \
        if (wpt__s != wpt__w) {                                                     \
            wpt__fail(__FILE__, __LINE__, "%s is %d (%s), expected %s (%d)", text_s, \
                      wpt__s, wp_status_str((wp_status)wpt__s), text_want, wpt__w); \
            on_fail;                                                                \
        }                                                                           \
    } while (0)

/* Polls `cond` about every millisecond for up to `ms` milliseconds. */
#define WPT__EVENTUALLY(cond, ms, text, on_fail)                                    \
    do {                                                                            \
        int64_t wpt__until = wpt_now_ns() + (int64_t)(ms) * INT64_C(1000000);       \
        while (!(cond) && wpt_now_ns() < wpt__until)                                \
            wpt_sleep_ms(1);                                                        \
        if (!(cond)) {                                                              \
            wpt__fail(__FILE__, __LINE__, "%s did not become true within %d ms",    \
                      text, (int)(ms));                                             \
            on_fail;                                                                \
        }                                                                           \
    } while (0)

#define WPT__LL  long long, "%lld"
#define WPT__ULL unsigned long long, "%llu"
#define WPT__CMP_(...) WPT__CMP(__VA_ARGS__)

#define CHECK(cond)                 WPT__CHECK(cond, #cond, WPT__NOTHING)
#define REQUIRE(cond)               WPT__CHECK(cond, #cond, WPT__RETURN)
#define CHECK_CMP_INT(a, op, b)     WPT__CMP_(WPT__LL, a, op, b, #a, #op, #b, WPT__NOTHING)
#define REQUIRE_CMP_INT(a, op, b)   WPT__CMP_(WPT__LL, a, op, b, #a, #op, #b, WPT__RETURN)
#define CHECK_CMP_UINT(a, op, b)    WPT__CMP_(WPT__ULL, a, op, b, #a, #op, #b, WPT__NOTHING)
#define REQUIRE_CMP_UINT(a, op, b)  WPT__CMP_(WPT__ULL, a, op, b, #a, #op, #b, WPT__RETURN)
#define CHECK_EQ_INT(a, b)          WPT__CMP_(WPT__LL, a, ==, b, #a, "==", #b, WPT__NOTHING)
#define REQUIRE_EQ_INT(a, b)        WPT__CMP_(WPT__LL, a, ==, b, #a, "==", #b, WPT__RETURN)
#define CHECK_EQ_UINT(a, b)         WPT__CMP_(WPT__ULL, a, ==, b, #a, "==", #b, WPT__NOTHING)
#define REQUIRE_EQ_UINT(a, b)       WPT__CMP_(WPT__ULL, a, ==, b, #a, "==", #b, WPT__RETURN)
#define CHECK_EQ_PTR(a, b)          WPT__CMP(const void *, "%p", a, ==, b, #a, "==", #b, WPT__NOTHING)
#define CHECK_STATUS(s, want)       WPT__STATUS(s, want, #s, #want, WPT__NOTHING)
#define REQUIRE_STATUS(s, want)     WPT__STATUS(s, want, #s, #want, WPT__RETURN)
#define CHECK_EVENTUALLY(cond, ms)  WPT__EVENTUALLY(cond, ms, #cond, WPT__NOTHING)
#define REQUIRE_EVENTUALLY(cond, ms) WPT__EVENTUALLY(cond, ms, #cond, WPT__RETURN)

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */

typedef struct wpt_thread {
    pthread_t handle;
} wpt_thread;

typedef struct wpt__thread_start {
    void (*fn)(void *);
    void *arg;
} wpt__thread_start;

static inline void *wpt__thread_main(void *p) {
    wpt__thread_start start = *(wpt__thread_start *)p;
    free(p);
    start.fn(start.arg);
    return NULL;
}

/* Starts fn(arg) on a new thread; a failure to start one ends the binary. */
static inline wpt_thread wpt_thread_start(void (*fn)(void *), void *arg) {
    wpt_thread t;
    wpt__thread_start *start = (wpt__thread_start *)malloc(sizeof *start);
    if (!start) {
        printf("wpt_thread_start: out of memory\n");
        exit(2);
    }
    start->fn = fn;
    start->arg = arg;
    int rc = pthread_create(&t.handle, NULL, wpt__thread_main, start);
    if (rc != 0) {
        printf("wpt_thread_start: pthread_create failed: %s\n", strerror(rc));
        exit(2);
    }
    return t;
}

static inline void wpt_thread_join(wpt_thread t) { pthread_join(t.handle, NULL); }

/* ------------------------------------------------------------------------ */
/* The runner                                                                */

typedef void (*wpt_fn)(void);

typedef struct wpt_test {
    const char *name;
    wpt_fn fn;
} wpt_test;

#define WPT_TEST(fn) { #fn, fn }

static _Atomic(const char *) wpt__running_name;
static atomic_llong wpt__deadline_ns;   /* 0: no test running */
static atomic_int wpt__passed, wpt__failed;
static size_t wpt__selected;           /* number of tests this run will run */

static inline void *wpt__watchdog(void *unused) {
    (void)unused;
    for (;;) {
        wpt_sleep_ms(200);
        long long deadline = atomic_load(&wpt__deadline_ns);
        if (deadline != 0 && wpt_now_ns() > deadline) {
            pthread_mutex_lock(&wpt__print_lock);
            int passed = atomic_load(&wpt__passed);
            printf("FAIL %s (still running after its time limit: hung? set WP_TEST_TIMEOUT to wait longer)\n",
                   atomic_load(&wpt__running_name));
            printf("%d passed, %d failed\n", passed, (int)wpt__selected - passed);
            fflush(stdout);
            _exit(1);
        }
    }
    return NULL;
}

static inline bool wpt__selected_by(const char *name, int argc, char **argv) {
    if (argc <= 1)
        return true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0)
            return true;
        if (strncmp(name, "test_", 5) == 0 && strcmp(argv[i], name + 5) == 0)
            return true;
    }
    return false;
}

static inline int wpt_main(int argc, char **argv, const wpt_test *tests, size_t count) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)wpt_scale(); /* read the environment once, before any thread starts */
    if (argc == 2 && strcmp(argv[1], "-l") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        bool known = false;
        for (size_t t = 0; t < count; t++)
            if (wpt__selected_by(tests[t].name, 2, (char *[]){ argv[0], argv[i] }))
                known = true;
        if (!known) {
            printf("FAIL %s (no such test; -l lists them)\n", argv[i]);
            printf("0 passed, 1 failed\n");
            return 1;
        }
    }
    for (size_t t = 0; t < count; t++)
        if (wpt__selected_by(tests[t].name, argc, argv))
            wpt__selected++;

    int64_t limit_s = 90;
    const char *env = getenv("WP_TEST_TIMEOUT");
    if (env && atoll(env) > 0)
        limit_s = atoll(env);
    pthread_t watchdog;
    if (pthread_create(&watchdog, NULL, wpt__watchdog, NULL) == 0)
        pthread_detach(watchdog);

    for (size_t t = 0; t < count; t++) {
        if (!wpt__selected_by(tests[t].name, argc, argv))
            continue;
        atomic_store(&wpt__failures, 0);
        atomic_store(&wpt__running_name, tests[t].name);
        int64_t start = wpt_now_ns();
        atomic_store(&wpt__deadline_ns, (long long)(start + limit_s * INT64_C(1000000000)));
        tests[t].fn();
        atomic_store(&wpt__deadline_ns, 0);
        long long ms = (long long)wpt_ms_since(start);
        pthread_mutex_lock(&wpt__print_lock);
        if (atomic_load(&wpt__failures) == 0) {
            atomic_fetch_add(&wpt__passed, 1);
            printf("ok  %s (%lld ms)\n", tests[t].name, ms);
        } else {
            atomic_fetch_add(&wpt__failed, 1);
            printf("FAIL %s (%lld ms)\n", tests[t].name, ms);
        }
        fflush(stdout);
        pthread_mutex_unlock(&wpt__print_lock);
    }
    pthread_mutex_lock(&wpt__print_lock);
    printf("%d passed, %d failed\n", atomic_load(&wpt__passed), atomic_load(&wpt__failed));
    fflush(stdout);
    pthread_mutex_unlock(&wpt__print_lock);
    return atomic_load(&wpt__failed) == 0 ? 0 : 1;
}

#define WPT_MAIN(tests)                                                             \
    int main(int argc, char **argv) {                                               \
        return wpt_main(argc, argv, tests, sizeof(tests) / sizeof((tests)[0]));     \
    }

#endif /* WP_TEST_H */
