// The tasklet control block: everything the kernel knows about one tasklet.
//
// Ownership. A control block is freed when no handle refers to it and the scheduler no
// longer needs it (dead, or never started and not scheduled). The scheduler needs a
// tasklet while it is in the ring, blocked, running, or waiting inside run(); those
// states cost no reference-count traffic on the hot paths (core/handles.cpp).
//
// States (docs/semantics.md §1): in the ring (runnable; `in_ring`), blocked on channels
// (`waiters`), blocked on an event (`event`), paused (none of these, alive), dead
// (`!alive`). The gdb extension reads these fields by name: rename them there too.
#pragma once

#include "core/eh_state.hpp"
#include "os/instrument.hpp"
#include "stacks/stack_pool.hpp"

#include <tasklets/tasklet.hpp>

#include <cstdint>
#include <exception>
#include <string_view>

namespace tasklets::detail {

struct channel_core;
struct channel_waiter;
struct shared_stack_state;
struct event_wait;
struct scheduler;

/// Bits of tasklet_impl::block_trap. Every wait tests the byte once; a set byte sends it
/// the careful way, where the bits say why (core/shared_stacks.cpp, check_wait).
enum : std::uint8_t {
    trap_user = 1,    // set_block_trap(true): waiting throws state_error
    trap_frames = 2,  // a shared-stack tasklet: its frames are copied out while it is parked,
                      // so its wait records must not live in them
};

/// tasklet_impl::stack_kind.
enum : std::uint8_t {
    stack_pooled = 0,  // a dedicated stack from its thread's pool
    stack_alone = 1,   // tasklet_options::migratable: block and stack allocated alone, may change `home` (threads/migration.cpp)
    stack_shared = 2,  // stack_mode::shared: frames on an execution stack, copied out while parked (core/shared_stacks.hpp)
};

/// A direction of a channel operation; also the sign of its contribution to the balance.
enum : std::int8_t { receiving = -1, not_blocked = 0, sending = 1 };

/// What few tasklets have, kept out of the control block, which every tasklet pays for
/// (moving them out took 16 bytes off every tasklet): a name, and the figures counted
/// while count_statistics(true) (core/observe.cpp). Made on first need, freed with the
/// control block.
struct tasklet_extras {
    char* name = nullptr;             // owned, NUL-terminated; null: none
    std::uint64_t switches_in = 0;    // while counting statistics
    std::int64_t run_ns = 0;          // while counting statistics
    tasklet_extras() = default;
    tasklet_extras(const tasklet_extras&) = delete;
    tasklet_extras& operator=(const tasklet_extras&) = delete;
    ~tasklet_extras() { delete[] name; }
};

/// Out of line, so that destroying a control block without extras (spawn's usual path)
/// keeps its few registers.
void free_extras(tasklet_extras* x) noexcept;

struct tasklet_impl {
    void* sp = nullptr;               // saved context while not running
    tasklet_impl* next = nullptr;     // ring links
    tasklet_impl* prev = nullptr;
    event_wait* event = nullptr;      // waiting for a timer or I/O (blocked, not on a channel)
    channel_waiter* waiters = nullptr;  // blocked on channels: its waiter record (a select: the first of its records), in its frame; it names the channel and direction (channels/channel_core.hpp)
    std::exception_ptr pending;       // raised when this tasklet next resumes (set with set_pending)
    tasklet_body* body = nullptr;     // bound function; null once finished
    eh_state eh;
    std::uint32_t handles = 1;
    bool in_ring = false;
    bool alive = false;
    bool started = false;             // has a stack (main: always)
    bool awaiting_entry = false;      // started but never resumed: the next switch enters tasklet_entry
    bool resume_hook = false;         // pending is set and it will resume in a switch: the switch runs the hook
    bool waiting_in_run = false;      // inside run() as a watchdog
    bool is_main = false;
    bool atomic = false;
    std::uint8_t block_trap = 0;      // trap_user | trap_frames
    std::uint8_t stack_kind = stack_pooled;  // where its stack comes from: one byte, so that starting and ending test once
    stack_region stack;               // once started; before and after, base is null and size the requested usable size (bytes, page multiple)
    std::uint64_t fp_control = 0;     // the creator's FP control, for the first frame
    std::uint64_t id = 0;
    [[no_unique_address]] instrument::tasklet_state tools;  // sanitizer bookkeeping (empty in plain builds)
    tasklet_impl* all_next = nullptr; // every control block of the thread (for teardown and debuggers)
    tasklet_impl* all_prev = nullptr;
    tasklet_extras* extras = nullptr; // owned; its name and statistics, once it has either (most tasklets never do)
    void* cell_slab = nullptr;        // the slab of the cell this block lives in (null: allocated alone; core/cell_pool.hpp)
    scheduler* home = nullptr;        // its thread's scheduler; set before any other thread can see the block (core/thread_check.hpp), changed only by a migration, on the new thread, while no handle refers to it
    // stack_shared only, and set by make_shared_mode (it points into this block's cell):
    // where its frames are kept, from its spawn to its end; null once it has ended. Read for
    // no other kind, so spawning does not clear it.
    shared_stack_state* shared;

    tasklet_impl() = default;
    tasklet_impl(const tasklet_impl&) = delete;
    tasklet_impl& operator=(const tasklet_impl&) = delete;
    ~tasklet_impl() {
        if (extras) [[unlikely]] free_extras(extras);
    }
    /// Its name, NUL-terminated, or null.
    const char* name() const noexcept { return extras ? extras->name : nullptr; }
    std::string_view name_view() const noexcept { return name() ? std::string_view(name()) : std::string_view(); }
    void set_name(std::string_view text);
    /// Its extras, made now if it had none; null if memory for them cannot be had (then a
    /// counted switch is not counted: core/observe.cpp).
    tasklet_extras* extras_made() noexcept { return extras ? extras : make_extras(); }
    tasklet_extras* make_extras() noexcept;
};

/// Makes t raise `e` when it next resumes: through the kernel switch's resume hook, or
/// in tasklet_entry if it never ran. The flag saves the switch testing both.
inline void set_pending(tasklet_impl* t, std::exception_ptr e) noexcept {
    t->pending = std::move(e);
    t->resume_hook = !t->awaiting_entry;
}

inline bool is_blocked(const tasklet_impl* t) noexcept { return t->waiters != nullptr || t->event != nullptr; }
/// Blocked on channels (a plain operation or a select)?
inline bool on_channel(const tasklet_impl* t) noexcept { return t->waiters != nullptr; }

}  // namespace tasklets::detail
