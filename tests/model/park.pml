/* park.pml - the worker park/wake protocol: no lost wake-up.

   Two producers push jobs into the job queue and notify `job_ready`
   (wp__submit: push, then wp__ws_notify(job_ready, false)); two workers run
   wp__ws_await(job_ready, ..., wp__attempt_take) in a loop: try to take a
   job, register (wp__ws_prepare), try again, then sleep (wp__ws_wait), and
   after a wake-up try again. A worker that slept and took a job passes the
   wake-up on while the queue is not empty (wp__worker_main), since a
   producer stalled between claiming and publishing a cell can make another
   producer's wake-up find nothing.

   Abstractions (besides those in waitset.pml): the bounded spin before
   parking and the thread yield are more tries of the same step, which the
   interleaving already covers; running a job is one step (`taken++`); no
   close, no scaling, no result channel (see close.pml and scale.pml).

   Property: a pushed job is always taken. Parking forever is a valid end
   state, so when no process can move any more (Promela's `timeout`), the
   monitor asserts that every job was taken: a state in which a job is
   queued, the producers are done and every worker is parked forever fails
   that assertion. Each job is taken exactly once (assert in the worker).
   With -DLIVENESS the same is checked as the LTL property <> all taken,
   under weak fairness (run.sh does this with one job per producer: with
   two it takes some 35 s and 850 MB).

   Run as it is, the model checks the address wait (futex, WaitOnAddress,
   __ulock); with -DWS_CONDVAR, the mutex + condition variable fallback.

   BROKEN variants (spin must find an error in each):
     1  the worker does not re-check the queue after registering
     2  the notifier reads `waiters` before its push is visible (what a
        missing fence allows: the load passes the earlier store)
     3  the worker reads the epoch after its second try, not before: a
        notify between the two bumps an epoch it never waits on
     4  the notifier wakes before it bumps the epoch: the woken worker finds
        the epoch unchanged and sleeps again
     5  (with WS_CONDVAR) the waker signals without taking the mutex after
        its bump: the signal can fall between a sleeper's compare and its
        cnd_wait. Checked with one worker: with two, the other one is either
        in the wait set (the signal goes to it) or awake (it takes the job),
        so the miss strands nothing. */

#if BROKEN == 4
#define WS_WAKE_FIRST
#endif
#if BROKEN == 5
#define WS_WAKE_UNLOCKED
#ifndef NWORKERS
#define NWORKERS 1
#endif
#endif
#ifndef NWORKERS
#define NWORKERS 2
#endif
#define PARK_IS_VALID_END
#define NWS 1
#define MAXPID 6
#define NTICKETS 4
#include "waitset.pml"

#define JR 0          /* the job_ready wait set */
#define NPROD 2
#ifndef PER_PROD
#define PER_PROD 2
#endif
#define NJOBS (NPROD * PER_PROD)

byte taken;
bool done[NJOBS];

proctype producer(byte first)
{
    byte k, t, res, j;
#if BROKEN == 2
    byte seen;
#endif
    k = 0;
    do
    :: k < PER_PROD ->
        q_claim(t, NTICKETS, res);
        assert(res == Q_PUSHED);
#if BROKEN == 2
        seen = ws_waiters[JR];          /* read before the publish shows */
        q_publish(t, first + k);
        if
        :: seen == 0 -> skip
        :: else -> ws_bump_wake(JR, false, j)
        fi;
        seen = 0;
#else
        q_publish(t, first + k);
        ws_notify(JR, false, j);
#endif
        k++
    :: else -> break
    od
}

proctype worker()
{
    byte e, job, j;
    bool ok, slept, woken, expired;
    do
    :: q_pop(job, ok);
        if
        :: ok -> goto got
        :: else -> skip
        fi;
#if BROKEN == 3
        ws_register(JR);
        q_pop(job, ok);
        if
        :: ok -> ws_cancel(JR); goto got
        :: else -> skip
        fi;
        ws_read_epoch(JR, e);
#else
        ws_prepare(JR, e);
#if BROKEN != 1
        q_pop(job, ok);
        if
        :: ok -> ws_cancel(JR); e = 0; goto got
        :: else -> skip
        fi;
#endif
#endif
        slept = true;
        ws_wait(JR, e, false, woken, expired);
        e = 0;
        woken = false;
        goto next;
got:
        if
        :: slept && Q_SIZE > 0 -> ws_notify(JR, false, j)
        :: else -> skip
        fi;
        atomic {
            assert(!done[job]);
            done[job] = true;
            taken++;
            job = 0;
            ok = false;
            slept = false
        };
next:
        skip
    od
}

#ifndef LIVENESS
active proctype monitor()
{
    timeout -> assert(taken == NJOBS)
}
#else
/* The same property as liveness (spin -DLIVENESS, pan -a -f): under weak
   fairness every run eventually takes every job; a run that ends with a
   job queued and every worker parked stutters there for ever and violates
   it, and so would a cycle in which workers spin without taking it. */
ltl all_taken { <> (taken == NJOBS) }
#endif

init
{
    atomic {
        run producer(0);
        run producer(PER_PROD);
        run worker()
#if NWORKERS > 1
        ; run worker()
#endif
    }
}
