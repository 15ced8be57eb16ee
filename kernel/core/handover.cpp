// Who takes over when the running tasklet leaves the ring (core/handover.hpp).
#include "core/handover.hpp"

#include "core/deadlock.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/tasklet_life.hpp"
#include "core/waits.hpp"

namespace tasklets::detail {

tasklet_impl* successor_for_leaving(scheduler& s, tasklet_impl* self) {
    if (self->next != self) return self->next;
    if (self->pending) [[unlikely]] raise_pending(self);  // delivered at an earlier poll of its own
    const bool refilled = refill_ring(s, self);
    // While it polled, another thread's kill or throw may have reached it (it was the
    // running tasklet then: threads/remote_tasklet.cpp): raised now, before it blocks.
    if (self->pending) [[unlikely]] raise_pending(self);
    if (refilled) return self->next;
    tasklet_impl* w = watchdog(s);
    // docs/semantics.md §5: the last runnable tasklet gets the deadlock; the watchdog,
    // still blocked, can be woken by it (the tasklet may catch the error and send).
    if (w != self && on_channel(w)) throw_deadlock(s, last_runnable_message);
    return w;
}

void take_over(scheduler& s, tasklet_impl* target) {
    prepare(s, target);
    if (!target->in_ring) revive(s, target, false);  // only the watchdog is out of the ring
}

void revive(scheduler& s, tasklet_impl* w, bool with_deadlock_error) {
    note_unpausing(s, w);  // a run() caller waiting (paused), if not blocked
    if (is_blocked(w)) {
        const char* message = nullptr;
        if (with_deadlock_error && on_channel(w))
            message = blocked_in_select(w)         ? "the main tasklet is waiting in a select without a partner available."
                      : blocked_direction(w) == receiving ? "the main tasklet is receiving without a sender available."
                                                  : "the main tasklet is sending without a receiver available.";
        unblock(w);
        if (message) set_pending(w, make_deadlock_error(s, message));  // lists the others still blocked
    }
    if (!w->in_ring) ring_append(s, w);
}

namespace {
bool abandons(const tasklet_impl* t) noexcept { return t->handles == 0 && !t->is_main && !t->waiting_in_run; }
}  // namespace

void make_room_to_leave_ring(scheduler& s, const tasklet_impl* t) {
    if (abandons(t) && s.abandoned.size() == s.abandoned.capacity()) s.abandoned.reserve(2 * s.abandoned.size() + 8);
}

void leave_ring(scheduler& s, tasklet_impl* t) noexcept {
    ring_unlink(s, t);
    note_paused(s);
    if (abandons(t)) s.abandoned.push_back(t);  // cannot allocate: make_room_to_leave_ring ran
}

}  // namespace tasklets::detail
