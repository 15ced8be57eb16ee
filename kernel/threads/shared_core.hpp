// The inside of a shared_channel (include/tasklets/shared_channel.hpp; docs/semantics.md
// §9.3): its FIFO of waiter records, and the claim that decides which way a wait ends.
// threads/shared_channel.cpp does send, receive and the handles; threads/shared_select.cpp
// does select over shared channels.
//
// A blocked operation is one shared_wait — an io_wait of its tasklet's own reactor, which
// parks it (reactor::wait_for_mail) and keeps its thread asleep rather than reporting a
// deadlock — and one shared_record per channel it waits on: one for a send or receive, one
// per case for a select. Both live in the waiting tasklet's frame (for a shared-stack
// tasklet, whose frames are copied out while it waits, on the heap). A record sits in its
// channel's queue, under the channel's mutex. A wait ends in one of four ways, which race
// when they come from different threads:
//
//   who ends it                         where                       claims it with
//   a partner, serving one record       any thread, holding that    the record's case index
//                                       record's channel mutex
//   the last handle of a channel going  any thread, same            the record's case index
//   its timer                           its own thread              claimed_by_timer
//   kill() / throw_exception()          its own thread (cancel)     claimed_by_cancel
//
// The first to compare-and-swap `winner` away from `unclaimed` ends the wait; only it
// touches the value. A partner or a drop then takes its record off the queue and wakes the
// tasklet: at once (reactor::finish_wait) on the tasklet's own thread, else by posting the
// wait's `wake` mail to the tasklet's inbox, still under the channel mutex, so that a cancel
// that takes that mutex afterwards finds the mail queued and can withdraw it. If that thread
// is watching for this very mail, the mail is handed over instead (inbox.hpp,
// express_mail): the thread is then spinning, not running tasklets, so no cancel can come
// before it delivers the mail.
//
// A select's other records stay queued after its wait was claimed: they are stale. Whoever
// next meets one at the head of a queue, holding that queue's mutex, takes it off
// (partner_head()); the selecting tasklet removes the rest when it resumes
// (leave_queues()). A record's `queued` flag, under its channel's mutex, says which
// happened. Records of a queue that are not stale all go the same direction (a record is
// queued only when no partner for it is at the head), so an operation looks at the head
// only.
#pragma once

#include "core/scheduler.hpp"
#include "io/reactor.hpp"
#include "threads/inbox.hpp"
#include "threads/spin_lock.hpp"

#include <tasklets/shared_channel.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace tasklets::detail {

inline constexpr std::uint32_t unclaimed = 0xFFFFFFFFu;
inline constexpr std::uint32_t claimed_by_timer = 0xFFFFFFFEu;
inline constexpr std::uint32_t claimed_by_cancel = 0xFFFFFFFDu;

struct shared_wait;

struct shared_record {
    shared_wait* wait = nullptr;
    shared_core* channel = nullptr;
    shared_record* next = nullptr;  // the channel's FIFO, under its mutex
    shared_record* prev = nullptr;
    void* transfer = nullptr;       // the payload (sending) or storage (receiving)
    // A plain send or receive's thread (its wait's `home`), kept in the record that a
    // partner reads anyway; null for a select's records. claim_record() tests it, and
    // end_wait(): only a plain operation's channel can lose its last handle while it
    // waits (a select's cases hold handles).
    scheduler* plain_home = nullptr;
    std::uint32_t case_index = 0;   // 0 for send/receive; the case for a select
    std::int8_t direction = not_blocked;
    bool queued = false;            // under the channel's mutex
};

struct wake_mail : express_mail {
    shared_wait* wait = nullptr;
};

