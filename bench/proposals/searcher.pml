/* searcher.pml - the one-searcher rule of one-searcher.patch against the
   park/wake protocol: no lost wake-up, and no job left queued behind a
   running job while another worker sleeps.

   A proposal, not wired into tests/model/run.sh (the patch is not applied).
   Run it beside the models it builds on:
       d=$(mktemp -d) && cp tests/model/*.pml bench/proposals/searcher.pml "$d" &&
       cd "$d" && spin -a searcher.pml && cc -w -O2 -DCOLLAPSE -o pan pan.c &&
       ./pan -m200000
   and each broken variant with `spin -DBROKEN=n -a searcher.pml` (pan must
   then report an error).

   The model is park.pml's, with these steps added:
   - a worker that found no job may take the pool's `searcher` flag (only
     if it is clear); with it, it looks again (its spin: one more try stands
     for any number), then clears the flag before it registers and parks;
     without it, it registers at once;
   - a producer, after publishing, notifies job_ready only while the flag
     is clear (the fence, then the load, of the patch);
   - a worker that held the flag since its last job passes a wake-up on
     while jobs remain once it takes one, as a worker woken from a park
     does: on its search, or on its try after registering (the flag is
     clear by then, but producers may have skipped their notifies while it
     was set; the first version of this model passed on only after a take
     during the search, and spin found that lost wake-up).
   Job 0 never returns: the worker that takes it is stuck for good, so every
   other job must be taken by the other worker, which may be parked when it
   is pushed. That is the latency property: a job never waits behind a
   running one while a worker sleeps.

   Property: when no process can move, every job but job 0's run is taken.

   BROKEN variants (spin must find an error in each):
     1  the producer loads the flag before its publish shows (no fence)
     2  no pass-on by a searcher that took a job
     4  the pass-on only after a take during the search, not after the
        try that follows registration (the first version of the patch)
     3  the searcher clears the flag after its last try before the park
        (after registering), not before: a producer that skipped its notify
        in between leaves the job to a sleeper */

#define PARK_IS_VALID_END
#define NWS 1
#define MAXPID 6
#define NTICKETS 4
#include "waitset.pml"

#define JR 0
#define NPROD 2
#ifndef PER_PROD
#define PER_PROD 2
#endif
#define NJOBS (NPROD * PER_PROD)

bool searcher;
byte taken;
bool done[NJOBS];

proctype producer(byte first)
{
    byte k, t, res, j;
    bool busy;
    k = 0;
    do
    :: k < PER_PROD ->
        q_claim(t, NTICKETS, res);
        assert(res == Q_PUSHED);
#if BROKEN == 1
        busy = searcher;
        q_publish(t, first + k);
#else
        q_publish(t, first + k);
        busy = searcher;
#endif
        if
        :: busy -> skip
        :: else -> ws_notify(JR, false, j)
        fi;
        busy = false;
        k++
    :: else -> break
    od
}

proctype worker()
{
    byte e, job, j;
    bool ok, slept, searched, mine, woken, expired, e_reg;
    do
    :: q_pop(job, ok);
        if
        :: ok -> goto got
        :: else -> skip
        fi;
        atomic {
            if
            :: !searcher -> searcher = true; mine = true; searched = true
            :: else -> mine = false
            fi
        };
        if
        :: mine ->
            q_pop(job, ok);
            if
            :: ok -> searcher = false; mine = false; goto got
            :: else -> skip
            fi;
#if BROKEN != 3
            searcher = false;
            mine = false
#endif
        :: else -> skip
        fi;
        ws_prepare(JR, e);
        e_reg = true;
        q_pop(job, ok);
#if BROKEN == 3
        if
        :: mine -> searcher = false; mine = false
        :: else -> skip
        fi;
#endif
        if
        :: ok -> ws_cancel(JR); e = 0; goto got
        :: else -> skip
        fi;
        slept = true;
        ws_wait(JR, e, false, woken, expired);
        e = 0;
        e_reg = false;
        woken = false;
        goto next;
got:
#if BROKEN == 4
        if
        :: (slept || searched && !e_reg) && Q_SIZE > 0 -> ws_notify(JR, false, j)
        :: else -> skip
        fi;
#elif BROKEN == 2
        if
        :: slept && Q_SIZE > 0 -> ws_notify(JR, false, j)
        :: else -> skip
        fi;
#else
        if
        :: (slept || searched) && Q_SIZE > 0 -> ws_notify(JR, false, j)
        :: else -> skip
        fi;
#endif
        atomic {
            assert(!done[job]);
            done[job] = true;
            taken++;
            ok = false;
            slept = false;
            searched = false;
            e_reg = false
        };
        if
        :: job == 0 ->
end_stuck:  false /* job 0 never returns */
        :: else -> job = 0
        fi;
next:
        skip
    od
}

active proctype monitor()
{
    timeout -> assert(taken == NJOBS)
}

init
{
    atomic {
        run producer(0);
        run producer(PER_PROD);
        run worker();
        run worker()
    }
}
