// Channels between threads: send, receive and the handles (include/tasklets/shared_channel.hpp;
// docs/semantics.md §9.3). The queue, the records and the claim that decides how a wait
// ends are in threads/shared_core.hpp; select over shared channels is threads/shared_select.cpp.
//
// Lifetime: the handles together hold one reference of `refs`; the core is deleted when
// the last reference goes. A blocked send or receive can outlive the handles (its own may be
// destroyed by another tasklet while it waits): the last handle's drop ends it with EPIPE.
// It needs the core after that only where another thread is involved, so only then does it
// hold a reference of its own:
//   - ended from another thread (served, or dropped): the ender gives it one, under the
//     mutex, before it posts the wake (end_wait), because a cancel that comes before the
//     wake is read takes that mutex to withdraw the mail;
//   - claimed by its own timer or cancel while a drop on another thread takes it off the
//     queue: the drop gives it one (release()), because its own thread is about to take
//     the mutex to leave the queue.
// Ended on its own thread, it does not touch the core again (the value's operations are
// kept in off_stack_shared). Each blocked operation used to take a reference for the whole
// wait: two locked instructions that skynet's tasklets paid on every receive (about 5 ns of
// 140 on a pool of one worker). But given by a partner on another thread, the reference is
// a locked instruction between its claim and its wake, which the woken thread waits for:
// the cross-thread ping-pong took 3.75 times its floor against 2.59 without it (vCPUs
// close, 12 alternating rounds). So a waiter on a channel that two threads have used
// (`crossed`) takes the reference itself before it parks, as before, and the others give
// one only to a waiter that holds none.
#include "threads/shared_core.hpp"
#include "core/shared_stacks.hpp"

#include "core/throw_into.hpp"
#include "io/wait_for_mail_inline.hpp"

#include <tasklets/errors.hpp>

#include <cerrno>
#include <memory>
#include <new>

