// tasklets/tasklet.hpp — tasklets and the cooperative scheduler.
//
// A tasklet is a microthread: a function running on its own stack, switched only at
// explicit points (schedule(), channel operations, run(), ...). Each OS thread has its
// own scheduler; the thread's own stack is its *main tasklet*. Semantics are Stackless
// Python's (see docs in README.md):
//
// - The runnable tasklets form a ring; the current tasklet is its head. Creating a tasklet
//   appends it to the end of the ring without running it. schedule() moves on to the next
//   tasklet and puts the caller at the end of the round.
// - run() makes the caller the *watchdog*: it leaves the ring and returns when the ring is
//   empty (tasklets blocked on channels stay blocked), or when it is resumed while others
//   are still runnable (a tasklet's caller.run() or caller.switch_to(), or the ring
//   reaching it after caller.insert()). Calls nest.
// - An exception escaping a tasklet's function is rethrown at once by the watchdog's
//   pending call (run(), schedule(), send(), ...); the other tasklets keep their places.
// - Tasklets never move between threads. Each handle is a cheap reference-counted
//   reference, like a Python reference; handles must stay on their tasklet's thread.
//
//     tasklets::channel<int> numbers;
//     tasklets::tasklet producer([numbers]() mutable {
//         for (int i = 0; i < 3; ++i) numbers.send(i);
//         numbers.close();
//     });
//     tasklets::tasklet consumer([numbers]() mutable {
//         for (int n : numbers) std::printf("%d\n", n);
//     });
//     tasklets::run();  // prints 0 1 2
#pragma once

#include <tasklets/errors.hpp>
#include <tasklets/stack.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tasklets {

/// Options for a new tasklet.
struct tasklet_options {
    /// Stack size in bytes; 0 means default_stack_size(). Rounded up to whole pages.
    /// Less than min_stack_size throws std::invalid_argument.
    std::size_t stack_size = 0;
    /// Name shown in error messages and by the debugger extension.
    std::string name;
    /// May this tasklet move to another thread once started? Off by default: a started
    /// tasklet stays on its thread. A migratable tasklet moves only at two calls it makes
    /// itself — tasklets::move_to(), and schedule() on a worker_pool's worker busier
    /// than another — and its code must keep no thread_local's address (nor
    /// anything found through one) across those calls (docs/multicore.md, "Migration").
    /// Its control block and stack are allocated alone rather than from the thread's
    /// pools, so that any thread may free them. Ended stacks are kept for the next
    /// migratable tasklet (up to 64 in the process), so a spawn costs a memory mapping
    /// only beyond those: about 70 ns against 50 for a tasklet that stays
    /// (bench/multicore/migration.cpp, spawn_migratable).
    bool migratable = false;
    /// Where its frames live: a dedicated stack or a shared one (tasklets/stack.hpp,
    /// stack_mode). thread_default: the spawning thread's default_stack_mode(). A
    /// shared-stack tasklet may not ask for a stack_size above its thread's execution
    /// stacks (default_stack_size() when the thread made them), nor be migratable.
    stack_mode stack = stack_mode::thread_default;
};

class tasklet;

