// tasklets/thread_ref.hpp — a handle to another thread's scheduler: start tasklets there.
//
// Each OS thread runs its own scheduler (docs/semantics.md §9). A thread_ref names one of
// them and may be copied to, kept on and used from any thread:
//
//     tasklets::thread_ref home = tasklets::thread_ref::current();   // on thread A
//     std::thread([home] {
//         home.spawn([] { std::puts("runs on thread A"); });           // from thread B
//     }).detach();
//
// spawn() hands the function to the thread's inbox and returns at once; the thread's
// scheduler starts the tasklet the next time it polls for events: at a safe point of a
// running tasklet (every poll_interval() of them), while it sleeps in run() or in a
// blocking wait, or at once if it is a worker_pool's worker. A thread that is not running
// tasklets (it is in a system call of its own, or computing outside any tasklet) starts
// it when it next does. The new tasklet is appended to that thread's ring, runs there,
// and has no handle: to hear from it, give it a shared_channel.
#pragma once

#include <tasklets/tasklet.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tasklets {

class worker_pool;
class remote_tasklet;

namespace detail {

struct thread_inbox;

/// Work sent to another thread: run() is called there, inside its scheduler (it may
/// create tasklets, not switch). Destroyed on that thread after run(), or, if the thread
/// ended first, by whichever thread learns of it.
struct remote_job {
    virtual ~remote_job() = default;
    virtual void run() = 0;
    /// Jobs come from a per-thread cache of small blocks (kernel/threads/job_memory.hpp):
    /// a worker that spawns a burst of children frees their jobs in a burst.
    static void* operator new(std::size_t size);
    static void operator delete(void* p, std::size_t size) noexcept;
};

/// A spawn sent elsewhere: the function, its arguments and options, carried until the
/// target thread makes a tasklet of them.
template <class F, class... Args>
struct spawn_job final : remote_job {
    template <class G, class... A>
    spawn_job(tasklet_options o, G&& g, A&&... a) : options(std::move(o)), call(std::forward<G>(g), std::forward<A>(a)...) {}
    void run() override {
        std::apply([this](auto&... parts) { tasklet(options, std::move(parts)...); }, call);
    }
    tasklet_options options;
    std::tuple<F, Args...> call;
};

std::shared_ptr<thread_inbox> current_inbox();
/// Is `inbox` the calling thread's? Creates nothing (the thread may have no scheduler).
bool is_current_inbox(const thread_inbox* inbox) noexcept;
/// Posts `job` to the thread; throws thread_error if it has ended.
void post_job(thread_inbox& inbox, std::unique_ptr<remote_job> job);
bool inbox_closed(const thread_inbox& inbox) noexcept;

}  // namespace detail

class thread_ref {
public:
    /// Refers to no thread; spawn() throws state_error.
    thread_ref() noexcept = default;

    /// The calling thread (its scheduler and its inbox are created if need be).
    static thread_ref current() { return thread_ref(detail::current_inbox()); }

    /// Starts `f(args...)` as a new tasklet on the referenced thread (see the header
    /// comment for when). The function and arguments are moved (decay-copied) into a job
    /// now, on the caller's thread; they are destroyed there, on the target thread, after
    /// the tasklet is made. Throws thread_error ("tasklets: spawn onto a thread that has
    /// ended: …") if the thread has ended; state_error on an empty thread_ref. If the
    /// target thread ends before it could start the tasklet, the job is destroyed
    /// without being run.
    template <class F, class... Args>
        requires std::is_invocable_v<std::decay_t<F>&&, std::decay_t<Args>&&...>
    void spawn(F&& f, Args&&... args) const {
        spawn(tasklet_options{}, std::forward<F>(f), std::forward<Args>(args)...);
    }
    template <class F, class... Args>
    void spawn(const tasklet_options& options, F&& f, Args&&... args) const {
        using job = detail::spawn_job<std::decay_t<F>, std::decay_t<Args>...>;
        post(std::make_unique<job>(options, std::forward<F>(f), std::forward<Args>(args)...));
    }

    /// Has the thread ended (its scheduler torn down)? False for an empty thread_ref.
    bool ended() const noexcept { return inbox_ && detail::inbox_closed(*inbox_); }
    /// Is this the calling thread?
    bool is_current() const noexcept { return inbox_ && detail::is_current_inbox(inbox_.get()); }
    explicit operator bool() const noexcept { return inbox_ != nullptr; }
    friend bool operator==(const thread_ref& a, const thread_ref& b) noexcept { return a.inbox_ == b.inbox_; }

    /// Sends a job of your own (run() on the target thread, inside its scheduler; it may
    /// create tasklets but must not block). Throws as spawn().
    void post(std::unique_ptr<detail::remote_job> job) const;

private:
    friend class worker_pool;
    friend class remote_tasklet;
    friend void move_to(const thread_ref& to);
    explicit thread_ref(std::shared_ptr<detail::thread_inbox> inbox) noexcept : inbox_(std::move(inbox)) {}
    std::shared_ptr<detail::thread_inbox> inbox_;
};

/// Moves the calling tasklet to the thread `to` refers to, where it goes on running
/// after that thread's tasklets already in its ring (docs/multicore.md, "Migration").
/// Only a tasklet spawned with tasklet_options::migratable = true may move, and only
/// while no tasklet handle refers to it, outside atomic sections and run(). It returns
/// on the new thread; on the calling thread it does nothing.
///
/// Across the call, the tasklet's own code must not keep the address of a thread_local
/// (or anything found through one: a thread's allocator arena, a lock it holds, a
/// thread-affine handle such as a thread's channel<T>): the compiler may keep such an
/// address in a register across the call, and it would then name the old thread's
/// variable (llvm/llvm-project issue 98479). Read thread_locals again after it.
///
/// Throws state_error if the tasklet may not move (the message says why), thread_error
/// if `to` has ended — also when it ended while the tasklet was on its way; then the
/// tasklet is back on its own thread when the error is raised.
void move_to(const thread_ref& to);

}  // namespace tasklets
