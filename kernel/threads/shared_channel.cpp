// Channels between threads (include/tasklets/shared_channel.hpp; docs/semantics.md §9.3).
//
// One mutex per channel guards its FIFO of waiter records. A record lives in the waiting
// tasklet's frame, as a channel's does, and is an io_wait of the waiter's own reactor,
// which parks it (reactor::wait_for_mail) and so keeps its thread sleeping rather than
// reporting a deadlock. A partner that finds it queued, under the mutex:
//   moves the value, takes the record off the queue (state: served), and
//   - on the waiter's own thread: wakes it at once (reactor::finish_wait);
//   - elsewhere: posts the record's `wake` mail to the waiter's inbox, still under the
//     mutex, so that a cancel that takes the mutex later finds the mail queued.
// Every other change to a record happens on its own thread: its cancel (kill/throw while
// waiting) and its timer, both under the mutex while it is queued; the mail's delivery.
//
//   state      set by                      what follows
//   queued     the waiter, enqueueing      a partner, the timer, a cancel or the last
//                                          handle's drop takes it off the queue
//   served     a partner                   the wake (local, or mail) ends the wait with 0
//   dropped    the last handle's drop      the wake ends it with EPIPE: tasklet_exit
//   timed_out  its timer                   the timer ends it with ETIMEDOUT
//   cancelled  its cancel                  the tasklet unwinds with what was thrown in;
//                                          a mail already posted is withdrawn
//
// Lifetime: the handles together hold one reference of `refs`, each queued waiter one
// more (dropped when its operation returns or unwinds), so a core outlives the frames
// that point at it.
#include "core/scheduler.hpp"
#include "core/throw_into.hpp"
#include "io/reactor.hpp"
#include "threads/inbox.hpp"

#include <tasklets/channel.hpp>
#include <tasklets/errors.hpp>
#include <tasklets/shared_channel.hpp>

#include <atomic>
#include <cerrno>
#include <mutex>

