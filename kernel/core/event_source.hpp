// The contract between the scheduler and what delivers timers and I/O (kernel/io/reactor.*):
// a tasklet parks on an event_wait, and the scheduler asks the thread's event_source for
// work before it lets the ring run empty.
#pragma once

#include <cstdint>

namespace tasklets::detail {

struct scheduler;

/// What a descriptor wait is for (event_wait::interest).
enum : std::uint8_t { event_readable = 1, event_writable = 2 };

/// Something other than a channel that a tasklet can wait for (a timer, a descriptor),
/// registered with an event_source before the tasklet parks.
struct event_wait {
    /// Called when the tasklet is woken by other means (kill, throw_exception): remove
    /// every registration that could still wake it. Must not switch.
    void (*cancel)(event_wait* self) noexcept = nullptr;
    int fd = -1;                 // the descriptor waited for; -1: a timer alone
    std::uint8_t interest = 0;   // with a descriptor: event_readable or event_writable
    bool off_stack = false;      // not in the waiting tasklet's frame (a shared-stack tasklet's may be: core/shared_stacks.hpp)
};

/// Timers and I/O plug into the scheduler through this (one per scheduler). The
/// scheduler asks it for work before it lets the ring run empty, and polls it without
/// blocking every poll_interval safe points so busy tasklets cannot starve I/O.
class event_source {
public:
    virtual ~event_source() = default;
    /// Are tasklets waiting for events this source will deliver?
    virtual bool has_waiters() const noexcept = 0;
    /// Wakes (wake_from_event) the tasklets whose events are ready. With `block`, first
    /// waits until one is ready or the next timer is due, but no longer than
    /// `max_wait_ns` of real time if that is not negative (a run() time budget's end).
    /// Must not switch.
    virtual void poll(scheduler& s, bool block, std::int64_t max_wait_ns) noexcept = 0;
#if defined(_WIN32)
    /// Windows: the thread ends and its scheduler is being torn down (first thing, as the
    /// reactor's thread_local owner does on Linux; core/thread_scheduler.cpp says why
    /// Windows cannot use thread_local destructors for this).
    virtual void thread_ends() noexcept = 0;
#endif
};

}  // namespace tasklets::detail
