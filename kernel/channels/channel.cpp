// Channels: send, receive and send_exception (docs/semantics.md §3), the channel's life
// cycle, and its properties. The hand-off itself is channels/handoff.hpp.
#include "channels/handoff.hpp"
#include "channels/off_stack_wait.hpp"

#include "core/callbacks.hpp"
#include "core/observe.hpp"
#include "core/safe_points.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"

#include <tasklets/errors.hpp>

#include <stdexcept>

namespace tasklets::detail {

static_assert(sizeof(channel_waiter) <= sizeof(waiter_slot) && alignof(channel_waiter) <= alignof(waiter_slot),
              "channel_waiter must fit the waiter_slot that channel.hpp reserves for it");

channel_core* new_channel() { return new channel_core; }

// relaxed: a new handle is made from one that already keeps the channel alive, and the
// increment publishes nothing.
void retain(channel_core* c) noexcept { c->handles.fetch_add(1, std::memory_order_relaxed); }

void release(channel_core* c) noexcept {
    // acq_rel: every thread releases its handle after its last use of the channel, and the
    // one that drops the last handle acquires all of those uses before it reads or frees it.
    if (c->handles.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Nobody can ever send or receive on it again: its waiters would wait forever, so
    // they are killed, in queue order. One pass over the waiters present now; a waiter
    // that catches tasklet_exit and blocks here again keeps the channel alive.
    if (c->head) {
        scheduler* s = tls_scheduler;
        if (c->owner.load(std::memory_order_relaxed) != s)
            fatal_misuse("the last handle of a channel was destroyed on a thread other than the channel's, while "
                         "tasklets of that thread wait on it: only their own thread can kill them; drop the last "
                         "handle on the channel's thread (docs/semantics.md §3.9, §9.1)");
        c->handles.store(1, std::memory_order_relaxed);  // ours alone: only this thread can reach it now
        for (int n = c->balance < 0 ? -c->balance : c->balance; n > 0 && c->head; --n) {
            try {
                kill_now(*s, c->head->tasklet);
            } catch (...) {
                // Nothing can report it from a destructor.
            }
        }
        if (c->handles.fetch_sub(1, std::memory_order_acq_rel) != 1 || c->head) return;
    }
    scheduler* owner = c->owner.load(std::memory_order_relaxed);  // ours, or settled before the last release
    delete c;
    if (owner != unbound()) drop_keeper(owner);
}

// ---- send and receive ------------------------------------------------------------------
// Each is split so that the common cases need no stack frame: the entry tests every rare
// condition at once and tail-calls either the hand-off to a waiting partner or block();
// anything unusual (no scheduler yet, the safe point's periodic work, a channel callback,
// a refused switch) goes through *_with_care, which is the whole operation.

namespace {

// The rare part of entering a channel operation: the channel callback, and the switch
// guard when the operation will switch.
[[gnu::cold, gnu::noinline]] void enter_watched_operation(scheduler& s, const channel_core* c, std::int8_t direction) {
    const bool partner_waiting = direction == sending ? c->balance < 0 : c->balance > 0;
    if (s.switch_flags & channel_watched) notify_channel(s, c, c->balance, direction, !partner_waiting);
    if (s.switch_flags & (switch_trapped | in_callback)) {
        if (!partner_waiting || hand_off_switches(c, direction)) refuse_switch(s);
    }
    if (observing(s)) observe_channel_operation(s, c, direction);
}

// Any reason the entry of a channel operation cannot take the fast path. The safe point
// is counted first: tick_countdown exists before the scheduler does. A budget or a
// schedule callback (the rest of switch_needs_care) sends every operation the careful
// way too, so that block() need not test them again.
// A channel not bound to this thread (new, or another thread's) goes the careful way too;
// so does a thread without a scheduler (s null), as no channel's owner is null: the one
// comparison costs what the null test it replaces did. The owner is read relaxed, as in
// own_channel(): equal to s only if this thread wrote it, and any other value goes the
// careful way, which binds or throws.
inline bool enter_needs_care(const scheduler* s, const channel_core* c) noexcept {
    return --tick_countdown < 0 || c->owner.load(std::memory_order_relaxed) != s ||
           (s->switch_flags & (channel_watched | switch_needs_care));
}

// The careful entry's first steps (the safe point already counted): the channel's thread,
// the safe point's periodic work, the callback and the guard, all before anything changes.
scheduler& enter_with_care(channel_core* c, std::int8_t direction) {
    scheduler& s = sched();
    own_channel(c, &s, direction == sending ? "send" : "receive");
    if (tick_countdown < 0) slow_safe_point(s);
    if (s.switch_flags & (channel_watched | switch_trapped | in_callback)) enter_watched_operation(s, c, direction);
    return s;
}

// The caller's waiter record, built in `slot` (the caller's frame, so that the kernel's
// frames can end in a tail call to the switch).
inline channel_waiter* record_in(waiter_slot* slot, tasklet_impl* self, channel_core* c, std::int8_t direction,
                                 void* transfer, bool is_exception) noexcept {
    channel_waiter* w = ::new (static_cast<void*>(slot->bytes)) channel_waiter{};
    w->tasklet = self;
    w->channel = c;
    w->transfer = transfer;
    w->transfer_is_exception = is_exception;
    w->unusual = is_exception;
    w->direction = direction;
    return w;
}

// Thrown from a call of its own, so that block_with_care's paths that wait save no register.
[[noreturn, gnu::cold, gnu::noinline]] void throw_closed_channel() {
    throw channel_closed_error("Send/receive operation on a closed channel");
}

// No partner is waiting and something is unusual: the whole blocking path. A shared-stack
// tasklet waits with its record and value off its stack (channels/off_stack_wait.cpp).
// The parameters come in the entries' order, so that reaching it moves no argument.
[[gnu::noinline]] void block_with_care(channel_core* c, void* transfer, const transfer_ops* ops, waiter_slot* slot,
                                       std::int8_t direction, bool is_exception) {
    scheduler& s = *tls_scheduler;
    tasklet_impl* self = s.current;
    if (self->block_trap & trap_user) throw_state_error("this tasklet does not like to be blocked.");
    if (c->closing) throw_closed_channel();
    if (self->block_trap & trap_frames) return wait_off_stack(c, transfer, ops, slot, direction, is_exception);
    block_on_records(s, record_in(slot, self, c, direction, transfer, is_exception), 1);
}

// No partner is waiting, and the next tasklet in the ring can simply take over: this
// calls nothing but the switch, so it needs no stack frame. Inlined into the entry, which
// has loaded the scheduler pointer and ruled out every switch_needs_care condition.
template <std::int8_t direction>
[[gnu::always_inline]] inline void block(scheduler& s, channel_core* c, void* transfer, waiter_slot* slot,
                                         const transfer_ops* ops) {
    tasklet_impl* self = s.current;
    tasklet_impl* target = self->next;
    if (self->block_trap || c->closing || target == self || !target->started) [[unlikely]]
        return block_with_care(c, transfer, ops, slot, direction, false);
    park_plainly(s, self, record_in(slot, self, c, direction, transfer, false), target);
}

// The careful entry: the periodic work of the safe point, the callback, the guard, then
// the operation, by the fast block when nothing unusual is left.
template <std::int8_t direction>
[[gnu::noinline]] void operate_with_care(channel_core* c, void* transfer, const transfer_ops* ops, waiter_slot* slot) {
    scheduler& s = enter_with_care(c, direction);
    if (direction == sending ? c->balance < 0 : c->balance > 0) return hand_off_to_waiting<direction>(c, transfer, ops);
    if (!(s.switch_flags & switch_needs_care)) return block<direction>(s, c, transfer, slot, ops);
    block_with_care(c, transfer, ops, slot, direction, false);
}

// A whole send or receive. `nothrow_move`: the payload's move constructor cannot throw,
// so a hand-off where the caller goes on may move the value last (hand_off_nothrow_move).
template <std::int8_t direction, bool nothrow_move>
[[gnu::always_inline]] inline void operate(channel_core* c, void* transfer, const transfer_ops* ops, waiter_slot* slot) {
    scheduler* s = tls_scheduler;
    if (enter_needs_care(s, c)) [[unlikely]] return operate_with_care<direction>(c, transfer, ops, slot);
    if (direction == sending ? c->balance < 0 : c->balance > 0) {
        if constexpr (nothrow_move) return hand_off_nothrow_move<direction>(c, transfer, ops);
        else return hand_off_to_waiting<direction>(c, transfer, ops);
    }
    block<direction>(*s, c, transfer, slot, ops);
}

}  // namespace

// The entries: every tail call passes the entry's own arguments in place.
void channel_send(channel_core* c, void* payload, const transfer_ops* ops, waiter_slot* slot) {
    operate<sending, false>(c, payload, ops, slot);
}
void channel_receive(channel_core* c, void* storage, const transfer_ops* ops, waiter_slot* slot) {
    operate<receiving, false>(c, storage, ops, slot);
}
void channel_send_nothrow_move(channel_core* c, void* payload, const transfer_ops* ops, waiter_slot* slot) {
    operate<sending, true>(c, payload, ops, slot);
}
void channel_receive_nothrow_move(channel_core* c, void* storage, const transfer_ops* ops, waiter_slot* slot) {
    operate<receiving, true>(c, storage, ops, slot);
}

void channel_send_exception(channel_core* c, std::exception_ptr e) {
    if (!e) throw std::invalid_argument("tasklets: send_exception needs a non-null exception_ptr");
    --tick_countdown;  // rare enough to take the careful entry every time
    scheduler& s = enter_with_care(c, sending);
    if (c->balance < 0) return hand_off_exception(s, c, std::move(e));
    waiter_slot slot;  // this frame holds `e` during the wait anyway
    block_with_care(c, &e, &transfer_ops_of<std::exception_ptr>, &slot, sending, true);
}

// The properties: usable on an unbound channel from any thread (setting it up), on a
// bound one only on its thread.
int channel_balance(const channel_core* c) {
    check_channel(c, "balance()");
    return c->balance;
}
int channel_preference(const channel_core* c) {
    check_channel(c, "preference()");
    return c->preference;
}
void channel_set_preference(channel_core* c, int preference) {
    check_channel(c, "set_preference()");
    c->preference = static_cast<std::int8_t>((preference > 0) - (preference < 0));
}
bool channel_schedule_all(const channel_core* c) {
    check_channel(c, "schedule_all()");
    return c->schedule_all;
}
void channel_set_schedule_all(channel_core* c, bool on) {
    check_channel(c, "set_schedule_all()");
    c->schedule_all = on;
}
void channel_close(channel_core* c) {
    check_channel(c, "close()");
    c->closing = true;
}
void channel_open(channel_core* c) {
    check_channel(c, "open()");
    c->closing = false;
}
bool channel_closing(const channel_core* c) {
    check_channel(c, "closing()");
    return c->closing;
}
tasklet channel_queue(const channel_core* c) {
    check_channel(c, "queue()");
    return tasklet::from_impl(c->head ? c->head->tasklet : nullptr);
}

}  // namespace tasklets::detail
