// Moving a started tasklet to another thread: tasklet_options::migratable, move_to() and
// a worker pool's moves to less busy workers. Authority: docs/semantics.md §9.6;
// include/tasklets/thread_ref.hpp (move_to) and include/tasklets/worker_pool.hpp.
#include <catch2/catch.hpp>

#include "support/host_thread.hpp"
#include "support/in_thread.hpp"

#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

using Catch::Matchers::Message;
using Catch::Matchers::StartsWith;
using tasklets::shared_channel;
using tasklets::tasklet;
using tasklets::tasklet_options;
using tasklets::thread_ref;
using tasklets::worker_pool;
using tasklets_test::host_thread;
using tasklets_test::in_thread;

namespace {

tasklet_options migratable(std::string name = {}) {
    tasklet_options o;
    o.migratable = true;
    o.name = std::move(name);
    return o;
}

// The thread the caller runs on, asked afresh. glibc declares pthread_self(), which
// std::this_thread::get_id() calls, __attribute__((const)): GCC reused one reading across
// a move_to() in the same function and reported the old thread (this test, before this
// helper). That is the hazard docs/multicore.md, "Migration", warns of; noipa keeps
// the call a call.
[[gnu::noipa]] std::thread::id where_am_i() { return std::this_thread::get_id(); }

// What a tasklet reports from each place it ran.
struct sighting {
    std::thread::id thread;
    std::string note;
};

}  // namespace

TEST_CASE("move_to: a migratable tasklet goes on running on the other thread, its frames intact", "[threads][migration]") {
    host_thread host;
    shared_channel<sighting> seen;
    std::thread::id home;
    in_thread([&] {
        home = where_am_i();
        tasklet(migratable("traveller"), [&, seen]() mutable {
            std::string local = "packed on the way out";  // lives in the frame that moves
            seen.send({where_am_i(), local});
            tasklets::move_to(host.ref);
            local += ", unpacked on arrival";
            seen.send({where_am_i(), local});
        });
        const sighting before = seen.receive();
        CHECK(before.thread == home);
        CHECK(before.note == "packed on the way out");
        const sighting after = seen.receive();
        CHECK(after.thread == host.thread.get_id());
        CHECK(after.note == "packed on the way out, unpacked on arrival");
    });
}

TEST_CASE("move_to: the tasklet's exception state goes with it", "[threads][migration]") {
    host_thread host;
    shared_channel<std::string> seen;
    in_thread([&] {
        tasklet(migratable(), [&, seen]() mutable {
            try {
                throw std::runtime_error("caught before the move");
            } catch (const std::runtime_error&) {
                tasklets::move_to(host.ref);
                // The exception being handled is the tasklet's, not its thread's.
                try {
                    throw;
                } catch (const std::runtime_error& again) {
                    seen.send(std::string("rethrown after the move: ") + again.what());
                }
            }
            seen.send(std::uncaught_exceptions() == 0 && !std::current_exception() ? "handled" : "left over");
        });
        tasklets::run();
        CHECK(seen.receive() == "rethrown after the move: caught before the move");
        CHECK(seen.receive() == "handled");
        CHECK_FALSE(std::current_exception());  // the thread it left has none
    });
}

TEST_CASE("move_to: a tasklet moves back and forth, and ends where it is", "[threads][migration]") {
    host_thread a;
    host_thread b;
    shared_channel<std::thread::id> seen;
    in_thread([&] {
        tasklet(migratable(), [&, seen]() mutable {
            for (int i = 0; i < 100; ++i) {
                tasklets::move_to(i % 2 ? b.ref : a.ref);
                seen.send(where_am_i());
            }
        });
        for (int i = 0; i < 100; ++i) CHECK(seen.receive() == (i % 2 ? b : a).thread.get_id());
    });
}

TEST_CASE("move_to refuses, with nothing changed, what may not move", "[threads][migration]") {
    host_thread host;
    in_thread([&] {
        CHECK_THROWS_MATCHES(tasklets::move_to(host.ref), tasklets::state_error,
                             Message("tasklets: move_to() called outside any tasklet (by a thread's main tasklet), which "
                                     "cannot move; call it from a tasklet spawned with tasklet_options::migratable = true"));
        CHECK_THROWS_MATCHES(tasklets::move_to(thread_ref()), tasklets::state_error,
                             Message("tasklets: move_to() an empty thread_ref; get one from thread_ref::current() or "
                                     "worker_pool::worker()"));
        std::string refused;
        // The body of both refused tasklets below: what move_to() says.
        const auto try_to_move = [&] {
            try {
                tasklets::move_to(host.ref);
            } catch (const tasklets::state_error& e) {
                refused = e.what();
            }
        };
        tasklet_options fixed;
        fixed.name = "rooted";
        tasklet t(fixed, try_to_move);
        tasklets::run();
        CHECK(refused == "tasklets: move_to(): tasklet " + std::to_string(t.id()) +
                             " \"rooted\" was not spawned migratable, and a started tasklet stays on its thread; spawn it "
                             "with tasklet_options::migratable = true (docs/multicore.md, \"Migration\")");

        // A handle belongs to its thread: while one refers to the tasklet, it stays.
        tasklet held(migratable("held"), try_to_move);
        tasklets::run();
        CHECK(refused == "tasklets: move_to(): tasklet " + std::to_string(held.id()) +
                             " \"held\" is referred to by 1 tasklet handle(s), which belong to its thread and cannot "
                             "follow it; drop them before it moves (a shared_channel reaches it wherever it runs)");
        CHECK_FALSE(held.alive());

        // Onto its own thread: nothing happens.
        std::thread::id after;
        tasklet(migratable(), [&] {
            tasklets::move_to(thread_ref::current());
            after = where_am_i();
        });
        tasklets::run();
        CHECK(after == where_am_i());
    });
}

