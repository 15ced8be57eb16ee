// tasklets/blocking.hpp — running a blocking call without blocking the thread's tasklets.
//
//     // getpwnam, a database client, a compression library: anything that blocks.
//     std::string home = tasklets::run_blocking([user = std::string(name)] {
//         return lookup_home_directory(user);
//     });
//
// run_blocking(f) runs f on a helper thread and parks the calling tasklet until f is done;
// the other tasklets of the thread run meanwhile, and the thread sleeps in the reactor if
// nothing is runnable (the helper wakes it through an eventfd). f's result is returned,
// or what f threw is rethrown, in the calling tasklet. The name lookups of io.hpp
// (net::resolve, stream::connect by host name) are built on it.
//
// The helpers are a process-wide pool, started on first use and grown on demand up to a
// maximum (TASKLETS_HELPER_THREADS, default 8); a call made while all are busy waits in
// a queue (first come, first served). They live until the process exits.
//
// Killing the tasklet, or its deadline passing (timeout_error), does not stop f: a
// blocking call cannot be interrupted from outside. f runs to completion on its helper and
// its result is dropped. So f must own what it uses: capture by value (or by shared_ptr),
// never a reference to the calling tasklet's locals — they are gone if it was killed.
#pragma once

#include <tasklets/time.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace tasklets {

namespace detail {
/// A call for a helper thread. run() is called once, on a helper.
struct helper_job {
    virtual ~helper_job() = default;
    virtual void run() noexcept = 0;
};
/// Queues `job` and parks the calling tasklet until a helper has run it (kernel/io/helpers.cpp).
void run_on_helper(std::shared_ptr<helper_job> job, const deadline& d, const char* what);
}  // namespace detail

/// Runs f() on a helper thread, blocking only the calling tasklet; returns its result or
/// rethrows its exception. `what` names the call in a timeout_error's message.
/// Throws timeout_error when `d` passes first (f goes on running; see above).
template <class F>
    requires std::invocable<F&>
std::invoke_result_t<F&> run_blocking(F f, deadline d = {}, const char* what = "run_blocking") {
    using R = std::invoke_result_t<F&>;
    struct job final : detail::helper_job {
        F f;
        std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
        std::exception_ptr error;
        explicit job(F&& fn) : f(std::move(fn)) {}
        void run() noexcept override {
            try {
                if constexpr (std::is_void_v<R>) f();
                else result.emplace(f());
            } catch (...) {
                error = std::current_exception();
            }
        }
    };
    auto j = std::make_shared<job>(std::move(f));
    detail::run_on_helper(j, d, what);
    if (j->error) std::rethrow_exception(j->error);
    if constexpr (!std::is_void_v<R>) return std::move(*j->result);
}

/// Helper threads running or idle now, and the most there may be.
std::size_t helper_threads() noexcept;
std::size_t max_helper_threads() noexcept;

}  // namespace tasklets
