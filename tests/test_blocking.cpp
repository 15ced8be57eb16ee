// Blocking calls on helper threads (tasklets/blocking.hpp) and name lookups built on them
// (tasklets/io.hpp: resolve, stream::connect by host name). Each test runs on a fresh
// thread; the helper pool is the process's and outlives them.
#include <tasklets/tasklets.hpp>

#include <catch2/catch.hpp>

#include "support/in_thread.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
#if !defined(_WIN32)
using tasklets::net::address;
#endif

TEST_CASE("run_blocking: the result comes back, and the other tasklets run while the call blocks", "[blocking]") {
    tasklets_test::in_thread([] {
        int ticks = 0;
        bool done = false;
        tasklets::tasklet ticker([&] {
            while (!done) {
                ++ticks;
                tasklets::sleep_for(1ms);
            }
        });
        const std::thread::id home = std::this_thread::get_id();
        std::thread::id ran_on;
        const int answer = tasklets::run_blocking([&ran_on] {
            ran_on = std::this_thread::get_id();
            std::this_thread::sleep_for(60ms);  // a call that blocks its thread
            return 42;
        });
        done = true;
        tasklets::run();
        CHECK(answer == 42);
        CHECK(ran_on != home);
        CHECK(ticks >= 10);  // the ticker ran about 60 times meanwhile; 10 leaves room for a slow machine
        CHECK(tasklets::helper_threads() >= 1);
        CHECK(tasklets::helper_threads() <= tasklets::max_helper_threads());
    });
}

TEST_CASE("run_blocking: an exception thrown by the call is rethrown in the caller, void calls work", "[blocking]") {
    tasklets_test::in_thread([] {
        CHECK_THROWS_WITH(tasklets::run_blocking([]() -> int { throw std::runtime_error("disk on fire"); }), "disk on fire");
        auto flag = std::make_shared<std::atomic<bool>>(false);
        tasklets::run_blocking([flag] { flag->store(true); });
        CHECK(flag->load());
    });
}

TEST_CASE("run_blocking: 20 tasklets' calls run on helpers at once (up to the pool's size) and all come back", "[blocking]") {
    tasklets_test::in_thread([] {
        std::vector<int> got(20, -1);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 20; ++i)
            tasklets::spawn([&got, i] {
                got[static_cast<std::size_t>(i)] = tasklets::run_blocking([i] {
                    std::this_thread::sleep_for(40ms);
                    return i * i;
                });
            });
        tasklets::run();
        const auto took = std::chrono::steady_clock::now() - t0;
        for (int i = 0; i < 20; ++i) CHECK(got[static_cast<std::size_t>(i)] == i * i);
        // 20 calls of 40 ms on up to 8 helpers: about 3 rounds, far below 20 in a row.
        CHECK(took < 20 * 40ms);
    });
}

TEST_CASE("run_blocking: a deadline throws timeout_error naming the call, a killed caller leaves the call to finish", "[blocking]") {
    tasklets_test::in_thread([] {
        auto finished = std::make_shared<std::atomic<int>>(0);
        try {
            (void)tasklets::run_blocking([finished] {
                std::this_thread::sleep_for(80ms);
                return ++*finished;
            }, 10ms, "slow lookup");
            FAIL("no timeout");
        } catch (const tasklets::timeout_error& e) {
            CHECK(std::string(e.what()) == "tasklets: slow lookup timed out after 10ms");
        }
        tasklets::tasklet victim([finished] {
            tasklets::run_blocking([finished] {
                std::this_thread::sleep_for(40ms);
                ++*finished;
            });
        });
        tasklets::schedule();  // the victim parks on its call
        CHECK(victim.blocked());
        victim.kill();
        CHECK_FALSE(victim.alive());
        // Both calls still run to completion on their helpers; their results are dropped.
        for (int i = 0; i < 200 && finished->load() < 2; ++i) std::this_thread::sleep_for(5ms);
        CHECK(finished->load() == 2);
        // The replies that come back for nobody are dropped; the thread goes on working.
        CHECK(tasklets::run_blocking([] { return 7; }) == 7);
    });
}

// resolve and connect-by-name need tasklets::net (tasklets/io.hpp), not on Windows yet.
#if !defined(_WIN32)
TEST_CASE("resolve: localhost and numeric addresses, without blocking the thread", "[blocking][resolve]") {
    tasklets_test::in_thread([] {
        const std::vector<address> local = tasklets::net::resolve("localhost", 8080);
        REQUIRE_FALSE(local.empty());
        bool loopback = false;
        for (const address& a : local) loopback |= a.to_string() == "127.0.0.1:8080" || a.to_string() == "[::1]:8080";
        CHECK(loopback);
        const std::vector<address> numeric = tasklets::net::resolve("127.0.0.1", 53);
        REQUIRE(numeric.size() == 1);
        CHECK(numeric[0].to_string() == "127.0.0.1:53");
        CHECK_THROWS_WITH(tasklets::net::resolve("", 80), "tasklets: resolve: the host name is empty");
    });
}

TEST_CASE("resolve: a name that does not resolve is a system_error in resolver_category naming the host", "[blocking][resolve]") {
    tasklets_test::in_thread([] {
        // "invalid" is reserved (RFC 2606): never a real name. Without network access the
        // lookup may fail otherwise (EAI_AGAIN) or outlast the deadline; each is reported
        // naming the host.
        try {
            (void)tasklets::net::resolve("nosuch.invalid", 80, 10s);
            FAIL("it resolved");
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).starts_with("tasklets: resolve \"nosuch.invalid\": "));
        } catch (const tasklets::timeout_error& e) {
            CHECK(std::string(e.what()) == "tasklets: resolve \"nosuch.invalid\" timed out after 10s");
        }
    });
}

TEST_CASE("stream::connect by host name: localhost reaches a listener, a refused port names the host and addresses tried", "[blocking][resolve]") {
    tasklets_test::in_thread([] {
        auto server = tasklets::net::listener::bind(address::loopback_v4());
        const std::uint16_t port = server.local_address().port();
        tasklets::net::stream accepted;
        tasklets::tasklet acceptor([&] { accepted = server.accept(5s); });
        tasklets::net::stream c = tasklets::net::stream::connect("127.0.0.1", port, 5s);
        tasklets::run();
        CHECK(accepted.is_open());
        c.write_all("hi", 5s);
        char buf[2];
        accepted.read_exact(buf, 2, 5s);
        CHECK(std::string(buf, 2) == "hi");

        server.close();
        try {
            (void)tasklets::net::stream::connect("127.0.0.1", port, 5s);
            FAIL("connected");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ECONNREFUSED);
            CHECK(std::string(e.what()).starts_with("tasklets: connect to \"127.0.0.1\" (tried 127.0.0.1:" + std::to_string(port) + "): "));
        }
    });
}
#endif  // !_WIN32