TEST_CASE("move_to a thread that has ended raises thread_error and the tasklet stays", "[threads][migration]") {
    thread_ref gone;
    in_thread([&] { gone = thread_ref::current(); });
    REQUIRE(gone.ended());
    in_thread([&] {
        std::string what;
        std::thread::id after;
        tasklet(migratable(), [&] {
            try {
                tasklets::move_to(gone);
            } catch (const tasklets::thread_error& e) {
                what = e.what();
            }
            after = where_am_i();
        });
        tasklets::run();
        CHECK(what == "tasklets: move_to() a thread that has ended; the tasklet stays on its thread");
        CHECK(after == where_am_i());
    });
}

TEST_CASE("a moved tasklet may not use its old thread's channel: thread_error, not a race", "[threads][migration]") {
    host_thread host;
    shared_channel<std::string> seen;
    in_thread([&] {
        tasklets::channel<int> local;
        auto from_local = tasklets::on_receive(local);
        (void)tasklets::select(from_local, tasklets::default_case);  // binds it to this thread
        tasklet(migratable(), [&, seen]() mutable {
            tasklets::move_to(host.ref);
            try {
                local.send(1);
                seen.send("sent");
            } catch (const tasklets::thread_error& e) {
                seen.send(e.what());
            }
        });
        tasklets::run();
        CHECK(seen.receive() ==
              "tasklets: send on a channel of another thread: a tasklet is used only on the thread that created it, "
              "and a channel only on the thread of its first send, receive or select (docs/semantics.md §9.1)");
    });
}

TEST_CASE("a tasklet still on its new thread when that thread ends is killed there, its destructors run",
          "[threads][migration]") {
    auto host = std::make_unique<host_thread>();
    shared_channel<int> never;
    shared_channel<std::thread::id> arrived;
    std::atomic<int> unwound{0};
    in_thread([&] {
        tasklet(migratable(), [&, never, arrived]() mutable {
            struct guard {
                std::atomic<int>& n;
                ~guard() { n.fetch_add(1); }
            } g{unwound};
            tasklets::move_to(host->ref);
            arrived.send(where_am_i());
            (void)never.receive();
        });
        tasklets::run();
        CHECK(arrived.receive() == host->thread.get_id());
    });
    CHECK(unwound == 0);
    host->end();
    CHECK(unwound == 1);
    CHECK(never.balance() == 0);
}

