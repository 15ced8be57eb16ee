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
// `first`: a tasklet to switch to before the job runs (serve()'s turn, below); a kill
// that meets the carrier there destroys and counts the job unrun, as a queued job that
// its worker drops.
void run_job(pool_job_base* job, scheduler* s = nullptr, tasklet_impl* first = nullptr) {
    struct finish {
        pool_job_base* job;
        ~finish() {
            pool_core* const p = job->pool;
            delete job;
            pool_job_done(p);
        }
    } on_exit{job};
    if (first) switch_plainly(*s, s->current, first);
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

// A carrier between two jobs, to the thread's books: the tasklet of the job that ended
// ends (not counted alive, out of the list of tasklets), and the next job's is a new one
// (a new id, listed, counted alive and spawned: traced, if tracing began meanwhile).
void books_end(scheduler& s, tasklet_impl* t) noexcept {
    note_ended(s);
    unlink_all(s, t);
}
void books_begin_anew(scheduler& s, tasklet_impl* t) noexcept {
    t->id = s.next_id++;
    link_all(s, t);
    note_spawned(s, t);
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
    books_end(s, self);
    ring_unlink(s, self);
    switch_plainly(s, self, target);  // may_park() found none of switch_needs_care
    return me.job;
}

// serve()'s turn, taken by the carrier whose job has just ended (threads/job_carrier.hpp,
// "Taking serve()'s turn"): the job serve() would hand to it, its identity renewed as the
// hand-over renews it, and in `next` the tasklet that serve()'s schedule() would switch
// to (null: this one). Null if serve() must take its turn itself; nothing changed then.
// may_park() has been checked: nothing watches switches, and this tasklet is a carrier.
pool_job_base* take_serves_turn(scheduler& s, tasklet_impl* self, const carrier_slot& slot, tasklet_impl*& next) {
    // serve()'s tasklet next, and its schedule() on the plain path: no safe point's work
    // due (tick_countdown, as schedule() counts it) and the tasklet after it started.
    if (self->next != &s.main || tick_countdown <= 0) return nullptr;
    tasklet_impl* const after = s.main.next;
    if (after != self && !after->started) return nullptr;
    // The spare would take the job (its stack fits) and start it with serve()'s FP control.
    if (!fits_default_options(s, self) || arch::current_fp_control() != slot.serve_fp) return nullptr;
    pool_job_base* const job = take_serves_job();
    if (job == nullptr) return nullptr;
    --tick_countdown;  // serve()'s schedule() counts its safe point
    // What park() and wake() do to the books. In the ring it stays put: just before
    // serve()'s tasklet, where wake() would append it.
    books_end(s, self);
    books_begin_anew(s, self);
    next = after == self ? nullptr : after;
    return job;
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
        tasklet_impl* after = nullptr;
        if (pool_job_base* const job = take_serves_turn(s, self, *slot, after)) {
            run_job(job, &s, after);
            continue;
        }
        pool_job_base* const next = park(s, self, *slot);
        if (next == nullptr) return;
        run_job(next);
    }
}

// The spare back in the ring, where a new tasklet would be appended, as a new tasklet
// (books_begin_anew), resuming with the FP control (modes and, on x86, flags) that
// new_block() would give a new tasklet here: `fp`, the running code's, read by the caller.
void wake(scheduler& s, parked_carrier& c, pool_job_base* job, arch::fp_control fp) noexcept {
    tasklet_impl* const t = c.tasklet;
    c.job = job;
    arch::set_saved_fp_control(t->sp, fp);
    books_begin_anew(s, t);
    ring_append(s, t);
}

}  // namespace

void close_carriers(carrier_slot& slot) noexcept {
    slot.open = false;
    if (parked_carrier* c = std::exchange(slot.spare, nullptr)) wake(*tls_scheduler, *c, nullptr, arch::current_fp_control());
}

bool start_job(carrier_slot& slot, std::unique_ptr<pool_job_base> job) {
    if (job->options) {  // a name, a stack, migratable: a tasklet of its own, never a carrier
        const tasklet_options& options = *job->options;  // read before the lambda takes the job
        make_tasklet<false>(options, [j = std::move(job)]() mutable { run_job(j.release()); });
        return false;
    }
    if (parked_carrier* c = std::exchange(slot.spare, nullptr)) {
        scheduler& s = *tls_scheduler;
        const arch::fp_control fp = arch::current_fp_control();
        slot.serve_fp = fp;
        if (fits_default_options(s, c->tasklet)) {
            wake(s, *c, job.release(), fp);
            return true;
        }
        wake(s, *c, nullptr, fp);  // the default stack size or mode changed since it parked: it ends
    }
    make_tasklet<false>(no_options, [j = std::move(job)]() mutable { carry(std::move(j)); });
    return false;
}

}  // namespace tasklets::detail
