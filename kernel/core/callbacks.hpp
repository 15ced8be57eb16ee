// The observers a program can install (include/tasklets/watchdog.hpp): the schedule and
// channel callbacks, called with switching refused, and the refusal itself.
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

/// Every operation that is about to switch calls this before it changes any state, so
/// that a refused switch (switch_trap, or inside a callback) changes nothing.
[[noreturn]] void refuse_switch(scheduler& s);
inline void guard_switch(scheduler& s) {
    if (s.switch_flags & (switch_trapped | in_callback)) [[unlikely]] refuse_switch(s);
}

/// The rare work around a switch (callbacks, budget books, a soft stop). Returns the
/// tasklet to switch to: `to`, or the budget's watchdog when a soft budget ran out.
tasklet_impl* on_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept;

/// The watched part of on_switch (schedule_watched is set): counting and tracing
/// (core/observe.hpp), then the schedule callback if one is installed.
void observe_and_call_back(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept;

/// A channel operation in `direction` begins (channel_watched is set): the channel
/// callback, if one is installed. (Counting and tracing see it after the switch guard:
/// observe_channel_operation.)
void notify_channel(scheduler& s, const channel_core* c, int balance, std::int8_t direction, bool will_block);

}  // namespace tasklets::detail
