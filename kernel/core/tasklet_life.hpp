// A tasklet's life in the kernel: starting (a stack and a first frame), the work every
// resumed tasklet does first, ending, and freeing the control block.
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

/// Gives t its stack if it never ran. Throws if no stack can be had; call it before
/// changing any state so that a failure leaves everything as it was.
void start_tasklet(scheduler& s, tasklet_impl* t);
inline void prepare(scheduler& s, tasklet_impl* t) {
    if (!t->started) [[unlikely]] start_tasklet(s, t);
}

/// Writes t's first frame at the top of `stack`: resuming the returned stack pointer
/// enters t's function. (Shared-stack tasklets get theirs from core/shared_stacks.cpp.)
void* first_frame(const tasklet_impl* t, const stack_region& stack) noexcept;

/// Work every resumed tasklet does first: free the stack of a tasklet that just died,
/// and raise an exception thrown into this one (kill, throw_exception, send_exception,
/// a deadlock report, an exception escaping a tasklet for the watchdog).
void release_dead(scheduler& s) noexcept;
[[noreturn]] void raise_pending(tasklet_impl* self);
/// Must a switch to `to` run the resume hook on its side? ASan builds: always but for a
/// tasklet never resumed, which does its resume work in tasklet_entry (after_switch must
/// run). Otherwise only when asked: an exception to raise has set resume_hook
/// (set_pending); a dead stack is only ever left behind by finish(), which asks for the
/// hook itself.
inline bool wants_resume_hook(const tasklet_impl* to) noexcept {
    return instrument::needs_resume_hook ? !to->awaiting_entry : to->resume_hook;
}

inline void after_resume(scheduler& s, tasklet_impl* self) {
    if (s.dead) [[unlikely]] release_dead(s);
    if (self->pending) [[unlikely]] raise_pending(self);
}

/// Destroys a control block no handle and no scheduler state refers to any more.
void free_tasklet(scheduler& s, tasklet_impl* t) noexcept;

/// Has started tasklet t the stack that a tasklet spawned now without options would get
/// (pooled, of the default size)? A pool's spare carrier must (threads/job_carrier.cpp).
bool fits_default_options(scheduler& s, const tasklet_impl* t) noexcept;

/// Every control block of the thread, for teardown, deadlock reports and debuggers.
inline void link_all(scheduler& s, tasklet_impl* t) noexcept {
    t->all_prev = nullptr;
    t->all_next = s.all;
    if (s.all) s.all->all_prev = t;
    s.all = t;
}
inline void unlink_all(scheduler& s, tasklet_impl* t) noexcept {
    if (t->all_prev) t->all_prev->all_next = t->all_next;
    else s.all = t->all_next;
    if (t->all_next) t->all_next->all_prev = t->all_prev;
}

}  // namespace tasklets::detail
