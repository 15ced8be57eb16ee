// The module-level ring operations: schedule(), schedule_remove(), and who is running
// (docs/semantics.md §2).
#include "core/callbacks.hpp"
#include "core/handover.hpp"
#include "core/safe_points.hpp"
#include "core/switch.hpp"
#include "core/tasklet_life.hpp"

namespace tasklets {

using namespace detail;

tasklet current() { return tasklet::from_impl(sched().current); }
tasklet main_tasklet() { return tasklet::from_impl(&sched().main); }
int runcount() noexcept { return sched().runcount; }

namespace {
// schedule() when anything is unusual: no scheduler yet, the safe point's periodic work,
// a guard, a budget, a callback, a tasklet that never ran. The safe point is counted.
[[gnu::noinline]] void schedule_with_care() {
    scheduler& s = sched();
    if (tick_countdown < 0) {
        slow_safe_point(s);
        // A pool's offer to move a migratable tasklet to a less busy worker: once it moved,
        // this yield is done (and `s` is another thread's scheduler).
        if (s.rebalance && s.current->stack_kind == stack_alone && s.rebalance(s)) return;
    }
    tasklet_impl* next = s.current->next;
    if (next == s.current) {
        // Alone: no switch to raise what the safe point's poll delivered (another
        // thread's kill or throw, threads/remote_tasklet.cpp), so it is raised here.
        if (next->pending) [[unlikely]] raise_pending(next);
        return;
    }
    guard_switch(s);
    prepare(s, next);
    switch_to_tasklet(s, next);
}
}  // namespace

// The common case calls nothing but the switch, so it needs no stack frame and ends in
// a tail call (everything else: schedule_with_care). tick_countdown exists before the
// scheduler does, so the safe point is counted first.
void schedule() {
    scheduler* s = tls_scheduler;
    if (--tick_countdown < 0 || s == nullptr || (s->switch_flags & switch_needs_care)) [[unlikely]]
        return schedule_with_care();
    tasklet_impl* self = s->current;
    tasklet_impl* next = self->next;
    if (next == self) return;
    if (!next->started) [[unlikely]] return schedule_with_care();
    switch_plainly(*s, self, next);
}

void schedule_remove() {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    safe_point(s);
    tasklet_impl* target = successor_for_leaving(s, self);
    if (target == self) return;  // alone, and nobody to hand over to: stay
    guard_switch(s);
    make_room_to_leave_ring(s, self);
    take_over(s, target);
    leave_ring(s, self);
    switch_to_tasklet(s, target);
}

}  // namespace tasklets
