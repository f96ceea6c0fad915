/* close.pml - wp_pool_close (drain or cancel) against concurrent submitters:
   no stranded job, no deadlock.

   A fixed pool of two workers (live == 2), a job queue of capacity 1, two
   submitters and one closer:
   - submitter 0 submits SUB0_JOBS jobs (default 1) with WP_BLOCK, submitter
     1 one job with WP_TIMEOUT: a push that finds the queue full waits on `job_room`
     (wp__submit_slow: wp__ws_await(job_room, deadline, push attempt)), with a
     timeout for WP_TIMEOUT; a push into a closed queue is refused
     (WP_CLOSED). An accepted push notifies `job_ready`.
   - workers (wp__worker_main with wp__attempt_take): take a job (and notify
     `job_room`), or answer FINISHED once the queue is closed and drained,
     else park on `job_ready`. A taken job is canceled if the pool is
     canceling, else it runs (wp__execute); either way it gets its outcome.
     A finishing worker notifies `job_ready` (broadcast), leaves `live` and
     notifies `exited` (wp__count_out).
   - the closer (wp_pool_close): mode DRAIN or CANCEL (chosen
     nondeterministically; CANCEL sets `canceling` first), sets the closed bit
     (one fetch_or on head), wakes `job_ready` and `job_room` (broadcast) and
     waits on `exited` until live == 0, with a timeout that may pass: then it
     sets `canceling` and returns WP_FORCED, and a second close(DRAIN,
     FOREVER) follows, as wp_pool_destroy does.

   Abstractions (besides those in waitset.pml): the result channel is
   unbounded (an outcome is recorded in one step; wp__deliver's wait for
   room in the channel is not modelled); no auto-scaling (scale.pml); the
   spin before parking is covered by the interleaving.

   Properties: every process ends (a process blocked anywhere is an invalid
   end state, which is how a deadlock shows); an accepted job gets exactly
   one outcome (asserted when it is recorded, and at the end); a refused job
   none; a drain that returned WP_OK canceled nothing; close returns only
   when every accepted job has its outcome (close waits for live == 0).

   BROKEN variants (spin must find an error in each):
     1  the push checks the closed bit, then claims the cell in a separate
        step (check-then-act instead of the one CAS that fails on the bit)
     2  a worker finishes as soon as the queue is closed, without waiting
        for it to drain */

#define NWS 3
#define MAXPID 7
#define NTICKETS 4
/* A job is accepted in the step that claims its cell. */
#define Q_ON_CLAIM accepted++
#include "waitset.pml"

#define JOB_READY 0
#define JOB_ROOM 1
#define EXITED 2
#define QCAP 1
#ifndef SUB0_JOBS
#define SUB0_JOBS 1
#endif
#define NJOBS (SUB0_JOBS + 1)
#ifndef NWORKERS
#define NWORKERS 1
#endif

#define NONE 0
#define RAN 1
#define CANCELED 2
#define REFUSED 3

byte live = NWORKERS;
bool canceling;
byte outcome[NJOBS];      /* NONE, RAN or CANCELED; REFUSED for refusals */
byte outcomes;            /* outcomes recorded */
byte accepted;            /* jobs whose push claimed a cell */
bool closer_done;

/* One push attempt (wp__attempt_push_job): claim, then publish. */
inline push_attempt(job, t, res)
{
#if BROKEN == 1
    if
    :: q_closed -> res = Q_SHUT
    :: else ->
        /* check-then-act: the close may land between the check and the claim */
        atomic {
            if
            :: q_head - q_tail >= QCAP -> res = Q_FULL
            :: else -> t = q_head; q_head++; res = Q_PUSHED; accepted++
            fi
        }
    fi;
#else
    q_claim(t, QCAP, res);
#endif
    if
    :: res == Q_PUSHED -> q_publish(t, job)
    :: else -> skip
    fi
}

inline submit(job, timed)
{
    push_attempt(job, t, res);
    if
    :: res == Q_FULL ->
        /* wp__ws_await(job_room, ...) with the push attempt */
        do
        :: res != Q_FULL -> break
        :: else ->
            ws_prepare(JOB_ROOM, e);
            push_attempt(job, t, res);
            if
            :: res != Q_FULL -> ws_cancel(JOB_ROOM); e = 0; break
            :: else -> skip
            fi;
            ws_wait(JOB_ROOM, e, timed, woken, expired);
            e = 0;
            push_attempt(job, t, res);
            if
            :: res == Q_FULL && !woken -> break   /* timed out: WP_TIMED_OUT */
            :: else -> skip
            fi;
            woken = false
        od
    :: else -> skip
    fi;
    if
    :: res == Q_PUSHED -> res = 0; ws_notify(JOB_READY, false, j)
    :: else -> atomic { assert(outcome[job] == NONE); outcome[job] = REFUSED; res = 0 }
    fi
}

