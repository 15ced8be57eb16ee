// The hand-off: how a channel operation meets its partner, written once for plain
// send/receive (channels/channel.cpp) and for select cases (channels/select.cpp).
// docs/semantics.md §3 and §7 state the rules.
//
//   A partner waits at the head of the queue: hand_off() moves the value between the
//   caller and the partner's waiter record, takes the partner off its channel(s)
//   (take_partner: with a select, off every case's channel) and places it by the
//   channel's preference (place_partner), which may switch to it at once.
//
//   Nobody waits: the caller's waiter records (one, or one per select case, in its own
//   frame) are queued on their channels (enqueue_waiter), the caller is marked blocked
//   (mark_blocked), and a successor takes over: block_on_records() for every careful
//   case, the channel's own fast path for the plain one.
#pragma once

#include "channels/channel_core.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"

#include <tasklets/channel.hpp>

namespace tasklets::detail {

/// The tasklet waits on the channel(s) of `first` (a select: its first record), which
/// also says which channel and direction (what deadlock reports and gdb read).
inline void mark_blocked(tasklet_impl* t, channel_waiter* first) noexcept { t->waiters = first; }

/// The tasklet waits on no channel any more.
inline void clear_blocked(tasklet_impl* t) noexcept { t->waiters = nullptr; }

/// A partner arrived for `w`, a case of a blocked select: records the case as chosen
/// and takes every record of the select off its channel. Returns the selecting tasklet.
tasklet_impl* take_select_partner(channel_waiter* w) noexcept;

/// Takes the head waiter `w` of c, a plain operation's record, off the queue; the caller
/// has handed it its value (or will) and places the returned tasklet. w's own links are
/// left stale: nothing reads a record after it leaves its queue.
inline tasklet_impl* take_plain_partner(channel_core* c, channel_waiter* w) noexcept {
    channel_waiter* next = w->next;
    c->head = next;
    if (next) next->prev = nullptr;
    else c->tail = nullptr;
    c->balance -= w->direction;
    tasklet_impl* t = w->tasklet;
    clear_blocked(t);
    return t;
}

/// take_plain_partner() for any head waiter: a select's takes all of its records off
/// their channels.
inline tasklet_impl* take_partner(channel_core* c, channel_waiter* w) noexcept {
    if (w->select) [[unlikely]] return take_select_partner(w);
    return take_plain_partner(c, w);
}

/// Does handing over to a waiting partner switch away from the caller?
inline bool hand_off_switches(const channel_core* c, std::int8_t caller_direction) noexcept {
    return c->schedule_all || c->preference == -caller_direction;
}

/// The partner got its value; who runs next depends on schedule_all and preference:
/// the preferred partner is inserted after the caller and runs at once; otherwise it is
/// appended and the caller goes on (schedule_all: the caller yields as well).
inline void place_partner(scheduler& s, channel_core* c, tasklet_impl* partner, std::int8_t caller_direction) {
    if (c->schedule_all) {
        ring_append(s, partner);
        yield_to_next(s);
    } else if (c->preference == -caller_direction) {  // -1 prefers receivers, +1 senders
        ring_insert_after(s, s.current, partner);
        switch_to_tasklet(s, partner);
    } else {
        ring_append(s, partner);
    }
}

/// A receiver met a sender that passed an exception (send_exception): the sender is let
/// go, placed as for a value, and the exception is raised in the receiver.
[[noreturn]] void receive_exception(scheduler& s, channel_core* c, channel_waiter* sender);

/// The hand-off to the partner waiting at the head of c, for a caller going in
/// `direction` with its payload (sending) or storage (receiving) at `transfer`. If
/// `completed` is given (a select), `index` is written there once the value has moved,
/// before the partner is placed (placing may switch). Throws, with nothing changed, what
/// ops->relocate throws; raises a sender's exception in a receiver.
template <std::int8_t direction>
[[gnu::always_inline]] inline void hand_off(channel_core* c, void* transfer, const transfer_ops* ops,
                                            std::uint32_t* completed = nullptr, std::uint32_t index = 0) {
    if constexpr (direction == sending) {
        ops->relocate(c->head->transfer, transfer);
    } else {
        channel_waiter* sender = c->head;
        if (sender->transfer_is_exception) [[unlikely]] receive_exception(*tls_scheduler, c, sender);
        ops->relocate(transfer, sender->transfer);
    }
    if (completed) *completed = index;
    // The head is read again after relocate (a call) rather than kept in a callee-saved
    // register: the common path then needs no stack frame of its own.
    place_partner(*tls_scheduler, c, take_partner(c, c->head), direction);
}

/// hand_off() as its own function, for callers that must not grow a frame around it.
template <std::int8_t direction>
[[gnu::noinline]] void hand_off_to_waiting(channel_core* c, void* transfer, const transfer_ops* ops) {
    hand_off<direction>(c, transfer, ops);
}

/// hand_off() for a plain operation whose payload moves without throwing (the payload
/// type's move constructor is noexcept). When the caller goes on (the partner is not
/// preferred and schedule_all is off), the partner is placed first and the value moves
/// last, by a tail call: the partner cannot run before the caller switches, and a move
/// that cannot throw leaves nothing to undo. This path then needs no stack frame.
/// Everything else takes the general hand-off.
template <std::int8_t direction>
[[gnu::always_inline]] inline void hand_off_nothrow_move(channel_core* c, void* transfer, const transfer_ops* ops) {
    channel_waiter* w = c->head;
    if (w->unusual || hand_off_switches(c, direction)) [[unlikely]]
        return hand_off_to_waiting<direction>(c, transfer, ops);
    void* const theirs = w->transfer;
    ring_append(*tls_scheduler, take_plain_partner(c, w));
    if constexpr (direction == sending) ops->relocate(theirs, transfer);
    else ops->relocate(transfer, theirs);
}

/// Delivers `e` to the receiver waiting at the head of c (send_exception): a select
/// receiving there completes with no case chosen, so select() just throws.
void hand_off_exception(scheduler& s, channel_core* c, std::exception_ptr e);

/// The plain park, when nothing needs care (no callback, budget or trap; `target`, the
/// next in the ring, is another tasklet that has started): the running tasklet `self`
/// leaves the ring, its one record `w` is queued, it is marked blocked, and `target` takes
/// over. The switch is the last call, so a caller that ends with this needs no frame.
/// channels/channel.cpp's block() (record in the frame) and channels/off_stack_wait.cpp's
/// park_on() (record in a box) both end so.
[[gnu::always_inline]] inline void park_plainly(scheduler& s, tasklet_impl* self, channel_waiter* w,
                                                tasklet_impl* target) {
    ring_unlink(s, self);
    enqueue_waiter(w);
    mark_blocked(self, w);
    switch_plainly(s, self, target);
}

/// Parks the running tasklet on `count` filled-in waiter records (one, or one per
/// select case, all in its frame): checks that a switch is allowed, finds who takes
/// over (the next in the ring, the event source's wake-ups, or the watchdog), queues
/// the records and switches. Throws deadlock_error, with nothing changed, if nobody
/// could ever take over. Returns when a partner (or an exception) resumes it.
void block_on_records(scheduler& s, channel_waiter* records, std::uint32_t count);

}  // namespace tasklets::detail
