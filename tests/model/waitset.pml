/* waitset.pml - the header's event count ("wp__waitset") and the job queue,
   as Promela inlines shared by the models in this directory.

   What the model keeps, and what it abstracts:
   - Memory model. wp__ws_prepare and wp__ws_notify each put a seq_cst fence
     between their write and their read (a Dekker handshake); under TSan both
     use seq_cst read-modify-writes instead. Either way the two sides behave
     as if sequentially consistent, which is exactly Promela's interleaving
     semantics: every statement below is one atomic step of one thread, and
     the fence itself is therefore a no-op here. What a missing fence would
     allow (the notifier's load of `waiters` passing its earlier store) is
     modelled explicitly by a BROKEN variant that reorders the two. The
     epoch's release bump and acquire loads are sequentially consistent here
     too (what they order is argued in the header).
   - The address wait (futex, WaitOnAddress, __ulock), the default: a sleep
     compares the epoch with the expected value and joins the word's wait
     queue in one atomic step (or returns at once if they differ); a wake of
     one takes one thread off the queue (chosen nondeterministically), a
     wake of all takes every one. A timed sleep may time out at any moment
     (the clock is abstracted away: any timeout is possible, which covers
     every real one). No spurious wake-ups: they only send the sleeper round
     its loop again, so leaving them out keeps the check conservative.
   - With -DWS_CONDVAR, the fallback instead (WP_PARK_CONDVAR): the mutex
     is a variable that holds the owner's pid (0 = free), lock blocks until
     it is free; the condition variable follows POSIX: cnd_wait joins the
     wait set and releases the mutex in one step; signal wakes one thread
     of the wait set, broadcast all; a woken or timed-out thread re-takes
     the mutex before it returns.
   - `epoch` is a 32-bit word in C; here a byte. A model run notifies far
     fewer than 256 times, so it never wraps (C needs 2^32 notifies).
   - The queue (Vyukov's bounded MPMC with the closed bit in the head
     ticket): a push claims a ticket in one atomic step (the CAS on head,
     which also fails when the closed bit is set, or FULL when the cell is
     still in use) and publishes the element in a later step; a pop succeeds
     only when the cell at tail is published (an unpublished cell ahead hides
     the published ones behind it, as in C). A pop is one step (claim, copy
     and release). Tickets are not reduced modulo the capacity: each ticket
     has its own cell here, since wrap-around is not what these models check
     (the stress tests start the counters just below wrap-around instead).
   - Processes index the wait sets by their _pid; MAXPID bounds the pids.

   Mistakes a model can switch on (park.pml's BROKEN variants do):
     WS_WAKE_FIRST      the notifier wakes before it bumps the epoch
     WS_WAKE_UNLOCKED   (WS_CONDVAR) the waker signals without taking the
                        mutex after its bump */

#ifndef MAXPID
#define MAXPID 6
#endif
#if MAXPID > 8
#error "ws_wake_one handles at most 8 pids"
#endif
#ifndef NWS
#define NWS 1
#endif
#ifndef NTICKETS
#define NTICKETS 4
#endif

/* Parking is a valid end state where workers may idle forever (a fixed or
   scaled pool with no close): a model then checks at the end, with a
   `timeout` monitor, that no job is left behind. Where every thread must
   finish (the close model), parking forever is an invalid end state. */
#ifdef PARK_IS_VALID_END
#define PARK end_park:
#else
#define PARK
#endif

byte ws_waiters[NWS];
byte ws_epoch[NWS];
bool ws_pending[NWS];            /* bit 0 of the epoch word: a wake of one is on its way */
bool ws_skipped[NWS];            /* bit 1: a notify skipped its wake for it */
bool ws_sleep[NWS * MAXPID];     /* in the word's wait queue, or the condvar's wait set */
byte ws_nsleep[NWS];
#ifdef WS_CONDVAR
byte ws_mu[NWS];                 /* owner's pid + 1; 0 = free */
#endif

/* The job queue: head/tail tickets, the closed bit, one cell per ticket. */
byte q_head;
byte q_tail;
bool q_closed;
bool q_pub[NTICKETS];            /* the cell's element is published */
byte q_job[NTICKETS];            /* which job the cell holds */

#ifdef WS_CONDVAR
inline ws_lock(w)
{
    atomic { ws_mu[w] == 0 -> ws_mu[w] = _pid + 1 }
}

inline ws_unlock(w)
{
    assert(ws_mu[w] == _pid + 1);
    ws_mu[w] = 0
}
#endif

