// Moving a started tasklet to another thread: the opt-in of tasklet_options::migratable
// (docs/multicore.md, "Migration").
#pragma once

#include "core/scheduler.hpp"

#include <memory>

namespace tasklets::detail {

struct thread_inbox;

/// Moves the running tasklet of `s` to the thread of `to`. Throws, with nothing changed,
/// state_error if the tasklet may not move (not migratable, a main tasklet, held by
/// handles, atomic, a run() caller) and thread_error if `to` has ended. Otherwise it
/// returns on the new thread, where `s` is not its scheduler any more; or, if `to` ended
/// while the tasklet was on its way, back on this thread with thread_error.
void move_current(scheduler& s, std::shared_ptr<thread_inbox> to);

/// move_current() in its two halves, for a caller that must tell its own refusal from
/// what the tasklet meets after it moved (a kill, raised where it resumes). plan_move()
/// does all that may throw and changes nothing a failure would leave behind; depart()
/// must follow at once. `told`: the tasklet asked (move_to()), so a target that ends
/// meanwhile is reported to it; else it stays silently.
struct migrant_mail;
migrant_mail* plan_move(scheduler& s, std::shared_ptr<thread_inbox> to, bool told, tasklet_impl*& target);
void depart(scheduler& s, migrant_mail* m, tasklet_impl* target);

/// The other half of release_dead(): `t`, which has just switched away for good,
/// travels to the thread `s.departing` names, now that no one runs on its stack.
void send_migrant(scheduler& s, tasklet_impl* t) noexcept;

/// threads/worker_pool.cpp: this thread was given a runnable tasklet; if it is a pool's
/// worker whose loop sleeps, wake the loop (so that the worker counts as busy).
void worker_gained_work() noexcept;

}  // namespace tasklets::detail
