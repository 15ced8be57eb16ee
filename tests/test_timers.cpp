// Timers: sleep, the virtual clock (determinism, auto-advance, manual stepping), channel
// timeouts firing and not firing, cancellation on kill, and the timer heap at a million.
// Tests never assert how long anything took; the virtual clock makes most of them exact.
#include <tasklets/tasklets.hpp>

#include "../kernel/io/timer_heap.hpp"

#include <catch2/catch.hpp>

#include "support/in_thread.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tasklets::clock;

namespace {

using tasklets_test::in_thread;

std::int64_t ms_of(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A little world: robots patrol between waypoints, sleeping game-seconds between moves, and
// a dispatcher sends them orders over a channel with a timeout. Returns the event log.
std::vector<std::string> simulate_patrol() {
    std::vector<std::string> log;
    tasklets::use_virtual_clock();
    tasklets::channel<std::string> orders;
    auto note = [&log](const std::string& who, const std::string& what) {
        log.push_back(std::to_string(ms_of(clock::now())) + " " + who + " " + what);
    };
    for (int r = 0; r < 3; ++r) {
        tasklets::spawn([&, r] {
            const std::string me = "robot" + std::to_string(r);
            int position = r;
            for (int step = 0; step < 4; ++step) {
                position = (position + 1) % 5;
                note(me, "at " + std::to_string(position));
                tasklets::sleep_for(std::chrono::seconds(5) + std::chrono::milliseconds(700 * r));
            }
            note(me, "done");
        });
    }
    tasklets::spawn([&] {
        for (;;) {
            try {
                note("listener", "order " + orders.receive_for(3s));
            } catch (const tasklets::timeout_error&) {
                note("listener", "quiet");
                if (clock::now() > clock::time_point(20s)) return;
            }
        }
    });
    tasklets::spawn([&] {
        tasklets::sleep_for(4s);
        orders.send("north");
        tasklets::sleep_for(7s);
        orders.send("south");
    });
    tasklets::run();
    note("main", "end");
    return log;
}

}  // namespace

TEST_CASE("virtual clock: a patrol simulation gives the same event log twice, in game time", "[timers][virtual]") {
    std::vector<std::string> first, second;
    in_thread([&] { first = simulate_patrol(); });
    in_thread([&] { second = simulate_patrol(); });
    REQUIRE(first == second);
    REQUIRE(first.front() == "0 robot0 at 1");
    // robot2 sleeps 4 x 6.4 s; the listener gives up after its first quiet period past 20 s.
    REQUIRE(std::find(first.begin(), first.end(), "25600 robot2 done") != first.end());
    REQUIRE(std::find(first.begin(), first.end(), "4000 listener order north") != first.end());
    REQUIRE(std::find(first.begin(), first.end(), "11000 listener order south") != first.end());
    REQUIRE(std::find(first.begin(), first.end(), "14000 listener quiet") != first.end());
    REQUIRE(first.back() == "25600 main end");
}

TEST_CASE("virtual clock: sleepers wake in deadline order, ties in the order they slept", "[timers][virtual]") {
    in_thread([] {
        tasklets::use_virtual_clock({.start = clock::time_point(1h)});
        std::vector<int> woke;
        const int delays[] = {30, 10, 20, 10, 0, 30, 10};
        for (int i = 0; i < 7; ++i)
            tasklets::spawn([&woke, i, d = delays[i]] {
                tasklets::sleep_for(std::chrono::milliseconds(d));
                woke.push_back(i);
            });
        tasklets::run();
        REQUIRE(woke == std::vector<int>{4, 1, 3, 6, 2, 0, 5});
        REQUIRE(clock::now() == clock::time_point(1h + 30ms));
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("a sleeping tasklet is blocked but has no neighbours: next() and prev() are empty", "[timers][virtual]") {
    // docs/semantics.md §2.5: only a tasklet blocked on a channel has queue
    // neighbours; one waiting for a timer is in no queue.
    in_thread([] {
        tasklets::use_virtual_clock();
        bool woke = false;
        tasklets::tasklet a([] { tasklets::sleep_for(10ms); });
        tasklets::tasklet b([&woke] {
            tasklets::sleep_for(20ms);
            woke = true;
        });
        tasklets::schedule();  // both go to sleep
        REQUIRE(a.blocked());
        REQUIRE(b.blocked());
        REQUIRE_FALSE(a.next());
        REQUIRE_FALSE(a.prev());
        REQUIRE_FALSE(b.next());
        REQUIRE_FALSE(b.prev());
        tasklets::run();
        REQUIRE(woke);
    });
}

TEST_CASE("virtual clock, manual: run() returns while tasklets sleep, advance_clock wakes them", "[timers][virtual]") {
    in_thread([] {
        tasklets::use_virtual_clock({.auto_advance = false});
        std::vector<std::string> log;
        tasklets::spawn([&] {
            for (int i = 0; i < 3; ++i) {
                log.push_back("tick " + std::to_string(ms_of(clock::now())));
                tasklets::sleep_for(100ms);
            }
        });
        tasklets::run();
        REQUIRE(log == std::vector<std::string>{"tick 0"});
        REQUIRE(tasklets::pending_timers() == 1);
        REQUIRE(tasklets::next_timer() == clock::time_point(100ms));
        tasklets::advance_clock(50ms);
        tasklets::run();
        REQUIRE(log.size() == 1);
        tasklets::advance_clock(250ms);  // steps through 100 ms; the next sleep ends at 400 ms
        tasklets::run();
        REQUIRE(log == std::vector<std::string>{"tick 0", "tick 300"});
        tasklets::advance_clock_to(clock::time_point(400ms));
        tasklets::run();
        REQUIRE(log.size() == 3);
        tasklets::advance_clock(1s);
        tasklets::run();
        REQUIRE(tasklets::pending_timers() == 0);
        // The last runnable tasklet cannot sleep when only the host moves the clock.
        REQUIRE_THROWS_AS(tasklets::sleep_for(1s), tasklets::deadlock_error);
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("the clock cannot change under pending timers, advance_clock needs a virtual clock", "[timers]") {
    in_thread([] {
        REQUIRE_FALSE(tasklets::clock_is_virtual());
        REQUIRE_THROWS_AS(tasklets::advance_clock(1s), std::logic_error);
        tasklets::use_virtual_clock({.auto_advance = false});
        REQUIRE(tasklets::clock_is_virtual());
        tasklets::tasklet sleeper([] { tasklets::sleep_for(1s); });
        tasklets::run();
        REQUIRE_THROWS_AS(tasklets::use_real_clock(), std::logic_error);
        sleeper.kill();
        tasklets::use_real_clock();
        REQUIRE_FALSE(tasklets::clock_is_virtual());
    });
}

TEST_CASE("real clock: a sleep never ends early, and other tasklets run meanwhile", "[timers][real]") {
    in_thread([] {
        int spins = 0;
        bool done = false;
        tasklets::spawn([&] {
            while (!done) {
                ++spins;
                tasklets::schedule();
            }
        });
        const auto start = clock::now();
        tasklets::spawn([&] {
            tasklets::sleep_for(5ms);
            REQUIRE(clock::now() >= start + 5ms);
            done = true;
        });
        tasklets::run();
        REQUIRE(done);
        REQUIRE(spins > 0);
        // The main tasklet alone: the thread sleeps in the reactor.
        const auto before = clock::now();
        tasklets::sleep_for(2ms);
        REQUIRE(clock::now() >= before + 2ms);
        tasklets::sleep_for(0ms);  // a yield
        tasklets::sleep_until(clock::now() - 1s);
    });
}

TEST_CASE("real clock: a time-budgeted run() returns when its budget is spent waiting for sleepers", "[timers][real][watchdog]") {
    // A frame loop must get control back every frame even when every agent sleeps: the
    // wait for timers counts against run()'s time budget. The sleeps are long (an hour):
    // run() returning at all shows it did not wait for them.
    for (const bool total : {true, false}) {
        in_thread([total] {
            std::vector<std::string> log;
            tasklets::channel<int> handoff;
            tasklets::tasklet sleeper([&] {
                tasklets::sleep_for(std::chrono::hours(1));
                log.push_back("sleeper woke (wrong)");
            });
            tasklets::tasklet waiter([&] {  // blocks on a channel whose partner sleeps
                log.push_back("waiter got " + std::to_string(handoff.receive()));
            });
            tasklets::tasklet late_sender([&] {
                tasklets::sleep_for(std::chrono::hours(1));
                handoff.send(1);
            });
            // Let each start and park before the budgeted frames, so that no budget can
            // run out while one of them runs (under an emulator starting them takes
            // milliseconds): the frames below then only ever wait.
            for (int i = 0; i < 3; ++i) tasklets::schedule();
            REQUIRE(sleeper.blocked());
            REQUIRE(waiter.blocked());
            REQUIRE(late_sender.blocked());
            REQUIRE(tasklets::runcount() == 1);
            for (int frame = 0; frame < 3; ++frame) {
                tasklets::tasklet interrupted = tasklets::run({.time = 2ms, .total = total});
                REQUIRE_FALSE(interrupted);  // nothing was running: nothing to hand back
                REQUIRE(log.empty());
                REQUIRE(sleeper.blocked());
                REQUIRE(waiter.blocked());
                REQUIRE(late_sender.blocked());
                REQUIRE(tasklets::runcount() == 1);
            }
            sleeper.kill();
            late_sender.kill();
            waiter.kill();
            REQUIRE(handoff.balance() == 0);
        });
    }
}

TEST_CASE("real clock: a run() without a budget waits for its sleepers, then returns", "[timers][real]") {
    in_thread([] {
        std::vector<std::string> log;
        tasklets::spawn([&] {
            tasklets::sleep_for(3ms);
            log.push_back("short sleeper");
        });
        tasklets::spawn([&] {
            tasklets::sleep_for(6ms);
            log.push_back("long sleeper");
        });
        tasklets::run();
        REQUIRE(log == std::vector<std::string>{"short sleeper", "long sleeper"});
        REQUIRE(tasklets::runcount() == 1);
    });
}

TEST_CASE("a sleeping tasklet is blocked, killing it leaves no timer behind", "[timers][kill]") {
    in_thread([] {
        tasklets::use_virtual_clock({.auto_advance = false});
        bool unwound = false;
        struct mark {
            bool& flag;
            ~mark() { flag = true; }
        };
        tasklets::tasklet sleeper([&] {
            mark m{unwound};
            tasklets::sleep_for(1h);
        });
        tasklets::run();
        REQUIRE(sleeper.blocked());
        REQUIRE_FALSE(sleeper.paused());
        REQUIRE(sleeper.scheduled());
        REQUIRE_THROWS_AS(sleeper.run(), tasklets::state_error);
        REQUIRE_THROWS_AS(sleeper.insert(), tasklets::state_error);
        REQUIRE(tasklets::pending_timers() == 1);
        sleeper.kill();
        REQUIRE(unwound);
        REQUIRE_FALSE(sleeper.alive());
        REQUIRE(tasklets::pending_timers() == 0);

        // throw_exception wakes a sleeper with that exception.
        std::string caught;
        tasklets::tasklet other([&] {
            try {
                tasklets::sleep_for(1h);
            } catch (const std::runtime_error& e) {
                caught = e.what();
            }
        });
        tasklets::run();
        other.throw_exception(std::runtime_error("wake up"));
        REQUIRE(caught == "wake up");
        REQUIRE(tasklets::pending_timers() == 0);

        // block_trap refuses the sleep and leaves nothing registered.
        tasklets::tasklet trapped([] {
            tasklets::current().set_block_trap(true);
            tasklets::sleep_for(1s);
        });
        REQUIRE_THROWS_AS(tasklets::run(), tasklets::state_error);
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("channel receive_for/send_for: the timeout fires, the channel is left as it was", "[timers][channel]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        tasklets::channel<int> ch;
        std::string message;
        clock::time_point when;
        tasklets::spawn([&] {
            try {
                (void)ch.receive_for(50ms);
            } catch (const tasklets::timeout_error& e) {
                message = e.what();
                when = clock::now();
            }
        });
        tasklets::run();
        REQUIRE(message == "tasklets: channel receive timed out after 50ms");
        REQUIRE(when == clock::time_point(50ms));
        REQUIRE(ch.balance() == 0);

        tasklets::spawn([&] {
            try {
                ch.send_for(7, 2s);
            } catch (const tasklets::timeout_error& e) {
                message = e.what();
            }
        });
        tasklets::run();
        REQUIRE(message == "tasklets: channel send timed out after 2s");
        REQUIRE(ch.balance() == 0);
        REQUIRE(tasklets::pending_timers() == 0);

        // The main tasklet alone, on an absolute deadline.
        REQUIRE_THROWS_WITH(ch.receive_until(clock::now() + 1s), "tasklets: channel receive timed out (its deadline passed)");
        REQUIRE_THROWS_AS(ch.receive_until(clock::now() - 1s), tasklets::timeout_error);
        REQUIRE(ch.balance() == 0);
    });
}

TEST_CASE("channel receive_for/send_for: a partner in time wins, and no timer is left", "[timers][channel]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        tasklets::channel<std::string> ch;
        std::vector<std::string> got;
        tasklets::spawn([&] {
            got.push_back(ch.receive_for(100ms));
            got.push_back(ch.receive_for(100ms));
        });
        tasklets::spawn([&] {
            tasklets::sleep_for(99ms);
            ch.send("in time");
            ch.send_for("at once", 1ms);  // the receiver is already waiting
        });
        tasklets::run();
        REQUIRE(got == std::vector<std::string>{"in time", "at once"});
        REQUIRE(tasklets::pending_timers() == 0);

        // A sender waiting already: served at once even with an expired deadline.
        tasklets::spawn([&] { ch.send("waiting"); });
        tasklets::schedule();
        REQUIRE(ch.balance() == 1);
        REQUIRE(ch.receive_until(clock::now() - 1s) == "waiting");

        // send_for met by a receiver before the deadline.
        std::string received;
        tasklets::spawn([&] {
            tasklets::sleep_for(10ms);
            received = ch.receive();
        });
        ch.send_for("hello", 20ms);
        REQUIRE(received == "hello");
        tasklets::run();
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("real clock: channel timeouts fire and do not fire", "[timers][channel][real]") {
    in_thread([] {
        tasklets::channel<int> ch;
        REQUIRE_THROWS_AS(ch.receive_for(5ms), tasklets::timeout_error);  // main alone
        int got = 0;
        tasklets::spawn([&] { got = ch.receive_for(10s); });
        tasklets::spawn([&] {
            tasklets::sleep_for(1ms);
            ch.send(42);
        });
        tasklets::run();
        REQUIRE(got == 42);
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("killing a tasklet blocked in receive_for cancels its timer", "[timers][channel][kill]") {
    in_thread([] {
        tasklets::use_virtual_clock({.auto_advance = false});
        tasklets::channel<int> ch;
        tasklets::tasklet waiter([&] { (void)ch.receive_for(1h); });
        tasklets::run();
        REQUIRE(waiter.blocked());
        REQUIRE(ch.balance() == -1);
        REQUIRE(tasklets::pending_timers() == 1);
        waiter.kill();
        REQUIRE(ch.balance() == 0);
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("10,000 sleeping tasklets on the virtual clock all wake in order", "[timers][virtual][scale]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        std::mt19937 rng(7);
        std::vector<std::int64_t> woke;
        woke.reserve(10000);
        for (int i = 0; i < 10000; ++i) {
            const auto d = std::chrono::microseconds(rng() % 1000000);
            tasklets::spawn(tasklets::tasklet_options{.stack_size = tasklets::min_stack_size, .name = {}}, [&woke, d] {
                tasklets::sleep_for(d);
                woke.push_back(clock::now().time_since_epoch().count());
            });
        }
        tasklets::run();
        REQUIRE(woke.size() == 10000);
        REQUIRE(std::is_sorted(woke.begin(), woke.end()));
        REQUIRE(tasklets::pending_timers() == 0);
    });
}

TEST_CASE("the timer heap holds 1,000,000 timers: insert, cancel half, pop the rest in order", "[timers][scale]") {
    using tasklets::detail::timer_heap;
    using tasklets::detail::timer_node;
    std::vector<timer_node> nodes(1000000);
    timer_heap heap;
    std::mt19937_64 rng(1);
    std::uint64_t seq = 0;
    for (auto& n : nodes) {
        n.deadline = static_cast<std::int64_t>(rng() % 10000000);
        n.seq = seq++;
        heap.push(&n);
    }
    REQUIRE(heap.size() == 1000000);
    for (std::size_t i = 0; i < nodes.size(); i += 2) heap.erase(&nodes[i]);
    REQUIRE(heap.size() == 500000);
    const timer_node* last = nullptr;
    std::size_t popped = 0, out_of_order = 0, cancelled_seen = 0, still_queued = 0;
    while (!heap.empty()) {
        timer_node* n = heap.pop();
        still_queued += n->queued();
        if (last && !(last->deadline < n->deadline || (last->deadline == n->deadline && last->seq < n->seq))) ++out_of_order;
        cancelled_seen += (n - nodes.data()) % 2 == 0;
        last = n;
        ++popped;
    }
    REQUIRE(popped == 500000);
    REQUIRE(out_of_order == 0);
    REQUIRE(cancelled_seen == 0);
    REQUIRE(still_queued == 0);
}

TEST_CASE("a thread that ends with tasklets asleep kills them and frees the reactor", "[timers][lifetime]") {
    int unwound = 0;
    in_thread([&] {
        struct mark {
            int& n;
            ~mark() { ++n; }
        };
        for (int i = 0; i < 3; ++i)
            tasklets::spawn([&] {
                mark m{unwound};
                tasklets::sleep_for(1h);
            });
        tasklets::channel<int> ch;
        tasklets::spawn([&, ch]() mutable {
            mark m{unwound};
            (void)ch.receive_for(1h);
        });
        tasklets::schedule();
        REQUIRE(tasklets::pending_timers() == 4);
    });
    REQUIRE(unwound == 4);
}
