// Handle reference counts, and what happens when the last handle of a tasklet goes.
#include "core/handles.hpp"

#include "core/observe.hpp"
#include "core/tasklet_life.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"
#include "core/waits.hpp"

namespace tasklets::detail {

// Counts are kept by the tasklet's own thread only; elsewhere core/thread_check.cpp
// decides (an orphan of an ended thread, or a fatal misuse).
void retain(tasklet_impl* t) noexcept {
    if (t->home != tls_scheduler) [[unlikely]] return retain_foreign(t);
    ++t->handles;
}

void release(tasklet_impl* t) noexcept {
    if (t->home != tls_scheduler) [[unlikely]] return release_foreign(t);
    if (--t->handles != 0 || t->is_main) return;
    scheduler& s = *t->home;
    if (!t->alive) {
        if (t != s.dead) free_tasklet(s, t);  // else release_dead frees it
        return;
    }
    if (t->in_ring || is_blocked(t) || t == s.current || t->waiting_in_run) return;  // still running
    if (!t->started) {
        // Taken out of the ring before it ever ran (remove()), so counted paused: it ends
        // here without running, and leaves the gauges as a kill would.
        note_unpausing(s, t);
        note_ended(s);
        free_tasklet(s, t);
        return;
    }
    // Started and paused, and now unreachable: kill it so its stack unwinds.
    t->handles = 1;
    try {
        kill_now(s, t);
    } catch (...) {
        // A destructor cannot report it; the kill itself has happened.
    }
    release(t);
}

void kill_abandoned(scheduler& s) {
    while (!s.abandoned.empty()) {
        tasklet_impl* t = s.abandoned.back();
        s.abandoned.pop_back();
        if (t->alive && !t->in_ring && !is_blocked(t) && !t->waiting_in_run && t->handles == 0) {
            t->handles = 1;  // keep it while we kill it
            try {
                kill_now(s, t);
            } catch (...) {
                release(t);
                throw;
            }
            release(t);
        }
    }
}

}  // namespace tasklets::detail