proctype submitter(byte first; byte njobs; bool timed)
{
    byte k, t, res, e, j;
    bool woken, expired;
    k = 0;
    do
    :: k < njobs -> submit(first + k, timed); k++
    :: else -> break
    od
}

#define ATTEMPT_GOT 0
#define ATTEMPT_AGAIN 1
#define ATTEMPT_FINISHED 2

/* wp__attempt_take: take a job, or see the queue closed and drained. */
inline attempt_take(job, r)
{
    q_pop(job, ok);
    if
    :: ok -> r = ATTEMPT_GOT
#if BROKEN == 2
    :: !ok && q_closed -> r = ATTEMPT_FINISHED
#else
    :: !ok && Q_DRAINED -> r = ATTEMPT_FINISHED
#endif
    :: else -> r = ATTEMPT_AGAIN
    fi;
    ok = false
}

proctype worker()
{
    byte e, job, j, r;
    bool ok, woken, expired;
    do
    :: attempt_take(job, r);
        if
        :: r == ATTEMPT_AGAIN ->
            ws_prepare(JOB_READY, e);
            attempt_take(job, r);
            if
            :: r != ATTEMPT_AGAIN -> ws_cancel(JOB_READY)
            :: else -> ws_wait(JOB_READY, e, false, woken, expired); woken = false
            fi;
            e = 0
        :: else -> skip
        fi;
        if
        :: r == ATTEMPT_GOT ->
            ws_notify(JOB_ROOM, false, j);          /* wp__take */
            atomic {                                /* wp__execute */
                assert(outcome[job] == NONE);
                if
                :: canceling -> outcome[job] = CANCELED
                :: else -> outcome[job] = RAN
                fi;
                outcomes++;
                job = 0
            }
        :: r == ATTEMPT_FINISHED -> break
        :: else -> skip
        fi;
        r = 0
    od;
    ws_notify(JOB_READY, true, j);
    live--;
    ws_notify(EXITED, true, j)
}

/* wp_pool_close(mode, timeout); forced = it returned WP_FORCED. */
inline close(cancel, timed, forced)
{
    if
    :: cancel -> canceling = true
    :: else -> skip
    fi;
    q_closed = true;
    ws_notify(JOB_READY, true, j);
    ws_notify(JOB_ROOM, true, j);
    forced = false;
    do
    :: live == 0 -> break
    :: else ->
        ws_prepare(EXITED, e);
        if
        :: live == 0 -> ws_cancel(EXITED); e = 0; break
        :: else -> skip
        fi;
        ws_wait(EXITED, e, timed, woken, expired);
        e = 0;
        if
        :: live != 0 && !woken -> forced = true; break
        :: else -> skip
        fi;
        woken = false
    od;
    if
    :: forced -> canceling = true
    :: else ->
        /* close returned WP_OK: every outcome is in */
        assert(outcomes == accepted)
    fi
}

proctype closer()
{
    byte e, j, k;
    bool cancel, timed, forced, woken, expired;
    if
    :: cancel = true
    :: cancel = false
    fi;
    if
    :: timed = true
    :: timed = false
    fi;
    close(cancel, timed, forced);
    if
    :: forced ->
        /* wp_pool_destroy: close(DRAIN, FOREVER) */
        close(false, false, forced)
    :: else ->
        if
        :: !cancel ->
            /* a drain that returned WP_OK canceled nothing */
            k = 0;
            do
            :: k < NJOBS -> assert(outcome[k] != CANCELED); k++
            :: else -> break
            od
        :: else -> skip
        fi
    fi;
    closer_done = true
}

/* At the end (nothing can move any more): every job has exactly one fate. */
active proctype monitor()
{
    byte k;
    timeout ->
    assert(closer_done && live == 0);
    k = 0;
    do
    :: k < NJOBS -> assert(outcome[k] != NONE); k++
    :: else -> break
    od;
    assert(outcomes == accepted)
}

init
{
    atomic {
        run submitter(0, SUB0_JOBS, false);
        run submitter(SUB0_JOBS, 1, true);
        run worker();
#if NWORKERS > 1
        run worker();
#endif
        run closer()
    }
}
