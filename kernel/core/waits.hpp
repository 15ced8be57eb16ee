// Waiting for events (timers, descriptors) and ending waits of any kind.
#pragma once

#include "core/event_source.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"

namespace tasklets::detail {

/// Ends a blocked tasklet's wait without waking it: off its channel(s) (balances
/// adjusted), or its event registration cancelled.
void unblock(tasklet_impl* t) noexcept;
/// unblock() for a tasklet blocked on channels. In channels/handoff.cpp.
void unblock_from_channel(tasklet_impl* t) noexcept;
/// Is t (blocked on channels) waiting in a select rather than a plain send/receive?
/// In channels/handoff.cpp.
bool blocked_in_select(const tasklet_impl* t) noexcept;
/// The channel t waits on (a select: its first case's), or null; and the direction.
/// In channels/handoff.cpp.
channel_core* blocked_channel(const tasklet_impl* t) noexcept;
std::int8_t blocked_direction(const tasklet_impl* t) noexcept;
/// The tasklet waiting at the head of c for an operation in `direction` to meet (a
/// receiver for a send, a sender for a receive), or null. In channels/handoff.cpp.
tasklet_impl* channel_head_tasklet(const channel_core* c, std::int8_t direction) noexcept;
/// How many channels t (blocked on channels) waits on: 1, or a select's case count.
std::uint32_t channel_wait_count(const tasklet_impl* t) noexcept;
/// t's neighbour in the queue of the channel it is blocked on (a select: its first
/// case's channel), after it (`after`) or before it; null at either end (§2).
tasklet_impl* queue_neighbour(const tasklet_impl* t, bool after) noexcept;

/// Parks the current tasklet until wake_from_event(), with `w` registered. While it is
/// the only runnable tasklet, the event source is polled in place (blocking) instead.
/// Throws what is thrown into it meanwhile (w->cancel has run by then). A tasklet that
/// moves to another thread may resume it while still waiting (it is in the ring then):
/// it goes on waiting, polling in place if nobody else runs. A hot path builds it into
/// its own frame instead: wait_for_event_inline() (core/wait_for_event_inline.hpp).
void wait_for_event(scheduler& s, event_wait* w);
/// Ends t's event wait and makes it runnable (appended to the ring). Safe to call from
/// event_source::poll, also for the tasklet that is still running (it then never parks).
inline void wake_from_event(scheduler& s, tasklet_impl* t) noexcept {
    t->event = nullptr;
    trace_event_of(s, trace_kind::woken, t);
    if (!t->in_ring) ring_append(s, t);  // the running tasklet may be woken before it parks
}
/// The ring is down to `self`: lets the event source wake someone. False if it has
/// nobody waiting, or if a run() time budget ran out while waiting (the budget's run()
/// should get control), so the ring stays empty but for self.
bool refill_ring(scheduler& s, tasklet_impl* self) noexcept;
/// One blocking poll of the event source (there must be one with waiters), bounded by
/// a run() time budget: waiting for events counts as time of the current slice (or of
/// the whole run() call, with total). False, without polling, once that is spent.
bool poll_within_budget(scheduler& s) noexcept;

}  // namespace tasklets::detail
