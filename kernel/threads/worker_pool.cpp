// The worker pool (include/tasklets/worker_pool.hpp).
//
// Each worker is a thread whose main tasklet runs serve(): it starts queued jobs, lets
// the ring run a round between them, and sleeps in its reactor when there is nothing to
// do. What is shared between workers is the job queues (a spin_lock each, plus a relaxed
// size hint so that an empty queue costs no lock) and the pool's counters:
//
//   spawn ─▶ target's queue (own worker, else round robin) ─▶ wake a sleeper, if any
//   worker: own queue, newest first ─▶ else steal the oldest of another's ─▶ else sleep
//
// Lost wake-ups: a worker announces `sleeping` (seq_cst) before it looks at the queues a
// last time; a spawner pushes (under the queue's lock) before it reads `sleeping`
// (seq_cst). Either the worker's last look finds the job or the spawner sees it asleep and
// posts its nudge; a nudge posted before the worker parks is found by its first poll. (If
// the worker's look locks the queue first, its store to `sleeping` happens before the
// spawner's load: the lock's release and acquire order the two critical sections.)
#include "arch_context.hpp"
#include "core/scheduler.hpp"
#include "io/reactor.hpp"
#include "threads/inbox.hpp"
#include "threads/job_carrier.hpp"
#include "threads/job_queue.hpp"
#include "threads/migration.hpp"
#include "threads/spin_lock.hpp"

#include <tasklets/errors.hpp>
#include <tasklets/tasklet.hpp>
#include <tasklets/worker_pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <typeinfo>
#include <vector>

namespace tasklets::detail {

struct pool_worker;

struct nudge_mail : mail {
    pool_worker* worker = nullptr;
};

// Each worker on cache lines of its own: its queue's mutex and hint are touched by
// thieves, its counters only by itself. The groups are 128 bytes apart, not 64: this
// processor (AMD EPYC here) fetches lines in adjacent pairs, and with `sleeping` in the
// line after the queue's, every spawn's read of another worker's `sleeping` missed while
// that worker pushed and popped (perf: half of submit()'s samples on that load). Alternating
// runs, medians of 9: skynet on 2 workers 71.4 -> 65.3 ns a task, on 8 workers 75.3 -> 69.6.
struct alignas(128) pool_worker {
    std::size_t index = 0;
    spin_lock mutex;
    job_queue jobs;  // guarded by mutex; newest at the back
    // A hint of jobs.size(), so that idle looks at empty queues take no lock. Relaxed: a
    // stale zero only delays a steal to the next look, and the sleeping protocol (file
    // comment) does not rely on it: the last look before sleeping takes the mutex.
    std::atomic<std::size_t> queued{0};
    // Read by every spawner: on a line of its own, away from the queue's churn.
    alignas(128) std::atomic<bool> sleeping{false};
    // Its ring's runnable tasklets besides serve()'s loop, published when it changes, for
    // the offers of migratable tasklets (offer_to_lighter_worker). Relaxed: a hint; a
    // stale one moves a tasklet too many or too few, never loses one. On a line of its
    // own: stored once a round next to `sleeping`, it cost every spawn's read of
    // `sleeping` a miss (skynet on 2 workers: 92 -> 115 ns a task).
    alignas(128) std::atomic<int> runnable{0};
    alignas(128) std::shared_ptr<thread_inbox> inbox;           // set before the pool's constructor returns
    nudge_mail nudge;
    io_wait* idle = nullptr;                       // worker thread only: its idle wait, while parked
    std::thread thread;
    // Written by this worker only (so a store, never a contended read-modify-write).
    // spawned and finished count jobs for quiescence (see quiescent()): release stores,
    // read with acquire. (They were seq_cst: an xchg each on x86, two a job.)
    // started, stolen, carried and carried_directly are figures: relaxed.
    alignas(128) std::atomic<std::uint64_t> spawned{0};  // jobs queued by this worker's tasklets
    std::atomic<std::uint64_t> finished{0};             // jobs ended on this worker (or dropped by it)
    std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint64_t> stolen{0};
    std::atomic<std::uint64_t> carried{0};
    std::atomic<std::uint64_t> carried_directly{0};
    std::uint64_t finished_seen = 0;                    // worker only: finished at its last quiescence check
    carrier_slot carriers;                              // worker only (threads/job_carrier.hpp)
};

inline void bump(std::atomic<std::uint64_t>& counter, std::memory_order order = std::memory_order_relaxed) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, order);
}

