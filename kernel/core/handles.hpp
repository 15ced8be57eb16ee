// Handles (tasklets::tasklet) are reference counts on control blocks, like Python
// references (docs/semantics.md §1): a started, paused tasklet whose last handle goes is
// killed, so that its destructors run.
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

/// Kills the tasklets that paused themselves after their last handle was gone: nothing
/// can ever resume them, and their destructors must still run. Called when the
/// outermost run() ends.
void kill_abandoned(scheduler& s);

}  // namespace tasklets::detail
