/* worker.c - one node of a NATS JetStream work queue, with a workerpool.h
   pool as its engine. Run as many nodes as you like, on as many machines as
   you like: they share one durable pull consumer, so the broker hands each
   message to one node at a time, and a message a node took but did not
   acknowledge goes to another node once the consumer's ack wait has passed.

       worker --url nats://127.0.0.1:4222 --node A --sink sink.db [options]

   What a node does:
   - pulls (natsSubscription_Fetch) no more messages than its pool has free
     queue cells, and waits for room before pulling again: the pool's
     backpressure is the node's pull rate, and nothing is buffered beyond
     the pool's bounded queue;
   - turns each message into one job (the message's payload is its id);
   - replies from the job's completion callback: success -> ack; the task
     failed -> nak with a delay that doubles with each delivery; failed on
     delivery --max-deliver or later -> a record on the dead-letter subject
     (deduplicated by the broker on its message id), then term;
   - applies each success to an idempotent sink: a SQLite table keyed by the
     message id, written in one transaction with a running total, so a
     message delivered twice (its node died between the commit and the ack)
     changes nothing the second time;
   - on SIGTERM or SIGINT: stops pulling, drains the pool, replies for every
     job, flushes the replies to the broker and exits 0. What it never
     replied to is redelivered to the other nodes after the ack wait;
   - serves /metrics on 127.0.0.1 (--metrics-port): the pool's Prometheus
     text plus the messages fetched, acked, naked, termed and dead-lettered.

   Options (defaults in brackets):
     --url U            the NATS server [nats://127.0.0.1:4222]
     --stream S         the work-queue stream [WORK]
     --consumer C       its durable pull consumer [workers]
     --subject S        the stream's subject [work.jobs]
     --dead-subject S   where dead letters go [work.dead]
     --node N           this node's name, in the sink and the metrics [node]
     --workers N        pool workers [2]
     --capacity N       pool queue capacity: the most messages waiting here [64]
     --sink PATH|none   the SQLite sink (created if missing) [none]
     --journal PATH     append "F id delivery" per message pulled and
                        "R id delivery reply" per reply (for the test)
     --metrics-port N   serve /metrics on 127.0.0.1:N; 0 = a free port; the
                        line "metrics on http://127.0.0.1:PORT/metrics" says
                        which [off]
     --until-drained    exit 0 once the consumer has nothing pending or
                        unacknowledged anywhere and the pool is idle
     --max-seconds N    give up after N seconds: drain, exit 3 [600]
     --max-deliver N    deliveries before a failing message is dead [4]
     --nak-delay-ms N   the first nak's delay; doubles per delivery [100]
     --work-us N        extra time each job takes (a sleep) [0]
     --fail-every N     ids divisible by N always fail (a test fault) [0]
     --flaky-every N    ids divisible by N fail on their first delivery [0]
     --wedge-after N    after N acks, every later reply hangs (until
                        --max-seconds): a test fault, a node that stops
                        answering while it holds messages, each worker
                        between a job's sink commit and its ack [0 = off]

   Last line on exit: "node N: fetched .. acked .. naked .. termed .. dead ..
   first_fetch_ns .. last_reply_ns .." (wall-clock ns, for the benchmark).
   Exit status: 0 clean, 1 error, 2 bad command line, 3 --max-seconds hit.

   Thread safety of the NATS C client, as this file relies on it (nats.c
   3.4, src/js.c and src/conn.c): a natsConnection serialises its own
   writes, so any thread may publish, and natsMsg_Ack/Nak/NakWithDelay/Term
   only read the message's subscription fields that never change after the
   subscription is made and then publish through the connection; they do
   set a flag on the message itself without a lock, so each message is
   replied to by exactly one thread (its job's on_done, on a pool worker)
   and nobody else touches it meanwhile. js_Publish (the dead letter) may
   run on several workers at once. The subscription, the JetStream context
   and the connection outlive the pool: they are destroyed only after
   wp_pool_destroy has returned, so no reply can race their teardown.
   natsSubscription_Fetch is called only from the main thread.

   POSIX only (sockets, signals). -std=c11 hides the POSIX declarations,
   hence _POSIX_C_SOURCE 200809L before any include. */
