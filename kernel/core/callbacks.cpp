// Callbacks, switch_trap, and the rare work around a switch (core/callbacks.hpp).
#include "core/callbacks.hpp"

#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/safe_points.hpp"
#include "core/switch.hpp"

#include <tasklets/errors.hpp>

#include <utility>

namespace tasklets::detail {

namespace {

// Calls a callback with switching refused; a callback that throws terminates, as a
// noexcept function would: there is no sane place to deliver it mid-switch.
template <class F>
void in_callback_scope(scheduler& s, F&& call) noexcept {
    const std::uint8_t before = s.switch_flags;
    s.switch_flags |= in_callback;
    call();
    s.switch_flags = static_cast<std::uint8_t>((s.switch_flags & ~in_callback) | (before & in_callback));
}

}  // namespace

tasklet_impl* on_switch(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept {
    if (s.switch_flags & budget_armed) {
        run_budget& b = s.budget;
        if (b.soft_expired && !b.stopped && to != b.watchdog) {
            b.stopped = true;  // the watchdog goes in front of the one that would have run
            ++s.counts.soft_stops;
            trace_event_of(s, trace_kind::soft_stop, from);
            if (!b.watchdog->in_ring) {
                note_unpausing(s, b.watchdog);
                ring_insert_before(s, to, b.watchdog);
            }
            to = b.watchdog;
        }
        if (!b.total) restart_slice(s);
    }
    if (s.switch_flags & schedule_watched) observe_and_call_back(s, from, to);
    return to;
}

void observe_and_call_back(scheduler& s, tasklet_impl* from, tasklet_impl* to) noexcept {
    if (observing(s)) observe_switch(s, from, to);
    if (s.on_schedule) {
        const tasklet previous = tasklet::from_impl(from);
        const tasklet next = tasklet::from_impl(to);
        in_callback_scope(s, [&] { s.on_schedule(previous, next); });
    }
}

void switch_with_care(scheduler& s, tasklet_impl* from, tasklet_impl* to) {
    switch_plainly(s, from, on_switch(s, from, to));
}

void notify_channel(scheduler& s, const channel_core* c, int balance, std::int8_t direction, bool will_block) {
    if (!s.on_channel) return;  // only counting or tracing: they see the operation once it may go on
    const tasklet actor = tasklet::from_impl(s.current);
    const channel_event event{c, balance};
    in_callback_scope(s, [&] { s.on_channel(event, actor, direction == sending, will_block); });
}

[[noreturn]] void refuse_switch(scheduler& s) {
    if (s.switch_flags & in_callback) throw state_error("tasklets: a schedule or channel callback cannot switch tasklets");
    throw state_error("switch_trap");
}

}  // namespace tasklets::detail

namespace tasklets {

using namespace detail;

int switch_trap(int delta) {
    scheduler& s = sched();
    const int old = s.trap_level;
    s.trap_level += delta;
    if (s.trap_level != 0) s.switch_flags |= switch_trapped;
    else s.switch_flags &= static_cast<std::uint8_t>(~switch_trapped);
    return old;
}

namespace {
template <class F>
F install(scheduler& s, F& slot, F f) {
    F old = std::exchange(slot, std::move(f));
    refresh_watch_flags(s);
    return old;
}
}  // namespace

schedule_callback set_schedule_callback(schedule_callback f) {
    scheduler& s = sched();
    return install(s, s.on_schedule, std::move(f));
}

channel_callback set_channel_callback(channel_callback f) {
    scheduler& s = sched();
    return install(s, s.on_channel, std::move(f));
}

error_handler set_error_handler(error_handler h) {
    scheduler& s = sched();
    return std::exchange(s.on_error, std::move(h));
}

}  // namespace tasklets
