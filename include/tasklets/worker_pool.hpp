// tasklets/worker_pool.hpp — N threads, each running its own scheduler, sharing new work.
//
//     tasklets::worker_pool pool;            // one worker per CPU
//     for (int i = 0; i < 1000; ++i)
//         pool.spawn([i] { handle(i); });    // from any thread, workers included
//     pool.wait();                           // until all of them (and what they spawned) end
//
// Each worker is an OS thread with its own scheduler and reactor, so everything a tasklet
// can do on one thread — channels, select, timers, I/O, run() budgets — it does on its
// worker, with the same meaning (docs/semantics.md §9.4). Tasklets of different workers
// talk through shared_channel<T>.
//
// Placement. spawn() does not make a tasklet yet: it queues a job on one worker — the
// calling worker's own queue when called from a tasklet of this pool, else the next worker
// in turn. A worker starts its queued jobs newest first, one per round of its ring (so a
// tasklet that spawns children and waits for them runs them depth first, keeping few
// alive). A worker with nothing to run steals the oldest job of another worker's queue.
//
// A job becomes a tasklet on the worker that starts it, and stays there by default:
// a started tasklet that moved between threads would break code that keeps a
// thread_local's address across a switch (compilers do; llvm/llvm-project issue 98479).
// A job spawned with tasklet_options::migratable = true opts in: when it calls
// schedule() on a worker that has at least two more runnable tasklets than another (a
// sleeping worker has none), it moves to the least busy one (looked at once every
// poll_interval() safe points of its worker), and it may move itself with move_to(). docs/multicore.md, "Migration", says what its
// code must not do.
//
// Carriers. A job runs in a tasklet of its own to everything a program can see: a new
// id, no name, the worker's FP control, the default stack. When a job spawned without
// options ends and nothing refers to its tasklet (no handle kept from
// tasklet::current(), no name, no pending exception, no trace, statistics or budget
// watching), the worker keeps that tasklet and its stack and runs its next such job in
// it, as a new tasklet: a new id, the FP control a new tasklet would inherit, the place
// in the ring a new tasklet would take. A pool job then costs no tasklet made and ended
// (about 250 instructions; docs/multicore.md, "Carriers"). A worker keeps one such
// tasklet at most; statistics() counts the jobs so run as `carried`, and the worker's
// stacks_in_use counts the stack it keeps. When the worker's own loop would be the next
// to run and would only start its newest job in that tasklet, the tasklet starts the job
// itself, with the same result and no switch through the loop (`carried_directly`; about
// 95 instructions a job more saved).
//
// Idle workers sleep in their reactor (epoll_wait, io_uring_enter or a Windows wait) and
// use no CPU; a spawn wakes a sleeping worker with one eventfd write.
//
// wait() blocks the calling thread (not a tasklet of the pool) until every job spawned so
// far has been started and has ended, its function and arguments destroyed, then
// rethrows the first exception that escaped a pool tasklet (tasklet_exit, a kill, is not
// an error). shutdown() — also run by the destructor — stops the workers: jobs not
// started yet are destroyed without running, and the tasklets still alive on each worker
// are killed there, so their destructors run, as at any thread's exit.
#pragma once

#include <tasklets/errors.hpp>
#include <tasklets/thread_ref.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tasklets {

namespace detail {

struct pool_core;

/// An exception other than tasklet_exit escaped a pool tasklet.
void pool_job_failed(pool_core* p, std::exception_ptr e) noexcept;

/// A job queued by worker_pool::spawn(): the function and its arguments, and the options
/// if any were given. A worker runs it in a tasklet (threads/job_carrier.cpp): a new one,
/// or, for a job without options, the tasklet of an earlier job that ended with nothing
/// referring to it (a carrier; docs/multicore.md, "Carriers").
struct pool_job_base {
    explicit pool_job_base(pool_core* p, const tasklet_options* o) : pool(p) {
        if (o) options.emplace(*o);
    }
    virtual ~pool_job_base() = default;
    pool_job_base(const pool_job_base&) = delete;
    pool_job_base& operator=(const pool_job_base&) = delete;
    /// Calls the function with the arguments, moved, in the calling tasklet. An exception
    /// other than tasklet_exit (a kill, which it lets through) becomes the pool's error.
    virtual void call() = 0;
    /// From the same per-thread cache as remote_job's blocks (threads/job_memory.hpp).
    static void* operator new(std::size_t size);
    static void operator delete(void* p, std::size_t size) noexcept;