struct pool_core {
    std::vector<std::unique_ptr<pool_worker>> workers;
    std::atomic<bool> stopping{false};
    std::mutex done_mutex;
    // Threads in wait(). Relaxed both ways: it only lets a busy worker skip its periodic
    // look at quiescence (serve()) while nobody waits; a look that misses a new waiter
    // is repeated 64 rounds later, and a worker that runs out of work looks anyway.
    std::atomic<std::uint32_t> waiting{0};
    std::condition_variable done;
    std::exception_ptr first_error;                // guarded by done_mutex
    // Spawns from threads that are not workers (a read-modify-write, so any order will
    // do; seq_cst, as it is rare), and
    // the round-robin cursor they use (relaxed: any spread will do).
    std::atomic<std::uint64_t> spawned_outside{0};
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> wakeups{0};         // relaxed: a figure
    // Jobs whose (migratable) tasklet ended on a thread outside the pool: counted with
    // the workers' `finished` (an RMW, as spawned_outside).
    std::atomic<std::uint64_t> finished_outside{0};
    std::atomic<std::uint64_t> moved{0};           // relaxed: a figure
};

// Has every job spawned so far ended? The counters are per worker, so no job costs a
// read-modify-write on a shared line; the price is this sum. It reads every `finished`
// first, then every `spawned`, all with acquire: each job counted as finished was spawned
// before it finished (its spawn's release store happens before it is queued, started and
// ended, and its end's release store is what the acquire load read), so its spawn is
// counted too; and a job spawned later than the sums were read can only have been
// spawned by a job still running (not counted as finished) or by a thread racing with
// wait(). Equal sums therefore mean no job is left. No total order over the counters is
// needed, so no seq_cst.
bool quiescent(const pool_core& p) noexcept {
    std::uint64_t finished = p.finished_outside.load(std::memory_order_acquire);
    for (const auto& w : p.workers) finished += w->finished.load(std::memory_order_acquire);
    std::uint64_t spawned = p.spawned_outside.load(std::memory_order_acquire);
    for (const auto& w : p.workers) spawned += w->spawned.load(std::memory_order_acquire);
    return spawned == finished;
}

// A worker saw jobs end since it last looked: if none is left, wake wait().
void check_quiescent(pool_core& p, pool_worker& w) noexcept {
    const std::uint64_t f = w.finished.load(std::memory_order_relaxed);
    if (f == w.finished_seen) return;
    w.finished_seen = f;
    if (!quiescent(p)) return;
    std::lock_guard lock(p.done_mutex);
    p.done.notify_all();
}

