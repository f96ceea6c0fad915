/* wake.pml - a wake of one per notify reaches a sleeper, whoever waits:
   the generic contract of wp__ws_notify(ws, false), without the job queue's
   own pass-on (wp__worker_main's), as for threads that wait in
   wp_result_recv or for room and leave once served.

   Three notifiers each add one token and notify one waiter; three waiters
   each take one token: try, register, try again, sleep; a waiter that takes a
   token leaves for good. Property: every token is taken (checked when no
   process can move, as in park.pml).

   What it checks is the `pending` bit of the epoch word (a notify skips its
   wake while one is on its way): a notify skipped that way must still reach
   a sleeper, which is what the pass-on in wp__ws_wait's end does.

   BROKEN variants (spin must find an error in each):
     1  no pass-on: the woken waiter does not wake the others when the epoch
        moved by two or more
     2  `pending` in a word of its own, apart from the epoch the sleep
        compares (see WS_ASLEEP_AT in waitset.pml) */

#if BROKEN == 1
#define BROKEN_WS 2
#endif
#if BROKEN == 2
#define BROKEN_WS 3
#endif
#define PARK_IS_VALID_END
#define NWS 1
#define MAXPID 8
#include "waitset.pml"

#define W 0
#ifndef NTOKENS
#define NTOKENS 3
#endif
byte tokens;
byte got;

proctype notifier()
{
    byte j;
    tokens++;
    ws_notify(W, false, j)
}

proctype waiter()
{
    byte e;
    bool woken, expired;
    do
    :: atomic { tokens > 0 -> tokens--; got++; break }
    :: atomic { tokens == 0 -> skip };
        ws_prepare(W, e);
        if
        :: atomic { tokens > 0 -> tokens--; got++ }; ws_cancel(W); break
        :: atomic { tokens == 0 -> skip };
            ws_wait(W, e, false, woken, expired)
        fi
    od
}

active proctype monitor()
{
    timeout -> assert(got == NTOKENS)
}

init
{
    atomic {
        run notifier();
        run notifier();
        run waiter();
        run waiter()
#if NTOKENS > 2
        ; run notifier(); run waiter()
#endif
    }
}