namespace detail {

struct tasklet_impl;

/// A tasklet's function and bound arguments, type-erased; lives inside the tasklet's
/// control block. invoke() runs on the tasklet's stack.
struct tasklet_body {
    virtual void invoke() = 0;
    virtual ~tasklet_body() = default;
};

template <class F, class... Args>
struct bound_body final : tasklet_body {
    template <class G, class... A>
    explicit bound_body(G&& g, A&&... a) : call(std::forward<G>(g), std::forward<A>(a)...) {}
    void invoke() override {
        std::apply([](auto& f, auto&... a) { std::invoke(std::move(f), std::move(a)...); }, call);
    }

private:
    std::tuple<F, Args...> call;
};

/// A control block from allocate_tasklet(), and where its body is to be constructed
/// (two words: returned in registers).
struct unbound_tasklet {
    tasklet_impl* block;
    void* body_at;
};
/// Allocates an unbound control block with room for a body of `body_size` bytes aligned
/// to `body_align` (at most alignof(std::max_align_t)).
unbound_tasklet allocate_tasklet(std::size_t body_size, std::size_t body_align, const tasklet_options& options);
/// Frees a control block whose body construction threw.
void free_unbound(tasklet_impl* t) noexcept;
/// Binds the constructed body and appends the tasklet to the end of the ring.
void bind_and_schedule(tasklet_impl* t, tasklet_body* body) noexcept;
/// The same for a tasklet no handle will refer to (a worker_pool job's): the reference
/// allocate_tasklet gave is dropped here, where it is known that nothing else can happen
/// to the tasklet (it is alive and in the ring), rather than by a handle's release().
void bind_and_schedule_unreferenced(tasklet_impl* t, tasklet_body* body) noexcept;

/// What the tasklet(options, f, args...) constructor does: allocates, constructs the
/// body, binds and appends to the ring. Returns the block, with a handle's reference if
/// `referenced`.
template <bool referenced, class F, class... Args>
tasklet_impl* make_tasklet(const tasklet_options& options, F&& f, Args&&... args) {
    using body = bound_body<std::decay_t<F>, std::decay_t<Args>...>;
    static_assert(alignof(body) <= alignof(std::max_align_t),
                  "tasklets: over-aligned callables are not supported; wrap it in a unique_ptr");
    const unbound_tasklet made = allocate_tasklet(sizeof(body), alignof(body), options);
    tasklet_impl* const t = made.block;
    body* b;
    try {
        b = ::new (made.body_at) body(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (...) {
        free_unbound(t);
        throw;
    }
    if constexpr (referenced) bind_and_schedule(t, b);
    else bind_and_schedule_unreferenced(t, b);
    return t;
}

void retain(tasklet_impl* t) noexcept;
void release(tasklet_impl* t) noexcept;

/// Safe points left until the scheduler's periodic work (see tasklets::check()).
/// Initial-exec TLS, like the rest of the library's per-thread state: one %fs-relative
/// access, no __tls_get_addr call (which, in position-independent code, would also
/// force every hot function that touches it to save registers). A shared libtasklets
/// therefore needs static TLS: linking it is fine, and dlopen() works while glibc's
/// static TLS reserve has room (it keeps some for such libraries).
extern thread_local constinit std::int32_t tick_countdown __attribute__((tls_model("initial-exec")));
void slow_check();

}  // namespace detail

/// A handle to a tasklet (copyable; the tasklet lives while a handle or the scheduler
/// holds it). A default-made handle is empty: it refers to no tasklet, is not alive,
/// and operations that need a tasklet fail as they would on a dead one.
///
/// Threads (docs/semantics.md §9.1): a tasklet belongs to the thread that created it.
/// On any other thread, every member but id(), is_main(), stack_size() and is_current()
/// (false there) throws thread_error, and copying or destroying the handle is a fatal
/// error while the tasklet's thread runs. After that thread has ended, its handles may be
/// destroyed anywhere.
class tasklet {
public:
    /// An empty handle (Stackless's unbound tasklet).
    tasklet() noexcept = default;

    /// Binds f(args...) (copied/moved into the tasklet) and appends the tasklet to the end
    /// of the run queue. It runs when the scheduler reaches it. Default stack size.
    template <class F, class... Args>
        requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
    explicit tasklet(F&& f, Args&&... args) : tasklet(tasklet_options{}, std::forward<F>(f), std::forward<Args>(args)...) {}

    /// As above, with a stack size and/or a name.
    template <class F, class... Args>
        requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
    tasklet(const tasklet_options& options, F&& f, Args&&... args)
        : impl_(detail::make_tasklet<true>(options, std::forward<F>(f), std::forward<Args>(args)...)) {}

    tasklet(const tasklet& other) noexcept : impl_(other.impl_) { if (impl_) detail::retain(impl_); }
    tasklet(tasklet&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
    tasklet& operator=(tasklet other) noexcept { std::swap(impl_, other.impl_); return *this; }
    /// Dropping the last handle of a started tasklet that is paused (alive, neither in
    /// the ring nor blocked) kills it, unwinding its stack.
    ~tasklet() { if (impl_) detail::release(impl_); }

    /// True for a non-empty handle.
    explicit operator bool() const noexcept { return impl_ != nullptr; }
    friend bool operator==(const tasklet& a, const tasklet& b) noexcept { return a.impl_ == b.impl_; }

    // ---- state ------------------------------------------------------------------------
    /// Bound and not finished.
    bool alive() const;
    /// Alive, but neither in the ring nor blocked on a channel.
    bool paused() const;
    /// Waiting: on a channel (send, receive, select), or for a timer or a descriptor
    /// (sleep_for, wait_readable, a timeout, ...).
    bool blocked() const;
    /// In the ring or blocked.
    bool scheduled() const;
    bool is_main() const noexcept;
    bool is_current() const noexcept;
    /// Has it started running (and so holds a stack)?
    bool started() const;

    /// Unique within the thread: the main tasklet is 1, new tasklets count up from 2;
    /// 0 for an empty handle.
    std::uint64_t id() const noexcept;
    /// The name given in tasklet_options or by set_name (empty by default).
    std::string_view name() const;
    void set_name(std::string name);
    /// Usable stack size in bytes (0 for the main tasklet or an empty handle).
    std::size_t stack_size() const noexcept;

    // ---- scheduling -------------------------------------------------------------------
    /// Appends to the end of the ring (just before the current tasklet) unless already
    /// scheduled. Throws state_error if blocked or dead.
    void insert();
    /// Takes a runnable tasklet out of the ring (it becomes paused); no-op if not in it.
    /// Throws state_error for the current tasklet or a blocked one.
    void remove();
    /// Inserts it just before the current tasklet if not scheduled, then switches to it;
    /// the caller stays in the ring. Same errors as insert().
    void run();
    /// Like run(), but the caller leaves the ring (it becomes paused).
    void switch_to();

    // ---- exceptions into a tasklet ----------------------------------------------------
    /// Raises tasklet_exit in the tasklet (see throw_exception). No-op on a dead tasklet.
    void kill(bool pending = false);
    /// Raises `e` inside the tasklet. The current tasklet: thrown at once, here. A blocked
    /// one is unblocked. Not pending: switch to it now (the caller stays in the ring);
    /// pending: only make it runnable. A tasklet that never ran dies before its body
    /// starts. Throws state_error "You cannot throw to a dead tasklet".
    void throw_exception(std::exception_ptr e, bool pending = false);
    template <class E>
        requires(!std::same_as<std::remove_cvref_t<E>, std::exception_ptr>)
    void throw_exception(E&& e, bool pending = false) {
        throw_exception(std::make_exception_ptr(std::forward<E>(e)), pending);
    }

    // ---- flags ------------------------------------------------------------------------
    /// The atomic flag (per tasklet; new tasklets start non-atomic). Returns the old value.
    bool atomic() const;
    bool set_atomic(bool on);
    /// When set, a channel operation that would block this tasklet throws state_error
    /// "this tasklet does not like to be blocked." instead. Returns the old value.
    bool block_trap() const;
    bool set_block_trap(bool on);

    /// Neighbours, as in Stackless. In the ring: the ring neighbours. Blocked on a
    /// channel: the neighbours in that channel's queue of waiters (the tasklets blocked
    /// on it just before and just after this one; empty at the queue's ends). Blocked in
    /// a select: the neighbours in the queue of its *first* case's channel. Blocked on a
    /// timer or descriptor, paused, dead or an empty handle: empty.
    tasklet next() const;
    tasklet prev() const;

    /// For the library: wraps a control block, taking a new reference.
    static tasklet from_impl(detail::tasklet_impl* t) noexcept {
        tasklet h;
        h.impl_ = t;
        if (t) detail::retain(t);
        return h;
    }
    detail::tasklet_impl* impl() const noexcept { return impl_; }

private:
    detail::tasklet_impl* impl_ = nullptr;
};

/// Same as tasklet(f, args...): binds and appends to the end of the ring.
template <class F, class... Args>
    requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
tasklet spawn(F&& f, Args&&... args) {
    return tasklet(std::forward<F>(f), std::forward<Args>(args)...);
}
template <class F, class... Args>
    requires std::invocable<std::decay_t<F>&&, std::decay_t<Args>&&...>
tasklet spawn(const tasklet_options& options, F&& f, Args&&... args) {
    return tasklet(options, std::forward<F>(f), std::forward<Args>(args)...);
}

/// The running tasklet.
tasklet current();
/// This thread's main tasklet (its own stack).
tasklet main_tasklet();
/// Number of tasklets in the ring, the current one included (at least 1).
int runcount() noexcept;
/// Switches to the next tasklet in the ring; the caller goes to the end of the round.
/// Returns at once when nothing else is runnable.
void schedule();
/// Like schedule(), but the caller leaves the ring (it becomes paused). As the last
/// runnable tasklet while the watchdog is blocked on a channel, throws deadlock_error
/// "Deadlock: the last runnable tasklet cannot be blocked." and stays in the ring.
void schedule_remove();
/// Runs the ring until it is empty, the caller waiting outside it as the watchdog.
/// Rethrows an exception that escaped a tasklet (the other tasklets keep their places).
/// While tasklets wait on timers or I/O, run() waits for them instead of returning.
/// Returns at once, leaving the ring as it is, when the caller is resumed while others
/// are still runnable: a tasklet switched to it (caller.run(), caller.switch_to()) or the
/// ring reached it after caller.insert() (docs/semantics.md §2.6).
void run();

/// A safe point for long-running tasklet code: call it in loops that do not otherwise
/// switch or use channels. It lets the scheduler do its periodic work (poll I/O, and
/// enforce a watchdog budget). Costs a decrement and a branch almost every time.
inline void check() {
    if (--detail::tick_countdown < 0) [[unlikely]] detail::slow_check();
}

}  // namespace tasklets
