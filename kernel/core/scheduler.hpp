// The per-thread scheduler: its state, and how the kernel reaches it.
//
// Each OS thread has its own scheduler (docs/semantics.md §9), created on the thread's
// first tasklet operation (core/thread_scheduler.cpp) and reached through one
// initial-exec thread-local pointer. Its parts are declared where their jobs live:
// the ring (core/ring.hpp), switching (core/switch.hpp), handing control on when a
// tasklet leaves the ring (core/handover.hpp), safe points and budgets
// (core/safe_points.hpp), callbacks (core/callbacks.hpp), waits (core/waits.hpp).
#pragma once

#include "core/cell_pool.hpp"
#include "core/control_block.hpp"
#include "core/eh_state.hpp"
#include "core/run_budget.hpp"
#include "stacks/stack_pool.hpp"
#include "threads/job_memory.hpp"

#include <tasklets/watchdog.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tasklets::detail {

struct migrant_mail;
struct shared_stacks;
class event_source;
struct trace_buffer;

/// The figures the scheduler keeps (include/tasklets/statistics.hpp; core/observe.hpp
/// says where each is kept). `alive` starts at 1: the main tasklet.
struct scheduler_counts {
    std::size_t alive = 1;
    std::size_t paused = 0;
    std::uint64_t switches = 0;               // while counting
    std::uint64_t hand_offs = 0;              // while counting
    std::int64_t slice_start = 0;             // while counting: when the running tasklet was switched in
    std::uint64_t reactor_polls = 0;
    std::uint64_t reactor_blocking_polls = 0;
    std::int64_t reactor_wait_ns = 0;
    std::size_t receive_buffers_held = 0;     // io_uring: provided buffers with bytes no read took yet
    std::uint64_t interruptions = 0;
    std::uint64_t soft_stops = 0;
};

/// Bits of scheduler::switch_flags: rare conditions the hot paths test with one load.
enum : std::uint8_t {
    switch_trapped = 1,    // switch_trap() is non-zero: switches are refused
    in_callback = 2,       // a schedule/channel callback runs: switches are refused
    budget_armed = 4,      // a run() budget is being enforced: on_switch() keeps its books
    schedule_watched = 8,  // a schedule callback, counting or tracing: on_switch() calls them
    channel_watched = 16,  // a channel callback, counting or tracing
};

/// Conditions a switch cannot ignore: a refused switch (switch_trapped, in_callback) and
/// the work of on_switch (budget_armed, schedule_watched). Hot paths test them all with
/// one instruction and leave everything rare to a slow path.
inline constexpr std::uint8_t switch_needs_care = switch_trapped | in_callback | budget_armed | schedule_watched;

struct scheduler {
    tasklet_impl* current = nullptr;
    tasklet_impl main;
    int runcount = 1;
    std::vector<tasklet_impl*> watchdogs;  // run() callers, innermost last
    tasklet_impl* dead = nullptr;          // finished; its stack is freed once we are off it (or: departing, below)
    tasklet_impl* previous = nullptr;      // sanitizer builds: who switched to the current tasklet
    eh_state* eh_globals = nullptr;        // this thread's __cxa_eh_globals
    tasklet_impl* all = nullptr;
    std::vector<tasklet_impl*> abandoned;  // paused themselves with no handle left
    std::uint64_t next_id = 2;
    void* alt_stack = nullptr;             // our sigaltstack mapping, if we made one
    std::size_t page_size = 0;
    std::size_t default_stack_request = 0; // default_stack_size() last seen...
    std::size_t default_stack_rounded = 0; // ...and rounded up to whole pages
    cell_pool cells;                       // memory for control blocks
    event_source* events = nullptr;        // timers and I/O, when in use
    std::uint8_t switch_flags = 0;
    int trap_level = 0;                    // switch_trap()
    std::int32_t tick_period = 0;          // what tick_countdown was last armed with
    std::int64_t poll_ticks_left = 0;      // safe points until the next I/O poll
    run_budget budget;
    bool counting = false;                 // count_statistics(true)
    trace_buffer* trace = nullptr;         // owned; recording while set (core/observe.cpp)
    scheduler_counts counts;
    schedule_callback on_schedule;
    channel_callback on_channel;
    error_handler on_error;
    stack_pool stacks;
    // Set, with release ordering, when the thread has ended (core/thread_scheduler.cpp).
    std::atomic<bool> ended{false};
    // Who keeps this block: its thread while it runs, each channel bound to it, and, once
    // the thread has ended, its orphans together (handles held elsewhere). Whoever drops
    // the last deletes it (drop_keeper, core/thread_check.cpp): so no other thread's
    // scheduler can be made at this address while a channel still names it as its owner.
    std::atomic<std::size_t> keepers{1};

    // Kept after the fields above, so as not to move them to other cache lines: placed
    // among them (after `dead`, and after `stacks`), these fields cost the pool's
    // cross-thread rows about 5 % (fan-in 394 against 370 ns, skynet on 2 workers 105
    // against 99; medians of 6 alternating runs against the layout without them).
    migrant_mail* departing = nullptr;     // with dead: that tasklet is moving to this mail's thread, sent once we are off its stack (threads/migration.cpp)
    // A worker_pool worker's offer to move the running migratable tasklet to a less busy
    // worker, asked at schedule()'s periodic safe point; true once it moved (it returns
    // on the other thread, so the caller's scheduler& is stale). Null on other threads.
    bool (*rebalance)(scheduler& s) = nullptr;
    job_cache job_blocks;                  // memory for remote_job (threads/job_memory.hpp)
    // statistics(): times this thread watched its doorbell before sleeping
    // (io/reactor.cpp, spin_for_mail). Here, after everything else, for the reason above:
    // in scheduler_counts it moved the fields after them and cost skynet on 2 workers 6 %
    // (117 against 110 ns, medians of 8 alternating runs).
    std::uint64_t doorbell_watches = 0;
    // Shared-stack tasklets (core/shared_stacks.hpp): the execution stacks and the
    // restorer, made on first use; and set_default_stack_mode(shared) on this thread.
    shared_stacks* shared = nullptr;
    bool shared_by_default = false;
    // Bytes a shared-stack tasklet copied out may keep before its execution stack is
    // kept for it (set_shared_stack_limit; core/shared_stacks.cpp, keep_stack).
    std::uint32_t shared_limit = 2048;
    // The exception that escaped the current tasklet's function, from tasklet_entry's
    // handler to its end_body (core/tasklet_life.cpp), which empties it at once: held here
    // rather than in the entry's frame, which lies under every tasklet's frames for good.
    std::exception_ptr escaped;
    // statistics(): wake-ups that a partner on another thread handed over while this
    // thread watched for them (threads/inbox.hpp, express_mail). At the end, as above.
    std::uint64_t express_wakeups = 0;
};

scheduler& create_scheduler();

// The scheduler pointer is read on every operation: initial-exec TLS is one load.
extern thread_local constinit scheduler* tls_scheduler __attribute__((tls_model("initial-exec")));

inline scheduler& sched() {
    scheduler* s = tls_scheduler;
    if (s == nullptr) [[unlikely]] return create_scheduler();
    return *s;
}

}  // namespace tasklets::detail