namespace tasklets::detail {

enum class waiter_state : std::uint8_t { queued, served, dropped, timed_out, cancelled };

struct shared_waiter;

struct wake_mail : mail {
    shared_waiter* waiter = nullptr;
};

struct shared_waiter : io_wait {
    wake_mail wake;                     // posted by a partner on another thread
    shared_core* channel = nullptr;
    shared_waiter* queue_next = nullptr;  // the channel's FIFO, under its mutex
    shared_waiter* queue_prev = nullptr;
    void* transfer = nullptr;           // the payload (sending) or storage (receiving)
    thread_inbox* inbox = nullptr;      // the waiter's thread's: held by its reactor, which the wait holds
    scheduler* home = nullptr;
    std::int8_t direction = not_blocked;
    waiter_state state = waiter_state::queued;  // under the channel's mutex until it leaves the queue
    int outcome = 0;                    // what the wake ends the wait with: 0 or EPIPE
};

struct shared_core {
    std::mutex mutex;
    shared_waiter* head = nullptr;  // under mutex
    shared_waiter* tail = nullptr;
    int balance = 0;                // under mutex
    bool closing = false;           // under mutex
    std::atomic<std::uint32_t> handles{1};
    std::atomic<std::uint32_t> refs{1};
    shared_relocate_fn relocate = nullptr;
    shared_destroy_fn destroy = nullptr;
};

namespace {

void unlink(shared_core* c, shared_waiter* w) noexcept {
    if (w->queue_prev) w->queue_prev->queue_next = w->queue_next;
    else c->head = w->queue_next;
    if (w->queue_next) w->queue_next->queue_prev = w->queue_prev;
    else c->tail = w->queue_prev;
    w->queue_next = w->queue_prev = nullptr;
    c->balance -= w->direction;
}

// Under c's mutex: w leaves the queue and its wait ends with `outcome` (0 or EPIPE), on
// its own thread. `me` is the caller's scheduler (null on a thread without one).
void end_wait(shared_core* c, shared_waiter* w, waiter_state state, int outcome, scheduler* me) noexcept {
    unlink(c, w);
    w->state = state;
    w->outcome = outcome;
    if (w->home == me) {
        static_cast<reactor*>(w->owner)->finish_wait(w, outcome);
        return;
    }
    // Cannot fail: a queued waiter holds its reactor, so its inbox is not closed yet.
    (void)w->inbox->post(&w->wake);
}

void deliver_wake(mail* m, scheduler&) noexcept {
    shared_waiter* w = static_cast<wake_mail*>(m)->waiter;
    w->owner->finish_wait(w, w->outcome);
}

// The tasklet is killed or thrown into while it waits (on its own thread).
void cancel_shared_wait(event_wait* self) noexcept {
    auto* w = static_cast<shared_waiter*>(self);
    w->owner->cancel_timer(&w->timer);
    shared_core* c = w->channel;
    std::lock_guard lock(c->mutex);
    if (w->state == waiter_state::queued) {
        unlink(c, w);
    } else {
        // Served or dropped by another thread: its wake is queued in our inbox (posted
        // under this mutex), not yet delivered, or the wait would have ended.
        (void)w->inbox->withdraw(&w->wake);
        // A value received and never to be returned dies here, as it would in the frame.
        if (w->state == waiter_state::served && w->direction == receiving) c->destroy(w->transfer);
    }
    w->state = waiter_state::cancelled;
}

void fire_shared_timer(timer_node* n) noexcept {
    auto* w = static_cast<shared_waiter*>(n->context);
    shared_core* c = w->channel;
    {
        std::lock_guard lock(c->mutex);
        if (w->state != waiter_state::queued) return;  // served or dropped: the wake is on its way
        unlink(c, w);
        w->state = waiter_state::timed_out;
    }
    static_cast<reactor*>(w->owner)->finish_wait(w, ETIMEDOUT);
}

void release_ref(shared_core* c) noexcept {
    // acq_rel: the last one deletes, after every other holder's last access (release of
    // theirs, acquire of ours).
    if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

template <std::int8_t direction>
void shared_operation(shared_core* c, void* transfer, std::int64_t deadline, std::int64_t span) {
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    thread_inbox* inbox = r.inbox_here();  // may throw (eventfd): before anything changes
    std::unique_lock lock(c->mutex);
    if (c->balance * direction < 0) {  // a partner waits: the head of the queue
        shared_waiter* w = c->head;
        if constexpr (direction == sending) c->relocate(w->transfer, transfer);
        else c->relocate(transfer, w->transfer);
        end_wait(c, w, waiter_state::served, 0, &s);
        return;
    }
    if (c->closing) throw channel_closed_error("Send/receive operation on a closed channel");
    if (s.current->block_trap) throw_state_error("this tasklet does not like to be blocked.");
    const char* what = direction == sending ? "shared channel send" : "shared channel receive";
    if (deadline != no_deadline && deadline <= r.now()) {
        lock.unlock();
        throw_timeout(what, span);
    }
    shared_waiter w;
    w.cancel = &cancel_shared_wait;
    w.timer.fire = &fire_shared_timer;
    w.wake.deliver = &deliver_wake;
    w.wake.waiter = &w;
    w.channel = c;
    w.transfer = transfer;
    w.inbox = inbox;
    w.home = &s;
    w.direction = direction;
    w.queue_prev = c->tail;
    if (c->tail) c->tail->queue_next = &w;
    else c->head = &w;
    c->tail = &w;
    c->balance += direction;
    // Relaxed: the caller holds a handle, so refs is not zero; the decrement that pairs
    // with it is acq_rel.
    c->refs.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    struct leave {
        shared_core* c;
        ~leave() { release_ref(c); }
    } on_leave{c};
    int result;
    try {
        result = r.wait_for_mail(w, deadline);
    } catch (...) {
        // Killed (or thrown into) after it was served and woken, before it ran: the value
        // it received will never be returned, so it dies here. (Served and not yet woken,
        // the cancel destroyed it and the state is `cancelled`.)
        if (direction == receiving && w.state == waiter_state::served) c->destroy(transfer);
        throw;
    }
    if (result == ETIMEDOUT) throw_timeout(what, span);
    if (result == EPIPE) throw tasklet_exit{};
}

}  // namespace

shared_core* new_shared_channel(shared_relocate_fn relocate, shared_destroy_fn destroy) {
    auto* c = new shared_core;
    c->relocate = relocate;
    c->destroy = destroy;
    return c;
}

// Relaxed: a new handle is made from one the caller holds (the count is not zero);
// nothing else is published by it.
void retain(shared_core* c) noexcept { c->handles.fetch_add(1, std::memory_order_relaxed); }

void release(shared_core* c) noexcept {
    // acq_rel: whoever drops the last handle sees every other handle's last use.
    if (c->handles.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    {
        // Nobody can reach the channel to serve its waiters any more: their waits end
        // with tasklet_exit, on their threads, in queue order.
        std::lock_guard lock(c->mutex);
        scheduler* me = tls_scheduler;
        while (c->head) end_wait(c, c->head, waiter_state::dropped, EPIPE, me);
    }
    release_ref(c);
}

void shared_send(shared_core* c, void* payload, std::int64_t deadline, std::int64_t span) {
    shared_operation<sending>(c, payload, deadline, span);
}

void shared_receive(shared_core* c, void* storage, std::int64_t deadline, std::int64_t span) {
    shared_operation<receiving>(c, storage, deadline, span);
}

int shared_balance(const shared_core* c) noexcept {
    auto* m = const_cast<shared_core*>(c);
    std::lock_guard lock(m->mutex);
    return m->balance;
}

void shared_close(shared_core* c) noexcept {
    std::lock_guard lock(c->mutex);
    c->closing = true;
}

void shared_open(shared_core* c) noexcept {
    std::lock_guard lock(c->mutex);
    c->closing = false;
}

bool shared_closing(const shared_core* c) noexcept {
    auto* m = const_cast<shared_core*>(c);
    std::lock_guard lock(m->mutex);
    return m->closing;
}

}  // namespace tasklets::detail
