// Runtime statistics (tasklets/statistics.hpp): the gauges after each step, the counted
// figures exactly, and what counting costs nothing when off. Each test runs on a thread
// of its own, so that it sees a fresh scheduler. The differential runner checks the
// gauges after every step of its random programs too (tests/model/real.hpp, snapshot).
#include <catch2/catch.hpp>
#include <tasklets/statistics.hpp>
#include <tasklets/tasklets.hpp>

#include "support/in_thread.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// "alive runnable blocked paused", as statistics() has them.
std::string gauges() {
    const tasklets::scheduler_statistics s = tasklets::statistics();
    return std::to_string(s.alive) + " " + std::to_string(s.runnable) + " " + std::to_string(s.blocked) + " " +
           std::to_string(s.paused);
}

}  // namespace

TEST_CASE("statistics: a fresh scheduler has only its main tasklet, and counts nothing", "[statistics]") {
    tasklets_test::in_thread([] {
        const tasklets::scheduler_statistics s = tasklets::statistics();
        CHECK(s.spawned == 0);
        CHECK(gauges() == "1 1 0 0");
        CHECK(s.stack_slabs == 0);
        CHECK(s.stacks_in_use == 0);
        CHECK(s.stack_bytes == 0);
        CHECK(s.reactor_polls == 0);
        CHECK(s.doorbell_watches == 0);
        CHECK(s.watchdog_interruptions == 0);
        CHECK_FALSE(s.counting);
        CHECK(s.switches == 0);
        CHECK(s.hand_offs == 0);
    });
}

TEST_CASE("statistics: alive, runnable, blocked and paused follow every kind of state change", "[statistics]") {
    tasklets_test::in_thread([] {
        tasklets::channel<int> c;
        std::vector<std::string> seen;  // what the tasklets saw of the gauges
        tasklets::tasklet receiver([&] { (void)c.receive(); });
        tasklets::tasklet leaver([&] {
            tasklets::schedule_remove();
            seen.push_back("leaver back: " + gauges());
        });
        tasklets::tasklet sleeper([&] { tasklets::sleep_for(10ms); });
        tasklets::use_virtual_clock({.auto_advance = false});
        CHECK(tasklets::statistics().spawned == 3);
        CHECK(gauges() == "4 4 0 0");

        tasklets::schedule();  // each runs once: receiver blocks, leaver pauses, sleeper sleeps
        CHECK(gauges() == "4 1 2 1");
        CHECK(receiver.blocked());
        CHECK(leaver.paused());
        CHECK(sleeper.blocked());

        leaver.insert();  // paused -> runnable
        CHECK(gauges() == "4 2 2 0");
        tasklets::schedule();  // the leaver ends
        CHECK(seen == std::vector<std::string>{"leaver back: 4 2 2 0"});
        CHECK(gauges() == "3 1 2 0");

        c.send(1);  // the receiver wakes and (preferring receivers) runs and ends
        CHECK(gauges() == "2 1 1 0");

        tasklets::advance_clock(10ms);  // the sleeper is runnable...
        CHECK(gauges() == "2 2 0 0");
        tasklets::run();  // ...and ends
        CHECK(gauges() == "1 1 0 0");
        CHECK(tasklets::statistics().spawned == 3);
    });
}

TEST_CASE("statistics: kills of blocked, paused and unstarted tasklets, and a run() caller waiting", "[statistics]") {
    tasklets_test::in_thread([] {
        tasklets::channel<int> c;
        std::string inside;
        tasklets::tasklet blocked([&] { (void)c.receive(); });
        tasklets::tasklet paused([&] { tasklets::schedule_remove(); });
        tasklets::tasklet observer([&] { inside = gauges(); });
        tasklets::schedule();
        // The observer ran third: the first had blocked, the second paused.
        CHECK(inside == "4 2 1 1");
        CHECK(gauges() == "3 1 1 1");
        blocked.kill();
        CHECK(gauges() == "2 1 0 1");
        paused.kill();
        CHECK(gauges() == "1 1 0 0");

        tasklets::tasklet never_started([] {});
        CHECK(gauges() == "2 2 0 0");
        never_started.kill();
        CHECK(gauges() == "1 1 0 0");

        tasklets::tasklet watcher([&] { inside = gauges(); });
        tasklets::run();  // main waits inside run(): paused, as tasklet::paused() says
        CHECK(inside == "2 1 0 1");
        CHECK(gauges() == "1 1 0 0");
    });
}