#define _POSIX_C_SOURCE 200809L

#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"

#include <nats/nats.h>
#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* Job codes: why a task failed. */
enum { CODE_FLAKY = 1, CODE_ALWAYS = 2, CODE_SINK = 3 };

static struct {
    const char *url, *stream, *consumer, *subject, *dead_subject, *node;
    const char *sink, *journal;
    int workers, capacity, metrics_port, max_seconds, max_deliver, nak_delay_ms, work_us;
    uint64_t wedge_after;
    bool until_drained;
    uint64_t fail_every, flaky_every;
} opt = {
    .url = "nats://127.0.0.1:4222", .stream = "WORK", .consumer = "workers",
    .subject = "work.jobs", .dead_subject = "work.dead", .node = "node",
    .workers = 2, .capacity = 64, .metrics_port = -1, .max_seconds = 600,
    .max_deliver = 4, .nak_delay_ms = 100,
};

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static jsCtx *js;
static int journal_fd = -1;
static int64_t deadline_ns; /* start + --max-seconds, monotonic */

/* Counters for /metrics and the exit line; relaxed: each is read alone. */
static atomic_uint_fast64_t n_fetched, n_acked, n_naked, n_termed, n_dead, n_reply_errors,
    n_fetch_errors, n_sink_errors, n_refused;
static atomic_int_fast64_t first_fetch_ns, last_reply_ns;
/* Messages in the pool (submitted, not yet replied to). */
static atomic_int_fast64_t n_in_flight;

#define COUNT(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#define READ(c) ((unsigned long long)atomic_load_explicit(&(c), memory_order_relaxed))

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static int64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * WP_SEC(1) + ts.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    struct timespec ts = { (time_t)(ns / WP_SEC(1)), (long)(ns % WP_SEC(1)) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_signal) {
    }
}

/* One write(2) per record: O_APPEND makes each land whole even with the
   fetch thread and the workers writing at once, and the kernel keeps it
   when the process is killed right after. */
