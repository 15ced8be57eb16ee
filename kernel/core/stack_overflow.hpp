// Per-thread stack-overflow reporting (core/stack_overflow.cpp).
#pragma once

namespace tasklets::detail {

struct scheduler;

/// An alternate signal stack for this thread, and (once per process) the SIGSEGV
/// handler that names the tasklet whose guard was hit.
void install_overflow_reporting(scheduler& s);
void remove_overflow_reporting(scheduler& s) noexcept;

}  // namespace tasklets::detail