TEST_CASE("statistics: an unstarted tasklet taken out of the ring and then dropped is counted no more", "[statistics]") {
    tasklets_test::in_thread([] {
        {
            tasklets::tasklet never_ran([] {});
            CHECK(gauges() == "2 2 0 0");
            never_ran.remove();
            CHECK(gauges() == "2 1 0 1");
        }  // its last handle goes: it is freed without running
        CHECK(gauges() == "1 1 0 0");
        tasklets::tasklet after([] {});
        tasklets::run();
        CHECK(gauges() == "1 1 0 0");
    });
}

TEST_CASE("statistics: a hard budget's interruption and a soft stop are counted, the victim is paused", "[statistics][watchdog]") {
    tasklets_test::in_thread([] {
        tasklets::tasklet busy([] {
            for (int i = 0; i < 100; ++i) tasklets::check();
        });
        tasklets::tasklet victim = tasklets::run({.ticks = 5});
        REQUIRE(victim == busy);
        CHECK(tasklets::statistics().watchdog_interruptions == 1);
        CHECK(gauges() == "2 1 0 1");
        busy.insert();
        CHECK(gauges() == "2 2 0 0");
        tasklets::run();
        CHECK(gauges() == "1 1 0 0");

        tasklets::tasklet a([] {
            for (int i = 0; i < 10; ++i) tasklets::check();
            tasklets::schedule();
        });
        tasklets::tasklet b([] {});
        CHECK_FALSE(tasklets::run({.ticks = 3, .soft = true}));
        CHECK(tasklets::statistics().watchdog_soft_stops == 1);
        CHECK(tasklets::statistics().watchdog_interruptions == 1);
        CHECK(gauges() == "3 3 0 0");
        tasklets::run();
    });
}

TEST_CASE("statistics: switches, hand-offs and per-tasklet figures are counted exactly while counting is on", "[statistics]") {
    tasklets_test::in_thread([] {
        tasklets::channel<int> c;
        tasklets::tasklet producer([&] {
            for (int i = 0; i < 3; ++i) c.send(i);
        });
        tasklets::tasklet consumer([&] {
            for (int i = 0; i < 3; ++i) (void)c.receive();
        });
        CHECK_FALSE(tasklets::count_statistics(true));
        CHECK(tasklets::statistics().counting);
        tasklets::run();
        // Channels prefer receivers (docs/semantics.md §3): 1 main -> producer, whose
        // send 0 blocks; 2 -> consumer, which takes 0 (the producer is appended) and
        // blocks on receive 1; 3 -> producer: send 1 hands off and switches to the
        // preferred receiver (4); it blocks on receive 2; 5 -> producer: send 2 hands
        // off, 6 -> consumer, which ends; 7 -> producer, which ends; 8 -> main.
        const tasklets::scheduler_statistics s = tasklets::statistics();
        CHECK(s.hand_offs == 3);
        CHECK(s.switches == 8);
        CHECK(tasklets::statistics(producer).switches == 4);
        CHECK(tasklets::statistics(consumer).switches == 3);
        CHECK(tasklets::statistics(tasklets::main_tasklet()).switches == 1);
        CHECK(tasklets::statistics(producer).run_time.count() > 0);
        CHECK(tasklets::statistics(tasklets::tasklet()).switches == 0);

        // Off: nothing more is counted, and what was counted stays.
        CHECK(tasklets::count_statistics(false));
        tasklets::tasklet more([&] { c.send(9); });
        (void)c.receive();
        CHECK(tasklets::statistics().switches == 8);
        CHECK(tasklets::statistics().hand_offs == 3);
        CHECK_FALSE(tasklets::statistics().counting);

        tasklets::reset_statistics();
        CHECK(tasklets::statistics().switches == 0);
        CHECK(tasklets::statistics(producer).switches == 0);
    });
}

