/* jsctl.c - sets up, feeds and checks the JetStream work queue that
   worker.c nodes serve (used by test.sh and bench.sh).

     jsctl setup   --url U [--ack-wait-ms 3000]
         (Re)creates the stream WORK (subject work.jobs, work-queue
         retention: a message leaves the stream once acked or termed), the
         stream DEAD (subject work.dead: the dead letters) and the durable
         pull consumer "workers" on WORK (explicit acks, the given ack wait,
         no delivery limit of its own: the nodes decide when a message is
         dead).
     jsctl publish --url U --count N
         Publishes the ids 1..N to work.jobs, each with message id "job-ID"
         (the stream drops a duplicate publish), then checks WORK holds N.
     jsctl status  --url U
         One line: messages in WORK and DEAD, the consumer's pending,
         unacknowledged, redelivered and waiting-pull counts.
     jsctl scrape  PORT
         GET http://127.0.0.1:PORT/metrics; prints the body.
     jsctl check   --url U --sink DB --count N --fail-every F --flaky-every K
                   --max-deliver M --killed NODE --killed-journal FILE
                   --stopped NODE --stopped-journal FILE
         The end-of-run checks of test.sh: one "ok ..." or "FAIL ..." line
         each, a summary of what happened to the killed node's messages,
         and exit status 0 only if every check passed.

   Exit status: 0 done, 1 failed, 2 bad command line. POSIX only. */
#define _POSIX_C_SOURCE 200809L

#include <nats/nats.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WORK_STREAM "WORK"
#define WORK_SUBJECT "work.jobs"
#define DEAD_STREAM "DEAD"
#define DEAD_SUBJECT "work.dead"
#define CONSUMER "workers"

static struct {
    const char *url, *sink, *killed, *killed_journal, *stopped, *stopped_journal;
    long count, ack_wait_ms, fail_every, flaky_every, max_deliver;
} opt = { .url = "nats://127.0.0.1:4222", .ack_wait_ms = 3000, .max_deliver = 4 };

static natsConnection *nc;
static jsCtx *js;

static int connect_js(void) {
    natsStatus s = natsConnection_ConnectTo(&nc, opt.url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    if (s != NATS_OK) {
        fprintf(stderr, "jsctl: %s: %s\n", opt.url, natsStatus_GetText(s));
        return -1;
    }
    return 0;
}

static void disconnect_js(void) {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    js = NULL;
    nc = NULL;
}

static int fail_nats(const char *what, natsStatus s, jsErrCode jerr) {
    fprintf(stderr, "jsctl: %s: %s (%d) %s\n", what, natsStatus_GetText(s), (int)jerr,
            nats_GetLastError(NULL));
    return 1;
}

/* --- setup ------------------------------------------------------------------ */

static int add_stream(const char *name, const char *subject, jsRetentionPolicy retention) {
    jsErrCode jerr = 0;
    (void)js_DeleteStream(js, name, NULL, &jerr); /* absent on a fresh server */
    const char *subjects[] = { subject };
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = retention;
    sc.Storage = js_FileStorage;
    sc.Duplicates = (int64_t)600 * 1000000000; /* dedup window for msg ids */
    jsStreamInfo *si = NULL;
    natsStatus s = js_AddStream(&si, js, &sc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    return s == NATS_OK ? 0 : fail_nats(name, s, jerr);
}

static int cmd_setup(void) {
    if (add_stream(WORK_STREAM, WORK_SUBJECT, js_WorkQueuePolicy) != 0 ||
        add_stream(DEAD_STREAM, DEAD_SUBJECT, js_LimitsPolicy) != 0)
        return 1;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = CONSUMER;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)opt.ack_wait_ms * 1000000;
    cc.MaxDeliver = -1;
    /* Room for every node's pool to be full at once. */
    cc.MaxAckPending = 100000;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, js, WORK_STREAM, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        return fail_nats("consumer", s, jerr);
    printf("setup: streams %s, %s; consumer %s (ack wait %ld ms)\n", WORK_STREAM, DEAD_STREAM,
           CONSUMER, opt.ack_wait_ms);
    return 0;
}

/* --- publish ---------------------------------------------------------------- */

static int stream_msgs(const char *name, uint64_t *msgs) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, name, NULL, &jerr);
    if (s != NATS_OK)
        return fail_nats(name, s, jerr);
    *msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return 0;
}

