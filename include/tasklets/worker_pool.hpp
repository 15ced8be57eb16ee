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
// A job becomes a tasklet on the worker that starts it, and stays there by default:
// a started tasklet that moved between threads would break code that keeps a
// thread_local's address across a switch (compilers do; llvm/llvm-project issue 98479).
// A job spawned with tasklet_options::migratable = true opts in: when it calls
// schedule() on a worker that has at least two more runnable tasklets than another (a
// sleeping worker has none), it moves to the least busy one (looked at once every
// poll_interval() safe points of its worker), and it may move itself with move_to(). docs/multicore.md, "Migration", says what its
// code must not do.
//
// Idle workers sleep in their reactor (epoll_wait, io_uring_enter or a Windows wait) and
// use no CPU; a spawn wakes a sleeping worker with one eventfd write.
//
// wait() blocks the calling thread (not a tasklet of the pool) until every job spawned so
// far has been started and its tasklet has ended, then rethrows the first exception that
// escaped a pool tasklet (tasklet_exit, a kill, is not an error). shutdown() — also run by
// the destructor — stops the workers: jobs not started yet are destroyed without running,
// and the tasklets still alive on each worker are killed there, so their destructors run,
// as at any thread's exit.
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

/// A job's tasklet has ended (normally, by an exception, or killed): the pool's count.
void pool_job_done(pool_core* p) noexcept;
/// An exception other than tasklet_exit escaped a pool tasklet.
void pool_job_failed(pool_core* p, std::exception_ptr e) noexcept;

/// The options of a job spawned without any.
inline const tasklet_options default_job_options{};

template <class F, class... Args>
struct pool_job final : remote_job {
    template <class G, class... A>
    pool_job(pool_core* p, const tasklet_options* o, G&& g, A&&... a)
        : pool(p), call(std::forward<G>(g), std::forward<A>(a)...) {
        if (o) options.emplace(*o);
    }
    void run() override {
        // No handle: the tasklet is the pool's until it ends.
        make_tasklet<false>(options ? *options : default_job_options, [p = pool, call = std::move(call)]() mutable {
            struct done_guard {
                pool_core* p;
                ~done_guard() { pool_job_done(p); }
            } guard{p};
            try {
                std::apply([](auto& f, auto&... a) { std::invoke(std::move(f), std::move(a)...); }, call);
            } catch (const tasklet_exit&) {
                throw;
            } catch (...) {
                pool_job_failed(p, std::current_exception());
            }
        });
    }
    pool_core* pool;
    // Empty for spawn() without options: most jobs, which then copy and free no options
    // (with their std::string) each.
    std::optional<tasklet_options> options;
    std::tuple<F, Args...> call;
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

    /// Blocks the calling thread until every job spawned so far has ended, then rethrows
    /// the first exception that escaped one of them, if any (once). Throws thread_error if
    /// called on one of this pool's workers: it would wait for itself.
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
        std::uint64_t wakeups = 0;  ///< sleeping workers woken by spawn()
        std::uint64_t moved = 0;    ///< migratable tasklets moved to a less busy worker
    };
    counts statistics() const noexcept;

private:
    void submit(std::unique_ptr<detail::remote_job> job);
    std::unique_ptr<detail::pool_core> core_;
};

}  // namespace tasklets