/* wp__ws_prepare: register (fetch_add), fence, read the epoch (acquire);
   the caller's second try comes next. */
inline ws_register(w)
{
    ws_waiters[w]++
}

inline ws_read_epoch(w, e)
{
    e = ws_epoch[w]
}

inline ws_prepare(w, e)
{
    ws_register(w);
    ws_read_epoch(w, e)
}

/* wp__ws_cancel: unregister. */
inline ws_cancel(w)
{
    ws_waiters[w]--
}

/* Before each sleep a waiter clears `pending`, so that a wake of one that
   found nobody asleep cannot keep later notifies from waking this sleeper
   (a notify after the clear sees it; one before it moved the epoch, so the
   sleep's compare fails). */
#if BROKEN_WS == 1
#define WS_CLEAR_PENDING(w) skip
#else
#define WS_CLEAR_PENDING(w) ws_pending[w] = false
#endif

/* The sleep's compare is on the whole word: the epoch, and `pending`
   clear (a set bit means the word moved since the waiter cleared it).
   BROKEN_WS 3 keeps `pending` in a word of its own, which the compare does
   not see: a notify whose epoch bump came before the waiter read the epoch
   sets it after the waiter's clear, wakes nobody, and the next notify then
   skips its wake over a sleeper. */
#if BROKEN_WS == 3
#define WS_ASLEEP_AT(w, e) (ws_epoch[w] == e)
#else
#define WS_ASLEEP_AT(w, e) (ws_epoch[w] == e && !ws_pending[w])
#endif

/* The end of wp__ws_wait: clear both bits, unregister, and pass on the
   notifies that `pending` made skip their wake: if one did (`skipped`)
   and others still wait, wake them all. `expired` serves as the flag. */
inline ws_leave(w, e, expired)
{
    atomic {                                         /* fetch_and of both bits */
        expired = ws_skipped[w]; e = 0;
        WS_CLEAR_PENDING(w);
        ws_skipped[w] = false };
    ws_waiters[w]--;
    atomic { expired = (expired && ws_waiters[w] > 0) };
#if BROKEN_WS != 2
    if
    :: expired -> ws_wake(w, true, e)
    :: else -> skip
    fi;
#endif
    atomic { expired = false; e = 0 }
}

/* wp__ws_wait: while the epoch has not moved, check the deadline and sleep
   once (wp__ws_sleep); then unregister. `woken` answers whether the epoch
   moved; `expired` is set by a timed sleep that timed out (the deadline has
   passed).

   Merged steps: the loop's load of the epoch and the sleep's own compare
   are one step here. Apart, a bump between the two only makes the sleep
   return at once and the loop see the new epoch: the same end as the bump
   coming before the merged step. In the fallback, re-taking the mutex after
   a wake and dropping it again is one step (wait until it is free): holding
   it for no work only delays others, which the interleaving covers; the
   compare under the mutex stays a step of its own, apart from cnd_wait,
   since that window is what the waker's lock closes. */
#ifndef WS_CONDVAR
inline ws_wait(w, e, timed, woken, expired)
{
    woken = true;
    do
    :: atomic { ws_epoch[w] != e -> break }
    :: atomic { ws_epoch[w] == e && expired -> woken = false; break }
    :: atomic { ws_epoch[w] == e && !expired -> WS_CLEAR_PENDING(w) };
        if
        :: atomic { WS_ASLEEP_AT(w, e) ->                       /* sleeps */
                ws_sleep[w * MAXPID + _pid] = true; ws_nsleep[w]++ };
PARK        if
            :: atomic { !ws_sleep[w * MAXPID + _pid] -> skip }  /* woken */
            :: atomic { timed && ws_sleep[w * MAXPID + _pid] -> /* timed out */
                    ws_sleep[w * MAXPID + _pid] = false;
                    ws_nsleep[w]--;
                    expired = true }
            fi
        :: atomic { !WS_ASLEEP_AT(w, e) -> skip }               /* the compare fails */
        fi
    od;
    ws_leave(w, e, expired)
}
#else
inline ws_wait(w, e, timed, woken, expired)
{
    woken = true;
    do
    :: atomic { ws_epoch[w] != e -> break }
    :: atomic { ws_epoch[w] == e && expired -> woken = false; break }
    :: atomic { ws_epoch[w] == e && !expired -> WS_CLEAR_PENDING(w) };
        ws_lock(w);
        if
        :: ws_epoch[w] == e ->                                  /* under the mutex */
            atomic {                                            /* cnd_wait */
                ws_sleep[w * MAXPID + _pid] = true;
                ws_nsleep[w]++;
                ws_mu[w] = 0 };
PARK        if
            :: atomic { !ws_sleep[w * MAXPID + _pid] -> skip }  /* signalled */
            :: atomic { timed && ws_sleep[w * MAXPID + _pid] -> /* timed out */
                    ws_sleep[w * MAXPID + _pid] = false;
                    ws_nsleep[w]--;
                    expired = true }
            fi;
            atomic { ws_mu[w] == 0 -> skip }                    /* re-take, unlock */
        :: else -> ws_unlock(w)
        fi
    od;
    ws_leave(w, e, expired)
}
#endif