namespace {

// The worker the calling thread is, and its pool.
thread_local pool_worker* this_worker = nullptr;
thread_local pool_core* this_pool = nullptr;

void deliver_nudge(mail* m, scheduler&) noexcept {
    pool_worker* w = static_cast<nudge_mail*>(m)->worker;
    if (io_wait* idle = w->idle) static_cast<reactor*>(idle->owner)->finish_wait(idle, 0);
}

void cancel_idle(event_wait*) noexcept {}  // wait_for_mail's own exit detaches it

void wake(pool_core& p, pool_worker& w) noexcept {
    p.wakeups.fetch_add(1, std::memory_order_relaxed);
    (void)w.inbox->post(&w.nudge);  // fails only once the worker has ended: nothing to wake
}

// `plain_only` (with `newest`): only if that job has no options (for a carrier,
// take_serves_job()). Inlined into both callers, each with constant flags: a call here
// cost skynet on one worker 30 instructions a task (callgrind).
[[gnu::always_inline]] inline std::unique_ptr<pool_job_base> pop(pool_worker& w, bool newest, bool plain_only = false) {
    if (w.queued.load(std::memory_order_relaxed) == 0) return nullptr;
    std::lock_guard lock(w.mutex);
    if (w.jobs.empty() || (plain_only && w.jobs.back().options)) return nullptr;
    std::unique_ptr<pool_job_base> job = newest ? w.jobs.pop_back() : w.jobs.pop_front();
    w.queued.store(w.jobs.size(), std::memory_order_relaxed);
    return job;
}

std::unique_ptr<pool_job_base> find_job(pool_core& p, pool_worker& self) {
    if (auto job = pop(self, true)) return job;
    const std::size_t n = p.workers.size();
    for (std::size_t i = 1; i < n; ++i) {
        pool_worker& victim = *p.workers[(self.index + i) % n];
        if (auto job = pop(victim, false)) {
            bump(self.stolen);
            return job;
        }
    }
    return nullptr;
}

bool any_job(pool_core& p) {
    for (auto& w : p.workers) {
        std::lock_guard lock(w->mutex);
        if (!w->jobs.empty()) return true;
    }
    return false;
}

// Starts the job in a tasklet (threads/job_carrier.cpp). Making one allocates (a control
// block, a stack); if that fails the job never runs, so it counts as done and its failure
// as the pool's error.
void start(pool_core& p, pool_worker& w, std::unique_ptr<pool_job_base> job) noexcept {
    bump(w.started);
    try {
        if (start_job(w.carriers, std::move(job))) bump(w.carried);
    } catch (...) {
        pool_job_failed(&p, std::current_exception());
        bump(w.finished, std::memory_order_release);
    }
}

void drop_jobs(pool_core& p, pool_worker& w) noexcept {
    job_queue left;
    {
        std::lock_guard lock(w.mutex);
        left.swap(w.jobs);
        w.queued.store(0, std::memory_order_relaxed);
    }
    while (!left.empty()) {
        left.pop_front().reset();
        bump(w.finished, std::memory_order_release);
    }
    check_quiescent(p, w);
}

// Only a change is stored, so that an unchanging count keeps its line shared.
void publish_runnable(pool_worker& w, int n) noexcept {
    if (w.runnable.load(std::memory_order_relaxed) != n) w.runnable.store(n, std::memory_order_relaxed);
}

void serve(pool_core& p, pool_worker& w) {
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    w.carriers.open = true;  // jobs' tasklets may park as the spare, or take its turn, from now on
    w.carriers.serve_fp = arch::current_fp_control();
    // acquire: pairs with shutdown()'s release, though the flag orders nothing else.
    std::uint32_t rounds = 0;
    while (!p.stopping.load(std::memory_order_acquire)) {
        // The sums read every worker's lines: look when idle (below), and every 64th
        // round for a worker kept busy by tasklets that are not jobs (thread_ref spawns).
        // Only while someone waits: the sums read the other workers' counters, which
        // they write at every job (skynet on 2 workers: 1.5 % of the time in quiescent()).
        if ((++rounds & 63) == 0 && p.waiting.load(std::memory_order_relaxed) != 0) check_quiescent(p, w);
        if (auto job = find_job(p, w)) {
            start(p, w, std::move(job));
            schedule();  // the new tasklet and the rest of the ring run a round
            continue;
        }
        if (s.runcount > 1) {  // others are runnable
            publish_runnable(w, s.runcount - 1);
            schedule();
            continue;
        }
        publish_runnable(w, 0);
        check_quiescent(p, w);
        // seq_cst store and the queues' mutexes: see the file comment.
        w.sleeping.store(true, std::memory_order_seq_cst);
        if (any_job(p) || p.stopping.load(std::memory_order_seq_cst)) {
            // Relaxed, as each clearing below: a spawner that still reads `true` sends a
            // nudge this worker drops (it finds no idle wait); the job is queued all the same.
            w.sleeping.store(false, std::memory_order_relaxed);
            continue;
        }
        io_wait idle;
        idle.cancel = &cancel_idle;
        w.idle = &idle;
        try {
            // Not urgent: with connections open, the descriptors are what wakes it.
            (void)r.wait_for_mail(idle, no_deadline, "Deadlock: a pool worker waits for work and was revived without it.",
                                  false);
        } catch (...) {
            w.idle = nullptr;
            w.sleeping.store(false, std::memory_order_relaxed);
            throw;
        }
        w.idle = nullptr;
        w.sleeping.store(false, std::memory_order_relaxed);
    }
}

// The constructor waits for every worker's inbox. A mutex and a condition variable, not
// std::latch: libstdc++ 12 builds std::latch on atomic waits, whose fallback where there
// is no futex (MinGW-w64) lost the wake-up here (the constructor hung, 1 run in 4 under
// Wine).
struct start_gate {
    std::mutex mutex;
    std::condition_variable all_in;
    std::size_t waiting;
    explicit start_gate(std::size_t n) : waiting(n) {}
    void count_down() {
        std::lock_guard lock(mutex);
        if (--waiting == 0) all_in.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex);
        all_in.wait(lock, [this] { return waiting == 0; });
    }
};

