// A thread that serves its scheduler until the test is done with it: tasklets spawned or
// moved onto it run there meanwhile.
#pragma once

#include "support/in_thread.hpp"

#include <tasklets/shared_channel.hpp>
#include <tasklets/thread_ref.hpp>

#include <future>
#include <thread>

namespace tasklets_test {

/// Its main tasklet waits on `stop`; the destructor sends it and joins the thread, whose
/// teardown kills the tasklets still there.
struct host_thread {
    tasklets::shared_channel<int> stop;
    tasklets::thread_ref ref;
    std::thread thread;

    host_thread() {
        std::promise<tasklets::thread_ref> made;
        auto got = made.get_future();
        thread = std::thread([this, &made] {
            made.set_value(tasklets::thread_ref::current());
            (void)stop.receive();
        });
        ref = got.get();
    }
    host_thread(const host_thread&) = delete;
    host_thread& operator=(const host_thread&) = delete;
    ~host_thread() { end(); }
    /// Ends the thread now (idempotent).
    void end() {
        if (thread.joinable()) {
            in_thread([this] { stop.send(0); });
            thread.join();
        }
    }
};

}  // namespace tasklets_test
