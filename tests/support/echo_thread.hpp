// A thread that answers on another core: each value v >= 0 it receives on `ping` goes
// back as v + 1 on `pong`. For tests of what crosses between threads on every round trip.
#pragma once

#include "support/in_thread.hpp"

#include <tasklets/shared_channel.hpp>
#include <tasklets/statistics.hpp>

#include <atomic>
#include <cstdint>
#include <thread>

namespace tasklets_test {

struct echo_thread {
    tasklets::shared_channel<long> ping, pong;
    /// Once it has stopped: its statistics().express_wakeups, the wake-ups another thread
    /// handed over while it watched for them.
    std::atomic<std::uint64_t> express{0};
    std::thread thread{[this] {
        for (long v; (v = ping.receive()) >= 0;) pong.send(v + 1);
        express = tasklets::statistics().express_wakeups;
    }};

    echo_thread() = default;
    echo_thread(const echo_thread&) = delete;
    echo_thread& operator=(const echo_thread&) = delete;
    ~echo_thread() { stop(); }
    /// Sends it a negative value and joins it (idempotent).
    void stop() {
        if (!thread.joinable()) return;
        in_thread([this] { ping.send(-1); });
        thread.join();
    }
};

}  // namespace tasklets_test