    pool_core* pool;
    // Empty for spawn() without options: most jobs, which then copy and free no options
    // (with their std::string) each.
    std::optional<tasklet_options> options;
};

template <class F, class... Args>
struct pool_job final : pool_job_base {
    template <class G, class... A>
    pool_job(pool_core* p, const tasklet_options* o, G&& g, A&&... a)
        : pool_job_base(p, o), bound(std::forward<G>(g), std::forward<A>(a)...) {}
    void call() override {
        try {
            std::apply([](auto& f, auto&... a) { std::invoke(std::move(f), std::move(a)...); }, bound);
        } catch (const tasklet_exit&) {
            throw;
        } catch (...) {
            pool_job_failed(pool, std::current_exception());
        }
    }
    std::tuple<F, Args...> bound;
};

}  // namespace detail

class worker_pool {
public:
    /// Starts `workers` threads; 0 means one per CPU (std::thread::hardware_concurrency(),
    /// at least 1). Throws std::system_error if a thread cannot be started (those already
    /// started are stopped first).
    explicit worker_pool(std::size_t workers = 0);
    /// shutdown().
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    /// Queues `f(args...)` to run as a tasklet on one of the workers (see the header
    /// comment). The function and arguments are decay-copied now. Throws state_error
    /// after shutdown().
    template <class F, class... Args>
        requires std::is_invocable_v<std::decay_t<F>&&, std::decay_t<Args>&&...>
    void spawn(F&& f, Args&&... args) {
        using job = detail::pool_job<std::decay_t<F>, std::decay_t<Args>...>;
        submit(std::make_unique<job>(core_.get(), nullptr, std::forward<F>(f), std::forward<Args>(args)...));
    }
    template <class F, class... Args>
    void spawn(const tasklet_options& options, F&& f, Args&&... args) {
        using job = detail::pool_job<std::decay_t<F>, std::decay_t<Args>...>;
        submit(std::make_unique<job>(core_.get(), &options, std::forward<F>(f), std::forward<Args>(args)...));
    }

    /// Blocks the calling thread until every job spawned so far has ended and its function
    /// and arguments are destroyed, then rethrows the first exception that escaped one of
    /// them, if any (once). Throws thread_error if called on one of this pool's workers: it
    /// would wait for itself.
    void wait();

    /// Stops the pool: unstarted jobs are destroyed, live tasklets are killed on their
    /// workers, the threads are joined. Later spawns throw state_error. Idempotent. An
    /// exception no wait() has rethrown is reported on stderr.
    void shutdown() noexcept;

    /// The number of workers.
    std::size_t size() const noexcept;
    /// Worker i's thread, to spawn onto it directly (a started tasklet, not a stealable job).
    thread_ref worker(std::size_t i) const;
    /// The calling thread's index in this pool, or npos if it is not one of its workers.
    std::size_t current_worker() const noexcept;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// Figures since the pool started (a moment old).
    struct counts {
        std::uint64_t spawned = 0;  ///< jobs queued by spawn()
        std::uint64_t started = 0;  ///< jobs made into tasklets
        std::uint64_t stolen = 0;   ///< of those, taken from another worker's queue
        std::uint64_t carried = 0;  ///< of those, run in an earlier job's tasklet (a carrier)
        /// of the carried, started by that tasklet itself when its job ended, in the place of
        /// its worker's loop (whose turn was next): no switch through the loop
        std::uint64_t carried_directly = 0;
        std::uint64_t wakeups = 0;  ///< sleeping workers woken by spawn()
        std::uint64_t moved = 0;    ///< migratable tasklets moved to a less busy worker
    };
    counts statistics() const noexcept;

private:
    void submit(std::unique_ptr<detail::pool_job_base> job);
    std::unique_ptr<detail::pool_core> core_;
};

}  // namespace tasklets
