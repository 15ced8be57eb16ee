// tasklets/remote_tasklet.hpp — kill a tasklet, or throw into it, from another thread.
//
// A tasklet handle belongs to its thread (docs/semantics.md §9.1). A remote_tasklet is made
// from one on that thread and may then be copied to, kept on and used from any thread:
//
//     tasklets::remote_tasklet r(worker_tasklet);         // on the tasklet's thread
//     std::thread([r] { r.kill(); }).detach();            // anywhere
//
// kill() and throw_exception() post the request to the tasklet's thread and return at once.
// There it is delivered as kill(pending = true) / throw_exception(e, pending = true) would
// be on that thread (§4): a blocked tasklet is unblocked (its wait cancelled) and made
// runnable, and the exception is raised in it when it next runs; a tasklet that never ran
// ends without running. Delivery happens when that thread's scheduler next polls its
// reactor (see tasklets/thread_ref.hpp). If the tasklet is running at that moment (it is
// the one polling), the exception is raised at its next switch. A request that finds the
// tasklet dead, or whose thread has ended, does nothing: killing a dead tasklet is no error
// (§4.1), and nothing can be thrown into one.
//
// Cost: delivery finds the tasklet by id among its thread's control blocks, a walk of
// O(tasklets on that thread); the request itself is one allocation and one post.
#pragma once

#include <tasklets/tasklet.hpp>
#include <tasklets/thread_ref.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace tasklets {

class remote_tasklet {
public:
    /// Refers to no tasklet: kill() does nothing, throw_exception() throws state_error.
    remote_tasklet() noexcept = default;
    /// Refers to `t`. On t's thread only (thread_error elsewhere, as every use of a handle);
    /// state_error for an empty handle.
    explicit remote_tasklet(const tasklet& t);

    /// Kills the tasklet on its own thread, as kill(pending = true) there. Returns at once.
    void kill() const;
    /// Raises `e` in the tasklet on its own thread, as throw_exception(e, pending = true)
    /// there. Returns at once.
    void throw_exception(std::exception_ptr e) const;
    template <class E>
        requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>)
    void throw_exception(E&& e) const {
        throw_exception(std::make_exception_ptr(std::forward<E>(e)));
    }

    /// The tasklet's id (tasklet::id()) and thread.
    std::uint64_t id() const noexcept { return id_; }
    thread_ref thread() const noexcept { return thread_; }
    explicit operator bool() const noexcept { return id_ != 0; }

private:
    void post(std::exception_ptr e, bool killing) const;
    thread_ref thread_;
    std::uint64_t id_ = 0;
};

}  // namespace tasklets
