// Channels: Stackless's channel_action — hand-off to a waiting partner by preference,
// or block at the tail of the FIFO queue.
#include "scheduler.hpp"

namespace tasklets::detail {

struct channel_core {
    tasklet_impl* head = nullptr;  // waiters, FIFO, linked through tasklet next/prev
    tasklet_impl* tail = nullptr;
    int balance = 0;               // > 0: senders waiting; < 0: receivers waiting
    std::uint32_t handles = 1;
    std::int8_t preference = -1;
    bool schedule_all = false;
    bool closing = false;
};

namespace {

void queue_push(channel_core* c, tasklet_impl* t) noexcept {
    t->next = nullptr;
    t->prev = c->tail;
    if (c->tail) c->tail->next = t;
    else c->head = t;
    c->tail = t;
}

void queue_unlink(channel_core* c, tasklet_impl* t) noexcept {
    if (t->prev) t->prev->next = t->next;
    else c->head = t->next;
    if (t->next) t->next->prev = t->prev;
    else c->tail = t->prev;
    t->next = t->prev = t;
}

// Takes the first waiter off the queue; the caller hands it its value and places it.
tasklet_impl* take_partner(channel_core* c) noexcept {
    tasklet_impl* partner = c->head;
    unblock_from_channel(partner);
    return partner;
}

// Does handing over to a waiting partner switch away from the caller?
bool hand_off_switches(const channel_core* c, std::int8_t caller_direction) noexcept {
    return c->schedule_all || c->preference == -caller_direction;
}

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

// The partner got its value; who runs next depends on schedule_all and preference.
void place_partner(scheduler& s, channel_core* c, tasklet_impl* partner, std::int8_t caller_direction) {
    if (c->schedule_all) {
        ring_append(s, partner);
        schedule();
    } else if (c->preference == -caller_direction) {  // -1 prefers receivers, +1 senders
        ring_insert_after(s, s.current, partner);
        switch_to_tasklet(s, partner);
    } else {
        ring_append(s, partner);
    }
}

// No partner is waiting: the caller waits at the tail of the queue.
void block(scheduler& s, channel_core* c, std::int8_t direction, void* transfer, bool is_exception) {
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
    self->blocked_on = c;
    self->direction = direction;
    self->transfer = transfer;
    self->transfer_is_exception = is_exception;
    queue_push(c, self);
    c->balance += direction;
    switch_to_tasklet(s, target);
}

}  // namespace

void unblock_from_channel(tasklet_impl* t) noexcept {
    channel_core* c = t->blocked_on;
    queue_unlink(c, t);
    c->balance -= t->direction;
    t->blocked_on = nullptr;
    t->direction = not_blocked;
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
                throw_into(s, c->head, std::make_exception_ptr(tasklet_exit{}), false);
            } catch (...) {
                // Nothing can report it from a destructor.
            }
        }
        if (--c->handles != 0 || c->head) return;
    }
    delete c;
}

void channel_send(channel_core* c, void* payload, relocate_fn relocate) {
    scheduler& s = sched();
    enter_operation(s, c, sending);
    if (c->balance < 0) {
        relocate(c->head->transfer, payload);  // may throw: nothing has changed yet
        place_partner(s, c, take_partner(c), sending);
    } else {
        block(s, c, sending, payload, false);
    }
}

namespace {
// A waiting sender passed an exception: take it, let the sender go, raise it here.
[[gnu::cold]] void receive_exception(scheduler& s, channel_core* c, tasklet_impl* sender) {
    std::exception_ptr thrown = *static_cast<std::exception_ptr*>(sender->transfer);
    place_partner(s, c, take_partner(c), receiving);
    std::rethrow_exception(std::move(thrown));
}
}  // namespace

void channel_receive(channel_core* c, void* storage, relocate_fn relocate) {
    scheduler& s = sched();
    enter_operation(s, c, receiving);
    if (c->balance > 0) {
        tasklet_impl* sender = c->head;
        if (sender->transfer_is_exception) [[unlikely]] return receive_exception(s, c, sender);
        relocate(storage, sender->transfer);
        place_partner(s, c, take_partner(c), receiving);
    } else {
        block(s, c, receiving, storage, false);
    }
}

void channel_send_exception(channel_core* c, std::exception_ptr e) {
    if (!e) throw std::invalid_argument("tasklets: send_exception needs a non-null exception_ptr");
    scheduler& s = sched();
    enter_operation(s, c, sending);
    if (c->balance < 0) {
        tasklet_impl* partner = take_partner(c);
        partner->pending = std::move(e);
        place_partner(s, c, partner, sending);
    } else {
        block(s, c, sending, &e, true);
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
tasklet channel_queue(const channel_core* c) { return tasklet::from_impl(c->head); }

}  // namespace tasklets::detail
