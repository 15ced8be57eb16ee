// The helper-thread pool and run_on_helper (io/helpers.hpp, include/tasklets/blocking.hpp).
#include "io/helpers.hpp"

#include "io/reactor.hpp"
#include "threads/inbox.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <system_error>
#include <thread>

namespace tasklets::detail {

namespace {

std::size_t configured_max() noexcept {
    if (const char* text = std::getenv("TASKLETS_HELPER_THREADS")) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(text, &end, 10);
        if (*text && *end == '\0' && v >= 1 && v <= 1024) return v;
        std::fprintf(stderr, "tasklets: TASKLETS_HELPER_THREADS=\"%s\" is not a number from 1 to 1024; using 8\n", text);
    }
    return 8;
}

// The pool. Never destroyed: its threads wait on it until the process exits, and a pool
// destroyed at exit would pull the condition variable from under them.
struct pool {
    std::mutex mutex;
    std::condition_variable work;
    std::deque<std::shared_ptr<helper_ticket>> queue;  // guarded by mutex
    std::size_t threads = 0;                            // guarded by mutex
    std::size_t idle = 0;                               // guarded by mutex
    const std::size_t max_threads = configured_max();
    // Read without the lock by helper_threads(): a figure for monitoring. Relaxed: it
    // orders nothing, and is written under the mutex.
    std::atomic<std::size_t> started{0};

    void serve() {
        std::unique_lock lock(mutex);
        for (;;) {
            ++idle;
            work.wait(lock, [this] { return !queue.empty(); });
            --idle;
            std::shared_ptr<helper_ticket> t = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            t->job->run();
            std::shared_ptr<thread_inbox> home = t->home;
            home->deliver_reply(std::move(t));
            lock.lock();
        }
    }
};

pool& the_pool() {
    static pool* p = new pool;
    return *p;
}

}  // namespace

void submit_to_helpers(std::shared_ptr<helper_ticket> t) {
    pool& p = the_pool();
    std::unique_lock lock(p.mutex);
    p.queue.push_back(std::move(t));
    if (p.idle < p.queue.size() && p.threads < p.max_threads) {
        try {
            std::thread([&p] { p.serve(); }).detach();
            ++p.threads;
            p.started.store(p.threads, std::memory_order_relaxed);
        } catch (...) {
            // No thread (EAGAIN: a process or memory limit). With helpers running, the
            // ticket waits its turn; with none, nobody would ever take it: the call fails.
            if (p.threads == 0) {
                p.queue.pop_back();
                throw;
            }
        }
    }
    lock.unlock();
    p.work.notify_one();
}

void run_on_helper(std::shared_ptr<helper_job> job, const deadline& d, const char* what) {
    reactor& r = get_reactor(sched());
    auto t = std::make_shared<helper_ticket>();
    t->job = std::move(job);
    t->home = r.inbox();
    submit_to_helpers(t);
    const int result = r.wait_for_helper(*t, d.raw());
    if (result == ETIMEDOUT) throw_timeout(what, d.span());
}

}  // namespace tasklets::detail

namespace tasklets {

std::size_t helper_threads() noexcept { return detail::the_pool().started.load(std::memory_order_relaxed); }
std::size_t max_helper_threads() noexcept { return detail::the_pool().max_threads; }

}  // namespace tasklets