struct shared_wait : io_wait {
    // User-provided, so not an aggregate: GCC 12 then stores each default (the members a
    // wait sets itself are stored once) where it cleared all 320 bytes with `rep stos`
    // (40 iterations, under callgrind) and then set them.
    shared_wait() noexcept {}
    shared_record* records = nullptr;  // `own`, or a select's array: read on the home thread only
    std::uint32_t count = 0;
    // What a partner on another thread touches when it serves the wait, in two cache
    // lines (it moves them to its core and back). With the record apart from the wait,
    // the cross-thread ping-pong measured 1.44-1.68 us a round trip against 1.07-1.23
    // before the claim came in (3 alternating runs each); packed, 1.38 against 1.34
    // (medians of 8; xpingpong/tasklets_2workers).
    //
    // The first line is the mail, which a thread watching for it (threads/inbox.hpp,
    // express_mail) reads over and over, and what the partner only reads. The partner
    // writes it once, last, to hand the mail over. The second is what the partner writes
    // while it holds the channel's mutex: the claim, the outcome, the record's links. With
    // the claim and the outcome in the watched line, the watcher's reads could take that
    // line back between the partner's writes, each time a transfer inside the mutex.
    // Measured with the host's vCPUs far apart (spin floor 460-520 ns), medians of 8-11
    // alternating runs: fan-in 319 ns a message this way, 348 with them in the watched
    // line, 356 before express hand-offs; the ping-pong 961, 981 and 1,280 ns.
    alignas(64) wake_mail wake;      // posted (or handed over) by a partner or a drop on another thread
    scheduler* home = nullptr;
    alignas(64) std::atomic<std::uint32_t> winner{unclaimed};
    int outcome = 0;                 // set by the claimer before the wake: 0 served, EPIPE dropped
    // Under the channel's mutex: the wait holds a reference of the core's `refs`, taken
    // by itself on a channel two threads have used, or given by whoever ended it from
    // another thread or found it stale when dropping the last handle (shared_channel.cpp,
    // "Lifetime"); it drops it as it leaves.
    bool holds_ref = false;
    thread_inbox* inbox = nullptr;   // the waiter's thread's: its reactor, which the wait holds, keeps it open
    shared_record own;               // the record of a send or receive (a select's are in its frame, or on the heap)
};

struct shared_core {
    spin_lock mutex;
    shared_record* head = nullptr;  // under mutex
    shared_record* tail = nullptr;
    int balance = 0;                // under mutex: queued records, stale ones included
    bool closing = false;           // under mutex
    // Under mutex: the first thread to send or receive on it, and whether another has
    // since (sticky). A waiter on a channel used from two threads takes its reference to
    // the core before it parks, off the partner's path (shared_channel.cpp, "Lifetime").
    // A select does not count: the flag only says who takes the reference, and a
    // partner gives one to any waiter that holds none.
    scheduler* user = nullptr;
    bool crossed = false;
    std::atomic<std::uint32_t> handles{1};
    std::atomic<std::uint32_t> refs{1};
    shared_relocate_fn relocate = nullptr;
    shared_destroy_fn destroy = nullptr;
    std::size_t size = 0;           // the value type's: a shared-stack tasklet's wait keeps the value off its stack
    std::size_t align = 0;
};

/// Ends w's wait by `by` if nobody has yet. acq_rel: the winner's later writes (the value,
/// `outcome`) are ordered after every loser's read of `winner`, and a loser that reads the
/// winner's index (acquire) may then rely on that record's channel mutex for the rest.
inline bool claim(shared_wait* w, std::uint32_t by) noexcept {
    std::uint32_t expected = unclaimed;
    return w->winner.compare_exchange_strong(expected, by, std::memory_order_acq_rel, std::memory_order_acquire);
}

/// Under r's channel mutex: has r's wait been claimed through another record (or by its
/// timer or a cancel)? Acquire pairs with the claim's release. r's frame is alive: r is
/// queued, and a tasklet leaves every queue before its wait's frame goes.
inline bool stale(const shared_record* r) noexcept {
    return r->wait->winner.load(std::memory_order_acquire) != unclaimed;
}

inline void enqueue(shared_core* c, shared_record* r) noexcept {
    r->prev = c->tail;
    r->next = nullptr;
    if (c->tail) c->tail->next = r;
    else c->head = r;
    c->tail = r;
    c->balance += r->direction;
    r->queued = true;
}

inline void unlink(shared_core* c, shared_record* r) noexcept {
    if (r->prev) r->prev->next = r->next;
    else c->head = r->next;
    if (r->next) r->next->prev = r->prev;
    else c->tail = r->prev;
    r->next = r->prev = nullptr;
    c->balance -= r->direction;
    r->queued = false;
}

