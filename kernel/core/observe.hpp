// Watching the scheduler work: the statistics it keeps (include/tasklets/statistics.hpp)
// and the events it records while tracing (include/tasklets/trace.hpp).
//
// Nothing here runs on a hot path. What is always kept is kept where the work is rare
// (a spawn, a pause, a poll); what must see every switch or channel operation (switch
// and hand-off counts, per-tasklet run time, the trace) runs only while counting or
// tracing is on, and then through the careful path a schedule or channel callback
// already takes: both set schedule_watched and channel_watched (refresh_watch_flags),
// so the hot paths test the same bits as before and are the same instructions.
#pragma once

#include "core/scheduler.hpp"
#include "trace/trace_buffer.hpp"

namespace tasklets::detail {

/// Sets schedule_watched and channel_watched from what watches: the callbacks, counting,
/// tracing.
void refresh_watch_flags(scheduler& s) noexcept;

/// Counting or tracing is on: on_switch() and the channel entry call these.
inline bool observing(const scheduler& s) noexcept { return s.counting || s.trace != nullptr; }
/// A switch from `from` to `to`, after from's state says why it leaves.
void observe_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept;
/// A channel operation by the running tasklet, in `direction`, about to start: if a
/// partner waits at the head of c, this is a hand-off between them.
void observe_channel_operation(scheduler& s, const channel_core* c, std::int8_t direction) noexcept;

// ---- the gauges: alive, and paused (blocked is what is left: statistics()) -------------

/// A tasklet was bound to a function and scheduled.
void trace_spawn(scheduler& s, const tasklet_impl* t) noexcept;
inline void note_spawned(scheduler& s, const tasklet_impl* t) noexcept {
    ++s.counts.alive;
    if (s.trace) [[unlikely]] trace_spawn(s, t);
}
/// A tasklet ended.
inline void note_ended(scheduler& s) noexcept { --s.counts.alive; }
/// `t` just left the ring without blocking (paused).
inline void note_paused(scheduler& s) noexcept { ++s.counts.paused; }
/// `t` is about to be put in the ring: if it was paused, it no longer is. Every place
/// that can put a paused tasklet back calls this first, before anything changes (after
/// unblock() a blocked tasklet would look paused). The hand-offs and wake-ups only ever
/// place blocked tasklets, and do not call it.
inline void note_unpausing(scheduler& s, const tasklet_impl* t) noexcept {
    if (t->alive && !t->in_ring && t->waiters == nullptr && t->event == nullptr) --s.counts.paused;
}

// ---- trace events of rare operations ------------------------------------------------

inline void trace_event_of(scheduler& s, trace_kind kind, const tasklet_impl* a, const tasklet_impl* b = nullptr) noexcept {
    if (s.trace) [[unlikely]] s.trace->push(kind, a->id, b ? b->id : 0);
}
/// A tasklet got a name (or a new one) while the thread records.
void trace_name(scheduler& s, const tasklet_impl* t) noexcept;

/// Recording starts on the calling thread's scheduler if TASKLETS_TRACE asks for it, and
/// counting if TASKLETS_STATS does (create_scheduler).
void observe_from_environment(scheduler& s) noexcept;
/// The thread's scheduler goes away: its trace is kept for writing.
void stop_observing(scheduler& s) noexcept;

/// Writes the trace to TASKLETS_TRACE's file at exit (debug/trace_export.cpp).
void write_trace_at_exit() noexcept;

}  // namespace tasklets::detail
