// Deadlock reports: Stackless's message first, then who is stuck (docs/semantics.md §5).
#pragma once

#include "core/scheduler.hpp"

#include <exception>

namespace tasklets::detail {

/// deadlock_error whose what() is `first_line`, then the thread's blocked tasklets (how
/// many, and up to the first 20 of them by id: name and what each waits on), and which
/// carries them all as data (deadlock_error::blocked()).
std::exception_ptr make_deadlock_error(const scheduler& s, const char* first_line);
[[noreturn]] void throw_deadlock(const scheduler& s, const char* first_line);

/// The running tasklet cannot block: nothing else could ever run.
inline constexpr const char* last_runnable_message = "Deadlock: the last runnable tasklet cannot be blocked.";

}  // namespace tasklets::detail
