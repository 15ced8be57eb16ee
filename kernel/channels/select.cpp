// select: wait on several channel operations at once (include/tasklets/select.hpp).
//
// Ready cases (a partner waiting, or the channel closed for that direction) are served at
// once, one picked uniformly at random (Go's rule: no case starves). Otherwise the tasklet
// queues one waiter record per case, each on its case's channel, and the first partner to
// arrive completes its case, takes the others off their channels and places the tasklet by
// its own channel's preference: to the partner it is a plain waiting partner, and both
// directions go through the one hand-off of channels/handoff.hpp (docs/semantics.md §7).
#include "channels/select_steps.hpp"
#include "core/shared_stacks.hpp"

#include "channels/handoff.hpp"
#include "channels/off_stack_wait.hpp"

#include "core/callbacks.hpp"
#include "core/deadlock.hpp"
#include "core/observe.hpp"
#include "core/safe_points.hpp"
#include "core/throw_into.hpp"

#include <tasklets/select.hpp>

#include <memory>
#include <stdexcept>

namespace tasklets::detail {

namespace {

constexpr std::uint64_t default_seed = 0x9E3779B97F4A7C15ull;
thread_local constinit std::uint64_t rng_state __attribute__((tls_model("initial-exec"))) = default_seed;

// xorshift64*: fast, and good enough to pick among a handful of ready cases.
std::uint64_t next_random() noexcept {
    std::uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

bool partner_waiting(const channel_core* c, std::int8_t direction) noexcept {
    return direction == sending ? c->balance < 0 : c->balance > 0;
}

bool ready(const select_case& k) noexcept {
    return partner_waiting(k.channel, k.direction) || k.channel->closing;
}

// A case names a channel<T> or a shared_channel<T>: whichever it has.
const void* target(const select_case& k) noexcept {
    return k.channel ? static_cast<const void*>(k.channel) : static_cast<const void*>(k.shared);
}

}  // namespace

void select_validate(const select_case* cases, std::uint32_t count) {
    for (std::uint32_t i = 0; i < count; ++i) {
        if (target(cases[i]) == nullptr) throw std::invalid_argument("tasklets::select: a case refers to a moved-from channel");
        for (std::uint32_t j = 0; j < i; ++j)
            if (target(cases[j]) == target(cases[i]) && cases[j].direction != cases[i].direction)
                throw std::invalid_argument("tasklets::select: a select cannot both send and receive on the same channel");
    }
}

namespace {


// A ready case: the callback, the switch guard (a hand-off that switches), then the
// hand-off itself, the same as channel_send/channel_receive's.
void perform(scheduler& s, const select_case& k, std::uint32_t index, select_outcome& out) {
    channel_core* c = k.channel;
    const bool partner = partner_waiting(c, k.direction);
    if (s.switch_flags & channel_watched) [[unlikely]]
        notify_channel(s, c, c->balance, k.direction, false);
    if (!partner) {  // closing, nobody waiting for this direction: the case completes as closed
        out.index = index;
        out.closed = true;
        return;
    }
    if (hand_off_switches(c, k.direction)) guard_switch(s);
    if (observing(s)) [[unlikely]] observe_channel_operation(s, c, k.direction);
    if (k.direction == sending) hand_off<sending>(c, k.transfer, k.ops, &out.index, index);
    else hand_off<receiving>(c, k.transfer, k.ops, &out.index, index);  // a sender's exception: no index
}

}  // namespace


bool select_any_ready(const select_case* cases, std::uint32_t count) noexcept {
    for (std::uint32_t i = 0; i < count; ++i)
        if (ready(cases[i])) return true;
    return false;
}

bool select_now(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out) {
    std::uint32_t ready_count = 0;
    for (std::uint32_t i = 0; i < count; ++i) ready_count += ready(cases[i]);
    if (ready_count == 0) return false;
    std::uint32_t pick = select_pick(ready_count);
    for (std::uint32_t i = 0; i < count; ++i) {
        if (!ready(cases[i])) continue;
        if (pick-- == 0) {
            perform(s, cases[i], i, out);
            break;
        }
    }
    return true;
}

// Nothing is ready: wait on every case's channel at once, one record per case.
void select_block(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out) {
    tasklet_impl* self = s.current;
    if (self->block_trap) check_wait(self, false, "select");  // a user's block trap
    if (s.switch_flags & channel_watched) [[unlikely]] {
        for (std::uint32_t i = 0; i < count; ++i)
            notify_channel(s, cases[i].channel, cases[i].channel->balance, cases[i].direction, true);
    }
    if (self->block_trap & trap_frames) return select_off_stack(s, cases, count, out);  // a shared-stack tasklet
    constexpr std::uint32_t inline_records = 8;
    channel_waiter local[inline_records];
    std::unique_ptr<channel_waiter[]> heap;
    channel_waiter* records = local;
    if (count > inline_records) {
        heap.reset(new channel_waiter[count]);
        records = heap.get();
    }
    select_wait wait;
    wait.waiters = records;
    wait.count = count;
    wait.chosen = &out.index;
    for (std::uint32_t i = 0; i < count; ++i) {
        channel_waiter& w = records[i];
        w.tasklet = self;
        w.channel = cases[i].channel;
        w.transfer = cases[i].transfer;
        w.direction = cases[i].direction;
        w.case_index = i;
        w.select = &wait;
        w.unusual = true;
    }
    block_on_records(s, records, count);
    // Only a partner completing a case (or the timer of a select with a deadline, which
    // writes out.index itself) resumes us without an exception.
}

bool select_begin(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out) {
    out.index = select_none;
    out.closed = false;
    select_validate(cases, count);
    for (std::uint32_t i = 0; i < count; ++i) own_channel(cases[i].channel, &s, "select");  // before anything changes
    safe_point(s);
    return select_now(s, cases, count, out);
}

void channel_select(const select_case* cases, std::uint32_t count, bool has_default, select_outcome& out) {
    scheduler& s = sched();
    if (select_begin(s, cases, count, out)) return;
    if (has_default) {
        out.index = count;
        return;
    }
    if (count == 0) throw_deadlock(s, "Deadlock: a select with no cases and no default can never complete.");
    select_block(s, cases, count, out);
}

std::uint32_t select_pick(std::uint32_t n) noexcept {
    return n <= 1 ? 0 : static_cast<std::uint32_t>(next_random() % n);
}

void select_seed(std::uint64_t seed) noexcept { rng_state = seed != 0 ? seed : default_seed; }

}  // namespace tasklets::detail