/* Wakes one thread of the wait queue, if there is one; which one is the
   scheduler's choice (one branch per possible pid). */
#define WS_WAKE(k) :: (k < MAXPID) && ws_sleep[w * MAXPID + k] -> \
        ws_sleep[w * MAXPID + k] = false; ws_nsleep[w]--
inline ws_wake_one(w, j)
{
    atomic {
        if
        :: ws_nsleep[w] > 0 ->
            if
            WS_WAKE(0) WS_WAKE(1) WS_WAKE(2) WS_WAKE(3)
            WS_WAKE(4) WS_WAKE(5) WS_WAKE(6) WS_WAKE(7)
            fi
        :: else -> skip
        fi
    }
}

inline ws_wake_all(w, j)
{
    atomic {
        j = 0;
        do
        :: j < MAXPID -> ws_sleep[w * MAXPID + j] = false; j++
        :: else -> break
        od;
        ws_nsleep[w] = 0;
        j = 0
    }
}

/* wp__ws_wake: the address wait's wake, or the fallback's lock, unlock,
   signal/broadcast. */
inline ws_wake(w, all, j)
{
#if defined(WS_CONDVAR) && !defined(WS_WAKE_UNLOCKED)
    atomic { ws_mu[w] == 0 -> skip };   /* lock, unlock: wait until it is free */
#endif
    if
    :: all -> ws_wake_all(w, j)
    :: else -> ws_wake_one(w, j)
    fi
}

/* The second half of wp__ws_notify, once it found a waiter: bump the epoch
   (release), then wake. */
inline ws_bump_wake(w, all, j)
{
#ifdef WS_WAKE_FIRST
    ws_wake(w, all, j);
    ws_epoch[w]++
#else
#if BROKEN_WS == 3
    ws_epoch[w]++;
    atomic { j = ws_pending[w]; ws_skipped[w] = (ws_skipped[w] || (!all && j));
             ws_pending[w] = (!all || ws_pending[w]) };
#else
    atomic {
        j = ws_pending[w];
        ws_epoch[w]++;
        ws_skipped[w] = (ws_skipped[w] || (!all && j));
        ws_pending[w] = (!all || ws_pending[w]) };
#endif
    if
    :: all -> j = 0; ws_wake(w, all, j)
    :: else ->                       /* one: only if no wake is on its way */
        if
        :: j == 0 -> ws_wake(w, all, j)
        :: else -> j = 0
        fi
    fi
#endif
}

/* wp__ws_notify: fence, load `waiters`; only if someone is registered, bump
   and wake. */
inline ws_notify(w, all, j)
{
    if
    :: ws_waiters[w] == 0 -> skip
    :: else -> ws_bump_wake(w, all, j)
    fi
}

/* What a model counts in the claiming step (the moment a job is accepted). */
#ifndef Q_ON_CLAIM
#define Q_ON_CLAIM skip
#endif

/* Queue push, the claiming step: res = 0 pushed (ticket t), 1 full, 2 shut. */
#define Q_PUSHED 0
#define Q_FULL 1
#define Q_SHUT 2
inline q_claim(t, cap, res)
{
    atomic {
        if
        :: q_closed -> res = Q_SHUT
        :: !q_closed && q_head - q_tail >= cap -> res = Q_FULL
        :: else -> t = q_head; q_head++; res = Q_PUSHED; Q_ON_CLAIM
        fi
    }
}

inline q_publish(t, job)
{
    atomic { q_job[t] = job; q_pub[t] = true; t = 0 }
}

/* Queue pop: ok = true with the job in `job`, or false when the cell at tail
   is not published (empty, or a producer is still copying into it). */
inline q_pop(job, ok)
{
    atomic {
        if
        :: q_tail < q_head && q_pub[q_tail] ->
            job = q_job[q_tail]; q_tail++; ok = true
        :: else -> ok = false
        fi
    }
}

#define Q_DRAINED (q_closed && q_head == q_tail)
#define Q_SIZE (q_head - q_tail)
