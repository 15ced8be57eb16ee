// Raising exceptions in tasklets other than the running one: kill(), throw_exception(),
// and the kernel's own kills (a channel's last handle, thread exit, abandoned tasklets).
#pragma once

#include "core/scheduler.hpp"

#include <exception>

namespace tasklets::detail {

/// Raises `e` in t following Stackless's throw rules (docs/semantics.md §4): at once in
/// the caller if t is current; otherwise t is taken off whatever it waits on, put in the
/// ring, and switched to at once unless `pending`. `killing`: e is tasklet_exit (a kill,
/// as the trace records it).
void throw_into(scheduler& s, tasklet_impl* t, std::exception_ptr e, bool pending, bool killing);
/// Kills the started, alive tasklet t from the current one and waits for it to end.
void kill_now(scheduler& s, tasklet_impl* t);

[[noreturn]] void throw_state_error(const char* message);

}  // namespace tasklets::detail