namespace tasklets::detail {

void deliver_wake(mail* m, scheduler&) noexcept {
    shared_wait* w = static_cast<wake_mail*>(m)->wait;
    w->owner->finish_wait(w, w->outcome);
}

// The tasklet is killed or thrown into while it waits (on its own thread). The value, if
// a partner moved one, is the operation's to deal with as it unwinds.
void cancel_shared_wait(event_wait* self) noexcept {
    auto* w = static_cast<shared_wait*>(self);
    w->owner->cancel_timer(&w->timer);
    if (!claim(w, claimed_by_cancel)) {
        // A partner or a drop got there first (the timer cannot have: it ends the wait on
        // this thread at once). On another thread, it posted our wake under that record's
        // channel mutex: once we hold the mutex the mail is queued, and is taken back.
        const std::uint32_t by = w->winner.load(std::memory_order_acquire);
        if (by < w->count) {
            std::lock_guard lock(w->records[by].channel->mutex);
            (void)w->inbox->withdraw(&w->wake);
        }
    }
    leave_queues(w);
}

void fire_shared_timer(timer_node* n) noexcept {
    auto* w = static_cast<shared_wait*>(static_cast<io_wait*>(n->context));
    if (!claim(w, claimed_by_timer)) return;  // served or dropped: the wake is on its way
    leave_queues(w);
    static_cast<reactor*>(w->owner)->finish_wait(w, ETIMEDOUT);
}

namespace {

void release_ref(shared_core* c) noexcept {
    // acq_rel: the last one deletes, after every other holder's last access (release of
    // theirs, acquire of ours).
    if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

// Where a shared-stack tasklet's send or receive keeps its wait and value: on the heap
// (core/shared_stacks.hpp). A dedicated stack's are in the frame.
// The value's operations and alignment are copied out of the core: after a wait that its
// own thread ended, the core may be gone (see "Lifetime").
class off_stack_shared {
public:
    off_stack_shared(shared_core* c, std::int8_t direction, void* transfer)
        : direction_(direction), transfer_(transfer), on_heap_(std::make_unique<shared_wait>()),
          relocate_(c->relocate), destroy_(c->destroy), align_(c->align) {
        on_heap_->off_stack = true;
        value_ = ::operator new(c->size, std::align_val_t{align_});
        if (direction_ == sending) relocate_(value_, transfer_);  // noexcept for shared channels
    }
    ~off_stack_shared() {
        // Sending: what the receiver left, or the value no receiver took (the send
        // failed: its argument is lost with it, as on a dedicated stack). Receiving: a
        // value came only if served, and received() or the failure path took it.
        if (direction_ == sending) destroy_(value_);
        ::operator delete(value_, std::align_val_t{align_});
    }
    off_stack_shared(const off_stack_shared&) = delete;
    off_stack_shared& operator=(const off_stack_shared&) = delete;

    shared_wait& wait() noexcept { return *on_heap_; }
    void* transfer() noexcept { return value_; }
    /// A receive was served: the value goes to the caller.
    void received() noexcept {
        if (direction_ != receiving) return;
        relocate_(transfer_, value_);
        destroy_(value_);
    }

private:
    std::int8_t direction_;
    void* transfer_;
    std::unique_ptr<shared_wait> on_heap_;
    shared_relocate_fn relocate_;
    shared_destroy_fn destroy_;
    std::size_t align_;
    void* value_ = nullptr;
};

// Under the channel's lock, no partner queued: queues w's record for `transfer`, lets the
// lock go and parks until the wait ends; returns how (0 served, ETIMEDOUT, EPIPE).
// Inlined into each of its two callers, so that a wait in the frame is built in one pass
// (its members' defaults that this overwrites are never stored). `in_frame`: the common
// wait, which builds the reactor's wait into this frame too (io/wait_for_mail_inline.hpp:
// the tasklet resumes here, two mispredicted returns sooner); a shared-stack tasklet's
// wait on the heap calls it, as its resume copies frames back anyway.
template <std::int8_t direction, bool in_frame>
[[gnu::always_inline]] inline int wait_for_partner(shared_core* c, std::unique_lock<spin_lock>& lock, shared_wait& w,
                                                   void* transfer, reactor& r, thread_inbox* inbox, scheduler& s,
                                                   std::int64_t deadline) {
    shared_record& record = w.own;
    prepare_wait(w, inbox, s, &record, 1);
    record.plain_home = &s;
    record.wait = &w;
    record.channel = c;
    record.transfer = transfer;
    record.direction = direction;
    enqueue(c, &record);
    if (c->crossed) {
        // Relaxed: the caller holds a handle, so refs is not zero; the decrement is acq_rel.
        c->refs.fetch_add(1, std::memory_order_relaxed);
        w.holds_ref = true;
    }
    const shared_destroy_fn destroy = c->destroy;  // the core may be gone after the wait
    lock.unlock();
    struct leave {
        shared_core* c;
        shared_wait& w;
        // Read on this thread once the wait is over: whoever set it did so under the
        // mutex before the wake (or, for a drop that found it stale, before this thread's
        // leave_queues took the mutex).
        ~leave() {
            if (w.holds_ref) release_ref(c);
        }
    } on_leave{c, w};
    try {
        if constexpr (in_frame) return r.wait_for_mail_inline(w, deadline, reactor::revived_without_answer, true, &w.wake);
        else return r.wait_for_express(w, w.wake, deadline);
    } catch (...) {
        // Killed or thrown into after a partner served it (before it ran, or before its
        // wake came): the value it received will never be returned, so it dies here.
        // Relaxed (and `outcome` plain): a partner writes the claim, the value and the
        // outcome on this thread, or on another under the channel's mutex, which this
        // thread has taken since (the cancel's withdraw) unless it received the wake,
        // which was posted after them; either way they are ordered before this read.
        if (direction == receiving && w.winner.load(std::memory_order_relaxed) == 0 && w.outcome == 0)
            destroy(transfer);
        throw;
    }
}

template <std::int8_t direction>
void shared_operation(shared_core* c, void* transfer, std::int64_t deadline, std::int64_t span) {
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    thread_inbox* inbox = r.inbox_here();  // may throw (eventfd): before anything changes
    std::unique_lock lock(c->mutex);
    if (c->user != &s) [[unlikely]] {
        if (c->user) c->crossed = true;
        else c->user = &s;
    }
    if (shared_record* partner = claim_partner(c, direction, &s)) {
        if constexpr (direction == sending) c->relocate(partner->transfer, transfer);
        else c->relocate(transfer, partner->transfer);
        end_wait(c, partner, 0, &s);
        return;
    }
    if (c->closing) throw channel_closed_error("Send/receive operation on a closed channel");
    if (s.current->block_trap) check_wait(s.current, false, "a shared_channel send or receive");  // a user's block trap
    const char* what = direction == sending ? "shared channel send" : "shared channel receive";
    if (deadline != no_deadline && deadline <= r.now()) {
        lock.unlock();
        throw_timeout(what, span);
    }
    int result;
    if (s.current->stack_kind == stack_shared) [[unlikely]] {
        // A shared-stack tasklet's frame is copied out while it waits, and a partner on
        // any thread reaches the wait and the value then: both go on the heap (allocated
        // under the channel's lock, as the move must come after the check for a partner),
        // and the value is moved in (sending) or out (receiving) around the wait.
        off_stack_shared off(c, direction, transfer);
        result = wait_for_partner<direction, false>(c, lock, off.wait(), off.transfer(), r, inbox, s, deadline);
        if (result == 0) off.received();
    } else {
        shared_wait w;
        result = wait_for_partner<direction, true>(c, lock, w, transfer, r, inbox, s, deadline);
    }
    if (result == ETIMEDOUT) throw_timeout(what, span);
    if (result == EPIPE) throw tasklet_exit{};
}

}  // namespace

shared_core* new_shared_channel(shared_relocate_fn relocate, shared_destroy_fn destroy, std::size_t size,
                                std::size_t align) {
    auto* c = new shared_core;
    c->relocate = relocate;
    c->destroy = destroy;
    c->size = size;
    c->align = align;
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
        // with tasklet_exit, on their threads, in queue order. (Only sends and receives
        // can be waiting: a select's cases hold handles.)
        std::lock_guard lock(c->mutex);
        scheduler* me = tls_scheduler;
        while (shared_record* r = c->head) {
            if (claim_record(r, me)) {
                end_wait(c, r, EPIPE, me);  // from another thread: it gives r's wait a reference
            } else {
                // Claimed by its own timer or cancel, on another thread (on this one it
                // would have left the queue already), which is about to take this mutex
                // to leave: the core must still be there. Relaxed, as in end_wait.
                if (!r->wait->holds_ref) {
                    c->refs.fetch_add(1, std::memory_order_relaxed);
                    r->wait->holds_ref = true;
                }
                unlink(c, r);
            }
        }
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
    // Stale select records still count in `balance`: take them off first, so that the
    // answer counts only waits that a partner could still serve.
    for (shared_record* r = m->head; r != nullptr;) {
        shared_record* next = r->next;
        if (stale(r)) unlink(m, r);
        r = next;
    }
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
