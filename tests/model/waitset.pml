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
     modelled explicitly by the BROKEN variants that reorder the two.
   - The mutex is a variable that holds the owner's pid (0 = free); lock
     blocks until it is free.
   - The condition variable follows POSIX: cnd_wait joins the wait set and
     releases the mutex in one step; signal wakes one thread that is in the
     wait set (chosen nondeterministically), broadcast wakes all; a woken or
     timed-out thread re-takes the mutex before it returns. A timed wait may
     time out at any moment (the clock is abstracted away: any timeout is
     possible, which covers every real one). No spurious wake-ups: they can
     only help progress, so leaving them out keeps the check conservative.
   - `epoch` is an unsigned counter in C; here a byte. A model run notifies
     far fewer than 256 times, so it never wraps (C needs 2^32 notifies).
   - The queue (Vyukov's bounded MPMC with the closed bit in the head
     ticket): a push claims a ticket in one atomic step (the CAS on head,
     which also fails when the closed bit is set, or FULL when the cell is
     still in use) and publishes the element in a later step; a pop succeeds
     only when the cell at tail is published (an unpublished cell ahead hides
     the published ones behind it, as in C). A pop is one step (claim, copy
     and release). Tickets are not reduced modulo the capacity: each ticket
     has its own cell here, since wrap-around is not what these models check
     (the stress tests start the counters just below wrap-around instead).
   - Processes index the wait sets by their _pid; MAXPID bounds the pids. */

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
byte ws_mu[NWS];                 /* owner's pid + 1; 0 = free */
bool ws_sleep[NWS * MAXPID];     /* in the condition variable's wait set */
byte ws_nsleep[NWS];

/* The job queue: head/tail tickets, the closed bit, one cell per ticket. */
byte q_head;
byte q_tail;
bool q_closed;
bool q_pub[NTICKETS];            /* the cell's element is published */
byte q_job[NTICKETS];            /* which job the cell holds */

inline ws_lock(w)
{
    atomic { ws_mu[w] == 0 -> ws_mu[w] = _pid + 1 }
}

inline ws_unlock(w)
{
    assert(ws_mu[w] == _pid + 1);
    ws_mu[w] = 0
}

/* Steps that happen inside the mutex and touch nothing that is read
   outside it except `waiters` are merged into one atomic step: no other
   thread can observe the states in between, except a notifier reading
   `waiters` (lock-free), and for it the merged step gives the same choices
   (before or after). This keeps the state space small. */

/* wp__ws_prepare: lock, register (fetch_add), fence, read the epoch. */
inline ws_prepare(w, e)
{
    ws_lock(w);
    atomic { ws_waiters[w]++; e = ws_epoch[w] }
}

/* wp__ws_cancel: unregister, unlock. */
inline ws_cancel(w)
{
    atomic { ws_waiters[w]--; ws_unlock(w) }
}

/* wp__ws_wait: while the epoch has not moved, wait on the condition
   variable (timed: it may time out); then unregister and unlock. `woken`
   answers whether the epoch moved. */
inline ws_wait(w, e, timed, woken, expired)
{
    woken = true;
    do
    :: atomic { ws_epoch[w] != e -> break }
    :: atomic { ws_epoch[w] == e && expired -> woken = false; break }
    :: atomic { ws_epoch[w] == e && !expired ->
            ws_sleep[w * MAXPID + _pid] = true;
            ws_nsleep[w]++;
            ws_mu[w] = 0 };
PARK    if
        :: atomic { !ws_sleep[w * MAXPID + _pid] -> skip }      /* signalled */
        :: atomic { timed && ws_sleep[w * MAXPID + _pid] ->    /* timed out */
                ws_sleep[w * MAXPID + _pid] = false;
                ws_nsleep[w]--;
                expired = true }
        fi;
        ws_lock(w)
    od;
    atomic { expired = false; e = 0; ws_waiters[w]--; ws_unlock(w) }
}

/* Wakes one thread of the condition variable's wait set, if there is one;
   which one is the scheduler's choice (one branch per possible pid). */
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

/* The locked half of wp__ws_notify: bump the epoch and signal/broadcast. */
inline ws_notify_locked(w, all, j)
{
    ws_lock(w);
    atomic {
        ws_epoch[w]++;
        if
        :: all -> ws_wake_all(w, j)
        :: else -> ws_wake_one(w, j)
        fi;
        ws_unlock(w)
    }
}

/* wp__ws_notify: fence, load `waiters`; only if someone is registered, lock
   and bump the epoch. */
inline ws_notify(w, all, j)
{
    if
    :: ws_waiters[w] == 0 -> skip
    :: else -> ws_notify_locked(w, all, j)
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
