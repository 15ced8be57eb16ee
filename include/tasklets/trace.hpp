// tasklets/trace.hpp — a recording of what the tasklets did, viewable as a timeline.
//
//     tasklets::start_trace();                    // this thread records from now on
//     tasklets::run();
//     tasklets::write_trace("run.json");          // open in https://ui.perfetto.dev
//
// Or without touching the code: TASKLETS_TRACE=run.json ./program starts recording on
// every thread at its first tasklet operation and writes the file when the process
// exits normally (TASKLETS_TRACE_EVENTS=N sets the per-thread capacity).
//
// What is recorded: each tasklet's spawn, start and end; every switch, with the reason
// the tasklet left (it yielded and stays runnable; it waits to send or receive on a
// channel, in a select, for a timer or a descriptor; it paused; it finished); channel
// hand-offs, from the sender to the receiver; kills and exceptions thrown into a
// tasklet; exceptions that escaped a tasklet; watchdog interruptions and soft stops.
//
// The file is in the Chrome trace-event JSON format, which Perfetto (ui.perfetto.dev)
// and chrome://tracing open: one process per OS thread, one track per tasklet, named
// "#id name"; "running" slices and "wait" slices (named for what the tasklet waits for),
// hand-offs as arrows from sender to receiver, the rest as instant events. Timestamps
// are steady_clock, in microseconds with nanosecond resolution. tools/trace_timeline.py
// draws a trace as a PNG.
//
// Cost. Off, nothing: recording rides on the careful path that a schedule callback
// already uses, so the hot paths are the same instructions (bench/callgrind.sh). On,
// each event is one clock read and a 40-byte store into the thread's buffer; bench
// `tasklets_bench --benchmark_filter=trace` reports the time per event.
//
// Bounds. Each thread records into a ring of `max_events` events (default 1,048,576,
// 40 MiB): when it is full the oldest are overwritten, so a long run keeps its newest
// events. The file says how many were dropped ("otherData.dropped_events"); slices and
// arrows cut by the drop are left out rather than drawn half.
//
// Threads. Recording is per thread, like the scheduler: start_trace() and stop_trace()
// act on the calling thread. A thread's events are kept when it stops recording or
// ends; write_trace() writes those of every such thread plus the calling thread's own.
// Stop the others (or let them end) before writing: a thread still recording is not
// read, because reading its buffer while it writes would be a data race.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace tasklets {

struct trace_options {
    /// Events kept per thread (a power of two is used: the next one up); at least 1024.
    std::size_t max_events = std::size_t{1} << 20;
};

/// Starts recording on the calling thread (restarts with a fresh buffer if it was
/// recording). Throws std::bad_alloc if the buffer cannot be had.
void start_trace(const trace_options& options = {});

/// Stops recording on the calling thread; its events are kept for write_trace().
/// Does nothing if it was not recording.
void stop_trace() noexcept;

/// Is the calling thread recording?
bool tracing() noexcept;

/// Writes the kept events (see Threads above) as Chrome trace-event JSON. Returns the
/// number of trace events written. The path form throws std::system_error naming the
/// file if it cannot be written.
std::size_t write_trace(std::ostream& out);
std::size_t write_trace(const std::string& path);

/// Forgets every kept event (the calling thread's too, if it records: it goes on
/// recording into an empty buffer).
void clear_trace() noexcept;

/// How many events the calling thread has recorded since it started, and how many of
/// them its ring has overwritten.
struct trace_counts {
    std::uint64_t recorded = 0;
    std::uint64_t dropped = 0;
};
trace_counts trace_event_counts() noexcept;

}  // namespace tasklets