TEST_CASE("statistics: a tasklet's name and its counted figures are kept together, whichever comes first",
          "[statistics]") {
    // Both live outside the control block, in a record made on first need
    // (kernel/core/control_block.hpp, tasklet_extras): naming must not lose figures,
    // and counting must not lose a name.
    tasklets_test::in_thread([] {
        tasklets::tasklet named(tasklets::tasklet_options{.name = "early"}, [] { tasklets::schedule(); });
        tasklets::tasklet later([] { tasklets::schedule(); });
        tasklets::count_statistics(true);
        tasklets::schedule();  // main -> named -> later -> main
        later.set_name("late");
        CHECK(tasklets::statistics(later).switches == 1);
        named.set_name("");
        CHECK(named.name().empty());
        CHECK(tasklets::statistics(named).switches == 1);
        tasklets::run();
        CHECK(later.name() == "late");
        CHECK(tasklets::statistics(later).switches == 2);
        CHECK(tasklets::statistics(named).switches == 2);
        tasklets::count_statistics(false);
    });
}

TEST_CASE("statistics: a schedule callback and counting watch together, either can go first", "[statistics][watchdog]") {
    tasklets_test::in_thread([] {
        int calls = 0;
        tasklets::set_schedule_callback([&](const tasklets::tasklet&, const tasklets::tasklet&) { ++calls; });
        tasklets::count_statistics(true);
        tasklets::set_schedule_callback(nullptr);  // counting still watches every switch
        tasklets::tasklet a([] {});
        tasklets::run();
        CHECK(calls == 0);
        CHECK(tasklets::statistics().switches == 2);
        tasklets::set_schedule_callback([&](const tasklets::tasklet&, const tasklets::tasklet&) { ++calls; });
        tasklets::count_statistics(false);  // the callback still is called
        tasklets::tasklet b([] {});
        tasklets::run();
        CHECK(calls == 2);
        CHECK(tasklets::statistics().switches == 2);
        tasklets::set_schedule_callback(nullptr);
    });
}

TEST_CASE("statistics: stacks and control blocks in use are reported", "[statistics]") {
    tasklets_test::in_thread([] {
        tasklets::channel<int> c;
        std::vector<tasklets::tasklet> ts;
        for (int i = 0; i < 10; ++i) ts.emplace_back([&] { (void)c.receive(); });
        tasklets::schedule();
        const tasklets::scheduler_statistics s = tasklets::statistics();
        CHECK(s.stacks_in_use == 10);
        CHECK(s.stack_slabs >= 1);
        CHECK(s.stack_bytes >= 10 * tasklets::default_stack_size());
        CHECK(s.control_block_slabs >= 1);
        CHECK(s.blocked == 10);
        for (auto& t : ts) t.kill();
        CHECK(tasklets::statistics().stacks_in_use == 0);
    });
}

// The stack pool keeps the stack released last apart, for the next spawn of its size
// (kernel/stacks/stack_pool.hpp, "the spare"). That must change neither which stack the
// spawn gets (the newest, whose pages are warm) nor what a burst leaves mapped: every slab
// whose stacks are all free again is unmapped, but one of their size kept for later.
TEST_CASE("statistics: a burst's slabs are unmapped as it ends, and the next tasklet gets the stack released last",
          "[statistics]") {
    tasklets_test::in_thread([] {
        // 64 KiB stacks, 64 to a slab (8 MiB of stacks): 200 tasklets take 4 slabs.
        constexpr std::size_t burst = 200;
        tasklets::tasklet_options o;
        o.stack_size = 64 * 1024;
        tasklets::channel<int> c;
        std::vector<tasklets::tasklet> ts;
        for (std::size_t i = 0; i < burst; ++i) ts.emplace_back(o, [&] { (void)c.receive(); });
        tasklets::schedule();
        CHECK(tasklets::statistics().stacks_in_use == burst);
        CHECK(tasklets::statistics().stack_slabs == 4);
        // Ended newest first, so the last stack released is in the first slab, whose
        // others are free by then, while the last slab still has room: the first slab
        // goes as the others did.
        for (std::size_t i = burst; i-- > 0;) ts[i].kill();
        ts.clear();
        CHECK(tasklets::statistics().stacks_in_use == 0);
        CHECK(tasklets::statistics().stack_slabs == 1);

        // A tasklet that ends hands its stack to the next one: the same frame, at the same
        // address (the frame's, not a local's: ASan may keep locals elsewhere).
        const void* frames[2] = {};
        for (const void*& frame : frames) {
            tasklets::tasklet t(o, [&frame] { frame = __builtin_frame_address(0); });
            tasklets::run();
        }
        CHECK(frames[0] != nullptr);
        CHECK(frames[0] == frames[1]);
        CHECK(tasklets::statistics().stack_slabs == 1);
    });
}

