// tasklets::tasklet members: state queries and the operations on one tasklet
// (docs/semantics.md §1, §2).
#include "core/handover.hpp"
#include "core/observe.hpp"
#include "core/safe_points.hpp"
#include "core/switch.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"
#include "core/waits.hpp"

namespace tasklets {

using namespace detail;

namespace {

// insert(), run() and switch_to() accept only a tasklet of this thread that can be put in
// the ring.
tasklet_impl* runnable_target(tasklet_impl* t, const char* operation) {
    own(t, operation);
    if (t == nullptr || !t->alive) throw_state_error("You cannot run an unbound(dead) tasklet");
    if (is_blocked(t)) throw_state_error("You cannot run a blocked tasklet");
    return t;
}

}  // namespace

// The state changes on the tasklet's own thread, so it is read only there (own() throws
// elsewhere). id, is_main and the stack size never change: any thread may read them.
bool tasklet::alive() const { return own(impl_, "alive()") && impl_->alive; }
bool tasklet::paused() const { return own(impl_, "paused()") && impl_->alive && !impl_->in_ring && !is_blocked(impl_); }
bool tasklet::blocked() const { return own(impl_, "blocked()") && is_blocked(impl_); }
bool tasklet::scheduled() const { return own(impl_, "scheduled()") && (impl_->in_ring || is_blocked(impl_)); }
bool tasklet::is_main() const noexcept { return impl_ && impl_->is_main; }
bool tasklet::is_current() const noexcept {
    const scheduler* s = tls_scheduler;
    return impl_ && s && impl_ == s->current;  // another thread's tasklet is never current here
}
bool tasklet::started() const { return own(impl_, "started()") && impl_->started; }
std::uint64_t tasklet::id() const noexcept { return impl_ ? impl_->id : 0; }
std::string_view tasklet::name() const { return own(impl_, "name()") ? impl_->name_view() : std::string_view(); }
std::size_t tasklet::stack_size() const noexcept { return impl_ && !impl_->is_main ? impl_->stack.size : 0; }

void tasklet::set_name(std::string name) {
    if (!own(impl_, "set_name()")) throw_state_error("tasklets: cannot name an empty tasklet handle");
    impl_->set_name(name);
    trace_name(sched(), impl_);
}

void tasklet::insert() {
    tasklet_impl* t = runnable_target(impl_, "insert()");
    scheduler& s = sched();
    if (!t->in_ring) {
        note_unpausing(s, t);
        ring_append(s, t);
    }
}

void tasklet::remove() {
    if (!own(impl_, "remove()")) return;
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

void tasklet::run() { switch_into(runnable_target(impl_, "run()"), true); }

void tasklet::switch_to() { switch_into(runnable_target(impl_, "switch_to()"), false); }

void tasklet::kill(bool pending) {
    if (!own(impl_, "kill()") || !impl_->alive) return;
    throw_into(sched(), impl_, std::make_exception_ptr(tasklet_exit{}), pending, true);
}

void tasklet::throw_exception(std::exception_ptr e, bool pending) {
    if (!own(impl_, "throw_exception()") || !impl_->alive) throw_state_error("You cannot throw to a dead tasklet");
    if (!e) throw std::invalid_argument("tasklets: throw_exception needs a non-null exception_ptr");
    throw_into(sched(), impl_, std::move(e), pending, false);
}

bool tasklet::atomic() const { return own(impl_, "atomic()") && impl_->atomic; }
bool tasklet::set_atomic(bool on) {
    if (!own(impl_, "set_atomic()")) throw_state_error("tasklets: set_atomic on an empty tasklet handle");
    return std::exchange(impl_->atomic, on);
}
bool tasklet::block_trap() const { return own(impl_, "block_trap()") && (impl_->block_trap & trap_user); }
bool tasklet::set_block_trap(bool on) {
    if (!own(impl_, "set_block_trap()")) throw_state_error("tasklets: set_block_trap on an empty tasklet handle");
    const bool was = impl_->block_trap & trap_user;
    impl_->block_trap = static_cast<std::uint8_t>((impl_->block_trap & ~trap_user) | (on ? trap_user : 0));
    return was;
}

// In the ring: ring neighbours. Blocked on a channel: neighbours in its queue of waiters
// (a select: its first case's channel), as in Stackless (docs/semantics.md §2.5).
tasklet tasklet::next() const {
    if (!own(impl_, "next()")) return tasklet();
    if (impl_->in_ring) return from_impl(impl_->next);
    return from_impl(queue_neighbour(impl_, true));
}
tasklet tasklet::prev() const {
    if (!own(impl_, "prev()")) return tasklet();
    if (impl_->in_ring) return from_impl(impl_->prev);
    return from_impl(queue_neighbour(impl_, false));
}

}  // namespace tasklets
