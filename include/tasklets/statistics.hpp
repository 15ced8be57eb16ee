// tasklets/statistics.hpp — what this thread's scheduler has done, readable at any time.
//
//     tasklets::count_statistics(true);           // start counting switches and hand-offs
//     tasklets::run();
//     std::fputs(tasklets::format_statistics(tasklets::statistics()).c_str(), stderr);
//
// Two kinds of figures, so that the hot paths stay as fast as they are:
//
// - Always kept, at no cost a benchmark can see: tasklets spawned, alive, runnable,
//   blocked and paused; stack and control-block memory; reactor polls and the time spent
//   waiting in them; watchdog interruptions. They are kept where the work is rare (a
//   spawn, a pause, a poll), never on a switch or a channel operation.
// - Counted while counting is on (count_statistics(true), or the environment variable
//   TASKLETS_STATS=1 at the thread's first tasklet operation): switches, channel
//   hand-offs, and per tasklet its switches in and its run time. Counting sends every
//   switch and channel operation down the careful path that callbacks use (about as
//   costly as an installed schedule callback that does nothing, plus a clock read per
//   switch); while it is off they cost nothing. A tasklet's figures take 24 bytes of
//   their own, held with its name if it has one and made at its first counted switch; a
//   tasklet never counted (or named) pays nothing for them. If those bytes cannot be had,
//   that tasklet's switches go uncounted rather than fail.
//
// Everything here is per OS thread: each thread has its own scheduler (docs/semantics.md
// §9), and statistics() describes the calling thread's.
#pragma once

#include <tasklets/tasklet.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tasklets {

/// A snapshot of the calling thread's scheduler (statistics()).
struct scheduler_statistics {
    // ---- always kept
    /// Tasklets created on this thread (bound or not) since it started.
    std::uint64_t spawned = 0;
    /// Tasklets alive now, the main tasklet included: runnable + blocked + paused.
    std::size_t alive = 0;
    /// In the ring now (the running one included): tasklets::getruncount().
    std::size_t runnable = 0;
    /// Waiting on a channel, a select, a timer or a descriptor.
    std::size_t blocked = 0;
    /// Alive but neither runnable nor blocked: removed, switched away from, interrupted
    /// by a watchdog, or waiting inside run() for the others.
    std::size_t paused = 0;
    /// Stack slabs mapped (stacks/stack_pool.hpp: each holds many guard-paged stacks),
    /// their stacks in use, and the bytes mapped for them (guard pages included).
    std::size_t stack_slabs = 0;
    std::size_t stacks_in_use = 0;
    std::size_t stack_bytes = 0;
    /// Slabs of control-block memory (16 KiB each).
    std::size_t control_block_slabs = 0;
    /// Shared-stack tasklets (stack.hpp): times one was copied out of its execution stack
    /// because another tasklet bound to that stack had to run, and the bytes so copied (a
    /// copy back in follows each, of as many bytes); and execution stacks kept now by
    /// tasklets that outgrew shared_stack_limit() (each was copied out with more).
    std::uint64_t shared_copies_out = 0;
    std::uint64_t shared_bytes_copied_out = 0;
    std::size_t shared_stacks_kept = 0;
    /// Times the reactor asked the kernel for ready descriptors and due timers, how many
    /// of those were allowed to sleep, and the time spent inside them.
    std::uint64_t reactor_polls = 0;
    std::uint64_t reactor_blocking_polls = 0;
    std::chrono::nanoseconds reactor_wait{0};
    /// Times the thread watched its doorbell (for up to 50 µs) before sleeping, because a
    /// tasklet waited for another thread (a shared channel's partner, a pool's next job)
    /// and the answer usually comes within microseconds: CPU time spent to save the tens
    /// of microseconds a wake-up from the kernel costs each side.
    std::uint64_t doorbell_watches = 0;
    /// Of the wake-ups that came from other threads, those handed over during such a
    /// watch, straight to the waiting tasklet, without the inbox's queue: a partner
    /// that finds this thread watching for its wait's answer does this, which saves a
    /// cross-thread hand-off one cache line's trip to the other core and back.
    std::uint64_t express_wakeups = 0;
    /// io_uring backend (io.hpp, "Backends"): receive buffers (2 KiB each, 4,096 per thread)
    /// holding bytes that arrived before a read asked for them.
    std::size_t receive_buffers_held = 0;
    /// run() budgets that ran out (watchdog.hpp): tasklets interrupted (hard budgets) and
    /// soft stops.
    std::uint64_t watchdog_interruptions = 0;
    std::uint64_t watchdog_soft_stops = 0;

    // ---- counted while counting is on
    /// Is counting on now?
    bool counting = false;
    /// Switches from one tasklet to another (a tasklet's first start and its end count).
    std::uint64_t switches = 0;
    /// Channel operations that met a waiting partner (a value or exception passed on).
    std::uint64_t hand_offs = 0;
};

/// The calling thread's figures. Constant time; allocates nothing.
scheduler_statistics statistics() noexcept;

/// Starts (true) or stops (false) counting switches, hand-offs and per-tasklet figures
/// on this thread; returns whether it was on. Counts keep their values while off.
bool count_statistics(bool on);

/// Sets the counted figures (switches, hand-offs, every tasklet's) back to zero. Walks
/// every tasklet of the thread once.
void reset_statistics() noexcept;

/// One tasklet's counted figures (counted only while counting is on).
struct tasklet_statistics {
    /// Times it was switched in (its start included).
    std::uint64_t switches = 0;
    /// Time it ran, from each switch in to the switch out. Its current run is included
    /// if it is the running tasklet.
    std::chrono::nanoseconds run_time{0};
};

/// t's figures: zeros for an empty handle or a tasklet of another thread.
tasklet_statistics statistics(const tasklet& t) noexcept;

/// The figures as text, a few labelled lines, for logs and the examples' --stats.
std::string format_statistics(const scheduler_statistics& s);

}  // namespace tasklets
