// Starting a tasklet (its stack and first frame), its entry function, and its end: the
// hand-over from a finished tasklet, and the freeing of its stack by whoever resumes.
#include "core/tasklet_life.hpp"

#include "arch_context.hpp"
#include "core/callbacks.hpp"
#include "core/handover.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"
#include "core/waits.hpp"
#include "core/shared_stacks.hpp"
#include "threads/migration.hpp"

namespace tasklets::detail {

namespace {
void tasklet_entry(void*) noexcept;
}  // namespace

namespace {
// Inlined into start_tasklet (spawn's path), out of line for the restorer.
[[gnu::always_inline]] inline void* make_first_frame(const tasklet_impl* t, const stack_region& stack) noexcept {
#if defined(_WIN32)
    // Windows: the stack's TEB extent starts at its guard region, as a thread stack's
    // starts at its guard pages, so that an overflow is raised as STATUS_STACK_OVERFLOW
    // with the region's reserve left to report it (os/system_windows.cpp).
    std::byte* const bottom = stack.base - stack_pool::guard_bytes();
#else
    std::byte* const bottom = stack.base;
#endif
    return arch::prepare_stack(bottom, stack.start(), &tasklet_entry, t->fp_control);
}
}  // namespace

void* first_frame(const tasklet_impl* t, const stack_region& stack) noexcept { return make_first_frame(t, stack); }

void start_tasklet(scheduler& s, tasklet_impl* t) {
    // The pooled case first, tested as one byte against zero (as `migratable` was).
    if (t->stack_kind != stack_pooled) [[unlikely]] {
        if (t->stack_kind == stack_shared) {
            bind_to_shared_stack(s, t);
        } else {
            t->stack = stack_pool::allocate_alone(t->stack.size);
            instrument::stack_assigned(t->tools, t->stack.base, t->stack.size);
            t->sp = make_first_frame(t, t->stack);
        }
    } else {
        s.stacks.allocate_into(t->stack.size, t->stack);
        instrument::stack_assigned(t->tools, t->stack.base, t->stack.size);
        t->sp = make_first_frame(t, t->stack);
    }
    t->started = true;
    t->awaiting_entry = true;
    t->resume_hook = false;  // a pending exception is raised by tasklet_entry
}

void release_dead(scheduler& s) noexcept {
    tasklet_impl* t = s.dead;
    s.dead = nullptr;
    if (t->stack_kind != stack_pooled) [[unlikely]] {
        if (t->stack_kind == stack_shared) {
            instrument::tasklet_buried(t->tools);
            leave_shared_stack(s, t);
        } else {
            if (s.departing) return send_migrant(s, t);  // alive, and moving away
            instrument::tasklet_buried(t->tools);
            stack_pool::release_alone(t->stack);
        }
    } else {
        instrument::tasklet_buried(t->tools);
        s.stacks.release(t->stack);
    }
    t->stack = stack_region{nullptr, t->stack.size, nullptr, 0};  // stack_size() still answers
    if (t->handles == 0) free_tasklet(s, t);
}

void raise_pending(tasklet_impl* self) {
    std::exception_ptr e = std::move(self->pending);
    self->pending = nullptr;
    self->resume_hook = false;
    std::rethrow_exception(std::move(e));
}

namespace {

// A finished tasklet leaves for good: to the next in the ring, or to the watchdog when
// the ring is empty or an exception escaped. Its stack is freed by whoever resumes.
[[noreturn]] void finish(scheduler& s, tasklet_impl* self, std::exception_ptr escaped) noexcept {
    self->alive = false;
    note_ended(s);
    tasklet_impl* target = nullptr;
    if (!escaped && self->next == self) refill_ring(s, self);
    if (!escaped && self->next != self) {
        target = self->next;
        try {
            prepare(s, target);
        } catch (...) {
            escaped = std::current_exception();  // no stack for the next one: tell the watchdog
        }
    }
    if (escaped) {
        target = watchdog(s);
        revive(s, target, false);
        set_pending(target, std::move(escaped));
    } else if (!target) {
        // The last runnable tasklet ended: a watchdog blocked on a channel can never be
        // served now, so its own operation fails (docs/semantics.md §5).
        target = watchdog(s);
        revive(s, target, true);
    }
    ring_unlink(s, self);
    s.dead = self;
    if (s.switch_flags & (budget_armed | schedule_watched)) [[unlikely]] target = on_switch(s, self, target);
    self->eh = eh_state{};
    *s.eh_globals = target->eh;
    s.current = target;
    s.previous = self;
    instrument::before_switch(self->tools, target->tools, true);
    // Our context is saved into our own block, never read again. Not into a local: under
    // ASan's detect_stack_use_after_return a local of this frame lives on the tasklet's
    // fake stack, which before_switch has just freed (a dying tasklet keeps none).
    tasklets_kernel_switch(&self->sp, target->sp, !target->awaiting_entry);  // the hook frees our stack
    __builtin_unreachable();
}

// tasklet_entry's parts. Its own frame stays under the tasklet's frames for the tasklet's
// whole life, and a shared-stack tasklet copies it out and in at every park that needs it
// (core/shared_stacks.hpp), so the entry keeps only the tasklet (16 bytes on x86-64,
// against 144 with everything inline). An escaped exception waits in its thread's
// scheduler (scheduler::escaped) between the handler and end_body; no other tasklet runs
// in between. The work after the body runs in calls of their own, whose frames appear
// only then.

// Enters the body (inlined: it needs no more registers than the entry keeps anyway).
[[gnu::always_inline]] inline void begin_body(scheduler& s, tasklet_impl* self) {
    // s.previous is kept only when a tool needs it (core/switch.hpp); otherwise it may be
    // null here, and even naming a member through it would be undefined (UBSan on ppc64le
    // and s390x, whose builds have no resume hook, reported it).
    if constexpr (instrument::needs_resume_hook) instrument::after_switch(self->tools, s.previous->tools);
    guard_parked_frames(s);  // ASan only
    self->awaiting_entry = false;
    after_resume(s, self);  // an exception thrown before the first run fires here
    self->body->invoke();
}

// Inside tasklet_entry's handler: keeps the exception that escaped the body for end_body.
// A migratable tasklet may have moved meanwhile: its thread is read from the block (not
// from the thread_local, whose address the compiler may keep). No rethrow here to tell
// tasklet_exit apart: the entry's own handler does that, since a second unwinding at the
// stack's top overflowed a 16 KiB stack on MIPS64, whose unwinder needs much more room.
[[gnu::cold, gnu::noinline]] void keep_escaped(tasklet_impl* self) noexcept {
    self->home->escaped = std::current_exception();
}

// An escaped exception offered to the thread's error handler: null afterwards if handled.
[[gnu::cold, gnu::noinline]] void offer_to_handler(tasklet_impl* self, std::exception_ptr& escaped) noexcept {
    trace_event_of(*self->home, trace_kind::escaped, self);
    if (!self->home->on_error) return;
    error_handler handler = self->home->on_error;  // it may replace itself
    try {
        handler(escaped);
        escaped = nullptr;  // handled: swallowed
    } catch (const tasklet_exit&) {
        escaped = nullptr;
    } catch (...) {
        escaped = std::current_exception();  // goes to the watchdog instead
    }
}

// After the body: an escaped exception offered to the handler, the body's destruction,
// and the tasklet's end.
[[noreturn, gnu::noinline]] void end_body(tasklet_impl* self) noexcept {
    std::exception_ptr escaped = std::move(self->home->escaped);  // null unless keep_escaped kept one
    if (escaped) [[unlikely]] offer_to_handler(self, escaped);
    // The function and its bound arguments are destroyed here, on the tasklet's stack.
    self->body->~tasklet_body();
    self->body = nullptr;
    finish(*self->home, self, std::move(escaped));
}

// Every tasklet starts here, on its own stack, and never returns: exceptions stop here.
void tasklet_entry(void*) noexcept {
    scheduler& s = *tls_scheduler;
    tasklet_impl* const self = s.current;
    try {
        begin_body(s, self);
    } catch (const tasklet_exit&) {
        // A kill: the tasklet ends quietly.
    } catch (...) {
        keep_escaped(self);
    }
    end_body(self);
}

}  // namespace

}  // namespace tasklets::detail

extern "C" void tasklets_resume_hook() {
    using namespace tasklets::detail;
    scheduler& s = *tls_scheduler;
    // An out shared-stack tasklet's switch lands in the restorer, which brings it in.
    if (s.current->stack_kind == stack_shared && s.current->shared->out) [[unlikely]] return restorer_arrived(s);
    if constexpr (instrument::needs_resume_hook) instrument::after_switch(s.current->tools, s.previous->tools);
    guard_parked_frames(s);  // ASan only
    after_resume(s, s.current);
}