/// Under c's mutex: the record waiting at the head of c for an operation in `direction`
/// (a receiver for a send, a sender for a receive), stale heads taken off first; or null.
inline shared_record* partner_head(shared_core* c, std::int8_t direction) noexcept {
    for (;;) {
        shared_record* h = c->head;
        if (h == nullptr || h->direction == direction) return nullptr;
        if (!stale(h)) return h;
        unlink(c, h);
    }
}

/// claim() through record r, by a partner or a drop on thread `me` that holds r's channel
/// mutex. A plain send or receive (one record) waiting on `me` needs no compare-and-swap:
/// its other claimers are partners and drops, which hold this same mutex, and its timer
/// and cancel, which run on its own thread, this one. Relaxed: the readers of `winner`
/// elsewhere (stale()) hold the mutex, which orders them after us; its own thread's
/// readers are sequenced after us. (A lock cmpxchg less per hand-off: skynet on one
/// worker serves its parents this way, one per task.) The test reads only the record,
/// which the partner has read already: with the wait's `home` and `count` read first (its
/// mail line and another), the cross-thread ping-pong with the vCPUs close took 3.65
/// times its floor against 2.78 (medians of 7 alternating rounds).
inline bool claim_record(shared_record* r, scheduler* me) noexcept {
    shared_wait* w = r->wait;
    if (r->plain_home == me) {
        if (w->winner.load(std::memory_order_relaxed) != unclaimed) return false;
        w->winner.store(r->case_index, std::memory_order_relaxed);
        return true;
    }
    return claim(w, r->case_index);
}

/// Under c's mutex: partner_head(), claimed for the caller, which runs on `me`. A head that
/// another thread claims in between is stale: taken off, and the next one tried.
inline shared_record* claim_partner(shared_core* c, std::int8_t direction, scheduler* me) noexcept {
    for (;;) {
        shared_record* h = partner_head(c, direction);
        if (h == nullptr || claim_record(h, me)) return h;
        unlink(c, h);
    }
}

/// Under c's mutex, r claimed by the caller: r leaves the queue and its wait ends with
/// `outcome` (0 or EPIPE) on its own thread. `me` is the caller's scheduler (or null).
inline void end_wait(shared_core* c, shared_record* r, int outcome, scheduler* me) noexcept {
    unlink(c, r);
    shared_wait* w = r->wait;
    w->outcome = outcome;
    if (w->home == me) {
        static_cast<reactor*>(w->owner)->finish_wait(w, outcome);
        return;
    }
    // A plain operation's tasklet may still reach the core after this mutex is let go (a
    // cancel before the mail is read withdraws it under this mutex), when the last handle
    // may have gone: it holds a reference from now on. Relaxed: the caller holds one (a
    // handle's, or a drop's own), so refs is not zero; the decrement is acq_rel.
    if (r->plain_home && !w->holds_ref) {
        c->refs.fetch_add(1, std::memory_order_relaxed);
        w->holds_ref = true;
    }
    // Cannot fail: a waiting tasklet holds its reactor, so its inbox is not closed yet.
    // After it, w is not touched: its thread may be delivering the mail already.
    (void)w->inbox->post_express(&w->wake);
}

/// Home thread, w claimed: takes w's records that are still queued off their channels.
inline void leave_queues(shared_wait* w) noexcept {
    for (std::uint32_t i = 0; i < w->count; ++i) {
        shared_record* r = &w->records[i];
        std::lock_guard lock(r->channel->mutex);
        if (r->queued) unlink(r->channel, r);
    }
}

// A shared wait's ends on its own thread (threads/shared_channel.cpp): its wake mail
// delivered, a kill or throw cancelling it, its timer firing.
void deliver_wake(mail* m, scheduler&) noexcept;
void cancel_shared_wait(event_wait* self) noexcept;
void fire_shared_timer(timer_node* n) noexcept;

/// For the wait's timer and cancel: set up w for the calling tasklet's wait on `records`.
/// Inline: every blocking send or receive runs it.
inline void prepare_wait(shared_wait& w, thread_inbox* inbox, scheduler& s, shared_record* records,
                         std::uint32_t count) noexcept {
    w.cancel = &cancel_shared_wait;
    w.timer.fire = &fire_shared_timer;
    w.wake.deliver = &deliver_wake;
    w.wake.wait = &w;
    w.inbox = inbox;
    w.home = &s;
    w.records = records;
    w.count = count;
}

}  // namespace tasklets::detail
