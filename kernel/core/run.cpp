// run(): the watchdog loop (docs/semantics.md §2.6, §6). Its caller leaves the ring and
// waits while the others run; it gets control back when the ring runs empty (revived by
// the last tasklet to leave), when an exception for the watchdog arrives, when its
// budget ends, or when a tasklet switches to it — and then run() returns, unless timers
// or descriptors can still refill the ring.
#include "core/handles.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/safe_points.hpp"
#include "core/tasklet_life.hpp"
#include "core/switch.hpp"
#include "core/waits.hpp"

#include <algorithm>
#include <utility>

namespace tasklets {

using namespace detail;

tasklet run(const run_options& options) {
    scheduler& s = sched();
    tasklet_impl* self = s.current;
    const bool budgeted = arm_budget(s, self, options);
    struct disarm_on_exit {
        scheduler& s;
        bool armed;
        ~disarm_on_exit() {
            if (armed) disarm_budget(s);
        }
    } disarm{s, budgeted};
    while (s.runcount > 1 || refill_ring(s, self)) {
        tasklet_impl* target = self->next;
        guard_switch(s);
        prepare(s, target);
        s.watchdogs.push_back(self);
        self->waiting_in_run = true;
        ring_unlink(s, self);
        note_paused(s);  // as tasklet::paused() sees a run() caller
        struct stop_watching {
            scheduler& s;
            tasklet_impl* self;
            ~stop_watching() {
                self->waiting_in_run = false;
                auto it = std::find(s.watchdogs.rbegin(), s.watchdogs.rend(), self);
                s.watchdogs.erase(std::next(it).base());
            }
        } guard{s, self};
        switch_to_tasklet(s, target);
        if (budgeted && s.budget.interrupted) {
            tasklet_impl* victim = std::exchange(s.budget.interrupted, nullptr);
            tasklet handle = tasklet::from_impl(victim);
            --victim->handles;  // from_impl took its own reference; drop the budget's
            return handle;
        }
        if (budgeted && s.budget.stopped) return tasklet();
        // Resumed with others still runnable: someone switched to us (t.run(),
        // t.switch_to(), main_tasklet().run()) or the ring reached us (t.insert()), and
        // run() returns at once (Stackless's run_from_worker, manual_wakeup). Resumed
        // alone, the ring ran empty: the loop lets the event source refill it, or ends.
        if (self->next != self) break;
    }
    // Polling alone, it was sent another thread's kill or throw (threads/remote_tasklet.cpp).
    if (self->pending) [[unlikely]] raise_pending(self);
    if (s.watchdogs.empty()) kill_abandoned(s);
    return tasklet();
}

void run() { (void)run(run_options{}); }

}  // namespace tasklets