// schedule()'s periodic offer (scheduler::rebalance): the running tasklet is migratable.
// It moves to the worker with the fewest runnable tasklets (a sleeping one has none) if
// that worker has at least two fewer than this one: afterwards neither has more than the
// other had, so tasklets do not bounce between equally busy workers. Started work then
// spreads as unstarted jobs do by stealing. `sleeping` is read seq_cst, as submit() does;
// the counts are hints (see pool_worker::runnable).
bool offer_to_lighter_worker(scheduler& s) {
    pool_core& p = *this_pool;
    pool_worker& self = *this_worker;
    const int mine = s.runcount - (s.main.in_ring ? 1 : 0);  // serve()'s loop is not work
    if (mine < 2 || p.stopping.load(std::memory_order_relaxed)) return false;
    pool_worker* lightest = nullptr;
    int fewest = mine - 1;  // a worker must have fewer than this to be worth the move
    const std::size_t n = p.workers.size();
    for (std::size_t i = 1; i < n; ++i) {
        pool_worker& other = *p.workers[(self.index + i) % n];
        const int theirs = other.sleeping.load(std::memory_order_seq_cst) ? 0 : other.runnable.load(std::memory_order_relaxed);
        if (theirs < fewest) {
            fewest = theirs;
            lightest = &other;
        }
    }
    if (!lightest) return false;
    tasklet_impl* target = nullptr;
    migrant_mail* m;
    try {
        m = plan_move(s, lightest->inbox, false, target);
    } catch (...) {
        return false;  // not movable now (held by a handle, atomic…), or the worker ended: stay
    }
    // The lightest worker counts it at once, so that the next offers, here and on other
    // workers, do not all pick the same worker before it publishes its own count.
    lightest->runnable.fetch_add(1, std::memory_order_relaxed);
    p.moved.fetch_add(1, std::memory_order_relaxed);
    depart(s, m, target);  // what it meets on arrival (a kill) is raised by schedule()
    return true;
}

void worker_main(pool_core* p, pool_worker* w, start_gate* ready, std::exception_ptr* failed) {
    this_worker = w;
    this_pool = p;
    try {
        sched().rebalance = &offer_to_lighter_worker;
        w->inbox = get_reactor(sched()).inbox();
    } catch (...) {
        *failed = std::current_exception();
        ready->count_down();
        return;
    }
    ready->count_down();
    try {
        serve(*p, *w);
    } catch (const tasklet_exit&) {
    } catch (...) {
        pool_job_failed(p, std::current_exception());
    }
    // However serve() ended (shutdown, or an exception): the spare carrier ends with the
    // thread's other tasklets, and the jobs not started are dropped.
    close_carriers(w->carriers);
    drop_jobs(*p, *w);
    // Returning ends the thread: its scheduler's teardown kills the tasklets left.
}

}  // namespace

