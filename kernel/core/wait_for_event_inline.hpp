// wait_for_event() (core/waits.hpp) as an inline function, for the waits on a hot path
// that build it into their own frame: waits.cpp's out-of-line definition and
// io/wait_for_mail_inline.hpp.
//
// Why inline: a tasklet that parks here resumes here, after a switch from another
// tasklet whose calls filled the processor's return-address predictor. Every return it
// then makes until it calls again is mispredicted, 5-6 ns each on the AMD EPYC these
// were measured on (docs/multicore.md, "Returns after a switch"). Built into the caller,
// the wait leaves one call level fewer to return through.
#pragma once

#include "core/callbacks.hpp"
#include "core/deadlock.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"
#include "core/shared_stacks.hpp"
#include "core/switch.hpp"
#include "core/tasklet_life.hpp"
#include "core/waits.hpp"

namespace tasklets::detail {

[[gnu::always_inline]] inline void wait_for_event_inline(scheduler& s, event_wait* w) {
    tasklet_impl* self = s.current;
    if (self->block_trap) check_wait(self, !w->off_stack, "this wait for a timer or I/O");
    if (self->next == self && !s.watchdogs.empty() && s.watchdogs.back() != self) {
        // Nobody else to run, but a run() caller waits: it does the waiting (its loop
        // polls the event source within its budget, and returns when that is spent).
        guard_switch(s);
        note_unpausing(s, s.watchdogs.back());
        ring_append(s, s.watchdogs.back());
    }
    self->event = w;
    for (;;) {
        while (self->next == self) {  // nobody else to run and no run() caller: wait in place
            if (self->pending) [[unlikely]] {
                // A kill or throw from another thread, delivered to us while we polled
                // (threads/remote_tasklet.cpp), in this wait or in one that ended in the
                // same poll: the wait ends with it.
                unblock(self);
                raise_pending(self);
            }
            if (s.events == nullptr || !s.events->has_waiters()) {
                unblock(self);
                throw_deadlock(s, last_runnable_message);
            }
            s.events->poll(s, true, -1);
            if (!self->event) return;  // ours came while we were still running (a pending
                                       // exception that came with it waits for the next switch)
        }
        tasklet_impl* target = self->next;
        try {
            guard_switch(s);
            prepare(s, target);
        } catch (...) {
            unblock(self);
            throw;
        }
        ring_unlink(s, self);
        switch_to_tasklet(s, target);
        if (!self->event) [[likely]] return;  // woken (or thrown into: the switch raised it)
        // Resumed still waiting: the thread's last runnable tasklet moved to another thread
        // and handed the thread to us to wait in (threads/migration.cpp). Wait on.
    }
}

}  // namespace tasklets::detail
