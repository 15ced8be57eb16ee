// The watchdog: run() on a tick or time budget (hard, soft, total), atomic, nested run(),
// switch_trap, schedule/channel callbacks and the error handler (watchdog.hpp).
#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using log_t = std::vector<std::string>;

namespace {

// Logs name+i and reaches a safe point (check()) `count` times.
void counting(log_t& log, const std::string& name, int count) {
    for (int i = 0; i < count; ++i) {
        log.push_back(name + std::to_string(i));
        tasklets::check();
    }
    log.push_back(name + " done");
}

}  // namespace

TEST_CASE("hard budget: the running tasklet is interrupted at the first safe point after it, paused, and can be re-inserted", "[watchdog]") {
    log_t log;
    tasklets::tasklet a(counting, std::ref(log), "a", 8);
    tasklets::tasklet interrupted = tasklets::run({.ticks = 5});
    // Five safe points: the checks after a0..a4; it stops inside the fifth.
    REQUIRE(log == log_t{"a0", "a1", "a2", "a3", "a4"});
    REQUIRE(interrupted == a);
    REQUIRE(a.alive());
    REQUIRE(a.paused());
    REQUIRE_FALSE(a.scheduled());
    REQUIRE(tasklets::runcount() == 1);

    a.insert();
    REQUIRE_FALSE(tasklets::run(tasklets::run_options{}));
    REQUIRE(log == log_t{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a done"});
    REQUIRE_FALSE(a.alive());
}

TEST_CASE("hard budget: the other tasklets keep their places and run on when run() is called again", "[watchdog]") {
    log_t log;
    tasklets::tasklet a(counting, std::ref(log), "a", 4);
    tasklets::tasklet b([&] { log.push_back("b ran"); });
    tasklets::tasklet late = tasklets::run({.ticks = 2});
    REQUIRE(late == a);
    REQUIRE(b.scheduled());
    REQUIRE(tasklets::runcount() == 2);  // main and b
    late.kill();                         // the host may also kill it
    REQUIRE_FALSE(a.alive());
    tasklets::run();
    REQUIRE(log == log_t{"a0", "a1", "b ran"});
}

TEST_CASE("a budget restarts at every switch unless total: each tasklet gets its own slice", "[watchdog]") {
    log_t log;
    auto yielder = [&](const std::string& name) {
        for (int i = 0; i < 6; ++i) {
            log.push_back(name + std::to_string(i));
            tasklets::schedule();  // a safe point, and a switch that starts a new slice
        }
    };
    tasklets::tasklet a(yielder, "a");
    tasklets::tasklet b(yielder, "b");
    // Twelve safe points in all, but never more than one per slice.
    REQUIRE_FALSE(tasklets::run({.ticks = 3}));
    REQUIRE(log.size() == 12);
    REQUIRE_FALSE(a.alive());
    REQUIRE_FALSE(b.alive());
}

TEST_CASE("a total budget covers the whole run() call", "[watchdog]") {
    log_t log;
    auto yielder = [&](const std::string& name) {
        for (int i = 0; i < 6; ++i) {
            log.push_back(name + std::to_string(i));
            tasklets::schedule();
        }
    };
    tasklets::tasklet a(yielder, "a");
    tasklets::tasklet b(yielder, "b");
    tasklets::tasklet late = tasklets::run({.ticks = 3, .total = true});
    // a0, (tick 1) b0, (2) a1, (3: spent) — a is interrupted inside its second schedule().
    REQUIRE(log == log_t{"a0", "b0", "a1"});
    REQUIRE(late == a);
    REQUIRE(a.paused());
    REQUIRE(b.scheduled());
    a.insert();
    tasklets::run();
    REQUIRE(log.size() == 12);
}

TEST_CASE("soft budget: nothing is interrupted, at the next voluntary switch run() returns, everyone still scheduled", "[watchdog]") {
    log_t log;
    tasklets::tasklet a([&] {
        for (int i = 0; i < 5; ++i) {
            log.push_back("a" + std::to_string(i));
            tasklets::check();
        }
        log.push_back("a yields");
        tasklets::schedule();
        log.push_back("a resumed");
    });
    tasklets::tasklet b([&] { log.push_back("b ran"); });
    tasklets::tasklet result = tasklets::run({.ticks = 2, .soft = true});
    REQUIRE_FALSE(result);
    // Spent at a's second check, but a runs on until it yields; main then goes in front
    // of b, which would have run next.
    REQUIRE(log == log_t{"a0", "a1", "a2", "a3", "a4", "a yields"});
    REQUIRE(a.scheduled());
    REQUIRE(b.scheduled());
    REQUIRE(tasklets::current().next() == b);
    tasklets::run();
    REQUIRE(log == log_t{"a0", "a1", "a2", "a3", "a4", "a yields", "b ran", "a resumed"});
}

TEST_CASE("a tasklet that reaches no safe point cannot be interrupted until it reaches one", "[watchdog]") {
    log_t log;
    tasklets::tasklet busy([&] {
        const auto until = std::chrono::steady_clock::now() + 30ms;
        while (std::chrono::steady_clock::now() < until) {
        }  // no safe point here: nothing can stop it
        log.push_back("spun past the budget");
        for (int i = 0; i < 1000; ++i) {
            log.push_back("check " + std::to_string(i));
            tasklets::check();
        }
        log.push_back("finished (wrong)");
    });
    tasklets::tasklet late = tasklets::run({.time = 5ms});
    REQUIRE(late == busy);
    REQUIRE(log.at(0) == "spun past the budget");
    // Time is looked at every 64 safe points at most, so it stops within that many.
    REQUIRE(log.size() >= 2);
    REQUIRE(log.size() <= 1 + 64);
    REQUIRE(log.back() != "finished (wrong)");
    busy.kill();
}

TEST_CASE("an atomic tasklet is interrupted only at its first safe point after it stops being atomic", "[watchdog]") {
    log_t log;
    tasklets::tasklet a([&] {
        {
            tasklets::atomic_scope no_interruptions;
            REQUIRE(tasklets::current().atomic());
            for (int i = 0; i < 5; ++i) {
                log.push_back("atomic " + std::to_string(i));
                tasklets::check();
            }
        }
        REQUIRE_FALSE(tasklets::current().atomic());
        log.push_back("not atomic");
        tasklets::check();
        log.push_back("after the check (wrong)");
    });
    tasklets::tasklet late = tasklets::run({.ticks = 2});
    REQUIRE(late == a);
    REQUIRE(log == log_t{"atomic 0", "atomic 1", "atomic 2", "atomic 3", "atomic 4", "not atomic"});
    a.kill();
}

TEST_CASE("explicit switches still happen while atomic, and new tasklets do not inherit the flag", "[watchdog]") {
    log_t log;
    bool child_atomic = true;
    tasklets::tasklet a([&] {
        tasklets::current().set_atomic(true);
        tasklets::spawn([&] { child_atomic = tasklets::current().atomic(); log.push_back("child"); });
        log.push_back("a yields");
        tasklets::schedule();  // atomic does not stop explicit switches
        log.push_back("a back");
    });
    tasklets::run();
    REQUIRE(log == log_t{"a yields", "child", "a back"});
    REQUIRE_FALSE(child_atomic);
}

TEST_CASE("nested run(): the inner one returns when the ring empties, only the outermost budget counts", "[watchdog]") {
    log_t log;
    tasklets::tasklet outer([&] {
        tasklets::spawn(counting, std::ref(log), "c", 6);
        tasklets::tasklet ignored = tasklets::run({.ticks = 2});  // nested: its budget is ignored
        log.push_back(ignored ? "inner interrupted (wrong)" : "inner returned");
    });
    tasklets::tasklet late = tasklets::run({.ticks = 1000});
    REQUIRE_FALSE(late);
    REQUIRE(log == log_t{"c0", "c1", "c2", "c3", "c4", "c5", "c done", "inner returned"});
    REQUIRE_FALSE(outer.alive());
}

TEST_CASE("switch_trap refuses every real switch and changes nothing", "[watchdog][switch_trap]") {
    log_t log;
    tasklets::channel<int> c;
    tasklets::tasklet other([&] { log.push_back("other ran"); });
    auto refused = [](auto&& operation) {
        REQUIRE_THROWS_MATCHES(operation(), tasklets::state_error, Catch::Matchers::Message("switch_trap"));
    };
    REQUIRE(tasklets::switch_trap(1) == 0);
    refused([] { tasklets::schedule(); });
    refused([] { tasklets::schedule_remove(); });
    refused([] { tasklets::run(); });
    refused([&] { other.run(); });
    refused([&] { other.switch_to(); });
    refused([&] { other.kill(); });
    refused([&] { other.throw_exception(std::runtime_error("x")); });
    refused([&] { c.send(1); });  // would block
    refused([&] { c.receive(); });
    REQUIRE(c.balance() == 0);
    REQUIRE(other.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    REQUIRE(tasklets::current().is_main());
    // What needs no switch still works: a switch to oneself, a pending kill.
    tasklets::current().run();
    tasklets::current().switch_to();
    REQUIRE(tasklets::switch_trap(-1) == 1);
    REQUIRE(log.empty());
    tasklets::run();
    REQUIRE(log == log_t{"other ran"});
}

TEST_CASE("switch_trap refuses a hand-off that switches and allows one that does not", "[watchdog][switch_trap]") {
    tasklets::channel<int> c;
    int got = 0;
    tasklets::tasklet receiver([&] { got = c.receive(); });
    tasklets::run();
    REQUIRE(c.balance() == -1);
    tasklets::switch_trap(1);
    // Preference -1: the waiting receiver would run at once — a switch.
    REQUIRE_THROWS_MATCHES(c.send(7), tasklets::state_error, Catch::Matchers::Message("switch_trap"));
    REQUIRE(c.balance() == -1);
    REQUIRE(receiver.blocked());
    // Preference 0: the receiver is only made runnable; the sender keeps running.
    c.set_preference(0);
    c.send(7);
    REQUIRE(c.balance() == 0);
    REQUIRE(receiver.scheduled());
    REQUIRE(got == 0);
    tasklets::switch_trap(-1);
    tasklets::run();
    REQUIRE(got == 7);
}

TEST_CASE("a pending kill needs no switch and is allowed under switch_trap", "[watchdog][switch_trap]") {
    log_t log;
    tasklets::tasklet t([&] { log.push_back("ran (wrong)"); });
    tasklets::switch_trap(1);
    t.kill(true);
    tasklets::switch_trap(-1);
    tasklets::run();
    REQUIRE(log.empty());
    REQUIRE_FALSE(t.alive());
}

TEST_CASE("callbacks see a channel hand-off in order: channel actions, then the switches", "[watchdog][callbacks]") {
    log_t log;
    tasklets::channel<int> c;
    auto name = [](const tasklets::tasklet& t) { return t.is_main() ? std::string("main") : std::string(t.name()); };
    tasklets::tasklet r(tasklets::tasklet_options{0, "r"}, [&] { log.push_back("r got " + std::to_string(c.receive())); });
    REQUIRE_FALSE(tasklets::set_schedule_callback([&](const tasklets::tasklet& prev, const tasklets::tasklet& next) {
        log.push_back("switch " + name(prev) + "->" + name(next) + (prev.alive() ? "" : " (dead)"));
    }));
    REQUIRE_FALSE(tasklets::set_channel_callback([&](const tasklets::channel_event& ch, const tasklets::tasklet& actor, bool sending, bool will_block) {
        REQUIRE(ch.channel == c.core());
        log.push_back(name(actor) + (sending ? " sends" : " receives") + (will_block ? ", blocking" : ", partner waiting"));
    }));
    tasklets::run();  // r blocks receiving
    c.send(5);        // preference -1: r runs at once, then ends and main resumes
    REQUIRE(log == log_t{
        "switch main->r",
        "r receives, blocking",
        "switch r->main",
        "main sends, partner waiting",
        "switch main->r",
        "r got 5",
        "switch r->main (dead)",
    });
    REQUIRE(tasklets::set_schedule_callback(nullptr));
    REQUIRE(tasklets::set_channel_callback(nullptr));
}

TEST_CASE("switching inside a callback fails clearly", "[watchdog][callbacks]") {
    std::string refusal;
    tasklets::tasklet t([] {});
    tasklets::set_schedule_callback([&](const tasklets::tasklet&, const tasklets::tasklet& next) {
        try {
            tasklets::tasklet about_to_run = next;
            about_to_run.run();  // a real switch: from the tasklet being left to another
        } catch (const tasklets::state_error& e) {
            refusal = e.what();
        }
    });
    tasklets::run();
    tasklets::set_schedule_callback(nullptr);
    REQUIRE(refusal == "tasklets: a schedule or channel callback cannot switch tasklets");
    REQUIRE_FALSE(t.alive());
}

TEST_CASE("the error handler runs in the dying tasklet and swallows the exception when it returns", "[watchdog][errors]") {
    log_t log;
    tasklets::tasklet t(tasklets::tasklet_options{0, "failing"}, [] { throw std::runtime_error("boom"); });
    tasklets::tasklet looper([&] {
        log.push_back("looper");
        tasklets::schedule();
        log.push_back("looper again");
    });
    REQUIRE_FALSE(tasklets::set_error_handler([&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log.push_back(std::string(tasklets::current().name()) + " handled " + ex.what());
        }
    }));
    REQUIRE_NOTHROW(tasklets::run());
    REQUIRE(log == log_t{"failing handled boom", "looper", "looper again"});
    REQUIRE(tasklets::set_error_handler(nullptr));
}

TEST_CASE("an error handler that throws sends its exception to the watchdog instead", "[watchdog][errors]") {
    tasklets::tasklet t([] { throw std::runtime_error("original"); });
    tasklets::set_error_handler([](std::exception_ptr) { throw std::logic_error("from the handler"); });
    REQUIRE_THROWS_MATCHES(tasklets::run(), std::logic_error, Catch::Matchers::Message("from the handler"));
    tasklets::set_error_handler(nullptr);
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("the error handler is not called for tasklet_exit", "[watchdog][errors]") {
    bool called = false;
    tasklets::tasklet t([] { tasklets::schedule(); });
    tasklets::set_error_handler([&](std::exception_ptr) { called = true; });
    tasklets::run({.ticks = 1});  // interrupted inside its schedule()
    t.kill();
    tasklets::set_error_handler(nullptr);
    REQUIRE_FALSE(called);
    REQUIRE_FALSE(t.alive());
}