void pool_job_done(pool_core* p) noexcept {
    // On the thread where the job's tasklet ended: the worker that started it, or, for a
    // migratable tasklet, wherever it moved. A worker of the pool counts it itself, and
    // its serve() loop looks for quiescence the next time it gets control.
    if (this_pool != p) {
        p->finished_outside.fetch_add(1, std::memory_order_seq_cst);
        if (quiescent(*p)) {
            std::lock_guard lock(p->done_mutex);
            p->done.notify_all();
        }
        return;
    }
    pool_worker& w = *this_worker;
    bump(w.finished, std::memory_order_release);
    // Its serve() loop may be parked idle while this tasklet ran (woken by I/O or a
    // channel): let it look.
    worker_gained_work();
}

carrier_slot* worker_carriers(const pool_core* p) noexcept {
    return this_pool == p ? &this_worker->carriers : nullptr;
}

// Out of line, so that worker_gained_work(), which every job's end calls, saves no
// registers when the loop is not idle.
[[gnu::noinline]] static void wake_idle_loop(io_wait* idle) noexcept {
    static_cast<reactor*>(idle->owner)->finish_wait(idle, 0);
}

void worker_gained_work() noexcept {
    if (!this_worker) return;
    if (io_wait* idle = this_worker->idle) wake_idle_loop(idle);
}

pool_job_base* take_serves_job() noexcept {
    pool_worker& w = *this_worker;
    // serve() parked in its idle wait and woken since (worker_gained_work()) resumes there,
    // to clear `idle` and `sleeping` first: it takes its turn itself.
    if (w.idle != nullptr) return nullptr;
    // acquire, as serve()'s own test: it would stop instead.
    if (this_pool->stopping.load(std::memory_order_acquire)) return nullptr;
    // A job with options gets a tasklet of its own from serve(). (pop() looks at `queued`
    // before it takes the lock: an empty queue costs no locked instruction.)
    std::unique_ptr<pool_job_base> job = pop(w, true, true);
    if (!job) return nullptr;
    bump(w.started);  // as start() counts it
    bump(w.carried);
    bump(w.carried_directly);
    return job.release();
}

void pool_job_failed(pool_core* p, std::exception_ptr e) noexcept {
    std::lock_guard lock(p->done_mutex);
    if (!p->first_error) p->first_error = std::move(e);
}

}  // namespace tasklets::detail

