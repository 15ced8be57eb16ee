// kernel/durable/world/context_ops.cpp — each operation of a durable tasklet, in its three modes.
//
//   replaying   the journal has entries left: the operation must be the next entry (else
//               replay_divergence); inputs return the journaled value, effects do nothing.
//   restoring   the journal is used up while world::restore() rebuilds the world, or
//               world::put() brings the tasklet in: the operation must be the wait the image
//               saved; the tasklet parks there without meeting a partner. restore() puts it
//               back in its queue in the saved order; a tasklet that arrived by put() waits
//               in the ready queue and, when it runs, redoes the wait live in its new world.
//   live        the operation happens and is appended to the journal when it completes.
//
// A channel holds waiting receivers or waiting senders, never both. A partner arriving takes
// the first waiter, which goes to the end of the world's ready queue; the arriving tasklet
// goes on running (docs/durable.md, "Order of events").
#include "world_state.hpp"

#include <tasklets/image.hpp>

#include <algorithm>
#include <stdexcept>

namespace tasklets::durable::detail {
namespace {

void check_current(const durable_tasklet& t, const char* what) {
    if (!t.handle.is_current())
        throw std::logic_error(std::string("tasklets: context::") + what + " of durable tasklet " +
                               std::to_string(t.id) + " called from another tasklet; a context belongs to its tasklet");
}

std::uint32_t crc_of(std::span<const std::byte> bytes) { return crc32c(bytes); }

[[noreturn]] void diverge(const durable_tasklet& t, std::string expected, std::string actual) {
    throw replay_divergence(t.id, t.entry->name, t.base_step + t.cursor + 1, std::move(expected), std::move(actual));
}

// Replaying: the next journal entry, which must be `actual` in kind and in what replay
// compares (channel, value CRC, deadline). Moves the tasklet's clock to the entry's time.
const journal_entry& replay_next(durable_tasklet& t, const journal_entry& actual) {
    const journal_entry& e = t.journal[t.cursor];
    bool same = e.kind == actual.kind;
    if (same && (e.kind == op::receive || e.kind == op::send || e.kind == op::sleep)) same = e.a == actual.a;
    if (same && (e.kind == op::send || e.kind == op::emit || e.kind == op::spawn || e.kind == op::select))
        same = e.b == actual.b;
    if (!same) diverge(t, describe(*t.w, e), describe(*t.w, actual));
    t.clock = e.time;
    t.fresh = false;
    if (++t.cursor == t.journal.size()) t.replaying = false;
    return e;
}

// Live: the operation completed now; journal it.
journal_entry& append(durable_tasklet& t, journal_entry e) {
    t.clock = t.w->now;
    e.time = t.clock;
    t.fresh = false;
    t.journal.push_back(std::move(e));
    t.cursor = t.journal.size();
    return t.journal.back();
}

// Restoring, at the journal's end: anything but the saved wait is a divergence.
void refuse_unless_live(const durable_tasklet& t, const journal_entry& actual) {
    if (t.restoring) diverge(t, describe_wait(*t.w, t.expect), describe(*t.w, actual));
}

// Parks the current tasklet until a partner or a timer makes it ready. If it is killed or
// thrown into while parked (outside the world's own kill in ~world), it leaves its queue.
void park(durable_tasklet& t) {
    struct leave_on_unwind {
        durable_tasklet& t;
        ~leave_on_unwind() {
            if (t.waiting == wait::none || t.w->dying) return;
            t.w->unlink(t);
            t.waiting = wait::none;
        }
    } guard{t};
    tasklets::schedule_remove();
}

durable_tasklet::expected_wait wait_on(wait kind, std::uint32_t channel, std::uint32_t crc = 0,
                                       std::int64_t deadline = 0) {
    durable_tasklet::expected_wait e;
    e.kind = kind;
    e.channel = channel;
    e.value_crc = crc;
    e.deadline = deadline;
    return e;
}

// The value of the first sender (popped from `c`), which becomes ready, or of a posted value.
std::vector<std::byte> take_from_sender(world_state& w, channel_state& c, durable_tasklet* sender) {
    if (!sender) {
        std::vector<std::byte> v = std::move(c.posted.front());  // posted from outside (world::post)
        c.posted.pop_front();
        return v;
    }
    std::vector<std::byte> v = std::move(*sender->offered);
    w.make_ready(*sender);
    return v;
}

// Restoring: the tasklet reached its journal's end and now does `actual`; it must be the
// wait the image saved. It parks there, outside any queue, until restore() places it.
void wait_as_saved(durable_tasklet& t, const durable_tasklet::expected_wait& actual) {
    const auto& e = t.expect;
    bool same = e.kind == actual.kind;
    if (same && (e.kind == wait::receive || e.kind == wait::send)) same = e.channel == actual.channel;
    if (same && e.kind == wait::send) same = e.value_crc == actual.value_crc;
    if (same && e.kind == wait::sleep) same = e.deadline == actual.deadline;
    if (same && e.kind == wait::select)
        same = e.cases == actual.cases && e.timed == actual.timed && (!e.timed || e.deadline == actual.deadline);
    if (!same) diverge(t, describe_wait(*t.w, e), describe_wait(*t.w, actual));
    t.waiting = e.kind;
    t.channel = e.channel;
    t.deadline = e.deadline;
    t.timer_seq = e.timer_seq;
    t.cases = e.cases;
    t.timed = e.timed;
    t.restoring = false;
    park(t);
}

}  // namespace

std::span<const std::byte> receive_bytes(durable_tasklet& t, std::uint32_t channel) {
    check_current(t, "receive");
    world_state& w = *t.w;
    channel_state& c = w.channel_at(channel, "context::receive");
    journal_entry actual = entry_of(op::receive, channel);
    if (t.replaying) return replay_next(t, actual).bytes;

    bool done = false;  // a sender completed it while the tasklet waited where it was saved
    if (t.restoring) {
        wait_as_saved(t, wait_on(wait::receive, channel));
        done = !std::exchange(t.redo, false);
    }
    if (!done && c.has_senders()) {
        durable_tasklet* sender = c.waiters.front();
        c.waiters.pop_front();
        t.received = take_from_sender(w, c, sender);
    } else if (!done) {
        t.waiting = wait::receive;
        t.channel = channel;
        c.waiters.push_back(&t);
        park(t);
    }
    t.handed = false;
    actual.bytes = std::move(t.received);
    return append(t, std::move(actual)).bytes;
}

void send_bytes(durable_tasklet& t, std::uint32_t channel, std::vector<std::byte> value) {
    check_current(t, "send");
    world_state& w = *t.w;
    channel_state& c = w.channel_at(channel, "context::send");
    std::uint32_t crc = crc_of(value);
    journal_entry actual = entry_of(op::send, channel, crc);
    if (t.replaying) {
        replay_next(t, actual);
        return;
    }
    t.offered = &value;
    bool done = false;  // a receiver took the value while the tasklet waited where it was saved
    if (t.restoring) {
        wait_as_saved(t, wait_on(wait::send, channel, crc));
        done = !std::exchange(t.redo, false);
    }
    if (!done && c.has_receivers()) {
        durable_tasklet& receiver = *c.waiters.front();
        c.waiters.pop_front();
        w.deliver(receiver, channel, std::move(value));
    } else if (!done) {
        t.waiting = wait::send;
        t.channel = channel;
        c.waiters.push_back(&t);
        park(t);
    }
    t.offered = nullptr;
    append(t, std::move(actual));
}

selected_bytes select_bytes(durable_tasklet& t, std::span<const std::uint32_t> cases, bool timed,
                            std::chrono::nanoseconds limit) {
    check_current(t, "select");
    world_state& w = *t.w;
    for (std::uint32_t c : cases) w.channel_at(c, "context::select");
    const std::int64_t deadline = timed ? t.clock + std::max<std::int64_t>(limit.count(), 0) : 0;
    // Replay compares the cases and the limit, by CRC.
    serial_writer key;
    key(std::vector<std::uint32_t>(cases.begin(), cases.end()), timed, deadline);
    journal_entry actual = entry_of(op::select, 0, crc32c(key.bytes()));
    if (t.replaying) {
        const journal_entry& e = replay_next(t, actual);
        return {static_cast<std::size_t>(e.a), e.bytes};
    }
    durable_tasklet::expected_wait wait = wait_on(wait::select, 0, 0, deadline);
    wait.cases.assign(cases.begin(), cases.end());
    wait.timed = timed;
    bool done = false;  // a sender or the limit ended it while it waited where it was saved
    if (t.restoring) {
        wait_as_saved(t, wait);
        done = !std::exchange(t.redo, false);
    }
    if (!done) {
        // The first case with a sender fires; else the limit, if it has passed; else wait.
        std::size_t fired = cases.size();
        for (std::size_t i = 0; i < cases.size() && fired == cases.size(); ++i) {
            channel_state& c = w.channels[cases[i] - 1];
            if (!c.has_senders()) continue;
            durable_tasklet* sender = c.waiters.front();
            c.waiters.pop_front();
            t.received = take_from_sender(w, c, sender);
            fired = i;
        }
        t.selected = fired;
        if (fired == cases.size() && !(timed && deadline <= w.now)) {
            t.waiting = wait::select;
            t.cases = std::move(wait.cases);
            t.timed = timed;
            t.deadline = deadline;
            for (std::size_t i = 0; i < t.cases.size(); ++i)
                if (std::find(t.cases.begin(), t.cases.begin() + static_cast<std::ptrdiff_t>(i), t.cases[i]) ==
                    t.cases.begin() + static_cast<std::ptrdiff_t>(i))
                    w.channels[t.cases[i] - 1].waiters.push_back(&t);
            if (timed) {
                t.timer_seq = w.next_timer_seq++;
                w.timers.insert({deadline, t.timer_seq, &t});
            }
            park(t);  // deliver() or the timer sets `selected`
        }
    }
    t.handed = false;
    actual.a = t.selected;
    if (t.selected < cases.size()) actual.bytes = std::move(t.received);
    t.received.clear();
    const journal_entry& e = append(t, std::move(actual));
    return {static_cast<std::size_t>(e.a), e.bytes};
}

std::uint64_t spawn_bytes(durable_tasklet& t, std::string_view entry, std::vector<std::byte> state,
                          const void* key) {
    check_current(t, "spawn");
    world_state& w = *t.w;
    const registry::entry& e = w.entry_for(entry, key);
    std::uint32_t crc = crc32c(std::as_bytes(std::span(entry.data(), entry.size())));
    crc = crc32c(state, crc);
    // The child's generator splits from the parent's in replay too, so that the parent
    // draws afterwards what it drew the first time.
    random_generator child_random = t.rng.split();
    journal_entry actual = entry_of(op::spawn, 0, crc);
    if (t.replaying) return replay_next(t, actual).a;
    refuse_unless_live(t, actual);
    durable_tasklet& child = w.create(w.next_id++, e, std::move(state), child_random);
    w.make_ready(child);
    actual.a = child.id;
    return append(t, std::move(actual)).a;
}

void checkpoint_bytes(durable_tasklet& t, std::vector<std::byte> state, const void* key) {
    check_current(t, "checkpoint");
    if (key != t.entry->key)
        throw std::logic_error("tasklets: checkpoint of durable tasklet " + std::to_string(t.id) + " ('" +
                               t.entry->name + "') with a type other than the state type its entry point was "
                               "defined with; a restore restarts the entry point from the checkpoint");
    // Restarted at its own starting point (the checkpoint at the top of a loop, after a
    // restore): nothing changes.
    if (t.fresh && state == t.base_state && t.rng == t.base_random) return;
    journal_entry actual = entry_of(op::checkpoint);
    if (t.replaying) diverge(t, describe(*t.w, t.journal[t.cursor]), describe(*t.w, actual));
    refuse_unless_live(t, actual);
    t.base_step += t.journal.size();
    t.journal.clear();
    t.cursor = 0;
    t.base_state = std::move(state);
    t.base_random = t.rng;
    t.base_time = t.clock;
    t.fresh = true;
}

}  // namespace tasklets::durable::detail

