// Counting and tracing (core/observe.hpp), and the statistics API
// (include/tasklets/statistics.hpp).
#include "core/observe.hpp"

#include "core/shared_stacks.hpp"
#include "core/waits.hpp"

#include <tasklets/statistics.hpp>
#include <tasklets/trace.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace tasklets::detail {

void refresh_watch_flags(scheduler& s) noexcept {
    std::uint8_t flags = s.switch_flags & static_cast<std::uint8_t>(~(schedule_watched | channel_watched));
    if (s.on_schedule || observing(s)) flags |= schedule_watched;
    if (s.on_channel || observing(s)) flags |= channel_watched;
    s.switch_flags = flags;
}

namespace {

// Why `t` leaves the processor, read from the state the operation left it in.
leave_reason reason_for(const tasklet_impl* t, std::uint64_t& channel, std::uint32_t& n) noexcept {
    if (!t->alive) return leave_reason::finished;
    if (on_channel(t)) {
        channel = reinterpret_cast<std::uintptr_t>(blocked_channel(t));
        if (blocked_in_select(t)) {
            n = channel_wait_count(t);
            return leave_reason::selecting;
        }
        return blocked_direction(t) == sending ? leave_reason::sending : leave_reason::receiving;
    }
    if (t->event) {
        if (t->event->fd < 0) return leave_reason::sleeping;
        n = static_cast<std::uint32_t>(t->event->fd);
        return leave_reason::descriptor;
    }
    if (t->in_ring) return leave_reason::yielded;
    if (t->waiting_in_run) return leave_reason::in_run;
    return leave_reason::paused;
}

}  // namespace

void observe_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept {
    const std::int64_t now = trace_clock();
    if (s.counting) {
        ++s.counts.switches;
        if (tasklet_extras* x = from->extras_made()) x->run_ns += now - s.counts.slice_start;
        if (tasklet_extras* x = to->extras_made()) ++x->switches_in;
        s.counts.slice_start = now;
    }
    if (s.trace) {
        std::uint64_t channel = 0;
        std::uint32_t n = 0;
        const leave_reason why = s.departing && s.dead == from ? leave_reason::moved : reason_for(from, channel, n);
        s.trace->push_at(now, trace_kind::switched, from->id, to->id, channel, n, why);
    }
}

void observe_channel_operation(scheduler& s, const channel_core* c, std::int8_t direction) noexcept {
    tasklet_impl* partner = channel_head_tasklet(c, direction);
    if (partner == nullptr) return;
    if (s.counting) ++s.counts.hand_offs;
    if (s.trace) {
        const tasklet_impl* self = s.current;
        const bool sends = direction == sending;
        s.trace->push(trace_kind::hand_off, (sends ? self : partner)->id, (sends ? partner : self)->id,
                      reinterpret_cast<std::uintptr_t>(c));
    }
}

void trace_spawn(scheduler& s, const tasklet_impl* t) noexcept {
    s.trace->push(trace_kind::spawned, t->id, s.current->id);
    trace_name(s, t);
}

void trace_name(scheduler& s, const tasklet_impl* t) noexcept {
    if (s.trace && t->name()) s.trace->name(t->id, t->name());
}

namespace {

// Starts recording into a fresh buffer (a restart drops what was recorded).
void begin_trace(scheduler& s, std::size_t max_events) {
    auto fresh = std::make_unique<trace_buffer>(max_events);
    delete s.trace;
    s.trace = fresh.release();
    // The names of the tasklets alive now: their tracks are labelled even though their
    // spawns are not in the trace.
    for (tasklet_impl* t = s.all; t; t = t->all_next) trace_name(s, t);
    refresh_watch_flags(s);
}

void stop_tracing(scheduler& s) noexcept {
    trace_buffer* b = s.trace;
    if (!b) return;
    s.trace = nullptr;
    refresh_watch_flags(s);
    try {
        keep_trace(std::unique_ptr<trace_buffer>(b));
    } catch (...) {
        // Out of memory: this thread's events are lost (unique_ptr freed them).
    }
}

void start_counting(scheduler& s) noexcept {
    s.counting = true;
    s.counts.slice_start = trace_clock();
    refresh_watch_flags(s);
}

std::size_t env_size(const char* name, std::size_t fallback) noexcept {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (*end != '\0' || v == 0) {
        std::fprintf(stderr, "tasklets: %s=\"%s\" is not a positive number of events; using %zu\n", name, text, fallback);
        return fallback;
    }
    return static_cast<std::size_t>(v);
}

}  // namespace

void observe_from_environment(scheduler& s) noexcept {
    if (const char* stats = std::getenv("TASKLETS_STATS"); stats && std::strcmp(stats, "1") == 0) start_counting(s);
    const char* path = std::getenv("TASKLETS_TRACE");
    if (!path || !*path) return;
    try {
        begin_trace(s, env_size("TASKLETS_TRACE_EVENTS", trace_options{}.max_events));
        static const bool registered = std::atexit(write_trace_at_exit) == 0;
        (void)registered;
    } catch (...) {
        std::fprintf(stderr, "tasklets: TASKLETS_TRACE: no memory for the trace buffer; not tracing\n");
    }
}

void stop_observing(scheduler& s) noexcept { stop_tracing(s); }

}  // namespace tasklets::detail

