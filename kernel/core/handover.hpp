// Handing control on when the running tasklet leaves the ring — it blocks, pauses itself
// (schedule_remove, switch_to), or ends: who takes over, and the watchdog's part in it
// (docs/semantics.md §2, §5).
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

/// The tasklet that takes over when the ring runs empty: the innermost run() caller, or
/// the main tasklet.
inline tasklet_impl* watchdog(scheduler& s) noexcept {
    return s.watchdogs.empty() ? &s.main : s.watchdogs.back();
}

/// Who takes over when the running tasklet `self` leaves the ring: the next in the ring,
/// after the event source had its chance to refill an empty ring; else the watchdog,
/// which may be `self` (nobody to hand over to). Throws deadlock_error, with nothing
/// changed, if the watchdog is someone else who is blocked on a channel: then `self` is
/// the last runnable tasklet and gets the deadlock, not the watchdog (§5). Neither
/// prepares the target nor places it: see take_over().
tasklet_impl* successor_for_leaving(scheduler& s, tasklet_impl* self);

/// Makes the successor ready to run: gives it a stack if it never ran, and revives it if
/// it is the watchdog (out of the ring). May throw (no stack), before anything changed.
void take_over(scheduler& s, tasklet_impl* target);

/// Makes the watchdog runnable so that control can go to it. If it is blocked, it is
/// taken off; if on a channel and `with_deadlock_error`, with the deadlock error pending
/// that says the ring ran empty while it waited (a finished tasklet's hand-over).
void revive(scheduler& s, tasklet_impl* w, bool with_deadlock_error);

/// The running tasklet leaves the ring (it is paused afterwards). If no handle refers to
/// it, it goes on the abandoned list (killed when the outermost run() ends), in room
/// that make_room_to_leave_ring() made before anything changed.
void leave_ring(scheduler& s, tasklet_impl* t) noexcept;
/// Call before any state changes on the way to leave_ring(s, t): may throw bad_alloc.
void make_room_to_leave_ring(scheduler& s, const tasklet_impl* t);

}  // namespace tasklets::detail