TEST_CASE("a worker pool moves migratable tasklets from a busy worker to a sleeping one", "[threads][pool][migration]") {
    worker_pool pool(2);
    std::atomic<bool> ran_on[2] = {false, false};
    std::atomic<bool> spread{false};
    constexpr int tasklets_count = 4;
    // All four start on worker 0; worker 1 has nothing and sleeps. They yield until one of
    // them has run on worker 1 (or give up after ten seconds, which fails the test).
    pool.worker(0).spawn([&] {
        for (int i = 0; i < tasklets_count; ++i)
            tasklet(migratable(), [&] {
                const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                while (!spread && std::chrono::steady_clock::now() < give_up) {
                    const std::size_t w = pool.current_worker();
                    ran_on[w] = true;
                    if (w == 1) spread = true;
                    tasklets::schedule();
                }
            });
    });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(11);
    while (!spread && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(spread);
    CHECK(ran_on[0]);
    CHECK(ran_on[1]);
    CHECK(pool.statistics().moved >= 1);
}

TEST_CASE("a worker pool does not move a migratable tasklet that has its worker to itself", "[threads][pool][migration]") {
    worker_pool pool(2);
    std::atomic<bool> ran_on[2] = {false, false};
    shared_channel<int> done;
    pool.worker(0).spawn(migratable(), [&, done]() mutable {
        for (int k = 0; k < 5000; ++k) {  // worker 1 sleeps all along: moving would gain nothing
            ran_on[pool.current_worker()] = true;
            tasklets::schedule();
        }
        done.send(1);
    });
    in_thread([&] { (void)done.receive(); });
    CHECK(ran_on[0]);
    CHECK_FALSE(ran_on[1]);
    CHECK(pool.statistics().moved == 0);
}

TEST_CASE("a worker pool does not move tasklets that did not opt in", "[threads][pool][migration]") {
    worker_pool pool(2);
    std::atomic<bool> ran_on[2] = {false, false};
    shared_channel<int> done;
    pool.worker(0).spawn([&, done] {
        for (int i = 0; i < 4; ++i)
            tasklet([&, done]() mutable {
                for (int k = 0; k < 5000; ++k) {
                    ran_on[pool.current_worker()] = true;
                    tasklets::schedule();
                }
                done.send(1);
            });
    });
    in_thread([&] {
        for (int i = 0; i < 4; ++i) (void)done.receive();
    });
    CHECK(ran_on[0]);
    CHECK_FALSE(ran_on[1]);
    CHECK(pool.statistics().moved == 0);
}

TEST_CASE("a pool job that moved off the pool still counts for wait()", "[threads][pool][migration]") {
    host_thread host;
    worker_pool pool(2);
    std::atomic<bool> ended_outside{false};
    pool.spawn(migratable(), [&] {
        tasklets::move_to(host.ref);
        ended_outside = pool.current_worker() == worker_pool::npos;
    });
    pool.wait();
    CHECK(ended_outside);
}

namespace {
// Waits up to ten seconds for `done`; whether it came.
template <class F>
bool eventually(F done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return done();
}
}  // namespace

TEST_CASE("remote_tasklet: a kill follows a migratable tasklet to the thread it moved to", "[threads][migration]") {
    host_thread host;
    shared_channel<tasklets::remote_tasklet> made;
    shared_channel<std::thread::id> arrived;
    shared_channel<int> never;
    std::atomic<int> unwound{0};
    in_thread([&] {
        tasklet(migratable(), [&, made, arrived, never]() mutable {
            struct guard {
                std::atomic<int>& n;
                ~guard() { n.fetch_add(1); }
            } g{unwound};
            made.send(tasklets::remote_tasklet(tasklets::current()));  // the handle is gone again before the move
            tasklets::move_to(host.ref);
            arrived.send(where_am_i());
            (void)never.receive();
        });
        const tasklets::remote_tasklet r = made.receive();
        CHECK(arrived.receive() == host.thread.get_id());
        r.kill();  // posted to this thread, which it left: forwarded
    });
    CHECK(eventually([&] { return unwound == 1; }));
    CHECK(never.balance() == 0);
}

TEST_CASE("remote_tasklet: a kill reaches a tasklet that keeps moving, whenever it is sent", "[threads][migration]") {
    host_thread a;
    host_thread b;
    for (int round = 0; round < 20; ++round) {
        shared_channel<tasklets::remote_tasklet> made;
        std::atomic<int> unwound{0};
        std::atomic<long> moves{0};
        a.ref.spawn(migratable(), [&, made]() mutable {
            struct guard {
                std::atomic<int>& n;
                ~guard() { n.fetch_add(1); }
            } g{unwound};
            made.send(tasklets::remote_tasklet(tasklets::current()));
            for (;;) {  // only a kill ends it; it may be anywhere, or on its way, when one comes
                tasklets::move_to(moves % 2 ? a.ref : b.ref);
                ++moves;
            }
        });
        in_thread([&] {
            const tasklets::remote_tasklet r = made.receive();
            while (moves < round * 10) std::this_thread::yield();
            r.kill();
        });
        CHECK(eventually([&] { return unwound == 1; }));
    }
}

namespace {
// Touches `bytes` of the stack below the caller, a page at a time.
[[gnu::noinline]] void touch_stack(std::size_t bytes) {
    auto* p = static_cast<volatile char*>(__builtin_alloca(bytes));
    for (std::size_t i = 0; i < bytes; i += 1024) p[i] = 1;
}
}  // namespace

TEST_CASE("a migratable tasklet's stack, once it ended, is the next one's, on any thread", "[threads][migration]") {
    // A stack of its own costs a mapping, guards and an unmap: one that ended is kept for
    // the next migratable tasklet of its size (kernel/stacks/stack_pool.cpp). Seen here by
    // its pages: the first tasklet makes 40 KiB of it resident, and the second, on another
    // thread, finds them resident (a fresh mapping has only its top page or two).
    tasklet_options o = migratable();
    o.stack_size = 88 * 1024;  // a size of its own
    constexpr std::size_t deep = 40 * 1024;
    std::size_t high_water = 0;
    in_thread([&] {
        tasklet(o, [] { touch_stack(deep); });
        tasklets::run();
    });
    in_thread([&] {
        tasklet(o, [&] { high_water = tasklets::stack_high_water(tasklets::current()); });
        tasklets::run();
    });
    CHECK(high_water >= deep);
}
