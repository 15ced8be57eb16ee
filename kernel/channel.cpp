// Channels: Stackless's channel_action — hand-off to a waiting partner by preference,
// or block at the tail of the FIFO queue.
#include "channel_core.hpp"

#include <tasklets/select.hpp>

namespace tasklets::detail {

namespace {

// The rare part of entering a channel operation: the channel callback, and the switch
// guard when the operation will switch.
[[gnu::cold, gnu::noinline]] void enter_watched_operation(scheduler& s, const channel_core* c, std::int8_t direction) {
    const bool partner_waiting = direction == sending ? c->balance < 0 : c->balance > 0;
    if (s.switch_flags & channel_watched) notify_channel(s, c, c->balance, direction == sending, !partner_waiting);
    if (s.switch_flags & (switch_trapped | in_callback)) {
        if (!partner_waiting || hand_off_switches(c, direction)) refuse_switch(s);
    }
}

static_assert(sizeof(channel_waiter) <= sizeof(waiter_slot) && alignof(channel_waiter) <= alignof(waiter_slot),
              "channel_waiter must fit the waiter_slot that channel.hpp reserves for it");

// Queues the caller's waiter record (in `slot`, the caller's frame) on c and marks the
// caller blocked; the caller is already out of the ring.
inline void enqueue_waiter(tasklet_impl* self, channel_core* c, std::int8_t direction, void* transfer,
                           bool is_exception, waiter_slot* slot) noexcept {
    // Ours while we wait: the partner or unblock_from_channel unlinks it.
    channel_waiter* w = ::new (static_cast<void*>(slot->bytes)) channel_waiter{};
    w->tasklet = self;
    w->channel = c;
    w->transfer = transfer;
    w->transfer_is_exception = is_exception;
    w->direction = direction;
    self->blocked_on = c;
    self->direction = direction;
    self->waiters = w;
    queue_push(c, w);
    c->balance += direction;
}

// No partner is waiting: the caller waits at the tail of the queue, its record in `slot`
// (the caller's frame, so that this one can end in a tail call to the switch). Every
// case: refusals, an empty ring (the event source, then the watchdog), a budget, a
// callback, a next tasklet that never ran.
[[gnu::noinline]] void block_with_care(scheduler& s, channel_core* c, std::int8_t direction, void* transfer,
                                       bool is_exception, waiter_slot* slot) {
    tasklet_impl* self = s.current;
    if (self->block_trap) throw_state_error("this tasklet does not like to be blocked.");
    if (c->closing) throw channel_closed_error("Send/receive operation on a closed channel");
    guard_switch(s);
    tasklet_impl* target = successor_for_blocking(s, self);
    ring_unlink(s, self);
    enqueue_waiter(self, c, direction, transfer, is_exception, slot);
    switch_to_tasklet(s, target);
}

// block_with_care() when the next tasklet in the ring can simply take over: this calls
// nothing but the switch, so it needs no stack frame. Its parameters are the entry's, in
// the same registers, so that the entry reaches it by a bare jump.
template <std::int8_t direction>
[[gnu::noinline]] void block(channel_core* c, void* transfer, relocate_fn, waiter_slot* slot) {
    scheduler& s = *tls_scheduler;
    tasklet_impl* self = s.current;
    tasklet_impl* target = self->next;
    if (self->block_trap || c->closing || (s.switch_flags & switch_needs_care) || target == self || !target->started)
        [[unlikely]] return block_with_care(s, c, direction, transfer, false, slot);
    ring_unlink(s, self);
    enqueue_waiter(self, c, direction, transfer, false, slot);
    switch_plainly(s, self, target);
}

}  // namespace

tasklet_impl* successor_for_blocking(scheduler& s, tasklet_impl* self) {
    tasklet_impl* target = self->next;
    if (target == self && refill_ring(s, self)) target = self->next;
    if (target != self) {
        prepare(s, target);
        return target;
    }
    target = watchdog(s);
    if (target == self) throw deadlock_error("Deadlock: the last runnable tasklet cannot be blocked.");
    revive(s, target, true);
    return target;
}

void unblock_from_channel(tasklet_impl* t) noexcept {
    channel_waiter* w = t->waiters;
    if (w->select) [[unlikely]] return unblock_select(t);
    channel_core* c = w->channel;
    queue_unlink(c, w);
    c->balance -= w->direction;
    t->blocked_on = nullptr;
    t->direction = not_blocked;
    t->waiters = nullptr;
}

bool blocked_in_select(const tasklet_impl* t) noexcept { return t->waiters && t->waiters->select; }

channel_core* new_channel() { return new channel_core; }

void retain(channel_core* c) noexcept { ++c->handles; }

void release(channel_core* c) noexcept {
    if (--c->handles != 0) return;
    // Nobody can ever send or receive on it again: its waiters would wait forever, so
    // they are killed, in queue order. One pass over the waiters present now; a waiter
    // that catches tasklet_exit and blocks here again keeps the channel alive.
    if (c->head) {
        c->handles = 1;
        scheduler& s = sched();
        for (int n = c->balance < 0 ? -c->balance : c->balance; n > 0 && c->head; --n) {
            try {
                throw_into(s, c->head->tasklet, std::make_exception_ptr(tasklet_exit{}), false);
            } catch (...) {
                // Nothing can report it from a destructor.
            }
        }
        if (--c->handles != 0 || c->head) return;
    }
    delete c;
}

// ---- send and receive ------------------------------------------------------------------
// Each is split so that the common cases need no stack frame: the entry tests every rare
// condition at once and tail-calls either the hand-off to a waiting partner or block();
// anything unusual (no scheduler yet, the safe point's periodic work, a channel callback,
// a refused switch) goes through *_with_care, which is the whole operation.

namespace {

// Any reason the entry of a channel operation cannot take the fast path. The safe point
// is counted first: tick_countdown exists before the scheduler does.
inline bool enter_needs_care() noexcept {
    scheduler* s = tls_scheduler;
    return --tick_countdown < 0 || s == nullptr ||
           (s->switch_flags & (channel_watched | switch_trapped | in_callback));
}

// The careful entry's first steps (the safe point already counted): its periodic work,
// the callback and the guard, all before anything changes.
scheduler& enter_with_care(const channel_core* c, std::int8_t direction) {
    scheduler& s = sched();
    if (tick_countdown < 0) slow_safe_point(s);
    if (s.switch_flags & (channel_watched | switch_trapped | in_callback)) enter_watched_operation(s, c, direction);
    return s;
}

// A receiver waits at the head of c: hand it the payload. The partner's record is read
// again after relocate (a call) instead of being kept in a callee-saved register. Not
// inlined: its frame (for the relocate call) must stay out of the entry's fast path.
[[gnu::noinline]] void send_to_waiting(channel_core* c, void* payload, relocate_fn relocate) {
    relocate(c->head->transfer, payload);  // may throw: nothing has changed yet
    place_partner(*tls_scheduler, c, take_partner(c, c->head), sending);
}

// A sender waits at the head of c: take its payload (or the exception it passed). Not
// inlined, as send_to_waiting.
[[gnu::noinline]] void receive_from_waiting(channel_core* c, void* storage, relocate_fn relocate);

[[gnu::noinline]] void send_with_care(channel_core* c, void* payload, relocate_fn relocate, waiter_slot* slot) {
    scheduler& s = enter_with_care(c, sending);
    if (c->balance < 0) return send_to_waiting(c, payload, relocate);
    block_with_care(s, c, sending, payload, false, slot);
}

[[gnu::noinline]] void receive_with_care(channel_core* c, void* storage, relocate_fn relocate, waiter_slot* slot) {
    scheduler& s = enter_with_care(c, receiving);
    if (c->balance > 0) return receive_from_waiting(c, storage, relocate);
    block_with_care(s, c, receiving, storage, false, slot);
}

// A waiting sender passed an exception: take it, let the sender go, raise it here.
[[gnu::cold, gnu::noinline]] void receive_exception(scheduler& s, channel_core* c, channel_waiter* sender) {
    std::exception_ptr thrown = *static_cast<std::exception_ptr*>(sender->transfer);
    place_partner(s, c, take_partner(c, sender), receiving);
    std::rethrow_exception(std::move(thrown));
}

void receive_from_waiting(channel_core* c, void* storage, relocate_fn relocate) {
    channel_waiter* sender = c->head;
    if (sender->transfer_is_exception) [[unlikely]] return receive_exception(*tls_scheduler, c, sender);
    relocate(storage, sender->transfer);
    place_partner(*tls_scheduler, c, take_partner(c, c->head), receiving);
}

}  // namespace

// The entries: every tail call below passes the entry's own arguments in place.
void channel_send(channel_core* c, void* payload, relocate_fn relocate, waiter_slot* slot) {
    if (enter_needs_care()) [[unlikely]] return send_with_care(c, payload, relocate, slot);
    if (c->balance < 0) return send_to_waiting(c, payload, relocate);
    block<sending>(c, payload, relocate, slot);
}

void channel_receive(channel_core* c, void* storage, relocate_fn relocate, waiter_slot* slot) {
    if (enter_needs_care()) [[unlikely]] return receive_with_care(c, storage, relocate, slot);
    if (c->balance > 0) return receive_from_waiting(c, storage, relocate);
    block<receiving>(c, storage, relocate, slot);
}

void channel_send_exception(channel_core* c, std::exception_ptr e) {
    if (!e) throw std::invalid_argument("tasklets: send_exception needs a non-null exception_ptr");
    --tick_countdown;  // rare enough to take the careful entry every time
    scheduler& s = enter_with_care(c, sending);
    if (c->balance < 0) {
        channel_waiter* w = c->head;
        select_wait* selecting = w->select;
        tasklet_impl* partner = take_partner(c, w);
        if (selecting) *selecting->chosen = select_none;  // its case took no value: select() just throws
        partner->pending = std::move(e);
        place_partner(s, c, partner, sending);
    } else {
        waiter_slot slot;  // this frame holds `e` during the wait anyway
        block_with_care(s, c, sending, &e, true, &slot);
    }
}

int channel_balance(const channel_core* c) noexcept { return c->balance; }
int channel_preference(const channel_core* c) noexcept { return c->preference; }
void channel_set_preference(channel_core* c, int preference) noexcept {
    c->preference = static_cast<std::int8_t>((preference > 0) - (preference < 0));
}
bool channel_schedule_all(const channel_core* c) noexcept { return c->schedule_all; }
void channel_set_schedule_all(channel_core* c, bool on) noexcept { c->schedule_all = on; }
void channel_close(channel_core* c) noexcept { c->closing = true; }
void channel_open(channel_core* c) noexcept { c->closing = false; }
bool channel_closing(const channel_core* c) noexcept { return c->closing; }
tasklet channel_queue(const channel_core* c) { return tasklet::from_impl(c->head ? c->head->tasklet : nullptr); }

}  // namespace tasklets::detail