static int cmd_publish(void) {
    natsStatus s = NATS_OK;
    char id[32], body[32];
    jsCtx *pjs = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    s = natsConnection_JetStream(&pjs, nc, &jo);
    for (long i = 1; s == NATS_OK && i <= opt.count; i++) {
        snprintf(id, sizeof id, "job-%ld", i);
        int n = snprintf(body, sizeof body, "%ld", i);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id;
        s = js_PublishAsync(pjs, WORK_SUBJECT, body, n, &po);
    }
    if (s == NATS_OK) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        s = js_PublishAsyncComplete(pjs, &po);
    }
    jsCtx_Destroy(pjs);
    if (s != NATS_OK)
        return fail_nats("publish", s, 0);
    uint64_t msgs = 0;
    if (stream_msgs(WORK_STREAM, &msgs) != 0)
        return 1;
    printf("publish: %ld messages, stream %s holds %" PRIu64 "\n", opt.count, WORK_STREAM, msgs);
    return msgs == (uint64_t)opt.count ? 0 : 1;
}

/* --- status ----------------------------------------------------------------- */

static int cmd_status(void) {
    uint64_t work = 0, dead = 0;
    if (stream_msgs(WORK_STREAM, &work) != 0 || stream_msgs(DEAD_STREAM, &dead) != 0)
        return 1;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, WORK_STREAM, CONSUMER, NULL, &jerr);
    if (s != NATS_OK)
        return fail_nats("consumer", s, jerr);
    printf("status: %s %" PRIu64 " messages, %s %" PRIu64 "; consumer %s: pending %" PRIu64
           ", unacknowledged %" PRId64 ", redelivered %" PRId64 ", waiting pulls %" PRId64 "\n",
           WORK_STREAM, work, DEAD_STREAM, dead, CONSUMER, ci->NumPending, ci->NumAckPending,
           ci->NumRedelivered, ci->NumWaiting);
    jsConsumerInfo_Destroy(ci);
    return 0;
}

/* --- scrape ----------------------------------------------------------------- */

static int cmd_scrape(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 1;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return 1;
    }
    static char buf[1 << 17];
    size_t got = 0;
    for (int idle = 0; got < sizeof buf - 1 && idle < 20;) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0) {
            idle++;
            continue;
        }
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.0 200", 12) != 0 || body == NULL)
        return 1;
    fputs(body + 4, stdout);
    return 0;
}

/* --- check ------------------------------------------------------------------ */

static int passed, failed;

static void verdict(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok   " : "FAIL ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

static sqlite3 *db;

/* The first column of the first row of `sql` as an integer (-1 on error). */
static long long q1(const char *sql) {
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "jsctl: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static bool exec_sql(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
        return true;
    fprintf(stderr, "jsctl: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return false;
}

/* Loads a node's journal into the temp tables fetched_<tag>(id, delivery)
   and replied_<tag>(id, delivery, reply). */
static bool load_journal(const char *path, const char *tag) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE fetched_%s(id INTEGER, delivery INTEGER);"
             "CREATE TEMP TABLE replied_%s(id INTEGER, delivery INTEGER, reply TEXT);"
             "CREATE INDEX temp.replied_%s_id ON replied_%s(id, delivery);",
             tag, tag, tag, tag);
    if (!exec_sql(sql))
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return false;
    }
    sqlite3_stmt *fs = NULL, *rs = NULL;
    char sf[96], sr[96];
    snprintf(sf, sizeof sf, "INSERT INTO fetched_%s VALUES(?1, ?2)", tag);
    snprintf(sr, sizeof sr, "INSERT INTO replied_%s VALUES(?1, ?2, ?3)", tag);
    bool ok = exec_sql("BEGIN") && sqlite3_prepare_v2(db, sf, -1, &fs, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(db, sr, -1, &rs, NULL) == SQLITE_OK;
    char line[128];
    while (ok && fgets(line, sizeof line, f) != NULL) {
        char kind = 0, reply[16] = "";
        unsigned long long id = 0, delivery = 0;
        int n = sscanf(line, "%c %llu %llu %15s", &kind, &id, &delivery, reply);
        sqlite3_stmt *st = kind == 'F' && n >= 3 ? fs : kind == 'R' && n == 4 ? rs : NULL;
        if (st == NULL)
            continue; /* a torn last line of a killed node */
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)delivery);
        if (st == rs)
            sqlite3_bind_text(st, 3, reply, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    fclose(f);
    sqlite3_finalize(fs);
    sqlite3_finalize(rs);
    return ok && exec_sql("COMMIT");
}

