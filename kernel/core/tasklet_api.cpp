// tasklets::tasklet members: state queries and the operations on one tasklet
// (docs/semantics.md §1, §2).
#include "core/handover.hpp"
#include "core/observe.hpp"
#include "core/safe_points.hpp"
#include "core/switch.hpp"
#include "core/throw_into.hpp"
#include "core/waits.hpp"

namespace tasklets {

using namespace detail;

namespace {

// insert(), run() and switch_to() accept only a tasklet that can be put in the ring.
tasklet_impl* runnable_target(tasklet_impl* t) {
    if (t == nullptr || !t->alive) throw_state_error("You cannot run an unbound(dead) tasklet");
    if (is_blocked(t)) throw_state_error("You cannot run a blocked tasklet");
    return t;
}

}  // namespace

bool tasklet::alive() const noexcept { return impl_ && impl_->alive; }
bool tasklet::paused() const noexcept { return alive() && !impl_->in_ring && !is_blocked(impl_); }
bool tasklet::blocked() const noexcept { return impl_ && is_blocked(impl_); }
bool tasklet::scheduled() const noexcept { return impl_ && (impl_->in_ring || is_blocked(impl_)); }
bool tasklet::is_main() const noexcept { return impl_ && impl_->is_main; }
bool tasklet::is_current() const noexcept { return impl_ && impl_ == sched().current; }
bool tasklet::started() const noexcept { return impl_ && impl_->started; }
std::uint64_t tasklet::id() const noexcept { return impl_ ? impl_->id : 0; }
std::string_view tasklet::name() const noexcept { return impl_ ? impl_->name_view() : std::string_view(); }
std::size_t tasklet::stack_size() const noexcept { return impl_ && !impl_->is_main ? impl_->stack_size : 0; }

void tasklet::set_name(std::string name) {
    if (!impl_) throw_state_error("tasklets: cannot name an empty tasklet handle");
    impl_->set_name(name);
    trace_name(sched(), impl_);
}

void tasklet::insert() {
    tasklet_impl* t = runnable_target(impl_);
    scheduler& s = sched();
    if (!t->in_ring) {
        note_unpausing(s, t);
        ring_append(s, t);
    }
}

void tasklet::remove() {
    if (!impl_) return;
    scheduler& s = sched();
    if (impl_ == s.current) throw_state_error("The current tasklet cannot be removed.");
    if (is_blocked(impl_)) throw_state_error("You cannot remove a blocked tasklet.");
    if (impl_->in_ring) leave_ring(s, impl_);  // never abandons it: the caller holds a handle; now paused
}

namespace {

// run() and switch_to(): insert t unless scheduled, then switch to it; the caller stays
// in the ring or leaves it.
void switch_into(tasklet_impl* t, bool caller_stays) {
    scheduler& s = sched();
    if (t == s.current) return;
    safe_point(s);
    guard_switch(s);
    prepare(s, t);
    if (!caller_stays) make_room_to_leave_ring(s, s.current);
    if (!t->in_ring) {
        note_unpausing(s, t);
        ring_append(s, t);
    }
    if (!caller_stays) leave_ring(s, s.current);
    switch_to_tasklet(s, t);
}

}  // namespace

void tasklet::run() { switch_into(runnable_target(impl_), true); }

void tasklet::switch_to() { switch_into(runnable_target(impl_), false); }

void tasklet::kill(bool pending) {
    if (!impl_ || !impl_->alive) return;
    throw_into(sched(), impl_, std::make_exception_ptr(tasklet_exit{}), pending, true);
}

void tasklet::throw_exception(std::exception_ptr e, bool pending) {
    if (!impl_ || !impl_->alive) throw_state_error("You cannot throw to a dead tasklet");
    if (!e) throw std::invalid_argument("tasklets: throw_exception needs a non-null exception_ptr");
    throw_into(sched(), impl_, std::move(e), pending, false);
}

bool tasklet::atomic() const noexcept { return impl_ && impl_->atomic; }
bool tasklet::set_atomic(bool on) {
    if (!impl_) throw_state_error("tasklets: set_atomic on an empty tasklet handle");
    return std::exchange(impl_->atomic, on);
}
bool tasklet::block_trap() const noexcept { return impl_ && impl_->block_trap; }
bool tasklet::set_block_trap(bool on) {
    if (!impl_) throw_state_error("tasklets: set_block_trap on an empty tasklet handle");
    return std::exchange(impl_->block_trap, on);
}

// In the ring: ring neighbours. Blocked on a channel: neighbours in its queue of waiters
// (a select: its first case's channel), as in Stackless (docs/semantics.md §2.5).
tasklet tasklet::next() const {
    if (!impl_) return tasklet();
    if (impl_->in_ring) return from_impl(impl_->next);
    return from_impl(queue_neighbour(impl_, true));
}
tasklet tasklet::prev() const {
    if (!impl_) return tasklet();
    if (impl_->in_ring) return from_impl(impl_->prev);
    return from_impl(queue_neighbour(impl_, false));
}

}  // namespace tasklets
