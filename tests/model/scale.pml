/* scale.pml - scale-down (idle retirement) against submitters: never below
   min, no job stranded when a surplus worker retires while a job arrives.

   An auto-scaling pool with min = 1 and two started workers (live == 2),
   and two submitters pushing one job each (wp__submit: push, notify
   `job_ready`). Each worker runs wp__worker_main: it computes its idle
   deadline (wp__idle_deadline: a bounded park only while it is surplus,
   started > min), awaits a job on `job_ready` with that deadline (the timed
   wait may time out at any moment: the clock is abstracted), and, when the
   wait ends without a job, tries wp__retire_if_idle: the quick check
   started > min, the scale-down cooldown (abstracted: it may be granted or
   not), and wp__leave_above_min, the CAS that leaves `live` only while more
   than min workers would remain. A retiring worker exits without looking at
   the queue again.

   Abstractions (besides those in waitset.pml): no close (close.pml); no
   scale-up and no wp_pool_scale/resize requests; the pass-on notify after a
   wake-up (park.pml) is kept; running a job is one step.

   Properties: `live` never drops below min (a monitor asserts it in every
   state); when nothing can move any more, every job was taken exactly once
   (parking forever is a valid end state for the workers that remain).

   BROKEN variant (spin must find an error):
     1  wp__leave_above_min as check-then-act (read live, compare with min,
        then decrement in a separate step) instead of the CAS */

#define PARK_IS_VALID_END
#define NWS 1
#define MAXPID 7
#define NTICKETS 4
#include "waitset.pml"

#define JR 0
#define MIN 1
#define NJOBS 2

byte live = 2;
byte taken;
bool done[NJOBS];

proctype submitter(byte job)
{
    byte t, res, j;
    q_claim(t, NTICKETS, res);
    assert(res == Q_PUSHED);
    q_publish(t, job);
    ws_notify(JR, false, j)
}

/* wp__leave_above_min: left = the worker left `live`. */
inline leave_above_min(left)
{
#if BROKEN == 1
    if
    :: live <= MIN -> left = false
    :: else -> live--; left = true      /* a second step: not one CAS */
    fi
#else
    atomic {
        if
        :: live <= MIN -> left = false
        :: else -> live--; left = true
        fi
    }
#endif
}

proctype worker()
{
    byte e, job, j;
    bool ok, slept, woken, expired, timed, left;
    do
    :: timed = (live > MIN);                 /* wp__idle_deadline */
        q_pop(job, ok);
        if
        :: ok -> goto got
        :: else -> skip
        fi;
        ws_prepare(JR, e);
        q_pop(job, ok);
        if
        :: ok -> ws_cancel(JR); e = 0; goto got
        :: else -> skip
        fi;
        slept = true;
        ws_wait(JR, e, timed, woken, expired);
        if
        :: woken -> woken = false; goto next
        :: else -> skip
        fi;
        q_pop(job, ok);                      /* one last look at the deadline */
        if
        :: ok -> goto got
        :: else -> skip
        fi;
        /* wp__retire_if_idle */
        if
        :: live <= MIN -> goto next
        :: else -> skip
        fi;
        if
        :: skip                              /* the cooldown is granted */
        :: goto next                         /* another worker holds it */
        fi;
        leave_above_min(left);
        if
        :: left -> break
        :: else -> goto next
        fi;
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
        timed = false
    od
}

/* In every state: never below min. */
active proctype min_monitor()
{
end_ok:
    atomic { live < MIN -> assert(false) }
}

/* At the end: no job stranded. */
active proctype end_monitor()
{
    timeout -> assert(taken == NJOBS && live >= MIN)
}

init
{
    atomic {
        run submitter(0);
        run submitter(1);
        run worker();
        run worker()
    }
}