namespace tasklets::durable {

using detail::append;
using detail::durable_tasklet;
using detail::journal_entry;
using detail::op;

std::uint64_t context::id() const noexcept { return t_->id; }
std::string_view context::entry() const noexcept { return t_->entry->name; }
random_generator& context::random() noexcept { return t_->rng; }
bool context::replaying() const noexcept { return t_->replaying; }

void context::sleep_for(duration d) {
    if (d.count() < 0) d = duration::zero();
    sleep_until(duration(t_->clock) + d);
}

void context::sleep_until(duration until) {
    durable_tasklet& t = *t_;
    detail::check_current(t, "sleep_until");
    detail::world_state& w = *t.w;
    std::int64_t deadline = until.count();
    journal_entry actual = detail::entry_of(op::sleep, static_cast<std::uint64_t>(deadline));
    if (t.replaying) {
        detail::replay_next(t, actual);
        return;
    }
    bool done = false;  // its timer fired while it waited where it was saved
    if (t.restoring) {
        detail::wait_as_saved(t, detail::wait_on(detail::wait::sleep, 0, 0, deadline));
        done = !std::exchange(t.redo, false);
    }
    if (!done && deadline > w.now) {
        t.waiting = detail::wait::sleep;
        t.deadline = deadline;
        t.timer_seq = w.next_timer_seq++;
        w.timers.insert({deadline, t.timer_seq, &t});
        detail::park(t);
    }
    append(t, std::move(actual));
}

duration context::now() {
    durable_tasklet& t = *t_;
    detail::check_current(t, "now");
    journal_entry actual = detail::entry_of(op::now);
    if (t.replaying) return duration(detail::replay_next(t, actual).time);
    detail::refuse_unless_live(t, actual);
    return duration(append(t, std::move(actual)).time);
}

void context::emit(std::string_view line) {
    durable_tasklet& t = *t_;
    detail::check_current(t, "emit");
    journal_entry actual =
        detail::entry_of(op::emit, 0, crc32c(std::as_bytes(std::span(line.data(), line.size()))));
    if (t.replaying) {
        detail::replay_next(t, actual);
        return;
    }
    detail::refuse_unless_live(t, actual);
    append(t, std::move(actual));
    if (t.w->sink) t.w->sink(event{duration(t.clock), t.id, line});
}

}  // namespace tasklets::durable
