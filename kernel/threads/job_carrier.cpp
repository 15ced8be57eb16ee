// Starting a pool's jobs, and carriers (threads/job_carrier.hpp).
#include "threads/job_carrier.hpp"

#include "arch_context.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"
#include "core/switch.hpp"
#include "core/tasklet_life.hpp"

namespace tasklets::detail {

// A carrier parked as its worker's spare: its tasklet, and the job handed to it. It lives
// in the parked carrier's own frame, which stays put: a carrier has a dedicated stack.
struct parked_carrier {
    tasklet_impl* tasklet = nullptr;
    pool_job_base* job = nullptr;
};

namespace {

const tasklet_options no_options{};

// Runs one job in the calling tasklet: its function, then its destruction (the function
// and arguments, here, on this stack), then its count, whether it returned, failed or was
// killed. Counted last, so that wait() returns only after the arguments are gone.
void run_job(pool_job_base* job) {
    struct finish {
        pool_job_base* job;
        ~finish() {
            pool_core* const p = job->pool;
            delete job;
            pool_job_done(p);
        }
    } on_exit{job};
    job->call();
}

// May the running tasklet, whose job has just ended, park as the worker's spare rather
// than end? Only if a new tasklet could not be told from it (its FP control is set anew
// when it is handed a job, so that does not matter):
// - no handle refers to it (tasklet::current() taken and kept), and it has no extras (a
//   name, or statistics' figures), no pending exception and no block trap or atomic
//   section;
// - and nothing watches its switches: a trace or a schedule callback would see it leave
//   alive and come back, a budget would count the park; it ends as before then.
// It needs a tasklet to switch to, too: serve()'s, which pool_job_done() has just woken
// if it slept.
bool may_park(const scheduler& s, const tasklet_impl* self, const carrier_slot* slot) noexcept {
    return slot != nullptr && slot->open && slot->spare == nullptr && self->handles == 0 && self->extras == nullptr &&
           !self->pending && self->block_trap == 0 && !self->atomic && self->stack_kind == stack_pooled &&
           self->next != self && (s.switch_flags & switch_needs_care) == 0;
}

// Parks the running tasklet as the spare: to the thread's books it has ended (out of the
// ring, out of the list of tasklets, not counted alive). Returns the job handed to it, or
// null when it is to end (the worker stops, or the spare no longer fits new jobs).
pool_job_base* park(scheduler& s, tasklet_impl* self, carrier_slot& slot) {
    tasklet_impl* const target = self->next;
    try {
        prepare(s, target);
    } catch (...) {
        return nullptr;  // no stack for it: end instead, and finish() reports it to the watchdog
    }
    parked_carrier me{self};
    slot.spare = &me;
    note_ended(s);
    unlink_all(s, self);
    ring_unlink(s, self);
    switch_plainly(s, self, target);  // may_park() found none of switch_needs_care
    return me.job;
}

// A carrier's body: its first job, then each job handed to it while it was the spare.
// A carrier never leaves its worker (only migratable tasklets move, and a job with
// options is never a carrier), so its scheduler and slot stay those of its first job.
void carry(std::unique_ptr<pool_job_base> first) {
    carrier_slot* const slot = worker_carriers(first->pool);
    scheduler& s = *tls_scheduler;
    tasklet_impl* const self = s.current;
    run_job(first.release());
    for (;;) {
        if (!may_park(s, self, slot)) return;
        pool_job_base* const next = park(s, self, *slot);
        if (next == nullptr) return;
        run_job(next);
    }
}

// The spare back in the ring, where a new tasklet would be appended, as a new tasklet:
// a new id, listed, counted alive and spawned (traced, if tracing began meanwhile), and
// resuming with the FP control (modes and, on x86, flags) that new_block() would give a
// new tasklet here: the running code's, read now.
void wake(scheduler& s, parked_carrier& c, pool_job_base* job) noexcept {
    tasklet_impl* const t = c.tasklet;
    c.job = job;
    arch::set_saved_fp_control(t->sp, arch::current_fp_control());
    t->id = s.next_id++;
    link_all(s, t);
    note_spawned(s, t);
    ring_append(s, t);
}

}  // namespace

void close_carriers(carrier_slot& slot) noexcept {
    slot.open = false;
    if (parked_carrier* c = std::exchange(slot.spare, nullptr)) wake(*tls_scheduler, *c, nullptr);
}

bool start_job(carrier_slot& slot, std::unique_ptr<pool_job_base> job) {
    if (job->options) {  // a name, a stack, migratable: a tasklet of its own, never a carrier
        const tasklet_options& options = *job->options;  // read before the lambda takes the job
        make_tasklet<false>(options, [j = std::move(job)]() mutable { run_job(j.release()); });
        return false;
    }
    if (parked_carrier* c = std::exchange(slot.spare, nullptr)) {
        scheduler& s = *tls_scheduler;
        if (fits_default_options(s, c->tasklet)) {
            wake(s, *c, job.release());
            return true;
        }
        wake(s, *c, nullptr);  // the default stack size or mode changed since it parked: it ends
    }
    make_tasklet<false>(no_options, [j = std::move(job)]() mutable { carry(std::move(j)); });
    return false;
}

}  // namespace tasklets::detail