static int cmd_check(void) {
    if (sqlite3_open_v2(opt.sink, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "jsctl: %s: %s\n", opt.sink, sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_busy_timeout(db, 10000);
    char sql[1024];
    const long n = opt.count, fe = opt.fail_every, fl = opt.flaky_every;
    const long dead_ids = fe > 0 ? n / fe : 0;
    const long ok_ids = n - dead_ids;
    long long want_sum = (long long)n * (n + 1) / 2 - (long long)fe * dead_ids * (dead_ids + 1) / 2;

    /* 1. Every id's effect exactly once, none lost. */
    long long effects = q1("SELECT count(*) FROM effects");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM effects WHERE id < 1 OR id > %ld OR (%ld > 0 AND id %% %ld = 0)",
             n, fe, fe > 0 ? fe : 1);
    long long stray = q1(sql);
    verdict(effects == ok_ids && stray == 0,
            "sink: %lld effects for the %ld ids that can succeed (ids 1..%ld, none divisible by %ld):"
            " every one present, none extra (%lld outside)",
            effects, ok_ids, n, fe, stray);
    long long tn = q1("SELECT n FROM totals WHERE k = 0"), ts = q1("SELECT sum FROM totals WHERE k = 0");
    verdict(tn == ok_ids && ts == want_sum,
            "sink: running total applied once per id: count %lld (want %ld), sum %lld (want %lld)",
            tn, ok_ids, ts, want_sum);
    long long dups = q1("SELECT count(*) FROM attempts WHERE outcome = 'duplicate'");
    long long runs = q1("SELECT count(*) FROM attempts");
    printf("     %lld job runs in all; %lld redelivered successes found their effect already"
           " recorded and changed nothing\n", runs, dups);

    /* 2. Transient failures: each was retried and applied. */
    long long flaky = q1("SELECT count(*) FROM attempts WHERE outcome = 'flaky'");
    long long flaky_lost = q1("SELECT count(*) FROM attempts a WHERE outcome = 'flaky' AND"
                              " NOT EXISTS (SELECT 1 FROM effects e WHERE e.id = a.id)");
    verdict(fl == 0 || (flaky > 0 && flaky_lost == 0),
            "retry: %lld first deliveries failed transiently (ids divisible by %ld), naked with a"
            " delay; %lld of them not applied later",
            flaky, fl, flaky_lost);

    /* 3. Permanent failures: dead-lettered exactly once each, after at
       least max_deliver runs. */
    uint64_t dead_msgs = 0, work_msgs = 0;
    if (connect_js() != 0 || stream_msgs(DEAD_STREAM, &dead_msgs) != 0 ||
        stream_msgs(WORK_STREAM, &work_msgs) != 0)
        return 1;
    if (!exec_sql("CREATE TEMP TABLE dead(id INTEGER)"))
        return 1;
    for (uint64_t seq = 1; seq <= dead_msgs + 16; seq++) {
        natsMsg *m = NULL;
        jsErrCode jerr = 0;
        if (js_GetMsg(&m, js, DEAD_STREAM, seq, NULL, &jerr) != NATS_OK)
            continue;
        unsigned long long id = strtoull(natsMsg_GetData(m), NULL, 10);
        snprintf(sql, sizeof sql, "INSERT INTO dead VALUES(%llu)", id);
        exec_sql(sql);
        natsMsg_Destroy(m);
    }
    long long dead_distinct = q1("SELECT count(DISTINCT id) FROM dead");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM dead WHERE %ld = 0 OR id %% %ld <> 0", fe,
             fe > 0 ? fe : 1);
    long long dead_wrong = q1(sql);
    verdict((long long)dead_msgs == dead_ids && dead_distinct == dead_ids && dead_wrong == 0,
            "dead letters: %" PRIu64 " in %s, %lld distinct ids, %lld not meant to fail"
            " (want %ld: the ids divisible by %ld)",
            dead_msgs, DEAD_STREAM, dead_distinct, dead_wrong, dead_ids, fe);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT id, max(delivery) AS d FROM attempts WHERE outcome ="
             " 'always' GROUP BY id) WHERE d < %ld",
             opt.max_deliver);
    long long early = q1(sql);
    verdict(fe == 0 || early == 0,
            "dead letters: every dead id ran on its delivery %ld or later before being termed"
            " (%lld did not)",
            opt.max_deliver, early);

    /* 4. Nothing left behind in the broker. */
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, WORK_STREAM, CONSUMER, NULL, &jerr);
    verdict(s == NATS_OK && work_msgs == 0 && ci->NumPending == 0 && ci->NumAckPending == 0,
            "broker: stream %s holds %" PRIu64 " messages, consumer has %" PRIu64
            " pending and %" PRId64 " unacknowledged (want 0, 0, 0)",
            WORK_STREAM, work_msgs, s == NATS_OK ? ci->NumPending : 0,
            s == NATS_OK ? ci->NumAckPending : -1);
    jsConsumerInfo_Destroy(ci);
    disconnect_js();

    /* 5. The killed node: what it held when it died went to the others. */
    exec_sql("CREATE INDEX IF NOT EXISTS attempts_id ON attempts(id)");
    if (!load_journal(opt.killed_journal, "k") || !load_journal(opt.stopped_journal, "s"))
        return 1;
    exec_sql("CREATE TEMP TABLE inflight AS SELECT f.id, f.delivery FROM fetched_k f WHERE NOT"
             " EXISTS (SELECT 1 FROM replied_k r WHERE r.id = f.id AND r.delivery = f.delivery)");
    long long fetched_k = q1("SELECT count(*) FROM fetched_k");
    long long inflight = q1("SELECT count(*) FROM inflight");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM inflight f WHERE EXISTS (SELECT 1 FROM attempts a WHERE"
             " a.id = f.id AND a.node <> '%s' AND a.delivery > f.delivery)",
             opt.killed);
    long long redelivered = q1(sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM inflight f WHERE EXISTS (SELECT 1 FROM attempts a WHERE"
             " a.id = f.id AND a.node = '%s' AND a.delivery = f.delivery)",
             opt.killed);
    long long ran_unreplied = q1(sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM inflight f WHERE EXISTS (SELECT 1 FROM effects e WHERE"
             " e.id = f.id AND e.node = '%s')",
             opt.killed);
    long long effect_by_killed = q1(sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM inflight f WHERE EXISTS (SELECT 1 FROM effects e WHERE"
             " e.id = f.id AND e.node = '%s') AND EXISTS (SELECT 1 FROM attempts a WHERE"
             " a.id = f.id AND a.node <> '%s' AND a.outcome = 'duplicate')",
             opt.killed, opt.killed);
    long long found_dup = q1(sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM inflight f WHERE (%ld > 0 AND f.id %% %ld = 0) OR EXISTS"
             " (SELECT 1 FROM effects e WHERE e.id = f.id)",
             fe, fe > 0 ? fe : 1);
    long long settled = q1(sql);
    verdict(inflight > 0 && redelivered == inflight && settled == inflight,
            "killed node %s: pulled %lld deliveries; %lld were in flight (pulled, not replied to)"
            " when kill -9 hit; %lld of them redelivered to another node; %lld settled",
            opt.killed, fetched_k, inflight, redelivered, settled);
    verdict(ran_unreplied > 0 && found_dup == effect_by_killed,
            "killed node %s: %lld of those had run and committed, unacknowledged (%lld effects);"
            " on redelivery each effect was found already recorded and not applied again (%lld);"
            " the other %lld never ran on %s",
            opt.killed, ran_unreplied, effect_by_killed, found_dup, inflight - ran_unreplied,
            opt.killed);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM replied_k r WHERE r.reply = 'ack' AND EXISTS (SELECT 1 FROM"
             " attempts a WHERE a.id = r.id AND a.node <> '%s' AND a.delivery > r.delivery)",
             opt.killed);
    long long acks_lost = q1(sql);
    printf("     besides: %lld acks %s had written into its connection's buffer never reached the"
           " broker; those messages were redelivered too\n",
           acks_lost, opt.killed);

    /* 6. The node stopped with SIGTERM replied to everything it pulled. */
    long long fetched_s = q1("SELECT count(*) FROM fetched_s");
    long long open_s = q1("SELECT count(*) FROM fetched_s f WHERE NOT EXISTS (SELECT 1 FROM"
                          " replied_s r WHERE r.id = f.id AND r.delivery = f.delivery)");
    verdict(fetched_s > 0 && open_s == 0,
            "stopped node %s: pulled %lld deliveries, left %lld without a reply after SIGTERM"
            " (want 0: it drains and replies before exiting)",
            opt.stopped, fetched_s, open_s);

    sqlite3_close(db);
    printf("check: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/* --- main ------------------------------------------------------------------- */

static int usage(const char *why) {
    fprintf(stderr, "jsctl: %s (see the comment at the top of examples/jetstream/jsctl.c)\n", why);
    return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage("no command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "scrape") == 0) {
        long port = 0;
        if (argc != 3 || !parse_long(argv[2], 1, 65535, &port))
            return usage("scrape PORT");
        return cmd_scrape((int)port);
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage("an option is missing its value");
        const char *v = argv[++i];
        if (strcmp(a, "--url") == 0) opt.url = v;
        else if (strcmp(a, "--sink") == 0) opt.sink = v;
        else if (strcmp(a, "--killed") == 0) opt.killed = v;
        else if (strcmp(a, "--killed-journal") == 0) opt.killed_journal = v;
        else if (strcmp(a, "--stopped") == 0) opt.stopped = v;
        else if (strcmp(a, "--stopped-journal") == 0) opt.stopped_journal = v;
        else if (strcmp(a, "--count") == 0 && parse_long(v, 1, 100000000, &opt.count)) {}
        else if (strcmp(a, "--ack-wait-ms") == 0 && parse_long(v, 100, 600000, &opt.ack_wait_ms)) {}
        else if (strcmp(a, "--fail-every") == 0 && parse_long(v, 0, 1L << 30, &opt.fail_every)) {}
        else if (strcmp(a, "--flaky-every") == 0 && parse_long(v, 0, 1L << 30, &opt.flaky_every)) {}
        else if (strcmp(a, "--max-deliver") == 0 && parse_long(v, 1, 1000, &opt.max_deliver)) {}
        else return usage("unknown option or bad value");
    }
    int rc;
    if (strcmp(cmd, "check") == 0) {
        if (opt.sink == NULL || opt.count == 0 || opt.killed == NULL || opt.killed_journal == NULL ||
            opt.stopped == NULL || opt.stopped_journal == NULL)
            return usage("check needs --sink, --count, --killed(-journal), --stopped(-journal)");
        rc = cmd_check();
    } else if (strcmp(cmd, "setup") == 0 || strcmp(cmd, "publish") == 0 ||
               strcmp(cmd, "status") == 0) {
        if (strcmp(cmd, "publish") == 0 && opt.count == 0)
            return usage("publish needs --count");
        if (connect_js() != 0)
            return 1;
        rc = strcmp(cmd, "setup") == 0 ? cmd_setup() : strcmp(cmd, "publish") == 0 ? cmd_publish() : cmd_status();
        disconnect_js();
    } else {
        return usage("unknown command");
    }
    nats_Close();
    return rc;
}