static void journal_write(const char *text, size_t len) {
    if (journal_fd < 0 || len == 0)
        return;
    while (len > 0) {
        ssize_t w = write(journal_fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        text += w;
        len -= (size_t)w;
    }
}

/* --- the sink ---------------------------------------------------------------
   effects holds one row per message id whose work succeeded; totals the
   count and sum of the amounts applied, changed in the same transaction as
   the insert and only when the insert added a row; attempts one row per run
   of a job (applied, duplicate, or the failure), for the test's accounting.
   One connection per pool worker, opened on its first job. */

typedef struct sink_conn {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback, *insert_effect, *add_total, *insert_attempt;
} sink_conn;

#define MAX_WORKERS 256 /* the most --workers takes */
static sink_conn sinks[MAX_WORKERS];

static const char sink_schema[] =
    "CREATE TABLE IF NOT EXISTS effects(id INTEGER PRIMARY KEY, amount INTEGER NOT NULL,"
    " node TEXT NOT NULL, delivery INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS totals(k INTEGER PRIMARY KEY, n INTEGER NOT NULL,"
    " sum INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO totals VALUES(0, 0, 0);"
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER NOT NULL, node TEXT NOT NULL,"
    " delivery INTEGER NOT NULL, outcome TEXT NOT NULL);";

/* SQLite's own busy handler sleeps a millisecond or more per retry; the
   writers here (every worker of every node) hold the lock for tens of
   microseconds, so retry sooner. Bounded: about 10 s in all. */
static int sink_busy(void *user, int tries) {
    (void)user;
    if (tries >= 20000)
        return 0;
    sleep_ns(tries < 10 ? 50 * 1000 : 500 * 1000);
    return 1;
}

static int sink_open(sink_conn *c) {
    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(opt.sink, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "%s: sink %s: %s\n", opt.node, opt.sink, sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        c->db = NULL;
        return -1;
    }
    sqlite3_busy_handler(c->db, sink_busy, NULL);
    /* WAL: readers never block the writer; NORMAL: a commit is durable
       against a process crash (a kill -9), which is what this tests;
       it is not fsynced against a power cut. */
    if (sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    struct {
        sqlite3_stmt **stmt;
        const char *sql;
    } s[] = {
        { &c->begin, "BEGIN IMMEDIATE" },
        { &c->commit, "COMMIT" },
        { &c->rollback, "ROLLBACK" },
        { &c->insert_effect,
          "INSERT OR IGNORE INTO effects(id, amount, node, delivery) VALUES(?1, ?2, ?3, ?4)" },
        { &c->add_total, "UPDATE totals SET n = n + 1, sum = sum + ?1 WHERE k = 0" },
        { &c->insert_attempt,
          "INSERT INTO attempts(id, node, delivery, outcome) VALUES(?1, ?2, ?3, ?4)" },
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (sqlite3_prepare_v2(c->db, s[i].sql, -1, s[i].stmt, NULL) != SQLITE_OK)
            goto fail;
    return 0;
fail:
    fprintf(stderr, "%s: sink: %s\n", opt.node, sqlite3_errmsg(c->db));
    return -1;
}

static void sink_close(sink_conn *c) {
    sqlite3_stmt *all[] = { c->begin, c->commit, c->rollback,
                            c->insert_effect, c->add_total, c->insert_attempt };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

/* Creates the tables and turns WAL on (it sticks to the file), once per
   node at start; every node does it, so IF NOT EXISTS. */
static int sink_init(void) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(opt.sink, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_handler(db, sink_busy, NULL);
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sink_schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: sink %s: %s\n", opt.node, opt.sink, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int step_done(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Records one run of message `id` (delivery `delivery`): with code 0 its
   effect, at most once per id, and in any case an attempt row. Returns 0
   when committed. */
static int sink_record(sink_conn *c, uint64_t id, uint64_t delivery, int code) {
    if (step_done(c->begin) != 0)
        return -1;
    const char *outcome = code == CODE_FLAKY ? "flaky" : code == CODE_ALWAYS ? "always" : "applied";
    if (code == 0) {
        sqlite3_bind_int64(c->insert_effect, 1, (sqlite3_int64)id);
        sqlite3_bind_int64(c->insert_effect, 2, (sqlite3_int64)id);
        sqlite3_bind_text(c->insert_effect, 3, opt.node, -1, SQLITE_STATIC);
        sqlite3_bind_int64(c->insert_effect, 4, (sqlite3_int64)delivery);
        if (step_done(c->insert_effect) != 0)
            goto fail;
        if (sqlite3_changes(c->db) == 1) {
            sqlite3_bind_int64(c->add_total, 1, (sqlite3_int64)id);
            if (step_done(c->add_total) != 0)
                goto fail;
        } else {
            outcome = "duplicate";
        }
    }
    sqlite3_bind_int64(c->insert_attempt, 1, (sqlite3_int64)id);
    sqlite3_bind_text(c->insert_attempt, 2, opt.node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->insert_attempt, 3, (sqlite3_int64)delivery);
    sqlite3_bind_text(c->insert_attempt, 4, outcome, -1, SQLITE_STATIC);
    if (step_done(c->insert_attempt) != 0 || step_done(c->commit) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "%s: sink: id %" PRIu64 ": %s\n", opt.node, id, sqlite3_errmsg(c->db));
    (void)step_done(c->rollback);
    return -1;
}

/* --- jobs and replies ------------------------------------------------------ */

typedef struct msg_job {
    natsMsg *msg;
    uint64_t id;
    uint64_t delivery; /* 1 for the first delivery */
} msg_job;

/* The fetch loop waits on this for room in the pool; on_done signals it. */
static pthread_mutex_t room_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t room_cond;

static int run_job(void *arg, wp_ctx *ctx) {
    msg_job *j = (msg_job *)arg;
    if (opt.work_us > 0)
        sleep_ns((int64_t)opt.work_us * 1000);
    int code = 0;
    if (opt.fail_every > 0 && j->id % opt.fail_every == 0)
        code = CODE_ALWAYS;
    else if (opt.flaky_every > 0 && j->id % opt.flaky_every == 0 && j->delivery == 1)
        code = CODE_FLAKY;
    if (opt.sink == NULL)
        return code;
    int w = wp_ctx_worker(ctx);
    if (w < 0 || w >= MAX_WORKERS)
        return CODE_SINK; /* not run by a worker: this pool never does that */
    sink_conn *c = &sinks[w];
    if (c->db == NULL && sink_open(c) != 0) {
        sink_close(c);
        COUNT(n_sink_errors);
        return CODE_SINK;
    }
    if (sink_record(c, j->id, j->delivery, code) != 0) {
        COUNT(n_sink_errors);
        return CODE_SINK;
    }
    return code;
}

/* Publishes the dead letter, deduplicated by the broker on its message id
   (a node killed between this and the term republishes it: stored once). */
static bool dead_letter(const msg_job *j, int code) {
    char id[48], body[160];
    snprintf(id, sizeof id, "dead-%" PRIu64, j->id);
    int n = snprintf(body, sizeof body, "%" PRIu64 " deliveries=%" PRIu64 " code=%d node=%s",
                     j->id, j->delivery, code, opt.node);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_Publish(&pa, js, opt.dead_subject, body, n, &po, &jerr);
    jsPubAck_Destroy(pa);
    if (s != NATS_OK)
        fprintf(stderr, "%s: dead letter %" PRIu64 ": %s (%d)\n", opt.node, j->id,
                natsStatus_GetText(s), (int)jerr);
    return s == NATS_OK;
}

/* The job's outcome decides the reply; runs on the worker that ran it. */
static void on_done(const wp_result *r) {
    msg_job *j = (msg_job *)r->arg;
    const char *reply;
    natsStatus s;
    if (opt.wedge_after > 0 && READ(n_acked) >= opt.wedge_after)
        while (mono_ns() < deadline_ns)
            sleep_ns(WP_MS(100));
    if (r->status == WP_OK) {
        s = natsMsg_Ack(j->msg, NULL);
        reply = "ack";
        COUNT(n_acked);
    } else if (r->status == WP_TASK_FAILED && j->delivery >= (uint64_t)opt.max_deliver &&
               dead_letter(j, r->code)) {
        s = natsMsg_Term(j->msg, NULL);
        reply = "term";
        COUNT(n_dead);
        COUNT(n_termed);
    } else if (r->status == WP_TASK_FAILED) {
        int shift = j->delivery > 10 ? 10 : (int)j->delivery - 1;
        s = natsMsg_NakWithDelay(j->msg, (int64_t)opt.nak_delay_ms << shift, NULL);
        reply = "nak";
        COUNT(n_naked);
    } else {
        /* Never ran (a drain at shutdown that ran out of time): give it back
           at once, for another node. */
        s = natsMsg_Nak(j->msg, NULL);
        reply = "nak";
        COUNT(n_naked);
    }
    if (s != NATS_OK)
        COUNT(n_reply_errors);
    char line[96];
    int n = snprintf(line, sizeof line, "R %" PRIu64 " %" PRIu64 " %s\n", j->id, j->delivery,
                     s == NATS_OK ? reply : "error");
    journal_write(line, (size_t)n);
    atomic_store_explicit(&last_reply_ns, wall_ns(), memory_order_relaxed);
    natsMsg_Destroy(j->msg);
    free(j);
    atomic_fetch_sub_explicit(&n_in_flight, 1, memory_order_relaxed);
    pthread_mutex_lock(&room_lock);
    pthread_cond_signal(&room_cond);
    pthread_mutex_unlock(&room_lock);
}

/* --- /metrics ---------------------------------------------------------------
   One thread, one request at a time: enough for a scraper. */

static wp_pool *pool;
static atomic_bool metrics_stop;
static char metrics_body[1 << 16];

static int metrics_text(void) {
    wp_stats st;
    if (wp_pool_stats(pool, &st) != WP_OK)
        return -1;
    int n = wp_stats_format_prometheus(&st, metrics_body, sizeof metrics_body);
    if (n < 0 || (size_t)n >= sizeof metrics_body)
        return -1;
    static const struct {
        const char *name, *help;
    } names[] = {
        { "fetched", "Messages this node pulled from the consumer." },
        { "acked", "Messages acknowledged after their job succeeded." },
        { "naked", "Messages given back for redelivery (failed, or never run at shutdown)." },
        { "termed", "Messages terminated after their last allowed delivery." },
        { "dead_lettered", "Dead letters published (one per termed message)." },
        { "reply_errors", "Replies the client library refused." },
        { "fetch_errors", "Pulls that failed (other than finding nothing)." },
        { "sink_errors", "Sink transactions that failed (the message was naked)." },
        { "refused", "Messages the pool refused (naked at once)." },
    };
    unsigned long long v[] = { READ(n_fetched), READ(n_acked), READ(n_naked),
                               READ(n_termed), READ(n_dead), READ(n_reply_errors),
                               READ(n_fetch_errors), READ(n_sink_errors), READ(n_refused) };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int m = snprintf(metrics_body + n, sizeof metrics_body - (size_t)n,
                         "# HELP jetstream_messages_%s_total %s\n"
                         "# TYPE jetstream_messages_%s_total counter\n"
                         "jetstream_messages_%s_total{node=\"%s\"} %llu\n",
                         names[i].name, names[i].help, names[i].name, names[i].name, opt.node,
                         v[i]);
        if (m < 0 || (size_t)m >= sizeof metrics_body - (size_t)n)
            return -1;
        n += m;
    }
    int m = snprintf(metrics_body + n, sizeof metrics_body - (size_t)n,
                     "# HELP jetstream_messages_in_flight Messages pulled into the pool and not yet"
                     " replied to.\n"
                     "# TYPE jetstream_messages_in_flight gauge\n"
                     "jetstream_messages_in_flight{node=\"%s\"} %lld\n",
                     opt.node, (long long)atomic_load(&n_in_flight));
    if (m < 0 || (size_t)m >= sizeof metrics_body - (size_t)n)
        return -1;
    return n + m;
}

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

static void serve_one(int fd) {
    char req[1024];
    size_t got = 0;
    /* Read the request head, at most 1 s and sizeof req bytes. */
    for (int waited = 0; got < sizeof req - 1 && waited < 10;) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0) {
            waited++;
            continue;
        }
        ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    char head[192];
    int len = -1;
    const char *status = "404 Not Found";
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
        len = metrics_text();
        status = len < 0 ? "500 Internal Server Error" : "200 OK";
    }
    const char *body = len >= 0 ? metrics_body : "";
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n",
                     status, len >= 0 ? len : 0);
    send_all(fd, head, (size_t)h);
    send_all(fd, body, len >= 0 ? (size_t)len : 0);
}

static void *metrics_main(void *p) {
    int lfd = *(int *)p;
    while (!atomic_load(&metrics_stop)) {
        struct pollfd pl = { lfd, POLLIN, 0 };
        if (poll(&pl, 1, 100) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(fd);
        close(fd);
    }
    return NULL;
}

static int metrics_listen(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    printf("metrics on http://127.0.0.1:%d/metrics\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

/* --- the pull loop --------------------------------------------------------- */

/* True once the consumer has nothing left for anyone: nothing pending,
   nothing delivered and unacknowledged (naked messages waiting out their
   delay count as unacknowledged), and this pool idle. */
static bool drained(void) {
    wp_stats st;
    if (wp_pool_stats(pool, &st) != WP_OK || st.queue_depth > 0 || st.active > 0)
        return false;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (js_GetConsumerInfo(&ci, js, opt.stream, opt.consumer, NULL, &jerr) != NATS_OK)
        return false;
    bool done = ci->NumPending == 0 && ci->NumAckPending == 0;
    jsConsumerInfo_Destroy(ci);
    return done;
}

/* Reads a fetched message's id and delivery count into a new job; a
   message that cannot become a job is replied to here and NULL returned. */
static msg_job *job_for(natsMsg *msg) {
    jsMsgMetaData *meta = NULL;
    uint64_t delivery = 1;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK)
        delivery = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
    char text[32] = "";
    int len = natsMsg_GetDataLength(msg);
    if (len > 0 && len < (int)sizeof text)
        memcpy(text, natsMsg_GetData(msg), (size_t)len);
    char *end = NULL;
    uint64_t id = strtoull(text, &end, 10);
    if (id == 0 || end == text || *end != '\0') {
        /* Not a job: no node could ever run it, so keep it from coming back. */
        fprintf(stderr, "%s: not a job id: \"%s\", terminated\n", opt.node, text);
        (void)natsMsg_Term(msg, NULL);
        COUNT(n_termed);
        natsMsg_Destroy(msg);
        return NULL;
    }
    msg_job *j = (msg_job *)malloc(sizeof *j);
    if (j == NULL) {
        (void)natsMsg_Nak(msg, NULL);
        COUNT(n_naked);
        natsMsg_Destroy(msg);
        return NULL;
    }
    *j = (msg_job){ .msg = msg, .id = id, .delivery = delivery };
    return j;
}

#define MAX_BATCH 4096

/* Pulls until told to stop; returns the exit status it asks for. */
static int pull_loop(natsSubscription *sub) {
    wp_stats st;
    if (wp_pool_stats(pool, &st) != WP_OK)
        return 1;
    /* Pull again once a quarter of the queue is free, so that each request
       fetches a worthwhile batch rather than one message per completion. */
    const size_t low_water = st.queue_capacity / 4 > 0 ? st.queue_capacity / 4 : 1;
    static msg_job *jobs[MAX_BATCH];
    static char journal[MAX_BATCH * 48]; /* one journal write per batch */
    for (;;) {
        if (stop_signal)
            return 0;
        if (mono_ns() >= deadline_ns) {
            fprintf(stderr, "%s: --max-seconds %d reached\n", opt.node, opt.max_seconds);
            return 3;
        }
        if (wp_pool_stats(pool, &st) != WP_OK)
            return 1;
        /* Free room: capacity minus queued jobs, minus jobs fetched and not
           yet submitted (none here: each batch is submitted before the next
           pull). Only this thread submits, so room can only grow meanwhile. */
        size_t room = st.queue_capacity > st.queue_depth ? st.queue_capacity - st.queue_depth : 0;
        if (room < low_water) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += 20 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_mutex_lock(&room_lock);
            (void)pthread_cond_timedwait(&room_cond, &room_lock, &until);
            pthread_mutex_unlock(&room_lock);
            continue;
        }
        int batch = room > MAX_BATCH ? MAX_BATCH : (int)room;
        natsMsgList list = { NULL, 0 };
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, batch, 200, &jerr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
            natsMsgList_Destroy(&list);
            if (opt.until_drained && drained())
                return 0;
            continue;
        }
        if (s != NATS_OK) {
            COUNT(n_fetch_errors);
            fprintf(stderr, "%s: fetch: %s (%d)\n", opt.node, natsStatus_GetText(s), (int)jerr);
            natsMsgList_Destroy(&list);
            sleep_ns(WP_MS(100));
            continue;
        }
        int_fast64_t none = 0;
        atomic_compare_exchange_strong(&first_fetch_ns, &none, wall_ns());
        atomic_fetch_add_explicit(&n_fetched, (uint_fast64_t)list.Count, memory_order_relaxed);
        int count = 0;
        size_t jl = 0;
        for (int i = 0; i < list.Count && i < MAX_BATCH; i++) {
            msg_job *j = job_for(list.Msgs[i]);
            list.Msgs[i] = NULL; /* ours now: natsMsgList_Destroy skips it */
            if (j == NULL)
                continue;
            jobs[count++] = j;
            jl += (size_t)snprintf(journal + jl, sizeof journal - jl, "F %" PRIu64 " %" PRIu64 "\n",
                                   j->id, j->delivery);
        }
        natsMsgList_Destroy(&list);
        /* Every F line is written before any of these jobs can reply. */
        journal_write(journal, jl);
        for (int i = 0; i < count; i++) {
            msg_job *j = jobs[i];
            wp_job job = { .fn = run_job, .arg = j, .id = j->id, .on_done = on_done };
            /* Counted before the submit: on_done may run before it returns. */
            atomic_fetch_add_explicit(&n_in_flight, 1, memory_order_relaxed);
            if (wp_submit_job(pool, &job) != WP_OK) {
                atomic_fetch_sub_explicit(&n_in_flight, 1, memory_order_relaxed);
                /* The room check makes this unreachable short of a closed
                   pool; the message would go straight back to the broker. */
                (void)natsMsg_Nak(j->msg, NULL);
                COUNT(n_refused);
                COUNT(n_naked);
                natsMsg_Destroy(j->msg);
                free(j);
            }
        }
    }
}

/* --- main ------------------------------------------------------------------ */

static int usage(const char *why) {
    fprintf(stderr, "worker: %s (see the comment at the top of examples/jetstream/worker.c)\n", why);
    return 2;
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--until-drained") == 0) {
            opt.until_drained = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage("an option is missing its value");
        const char *v = argv[++i];
        long n = 0;
        if (strcmp(a, "--url") == 0) opt.url = v;
        else if (strcmp(a, "--stream") == 0) opt.stream = v;
        else if (strcmp(a, "--consumer") == 0) opt.consumer = v;
        else if (strcmp(a, "--subject") == 0) opt.subject = v;
        else if (strcmp(a, "--dead-subject") == 0) opt.dead_subject = v;
        else if (strcmp(a, "--node") == 0) opt.node = v;
        else if (strcmp(a, "--sink") == 0) opt.sink = strcmp(v, "none") == 0 ? NULL : v;
        else if (strcmp(a, "--journal") == 0) opt.journal = v;
        else if (strcmp(a, "--workers") == 0 && parse_int(v, 1, MAX_WORKERS, &n)) opt.workers = (int)n;
        else if (strcmp(a, "--capacity") == 0 && parse_int(v, 1, 4096, &n)) opt.capacity = (int)n;
        else if (strcmp(a, "--metrics-port") == 0 && parse_int(v, 0, 65535, &n)) opt.metrics_port = (int)n;
        else if (strcmp(a, "--max-seconds") == 0 && parse_int(v, 1, 86400, &n)) opt.max_seconds = (int)n;
        else if (strcmp(a, "--max-deliver") == 0 && parse_int(v, 1, 1000, &n)) opt.max_deliver = (int)n;
        else if (strcmp(a, "--nak-delay-ms") == 0 && parse_int(v, 1, 60000, &n)) opt.nak_delay_ms = (int)n;
        else if (strcmp(a, "--work-us") == 0 && parse_int(v, 0, 10000000, &n)) opt.work_us = (int)n;
        else if (strcmp(a, "--wedge-after") == 0 && parse_int(v, 0, 1L << 30, &n)) opt.wedge_after = (uint64_t)n;
        else if (strcmp(a, "--fail-every") == 0 && parse_int(v, 0, 1L << 30, &n)) opt.fail_every = (uint64_t)n;
        else if (strcmp(a, "--flaky-every") == 0 && parse_int(v, 0, 1L << 30, &n)) opt.flaky_every = (uint64_t)n;
        else return usage("unknown option or bad value");
    }

    deadline_ns = mono_ns() + WP_SEC(opt.max_seconds);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&room_cond, &ca);
    pthread_condattr_destroy(&ca);

    if (opt.journal != NULL) {
        journal_fd = open(opt.journal, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (journal_fd < 0) {
            perror(opt.journal);
            return 1;
        }
    }
    if (opt.sink != NULL && sink_init() != 0)
        return 1;

    int rc = 1;
    natsConnection *nc = NULL;
    natsOptions *no = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsOptions_Create(&no);
    if (s == NATS_OK)
        s = natsOptions_SetURL(no, opt.url);
    if (s == NATS_OK)
        s = natsOptions_SetName(no, opt.node);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, no);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK) {
        /* Bind to the consumer made by whoever set the stream up: the
           subscription never creates or deletes it. */
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = opt.stream;
        so.Consumer = opt.consumer;
        s = js_PullSubscribe(&sub, js, opt.subject, opt.consumer, NULL, &so, &jerr);
    }
    if (s != NATS_OK) {
        fprintf(stderr, "%s: %s: %s (%d) %s\n", opt.node, opt.url, natsStatus_GetText(s), (int)jerr,
                nats_GetLastError(NULL));
        goto out;
    }

    wp_config cfg = {
        .name = "jetstream",
        .max_workers = opt.workers,
        .scaling.min_workers = opt.workers,
        .queue_capacity = (size_t)opt.capacity,
        /* Never met: a pull asks for no more than the free room. */
        .backpressure = WP_BLOCK,
    };
    if (wp_pool_create(&cfg, &pool) != WP_OK) {
        fprintf(stderr, "%s: wp_pool_create failed\n", opt.node);
        goto out;
    }
    pthread_t metrics_thread;
    int lfd = -1;
    if (opt.metrics_port >= 0) {
        lfd = metrics_listen(opt.metrics_port);
        if (lfd < 0 || pthread_create(&metrics_thread, NULL, metrics_main, &lfd) != 0) {
            fprintf(stderr, "%s: cannot serve /metrics on port %d\n", opt.node, opt.metrics_port);
            if (lfd >= 0)
                close(lfd);
            lfd = -1;
            wp_pool_destroy(pool);
            goto out;
        }
    }

    rc = pull_loop(sub);

    /* Shutdown: no more pulls; let every job run and reply (a job not
       started within 20 s is canceled, and its on_done naks it). */
    if (wp_pool_close(pool, WP_DRAIN, WP_SEC(20)) != WP_OK)
        fprintf(stderr, "%s: drain timed out: unstarted jobs were given back\n", opt.node);
    if (lfd >= 0) {
        atomic_store(&metrics_stop, true);
        pthread_join(metrics_thread, NULL);
        close(lfd);
    }
    wp_pool_destroy(pool);
    /* The replies sit in the connection's buffer: a PING/PONG round trip
       returns once the server has read all of them. */
    s = natsConnection_FlushTimeout(nc, 5000);
    if (s != NATS_OK) {
        fprintf(stderr, "%s: flush: %s\n", opt.node, natsStatus_GetText(s));
        rc = rc == 0 ? 1 : rc;
    }

out:
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(no);
    for (int w = 0; w < MAX_WORKERS; w++)
        if (sinks[w].db != NULL)
            sink_close(&sinks[w]);
    if (journal_fd >= 0)
        close(journal_fd);
    printf("node %s: fetched %llu acked %llu naked %llu termed %llu dead %llu refused %llu"
           " reply_errors %llu sink_errors %llu first_fetch_ns %lld last_reply_ns %lld exit %d\n",
           opt.node, READ(n_fetched), READ(n_acked), READ(n_naked), READ(n_termed), READ(n_dead),
           READ(n_refused), READ(n_reply_errors), READ(n_sink_errors),
           (long long)atomic_load(&first_fetch_ns), (long long)atomic_load(&last_reply_ns), rc);
    nats_Close();
    return rc;
}
