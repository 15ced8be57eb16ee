// One thread's trace recording (include/tasklets/trace.hpp): a ring of fixed-size
// events that keeps the newest, and the names of the tasklets it has seen.
//
// It knows nothing of the scheduler: core/observe.cpp decides what to record, and
// debug/trace_export.cpp turns kept buffers into Chrome trace-event JSON. Recording is
// one clock read and one 40-byte store; nothing allocates but naming a tasklet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tasklets::detail {

/// What an event records. `a`, `b`, `c` and `n` mean, by kind:
enum class trace_kind : std::uint8_t {
    switched,     // a: from, b: to (tasklet ids), c: channel (leave_reason sending/receiving), n: select cases; reason
    spawned,      // a: the new tasklet, b: its creator
    hand_off,     // a: sender, b: receiver, c: channel
    killed,       // a: target, b: by
    thrown_in,    // a: target, b: by (an exception thrown into it)
    escaped,      // a: the tasklet an exception escaped from
    interrupted,  // a: the tasklet a hard run() budget interrupted
    soft_stop,    // a: the tasklet whose voluntary switch ended a soft budget
    woken,        // a: a tasklet whose timer, descriptor or helper call ended its wait (channel
                  //    partners are woken by hand_off; kills and throws by their own events)
};

/// Why a tasklet left the processor (trace_kind::switched).
enum class leave_reason : std::uint8_t {
    yielded,     // still in the ring
    sending,     // blocked sending on channel c
    receiving,   // blocked receiving on channel c
    selecting,   // blocked in a select over n channels
    sleeping,    // waiting for a timer
    descriptor,  // waiting for a descriptor (n: the descriptor)
    paused,      // out of the ring, not blocked (removed, switched away from, interrupted)
    in_run,      // waiting inside run() for the others
    finished,    // ended (or killed)
    moved,       // left for another thread (a migratable tasklet: threads/migration.cpp)
};

struct trace_event {
    std::int64_t ts;  // steady_clock nanoseconds
    std::uint64_t a;
    std::uint64_t b;
    std::uint64_t c;
    std::uint32_t n;
    trace_kind kind;
    leave_reason reason;
};
static_assert(sizeof(trace_event) == 40);

std::int64_t trace_clock() noexcept;

struct trace_buffer {
    explicit trace_buffer(std::size_t max_events);

    void push(trace_kind kind, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) noexcept {
        push_at(trace_clock(), kind, a, b, c);
    }
    /// push() with a time the caller read (one clock read serves counting and tracing).
    void push_at(std::int64_t ts, trace_kind kind, std::uint64_t a, std::uint64_t b, std::uint64_t c = 0,
                 std::uint32_t n = 0, leave_reason reason = leave_reason::yielded) noexcept {
        events[recorded++ & mask] = trace_event{ts, a, b, c, n, kind, reason};
    }
    /// Remembers a tasklet's name (the last one given wins). Allocation failure only
    /// loses the name.
    void name(std::uint64_t id, const char* text) noexcept;

    std::uint64_t capacity() const noexcept { return mask + 1; }
    std::uint64_t dropped() const noexcept { return recorded > capacity() ? recorded - capacity() : 0; }
    /// Calls f(event) for the kept events, oldest first.
    template <class F>
    void for_each(F&& f) const {
        for (std::uint64_t i = dropped(); i < recorded; ++i) f(events[i & mask]);
    }

    std::unique_ptr<trace_event[]> events;
    std::uint64_t mask;
    std::uint64_t recorded = 0;
    std::unordered_map<std::uint64_t, std::string> names;
    std::uint32_t thread_number;  // 1, 2, ... in the order threads started recording
};

/// Buffers whose threads stopped recording or ended, kept for write_trace(); guarded by
/// a mutex (they are touched only when recording starts or stops and when writing).
void keep_trace(std::unique_ptr<trace_buffer> buffer);
/// Hands the kept buffers to f (under the lock).
void with_kept_traces(void (*f)(const std::vector<std::unique_ptr<trace_buffer>>&, void*), void* context);
void forget_kept_traces() noexcept;
/// A number for a thread that starts recording (1, 2, ...).
std::uint32_t next_trace_thread_number() noexcept;

}  // namespace tasklets::detail
