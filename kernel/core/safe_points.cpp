// Safe points and the books of a run() budget (core/safe_points.hpp; the rules are in
// include/tasklets/watchdog.hpp and docs/semantics.md §6).
#include "core/safe_points.hpp"

#include "core/event_source.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"

#include <algorithm>
#include <chrono>

namespace tasklets::detail {

namespace {

// Takes the safe points passed since the countdown was armed off every account.
void account_ticks(scheduler& s) noexcept {
    const std::int64_t passed = std::int64_t{s.tick_period} - tick_countdown;
    s.tick_period = tick_countdown;
    s.poll_ticks_left -= passed;
    if ((s.switch_flags & budget_armed) && s.budget.tick_budget) s.budget.ticks_left -= passed;
}

// Arms the countdown for whichever comes first: the next poll or the end of the budget.
void arm_ticks(scheduler& s) noexcept {
    std::int64_t next = s.poll_ticks_left;
    if ((s.switch_flags & budget_armed) && s.budget.tick_budget) next = std::min(next, s.budget.ticks_left);
    next = std::clamp<std::int64_t>(next, 1, poll_interval);
    tick_countdown = s.tick_period = static_cast<std::int32_t>(next - 1);
}

bool budget_spent(scheduler& s) {
    run_budget& b = s.budget;
    if (b.tick_budget && b.ticks_left <= 0) return true;
    if (b.time_budget.count() == 0) return false;
    const auto now = std::chrono::steady_clock::now();  // here, at most every 64 safe points
    if (b.slice_restarted) {
        // A switch happened since the last reading: the slice began between then and now.
        // Taking the earlier time errs against the new slice by at most 64 safe points,
        // but never lets time spent before a first safe point go uncounted.
        b.slice_restarted = false;
        b.slice_start = b.last_look;
    }
    b.last_look = now;
    return now - b.slice_start >= b.time_budget;
}

// Hard interruption: the running tasklet leaves the ring where it stands, paused, and
// the budget's watchdog takes its place and returns it from run().
// Out of line: the periodic safe point it is called from stays as small as it was.
[[gnu::noinline]] void interrupt(scheduler& s) {
    tasklet_impl* victim = s.current;
    tasklet_impl* w = s.budget.watchdog;
    ++victim->handles;  // the handle run() will return
    s.budget.interrupted = victim;
    ++s.counts.interruptions;
    trace_event_of(s, trace_kind::interrupted, victim);
    note_unpausing(s, w);
    ring_insert_after(s, victim, w);
    ring_unlink(s, victim);
    note_paused(s);
    switch_to_tasklet(s, w);  // back here when the host inserts and runs it again
}

}  // namespace

void slow_safe_point(scheduler& s) {
    account_ticks(s);
    if (s.poll_ticks_left <= 0) {
        s.poll_ticks_left = poll_interval;
        if (s.events && s.events->has_waiters()) s.events->poll(s, false, -1);
    }
    if ((s.switch_flags & budget_armed) && !s.budget.soft_expired && !s.budget.interrupted && budget_spent(s)) {
        if (s.budget.soft) {
            s.budget.soft_expired = true;  // on_switch stops at the next voluntary switch
        } else if (s.current->atomic || (s.switch_flags & (switch_trapped | in_callback)) ||
                   s.current == s.budget.watchdog) {
            // Not now: look again at every safe point until it can be interrupted.
            tick_countdown = s.tick_period = 0;
            return;
        } else {
            arm_ticks(s);
            interrupt(s);
            return;
        }
    }
    arm_ticks(s);
}

void slow_check() { slow_safe_point(sched()); }

void restart_slice(scheduler& s) noexcept {
    account_ticks(s);
    s.budget.ticks_left = s.budget.tick_budget;
    s.budget.slice_restarted = true;
    arm_ticks(s);
}

bool arm_budget(scheduler& s, tasklet_impl* self, const run_options& o) {
    const bool wanted = o.ticks > 0 || o.time.count() > 0;
    if (!wanted || (s.switch_flags & budget_armed)) return false;
    account_ticks(s);
    run_budget& b = s.budget;
    b = run_budget{};
    b.watchdog = self;
    b.tick_budget = o.ticks > 0 ? o.ticks : 0;
    b.ticks_left = b.tick_budget;
    b.time_budget = o.time.count() > 0 ? o.time : std::chrono::nanoseconds{0};
    b.slice_start = b.last_look = std::chrono::steady_clock::now();
    b.soft = o.soft;
    b.total = o.total;
    s.switch_flags |= budget_armed;
    arm_ticks(s);
    return true;
}

void disarm_budget(scheduler& s) noexcept {
    account_ticks(s);
    s.switch_flags &= static_cast<std::uint8_t>(~budget_armed);
    if (s.budget.interrupted) --s.budget.interrupted->handles;  // nobody took it (an exception)
    s.budget = run_budget{};
    arm_ticks(s);
}

}  // namespace tasklets::detail