namespace tasklets {

using detail::pool_core;
using detail::pool_worker;

worker_pool::worker_pool(std::size_t workers) : core_(std::make_unique<pool_core>()) {
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    pool_core& p = *core_;
    for (std::size_t i = 0; i < workers; ++i) {
        auto w = std::make_unique<pool_worker>();
        w->index = i;
        w->nudge.deliver = &detail::deliver_nudge;
        w->nudge.worker = w.get();
        p.workers.push_back(std::move(w));
    }
    detail::start_gate ready(workers);
    std::vector<std::exception_ptr> failed(workers);
    std::size_t launched = 0;
    try {
        for (; launched < workers; ++launched)
            p.workers[launched]->thread = std::thread(&detail::worker_main, &p, p.workers[launched].get(), &ready, &failed[launched]);
    } catch (...) {
        for (std::size_t i = launched; i < workers; ++i) ready.count_down();
        ready.wait();
        shutdown();
        throw;
    }
    ready.wait();
    for (auto& e : failed)
        if (e) {
            shutdown();
            std::rethrow_exception(e);
        }
}

worker_pool::~worker_pool() { shutdown(); }

std::size_t worker_pool::size() const noexcept { return core_->workers.size(); }

thread_ref worker_pool::worker(std::size_t i) const {
    if (i >= core_->workers.size())
        throw std::out_of_range("tasklets: worker_pool::worker(" + std::to_string(i) + "): the pool has " +
                                std::to_string(core_->workers.size()) + " workers");
    return thread_ref(core_->workers[i]->inbox);
}

std::size_t worker_pool::current_worker() const noexcept {
    return detail::this_pool == core_.get() ? detail::this_worker->index : npos;
}

void worker_pool::submit(std::unique_ptr<detail::pool_job_base> job) {
    pool_core& p = *core_;
    if (p.stopping.load(std::memory_order_acquire))
        throw state_error("tasklets: spawn on a worker_pool that has been shut down");
    pool_worker& target = detail::this_pool == &p
                              ? *detail::this_worker
                              : *p.workers[p.next.fetch_add(1, std::memory_order_relaxed) % p.workers.size()];
    {
        std::lock_guard lock(target.mutex);
        target.jobs.push_back(job);
        target.queued.store(target.jobs.size(), std::memory_order_relaxed);
        // Counted before a thief can take it (under the mutex), so before it can end.
        if (detail::this_pool == &p) detail::bump(target.spawned, std::memory_order_release);
        else p.spawned_outside.fetch_add(1, std::memory_order_seq_cst);
    }
    // seq_cst loads: see the file comment. The target first; else any sleeper, to steal.
    if (target.sleeping.load(std::memory_order_seq_cst)) return detail::wake(p, target);
    for (auto& w : p.workers)
        if (w.get() != &target && w->sleeping.load(std::memory_order_seq_cst)) return detail::wake(p, *w);
}

void worker_pool::wait() {
    pool_core& p = *core_;
    if (detail::this_pool == &p)
        throw thread_error("tasklets: worker_pool::wait() on one of the pool's own workers would wait for itself; "
                           "wait from another thread, or use a shared_channel to hear from the jobs");
    std::unique_lock lock(p.done_mutex);
    p.waiting.fetch_add(1, std::memory_order_relaxed);
    p.done.wait(lock, [&] { return detail::quiescent(p); });
    p.waiting.fetch_sub(1, std::memory_order_relaxed);
    if (p.first_error) std::rethrow_exception(std::exchange(p.first_error, nullptr));
}

void worker_pool::shutdown() noexcept {
    pool_core& p = *core_;
    // seq_cst: a worker about to sleep reads it after its own seq_cst `sleeping` store
    // (serve()), so either it sees the stop or we see it asleep; the nudges below go to
    // every worker anyway. Pairs with the acquire loads of serve() and submit().
    p.stopping.store(true, std::memory_order_seq_cst);
    for (auto& w : p.workers)
        if (w->inbox) detail::wake(p, *w);
    for (auto& w : p.workers)
        if (w->thread.joinable()) w->thread.join();
    std::lock_guard lock(p.done_mutex);
    if (p.first_error) {
        try {
            std::rethrow_exception(std::exchange(p.first_error, nullptr));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tasklets: worker_pool shut down with an exception nobody waited for: %s: %s\n",
                         typeid(e).name(), e.what());
        } catch (...) {
            std::fputs("tasklets: worker_pool shut down with an exception nobody waited for\n", stderr);
        }
    }
}

worker_pool::counts worker_pool::statistics() const noexcept {
    const pool_core& p = *core_;
    counts c;
    c.spawned = p.spawned_outside.load(std::memory_order_relaxed);
    c.wakeups = p.wakeups.load(std::memory_order_relaxed);
    for (const auto& w : p.workers) {
        c.spawned += w->spawned.load(std::memory_order_relaxed);
        c.started += w->started.load(std::memory_order_relaxed);
        c.stolen += w->stolen.load(std::memory_order_relaxed);
        c.carried += w->carried.load(std::memory_order_relaxed);
        c.carried_directly += w->carried_directly.load(std::memory_order_relaxed);
    }
    c.moved = p.moved.load(std::memory_order_relaxed);
    return c;
}

}  // namespace tasklets
