// The one place where the kernel switches tasklets. Everything else decides *whom* to
// run and places tasklets in the ring; these functions hand the processor over.
#pragma once

#include "core/callbacks.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"
#include "core/tasklet_life.hpp"
#include "kernel_switch.h"

namespace tasklets::detail {

/// Swaps the runtime's exception state: from's is saved, to's installed (whole structs,
/// 16 bytes on 64-bit targets: one vector move each way on x86-64, aligned doubleword
/// moves elsewhere; 8 bytes on i386).
inline void swap_eh_state(scheduler& s, tasklet_impl* from, const tasklet_impl* to) noexcept {
    eh_state* globals = s.eh_globals;
    from->eh = *globals;
    *globals = to->eh;
}

/// switch_to_tasklet() for callers that found no switch_needs_care condition (after
/// guard_switch, the only ones left are budget_armed and schedule_watched).
inline void switch_plainly(scheduler& s, tasklet_impl* from, tasklet_impl* to) {
    swap_eh_state(s, from, to);
    s.current = to;
    if constexpr (instrument::needs_resume_hook) s.previous = from;
    instrument::before_switch(from->tools, to->tools, false);
    tasklets_kernel_switch(&from->sp, to->sp, wants_resume_hook(to));
}

/// Suspends the current tasklet and resumes `to` (prepared, in the ring). Returns when
/// something switches back; may throw what was thrown into this tasklet meanwhile.
/// Callers end with it (a tail call), so that the switch saves the *user's* return
/// address and the resumed tasklet executes no mispredicted ret (see the asm).
/// Its rare half (on_switch, then the switch) is a tail call too, so that the inlined
/// fast path makes no call at all and its callers need no callee-saved registers.
[[gnu::noinline]] void switch_with_care(scheduler& s, tasklet_impl* from, tasklet_impl* to);
inline void switch_to_tasklet(scheduler& s, tasklet_impl* to) {
    tasklet_impl* from = s.current;
    if (s.switch_flags & (budget_armed | schedule_watched)) [[unlikely]] return switch_with_care(s, from, to);
    switch_plainly(s, from, to);
}

/// The kernel's own yield (a hand-off with schedule_all): the running tasklet stays in
/// the ring and the next one runs. Unlike tasklets::schedule() it counts no safe point
/// (the operation that yields has counted its own) and does not guard: its caller has.
inline void yield_to_next(scheduler& s) {
    tasklet_impl* next = s.current->next;
    if (next == s.current) return;
    prepare(s, next);
    switch_to_tasklet(s, next);
}

}  // namespace tasklets::detail
