// Waiting for events (timers, descriptors) and ending waits (core/waits.hpp).
#include "core/waits.hpp"
#include "core/wait_for_event_inline.hpp"
#include "core/shared_stacks.hpp"

#include "core/callbacks.hpp"
#include "core/deadlock.hpp"
#include "core/handover.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"
#include "core/throw_into.hpp"

#include <chrono>

namespace tasklets::detail {

void unblock(tasklet_impl* t) noexcept {
    if (event_wait* w = t->event) {
        t->event = nullptr;
        w->cancel(w);
    } else {
        unblock_from_channel(t);
    }
}

bool poll_within_budget(scheduler& s) noexcept {
    std::int64_t max_wait = -1;
    run_budget& b = s.budget;
    if ((s.switch_flags & budget_armed) && b.time_budget.count() > 0) {
        const auto now = std::chrono::steady_clock::now();
        if (b.slice_restarted) {  // a switch began a new slice: the wait starts it
            b.slice_restarted = false;
            b.slice_start = now;
        }
        b.last_look = now;
        const auto left = b.slice_start + b.time_budget - now;
        if (left.count() <= 0) return false;
        max_wait = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    }
    s.events->poll(s, true, max_wait);
    return true;
}

bool refill_ring(scheduler& s, tasklet_impl* self) noexcept {
    while (self->next == self) {
        if (s.events == nullptr || !s.events->has_waiters()) return false;
        if (!poll_within_budget(s)) return false;
        // A kill or throw from another thread, delivered to the polling tasklet, ends the
        // polling: the caller raises it. One that reached a tasklet now ending, after its
        // last switch, has nothing left to interrupt (docs/semantics.md §4.1).
        if (self->pending && self->alive) [[unlikely]] return self->next != self;
    }
    return true;
}

void wait_for_event(scheduler& s, event_wait* w) { wait_for_event_inline(s, w); }

}  // namespace tasklets::detail