TEST_CASE("statistics: the reactor's polls and the time it waited in them", "[statistics][io]") {
    tasklets_test::in_thread([] {
        tasklets::tasklet sleeper([] { tasklets::sleep_for(100ms); });
        const auto t0 = std::chrono::steady_clock::now();
        tasklets::run();
        const auto waited = std::chrono::steady_clock::now() - t0;
        const tasklets::scheduler_statistics s = tasklets::statistics();
        CHECK(s.reactor_polls >= 1);
        CHECK(s.reactor_blocking_polls >= 1);
        // The poll blocks from when the scheduler runs out of work until the deadline. Time
        // before that (spawning, switching; on a loaded machine under QEMU, 6 ms of a 20 ms
        // sleep once) is not waiting, so the bound leaves half the sleep for it.
        CHECK(s.reactor_wait >= 50ms);
        CHECK(s.reactor_wait <= waited);
    });
}

TEST_CASE("statistics: a tasklet waiting for another thread makes its thread watch the doorbell before it sleeps",
          "[statistics][threads]") {
    tasklets::shared_channel<int> answer;
    std::uint64_t watches = 0, watches_before = 1;
    std::thread waiter([&] {
        watches_before = tasklets::statistics().doorbell_watches;
        CHECK(answer.receive() == 42);
        watches = tasklets::statistics().doorbell_watches;
    });
    while (answer.balance() != -1) std::this_thread::sleep_for(1ms);  // the receive waits now
    answer.send(42);
    waiter.join();
    CHECK(watches_before == 0);
    CHECK(watches >= 1);  // the receive's wait watched (mail may come during the watch or after it)
}

TEST_CASE("statistics: format_statistics prints every figure, labelled", "[statistics]") {
    tasklets::scheduler_statistics s;
    s.spawned = 12;
    s.alive = 5;
    s.runnable = 2;
    s.blocked = 2;
    s.paused = 1;
    s.stack_slabs = 1;
    s.stacks_in_use = 4;
    s.stack_bytes = 3 * 1024 * 1024;
    s.control_block_slabs = 1;
    s.reactor_polls = 7;
    s.reactor_blocking_polls = 3;
    s.reactor_wait = std::chrono::microseconds(1500);
    s.receive_buffers_held = 6;
    s.doorbell_watches = 4;
    s.express_wakeups = 3;
    s.watchdog_interruptions = 2;
    s.watchdog_soft_stops = 1;
    CHECK(tasklets::format_statistics(s) ==
          "tasklets: 12 spawned; 5 alive: 2 runnable, 2 blocked, 1 paused\n"
          "stacks: 4 in use in 1 slabs, 3.0 MiB mapped; control blocks: 1 slabs of 16 KiB\n"
          "reactor: 7 polls, 3 of them waiting, 1.500 ms waited; 6 receive buffers hold unread bytes\n"
          "doorbell: watched 4 times before sleeping, 3 wake-ups handed over meanwhile\n"
          "watchdog: 2 interruptions, 1 soft stops\n");
    s.counting = true;
    s.switches = 40;
    s.hand_offs = 9;
    CHECK(tasklets::format_statistics(s).ends_with("counted: 40 switches, 9 channel hand-offs\n"));
}
