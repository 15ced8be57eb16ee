// Safe points: every switch attempt, every channel operation and tasklets::check()
// count down tick_countdown (declared in <tasklets/tasklet.hpp>, so that check() is
// inline); at zero, slow_safe_point() does the periodic work: polling the event source,
// and the books of a run() budget (docs/semantics.md §6).
#pragma once

#include "core/scheduler.hpp"

#include <tasklets/watchdog.hpp>

namespace tasklets::detail {

/// Safe points between two non-blocking polls of the event source.
inline constexpr std::int32_t poll_interval = 64;

void slow_safe_point(scheduler& s);
inline void safe_point(scheduler& s) {
    if (--tick_countdown < 0) [[unlikely]] slow_safe_point(s);
}

/// Arms a budget for the run() called by `self`, if it is the outermost one with a
/// budget; returns whether it did. disarm_budget() ends it.
bool arm_budget(scheduler& s, tasklet_impl* self, const run_options& o);
void disarm_budget(scheduler& s) noexcept;
/// Begins a new slice of a per-slice budget (a switch happened).
void restart_slice(scheduler& s) noexcept;

}  // namespace tasklets::detail
