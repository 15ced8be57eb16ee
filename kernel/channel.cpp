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

// Start of every channel operation: a safe point, then (rarely) the callback and the
// switch guard — all before anything changes.
inline void enter_operation(scheduler& s, const channel_core* c, std::int8_t direction) {
    safe_point(s);
    if (s.switch_flags & (channel_watched | switch_trapped | in_callback)) [[unlikely]]
        enter_watched_operation(s, c, direction);
}

static_assert(sizeof(channel_waiter) <= sizeof(waiter_slot) && alignof(channel_waiter) <= alignof(waiter_slot),
              "channel_waiter must fit the waiter_slot that channel.hpp reserves for it");

// No partner is waiting: the caller waits at the tail of the queue, its record in `slot`
// (the caller's frame, so that this one can end in a tail call to the switch).
void block(scheduler& s, channel_core* c, std::int8_t direction, void* transfer, bool is_exception, waiter_slot* slot) {
    tasklet_impl* self = s.current;
    if (self->block_trap) throw_state_error("this tasklet does not like to be blocked.");
    if (c->closing) throw channel_closed_error("Send/receive operation on a closed channel");
    guard_switch(s);
    tasklet_impl* target = self->next;
    if (target == self && refill_ring(s, self)) target = self->next;
    if (target != self) {
        prepare(s, target);
    } else {
        target = watchdog(s);
        if (target == self) throw deadlock_error("Deadlock: the last runnable tasklet cannot be blocked.");
        revive(s, target, true);
    }
    ring_unlink(s, self);
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
    switch_to_tasklet(s, target);
}

}  // namespace

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

void channel_send(channel_core* c, void* payload, relocate_fn relocate, waiter_slot* slot) {
    scheduler& s = sched();
    enter_operation(s, c, sending);
    if (c->balance < 0) {
        channel_waiter* w = c->head;
        relocate(w->transfer, payload);  // may throw: nothing has changed yet
        place_partner(s, c, take_partner(c, w), sending);
    } else {
        block(s, c, sending, payload, false, slot);
    }
}

namespace {
// A waiting sender passed an exception: take it, let the sender go, raise it here.
[[gnu::cold]] void receive_exception(scheduler& s, channel_core* c, channel_waiter* sender) {
    std::exception_ptr thrown = *static_cast<std::exception_ptr*>(sender->transfer);
    place_partner(s, c, take_partner(c, sender), receiving);
    std::rethrow_exception(std::move(thrown));
}
}  // namespace

void channel_receive(channel_core* c, void* storage, relocate_fn relocate, waiter_slot* slot) {
    scheduler& s = sched();
    enter_operation(s, c, receiving);
    if (c->balance > 0) {
        channel_waiter* sender = c->head;
        if (sender->transfer_is_exception) [[unlikely]] return receive_exception(s, c, sender);
        relocate(storage, sender->transfer);
        place_partner(s, c, take_partner(c, sender), receiving);
    } else {
        block(s, c, receiving, storage, false, slot);
    }
}

void channel_send_exception(channel_core* c, std::exception_ptr e) {
    if (!e) throw std::invalid_argument("tasklets: send_exception needs a non-null exception_ptr");
    scheduler& s = sched();
    enter_operation(s, c, sending);
    if (c->balance < 0) {
        channel_waiter* w = c->head;
        select_wait* selecting = w->select;
        tasklet_impl* partner = take_partner(c, w);
        if (selecting) *selecting->chosen = select_none;  // its case took no value: select() just throws
        partner->pending = std::move(e);
        place_partner(s, c, partner, sending);
    } else {
        waiter_slot slot;  // this frame holds `e` during the wait anyway
        block(s, c, sending, &e, true, &slot);
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
