// Moving a started tasklet to another thread: the opt-in of tasklet_options::migratable
// (docs/multicore.md, "Migration").
#pragma once

#include "core/scheduler.hpp"

#include <cstdint>
#include <memory>

namespace tasklets::detail {

struct thread_inbox;
struct mail;

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

/// Ids of migratable tasklets come from this range, which no thread hands out.
inline constexpr std::uint64_t first_migrant_id = std::uint64_t{1} << 40;

/// The directory that lets a remote_tasklet follow a migratable tasklet: where each one a
/// remote_tasklet was made for is now. follow() enters it (may throw bad_alloc);
/// forward() takes a request that reached a thread the tasklet has left, and posts it to
/// where it went or keeps it until it arrives (false: it is not in the directory — it has
/// ended); forget() removes it when its block is freed, discarding what is kept.
void follow_migrant(std::uint64_t id, std::shared_ptr<thread_inbox> where);
bool forward_to_migrant(std::uint64_t id, mail* request) noexcept;
void forget_migrant(std::uint64_t id) noexcept;

/// threads/worker_pool.cpp: this thread was given a runnable tasklet; if it is a pool's
/// worker whose loop sleeps, wake the loop (so that the worker counts as busy).
void worker_gained_work() noexcept;

}  // namespace tasklets::detail
