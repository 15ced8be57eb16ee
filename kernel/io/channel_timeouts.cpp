// Channel operations with a timeout: a timer that, if it fires while the tasklet is still
// blocked on the channel, takes it off (balance adjusted), makes timeout_error pending and
// puts it back in the ring. The blocking itself is the ordinary channel_send/receive. A
// select with a deadline works the same way, except that its timer completes the select
// with the deadline's index instead of raising anything.
#include "io/reactor.hpp"
#include "channels/channel_core.hpp"
#include "channels/select_steps.hpp"

#include "core/deadlock.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/safe_points.hpp"
#include "core/throw_into.hpp"
#include "core/waits.hpp"
#include "core/shared_stacks.hpp"

#include <tasklets/channel.hpp>

#include <memory>

namespace tasklets::detail {

namespace {

struct channel_timer {
    timer_node node;
    scheduler* sched = nullptr;
    tasklet_impl* waiter = nullptr;
    channel_core* channel = nullptr;
    const char* what = nullptr;
    std::int64_t span = -1;
    select_outcome* select = nullptr;  // a select's: the timer completes it with index `deadline_index`
    std::uint32_t deadline_index = 0;
    bool fired = false;
};

void fire_channel_timer(timer_node* n) noexcept {
    auto* ct = static_cast<channel_timer*>(n->context);
    ct->fired = true;
    tasklet_impl* t = ct->waiter;
    if (blocked_channel(t) != ct->channel) return;  // served already (or not blocked yet: the caller checks `fired`)
    unblock_from_channel(t);
    trace_event_of(*ct->sched, trace_kind::woken, t);
    if (ct->select) {
        ct->select->index = ct->deadline_index;
    } else {
        try {
            throw_timeout(ct->what, ct->span);
        } catch (...) {
            set_pending(t, std::current_exception());
        }
    }
    ring_append(*ct->sched, t);
}

// Cancels the timer however the operation ends.
struct timer_guard {
    reactor& owner;
    timer_node& node;
    ~timer_guard() { owner.cancel_timer(&node); }
};

// Arms ct's timer (ct.channel, and ct.select or ct.what, filled in) and runs `op`, which
// blocks on ct.channel unless a partner is there by then. False if the deadline passed
// first, before op() ran. `arrived`: has a partner come since the caller looked?
template <class Arrived, class Op>
bool with_timer(scheduler& s, reactor& r, channel_timer& ct, std::int64_t deadline, Arrived arrived, Op op) {
    ct.sched = &s;
    ct.waiter = s.current;
    ct.node.context = &ct;
    ct.node.fire = &fire_channel_timer;
    r.add_timer(&ct.node, deadline);
    timer_guard guard{r, ct.node};
    // Alone in the ring: the channel would poll the event source in place without our
    // timer in mind, so wait here until someone else is runnable, a partner came, or the
    // deadline passed.
    tasklet_impl* self = s.current;
    while (self->next == self && !ct.fired && !arrived() && r.has_waiters())
        if (!poll_within_budget(s)) break;  // a run() budget is spent: the channel hands over to it
    if (ct.fired) return false;
    // No poll may run between here and parking on the channel (channel ops poll at their
    // safe point): our timer must find us on the channel when it fires.
    if (tick_countdown < 1) tick_countdown = 1;
    op();
    return true;
}

// The timer record: in the caller's frame, or on the heap for a shared-stack tasklet,
// whose frame is copied out while it waits and the timer heap points at the record.
struct timer_home {
    channel_timer in_frame;
    std::unique_ptr<channel_timer> on_heap;
    explicit timer_home(const tasklet_impl* t) {
        if (t->stack_kind == stack_shared) on_heap = std::make_unique<channel_timer>();
    }
    channel_timer& get() noexcept { return on_heap ? *on_heap : in_frame; }
};

template <class Op>
void with_timeout(channel_core* c, bool partner_waiting, std::int64_t deadline, std::int64_t span,
                  const char* what, Op op) {
    if (partner_waiting || deadline == no_deadline) return op();  // served at once, or no timeout
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    reactor_hold hold(r);
    if (deadline <= r.now()) throw_timeout(what, span);
    timer_home home(s.current);
    channel_timer& ct = home.get();
    ct.channel = c;
    ct.what = what;
    ct.span = span;
    const int before = channel_balance(c);
    if (!with_timer(s, r, ct, deadline, [&] { return channel_balance(c) != before; }, op)) throw_timeout(what, span);
}

}  // namespace

void channel_send_until(channel_core* c, void* payload, const transfer_ops* ops, std::int64_t deadline, std::int64_t span) {
    own_channel(c, &sched(), "send");  // before the timer: a channel of another thread throws here
    waiter_slot slot;  // this frame lives through the wait
    with_timeout(c, channel_balance(c) < 0, deadline, span, "channel send",
                 [&] { channel_send(c, payload, ops, &slot); });
}

void channel_receive_until(channel_core* c, void* storage, const transfer_ops* ops, std::int64_t deadline,
                           std::int64_t span) {
    own_channel(c, &sched(), "receive");
    waiter_slot slot;
    with_timeout(c, channel_balance(c) > 0, deadline, span, "channel receive",
                 [&] { channel_receive(c, storage, ops, &slot); });
}

void channel_select_until(const select_case* cases, std::uint32_t count, std::int64_t deadline, select_outcome& out) {
    scheduler& s = sched();
    if (select_begin(s, cases, count, out)) return;
    if (count == 0) {  // only the deadline: a sleep
        if (deadline == no_deadline)
            throw_deadlock(s, "Deadlock: a select with no cases and no default can never complete.");
        sleep_until(clock::time_point(clock::duration(deadline)));
        out.index = 0;
        return;
    }
    if (deadline == no_deadline) return select_block(s, cases, count, out);
    reactor& r = get_reactor(s);
    reactor_hold hold(r);
    if (deadline <= r.now()) {
        out.index = count;
        return;
    }
    if (s.current->block_trap) check_wait(s.current, false, "a select with a timeout");  // a user's block trap
    timer_home home(s.current);
    channel_timer& ct = home.get();
    // The timer writes the deadline's index where the select's outcome is: for a
    // shared-stack tasklet a heap copy (its frame may be copied out when the timer fires).
    std::unique_ptr<select_outcome> outcome_on_heap;
    if (home.on_heap) outcome_on_heap = std::make_unique<select_outcome>(out);
    ct.channel = cases[0].channel;  // what blocked_channel() names while the select waits
    ct.select = outcome_on_heap ? outcome_on_heap.get() : &out;
    ct.deadline_index = count;
    const bool waited = with_timer(
        s, r, ct, deadline, [&] { return select_any_ready(cases, count); },
        [&] {
            if (!select_now(s, cases, count, out)) select_block(s, cases, count, out);
        });
    if (outcome_on_heap && outcome_on_heap->index == count) out.index = count;  // the timer fired
    if (!waited) out.index = count;
}

}  // namespace tasklets::detail