namespace tasklets {

using namespace detail;

scheduler_statistics statistics() noexcept {
    scheduler& s = sched();
    scheduler_statistics r;
    const scheduler_counts& c = s.counts;
    r.spawned = s.next_id - 2;
    r.alive = c.alive;
    r.runnable = static_cast<std::size_t>(s.runcount);
    r.paused = c.paused;
    r.blocked = c.alive - r.runnable - c.paused;
    r.stack_slabs = s.stacks.slab_count();
    r.stacks_in_use = s.stacks.stacks_in_use();
    r.stack_bytes = s.stacks.mapped_bytes();
    r.control_block_slabs = s.cells.slab_count();
    if (s.shared) {
        r.shared_copies_out = s.shared->copies_out;
        r.shared_bytes_copied_out = s.shared->bytes_copied_out;
        r.shared_stacks_kept = s.shared->kept_count;
    }
    r.reactor_polls = c.reactor_polls;
    r.reactor_blocking_polls = c.reactor_blocking_polls;
    r.reactor_wait = std::chrono::nanoseconds(c.reactor_wait_ns);
    r.doorbell_watches = s.doorbell_watches;
    r.express_wakeups = s.express_wakeups;
    r.receive_buffers_held = c.receive_buffers_held;
    r.watchdog_interruptions = c.interruptions;
    r.watchdog_soft_stops = c.soft_stops;
    r.counting = s.counting;
    r.switches = c.switches;
    r.hand_offs = c.hand_offs;
    return r;
}

bool count_statistics(bool on) {
    scheduler& s = sched();
    const bool was = s.counting;
    if (on && !was) start_counting(s);
    if (!on && was) {
        if (tasklet_extras* x = s.current->extras_made()) x->run_ns += trace_clock() - s.counts.slice_start;
        s.counting = false;
        refresh_watch_flags(s);
    }
    return was;
}

void reset_statistics() noexcept {
    scheduler& s = sched();
    s.counts.switches = 0;
    s.counts.hand_offs = 0;
    s.counts.slice_start = trace_clock();
    for (tasklet_impl* t = s.all; t; t = t->all_next)
        if (t->extras) {
            t->extras->switches_in = 0;
            t->extras->run_ns = 0;
        }
}

tasklet_statistics statistics(const tasklet& t) noexcept {
    tasklet_statistics r;
    tasklet_impl* impl = t.impl();
    if (!impl || impl->home != tls_scheduler) return r;  // another thread's: its figures change under us
    scheduler& s = *tls_scheduler;
    r.switches = impl->extras ? impl->extras->switches_in : 0;
    std::int64_t ns = impl->extras ? impl->extras->run_ns : 0;
    if (s.counting && impl == s.current) ns += trace_clock() - s.counts.slice_start;
    r.run_time = std::chrono::nanoseconds(ns);
    return r;
}

std::string format_statistics(const scheduler_statistics& s) {
    char buf[1024];
    const int n = std::snprintf(
        buf, sizeof buf,
        "tasklets: %llu spawned; %zu alive: %zu runnable, %zu blocked, %zu paused\n"
        "stacks: %zu in use in %zu slabs, %.1f MiB mapped; control blocks: %zu slabs of 16 KiB\n"
        "reactor: %llu polls, %llu of them waiting, %.3f ms waited; %zu receive buffers hold unread bytes\n"
        "doorbell: watched %llu times before sleeping, %llu wake-ups handed over meanwhile\n"
        "watchdog: %llu interruptions, %llu soft stops\n",
        static_cast<unsigned long long>(s.spawned), s.alive, s.runnable, s.blocked, s.paused, s.stacks_in_use,
        s.stack_slabs, static_cast<double>(s.stack_bytes) / (1024.0 * 1024.0), s.control_block_slabs,
        static_cast<unsigned long long>(s.reactor_polls), static_cast<unsigned long long>(s.reactor_blocking_polls),
        static_cast<double>(s.reactor_wait.count()) / 1e6, s.receive_buffers_held,
        static_cast<unsigned long long>(s.doorbell_watches), static_cast<unsigned long long>(s.express_wakeups),
        static_cast<unsigned long long>(s.watchdog_interruptions),
        static_cast<unsigned long long>(s.watchdog_soft_stops));
    std::string out(buf, static_cast<std::size_t>(n < 0 ? 0 : std::min<int>(n, sizeof buf - 1)));
    if (s.shared_copies_out || s.shared_stacks_kept) {
        const int m = std::snprintf(buf, sizeof buf,
                                    "shared stacks: %llu copies out, %.1f KiB copied out; %zu kept by tasklets that "
                                    "outgrew them\n",
                                    static_cast<unsigned long long>(s.shared_copies_out),
                                    static_cast<double>(s.shared_bytes_copied_out) / 1024.0, s.shared_stacks_kept);
        out.append(buf, static_cast<std::size_t>(m < 0 ? 0 : m));
    }
    if (s.counting || s.switches || s.hand_offs) {
        const int m = std::snprintf(buf, sizeof buf, "counted%s: %llu switches, %llu channel hand-offs\n",
                                    s.counting ? "" : " (counting is off)", static_cast<unsigned long long>(s.switches),
                                    static_cast<unsigned long long>(s.hand_offs));
        out.append(buf, static_cast<std::size_t>(m < 0 ? 0 : m));
    }
    return out;
}

void start_trace(const trace_options& options) { begin_trace(sched(), options.max_events); }

void stop_trace() noexcept {
    if (tls_scheduler) stop_tracing(*tls_scheduler);
}

bool tracing() noexcept { return tls_scheduler && tls_scheduler->trace; }

void clear_trace() noexcept {
    forget_kept_traces();
    if (scheduler* s = tls_scheduler; s && s->trace) s->trace->recorded = 0;
}

trace_counts trace_event_counts() noexcept {
    trace_counts r;
    if (scheduler* s = tls_scheduler; s && s->trace) {
        r.recorded = s->trace->recorded;
        r.dropped = s->trace->dropped();
    }
    return r;
}

}  // namespace tasklets
